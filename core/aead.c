/* aead: HKDF key schedule and batch seal/open over wolfCrypt.
 *
 * The only place that touches key material and wolfCrypt's AEAD calls. See
 * core/aead.h for the API contract and docs/protocol.md for the wire format.
 * Never log from here anything but error codes: no keys, nonces, plaintext.
 */
#include "core/aead.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>

#include "core/bytes.h"
#include "core/log.h"

_Static_assert(BATCH_NONCE_LEN == GCM_NONCE_MID_SZ, "GCM nonce is 96 bits");
_Static_assert(BATCH_NONCE_LEN == CHACHA20_POLY1305_AEAD_IV_SIZE, "ChaCha nonce is 96 bits");
_Static_assert(BATCH_TAG_LEN == CHACHA20_POLY1305_AEAD_AUTHTAG_SIZE, "Poly1305 tag is 16 bytes");
_Static_assert(AEAD_KEY_LEN == CHACHA20_POLY1305_AEAD_KEYSIZE, "ChaCha key is 32 bytes");
_Static_assert(BATCH_MAX <= UINT32_MAX, "wolfCrypt lengths are word32");

/* Header offsets (docs/protocol.md, "Batch"). */
#define HDR_VERSION  0
#define HDR_ALG      1
#define HDR_FLAGS    2
#define HDR_RESERVED 3
#define HDR_KEY_ID   4
#define HDR_NONCE    12

/* A counter epoch ends before the 32-bit field would wrap; a new random
 * prefix starts the next one (protocol.md, "Nonces"). */
#define NONCE_COUNTER_LIMIT (UINT64_C(1) << 32)

static const char hkdf_salt[] = "urelay v1";

int aead_ct_equal(const void *a, const void *b, size_t n)
{
        /* volatile keeps the compiler from turning this into an early-exit
         * loop; the OR accumulates every difference. */
        const volatile uint8_t *x = a;
        const volatile uint8_t *y = b;
        uint8_t diff = 0;

        for (size_t i = 0; i < n; i++)
                diff |= (uint8_t)(x[i] ^ y[i]);
        return (int)(((unsigned)diff - 1u) >> 8 & 1u);
}

static int hkdf_expand(const uint8_t prk[WC_SHA256_DIGEST_SIZE], const char *label, uint8_t *out,
                       size_t out_len)
{
        int rc = wc_HKDF_Expand(WC_SHA256, prk, WC_SHA256_DIGEST_SIZE, (const byte *)label,
                                (word32)strlen(label), out, (word32)out_len);
        return rc == 0 ? 0 : BATCH_ECRYPTO;
}

int aead_keys_derive(struct aead_keys *k, const uint8_t master[AEAD_MASTER_LEN])
{
        uint8_t prk[WC_SHA256_DIGEST_SIZE];
        const struct {
                const char *label;
                uint8_t *out;
                size_t len;
        } outs[] = {
            {"key-id", k->key_id, AEAD_KEY_ID_LEN},
            {"c2s aes-256-gcm", k->aes[AEAD_C2S], AEAD_KEY_LEN},
            {"s2c aes-256-gcm", k->aes[AEAD_S2C], AEAD_KEY_LEN},
            {"c2s chacha20-poly1305", k->chacha[AEAD_C2S], AEAD_KEY_LEN},
            {"s2c chacha20-poly1305", k->chacha[AEAD_S2C], AEAD_KEY_LEN},
        };
        int rc;

        /* One extract, then one expand per label: the same as wc_HKDF() per
         * label (RFC 5869), without re-extracting each time. */
        if (wc_HKDF_Extract(WC_SHA256, (const byte *)hkdf_salt, sizeof(hkdf_salt) - 1, master,
                            AEAD_MASTER_LEN, prk) != 0) {
                rc = BATCH_ECRYPTO;
                goto out;
        }
        for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++)
                if ((rc = hkdf_expand(prk, outs[i].label, outs[i].out, outs[i].len)) < 0)
                        goto out;
        rc = 0;
