/* test_dns: the exit's resolver (exit/dns.h) against a fake DNS server on
 * 127.0.0.1 (fake_dns.h). Answers, the cache (proved by counting packets at
 * the server), negative caching, timeouts that do not hold up other names,
 * shared lookups, cancellation, and literals that never reach DNS. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "core/reactor.h"
#include "core/timer.h"
#include "exit/dns.h"
#include "fake_dns.h"

static const struct fake_dns_name names[] = {
    {"one.test", FAKE_DNS_ANSWER, 60, {"93.184.216.34"}},
    {"three.test", FAKE_DNS_ANSWER, 60, {"198.51.100.9", "93.184.216.35", "2606:2800:220:1::9"}},
    {"v6only.test", FAKE_DNS_ANSWER, 60, {"2606:2800:220:1::7"}},
    {"empty.test", FAKE_DNS_ANSWER, 60, {NULL}},
    {"silent.test", FAKE_DNS_SILENT, 60, {NULL}},
    {"fail.test", FAKE_DNS_SERVFAIL, 60, {NULL}},
    {"short.test", FAKE_DNS_ANSWER, 0, {"93.184.216.36"}},
    {"long.test", FAKE_DNS_ANSWER, 3600, {"93.184.216.37"}},
    {"a.test", FAKE_DNS_ANSWER, 60, {"93.184.216.40"}},
    {"b.test", FAKE_DNS_ANSWER, 60, {"93.184.216.41"}},
    {"c.test", FAKE_DNS_ANSWER, 60, {"93.184.216.42"}},
    {"big.test", FAKE_DNS_TRUNCATE, 60, {"93.184.216.50", "2606:2800:220:1::50"}},
};

struct got {
        int calls, status;
        size_t n;
        struct sockaddr_storage addrs[DNS_MAX_ADDRS];
        uint64_t at;
};

static void on_dns(void *arg, int status, const struct sockaddr_storage *addrs, size_t n)
{
        struct got *g = arg;

        g->calls++;
        g->status = status;
        g->n = n;
        cr_assert_leq(n, DNS_MAX_ADDRS);
        memcpy(g->addrs, addrs, n * sizeof(*addrs));
        g->at = timer_now_ms();
}

struct env {
        struct reactor *r;
        struct dns *d;
        struct fake_dns srv;
};

static void env_start(struct env *e, struct dns_conf conf)
{
        char why[256];

        memset(e, 0, sizeof(*e));
        if (reactor_new(&e->r, NULL, why, sizeof(why)) < 0)
                cr_skip_test("io_uring unavailable: %s", why);
        cr_assert_eq(fake_dns_start(&e->srv, names, sizeof(names) / sizeof(names[0])), 0);
        conf.servers = e->srv.servers; /* never anything but 127.0.0.1 */
        cr_assert_eq(dns_new(&e->d, e->r, &conf), 0);
}

static void env_stop(struct env *e)
{
        dns_free(e->d);
        reactor_free(e->r);
        fake_dns_stop(&e->srv);
}

/* Runs the loop until every <g> has its callback or <max_ms> pass. */
static void run_until(struct env *e, struct got **g, size_t n, unsigned max_ms)
{
        uint64_t end = timer_now_ms() + max_ms;

        for (;;) {
                size_t done = 0;

                for (size_t i = 0; i < n; i++)
                        done += g[i]->calls > 0;
                if (done == n || timer_now_ms() >= end)
                        return;
                cr_assert_eq(reactor_run_once(e->r, 10), 0);
        }
}

static void run_for(struct env *e, unsigned ms)
{
        uint64_t end = timer_now_ms() + ms;

        while (timer_now_ms() < end)
                cr_assert_eq(reactor_run_once(e->r, 10), 0);
}

/* Resolves <name> and waits for the answer. */
static void resolve(struct env *e, const char *name, struct got *g)
{
        struct dns_query *q;

        memset(g, 0, sizeof(*g));
        cr_assert_eq(dns_resolve(e->d, name, on_dns, g, &q), 0, "%s", name);
        cr_assert_not_null(q);
        cr_assert_eq(g->calls, 0, "%s: callback ran inside dns_resolve", name);
        run_until(e, &g, 1, 3000);
        cr_assert_eq(g->calls, 1, "%s: no answer", name);
}

static int has_addr(const struct got *g, const char *ip)
{
        uint8_t want[16];
        int v6 = strchr(ip, ':') != NULL;

        cr_assert_eq(inet_pton(v6 ? AF_INET6 : AF_INET, ip, want), 1);
        for (size_t i = 0; i < g->n; i++) {
                const struct sockaddr_storage *ss = &g->addrs[i];

                if (!v6 && ss->ss_family == AF_INET &&
                    !memcmp(&((const struct sockaddr_in *)ss)->sin_addr, want, 4))
                        return 1;
                if (v6 && ss->ss_family == AF_INET6 &&
                    !memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, want, 16))
                        return 1;
        }
        return 0;
}

