/* relaycheck: end-to-end checker for a SOCKS5 relay, for the e2e tests.
 *
 *   relaycheck serve                      target server on 127.0.0.1; prints its port
 *   relaycheck run --socks P --target [HOST:]P [--sessions N] [--up BYTES]
 *                  [--down BYTES] [--early] [--read-rate B/s --read-for S]
 *                  [--timeout S]   (default 120: a stall fails instead of hanging)
 *                  [--expect-reset]  (every session must end with a reset,
 *                   every byte before it right: a relay that lost the
 *                   stream must never pass it off as a clean end)
 *   relaycheck probe --socks P --target HOST:P   prints the SOCKS5 reply code
 *   (--direct instead of --socks connects straight to the target: a check
 *   of the checker itself)
 *
 * Every session sends a 24-byte header (stream key, up bytes, down bytes),
 * then <up> bytes of the keyed stream (core/stream_gen), then shuts its
 * write side (half-close). The target checks the up stream as it arrives,
 * sends <down> bytes of the paired stream, and after the client's EOF a
 * status byte: 'K' if every up byte was right and the EOF came right after
 * them, 'X' otherwise. The client checks the down stream and the status and
 * names the first bad offset. --early pipelines the SOCKS5 greeting, the
 * request and the first data before reading any reply (write order).
 * --read-rate reads the down stream slowly, then aborts (slow reader).
 */
#include "core/bytes.h"
#include "core/stream_gen.h"
#include "tools/socks_dial.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static uint64_t down_key(uint64_t key)
{
        return key ^ 0xd0d0d0d0d0d0d0d0ull;
}

/* ---- target ---- */

struct tconn {
        int fd;
        uint64_t key, up, down;
};

static void *target_writer(void *arg)
{
        struct tconn *t = arg;
        uint8_t *buf = malloc(CHUNK);
        for (uint64_t off = 0; buf && off < t->down;) {
                size_t n = t->down - off < CHUNK ? (size_t)(t->down - off) : CHUNK;
                stream_gen_fill(down_key(t->key), off, buf, n);
                if (io_write_all(t->fd, buf, n) < 0)
                        break;
                off += n;
        }
        free(buf);
        return NULL;
}

static void *target_conn(void *arg)
{
        struct tconn *t = arg;
        uint8_t hdr[24], *buf = malloc(CHUNK);
        pthread_t w;
        uint64_t got = 0, bad;
        int ok = 1;

        if (!buf || io_read_all(t->fd, hdr, sizeof(hdr)) < 0)
                goto out;
        t->key = get_be64(hdr);
        t->up = get_be64(hdr + 8);
        t->down = get_be64(hdr + 16);
        pthread_create(&w, NULL, target_writer, t);
        for (;;) {
                ssize_t k = recv(t->fd, buf, CHUNK, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        ok &= k == 0; /* a reset is not a clean end */
                        break;
                }
                if (got + (uint64_t)k > t->up ||
                    (ok && stream_gen_check(t->key, got, buf, (size_t)k, &bad) < 0)) {
                        if (ok)
                                fprintf(stderr,
                                        "relaycheck target: key %llu: bad up byte near "
                                        "offset %llu\n",
                                        (unsigned long long)t->key, (unsigned long long)got);
                        ok = 0;
                }
                got += (uint64_t)k;
        }
        pthread_join(w, NULL);
        ok &= got == t->up;
        uint8_t status = ok ? 'K' : 'X';
        io_write_all(t->fd, &status, 1);
        shutdown(t->fd, SHUT_WR);
        while (recv(t->fd, buf, CHUNK, 0) > 0)
                ;
out:
        close(t->fd);
        free(buf);
        free(t);
        return NULL;
}

static int serve(void)
{
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t len = sizeof(sa);
        int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1024) < 0 ||
            getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
                perror("relaycheck serve");
                return 1;
        }
        printf("%u\n", ntohs(sa.sin_port));
        fflush(stdout);
        for (;;) {
                int fd = accept(lfd, NULL, NULL);
                if (fd < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                struct tconn *t = calloc(1, sizeof(*t));
                pthread_t th;
                t->fd = fd;
                pthread_create(&th, NULL, target_conn, t);
                pthread_detach(th);
        }
}

/* ---- client ---- */

struct opts {
        uint16_t socks;
        char host[256];
        uint16_t port;
        unsigned sessions;
        uint64_t up, down;
        int early, direct, expect_reset;
        uint64_t read_rate;
        unsigned read_for;
};

struct sess {
        const struct opts *o;
        unsigned idx;
        uint64_t key;
        int fd;
        char err[256];
        uint64_t down_got;
};

static int direct_connect(const struct opts *o, uint8_t *rep)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(o->port)};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        inet_pton(AF_INET, o->host, &sa.sin_addr);
        *rep = 0;
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                return fd;
        if (fd >= 0)
                close(fd);
        *rep = 0xff;
        return -1;
}

