/* test_base64: the strict text-mode codec (core/base64.h): RFC 4648 vectors,
 * round trips of every length up to 2048, and every rejection. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int decode_str(const char *s, uint8_t *out, size_t cap, size_t *n)
{
        return b64_decode(s, strlen(s), out, cap, n);
}

Test(base64, rfc4648_vectors)
{
        static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
        static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
        char o[16];
        uint8_t d[16];
        size_t n;

        for (int i = 0; i < 7; i++) {
                size_t pl = strlen(plain[i]);

                cr_assert_eq(b64_encode((const uint8_t *)plain[i], pl, o, sizeof(o), &n), 0);
                cr_assert_eq(n, strlen(enc[i]));
                cr_assert_eq(memcmp(o, enc[i], n), 0, "encode \"%s\"", plain[i]);
                cr_assert_eq(b64_encoded_len(pl), n);

                cr_assert_eq(decode_str(enc[i], d, sizeof(d), &n), 0);
                cr_assert_eq(n, pl);
                cr_assert_eq(memcmp(d, plain[i], pl), 0, "decode \"%s\"", enc[i]);
                cr_assert_geq(b64_decoded_max(strlen(enc[i])), pl);
        }
}

Test(base64, all_byte_values)
{
        uint8_t in[256], d[256];
        char o[400];
        size_t n, m;

        for (int i = 0; i < 256; i++)
                in[i] = (uint8_t)i;
        cr_assert_eq(b64_encode(in, 256, o, sizeof(o), &n), 0);
        cr_assert_eq(b64_decode(o, n, d, sizeof(d), &m), 0);
        cr_assert_eq(m, 256);
        cr_assert_arr_eq(d, in, 256);
}

Test(base64, round_trip_every_length)
{
        static uint8_t in[2048], d[2048];
        static char o[2800];
        uint64_t x = 88172645463325252u;
        size_t n, m;

        for (size_t len = 0; len <= 2048; len++) {
                for (size_t i = 0; i < len; i++) {
                        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                        in[i] = (uint8_t)x;
                }
                cr_assert_eq(b64_encode(in, len, o, sizeof(o), &n), 0);
                cr_assert_eq(n, b64_encoded_len(len));
                cr_assert_eq(n % 4, 0);
                for (size_t i = 0; i < n; i++)
                        cr_assert(strchr(alphabet, o[i]) || o[i] == '=', "bad char at %zu", i);
                cr_assert_eq(b64_decode(o, n, d, len, &m), 0, "len %zu", len);
                cr_assert_eq(m, len);
                cr_assert_arr_eq(d, in, len);
                cr_assert_leq(len, b64_decoded_max(n));
                cr_assert_lt(b64_decoded_max(n) - len, 3);

                /* In place: decode over the text itself. */
                cr_assert_eq(b64_decode(o, n, (uint8_t *)o, n, &m), 0);
                cr_assert_eq(m, len);
                cr_assert_arr_eq(o, in, len);
        }
}

/* Every one of the 256 byte values at every position of a quantum: the
 * alphabet decodes, '=' is a padding error, everything else a bad char. */
Test(base64, every_byte_in_every_position)
{
        uint8_t d[16];
        size_t n;

        for (int c = 0; c < 256; c++)
                for (int pos = 0; pos < 8; pos++) {
                        char s[9] = "QUJDQUJD"; /* "ABCABC" */
                        int rc, want;

                        s[pos] = (char)c;
                        rc = b64_decode(s, 8, d, sizeof(d), &n);
                        if (c != 0 && strchr(alphabet, c))
                                want = 0;
                        else if (c == '=')
                                want = pos == 7 || pos == 6 ? 1 : B64_EPAD;
                        else
                                want = B64_ECHAR;
                        if (want == 1) /* padding at the end: valid or non-canonical */
                                cr_assert(rc == 0 || rc == B64_EBITS || rc == B64_EPAD,
                                          "c=0x%02x pos=%d rc=%d", c, pos, rc);
                        else
                                cr_assert_eq(rc, want, "c=0x%02x pos=%d: %s", c, pos,
                                             b64_strerror(rc));
                }
}

