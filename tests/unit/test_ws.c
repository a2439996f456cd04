/* test_ws: the WebSocket engine (transport/ws.h) over memory.
 *
 * A client engine and a server engine are wired back to back: what one emits
 * is delivered to the other in random-size pieces (seeded, reproducible). The
 * server side parses the request head with http1 first, as the exit will.
 * Hand-made frames and responses cover what a well-behaved peer never sends:
 * unmasked client frames, text, oversized control frames, bad 101s.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/bytes.h"
#include "transport/http1.h"
#include "transport/ws.h"

struct buf {
        uint8_t *p;
        size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
        if (b->len + n > b->cap) {
                b->cap = (b->len + n) * 2 + 64;
                b->p = realloc(b->p, b->cap);
                cr_assert_not_null(b->p);
        }
        if (n)
                memcpy(b->p + b->len, p, n);
        b->len += n;
}

struct peer {
        struct ws *w;
        struct buf out; /* emitted; out.p[out_off, out.len) not yet delivered */
        size_t out_off;
        struct buf msgs; /* received messages: u32 length + bytes, in order */
        size_t nmsgs;
        int opened, closed, pongs;
        uint16_t close_code;
        uint64_t pong_token;
        int emit_rc; /* what emit returns: 0, -EAGAIN, or a fatal error */
        /* Server only: the request head, parsed as the exit will. */
        bool server, accepted;
        int accept_rc;
        struct http1_head req;
};

static struct peer cli, srv;
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

static int emit(void *ud, const uint8_t *p, size_t n)
{
        struct peer *pe = ud;

        if (pe->emit_rc)
                return pe->emit_rc;
        buf_add(&pe->out, p, n);
        return 0;
}

static void on_open(void *ud)
{
        ((struct peer *)ud)->opened++;
}

static void on_message(void *ud, const uint8_t *p, size_t n)
{
        struct peer *pe = ud;
        uint8_t len[4];

        put_be32(len, (uint32_t)n);
        buf_add(&pe->msgs, len, 4);
        buf_add(&pe->msgs, p, n);
        pe->nmsgs++;
}

static void on_pong(void *ud, uint64_t token)
{
        struct peer *pe = ud;

        pe->pongs++;
        pe->pong_token = token;
}

static void on_close(void *ud, uint16_t code)
{
        struct peer *pe = ud;

        pe->closed++;
        pe->close_code = code;
}

static const struct ws_events events = {
    .emit = emit,
    .on_open = on_open,
    .on_message = on_message,
    .on_pong = on_pong,
    .on_close = on_close,
};

/* Delivers bytes to a peer; a server first completes its request head. */
static int deliver(struct peer *to, const uint8_t *p, size_t n)
{
        if (to->server && !to->accepted) {
                size_t used;
                int rc = http1_feed(&to->req, p, n, &used);

                if (rc <= 0)
                        return rc;
                to->accepted = true;
                to->accept_rc = ws_server_accept(to->w, &to->req);
                if (to->accept_rc)
                        return to->accept_rc;
                p += used;
                n -= used;
        }
        return ws_input(to->w, p, n);
}

/* Moves one random-size piece (1..max) from a's output to b. Delivering to
 * b makes only b emit, so a's buffer can be read in place. */
static int move_piece(struct peer *a, struct peer *b, size_t max)
{
        size_t n = 1 + (size_t)(rnd() % max);
        int rc;

        if (n > a->out.len - a->out_off)
                n = a->out.len - a->out_off;
        rc = deliver(b, a->out.p + a->out_off, n);
        a->out_off += n;
        if (a->out_off == a->out.len)
                a->out.len = a->out_off = 0;
        return rc;
}

/* Pumps both ways until quiet. Pieces up to <max> bytes. */
static void pump_max(size_t max)
{
        while (cli.out.len || srv.out.len) {
                if (cli.out.len)
                        cr_assert_eq(move_piece(&cli, &srv, max), 0);
                if (srv.out.len)
                        cr_assert_eq(move_piece(&srv, &cli, max), 0);
        }
}

static void pump(void)
{
        pump_max(rnd() % 2 ? 7 : 70000);
}

static void reset_peer(struct peer *pe)
{
        ws_free(pe->w);
        free(pe->out.p);
        free(pe->msgs.p);
        memset(pe, 0, sizeof(*pe));
}

static void new_pair(size_t cli_max, size_t srv_max)
{
        struct ws_conf cc = {.max_msg = cli_max,
                             .host = "front.example",
                             .path = "/stream",
                             .user_agent = "Mozilla/5.0 (test)"};
        struct ws_conf sc = {.max_msg = srv_max};

        reset_peer(&cli);
        reset_peer(&srv);
        srv.server = true;
        http1_init(&srv.req, HTTP1_REQUEST);
        cr_assert_eq(ws_client_new(&cli.w, &cc, &events, &cli), 0);
        cr_assert_eq(ws_server_new(&srv.w, &sc, &events, &srv), 0);
}

static void open_pair(size_t cli_max, size_t srv_max)
{
        new_pair(cli_max, srv_max);
        cr_assert_eq(ws_client_start(cli.w), 0);
        pump();
        cr_assert_eq(srv.accept_rc, 0);
        cr_assert_eq(cli.opened, 1);
        cr_assert_eq(srv.opened, 1);
        cr_assert(ws_is_open(cli.w));
        cr_assert(ws_is_open(srv.w));
}

static void fini(void)
{
        reset_peer(&cli);
        reset_peer(&srv);
}

