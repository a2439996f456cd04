/* dialer: resolve, check, connect, hand over; plus the table of failing
 * targets. See dialer.h for the contract and where it sits.
 *
 * One dial is a small state machine on one reactor timer. The timer is
 * armed when the dial starts and stays armed (deadline of the DNS phase or
 * of the current attempt, then zero delay for the delivery) until the
 * callback runs. Re-arming an armed timer never allocates, so no step after
 * dialer_dial can fail for want of a timer, and every result, even one known
 * inside dialer_dial, reaches the caller from the reactor loop.
 */
#include "exit/dialer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/netaddr.h"
#include "core/reactor.h"
#include "core/timer.h"
#include "exit/dns.h"

#define DIALER_DEFAULT_TIMEOUT_MS 10000
/* "[v6]:65535" or "<255-byte name>:65535" */
#define DIALER_KEY_MAX (FRAME_MAX_NAME + 9)

/* A target that failed lately. */
struct suppress {
        uint64_t hash;    /* 0 = free slot */
        uint64_t touched; /* last failure, for eviction */
        uint64_t until;   /* dials fail at once before this */
        unsigned fails;   /* consecutive */
        uint8_t reason;
        char key[DIALER_KEY_MAX + 1];
};

enum phase { PH_RESOLVE, PH_CONNECT, PH_DONE };

struct dial {
        struct dialer *d;
        struct dial *prev, *next; /* d->active */
        dialer_cb cb;
        void *arg;
        enum phase phase;
        uint64_t deadline;
        struct timer timer;
        struct dns_query *q;
        struct rconn *poll;
        int fd;             /* connecting socket, or -1 */
        unsigned n, next_i; /* addresses to try, and the next one */
        struct sockaddr_storage addrs[DNS_MAX_ADDRS];
        uint16_t port;
        bool count;             /* the result says something about the target */
        struct dial_result res; /* once PH_DONE */
        char key[DIALER_KEY_MAX + 1];
};

struct dialer {
        struct reactor *r;
        struct dns *dns;
        struct egress_policy policy;
        struct dialer_conf conf;
        struct dialer_stats stats;
        struct dial *active;
        struct suppress *sup;
};

/* ---- suppression ---- */

static uint64_t key_hash(const char *s)
{
        uint64_t h = 14695981039346656037ull;

        while (*s)
                h = (h ^ (uint8_t)*s++) * 1099511628211ull;
        return h | 1; /* never 0, which marks a free slot */
}

/* Linear: the table only holds failing targets and is small (1024). */
static struct suppress *sup_find(struct dialer *d, const char *key, uint64_t h)
{
        for (unsigned i = 0; i < d->conf.suppress_max; i++)
                if (d->sup[i].hash == h && !strcmp(d->sup[i].key, key))
                        return &d->sup[i];
        return NULL;
}

static void sup_record(struct dialer *d, const char *key, uint8_t reason)
{
        uint64_t h = key_hash(key), now = timer_now_ms();
        struct suppress *s = sup_find(d, key, h);

        if (!reason) {
                if (s)
                        memset(s, 0, sizeof(*s));
                return;
        }
        if (!s) {
                struct suppress *oldest = &d->sup[0];

                for (unsigned i = 0; i < d->conf.suppress_max && oldest->hash; i++)
                        if (!d->sup[i].hash || d->sup[i].touched < oldest->touched)
                                oldest = &d->sup[i];
                s = oldest;
                memset(s, 0, sizeof(*s));
                s->hash = h;
                snprintf(s->key, sizeof(s->key), "%s", key);
        }
        s->fails++;
        s->reason = reason;
        s->touched = now;
        if (s->fails >= d->conf.suppress_after) {
                unsigned shift = s->fails - d->conf.suppress_after;
                uint64_t backoff = d->conf.backoff_max_ms;

                if (shift < 32 && ((uint64_t)d->conf.backoff_min_ms << shift) < backoff)
                        backoff = (uint64_t)d->conf.backoff_min_ms << shift;
                s->until = now + backoff;
        }
}

/* The reason to fail with at once, or 0 to dial. */
static uint8_t sup_check(struct dialer *d, const char *key)
{
        struct suppress *s = sup_find(d, key, key_hash(key));

        if (s && s->fails >= d->conf.suppress_after && timer_now_ms() < s->until)
                return s->reason;
        return 0;
}

/* ---- results ---- */

