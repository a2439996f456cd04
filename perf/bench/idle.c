/* idle_sessions: N sessions opened to the echo sink, each proven with one
 * byte there and back, then held without traffic.
 *
 * Reports the RSS each watched process gained per session (VmRSS after all
 * are open, minus before the first), and the CPU they use while nothing
 * moves, as a percentage of one core.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int run_idle(struct bench *b, const struct scenario *sc, struct metrics *m)
{
        unsigned n = b->idle, open = 0;
        int *fds = calloc(n ? n : 1, sizeof(int));
        struct proc_sample before[BENCH_MAX_PROCS], after[BENCH_MAX_PROCS];
        char name[48];
        (void)sc;

        if (!fds) {
                snprintf(m->err, sizeof(m->err), "out of memory");
                return -1;
        }
        for (unsigned i = 0; i < b->nwatch; i++)
                proc_sample(b->watch[i].pid, &before[i]);
        double t0 = now_s();
        for (; open < n; open++) {
                fds[open] = bench_dial(b, b->sink.echo, m->err, sizeof(m->err));
                if (fds[open] < 0 ||
                    bench_echo(fds[open], bench_key(b), 0, 1, m->err, sizeof(m->err))) {
                        if (fds[open] >= 0)
                                close(fds[open]);
                        char why[sizeof(m->err)];
                        snprintf(why, sizeof(why), "%s", m->err);
                        snprintf(m->err, sizeof(m->err), "session %u of %u: %.200s", open + 1, n,
                                 why);
                        break;
                }
                if ((open + 1) % 1000 == 0)
                        fprintf(stderr, ".");
        }
        metric_set(m, "sessions", open);
        metric_set(m, "open_per_sec", open / (now_s() - t0));
        /* Settle, then read memory and the CPU of doing nothing. */
        sleep(1);
        watch_begin(b);
        for (unsigned i = 0; i < b->nwatch; i++)
                proc_sample(b->watch[i].pid, &after[i]);
        usleep((useconds_t)(b->idle_seconds * 1e6));
        watch_end(b, m);
        for (unsigned i = 0; i < b->nwatch && open; i++) {
                double kib = ((double)after[i].rss_kb - (double)before[i].rss_kb) / open;
                snprintf(name, sizeof(name), "%s_rss_per_session_kib", b->watch[i].role);
                metric_set(m, name, kib);
                snprintf(name, sizeof(name), "%s_rss_kb", b->watch[i].role);
                metric_set(m, name, (double)after[i].rss_kb);
                snprintf(name, sizeof(name), "%s_cpu_s", b->watch[i].role);
                double pct = 100.0 * metric_get(m, name, 0) / b->idle_seconds;
                snprintf(name, sizeof(name), "%s_idle_cpu_pct", b->watch[i].role);
                metric_set(m, name, pct);
        }
        double t1 = now_s();
        for (unsigned i = 0; i < open; i++)
                close(fds[i]);
        metric_set(m, "close_ms", (now_s() - t1) * 1e3);
        free(fds);
        return m->err[0] ? -1 : 0;
}
