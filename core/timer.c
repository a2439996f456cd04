/* timer: binary min-heap keyed on deadline; see timer.h. */
#include "core/timer.h"

#include "core/hostenv.h"

#include <errno.h>
#include <stdlib.h>

uint64_t timer_now_ms(void)
{
        return hostenv_mono_ms();
}

int timer_heap_init(struct timer_heap *h, unsigned cap)
{
        h->n = 0;
        h->cap = cap ? cap : 16;
        h->v = calloc(h->cap, sizeof(*h->v));
        return h->v ? 0 : -ENOMEM;
}

void timer_heap_free(struct timer_heap *h)
{
        for (unsigned i = 0; i < h->n; i++)
                h->v[i]->slot = 0;
        free(h->v);
        h->v = NULL;
        h->n = h->cap = 0;
}

static void place(struct timer_heap *h, unsigned i, struct timer *t)
{
        h->v[i] = t;
        t->slot = i + 1;
}

static void sift_up(struct timer_heap *h, unsigned i)
{
        struct timer *t = h->v[i];

        while (i > 0) {
                unsigned parent = (i - 1) / 2;
                if (h->v[parent]->deadline <= t->deadline)
                        break;
                place(h, i, h->v[parent]);
                i = parent;
        }
        place(h, i, t);
}

static void sift_down(struct timer_heap *h, unsigned i)
{
        struct timer *t = h->v[i];

        for (;;) {
                unsigned c = 2 * i + 1;
                if (c >= h->n)
                        break;
                if (c + 1 < h->n && h->v[c + 1]->deadline < h->v[c]->deadline)
                        c++;
                if (t->deadline <= h->v[c]->deadline)
                        break;
                place(h, i, h->v[c]);
                i = c;
        }
        place(h, i, t);
}

void timer_disarm(struct timer_heap *h, struct timer *t)
{
        if (!t->slot)
                return;
        unsigned i = t->slot - 1;
        t->slot = 0;
        struct timer *last = h->v[--h->n];
        if (i == h->n)
                return;
        place(h, i, last);
        if (i > 0 && h->v[(i - 1) / 2]->deadline > last->deadline)
                sift_up(h, i);
        else
                sift_down(h, i);
}

int timer_arm(struct timer_heap *h, struct timer *t, uint64_t deadline, timer_fn fn, void *arg)
{
        timer_disarm(h, t);
        if (h->n == h->cap) {
                unsigned cap = h->cap * 2;
                struct timer **v = realloc(h->v, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                h->v = v;
                h->cap = cap;
        }
        t->deadline = deadline;
        t->fn = fn;
        t->arg = arg;
        place(h, h->n++, t);
        sift_up(h, h->n - 1);
        return 0;
}

uint64_t timer_next(const struct timer_heap *h)
{
        return h->n ? h->v[0]->deadline : UINT64_MAX;
}

unsigned timer_run(struct timer_heap *h, uint64_t now)
{
        unsigned fired = 0;

        while (h->n && h->v[0]->deadline <= now) {
                struct timer *t = h->v[0];
                timer_disarm(h, t);
                fired++;
                t->fn(t, t->arg);
        }
        return fired;
}
