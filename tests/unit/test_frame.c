/* test_frame: the frame codec (core/frame.h): round trips of every type at
 * their limits, the exact wire bytes of a few frames, and every malformed
 * form with its specific error. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"

static const uint8_t ip4[4] = {192, 0, 2, 7};
static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static uint8_t name255[255];
static uint8_t payload[FRAME_MAX_DATA];
static uint8_t out[FRAME_MAX_LEN + 64];

static void setup(void)
{
        for (size_t i = 0; i < sizeof(name255); i++)
                name255[i] = (uint8_t)('a' + i % 26);
        name255[100] = '.';
        for (size_t i = 0; i < sizeof(payload); i++)
                payload[i] = (uint8_t)(i * 7 + 3);
}

TestSuite(frame, .init = setup);

static struct frame open_frame(uint32_t sid, uint8_t atyp, const uint8_t *addr, uint8_t alen,
                               uint16_t port, uint16_t dlen)
{
        struct frame f = {.type = FRAME_OPEN, .sid = sid};

        f.open.target.atyp = atyp;
        f.open.target.addr = addr;
        f.open.target.addr_len = alen;
        f.open.target.port = port;
        f.open.data = payload;
        f.open.data_len = dlen;
        return f;
}

static struct frame data_frame(uint32_t sid, uint64_t off, uint32_t len)
{
        struct frame f = {.type = FRAME_DATA, .sid = sid};

        f.data.offset = off;
        f.data.data = payload;
        f.data.len = len;
        return f;
}

/* A set of valid frames covering every type, address type and limit. */
static size_t samples(struct frame *v)
{
        size_t n = 0;

        v[n++] = open_frame(1, FRAME_ATYP_IPV4, ip4, 4, 80, 0);
        v[n++] = open_frame(0xffffffffu, FRAME_ATYP_IPV4, ip4, 4, 65535, 1);
        v[n++] = open_frame(2, FRAME_ATYP_IPV6, ip6, 16, 443, 100);
        v[n++] = open_frame(3, FRAME_ATYP_DOMAIN, (const uint8_t *)"x", 1, 1, 0);
        v[n++] = open_frame(4, FRAME_ATYP_DOMAIN, name255, 255, 8080, FRAME_MAX_INIT);
        v[n++] = open_frame(5, FRAME_ATYP_DOMAIN, (const uint8_t *)"example.com", 11, 443, 517);
        v[n++] = data_frame(6, 0, 1);
        v[n++] = data_frame(7, 123456789, 1400);
        v[n++] = data_frame(8, 0, FRAME_MAX_DATA);
        v[n++] = data_frame(9, UINT64_MAX - FRAME_MAX_DATA, FRAME_MAX_DATA);
        v[n++] = data_frame(9, UINT64_MAX - 1, 1);
        v[n] = (struct frame){.type = FRAME_FIN, .sid = 10};
        v[n++].fin.offset = 0;
        v[n] = (struct frame){.type = FRAME_FIN, .sid = 11};
        v[n++].fin.offset = UINT64_MAX;
        v[n] = (struct frame){.type = FRAME_RST, .sid = 12};
        v[n++].rst.reason = FRAME_RST_REFUSED;
        v[n] = (struct frame){.type = FRAME_RST, .sid = 12};
        v[n++].rst.reason = FRAME_RST_ABORT;
        for (uint8_t fl = 0; fl <= FRAME_ACK_FLAGS; fl++) {
                v[n] = (struct frame){.type = FRAME_ACK, .sid = 13};
                v[n].ack.flags = fl;
                v[n].ack.acked = fl == 3 ? UINT64_MAX : 1000u * fl;
                v[n++].ack.window = fl == 3 ? UINT32_MAX : 65536;
        }
        v[n] = (struct frame){.type = FRAME_PING};
        v[n++].ping.token = 0x0102030405060708u;
        v[n] = (struct frame){.type = FRAME_PING};
        v[n].ping.flags = FRAME_PING_PONG;
        v[n++].ping.token = UINT64_MAX;
        v[n] = (struct frame){.type = FRAME_CHALLENGE};
        v[n].chal.flags = FRAME_CHAL_KNOWN | FRAME_CHAL_REFUSED;
        memset(v[n].chal.cookie, 0xa5, FRAME_COOKIE_LEN);
        v[n].chal.answers = 77;
        v[n++].chal.heard = 0x0102030405060708u;
        v[n] = (struct frame){.type = FRAME_PROOF};
        memset(v[n++].chal.cookie, 0x5a, FRAME_COOKIE_LEN);
        return n;
}

