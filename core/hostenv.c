/* hostenv: the host's clocks and randomness; see hostenv.h. tests/sim links
 * a simulated one instead of this file. */
#include "core/hostenv.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t read_ms(clockid_t id)
{
        struct timespec ts;

        clock_gettime(id, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t hostenv_mono_ms(void)
{
        return read_ms(CLOCK_MONOTONIC);
}

uint64_t hostenv_wall_ms(void)
{
        return read_ms(CLOCK_REALTIME);
}

void hostenv_random(void *p, size_t n)
{
        uint8_t *out = p;
        ssize_t got = getrandom(out, n, GRND_NONBLOCK);
        uint64_t x = read_ms(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)p;

        if (got == (ssize_t)n)
                return;
        for (size_t i = got > 0 ? (size_t)got : 0; i < n; i++) {
                /* splitmix64 steps: only where getrandom is unavailable. */
                x += 0x9e3779b97f4a7c15ull;
                uint64_t z = x;
                z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
                z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
                out[i] = (uint8_t)(z ^ (z >> 31));
        }
}
