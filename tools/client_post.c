/* client_post: the client half of the post transport; see client_priv.h.
 *
 * A pool of workers, each one request at a time over its own keep-alive
 * HTTP/1.1 connection (TLS for https://). A request carries one batch up and
 * its answer one batch down; the exit holds a request until it has
 * something to say (a long poll). Up to `workers` requests carry frames at
 * once, and one more, frameless, is kept at the exit while sessions are
 * open so downstream bytes always have a way back. Several requests may
 * carry one session at once: offsets make that safe, and the batch size is
 * the window over the workers so that they do.
 *
 * Each request goes through the best endpoint of the pool (client_pool.c)
 * at that moment. A request fails on a connection error, its timeout, a
 * status that is not 200, 429 or a redirect, or an answer that is not an
 * authentic batch: the endpoint counts a failure, and the request's frames,
 * and those of the answer it may have lost, are sent again (mux_recover:
 * resend here, and a PING REWIND asks the exit to resend); duplicates are
 * dropped by offset. No new request goes to an endpoint that failed until
 * its backoff is over (reconnect_delay doubling to max_reconnect_delay,
 * jittered, never past it; see client_pool.h), then one at a time until a
 * success: other endpoints carry the frames meanwhile, or they wait. A 429
 * or the Apps Script quota page quarantines the endpoint (and its account)
 * and the frames go again elsewhere. Before the client has ever worked, an
 * answer that is not an authentic batch ends it (exit code 2: wrong URL or
 * key); network errors are always retried, and so is the exit's "instance
 * limit reached" (no request at all for the reconnect backoff).
 *
 * Redirects are followed as a browser would (Apps Script answers through a
 * 302 to a GET): 301/302/303 become a GET, 307/308 repeat the POST. The
 * Host header of a redirect is the Location's host; the address dialed is
 * --connect when set (fronting), else the Location's host, resolved on the
 * reactor (exit/dns.c) unless it is the endpoint's own or an IP literal.
 */
#include "tools/client_priv.h"

#include "core/base64.h"
#include "core/hostenv.h"
#include "core/log.h"
#include "exit/dns.h"
#include "tools/client_pool.h"
#include "tools/cmd.h"
#include "transport/http1_msg.h"
#include "transport/tls.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RETRY_AFTER_DEF 60   /* s of quarantine for a 429 without Retry-After */
#define IDLE_PING_MAX   8    /* with no session, heartbeats back off to 8 x heartbeat */
#define POST_RTO_MS     3000 /* no word on what we sent while answers come: ask again */

/* Where a connection goes: scheme, host and port. */
struct origin {
        bool tls;
        char host[NETADDR_HOST_MAX + 1];
        uint16_t port;
};

enum wstate {
        W_IDLE,       /* no request; maybe a kept-alive connection */
        W_RESOLVING,  /* request waiting for its origin's address */
        W_CONNECTING, /* request waiting for the connection (and TLS) */
        W_WAITING,    /* request sent, reading the answer */
};

struct worker {
        struct post *p;
        enum wstate state;
        bool poll;           /* the request carries no frames */
        struct endpoint *ep; /* the request's (held) */
        unsigned gen;        /* ep->backoff_gen when it started */
        bool trial;          /* started while ep was backing off */
        unsigned limit_s;    /* its timeout */
        uint64_t sent_ms;    /* for the round trip */
        /* The connection, to <conn_origin> through <conn_ep> (held). */
        struct endpoint *conn_ep;
        struct rconn *c;
        struct tls *tls;
        bool conn_ready; /* connected (and TLS done) */
        struct origin conn_origin;
        /* The request. */
        uint8_t *body;
        size_t body_len, body_cap;
        bool get; /* after a 301/302/303 */
        struct origin target;
        char host_header[NETADDR_HOST_MAX + 10];
        char path[NETADDR_PATH_MAX + 1];
        unsigned redirects;
        struct http1_msg resp;
        struct timer timeout;
        struct dns_query *dq;
        bool resolving_own; /* the endpoint's own host: remember the answer */
};

struct post_stats {
        uint64_t requests, polls, failed, quota, redirects, answers;
        uint64_t recovered; /* asked again after POST_RTO_MS without a word */
        unsigned data_inflight_max;
};

