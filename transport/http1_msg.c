/* http1_msg: whole HTTP/1.1 messages (head and body), sans-I/O.
 *
 * See transport/http1_msg.h for the contract. The head goes to http1_feed
 * (transport/http1.c), which stops on the empty line; from there this module
 * picks the framing (RFC 9112 §6.3) and collects the body. A Content-Length
 * body is copied in blocks; a chunked body goes through a small state
 * machine that looks at one byte at a time outside chunk data, so the outcome
 * (error code or consumed count) is the same however the input is split, as
 * it is for the head: the fuzz target checks that.
 *
 * On an error *consumed is 0, as in http1_feed: the connection is done for,
 * and the caller only needs the code (and, for an early 413, the head).
 */
#include "transport/http1_msg.h"

#include "core/bytes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_MIN_CAP (16u * 1024u)

enum {
        ST_HEAD = 0,
        ST_BODY = 1,
        ST_DONE = 2,
};

/* Where in the chunked grammar (RFC 9112 §7.1) the next byte falls. */
enum {
        CS_SIZE_FIRST, /* first hex digit of a chunk size */
        CS_SIZE,       /* more hex digits, or what ends them */
        CS_SIZE_WS,    /* BWS after the size: only ';' may follow */
        CS_EXT,        /* chunk extensions, skipped up to CR */
        CS_SIZE_LF,    /* the LF of the size line */
        CS_DATA,       /* chunk data, <remaining> bytes */
        CS_DATA_CR,    /* the CRLF after the data */
        CS_DATA_LF,
        CS_TRAILER, /* start of a trailer line, or the final empty line */
        CS_TNAME,   /* trailer field name */
        CS_TVALUE,  /* trailer field value, up to CR */
        CS_TLF,     /* the LF of a trailer line */
        CS_END_LF,  /* the LF of the final empty line */
};

