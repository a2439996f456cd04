/* clients: the exit's per-client demux; see server_priv.h.
 *
 * An authenticated batch names its client: (key, instance id). Each client
 * has its own mux, so a frame can only ever name that client's sessions
 * (BRIEF §5), and its own upstream connections, dialed through the dialer
 * and relayed by core/sockpipe.
 */
#include "exit/server_priv.h"

#include "core/frame.h"
#include "core/hostenv.h"
#include "core/log.h"
#include "core/mux.h"
#include "core/sockpipe.h"
#include "exit/dialer.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIAL_TIMEOUT_MS 10000
#define BATCH_FRAMES    (256 * 1024) /* per batch, on either transport */

/* An upstream connection being dialed or relayed for one session. */
struct upstream {
        struct client *cl; /* NULL once the client is gone */
        struct upstream *prev, *next;
        struct msess *s;
        struct dial *dial; /* while dialing */
        struct sockpipe pipe;
        int piped;
};

static void client_free(struct client *cl)
{
        struct server *srv = cl->srv;

        /* Its batches stay acceptable by time for a while: a replay of one
         * must not find an empty window in a new instance (issue 13,
         * defect 5). */
        replay_memo_add(&srv->gone, (uint32_t)cl->key, cl->instance, &cl->tun.replay,
                        cl->incarnation, tunnel_wall_ms());
        for (struct client **p = &srv->clients; *p; p = &(*p)->next) {
                if (*p == cl) {
                        *p = cl->next;
                        break;
                }
        }
        reactor_timer_stop(srv->r, &cl->flush);
        reactor_timer_stop(srv->r, &cl->grace);
        reactor_timer_stop(srv->r, &cl->ack);
        reactor_timer_stop(srv->r, &cl->rto);
        if (cl->ws)
                cl->ws->cl = NULL;
        while (cl->polls) {
                struct hconn *h = cl->polls;
                cl->polls = h->poll_next;
                h->cl = NULL;
                reactor_timer_stop(srv->r, &h->poll_timer);
                hconn_abort(h);
        }
        /* mux_free calls nothing back: abort every upstream here (RST). */
        while (cl->ups) {
                struct upstream *u = cl->ups;
                cl->ups = u->next;
                u->cl = NULL;
                if (u->dial) {
                        dialer_cancel(u->dial);
                        free(u);
                } else if (u->piped && !u->pipe.s && !u->pipe.reset) {
                        /* Its session ended cleanly (the client was told
                         * so): the last bytes are leaving, then FIN. A
                         * reset here would cut what the target had not
                         * read yet (tests/sim, exit restarts). */
                } else if (u->piped) {
                        sockpipe_abort(&u->pipe);
                } else {
                        free(u);
                }
        }
        mux_free(cl->mux);
        tunnel_free(&cl->tun);
        free(cl);
}

void clients_free_all(struct server *srv)
{
        while (srv->clients)
                client_free(srv->clients);
}

static void grace_over(struct timer *t, void *arg)
{
        struct client *cl = arg;

        (void)t;
        log_info("client %s/%016llx: no transport for %lld s, closing its sessions",
                 cl->srv->keys[cl->key].id, (unsigned long long)cl->instance,
                 (long long)cl->srv->cfg->grace);
        client_free(cl);
}

void client_transport_changed(struct client *cl)
{
        struct reactor *r = cl->srv->r;

        if (cl->ws || cl->polls)
                reactor_timer_stop(r, &cl->grace);
        else if (!timer_armed(&cl->grace))
                reactor_timer_start(r, &cl->grace, (uint64_t)cl->srv->cfg->grace * 1000, grace_over,
                                    cl);
}

void client_flush(struct client *cl)
{
        if (cl->ws)
                ws_stream_flush(cl->ws);
        if (cl->polls)
                post_tunnel_flush(cl);
}

static void flush_timer(struct timer *t, void *arg)
{
        (void)t;
        client_flush(arg);
}

void client_sched_flush(struct client *cl)
{
        /* A WebSocket sends at once (what one loop turn gathered); answers
         * to held POSTs may wait a little to carry more. */
        uint64_t delay = cl->ws ? 0 : (uint64_t)cl->srv->cfg->post_coalesce_ms;

        if (!timer_armed(&cl->flush))
                reactor_timer_start(cl->srv->r, &cl->flush, delay, flush_timer, cl);
}

