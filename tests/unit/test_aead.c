/* test_aead: key schedule and batch seal/open (core/aead.h).
 *
 * Known-answer vectors come from an independent implementation (Python's
 * `cryptography`: HKDF-SHA256, AESGCM, ChaCha20Poly1305) following
 * docs/protocol.md, so they pin the wire format, not just self-consistency.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/aead.h"
#include "core/bytes.h"

static void hex_decode(const char *hex, uint8_t *out, size_t n)
{
        cr_assert_eq(strlen(hex), 2 * n);
        for (size_t i = 0; i < n; i++) {
                unsigned v;
                cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
                out[i] = (uint8_t)v;
        }
}

/* Master key 0x00, 0x01, ..., 0x1f: a test pattern, never a real key. */
static void master_pattern(uint8_t m[AEAD_MASTER_LEN], uint8_t base)
{
        for (int i = 0; i < AEAD_MASTER_LEN; i++)
                m[i] = (uint8_t)(base + i);
}

static struct aead_keys keys;
static uint8_t *buf, *scratch, *copy;
#define BIG (BATCH_MAX + 64)

static void setup(void)
{
        uint8_t m[AEAD_MASTER_LEN];

        master_pattern(m, 0);
        cr_assert_eq(aead_keys_derive(&keys, m), 0);
        buf = malloc(BIG);
        scratch = malloc(BIG);
        copy = malloc(BIG);
        cr_assert(buf && scratch && copy);
}

static void teardown(void)
{
        aead_keys_wipe(&keys);
        free(buf);
        free(scratch);
        free(copy);
}

TestSuite(aead, .init = setup, .fini = teardown);

static const struct batch_meta meta_a = {
    .instance_id = 0x1122334455667788u, .seq = 42, .time_ms = 1700000000123u};

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t)((i * 131u + seed) ^ (i >> 8));
}

static int all_zero(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i] != 0)
                        return 0;
        return 1;
}

Test(aead, key_schedule_matches_reference)
{
        uint8_t want[AEAD_KEY_LEN];

        hex_decode("3fd29e6358fd859f", want, AEAD_KEY_ID_LEN);
        cr_assert_arr_eq(keys.key_id, want, AEAD_KEY_ID_LEN);
        hex_decode("c028034fccfcf18c4e5d6d47ef3dc077d7ed6f5415b08446a301ff5f90963edd", want, 32);
        cr_assert_arr_eq(keys.aes[AEAD_C2S], want, 32);
        hex_decode("aadeb077df33a375771ce789aa9ac9eb2ce342049d1ede7d3b5024dcb8cf944d", want, 32);
        cr_assert_arr_eq(keys.aes[AEAD_S2C], want, 32);
        hex_decode("2c70304fc192b6a554138a0b63550a5732f4660ee328890e5b4096ca6c8dbffd", want, 32);
        cr_assert_arr_eq(keys.chacha[AEAD_C2S], want, 32);
        hex_decode("bd0408ed3ad74d3da4bcf4a6116fdacd3052ce537fc24b673856150cc57a28f3", want, 32);
        cr_assert_arr_eq(keys.chacha[AEAD_S2C], want, 32);
}

Test(aead, key_schedule_deterministic_and_separated)
{
        uint8_t m[AEAD_MASTER_LEN];
        struct aead_keys again, other;
        const uint8_t *sub[4] = {keys.aes[0], keys.aes[1], keys.chacha[0], keys.chacha[1]};

        master_pattern(m, 0);
        cr_assert_eq(aead_keys_derive(&again, m), 0);
        cr_assert_arr_eq(&again, &keys, sizeof(keys));

        for (int i = 0; i < 4; i++) {
                cr_assert_neq(memcmp(sub[i], m, AEAD_KEY_LEN), 0, "subkey %d is the master", i);
                cr_assert_neq(memcmp(sub[i], keys.key_id, AEAD_KEY_ID_LEN), 0);
                for (int j = i + 1; j < 4; j++)
                        cr_assert_neq(memcmp(sub[i], sub[j], AEAD_KEY_LEN), 0,
                                      "subkeys %d and %d equal", i, j);
        }

        m[31] ^= 1;
        cr_assert_eq(aead_keys_derive(&other, m), 0);
        cr_assert_neq(memcmp(other.key_id, keys.key_id, AEAD_KEY_ID_LEN), 0);
        cr_assert_neq(memcmp(other.aes[0], keys.aes[0], AEAD_KEY_LEN), 0);

        aead_keys_wipe(&other);
        cr_assert(all_zero((const uint8_t *)&other, sizeof(other)));
        aead_keys_wipe(&again);
}

