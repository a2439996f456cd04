/* mux: session table, frame dispatch and batch builder; see mux.h. */
#include "core/mux.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* Smallest per-session share of a batch: below this, frame headers would
 * eat the room and the turn order still rotates across batches anyway. */
#define MIN_QUANTUM 1024u

enum { L_CTL, L_DAT, L_LAZY }; /* L_LAZY: only a delayed ACK is due */

enum tomb_kind {
        TOMB_FREE = 0,
        TOMB_CLOSED,     /* both FINs went through: re-ACK a repeated FIN */
        TOMB_RESET_US,   /* we sent RST <reason>: say it again */
        TOMB_RESET_PEER, /* the peer sent RST: ignore its stragglers */
};

struct tomb {
        uint32_t sid;
        uint8_t kind;
        uint8_t reason;
        uint64_t fin; /* TOMB_CLOSED: the peer's final offset */
};

struct link {
        struct msess *prev, *next;
};

struct slist {
        struct msess *head, *tail;
        size_t n;
};

/* Client copy of the OPEN target, kept until the exit answers. */
struct mtarget {
        struct frame_target t;
        uint8_t addr[FRAME_MAX_NAME];
};

struct msess {
        struct mux *m;
        struct msess *hnext; /* hash chain, or the dead list */
        struct link link[3];
        void *ud;
        struct mtarget *target;
        uint64_t ack_limit; /* consumed + W as of our last ACK */
        uint32_t sid;
        uint32_t open_gen; /* build generation that carried our last OPEN */
        uint64_t open_seq; /* client: sequence of the batch that first carried it */
        bool in[3];
        bool opened;    /* client: the exit answered; exit: accepted */
        bool open_sent; /* client: an OPEN went out since the last rewind */
        bool open_ever; /* client: the exit may have heard of it */
        bool ack_due;
        bool ack_lazy; /* the due ACK only confirms data: it may wait (on_ack_later) */
        bool want_writable;
        bool dead;
        struct stream_tx tx;
        struct stream_rx rx;
};

struct mux {
        enum mux_role role;
        uint32_t window;
        const struct mux_ops *ops;
        void *ud;
        struct msess **tab;
        unsigned tab_bits;
        size_t count;
        uint32_t max_sessions;
        uint32_t next_sid;
        uint32_t gen;
        struct slist list[3];
        struct frame *ctl; /* RST, orphan ACK, PING/PONG, FIFO [ctl_head, ctl_n) */
        size_t ctl_head, ctl_n, ctl_cap;
        int depth;          /* callbacks on the stack: frees wait */
        struct msess *dead; /* killed while depth > 0 */
        bool signaled;      /* on_pending called since the last build */
        bool has_proof;     /* client: batches start with PROOF(proof) */
        uint64_t batch_seq; /* client: of the batch being built (mux_set_batch_seq) */
        uint8_t proof[FRAME_COOKIE_LEN];
        bool building;
        struct mux_stats st;
        uint64_t progress; /* moves whenever the peer acknowledges something new */
        unsigned tomb_next;
        struct tomb tombs[MUX_TOMBSTONES];
};

/* ---- session table ---- */

static size_t hslot(const struct mux *m, uint32_t sid)
{
        return (size_t)((sid * 0x9E3779B1u) >> (32 - m->tab_bits));
}

static struct msess *sess_find(const struct mux *m, uint32_t sid)
{
        struct msess *s = m->tab[hslot(m, sid)];

        while (s && s->sid != sid)
                s = s->hnext;
        return s;
}

static int tab_grow(struct mux *m)
{
        unsigned bits = m->tab_bits + 1;
        struct msess **nt = calloc((size_t)1 << bits, sizeof(*nt));
        size_t old = (size_t)1 << m->tab_bits;

        if (!nt)
                return -ENOMEM;
        struct msess **ot = m->tab;
        m->tab = nt;
        m->tab_bits = bits;
        for (size_t i = 0; i < old; i++) {
                struct msess *s = ot[i], *next;
                for (; s; s = next) {
                        size_t h = hslot(m, s->sid);
                        next = s->hnext;
                        s->hnext = nt[h];
                        nt[h] = s;
                }
        }
        free(ot);
        return 0;
}

static void tab_remove(struct mux *m, struct msess *s)
{
        struct msess **pp = &m->tab[hslot(m, s->sid)];

        while (*pp != s)
                pp = &(*pp)->hnext;
        *pp = s->hnext;
        s->hnext = NULL;
        m->count--;
}

/* ---- send lists ---- */

static void list_add(struct mux *m, int l, struct msess *s)
{
        struct slist *q = &m->list[l];
        struct link *k = &s->link[l];

        k->next = NULL;
        k->prev = q->tail;
        if (q->tail)
                q->tail->link[l].next = s;
        else
                q->head = s;
        q->tail = s;
        s->in[l] = true;
        q->n++;
}

