/* client_pool: the client's endpoints and what it knows of their health.
 *
 * Every endpoint reaches the same exit (same key, same process) by another
 * path: a WebSocket URL, a POST URL, a forwarder, a front. The pool keeps,
 * per endpoint, its settings (the per-endpoint ones, or the top-level
 * defaults), an RTT estimate, its consecutive failures and whether it is
 * set aside:
 *
 * - blacklisted after `blacklist_after` consecutive failures, for
 *   `blacklist` seconds doubling with each further benching, +-20% jitter,
 *   never past `blacklist_max` (core/backoff.h); a success clears it. The
 *   first benching since a success is logged, and so is the recovery.
 * - quarantined for an exhausted quota (a 429 until its Retry-After, the
 *   forwarder's daily-quota page until the next reset), together with every
 *   endpoint of the same account. Quarantines are wall-clock times and are
 *   kept in the state file, so a restart does not spend a request on them.
 * - backing off (post requests only): after a failed request, no new one
 *   goes to the endpoint for reconnect_delay, doubling with each further
 *   failure up to max_reconnect_delay, jittered and never past it
 *   (core/backoff.h); then one trial at a time until a success clears it.
 *   Whatever the number of endpoints: a sole one is never set aside, but
 *   it backs off.
 *
 * pool_pick() returns the best usable endpoint of a kind: lowest RTT plus a
 * penalty per consecutive failure and per request in flight (which spreads
 * the load), ties taken in turn. An endpoint that has failed gets one trial
 * request once its time is up (`blacklist` seconds after its last failure,
 * or the end of its benching): a success clears it, a failure counts on. When every endpoint is set
 * aside it still returns one (the least recently failed; quarantined last), never NULL while the
 * pool has an endpoint of that kind.
 *
 * pool_update() swaps the endpoint list (SIGHUP) and keeps the state of
 * endpoints that stay; removed ones are freed once nothing holds them.
 */
#ifndef URELAY_TOOLS_CLIENT_POOL_H
#define URELAY_TOOLS_CLIENT_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/config.h"

struct reactor;
struct dns;
struct dns_query;

enum ep_kind { EP_WS = 1, EP_POST = 2, EP_ANY = 3 };

struct endpoint {
        struct pool *pool;
        /* Settings. */
        char name[NETADDR_URL_STRLEN]; /* the URL, for logs */
        char id[NETADDR_URL_STRLEN + NETADDR_STRLEN +
                8]; /* URL + connect: what identifies it across reloads */
        struct netaddr_url url;
        enum ep_kind kind;
        bool tls, text;
        bool sni_set;     /* an explicit sni: also for redirects */
        bool via_connect; /* dials `connect` whatever the host */
        char host_header[NETADDR_HOST_MAX + 10];
        char sni[NETADDR_HOST_MAX + 1];
        char account[CONFIG_ACCOUNT_MAX + 1]; /* "" = none */
        /* Where to dial: --connect or an IP literal (fixed), else resolved. */
        struct sockaddr_storage sa;
        socklen_t sa_len; /* 0 = not known yet */
        bool fixed_addr;
        uint64_t resolved_ms;
        /* Health. */
        unsigned fails;        /* consecutive */
        unsigned benchings;    /* consecutive benchings without a success between */
        uint64_t bench_until;  /* monotonic ms; 0 = not benched */
        uint64_t last_fail_ms; /* monotonic */
        uint64_t quota_until;  /* wall-clock ms; 0 = none */
        uint32_t rtt_ms;       /* EWMA; 0 = unknown */
        unsigned inflight;     /* requests or links using it now */
        /* Backoff of new post requests to it (core/backoff.h). */
        uint64_t backoff_ms;  /* the current step; 0 = not backing off */
        uint64_t retry_at;    /* monotonic ms: no new request before */
        unsigned backoff_gen; /* steps taken: requests started before the last one do not step */
        unsigned trials;      /* requests in flight started while backing off */
        /* Down (for the logs): from ep_down() to the next success. */
        bool down;
        uint64_t down_since;    /* monotonic ms */
        uint64_t down_fails;    /* failures since */
        uint64_t summary_ms;    /* the last line about it */
        uint64_t summary_fails; /* down_fails then */
        unsigned refs;          /* pointers held by links and requests */
        bool removed;           /* gone from the config; freed at refs == 0 */
        uint64_t uses;          /* requests or connections started */
        uint64_t serial;        /* unique in the process */
};

