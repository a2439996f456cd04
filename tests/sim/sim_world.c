/* sim_world: one simulated world per seed, and the command that runs them.
 *
 * A world is an exit and a client (the real ones, on sim_reactor), apps
 * that connect through the client's SOCKS5 port, targets behind the exit,
 * and faults, all drawn from the seed. Every app session carries a header
 * (its stream key and lengths) and then keyed streams both ways
 * (core/stream_gen), so each byte is checked where it lands:
 *   I1  what arrives is a prefix of what was sent (checked on every read);
 *   I2  a stream cut short never ends with a clean FIN (checked at EOF);
 *   I3  FIN only after every byte (the same check, both directions);
 *   I4  a target never sees the same session twice (replays, retries);
 *   liveness: once the faults stop, every session ends within a bound (a
 *       few round trips plus the largest backoff), and with no faults at all
 *       sessions end within LIVE_MS of their start. The client's heartbeat
 *       is 60 s, longer than a run, so a byte or an ACK that waits for it
 *       is a session that never ends. No session may end with a reset where
 *       no fault could explain it; the client never exits.
 * A failing seed prints the command that replays it and the end of its
 * trace (the runtime's log and the world's own lines, on the sim clock).
 */
#include "tests/sim/sim.h"

#include "core/aead.h"
#include "core/config.h"
#include "core/frame.h"
#include "core/log.h"
#include "core/reactor.h"
#include "core/stream_gen.h"
#include "exit/server.h"
#include "tools/client.h"
#include "tools/forwarder.h"
#include "transport/ws_frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <execinfo.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define MAX_APPS     24
#define HDR_LEN      24
#define HDR_MAGIC    0x75726c7973696d31ull /* "urlysim1" */
#define TARGET_PORT  7000
#define REFUSED_PORT 7001
#define EXIT_PORT    8080
#define SOCKS_PORT   1080
#define LIVE_MS      10000 /* a session with no fault around it ends within this */
#define SETTLE_MS    12000 /* after the last fault: backoff cap + a few round trips */
#define MAX_RECORDED 64

enum app_state { A_IDLE, A_GREET, A_CONNECT, A_RELAY, A_DONE };

struct app {
        int id;
        enum app_state st;
        struct ssock *s;
        uint64_t key, start_ms, end_ms;
        uint32_t up_len, down_len;
        uint64_t up_sent, down_got;
        bool refused_target, slow_target, aborts, reply_after, echo, stall, half_close, ended_reset,
            got_eof, saw_refusal;
        uint8_t in[16];
        size_t in_n;
        uint64_t abort_at;
        unsigned tconns; /* upstream connections the targets saw for it */
        unsigned retries;
        bool wake_pending;
        bool tdone;    /* the target saw the whole upload and its FIN */
        bool treset;   /* the target's connection was reset */
        uint64_t tgot; /* upload bytes the target got then */
};

struct tconn {
        struct tconn *next;
        struct ssock *s;
        struct app *app;
        uint8_t hdr[HDR_LEN];
        size_t hdr_n;
        uint64_t got, sent;
        bool eof, finished, wake_pending, shut;
        uint64_t next_read;
        bool slow;
};

struct recorded {
        uint8_t *p;
        size_t n;
        struct ssock *from; /* the client's connection it went on */
        uint64_t end;       /* its end, as an offset of what that connection sent */
};

struct capture {
        struct ssock *from;
        uint8_t *buf;
        size_t n, cap;
        bool ws;        /* past the upgrade */
        uint64_t taken; /* bytes of the connection seen so far */
        int head_idx;   /* recorded upgrade request of this connection */
};

/* What the exit answered on a replayed connection. */
struct answer {
        uint8_t *buf;
        size_t n, cap;
        bool head_done;
        bool seen; /* the exit had read the original: this is a replay */
};

struct world {
        uint64_t seed;
        bool post, faults;
        unsigned grace_s, target_accepts, target_connects, window;
        size_t peak_client, peak_exit; /* data the muxes held, at most */
        bool optimistic;
        struct config_exit ecfg;
        struct config_client ccfg;
        uint8_t key[KEY_LEN];
        struct server *exit_srv;
        struct crt *client;
        struct fwd *fwd; /* urelay forwarder between client and exit (post only) */
        struct forwarder_conf fconf;
        bool via_fwd, text, fwd_faults;
        bool disruptive; /* a fault other than a replay happened */
        /* What the exit sent the client on WebSockets, to inject again. */
        struct s2c_cap {
                struct ssock *from; /* the exit's side */
                uint8_t *buf;
                size_t n, cap;
                bool head; /* past the 101 */
        } s2cs[8];
        unsigned ns2c;
        struct recorded s2cmsgs[MAX_RECORDED];
        unsigned ns2cmsgs;
        struct reactor *client_r;
        int client_code;
        bool client_gone;
        unsigned exit_gen, client_gen;
        struct app apps[MAX_APPS];
        unsigned napps;
        struct tconn *tconns;
        struct ssock *target_l;
        uint64_t fault_end, end_ms, last_disruption;
        char fail[512], stolen[160];
        /* the attacker */
        struct capture caps[32];
        unsigned ncaps;
        struct recorded heads[MAX_RECORDED], msgs[MAX_RECORDED];
        int msg_head[MAX_RECORDED];
        unsigned nheads, nmsgs;
        struct answer answers[64];
        unsigned nanswers;
        struct aead_keys keys;
        struct batch_opener s2c;
        uint8_t *scratch;
        char exit_args[16][64], client_args[28][64];
};

static struct world *w;
static char last_fail[512];

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *fmt, ...)
{
        va_list ap;

        if (w->fail[0])
                return;
        va_start(ap, fmt);
        vsnprintf(w->fail, sizeof(w->fail), fmt, ap);
        va_end(ap);
        sim_trace("FAIL: %s", w->fail);
}

static void sa_of(struct sockaddr_in *sa, uint32_t host, uint16_t port)
{
        memset(sa, 0, sizeof(*sa));
        sa->sin_family = AF_INET;
        sa->sin_addr.s_addr = htonl(host);
        sa->sin_port = htons(port);
}

#define IP_CLIENT 0x7f000001u
#define IP_EXIT   0x7f000002u
#define IP_TARGET 0x7f000003u

/* ---- processes ---- */

static int argv_of(char (*store)[64], size_t n, const char **out, const char *first, ...)
{
        va_list ap;
        int argc = 0;
        const char *a = first;

        va_start(ap, first);
        while (a && (size_t)argc < n) {
                snprintf(store[argc], 64, "%s", a);
                out[argc] = store[argc];
                argc++;
                a = va_arg(ap, const char *);
        }
        va_end(ap);
        return argc;
}

/* A process of <node>: its reactor, and its socket() calls, are that
 * node's. */
static struct reactor *node_reactor(enum sim_node node)
{
        struct reactor *r;

        sim_set_current_node(node);
        if (reactor_new(&r, NULL, NULL, 0) < 0)
                abort();
        sim_reactor_set_node(r, node);
        return r;
}

static void exit_start(void)
{
        struct reactor *r = node_reactor(NODE_EXIT);
        const uint8_t(*keys)[KEY_LEN] = (const uint8_t(*)[KEY_LEN])w->key;
        if (exit_server_open(&w->exit_srv, r, &w->ecfg, keys, 1) != 0) {
                failf("the exit did not start");
                exit_server_close(w->exit_srv);
                w->exit_srv = NULL;
                return;
        }
        w->exit_gen++;
        sim_trace("exit: up (run %u)", w->exit_gen);
}

