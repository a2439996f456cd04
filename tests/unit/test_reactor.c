/* Reactor on real loopback sockets: every transfer is content-checked with
 * core/stream_gen, and the kernel paths (short sends, ENOBUFS, cancellation,
 * connect timeout, accept/close churn) are forced, not assumed. */
#include <criterion/criterion.h>

#include "core/reactor.h"
#include "tools/echo.h"

#include <arpa/inet.h>
#include <liburing.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static struct reactor *new_reactor(const struct reactor_conf *conf)
{
        struct reactor *r = NULL;
        char why[256];
        int ret = reactor_new(&r, conf, why, sizeof(why));
        if (ret < 0)
                cr_skip_test("io_uring unavailable: %s", why);
        return r;
}

/* Echoes <total> bytes through a reactor echo server; asserts byte-exact. */
static void echo_once(struct reactor *r, struct echo_server *s, uint64_t total, int rcvbuf,
                      uint64_t key)
{
        struct echo_client c = {.port = s->port, .total = total, .key = key, .rcvbuf = rcvbuf};
        pthread_t t;

        cr_assert_eq(pthread_create(&t, NULL, echo_client_thread, &c), 0);
        cr_assert_eq(echo_run_until_done(r, &c, 1, 120000), 0, "echo did not finish");
        pthread_join(t, NULL);
        cr_assert_eq(c.err, 0, "socket error: %s", strerror(c.err));
        cr_assert(c.ok, "first bad byte at offset %llu of %llu (received %llu)",
                  (unsigned long long)c.bad_offset, (unsigned long long)total,
                  (unsigned long long)c.received);
        cr_assert_eq(c.received, total);
}

Test(reactor, echo_64mib_byte_exact)
{
        struct reactor *r = new_reactor(NULL);
        struct echo_server s = {.high_water = 256 * 1024};

        cr_assert_eq(echo_server_start(&s, r, 0), 0);
        echo_once(r, &s, 64ull << 20, 0, 0x1234);
        const struct reactor_stats *st = reactor_stats(r);
        cr_assert_geq(st->bytes_in, 64ull << 20);
        cr_assert_geq(st->bytes_out, 64ull << 20);
        cr_assert_eq(st->cq_overflow, 0);
        reactor_free(r);
}

Test(reactor, short_sends_resubmit_tail_in_order)
{
        struct reactor *r = new_reactor(NULL);
        /* A tiny send buffer on the server side and a slow, small receive
         * buffer on the client side force the kernel to take partial sends. */
        struct echo_server s = {.high_water = 4 << 20, .sndbuf = 4096};

        cr_assert_eq(echo_server_start(&s, r, 0), 0);
        echo_once(r, &s, 16ull << 20, 4096, 0x5151);
        const struct reactor_stats *st = reactor_stats(r);
        cr_assert_gt(st->short_sends, 0, "no short send was forced");
        reactor_free(r);
}

Test(reactor, enobufs_with_two_buffers_loses_nothing)
{
        struct reactor_conf conf = {.buf_count = 2, .buf_size = 4096};
        struct reactor *r = new_reactor(&conf);
        struct echo_server s = {.high_water = 1 << 20};

        cr_assert_eq(echo_server_start(&s, r, 0), 0);
        echo_once(r, &s, 32ull << 20, 0, 0xe0b0f5);
        const struct reactor_stats *st = reactor_stats(r);
        cr_assert_gt(st->enobufs, 0, "the 2-buffer ring never ran dry");
        cr_assert_gt(st->rearms, 0);
        reactor_free(r);
}

Test(reactor, backpressure_pauses_and_resumes)
{
        struct reactor *r = new_reactor(NULL);
        struct echo_server s = {.high_water = 64 * 1024};

        cr_assert_eq(echo_server_start(&s, r, 0), 0);
        /* The client reads slowly through a small buffer: the server's send
         * queue fills and it must stop reading, then start again. */
        echo_once(r, &s, 16ull << 20, 8192, 0xbacc);
        cr_assert_gt(s.pauses, 0, "backpressure never engaged");
        reactor_free(r);
}

