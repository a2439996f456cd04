/* server: the exit runtime; see server.h.
 *
 * Connections start as HTTP requests (struct hconn). `GET /stream` with a
 * valid Upgrade becomes a WebSocket tunnel; every other request, and any
 * tunnel whose batches do not authenticate, gets the same decoy, so probing
 * learns nothing about keys or paths (BRIEF §5). An authenticated batch
 * names its client: (key, instance id). Each client has its own mux, so a
 * frame can only ever name that client's sessions.
 */
#include "exit/server.h"

#include "core/aead.h"
#include "core/frame.h"
#include "core/log.h"
#include "core/mux.h"
#include "core/reactor.h"
#include "core/sigwatch.h"
#include "core/sockpipe.h"
#include "core/tunnel.h"
#include "exit/dialer.h"
#include "exit/dns.h"
#include "exit/egress.h"
#include "tools/cmd.h"
#include "transport/http1.h"
#include "transport/tls.h"
#include "transport/ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER_DEADLINE_MS 10000
#define DIAL_TIMEOUT_MS    10000
#define GRACE_MS           30000
#define BATCH_FRAMES       (256 * 1024)
#define TRANSPORT_HIGH     (4u << 20) /* bytes queued to a client before we stop building */
#define MAX_INSTANCES      8          /* live client instances per key */
#define HEARTBEAT_MS       20000      /* ping every tunnel this often... */
#define SILENCE_MS         60000      /* ...and drop one silent this long */

static const char decoy[] = "HTTP/1.1 404 Not Found\r\n"
                            "Content-Type: text/plain\r\n"
                            "Content-Length: 10\r\n"
                            "Connection: close\r\n"
                            "\r\n"
                            "not found\n";
static const char bad_request[] = "HTTP/1.1 400 Bad Request\r\n"
                                  "Content-Type: text/plain\r\n"
                                  "Content-Length: 12\r\n"
                                  "Connection: close\r\n"
                                  "\r\n"
                                  "bad request\n";

struct exit_key {
        struct aead_keys keys;
        struct batch_opener opener;
        char id[KEY_ID_HEX_LEN + 1];
};

struct server;
struct hconn;

struct upstream;

struct client {
        struct server *srv;
        struct client *next;
        size_t key;
        uint64_t instance;
        struct mux *mux;
        struct tunnel tun;
        struct hconn *transport;
        struct upstream *ups; /* every session's upstream, dialing or piped */
        struct timer flush, grace;
};

/* An upstream connection being dialed or relayed for one session. */
struct upstream {
        struct client *cl; /* NULL once the client is gone */
        struct upstream *prev, *next;
        struct msess *s;
        struct dial *dial; /* while dialing */
        struct sockpipe pipe;
        int piped;
};

enum hstate { H_HEAD, H_WS, H_CLOSING };

struct hconn {
        struct server *srv;
        struct rconn *c;
        enum hstate state;
        struct http1_head head;
        struct timer deadline, heartbeat;
        uint64_t last_rx_ms;
        struct tls *tls; /* when the exit serves TLS */
        struct ws *ws;
        struct client *cl;
};

struct server {
        const struct config_exit *cfg;
        struct reactor *r;
        struct exit_key *keys;
        size_t nkeys;
        struct rconn *listener;
        struct tls_ctx *tls_ctx;
        struct dns *dns;
        struct dialer *dialer;
        struct egress_policy egress;
        struct client *clients;
        struct sigwatch sig;
        int stopping;
        uint8_t *scratch;
        uint64_t refused_batches, decoys;
};

/* ---- clients ---- */

static void client_flush(struct client *cl);

static void flush_timer(struct timer *t, void *arg)
{
        (void)t;
        client_flush(arg);
}

