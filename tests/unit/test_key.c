/* test_key: key parsing, checks, files and generation (core/key.h).
 *
 * The only key spelled out here is PUBLISHED_KEY, and it is here to be
 * refused: cmake/known_keys.cmake scans tests/, so it lands in the built-in
 * published list. Every key meant to be accepted is generated at run time.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/key.h"

#define PUBLISHED_KEY "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef"

static char dir[] = "/tmp/urelay-test-key.XXXXXX";

static void setup(void)
{
        cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        cr_assert_eq(system(cmd), 0);
}

TestSuite(key, .init = setup, .fini = teardown);

/* A fresh random key in hex, as `urelay keygen` prints it. */
static void fresh_hex(char hex[KEY_HEX_LEN + 1])
{
        uint8_t k[KEY_LEN];

        cr_assert_eq(key_generate(k), 0);
        key_to_hex(k, hex);
}

static void parse_bad(const char *text, int want_rc, const char *want)
{
        uint8_t k[KEY_LEN];
        char err[512] = "";

        memset(k, 0x5a, sizeof(k));
        cr_assert_eq(key_parse_hex(text, k, err, sizeof(err)), want_rc, "\"%s\": %s", text, err);
        cr_assert(strstr(err, want), "\"%s\": got \"%s\", want \"%s\"", text, err, want);
        for (size_t i = 0; i < KEY_LEN; i++)
                cr_assert_eq(k[i], 0, "key not wiped after a refusal");
}

static void write_file(const char *path, const char *text, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        cr_assert_eq(fchmod(fd, mode), 0);
        close(fd);
}

static char *path_in_dir(const char *name)
{
        static char path[256];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return path;
}

static void load_bad(const char *path, int want_rc, const char *want)
{
        uint8_t k[KEY_LEN];
        char err[1024] = "";

        cr_assert_eq(key_load_file(path, k, err, sizeof(err)), want_rc, "%s: %s", path, err);
        cr_assert(strstr(err, want), "%s: got \"%s\", want \"%s\"", path, err, want);
}

Test(key, parse_valid)
{
        char hex[KEY_HEX_LEN + 1], text[KEY_HEX_LEN + 16], out[KEY_HEX_LEN + 1];
        uint8_t k[KEY_LEN];
        char err[256];

        fresh_hex(hex);
        cr_assert_eq(key_parse_hex(hex, k, err, sizeof(err)), 0, "%s", err);
        key_to_hex(k, out);
        cr_assert_str_eq(out, hex);

        /* Upper case and surrounding whitespace, as an editor may leave it. */
        snprintf(text, sizeof(text), " \t%s\r\n\n", hex);
        for (char *p = text; *p; p++)
                if (*p >= 'a' && *p <= 'f')
                        *p = (char)(*p - 'a' + 'A');
        cr_assert_eq(key_parse_hex(text, k, err, sizeof(err)), 0, "%s", err);
        key_to_hex(k, out);
        cr_assert_str_eq(out, hex);
}

Test(key, parse_length)
{
        char hex[KEY_HEX_LEN + 3];

        fresh_hex(hex);
        hex[KEY_HEX_LEN - 1] = '\0';
        parse_bad(hex, -EINVAL, "the key has 63 hex characters, it needs exactly 64");
        fresh_hex(hex);
        strcat(hex, "ab");
        parse_bad(hex, -EINVAL, "the key has 66 hex characters");
        parse_bad("", -EINVAL, "empty key");
        parse_bad(" \n", -EINVAL, "empty key");
        parse_bad("abcd", -EINVAL, "urelay keygen --out FILE");
}

Test(key, parse_characters)
{
        char hex[KEY_HEX_LEN + 8];

        fresh_hex(hex);
        hex[4] = 'g';
        parse_bad(hex, -EINVAL, "character 5 of the key ('g') is not a hex digit");
        fresh_hex(hex);
        hex[63] = 'z';
        parse_bad(hex, -EINVAL, "character 64 of the key ('z')");
        fresh_hex(hex);
        hex[10] = ' ';
        parse_bad(hex, -EINVAL, "character 11 of the key (\\x20)");
        fresh_hex(hex);
        hex[0] = '\x01';
        parse_bad(hex, -EINVAL, "character 1 of the key (\\x01)");
        /* base64 of 32 bytes: a different encoding, not a key. */
        parse_bad("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=", -EINVAL, "is not a hex digit");
        /* "0x" prefix */
        fresh_hex(hex);
        memmove(hex + 2, hex, KEY_HEX_LEN + 1);
        memcpy(hex, "0x", 2);
        parse_bad(hex, -EINVAL, "character 2 of the key ('x')");
}

Test(key, all_equal)
{
        uint8_t raw[KEY_LEN];
        char hex[KEY_HEX_LEN + 1];
        static const uint8_t bytes[] = {0x00, 0x11, 0xff, 0xa5};

        for (size_t i = 0; i < sizeof(bytes); i++) {
                char want[64];

                memset(raw, bytes[i], sizeof(raw));
                key_to_hex(raw, hex);
                snprintf(want, sizeof(want), "all 32 bytes are 0x%02x", bytes[i]);
                parse_bad(hex, -EKEYREJECTED, want);
                cr_assert_eq(key_check(raw, NULL, 0), -EKEYREJECTED);
        }
        /* One byte off is not "all equal" (whatever else it is). */
        memset(raw, 0x11, sizeof(raw));
        raw[31] = 0x12;
        cr_assert_eq(key_check(raw, NULL, 0), 0);
}

