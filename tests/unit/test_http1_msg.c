/* test_http1_msg: whole HTTP/1.1 messages (transport/http1_msg.h): bodies
 * framed by Content-Length, chunked coding and connection close, split at
 * every point and fed one byte at a time; pipelined messages left alone;
 * the early 413 from the head alone; malformed chunks; Transfer-Encoding
 * other than chunked; responses that never have a body; truncation; the
 * body buffer's ownership; sticky errors and their statuses. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/http1_msg.h"

static struct http1_msg msg; /* ~9 KiB: static, not on the stack */

static void teardown(void)
{
        http1_msg_free(&msg);
}

TestSuite(http1_msg, .fini = teardown);

/* Feeds s[0, n) in pieces of <step> bytes (0: whole) until the message
 * completes or fails; returns the result and sets *used to the bytes the
 * parser took. Every piece is checked against the consumed contract. */
static int feed_steps(const char *s, size_t n, size_t step, size_t *used)
{
        size_t off = 0;
        int rc = 0;

        *used = 0;
        do {
                size_t k = step == 0 || step > n - off ? n - off : step, c = 12345;

                rc = http1_msg_feed(&msg, (const uint8_t *)s + off, k, &c);
                cr_assert_leq(c, k);
                if (rc == 0)
                        cr_assert_eq(c, k, "needs more, yet left %zu of %zu bytes", k - c, k);
                if (rc < 0)
                        cr_assert_eq(c, 0);
                *used += c;
                off += k;
        } while (off < n && rc == 0);
        return rc;
}

static int feed_whole(const char *s, size_t *used)
{
        return feed_steps(s, strlen(s), 0, used);
}

static void start(enum http1_kind kind, size_t max_body)
{
        http1_msg_free(&msg);
        http1_msg_init(&msg, kind, max_body);
}

static void assert_body(const char *want)
{
        size_t len;
        const uint8_t *b = http1_msg_body(&msg, &len);

        cr_assert_eq(len, strlen(want), "body is %zu bytes, want %zu", len, strlen(want));
        cr_assert_eq(memcmp(b, want, len), 0, "body differs");
}

static const char cl_req[] = "POST /tunnel HTTP/1.1\r\n"
                             "Host: exit.example\r\n"
                             "Content-Length: 11\r\n"
                             "\r\n"
                             "hello world";

Test(http1_msg, content_length_every_split_point)
{
        char buf[256];
        size_t n, ml = strlen(cl_req);

        snprintf(buf, sizeof(buf), "%sGET / HTTP/1.1\r\n", cl_req);
        n = strlen(buf);
        for (size_t cut = 0; cut <= n; cut++) {
                size_t a, b = 0;
                int rc;

                start(HTTP1_REQUEST, 1024);
                rc = http1_msg_feed(&msg, (const uint8_t *)buf, cut, &a);
                cr_assert_eq(rc, cut >= ml ? 1 : 0, "cut at %zu: %d", cut, rc);
                if (rc == 0) {
                        cr_assert_eq(a, cut);
                        rc = http1_msg_feed(&msg, (const uint8_t *)buf + cut, n - cut, &b);
                }
                cr_assert_eq(rc, 1, "cut at %zu", cut);
                cr_assert_eq(a + b, ml, "cut at %zu: consumed %zu", cut, a + b);
                cr_assert(http1_msg_head_done(&msg));
                cr_assert_eq(http1_msg_framing(&msg), HTTP1_MSG_LENGTH);
                cr_assert_str_eq(http1_target(http1_msg_head(&msg)), "/tunnel");
                assert_body("hello world");
        }
}

Test(http1_msg, content_length_one_byte_at_a_time)
{
        size_t used;

        start(HTTP1_REQUEST, 11);
        cr_assert_eq(feed_steps(cl_req, strlen(cl_req), 1, &used), 1);
        cr_assert_eq(used, strlen(cl_req));
        assert_body("hello world");
        /* Exactly Content-Length, allocated at once. */
        cr_assert_eq(msg.cap, 11);
}

