/* test_socks5: the SOCKS5 handshake engine (core/socks5.h).
 *
 * Every valid form (IPv4, IPv6, domain; with and without username/password)
 * fed whole, in every chunk size down to one byte, and with early data
 * behind it; every malformed form of reliability.md §4.2 with the exact
 * RFC 1928 / RFC 1929 reply bytes and its specific error; the CONNECT reply
 * builder.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include "core/socks5.h"

static const struct socks5_auth creds = {.user = "alice", .password = "s3cret"};

/* What a whole exchange produced. */
struct run {
        int rc;
        size_t consumed;
        uint8_t out[256];
        size_t out_len;
};

/* Feeds in[0, n) in pieces of <chunk> bytes (0 = all at once) until the
 * engine stops asking for more, collecting every reply byte. Each piece is
 * copied to a buffer of its exact size so ASan catches a read past it. */
static struct run feed(struct socks5 *s, const uint8_t *in, size_t n, size_t chunk)
{
        struct run r = {.rc = SOCKS5_MORE};
        uint8_t piece[1024];

        if (chunk == 0)
                chunk = n;
        while (r.consumed < n && r.rc == SOCKS5_MORE) {
                size_t len = n - r.consumed < chunk ? n - r.consumed : chunk, used = 12345;

                memcpy(piece, in + r.consumed, len);
                r.rc = socks5_feed(s, piece, len, &used);
                cr_assert_leq(used, len);
                cr_assert_leq(s->out_len, SOCKS5_OUT_MAX);
                if (r.rc == SOCKS5_MORE)
                        cr_assert_eq(used, len, "MORE must consume the whole piece");
                memcpy(r.out + r.out_len, s->out, s->out_len);
                r.out_len += s->out_len;
                r.consumed += used;
        }
        return r;
}

static size_t cat(uint8_t *dst, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
        memcpy(dst, a, an);
        memcpy(dst + an, b, bn);
        return an + bn;
}

static const uint8_t greet_none[] = {5, 1, 0};
static const uint8_t greet_auth[] = {5, 2, 0, 2};
static const uint8_t login_ok[] = {1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 't'};

static const uint8_t req_v4[] = {5, 1, 0, 1, 192, 0, 2, 7, 0x00, 0x50};
static const uint8_t req_v6[] = {5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0,    0,
                                 0, 0, 0, 0, 0,    0,    0,    0,    1, 0x01, 0xbb};
static const uint8_t req_name[] = {5,   1,   0,   3,   11,  'e', 'x', 'a',  'm',
                                   'p', 'l', 'e', '.', 'c', 'o', 'm', 0x1f, 0x90};

static const uint8_t ip4[4] = {192, 0, 2, 7};
static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

struct form {
        const char *name;
        const struct socks5_auth *auth;
        const uint8_t *req;
        size_t req_len;
        uint8_t atyp;
        const uint8_t *addr;
        size_t addr_len;
        uint16_t port;
};

static const struct form forms[] = {
    {"v4", NULL, req_v4, sizeof(req_v4), 1, ip4, 4, 80},
    {"v6", NULL, req_v6, sizeof(req_v6), 4, ip6, 16, 443},
    {"name", NULL, req_name, sizeof(req_name), 3, (const uint8_t *)"example.com", 11, 8080},
    {"v4+auth", &creds, req_v4, sizeof(req_v4), 1, ip4, 4, 80},
    {"v6+auth", &creds, req_v6, sizeof(req_v6), 4, ip6, 16, 443},
    {"name+auth", &creds, req_name, sizeof(req_name), 3, (const uint8_t *)"example.com", 11, 8080},
};

/* The client's bytes for <f> (greeting, login, request) and what we must
 * answer before the CONNECT reply. */
static size_t form_input(const struct form *f, uint8_t *in, uint8_t *want_out, size_t *want_len)
{
        size_t n;

        if (f->auth != NULL) {
                n = cat(in, greet_auth, sizeof(greet_auth), login_ok, sizeof(login_ok));
                memcpy(want_out, (const uint8_t[]){5, 2, 1, 0}, 4);
                *want_len = 4;
        } else {
                memcpy(in, greet_none, sizeof(greet_none));
                n = sizeof(greet_none);
                memcpy(want_out, (const uint8_t[]){5, 0}, 2);
                *want_len = 2;
        }
        memcpy(in + n, f->req, f->req_len);
        return n + f->req_len;
}

