/* dns: c-ares on the reactor, a cache of answers, and shared lookups.
 *
 * c-ares tells us which sockets to watch (sock_state_cb) and when its next
 * timeout is (ares_timeout); we watch with reactor polls and one reactor
 * timer, and feed readiness back with ares_process_fd. User callbacks never
 * run inside c-ares: answers are copied into each waiting query and handed
 * out from a separate zero-delay "delivery" timer, so a callback may resolve,
 * cancel or even free the resolver without re-entering c-ares.
 *
 * A cache entry is either pending (a lookup in flight, with its waiters) or
 * done (an answer until it expires). Pending entries are never evicted, so
 * the c-ares callback can always find its entry. See dns.h for the contract.
 */
#include "exit/dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/netaddr.h"
#include "core/reactor.h"
#include "core/timer.h"

/* c-ares may hand a readable socket back with data still unread (its TCP
 * path reads the length and the body in separate calls), and a multishot
 * poll only fires again on new data. So after each readiness we ask the
 * socket directly, a bounded number of times: level-triggered behaviour. */
#define DNS_LEVEL_ROUNDS 8

struct dns_addr {
        sa_family_t family;
        uint8_t ip[16];
};

struct dns_query {
        struct dns *d;
        struct dns_query *next, **pprev; /* in an entry's waiters or d->ready */
        dns_cb cb;
        void *arg;
        int status;
        unsigned n;
        struct dns_addr addrs[DNS_MAX_ADDRS];
};

struct dns_entry {
        struct dns *d;
        struct dns_entry *hnext;         /* hash chain */
        struct dns_entry *older, *newer; /* age list, oldest first */
        struct dns_query *waiters;       /* pending only */
        uint64_t expires;                /* done only; timer_now_ms() scale */
        int status;
        unsigned n;
        bool pending;
        uint32_t hash;
        struct dns_addr addrs[DNS_MAX_ADDRS];
        char name[];
};

struct dns_watch {
        struct dns_watch *next;
        struct dns *d;
        struct rconn *rc;
        int fd;
        unsigned events;
};

struct dns {
        struct reactor *r;
        ares_channel ch;
        struct dns_conf conf;
        struct dns_stats stats;
        struct dns_watch *watches;
        struct timer ares_timer;
        struct timer deliver_timer;
        struct dns_query *ready, **ready_tail;
        struct dns_entry **buckets;
        unsigned nbuckets, nentries;
        struct dns_entry *oldest, *newest;
        bool *freed; /* set by dns_free while deliver() runs callbacks */
};

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_status;

