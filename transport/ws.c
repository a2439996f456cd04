/* ws: the WebSocket engine over wslay's event API, plus the Upgrade handshake.
 *
 * See transport/ws.h for the contract. wslay is driven the h2o way: its recv
 * callback serves the bytes of the current ws_input() call and says
 * WOULDBLOCK when they run out; its send callback hands bytes to the emit
 * callback. wslay copies queued messages and buffers whole incoming ones, so
 * nothing here outlives a call. The handshake (key, accept value, header
 * checks) is ours, because wslay does none.
 */
#include "transport/ws.h"
#include "transport/ws_frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha.h>
#include <wslay/wslay.h>

#include "core/aead.h"
#include "core/base64.h"
#include "core/bytes.h"

#define WS_GUID    "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 §1.3 */
#define KEY_RAW    16
#define KEY_B64    24 /* base64 of 16 bytes */
#define ACCEPT_B64 28 /* base64 of a SHA-1 digest */

enum ws_state {
        ST_NEW,       /* client before start, server before accept */
        ST_HANDSHAKE, /* client: request sent, waiting for the 101 */
        ST_OPEN,
        ST_CLOSING, /* our close is queued, waiting for the peer's */
        ST_CLOSED,  /* on_close was called */
        ST_FAILED,  /* a call returned a fatal error */
};

struct ws {
        wslay_event_context_ptr ctx;
        struct ws_events ev;
        void *ud;
        bool client;
        enum ws_state state;
        size_t max_msg;
        /* The current ws_input() bytes, served to wslay's recv callback. */
        const uint8_t *in;
        size_t in_len;
        int depth;      /* > 0 while wslay runs our callbacks: flush later */
        int cb_err;     /* the error behind a WSLAY_ERR_CALLBACK_FAILURE */
        uint16_t local; /* close code we chose (1003), or wslay's 1002 */
        /* Client only. */
        char *req; /* the Upgrade request, key placeholder at req_key */
        size_t req_len, req_key;
        char accept[ACCEPT_B64 + 1];
        struct http1_head *resp;
        WC_RNG rng;
        bool rng_ready;
        uint8_t masks[256]; /* CSPRNG output for frame masks, drawn in bulk */
        size_t masks_left;  /* unused bytes at the end of masks[] */
        /* The data fast path (ws_frame.h): single-frame binary messages are
         * framed and unmasked here; every other frame goes to wslay. */
        uint8_t hdr[WS_FRAME_HEADER_MAX]; /* a header split across inputs */
        size_t hdr_len;
        uint64_t fwd_left;    /* bytes of the current frame still owed to wslay */
        bool wslay_msg;       /* wslay is inside a fragmented data message */
        bool collecting;      /* a fast frame's payload is arriving in rbuf */
        struct ws_frame cur;  /* that frame */
        uint64_t got;         /* its payload bytes so far */
        uint8_t *rbuf, *sbuf; /* a payload being collected; a frame being sent */
        size_t rcap, scap;
};

/* Header names the engine writes itself; a caller's extra line may not. */
static const char *const owned_headers[] = {"host", "upgrade", "connection", "content-length",
                                            "transfer-encoding"};

static int fail(struct ws *w, int err)
{
        w->state = ST_FAILED;
        return err;
}

/* --- wslay callbacks ---------------------------------------------------- */

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
        struct ws *w = ud;
        size_t n = len < w->in_len ? len : w->in_len;

        (void)flags;
        if (n == 0) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        memcpy(buf, w->in, n);
        w->in += n;
        w->in_len -= n;
        return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
        struct ws *w = ud;
        int rc = w->ev.emit(w->ud, data, len);

        (void)flags;
        if (rc == 0)
                return (ssize_t)len;
        if (rc == -EAGAIN) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        w->cb_err = rc < 0 ? rc : -EIO;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
}

/* Four bytes of CSPRNG output for a mask (RFC 6455 §5.3: masks must be
 * unpredictable), for our frames and wslay's. One DRBG call per 64 frames:
 * each call costs SHA-256 rounds, which showed in the per-message profile. */