static void client_free(struct client *cl)
{
        struct server *srv = cl->srv;

        for (struct client **p = &srv->clients; *p; p = &(*p)->next) {
                if (*p == cl) {
                        *p = cl->next;
                        break;
                }
        }
        reactor_timer_stop(srv->r, &cl->flush);
        reactor_timer_stop(srv->r, &cl->grace);
        if (cl->transport)
                cl->transport->cl = NULL;
        /* mux_free calls nothing back: abort every upstream here (RST). */
        while (cl->ups) {
                struct upstream *u = cl->ups;
                cl->ups = u->next;
                u->cl = NULL;
                if (u->dial) {
                        dialer_cancel(u->dial);
                        free(u);
                } else if (u->piped) {
                        sockpipe_abort(&u->pipe);
                } else {
                        free(u);
                }
        }
        mux_free(cl->mux);
        tunnel_free(&cl->tun);
        free(cl);
}

static void grace_over(struct timer *t, void *arg)
{
        struct client *cl = arg;

        (void)t;
        log_info("client %s/%016llx: transport gone for %u s, closing its sessions",
                 cl->srv->keys[cl->key].id, (unsigned long long)cl->instance, GRACE_MS / 1000);
        client_free(cl);
}

static void client_flush(struct client *cl)
{
        const uint8_t *msg;
        size_t len;

        while (cl->transport && cl->transport->state == H_WS &&
               reactor_conn_queued(cl->transport->c) < TRANSPORT_HIGH) {
                int ret = tunnel_next_batch(&cl->tun, &msg, &len);
                if (ret <= 0) {
                        if (ret < 0)
                                log_error("sealing a batch failed: %s", batch_strerror(ret));
                        return;
                }
                if (ws_send(cl->transport->ws, msg, len) < 0) {
                        reactor_conn_close(cl->transport->c, REACTOR_CLOSE_RESET);
                        return;
                }
        }
}

static void sched_flush(struct client *cl)
{
        if (!timer_armed(&cl->flush))
                reactor_timer_start(cl->srv->r, &cl->flush, 0, flush_timer, cl);
}

/* ---- upstream sessions (mux callbacks) ---- */

static void up_link(struct client *cl, struct upstream *u)
{
        u->cl = cl;
        u->prev = NULL;
        u->next = cl->ups;
        if (cl->ups)
                cl->ups->prev = u;
        cl->ups = u;
}

/* Unlinks and frees <u>. */
static void up_drop(struct upstream *u)
{
        if (u->cl) {
                if (u->prev)
                        u->prev->next = u->next;
                else
                        u->cl->ups = u->next;
                if (u->next)
                        u->next->prev = u->prev;
        }
        free(u);
}

static void up_free(struct sockpipe *p)
{
        up_drop((struct upstream *)((char *)p - offsetof(struct upstream, pipe)));
}

static void up_recv(struct rconn *c, void *ud, const uint8_t *d, size_t n)
{
        (void)c;
        sockpipe_recv(&((struct upstream *)ud)->pipe, d, n);
}
static void up_eof(struct rconn *c, void *ud)
{
        (void)c;
        sockpipe_eof(&((struct upstream *)ud)->pipe);
}
static void up_drain(struct rconn *c, void *ud)
{
        (void)c;
        sockpipe_drain(&((struct upstream *)ud)->pipe);
}
static void up_error(struct rconn *c, void *ud, int err)
{
        (void)c;
        sockpipe_error(&((struct upstream *)ud)->pipe, err);
}
static void up_close(struct rconn *c, void *ud)
{
        (void)c;
        sockpipe_conn_closed(&((struct upstream *)ud)->pipe);
}

static const struct rconn_ops up_ops = {
    .on_recv = up_recv,
    .on_eof = up_eof,
    .on_drain = up_drain,
    .on_error = up_error,
    .on_close = up_close,
};