Test(http1_msg, head_done_while_the_body_arrives)
{
        size_t used, hl = strlen(cl_req) - 11;

        start(HTTP1_REQUEST, 1024);
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)cl_req, hl - 1, &used), 0);
        cr_assert_not(http1_msg_head_done(&msg));
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)cl_req + hl - 1, 6, &used), 0);
        cr_assert_eq(used, 6);
        cr_assert(http1_msg_head_done(&msg));
        assert_body("hello");
        cr_assert_str_eq(http1_header(http1_msg_head(&msg), "host"), "exit.example");
}

Test(http1_msg, pipelined_request_untouched_then_parsed_after_reset)
{
        static const char two[] = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                                  "POST /b HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n"
                                  "\r\n4\r\nwxyz\r\n0\r\n\r\n"
                                  "GET /c HTTP/1.1\r\nHost: c\r\n\r\n"
                                  "GET /d";
        size_t n = strlen(two), off = 0, used;
        const uint8_t *buf;

        start(HTTP1_REQUEST, 1024);
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)two, n, &used), 1);
        cr_assert_eq(memcmp(two + used, "POST /b", 7), 0, "consumed %zu", used);
        assert_body("abc");
        /* Complete: takes nothing more until reset. */
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)two + used, n - used, &off), 1);
        cr_assert_eq(off, 0);
        buf = msg.body;
        off = used;

        http1_msg_reset(&msg);
        cr_assert_eq(msg.body, buf, "the buffer is kept across reset");
        cr_assert_eq(msg.cap, 3);
        cr_assert_not(http1_msg_head_done(&msg));
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)two + off, n - off, &used), 1);
        off += used;
        cr_assert_eq(memcmp(two + off, "GET /c", 6), 0);
        cr_assert_str_eq(http1_target(http1_msg_head(&msg)), "/b");
        cr_assert_eq(http1_msg_framing(&msg), HTTP1_MSG_CHUNKED);
        assert_body("wxyz");

        http1_msg_reset(&msg);
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)two + off, n - off, &used), 1);
        off += used;
        cr_assert_str_eq(two + off, "GET /d");
        cr_assert_eq(http1_msg_framing(&msg), HTTP1_MSG_NONE);
        assert_body("");

        http1_msg_reset(&msg);
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)two + off, n - off, &used), 0);
        cr_assert_eq(used, n - off);
}

Test(http1_msg, early_413_from_the_head_alone)
{
        static const char h[] = "POST /tunnel HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n";
        size_t used, len;

        for (size_t step = 0; step < 2; step++) {
                start(HTTP1_REQUEST, 1024);
                cr_assert_eq(feed_steps(h, strlen(h), step, &used), HTTP1_MSG_ETOOBIG);
                cr_assert(http1_msg_head_done(&msg));
                cr_assert_str_eq(http1_method(http1_msg_head(&msg)), "POST");
                cr_assert_str_eq(http1_target(http1_msg_head(&msg)), "/tunnel");
                cr_assert_eq(http1_msg_framing(&msg), HTTP1_MSG_LENGTH);
                cr_assert_eq(http1_msg_error_status(HTTP1_MSG_ETOOBIG), 413);
                /* Nothing was allocated for a body that will not come. */
                cr_assert_null(http1_msg_take_body(&msg, &len));
                cr_assert_eq(len, 0);
                /* Sticky. */
                cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)"x", 1, &used),
                             HTTP1_MSG_ETOOBIG);
                cr_assert_eq(used, 0);
                cr_assert_eq(http1_msg_eof(&msg), HTTP1_MSG_ETOOBIG);
        }
        /* Exactly at the limit passes; a limit of 0 takes only empty bodies. */
        start(HTTP1_REQUEST, 1025);
        cr_assert_eq(feed_whole(h, &used), 0);
        start(HTTP1_REQUEST, 0);
        cr_assert_eq(feed_whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &used),
                     1);
        cr_assert_eq(feed_whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n", &used),
                     1, "complete is sticky, even across a new head");
        http1_msg_reset(&msg);
        cr_assert_eq(feed_whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n", &used),
                     HTTP1_MSG_ETOOBIG);
}