static int next_mask(struct ws *w, uint8_t mask[4])
{
        if (w->masks_left < 4) {
                if (!w->rng_ready ||
                    wc_RNG_GenerateBlock(&w->rng, w->masks, (word32)sizeof(w->masks)) != 0)
                        return -1;
                w->masks_left = sizeof(w->masks);
        }
        memcpy(mask, w->masks + sizeof(w->masks) - w->masks_left, 4);
        w->masks_left -= 4;
        return 0;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud)
{
        struct ws *w = ud;

        /* wslay asks for one 4-byte mask per frame it sends. */
        if (len == 4 && next_mask(w, buf) == 0)
                return 0;
        w->cb_err = WS_ERNG;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
}

/* Refuses a text message at its first frame, before wslay buffers it. */
static void reject_text(struct ws *w)
{
        static const char reason[] = "binary messages only";

        if (wslay_event_queue_close(w->ctx, WS_CLOSE_UNSUPPORTED, (const uint8_t *)reason,
                                    sizeof(reason) - 1) == 0)
                w->local = WS_CLOSE_UNSUPPORTED;
        wslay_event_shutdown_read(w->ctx);
}

static void frame_start_cb(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *arg, void *ud)
{
        (void)ctx;
        if (arg->opcode == WSLAY_TEXT_FRAME)
                reject_text(ud);
}

static void msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud)
{
        struct ws *w = ud;

        (void)ctx;
        if (w->state != ST_OPEN && w->state != ST_CLOSING)
                return;
        switch (arg->opcode) {
        case WSLAY_BINARY_FRAME:
                if (w->ev.on_message)
                        w->ev.on_message(w->ud, arg->msg, arg->msg_length);
                break;
        case WSLAY_PONG:
                if (w->ev.on_pong && arg->msg_length == 8)
                        w->ev.on_pong(w->ud, get_be64(arg->msg));
                break;
        default:
                /* Pings are answered and closes echoed by wslay; a text
                 * message was refused when it started. */
                break;
        }
}

static const struct wslay_event_callbacks wslay_cbs = {
    .recv_callback = recv_cb,
    .send_callback = send_cb,
    .genmask_callback = genmask_cb,
    .on_frame_recv_start_callback = frame_start_cb,
    .on_msg_recv_callback = msg_cb,
};

/* --- close tracking and flushing ---------------------------------------- */

/* Calls on_close once the WebSocket is over: the peer's close arrived, or
 * wslay (or reject_text) shut reading and its close frame went out. */
static void check_close(struct ws *w)
{
        uint16_t code;

        if (w->state != ST_OPEN && w->state != ST_CLOSING)
                return;
        if (wslay_event_get_close_received(w->ctx)) {
                code = wslay_event_get_status_code_received(w->ctx);
        } else if (!wslay_event_get_read_enabled(w->ctx) && wslay_event_get_close_sent(w->ctx)) {
                code = w->local ? w->local : wslay_event_get_status_code_sent(w->ctx);
        } else {
                return;
        }
        w->state = ST_CLOSED;
        if (w->ev.on_close)
                w->ev.on_close(w->ud, code);
}

static int map_wslay(struct ws *w, int r)
{
        switch (r) {
        case 0:
                return 0;
        case WSLAY_ERR_NOMEM:
                return -ENOMEM;
        case WSLAY_ERR_CALLBACK_FAILURE:
                return w->cb_err ? w->cb_err : -EIO;
        case WSLAY_ERR_NO_MORE_MSG:
                return -EPIPE;
        default:
                return -EINVAL;
        }
}

static int flush(struct ws *w)
{
        int r;

        if (w->depth > 0)
                return 0; /* inside wslay_event_recv: ws_input flushes after */
        r = wslay_event_send(w->ctx);
        if (r != 0)
                return fail(w, map_wslay(w, r));
        check_close(w);
        return 0;
}

/* --- handshake ---------------------------------------------------------- */

/* accept = base64(SHA-1(key || GUID)), RFC 6455 §4.2.2. */
static int compute_accept(const char *key, size_t key_len, char out[ACCEPT_B64 + 1])
{
        char buf[64 + sizeof(WS_GUID)];
        uint8_t digest[WC_SHA_DIGEST_SIZE];
        size_t n;

        if (key_len > 64)
                return WS_EKEY;
        memcpy(buf, key, key_len);
        memcpy(buf + key_len, WS_GUID, sizeof(WS_GUID) - 1);
        if (wc_ShaHash((const byte *)buf, (word32)(key_len + sizeof(WS_GUID) - 1), digest) != 0)
                return WS_ECRYPTO;
        if (b64_encode(digest, sizeof(digest), out, ACCEPT_B64, &n) != 0 || n != ACCEPT_B64)
                return WS_ECRYPTO;
        out[ACCEPT_B64] = '\0';
        return 0;
}