static void dialed(void *arg, const struct dial_result *res)
{
        struct upstream *u = arg;
        struct rconn *c;
        int fd = res->fd;

        u->dial = NULL;
        if (res->reason) {
                log_debug("dial failed: %s%s", frame_rst_name(res->reason),
                          res->suppressed ? " (target in back-off)" : "");
                mux_reject(u->s, res->reason);
                up_drop(u);
                return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (reactor_conn_add(u->cl->srv->r, fd, &up_ops, u, &c) < 0) {
                close(fd);
                mux_reject(u->s, FRAME_RST_CAP);
                up_drop(u);
                return;
        }
        sockpipe_init(&u->pipe, c, u->s, up_free);
        u->piped = 1;
        mux_accept(u->s);
}

/* Live sessions over every client: the global cap. The per-client cap is
 * the mux's own (mux_set_max_sessions). */
static size_t sessions_open(const struct server *srv)
{
        struct mux_stats st;
        size_t n = 0;

        for (const struct client *cl = srv->clients; cl; cl = cl->next) {
                mux_get_stats(cl->mux, &st);
                n += st.sessions_open;
        }
        return n;
}

static void m_open(void *ud, struct msess *s, const struct frame_target *t)
{
        struct client *cl = ud;
        struct server *srv = cl->srv;
        struct upstream *u;

        /* This session already counts among the open ones. */
        if (srv->stopping || sessions_open(srv) > (size_t)srv->cfg->max_sessions) {
                mux_reject(s, FRAME_RST_CAP);
                return;
        }
        u = calloc(1, sizeof(*u));
        if (!u) {
                mux_reject(s, FRAME_RST_CAP);
                return;
        }
        up_link(cl, u);
        u->s = s;
        mux_set_ud(s, u);
        if (dialer_dial(srv->dialer, t, DIAL_TIMEOUT_MS, dialed, u, &u->dial) < 0) {
                mux_reject(s, FRAME_RST_GENERAL);
                up_drop(u);
        }
}

static struct upstream *up_of(struct msess *s)
{
        return mux_ud(s);
}

static void m_data(void *ud, struct msess *s, const uint8_t *p, size_t n)
{
        struct upstream *u = up_of(s);
        (void)ud;
        if (u && u->piped)
                sockpipe_data(&u->pipe, p, n);
}

static void m_fin(void *ud, struct msess *s)
{
        struct upstream *u = up_of(s);
        (void)ud;
        if (u && u->piped)
                sockpipe_fin(&u->pipe);
}

static void m_writable(void *ud, struct msess *s)
{
        struct upstream *u = up_of(s);
        (void)ud;
        if (u && u->piped)
                sockpipe_writable(&u->pipe);
}

static void m_reset(void *ud, struct msess *s, uint8_t reason)
{
        struct upstream *u = up_of(s);
        (void)ud;
        if (u && u->piped)
                sockpipe_reset(&u->pipe, reason);
}

static void m_closed(void *ud, struct msess *s)
{
        struct upstream *u = up_of(s);

        (void)ud;
        if (!u)
                return;
        mux_set_ud(s, NULL);
        if (u->dial) {
                /* The client reset the session while we were dialing. */
                dialer_cancel(u->dial);
                up_drop(u);
        } else if (u->piped) {
                sockpipe_sess_closed(&u->pipe);
        }
}

static void m_pending(void *ud)
{
        sched_flush(ud);
}

static const struct mux_ops exit_mux_ops = {
    .on_open = m_open,
    .on_data = m_data,
    .on_fin = m_fin,
    .on_writable = m_writable,
    .on_reset = m_reset,
    .on_closed = m_closed,
    .on_pending = m_pending,
};

static struct client *client_get(struct server *srv, size_t key, uint64_t instance,
                                 enum aead_alg alg)
{
        struct client *cl;
        unsigned same_key = 0;

        for (cl = srv->clients; cl; cl = cl->next) {
                if (cl->key == key && cl->instance == instance)
                        return cl;
                same_key += cl->key == key;
        }
        if (same_key >= MAX_INSTANCES) {
                /* Each instance costs a mux and its batch buffers: a key
                 * (a user) cannot mint them without bound. Old instances
                 * go after their grace period. */
                log_warn("key %s: %u client instances live already; refusing another",
                         srv->keys[key].id, same_key);
                return NULL;
        }
        cl = calloc(1, sizeof(*cl));
        if (!cl)
                return NULL;
        cl->srv = srv;
        cl->key = key;
        cl->instance = instance;
        if (mux_new(MUX_EXIT, MUX_DEFAULT_WINDOW, &exit_mux_ops, cl, &cl->mux) < 0) {
                free(cl);
                return NULL;
        }
        if (tunnel_init(&cl->tun, cl->mux, &srv->keys[key].keys, alg, AEAD_S2C, instance,
                        BATCH_FRAMES) < 0) {
                mux_free(cl->mux);
                free(cl);
                return NULL;
        }
        mux_set_max_sessions(cl->mux, (uint32_t)srv->cfg->max_sessions_per_client);
        cl->next = srv->clients;
        srv->clients = cl;
        log_info("client %s/%016llx: first authenticated batch", srv->keys[key].id,
                 (unsigned long long)instance);
        return cl;
}

/* ---- HTTP connections ---- */

/* Everything the exit says to a connection goes through here (and TLS). */
static int hconn_out(struct hconn *h, const void *p, size_t n)
{
        return h->tls ? tls_send(h->tls, p, n) : reactor_send(h->c, p, n);
}

static void hconn_reply_close(struct hconn *h, const char *resp, size_t len)
{
        h->state = H_CLOSING;
        reactor_timer_stop(h->srv->r, &h->deadline);
        hconn_out(h, resp, len);
        if (h->tls)
                tls_close(h->tls);
        reactor_conn_close(h->c, REACTOR_CLOSE_FLUSH);
}

static void send_decoy(struct hconn *h)
{
        h->srv->decoys++;
        hconn_reply_close(h, decoy, sizeof(decoy) - 1);
}

static void send_health(struct hconn *h)
{
        char body[128], resp[512];
        int bn = snprintf(body, sizeof(body), "{\"ok\":true,\"version\":\"%s\",\"protocol\":%d}\n",
                          URELAY_VERSION, BATCH_VERSION);
        int n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                         bn, body);
        hconn_reply_close(h, resp, (size_t)n);
}