static void list_del(struct mux *m, int l, struct msess *s)
{
        struct slist *q = &m->list[l];
        struct link *k = &s->link[l];

        if (!s->in[l])
                return;
        if (k->prev)
                k->prev->link[l].next = k->next;
        else
                q->head = k->next;
        if (k->next)
                k->next->link[l].prev = k->prev;
        else
                q->tail = k->prev;
        k->prev = k->next = NULL;
        s->in[l] = false;
        q->n--;
}

static void kick(struct mux *m)
{
        if (m->signaled || m->building)
                return;
        m->signaled = true;
        if (m->ops->on_pending)
                m->ops->on_pending(m->ud);
}

bool mux_has_pending(const struct mux *m)
{
        return m->ctl_head < m->ctl_n || m->list[L_CTL].head || m->list[L_DAT].head;
}

/* Work left the lists without a build (a session ended, an OPEN no longer
 * needed): once nothing is pending, the owner is told again about the next
 * frame. Otherwise a kick swallowed by a stale flag leaves those frames
 * waiting for whatever builds next: on a POST link with nothing in
 * flight, the heartbeat (issue 13, defect 1; tests/sim found it). */
static void settle(struct mux *m)
{
        if (m->signaled && !m->building && !mux_has_pending(m))
                m->signaled = false;
}

static bool has_data(const struct msess *s)
{
        return stream_tx_sendable(&s->tx) > 0;
}

static bool needs_ctl(const struct msess *s)
{
        /* A lazy ACK goes with data of the same session, never alone. */
        if (s->ack_due && s->opened && (!s->ack_lazy || has_data(s)))
                return true;
        if (stream_tx_fin_due(&s->tx))
                return true;
        return s->m->role == MUX_CLIENT && !s->opened && !s->open_sent && !has_data(s);
}

/* Puts <s> on exactly the send lists its state asks for. */
static void sched(struct msess *s)
{
        struct mux *m = s->m;
        bool c = needs_ctl(s), d = has_data(s);

        if (c && !s->in[L_CTL])
                list_add(m, L_CTL, s);
        else if (!c)
                list_del(m, L_CTL, s);
        if (d && !s->in[L_DAT])
                list_add(m, L_DAT, s);
        else if (!d)
                list_del(m, L_DAT, s);
        /* A lazy ACK rides with whatever the session sends next; alone,
         * it waits for mux_flush_acks(). */
        bool lz = s->ack_due && s->ack_lazy && s->opened && !c && !d;
        if (lz && !s->in[L_LAZY]) {
                list_add(m, L_LAZY, s);
                m->ops->on_ack_later(m->ud);
        } else if (!lz) {
                list_del(m, L_LAZY, s);
        }
        if (c || d)
                kick(m);
        else
                settle(m);
}

/* An ACK that must go in the next batch (window, FIN, open, rewind). */
static void ack_now(struct msess *s)
{
        s->ack_due = true;
        s->ack_lazy = false;
}

/* An ACK for data that arrived: it may wait a little for a reply to ride
 * with (delayed ACK), when the owner offers on_ack_later. The window's
 * ACK (mux_consumed) stays urgent, so bulk transfers never wait on it. */
static void ack_later(struct msess *s)
{
        if (!s->ack_due)
                s->ack_lazy = s->m->ops->on_ack_later != NULL;
        s->ack_due = true;
}

void mux_flush_acks(struct mux *m)
{
        struct msess *s;
        while ((s = m->list[L_LAZY].head)) {
                s->ack_lazy = false;
                sched(s);
        }
}

/* ---- control queue ---- */

/* Queues a sessionless or orphan frame. <answer>: a reply to the peer,
 * bounded by MUX_CTL_ANSWERS; our own RSTs and final ACKs always go. */
static int ctl_push(struct mux *m, const struct frame *f, bool answer)
{
        if (answer && m->ctl_n - m->ctl_head >= MUX_CTL_ANSWERS) {
                m->st.ctl_dropped++;
                return -ENOBUFS;
        }
        if (m->ctl_n == m->ctl_cap) {
                size_t live = m->ctl_n - m->ctl_head;
                if (m->ctl_head) {
                        memmove(m->ctl, m->ctl + m->ctl_head, live * sizeof(*m->ctl));
                } else {
                        size_t cap = m->ctl_cap ? m->ctl_cap * 2 : 16;
                        struct frame *nq = realloc(m->ctl, cap * sizeof(*nq));
                        if (!nq) {
                                m->st.ctl_dropped++;
                                return -ENOMEM;
                        }
                        m->ctl = nq;
                        m->ctl_cap = cap;
                }
                m->ctl_head = 0;
                m->ctl_n = live;
        }
        m->ctl[m->ctl_n++] = *f;
        kick(m);
        return 0;
}

/* RST for <sid>, unless one is queued already: a batch naming a forgotten
 * session many times gets one answer. */
static void ctl_rst(struct mux *m, uint32_t sid, uint8_t reason, bool answer)
{
        struct frame f = {.type = FRAME_RST, .sid = sid};

        for (size_t i = m->ctl_head; i < m->ctl_n; i++)
                if (m->ctl[i].type == FRAME_RST && m->ctl[i].sid == sid)
                        return;
        f.rst.reason = reason;
        (void)ctl_push(m, &f, answer);
}