static int emit_all(struct ws *w, const char *p, size_t n)
{
        int rc = w->ev.emit(w->ud, (const uint8_t *)p, n);

        return rc < 0 ? rc : 0;
}

static bool visible(const char *s, bool spaces)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;

                if (c == 0x7f || (c < 0x20 && !(spaces && c == '\t')) || (c == ' ' && !spaces))
                        return false;
        }
        return true;
}

/* A caller's extra header line: "Name: value", a token name that is not one
 * the handshake owns, a value without control characters. */
static bool header_line_ok(const char *line)
{
        const char *colon = strchr(line, ':');
        size_t nlen;

        if (!colon || colon == line || !visible(colon + 1, true))
                return false;
        nlen = (size_t)(colon - line);
        for (size_t i = 0; i < nlen; i++) {
                unsigned char c = (unsigned char)line[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      (c && strchr("!#$%&'*+-.^_`|~", c))))
                        return false;
        }
        if (nlen >= 14 && strncasecmp(line, "sec-websocket-", 14) == 0)
                return false;
        for (size_t i = 0; i < sizeof(owned_headers) / sizeof(owned_headers[0]); i++)
                if (strlen(owned_headers[i]) == nlen &&
                    strncasecmp(line, owned_headers[i], nlen) == 0)
                        return false;
        return true;
}

/* Builds the request once, with a placeholder where the key goes. */
static int build_request(struct ws *w, const struct ws_conf *c)
{
        static const char fmt_head[] = "GET %s HTTP/1.1\r\nHost: %s\r\n";
        static const char fmt_ws[] = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n";
        char placeholder[KEY_B64 + 1];
        size_t cap, off;
        int n;

        if (!c->host || !c->path || !*c->host || c->path[0] != '/' || !visible(c->host, false) ||
            !visible(c->path, false) || (c->user_agent && !visible(c->user_agent, true)))
                return -EINVAL;
        cap = sizeof(fmt_head) + strlen(c->path) + strlen(c->host) + sizeof(fmt_ws) + KEY_B64 + 3;
        if (c->user_agent)
                cap += strlen(c->user_agent) + sizeof("User-Agent: \r\n");
        for (const char *const *h = c->headers; h && *h; h++) {
                if (!header_line_ok(*h))
                        return -EINVAL;
                cap += strlen(*h) + 2;
        }
        if (!(w->req = malloc(cap)))
                return -ENOMEM;
        memset(placeholder, 'A', KEY_B64);
        placeholder[KEY_B64] = '\0';
        n = snprintf(w->req, cap, fmt_head, c->path, c->host);
        off = (size_t)n;
        if (c->user_agent)
                off +=
                    (size_t)snprintf(w->req + off, cap - off, "User-Agent: %s\r\n", c->user_agent);
        for (const char *const *h = c->headers; h && *h; h++)
                off += (size_t)snprintf(w->req + off, cap - off, "%s\r\n", *h);
        w->req_key = off + strlen("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: ");
        off += (size_t)snprintf(w->req + off, cap - off, fmt_ws, placeholder);
        off += (size_t)snprintf(w->req + off, cap - off, "\r\n");
        w->req_len = off;
        return off < cap ? 0 : -EINVAL;
}

static int ws_new(struct ws **out, const struct ws_conf *conf, const struct ws_events *ev, void *ud,
                  bool client)
{
        struct ws *w;
        int rc;

        *out = NULL;
        if (!conf || !ev || !ev->emit)
                return -EINVAL;
        if (!(w = calloc(1, sizeof(*w))))
                return -ENOMEM;
        w->ev = *ev;
        w->ud = ud;
        w->client = client;
        w->max_msg = conf->max_msg ? conf->max_msg : BATCH_MAX;
        rc = client ? wslay_event_context_client_init(&w->ctx, &wslay_cbs, w)
                    : wslay_event_context_server_init(&w->ctx, &wslay_cbs, w);
        if (rc != 0) {
                w->ctx = NULL;
                rc = -ENOMEM;
                goto out;
        }
        /* The default is 2^31-1: buffer no more than a batch (§3.1). */
        wslay_event_config_set_max_recv_msg_length(w->ctx, w->max_msg);
        if (client) {
                if ((rc = build_request(w, conf)) != 0)
                        goto out;
                if (!(w->resp = malloc(sizeof(*w->resp)))) {
                        rc = -ENOMEM;
                        goto out;
                }
                http1_init(w->resp, HTTP1_RESPONSE);
                if (wc_InitRng(&w->rng) != 0) {
                        rc = WS_ERNG;
                        goto out;
                }
                w->rng_ready = true;
        }
        *out = w;
        return 0;
out:
        ws_free(w);
        return rc;
}

