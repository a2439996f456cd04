/* server: the exit runtime's HTTP/1.1 surface and its run loop; see
 * server.h, and server_priv.h for how the parts fit.
 *
 * Connections start as HTTP requests (struct hconn). `GET /stream` with a
 * valid Upgrade becomes a WebSocket tunnel (ws_stream.c); `POST /tunnel`
 * carries one batch each way (post_tunnel.c); every other request, and any
 * batch that does not authenticate, gets the same decoy, so probing learns
 * nothing about keys or paths (BRIEF §5). A POST body over the cap is
 * refused with 413 from its Content-Length alone.
 */
#include "exit/server.h"

#include "core/log.h"
#include "exit/dialer.h"
#include "exit/dns.h"
#include "exit/server_priv.h"
#include "tools/cmd.h"
#include "transport/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char decoy[] = "HTTP/1.1 404 Not Found\r\n"
                            "Content-Type: text/plain\r\n"
                            "Content-Length: 10\r\n"
                            "Connection: close\r\n"
                            "\r\n"
                            "not found\n";

/* ---- HTTP connections ---- */

/* Everything the exit says to a connection goes through here (and TLS). */
int hconn_out(struct hconn *h, const void *p, size_t n)
{
        return h->tls ? tls_send(h->tls, p, n) : reactor_send(h->c, p, n);
}

void hconn_reply_close(struct hconn *h, const char *resp, size_t len)
{
        h->state = H_CLOSING;
        reactor_timer_stop(h->srv->r, &h->deadline);
        if (len)
                hconn_out(h, resp, len);
        if (h->tls)
                tls_close(h->tls);
        reactor_conn_close(h->c, REACTOR_CLOSE_FLUSH);
}

void hconn_abort(struct hconn *h)
{
        if (h->state == H_CLOSING)
                return;
        post_tunnel_closed(h);
        h->state = H_CLOSING;
        reactor_conn_close(h->c, REACTOR_CLOSE_RESET);
}

void hconn_send_decoy(struct hconn *h)
{
        h->srv->st.decoys++;
        hconn_reply_close(h, decoy, sizeof(decoy) - 1);
}

void hconn_send_limit(struct hconn *h)
{
        static const char resp[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                   "Content-Type: text/plain\r\n"
                                   "Cache-Control: no-store\r\n"
                                   "Connection: close\r\n"
                                   "Content-Length: ";
        char out[256];
        int n = snprintf(out, sizeof(out), "%s%zu\r\n\r\n%s", resp, sizeof(TUNNEL_LIMIT_BODY) - 1,
                         TUNNEL_LIMIT_BODY);

        hconn_reply_close(h, out, (size_t)n);
}

static void send_status(struct hconn *h, int status)
{
        char resp[256];
        const char *reason = status == 413   ? "Content Too Large"
                             : status == 411 ? "Length Required"
                             : status == 414 ? "URI Too Long"
                             : status == 431 ? "Request Header Fields Too Large"
                             : status == 501 ? "Not Implemented"
                                             : "Bad Request";
        int n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n%s\n",
                         status, reason, strlen(reason) + 1, reason);
        hconn_reply_close(h, resp, (size_t)n);
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

static bool is(const struct http1_head *hd, const char *method, const char *path)
{
        return !strcmp(http1_method(hd), method) && !strcmp(http1_target(hd), path);
}

static void route(struct hconn *h, const uint8_t *rest, size_t n)
{
        const struct http1_head *hd = http1_msg_head(&h->msg);

        if (is(hd, "GET", "/healthz"))
                send_health(h);
        else if (is(hd, "GET", "/stream"))
                ws_stream_start(h, rest, n);
        else if (is(hd, "POST", "/tunnel"))
                post_tunnel_request(h, rest, n);
        else
                hconn_send_decoy(h);
}

/* A request the parser refused: its status, but the decoy for a path that
 * is not ours (no oracle), and 413 from Content-Length alone. */
static void refuse(struct hconn *h, int err)
{
        const struct http1_head *hd = http1_msg_head(&h->msg);

        if (err == HTTP1_MSG_ETOOBIG)
                h->srv->st.too_large++;
        if (http1_msg_head_done(&h->msg) && !is(hd, "POST", "/tunnel"))
                hconn_send_decoy(h);
        else
                send_status(h, http1_msg_error_status(err));
}

/* Plain bytes of the connection: from the socket, or out of TLS. */
static void h_plain(struct hconn *h, const uint8_t *p, size_t n)
{
        size_t used;
        int ret;

        switch (h->state) {
        case H_WS:
                ws_stream_input(h, p, n);
                return;
        case H_POLL:
                /* Another request before the answer: see post_tunnel.c. */
                hconn_abort(h);
                return;
        case H_CLOSING:
                return;
        case H_HEAD:
                break;
        }
        ret = http1_msg_feed(&h->msg, p, n, &used);
        if (ret < 0)
                refuse(h, ret);
        else if (ret == 1)
                route(h, p + used, n - used);
}

static void header_deadline(struct timer *t, void *arg);

void hconn_next_request(struct hconn *h, const uint8_t *rest, size_t n)
{
        h->state = H_HEAD;
        http1_msg_reset(&h->msg);
        reactor_timer_stop(h->srv->r, &h->deadline);
        reactor_timer_start(h->srv->r, &h->deadline, KEEPALIVE_IDLE_MS, header_deadline, h);
        if (n)
                h_plain(h, rest, n);
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
                post_tunnel_closed(h);
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
                hconn_abort(h);
        }
}