static void exit_stop(bool crash)
{
        if (!w->exit_srv)
                return;
        sim_set_current_node(NODE_EXIT);
        if (crash)
                sim_node_crash(NODE_EXIT);
        exit_server_close(w->exit_srv);
        w->exit_srv = NULL;
        sim_trace("exit: %s", crash ? "killed" : "stopped");
}

static void fwd_start(void)
{
        struct reactor *r = node_reactor(NODE_FWD);
        if (forwarder_open(&w->fwd, r, &w->fconf) != 0) {
                failf("the forwarder did not start");
                forwarder_close(w->fwd);
                w->fwd = NULL;
        }
}

static void client_start(void)
{
        struct reactor *r = node_reactor(NODE_CLIENT);
        int code = client_open(&w->client, r, &w->ccfg, w->key, NULL);
        if (code != 0) {
                failf("the client did not start (exit code %d)", code);
                client_close(w->client);
                w->client = NULL;
                return;
        }
        w->client_r = r;
        w->client_gen++;
        sim_trace("client: up (run %u)", w->client_gen);
}

static void client_stop(bool crash)
{
        if (!w->client)
                return;
        sim_set_current_node(NODE_CLIENT);
        if (crash)
                sim_node_crash(NODE_CLIENT);
        int code = client_close(w->client);
        w->client = NULL;
        w->client_r = NULL;
        sim_trace("client: %s (code %d)", crash ? "killed" : "stopped", code);
}

/* ---- targets ---- */

static void tconn_event(struct ssock *s, void *ud);

static void target_accept(struct ssock *l, void *ud)
{
        struct ssock *s;

        (void)ud;
        while ((s = ssock_accept(l))) {
                /* One upstream connection per session, ever (BRIEF §3: a
                 * replayed or retried batch never opens a second one). */
                if (++w->target_accepts > w->target_connects)
                        failf("I4: the target got %u connections for %u sessions: a batch "
                              "opened a second upstream connection",
                              w->target_accepts, w->target_connects);
                struct tconn *t = calloc(1, sizeof(*t));
                if (!t)
                        abort();
                t->s = s;
                t->next = w->tconns;
                w->tconns = t;
                ssock_set_owner(s, tconn_event, t);
                ssock_notify(s);
        }
}

static void tconn_wake(void *a, uint64_t b)
{
        struct tconn *t = a;

        (void)b;
        t->wake_pending = false;
        if (!t->finished)
                tconn_event(t->s, t);
}

/* One pending wake-up at most per target connection. */
static void tconn_wake_at(struct tconn *t, uint64_t at)
{
        if (t->wake_pending)
                return;
        t->wake_pending = true;
        sim_at(at, tconn_wake, t, 0);
}

/* The stream the target sends: its own, or back what it got (echo). */
static uint64_t down_key(const struct app *a)
{
        return a->echo ? a->key : a->key ^ 0xd0d0;
}

static void tconn_write_some(struct tconn *t)
{
        uint8_t buf[16384];
        struct app *a = t->app;
        /* An echo sends back what it got so far, no more. */
        uint64_t until = a->echo ? t->got : a->down_len;

        if (a->stall)
                return; /* neither reads nor writes */

        /* A server that answers once the request is in (HTTP, iperf3's
         * results) writes nothing before. */
        if (a->reply_after && t->got < a->up_len)
                return;
        /* Keep about 64 KiB queued: a target writes as fast as it may. */
        while (t->sent < until && ssock_unsent(t->s) < 65536) {
                size_t n = until - t->sent < sizeof(buf) ? until - t->sent : sizeof(buf);
                stream_gen_fill(down_key(a), t->sent, buf, n);
                ssock_write(t->s, buf, n);
                t->sent += n;
        }
        if (t->sent == a->down_len) {
                ssock_shutdown(t->s);
                t->shut = true;
        } else
                tconn_wake_at(t, sim_now() + 5);
}

static void tconn_event(struct ssock *s, void *ud)
{
        struct tconn *t = ud;
        uint8_t buf[16384];
        bool eof;
        int err;

        if (t->finished)
                return;
        if ((err = ssock_error(s)) != 0) {
                t->finished = true;
                if (t->app) {
                        t->app->treset = true;
                        t->app->tgot = t->got;
                }
                sim_trace("target: session %d reset after %llu of %u bytes up",
                          t->app ? t->app->id : -1, (unsigned long long)t->got,
                          t->app ? t->app->up_len : 0);
                ssock_close(s);
                return;
        }
        if (t->slow && sim_now() < t->next_read) {
                tconn_wake_at(t, t->next_read);
                return;
        }
        size_t cap = t->slow ? 2048 : sizeof(buf);
        size_t n = ssock_read(s, buf, cap, &eof);
        size_t off = 0;
        if (t->slow)
                t->next_read = sim_now() + 20;
        while (off < n && t->hdr_n < HDR_LEN)
                t->hdr[t->hdr_n++] = buf[off++];
        if (!t->app && t->hdr_n == HDR_LEN) {
                uint64_t magic, key;
                memcpy(&magic, t->hdr, 8);
                memcpy(&key, t->hdr + 8, 8);
                unsigned id = (unsigned)(key & 0xff);
                if (magic != HDR_MAGIC || id >= w->napps || w->apps[id].key != key) {
                        failf("I1: a target got a header that no app sent");
                        t->finished = true;
                        return;
                }
                t->app = &w->apps[id];
                t->slow = t->app->slow_target;
                if (++t->app->tconns > 1)
                        failf("I4: the target saw session %u a second time (%u connections)", id,
                              t->app->tconns);
                tconn_write_some(t);
        }
        if (t->app && t->app->stall)
                return; /* it reads no more: the window fills, the app gives up */
        if (t->app && off < n) {
                uint64_t bad;
                size_t k = n - off;
                if (t->got + k > t->app->up_len ||
                    stream_gen_check(t->app->key, t->got, buf + off, k, &bad) != 0) {
                        failf("I1: session %d: the target got a wrong byte at upload offset %llu",
                              t->app->id,
                              (unsigned long long)(t->got + k > t->app->up_len ? t->app->up_len
                                                                               : t->got + bad));
                        t->finished = true;
                        return;
                }
                t->got += k;
        }
        if (eof && !t->eof) {
                t->eof = true;
                if (!t->app || t->got < t->app->up_len) {
                        failf("I2: session %d: the target saw a clean FIN after %llu of %u "
                              "upload bytes",
                              t->app ? t->app->id : -1, (unsigned long long)t->got,
                              t->app ? t->app->up_len : 0);
                        t->finished = true;
                        return;
                }
                t->app->tdone = true;
        }
        if (t->app && !t->shut)
                tconn_write_some(t);
        if (t->eof && t->app && t->sent == t->app->down_len && !ssock_unsent(s)) {
                t->finished = true;
                ssock_close(s);
                return;
        }
        if (t->eof && !t->finished)
                tconn_wake_at(t, sim_now() + 5);
        if (n)
                ssock_notify(s);
}

/* ---- apps ---- */

static void app_event(struct ssock *s, void *ud);