struct pool {
        const struct config_client *cfg;
        struct reactor *r;
        struct endpoint **ep;
        size_t n;
        size_t turn;            /* round-robin start among equals */
        uint64_t serials;       /* endpoint serials given out */
        struct endpoint **gone; /* removed, still referenced */
        size_t ngone;
        struct dns *dns;
        char *state_path; /* NULL = none */
};

/* Builds the pool from cfg->endpoints, loading quarantines from the state
 * file. Returns 0, or -EINVAL with a message in err. */
int pool_new(struct pool **out, struct reactor *r, const struct config_client *cfg, char *err,
             size_t errlen);
/* Frees the resolver: before the reactor goes. */
void pool_stop(struct pool *p);
/* After the reactor: links still closing hold endpoints until then. */
void pool_free(struct pool *p);
/* Replaces the endpoint list with cfg's (cfg must outlive the pool). */
int pool_update(struct pool *p, const struct config_client *cfg, char *err, size_t errlen);

/* Best endpoint of <kind>, or NULL if the pool has none of that kind. */
struct endpoint *pool_pick(struct pool *p, enum ep_kind kind);
/* The same choice for a new post request, honouring each endpoint's backoff
 * (ep_backoff): one backing off is skipped until its retry_at, then gets
 * one request at a time (a trial) until a success. NULL when no endpoint
 * of <kind> is ready: *wait_ms is then how long until one is, or
 * UINT64_MAX when only the end of a trial in flight can change that. */
struct endpoint *pool_pick_ready(struct pool *p, enum ep_kind kind, uint64_t *wait_ms);
/* The same choice without taking it (the turn among equals stays). */
struct endpoint *pool_peek(struct pool *p, enum ep_kind kind);
/* Whether <kind> has an endpoint that is neither benched nor quarantined. */
bool pool_has_usable(struct pool *p, enum ep_kind kind);
bool ep_usable(const struct endpoint *e, uint64_t now_ms, uint64_t wall_ms);

void ep_hold(struct endpoint *e);
void ep_release(struct endpoint *e);

/* A success clears the endpoint's failures, benching and backoff; if it
 * was down, one line says it is up again. */
void ep_success(struct endpoint *e, uint32_t rtt_ms);
/* A post request through <e> failed (or met its quota); <gen> is
 * e->backoff_gen when it started. The backoff steps on (reconnect_delay
 * doubling to max_reconnect_delay, jittered, never past it) unless it
 * already did for a request started later, so requests that fail together
 * count once. Returns the wait before the next request to <e>, in ms. */
uint64_t ep_backoff(struct endpoint *e, unsigned gen);
/* A link or request through <e> failed (<why>) and the next try is in
 * <next_ms>: the first failure after a success logs that it is down, the
 * following ones are counted and summed up in one line at most every
 * EP_SUMMARY_MS; ep_success() logs the recovery. One line per change of
 * state, not one per attempt. */
void ep_down(struct endpoint *e, const char *why, uint64_t next_ms);
#define EP_SUMMARY_MS 60000
void ep_failure(struct endpoint *e, const char *why);
/* Quarantines e and its account until wall-clock <until_ms>. */
void ep_quota(struct endpoint *e, uint64_t until_ms, const char *why);
/* When an exhausted daily quota resets (Apps Script: midnight Pacific time,
 * taken as 08:00 UTC), after wall-clock <now_ms>. */
uint64_t pool_quota_reset_ms(uint64_t now_ms);

/* <ms> +-20%, never past <cap> (core/backoff.h). */
uint64_t pool_jitter(uint64_t ms, uint64_t cap);
/* Whether e->sa is usable now: a fixed address, or a fresh answer. */
bool ep_addr_known(const struct endpoint *e);
/* Resolves <host> (the endpoint's, or a redirect's) on the reactor
 * (exit/dns.c); for the endpoint's own host the callback hands the answer to
 * ep_resolved(). */
int ep_resolve(struct endpoint *e, const char *host,
               void (*cb)(void *arg, int status, const struct sockaddr_storage *a, size_t n),
               void *arg, struct dns_query **q);
/* Stores the first address of an answer, with the endpoint's port. */
void ep_resolved(struct endpoint *e, const struct sockaddr_storage *addrs, size_t n);

#endif
