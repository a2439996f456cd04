/* compare: runs of several relays side by side.
 *
 * One row per headline figure, one column per run, each cell with its ratio
 * to the reference run (--ref). Then urelay's targets (docs/performance.md)
 * when runs named urelay-ws / urelay-post and the reference are present,
 * and a chart of throughput and latency per relay, drawn by gnuplot.
 */
#include "bench.h"
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RUNS 24

struct runs {
        unsigned n, ref;
        json_t *run[MAX_RUNS];
        const char *name[MAX_RUNS];
};

static int find(const struct runs *r, const char *name)
{
        for (unsigned i = 0; i < r->n; i++)
                if (!strcmp(r->name[i], name))
                        return (int)i;
        return -1;
}

static double fig(const struct runs *r, int i, const char *kind, const char *metric)
{
        return i < 0 ? NAN : figure(scenario_of_kind(r->run[i], kind), metric);
}

static void cell(char *out, size_t len, double v, double ref)
{
        if (isnan(v)) {
                snprintf(out, len, "-");
                return;
        }
        int n = snprintf(out, len, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
        if (!isnan(ref) && ref != 0 && n > 0)
                snprintf(out + n, len - (size_t)n, " (%.2f×)", v / ref);
}

static void table(const struct runs *r)
{
        printf("| figure |");
        for (unsigned i = 0; i < r->n; i++)
                printf(" %s |", r->name[i]);
        printf("\n|---|");
        for (unsigned i = 0; i < r->n; i++)
                printf("---:|");
        printf("\n");
        /* Kinds in the order the first run that has them lists them. */
        const char *seen[64];
        unsigned nseen = 0;
        for (unsigned i = 0; i < r->n; i++) {
                const char *k;
                json_t *v;
                json_object_foreach(json_object_get(r->run[i], "scenarios"), k, v)
                {
                        const char *kind = json_string_value(json_object_get(v, "kind"));
                        unsigned j = 0;
                        while (kind && j < nseen && strcmp(seen[j], kind))
                                j++;
                        if (kind && j == nseen && nseen < 64)
                                seen[nseen++] = kind;
                }
        }
        for (unsigned s = 0; s < nseen; s++) {
                for (const struct headline *h = headlines; h->kind; h++) {
                        if (!headline_matches(h, seen[s]))
                                continue;
                        double ref = fig(r, (int)r->ref, seen[s], h->metric);
                        int any = 0;
                        for (unsigned i = 0; i < r->n; i++)
                                any |= !isnan(fig(r, (int)i, seen[s], h->metric));
                        if (!any)
                                continue;
                        printf("| %s %s (%s) |", seen[s], h->metric, h->unit);
                        for (unsigned i = 0; i < r->n; i++) {
                                char c[48];
                                cell(c, sizeof(c), fig(r, (int)i, seen[s], h->metric), ref);
                                printf(" %s |", c);
                        }
                        printf("\n");
                }
        }
}

/* One target: value (or ratio to the reference) against a bound. */
static void target(const char *what, double v, double bound, int at_least, const char *unit)
{
        const char *verdict = isnan(v)                               ? "not measured"
                              : (at_least ? v >= bound : v <= bound) ? "met"
                                                                     : "MISSED";
        printf("| %s | %s %.2f%s | %.2f%s | %s |\n", what, at_least ? "≥" : "≤", bound, unit, v,
               unit, verdict);
}

static double sum2(double a, double b)
{
        return a + b;
}

static void targets(const struct runs *r)
{
        int ws = find(r, "urelay-ws"), post = find(r, "urelay-post"), ref = (int)r->ref;
        if (ws < 0 && post < 0)
                return;
        printf("\nTargets (urelay against %s, same run):\n\n", r->name[ref]);
        printf("| target | bound | measured | verdict |\n|---|---|---:|---|\n");
        if (ws >= 0) {
                const char *up = "throughput_up_1session", *down = "throughput_down_1session";
                target("ws single-session upload / ref",
                       fig(r, ws, up, "mb_per_sec") / fig(r, ref, up, "mb_per_sec"), 2, 1, "×");
                target("ws single-session download / ref",
                       fig(r, ws, down, "mb_per_sec") / fig(r, ref, down, "mb_per_sec"), 2, 1, "×");
                target("ws CPU per GiB, upload / ref",
                       fig(r, ws, up, "cpu_s_per_gib") / fig(r, ref, up, "cpu_s_per_gib"), 0.4, 0,
                       "×");
                target("ws CPU per GiB, download / ref",
                       fig(r, ws, down, "cpu_s_per_gib") / fig(r, ref, down, "cpu_s_per_gib"), 0.4,
                       0, "×");
                target("ws sessions_per_sec / ref",
                       fig(r, ws, "sessions_per_sec", "per_sec") /
                           fig(r, ref, "sessions_per_sec", "per_sec"),
                       1.2, 1, "×");
                target("ws ping p50 / ref",
                       fig(r, ws, "ping_pong_64B", "p50_us") /
                           fig(r, ref, "ping_pong_64B", "p50_us"),
                       1, 0, "×");
                double n = fig(r, ws, "idle_sessions", "sessions");
                printf("| idle sessions held | | %.0f | (target measured at 10000) |\n", n);
                target("ws idle RSS per session, client",
                       fig(r, ws, "idle_sessions", "client_rss_per_session_kib"), 16, 0, " KiB");
                target("ws idle RSS per session, exit",
                       fig(r, ws, "idle_sessions", "exit_rss_per_session_kib"), 16, 0, " KiB");
                target("ws idle CPU, client + exit",
                       sum2(fig(r, ws, "idle_sessions", "client_idle_cpu_pct"),
                            fig(r, ws, "idle_sessions", "exit_idle_cpu_pct")),
                       1, 0, "%");
        }
        if (post >= 0)
                target("post TTFB p50", fig(r, post, "ttfb_p50_p95", "p50_us") / 1000, 2, 0, " ms");
}

static void chart(const struct runs *r, const char *path)
{
        char dat[1024];
        snprintf(dat, sizeof(dat), "%s.dat", path);
        FILE *d = fopen(dat, "w");
        if (!d) {
                fprintf(stderr, "urelay-bench: cannot write %s\n", dat);
                return;
        }
        fprintf(d, "# relay up1 down1 up16 down16 ttfb_p50_us ping_p50_us sessions_per_sec\n");
        for (unsigned i = 0; i < r->n; i++) {
                double v[7] = {
                    fig(r, (int)i, "throughput_up_1session", "mb_per_sec"),
                    fig(r, (int)i, "throughput_down_1session", "mb_per_sec"),
                    fig(r, (int)i, "throughput_up_16sessions", "mb_per_sec"),
                    fig(r, (int)i, "throughput_down_16sessions", "mb_per_sec"),
                    fig(r, (int)i, "ttfb_p50_p95", "p50_us"),
                    fig(r, (int)i, "ping_pong_64B", "p50_us"),
                    fig(r, (int)i, "sessions_per_sec", "per_sec"),
                };
                fprintf(d, "\"%s\"", r->name[i]);
                for (unsigned j = 0; j < 7; j++)
                        fprintf(d, isnan(v[j]) ? " NaN" : " %.2f", v[j]);
                fprintf(d, "\n");
        }
        fclose(d);
        FILE *g = popen("gnuplot 2>&1", "w");
        if (!g) {
                fprintf(stderr, "urelay-bench: no gnuplot; the chart's data is in %s\n", dat);
                return;
        }
        fprintf(g,
                "set terminal svg size 1100,900 dynamic font 'sans,11'\n"
                "set output '%s'\n"
                "set multiplot layout 3,1 title 'urelay-bench, loopback (%s)'\n"
                "set style data histograms\nset style histogram clustered gap 1\n"
                "set style fill solid 0.8 border -1\nset grid ytics\nset key top right\n"
                "set xtics rotate by -20 noenhanced\nset yrange [0:*]\n"
                "set ylabel 'MB/s'\nset title 'throughput (higher is better)'\n"
                "plot '%s' using 2:xtic(1) title 'up, 1 session', '' using 3 title 'down, 1 "
                "session', '' using 4 title 'up, 16 sessions', '' using 5 title 'down, 16 "
                "sessions'\n"
                "set ylabel 'µs'\nset logscale y\nset yrange [*:*]\n"
                "set title 'latency, p50 (lower is better; log scale)'\n"
                "plot '%s' using 6:xtic(1) title 'ttfb (new session, 1-byte echo)', '' using 7 "
                "title 'ping-pong, 64 B'\n"
                "unset logscale y\nset yrange [0:*]\nset ylabel 'sessions/s'\n"
                "set title 'sessions per second (open, 1 byte, close; higher is better)'\n"
                "plot '%s' using 8:xtic(1) title 'sessions/s'\nunset multiplot\n",
                path, r->name[r->ref], dat, dat, dat);
        if (pclose(g) != 0)
                fprintf(stderr, "urelay-bench: gnuplot failed; the chart's data is in %s\n", dat);
        else
                fprintf(stderr, "urelay-bench: chart in %s\n", path);
}

int cmd_compare(int argc, char **argv)
{
        struct runs r = {0};
        const char *ref = NULL, *chart_path = NULL;
        int rc = 0;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--ref") && i + 1 < argc) {
                        ref = argv[++i];
                } else if (!strcmp(argv[i], "--chart") && i + 1 < argc) {
                        chart_path = argv[++i];
                } else if (argv[i][0] != '-' && r.n < MAX_RUNS) {
                        json_t *j = load_run(argv[i]);
                        if (!j) {
                                rc = 64;
                                continue;
                        }
                        r.run[r.n] = j;
                        r.name[r.n] = json_string_value(json_object_get(j, "name"));
                        if (!r.name[r.n])
                                r.name[r.n] = argv[i];
                        r.n++;
                } else {
                        fprintf(stderr,
                                "usage: urelay-bench compare --ref NAME [--chart "
                                "FILE.svg] RUN.json... (at most %d)\n",
                                MAX_RUNS);
                        rc = 64;
                        goto out;
                }
        }
        if (!r.n || !ref) {
                fprintf(stderr, "usage: urelay-bench compare --ref NAME [--chart FILE.svg] "
                                "RUN.json...\n");
                rc = 64;
                goto out;
        }
        int at = find(&r, ref);
        if (at < 0) {
                fprintf(stderr, "urelay-bench: no run named '%s' among the files\n", ref);
                rc = 64;
                goto out;
        }
        r.ref = (unsigned)at;
        printf("Ratios are to %s.\n\n", ref);
        table(&r);
        targets(&r);
        if (chart_path)
                chart(&r, chart_path);
out:
        for (unsigned i = 0; i < r.n; i++)
                json_decref(r.run[i]);
        return rc;
}
