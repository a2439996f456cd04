/* bench_echo: reactor loopback echo throughput next to a plain blocking-
 * socket echo (one thread, recv/send loop) measured in the same run, with
 * the same checking client (tools/echo.c). Reports the median of several
 * runs and the ratio. A benchmark: it reports, it never fails a build.
 *
 * usage: urelay-bench-echo [--mib N] [--runs R] [--json]
 */
#include "core/reactor.h"
#include "tools/echo.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct blocking_server {
        int lfd;
        uint16_t port;
};

static void *blocking_serve(void *arg)
{
        struct blocking_server *s = arg;
        size_t cap = 256 * 1024;
        uint8_t *buf = malloc(cap);
        int fd = accept(s->lfd, NULL, NULL);

        while (fd >= 0 && buf) {
                ssize_t n = recv(fd, buf, cap, 0);
                if (n <= 0)
                        break;
                for (ssize_t done = 0; done < n;) {
                        ssize_t k = send(fd, buf + done, (size_t)(n - done), MSG_NOSIGNAL);
                        if (k <= 0)
                                goto out;
                        done += k;
                }
        }
out:
        if (fd >= 0)
                close(fd);
        free(buf);
        return NULL;
}

static double run_blocking(uint64_t bytes)
{
        struct blocking_server s;
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t len = sizeof(sa);
        struct echo_client c = {.total = bytes, .key = 7};
        pthread_t t;

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s.lfd = socket(AF_INET, SOCK_STREAM, 0);
        if (s.lfd < 0 || bind(s.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            listen(s.lfd, 4) < 0 || getsockname(s.lfd, (struct sockaddr *)&sa, &len) < 0)
                return -1;
        c.port = ntohs(sa.sin_port);
        pthread_create(&t, NULL, blocking_serve, &s);
        echo_client_run(&c);
        pthread_join(t, NULL);
        close(s.lfd);
        return c.ok ? (double)bytes / 1e6 / c.seconds : -1;
}

static double run_reactor(uint64_t bytes)
{
        struct reactor *r;
        struct echo_server s = {0};
        struct echo_client c = {.total = bytes, .key = 7};
        pthread_t t;
        char why[256];

        if (reactor_new(&r, NULL, why, sizeof(why)) < 0) {
                fprintf(stderr, "io_uring unavailable: %s\n", why);
                exit(69);
        }
        if (echo_server_start(&s, r, 0) < 0)
                return -1;
        c.port = s.port;
        pthread_create(&t, NULL, echo_client_thread, &c);
        if (echo_run_until_done(r, &c, 1, 300000) < 0)
                return -1;
        pthread_join(t, NULL);
        reactor_free(r);
        return c.ok ? (double)bytes / 1e6 / c.seconds : -1;
}

static int cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
        unsigned mib = 256, runs = 5;
        int json = 0;
        double re[16], bl[16];

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--mib") && i + 1 < argc)
                        mib = (unsigned)atoi(argv[++i]);
                else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
                        runs = (unsigned)atoi(argv[++i]);
                else if (!strcmp(argv[i], "--json"))
                        json = 1;
                else {
                        fprintf(stderr, "usage: %s [--mib N] [--runs 1..16] [--json]\n", argv[0]);
                        return 64;
                }
        }
        if (!mib || !runs || runs > 16) {
                fprintf(stderr, "--mib must be > 0 and --runs in 1..16\n");
                return 64;
        }
        uint64_t bytes = (uint64_t)mib << 20;
        /* Interleave the two so drift on a shared machine hits both. */
        for (unsigned i = 0; i < runs; i++) {
                bl[i] = run_blocking(bytes);
                re[i] = run_reactor(bytes);
                if (bl[i] < 0 || re[i] < 0) {
                        fprintf(stderr, "run %u: echo failed its content check\n", i);
                        return 1;
                }
        }
        qsort(bl, runs, sizeof(double), cmp);
        qsort(re, runs, sizeof(double), cmp);
        double b = bl[runs / 2], r = re[runs / 2];
        if (json)
                printf("{\"bench\":\"echo\",\"mib\":%u,\"runs\":%u,\"blocking_mbps\":%.1f,"
                       "\"reactor_mbps\":%.1f,\"ratio\":%.3f}\n",
                       mib, runs, b, r, r / b);
        else
                printf("loopback echo, %u MiB each way, median of %u runs (content checked)\n"
                       "  blocking recv/send echo : %8.1f MB/s\n"
                       "  io_uring reactor echo   : %8.1f MB/s\n"
                       "  ratio reactor/blocking  : %8.2f   (target >= 0.90)\n",
                       mib, runs, b, r, r / b);
        return 0;
}
