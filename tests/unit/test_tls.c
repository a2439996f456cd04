/* test_tls: the TLS layer (transport/tls.h) over memory.
 *
 * A client endpoint and a server endpoint are wired back to back: what one
 * emits is delivered to the other in random-size pieces (seeded,
 * reproducible). Certificates are made per test by
 * tests/helpers/tls_gencerts.sh (openssl CLI) in a temp dir: a CA, a
 * "relay.test" server certificate from it, a self-signed one and an expired
 * one. Covers verification (chain, name, expiry, system CAs, the explicit
 * insecure opt-in), plaintext both ways, close_notify, a peer that is not
 * TLS, a tampered record, and the context errors naming their files.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/tls.h"

struct buf {
        uint8_t *p;
        size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
        if (b->len + n > b->cap) {
                b->cap = (b->len + n) * 2 + 64;
                b->p = realloc(b->p, b->cap);
                cr_assert_not_null(b->p);
        }
        if (n)
                memcpy(b->p + b->len, p, n);
        b->len += n;
}

struct peer {
        struct tls_ctx *ctx;
        struct tls *t;
        struct buf out; /* emitted; out.p[out_off, out.len) not yet delivered */
        size_t out_off;
        struct buf data; /* plaintext received */
        int ready, closed;
        int emit_rc;              /* what emit returns: 0 or an errno to fail with */
        int in_rc;                /* the first error tls_input returned */
        const uint8_t *ready_msg; /* sent from on_ready, if set */
        size_t ready_len;
};

static struct peer cli, srv;
static char dir[PATH_MAX];
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

static int emit(void *ud, const uint8_t *p, size_t n)
{
        struct peer *pe = ud;

        if (pe->emit_rc)
                return pe->emit_rc;
        buf_add(&pe->out, p, n);
        return 0;
}

static void on_ready(void *ud)
{
        struct peer *pe = ud;

        pe->ready++;
        if (pe->ready_msg)
                cr_assert_eq(tls_send(pe->t, pe->ready_msg, pe->ready_len), 0);
}

static void on_data(void *ud, const uint8_t *p, size_t n)
{
        buf_add(&((struct peer *)ud)->data, p, n);
}

static void on_close(void *ud)
{
        ((struct peer *)ud)->closed++;
}

static const struct tls_events events = {
    .emit = emit,
    .on_ready = on_ready,
    .on_data = on_data,
    .on_close = on_close,
};

/* Moves one random-size piece (1..max) from a's output to b; a failed
 * tls_input is recorded in b->in_rc and stops delivery to b. */
static void move_piece(struct peer *a, struct peer *b, size_t max)
{
        size_t n = 1 + (size_t)(rnd() % max);

        if (n > a->out.len - a->out_off)
                n = a->out.len - a->out_off;
        if (!b->in_rc)
                b->in_rc = tls_input(b->t, a->out.p + a->out_off, n);
        a->out_off += n;
        if (a->out_off == a->out.len)
                a->out.len = a->out_off = 0;
}

/* Pumps both ways until quiet; pieces of random sizes, small or large. */
static void pump(void)
{
        size_t max = rnd() % 2 ? 1 + rnd() % 64 : 1 + rnd() % 70000;

        while (cli.out.len || srv.out.len) {
                if (cli.out.len)
                        move_piece(&cli, &srv, max);
                if (srv.out.len)
                        move_piece(&srv, &cli, max);
        }
}

static void path(char *out, const char *name)
{
        int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

        cr_assert(n > 0 && n < PATH_MAX);
}

static void setup(void)
{
        char src[PATH_MAX], cmd[3 * PATH_MAX];

        /* The script sits beside this file's folder: tests/helpers. */
        snprintf(src, sizeof(src), "%s", __FILE__);
        snprintf(dir, sizeof(dir), "/tmp/urelay-test-tls-XXXXXX");
        cr_assert_not_null(mkdtemp(dir));
        snprintf(cmd, sizeof(cmd), "sh '%s/../helpers/tls_gencerts.sh' '%s'", dirname(src), dir);
        cr_assert_eq(system(cmd), 0, "certificate generation failed: %s", cmd);
}