TestSuite(ws, .fini = fini);

/* The i-th message of a test: length n, bytes from a seed. */
static void fill(uint8_t *p, size_t n, unsigned seed)
{
        uint32_t x = seed * 2654435761u + 1;

        for (size_t i = 0; i < n; i++) {
                x = x * 1103515245u + 12345u;
                p[i] = (uint8_t)(x >> 16);
        }
}

/* Checks that <pe> received exactly the messages of <sizes>, in order. */
static void expect_msgs(const struct peer *pe, const size_t *sizes, size_t count, unsigned seed)
{
        size_t off = 0;

        cr_assert_eq(pe->nmsgs, count, "got %zu messages, want %zu", pe->nmsgs, count);
        for (size_t i = 0; i < count; i++) {
                uint8_t *want = malloc(sizes[i] + 1);
                uint32_t len = get_be32(pe->msgs.p + off);

                cr_assert_eq(len, sizes[i], "message %zu: length %u, want %zu", i, len, sizes[i]);
                fill(want, sizes[i], seed + (unsigned)i);
                cr_assert_eq(memcmp(pe->msgs.p + off + 4, want, sizes[i]), 0, "message %zu", i);
                off += 4 + sizes[i];
                free(want);
        }
        cr_assert_eq(off, pe->msgs.len);
}

Test(ws, handshake_request_shape)
{
        struct http1_head *h = malloc(sizeof(*h));
        uint8_t raw[32];
        size_t used, n;
        const char *key;
        char first[25];

        new_pair(0, 0);
        cr_assert_eq(ws_client_start(cli.w), 0);
        cr_assert_eq(ws_client_start(cli.w), -EINVAL);
        http1_init(h, HTTP1_REQUEST);
        cr_assert_eq(http1_feed(h, cli.out.p, cli.out.len, &used), 1);
        cr_assert_eq(used, cli.out.len, "the request is exactly one head");
        cr_assert_str_eq(http1_method(h), "GET");
        cr_assert_str_eq(http1_target(h), "/stream");
        cr_assert_eq(http1_version_minor(h), 1);
        cr_assert_str_eq(http1_header(h, "Host"), "front.example");
        cr_assert_str_eq(http1_header(h, "Upgrade"), "websocket");
        cr_assert_str_eq(http1_header(h, "Connection"), "Upgrade");
        cr_assert_str_eq(http1_header(h, "Sec-WebSocket-Version"), "13");
        cr_assert_str_eq(http1_header(h, "User-Agent"), "Mozilla/5.0 (test)");
        cr_assert_null(http1_header(h, "Sec-WebSocket-Extensions"), "never offer compression");
        cr_assert_null(http1_header(h, "Sec-WebSocket-Protocol"));
        key = http1_header(h, "Sec-WebSocket-Key");
        cr_assert_not_null(key);
        cr_assert_eq(b64_decode(key, strlen(key), raw, sizeof(raw), &n), 0);
        cr_assert_eq(n, 16);
        memcpy(first, key, 25);

        /* A second client draws another key. */
        new_pair(0, 0);
        cr_assert_eq(ws_client_start(cli.w), 0);
        http1_init(h, HTTP1_REQUEST);
        cr_assert_eq(http1_feed(h, cli.out.p, cli.out.len, &used), 1);
        cr_assert_str_neq(http1_header(h, "Sec-WebSocket-Key"), first);
        free(h);
}