int ws_client_new(struct ws **out, const struct ws_conf *conf, const struct ws_events *ev, void *ud)
{
        return ws_new(out, conf, ev, ud, true);
}

int ws_server_new(struct ws **out, const struct ws_conf *conf, const struct ws_events *ev, void *ud)
{
        return ws_new(out, conf, ev, ud, false);
}

int ws_client_start(struct ws *w)
{
        uint8_t raw[KEY_RAW];
        size_t n;
        int rc;

        if (!w->client || w->state != ST_NEW)
                return -EINVAL;
        if (wc_RNG_GenerateBlock(&w->rng, raw, sizeof(raw)) != 0)
                return fail(w, WS_ERNG);
        if (b64_encode(raw, sizeof(raw), w->req + w->req_key, KEY_B64, &n) != 0 || n != KEY_B64)
                return fail(w, WS_ECRYPTO);
        if ((rc = compute_accept(w->req + w->req_key, KEY_B64, w->accept)) != 0)
                return fail(w, rc);
        w->state = ST_HANDSHAKE;
        if ((rc = emit_all(w, w->req, w->req_len)) != 0)
                return fail(w, rc);
        return 0;
}

/* The 101 must be exactly what RFC 6455 §4.1 asks for, and nothing more:
 * no extension (we offered none) and no subprotocol. */
static int check_response(struct ws *w)
{
        const struct http1_head *h = w->resp;
        const char *acc;

        if (http1_status(h) != 101)
                return WS_ESTATUS;
        if (!http1_header_has_token(h, "upgrade", "websocket"))
                return WS_EUPGRADE;
        if (!http1_header_has_token(h, "connection", "upgrade"))
                return WS_ECONNECTION;
        acc = http1_header(h, "sec-websocket-accept");
        if (!acc || http1_header_count(h, "sec-websocket-accept") != 1 ||
            strcmp(acc, w->accept) != 0)
                return WS_EACCEPT;
        if (http1_header_count(h, "sec-websocket-extensions") != 0)
                return WS_EEXTENSION;
        if (http1_header_count(h, "sec-websocket-protocol") != 0)
                return WS_EPROTOCOL;
        return 0;
}

/* RFC 6455 §4.2.1. The request target is the caller's to route on. */
static int check_request(const struct http1_head *req, const char **key)
{
        uint8_t raw[KEY_RAW];
        const char *v;
        size_t n;

        if (http1_state(req) != 1 || !http1_method(req))
                return -EINVAL;
        if (strcmp(http1_method(req), "GET") != 0)
                return WS_EMETHOD;
        if (http1_version_minor(req) < 1)
                return WS_EHTTPVER;
        if (!http1_header_has_token(req, "upgrade", "websocket"))
                return WS_EUPGRADE;
        if (!http1_header_has_token(req, "connection", "upgrade"))
                return WS_ECONNECTION;
        v = http1_header(req, "sec-websocket-version");
        if (!v || http1_header_count(req, "sec-websocket-version") != 1 || strcmp(v, "13") != 0)
                return WS_EVERSION;
        v = http1_header(req, "sec-websocket-key");
        if (!v || http1_header_count(req, "sec-websocket-key") != 1 ||
            b64_decode(v, strlen(v), raw, sizeof(raw), &n) != 0 || n != KEY_RAW)
                return WS_EKEY;
        *key = v;
        return 0;
}