/* A batch from a tunnel: authenticate, find its client, deliver. */
static void on_batch(void *ud, const uint8_t *p, size_t n)
{
        struct hconn *h = ud;
        struct server *srv = h->srv;
        uint8_t id[AEAD_KEY_ID_LEN];
        struct batch_meta meta;
        const uint8_t *frames;
        size_t frames_len, k;
        int ret;

        if (h->state != H_WS)
                return;
        h->last_rx_ms = reactor_now_ms(srv->r);
        ret = batch_peek_key_id(p, n, id);
        for (k = 0; ret == 0 && k < srv->nkeys; k++)
                if (aead_ct_equal(id, srv->keys[k].keys.key_id, sizeof(id)))
                        break;
        if (ret == 0 && k == srv->nkeys)
                ret = BATCH_EKEYID;
        if (ret == 0)
                ret = batch_open(&srv->keys[k].opener, p, n, srv->scratch, BATCH_MAX, &meta,
                                 &frames, &frames_len);
        if (ret < 0) {
                /* Same answer whatever failed: the tunnel just ends. */
                srv->refused_batches++;
                log_debug("refused a batch: %s", batch_strerror(ret));
                goto drop;
        }
        if (h->cl && (h->cl->key != k || h->cl->instance != meta.instance_id))
                goto drop; /* one tunnel carries one client */
        if (!h->cl) {
                struct client *cl = client_get(srv, k, meta.instance_id, meta.alg);
                if (!cl)
                        goto drop;
                if (cl->transport && cl->transport != h)
                        cl->transport->cl = NULL; /* the newer tunnel wins */
                cl->transport = h;
                h->cl = cl;
                reactor_timer_stop(srv->r, &cl->grace);
        }
        ret = tunnel_deliver(&h->cl->tun, &meta, frames, frames_len, tunnel_wall_ms());
        if (ret < 0) {
                log_info("client %s/%016llx: batch refused (%d), dropping the tunnel",
                         srv->keys[k].id, (unsigned long long)meta.instance_id, ret);
                goto drop;
        }
        sched_flush(h->cl);
        return;
drop:
        h->state = H_CLOSING;
        reactor_conn_close(h->c, REACTOR_CLOSE_RESET);
}

