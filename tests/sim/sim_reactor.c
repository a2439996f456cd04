/* sim_reactor: core/reactor.h on simulated sockets and the sim clock.
 *
 * Linked in place of core/reactor.c, so the client and the exit run their
 * real code on it. It keeps the contract the runtime relies on: callbacks
 * never run inside the call that caused them (every notice is an event of
 * its own), on_drain follows once the queue is taken, a paused connection
 * gets no on_recv, a close with FLUSH sends what is queued then FIN, RESET
 * is an abort, on_close comes last and the connection's user data may be
 * freed in it. Receives come 16 KiB at a time, one per event, so other
 * events interleave as they would between completions.
 */
#include "core/reactor.h"

#include "tests/sim/sim.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RECV_CHUNK 16384

enum kind { K_CONN, K_LISTEN, K_POLL };

struct reactor {
        struct reactor *next, *all_next;
        enum sim_node node;
        struct timer_heap timers;
        struct reactor_stats st;
        struct rconn *conns;
        bool stop, dead;
};

struct rconn {
        struct reactor *r;
        struct rconn *next, *prev, *all_next;
        enum kind kind;
        int fd;
        struct ssock *sk;
        const struct rconn_ops *ops;
        void *ud;
        struct sendq sq;
        bool paused, closing, flush, reset, shut_wr, eof, failed, connecting;
        bool close_queued, close_done, polled;
        struct timer ctimer;
        reactor_poll_fn pfn;
        void *parg;
};

static struct reactor *live;    /* reactors not freed */
static struct reactor *all_rs;  /* every reactor of the run (freed at reset) */
static struct rconn *all_conns; /* every connection of the run */
static const struct rconn_ops no_ops;

void sim_reactor_free_all(void)
{
        while (all_conns) {
                struct rconn *c = all_conns;
                all_conns = c->all_next;
                sendq_clear(&c->sq);
                free(c);
        }
        while (all_rs) {
                struct reactor *r = all_rs;
                all_rs = r->all_next;
                if (!r->dead)
                        timer_heap_free(&r->timers);
                free(r);
        }
        live = NULL;
}

/* ---- the reactor ---- */

int reactor_new(struct reactor **out, const struct reactor_conf *conf, char *why, size_t whylen)
{
        struct reactor *r = calloc(1, sizeof(*r));

        (void)conf;
        (void)why;
        (void)whylen;
        if (!r || timer_heap_init(&r->timers, 64) < 0) {
                free(r);
                return -ENOMEM;
        }
        r->next = live;
        live = r;
        r->all_next = all_rs;
        all_rs = r;
        *out = r;
        return 0;
}

void sim_reactor_set_node(struct reactor *r, enum sim_node node)
{
        r->node = node;
}

bool sim_reactor_stopped(const struct reactor *r)
{
        return r->stop;
}

static void conn_finish(struct rconn *c);
static void conn_unlink(struct rconn *c);

static void close_event(void *a, uint64_t b)
{
        struct rconn *c = a;

        (void)b;
        if (c->close_done)
                return;
        c->close_done = true;
        conn_unlink(c);
        sim_set_current_node(c->r->node);
        if (c->ops->on_close)
                c->ops->on_close(c, c->ud);
}

void reactor_free(struct reactor *r)
{
        if (!r)
                return;
        /* A process that ends: its sockets close (the kernel sends FIN, or
         * RST over unread bytes) and every connection hears on_close, those
         * already closing too, before reactor_free returns. */
        while (r->conns) {
                struct rconn *c = r->conns;
                if (!c->close_queued) {
                        c->closing = true;
                        conn_finish(c);
                }
                close_event(c, 0);
        }
        for (struct reactor **p = &live; *p; p = &(*p)->next) {
                if (*p == r) {
                        *p = r->next;
                        break;
                }
        }
        timer_heap_free(&r->timers);
        r->dead = true;
}

int reactor_run_once(struct reactor *r, int max_wait_ms)
{
        (void)r;
        (void)max_wait_ms;
        return -ENOTSUP; /* the simulation runs the loop */
}

int reactor_run(struct reactor *r)
{
        (void)r;
        return -ENOTSUP;
}

void reactor_stop(struct reactor *r)
{
        r->stop = true;
}