/* ---- tombstones ---- */

static void tomb_add(struct mux *m, uint32_t sid, uint8_t kind, uint8_t reason, uint64_t fin)
{
        struct tomb *t = &m->tombs[m->tomb_next];

        t->sid = sid;
        t->kind = kind;
        t->reason = reason;
        t->fin = fin;
        m->tomb_next = (m->tomb_next + 1) % MUX_TOMBSTONES;
}

static const struct tomb *tomb_find(const struct mux *m, uint32_t sid)
{
        /* Newest first: a sid reused after 2^32 opens has two. */
        for (unsigned i = 1; i <= MUX_TOMBSTONES; i++) {
                const struct tomb *t =
                    &m->tombs[(m->tomb_next + MUX_TOMBSTONES - i) % MUX_TOMBSTONES];
                if (t->kind == TOMB_FREE)
                        return NULL;
                if (t->sid == sid)
                        return t;
        }
        return NULL;
}

/* ---- session life ---- */

static void sess_free(struct msess *s)
{
        stream_tx_free(&s->tx);
        stream_rx_free(&s->rx);
        free(s->target);
        free(s);
}

static struct msess *sess_new(struct mux *m, uint32_t sid)
{
        struct msess *s;
        size_t h;

        if (m->count >= ((size_t)1 << m->tab_bits) && tab_grow(m) < 0)
                return NULL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->m = m;
        s->sid = sid;
        stream_tx_init(&s->tx, m->window);
        stream_rx_init(&s->rx, m->window);
        s->ack_limit = m->window;
        h = hslot(m, sid);
        s->hnext = m->tab[h];
        m->tab[h] = s;
        m->count++;
        m->st.sessions_open++;
        m->st.sessions_total++;
        return s;
}

/* Takes <s> out of the table now and frees it once no callback is on the
 * stack, so code holding <s> across a callback only needs to check
 * s->dead. */
static void sess_kill(struct mux *m, struct msess *s, uint8_t kind, uint8_t reason)
{
        tab_remove(m, s);
        list_del(m, L_CTL, s);
        list_del(m, L_DAT, s);
        list_del(m, L_LAZY, s);
        tomb_add(m, s->sid, kind, reason, s->rx.fin_off);
        s->dead = true;
        m->st.sessions_open--;
        settle(m);
        if (m->depth) {
                s->hnext = m->dead;
                m->dead = s;
        } else {
                sess_free(s);
        }
}

static void reap(struct mux *m)
{
        while (m->dead) {
                struct msess *s = m->dead;
                m->dead = s->hnext;
                sess_free(s);
        }
}

/* The peer's FIN counts as seen once every byte before it left through
 * the owner's socket (mux_consumed), not when it was handed over: an exit
 * that dies with bytes still queued for the target must not have let the
 * client end the session cleanly (BRIEF §7 I2; tests/sim found it with exit
 * restarts). */
static bool fin_through(const struct msess *s)
{
        /* The exit says so only once its own FIN was acknowledged too: from
         * then on its upstream socket ends with FIN, never RST (sockpipe),
         * so what the client was told is what the target gets. The client
         * says so at once: no wait on each other. */
        return s->rx.fin_done && s->rx.consumed >= s->rx.fin_off &&
               (s->m->role == MUX_CLIENT || s->tx.fin_acked);
}

static void ack_frame(const struct msess *s, struct frame *f)
{
        memset(f, 0, sizeof(*f));
        f->type = FRAME_ACK;
        f->sid = s->sid;
        f->ack.flags = (uint8_t)((s->m->role == MUX_EXIT ? FRAME_ACK_OPENED : 0) |
                                 (fin_through(s) ? FRAME_ACK_FIN_SEEN : 0));
        f->ack.acked = stream_rx_acked(&s->rx);
        f->ack.window = stream_rx_credit(&s->rx);
}

/* The peer ended it (RST) or broke a rule (<err> != 0): tell the owner. */
static void sess_abort(struct mux *m, struct msess *s, uint8_t reason, int err)
{
        if (err) {
                if (err == -ENOMEM) {
                        reason = FRAME_RST_CAP;
                } else {
                        m->st.proto_errors++;
                        log_debug("mux: session %u: %s", s->sid, mux_strerror(err));
                }
                ctl_rst(m, s->sid, reason, false);
                sess_kill(m, s, TOMB_RESET_US, reason);
        } else {
                sess_kill(m, s, TOMB_RESET_PEER, reason);
        }
        m->ops->on_reset(m->ud, s, reason);
        m->ops->on_closed(m->ud, s);
}