static void ares_global_init(void)
{
        ares_init_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* ---- lists ---- */

static void q_unlink(struct dns_query *q)
{
        struct dns *d = q->d;

        if (!q->pprev)
                return;
        if (d->ready_tail == &q->next)
                d->ready_tail = q->pprev;
        *q->pprev = q->next;
        if (q->next)
                q->next->pprev = q->pprev;
        q->next = NULL;
        q->pprev = NULL;
}

static void q_push(struct dns_query **head, struct dns_query *q)
{
        q->next = *head;
        if (q->next)
                q->next->pprev = &q->next;
        *head = q;
        q->pprev = head;
}

static void deliver(struct timer *t, void *arg);

static void schedule(struct dns *d)
{
        if (d->ready && !timer_armed(&d->deliver_timer) &&
            reactor_timer_start(d->r, &d->deliver_timer, 0, deliver, d) < 0)
                log_error("dns: cannot arm the delivery timer; answers wait for the next event");
}

/* Appends to the FIFO of answers waiting for delivery. */
static void q_ready(struct dns *d, struct dns_query *q)
{
        q->next = NULL;
        q->pprev = d->ready_tail;
        *d->ready_tail = q;
        d->ready_tail = &q->next;
}

static void q_set_result(struct dns_query *q, int status, const struct dns_addr *a, unsigned n)
{
        q->status = status;
        q->n = n;
        memcpy(q->addrs, a, n * sizeof(*a));
}

static void to_sockaddrs(const struct dns_addr *a, unsigned n, struct sockaddr_storage *out)
{
        memset(out, 0, n * sizeof(*out));
        for (unsigned i = 0; i < n; i++) {
                if (a[i].family == AF_INET) {
                        struct sockaddr_in *in = (struct sockaddr_in *)&out[i];

                        in->sin_family = AF_INET;
                        memcpy(&in->sin_addr, a[i].ip, 4);
                } else {
                        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out[i];

                        in6->sin6_family = AF_INET6;
                        memcpy(&in6->sin6_addr, a[i].ip, 16);
                }
        }
}

/* Hands out the answers that were ready when it started, oldest first.
 * Each query is off every list and freed before its callback runs, so the
 * callback may do anything with the resolver, dns_free included. */
static void deliver(struct timer *t, void *arg)
{
        struct dns *d = arg;
        size_t budget = 0;
        bool freed = false;

        (void)t;
        for (struct dns_query *q = d->ready; q; q = q->next)
                budget++;
        d->freed = &freed;
        while (budget-- && d->ready) {
                struct dns_query *q = d->ready;
                struct sockaddr_storage ss[DNS_MAX_ADDRS];
                dns_cb cb = q->cb;
                void *cb_arg = q->arg;
                int status = q->status;
                unsigned n = q->n;

                to_sockaddrs(q->addrs, n, ss);
                q_unlink(q);
                free(q);
                cb(cb_arg, status, ss, n);
                if (freed)
                        return;
        }
        d->freed = NULL;
        schedule(d);
}

/* ---- cache ---- */

static uint32_t name_hash(const char *s)
{
        uint32_t h = 2166136261u;

        while (*s)
                h = (h ^ (uint8_t)*s++) * 16777619u;
        return h;
}

static struct dns_entry *entry_find(struct dns *d, const char *name, uint32_t h)
{
        for (struct dns_entry *e = d->buckets[h & (d->nbuckets - 1)]; e; e = e->hnext)
                if (e->hash == h && !strcmp(e->name, name))
                        return e;
        return NULL;
}

static void age_unlink(struct dns *d, struct dns_entry *e)
{
        if (e->older)
                e->older->newer = e->newer;
        else
                d->oldest = e->newer;
        if (e->newer)
                e->newer->older = e->older;
        else
                d->newest = e->older;
        e->older = e->newer = NULL;
}

static void age_append(struct dns *d, struct dns_entry *e)
{
        e->older = d->newest;
        e->newer = NULL;
        if (d->newest)
                d->newest->newer = e;
        else
                d->oldest = e;
        d->newest = e;
}

/* Frees <e> and any waiters it still has (only dns_free leaves some). */
static void entry_remove(struct dns *d, struct dns_entry *e)
{
        struct dns_entry **pp = &d->buckets[e->hash & (d->nbuckets - 1)];

        while (*pp != e)
                pp = &(*pp)->hnext;
        *pp = e->hnext;
        age_unlink(d, e);
        while (e->waiters) {
                struct dns_query *q = e->waiters;

                q_unlink(q);
                free(q);
        }
        d->nentries--;
        free(e);
}

/* Makes room for one more entry: drops the oldest answer (pending lookups
 * have waiters and a c-ares callback on the way, so they stay). */
static int entry_make_room(struct dns *d)
{
        if (d->nentries < d->conf.cache_max)
                return 0;
        for (struct dns_entry *e = d->oldest; e; e = e->newer) {
                if (!e->pending) {
                        entry_remove(d, e);
                        d->stats.evictions++;
                        return 0;
                }
        }
        return -ENOSPC;
}

/* ---- c-ares plumbing ---- */

static void update_timer(struct dns *d);

static void on_ares_timer(struct timer *t, void *arg)
{
        struct dns *d = arg;

        (void)t;
        ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        update_timer(d);
}

static void update_timer(struct dns *d)
{
        struct timeval tv, *tvp = ares_timeout(d->ch, NULL, &tv);

        if (!tvp) {
                reactor_timer_stop(d->r, &d->ares_timer);
                return;
        }
        /* Rounded up: firing early would only make c-ares ask again. */
        uint64_t ms = (uint64_t)tvp->tv_sec * 1000 + ((uint64_t)tvp->tv_usec + 999) / 1000;
        if (reactor_timer_start(d->r, &d->ares_timer, ms, on_ares_timer, d) < 0)
                log_error("dns: cannot arm the c-ares timer");
}

static struct dns_watch *watch_find(struct dns *d, int fd)
{
        for (struct dns_watch *w = d->watches; w; w = w->next)
                if (w->fd == fd)
                        return w;
        return NULL;
}

static void watch_drop(struct dns *d, struct dns_watch *w)
{
        struct dns_watch **pp = &d->watches;

        while (*pp != w)
                pp = &(*pp)->next;
        *pp = w->next;
        if (w->rc)
                reactor_poll_stop(w->rc);
        free(w);
}

static void process(struct dns *d, int fd, unsigned revents)
{
        ares_socket_t rfd = revents & (POLLIN | POLLERR | POLLHUP) ? fd : ARES_SOCKET_BAD;
        ares_socket_t wfd = revents & (POLLOUT | POLLERR | POLLHUP) ? fd : ARES_SOCKET_BAD;

        ares_process_fd(d->ch, rfd, wfd);
}

static void on_sock_ready(void *arg, unsigned revents)
{
        struct dns_watch *w = arg;
        struct dns *d = w->d;
        int fd = w->fd;

        /* <w> may be freed inside c-ares (socket closed): look it up again. */
        process(d, fd, revents);
        for (int i = 0; i < DNS_LEVEL_ROUNDS && (w = watch_find(d, fd)); i++) {
                struct pollfd p = {.fd = fd, .events = (short)w->events};

                if (poll(&p, 1, 0) <= 0 || !p.revents)
                        break;
                process(d, fd, (unsigned)p.revents);
        }
        update_timer(d);
}

/* c-ares wants <fd> watched for reading and/or writing, or no longer
 * (both 0: it is about to close the socket). */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
        struct dns *d = data;
        struct dns_watch *w = watch_find(d, fd);
        unsigned events = (readable ? POLLIN : 0u) | (writable ? POLLOUT : 0u);

        if (!events) {
                if (w)
                        watch_drop(d, w);
                return;
        }
        if (w && w->events == events && w->rc)
                return;
        if (!w) {
                w = calloc(1, sizeof(*w));
                if (!w) {
                        log_error("dns: out of memory watching a resolver socket");
                        return; /* the query ends by timeout */
                }
                w->d = d;
                w->fd = fd;
                w->next = d->watches;
                d->watches = w;
        }
        if (w->rc)
                reactor_poll_stop(w->rc);
        w->rc = NULL;
        w->events = events;
        int ret = reactor_poll_start(d->r, fd, events, on_sock_ready, w, &w->rc);
        if (ret < 0) {
                w->rc = NULL;
                log_error("dns: cannot watch a resolver socket: %s", strerror(-ret));
        }
}