Test(ws, rfc6455_sample_accept)
{
        static const char req[] = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"
                                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Origin: http://example.com\r\n"
                                  "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                                  "Sec-WebSocket-Version: 13\r\n\r\n";
        struct http1_head *h = malloc(sizeof(*h));
        size_t used;

        new_pair(0, 0);
        cr_assert_eq(http1_feed(&srv.req, (const uint8_t *)req, strlen(req), &used), 1);
        cr_assert_eq(ws_server_accept(srv.w, &srv.req), 0);
        cr_assert_eq(srv.opened, 1);
        http1_init(h, HTTP1_RESPONSE);
        cr_assert_eq(http1_feed(h, srv.out.p, srv.out.len, &used), 1);
        cr_assert_eq(used, srv.out.len);
        cr_assert_eq(http1_status(h), 101);
        cr_assert_str_eq(http1_header(h, "Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        cr_assert(http1_header_has_token(h, "upgrade", "websocket"));
        cr_assert(http1_header_has_token(h, "connection", "upgrade"));
        cr_assert_null(http1_header(h, "Sec-WebSocket-Extensions"), "offered, never accepted");
        cr_assert_eq(ws_server_accept(srv.w, &srv.req), -EINVAL, "accept once");
        free(h);
}

Test(ws, handshake_back_to_back)
{
        const char *reason = NULL;

        for (int round = 0; round < 20; round++) {
                open_pair(0, 0);
                cr_assert_eq(ws_handshake_status(cli.w, &reason), 101);
                cr_assert_str_eq(reason, "Switching Protocols");
                cr_assert_not_null(ws_response(cli.w));
                cr_assert_null(ws_response(srv.w));
        }
}

static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 3, 0, 70000};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void send_all(struct peer *from, unsigned seed)
{
        for (size_t i = 0; i < NSIZES; i++) {
                uint8_t *m = malloc(sizes[i] + 1);

                fill(m, sizes[i], seed + (unsigned)i);
                cr_assert_eq(ws_send(from->w, m, sizes[i]), 0, "message %zu", i);
                /* The engine copied it: scribbling now must not matter. */
                memset(m, 0xee, sizes[i] + 1);
                free(m);
        }
}

Test(ws, messages_both_ways_in_random_pieces)
{
        for (int round = 0; round < 4; round++) {
                open_pair(0, 0);
                send_all(&cli, 100);
                send_all(&srv, 200);
                pump_max(round % 2 ? 5 : 50000);
                expect_msgs(&srv, sizes, NSIZES, 100);
                expect_msgs(&cli, sizes, NSIZES, 200);
                cr_assert_eq(cli.closed + srv.closed, 0);
        }
}

Test(ws, interleaved_sends_and_delivery)
{
        open_pair(0, 0);
        for (size_t i = 0; i < NSIZES; i++) {
                uint8_t *m = malloc(sizes[i] + 1);

                fill(m, sizes[i], 300 + (unsigned)i);
                cr_assert_eq(ws_send(cli.w, m, sizes[i]), 0);
                free(m);
                /* Deliver part of what is pending before the next send. */
                if (cli.out.len)
                        cr_assert_eq(move_piece(&cli, &srv, 1000), 0);
        }
        pump();
        expect_msgs(&srv, sizes, NSIZES, 300);
}

/* The length field as RFC 6455 §5.2 wants it, in the server's (unmasked)
 * frames: 7 bits up to 125, 16 bits up to 65535, then 64 bits. */
Test(ws, length_encodings_on_the_wire)
{
        static const struct {
                size_t n;
                size_t hdr;
                uint8_t b1;
        } cases[] = {{0, 2, 0}, {125, 2, 125}, {126, 4, 126}, {65535, 4, 126}, {65536, 10, 127}};

        open_pair(0, 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint8_t *m = calloc(1, cases[i].n + 1);

                srv.out.len = 0;
                cr_assert_eq(ws_send(srv.w, m, cases[i].n), 0);
                cr_assert_eq(srv.out.len, cases[i].hdr + cases[i].n);
                cr_assert_eq(srv.out.p[0], 0x82, "FIN + binary");
                cr_assert_eq(srv.out.p[1], cases[i].b1, "unmasked, length code");
                if (cases[i].hdr == 4)
                        cr_assert_eq(get_be16(srv.out.p + 2), cases[i].n);
                if (cases[i].hdr == 10)
                        cr_assert_eq(get_be64(srv.out.p + 2), cases[i].n);
                free(m);
        }
        /* Client frames are masked. */
        cli.out.len = 0;
        cr_assert_eq(ws_send(cli.w, (const uint8_t *)"abc", 3), 0);
        cr_assert_eq(cli.out.len, 2 + 4 + 3);
        cr_assert_eq(cli.out.p[1], 0x80 | 3);
        srv.out.len = 0;
}

Test(ws, ping_pong_token)
{
        open_pair(0, 0);
        cr_assert_eq(ws_ping(cli.w, UINT64_C(0x0102030405060708)), 0);
        pump();
        cr_assert_eq(cli.pongs, 1);
        cr_assert_eq(cli.pong_token, UINT64_C(0x0102030405060708));
        cr_assert_eq(srv.pongs, 0);
        cr_assert_eq(ws_ping(srv.w, 42), 0);
        cr_assert_eq(ws_ping(srv.w, 43), 0);
        pump();
        cr_assert_eq(srv.pongs, 2);
        cr_assert_eq(srv.pong_token, 43);
        /* Pings between message frames do not disturb the messages. */
        send_all(&cli, 7);
        cr_assert_eq(ws_ping(cli.w, 99), 0);
        pump_max(3000);
        expect_msgs(&srv, sizes, NSIZES, 7);
        cr_assert_eq(cli.pong_token, 99);
}

static void close_from(struct peer *a, struct peer *b, uint16_t code)
{
        cr_assert_eq(ws_close(a->w, code, "bye"), 0);
        cr_assert_not(ws_is_open(a->w));
        cr_assert_eq(a->closed, 0, "on_close waits for the peer's close");
        cr_assert_eq(ws_send(a->w, (const uint8_t *)"x", 1), -EPIPE);
        pump();
        cr_assert_eq(b->closed, 1);
        cr_assert_eq(b->close_code, code);
        cr_assert_eq(a->closed, 1);
        cr_assert_eq(a->close_code, code, "the peer echoes the code");
        cr_assert_not(ws_want_write(a->w));
        cr_assert_not(ws_want_write(b->w));
        cr_assert_eq(ws_send(b->w, (const uint8_t *)"x", 1), -EPIPE);
        cr_assert_eq(ws_close(a->w, 1000, NULL), 0, "closing twice is harmless");
        cr_assert_eq(ws_input(a->w, (const uint8_t *)"\x82\x00", 2), 0, "ignored after close");
        cr_assert_eq(a->closed, 1);
}

Test(ws, close_handshake_from_client)
{
        open_pair(0, 0);
        close_from(&cli, &srv, 1000);
}

Test(ws, close_handshake_from_server)
{
        open_pair(0, 0);
        close_from(&srv, &cli, 4001);
}

Test(ws, close_arguments)
{
        char longr[130];

        new_pair(0, 0);
        cr_assert_eq(ws_close(cli.w, 1000, NULL), -ENOTCONN);
        cr_assert_eq(ws_send(cli.w, (const uint8_t *)"x", 1), -ENOTCONN);
        open_pair(0, 0);
        memset(longr, 'r', sizeof(longr) - 1);
        longr[sizeof(longr) - 1] = '\0';
        cr_assert_eq(ws_close(cli.w, 1005, NULL), -EINVAL);
        cr_assert_eq(ws_close(cli.w, 1006, NULL), -EINVAL);
        cr_assert_eq(ws_close(cli.w, 999, NULL), -EINVAL);
        cr_assert_eq(ws_close(cli.w, 1000, longr), -EINVAL);
        cr_assert(ws_is_open(cli.w));
}

Test(ws, message_over_max_closes_1009)
{
        uint8_t *m = calloc(1, 1001);

        open_pair(0, 1000);
        cr_assert_eq(ws_send(cli.w, m, 1000), 0);
        cr_assert_eq(ws_send(cli.w, m, 1001), 0);
        pump();
        cr_assert_eq(srv.nmsgs, 1, "the message at the limit passes");
        cr_assert_eq(srv.closed, 1);
        cr_assert_eq(srv.close_code, WS_CLOSE_TOO_BIG);
        cr_assert_eq(cli.closed, 1);
        cr_assert_eq(cli.close_code, WS_CLOSE_TOO_BIG);
        /* A sender refuses to produce what its own limit forbids. */
        cr_assert_eq(ws_send(srv.w, m, 1001), -EPIPE);
        open_pair(0, 1000);
        cr_assert_eq(ws_send(srv.w, m, 1001), -EMSGSIZE);
        free(m);
}

Test(ws, backpressure_and_flush)
{
        uint8_t m[5000];

        open_pair(0, 0);
        fill(m, sizeof(m), 5);
        cli.emit_rc = -EAGAIN;
        cr_assert_eq(ws_send(cli.w, m, sizeof(m)), 0);
        cr_assert_eq(ws_queued(cli.w), sizeof(m));
        cr_assert(ws_want_write(cli.w));
        cr_assert_eq(cli.out.len, 0);
        cr_assert_eq(ws_flush(cli.w), 0);
        cr_assert_eq(ws_queued(cli.w), sizeof(m));
        cli.emit_rc = 0;
        cr_assert_eq(ws_flush(cli.w), 0);
        cr_assert_eq(ws_queued(cli.w), 0);
        cr_assert_not(ws_want_write(cli.w));
        pump();
        {
                size_t one = sizeof(m);

                expect_msgs(&srv, &one, 1, 5);
        }
}

Test(ws, emit_failure_is_fatal)
{
        open_pair(0, 0);
        cli.emit_rc = -ECONNRESET;
        cr_assert_eq(ws_send(cli.w, (const uint8_t *)"abc", 3), -ECONNRESET);
        cr_assert_not(ws_is_open(cli.w));
        cr_assert_eq(ws_input(cli.w, (const uint8_t *)"\x82\x00", 2), -EINVAL);
        cr_assert_eq(cli.closed, 0, "an error return never calls on_close");
        /* And during the handshake. */
        new_pair(0, 0);
        cli.emit_rc = -EAGAIN;
        cr_assert_eq(ws_client_start(cli.w), -EAGAIN);
}

/* Bytes right behind the 101 in the same read are frames. */
Test(ws, frames_glued_to_the_101)
{
        uint8_t m[300];
        size_t one = sizeof(m);

        new_pair(0, 0);
        cr_assert_eq(ws_client_start(cli.w), 0);
        cr_assert_eq(deliver(&srv, cli.out.p, cli.out.len), 0);
        cli.out.len = 0;
        fill(m, sizeof(m), 9);
        cr_assert_eq(ws_send(srv.w, m, sizeof(m)), 0);
        cr_assert_eq(ws_input(cli.w, srv.out.p, srv.out.len), 0);
        srv.out.len = 0;
        cr_assert_eq(cli.opened, 1);
        expect_msgs(&cli, &one, 1, 9);
}

/* --- client handshake failures ------------------------------------------ */

/* Runs a real handshake to get a genuine 101 for this client, then lets
 * <edit> change it before the client sees it. Returns the client's verdict. */
static int client_sees(void (*edit)(struct buf *resp))
{
        struct buf r = {0};
        int rc;

        new_pair(0, 0);
        cr_assert_eq(ws_client_start(cli.w), 0);
        cr_assert_eq(deliver(&srv, cli.out.p, cli.out.len), 0);
        buf_add(&r, srv.out.p, srv.out.len);
        buf_add(&r, "", 1);
        r.len--;
        edit(&r);
        rc = ws_input(cli.w, r.p, r.len);
        free(r.p);
        cr_assert_eq(cli.opened, rc == 0);
        return rc;
}

static void replace(struct buf *b, const char *from, const char *to)
{
        char *s = strstr((char *)b->p, from);
        struct buf n = {0};

        cr_assert_not_null(s, "'%s' not in the response", from);
        buf_add(&n, b->p, (size_t)((uint8_t *)s - b->p));
        buf_add(&n, to, strlen(to));
        buf_add(&n, s + strlen(from), b->len - (size_t)((uint8_t *)s - b->p) - strlen(from));
        buf_add(&n, "", 1);
        n.len--;
        free(b->p);
        *b = n;
}

static void edit_none(struct buf *b)
{
        (void)b;
}
static void edit_accept(struct buf *b)
{
        replace(b, "Accept: ", "Accept: A");
}
static void edit_200(struct buf *b)
{
        free(b->p);
        memset(b, 0, sizeof(*b));
        buf_add(b, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", 40);
}
static void edit_404(struct buf *b)
{
        free(b->p);
        memset(b, 0, sizeof(*b));
        buf_add(b, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 45);
}
static void edit_no_upgrade(struct buf *b)
{
        replace(b, "Upgrade: websocket\r\n", "");
}
static void edit_upgrade_h2c(struct buf *b)
{
        replace(b, "Upgrade: websocket", "Upgrade: h2c");
}
static void edit_no_connection(struct buf *b)
{
        replace(b, "Connection: Upgrade", "Connection: keep-alive");
}
static void edit_extension(struct buf *b)
{
        replace(b, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
}
static void edit_protocol(struct buf *b)
{
        replace(b, "\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat\r\n\r\n");
}
static void edit_two_accepts(struct buf *b)
{
        replace(b, "\r\n\r\n", "\r\nSec-WebSocket-Accept: x\r\n\r\n");
}
static void edit_garbage(struct buf *b)
{
        free(b->p);
        memset(b, 0, sizeof(*b));
        buf_add(b, "SSH-2.0-OpenSSH_9.2\r\n", 21);
}
static void edit_case(struct buf *b)
{
        replace(b, "Upgrade: websocket", "UPGRADE: WebSocket");
        replace(b, "Connection: Upgrade", "connection: keep-alive, upgrade");
}

Test(ws, client_handshake_errors)
{
        const char *reason;

        cr_assert_eq(client_sees(edit_none), 0);
        cr_assert_eq(client_sees(edit_case), 0);

        cr_assert_eq(client_sees(edit_accept), WS_EACCEPT);
        cr_assert_eq(client_sees(edit_two_accepts), WS_EACCEPT);
        cr_assert_eq(client_sees(edit_200), WS_ESTATUS);
        cr_assert_eq(ws_handshake_status(cli.w, &reason), 200);
        cr_assert_str_eq(reason, "OK");
        cr_assert_eq(client_sees(edit_404), WS_ESTATUS);
        cr_assert_eq(ws_handshake_status(cli.w, &reason), 404);
        cr_assert_str_eq(reason, "Not Found");
        cr_assert_eq(client_sees(edit_no_upgrade), WS_EUPGRADE);
        cr_assert_eq(client_sees(edit_upgrade_h2c), WS_EUPGRADE);
        cr_assert_eq(client_sees(edit_no_connection), WS_ECONNECTION);
        cr_assert_eq(client_sees(edit_extension), WS_EEXTENSION);
        cr_assert_eq(client_sees(edit_protocol), WS_EPROTOCOL);
        cr_assert_eq(client_sees(edit_garbage), WS_EHTTP);
        cr_assert_not_null(ws_response(cli.w));
        cr_assert_lt(http1_state(ws_response(cli.w)), 0);
        cr_assert_eq(ws_handshake_status(cli.w, &reason), 0);
        /* A failed engine stays failed. */
        cr_assert_eq(ws_input(cli.w, (const uint8_t *)"x", 1), -EINVAL);
        cr_assert_eq(ws_send(cli.w, (const uint8_t *)"x", 1), -EPIPE);
        cr_assert_str_neq(ws_strerror(WS_EACCEPT), "unknown error");
        cr_assert_str_eq(ws_strerror(HTTP1_ECLTE), http1_strerror(HTTP1_ECLTE));
}

/* --- server request validation ------------------------------------------ */

static int server_sees(const char *req)
{
        size_t used;
        int rc;

        new_pair(0, 0);
        cr_assert_eq(http1_feed(&srv.req, (const uint8_t *)req, strlen(req), &used), 1,
                     "test request must parse: %s", req);
        rc = ws_server_accept(srv.w, &srv.req);
        if (rc != 0) {
                cr_assert_eq(srv.out.len, 0, "a rejection emits nothing");
                cr_assert_eq(srv.opened, 0);
        }
        return rc;
}

#define REQ(method, ver, extra) method " /stream HTTP/1." ver "\r\nHost: a\r\n" extra "\r\n"
#define GOOD_KEY                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define UPG                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"

Test(ws, server_rejects_bad_requests)
{
        cr_assert_eq(server_sees(REQ("GET", "1", UPG GOOD_KEY "Sec-WebSocket-Version: 13\r\n")), 0);
        cr_assert_eq(server_sees(REQ("POST", "1", UPG GOOD_KEY "Sec-WebSocket-Version: 13\r\n")),
                     WS_EMETHOD);
        cr_assert_eq(server_sees(REQ("GET", "0", UPG GOOD_KEY "Sec-WebSocket-Version: 13\r\n")),
                     WS_EHTTPVER);
        cr_assert_eq(
            server_sees(REQ("GET", "1",
                            "Connection: Upgrade\r\n" GOOD_KEY "Sec-WebSocket-Version: 13\r\n")),
            WS_EUPGRADE);
        cr_assert_eq(server_sees(REQ("GET", "1",
                                     "Upgrade: websocket\r\nConnection: keep-alive\r\n" GOOD_KEY
                                     "Sec-WebSocket-Version: 13\r\n")),
                     WS_ECONNECTION);
        cr_assert_eq(server_sees(REQ("GET", "1", UPG GOOD_KEY "Sec-WebSocket-Version: 8\r\n")),
                     WS_EVERSION);
        cr_assert_eq(server_sees(REQ("GET", "1", UPG GOOD_KEY)), WS_EVERSION);
        cr_assert_eq(server_sees(REQ("GET", "1",
                                     UPG GOOD_KEY "Sec-WebSocket-Version: 13\r\n"
                                                  "Sec-WebSocket-Version: 13\r\n")),
                     WS_EVERSION);
        cr_assert_eq(server_sees(REQ("GET", "1", UPG "Sec-WebSocket-Version: 13\r\n")), WS_EKEY);
        cr_assert_eq(server_sees(REQ("GET", "1",
                                     UPG "Sec-WebSocket-Key: not base64!\r\n"
                                         "Sec-WebSocket-Version: 13\r\n")),
                     WS_EKEY);
        /* 15 and 17 bytes, and a non-canonical encoding of 16. */
        cr_assert_eq(server_sees(REQ("GET", "1",
                                     UPG "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n"
                                         "Sec-WebSocket-Version: 13\r\n")),
                     WS_EKEY);
        cr_assert_eq(server_sees(REQ("GET", "1",
                                     UPG "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n"
                                         "Sec-WebSocket-Version: 13\r\n")),
                     WS_EKEY);
        cr_assert_eq(server_sees(REQ("GET", "1",
                                     UPG "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n"
                                         "Sec-WebSocket-Version: 13\r\n")),
                     WS_EKEY);
        cr_assert_eq(
            server_sees(REQ("GET", "1", UPG GOOD_KEY GOOD_KEY "Sec-WebSocket-Version: 13\r\n")),
            WS_EKEY);
}

Test(ws, server_needs_a_complete_head)
{
        size_t used;

        new_pair(0, 0);
        cr_assert_eq(http1_feed(&srv.req, (const uint8_t *)"GET / HTTP/1.1\r\n", 16, &used), 0);
        cr_assert_eq(ws_server_accept(srv.w, &srv.req), -EINVAL);
        cr_assert_eq(ws_input(srv.w, (const uint8_t *)"x", 1), -EINVAL);
        cr_assert_eq(ws_server_accept(cli.w, &srv.req), -EINVAL, "not on a client");
}

/* --- hand-made frames into an open server -------------------------------- */

/* A client frame: FIN + opcode, masked (or not), short payload. */
static size_t make_frame(uint8_t *out, uint8_t b0, bool masked, const uint8_t *p, size_t n)
{
        static const uint8_t mask[4] = {0x11, 0x22, 0x33, 0x44};
        size_t off = 0;

        out[off++] = b0;
        if (n < 126) {
                out[off++] = (uint8_t)((masked ? 0x80 : 0) | n);
        } else {
                out[off++] = (uint8_t)((masked ? 0x80 : 0) | 126);
                put_be16(out + off, (uint16_t)n);
                off += 2;
        }
        if (masked) {
                memcpy(out + off, mask, 4);
                off += 4;
        }
        for (size_t i = 0; i < n; i++)
                out[off + i] = masked ? p[i] ^ mask[i % 4] : p[i];
        return off + n;
}

/* Feeds a frame to an open server; returns the close code it reported
 * (0 if none) and checks the close frame it emitted carries that code. */
static uint16_t server_closes_on(const uint8_t *frame, size_t n)
{
        open_pair(0, 0);
        srv.out.len = 0;
        cr_assert_eq(ws_input(srv.w, frame, n), 0, "a bad peer is not an engine error");
        if (!srv.closed)
                return 0;
        cr_assert_eq(srv.closed, 1);
        cr_assert_geq(srv.out.len, 2);
        cr_assert_eq(srv.out.p[0], 0x88, "a close frame went out");
        if (srv.out.p[1] >= 2)
                cr_assert_eq(get_be16(srv.out.p + 2), srv.close_code);
        cr_assert_not(ws_is_open(srv.w));
        cr_assert_eq(srv.nmsgs, 0);
        return srv.close_code;
}

Test(ws, unmasked_client_frame_closes_1002)
{
        uint8_t f[64];
        size_t n = make_frame(f, 0x82, false, (const uint8_t *)"abc", 3);

        cr_assert_eq(server_closes_on(f, n), WS_CLOSE_PROTOCOL);
        /* The same frame masked is fine. */
        n = make_frame(f, 0x82, true, (const uint8_t *)"abc", 3);
        cr_assert_eq(server_closes_on(f, n), 0);
        cr_assert_eq(srv.nmsgs, 1);
}

Test(ws, text_message_closes_1003)
{
        uint8_t f[64];
        size_t n = make_frame(f, 0x81, true, (const uint8_t *)"hello", 5);

        cr_assert_eq(server_closes_on(f, n), WS_CLOSE_UNSUPPORTED);
        /* Even a text message that never ends (FIN clear). */
        n = make_frame(f, 0x01, true, (const uint8_t *)"hel", 3);
        cr_assert_eq(server_closes_on(f, n), WS_CLOSE_UNSUPPORTED);
        /* And the client refuses the server's text the same way. */
        open_pair(0, 0);
        n = make_frame(f, 0x81, false, (const uint8_t *)"hi", 2);
        cr_assert_eq(ws_input(cli.w, f, n), 0);
        cr_assert_eq(cli.close_code, WS_CLOSE_UNSUPPORTED);
        srv.out.len = 0;
}

Test(ws, bad_frames_close_1002)
{
        uint8_t payload[200] = {0}, f[300];
        size_t n;

        /* A ping over 125 bytes (frame parser). */
        n = make_frame(f, 0x89, true, payload, 126);
        cr_assert_eq(server_closes_on(f, n), WS_CLOSE_PROTOCOL);
        /* A fragmented ping. */
        n = make_frame(f, 0x09, true, payload, 4);
        cr_assert_eq(server_closes_on(f, n), WS_CLOSE_PROTOCOL);
        /* Reserved bit set, reserved opcode, continuation with nothing to
         * continue. */
        n = make_frame(f, 0x82 | 0x40, true, payload, 4);
        cr_assert_eq(server_closes_on(f, n), WS_CLOSE_PROTOCOL);
        n = make_frame(f, 0x83, true, payload, 4);
        cr_assert_eq(server_closes_on(f, n), WS_CLOSE_PROTOCOL);
        n = make_frame(f, 0x80, true, payload, 4);
        cr_assert_eq(server_closes_on(f, n), WS_CLOSE_PROTOCOL);
        /* 126-byte length code for a 5-byte payload (not minimal). */
        n = make_frame(f, 0x82, true, payload, 130);
        f[3] = 5;
        cr_assert_eq(server_closes_on(f, 4 + 4 + 5), WS_CLOSE_PROTOCOL);
        /* A close whose reason is not UTF-8 (1007, wslay's check). */
        put_be16(payload, 1000);
        payload[2] = 0xff;
        n = make_frame(f, 0x88, true, payload, 3);
        cr_assert_eq(server_closes_on(f, n), WS_CLOSE_INVALID);
        /* A close with a code that must not be on the wire. */
        put_be16(payload, 1005);
        n = make_frame(f, 0x88, true, payload, 2);
        cr_assert_eq(server_closes_on(f, n), WS_CLOSE_PROTOCOL);
}

Test(ws, peer_close_without_code)
{
        uint8_t f[16];
        size_t n = make_frame(f, 0x88, true, NULL, 0);

        cr_assert_eq(server_closes_on(f, n), WS_CLOSE_NO_STATUS);
}

Test(ws, fragmented_binary_message_reassembled)
{
        uint8_t f[64];
        size_t n = 0;

        open_pair(0, 0);
        n += make_frame(f + n, 0x02, true, (const uint8_t *)"ab", 2);
        n += make_frame(f + n, 0x89, true, (const uint8_t *)"p", 1); /* ping in between */
        n += make_frame(f + n, 0x00, true, (const uint8_t *)"cd", 2);
        n += make_frame(f + n, 0x80, true, (const uint8_t *)"e", 1);
        srv.out.len = 0;
        for (size_t i = 0; i < n; i++)
                cr_assert_eq(ws_input(srv.w, f + i, 1), 0);
        cr_assert_eq(srv.nmsgs, 1);
        cr_assert_eq(get_be32(srv.msgs.p), 5);
        cr_assert_eq(memcmp(srv.msgs.p + 4, "abcde", 5), 0);
        cr_assert_eq(srv.out.len, 3, "one pong");
        cr_assert_eq(srv.out.p[0], 0x8a);
        srv.out.len = 0;
}

/* Whole binary frames take ws.c's own path, everything else wslay's: the
 * two must interleave in order at any piece size, the server unmasking and
 * the client taking unmasked frames in place. */
Test(ws, own_and_wslay_frames_interleave)
{
        static const size_t pieces[] = {1, 2, 3, 5, 13, 4096};
        uint8_t big[300], f[1024];

        for (size_t i = 0; i < sizeof(big); i++)
                big[i] = (uint8_t)(i * 7 + 1);
        for (unsigned side = 0; side < 2; side++) {
                for (size_t pi = 0; pi < sizeof(pieces) / sizeof(pieces[0]); pi++) {
                        bool masked = side == 0; /* 0: into the server, 1: into the client */
                        size_t n = 0;
                        n += make_frame(f + n, 0x82, masked, (const uint8_t *)"A", 1);
                        n += make_frame(f + n, 0x89, masked, (const uint8_t *)"p", 1);
                        n += make_frame(f + n, 0x02, masked, (const uint8_t *)"bc", 2);
                        n += make_frame(f + n, 0x89, masked, (const uint8_t *)"q", 1);
                        n += make_frame(f + n, 0x80, masked, (const uint8_t *)"d", 1);
                        n += make_frame(f + n, 0x82, masked, big, sizeof(big));
                        n += make_frame(f + n, 0x82, masked, NULL, 0);
                        n += make_frame(f + n, 0x82, masked, (const uint8_t *)"zz", 2);
                        open_pair(0, 0);
                        struct peer *to = side == 0 ? &srv : &cli;
                        to->out.len = 0;
                        for (size_t off = 0; off < n; off += pieces[pi]) {
                                size_t k = n - off < pieces[pi] ? n - off : pieces[pi];
                                cr_assert_eq(ws_input(to->w, f + off, k), 0);
                        }
                        cr_assert_eq(to->nmsgs, 5, "side %u pieces %zu: %zu messages", side,
                                     pieces[pi], to->nmsgs);
                        const uint8_t *m = to->msgs.p;
                        cr_assert_eq(get_be32(m), 1);
                        cr_assert_eq(m[4], 'A');
                        m += 5;
                        cr_assert_eq(get_be32(m), 3);
                        cr_assert_eq(memcmp(m + 4, "bcd", 3), 0);
                        m += 7;
                        cr_assert_eq(get_be32(m), sizeof(big));
                        cr_assert_eq(memcmp(m + 4, big, sizeof(big)), 0);
                        m += 4 + sizeof(big);
                        cr_assert_eq(get_be32(m), 0);
                        m += 4;
                        cr_assert_eq(get_be32(m), 2);
                        cr_assert_eq(memcmp(m + 4, "zz", 2), 0);
                        cr_assert(ws_is_open(to->w));
                        /* Two pings, two pongs (masked from the client). */
                        cr_assert_eq(to->out.len, side == 0 ? 6 : 14);
                        cr_assert_eq(to->out.p[0], 0x8a);
                        to->out.len = 0;
                }
        }
}

/* Client masks come from the CSPRNG, drawn in bulk: across a refill every
 * frame still gets its own, never all zero. */
Test(ws, client_masks_differ_across_refills)
{
        uint8_t seen[140][4];

        open_pair(0, 0);
        cli.out.len = 0;
        for (int i = 0; i < 140; i++) {
                size_t at = cli.out.len;
                cr_assert_eq(ws_send(cli.w, (const uint8_t *)"m", 1), 0);
                cr_assert_eq(cli.out.len - at, 2 + 4 + 1);
                cr_assert_eq(cli.out.p[at + 1], 0x81, "masked, length 1");
                memcpy(seen[i], cli.out.p + at + 2, 4);
                cr_assert_eq(cli.out.p[at + 6] ^ seen[i][0], 'm');
        }
        unsigned zero = 0, same = 0;
        for (int i = 0; i < 140; i++) {
                zero += !memcmp(seen[i], "\0\0\0\0", 4);
                same += i && !memcmp(seen[i], seen[i - 1], 4);
        }
        cr_assert_lt(zero + same, 2, "%u zero masks, %u repeated", zero, same);
        pump();
        cr_assert_eq(srv.nmsgs, 140);
}

/* An empty message, given as NULL, goes both ways (found by fuzzing:
 * memcpy from NULL). */
Test(ws, empty_message_from_null)
{
        open_pair(0, 0);
        cr_assert_eq(ws_send(srv.w, NULL, 0), 0);
        cr_assert_eq(ws_send(cli.w, NULL, 0), 0);
        pump();
        cr_assert_eq(cli.nmsgs, 1);
        cr_assert_eq(srv.nmsgs, 1);
        cr_assert_eq(get_be32(cli.msgs.p), 0);
        cr_assert_eq(get_be32(srv.msgs.p), 0);
}

/* A frame of ours goes out only after what wslay has queued before it. */
Test(ws, own_frames_keep_order_behind_wslay_queue)
{
        uint8_t m[3000];
        size_t want[3] = {10, 3000, 1};

        open_pair(0, 0);
        fill(m, 10, 40);
        cr_assert_eq(ws_ping(cli.w, 77), 0);
        cli.emit_rc = -EAGAIN; /* the ping stays in wslay's queue */
        cr_assert_eq(ws_ping(cli.w, 78), 0);
        cr_assert_eq(ws_send(cli.w, m, 10), 0);
        fill(m, 3000, 41);
        cr_assert_eq(ws_send(cli.w, m, 3000), 0);
        cli.emit_rc = 0;
        cr_assert_eq(ws_flush(cli.w), 0);
        fill(m, 1, 42);
        cr_assert_eq(ws_send(cli.w, m, 1), 0);
        pump();
        expect_msgs(&srv, want, 3, 40);
        cr_assert_eq(cli.pongs, 2);
        cr_assert_eq(cli.pong_token, 78, "the pongs came back in order");
}

/* --- construction -------------------------------------------------------- */

Test(ws, client_conf_validation)
{
        static const char *const ok_headers[] = {"X-Trace: 1", "Cookie: a=b; c=d", NULL};
        static const char *const bad_headers[][2] = {
            {"Upgrade: h2c", NULL},      {"sec-websocket-extensions: x", NULL},
            {"Bad Name: x", NULL},       {"NoColon", NULL},
            {"X: a\r\nHost: b", NULL},   {": x", NULL},
            {"Connection: close", NULL}, {"Host: evil", NULL},
        };
        struct ws_conf c = {.host = "h", .path = "/p"};
        struct ws *w = NULL;
        struct http1_head *h = malloc(sizeof(*h));
        size_t used;

        c.path = "p";
        cr_assert_eq(ws_client_new(&w, &c, &events, &cli), -EINVAL);
        c.path = "/p q";
        cr_assert_eq(ws_client_new(&w, &c, &events, &cli), -EINVAL);
        c.path = "/p";
        c.host = "h\r\nX: y";
        cr_assert_eq(ws_client_new(&w, &c, &events, &cli), -EINVAL);
        c.host = NULL;
        cr_assert_eq(ws_client_new(&w, &c, &events, &cli), -EINVAL);
        c.host = "h";
        c.user_agent = "ua\n";
        cr_assert_eq(ws_client_new(&w, &c, &events, &cli), -EINVAL);
        c.user_agent = NULL;
        for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
                c.headers = bad_headers[i];
                cr_assert_eq(ws_client_new(&w, &c, &events, &cli), -EINVAL, "%s",
                             bad_headers[i][0]);
                cr_assert_null(w);
        }
        c.headers = ok_headers;
        cr_assert_eq(ws_client_new(&w, &c, &events, &cli), 0);
        cr_assert_eq(ws_client_start(w), 0);
        http1_init(h, HTTP1_REQUEST);
        cr_assert_eq(http1_feed(h, cli.out.p, cli.out.len, &used), 1);
        cr_assert_str_eq(http1_header(h, "x-trace"), "1");
        cr_assert_str_eq(http1_header(h, "cookie"), "a=b; c=d");
        cr_assert_null(http1_header(h, "user-agent"));
        ws_free(w);
        free(h);
        cr_assert_eq(ws_server_new(&w, &c, &(struct ws_events){0}, NULL), -EINVAL, "emit needed");
        ws_free(NULL);
}