static bool fault_near(uint64_t from, uint64_t to)
{
        if (w->fwd_faults)
                return true; /* the forwarder's faults go on all run long */
        return w->last_disruption && w->last_disruption + 1 >= from &&
               (to == 0 || w->last_disruption <= to + SETTLE_MS);
}

static void app_end(struct app *a, bool reset, const char *why)
{
        if (a->st == A_DONE)
                return;
        a->st = A_DONE;
        a->end_ms = sim_now();
        a->ended_reset = reset;
        sim_trace("app %d: %s after %llu ms (%llu/%u up, %llu/%u down)", a->id, why,
                  (unsigned long long)(a->end_ms - a->start_ms), (unsigned long long)a->up_sent,
                  a->up_len, (unsigned long long)a->down_got, a->down_len);
        /* A replay must not reset anything (BRIEF §3): only the faults
         * that cut a path, a process or an answer explain a reset. */
        if (reset && !a->aborts && !a->refused_target && !w->disruptive)
                failf("session %d ended with a reset (%s) and no fault to explain it", a->id, why);
        if (a->s) {
                if (reset)
                        ssock_abort(a->s);
                else
                        ssock_close(a->s);
        }
}

static void app_write_some(struct app *a)
{
        uint8_t buf[16384];

        while (a->up_sent < a->up_len && ssock_unsent(a->s) < 65536) {
                size_t n =
                    a->up_len - a->up_sent < sizeof(buf) ? a->up_len - a->up_sent : sizeof(buf);
                stream_gen_fill(a->key, a->up_sent, buf, n);
                ssock_write(a->s, buf, n);
                a->up_sent += n;
        }
        if (a->up_sent == a->up_len && a->half_close)
                ssock_shutdown(a->s);
}

static void app_wake(void *ap, uint64_t b)
{
        struct app *a = ap;

        (void)b;
        a->wake_pending = false;
        if (a->st == A_RELAY)
                app_event(a->s, a);
}

static void app_wake_at(struct app *a, uint64_t at)
{
        if (a->wake_pending)
                return;
        a->wake_pending = true;
        sim_at(at, app_wake, a, 0);
}

static void app_abort(void *ap, uint64_t b)
{
        struct app *a = ap;

        (void)b;
        if (a->st != A_DONE && a->st != A_IDLE)
                app_end(a, true, "aborted by the app");
}

static void app_start(void *ap, uint64_t b)
{
        struct app *a = ap;
        struct sockaddr_in sa;

        if (!b)
                a->start_ms = sim_now();
        sa_of(&sa, IP_CLIENT, SOCKS_PORT);
        a->s = ssock_connect(NODE_APP, (struct sockaddr *)&sa, app_event, a);
        uint8_t greet[3] = {5, 1, 0};
        ssock_write(a->s, greet, sizeof(greet));
        a->st = A_GREET;
        if (b)
                return;
        sim_trace("app %d: connect (%u up, %u down%s%s%s%s%s%s)", a->id, a->up_len, a->down_len,
                  a->echo    ? ", echo target"
                  : a->stall ? ", stalled target"
                             : "",
                  a->reply_after ? ", answer after the request" : "",
                  a->refused_target ? ", refused target" : "",
                  a->slow_target ? ", slow target" : "", a->aborts ? ", aborts" : "", "");
        if (a->aborts)
                sim_at(sim_now() + a->abort_at, app_abort, a, 0);
}

static void app_event(struct ssock *s, void *ud)
{
        struct app *a = ud;
        uint8_t buf[16384];
        bool eof;
        int err;

        if (a->st == A_DONE || a->st == A_IDLE)
                return;
        if ((err = ssock_error(s)) != 0) {
                if (a->st == A_GREET && err == -ECONNREFUSED && a->retries < 100) {
                        /* The client is not listening yet (it listens once
                         * the tunnel is proven) or any more (restarting):
                         * try again, as a browser would. */
                        a->retries++;
                        a->st = A_IDLE;
                        ssock_close(s);
                        sim_at(sim_now() + 100, app_start, a, 1);
                        return;
                }
                app_end(a, true, err == -ECONNRESET ? "reset" : "connection failed");
                return;
        }
        size_t want = a->st == A_GREET ? 2 : a->st == A_CONNECT ? 10 : sizeof(buf);
        size_t n;
        if (a->st != A_RELAY) {
                n = ssock_read(s, a->in + a->in_n, want - a->in_n, &eof);
                a->in_n += n;
                if (eof && a->in_n < want) {
                        app_end(a, !a->refused_target, "SOCKS server closed");
                        return;
                }
                if (a->in_n < want)
                        return;
                a->in_n = 0;
                if (a->st == A_GREET) {
                        if (a->in[0] != 5 || a->in[1] != 0) {
                                failf("app %d: bad SOCKS greeting answer", a->id);
                                return;
                        }
                        uint8_t req[10] = {5, 1, 0, 1, 127, 0, 0, 3, 0, 0};
                        uint16_t port = a->refused_target ? REFUSED_PORT : TARGET_PORT;
                        req[8] = (uint8_t)(port >> 8);
                        req[9] = (uint8_t)port;
                        ssock_write(s, req, sizeof(req));
                        if (!a->refused_target)
                                w->target_connects++;
                        a->st = A_CONNECT;
                        return;
                }
                if (a->in[1] != 0) {
                        a->saw_refusal = true;
                        if (!a->refused_target && !w->disruptive)
                                failf("app %d: SOCKS reply %u with no fault to explain it", a->id,
                                      a->in[1]);
                        app_end(a, false, "SOCKS refused");
                        return;
                }
                if (a->refused_target && !w->optimistic) {
                        /* --optimistic answers at once; the refusal comes
                         * as a reset. */
                        failf("app %d: a CONNECT to a closed port succeeded", a->id);
                        return;
                }
                a->st = A_RELAY;
                uint8_t hdr[HDR_LEN];
                uint64_t magic = HDR_MAGIC;
                memcpy(hdr, &magic, 8);
                memcpy(hdr + 8, &a->key, 8);
                memcpy(hdr + 16, &a->up_len, 4);
                memcpy(hdr + 20, &a->down_len, 4);
                ssock_write(s, hdr, sizeof(hdr));
        }
        n = ssock_read(s, buf, sizeof(buf), &eof);
        if (n) {
                uint64_t bad;
                if (a->down_got + n > a->down_len ||
                    stream_gen_check(down_key(a), a->down_got, buf, n, &bad) != 0) {
                        failf("I1: session %d: the app got a wrong byte at download offset %llu",
                              a->id,
                              (unsigned long long)(a->down_got + n > a->down_len
                                                       ? a->down_len
                                                       : a->down_got + bad));
                        return;
                }
                a->down_got += n;
                ssock_notify(s);
        }
        if (eof) {
                if (a->down_got < a->down_len) {
                        failf("I2: session %d: the app saw a clean FIN after %llu of %u download "
                              "bytes",
                              a->id, (unsigned long long)a->down_got, a->down_len);
                        return;
                }
                if (!a->got_eof)
                        sim_trace("app %d: FIN from the relay after %llu bytes down", a->id,
                                  (unsigned long long)a->down_got);
                a->got_eof = true;
        }
        app_write_some(a);
        if (a->up_sent < a->up_len)
                app_wake_at(a, sim_now() + 5);
        if (a->got_eof && a->up_sent == a->up_len && (a->tdone || !a->half_close))
                app_end(a, false, "done");
        else if (a->got_eof && a->up_sent == a->up_len && a->half_close)
                app_wake_at(a, sim_now() + 50); /* wait for the target's view */
}