uint64_t sim_reactor_next_timer(void)
{
        uint64_t t = UINT64_MAX;

        for (struct reactor *r = live; r; r = r->next) {
                uint64_t n = timer_next(&r->timers);
                if (n < t)
                        t = n;
        }
        return t;
}

bool sim_reactor_run_timers(uint64_t now)
{
        /* One reactor per call: a timer may free another reactor. */
        for (struct reactor *r = live; r; r = r->next) {
                if (timer_next(&r->timers) <= now) {
                        sim_set_current_node(r->node);
                        return timer_run(&r->timers, now) > 0;
                }
        }
        return false;
}

/* ---- connections ---- */

static struct rconn *conn_new(struct reactor *r, enum kind kind, struct ssock *sk,
                              const struct rconn_ops *ops, void *ud)
{
        struct rconn *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->r = r;
        c->kind = kind;
        c->sk = sk;
        c->fd = ssock_fd(sk);
        c->ops = ops ? ops : &no_ops;
        c->ud = ud;
        sendq_init(&c->sq);
        c->next = r->conns;
        if (r->conns)
                r->conns->prev = c;
        r->conns = c;
        c->all_next = all_conns;
        all_conns = c;
        r->st.conns_open++;
        r->st.conns_total++;
        return c;
}

static void conn_unlink(struct rconn *c)
{
        struct reactor *r = c->r;

        if (c->prev)
                c->prev->next = c->next;
        else if (r->conns == c)
                r->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->next = c->prev = NULL;
        r->st.conns_open--;
}

/* Ends the connection's socket and queues on_close. */
static void conn_finish(struct rconn *c)
{
        if (c->close_queued)
                return;
        c->close_queued = true;
        if (!c->r->dead)
                timer_disarm(&c->r->timers, &c->ctimer);
        if (ssock_rconn(c->sk) == c)
                ssock_bind_rconn(c->sk, NULL);
        if (c->kind == K_CONN) {
                if (c->reset)
                        ssock_abort(c->sk);
                else
                        ssock_close(c->sk);
        } else if (c->kind == K_LISTEN) {
                ssock_close(c->sk);
        } /* K_POLL: the fd stays the caller's */
        sendq_clear(&c->sq);
        sim_at(sim_now(), close_event, c, 0);
}

static void drained_event(void *a, uint64_t b)
{
        struct rconn *c = a;

        (void)b;
        if (c->close_queued || sendq_bytes(&c->sq))
                return;
        sim_set_current_node(c->r->node);
        if (c->closing) {
                if (c->flush) {
                        c->flush = false;
                        conn_finish(c);
                }
                return;
        }
        if (c->ops->on_drain)
                c->ops->on_drain(c, c->ud);
}

size_t sim_reactor_pull(struct rconn *c, uint8_t *buf, size_t max, bool *empty)
{
        struct iovec iov[16];
        size_t total, n = 0;
        unsigned k = sendq_iov(&c->sq, iov, 16, &total);

        for (unsigned i = 0; i < k && n < max; i++) {
                size_t m = iov[i].iov_len < max - n ? iov[i].iov_len : max - n;
                memcpy(buf + n, iov[i].iov_base, m);
                n += m;
        }
        if (n)
                sendq_consume(&c->sq, n);
        c->r->st.bytes_out += n;
        *empty = sendq_bytes(&c->sq) == 0;
        if (n && *empty)
                sim_at(sim_now(), drained_event, c, 0);
        return n;
}

