/* timer: a binary min-heap of deadlines (milliseconds, CLOCK_MONOTONIC).
 *
 * The reactor waits for completions with a timeout equal to the nearest
 * deadline, so timers cost no SQE at all. Timers are intrusive: the caller
 * owns the struct timer and keeps it alive while it is armed.
 */
#ifndef URELAY_CORE_TIMER_H
#define URELAY_CORE_TIMER_H

#include <stdint.h>

struct timer;
typedef void (*timer_fn)(struct timer *t, void *arg);

struct timer {
        uint64_t deadline;
        unsigned slot; /* heap index + 1; 0 = not armed */
        timer_fn fn;
        void *arg;
};

struct timer_heap {
        struct timer **v;
        unsigned n, cap;
};

int timer_heap_init(struct timer_heap *h, unsigned cap);
void timer_heap_free(struct timer_heap *h);

/* Arms <t> (re-arms it if already armed) to fire at <deadline>.
 * Returns 0, or -ENOMEM when the heap cannot grow (t stays unarmed). */
int timer_arm(struct timer_heap *h, struct timer *t, uint64_t deadline, timer_fn fn, void *arg);
/* Disarms <t>; a no-op when it is not armed. */
void timer_disarm(struct timer_heap *h, struct timer *t);
static inline int timer_armed(const struct timer *t)
{
        return t->slot != 0;
}
/* Earliest deadline, or UINT64_MAX when no timer is armed. */
uint64_t timer_next(const struct timer_heap *h);
/* Fires every timer due at <now>, earliest first. A callback may arm or
 * disarm any timer, itself included. Returns how many fired. */
unsigned timer_run(struct timer_heap *h, uint64_t now);

uint64_t timer_now_ms(void);

#endif