static void maybe_close(struct mux *m, struct msess *s)
{
        if (s->dead || !s->tx.fin_acked || !fin_through(s))
                return;
        if (s->ack_due) { /* the peer still needs FIN_SEEN */
                struct frame f;
                ack_frame(s, &f);
                (void)ctl_push(m, &f, false);
        }
        sess_kill(m, s, TOMB_CLOSED, 0);
        m->ops->on_closed(m->ud, s);
}

static void deliver(void *ctx, const uint8_t *p, size_t n)
{
        struct msess *s = ctx;

        if (s->dead)
                return;
        s->m->st.bytes_delivered += n;
        s->m->ops->on_data(s->m->ud, s, p, n);
}

static void check_fin(struct mux *m, struct msess *s)
{
        if (s->dead || !stream_rx_fin_ready(&s->rx))
                return;
        stream_rx_fin_take(&s->rx);
        ack_now(s);
        sched(s);
        m->ops->on_fin(m->ud, s);
        maybe_close(m, s);
}

/* Client: the first word from the exit for <s>. */
static void mark_opened(struct mux *m, struct msess *s)
{
        if (s->opened || m->role != MUX_CLIENT)
                return;
        s->opened = true;
        m->progress++;
        free(s->target);
        s->target = NULL;
        sched(s);
        m->ops->on_opened(m->ud, s);
}

/* ---- input ---- */

static void sess_data(struct mux *m, struct msess *s, uint64_t off, const uint8_t *p, size_t n)
{
        uint64_t dup = s->rx.dup;
        int rc;

        mark_opened(m, s);
        if (s->dead)
                return;
        rc = stream_rx_data(&s->rx, off, p, n, deliver, s);
        if (s->dead)
                return;
        if (rc < 0) {
                sess_abort(m, s, FRAME_RST_PROTOCOL, rc);
                return;
        }
        m->st.dup_bytes += s->rx.dup - dup;
        ack_later(s);
        sched(s);
        check_fin(m, s);
}

static void on_fin_frame(struct mux *m, struct msess *s, uint64_t off)
{
        int rc;

        mark_opened(m, s);
        if (s->dead)
                return;
        if ((rc = stream_rx_fin(&s->rx, off)) < 0) {
                sess_abort(m, s, FRAME_RST_PROTOCOL, rc);
                return;
        }
        ack_now(s);
        sched(s);
        check_fin(m, s);
}

static void on_ack_frame(struct mux *m, struct msess *s, const struct frame *f)
{
        int rc;

        if (m->role == MUX_EXIT && (f->ack.flags & FRAME_ACK_OPENED)) {
                sess_abort(m, s, FRAME_RST_PROTOCOL, MUX_EOPENED);
                return;
        }
        mark_opened(m, s);
        if (s->dead)
                return;
        bool through = fin_through(s);
        uint64_t acked = s->tx.acked;
        bool fin_acked = s->tx.fin_acked;
        rc = stream_tx_ack(&s->tx, f->ack.acked, f->ack.window,
                           (f->ack.flags & FRAME_ACK_FIN_SEEN) != 0);
        if (rc < 0) {
                sess_abort(m, s, FRAME_RST_PROTOCOL, rc);
                return;
        }
        if (s->tx.acked != acked || s->tx.fin_acked != fin_acked)
                m->progress++;
        if (!through && fin_through(s))
                ack_now(s); /* the exit's FIN was the last thing FIN_SEEN waited for */
        sched(s);
        if (s->want_writable && stream_tx_space(&s->tx) >= s->tx.window / 4) {
                s->want_writable = false;
                m->ops->on_writable(m->ud, s);
        }
        maybe_close(m, s);
}

/* A frame for a sid that is not live. */
static void on_stray(struct mux *m, const struct frame *f)
{
        const struct tomb *t;

        if (f->type == FRAME_RST)
                return;
        t = tomb_find(m, f->sid);
        if (!t) {
                m->st.unknown_sid++;
                ctl_rst(m, f->sid, FRAME_RST_UNKNOWN, true);
                return;
        }
        if (t->kind == TOMB_RESET_US) {
                ctl_rst(m, f->sid, t->reason, true);
        } else if (t->kind == TOMB_CLOSED && f->type == FRAME_FIN && f->fin.offset == t->fin) {
                struct frame a = {.type = FRAME_ACK, .sid = f->sid};
                a.ack.flags =
                    (uint8_t)(FRAME_ACK_FIN_SEEN | (m->role == MUX_EXIT ? FRAME_ACK_OPENED : 0));
                a.ack.acked = t->fin;
                (void)ctl_push(m, &a, true);
        }
}

static void on_open_frame(struct mux *m, const struct frame *f)
{
        struct msess *s = sess_find(m, f->sid);

        if (s) { /* a resend: its initial data is DATA at offset 0 */
                if (f->open.data_len)
                        sess_data(m, s, 0, f->open.data, f->open.data_len);
                return;
        }
        if (tomb_find(m, f->sid)) {
                on_stray(m, f);
                return;
        }
        if (m->count >= m->max_sessions || !(s = sess_new(m, f->sid))) {
                m->st.open_refused++;
                ctl_rst(m, f->sid, FRAME_RST_CAP, true);
                tomb_add(m, f->sid, TOMB_RESET_US, FRAME_RST_CAP, 0);
                return;
        }
        stream_rx_hold(&s->rx);
        m->ops->on_open(m->ud, s, &f->open.target);
        if (!s->dead && f->open.data_len)
                sess_data(m, s, 0, f->open.data, f->open.data_len);
}

