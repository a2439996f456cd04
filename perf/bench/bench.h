/* bench: shared pieces of urelay-bench, the SOCKS5 load generator.
 *
 *   main.c       the command line (run, diff, compare)
 *   sink.c       the content-checking sink on loopback
 *   procstat.c   CPU seconds and RSS of the relay's processes from /proc
 *   throughput.c throughput_up / throughput_down
 *   latency.c    ttfb_p50_p95, ping_pong, sessions_per_sec, ttfb_under_download
 *   idle.c       idle_sessions
 *   report.c     the run's JSON and its table
 *   diff.c       diff of two runs; compare.c: many relays side by side
 */
#ifndef URELAY_PERF_BENCH_H
#define URELAY_PERF_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* The sink's ports on 127.0.0.1 and its wire protocol (no half-close needed,
 * so any relay can carry it):
 *   up:    client sends {key, len} (16 bytes, big-endian), then len bytes of
 *          stream <key>; the sink checks every byte and answers
 *          {bytes received, first bad offset or UINT64_MAX}.
 *   down:  client sends {key, len}; the sink sends len bytes of stream <key>.
 *   echo:  echoes everything (ttfb, ping, sessions_per_sec, idle sessions).
 * It runs in a child process of its own (sink.c). */
struct sink {
        uint16_t up, down, echo;
};
int sink_start(struct sink *s, char *err, size_t errlen);

#define BENCH_NO_BAD UINT64_MAX

/* Processes whose CPU and memory a run watches (client, exit), each summed
 * with its direct children (dante forks). */
#define BENCH_MAX_PROCS 4
struct proc_sample {
        double cpu_s;     /* utime + stime */
        uint64_t rss_kb;  /* VmRSS now */
        uint64_t peak_kb; /* VmHWM since the last reset */
};
struct watched {
        char role[16];
        pid_t pid;
        struct proc_sample at_start;
};
int proc_sample(pid_t pid, struct proc_sample *out);
void proc_reset_peak(pid_t pid);

/* One scenario run's figures: an ordered list of named numbers. */
#define BENCH_MAX_METRICS 40
struct metrics {
        unsigned n;
        struct {
                char name[40];
                double v;
        } m[BENCH_MAX_METRICS];
        char err[256]; /* non-empty: the run failed (content, connect, timeout) */
};
void metric_set(struct metrics *m, const char *name, double v);
double metric_get(const struct metrics *m, const char *name, double dflt);

struct bench {
        uint16_t socks; /* 0: direct to the sink */
        const char *name;
        struct sink sink;
        unsigned runs;
        uint64_t size_1, size_n; /* bytes per session: 1 session / 4 and 16 */
        unsigned ttfb_samples, ping_samples, idle;
        double sps_seconds, idle_seconds;
        unsigned nwatch;
        struct watched watch[BENCH_MAX_PROCS];
        uint64_t key_seq; /* distinct stream key per session */
};

/* A session that moves nothing for this long fails (SO_RCVTIMEO/SNDTIMEO). */
extern unsigned bench_io_timeout_s;

uint64_t bench_key(struct bench *b);
double now_s(void);
/* Opens a session to the sink's <port> (through SOCKS unless direct). */
int bench_dial(struct bench *b, uint16_t port, char *err, size_t errlen);
/* Sends len bytes of stream <key> at <off> to the echo sink and checks the
 * answer: 0, or -1 with err filled. */
int bench_echo(int fd, uint64_t key, uint64_t off, size_t len, char *err, size_t errlen);
/* The up/down sinks' request: {key, len}, big-endian. 0 or -1 (errno). */
int bench_send_header(int fd, uint64_t key, uint64_t len);

struct scenario;
typedef int (*scenario_fn)(struct bench *b, const struct scenario *sc, struct metrics *m);
struct scenario {
        const char *kind; /* size-free name, what diff/compare match on */
        scenario_fn run;
        int up;               /* throughput: direction */
        unsigned sessions;    /* throughput: sessions */
        const char *headline; /* the metric shown first and taken for "median run" */
        int higher_better;
        int once; /* one run only (idle_sessions) */
};

int run_throughput(struct bench *b, const struct scenario *sc, struct metrics *m);
int run_ttfb(struct bench *b, const struct scenario *sc, struct metrics *m);
int run_ping(struct bench *b, const struct scenario *sc, struct metrics *m);
int run_sessions(struct bench *b, const struct scenario *sc, struct metrics *m);
int run_ttfb_under_download(struct bench *b, const struct scenario *sc, struct metrics *m);
int run_idle(struct bench *b, const struct scenario *sc, struct metrics *m);

/* Percentiles of n samples (sorted in place): index p * (n - 1) / 100, as
 * GooseRelayVPN's harness takes them. Adds <prefix>p50_us etc. */
void add_percentiles(struct metrics *m, const char *prefix, double *us, unsigned n);

/* Starts and ends the CPU/RSS watch of one scenario run; the end adds
 * <role>_cpu_s and <role>_peak_rss_kb for each watched process and
 * cpu_s (their sum). */
void watch_begin(struct bench *b);
void watch_end(struct bench *b, struct metrics *m);

/* report.c */
json_t *report_host(void);
void report_table_header(void);
void report_table_row(const char *name, const json_t *scenario);

/* diff.c, compare.c: a run's JSON (NULL and a message if it is not one),
 * its scenario of a kind, and a figure of it (NAN if missing or failed). */
json_t *load_run(const char *path);
json_t *scenario_of_kind(json_t *run, const char *kind);
double figure(json_t *scenario, const char *metric);
int cmd_diff(int argc, char **argv);
int cmd_compare(int argc, char **argv);

#endif
