/* reactor: one io_uring per thread that owns every socket of that thread.
 *
 * Bottom of the stack. It accepts (multishot), connects (with a linked
 * timeout), receives (multishot into a provided buffer ring) and sends (a
 * FIFO per socket with exactly one send in flight, short tails resubmitted
 * first), runs timers, and tears sockets down in order: cancel, then
 * shutdown/close, then free, only when nothing is in flight.
 *
 * Receive flows up through callbacks (struct rconn_ops), send flows down
 * through calls (reactor_send*). Every completion carries slot+generation+op
 * in user_data, so a late completion for a reused slot is recognised, counted
 * and its provided buffer still returned.
 *
 * Ownership rules (libuv's): a function that returns an error never calls a
 * callback; memory given to reactor_send_ref stays the caller's until its
 * release callback; a connection's user data may be freed in or after
 * on_close, never before. Callbacks may call any reactor function, including
 * reactor_conn_close on their own connection: the free is deferred until the
 * dispatcher is done with it.
 */
#ifndef URELAY_CORE_REACTOR_H
#define URELAY_CORE_REACTOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/sendq.h"
#include "core/timer.h"

struct reactor;
struct rconn;

struct reactor_conf {
        unsigned sq_entries; /* default 256 */
        unsigned cq_entries; /* default 64 x sq_entries: multishot output is unbounded */
        unsigned buf_count;  /* provided recv buffers, power of two; default 1024 */
        unsigned buf_size;   /* bytes per buffer; default 16 KiB */
        unsigned max_conns;  /* connection slots, listeners included; default: the
                              * descriptor limit, 4096..2^20 */
};

/* Counters instead of per-event log lines. */
struct reactor_stats {
        uint64_t recvs, sends, bytes_in, bytes_out;
        uint64_t short_sends;   /* sends the kernel took only part of; tail resubmitted */
        uint64_t enobufs;       /* multishot recv ended for lack of buffers */
        uint64_t rearms;        /* multishot recv/accept re-armed after ending */
        uint64_t cq_overflow;   /* CQEs the kernel had to drop (koverflow) */
        uint64_t cq_backlog;    /* times the kernel parked CQEs (IORING_SQ_CQ_OVERFLOW) */
        uint64_t stale_cqes;    /* completions for a slot that was reused */
        uint64_t stale_bufs;    /* provided buffers given back from stale completions */
        uint64_t accept_errors; /* EMFILE and friends; accept re-armed after a pause */
        uint64_t conns_open, conns_total;
};

/* What the ring was set up with, for `urelay version`. */
struct reactor_info {
        unsigned setup_flags, features, sq_entries, cq_entries;
        int single_issuer, defer_taskrun;
};

/* Callbacks; any may be NULL ("ignore"). <ud> is the pointer given at setup. */
struct rconn_ops {
        /* Bytes arrived; valid only during the call (the buffer goes back to
         * the kernel right after). May still be called a few times after
         * reactor_conn_pause for completions already posted. */
        void (*on_recv)(struct rconn *c, void *ud, const uint8_t *data, size_t len);
        /* The peer shut its write side down. No more on_recv. */
        void (*on_eof)(struct rconn *c, void *ud);
        /* Outgoing connect finished: 0, or -errno (-ETIMEDOUT on timeout). */
        void (*on_connect)(struct rconn *c, void *ud, int res);
        /* Everything queued has been handed to the kernel. */
        void (*on_drain)(struct rconn *c, void *ud);
        /* A send or receive failed (-ECONNRESET, -EPIPE...). The connection
         * stays open until the consumer closes it. */
        void (*on_error)(struct rconn *c, void *ud, int err);
        /* Listener only: a new connection; the callee owns <fd>. */
        void (*on_accept)(struct rconn *l, void *ud, int fd);
        /* The slot is gone and nothing is in flight; <ud> may be freed. */
        void (*on_close)(struct rconn *c, void *ud);
};

enum reactor_close {
        REACTOR_CLOSE_NOW,   /* drop queued bytes; FIN */
        REACTOR_CLOSE_FLUSH, /* send what is queued, then FIN and close */
        REACTOR_CLOSE_RESET, /* drop queued bytes; RST (SO_LINGER 0): the peer sees an abort */
};

/* Creates a ring for the calling thread (SINGLE_ISSUER) with the given
 * configuration (NULL = defaults). On failure returns -errno and, when
 * io_uring itself is unusable, writes a one-line cause into <why>. */