/* ---- the attacker: records what the client sends, replays it ---- */

static struct capture *cap_of(struct ssock *from)
{
        for (unsigned i = 0; i < w->ncaps; i++)
                if (w->caps[i].from == from)
                        return &w->caps[i];
        if (w->ncaps == sizeof(w->caps) / sizeof(w->caps[0]))
                return NULL;
        struct capture *c = &w->caps[w->ncaps++];
        memset(c, 0, sizeof(*c));
        c->from = from;
        c->head_idx = -1;
        return c;
}

static void record(struct recorded *r, unsigned *n, const uint8_t *p, size_t len)
{
        if (*n == MAX_RECORDED)
                return;
        r[*n].p = malloc(len);
        if (!r[*n].p)
                abort();
        memcpy(r[*n].p, p, len);
        r[*n].n = len;
        r[*n].from = NULL;
        (*n)++;
}

/* Where the message just recorded ended in its connection's stream, to
 * tell later whether the exit ever read it. */
static void note_origin(struct capture *c, size_t used)
{
        struct recorded *r;

        if (!w->nmsgs)
                return;
        r = &w->msgs[w->nmsgs - 1];
        if (r->from)
                return;
        r->from = c->from;
        r->end = c->taken - c->n + used;
}

static size_t head_len(const uint8_t *p, size_t n)
{
        for (size_t i = 3; i < n; i++)
                if (p[i - 3] == '\r' && p[i - 2] == '\n' && p[i - 1] == '\r' && p[i] == '\n')
                        return i + 1;
        return 0;
}

/* The whole HTTP message at p[0, n): its length (head, then a
 * Content-Length body), and its head's in *head; 0 while incomplete. */
static size_t http_whole(const uint8_t *p, size_t n, size_t *head)
{
        size_t h = head_len(p, n);

        if (!h)
                return 0;
        const char *cl = memmem(p, h, "Content-Length:", 15);
        size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
        *head = h;
        return n < h + body ? 0 : h + body;
}

/* The whole WebSocket frame at p[0, n) (transport/ws_frame parses its
 * header): its length, with the header's in f->hlen; 0 while incomplete. */
static size_t ws_whole(const uint8_t *p, size_t n, struct ws_frame *f)
{
        if (!ws_frame_parse(p, n, f) || n - f->hlen < f->len)
                return 0;
        return f->hlen + (size_t)f->len;
}

/* Appends p[0, len) to a growing buffer; false, with nothing added, past
 * <max> bytes. */
static bool buf_add(uint8_t **buf, size_t *n, size_t *cap, const uint8_t *p, size_t len, size_t max)
{
        if (*n + len > *cap) {
                size_t want = (*n + len) * 2;
                if (want > max)
                        return false;
                *buf = realloc(*buf, want);
                if (!*buf)
                        abort();
                *cap = want;
        }
        memcpy(*buf + *n, p, len);
        *n += len;
        return true;
}

/* Drops the first <used> bytes of a buffer. */
static void buf_drop(uint8_t *buf, size_t *n, size_t used)
{
        memmove(buf, buf + used, *n - used);
        *n -= used;
}

/* Cuts whole HTTP requests (POST) or WebSocket frames from c->buf. */
static void cap_parse(struct capture *c)
{
        struct ws_frame f;
        size_t used, h;

        for (;;) {
                if (!c->ws) {
                        if (!(used = http_whole(c->buf, c->n, &h)))
                                return;
                        if (!w->post) {
                                c->head_idx = (int)w->nheads;
                                record(w->heads, &w->nheads, c->buf, used);
                                c->ws = true;
                        } else {
                                w->msg_head[w->nmsgs < MAX_RECORDED ? w->nmsgs : 0] = -1;
                                record(w->msgs, &w->nmsgs, c->buf, used);
                                note_origin(c, used);
                        }
                } else {
                        if (!(used = ws_whole(c->buf, c->n, &f)))
                                return;
                        if (f.opcode == WS_OP_BINARY && c->head_idx >= 0) {
                                w->msg_head[w->nmsgs < MAX_RECORDED ? w->nmsgs : 0] = c->head_idx;
                                record(w->msgs, &w->nmsgs, c->buf, used);
                                note_origin(c, used);
                        }
                }
                buf_drop(c->buf, &c->n, used);
        }
}

static void tap(struct ssock *from, const uint8_t *p, size_t n, void *ud)
{
        struct capture *c = cap_of(from);

        (void)ud;
        if (!c || !buf_add(&c->buf, &c->n, &c->cap, p, n, 4u << 20))
                return; /* past 4 MiB unparsed: given up on */
        c->taken += n;
        cap_parse(c);
}

/* A batch the exit handed the attacker: it must carry nothing meant for
 * the client (BRIEF §3: a replay never earns a link the client's data). */
static void check_stolen(const struct answer *a, const uint8_t *p, size_t n)
{
        struct batch_meta meta;
        const uint8_t *frames;
        size_t len;
        struct frame_iter it;
        struct frame f;
        unsigned data = 0;

        if (batch_open(&w->s2c, p, n, w->scratch, BATCH_MAX, &meta, &frames, &len) < 0)
                return;
        frame_iter_init(&it, frames, len);
        while (frame_next(&it, &f) == 1)
                data += f.type != FRAME_PING && f.type != FRAME_CHALLENGE;
        /* Noted, and the run goes on: what the theft leads to (a stall, a
         * second delivery) is worth seeing too. */
        /* A batch the exit never got from the client (its connection was
         * reset under it) is delivered for the first time by the replay:
         * no duplicate, and the client's resend recovers what went to the
         * attacker's connection. Only a real replay must earn nothing. */
        if (data && a->seen && !w->stolen[0]) {
                snprintf(w->stolen, sizeof(w->stolen),
                         "replay: the exit handed a replayed %s %u session frame%s meant for the "
                         "client",
                         w->post ? "request" : "WebSocket", data, data == 1 ? "" : "s");
                sim_trace("%s", w->stolen);
        }
}

/* Cuts the exit's answers (HTTP bodies, or WebSocket frames after the
 * 101) out of what the attacker received. */
static void answer_parse(struct answer *a)
{
        struct ws_frame f;
        size_t used, h;

        for (;;) {
                if (!a->head_done || w->post) {
                        if (!(used = http_whole(a->buf, a->n, &h)))
                                return;
                        if (w->post && used > h)
                                check_stolen(a, a->buf + h, used - h);
                        a->head_done = true;
                } else {
                        if (!(used = ws_whole(a->buf, a->n, &f)))
                                return;
                        if (f.opcode == WS_OP_BINARY)
                                check_stolen(a, a->buf + f.hlen, (size_t)f.len);
                }
                buf_drop(a->buf, &a->n, used);
        }
}

static void attacker_event(struct ssock *s, void *ud)
{
        struct answer *a = ud;
        uint8_t buf[16384];
        size_t n;
        bool eof;

        while ((n = ssock_read(s, buf, sizeof(buf), &eof))) {
                if (a && buf_add(&a->buf, &a->n, &a->cap, buf, n, SIZE_MAX / 4))
                        answer_parse(a);
        }
        if (eof || ssock_error(s))
                ssock_close(s);
}

