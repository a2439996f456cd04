/* uring_diag: why io_uring cannot be used here, in one line a user can act
 * on, and which of the features urelay relies on the kernel has.
 *
 * Called by the reactor at setup, by `urelay version`, and by the commands
 * that turn a failure into exit code 69.
 */
#ifndef URELAY_CORE_URING_DIAG_H
#define URELAY_CORE_URING_DIAG_H

#include <liburing.h>
#include <stddef.h>

/* Writes the cause of <err> (a -errno from <what>) into <why>. */
void uring_explain(int err, const char *what, char *why, size_t whylen);
/* Checks the opcodes urelay needs (multishot recv and accept, cancel by fd,
 * provided buffers). Returns 0, or -EOPNOTSUPP with the cause in <why>. */
int uring_check_features(struct io_uring *ring, char *why, size_t whylen);
/* One line naming the ring's setup flags and the useful feature bits. */
void uring_describe(unsigned setup_flags, unsigned features, char *out, size_t outlen);

#endif