Test(base64, rejections)
{
        static const struct {
                const char *s;
                int err;
        } cases[] = {
            {"A", B64_ELEN},        {"AA", B64_ELEN},         {"AAA", B64_ELEN},
            {"AAAAA", B64_ELEN},    {"Zg=", B64_ELEN},        {"Zg", B64_ELEN},
            {"AAAA\n", B64_ELEN},   {"Zm9v\nYmFy", B64_ELEN}, {"A===", B64_EPAD},
            {"====", B64_EPAD},     {"AB=C", B64_EPAD},       {"=AAA", B64_EPAD},
            {"A=AA", B64_EPAD},     {"Zg==Zg==", B64_EPAD},   {"Zm8=Zm9v", B64_EPAD},
            {"AAAA====", B64_EPAD}, {"Zh==", B64_EBITS},      {"Zm9=", B64_EBITS},
            {"AB==", B64_EBITS},    {"AAB=", B64_EBITS},      {"Zm9vYh==", B64_EBITS},
            {"AA A", B64_ECHAR},    {"AAA\n", B64_ECHAR},     {"Zm9v YmE", B64_ECHAR},
            {"Zm-_", B64_ECHAR},    {"Zm9\x80", B64_ECHAR},   {"Z!==", B64_ECHAR},
            {"\tAAA", B64_ECHAR},
        };
        uint8_t d[16];
        size_t n;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                n = 999;
                cr_assert_eq(decode_str(cases[i].s, d, sizeof(d), &n), cases[i].err,
                             "case %zu: got %s", i,
                             b64_strerror(decode_str(cases[i].s, d, sizeof(d), &n)));
                cr_assert_eq(n, 999, "out_len set on failure");
        }
        /* The canonical forms next to the EBITS cases decode. */
        cr_assert_eq(decode_str("Zg==", d, sizeof(d), &n), 0);
        cr_assert_eq(decode_str("Zm8=", d, sizeof(d), &n), 0);
        cr_assert_eq(decode_str("AAE=", d, sizeof(d), &n), 0);
        /* An embedded NUL is a bad character, not the end. */
        cr_assert_eq(b64_decode("Zm\0v", 4, d, sizeof(d), &n), B64_ECHAR);
}

Test(base64, buffers_too_small)
{
        char o[16];
        uint8_t d[16];
        size_t n = 7;

        memset(o, 'x', sizeof(o));
        cr_assert_eq(b64_encode((const uint8_t *)"foob", 4, o, 7, &n), -ENOSPC);
        cr_assert_eq(n, 7);
        for (size_t i = 0; i < sizeof(o); i++)
                cr_assert_eq(o[i], 'x', "written on -ENOSPC");
        cr_assert_eq(b64_encode((const uint8_t *)"foob", 4, o, 8, &n), 0);
        cr_assert_eq(n, 8);

        cr_assert_eq(decode_str("Zm9vYg==", d, 3, &n), -ENOSPC);
        cr_assert_eq(decode_str("Zm9vYg==", d, 4, &n), 0);
        cr_assert_eq(n, 4);
        cr_assert_eq(decode_str("Zm9v", d, 2, &n), -ENOSPC);
        cr_assert_eq(decode_str("", d, 0, &n), 0);
        cr_assert_eq(n, 0);
}

Test(base64, length_helpers)
{
        cr_assert_eq(b64_encoded_len(0), 0);
        cr_assert_eq(b64_encoded_len(1), 4);
        cr_assert_eq(b64_encoded_len(3), 4);
        cr_assert_eq(b64_encoded_len(4), 8);
        cr_assert_eq(b64_encoded_len(1024 * 1024 + 64), 1398188);
        cr_assert_eq(b64_encoded_len(SIZE_MAX), 0, "overflow reported as 0");
        cr_assert_eq(b64_decoded_max(0), 0);
        cr_assert_eq(b64_decoded_max(4), 3);
        cr_assert_eq(b64_decoded_max(1398188), 1048641);
        cr_assert_eq(b64_decoded_max(7), 3);

        char o[4];
        size_t n;
        cr_assert_eq(b64_encode((const uint8_t *)"", SIZE_MAX, o, sizeof(o), &n), -EOVERFLOW);
}

Test(base64, strerror_covers_every_code)
{
        static const int codes[] = {B64_ELEN, B64_ECHAR, B64_EPAD, B64_EBITS, -ENOSPC, -EOVERFLOW};

        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
                cr_assert_str_neq(b64_strerror(codes[i]), "unknown error");
                for (size_t j = 0; j < i; j++)
                        cr_assert_str_neq(b64_strerror(codes[i]), b64_strerror(codes[j]));
        }
}