Test(http1_msg, response_over_the_cap_too)
{
        size_t used;

        start(HTTP1_RESPONSE, 4);
        cr_assert_eq(feed_whole("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", &used),
                     HTTP1_MSG_ETOOBIG);
        cr_assert(http1_msg_head_done(&msg));
        cr_assert_eq(http1_status(http1_msg_head(&msg)), 200);
}

static const char chunked_req[] = "POST /tunnel HTTP/1.1\r\n"
                                  "Host: a\r\n"
                                  "Transfer-Encoding: Chunked \r\n"
                                  "\r\n"
                                  "5;name=value;q=\"x y\"\r\n"
                                  "hello\r\n"
                                  "1a ; ext\r\n"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
                                  "000001\r\n"
                                  "!\r\n"
                                  "0;last=1\r\n"
                                  "X-Checksum: abc\r\n"
                                  "Empty:\r\n"
                                  "\r\n";

static const char chunked_body[] = "helloABCDEFGHIJKLMNOPQRSTUVWXYZ!";

Test(http1_msg, chunked_with_extensions_and_trailers_bytewise)
{
        char buf[512];
        size_t n, ml = strlen(chunked_req);

        snprintf(buf, sizeof(buf), "%sGET / HTTP/1.1\r\n", chunked_req);
        n = strlen(buf);
        for (size_t step = 0; step <= 7; step++) {
                size_t used, more;

                start(HTTP1_REQUEST, 1024);
                cr_assert_eq(feed_steps(buf, n, step, &used), 1, "step %zu", step);
                cr_assert_eq(used, ml, "step %zu: consumed %zu of %zu", step, used, ml);
                cr_assert_eq(http1_msg_framing(&msg), HTTP1_MSG_CHUNKED);
                assert_body(chunked_body);
                cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)buf + ml, n - ml, &more), 1);
                cr_assert_eq(more, 0);
        }
}

Test(http1_msg, chunked_every_split_point)
{
        size_t n = strlen(chunked_req);

        for (size_t cut = 0; cut <= n; cut++) {
                size_t a, b = 0;
                int rc;

                start(HTTP1_REQUEST, 1024);
                rc = http1_msg_feed(&msg, (const uint8_t *)chunked_req, cut, &a);
                cr_assert_eq(rc, cut == n ? 1 : 0, "cut at %zu: %d", cut, rc);
                if (rc == 0)
                        rc = http1_msg_feed(&msg, (const uint8_t *)chunked_req + cut, n - cut, &b);
                cr_assert_eq(rc, 1, "cut at %zu: %d (%s)", cut, rc, http1_msg_strerror(rc));
                cr_assert_eq(a + b, n, "cut at %zu", cut);
                assert_body(chunked_body);
        }
}

