/* client_pool: the client's endpoints and their health; see client_pool.h.
 *
 * The state file is JSON: {"quota": [{"bucket": "account:NAME" or
 * "url:ID", "until": UNIX_MS}, ...]}; it is written (to a temporary file,
 * then renamed) when a quarantine starts, and read at start.
 */
#include "tools/client_pool.h"

#include "core/backoff.h"
#include "core/hostenv.h"
#include "core/log.h"
#include "core/reactor.h"
#include "exit/dns.h"
#include "tools/client_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RTT_UNKNOWN_MS 100
#define FAIL_PENALTY   250 /* ms of score per consecutive failure */
#define LOAD_PENALTY   20  /* ms of score per request in flight */
#define RESOLVE_TTL_MS (5 * 60 * 1000)

static uint64_t rng_state;

static uint64_t rng_next(void)
{
        if (!rng_state)
                hostenv_random(&rng_state, sizeof(rng_state));
        if (!rng_state)
                rng_state = 0x9e3779b97f4a7c15ull;
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

uint64_t pool_jitter(uint64_t ms, uint64_t cap)
{
        return backoff_jitter(ms, cap, rng_next());
}

static uint64_t now_ms(const struct pool *p)
{
        return reactor_now_ms(p->r);
}

/* ---- settings ---- */

static void bucket_of(const struct endpoint *e, char *buf, size_t len)
{
        if (e->account[0])
                snprintf(buf, len, "account:%s", e->account);
        else
                snprintf(buf, len, "url:%s", e->id);
}

static int ep_setup(struct endpoint *e, const struct config_client *cfg,
                    const struct config_endpoint *ce, char *err, size_t errlen)
{
        const struct netaddr *connect = ce->connect.port ? &ce->connect : &cfg->connect;
        char a[NETADDR_STRLEN];

        e->url = ce->url;
        netaddr_url_format(&e->url, e->name, sizeof(e->name));
        e->kind =
            (e->url.scheme == NETADDR_HTTP || e->url.scheme == NETADDR_HTTPS) ? EP_POST : EP_WS;
        e->tls = netaddr_scheme_tls(e->url.scheme);
        e->text = ce->text >= 0 ? ce->text : cfg->text;
        e->sni_set = ce->sni || cfg->sni;
        snprintf(e->sni, sizeof(e->sni), "%s",
                 ce->sni    ? ce->sni
                 : cfg->sni ? cfg->sni
                            : e->url.addr.host);
        if (ce->host || cfg->host)
                snprintf(e->host_header, sizeof(e->host_header), "%s",
                         ce->host ? ce->host : cfg->host);
        else
                client_host_header(&e->url, e->host_header, sizeof(e->host_header));
        snprintf(e->account, sizeof(e->account), "%s", ce->account ? ce->account : "");
        if (connect->port) {
                netaddr_format(connect, a, sizeof(a));
                snprintf(e->id, sizeof(e->id), "%s via %s", e->name, a);
                if (netaddr_to_sockaddr(connect, &e->sa, &e->sa_len) < 0) {
                        snprintf(err, errlen, "endpoint %s: cannot use connect %s", e->name, a);
                        return -EINVAL;
                }
                e->fixed_addr = true;
                e->via_connect = true;
                return 0;
        }
        snprintf(e->id, sizeof(e->id), "%s", e->name);
        /* An IP literal needs no DNS; a name is resolved when first used. */
        e->fixed_addr =
            netaddr_literal_sockaddr(e->url.addr.host, e->url.addr.port, &e->sa, &e->sa_len) == 0;
        return 0;
}

bool ep_addr_known(const struct endpoint *e)
{
        return e->sa_len && (e->fixed_addr || now_ms(e->pool) - e->resolved_ms < RESOLVE_TTL_MS);
}

int ep_resolve(struct endpoint *e, const char *host,
               void (*cb)(void *arg, int status, const struct sockaddr_storage *a, size_t n),
               void *arg, struct dns_query **q)
{
        struct pool *p = e->pool;

        if (!p->dns && dns_new(&p->dns, p->r, NULL) < 0)
                return -ENOMEM;
        return dns_resolve(p->dns, host, cb, arg, q);
}

void ep_resolved(struct endpoint *e, const struct sockaddr_storage *addrs, size_t n)
{
        if (!n)
                return;
        e->sa = addrs[0];
        e->sa_len = netaddr_sockaddr_set_port(&e->sa, e->url.addr.port);
        e->resolved_ms = now_ms(e->pool);
}

/* ---- the state file ---- */

/* mkdir -p of the file's directory, made only when there is something to
 * write. */
static void make_parents(const char *file)
{
        char dir[4096];

        snprintf(dir, sizeof(dir), "%s", file);
        for (char *p = dir + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return;
                *p = '/';
        }
}

static void state_save(struct pool *p)
{
        char tmp[4200], bucket[sizeof(((struct endpoint *)0)->id) + 16];
        uint64_t wall = tunnel_wall_ms();
        json_t *root, *list;

        if (!p->state_path)
                return;
        root = json_object();
        list = json_array();
        if (!root || !list) {
                json_decref(root);
                json_decref(list);
                return;
        }
        for (size_t i = 0; i < p->n; i++) {
                struct endpoint *e = p->ep[i];
                bool seen = false;
                if (e->quota_until <= wall)
                        continue;
                /* One entry per account. */
                for (size_t k = 0; k < i && e->account[0]; k++)
                        seen |=
                            !strcmp(p->ep[k]->account, e->account) && p->ep[k]->quota_until > wall;
                if (seen)
                        continue;
                bucket_of(e, bucket, sizeof(bucket));
                json_array_append_new(list, json_pack("{s:s,s:I}", "bucket", bucket, "until",
                                                      (json_int_t)e->quota_until));
        }
        json_object_set_new(root, "quota", list);
        snprintf(tmp, sizeof(tmp), "%s.tmp", p->state_path);
        make_parents(p->state_path);
        if (json_dump_file(root, tmp, JSON_INDENT(1)) != 0 || rename(tmp, p->state_path) != 0)
                log_warn("cannot write the state file %s: %s", p->state_path, strerror(errno));
        json_decref(root);
}

static void state_load(struct pool *p)
{
        json_error_t jerr;
        json_t *root, *list, *it;
        size_t i;
        char bucket[sizeof(((struct endpoint *)0)->id) + 16];
        uint64_t wall = tunnel_wall_ms();

        if (!p->state_path || access(p->state_path, F_OK) != 0)
                return;
        root = json_load_file(p->state_path, 0, &jerr);
        if (!root) {
                log_warn("state file %s:%d:%d: %s; starting without it", p->state_path, jerr.line,
                         jerr.column, jerr.text);
                return;
        }
        list = json_object_get(root, "quota");
        json_array_foreach(list, i, it)
        {
                const char *b = json_string_value(json_object_get(it, "bucket"));
                json_t *u = json_object_get(it, "until");
                if (!b || !json_is_integer(u) || (uint64_t)json_integer_value(u) <= wall)
                        continue;
                for (size_t k = 0; k < p->n; k++) {
                        bucket_of(p->ep[k], bucket, sizeof(bucket));
                        /* On a reload, endpoints that stay know it already. */
                        if (!strcmp(bucket, b) &&
                            p->ep[k]->quota_until < (uint64_t)json_integer_value(u)) {
                                p->ep[k]->quota_until = (uint64_t)json_integer_value(u);
                                log_info(
                                    "endpoint %s: quota exhausted (remembered), resting "
                                    "for %llu s more",
                                    p->ep[k]->name,
                                    (unsigned long long)((p->ep[k]->quota_until - wall) / 1000));
                        }
                }
        }
        json_decref(root);
}

static char *default_state_path(void)
{
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        char path[4096];

        if (xdg && *xdg)
                snprintf(path, sizeof(path), "%s/urelay/client-state.json", xdg);
        else if (home && *home)
                snprintf(path, sizeof(path), "%s/.local/state/urelay/client-state.json", home);
        else
                return NULL;
        return strdup(path);
}

/* ---- the list ---- */

static void ep_free(struct endpoint *e)
{
        free(e);
}

static int build(struct pool *p, const struct config_client *cfg, struct endpoint ***out, char *err,
                 size_t errlen)
{
        const struct config_endpoint *ce = cfg->endpoints.v;
        struct endpoint **v = calloc(cfg->endpoints.n, sizeof(*v));

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->endpoints.n; i++) {
                v[i] = calloc(1, sizeof(**v));
                if (!v[i] || ep_setup(v[i], cfg, &ce[i], err, errlen) < 0) {
                        for (size_t k = 0; k <= i; k++)
                                free(v[k]);
                        free(v);
                        return -EINVAL;
                }
                v[i]->pool = p;
                v[i]->serial = ++p->serials;
        }
        *out = v;
        return 0;
}