static int socks_connect(const struct opts *o, uint8_t *rep, const uint8_t *early, size_t nearly)
{
        if (o->direct)
                return direct_connect(o, rep);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(o->socks)};
        uint8_t req[300], r[2], head[4], skip[18];
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        size_t n = socks_request(o->host, o->port, req);

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                goto fail;
        if (early) {
                /* Everything back to back before any reply. */
                uint8_t all[300 + 64];
                memcpy(all, req, n);
                if (io_write_all(fd, all, n) < 0 || io_write_all(fd, early, nearly) < 0)
                        goto fail;
        } else if (io_write_all(fd, req, 3) < 0 || io_read_all(fd, r, 2) < 0 ||
                   io_write_all(fd, req + 3, n - 3) < 0) {
                goto fail;
        }
        if (early && io_read_all(fd, r, 2) < 0)
                goto fail;
        if (r[0] != 5 || r[1] != 0)
                goto fail;
        if (io_read_all(fd, head, 4) < 0)
                goto fail;
        *rep = head[1];
        size_t alen = head[3] == 1 ? 4 : head[3] == 4 ? 16 : 0;
        if (!alen || io_read_all(fd, skip, alen + 2) < 0)
                goto fail;
        return fd;
fail:
        if (fd >= 0)
                close(fd);
        *rep = 0xff;
        return -1;
}

struct upw {
        struct sess *s;
        uint64_t from;
};

