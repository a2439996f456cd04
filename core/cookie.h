/* cookie: the exit's freshness cookies (docs/protocol.md §3.6).
 *
 * A cookie proves that a batch was made after its sender heard from this
 * exit process lately, for this incarnation of its client instance. The
 * exit hands cookies out only inside sealed answers (CHALLENGE frames), so
 * nobody without the key sees one; the client puts the latest one first in
 * every batch (PROOF). Cookies are stateless: HMAC-SHA256 under a secret
 * drawn at the exit's start, over (key index, instance id, incarnation,
 * epoch), cut to 16 bytes. An epoch is COOKIE_EPOCH_MS of the exit's clock,
 * and a cookie holds for its epoch and the next. A restarted exit has a new
 * secret, and a client instance that the exit freed and made again has a
 * new incarnation: batches recorded before either carry a cookie that no
 * longer holds, so they are answered with a challenge and never acted on.
 *
 * Sans-I/O: no clock (the caller gives the epoch), no allocation.
 */
#ifndef URELAY_CORE_COOKIE_H
#define URELAY_CORE_COOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/frame.h"

#define COOKIE_EPOCH_MS 30000u

struct cookie_jar {
        uint8_t secret[32];
};

/* Draws a new secret. Returns 0 or -EIO (no randomness). */
int cookie_jar_init(struct cookie_jar *j);
void cookie_jar_wipe(struct cookie_jar *j);

/* The cookie of (<key>, <instance>, <incarnation>) for <epoch>. */
void cookie_make(const struct cookie_jar *j, uint32_t key, uint64_t instance, uint64_t incarnation,
                 uint64_t epoch, uint8_t out[FRAME_COOKIE_LEN]);
/* Whether <c> is that cookie for <epoch> or the one before (constant time). */
bool cookie_check(const struct cookie_jar *j, uint32_t key, uint64_t instance, uint64_t incarnation,
                  uint64_t epoch, const uint8_t *c);

#endif