static uint8_t reason_of(int err)
{
        switch (err) {
        case -EACCES:
                return FRAME_RST_NOT_ALLOWED;
        case -ECONNREFUSED:
                return FRAME_RST_REFUSED;
        case -ETIMEDOUT:
                return FRAME_RST_TIMEOUT;
        case -ENETUNREACH:
                return FRAME_RST_NET_UNREACH;
        case -EHOSTUNREACH:
        case -EHOSTDOWN:
                return FRAME_RST_HOST_UNREACH;
        default:
                return FRAME_RST_GENERAL;
        }
}

/* Drops whatever the dial holds open, except a delivered-to-be fd. */
/* A dial given up (cancelled, timed out) whose socket may have connected:
 * the target sees a reset, never a clean end of an empty stream, since the
 * client's side ended abnormally (BRIEF §7 I2; tests/sim found targets
 * getting a FIN when an app aborted during its dial). */
static void abort_fd(int fd)
{
        struct linger lg = {.l_onoff = 1, .l_linger = 0};

        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
}

static void release(struct dial *dl)
{
        if (dl->q) {
                dns_cancel(dl->q);
                dl->q = NULL;
        }
        if (dl->poll) {
                reactor_poll_stop(dl->poll);
                dl->poll = NULL;
        }
        if (dl->fd >= 0) {
                abort_fd(dl->fd);
                dl->fd = -1;
        }
}

static void unlink_free(struct dial *dl)
{
        struct dialer *d = dl->d;

        reactor_timer_stop(d->r, &dl->timer);
        if (dl->prev)
                dl->prev->next = dl->next;
        else
                d->active = dl->next;
        if (dl->next)
                dl->next->prev = dl->prev;
        free(dl);
}

static void on_deliver(struct timer *t, void *arg)
{
        struct dial *dl = arg;
        struct dial_result res = dl->res;
        dialer_cb cb = dl->cb;
        void *cb_arg = dl->arg;

        (void)t;
        unlink_free(dl);
        cb(cb_arg, &res);
}

/* Ends the dial with <fd> (success) or <reason> and schedules the callback. */
static void finish(struct dial *dl, int fd, uint8_t reason, int err)
{
        struct dialer *d = dl->d;

        release(dl);
        dl->phase = PH_DONE;
        dl->res.fd = fd;
        dl->res.reason = fd >= 0 ? 0 : reason;
        dl->res.err = fd >= 0 ? 0 : err;
        if (fd >= 0) {
                d->stats.successes++;
                sup_record(d, dl->key, 0);
        } else {
                d->stats.failures++;
                d->stats.by_reason[reason % DIALER_REASONS]++;
                if (dl->count)
                        sup_record(d, dl->key, reason);
        }
        /* The timer is armed or has just fired (see the top of the file), so
         * re-arming cannot allocate and cannot fail; the fallback is only a
         * guard, and is still outside dialer_dial. */
        if (reactor_timer_start(d->r, &dl->timer, 0, on_deliver, dl) < 0)
                on_deliver(&dl->timer, dl);
}

/* ---- connecting ---- */

static void try_next(struct dial *dl);
static void on_deadline(struct timer *t, void *arg);