static void assert_same(const struct frame *a, const struct frame *b)
{
        cr_assert_eq(a->type, b->type);
        cr_assert_eq(a->sid, b->sid);
        switch (a->type) {
        case FRAME_OPEN:
                cr_assert_eq(a->open.target.atyp, b->open.target.atyp);
                cr_assert_eq(a->open.target.port, b->open.target.port);
                cr_assert_eq(a->open.target.addr_len, b->open.target.addr_len);
                cr_assert_arr_eq(a->open.target.addr, b->open.target.addr, a->open.target.addr_len);
                cr_assert_eq(a->open.data_len, b->open.data_len);
                if (a->open.data_len)
                        cr_assert_arr_eq(a->open.data, b->open.data, a->open.data_len);
                break;
        case FRAME_DATA:
                cr_assert_eq(a->data.offset, b->data.offset);
                cr_assert_eq(a->data.len, b->data.len);
                cr_assert_arr_eq(a->data.data, b->data.data, a->data.len);
                break;
        case FRAME_FIN:
                cr_assert_eq(a->fin.offset, b->fin.offset);
                break;
        case FRAME_RST:
                cr_assert_eq(a->rst.reason, b->rst.reason);
                break;
        case FRAME_ACK:
                cr_assert_eq(a->ack.flags, b->ack.flags);
                cr_assert_eq(a->ack.acked, b->ack.acked);
                cr_assert_eq(a->ack.window, b->ack.window);
                break;
        case FRAME_PING:
                cr_assert_eq(a->ping.flags, b->ping.flags);
                cr_assert_eq(a->ping.token, b->ping.token);
                break;
        case FRAME_CHALLENGE:
                cr_assert_eq(a->chal.flags, b->chal.flags);
                cr_assert_eq(a->chal.heard, b->chal.heard);
                cr_assert_eq(a->chal.answers, b->chal.answers);
                /* fall through */
        case FRAME_PROOF:
                cr_assert_arr_eq(a->chal.cookie, b->chal.cookie, FRAME_COOKIE_LEN);
                break;
        default:
                cr_assert_fail("unexpected type %u", a->type);
        }
}

Test(frame, round_trip_every_type)
{
        struct frame v[32], d;
        size_t n = samples(v), used, dused;

        for (size_t i = 0; i < n; i++) {
                cr_assert_eq(frame_encode(&v[i], out, sizeof(out), &used), 0, "sample %zu", i);
                cr_assert_eq(used, frame_encoded_len(&v[i]));
                cr_assert_eq(frame_decode(out, used, &d, &dused), 0, "sample %zu", i);
                cr_assert_eq(dused, used);
                assert_same(&v[i], &d);
                /* Zero-copy: payload and address point into the input. */
                if (d.type == FRAME_DATA)
                        cr_assert_eq(d.data.data, out + FRAME_DATA_HDR);
                if (d.type == FRAME_OPEN)
                        cr_assert(d.open.target.addr > out && d.open.target.addr < out + used);
                /* Trailing bytes beyond the frame are not frame_decode's business. */
                cr_assert_eq(frame_decode(out, used + 7, &d, &dused), 0);
                cr_assert_eq(dused, used);
        }
}

Test(frame, max_sizes)
{
        struct frame f = open_frame(4, FRAME_ATYP_DOMAIN, name255, 255, 8080, FRAME_MAX_INIT);

        cr_assert_eq(frame_encoded_len(&f), FRAME_MAX_LEN);
        f = data_frame(1, 0, FRAME_MAX_DATA);
        cr_assert_eq(frame_encoded_len(&f), FRAME_DATA_HDR + FRAME_MAX_DATA);
}

