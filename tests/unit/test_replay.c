/* test_replay: the batch replay window (core/replay.h, protocol.md §3.4).
 *
 * In-order and out-of-order arrival, duplicates, sequences below the window,
 * the ±30 s time edges, the window sliding across 64-bit block boundaries and
 * jumping far, and check() leaving the state alone. A plain set of every
 * committed sequence serves as the reference in the randomized test.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/replay.h"

#define NOW UINT64_C(1700000000000) /* some Unix time in ms */

static int check(const struct replay *r, uint64_t seq)
{
        return replay_check(r, seq, NOW, NOW);
}

/* check, and commit if new: what the exit does after batch_open(). */
static int accept(struct replay *r, uint64_t seq)
{
        int rc = check(r, seq);

        if (rc == 0)
                replay_commit(r, seq);
        return rc;
}

Test(replay, in_order)
{
        struct replay r;

        replay_init(&r);
        for (uint64_t s = 0; s < 5000; s++) {
                cr_assert_eq(accept(&r, s), 0, "seq %lu", (unsigned long)s);
                cr_assert_eq(check(&r, s), REPLAY_EDUP, "seq %lu", (unsigned long)s);
        }
        for (uint64_t s = 5000 - REPLAY_WINDOW; s < 5000; s++)
                cr_assert_eq(check(&r, s), REPLAY_EDUP, "seq %lu", (unsigned long)s);
        cr_assert_eq(check(&r, 5000 - REPLAY_WINDOW - 1), REPLAY_ETOOOLD);
        cr_assert_eq(check(&r, 0), REPLAY_ETOOOLD);
}

Test(replay, first_sequence_can_be_anything)
{
        struct replay r;

        replay_init(&r);
        cr_assert_eq(accept(&r, 1000000), 0);
        cr_assert_eq(check(&r, 1000000), REPLAY_EDUP);
        cr_assert_eq(check(&r, 1000000 - 1), 0);
        cr_assert_eq(check(&r, 1000000 - (REPLAY_WINDOW - 1)), 0);
        cr_assert_eq(check(&r, 1000000 - REPLAY_WINDOW), REPLAY_ETOOOLD);
}

Test(replay, out_of_order_within_window)
{
        struct replay r;

        replay_init(&r);
        cr_assert_eq(accept(&r, 100), 0);
        cr_assert_eq(accept(&r, 98), 0);
        cr_assert_eq(accept(&r, 99), 0);
        cr_assert_eq(accept(&r, 97), 0);
        cr_assert_eq(accept(&r, 100), REPLAY_EDUP);
        cr_assert_eq(accept(&r, 98), REPLAY_EDUP);
        cr_assert_eq(accept(&r, 3000), 0);
        /* 3000 - 2047 = 953 is the oldest still inside. */
        cr_assert_eq(accept(&r, 953), 0);
        cr_assert_eq(accept(&r, 953), REPLAY_EDUP);
        cr_assert_eq(accept(&r, 952), REPLAY_ETOOOLD);
        cr_assert_eq(accept(&r, 100), REPLAY_ETOOOLD);
        cr_assert_eq(accept(&r, 2999), 0);
        cr_assert_eq(accept(&r, 1500), 0);
        cr_assert_eq(accept(&r, 1500), REPLAY_EDUP);
}