Test(http1_msg, chunked_response_and_growth)
{
        static const char h[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        const size_t total = 100 * 1024, chunk = 1000;
        char *s = malloc(strlen(h) + total + total / chunk * 16 + 64), *p = s;
        size_t used, len, off = 0;
        const uint8_t *body;

        p += sprintf(p, "%s", h);
        while (off < total) {
                size_t k = total - off < chunk ? total - off : chunk;

                p += sprintf(p, "%zx\r\n", k);
                for (size_t i = 0; i < k; i++)
                        *p++ = (char)('a' + (off + i) % 26);
                p += sprintf(p, "\r\n");
                off += k;
        }
        p += sprintf(p, "0\r\n\r\n");

        start(HTTP1_RESPONSE, total);
        cr_assert_eq(feed_steps(s, (size_t)(p - s), 4099, &used), 1);
        cr_assert_eq(used, (size_t)(p - s));
        body = http1_msg_body(&msg, &len);
        cr_assert_eq(len, total);
        for (size_t i = 0; i < total; i++)
                cr_assert_eq(body[i], 'a' + i % 26, "byte %zu", i);
        /* 16, 32, 64 KiB, then 128 KiB held to max_body. */
        cr_assert_eq(msg.cap, total, "the buffer never grows past max_body");

        /* One byte over the cap fails at the size line that passes it. */
        start(HTTP1_RESPONSE, total - 1);
        cr_assert_eq(feed_steps(s, (size_t)(p - s), 4099, &used), HTTP1_MSG_ETOOBIG);
        free(s);
}

/* The buffer starts at 16 KiB (or max_body if smaller) and doubles. */
Test(http1_msg, buffer_growth)
{
        static const char r[] = "HTTP/1.1 200 OK\r\n\r\nhello";
        char *more = malloc(60000);
        size_t used;

        memset(more, 'm', 60000);
        start(HTTP1_RESPONSE, 1u << 20);
        cr_assert_eq(feed_whole(r, &used), 0);
        cr_assert_eq(msg.cap, 16384);
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)more, 16384 - 5, &used), 0);
        cr_assert_eq(msg.cap, 16384);
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)more, 1, &used), 0);
        cr_assert_eq(msg.cap, 32768);
        /* A piece bigger than doubling gives is taken whole. */
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)more, 60000, &used), 0);
        cr_assert_eq(msg.cap, 16385 + 60000);
        cr_assert_eq(http1_msg_eof(&msg), 1);
        cr_assert_eq(http1_msg_body(&msg, &used)[16384], 'm');
        cr_assert_eq(used, 16385 + 60000);

        start(HTTP1_RESPONSE, 100);
        cr_assert_eq(feed_whole(r, &used), 0);
        cr_assert_eq(msg.cap, 100);
        free(more);
}

