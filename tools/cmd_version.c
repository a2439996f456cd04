/* cmd_version: `urelay version`: our version, the wolfSSL we linked and
 * whether its assembly is in use, and what io_uring offers here. */
#include "tools/cmd.h"

#include "core/reactor.h"
#include "core/uring_diag.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#if defined(WOLFSSL_AESNI)
#define WOLF_AESNI 1
#else
#define WOLF_AESNI 0
#endif
#if defined(USE_INTEL_SPEEDUP)
#define WOLF_INTEL 1
#else
#define WOLF_INTEL 0
#endif

int cmd_version(int argc, char **argv)
{
        struct reactor *r;
        struct utsname u;
        char why[512];

        if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
                printf("usage: urelay version\n\nPrints the urelay version, the wolfSSL "
                       "library and whether its assembly (AES-NI) is in use,\nthe CPU's "
                       "crypto instructions, and the io_uring features of this kernel.\n");
                return URELAY_EXIT_OK;
        }
        if (argc > 1) {
                fprintf(stderr, "urelay version: unexpected argument '%s'\n", argv[1]);
                return URELAY_EXIT_USAGE;
        }
        printf("urelay %s (protocol v1)\n", URELAY_VERSION);
        printf("wolfSSL %s: %s; assembly %s (AES-NI %s, Intel speedups %s)\n",
               wolfSSL_lib_version(),
               URELAY_WOLFSSL_SOURCE_BUILD ? "built from Debian's source package"
                                           : "Debian's packaged libwolfssl (fallback)",
               WOLF_AESNI && WOLF_INTEL ? "in use" : "NOT in use", WOLF_AESNI ? "yes" : "no",
               WOLF_INTEL ? "yes" : "no");
        __builtin_cpu_init();
        printf("cpu: aes %s, pclmul %s, avx2 %s\n", __builtin_cpu_supports("aes") ? "yes" : "no",
               __builtin_cpu_supports("pclmul") ? "yes" : "no",
               __builtin_cpu_supports("avx2") ? "yes" : "no");
        uname(&u);
        int ret = reactor_new(&r, NULL, why, sizeof(why));
        if (ret < 0) {
                printf("io_uring: UNAVAILABLE on Linux %s: %s\n", u.release, why);
                return URELAY_EXIT_OK;
        }
        struct reactor_info info;
        char desc[512];
        reactor_get_info(r, &info);
        uring_describe(info.setup_flags, info.features, desc, sizeof(desc));
        printf("io_uring: available on Linux %s; %s; sq %u cq %u; multishot recv+accept, "
               "provided buffer rings\n",
               u.release, desc, info.sq_entries, info.cq_entries);
        reactor_free(r);
        return URELAY_EXIT_OK;
}