static const struct dns_conf fast = {.timeout_ms = 300, .tries = 1};

Test(dns, resolves_a_and_aaaa)
{
        struct env e;
        struct got g;

        env_start(&e, fast);
        resolve(&e, "three.test", &g);
        cr_assert_eq(g.status, 0);
        cr_assert_eq(g.n, 3);
        cr_assert(has_addr(&g, "198.51.100.9"));
        cr_assert(has_addr(&g, "93.184.216.35"));
        cr_assert(has_addr(&g, "2606:2800:220:1::9"));
        cr_assert_eq(fake_dns_count(&e.srv, "three.test"), 2, "one A and one AAAA question");

        resolve(&e, "v6only.test", &g);
        cr_assert_eq(g.status, 0);
        cr_assert_eq(g.n, 1);
        cr_assert(has_addr(&g, "2606:2800:220:1::7"));
        env_stop(&e);
}

/* The TCP fallback reads the length prefix and the answer in two calls;
 * both arrive in one segment, so the second read has no new wake-up. */
Test(dns, truncated_answer_retried_over_tcp)
{
        struct env e;
        struct got g;

        env_start(&e, fast);
        uint64_t t0 = timer_now_ms();
        resolve(&e, "big.test", &g);
        cr_assert_eq(g.status, 0, "status %d", g.status);
        cr_assert_eq(g.n, 2);
        cr_assert(has_addr(&g, "93.184.216.50"));
        cr_assert(has_addr(&g, "2606:2800:220:1::50"));
        cr_assert_geq(atomic_load(&e.srv.tcp), 2, "never asked over TCP");
        cr_assert_lt(g.at - t0, 250, "stalled until a timeout: %llu ms",
                     (unsigned long long)(g.at - t0));
        env_stop(&e);
}

Test(dns, second_lookup_from_cache_without_a_packet)
{
        struct env e;
        struct got g;

        env_start(&e, fast);
        resolve(&e, "one.test", &g);
        cr_assert_eq(g.status, 0);
        cr_assert_eq(g.n, 1);
        cr_assert(has_addr(&g, "93.184.216.34"));
        unsigned before = atomic_load(&e.srv.total);

        resolve(&e, "one.test", &g);
        cr_assert_eq(g.status, 0);
        cr_assert(has_addr(&g, "93.184.216.34"));
        /* Case and a trailing dot do not make another name. */
        resolve(&e, "ONE.Test.", &g);
        cr_assert_eq(g.status, 0);
        cr_assert_eq(atomic_load(&e.srv.total), before, "the cache let a question through");
        cr_assert_eq(dns_stats(e.d)->cache_hits, 2);
        cr_assert_eq(dns_stats(e.d)->queries, 1);
        env_stop(&e);
}

Test(dns, nxdomain_is_enoent_and_cached)
{
        struct env e;
        struct got g;

        env_start(&e, fast);
        resolve(&e, "nope.test", &g);
        cr_assert_eq(g.status, -ENOENT);
        cr_assert_eq(g.n, 0);
        unsigned asked = atomic_load(&e.srv.unknown);
        cr_assert_geq(asked, 1);

        resolve(&e, "nope.test", &g);
        cr_assert_eq(g.status, -ENOENT);
        cr_assert_eq(atomic_load(&e.srv.unknown), asked, "negative answer not cached");
        cr_assert_eq(dns_stats(e.d)->failures, 1);
        cr_assert_eq(dns_stats(e.d)->cache_hits, 1);

        /* A name with no address at all is "no such name" too. */
        resolve(&e, "empty.test", &g);
        cr_assert_eq(g.status, -ENOENT);
        env_stop(&e);
}

Test(dns, negative_answer_expires)
{
        struct env e;
        struct got g;

        env_start(&e, (struct dns_conf){.timeout_ms = 300, .tries = 1, .neg_ttl_ms = 150});
        resolve(&e, "nope.test", &g);
        unsigned asked = atomic_load(&e.srv.unknown);
        usleep(200 * 1000);
        resolve(&e, "nope.test", &g);
        cr_assert_eq(g.status, -ENOENT);
        cr_assert_gt(atomic_load(&e.srv.unknown), asked, "expired negative answer still used");
        env_stop(&e);
}

Test(dns, servfail_is_eagain_and_not_cached)
{
        struct env e;
        struct got g;

        env_start(&e, fast);
        resolve(&e, "fail.test", &g);
        cr_assert_eq(g.status, -EAGAIN);
        unsigned asked = fake_dns_count(&e.srv, "fail.test");
        cr_assert_geq(asked, 1);
        resolve(&e, "fail.test", &g);
        cr_assert_eq(g.status, -EAGAIN);
        cr_assert_gt(fake_dns_count(&e.srv, "fail.test"), asked, "a transient failure was cached");
        env_stop(&e);
}