Test(key, published_literal)
{
        /* Found in this very file by the build's scan. */
        parse_bad(PUBLISHED_KEY, -EKEYREJECTED, "this key is published in the urelay sources");
        parse_bad(PUBLISHED_KEY, -EKEYREJECTED, "urelay keygen --out FILE");
}

Test(key, published_list)
{
        size_t n = key_published_count();
        uint8_t k[KEY_LEN];
        char err[512];

        cr_assert_geq(n, 1, "the generated list lacks even this file's key");
        for (size_t i = 0; i < n; i++) {
                const char *hex = key_published_hex(i);

                cr_assert_eq(strlen(hex), KEY_HEX_LEN);
                cr_assert_eq(key_parse_hex(hex, k, err, sizeof(err)), -EKEYREJECTED, "%s", hex);
        }
        cr_assert_null(key_published_hex(n));
}

Test(key, generate)
{
        uint8_t a[KEY_LEN], b[KEY_LEN];
        char err[256];

        cr_assert_eq(key_generate(a), 0);
        cr_assert_eq(key_generate(b), 0);
        cr_assert_neq(memcmp(a, b, KEY_LEN), 0);
        cr_assert_eq(key_check(a, err, sizeof(err)), 0, "%s", err);
        cr_assert(!key_is_published(a));
}

Test(key, key_id)
{
        uint8_t k[KEY_LEN];
        char id1[KEY_ID_HEX_LEN + 1], id2[KEY_ID_HEX_LEN + 1], hex[KEY_HEX_LEN + 1];

        /* docs/protocol.md's known answer: key 00 01 .. 1f has key id
         * 3f d2 9e 63 58 fd 85 9f; the log id is its first 4 bytes. */
        for (int i = 0; i < KEY_LEN; i++)
                k[i] = (uint8_t)i;
        cr_assert_eq(key_id(k, id1), 0);
        cr_assert_str_eq(id1, "3fd29e63");
        cr_assert_eq(key_generate(k), 0);
        cr_assert_eq(key_id(k, id2), 0);
        key_to_hex(k, hex);
        cr_assert_eq(strlen(id2), KEY_ID_HEX_LEN);
        cr_assert_null(strstr(hex, id2), "the key-id is not a slice of the key");
}

Test(key, file_ok)
{
        char hex[KEY_HEX_LEN + 1], text[KEY_HEX_LEN + 8], out[KEY_HEX_LEN + 1], err[512];
        uint8_t k[KEY_LEN];
        const char *p = path_in_dir("ok.key");

        fresh_hex(hex);
        snprintf(text, sizeof(text), "%s\n", hex);
        write_file(p, text, 0600);
        cr_assert_eq(key_load_file(p, k, err, sizeof(err)), 0, "%s", err);
        key_to_hex(k, out);
        cr_assert_str_eq(out, hex);

        /* 0400 is stricter than 0600: fine. */
        write_file(p, text, 0400);
        cr_assert_eq(key_load_file(p, k, err, sizeof(err)), 0, "%s", err);
}

Test(key, file_modes)
{
        static const mode_t bad[] = {0640, 0604, 0644, 0660, 0606, 0620, 0602, 0610};
        char hex[KEY_HEX_LEN + 1], want[512];
        const char *p = path_in_dir("exposed.key");

        fresh_hex(hex);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                write_file(p, hex, bad[i]);
                snprintf(want, sizeof(want), "(mode %04o); run `chmod 600 %s`", (unsigned)bad[i],
                         p);
                load_bad(p, -EACCES, want);
                load_bad(p, -EACCES, "group or others can read or write it");
        }
}

Test(key, file_missing)
{
        const char *p = path_in_dir("missing.key");

        load_bad(p, -ENOENT, "No such file or directory");
        load_bad(p, -ENOENT, "urelay keygen --out FILE");
        load_bad(dir, -EINVAL, "not a regular file");
}

Test(key, file_contents)
{
        char hex[KEY_HEX_LEN + 1], text[8192];
        uint8_t raw[KEY_LEN];
        const char *p = path_in_dir("bad.key");

        fresh_hex(hex);
        snprintf(text, sizeof(text), "%s\n# my key\n", hex);
        write_file(p, text, 0600);
        load_bad(p, -EINVAL, "character 65 of the key (\\x0a) is not a hex digit");

        write_file(p, "", 0600);
        load_bad(p, -EINVAL, "empty key");

        write_file(p, PUBLISHED_KEY "\n", 0600);
        load_bad(p, -EKEYREJECTED, "is published in the urelay sources");

        memset(raw, 0x77, sizeof(raw));
        key_to_hex(raw, hex);
        write_file(p, hex, 0600);
        load_bad(p, -EKEYREJECTED, "all 32 bytes are 0x77");

        memset(text, ' ', 5000);
        text[5000] = '\0';
        write_file(p, text, 0600);
        load_bad(p, -EINVAL, "longer than 4096 bytes");
}

Test(key, file_nul)
{
        char hex[KEY_HEX_LEN + 1];
        uint8_t k[KEY_LEN];
        char err[512];
        const char *p = path_in_dir("nul.key");
        int fd;

        /* A NUL must not end the parse early and hide what follows. */
        fresh_hex(hex);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, hex, KEY_HEX_LEN), KEY_HEX_LEN);
        cr_assert_eq(write(fd, "\0junk", 5), 5);
        close(fd);
        cr_assert_eq(key_load_file(p, k, err, sizeof(err)), -EINVAL);
        cr_assert(strstr(err, "character 65 of the key (\\x00)"), "%s", err);
}