static void h_drain(struct rconn *c, void *ud)
{
        struct hconn *h = ud;
        (void)c;
        if (h->state == H_WS)
                ws_stream_flush(h);
}

static void h_gone(struct rconn *c, void *ud)
{
        struct hconn *h = ud;
        (void)c;
        if (h->state != H_CLOSING) {
                post_tunnel_closed(h);
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
        if (h->state == H_POLL)
                post_tunnel_closed(h);
        /* A held POST whose client went first (client_free) is no longer
         * in any list, but its timer may still be armed. */
        reactor_timer_stop(h->srv->r, &h->poll_timer);
        ws_stream_closed(h);
        if (h->tls)
                tls_free(h->tls);
        http1_msg_free(&h->msg);
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
        if (h->state == H_HEAD)
                hconn_abort(h);
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
        http1_msg_init(&h->msg, HTTP1_REQUEST, post_tunnel_max_body());
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

int exit_server_open(struct server **out, struct reactor *r, const struct config_exit *cfg,
                     const uint8_t (*keys)[KEY_LEN], size_t nkeys)
{
        struct server *srv = calloc(1, sizeof(*srv));
        char a[NETADDR_STRLEN];
        int ret;

        *out = srv;
        if (!srv) {
                reactor_free(r);
                return URELAY_EXIT_RUNTIME;
        }
        srv->cfg = cfg;
        srv->nkeys = nkeys;
        srv->r = r;
        srv->keys = calloc(nkeys, sizeof(*srv->keys));
        srv->scratch = malloc(BATCH_MAX);
        srv->text = malloc(post_tunnel_max_body());
        srv->chal = malloc(BATCH_PREFIX_LEN + FRAME_CHAL_LEN + BATCH_TAG_LEN);
        if (!srv->keys || !srv->scratch || !srv->text || !srv->chal ||
            replay_memo_init(&srv->gone, GONE_MEMOS) < 0 || cookie_jar_init(&srv->jar) < 0)
                return URELAY_EXIT_RUNTIME;
        for (size_t i = 0; i < nkeys; i++) {
                if (aead_keys_derive(&srv->keys[i].keys, keys[i]) < 0 ||
                    batch_opener_init(&srv->keys[i].opener, &srv->keys[i].keys, AEAD_C2S) < 0)
                        return URELAY_EXIT_RUNTIME;
                if (batch_sealer_init(&srv->keys[i].chal, &srv->keys[i].keys, AEAD_AES256GCM,
                                      AEAD_S2C) < 0) {
                        batch_opener_wipe(&srv->keys[i].opener);
                        return URELAY_EXIT_RUNTIME;
                }
                srv->keys[i].sealed = true;
                key_id(keys[i], srv->keys[i].id);
        }
        if (cfg->tls_cert) {
                char err[512];
                if (tls_ctx_server_new(&srv->tls_ctx, cfg->tls_cert, cfg->tls_key, err,
                                       sizeof(err)) < 0) {
                        fprintf(stderr, "urelay exit: TLS: %s\n", err);
                        return URELAY_EXIT_CONFIG;
                }
        }
        ret = egress_init(&srv->egress, cfg->allow_dest.v, cfg->allow_dest.n);
        if (ret == 0)
                ret = start_dns(srv);
        if (ret == 0)
                ret = dialer_new(&srv->dialer, srv->r, srv->dns, &srv->egress, NULL);
        if (ret < 0) {
                fprintf(stderr, "urelay exit: cannot start the resolver: %s\n", strerror(-ret));
                return URELAY_EXIT_RUNTIME;
        }
        netaddr_format(&cfg->listen, a, sizeof(a));
        ret = listen_on(srv);
        if (ret < 0) {
                fprintf(stderr, "urelay exit: cannot listen on %s: %s\n", a, strerror(-ret));
                return URELAY_EXIT_RUNTIME;
        }
        return 0;
}

void exit_server_close(struct server *srv)
{
        if (!srv)
                return;
        /* Freeing the clients resets every session (upstreams get RST) and
         * cancels the dials, so the dialer and resolver go before the
         * reactor, which closes whatever is left in order. */
        clients_free_all(srv);
        if (srv->listener)
                reactor_conn_close(srv->listener, REACTOR_CLOSE_NOW);
        if (srv->dialer)
                dialer_free(srv->dialer);
        if (srv->dns)
                dns_free(srv->dns);
        reactor_free(srv->r); /* closes what is left, in order */
        if (srv->tls_ctx)
                tls_ctx_free(srv->tls_ctx);
        for (size_t i = 0; srv->keys && i < srv->nkeys; i++) {
                if (!srv->keys[i].sealed)
                        continue;
                batch_opener_wipe(&srv->keys[i].opener);
                batch_sealer_wipe(&srv->keys[i].chal);
                aead_keys_wipe(&srv->keys[i].keys);
        }
        cookie_jar_wipe(&srv->jar);
        free(srv->chal);
        free(srv->keys);
        free(srv->scratch);
        free(srv->text);
        replay_memo_free(&srv->gone);
        free(srv);
}

int exit_server_run(const struct config_exit *cfg, const uint8_t (*keys)[KEY_LEN], size_t nkeys)
{
        struct reactor *r;
        struct server *srv;
        char why[512], a[NETADDR_STRLEN];
        int code, ret;

        ret = reactor_new(&r, NULL, why, sizeof(why));
        if (ret < 0) {
                fprintf(stderr, "urelay exit: io_uring unavailable: %s\n", why);
                return URELAY_EXIT_NOURING;
        }
        code = exit_server_open(&srv, r, cfg, keys, nkeys);
        if (code == 0) {
                code = URELAY_EXIT_RUNTIME;
                if (sigwatch_start(&srv->sig, srv->r, on_signal, srv) == 0) {
                        netaddr_format(&cfg->listen, a, sizeof(a));
                        printf("urelay exit: ready on %s (%s /stream, %s /tunnel, /healthz), %zu "
                               "client key%s\n",
                               a, srv->tls_ctx ? "wss" : "ws", srv->tls_ctx ? "https" : "http",
                               nkeys, nkeys == 1 ? "" : "s");
                        fflush(stdout);
                        ret = reactor_run(srv->r);
                        code = ret < 0 ? URELAY_EXIT_RUNTIME : URELAY_EXIT_OK;
                        sigwatch_stop(&srv->sig);
                }
        }
        exit_server_close(srv);
        return code;
}