static int ws_emit(void *ud, const uint8_t *p, size_t n)
{
        return hconn_out(ud, p, n);
}

static void ws_closed(void *ud, uint16_t code)
{
        struct hconn *h = ud;
        (void)code;
        if (h->state != H_CLOSING) {
                h->state = H_CLOSING;
                reactor_conn_close(h->c, REACTOR_CLOSE_FLUSH);
        }
}

static void ws_pong(void *ud, uint64_t token)
{
        struct hconn *h = ud;
        (void)token;
        h->last_rx_ms = reactor_now_ms(h->srv->r);
}

static const struct ws_events exit_ws_events = {
    .emit = ws_emit,
    .on_message = on_batch,
    .on_pong = ws_pong,
    .on_close = ws_closed,
};

/* A tunnel that answers nothing for SILENCE_MS is dead (a vanished client,
 * a black-holed path): drop it so its client's grace period starts. */
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
                h->state = H_CLOSING;
                reactor_conn_close(h->c, REACTOR_CLOSE_RESET);
                return;
        }
        ws_ping(h->ws, now);
        reactor_timer_start(h->srv->r, &h->heartbeat, HEARTBEAT_MS, heartbeat_tick, h);
}

static void start_ws(struct hconn *h, const uint8_t *rest, size_t n)
{
        struct ws_conf wc = {.max_msg = BATCH_MAX};

        if (ws_server_new(&h->ws, &wc, &exit_ws_events, h) < 0 ||
            ws_server_accept(h->ws, &h->head) < 0) {
                send_decoy(h);
                return;
        }
        h->state = H_WS;
        reactor_timer_stop(h->srv->r, &h->deadline);
        h->last_rx_ms = reactor_now_ms(h->srv->r);
        reactor_timer_start(h->srv->r, &h->heartbeat, HEARTBEAT_MS, heartbeat_tick, h);
        if (n && ws_input(h->ws, rest, n) < 0 && h->state == H_WS) {
                h->state = H_CLOSING;
                reactor_conn_close(h->c, REACTOR_CLOSE_RESET);
        }
}

static void route(struct hconn *h, const uint8_t *rest, size_t n)
{
        const char *method = http1_method(&h->head), *path = http1_target(&h->head);

        if (!strcmp(method, "GET") && !strcmp(path, "/healthz"))
                send_health(h);
        else if (!strcmp(method, "GET") && !strcmp(path, "/stream"))
                start_ws(h, rest, n);
        else
                send_decoy(h);
}

/* Plain bytes of the connection: from the socket, or out of TLS. */
static void h_plain(struct hconn *h, const uint8_t *p, size_t n)
{
        size_t used;

        if (h->state == H_WS) {
                if (ws_input(h->ws, p, n) < 0 && h->state == H_WS) {
                        h->state = H_CLOSING;
                        reactor_conn_close(h->c, REACTOR_CLOSE_RESET);
                }
                return;
        }
        if (h->state != H_HEAD)
                return;
        int ret = http1_feed(&h->head, p, n, &used);
        if (ret < 0)
                hconn_reply_close(h, bad_request, sizeof(bad_request) - 1);
        else if (ret == 1)
                route(h, p + used, n - used);
}

static int tls_emit(void *ud, const uint8_t *p, size_t n)
{
        struct hconn *h = ud;
        return reactor_send(h->c, p, n);
}

static void tls_data(void *ud, const uint8_t *p, size_t n)
{
        h_plain(ud, p, n);
}

static void tls_closed(void *ud)
{
        struct hconn *h = ud;
        if (h->state != H_CLOSING) {
                h->state = H_CLOSING;
                reactor_conn_close(h->c, REACTOR_CLOSE_FLUSH);
        }
}

static const struct tls_events server_tls_events = {
    .emit = tls_emit,
    .on_data = tls_data,
    .on_close = tls_closed,
};

