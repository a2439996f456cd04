/* log: level filtering, names, and the line format (timestamp, pid, level). */
#include <criterion/criterion.h>

#include "core/log.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Runs the logging calls with stderr captured into <out>. */
static void capture(void (*fn)(void), char *out, size_t cap)
{
        int pfd[2], saved = dup(STDERR_FILENO);

        cr_assert_eq(pipe(pfd), 0);
        dup2(pfd[1], STDERR_FILENO);
        close(pfd[1]);
        fn();
        dup2(saved, STDERR_FILENO);
        close(saved);
        ssize_t n = read(pfd[0], out, cap - 1);
        close(pfd[0]);
        out[n > 0 ? n : 0] = 0;
}

static void at_warn(void)
{
        log_set_level(LOGL_WARN);
        log_debug("hidden debug %d", 1);
        log_info("hidden info");
        log_warn("shown warn %s", "w");
        log_error("shown error");
}

Test(log, threshold_filters_and_format_is_stable)
{
        char out[4096];
        regex_t re;

        capture(at_warn, out, sizeof(out));
        cr_assert_null(strstr(out, "hidden"), "a filtered line was written: %s", out);
        cr_assert_eq(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                             "urelay\\[[0-9]+\\] WARN  shown warn w\n"
                             "[0-9T:.Z-]+ urelay\\[[0-9]+\\] ERROR shown error\n$",
                             REG_EXTENDED),
                     0);
        cr_assert_eq(regexec(&re, out, 0, NULL, 0), 0, "unexpected log output:\n%s", out);
        regfree(&re);
}

static void long_line(void)
{
        char big[3000];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        log_set_level(LOGL_INFO);
        errno = 1234;
        log_info("%s", big);
        cr_assert_eq(errno, 1234, "logging must not clobber errno");
}

Test(log, long_lines_are_cut_but_still_end_in_newline)
{
        char out[4096];

        capture(long_line, out, sizeof(out));
        size_t n = strlen(out);
        cr_assert_gt(n, 500);
        cr_assert_leq(n, 1024);
        cr_assert_eq(out[n - 1], '\n');
        cr_assert_eq(strchr(out, '\n'), out + n - 1, "one line only");
}

Test(log, level_names_parse_both_ways)
{
        enum log_level l;

        for (int i = LOGL_ERROR; i <= LOGL_DEBUG; i++) {
                cr_assert_eq(log_level_parse(log_level_name((enum log_level)i), &l), 0);
                cr_assert_eq((int)l, i);
        }
        cr_assert_eq(log_level_parse("verbose", &l), -EINVAL);
        cr_assert_eq(log_level_parse("", &l), -EINVAL);
}
