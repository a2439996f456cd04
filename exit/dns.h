/* dns: asynchronous name resolution on the reactor, with a small cache.
 *
 * The exit resolves the names clients put in OPEN frames. A blocking
 * getaddrinfo would stall every session of the thread, so resolution runs on
 * c-ares, driven by the thread's reactor: c-ares sockets are watched with
 * reactor_poll_start, its timeouts with a reactor timer. One resolver per
 * reactor (it is not thread-safe). Above it sits the dialer, which checks
 * every answer against the egress policy before connecting.
 *
 * Answers are cached (positive for the record TTL clamped to [5 s, 300 s],
 * negative for 10 s; bounded, oldest evicted first) and lookups of a name
 * already in flight share its query. IP literals are answered without DNS.
 * Search domains are off: a client's "db" must never become the exit's
 * "db.internal.example".
 */
#ifndef URELAY_EXIT_DNS_H
#define URELAY_EXIT_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct reactor;
struct dns;
struct dns_query;

#define DNS_MAX_ADDRS 8 /* addresses kept per name; the rest are dropped */

/* Zero fields take the default shown. */
struct dns_conf {
        /* "ip[:port],..." as for ares_set_servers_ports_csv; NULL = the
         * system's /etc/resolv.conf. Tests always set it. */
        const char *servers;
        unsigned timeout_ms; /* first try's timeout, c-ares doubles later ones; 2000 */
        unsigned tries;      /* per server; 2 */
        unsigned cache_max;  /* names cached or in flight; 4096 */
        unsigned ttl_min_ms; /* positive answers kept at least this long; 5000 */
        unsigned ttl_max_ms; /* and at most this long; 300000 */
        unsigned neg_ttl_ms; /* NXDOMAIN or no address kept this long; 10000 */
};

struct dns_stats {
        uint64_t resolves;   /* dns_resolve calls accepted */
        uint64_t queries;    /* lookups handed to c-ares (a name's A+AAAA count once) */
        uint64_t cache_hits; /* answered from the cache, negative answers included */
        uint64_t shared;     /* joined a lookup already in flight */
        uint64_t literals;   /* IP literals, answered without DNS */
        uint64_t failures;   /* lookups that ended without an address */
        uint64_t evictions;  /* cache entries dropped for room */
};

/* Receives the answer: <status> 0 with <n> >= 1 addresses (port 0, family
 * AF_INET or AF_INET6, in c-ares's preference order), or -ENOENT (no such
 * name, or no address), -ETIMEDOUT (no server answered in time), -EAGAIN
 * (the server failed: SERVFAIL, REFUSED, unreachable...) or -ENOMEM, with
 * n = 0. <addrs> is valid only during the call. */
typedef void (*dns_cb)(void *arg, int status, const struct sockaddr_storage *addrs, size_t n);

/* Creates a resolver bound to <r> (conf NULL = defaults). Returns 0, -ENOMEM,
 * -EINVAL (bad servers string) or -EIO (c-ares could not start). */
int dns_new(struct dns **out, struct reactor *r, const struct dns_conf *conf);
/* Frees the resolver before its reactor. Queries still outstanding are
 * dropped without their callbacks; their handles become invalid. Must not
 * be called from inside c-ares, but may be called from a dns_cb. */
void dns_free(struct dns *d);

/* Starts resolving <name> (a host name, optionally with one trailing dot, or
 * an IPv4/IPv6 literal). <cb> runs exactly once, always from the reactor
 * loop and never inside this call, unless dns_cancel comes first. <*q> is
 * the handle for dns_cancel, valid until the callback starts.
 * Returns 0, -EINVAL (not a valid host name: empty, over 253 bytes, a label
 * empty, over 63 bytes, outside [A-Za-z0-9_-] or with a hyphen at either
 * end, or an all-numeric last label, which only inet_aton would read),
 * -ENOSPC (cache full of lookups in flight) or -ENOMEM; on error <cb> is
 * never called. */
int dns_resolve(struct dns *d, const char *name, dns_cb cb, void *arg, struct dns_query **q);
/* Withdraws a query: its callback will not run. The shared lookup itself
 * goes on and still fills the cache. */
void dns_cancel(struct dns_query *q);

const struct dns_stats *dns_stats(const struct dns *d);

#endif