static void h_recv(struct rconn *c, void *ud, const uint8_t *p, size_t n)
{
        struct hconn *h = ud;

        (void)c;
        if (!h->tls) {
                h_plain(h, p, n);
                return;
        }
        if (tls_input(h->tls, p, n) < 0 && h->state != H_CLOSING) {
                /* Not TLS, or a failed handshake: nothing to answer. */
                log_debug("TLS: %s", tls_last_error(h->tls));
                h->state = H_CLOSING;
                reactor_conn_close(h->c, REACTOR_CLOSE_RESET);
        }
}

static void h_drain(struct rconn *c, void *ud)
{
        struct hconn *h = ud;
        (void)c;
        if (h->cl)
                client_flush(h->cl);
}

static void h_gone(struct rconn *c, void *ud)
{
        struct hconn *h = ud;
        (void)c;
        if (h->state != H_CLOSING) {
                h->state = H_CLOSING;
                reactor_conn_close(h->c, REACTOR_CLOSE_NOW);
        }
}

static void h_error(struct rconn *c, void *ud, int err)
{
        (void)err;
        h_gone(c, ud);
}

static void h_close(struct rconn *c, void *ud)
{
        struct hconn *h = ud;
        (void)c;
        reactor_timer_stop(h->srv->r, &h->deadline);
        reactor_timer_stop(h->srv->r, &h->heartbeat);
        if (h->cl && h->cl->transport == h) {
                h->cl->transport = NULL;
                reactor_timer_start(h->srv->r, &h->cl->grace, GRACE_MS, grace_over, h->cl);
        }
        if (h->ws)
                ws_free(h->ws);
        if (h->tls)
                tls_free(h->tls);
        free(h);
}

static const struct rconn_ops hconn_ops = {
    .on_recv = h_recv,
    .on_eof = h_gone,
    .on_drain = h_drain,
    .on_error = h_error,
    .on_close = h_close,
};

static void header_deadline(struct timer *t, void *arg)
{
        struct hconn *h = arg;
        (void)t;
        if (h->state == H_HEAD) {
                h->state = H_CLOSING;
                reactor_conn_close(h->c, REACTOR_CLOSE_RESET);
        }
}