static bool is_tchar(uint8_t c)
{
        /* RFC 9110 §5.6.2 token characters. */
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ctl(uint8_t c)
{
        return (c < 0x20 && c != '\t') || c == 0x7f;
}

void http1_msg_init(struct http1_msg *m, enum http1_kind kind, size_t max_body)
{
        http1_init(&m->head, kind);
        m->max_body = max_body;
        m->body = NULL;
        m->len = 0;
        m->cap = 0;
        http1_msg_reset(m);
}

void http1_msg_free(struct http1_msg *m)
{
        free(m->body);
        m->body = NULL;
        m->len = 0;
        m->cap = 0;
}

void http1_msg_reset(struct http1_msg *m)
{
        http1_init(&m->head, m->head.kind);
        m->state = ST_HEAD;
        m->framing = HTTP1_MSG_NONE;
        m->no_body_response = false;
        m->remaining = 0;
        m->chunk_state = CS_SIZE_FIRST;
        m->chunk_line = 0;
        m->trailer_bytes = 0;
        m->len = 0;
}

void http1_msg_expect_no_body(struct http1_msg *m)
{
        m->no_body_response = true;
}

/* Resizes the body buffer to exactly <cap> bytes (> 0). */
static int resize(struct http1_msg *m, size_t cap)
{
        uint8_t *p = realloc(m->body, cap);

        if (!p)
                return -ENOMEM;
        m->body = p;
        m->cap = cap;
        return 0;
}

/* Makes room for <need> bytes (need <= max_body, checked by the callers):
 * doubling from BODY_MIN_CAP, never past max_body. */
static int reserve(struct http1_msg *m, size_t need)
{
        size_t cap;

        if (need <= m->cap)
                return 0;
        cap = m->cap > SIZE_MAX / 2 ? SIZE_MAX : m->cap * 2;
        if (cap < BODY_MIN_CAP)
                cap = BODY_MIN_CAP;
        if (cap < need)
                cap = need;
        if (cap > m->max_body)
                cap = m->max_body;
        return resize(m, cap);
}

static void append(struct http1_msg *m, const uint8_t *p, size_t n)
{
        memcpy(m->body + m->len, p, n);
        m->len += n;
}

/* The head is complete: pick the framing (RFC 9112 §6.3) and refuse what
 * cannot pass before a body byte is read. */
static int start_body(struct http1_msg *m)
{
        const struct http1_head *h = &m->head;
        unsigned te = http1_header_count(h, "transfer-encoding");
        uint64_t cl;

        m->state = ST_BODY;
        m->framing = HTTP1_MSG_NONE;
        if (h->kind == HTTP1_RESPONSE) {
                int st = http1_status(h);

                /* Whatever their framing headers say (a HEAD answer or a
                 * 304 describes the body a GET would get). */
                if (m->no_body_response || st < 200 || st == 204 || st == 304) {
                        m->state = ST_DONE;
                        return 0;
                }
        }
        if (te > 0) {
                /* One line, one coding: "gzip, chunked" or two lines would
                 * need decoding we do not do, and are how smuggling starts. */
                if (te != 1 || strcasecmp(http1_header(h, "transfer-encoding"), "chunked") != 0)
                        return HTTP1_MSG_ETE;
                m->framing = HTTP1_MSG_CHUNKED;
                m->chunk_state = CS_SIZE_FIRST;
                return 0;
        }
        if (http1_content_length(h, &cl) == 0) {
                m->framing = HTTP1_MSG_LENGTH;
                if (cl > (uint64_t)m->max_body)
                        return HTTP1_MSG_ETOOBIG;
                m->remaining = cl;
                if (cl == 0)
                        m->state = ST_DONE;
                return 0;
        }
        if (h->kind == HTTP1_REQUEST) {
                m->state = ST_DONE;
                return 0;
        }
        m->framing = HTTP1_MSG_CLOSE;
        return 0;
}

static int feed_length(struct http1_msg *m, const uint8_t *p, size_t n, size_t *used)
{
        size_t k = m->remaining < n ? (size_t)m->remaining : n;
        int rc;

        *used = 0;
        if (k == 0)
                return 0;
        /* The whole body at once, exactly: its size is known and within
         * max_body. */
        if (m->cap < m->len + (size_t)m->remaining &&
            (rc = resize(m, m->len + (size_t)m->remaining)) != 0)
                return rc;
        append(m, p, k);
        m->remaining -= k;
        if (m->remaining == 0)
                m->state = ST_DONE;
        *used = k;
        return 0;
}

static int feed_close(struct http1_msg *m, const uint8_t *p, size_t n, size_t *used)
{
        int rc;

        *used = 0;
        if (n == 0)
                return 0;
        if (n > m->max_body - m->len)
                return HTTP1_MSG_ETOOBIG;
        if ((rc = reserve(m, m->len + n)) != 0)
                return rc;
        append(m, p, n);
        *used = n;
        return 0;
}

/* One byte of a size line (everything but CS_DATA*). */
static int size_line_byte(struct http1_msg *m, uint8_t b)
{
        int v;

        if (++m->chunk_line > HTTP1_HEAD_MAX)
                return HTTP1_EHEADTOOBIG;
        switch (m->chunk_state) {
        case CS_SIZE_FIRST:
                if ((v = hex_digit(b)) < 0)
                        return HTTP1_MSG_ECHUNK;
                m->remaining = (uint64_t)v;
                m->chunk_state = CS_SIZE;
                return 0;
        case CS_SIZE:
                if ((v = hex_digit(b)) >= 0) {
                        /* A 17th significant digit would not fit. */
                        if (m->remaining > UINT64_MAX >> 4)
                                return HTTP1_MSG_ECHUNK;
                        m->remaining = m->remaining << 4 | (uint64_t)v;
                        return 0;
                }
                if (b == ';')
                        m->chunk_state = CS_EXT;
                else if (b == ' ' || b == '\t')
                        m->chunk_state = CS_SIZE_WS;
                else if (b == '\r')
                        m->chunk_state = CS_SIZE_LF;
                else
                        return HTTP1_MSG_ECHUNK;
                return 0;
        case CS_SIZE_WS:
                if (b == ';')
                        m->chunk_state = CS_EXT;
                else if (b != ' ' && b != '\t')
                        return HTTP1_MSG_ECHUNK;
                return 0;
        case CS_EXT:
                if (b == '\r')
                        m->chunk_state = CS_SIZE_LF;
                else if (is_ctl(b))
                        return HTTP1_MSG_ECHUNK;
                return 0;
        case CS_SIZE_LF:
                if (b != '\n')
                        return HTTP1_MSG_ECHUNK;
                if (m->remaining == 0) {
                        /* The last chunk: its size line opens the trailer
                         * section, which is head-like and capped like one. */
                        m->trailer_bytes = m->chunk_line;
                        m->chunk_state = CS_TRAILER;
                        return 0;
                }
                if (m->remaining > (uint64_t)(m->max_body - m->len))
                        return HTTP1_MSG_ETOOBIG;
                m->chunk_state = CS_DATA;
                return 0;
        }
        return HTTP1_MSG_ECHUNK;
}

/* One byte of the trailer section; the fields are checked and dropped. */
static int trailer_byte(struct http1_msg *m, uint8_t b)
{
        if (++m->trailer_bytes > HTTP1_HEAD_MAX)
                return HTTP1_EHEADTOOBIG;
        switch (m->chunk_state) {
        case CS_TRAILER:
                if (b == '\r')
                        m->chunk_state = CS_END_LF;
                else if (b == ' ' || b == '\t')
                        return HTTP1_EFOLD;
                else if (b == '\n')
                        return HTTP1_MSG_ECHUNK;
                else if (is_tchar(b))
                        m->chunk_state = CS_TNAME;
                else
                        return HTTP1_EHEADER;
                return 0;
        case CS_TNAME:
                if (b == ':')
                        m->chunk_state = CS_TVALUE;
                else if (b == '\n')
                        return HTTP1_MSG_ECHUNK;
                else if (!is_tchar(b))
                        return HTTP1_EHEADER;
                return 0;
        case CS_TVALUE:
                if (b == '\r')
                        m->chunk_state = CS_TLF;
                else if (b == '\n')
                        return HTTP1_MSG_ECHUNK;
                else if (is_ctl(b))
                        return HTTP1_EHEADER;
                return 0;
        case CS_TLF:
                if (b != '\n')
                        return HTTP1_MSG_ECHUNK;
                m->chunk_state = CS_TRAILER;
                return 0;
        case CS_END_LF:
                if (b != '\n')
                        return HTTP1_MSG_ECHUNK;
                m->state = ST_DONE;
                return 0;
        }
        return HTTP1_MSG_ECHUNK;
}

static int feed_chunked(struct http1_msg *m, const uint8_t *p, size_t n, size_t *used)
{
        size_t i = 0;
        int rc = 0;

        while (i < n && m->state == ST_BODY && rc == 0) {
                uint8_t b = p[i];

                switch (m->chunk_state) {
                case CS_DATA: {
                        size_t k = m->remaining < n - i ? (size_t)m->remaining : n - i;

                        /* Grow with what arrived, not with what was
                         * announced: a size line costs the sender nothing. */
                        if ((rc = reserve(m, m->len + k)) != 0)
                                break;
                        append(m, p + i, k);
                        i += k;
                        m->remaining -= k;
                        if (m->remaining == 0)
                                m->chunk_state = CS_DATA_CR;
                        continue;
                }
                case CS_DATA_CR:
                        if (b != '\r')
                                rc = HTTP1_MSG_ECHUNK;
                        m->chunk_state = CS_DATA_LF;
                        break;
                case CS_DATA_LF:
                        if (b != '\n')
                                rc = HTTP1_MSG_ECHUNK;
                        m->chunk_state = CS_SIZE_FIRST;
                        m->chunk_line = 0;
                        break;
                case CS_TRAILER:
                case CS_TNAME:
                case CS_TVALUE:
                case CS_TLF:
                case CS_END_LF:
                        rc = trailer_byte(m, b);
                        break;
                default:
                        rc = size_line_byte(m, b);
                        break;
                }
                if (rc == 0)
                        i++;
        }
        *used = i;
        return rc;
}

static int fail(struct http1_msg *m, int err)
{
        m->state = err;
        return err;
}

int http1_msg_feed(struct http1_msg *m, const uint8_t *p, size_t n, size_t *consumed)
{
        size_t off = 0, used;
        int rc;

        *consumed = 0;
        if (m->state < 0)
                return m->state;
        if (m->state == ST_DONE)
                return 1;
        if (n == 0)
                return 0; /* nothing to do, and <p> may be NULL */
        if (m->state == ST_HEAD) {
                rc = http1_feed(&m->head, p, n, &used);
                if (rc < 0)
                        return fail(m, rc);
                if (rc == 0) {
                        *consumed = used;
                        return 0;
                }
                off = used;
                if ((rc = start_body(m)) != 0)
                        return fail(m, rc);
        }
        if (m->state == ST_BODY) {
                switch (m->framing) {
                case HTTP1_MSG_LENGTH:
                        rc = feed_length(m, p + off, n - off, &used);
                        break;
                case HTTP1_MSG_CHUNKED:
                        rc = feed_chunked(m, p + off, n - off, &used);
                        break;
                case HTTP1_MSG_CLOSE:
                        rc = feed_close(m, p + off, n - off, &used);
                        break;
                default:
                        rc = -EINVAL; /* unreachable: NONE is done at once */
                        break;
                }
                if (rc != 0)
                        return fail(m, rc);
                off += used;
        }
        *consumed = off;
        return m->state == ST_DONE ? 1 : 0;
}

int http1_msg_eof(struct http1_msg *m)
{
        if (m->state < 0)
                return m->state;
        if (m->state == ST_BODY && m->framing == HTTP1_MSG_CLOSE)
                m->state = ST_DONE;
        if (m->state == ST_DONE)
                return 1;
        return fail(m, HTTP1_MSG_ETRUNCATED);
}

bool http1_msg_head_done(const struct http1_msg *m)
{
        return http1_state(&m->head) == 1;
}

enum http1_msg_framing http1_msg_framing(const struct http1_msg *m)
{
        return m->framing;
}

const struct http1_head *http1_msg_head(const struct http1_msg *m)
{
        return &m->head;
}

const uint8_t *http1_msg_body(const struct http1_msg *m, size_t *len)
{
        *len = m->len;
        return m->body ? m->body : (const uint8_t *)"";
}

uint8_t *http1_msg_take_body(struct http1_msg *m, size_t *len)
{
        uint8_t *body = m->body;

        *len = m->len;
        m->body = NULL;
        m->len = 0;
        m->cap = 0;
        return body;
}

const char *http1_msg_strerror(int err)
{
        switch (err) {
        case HTTP1_MSG_ETOOBIG:
                return "HTTP body over the size limit";
        case HTTP1_MSG_ECHUNK:
                return "malformed chunked transfer coding";
        case HTTP1_MSG_ETE:
                return "Transfer-Encoding other than chunked";
        case HTTP1_MSG_ETRUNCATED:
                return "connection closed inside an HTTP message";
        case -ENOMEM:
                return "out of memory";
        }
        if (err < 0 && err > -4096)
                return strerror(-err);
        return http1_strerror(err);
}

int http1_msg_error_status(int err)
{
        switch (err) {
        case HTTP1_MSG_ETOOBIG:
                return 413;
        case HTTP1_MSG_ETE:
                return 501;
        case HTTP1_MSG_ECHUNK:
        case HTTP1_MSG_ETRUNCATED:
                return 400;
        }
        return http1_error_status(err);
}
