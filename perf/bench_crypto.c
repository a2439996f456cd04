/* bench_crypto: one-core throughput of batch_seal and batch_open for both
 * AEADs at three batch sizes, next to a plain memcpy of the same size.
 *
 * Crypto speed sets urelay's ceiling (BRIEF §6), so this is the first number
 * to look at on a new machine or wolfSSL build. Each cell runs for a fixed
 * time; throughput counts frame bytes (the payload a batch carries). It
 * reports and never fails.
 *
 *     urelay-bench-crypto [--seconds S] [--json]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/aead.h"

struct cell {
        const char *op;  /* "seal", "open", "memcpy" */
        const char *alg; /* algorithm name or "-" */
        size_t size;     /* frame bytes per batch */
        uint64_t iters;
        double secs;
};

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keeps the compiler from dropping work whose result nobody reads. */
static inline void clobber(void *p)
{
        __asm__ volatile("" : : "r"(p) : "memory");
}

/* Runs <fn> in rounds of 16 calls until <secs> have passed (checking the
 * clock every call would cost a visible share at 1 KiB). */
#define RUN_FOR(cellp, secs, body)                                                                 \
        do {                                                                                       \
                double t0_ = now(), t_;                                                            \
                uint64_t n_ = 0;                                                                   \
                do {                                                                               \
                        for (int k_ = 0; k_ < 16; k_++) {                                          \
                                body;                                                              \
                        }                                                                          \
                        n_ += 16;                                                                  \
                        t_ = now() - t0_;                                                          \
                } while (t_ < (secs));                                                             \
                (cellp)->iters = n_;                                                               \
                (cellp)->secs = t_;                                                                \
        } while (0)

static double mbps(const struct cell *c)
{
        return (double)c->iters * (double)c->size / c->secs / 1e6;
}

static void report(const struct cell *c, int json)
{
        double ns = c->secs * 1e9 / (double)c->iters;

        if (json)
                printf("{\"bench\":\"crypto\",\"op\":\"%s\",\"alg\":\"%s\",\"size\":%zu,"
                       "\"iterations\":%llu,\"seconds\":%.3f,\"mb_per_s\":%.1f,\"ns_per_op\":%.1f,"
                       "\"wolfssl_source_build\":%d}\n",
                       c->op, c->alg, c->size, (unsigned long long)c->iters, c->secs, mbps(c), ns,
                       URELAY_WOLFSSL_SOURCE_BUILD);
        else
                printf("  %-8s %-18s %7zu  %10.1f  %9.0f\n", c->op, c->alg, c->size, mbps(c), ns);
        fflush(stdout);
}

static int bench_alg(enum aead_alg alg, const struct aead_keys *keys, size_t size, double secs,
                     uint8_t *buf, uint8_t *scratch, int json)
{
        static const struct batch_meta meta = {.instance_id = 1, .seq = 1, .time_ms = 1};
        struct batch_sealer s;
        struct batch_opener o;
        struct batch_meta m;
        struct cell c = {.alg = aead_alg_name(alg), .size = size};
        const uint8_t *fr;
        size_t len = 0, flen;
        int rc, err = 0;

        if ((rc = batch_sealer_init(&s, keys, alg, AEAD_C2S)) < 0) {
                fprintf(stderr, "sealer: %s\n", batch_strerror(rc));
                return rc;
        }
        if ((rc = batch_opener_init(&o, keys, AEAD_C2S)) < 0) {
                fprintf(stderr, "opener: %s\n", batch_strerror(rc));
                batch_sealer_wipe(&s);
                return rc;
        }
        memset(buf + BATCH_PREFIX_LEN, 0x5a, size);

        c.op = "seal";
        RUN_FOR(&c, secs, err |= batch_seal(&s, &meta, buf, size, size + BATCH_OVERHEAD, &len));
        report(&c, json);

        /* Open the last sealed batch over and over. */
        c.op = "open";
        RUN_FOR(&c, secs,
                err |= batch_open(&o, buf, len, scratch, size + BATCH_INNER_LEN, &m, &fr, &flen));
        report(&c, json);

        batch_sealer_wipe(&s);
        batch_opener_wipe(&o);
        if (err) {
                fprintf(stderr, "%s: a seal or open failed during the run\n", aead_alg_name(alg));
                return -EIO;
        }
        return 0;
}

static void usage(FILE *f)
{
        fprintf(f, "usage: urelay-bench-crypto [--seconds S] [--json]\n"
                   "  seal/open throughput of both AEADs at 1, 16 and 64 KiB batches,\n"
                   "  next to memcpy; S seconds per cell (default 0.5)\n");
}

int main(int argc, char **argv)
{
        static const size_t sizes[] = {1024, 16384, 65536};
        static const enum aead_alg algs[] = {AEAD_AES256GCM, AEAD_CHACHA20POLY1305};
        uint8_t master[AEAD_MASTER_LEN];
        struct aead_keys keys;
        double secs = 0.5;
        int json = 0, rc = 0;
        uint8_t *buf, *scratch, *dst;
        char *end;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--json") == 0) {
                        json = 1;
                } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
                        errno = 0;
                        secs = strtod(argv[++i], &end);
                        if (errno || *end || !(secs > 0 && secs <= 600)) {
                                fprintf(stderr, "--seconds: want a number in (0, 600]\n");
                                return 2;
                        }
                } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        usage(stdout);
                        return 0;
                } else {
                        usage(stderr);
                        return 2;
                }
        }

        /* A fixed test pattern: the bench needs a key, not a secret one. */
        for (int i = 0; i < AEAD_MASTER_LEN; i++)
                master[i] = (uint8_t)(i * 29 + 5);
        if ((rc = aead_keys_derive(&keys, master)) < 0) {
                fprintf(stderr, "key derivation: %s\n", batch_strerror(rc));
                return 1;
        }
        buf = aligned_alloc(64, 65536 + BATCH_OVERHEAD + 64);
        scratch = aligned_alloc(64, 65536 + BATCH_OVERHEAD + 64);
        dst = aligned_alloc(64, 65536 + 64);
        if (!buf || !scratch || !dst) {
                fprintf(stderr, "out of memory\n");
                rc = 1;
                goto out;
        }

        if (!json) {
                printf("urelay crypto bench: one core, %.2f s per cell, wolfSSL %s\n", secs,
                       URELAY_WOLFSSL_SOURCE_BUILD ? "source build (asm)"
                                                   : "packaged (no asm: slow)");
                printf("  %-8s %-18s %7s  %10s  %9s\n", "op", "alg", "bytes", "MB/s", "ns/op");
        }
        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
                struct cell c = {.op = "memcpy", .alg = "-", .size = sizes[si]};

                memset(buf, 0x33, sizes[si]);
                RUN_FOR(&c, secs, {
                        memcpy(dst, buf, sizes[si]);
                        clobber(dst);
                });
                report(&c, json);
                for (size_t ai = 0; ai < sizeof(algs) / sizeof(algs[0]); ai++)
                        if (bench_alg(algs[ai], &keys, sizes[si], secs, buf, scratch, json) < 0)
                                rc = 1;
        }
out:
        aead_keys_wipe(&keys);
        free(buf);
        free(scratch);
        free(dst);
        return rc;
}
