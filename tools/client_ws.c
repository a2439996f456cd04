/* client_ws: the client half of the WebSocket transport; see client_priv.h.
 *
 * One link is one connection to one endpoint: TCP (TLS for wss://), the
 * upgrade to a WebSocket, then one binary message per batch each way. The
 * first batch is a PING (with REWIND when the client has had a tunnel
 * before, so the exit resends what the old one lost); the authentic answer
 * proves the link. Pings every `heartbeat` seconds keep a silent link
 * honest: silence for `heartbeat_timeout` ends it. Whatever ends a link is
 * reported once to the runtime (client_link_failed), with a verdict: a
 * network trouble, an answer that is not an urelay exit taking our key, or
 * the exit's "instance limit reached" (close code TUNNEL_LIMIT_WS_CODE).
 */
#include "tools/client_priv.h"

#include "core/log.h"
#include "exit/dns.h"
#include "tools/client_pool.h"
#include "transport/tls.h"
#include "transport/ws.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_TIMEOUT_MS 5000
#define TUNNEL_HIGH     (4u << 20)

struct wslink {
        struct crt *rt;
        struct endpoint *ep;
        enum tstate state;
        struct rconn *tc;
        struct tls *tls;
        struct ws *ws;
        struct dns_query *dq;
        struct timer auth, heartbeat, reap;
        uint64_t last_rx_ms, started_ms;
        bool dead;
};

static void link_free(struct wslink *l)
{
        struct reactor *r = l->rt->r;

        reactor_timer_stop(r, &l->auth);
        reactor_timer_stop(r, &l->heartbeat);
        reactor_timer_stop(r, &l->reap);
        if (l->dq)
                dns_cancel(l->dq);
        if (l->ws)
                ws_free(l->ws);
        if (l->tls)
                tls_free(l->tls);
        ep_release(l->ep);
        free(l);
}

static void reap_timer(struct timer *t, void *arg)
{
        (void)t;
        link_free(arg);
}

/* Ends the link (once) and tells the runtime; the memory goes when the
 * connection has closed. */
static void link_fail(struct wslink *l, enum link_verdict v, const char *why)
{
        struct crt *rt = l->rt;

        if (l->dead)
                return;
        l->dead = true;
        l->ep->inflight--;
        reactor_timer_stop(rt->r, &l->auth);
        reactor_timer_stop(rt->r, &l->heartbeat);
        if (l->tc)
                reactor_conn_close(l->tc, REACTOR_CLOSE_RESET);
        else
                reactor_timer_start(rt->r, &l->reap, 0, reap_timer, l);
        client_link_failed(rt, l->ep, v, why);
}

void wslink_free(struct wslink *l)
{
        if (!l)
                return;
        if (!l->dead) {
                l->dead = true;
                l->ep->inflight--;
        }
        if (l->tc) {
                reactor_conn_set_ud(l->tc, NULL);
                reactor_conn_close(l->tc, REACTOR_CLOSE_RESET);
                l->tc = NULL;
        }
        link_free(l);
}

void wslink_kick(struct wslink *l)
{
        struct crt *rt = l->rt;
        const uint8_t *msg;
        size_t len;

        while (!l->dead && l->state >= T_PROVING && reactor_conn_queued(l->tc) < TUNNEL_HIGH) {
                int ret = tunnel_next_batch(&rt->tun, &msg, &len);
                if (ret <= 0) {
                        if (ret < 0)
                                log_error("sealing a batch failed: %s", batch_strerror(ret));
                        return;
                }
                if (ws_send(l->ws, msg, len) < 0) {
                        link_fail(l, LINK_NET, "cannot queue a message");
                        return;
                }
        }
}

/* What an ending before the proof means. */
static void fail_unproven(struct wslink *l, const char *why)
{
        char msg[2560];
        const char *reason = "";
        int status = l->ws ? ws_handshake_status(l->ws, &reason) : 0;

        if (l->state < T_HANDSHAKE) {
                link_fail(l, LINK_NET, why);
                return;
        }
        if (status && status != 101) {
                snprintf(msg, sizeof(msg),
                         "%s answered HTTP %d %s instead of a WebSocket upgrade: it is not an "
                         "urelay exit at that URL (check the endpoint URL)",
                         l->ep->name, status, reason);
                link_fail(l, LINK_REFUSED, msg);
        } else if (!strncmp(why, "TLS: ", 5)) {
                snprintf(msg, sizeof(msg),
                         "TLS with %s failed (%s): check --ca-file and --sni, or that the "
                         "endpoint serves TLS",
                         l->ep->name, why + 5);
                link_fail(l, LINK_REFUSED, msg);
        } else if (l->state == T_PROVING) {
                snprintf(msg, sizeof(msg),
                         "%s accepted the WebSocket but refused our first batch (%s): the exit "
                         "does not accept this key (check the key file)",
                         l->ep->name, why);
                link_fail(l, LINK_SUSPECT, msg);
        } else {
                /* Cut during the handshake: the path, not a verdict. */
                link_fail(l, LINK_NET, why);
        }
}