/* ---- upstream sessions (mux callbacks) ---- */

static void up_link(struct client *cl, struct upstream *u)
{
        u->cl = cl;
        u->prev = NULL;
        u->next = cl->ups;
        if (cl->ups)
                cl->ups->prev = u;
        cl->ups = u;
}

/* Unlinks and frees <u>. */
static void up_drop(struct upstream *u)
{
        if (u->cl) {
                if (u->prev)
                        u->prev->next = u->next;
                else
                        u->cl->ups = u->next;
                if (u->next)
                        u->next->prev = u->prev;
        }
        free(u);
}

static void up_free(struct sockpipe *p)
{
        up_drop((struct upstream *)((char *)p - offsetof(struct upstream, pipe)));
}

static void up_recv(struct rconn *c, void *ud, const uint8_t *d, size_t n)
{
        (void)c;
        sockpipe_recv(&((struct upstream *)ud)->pipe, d, n);
}
static void up_eof(struct rconn *c, void *ud)
{
        (void)c;
        sockpipe_eof(&((struct upstream *)ud)->pipe);
}
static void up_drain(struct rconn *c, void *ud)
{
        (void)c;
        sockpipe_drain(&((struct upstream *)ud)->pipe);
}
static void up_error(struct rconn *c, void *ud, int err)
{
        (void)c;
        sockpipe_error(&((struct upstream *)ud)->pipe, err);
}
static void up_close(struct rconn *c, void *ud)
{
        (void)c;
        sockpipe_conn_closed(&((struct upstream *)ud)->pipe);
}

static const struct rconn_ops up_ops = {
    .on_recv = up_recv,
    .on_eof = up_eof,
    .on_drain = up_drain,
    .on_error = up_error,
    .on_close = up_close,
};

