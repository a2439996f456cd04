/* opts: what `urelay client` and `urelay exit` share around core/config:
 * loading the configuration with the process's exit-code conventions, and
 * loading key files with their refusals printed.
 *
 * Sits between tools/cmd_*.c and core/config, core/key. Messages go to
 * stderr as "urelay <command>: <message>", never with key material.
 */
#ifndef URELAY_TOOLS_OPTS_H
#define URELAY_TOOLS_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/key.h"

/* Runs config_load. Returns true when the command should go on; false with
 * *code set when it is done: --help printed (0), a usage error (64) or a
 * configuration error (78), the message printed. */
bool opts_load(const struct config_schema *s, int argc, char **argv, void *cfg,
               struct config_cmdline *cl, int *code);
/* Loads and checks one key file; fills its key-id. Returns URELAY_EXIT_OK,
 * or URELAY_EXIT_KEY with the refusal printed (key wiped). */
int opts_load_key(const char *command, const char *path, uint8_t key[KEY_LEN],
                  char id[KEY_ID_HEX_LEN + 1]);

#endif
