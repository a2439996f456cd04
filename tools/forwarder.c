/* forwarder: the Apps Script stand-in; see forwarder.h.
 *
 * Three kinds of objects on one reactor:
 *   - struct inconn, a client connection: HTTP/1.1 requests one at a time
 *     (keep-alive; bytes that arrive while a request is being handled wait
 *     in a stash, in order);
 *   - struct freq, one POST on its way: owns the body taken out of the
 *     request parser (the only copy of it) and lends it to the exit
 *     connection with reactor_send_ref; reference counted, because the
 *     client may go away while the exit still reads the body;
 *   - struct upconn, a keep-alive connection to an exit, in a small idle
 *     pool per exit. A request that fails on a reused connection before a
 *     byte of answer came back is retried once on a fresh one: the exit may
 *     have closed the idle connection just as we picked it.
 * Answers wait in a token-keyed table (struct store) for their one GET;
 * entries all live STORE_TTL_MS, so insertion order is expiry order and one
 * timer on the oldest entry is enough.
 */
#include "tools/forwarder.h"

#include "core/bytes.h"
#include "core/hostenv.h"
#include "core/log.h"
#include "core/reactor.h"
#include "core/sigwatch.h"
#include "tools/cmd.h"
#include "transport/http1_msg.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#define MAX_BODY           (16u << 20) /* a POST body; 413 over it */
#define MAX_ANSWER         (64u << 20) /* an exit's answer; 502 over it */
#define STORE_TTL_MS       60000
#define STORE_MAX_BYTES    ((size_t)256 << 20) /* 503 over it */
#define STORE_MAX_ENTRIES  (1u << 20)
#define CONNECT_TIMEOUT_MS 5000
#define HEADER_DEADLINE_MS 10000
#define BODY_DEADLINE_MS   60000
#define POOL_IDLE_MAX      8     /* idle connections kept per exit */
#define POOL_IDLE_MS       30000 /* reused only if idle less: exits close idle ones */
#define STASH_MAX          (MAX_BODY + 64u * 1024u)
#define CTYPE_MAX          256
#define HOST_MAX           256
#define TOKEN_LEN          16 /* random bytes; 32 hex digits in the URL */

struct fwd;
struct inconn;
struct upconn;

struct fexit {
        struct netaddr_url url;
        struct sockaddr_storage ss;
        socklen_t sslen;
        char host[NETADDR_STRLEN]; /* the Host: we send */
        char name[NETADDR_URL_STRLEN];
        struct upconn *idle; /* pool, most recent first */
        unsigned nidle;
};

enum fault { F_NONE, F_QUOTA, F_RATE, F_FAIL, F_TRUNC };

struct freq {
        struct fwd *f;
        unsigned refs;     /* the flow's own, plus one per body send queued */
        struct inconn *in; /* NULL once the client connection is gone */
        struct upconn *up; /* while an exit connection carries it */
        struct fexit *ex;
        uint8_t *body;
        size_t len;
        char ctype[CTYPE_MAX]; /* "" when the POST had none */
        uint64_t n;            /* 1-based POST number */
        enum fault fault;
        bool retried;
        struct timer lat;
};

enum ustate { U_CONNECTING, U_BUSY, U_IDLE, U_CLOSING };

struct upconn {
        struct fwd *f;
        struct fexit *ex;
        struct rconn *c;
        enum ustate state;
        struct upconn *next; /* idle pool */
        uint64_t idle_since;
        struct freq *req;
        bool reused, got_bytes, graceful;
        struct http1_msg resp;
        struct timer timeout;
};

enum istate { I_READ, I_BUSY, I_CLOSING };

struct inconn {
        struct fwd *f;
        struct rconn *c;
        enum istate state;
        bool head_seen, keep, head_only;
        struct http1_msg msg;
        struct freq *req;
        uint8_t *stash; /* bytes after the current request, in order */
        size_t stash_len, stash_cap;
        struct timer deadline, kick;
};

struct stored {
        struct stored *hnext;       /* hash chain */
        struct stored *prev, *next; /* age order */
        uint8_t key[TOKEN_LEN];
        uint64_t expires;
        uint8_t *body;
        size_t len;
        char ctype[CTYPE_MAX];
};

struct store {
        struct stored **b;
        size_t nb, count, bytes;
        struct stored *oldest, *newest;
        struct timer expiry;
};

struct fwd {
        const struct forwarder_conf *conf;
        struct reactor *r;
        struct rconn *listener;
        struct sigwatch sig;
        struct fexit exits[FORWARDER_MAX_EXITS];
        size_t rr;
        struct store st;
        char listen_name[NETADDR_STRLEN];
        uint64_t rng;
        bool stopping;
        unsigned graceful; /* idle exit connections closing with a FIN at the end */
        uint64_t posts, forwarded, fails, truncs, rates, quotas, echoes;
};

static const char quota_page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Error</title></head>\n"
    "<body style=\"margin:20px\">\n<div style=\"font-family:Arial,sans-serif\">"
    "Google Apps Script</div>\n"
    "<div style=\"text-align:center;font-family:monospace;margin:50px auto 0;"
    "max-width:600px\">Service invoked too many times for one day: urlfetch.</div>\n"
    "</body></html>\n";

static const char health_text[] = "urelay forwarder ok";