static void check_target(const struct socks5 *s, const struct form *f)
{
        cr_assert_eq(s->target.atyp, f->atyp, "%s", f->name);
        cr_assert_eq(s->target.addr_len, f->addr_len, "%s", f->name);
        cr_assert_eq(memcmp(s->target.addr, f->addr, f->addr_len), 0, "%s", f->name);
        cr_assert_eq(s->target.port, f->port, "%s", f->name);
}

Test(socks5, valid_forms_every_split)
{
        for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
                const struct form *f = &forms[i];
                uint8_t in[128], want[8];
                size_t want_len, n = form_input(f, in, want, &want_len);

                for (size_t chunk = 0; chunk <= n; chunk++) {
                        struct socks5 s;
                        struct run r;

                        socks5_init(&s, f->auth);
                        r = feed(&s, in, n, chunk);
                        cr_assert_eq(r.rc, SOCKS5_READY, "%s chunk %zu: %s", f->name, chunk,
                                     socks5_strerror(r.rc));
                        cr_assert_eq(r.consumed, n, "%s chunk %zu", f->name, chunk);
                        cr_assert_eq(r.out_len, want_len, "%s chunk %zu", f->name, chunk);
                        cr_assert_eq(memcmp(r.out, want, want_len), 0, "%s", f->name);
                        check_target(&s, f);
                }
        }
}

/* Early data the app wrote before our reply stays with the caller: the
 * engine stops exactly at the end of the request, whatever the split. */
Test(socks5, early_data_not_consumed)
{
        static const uint8_t early[] = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";

        for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
                const struct form *f = &forms[i];
                uint8_t in[256], want[8];
                size_t want_len, n = form_input(f, in, want, &want_len);

                memcpy(in + n, early, sizeof(early));
                for (size_t chunk = 0; chunk <= n + sizeof(early); chunk += 3) {
                        struct socks5 s;
                        struct run r;
                        size_t used;

                        socks5_init(&s, f->auth);
                        r = feed(&s, in, n + sizeof(early), chunk);
                        cr_assert_eq(r.rc, SOCKS5_READY, "%s chunk %zu", f->name, chunk);
                        cr_assert_eq(r.consumed, n, "%s chunk %zu: consumed %zu", f->name, chunk,
                                     r.consumed);
                        check_target(&s, f);
                        /* Once ready, the engine takes nothing more. */
                        cr_assert_eq(socks5_feed(&s, early, sizeof(early), &used), SOCKS5_READY);
                        cr_assert_eq(used, 0);
                        cr_assert_eq(s.out_len, 0);
                }
        }
}

Test(socks5, empty_feed)
{
        struct socks5 s;
        size_t used = 99;

        socks5_init(&s, NULL);
        cr_assert_eq(socks5_feed(&s, NULL, 0, &used), SOCKS5_MORE);
        cr_assert_eq(used, 0);
        cr_assert_eq(s.out_len, 0);
        cr_assert_eq(feed(&s, req_v4, 0, 0).rc, SOCKS5_MORE);
        /* The engine still starts from the greeting. */
        cr_assert_eq(feed(&s, greet_none, sizeof(greet_none), 0).out_len, 2);
}

Test(socks5, both_methods_offered)
{
        static const uint8_t greet[] = {5, 3, 0x80, 2, 0};
        struct socks5 s;
        struct run r;

        socks5_init(&s, NULL);
        r = feed(&s, greet, sizeof(greet), 0);
        cr_assert_eq(r.rc, SOCKS5_MORE);
        cr_assert_eq(r.out_len, 2);
        cr_assert_eq(memcmp(r.out, (const uint8_t[]){5, 0}, 2), 0);

        socks5_init(&s, &creds);
        r = feed(&s, greet, sizeof(greet), 0);
        cr_assert_eq(r.rc, SOCKS5_MORE);
        cr_assert_eq(r.out_len, 2);
        cr_assert_eq(memcmp(r.out, (const uint8_t[]){5, 2}, 2), 0);
}

Test(socks5, longest_domain)
{
        uint8_t in[3 + 5 + 255 + 2] = {5, 1, 0, 5, 1, 0, 3, 255};
        struct socks5 s;
        struct run r;

        memset(in + 8, 'a', 255);
        in[8 + 100] = '.';
        in[8 + 255] = 0xff;
        in[8 + 256] = 0xff;
        socks5_init(&s, NULL);
        r = feed(&s, in, sizeof(in), 1);
        cr_assert_eq(r.rc, SOCKS5_READY);
        cr_assert_eq(r.consumed, sizeof(in));
        cr_assert_eq(s.target.addr_len, 255);
        cr_assert_eq(memcmp(s.target.addr, in + 8, 255), 0);
        cr_assert_eq(s.target.port, 65535);
}

