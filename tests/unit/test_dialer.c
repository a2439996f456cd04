/* test_dialer: OPEN target to connected socket (exit/dialer.h) on real
 * loopback, with names served by the fake DNS server (fake_dns.h). Checks
 * that bytes flow over what it hands back, that each failure maps to its
 * RST reason, that the egress policy stops a dial before any connect (the
 * listener sees nothing), that a black-holed target times out without
 * delaying another dial, suppression of failing targets, and that cancel
 * leaves no callback and no fd behind. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "core/reactor.h"
#include "core/timer.h"
#include "exit/dialer.h"
#include "exit/dns.h"
#include "fake_dns.h"

static const struct fake_dns_name names[] = {
    {"local.test", FAKE_DNS_ANSWER, 60, {"127.0.0.1"}},
    {"two.test", FAKE_DNS_ANSWER, 60, {"127.0.0.1", "127.0.0.2"}},
    {"mixed.test", FAKE_DNS_ANSWER, 60, {"10.0.0.1", "127.0.0.1"}},
    {"silent.test", FAKE_DNS_SILENT, 60, {NULL}},
};

struct env {
        struct reactor *r;
        struct dns *dns;
        struct dialer *d;
        struct fake_dns srv;
};

struct got {
        int calls;
        struct dial_result res;
        uint64_t at;
};

static void on_dial(void *arg, const struct dial_result *res)
{
        struct got *g = arg;

        g->calls++;
        g->res = *res;
        g->at = timer_now_ms();
}

static unsigned fd_count(void)
{
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;
        struct dirent *e;

        cr_assert_not_null(d);
        while ((e = readdir(d)))
                n += e->d_name[0] != '.';
        closedir(d);
        return n;
}

/* <allow>: NULL for the default policy, or one CIDR to opt back in. */
static void env_start(struct env *e, const char *allow, const struct dialer_conf *conf)
{
        struct egress_policy p;
        struct netaddr_cidr c;
        char why[256];

        memset(e, 0, sizeof(*e));
        if (reactor_new(&e->r, NULL, why, sizeof(why)) < 0)
                cr_skip_test("io_uring unavailable: %s", why);
        cr_assert_eq(fake_dns_start(&e->srv, names, sizeof(names) / sizeof(names[0])), 0);
        struct dns_conf dc = {.servers = e->srv.servers, .timeout_ms = 300, .tries = 1};
        cr_assert_eq(dns_new(&e->dns, e->r, &dc), 0);
        if (allow)
                cr_assert_eq(netaddr_cidr_parse(allow, &c, why, sizeof(why)), 0, "%s", why);
        cr_assert_eq(egress_init(&p, &c, allow ? 1 : 0), 0);
        cr_assert_eq(dialer_new(&e->d, e->r, e->dns, &p, conf), 0);
}

static void env_stop(struct env *e)
{
        dialer_free(e->d);
        dns_free(e->dns);
        reactor_free(e->r);
        fake_dns_stop(&e->srv);
}

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

/* A TCP socket on <ip>, port 0 chosen by the kernel, listening with
 * <backlog> (or not listening at all when backlog < 0). */
static int tcp_socket(const char *ip, int backlog, uint16_t *port)
{
        struct sockaddr_in sin = {.sin_family = AF_INET};
        socklen_t len = sizeof(sin);
        /* Nonblocking, so try_accept can look without waiting. */
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        cr_assert_geq(fd, 0);
        cr_assert_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
        if (*port)
                sin.sin_port = htons(*port);
        cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0, "bind %s: %s", ip,
                     strerror(errno));
        if (backlog >= 0)
                cr_assert_eq(listen(fd, backlog), 0);
        cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
        *port = ntohs(sin.sin_port);
        return fd;
}

/* Accepts without waiting: the fd, or -1 when nobody connected. */
static int try_accept(int l)
{
        int fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0)
                cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "accept: %s", strerror(errno));
        return fd;
}