Test(reactor, several_clients_no_crosstalk)
{
        struct reactor *r = new_reactor(NULL);
        struct echo_server s = {0};
        struct echo_client c[8];
        pthread_t t[8];

        cr_assert_eq(echo_server_start(&s, r, 0), 0);
        for (int i = 0; i < 8; i++) {
                memset(&c[i], 0, sizeof(c[i]));
                c[i].port = s.port;
                c[i].total = 4ull << 20;
                c[i].key = 1000 + (uint64_t)i;
                c[i].chunk = 1000 + 777 * (size_t)i;
                cr_assert_eq(pthread_create(&t[i], NULL, echo_client_thread, &c[i]), 0);
        }
        cr_assert_eq(echo_run_until_done(r, c, 8, 120000), 0);
        for (int i = 0; i < 8; i++) {
                pthread_join(t[i], NULL);
                cr_assert(c[i].ok, "client %d: bad byte at %llu", i,
                          (unsigned long long)c[i].bad_offset);
        }
        reactor_free(r);
}

/* ---- teardown with operations in flight ---- */

static unsigned closed_count;

static void count_close(struct rconn *c, void *ud)
{
        (void)c;
        (void)ud;
        closed_count++;
}

static const struct rconn_ops count_ops = {.on_close = count_close};

Test(reactor, teardown_with_operations_in_flight)
{
        unsigned before = fd_count();
        struct reactor *r = new_reactor(NULL);
        enum { N = 40 };
        int peers[N];
        struct rconn *conns[N];
        static uint8_t junk[1 << 20];

        closed_count = 0;
        for (int i = 0; i < N; i++) {
                int sv[2];
                cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
                peers[i] = sv[1];
                cr_assert_eq(reactor_conn_add(r, sv[0], &count_ops, NULL, &conns[i]), 0);
                /* 4 MiB to a peer that never reads: sends stay in flight. */
                for (int k = 0; k < 4; k++)
                        cr_assert_eq(reactor_send(conns[i], junk, sizeof(junk)), 0);
        }
        for (int k = 0; k < 5; k++)
                reactor_run_once(r, 10);
        cr_assert_eq(closed_count, 0);
        for (int i = 0; i < N; i++)
                reactor_conn_close(conns[i], i % 3 == 0   ? REACTOR_CLOSE_NOW
                                             : i % 3 == 1 ? REACTOR_CLOSE_RESET
                                                          : REACTOR_CLOSE_FLUSH);
        /* FLUSH ones wait for a reader that never comes: escalate them. */
        for (int k = 0; k < 20 && closed_count < N; k++)
                reactor_run_once(r, 10);
        for (int i = 2; i < N; i += 3)
                reactor_conn_close(conns[i], REACTOR_CLOSE_RESET);
        for (int k = 0; k < 200 && closed_count < N; k++)
                reactor_run_once(r, 10);
        cr_assert_eq(closed_count, N, "only %u of %d closed", closed_count, N);
        cr_assert_eq(reactor_stats(r)->conns_open, 0);
        for (int i = 0; i < N; i++)
                close(peers[i]);
        reactor_free(r);
        cr_assert_eq(fd_count(), before, "fd leak: %u before, %u after", before, fd_count());
}

/* ---- accept/close churn ---- */

struct churn {
        struct reactor *r;
        unsigned accepted, closed;
};

static void churn_eof(struct rconn *c, void *ud)
{
        (void)ud;
        reactor_conn_close(c, REACTOR_CLOSE_NOW);
}

static void churn_close(struct rconn *c, void *ud)
{
        (void)c;
        ((struct churn *)ud)->closed++;
}

static const struct rconn_ops churn_conn_ops = {.on_eof = churn_eof, .on_close = churn_close};

static void churn_accept(struct rconn *l, void *ud, int fd)
{
        struct churn *ch = ud;

        (void)l;
        ch->accepted++;
        if (reactor_conn_add(ch->r, fd, &churn_conn_ops, ch, NULL) < 0)
                close(fd);
}

static const struct rconn_ops churn_listen_ops = {.on_accept = churn_accept};

static int listen_loopback(uint16_t *port, int backlog)
{
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert_geq(fd, 0);
        cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        cr_assert_eq(listen(fd, backlog), 0);
        cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        *port = ntohs(sa.sin_port);
        return fd;
}

