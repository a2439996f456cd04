/* fuzz_ws_server: libFuzzer target for the server half of the WebSocket
 * engine (transport/ws.h) over wslay, with the Upgrade request parser.
 *
 * The first byte picks the mode and seeds the split:
 *  - bit 0 clear: a valid handshake is done first, and the rest is frames
 *    from the client;
 *  - bit 0 set: the rest is the whole client stream, request head and then
 *    frames; it is parsed with http1 and validated by ws_server_accept, as
 *    the exit does.
 * The frames go in random pieces. Messages are echoed from inside
 * on_message (ws_send inside a callback), so the output side runs too. The
 * invariants: no crash or leak; on_close at most once and nothing delivered
 * after it; messages within max_msg and, in total, within the input; the
 * emitted bytes bounded by what the input can ask for.
 *
 * fuzz-sources: transport/ws.c transport/ws_frame.c transport/http1.c core/base64.c
 * fuzz-libs: -lwslay -lhttp_parser
 * Built and run by scripts/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/http1.h"
#include "transport/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSG 4096u

static const char valid_req[] = "GET /stream HTTP/1.1\r\nHost: exit.example\r\n"
                                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n\r\n";

struct state {
        struct ws *w;
        size_t emitted, delivered, closes;
        bool closed;
};

static struct http1_head req;

static int emit(void *ud, const uint8_t *p, size_t n)
{
        struct state *s = ud;

        (void)p;
        s->emitted += n;
        return 0;
}

static void on_message(void *ud, const uint8_t *p, size_t n)
{
        struct state *s = ud;

        if (s->closed || n > MAX_MSG)
                abort();
        s->delivered += n;
        (void)ws_send(s->w, p, n);
}

static void on_close(void *ud, uint16_t code)
{
        struct state *s = ud;

        (void)code;
        s->closes++;
        s->closed = true;
}

static const struct ws_events events = {
    .emit = emit,
    .on_message = on_message,
    .on_close = on_close,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ws_conf conf = {.max_msg = MAX_MSG};
        struct state s = {0};
        uint32_t seed;
        size_t used, off = 0, head_out;
        bool raw;

        if (size < 1)
                return 0;
        raw = data[0] & 1;
        seed = data[0] * 2654435761u + 7;
        data++;
        size--;
        if (ws_server_new(&s.w, &conf, &events, &s) != 0)
                abort();
        http1_init(&req, HTTP1_REQUEST);
        if (raw) {
                if (http1_feed(&req, data, size, &used) != 1 || ws_server_accept(s.w, &req) != 0)
                        goto out;
                data += used;
                size -= used;
        } else if (http1_feed(&req, (const uint8_t *)valid_req, sizeof(valid_req) - 1, &used) !=
                       1 ||
                   ws_server_accept(s.w, &req) != 0) {
                abort();
        }
        head_out = s.emitted;
        while (off < size) {
                size_t n;

                seed = seed * 1103515245u + 12345u;
                n = 1 + (seed >> 16) % (seed & 0x100 ? 7 : 2000);
                if (n > size - off)
                        n = size - off;
                if (ws_input(s.w, data + off, n) != 0)
                        break;
                off += n;
        }
        if (s.closes > 1 || s.delivered > size)
                abort();
        /* Echoes (each message back once), pongs and a close are each at
         * most their input plus a frame header; 256 covers our own close. */
        if (s.emitted - head_out > 2 * size + 256)
                abort();
out:
        ws_free(s.w);
        return 0;
}