Test(frame, wire_bytes)
{
        static const uint8_t data_wire[] = {0x02, 0x01, 0x02, 0x03, 0x04, 0, 0,    0,   0,   0,
                                            0,    0,    0x05, 0,    0,    0, 0x03, 'a', 'b', 'c'};
        static const uint8_t open_wire[] = {0x01, 0,   0,    0,    0x09, 0x03, 0x03, 'a',
                                            '.',  'b', 0x01, 0xbb, 0x00, 0x02, 'h',  'i'};
        static const uint8_t ack_wire[] = {0x05, 0, 0, 0,    0x09, 0x01, 0,    0, 0,
                                           0,    0, 0, 0x10, 0x00, 0,    0x01, 0, 0};
        static const uint8_t ping_wire[] = {0x06, 0x01, 1, 2, 3, 4, 5, 6, 7, 8};
        struct frame f = {.type = FRAME_DATA, .sid = 0x01020304};
        size_t used;

        f.data.offset = 5;
        f.data.data = (const uint8_t *)"abc";
        f.data.len = 3;
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), 0);
        cr_assert_eq(used, sizeof(data_wire));
        cr_assert_arr_eq(out, data_wire, used);

        f = (struct frame){.type = FRAME_OPEN, .sid = 9};
        f.open.target = (struct frame_target){
            .atyp = FRAME_ATYP_DOMAIN, .addr_len = 3, .port = 443, .addr = (const uint8_t *)"a.b"};
        f.open.data = (const uint8_t *)"hi";
        f.open.data_len = 2;
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), 0);
        cr_assert_eq(used, sizeof(open_wire));
        cr_assert_arr_eq(out, open_wire, used);

        f = (struct frame){.type = FRAME_ACK, .sid = 9};
        f.ack.flags = FRAME_ACK_OPENED;
        f.ack.acked = 4096;
        f.ack.window = 65536;
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), 0);
        cr_assert_eq(used, sizeof(ack_wire));
        cr_assert_arr_eq(out, ack_wire, used);

        f = (struct frame){.type = FRAME_PING};
        f.ping.flags = FRAME_PING_PONG;
        f.ping.token = 0x0102030405060708u;
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), 0);
        cr_assert_eq(used, sizeof(ping_wire));
        cr_assert_arr_eq(out, ping_wire, used);
}

Test(frame, truncated_at_every_prefix)
{
        struct frame v[32], d;
        size_t n = samples(v), used, dused;
        uint8_t *copy;

        for (size_t i = 0; i < n; i++) {
                cr_assert_eq(frame_encode(&v[i], out, sizeof(out), &used), 0);
                for (size_t cut = 0; cut < used; cut++) {
                        cr_assert_eq(frame_decode(out, cut, &d, &dused), FRAME_ETRUNC,
                                     "sample %zu (%s) cut at %zu", i, frame_type_name(v[i].type),
                                     cut);
                        /* Near the header and the end, decode again from a
                         * heap copy of exactly <cut> bytes, so ASan sees any
                         * read past the given length. */
                        if (cut > 300 && cut + 300 < used)
                                continue;
                        copy = malloc(cut ? cut : 1);
                        memcpy(copy, out, cut);
                        cr_assert_eq(frame_decode(copy, cut, &d, &dused), FRAME_ETRUNC);
                        free(copy);
                }
        }
}

/* Decodes p[0, len) from an exact-size heap copy. */
static int decode_exact(const uint8_t *p, size_t len)
{
        struct frame d;
        size_t used;
        uint8_t *copy = malloc(len ? len : 1);
        int rc;

        memcpy(copy, p, len);
        rc = frame_decode(copy, len, &d, &used);
        free(copy);
        return rc;
}

