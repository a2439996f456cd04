/* test_clients: the exit's client instances (exit/clients.c).
 *
 * Batches sealed here with a test key go straight into clients_deliver(), as
 * the transports hand them over, on a server with no listener: which batches
 * make an instance, which are refused, and that a refused batch leaves
 * nothing behind (docs/protocol.md §3.4).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/aead.h"
#include "core/key.h"
#include "core/reactor.h"
#include "core/frame.h"
#include "core/tunnel.h"
#include "exit/server_priv.h"

struct env {
        struct config_exit cfg;
        struct server srv;
        struct aead_keys keys;
        struct batch_sealer sealer;
        struct batch_opener s2c; /* reads the exit's challenges */
        uint8_t *buf, *frames, *scratch;
        uint64_t seq;
        int err; /* of the last deliver() */
        /* The latest cookie the exit gave each instance (docs/protocol.md
         * §3.6): deliver() proves with it as a client does. */
        struct {
                uint64_t id;
                uint8_t cookie[FRAME_COOKIE_LEN];
        } cookies[64];
        unsigned ncookies;
        unsigned challenges;
};

static void env_init(struct env *e)
{
        uint8_t master[KEY_LEN];
        char why[256];

        memset(e, 0, sizeof(*e));
        if (reactor_new(&e->srv.r, NULL, why, sizeof(why)) < 0)
                cr_skip_test("io_uring unavailable: %s", why);
        e->cfg.window = 256 << 10;
        e->cfg.max_sessions = 4096;
        e->cfg.max_sessions_per_client = 256;
        e->cfg.grace = 30;
        e->cfg.long_poll = 20;
        e->cfg.max_instances = 8;
        e->srv.cfg = &e->cfg;
        cr_assert_eq(getrandom(master, sizeof(master), 0), (ssize_t)sizeof(master));
        cr_assert_eq(aead_keys_derive(&e->keys, master), 0);
        e->srv.nkeys = 1;
        e->srv.keys = calloc(1, sizeof(*e->srv.keys));
        e->srv.scratch = malloc(BATCH_MAX);
        e->srv.chal = malloc(BATCH_PREFIX_LEN + FRAME_CHAL_LEN + BATCH_TAG_LEN);
        e->buf = malloc(BATCH_MAX);
        e->frames = malloc(BATCH_MAX);
        e->scratch = malloc(BATCH_MAX);
        cr_assert(e->srv.keys && e->srv.scratch && e->srv.chal && e->buf && e->frames &&
                  e->scratch);
        cr_assert_eq(replay_memo_init(&e->srv.gone, GONE_MEMOS), 0);
        cr_assert_eq(cookie_jar_init(&e->srv.jar), 0);
        e->srv.keys[0].keys = e->keys;
        cr_assert_eq(batch_opener_init(&e->srv.keys[0].opener, &e->keys, AEAD_C2S), 0);
        key_id(master, e->srv.keys[0].id);
        cr_assert_eq(batch_sealer_init(&e->sealer, &e->keys, AEAD_AES256GCM, AEAD_C2S), 0);
        cr_assert_eq(batch_sealer_init(&e->srv.keys[0].chal, &e->keys, AEAD_AES256GCM, AEAD_S2C),
                     0);
        cr_assert_eq(batch_opener_init(&e->s2c, &e->keys, AEAD_S2C), 0);
        explicit_bzero(master, sizeof(master));
}

static void env_free(struct env *e)
{
        clients_free_all(&e->srv);
        batch_opener_wipe(&e->srv.keys[0].opener);
        batch_sealer_wipe(&e->srv.keys[0].chal);
        batch_opener_wipe(&e->s2c);
        batch_sealer_wipe(&e->sealer);
        replay_memo_free(&e->srv.gone);
        cookie_jar_wipe(&e->srv.jar);
        free(e->srv.chal);
        free(e->frames);
        free(e->scratch);
        aead_keys_wipe(&e->keys);
        reactor_free(e->srv.r);
        free(e->srv.keys);
        free(e->srv.scratch);
        free(e->buf);
}

