/* reactor: the io_uring event loop; see reactor.h for the contract.
 *
 * Completion handling is split by operation (recv, send, accept, connect,
 * timeout, cancel); error cases are handled beside the success path of each.
 * A connection is a slot in a fixed array; its user_data is
 * op:8 | generation:24 | slot:32. Teardown cancels everything on the fd,
 * waits until the in-flight count reaches zero, and only then closes the fd
 * (close(2) cancels nothing: a pending recv would pin the socket) and frees
 * the slot, from a list drained after the completion batch.
 */
#include "core/reactor.h"

#include "core/bufring.h"
#include "core/uring_diag.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BGID            0
#define SEND_IOV_MAX    16
#define ACCEPT_RETRY_MS 100

enum op { OP_RECV = 1, OP_SEND, OP_ACCEPT, OP_CONNECT, OP_LINK_TIMEOUT, OP_CANCEL, OP_POLL };
enum kind { K_FREE = 0, K_CONN, K_LISTEN, K_POLL };

struct rconn {
        struct reactor *r;
        const struct rconn_ops *ops;
        void *ud;
        int fd;
        uint32_t idx, gen;
        enum kind kind;
        unsigned inflight; /* SQEs whose final CQE has not come back */
        bool recv_armed;   /* multishot recv (or accept) live */
        bool send_inflight, connecting;
        bool eof, failed, paused, starved;
        bool oneshot; /* single-shot recv: a pause lets at most one buffer through */
        bool closing, close_queued, flush, reset;
        bool shut_wr_pending, shut_wr_done;
        size_t send_len; /* bytes in the send in flight */
        struct sendq sq;
        struct msghdr msg;
        struct iovec iov[SEND_IOV_MAX];
        struct sockaddr_storage addr;
        struct __kernel_timespec ts;
        struct timer retry; /* accept after EMFILE */
        unsigned poll_events;
        reactor_poll_fn poll_fn;
        void *poll_arg;
        struct rconn *next_starved, *next_close;
};

struct reactor {
        struct io_uring ring;
        struct bufring bufs;
        struct rconn *slots;
        uint32_t *free_stack;
        unsigned nslots, nfree;
        unsigned nused; /* slots ever handed out: the rest were never touched */
        struct timer_heap timers;
        struct reactor_stats stats;
        struct reactor_info info;
        struct rconn *starved, *closes;
        unsigned last_koverflow;
        uint64_t now;
        bool stop;
};

static const struct rconn_ops no_ops;

static uint64_t make_ud(enum op op, const struct rconn *c)
{
        return ((uint64_t)op << 56) | ((uint64_t)(c->gen & 0xffffff) << 32) | c->idx;
}

static struct io_uring_sqe *sqe_get(struct reactor *r)
{
        struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

        if (!sqe) {
                io_uring_submit(&r->ring);
                sqe = io_uring_get_sqe(&r->ring);
        }
        return sqe;
}

/* ---- slots ---- */

static struct rconn *slot_alloc(struct reactor *r, int fd, enum kind kind,
                                const struct rconn_ops *ops, void *ud)
{
        struct rconn *c;
        if (r->nfree) {
                c = &r->slots[r->free_stack[--r->nfree]];
        } else if (r->nused < r->nslots) {
                /* A slot never used: its pages are touched only now, so
                 * memory follows the connections, not max_conns. */
                c = &r->slots[r->nused];
                c->idx = r->nused++;
        } else {
                return NULL;
        }
        uint32_t idx = c->idx, gen = c->gen;
        memset(c, 0, sizeof(*c));
        c->idx = idx;
        c->gen = gen;
        c->r = r;
        c->fd = fd;
        c->kind = kind;
        c->ops = ops ? ops : &no_ops;
        c->ud = ud;
        sendq_init(&c->sq);
        r->stats.conns_open++;
        r->stats.conns_total++;
        return c;
}

static void slot_release(struct reactor *r, struct rconn *c)
{
        c->kind = K_FREE;
        c->gen = (c->gen + 1) & 0xffffff;
        r->free_stack[r->nfree++] = c->idx;
        r->stats.conns_open--;
}

