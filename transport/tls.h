/* tls: a TLS layer over wolfSSL, client and server halves, sans-I/O.
 *
 * Sits in transport/, between the reactor (which owns the socket, pushes the
 * ciphertext it reads into tls_input() and writes what the layer emits) and
 * the WebSocket engine (transport/ws.h), which it carries as wss://: the
 * plaintext the peer sent comes up through on_data, the plaintext to send goes
 * down through tls_send(). The layer never touches a file descriptor: wolfSSL
 * reads from the bytes of the current tls_input() call and writes through the
 * emit callback, so "would block" only ever means "feed me more".
 *
 * Policy: TLS 1.2 at least, 1.3 preferred; AEAD suites only (AES-GCM,
 * ChaCha20-Poly1305); no 0-RTT, no renegotiation. A client verifies the
 * server's chain (a CA file, or the system CAs) AND that the certificate
 * covers the SNI name; skipping both takes an explicit insecure=true
 * (reliability.md §0 finding 1: wolfSSL verifies nothing unless told to).
 *
 * Callbacks run inside tls_start(), tls_input(), tls_send() and tls_close().
 * Inside a callback the caller may call tls_send() and tls_close(), never
 * tls_input() or tls_free().
 */
#ifndef URELAY_TRANSPORT_TLS_H
#define URELAY_TRANSPORT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors, negative and below -MAX_ERRNO (4095); tls_last_error() says more. */
enum {
        TLS_EVERIFY = -5101,    /* the peer's certificate chain did not verify */
        TLS_ENAME = -5102,      /* the certificate does not cover the host name */
        TLS_ENOTTLS = -5103,    /* the peer does not speak TLS (plaintext HTTP?) */
        TLS_EHANDSHAKE = -5104, /* the handshake failed (alert, no common version/suite) */
        TLS_EPROTO = -5105,     /* a bad record after the handshake */
        TLS_ECONFIG = -5106,    /* a context could not be set up (a file, a setting) */
        TLS_EINTERNAL = -5107,  /* wolfSSL failed in a way that is not the peer's doing */
};

/* Upper bound on plaintext queued by tls_send() before the handshake. */
#define TLS_PENDING_MAX (1024 * 1024)

struct tls_ctx;
struct tls;

struct tls_events {
        /* Takes ciphertext for the socket, in order, all n bytes (copied or
         * queued by the owner). Returns 0, or a negative errno when the
         * connection is dead: the layer fails and the call that was emitting
         * returns that errno. There is no "try later": the owner buffers.
         * Required. */
        int (*emit)(void *ud, const uint8_t *p, size_t n);
        /* The handshake is done and what tls_send() queued has been sent.
         * Optional. */
        void (*on_ready)(void *ud);
        /* Plaintext from the peer; p is valid during the call only. */
        void (*on_data)(void *ud, const uint8_t *p, size_t n);
        /* Once, when the peer's close_notify arrived; later input is
         * ignored. Answer with tls_close() and then close the socket.
         * Optional. */
        void (*on_close)(void *ud);
};

/* Creates a client context. <ca_file> (PEM) is the trust store, NULL for the
 * system CAs; <insecure> skips chain and name verification (explicit opt-in,
 * for tests and pinned private relays). Returns 0, -ENOMEM, or TLS_ECONFIG
 * with a message naming what failed in <err> (may be NULL). */
int tls_ctx_client_new(struct tls_ctx **out, const char *ca_file, bool insecure, char *err,
                       size_t errlen);

/* Creates a server context from a PEM certificate chain (leaf first) and its
 * PEM private key. Returns 0, -ENOMEM, or TLS_ECONFIG with a message naming
 * the file that failed to load (or "does not match") in <err>. */
int tls_ctx_server_new(struct tls_ctx **out, const char *cert_file, const char *key_file, char *err,
                       size_t errlen);

/* Frees a context. Every tls made from it must be freed first. NULL is fine. */
void tls_ctx_free(struct tls_ctx *c);

/* Creates a client endpoint from a client context. <sni> is sent as SNI and
 * is the name the certificate must cover; it may be NULL only on an insecure
 * context. <ev> is copied. Returns 0, -EINVAL (wrong context kind, missing
 * emit or sni), -ENOMEM or TLS_EINTERNAL. */
int tls_client_new(struct tls **out, struct tls_ctx *c, const char *sni,
                   const struct tls_events *ev, void *ud);

/* Creates a server endpoint from a server context; it waits for the
 * ClientHello in tls_input(). Same returns as tls_client_new. */
int tls_server_new(struct tls **out, struct tls_ctx *c, const struct tls_events *ev, void *ud);

/* Client: emits the ClientHello. Returns 0, -EINVAL (called twice, or on a
 * server), the emit error, or a TLS_E* code. */
int tls_start(struct tls *t);

/* Feeds ciphertext read from the socket (all of it is consumed). Drives the
 * handshake (on_ready when done), delivers plaintext through on_data and the
 * peer's close_notify through on_close. Returns 0, or a negative code when
 * the connection is dead: a TLS_E* code (see tls_last_error()), the emit
 * error, or -ENOMEM; every later call returns the same code. -EINVAL before
 * tls_start() on a client. */
int tls_input(struct tls *t, const uint8_t *p, size_t n);

/* Sends plaintext (copied: <p> is the caller's again on return). Before the
 * handshake completes it is queued and sent just before on_ready. Returns 0,
 * -EPIPE (closed or failed), -ENOBUFS (more than TLS_PENDING_MAX queued),
 * -ENOMEM, the emit error, or a TLS_E* code. */
int tls_send(struct tls *t, const uint8_t *p, size_t n);

/* Sends close_notify; later tls_send() calls return -EPIPE, input is still
 * read until the peer's close_notify. Returns 0 (also when already closed),
 * -ENOTCONN before the handshake completes, the stored error after a
 * failure, or the emit error. */
int tls_close(struct tls *t);

/* Frees the endpoint (without sending anything). NULL is fine. */
void tls_free(struct tls *t);

/* A static string for a TLS_E* code or the -errno values above. */
const char *tls_strerror(int err);

/* What went wrong, in words, after a call returned an error ("certificate
 * verify failed: ...", "host name mismatch: ...", "not TLS (plaintext HTTP
 * sent to a TLS port?)"); "" if nothing did. Valid until tls_free. */
const char *tls_last_error(const struct tls *t);

/* The negotiated version ("TLSv1.3") and cipher suite, or "" before the
 * handshake completes. */
const char *tls_version(const struct tls *t);
const char *tls_cipher(const struct tls *t);

#endif
