/* sim_sock: the simulated clock, event queue and TCP; see sim.h.
 *
 * A connection is two ssocks. What one end sends goes on the wire when the
 * direction has room (sim_net.sockbuf covers bytes in flight plus bytes the
 * peer has not read: TCP's window), and arrives after the path's latency,
 * in order. A partition holds bytes from client to exit (TCP would resend
 * them) until it ends. close() with unread bytes, or an abort, is a reset.
 *
 * The runtime's own socket calls (socket, connect, bind, listen, close,
 * getsockname, getpeername, getsockopt, setsockopt) are defined here and so
 * take the place of libc's in the simulator: descriptors from SIM_FD_BASE
 * up are simulated, any other goes to the kernel.
 */
#include "tests/sim/sim.h"

#include "core/reactor.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct sim_net_conf sim_net = {
    .lat_min_ms = 5, .lat_max_ms = 40, .local_lat_ms = 1, .sockbuf = 256 * 1024};

/* ---- clock, randomness, events ---- */

struct ev {
        uint64_t t, seq;
        sim_fn fn;
        void *a;
        uint64_t b;
};

static struct {
        uint64_t now, seq, rng;
        struct ev *heap;
        size_t n, cap;
        uint64_t partition_until;
        enum sim_node cur_node;
        struct ssock *all;
        size_t nsocks;
        struct ssock **by_fd; /* index fd - SIM_FD_BASE */
        size_t by_fd_cap;
        sim_tap_fn tap[NODE_COUNT][NODE_COUNT];
        void *tap_ud[NODE_COUNT][NODE_COUNT];
} W;

uint64_t sim_now(void)
{
        return W.now;
}

