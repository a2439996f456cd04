/* client: the client runtime; see client.h.
 *
 * Per app connection (struct app): SOCKS5 handshake (core/socks5), then a
 * session of the mux, relayed by core/sockpipe. The SOCKS5 reply waits for
 * the exit's real dial result (ACK with OPENED, or RST whose reason maps to
 * a SOCKS5 code) unless optimistic mode answers at once; bytes the app
 * writes before that are queued in the session in write order and ride
 * with the OPEN.
 */
#include "tools/client.h"
#include "tools/client_priv.h"

#include "core/aead.h"
#include "core/frame.h"
#include "core/log.h"
#include "core/mux.h"
#include "core/reactor.h"
#include "core/sigwatch.h"
#include "core/sockpipe.h"
#include "core/socks5.h"
#include "core/tunnel.h"
#include "tools/cmd.h"
#include "transport/tls.h"
#include "transport/ws.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AUTH_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS  500
#define BACKOFF_MAX_MS  30000
#define BATCH_FRAMES    (256 * 1024)
#define TUNNEL_HIGH     (4u << 20)

static void tunnel_connect(struct crt *rt);

void client_fatal(struct crt *rt, int code, const char *msg)
{
        if (rt->stopping)
                return; /* the first cause is the one worth telling */
        fprintf(stderr, "urelay client: %s\n", msg);
        rt->exit_code = code;
        rt->stopping = 1;
        reactor_stop(rt->r);
}

/* ---- batches ---- */

static void flush(struct crt *rt)
{
        const uint8_t *msg;
        size_t len;

        if (rt->post) {
                post_kick(rt->post);
                return;
        }
        while (rt->state >= T_PROVING && reactor_conn_queued(rt->tc) < TUNNEL_HIGH) {
                int ret = tunnel_next_batch(&rt->tun, &msg, &len);
                if (ret <= 0) {
                        if (ret < 0)
                                log_error("sealing a batch failed: %s", batch_strerror(ret));
                        return;
                }
                if (ws_send(rt->ws, msg, len) < 0) {
                        reactor_conn_close(rt->tc, REACTOR_CLOSE_RESET);
                        return;
                }
        }
}

static void flush_timer(struct timer *t, void *arg)
{
        (void)t;
        flush(arg);
}

static void m_pending(void *ud)
{
        struct crt *rt = ud;
        if (!timer_armed(&rt->flush))
                reactor_timer_start(rt->r, &rt->flush, 0, flush_timer, rt);
}

/* ---- app connections ---- */

static void app_link(struct crt *rt, struct app *a)
{
        a->prev = NULL;
        a->next = rt->apps;
        if (rt->apps)
                rt->apps->prev = a;
        rt->apps = a;
}

static void app_drop(struct app *a)
{
        if (a->prev)
                a->prev->next = a->next;
        else
                a->rt->apps = a->next;
        if (a->next)
                a->next->prev = a->prev;
        free(a);
}

static void app_free(struct sockpipe *p)
{
        app_drop((struct app *)((char *)p - offsetof(struct app, pipe)));
}

static void app_reply(struct app *a, uint8_t rep)
{
        uint8_t out[32];
        size_t n = socks5_reply(out, rep, NULL);

        a->replied = 1;
        reactor_send(a->c, out, n);
}

static void m_opened(void *ud, struct msess *s)
{
        struct app *a = mux_ud(s);
        (void)ud;
        if (a && !a->replied)
                app_reply(a, SOCKS5_REP_OK);
}

static void m_data(void *ud, struct msess *s, const uint8_t *p, size_t n)
{
        struct app *a = mux_ud(s);
        (void)ud;
        if (a)
                sockpipe_data(&a->pipe, p, n);
}

static void m_fin(void *ud, struct msess *s)
{
        struct app *a = mux_ud(s);
        (void)ud;
        if (a)
                sockpipe_fin(&a->pipe);
}

static void m_writable(void *ud, struct msess *s)
{
        struct app *a = mux_ud(s);
        (void)ud;
        if (a)
                sockpipe_writable(&a->pipe);
}

static void m_reset(void *ud, struct msess *s, uint8_t reason)
{
        struct app *a = mux_ud(s);
        (void)ud;
        if (!a)
                return;
        if (!a->replied) {
                /* The dial failed: the app gets the SOCKS5 code for why. */
                app_reply(a, frame_rst_to_socks(reason));
                a->pipe.reset = 1; /* no stream was ever promised: FLUSH the reply */
                reactor_conn_close(a->c, REACTOR_CLOSE_FLUSH);
                return;
        }
        sockpipe_reset(&a->pipe, reason);
}