Test(aead, ct_equal)
{
        uint8_t a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8];

        memcpy(b, a, 8);
        cr_assert_eq(aead_ct_equal(a, b, 8), 1);
        cr_assert_eq(aead_ct_equal(a, b, 0), 1);
        for (int i = 0; i < 8; i++)
                for (int bit = 0; bit < 8; bit++) {
                        b[i] ^= (uint8_t)(1u << bit);
                        cr_assert_eq(aead_ct_equal(a, b, 8), 0, "byte %d bit %d", i, bit);
                        b[i] ^= (uint8_t)(1u << bit);
                }
}

Test(aead, alg_names)
{
        enum aead_alg alg;

        cr_assert_eq(aead_alg_parse("aes-256-gcm", &alg), 0);
        cr_assert_eq(alg, AEAD_AES256GCM);
        cr_assert_eq(aead_alg_parse("chacha20-poly1305", &alg), 0);
        cr_assert_eq(alg, AEAD_CHACHA20POLY1305);
        cr_assert_str_eq(aead_alg_name(AEAD_AES256GCM), "aes-256-gcm");
        cr_assert_str_eq(aead_alg_name(AEAD_CHACHA20POLY1305), "chacha20-poly1305");
        cr_assert_str_eq(aead_alg_name((enum aead_alg)9), "?");
        cr_assert_eq(aead_alg_parse("AES-256-GCM", &alg), -EINVAL);
        cr_assert_eq(aead_alg_parse("aes", &alg), -EINVAL);
        cr_assert_eq(aead_alg_parse("", &alg), -EINVAL);
        cr_assert_eq(aead_alg_parse(NULL, &alg), -EINVAL);
}

/* The sealer's nonce state is public (it is embedded by callers), so a test
 * can pin it and compare with the reference implementation byte for byte. */
static void check_kat(enum aead_alg alg, enum aead_dir dir, const char *hex)
{
        static const uint8_t frames[] = {0x04, 0x00, 0x00, 0x00, 0x09, 0x05};
        struct batch_sealer s;
        struct batch_opener o;
        struct batch_meta m;
        uint8_t want[BATCH_OVERHEAD + sizeof(frames)];
        const uint8_t *fr;
        size_t len, flen;

        hex_decode(hex, want, sizeof(want));
        cr_assert_eq(batch_sealer_init(&s, &keys, alg, dir), 0);
        for (int i = 0; i < 8; i++)
                s.prefix[i] = (uint8_t)(0xa0 + i);
        s.counter = 7;
        memcpy(buf + BATCH_PREFIX_LEN, frames, sizeof(frames));
        cr_assert_eq(batch_seal(&s, &meta_a, buf, sizeof(frames), BIG, &len), 0);
        cr_assert_eq(len, sizeof(want));
        cr_assert_arr_eq(buf, want, sizeof(want), "%s batch differs from the reference",
                         aead_alg_name(alg));
        cr_assert_eq(s.counter, 8);

        cr_assert_eq(batch_opener_init(&o, &keys, dir), 0);
        cr_assert_eq(batch_open(&o, want, sizeof(want), scratch, BIG, &m, &fr, &flen), 0);
        cr_assert_eq(flen, sizeof(frames));
        cr_assert_arr_eq(fr, frames, sizeof(frames));
        cr_assert_eq(m.instance_id, meta_a.instance_id);
        cr_assert_eq(m.seq, 42);
        cr_assert_eq(m.time_ms, meta_a.time_ms);
        cr_assert_eq(m.alg, alg);
        batch_sealer_wipe(&s);
        batch_opener_wipe(&o);
}