int ws_server_accept(struct ws *w, const struct http1_head *req)
{
        char accept[ACCEPT_B64 + 1];
        char resp[160];
        const char *key;
        int rc, n;

        if (w->client || w->state != ST_NEW)
                return -EINVAL;
        if ((rc = check_request(req, &key)) != 0)
                return rc;
        if ((rc = compute_accept(key, strlen(key), accept)) != 0)
                return rc;
        n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
        if ((rc = emit_all(w, resp, (size_t)n)) != 0)
                return fail(w, rc);
        w->state = ST_OPEN;
        if (w->ev.on_open)
                w->ev.on_open(w->ud);
        return 0;
}

/* --- data path ---------------------------------------------------------- */

/* Hands n bytes of whole or partial frames to wslay's parser. */
static int feed_wslay(struct ws *w, const uint8_t *p, size_t n)
{
        int r;

        w->in = p;
        w->in_len = n;
        w->depth++;
        r = wslay_event_recv(w->ctx);
        w->depth--;
        w->in = NULL;
        w->in_len = 0;
        if (r == WSLAY_ERR_CALLBACK_FAILURE && w->cb_err == 0) {
                /* Our recv callback only ever says WOULDBLOCK, so this is
                 * the frame parser refusing a frame (oversized or fragmented
                 * control frame, non-minimal length, ...). wslay queued an
                 * empty close; report it as the protocol error it is. */
                w->local = WS_CLOSE_PROTOCOL;
        } else if (r != 0) {
                return fail(w, map_wslay(w, r));
        }
        return 0;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
        if (need <= *cap)
                return 0;
        uint8_t *b = realloc(*buf, need);
        if (!b)
                return -ENOMEM;
        *buf = b;
        *cap = need;
        return 0;
}

static void deliver(struct ws *w, const uint8_t *p, size_t n)
{
        if ((w->state == ST_OPEN || w->state == ST_CLOSING) && w->ev.on_message)
                w->ev.on_message(w->ud, p, n);
}

/* A frame the fast path may take: a whole binary message, masked as the
 * peer's role requires, within the size limit, while wslay is between
 * messages and still reading. Anything else (and every violation) is
 * wslay's to answer. */
static bool fast_frame(const struct ws *w, const struct ws_frame *f)
{
        return !w->wslay_msg && f->fin && f->rsv == 0 && f->opcode == WS_OP_BINARY && f->minimal &&
               f->masked == !w->client && f->len <= w->max_msg &&
               wslay_event_get_read_enabled(w->ctx);
}

/* Takes a complete frame header <f> (at hp): to wslay, or the fast path.
 * p/n are the bytes after the header; returns how many of them the frame
 * used at once (an unmasked payload already whole is delivered in place). */
static int frame_start(struct ws *w, const struct ws_frame *f, const uint8_t *hp, const uint8_t *p,
                       size_t n, size_t *used)
{
        *used = 0;
        if (!fast_frame(w, f)) {
                if (f->opcode < 8) /* data or continuation: track messages */
                        w->wslay_msg = !f->fin;
                w->fwd_left = f->len;
                return feed_wslay(w, hp, f->hlen);
        }
        if (f->len == 0 || (!f->masked && n >= f->len)) {
                /* Nothing to unmask: delivered in place. */
                *used = (size_t)f->len;
                deliver(w, p, (size_t)f->len);
                return 0;
        }
        if (grow(&w->rbuf, &w->rcap, (size_t)f->len) != 0)
                return fail(w, -ENOMEM);
        w->cur = *f;
        w->got = 0;
        w->collecting = true;
        return 0;
}