struct post {
        struct crt *rt;
        struct worker *w;
        unsigned nw;       /* workers + 1 (the poll) */
        unsigned data_max; /* requests carrying frames at once */
        unsigned data_inflight, polls_inflight;
        bool downloading;     /* the last answer carried data: keep more polls out */
        struct timer backoff; /* the earliest end of an endpoint's backoff */
        struct timer rto;     /* a lost answer's retransmission timer */
        uint64_t rto_progress, rto_answers;
        uint64_t limit_until; /* the exit said "instance limit reached": no request till then */
        struct timer heartbeat;
        unsigned idle_beats;
        struct post_stats st;
};

static void pump(struct post *p);
static void issue(struct worker *w);

/* ---- helpers ---- */

static bool same_origin(const struct origin *a, const struct origin *b)
{
        return a->tls == b->tls && a->port == b->port && !strcasecmp(a->host, b->host);
}

static void origin_of(const struct netaddr_url *u, struct origin *o)
{
        o->tls = netaddr_scheme_tls(u->scheme);
        o->port = u->addr.port;
        snprintf(o->host, sizeof(o->host), "%s", u->addr.host);
}

static void conn_drop(struct worker *w, enum reactor_close how)
{
        if (w->c) {
                reactor_conn_set_ud(w->c, NULL);
                reactor_conn_close(w->c, how);
        }
        if (w->conn_ep)
                ep_release(w->conn_ep);
        w->conn_ep = NULL;
        w->c = NULL;
        tls_free(w->tls);
        w->tls = NULL;
        w->conn_ready = false;
}

/* The request is over (answered or failed): the worker is free. */
static void req_end(struct worker *w)
{
        struct post *p = w->p;

        reactor_timer_stop(p->rt->r, &w->timeout);
        if (w->dq) {
                dns_cancel(w->dq);
                w->dq = NULL;
        }
        if (w->poll)
                p->polls_inflight--;
        else if (w->state != W_IDLE)
                p->data_inflight--;
        if (w->ep) {
                w->ep->inflight--;
                if (w->trial)
                        w->ep->trials--;
                ep_release(w->ep);
                w->ep = NULL;
        }
        w->trial = false;
        w->state = W_IDLE;
}

static void backoff_over(struct timer *t, void *arg)
{
        (void)t;
        pump(arg);
}

/* No endpoint takes a request for <wait> ms: pump again then (UINT64_MAX:
 * a trial is out, and its end pumps). */
static void backoff_wait(struct post *p, uint64_t wait)
{
        struct reactor *r = p->rt->r;

        if (wait == UINT64_MAX)
                return;
        if (timer_armed(&p->backoff) && p->backoff.deadline <= reactor_now_ms(r) + wait)
                return;
        reactor_timer_start(r, &p->backoff, wait, backoff_over, p);
}

/* The request's frames, and those of the answer it may have lost, go
 * again (before the proof, the only frame was the PING: send another). */
static void resend(struct post *p, uint64_t token)
{
        struct crt *rt = p->rt;

        if (rt->proven ? mux_recover(rt->mux, token) < 0 : mux_ping(rt->mux, 1) < 0)
                log_error("out of memory queuing a resend request");
}

/* A failed request: <msg> says why, in full for LINK_REFUSED (it may end
 * the client). */
static void req_fail(struct worker *w, enum link_verdict v, const char *msg)
{
        struct post *p = w->p;
        struct crt *rt = p->rt;
        struct endpoint *ep = w->ep;
        unsigned gen = w->gen;

        conn_drop(w, REACTOR_CLOSE_RESET);
        ep_hold(ep);
        req_end(w);
        p->st.failed++;
        client_request_failed(rt, ep, v, msg);
        if (rt->stopping) {
                ep_release(ep);
                return;
        }
        if (v == LINK_LIMIT) {
                /* The exit has no room for us, whichever endpoint leads
                 * there: no request at all for the reconnect backoff
                 * (judge() said it once). */
                uint64_t d = client_backoff(rt);
                p->limit_until = reactor_now_ms(rt->r) + d;
                ep_release(ep);
                resend(p, p->st.failed);
                backoff_wait(p, d);
                return;
        }
        /* No new request to it for a while; other endpoints take the
         * frames meanwhile (pool_pick_ready). */
        uint64_t next = ep_backoff(ep, gen);
        /* A lone failure is the path's noise (a lost answer): one line.
         * From the second in a row the endpoint is down: its state changes
         * are logged, not each attempt. */
        if (ep->fails < 2 && !ep->down)
                log_info("post to %s: %s; its frames go again (next request to it in %llu ms)",
                         ep->name, msg, (unsigned long long)next);
        else
                ep_down(ep, msg, next);
        ep_release(ep);
        resend(p, p->st.failed);
        pump(p);
}