/* Seals a batch of instance <id> stamped <time_ms> with frames f[0, n);
 * returns its length (the batch is in e->buf). */
static size_t seal(struct env *e, uint64_t id, uint64_t time_ms, const uint8_t *f, size_t n)
{
        struct batch_meta meta = {.instance_id = id, .seq = e->seq++, .time_ms = time_ms};
        size_t len;

        if (n)
                memcpy(e->buf + BATCH_PREFIX_LEN, f, n);
        cr_assert_eq(batch_seal(&e->sealer, &meta, e->buf, n, BATCH_MAX, &len), 0);
        return len;
}

static uint8_t *cookie_of(struct env *e, uint64_t id, bool make)
{
        for (unsigned i = 0; i < e->ncookies; i++)
                if (e->cookies[i].id == id)
                        return e->cookies[i].cookie;
        if (!make || e->ncookies == 64)
                return NULL;
        e->cookies[e->ncookies].id = id;
        return e->cookies[e->ncookies++].cookie;
}

/* The cookie in the exit's last challenge (srv.chal). */
static void take_challenge(struct env *e, uint64_t id)
{
        struct batch_meta meta;
        const uint8_t *frames;
        size_t len, used;
        struct frame f;

        cr_assert_eq(batch_open(&e->s2c, e->srv.chal, e->srv.chal_len, e->scratch, BATCH_MAX, &meta,
                                &frames, &len),
                     0);
        cr_assert_eq(meta.instance_id, id);
        cr_assert_eq(frame_decode(frames, len, &f, &used), 0);
        cr_assert_eq(f.type, FRAME_CHALLENGE);
        cr_assert(f.chal.flags & FRAME_CHAL_REFUSED);
        memcpy(cookie_of(e, id, true), f.chal.cookie, FRAME_COOKIE_LEN);
        e->challenges++;
}

/* Delivers a batch of instance <id> as a new connection would, proving it
 * with the instance's cookie as a client does (a challenge first when it
 * has none): the client, or NULL with the error in e->err. */
static struct client *deliver(struct env *e, uint64_t id, uint64_t time_ms, const uint8_t *f,
                              size_t n)
{
        struct hconn h = {.srv = &e->srv};
        struct client *cl = NULL;

        for (int attempt = 0; attempt < 2; attempt++) {
                const uint8_t *cookie = cookie_of(e, id, false);
                struct frame pf = {.type = FRAME_PROOF};
                size_t used = 0;
                if (cookie) {
                        memcpy(pf.chal.cookie, cookie, FRAME_COOKIE_LEN);
                        cr_assert_eq(frame_encode(&pf, e->frames, BATCH_MAX, &used), 0);
                }
                if (n)
                        memcpy(e->frames + used, f, n);
                size_t len = seal(e, id, time_ms, e->frames, used + n);
                e->err = clients_deliver(&e->srv, &h, e->buf, len, &cl);
                if (e->err != -EAGAIN)
                        break;
                take_challenge(e, id);
        }
        cr_assert_eq(e->err < 0, cl == NULL);
        return cl;
}

static unsigned instances(const struct env *e)
{
        unsigned n = 0;

        for (const struct client *cl = e->srv.clients; cl; cl = cl->next)
                n++;
        return n;
}

static bool has(const struct env *e, uint64_t id)
{
        for (const struct client *cl = e->srv.clients; cl; cl = cl->next)
                if (cl->instance == id)
                        return true;
        return false;
}

Test(clients, a_fresh_batch_makes_an_instance)
{
        struct env e;

        env_init(&e);
        cr_assert_not_null(deliver(&e, 1, tunnel_wall_ms(), NULL, 0));
        cr_assert_eq(instances(&e), 1);
        /* The same instance again is found, not made twice. */
        cr_assert_not_null(deliver(&e, 1, tunnel_wall_ms(), NULL, 0));
        cr_assert_eq(instances(&e), 1);
        env_free(&e);
}

