/* throughput: N sessions move size bytes each, one way, at the same time.
 *
 * Every session dials first; the clock starts when all are connected and
 * stops when the last one is done: for an upload when the sink has
 * answered with what it received and checked, for a download when the last
 * byte has arrived here and been checked.
 */
#include "bench.h"

#include "core/bytes.h"
#include "core/stream_gen.h"
#include "tools/socks_dial.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

struct xfer {
        struct bench *b;
        pthread_barrier_t *go;
        int up, fd;
        uint64_t key, len;
        double first_byte, end; /* seconds, monotonic */
        char err[200];
};

static void do_up(struct xfer *x, uint8_t *buf)
{
        uint8_t h[16];
        uint64_t off = 0;

        if (bench_send_header(x->fd, x->key, x->len) < 0)
                goto io;
        while (off < x->len) {
                size_t n = x->len - off < CHUNK ? (size_t)(x->len - off) : CHUNK;
                stream_gen_fill(x->key, off, buf, n);
                if (io_write_all(x->fd, buf, n) < 0)
                        goto io;
                off += n;
        }
        if (io_read_all(x->fd, h, sizeof(h)) < 0)
                goto io;
        x->end = now_s();
        if (get_be64(h + 8) != BENCH_NO_BAD)
                snprintf(x->err, sizeof(x->err), "upload: wrong byte at offset %llu",
                         (unsigned long long)get_be64(h + 8));
        else if (get_be64(h) != x->len)
                snprintf(x->err, sizeof(x->err), "upload: the sink got %llu of %llu bytes",
                         (unsigned long long)get_be64(h), (unsigned long long)x->len);
        return;
io:
        snprintf(x->err, sizeof(x->err), "upload: %s after %llu bytes sent", strerror(errno),
                 (unsigned long long)off);
}

static void do_down(struct xfer *x, uint8_t *buf)
{
        uint64_t off = 0, bad;

        if (bench_send_header(x->fd, x->key, x->len) < 0)
                goto io;
        while (off < x->len) {
                size_t want = x->len - off < CHUNK ? (size_t)(x->len - off) : CHUNK;
                ssize_t n = recv(x->fd, buf, want, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0)
                        errno = ECONNRESET;
                if (n <= 0)
                        goto io;
                if (!off)
                        x->first_byte = now_s();
                if (stream_gen_check(x->key, off, buf, (size_t)n, &bad) != 0) {
                        snprintf(x->err, sizeof(x->err), "download: wrong byte at offset %llu",
                                 (unsigned long long)bad);
                        return;
                }
                off += (uint64_t)n;
        }
        x->end = now_s();
        return;
io:
        snprintf(x->err, sizeof(x->err), "download: %s after %llu of %llu bytes", strerror(errno),
                 (unsigned long long)off, (unsigned long long)x->len);
}

static void *xfer_thread(void *arg)
{
        struct xfer *x = arg;
        uint8_t *buf = malloc(CHUNK);

        pthread_barrier_wait(x->go);
        if (x->fd >= 0 && buf) {
                if (x->up)
                        do_up(x, buf);
                else
                        do_down(x, buf);
        }
        free(buf);
        return NULL;
}

int run_throughput(struct bench *b, const struct scenario *sc, struct metrics *m)
{
        unsigned n = sc->sessions;
        uint64_t len = n == 1 ? b->size_1 : b->size_n;
        struct xfer *x = calloc(n, sizeof(*x));
        pthread_t *t = calloc(n, sizeof(*t));
        pthread_barrier_t go;
        unsigned started = 0;

        if (!x || !t) {
                snprintf(m->err, sizeof(m->err), "out of memory");
                goto out;
        }
        pthread_barrier_init(&go, NULL, n + 1);
        for (unsigned i = 0; i < n; i++) {
                x[i] =
                    (struct xfer){.b = b, .go = &go, .up = sc->up, .key = bench_key(b), .len = len};
                x[i].fd =
                    bench_dial(b, sc->up ? b->sink.up : b->sink.down, x[i].err, sizeof(x[i].err));
        }
        for (; started < n; started++)
                if (pthread_create(&t[started], NULL, xfer_thread, &x[started]) != 0)
                        break;
        if (started < n) {
                fprintf(stderr, "urelay-bench: cannot start %u threads\n", n);
                exit(1);
        }
        watch_begin(b);
        double t0 = now_s();
        pthread_barrier_wait(&go);
        for (unsigned i = 0; i < started; i++)
                pthread_join(t[i], NULL);
        double end = t0, first = 0;
        for (unsigned i = 0; i < n; i++) {
                if (x[i].fd >= 0)
                        close(x[i].fd);
                if (x[i].err[0] && !m->err[0])
                        snprintf(m->err, sizeof(m->err), "session %u: %s", i + 1, x[i].err);
                if (x[i].end > end)
                        end = x[i].end;
                if (x[i].first_byte > 0 && (!first || x[i].first_byte < first))
                        first = x[i].first_byte;
        }
        watch_end(b, m);
        pthread_barrier_destroy(&go);
        double secs = end - t0, total = (double)len * n;
        metric_set(m, "mb_per_sec", secs > 0 ? total / secs / 1e6 : 0);
        metric_set(m, "sessions", n);
        metric_set(m, "bytes_per_session", (double)len);
        metric_set(m, "duration_ms", secs * 1e3);
        if (!sc->up && first > 0)
                metric_set(m, "first_byte_us", (first - t0) * 1e6);
        if (b->nwatch) {
                double gib = total / (1024.0 * 1024 * 1024);
                metric_set(m, "cpu_s_per_gib", metric_get(m, "cpu_s", 0) / gib);
        }
out:
        free(x);
        free(t);
        return m->err[0] ? -1 : 0;
}
