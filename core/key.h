/* key: the 32-byte shared keys between a client and an exit.
 *
 * Sits under config and the commands: parses the hex form, loads key files,
 * generates keys and derives the short public key-id used in logs. It is
 * where weak keys are refused: malformed text, all-equal bytes, a key quoted
 * anywhere in the urelay docs, examples or tests (the "published" list,
 * generated at build time by cmake/known_keys.cmake), and key files that
 * group or others may read or write. Every refusal says what to do next.
 * Callers wipe key buffers with key_wipe once they are done.
 */
#ifndef URELAY_CORE_KEY_H
#define URELAY_CORE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_LEN        32
#define KEY_HEX_LEN    (2 * KEY_LEN)
#define KEY_ID_HEX_LEN 8 /* first 4 bytes of the protocol key id, in hex */

/* 64 hex digits (either case), surrounding whitespace allowed, nothing else;
 * then key_check. Returns 0, or -EINVAL (malformed) or -EKEYREJECTED (weak
 * or published) with a message in err. key is wiped on failure. */
int key_parse_hex(const char *text, uint8_t key[KEY_LEN], char *err, size_t errlen);
/* Refuses all-equal bytes and published keys: 0 or -EKEYREJECTED. */
int key_check(const uint8_t key[KEY_LEN], char *err, size_t errlen);
/* Opens path, refuses anything but a regular file of mode 0600 or stricter
 * (-EACCES), reads it and parses it with key_parse_hex. Messages start with
 * "key file PATH: ". Returns 0 or -errno; key is wiped on failure. */
int key_load_file(const char *path, uint8_t key[KEY_LEN], char *err, size_t errlen);
/* 32 bytes from wolfCrypt's DRBG. Returns 0 or -EIO. */
int key_generate(uint8_t key[KEY_LEN]);

/* Lowercase hex, NUL-terminated. */
void key_to_hex(const uint8_t key[KEY_LEN], char out[KEY_HEX_LEN + 1]);
/* A public name for a key, safe to log: the first 4 bytes of the key id the
 * protocol sends in clear (docs/protocol.md §2.2). Returns 0 or -EIO. */
int key_id(const uint8_t key[KEY_LEN], char out[KEY_ID_HEX_LEN + 1]);

bool key_is_published(const uint8_t key[KEY_LEN]);
/* The published list as built in (lowercase hex), for tests and tools. */
size_t key_published_count(void);
const char *key_published_hex(size_t i);

/* explicit_bzero: a plain memset before free is dead code to the optimiser. */
void key_wipe(void *p, size_t n);

#endif