Test(http1_msg, chunked_over_the_cap)
{
        static const char h[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        char buf[256];
        size_t used;

        /* 10 bytes fit exactly. */
        snprintf(buf, sizeof(buf), "%s5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", h);
        start(HTTP1_REQUEST, 10);
        cr_assert_eq(feed_whole(buf, &used), 1);
        assert_body("helloworld");

        /* The size line of the chunk that would pass the cap is enough. */
        for (size_t step = 0; step < 2; step++) {
                snprintf(buf, sizeof(buf), "%s5\r\nhello\r\n6\r\n", h);
                start(HTTP1_REQUEST, 10);
                cr_assert_eq(feed_steps(buf, strlen(buf), step, &used), HTTP1_MSG_ETOOBIG);
                cr_assert_eq(http1_msg_error_status(HTTP1_MSG_ETOOBIG), 413);

                /* 16 hex digits parse, and are far over. */
                snprintf(buf, sizeof(buf), "%sffffffffffffffff\r\n", h);
                start(HTTP1_REQUEST, 10);
                cr_assert_eq(feed_steps(buf, strlen(buf), step, &used), HTTP1_MSG_ETOOBIG);
        }
}

struct bad {
        const char *body; /* after a chunked request head */
        int err;
};

static const struct bad bad_chunks[] = {
    {"zz\r\n", HTTP1_MSG_ECHUNK},
    {"\r\n", HTTP1_MSG_ECHUNK},
    {";ext\r\n", HTTP1_MSG_ECHUNK},
    {"-1\r\n", HTTP1_MSG_ECHUNK},
    {"+1\r\n", HTTP1_MSG_ECHUNK},
    {"0x5\r\n", HTTP1_MSG_ECHUNK},
    {" 5\r\n", HTTP1_MSG_ECHUNK},
    {"5 \r\n", HTTP1_MSG_ECHUNK},
    {"5 x\r\n", HTTP1_MSG_ECHUNK},
    {"10000000000000000\r\n", HTTP1_MSG_ECHUNK}, /* 17 significant digits */
    {"3\r\nabcX\r\n", HTTP1_MSG_ECHUNK},         /* no CRLF after the data */
    {"3\r\nabc\rX", HTTP1_MSG_ECHUNK},
    {"3\r\nabcd\r\n0\r\n\r\n", HTTP1_MSG_ECHUNK}, /* more data than announced */
    {"3\nabc\r\n0\r\n\r\n", HTTP1_MSG_ECHUNK},    /* bare LF, size line */
    {"3;a=b\nabc\r\n", HTTP1_MSG_ECHUNK},         /* bare LF after an extension */
    {"3\r\nabc\n0\r\n\r\n", HTTP1_MSG_ECHUNK},    /* bare LF after data */
    {"3\r\r\nabc\r\n", HTTP1_MSG_ECHUNK},
    {"3;a\x01\r\nabc\r\n", HTTP1_MSG_ECHUNK}, /* control character in an extension */
    {"0\r\n\n", HTTP1_MSG_ECHUNK},            /* bare LF, final line */
    {"0\r\nA: b\n\r\n", HTTP1_MSG_ECHUNK},    /* bare LF, trailer line */
    {"0\r\nA: b\rx", HTTP1_MSG_ECHUNK},
    {"0\r\n\rx", HTTP1_MSG_ECHUNK},
    {"0\r\nNo colon\r\n\r\n", HTTP1_EHEADER},
    {"0\r\n: v\r\n\r\n", HTTP1_EHEADER},
    {"0\r\nA: \x7f\r\n\r\n", HTTP1_EHEADER},
    {"0\r\nA: b\r\n c\r\n\r\n", HTTP1_EFOLD},
};

Test(http1_msg, bad_chunks_whole_and_bytewise)
{
        static const char h[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        char buf[256];

        for (size_t i = 0; i < sizeof(bad_chunks) / sizeof(bad_chunks[0]); i++) {
                const struct bad *b = &bad_chunks[i];

                snprintf(buf, sizeof(buf), "%s%s", h, b->body);
                for (size_t step = 0; step < 2; step++) {
                        size_t used;
                        int rc;

                        start(HTTP1_REQUEST, 1024);
                        rc = feed_steps(buf, strlen(buf), step, &used);
                        cr_assert_eq(rc, b->err, "case %zu step %zu: got %d (%s), want %s", i, step,
                                     rc, http1_msg_strerror(rc), http1_msg_strerror(b->err));
                        cr_assert_eq(http1_msg_error_status(rc), 400);
                        /* Sticky, for feed and eof alike. */
                        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)"0\r\n\r\n", 5, &used),
                                     b->err);
                        cr_assert_eq(used, 0);
                        cr_assert_eq(http1_msg_eof(&msg), b->err);
                }
        }
}

