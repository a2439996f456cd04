/* sink: the benchmark's target servers on 127.0.0.1 (see bench.h).
 *
 * up and down get a thread per connection (blocking I/O is the fastest way
 * to move and check bytes here); echo runs on one epoll thread, so that ten
 * thousand idle sessions cost no threads.
 */
#include "bench.h"

#include "core/bytes.h"
#include "core/stream_gen.h"
#include "tools/socks_dial.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

/* Binds a listener on 127.0.0.1. Port 0 first; after heavy session churn
 * every ephemeral port may sit in TIME_WAIT and the kernel then finds none
 * for port 0, so random ports below the ephemeral range are tried next. */
static int listen_any(uint16_t *port)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof(sa);
        int one = 1, fd = -1;

        srand((unsigned)getpid() ^ (unsigned)time(NULL));
        for (int i = 0; i < 200; i++) {
                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return -1;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                sa.sin_port = i ? htons((uint16_t)(20000 + rand() % 12768)) : 0;
                if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 4096) == 0 &&
                    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0) {
                        *port = ntohs(sa.sin_port);
                        return fd;
                }
                close(fd);
        }
        return -1;
}

static void *up_conn(void *arg)
{
        int fd = (int)(intptr_t)arg;
        uint8_t h[16], *buf = malloc(CHUNK);
        uint64_t off = 0, bad = BENCH_NO_BAD;

        /* A session that stalls this long is over (the client's side has
         * --io-timeout). */
        struct timeval tv = {.tv_sec = 60};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (buf && io_read_all(fd, h, sizeof(h)) == 0) {
                uint64_t key = get_be64(h), len = get_be64(h + 8);
                while (off < len) {
                        size_t want = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
                        ssize_t n = recv(fd, buf, want, 0);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break;
                        uint64_t b;
                        if (bad == BENCH_NO_BAD &&
                            stream_gen_check(key, off, buf, (size_t)n, &b) != 0) {
                                /* Lost bytes would have us wait for ever:
                                 * after a wrong one, 2 s of silence ends it. */
                                struct timeval two = {.tv_sec = 2};
                                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &two, sizeof(two));
                                bad = b;
                        }
                        off += (uint64_t)n;
                }
                put_be64(h, off);
                put_be64(h + 8, bad);
                io_write_all(fd, h, sizeof(h));
        }
        free(buf);
        close(fd);
        return NULL;
}

static void *down_conn(void *arg)
{
        int fd = (int)(intptr_t)arg;
        uint8_t h[16], *buf = malloc(CHUNK);

        if (buf && io_read_all(fd, h, sizeof(h)) == 0) {
                uint64_t key = get_be64(h), len = get_be64(h + 8);
                for (uint64_t off = 0; off < len;) {
                        size_t n = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
                        stream_gen_fill(key, off, buf, n);
                        if (io_write_all(fd, buf, n) < 0)
                                break;
                        off += n;
                }
                /* Wait for the reader to close, so the last bytes are not
                 * cut by a reset. */
                while (recv(fd, h, sizeof(h), 0) > 0)
                        ;
        }
        free(buf);
        close(fd);
        return NULL;
}

struct acceptor {
        int fd;
        void *(*conn)(void *);
};

static void *accept_loop(void *arg)
{
        struct acceptor *a = arg;
        for (;;) {
                int c = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) {
                        if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                                continue;
                        return NULL;
                }
                pthread_t t;
                pthread_attr_t at;
                pthread_attr_init(&at);
                pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
                pthread_attr_setstacksize(&at, 256 * 1024);
                if (pthread_create(&t, &at, a->conn, (void *)(intptr_t)c) != 0)
                        close(c);
                pthread_attr_destroy(&at);
        }
}

struct small {
        int echo, ep;
};

/* Echo: one epoll thread. Echo writes back with a blocking send:
 * the messages are small (1 to 64 bytes) and the benchmark reads them. */
static void *small_loop(void *arg)
{
        struct small *s = arg;
        struct epoll_event ev[256];
        uint8_t buf[16384];

        for (;;) {
                int n = epoll_wait(s->ep, ev, 256, -1);
                for (int i = 0; i < n; i++) {
                        int fd = ev[i].data.fd;
                        if (fd == s->echo) {
                                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                                int one = 1;
                                if (c < 0)
                                        continue;
                                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                                struct epoll_event e = {.events = EPOLLIN, .data.fd = c};
                                if (epoll_ctl(s->ep, EPOLL_CTL_ADD, c, &e) < 0)
                                        close(c);
                        } else {
                                ssize_t k = recv(fd, buf, sizeof(buf), 0);
                                if (k <= 0 || io_write_all(fd, buf, (size_t)k) < 0) {
                                        epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL);
                                        close(fd);
                                }
                        }
                }
                if (n < 0 && errno != EINTR)
                        return NULL;
        }
}

static int spawn(void *(*fn)(void *), void *arg)
{
        pthread_t t;
        if (pthread_create(&t, NULL, fn, arg) != 0)
                return -1;
        pthread_detach(t);
        return 0;
}

static int sink_serve(struct sink *s, char *err, size_t errlen)
{
        static struct acceptor up, down;
        static struct small sm;
        struct epoll_event e = {.events = EPOLLIN};

        up.conn = up_conn;
        down.conn = down_conn;
        up.fd = listen_any(&s->up);
        down.fd = listen_any(&s->down);
        sm.echo = listen_any(&s->echo);
        sm.ep = epoll_create1(EPOLL_CLOEXEC);
        if (up.fd < 0 || down.fd < 0 || sm.echo < 0 || sm.ep < 0) {
                snprintf(err, errlen, "sink: cannot listen on 127.0.0.1: %s", strerror(errno));
                return -1;
        }
        e.data.fd = sm.echo;
        epoll_ctl(sm.ep, EPOLL_CTL_ADD, sm.echo, &e);
        if (spawn(accept_loop, &up) < 0 || spawn(accept_loop, &down) < 0 ||
            spawn(small_loop, &sm) < 0) {
                snprintf(err, errlen, "sink: cannot start a thread");
                return -1;
        }
        return 0;
}

static pid_t sink_pid;

static void sink_stop(void)
{
        if (sink_pid > 0)
                kill(sink_pid, SIGKILL);
}

/* The sink runs in a child process: the idle scenario holds one descriptor
 * per session on each side, and both sides in one process would meet the
 * descriptor limit at half the sessions. The child dies with its parent. */
int sink_start(struct sink *s, char *err, size_t errlen)
{
        struct {
                struct sink s;
                char err[200];
        } msg = {0};
        int fds[2];

        if (pipe(fds) < 0) {
                snprintf(err, errlen, "sink: pipe: %s", strerror(errno));
                return -1;
        }
        pid_t parent = getpid();
        sink_pid = fork();
        if (sink_pid < 0) {
                snprintf(err, errlen, "sink: fork: %s", strerror(errno));
                return -1;
        }
        if (sink_pid == 0) {
                close(fds[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(0);
                signal(SIGPIPE, SIG_IGN);
                int rc = sink_serve(&msg.s, msg.err, sizeof(msg.err));
                (void)!write(fds[1], &msg, sizeof(msg));
                close(fds[1]);
                if (rc < 0)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(fds[1]);
        ssize_t n = read(fds[0], &msg, sizeof(msg));
        close(fds[0]);
        atexit(sink_stop);
        if (n != (ssize_t)sizeof(msg) || msg.err[0]) {
                snprintf(err, errlen, "%s", msg.err[0] ? msg.err : "sink: the process died");
                return -1;
        }
        *s = msg.s;
        return 0;
}
