/* socks5: the SOCKS5 server handshake engine (see socks5.h).
 *
 * Each state names one field (or a fixed run of fields) and how many bytes it
 * needs; socks5_feed() copies exactly that many into s->buf, then step()
 * judges the field and moves on. Copying only what the field needs is what
 * keeps early data after the request untouched.
 */
#include "core/socks5.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "core/bytes.h"

enum {
        ST_VER,      /* greeting: VER */
        ST_NMETHODS, /* greeting: NMETHODS */
        ST_METHODS,  /* greeting: METHODS[NMETHODS] */
        ST_AUTH_VER, /* RFC 1929: VER */
        ST_ULEN,
        ST_UNAME,
        ST_PLEN,
        ST_PASSWD,
        ST_REQ,  /* request: VER CMD RSV ATYP */
        ST_DLEN, /* request: domain length */
        ST_ADDR, /* request: address then port */
        ST_DONE, /* READY or failed: s->err says which */
};

#define METHOD_NONE     0x00
#define METHOD_USERPASS 0x02
#define METHOD_REFUSED  0xff
#define CMD_CONNECT     0x01
#define NAME_MAX_LEN    255

static void expect(struct socks5 *s, uint8_t state, uint16_t need)
{
        s->state = state;
        s->need = need;
        s->have = 0;
}

static void emit2(struct socks5 *s, uint8_t a, uint8_t b)
{
        s->out[s->out_len++] = a;
        s->out[s->out_len++] = b;
}

/* Ends the handshake with <err>; <rep> is the REP of a request failure or
 * SOCKS5_REP_NONE when the caller already queued its own reply. */
static int fail(struct socks5 *s, int err, uint8_t rep)
{
        if (rep != SOCKS5_REP_NONE)
                s->out_len += socks5_reply(s->out + s->out_len, rep, NULL);
        s->reply_code = rep;
        s->err = err;
        expect(s, ST_DONE, 0);
        return err;
}

/* Non-zero unless got[0, got_len) equals the string <want>. Runs the same
 * 255 steps whatever the bytes, so timing says nothing about how much of a
 * guess matched. */
static size_t ct_diff(const uint8_t *got, size_t got_len, const char *want)
{
        size_t want_len = want != NULL ? strlen(want) : 0;
        size_t d = got_len ^ want_len;

        for (size_t i = 0; i < NAME_MAX_LEN; i++) {
                uint8_t a = i < got_len ? got[i] : 0;
                uint8_t b = i < want_len ? (uint8_t)want[i] : 0;

                d |= (size_t)(a ^ b);
        }
        return d;
}

static int auth_on(const struct socks5 *s)
{
        return s->auth != NULL && s->auth->user != NULL;
}

static int step_methods(struct socks5 *s)
{
        uint8_t want = auth_on(s) ? METHOD_USERPASS : METHOD_NONE;
        int found = 0;

        for (size_t i = 0; i < s->have; i++)
                found |= s->buf[i] == want;
        if (!found) {
                emit2(s, 5, METHOD_REFUSED);
                return fail(s, SOCKS5_ENOMETHOD, SOCKS5_REP_NONE);
        }
        emit2(s, 5, want);
        if (want == METHOD_USERPASS)
                expect(s, ST_AUTH_VER, 1);
        else
                expect(s, ST_REQ, 4);
        return SOCKS5_MORE;
}

static int step_request(struct socks5 *s)
{
        const uint8_t *b = s->buf;

        if (b[0] != 5)
                return fail(s, SOCKS5_EREQVER, SOCKS5_REP_GENERAL);
        if (b[1] != CMD_CONNECT)
                return fail(s, SOCKS5_ECMD, SOCKS5_REP_CMD);
        if (b[2] != 0)
                return fail(s, SOCKS5_ERSV, SOCKS5_REP_GENERAL);
        s->atyp = b[3];
        switch (s->atyp) {
        case FRAME_ATYP_IPV4:
                expect(s, ST_ADDR, 4 + 2);
                break;
        case FRAME_ATYP_IPV6:
                expect(s, ST_ADDR, 16 + 2);
                break;
        case FRAME_ATYP_DOMAIN:
                expect(s, ST_DLEN, 1);
                break;
        default:
                return fail(s, SOCKS5_EATYP, SOCKS5_REP_ATYP);
        }
        return SOCKS5_MORE;
}

static int step_addr(struct socks5 *s)
{
        size_t alen = (size_t)s->need - 2;
        uint16_t port = get_be16(s->buf + alen);

        if (s->atyp == FRAME_ATYP_DOMAIN && !frame_domain_ok(s->buf, alen) /* the OPEN rule */)
                return fail(s, SOCKS5_EDOMAIN, SOCKS5_REP_GENERAL);
        if (port == 0)
                return fail(s, SOCKS5_EPORT, SOCKS5_REP_GENERAL);
        memcpy(s->addr, s->buf, alen);
        s->target.atyp = s->atyp;
        s->target.addr = s->addr;
        s->target.addr_len = (uint8_t)alen;
        s->target.port = port;
        s->err = SOCKS5_READY;
        expect(s, ST_DONE, 0);
        return SOCKS5_READY;
}