static void down(struct wslink *l, const char *why)
{
        if (l->dead)
                return;
        if (l->state != T_UP)
                fail_unproven(l, why);
        else
                link_fail(l, LINK_NET, why);
}

/* ---- TLS under the WebSocket ---- */

static int tls_emit(void *ud, const uint8_t *p, size_t n)
{
        struct wslink *l = ud;
        return reactor_send(l->tc, p, n);
}

static void ws_feed(struct wslink *l, const uint8_t *p, size_t n)
{
        int ret;

        if (!l->ws || l->dead)
                return;
        ret = ws_input(l->ws, p, n);
        if (ret < 0 && !l->dead)
                down(l, ws_strerror(ret));
}

static void tls_ready(void *ud)
{
        struct wslink *l = ud;
        log_debug("TLS to %s: %s %s", l->ep->name, tls_version(l->tls), tls_cipher(l->tls));
        if (ws_client_start(l->ws) < 0)
                down(l, "cannot start the WebSocket handshake");
}

static void tls_data(void *ud, const uint8_t *p, size_t n)
{
        ws_feed(ud, p, n);
}

static void tls_closed(void *ud)
{
        down(ud, "it ended TLS");
}

static const struct tls_events link_tls_events = {
    .emit = tls_emit,
    .on_ready = tls_ready,
    .on_data = tls_data,
    .on_close = tls_closed,
};

/* ---- the WebSocket ---- */

static int ws_emit(void *ud, const uint8_t *p, size_t n)
{
        struct wslink *l = ud;
        return l->tls ? tls_send(l->tls, p, n) : reactor_send(l->tc, p, n);
}

static void ws_open(void *ud)
{
        struct wslink *l = ud;
        struct crt *rt = l->rt;

        /* Prove the key: any authenticated batch back (the PONG) will do.
         * After an earlier tunnel, the PING also asks the exit to resend
         * what that one lost, and our unacknowledged frames go again. */
        l->state = T_PROVING;
        int ret = rt->proven ? mux_recover(rt->mux, 1) : mux_ping(rt->mux, 1);
        if (ret < 0)
                down(l, "cannot send the first batch");
        else
                wslink_kick(l);
}

static void heartbeat_tick(struct timer *t, void *arg)
{
        struct wslink *l = arg;
        struct crt *rt = l->rt;
        uint64_t now = reactor_now_ms(rt->r);

        (void)t;
        if (l->dead)
                return;
        if (now - l->last_rx_ms > (uint64_t)rt->cfg->heartbeat_timeout * 1000) {
                char why[96];
                snprintf(why, sizeof(why), "no answer to heartbeats for %llu s",
                         (unsigned long long)((now - l->last_rx_ms) / 1000));
                link_fail(l, LINK_NET, why);
                return;
        }
        ws_ping(l->ws, now);
        reactor_timer_start(rt->r, &l->heartbeat, (uint64_t)rt->cfg->heartbeat * 1000,
                            heartbeat_tick, l);
}

static void ws_pong(void *ud, uint64_t token)
{
        struct wslink *l = ud;
        uint64_t now = reactor_now_ms(l->rt->r);

        l->last_rx_ms = now;
        if (token && token <= now)
                ep_success(l->ep, (uint32_t)(now - token));
}

static void ws_message(void *ud, const uint8_t *p, size_t n)
{
        struct wslink *l = ud;
        struct crt *rt = l->rt;
        int ret;

        if (l->dead)
                return;
        ret = client_batch_in(rt, p, n);
        if (ret < 0) {
                char why[160];
                snprintf(why, sizeof(why), "a batch that did not authenticate (%s)",
                         batch_strerror(ret));
                log_error("tunnel to %s: %s", l->ep->name, why);
                down(l, why);
                return;
        }
        l->last_rx_ms = reactor_now_ms(rt->r);
        if (l->state == T_PROVING && ret == 0) {
                l->state = T_UP;
                reactor_timer_stop(rt->r, &l->auth);
                ep_success(l->ep, (uint32_t)(l->last_rx_ms - l->started_ms));
                reactor_timer_start(rt->r, &l->heartbeat, (uint64_t)rt->cfg->heartbeat * 1000,
                                    heartbeat_tick, l);
                client_link_proven(rt, l->ep);
        }
        client_kick(rt);
}

static void ws_closed(void *ud, uint16_t code)
{
        char why[64];

        if (code == TUNNEL_LIMIT_WS_CODE) {
                /* Only after our batch authenticated: a full table at the
                 * exit, before or after the proof, never a wrong key. */
                link_fail(ud, LINK_LIMIT, "the exit said: " TUNNEL_LIMIT_REASON);
                return;
        }
        snprintf(why, sizeof(why), "it closed the WebSocket (code %u)", code);
        down(ud, why);
}