Test(clients, a_stale_batch_makes_nothing)
{
        struct env e;
        uint64_t now = tunnel_wall_ms();

        env_init(&e);
        /* The case: first batches of old clients, replayed 36 s
         * later, more of them than a key has slots. */
        for (uint64_t id = 100; id < 100 + 3 * 8; id++) {
                cr_assert_null(deliver(&e, id, now - 36000, NULL, 0));
                cr_assert_neq(e.err, -EUSERS);
                cr_assert_null(deliver(&e, id, now + 36000, NULL, 0));
        }
        cr_assert_eq(instances(&e), 0);
        cr_assert_eq(e.srv.st.refused_batches, 6 * 8);
        /* ...and a real client still gets in. */
        cr_assert_not_null(deliver(&e, 7, now, NULL, 0));
        cr_assert_eq(instances(&e), 1);
        env_free(&e);
}

Test(clients, a_batch_the_instance_refuses_leaves_nothing)
{
        struct env e;
        const uint8_t bad[] = {0xff}; /* not a frame type: the mux refuses the region */

        env_init(&e);
        cr_assert_null(deliver(&e, 5, tunnel_wall_ms(), bad, sizeof(bad)));
        cr_assert_eq(instances(&e), 0);
        cr_assert(!has(&e, 5));
        /* An instance that exists stays when one of its batches is refused. */
        cr_assert_not_null(deliver(&e, 5, tunnel_wall_ms(), NULL, 0));
        cr_assert_null(deliver(&e, 5, tunnel_wall_ms(), bad, sizeof(bad)));
        cr_assert(has(&e, 5));
        env_free(&e);
}

Test(clients, a_batch_that_does_not_authenticate_makes_nothing)
{
        struct env e;
        size_t len;

        env_init(&e);
        len = seal(&e, 9, tunnel_wall_ms(), NULL, 0);
        e.buf[len - 1] ^= 1; /* the tag */
        struct hconn h = {.srv = &e.srv};
        struct client *cl = NULL;
        cr_assert_lt(clients_deliver(&e.srv, &h, e.buf, len, &cl), 0);
        cr_assert_null(cl);
        cr_assert_eq(instances(&e), 0);
        env_free(&e);
}

static struct client *find(const struct env *e, uint64_t id)
{
        for (struct client *cl = e->srv.clients; cl; cl = cl->next)
                if (cl->instance == id)
                        return cl;
        return NULL;
}

Test(clients, a_full_table_makes_room_from_the_longest_idle)
{
        struct env e;
        uint64_t now = tunnel_wall_ms();

        env_init(&e);
        e.cfg.max_instances = 4;
        /* A restart loop: instances 1..4 of processes that are gone. */
        for (uint64_t id = 1; id <= 4; id++) {
                cr_assert_not_null(deliver(&e, id, now, NULL, 0));
                find(&e, id)->last_batch_ms = 1000 * id;
        }
        find(&e, 3)->last_batch_ms = 0; /* idle the longest */
        cr_assert_not_null(deliver(&e, 5, now, NULL, 0));
        cr_assert_eq(instances(&e), 4);
        cr_assert(!has(&e, 3) && has(&e, 1) && has(&e, 2) && has(&e, 4) && has(&e, 5));
        cr_assert_eq(e.srv.st.instances_evicted, 1);
        cr_assert_eq(e.srv.st.instances_refused, 0);
        /* Ten more restarts: each gets in, the table never grows. */
        for (uint64_t id = 10; id < 20; id++) {
                cr_assert_not_null(deliver(&e, id, now, NULL, 0));
                cr_assert_eq(instances(&e), 4);
        }
        cr_assert(has(&e, 19));
        cr_assert_eq(e.srv.st.instances_evicted, 11);
        env_free(&e);
}

