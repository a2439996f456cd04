/* sockpipe: a TCP connection <-> a mux session; see sockpipe.h. */
#include "core/sockpipe.h"

#include "core/frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* While the session is live its socket closes with RST (SO_LINGER 0), even
 * when the process is killed and the kernel closes it: the peer must never
 * take a stream cut short, either way, for a clean end (BRIEF §7 I2;
 * tests/sim found apps and targets getting a FIN from a killed client or
 * exit). A session that ended cleanly lets go of it before its FIN. */
static void abort_on_close(struct rconn *c, bool on)
{
        struct linger lg = {.l_onoff = on, .l_linger = 0};

        setsockopt(reactor_conn_fd(c), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

void sockpipe_init(struct sockpipe *p, struct rconn *c, struct msess *s,
                   void (*on_free)(struct sockpipe *p))
{
        memset(p, 0, sizeof(*p));
        p->c = c;
        p->s = s;
        p->on_free = on_free;
        abort_on_close(c, true);
}

static void maybe_free(struct sockpipe *p)
{
        if (!p->c && !p->s) {
                free(p->held);
                p->held = NULL;
                p->on_free(p);
        }
}

static void abort_conn(struct sockpipe *p)
{
        p->reset = true;
        if (p->c)
                reactor_conn_close(p->c, REACTOR_CLOSE_RESET);
}

static int hold(struct sockpipe *p, const uint8_t *data, size_t len)
{
        if (p->held_len + len > p->held_cap) {
                size_t cap = p->held_cap ? p->held_cap : 16384;
                while (cap < p->held_len + len)
                        cap *= 2;
                uint8_t *n = realloc(p->held, cap);
                if (!n)
                        return -ENOMEM;
                p->held = n;
                p->held_cap = cap;
        }
        memcpy(p->held + p->held_len, data, len);
        p->held_len += len;
        return 0;
}

/* Ends the session from our side (no callback follows) and aborts the
 * socket: the peer and the local end both see a reset. */
static void fail(struct sockpipe *p, uint8_t reason)
{
        if (p->s) {
                mux_reset(p->s, reason);
                p->s = NULL;
        }
        abort_conn(p);
}

void sockpipe_recv(struct sockpipe *p, const uint8_t *data, size_t len)
{
        size_t took = 0;

        if (!p->s)
                return;
        if (!p->held_len) {
                if (mux_write(p->s, data, len, &took) < 0) {
                        fail(p, FRAME_RST_GENERAL);
                        return;
                }
                data += took;
                len -= took;
                if (!len)
                        return;
        }
        /* The window is full. Keep what already arrived (a pause lets a
         * few completions through) and stop reading until on_writable. */
        if (hold(p, data, len) < 0) {
                fail(p, FRAME_RST_CAP);
                return;
        }
        /* From now on receive one buffer at a time, so a pause costs at
         * most one buffer of memory, not the socket's receive buffer. */
        reactor_conn_set_oneshot(p->c, 1);
        reactor_conn_pause(p->c);
}

void sockpipe_writable(struct sockpipe *p)
{
        size_t took = 0;

        if (!p->s || !p->held_len)
                return;
        if (mux_write(p->s, p->held, p->held_len, &took) < 0) {
                fail(p, FRAME_RST_GENERAL);
                return;
        }
        memmove(p->held, p->held + took, p->held_len - took);
        p->held_len -= took;
        if (p->held_len)
                return;
        if (p->eof_pending) {
                p->eof_pending = false;
                if (mux_shutdown(p->s) < 0)
                        fail(p, FRAME_RST_GENERAL);
        } else if (p->c) {
                reactor_conn_resume(p->c);
        }
}

void sockpipe_eof(struct sockpipe *p)
{
        if (!p->s)
                return;
        if (p->held_len)
                p->eof_pending = true;
        else if (mux_shutdown(p->s) < 0)
                fail(p, FRAME_RST_GENERAL);
}

void sockpipe_drain(struct sockpipe *p)
{
        /* The send queue is empty: everything handed over is consumed. */
        if (p->s && p->to_sock > p->reported) {
                if (mux_consumed(p->s, (size_t)(p->to_sock - p->reported)) < 0) {
                        fail(p, FRAME_RST_GENERAL);
                        return;
                }
                p->reported = p->to_sock;
        }
}

void sockpipe_error(struct sockpipe *p, int err)
{
        (void)err;
        fail(p, FRAME_RST_ABORT);
}

void sockpipe_abort(struct sockpipe *p)
{
        p->s = NULL;
        abort_conn(p);
        maybe_free(p);
}

void sockpipe_conn_closed(struct sockpipe *p)
{
        p->c = NULL;
        if (p->s) {
                /* The socket is gone before the session ended: the peer
                 * must not mistake that for a clean end. */
                mux_reset(p->s, FRAME_RST_ABORT);
                p->s = NULL;
        }
        maybe_free(p);
}

void sockpipe_data(struct sockpipe *p, const uint8_t *data, size_t len)
{
        if (!p->c)
                return;
        if (reactor_send(p->c, data, len) < 0) {
                fail(p, FRAME_RST_ABORT);
                return;
        }
        p->to_sock += len;
}

void sockpipe_fin(struct sockpipe *p)
{
        if (p->c)
                reactor_conn_shutdown_write(p->c);
}

void sockpipe_reset(struct sockpipe *p, uint8_t reason)
{
        (void)reason;
        abort_conn(p); /* on_closed follows */
}

void sockpipe_sess_closed(struct sockpipe *p)
{
        p->s = NULL;
        /* Both directions ended cleanly (or the reset already closed the
         * socket): send what is queued, then FIN. */
        if (p->c && !p->reset) {
                abort_on_close(p->c, false);
                reactor_conn_close(p->c, REACTOR_CLOSE_FLUSH);
        }
        maybe_free(p);
}
