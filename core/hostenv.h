/* hostenv: what the runtime reads from the host besides sockets: the clocks
 * and a source of non-secret randomness (instance ids, jitter).
 *
 * Every clock read in the runtime goes through here (timer_now_ms,
 * tunnel_wall_ms and the log's timestamps are thin wrappers), so that
 * tests/sim can link its own hostenv in place of core/hostenv.c and run the
 * real client and exit on a simulated clock, driven by one seed. Keys,
 * nonces and WebSocket masks stay on wolfSSL's CSPRNG: they never steer
 * what the runtime does next, only what the bytes look like.
 */
#ifndef URELAY_CORE_HOSTENV_H
#define URELAY_CORE_HOSTENV_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds: timers and deadlines. */
uint64_t hostenv_mono_ms(void);
/* CLOCK_REALTIME in unix milliseconds: batch timestamps, quota days, logs. */
uint64_t hostenv_wall_ms(void);
/* Fills p[0, n) with unpredictable bytes (getrandom, else the clock mixed
 * with the pid). Not for keys: use wolfSSL's RNG for anything secret. */
void hostenv_random(void *p, size_t n);

#endif
