/* aead: key schedule and the batch codec (seal/open) of protocol v1.
 *
 * Sits between the transports (which carry opaque batches: one POST body or
 * one WebSocket message) and the frame codec (core/frame.h), which reads and
 * writes the frames region inside a batch. docs/protocol.md is the
 * specification; this header is the contract of the C API.
 *
 * A batch on the wire:
 *
 *     clear header (24, all of it AAD) | ciphertext (inner header 24 + frames) | tag (16)
 *
 * Keys: one 32-byte master key per client. aead_keys_derive() turns it into a
 * key id (sent in clear, so the exit finds the key without trial decryption)
 * and four subkeys: {c2s, s2c} x {AES-256-GCM, ChaCha20-Poly1305}. Directions
 * never share a key, so a batch reflected back to its sender fails its tag.
 *
 * Contexts hold expanded key material and are set up once; seal and open
 * allocate nothing and do no key setup. None of these objects is thread-safe:
 * one sealer per thread (or per lock), one opener per thread.
 */
#ifndef URELAY_CORE_AEAD_H
#define URELAY_CORE_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>

#define AEAD_MASTER_LEN 32
#define AEAD_KEY_LEN    32
#define AEAD_KEY_ID_LEN 8

/* Batch layout. The caller of batch_seal() leaves BATCH_PREFIX_LEN bytes at
 * the start of its buffer (header + inner header), writes the frames right
 * after, and keeps BATCH_TAG_LEN bytes of room behind them. */
#define BATCH_VERSION    1
#define BATCH_HEADER_LEN 24 /* version, aead, flags, reserved, key id[8], nonce[12] */
#define BATCH_INNER_LEN  24 /* instance id u64, sequence u64, unix time ms u64 */
#define BATCH_TAG_LEN    16
#define BATCH_NONCE_LEN  12
#define BATCH_PREFIX_LEN (BATCH_HEADER_LEN + BATCH_INNER_LEN)
#define BATCH_OVERHEAD   (BATCH_PREFIX_LEN + BATCH_TAG_LEN)
/* Largest frames region, and so the largest batch, either side accepts. */
#define BATCH_MAX_FRAMES (1024u * 1024u)
#define BATCH_MAX        (BATCH_MAX_FRAMES + BATCH_OVERHEAD)

/* Header flags. Bit 0 is the direction; every other bit must be zero. */
#define BATCH_FLAG_S2C 0x01u

/* Errors, negative, below -MAX_ERRNO (4095) so they never collide with
 * -errno values (-EINVAL for misuse, -ENOSPC for a buffer too small). */
enum {
        BATCH_ESHORT = -4201,   /* shorter than BATCH_OVERHEAD */
        BATCH_ETOOBIG = -4202,  /* over BATCH_MAX (or frames over BATCH_MAX_FRAMES) */
        BATCH_EVERSION = -4203, /* version byte is not BATCH_VERSION */
        BATCH_EALG = -4204,     /* unknown AEAD id */
        BATCH_EFLAGS = -4205,   /* unknown flag bits or non-zero reserved byte */
        BATCH_EDIR = -4206,     /* direction bit is not the opener's direction */
        BATCH_EKEYID = -4207,   /* key id is not the opener's */
        BATCH_EAUTH = -4208,    /* tag check failed: wrong key, forged or damaged */
        BATCH_ERNG = -4209,     /* the RNG failed while drawing a nonce prefix */
        BATCH_ECRYPTO = -4210,  /* any other wolfCrypt failure */
};

enum aead_alg {
        AEAD_AES256GCM = 1,
        AEAD_CHACHA20POLY1305 = 2,
};

enum aead_dir {
        AEAD_C2S = 0, /* client to exit */
        AEAD_S2C = 1, /* exit to client */
};

/* Derived key material. Plain bytes: copy it, keep it in a key table, but
 * wipe it with aead_keys_wipe() when done. */
struct aead_keys {
        uint8_t key_id[AEAD_KEY_ID_LEN];
        uint8_t aes[2][AEAD_KEY_LEN];    /* indexed by enum aead_dir */
        uint8_t chacha[2][AEAD_KEY_LEN]; /* indexed by enum aead_dir */
};

/* Cleartext facts of a batch: the inner header, plus the algorithm. */
struct batch_meta {
        uint64_t instance_id; /* c2s: the client process; s2c: the client it is for */
        uint64_t seq;         /* per-sender batch sequence (replay window at the exit) */
        uint64_t time_ms;     /* sender's clock, unix milliseconds */
        enum aead_alg alg;    /* set by batch_open(); batch_seal() ignores it */
};

struct batch_sealer {
        Aes aes; /* expanded AES key, used when alg is AES-256-GCM */
        uint8_t chacha_key[AEAD_KEY_LEN];
        uint8_t key_id[AEAD_KEY_ID_LEN];
        uint8_t prefix[8]; /* random nonce prefix of the current counter epoch */
        uint64_t counter;  /* next nonce counter; < 2^32 */
        enum aead_alg alg;
        enum aead_dir dir;
        int aes_ready; /* wc_AesInit done: wipe must wc_AesFree */
};

struct batch_opener {
        Aes aes;
        uint8_t chacha_key[AEAD_KEY_LEN];
        uint8_t key_id[AEAD_KEY_ID_LEN];
        enum aead_dir dir;
        int aes_ready;
};