static void req_failed_as(struct worker *w, enum link_verdict v, const char *why);

static void req_failed(struct worker *w, bool answered, const char *why)
{
        req_failed_as(w, answered ? LINK_REFUSED : LINK_NET, why);
}

/* <v> LINK_SUSPECT: a 200 whose body is no authentic batch. A wrong key
 * gets the exit's decoy, not a 200; a forwarder that cut or mangled the
 * answer gives this too (tests/sim: a faulty forwarder ended a client with
 * code 2), so it is asked again before it means a wrong key. */
static void req_failed_as(struct worker *w, enum link_verdict v, const char *why)
{
        char msg[2560];

        if (v == LINK_NET) {
                req_fail(w, LINK_NET, why);
                return;
        }
        snprintf(msg, sizeof(msg),
                 "%s answered, but not as an urelay exit taking this key (%s): check the "
                 "endpoint URL and the key file",
                 w->ep->name, why);
        req_fail(w, v, msg);
}

/* The endpoint's quota is spent: it rests (with its account) until
 * wall-clock <until>; the frames go again through another endpoint. */
static void req_quota(struct worker *w, uint64_t until, const char *why)
{
        struct post *p = w->p;

        ep_quota(w->ep, until, why);
        /* A sole endpoint (or a whole pool) out of quota is still picked:
         * not at once again. */
        ep_backoff(w->ep, w->gen);
        client_post_trouble(p->rt);
        if (!http1_keep_alive(http1_msg_head(&w->resp)))
                conn_drop(w, REACTOR_CLOSE_NOW);
        req_end(w);
        p->st.quota++;
        resend(p, p->st.failed + p->st.quota);
        pump(p);
}

/* Seconds from a Retry-After value (delta-seconds or an HTTP-date). */
static uint64_t retry_after_s(const char *v)
{
        struct tm tm = {0};
        char *end;

        if (!v)
                return RETRY_AFTER_DEF;
        unsigned long n = strtoul(v, &end, 10);
        if (end != v && !*end)
                return n > 86400 ? 86400 : n;
        end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        if (end) {
                time_t at = timegm(&tm), now = (time_t)(hostenv_wall_ms() / 1000);
                return at > now ? (uint64_t)(at - now) : 1;
        }
        return RETRY_AFTER_DEF;
}

/* Apps Script's page once the daily UrlFetch quota is spent (docs/apps-script.md). */
static bool quota_page(const uint8_t *body, size_t len)
{
        static const char needle[] = "too many times for one day";
        return len > sizeof(needle) && body[0] == '<' &&
               memmem(body, len, needle, sizeof(needle) - 1) != NULL;
}

/* ---- the answer ---- */

static void answered_batch(struct worker *w)
{
        struct post *p = w->p;
        size_t len, blen;
        uint8_t *body = (uint8_t *)http1_msg_body(&w->resp, &len);
        int ret;

        if (quota_page(body, len)) {
                req_quota(w, pool_quota_reset_ms(tunnel_wall_ms()), "daily quota exhausted");
                return;
        }
        if (len && body[0] != BATCH_VERSION) {
                /* Text mode (docs/protocol.md §6), whatever we sent. */
                ret = b64_decode((const char *)body, len, body, len, &blen);
                if (ret < 0) {
                        req_failed_as(w, LINK_SUSPECT,
                                      "the answer is neither a batch nor base64 of one");
                        return;
                }
                len = blen;
        }
        /* The worker stays busy while the batch is acted on, so the body
         * stays put; pump() after it may reuse the worker. */
        p->downloading = len > BATCH_OVERHEAD + 1024;
        ret = client_batch_in(p->rt, body, len);
        if (ret < 0) {
                char why[160];
                snprintf(why, sizeof(why), "the answer is not an authentic batch (%s)",
                         batch_strerror(ret));
                req_failed_as(w, LINK_SUSPECT, why);
                return;
        }
        if (!http1_keep_alive(http1_msg_head(&w->resp)))
                conn_drop(w, REACTOR_CLOSE_NOW);
        struct endpoint *ep = w->ep;
        ep_hold(ep);
        ep_success(ep, w->poll ? 0 : (uint32_t)(reactor_now_ms(p->rt->r) - w->sent_ms));
        req_end(w);
        p->st.answers++;
        if (ret == 0) /* a challenge proves the key, not yet the tunnel */
                client_link_proven(p->rt, ep);
        ep_release(ep);
        pump(p);
}

