/* http1_msg: a whole HTTP/1.1 message (head and body), sans-I/O.
 *
 * transport/http1.h parses heads only; this module adds the body, framed as
 * RFC 9112 §6 says: Content-Length, chunked transfer coding, or (responses
 * only) everything until the connection closes. Used by the exit's
 * `POST /tunnel` (request bodies), the client's post transport (response
 * bodies) and `urelay forwarder` (both).
 *
 * The body lands in one heap buffer that grows up to <max_body> and is kept
 * for the next message of a keep-alive connection. A Content-Length over
 * <max_body> is refused as soon as the head is complete (HTTP1_MSG_ETOOBIG,
 * before a single body byte arrives: the early 413); a chunked body is
 * refused as soon as its decoded size passes the cap. Chunk extensions are
 * skipped; trailer fields are read and dropped (they count toward the head
 * limit of transport/http1.h, HTTP1_HEAD_MAX).
 *
 * Messages without a body: responses with status 1xx, 204 or 304, and
 * responses the caller marks as answers to HEAD (http1_msg_expect_no_body).
 * A request with neither Content-Length nor Transfer-Encoding has an empty
 * body. Transfer-Encoding other than exactly "chunked" is refused
 * (HTTP1_MSG_ETE): nobody on our paths sends gzip-coded bodies, and a
 * smuggling-shaped header must not pass.
 *
 * Errors are sticky, like http1's. Input may be split anywhere.
 */
#ifndef URELAY_TRANSPORT_HTTP1_MSG_H
#define URELAY_TRANSPORT_HTTP1_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/http1.h"

/* Errors, besides the HTTP1_E* of the head and -ENOMEM. */
enum {
        HTTP1_MSG_ETOOBIG = -4621,    /* body over max_body (413 for a request) */
        HTTP1_MSG_ECHUNK = -4622,     /* malformed chunk size line or chunk end (400) */
        HTTP1_MSG_ETE = -4623,        /* Transfer-Encoding other than "chunked" (501/400) */
        HTTP1_MSG_ETRUNCATED = -4624, /* the connection ended inside the message */
};

enum http1_msg_framing {
        HTTP1_MSG_NONE,    /* no body */
        HTTP1_MSG_LENGTH,  /* Content-Length */
        HTTP1_MSG_CHUNKED, /* Transfer-Encoding: chunked */
        HTTP1_MSG_CLOSE,   /* response body until the connection closes */
};

struct http1_msg {
        struct http1_head head;
        size_t max_body;
        int state; /* 0 head, 1 body, 2 complete, < 0 the sticky error */
        enum http1_msg_framing framing;
        bool no_body_response; /* the request was HEAD */
        uint64_t remaining;    /* LENGTH: bytes still due; CHUNKED: of the current chunk */
        int chunk_state;       /* CHUNKED: where in the chunk grammar */
        uint32_t chunk_line;   /* CHUNKED: bytes of the current size line or trailer line */
        uint32_t trailer_bytes;
        uint8_t *body;
        size_t len, cap;
};

/* Prepares <m> for messages of <kind> with bodies of at most <max_body>
 * bytes. No allocation until a body arrives. */
void http1_msg_init(struct http1_msg *m, enum http1_kind kind, size_t max_body);
/* Frees the body buffer. */
void http1_msg_free(struct http1_msg *m);
/* Ready for the next message on the same connection; keeps the buffer. */
void http1_msg_reset(struct http1_msg *m);
/* The next response answers a HEAD request: it has no body whatever its
 * head says. Call after init/reset, before feeding. */
void http1_msg_expect_no_body(struct http1_msg *m);

/* Parses p[0, n). Sets *consumed to the bytes that belong to this message
 * (the rest is the start of the next one, untouched). Returns 1 when the
 * message is complete, 0 when more bytes are needed, or an error (sticky).
 * Once the head is complete, http1_msg_head_done() is true, even while the
 * body is still arriving (the exit answers 413 from the head alone). */
int http1_msg_feed(struct http1_msg *m, const uint8_t *p, size_t n, size_t *consumed);
/* The connection ended. Returns 1 when that completes the message (a
 * response framed by close), else HTTP1_MSG_ETRUNCATED (or the sticky
 * error); 0 never. */
int http1_msg_eof(struct http1_msg *m);

bool http1_msg_head_done(const struct http1_msg *m);
enum http1_msg_framing http1_msg_framing(const struct http1_msg *m);
/* The head; its accessors are valid once http1_msg_head_done(). */
const struct http1_head *http1_msg_head(const struct http1_msg *m);
/* The body so far (all of it once complete); valid until the next feed,
 * reset or free. */
const uint8_t *http1_msg_body(const struct http1_msg *m, size_t *len);
/* Hands the body buffer to the caller (who free()s it) and leaves <m>
 * without one: a forwarder keeps a response body this way. */
uint8_t *http1_msg_take_body(struct http1_msg *m, size_t *len);

/* A static string for HTTP1_MSG_E* (and HTTP1_E*, -errno) codes. */
const char *http1_msg_strerror(int err);
/* The status a server answers a request error with: 413, 400, 431, 414,
 * 501 (HTTP1_MSG_ETE), 0 for err >= 0. */
int http1_msg_error_status(int err);

#endif
