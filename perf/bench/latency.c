/* latency: round trips of small messages, on new sessions and on one.
 *
 * ttfb_p50_p95       a new session to the echo sink, then one byte there
 *                    and back; the clock starts after the SOCKS5 reply and
 *                    before the write (as GooseRelayVPN's harness), the
 *                    connect time is reported beside it.
 * ping_pong_64B      one session, 64-byte messages there and back.
 * sessions_per_sec   for a fixed time, one after another: open, one byte
 *                    there and back, close. The client speaks first: a
 *                    server-speaks-first target (GooseRelayVPN's "quick")
 *                    measures ss-local's 50 ms wait for a first byte
 *                    before it dials, not its speed.
 * ttfb_under_download  ttfb while one session downloads without pause.
 */
#include "bench.h"

#include "core/stream_gen.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* n ttfb samples into us[], connect times into conn_us[]. */
static int ttfb_samples(struct bench *b, unsigned n, double *us, double *conn_us, struct metrics *m)
{
        for (unsigned i = 0; i < n; i++) {
                double t0 = now_s();
                int fd = bench_dial(b, b->sink.echo, m->err, sizeof(m->err));
                if (fd < 0)
                        return -1;
                double t1 = now_s();
                int rc = bench_echo(fd, bench_key(b), 0, 1, m->err, sizeof(m->err));
                double t2 = now_s();
                close(fd);
                if (rc < 0)
                        return -1;
                us[i] = (t2 - t1) * 1e6;
                conn_us[i] = (t1 - t0) * 1e6;
        }
        return 0;
}

static void per_op_cpu(struct bench *b, struct metrics *m, const char *name, double ops)
{
        if (b->nwatch && ops > 0)
                metric_set(m, name, metric_get(m, "cpu_s", 0) / ops * 1e6);
}

int run_ttfb(struct bench *b, const struct scenario *sc, struct metrics *m)
{
        unsigned n = b->ttfb_samples;
        double *us = calloc(n, sizeof(double)), *conn = calloc(n, sizeof(double));
        (void)sc;

        watch_begin(b);
        int rc = us && conn ? ttfb_samples(b, n, us, conn, m) : -1;
        watch_end(b, m);
        if (rc == 0) {
                add_percentiles(m, "", us, n);
                add_percentiles(m, "connect_", conn, n);
                metric_set(m, "samples", n);
                per_op_cpu(b, m, "cpu_us_per_session", n);
        }
        free(us);
        free(conn);
        return rc;
}

int run_ping(struct bench *b, const struct scenario *sc, struct metrics *m)
{
        unsigned n = b->ping_samples, warm = n / 10 + 1;
        double *us = calloc(n, sizeof(double));
        uint64_t key = bench_key(b), off = 0;
        int fd = bench_dial(b, b->sink.echo, m->err, sizeof(m->err));
        int rc = fd < 0 || !us ? -1 : 0;
        (void)sc;

        for (unsigned i = 0; rc == 0 && i < warm; i++, off += 64)
                rc = bench_echo(fd, key, off, 64, m->err, sizeof(m->err));
        watch_begin(b);
        for (unsigned i = 0; rc == 0 && i < n; i++, off += 64) {
                double t0 = now_s();
                rc = bench_echo(fd, key, off, 64, m->err, sizeof(m->err));
                us[i] = (now_s() - t0) * 1e6;
        }
        watch_end(b, m);
        if (rc == 0) {
                add_percentiles(m, "", us, n);
                metric_set(m, "samples", n);
                per_op_cpu(b, m, "cpu_us_per_rt", n);
        }
        if (fd >= 0)
                close(fd);
        free(us);
        return rc;
}