static void redirect(struct worker *w, int status)
{
        const struct http1_head *h = http1_msg_head(&w->resp);
        const char *loc = http1_header(h, "Location");
        struct netaddr_url u;
        char err[128];

        if (!loc || !*loc) {
                req_failed(w, true, "a redirect without Location");
                return;
        }
        if (w->redirects >= (unsigned)w->p->rt->cfg->max_redirects) {
                req_failed(w, true, "too many redirects");
                return;
        }
        if (loc[0] == '/') {
                snprintf(w->path, sizeof(w->path), "%s", loc); /* same origin and Host */
        } else if (netaddr_url_parse(loc, &u, err, sizeof(err)) == 0 &&
                   (u.scheme == NETADDR_HTTP || u.scheme == NETADDR_HTTPS)) {
                origin_of(&u, &w->target);
                client_host_header(&u, w->host_header, sizeof(w->host_header));
                snprintf(w->path, sizeof(w->path), "%s", u.path);
        } else {
                req_failed(w, true, "a redirect to a Location that is not an http(s) URL");
                return;
        }
        w->redirects++;
        w->p->st.redirects++;
        if (status == 301 || status == 302 || status == 303)
                w->get = true;
        if (!http1_keep_alive(h))
                conn_drop(w, REACTOR_CLOSE_NOW);
        http1_msg_reset(&w->resp);
        issue(w);
}

/* The exit's "instance limit reached" (docs/protocol.md §3.5): 503 with
 * this body, or the body alone in a 200 from a forwarder that hands every
 * answer on as its own (Apps Script). */
static bool limit_answer(struct worker *w)
{
        size_t len;
        const uint8_t *body = http1_msg_body(&w->resp, &len);

        return len == sizeof(TUNNEL_LIMIT_BODY) - 1 &&
               !memcmp(body, TUNNEL_LIMIT_BODY, sizeof(TUNNEL_LIMIT_BODY) - 1);
}

static void answer_complete(struct worker *w)
{
        int status = http1_status(http1_msg_head(&w->resp));
        char why[96];

        if ((status == 200 || status == 503) && limit_answer(w)) {
                req_fail(w, LINK_LIMIT, "the exit said: " TUNNEL_LIMIT_REASON);
        } else if (status == 200) {
                answered_batch(w);
        } else if (status == 429) {
                uint64_t s = retry_after_s(http1_header(http1_msg_head(&w->resp), "Retry-After"));
                snprintf(why, sizeof(why), "HTTP 429 (Retry-After %llu s)", (unsigned long long)s);
                req_quota(w, tunnel_wall_ms() + s * 1000, why);
        } else if (status == 301 || status == 302 || status == 303 || status == 307 ||
                   status == 308) {
                redirect(w, status);
        } else {
                const char *reason = http1_reason(http1_msg_head(&w->resp));
                snprintf(why, sizeof(why), "HTTP %d %s", status, reason ? reason : "");
                /* 5xx is the path's trouble, not a verdict on us. */
                req_failed(w, status < 500, why);
        }
}

/* ---- the connection ---- */

static void conn_input(struct worker *w, const uint8_t *p, size_t n)
{
        size_t used;
        int ret;

        if (w->state != W_WAITING) {
                /* Bytes nobody asked for: the connection is not usable. */
                if (w->state == W_IDLE)
                        conn_drop(w, REACTOR_CLOSE_RESET);
                return;
        }
        ret = http1_msg_feed(&w->resp, p, n, &used);
        if (ret < 0) {
                char why[128];
                snprintf(why, sizeof(why), "a bad answer: %s", http1_msg_strerror(ret));
                req_failed(w, true, why);
        } else if (ret == 1) {
                answer_complete(w);
        }
}