static void replay(void *a, uint64_t b)
{
        struct sockaddr_in sa;

        (void)a;
        (void)b;
        if (!w->nmsgs)
                return;
        unsigned i = (unsigned)sim_below(w->nmsgs);
        sa_of(&sa, IP_EXIT, EXIT_PORT);
        struct answer *ans = NULL;
        if (w->nanswers < sizeof(w->answers) / sizeof(w->answers[0])) {
                ans = &w->answers[w->nanswers++];
                ans->seen = w->msgs[i].from && ssock_peer_read(w->msgs[i].from) >= w->msgs[i].end;
        }
        struct ssock *s = ssock_connect(NODE_ATTACKER, (struct sockaddr *)&sa, attacker_event, ans);
        if (!w->post) {
                int h = w->msg_head[i];
                if (h < 0)
                        return;
                ssock_write(s, w->heads[h].p, w->heads[h].n);
        }
        ssock_write(s, w->msgs[i].p, w->msgs[i].n);
        w->last_disruption = sim_now();
        sim_trace("attacker: replays recorded %s %u (%zu bytes, %s) on a new connection",
                  w->post ? "request" : "message", i, w->msgs[i].n,
                  ans && ans->seen ? "the exit had it" : "never reached the exit");
}

/* ---- memory ---- */

/* Flow control bounds what a session holds at either end: at most the
 * window each way. Checked every 100 ms of the run. */
static void memory_check(void *a, uint64_t b)
{
        size_t total, most, bound = 2 * (size_t)w->window;

        (void)a;
        (void)b;
        if (w->fail[0])
                return;
        sim_peek_client(w->client, &total, &most);
        if (most > bound)
                failf("memory: a client session holds %zu bytes, over twice the window (%zu)", most,
                      bound);
        if (total > w->peak_client)
                w->peak_client = total;
        sim_peek_exit(w->exit_srv, &total, &most);
        if (most > bound)
                failf("memory: an exit session holds %zu bytes, over twice the window (%zu)", most,
                      bound);
        if (total > w->peak_exit)
                w->peak_exit = total;
        sim_at(sim_now() + 100, memory_check, NULL, 0);
}

/* ---- the attacker, on the client's own WebSocket ---- */

/* Records whole WebSocket messages the exit sends the client. */
static void s2c_tap(struct ssock *from, const uint8_t *p, size_t n, void *ud)
{
        struct s2c_cap *c = NULL;

        (void)ud;
        for (unsigned i = 0; i < w->ns2c && !c; i++)
                if (w->s2cs[i].from == from)
                        c = &w->s2cs[i];
        if (!c) {
                if (w->ns2c == sizeof(w->s2cs) / sizeof(w->s2cs[0]))
                        return;
                c = &w->s2cs[w->ns2c++];
                memset(c, 0, sizeof(*c));
                c->from = from;
        }
        struct ws_frame f;
        size_t used, h;

        if (!buf_add(&c->buf, &c->n, &c->cap, p, n, 4u << 20))
                return;
        for (;;) {
                if (!c->head) {
                        if (!(used = http_whole(c->buf, c->n, &h)))
                                return;
                        c->head = true;
                } else {
                        if (!(used = ws_whole(c->buf, c->n, &f)))
                                return;
                        if (f.opcode == WS_OP_BINARY)
                                record(w->s2cmsgs, &w->ns2cmsgs, c->buf, used);
                }
                buf_drop(c->buf, &c->n, used);
        }
}

/* Puts a recorded message into a live WebSocket between client and exit,
 * at a frame boundary, either way: a client's message to the exit again,
 * or an exit's message to the client again. Neither may change anything. */
static void inject(void)
{
        bool up = sim_chance(50);

        if (up) {
                for (unsigned i = 0; i < w->ncaps; i++) {
                        struct capture *c = &w->caps[i];
                        if (!c->ws || c->n || ssock_closed(c->from) || !w->nmsgs)
                                continue;
                        const struct recorded *m = &w->msgs[sim_below(w->nmsgs)];
                        ssock_inject(c->from, m->p, m->n);
                        sim_trace("attacker: injects a recorded client message (%zu bytes) into "
                                  "the client's WebSocket",
                                  m->n);
                        return;
                }
                return;
        }
        for (unsigned i = 0; i < w->ns2c; i++) {
                struct s2c_cap *c = &w->s2cs[i];
                if (!c->head || c->n || ssock_closed(c->from) || !w->ns2cmsgs)
                        continue;
                const struct recorded *m = &w->s2cmsgs[sim_below(w->ns2cmsgs)];
                ssock_inject(c->from, m->p, m->n);
                sim_trace("attacker: injects a recorded exit message (%zu bytes) into the client's "
                          "WebSocket",
                          m->n);
                return;
        }
}

/* ---- faults ---- */

enum fault {
        F_PARTITION,
        F_RESET,
        F_EXIT_RESTART,
        F_EXIT_KILL,
        F_CLIENT_RESTART,
        F_REPLAY,
        F_FORWARDER, /* the forwarder's own: lost and cut answers, 429s (not drawn as events) */
        F_INJECT,    /* a recorded message put into a live WebSocket, either way */
};

static const char *const fault_names[] = {"partition",      "reset",  "exit-restart", "exit-kill",
                                          "client-restart", "replay", "forwarder",    "inject"};
#define FAULTS_ALL 0x7fu /* all but inject, which is asked for by name */
static unsigned fault_mask = FAULTS_ALL;

static void fault(void *a, uint64_t kind)
{
        (void)a;
        if (w->fail[0])
                return;
        w->last_disruption = sim_now();
        if (kind != F_REPLAY && kind != F_INJECT)
                w->disruptive = true;
        switch ((enum fault)kind) {
        case F_PARTITION: {
                uint64_t len = 200 + sim_below(4000);
                sim_trace("fault: partition for %llu ms", (unsigned long long)len);
                sim_partition(sim_now() + len);
                w->last_disruption = sim_now() + len;
                break;
        }
        case F_RESET:
                sim_trace("fault: %u transport connections reset", sim_reset_transport());
                break;
        case F_EXIT_RESTART:
        case F_EXIT_KILL:
                exit_stop(kind == F_EXIT_KILL);
                exit_start();
                break;
        case F_CLIENT_RESTART:
                client_stop(sim_chance(50));
                client_start();
                if (fault_mask & (1u << F_REPLAY)) {
                        /* The old client's batches, replayed once the exit
                         * may have forgotten its instance (after the grace),
                         * still inside the batches' time window. */
                        uint64_t at = sim_now() + w->grace_s * 1000 + 200 + sim_below(5000);
                        sim_at(at, replay, NULL, 0);
                        if (at > w->fault_end) {
                                w->fault_end = at;
                                w->end_ms = at + SETTLE_MS + LIVE_MS;
                        }
                }
                break;
        case F_REPLAY:
                replay(NULL, 0);
                break;
        case F_FORWARDER:
                break; /* set up with the forwarder, not an event */
        case F_INJECT:
                inject();
                break;
        }
}

/* ---- a world from a seed ---- */

static const char *const transports[] = {"ws", "post"};