/* ---- small helpers ---- */

static uint64_t rng_next(struct fwd *f)
{
        /* splitmix64: jitter only, nothing secret. */
        uint64_t z = (f->rng += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

/* Tokens stand in for Google's user_content_key: not guessable. */
static void token_new(struct fwd *f, uint8_t key[TOKEN_LEN])
{
        if (getrandom(key, TOKEN_LEN, GRND_NONBLOCK) == TOKEN_LEN)
                return;
        for (size_t i = 0; i < TOKEN_LEN; i += 8) {
                uint64_t v = rng_next(f);
                memcpy(key + i, &v, 8);
        }
}

static void hex(const uint8_t *p, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[p[i] >> 4];
                out[2 * i + 1] = digits[p[i] & 15];
        }
        out[2 * n] = '\0';
}

/* Parses exactly 2*TOKEN_LEN hex digits ending at <end> or a '&'. */
static bool token_parse(const char *s, uint8_t key[TOKEN_LEN])
{
        for (size_t i = 0; i < TOKEN_LEN; i++) {
                int hi = hex_digit(s[2 * i]), lo = hi < 0 ? -1 : hex_digit(s[2 * i + 1]);
                if (lo < 0)
                        return false;
                key[i] = (uint8_t)(hi << 4 | lo);
        }
        return s[2 * TOKEN_LEN] == '\0' || s[2 * TOKEN_LEN] == '&';
}

static const char *reason(int status)
{
        switch (status) {
        case 200:
                return "OK";
        case 302:
                return "Found";
        case 400:
                return "Bad Request";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 413:
                return "Content Too Large";
        case 414:
                return "URI Too Long";
        case 429:
                return "Too Many Requests";
        case 431:
                return "Request Header Fields Too Large";
        case 500:
                return "Internal Server Error";
        case 501:
                return "Not Implemented";
        case 502:
                return "Bad Gateway";
        case 503:
                return "Service Unavailable";
        case 504:
                return "Gateway Timeout";
        }
        return "Status";
}

/* ---- stored answers ---- */

static size_t store_slot(const struct store *st, const uint8_t key[TOKEN_LEN])
{
        uint64_t h;

        memcpy(&h, key, sizeof(h)); /* the key is random already */
        return (size_t)h & (st->nb - 1);
}

static void store_unlink(struct store *st, struct stored *e)
{
        struct stored **pp = &st->b[store_slot(st, e->key)];

        while (*pp != e)
                pp = &(*pp)->hnext;
        *pp = e->hnext;
        if (e->prev)
                e->prev->next = e->next;
        else
                st->oldest = e->next;
        if (e->next)
                e->next->prev = e->prev;
        else
                st->newest = e->prev;
        st->count--;
        st->bytes -= e->len;
}

static void store_expire(struct timer *t, void *arg);

static void store_arm(struct fwd *f)
{
        struct store *st = &f->st;
        uint64_t now = reactor_now_ms(f->r);

        if (!st->oldest) {
                reactor_timer_stop(f->r, &st->expiry);
                return;
        }
        reactor_timer_start(f->r, &st->expiry,
                            st->oldest->expires > now ? st->oldest->expires - now : 0, store_expire,
                            f);
}

static void store_expire(struct timer *t, void *arg)
{
        struct fwd *f = arg;
        uint64_t now = reactor_now_ms(f->r);

        (void)t;
        while (f->st.oldest && f->st.oldest->expires <= now) {
                struct stored *e = f->st.oldest;
                store_unlink(&f->st, e);
                free(e->body);
                free(e);
        }
        store_arm(f);
}

static int store_grow(struct store *st)
{
        size_t nb = st->nb ? st->nb * 2 : 1024;
        struct stored **b = calloc(nb, sizeof(*b));

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < st->nb; i++) {
                while (st->b[i]) {
                        struct stored *e = st->b[i];
                        uint64_t h;

                        st->b[i] = e->hnext;
                        memcpy(&h, e->key, sizeof(h));
                        e->hnext = b[(size_t)h & (nb - 1)];
                        b[(size_t)h & (nb - 1)] = e;
                }
        }
        free(st->b);
        st->b = b;
        st->nb = nb;
        return 0;
}

/* Keeps <body> (taken over on success) under a fresh token in <key>.
 * Returns 0, -ENOSPC over the caps or -ENOMEM. */
static int store_put(struct fwd *f, uint8_t *body, size_t len, const char *ctype,
                     uint8_t key[TOKEN_LEN])
{
        struct store *st = &f->st;
        struct stored *e;

        if (len > STORE_MAX_BYTES - st->bytes || st->count >= STORE_MAX_ENTRIES)
                return -ENOSPC;
        if (st->count >= st->nb && store_grow(st) < 0)
                return -ENOMEM;
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        token_new(f, e->key);
        memcpy(key, e->key, TOKEN_LEN);
        e->body = body;
        e->len = len;
        snprintf(e->ctype, sizeof(e->ctype), "%s", ctype);
        e->expires = reactor_now_ms(f->r) + STORE_TTL_MS;
        size_t s = store_slot(st, e->key);
        e->hnext = st->b[s];
        st->b[s] = e;
        e->prev = st->newest;
        if (st->newest)
                st->newest->next = e;
        else
                st->oldest = e;
        st->newest = e;
        st->count++;
        st->bytes += len;
        if (!timer_armed(&st->expiry))
                store_arm(f);
        return 0;
}