static void send_request(struct worker *w)
{
        char head[NETADDR_PATH_MAX + NETADDR_HOST_MAX + 256];
        int n;

        if (w->get)
                n = snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", w->path,
                             w->host_header);
        else
                n = snprintf(head, sizeof(head),
                             "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
                             "Content-Length: %zu\r\n\r\n",
                             w->path, w->host_header,
                             w->ep->text ? "text/plain" : "application/octet-stream", w->body_len);
        http1_msg_reset(&w->resp);
        w->state = W_WAITING;
        w->sent_ms = reactor_now_ms(w->p->rt->r);
        int ret = w->tls ? tls_send(w->tls, (const uint8_t *)head, (size_t)n)
                         : reactor_send(w->c, head, (size_t)n);
        if (ret == 0 && !w->get)
                ret = w->tls ? tls_send(w->tls, w->body, w->body_len)
                             : reactor_send(w->c, w->body, w->body_len);
        if (ret < 0)
                req_failed(w, false, "the connection refused the request");
}

static int tls_emit(void *ud, const uint8_t *p, size_t n)
{
        struct worker *w = ud;
        return reactor_send(w->c, p, n);
}

static void tls_ready(void *ud)
{
        struct worker *w = ud;
        w->conn_ready = true;
        if (w->state == W_CONNECTING)
                send_request(w);
}

static void tls_data(void *ud, const uint8_t *p, size_t n)
{
        conn_input(ud, p, n);
}

static void tls_closed(void *ud)
{
        struct worker *w = ud;
        if (w->state == W_IDLE)
                conn_drop(w, REACTOR_CLOSE_NOW);
        else
                req_failed(w, false, "it ended TLS");
}

static const struct tls_events post_tls_events = {
    .emit = tls_emit,
    .on_ready = tls_ready,
    .on_data = tls_data,
    .on_close = tls_closed,
};

static void c_connect(struct rconn *c, void *ud, int res)
{
        struct worker *w = ud;
        const struct crt *rt;

        if (!w)
                return;
        rt = w->p->rt;
        if (res < 0) {
                char why[128];
                snprintf(why, sizeof(why), "cannot connect: %s", strerror(-res));
                req_failed(w, false, why);
                return;
        }
        client_tune_socket(reactor_conn_fd(c));
        if (!w->conn_origin.tls) {
                w->conn_ready = true;
                send_request(w);
                return;
        }
        const char *sni = w->conn_ep->sni_set ? w->conn_ep->sni : w->conn_origin.host;
        if (!rt->tls_ctx || tls_client_new(&w->tls, rt->tls_ctx, sni, &post_tls_events, w) < 0 ||
            tls_start(w->tls) < 0)
                req_failed(w, false, "cannot start TLS");
}

static void c_recv(struct rconn *c, void *ud, const uint8_t *p, size_t n)
{
        struct worker *w = ud;
        (void)c;
        if (!w)
                return;
        if (!w->tls) {
                conn_input(w, p, n);
                return;
        }
        if (tls_input(w->tls, p, n) < 0) {
                char why[256];
                snprintf(why, sizeof(why), "TLS: %s", tls_last_error(w->tls));
                if (w->state == W_IDLE) {
                        conn_drop(w, REACTOR_CLOSE_RESET);
                } else {
                        /* As for wss://: a certificate or name we cannot
                         * verify is a configuration to fix, not a glitch
                         * (before the client has worked). */
                        char msg[2560];
                        snprintf(msg, sizeof(msg),
                                 "TLS with %s failed (%s): check --ca-file and --sni, or that "
                                 "the endpoint serves TLS",
                                 w->conn_ep->name, tls_last_error(w->tls));
                        req_fail(w, LINK_REFUSED, msg);
                }
        }
}

static void c_eof(struct rconn *c, void *ud)
{
        struct worker *w = ud;
        (void)c;
        if (!w)
                return;
        if (w->state == W_WAITING && http1_msg_head_done(&w->resp) && !w->tls &&
            http1_msg_eof(&w->resp) == 1) {
                conn_drop(w, REACTOR_CLOSE_NOW); /* an answer framed by close */
                answer_complete(w);
                return;
        }
        if (w->state == W_IDLE)
                conn_drop(w, REACTOR_CLOSE_NOW);
        else
                req_failed(w, w->state == W_WAITING && http1_msg_head_done(&w->resp),
                           "the connection closed before the whole answer");
}

static void c_error(struct rconn *c, void *ud, int err)
{
        struct worker *w = ud;
        char why[96];
        (void)c;
        if (!w)
                return;
        if (w->state == W_IDLE) {
                conn_drop(w, REACTOR_CLOSE_NOW);
                return;
        }
        snprintf(why, sizeof(why), "connection error: %s", strerror(-err));
        req_failed(w, false, why);
}

