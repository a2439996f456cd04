/* urelay-bench: a SOCKS5 load generator with a content-checking sink.
 *
 *   urelay-bench run [--socks [127.0.0.1:]PORT] [--name NAME] [--pid ROLE=PID]...
 *                    [--out FILE.json] [--scenarios LIST] [--runs N] [--quick] ...
 *   urelay-bench diff BASE.json CURRENT.json [--threshold PCT]
 *   urelay-bench compare --ref NAME [--chart FILE.svg] RUN.json...
 *
 * See usage() and docs/performance.md.
 */
#include "bench.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* idle_sessions first: it counts the memory the relay gains per session, and
 * memory that earlier scenarios allocated and freed would hide it. */
static const struct scenario scenarios[] = {
    {"idle_sessions", run_idle, 0, 0, "client_rss_per_session_kib", 0, 1},
    {"throughput_up_1session", run_throughput, 1, 1, "mb_per_sec", 1, 0},
    {"throughput_up_4sessions", run_throughput, 1, 4, "mb_per_sec", 1, 0},
    {"throughput_up_16sessions", run_throughput, 1, 16, "mb_per_sec", 1, 0},
    {"throughput_down_1session", run_throughput, 0, 1, "mb_per_sec", 1, 0},
    {"throughput_down_4sessions", run_throughput, 0, 4, "mb_per_sec", 1, 0},
    {"throughput_down_16sessions", run_throughput, 0, 16, "mb_per_sec", 1, 0},
    {"ttfb_p50_p95", run_ttfb, 0, 0, "p50_us", 0, 0},
    {"ping_pong_64B", run_ping, 0, 0, "p50_us", 0, 0},
    {"sessions_per_sec", run_sessions, 0, 0, "per_sec", 1, 0},
    {"ttfb_under_download", run_ttfb_under_download, 0, 0, "p50_us", 0, 0},
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

static void usage(FILE *f)
{
        fprintf(f,
                "usage: urelay-bench run [options]       load a SOCKS5 proxy, check every byte\n"
                "       urelay-bench diff BASE.json CURRENT.json [--threshold PCT]\n"
                "       urelay-bench compare --ref NAME [--chart FILE.svg] RUN.json...\n"
                "\n"
                "run starts its own sink on 127.0.0.1 (upload checker, download source, echo,\n"
                "one-byte server) and drives it through the proxy: every byte is a keyed\n"
                "stream per session, checked on arrival; the first bad offset is reported.\n"
                "\n"
                "  --socks [127.0.0.1:]PORT  the SOCKS5 proxy (no authentication); without it\n"
                "                            the load goes straight to the sink (\"direct\")\n"
                "  --name NAME               what the run is called in tables (default: direct\n"
                "                            or socks)\n"
                "  --pid ROLE=PID            watch a process: ROLE is client (the SOCKS side)\n"
                "                            or exit (the far side); CPU seconds and peak RSS\n"
                "                            per scenario, from /proc (children included)\n"
                "  --label KEY=VALUE         recorded in the JSON (versions, transport, ...)\n"
                "  --out FILE.json           write the run as JSON\n"
                "  --scenarios LIST          comma-separated kinds or prefixes (default all):\n"
                "                            throughput_up_1session throughput_up_4sessions\n"
                "                            throughput_up_16sessions throughput_down_*\n"
                "                            ttfb_p50_p95 ping_pong_64B sessions_per_sec\n"
                "                            ttfb_under_download idle_sessions\n"
                "  --runs N                  runs per scenario, the median is kept (3)\n"
                "  --size-1 SIZE             bytes for the 1-session transfers (256m)\n"
                "  --size-n SIZE             bytes per session with 4 and 16 sessions (32m)\n"
                "  --ttfb-samples N          new sessions per ttfb run (200)\n"
                "  --ping-samples N          64-byte round trips per ping run (5000)\n"
                "  --sps-seconds S           length of a sessions_per_sec run (5)\n"
                "  --idle N                  idle sessions held open (10000)\n"
                "  --idle-seconds S          how long their CPU is watched (5)\n"
                "  --io-timeout S            a session that moves nothing this long fails (30)\n"
                "  --quick                   1 run, 32m/8m, 50 ttfb, 1000 pings, 2 s, 1000 idle\n"
                "\n"
                "SIZE takes k, m, g (KiB, MiB, GiB). MB/s is 10^6 bytes per second.\n"
                "Exit: 0 all scenarios ran and every byte was right, 1 a scenario failed\n"
                "(wrong or missing bytes, refused sessions, a stall), 64 usage.\n"
                "\n"
                "diff prints the headline figures of two runs and flags each that got worse\n"
                "by more than PCT percent (10) beyond its noise floor; exit 1 if any did.\n"
                "compare prints runs side by side with each figure's ratio to the run named\n"
                "NAME, checks urelay's targets, and draws a chart with gnuplot.\n");
}

static int parse_u64(const char *s, uint64_t *out, int sized)
{
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -1;
        uint64_t mul = 1;
        if (sized && *end) {
                switch (*end | 0x20) {
                case 'k':
                        mul = 1ull << 10;
                        break;
                case 'm':
                        mul = 1ull << 20;
                        break;
                case 'g':
                        mul = 1ull << 30;
                        break;
                default:
                        return -1;
                }
                end++;
        }
        if (*end)
                return -1;
        *out = v * mul;
        return 0;
}

static int bad_arg(const char *opt, const char *val)
{
        fprintf(stderr, "urelay-bench: bad value for %s: '%s' (see --help)\n", opt, val);
        return 64;
}

static void raise_nofile(rlim_t want)
{
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
                return;
        if (rl.rlim_max < want) {
                struct rlimit up = {want, want};
                if (setrlimit(RLIMIT_NOFILE, &up) == 0)
                        return;
        }
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
}

static void size_name(char *out, size_t len, uint64_t bytes)
{
        if (bytes % (1ull << 20) == 0)
                snprintf(out, len, "%lluMB", (unsigned long long)(bytes >> 20));
        else
                snprintf(out, len, "%lluKB", (unsigned long long)(bytes >> 10));
}

/* The scenario's name in the JSON: GooseRelayVPN's form for throughput
 * (throughput_up_8MB_1session), the kind otherwise. */
static void scenario_name(const struct bench *b, const struct scenario *sc, char *out, size_t len)
{
        char sz[32];
        if (sc->run != run_throughput) {
                snprintf(out, len, "%s", sc->kind);
                return;
        }
        size_name(sz, sizeof(sz), sc->sessions == 1 ? b->size_1 : b->size_n);
        snprintf(out, len, "throughput_%s_%s_%u%s", sc->up ? "up" : "down", sz, sc->sessions,
                 sc->sessions == 1 ? "session" : "sessions");
}

static int selected(const char *list, const char *kind)
{
        if (!list)
                return 1;
        char *dup = strdup(list), *save = NULL;
        int hit = 0;
        for (char *t = strtok_r(dup, ",", &save); t && !hit; t = strtok_r(NULL, ",", &save)) {
                size_t n = strlen(t);
                hit = n && strncmp(kind, t, n - (t[n - 1] == '*')) == 0;
        }
        free(dup);
        return hit;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

/* Median of each metric over the runs that succeeded. */
static json_t *aggregate(const struct scenario *sc, struct metrics *runs, unsigned n)
{
        json_t *o = json_object(), *samples = json_array();
        unsigned good = 0;
        double v[64];

        json_object_set_new(o, "kind", json_string(sc->kind));
        for (unsigned r = 0; r < n; r++) {
                if (runs[r].err[0]) {
                        json_object_set_new(o, "error", json_string(runs[r].err));
                        continue;
                }
                json_array_append_new(samples, json_real(metric_get(&runs[r], sc->headline, 0)));
                good++;
        }
        json_object_set_new(o, "runs", json_integer(n));
        json_object_set_new(o, "headline", json_string(sc->headline));
        json_object_set_new(o, "samples", samples);
        for (unsigned r = 0; r < n && good; r++) {
                if (runs[r].err[0])
                        continue;
                for (unsigned i = 0; i < runs[r].n; i++) {
                        const char *name = runs[r].m[i].name;
                        unsigned k = 0;
                        for (unsigned q = 0; q < n; q++)
                                if (!runs[q].err[0])
                                        v[k++] = metric_get(&runs[q], name, 0);
                        qsort(v, k, sizeof(double), cmp_double);
                        /* Lower median for an even count: a real sample. */
                        json_object_set_new(o, name, json_real(v[(k - 1) / 2]));
                }
                break;
        }
        return o;
}

static void progress(unsigned i, unsigned total, const char *name, unsigned run, unsigned runs)
{
        fprintf(stderr, "\r\033[K[%u/%u] %s run %u/%u ", i, total, name, run, runs);
        if (!isatty(2))
                fprintf(stderr, "\n");
}

static void watchdog(int sig)
{
        static const char msg[] = "\nurelay-bench: the whole run took longer than its limit "
                                  "(a stalled proxy?); giving up\n";
        (void)sig;
        (void)!write(2, msg, sizeof(msg) - 1);
        _exit(1);
}

static int cmd_run(int argc, char **argv)
{
        struct bench b = {.name = NULL,
                          .runs = 3,
                          .size_1 = 256ull << 20,
                          .size_n = 32ull << 20,
                          .ttfb_samples = 200,
                          .ping_samples = 5000,
                          .idle = 10000,
                          .sps_seconds = 5,
                          .idle_seconds = 5,
                          .key_seq = (uint64_t)time(NULL)};
        const char *out = NULL, *list = NULL;
        uint64_t io_timeout = 30;
        const char *label_args[32];
        unsigned nlabels = 0;
        char err[256];

        for (int i = 1; i < argc; i++) {
                const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                uint64_t n;
                if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
                        usage(stdout);
                        return 0;
                }
                if (!strcmp(o, "--quick")) {
                        b.runs = 1, b.size_1 = 32ull << 20, b.size_n = 8ull << 20;
                        b.ttfb_samples = 50, b.ping_samples = 1000, b.sps_seconds = 2;
                        b.idle = 1000, b.idle_seconds = 2;
                        continue;
                }
                if (!v) {
                        fprintf(stderr, "urelay-bench: %s needs a value (see --help)\n", o);
                        return 64;
                }
                i++;
                if (!strcmp(o, "--socks")) {
                        const char *c = strrchr(v, ':');
                        if (c && strncmp(v, "127.", 4) != 0 && strncmp(v, "localhost:", 10))
                                return bad_arg(o, v); /* loopback only */
                        if (parse_u64(c ? c + 1 : v, &n, 0) || !n || n > 65535)
                                return bad_arg(o, v);
                        b.socks = (uint16_t)n;
                } else if (!strcmp(o, "--name")) {
                        b.name = v;
                } else if (!strcmp(o, "--pid")) {
                        const char *eq = strchr(v, '=');
                        if (!eq || eq == v || eq - v >= 16 || parse_u64(eq + 1, &n, 0) || !n ||
                            b.nwatch == BENCH_MAX_PROCS)
                                return bad_arg(o, v);
                        struct watched *w = &b.watch[b.nwatch++];
                        snprintf(w->role, sizeof(w->role), "%.*s", (int)(eq - v), v);
                        w->pid = (pid_t)n;
                        struct proc_sample s;
                        if (proc_sample(w->pid, &s) < 0) {
                                fprintf(stderr, "urelay-bench: no process %s (--pid %s)\n", eq + 1,
                                        v);
                                return 64;
                        }
                } else if (!strcmp(o, "--label")) {
                        const char *eq = strchr(v, '=');
                        if (!eq || eq == v || eq - v > 63 || nlabels == 32)
                                return bad_arg(o, v);
                        label_args[nlabels++] = v;
                } else if (!strcmp(o, "--out")) {
                        out = v;
                } else if (!strcmp(o, "--scenarios")) {
                        list = v;
                } else if (!strcmp(o, "--runs")) {
                        if (parse_u64(v, &n, 0) || !n || n > 50)
                                return bad_arg(o, v);
                        b.runs = (unsigned)n;
                } else if (!strcmp(o, "--size-1") || !strcmp(o, "--size-n")) {
                        if (parse_u64(v, &n, 1) || !n || n > (64ull << 30))
                                return bad_arg(o, v);
                        *(o[7] == '1' ? &b.size_1 : &b.size_n) = n;
                } else if (!strcmp(o, "--ttfb-samples") || !strcmp(o, "--ping-samples")) {
                        if (parse_u64(v, &n, 0) || !n || n > 1000000)
                                return bad_arg(o, v);
                        *(o[2] == 't' ? &b.ttfb_samples : &b.ping_samples) = (unsigned)n;
                } else if (!strcmp(o, "--idle")) {
                        if (parse_u64(v, &n, 0) || !n || n > 200000)
                                return bad_arg(o, v);
                        b.idle = (unsigned)n;
                } else if (!strcmp(o, "--sps-seconds") || !strcmp(o, "--idle-seconds")) {
                        if (parse_u64(v, &n, 0) || !n || n > 600)
                                return bad_arg(o, v);
                        *(o[2] == 's' ? &b.sps_seconds : &b.idle_seconds) = (double)n;
                } else if (!strcmp(o, "--io-timeout")) {
                        if (parse_u64(v, &io_timeout, 0) || !io_timeout || io_timeout > 3600)
                                return bad_arg(o, v);
                } else {
                        fprintf(stderr, "urelay-bench: unknown option %s (see --help)\n", o);
                        return 64;
                }
        }
        if (!b.name)
                b.name = b.socks ? "socks" : "direct";
        for (unsigned i = 0; list && i < NSCEN && !selected(list, scenarios[i].kind); i++)
                if (i == NSCEN - 1) {
                        fprintf(stderr, "urelay-bench: --scenarios %s matches none\n", list);
                        return 64;
                }

        signal(SIGPIPE, SIG_IGN);
        raise_nofile((rlim_t)b.idle * 2 + 4096);
        bench_io_timeout_s = (unsigned)io_timeout;
        if (sink_start(&b.sink, err, sizeof(err)) < 0) {
                fprintf(stderr, "urelay-bench: %s\n", err);
                return 1;
        }
        /* Preflight: one session there and back, or nothing else is worth
         * running. */
        struct metrics pre = {0};
        struct bench pb = b;
        pb.ttfb_samples = 1, pb.nwatch = 0;
        if (run_ttfb(&pb, &scenarios[7], &pre) < 0) {
                fprintf(stderr, "urelay-bench: preflight through %s failed: %s\n", b.name, pre.err);
                return 1;
        }
        b.key_seq = pb.key_seq;

        json_t *root = json_object(), *sj = json_object(), *labels = json_object();
        for (unsigned i = 0; i < nlabels; i++) {
                const char *eq = strchr(label_args[i], '=');
                char key[64];
                snprintf(key, sizeof(key), "%.*s", (int)(eq - label_args[i]), label_args[i]);
                json_object_set_new(labels, key, json_string(eq + 1));
        }
        char started[32];
        time_t t = time(NULL);
        strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        double t0 = now_s();
        unsigned total = 0, done = 0, failed = 0;
        for (unsigned i = 0; i < NSCEN; i++)
                total += selected(list, scenarios[i].kind);
        /* Every scenario is bounded by io-timeout per session; this bounds
         * the whole run against a proxy that trickles. */
        signal(SIGALRM, watchdog);
        alarm(3600);

        for (unsigned i = 0; i < NSCEN; i++) {
                const struct scenario *sc = &scenarios[i];
                if (!selected(list, sc->kind))
                        continue;
                char name[64];
                unsigned runs = sc->once ? 1 : b.runs;
                struct metrics *m = calloc(runs, sizeof(*m));
                scenario_name(&b, sc, name, sizeof(name));
                done++;
                for (unsigned r = 0; m && r < runs; r++) {
                        progress(done, total, name, r + 1, runs);
                        sc->run(&b, sc, &m[r]);
                        if (m[r].err[0])
                                fprintf(stderr, "\n%s: %s\n", name, m[r].err);
                }
                json_t *o = aggregate(sc, m, runs);
                failed += json_object_get(o, "error") != NULL;
                json_object_set_new(sj, name, o);
                free(m);
        }
        fprintf(stderr, "\r\033[K");

        json_t *config =
            json_pack("{s:s, s:i, s:I, s:I, s:i, s:i, s:f, s:i, s:f, s:I}", "proxy",
                      b.socks ? "socks5" : "direct", "socks_port", b.socks, "size_1",
                      (json_int_t)b.size_1, "size_n", (json_int_t)b.size_n, "ttfb_samples",
                      b.ttfb_samples, "ping_samples", b.ping_samples, "sps_seconds", b.sps_seconds,
                      "idle", b.idle, "idle_seconds", b.idle_seconds, "runs", (json_int_t)b.runs);
        json_t *watched = json_object();
        for (unsigned i = 0; i < b.nwatch; i++)
                json_object_set_new(watched, b.watch[i].role, json_integer(b.watch[i].pid));
        json_object_set_new(config, "watched", watched);
        json_object_set_new(root, "tool", json_string("urelay-bench " URELAY_VERSION));
        json_object_set_new(root, "name", json_string(b.name));
        json_object_set_new(root, "started_at", json_string(started));
        json_object_set_new(root, "duration_ms", json_integer((json_int_t)((now_s() - t0) * 1e3)));
        json_object_set_new(root, "host", report_host());
        json_object_set_new(root, "config", config);
        json_object_set_new(root, "labels", labels);
        json_object_set_new(root, "scenarios", sj);

        printf("urelay-bench: %s, %u scenarios in %.0f s%s\n", b.name, total, now_s() - t0,
               b.nwatch ? "" : " (no --pid: no CPU or RSS figures)");
        report_table_header();
        const char *k;
        json_t *v;
        json_object_foreach(sj, k, v) report_table_row(k, v);
        if (out && json_dump_file(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
                fprintf(stderr, "urelay-bench: cannot write %s\n", out);
                failed++;
        }
        json_decref(root);
        return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
        if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? 64 : 0;
        }
        if (!strcmp(argv[1], "run"))
                return cmd_run(argc - 1, argv + 1);
        if (!strcmp(argv[1], "diff"))
                return cmd_diff(argc - 1, argv + 1);
        if (!strcmp(argv[1], "compare"))
                return cmd_compare(argc - 1, argv + 1);
        fprintf(stderr, "urelay-bench: unknown command '%s' (run, diff, compare; see --help)\n",
                argv[1]);
        return 64;
}
