/* backoff: the one rule for waiting after failures, shared by the client's
 * WebSocket reconnects, its post link's requests and the endpoint pool's
 * benching (tools/client*.c).
 *
 * A backoff is a step that starts at <base> ms and doubles after each
 * failure up to <cap> ms; the wait actually taken is the step with +-20%
 * jitter, so that clients that failed together do not retry together. The
 * jitter never takes a wait past the cap: at the cap it only shortens. Pure
 * arithmetic: the caller keeps the step, supplies the random number and owns
 * the clock.
 */
#ifndef URELAY_CORE_BACKOFF_H
#define URELAY_CORE_BACKOFF_H

#include <stdint.h>

/* The step after <cur> (0: there was none, the first failure): <base>, then
 * double, never above <cap>. A base above the cap is the cap; a zero base is
 * 1 ms. */
uint64_t backoff_step(uint64_t cur, uint64_t base, uint64_t cap);

/* The wait for step <step>: uniform in [step - step/5, step + step/5] from
 * <rnd> (any 64-bit random number), clipped to <cap>. */
uint64_t backoff_jitter(uint64_t step, uint64_t cap, uint64_t rnd);

/* Both at once: advances *step and returns the wait. */
static inline uint64_t backoff_next(uint64_t *step, uint64_t base, uint64_t cap, uint64_t rnd)
{
        *step = backoff_step(*step, base, cap);
        return backoff_jitter(*step, cap, rnd);
}

#endif