static void dispatch(struct mux *m, const struct frame *f)
{
        struct msess *s;

        if (f->type == FRAME_PING) {
                if (f->ping.flags & FRAME_PING_PONG) {
                        if (m->ops->on_pong)
                                m->ops->on_pong(m->ud, f->ping.token);
                } else {
                        struct frame p = *f;
                        if (f->ping.flags & FRAME_PING_REWIND) {
                                m->st.rewinds++;
                                mux_rewind(m);
                        }
                        p.ping.flags = FRAME_PING_PONG;
                        (void)ctl_push(m, &p, true);
                }
                return;
        }
        if (f->type == FRAME_OPEN) {
                on_open_frame(m, f);
                return;
        }
        if (f->type == FRAME_PROOF)
                return; /* the exit's owner checked it before the region came here */
        if (f->type == FRAME_CHALLENGE) {
                if (m->ops->on_challenge)
                        m->ops->on_challenge(m->ud, f);
                return;
        }
        s = sess_find(m, f->sid);
        if (!s) {
                on_stray(m, f);
                return;
        }
        switch (f->type) {
        case FRAME_DATA:
                sess_data(m, s, f->data.offset, f->data.data, f->data.len);
                break;
        case FRAME_FIN:
                on_fin_frame(m, s, f->fin.offset);
                break;
        case FRAME_ACK:
                on_ack_frame(m, s, f);
                break;
        case FRAME_RST:
                m->st.rst_recv++;
                sess_abort(m, s, f->rst.reason, 0);
                break;
        }
}

int mux_input(struct mux *m, const uint8_t *frames, size_t len)
{
        struct frame_iter it;
        struct frame f;
        int rc;

        /* Pass 1: the whole region, before anything is acted on. */
        frame_iter_init(&it, frames, len);
        while ((rc = frame_next(&it, &f)) == 1) {
                if ((f.type == FRAME_OPEN || f.type == FRAME_PROOF) && m->role == MUX_CLIENT) {
                        rc = MUX_EROLE;
                        break;
                }
                if (f.type == FRAME_CHALLENGE && m->role == MUX_EXIT) {
                        rc = MUX_EROLE;
                        break;
                }
        }
        if (rc < 0) {
                m->st.regions_refused++;
                log_debug("mux: frames region refused at byte %zu: %s", it.off, mux_strerror(rc));
                return rc;
        }
        m->depth++;
        frame_iter_init(&it, frames, len);
        while (frame_next(&it, &f) == 1)
                dispatch(m, &f);
        if (--m->depth == 0)
                reap(m);
        return 0;
}

/* ---- output ---- */

static void open_frame(const struct msess *s, struct frame *f)
{
        memset(f, 0, sizeof(*f));
        f->type = FRAME_OPEN;
        f->sid = s->sid;
        f->open.target = s->target->t;
}

static void put(struct mux *m, const struct frame *f, uint8_t *out, size_t cap, size_t *used)
{
        size_t n = 0;

        /* Room was checked by the caller; a failure here is a bug in this
         * file, and dropping the frame is safer than a bad region. */
        if (frame_encode(f, out + *used, cap - *used, &n) < 0) {
                log_error("mux: cannot encode a %s frame", frame_type_name(f->type));
                return;
        }
        *used += n;
        if (f->type == FRAME_RST)
                m->st.rst_sent++;
}

static void sent_open(struct mux *m, struct msess *s)
{
        if (!s->open_ever)
                s->open_seq = m->batch_seq;
        s->open_gen = m->gen;
        s->open_sent = s->open_ever = true;
}

/* Control frames of <s>: OPEN (bare: data rides in the DATA phase), FIN,
 * ACK. Returns false, writing nothing, when they do not fit. */
static bool emit_ctl(struct mux *m, struct msess *s, uint8_t *out, size_t cap, size_t *used)
{
        bool fin = stream_tx_fin_due(&s->tx), ack = s->ack_due && s->opened;
        bool open = m->role == MUX_CLIENT && !s->opened && s->open_gen != m->gen &&
                    ((!s->open_sent && !has_data(s)) || fin);
        struct frame f;
        size_t need = 0;

        if (open) {
                open_frame(s, &f);
                need += frame_encoded_len(&f);
        }
        need += (fin ? FRAME_FIN_LEN : 0) + (ack ? FRAME_ACK_LEN : 0);
        if (*used + need > cap)
                return false;
        if (open) {
                put(m, &f, out, cap, used);
                sent_open(m, s);
        }
        if (fin) {
                memset(&f, 0, sizeof(f));
                f.type = FRAME_FIN;
                f.sid = s->sid;
                f.fin.offset = stream_tx_fin_take(&s->tx);
                put(m, &f, out, cap, used);
        }
        if (ack) {
                ack_frame(s, &f);
                put(m, &f, out, cap, used);
                s->ack_due = false;
                s->ack_lazy = false;
                s->ack_limit = s->rx.consumed + s->rx.window;
        }
        return true;
}

