/* sockpipe: one local TCP connection bound to one mux session: the app's
 * socket at the client, the target's at the exit.
 *
 * Bytes read from the socket go into the session (mux_write); when the
 * session's window is full the socket stops being read (reactor pause) and
 * the few bytes already received wait here until on_writable: that is the
 * TCP backpressure to the app or the target. Bytes from the session go to
 * the socket's send queue, and are reported consumed (mux_consumed, which
 * reopens the peer's window) only once the kernel took them, so a slow
 * reader holds at most one window in this process.
 *
 * Half-close both ways (EOF -> FIN, FIN -> shutdown(SHUT_WR) after the
 * queued bytes); a reset on either side aborts the other (RST, SO_LINGER 0),
 * so a truncated stream never ends cleanly (BRIEF §7 I2).
 *
 * The owner (client or exit runtime) owns the connection's callbacks and the
 * mux's, and forwards them to the sockpipe_* functions below; the pipe frees
 * itself through <on_free> once both the connection and the session are gone.
 */
#ifndef URELAY_CORE_SOCKPIPE_H
#define URELAY_CORE_SOCKPIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mux.h"
#include "core/reactor.h"

struct sockpipe {
        struct rconn *c; /* NULL once closed */
        struct msess *s; /* NULL once the session is gone */
        uint8_t *held;   /* received, not yet taken by the session */
        size_t held_len, held_cap;
        uint64_t to_sock;  /* bytes handed to the socket */
        uint64_t reported; /* of those, reported consumed to the mux */
        bool eof_pending;  /* socket EOF seen while bytes were held */
        bool reset;        /* aborted: close with RST */
        void (*on_free)(struct sockpipe *p);
};

void sockpipe_init(struct sockpipe *p, struct rconn *c, struct msess *s,
                   void (*on_free)(struct sockpipe *p));

/* From the connection's callbacks. */
void sockpipe_recv(struct sockpipe *p, const uint8_t *data, size_t len);
void sockpipe_eof(struct sockpipe *p);
void sockpipe_drain(struct sockpipe *p);
void sockpipe_error(struct sockpipe *p, int err);
void sockpipe_conn_closed(struct sockpipe *p);

/* From the mux's callbacks for this session. */
void sockpipe_data(struct sockpipe *p, const uint8_t *data, size_t len);
void sockpipe_fin(struct sockpipe *p);
void sockpipe_writable(struct sockpipe *p);
void sockpipe_reset(struct sockpipe *p, uint8_t reason);
void sockpipe_sess_closed(struct sockpipe *p);

/* The owner is freeing the whole mux (mux_free calls nothing back): forget
 * the session and abort the socket. */
void sockpipe_abort(struct sockpipe *p);

#endif