Test(frame, unknown_types)
{
        static const uint8_t types[] = {0, 9, 0x7f, 0x80, 0xff};
        uint8_t b[32] = {0};

        for (size_t i = 0; i < sizeof(types); i++) {
                b[0] = types[i];
                b[4] = 1;
                cr_assert_eq(decode_exact(b, sizeof(b)), FRAME_ETYPE, "type %u", types[i]);
                cr_assert_eq(decode_exact(b, 1), FRAME_ETYPE);
        }
}

Test(frame, data_length_rules)
{
        uint8_t b[FRAME_DATA_HDR] = {FRAME_DATA, 0, 0, 0, 1};
        struct frame f;
        size_t used;

        b[13] = 0x00, b[14] = 0x01, b[15] = 0x00, b[16] = 0x01; /* 65537 */
        cr_assert_eq(decode_exact(b, sizeof(b)), FRAME_ETOOBIG);
        memset(b + 13, 0xff, 4);
        cr_assert_eq(decode_exact(b, sizeof(b)), FRAME_ETOOBIG);
        memset(b + 13, 0, 4);
        cr_assert_eq(decode_exact(b, sizeof(b)), FRAME_EZERO);

        f = data_frame(1, 0, FRAME_MAX_DATA + 1);
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), FRAME_ETOOBIG);
        cr_assert_eq(frame_encoded_len(&f), 0);
        f = data_frame(1, 0, 0);
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), FRAME_EZERO);
}

Test(frame, offset_overflow)
{
        struct frame f = data_frame(1, UINT64_MAX, 1), d;
        uint8_t b[FRAME_DATA_HDR + 2] = {FRAME_DATA, 0, 0, 0, 1};
        size_t used;

        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), FRAME_EOFFSET);
        f = data_frame(1, UINT64_MAX - FRAME_MAX_DATA + 1, FRAME_MAX_DATA);
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), FRAME_EOFFSET);

        memset(b + 5, 0xff, 8); /* offset UINT64_MAX */
        b[16] = 2;              /* len 2 */
        cr_assert_eq(decode_exact(b, sizeof(b)), FRAME_EOFFSET);
        b[12] = 0xfe; /* offset UINT64_MAX - 1: + 2 still overflows */
        cr_assert_eq(decode_exact(b, sizeof(b)), FRAME_EOFFSET);
        b[12] = 0xfd; /* UINT64_MAX - 2 + 2 = UINT64_MAX: fits */
        cr_assert_eq(frame_decode(b, sizeof(b), &d, &used), 0);
        cr_assert_eq(d.data.offset + d.data.len, UINT64_MAX);
}

Test(frame, session_id_zero)
{
        struct frame v[32];
        size_t n = samples(v), used;

        for (size_t i = 0; i < n; i++) {
                if (v[i].type == FRAME_PING || v[i].type == FRAME_CHALLENGE ||
                    v[i].type == FRAME_PROOF)
                        continue; /* sessionless */
                cr_assert_eq(frame_encode(&v[i], out, sizeof(out), &used), 0);
                memset(out + 1, 0, 4);
                cr_assert_eq(decode_exact(out, used), FRAME_ESID, "%s", frame_type_name(v[i].type));
                v[i].sid = 0;
                cr_assert_eq(frame_encode(&v[i], out, sizeof(out), &used), FRAME_ESID);
        }
}

Test(frame, bad_address_type)
{
        static const uint8_t bad[] = {0, 2, 5, 0xff};
        struct frame f = open_frame(1, FRAME_ATYP_IPV4, ip4, 4, 80, 0);
        size_t used;

        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), 0);
        for (size_t i = 0; i < sizeof(bad); i++) {
                out[5] = bad[i];
                cr_assert_eq(decode_exact(out, used), FRAME_EATYP, "atyp %u", bad[i]);
                f.open.target.atyp = bad[i];
                cr_assert_eq(frame_encode(&f, out + 64, 64, &used), FRAME_EATYP);
                cr_assert_eq(used, 14, "used changed on failure");
        }
        /* Address length that does not match the type: encoder only. */
        f = open_frame(1, FRAME_ATYP_IPV4, ip6, 16, 80, 0);
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), FRAME_EADDRLEN);
        f = open_frame(1, FRAME_ATYP_IPV6, ip6, 4, 80, 0);
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), FRAME_EADDRLEN);
}