out:
        explicit_bzero(prk, sizeof(prk));
        if (rc < 0) {
                aead_keys_wipe(k);
                log_error("aead: key derivation failed");
        }
        return rc;
}

void aead_keys_wipe(struct aead_keys *k)
{
        explicit_bzero(k, sizeof(*k));
}

const char *aead_alg_name(enum aead_alg alg)
{
        switch (alg) {
        case AEAD_AES256GCM:
                return "aes-256-gcm";
        case AEAD_CHACHA20POLY1305:
                return "chacha20-poly1305";
        }
        return "?";
}

int aead_alg_parse(const char *name, enum aead_alg *out)
{
        if (name == NULL)
                return -EINVAL;
        if (strcmp(name, "aes-256-gcm") == 0) {
                *out = AEAD_AES256GCM;
                return 0;
        }
        if (strcmp(name, "chacha20-poly1305") == 0) {
                *out = AEAD_CHACHA20POLY1305;
                return 0;
        }
        return -EINVAL;
}

static int alg_valid(unsigned alg)
{
        return alg == AEAD_AES256GCM || alg == AEAD_CHACHA20POLY1305;
}

static int dir_valid(unsigned dir)
{
        return dir == AEAD_C2S || dir == AEAD_S2C;
}

/* Sets up <aes> for GCM with <key>: the AES key schedule (and, with AES-NI,
 * the GHASH key) is computed here, once, so seal/open pay none of it. */
static int aes_setup(Aes *aes, int *ready, const uint8_t key[AEAD_KEY_LEN])
{
        if (wc_AesInit(aes, NULL, INVALID_DEVID) != 0)
                return BATCH_ECRYPTO;
        *ready = 1;
        if (wc_AesGcmSetKey(aes, key, AEAD_KEY_LEN) != 0)
                return BATCH_ECRYPTO;
        return 0;
}

static void aes_teardown(Aes *aes, int *ready)
{
        if (*ready)
                wc_AesFree(aes);
        explicit_bzero(aes, sizeof(*aes));
        *ready = 0;
}

/* Draws a fresh nonce prefix. A DRBG is set up for this alone: it happens
 * once per sealer and once per 2^32 seals, not worth keeping one around. */
static int draw_prefix(struct batch_sealer *s)
{
        WC_RNG rng;
        int rc = BATCH_ERNG;

        if (wc_InitRng(&rng) != 0)
                goto out_nofree;
        if (wc_RNG_GenerateBlock(&rng, s->prefix, sizeof(s->prefix)) == 0) {
                s->counter = 0;
                rc = 0;
        }
        wc_FreeRng(&rng);
out_nofree:
        if (rc < 0)
                log_error("aead: RNG failed drawing a nonce prefix");
        return rc;
}

int batch_sealer_init(struct batch_sealer *s, const struct aead_keys *k, enum aead_alg alg,
                      enum aead_dir dir)
{
        int rc;

        memset(s, 0, sizeof(*s));
        if (!alg_valid(alg) || !dir_valid(dir))
                return -EINVAL;
        s->alg = alg;
        s->dir = dir;
        memcpy(s->key_id, k->key_id, sizeof(s->key_id));
        if (alg == AEAD_AES256GCM)
                rc = aes_setup(&s->aes, &s->aes_ready, k->aes[dir]);
        else {
                memcpy(s->chacha_key, k->chacha[dir], AEAD_KEY_LEN);
                rc = 0;
        }
        if (rc == 0)
                rc = draw_prefix(s);
        if (rc < 0)
                batch_sealer_wipe(s);
        return rc;
}

void batch_sealer_wipe(struct batch_sealer *s)
{
        aes_teardown(&s->aes, &s->aes_ready);
        explicit_bzero(s, sizeof(*s));
}

