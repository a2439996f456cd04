/* cmd_keygen: `urelay keygen [--out FILE [--force]]`, a fresh key.
 *
 * Without --out the key goes to stdout, for a pipe or a secret manager.
 * With --out it goes to a file created with mode 0600 that never existed
 * before (O_EXCL): a key file silently replaced would cut off every client
 * holding the old key. --force replaces one atomically (write a temporary
 * file beside it, then rename), so no reader ever sees half a key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/key.h"
#include "tools/cmd.h"

static void usage(FILE *f)
{
        fprintf(f, "usage: urelay keygen [--out FILE [--force]]\n\n"
                   "Prints a fresh key: 64 hex digits from wolfCrypt's DRBG.\n\n"
                   "  -o, --out FILE   write it to FILE (mode 0600) instead of stdout;\n"
                   "                   an existing FILE is never overwritten\n"
                   "  -f, --force      replace an existing FILE (atomically)\n"
                   "  -h, --help       print this help\n\n"
                   "Give the same file to the client (key_file) and the exit (key_files),\n"
                   "one key per client.\n");
}

static int write_all(int fd, const char *buf, size_t len)
{
        while (len) {
                ssize_t w = write(fd, buf, len);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                buf += w;
                len -= (size_t)w;
        }
        return 0;
}

/* Writes line to a new fd and makes it durable. Returns 0 or -errno. */
static int fill(int fd, const char *line, size_t len)
{
        int rc = 0;

        /* umask can only narrow 0600, but make the mode exact anyway. */
        if (fchmod(fd, 0600) < 0)
                rc = -errno;
        if (!rc)
                rc = write_all(fd, line, len);
        if (!rc && fsync(fd) < 0)
                rc = -errno;
        if (close(fd) < 0 && !rc)
                rc = -errno;
        return rc;
}

static int write_key_file(const char *path, const char *line, size_t len, bool force)
{
        int fd, rc;

        if (!force) {
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return -errno;
                rc = fill(fd, line, len);
                if (rc)
                        unlink(path);
                return rc;
        }
        size_t plen = strlen(path);
        char *tmp = malloc(plen + 8);

        if (!tmp)
                return -ENOMEM;
        memcpy(tmp, path, plen);
        memcpy(tmp + plen, ".XXXXXX", 8);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                rc = -errno;
                free(tmp);
                return rc;
        }
        rc = fill(fd, line, len);
        if (!rc && rename(tmp, path) < 0)
                rc = -errno;
        if (rc)
                unlink(tmp);
        free(tmp);
        return rc;
}

int cmd_keygen(int argc, char **argv)
{
        const char *out = NULL;
        bool force = false;
        uint8_t key[KEY_LEN];
        char line[KEY_HEX_LEN + 2], id[KEY_ID_HEX_LEN + 1];
        int code = URELAY_EXIT_OK, rc;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                        usage(stdout);
                        return URELAY_EXIT_OK;
                } else if (!strcmp(a, "-f") || !strcmp(a, "--force")) {
                        force = true;
                } else if (!strncmp(a, "--out=", 6)) {
                        out = a + 6;
                } else if (!strcmp(a, "-o") || !strcmp(a, "--out")) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, "urelay keygen: %s: needs a FILE\n", a);
                                return URELAY_EXIT_USAGE;
                        }
                        out = argv[++i];
                } else {
                        fprintf(stderr,
                                "urelay keygen: unknown option %s (see urelay keygen "
                                "--help)\n",
                                a);
                        return URELAY_EXIT_USAGE;
                }
        }
        if (out && !*out) {
                fprintf(stderr, "urelay keygen: --out: needs a FILE\n");
                return URELAY_EXIT_USAGE;
        }
        if (force && !out) {
                fprintf(stderr, "urelay keygen: --force only applies with --out FILE\n");
                return URELAY_EXIT_USAGE;
        }
        if (key_generate(key) || key_id(key, id)) {
                fprintf(stderr, "urelay keygen: wolfCrypt's random generator failed\n");
                return URELAY_EXIT_RUNTIME;
        }
        key_to_hex(key, line);
        line[KEY_HEX_LEN] = '\n';
        line[KEY_HEX_LEN + 1] = '\0';
        if (!out) {
                if (fputs(line, stdout) == EOF || fflush(stdout) == EOF) {
                        fprintf(stderr, "urelay keygen: cannot write to stdout\n");
                        code = URELAY_EXIT_RUNTIME;
                }
                goto done;
        }
        rc = write_key_file(out, line, KEY_HEX_LEN + 1, force);
        if (rc == -EEXIST) {
                fprintf(stderr,
                        "urelay keygen: %s exists; refusing to overwrite a key (pass "
                        "--force to replace it)\n",
                        out);
                code = URELAY_EXIT_RUNTIME;
        } else if (rc) {
                fprintf(stderr, "urelay keygen: cannot write %s: %s\n", out, strerror(-rc));
                code = URELAY_EXIT_RUNTIME;
        } else {
                printf("wrote a new key to %s (mode 0600, key-id %s)\n", out, id);
        }
done:
        key_wipe(key, sizeof(key));
        key_wipe(line, sizeof(line));
        return code;
}