static int input_frames(struct ws *w, const uint8_t *p, size_t n)
{
        int rc = 0;

        while (n && rc == 0 && w->state != ST_FAILED) {
                size_t k;
                if (w->fwd_left) {
                        k = n < w->fwd_left ? n : (size_t)w->fwd_left;
                        rc = feed_wslay(w, p, k);
                        w->fwd_left -= k;
                } else if (w->collecting) {
                        uint64_t left = w->cur.len - w->got;
                        k = n < left ? n : (size_t)left;
                        if (w->cur.masked)
                                ws_frame_mask(w->rbuf + w->got, p, k, w->cur.mask, w->got);
                        else
                                memcpy(w->rbuf + w->got, p, k);
                        w->got += k;
                        if (w->got == w->cur.len) {
                                w->collecting = false;
                                deliver(w, w->rbuf, (size_t)w->cur.len);
                        }
                } else {
                        /* A frame starts: its header, maybe split across
                         * inputs, then its payload. */
                        struct ws_frame f;
                        const uint8_t *hp = p;
                        size_t h = w->hdr_len ? 0 : ws_frame_parse(p, n, &f), used;
                        if (h) {
                                k = h;
                        } else {
                                size_t take = sizeof(w->hdr) - w->hdr_len;
                                take = n < take ? n : take;
                                memcpy(w->hdr + w->hdr_len, p, take);
                                h = ws_frame_parse(w->hdr, w->hdr_len + take, &f);
                                if (!h) {
                                        w->hdr_len += take;
                                        k = take;
                                        p += k, n -= k;
                                        continue;
                                }
                                k = h - w->hdr_len;
                                w->hdr_len = 0;
                                hp = w->hdr;
                        }
                        rc = frame_start(w, &f, hp, p + k, n - k, &used);
                        k += used;
                }
                p += k, n -= k;
        }
        if (rc != 0)
                return rc;
        return flush(w);
}

int ws_input(struct ws *w, const uint8_t *p, size_t n)
{
        size_t used;
        int rc;

        switch (w->state) {
        case ST_NEW:
        case ST_FAILED:
                return -EINVAL;
        case ST_CLOSED:
                return 0;
        case ST_HANDSHAKE:
                rc = http1_feed(w->resp, p, n, &used);
                if (rc == 0)
                        return 0;
                if (rc < 0)
                        return fail(w, WS_EHTTP);
                if ((rc = check_response(w)) != 0)
                        return fail(w, rc);
                w->state = ST_OPEN;
                if (w->ev.on_open)
                        w->ev.on_open(w->ud);
                p += used;
                n -= used;
                if (w->state == ST_FAILED) /* on_open closed, and emit failed */
                        return -EPIPE;
                break;
        default:
                break;
        }
        if (n == 0)
                return flush(w);
        return input_frames(w, p, n);
}

/* A binary message framed here, masked with a fresh mask on the client,
 * and emitted whole: one copy instead of wslay's copy, 4 KiB framing and
 * byte-wise mask. -EAGAIN when the emitter takes none (wslay queues it). */
static int send_fast(struct ws *w, const uint8_t *p, size_t n)
{
        uint8_t mask[4];
        size_t h;
        int rc;

        if (grow(&w->sbuf, &w->scap, n + WS_FRAME_HEADER_MAX) != 0)
                return -ENOMEM;
        if (w->client) {
                if (next_mask(w, mask) != 0)
                        return fail(w, WS_ERNG);
                h = ws_frame_header(w->sbuf, WS_OP_BINARY, n, mask);
                ws_frame_mask(w->sbuf + h, p, n, mask, 0);
        } else {
                h = ws_frame_header(w->sbuf, WS_OP_BINARY, n, NULL);
                if (n) /* an empty message may come with a NULL pointer */
                        memcpy(w->sbuf + h, p, n);
        }
        rc = w->ev.emit(w->ud, w->sbuf, h + n);
        if (rc == 0 || rc == -EAGAIN)
                return rc;
        return fail(w, rc);
}

static int queue(struct ws *w, uint8_t opcode, const uint8_t *p, size_t n)
{
        struct wslay_event_msg m = {.opcode = opcode, .msg = p, .msg_length = n};
        int r;

        if (w->state == ST_NEW || w->state == ST_HANDSHAKE)
                return -ENOTCONN;
        if (w->state != ST_OPEN)
                return -EPIPE;
        if (n > w->max_msg)
                return -EMSGSIZE;
        /* Straight out when wslay has nothing queued (order holds). */
        if (opcode == WSLAY_BINARY_FRAME && !wslay_event_want_write(w->ctx)) {
                r = send_fast(w, p, n);
                if (r != -EAGAIN)
                        return r;
        }
        /* wslay copies the payload (queue_msg mallocs and memcpys it). */
        r = wslay_event_queue_msg(w->ctx, &m);
        if (r != 0)
                return map_wslay(w, r);
        return flush(w);
}

int ws_send(struct ws *w, const uint8_t *msg, size_t n)
{
        return queue(w, WSLAY_BINARY_FRAME, msg, n);
}

int ws_ping(struct ws *w, uint64_t token)
{
        uint8_t b[8];

        put_be64(b, token);
        return queue(w, WSLAY_PING, b, sizeof(b));
}

