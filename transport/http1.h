/* http1: a sans-I/O HTTP/1.1 message-head parser (requests and responses).
 *
 * Shared by the exit's HTTP server (request heads: GET /stream with Upgrade,
 * GET /healthz, POST /tunnel) and the client transports (response heads: the
 * 101 of a WebSocket upgrade, 200/3xx/4xx/5xx of a POST). It parses the head
 * only: the request or status line and the header fields, up to and including
 * the empty line. Whatever follows (a body, WebSocket frames) is never
 * consumed; the caller gets the count of head bytes and hands the rest on.
 *
 * The grammar is http-parser's (methods, request target characters, header
 * tokens, Content-Length digits); on top of it this module enforces hard
 * limits and the framing rules of RFC 9112 so that the exit can answer with a
 * precise status (reliability.md §4.2, "HTTP" row):
 *   - the head is at most HTTP1_HEAD_MAX bytes (431), with at most
 *     HTTP1_MAX_HEADERS header lines (431); a request line that alone passes
 *     HTTP1_HEAD_MAX is 414;
 *   - an unknown method, a malformed request or status line, or a version
 *     other than HTTP/1.x is 400;
 *   - whitespace between a field name and its colon, a line folded onto the
 *     previous one (obs-fold), control characters: 400;
 *   - request smuggling (RFC 9112 §6.3): Content-Length together with
 *     Transfer-Encoding, more than one Content-Length (even with equal values;
 *     §6.3 lets a recipient reject those), an invalid Content-Length: 400;
 *   - an HTTP/1.1 request without exactly one Host: 400 (RFC 9112 §3.2).
 *
 * The head is copied into a fixed buffer inside struct http1_head: no
 * allocation at all, ever. Input may be split anywhere, down to one byte per
 * call. Errors are sticky: after one, every call returns it again.
 */
#ifndef URELAY_TRANSPORT_HTTP1_H
#define URELAY_TRANSPORT_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#define HTTP1_HEAD_MAX    8192u /* whole head, request/status line to the empty line */
#define HTTP1_MAX_HEADERS 100u  /* header lines */

/* Errors, negative and below -MAX_ERRNO (4095). http1_error_status() gives
 * the status an HTTP server should answer with. */
enum {
        HTTP1_EHEADTOOBIG = -4601, /* head over HTTP1_HEAD_MAX (431) */
        HTTP1_ETOOMANY = -4602,    /* over HTTP1_MAX_HEADERS header lines (431) */
        HTTP1_ELINETOOBIG = -4603, /* request line alone over HTTP1_HEAD_MAX (414) */
        HTTP1_EMETHOD = -4604,     /* unknown or malformed method (400) */
        HTTP1_ELINE = -4605,       /* malformed request line, target or status line (400) */
        HTTP1_EVERSION = -4606,    /* not HTTP/1.x (400) */
        HTTP1_EHEADER = -4607,     /* malformed header line (400) */
        HTTP1_EFOLD = -4608,       /* obsolete line folding (400) */
        HTTP1_ECLTE = -4609,       /* both Content-Length and Transfer-Encoding (400) */
        HTTP1_ECLDUP = -4610,      /* more than one Content-Length (400) */
        HTTP1_ECL = -4611,         /* Content-Length is not a decimal number that fits (400) */
        HTTP1_EHOST = -4612,       /* HTTP/1.1 request without exactly one Host (400) */
};

enum http1_kind {
        HTTP1_REQUEST,
        HTTP1_RESPONSE,
};

struct http1_field {
        uint16_t name;  /* offset of the NUL-terminated name in buf */
        uint16_t value; /* offset of the NUL-terminated value in buf (OWS trimmed) */
};

/* Opaque in spirit: use the functions below. Large (about 9 KiB): embed it in
 * a connection that needs it, do not put it on a small stack. */
struct http1_head {
        http_parser parser;
        enum http1_kind kind;
        int state;         /* 0 parsing, 1 complete, < 0 the sticky error */
        uint32_t total;    /* head bytes seen */
        uint32_t line_len; /* bytes of the current line so far */
        uint32_t lines;    /* complete lines after the request/status line */
        bool first_line;   /* still in the request/status line */
        bool prev_space;   /* request line: the previous byte was a space */
        bool in_value;     /* the current field's value has started */
        bool first_cr;     /* the current line starts with CR */
        bool has_cl, has_te;
        uint8_t hosts; /* Host lines, saturating */
        uint64_t content_length;
        uint16_t used; /* bytes of buf in use; the target or reason is at 0 */
        uint16_t nfields;
        struct http1_field fields[HTTP1_MAX_HEADERS];
        char buf[HTTP1_HEAD_MAX + 4];
};

/* Prepares <h> to parse one head of <kind>. Reuse it for the next message of
 * a keep-alive connection by calling this again. */
void http1_init(struct http1_head *h, enum http1_kind kind);

/* Parses p[0, n). Sets *consumed to the bytes that belong to the head (all of
 * n while it is incomplete; up to and including the final empty line when it
 * completes; 0 after completion or an error). Returns 1 when the head is
 * complete, 0 when more bytes are needed, or an HTTP1_E* error (sticky). On
 * completion p[*consumed, n) is the start of the body or of another protocol,
 * untouched. Leading empty lines before a request line are skipped (RFC 9112
 * §2.2) and count toward the limit. */
int http1_feed(struct http1_head *h, const uint8_t *p, size_t n, size_t *consumed);

/* The sticky state: 1 complete, 0 in progress, or the error. */
int http1_state(const struct http1_head *h);

/* Accessors, valid once http1_feed returned 1. Strings live in <h>. */
const char *http1_method(const struct http1_head *h); /* "GET"; NULL for responses */
const char *
http1_target(const struct http1_head *h);     /* request target as sent; NULL for responses */
int http1_status(const struct http1_head *h); /* responses: 100..999; 0 for requests */
const char *
http1_reason(const struct http1_head *h); /* reason phrase, maybe ""; NULL for requests */
unsigned http1_version_minor(const struct http1_head *h); /* x in HTTP/1.x */

/* The value of the first header named <name> (case-insensitive), with
 * leading and trailing whitespace removed, or NULL. */
const char *http1_header(const struct http1_head *h, const char *name);

/* How many header lines carry <name> (case-insensitive). */
unsigned http1_header_count(const struct http1_head *h, const char *name);

/* Whether the comma-separated token list of every <name> header holds
 * <token> (both case-insensitive): "keep-alive, Upgrade" has "upgrade". */
bool http1_header_has_token(const struct http1_head *h, const char *name, const char *token);

/* Sets *out to the Content-Length. Returns 0, or -ENOENT when absent. The
 * value was validated while parsing. */
int http1_content_length(const struct http1_head *h, uint64_t *out);

/* Whether the connection stays open after this message: HTTP/1.1 unless
 * "Connection: close", HTTP/1.0 only with "Connection: keep-alive". */
bool http1_keep_alive(const struct http1_head *h);

/* A static string naming an HTTP1_E* code. */
const char *http1_strerror(int err);

/* The status a server answers an HTTP1_E* error with: 400, 414 or 431; 400
 * for any other negative value; 0 for err >= 0. */
int http1_error_status(int err);

#endif