Test(dns, silent_name_times_out_without_holding_up_others)
{
        struct env e;
        struct got bad = {0}, good = {0};
        struct got *both[] = {&bad, &good};
        struct dns_query *q1, *q2;

        env_start(&e, fast);
        uint64_t t0 = timer_now_ms();
        cr_assert_eq(dns_resolve(e.d, "silent.test", on_dns, &bad, &q1), 0);
        cr_assert_eq(dns_resolve(e.d, "one.test", on_dns, &good, &q2), 0);
        run_until(&e, both, 2, 5000);
        cr_assert_eq(good.calls, 1);
        cr_assert_eq(good.status, 0);
        cr_assert_lt(good.at - t0, 200, "good name took %llu ms",
                     (unsigned long long)(good.at - t0));
        cr_assert_eq(bad.calls, 1);
        cr_assert_eq(bad.status, -ETIMEDOUT);
        cr_assert_geq(bad.at - t0, 250, "timed out early: %llu ms",
                      (unsigned long long)(bad.at - t0));
        cr_assert_lt(bad.at - t0, 1500, "timed out late: %llu ms",
                     (unsigned long long)(bad.at - t0));

        /* A timeout is not cached: the next lookup asks again. */
        unsigned asked = fake_dns_count(&e.srv, "silent.test");
        struct got again;
        resolve(&e, "silent.test", &again);
        cr_assert_eq(again.status, -ETIMEDOUT);
        cr_assert_gt(fake_dns_count(&e.srv, "silent.test"), asked);
        env_stop(&e);
}

Test(dns, concurrent_lookups_share_one_query)
{
        struct env e;
        struct got g1 = {0}, g2 = {0};
        struct got *both[] = {&g1, &g2};
        struct dns_query *q1, *q2;

        env_start(&e, fast);
        cr_assert_eq(dns_resolve(e.d, "three.test", on_dns, &g1, &q1), 0);
        cr_assert_eq(dns_resolve(e.d, "three.test", on_dns, &g2, &q2), 0);
        run_until(&e, both, 2, 3000);
        cr_assert_eq(g1.status, 0);
        cr_assert_eq(g2.status, 0);
        cr_assert_eq(g1.n, 3);
        cr_assert_eq(g2.n, 3);
        cr_assert_eq(fake_dns_count(&e.srv, "three.test"), 2, "asked twice");
        cr_assert_eq(dns_stats(e.d)->shared, 1);
        cr_assert_eq(dns_stats(e.d)->queries, 1);
        env_stop(&e);
}

Test(dns, cancel_means_no_callback)
{
        struct env e;
        struct got g1 = {0}, g2 = {0}, g3 = {0}, warm;
        struct dns_query *q1, *q2, *q3;

        env_start(&e, fast);
        /* A waiter on a lookup in flight; the other waiter still hears. */
        cr_assert_eq(dns_resolve(e.d, "silent.test", on_dns, &g1, &q1), 0);
        cr_assert_eq(dns_resolve(e.d, "silent.test", on_dns, &g2, &q2), 0);
        dns_cancel(q1);
        /* A cache hit waiting for delivery. */
        resolve(&e, "one.test", &warm);
        cr_assert_eq(dns_resolve(e.d, "one.test", on_dns, &g3, &q3), 0);
        dns_cancel(q3);
        run_for(&e, 600);
        cr_assert_eq(g1.calls, 0);
        cr_assert_eq(g3.calls, 0);
        cr_assert_eq(g2.calls, 1);
        cr_assert_eq(g2.status, -ETIMEDOUT);
        env_stop(&e);
}

Test(dns, literals_never_reach_dns)
{
        static const char *const lits[] = {"127.0.0.1", "::1", "2001:db8::1", "::ffff:10.0.0.1"};
        struct env e;
        struct got g;

        env_start(&e, fast);
        for (size_t i = 0; i < 4; i++) {
                resolve(&e, lits[i], &g);
                cr_assert_eq(g.status, 0, "%s", lits[i]);
                cr_assert_eq(g.n, 1);
                cr_assert(has_addr(&g, lits[i]), "%s", lits[i]);
        }
        cr_assert_eq(dns_stats(e.d)->literals, 4);
        cr_assert_eq(atomic_load(&e.srv.total), 0, "a literal went to DNS");
        env_stop(&e);
}