int run_sessions(struct bench *b, const struct scenario *sc, struct metrics *m)
{
        unsigned ok = 0, fail = 0;
        double t0, end;
        char first_err[200] = "";
        (void)sc;

        watch_begin(b);
        t0 = now_s();
        end = t0 + b->sps_seconds;
        /* Bounded by time, and by count against a relay that fails fast. */
        while (now_s() < end && ok + fail < 10000000) {
                char err[200];
                int fd = bench_dial(b, b->sink.echo, err, sizeof(err));
                if (fd >= 0 && bench_echo(fd, bench_key(b), 0, 1, err, sizeof(err)) == 0) {
                        ok++;
                } else {
                        if (!first_err[0])
                                snprintf(first_err, sizeof(first_err), "%s", err);
                        fail++;
                }
                if (fd >= 0)
                        close(fd);
        }
        double secs = now_s() - t0;
        watch_end(b, m);
        metric_set(m, "per_sec", ok / secs);
        metric_set(m, "ok", ok);
        metric_set(m, "fail", fail);
        per_op_cpu(b, m, "cpu_us_per_session", ok);
        /* A few failures under churn are a figure; all failing is an error. */
        if (!ok || fail * 100 > ok)
                snprintf(m->err, sizeof(m->err), "%u of %u sessions failed, first: %s", fail,
                         ok + fail, first_err);
        return m->err[0] ? -1 : 0;
}

struct loader {
        struct bench *b;
        int stop;
        uint64_t bytes;
        char err[200];
};

/* Downloads size_1 bytes per session, again and again, until told to stop. */
static void *download_loop(void *arg)
{
        struct loader *l = arg;
        uint8_t *buf = malloc(256 * 1024);

        while (buf && !__atomic_load_n(&l->stop, __ATOMIC_RELAXED) && !l->err[0]) {
                uint64_t key = bench_key(l->b), len = l->b->size_1, off = 0, bad;
                int fd = bench_dial(l->b, l->b->sink.down, l->err, sizeof(l->err));
                if (fd < 0)
                        break;
                if (bench_send_header(fd, key, len) < 0)
                        snprintf(l->err, sizeof(l->err), "download: %s", strerror(errno));
                while (!l->err[0] && off < len && !__atomic_load_n(&l->stop, __ATOMIC_RELAXED)) {
                        ssize_t n = recv(fd, buf, 256 * 1024, 0);
                        if (n <= 0) {
                                snprintf(l->err, sizeof(l->err), "download: %s",
                                         n ? strerror(errno) : "closed early");
                        } else if (stream_gen_check(key, off, buf, (size_t)n, &bad) != 0) {
                                snprintf(l->err, sizeof(l->err),
                                         "download: wrong byte at offset %llu",
                                         (unsigned long long)bad);
                        } else {
                                off += (uint64_t)n;
                                __atomic_add_fetch(&l->bytes, (uint64_t)n, __ATOMIC_RELAXED);
                        }
                }
                close(fd);
        }
        free(buf);
        return NULL;
}

int run_ttfb_under_download(struct bench *b, const struct scenario *sc, struct metrics *m)
{
        unsigned n = b->ttfb_samples;
        double *us = calloc(n, sizeof(double)), *conn = calloc(n, sizeof(double));
        struct loader l = {.b = b};
        pthread_t t;
        (void)sc;

        if (!us || !conn || pthread_create(&t, NULL, download_loop, &l) != 0) {
                snprintf(m->err, sizeof(m->err), "cannot start the download");
                free(us);
                free(conn);
                return -1;
        }
        /* Let the download reach its pace first. */
        for (int i = 0;
             i < 100 && __atomic_load_n(&l.bytes, __ATOMIC_RELAXED) < (4u << 20) && !l.err[0]; i++)
                usleep(10000);
        watch_begin(b);
        uint64_t bytes0 = __atomic_load_n(&l.bytes, __ATOMIC_RELAXED);
        double t0 = now_s();
        int rc = ttfb_samples(b, n, us, conn, m);
        double secs = now_s() - t0;
        uint64_t moved = __atomic_load_n(&l.bytes, __ATOMIC_RELAXED) - bytes0;
        watch_end(b, m);
        __atomic_store_n(&l.stop, 1, __ATOMIC_RELAXED);
        pthread_join(t, NULL);
        if (l.err[0] && !m->err[0])
                snprintf(m->err, sizeof(m->err), "%s", l.err);
        if (rc == 0 && !m->err[0]) {
                add_percentiles(m, "", us, n);
                add_percentiles(m, "connect_", conn, n);
                metric_set(m, "samples", n);
                metric_set(m, "download_mb_per_sec", (double)moved / secs / 1e6);
        }
        free(us);
        free(conn);
        return m->err[0] ? -1 : 0;
}
