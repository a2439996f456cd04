/* cmd_selfcheck: `urelay selfcheck`: proves on this machine that the reactor
 * moves bytes intact over loopback and that batches of frames seal and open
 * with both ciphers (and that tampered or reflected ones are refused), and
 * prints how fast each went. The README's main command runs it.
 */
#include "tools/cmd.h"

#include "core/aead.h"
#include "core/frame.h"
#include "core/reactor.h"
#include "core/stream_gen.h"
#include "core/timer.h"
#include "tools/echo.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_PAYLOAD (16 * 1024)

static int check_reactor(unsigned mib)
{
        struct reactor *r;
        struct echo_server s = {0};
        struct echo_client c = {.total = (uint64_t)mib << 20, .key = 0x5e1fc4ec};
        pthread_t t;
        char why[512];
        int ret = reactor_new(&r, NULL, why, sizeof(why));

        if (ret < 0) {
                fprintf(stderr, "urelay selfcheck: io_uring unavailable: %s\n", why);
                return URELAY_EXIT_NOURING;
        }
        ret = echo_server_start(&s, r, 0);
        if (ret < 0) {
                fprintf(stderr, "urelay selfcheck: cannot listen on 127.0.0.1: %s\n",
                        strerror(-ret));
                reactor_free(r);
                return URELAY_EXIT_RUNTIME;
        }
        c.port = s.port;
        if (pthread_create(&t, NULL, echo_client_thread, &c) != 0) {
                reactor_free(r);
                return URELAY_EXIT_RUNTIME;
        }
        ret = echo_run_until_done(r, &c, 1, 120000);
        if (ret < 0) {
                /* The client is stuck in a socket call: its fd dies with us. */
                fprintf(stderr, "urelay selfcheck: reactor echo did not finish in 120 s\n");
                return URELAY_EXIT_RUNTIME;
        }
        pthread_join(t, NULL);
        const struct reactor_stats *st = reactor_stats(r);
        printf("reactor: %u MiB echoed over loopback, every byte checked: %s; %.0f MB/s each "
               "way\n         short sends %llu, ENOBUFS %llu, re-arms %llu, CQ overflow %llu\n",
               mib, c.ok ? "ok" : "FAILED", (double)c.received / 1e6 / c.seconds,
               (unsigned long long)st->short_sends, (unsigned long long)st->enobufs,
               (unsigned long long)st->rearms, (unsigned long long)st->cq_overflow);
        if (!c.ok)
                printf("reactor: first bad byte at offset %llu%s%s\n",
                       (unsigned long long)c.bad_offset, c.err ? ": " : "",
                       c.err ? strerror(c.err) : "");
        reactor_free(r);
        return c.ok ? URELAY_EXIT_OK : URELAY_EXIT_RUNTIME;
}

/* One batch: DATA frames carrying stream bytes [off, off + BATCH_PAYLOAD). */
static int build_batch(uint8_t *buf, size_t cap, uint64_t off, size_t *frames_len)
{
        size_t pos = BATCH_PREFIX_LEN, used;
        uint8_t chunk[4096];

        for (size_t done = 0; done < BATCH_PAYLOAD; done += sizeof(chunk)) {
                struct frame f = {.type = FRAME_DATA, .sid = 1};
                stream_gen_fill(off, off + done, chunk, sizeof(chunk));
                f.data.offset = off + done;
                f.data.data = chunk;
                f.data.len = sizeof(chunk);
                int ret = frame_encode(&f, buf + pos, cap - BATCH_TAG_LEN - pos, &used);
                if (ret < 0)
                        return ret;
                pos += used;
        }
        *frames_len = pos - BATCH_PREFIX_LEN;
        return 0;
}

static int verify_frames(const uint8_t *p, size_t len, uint64_t off)
{
        struct frame_iter it;
        struct frame f;
        uint64_t bad, got = 0;
        int ret;

        frame_iter_init(&it, p, len);
        while ((ret = frame_next(&it, &f)) == 1) {
                if (f.type != FRAME_DATA || f.data.offset != off + got ||
                    stream_gen_check(off, f.data.offset, f.data.data, f.data.len, &bad) < 0)
                        return -1;
                got += f.data.len;
        }
        return ret == 0 && got == BATCH_PAYLOAD ? 0 : -1;
}

