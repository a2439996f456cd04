/* backoff: steps start at the base and double up to the cap; the jittered
 * wait stays within +-20% of its step and never past the cap, for every
 * random draw. The cases from issue 13: a 1 s reconnect cap (waits of up to
 * 1.18 s before) and a 4 s blacklist_max (4.6 s before). */
#include "core/backoff.h"

#include <criterion/criterion.h>
#include <stdint.h>

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t draw(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

/* Runs a backoff from nothing through <failures> failures, <draws> times,
 * checking every wait; returns the largest wait seen. */
static uint64_t run(uint64_t base, uint64_t cap, unsigned failures, unsigned draws)
{
        uint64_t eff_base = base > cap ? cap : base, seen_max = 0;

        for (unsigned d = 0; d < draws; d++) {
                uint64_t step = 0, prev = 0;
                for (unsigned i = 0; i < failures; i++) {
                        uint64_t wait = backoff_next(&step, base, cap, draw());
                        uint64_t want = i == 0 ? eff_base : (prev * 2 > cap ? cap : prev * 2);
                        cr_assert_eq(step, want, "failure %u: step %llu, want %llu", i,
                                     (unsigned long long)step, (unsigned long long)want);
                        cr_assert_leq(wait, cap, "failure %u: wait %llu past the cap %llu", i,
                                      (unsigned long long)wait, (unsigned long long)cap);
                        cr_assert_geq(wait, step - step / 5,
                                      "failure %u: wait %llu below step %llu", i,
                                      (unsigned long long)wait, (unsigned long long)step);
                        cr_assert_leq(wait, step + step / 5,
                                      "failure %u: wait %llu above step %llu", i,
                                      (unsigned long long)wait, (unsigned long long)step);
                        cr_assert_geq(wait, eff_base - eff_base / 5);
                        if (wait > seen_max)
                                seen_max = wait;
                        prev = step;
                }
        }
        return seen_max;
}

Test(backoff, reconnect_one_second_cap)
{
        /* --reconnect-delay 100 --max-reconnect-delay 1 */
        uint64_t max = run(100, 1000, 12, 20000);
        cr_assert_leq(max, 1000);
        cr_assert_geq(max, 990, "the cap is reached (the jitter only shortens there)");
}

Test(backoff, reconnect_defaults)
{
        /* 250 ms doubling to 30 s. */
        cr_assert_leq(run(250, 30000, 20, 5000), 30000);
}

Test(backoff, blacklist_four_second_cap)
{
        /* --blacklist 2 --blacklist-max 4 (seconds), as in test_pool_health. */
        uint64_t max = run(2000, 4000, 8, 20000);
        cr_assert_leq(max, 4000);
        cr_assert_geq(max, 3950);
}

Test(backoff, base_above_cap_is_the_cap)
{
        /* reconnect_delay may be set to 60000 ms with a 1 s cap. */
        cr_assert_eq(backoff_step(0, 60000, 1000), 1000);
        cr_assert_leq(run(60000, 1000, 4, 2000), 1000);
}

Test(backoff, doubles_then_stays)
{
        uint64_t s = 0;
        uint64_t want[] = {250, 500, 1000, 2000, 4000, 8000, 10000, 10000};

        for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                s = backoff_step(s, 250, 10000);
                cr_assert_eq(s, want[i], "step %u: %llu", i, (unsigned long long)s);
        }
}

Test(backoff, jitter_spans_both_sides)
{
        /* Below the cap the draws reach both ends of +-20%. */
        uint64_t lo = UINT64_MAX, hi = 0;

        for (unsigned i = 0; i < 20000; i++) {
                uint64_t w = backoff_jitter(1000, 10000, draw());
                lo = w < lo ? w : lo;
                hi = w > hi ? w : hi;
        }
        cr_assert(lo >= 800 && lo <= 810, "lowest %llu", (unsigned long long)lo);
        cr_assert(hi >= 1190 && hi <= 1200, "highest %llu", (unsigned long long)hi);
        /* The ends themselves. */
        cr_assert_eq(backoff_jitter(1000, 10000, 0), 800);
        cr_assert_eq(backoff_jitter(1000, 10000, 400), 1200);
        /* At the cap the range is [800, 1000]: its top is the cap itself. */
        cr_assert_eq(backoff_jitter(1000, 1000, 200), 1000);
        cr_assert_eq(backoff_jitter(1000, 1000, 201), 800);
}

Test(backoff, extremes)
{
        cr_assert_eq(backoff_step(UINT64_MAX, 1, UINT64_MAX), UINT64_MAX, "no overflow");
        cr_assert_eq(backoff_step(0, 0, 100), 1, "a zero base is 1 ms");
        cr_assert_eq(backoff_jitter(0, 100, draw()), 0);
        cr_assert_leq(backoff_jitter(UINT64_MAX, UINT64_MAX, draw()), UINT64_MAX);
        cr_assert_geq(backoff_jitter(UINT64_MAX, UINT64_MAX, 0), UINT64_MAX - UINT64_MAX / 5);
}