/* Removes and returns the entry for <key>, or NULL. */
static struct stored *store_take(struct fwd *f, const uint8_t key[TOKEN_LEN])
{
        struct store *st = &f->st;
        struct stored *e;

        if (!st->nb)
                return NULL;
        for (e = st->b[store_slot(st, key)]; e; e = e->hnext)
                if (!memcmp(e->key, key, TOKEN_LEN))
                        break;
        if (!e)
                return NULL;
        bool was_oldest = e == st->oldest;
        store_unlink(st, e);
        if (was_oldest)
                store_arm(f);
        return e;
}

static void store_free(struct store *st)
{
        while (st->oldest) {
                struct stored *e = st->oldest;
                st->oldest = e->next;
                free(e->body);
                free(e);
        }
        free(st->b);
        memset(st, 0, sizeof(*st));
}

/* ---- client connections: answers ---- */

static void kick_fire(struct timer *t, void *arg);
static void deadline_fire(struct timer *t, void *arg);

static void release_free(void *arg)
{
        free(arg);
}

/* The request is answered: next one, or close. */
static void in_done(struct inconn *in)
{
        struct fwd *f = in->f;

        if (in->state == I_CLOSING)
                return;
        if (!in->keep || f->stopping) {
                in->state = I_CLOSING;
                reactor_conn_close(in->c, REACTOR_CLOSE_FLUSH);
                return;
        }
        http1_msg_reset(&in->msg);
        in->head_seen = false;
        in->head_only = false;
        in->state = I_READ;
        reactor_conn_resume(in->c);
        reactor_timer_start(f->r, &in->deadline, HEADER_DEADLINE_MS, deadline_fire, in);
        if (in->stash_len)
                reactor_timer_start(f->r, &in->kick, 0, kick_fire, in);
}

/* Sends a whole answer. <extra> holds complete header lines (or is ""),
 * <ctype> may be NULL or "". When <owned>, <body> is heap memory this call
 * takes over (freed once sent). */
static void in_reply(struct inconn *in, int status, const char *extra, const char *ctype,
                     const void *body, size_t len, bool owned)
{
        char head[1024];
        int n;

        if (in->state == I_CLOSING) {
                if (owned)
                        free((void *)body);
                return;
        }
        n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n%s%s\r\n",
                     status, reason(status), ctype && *ctype ? "Content-Type: " : "",
                     ctype && *ctype ? ctype : "", ctype && *ctype ? "\r\n" : "", len, extra,
                     in->keep && !in->f->stopping ? "" : "Connection: close\r\n");
        if (n < 0 || (size_t)n >= sizeof(head) || reactor_send(in->c, head, (size_t)n) < 0) {
                if (owned)
                        free((void *)body);
                in->state = I_CLOSING;
                reactor_conn_close(in->c, REACTOR_CLOSE_NOW);
                return;
        }
        if (len && !in->head_only) {
                int ret = owned ? reactor_send_ref(in->c, body, len, release_free, (void *)body)
                                : reactor_send(in->c, body, len);
                if (ret < 0) {
                        if (owned)
                                free((void *)body);
                        in->state = I_CLOSING;
                        reactor_conn_close(in->c, REACTOR_CLOSE_NOW);
                        return;
                }
        } else if (owned) {
                free((void *)body);
        }
        in_done(in);
}

static void in_text(struct inconn *in, int status, const char *extra, const char *text)
{
        in_reply(in, status, extra, "text/plain; charset=utf-8", text, strlen(text), false);
}

/* ---- POSTs ---- */

static void freq_put(struct freq *req)
{
        if (--req->refs)
                return;
        reactor_timer_stop(req->f->r, &req->lat);
        free(req->body);
        free(req);
}

static void freq_release(void *arg)
{
        freq_put(arg);
}

/* Detaches the client connection, which the caller then answers. */
static struct inconn *freq_client(struct freq *req)
{
        struct inconn *in = req->in;

        if (in) {
                in->req = NULL;
                req->in = NULL;
        }
        return in;
}

static void up_start(struct freq *req, bool fresh);

/* The exit could not be asked, or did not answer. */
static void req_exit_failed(struct freq *req, bool retryable, const char *why)
{
        struct fwd *f = req->f;
        struct inconn *in;
        char text[NETADDR_URL_STRLEN + 256];

        if (retryable && !req->retried && !f->stopping) {
                req->retried = true;
                log_debug("forwarder: POST #%llu: %s on a reused connection, retrying",
                          (unsigned long long)req->n, why);
                up_start(req, true);
                return;
        }
        /* Held requests end this way when we stop: no news then. */
        log_at(f->stopping ? LOGL_DEBUG : LOGL_WARN, "forwarder: POST #%llu: exit %s: %s",
               (unsigned long long)req->n, req->ex->name, why);
        in = freq_client(req);
        if (in) {
                snprintf(text, sizeof(text), "urelay forwarder: exit %s: %s\n", req->ex->name, why);
                in_text(in, 502, "", text);
        }
        freq_put(req);
}