static int accept_wait(int l)
{
        for (int i = 0; i < 200; i++) {
                int fd = try_accept(l);

                if (fd >= 0)
                        return fd;
                usleep(5000);
        }
        cr_assert_fail("no connection arrived");
        return -1;
}

static struct frame_target v4_target(const uint8_t ip[4], uint16_t port)
{
        return (struct frame_target){
            .atyp = FRAME_ATYP_IPV4, .addr_len = 4, .port = port, .addr = ip};
}

static struct frame_target name_target(const char *name, uint16_t port)
{
        return (struct frame_target){.atyp = FRAME_ATYP_DOMAIN,
                                     .addr_len = (uint8_t)strlen(name),
                                     .port = port,
                                     .addr = (const uint8_t *)name};
}

static const uint8_t lo[4] = {127, 0, 0, 1};

/* Dials and waits; asserts the callback came later, once. */
static void dial(struct env *e, const struct frame_target *t, unsigned timeout_ms, struct got *g)
{
        struct dial *h;

        memset(g, 0, sizeof(*g));
        cr_assert_eq(dialer_dial(e->d, t, timeout_ms, on_dial, g, &h), 0);
        cr_assert_not_null(h);
        cr_assert_eq(g->calls, 0, "callback ran inside dialer_dial");
        run_until(e, &g, 1, timeout_ms + 3000);
        cr_assert_eq(g->calls, 1, "no result");
}

/* Bytes both ways between the dialed fd and the accepted one. */
static void bytes_flow(int dialed, int accepted)
{
        char buf[16];

        cr_assert_eq(write(dialed, "ping", 4), 4);
        cr_assert_eq(fcntl(accepted, F_SETFL, 0), 0);
        cr_assert_eq(read(accepted, buf, sizeof(buf)), 4);
        cr_assert_eq(memcmp(buf, "ping", 4), 0);
        cr_assert_eq(write(accepted, "pong", 4), 4);
        cr_assert_eq(fcntl(dialed, F_SETFL, 0), 0);
        cr_assert_eq(read(dialed, buf, sizeof(buf)), 4);
        cr_assert_eq(memcmp(buf, "pong", 4), 0);
}

Test(dialer, connects_to_allowed_loopback_and_bytes_flow)
{
        struct env e;
        struct got g;
        uint16_t port = 0;

        env_start(&e, "127.0.0.0/8", NULL);
        int l = tcp_socket("127.0.0.1", 16, &port);
        struct frame_target t = v4_target(lo, port);

        dial(&e, &t, 2000, &g);
        cr_assert_eq(g.res.reason, 0);
        cr_assert_geq(g.res.fd, 0);
        cr_assert(fcntl(g.res.fd, F_GETFL) & O_NONBLOCK);
        cr_assert(fcntl(g.res.fd, F_GETFD) & FD_CLOEXEC);
        cr_assert_eq(g.res.addr.ss_family, AF_INET);
        cr_assert_eq(ntohs(((struct sockaddr_in *)&g.res.addr)->sin_port), port);
        int a = accept_wait(l);
        bytes_flow(g.res.fd, a);
        cr_assert_eq(dialer_stats(e.d)->successes, 1);
        cr_assert_eq(dialer_stats(e.d)->attempts, 1);
        close(a);
        close(g.res.fd);
        close(l);
        env_stop(&e);
}

Test(dialer, closed_port_is_refused)
{
        struct env e;
        struct got g;
        uint16_t port = 0;

        env_start(&e, "127.0.0.0/8", NULL);
        int s = tcp_socket("127.0.0.1", -1, &port); /* bound, not listening */
        struct frame_target t = v4_target(lo, port);

        dial(&e, &t, 2000, &g);
        cr_assert_eq(g.res.reason, FRAME_RST_REFUSED);
        cr_assert_eq(g.res.err, -ECONNREFUSED);
        cr_assert_eq(g.res.fd, -1);
        cr_assert_eq(dialer_stats(e.d)->by_reason[FRAME_RST_REFUSED], 1);
        close(s);
        env_stop(&e);
}