Test(aead, known_answer_aes_c2s)
{
        check_kat(AEAD_AES256GCM, AEAD_C2S,
                  "010100003fd29e6358fd859fa0a1a2a3a4a5a6a70000000791b92ee4d74365f04204b55f548040"
                  "42394120a77a9d3310affff80ba87044d648109d84e666d72b658fbf6fc050");
}

Test(aead, known_answer_chacha_s2c)
{
        check_kat(AEAD_CHACHA20POLY1305, AEAD_S2C,
                  "010201003fd29e6358fd859fa0a1a2a3a4a5a6a700000007"
                  "23e8e70f0ceb95fb7a97a70ee6c4ec18534a05476172f0a180c263dc534fd8046f27b3b456489124"
                  "8a3b580abc90");
}

static void round_trip(enum aead_alg alg, enum aead_dir dir, size_t n, int in_place)
{
        struct batch_sealer s;
        struct batch_opener o;
        struct batch_meta m;
        const uint8_t *fr;
        size_t len, flen;
        uint8_t id[AEAD_KEY_ID_LEN];
        uint8_t *dst;

        cr_assert_eq(batch_sealer_init(&s, &keys, alg, dir), 0);
        cr_assert_eq(batch_opener_init(&o, &keys, dir), 0);
        fill_pattern(copy, n, (uint32_t)n);
        memcpy(buf + BATCH_PREFIX_LEN, copy, n);
        cr_assert_eq(batch_seal(&s, &meta_a, buf, n, n + BATCH_OVERHEAD, &len), 0);
        cr_assert_eq(len, n + BATCH_OVERHEAD);
        cr_assert_eq(buf[0], BATCH_VERSION);
        cr_assert_eq(buf[1], alg);
        cr_assert_eq(buf[2], dir == AEAD_S2C ? BATCH_FLAG_S2C : 0);
        cr_assert_eq(buf[3], 0);
        if (n >= 16)
                cr_assert_neq(memcmp(buf + BATCH_PREFIX_LEN, copy, 16), 0, "not encrypted");

        cr_assert_eq(batch_peek_key_id(buf, len, id), 0);
        cr_assert_arr_eq(id, keys.key_id, AEAD_KEY_ID_LEN);

        dst = in_place ? buf + BATCH_HEADER_LEN : scratch;
        cr_assert_eq(
            batch_open(&o, buf, len, dst, len - BATCH_HEADER_LEN - BATCH_TAG_LEN, &m, &fr, &flen),
            0, "%s n=%zu", aead_alg_name(alg), n);
        cr_assert_eq(fr, dst + BATCH_INNER_LEN);
        cr_assert_eq(flen, n);
        if (n)
                cr_assert_arr_eq(fr, copy, n);
        cr_assert_eq(m.instance_id, meta_a.instance_id);
        cr_assert_eq(m.seq, meta_a.seq);
        cr_assert_eq(m.time_ms, meta_a.time_ms);
        cr_assert_eq(m.alg, alg);
        batch_sealer_wipe(&s);
        batch_opener_wipe(&o);
}

Test(aead, round_trip_sizes)
{
        static const size_t sizes[] = {0, 1, 15, 16, 17, 1000, 16384, 65536 + 17, BATCH_MAX_FRAMES};

        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
                for (int d = 0; d < 2; d++) {
                        round_trip(AEAD_AES256GCM, (enum aead_dir)d, sizes[i], 0);
                        round_trip(AEAD_CHACHA20POLY1305, (enum aead_dir)d, sizes[i], 0);
                }
}

