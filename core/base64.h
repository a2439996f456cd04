/* base64: RFC 4648 base64 (standard alphabet, with padding) for text mode.
 *
 * Text mode carries each batch as base64 for forwarders that only pass text
 * (Apps Script); see docs/protocol.md, "Text mode". The transports call this
 * around the batch codec. Decoding is strict, because a lenient decoder
 * gives two encodings of one batch and hides corruption: no whitespace or
 * line breaks, no characters outside the alphabet, padding only at the end
 * and only as much as the length needs, and the unused bits before the
 * padding must be zero. Table-driven, no allocation.
 */
#ifndef URELAY_CORE_BASE64_H
#define URELAY_CORE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Errors, negative and below -MAX_ERRNO (4095); -ENOSPC when the output
 * does not fit, -EOVERFLOW when a length cannot be represented. */
enum {
        B64_ELEN = -4401,  /* length is not a multiple of 4 */
        B64_ECHAR = -4402, /* a byte outside the alphabet (whitespace included) */
        B64_EPAD = -4403,  /* '=' anywhere but the last one or two places, or "x===" */
        B64_EBITS = -4404, /* non-zero bits under the padding (not canonical) */
};

/* Characters that encode <n> bytes: 4 * ceil(n / 3). 0 if that overflows
 * size_t (never for n == 0 ... SIZE_MAX / 4 * 3). */
size_t b64_encoded_len(size_t n);

/* Upper bound on the bytes that <n> characters decode to (n / 4 * 3); the
 * exact count is up to 2 less, depending on padding. */
size_t b64_decoded_max(size_t n);

/* Encodes in[0, n) into out[0, cap) with padding and no line breaks; sets
 * *out_len. Returns 0, -EOVERFLOW or -ENOSPC (nothing written). Does not
 * NUL-terminate. <in> and <out> must not overlap. */
int b64_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *out_len);

/* Decodes in[0, n) into out[0, cap); sets *out_len to the exact length.
 * Returns 0, a B64_E* code or -ENOSPC (cap below the exact length). On error
 * out[0, cap) may hold partial output and *out_len is not set. <out> may be
 * the same as <in> (decoding in place) but must not overlap it otherwise. */
int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len);

/* A static string for a B64_E* code or a -errno value above. */
const char *b64_strerror(int err);

#endif