static void m_closed(void *ud, struct msess *s)
{
        struct app *a = mux_ud(s);
        (void)ud;
        mux_set_ud(s, NULL);
        if (a)
                sockpipe_sess_closed(&a->pipe);
}

static const struct mux_ops client_mux_ops = {
    .on_opened = m_opened,
    .on_data = m_data,
    .on_fin = m_fin,
    .on_writable = m_writable,
    .on_reset = m_reset,
    .on_closed = m_closed,
    .on_pending = m_pending,
};

static void app_start_session(struct app *a, const uint8_t *early, size_t n)
{
        struct crt *rt = a->rt;

        if (rt->state != T_UP || mux_open(rt->mux, &a->hs.target, &a->s) < 0) {
                app_reply(a, SOCKS5_REP_GENERAL);
                reactor_conn_close(a->c, REACTOR_CLOSE_FLUSH);
                return;
        }
        mux_set_ud(a->s, a);
        sockpipe_init(&a->pipe, a->c, a->s, app_free);
        a->relaying = 1;
        if (rt->cfg->optimistic)
                app_reply(a, SOCKS5_REP_OK);
        if (n)
                sockpipe_recv(&a->pipe, early, n);
}

static void a_recv(struct rconn *c, void *ud, const uint8_t *p, size_t n)
{
        struct app *a = ud;
        size_t used = 0;

        if (a->relaying) {
                sockpipe_recv(&a->pipe, p, n);
                return;
        }
        int ret = socks5_feed(&a->hs, p, n, &used);
        if (a->hs.out_len) {
                reactor_send(c, a->hs.out, a->hs.out_len);
                a->hs.out_len = 0;
        }
        if (ret < 0) {
                log_debug("socks5: %s", socks5_strerror(ret));
                a->replied = 1;
                reactor_conn_close(c, REACTOR_CLOSE_FLUSH);
        } else if (ret == SOCKS5_READY) {
                app_start_session(a, p + used, n - used);
        }
}

static void a_eof(struct rconn *c, void *ud)
{
        struct app *a = ud;
        if (a->relaying)
                sockpipe_eof(&a->pipe);
        else
                reactor_conn_close(c, REACTOR_CLOSE_NOW);
}

static void a_drain(struct rconn *c, void *ud)
{
        struct app *a = ud;
        (void)c;
        if (a->relaying)
                sockpipe_drain(&a->pipe);
}

static void a_error(struct rconn *c, void *ud, int err)
{
        struct app *a = ud;
        if (a->relaying)
                sockpipe_error(&a->pipe, err);
        else
                reactor_conn_close(c, REACTOR_CLOSE_RESET);
}

static void a_close(struct rconn *c, void *ud)
{
        struct app *a = ud;
        (void)c;
        if (a->relaying)
                sockpipe_conn_closed(&a->pipe);
        else
                app_drop(a);
}

static const struct rconn_ops app_ops = {
    .on_recv = a_recv,
    .on_eof = a_eof,
    .on_drain = a_drain,
    .on_error = a_error,
    .on_close = a_close,
};

