/* procstat: CPU time and memory of the relay's processes, from /proc.
 *
 * A watched process is summed with its direct children (dante serves from
 * forked children), found through /proc/PID/task/TID/children. Peak RSS is
 * VmHWM, reset before each scenario run by writing 5 to clear_refs.
 */
#include "bench.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int one_sample(pid_t pid, struct proc_sample *s)
{
        char path[64], line[512];
        FILE *f;
        unsigned long ut = 0, st = 0;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        f = fopen(path, "r");
        if (!f)
                return -1;
        char *ok = fgets(line, sizeof(line), f);
        fclose(f);
        char *p = ok ? strrchr(line, ')') : NULL;
        /* After "comm)": state ppid pgrp session tty tpgid flags minflt
         * cminflt majflt cmajflt utime stime. */
        if (!p ||
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
                return -1;
        s->cpu_s += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "r");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f)) {
                unsigned long long kb;
                if (sscanf(line, "VmRSS: %llu", &kb) == 1)
                        s->rss_kb += kb;
                else if (sscanf(line, "VmHWM: %llu", &kb) == 1)
                        s->peak_kb += kb;
        }
        fclose(f);
        return 0;
}

/* Calls fn for each direct child of pid. */
static void each_child(pid_t pid, void (*fn)(pid_t, void *), void *arg)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        DIR *d = opendir(path);
        struct dirent *e;

        while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.')
                        continue;
                char cpath[300];
                snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", (int)pid, e->d_name);
                FILE *f = fopen(cpath, "r");
                int c;
                while (f && fscanf(f, "%d", &c) == 1)
                        fn((pid_t)c, arg);
                if (f)
                        fclose(f);
        }
        if (d)
                closedir(d);
}

static void add_child(pid_t c, void *arg)
{
        one_sample(c, arg);
}

int proc_sample(pid_t pid, struct proc_sample *out)
{
        memset(out, 0, sizeof(*out));
        if (one_sample(pid, out) < 0)
                return -1;
        each_child(pid, add_child, out);
        return 0;
}

static void reset_one(pid_t pid, void *arg)
{
        char path[64];
        (void)arg;
        snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
        FILE *f = fopen(path, "w");
        if (f) {
                fputs("5", f);
                fclose(f);
        }
}

void proc_reset_peak(pid_t pid)
{
        reset_one(pid, NULL);
        each_child(pid, reset_one, NULL);
}