static void *client_writer(void *arg)
{
        struct upw *u = arg;
        struct sess *s = u->s;
        uint8_t *buf = malloc(CHUNK);
        for (uint64_t off = u->from; buf && off < s->o->up;) {
                size_t n = s->o->up - off < CHUNK ? (size_t)(s->o->up - off) : CHUNK;
                stream_gen_fill(s->key, off, buf, n);
                if (io_write_all(s->fd, buf, n) < 0)
                        break;
                off += n;
        }
        shutdown(s->fd, SHUT_WR);
        free(buf);
        return NULL;
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *client_sess(void *arg)
{
        struct sess *s = arg;
        const struct opts *o = s->o;
        uint8_t early[24 + 3 * 7], rep, *buf = malloc(CHUNK);
        size_t nearly = 24;
        struct upw u = {.s = s};
        pthread_t w;
        uint64_t bad;

        put_be64(early, s->key);
        put_be64(early + 8, o->up);
        put_be64(early + 16, o->down);
        if (o->early) {
                /* Three small writes' worth of data behind the header. */
                size_t extra = o->up < 21 ? (size_t)o->up : 21;
                stream_gen_fill(s->key, 0, early + 24, extra);
                nearly += extra;
                u.from = extra;
        }
        s->fd = socks_connect(o, &rep, early, o->early ? nearly : 0);
        if (s->fd < 0 || rep != 0) {
                snprintf(s->err, sizeof(s->err), "SOCKS5 CONNECT failed (reply 0x%02x)", rep);
                goto out;
        }
        if ((!o->early || o->direct) && io_write_all(s->fd, early, o->direct ? nearly : 24) < 0) {
                snprintf(s->err, sizeof(s->err), "header write failed");
                goto out;
        }
        pthread_create(&w, NULL, client_writer, &u);
        double t0 = now_s();
        int status_seen = 0;
        for (;;) {
                size_t want = CHUNK;
                if (o->read_rate) {
                        if (now_s() - t0 > o->read_for)
                                break;
                        want = (size_t)(o->read_rate / 10);
                        usleep(100000);
                }
                ssize_t k = recv(s->fd, buf, want, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        snprintf(s->err, sizeof(s->err), "reset after %llu down bytes: %s",
                                 (unsigned long long)s->down_got, strerror(errno));
                        break;
                }
                if (k == 0) {
                        if (!status_seen)
                                snprintf(s->err, sizeof(s->err),
                                         "clean EOF after %llu of %llu down bytes, no status",
                                         (unsigned long long)s->down_got,
                                         (unsigned long long)o->down);
                        break;
                }
                size_t data = (size_t)k;
                if (s->down_got + data > o->down) {
                        data = (size_t)(o->down - s->down_got);
                        uint8_t st = buf[data];
                        status_seen = 1;
                        if (st != 'K' && !s->err[0])
                                snprintf(s->err, sizeof(s->err),
                                         "the target saw a bad up stream (status %c)", st);
                        if ((size_t)k > data + 1 && !s->err[0])
                                snprintf(s->err, sizeof(s->err), "bytes after the status");
                }
                if (!s->err[0] &&
                    stream_gen_check(down_key(s->key), s->down_got, buf, data, &bad) < 0)
                        snprintf(s->err, sizeof(s->err), "bad down byte at offset %llu",
                                 (unsigned long long)bad);
                s->down_got += data;
        }
        if (o->expect_reset) {
                if (!strncmp(s->err, "reset after", 11))
                        s->err[0] = '\0'; /* what we wanted */
                else if (!s->err[0])
                        snprintf(s->err, sizeof(s->err),
                                 "all %llu down bytes arrived, but a reset was expected",
                                 (unsigned long long)s->down_got);
        }
        if (o->read_rate) {
                /* Slow reader: abort instead of draining 256 MiB. */
                struct linger lg = {1, 0};
                setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
                shutdown(s->fd, SHUT_RDWR);
        }
        pthread_join(w, NULL);
out:
        if (s->fd >= 0)
                close(s->fd);
        free(buf);
        return NULL;
}

static int parse_target(const char *s, struct opts *o)
{
        const char *colon = strrchr(s, ':');
        if (!colon) {
                snprintf(o->host, sizeof(o->host), "127.0.0.1");
                o->port = (uint16_t)atoi(s);
        } else if (s[0] == '[') { /* [v6]:port */
                snprintf(o->host, sizeof(o->host), "%.*s", (int)(colon - s - 2), s + 1);
                o->port = (uint16_t)atoi(colon + 1);
        } else {
                snprintf(o->host, sizeof(o->host), "%.*s", (int)(colon - s), s);
                o->port = (uint16_t)atoi(colon + 1);
        }
        return o->port ? 0 : -1;
}

static uint64_t parse_size(const char *s)
{
        char *end;
        uint64_t v = strtoull(s, &end, 10);
        if (*end == 'k' || *end == 'K')
                v <<= 10;
        else if (*end == 'm' || *end == 'M')
                v <<= 20;
        return v;
}

static void too_slow(int sig)
{
        static const char msg[] = "relaycheck: FAILED: not done within --timeout (a stall: lost "
                                  "bytes, a missing FIN, or a dead relay)\n";
        (void)sig;
        ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
        (void)w;
        _exit(1);
}

int main(int argc, char **argv)
{
        unsigned timeout = 120;
        struct opts o = {.sessions = 1, .up = 1 << 20, .down = 1 << 20};
        int probe;

        signal(SIGPIPE, SIG_IGN);
        if (argc >= 2 && !strcmp(argv[1], "serve"))
                return serve();
        if (argc < 2 || (strcmp(argv[1], "run") && strcmp(argv[1], "probe"))) {
                fprintf(stderr, "usage: relaycheck serve | run ... | probe ...\n");
                return 64;
        }
        probe = !strcmp(argv[1], "probe");
        for (int i = 2; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
                if (!strcmp(a, "--socks"))
                        o.socks = (uint16_t)atoi(v), i++;
                else if (!strcmp(a, "--target"))
                        parse_target(v, &o), i++;
                else if (!strcmp(a, "--sessions"))
                        o.sessions = (unsigned)atoi(v), i++;
                else if (!strcmp(a, "--up"))
                        o.up = parse_size(v), i++;
                else if (!strcmp(a, "--down"))
                        o.down = parse_size(v), i++;
                else if (!strcmp(a, "--direct"))
                        o.direct = 1, o.socks = 1;
                else if (!strcmp(a, "--early"))
                        o.early = 1;
                else if (!strcmp(a, "--expect-reset"))
                        o.expect_reset = 1;
                else if (!strcmp(a, "--read-rate"))
                        o.read_rate = parse_size(v), i++;
                else if (!strcmp(a, "--timeout"))
                        timeout = (unsigned)atoi(v), i++;
                else if (!strcmp(a, "--read-for"))
                        o.read_for = (unsigned)atoi(v), i++;
                else {
                        fprintf(stderr, "relaycheck: unknown option %s\n", a);
                        return 64;
                }
        }
        if (!o.socks || !o.port) {
                fprintf(stderr, "relaycheck: --socks and --target are required\n");
                return 64;
        }
        signal(SIGALRM, too_slow);
        alarm(timeout);
        if (probe) {
                uint8_t rep;
                int fd = socks_connect(&o, &rep, NULL, 0);
                printf("reply 0x%02x\n", rep);
                if (fd >= 0)
                        close(fd);
                return 0;
        }
        struct sess *s = calloc(o.sessions, sizeof(*s));
        pthread_t *t = calloc(o.sessions, sizeof(*t));
        double t0 = now_s();
        for (unsigned i = 0; i < o.sessions; i++) {
                s[i].o = &o;
                s[i].idx = i;
                s[i].key = 0x5e55000000000000ull + i + ((uint64_t)getpid() << 20);
                s[i].fd = -1;
                pthread_create(&t[i], NULL, client_sess, &s[i]);
        }
        unsigned bad = 0;
        for (unsigned i = 0; i < o.sessions; i++) {
                pthread_join(t[i], NULL);
                /* A slow reader aborts on purpose: only wrong bytes count. */
                if (s[i].err[0] && (!o.read_rate || strstr(s[i].err, "bad down"))) {
                        fprintf(stderr, "relaycheck: session %u: %s\n", i, s[i].err);
                        bad++;
                }
        }
        double secs = now_s() - t0;
        printf("relaycheck: %u sessions, %u failed; up %llu, down %llu bytes each; %.2f s; "
               "%.1f MB/s total\n",
               o.sessions, bad, (unsigned long long)o.up, (unsigned long long)o.down, secs,
               (double)(o.up + o.down) * o.sessions / 1e6 / secs);
        free(s);
        free(t);
        return bad ? 1 : 0;
}