static void conn_event(struct rconn *c)
{
        uint8_t buf[RECV_CHUNK];
        int err;
        bool eof;

        if (c->connecting) {
                if (ssock_connected(c->sk)) {
                        c->connecting = false;
                        timer_disarm(&c->r->timers, &c->ctimer);
                        if (c->ops->on_connect)
                                c->ops->on_connect(c, c->ud, 0);
                } else if ((err = ssock_error(c->sk)) != 0) {
                        c->connecting = false;
                        c->failed = true;
                        timer_disarm(&c->r->timers, &c->ctimer);
                        if (c->ops->on_connect)
                                c->ops->on_connect(c, c->ud, err);
                        return;
                } else {
                        return;
                }
                if (c->closing || c->close_queued)
                        return;
        }
        if (c->failed || c->closing || c->close_queued)
                return;
        if ((err = ssock_error(c->sk)) != 0) {
                c->failed = true;
                if (c->ops->on_error)
                        c->ops->on_error(c, c->ud, err);
                return;
        }
        if (c->paused || c->eof)
                return;
        size_t n = ssock_read(c->sk, buf, sizeof(buf), &eof);
        if (n) {
                c->r->st.recvs++;
                c->r->st.bytes_in += n;
                if (c->ops->on_recv)
                        c->ops->on_recv(c, c->ud, buf, n);
                /* More may be waiting: one receive per event. */
                if (!c->close_queued && ssock_rconn(c->sk) == c)
                        ssock_notify(c->sk);
        } else if (eof) {
                c->eof = true;
                if (c->ops->on_eof)
                        c->ops->on_eof(c, c->ud);
        }
}

void sim_reactor_sock_event(struct rconn *c)
{
        struct ssock *ns;

        if (c->close_queued)
                return;
        switch (c->kind) {
        case K_LISTEN:
                while (!c->close_queued && (ns = ssock_accept(c->sk))) {
                        if (c->closing || !c->ops->on_accept)
                                ssock_abort(ns);
                        else
                                c->ops->on_accept(c, c->ud, ssock_fd(ns));
                }
                break;
        case K_POLL:
                if (c->polled || (!ssock_connected(c->sk) && !ssock_error(c->sk)))
                        break;
                c->polled = true;
                c->pfn(c->parg, POLLOUT | (ssock_error(c->sk) ? POLLERR : 0));
                break;
        case K_CONN:
                conn_event(c);
                break;
        }
}

/* Binds the simulated socket <fd> to a new connection of <kind>; a notice
 * follows in its own event if it has news already. */
static int adopt(struct reactor *r, int fd, enum kind kind, const struct rconn_ops *ops, void *ud,
                 struct rconn **out)
{
        struct ssock *sk = ssock_by_fd(fd);
        struct rconn *c;

        if (!sk)
                return -EBADF;
        c = conn_new(r, kind, sk, ops, ud);
        if (!c)
                return -ENOMEM;
        ssock_bind_rconn(sk, c);
        ssock_notify(sk);
        *out = c;
        return 0;
}

int reactor_conn_add(struct reactor *r, int fd, const struct rconn_ops *ops, void *ud,
                     struct rconn **out)
{
        struct rconn *c;
        int ret = adopt(r, fd, K_CONN, ops, ud, &c);

        if (ret == 0 && out)
                *out = c;
        return ret;
}

int reactor_listen(struct reactor *r, int fd, const struct rconn_ops *ops, void *ud,
                   struct rconn **out)
{
        struct rconn *c;
        int ret = adopt(r, fd, K_LISTEN, ops, ud, &c);

        if (ret == 0 && out)
                *out = c;
        return ret;
}

int reactor_poll_start(struct reactor *r, int fd, unsigned events, reactor_poll_fn fn, void *arg,
                       struct rconn **out)
{
        struct rconn *c;
        int ret;

        (void)events; /* a connect's completion is all the runtime polls for */
        /* The fields the poll needs are set before its notice runs. */
        ret = adopt(r, fd, K_POLL, NULL, NULL, &c);
        if (ret < 0)
                return ret;
        c->pfn = fn;
        c->parg = arg;
        if (out)
                *out = c;
        return 0;
}

void reactor_poll_stop(struct rconn *p)
{
        reactor_conn_close(p, REACTOR_CLOSE_NOW);
}

static void connect_timeout(struct timer *t, void *arg)
{
        struct rconn *c = arg;

        (void)t;
        if (!c->connecting || c->close_queued)
                return;
        c->connecting = false;
        c->failed = true;
        ssock_abort(c->sk);
        if (c->ops->on_connect)
                c->ops->on_connect(c, c->ud, -ETIMEDOUT);
}