/* The exit answered: keep its body for the echo, whatever the status. */
static void req_exit_answered(struct freq *req, int status, const char *ctype, uint8_t *body,
                              size_t len)
{
        struct fwd *f = req->f;
        struct inconn *in = freq_client(req);
        uint8_t key[TOKEN_LEN];
        char loc[HOST_MAX + 128], tok[2 * TOKEN_LEN + 1], text[128];
        const char *host;
        int ret;

        f->forwarded++;
        if (!in) {
                free(body);
                goto out;
        }
        if (req->fault == F_FAIL) {
                f->fails++;
                log_debug("forwarder: POST #%llu: the exit answered %d, the answer is lost (%u)",
                          (unsigned long long)req->n, status, f->conf->fail_status);
                free(body);
                snprintf(text, sizeof(text), "urelay forwarder: injected failure on POST #%llu\n",
                         (unsigned long long)req->n);
                in_text(in, (int)f->conf->fail_status, "", text);
                goto out;
        }
        if (req->fault == F_TRUNC) {
                f->truncs++;
                log_debug("forwarder: POST #%llu: answer cut from %zu to %zu bytes",
                          (unsigned long long)req->n, len, len / 2);
                len /= 2;
        }
        ret = store_put(f, body, len, ctype, key);
        if (ret < 0) {
                free(body);
                in_text(in, 503, "",
                        ret == -ENOSPC ? "urelay forwarder: too many answers waiting\n"
                                       : "urelay forwarder: out of memory\n");
                goto out;
        }
        hex(key, TOKEN_LEN, tok);
        host = http1_header(http1_msg_head(&in->msg), "host");
        snprintf(loc, sizeof(loc), "Location: http://%s/echo?k=%s\r\n",
                 host ? host : f->listen_name, tok);
        in_reply(in, 302, loc, NULL, NULL, 0, false);
out:
        freq_put(req);
}

static void req_go(struct freq *req)
{
        struct fwd *f = req->f;
        struct inconn *in;
        char extra[64];

        switch (req->fault) {
        case F_QUOTA:
                f->quotas++;
                log_debug("forwarder: POST #%llu: quota page", (unsigned long long)req->n);
                in = freq_client(req);
                in_reply(in, 200, "", "text/html; charset=utf-8", quota_page,
                         sizeof(quota_page) - 1, false);
                freq_put(req);
                return;
        case F_RATE:
                f->rates++;
                log_debug("forwarder: POST #%llu: 429", (unsigned long long)req->n);
                in = freq_client(req);
                snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", f->conf->retry_after);
                in_text(in, 429, extra, "urelay forwarder: too many requests\n");
                freq_put(req);
                return;
        default:
                req->ex = &f->exits[f->rr++ % f->conf->nexits];
                up_start(req, false);
        }
}

static void lat_fire(struct timer *t, void *arg)
{
        (void)t;
        req_go(arg);
}

/* ---- exit connections ---- */

static void pool_remove(struct upconn *u)
{
        for (struct upconn **pp = &u->ex->idle; *pp; pp = &(*pp)->next) {
                if (*pp == u) {
                        *pp = u->next;
                        u->ex->nidle--;
                        break;
                }
        }
        u->next = NULL;
}

/* Gives up on <u>. Its request, if any, goes on through req_exit_failed. */
static void up_fail(struct upconn *u, bool retryable, const char *why)
{
        struct freq *req = u->req;

        if (u->state == U_IDLE)
                pool_remove(u);
        u->state = U_CLOSING;
        reactor_timer_stop(u->f->r, &u->timeout);
        reactor_conn_close(u->c, REACTOR_CLOSE_NOW);
        if (req) {
                u->req = NULL;
                req->up = NULL;
                req_exit_failed(req, retryable, why);
        }
}

static void up_timeout(struct timer *t, void *arg)
{
        struct upconn *u = arg;
        char why[64];

        (void)t;
        snprintf(why, sizeof(why), "no answer within %u ms", u->f->conf->exit_timeout_ms);
        up_fail(u, false, why);
}

static void up_send(struct upconn *u, struct freq *req)
{
        struct fwd *f = u->f;
        char head[NETADDR_PATH_MAX + NETADDR_STRLEN + CTYPE_MAX + 128];
        int n;

        u->req = req;
        req->up = u;
        u->state = U_BUSY;
        u->got_bytes = false;
        n = snprintf(head, sizeof(head),
                     "POST %s HTTP/1.1\r\nHost: %s\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                     u->ex->url.path, u->ex->host, *req->ctype ? "Content-Type: " : "", req->ctype,
                     *req->ctype ? "\r\n" : "", req->len);
        if (n < 0 || (size_t)n >= sizeof(head) || reactor_send(u->c, head, (size_t)n) < 0) {
                up_fail(u, u->reused, "cannot send the request");
                return;
        }
        if (req->len) {
                req->refs++;
                if (reactor_send_ref(u->c, req->body, req->len, freq_release, req) < 0) {
                        req->refs--;
                        up_fail(u, u->reused, "cannot send the request");
                        return;
                }
        }
        reactor_timer_start(f->r, &u->timeout, f->conf->exit_timeout_ms, up_timeout, u);
}

/* A whole answer is in; <extra> bytes followed it (nobody pipelines: the
 * connection is not reused then). */