/* Expects <in> to fail with <err> and exactly the replies <want>, fed whole
 * and one byte at a time, with junk behind the bad field left unconsumed;
 * then the engine stays failed. */
static void expect_fail(const struct socks5_auth *auth, const uint8_t *in, size_t n, int err,
                        const uint8_t *want, size_t want_len, uint8_t rep)
{
        uint8_t buf[512];

        memcpy(buf, in, n);
        memset(buf + n, 0x5a, 32);
        for (size_t chunk = 0; chunk <= 1; chunk++) {
                struct socks5 s;
                struct run r;
                size_t used;

                socks5_init(&s, auth);
                r = feed(&s, buf, n + 32, chunk);
                cr_assert_eq(r.rc, err, "chunk %zu: got %d (%s), want %d (%s)", chunk, r.rc,
                             socks5_strerror(r.rc), err, socks5_strerror(err));
                cr_assert_eq(r.consumed, n, "chunk %zu: consumed %zu of %zu", chunk, r.consumed, n);
                cr_assert_eq(r.out_len, want_len, "chunk %zu: out_len %zu", chunk, r.out_len);
                cr_assert_eq(memcmp(r.out, want, want_len), 0, "chunk %zu: reply bytes", chunk);
                cr_assert_eq(s.reply_code, rep);
                cr_assert_eq(socks5_feed(&s, buf, n, &used), err);
                cr_assert_eq(used, 0);
                cr_assert_eq(s.out_len, 0);
        }
}

#define FAIL_REP(rep) 5, rep, 0, 1, 0, 0, 0, 0, 0, 0

Test(socks5, greeting_version_not_5)
{
        static const uint8_t in[] = {4};
        static const uint8_t want[] = {5, 0xff};

        expect_fail(NULL, in, sizeof(in), SOCKS5_EVERSION, want, sizeof(want), SOCKS5_REP_NONE);
}

Test(socks5, nmethods_zero)
{
        static const uint8_t in[] = {5, 0};
        static const uint8_t want[] = {5, 0xff};

        expect_fail(NULL, in, sizeof(in), SOCKS5_ENOMETHODS, want, sizeof(want), SOCKS5_REP_NONE);
}

Test(socks5, no_acceptable_method)
{
        static const uint8_t only_auth[] = {5, 1, 2};
        static const uint8_t only_none[] = {5, 1, 0};
        static const uint8_t gssapi[] = {5, 2, 1, 3};
        static const uint8_t want[] = {5, 0xff};

        expect_fail(NULL, only_auth, sizeof(only_auth), SOCKS5_ENOMETHOD, want, sizeof(want),
                    SOCKS5_REP_NONE);
        expect_fail(NULL, gssapi, sizeof(gssapi), SOCKS5_ENOMETHOD, want, sizeof(want),
                    SOCKS5_REP_NONE);
        /* With credentials configured, no-auth is not acceptable. */
        expect_fail(&creds, only_none, sizeof(only_none), SOCKS5_ENOMETHOD, want, sizeof(want),
                    SOCKS5_REP_NONE);
}

/* A request after a no-auth greeting that fails with <rep>. */
static void expect_req_fail(const uint8_t *req, size_t n, int err, uint8_t rep)
{
        uint8_t in[300], want[] = {5, 0, FAIL_REP(rep)};
        size_t len = cat(in, greet_none, sizeof(greet_none), req, n);

        expect_fail(NULL, in, len, err, want, sizeof(want), rep);
}

Test(socks5, bind_udp_unknown_command)
{
        static const uint8_t bind[] = {5, 2, 0, 1};
        static const uint8_t udp[] = {5, 3, 0, 1};
        static const uint8_t zero[] = {5, 0, 0, 1};
        static const uint8_t other[] = {5, 0x42, 0, 3};

        expect_req_fail(bind, sizeof(bind), SOCKS5_ECMD, SOCKS5_REP_CMD);
        expect_req_fail(udp, sizeof(udp), SOCKS5_ECMD, SOCKS5_REP_CMD);
        expect_req_fail(zero, sizeof(zero), SOCKS5_ECMD, SOCKS5_REP_CMD);
        expect_req_fail(other, sizeof(other), SOCKS5_ECMD, SOCKS5_REP_CMD);
}

