/* test_http1: the HTTP/1.1 head parser (transport/http1.h): requests and
 * responses whole, one byte at a time and split at every point; header
 * lookup and token lists; the head never eats the body; every limit and
 * smuggling rule with its status; garbage that is not HTTP. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/http1.h"

static struct http1_head head; /* ~9 KiB: static, not on the stack */

/* Feeds s whole; returns the result and sets *used. */
static int feed_whole(enum http1_kind kind, const char *s, size_t n, size_t *used)
{
        http1_init(&head, kind);
        return http1_feed(&head, (const uint8_t *)s, n, used);
}

/* Feeds s one byte at a time until the head completes or fails; returns
 * the result and sets *used to the bytes the parser took. */
static int feed_bytes(enum http1_kind kind, const char *s, size_t n, size_t *used)
{
        int rc = 0;

        http1_init(&head, kind);
        *used = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
                size_t c;

                rc = http1_feed(&head, (const uint8_t *)s + i, 1, &c);
                cr_assert(c <= 1);
                *used += c;
        }
        return rc;
}

static int req(const char *s)
{
        size_t used;

        return feed_whole(HTTP1_REQUEST, s, strlen(s), &used);
}

static int resp(const char *s)
{
        size_t used;

        return feed_whole(HTTP1_RESPONSE, s, strlen(s), &used);
}

static const char upgrade_req[] = "GET /stream?x=1 HTTP/1.1\r\n"
                                  "Host: front.example:443\r\n"
                                  "upgrade: websocket\r\n"
                                  "Connection: keep-alive, Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Sec-WebSocket-Version: 13\r\n"
                                  "\r\n";