static int map_status(int status)
{
        switch (status) {
        case ARES_SUCCESS:
                return 0;
        case ARES_ENOTFOUND:
        case ARES_ENODATA:
        case ARES_ENONAME:
        case ARES_EBADNAME:
                return -ENOENT;
        case ARES_ETIMEOUT:
                return -ETIMEDOUT;
        case ARES_ENOMEM:
                return -ENOMEM;
        default: /* SERVFAIL, REFUSED, connection refused, bad answers... */
                return -EAGAIN;
        }
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
        struct dns_entry *e = arg;
        struct dns *d;
        int64_t ttl = INT64_MAX;

        (void)timeouts;
        if (status == ARES_EDESTRUCTION) {
                /* dns_free is tearing everything down and frees <e> itself. */
                if (res)
                        ares_freeaddrinfo(res);
                return;
        }
        d = e->d;
        e->status = map_status(status);
        e->n = 0;
        for (struct ares_addrinfo_node *nd = res && !e->status ? res->nodes : NULL;
             nd && e->n < DNS_MAX_ADDRS; nd = nd->ai_next) {
                struct dns_addr *a = &e->addrs[e->n];

                if (nd->ai_family == AF_INET) {
                        a->family = AF_INET;
                        memcpy(a->ip, &((struct sockaddr_in *)nd->ai_addr)->sin_addr, 4);
                } else if (nd->ai_family == AF_INET6) {
                        a->family = AF_INET6;
                        memcpy(a->ip, &((struct sockaddr_in6 *)nd->ai_addr)->sin6_addr, 16);
                } else {
                        continue;
                }
                if (nd->ai_ttl < ttl)
                        ttl = nd->ai_ttl < 0 ? 0 : nd->ai_ttl;
                e->n++;
        }
        if (res)
                ares_freeaddrinfo(res);
        if (!e->status && !e->n)
                e->status = -ENOENT;

        uint64_t keep_ms = 0;
        if (!e->status) {
                keep_ms = (uint64_t)ttl * 1000;
                if (keep_ms < d->conf.ttl_min_ms)
                        keep_ms = d->conf.ttl_min_ms;
                if (keep_ms > d->conf.ttl_max_ms)
                        keep_ms = d->conf.ttl_max_ms;
        } else {
                d->stats.failures++;
                if (e->status == -ENOENT)
                        keep_ms = d->conf.neg_ttl_ms;
        }
        e->pending = false;
        e->expires = timer_now_ms() + keep_ms;
        while (e->waiters) {
                struct dns_query *q = e->waiters;

                q_unlink(q);
                q_set_result(q, e->status, e->addrs, e->n);
                q_ready(d, q);
        }
        if (!keep_ms) {
                entry_remove(d, e); /* transient failure: ask again next time */
        } else {
                age_unlink(d, e);
                age_append(d, e); /* its age counts from the answer */
        }
        schedule(d);
}