Test(replay, time_skew_edges)
{
        struct replay r;

        replay_init(&r);
        cr_assert_eq(replay_check(&r, 0, NOW - 29000, NOW), 0);
        cr_assert_eq(replay_check(&r, 0, NOW + 29000, NOW), 0);
        cr_assert_eq(replay_check(&r, 0, NOW - 30000, NOW), 0);
        cr_assert_eq(replay_check(&r, 0, NOW + 30000, NOW), 0);
        cr_assert_eq(replay_check(&r, 0, NOW - 30001, NOW), REPLAY_ETIME);
        cr_assert_eq(replay_check(&r, 0, NOW + 30001, NOW), REPLAY_ETIME);
        cr_assert_eq(replay_check(&r, 0, NOW - 31000, NOW), REPLAY_ETIME);
        cr_assert_eq(replay_check(&r, 0, NOW + 31000, NOW), REPLAY_ETIME);
        /* No wrap-around in the distance at the ends of the range. */
        cr_assert_eq(replay_check(&r, 0, 0, UINT64_MAX), REPLAY_ETIME);
        cr_assert_eq(replay_check(&r, 0, UINT64_MAX, 0), REPLAY_ETIME);
        cr_assert_eq(replay_check(&r, 0, UINT64_MAX, UINT64_MAX - 30000), 0);
        /* Time is judged first: a duplicate out of time is refused, not acked. */
        replay_commit(&r, 7);
        cr_assert_eq(replay_check(&r, 7, NOW - 31000, NOW), REPLAY_ETIME);
        cr_assert_eq(replay_check(&r, 7, NOW - 29000, NOW), REPLAY_EDUP);
        /* The time check alone (before the exit makes a window) draws the
         * same line. */
        cr_assert_eq(replay_check_time(NOW - 30000, NOW), 0);
        cr_assert_eq(replay_check_time(NOW + 30000, NOW), 0);
        cr_assert_eq(replay_check_time(NOW - 30001, NOW), REPLAY_ETIME);
        cr_assert_eq(replay_check_time(NOW + 30001, NOW), REPLAY_ETIME);
        cr_assert_eq(replay_check_time(0, UINT64_MAX), REPLAY_ETIME);
}

Test(replay, check_without_commit_changes_nothing)
{
        struct replay r, before;

        replay_init(&r);
        memcpy(&before, &r, sizeof(r));
        cr_assert_eq(check(&r, 5), 0);
        cr_assert_eq(memcmp(&r, &before, sizeof(r)), 0);
        cr_assert_eq(check(&r, 5), 0, "an unauthenticated batch must not burn its sequence");

        replay_commit(&r, 5000);
        memcpy(&before, &r, sizeof(r));
        cr_assert_eq(check(&r, 100000), 0);
        cr_assert_eq(check(&r, 4999), 0);
        cr_assert_eq(check(&r, 5000), REPLAY_EDUP);
        cr_assert_eq(memcmp(&r, &before, sizeof(r)), 0);
        /* The forged far-ahead sequence did not push 4999 out of the window. */
        cr_assert_eq(accept(&r, 4999), 0);
}

Test(replay, commit_of_dup_or_old_is_harmless)
{
        struct replay r, before;

        replay_init(&r);
        replay_commit(&r, 10000);
        replay_commit(&r, 9999);
        memcpy(&before, &r, sizeof(r));
        replay_commit(&r, 9999);
        replay_commit(&r, 10000);
        replay_commit(&r, 10000 - REPLAY_WINDOW);
        replay_commit(&r, 0);
        cr_assert_eq(memcmp(&r, &before, sizeof(r)), 0);
}

Test(replay, slides_across_block_boundaries)
{
        static uint8_t committed[64 * 48];
        struct replay r;

        /* Steps of 1..3 put the top on both sides of every 64-bit block
         * boundary; after each commit the whole window must still say
         * exactly which sequences were committed. */
        replay_init(&r);
        memset(committed, 0, sizeof(committed));
        for (uint64_t s = 60; s < sizeof(committed); s += 1 + s % 3) {
                uint64_t lo = s >= REPLAY_WINDOW - 1 ? s - (REPLAY_WINDOW - 1) : 0;

                cr_assert_eq(accept(&r, s), 0, "seq %lu", (unsigned long)s);
                committed[s] = 1;
                for (uint64_t o = lo; o <= s; o++)
                        cr_assert_eq(check(&r, o), committed[o] ? REPLAY_EDUP : 0,
                                     "top %lu seq %lu", (unsigned long)s, (unsigned long)o);
                if (lo > 0)
                        cr_assert_eq(check(&r, lo - 1), REPLAY_ETOOOLD);
        }
}

/* Big jumps, including ones that skip more than the whole ring, and a top
 * near the end of the 64-bit range. */
