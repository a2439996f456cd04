/* echo: loopback echo server on the reactor and a checking client. */
#include "tools/echo.h"

#include "core/stream_gen.h"
#include "core/timer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct echo_conn {
        struct echo_server *s;
        int paused;
};

static void conn_recv(struct rconn *c, void *ud, const uint8_t *data, size_t len)
{
        struct echo_conn *e = ud;

        if (reactor_send(c, data, len) < 0) {
                reactor_conn_close(c, REACTOR_CLOSE_RESET);
                return;
        }
        if (!e->paused && reactor_conn_queued(c) > e->s->high_water) {
                e->paused = 1;
                e->s->pauses++;
                reactor_conn_pause(c);
        }
}

static void conn_drain(struct rconn *c, void *ud)
{
        struct echo_conn *e = ud;

        if (e->paused) {
                e->paused = 0;
                reactor_conn_resume(c);
        }
}

static void conn_eof(struct rconn *c, void *ud)
{
        (void)ud;
        reactor_conn_close(c, REACTOR_CLOSE_FLUSH);
}

static void conn_error(struct rconn *c, void *ud, int err)
{
        (void)ud;
        (void)err;
        reactor_conn_close(c, REACTOR_CLOSE_RESET);
}

static void conn_close(struct rconn *c, void *ud)
{
        struct echo_conn *e = ud;

        (void)c;
        e->s->open--;
        e->s->closed++;
        free(e);
}

static const struct rconn_ops echo_conn_ops = {
    .on_recv = conn_recv,
    .on_drain = conn_drain,
    .on_eof = conn_eof,
    .on_error = conn_error,
    .on_close = conn_close,
};

static void listener_accept(struct rconn *l, void *ud, int fd)
{
        struct echo_server *s = ud;
        struct echo_conn *e = calloc(1, sizeof(*e));

        (void)l;
        if (s->sndbuf)
                setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s->sndbuf, sizeof(s->sndbuf));
        if (!e || reactor_conn_add(s->r, fd, &echo_conn_ops, e, NULL) < 0) {
                free(e);
                close(fd);
                return;
        }
        e->s = s;
        s->open++;
}

static const struct rconn_ops listener_ops = {.on_accept = listener_accept};

int echo_server_start(struct echo_server *s, struct reactor *r, uint16_t port)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        socklen_t len = sizeof(sa);
        int one = 1, ret;

        s->r = r;
        if (!s->high_water)
                s->high_water = 1 << 20;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0 ||
            getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
                ret = -errno;
                close(fd);
                return ret;
        }
        s->port = ntohs(sa.sin_port);
        ret = reactor_listen(r, fd, &listener_ops, s, &s->listener);
        if (ret < 0)
                close(fd);
        return ret;
}

void echo_server_stop(struct echo_server *s)
{
        if (s->listener)
                reactor_conn_close(s->listener, REACTOR_CLOSE_NOW);
        s->listener = NULL;
}

/* ---- client ---- */

struct writer {
        struct echo_client *c;
        int fd;
        int err;
};

static void *writer_main(void *arg)
{
        struct writer *w = arg;
        struct echo_client *c = w->c;
        uint8_t *buf = malloc(c->chunk);
        uint64_t off = 0;

        while (buf && off < c->total) {
                size_t n = c->total - off < c->chunk ? (size_t)(c->total - off) : c->chunk;
                stream_gen_fill(c->key, off, buf, n);
                size_t done = 0;
                while (done < n) {
                        ssize_t k = send(w->fd, buf + done, n - done, MSG_NOSIGNAL);
                        if (k < 0) {
                                if (errno == EINTR)
                                        continue;
                                w->err = errno;
                                goto out;
                        }
                        done += (size_t)k;
                }
                off += n;
        }
        shutdown(w->fd, SHUT_WR);
out:
        free(buf);
        return NULL;
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void echo_client_run(struct echo_client *c)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(c->port)};
        struct writer w = {.c = c, .fd = -1};
        pthread_t tid;
        size_t cap = 256 * 1024;
        uint8_t *buf = malloc(cap);
        double t0 = now_s();

        c->ok = 0;
        c->received = 0;
        c->err = 0;
        if (!c->chunk)
                c->chunk = 64 * 1024;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        w.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (!buf || w.fd < 0)
                goto fail;
        if (c->rcvbuf)
                setsockopt(w.fd, SOL_SOCKET, SO_RCVBUF, &c->rcvbuf, sizeof(c->rcvbuf));
        if (connect(w.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                goto fail;
        if (pthread_create(&tid, NULL, writer_main, &w) != 0)
                goto fail;
        c->ok = 1;
        for (;;) {
                ssize_t k = recv(w.fd, buf, cap, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        c->err = errno;
                        c->ok = 0;
                        break;
                }
                if (k == 0)
                        break;
                if (c->ok &&
                    stream_gen_check(c->key, c->received, buf, (size_t)k, &c->bad_offset) < 0)
                        c->ok = 0;
                c->received += (uint64_t)k;
        }
        pthread_join(tid, NULL);
        if (w.err)
                c->err = w.err;
        if (c->received != c->total || c->err) {
                if (c->ok)
                        c->bad_offset = c->received;
                c->ok = 0;
        }
        goto out;
fail:
        c->err = errno;
        c->ok = 0;
out:
        c->seconds = now_s() - t0;
        if (w.fd >= 0)
                close(w.fd);
        free(buf);
        atomic_store(&c->done, 1);
}

void *echo_client_thread(void *arg)
{
        echo_client_run(arg);
        return NULL;
}

int echo_run_until_done(struct reactor *r, struct echo_client *cl, unsigned n, unsigned timeout_ms)
{
        uint64_t deadline = timer_now_ms() + timeout_ms;

        for (;;) {
                unsigned done = 0;
                for (unsigned i = 0; i < n; i++)
                        done += (unsigned)atomic_load(&cl[i].done);
                if (done == n)
                        return 0;
                if (timer_now_ms() > deadline)
                        return -ETIMEDOUT;
                int ret = reactor_run_once(r, 20);
                if (ret < 0)
                        return ret;
        }
}
