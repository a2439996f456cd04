/* ws: the WebSocket engine (RFC 6455), client and server halves, sans-I/O.
 *
 * Sits in transport/, between the reactor (which owns the socket, pushes the
 * bytes it reads into ws_input() and writes what the engine emits) and the
 * batch layer (which sends and receives one batch per binary message). The
 * engine never touches a file descriptor: bytes in through ws_input(), bytes
 * out through the emit callback, events out through the other callbacks.
 *
 * The Upgrade handshake is done here (wslay has none): the client emits the
 * request and checks the 101 with transport/http1; the server validates a
 * request head the caller parsed with http1 and emits the 101. Framing,
 * masking, ping/pong and the close handshake are wslay's (1.1.1; pitfalls in
 * reliability.md §3.1). No extension is ever offered or accepted: compression
 * across sessions leaks (BRIEF §3), so a server that accepts one is refused.
 *
 * Messages: binary only, one per batch. A text message makes the engine close
 * with 1003 (unsupported data) as soon as its first frame starts. A message
 * over max_msg closes with 1009; wslay closes protocol errors (unmasked client
 * frame, bad control frame, reserved bits or opcodes) with 1002, bad UTF-8 in
 * a close reason with 1007.
 *
 * Callbacks run inside ws_input(), ws_flush() and the calls that flush
 * (ws_client_start, ws_server_accept, ws_send, ws_ping, ws_close). Inside a
 * callback the caller may use ws_send, ws_ping and ws_close (their output is
 * flushed when the outer call returns), never ws_input or ws_free.
 */
#ifndef URELAY_TRANSPORT_WS_H
#define URELAY_TRANSPORT_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/http1.h"

/* Errors, negative and below -MAX_ERRNO (4095). The client handshake errors
 * (WS_EHTTP ... WS_EPROTOCOL) mean "this endpoint is not an urelay exit" and
 * come with the response head, see ws_response(). */
enum {
        WS_EHTTP = -4901,       /* the response is not a valid HTTP/1.1 head */
        WS_ESTATUS = -4902,     /* the response status is not 101 */
        WS_EUPGRADE = -4903,    /* Upgrade is missing or not "websocket" */
        WS_ECONNECTION = -4904, /* Connection does not hold "upgrade" */
        WS_EACCEPT = -4905,     /* Sec-WebSocket-Accept missing, repeated or wrong */
        WS_EEXTENSION = -4906,  /* the server answered with Sec-WebSocket-Extensions */
        WS_EPROTOCOL = -4907,   /* the server chose a subprotocol nobody offered */
        WS_EMETHOD = -4908,     /* request: not GET */
        WS_EHTTPVER = -4909,    /* request: not HTTP/1.1 or later */
        WS_EVERSION = -4910,    /* request: Sec-WebSocket-Version is not 13 */
        WS_EKEY = -4911,        /* request: Sec-WebSocket-Key is not 16 bytes in base64 */
        WS_ERNG = -4912,        /* the RNG failed (key or mask) */
        WS_ECRYPTO = -4913,     /* SHA-1 failed */
};

/* Close codes (RFC 6455 §7.4.1) the engine reports. */
enum {
        WS_CLOSE_NORMAL = 1000,
        WS_CLOSE_GOING_AWAY = 1001,
        WS_CLOSE_PROTOCOL = 1002,
        WS_CLOSE_UNSUPPORTED = 1003, /* a text message */
        WS_CLOSE_NO_STATUS = 1005,   /* the peer's close frame had no code */
        WS_CLOSE_INVALID = 1007,
        WS_CLOSE_TOO_BIG = 1009,
};

struct ws;

struct ws_events {
        /* Takes bytes to write to the socket, in order. Returns 0 when it took
         * all n (copied or sent), -EAGAIN to take none for now (the bytes stay
         * queued in the engine: call ws_flush() when the socket drains), or
         * another negative errno when the connection is dead (the engine
         * fails and returns it). The handshake head must be taken whole:
         * -EAGAIN there fails the call. Required. */
        int (*emit)(void *ud, const uint8_t *p, size_t n);
        /* The handshake succeeded; messages can flow. Optional. */
        void (*on_open)(void *ud);
        /* One complete binary message; p is valid during the call only. */
        void (*on_message)(void *ud, const uint8_t *p, size_t n);
        /* A pong echoing an 8-byte ping token (other pongs are ignored). */
        void (*on_pong)(void *ud, uint64_t token);
        /* Once, when the WebSocket is over: the peer's close arrived (its
         * code, 1005 if none) or the engine closed for a violation (1002,
         * 1003, 1007, 1009). Flush what ws_want_write() reports, then close
         * the TCP connection. Not called when a call returns an error. */
        void (*on_close)(void *ud, uint16_t code);
};