Test(http1_msg, leading_zeros_are_not_significant)
{
        static const char s[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "000000000000000000000003\r\nabc\r\n0000\r\n\r\n";
        size_t used;

        start(HTTP1_REQUEST, 1024);
        cr_assert_eq(feed_whole(s, &used), 1);
        assert_body("abc");
}

/* A trailer section (with the last size line) or a size line over
 * HTTP1_HEAD_MAX: 431, like a head that size. */
Test(http1_msg, size_line_and_trailer_limits)
{
        static const char h[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        size_t hl = strlen(h), cap = hl + HTTP1_HEAD_MAX + 64, used;
        char *s = malloc(cap);

        for (int over = 0; over < 2; over++) {
                /* "1;xxx...\r\n" of HTTP1_HEAD_MAX (+1) bytes, then "a\r\n0\r\n\r\n". */
                size_t line = HTTP1_HEAD_MAX + (size_t)over;

                memcpy(s, h, hl);
                memcpy(s + hl, "1;", 2);
                memset(s + hl + 2, 'x', line - 4);
                memcpy(s + hl + line - 2, "\r\na\r\n0\r\n\r\n", 11);
                start(HTTP1_REQUEST, 1024);
                cr_assert_eq(feed_whole(s, &used), over ? HTTP1_EHEADTOOBIG : 1, "over %d", over);

                /* "0\r\n" + "X: yyy...\r\n" + "\r\n" of HTTP1_HEAD_MAX (+1). */
                memcpy(s + hl, "0\r\nX: ", 6);
                memset(s + hl + 6, 'y', line - 10);
                memcpy(s + hl + line - 4, "\r\n\r\n", 5);
                start(HTTP1_REQUEST, 1024);
                cr_assert_eq(feed_steps(s, strlen(s), 1, &used), over ? HTTP1_EHEADTOOBIG : 1,
                             "over %d", over);
                if (!over)
                        cr_assert_eq(used, hl + HTTP1_HEAD_MAX);
        }
        cr_assert_eq(http1_msg_error_status(HTTP1_EHEADTOOBIG), 431);
        free(s);
}

Test(http1_msg, transfer_encoding_other_than_chunked_is_501)
{
        static const char *const te[] = {
            "Transfer-Encoding: gzip\r\n",
            "Transfer-Encoding: gzip, chunked\r\n",
            "Transfer-Encoding: chunked, chunked\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunkedx\r\n",
            "Transfer-Encoding:\r\n",
            "Transfer-Encoding: identity\r\n",
        };
        char buf[256];
        size_t used;

        for (size_t i = 0; i < sizeof(te) / sizeof(te[0]); i++) {
                for (int kind = 0; kind < 2; kind++) {
                        if (kind == 0)
                                snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nHost: a\r\n%s\r\n",
                                         te[i]);
                        else
                                snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n%s\r\n", te[i]);
                        start(kind ? HTTP1_RESPONSE : HTTP1_REQUEST, 1024);
                        cr_assert_eq(feed_whole(buf, &used), HTTP1_MSG_ETE, "case %zu kind %d", i,
                                     kind);
                        cr_assert(http1_msg_head_done(&msg));
                }
        }
        cr_assert_eq(http1_msg_error_status(HTTP1_MSG_ETE), 501);
}

Test(http1_msg, responses_without_a_body)
{
        static const char *const r[] = {
            "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
            "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 100 Continue\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
            "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
        };
        char buf[256];
        size_t used;

        for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
                snprintf(buf, sizeof(buf), "%shello", r[i]);
                start(HTTP1_RESPONSE, 1024);
                cr_assert_eq(feed_whole(buf, &used), 1, "case %zu", i);
                cr_assert_eq(used, strlen(r[i]), "case %zu", i);
                cr_assert_eq(http1_msg_framing(&msg), HTTP1_MSG_NONE);
                assert_body("");
                cr_assert_eq(http1_msg_eof(&msg), 1);
        }
}

Test(http1_msg, interim_then_final_response)
{
        static const char s[] = "HTTP/1.1 100 Continue\r\n\r\n"
                                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        size_t used, more;

        start(HTTP1_RESPONSE, 1024);
        cr_assert_eq(feed_whole(s, &used), 1);
        cr_assert_eq(http1_status(http1_msg_head(&msg)), 100);
        http1_msg_reset(&msg);
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)s + used, strlen(s) - used, &more), 1);
        cr_assert_eq(used + more, strlen(s));
        cr_assert_eq(http1_status(http1_msg_head(&msg)), 200);
        assert_body("ok");
}

