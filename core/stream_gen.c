/* stream_gen: splitmix64 over (key, block index); see stream_gen.h. */
#include "core/stream_gen.h"

#include <string.h>

static inline uint64_t block(uint64_t key, uint64_t idx)
{
        uint64_t z = key + (idx + 1) * 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

void stream_gen_fill(uint64_t key, uint64_t off, uint8_t *out, size_t len)
{
        while (len) {
                uint64_t b = block(key, off / 8);
                unsigned skip = (unsigned)(off % 8);
                size_t n = 8 - skip < len ? 8 - skip : len;
                uint8_t tmp[8];
                for (int i = 0; i < 8; i++)
                        tmp[i] = (uint8_t)(b >> (8 * i));
                memcpy(out, tmp + skip, n);
                out += n;
                off += n;
                len -= n;
        }
}

int stream_gen_check(uint64_t key, uint64_t off, const uint8_t *p, size_t len, uint64_t *bad)
{
        uint8_t want[4096];

        while (len) {
                size_t n = len < sizeof(want) ? len : sizeof(want);
                stream_gen_fill(key, off, want, n);
                if (memcmp(want, p, n) != 0) {
                        for (size_t i = 0; i < n; i++) {
                                if (want[i] != p[i]) {
                                        *bad = off + i;
                                        return -1;
                                }
                        }
                }
                p += n;
                off += n;
                len -= n;
        }
        return 0;
}
