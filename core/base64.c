/* base64: strict RFC 4648 codec for text mode (see core/base64.h).
 *
 * The decoder looks every character up in one 256-entry table whose invalid
 * entries have the high bit set, ORs the four lookups of a quantum and tests
 * that bit once: one branch per 4 characters on the good path. The reason
 * for a failure is worked out only on the slow path.
 */
#include "core/base64.h"

#include <errno.h>
#include <stdint.h>

static const char enc_table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#define BAD 0x80u /* not in the alphabet */
#define PAD 0x81u /* '=' */

/* Byte -> value 0..63, BAD or PAD. Generated from enc_table; test_base64
 * feeds every one of the 256 byte values through the decoder. */
static const uint8_t dec_table[256] = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x3e, 0x80, 0x80, 0x80, 0x3f,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x80, 0x80, 0x80, 0x81, 0x80, 0x80,
    0x80, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
    0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
};

size_t b64_encoded_len(size_t n)
{
        if (n > SIZE_MAX / 4 * 3)
                return 0;
        return (n / 3 + (n % 3 != 0)) * 4;
}

size_t b64_decoded_max(size_t n)
{
        return n / 4 * 3;
}

int b64_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *out_len)
{
        size_t need = b64_encoded_len(n);
        size_t i = 0, o = 0;
        uint32_t v;

        if (need == 0 && n != 0)
                return -EOVERFLOW;
        if (need > cap)
                return -ENOSPC;
        for (; n - i >= 3; i += 3, o += 4) {
                v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
                out[o] = enc_table[v >> 18];
                out[o + 1] = enc_table[v >> 12 & 63];
                out[o + 2] = enc_table[v >> 6 & 63];
                out[o + 3] = enc_table[v & 63];
        }
        if (n - i == 1) {
                v = (uint32_t)in[i] << 16;
                out[o] = enc_table[v >> 18];
                out[o + 1] = enc_table[v >> 12 & 63];
                out[o + 2] = '=';
                out[o + 3] = '=';
                o += 4;
        } else if (n - i == 2) {
                v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
                out[o] = enc_table[v >> 18];
                out[o + 1] = enc_table[v >> 12 & 63];
                out[o + 2] = enc_table[v >> 6 & 63];
                out[o + 3] = '=';
                o += 4;
        }
        *out_len = o;
        return 0;
}

/* Why a quantum whose OR had the high bit set failed: an '=' is a padding
 * error (it may not appear here), anything else a bad character. */
static int classify(const uint8_t *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (dec_table[s[i]] == BAD)
                        return B64_ECHAR;
        return B64_EPAD;
}

int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
        const uint8_t *s = (const uint8_t *)in;
        size_t pads = 0, exact, i, o = 0;
        uint32_t a, b, c, d;

        if (n % 4 != 0)
                return B64_ELEN;
        if (n == 0) {
                *out_len = 0;
                return 0;
        }
        if (s[n - 1] == '=')
                pads = s[n - 2] == '=' ? 2 : 1;
        exact = n / 4 * 3 - pads;
        if (exact > cap)
                return -ENOSPC;

        /* Every quantum but the last: no padding allowed. Reading all four
         * characters before writing three bytes makes in-place safe. */
        for (i = 0; i < n - 4; i += 4, o += 3) {
                a = dec_table[s[i]];
                b = dec_table[s[i + 1]];
                c = dec_table[s[i + 2]];
                d = dec_table[s[i + 3]];
                if ((a | b | c | d) & BAD)
                        return classify(s + i, 4);
                d |= a << 18 | b << 12 | c << 6;
                out[o] = (uint8_t)(d >> 16);
                out[o + 1] = (uint8_t)(d >> 8);
                out[o + 2] = (uint8_t)d;
        }

        /* The last quantum: xx==, xxx= or xxxx. */
        a = dec_table[s[i]];
        b = dec_table[s[i + 1]];
        c = pads == 2 ? 0 : dec_table[s[i + 2]];
        d = pads >= 1 ? 0 : dec_table[s[i + 3]];
        if ((a | b | c | d) & BAD)
                return classify(s + i, 4 - pads);
        if ((pads == 2 && (b & 0x0f) != 0) || (pads == 1 && (c & 0x03) != 0))
                return B64_EBITS;
        d |= a << 18 | b << 12 | c << 6;
        out[o++] = (uint8_t)(d >> 16);
        if (pads < 2)
                out[o++] = (uint8_t)(d >> 8);
        if (pads < 1)
                out[o++] = (uint8_t)d;
        *out_len = o;
        return 0;
}

const char *b64_strerror(int err)
{
        switch (err) {
        case 0:
                return "success";
        case B64_ELEN:
                return "base64 length is not a multiple of 4";
        case B64_ECHAR:
                return "character outside the base64 alphabet";
        case B64_EPAD:
                return "misplaced base64 padding";
        case B64_EBITS:
                return "non-zero bits under base64 padding";
        case -ENOSPC:
                return "buffer too small";
        case -EOVERFLOW:
                return "length overflows";
        }
        return "unknown error";
}