Test(aead, round_trip_in_place)
{
        round_trip(AEAD_AES256GCM, AEAD_C2S, 16384, 1);
        round_trip(AEAD_CHACHA20POLY1305, AEAD_C2S, 16384, 1);
        round_trip(AEAD_AES256GCM, AEAD_S2C, 0, 1);
}

Test(aead, one_opener_takes_both_algorithms)
{
        struct batch_sealer sa, sc;
        struct batch_opener o;
        struct batch_meta m;
        const uint8_t *fr;
        size_t len, flen;

        cr_assert_eq(batch_sealer_init(&sa, &keys, AEAD_AES256GCM, AEAD_C2S), 0);
        cr_assert_eq(batch_sealer_init(&sc, &keys, AEAD_CHACHA20POLY1305, AEAD_C2S), 0);
        cr_assert_eq(batch_opener_init(&o, &keys, AEAD_C2S), 0);
        for (int round = 0; round < 4; round++) {
                struct batch_sealer *s = round & 1 ? &sc : &sa;
                cr_assert_eq(batch_seal(s, &meta_a, buf, 100, BIG, &len), 0);
                cr_assert_eq(batch_open(&o, buf, len, scratch, BIG, &m, &fr, &flen), 0);
                cr_assert_eq(m.alg, round & 1 ? AEAD_CHACHA20POLY1305 : AEAD_AES256GCM);
        }
        batch_sealer_wipe(&sa);
        batch_sealer_wipe(&sc);
        batch_opener_wipe(&o);
}

/* Seals <n> bytes of recognisable plaintext, returns the batch length. */
static size_t seal_pattern(struct batch_sealer *s, size_t n)
{
        size_t len;

        for (size_t i = 0; i < n; i++)
                buf[BATCH_PREFIX_LEN + i] = (uint8_t) "URELAY-PLAINTEXT"[i % 16];
        cr_assert_eq(batch_seal(s, &meta_a, buf, n, BIG, &len), 0);
        return len;
}

/* Opens copy[0, len) expecting failure; scratch must then be all zero
 * (it is filled with 0xAA first, so a wipe that did not happen shows). */
static int open_fails_clean(struct batch_opener *o, size_t len)
{
        struct batch_meta m = {0};
        const uint8_t *fr = NULL;
        size_t flen = 12345;
        size_t ct =
            len > BATCH_HEADER_LEN + BATCH_TAG_LEN ? len - BATCH_HEADER_LEN - BATCH_TAG_LEN : 0;
        int rc;

        memset(scratch, 0xaa, len + 64 < BIG ? len + 64 : BIG);
        rc = batch_open(o, copy, len, scratch, BIG, &m, &fr, &flen);
        cr_assert_lt(rc, 0);
        cr_assert(all_zero(scratch, ct), "scratch not wiped after %s", batch_strerror(rc));
        cr_assert_eq(fr, NULL, "frames set on failure");
        cr_assert_eq(flen, 12345);
        cr_assert_eq(m.seq, 0);
        return rc;
}

static void bit_flips(enum aead_alg alg)
{
        struct batch_sealer s;
        struct batch_opener o;
        size_t len;
        int auth_failures = 0;

        cr_assert_eq(batch_sealer_init(&s, &keys, alg, AEAD_C2S), 0);
        cr_assert_eq(batch_opener_init(&o, &keys, AEAD_C2S), 0);
        len = seal_pattern(&s, 48);
        for (size_t pos = 0; pos < len; pos++)
                for (int bit = 0; bit < 8; bit += 7) {
                        int rc;

                        memcpy(copy, buf, len);
                        copy[pos] ^= (uint8_t)(1u << bit);
                        rc = open_fails_clean(&o, len);
                        if (pos >= BATCH_HEADER_LEN - BATCH_NONCE_LEN)
                                cr_assert_eq(rc, BATCH_EAUTH, "pos %zu bit %d: %s", pos, bit,
                                             batch_strerror(rc));
                        auth_failures += rc == BATCH_EAUTH;
                }
        /* Nonce, ciphertext and tag: every flip reached the tag check. */
        cr_assert_geq(auth_failures, 2 * (int)(len - 12));
        batch_sealer_wipe(&s);
        batch_opener_wipe(&o);
}