/* Returns 1 if the n bytes at a and b are equal, 0 if not, in time that
 * depends only on n. For key ids, tokens and anything an attacker chose. */
int aead_ct_equal(const void *a, const void *b, size_t n);

/* Derives key id and subkeys from a 32-byte master key (HKDF-SHA256, see
 * docs/protocol.md). Deterministic. Judging the master key (all-equal bytes,
 * example keys) is the caller's job. Returns 0 or BATCH_ECRYPTO. On failure
 * <k> is wiped. */
int aead_keys_derive(struct aead_keys *k, const uint8_t master[AEAD_MASTER_LEN]);
void aead_keys_wipe(struct aead_keys *k);

/* "aes-256-gcm" / "chacha20-poly1305"; "?" for anything else. */
const char *aead_alg_name(enum aead_alg alg);
/* Parses those two names (exact, lower case). Returns 0 or -EINVAL. */
int aead_alg_parse(const char *name, enum aead_alg *out);

/* Sets up a sealer for one key, one algorithm and one direction, and draws
 * the first random nonce prefix. <k> is copied from: it may be wiped after.
 * Returns 0, -EINVAL (bad alg or dir), BATCH_ERNG or BATCH_ECRYPTO; on failure
 * nothing needs freeing. A sealer that succeeded must be wiped with
 * batch_sealer_wipe(). */
int batch_sealer_init(struct batch_sealer *s, const struct aead_keys *k, enum aead_alg alg,
                      enum aead_dir dir);
void batch_sealer_wipe(struct batch_sealer *s);

/* Seals a batch in place.
 *
 * On entry buf[BATCH_PREFIX_LEN, BATCH_PREFIX_LEN + frames_len) holds the
 * frames; the first BATCH_PREFIX_LEN bytes are scratch the sealer fills, and
 * buf_cap must leave BATCH_TAG_LEN bytes after the frames. On success the
 * whole batch is buf[0, *out_len), *out_len = frames_len + BATCH_OVERHEAD, and
 * the frames are encrypted where they were (no copy). <meta>'s instance id,
 * seq and time go into the inner header; meta->alg is ignored.
 *
 * Every call takes a fresh nonce, so re-sealing the same frames is safe; a
 * sender that retries a batch may resend the sealed bytes as they are.
 *
 * Returns 0, -ENOSPC (buf_cap too small), BATCH_ETOOBIG (frames_len over
 * BATCH_MAX_FRAMES), BATCH_ERNG or BATCH_ECRYPTO. On failure buf holds no
 * valid batch and *out_len is not set (the frames may be gone). */
int batch_seal(struct batch_sealer *s, const struct batch_meta *meta, uint8_t *buf,
               size_t frames_len, size_t buf_cap, size_t *out_len);

/* Sets up an opener for one key and one direction. It accepts both
 * algorithms: the header says which. <k> is copied from. Returns 0, -EINVAL
 * or BATCH_ECRYPTO. A successful opener must be wiped with
 * batch_opener_wipe(). */
int batch_opener_init(struct batch_opener *o, const struct aead_keys *k, enum aead_dir dir);
void batch_opener_wipe(struct batch_opener *o);

/* Reads the key id of a batch without authenticating anything, so the exit
 * can pick the opener (compare with aead_ct_equal()). Checks length, version
 * and algorithm first. Returns 0, BATCH_ESHORT, BATCH_ETOOBIG, BATCH_EVERSION
 * or BATCH_EALG. */
int batch_peek_key_id(const uint8_t *in, size_t in_len, uint8_t id[AEAD_KEY_ID_LEN]);

/* Authenticates and decrypts the batch in[0, in_len) into <scratch>.
 *
 * scratch_cap must be at least in_len - BATCH_HEADER_LEN - BATCH_TAG_LEN
 * (BATCH_MAX is always enough). <scratch> must not overlap <in>, with one
 * exception: scratch == in + BATCH_HEADER_LEN decrypts in place.
 *
 * On success *meta is filled, *frames points into scratch at the frames
 * region and *frames_len is its length (possibly 0); the frames stay valid
 * as long as the caller keeps the scratch.
 *
 * On ANY failure the first in_len - BATCH_HEADER_LEN - BATCH_TAG_LEN bytes of
 * scratch (as far as scratch_cap allows) are zeroed, so no unauthenticated
 * plaintext survives (wolfCrypt writes plaintext before it checks the tag),
 * and *meta, *frames and *frames_len are not set. Returns 0, BATCH_ESHORT,
 * BATCH_ETOOBIG, BATCH_EVERSION, BATCH_EALG, BATCH_EFLAGS, BATCH_EDIR,
 * BATCH_EKEYID, -ENOSPC (scratch too small), -EINVAL (bad overlap),
 * BATCH_EAUTH or BATCH_ECRYPTO. The exit answers every one of them the same
 * way (the decoy): the codes are for counters and debug logs only. */
int batch_open(struct batch_opener *o, const uint8_t *in, size_t in_len, uint8_t *scratch,
               size_t scratch_cap, struct batch_meta *meta, const uint8_t **frames,
               size_t *frames_len);

/* A static string for a BATCH_E* code or a -errno value. */
const char *batch_strerror(int err);

#endif