int batch_seal(struct batch_sealer *s, const struct batch_meta *meta, uint8_t *buf,
               size_t frames_len, size_t buf_cap, size_t *out_len)
{
        uint8_t *nonce = buf + HDR_NONCE;
        uint8_t *ct = buf + BATCH_HEADER_LEN;
        size_t ct_len = BATCH_INNER_LEN + frames_len;
        int rc;

        if (frames_len > BATCH_MAX_FRAMES)
                return BATCH_ETOOBIG;
        if (buf_cap < BATCH_OVERHEAD || buf_cap - BATCH_OVERHEAD < frames_len)
                return -ENOSPC;
        if (s->counter >= NONCE_COUNTER_LIMIT && (rc = draw_prefix(s)) < 0)
                return rc;

        buf[HDR_VERSION] = BATCH_VERSION;
        buf[HDR_ALG] = (uint8_t)s->alg;
        buf[HDR_FLAGS] = s->dir == AEAD_S2C ? BATCH_FLAG_S2C : 0;
        buf[HDR_RESERVED] = 0;
        memcpy(buf + HDR_KEY_ID, s->key_id, AEAD_KEY_ID_LEN);
        memcpy(nonce, s->prefix, sizeof(s->prefix));
        put_be32(nonce + sizeof(s->prefix), (uint32_t)s->counter);
        /* The counter moves before the seal: a failed seal burns its nonce
         * rather than risk reusing it. */
        s->counter++;

        put_be64(ct, meta->instance_id);
        put_be64(ct + 8, meta->seq);
        put_be64(ct + 16, meta->time_ms);

        if (s->alg == AEAD_AES256GCM)
                rc = wc_AesGcmEncrypt(&s->aes, ct, ct, (word32)ct_len, nonce, BATCH_NONCE_LEN,
                                      ct + ct_len, BATCH_TAG_LEN, buf, BATCH_HEADER_LEN);
        else
                rc = wc_ChaCha20Poly1305_Encrypt(s->chacha_key, nonce, buf, BATCH_HEADER_LEN, ct,
                                                 (word32)ct_len, ct, ct + ct_len);
        if (rc != 0) {
                log_error("aead: seal failed (wolfCrypt %d)", rc);
                return BATCH_ECRYPTO;
        }
        *out_len = BATCH_HEADER_LEN + ct_len + BATCH_TAG_LEN;
        return 0;
}

int batch_opener_init(struct batch_opener *o, const struct aead_keys *k, enum aead_dir dir)
{
        int rc;

        memset(o, 0, sizeof(*o));
        if (!dir_valid(dir))
                return -EINVAL;
        o->dir = dir;
        memcpy(o->key_id, k->key_id, sizeof(o->key_id));
        memcpy(o->chacha_key, k->chacha[dir], AEAD_KEY_LEN);
        rc = aes_setup(&o->aes, &o->aes_ready, k->aes[dir]);
        if (rc < 0)
                batch_opener_wipe(o);
        return rc;
}

void batch_opener_wipe(struct batch_opener *o)
{
        aes_teardown(&o->aes, &o->aes_ready);
        explicit_bzero(o, sizeof(*o));
}

/* Checks what can be checked in the clear header without a key. */
static int check_outer(const uint8_t *in, size_t in_len)
{
        if (in_len < BATCH_OVERHEAD)
                return BATCH_ESHORT;
        if (in_len > BATCH_MAX)
                return BATCH_ETOOBIG;
        if (in[HDR_VERSION] != BATCH_VERSION)
                return BATCH_EVERSION;
        if (!alg_valid(in[HDR_ALG]))
                return BATCH_EALG;
        return 0;
}

int batch_peek_key_id(const uint8_t *in, size_t in_len, uint8_t id[AEAD_KEY_ID_LEN])
{
        int rc = check_outer(in, in_len);

        if (rc == 0)
                memcpy(id, in + HDR_KEY_ID, AEAD_KEY_ID_LEN);
        return rc;
}

/* Scratch may not overlap the input, except exactly at the ciphertext
 * (in-place decryption, which wolfCrypt supports for both ciphers). */
static int overlap_ok(const uint8_t *in, size_t in_len, const uint8_t *scratch, size_t cap)
{
        uintptr_t a = (uintptr_t)in, b = (uintptr_t)scratch;

        if (scratch == in + BATCH_HEADER_LEN)
                return 1;
        return b + cap <= a || a + in_len <= b;
}