Test(frame, bad_domains)
{
        uint8_t b[64] = {FRAME_OPEN, 0, 0, 0, 1, FRAME_ATYP_DOMAIN, 0, 0x01, 0xbb, 0, 0};
        static const uint8_t bad_bytes[] = {0x00, 0x01, 0x0a, 0x20, 0x7f, 0x80, 0xc3, 0xff};
        struct frame f;
        size_t used;

        /* Length 0. */
        cr_assert_eq(decode_exact(b, 11), FRAME_EDOMAIN);
        f = open_frame(1, FRAME_ATYP_DOMAIN, (const uint8_t *)"", 0, 443, 0);
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), FRAME_EDOMAIN);

        /* "ab?d" with ? each forbidden byte, at each position. */
        for (size_t i = 0; i < sizeof(bad_bytes); i++)
                for (int pos = 0; pos < 4; pos++) {
                        uint8_t name[4] = {'a', 'b', 'c', 'd'};
                        name[pos] = bad_bytes[i];
                        b[6] = 4;
                        memcpy(b + 7, name, 4);
                        b[11] = 0x01, b[12] = 0xbb, b[13] = 0, b[14] = 0;
                        cr_assert_eq(decode_exact(b, 15), FRAME_EDOMAIN, "byte 0x%02x at %d",
                                     bad_bytes[i], pos);
                        f = open_frame(1, FRAME_ATYP_DOMAIN, name, 4, 443, 0);
                        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), FRAME_EDOMAIN);
                }
        /* The edges of the allowed range pass. */
        memcpy(b + 7, "!~-.", 4);
        cr_assert_eq(decode_exact(b, 15), 0);
}

Test(frame, port_zero)
{
        static const uint8_t *addrs[] = {ip4, ip6, (const uint8_t *)"host"};
        static const uint8_t atyps[] = {FRAME_ATYP_IPV4, FRAME_ATYP_IPV6, FRAME_ATYP_DOMAIN};
        static const uint8_t lens[] = {4, 16, 4};
        size_t used;

        for (int i = 0; i < 3; i++) {
                struct frame f = open_frame(1, atyps[i], addrs[i], lens[i], 80, 3);
                size_t port_at = 6 + lens[i] + (atyps[i] == FRAME_ATYP_DOMAIN);

                cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), 0);
                cr_assert_eq(out[port_at + 1], 80);
                out[port_at + 1] = 0;
                cr_assert_eq(decode_exact(out, used), FRAME_EPORT);
                f.open.target.port = 0;
                cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), FRAME_EPORT);
        }
}

Test(frame, unknown_flag_bits)
{
        struct frame f = {.type = FRAME_ACK, .sid = 1}, p = {.type = FRAME_PING};
        size_t used;

        for (int bit = 2; bit < 8; bit++) {
                f.ack.flags = (uint8_t)(1u << bit);
                cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), FRAME_EFLAGS);
                f.ack.flags = 0;
                cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), 0);
                out[5] = (uint8_t)(1u << bit | FRAME_ACK_OPENED);
                cr_assert_eq(decode_exact(out, used), FRAME_EFLAGS, "ACK bit %d", bit);
        }
        for (int bit = 2; bit < 8; bit++) {
                p.ping.flags = (uint8_t)(1u << bit);
                cr_assert_eq(frame_encode(&p, out, sizeof(out), &used), FRAME_EFLAGS);
                p.ping.flags = 0;
                cr_assert_eq(frame_encode(&p, out, sizeof(out), &used), 0);
                out[1] = (uint8_t)(1u << bit);
                cr_assert_eq(decode_exact(out, used), FRAME_EFLAGS, "PING bit %d", bit);
        }
        /* REWIND is a ping's flag: a pong that asks for a rewind is not a
         * thing. */
        p.ping.flags = FRAME_PING_REWIND;
        cr_assert_eq(frame_encode(&p, out, sizeof(out), &used), 0);
        cr_assert_eq(decode_exact(out, used), 0);
        p.ping.flags = FRAME_PING_REWIND | FRAME_PING_PONG;
        cr_assert_eq(frame_encode(&p, out, sizeof(out), &used), FRAME_EFLAGS);
        out[1] = FRAME_PING_REWIND | FRAME_PING_PONG;
        cr_assert_eq(decode_exact(out, used), FRAME_EFLAGS);
}