static void build(uint64_t seed, int want_post, int want_faults)
{
        const char *eargv[16], *cargv[28];
        char err[512], url[128], win[16], grace[16], lp[16], workers[8];
        struct config_cmdline cl;

        w->seed = seed;
        w->post = want_post >= 0 ? want_post : sim_chance(50);
        w->faults = want_faults >= 0 ? want_faults : sim_chance(70);
        for (size_t i = 0; i < KEY_LEN; i++)
                w->key[i] = (uint8_t)sim_rand();
        w->scratch = malloc(BATCH_MAX);
        if (!w->scratch || aead_keys_derive(&w->keys, w->key) < 0 ||
            batch_opener_init(&w->s2c, &w->keys, AEAD_S2C) < 0)
                abort();
        sim_net.lat_min_ms = 1 + (unsigned)sim_below(20);
        sim_net.lat_max_ms = sim_net.lat_min_ms + (unsigned)sim_below(60);
        sim_net.sockbuf = (size_t)(16 + sim_below(240)) * 1024;
        static const unsigned windows[] = {65536, 131072, 262144};
        w->window = windows[sim_below(3)];
        snprintf(win, sizeof(win), "%u", w->window);
        static const unsigned graces[] = {3, 10, 30};
        w->grace_s = graces[sim_below(3)];
        snprintf(grace, sizeof(grace), "%u", w->grace_s);
        snprintf(lp, sizeof(lp), "%u", 2 + (unsigned)sim_below(20));
        snprintf(workers, sizeof(workers), "%u", 1 + (unsigned)sim_below(4));
        w->optimistic = sim_chance(30);
        snprintf(url, sizeof(url), "%s://127.0.0.2:%u/%s", w->post ? "http" : "ws", EXIT_PORT,
                 w->post ? "tunnel" : "stream");

        /* POST through the Apps Script stand-in (302 -> GET, maybe text),
         * with its faults when drawn. */
        w->via_fwd = w->post && sim_chance(35);
        if (w->via_fwd) {
                char ferr[128];
                forwarder_conf_init(&w->fconf);
                if (netaddr_parse("127.0.0.4:9000", &w->fconf.listen, ferr, sizeof(ferr)) < 0 ||
                    netaddr_url_parse("http://127.0.0.2:8080/tunnel", &w->fconf.exits[0], ferr,
                                      sizeof(ferr)) < 0)
                        abort();
                w->fconf.nexits = 1;
                w->fconf.latency_ms = (unsigned)sim_below(30);
                w->fconf.jitter_ms = (unsigned)sim_below(20);
                w->fconf.retry_after = 1;
                w->text = sim_chance(50);
                if (w->faults && (fault_mask & (1u << F_FORWARDER)) && sim_chance(60)) {
                        w->fwd_faults = true;
                        w->fconf.fail_every = sim_chance(60) ? 4 + sim_below(20) : 0;
                        w->fconf.truncate_every = sim_chance(40) ? 4 + sim_below(20) : 0;
                        w->fconf.rate_every = sim_chance(40) ? 6 + sim_below(30) : 0;
                }
                snprintf(url, sizeof(url), "http://127.0.0.4:9000/exec");
        }

        int ec = argv_of(w->exit_args, 16, eargv, "exit", "--listen", "127.0.0.2:8080",
                         "--key-file", "sim.key", "--allow-dest", "127.0.0.0/8", "--window", win,
                         "--grace", grace, "--long-poll", lp, NULL);
        if (config_exit_load(ec, (char **)eargv, &w->ecfg, &cl, err, sizeof(err)) != 0) {
                failf("exit config: %s", err);
                return;
        }
        int cc =
            argv_of(w->client_args, 28, cargv, "client", "--socks", "127.0.0.1:1080", "--key-file",
                    "sim.key", "-e", url, "--window", win, "--state-file", "", "--reconnect-delay",
                    "100", "--max-reconnect-delay", "2", "--workers", workers, "--hold-sessions",
                    "60", "--heartbeat", "60", "--heartbeat-timeout", "120",
                    w->optimistic ? "--optimistic" : "--no-optimistic",
                    w->text ? "--text" : "--no-text", NULL);
        if (config_client_load(cc, (char **)cargv, &w->ccfg, &cl, err, sizeof(err)) != 0) {
                failf("client config: %s", err);
                return;
        }

        struct sockaddr_in sa;
        sa_of(&sa, IP_TARGET, TARGET_PORT);
        w->target_l = ssock_listen(NODE_TARGET, (struct sockaddr *)&sa, target_accept, NULL);

        w->napps = 2 + (unsigned)sim_below(MAX_APPS - 2);
        for (unsigned i = 0; i < w->napps; i++) {
                struct app *a = &w->apps[i];
                static const uint32_t sizes[] = {0, 1, 700, 5000, 40000, 150000, 600000};
                a->id = (int)i;
                a->key = (sim_rand() & ~0xffull) | i;
                a->up_len = sizes[sim_below(7)];
                a->down_len = sizes[sim_below(7)];
                a->half_close = sim_chance(70);
                a->refused_target = sim_chance(5);
                a->slow_target = sim_chance(15);
                a->aborts = sim_chance(5);
                a->reply_after = sim_chance(50);
                a->abort_at = 1 + sim_below(3000);
                /* Echo targets send back what they get; stalled ones read
                 * nothing after the header, and their app gives up. */
                a->echo = !a->refused_target && sim_chance(10);
                if (a->echo) {
                        a->down_len = a->up_len;
                        a->reply_after = false;
                }
                a->stall = !a->refused_target && !a->echo && sim_chance(4);
                if (a->stall) {
                        a->aborts = true;
                        a->abort_at = 2000 + sim_below(4000);
                }
                sim_at(sim_below(8000), app_start, a, 0);
        }
        w->fault_end = 0;
        if (w->faults) {
                static const enum fault kinds[] = {F_PARTITION,    F_RESET,     F_RESET,
                                                   F_EXIT_RESTART, F_EXIT_KILL, F_CLIENT_RESTART,
                                                   F_REPLAY,       F_REPLAY,    F_REPLAY};
                /* Injection into a live link only when asked for by name
                 * (--faults inject,...): it has its own run in the suite. */
                static const enum fault inject_kinds[] = {F_REPLAY, F_INJECT, F_INJECT};
                bool inj = fault_mask & (1u << F_INJECT);
                const enum fault *pick = inj ? inject_kinds : kinds;
                size_t npick = inj ? 3 : sizeof(kinds) / sizeof(kinds[0]);
                /* Events only of the kinds asked for (--faults forwarder
                 * alone asks for none). */
                bool any = false;
                for (size_t i = 0; i < npick; i++)
                        any |= (fault_mask & (1u << pick[i])) != 0;
                unsigned n = any ? 1 + (unsigned)sim_below(5) : 0;
                for (unsigned i = 0; i < n; i++) {
                        uint64_t at = 300 + sim_below(12000);
                        enum fault k;
                        do
                                k = pick[sim_below(npick)];
                        while (!(fault_mask & (1u << k)));
                        sim_at(at, fault, NULL, k);
                        if (at > w->fault_end)
                                w->fault_end = at;
                        if (k == F_PARTITION && at + 4200 > w->fault_end)
                                w->fault_end = at + 4200;
                }
                sim_set_tap(NODE_CLIENT, NODE_EXIT, tap, NULL);
                sim_set_tap(NODE_FWD, NODE_EXIT, tap, NULL); /* what the forwarder sends on */
                if (!w->post)
                        sim_set_tap(NODE_EXIT, NODE_CLIENT, s2c_tap, NULL);
        }
        w->end_ms = (w->fault_end > 8000 ? w->fault_end : 8000) + SETTLE_MS + LIVE_MS;
        sim_trace("world: seed %llu, %s, window %s, latency %u-%u ms, sockbuf %zu, %u apps, "
                  "grace %s s, long poll %s s, %s workers,%s%s faults %s",
                  (unsigned long long)seed, transports[w->post], win, sim_net.lat_min_ms,
                  sim_net.lat_max_ms, sim_net.sockbuf, w->napps, grace, lp, workers,
                  w->optimistic ? " optimistic," : "",
                  !w->via_fwd     ? ""
                  : w->fwd_faults ? " via a faulty forwarder,"
                                  : " via the forwarder,",
                  w->faults ? "on" : "off");
        exit_start();
        if (w->via_fwd)
                fwd_start();
        client_start();
        sim_at(100, memory_check, NULL, 0);
}