Test(http1_msg, answer_to_head_has_no_body)
{
        static const char r[] = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
        static const char g[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        size_t used;

        start(HTTP1_RESPONSE, 16);
        http1_msg_expect_no_body(&msg);
        cr_assert_eq(feed_whole(r, &used), 1, "1234 > max_body does not matter");
        cr_assert_eq(used, strlen(r));
        cr_assert_eq(http1_msg_framing(&msg), HTTP1_MSG_NONE);
        assert_body("");

        /* Nor does a coding we would refuse. */
        http1_msg_reset(&msg);
        http1_msg_expect_no_body(&msg);
        cr_assert_eq(feed_whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", &used), 1);

        /* Reset forgets it: the next response has its body. */
        http1_msg_reset(&msg);
        cr_assert_eq(feed_whole(g, &used), 1);
        cr_assert_eq(used, strlen(g));
        assert_body("abc");
}

Test(http1_msg, response_until_close)
{
        static const char r[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                                "all of this\r\n\r\nis body";
        size_t used, len;

        for (size_t step = 0; step < 4; step++) {
                start(HTTP1_RESPONSE, 1024);
                cr_assert_eq(feed_steps(r, strlen(r), step, &used), 0);
                cr_assert_eq(used, strlen(r));
                cr_assert_eq(http1_msg_framing(&msg), HTTP1_MSG_CLOSE);
                cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)"", 0, &used), 0);
                cr_assert_eq(http1_msg_eof(&msg), 1);
                assert_body("all of this\r\n\r\nis body");
                cr_assert_eq(http1_msg_eof(&msg), 1);
                cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)"x", 1, &used), 1);
                cr_assert_eq(used, 0);
        }
        /* An empty body until close is a body too. */
        start(HTTP1_RESPONSE, 1024);
        cr_assert_eq(feed_whole("HTTP/1.1 200 OK\r\n\r\n", &used), 0);
        cr_assert_eq(http1_msg_eof(&msg), 1);
        http1_msg_body(&msg, &len);
        cr_assert_eq(len, 0);

        /* Past max_body: refused as the byte that passes it arrives. */
        start(HTTP1_RESPONSE, 10);
        cr_assert_eq(feed_whole("HTTP/1.1 200 OK\r\n\r\n0123456789", &used), 0);
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)"x", 1, &used), HTTP1_MSG_ETOOBIG);
        cr_assert_eq(http1_msg_eof(&msg), HTTP1_MSG_ETOOBIG);
}

Test(http1_msg, eof_inside_a_message_is_truncation)
{
        static const char *const cut[] = {
            "",
            "POST / HTTP/1.1\r\nHost: a\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhell",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
        };
        size_t used;

        for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
                start(HTTP1_REQUEST, 1024);
                cr_assert_eq(feed_whole(cut[i], &used), 0, "case %zu", i);
                cr_assert_eq(http1_msg_eof(&msg), HTTP1_MSG_ETRUNCATED, "case %zu", i);
                cr_assert_eq(http1_msg_eof(&msg), HTTP1_MSG_ETRUNCATED);
                cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)"hello", 5, &used),
                             HTTP1_MSG_ETRUNCATED);
                cr_assert_eq(used, 0);
        }
        /* A response framed by length is truncated too, not closed. */
        start(HTTP1_RESPONSE, 1024);
        cr_assert_eq(feed_whole("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", &used), 0);
        cr_assert_eq(http1_msg_eof(&msg), HTTP1_MSG_ETRUNCATED);
        cr_assert_eq(http1_msg_error_status(HTTP1_MSG_ETRUNCATED), 400);
}

Test(http1_msg, request_without_length_has_an_empty_body)
{
        static const char s[] = "POST /tunnel HTTP/1.1\r\nHost: a\r\n\r\nGET";
        size_t used;

        start(HTTP1_REQUEST, 1024);
        cr_assert_eq(feed_whole(s, &used), 1);
        cr_assert_eq(used, strlen(s) - 3);
        cr_assert_eq(http1_msg_framing(&msg), HTTP1_MSG_NONE);
        assert_body("");
        cr_assert_eq(http1_msg_eof(&msg), 1);

        start(HTTP1_REQUEST, 1024);
        cr_assert_eq(feed_whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\nX", &used),
                     1);
        cr_assert_eq(http1_msg_framing(&msg), HTTP1_MSG_LENGTH);
        assert_body("");
}