static void queue_close(struct rconn *c)
{
        if (c->close_queued)
                return;
        c->close_queued = true;
        c->next_close = c->r->closes;
        c->r->closes = c;
}

static void finish_close(struct reactor *r, struct rconn *c)
{
        if (c->reset) {
                /* Linger 0: close sends RST, so the peer sees an abort and
                 * never mistakes a truncated stream for a clean end. */
                struct linger lg = {.l_onoff = 1, .l_linger = 0};
                setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        if (c->kind != K_POLL)
                close(c->fd);
        sendq_clear(&c->sq);
        timer_disarm(&r->timers, &c->retry);
        const struct rconn_ops *ops = c->ops;
        void *ud = c->ud;
        slot_release(r, c);
        if (ops->on_close)
                ops->on_close(c, ud);
}

/* Cancel everything on the fd; the slot is freed when the count hits 0. */
static void begin_teardown(struct rconn *c)
{
        struct reactor *r = c->r;

        if (!c->inflight) {
                queue_close(c);
                return;
        }
        struct io_uring_sqe *sqe = sqe_get(r);
        if (!sqe) {
                /* Cannot cancel now: shutting the socket down still ends
                 * every pending operation on it. */
                shutdown(c->fd, SHUT_RDWR);
                return;
        }
        if (c->kind == K_POLL)
                /* The owner may already have closed the fd, and its number
                 * may belong to another file by now: cancel by identity. */
                io_uring_prep_cancel64(sqe, make_ud(OP_POLL, c), 0);
        else
                io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, make_ud(OP_CANCEL, c));
        c->inflight++;
}

/* ---- recv ---- */

static int arm_recv(struct rconn *c)
{
        struct io_uring_sqe *sqe = sqe_get(c->r);

        if (!sqe)
                return -EBUSY;
        if (c->kind == K_POLL) {
                io_uring_prep_poll_multishot(sqe, c->fd, c->poll_events);
                io_uring_sqe_set_data64(sqe, make_ud(OP_POLL, c));
        } else if (c->kind == K_LISTEN) {
                io_uring_prep_multishot_accept(sqe, c->fd, NULL, NULL, SOCK_CLOEXEC);
                io_uring_sqe_set_data64(sqe, make_ud(OP_ACCEPT, c));
        } else {
                if (c->oneshot)
                        io_uring_prep_recv(sqe, c->fd, NULL, 0, 0);
                else
                        io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
                sqe->flags |= IOSQE_BUFFER_SELECT;
                sqe->buf_group = BGID;
                io_uring_sqe_set_data64(sqe, make_ud(OP_RECV, c));
        }
        c->recv_armed = true;
        c->inflight++;
        return 0;
}

static bool recv_wanted(const struct rconn *c)
{
        return !c->recv_armed && !c->paused && !c->closing && !c->eof && !c->failed &&
               !c->connecting;
}

static void rearm_recv(struct rconn *c)
{
        if (!recv_wanted(c))
                return;
        if (!c->oneshot)
                c->r->stats.rearms++;
        if (arm_recv(c) < 0)
                c->failed = true;
}

static void report_error(struct rconn *c, int err)
{
        c->failed = true;
        if (!c->closing && c->ops->on_error)
                c->ops->on_error(c, c->ud, err);
}

static void on_recv_cqe(struct reactor *r, struct rconn *c, int32_t res, uint32_t flags)
{
        bool more = flags & IORING_CQE_F_MORE;

        if (!more) {
                c->recv_armed = false;
                c->inflight--;
        }
        if (flags & IORING_CQE_F_BUFFER) {
                unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
                if (res > 0) {
                        r->stats.recvs++;
                        r->stats.bytes_in += (uint64_t)res;
                        if (!c->closing && c->ops->on_recv)
                                c->ops->on_recv(c, c->ud, bufring_ptr(&r->bufs, bid), (size_t)res);
                }
                bufring_recycle(&r->bufs, bid);
        }
        if (res > 0 || res == -ECANCELED) {
                /* Ended without an error (the kernel may stop a multishot
                 * at any time) or by our own pause/close: re-arm unless
                 * the consumer is applying backpressure. */
                if (!more)
                        rearm_recv(c);
        } else if (res == 0) {
                c->eof = true;
                if (!c->closing && c->ops->on_eof)
                        c->ops->on_eof(c, c->ud);
        } else if (res == -ENOBUFS) {
                /* The bytes are still in the socket: re-arm once the
                 * buffers of this completion batch are back. */
                r->stats.enobufs++;
                if (!c->starved) {
                        c->starved = true;
                        c->next_starved = r->starved;
                        r->starved = c;
                }
        } else {
                report_error(c, res);
        }
}