static void on_accept(struct rconn *l, void *ud, int fd)
{
        struct crt *rt = ud;
        struct app *a = calloc(1, sizeof(*a));
        int one = 1;

        (void)l;
        if (!a || rt->stopping) {
                free(a);
                close(fd);
                return;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        a->rt = rt;
        socks5_init(&a->hs, &rt->auth_conf);
        if (reactor_conn_add(rt->r, fd, &app_ops, a, &a->c) < 0) {
                close(fd);
                free(a);
                return;
        }
        app_link(rt, a);
}

static const struct rconn_ops listen_ops = {.on_accept = on_accept};

static int socks_listen(struct crt *rt)
{
        int fd = netaddr_listen(&rt->cfg->socks, 1024);
        if (fd < 0)
                return fd;
        int ret = reactor_listen(rt->r, fd, &listen_ops, rt, &rt->listener);
        if (ret < 0)
                close(fd);
        return ret;
}

/* ---- the tunnel ---- */

static void schedule_retry(struct crt *rt, const char *why);

static uint64_t new_instance(void)
{
        WC_RNG rng;
        uint64_t id = 0;

        if (wc_InitRng(&rng) == 0) {
                wc_RNG_GenerateBlock(&rng, (uint8_t *)&id, sizeof(id));
                wc_FreeRng(&rng);
        }
        return id;
}

/* Sessions cannot move to another tunnel yet (the resilience work): every
 * relayed app connection ends with a reset, never a clean close. */
static void drop_sessions(struct crt *rt)
{
        for (struct app *a = rt->apps, *next; a; a = next) {
                next = a->next;
                if (a->relaying && a->pipe.s) {
                        mux_set_ud(a->pipe.s, NULL);
                        sockpipe_abort(&a->pipe);
                }
        }
        if (rt->mux)
                mux_free(rt->mux);
        rt->mux = NULL;
        tunnel_free(&rt->tun);
}

static void tunnel_down(struct crt *rt, const char *why)
{
        if (rt->state == T_DOWN)
                return;
        if (!rt->proven && rt->state >= T_HANDSHAKE) {
                char msg[1024];
                const char *reason = "";
                int status = rt->ws ? ws_handshake_status(rt->ws, &reason) : 0;
                if (status && status != 101)
                        snprintf(msg, sizeof(msg),
                                 "%s answered HTTP %d %s instead of a WebSocket upgrade: it is "
                                 "not an urelay exit at that URL (check the endpoint URL)",
                                 rt->ep_name, status, reason);
                else if (!strncmp(why, "TLS: ", 5))
                        snprintf(msg, sizeof(msg),
                                 "TLS with %s failed (%s): check --ca-file and --sni, or that "
                                 "the endpoint serves TLS",
                                 rt->ep_name, why + 5);
                else if (rt->state == T_PROVING)
                        snprintf(msg, sizeof(msg),
                                 "%s accepted the WebSocket but refused our first batch (%s): "
                                 "the exit does not accept this key (check the key file)",
                                 rt->ep_name, why);
                else
                        snprintf(msg, sizeof(msg),
                                 "%s answered, but not as an urelay exit (%s): check the "
                                 "endpoint URL",
                                 rt->ep_name, why);
                client_fatal(rt, URELAY_EXIT_REJECTED, msg);
                return;
        }
        rt->state = T_DOWN;
        reactor_timer_stop(rt->r, &rt->auth);
        reactor_timer_stop(rt->r, &rt->heartbeat);
        drop_sessions(rt);
        /* Its sessions are gone on this side: come back as a new instance,
         * so the exit never mixes the new session ids with the old ones. */
        rt->instance = new_instance();
        if (rt->tc)
                reactor_conn_close(rt->tc, REACTOR_CLOSE_RESET);
        if (!rt->stopping)
                schedule_retry(rt, why);
}

static int ws_emit(void *ud, const uint8_t *p, size_t n)
{
        struct crt *rt = ud;
        return rt->tls ? tls_send(rt->tls, p, n) : reactor_send(rt->tc, p, n);
}

/* ---- TLS under the WebSocket (wss://) ---- */

static int tls_emit(void *ud, const uint8_t *p, size_t n)
{
        struct crt *rt = ud;
        return reactor_send(rt->tc, p, n);
}

static void ws_feed(struct crt *rt, const uint8_t *p, size_t n);

static void tls_ready(void *ud)
{
        struct crt *rt = ud;
        log_debug("TLS to %s: %s %s", rt->ep_name, tls_version(rt->tls), tls_cipher(rt->tls));
        if (ws_client_start(rt->ws) < 0)
                tunnel_down(rt, "cannot start the WebSocket handshake");
}

static void tls_data(void *ud, const uint8_t *p, size_t n)
{
        ws_feed(ud, p, n);
}

static void tls_closed(void *ud)
{
        tunnel_down(ud, "it ended TLS");
}

static const struct tls_events client_tls_events = {
    .emit = tls_emit,
    .on_ready = tls_ready,
    .on_data = tls_data,
    .on_close = tls_closed,
};

static void ws_open(void *ud)
{
        struct crt *rt = ud;

        /* Prove the key: any authenticated batch back (the PONG) will do. */
        rt->state = T_PROVING;
        if (mux_ping(rt->mux, 1) < 0)
                tunnel_down(rt, "cannot send the first batch");
        else
                flush(rt);
}

static void heartbeat_tick(struct timer *t, void *arg)
{
        struct crt *rt = arg;
        uint64_t now = reactor_now_ms(rt->r), every = (uint64_t)rt->cfg->heartbeat * 1000;

        (void)t;
        if (rt->state != T_UP)
                return;
        if (now - rt->last_rx_ms > 3 * every) {
                char why[96];
                snprintf(why, sizeof(why), "no answer to heartbeats for %llu s",
                         (unsigned long long)((now - rt->last_rx_ms) / 1000));
                log_warn("tunnel to %s: %s", rt->ep_name, why);
                tunnel_down(rt, why);
                return;
        }
        ws_ping(rt->ws, now);
        reactor_timer_start(rt->r, &rt->heartbeat, every, heartbeat_tick, rt);
}

static void ws_pong(void *ud, uint64_t token)
{
        struct crt *rt = ud;
        (void)token;
        rt->last_rx_ms = reactor_now_ms(rt->r);
}

static void proven(struct crt *rt)
{
        char a[NETADDR_STRLEN];
        int ret;

        rt->state = T_UP;
        rt->backoff_ms = 0;
        reactor_timer_stop(rt->r, &rt->auth);
        log_info("tunnel to %s is up%s", rt->ep_name, rt->proven ? " again" : "");
        rt->proven = 1;
        rt->last_rx_ms = reactor_now_ms(rt->r);
        if (!rt->post) /* the post link keeps its own heartbeat */
                reactor_timer_start(rt->r, &rt->heartbeat, (uint64_t)rt->cfg->heartbeat * 1000,
                                    heartbeat_tick, rt);
        if (!rt->listener) {
                ret = socks_listen(rt);
                netaddr_format(&rt->cfg->socks, a, sizeof(a));
                if (ret < 0) {
                        char msg[512];
                        snprintf(msg, sizeof(msg), "cannot listen on %s: %s", a, strerror(-ret));
                        client_fatal(rt, URELAY_EXIT_RUNTIME, msg);
                        return;
                }
        }
        if (!rt->ready_printed) {
                netaddr_format(&rt->cfg->socks, a, sizeof(a));
                printf("urelay client: ready: SOCKS5 on %s, exit %s\n", a, rt->ep_name);
                fflush(stdout);
                rt->ready_printed = 1;
        }
        flush(rt);
}

int client_batch_in(struct crt *rt, const uint8_t *p, size_t n)
{
        int ret = tunnel_receive(&rt->tun, p, n, tunnel_wall_ms());

        if (ret < 0)
                return ret;
        rt->last_rx_ms = reactor_now_ms(rt->r);
        if (rt->state == T_PROVING && rt->tun.stats.batches_in > 0)
                proven(rt);
        else
                flush(rt);
        return 0;
}

static void ws_message(void *ud, const uint8_t *p, size_t n)
{
        struct crt *rt = ud;
        int ret = client_batch_in(rt, p, n);

        if (ret < 0) {
                log_error("a batch from %s did not authenticate (%s): dropping the tunnel",
                          rt->ep_name, batch_strerror(ret));
                tunnel_down(rt, "a batch that did not authenticate");
        }
}

static void ws_closed(void *ud, uint16_t code)
{
        char why[64];
        snprintf(why, sizeof(why), "it closed the WebSocket (code %u)", code);
        tunnel_down(ud, why);
}

static const struct ws_events client_ws_events = {
    .emit = ws_emit,
    .on_open = ws_open,
    .on_message = ws_message,
    .on_pong = ws_pong,
    .on_close = ws_closed,
};

static void auth_timeout(struct timer *t, void *arg)
{
        (void)t;
        tunnel_down(arg, "no authenticated answer to our first batch within 5 s");
}

int client_tunnel_setup(struct crt *rt)
{
        if (mux_new(MUX_CLIENT, (uint32_t)rt->cfg->window, &client_mux_ops, rt, &rt->mux) < 0)
                return -ENOMEM;
        if (tunnel_init(&rt->tun, rt->mux, &rt->keys, rt->alg, AEAD_C2S, rt->instance,
                        BATCH_FRAMES) < 0) {
                mux_free(rt->mux);
                rt->mux = NULL;
                return -ENOMEM;
        }
        return 0;
}

static void t_connect(struct rconn *c, void *ud, int res)
{
        struct crt *rt = ud;
        struct ws_conf wc = {.max_msg = BATCH_MAX, .host = rt->host_header, .path = rt->url.path};
        (void)c;

        if (res < 0) {
                rt->state = T_DOWN;
                reactor_conn_close(rt->tc, REACTOR_CLOSE_NOW);
                schedule_retry(rt, strerror(-res));
                return;
        }
        int one = 1;
        setsockopt(reactor_conn_fd(c), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        rt->state = T_HANDSHAKE;
        if (client_tunnel_setup(rt) < 0 || ws_client_new(&rt->ws, &wc, &client_ws_events, rt) < 0 ||
            (rt->tls_ctx
                 ? tls_client_new(&rt->tls, rt->tls_ctx, rt->sni, &client_tls_events, rt) < 0 ||
                       tls_start(rt->tls) < 0
                 : ws_client_start(rt->ws) < 0)) {
                client_fatal(rt, URELAY_EXIT_RUNTIME, "cannot set up the tunnel (out of memory?)");
                return;
        }
        reactor_timer_start(rt->r, &rt->auth, AUTH_TIMEOUT_MS, auth_timeout, rt);
}

static void ws_feed(struct crt *rt, const uint8_t *p, size_t n)
{
        if (!rt->ws)
                return;
        int ret = ws_input(rt->ws, p, n);
        if (ret < 0 && rt->state != T_DOWN) {
                char why[256];
                snprintf(why, sizeof(why), "%s", ws_strerror(ret));
                tunnel_down(rt, why);
        }
}

static void t_recv(struct rconn *c, void *ud, const uint8_t *p, size_t n)
{
        struct crt *rt = ud;
        (void)c;
        if (!rt->tls) {
                ws_feed(rt, p, n);
                return;
        }
        int ret = tls_input(rt->tls, p, n);
        if (ret < 0 && rt->state != T_DOWN) {
                char why[512];
                snprintf(why, sizeof(why), "TLS: %s", tls_last_error(rt->tls));
                tunnel_down(rt, why);
        }
}

static void t_drain(struct rconn *c, void *ud)
{
        (void)c;
        flush(ud);
}

static void t_eof(struct rconn *c, void *ud)
{
        (void)c;
        tunnel_down(ud, "it closed the connection");
}

static void t_error(struct rconn *c, void *ud, int err)
{
        (void)c;
        tunnel_down(ud, strerror(-err));
}

static void t_close(struct rconn *c, void *ud)
{
        struct crt *rt = ud;
        (void)c;
        rt->tc = NULL;
        if (rt->ws) {
                ws_free(rt->ws);
                rt->ws = NULL;
        }
        if (rt->tls) {
                tls_free(rt->tls);
                rt->tls = NULL;
        }
}

static const struct rconn_ops tunnel_ops = {
    .on_connect = t_connect,
    .on_recv = t_recv,
    .on_drain = t_drain,
    .on_eof = t_eof,
    .on_error = t_error,
    .on_close = t_close,
};

static void retry_timer(struct timer *t, void *arg)
{
        (void)t;
        tunnel_connect(arg);
}

static void schedule_retry(struct crt *rt, const char *why)
{
        rt->backoff_ms = rt->backoff_ms ? rt->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (rt->backoff_ms > BACKOFF_MAX_MS)
                rt->backoff_ms = BACKOFF_MAX_MS;
        log_warn("cannot reach %s (%s); retrying in %u ms", rt->ep_name, why, rt->backoff_ms);
        reactor_timer_start(rt->r, &rt->retry, rt->backoff_ms, retry_timer, rt);
}

static void tunnel_connect(struct crt *rt)
{
        if (rt->stopping || rt->tc)
                return;
        rt->state = T_CONNECTING;
        int ret = reactor_connect(rt->r, (struct sockaddr *)&rt->ep, rt->ep_len, CONNECT_TIMEOUT_MS,
                                  &tunnel_ops, rt, &rt->tc);
        if (ret < 0) {
                rt->state = T_DOWN;
                schedule_retry(rt, strerror(-ret));
        }
}

/* ---- run ---- */

static int resolve_endpoint(struct crt *rt)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
        char port[8];

        if (rt->cfg->connect.port)
                return netaddr_to_sockaddr(&rt->cfg->connect, &rt->ep, &rt->ep_len) < 0 ? -1 : 0;
        snprintf(port, sizeof(port), "%u", rt->url.addr.port);
        /* Once, at start: the hot path never resolves. */
        int ret = getaddrinfo(rt->url.addr.host, port, &hints, &res);
        if (ret != 0) {
                fprintf(stderr, "urelay client: cannot resolve %s: %s\n", rt->url.addr.host,
                        gai_strerror(ret));
                return -1;
        }
        memcpy(&rt->ep, res->ai_addr, res->ai_addrlen);
        rt->ep_len = res->ai_addrlen;
        freeaddrinfo(res);
        return 0;
}

void client_host_header(const struct netaddr_url *u, char *out, size_t len)
{
        int v6 = strchr(u->addr.host, ':') != NULL;
        int tls = netaddr_scheme_tls(u->scheme);
        int dflt = u->addr.port == (tls ? 443 : 80);

        snprintf(out, len, "%s%s%s", v6 ? "[" : "", u->addr.host, v6 ? "]" : "");
        if (!dflt)
                snprintf(out + strlen(out), len - strlen(out), ":%u", u->addr.port);
}

static void on_signal(void *arg, int signo)
{
        struct crt *rt = arg;
        if (signo == SIGHUP)
                return;
        log_info("client: signal %d, closing every session", signo);
        rt->stopping = 1;
        reactor_stop(rt->r);
}

int client_run(const struct config_client *cfg, const uint8_t key[KEY_LEN])
{
        struct crt rt = {.cfg = cfg, .exit_code = URELAY_EXIT_OK};
        char why[512];
        int ret;

        ret = reactor_new(&rt.r, NULL, why, sizeof(why));
        if (ret < 0) {
                fprintf(stderr, "urelay client: io_uring unavailable: %s\n", why);
                return URELAY_EXIT_NOURING;
        }
        rt.url = ((const struct netaddr_url *)cfg->endpoints.v)[0];
        netaddr_url_format(&rt.url, rt.ep_name, sizeof(rt.ep_name));
        if (cfg->host)
                snprintf(rt.host_header, sizeof(rt.host_header), "%s", cfg->host);
        else
                client_host_header(&rt.url, rt.host_header, sizeof(rt.host_header));
        rt.alg =
            cfg->cipher == CONFIG_CIPHER_CHACHA20_POLY1305 ? AEAD_CHACHA20POLY1305 : AEAD_AES256GCM;
        if (aead_keys_derive(&rt.keys, key) < 0) {
                reactor_free(rt.r);
                return URELAY_EXIT_RUNTIME;
        }
        rt.instance = new_instance();
        if (netaddr_scheme_tls(rt.url.scheme)) {
                char err[512];
                rt.sni = cfg->sni ? cfg->sni : rt.url.addr.host;
                if (tls_ctx_client_new(&rt.tls_ctx, cfg->ca_file, cfg->insecure, err, sizeof(err)) <
                    0) {
                        fprintf(stderr, "urelay client: TLS: %s\n", err);
                        rt.exit_code = URELAY_EXIT_CONFIG;
                        goto out;
                }
        }
        rt.auth_conf.user = cfg->socks_user;
        rt.auth_conf.password = cfg->socks_password;
        if (resolve_endpoint(&rt) < 0) {
                rt.exit_code = URELAY_EXIT_RUNTIME;
                goto out;
        }
        if (sigwatch_start(&rt.sig, rt.r, on_signal, &rt) < 0) {
                rt.exit_code = URELAY_EXIT_RUNTIME;
                goto out;
        }
        if (rt.url.scheme == NETADDR_HTTP || rt.url.scheme == NETADDR_HTTPS) {
                if (client_tunnel_setup(&rt) < 0 || post_new(&rt, &rt.post) < 0) {
                        rt.exit_code = URELAY_EXIT_RUNTIME;
                        goto out;
                }
                post_start(rt.post);
        } else {
                tunnel_connect(&rt);
        }
        if (reactor_run(rt.r) < 0)
                rt.exit_code = URELAY_EXIT_RUNTIME;
        sigwatch_stop(&rt.sig);
out:
        if (rt.post) {
                post_log_stats(rt.post);
                post_free(rt.post); /* before the sessions: nothing more is sent */
        }
        drop_sessions(&rt); /* every open session ends with a reset */
        reactor_free(rt.r);
        if (rt.tls_ctx)
                tls_ctx_free(rt.tls_ctx);
        aead_keys_wipe(&rt.keys);
        return rt.exit_code;
}
