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
#include "core/backoff.h"
#include "core/frame.h"
#include "core/hostenv.h"
#include "core/log.h"
#include "core/mux.h"
#include "core/reactor.h"
#include "core/sigwatch.h"
#include "core/sockpipe.h"
#include "core/socks5.h"
#include "core/tunnel.h"
#include "tools/cmd.h"
#include "transport/tls.h"
#include "tools/client_pool.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_FRAMES (256 * 1024)

static void link_connect(struct crt *rt);

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

void client_kick(struct crt *rt)
{
        if (rt->post)
                post_kick(rt->post);
        else if (rt->wsl)
                wslink_kick(rt->wsl);
}

static void flush_timer(struct timer *t, void *arg)
{
        (void)t;
        client_kick(arg);
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

static void ack_timer(struct timer *t, void *arg)
{
        struct crt *rt = arg;
        (void)t;
        if (rt->mux)
                mux_flush_acks(rt->mux);
}

static void m_ack_later(void *ud)
{
        struct crt *rt = ud;
        if (!timer_armed(&rt->ack))
                reactor_timer_start(rt->r, &rt->ack, MUX_ACK_DELAY_MS, ack_timer, rt);
}

/* The exit's CHALLENGE (docs/protocol.md §3.6): its cookie goes first in
 * every batch from now on; the rest waits until the batch is taken in
 * (client_batch_in), where mux_rewind and mux_reset_heard are allowed. */
static void m_challenge(void *ud, const struct frame *f)
{
        struct crt *rt = ud;

        /* Each CHALLENGE answers one batch of ours, once: one recorded and
         * played again (into a link, by someone on the path) must not make
         * us take an old cookie or reset sessions (tests/sim, seed 55 with
         * --faults inject). */
        if (f->chal.answers >= rt->tun.seq ||
            replay_check(&rt->chal_seen, f->chal.answers, 0, 0) != 0) {
                log_debug("a CHALLENGE for batch %llu again: ignored",
                          (unsigned long long)f->chal.answers);
                return;
        }
        replay_commit(&rt->chal_seen, f->chal.answers);
        mux_set_proof(rt->mux, f->chal.cookie);
        if (!(f->chal.flags & FRAME_CHAL_KNOWN)) {
                rt->chal_lost = true;
                rt->chal_heard = f->chal.heard;
        }
        if (f->chal.flags & FRAME_CHAL_REFUSED)
                rt->chal_resend = true;
}

static const struct mux_ops client_mux_ops = {
    .on_challenge = m_challenge,
    .on_opened = m_opened,
    .on_data = m_data,
    .on_fin = m_fin,
    .on_writable = m_writable,
    .on_reset = m_reset,
    .on_closed = m_closed,
    .on_pending = m_pending,
    .on_ack_later = m_ack_later,
};

static void app_start_session(struct app *a, const uint8_t *early, size_t n)
{
        struct crt *rt = a->rt;

        /* While the tunnel is down the session waits in the mux for the
         * next link (up to hold_sessions). */
        if (!rt->mux || mux_open(rt->mux, &a->hs.target, &a->s) < 0) {
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

static uint64_t new_instance(void)
{
        uint64_t id = 0;

        hostenv_random(&id, sizeof(id));
        return id;
}

static int tunnel_setup(struct crt *rt)
{
        if (mux_new(MUX_CLIENT, (uint32_t)rt->cfg->window, &client_mux_ops, rt, &rt->mux) < 0)
                return -ENOMEM;
        if (tunnel_init(&rt->tun, rt->mux, &rt->keys, rt->alg, AEAD_C2S, rt->instance,
                        rt->batch_frames) < 0) {
                mux_free(rt->mux);
                rt->mux = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Every relayed app connection ends with a reset, never a clean close. */
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

/* No link has worked for hold_sessions: the exit has let the sessions go by
 * now (its grace) or will never see them again. Reset them and come back as
 * a new instance, so the exit never mixes new session ids with old ones. */
static void hold_over(struct timer *t, void *arg)
{
        struct crt *rt = arg;
        struct mux_stats st;

        (void)t;
        mux_get_stats(rt->mux, &st);
        if (st.sessions_open)
                log_warn("no working link for %lld s: resetting %llu open sessions",
                         (long long)rt->cfg->hold_sessions, (unsigned long long)st.sessions_open);
        drop_sessions(rt);
        rt->instance = new_instance();
        if (tunnel_setup(rt) < 0)
                client_fatal(rt, URELAY_EXIT_RUNTIME, "out of memory setting up the tunnel");
        else if (rt->post)
                post_kick(rt->post);
}

static void link_down(struct crt *rt)
{
        if (rt->down_since)
                return;
        rt->down_since = reactor_now_ms(rt->r);
        reactor_timer_start(rt->r, &rt->hold, (uint64_t)rt->cfg->hold_sessions * 1000, hold_over,
                            rt);
}

void client_link_proven(struct crt *rt, struct endpoint *ep)
{
        char a[NETADDR_STRLEN];

        if (rt->down_since || !rt->proven || (rt->wsl && ep->serial != rt->link_serial)) {
                log_info("tunnel to %s is up%s", ep->name, rt->proven ? " again" : "");
                rt->link_serial = ep->serial;
                rt->down_since = 0;
                reactor_timer_stop(rt->r, &rt->hold);
        }
        if (rt->limited)
                log_info("exit: room for this instance again");
        rt->limited = false;
        rt->suspects = 0;
        rt->backoff_ms = 0;
        rt->proven = true;
        if (!rt->listener) {
                int ret = socks_listen(rt);
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
                printf("urelay client: ready: SOCKS5 on %s, exit %s\n", a, ep->name);
                fflush(stdout);
                rt->ready_printed = true;
        }
}

int client_batch_in(struct crt *rt, const uint8_t *p, size_t n)
{
        int ret = tunnel_receive(&rt->tun, p, n, tunnel_wall_ms());

        if (ret < 0)
                return ret;
        if (rt->chal_lost) {
                /* The exit does not have this instance (it restarted, or
                 * freed it after its grace): what it had heard of is gone
                 * there. Those sessions end with a reset here, rather than
                 * open again at a new exit and send their bytes twice. */
                unsigned gone = mux_reset_heard(rt->mux, rt->chal_heard, FRAME_RST_UNKNOWN);
                if (gone)
                        log_warn("exit: it does not know this client any more (restarted, or "
                                 "past its grace): %u session%s it had end with a reset",
                                 gone, gone == 1 ? "" : "s");
                rt->chal_lost = false;
        }
        bool refused = rt->chal_resend;
        if (refused) {
                /* That batch was not acted on: everything not acknowledged
                 * goes again with the cookie, and, since it may have
                 * carried a PING REWIND (a new link asks the exit to resend
                 * what the old one lost), the exit is asked again too. The
                 * answer proves the link now, not at the next heartbeat. */
                rt->chal_resend = false;
                if (rt->proven ? mux_recover(rt->mux, 1) < 0 : mux_ping(rt->mux, 1) < 0)
                        log_error("out of memory queuing a PING");
        }
        client_kick(rt);
        return refused ? 1 : 0;
}

/* The verdict and --no-reconnect, for either transport. Returns false when
 * the client is ending. */
static bool judge(struct crt *rt, struct endpoint *ep, enum link_verdict v, const char *why)
{
        char msg[4096];

        if (v == LINK_LIMIT && !rt->limited) {
                /* A full table at the exit, not a wrong key: it makes room
                 * when an instance of this key has no sessions left. */
                log_warn("exit: instance limit reached for this key; retrying with backoff");
                rt->limited = true;
        }
        if (v == LINK_SUSPECT && !rt->proven && ++rt->suspects < SUSPECTS_FATAL) {
                /* A wrong key looks like this, and so does an exit that
                 * restarted under our first batch: ask again before
                 * saying which (tests/sim found a client ended with code 2
                 * by an exit restart during its start). */
                log_warn("%s; trying again (%u of %u) before taking it for a wrong key", why,
                         rt->suspects, SUSPECTS_FATAL);
                v = LINK_NET;
        }
        if ((v == LINK_REFUSED || v == LINK_SUSPECT) && !rt->proven) {
                /* Before the client ever worked, an answer that is not an
                 * exit taking our key is a configuration to fix. */
                client_fatal(rt, URELAY_EXIT_REJECTED, why);
                return false;
        }
        if (!rt->cfg->reconnect) {
                snprintf(msg, sizeof(msg), "%s: %s, and reconnect is off (--no-reconnect)",
                         ep->name, why);
                client_fatal(rt, URELAY_EXIT_RUNTIME, msg);
                return false;
        }
        if (v != LINK_LIMIT)
                ep_failure(ep, why); /* the exit's state, not the endpoint's health */
        return true;
}

static void retry_timer(struct timer *t, void *arg)
{
        (void)t;
        link_connect(arg);
}

uint64_t client_backoff(struct crt *rt)
{
        uint64_t base = (uint64_t)rt->cfg->reconnect_delay,
                 cap = (uint64_t)rt->cfg->max_reconnect_delay * 1000;

        rt->backoff_ms = backoff_step(rt->backoff_ms, base, cap);
        return pool_jitter(rt->backoff_ms, cap);
}

void client_link_failed(struct crt *rt, struct endpoint *ep, enum link_verdict v, const char *why)
{
        rt->wsl = NULL; /* it frees itself */
        if (rt->stopping || !judge(rt, ep, v, why))
                return;
        link_down(rt);
        uint64_t d = client_backoff(rt);
        if (v == LINK_LIMIT) /* judge() told the limit once; each retry is a detail */
                log_debug("tunnel to %s: %s; reconnecting in %llu ms", ep->name, why,
                          (unsigned long long)d);
        else
                ep_down(ep, why, d);
        reactor_timer_start(rt->r, &rt->retry, d, retry_timer, rt);
}

static void switch_timer(struct timer *t, void *arg)
{
        struct crt *rt = arg;

        (void)t;
        if (!rt->post || rt->stopping || pool_has_usable(rt->pool, EP_POST) ||
            !pool_has_usable(rt->pool, EP_WS))
                return;
        log_warn("no post endpoint is usable: moving to a WebSocket endpoint");
        post_log_stats(rt->post);
        post_free(rt->post);
        rt->post = NULL;
        link_connect(rt);
}

void client_post_trouble(struct crt *rt)
{
        /* Not from inside the post link's own callbacks: on the next turn. */
        if (rt->post && !timer_armed(&rt->swap) && !pool_has_usable(rt->pool, EP_POST) &&
            pool_has_usable(rt->pool, EP_WS))
                reactor_timer_start(rt->r, &rt->swap, 0, switch_timer, rt);
}

void client_request_failed(struct crt *rt, struct endpoint *ep, enum link_verdict v,
                           const char *why)
{
        if (rt->stopping || !judge(rt, ep, v, why))
                return;
        link_down(rt);
        client_post_trouble(rt);
}

void client_tune_socket(int fd)
{
        int one = 1, idle = 15, intvl = 5, cnt = 3;

        /* The kernel's own dead-peer check under ours, for paths that drop
         * a connection without a word. */
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Starts the transport of the best endpoint: a WebSocket link to it, or the
 * post link (which spreads requests over every post endpoint). */
static void link_connect(struct crt *rt)
{
        struct endpoint *ep;

        if (rt->stopping || rt->wsl)
                return;
        ep = pool_peek(rt->pool, rt->post ? EP_POST : EP_ANY);
        if (ep->kind == EP_WS) {
                ep = pool_pick(rt->pool, EP_WS);
                if (wslink_start(rt, ep, &rt->wsl) < 0)
                        client_fatal(rt, URELAY_EXIT_RUNTIME, "out of memory starting a link");
                return;
        }
        if (rt->post)
                return;
        if (post_new(rt, &rt->post) < 0) {
                client_fatal(rt, URELAY_EXIT_RUNTIME, "out of memory starting the post link");
                return;
        }
        post_start(rt->post);
}

/* ---- run ---- */

void client_host_header(const struct netaddr_url *u, char *out, size_t len)
{
        int v6 = strchr(u->addr.host, ':') != NULL;
        int tls = netaddr_scheme_tls(u->scheme);
        int dflt = u->addr.port == (tls ? 443 : 80);

        snprintf(out, len, "%s%s%s", v6 ? "[" : "", u->addr.host, v6 ? "]" : "");
        if (!dflt)
                snprintf(out + strlen(out), len - strlen(out), ":%u", u->addr.port);
}

static bool any_tls(const struct config_client *cfg)
{
        const struct config_endpoint *e = cfg->endpoints.v;

        for (size_t i = 0; i < cfg->endpoints.n; i++)
                if (netaddr_scheme_tls(e[i].url.scheme))
                        return true;
        return false;
}

static int tls_setup(struct crt *rt, const struct config_client *cfg, char *err, size_t len)
{
        if (rt->tls_ctx || !any_tls(cfg))
                return 0;
        return tls_ctx_client_new(&rt->tls_ctx, cfg->ca_file, cfg->insecure, err, len);
}

/* SIGHUP: the endpoints (and their settings) from the config again; the
 * rest needs a restart. Sessions and the link stay unless the link's
 * endpoint left the pool. */
static void reload(struct crt *rt)
{
        struct config_client *cfg = calloc(1, sizeof(*cfg));
        char err[1024];

        if (!cfg || !rt->reload) {
                free(cfg);
                log_warn("SIGHUP: nothing to reload from");
                return;
        }
        if (rt->reload(cfg, err, sizeof(err)) != 0) {
                log_error("SIGHUP: the config does not load, keeping the running one: %s", err);
                free(cfg);
                return;
        }
        if (tls_setup(rt, cfg, err, sizeof(err)) < 0 ||
            pool_update(rt->pool, cfg, err, sizeof(err)) < 0) {
                log_error("SIGHUP: %s; keeping the running endpoints", err);
                config_free(&config_client_schema, cfg);
                free(cfg);
                return;
        }
        /* Only the endpoint list is read again; the pool now points at the
         * new config, the rest of the runtime keeps the old one. */
        if (rt->cfg_owned) {
                config_free(&config_client_schema, rt->cfg_owned);
                free(rt->cfg_owned);
        }
        rt->cfg_owned = cfg;
        log_info("SIGHUP: %zu endpoint%s in the pool", cfg->endpoints.n,
                 cfg->endpoints.n == 1 ? "" : "s");
        if (rt->wsl && wslink_endpoint(rt->wsl)->removed) {
                /* Its sessions move to the next link. */
                wslink_free(rt->wsl);
                rt->wsl = NULL;
                link_connect(rt);
        } else if (rt->post && !pool_has_usable(rt->pool, EP_POST) &&
                   pool_has_usable(rt->pool, EP_WS)) {
                post_free(rt->post);
                rt->post = NULL;
                link_connect(rt);
        } else if (!rt->post && !rt->wsl && !timer_armed(&rt->retry)) {
                link_connect(rt);
        }
}

static void on_signal(void *arg, int signo)
{
        struct crt *rt = arg;
        if (signo == SIGHUP) {
                reload(rt);
                return;
        }
        log_info("client: signal %d, closing every session", signo);
        rt->stopping = 1;
        reactor_stop(rt->r);
}

int client_open(struct crt **out, struct reactor *r, const struct config_client *cfg,
                const uint8_t key[KEY_LEN],
                int (*reload_cb)(struct config_client *out, char *err, size_t len))
{
        struct crt *rt = calloc(1, sizeof(*rt));
        char why[512];

        *out = NULL;
        if (!rt) {
                reactor_free(r);
                return URELAY_EXIT_RUNTIME;
        }
        rt->cfg = cfg;
        rt->exit_code = URELAY_EXIT_OK;
        rt->reload = reload_cb;
        rt->r = r;
        *out = rt;
        rt->alg =
            cfg->cipher == CONFIG_CIPHER_CHACHA20_POLY1305 ? AEAD_CHACHA20POLY1305 : AEAD_AES256GCM;
        if (aead_keys_derive(&rt->keys, key) < 0)
                return rt->exit_code = URELAY_EXIT_RUNTIME;
        rt->instance = new_instance();
        rt->batch_frames = BATCH_FRAMES;
        if (tls_setup(rt, cfg, why, sizeof(why)) < 0) {
                fprintf(stderr, "urelay client: TLS: %s\n", why);
                return rt->exit_code = URELAY_EXIT_CONFIG;
        }
        if (pool_new(&rt->pool, rt->r, cfg, why, sizeof(why)) < 0) {
                fprintf(stderr, "urelay client: %s\n", why);
                return rt->exit_code = URELAY_EXIT_CONFIG;
        }
        rt->auth_conf.user = cfg->socks_user;
        rt->auth_conf.password = cfg->socks_password;
        if (tunnel_setup(rt) < 0)
                return rt->exit_code = URELAY_EXIT_RUNTIME;
        link_connect(rt);
        return 0;
}

int client_close(struct crt *rt)
{
        int code;

        if (!rt)
                return URELAY_EXIT_RUNTIME;
        if (rt->post) {
                post_log_stats(rt->post);
                post_free(rt->post); /* before the sessions: nothing more is sent */
        }
        wslink_free(rt->wsl);
        drop_sessions(rt); /* every open session ends with a reset */
        pool_stop(rt->pool);
        reactor_free(rt->r); /* a link still closing lets go of its endpoint here */
        pool_free(rt->pool);
        if (rt->tls_ctx)
                tls_ctx_free(rt->tls_ctx);
        aead_keys_wipe(&rt->keys);
        if (rt->cfg_owned) {
                config_free(&config_client_schema, rt->cfg_owned);
                free(rt->cfg_owned);
        }
        code = rt->exit_code;
        free(rt);
        return code;
}

int client_run(const struct config_client *cfg, const uint8_t key[KEY_LEN],
               int (*reload_cb)(struct config_client *out, char *err, size_t len))
{
        struct reactor *r;
        struct crt *rt;
        char why[512];
        int ret;

        ret = reactor_new(&r, NULL, why, sizeof(why));
        if (ret < 0) {
                fprintf(stderr, "urelay client: io_uring unavailable: %s\n", why);
                return URELAY_EXIT_NOURING;
        }
        if (client_open(&rt, r, cfg, key, reload_cb) == 0) {
                if (sigwatch_start(&rt->sig, rt->r, on_signal, rt) < 0) {
                        rt->exit_code = URELAY_EXIT_RUNTIME;
                } else {
                        if (reactor_run(rt->r) < 0)
                                rt->exit_code = URELAY_EXIT_RUNTIME;
                        sigwatch_stop(&rt->sig);
                }
        }
        return client_close(rt);
}