/* ---- send ---- */

static int submit_send(struct rconn *c)
{
        struct io_uring_sqe *sqe = sqe_get(c->r);
        size_t total;

        if (!sqe)
                return -EBUSY;
        unsigned n = sendq_iov(&c->sq, c->iov, SEND_IOV_MAX, &total);
        if (n == 1) {
                io_uring_prep_send(sqe, c->fd, c->iov[0].iov_base, c->iov[0].iov_len, MSG_NOSIGNAL);
        } else {
                memset(&c->msg, 0, sizeof(c->msg));
                c->msg.msg_iov = c->iov;
                c->msg.msg_iovlen = n;
                io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
        }
        io_uring_sqe_set_data64(sqe, make_ud(OP_SEND, c));
        c->send_len = total;
        c->send_inflight = true;
        c->inflight++;
        return 0;
}

static void send_drained(struct rconn *c)
{
        if (c->shut_wr_pending && !c->shut_wr_done) {
                c->shut_wr_done = true;
                shutdown(c->fd, SHUT_WR);
        }
        if (c->closing) {
                if (c->flush) {
                        c->flush = false;
                        begin_teardown(c);
                }
                return;
        }
        if (c->ops->on_drain)
                c->ops->on_drain(c, c->ud);
}

static void on_send_cqe(struct reactor *r, struct rconn *c, int32_t res)
{
        c->send_inflight = false;
        c->inflight--;
        if (res == -EINTR || res == -EAGAIN) {
                res = 0; /* nothing taken: resubmit the same bytes */
        } else if (res < 0) {
                if (res != -ECANCELED)
                        report_error(c, res);
                c->shut_wr_pending = false;
                if (c->closing && c->flush) {
                        c->flush = false;
                        begin_teardown(c);
                }
                return;
        } else {
                r->stats.sends++;
                r->stats.bytes_out += (uint64_t)res;
        }
        if ((size_t)res < c->send_len)
                r->stats.short_sends++;
        sendq_consume(&c->sq, (size_t)res);
        if (c->closing && !c->flush)
                return;
        if (sendq_bytes(&c->sq)) {
                if (submit_send(c) < 0)
                        report_error(c, -EBUSY);
                return;
        }
        send_drained(c);
}

static int queue_send(struct rconn *c)
{
        if (c->send_inflight || !sendq_bytes(&c->sq))
                return 0;
        return submit_send(c);
}

int reactor_send(struct rconn *c, const void *data, size_t len)
{
        if (c->closing || c->failed || c->shut_wr_pending)
                return -EPIPE;
        int ret = sendq_push_copy(&c->sq, data, len);
        return ret ? ret : queue_send(c);
}

int reactor_send_ref(struct rconn *c, const void *data, size_t len, sendq_release_fn release,
                     void *arg)
{
        if (c->closing || c->failed || c->shut_wr_pending)
                return -EPIPE;
        int ret = sendq_push_ref(&c->sq, data, len, release, arg);
        return ret ? ret : queue_send(c);
}

size_t reactor_conn_queued(const struct rconn *c)
{
        return sendq_bytes(&c->sq);
}

/* ---- accept / connect ---- */

static void accept_retry(struct timer *t, void *arg)
{
        (void)t;
        rearm_recv(arg);
}