static void up_answer(struct upconn *u, size_t extra, bool eof)
{
        struct fwd *f = u->f;
        const struct http1_head *h = http1_msg_head(&u->resp);
        const char *ct = http1_header(h, "content-type");
        char ctype[CTYPE_MAX];
        struct freq *req = u->req;
        int status = http1_status(h);
        size_t len;
        uint8_t *body;
        bool keep;

        /* A Content-Type we could not repeat is dropped, not cut. */
        snprintf(ctype, sizeof(ctype), "%s", ct && strlen(ct) < sizeof(ctype) ? ct : "");
        keep = !eof && !extra && http1_keep_alive(h) &&
               http1_msg_framing(&u->resp) != HTTP1_MSG_CLOSE && !reactor_conn_queued(u->c) &&
               !f->stopping && u->ex->nidle < POOL_IDLE_MAX;
        body = http1_msg_take_body(&u->resp, &len);
        reactor_timer_stop(f->r, &u->timeout);
        u->req = NULL;
        req->up = NULL;
        if (keep) {
                http1_msg_reset(&u->resp);
                u->state = U_IDLE;
                u->idle_since = reactor_now_ms(f->r);
                u->next = u->ex->idle;
                u->ex->idle = u;
                u->ex->nidle++;
        } else {
                u->state = U_CLOSING;
                reactor_conn_close(u->c, REACTOR_CLOSE_NOW);
        }
        req_exit_answered(req, status, ctype, body, len);
}

static void up_recv(struct rconn *c, void *ud, const uint8_t *p, size_t n)
{
        struct upconn *u = ud;
        char why[128];

        (void)c;
        if (u->state != U_BUSY) {
                /* Bytes nobody asked for: the connection is not ours to trust. */
                up_fail(u, false, "unsolicited bytes");
                return;
        }
        u->got_bytes = true;
        while (u->state == U_BUSY) {
                size_t used;
                int ret = http1_msg_feed(&u->resp, p, n, &used);

                if (ret < 0) {
                        snprintf(why, sizeof(why), "bad answer: %s", http1_msg_strerror(ret));
                        up_fail(u, false, why);
                        return;
                }
                p += used;
                n -= used;
                if (ret == 0)
                        return;
                int st = http1_status(http1_msg_head(&u->resp));
                if (st >= 100 && st < 200) {
                        /* Interim answers (100 Continue) precede the real one. */
                        http1_msg_reset(&u->resp);
                        continue;
                }
                up_answer(u, n, false);
                return;
        }
}

static void up_eof(struct rconn *c, void *ud)
{
        struct upconn *u = ud;

        (void)c;
        if (u->state == U_BUSY && http1_msg_eof(&u->resp) == 1) {
                up_answer(u, 0, true);
                return;
        }
        if (u->state != U_CLOSING)
                up_fail(u, u->reused && !u->got_bytes, "connection closed before the answer");
}

static void up_error(struct rconn *c, void *ud, int err)
{
        struct upconn *u = ud;
        char why[128];

        (void)c;
        if (u->state == U_CLOSING)
                return;
        snprintf(why, sizeof(why), "%s", strerror(-err));
        up_fail(u, u->reused && !u->got_bytes, why);
}

