/* uring_diag: io_uring availability diagnosis; see uring_diag.h. */
#include "core/uring_diag.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

static int read_sysctl(const char *path)
{
        FILE *f = fopen(path, "r");
        int v = -1;

        if (f) {
                if (fscanf(f, "%d", &v) != 1)
                        v = -1;
                fclose(f);
        }
        return v;
}

void uring_explain(int err, const char *what, char *why, size_t whylen)
{
        struct utsname u;
        int disabled;

        if (!why || !whylen)
                return;
        uname(&u);
        switch (-err) {
        case ENOSYS:
                snprintf(why, whylen,
                         "%s: the kernel has no io_uring (Linux %s is too old or built without "
                         "CONFIG_IO_URING); urelay needs Linux 6.0 or later",
                         what, u.release);
                return;
        case EPERM:
        case EACCES:
                disabled = read_sysctl("/proc/sys/kernel/io_uring_disabled");
                if (disabled == 2)
                        snprintf(why, whylen,
                                 "%s: io_uring is disabled by the sysctl "
                                 "kernel.io_uring_disabled=2 (set it to 0 to allow it)",
                                 what);
                else if (disabled == 1)
                        snprintf(why, whylen,
                                 "%s: io_uring is restricted by kernel.io_uring_disabled=1 to "
                                 "members of kernel.io_uring_group (add this user, or set it "
                                 "to 0)",
                                 what);
                else
                        snprintf(why, whylen,
                                 "%s: io_uring is blocked by a seccomp filter or security "
                                 "policy (a container runtime's default seccomp profile does "
                                 "this: allow io_uring_setup, io_uring_enter and "
                                 "io_uring_register)",
                                 what);
                return;
        case ENOMEM:
                snprintf(why, whylen,
                         "%s: out of locked memory for the ring (raise `ulimit -l`, or use "
                         "Linux 5.12+ where rings are charged to the memory cgroup)",
                         what);
                return;
        case EINVAL:
                snprintf(why, whylen,
                         "%s: the kernel (Linux %s) rejected the request; it lacks a feature "
                         "urelay needs (provided buffer rings need 5.19, multishot recv 6.0)",
                         what, u.release);
                return;
        default:
                snprintf(why, whylen, "%s: %s", what, strerror(-err));
        }
}

int uring_check_features(struct io_uring *ring, char *why, size_t whylen)
{
        struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
        struct utsname u;
        int ret = 0;

        uname(&u);
        if (!probe) {
                snprintf(why, whylen, "io_uring: cannot probe opcodes on Linux %s (needs 6.0+)",
                         u.release);
                return -EOPNOTSUPP;
        }
        /* Multishot recv arrived in 6.0 together with SEND_ZC; there is no
         * direct probe for the multishot flag, so SEND_ZC stands for it. */
        if (!io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL) ||
            !io_uring_opcode_supported(probe, IORING_OP_ACCEPT) ||
            !io_uring_opcode_supported(probe, IORING_OP_SEND_ZC)) {
                snprintf(why, whylen,
                         "io_uring on Linux %s lacks multishot recv/accept (needs Linux 6.0+)",
                         u.release);
                ret = -EOPNOTSUPP;
        }
        io_uring_free_probe(probe);
        return ret;
}

void uring_describe(unsigned setup_flags, unsigned features, char *out, size_t outlen)
{
        static const struct {
                unsigned bit;
                const char *name;
        } flags[] = {{IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER"},
                     {IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN"},
                     {IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"},
                     {IORING_SETUP_SUBMIT_ALL, "SUBMIT_ALL"},
                     {IORING_SETUP_CQSIZE, "CQSIZE"}},
          feats[] = {
              {IORING_FEAT_NODROP, "NODROP"},     {IORING_FEAT_FAST_POLL, "FAST_POLL"},
              {IORING_FEAT_EXT_ARG, "EXT_ARG"},   {IORING_FEAT_NATIVE_WORKERS, "NATIVE_WORKERS"},
              {IORING_FEAT_CQE_SKIP, "CQE_SKIP"}, {IORING_FEAT_LINKED_FILE, "LINKED_FILE"}};
        size_t n = (size_t)snprintf(out, outlen, "setup");
        for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]) && n < outlen; i++)
                if (setup_flags & flags[i].bit)
                        n += (size_t)snprintf(out + n, outlen - n, " %s", flags[i].name);
        if (n < outlen)
                n += (size_t)snprintf(out + n, outlen - n, "; features");
        for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]) && n < outlen; i++)
                if (features & feats[i].bit)
                        n += (size_t)snprintf(out + n, outlen - n, " %s", feats[i].name);
}