Test(dns, bad_names_refused_without_dns)
{
        static const char *const bad[] = {
            "",      ".",          "a..b",      "bad name", "a/b",   "x\x01y",       "1.2.3",
            "127.1", "2130706433", "1.2.3.4.5", ":::",      "[::1]", "fe80::1%eth0", "-",
            "a.b..", "-a.test",    "a-.test",   "a.test-",
        };
        char longlabel[80], longname[300];
        struct env e;
        struct dns_query *q;
        struct got g = {0};

        env_start(&e, fast);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_assert_eq(dns_resolve(e.d, bad[i], on_dns, &g, &q), -EINVAL, "\"%s\"", bad[i]);
        memset(longlabel, 'a', 64);
        strcpy(longlabel + 64, ".test");
        cr_assert_eq(dns_resolve(e.d, longlabel, on_dns, &g, &q), -EINVAL);
        for (size_t i = 0; i < 255; i++) /* "a.a. ... .a": 255 bytes, 253 is the limit */
                longname[i] = i % 2 ? '.' : 'a';
        longname[255] = '\0';
        cr_assert_eq(dns_resolve(e.d, longname, on_dns, &g, &q), -EINVAL);
        run_for(&e, 50);
        cr_assert_eq(g.calls, 0, "a refused name got a callback");
        cr_assert_eq(atomic_load(&e.srv.total), 0);
        env_stop(&e);
}

Test(dns, ttl_clamped_both_ways)
{
        struct env e;
        struct got g;

        env_start(&e, (struct dns_conf){
                          .timeout_ms = 300, .tries = 1, .ttl_min_ms = 150, .ttl_max_ms = 300});
        /* TTL 0 is kept for ttl_min, then asked again. */
        resolve(&e, "short.test", &g);
        unsigned asked = fake_dns_count(&e.srv, "short.test");
        resolve(&e, "short.test", &g);
        cr_assert_eq(fake_dns_count(&e.srv, "short.test"), asked, "TTL 0 not held for ttl_min");
        usleep(200 * 1000);
        resolve(&e, "short.test", &g);
        cr_assert_gt(fake_dns_count(&e.srv, "short.test"), asked);

        /* TTL 3600 is cut to ttl_max. */
        resolve(&e, "long.test", &g);
        asked = fake_dns_count(&e.srv, "long.test");
        usleep(100 * 1000);
        resolve(&e, "long.test", &g);
        cr_assert_eq(fake_dns_count(&e.srv, "long.test"), asked);
        usleep(300 * 1000);
        resolve(&e, "long.test", &g);
        cr_assert_eq(g.status, 0);
        cr_assert_gt(fake_dns_count(&e.srv, "long.test"), asked, "TTL not capped at ttl_max");
        env_stop(&e);
}

Test(dns, cache_bounded_oldest_evicted)
{
        struct env e;
        struct got g;

        env_start(&e, (struct dns_conf){.timeout_ms = 300, .tries = 1, .cache_max = 2});
        resolve(&e, "a.test", &g);
        resolve(&e, "b.test", &g);
        resolve(&e, "c.test", &g);
        cr_assert_eq(dns_stats(e.d)->evictions, 1);
        unsigned a = fake_dns_count(&e.srv, "a.test"), c = fake_dns_count(&e.srv, "c.test");
        resolve(&e, "c.test", &g);
        cr_assert_eq(fake_dns_count(&e.srv, "c.test"), c, "newest entry evicted");
        resolve(&e, "a.test", &g);
        cr_assert_eq(g.status, 0);
        cr_assert_gt(fake_dns_count(&e.srv, "a.test"), a, "oldest entry not evicted");
        env_stop(&e);
}

struct freeing {
        struct dns **d;
        int calls;
};

static void free_in_callback(void *arg, int status, const struct sockaddr_storage *a, size_t n)
{
        struct freeing *f = arg;

        (void)status, (void)a, (void)n;
        f->calls++;
        dns_free(*f->d);
        *f->d = NULL;
}

Test(dns, free_with_queries_outstanding_and_from_a_callback)
{
        struct env e;
        struct got g = {0}, warm;
        struct dns_query *q;
        struct freeing f1 = {.d = &e.d}, f2 = {.d = &e.d};

        env_start(&e, fast);
        cr_assert_eq(dns_resolve(e.d, "silent.test", on_dns, &g, &q), 0);
        dns_free(e.d);
        run_for(&e, 100);
        cr_assert_eq(g.calls, 0);

        cr_assert_eq(dns_new(&e.d, e.r, &(struct dns_conf){.servers = e.srv.servers}), 0);
        resolve(&e, "one.test", &warm);
        cr_assert_eq(dns_resolve(e.d, "one.test", free_in_callback, &f1, &q), 0);
        cr_assert_eq(dns_resolve(e.d, "one.test", free_in_callback, &f2, &q), 0);
        run_for(&e, 100);
        cr_assert_eq(f1.calls + f2.calls, 1, "a callback ran after dns_free");
        cr_assert_null(e.d);
        reactor_free(e.r);
        fake_dns_stop(&e.srv);
}