static void reset_peer(struct peer *pe)
{
        tls_free(pe->t);
        tls_ctx_free(pe->ctx);
        free(pe->out.p);
        free(pe->data.p);
        memset(pe, 0, sizeof(*pe));
}

static void teardown(void)
{
        char cmd[PATH_MAX + 16];

        reset_peer(&cli);
        reset_peer(&srv);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        cr_assert_eq(system(cmd), 0);
}

TestSuite(tls, .init = setup, .fini = teardown);

/* Creates the server from <crt>/<key> and the client trusting <ca> (NULL:
 * system CAs) for <sni>, without starting. */
static void new_pair(const char *crt, const char *key, const char *ca, bool insecure,
                     const char *sni)
{
        char c[PATH_MAX], k[PATH_MAX], a[PATH_MAX], err[256] = "";

        path(c, crt);
        path(k, key);
        if (ca)
                path(a, ca);
        cr_assert_eq(tls_ctx_server_new(&srv.ctx, c, k, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(tls_ctx_client_new(&cli.ctx, ca ? a : NULL, insecure, err, sizeof(err)), 0,
                     "%s", err);
        cr_assert_eq(tls_server_new(&srv.t, srv.ctx, &events, &srv), 0);
        cr_assert_eq(tls_client_new(&cli.t, cli.ctx, sni, &events, &cli), 0);
}

static void connect_pair(const char *crt, const char *key, const char *ca, bool insecure,
                         const char *sni)
{
        new_pair(crt, key, ca, insecure, sni);
        cr_assert_eq(tls_start(cli.t), 0);
        pump();
}

static void open_pair(void)
{
        connect_pair("server.crt", "server.key", "ca.crt", false, "relay.test");
        cr_assert_eq(cli.in_rc, 0, "client: %s", tls_last_error(cli.t));
        cr_assert_eq(srv.in_rc, 0, "server: %s", tls_last_error(srv.t));
        cr_assert_eq(cli.ready, 1);
        cr_assert_eq(srv.ready, 1);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
        uint32_t x = seed * 2654435761u + 1;

        for (size_t i = 0; i < n; i++) {
                x = x * 1103515245u + 12345u;
                p[i] = (uint8_t)(x >> 16);
        }
}

/* Sends <n> bytes from <from> and checks <to> got exactly them. */
static void send_check(struct peer *from, struct peer *to, size_t n, unsigned seed)
{
        uint8_t *p = malloc(n);

        cr_assert_not_null(p);
        fill(p, n, seed);
        to->data.len = 0;
        cr_assert_eq(tls_send(from->t, p, n), 0);
        pump();
        cr_assert_eq(to->in_rc, 0, "%s", tls_last_error(to->t));
        cr_assert_eq(to->data.len, n, "got %zu bytes, want %zu", to->data.len, n);
        cr_assert_eq(memcmp(to->data.p, p, n), 0, "plaintext differs");
        free(p);
}

Test(tls, handshake_and_data_both_ways)
{
        static const size_t sizes[] = {1, 16384, 1024 * 1024};

        open_pair();
        cr_assert_str_eq(tls_version(cli.t), "TLSv1.3");
        cr_assert_str_eq(tls_version(srv.t), "TLSv1.3");
        cr_assert_str_eq(tls_cipher(cli.t), tls_cipher(srv.t));
        cr_assert_str_neq(tls_cipher(cli.t), "");
        for (unsigned i = 0; i < 3; i++) {
                send_check(&cli, &srv, sizes[i], i);
                send_check(&srv, &cli, sizes[i], 10 + i);
        }
        cr_assert_str_eq(tls_last_error(cli.t), "");
}

Test(tls, send_before_handshake_is_queued_in_order)
{
        uint8_t early[20000], late[100];

        fill(early, sizeof(early), 1);
        fill(late, sizeof(late), 2);
        new_pair("server.crt", "server.key", "ca.crt", false, "relay.test");
        cli.ready_msg = late;
        cli.ready_len = sizeof(late);
        cr_assert_str_eq(tls_version(cli.t), "");
        cr_assert_eq(tls_send(cli.t, early, 1), 0);
        cr_assert_eq(tls_start(cli.t), 0);
        cr_assert_eq(tls_send(cli.t, early + 1, sizeof(early) - 1), 0);
        pump();
        cr_assert_eq(srv.in_rc, 0, "%s", tls_last_error(srv.t));
        cr_assert_eq(srv.data.len, sizeof(early) + sizeof(late));
        cr_assert_eq(memcmp(srv.data.p, early, sizeof(early)), 0);
        cr_assert_eq(memcmp(srv.data.p + sizeof(early), late, sizeof(late)), 0);
}

Test(tls, pending_queue_is_bounded)
{
        uint8_t *big = calloc(1, TLS_PENDING_MAX);

        new_pair("server.crt", "server.key", "ca.crt", false, "relay.test");
        cr_assert_eq(tls_send(cli.t, big, TLS_PENDING_MAX), 0);
        cr_assert_eq(tls_send(cli.t, big, 1), -ENOBUFS);
        free(big);
}

Test(tls, wrong_name_fails)
{
        connect_pair("server.crt", "server.key", "ca.crt", false, "other.test");
        cr_assert_eq(cli.in_rc, TLS_ENAME, "got %d: %s", cli.in_rc, tls_last_error(cli.t));
        cr_assert_not_null(strstr(tls_last_error(cli.t), "host name mismatch"));
        cr_assert_not_null(strstr(tls_last_error(cli.t), "other.test"));
        cr_assert_eq(cli.ready, 0);
        /* A failed endpoint keeps failing with the same code. */
        cr_assert_eq(tls_input(cli.t, (const uint8_t *)"\x16", 1), TLS_ENAME);
        cr_assert_eq(tls_send(cli.t, (const uint8_t *)"x", 1), -EPIPE);
}

Test(tls, self_signed_without_ca_fails)
{
        connect_pair("self.crt", "self.key", "ca.crt", false, "relay.test");
        cr_assert_eq(cli.in_rc, TLS_EVERIFY, "got %d: %s", cli.in_rc, tls_last_error(cli.t));
        cr_assert_not_null(strstr(tls_last_error(cli.t), "certificate verify failed"));
        cr_assert_eq(cli.ready, 0);
        cr_assert_eq(srv.ready, 0);
        /* The client told the server why. */
        cr_assert_eq(srv.in_rc, TLS_EHANDSHAKE, "got %d: %s", srv.in_rc, tls_last_error(srv.t));
        cr_assert_not_null(strstr(tls_last_error(srv.t), "alert"), "%s", tls_last_error(srv.t));
}

Test(tls, expired_certificate_fails)
{
        connect_pair("expired.crt", "expired.key", "ca.crt", false, "relay.test");
        cr_assert_eq(cli.in_rc, TLS_EVERIFY, "got %d: %s", cli.in_rc, tls_last_error(cli.t));
        cr_assert_not_null(strstr(tls_last_error(cli.t), "expired"), "%s", tls_last_error(cli.t));
}

/* The default trust store is the system's, which does not hold our CA: a
 * client that silently skipped verification would connect here. */
Test(tls, system_cas_do_not_trust_test_ca)
{
        connect_pair("server.crt", "server.key", NULL, false, "relay.test");
        cr_assert_eq(cli.in_rc, TLS_EVERIFY, "got %d: %s", cli.in_rc, tls_last_error(cli.t));
}

Test(tls, insecure_connects_to_anything)
{
        connect_pair("self.crt", "self.key", NULL, true, "other.test");
        cr_assert_eq(cli.in_rc, 0, "%s", tls_last_error(cli.t));
        cr_assert_eq(cli.ready, 1);
        send_check(&cli, &srv, 100, 3);
        send_check(&srv, &cli, 100, 4);
}

Test(tls, plaintext_http_to_server_is_not_tls)
{
        static const char req[] = "GET / HTTP/1.1\r\nHost: relay.test\r\n\r\n";

        new_pair("server.crt", "server.key", "ca.crt", false, "relay.test");
        cr_assert_eq(tls_input(srv.t, (const uint8_t *)req, sizeof(req) - 1), TLS_ENOTTLS);
        cr_assert_str_eq(tls_last_error(srv.t), "not TLS (plaintext HTTP sent to a TLS port?)");
        cr_assert_eq(srv.out.len, 0, "a non-TLS peer gets nothing back");
        cr_assert_str_eq(tls_strerror(TLS_ENOTTLS), "not TLS");
}

Test(tls, plaintext_http_answer_to_client_is_not_tls)
{
        static const char resp[] = "HTTP/1.1 400 Bad Request\r\n\r\n";

        new_pair("server.crt", "server.key", "ca.crt", false, "relay.test");
        cr_assert_eq(tls_start(cli.t), 0);
        cr_assert_gt(cli.out.len, 0, "the ClientHello was emitted");
        cr_assert_eq(cli.out.p[0], 0x16);
        cr_assert_eq(tls_input(cli.t, (const uint8_t *)resp, sizeof(resp) - 1), TLS_ENOTTLS);
        cr_assert_not_null(strstr(tls_last_error(cli.t), "not TLS"));
}

Test(tls, tampered_record_fails)
{
        uint8_t msg[300];

        open_pair();
        fill(msg, sizeof(msg), 5);
        cr_assert_eq(tls_send(cli.t, msg, sizeof(msg)), 0);
        cr_assert_gt(cli.out.len, 200);
        cli.out.p[cli.out.len - 20] ^= 1; /* inside the ciphertext */
        pump();
        cr_assert_eq(srv.in_rc, TLS_EPROTO, "got %d: %s", srv.in_rc, tls_last_error(srv.t));
        cr_assert_eq(srv.data.len, 0, "no unauthenticated plaintext delivered");
}

/* Random bytes behind a plausible record header, in random pieces: each
 * endpoint fails with a code or waits for more, and never crashes (run it
 * under ASan). */
Test(tls, garbage_costs_one_connection)
{
        char c[PATH_MAX], k[PATH_MAX], err[256] = "";
        uint8_t junk[2048];
        int failed = 0;

        path(c, "server.crt");
        path(k, "server.key");
        cr_assert_eq(tls_ctx_server_new(&srv.ctx, c, k, err, sizeof(err)), 0, "%s", err);
        for (int i = 0; i < 300; i++) {
                size_t n = 5 + (size_t)(rnd() % (sizeof(junk) - 5)), off = 0;
                int rc = 0;

                for (size_t j = 0; j < n; j++)
                        junk[j] = (uint8_t)rnd();
                junk[0] = 0x16;
                junk[1] = 0x03;
                junk[2] = (uint8_t)(rnd() % 5);
                if (i % 2) { /* a plausible length */
                        junk[3] = (uint8_t)((n - 5) >> 8);
                        junk[4] = (uint8_t)(n - 5);
                }
                cr_assert_eq(tls_server_new(&srv.t, srv.ctx, &events, &srv), 0);
                while (off < n && !rc) {
                        size_t m = 1 + (size_t)(rnd() % (n - off));

                        rc = tls_input(srv.t, junk + off, m);
                        off += m;
                }
                cr_assert(rc == 0 || rc == TLS_EHANDSHAKE || rc == -ENOMEM, "rc %d: %s", rc,
                          tls_last_error(srv.t));
                failed += rc != 0;
                cr_assert_eq(srv.ready, 0);
                tls_free(srv.t);
                srv.t = NULL;
                srv.out.len = srv.out_off = 0;
        }
        cr_assert_gt(failed, 100, "most garbage is refused, not waited on");
}

Test(tls, close_notify_client_first)
{
        open_pair();
        send_check(&srv, &cli, 10, 6);
        cr_assert_eq(tls_close(cli.t), 0);
        cr_assert_eq(tls_close(cli.t), 0, "closing twice is fine");
        cr_assert_eq(tls_send(cli.t, (const uint8_t *)"x", 1), -EPIPE);
        pump();
        cr_assert_eq(srv.in_rc, 0, "%s", tls_last_error(srv.t));
        cr_assert_eq(srv.closed, 1);
        cr_assert_eq(cli.closed, 0);
        /* The half-closed client still reads what the server sends. */
        send_check(&srv, &cli, 1000, 7);
        cr_assert_eq(tls_close(srv.t), 0);
        pump();
        cr_assert_eq(cli.in_rc, 0, "%s", tls_last_error(cli.t));
        cr_assert_eq(cli.closed, 1);
}

Test(tls, close_notify_server_first)
{
        open_pair();
        cr_assert_eq(tls_close(srv.t), 0);
        pump();
        cr_assert_eq(cli.closed, 1);
        cr_assert_eq(srv.closed, 0);
        /* Input after close_notify is ignored. */
        cr_assert_eq(tls_input(cli.t, (const uint8_t *)"junk", 4), 0);
        cr_assert_eq(cli.data.len, 0);
        cr_assert_eq(tls_close(cli.t), 0);
        pump();
        cr_assert_eq(srv.closed, 1);
}

Test(tls, emit_error_is_returned)
{
        new_pair("server.crt", "server.key", "ca.crt", false, "relay.test");
        cli.emit_rc = -ECONNRESET;
        cr_assert_eq(tls_start(cli.t), -ECONNRESET);
        cr_assert_not_null(strstr(tls_last_error(cli.t), "emit failed"));
        cr_assert_eq(tls_input(cli.t, (const uint8_t *)"\x16", 1), -ECONNRESET);
        cr_assert_eq(tls_close(cli.t), -ECONNRESET);
}

Test(tls, emit_error_after_handshake)
{
        open_pair();
        srv.emit_rc = -EPIPE;
        cr_assert_eq(tls_send(srv.t, (const uint8_t *)"hello", 5), -EPIPE);
}

Test(tls, bad_arguments_and_states)
{
        struct tls *t;
        uint8_t b = 0x16;

        new_pair("server.crt", "server.key", "ca.crt", false, "relay.test");
        cr_assert_eq(tls_client_new(&t, srv.ctx, "relay.test", &events, &cli), -EINVAL);
        cr_assert_eq(tls_server_new(&t, cli.ctx, &events, &srv), -EINVAL);
        cr_assert_eq(tls_client_new(&t, cli.ctx, NULL, &events, &cli), -EINVAL,
                     "a verifying client needs a name");
        cr_assert_eq(tls_input(cli.t, &b, 1), -EINVAL, "input before start");
        cr_assert_eq(tls_start(srv.t), -EINVAL);
        cr_assert_eq(tls_close(cli.t), -ENOTCONN);
        cr_assert_eq(tls_start(cli.t), 0);
        cr_assert_eq(tls_start(cli.t), -EINVAL);
}

Test(tls, ctx_errors_name_the_file)
{
        struct tls_ctx *c = (struct tls_ctx *)1;
        char crt[PATH_MAX], key[PATH_MAX], self_key[PATH_MAX], missing[PATH_MAX];
        char err[512] = "";

        path(crt, "server.crt");
        path(key, "server.key");
        path(self_key, "self.key");
        path(missing, "missing.key");
        cr_assert_eq(tls_ctx_server_new(&c, crt, missing, err, sizeof(err)), TLS_ECONFIG);
        cr_assert_null(c);
        cr_assert_not_null(strstr(err, missing), "%s", err);
        cr_assert_not_null(strstr(err, "key file"), "%s", err);
        cr_assert_not_null(strstr(err, "No such file"), "%s", err);

        cr_assert_eq(tls_ctx_server_new(&c, missing, key, err, sizeof(err)), TLS_ECONFIG);
        cr_assert_not_null(strstr(err, "certificate file"), "%s", err);

        /* A file that exists but holds no certificate. */
        cr_assert_eq(tls_ctx_server_new(&c, key, key, err, sizeof(err)), TLS_ECONFIG);
        cr_assert_not_null(strstr(err, key), "%s", err);

        cr_assert_eq(tls_ctx_server_new(&c, crt, self_key, err, sizeof(err)), TLS_ECONFIG);
        cr_assert_not_null(strstr(err, "does not match"), "%s", err);

        cr_assert_eq(tls_ctx_client_new(&c, missing, false, err, sizeof(err)), TLS_ECONFIG);
        cr_assert_not_null(strstr(err, missing), "%s", err);
        cr_assert_eq(tls_ctx_client_new(&c, key, false, err, sizeof(err)), TLS_ECONFIG);
        cr_assert_not_null(strstr(err, "CA file"), "%s", err);

        cr_assert_eq(tls_ctx_server_new(&c, crt, key, NULL, 0), 0, "err may be NULL");
        tls_ctx_free(c);
}
