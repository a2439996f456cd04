/* sim: deterministic simulation of a urelay client and exit in one process.
 *
 * The real runtime (tools/client.c and its links, exit/server.c and its
 * clients, core/mux, core/tunnel, the replay window, the endpoint pool) runs
 * unchanged on top of three replacements linked in its place:
 *   sim_reactor.c  core/reactor.h over simulated sockets, on the sim clock
 *   sim_sock.c     the socket calls the runtime makes itself (socket,
 *                  connect, bind, close, ...) and the simulated TCP between
 *                  simulated sockets: ordered, with latency and stalls,
 *                  resets and process deaths, never a real descriptor
 *   sim_hostenv.c  core/hostenv.h: the sim clock and the seed's randomness
 * One seed drives everything (latencies, faults, the workload), and events
 * with the same time run in the order they were scheduled, so a seed replays
 * the same run byte for byte. sim_world.c builds a world (apps, targets,
 * faults) from a seed, runs it, and checks the invariants of BRIEF §7.
 */
#ifndef URELAY_TESTS_SIM_H
#define URELAY_TESTS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Simulated descriptors start here: far above any real one. */
#define SIM_FD_BASE (1 << 24)

/* ---- clock, randomness, events (sim_sock.c) ---- */

typedef void (*sim_fn)(void *a, uint64_t b);

uint64_t sim_now(void);
/* Unix milliseconds at sim time 0. */
#define SIM_WALL_BASE 1800000000000ull
uint64_t sim_rand(void);
/* Uniform in [0, n); 0 when n is 0. */
uint64_t sim_below(uint64_t n);
bool sim_chance(unsigned percent);
/* Runs fn(a, b) at time <t> (>= now), after everything scheduled earlier
 * for the same time. */
void sim_at(uint64_t t, sim_fn fn, void *a, uint64_t b);
/* Starts a run: clock at 0, randomness from <seed>, no events, no sockets. */
void sim_reset(uint64_t seed);
/* Runs the next event or due timer; false when nothing is left before
 * <until>. */
bool sim_step(uint64_t until);
/* Frees every socket of the run. */
void sim_sockets_free(void);

/* One line of the run's trace, among the runtime's own log lines (stderr,
 * which the world keeps in memory and prints for a failing seed). */
void sim_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- nodes and the network ---- */

/* Every socket belongs to a node; faults act on the path between nodes. */
enum sim_node {
        NODE_APP,
        NODE_CLIENT,
        NODE_EXIT,
        NODE_TARGET,
        NODE_ATTACKER,
        NODE_FWD, /* urelay forwarder, the Apps Script stand-in, between client and exit */
        NODE_COUNT
};

struct sim_net_conf {
        unsigned lat_min_ms, lat_max_ms; /* one way, client <-> exit */
        unsigned local_lat_ms;           /* app <-> client, exit <-> target */
        size_t sockbuf;                  /* bytes one direction holds (in flight + unread) */
};
extern struct sim_net_conf sim_net;

/* Bytes from client to exit are held (not lost: TCP resends) until <until>. */
void sim_partition(uint64_t until);
/* Resets every live connection of the tunnel's path (client, forwarder,
 * exit). Returns how many. */
unsigned sim_reset_transport(void);

/* ---- simulated sockets ---- */

struct ssock;
struct rconn;

/* A socket driven by the simulation itself (apps, targets, the attacker):
 * <on_event> runs when it may have become readable, writable, connected or
 * failed. */
typedef void (*ssock_fn)(struct ssock *s, void *ud);

/* Sockets of the runtime are created through socket(); these make the
 * simulation's own. */
struct ssock *ssock_listen(enum sim_node node, const struct sockaddr *sa, ssock_fn on_accept,
                           void *ud);
struct ssock *ssock_connect(enum sim_node node, const struct sockaddr *sa, ssock_fn on_event,
                            void *ud);
