/* opts: config and key loading for the commands, with exit codes. */
#include "tools/opts.h"

#include <errno.h>
#include <stdio.h>

#include "tools/cmd.h"

bool opts_load(const struct config_schema *s, int argc, char **argv, void *cfg,
               struct config_cmdline *cl, int *code)
{
        char err[1024];
        int rc = config_load(s, argc, argv, cfg, cl, err, sizeof(err));

        if (rc == -EINVAL) {
                fprintf(stderr, "urelay %s: %s\n", s->command, err);
                *code = URELAY_EXIT_USAGE;
                return false;
        }
        if (rc) {
                fprintf(stderr, "urelay %s: %s\n", s->command, err);
                *code = URELAY_EXIT_CONFIG;
                return false;
        }
        if (cl->help) {
                config_help(s, stdout);
                *code = URELAY_EXIT_OK;
                return false;
        }
        return true;
}

int opts_load_key(const char *command, const char *path, uint8_t key[KEY_LEN],
                  char id[KEY_ID_HEX_LEN + 1])
{
        char err[1024];

        if (key_load_file(path, key, err, sizeof(err))) {
                fprintf(stderr, "urelay %s: %s\n", command, err);
                return URELAY_EXIT_KEY;
        }
        if (key_id(key, id)) {
                key_wipe(key, KEY_LEN);
                fprintf(stderr, "urelay %s: cannot derive the key id (wolfCrypt HKDF failed)\n",
                        command);
                return URELAY_EXIT_KEY;
        }
        return URELAY_EXIT_OK;
}