static void c_close(struct rconn *c, void *ud)
{
        struct worker *w = ud;
        if (w && w->c == c) {
                w->c = NULL; /* closed under us (reactor teardown) */
                w->conn_ready = false;
        }
}

static const struct rconn_ops worker_ops = {
    .on_connect = c_connect,
    .on_recv = c_recv,
    .on_eof = c_eof,
    .on_error = c_error,
    .on_close = c_close,
};

static void dial(struct worker *w, const struct sockaddr_storage *sa, socklen_t len)
{
        struct crt *rt = w->p->rt;
        int ret;

        w->state = W_CONNECTING;
        w->conn_origin = w->target;
        w->conn_ep = w->ep;
        ep_hold(w->conn_ep);
        ret = reactor_connect(rt->r, (const struct sockaddr *)sa, len, CONNECT_TIMEOUT_MS,
                              &worker_ops, w, &w->c);
        if (ret < 0) {
                w->c = NULL;
                req_failed(w, false, strerror(-ret));
        }
}

static void resolved(void *arg, int status, const struct sockaddr_storage *addrs, size_t n)
{
        struct worker *w = arg;
        struct sockaddr_storage sa;

        w->dq = NULL;
        if (status < 0 || n == 0) {
                char why[NETADDR_HOST_MAX + 64];
                snprintf(why, sizeof(why), "cannot resolve %s: %s", w->target.host,
                         strerror(status < 0 ? -status : ENOENT));
                req_failed(w, false, why);
                return;
        }
        if (w->resolving_own) {
                ep_resolved(w->ep, addrs, n); /* remembered for the next requests */
                dial(w, &w->ep->sa, w->ep->sa_len);
                return;
        }
        sa = addrs[0];
        dial(w, &sa, netaddr_sockaddr_set_port(&sa, w->target.port));
}

/* Sends the request on a connection to its target, opening one if needed. */
static void issue(struct worker *w)
{
        struct post *p = w->p;
        struct crt *rt = p->rt;
        struct endpoint *ep = w->ep;
        struct origin own;
        struct sockaddr_storage sa;
        socklen_t len;

        if (w->c && w->conn_ready && w->conn_ep == ep && same_origin(&w->conn_origin, &w->target)) {
                send_request(w);
                return;
        }
        conn_drop(w, REACTOR_CLOSE_NOW);
        if (w->target.tls && !rt->tls_ctx) {
                req_failed(w, false,
                           "a redirect to https://, but TLS is not set up: use an "
                           "https:// endpoint");
                return;
        }
        /* Fronting dials one address whatever the Host; the endpoint's
         * own host is resolved once in a while; an IP literal needs no DNS. */
        origin_of(&ep->url, &own);
        bool mine = same_origin(&w->target, &own);
        if (ep->via_connect || (mine && ep_addr_known(ep))) {
                dial(w, &ep->sa, ep->sa_len);
                return;
        }
        if (netaddr_literal_sockaddr(w->target.host, w->target.port, &sa, &len) == 0) {
                dial(w, &sa, len);
                return;
        }
        w->state = W_RESOLVING;
        w->resolving_own = mine;
        if (ep_resolve(ep, w->target.host, resolved, w, &w->dq) < 0) {
                w->dq = NULL;
                req_failed(w, false, "cannot resolve the host (a bad name, or no resolver)");
        }
}

static void req_timeout(struct timer *t, void *arg)
{
        struct worker *w = arg;
        char why[64];
        (void)t;
        snprintf(why, sizeof(why), "no whole answer within %u s", w->limit_s);
        req_failed(w, false, why);
}