static bool close_code_ok(uint16_t code)
{
        /* RFC 6455 §7.4: codes an endpoint may put on the wire. */
        return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
               (code >= 3000 && code <= 4999);
}

int ws_close(struct ws *w, uint16_t code, const char *reason)
{
        size_t rlen = reason ? strlen(reason) : 0;
        int r;

        if (w->state == ST_NEW || w->state == ST_HANDSHAKE)
                return -ENOTCONN;
        if (w->state != ST_OPEN)
                return w->state == ST_FAILED ? -EPIPE : 0;
        if (!close_code_ok(code) || rlen > 123)
                return -EINVAL;
        /* queue_close, not queue_msg: wslay#72 mishandles the latter. */
        r = wslay_event_queue_close(w->ctx, code, (const uint8_t *)reason, rlen);
        if (r == WSLAY_ERR_NO_MORE_MSG)
                return 0; /* wslay is closing already (a violation) */
        if (r != 0)
                return map_wslay(w, r);
        w->state = ST_CLOSING;
        return flush(w);
}

int ws_flush(struct ws *w)
{
        if (w->state == ST_FAILED)
                return -EPIPE;
        if (w->state == ST_NEW || w->state == ST_HANDSHAKE)
                return 0;
        return flush(w);
}

size_t ws_queued(const struct ws *w)
{
        return wslay_event_get_queued_msg_length(w->ctx);
}

bool ws_want_write(const struct ws *w)
{
        return w->state != ST_FAILED && wslay_event_want_write(w->ctx);
}

bool ws_is_open(const struct ws *w)
{
        return w->state == ST_OPEN && wslay_event_get_read_enabled(w->ctx) &&
               wslay_event_get_write_enabled(w->ctx);
}

const struct http1_head *ws_response(const struct ws *w)
{
        /* Complete (1) or failed (< 0); nothing to show while in progress. */
        if (!w->client || http1_state(w->resp) == 0)
                return NULL;
        return w->resp;
}

int ws_handshake_status(const struct ws *w, const char **reason)
{
        const struct http1_head *h = ws_response(w);

        if (reason)
                *reason = h && http1_state(h) == 1 ? http1_reason(h) : "";
        return h && http1_state(h) == 1 ? http1_status(h) : 0;
}

void ws_free(struct ws *w)
{
        if (!w)
                return;
        if (w->ctx)
                wslay_event_context_free(w->ctx);
        if (w->rng_ready)
                wc_FreeRng(&w->rng);
        free(w->resp);
        free(w->req);
        free(w->rbuf);
        free(w->sbuf);
        free(w);
}

const char *ws_strerror(int err)
{
        switch (err) {
        case 0:
                return "success";
        case WS_EHTTP:
                return "the answer is not a valid HTTP/1.1 response";
        case WS_ESTATUS:
                return "the answer is not 101 Switching Protocols";
        case WS_EUPGRADE:
                return "Upgrade: websocket missing";
        case WS_ECONNECTION:
                return "Connection: Upgrade missing";
        case WS_EACCEPT:
                return "Sec-WebSocket-Accept missing or wrong";
        case WS_EEXTENSION:
                return "the server accepted a WebSocket extension nobody offered";
        case WS_EPROTOCOL:
                return "the server chose a WebSocket subprotocol nobody offered";
        case WS_EMETHOD:
                return "WebSocket upgrade request is not GET";
        case WS_EHTTPVER:
                return "WebSocket upgrade request is not HTTP/1.1";
        case WS_EVERSION:
                return "Sec-WebSocket-Version is not 13";
        case WS_EKEY:
                return "Sec-WebSocket-Key is not 16 bytes in base64";
        case WS_ERNG:
                return "random number generator failed";
        case WS_ECRYPTO:
                return "SHA-1 failed";
        case -EINVAL:
                return "invalid argument or state";
        case -ENOMEM:
                return "out of memory";
        case -ENOTCONN:
                return "WebSocket not open yet";
        case -EPIPE:
                return "WebSocket closing or closed";
        case -EMSGSIZE:
                return "message over the size limit";
        case -EAGAIN:
                return "emit would block during the handshake";
        }
        if (err <= -4601 && err >= -4699)
                return http1_strerror(err);
        return "unknown error";
}
