/* client: the client runtime. A SOCKS5 server on loopback whose CONNECTs
 * become sessions of one mux, carried as sealed batches over a transport
 * (a WebSocket, or batched POSTs) through a pool of endpoints to the exit.
 *
 * At start it proves an endpoint: a PING batch must come back
 * authenticated. Before the client has ever worked, an endpoint that
 * answers but not as an urelay exit taking our key ends the process with
 * exit code 2; afterwards that answer, like any network trouble, costs the
 * endpoint a failure and the link is re-established with backoff. Sessions
 * survive a new link (their unacknowledged bytes go again). SIGHUP reloads
 * the endpoint list. tools/cmd_client.c calls it.
 */
#ifndef URELAY_TOOLS_CLIENT_H
#define URELAY_TOOLS_CLIENT_H

#include <stdint.h>

#include "core/config.h"
#include "core/key.h"

struct crt;
struct reactor;

/* Runs until SIGINT/SIGTERM. Prints one "ready" line on stdout once the
 * SOCKS5 server accepts connections. <reload> (may be NULL) loads the
 * configuration again for SIGHUP: 0, or non-zero with a message in err.
 * Returns a process exit code. */
int client_run(const struct config_client *cfg, const uint8_t key[KEY_LEN],
               int (*reload)(struct config_client *out, char *err, size_t len));

/* The same in parts, for a caller that runs the reactor itself (tests/sim):
 * sets up a client on <r>, which it takes over (client_close frees it), and
 * starts its first link. Returns 0, or an exit code with the cause on
 * stderr; *out is set either way and must go to client_close. The client
 * calls reactor_stop(r) when it must end (client_fatal). */
int client_open(struct crt **out, struct reactor *r, const struct config_client *cfg,
                const uint8_t key[KEY_LEN],
                int (*reload)(struct config_client *out, char *err, size_t len));
/* Ends every session with a reset and frees the client and its reactor.
 * Returns the process exit code. */
int client_close(struct crt *rt);

#endif
