/* bench: metrics, keys, dialing and the per-run CPU/RSS watch. */
#include "bench.h"

#include "core/bytes.h"
#include "core/stream_gen.h"
#include "tools/socks_dial.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

void metric_set(struct metrics *m, const char *name, double v)
{
        for (unsigned i = 0; i < m->n; i++) {
                if (strcmp(m->m[i].name, name) == 0) {
                        m->m[i].v = v;
                        return;
                }
        }
        if (m->n < BENCH_MAX_METRICS) {
                snprintf(m->m[m->n].name, sizeof(m->m[0].name), "%.39s", name);
                m->m[m->n++].v = v;
        }
}

double metric_get(const struct metrics *m, const char *name, double dflt)
{
        for (unsigned i = 0; i < m->n; i++)
                if (strcmp(m->m[i].name, name) == 0)
                        return m->m[i].v;
        return dflt;
}

double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t bench_key(struct bench *b)
{
        /* Distinct per session and per run of the program. */
        return __atomic_add_fetch(&b->key_seq, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED);
}

unsigned bench_io_timeout_s = 30;

int bench_dial(struct bench *b, uint16_t port, char *err, size_t errlen)
{
        uint8_t rep;
        int fd = socks_dial(b->socks, "127.0.0.1", port, 1, &rep);

        if (fd >= 0) {
                struct timeval tv = {.tv_sec = bench_io_timeout_s};
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        }
        if (fd < 0 && err) {
                if (rep == 0xff)
                        snprintf(err, errlen, "connect %s: %s", b->socks ? "to the proxy" : "",
                                 strerror(errno));
                else
                        snprintf(err, errlen, "the proxy refused the CONNECT (SOCKS5 reply %u)",
                                 rep);
        }
        return fd;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

void add_percentiles(struct metrics *m, const char *prefix, double *us, unsigned n)
{
        static const unsigned ps[] = {50, 95, 99};
        char name[40];
        double sum = 0;

        if (!n)
                return;
        qsort(us, n, sizeof(*us), cmp_double);
        for (unsigned i = 0; i < 3; i++) {
                snprintf(name, sizeof(name), "%sp%u_us", prefix, ps[i]);
                metric_set(m, name, us[(size_t)ps[i] * (n - 1) / 100]);
        }
        for (unsigned i = 0; i < n; i++)
                sum += us[i];
        snprintf(name, sizeof(name), "%smean_us", prefix);
        metric_set(m, name, sum / n);
}

void watch_begin(struct bench *b)
{
        for (unsigned i = 0; i < b->nwatch; i++) {
                proc_reset_peak(b->watch[i].pid);
                proc_sample(b->watch[i].pid, &b->watch[i].at_start);
        }
}

void watch_end(struct bench *b, struct metrics *m)
{
        double total = 0;
        char name[48];

        for (unsigned i = 0; i < b->nwatch; i++) {
                struct proc_sample s;
                if (proc_sample(b->watch[i].pid, &s) < 0) {
                        snprintf(m->err, sizeof(m->err), "the %s process (pid %d) is gone",
                                 b->watch[i].role, (int)b->watch[i].pid);
                        continue;
                }
                double cpu = s.cpu_s - b->watch[i].at_start.cpu_s;
                total += cpu;
                snprintf(name, sizeof(name), "%s_cpu_s", b->watch[i].role);
                metric_set(m, name, cpu);
                snprintf(name, sizeof(name), "%s_peak_rss_kb", b->watch[i].role);
                metric_set(m, name, (double)s.peak_kb);
        }
        if (b->nwatch)
                metric_set(m, "cpu_s", total);
}

/* One echo exchange of len bytes of stream <key> at <off>; checks the
 * answer. Returns 0 or -1 with err filled. */
int bench_echo(int fd, uint64_t key, uint64_t off, size_t len, char *err, size_t errlen)
{
        uint8_t out[256], in[256];
        uint64_t bad;

        stream_gen_fill(key, off, out, len);
        if (io_write_all(fd, out, len) < 0 || io_read_all(fd, in, len) < 0) {
                snprintf(err, errlen, "echo: %s", strerror(errno));
                return -1;
        }
        if (stream_gen_check(key, off, in, len, &bad) != 0) {
                snprintf(err, errlen, "echo: wrong byte at offset %llu", (unsigned long long)bad);
                return -1;
        }
        return 0;
}

int bench_send_header(int fd, uint64_t key, uint64_t len)
{
        uint8_t h[16];
        put_be64(h, key);
        put_be64(h + 8, len);
        return io_write_all(fd, h, sizeof(h));
}