/* One turn of <s> in the DATA phase: [OPEN with initial data] DATA... up to
 * <q> bytes, [FIN]. Returns false, writing nothing, when not even one byte
 * fits. */
static bool emit_data(struct mux *m, struct msess *s, uint8_t *out, size_t cap, size_t *used,
                      size_t q)
{
        bool open = m->role == MUX_CLIENT && !s->opened && s->open_gen != m->gen;
        struct stream_chunk c;
        struct frame f;
        size_t olen = 0;

        if (!has_data(s))
                return true;
        if (open) {
                open_frame(s, &f);
                olen = frame_encoded_len(&f);
        }
        if (cap - *used < olen + FRAME_DATA_HDR + 1)
                return false;
        if (open) {
                if (s->tx.sent == 0) {
                        size_t max = q < FRAME_MAX_INIT ? q : FRAME_MAX_INIT;
                        if (max > cap - *used - olen)
                                max = cap - *used - olen;
                        stream_tx_take(&s->tx, max, &c);
                        f.open.data = c.p;
                        f.open.data_len = (uint16_t)c.len;
                        m->st.bytes_sent += c.len;
                        m->st.bytes_retx += c.retx;
                        q -= c.len;
                }
                put(m, &f, out, cap, used);
                sent_open(m, s);
        }
        while (q > 0 && cap - *used > FRAME_DATA_HDR) {
                size_t room = cap - *used - FRAME_DATA_HDR;
                stream_tx_take(&s->tx, q < room ? q : room, &c);
                if (c.len == 0)
                        break;
                memset(&f, 0, sizeof(f));
                f.type = FRAME_DATA;
                f.sid = s->sid;
                f.data.offset = c.offset;
                f.data.data = c.p;
                f.data.len = (uint32_t)c.len;
                put(m, &f, out, cap, used);
                m->st.bytes_sent += c.len;
                m->st.bytes_retx += c.retx;
                q -= c.len;
        }
        if (stream_tx_fin_due(&s->tx) && cap - *used >= FRAME_FIN_LEN) {
                memset(&f, 0, sizeof(f));
                f.type = FRAME_FIN;
                f.sid = s->sid;
                f.fin.offset = stream_tx_fin_take(&s->tx);
                put(m, &f, out, cap, used);
        }
        return true;
}

int mux_build(struct mux *m, uint8_t *out, size_t cap, size_t *len)
{
        size_t used = 0, q;
        struct msess *s;

        *len = 0;
        if (cap < MUX_MIN_BUILD)
                return -EINVAL;
        m->building = true;
        if (++m->gen == 0)
                m->gen = 1;
        if (m->has_proof) {
                struct frame pf = {.type = FRAME_PROOF};
                memcpy(pf.chal.cookie, m->proof, FRAME_COOKIE_LEN);
                put(m, &pf, out, cap, &used);
        }
        size_t proof_len = used;
        while (m->ctl_head < m->ctl_n) {
                const struct frame *f = &m->ctl[m->ctl_head];
                if (used + frame_encoded_len(f) > cap)
                        break;
                put(m, f, out, cap, &used);
                m->ctl_head++;
        }
        if (m->ctl_head == m->ctl_n)
                m->ctl_head = m->ctl_n = 0;
        /* One pass: a session still needing control after its turn waits
         * for the next batch rather than looping here. */
        for (size_t n = m->list[L_CTL].n; n && (s = m->list[L_CTL].head); n--) {
                if (!emit_ctl(m, s, out, cap, &used))
                        break;
                list_del(m, L_CTL, s);
                sched(s);
        }
        /* DATA: each session in turn gets a share; one that still has bytes
         * goes to the back, so the next batch starts with whoever is next. */
        q = m->list[L_DAT].n ? (cap - used) / m->list[L_DAT].n : 0;
        q = q < MIN_QUANTUM ? MIN_QUANTUM : q > MUX_QUANTUM ? MUX_QUANTUM : q;
        while ((s = m->list[L_DAT].head)) {
                size_t before = used;
                if (!emit_data(m, s, out, cap, &used, q))
                        break;
                list_del(m, L_DAT, s);
                sched(s);
                if (used == before && s->in[L_DAT])
                        break; /* no progress: never spin */
        }
        m->building = false;
        m->signaled = false;
        *len = used > proof_len ? used : 0; /* a PROOF alone is no batch */
        return 0;
}

int mux_build_proof(struct mux *m, uint8_t *out, size_t cap, size_t *len)
{
        struct frame pf = {.type = FRAME_PROOF};

        *len = 0;
        if (!m->has_proof)
                return 0;
        memcpy(pf.chal.cookie, m->proof, FRAME_COOKIE_LEN);
        return frame_encode(&pf, out, cap, len);
}