Test(clients, an_instance_without_transport_gives_way_first)
{
        struct env e;
        struct hconn ws[4];
        uint64_t now = tunnel_wall_ms();

        env_init(&e);
        e.cfg.max_instances = 4;
        memset(ws, 0, sizeof(ws));
        for (uint64_t id = 1; id <= 4; id++)
                cr_assert_not_null(deliver(&e, id, now, NULL, 0));
        /* 1..3 have a WebSocket and idled longer; 4 has none. */
        for (uint64_t id = 1; id <= 3; id++) {
                struct client *cl = find(&e, id);
                cl->ws = &ws[id - 1];
                ws[id - 1].cl = cl;
                cl->last_batch_ms = 0;
        }
        find(&e, 4)->last_batch_ms = 5000;
        cr_assert_not_null(deliver(&e, 5, now, NULL, 0));
        cr_assert(!has(&e, 4) && has(&e, 1) && has(&e, 2) && has(&e, 3));
        /* With only live ones left, the longest idle goes; its WebSocket
         * no longer names it. */
        find(&e, 5)->ws = &ws[3];
        ws[3].cl = find(&e, 5);
        find(&e, 2)->last_batch_ms = 0;
        find(&e, 1)->last_batch_ms = 10;
        find(&e, 3)->last_batch_ms = 10;
        find(&e, 5)->last_batch_ms = 10;
        cr_assert_not_null(deliver(&e, 6, now, NULL, 0));
        cr_assert(!has(&e, 2) && has(&e, 6));
        cr_assert_null(ws[1].cl);
        cr_assert_eq(e.srv.st.instances_evicted, 2);
        for (unsigned i = 0; i < 4; i++)
                if (ws[i].cl)
                        ws[i].cl->ws = NULL;
        env_free(&e);
}

Test(clients, a_known_instance_never_needs_room)
{
        struct env e;
        uint64_t now = tunnel_wall_ms();

        env_init(&e);
        e.cfg.max_instances = 1;
        cr_assert_not_null(deliver(&e, 1, now, NULL, 0));
        for (int i = 0; i < 5; i++)
                cr_assert_not_null(deliver(&e, 1, now, NULL, 0));
        cr_assert_eq(e.srv.st.instances_evicted, 0);
        cr_assert_eq(instances(&e), 1);
        env_free(&e);
}

/* Issue 13, defects 3 and 5 and replays across a restart: a batch that
 * does not prove itself with a cookie of this exit process, for the
 * instance as it is now, is answered with a challenge and acts on nothing
 * and makes nothing (docs/protocol.md §3.6). */
Test(clients, only_a_batch_with_a_fresh_cookie_is_acted_on)
{
        struct env e;
        struct hconn h;
        struct client *cl = NULL;
        uint64_t now = tunnel_wall_ms();

        env_init(&e);
        h = (struct hconn){.srv = &e.srv};
        size_t len = seal(&e, 5, now, NULL, 0);
        cr_assert_eq(clients_deliver(&e.srv, &h, e.buf, len, &cl), -EAGAIN);
        cr_assert_eq(instances(&e), 0, "no cookie: nothing made");
        take_challenge(&e, 5);
        cr_assert_not_null(deliver(&e, 5, now, NULL, 0));
        cr_assert_eq(instances(&e), 1);

        /* The exit restarts: a new secret, and the old cookies hold no
         * more: a batch recorded before is challenged, never acted on. */
        clients_free_all(&e.srv);
        cookie_jar_wipe(&e.srv.jar);
        cr_assert_eq(cookie_jar_init(&e.srv.jar), 0);
        unsigned before = e.challenges;
        cr_assert_not_null(deliver(&e, 5, now, NULL, 0), "the client proves itself again");
        cr_assert_eq(e.challenges, before + 1, "the old cookie was refused");
        env_free(&e);
}