static int check_cipher(const struct aead_keys *keys, enum aead_alg alg, double seconds)
{
        static uint8_t buf[BATCH_PAYLOAD * 2], scratch[BATCH_PAYLOAD * 2];
        struct batch_sealer s;
        struct batch_opener o, reflect;
        struct batch_meta meta = {.instance_id = 1}, got;
        const uint8_t *frames;
        size_t frames_len = 0, out_len = 0, n;
        uint64_t bytes = 0, off = 0;
        int ok = 1;

        if (batch_sealer_init(&s, keys, alg, AEAD_C2S) < 0 ||
            batch_opener_init(&o, keys, AEAD_C2S) < 0 ||
            batch_opener_init(&reflect, keys, AEAD_S2C) < 0) {
                printf("crypto: %s: cannot set up\n", aead_alg_name(alg));
                return -1;
        }
        uint64_t t0 = timer_now_ms(), elapsed;
        do {
                for (int i = 0; i < 16 && ok; i++, off += BATCH_PAYLOAD) {
                        meta.seq++;
                        if (build_batch(buf, sizeof(buf), off, &frames_len) < 0 ||
                            batch_seal(&s, &meta, buf, frames_len, sizeof(buf), &out_len) < 0 ||
                            batch_open(&o, buf, out_len, scratch, sizeof(scratch), &got, &frames,
                                       &n) < 0 ||
                            got.seq != meta.seq || verify_frames(frames, n, off) < 0)
                                ok = 0;
                        bytes += frames_len;
                }
                elapsed = timer_now_ms() - t0;
        } while (ok && elapsed < (uint64_t)(seconds * 1000));

        /* The last batch is still sealed in buf: a flipped bit and a batch
         * sent back the other way must both be refused. */
        int reflected =
            batch_open(&reflect, buf, out_len, scratch, sizeof(scratch), &got, &frames, &n);
        buf[out_len / 2] ^= 0x01;
        int tampered = batch_open(&o, buf, out_len, scratch, sizeof(scratch), &got, &frames, &n);
        int wiped = 1;
        for (size_t i = 0; i < out_len - BATCH_OVERHEAD; i++)
                wiped &= scratch[i] == 0;
        ok = ok && reflected < 0 && tampered == BATCH_EAUTH && wiped;
        printf("crypto: %-17s 16 KiB batches of DATA frames, frame+seal+open+check: %s; "
               "%.0f MB/s\n        tampered batch refused (%s), scratch wiped: %s; reflected "
               "batch refused: %s\n",
               aead_alg_name(alg), ok ? "ok" : "FAILED",
               (double)bytes / 1e3 / (double)(elapsed ? elapsed : 1), batch_strerror(tampered),
               wiped ? "yes" : "NO", reflected < 0 ? "yes" : "NO");
        batch_sealer_wipe(&s);
        batch_opener_wipe(&o);
        batch_opener_wipe(&reflect);
        return ok ? 0 : -1;
}

static int check_crypto(double seconds)
{
        uint8_t master[AEAD_MASTER_LEN];
        struct aead_keys keys;
        WC_RNG rng;
        int ok = 1;

        if (wc_InitRng(&rng) != 0 || wc_RNG_GenerateBlock(&rng, master, sizeof(master)) != 0) {
                fprintf(stderr, "urelay selfcheck: the random generator failed\n");
                return URELAY_EXIT_RUNTIME;
        }
        wc_FreeRng(&rng);
        if (aead_keys_derive(&keys, master) < 0)
                return URELAY_EXIT_RUNTIME;
        explicit_bzero(master, sizeof(master));
        ok &= check_cipher(&keys, AEAD_AES256GCM, seconds) == 0;
        ok &= check_cipher(&keys, AEAD_CHACHA20POLY1305, seconds) == 0;
        aead_keys_wipe(&keys);
        return ok ? URELAY_EXIT_OK : URELAY_EXIT_RUNTIME;
}

static void usage(FILE *f)
{
        fprintf(f, "usage: urelay selfcheck [--mib N] [--seconds S]\n\n"
                   "Checks this machine end to end without touching the network beyond "
                   "127.0.0.1:\n"
                   "  - the io_uring reactor echoes N MiB over loopback, every byte checked\n"
                   "  - batches of frames seal and open with AES-256-GCM and ChaCha20-Poly1305,\n"
                   "    and a tampered or reflected batch is refused\n"
                   "and prints the throughput of each.\n\n"
                   "  --mib N       MiB to echo (1..4096, default 64)\n"
                   "  --seconds S   time per cipher (0.05..60, default 0.5)\n\n"
                   "exit codes: 0 all checks passed, 1 a check failed, 64 usage, "
                   "69 io_uring unavailable\n");
}

int cmd_selfcheck(int argc, char **argv)
{
        unsigned long mib = 64;
        double seconds = 0.5;

        for (int i = 1; i < argc; i++) {
                char *end;
                if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                        usage(stdout);
                        return URELAY_EXIT_OK;
                } else if (!strcmp(argv[i], "--mib") && i + 1 < argc) {
                        mib = strtoul(argv[++i], &end, 10);
                        if (*end || mib < 1 || mib > 4096) {
                                fprintf(stderr,
                                        "urelay selfcheck: --mib: '%s' is not a number "
                                        "in 1..4096\n",
                                        argv[i]);
                                return URELAY_EXIT_USAGE;
                        }
                } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
                        seconds = strtod(argv[++i], &end);
                        if (*end || !(seconds >= 0.05 && seconds <= 60)) {
                                fprintf(stderr,
                                        "urelay selfcheck: --seconds: '%s' is not a "
                                        "number in 0.05..60\n",
                                        argv[i]);
                                return URELAY_EXIT_USAGE;
                        }
                } else {
                        fprintf(stderr, "urelay selfcheck: unknown option '%s'\n", argv[i]);
                        usage(stderr);
                        return URELAY_EXIT_USAGE;
                }
        }
        int ret = check_reactor((unsigned)mib);
        if (ret == URELAY_EXIT_NOURING)
                return ret;
        int cret = check_crypto(seconds);
        if (ret == URELAY_EXIT_OK && cret == URELAY_EXIT_OK) {
                printf("selfcheck: all checks passed\n");
                return URELAY_EXIT_OK;
        }
        printf("selfcheck: FAILED\n");
        return URELAY_EXIT_RUNTIME;
}