static void up_connected(struct rconn *c, void *ud, int res)
{
        struct upconn *u = ud;
        char why[128];
        int one = 1;

        if (res < 0) {
                snprintf(why, sizeof(why), "cannot connect: %s", strerror(-res));
                up_fail(u, false, why);
                return;
        }
        setsockopt(reactor_conn_fd(c), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (u->req)
                up_send(u, u->req);
        else
                up_fail(u, false, "nothing to send");
}

static void up_closed(struct rconn *c, void *ud)
{
        struct upconn *u = ud;

        (void)c;
        if (u->state == U_IDLE)
                pool_remove(u);
        if (u->graceful)
                u->f->graceful--;
        u->state = U_CLOSING;
        reactor_timer_stop(u->f->r, &u->timeout);
        if (u->req) {
                /* Only on teardown: every other end detaches first. */
                struct freq *req = u->req;
                u->req = NULL;
                req->up = NULL;
                req_exit_failed(req, false, "connection closed");
        }
        http1_msg_free(&u->resp);
        free(u);
}

static const struct rconn_ops up_ops = {
    .on_recv = up_recv,
    .on_eof = up_eof,
    .on_error = up_error,
    .on_connect = up_connected,
    .on_close = up_closed,
};

/* Sends <req> to its exit on an idle connection, or a new one (<fresh>:
 * always a new one). */
static void up_start(struct freq *req, bool fresh)
{
        struct fwd *f = req->f;
        struct fexit *ex = req->ex;
        struct upconn *u;
        char why[128];
        int ret;

        if (f->stopping) {
                req_exit_failed(req, false, "the forwarder is stopping");
                return;
        }
        while (!fresh && ex->idle) {
                u = ex->idle;
                pool_remove(u);
                if (reactor_now_ms(f->r) - u->idle_since > POOL_IDLE_MS) {
                        /* Too close to the exit's own idle timeout (the
                         * exit's is 60 s): the pool is newest first, so
                         * every one after this is older still. */
                        u->state = U_CLOSING;
                        reactor_conn_close(u->c, REACTOR_CLOSE_NOW);
                        continue;
                }
                u->reused = true;
                up_send(u, req);
                return;
        }
        u = calloc(1, sizeof(*u));
        if (!u) {
                req_exit_failed(req, false, "out of memory");
                return;
        }
        u->f = f;
        u->ex = ex;
        u->state = U_CONNECTING;
        http1_msg_init(&u->resp, HTTP1_RESPONSE, MAX_ANSWER);
        ret = reactor_connect(f->r, (const struct sockaddr *)&ex->ss, ex->sslen, CONNECT_TIMEOUT_MS,
                              &up_ops, u, &u->c);
        if (ret < 0) {
                http1_msg_free(&u->resp);
                free(u);
                snprintf(why, sizeof(why), "cannot connect: %s", strerror(-ret));
                req_exit_failed(req, false, why);
                return;
        }
        u->req = req;
        req->up = u;
}

/* ---- client connections: requests ---- */

static enum fault fault_of(const struct forwarder_conf *conf, uint64_t n)
{
        if (conf->quota_after && n > conf->quota_after)
                return F_QUOTA;
        if (conf->rate_every && n % conf->rate_every == 0)
                return F_RATE;
        if (conf->fail_every && n % conf->fail_every == 0)
                return F_FAIL;
        if (conf->truncate_every && n % conf->truncate_every == 0)
                return F_TRUNC;
        return F_NONE;
}

static void in_post(struct inconn *in)
{
        struct fwd *f = in->f;
        const char *ct = http1_header(http1_msg_head(&in->msg), "content-type");
        struct freq *req;
        uint64_t delay;

        if (ct && strlen(ct) >= CTYPE_MAX) {
                in_text(in, 400, "", "urelay forwarder: Content-Type too long\n");
                return;
        }
        req = calloc(1, sizeof(*req));
        if (!req) {
                in->keep = false;
                in_text(in, 503, "", "urelay forwarder: out of memory\n");
                return;
        }
        req->f = f;
        req->refs = 1;
        req->n = ++f->posts;
        req->fault = fault_of(f->conf, req->n);
        snprintf(req->ctype, sizeof(req->ctype), "%s", ct ? ct : "");
        req->body = http1_msg_take_body(&in->msg, &req->len);
        req->in = in;
        in->req = req;
        in->state = I_BUSY;
        reactor_conn_pause(in->c);
        delay = f->conf->latency_ms;
        if (f->conf->jitter_ms)
                delay += rng_next(f) % ((uint64_t)f->conf->jitter_ms + 1);
        if (delay && reactor_timer_start(f->r, &req->lat, delay, lat_fire, req) == 0)
                return;
        req_go(req);
}

static void in_echo(struct inconn *in, const char *query)
{
        struct fwd *f = in->f;
        uint8_t key[TOKEN_LEN];
        struct stored *e = NULL;
        const char *k = NULL;

        /* k=TOKEN anywhere among the parameters. */
        for (const char *p = query; p && !k;) {
                if (!strncmp(p, "k=", 2))
                        k = p + 2;
                else if ((p = strchr(p, '&')) != NULL)
                        p++;
        }
        if (k && token_parse(k, key) && (e = store_take(f, key)) != NULL) {
                f->echoes++;
                in_reply(in, 200, "", e->ctype, e->body, e->len, true);
                free(e);
                return;
        }
        in_text(in, 404, "", "urelay forwarder: unknown or used token\n");
}

static void in_request(struct inconn *in)
{
        const struct http1_head *h = http1_msg_head(&in->msg);
        const char *method = http1_method(h), *target = http1_target(h);
        bool echo = !strncmp(target, "/echo", 5) && (target[5] == '\0' || target[5] == '?');
        const char *host = http1_header(h, "host");

        reactor_timer_stop(in->f->r, &in->deadline);
        in->keep = http1_keep_alive(h);
        if (host && strlen(host) >= HOST_MAX) {
                in->keep = false;
                in_text(in, 400, "", "urelay forwarder: Host too long\n");
        } else if (!strcmp(method, "POST")) {
                if (echo)
                        in_text(in, 405, "Allow: GET\r\n", "urelay forwarder: GET the echo\n");
                else
                        in_post(in);
        } else if (!strcmp(method, "GET") && echo) {
                in_echo(in, target[5] == '?' ? target + 6 : NULL);
        } else if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
                /* The web app's doGet. HEAD never consumes a token. */
                in->head_only = !strcmp(method, "HEAD");
                in_text(in, 200, "", health_text);
        } else {
                in_text(in, 405, "Allow: GET, HEAD, POST\r\n",
                        "urelay forwarder: method not allowed\n");
        }
}

static void in_error(struct inconn *in, int err)
{
        char text[256];
        int status = http1_msg_error_status(err);

        if (err == HTTP1_MSG_ETRUNCATED || !status) {
                in->state = I_CLOSING;
                reactor_conn_close(in->c, REACTOR_CLOSE_NOW);
                return;
        }
        /* The rest of the stream cannot be framed: answer, then close. */
        in->keep = false;
        in->head_only = false;
        reactor_timer_stop(in->f->r, &in->deadline);
        snprintf(text, sizeof(text), "urelay forwarder: %s\n", http1_msg_strerror(err));
        in_text(in, status, "", text);
}

