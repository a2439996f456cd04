/* fuzz_http_request: libFuzzer target for the HTTP/1.1 head parser
 * (transport/http1.h).
 *
 * The first byte picks the kind (bit 0: request or response) and seeds the
 * split; the rest is fed twice: whole, then in random pieces down to one
 * byte. The two runs must agree on the result and the consumed count (the
 * parser promises the same outcome however the input is split). A complete
 * head must end on its LF within the limit, and its accessors must hand out
 * clean strings; an error must map to 400, 414 or 431.
 *
 * fuzz-sources: transport/http1.c
 * fuzz-libs: -lhttp_parser
 * Built and run by scripts/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http1_head whole, split;

static const char *const names[] = {"host",           "upgrade",
                                    "connection",     "sec-websocket-key",
                                    "content-length", "transfer-encoding",
                                    "location",       "retry-after",
                                    "content-type",   "sec-websocket-accept"};

static void check_string(const char *s)
{
        if (!s)
                return;
        for (; *s; s++)
                if (*s == '\r' || *s == '\n')
                        abort();
}

static void check_complete(const struct http1_head *h, enum http1_kind kind, const uint8_t *p,
                           size_t used)
{
        uint64_t cl;

        if (used == 0 || used > HTTP1_HEAD_MAX || p[used - 1] != '\n')
                abort();
        if (kind == HTTP1_REQUEST) {
                if (!http1_method(h) || !http1_target(h) || http1_status(h) != 0)
                        abort();
                check_string(http1_target(h));
        } else {
                if (http1_method(h) || http1_status(h) < 100 || http1_status(h) > 999)
                        abort();
                check_string(http1_reason(h));
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                const char *v = http1_header(h, names[i]);

                check_string(v);
                if ((v != NULL) != (http1_header_count(h, names[i]) > 0))
                        abort();
                (void)http1_header_has_token(h, names[i], "upgrade");
        }
        if (http1_content_length(h, &cl) == 0) {
                const char *v = http1_header(h, "content-length");
                uint64_t again = 0;

                if (!v || http1_header_count(h, "content-length") != 1 ||
                    http1_header(h, "transfer-encoding"))
                        abort();
                for (; *v; v++)
                        again = again * 10 + (uint64_t)(*v - '0');
                if (again != cl)
                        abort();
        }
        (void)http1_keep_alive(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        enum http1_kind kind;
        uint32_t seed;
        size_t used_whole, used_split = 0, off = 0;
        int rc_whole, rc_split = 0;

        if (size < 1)
                return 0;
        kind = data[0] & 1 ? HTTP1_RESPONSE : HTTP1_REQUEST;
        seed = data[0] * 2654435761u + 1;
        data++;
        size--;

        http1_init(&whole, kind);
        rc_whole = http1_feed(&whole, data, size, &used_whole);

        http1_init(&split, kind);
        while (off < size && rc_split == 0) {
                size_t n, c;

                seed = seed * 1103515245u + 12345u;
                n = 1 + (seed >> 16) % (seed & 0x100 ? 3 : 300);
                if (n > size - off)
                        n = size - off;
                rc_split = http1_feed(&split, data + off, n, &c);
                if (c > n || (rc_split == 0 && c != n) || (rc_split < 0 && c != 0))
                        abort();
                used_split += c;
                off += n;
        }
        if (rc_split != rc_whole)
                abort();
        if (rc_whole == 1) {
                if (used_split != used_whole)
                        abort();
                check_complete(&whole, kind, data, used_whole);
                check_complete(&split, kind, data, used_split);
        } else if (rc_whole == 0) {
                if (used_whole != size || size > HTTP1_HEAD_MAX)
                        abort();
        } else {
                int st = http1_error_status(rc_whole);

                if (st != 400 && st != 414 && st != 431)
                        abort();
                if (strcmp(http1_strerror(rc_whole), "unknown error") == 0)
                        abort();
        }
        return 0;
}