Test(replay, big_jumps)
{
        static const uint64_t starts[] = {0, 63, 64, 1000, UINT64_MAX - (1u << 21)};
        static const uint64_t jumps[] = {REPLAY_WINDOW, REPLAY_WINDOW + 1, 64 * REPLAY_BLOCKS,
                                         64 * (REPLAY_BLOCKS + 1) + 5, 1u << 20};

        for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
                uint64_t b = starts[i];
                struct replay r;

                /* Jumps of exactly the window and more, up to past the
                 * whole block ring: nothing before survives, and every slot
                 * of the new window is fresh except the top. */
                for (size_t j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++) {
                        uint64_t top = b + 99 + jumps[j];

                        replay_init(&r);
                        for (uint64_t s = b; s < b + 100; s++)
                                cr_assert_eq(accept(&r, s), 0);
                        cr_assert_eq(accept(&r, top), 0);
                        for (uint64_t s = b; s < b + 100; s++)
                                cr_assert_eq(check(&r, s), REPLAY_ETOOOLD);
                        for (uint64_t s = top - (REPLAY_WINDOW - 1); s < top; s++)
                                cr_assert_eq(check(&r, s), 0, "start %lu jump %lu seq %lu",
                                             (unsigned long)b, (unsigned long)jumps[j],
                                             (unsigned long)s);
                        cr_assert_eq(check(&r, top), REPLAY_EDUP);
                        cr_assert_eq(check(&r, top - REPLAY_WINDOW), REPLAY_ETOOOLD);
                }
                /* Just under the window: the old tail survives. */
                replay_init(&r);
                for (uint64_t s = b; s < b + 100; s++)
                        cr_assert_eq(accept(&r, s), 0);
                cr_assert_eq(accept(&r, b + 99 + REPLAY_WINDOW - 1), 0);
                cr_assert_eq(check(&r, b + 99), REPLAY_EDUP);
                cr_assert_eq(check(&r, b + 98), REPLAY_ETOOOLD);
                cr_assert_eq(check(&r, b + 100), 0);
        }
        /* A huge jump and the very last sequence. */
        {
                struct replay r;

                replay_init(&r);
                cr_assert_eq(accept(&r, 5), 0);
                cr_assert_eq(accept(&r, UINT64_MAX), 0);
                cr_assert_eq(check(&r, UINT64_MAX), REPLAY_EDUP);
                cr_assert_eq(check(&r, UINT64_MAX - 1), 0);
                cr_assert_eq(check(&r, 5), REPLAY_ETOOOLD);
                cr_assert_eq(check(&r, UINT64_MAX - REPLAY_WINDOW), REPLAY_ETOOOLD);
        }
}

/* Random arrivals around a moving top against a reference that remembers
 * every committed sequence. */
Test(replay, matches_reference)
{
        static uint8_t seen[1u << 21];
        const uint64_t n = sizeof(seen);
        struct replay r;
        uint64_t top = 0;
        int any = 0;
        unsigned x = 12345;

        replay_init(&r);
        memset(seen, 0, sizeof(seen));
        for (int i = 0; i < 50000; i++) {
                uint64_t s;
                int want;

                x = x * 1103515245u + 12345u;
                if ((x >> 16) % 50 == 0)
                        s = top + ((x >> 8) % 3000); /* occasional jump ahead */
                else
                        s = top + 5 > (x >> 12) % 2600 ? top + 5 - (x >> 12) % 2600 : 0;
                if (s >= n)
                        s = n - 1;
                if (!any || s > top)
                        want = 0;
                else if (top - s >= REPLAY_WINDOW)
                        want = REPLAY_ETOOOLD;
                else
                        want = seen[s] ? REPLAY_EDUP : 0;
                cr_assert_eq(accept(&r, s), want, "i %d seq %lu top %lu", i, (unsigned long)s,
                             (unsigned long)top);
                if (want == 0) {
                        seen[s] = 1;
                        if (!any || s > top)
                                top = s;
                        any = 1;
                }
        }
        /* The walk really moved the window far, without hitting the cap. */
        cr_assert_gt(top, 100000);
        cr_assert_lt(top, n - 1);
}