/* ---- names ---- */

/* Lower-cases <in> into <out> without its trailing dot and checks it is a
 * host name: labels of 1..63 bytes from [a-z0-9_-], not starting or ending
 * with '-', 253 bytes at most. */
static int normalize(const char *in, char out[NETADDR_HOST_MAX + 1])
{
        size_t n = strnlen(in, NETADDR_HOST_MAX + 2), label = 0;

        if (n && in[n - 1] == '.')
                n--;
        if (!n || n > NETADDR_HOST_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                char c = in[i];

                if (c >= 'A' && c <= 'Z')
                        c = (char)(c - 'A' + 'a');
                if (c == '.') {
                        if (!label || in[i - 1] == '-')
                                return -EINVAL;
                        label = 0;
                } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                           c == '_') {
                        if (++label > 63 || (c == '-' && label == 1))
                                return -EINVAL;
                } else {
                        return -EINVAL;
                }
                out[i] = c;
        }
        if (in[n - 1] == '-')
                return -EINVAL;
        out[n] = '\0';
        return 0;
}

/* An all-numeric last label is never a host name (RFC 3696 §2) but is
 * what inet_aton accepts as an address ("127.1", "2130706433"): refused,
 * so such spellings never reach DNS or another parser. */
static bool numeric_tld(const char *name)
{
        const char *tld = strrchr(name, '.');

        tld = tld ? tld + 1 : name;
        return strspn(tld, "0123456789") == strlen(tld);
}

/* ---- API ---- */

static void or_default(unsigned *v, unsigned def)
{
        if (!*v)
                *v = def;
}

int dns_new(struct dns **out, struct reactor *r, const struct dns_conf *conf)
{
        static const struct dns_conf defaults = {
            .timeout_ms = 2000,
            .tries = 2,
            .cache_max = 4096,
            .ttl_min_ms = 5000,
            .ttl_max_ms = 300000,
            .neg_ttl_ms = 10000,
        };
        struct ares_options o;
        struct dns *d;
        int ret;

        *out = NULL;
        pthread_once(&ares_once, ares_global_init);
        if (ares_init_status != ARES_SUCCESS)
                return -EIO;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->r = r;
        d->conf = conf ? *conf : defaults;
        or_default(&d->conf.timeout_ms, defaults.timeout_ms);
        or_default(&d->conf.tries, defaults.tries);
        or_default(&d->conf.cache_max, defaults.cache_max);
        or_default(&d->conf.ttl_min_ms, defaults.ttl_min_ms);
        or_default(&d->conf.ttl_max_ms, defaults.ttl_max_ms);
        or_default(&d->conf.neg_ttl_ms, defaults.neg_ttl_ms);
        d->ready_tail = &d->ready;
        d->nbuckets = 16;
        while (d->nbuckets < 2 * d->conf.cache_max && d->nbuckets < (1u << 24))
                d->nbuckets *= 2;
        d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
        if (!d->buckets) {
                free(d);
                return -ENOMEM;
        }

        memset(&o, 0, sizeof(o));
        o.sock_state_cb = on_sock_state;
        o.sock_state_cb_data = d;
        o.timeout = (int)d->conf.timeout_ms;
        o.tries = (int)d->conf.tries;
        o.ndomains = 0; /* no search list, and none derived from the host name */
        o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_STAYOPEN;
        ret = ares_init_options(&d->ch, &o,
                                ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                                    ARES_OPT_DOMAINS | ARES_OPT_FLAGS);
        if (ret != ARES_SUCCESS) {
                log_error("dns: c-ares init failed: %s", ares_strerror(ret));
                free(d->buckets);
                free(d);
                return ret == ARES_ENOMEM ? -ENOMEM : -EIO;
        }
        if (d->conf.servers) {
                ret = ares_set_servers_ports_csv(d->ch, d->conf.servers);
                if (ret != ARES_SUCCESS) {
                        log_error("dns: bad server list \"%s\": %s", d->conf.servers,
                                  ares_strerror(ret));
                        ares_destroy(d->ch);
                        free(d->buckets);
                        free(d);
                        return ret == ARES_ENOMEM ? -ENOMEM : -EINVAL;
                }
                d->conf.servers = NULL; /* the caller's string; c-ares has a copy */
        }
        *out = d;
        return 0;
}