Test(frame, rst_reasons)
{
        struct frame f = {.type = FRAME_RST, .sid = 5};
        size_t used;
        int known = 0;

        for (int r = 0; r < 256; r++) {
                int rc;

                f.rst.reason = (uint8_t)r;
                rc = frame_encode(&f, out, sizeof(out), &used);
                if (rc == 0) {
                        known++;
                        cr_assert_eq(decode_exact(out, used), 0);
                        cr_assert_str_neq(frame_rst_name((uint8_t)r), "?");
                } else {
                        cr_assert_eq(rc, FRAME_EREASON);
                        cr_assert_str_eq(frame_rst_name((uint8_t)r), "?");
                        f.rst.reason = FRAME_RST_GENERAL;
                        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), 0);
                        out[5] = (uint8_t)r;
                        cr_assert_eq(decode_exact(out, used), FRAME_EREASON);
                }
        }
        cr_assert_eq(known, 11);
        cr_assert_eq(frame_rst_to_socks(FRAME_RST_GENERAL), 0x01);
        cr_assert_eq(frame_rst_to_socks(FRAME_RST_NOT_ALLOWED), 0x02);
        cr_assert_eq(frame_rst_to_socks(FRAME_RST_NET_UNREACH), 0x03);
        cr_assert_eq(frame_rst_to_socks(FRAME_RST_HOST_UNREACH), 0x04);
        cr_assert_eq(frame_rst_to_socks(FRAME_RST_REFUSED), 0x05);
        cr_assert_eq(frame_rst_to_socks(FRAME_RST_TIMEOUT), 0x06);
        cr_assert_eq(frame_rst_to_socks(FRAME_RST_ATYP), 0x08);
        cr_assert_eq(frame_rst_to_socks(FRAME_RST_PROTOCOL), 0x01);
        cr_assert_eq(frame_rst_to_socks(FRAME_RST_CAP), 0x01);
        cr_assert_eq(frame_rst_to_socks(FRAME_RST_UNKNOWN), 0x01);
        cr_assert_eq(frame_rst_to_socks(FRAME_RST_ABORT), 0x01);
        cr_assert_eq(frame_rst_to_socks(0x07), 0x01);
        cr_assert_eq(frame_rst_to_socks(0xee), 0x01);
}

Test(frame, encode_too_small_writes_nothing)
{
        struct frame v[32];
        size_t n = samples(v), used, full;

        for (size_t i = 0; i < n; i++) {
                full = frame_encoded_len(&v[i]);
                cr_assert_gt(full, 0);
                for (size_t cap = 0; cap < full; cap += (full > 300 ? 97 : 1)) {
                        used = 4242;
                        memset(out, 0x5a, full + 16);
                        cr_assert_eq(frame_encode(&v[i], out, cap, &used), -ENOSPC,
                                     "sample %zu cap %zu", i, cap);
                        cr_assert_eq(used, 4242);
                        for (size_t k = 0; k < full + 16; k++)
                                cr_assert_eq(out[k], 0x5a, "byte %zu written (cap %zu)", k, cap);
                }
                cr_assert_eq(frame_encode(&v[i], out, full, &used), 0);
                cr_assert_eq(out[full], 0x5a, "wrote past the frame");
        }
}