void ssock_set_owner(struct ssock *s, ssock_fn on_event, void *ud);
/* The next accepted socket of listener <l>, or NULL. */
struct ssock *ssock_accept(struct ssock *l);
/* Copies out up to <cap> received bytes; 0 with *eof set at the peer's FIN. */
size_t ssock_read(struct ssock *s, uint8_t *buf, size_t cap, bool *eof);
/* Queues bytes to send (the simulation's own sockets are not bounded). */
void ssock_write(struct ssock *s, const void *p, size_t n);
size_t ssock_unsent(const struct ssock *s);
void ssock_shutdown(struct ssock *s);
/* RST: the peer's next read or write fails. */
void ssock_abort(struct ssock *s);
void ssock_close(struct ssock *s);
/* 0, or -ECONNRESET / -ECONNREFUSED / -ETIMEDOUT once it failed. */
int ssock_error(const struct ssock *s);
/* Bytes the peer of <s> has read of what <s> sent. */
uint64_t ssock_peer_read(const struct ssock *s);
/* Bytes <s> has sent in all (queued included). */
uint64_t ssock_sent_total(const struct ssock *s);
bool ssock_connected(const struct ssock *s);

/* What the reactor needs from a socket it adopted. */
struct ssock *ssock_by_fd(int fd);
int ssock_fd(const struct ssock *s);
enum sim_node ssock_node(const struct ssock *s);
void ssock_bind_rconn(struct ssock *s, struct rconn *c);
/* Queues an owner event for <s> (it may have news). */
void ssock_notify(struct ssock *s);
/* The reactor queued bytes (or a FIN) for <s>: let the wire take them. */
void ssock_kick(struct ssock *s);
/* An attacker on the path puts p[0, n) into the stream <s> sends, after
 * what <s> put on the wire so far (the peer cannot tell). */
void ssock_inject(struct ssock *s, const uint8_t *p, size_t n);
bool ssock_closed(const struct ssock *s);
struct rconn *ssock_rconn(const struct ssock *s);
/* The node new sockets from socket() belong to: set around each call into
 * the client or the exit. */
void sim_set_current_node(enum sim_node n);
enum sim_node sim_current_node(void);
/* Wall clock skew per node (sim_hostenv.c). */
extern int64_t sim_skew_ms[NODE_COUNT];
/* Closes every socket of <node> as the kernel does for a killed process. */
void sim_node_crash(enum sim_node node);
/* A tap sees every byte a <from> node sends to a <to> node, per connection. */
typedef void (*sim_tap_fn)(struct ssock *from, const uint8_t *p, size_t n, void *ud);
void sim_set_tap(enum sim_node from, enum sim_node to, sim_tap_fn fn, void *ud);

/* ---- sim_peek.c: inside the client and the exit ---- */

struct crt;
struct server;
/* Data bytes their muxes hold: in all, and the most one session holds. */
void sim_peek_client(const struct crt *rt, size_t *total, size_t *most);
void sim_peek_exit(const struct server *srv, size_t *total, size_t *most);

/* ---- sim_reactor.c ---- */

/* Called by sim_sock.c when a socket bound to <c> changed. */
void sim_reactor_sock_event(struct rconn *c);
/* The simulated kernel takes up to <max> queued bytes of <c> into <buf>;
 * returns how many, and whether nothing is left queued. */
size_t sim_reactor_pull(struct rconn *c, uint8_t *buf, size_t max, bool *empty);
/* Time of the earliest timer over every reactor, UINT64_MAX if none. */
uint64_t sim_reactor_next_timer(void);
/* Runs due timers of every reactor; true if one ran. */
bool sim_reactor_run_timers(uint64_t now);
/* True once reactor_stop() was called on <r> (the process wants to end). */
struct reactor;
bool sim_reactor_stopped(const struct reactor *r);
void sim_reactor_set_node(struct reactor *r, enum sim_node node);
/* Frees every reactor and connection of the run (after their owners). */
void sim_reactor_free_all(void);

#endif