/* Starts a request through <ep> on free worker <w> with batch msg[0, len). */
static int req_start(struct worker *w, struct endpoint *ep, const uint8_t *msg, size_t len,
                     bool poll)
{
        struct post *p = w->p;
        struct crt *rt = p->rt;
        size_t need = ep->text ? b64_encoded_len(len) : len;
        /* A request with frames is answered at the exit's next flush: one
         * that takes longer than heartbeat_timeout means a dead path. A
         * long poll is held by design, up to the exit's long_poll. */
        w->limit_s = (unsigned)(poll || rt->cfg->heartbeat_timeout > rt->cfg->request_timeout
                                    ? rt->cfg->request_timeout
                                    : rt->cfg->heartbeat_timeout);

        if (need > w->body_cap) {
                uint8_t *b = realloc(w->body, need);
                if (!b)
                        return -ENOMEM;
                w->body = b;
                w->body_cap = need;
        }
        if (ep->text) {
                b64_encode(msg, len, (char *)w->body, w->body_cap, &w->body_len);
        } else {
                memcpy(w->body, msg, len);
                w->body_len = len;
        }
        w->ep = ep;
        ep_hold(ep);
        ep->inflight++;
        ep->uses++;
        w->gen = ep->backoff_gen;
        w->trial = ep->backoff_ms != 0;
        if (w->trial)
                ep->trials++;
        w->poll = poll;
        w->get = false;
        w->redirects = 0;
        origin_of(&ep->url, &w->target);
        snprintf(w->host_header, sizeof(w->host_header), "%s", ep->host_header);
        snprintf(w->path, sizeof(w->path), "%s", ep->url.path);
        w->state = W_CONNECTING; /* counted as in flight from here */
        if (poll) {
                p->polls_inflight++;
                p->st.polls++;
        } else {
                p->data_inflight++;
                if (p->data_inflight > p->st.data_inflight_max)
                        p->st.data_inflight_max = p->data_inflight;
        }
        p->st.requests++;
        reactor_timer_start(rt->r, &w->timeout, (uint64_t)w->limit_s * 1000, req_timeout, w);
        issue(w);
        return 0;
}

/* A free worker for a request through <ep>: one with a live connection to
 * it if there is one. */
static struct worker *free_worker(struct post *p, const struct endpoint *ep)
{
        struct worker *best = NULL;

        for (unsigned i = 0; i < p->nw; i++) {
                struct worker *w = &p->w[i];
                if (w->state != W_IDLE)
                        continue;
                if (ep && w->c && w->conn_ready && w->conn_ep == ep)
                        return w;
                if (!best)
                        best = w;
        }
        return best;
}

static bool sessions_open(const struct post *p)
{
        struct mux_stats st;
        if (!p->rt->mux)
                return false;
        mux_get_stats(p->rt->mux, &st);
        return st.sessions_open > 0;
}

/* The endpoint for the next request and a worker for it; NULL when every
 * endpoint backs off (the backoff timer pumps again) or no worker is free. */
static struct worker *next_worker(struct post *p, struct endpoint **ep)
{
        uint64_t wait;

        if (!free_worker(p, NULL))
                return NULL;
        *ep = pool_pick_ready(p->rt->pool, EP_POST, &wait);
        if (!*ep) {
                backoff_wait(p, wait);
                return NULL;
        }
        return free_worker(p, *ep);
}

static void pump(struct post *p)
{
        struct crt *rt = p->rt;
        const uint8_t *msg;
        size_t len;
        struct worker *w;
        struct endpoint *ep;

        if (rt->stopping || !rt->mux)
                return;
        uint64_t now = reactor_now_ms(rt->r);
        if (now < p->limit_until) {
                backoff_wait(p, p->limit_until - now);
                return;
        }
        while (p->data_inflight < p->data_max && mux_has_pending(rt->mux) &&
               (w = next_worker(p, &ep)) != NULL) {
                int ret = tunnel_next_batch(&rt->tun, &msg, &len);
                if (ret <= 0) {
                        if (ret < 0)
                                log_error("sealing a batch failed: %s", batch_strerror(ret));
                        break;
                }
                if (req_start(w, ep, msg, len, false) < 0) {
                        log_error("out of memory for a request");
                        mux_rewind(rt->mux);
                        return;
                }
        }
        /* Downstream bytes need requests to ride back on: one long poll,
         * and while answers carry data, more (the exit holds the extra ones
         * briefly), so that answers overlap. One worker stays free for
         * frames. */
        unsigned want = p->downloading ? p->data_max : 1;
        while (rt->proven && p->polls_inflight < want && sessions_open(p) &&
               (p->polls_inflight == 0 || p->data_inflight + p->polls_inflight + 1 < p->nw) &&
               (w = next_worker(p, &ep)) != NULL && tunnel_empty_batch(&rt->tun, &msg, &len) == 1)
                if (req_start(w, ep, msg, len, true) < 0)
                        break;
}

void post_kick(struct post *p)
{
        pump(p);
}

/* With sessions open, the long poll is the heartbeat; without, a PING now
 * and then, less often the longer the client stays idle. */
