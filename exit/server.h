/* server: the exit runtime. One reactor that serves HTTP/1.1 (`/stream`
 * WebSocket tunnels, `/healthz`, a decoy for everything else), opens and
 * authenticates batches, keeps each client's sessions in its own mux, and
 * dials the targets through the dialer (DNS, egress policy, timeouts).
 *
 * Sits on top of exit/ (dialer, dns, egress), transport/ (http1, ws) and
 * core/ (reactor, tunnel, mux, sockpipe). tools/cmd_exit.c calls it.
 */
#ifndef URELAY_EXIT_SERVER_H
#define URELAY_EXIT_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/key.h"

/* Runs the exit until SIGINT/SIGTERM. <keys> are the client keys (each
 * KEY_LEN bytes), already checked. Prints one "ready" line on stdout once
 * it serves. Returns a process exit code (enum urelay_exit). */
int exit_server_run(const struct config_exit *cfg, const uint8_t (*keys)[KEY_LEN], size_t nkeys);

struct server;
struct reactor;

/* The same in parts, for a caller that runs the reactor itself (tests/sim):
 * sets up the exit on <r>, which it takes over, and starts listening.
 * Returns 0, or an exit code with the cause on stderr; *out is set either
 * way and goes to exit_server_close. */
int exit_server_open(struct server **out, struct reactor *r, const struct config_exit *cfg,
                     const uint8_t (*keys)[KEY_LEN], size_t nkeys);
/* Resets every session, frees the exit and its reactor. */
void exit_server_close(struct server *srv);

#endif
