/* fuzz_frame_decode: libFuzzer target for the frame codec (core/frame.h).
 *
 * Walks the input as a frames region. Every frame that decodes must encode
 * back to exactly the bytes it came from (the codec has one encoding per
 * frame), and the walk must end cleanly or with a specific error.
 *
 * fuzz-sources: core/frame.c
 * Built and run by scripts/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static uint8_t out[FRAME_MAX_LEN];
        struct frame_iter it;
        struct frame f;
        size_t before = 0, used;
        int rc;

        frame_iter_init(&it, data, size);
        while ((rc = frame_next(&it, &f)) == 1) {
                size_t len = it.off - before;

                if (len > FRAME_MAX_LEN || frame_encoded_len(&f) != len)
                        abort();
                if (frame_encode(&f, out, sizeof(out), &used) != 0 || used != len ||
                    memcmp(out, data + before, len) != 0)
                        abort();
                before = it.off;
        }
        if (rc == 0 ? it.off != size : (rc == FRAME_ETRUNC || it.off != before))
                abort();
        if (frame_next(&it, &f) != rc)
                abort();
        return 0;
}