Test(aead, bit_flip_everywhere_aes)
{
        bit_flips(AEAD_AES256GCM);
}

Test(aead, bit_flip_everywhere_chacha)
{
        bit_flips(AEAD_CHACHA20POLY1305);
}

Test(aead, header_checks)
{
        struct batch_sealer s;
        struct batch_opener o;
        size_t len;

        cr_assert_eq(batch_sealer_init(&s, &keys, AEAD_AES256GCM, AEAD_C2S), 0);
        cr_assert_eq(batch_opener_init(&o, &keys, AEAD_C2S), 0);
        len = seal_pattern(&s, 32);

        memcpy(copy, buf, len);
        copy[0] = 2;
        cr_assert_eq(open_fails_clean(&o, len), BATCH_EVERSION);
        memcpy(copy, buf, len);
        copy[1] = 3;
        cr_assert_eq(open_fails_clean(&o, len), BATCH_EALG);
        memcpy(copy, buf, len);
        copy[1] = 0;
        cr_assert_eq(open_fails_clean(&o, len), BATCH_EALG);
        memcpy(copy, buf, len);
        copy[2] = 0x02;
        cr_assert_eq(open_fails_clean(&o, len), BATCH_EFLAGS);
        memcpy(copy, buf, len);
        copy[3] = 1;
        cr_assert_eq(open_fails_clean(&o, len), BATCH_EFLAGS);
        memcpy(copy, buf, len);
        copy[2] = BATCH_FLAG_S2C;
        cr_assert_eq(open_fails_clean(&o, len), BATCH_EDIR);
        memcpy(copy, buf, len);
        copy[4 + 7] ^= 0x80;
        cr_assert_eq(open_fails_clean(&o, len), BATCH_EKEYID);
        /* Switching the AEAD id to the other algorithm: header is AAD and the
         * key differs, so the tag fails. */
        memcpy(copy, buf, len);
        copy[1] = AEAD_CHACHA20POLY1305;
        cr_assert_eq(open_fails_clean(&o, len), BATCH_EAUTH);
        batch_sealer_wipe(&s);
        batch_opener_wipe(&o);
}

Test(aead, wrong_master_key)
{
        uint8_t m[AEAD_MASTER_LEN];
        struct aead_keys wrong;
        struct batch_opener o;
        struct batch_sealer s;
        size_t len;

        cr_assert_eq(batch_sealer_init(&s, &keys, AEAD_AES256GCM, AEAD_C2S), 0);
        len = seal_pattern(&s, 64);
        memcpy(copy, buf, len);

        master_pattern(m, 1);
        cr_assert_eq(aead_keys_derive(&wrong, m), 0);
        cr_assert_eq(batch_opener_init(&o, &wrong, AEAD_C2S), 0);
        cr_assert_eq(open_fails_clean(&o, len), BATCH_EKEYID);
        batch_opener_wipe(&o);

        /* Same key id, other subkeys: the tag catches it. */
        memcpy(wrong.key_id, keys.key_id, AEAD_KEY_ID_LEN);
        cr_assert_eq(batch_opener_init(&o, &wrong, AEAD_C2S), 0);
        cr_assert_eq(open_fails_clean(&o, len), BATCH_EAUTH);
        batch_opener_wipe(&o);

        /* Same for ChaCha. */
        batch_sealer_wipe(&s);
        cr_assert_eq(batch_sealer_init(&s, &keys, AEAD_CHACHA20POLY1305, AEAD_C2S), 0);
        len = seal_pattern(&s, 64);
        memcpy(copy, buf, len);
        cr_assert_eq(batch_opener_init(&o, &wrong, AEAD_C2S), 0);
        cr_assert_eq(open_fails_clean(&o, len), BATCH_EAUTH);
        batch_opener_wipe(&o);
        batch_sealer_wipe(&s);
        aead_keys_wipe(&wrong);
}

