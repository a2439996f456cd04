/* backoff: see backoff.h. */
#include "core/backoff.h"

uint64_t backoff_step(uint64_t cur, uint64_t base, uint64_t cap)
{
        uint64_t next;

        if (!cap)
                cap = 1;
        if (!base)
                base = 1;
        if (base > cap)
                base = cap;
        /* Halving the cap instead of doubling cur: no overflow. */
        next = cur > cap / 2 ? cap : cur * 2;
        return next < base ? base : next;
}

uint64_t backoff_jitter(uint64_t step, uint64_t cap, uint64_t rnd)
{
        uint64_t lo = step - step / 5, hi = step + step / 5;

        if (hi < step) /* wrapped */
                hi = UINT64_MAX;
        if (hi > cap)
                hi = cap;
        if (lo > hi)
                lo = hi;
        /* hi - lo + 1 wraps to 0 only for the whole 64-bit range. */
        return hi - lo + 1 ? lo + rnd % (hi - lo + 1) : rnd;
}
