/* client: the client runtime. A SOCKS5 server on loopback whose CONNECTs
 * become sessions of one mux, carried as sealed batches over a WebSocket
 * tunnel to the exit.
 *
 * At start it proves the endpoint: a PING batch must come back
 * authenticated. An endpoint that answers but not as an urelay exit taking
 * our key ends the process with exit code 2; one that cannot be reached is
 * retried with backoff. tools/cmd_client.c calls it.
 */
#ifndef URELAY_TOOLS_CLIENT_H
#define URELAY_TOOLS_CLIENT_H

#include <stdint.h>

#include "core/config.h"
#include "core/key.h"

/* Runs until SIGINT/SIGTERM. Prints one "ready" line on stdout once the
 * SOCKS5 server accepts connections. Returns a process exit code. */
int client_run(const struct config_client *cfg, const uint8_t key[KEY_LEN]);

#endif