void mux_set_proof(struct mux *m, const uint8_t *cookie)
{
        memcpy(m->proof, cookie, FRAME_COOKIE_LEN);
        m->has_proof = true;
}

int mux_queue_frame(struct mux *m, const struct frame *f)
{
        return ctl_push(m, f, false);
}

bool mux_outstanding(const struct mux *m)
{
        for (size_t i = 0; i < ((size_t)1 << m->tab_bits); i++) {
                for (const struct msess *s = m->tab[i]; s; s = s->hnext) {
                        if (s->tx.max_sent > s->tx.acked)
                                return true;
                        if (m->role == MUX_CLIENT && s->open_ever && !s->opened)
                                return true;
                        /* The exit's FIN gets FIN_SEEN at once; the
                         * client's may be held back until the exit's own
                         * is acknowledged (fin_through). */
                        if (m->role == MUX_EXIT && s->tx.fin_ever && !s->tx.fin_acked)
                                return true;
                }
        }
        return false;
}

uint64_t mux_progress(const struct mux *m)
{
        return m->progress;
}

void mux_set_batch_seq(struct mux *m, uint64_t seq)
{
        m->batch_seq = seq;
}

unsigned mux_reset_heard(struct mux *m, uint64_t heard, uint8_t reason)
{
        size_t cap = m->count, k = 0;
        uint32_t *sids;
        unsigned n = 0;

        if (m->role != MUX_CLIENT || !cap)
                return 0;
        /* Sids first: a callback may end other sessions. */
        sids = malloc(cap * sizeof(*sids));
        if (!sids)
                return 0;
        for (size_t i = 0; i < ((size_t)1 << m->tab_bits); i++)
                for (struct msess *s = m->tab[i]; s && k < cap; s = s->hnext)
                        if (s->open_ever && s->open_seq < heard)
                                sids[k++] = s->sid;
        m->depth++;
        for (size_t i = 0; i < k; i++) {
                struct msess *s = sess_find(m, sids[i]);
                if (!s || s->dead)
                        continue;
                sess_kill(m, s, TOMB_RESET_PEER, reason);
                m->ops->on_reset(m->ud, s, reason);
                m->ops->on_closed(m->ud, s);
                n++;
        }
        if (--m->depth == 0)
                reap(m);
        free(sids);
        return n;
}

/* ---- owner API ---- */

int mux_new(enum mux_role role, uint32_t window, const struct mux_ops *ops, void *ud,
            struct mux **out)
{
        struct mux *m;

        *out = NULL;
        if ((role != MUX_CLIENT && role != MUX_EXIT) || window < STREAM_MIN_WINDOW ||
            window > STREAM_MAX_WINDOW || !ops || !ops->on_data || !ops->on_fin || !ops->on_reset ||
            !ops->on_closed || !ops->on_writable ||
            (role == MUX_EXIT ? !ops->on_open : !ops->on_opened))
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->tab_bits = 6;
        m->tab = calloc((size_t)1 << m->tab_bits, sizeof(*m->tab));
        if (!m->tab) {
                free(m);
                return -ENOMEM;
        }
        m->role = role;
        m->window = window;
        m->ops = ops;
        m->ud = ud;
        m->max_sessions = MUX_MAX_SESSIONS;
        m->next_sid = 1;
        *out = m;
        return 0;
}

void mux_free(struct mux *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < ((size_t)1 << m->tab_bits); i++) {
                struct msess *s = m->tab[i], *next;
                for (; s; s = next) {
                        next = s->hnext;
                        sess_free(s);
                }
        }
        reap(m);
        free(m->tab);
        free(m->ctl);
        free(m);
}

void mux_set_max_sessions(struct mux *m, uint32_t max)
{
        m->max_sessions = max;
}

int mux_open(struct mux *m, const struct frame_target *t, struct msess **out)
{
        struct frame f = {.type = FRAME_OPEN, .sid = 1};
        struct mtarget *mt;
        struct msess *s;
        uint32_t sid;

        *out = NULL;
        f.open.target = *t;
        if (m->role != MUX_CLIENT || frame_encoded_len(&f) == 0)
                return -EINVAL;
        if (m->count >= m->max_sessions)
                return -ENOSPC;
        mt = malloc(sizeof(*mt));
        if (!mt)
                return -ENOMEM;
        mt->t = *t;
        memcpy(mt->addr, t->addr, t->addr_len);
        mt->t.addr = mt->addr;
        do
                sid = m->next_sid++;
        while (sid == 0 || sess_find(m, sid));
        s = sess_new(m, sid);
        if (!s) {
                free(mt);
                return -ENOMEM;
        }
        s->target = mt;
        sched(s);
        *out = s;
        return 0;
}