void dns_free(struct dns *d)
{
        if (!d)
                return;
        /* Fails every lookup with ARES_EDESTRUCTION (ignored) and closes its
         * sockets, which drops their watches through on_sock_state. */
        ares_destroy(d->ch);
        while (d->watches)
                watch_drop(d, d->watches);
        reactor_timer_stop(d->r, &d->ares_timer);
        reactor_timer_stop(d->r, &d->deliver_timer);
        while (d->oldest)
                entry_remove(d, d->oldest);
        while (d->ready) {
                struct dns_query *q = d->ready;

                q_unlink(q);
                free(q);
        }
        if (d->freed)
                *d->freed = true;
        free(d->buckets);
        free(d);
}

static int literal(const char *name, struct dns_addr *a)
{
        if (inet_pton(AF_INET, name, a->ip) == 1) {
                a->family = AF_INET;
                return 1;
        }
        if (inet_pton(AF_INET6, name, a->ip) == 1) {
                a->family = AF_INET6;
                return 1;
        }
        return 0;
}

int dns_resolve(struct dns *d, const char *name, dns_cb cb, void *arg, struct dns_query **out)
{
        char norm[NETADDR_HOST_MAX + 1];
        struct dns_addr lit;
        struct dns_query *q;
        struct dns_entry *e;
        int ret;

        *out = NULL;
        if (strchr(name, ':')) {
                /* Only an IPv6 literal has colons; anything else is junk. */
                if (strlen(name) >= sizeof(norm) || !literal(name, &lit) || lit.family != AF_INET6)
                        return -EINVAL;
                memcpy(norm, name, strlen(name) + 1);
        } else {
                ret = normalize(name, norm);
                if (ret < 0)
                        return ret;
        }
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->d = d;
        q->cb = cb;
        q->arg = arg;
        if (literal(norm, &lit)) {
                d->stats.literals++;
                q_set_result(q, 0, &lit, 1);
                goto ready;
        }
        if (numeric_tld(norm)) {
                free(q);
                return -EINVAL;
        }

        uint32_t h = name_hash(norm);
        e = entry_find(d, norm, h);
        if (e && !e->pending && timer_now_ms() >= e->expires) {
                entry_remove(d, e);
                e = NULL;
        }
        if (e && e->pending) {
                d->stats.shared++;
                q_push(&e->waiters, q);
                goto accepted;
        }
        if (e) {
                d->stats.cache_hits++;
                q_set_result(q, e->status, e->addrs, e->n);
                goto ready;
        }

        ret = entry_make_room(d);
        size_t len = strlen(norm) + 1;
        e = ret < 0 ? NULL : calloc(1, sizeof(*e) + len);
        if (!e) {
                free(q);
                return ret < 0 ? ret : -ENOMEM;
        }
        e->d = d;
        e->hash = h;
        e->pending = true;
        memcpy(e->name, norm, len);
        e->hnext = d->buckets[h & (d->nbuckets - 1)];
        d->buckets[h & (d->nbuckets - 1)] = e;
        age_append(d, e);
        d->nentries++;
        q_push(&e->waiters, q);
        d->stats.queries++;

        struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        /* May call on_addrinfo at once (an /etc/hosts hit): that only moves
         * <q> to the ready list, so the callback still runs later. */
        ares_getaddrinfo(d->ch, e->name, NULL, &hints, on_addrinfo, e);
        update_timer(d);
        goto accepted;

ready:
        q_ready(d, q);
        schedule(d);
accepted:
        d->stats.resolves++;
        *out = q;
        return 0;
}

void dns_cancel(struct dns_query *q)
{
        if (!q)
                return;
        q_unlink(q);
        free(q);
}

const struct dns_stats *dns_stats(const struct dns *d)
{
        return &d->stats;
}
