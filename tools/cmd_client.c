/* cmd_client: `urelay client`, the user-side SOCKS5 relay.
 *
 * Loads and checks the configuration and the key; with --check prints the
 * effective settings, otherwise hands them to the client runtime
 * (tools/client.c).
 */
#include <stdio.h>

#include "core/config.h"
#include "core/key.h"
#include "core/log.h"
#include "tools/client.h"
#include "tools/cmd.h"
#include "tools/opts.h"

/* Things allowed but risky: said once at startup, at warn level. */
static void warn_risky(const struct config_client *cfg)
{
        char a[NETADDR_STRLEN];

        if (!netaddr_is_loopback(&cfg->socks)) {
                netaddr_format(&cfg->socks, a, sizeof(a));
                log_warn("the SOCKS5 server listens on %s, not on loopback: other hosts can "
                         "reach it%s",
                         a,
                         cfg->socks_user ? ""
                                         : ", and without socks_user/socks_password anyone of "
                                           "them can use the relay");
        }
        if (cfg->insecure)
                log_warn("--insecure: the exit's TLS certificate is not verified; anyone on the "
                         "path can read and alter the TLS layer (the batches inside stay "
                         "encrypted and authenticated)");
        if (cfg->log_level == LOGL_DEBUG)
                log_warn("debug logging is on: logs may name the hosts you visit");
}

static int saved_argc;
static char **saved_argv;

/* SIGHUP: the same command line (and so the same file) again. */
static int reload_config(struct config_client *out, char *err, size_t len)
{
        struct config_cmdline cl;

        return config_client_load(saved_argc, saved_argv, out, &cl, err, len);
}

int cmd_client(int argc, char **argv)
{
        struct config_client cfg;
        struct config_cmdline cl;
        uint8_t key[KEY_LEN] = {0};
        char id[KEY_ID_HEX_LEN + 1], summary[4096];
        int code;

        if (!opts_load(&config_client_schema, argc, argv, &cfg, &cl, &code))
                return code;
        code = opts_load_key("client", cfg.key_file, key, id);
        if (code)
                goto out;
        log_set_level((enum log_level)cfg.log_level);
        warn_risky(&cfg);
        config_summary(&config_client_schema, &cfg, summary, sizeof(summary));
        if (cl.check) {
                printf("config ok: client %s key-id=%s\n", summary, id);
                code = URELAY_EXIT_OK;
                goto out;
        }
        log_info("client: %s key-id=%s", summary, id);
        saved_argc = argc;
        saved_argv = argv;
        code = client_run(&cfg, key, reload_config);
out:
        key_wipe(key, sizeof(key));
        config_free(&config_client_schema, &cfg);
        return code;
}
