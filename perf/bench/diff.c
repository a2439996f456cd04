/* diff: the headline figures of two runs, flagging regressions.
 *
 * Scenarios are matched by kind (throughput_up_1session, ...), so runs with
 * different sizes still line up; differing machines or settings are warned
 * about. A figure regresses when it is worse by more than the threshold
 * (percent) and by more than its noise floor (absolute, report.c).
 */
#include "bench.h"
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *load_run(const char *path)
{
        json_error_t e;
        json_t *r = json_load_file(path, 0, &e);

        if (!r) {
                fprintf(stderr, "urelay-bench: %s:%d:%d: %s\n", path, e.line, e.column, e.text);
                return NULL;
        }
        if (!json_is_object(json_object_get(r, "scenarios"))) {
                fprintf(stderr, "urelay-bench: %s: not a urelay-bench run (no \"scenarios\")\n",
                        path);
                json_decref(r);
                return NULL;
        }
        return r;
}

json_t *scenario_of_kind(json_t *run, const char *kind)
{
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(run, "scenarios"), k, v)
        {
                const char *vk = json_string_value(json_object_get(v, "kind"));
                if (vk && !strcmp(vk, kind))
                        return v;
        }
        return NULL;
}

double figure(json_t *scenario, const char *metric)
{
        json_t *v = json_object_get(scenario, metric);
        if (!scenario || json_object_get(scenario, "error") || !json_is_number(v))
                return NAN;
        return json_number_value(v);
}

static void warn_differs(json_t *a, json_t *b, const char *what, const char *key)
{
        json_t *x = json_object_get(json_object_get(a, what), key);
        json_t *y = json_object_get(json_object_get(b, what), key);
        if (!json_equal(x, y)) {
                char *sx = json_dumps(x, JSON_ENCODE_ANY), *sy = json_dumps(y, JSON_ENCODE_ANY);
                printf("warning: %s.%s differs: %s against %s\n", what, key, sx ? sx : "none",
                       sy ? sy : "none");
                free(sx);
                free(sy);
        }
}

int cmd_diff(int argc, char **argv)
{
        const char *files[2] = {0};
        double thr = 10;
        unsigned nf = 0, worse = 0;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--threshold") && i + 1 < argc) {
                        char *end;
                        thr = strtod(argv[++i], &end);
                        if (*end || thr < 0 || thr > 1000) {
                                fprintf(stderr, "urelay-bench: bad --threshold '%s'\n", argv[i]);
                                return 64;
                        }
                } else if (argv[i][0] != '-' && nf < 2) {
                        files[nf++] = argv[i];
                } else {
                        fprintf(stderr, "usage: urelay-bench diff BASE.json CURRENT.json "
                                        "[--threshold PCT]\n");
                        return 64;
                }
        }
        if (nf != 2) {
                fprintf(stderr,
                        "usage: urelay-bench diff BASE.json CURRENT.json [--threshold PCT]\n");
                return 64;
        }
        json_t *a = load_run(files[0]), *b = a ? load_run(files[1]) : NULL;
        if (!a || !b) {
                json_decref(a);
                return 64;
        }
        static const char *host_keys[] = {"cpu", "ncpu", "kernel", "arch"};
        for (unsigned i = 0; i < 4; i++)
                warn_differs(a, b, "host", host_keys[i]);
        static const char *cfg_keys[] = {"proxy", "size_1", "size_n", "idle", "runs"};
        for (unsigned i = 0; i < 5; i++)
                warn_differs(a, b, "config", cfg_keys[i]);

        printf("%-28s %-27s %12s %12s %8s\n", "scenario", "figure", "baseline", "current", "Δ%");
        const char *k;
        json_t *sa;
        json_object_foreach(json_object_get(a, "scenarios"), k, sa)
        {
                const char *kind = json_string_value(json_object_get(sa, "kind"));
                json_t *sb = kind ? scenario_of_kind(b, kind) : NULL;
                for (const struct headline *h = headlines; kind && h->kind; h++) {
                        if (!headline_matches(h, kind) || !json_object_get(sa, h->metric))
                                continue;
                        double x = figure(sa, h->metric), y = figure(sb, h->metric);
                        if (!sb || isnan(y)) {
                                printf("%-28s %-27s %12.1f %12s\n", kind, h->metric, x,
                                       sb ? "(failed)" : "(not run)");
                                worse += sb != NULL;
                                continue;
                        }
                        double pct = x != 0 ? (y - x) / fabs(x) * 100 : 0;
                        double gain = h->higher_better ? pct : -pct;
                        int noise = fabs(y - x) <= h->floor;
                        const char *mark = noise || fabs(pct) < thr ? ""
                                           : gain > 0               ? "better"
                                                                    : "REGRESSION";
                        worse += mark[0] == 'R';
                        printf("%-28s %-27s %12.1f %12.1f %+7.1f%% %s\n", kind, h->metric, x, y,
                               pct, mark);
                }
        }
        printf("%u regression%s beyond %.0f%%\n", worse, worse == 1 ? "" : "s", thr);
        json_decref(a);
        json_decref(b);
        return worse ? 1 : 0;
}