Test(http1_msg, take_body_hands_over_the_buffer)
{
        size_t used, len;
        uint8_t *mine;

        start(HTTP1_REQUEST, 1024);
        cr_assert_eq(feed_whole(cl_req, &used), 1);
        mine = http1_msg_take_body(&msg, &len);
        cr_assert_not_null(mine);
        cr_assert_eq(len, 11);
        cr_assert_eq(memcmp(mine, "hello world", 11), 0);
        /* <msg> has none left: the body reads empty, free does nothing. */
        http1_msg_body(&msg, &len);
        cr_assert_eq(len, 0);
        cr_assert_null(http1_msg_take_body(&msg, &len));

        /* The next message gets a buffer of its own; ours is intact. */
        http1_msg_reset(&msg);
        cr_assert_eq(feed_whole(cl_req, &used), 1);
        cr_assert_neq(msg.body, mine);
        mine[0] = 'J';
        assert_body("hello world");
        cr_assert_eq(memcmp(mine, "Jello world", 11), 0);
        free(mine);
        http1_msg_free(&msg);
        http1_msg_free(&msg); /* twice is harmless */
}

Test(http1_msg, head_errors_are_sticky)
{
        size_t used;

        start(HTTP1_REQUEST, 1024);
        cr_assert_eq(feed_whole("BREW / HTCPCP/1.0\r\n\r\n", &used), HTTP1_EMETHOD);
        cr_assert_not(http1_msg_head_done(&msg));
        cr_assert_eq(http1_msg_feed(&msg, (const uint8_t *)cl_req, strlen(cl_req), &used),
                     HTTP1_EMETHOD);
        cr_assert_eq(used, 0);
        cr_assert_eq(http1_msg_eof(&msg), HTTP1_EMETHOD);
        cr_assert_eq(http1_msg_error_status(HTTP1_EMETHOD), 400);
        /* Reset clears it. */
        http1_msg_reset(&msg);
        cr_assert_eq(feed_whole(cl_req, &used), 1);

        start(HTTP1_REQUEST, 1024);
        cr_assert_eq(feed_whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n",
                                &used),
                     HTTP1_ECLTE);
}

Test(http1_msg, strings_and_statuses)
{
        static const int own[] = {HTTP1_MSG_ETOOBIG, HTTP1_MSG_ECHUNK, HTTP1_MSG_ETE,
                                  HTTP1_MSG_ETRUNCATED};
        static const int status[] = {413, 400, 501, 400};

        for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
                cr_assert_eq(http1_msg_error_status(own[i]), status[i]);
                cr_assert_str_neq(http1_msg_strerror(own[i]), "unknown error");
                cr_assert_str_neq(http1_msg_strerror(own[i]), http1_msg_strerror(-4699));
        }
        cr_assert_str_eq(http1_msg_strerror(HTTP1_ECLTE), http1_strerror(HTTP1_ECLTE));
        cr_assert_str_eq(http1_msg_strerror(HTTP1_EHEADTOOBIG), http1_strerror(HTTP1_EHEADTOOBIG));
        cr_assert_str_eq(http1_msg_strerror(-EIO), strerror(EIO));
        cr_assert_str_eq(http1_msg_strerror(-ENOMEM), "out of memory");
        cr_assert_str_eq(http1_msg_strerror(0), "success");
        cr_assert_eq(http1_msg_error_status(HTTP1_ELINETOOBIG), 414);
        cr_assert_eq(http1_msg_error_status(HTTP1_ETOOMANY), 431);
        cr_assert_eq(http1_msg_error_status(0), 0);
        cr_assert_eq(http1_msg_error_status(1), 0);
}