static void on_accept_cqe(struct reactor *r, struct rconn *c, int32_t res, uint32_t flags)
{
        bool more = flags & IORING_CQE_F_MORE;

        if (!more) {
                c->recv_armed = false;
                c->inflight--;
        }
        if (res >= 0) {
                if (!c->closing && c->ops->on_accept)
                        c->ops->on_accept(c, c->ud, res);
                else
                        close(res);
                if (!more)
                        rearm_recv(c);
        } else if (res == -ECANCELED) {
                if (!more)
                        rearm_recv(c);
        } else {
                /* EMFILE, ENFILE, ENOMEM...: the pending connection stays
                 * in the backlog; try again shortly instead of spinning. */
                r->stats.accept_errors++;
                if (!more && !c->closing)
                        timer_arm(&r->timers, &c->retry, r->now + ACCEPT_RETRY_MS, accept_retry, c);
        }
}

static void on_connect_cqe(struct rconn *c, int32_t res)
{
        c->connecting = false;
        c->inflight--;
        if (c->closing)
                return;
        if (res == -ECANCELED)
                res = -ETIMEDOUT; /* only the linked timeout cancels a connect */
        if (res == 0 && arm_recv(c) < 0)
                res = -EBUSY;
        if (res < 0)
                c->failed = true;
        if (c->ops->on_connect)
                c->ops->on_connect(c, c->ud, res);
}

static void on_poll_cqe(struct rconn *c, int32_t res, uint32_t flags)
{
        if (!(flags & IORING_CQE_F_MORE)) {
                c->recv_armed = false;
                c->inflight--;
        }
        if (res == -ECANCELED || c->closing)
                return;
        c->poll_fn(c->poll_arg, res < 0 ? POLLERR : (unsigned)res);
        if (!(flags & IORING_CQE_F_MORE))
                rearm_recv(c);
}

/* ---- dispatch ---- */

static void dispatch(struct reactor *r, uint64_t ud, int32_t res, uint32_t flags)
{
        uint32_t idx = (uint32_t)ud, gen = (uint32_t)(ud >> 32) & 0xffffff;
        enum op op = (enum op)(ud >> 56);
        struct rconn *c = idx < r->nslots ? &r->slots[idx] : NULL;

        if (!c || c->kind == K_FREE || c->gen != gen) {
                r->stats.stale_cqes++;
                if (flags & IORING_CQE_F_BUFFER) {
                        r->stats.stale_bufs++;
                        bufring_recycle(&r->bufs, flags >> IORING_CQE_BUFFER_SHIFT);
                }
                return;
        }
        switch (op) {
        case OP_RECV:
                on_recv_cqe(r, c, res, flags);
                break;
        case OP_SEND:
                on_send_cqe(r, c, res);
                break;
        case OP_ACCEPT:
                on_accept_cqe(r, c, res, flags);
                break;
        case OP_CONNECT:
                on_connect_cqe(c, res);
                break;
        case OP_POLL:
                on_poll_cqe(c, res, flags);
                break;
        case OP_LINK_TIMEOUT:
        case OP_CANCEL:
                c->inflight--;
                break;
        }
        if (c->closing && !c->inflight && c->kind != K_FREE && !c->flush)
                queue_close(c);
}

void reactor_inject_cqe(struct reactor *r, uint64_t user_data, int32_t res, uint32_t flags)
{
        dispatch(r, user_data, res, flags);
}

uint64_t reactor_conn_recv_ud(const struct rconn *c, int gen_delta)
{
        struct rconn tmp = *c;
        tmp.gen = (uint32_t)((int64_t)c->gen + gen_delta) & 0xffffff;
        return make_ud(OP_RECV, &tmp);
}

