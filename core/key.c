/* key: parsing, loading, checking and generating the 32-byte shared keys.
 *
 * The checks follow the practice of stunnel and OpenSSH (refuse a key file
 * others can read) and of Shadowsocks 2022 (a key is random bytes, never a
 * password, and a key copied from documentation is as good as public). The
 * published list comes from known_keys.inc, which the build regenerates
 * whenever README.md, docs/, examples/ or tests/ change.
 */
#include "core/key.h"

#include "core/aead.h"
#include "core/bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>

/* Lowercase hex of every 64-hex-digit token in the sources. */
static const char *const published_keys[] = {
#include "known_keys.inc"
    NULL,
};

#define KEYGEN_HINT "make a fresh one with `urelay keygen --out FILE`"
/* Far above 64 hex digits and a newline; anything longer is not a key. */
#define KEY_FILE_MAX 4096

__attribute__((format(printf, 4, 5))) static int fail(int rc, char *err, size_t errlen,
                                                      const char *fmt, ...)
{
        va_list ap;

        if (err && errlen) {
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return rc;
}

void key_wipe(void *p, size_t n)
{
        explicit_bzero(p, n);
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void key_to_hex(const uint8_t key[KEY_LEN], char out[KEY_HEX_LEN + 1])
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < KEY_LEN; i++) {
                out[2 * i] = digits[key[i] >> 4];
                out[2 * i + 1] = digits[key[i] & 15];
        }
        out[KEY_HEX_LEN] = '\0';
}

bool key_is_published(const uint8_t key[KEY_LEN])
{
        char hex[KEY_HEX_LEN + 1];
        bool found = false;

        key_to_hex(key, hex);
        for (size_t i = 0; published_keys[i]; i++) {
                if (!strcmp(hex, published_keys[i])) {
                        found = true;
                        break;
                }
        }
        key_wipe(hex, sizeof(hex));
        return found;
}

size_t key_published_count(void)
{
        return sizeof(published_keys) / sizeof(published_keys[0]) - 1;
}

const char *key_published_hex(size_t i)
{
        return i < key_published_count() ? published_keys[i] : NULL;
}

int key_check(const uint8_t key[KEY_LEN], char *err, size_t errlen)
{
        size_t i;

        for (i = 1; i < KEY_LEN && key[i] == key[0]; i++)
                ;
        if (i == KEY_LEN)
                return fail(-EKEYREJECTED, err, errlen,
                            "the key is weak: all 32 bytes are 0x%02x; " KEYGEN_HINT,
                            (unsigned)key[0]);
        if (key_is_published(key))
                return fail(-EKEYREJECTED, err, errlen,
                            "this key is published in the urelay sources (docs, examples or "
                            "tests), so anyone can read it; run `urelay keygen --out FILE`");
        return 0;
}

/* The text may hold NULs (a file read whole), hence the explicit length. */
static int parse_hex_n(const char *text, size_t n, uint8_t key[KEY_LEN], char *err, size_t errlen)
{
        const char *b = text, *e = text + n;
        size_t len;

        while (b < e && is_space(*b))
                b++;
        while (e > b && is_space(e[-1]))
                e--;
        len = (size_t)(e - b);
        if (len == 0)
                return fail(-EINVAL, err, errlen,
                            "empty key: a key is 64 hex characters; " KEYGEN_HINT);
        for (size_t i = 0; i < len; i++) {
                if (hex_digit(b[i]) < 0) {
                        unsigned char c = (unsigned char)b[i];
                        char desc[8];

                        if (c >= 0x21 && c < 0x7f)
                                snprintf(desc, sizeof(desc), "'%c'", c);
                        else
                                snprintf(desc, sizeof(desc), "\\x%02x", c);
                        return fail(-EINVAL, err, errlen,
                                    "character %zu of the key (%s) is not a hex digit; a key is "
                                    "64 hex characters (0-9, a-f) and nothing else; " KEYGEN_HINT,
                                    i + 1, desc);
                }
        }
        if (len != KEY_HEX_LEN)
                return fail(-EINVAL, err, errlen,
                            "the key has %zu hex characters, it needs exactly %d; " KEYGEN_HINT,
                            len, KEY_HEX_LEN);
        for (size_t i = 0; i < KEY_LEN; i++)
                key[i] = (uint8_t)(hex_digit(b[2 * i]) << 4 | hex_digit(b[2 * i + 1]));
        return key_check(key, err, errlen);
}

