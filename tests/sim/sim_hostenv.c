/* sim_hostenv: core/hostenv.h for the simulator: the sim clock, a wall
 * clock that each node may see skewed, and the seed's randomness. */
#include "core/hostenv.h"

#include "tests/sim/sim.h"

#include <string.h>

int64_t sim_skew_ms[NODE_COUNT];

uint64_t hostenv_mono_ms(void)
{
        /* Far from 0, as a real monotonic clock is. */
        return 1000000 + sim_now();
}

uint64_t hostenv_wall_ms(void)
{
        return (uint64_t)((int64_t)(SIM_WALL_BASE + sim_now()) + sim_skew_ms[sim_current_node()]);
}

void hostenv_random(void *p, size_t n)
{
        uint8_t *out = p;

        while (n) {
                uint64_t x = sim_rand();
                size_t k = n < sizeof(x) ? n : sizeof(x);
                memcpy(out, &x, k);
                out += k;
                n -= k;
        }
}