/* How long a session may take with no fault near it: LIVE_MS, plus what a
 * slow target needs to read the upload, plus both streams at one window
 * per two round trips (a POST link with one worker may need that). */
static uint64_t live_bound(const struct app *a)
{
        uint64_t rtt = 2ull * sim_net.lat_max_ms + 2, bytes = (uint64_t)a->up_len + a->down_len;
        uint64_t bound = LIVE_MS + bytes * 2 * rtt / w->window;

        if (a->slow_target)
                bound += a->up_len / 100; /* it reads 2 KiB per 20 ms */
        return bound;
}

static void check_end(void)
{
        for (unsigned i = 0; i < w->napps && !w->fail[0]; i++) {
                struct app *a = &w->apps[i];
                bool clean = (a->st == A_DONE && !a->ended_reset) ||
                             (a->st != A_DONE && a->got_eof && a->up_sent == a->up_len);
                /* An app that half-closed and reads on sees how the relay
                 * ends; one that closed first cannot see anything. */
                if (clean && a->half_close && a->treset && a->tgot < a->up_len) {
                        failf("I2: session %d: the app saw a clean end (its download's FIN, all "
                              "its bytes taken) though the target got %llu of %u and a reset",
                              a->id, (unsigned long long)a->tgot, a->up_len);
                        continue;
                }
                if (a->st != A_DONE) {
                        failf("liveness: session %d (%u up, %u down) not finished at %llu ms: "
                              "%llu up sent, %llu down received, target %s (heartbeats are 60 "
                              "s apart: nothing else woke it)",
                              a->id, a->up_len, a->down_len, (unsigned long long)sim_now(),
                              (unsigned long long)a->up_sent, (unsigned long long)a->down_got,
                              a->tdone ? "done" : "not done");
                        continue;
                }
                uint64_t took = a->end_ms - a->start_ms, bound = live_bound(a);
                if (!fault_near(a->start_ms, a->end_ms) && !a->ended_reset && took > bound)
                        failf("liveness: session %d took %llu ms with no fault near it (bound "
                              "%llu ms): something waited for a timer",
                              a->id, (unsigned long long)took, (unsigned long long)bound);
        }
}

static void free_world(void)
{
        exit_stop(false);
        client_stop(false);
        forwarder_close(w->fwd);
        w->fwd = NULL;
        while (w->tconns) {
                struct tconn *t = w->tconns;
                w->tconns = t->next;
                free(t);
        }
        for (unsigned i = 0; i < w->ncaps; i++)
                free(w->caps[i].buf);
        for (unsigned i = 0; i < w->nheads; i++)
                free(w->heads[i].p);
        for (unsigned i = 0; i < w->nmsgs; i++)
                free(w->msgs[i].p);
        for (unsigned i = 0; i < w->ns2c; i++)
                free(w->s2cs[i].buf);
        for (unsigned i = 0; i < w->ns2cmsgs; i++)
                free(w->s2cmsgs[i].p);
        for (unsigned i = 0; i < w->nanswers; i++)
                free(w->answers[i].buf);
        free(w->scratch);
        batch_opener_wipe(&w->s2c);
        aead_keys_wipe(&w->keys);
        config_free(&config_exit_schema, &w->ecfg);
        config_free(&config_client_schema, &w->ccfg);
        sim_reactor_free_all();
        sim_sockets_free();
}

/* Runs one seed; returns true when every check held. */
static bool run_seed(uint64_t seed, int want_post, int want_faults, uint64_t *events)
{
        static struct world world;
        uint64_t n = 0;

        memset(&world, 0, sizeof(world));
        w = &world;
        memset(sim_skew_ms, 0, sizeof(sim_skew_ms));
        sim_reset(seed);
        build(seed, want_post, want_faults);
        while (!w->fail[0] && sim_step(w->end_ms)) {
                n++;
                if (w->client && sim_reactor_stopped(w->client_r)) {
                        failf("the client stopped by itself");
                        break;
                }
                bool all_done = true;
                for (unsigned i = 0; i < w->napps; i++)
                        all_done &= w->apps[i].st == A_DONE;
                if (all_done && sim_now() > w->fault_end + 1000)
                        break;
        }
        sim_trace("memory: the muxes held at most %zu bytes of data at the client, %zu at the exit",
                  w->peak_client, w->peak_exit);
        if (!w->fail[0])
                check_end();
        if (!w->fail[0] && w->stolen[0])
                failf("%s", w->stolen);
        *events += n;
        bool ok = !w->fail[0];
        snprintf(last_fail, sizeof(last_fail), "%s", w->fail);
        free_world();
        return ok;
}

/* A crash in a run: where, on the trace (stderr). */
static void on_crash(int sig)
{
        void *bt[32];
        int n = backtrace(bt, 32);
        static const char msg[] = "urelay-sim: crashed; backtrace:\n";

        if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
                _exit(128 + sig);
        backtrace_symbols_fd(bt, n, STDERR_FILENO);
        signal(sig, SIG_DFL);
        raise(sig);
}

/* Runs one seed in a child process, so that nothing a run leaves behind
 * (static state in the runtime, leaks, a crash) reaches the next seed: a
 * seed gives the same run alone and in a series. */
static bool run_isolated(uint64_t seed, int want_post, int want_faults, uint64_t *events)
{
        struct {
                uint64_t events;
                char fail[512], stolen[160];
        } res;
        int fds[2], status;

        if (pipe(fds) < 0) {
                perror("urelay-sim: pipe");
                exit(1);
        }
        pid_t pid = fork();
        if (pid < 0) {
                perror("urelay-sim: fork");
                exit(1);
        }
        if (pid == 0) {
                close(fds[0]);
                signal(SIGSEGV, on_crash);
                signal(SIGABRT, on_crash);
                memset(&res, 0, sizeof(res));
                bool ok = run_seed(seed, want_post, want_faults, &res.events);
                snprintf(res.fail, sizeof(res.fail), "%s", ok ? "" : last_fail);
                ssize_t wr = write(fds[1], &res, sizeof(res));
                _exit(wr == (ssize_t)sizeof(res) ? 0 : 1);
        }
        close(fds[1]);
        memset(&res, 0, sizeof(res));
        ssize_t got = read(fds[0], &res, sizeof(res));
        close(fds[0]);
        waitpid(pid, &status, 0);
        if (got != (ssize_t)sizeof(res)) {
                snprintf(last_fail, sizeof(last_fail), "the run crashed (%s %d)",
                         WIFSIGNALED(status) ? "signal" : "exit status",
                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
                return false;
        }
        *events += res.events;
        snprintf(last_fail, sizeof(last_fail), "%s", res.fail);
        return !res.fail[0];
}

/* ---- the command ---- */

/* --faults: on, off, or a list of kinds (which turns them on). */
static int parse_faults(const char *arg, int *want)
{
        char buf[256], *save = NULL;

        if (!strcmp(arg, "on") || !strcmp(arg, "off")) {
                *want = !strcmp(arg, "on");
                return 0;
        }
        snprintf(buf, sizeof(buf), "%s", arg);
        fault_mask = 0;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                unsigned k;
                for (k = 0; k < sizeof(fault_names) / sizeof(fault_names[0]); k++)
                        if (!strcmp(t, fault_names[k]))
                                break;
                if (k == sizeof(fault_names) / sizeof(fault_names[0])) {
                        fprintf(stderr,
                                "urelay-sim: --faults: unknown kind \"%s\" (on, off, or a list of "
                                "partition, reset, exit-restart, exit-kill, client-restart, "
                                "replay, forwarder, inject)\n",
                                t);
                        return -1;
                }
                fault_mask |= 1u << k;
        }
        *want = 1;
        return 0;
}