int mux_write(struct msess *s, const void *p, size_t n, size_t *accepted)
{
        int rc;

        *accepted = 0;
        if (s->m->role == MUX_EXIT && !s->opened)
                return -ENOTCONN;
        rc = stream_tx_write(&s->tx, p, n, accepted);
        if (rc < 0)
                return rc;
        if (*accepted < n)
                s->want_writable = true;
        if (*accepted)
                sched(s);
        return 0;
}

int mux_shutdown(struct msess *s)
{
        if (s->m->role == MUX_EXIT && !s->opened)
                return -ENOTCONN;
        stream_tx_fin(&s->tx);
        sched(s);
        return 0;
}

void mux_reset(struct msess *s, uint8_t reason)
{
        struct mux *m = s->m;

        if (s->dead)
                return;
        if (frame_rst_name(reason)[0] == '?')
                reason = FRAME_RST_GENERAL;
        /* A client session whose OPEN never left is unknown to the exit. */
        if (m->role == MUX_EXIT || s->open_ever)
                ctl_rst(m, s->sid, reason, false);
        sess_kill(m, s, TOMB_RESET_US, reason);
}

void mux_reject(struct msess *s, uint8_t reason)
{
        mux_reset(s, reason);
}

int mux_consumed(struct msess *s, size_t n)
{
        struct stream_rx *rx = &s->rx;
        int rc = stream_rx_consumed(rx, n);

        if (rc < 0)
                return rc;
        /* Nothing more will come after a complete FIN: no window to open,
         * but the last bytes out let FIN_SEEN go (and maybe the session). */
        if (rx->fin_known && rx->recvd == rx->fin_off) {
                if (fin_through(s)) {
                        struct mux *m = s->m;
                        ack_now(s);
                        sched(s);
                        m->depth++; /* on_closed gets <s> alive; freed after */
                        maybe_close(m, s);
                        if (--m->depth == 0)
                                reap(m);
                }
                return 0;
        }
        if (rx->consumed + rx->window - s->ack_limit >= rx->window / 4) {
                ack_now(s);
                sched(s);
        }
        return 0;
}

int mux_accept(struct msess *s)
{
        struct mux *m = s->m;

        if (m->role != MUX_EXIT || s->opened || s->dead)
                return -EINVAL;
        s->opened = true;
        ack_now(s);
        m->depth++;
        stream_rx_release(&s->rx, deliver, s);
        check_fin(m, s);
        if (!s->dead)
                sched(s);
        if (--m->depth == 0)
                reap(m);
        return 0;
}

void mux_set_ud(struct msess *s, void *ud)
{
        s->ud = ud;
}

void *mux_ud(const struct msess *s)
{
        return s->ud;
}

uint32_t mux_sid(const struct msess *s)
{
        return s->sid;
}

size_t mux_sess_rx_held(const struct msess *s)
{
        return (size_t)stream_rx_held(&s->rx);
}

size_t mux_sess_tx_held(const struct msess *s)
{
        return (size_t)(s->tx.written - s->tx.acked);
}

void mux_held(const struct mux *m, size_t *total, size_t *most)
{
        *total = *most = 0;
        for (size_t i = 0; i < ((size_t)1 << m->tab_bits); i++) {
                for (const struct msess *s = m->tab[i]; s; s = s->hnext) {
                        size_t n = mux_sess_rx_held(s) + mux_sess_tx_held(s);
                        *total += n;
                        if (n > *most)
                                *most = n;
                }
        }
}

size_t mux_sess_mem(const struct msess *s)
{
        size_t n = sizeof(*s) + s->tx.cap;

        if (s->rx.ring)
                n += ((size_t)s->rx.window + 7) / 8 * 8 + ((size_t)s->rx.window + 63) / 64 * 8;
        if (s->target)
                n += sizeof(*s->target);
        return n;
}

void mux_rewind(struct mux *m)
{
        for (size_t i = 0; i < ((size_t)1 << m->tab_bits); i++) {
                for (struct msess *s = m->tab[i]; s; s = s->hnext) {
                        stream_tx_rewind(&s->tx);
                        if (m->role == MUX_CLIENT && !s->opened)
                                s->open_sent = false;
                        if (s->opened)
                                ack_now(s);
                        sched(s);
                }
        }
}

int mux_recover(struct mux *m, uint64_t token)
{
        struct frame f = {.type = FRAME_PING};

        mux_rewind(m);
        f.ping.flags = FRAME_PING_REWIND;
        f.ping.token = token;
        return ctl_push(m, &f, false);
}

int mux_ping(struct mux *m, uint64_t token)
{
        struct frame f = {.type = FRAME_PING};

        f.ping.token = token;
        return ctl_push(m, &f, false);
}

void mux_get_stats(const struct mux *m, struct mux_stats *st)
{
        *st = m->st;
}

const char *mux_strerror(int err)
{
        if (err == MUX_EROLE)
                return "frame not allowed in this direction";
        if (err == MUX_EOPENED)
                return "OPENED flag from the client";
        if (err <= STREAM_EACK && err >= STREAM_EFIN)
                return stream_strerror(err);
        return frame_strerror(err);
}