Test(frame, encode_data_in_place)
{
        struct frame f = {.type = FRAME_DATA, .sid = 77}, d;
        size_t used, dused;

        for (size_t i = 0; i < 3000; i++)
                out[FRAME_DATA_HDR + i] = (uint8_t)(i ^ 0x3c);
        f.data.offset = 10;
        f.data.data = out + FRAME_DATA_HDR;
        f.data.len = 3000;
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), 0);
        cr_assert_eq(frame_decode(out, used, &d, &dused), 0);
        for (size_t i = 0; i < 3000; i++)
                cr_assert_eq(d.data.data[i], (uint8_t)(i ^ 0x3c));
}

Test(frame, null_payload_refused)
{
        struct frame f = data_frame(1, 0, 10);
        size_t used;

        f.data.data = NULL;
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), -EINVAL);
        f = open_frame(1, FRAME_ATYP_IPV4, NULL, 4, 80, 0);
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), FRAME_EADDRLEN);
        f = open_frame(1, FRAME_ATYP_IPV4, ip4, 4, 80, 5);
        f.open.data = NULL;
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), -EINVAL);
}

/* Encodes every sample back to back into one region. */
static size_t build_region(uint8_t *region, size_t cap, struct frame *v, size_t *count)
{
        size_t n = samples(v), off = 0, used;

        for (size_t i = 0; i < n; i++) {
                cr_assert_eq(frame_encode(&v[i], region + off, cap - off, &used), 0);
                off += used;
        }
        *count = n;
        return off;
}

Test(frame, iterate_region)
{
        static uint8_t region[4 * FRAME_MAX_LEN];
        struct frame v[32], f;
        struct frame_iter it;
        size_t n, len = build_region(region, sizeof(region), v, &n), got = 0;
        int rc;

        frame_iter_init(&it, region, len);
        while ((rc = frame_next(&it, &f)) == 1)
                assert_same(&v[got++], &f);
        cr_assert_eq(rc, 0);
        cr_assert_eq(got, n);
        cr_assert_eq(it.off, len);
        cr_assert_eq(frame_next(&it, &f), 0, "end is stable");

        frame_iter_init(&it, region, 0);
        cr_assert_eq(frame_next(&it, &f), 0, "empty region");
}

Test(frame, iterate_trailing_bytes)
{
        static uint8_t region[4 * FRAME_MAX_LEN];
        struct frame v[32], f;
        struct frame_iter it;
        size_t n, len = build_region(region, sizeof(region), v, &n), got;
        /* One stray byte that is a type; a partial DATA header; a whole
         * frame minus its last byte. */
        static const size_t extra[] = {1, 6, 19};
        int rc;

        region[len] = FRAME_PING;
        memcpy(region + len + 1, (uint8_t[]){FRAME_DATA, 0, 0, 0, 1}, 5);
        for (size_t e = 0; e < 3; e++) {
                size_t total = len + extra[e];

                if (e == 2) {
                        struct frame d = data_frame(3, 0, 3);
                        size_t used;
                        cr_assert_eq(frame_encode(&d, region + len, 64, &used), 0);
                        cr_assert_eq(used, 20);
                }
                frame_iter_init(&it, region, total);
                got = 0;
                while ((rc = frame_next(&it, &f)) == 1)
                        got++;
                cr_assert_eq(rc, FRAME_ETRAILING, "extra %zu: %s", extra[e], frame_strerror(rc));
                cr_assert_eq(got, n, "frames before the trailing bytes");
                cr_assert_eq(it.off, len);
                cr_assert_eq(frame_next(&it, &f), FRAME_ETRAILING, "error is sticky");
        }
}

Test(frame, iterate_stops_at_bad_frame)
{
        uint8_t region[64];
        struct frame f = {.type = FRAME_FIN, .sid = 1};
        struct frame_iter it;
        size_t a, b;

        cr_assert_eq(frame_encode(&f, region, sizeof(region), &a), 0);
        cr_assert_eq(frame_encode(&f, region + a, sizeof(region) - a, &b), 0);
        region[a] = 0x42; /* unknown type for the second frame */
        frame_iter_init(&it, region, a + b);
        cr_assert_eq(frame_next(&it, &f), 1);
        cr_assert_eq(frame_next(&it, &f), FRAME_ETYPE);
        cr_assert_eq(it.off, a);
        cr_assert_eq(frame_next(&it, &f), FRAME_ETYPE);
}