int pool_new(struct pool **out, struct reactor *r, const struct config_client *cfg, char *err,
             size_t errlen)
{
        struct pool *p = calloc(1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        p->cfg = cfg;
        p->r = r;
        if (build(p, cfg, &p->ep, err, errlen) < 0) {
                free(p);
                return -EINVAL;
        }
        p->n = cfg->endpoints.n;
        if (!cfg->state_file)
                p->state_path = default_state_path();
        else if (cfg->state_file[0])
                p->state_path = strdup(cfg->state_file);
        state_load(p);
        *out = p;
        return 0;
}

void pool_stop(struct pool *p)
{
        if (p && p->dns) {
                dns_free(p->dns);
                p->dns = NULL;
        }
}

void pool_free(struct pool *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++)
                ep_free(p->ep[i]);
        for (size_t i = 0; i < p->ngone; i++)
                ep_free(p->gone[i]);
        free(p->ep);
        free(p->gone);
        if (p->dns)
                dns_free(p->dns);
        free(p->state_path);
        free(p);
}

int pool_update(struct pool *p, const struct config_client *cfg, char *err, size_t errlen)
{
        struct endpoint **v;
        size_t n = cfg->endpoints.n;

        if (build(p, cfg, &v, err, errlen) < 0)
                return -EINVAL;
        /* Endpoints that stay keep their health, quota and references. */
        for (size_t i = 0; i < n; i++) {
                bool stays = false;
                for (size_t k = 0; k < p->n && !stays; k++) {
                        struct endpoint *old = p->ep[k];
                        if (!old || strcmp(old->id, v[i]->id))
                                continue;
                        struct endpoint fresh = *v[i];
                        free(v[i]);
                        v[i] = old;
                        /* New per-endpoint settings, old health. */
                        memcpy(old->host_header, fresh.host_header, sizeof(old->host_header));
                        memcpy(old->sni, fresh.sni, sizeof(old->sni));
                        memcpy(old->account, fresh.account, sizeof(old->account));
                        old->text = fresh.text;
                        old->sni_set = fresh.sni_set;
                        p->ep[k] = NULL;
                        stays = true;
                }
                if (!stays)
                        log_info("endpoint %s: added to the pool", v[i]->name);
        }
        for (size_t k = 0; k < p->n; k++) {
                struct endpoint *old = p->ep[k];
                if (!old)
                        continue;
                log_info("endpoint %s: removed from the pool", old->name);
                old->removed = true;
                if (!old->refs) {
                        ep_free(old);
                        continue;
                }
                struct endpoint **g = realloc(p->gone, (p->ngone + 1) * sizeof(*g));
                if (g) {
                        p->gone = g;
                        p->gone[p->ngone++] = old;
                }
        }
        free(p->ep);
        p->ep = v;
        p->n = n;
        p->cfg = cfg;
        p->turn = 0;
        state_load(p);
        return 0;
}