Test(aead, reflected_batch_rejected)
{
        struct batch_sealer s;
        struct batch_opener o;
        size_t len;

        for (int a = AEAD_AES256GCM; a <= AEAD_CHACHA20POLY1305; a++) {
                cr_assert_eq(batch_sealer_init(&s, &keys, (enum aead_alg)a, AEAD_C2S), 0);
                cr_assert_eq(batch_opener_init(&o, &keys, AEAD_S2C), 0);
                len = seal_pattern(&s, 40);
                memcpy(copy, buf, len);
                cr_assert_eq(open_fails_clean(&o, len), BATCH_EDIR);
                /* Even with the direction bit rewritten, the s2c key fails. */
                copy[2] = BATCH_FLAG_S2C;
                cr_assert_eq(open_fails_clean(&o, len), BATCH_EAUTH);
                batch_sealer_wipe(&s);
                batch_opener_wipe(&o);
        }
}

Test(aead, truncated_batches)
{
        struct batch_sealer s;
        struct batch_opener o;
        uint8_t id[AEAD_KEY_ID_LEN];
        size_t len;

        cr_assert_eq(batch_sealer_init(&s, &keys, AEAD_CHACHA20POLY1305, AEAD_C2S), 0);
        cr_assert_eq(batch_opener_init(&o, &keys, AEAD_C2S), 0);
        len = seal_pattern(&s, 100);
        memcpy(copy, buf, len);
        for (size_t cut = 0; cut < len; cut++) {
                int rc = open_fails_clean(&o, cut);
                cr_assert_eq(rc, cut < BATCH_OVERHEAD ? BATCH_ESHORT : BATCH_EAUTH, "cut %zu: %s",
                             cut, batch_strerror(rc));
        }
        cr_assert_eq(batch_peek_key_id(copy, BATCH_OVERHEAD - 1, id), BATCH_ESHORT);
        cr_assert_eq(batch_peek_key_id(copy, BATCH_MAX + 1, id), BATCH_ETOOBIG);
        batch_sealer_wipe(&s);
        batch_opener_wipe(&o);
}

Test(aead, oversize_rejected_both_sides)
{
        struct batch_sealer s;
        struct batch_opener o;
        size_t len = 777;

        cr_assert_eq(batch_sealer_init(&s, &keys, AEAD_AES256GCM, AEAD_C2S), 0);
        cr_assert_eq(batch_opener_init(&o, &keys, AEAD_C2S), 0);
        cr_assert_eq(batch_seal(&s, &meta_a, buf, BATCH_MAX_FRAMES + 1, BIG, &len), BATCH_ETOOBIG);
        cr_assert_eq(len, 777);
        memset(copy, 0, BATCH_MAX + 1);
        copy[0] = BATCH_VERSION;
        copy[1] = AEAD_AES256GCM;
        memcpy(copy + 4, keys.key_id, AEAD_KEY_ID_LEN);
        cr_assert_eq(open_fails_clean(&o, BATCH_MAX + 1), BATCH_ETOOBIG);
        batch_sealer_wipe(&s);
        batch_opener_wipe(&o);
}

