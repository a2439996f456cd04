/* fuzz_http1_msg: libFuzzer target for whole HTTP/1.1 messages
 * (transport/http1_msg.h).
 *
 * The first byte picks the kind (bit 0: request or response), whether the
 * response answers a HEAD (bit 1), the body cap (bits 2-3) and seeds the
 * split; the rest is parsed as a keep-alive stream of messages twice: fed
 * whole, then in random pieces down to one byte, resetting after each
 * complete message and feeding its leftover again, ending with eof. The two
 * runs must agree message by message (result, consumed count, framing,
 * body). Every call must keep the consumed contract, a body never passes its
 * cap, a complete body matches its framing, eof never says "need more", and
 * every error maps to a status and a message.
 *
 * fuzz-sources: transport/http1_msg.c transport/http1.c
 * fuzz-libs: -lhttp_parser
 * Built and run by scripts/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/http1_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSGS 16

struct result {
        int rc;
        size_t used;
        enum http1_msg_framing framing;
        size_t len;
        uint64_t hash;
};

struct outcome {
        size_t n;
        struct result r[MAX_MSGS];
};

static struct http1_msg whole, split;
static struct outcome out_whole, out_split;
static const size_t caps[4] = {0, 5, 256, 1u << 20};

static uint64_t fnv(const uint8_t *p, size_t n)
{
        uint64_t h = 14695981039346656037u;

        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 1099511628211u;
        return h;
}

static void check_error(const struct http1_msg *m, int rc)
{
        int st = http1_msg_error_status(rc);

        if (st != 400 && st != 413 && st != 414 && st != 431 && st != 501)
                abort();
        if (strcmp(http1_msg_strerror(rc), "unknown error") == 0)
                abort();
        /* These come from the body, after the head. */
        if ((rc == HTTP1_MSG_ETOOBIG || rc == HTTP1_MSG_ETE || rc == HTTP1_MSG_ECHUNK) &&
            !http1_msg_head_done(m))
                abort();
        if (rc == HTTP1_MSG_ECHUNK && http1_msg_framing(m) != HTTP1_MSG_CHUNKED)
                abort();
}

/* Records the end of one message (complete or failed) of <m>. */
static void record(struct http1_msg *m, struct outcome *o, int rc, size_t used)
{
        struct result *r = &o->r[o->n++];
        size_t len;
        const uint8_t *body = http1_msg_body(m, &len);

        if (len > m->max_body || m->cap > m->max_body || (len > 0 && m->cap < len))
                abort();
        r->rc = rc;
        r->used = used;
        r->framing = http1_msg_framing(m);
        r->len = len;
        r->hash = fnv(body, len);
        if (rc < 0) {
                /* How much was taken before an error depends on the split
                 * (a body framed by close fails on the piece that passes
                 * the cap); only the code must agree. */
                check_error(m, rc);
                r->used = r->len = 0;
                r->hash = 0;
                return;
        }
        if (!http1_msg_head_done(m))
                abort();
        if (r->framing == HTTP1_MSG_NONE && len != 0)
                abort();
        if (r->framing == HTTP1_MSG_LENGTH) {
                uint64_t cl;

                if (http1_content_length(http1_msg_head(m), &cl) != 0 || cl != len)
                        abort();
        }
        if (r->framing == HTTP1_MSG_CLOSE && http1_msg_head(m)->kind != HTTP1_RESPONSE)
                abort();
}

static void run(struct http1_msg *m, struct outcome *o, enum http1_kind kind, bool head_req,
                size_t cap, const uint8_t *p, size_t size, uint32_t seed)
{
        size_t off = 0, used = 0;
        int rc = 0;

        o->n = 0;
        http1_msg_init(m, kind, cap);
        if (head_req)
                http1_msg_expect_no_body(m);
        /* Each turn consumes bytes or ends a message; the bound is slack. */
        for (size_t turn = 0; turn < 2 * size + 2 * MAX_MSGS && o->n < MAX_MSGS; turn++) {
                size_t n = size - off, c = SIZE_MAX;

                if (off == size)
                        break;
                if (seed) {
                        seed = seed * 1103515245u + 12345u;
                        n = 1 + (seed >> 16) % (seed & 0x100 ? 3 : 300);
                        if (n > size - off)
                                n = size - off;
                }
                rc = http1_msg_feed(m, p + off, n, &c);
                if (c > n || (rc == 0 && c != n) || (rc < 0 && c != 0))
                        abort();
                if (rc < 0) {
                        record(m, o, rc, used);
                        break;
                }
                used += c;
                off += c;
                if (rc == 1) {
                        size_t again;

                        /* Complete stays complete and takes nothing. */
                        if (http1_msg_feed(m, p + off, size - off, &again) != 1 || again != 0 ||
                            http1_msg_eof(m) != 1)
                                abort();
                        record(m, o, 1, used);
                        used = 0;
                        http1_msg_reset(m);
                        if (head_req)
                                http1_msg_expect_no_body(m);
                }
        }
        if (rc >= 0 && o->n < MAX_MSGS && off == size) {
                rc = http1_msg_eof(m);
                /* Only a body framed by close ends with the connection. */
                if (rc == 0 || (rc == 1 && http1_msg_framing(m) != HTTP1_MSG_CLOSE) ||
                    (rc < 0 && rc != HTTP1_MSG_ETRUNCATED) || http1_msg_eof(m) != rc)
                        abort();
                record(m, o, rc, used);
        }
        http1_msg_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        enum http1_kind kind;
        bool head_req;
        size_t cap;
        uint32_t seed;

        if (size < 1)
                return 0;
        kind = data[0] & 1 ? HTTP1_RESPONSE : HTTP1_REQUEST;
        head_req = kind == HTTP1_RESPONSE && (data[0] & 2);
        cap = caps[(data[0] >> 2) & 3];
        seed = data[0] * 2654435761u + 1;
        data++;
        size--;

        run(&whole, &out_whole, kind, head_req, cap, data, size, 0);
        run(&split, &out_split, kind, head_req, cap, data, size, seed);
        if (out_whole.n != out_split.n)
                abort();
        for (size_t i = 0; i < out_whole.n; i++) {
                const struct result *a = &out_whole.r[i], *b = &out_split.r[i];

                if (a->rc != b->rc || a->used != b->used || a->framing != b->framing ||
                    a->len != b->len || a->hash != b->hash)
                        abort();
        }
        return 0;
}