Test(dialer, loopback_denied_without_allow_list_and_never_connected)
{
        static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
        struct env e;
        struct got g;
        uint16_t port = 0;

        env_start(&e, NULL, NULL);
        int l = tcp_socket("127.0.0.1", 16, &port);
        struct frame_target t4 = v4_target(lo, port);
        struct frame_target t6 = {
            .atyp = FRAME_ATYP_IPV6, .addr_len = 16, .port = port, .addr = mapped};
        struct frame_target tn = name_target("local.test", port);

        dial(&e, &t4, 2000, &g);
        cr_assert_eq(g.res.reason, FRAME_RST_NOT_ALLOWED);
        dial(&e, &t6, 2000, &g);
        cr_assert_eq(g.res.reason, FRAME_RST_NOT_ALLOWED);
        dial(&e, &tn, 2000, &g); /* checked after resolution */
        cr_assert_eq(g.res.reason, FRAME_RST_NOT_ALLOWED);
        struct frame_target tl = name_target("127.0.0.1", port); /* a literal as a name */
        dial(&e, &tl, 2000, &g);
        cr_assert_eq(g.res.reason, FRAME_RST_NOT_ALLOWED);
        cr_assert_eq(g.res.fd, -1);
        usleep(50 * 1000);
        cr_assert_eq(try_accept(l), -1, "the listener saw a connection");
        cr_assert_eq(dialer_stats(e.d)->attempts, 0);
        cr_assert_eq(dialer_stats(e.d)->denied_addrs, 4);
        /* The policy is not the target's fault: no suppression, ever. */
        for (int i = 0; i < 4; i++) {
                dial(&e, &t4, 2000, &g);
                cr_assert_not(g.res.suppressed);
        }
        cr_assert_eq(dialer_stats(e.d)->suppressed, 0);
        close(l);
        env_stop(&e);
}

Test(dialer, name_resolved_then_connected_with_allow_list)
{
        struct env e;
        struct got g;
        uint16_t port = 0;

        env_start(&e, "127.0.0.0/8", NULL);
        int l = tcp_socket("127.0.0.1", 16, &port);
        struct frame_target t = name_target("local.test", port);

        dial(&e, &t, 2000, &g);
        cr_assert_eq(g.res.reason, 0, "reason %u err %d", g.res.reason, g.res.err);
        int a = accept_wait(l);
        bytes_flow(g.res.fd, a);
        cr_assert_eq(fake_dns_count(&e.srv, "local.test"), 2);
        close(a);
        close(g.res.fd);
        close(l);
        env_stop(&e);
}

Test(dialer, denied_addresses_skipped_allowed_one_used)
{
        struct env e;
        struct got g;
        uint16_t port = 0;

        env_start(&e, "127.0.0.0/8", NULL);
        int l = tcp_socket("127.0.0.1", 16, &port);
        struct frame_target t = name_target("mixed.test", port); /* 10.0.0.1, 127.0.0.1 */

        dial(&e, &t, 2000, &g);
        cr_assert_eq(g.res.reason, 0);
        cr_assert_eq(dialer_stats(e.d)->denied_addrs, 1);
        cr_assert_eq(dialer_stats(e.d)->attempts, 1, "10.0.0.1 was tried");
        close(accept_wait(l));
        close(g.res.fd);
        close(l);
        env_stop(&e);
}

Test(dialer, next_address_after_a_fast_failure)
{
        struct env e;
        struct got g;
        uint16_t port = 0;

        env_start(&e, "127.0.0.0/8", NULL);
        /* 127.0.0.2 listens; the same port on 127.0.0.1 refuses. */
        int l = tcp_socket("127.0.0.2", 16, &port);
        struct frame_target t = name_target("two.test", port);

        dial(&e, &t, 2000, &g);
        cr_assert_eq(g.res.reason, 0, "reason %u err %d", g.res.reason, g.res.err);
        cr_assert_eq(dialer_stats(e.d)->attempts, 2);
        struct sockaddr_in *in = (struct sockaddr_in *)&g.res.addr;
        cr_assert_eq(ntohl(in->sin_addr.s_addr), 0x7f000002);
        close(accept_wait(l));
        close(g.res.fd);
        close(l);
        env_stop(&e);
}

