/* stream_gen: a keyed, seekable pseudo-random byte stream for checking what
 * a relay delivered.
 *
 * Byte i of stream <key> is a pure function of (key, i), so a receiver can
 * verify any range on arrival and name the first bad offset: truncation,
 * duplication, reordering and cross-talk between sessions all show up there
 * (BRIEF §6). Not cryptographic; fast (splitmix64 per 8 bytes).
 */
#ifndef URELAY_CORE_STREAM_GEN_H
#define URELAY_CORE_STREAM_GEN_H

#include <stddef.h>
#include <stdint.h>

/* Writes bytes [off, off+len) of stream <key> into <out>. */
void stream_gen_fill(uint64_t key, uint64_t off, uint8_t *out, size_t len);
/* Checks <p> against bytes [off, off+len) of stream <key>. Returns 0 when
 * they match, else -1 with the stream offset of the first bad byte in *bad. */
int stream_gen_check(uint64_t key, uint64_t off, const uint8_t *p, size_t len, uint64_t *bad);

#endif
