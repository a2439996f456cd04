/* log: one line per event, "2026-11-22T04:16:45.123Z urelay[pid] LEVEL msg",
 * written with a single write(2) so lines from several processes sharing a
 * terminal do not interleave mid-line.
 */
#include "core/log.h"

#include "core/hostenv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOGL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
        log_threshold = level;
}

int log_level_parse(const char *name, enum log_level *out)
{
        for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
                if (strcmp(name, level_names[i]) == 0) {
                        *out = (enum log_level)i;
                        return 0;
                }
        }
        return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
        return (unsigned)level < 4 ? level_names[level] : "?";
}

void log_write(enum log_level level, const char *fmt, ...)
{
        static const char *const tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
        char line[1024];
        uint64_t now = hostenv_wall_ms();
        time_t sec = (time_t)(now / 1000);
        struct tm tm;
        size_t n;
        va_list ap;
        int saved = errno;

        gmtime_r(&sec, &tm);
        n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ urelay[%d] %s ",
                              (long)(now % 1000), (int)getpid(), tags[(unsigned)level & 3]);
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
        va_end(ap);
        if (m < 0)
                m = 0;
        n += (size_t)m < sizeof(line) - n - 1 ? (size_t)m : sizeof(line) - n - 2;
        line[n++] = '\n';
        ssize_t w = write(STDERR_FILENO, line, n);
        (void)w;
        errno = saved;
}