void ep_hold(struct endpoint *e)
{
        e->refs++;
}

void ep_release(struct endpoint *e)
{
        struct pool *p = e->pool;

        if (--e->refs || !e->removed)
                return;
        for (size_t i = 0; i < p->ngone; i++) {
                if (p->gone[i] == e) {
                        p->gone[i] = p->gone[--p->ngone];
                        break;
                }
        }
        ep_free(e);
}

/* ---- choice ---- */

bool ep_usable(const struct endpoint *e, uint64_t now, uint64_t wall)
{
        return !e->removed && e->bench_until <= now && e->quota_until <= wall;
}

bool pool_has_usable(struct pool *p, enum ep_kind kind)
{
        uint64_t now = now_ms(p), wall = tunnel_wall_ms();

        for (size_t i = 0; i < p->n; i++)
                if ((p->ep[i]->kind & kind) && ep_usable(p->ep[i], now, wall))
                        return true;
        return false;
}

/* Whether a new request may go to <e> now, as far as its backoff goes;
 * if not, *wait shrinks to when it may (a trial in flight: when it ends). */
static bool ep_ready(const struct endpoint *e, uint64_t now, uint64_t *wait)
{
        if (!e->backoff_ms)
                return true;
        if (e->trials)
                return false;
        if (e->retry_at <= now)
                return true;
        if (e->retry_at - now < *wait)
                *wait = e->retry_at - now;
        return false;
}