Test(socks5, request_version_not_5)
{
        static const uint8_t req[] = {4, 1, 0, 1};

        expect_req_fail(req, sizeof(req), SOCKS5_EREQVER, SOCKS5_REP_GENERAL);
}

Test(socks5, rsv_not_zero)
{
        static const uint8_t req[] = {5, 1, 1, 1};

        expect_req_fail(req, sizeof(req), SOCKS5_ERSV, SOCKS5_REP_GENERAL);
}

Test(socks5, atyp_not_1_3_4)
{
        static const uint8_t atyps[] = {0, 2, 5, 0xff};

        for (size_t i = 0; i < sizeof(atyps); i++) {
                uint8_t req[] = {5, 1, 0, atyps[i]};

                expect_req_fail(req, sizeof(req), SOCKS5_EATYP, SOCKS5_REP_ATYP);
        }
}

Test(socks5, domain_len_zero)
{
        static const uint8_t req[] = {5, 1, 0, 3, 0};

        expect_req_fail(req, sizeof(req), SOCKS5_EDOMAIN, SOCKS5_REP_GENERAL);
}

Test(socks5, domain_bad_bytes)
{
        static const uint8_t bad[] = {0x00, ' ', 0x1f, 0x7f, 0x80, 0xff};

        for (size_t i = 0; i < sizeof(bad); i++) {
                uint8_t req[] = {5, 1, 0, 3, 5, 'a', 'b', bad[i], 'c', 'd', 0, 80};

                expect_req_fail(req, sizeof(req), SOCKS5_EDOMAIN, SOCKS5_REP_GENERAL);
        }
}

Test(socks5, port_zero)
{
        static const uint8_t v4[] = {5, 1, 0, 1, 192, 0, 2, 7, 0, 0};
        static const uint8_t name[] = {5, 1, 0, 3, 1, 'x', 0, 0};
        uint8_t v6[sizeof(req_v6)];

        memcpy(v6, req_v6, sizeof(v6));
        v6[sizeof(v6) - 2] = v6[sizeof(v6) - 1] = 0;
        expect_req_fail(v4, sizeof(v4), SOCKS5_EPORT, SOCKS5_REP_GENERAL);
        expect_req_fail(name, sizeof(name), SOCKS5_EPORT, SOCKS5_REP_GENERAL);
        expect_req_fail(v6, sizeof(v6), SOCKS5_EPORT, SOCKS5_REP_GENERAL);
}

/* A login after the auth greeting that fails with <err>. */
static void expect_login_fail(const uint8_t *login, size_t n, int err)
{
        uint8_t in[600], want[] = {5, 2, 1, 1};
        size_t len = cat(in, greet_auth, sizeof(greet_auth), login, n);

        expect_fail(&creds, in, len, err, want, sizeof(want), SOCKS5_REP_NONE);
}

Test(socks5, auth_wrong_password)
{
        static const uint8_t wrong[] = {1, 5,   'a', 'l', 'i', 'c', 'e',
                                        6, 's', '3', 'c', 'r', 'e', 'T'};
        static const uint8_t prefix[] = {1, 5, 'a', 'l', 'i', 'c', 'e', 5, 's', '3', 'c', 'r', 'e'};
        static const uint8_t longer[] = {1,   5,   'a', 'l', 'i', 'c', 'e', 7,
                                         's', '3', 'c', 'r', 'e', 't', 0};

        expect_login_fail(wrong, sizeof(wrong), SOCKS5_EAUTH);
        expect_login_fail(prefix, sizeof(prefix), SOCKS5_EAUTH);
        expect_login_fail(longer, sizeof(longer), SOCKS5_EAUTH);
}

Test(socks5, auth_wrong_user)
{
        static const uint8_t wrong[] = {1, 5,   'a', 'l', 'i', 'c', 'E',
                                        6, 's', '3', 'c', 'r', 'e', 't'};
        static const uint8_t swapped[] = {1,   6, 's', '3', 'c', 'r', 'e',
                                          't', 5, 'a', 'l', 'i', 'c', 'e'};
        uint8_t big[2 + 255 + 1 + 6] = {1, 255};

        memset(big + 2, 'a', 255);
        big[257] = 6;
        memcpy(big + 258, "s3cret", 6);
        expect_login_fail(wrong, sizeof(wrong), SOCKS5_EAUTH);
        expect_login_fail(swapped, sizeof(swapped), SOCKS5_EAUTH);
        expect_login_fail(big, sizeof(big), SOCKS5_EAUTH);
}

