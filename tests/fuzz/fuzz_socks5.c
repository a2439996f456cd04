/* fuzz_socks5: libFuzzer target for the SOCKS5 handshake engine
 * (core/socks5.h). Tor's fuzz_socks.c is the model.
 *
 * Input: byte 0 picks the configuration (bit 0: username/password; bit 1:
 * start with a canned valid greeting and login, so the request parser is
 * reached under authentication too), byte 1 seeds the split points, the
 * rest is what the app sends. The rest is fed
 * in random-size pieces, each copied to a heap buffer of its exact size so
 * ASan catches any read past a piece, and again whole; both runs must agree
 * on the result, the bytes consumed, every reply byte and the target. Also
 * checked: consumed <= n, MORE consumes everything, out_len bounded, READY
 * only with a valid target, nothing taken after READY or an error.
 *
 * fuzz-sources: core/socks5.c core/frame.c
 * Built and run by scripts/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct socks5_auth creds = {.user = "user", .password = "pass"};
static const uint8_t login[] = {5, 1, 2, 1, 4, 'u', 's', 'e', 'r', 4, 'p', 'a', 's', 's'};

struct outcome {
        int rc;
        size_t consumed;
        uint8_t out[4 * SOCKS5_OUT_MAX];
        size_t out_len;
};

static void check_target(const struct socks5 *s)
{
        const struct frame_target *t = &s->target;

        if (t->port == 0 || t->addr != s->addr)
                abort();
        switch (t->atyp) {
        case FRAME_ATYP_IPV4:
                if (t->addr_len != 4)
                        abort();
                break;
        case FRAME_ATYP_IPV6:
                if (t->addr_len != 16)
                        abort();
                break;
        case FRAME_ATYP_DOMAIN:
                if (t->addr_len == 0)
                        abort();
                for (size_t i = 0; i < t->addr_len; i++)
                        if (t->addr[i] < 0x21 || t->addr[i] > 0x7e)
                                abort();
                break;
        default:
                abort();
        }
}

/* Feeds in[0, n) in pieces whose sizes come from <seed> (0 = whole). */
static void run(struct socks5 *s, const uint8_t *in, size_t n, unsigned seed, struct outcome *o)
{
        memset(o, 0, sizeof(*o));
        o->rc = SOCKS5_MORE;
        while (o->consumed < n && o->rc == SOCKS5_MORE) {
                size_t left = n - o->consumed, len = left, used = (size_t)-1;
                uint8_t *piece;

                if (seed != 0) {
                        seed = seed * 1103515245u + 12345u;
                        len = 1 + (seed >> 16) % 8;
                        if (len > left)
                                len = left;
                }
                piece = malloc(len);
                if (piece == NULL)
                        abort();
                memcpy(piece, in + o->consumed, len);
                o->rc = socks5_feed(s, piece, len, &used);
                free(piece);
                if (used > len || s->out_len > SOCKS5_OUT_MAX)
                        abort();
                if (o->rc == SOCKS5_MORE && used != len)
                        abort();
                if (o->rc != SOCKS5_MORE && o->rc != SOCKS5_READY && o->rc >= 0)
                        abort();
                if (o->out_len + s->out_len > sizeof(o->out))
                        abort();
                memcpy(o->out + o->out_len, s->out, s->out_len);
                o->out_len += s->out_len;
                o->consumed += used;
        }
        if (o->rc == SOCKS5_READY)
                check_target(s);
        if (o->rc < 0 && o->out_len == 0)
                abort(); /* every failure tells the app something */
        if (o->rc != SOCKS5_MORE) {
                size_t used = 1;

                if (socks5_feed(s, in, n, &used) != o->rc || used != 0 || s->out_len != 0)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct socks5 a, b;
        static struct outcome oa, ob;
        const struct socks5_auth *auth;
        uint8_t *in;
        size_t n = 0;

        if (size < 2)
                return 0;
        auth = (data[0] & 1) ? &creds : NULL;
        in = malloc(sizeof(login) + size);
        if (in == NULL)
                abort();
        if (data[0] & 2) {
                memcpy(in, login, sizeof(login));
                n = sizeof(login);
        }
        memcpy(in + n, data + 2, size - 2);
        n += size - 2;
        socks5_init(&a, auth);
        socks5_init(&b, auth);
        run(&a, in, n, 0, &oa);
        run(&b, in, n, 1u + data[1], &ob);
        free(in);
        if (oa.rc != ob.rc || oa.consumed != ob.consumed || oa.out_len != ob.out_len ||
            memcmp(oa.out, ob.out, oa.out_len) != 0)
                abort();
        if (oa.rc == SOCKS5_READY &&
            (a.target.atyp != b.target.atyp || a.target.port != b.target.port ||
             a.target.addr_len != b.target.addr_len ||
             memcmp(a.target.addr, b.target.addr, a.target.addr_len) != 0))
                abort();
        return 0;
}
