/* ws_frame: header encodings, split headers, and masking at any phase. */
#include <criterion/criterion.h>

#include "transport/ws_frame.h"

#include <string.h>

Test(ws_frame, header_lengths_round_trip)
{
        static const uint64_t lens[] = {0, 1, 125, 126, 65535, 65536, 1u << 20};
        static const uint8_t mask[4] = {1, 2, 3, 4};
        uint8_t h[WS_FRAME_HEADER_MAX];
        struct ws_frame f;

        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
                for (int m = 0; m < 2; m++) {
                        size_t n = ws_frame_header(h, WS_OP_BINARY, lens[i], m ? mask : NULL);
                        size_t want = (lens[i] < 126 ? 2 : lens[i] <= 0xffff ? 4 : 10) + 4u * m;
                        cr_assert_eq(n, want);
                        /* Incomplete until the last header byte. */
                        for (size_t k = 0; k < n; k++)
                                cr_assert_eq(ws_frame_parse(h, k, &f), 0);
                        cr_assert_eq(ws_frame_parse(h, n, &f), n);
                        cr_assert(f.fin && f.minimal);
                        cr_assert_eq(f.opcode, WS_OP_BINARY);
                        cr_assert_eq(f.rsv, 0);
                        cr_assert_eq(f.len, lens[i]);
                        cr_assert_eq(f.masked, m == 1);
                        if (m)
                                cr_assert_eq(memcmp(f.mask, mask, 4), 0);
                }
        }
}

Test(ws_frame, non_minimal_lengths_are_flagged)
{
        uint8_t h[10] = {0x82, 126, 0, 5};
        struct ws_frame f;

        cr_assert_eq(ws_frame_parse(h, 4, &f), 4);
        cr_assert_not(f.minimal);
        uint8_t g[10] = {0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        cr_assert_eq(ws_frame_parse(g, 10, &f), 10);
        cr_assert_not(f.minimal);
        g[2] = 0x80; /* top bit of a 64-bit length */
        cr_assert_eq(ws_frame_parse(g, 10, &f), 10);
        cr_assert_not(f.minimal);
}

Test(ws_frame, mask_matches_bytewise_at_every_phase)
{
        static const uint8_t mask[4] = {0xa1, 0x5b, 0x07, 0xe3};
        uint8_t src[101], dst[101], want[101];

        for (size_t i = 0; i < sizeof(src); i++)
                src[i] = (uint8_t)(i * 31 + 5);
        for (uint64_t phase = 0; phase < 9; phase++) {
                for (size_t n = 0; n <= sizeof(src); n += 1 + n / 4) {
                        for (size_t i = 0; i < n; i++)
                                want[i] = src[i] ^ mask[(phase + i) % 4];
                        ws_frame_mask(dst, src, n, mask, phase);
                        cr_assert_eq(memcmp(dst, want, n), 0, "phase %lu n %zu",
                                     (unsigned long)phase, n);
                        memcpy(dst, src, n);
                        ws_frame_mask(dst, dst, n, mask, phase); /* in place */
                        cr_assert_eq(memcmp(dst, want, n), 0);
                }
        }
}