int key_parse_hex(const char *text, uint8_t key[KEY_LEN], char *err, size_t errlen)
{
        int rc = parse_hex_n(text, strlen(text), key, err, errlen);

        if (rc)
                key_wipe(key, KEY_LEN);
        return rc;
}

int key_load_file(const char *path, uint8_t key[KEY_LEN], char *err, size_t errlen)
{
        char buf[KEY_FILE_MAX + 1];
        char perr[320];
        struct stat st;
        size_t n = 0;
        int fd, rc = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                rc = -errno;
                return fail(rc, err, errlen, "key file %s: %s%s", path, strerror(-rc),
                            rc == -ENOENT ? "; " KEYGEN_HINT : "");
        }
        if (fstat(fd, &st) < 0) {
                rc = -errno;
                fail(rc, err, errlen, "key file %s: %s", path, strerror(-rc));
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                rc = fail(-EINVAL, err, errlen, "key file %s: not a regular file", path);
                goto out;
        }
        if (st.st_mode & 077) {
                rc = fail(-EACCES, err, errlen,
                          "key file %s: group or others can read or write it (mode %04o); run "
                          "`chmod 600 %s`",
                          path, (unsigned)(st.st_mode & 07777), path);
                goto out;
        }
        for (;;) {
                ssize_t r = read(fd, buf + n, sizeof(buf) - n);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        rc = -errno;
                        fail(rc, err, errlen, "key file %s: %s", path, strerror(-rc));
                        goto out;
                }
                if (r == 0)
                        break;
                n += (size_t)r;
                if (n == sizeof(buf)) {
                        rc = fail(-EINVAL, err, errlen,
                                  "key file %s: longer than %d bytes; it must hold only the 64 "
                                  "hex characters of one key",
                                  path, KEY_FILE_MAX);
                        goto out;
                }
        }
        rc = parse_hex_n(buf, n, key, perr, sizeof(perr));
        if (rc)
                fail(rc, err, errlen, "key file %s: %s", path, perr);
out:
        key_wipe(buf, sizeof(buf));
        close(fd);
        if (rc)
                key_wipe(key, KEY_LEN);
        return rc;
}

int key_generate(uint8_t key[KEY_LEN])
{
        WC_RNG rng;
        int rc = 0;

        if (wc_InitRng(&rng) != 0)
                return -EIO;
        /* All-equal output would mean a broken DRBG; never hand it out. */
        do {
                if (wc_RNG_GenerateBlock(&rng, key, KEY_LEN) != 0) {
                        rc = -EIO;
                        break;
                }
        } while (key_check(key, NULL, 0) != 0);
        wc_FreeRng(&rng);
        if (rc)
                key_wipe(key, KEY_LEN);
        return rc;
}

int key_id(const uint8_t key[KEY_LEN], char out[KEY_ID_HEX_LEN + 1])
{
        static const char digits[] = "0123456789abcdef";
        struct aead_keys k;

        /* The protocol's key id (sent in clear in every batch), so logs on
         * both ends and the wire name a key the same way. */
        if (aead_keys_derive(&k, key) != 0)
                return -EIO;
        for (size_t i = 0; i < KEY_ID_HEX_LEN / 2; i++) {
                out[2 * i] = digits[k.key_id[i] >> 4];
                out[2 * i + 1] = digits[k.key_id[i] & 15];
        }
        out[KEY_ID_HEX_LEN] = '\0';
        aead_keys_wipe(&k);
        return 0;
}