static void after_batch(struct reactor *r)
{
        unsigned ko = IO_URING_READ_ONCE(*r->ring.cq.koverflow);
        if (ko != r->last_koverflow) {
                r->stats.cq_overflow += ko - r->last_koverflow;
                r->last_koverflow = ko;
        }
        if (IO_URING_READ_ONCE(*r->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW)
                r->stats.cq_backlog++;

        /* Every buffer of the batch has been recycled by now. */
        struct rconn *s = r->starved;
        r->starved = NULL;
        while (s) {
                struct rconn *next = s->next_starved;
                s->starved = false;
                rearm_recv(s);
                s = next;
        }
        r->now = timer_now_ms();
        timer_run(&r->timers, r->now);
        while (r->closes) {
                struct rconn *c = r->closes;
                r->closes = c->next_close;
                finish_close(r, c);
        }
}

int reactor_run_once(struct reactor *r, int max_wait_ms)
{
        struct io_uring_cqe *cqe;
        unsigned head, n = 0;
        int ret;

        r->now = timer_now_ms();
        uint64_t next = timer_next(&r->timers);
        long long wait = max_wait_ms;
        if (next != UINT64_MAX) {
                long long until = next > r->now ? (long long)(next - r->now) : 0;
                if (wait < 0 || until < wait)
                        wait = until;
        }
        if (wait < 0) {
                ret = io_uring_submit_and_wait(&r->ring, 1);
        } else {
                struct __kernel_timespec ts = {.tv_sec = wait / 1000,
                                               .tv_nsec = (wait % 1000) * 1000000};
                ret = io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, &ts, NULL);
        }
        if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN)
                return ret;
        io_uring_for_each_cqe(&r->ring, head, cqe)
        {
                dispatch(r, cqe->user_data, cqe->res, cqe->flags);
                n++;
        }
        io_uring_cq_advance(&r->ring, n);
        after_batch(r);
        return 0;
}

int reactor_run(struct reactor *r)
{
        r->stop = false;
        while (!r->stop) {
                int ret = reactor_run_once(r, -1);
                if (ret < 0)
                        return ret;
        }
        return 0;
}

void reactor_stop(struct reactor *r)
{
        r->stop = true;
}

/* ---- connections ---- */

int reactor_conn_add(struct reactor *r, int fd, const struct rconn_ops *ops, void *ud,
                     struct rconn **out)
{
        struct rconn *c = slot_alloc(r, fd, K_CONN, ops, ud);

        if (!c)
                return -ENOSPC;
        int ret = arm_recv(c);
        if (ret < 0) {
                slot_release(r, c);
                return ret;
        }
        if (out)
                *out = c;
        return 0;
}

int reactor_listen(struct reactor *r, int fd, const struct rconn_ops *ops, void *ud,
                   struct rconn **out)
{
        struct rconn *c = slot_alloc(r, fd, K_LISTEN, ops, ud);

        if (!c)
                return -ENOSPC;
        int ret = arm_recv(c);
        if (ret < 0) {
                slot_release(r, c);
                return ret;
        }
        if (out)
                *out = c;
        return 0;
}

int reactor_poll_start(struct reactor *r, int fd, unsigned events, reactor_poll_fn fn, void *arg,
                       struct rconn **out)
{
        struct rconn *c = slot_alloc(r, fd, K_POLL, NULL, NULL);

        if (!c)
                return -ENOSPC;
        c->poll_events = events;
        c->poll_fn = fn;
        c->poll_arg = arg;
        int ret = arm_recv(c);
        if (ret < 0) {
                slot_release(r, c);
                return ret;
        }
        *out = c;
        return 0;
}

void reactor_poll_stop(struct rconn *p)
{
        reactor_conn_close(p, REACTOR_CLOSE_NOW);
}

int reactor_connect(struct reactor *r, const struct sockaddr *sa, socklen_t salen,
                    unsigned timeout_ms, const struct rconn_ops *ops, void *ud, struct rconn **out)
{
        if (salen > sizeof(struct sockaddr_storage))
                return -EINVAL;
        /* The connect and its linked timeout must go in the same submission. */
        if (io_uring_sq_space_left(&r->ring) < 2)
                io_uring_submit(&r->ring);
        if (io_uring_sq_space_left(&r->ring) < 2)
                return -EBUSY;
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct rconn *c = slot_alloc(r, fd, K_CONN, ops, ud);
        if (!c) {
                close(fd);
                return -ENOSPC;
        }
        memcpy(&c->addr, sa, salen);
        struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
        io_uring_prep_connect(sqe, fd, (struct sockaddr *)&c->addr, salen);
        io_uring_sqe_set_data64(sqe, make_ud(OP_CONNECT, c));
        c->connecting = true;
        c->inflight++;
        if (timeout_ms) {
                sqe->flags |= IOSQE_IO_LINK;
                c->ts.tv_sec = timeout_ms / 1000;
                c->ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
                sqe = io_uring_get_sqe(&r->ring);
                io_uring_prep_link_timeout(sqe, &c->ts, 0);
                io_uring_sqe_set_data64(sqe, make_ud(OP_LINK_TIMEOUT, c));
                c->inflight++;
        }
        if (out)
                *out = c;
        return 0;
}

