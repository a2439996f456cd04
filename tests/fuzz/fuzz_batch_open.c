/* fuzz_batch_open: libFuzzer target for batch_open (core/aead.h).
 *
 * Two modes, chosen by the first input byte:
 *  - even: the rest is a batch from the network. It almost never
 *    authenticates, which is the point: every header check and the
 *    wipe-on-failure contract run on hostile input. A failure must leave
 *    the scratch all zero.
 *  - odd: the rest is a frames region; it is sealed with the fixed key,
 *    opened again (so mutations get past the AEAD without a test hook in the
 *    library), compared, and walked with the frame iterator.
 *
 * fuzz-sources: core/aead.c core/frame.c core/log.c core/hostenv.c
 * Built and run by scripts/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/aead.h"
#include "core/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct aead_keys keys;
static struct batch_opener opener[2];
static struct batch_sealer sealer[2];
static int ready;

static void setup(void)
{
        uint8_t master[AEAD_MASTER_LEN];

        for (int i = 0; i < AEAD_MASTER_LEN; i++)
                master[i] = (uint8_t)(0x40 + i); /* fuzzing pattern, not a key */
        if (aead_keys_derive(&keys, master) != 0 ||
            batch_opener_init(&opener[0], &keys, AEAD_C2S) != 0 ||
            batch_opener_init(&opener[1], &keys, AEAD_S2C) != 0 ||
            batch_sealer_init(&sealer[0], &keys, AEAD_AES256GCM, AEAD_C2S) != 0 ||
            batch_sealer_init(&sealer[1], &keys, AEAD_CHACHA20POLY1305, AEAD_S2C) != 0)
                abort();
        ready = 1;
}

static void walk(const uint8_t *frames, size_t len)
{
        struct frame_iter it;
        struct frame f;
        int rc;

        frame_iter_init(&it, frames, len);
        while ((rc = frame_next(&it, &f)) == 1)
                ;
        if (rc > 0 || it.off > len)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static uint8_t buf[BATCH_MAX], scratch[BATCH_MAX];
        const uint8_t *frames;
        struct batch_meta meta = {0}, want = {.instance_id = 7, .seq = 9, .time_ms = 11};
        size_t flen, len;
        int rc, mode;

        if (!ready)
                setup();
        if (size < 1 || size - 1 > BATCH_MAX_FRAMES)
                return 0;
        mode = data[0];
        data++, size--;

        if ((mode & 1) == 0) {
                struct batch_opener *o = &opener[mode >> 1 & 1];
                size_t ct = size > BATCH_HEADER_LEN + BATCH_TAG_LEN
                                ? size - BATCH_HEADER_LEN - BATCH_TAG_LEN
                                : 0;

                memset(scratch, 0xaa, ct);
                rc = batch_open(o, data, size, scratch, sizeof(scratch), &meta, &frames, &flen);
                if (rc == 0) {
                        walk(frames, flen);
                        return 0;
                }
                for (size_t i = 0; i < ct; i++)
                        if (scratch[i] != 0)
                                abort();
                return 0;
        }

        memcpy(buf + BATCH_PREFIX_LEN, data, size);
        if (batch_seal(&sealer[mode >> 1 & 1], &want, buf, size, sizeof(buf), &len) != 0)
                abort();
        rc = batch_open(&opener[mode >> 1 & 1], buf, len, scratch, sizeof(scratch), &meta, &frames,
                        &flen);
        if (rc != 0 || flen != size || memcmp(frames, data, size) != 0 || meta.seq != want.seq ||
            meta.instance_id != want.instance_id || meta.time_ms != want.time_ms)
                abort();
        walk(frames, flen);
        return 0;
}