Test(dialer, unknown_or_bad_name_is_host_unreachable)
{
        struct env e;
        struct got g;

        env_start(&e, "127.0.0.0/8", NULL);
        struct frame_target t = name_target("nope.test", 80);
        dial(&e, &t, 2000, &g);
        cr_assert_eq(g.res.reason, FRAME_RST_HOST_UNREACH);
        cr_assert_eq(g.res.err, -ENOENT);
        t = name_target("bad name", 80);
        dial(&e, &t, 2000, &g);
        cr_assert_eq(g.res.reason, FRAME_RST_HOST_UNREACH);
        cr_assert_eq(dialer_stats(e.d)->attempts, 0);
        env_stop(&e);
}

Test(dialer, dns_phase_counts_against_the_deadline)
{
        struct env e;
        struct got g;

        env_start(&e, "127.0.0.0/8", NULL);
        struct frame_target t = name_target("silent.test", 80);
        uint64_t t0 = timer_now_ms();
        dial(&e, &t, 150, &g); /* below the resolver's own 300 ms */
        cr_assert_eq(g.res.reason, FRAME_RST_TIMEOUT);
        cr_assert_geq(g.at - t0, 140);
        cr_assert_lt(g.at - t0, 280, "took %llu ms", (unsigned long long)(g.at - t0));
        env_stop(&e);
}

/* A listener whose accept queue is full: the kernel drops further SYNs, so
 * a connect to it neither succeeds nor fails until the client gives up. */
static int blackhole(uint16_t *port, int *fillers, size_t n)
{
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int l = tcp_socket("127.0.0.1", 0, port);

        sin.sin_port = htons(*port);
        for (size_t i = 0; i < n; i++) {
                fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                cr_assert_geq(fillers[i], 0);
                connect(fillers[i], (struct sockaddr *)&sin, sizeof(sin));
        }
        usleep(50 * 1000);
        return l;
}

Test(dialer, black_hole_times_out_while_a_good_dial_completes)
{
        struct env e;
        struct got bad = {0}, good = {0};
        struct got *both[] = {&bad, &good};
        struct dial *h1, *h2;
        uint16_t bport = 0, gport = 0;
        int fillers[3];

        env_start(&e, "127.0.0.0/8", NULL);
        int bl = blackhole(&bport, fillers, 3);
        int gl = tcp_socket("127.0.0.1", 16, &gport);
        struct frame_target tb = v4_target(lo, bport), tg = v4_target(lo, gport);

        uint64_t t0 = timer_now_ms();
        cr_assert_eq(dialer_dial(e.d, &tb, 400, on_dial, &bad, &h1), 0);
        cr_assert_eq(dialer_dial(e.d, &tg, 400, on_dial, &good, &h2), 0);
        run_until(&e, both, 2, 3000);
        cr_assert_eq(good.calls, 1);
        cr_assert_eq(good.res.reason, 0);
        cr_assert_lt(good.at - t0, 200, "good dial took %llu ms",
                     (unsigned long long)(good.at - t0));
        cr_assert_eq(bad.calls, 1);
        cr_assert_eq(bad.res.reason, FRAME_RST_TIMEOUT, "reason %u", bad.res.reason);
        cr_assert_eq(bad.res.err, -ETIMEDOUT);
        cr_assert_geq(bad.at - t0, 390);
        cr_assert_lt(bad.at - t0, 1000);
        close(good.res.fd);
        for (int i = 0; i < 3; i++)
                close(fillers[i]);
        close(bl);
        close(gl);
        env_stop(&e);
}

/* Each address gets an equal share of the time left: a black-holed first
 * address costs half the deadline, not all of it. */