void reactor_conn_pause(struct rconn *c)
{
        if (c->paused)
                return;
        c->paused = true;
        if (!c->recv_armed || c->closing)
                return;
        struct io_uring_sqe *sqe = sqe_get(c->r);
        if (!sqe)
                return; /* the multishot goes on; on_recv may still be called */
        io_uring_prep_cancel64(sqe, make_ud(c->kind == K_LISTEN ? OP_ACCEPT : OP_RECV, c), 0);
        io_uring_sqe_set_data64(sqe, make_ud(OP_CANCEL, c));
        c->inflight++;
}

void reactor_conn_set_oneshot(struct rconn *c, int on)
{
        /* Takes effect at the next arm: a live multishot runs on until it
         * ends or is cancelled (a pause cancels it). */
        c->oneshot = on != 0;
}

void reactor_conn_resume(struct rconn *c)
{
        if (!c->paused)
                return;
        c->paused = false;
        if (recv_wanted(c) && arm_recv(c) < 0)
                report_error(c, -EBUSY);
}

void reactor_conn_shutdown_write(struct rconn *c)
{
        if (c->shut_wr_pending || c->closing)
                return;
        c->shut_wr_pending = true;
        if (!c->send_inflight && !sendq_bytes(&c->sq)) {
                c->shut_wr_done = true;
                shutdown(c->fd, SHUT_WR);
        }
}

