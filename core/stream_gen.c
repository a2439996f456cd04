/* stream_gen: one 64-bit word per 8 bytes, a bijective mix of (key, word
 * index); see stream_gen.h.
 *
 * The mix (multiply by the golden ratio, xor-shift, multiply, xor-shift) is
 * a bijection of the index for a given key, so no two words of one stream
 * are equal and any reordering of them shows. One multiply-pair per 8 bytes
 * keeps the checker far above the relays it checks. Bytes are the word in
 * little-endian order.
 */
#include "core/stream_gen.h"

#include <endian.h>
#include <string.h>

static inline uint64_t word(uint64_t key, uint64_t idx)
{
        uint64_t z = key ^ (idx * 0x9e3779b97f4a7c15ull);
        z ^= z >> 32;
        z *= 0xd6e8feb86659fd93ull;
        return z ^ (z >> 32);
}

void stream_gen_fill(uint64_t key, uint64_t off, uint8_t *out, size_t len)
{
        while (len) {
                uint64_t w = htole64(word(key, off / 8));
                if (off % 8 == 0 && len >= 8) {
                        memcpy(out, &w, 8); /* a whole word: the fast case */
                        out += 8, off += 8, len -= 8;
                        continue;
                }
                /* A partial word, at the start or the end. */
                unsigned skip = (unsigned)(off % 8);
                size_t n = 8 - skip < len ? 8 - skip : len;
                memcpy(out, (uint8_t *)&w + skip, n);
                out += n, off += n, len -= n;
        }
}

int stream_gen_check(uint64_t key, uint64_t off, const uint8_t *p, size_t len, uint64_t *bad)
{
        uint8_t want[8];

        while (len) {
                if (off % 8 == 0 && len >= 8) {
                        uint64_t w = htole64(word(key, off / 8)), got;
                        memcpy(&got, p, 8);
                        if (got == w) {
                                p += 8, off += 8, len -= 8;
                                continue;
                        }
                }
                /* A partial word, or a whole one that differs: by byte. */
                size_t n = 8 - off % 8 < len ? 8 - off % 8 : len;
                stream_gen_fill(key, off, want, n);
                for (size_t i = 0; i < n; i++) {
                        if (want[i] != p[i]) {
                                *bad = off + i;
                                return -1;
                        }
                }
                p += n, off += n, len -= n;
        }
        return 0;
}
