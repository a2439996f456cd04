/* echo: a reactor echo server on loopback and a blocking client that pushes
 * a keyed stream (core/stream_gen) through it and checks every byte back.
 *
 * Used by `urelay selfcheck`, the reactor tests and perf/bench_echo.c. The
 * server applies backpressure: a connection whose send queue passes the
 * high-water mark stops receiving until it drains.
 */
#ifndef URELAY_TOOLS_ECHO_H
#define URELAY_TOOLS_ECHO_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/reactor.h"

struct echo_server {
        struct reactor *r;
        struct rconn *listener;
        uint16_t port;
        size_t high_water;     /* pause recv above this many queued bytes */
        uint64_t pauses;       /* times backpressure kicked in */
        unsigned open, closed; /* echo connections */
        int sndbuf;            /* SO_SNDBUF for accepted sockets (0 = default) */
};

/* Listens on 127.0.0.1 (port 0 = any) and serves on <r>. Returns 0/-errno. */
int echo_server_start(struct echo_server *s, struct reactor *r, uint16_t port);
void echo_server_stop(struct echo_server *s);

struct echo_client {
        uint16_t port;
        uint64_t total; /* bytes to send and check */
        uint64_t key;   /* stream key */
        size_t chunk;   /* write size */
        int rcvbuf;     /* SO_RCVBUF (0 = default) */
        /* results */
        uint64_t received;
        uint64_t bad_offset; /* first wrong byte, when ok == 0 */
        int ok;
        int err; /* errno of a socket failure, 0 if none */
        double seconds;
        atomic_int done;
};

/* Blocking; run it in a thread of its own (it starts one more to write). */
void echo_client_run(struct echo_client *c);
void *echo_client_thread(void *arg);

/* Runs <r> until every client in <cl>[0..n) is done (or <timeout_ms>). */
int echo_run_until_done(struct reactor *r, struct echo_client *cl, unsigned n, unsigned timeout_ms);

#endif