static void heartbeat_tick(struct timer *t, void *arg)
{
        struct post *p = arg;
        struct crt *rt = p->rt;
        uint64_t every = (uint64_t)rt->cfg->heartbeat * 1000;

        (void)t;
        if (sessions_open(p)) {
                p->idle_beats = 0;
        } else {
                if (p->idle_beats < IDLE_PING_MAX)
                        p->idle_beats++;
                every *= p->idle_beats;
                if (p->data_inflight == 0)
                        mux_ping(rt->mux, reactor_now_ms(rt->r));
        }
        reactor_timer_start(rt->r, &p->heartbeat, every, heartbeat_tick, p);
        pump(p);
}

/* An answer can be lost with no request failing here (a forwarder that
 * retried a POST on its own after a reset answers nobody): the exit then
 * thinks it sent what we never got, an OPENED say, and nothing would ask
 * for it again. When answers keep coming but what we sent gets no word for
 * POST_RTO_MS, ask for everything again (tests/sim, --transport post
 * --faults partition,reset, seed 148). Acknowledgements of arrival come
 * at once even behind a slow reader, so a healthy link never trips it. */
static void rto_tick(struct timer *t, void *arg)
{
        struct post *p = arg;
        struct crt *rt = p->rt;
        uint64_t progress = mux_progress(rt->mux);

        (void)t;
        if (mux_outstanding(rt->mux) && progress == p->rto_progress &&
            p->st.answers != p->rto_answers && rt->proven) {
                log_debug("post: nothing acknowledged for %u ms while answers came: asking again",
                          POST_RTO_MS);
                p->st.recovered++;
                resend(p, p->st.failed + p->st.recovered);
                pump(p);
        }
        p->rto_progress = progress;
        p->rto_answers = p->st.answers;
        reactor_timer_start(rt->r, &p->rto, POST_RTO_MS, rto_tick, p);
}

void post_start(struct post *p)
{
        struct crt *rt = p->rt;

        reactor_timer_start(rt->r, &p->rto, POST_RTO_MS, rto_tick, p);
        /* The first request proves the endpoint; after another link, it also
         * asks the exit for what that one lost. */
        resend(p, 1);
        reactor_timer_start(rt->r, &p->heartbeat, (uint64_t)rt->cfg->heartbeat * 1000,
                            heartbeat_tick, p);
        pump(p);
}

int post_new(struct crt *rt, struct post **out)
{
        struct post *p = calloc(1, sizeof(*p));
        size_t batch;

        if (!p)
                return -ENOMEM;
        p->rt = rt;
        p->data_max = (unsigned)rt->cfg->workers;
        p->nw = p->data_max + 1;
        p->w = calloc(p->nw, sizeof(*p->w));
        if (!p->w) {
                free(p);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < p->nw; i++) {
                p->w[i].p = p;
                http1_msg_init(&p->w[i].resp, HTTP1_RESPONSE, b64_encoded_len(BATCH_MAX) + 64);
        }
        /* Small enough that the workers share one session's window. */
        batch = (size_t)rt->cfg->window / p->data_max;
        if (batch < 16 * 1024)
                batch = 16 * 1024;
        if (batch > 256 * 1024)
                batch = 256 * 1024;
        rt->batch_frames = batch;
        rt->tun.batch_frames = batch;
        *out = p;
        return 0;
}

void post_free(struct post *p)
{
        struct reactor *r = p->rt->r;

        reactor_timer_stop(r, &p->backoff);
        reactor_timer_stop(r, &p->rto);
        reactor_timer_stop(r, &p->heartbeat);
        for (unsigned i = 0; i < p->nw; i++) {
                struct worker *w = &p->w[i];
                reactor_timer_stop(r, &w->timeout);
                if (w->dq)
                        dns_cancel(w->dq);
                conn_drop(w, REACTOR_CLOSE_NOW);
                if (w->ep) {
                        w->ep->inflight--;
                        if (w->trial)
                                w->ep->trials--;
                        ep_release(w->ep);
                }
                http1_msg_free(&w->resp);
                free(w->body);
        }
        free(p->w);
        free(p);
}

void post_log_stats(const struct post *p)
{
        log_info("post: %llu requests (%llu long polls), %llu answered, %llu failed, %llu "
                 "refused for quota, %llu redirects followed, at most %u carrying data at once",
                 (unsigned long long)p->st.requests, (unsigned long long)p->st.polls,
                 (unsigned long long)p->st.answers, (unsigned long long)p->st.failed,
                 (unsigned long long)p->st.quota, (unsigned long long)p->st.redirects,
                 p->st.data_inflight_max);
}