static const struct ws_events link_ws_events = {
    .emit = ws_emit,
    .on_open = ws_open,
    .on_message = ws_message,
    .on_pong = ws_pong,
    .on_close = ws_closed,
};

static void auth_timeout(struct timer *t, void *arg)
{
        (void)t;
        down(arg, "no authenticated answer to our first batch within 5 s");
}

/* ---- the connection ---- */

static void t_connect(struct rconn *c, void *ud, int res)
{
        struct wslink *l = ud;
        struct crt *rt;

        if (!l)
                return;
        rt = l->rt;
        struct ws_conf wc = {
            .max_msg = BATCH_MAX, .host = l->ep->host_header, .path = l->ep->url.path};
        if (res < 0) {
                char why[96];
                snprintf(why, sizeof(why), "cannot connect: %s", strerror(-res));
                link_fail(l, LINK_NET, why);
                return;
        }
        client_tune_socket(reactor_conn_fd(c)); /* keepalive, TCP_NODELAY */
        l->state = T_HANDSHAKE;
        l->started_ms = reactor_now_ms(rt->r);
        if (ws_client_new(&l->ws, &wc, &link_ws_events, l) < 0 ||
            (l->ep->tls
                 ? tls_client_new(&l->tls, rt->tls_ctx, l->ep->sni, &link_tls_events, l) < 0 ||
                       tls_start(l->tls) < 0
                 : ws_client_start(l->ws) < 0)) {
                link_fail(l, LINK_NET, "cannot set up the tunnel (out of memory?)");
                return;
        }
        reactor_timer_start(rt->r, &l->auth, AUTH_TIMEOUT_MS, auth_timeout, l);
}

static void t_recv(struct rconn *c, void *ud, const uint8_t *p, size_t n)
{
        struct wslink *l = ud;
        (void)c;
        if (!l || l->dead)
                return;
        if (!l->tls) {
                ws_feed(l, p, n);
                return;
        }
        if (tls_input(l->tls, p, n) < 0 && !l->dead) {
                char why[512];
                snprintf(why, sizeof(why), "TLS: %s", tls_last_error(l->tls));
                down(l, why);
        }
}

static void t_drain(struct rconn *c, void *ud)
{
        (void)c;
        if (ud)
                wslink_kick(ud);
}

static void t_eof(struct rconn *c, void *ud)
{
        (void)c;
        if (ud)
                down(ud, "it closed the connection");
}

static void t_error(struct rconn *c, void *ud, int err)
{
        (void)c;
        if (ud)
                down(ud, strerror(-err));
}

static void t_close(struct rconn *c, void *ud)
{
        struct wslink *l = ud;
        (void)c;
        if (!l)
                return;
        l->tc = NULL;
        if (!l->dead)
                link_fail(l, LINK_NET, "the connection closed");
        link_free(l);
}

static const struct rconn_ops link_ops = {
    .on_connect = t_connect,
    .on_recv = t_recv,
    .on_drain = t_drain,
    .on_eof = t_eof,
    .on_error = t_error,
    .on_close = t_close,
};

static void dial(struct wslink *l)
{
        struct crt *rt = l->rt;
        int ret;

        l->state = T_CONNECTING;
        ret = reactor_connect(rt->r, (const struct sockaddr *)&l->ep->sa, l->ep->sa_len,
                              CONNECT_TIMEOUT_MS, &link_ops, l, &l->tc);
        if (ret < 0) {
                char why[96];
                l->tc = NULL;
                snprintf(why, sizeof(why), "cannot connect: %s", strerror(-ret));
                link_fail(l, LINK_NET, why);
        }
}

static void resolved(void *arg, int status, const struct sockaddr_storage *addrs, size_t n)
{
        struct wslink *l = arg;

        l->dq = NULL;
        if (status < 0 || n == 0) {
                char why[NETADDR_HOST_MAX + 64];
                snprintf(why, sizeof(why), "cannot resolve %s: %s", l->ep->url.addr.host,
                         strerror(status < 0 ? -status : ENOENT));
                link_fail(l, LINK_NET, why);
                return;
        }
        ep_resolved(l->ep, addrs, n);
        dial(l);
}

int wslink_start(struct crt *rt, struct endpoint *ep, struct wslink **out)
{
        struct wslink *l = calloc(1, sizeof(*l));

        if (!l)
                return -ENOMEM;
        l->rt = rt;
        l->ep = ep;
        ep_hold(ep);
        ep->inflight++;
        ep->uses++;
        *out = l;
        if (ep_addr_known(ep)) {
                dial(l);
        } else if (ep_resolve(ep, ep->url.addr.host, resolved, l, &l->dq) < 0) {
                l->dq = NULL;
                link_fail(l, LINK_NET, "cannot start the resolver");
        }
        return 0;
}

struct endpoint *wslink_endpoint(const struct wslink *l)
{
        return l->ep;
}
