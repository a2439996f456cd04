/* report: the machine a run came from, the headline figures and the table. */
#include "bench.h"
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

const struct headline headlines[] = {
    {"throughput_up_", "mb_per_sec", "MB/s", 1, 0},
    {"throughput_up_", "cpu_s_per_gib", "CPU-s/GiB", 0, 0.05},
    {"throughput_down_", "mb_per_sec", "MB/s", 1, 0},
    {"throughput_down_", "cpu_s_per_gib", "CPU-s/GiB", 0, 0.05},
    {"ttfb_p50_p95", "p50_us", "µs", 0, 20},
    {"ttfb_p50_p95", "p95_us", "µs", 0, 20},
    {"ping_pong_64B", "p50_us", "µs", 0, 10},
    {"ping_pong_64B", "p99_us", "µs", 0, 20},
    {"sessions_per_sec", "per_sec", "/s", 1, 0},
    {"sessions_per_sec", "cpu_us_per_session", "CPU-µs", 0, 10},
    {"ttfb_under_download", "p50_us", "µs", 0, 50},
    {"ttfb_under_download", "download_mb_per_sec", "MB/s", 1, 0},
    {"idle_sessions", "client_rss_per_session_kib", "KiB", 0, 1},
    {"idle_sessions", "exit_rss_per_session_kib", "KiB", 0, 1},
    {"idle_sessions", "client_idle_cpu_pct", "%", 0, 1.0},
    {"idle_sessions", "exit_idle_cpu_pct", "%", 0, 1.0},
    {NULL, NULL, NULL, 0, 0},
};

int headline_matches(const struct headline *h, const char *kind)
{
        size_t n = strlen(h->kind);
        /* A trailing '_' makes the entry a prefix (every session count). */
        return h->kind[n - 1] == '_' ? strncmp(kind, h->kind, n) == 0 : strcmp(kind, h->kind) == 0;
}

static void cpu_model(char *out, size_t len)
{
        FILE *f = fopen("/proc/cpuinfo", "r");
        char line[256];

        snprintf(out, len, "unknown");
        while (f && fgets(line, sizeof(line), f)) {
                char *c = strchr(line, ':');
                if (strncmp(line, "model name", 10) == 0 && c) {
                        c += 2;
                        c[strcspn(c, "\n")] = 0;
                        snprintf(out, len, "%s", c);
                        break;
                }
        }
        if (f)
                fclose(f);
}

json_t *report_host(void)
{
        struct utsname u;
        char model[128], host[128] = "";
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

        uname(&u);
        gethostname(host, sizeof(host) - 1);
        cpu_model(model, sizeof(model));
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "hostname", host, "os", u.sysname,
                         "kernel", u.release, "arch", u.machine, "cpu", model, "ncpu",
                         (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "mem_mib",
                         (json_int_t)((double)pages * (double)psize / 1048576.0));
}

static double num(const json_t *o, const char *k)
{
        json_t *v = json_object_get(o, k);
        return json_is_number(v) ? json_number_value(v) : NAN;
}

void report_table_header(void)
{
        printf("%-34s %-44s %-14s %s\n", "scenario", "result", "relay CPU", "peak RSS client/exit");
}

void report_table_row(const char *name, const json_t *s)
{
        const char *kind = json_string_value(json_object_get(s, "kind"));
        const char *err = json_string_value(json_object_get(s, "error"));
        char res[128] = "", cpu[48] = "", rss[48] = "";

        if (!kind)
                return;
        if (strncmp(kind, "throughput_", 11) == 0) {
                snprintf(res, sizeof(res), "%.1f MB/s", num(s, "mb_per_sec"));
                if (!isnan(num(s, "cpu_s_per_gib")))
                        snprintf(cpu, sizeof(cpu), "%.2f s/GiB", num(s, "cpu_s_per_gib"));
        } else if (strcmp(kind, "sessions_per_sec") == 0) {
                snprintf(res, sizeof(res), "%.0f /s (%.0f ok, %.0f failed)", num(s, "per_sec"),
                         num(s, "ok"), num(s, "fail"));
                if (!isnan(num(s, "cpu_us_per_session")))
                        snprintf(cpu, sizeof(cpu), "%.0f µs/session", num(s, "cpu_us_per_session"));
        } else if (strcmp(kind, "idle_sessions") == 0) {
                char c[16] = "-", e[16] = "-";
                if (!isnan(num(s, "client_rss_per_session_kib")))
                        snprintf(c, sizeof(c), "%.1f", num(s, "client_rss_per_session_kib"));
                if (!isnan(num(s, "exit_rss_per_session_kib")))
                        snprintf(e, sizeof(e), "%.1f", num(s, "exit_rss_per_session_kib"));
                snprintf(res, sizeof(res), "%.0f sessions, %s/%s KiB each", num(s, "sessions"), c,
                         e);
                if (!isnan(num(s, "client_idle_cpu_pct")))
                        snprintf(
                            cpu, sizeof(cpu), "%.1f%%/%.1f%% idle", num(s, "client_idle_cpu_pct"),
                            isnan(num(s, "exit_idle_cpu_pct")) ? 0 : num(s, "exit_idle_cpu_pct"));
        } else {
                snprintf(res, sizeof(res), "p50 %.0f p95 %.0f p99 %.0f µs", num(s, "p50_us"),
                         num(s, "p95_us"), num(s, "p99_us"));
                if (strcmp(kind, "ttfb_under_download") == 0)
                        snprintf(res + strlen(res), sizeof(res) - strlen(res), ", %.0f MB/s",
                                 num(s, "download_mb_per_sec"));
                double op = !isnan(num(s, "cpu_us_per_rt")) ? num(s, "cpu_us_per_rt")
                                                            : num(s, "cpu_us_per_session");
                if (!isnan(op))
                        snprintf(cpu, sizeof(cpu), "%.0f µs/op", op);
        }
        double c = num(s, "client_peak_rss_kb"), e = num(s, "exit_peak_rss_kb");
        if (!isnan(c) || !isnan(e)) {
                char a[16] = "-", b[16] = "-";
                if (!isnan(c))
                        snprintf(a, sizeof(a), "%.1f", c / 1024);
                if (!isnan(e))
                        snprintf(b, sizeof(b), "%.1f", e / 1024);
                snprintf(rss, sizeof(rss), "%s/%s MiB", a, b);
        }
        if (err)
                snprintf(res, sizeof(res), "FAILED: %.100s", err);
        printf("%-34s %-44s %-14s %s\n", name, res, cpu, rss);
}