int reactor_new(struct reactor **out, const struct reactor_conf *conf, char *why, size_t whylen);
/* Closes every connection abruptly and frees the ring. */
void reactor_free(struct reactor *r);

/* Submits, waits up to <max_wait_ms> (-1 = until something happens) for
 * completions or the next timer, and dispatches them. Returns 0 or -errno. */
int reactor_run_once(struct reactor *r, int max_wait_ms);
/* Loops on reactor_run_once until reactor_stop. */
int reactor_run(struct reactor *r);
void reactor_stop(struct reactor *r);

/* Adopts a connected socket and starts receiving. On error the fd is
 * still the caller's. */
int reactor_conn_add(struct reactor *r, int fd, const struct rconn_ops *ops, void *ud,
                     struct rconn **out);
/* Adopts a listening socket and starts a multishot accept. */
int reactor_listen(struct reactor *r, int fd, const struct rconn_ops *ops, void *ud,
                   struct rconn **out);
/* Creates a socket and connects it to <sa>; on_connect reports the result
 * within <timeout_ms> (0 = no timeout). Receiving starts on success. */
int reactor_connect(struct reactor *r, const struct sockaddr *sa, socklen_t salen,
                    unsigned timeout_ms, const struct rconn_ops *ops, void *ud, struct rconn **out);

/* Watches <fd>, which stays the caller's, for <events> (POLLIN, POLLOUT)
 * with a multishot poll: <fn>(<arg>, revents) runs on each readiness
 * (revents POLLERR when the poll itself failed). For foreign event sources
 * such as c-ares sockets. Stop with reactor_poll_stop. */
typedef void (*reactor_poll_fn)(void *arg, unsigned revents);
int reactor_poll_start(struct reactor *r, int fd, unsigned events, reactor_poll_fn fn, void *arg,
                       struct rconn **out);
/* Stops a watch: <fn> is never called again and the fd is left open. */
void reactor_poll_stop(struct rconn *p);

/* Queues a copy of <len> bytes. Returns 0, -EPIPE once closing or shut
 * down for writing, or -ENOMEM. */
int reactor_send(struct rconn *c, const void *data, size_t len);
/* Queues <data> without copying; <release>(<arg>) runs once sent or
 * dropped. On error release is not called. */
int reactor_send_ref(struct rconn *c, const void *data, size_t len, sendq_release_fn release,
                     void *arg);
/* Bytes queued and not yet taken by the kernel: the consumer's
 * backpressure signal. */
size_t reactor_conn_queued(const struct rconn *c);
/* Stops receiving (backpressure) / starts again. */
void reactor_conn_pause(struct rconn *c);
void reactor_conn_resume(struct rconn *c);
/* Single-shot instead of multishot receives from the next arm on. A paused
 * multishot still delivers what the kernel had already buffered (up to the
 * socket's receive buffer, megabytes with autotuning); a single-shot one at
 * most one buffer. Consumers that pause often (flow control) switch. */
void reactor_conn_set_oneshot(struct rconn *c, int on);
/* Sends FIN once everything queued is out (half-close); receiving goes on. */
void reactor_conn_shutdown_write(struct rconn *c);
/* Begins teardown; on_close follows once nothing is in flight. Idempotent,
 * but a later RESET still upgrades an earlier FLUSH. */
void reactor_conn_close(struct rconn *c, enum reactor_close how);

int reactor_conn_fd(const struct rconn *c);
void *reactor_conn_ud(const struct rconn *c);
void reactor_conn_set_ud(struct rconn *c, void *ud);
struct reactor *reactor_conn_reactor(const struct rconn *c);

/* Timers on the reactor's clock (CLOCK_MONOTONIC milliseconds). */
int reactor_timer_start(struct reactor *r, struct timer *t, uint64_t delay_ms, timer_fn fn,
                        void *arg);
void reactor_timer_stop(struct reactor *r, struct timer *t);
uint64_t reactor_now_ms(const struct reactor *r);

const struct reactor_stats *reactor_stats(const struct reactor *r);
void reactor_get_info(const struct reactor *r, struct reactor_info *info);

/* Test hook: feeds a completion to the dispatcher as if the kernel had
 * posted it. Only safe for completions the reactor no longer expects
 * (stale generations); see tests/unit/test_reactor.c. */
void reactor_inject_cqe(struct reactor *r, uint64_t user_data, int32_t res, uint32_t flags);
/* user_data a completion for <c>'s receive would carry, and the same with
 * the generation moved by <gen_delta> (to forge a stale one). */
uint64_t reactor_conn_recv_ud(const struct rconn *c, int gen_delta);

#endif