Test(frame, random_bytes_never_crash)
{
        /* Cheap in-test fuzzing; the libFuzzer target goes further. */
        static uint8_t region[512];
        uint64_t x = 0x9e3779b97f4a7c15u;
        struct frame f;
        struct frame_iter it;
        int ok = 0, bad = 0;

        for (int round = 0; round < 20000; round++) {
                size_t len = (size_t)(x % sizeof(region));
                for (size_t i = 0; i < len; i++) {
                        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                        /* Bias towards small values so some frames parse. */
                        region[i] = (uint8_t)(x & (x >> 8 & 1 ? 0x07 : 0xff));
                }
                frame_iter_init(&it, region, len);
                int rc;
                while ((rc = frame_next(&it, &f)) == 1) {
                        cr_assert_leq(it.off, len);
                        ok++;
                }
                bad += rc < 0;
                cr_assert(rc == 0 || strcmp(frame_strerror(rc), "unknown error") != 0);
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        }
        cr_assert_gt(ok, 0);
        cr_assert_gt(bad, 0);
}

Test(frame, strerror_covers_every_code)
{
        static const int codes[] = {FRAME_ETRUNC,   FRAME_ETYPE,   FRAME_ETOOBIG,   FRAME_EZERO,
                                    FRAME_EATYP,    FRAME_EDOMAIN, FRAME_EPORT,     FRAME_ESID,
                                    FRAME_EFLAGS,   FRAME_EOFFSET, FRAME_ETRAILING, FRAME_EREASON,
                                    FRAME_EADDRLEN, -ENOSPC,       -EINVAL};

        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
                cr_assert_str_neq(frame_strerror(codes[i]), "unknown error");
                for (size_t j = 0; j < i; j++)
                        cr_assert_str_neq(frame_strerror(codes[i]), frame_strerror(codes[j]));
        }
        cr_assert_str_eq(frame_type_name(FRAME_ACK), "ACK");
        cr_assert_str_eq(frame_type_name(0), "?");
}

/* CHALLENGE and PROOF (docs/protocol.md §3.6): their exact bytes, and
 * CHALLENGE refuses flag bits it does not know. */
Test(frame, challenge_and_proof_wire_bytes)
{
        struct frame f = {.type = FRAME_CHALLENGE}, d;
        size_t used, dused;

        f.chal.flags = FRAME_CHAL_REFUSED;
        for (unsigned i = 0; i < FRAME_COOKIE_LEN; i++)
                f.chal.cookie[i] = (uint8_t)(0x10 + i);
        f.chal.heard = 0x1122334455667788u;
        f.chal.answers = 0x99aabbccddeeff00u;
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), 0);
        cr_assert_eq(used, FRAME_CHAL_LEN);
        cr_assert_eq(out[0], FRAME_CHALLENGE);
        cr_assert_eq(out[1], FRAME_CHAL_REFUSED);
        cr_assert_eq(out[2], 0x10);
        cr_assert_eq(out[17], 0x1f);
        cr_assert_eq(out[18], 0x11);
        cr_assert_eq(out[25], 0x88);
        cr_assert_eq(out[26], 0x99);
        cr_assert_eq(out[33], 0x00);
        out[1] = 0x04;
        cr_assert_eq(frame_decode(out, used, &d, &dused), FRAME_EFLAGS);

        f.type = FRAME_PROOF;
        cr_assert_eq(frame_encode(&f, out, sizeof(out), &used), 0);
        cr_assert_eq(used, FRAME_PROOF_LEN);
        cr_assert_eq(out[1], 0x10);
        cr_assert_eq(out[16], 0x1f);
        cr_assert_eq(frame_decode(out, used - 1, &d, &dused), FRAME_ETRUNC);
        cr_assert_eq(frame_decode(out, used, &d, &dused), 0);
        cr_assert_str_eq(frame_type_name(FRAME_PROOF), "PROOF");
}