static void usage(FILE *f)
{
        fprintf(f, "usage: urelay-sim [--seeds N] [--from S] [--seed S] [--time SECONDS]\n"
                   "                  [--transport ws|post] [--faults on|off] [--trace]\n\n"
                   "Runs the real client and exit in a simulated network, one world per seed,\n"
                   "and checks that no byte is lost, reordered, duplicated or left waiting.\n\n"
                   "  --seeds N        run seeds S..S+N-1 (default 100)\n"
                   "  --from S         first seed (default 1)\n"
                   "  --seed S         run seed S alone and print its whole trace\n"
                   "  --time SECONDS   run consecutive seeds for this long instead of --seeds\n"
                   "  --transport T    only ws or only post (default: drawn per seed)\n"
                   "  --faults F       on, off, or kinds to inject, comma-separated: partition,\n"
                   "                   reset, exit-restart, exit-kill, client-restart, replay,\n"
                   "                   forwarder (its lost and cut answers and 429s), inject\n"
                   "                   (a recorded message into a live WebSocket, either way)\n"
                   "                   (default: all kinds, in 70%% of the seeds)\n"
                   "  --trace          print the trace of every seed (with --seed: debug log)\n"
                   "  --keep-going     do not stop at the first failing seed\n");
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"seeds", required_argument, NULL, 'n'},
                                             {"from", required_argument, NULL, 'f'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"time", required_argument, NULL, 't'},
                                             {"transport", required_argument, NULL, 'T'},
                                             {"faults", required_argument, NULL, 'F'},
                                             {"trace", no_argument, NULL, 'v'},
                                             {"keep-going", no_argument, NULL, 'k'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        uint64_t from = 1, count = 100, secs = 0, events = 0;
        int want_post = -1, want_faults = -1, c, trace = 0, keep_going = 0, one = 0;
        const char *faults_arg = NULL, *transport_arg = NULL;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'n':
                        count = strtoull(optarg, NULL, 10);
                        break;
                case 'f':
                        from = strtoull(optarg, NULL, 10);
                        break;
                case 's':
                        from = strtoull(optarg, NULL, 10);
                        count = 1;
                        one = 1;
                        break;
                case 't':
                        secs = strtoull(optarg, NULL, 10);
                        break;
                case 'T':
                        if (strcmp(optarg, "ws") && strcmp(optarg, "post")) {
                                fprintf(stderr, "urelay-sim: --transport is ws or post, not %s\n",
                                        optarg);
                                return 64;
                        }
                        want_post = strcmp(optarg, "post") == 0;
                        transport_arg = optarg;
                        break;
                case 'F':
                        if (parse_faults(optarg, &want_faults) < 0)
                                return 64;
                        faults_arg = optarg;
                        break;
                case 'v':
                        trace = 1;
                        break;
                case 'k':
                        keep_going = 1;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 64;
                }
        }
        if (optind != argc) {
                usage(stderr);
                return 64;
        }
        /* The runtime logs to stderr: keep each seed's lines in memory and
         * show them only for a failing seed (or with --trace). */
        int out = dup(STDOUT_FILENO), err_fd = dup(STDERR_FILENO);
        int mem = memfd_create("urelay-sim-trace", 0);
        if (out < 0 || err_fd < 0 || mem < 0) {
                perror("urelay-sim");
                return 1;
        }
        FILE *report = fdopen(out, "w");
        if (!(trace && one))
                dup2(mem, STDERR_FILENO);
        log_set_level(trace && one ? LOGL_DEBUG : LOGL_INFO);
        freopen("/dev/null", "w", stdout); /* the ready lines */

        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        uint64_t ran = 0, failed = 0;
        for (uint64_t seed = from;; seed++) {
                if (secs) {
                        clock_gettime(CLOCK_MONOTONIC, &t1);
                        if ((uint64_t)(t1.tv_sec - t0.tv_sec) >= secs)
                                break;
                } else if (seed - from >= count) {
                        break;
                }
                if (ftruncate(mem, 0) == 0)
                        lseek(mem, 0, SEEK_SET);
                bool ok = one ? run_seed(seed, want_post, want_faults, &events)
                              : run_isolated(seed, want_post, want_faults, &events);
                ran++;
                if (ok && !trace)
                        continue;
                if (!(trace && one)) {
                        /* The end of the trace: the last 80 lines. */
                        off_t len = lseek(mem, 0, SEEK_END);
                        char *buf = len > 0 ? malloc((size_t)len + 1) : NULL;
                        if (buf && pread(mem, buf, (size_t)len, 0) == len) {
                                size_t lines = 0, at = (size_t)len;
                                while (at > 0 && lines <= (trace ? SIZE_MAX - 1 : 80))
                                        if (buf[--at] == '\n')
                                                lines++;
                                fprintf(report, "---- trace of seed %llu%s ----\n%.*s",
                                        (unsigned long long)seed, at ? " (last lines)" : "",
                                        (int)((size_t)len - at), buf + at);
                        }
                        free(buf);
                }
                if (!ok) {
                        failed++;
                        fprintf(report,
                                "FAIL seed %llu: %s\n  replay: %s --seed %llu%s%s%s%s --trace\n",
                                (unsigned long long)seed, last_fail, argv[0],
                                (unsigned long long)seed, transport_arg ? " --transport " : "",
                                transport_arg ? transport_arg : "", faults_arg ? " --faults " : "",
                                faults_arg ? faults_arg : "");
                        fflush(report);
                        if (!keep_going)
                                break;
                }
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        fprintf(report,
                "urelay-sim: %llu schedules from seed %llu, %llu failed, %.1f s, %.0f "
                "schedules/s, %.0f events/schedule\n",
                (unsigned long long)ran, (unsigned long long)from, (unsigned long long)failed, dt,
                dt > 0 ? (double)ran / dt : 0.0, ran ? (double)events / (double)ran : 0.0);
        fprintf(report, "%llu passed, %llu failed\n", (unsigned long long)(ran - failed),
                (unsigned long long)failed);
        fclose(report);
        /* The sanitizers report at exit: where they can be read. */
        dup2(err_fd, STDERR_FILENO);
        return failed ? 1 : 0;
}