static void check_upgrade_req(void)
{
        cr_assert_str_eq(http1_method(&head), "GET");
        cr_assert_str_eq(http1_target(&head), "/stream?x=1");
        cr_assert_eq(http1_status(&head), 0);
        cr_assert_null(http1_reason(&head));
        cr_assert_eq(http1_version_minor(&head), 1);
        cr_assert_str_eq(http1_header(&head, "HOST"), "front.example:443");
        cr_assert_str_eq(http1_header(&head, "Upgrade"), "websocket");
        cr_assert_str_eq(http1_header(&head, "sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
        cr_assert_str_eq(http1_header(&head, "Sec-WebSocket-Version"), "13");
        cr_assert_null(http1_header(&head, "Sec-WebSocket-Accept"));
        cr_assert(http1_header_has_token(&head, "connection", "upgrade"));
        cr_assert(http1_header_has_token(&head, "Connection", "KEEP-ALIVE"));
        cr_assert_not(http1_header_has_token(&head, "Connection", "close"));
        cr_assert(http1_keep_alive(&head));
}

Test(http1, request_whole_leaves_the_rest)
{
        char buf[512];
        size_t hl = strlen(upgrade_req), used;

        snprintf(buf, sizeof(buf), "%s%s", upgrade_req, "\x81\x05hello");
        cr_assert_eq(feed_whole(HTTP1_REQUEST, buf, strlen(buf), &used), 1);
        cr_assert_eq(used, hl, "consumed %zu, head is %zu", used, hl);
        check_upgrade_req();
        /* Complete is sticky and takes nothing more. */
        cr_assert_eq(http1_feed(&head, (const uint8_t *)"GET", 3, &used), 1);
        cr_assert_eq(used, 0);
        cr_assert_eq(http1_state(&head), 1);
}

Test(http1, request_one_byte_at_a_time)
{
        char buf[512];
        size_t hl = strlen(upgrade_req), used;

        snprintf(buf, sizeof(buf), "%sBODYBODY", upgrade_req);
        cr_assert_eq(feed_bytes(HTTP1_REQUEST, buf, strlen(buf), &used), 1);
        cr_assert_eq(used, hl);
        check_upgrade_req();
}

Test(http1, every_split_point_gives_the_same_head)
{
        char buf[512];
        size_t n, hl = strlen(upgrade_req);

        snprintf(buf, sizeof(buf), "%sxyz", upgrade_req);
        n = strlen(buf);
        for (size_t cut = 0; cut <= n; cut++) {
                size_t a, b = 0;
                int rc;

                http1_init(&head, HTTP1_REQUEST);
                rc = http1_feed(&head, (const uint8_t *)buf, cut, &a);
                if (rc == 0)
                        rc = http1_feed(&head, (const uint8_t *)buf + cut, n - cut, &b);
                cr_assert_eq(rc, 1, "cut at %zu", cut);
                cr_assert_eq(a + b, hl, "cut at %zu", cut);
                check_upgrade_req();
        }
}

Test(http1, response_101_whole_and_bytewise)
{
        static const char r[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                "Upgrade: websocket\r\n"
                                "Connection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                "\r\n"
                                "\x82\x03"
                                "abc";
        size_t hl = strlen(r) - 5, used;

        for (int mode = 0; mode < 2; mode++) {
                int rc = mode ? feed_bytes(HTTP1_RESPONSE, r, strlen(r), &used)
                              : feed_whole(HTTP1_RESPONSE, r, strlen(r), &used);

                cr_assert_eq(rc, 1);
                cr_assert_eq(used, hl);
                cr_assert_eq(http1_status(&head), 101);
                cr_assert_str_eq(http1_reason(&head), "Switching Protocols");
                cr_assert_null(http1_method(&head));
                cr_assert_null(http1_target(&head));
                cr_assert_str_eq(http1_header(&head, "sec-websocket-accept"),
                                 "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        }
}

Test(http1, responses_with_bodies)
{
        uint64_t cl = 7;

        cr_assert_eq(resp("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), 1);
        cr_assert_str_eq(http1_reason(&head), "");
        cr_assert_eq(http1_content_length(&head, &cl), 0);
        cr_assert_eq(cl, 0);

        cr_assert_eq(resp("HTTP/1.1 302 Found\r\nLocation: https://x.example/a\r\n"
                          "Content-Type: text/html\r\nContent-Length: 1844674407370955161\r\n\r\n"),
                     1);
        cr_assert_eq(http1_status(&head), 302);
        cr_assert_str_eq(http1_header(&head, "location"), "https://x.example/a");
        cr_assert_str_eq(http1_header(&head, "content-type"), "text/html");
        cr_assert_eq(http1_content_length(&head, &cl), 0);
        cr_assert_eq(cl, UINT64_C(1844674407370955161));

        cr_assert_eq(resp("HTTP/1.0 429 Too Many Requests\r\nRetry-After: 120\r\n\r\n"), 1);
        cr_assert_eq(http1_status(&head), 429);
        cr_assert_eq(http1_version_minor(&head), 0);
        cr_assert_str_eq(http1_header(&head, "retry-after"), "120");
        cr_assert_eq(http1_content_length(&head, &cl), -ENOENT);
        cr_assert_not(http1_keep_alive(&head));
}

Test(http1, values_trimmed_empty_and_repeated)
{
        cr_assert_eq(req("POST /tunnel HTTP/1.1\r\nHost: a\r\nX-A: \t one two \t \r\nX-E:\r\n"
                         "X-F:   \r\nX-A: second\r\n\r\n"),
                     1);
        cr_assert_str_eq(http1_method(&head), "POST");
        cr_assert_str_eq(http1_header(&head, "x-a"), "one two");
        cr_assert_str_eq(http1_header(&head, "X-E"), "");
        cr_assert_str_eq(http1_header(&head, "X-F"), "");
        cr_assert_eq(http1_header_count(&head, "X-A"), 2);
        cr_assert_eq(http1_header_count(&head, "x-missing"), 0);
        cr_assert_null(http1_header(&head, "X"));
}

Test(http1, token_lists)
{
        cr_assert_eq(
            req("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n"
                "Connection: ,, Upgrade-Insecure ,\tUPGRADE\t\r\nUpgrade: h2c, websocket\r\n"
                "X-Empty: , ,\r\n\r\n"),
            1);
        cr_assert(http1_header_has_token(&head, "connection", "upgrade"));
        cr_assert(http1_header_has_token(&head, "connection", "keep-alive"));
        cr_assert(http1_header_has_token(&head, "connection", "upgrade-insecure"));
        cr_assert_not(http1_header_has_token(&head, "connection", "upgrad"));
        cr_assert_not(http1_header_has_token(&head, "connection", "insecure"));
        cr_assert(http1_header_has_token(&head, "upgrade", "WebSocket"));
        cr_assert_not(http1_header_has_token(&head, "x-empty", ""));
        cr_assert_not(http1_header_has_token(&head, "x-missing", "upgrade"));
}

Test(http1, keep_alive_rules)
{
        cr_assert_eq(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n"), 1);
        cr_assert_not(http1_keep_alive(&head));
        cr_assert_eq(req("GET / HTTP/1.0\r\n\r\n"), 1);
        cr_assert_not(http1_keep_alive(&head));
        cr_assert_eq(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 1);
        cr_assert(http1_keep_alive(&head));
}

Test(http1, bare_lf_and_leading_empty_lines)
{
        const char *s = "\r\n\nGET /healthz HTTP/1.1\nHost: a\n\nrest";
        size_t used;

        cr_assert_eq(feed_whole(HTTP1_REQUEST, s, strlen(s), &used), 1);
        cr_assert_eq(used, strlen(s) - 4);
        cr_assert_str_eq(http1_target(&head), "/healthz");
        cr_assert_eq(feed_bytes(HTTP1_REQUEST, s, strlen(s), &used), 1);
        cr_assert_eq(used, strlen(s) - 4);
        cr_assert_str_eq(http1_header(&head, "host"), "a");
}

/* Builds "GET <target> HTTP/1.1\r\nHost: a\r\n" + pad header + "\r\n" so
 * that the whole head is exactly <total> bytes (total >= 64). */
static char *head_of_size(size_t total)
{
        static const char pre[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
        char *s = malloc(total + 1);
        size_t pad = total - strlen(pre) - 4;

        memcpy(s, pre, strlen(pre));
        memset(s + strlen(pre), 'p', pad);
        memcpy(s + strlen(pre) + pad, "\r\n\r\n", 5);
        cr_assert_eq(strlen(s), total);
        return s;
}

Test(http1, head_size_limit_431)
{
        char *ok = head_of_size(HTTP1_HEAD_MAX), *big = head_of_size(HTTP1_HEAD_MAX + 1);
        size_t used;

        cr_assert_eq(feed_whole(HTTP1_REQUEST, ok, HTTP1_HEAD_MAX, &used), 1);
        cr_assert_eq(used, HTTP1_HEAD_MAX);
        cr_assert_eq(strlen(http1_header(&head, "x-pad")), HTTP1_HEAD_MAX - 36);
        cr_assert_eq(feed_bytes(HTTP1_REQUEST, ok, HTTP1_HEAD_MAX, &used), 1);
        cr_assert_eq(feed_whole(HTTP1_REQUEST, big, HTTP1_HEAD_MAX + 1, &used), HTTP1_EHEADTOOBIG);
        cr_assert_eq(feed_bytes(HTTP1_REQUEST, big, HTTP1_HEAD_MAX + 1, &used), HTTP1_EHEADTOOBIG);
        cr_assert_eq(http1_error_status(HTTP1_EHEADTOOBIG), 431);
        /* A head that never ends fails at the limit, not later. */
        big[HTTP1_HEAD_MAX - 3] = 'p';
        cr_assert_eq(feed_whole(HTTP1_REQUEST, big, HTTP1_HEAD_MAX, &used), 0);
        cr_assert_eq(http1_feed(&head, (const uint8_t *)"p", 1, &used), HTTP1_EHEADTOOBIG);
        free(ok);
        free(big);
}

Test(http1, request_line_limit_414)
{
        size_t n = HTTP1_HEAD_MAX + 100, used;
        char *s = malloc(n + 1);

        memcpy(s, "GET /", 5);
        memset(s + 5, 'a', n - 5);
        s[n] = '\0';
        cr_assert_eq(feed_whole(HTTP1_REQUEST, s, n, &used), HTTP1_ELINETOOBIG);
        cr_assert_eq(http1_error_status(HTTP1_ELINETOOBIG), 414);
        cr_assert_eq(feed_bytes(HTTP1_REQUEST, s, n, &used), HTTP1_ELINETOOBIG);
        /* The same length in a status line is just a head too big. */
        memcpy(s, "HTTP/1.1 200 ", 13);
        cr_assert_eq(feed_whole(HTTP1_RESPONSE, s, n, &used), HTTP1_EHEADTOOBIG);
        free(s);
}

static int req_with_headers(unsigned count)
{
        char *s = malloc(64 + count * 16);
        size_t off = (size_t)sprintf(s, "GET / HTTP/1.1\r\nHost: a\r\n");
        int rc;

        for (unsigned i = 1; i < count; i++)
                off += (size_t)sprintf(s + off, "X-%u: v\r\n", i);
        sprintf(s + off, "\r\n");
        rc = req(s);
        free(s);
        return rc;
}

Test(http1, header_count_limit_431)
{
        cr_assert_eq(req_with_headers(HTTP1_MAX_HEADERS), 1);
        cr_assert_str_eq(http1_header(&head, "X-99"), "v");
        cr_assert_eq(req_with_headers(HTTP1_MAX_HEADERS + 1), HTTP1_ETOOMANY);
        cr_assert_eq(http1_error_status(HTTP1_ETOOMANY), 431);
}

struct bad {
        enum http1_kind kind;
        const char *text;
        int err;
        size_t len; /* 0: strlen(text) */
};

static const struct bad bad_heads[] = {
    /* method, request line, version */
    {HTTP1_REQUEST, "FOO / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_EMETHOD, 0},
    {HTTP1_REQUEST, "get / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_EMETHOD, 0},
    {HTTP1_REQUEST, " GET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_EMETHOD, 0},
    {HTTP1_REQUEST, "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_ELINE, 0},
    {HTTP1_REQUEST, "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_ELINE, 0},
    {HTTP1_REQUEST, "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", HTTP1_EVERSION, 0},
    {HTTP1_REQUEST, "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_ELINE, 0},
    {HTTP1_REQUEST, "GET / HTTP/2.0\r\nHost: a\r\n\r\n", HTTP1_EVERSION, 0},
    {HTTP1_REQUEST, "GET / HTTP/1\r\nHost: a\r\n\r\n", HTTP1_EVERSION, 0},
    {HTTP1_REQUEST, "GET /\r\n\r\n", HTTP1_EVERSION, 0},
    {HTTP1_REQUEST, "GET / HTTP/1.1\rHost: a\r\n\r\n", HTTP1_ELINE, 0},
    {HTTP1_RESPONSE, "HTTP/1.1 42 Odd\r\n\r\n", HTTP1_ELINE, 0},
    {HTTP1_RESPONSE, "HTTP/1.1 2000 OK\r\n\r\n", HTTP1_ELINE, 0},
    {HTTP1_RESPONSE, "HTTP/1.1 200 O\x01K\r\n\r\n", HTTP1_ELINE, 0},
    {HTTP1_RESPONSE, "HTTP/2 200\r\n\r\n", HTTP1_EVERSION, 0},
    {HTTP1_RESPONSE, "HTTP/0.9 200 OK\r\n\r\n", HTTP1_EVERSION, 0},
    /* header lines */
    {HTTP1_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", HTTP1_EHEADER, 0},
    {HTTP1_REQUEST, "GET / HTTP/1.1\r\nHost : a\r\n\r\n", HTTP1_EHEADER, 0},
    {HTTP1_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", HTTP1_EHEADER, 0},
    {HTTP1_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01 b\r\n\r\n", HTTP1_EHEADER, 0},
    {HTTP1_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", HTTP1_EFOLD, 0},
    {HTTP1_REQUEST, "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", HTTP1_EFOLD, 0},
    {HTTP1_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\nX: a\rY: b\r\n\r\n", HTTP1_EHEADER, 0},
    /* smuggling, RFC 9112 §6.3 */
    {HTTP1_REQUEST,
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
     "Transfer-Encoding: chunked\r\n\r\n",
     HTTP1_ECLTE, 0},
    {HTTP1_REQUEST,
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
     "Content-Length: 5\r\n\r\n",
     HTTP1_ECLTE, 0},
    {HTTP1_REQUEST,
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
     "content-length: 5\r\n\r\n",
     HTTP1_ECLTE, 0},
    {HTTP1_REQUEST,
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
     "Content-Length: 6\r\n\r\n",
     HTTP1_ECLDUP, 0},
    {HTTP1_REQUEST,
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
     "Content-Length: 5\r\n\r\n",
     HTTP1_ECLDUP, 0},
    {HTTP1_REQUEST, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", HTTP1_ECL, 0},
    {HTTP1_REQUEST, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", HTTP1_ECL, 0},
    {HTTP1_REQUEST, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", HTTP1_ECL, 0},
    {HTTP1_REQUEST, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", HTTP1_ECL, 0},
    {HTTP1_REQUEST, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", HTTP1_ECL, 0},
    {HTTP1_REQUEST, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", HTTP1_ECL, 0},
    {HTTP1_REQUEST, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
     HTTP1_ECL, 0},
    {HTTP1_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n", HTTP1_ECL, 0},
    /* Host */
    {HTTP1_REQUEST, "GET / HTTP/1.1\r\n\r\n", HTTP1_EHOST, 0},
    {HTTP1_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", HTTP1_EHOST, 0},
    {HTTP1_REQUEST, "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", HTTP1_EHOST, 0},
    /* not HTTP at all */
    {HTTP1_REQUEST, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", HTTP1_EMETHOD, 11},
    {HTTP1_REQUEST, "SSH-2.0-OpenSSH_9.2\r\n", HTTP1_EMETHOD, 0},
    {HTTP1_REQUEST, "GET\x00/ HTTP/1.1\r\n", HTTP1_EMETHOD, 17},
    {HTTP1_RESPONSE, "<html><body>hi</body></html>\r\n\r\n", HTTP1_ELINE, 0},
    {HTTP1_RESPONSE, "SSH-2.0-OpenSSH_9.2\r\n", HTTP1_ELINE, 0},
};

Test(http1, every_rejection_whole_and_bytewise)
{
        for (size_t i = 0; i < sizeof(bad_heads) / sizeof(bad_heads[0]); i++) {
                const struct bad *b = &bad_heads[i];
                size_t n = b->len ? b->len : strlen(b->text), used;
                int rc;

                rc = feed_whole(b->kind, b->text, n, &used);
                cr_assert_eq(rc, b->err, "case %zu: got %d (%s), want %d (%s)", i, rc,
                             http1_strerror(rc), b->err, http1_strerror(b->err));
                cr_assert_eq(used, 0);
                rc = feed_bytes(b->kind, b->text, n, &used);
                cr_assert_eq(rc, b->err, "case %zu bytewise: got %d (%s)", i, rc,
                             http1_strerror(rc));
                cr_assert_eq(http1_error_status(rc), 400, "case %zu", i);
                /* Errors are sticky. */
                cr_assert_eq(http1_feed(&head, (const uint8_t *)"\r\n\r\n", 4, &used), b->err);
                cr_assert_eq(http1_state(&head), b->err);
        }
}

Test(http1, incomplete_needs_more)
{
        size_t used;

        cr_assert_eq(feed_whole(HTTP1_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\n\r", 26, &used), 0);
        cr_assert_eq(used, 26);
        cr_assert_eq(http1_feed(&head, (const uint8_t *)"\nX", 2, &used), 1);
        cr_assert_eq(used, 1);
        cr_assert_eq(feed_whole(HTTP1_REQUEST, "", 0, &used), 0);
        cr_assert_eq(used, 0);
}

Test(http1, reuse_for_the_next_message)
{
        static const char two[] =
            "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: b\r\n\r\n";
        size_t used, used2;

        cr_assert_eq(feed_whole(HTTP1_REQUEST, two, strlen(two), &used), 1);
        cr_assert_str_eq(http1_target(&head), "/a");
        http1_init(&head, HTTP1_REQUEST);
        cr_assert_eq(http1_feed(&head, (const uint8_t *)two + used, strlen(two) - used, &used2), 1);
        cr_assert_eq(used + used2, strlen(two));
        cr_assert_str_eq(http1_target(&head), "/b");
        cr_assert_str_eq(http1_header(&head, "host"), "b");
}

Test(http1, statuses_and_strings)
{
        static const int codes[] = {HTTP1_EHEADTOOBIG, HTTP1_ETOOMANY, HTTP1_ELINETOOBIG,
                                    HTTP1_EMETHOD,     HTTP1_ELINE,    HTTP1_EVERSION,
                                    HTTP1_EHEADER,     HTTP1_EFOLD,    HTTP1_ECLTE,
                                    HTTP1_ECLDUP,      HTTP1_ECL,      HTTP1_EHOST};
        static const int status[] = {431, 431, 414, 400, 400, 400, 400, 400, 400, 400, 400, 400};

        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
                cr_assert_eq(http1_error_status(codes[i]), status[i], "code %d", codes[i]);
                cr_assert_str_neq(http1_strerror(codes[i]), "unknown error");
        }
        cr_assert_eq(http1_error_status(0), 0);
        cr_assert_eq(http1_error_status(1), 0);
        cr_assert_eq(http1_error_status(-EIO), 400);
        cr_assert_str_eq(http1_strerror(-4699), "unknown error");
}