int reactor_connect(struct reactor *r, const struct sockaddr *sa, socklen_t salen,
                    unsigned timeout_ms, const struct rconn_ops *ops, void *ud, struct rconn **out)
{
        struct ssock *sk;
        struct rconn *c;

        if (salen > sizeof(struct sockaddr_storage))
                return -EINVAL;
        sk = ssock_connect(r->node, sa, NULL, NULL);
        c = conn_new(r, K_CONN, sk, ops, ud);
        if (!c) {
                ssock_abort(sk);
                return -ENOMEM;
        }
        c->connecting = true;
        ssock_bind_rconn(sk, c);
        if (timeout_ms)
                timer_arm(&r->timers, &c->ctimer, sim_now() + timeout_ms, connect_timeout, c);
        if (out)
                *out = c;
        return 0;
}

int reactor_send(struct rconn *c, const void *data, size_t len)
{
        if (c->closing || c->shut_wr || c->close_queued)
                return -EPIPE;
        if (sendq_push_copy(&c->sq, data, len) < 0)
                return -ENOMEM;
        ssock_kick(c->sk);
        return 0;
}

int reactor_send_ref(struct rconn *c, const void *data, size_t len, sendq_release_fn release,
                     void *arg)
{
        if (c->closing || c->shut_wr || c->close_queued)
                return -EPIPE;
        if (sendq_push_ref(&c->sq, data, len, release, arg) < 0)
                return -ENOMEM;
        ssock_kick(c->sk);
        return 0;
}

size_t reactor_conn_queued(const struct rconn *c)
{
        return sendq_bytes(&c->sq);
}

void reactor_conn_pause(struct rconn *c)
{
        c->paused = true;
}

void reactor_conn_resume(struct rconn *c)
{
        if (!c->paused)
                return;
        c->paused = false;
        if (!c->close_queued && ssock_rconn(c->sk) == c)
                ssock_notify(c->sk);
}

void reactor_conn_set_oneshot(struct rconn *c, int on)
{
        (void)c;
        (void)on; /* one receive per event already */
}

void reactor_conn_shutdown_write(struct rconn *c)
{
        if (c->shut_wr || c->closing || c->close_queued)
                return;
        c->shut_wr = true;
        ssock_shutdown(c->sk); /* FIN once the queue is taken */
}

void reactor_conn_close(struct rconn *c, enum reactor_close how)
{
        if (c->close_queued)
                return;
        if (how == REACTOR_CLOSE_RESET)
                c->reset = true;
        if (c->closing) {
                if (how != REACTOR_CLOSE_FLUSH && c->flush) {
                        c->flush = false;
                        conn_finish(c);
                }
                return;
        }
        c->closing = true;
        if (how == REACTOR_CLOSE_FLUSH && c->kind == K_CONN && !c->failed && sendq_bytes(&c->sq)) {
                c->flush = true;
                c->shut_wr = true;
                ssock_shutdown(c->sk);
                return;
        }
        if (how == REACTOR_CLOSE_NOW)
                sendq_clear(&c->sq);
        conn_finish(c);
}

int reactor_conn_fd(const struct rconn *c)
{
        return c->fd;
}

void *reactor_conn_ud(const struct rconn *c)
{
        return c->ud;
}

void reactor_conn_set_ud(struct rconn *c, void *ud)
{
        c->ud = ud;
}

struct reactor *reactor_conn_reactor(const struct rconn *c)
{
        return c->r;
}

/* ---- timers and the rest ---- */

int reactor_timer_start(struct reactor *r, struct timer *t, uint64_t delay_ms, timer_fn fn,
                        void *arg)
{
        return timer_arm(&r->timers, t, sim_now() + delay_ms, fn, arg);
}

void reactor_timer_stop(struct reactor *r, struct timer *t)
{
        if (!r->dead)
                timer_disarm(&r->timers, t);
}

uint64_t reactor_now_ms(const struct reactor *r)
{
        (void)r;
        return sim_now();
}

const struct reactor_stats *reactor_stats(const struct reactor *r)
{
        return &r->st;
}

void reactor_get_info(const struct reactor *r, struct reactor_info *info)
{
        (void)r;
        memset(info, 0, sizeof(*info));
}

void reactor_inject_cqe(struct reactor *r, uint64_t user_data, int32_t res, uint32_t flags)
{
        (void)r;
        (void)user_data;
        (void)res;
        (void)flags;
}

uint64_t reactor_conn_recv_ud(const struct rconn *c, int gen_delta)
{
        (void)c;
        (void)gen_delta;
        return 0;
}
