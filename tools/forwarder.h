/* forwarder: `urelay forwarder`, a loopback stand-in for the Google Apps
 * Script web app that users put between the client's post transport and
 * the exit (forwarder/Code.gs, docs/apps-script.md).
 *
 * Like the web app it takes `POST <any path>`, forwards the body verbatim
 * to an exit's `POST /tunnel`, keeps the exit's answer whatever its status
 * (UrlFetchApp with muteHttpExceptions), and answers the POST with a 302
 * whose Location (`/echo?k=TOKEN` on the same host) serves that answer once,
 * as script.googleusercontent.com/macros/echo does. On top it injects the
 * failures the real service shows: latency, lost answers, truncated
 * answers, 429 rate limits and the daily UrlFetch quota page.
 *
 * Runs on the reactor (core/reactor) with transport/http1_msg for both
 * sides; sits beside the client and exit runtimes in tools/. A test and
 * benchmark tool: loopback only unless told otherwise.
 */
#ifndef URELAY_TOOLS_FORWARDER_H
#define URELAY_TOOLS_FORWARDER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/netaddr.h"

#define FORWARDER_MAX_EXITS 16

struct forwarder_conf {
        struct netaddr listen;                           /* an IP literal */
        struct netaddr_url exits[FORWARDER_MAX_EXITS];   /* http://IP:port/path */
        unsigned nexits;                                 /* >= 1, used round robin */
        unsigned latency_ms, jitter_ms;                  /* added before each POST is handled */
        unsigned exit_timeout_ms;                        /* for the exit's whole answer */
        uint64_t fail_every, truncate_every, rate_every; /* every Nth POST; 0 = never */
        uint64_t quota_after; /* POSTs before the quota page; 0 = never */
        unsigned fail_status; /* what a lost answer looks like */
        unsigned retry_after; /* Retry-After of the 429, seconds */
};

/* Defaults: no faults, no latency, 60 s exit timeout, fail status 502,
 * Retry-After 30. Listen address and exits are left empty. */
void forwarder_conf_init(struct forwarder_conf *c);

/* Serves until SIGINT or SIGTERM, then prints the one-line summary on
 * stderr. Prints the ready line on stdout once listening. Returns a process
 * exit code (tools/cmd.h). */
int forwarder_run(const struct forwarder_conf *c);

struct fwd;
struct reactor;
/* The same in parts, for a caller that runs the reactor (tests/sim): sets
 * up on <r>, which it takes over, and listens. Returns 0 or an exit code
 * with the cause on stderr; *out goes to forwarder_close either way, which
 * frees the forwarder and its reactor. <c> must outlive it. */
int forwarder_open(struct fwd **out, struct reactor *r, const struct forwarder_conf *c);
void forwarder_close(struct fwd *f);

#endif