Test(aead, buffers_too_small)
{
        struct batch_sealer s;
        struct batch_opener o;
        struct batch_meta m;
        const uint8_t *fr = NULL;
        size_t len = 5, flen, ct;

        cr_assert_eq(batch_sealer_init(&s, &keys, AEAD_AES256GCM, AEAD_C2S), 0);
        cr_assert_eq(batch_opener_init(&o, &keys, AEAD_C2S), 0);
        cr_assert_eq(batch_seal(&s, &meta_a, buf, 10, 10 + BATCH_OVERHEAD - 1, &len), -ENOSPC);
        cr_assert_eq(batch_seal(&s, &meta_a, buf, 0, BATCH_OVERHEAD - 1, &len), -ENOSPC);
        cr_assert_eq(len, 5);

        len = seal_pattern(&s, 200);
        ct = len - BATCH_HEADER_LEN - BATCH_TAG_LEN;
        memset(scratch, 0xaa, ct);
        cr_assert_eq(batch_open(&o, buf, len, scratch, ct - 1, &m, &fr, &flen), -ENOSPC);
        cr_assert(all_zero(scratch, ct - 1));
        cr_assert_eq(scratch[ct - 1], 0xaa, "wrote past scratch_cap");
        cr_assert_eq(fr, NULL);
        /* Exactly enough works. */
        cr_assert_eq(batch_open(&o, buf, len, scratch, ct, &m, &fr, &flen), 0);
        cr_assert_eq(flen, 200);
        batch_sealer_wipe(&s);
        batch_opener_wipe(&o);
}

Test(aead, overlapping_scratch_refused)
{
        struct batch_sealer s;
        struct batch_opener o;
        struct batch_meta m;
        const uint8_t *fr;
        size_t len, flen;

        cr_assert_eq(batch_sealer_init(&s, &keys, AEAD_AES256GCM, AEAD_C2S), 0);
        cr_assert_eq(batch_opener_init(&o, &keys, AEAD_C2S), 0);
        len = seal_pattern(&s, 64);
        memcpy(copy, buf, len);
        cr_assert_eq(batch_open(&o, buf, len, buf + 1, len, &m, &fr, &flen), -EINVAL);
        cr_assert_eq(batch_open(&o, buf, len, buf, len, &m, &fr, &flen), -EINVAL);
        cr_assert_arr_eq(buf, copy, len, "input changed by a refused open");
        batch_sealer_wipe(&s);
        batch_opener_wipe(&o);
}

Test(aead, no_plaintext_after_tag_failure)
{
        struct batch_sealer s;
        struct batch_opener o;
        size_t len, n = 16384;

        for (int a = AEAD_AES256GCM; a <= AEAD_CHACHA20POLY1305; a++) {
                cr_assert_eq(batch_sealer_init(&s, &keys, (enum aead_alg)a, AEAD_S2C), 0);
                cr_assert_eq(batch_opener_init(&o, &keys, AEAD_S2C), 0);
                len = seal_pattern(&s, n);
                memcpy(copy, buf, len);
                copy[len - 1] ^= 1; /* tag */
                cr_assert_eq(open_fails_clean(&o, len), BATCH_EAUTH);
                cr_assert_null(memmem(scratch, n + BATCH_INNER_LEN, "URELAY", 6));
                batch_sealer_wipe(&s);
                batch_opener_wipe(&o);
        }
}

static int cmp_nonce(const void *a, const void *b)
{
        return memcmp(a, b, BATCH_NONCE_LEN);
}

Test(aead, nonces_unique_over_a_million_seals)
{
        enum { N = 1000000 };
        struct batch_sealer s, s2;
        uint8_t *nonces = malloc((size_t)N * BATCH_NONCE_LEN);
        size_t len;

        cr_assert_not_null(nonces);
        cr_assert_eq(batch_sealer_init(&s, &keys, AEAD_AES256GCM, AEAD_C2S), 0);
        cr_assert_eq(batch_sealer_init(&s2, &keys, AEAD_AES256GCM, AEAD_C2S), 0);
        cr_assert_neq(memcmp(s.prefix, s2.prefix, 8), 0, "two sealers drew the same prefix");
        for (size_t i = 0; i < N; i++) {
                /* Half from each sealer: uniqueness must hold across them. */
                cr_assert_eq(batch_seal(i & 1 ? &s2 : &s, &meta_a, buf, 0, BIG, &len), 0);
                memcpy(nonces + i * BATCH_NONCE_LEN, buf + 12, BATCH_NONCE_LEN);
        }
        qsort(nonces, N, BATCH_NONCE_LEN, cmp_nonce);
        for (size_t i = 1; i < N; i++)
                cr_assert_neq(memcmp(nonces + (i - 1) * BATCH_NONCE_LEN,
                                     nonces + i * BATCH_NONCE_LEN, BATCH_NONCE_LEN),
                              0, "nonce repeated");
        free(nonces);
        batch_sealer_wipe(&s);
        batch_sealer_wipe(&s2);
}