void reactor_conn_close(struct rconn *c, enum reactor_close how)
{
        if (c->kind == K_FREE)
                return;
        if (how == REACTOR_CLOSE_RESET)
                c->reset = true;
        if (c->closing) {
                if (how != REACTOR_CLOSE_FLUSH && c->flush) {
                        c->flush = false;
                        begin_teardown(c);
                }
                return;
        }
        c->closing = true;
        if (how == REACTOR_CLOSE_FLUSH && !c->failed && (c->send_inflight || sendq_bytes(&c->sq))) {
                /* Finish sending first; send_drained() continues. */
                c->flush = true;
                c->shut_wr_pending = true;
                return;
        }
        if (how == REACTOR_CLOSE_FLUSH && !c->shut_wr_done && c->kind == K_CONN)
                shutdown(c->fd, SHUT_WR);
        begin_teardown(c);
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

/* ---- timers, stats ---- */

int reactor_timer_start(struct reactor *r, struct timer *t, uint64_t delay_ms, timer_fn fn,
                        void *arg)
{
        return timer_arm(&r->timers, t, timer_now_ms() + delay_ms, fn, arg);
}

void reactor_timer_stop(struct reactor *r, struct timer *t)
{
        timer_disarm(&r->timers, t);
}

uint64_t reactor_now_ms(const struct reactor *r)
{
        return r->now;
}

const struct reactor_stats *reactor_stats(const struct reactor *r)
{
        return &r->stats;
}

void reactor_get_info(const struct reactor *r, struct reactor_info *info)
{
        *info = r->info;
}

/* ---- setup / teardown ---- */

static int ring_init(struct reactor *r, unsigned sq, unsigned cq)
{
        /* SINGLE_ISSUER + DEFER_TASKRUN: completions are only processed when
         * this thread waits, in a batch, with no interrupts from task work
         * (6.1+). COOP_TASKRUN is the next best thing on older kernels.
         * SUBMIT_ALL keeps one bad SQE from holding back the rest. */
        static const unsigned tries[] = {
            IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
            IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
            0,
        };
        int ret = -EINVAL;

        for (unsigned i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
                struct io_uring_params p;
                memset(&p, 0, sizeof(p));
                p.flags = tries[i] | IORING_SETUP_CQSIZE;
                p.cq_entries = cq;
                ret = io_uring_queue_init_params(sq, &r->ring, &p);
                if (ret == -EINVAL)
                        continue;
                if (ret == 0) {
                        r->info.setup_flags = p.flags;
                        r->info.features = p.features;
                        r->info.sq_entries = p.sq_entries;
                        r->info.cq_entries = p.cq_entries;
                        r->info.single_issuer = !!(p.flags & IORING_SETUP_SINGLE_ISSUER);
                        r->info.defer_taskrun = !!(p.flags & IORING_SETUP_DEFER_TASKRUN);
                }
                break;
        }
        return ret;
}

int reactor_new(struct reactor **out, const struct reactor_conf *conf, char *why, size_t whylen)
{
        struct reactor_conf cf = {256, 0, 1024, 16384, 0};
        int ret;

        if (conf) {
                cf.sq_entries = conf->sq_entries ? conf->sq_entries : cf.sq_entries;
                cf.cq_entries = conf->cq_entries;
                cf.buf_count = conf->buf_count ? conf->buf_count : cf.buf_count;
                cf.buf_size = conf->buf_size ? conf->buf_size : cf.buf_size;
                cf.max_conns = conf->max_conns ? conf->max_conns : cf.max_conns;
        }
        if (!cf.cq_entries)
                cf.cq_entries = cf.sq_entries * 64;
        if (!cf.max_conns) {
                /* Every connection holds a descriptor, so the descriptor
                 * limit is the useful bound; slots cost memory only once
                 * used (slot_alloc). */
                struct rlimit rl;
                rlim_t n = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 4096;
                cf.max_conns = n < 4096 ? 4096 : n > (1u << 20) ? (1u << 20) : (unsigned)n;
        }
        if (why && whylen)
                why[0] = 0;

        struct reactor *r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        ret = ring_init(r, cf.sq_entries, cf.cq_entries);
        if (ret < 0) {
                uring_explain(ret, "io_uring_setup", why, whylen);
                free(r);
                return ret;
        }
        ret = uring_check_features(&r->ring, why, whylen);
        if (ret < 0)
                goto fail_ring;
        ret = bufring_init(&r->bufs, &r->ring, BGID, cf.buf_count, cf.buf_size);
        if (ret < 0) {
                uring_explain(ret, "provided buffer ring", why, whylen);
                goto fail_ring;
        }
        r->nslots = cf.max_conns;
        r->slots = calloc(r->nslots, sizeof(*r->slots));
        r->free_stack = calloc(r->nslots, sizeof(*r->free_stack));
        ret = -ENOMEM;
        if (!r->slots || !r->free_stack || timer_heap_init(&r->timers, 64) < 0)
                goto fail_all;
        r->now = timer_now_ms();
        *out = r;
        return 0;
fail_all:
        free(r->slots);
        free(r->free_stack);
        bufring_free(&r->bufs, &r->ring);
fail_ring:
        io_uring_queue_exit(&r->ring);
        free(r);
        return ret;
}

void reactor_free(struct reactor *r)
{
        if (!r)
                return;
        /* Orderly even here: requests still in flight may read send buffers
         * or fill recv buffers, so wait (bounded) until they have ended. */
        for (unsigned i = 0; i < r->nused; i++)
                if (r->slots[i].kind != K_FREE)
                        reactor_conn_close(&r->slots[i], REACTOR_CLOSE_RESET);
        uint64_t give_up = timer_now_ms() + 2000;
        while (r->stats.conns_open && timer_now_ms() < give_up)
                reactor_run_once(r, 50);
        timer_heap_free(&r->timers);
        bufring_free(&r->bufs, &r->ring);
        io_uring_queue_exit(&r->ring);
        free(r->slots);
        free(r->free_stack);
        free(r);
}