Test(dialer, black_holed_first_address_leaves_time_for_the_next)
{
        struct env e;
        struct got g;
        uint16_t port = 0;
        int fillers[3];

        env_start(&e, "127.0.0.0/8", NULL);
        int bl = blackhole(&port, fillers, 3); /* 127.0.0.1:port */
        int l = tcp_socket("127.0.0.2", 16, &port);
        struct frame_target t = name_target("two.test", port);

        uint64_t t0 = timer_now_ms();
        dial(&e, &t, 600, &g);
        cr_assert_eq(g.res.reason, 0, "reason %u err %d", g.res.reason, g.res.err);
        cr_assert_eq(dialer_stats(e.d)->attempts, 2);
        cr_assert_geq(g.at - t0, 290, "first address not given its share");
        cr_assert_lt(g.at - t0, 500, "took %llu ms", (unsigned long long)(g.at - t0));
        close(accept_wait(l));
        close(g.res.fd);
        for (int i = 0; i < 3; i++)
                close(fillers[i]);
        close(bl);
        close(l);
        env_stop(&e);
}

Test(dialer, failing_target_suppressed_then_probed)
{
        struct dialer_conf conf = {.backoff_min_ms = 300, .backoff_max_ms = 2000};
        struct env e;
        struct got g;
        uint16_t port = 0, other = 0;

        env_start(&e, "127.0.0.0/8", &conf);
        int s = tcp_socket("127.0.0.1", -1, &port);
        int o = tcp_socket("127.0.0.1", 16, &other);
        struct frame_target t = v4_target(lo, port), to = v4_target(lo, other);

        for (int i = 0; i < 3; i++) {
                dial(&e, &t, 2000, &g);
                cr_assert_eq(g.res.reason, FRAME_RST_REFUSED);
                cr_assert_not(g.res.suppressed);
        }
        /* Now it listens, but the dialer does not even try. */
        cr_assert_eq(listen(s, 16), 0);
        dial(&e, &t, 2000, &g);
        cr_assert_eq(g.res.reason, FRAME_RST_REFUSED);
        cr_assert(g.res.suppressed);
        cr_assert_eq(dialer_stats(e.d)->suppressed, 1);
        cr_assert_eq(dialer_stats(e.d)->attempts, 3);
        usleep(50 * 1000);
        cr_assert_eq(try_accept(s), -1, "a suppressed dial connected");
        /* Another port of the same host is another target. */
        dial(&e, &to, 2000, &g);
        cr_assert_eq(g.res.reason, 0);
        close(g.res.fd);
        close(accept_wait(o));

        /* After the back-off a dial goes through, and its success clears it. */
        usleep(350 * 1000);
        dial(&e, &t, 2000, &g);
        cr_assert_eq(g.res.reason, 0);
        close(g.res.fd);
        close(accept_wait(s));
        close(s);
        close(o);
        env_stop(&e);
}

Test(dialer, suppression_backoff_doubles)
{
        struct dialer_conf conf = {.backoff_min_ms = 200, .backoff_max_ms = 2000};
        struct env e;
        struct got g;
        uint16_t port = 0;

        env_start(&e, "127.0.0.0/8", &conf);
        int s = tcp_socket("127.0.0.1", -1, &port);
        struct frame_target t = v4_target(lo, port);

        for (int i = 0; i < 3; i++)
                dial(&e, &t, 2000, &g);
        usleep(250 * 1000);
        dial(&e, &t, 2000, &g); /* the probe, refused again: 400 ms now */
        cr_assert_not(g.res.suppressed);
        cr_assert_eq(g.res.reason, FRAME_RST_REFUSED);
        usleep(250 * 1000);
        dial(&e, &t, 2000, &g);
        cr_assert(g.res.suppressed, "back-off did not double");
        usleep(250 * 1000);
        dial(&e, &t, 2000, &g);
        cr_assert_not(g.res.suppressed, "back-off more than doubled");
        close(s);
        env_stop(&e);
}

