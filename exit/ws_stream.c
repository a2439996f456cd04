/* ws_stream: the exit's `GET /stream` WebSocket transport; see server_priv.h.
 *
 * One binary message is one batch. The first batch names the connection's
 * client; a batch that does not authenticate, or names another client, ends
 * the connection without a word (docs/protocol.md §5.1), except that an
 * authenticated first batch that finds its key's instances all busy gets a
 * close TUNNEL_LIMIT_WS_CODE, "instance limit reached". A newer WebSocket
 * of the same client replaces the older one. Pings every HEARTBEAT_MS find
 * a dead path: a connection silent for SILENCE_MS is dropped, and its
 * client's grace period starts.
 */
#include "exit/server_priv.h"

#include "core/hostenv.h"
#include "core/log.h"
#include "transport/ws.h"

#include <errno.h>

#define TRANSPORT_HIGH (4u << 20) /* bytes queued to a client before we stop building */
#define HEARTBEAT_MS   20000      /* ping every tunnel this often... */
#define SILENCE_MS     60000      /* ...and drop one silent this long */

void ws_stream_flush(struct hconn *h)
{
        struct client *cl = h->cl;
        const uint8_t *msg;
        size_t len;

        if (!cl)
                return;
        while (h->state == H_WS && reactor_conn_queued(h->c) < TRANSPORT_HIGH) {
                int ret = tunnel_next_batch(&cl->tun, &msg, &len);
                if (ret <= 0) {
                        if (ret < 0)
                                log_error("sealing a batch failed: %s", batch_strerror(ret));
                        return;
                }
                if (ws_send(h->ws, msg, len) < 0) {
                        hconn_abort(h);
                        return;
                }
        }
}

static void on_batch(void *ud, const uint8_t *p, size_t n)
{
        struct hconn *h = ud;
        struct server *srv = h->srv;
        struct client *cl;

        if (h->state != H_WS || h->limited)
                return;
        h->last_rx_ms = reactor_now_ms(srv->r);
        int ret = clients_deliver(srv, h, p, n, &cl);
        if (ret == -EUSERS) {
                /* Authenticated, so the client may hear why: it retries
                 * later. The connection closes once ws_input returns. */
                ws_close(h->ws, TUNNEL_LIMIT_WS_CODE, TUNNEL_LIMIT_REASON);
                h->limited = true;
                return;
        }
        if (ret == -EALREADY && h->cl)
                return; /* a duplicate on the client's own tunnel: ignored */
        if (ret == -EAGAIN) {
                /* Not proved yet: the challenge, and this connection stays
                 * a stranger's until a batch proves it. */
                if (ws_send(h->ws, srv->chal, srv->chal_len) < 0)
                        hconn_abort(h);
                return;
        }
        if (ret < 0) {
                /* A replay on a new WebSocket never takes the client's
                 * downstream: the connection goes, as for a stranger. */
                hconn_abort(h);
                return;
        }
        if (!h->cl) {
                if (cl->ws && cl->ws != h)
                        cl->ws->cl = NULL; /* the newer tunnel wins */
                cl->ws = h;
                h->cl = cl;
                client_transport_changed(cl);
        }
        client_sched_flush(cl);
}

static int ws_emit(void *ud, const uint8_t *p, size_t n)
{
        return hconn_out(ud, p, n);
}

static void on_ws_close(void *ud, uint16_t code)
{
        struct hconn *h = ud;
        (void)code;
        if (h->state != H_CLOSING) {
                h->state = H_CLOSING;
                reactor_conn_close(h->c, REACTOR_CLOSE_FLUSH);
        }
}

static void on_pong(void *ud, uint64_t token)
{
        struct hconn *h = ud;
        (void)token;
        h->last_rx_ms = reactor_now_ms(h->srv->r);
}

static const struct ws_events exit_ws_events = {
    .emit = ws_emit,
    .on_message = on_batch,
    .on_pong = on_pong,
    .on_close = on_ws_close,
};

static void heartbeat_tick(struct timer *t, void *arg)
{
        struct hconn *h = arg;
        uint64_t now = reactor_now_ms(h->srv->r);

        (void)t;
        if (h->state != H_WS)
                return;
        if (now - h->last_rx_ms > SILENCE_MS) {
                log_info("tunnel silent for %llu s, dropping it",
                         (unsigned long long)((now - h->last_rx_ms) / 1000));
                hconn_abort(h);
                return;
        }
        ws_ping(h->ws, now);
        reactor_timer_start(h->srv->r, &h->heartbeat, HEARTBEAT_MS, heartbeat_tick, h);
}

void ws_stream_start(struct hconn *h, const uint8_t *rest, size_t n)
{
        struct ws_conf wc = {.max_msg = BATCH_MAX};

        if (ws_server_new(&h->ws, &wc, &exit_ws_events, h) < 0 ||
            ws_server_accept(h->ws, &h->msg.head) < 0) {
                hconn_send_decoy(h);
                return;
        }
        h->state = H_WS;
        while (!h->chal_nonce)
                hostenv_random(&h->chal_nonce, sizeof(h->chal_nonce));
        reactor_timer_stop(h->srv->r, &h->deadline);
        h->last_rx_ms = reactor_now_ms(h->srv->r);
        reactor_timer_start(h->srv->r, &h->heartbeat, HEARTBEAT_MS, heartbeat_tick, h);
        if (n)
                ws_stream_input(h, rest, n);
}

void ws_stream_input(struct hconn *h, const uint8_t *p, size_t n)
{
        if (ws_input(h->ws, p, n) < 0 && h->state == H_WS)
                hconn_abort(h);
        else if (h->limited && h->state == H_WS)
                hconn_reply_close(h, NULL, 0); /* after the close frame */
}

void ws_stream_closed(struct hconn *h)
{
        reactor_timer_stop(h->srv->r, &h->heartbeat);
        if (h->cl && h->cl->ws == h) {
                h->cl->ws = NULL;
                client_transport_changed(h->cl);
        }
        h->cl = NULL;
        if (h->ws)
                ws_free(h->ws);
        h->ws = NULL;
}
