/* ws_frame: frame headers and masking; see ws_frame.h. */
#include "transport/ws_frame.h"

#include "core/bytes.h"

#include <string.h>

size_t ws_frame_parse(const uint8_t *p, size_t n, struct ws_frame *f)
{
        if (n < 2)
                return 0;
        uint8_t len7 = p[1] & 0x7f;
        size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        size_t hlen = 2 + ext + ((p[1] & 0x80) ? 4 : 0);

        if (n < hlen)
                return 0;
        f->fin = (p[0] & 0x80) != 0;
        f->rsv = (uint8_t)((p[0] >> 4) & 7);
        f->opcode = p[0] & 0x0f;
        f->masked = (p[1] & 0x80) != 0;
        if (ext == 0) {
                f->len = len7;
                f->minimal = true;
        } else if (ext == 2) {
                f->len = get_be16(p + 2);
                f->minimal = f->len >= 126;
        } else {
                f->len = get_be64(p + 2);
                f->minimal = f->len > 0xffff && !(f->len >> 63);
        }
        if (f->masked)
                memcpy(f->mask, p + 2 + ext, 4);
        f->hlen = hlen;
        return hlen;
}

size_t ws_frame_header(uint8_t *out, uint8_t opcode, uint64_t len, const uint8_t *mask)
{
        size_t n = 2;

        out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
        if (len < 126) {
                out[1] = (uint8_t)len;
        } else if (len <= 0xffff) {
                out[1] = 126;
                put_be16(out + 2, (uint16_t)len);
                n = 4;
        } else {
                out[1] = 127;
                put_be64(out + 2, len);
                n = 10;
        }
        if (mask) {
                out[1] |= 0x80;
                memcpy(out + n, mask, 4);
                n += 4;
        }
        return n;
}

void ws_frame_mask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[4],
                   uint64_t phase)
{
        uint8_t m8[8];
        uint64_t m;
        size_t i = 0;

        /* The mask as it lines up with dst[0], twice: one 64-bit word. */
        for (unsigned k = 0; k < 8; k++)
                m8[k] = mask[(phase + k) % 4];
        memcpy(&m, m8, 8);
        for (; i + 8 <= n; i += 8) {
                uint64_t v;
                memcpy(&v, src + i, 8);
                v ^= m;
                memcpy(dst + i, &v, 8);
        }
        for (; i < n; i++)
                dst[i] = src[i] ^ m8[i % 8];
}