struct ws_conf {
        size_t max_msg;             /* largest message either way; 0: BATCH_MAX */
        const char *host;           /* client: the Host header (may differ from the dial address) */
        const char *path;           /* client: request target, starts with '/' */
        const char *user_agent;     /* client: optional User-Agent */
        const char *const *headers; /* client: optional NULL-terminated "Name: value" lines */
};

/* Creates a client engine; the request is built here and the conf strings
 * are not used afterwards. Returns 0, -EINVAL (missing host or path, control
 * characters, a header line that is malformed or names a header the engine
 * owns: Host, Upgrade, Connection, Sec-WebSocket-*, Content-Length,
 * Transfer-Encoding), -ENOMEM or WS_ERNG. */
int ws_client_new(struct ws **out, const struct ws_conf *conf, const struct ws_events *ev,
                  void *ud);

/* Creates a server engine (only conf->max_msg is used). Returns 0, -EINVAL
 * or -ENOMEM. */
int ws_server_new(struct ws **out, const struct ws_conf *conf, const struct ws_events *ev,
                  void *ud);

/* Client: draws the key and emits the Upgrade request. Returns 0, WS_ERNG,
 * WS_ECRYPTO, -EINVAL (called twice, or on a server) or the emit error. */
int ws_client_start(struct ws *w);

/* Server: validates the complete request head <req> (parsed by the caller
 * with http1; the path is the caller's business) and on success emits the
 * 101, calls on_open and starts framing: bytes after the head go to
 * ws_input(). On failure returns a WS_E* code and emits nothing (the caller
 * answers with its decoy), or -EINVAL (wrong state, head not complete), or
 * the emit error. */
int ws_server_accept(struct ws *w, const struct http1_head *req);

/* Feeds bytes read from the socket. Client: the 101 head first (a failed
 * handshake returns its WS_E* code; see ws_response()), then frames; bytes
 * after the head in the same call are frames too. Calls on_open, on_message,
 * on_pong, on_close as things complete, and emits pongs and close replies.
 * Returns 0, or a negative code when the connection is dead (handshake
 * failure, -ENOMEM, an emit error): close it without a close frame. After
 * on_close, input is ignored. -EINVAL before start/accept. */
int ws_input(struct ws *w, const uint8_t *p, size_t n);

/* Queues one binary message (copied: <msg> is the caller's again on return)
 * and flushes. Returns 0, -ENOTCONN (not open yet), -EPIPE (closing or
 * closed), -EMSGSIZE (over max_msg), -ENOMEM, or the emit error. */
int ws_send(struct ws *w, const uint8_t *msg, size_t n);

/* Sends a ping carrying <token> (8 bytes, big-endian); its pong comes back
 * through on_pong. Same returns as ws_send. */
int ws_ping(struct ws *w, uint64_t token);

/* Starts the close handshake with <code> (1000-1003, 1007-1011, 3000-4999)
 * and a reason of at most 123 bytes (may be NULL). on_close follows when the
 * peer answers. Returns 0 (also when already closing or closed), -ENOTCONN,
 * -EINVAL, -EPIPE (after a fatal error), or the emit error. */
int ws_close(struct ws *w, uint16_t code, const char *reason);

/* Emits what is queued (after an emit -EAGAIN). Returns 0 or an error as
 * ws_input. */
int ws_flush(struct ws *w);

/* Payload bytes queued in wslay and not yet fully emitted, pongs and close
 * frames included: pause reading while this is high, or a peer that pings
 * without reading grows it without bound. */
size_t ws_queued(const struct ws *w);

/* Whether anything (messages, pongs, a close) waits for ws_flush. */
bool ws_want_write(const struct ws *w);

/* Whether messages can be sent: handshake done, no close started. */
bool ws_is_open(const struct ws *w);

/* Client: the parsed response head (also after a failed handshake, for the
 * status, Location or Retry-After; http1_state() gives its parse error), or
 * NULL before one arrived or on a server. */
const struct http1_head *ws_response(const struct ws *w);

/* Client: the HTTP status of the response (0 if none was parsed) and, if
 * <reason> is not NULL, its reason phrase ("" if none). */
int ws_handshake_status(const struct ws *w, const char **reason);

/* Frees the engine and everything wslay still holds. NULL is fine. */
void ws_free(struct ws *w);

/* A static string for a WS_E* code, an HTTP1_E* code, or the -errno values
 * above. */
const char *ws_strerror(int err);

#endif