Test(aead, counter_wrap_draws_new_prefix)
{
        struct batch_sealer s;
        struct batch_opener o;
        struct batch_meta m;
        const uint8_t *fr;
        uint8_t prefix[8];
        size_t len, flen;

        cr_assert_eq(batch_sealer_init(&s, &keys, AEAD_CHACHA20POLY1305, AEAD_C2S), 0);
        cr_assert_eq(batch_opener_init(&o, &keys, AEAD_C2S), 0);
        cr_assert_eq(s.counter, 0);
        s.counter = UINT32_MAX;
        memcpy(prefix, s.prefix, 8);

        cr_assert_eq(batch_seal(&s, &meta_a, buf, 8, BIG, &len), 0);
        cr_assert_arr_eq(buf + 12, prefix, 8);
        cr_assert_eq(get_be32(buf + 20), UINT32_MAX);
        cr_assert_eq(batch_open(&o, buf, len, scratch, BIG, &m, &fr, &flen), 0);

        cr_assert_eq(batch_seal(&s, &meta_a, buf, 8, BIG, &len), 0);
        cr_assert_neq(memcmp(buf + 12, prefix, 8), 0, "prefix kept across the wrap");
        cr_assert_eq(get_be32(buf + 20), 0);
        cr_assert_eq(s.counter, 1);
        cr_assert_eq(batch_open(&o, buf, len, scratch, BIG, &m, &fr, &flen), 0);
        batch_sealer_wipe(&s);
        batch_opener_wipe(&o);
}

Test(aead, bad_init_arguments)
{
        struct batch_sealer s;
        struct batch_opener o;

        cr_assert_eq(batch_sealer_init(&s, &keys, (enum aead_alg)0, AEAD_C2S), -EINVAL);
        cr_assert_eq(batch_sealer_init(&s, &keys, (enum aead_alg)3, AEAD_C2S), -EINVAL);
        cr_assert_eq(batch_sealer_init(&s, &keys, AEAD_AES256GCM, (enum aead_dir)2), -EINVAL);
        cr_assert_eq(batch_opener_init(&o, &keys, (enum aead_dir)2), -EINVAL);
}

Test(aead, wipe_clears_key_material)
{
        struct batch_sealer s;
        struct batch_opener o;

        cr_assert_eq(batch_sealer_init(&s, &keys, AEAD_CHACHA20POLY1305, AEAD_S2C), 0);
        cr_assert_eq(batch_opener_init(&o, &keys, AEAD_S2C), 0);
        cr_assert_arr_eq(s.chacha_key, keys.chacha[AEAD_S2C], AEAD_KEY_LEN);
        batch_sealer_wipe(&s);
        batch_opener_wipe(&o);
        cr_assert(all_zero((const uint8_t *)&s, sizeof(s)));
        cr_assert(all_zero((const uint8_t *)&o, sizeof(o)));
}

Test(aead, strerror_covers_every_code)
{
        static const int codes[] = {BATCH_ESHORT, BATCH_ETOOBIG, BATCH_EVERSION, BATCH_EALG,
                                    BATCH_EFLAGS, BATCH_EDIR,    BATCH_EKEYID,   BATCH_EAUTH,
                                    BATCH_ERNG,   BATCH_ECRYPTO, -ENOSPC,        -EINVAL};

        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
                cr_assert_str_neq(batch_strerror(codes[i]), "unknown error");
                for (size_t j = 0; j < i; j++)
                        cr_assert_str_neq(batch_strerror(codes[i]), batch_strerror(codes[j]));
        }
        cr_assert_str_eq(batch_strerror(-1), "unknown error");
}
