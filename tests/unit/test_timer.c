/* timer heap over memory: ordering, re-arming, disarming from callbacks. */
#include <criterion/criterion.h>

#include "core/timer.h"

#include <stdlib.h>

static uint64_t fired[64];
static unsigned nfired;

static void record(struct timer *t, void *arg)
{
        (void)arg;
        fired[nfired++] = t->deadline;
}

Test(timer, fires_in_order_with_random_deadlines)
{
        struct timer_heap h;
        struct timer t[50] = {0};

        nfired = 0;
        cr_assert_eq(timer_heap_init(&h, 4), 0); /* forces growth */
        srand(42);
        for (int i = 0; i < 50; i++)
                cr_assert_eq(timer_arm(&h, &t[i], 1000 + (uint64_t)(rand() % 500), record, NULL),
                             0);
        for (int i = 0; i < 50; i += 5)
                timer_disarm(&h, &t[i]);
        cr_assert_eq(timer_next(&h) >= 1000, 1);
        cr_assert_eq(timer_run(&h, 999), 0);
        cr_assert_eq(timer_run(&h, 2000), 40);
        for (unsigned i = 1; i < nfired; i++)
                cr_assert_leq(fired[i - 1], fired[i]);
        cr_assert_eq(timer_next(&h), UINT64_MAX);
        timer_heap_free(&h);
}

static struct timer_heap *cb_heap;
static struct timer *victim;

static void disarm_other(struct timer *t, void *arg)
{
        (void)t;
        (void)arg;
        timer_disarm(cb_heap, victim);
}

static void rearm_self(struct timer *t, void *arg)
{
        int *left = arg;
        if (--*left > 0)
                timer_arm(cb_heap, t, t->deadline + 10, rearm_self, arg);
}

Test(timer, callbacks_may_disarm_and_rearm)
{
        struct timer_heap h;
        struct timer a = {0}, b = {0}, c = {0};
        int left = 3;

        cr_assert_eq(timer_heap_init(&h, 8), 0);
        cb_heap = &h;
        victim = &b;
        nfired = 0;
        timer_arm(&h, &a, 10, disarm_other, NULL);
        timer_arm(&h, &b, 20, record, NULL);
        timer_arm(&h, &c, 5, rearm_self, &left);
        cr_assert_eq(timer_run(&h, 100), 4); /* a, c three times; never b */
        cr_assert_eq(nfired, 0);
        cr_assert_eq(left, 0);
        cr_assert_not(timer_armed(&b));
        timer_heap_free(&h);
}

Test(timer, rearm_moves_deadline)
{
        struct timer_heap h;
        struct timer a = {0};

        cr_assert_eq(timer_heap_init(&h, 2), 0);
        timer_arm(&h, &a, 50, record, NULL);
        timer_arm(&h, &a, 10, record, NULL);
        cr_assert_eq(h.n, 1);
        cr_assert_eq(timer_next(&h), 10);
        timer_heap_free(&h);
}
