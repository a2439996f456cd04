/* cmd_exit: `urelay exit`, the server side that dials the targets.
 *
 * Loads and checks the configuration and every client key (one key-id per
 * client); with --check prints the effective settings, otherwise hands
 * them to the exit runtime (exit/server.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/key.h"
#include "core/log.h"
#include "exit/server.h"
#include "tools/cmd.h"
#include "tools/opts.h"

/* Loads every client key. Two files with one key would make two clients
 * indistinguishable, and revoking one would not revoke it. */
static int load_keys(const struct config_exit *cfg, uint8_t (*keys)[KEY_LEN], char *ids,
                     size_t idslen)
{
        char *const *files = cfg->key_files.v;
        size_t n = 0;

        ids[0] = '\0';
        for (size_t i = 0; i < cfg->key_files.n; i++) {
                char id[KEY_ID_HEX_LEN + 1];
                int code = opts_load_key("exit", files[i], keys[i], id);

                if (code)
                        return code;
                for (size_t k = 0; k < i; k++) {
                        if (!memcmp(keys[k], keys[i], KEY_LEN)) {
                                fprintf(stderr,
                                        "urelay exit: key files %s and %s hold the same key; "
                                        "give each client its own (`urelay keygen --out FILE`)\n",
                                        files[k], files[i]);
                                return URELAY_EXIT_KEY;
                        }
                }
                if (n < idslen)
                        n += (size_t)snprintf(ids + n, idslen - n, "%s%s", i ? "," : "", id);
        }
        return URELAY_EXIT_OK;
}

int cmd_exit(int argc, char **argv)
{
        struct config_exit cfg;
        struct config_cmdline cl;
        uint8_t(*keys)[KEY_LEN] = NULL;
        char ids[1024], summary[4096];
        size_t nkeys = 0;
        int code;

        if (!opts_load(&config_exit_schema, argc, argv, &cfg, &cl, &code))
                return code;
        nkeys = cfg.key_files.n;
        keys = calloc(nkeys, KEY_LEN);
        if (!keys) {
                fprintf(stderr, "urelay exit: out of memory\n");
                code = URELAY_EXIT_RUNTIME;
                goto out;
        }
        code = load_keys(&cfg, keys, ids, sizeof(ids));
        if (code)
                goto out;
        log_set_level((enum log_level)cfg.log_level);
        if (cfg.log_level == LOGL_DEBUG)
                log_warn("debug logging is on: logs may name the hosts clients visit");
        config_summary(&config_exit_schema, &cfg, summary, sizeof(summary));
        if (cl.check) {
                printf("config ok: exit %s key-ids=%s\n", summary, ids);
                code = URELAY_EXIT_OK;
                goto out;
        }
        log_info("exit: %s key-ids=%s", summary, ids);
        code = exit_server_run(&cfg, (const uint8_t(*)[KEY_LEN])keys, nkeys);
out:
        if (keys) {
                key_wipe(keys, nkeys * KEY_LEN);
                free(keys);
        }
        config_free(&config_exit_schema, &cfg);
        return code;
}