/* Judges the field now complete in s->buf[0, s->need). */
static int step(struct socks5 *s)
{
        uint8_t v = s->buf[0];

        switch (s->state) {
        case ST_VER:
                if (v != 5) {
                        emit2(s, 5, METHOD_REFUSED);
                        return fail(s, SOCKS5_EVERSION, SOCKS5_REP_NONE);
                }
                expect(s, ST_NMETHODS, 1);
                return SOCKS5_MORE;
        case ST_NMETHODS:
                if (v == 0) {
                        emit2(s, 5, METHOD_REFUSED);
                        return fail(s, SOCKS5_ENOMETHODS, SOCKS5_REP_NONE);
                }
                expect(s, ST_METHODS, v);
                return SOCKS5_MORE;
        case ST_METHODS:
                return step_methods(s);
        case ST_AUTH_VER:
                if (v != 1) {
                        emit2(s, 1, 1);
                        return fail(s, SOCKS5_EAUTHVER, SOCKS5_REP_NONE);
                }
                expect(s, ST_ULEN, 1);
                return SOCKS5_MORE;
        case ST_ULEN:
        case ST_PLEN:
                if (v == 0) {
                        emit2(s, 1, 1);
                        return fail(s, SOCKS5_EAUTHLEN, SOCKS5_REP_NONE);
                }
                expect(s, s->state == ST_ULEN ? ST_UNAME : ST_PASSWD, v);
                return SOCKS5_MORE;
        case ST_UNAME:
                /* Keep only whether it matched; the password is judged with
                 * it, so a wrong user and a wrong password look the same. */
                s->auth_diff = ct_diff(s->buf, s->have, s->auth->user);
                expect(s, ST_PLEN, 1);
                return SOCKS5_MORE;
        case ST_PASSWD:
                s->auth_diff |= ct_diff(s->buf, s->have, s->auth->password);
                memset(s->buf, 0, sizeof(s->buf));
                if (s->auth_diff != 0) {
                        emit2(s, 1, 1);
                        return fail(s, SOCKS5_EAUTH, SOCKS5_REP_NONE);
                }
                emit2(s, 1, 0);
                expect(s, ST_REQ, 4);
                return SOCKS5_MORE;
        case ST_REQ:
                return step_request(s);
        case ST_DLEN:
                if (v == 0)
                        return fail(s, SOCKS5_EDOMAIN, SOCKS5_REP_GENERAL);
                expect(s, ST_ADDR, (uint16_t)(v + 2));
                return SOCKS5_MORE;
        case ST_ADDR:
                return step_addr(s);
        }
        return s->err;
}

int socks5_auth_valid(const struct socks5_auth *auth)
{
        size_t ul, pl;

        if (auth == NULL || auth->user == NULL)
                return 0;
        if (auth->password == NULL)
                return -EINVAL;
        ul = strlen(auth->user);
        pl = strlen(auth->password);
        if (ul == 0 || ul > NAME_MAX_LEN || pl == 0 || pl > NAME_MAX_LEN)
                return -EINVAL;
        return 0;
}

void socks5_init(struct socks5 *s, const struct socks5_auth *auth)
{
        memset(s, 0, sizeof(*s));
        s->auth = auth;
        s->reply_code = SOCKS5_REP_NONE;
        expect(s, ST_VER, 1);
}

int socks5_feed(struct socks5 *s, const uint8_t *p, size_t n, size_t *consumed)
{
        size_t pos = 0;
        int rc = SOCKS5_MORE;

        s->out_len = 0;
        if (s->state == ST_DONE) {
                *consumed = 0;
                return s->err;
        }
        while (pos < n) {
                size_t take = (size_t)(s->need - s->have);

                if (take > n - pos)
                        take = n - pos;
                memcpy(s->buf + s->have, p + pos, take);
                s->have = (uint16_t)(s->have + take);
                pos += take;
                if (s->have < s->need)
                        break;
                rc = step(s);
                if (rc != SOCKS5_MORE)
                        break;
        }
        *consumed = pos;
        return rc;
}

size_t socks5_reply(uint8_t *out, uint8_t rep, const struct sockaddr *bound)
{
        out[0] = 5;
        out[1] = rep;
        out[2] = 0;
        if (bound != NULL && bound->sa_family == AF_INET6) {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)bound;

                out[3] = FRAME_ATYP_IPV6;
                memcpy(out + 4, &a->sin6_addr, 16);
                memcpy(out + 20, &a->sin6_port, 2); /* already big-endian */
                return 22;
        }
        out[3] = FRAME_ATYP_IPV4;
        if (bound != NULL && bound->sa_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *)bound;

                memcpy(out + 4, &a->sin_addr, 4);
                memcpy(out + 8, &a->sin_port, 2);
        } else {
                memset(out + 4, 0, 6);
        }
        return 10;
}

const char *socks5_strerror(int err)
{
        switch (err) {
        case SOCKS5_MORE:
                return "handshake in progress";
        case SOCKS5_READY:
                return "CONNECT request complete";
        case SOCKS5_EVERSION:
                return "not a SOCKS5 client (greeting version is not 5)";
        case SOCKS5_ENOMETHODS:
                return "greeting offers no methods";
        case SOCKS5_ENOMETHOD:
                return "no acceptable authentication method offered";
        case SOCKS5_EAUTHVER:
                return "username/password version is not 1";
        case SOCKS5_EAUTHLEN:
                return "empty username or password";
        case SOCKS5_EAUTH:
                return "wrong username or password";
        case SOCKS5_EREQVER:
                return "request version is not 5";
        case SOCKS5_ECMD:
                return "command not supported (only CONNECT)";
        case SOCKS5_ERSV:
                return "request reserved byte is not 0";
        case SOCKS5_EATYP:
                return "address type not supported";
        case SOCKS5_EDOMAIN:
                return "bad domain name (empty, or a byte outside 0x21..0x7e)";
        case SOCKS5_EPORT:
                return "port 0";
        }
        return "unknown error";
}