int batch_open(struct batch_opener *o, const uint8_t *in, size_t in_len, uint8_t *scratch,
               size_t scratch_cap, struct batch_meta *meta, const uint8_t **frames,
               size_t *frames_len)
{
        size_t ct_len = in_len > BATCH_HEADER_LEN + BATCH_TAG_LEN
                            ? in_len - BATCH_HEADER_LEN - BATCH_TAG_LEN
                            : 0;
        const uint8_t *nonce = in + HDR_NONCE;
        const uint8_t *ct = in + BATCH_HEADER_LEN;
        uint8_t flags;
        int rc;

        if (!overlap_ok(in, in_len, scratch, scratch_cap)) {
                /* Wiping would clobber the input: the caller passed a bad
                 * buffer, nothing was decrypted, leave memory alone. */
                return -EINVAL;
        }
        if ((rc = check_outer(in, in_len)) < 0)
                goto fail;
        flags = in[HDR_FLAGS];
        if ((flags & ~BATCH_FLAG_S2C) != 0 || in[HDR_RESERVED] != 0) {
                rc = BATCH_EFLAGS;
                goto fail;
        }
        if ((flags & BATCH_FLAG_S2C ? AEAD_S2C : AEAD_C2S) != o->dir) {
                rc = BATCH_EDIR;
                goto fail;
        }
        if (!aead_ct_equal(in + HDR_KEY_ID, o->key_id, AEAD_KEY_ID_LEN)) {
                rc = BATCH_EKEYID;
                goto fail;
        }
        if (scratch_cap < ct_len) {
                rc = -ENOSPC;
                goto fail;
        }

        if (in[HDR_ALG] == AEAD_AES256GCM) {
                rc = wc_AesGcmDecrypt(&o->aes, scratch, ct, (word32)ct_len, nonce, BATCH_NONCE_LEN,
                                      ct + ct_len, BATCH_TAG_LEN, in, BATCH_HEADER_LEN);
                if (rc == AES_GCM_AUTH_E)
                        rc = BATCH_EAUTH;
        } else {
                rc = wc_ChaCha20Poly1305_Decrypt(o->chacha_key, nonce, in, BATCH_HEADER_LEN, ct,
                                                 (word32)ct_len, ct + ct_len, scratch);
                if (rc == MAC_CMP_FAILED_E)
                        rc = BATCH_EAUTH;
        }
        if (rc != 0) {
                if (rc != BATCH_EAUTH)
                        rc = BATCH_ECRYPTO;
                goto fail;
        }

        meta->instance_id = get_be64(scratch);
        meta->seq = get_be64(scratch + 8);
        meta->time_ms = get_be64(scratch + 16);
        meta->alg = (enum aead_alg)in[HDR_ALG];
        *frames = scratch + BATCH_INNER_LEN;
        *frames_len = ct_len - BATCH_INNER_LEN;
        return 0;

fail:
        /* wolfCrypt has written plaintext by the time it rejects a tag
         * (reliability.md §0, finding 2): nothing of it may survive. */
        explicit_bzero(scratch, ct_len < scratch_cap ? ct_len : scratch_cap);
        return rc;
}

const char *batch_strerror(int err)
{
        switch (err) {
        case 0:
                return "success";
        case BATCH_ESHORT:
                return "batch shorter than its fixed overhead";
        case BATCH_ETOOBIG:
                return "batch larger than the maximum";
        case BATCH_EVERSION:
                return "unknown batch version";
        case BATCH_EALG:
                return "unknown AEAD id";
        case BATCH_EFLAGS:
                return "unknown batch flags or non-zero reserved byte";
        case BATCH_EDIR:
                return "batch for the other direction";
        case BATCH_EKEYID:
                return "batch key id does not match";
        case BATCH_EAUTH:
                return "batch authentication failed";
        case BATCH_ERNG:
                return "random number generator failed";
        case BATCH_ECRYPTO:
                return "crypto library error";
        case -ENOSPC:
                return "buffer too small";
        case -EINVAL:
                return "invalid argument";
        }
        return "unknown error";
}