Test(socks5, auth_empty_fields_and_version)
{
        static const uint8_t ulen0[] = {1, 0};
        static const uint8_t plen0[] = {1, 5, 'a', 'l', 'i', 'c', 'e', 0};
        static const uint8_t ver5[] = {5};

        expect_login_fail(ulen0, sizeof(ulen0), SOCKS5_EAUTHLEN);
        expect_login_fail(plen0, sizeof(plen0), SOCKS5_EAUTHLEN);
        expect_login_fail(ver5, sizeof(ver5), SOCKS5_EAUTHVER);
}

/* The password must not linger in the engine after the login. */
Test(socks5, password_wiped)
{
        uint8_t in[64];
        size_t n = cat(in, greet_auth, sizeof(greet_auth), login_ok, sizeof(login_ok));
        struct socks5 s;
        struct run r;

        socks5_init(&s, &creds);
        r = feed(&s, in, n, 0);
        cr_assert_eq(r.rc, SOCKS5_MORE);
        cr_assert_null(memmem(&s, sizeof(s), "s3cret", 6));
}

Test(socks5, auth_valid)
{
        char long_name[300];
        struct socks5_auth a;

        memset(long_name, 'u', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        cr_assert_eq(socks5_auth_valid(NULL), 0);
        cr_assert_eq(socks5_auth_valid(&(struct socks5_auth){NULL, NULL}), 0);
        cr_assert_eq(socks5_auth_valid(&creds), 0);
        cr_assert_eq(socks5_auth_valid(&(struct socks5_auth){"u", NULL}), -EINVAL);
        cr_assert_eq(socks5_auth_valid(&(struct socks5_auth){"", "p"}), -EINVAL);
        cr_assert_eq(socks5_auth_valid(&(struct socks5_auth){"u", ""}), -EINVAL);
        a = (struct socks5_auth){long_name, "p"};
        cr_assert_eq(socks5_auth_valid(&a), -EINVAL);
        long_name[255] = '\0';
        cr_assert_eq(socks5_auth_valid(&a), 0);
}

Test(socks5, reply_v4)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(8080)};
        static const uint8_t want[] = {5, 0, 0, 1, 203, 0, 113, 5, 0x1f, 0x90};
        uint8_t out[SOCKS5_REPLY_MAX];

        cr_assert_eq(inet_pton(AF_INET, "203.0.113.5", &a.sin_addr), 1);
        cr_assert_eq(socks5_reply(out, SOCKS5_REP_OK, (struct sockaddr *)&a), sizeof(want));
        cr_assert_eq(memcmp(out, want, sizeof(want)), 0);
}

Test(socks5, reply_v6)
{
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
        static const uint8_t want[] = {5, 0x05, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,
                                       0, 0,    0, 0, 0,    0,    0,    0,    1, 1, 0xbb};
        uint8_t out[SOCKS5_REPLY_MAX];

        cr_assert_eq(inet_pton(AF_INET6, "2001:db8::1", &a.sin6_addr), 1);
        cr_assert_eq(socks5_reply(out, SOCKS5_REP_REFUSED, (struct sockaddr *)&a), 22);
        cr_assert_eq(memcmp(out, want, sizeof(want)), 0);
}

Test(socks5, reply_null_and_other_family)
{
        static const uint8_t want[] = {5, 4, 0, 1, 0, 0, 0, 0, 0, 0};
        struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "x"};
        uint8_t out[SOCKS5_REPLY_MAX];

        memset(out, 0xee, sizeof(out));
        cr_assert_eq(socks5_reply(out, SOCKS5_REP_HOST_UNREACH, NULL), 10);
        cr_assert_eq(memcmp(out, want, sizeof(want)), 0);
        memset(out, 0xee, sizeof(out));
        cr_assert_eq(socks5_reply(out, SOCKS5_REP_HOST_UNREACH, (struct sockaddr *)&un), 10);
        cr_assert_eq(memcmp(out, want, sizeof(want)), 0);
}

Test(socks5, strerror_names_every_code)
{
        for (int e = SOCKS5_EPORT; e <= SOCKS5_EVERSION; e++) {
                cr_assert_str_neq(socks5_strerror(e), "unknown error", "%d", e);
                for (int f = SOCKS5_EPORT; f < e; f++)
                        cr_assert_str_neq(socks5_strerror(e), socks5_strerror(f));
        }
        cr_assert_str_eq(socks5_strerror(-1), "unknown error");
}