Test(replay, strerror_names_every_code)
{
        cr_assert_str_neq(replay_strerror(REPLAY_EDUP), replay_strerror(REPLAY_ETOOOLD));
        cr_assert_str_neq(replay_strerror(REPLAY_EDUP), replay_strerror(REPLAY_ETIME));
        cr_assert_str_neq(replay_strerror(REPLAY_ETIME), "unknown error");
        cr_assert_str_neq(replay_strerror(REPLAY_ETOOOLD), "unknown error");
        cr_assert_str_neq(replay_strerror(REPLAY_EDUP), "unknown error");
        cr_assert_str_eq(replay_strerror(-1), "unknown error");
}

/* Issue 13, defect 5: with --grace 3 the exit freed an instance, and its
 * batches, replayed 8.6 s later, found an empty window in a new one and
 * were delivered again. The memo of the freed window refuses them for as
 * long as their time could pass, and lets the same client go on. */
Test(replay, memo_outlives_the_window_of_a_freed_sender)
{
        const uint64_t t0 = 1800000000000ull;
        struct replay_memo m;
        struct replay r, fresh;
        uint64_t tag;

        cr_assert_eq(replay_memo_init(&m, 8), 0);
        cr_assert_not(replay_memo_restore(&m, 0, 7, t0, &fresh, &tag));
        cr_assert_eq(tag, 0);
        replay_init(&r);
        for (uint64_t s = 100; s <= 140; s++)
                replay_commit(&r, s);
        /* A window that saw nothing refuses nothing, but its tag stays. */
        replay_init(&fresh);
        replay_memo_add(&m, 0, 7, &fresh, 11, t0);
        cr_assert(replay_memo_restore(&m, 0, 7, t0, &fresh, &tag));
        cr_assert_eq(tag, 11);
        cr_assert_eq(replay_check(&fresh, 5, t0, t0), 0);

        replay_memo_add(&m, 0, 7, &r, 12, t0 + 3000); /* freed after its grace */
        cr_assert(replay_memo_restore(&m, 0, 7, t0 + 11600, &fresh, &tag));
        cr_assert_eq(tag, 12, "the latest free has the word");
        /* Every sequence it had, or had skipped below its top: refused. */
        cr_assert_eq(replay_check(&fresh, 120, t0 + 1000, t0 + 11600), REPLAY_EDUP);
        cr_assert_eq(replay_check(&fresh, 140, t0 + 2900, t0 + 11600), REPLAY_EDUP);
        cr_assert_lt(replay_check(&fresh, 3, t0, t0 + 11600), 0);
        /* The same client's next batch goes on. */
        cr_assert_eq(replay_check(&fresh, 141, t0 + 11600, t0 + 11600), 0);
        /* Other senders, other keys: untouched. */
        cr_assert_not(replay_memo_restore(&m, 0, 8, t0 + 11600, &fresh, &tag));
        cr_assert_not(replay_memo_restore(&m, 1, 7, t0 + 11600, &fresh, &tag));
        /* Kept until every batch it saw is refused by time anyway. */
        uint64_t until = t0 + 3000 + REPLAY_MEMO_MS;
        cr_assert(replay_memo_restore(&m, 0, 7, until - 1, &fresh, &tag));
        cr_assert_not(replay_memo_restore(&m, 0, 7, until, &fresh, &tag));
        cr_assert_lt(replay_check_time(t0 + 3000 + REPLAY_SKEW_MS, until + 1), 0,
                     "a batch the memo saw would pass the time check after the memo went");
        replay_memo_free(&m);
}

Test(replay, memo_ring_counts_what_it_drops_early)
{
        const uint64_t t0 = 1800000000000ull;
        struct replay_memo m;
        struct replay r, out;
        uint64_t tag;

        cr_assert_eq(replay_memo_init(&m, 4), 0);
        replay_init(&r);
        replay_commit(&r, 5);
        for (uint64_t id = 1; id <= 6; id++)
                replay_memo_add(&m, 0, id, &r, id, t0);
        cr_assert_eq(m.overwritten, 2);
        cr_assert_not(replay_memo_restore(&m, 0, 1, t0, &out, &tag));
        cr_assert(replay_memo_restore(&m, 0, 6, t0, &out, &tag));
        cr_assert_eq(tag, 6);
        replay_memo_free(&m);
}