Test(reactor, thousand_accept_close_cycles_no_fd_leak)
{
        unsigned before = fd_count();
        struct reactor *r = new_reactor(NULL);
        struct churn ch = {.r = r};
        struct rconn *l;
        uint16_t port;
        int lfd = listen_loopback(&port, 128);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert_eq(reactor_listen(r, lfd, &churn_listen_ops, &ch, &l), 0);
        for (unsigned i = 0; i < 1000; i++) {
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
                for (int k = 0; k < 1000 && ch.accepted <= i; k++)
                        reactor_run_once(r, 10);
                cr_assert_eq(ch.accepted, i + 1, "cycle %u: not accepted", i);
                close(fd);
                for (int k = 0; k < 1000 && ch.closed <= i; k++)
                        reactor_run_once(r, 10);
                cr_assert_eq(ch.closed, i + 1, "cycle %u: not closed", i);
        }
        reactor_conn_close(l, REACTOR_CLOSE_NOW);
        for (int k = 0; k < 100 && reactor_stats(r)->conns_open; k++)
                reactor_run_once(r, 10);
        cr_assert_eq(reactor_stats(r)->conns_open, 0);
        reactor_free(r);
        cr_assert_eq(fd_count(), before, "fd leak: %u before, %u after", before, fd_count());
}

/* max_conns bounds the slots; a freed slot is used again; slots are handed
 * out in order, so a large limit costs nothing until used. */
Test(reactor, slots_bounded_by_max_conns_and_reused)
{
        struct reactor_conf conf = {.max_conns = 4};
        struct reactor *r = new_reactor(&conf);
        struct churn ch = {.r = r};
        struct rconn *c[4];
        int sp[5][2];

        for (int i = 0; i < 5; i++)
                cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp[i]), 0);
        for (int i = 0; i < 4; i++)
                cr_assert_eq(reactor_conn_add(r, sp[i][0], &churn_conn_ops, &ch, &c[i]), 0);
        cr_assert_lt(reactor_conn_add(r, sp[4][0], &churn_conn_ops, &ch, NULL), 0,
                     "a fifth connection in four slots");
        reactor_conn_close(c[1], REACTOR_CLOSE_NOW);
        for (int k = 0; k < 100 && reactor_stats(r)->conns_open > 3; k++)
                reactor_run_once(r, 10);
        cr_assert_eq(reactor_stats(r)->conns_open, 3);
        cr_assert_eq(reactor_conn_add(r, sp[4][0], &churn_conn_ops, &ch, NULL), 0,
                     "the freed slot is used again");
        reactor_free(r);
        for (int i = 0; i < 5; i++)
                close(sp[i][1]);
}

/* ---- connect ---- */

struct dial {
        int done, res;
        unsigned closed;
};

static void dial_connect(struct rconn *c, void *ud, int res)
{
        struct dial *d = ud;

        d->done = 1;
        d->res = res;
        reactor_conn_close(c, REACTOR_CLOSE_NOW);
}

static void dial_close(struct rconn *c, void *ud)
{
        (void)c;
        ((struct dial *)ud)->closed++;
}

static const struct rconn_ops dial_ops = {.on_connect = dial_connect, .on_close = dial_close};

static int dial(struct reactor *r, uint16_t port, unsigned timeout_ms)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        struct dial d = {0};

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert_eq(
            reactor_connect(r, (struct sockaddr *)&sa, sizeof(sa), timeout_ms, &dial_ops, &d, NULL),
            0);
        for (int k = 0; k < 500 && !d.closed; k++)
                reactor_run_once(r, 10);
        cr_assert(d.done && d.closed, "connect never reported");
        return d.res;
}