static void in_head(struct inconn *in)
{
        const char *expect = http1_header(http1_msg_head(&in->msg), "expect");

        /* curl asks before sending a large body. */
        if (expect && !strcasecmp(expect, "100-continue") && http1_version_minor(&in->msg.head))
                reactor_send(in->c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        reactor_timer_start(in->f->r, &in->deadline, BODY_DEADLINE_MS, deadline_fire, in);
}

static int stash_add(struct inconn *in, const uint8_t *p, size_t n)
{
        if (n > STASH_MAX - in->stash_len)
                return -ENOBUFS;
        if (in->stash_len + n > in->stash_cap) {
                size_t cap = in->stash_cap ? in->stash_cap : 16384;
                while (cap < in->stash_len + n)
                        cap *= 2;
                uint8_t *s = realloc(in->stash, cap);
                if (!s)
                        return -ENOMEM;
                in->stash = s;
                in->stash_cap = cap;
        }
        memcpy(in->stash + in->stash_len, p, n);
        in->stash_len += n;
        return 0;
}

/* Feeds bytes in order; whatever follows a request that is not answered
 * yet goes to the stash. */
static void in_input(struct inconn *in, const uint8_t *p, size_t n)
{
        while (n > 0) {
                size_t used;
                int ret;

                if (in->state == I_CLOSING)
                        return;
                if (in->state == I_BUSY) {
                        if (stash_add(in, p, n) < 0) {
                                in->state = I_CLOSING;
                                reactor_conn_close(in->c, REACTOR_CLOSE_RESET);
                        }
                        return;
                }
                ret = http1_msg_feed(&in->msg, p, n, &used);
                if (ret < 0) {
                        in_error(in, ret);
                        return;
                }
                p += used;
                n -= used;
                if (!in->head_seen && http1_msg_head_done(&in->msg)) {
                        in->head_seen = true;
                        in_head(in);
                }
                if (ret == 1)
                        in_request(in);
                else if (used == 0)
                        return; /* cannot happen: a feed that wants more takes all */
        }
}

static void kick_fire(struct timer *t, void *arg)
{
        struct inconn *in = arg;
        uint8_t *buf = in->stash;
        size_t len = in->stash_len;

        (void)t;
        if (in->state != I_READ || !len)
                return;
        in->stash = NULL;
        in->stash_len = in->stash_cap = 0;
        in_input(in, buf, len);
        free(buf);
}

static void deadline_fire(struct timer *t, void *arg)
{
        struct inconn *in = arg;

        (void)t;
        if (in->state == I_READ) {
                in->state = I_CLOSING;
                reactor_conn_close(in->c, REACTOR_CLOSE_NOW);
        }
}

static void in_recv(struct rconn *c, void *ud, const uint8_t *p, size_t n)
{
        struct inconn *in = ud;

        (void)c;
        if (in->state == I_READ && !in->stash_len) {
                in_input(in, p, n);
                return;
        }
        if (in->state == I_CLOSING)
                return;
        /* Behind a request in progress, or behind the stash: keep order. */
        if (stash_add(in, p, n) < 0) {
                in->state = I_CLOSING;
                reactor_conn_close(in->c, REACTOR_CLOSE_RESET);
        }
}

static void in_eof(struct rconn *c, void *ud)
{
        struct inconn *in = ud;

        (void)c;
        in->keep = false;
        /* A request in progress still gets its answer; then we close. */
        if (in->state == I_READ) {
                in->state = I_CLOSING;
                reactor_conn_close(in->c, REACTOR_CLOSE_FLUSH);
        }
}

static void in_failed(struct rconn *c, void *ud, int err)
{
        struct inconn *in = ud;

        (void)c;
        (void)err;
        in->state = I_CLOSING;
        reactor_conn_close(in->c, REACTOR_CLOSE_NOW);
}

static void in_closed(struct rconn *c, void *ud)
{
        struct inconn *in = ud;
        struct fwd *f = in->f;

        (void)c;
        reactor_timer_stop(f->r, &in->deadline);
        reactor_timer_stop(f->r, &in->kick);
        if (in->req) {
                struct freq *req = in->req;

                /* A POST at the exit goes on (the exit acts on it, as with
                 * Apps Script); one still waiting out its latency ends. */
                freq_client(req);
                if (timer_armed(&req->lat)) {
                        reactor_timer_stop(f->r, &req->lat);
                        freq_put(req);
                }
        }
        http1_msg_free(&in->msg);
        free(in->stash);
        free(in);
}

static const struct rconn_ops in_ops = {
    .on_recv = in_recv,
    .on_eof = in_eof,
    .on_error = in_failed,
    .on_close = in_closed,
};

static void on_accept(struct rconn *l, void *ud, int fd)
{
        struct fwd *f = ud;
        struct inconn *in;
        int one = 1;

        (void)l;
        if (f->stopping || !(in = calloc(1, sizeof(*in)))) {
                close(fd);
                return;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        in->f = f;
        in->state = I_READ;
        http1_msg_init(&in->msg, HTTP1_REQUEST, MAX_BODY);
        if (reactor_conn_add(f->r, fd, &in_ops, in, &in->c) < 0) {
                close(fd);
                http1_msg_free(&in->msg);
                free(in);
                return;
        }
        reactor_timer_start(f->r, &in->deadline, HEADER_DEADLINE_MS, deadline_fire, in);
}

static const struct rconn_ops listen_ops = {.on_accept = on_accept};

/* ---- run ---- */

void forwarder_conf_init(struct forwarder_conf *c)
{
        memset(c, 0, sizeof(*c));
        c->exit_timeout_ms = 60000;
        c->fail_status = 502;
        c->retry_after = 30;
}

static void on_signal(void *arg, int signo)
{
        struct fwd *f = arg;

        if (signo == SIGHUP)
                return;
        f->stopping = true;
        reactor_stop(f->r);
}

/* Idle exit connections end with a FIN rather than the RST of
 * reactor_free: to the exit, a forwarder going away is not an error. */
static void close_idle(struct fwd *f)
{
        uint64_t give_up = timer_now_ms() + 500;

        for (unsigned i = 0; i < f->conf->nexits; i++) {
                struct fexit *ex = &f->exits[i];

                while (ex->idle) {
                        struct upconn *u = ex->idle;

                        pool_remove(u);
                        u->state = U_CLOSING;
                        u->graceful = true;
                        f->graceful++;
                        reactor_conn_close(u->c, REACTOR_CLOSE_FLUSH);
                }
        }
        while (f->graceful && timer_now_ms() < give_up)
                reactor_run_once(f->r, 50);
}

static int setup_exits(struct fwd *f)
{
        for (unsigned i = 0; i < f->conf->nexits; i++) {
                struct fexit *ex = &f->exits[i];

                ex->url = f->conf->exits[i];
                if (netaddr_to_sockaddr(&ex->url.addr, &ex->ss, &ex->sslen) < 0)
                        return -EINVAL;
                netaddr_format(&ex->url.addr, ex->host, sizeof(ex->host));
                netaddr_url_format(&ex->url, ex->name, sizeof(ex->name));
        }
        return 0;
}

/* The summary line of forwarder_run, and of a forwarder closed by a test. */
static void summary(const struct fwd *f)
{
        fprintf(stderr,
                "urelay forwarder: %llu posts, %llu forwarded, faults: 502=%llu truncated=%llu "
                "429=%llu quota=%llu, echoes served=%llu\n",
                (unsigned long long)f->posts, (unsigned long long)f->forwarded,
                (unsigned long long)f->fails, (unsigned long long)f->truncs,
                (unsigned long long)f->rates, (unsigned long long)f->quotas,
                (unsigned long long)f->echoes);
}

int forwarder_open(struct fwd **out, struct reactor *r, const struct forwarder_conf *conf)
{
        struct fwd *f = calloc(1, sizeof(*f));
        int ret, fd;

        *out = f;
        if (!f) {
                reactor_free(r);
                fprintf(stderr, "urelay forwarder: out of memory\n");
                return URELAY_EXIT_RUNTIME;
        }
        f->conf = conf;
        f->r = r;
        /* Which POSTs meet a fault is no secret: the host's randomness. */
        hostenv_random(&f->rng, sizeof(f->rng));
        if (setup_exits(f) < 0) {
                fprintf(stderr, "urelay forwarder: every --exit needs an IP literal\n");
                return URELAY_EXIT_USAGE;
        }
        netaddr_format(&conf->listen, f->listen_name, sizeof(f->listen_name));
        fd = netaddr_listen(&conf->listen, 1024);
        if (fd < 0 || (ret = reactor_listen(f->r, fd, &listen_ops, f, &f->listener)) < 0) {
                ret = fd < 0 ? fd : ret;
                if (fd >= 0)
                        close(fd);
                fprintf(stderr, "urelay forwarder: cannot listen on %s: %s\n", f->listen_name,
                        strerror(-ret));
                return URELAY_EXIT_RUNTIME;
        }
        return 0;
}

void forwarder_close(struct fwd *f)
{
        if (!f)
                return;
        f->stopping = true;
        reactor_timer_stop(f->r, &f->st.expiry);
        reactor_free(f->r); /* closes every connection; their on_close frees them */
        store_free(&f->st);
        free(f);
}

int forwarder_run(const struct forwarder_conf *conf)
{
        char why[512], line[FORWARDER_MAX_EXITS * (NETADDR_URL_STRLEN + 2)];
        struct reactor *r;
        struct fwd *f;
        int code, ret;
        size_t n = 0;

        ret = reactor_new(&r, NULL, why, sizeof(why));
        if (ret < 0) {
                fprintf(stderr, "urelay forwarder: io_uring unavailable: %s\n", why);
                return URELAY_EXIT_NOURING;
        }
        code = forwarder_open(&f, r, conf);
        if (code != 0)
                goto out;
        code = URELAY_EXIT_RUNTIME;
        ret = sigwatch_start(&f->sig, f->r, on_signal, f);
        if (ret < 0) {
                fprintf(stderr, "urelay forwarder: cannot watch signals: %s\n", strerror(-ret));
                goto out;
        }
        line[0] = '\0';
        for (unsigned i = 0; i < conf->nexits && n < sizeof(line); i++)
                n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", i ? ", " : "",
                                      f->exits[i].name);
        printf("urelay forwarder: ready on %s -> %s\n", f->listen_name, line);
        fflush(stdout);
        ret = reactor_run(f->r);
        code = ret < 0 ? URELAY_EXIT_RUNTIME : URELAY_EXIT_OK;
        f->stopping = true;
        sigwatch_stop(&f->sig);
        close_idle(f);
        summary(f);
out:
        forwarder_close(f);
        return code;
}