/* <wait> non-NULL: only endpoints ready for a request (ep_ready). */
static struct endpoint *pick(struct pool *p, enum ep_kind kind, bool take, uint64_t *wait)
{
        uint64_t now = now_ms(p), wall = tunnel_wall_ms();
        struct endpoint *best = NULL, *fallback = NULL;
        uint64_t best_score = UINT64_MAX;

        if (wait)
                *wait = UINT64_MAX;
        for (size_t k = 0; k < p->n; k++) {
                struct endpoint *e = p->ep[(p->turn + k) % p->n];
                if (!(e->kind & kind))
                        continue;
                if (wait && !ep_ready(e, now, wait))
                        continue;
                /* An endpoint that failed gets one trial once its time is
                 * up (blacklisted: its benching; else `blacklist` seconds),
                 * or it would never be tried while the others work. */
                if (take && e->fails && !e->inflight && ep_usable(e, now, wall) &&
                    now - e->last_fail_ms >= (uint64_t)p->cfg->blacklist * 1000) {
                        log_debug("endpoint %s: a trial after %u failures", e->name, e->fails);
                        return e;
                }
                if (!ep_usable(e, now, wall)) {
                        /* Set aside: the least recently failed one, a
                         * quarantined one only if nothing else. */
                        bool q = e->quota_until > wall,
                             fq = fallback && fallback->quota_until > wall;
                        if (!fallback || (fq && !q) ||
                            (fq == q && (q ? e->quota_until < fallback->quota_until
                                           : e->last_fail_ms < fallback->last_fail_ms)))
                                fallback = e;
                        continue;
                }
                uint64_t score = (e->rtt_ms ? e->rtt_ms : RTT_UNKNOWN_MS) +
                                 (uint64_t)FAIL_PENALTY * e->fails +
                                 (uint64_t)LOAD_PENALTY * e->inflight;
                if (score < best_score) {
                        best = e;
                        best_score = score;
                }
        }
        if (!take)
                return best ? best : fallback;
        p->turn = p->n ? (p->turn + 1) % p->n : 0;
        if (!best && fallback && fallback->bench_until > now) {
                /* Known to be down: said once already (ep_down). */
                log_at(fallback->down ? LOGL_DEBUG : LOGL_INFO,
                       "endpoint %s: every endpoint is set aside; trying this one early",
                       fallback->name);
                fallback->bench_until = now;
        }
        return best ? best : fallback;
}

struct endpoint *pool_pick(struct pool *p, enum ep_kind kind)
{
        return pick(p, kind, true, NULL);
}

struct endpoint *pool_pick_ready(struct pool *p, enum ep_kind kind, uint64_t *wait_ms)
{
        return pick(p, kind, true, wait_ms);
}

struct endpoint *pool_peek(struct pool *p, enum ep_kind kind)
{
        return pick(p, kind, false, NULL);
}

/* ---- health ---- */

void ep_success(struct endpoint *e, uint32_t rtt_ms)
{
        if (e->down)
                log_info("endpoint %s: up again after %llu failure%s in %.1f s", e->name,
                         (unsigned long long)e->down_fails, e->down_fails == 1 ? "" : "s",
                         (double)(now_ms(e->pool) - e->down_since) / 1000);
        else if (e->benchings)
                log_info("endpoint %s: up again", e->name);
        e->down = false;
        e->fails = 0;
        e->benchings = 0;
        e->bench_until = 0;
        e->backoff_ms = 0;
        e->retry_at = 0;
        if (rtt_ms && rtt_ms < 2000) /* a slow outlier says little about the path */
                e->rtt_ms = e->rtt_ms ? (e->rtt_ms * 7 + rtt_ms) / 8 : rtt_ms;
        if (!e->rtt_ms && rtt_ms)
                e->rtt_ms = rtt_ms;
}

