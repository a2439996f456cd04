/* log: levelled, timestamped lines on stderr.
 *
 * Sits under everything. Callers never log keys, nonces or plaintext; the
 * level check is inline so a disabled debug line costs one comparison.
 */
#ifndef URELAY_CORE_LOG_H
#define URELAY_CORE_LOG_H

enum log_level { LOGL_ERROR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };

extern enum log_level log_threshold;

void log_set_level(enum log_level level);
/* Parses "error", "warn", "info" or "debug". Returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...)                                                                           \
        do {                                                                                       \
                if ((lvl) <= log_threshold)                                                        \
                        log_write((lvl), __VA_ARGS__);                                             \
        } while (0)
#define log_error(...) log_at(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOGL_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOGL_DEBUG, __VA_ARGS__)

#endif