Test(reactor, connect_success_refused_and_timeout)
{
        struct reactor *r = new_reactor(NULL);
        uint16_t port;
        int lfd = listen_loopback(&port, 16);

        cr_assert_eq(dial(r, port, 1000), 0);
        close(lfd);
        cr_assert_eq(dial(r, port, 1000), -ECONNREFUSED);

        /* A listener whose accept queue is full drops SYNs: the connect
         * hangs and only the linked timeout can end it. */
        lfd = listen_loopback(&port, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fill[4];
        for (int i = 0; i < 4; i++) {
                fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
        }
        uint64_t t0 = timer_now_ms();
        cr_assert_eq(dial(r, port, 300), -ETIMEDOUT);
        cr_assert_geq(timer_now_ms() - t0, 250);
        for (int i = 0; i < 4; i++)
                close(fill[i]);
        close(lfd);
        reactor_free(r);
}

/* ---- timers, stale completions ---- */

static char order[8];
static unsigned norder;

static void mark(struct timer *t, void *arg)
{
        (void)t;
        order[norder++] = *(const char *)arg;
}

Test(reactor, timers_fire_in_deadline_order_and_stop)
{
        struct reactor *r = new_reactor(NULL);
        struct timer a = {0}, b = {0}, c = {0};

        norder = 0;
        cr_assert_eq(reactor_timer_start(r, &a, 60, mark, "a"), 0);
        cr_assert_eq(reactor_timer_start(r, &b, 20, mark, "b"), 0);
        cr_assert_eq(reactor_timer_start(r, &c, 40, mark, "c"), 0);
        reactor_timer_stop(r, &c);
        uint64_t t0 = timer_now_ms();
        while (norder < 2 && timer_now_ms() - t0 < 2000)
                reactor_run_once(r, -1);
        cr_assert_eq(norder, 2);
        cr_assert_eq(order[0], 'b');
        cr_assert_eq(order[1], 'a');
        cr_assert_geq(timer_now_ms() - t0, 55);
        reactor_free(r);
}

Test(reactor, stale_completion_is_counted_and_buffer_returned)
{
        struct reactor *r = new_reactor(NULL);
        int sv[2];
        struct rconn *c;

        closed_count = 0;
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        cr_assert_eq(reactor_conn_add(r, sv[0], &count_ops, NULL, &c), 0);
        /* A completion from the slot's previous life carrying buffer 0. */
        reactor_inject_cqe(r, reactor_conn_recv_ud(c, -1), 100,
                           IORING_CQE_F_BUFFER | (0u << IORING_CQE_BUFFER_SHIFT));
        const struct reactor_stats *st = reactor_stats(r);
        cr_assert_eq(st->stale_cqes, 1);
        cr_assert_eq(st->stale_bufs, 1);
        cr_assert_eq(st->recvs, 0, "a stale completion reached the consumer");
        cr_assert_eq(closed_count, 0);
        reactor_conn_close(c, REACTOR_CLOSE_NOW);
        for (int k = 0; k < 100 && !closed_count; k++)
                reactor_run_once(r, 10);
        cr_assert_eq(closed_count, 1);
        close(sv[1]);
        reactor_free(r);
}

/* ---- poll watches (for c-ares) ---- */

static unsigned polls, poll_bits;

static void on_poll(void *arg, unsigned revents)
{
        int fd = *(int *)arg;
        char b[64];

        polls++;
        poll_bits |= revents;
        cr_assert_gt(read(fd, b, sizeof(b)), 0);
}

Test(reactor, poll_watch_fires_per_readiness_and_stops)
{
        unsigned before = fd_count();
        struct reactor *r = new_reactor(NULL);
        struct rconn *w;
        int p[2];

        polls = poll_bits = 0;
        cr_assert_eq(pipe(p), 0);
        cr_assert_eq(reactor_poll_start(r, p[0], POLLIN, on_poll, &p[0], &w), 0);
        for (int round = 1; round <= 3; round++) {
                cr_assert_eq(write(p[1], "x", 1), 1);
                for (int k = 0; k < 100 && polls < (unsigned)round; k++)
                        reactor_run_once(r, 10);
                cr_assert_eq(polls, (unsigned)round);
        }
        cr_assert(poll_bits & POLLIN);
        reactor_poll_stop(w);
        for (int k = 0; k < 100 && reactor_stats(r)->conns_open; k++)
                reactor_run_once(r, 10);
        cr_assert_eq(reactor_stats(r)->conns_open, 0);
        cr_assert_eq(write(p[1], "y", 1), 1);
        for (int k = 0; k < 5; k++)
                reactor_run_once(r, 10);
        cr_assert_eq(polls, 3, "a stopped watch fired");
        /* The fd is still the caller's and still open. */
        char b;
        cr_assert_eq(read(p[0], &b, 1), 1);
        close(p[0]);
        close(p[1]);
        reactor_free(r);
        cr_assert_eq(fd_count(), before);
}