void ep_failure(struct endpoint *e, const char *why)
{
        struct pool *p = e->pool;
        const struct config_client *cfg = p->cfg;
        uint64_t now = now_ms(p);

        e->fails++;
        e->last_fail_ms = now;
        /* Setting aside the only endpoint would change nothing. */
        if (e->fails < (unsigned)cfg->blacklist_after || e->removed || p->n < 2)
                return;
        /* Benched: the first time after blacklist_after failures in a row,
         * again at each failure of its trial once the time is up. */
        if (e->bench_until > now)
                return;
        uint64_t base = (uint64_t)cfg->blacklist * 1000, cap = (uint64_t)cfg->blacklist_max * 1000;
        uint64_t d = backoff_step(0, base, cap);
        for (unsigned i = 0; i < e->benchings && d < cap; i++)
                d = backoff_step(d, base, cap);
        d = pool_jitter(d, cap);
        /* The first benching is news; the next ones follow each failed
         * trial (one per try once every endpoint is set aside): the
         * summary of ep_down() tells of them. */
        log_at(e->benchings ? LOGL_DEBUG : LOGL_WARN,
               "endpoint %s: set aside for %.1f s after %u failures in a row (last: %s)", e->name,
               (double)d / 1000, e->fails, why);
        e->benchings++;
        e->bench_until = now + d;
}

uint64_t ep_backoff(struct endpoint *e, unsigned gen)
{
        const struct config_client *cfg = e->pool->cfg;
        uint64_t now = now_ms(e->pool), base = (uint64_t)cfg->reconnect_delay,
                 cap = (uint64_t)cfg->max_reconnect_delay * 1000;

        if (gen == e->backoff_gen) {
                e->backoff_ms = backoff_step(e->backoff_ms, base, cap);
                e->retry_at = now + pool_jitter(e->backoff_ms, cap);
                e->backoff_gen++;
        }
        return e->retry_at > now ? e->retry_at - now : 0;
}

void ep_down(struct endpoint *e, const char *why, uint64_t next_ms)
{
        uint64_t now = now_ms(e->pool);
        char aside[48] = "";

        if (!e->down) {
                e->down = true;
                e->down_since = now;
                e->down_fails = 1;
                e->summary_ms = now;
                e->summary_fails = 1;
                log_warn("endpoint %s: down (%s), retrying with backoff; next try in %llu ms",
                         e->name, why, (unsigned long long)next_ms);
                return;
        }
        e->down_fails++;
        if (now - e->summary_ms < EP_SUMMARY_MS)
                return;
        if (e->bench_until > now)
                snprintf(aside, sizeof(aside), "; set aside for %.1f s more",
                         (double)(e->bench_until - now) / 1000);
        log_warn("endpoint %s: still down: %llu failures in the last %llu s (last: %s); next try "
                 "in %llu ms%s",
                 e->name, (unsigned long long)(e->down_fails - e->summary_fails),
                 (unsigned long long)((now - e->summary_ms) / 1000), why,
                 (unsigned long long)next_ms, aside);
        e->summary_ms = now;
        e->summary_fails = e->down_fails;
}

void ep_quota(struct endpoint *e, uint64_t until_ms, const char *why)
{
        struct pool *p = e->pool;
        uint64_t wall = tunnel_wall_ms();
        bool logged = false;

        for (size_t i = 0; i < p->n; i++) {
                struct endpoint *o = p->ep[i];
                if (o != e && (!e->account[0] || strcmp(o->account, e->account)))
                        continue;
                if (o->quota_until >= until_ms)
                        continue;
                if (o->quota_until <= wall) {
                        log_warn("endpoint %s: %s; resting for %llu s%s%s%s", o->name, why,
                                 (unsigned long long)((until_ms - wall + 999) / 1000),
                                 e->account[0] ? " (account " : "", e->account,
                                 e->account[0] ? ")" : "");
                        logged = true;
                }
                o->quota_until = until_ms;
        }
        if (logged)
                state_save(p);
}

uint64_t pool_quota_reset_ms(uint64_t now_ms)
{
        const uint64_t day = 86400000, at = 8 * 3600000; /* 00:00 PST = 08:00 UTC */
        uint64_t next = now_ms - now_ms % day + at;

        return next > now_ms ? next : next + day;
}