static void dialed(void *arg, const struct dial_result *res)
{
        struct upstream *u = arg;
        struct rconn *c;
        int fd = res->fd;

        u->dial = NULL;
        if (res->reason) {
                log_debug("dial failed: %s%s", frame_rst_name(res->reason),
                          res->suppressed ? " (target in back-off)" : "");
                mux_reject(u->s, res->reason);
                up_drop(u);
                return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (reactor_conn_add(u->cl->srv->r, fd, &up_ops, u, &c) < 0) {
                close(fd);
                mux_reject(u->s, FRAME_RST_CAP);
                up_drop(u);
                return;
        }
        sockpipe_init(&u->pipe, c, u->s, up_free);
        u->piped = 1;
        mux_accept(u->s);
}

/* Live sessions over every client: the global cap. The per-client cap is
 * the mux's own (mux_set_max_sessions). */
static size_t sessions_open(const struct server *srv)
{
        struct mux_stats st;
        size_t n = 0;

        for (const struct client *cl = srv->clients; cl; cl = cl->next) {
                mux_get_stats(cl->mux, &st);
                n += st.sessions_open;
        }
        return n;
}

static void m_open(void *ud, struct msess *s, const struct frame_target *t)
{
        struct client *cl = ud;
        struct server *srv = cl->srv;
        struct upstream *u;

        /* This session already counts among the open ones. */
        if (srv->stopping || sessions_open(srv) > (size_t)srv->cfg->max_sessions) {
                mux_reject(s, FRAME_RST_CAP);
                return;
        }
        u = calloc(1, sizeof(*u));
        if (!u) {
                mux_reject(s, FRAME_RST_CAP);
                return;
        }
        up_link(cl, u);
        u->s = s;
        mux_set_ud(s, u);
        if (dialer_dial(srv->dialer, t, DIAL_TIMEOUT_MS, dialed, u, &u->dial) < 0) {
                mux_reject(s, FRAME_RST_GENERAL);
                up_drop(u);
        }
}

static void m_data(void *ud, struct msess *s, const uint8_t *p, size_t n)
{
        struct upstream *u = mux_ud(s);
        (void)ud;
        if (u && u->piped)
                sockpipe_data(&u->pipe, p, n);
}

static void m_fin(void *ud, struct msess *s)
{
        struct upstream *u = mux_ud(s);
        (void)ud;
        if (u && u->piped)
                sockpipe_fin(&u->pipe);
}

static void m_writable(void *ud, struct msess *s)
{
        struct upstream *u = mux_ud(s);
        (void)ud;
        if (u && u->piped)
                sockpipe_writable(&u->pipe);
}

static void m_reset(void *ud, struct msess *s, uint8_t reason)
{
        struct upstream *u = mux_ud(s);
        (void)ud;
        if (u && u->piped)
                sockpipe_reset(&u->pipe, reason);
}

static void m_closed(void *ud, struct msess *s)
{
        struct upstream *u = mux_ud(s);

        (void)ud;
        if (!u)
                return;
        mux_set_ud(s, NULL);
        if (u->dial) {
                /* The client reset the session while we were dialing. */
                dialer_cancel(u->dial);
                up_drop(u);
        } else if (u->piped) {
                sockpipe_sess_closed(&u->pipe);
        }
}

static void m_pending(void *ud)
{
        client_sched_flush(ud);
}

/* The exit's half of a POST link's retransmission timer (the client's is
 * in tools/client_post.c): an answer it sent can be lost with nothing the
 * client could notice (no request of its failed, nothing of its waits).
 * When batches keep coming but what the exit sent gets no word for
 * POST_RTO_MS, it is all sent again. A WebSocket loses nothing while it
 * stands, and a new one asks for the rewind itself. */
static void rto_timer(struct timer *t, void *arg)
{
        struct client *cl = arg;
        uint64_t progress = mux_progress(cl->mux);

        (void)t;
        if (!cl->ws && mux_outstanding(cl->mux) && progress == cl->rto_progress &&
            cl->batches != cl->rto_batches) {
                log_debug("client %016llx: nothing acknowledged for %u ms while batches came: "
                          "sending again",
                          (unsigned long long)cl->instance, POST_RTO_MS);
                mux_rewind(cl->mux);
                client_sched_flush(cl);
        }
        cl->rto_progress = progress;
        cl->rto_batches = cl->batches;
        reactor_timer_start(cl->srv->r, &cl->rto, POST_RTO_MS, rto_timer, cl);
}

static void ack_timer(struct timer *t, void *arg)
{
        struct client *cl = arg;
        (void)t;
        mux_flush_acks(cl->mux);
}

static void m_ack_later(void *ud)
{
        struct client *cl = ud;
        if (!timer_armed(&cl->ack))
                reactor_timer_start(cl->srv->r, &cl->ack, MUX_ACK_DELAY_MS, ack_timer, cl);
}

static const struct mux_ops exit_mux_ops = {
    .on_open = m_open,
    .on_data = m_data,
    .on_fin = m_fin,
    .on_writable = m_writable,
    .on_reset = m_reset,
    .on_closed = m_closed,
    .on_pending = m_pending,
    .on_ack_later = m_ack_later,
};

static struct client *client_find(struct server *srv, size_t key, uint64_t instance)
{
        for (struct client *cl = srv->clients; cl; cl = cl->next)
                if (cl->key == key && cl->instance == instance)
                        return cl;
        return NULL;
}

static bool has_transport(const struct client *cl)
{
        return cl->ws || cl->polls;
}

static uint64_t sessions_of(const struct client *cl)
{
        struct mux_stats st;

        mux_get_stats(cl->mux, &st);
        return st.sessions_open;
}

/* Whether <a> should give way before <b>: no transport first (a client
 * process that is gone, e.g. restarted), then the longer idle. The list is
 * newest first, so on a tie the older instance goes. */
static bool gives_way_before(const struct client *a, const struct client *b)
{
        if (has_transport(a) != has_transport(b))
                return !has_transport(a);
        return a->last_batch_ms <= b->last_batch_ms;
}

/* Key <key> has max_instances instances and <instance> wants in. Each costs
 * a mux and its batch buffers, so a key (a user) cannot mint them without
 * bound; but a full table is no reason to lock the user out: an instance
 * with no open sessions loses nothing by going (its client, if it is still
 * there, comes back as it would after the grace). Frees the one that gives
 * way best and returns 0, or returns -EUSERS when every one holds sessions. */
static int make_room(struct server *srv, size_t key, uint64_t instance)
{
        struct exit_key *ek = &srv->keys[key];
        struct client *victim = NULL;
        uint64_t now = reactor_now_ms(srv->r);

        for (struct client *cl = srv->clients; cl; cl = cl->next)
                if (cl->key == key && !sessions_of(cl) && (!victim || gives_way_before(cl, victim)))
                        victim = cl;
        if (!victim) {
                srv->st.instances_refused++;
                ek->refused_full++;
                if (!ek->full)
                        log_warn("key %s: instance limit reached (%lld instances, each with open "
                                 "sessions): refusing new instances until one has none",
                                 ek->id, (long long)srv->cfg->max_instances);
                ek->full = true;
                return -EUSERS;
        }
        srv->st.instances_evicted++;
        log_info("key %s: instance limit (%lld) reached: %016llx (no open sessions, %s, idle "
                 "%llu s) gives way to %016llx",
                 ek->id, (long long)srv->cfg->max_instances, (unsigned long long)victim->instance,
                 has_transport(victim) ? "transport up" : "no transport",
                 (unsigned long long)((now - victim->last_batch_ms) / 1000),
                 (unsigned long long)instance);
        client_free(victim);
        return 0;
}

/* A new client instance for an authenticated batch that passed every check
 * that needs no instance. Linked, but logged only once a batch is
 * delivered into it: the caller frees it if that batch is refused.
 * Returns 0, -EUSERS (make_room) or -ENOMEM. */
static int client_new(struct server *srv, size_t key, uint64_t instance, enum aead_alg alg,
                      struct client **out)
{
        struct client *cl;
        int64_t same_key = 0;
        int ret;

        for (cl = srv->clients; cl; cl = cl->next)
                same_key += cl->key == key;
        if (same_key >= srv->cfg->max_instances) {
                ret = make_room(srv, key, instance);
                if (ret < 0)
                        return ret;
        }
        cl = calloc(1, sizeof(*cl));
        if (!cl)
                return -ENOMEM;
        cl->srv = srv;
        cl->key = key;
        cl->instance = instance;
        while (!cl->incarnation)
                hostenv_random(&cl->incarnation, sizeof(cl->incarnation));
        if (mux_new(MUX_EXIT, (uint32_t)srv->cfg->window, &exit_mux_ops, cl, &cl->mux) < 0) {
                free(cl);
                return -ENOMEM;
        }
        if (tunnel_init(&cl->tun, cl->mux, &srv->keys[key].keys, alg, AEAD_S2C, instance,
                        BATCH_FRAMES) < 0) {
                mux_free(cl->mux);
                free(cl);
                return -ENOMEM;
        }
        mux_set_max_sessions(cl->mux, (uint32_t)srv->cfg->max_sessions_per_client);
        cl->last_batch_ms = reactor_now_ms(srv->r);
        reactor_timer_start(srv->r, &cl->rto, POST_RTO_MS, rto_timer, cl);
        cl->next = srv->clients;
        srv->clients = cl;
        *out = cl;
        return 0;
}

/* A batch of a new instance of <key> got in. */
static void client_welcome(struct server *srv, struct client *cl)
{
        struct exit_key *ek = &srv->keys[cl->key];

        log_info("client %s/%016llx: first authenticated batch", ek->id,
                 (unsigned long long)cl->instance);
        if (ek->full)
                log_info("key %s: room for new instances again (%llu refused meanwhile)", ek->id,
                         (unsigned long long)ek->refused_full);
        ek->full = false;
        ek->refused_full = 0;
}

/* ---- freshness (core/cookie.h, docs/protocol.md §3.6) ---- */

static uint64_t cookie_epoch(const struct server *srv)
{
        return reactor_now_ms(srv->r) / COOKIE_EPOCH_MS;
}

/* The PROOF a batch starts with, or NULL. */
static const uint8_t *proof_of(const uint8_t *frames, size_t len)
{
        struct frame_iter it;
        struct frame f;

        frame_iter_init(&it, frames, len);
        if (frame_next(&it, &f) == 1 && f.type == FRAME_PROOF)
                return frames + FRAME_PROOF_LEN - FRAME_COOKIE_LEN;
        return NULL;
}

/* A creation cookie names the complement of the last incarnation freed:
 * never the same as that incarnation's own cookies, which its client still
 * holds and must not pass for a new life (tests/sim, seed 588). */
static uint64_t creation_of(uint64_t freed)
{
        return ~freed;
}

/* What the exit knows of (<k>, <instance>) when a batch comes: the live
 * instance, or the memo of the last one freed (one look at the ring). */
struct known {
        const struct client *cl;
        /* What its cookies name now: the live one's incarnation, or for
         * making one, the creation incarnation of the last one freed (each
         * life of an instance has its own creation cookie: one issued before
         * a free never makes the next). */
        uint64_t incarnation;
        bool memo;            /* !cl: a freed one's memo applied */
        struct replay window; /* !cl: the window a new instance starts with */
};

static void know(struct server *srv, size_t k, uint64_t instance, const struct client *cl,
                 uint64_t now, struct known *kn)
{
        uint64_t tag = 0;

        kn->cl = cl;
        kn->memo = false;
        if (cl) {
                kn->incarnation = cl->incarnation;
                return;
        }
        kn->memo = replay_memo_restore(&srv->gone, (uint32_t)k, instance, now, &kn->window, &tag);
        kn->incarnation = creation_of(tag);
}

/* Whether <proof> holds for (<k>, <instance>) as the exit knows it now,
 * on a link whose own challenge nonce is <link> (0 for a POST). */
static bool proof_holds(struct server *srv, size_t k, uint64_t instance, const struct known *kn,
                        const uint8_t *proof, uint64_t link)
{
        uint64_t epoch = cookie_epoch(srv);
        const struct client *cl = kn->cl;

        if (!proof)
                return false;
        if (cookie_check(&srv->jar, (uint32_t)k, instance, kn->incarnation ^ link, epoch, proof))
                return true;
        /* Requests that left with the creation cookie, before the client
         * heard of its incarnation. */
        return cl && !link && cl->born_epoch + 1 >= epoch &&
               cookie_check(&srv->jar, (uint32_t)k, instance, cl->born_of, epoch, proof);
}

/* A WebSocket becomes a client's downstream only on a cookie made for that
 * very connection: a batch recorded elsewhere and delivered on it first
 * (held back from the client's own link) can never bind it (tests/sim,
 * seed 8873). A POST is answered on its own request, so it needs none. */
static uint64_t link_nonce(const struct hconn *h)
{
        return h->state == H_WS ? h->chal_nonce : 0;
}

/* Seals a CHALLENGE for (<k>, <instance>) into srv->chal: the answer to a
 * batch that was not acted on. Needs no instance, makes none. */
static int challenge(struct server *srv, size_t k, uint64_t instance, const struct known *kn,
                     uint64_t link, uint64_t answers, uint64_t now)
{
        struct frame f = {.type = FRAME_CHALLENGE};
        struct batch_meta meta = {.instance_id = instance, .time_ms = now};
        size_t used;

        f.chal.flags = FRAME_CHAL_REFUSED | (kn->cl ? FRAME_CHAL_KNOWN : 0);
        f.chal.answers = answers;
        /* Without the instance: what the lost one may have acted on. The
         * client resets those sessions, and opens the others afresh. */
        if (!kn->cl)
                f.chal.heard = !kn->memo ? UINT64_MAX : kn->window.any ? kn->window.top + 1 : 0;
        cookie_make(&srv->jar, (uint32_t)k, instance, kn->incarnation ^ link, cookie_epoch(srv),
                    f.chal.cookie);
        if (frame_encode(&f, srv->chal + BATCH_PREFIX_LEN, FRAME_CHAL_LEN, &used) < 0 ||
            batch_seal(&srv->keys[k].chal, &meta, srv->chal, used,
                       BATCH_PREFIX_LEN + FRAME_CHAL_LEN + BATCH_TAG_LEN, &srv->chal_len) < 0)
                return -EACCES;
        srv->st.challenged++;
        return -EAGAIN;
}

/* A fresh cookie for <cl>'s next batches, once per epoch (and at its
 * birth), riding with what it is sent next. */
static void refresh_cookie(struct client *cl, uint64_t answers)
{
        struct server *srv = cl->srv;
        uint64_t epoch = cookie_epoch(srv);
        struct frame f = {
            .type = FRAME_CHALLENGE, .chal.flags = FRAME_CHAL_KNOWN, .chal.answers = answers};

        if (cl->cookie_epoch == epoch)
                return;
        cookie_make(&srv->jar, (uint32_t)cl->key, cl->instance, cl->incarnation, epoch,
                    f.chal.cookie);
        if (mux_queue_frame(cl->mux, &f) == 0)
                cl->cookie_epoch = epoch;
}

int clients_deliver(struct server *srv, struct hconn *h, const uint8_t *p, size_t n,
                    struct client **out)
{
        uint8_t id[AEAD_KEY_ID_LEN];
        struct batch_meta meta;
        const uint8_t *frames;
        size_t frames_len, k;
        struct client *cl;
        bool fresh = false;
        uint64_t now = tunnel_wall_ms();
        int ret;

        ret = batch_peek_key_id(p, n, id);
        for (k = 0; ret == 0 && k < srv->nkeys; k++)
                if (aead_ct_equal(id, srv->keys[k].keys.key_id, sizeof(id)))
                        break;
        if (ret == 0 && k == srv->nkeys)
                ret = BATCH_EKEYID;
        if (ret == 0)
                ret = batch_open(&srv->keys[k].opener, p, n, srv->scratch, BATCH_MAX, &meta,
                                 &frames, &frames_len);
        if (ret < 0) {
                /* Same answer whatever failed. */
                srv->st.refused_batches++;
                log_debug("refused a batch: %s", batch_strerror(ret));
                return -EACCES;
        }
        if (h->cl && (h->cl->key != k || h->cl->instance != meta.instance_id))
                return -EACCES; /* one connection carries one client */
        cl = h->cl ? h->cl : client_find(srv, k, meta.instance_id);
        /* Every batch must prove it was made after its sender heard from
         * this exit, for the instance the exit has now: replays from
         * before a restart, or of an instance made anew, and a recorded
         * batch on a new link, get a challenge and nothing else. On the
         * client's own WebSocket that holds too (a batch from before a
         * restart put into it, tests/sim seed 7 with inject), with either
         * its connection's cookie or a fresh one the exit sent since. */
        const uint8_t *proof = proof_of(frames, frames_len);
        struct known kn;
        know(srv, k, meta.instance_id, cl, now, &kn);
        if (!proof_holds(srv, k, meta.instance_id, &kn, proof, link_nonce(h)) &&
            !(h->cl && proof_holds(srv, k, meta.instance_id, &kn, proof, 0))) {
                if (replay_check_time(meta.time_ms, now) < 0) {
                        srv->st.refused_batches++;
                        return -EACCES; /* stale: not even a challenge */
                }
                return challenge(srv, k, meta.instance_id, &kn, link_nonce(h), meta.seq, now);
        }
        if (!cl) {
                /* A batch that would be refused makes nothing: a stale
                 * first batch replayed must not take one of the key's
                 * instance slots (BRIEF §3). The window's other checks
                 * need an instance; tunnel_deliver runs them below. */
                ret = replay_check(&kn.window, meta.seq, meta.time_ms, now);
                if (ret < 0) {
                        /* Stale, or a batch of an instance freed lately
                         * (its window lives on as a memo): nothing to do. */
                        srv->st.refused_batches++;
                        log_debug("refused a batch of a new instance%s: %s",
                                  kn.memo ? " (seen before it was freed)" : "",
                                  replay_strerror(ret));
                        return ret == REPLAY_EDUP || ret == REPLAY_ETOOOLD ? -EALREADY : -EACCES;
                }
                ret = client_new(srv, k, meta.instance_id, meta.alg, &cl);
                if (ret < 0)
                        return ret;
                cl->tun.replay = kn.window;
                cl->born_epoch = cookie_epoch(srv);
                cl->born_of = kn.incarnation;
                fresh = true;
        }
        ret = tunnel_deliver(&cl->tun, &meta, frames, frames_len, now);
        if (ret == TUNNEL_DUP) {
                /* A replay, or a forwarder's retry: acted on once already.
                 * The transport it came on earns nothing by it: no
                 * downstream, no held POST (issue 13, defect 3). */
                srv->st.replayed_batches++;
                return -EALREADY;
        }
        if (ret < 0) {
                srv->st.refused_batches++;
                log_info("client %s/%016llx: batch refused (%d)", srv->keys[k].id,
                         (unsigned long long)meta.instance_id, ret);
                if (fresh)
                        client_free(cl); /* it never held anything */
                else
                        client_transport_changed(cl);
                return -EACCES;
        }
        if (fresh)
                client_welcome(srv, cl);
        refresh_cookie(cl, meta.seq);
        cl->batches++;
        cl->last_batch_ms = reactor_now_ms(srv->r);
        *out = cl;
        return 0;
}
