/* stream_gen: seekable, keyed, and the checker names the first bad byte. */
#include <criterion/criterion.h>

#include "core/stream_gen.h"

#include <string.h>

Test(stream_gen, any_split_gives_the_same_bytes)
{
        uint8_t whole[1000], parts[1000];

        stream_gen_fill(99, 5, whole, sizeof(whole));
        size_t off = 0, step = 1;
        while (off < sizeof(parts)) {
                size_t n = step < sizeof(parts) - off ? step : sizeof(parts) - off;
                stream_gen_fill(99, 5 + off, parts + off, n);
                off += n;
                step = step * 3 % 17 + 1;
        }
        cr_assert_eq(memcmp(whole, parts, sizeof(whole)), 0);
}

Test(stream_gen, keys_differ_and_errors_are_located)
{
        uint8_t a[256], b[256];
        uint64_t bad = 0;

        stream_gen_fill(1, 0, a, sizeof(a));
        stream_gen_fill(2, 0, b, sizeof(b));
        cr_assert_neq(memcmp(a, b, sizeof(a)), 0);
        cr_assert_eq(stream_gen_check(1, 0, a, sizeof(a), &bad), 0);
        a[137] ^= 1;
        cr_assert_eq(stream_gen_check(1, 0, a, sizeof(a), &bad), -1);
        cr_assert_eq(bad, 137);
        /* A shifted (duplicated or dropped) byte is caught at the shift. */
        stream_gen_fill(1, 0, a, sizeof(a));
        cr_assert_eq(stream_gen_check(1, 1, a, sizeof(a) - 1, &bad), -1);
        cr_assert_lt(bad, 10);
        /* Cross-talk: another session's bytes fail at once. */
        cr_assert_eq(stream_gen_check(1, 0, b, sizeof(b), &bad), -1);
        cr_assert_lt(bad, 4);
}

Test(stream_gen, reordered_words_and_unaligned_errors_show)
{
        uint8_t a[512], w[8];
        uint64_t bad = 0;

        /* Two whole words swapped: caught at the first of them. */
        stream_gen_fill(7, 0, a, sizeof(a));
        memcpy(w, a + 64, 8);
        memcpy(a + 64, a + 128, 8);
        memcpy(a + 128, w, 8);
        cr_assert_eq(stream_gen_check(7, 0, a, sizeof(a), &bad), -1);
        cr_assert_eq(bad, 64);
        /* An unaligned start, and an error in the partial last word. */
        stream_gen_fill(7, 3, a, 301);
        cr_assert_eq(stream_gen_check(7, 3, a, 301, &bad), 0);
        a[300] ^= 0x80;
        cr_assert_eq(stream_gen_check(7, 3, a, 301, &bad), -1);
        cr_assert_eq(bad, 303);
}