uint64_t sim_rand(void)
{
        /* splitmix64: one stream per seed. */
        uint64_t z = (W.rng += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

uint64_t sim_below(uint64_t n)
{
        return n ? sim_rand() % n : 0;
}

bool sim_chance(unsigned percent)
{
        return sim_below(100) < percent;
}

static bool ev_less(const struct ev *x, const struct ev *y)
{
        return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

void sim_at(uint64_t t, sim_fn fn, void *a, uint64_t b)
{
        if (W.n == W.cap) {
                W.cap = W.cap ? W.cap * 2 : 1024;
                W.heap = realloc(W.heap, W.cap * sizeof(*W.heap));
                if (!W.heap)
                        abort();
        }
        struct ev e = {.t = t < W.now ? W.now : t, .seq = W.seq++, .fn = fn, .a = a, .b = b};
        size_t i = W.n++;
        while (i && ev_less(&e, &W.heap[(i - 1) / 2])) {
                W.heap[i] = W.heap[(i - 1) / 2];
                i = (i - 1) / 2;
        }
        W.heap[i] = e;
}

static struct ev ev_pop(void)
{
        struct ev top = W.heap[0], last = W.heap[--W.n];
        size_t i = 0;

        for (;;) {
                size_t c = 2 * i + 1;
                if (c >= W.n)
                        break;
                if (c + 1 < W.n && ev_less(&W.heap[c + 1], &W.heap[c]))
                        c++;
                if (!ev_less(&W.heap[c], &last))
                        break;
                W.heap[i] = W.heap[c];
                i = c;
        }
        if (W.n)
                W.heap[i] = last;
        return top;
}

void sim_reset(uint64_t seed)
{
        sim_sockets_free();
        W.now = 0;
        W.seq = 0;
        W.n = 0;
        W.rng = seed * 0x2545f4914f6cdd1dull + 1;
        W.partition_until = 0;
        W.cur_node = NODE_APP;
        memset(W.tap, 0, sizeof(W.tap));
}

bool sim_step(uint64_t until)
{
        uint64_t te = W.n ? W.heap[0].t : UINT64_MAX, tt = sim_reactor_next_timer();
        uint64_t t = te < tt ? te : tt;

        if (t == UINT64_MAX || t > until)
                return false;
        if (t > W.now)
                W.now = t;
        /* Network first, then timers due at the same millisecond. */
        if (te <= tt) {
                struct ev e = ev_pop();
                e.fn(e.a, e.b);
        } else {
                sim_reactor_run_timers(W.now);
        }
        return true;
}

void sim_trace(const char *fmt, ...)
{
        char line[512];
        uint64_t ms = W.now;
        int n = snprintf(line, sizeof(line), "%6llu.%03llu sim   ", (unsigned long long)(ms / 1000),
                         (unsigned long long)(ms % 1000));
        va_list ap;

        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (m < 0)
                m = 0;
        n += m < (int)sizeof(line) - n - 1 ? m : (int)sizeof(line) - n - 2;
        line[n++] = '\n';
        ssize_t w = write(STDERR_FILENO, line, (size_t)n);
        (void)w;
}

/* ---- sockets ---- */

struct chunk {
        struct chunk *next;
        size_t n, off;
        bool fin;
        uint8_t data[];
};

enum sk_kind { SK_NEW, SK_LISTEN, SK_CONN };

struct ssock {
        struct ssock *all_next, *acc_next;
        int fd;
        enum sim_node node;
        enum sk_kind kind;
        struct sockaddr_storage local, remote;
        bool bound;
        struct ssock *peer;
        bool connecting, connected, closed, wr_shut_pending, wr_shut_sent, pump_queued;
        bool event_queued;
        bool linger0; /* SO_LINGER {1, 0}: close() resets */
        int err;      /* pending error for the owner */
        int so_error; /* result of a non-blocking connect */
        uint64_t last_at;
        size_t wire; /* sent by this end, not yet read by the peer */
        uint64_t read_total, sent_total;
        /* received, in order */
        struct chunk *rx_head, *rx_tail;
        size_t rx_bytes;
        bool rx_fin;
        /* queued by the simulation's own sockets */
        struct chunk *tx_head, *tx_tail;
        size_t tx_bytes;
        /* listener */
        struct ssock *acc_head, *acc_tail;
        ssock_fn fn;
        void *ud;
        struct rconn *rc;
};

static void chunks_free(struct chunk *c)
{
        while (c) {
                struct chunk *n = c->next;
                free(c);
                c = n;
        }
}

static void deliver(void *a, uint64_t b);

void sim_sockets_free(void)
{
        struct ssock *s = W.all;

        while (s) {
                struct ssock *n = s->all_next;
                chunks_free(s->rx_head);
                chunks_free(s->tx_head);
                free(s);
                s = n;
        }
        W.all = NULL;
        W.nsocks = 0;
        /* Bytes still on the wire when the run ended. */
        for (size_t i = 0; i < W.n; i++)
                if (W.heap[i].fn == deliver)
                        free(W.heap[i].a);
        free(W.heap);
        W.heap = NULL;
        W.n = W.cap = 0;
        if (W.by_fd)
                memset(W.by_fd, 0, W.by_fd_cap * sizeof(*W.by_fd));
}

static struct ssock *sk_new(enum sim_node node)
{
        struct ssock *s = calloc(1, sizeof(*s));

        if (!s)
                abort();
        if (W.nsocks == W.by_fd_cap) {
                W.by_fd_cap = W.by_fd_cap ? W.by_fd_cap * 2 : 256;
                W.by_fd = realloc(W.by_fd, W.by_fd_cap * sizeof(*W.by_fd));
                if (!W.by_fd)
                        abort();
        }
        s->fd = SIM_FD_BASE + (int)W.nsocks;
        W.by_fd[W.nsocks++] = s;
        s->node = node;
        s->all_next = W.all;
        W.all = s;
        return s;
}

struct ssock *ssock_by_fd(int fd)
{
        if (fd < SIM_FD_BASE || (size_t)(fd - SIM_FD_BASE) >= W.nsocks)
                return NULL;
        return W.by_fd[fd - SIM_FD_BASE];
}

int ssock_fd(const struct ssock *s)
{
        return s->fd;
}

enum sim_node ssock_node(const struct ssock *s)
{
        return s->node;
}

void ssock_bind_rconn(struct ssock *s, struct rconn *c)
{
        s->rc = c;
}

struct rconn *ssock_rconn(const struct ssock *s)
{
        return s->rc;
}

void ssock_set_owner(struct ssock *s, ssock_fn fn, void *ud)
{
        s->fn = fn;
        s->ud = ud;
}

void sim_set_current_node(enum sim_node n)
{
        W.cur_node = n;
}

enum sim_node sim_current_node(void)
{
        return W.cur_node;
}

void sim_set_tap(enum sim_node from, enum sim_node to, sim_tap_fn fn, void *ud)
{
        W.tap[from][to] = fn;
        W.tap_ud[from][to] = ud;
}

static void owner_event(void *a, uint64_t b)
{
        struct ssock *s = a;

        (void)b;
        s->event_queued = false;
        if (s->rc) {
                sim_set_current_node(s->node);
                sim_reactor_sock_event(s->rc);
        } else if (s->fn)
                s->fn(s, s->ud);
}

void ssock_notify(struct ssock *s)
{
        if (s->event_queued)
                return;
        s->event_queued = true;
        sim_at(W.now, owner_event, s, 0);
}

static bool far_path(enum sim_node a, enum sim_node b)
{
        /* The tunnel's path: client or attacker on one side, exit on the
         * other. */
        return (a == NODE_EXIT) != (b == NODE_EXIT) &&
               (a == NODE_CLIENT || b == NODE_CLIENT || a == NODE_ATTACKER || b == NODE_ATTACKER ||
                a == NODE_FWD || b == NODE_FWD);
}

static uint64_t arrival(struct ssock *s)
{
        uint64_t lat = sim_net.local_lat_ms, t;

        if (s->peer && far_path(s->node, s->peer->node)) {
                lat = sim_net.lat_min_ms + sim_below(sim_net.lat_max_ms - sim_net.lat_min_ms + 1);
                if (W.partition_until > W.now)
                        lat += W.partition_until - W.now;
        }
        t = W.now + lat;
        if (t < s->last_at)
                t = s->last_at; /* TCP keeps order */
        s->last_at = t;
        return t;
}

static void deliver(void *a, uint64_t b)
{
        struct chunk *c = a;
        struct ssock *d = (struct ssock *)(uintptr_t)b;

        if (d->closed || d->err) {
                /* Bytes to a closed socket are answered with a reset. */
                if (d->peer && !c->fin && !d->peer->closed && !d->peer->err) {
                        d->peer->err = -ECONNRESET;
                        ssock_notify(d->peer);
                }
                free(c);
                return;
        }
        if (c->fin) {
                d->rx_fin = true;
                free(c);
        } else {
                c->next = NULL;
                if (d->rx_tail)
                        d->rx_tail->next = c;
                else
                        d->rx_head = c;
                d->rx_tail = c;
                d->rx_bytes += c->n;
        }
        ssock_notify(d);
}

static void pump(void *a, uint64_t b);

static void kick(struct ssock *s)
{
        if (s->pump_queued)
                return;
        s->pump_queued = true;
        sim_at(W.now, pump, s, 0);
}

static void send_fin(struct ssock *s)
{
        struct chunk *c = calloc(1, sizeof(*c));

        if (!c)
                abort();
        c->fin = true;
        s->wr_shut_sent = true;
        sim_at(arrival(s), deliver, c, (uint64_t)(uintptr_t)s->peer);
}

/* Moves queued bytes onto the wire while the direction has room. */
static void pump(void *a, uint64_t b)
{
        struct ssock *s = a;
        bool empty = true;

        (void)b;
        s->pump_queued = false;
        if (!s->connected || s->closed || s->err || !s->peer || s->wr_shut_sent)
                return;
        while (s->wire < sim_net.sockbuf) {
                size_t room = sim_net.sockbuf - s->wire, n;
                if (room > 16384)
                        room = 16384;
                struct chunk *c = malloc(sizeof(*c) + room);
                if (!c)
                        abort();
                c->next = NULL;
                c->off = 0;
                c->fin = false;
                if (s->rc) {
                        n = sim_reactor_pull(s->rc, c->data, room, &empty);
                } else {
                        n = 0;
                        while (n < room && s->tx_head) {
                                struct chunk *t = s->tx_head;
                                size_t k = t->n - t->off;
                                if (k > room - n)
                                        k = room - n;
                                memcpy(c->data + n, t->data + t->off, k);
                                t->off += k;
                                n += k;
                                s->tx_bytes -= k;
                                if (t->off == t->n) {
                                        s->tx_head = t->next;
                                        if (!s->tx_head)
                                                s->tx_tail = NULL;
                                        free(t);
                                }
                        }
                        empty = s->tx_head == NULL;
                }
                if (!n) {
                        free(c);
                        break;
                }
                c->n = n;
                s->wire += n;
                s->sent_total += n;
                sim_tap_fn tap = W.tap[s->node][s->peer->node];
                if (tap)
                        tap(s, c->data, n, W.tap_ud[s->node][s->peer->node]);
                sim_at(arrival(s), deliver, c, (uint64_t)(uintptr_t)s->peer);
                if (empty)
                        break;
        }
        /* FIN only once everything queued is on the wire. */
        empty = s->rc ? reactor_conn_queued(s->rc) == 0 : s->tx_head == NULL;
        if (empty && s->wr_shut_pending && !s->wr_shut_sent)
                send_fin(s);
}

static void rst_arrive(void *a, uint64_t b)
{
        struct ssock *p = a;

        (void)b;
        if (p->closed || p->err)
                return;
        p->err = -ECONNRESET;
        chunks_free(p->rx_head);
        p->rx_head = p->rx_tail = NULL;
        p->rx_bytes = 0;
        ssock_notify(p);
}

static void abort_to_peer(struct ssock *s)
{
        if (s->peer && !s->peer->closed && !s->peer->err)
                sim_at(arrival(s), rst_arrive, s->peer, 0);
}

static void sk_release(struct ssock *s)
{
        chunks_free(s->rx_head);
        chunks_free(s->tx_head);
        s->rx_head = s->rx_tail = s->tx_head = s->tx_tail = NULL;
        s->rx_bytes = s->tx_bytes = 0;
        /* What the peer sent and we never read frees its window. */
        s->closed = true;
        s->rc = NULL;
        s->fn = NULL;
}

void ssock_abort(struct ssock *s)
{
        if (s->closed)
                return;
        if (s->connected || s->connecting)
                abort_to_peer(s);
        sk_release(s);
}

void ssock_close(struct ssock *s)
{
        if (s->closed)
                return;
        if (s->kind == SK_LISTEN) {
                /* Connections never accepted are reset. */
                for (struct ssock *c = s->acc_head; c; c = c->acc_next)
                        ssock_abort(c);
                s->acc_head = s->acc_tail = NULL;
                sk_release(s);
                return;
        }
        if (s->rx_bytes || s->err || s->linger0) {
                ssock_abort(s);
                return;
        }
        if (s->connected && !s->wr_shut_sent) {
                /* Unsent bytes of the simulation's own sockets still go,
                 * then FIN; a reactor's queue was dropped by its owner. */
                s->wr_shut_pending = true;
                if (!s->tx_head || s->rc)
                        send_fin(s);
                else
                        kick(s);
        }
        s->closed = !s->tx_head;
        if (s->closed)
                sk_release(s);
        else
                s->rc = NULL, s->fn = NULL;
}

void ssock_shutdown(struct ssock *s)
{
        if (s->closed || s->wr_shut_pending)
                return;
        s->wr_shut_pending = true;
        if (s->connected)
                kick(s);
}

void ssock_write(struct ssock *s, const void *p, size_t n)
{
        if (s->closed || s->wr_shut_pending || !n)
                return;
        struct chunk *c = malloc(sizeof(*c) + n);
        if (!c)
                abort();
        c->next = NULL;
        c->n = n;
        c->off = 0;
        c->fin = false;
        memcpy(c->data, p, n);
        if (s->tx_tail)
                s->tx_tail->next = c;
        else
                s->tx_head = c;
        s->tx_tail = c;
        s->tx_bytes += n;
        if (s->connected)
                kick(s);
}

void ssock_inject(struct ssock *s, const uint8_t *p, size_t n)
{
        struct chunk *c;

        if (!s->connected || s->closed || s->err || !s->peer || s->wr_shut_sent || !n)
                return;
        c = malloc(sizeof(*c) + n);
        if (!c)
                abort();
        c->next = NULL;
        c->n = n;
        c->off = 0;
        c->fin = false;
        memcpy(c->data, p, n);
        s->wire += n; /* the peer's reads count it off */
        sim_at(arrival(s), deliver, c, (uint64_t)(uintptr_t)s->peer);
}

bool ssock_closed(const struct ssock *s)
{
        return s->closed || s->err;
}

void ssock_kick(struct ssock *s)
{
        if (s->connected)
                kick(s);
}

size_t ssock_unsent(const struct ssock *s)
{
        return s->tx_bytes;
}

size_t ssock_read(struct ssock *s, uint8_t *buf, size_t cap, bool *eof)
{
        size_t n = 0;

        *eof = false;
        while (n < cap && s->rx_head) {
                struct chunk *c = s->rx_head;
                size_t k = c->n - c->off;
                if (k > cap - n)
                        k = cap - n;
                memcpy(buf + n, c->data + c->off, k);
                c->off += k;
                n += k;
                if (c->off == c->n) {
                        s->rx_head = c->next;
                        if (!s->rx_head)
                                s->rx_tail = NULL;
                        free(c);
                }
        }
        s->rx_bytes -= n;
        s->read_total += n;
        if (n && s->peer) {
                s->peer->wire -= n;
                kick(s->peer);
        }
        if (!n && !s->rx_head && s->rx_fin)
                *eof = true;
        return n;
}

uint64_t ssock_peer_read(const struct ssock *s)
{
        return s->peer ? s->peer->read_total : 0;
}

uint64_t ssock_sent_total(const struct ssock *s)
{
        return s->sent_total;
}

int ssock_error(const struct ssock *s)
{
        return s->err ? s->err : s->so_error;
}

bool ssock_connected(const struct ssock *s)
{
        return s->connected;
}

/* ---- listening and connecting ---- */

static bool addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
        if (a->ss_family != b->ss_family)
                return false;
        if (a->ss_family == AF_INET) {
                const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
                return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
        }
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

static struct ssock *find_listener(const struct sockaddr_storage *sa)
{
        for (struct ssock *s = W.all; s; s = s->all_next)
                if (s->kind == SK_LISTEN && !s->closed && addr_eq(&s->local, sa))
                        return s;
        return NULL;
}

static size_t sa_size(int family)
{
        return family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static void copy_sa(struct sockaddr_storage *out, const struct sockaddr *sa)
{
        memset(out, 0, sizeof(*out));
        memcpy(out, sa, sa_size(sa->sa_family));
}

/* getsockname and getpeername: <a> into the caller's sockaddr. */
static int sa_out(const struct sockaddr_storage *a, struct sockaddr *sa, socklen_t *len)
{
        size_t n = sa_size(a->ss_family);

        if (n > *len)
                n = *len;
        memcpy(sa, a, n);
        *len = (socklen_t)n;
        return 0;
}

static void ephemeral(struct ssock *s, int family)
{
        uint16_t next = (uint16_t)(40000 + W.nsocks % 20000);

        if (s->bound)
                return;
        memset(&s->local, 0, sizeof(s->local));
        s->local.ss_family = (sa_family_t)family;
        if (family == AF_INET) {
                struct sockaddr_in *a = (void *)&s->local;
                a->sin_addr.s_addr = htonl(0x7f000000u | (1u + (unsigned)s->node));
                a->sin_port = htons(next);
        } else {
                ((struct sockaddr_in6 *)&s->local)->sin6_port = htons(next);
        }
        s->bound = true;
}

static void connect_done(void *a, uint64_t b)
{
        struct ssock *s = a;

        if (s->closed || !s->connecting)
                return;
        s->connecting = false;
        if (b) {
                s->so_error = (int)-(int64_t)b;
        } else {
                s->connected = true;
                if (s->tx_head || s->rc || s->wr_shut_pending)
                        kick(s);
        }
        ssock_notify(s);
}

/* The SYN arrives: a listener takes it, or the caller gets a refusal. */
static void syn_arrive(void *a, uint64_t b)
{
        struct ssock *s = a, *l, *p;

        (void)b;
        if (s->closed || !s->connecting)
                return;
        l = find_listener(&s->remote);
        if (!l) {
                sim_at(W.now + sim_net.local_lat_ms, connect_done, s, (uint64_t)ECONNREFUSED);
                return;
        }
        p = sk_new(l->node);
        p->kind = SK_CONN;
        p->local = l->local;
        p->bound = true;
        p->remote = s->local;
        p->connected = true;
        p->peer = s;
        s->peer = p;
        if (l->acc_tail)
                l->acc_tail->acc_next = p;
        else
                l->acc_head = p;
        l->acc_tail = p;
        ssock_notify(l);
        /* The SYN-ACK takes the way back. */
        sim_at(arrival(p), connect_done, s, 0);
}

static void start_connect(struct ssock *s, const struct sockaddr *sa)
{
        s->kind = SK_CONN;
        copy_sa(&s->remote, sa);
        ephemeral(s, sa->sa_family);
        s->connecting = true;
        uint64_t lat = sim_net.local_lat_ms;
        struct ssock *l = find_listener(&s->remote);
        if (l && far_path(s->node, l->node)) {
                lat = sim_net.lat_min_ms + sim_below(sim_net.lat_max_ms - sim_net.lat_min_ms + 1);
                if (W.partition_until > W.now)
                        lat += W.partition_until - W.now;
        }
        sim_at(W.now + lat, syn_arrive, s, 0);
}

struct ssock *ssock_listen(enum sim_node node, const struct sockaddr *sa, ssock_fn on_accept,
                           void *ud)
{
        struct ssock *s = sk_new(node);

        s->kind = SK_LISTEN;
        copy_sa(&s->local, sa);
        s->bound = true;
        s->fn = on_accept;
        s->ud = ud;
        return s;
}

struct ssock *ssock_connect(enum sim_node node, const struct sockaddr *sa, ssock_fn on_event,
                            void *ud)
{
        struct ssock *s = sk_new(node);

        s->fn = on_event;
        s->ud = ud;
        start_connect(s, sa);
        return s;
}

struct ssock *ssock_accept(struct ssock *l)
{
        struct ssock *s = l->acc_head;

        if (!s)
                return NULL;
        l->acc_head = s->acc_next;
        if (!l->acc_head)
                l->acc_tail = NULL;
        s->acc_next = NULL;
        return s;
}

void sim_partition(uint64_t until)
{
        if (until > W.partition_until)
                W.partition_until = until;
}

unsigned sim_reset_transport(void)
{
        unsigned n = 0;

        for (struct ssock *s = W.all; s; s = s->all_next) {
                bool path = s->peer && ((s->node == NODE_CLIENT && (s->peer->node == NODE_EXIT ||
                                                                    s->peer->node == NODE_FWD)) ||
                                        (s->node == NODE_FWD && s->peer->node == NODE_EXIT));
                if (s->kind == SK_CONN && !s->closed && !s->err && path &&
                    (s->connected || s->connecting)) {
                        /* A middlebox resets both ends. */
                        if (!s->peer->closed && !s->peer->err)
                                sim_at(W.now + 1, rst_arrive, s->peer, 0);
                        sim_at(W.now + 1, rst_arrive, s, 0);
                        n++;
                }
        }
        return n;
}

void sim_node_crash(enum sim_node node)
{
        /* The kernel closes a dead process's sockets as close() would: what
         * it already took still goes, then FIN, or RST over unread bytes;
         * what the process had queued itself (a reactor's queue) is lost. */
        for (struct ssock *s = W.all; s; s = s->all_next) {
                if (s->node != node || s->closed)
                        continue;
                s->rc = NULL;
                s->fn = NULL;
                ssock_close(s);
        }
}

/* ---- the runtime's socket calls ---- */

int socket(int domain, int type, int protocol)
{
        (void)type;
        (void)protocol;
        if (domain != AF_INET && domain != AF_INET6) {
                errno = EAFNOSUPPORT;
                return -1;
        }
        struct ssock *s = sk_new(W.cur_node);
        s->local.ss_family = (sa_family_t)domain;
        return s->fd;
}

int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
        struct ssock *s = ssock_by_fd(fd);

        (void)len;
        if (!s) {
                errno = EBADF;
                return -1;
        }
        copy_sa(&s->local, sa);
        s->bound = true;
        return 0;
}

int listen(int fd, int backlog)
{
        struct ssock *s = ssock_by_fd(fd);

        (void)backlog;
        if (!s) {
                errno = EBADF;
                return -1;
        }
        if (find_listener(&s->local)) {
                errno = EADDRINUSE;
                return -1;
        }
        s->kind = SK_LISTEN;
        return 0;
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
        struct ssock *s = ssock_by_fd(fd);

        (void)len;
        if (!s) {
                errno = EBADF;
                return -1;
        }
        start_connect(s, sa);
        errno = EINPROGRESS;
        return -1;
}

int close(int fd)
{
        struct ssock *s = ssock_by_fd(fd);

        if (!s)
                return (int)syscall(SYS_close, fd);
        ssock_close(s);
        return 0;
}

int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
        struct ssock *s = ssock_by_fd(fd);

        if (!s) {
                errno = EBADF;
                return -1;
        }
        return sa_out(&s->local, sa, len);
}

int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
        struct ssock *s = ssock_by_fd(fd);

        if (!s || !s->connected) {
                errno = s ? ENOTCONN : EBADF;
                return -1;
        }
        return sa_out(&s->remote, sa, len);
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
        struct ssock *s = ssock_by_fd(fd);

        if (!s) {
                errno = EBADF;
                return -1;
        }
        if (level == SOL_SOCKET && name == SO_ERROR && *len >= sizeof(int)) {
                *(int *)val = s->so_error > 0 ? s->so_error : -s->so_error;
                s->so_error = 0;
                *len = sizeof(int);
                return 0;
        }
        memset(val, 0, *len);
        return 0;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
        struct ssock *s = ssock_by_fd(fd);

        if (!s) {
                errno = EBADF;
                return -1;
        }
        if (level == SOL_SOCKET && name == SO_LINGER && len >= sizeof(struct linger)) {
                const struct linger *lg = val;
                s->linger0 = lg->l_onoff && lg->l_linger == 0;
        }
        return 0;
}