static void on_accept(struct rconn *l, void *ud, int fd)
{
        struct server *srv = ud;
        struct hconn *h = calloc(1, sizeof(*h));
        int one = 1;

        (void)l;
        if (!h || srv->stopping) {
                free(h);
                close(fd);
                return;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        h->srv = srv;
        http1_init(&h->head, HTTP1_REQUEST);
        if (srv->tls_ctx && tls_server_new(&h->tls, srv->tls_ctx, &server_tls_events, h) < 0) {
                close(fd);
                free(h);
                return;
        }
        if (reactor_conn_add(srv->r, fd, &hconn_ops, h, &h->c) < 0) {
                close(fd);
                if (h->tls)
                        tls_free(h->tls);
                free(h);
                return;
        }
        reactor_timer_start(srv->r, &h->deadline, HEADER_DEADLINE_MS, header_deadline, h);
}

static const struct rconn_ops listen_ops = {.on_accept = on_accept};

/* ---- run ---- */

static void on_signal(void *arg, int signo)
{
        struct server *srv = arg;

        if (signo == SIGHUP)
                return;
        log_info("exit: signal %d, closing every session", signo);
        srv->stopping = 1;
        reactor_stop(srv->r);
}

static int start_dns(struct server *srv)
{
        struct dns_conf dc = {0};
        char servers[1024] = "";
        size_t n = 0;
        const struct netaddr *a = srv->cfg->dns_servers.v;

        for (size_t i = 0; i < srv->cfg->dns_servers.n && n < sizeof(servers); i++) {
                char one[NETADDR_STRLEN];
                netaddr_format(&a[i], one, sizeof(one));
                n += (size_t)snprintf(servers + n, sizeof(servers) - n, "%s%s", i ? "," : "", one);
        }
        if (n)
                dc.servers = servers;
        return dns_new(&srv->dns, srv->r, &dc);
}

static int listen_on(struct server *srv)
{
        int fd = netaddr_listen(&srv->cfg->listen, 1024);
        if (fd < 0)
                return fd;
        int ret = reactor_listen(srv->r, fd, &listen_ops, srv, &srv->listener);
        if (ret < 0)
                close(fd);
        return ret;
}

int exit_server_run(const struct config_exit *cfg, const uint8_t (*keys)[KEY_LEN], size_t nkeys)
{
        struct server srv = {.cfg = cfg, .nkeys = nkeys};
        char why[512], a[NETADDR_STRLEN];
        int code = URELAY_EXIT_RUNTIME, ret;

        ret = reactor_new(&srv.r, NULL, why, sizeof(why));
        if (ret < 0) {
                fprintf(stderr, "urelay exit: io_uring unavailable: %s\n", why);
                return URELAY_EXIT_NOURING;
        }
        srv.keys = calloc(nkeys, sizeof(*srv.keys));
        srv.scratch = malloc(BATCH_MAX);
        if (!srv.keys || !srv.scratch)
                goto out;
        for (size_t i = 0; i < nkeys; i++) {
                if (aead_keys_derive(&srv.keys[i].keys, keys[i]) < 0 ||
                    batch_opener_init(&srv.keys[i].opener, &srv.keys[i].keys, AEAD_C2S) < 0)
                        goto out;
                key_id(keys[i], srv.keys[i].id);
        }
        if (cfg->tls_cert) {
                char err[512];
                if (tls_ctx_server_new(&srv.tls_ctx, cfg->tls_cert, cfg->tls_key, err,
                                       sizeof(err)) < 0) {
                        fprintf(stderr, "urelay exit: TLS: %s\n", err);
                        code = URELAY_EXIT_CONFIG;
                        goto out;
                }
        }
        ret = egress_init(&srv.egress, cfg->allow_dest.v, cfg->allow_dest.n);
        if (ret == 0)
                ret = start_dns(&srv);
        if (ret == 0)
                ret = dialer_new(&srv.dialer, srv.r, srv.dns, &srv.egress, NULL);
        if (ret < 0) {
                fprintf(stderr, "urelay exit: cannot start the resolver: %s\n", strerror(-ret));
                goto out;
        }
        netaddr_format(&cfg->listen, a, sizeof(a));
        ret = listen_on(&srv);
        if (ret < 0) {
                fprintf(stderr, "urelay exit: cannot listen on %s: %s\n", a, strerror(-ret));
                goto out;
        }
        ret = sigwatch_start(&srv.sig, srv.r, on_signal, &srv);
        if (ret < 0)
                goto out;
        printf("urelay exit: ready on %s (%s /stream, /healthz), %zu client key%s\n", a,
               srv.tls_ctx ? "wss" : "ws", nkeys, nkeys == 1 ? "" : "s");
        fflush(stdout);
        ret = reactor_run(srv.r);
        code = ret < 0 ? URELAY_EXIT_RUNTIME : URELAY_EXIT_OK;
        sigwatch_stop(&srv.sig);
out:
        /* Freeing the clients resets every session (upstreams get RST) and
         * cancels the dials, so the dialer and resolver go before the
         * reactor, which closes whatever is left in order. */
        while (srv.clients)
                client_free(srv.clients);
        if (srv.listener)
                reactor_conn_close(srv.listener, REACTOR_CLOSE_NOW);
        if (srv.dialer)
                dialer_free(srv.dialer);
        if (srv.dns)
                dns_free(srv.dns);
        reactor_free(srv.r); /* closes what is left, in order */
        if (srv.tls_ctx)
                tls_ctx_free(srv.tls_ctx);
        for (size_t i = 0; srv.keys && i < nkeys; i++) {
                batch_opener_wipe(&srv.keys[i].opener);
                aead_keys_wipe(&srv.keys[i].keys);
        }
        free(srv.keys);
        free(srv.scratch);
        return code;
}
