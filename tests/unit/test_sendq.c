/* sendq over memory: order across copy and reference segments, short
 * consumes that leave the cursor mid-segment, release callbacks. */
#include <criterion/criterion.h>

#include "core/sendq.h"
#include "core/stream_gen.h"

#include <stdlib.h>
#include <string.h>

/* Drains <q> in steps of <step> bytes, as short sends would, and returns
 * the bytes in the order they would reach the socket. */
static size_t drain(struct sendq *q, size_t step, uint8_t *out)
{
        struct iovec iov[4];
        size_t total, n = 0;

        while (sendq_bytes(q)) {
                unsigned k = sendq_iov(q, iov, 4, &total);
                cr_assert_gt(k, 0);
                size_t take = total < step ? total : step, left = take;
                for (unsigned i = 0; i < k && left; i++) {
                        size_t m = iov[i].iov_len < left ? iov[i].iov_len : left;
                        memcpy(out + n, iov[i].iov_base, m);
                        n += m;
                        left -= m;
                }
                sendq_consume(q, take);
        }
        return n;
}

static int released;
static void on_release(void *arg)
{
        released += *(int *)arg;
}

Test(sendq, order_kept_across_short_consumes)
{
        static uint8_t src[200000], out[200000];
        struct sendq q;
        size_t off = 0;
        int one = 1;

        stream_gen_fill(7, 0, src, sizeof(src));
        sendq_init(&q);
        released = 0;
        /* Mix of tiny copies (coalesced), big copies and references. */
        size_t sizes[] = {1, 2, 3, 5000, 17, 70000, 1, 4095, 30000};
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                if (i % 3 == 2)
                        cr_assert_eq(sendq_push_ref(&q, src + off, sizes[i], on_release, &one), 0);
                else
                        cr_assert_eq(sendq_push_copy(&q, src + off, sizes[i]), 0);
                off += sizes[i];
        }
        cr_assert_eq(sendq_bytes(&q), off);
        size_t n = drain(&q, 777, out);
        cr_assert_eq(n, off);
        uint64_t bad;
        cr_assert_eq(stream_gen_check(7, 0, out, n, &bad), 0, "reordered at %llu",
                     (unsigned long long)bad);
        cr_assert_eq(released, 3, "each reference released exactly once");
        cr_assert_eq(sendq_bytes(&q), 0);
        sendq_clear(&q);
}

Test(sendq, append_while_in_flight_does_not_move_sent_bytes)
{
        struct sendq q;
        struct iovec iov[2];
        size_t total;

        sendq_init(&q);
        cr_assert_eq(sendq_push_copy(&q, "abc", 3), 0);
        cr_assert_eq(sendq_iov(&q, iov, 2, &total), 1);
        const char *inflight = iov[0].iov_base;
        /* More bytes arrive while "abc" is in flight: they may share the
         * segment, but "abc" must not move or change. */
        cr_assert_eq(sendq_push_copy(&q, "defg", 4), 0);
        cr_assert_eq(memcmp(inflight, "abc", 3), 0);
        sendq_consume(&q, 2); /* short send: "c" is left */
        cr_assert_eq(sendq_iov(&q, iov, 2, &total), 1);
        cr_assert_eq(total, 5);
        cr_assert_eq(memcmp(iov[0].iov_base, "cdefg", 5), 0);
        sendq_clear(&q);
}

Test(sendq, clear_releases_references)
{
        struct sendq q;
        int two = 2;

        sendq_init(&q);
        released = 0;
        cr_assert_eq(sendq_push_ref(&q, "x", 1, on_release, &two), 0);
        cr_assert_eq(sendq_push_copy(&q, "y", 1), 0);
        sendq_clear(&q);
        cr_assert_eq(released, 2);
        cr_assert_eq(sendq_bytes(&q), 0);
}

Test(sendq, iov_limit_respected)
{
        struct sendq q;
        struct iovec iov[2];
        size_t total;
        static uint8_t a[8], b[8], c[8];

        sendq_init(&q);
        sendq_push_ref(&q, a, 8, NULL, NULL);
        sendq_push_ref(&q, b, 8, NULL, NULL);
        sendq_push_ref(&q, c, 8, NULL, NULL);
        cr_assert_eq(sendq_iov(&q, iov, 2, &total), 2);
        cr_assert_eq(total, 16);
        cr_assert_eq(iov[0].iov_base, a);
        cr_assert_eq(iov[1].iov_base, b);
        sendq_clear(&q);
}