static void on_writable(void *arg, unsigned revents)
{
        struct dial *dl = arg;
        int soerr = 0;
        socklen_t len = sizeof(soerr);

        if (getsockopt(dl->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
                soerr = errno;
        if (!soerr) {
                struct sockaddr_storage peer;
                socklen_t plen = sizeof(peer);

                if (!getpeername(dl->fd, (struct sockaddr *)&peer, &plen)) {
                        int fd = dl->fd;

                        dl->fd = -1; /* now the caller's */
                        finish(dl, fd, 0, 0);
                        return;
                }
                if (errno == ENOTCONN && !(revents & (POLLERR | POLLHUP)))
                        return; /* not connected yet: a wake-up for nothing */
                soerr = errno == ENOTCONN ? ECONNABORTED : errno;
        }
        dl->res.err = -soerr;
        reactor_poll_stop(dl->poll);
        dl->poll = NULL;
        close(dl->fd);
        dl->fd = -1;
        try_next(dl);
}

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
        return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* Starts the next address, or ends the dial with the last attempt's error.
 * Only called while dl->timer is armed or has just fired. */
static void try_next(struct dial *dl)
{
        struct dialer *d = dl->d;

        while (dl->next_i < dl->n) {
                const struct sockaddr_storage *sa = &dl->addrs[dl->next_i++];
                uint64_t now = timer_now_ms();

                if (now >= dl->deadline) {
                        finish(dl, -1, FRAME_RST_TIMEOUT, -ETIMEDOUT);
                        return;
                }
                dl->res.addr = *sa;
                int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0) {
                        /* EMFILE and friends say nothing about the target. */
                        dl->count = false;
                        finish(dl, -1, FRAME_RST_GENERAL, -errno);
                        return;
                }
                d->stats.attempts++;
                if (!connect(fd, (const struct sockaddr *)sa, sa_len(sa))) {
                        finish(dl, fd, 0, 0);
                        return;
                }
                if (errno != EINPROGRESS) {
                        dl->res.err = -errno;
                        close(fd);
                        continue; /* failed fast: next address */
                }
                int ret = reactor_poll_start(d->r, fd, POLLOUT, on_writable, dl, &dl->poll);
                if (ret < 0) {
                        close(fd);
                        dl->count = false;
                        finish(dl, -1, FRAME_RST_GENERAL, ret);
                        return;
                }
                dl->fd = fd;
                /* An equal share of what is left for each remaining address. */
                uint64_t left = dl->n - dl->next_i + 1;
                uint64_t slice = (dl->deadline - now) / left;
                /* Re-arms the dial's own timer: cannot fail (top of file). */
                (void)reactor_timer_start(d->r, &dl->timer, slice ? slice : 1, on_deadline, dl);
                return;
        }
        finish(dl, -1, reason_of(dl->res.err), dl->res.err);
}

static void on_deadline(struct timer *t, void *arg)
{
        struct dial *dl = arg;

        (void)t;
        if (dl->phase == PH_RESOLVE) {
                finish(dl, -1, FRAME_RST_TIMEOUT, -ETIMEDOUT);
                return;
        }
        release(dl);
        dl->res.err = -ETIMEDOUT;
        if (timer_now_ms() >= dl->deadline || dl->next_i >= dl->n) {
                finish(dl, -1, FRAME_RST_TIMEOUT, -ETIMEDOUT);
                return;
        }
        try_next(dl);
}

/* Keeps the addresses the policy allows, in order, and starts on them. */
static void connect_checked(struct dial *dl, const struct sockaddr_storage *addrs, size_t n)
{
        struct dialer *d = dl->d;

        dl->phase = PH_CONNECT;
        dl->n = dl->next_i = 0;
        for (size_t i = 0; i < n && dl->n < DNS_MAX_ADDRS; i++) {
                struct sockaddr_storage *sa = &dl->addrs[dl->n];
                const char *why;

                *sa = addrs[i];
                netaddr_sockaddr_set_port(sa, dl->port);
                if (egress_check(&d->policy, (const struct sockaddr *)sa, &why) < 0) {
                        d->stats.denied_addrs++;
                        log_debug("dialer: %s: address %zu denied: %s", dl->key, i, why);
                        dl->res.addr = *sa;
                        continue;
                }
                dl->n++;
        }
        if (!dl->n) {
                dl->count = false; /* policy, not the target: nothing to suppress */
                finish(dl, -1, FRAME_RST_NOT_ALLOWED, -EACCES);
                return;
        }
        try_next(dl);
}

static void on_resolved(void *arg, int status, const struct sockaddr_storage *addrs, size_t n)
{
        struct dial *dl = arg;

        dl->q = NULL;
        if (status) {
                dl->count = status != -ENOMEM;
                finish(dl, -1,
                       status == -ETIMEDOUT ? FRAME_RST_TIMEOUT
                       : status == -ENOMEM  ? FRAME_RST_GENERAL
                                            : FRAME_RST_HOST_UNREACH,
                       status);
                return;
        }
        connect_checked(dl, addrs, n);
}

/* ---- API ---- */

int dialer_new(struct dialer **out, struct reactor *r, struct dns *dns,
               const struct egress_policy *policy, const struct dialer_conf *conf)
{
        struct dialer *d;

        *out = NULL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->r = r;
        d->dns = dns;
        d->policy = *policy;
        if (conf)
                d->conf = *conf;
        if (!d->conf.suppress_after)
                d->conf.suppress_after = 3;
        if (!d->conf.backoff_min_ms)
                d->conf.backoff_min_ms = 5000;
        if (!d->conf.backoff_max_ms)
                d->conf.backoff_max_ms = 60000;
        if (!d->conf.suppress_max)
                d->conf.suppress_max = 1024;
        if (d->conf.backoff_min_ms > d->conf.backoff_max_ms || d->conf.suppress_max > (1u << 20)) {
                free(d);
                return -EINVAL;
        }
        d->sup = calloc(d->conf.suppress_max, sizeof(*d->sup));
        if (!d->sup) {
                free(d);
                return -ENOMEM;
        }
        *out = d;
        return 0;
}

void dialer_free(struct dialer *d)
{
        if (!d)
                return;
        while (d->active)
                dialer_cancel(d->active);
        free(d->sup);
        free(d);
}

/* The suppression key: the target as the client named it, lower-cased. */
static void make_key(const struct frame_target *t, char *key)
{
        char host[INET6_ADDRSTRLEN];

        if (t->atyp == FRAME_ATYP_DOMAIN) {
                for (unsigned i = 0; i < t->addr_len; i++) {
                        char c = (char)t->addr[i];

                        key[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
                }
                snprintf(key + t->addr_len, DIALER_KEY_MAX + 1 - t->addr_len, ":%u", t->port);
                return;
        }
        inet_ntop(t->atyp == FRAME_ATYP_IPV4 ? AF_INET : AF_INET6, t->addr, host, sizeof(host));
        snprintf(key, DIALER_KEY_MAX + 1, t->atyp == FRAME_ATYP_IPV4 ? "%s:%u" : "[%s]:%u", host,
                 t->port);
}

static int target_ok(const struct frame_target *t)
{
        if (!t->port || !t->addr)
                return 0;
        switch (t->atyp) {
        case FRAME_ATYP_IPV4:
                return t->addr_len == 4;
        case FRAME_ATYP_IPV6:
                return t->addr_len == 16;
        case FRAME_ATYP_DOMAIN:
                return t->addr_len > 0 && !memchr(t->addr, '\0', t->addr_len);
        default:
                return 0;
        }
}

int dialer_dial(struct dialer *d, const struct frame_target *t, unsigned timeout_ms, dialer_cb cb,
                void *arg, struct dial **out)
{
        struct dial *dl;

        *out = NULL;
        if (!target_ok(t))
                return -EINVAL;
        dl = calloc(1, sizeof(*dl));
        if (!dl)
                return -ENOMEM;
        dl->d = d;
        dl->cb = cb;
        dl->arg = arg;
        dl->fd = -1;
        dl->res.fd = -1;
        dl->port = t->port;
        dl->count = true;
        make_key(t, dl->key);
        if (!timeout_ms)
                timeout_ms = DIALER_DEFAULT_TIMEOUT_MS;
        dl->deadline = timer_now_ms() + timeout_ms;
        /* Armed first and kept armed until delivery: see the top of the file. */
        if (reactor_timer_start(d->r, &dl->timer, timeout_ms, on_deadline, dl) < 0) {
                free(dl);
                return -ENOMEM;
        }
        dl->next = d->active;
        if (dl->next)
                dl->next->prev = dl;
        d->active = dl;
        d->stats.dials++;
        *out = dl;

        uint8_t reason = sup_check(d, dl->key);
        if (reason) {
                d->stats.suppressed++;
                dl->count = false;
                dl->res.suppressed = true;
                finish(dl, -1, reason, 0);
                return 0;
        }
        if (t->atyp != FRAME_ATYP_DOMAIN) {
                struct sockaddr_storage ss = {0};

                if (t->atyp == FRAME_ATYP_IPV4) {
                        ss.ss_family = AF_INET;
                        memcpy(&((struct sockaddr_in *)&ss)->sin_addr, t->addr, 4);
                } else {
                        ss.ss_family = AF_INET6;
                        memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, t->addr, 16);
                }
                connect_checked(dl, &ss, 1);
                return 0;
        }

        char name[FRAME_MAX_NAME + 1];
        memcpy(name, t->addr, t->addr_len);
        name[t->addr_len] = '\0';
        int ret = d->dns ? dns_resolve(d->dns, name, on_resolved, dl, &dl->q) : -ENOSYS;
        if (ret < 0) {
                /* Not a host name (or no resolver): says nothing about a
                 * target worth remembering. */
                dl->count = false;
                finish(dl, -1,
                       ret == -EINVAL || ret == -ENOSYS ? FRAME_RST_HOST_UNREACH
                                                        : FRAME_RST_GENERAL,
                       ret);
        }
        return 0;
}

void dialer_cancel(struct dial *h)
{
        if (!h)
                return;
        h->d->stats.cancelled++;
        release(h);
        if (h->res.fd >= 0)
                abort_fd(h->res.fd); /* connected but not delivered yet */
        unlink_free(h);
}

const struct dialer_stats *dialer_stats(const struct dialer *d)
{
        return &d->stats;
}