Test(dialer, cancel_means_no_callback_and_no_fd_left)
{
        struct env e;
        struct got g1 = {0}, g2 = {0}, g3 = {0}, g4 = {0}, warm;
        struct dial *h1, *h2, *h3, *h4;
        uint16_t bport = 0, gport = 0;
        int fillers[3];

        env_start(&e, "127.0.0.0/8", NULL);
        int bl = blackhole(&bport, fillers, 3);
        int gl = tcp_socket("127.0.0.1", 16, &gport);
        struct frame_target tb = v4_target(lo, bport), tg = v4_target(lo, gport);
        struct frame_target ts = name_target("silent.test", 80);
        /* Warm the resolver up: c-ares keeps its socket open afterwards. */
        struct frame_target tw = name_target("nope.test", 80);
        dial(&e, &tw, 2000, &warm);
        cr_assert_eq(warm.res.reason, FRAME_RST_HOST_UNREACH);
        unsigned before = fd_count();

        /* Connecting to a black hole, resolving, and connecting (or already
         * connected, not yet delivered) to a listener. */
        cr_assert_eq(dialer_dial(e.d, &tb, 2000, on_dial, &g1, &h1), 0);
        cr_assert_eq(dialer_dial(e.d, &ts, 2000, on_dial, &g2, &h2), 0);
        cr_assert_eq(dialer_dial(e.d, &tg, 2000, on_dial, &g3, &h3), 0);
        cr_assert_eq(dialer_dial(e.d, &tg, 2000, on_dial, &g4, &h4), 0);
        cr_assert_gt(fd_count(), before);
        dialer_cancel(h1);
        dialer_cancel(h2);
        dialer_cancel(h3);
        run_until(&e, (struct got *[]){&g4}, 1, 2000);
        cr_assert_eq(g4.res.reason, 0);
        close(g4.res.fd);
        run_for(&e, 700); /* past the resolver's timeout */
        cr_assert_eq(g1.calls + g2.calls + g3.calls, 0, "a cancelled dial called back");
        cr_assert_eq(dialer_stats(e.d)->cancelled, 3);
        cr_assert_eq(fd_count(), before, "fds leaked: %u -> %u", before, fd_count());

        /* dialer_free with dials in flight: no callbacks, nothing left open. */
        cr_assert_eq(dialer_dial(e.d, &tb, 2000, on_dial, &g1, &h1), 0);
        cr_assert_eq(dialer_dial(e.d, &ts, 2000, on_dial, &g2, &h2), 0);
        dialer_free(e.d);
        e.d = NULL;
        run_for(&e, 100);
        cr_assert_eq(g1.calls + g2.calls, 0);
        cr_assert_eq(fd_count(), before);
        for (int i = 0; i < 3; i++)
                close(fillers[i]);
        while (1) {
                int a = try_accept(gl);
                if (a < 0)
                        break;
                close(a);
        }
        close(bl);
        close(gl);
        env_stop(&e);
}

Test(dialer, malformed_targets_refused_at_once)
{
        struct env e;
        struct got g = {0};
        struct dial *h;

        env_start(&e, "127.0.0.0/8", NULL);
        struct frame_target t = v4_target(lo, 80);
        t.atyp = 9;
        cr_assert_eq(dialer_dial(e.d, &t, 100, on_dial, &g, &h), -EINVAL);
        t = v4_target(lo, 0);
        cr_assert_eq(dialer_dial(e.d, &t, 100, on_dial, &g, &h), -EINVAL);
        t = v4_target(lo, 80);
        t.addr_len = 16;
        cr_assert_eq(dialer_dial(e.d, &t, 100, on_dial, &g, &h), -EINVAL);
        t = (struct frame_target){.atyp = FRAME_ATYP_DOMAIN,
                                  .addr_len = 5,
                                  .port = 80,
                                  .addr = (const uint8_t *)"a\0b.c"};
        cr_assert_eq(dialer_dial(e.d, &t, 100, on_dial, &g, &h), -EINVAL);
        t.addr_len = 0;
        cr_assert_eq(dialer_dial(e.d, &t, 100, on_dial, &g, &h), -EINVAL);
        run_for(&e, 50);
        cr_assert_eq(g.calls, 0);
        cr_assert_eq(dialer_stats(e.d)->dials, 0);
        env_stop(&e);
}
