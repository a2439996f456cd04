/* tls: the TLS layer over wolfSSL's non-blocking API and custom I/O callbacks.
 *
 * See transport/tls.h for the contract. wolfSSL's recv callback serves the
 * bytes of the current tls_input() call and says WANT_READ when they run out
 * (wolfSSL keeps partial records itself); its send callback hands records to
 * the emit callback and always takes everything, so WANT_WRITE never happens
 * and a failed emit keeps its errno for the caller (curl's vtls/wolfssl.c
 * does the same). One tls_input() call runs the handshake and then reads
 * until WANT_READ, because one socket read can hold many records.
 */
#include "transport/tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

/* TLS 1.3 suites first. With the assembly build AES-GCM runs on AES-NI and
 * wins; Debian's wolfSSL has no asm, where ChaCha20 is three times faster
 * (reliability.md §0 finding 3). No CBC, no NULL, no anonymous suites. */
#if URELAY_WOLFSSL_SOURCE_BUILD
#define TLS13_SUITES                                                                               \
        "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256"
#define TLS12_SUITES                                                                               \
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#else
#define TLS13_SUITES                                                                               \
        "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384"
#define TLS12_SUITES                                                                               \
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                               \
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"
#endif

#define REC_HANDSHAKE 0x16 /* TLS record content types a stream may start with */
#define REC_ALERT     0x15
#define WRITE_CHUNK   (1024 * 1024) /* keeps wolfSSL_write's int length in range */

struct tls_ctx {
        WOLFSSL_CTX *ctx;
        bool client, insecure;
};

enum tls_state {
        ST_NEW,       /* client before tls_start */
        ST_HANDSHAKE, /* waiting for the peer */
        ST_OPEN,
        ST_FAILED, /* a call returned a fatal error, kept in err */
};

struct tls {
        WOLFSSL *ssl;
        struct tls_events ev;
        void *ud;
        bool client;
        enum tls_state state;
        bool sent_close, peer_closed, seen_first;
        int err;    /* the fatal error every call returns once failed */
        int io_err; /* the emit error behind a wolfSSL SOCKET_ERROR_E */
        /* The current tls_input() bytes, served to wolfSSL's recv callback. */
        const uint8_t *in;
        size_t in_len;
        /* Plaintext tls_send() took before the handshake completed. */
        uint8_t *pend;
        size_t pend_len, pend_cap;
        char sni[256];
        char msg[192];
        uint8_t rbuf[16384]; /* one record of plaintext */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void init_wolfssl(void)
{
        init_rc = wolfSSL_Init();
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;

        if (!err || !errlen)
                return;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

/* --- contexts ------------------------------------------------------------ */

static int recv_cb(WOLFSSL *ssl, char *buf, int sz, void *ud);
static int send_cb(WOLFSSL *ssl, char *buf, int sz, void *ud);

/* The settings both kinds share: versions, suites, the memory I/O. This
 * wolfSSL has no early data or renegotiation compiled in, so 0-RTT and
 * renegotiation need no switch here. */
static int ctx_new(struct tls_ctx **out, bool client, char *err, size_t errlen)
{
        struct tls_ctx *c;

        *out = NULL;
        pthread_once(&init_once, init_wolfssl);
        if (init_rc != WOLFSSL_SUCCESS) {
                set_err(err, errlen, "wolfSSL_Init failed (%d)", init_rc);
                return TLS_ECONFIG;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->client = client;
        c->ctx = wolfSSL_CTX_new(client ? wolfSSLv23_client_method() : wolfSSLv23_server_method());
        if (!c->ctx) {
                free(c);
                return -ENOMEM;
        }
        if (wolfSSL_CTX_SetMinVersion(c->ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS ||
            wolfSSL_CTX_set_cipher_list(c->ctx, TLS13_SUITES ":" TLS12_SUITES) != WOLFSSL_SUCCESS) {
                set_err(err, errlen, "cannot set the TLS version or cipher suites");
                tls_ctx_free(c);
                return TLS_ECONFIG;
        }
        wolfSSL_CTX_SetIORecv(c->ctx, recv_cb);
        wolfSSL_CTX_SetIOSend(c->ctx, send_cb);
        *out = c;
        return 0;
}

int tls_ctx_client_new(struct tls_ctx **out, const char *ca_file, bool insecure, char *err,
                       size_t errlen)
{
        struct tls_ctx *c;
        int rc = ctx_new(&c, true, err, errlen);

        *out = NULL;
        if (rc)
                return rc;
        c->insecure = insecure;
        if (insecure) {
                wolfSSL_CTX_set_verify(c->ctx, WOLFSSL_VERIFY_NONE, NULL);
                *out = c;
                return 0;
        }
        /* Without VERIFY_PEER wolfSSL accepts any certificate. */
        wolfSSL_CTX_set_verify(c->ctx, WOLFSSL_VERIFY_PEER, NULL);
        if (ca_file) {
                FILE *f = fopen(ca_file, "r");

                if (!f) {
                        set_err(err, errlen, "cannot read CA file %s: %s", ca_file,
                                strerror(errno));
                        goto fail;
                }
                fclose(f);
                rc = wolfSSL_CTX_load_verify_locations(c->ctx, ca_file, NULL);
                if (rc != WOLFSSL_SUCCESS) {
                        set_err(err, errlen,
                                "cannot load CA file %s: no usable PEM certificate (%d)", ca_file,
                                rc);
                        goto fail;
                }
        } else if (wolfSSL_CTX_load_system_CA_certs(c->ctx) != WOLFSSL_SUCCESS) {
                set_err(err, errlen, "cannot load the system CA certificates");
                goto fail;
        }
        *out = c;
        return 0;
fail:
        tls_ctx_free(c);
        return TLS_ECONFIG;
}

/* Opens <path> first so that a missing or unreadable file is named with its
 * errno, which wolfSSL's own codes do not carry. */
static int load_file(struct tls_ctx *c, const char *what, const char *path, bool key, char *err,
                     size_t errlen)
{
        FILE *f;
        int rc;

        if (!path) {
                set_err(err, errlen, "no %s file given", what);
                return TLS_ECONFIG;
        }
        f = fopen(path, "r");
        if (!f) {
                set_err(err, errlen, "cannot read %s file %s: %s", what, path, strerror(errno));
                return TLS_ECONFIG;
        }
        fclose(f);
        rc = key ? wolfSSL_CTX_use_PrivateKey_file(c->ctx, path, WOLFSSL_FILETYPE_PEM)
                 : wolfSSL_CTX_use_certificate_chain_file(c->ctx, path);
        if (rc != WOLFSSL_SUCCESS) {
                set_err(err, errlen, "cannot load %s file %s: not a usable PEM %s (%d)", what, path,
                        what, rc);
                return TLS_ECONFIG;
        }
        return 0;
}

/* Bytes one side of the self-test emitted, not yet fed to the other. */
struct st_pipe {
        uint8_t *p;
        size_t len;
        bool ready;
};

static int st_emit(void *ud, const uint8_t *p, size_t n)
{
        struct st_pipe *q = ud;
        uint8_t *np = realloc(q->p, q->len + n);

        if (!np)
                return -ENOMEM;
        memcpy(np + q->len, p, n);
        q->p = np;
        q->len += n;
        return 0;
}

static void st_ready(void *ud)
{
        ((struct st_pipe *)ud)->ready = true;
}

/* Hands what <from> emitted to <t>. */
static int st_move(struct st_pipe *from, struct tls *t)
{
        uint8_t *p = from->p;
        size_t n = from->len;
        int rc;

        from->p = NULL;
        from->len = 0;
        rc = tls_input(t, p, n);
        free(p);
        return rc;
}

/* wolfSSL_CTX_check_private_key passes an EC key that does not match the
 * certificate (seen with 5.5.4), and such a server would fail every
 * handshake later. One in-memory handshake against an insecure client
 * proves the pair: TLS 1.3's CertificateVerify is signed with the key and
 * checked against the certificate, whatever the verify mode. */
static int self_test(struct tls_ctx *srv_ctx)
{
        static const struct tls_events ev = {.emit = st_emit, .on_ready = st_ready};
        struct st_pipe cp = {0}, sp = {0};
        struct tls_ctx *cli_ctx = NULL;
        struct tls *cli = NULL, *srv = NULL;
        int rc = tls_ctx_client_new(&cli_ctx, NULL, true, NULL, 0);

        if (!rc)
                rc = tls_client_new(&cli, cli_ctx, NULL, &ev, &cp);
        if (!rc)
                rc = tls_server_new(&srv, srv_ctx, &ev, &sp);
        if (!rc)
                rc = tls_start(cli);
        /* A handshake is a few flights; the bound only stops a stuck loop. */
        for (int i = 0; !rc && i < 8 && !(cp.ready && sp.ready); i++) {
                rc = st_move(&cp, srv);
                if (!rc)
                        rc = st_move(&sp, cli);
        }
        if (!rc && !(cp.ready && sp.ready))
                rc = TLS_EHANDSHAKE;
        tls_free(cli);
        tls_free(srv);
        tls_ctx_free(cli_ctx);
        free(cp.p);
        free(sp.p);
        return rc;
}

int tls_ctx_server_new(struct tls_ctx **out, const char *cert_file, const char *key_file, char *err,
                       size_t errlen)
{
        struct tls_ctx *c;
        int rc = ctx_new(&c, false, err, errlen);

        *out = NULL;
        if (rc)
                return rc;
        rc = load_file(c, "certificate", cert_file, false, err, errlen);
        if (!rc)
                rc = load_file(c, "key", key_file, true, err, errlen);
        if (!rc &&
            (wolfSSL_CTX_check_private_key(c->ctx) != WOLFSSL_SUCCESS || self_test(c) != 0)) {
                set_err(err, errlen, "key file %s does not match certificate file %s", key_file,
                        cert_file);
                rc = TLS_ECONFIG;
        }
        if (rc) {
                tls_ctx_free(c);
                return rc;
        }
        *out = c;
        return 0;
}

void tls_ctx_free(struct tls_ctx *c)
{
        if (!c)
                return;
        wolfSSL_CTX_free(c->ctx);
        free(c);
}

/* --- wolfSSL I/O callbacks ----------------------------------------------- */

static int recv_cb(WOLFSSL *ssl, char *buf, int sz, void *ud)
{
        struct tls *t = ud;
        size_t n = (size_t)sz < t->in_len ? (size_t)sz : t->in_len;

        (void)ssl;
        if (!n)
                return WOLFSSL_CBIO_ERR_WANT_READ;
        memcpy(buf, t->in, n);
        t->in += n;
        t->in_len -= n;
        return (int)n;
}

static int send_cb(WOLFSSL *ssl, char *buf, int sz, void *ud)
{
        struct tls *t = ud;
        int rc;

        (void)ssl;
        rc = t->ev.emit(t->ud, (const uint8_t *)buf, (size_t)sz);
        if (rc < 0) {
                t->io_err = rc;
                return WOLFSSL_CBIO_ERR_GENERAL;
        }
        return sz;
}

/* --- endpoints ----------------------------------------------------------- */

static int tls_new(struct tls **out, struct tls_ctx *c, bool client, const char *sni,
                   const struct tls_events *ev, void *ud)
{
        struct tls *t;

        *out = NULL;
        if (!c || c->client != client || !ev || !ev->emit)
                return -EINVAL;
        if (client && (!sni || !*sni) && !c->insecure)
                return -EINVAL;
        if (sni && strlen(sni) >= sizeof(t->sni))
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->ssl = wolfSSL_new(c->ctx);
        if (!t->ssl) {
                free(t);
                return -ENOMEM;
        }
        t->ev = *ev;
        t->ud = ud;
        t->client = client;
        t->state = client ? ST_NEW : ST_HANDSHAKE;
        wolfSSL_SetIOReadCtx(t->ssl, t);
        wolfSSL_SetIOWriteCtx(t->ssl, t);
        if (client && sni && *sni) {
                snprintf(t->sni, sizeof(t->sni), "%s", sni);
                if (wolfSSL_UseSNI(t->ssl, WOLFSSL_SNI_HOST_NAME, sni,
                                   (unsigned short)strlen(sni)) != WOLFSSL_SUCCESS)
                        goto fail;
                /* SNI alone verifies nothing: this makes the name count. */
                if (!c->insecure && wolfSSL_check_domain_name(t->ssl, sni) != WOLFSSL_SUCCESS)
                        goto fail;
        }
        *out = t;
        return 0;
fail:
        tls_free(t);
        return TLS_EINTERNAL;
}

int tls_client_new(struct tls **out, struct tls_ctx *c, const char *sni,
                   const struct tls_events *ev, void *ud)
{
        return tls_new(out, c, true, sni, ev, ud);
}

int tls_server_new(struct tls **out, struct tls_ctx *c, const struct tls_events *ev, void *ud)
{
        return tls_new(out, c, false, NULL, ev, ud);
}

void tls_free(struct tls *t)
{
        if (!t)
                return;
        wolfSSL_free(t->ssl);
        free(t->pend);
        free(t);
}

/* --- errors -------------------------------------------------------------- */

static int fail(struct tls *t, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct tls *t, int err, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
        va_end(ap);
        t->state = ST_FAILED;
        t->err = err;
        return err;
}

static const char *alert_name(int code)
{
        switch (code) {
        case 10:
                return "unexpected message";
        case 20:
                return "bad record mac";
        case 40:
                return "handshake failure";
        case 42:
                return "bad certificate";
        case 43:
                return "unsupported certificate";
        case 45:
                return "certificate expired";
        case 46:
                return "certificate unknown";
        case 47:
                return "illegal parameter";
        case 48:
                return "unknown CA";
        case 50:
                return "decode error";
        case 51:
                return "decrypt error";
        case 70:
                return "protocol version";
        case 71:
                return "insufficient security";
        case 80:
                return "internal error";
        case 109:
                return "missing extension";
        case 112:
                return "unrecognized name";
        case 116:
                return "certificate required";
        case 120:
                return "no application protocol";
        default:
                return "unknown alert";
        }
}

static const char *verify_reason(int e)
{
        switch (e) {
        case ASN_NO_SIGNER_E:
                return "no trusted CA signed it";
        case ASN_SELF_SIGNED_E:
                return "self-signed and not trusted";
        case ASN_AFTER_DATE_E:
                return "certificate expired";
        case ASN_BEFORE_DATE_E:
                return "certificate not yet valid";
        case ASN_SIG_CONFIRM_E:
                return "bad signature";
        default:
                return NULL;
        }
}

/* Turns a wolfSSL error from connect/accept/read/write/shutdown into ours,
 * with the message that explains it. */
static int fail_ssl(struct tls *t, int ret)
{
        int e = wolfSSL_get_error(t->ssl, ret);
        bool hs = t->state != ST_OPEN;
        const char *why = verify_reason(e);
        char detail[80];

        if (t->io_err)
                return fail(t, t->io_err, "emit failed: %s", strerror(-t->io_err));
        if (e == MEMORY_E)
                return fail(t, -ENOMEM, "out of memory in wolfSSL");
        if (e == DOMAIN_NAME_MISMATCH)
                return fail(t, TLS_ENAME, "host name mismatch: the certificate does not cover %s",
                            t->sni);
        if (why || e == VERIFY_CERT_ERROR)
                return fail(t, TLS_EVERIFY, "certificate verify failed: %s",
                            why ? why : "rejected by the verifier");
        if (e == FATAL_ERROR) {
                WOLFSSL_ALERT_HISTORY h;

                memset(&h, 0, sizeof(h));
                wolfSSL_get_alert_history(t->ssl, &h);
                return fail(t, hs ? TLS_EHANDSHAKE : TLS_EPROTO, "peer sent alert %d (%s)%s",
                            h.last_rx.code, alert_name(h.last_rx.code),
                            hs ? " during the handshake" : "");
        }
        wolfSSL_ERR_error_string_n((unsigned long)e, detail, sizeof(detail));
        return fail(t, hs ? TLS_EHANDSHAKE : TLS_EPROTO, "%s: %s (%d)",
                    hs ? "handshake failed" : "bad record", detail, e);
}

/* A TLS stream starts with a handshake record (or an alert refusing ours);
 * anything else is a peer speaking something else, usually plaintext HTTP. */
static int check_first(struct tls *t, uint8_t b)
{
        t->seen_first = true;
        if (b == REC_HANDSHAKE || b == REC_ALERT)
                return 0;
        if (b >= 'A' && b <= 'Z')
                return fail(t, TLS_ENOTTLS,
                            t->client ? "not TLS (the server answered in plaintext: HTTP port?)"
                                      : "not TLS (plaintext HTTP sent to a TLS port?)");
        return fail(t, TLS_ENOTTLS, "not TLS (first byte 0x%02x is no TLS record type)", b);
}

/* --- the engine ---------------------------------------------------------- */

static int write_all(struct tls *t, const uint8_t *p, size_t n)
{
        while (n) {
                int len = n < WRITE_CHUNK ? (int)n : WRITE_CHUNK;
                int ret = wolfSSL_write(t->ssl, p, len);

                if (ret <= 0)
                        return fail_ssl(t, ret);
                p += ret;
                n -= (size_t)ret;
        }
        return 0;
}

/* Finishes the handshake if the input allows; 0 also when it needs more. */
static int handshake(struct tls *t)
{
        int ret = t->client ? wolfSSL_connect(t->ssl) : wolfSSL_accept(t->ssl);
        int rc;

        if (ret != WOLFSSL_SUCCESS) {
                if (wolfSSL_get_error(t->ssl, ret) == WOLFSSL_ERROR_WANT_READ && !t->io_err)
                        return 0;
                return fail_ssl(t, ret);
        }
        t->state = ST_OPEN;
        /* Queued plaintext goes first, so on_ready's own sends follow it. */
        rc = write_all(t, t->pend, t->pend_len);
        free(t->pend);
        t->pend = NULL;
        t->pend_len = t->pend_cap = 0;
        if (rc)
                return rc;
        if (t->ev.on_ready)
                t->ev.on_ready(t->ud);
        return t->state == ST_FAILED ? t->err : 0;
}

/* Reads records until wolfSSL needs more bytes; stops at close_notify. */
static int read_all(struct tls *t)
{
        while (t->state == ST_OPEN && !t->peer_closed) {
                int ret = wolfSSL_read(t->ssl, t->rbuf, sizeof(t->rbuf));

                if (ret > 0) {
                        if (t->ev.on_data)
                                t->ev.on_data(t->ud, t->rbuf, (size_t)ret);
                        continue;
                }
                int e = wolfSSL_get_error(t->ssl, ret);

                if (e == WOLFSSL_ERROR_WANT_READ && !t->io_err)
                        return 0;
                if (e == WOLFSSL_ERROR_ZERO_RETURN || e == ZERO_RETURN) {
                        t->peer_closed = true;
                        if (t->ev.on_close)
                                t->ev.on_close(t->ud);
                        return 0;
                }
                return fail_ssl(t, ret);
        }
        return t->state == ST_FAILED ? t->err : 0;
}

int tls_start(struct tls *t)
{
        int ret;

        if (!t->client || t->state != ST_NEW)
                return -EINVAL;
        t->state = ST_HANDSHAKE;
        ret = wolfSSL_connect(t->ssl);
        if (ret == WOLFSSL_SUCCESS || wolfSSL_get_error(t->ssl, ret) != WOLFSSL_ERROR_WANT_READ ||
            t->io_err)
                return fail_ssl(t, ret);
        return 0;
}

int tls_input(struct tls *t, const uint8_t *p, size_t n)
{
        int rc = 0;

        if (t->state == ST_FAILED)
                return t->err;
        if (t->state == ST_NEW)
                return -EINVAL;
        if (t->peer_closed || !n)
                return 0;
        if (!t->seen_first && (rc = check_first(t, p[0])))
                return rc;
        t->in = p;
        t->in_len = n;
        if (t->state == ST_HANDSHAKE)
                rc = handshake(t);
        if (!rc && t->state == ST_OPEN)
                rc = read_all(t);
        t->in = NULL;
        t->in_len = 0;
        return rc;
}

static int queue(struct tls *t, const uint8_t *p, size_t n)
{
        if (n > TLS_PENDING_MAX - t->pend_len)
                return -ENOBUFS;
        if (t->pend_len + n > t->pend_cap) {
                size_t cap = t->pend_cap ? t->pend_cap : 4096;
                uint8_t *np;

                while (cap < t->pend_len + n)
                        cap *= 2;
                np = realloc(t->pend, cap);
                if (!np)
                        return -ENOMEM;
                t->pend = np;
                t->pend_cap = cap;
        }
        memcpy(t->pend + t->pend_len, p, n);
        t->pend_len += n;
        return 0;
}

int tls_send(struct tls *t, const uint8_t *p, size_t n)
{
        if (t->state == ST_FAILED || t->sent_close)
                return -EPIPE;
        if (!n)
                return 0;
        if (t->state != ST_OPEN)
                return queue(t, p, n);
        return write_all(t, p, n);
}

int tls_close(struct tls *t)
{
        int ret;

        if (t->state == ST_FAILED)
                return t->err;
        if (t->state != ST_OPEN)
                return -ENOTCONN;
        if (t->sent_close)
                return 0;
        t->sent_close = true;
        ret = wolfSSL_shutdown(t->ssl);
        if (ret == WOLFSSL_SUCCESS || ret == WOLFSSL_SHUTDOWN_NOT_DONE)
                return t->io_err ? fail_ssl(t, ret) : 0;
        return fail_ssl(t, ret);
}

/* --- introspection ------------------------------------------------------- */

const char *tls_last_error(const struct tls *t)
{
        return t->msg;
}

const char *tls_version(const struct tls *t)
{
        return t->state == ST_OPEN ? wolfSSL_get_version(t->ssl) : "";
}

const char *tls_cipher(const struct tls *t)
{
        const char *s = t->state == ST_OPEN ? wolfSSL_get_cipher_name(t->ssl) : NULL;

        return s ? s : "";
}

const char *tls_strerror(int err)
{
        switch (err) {
        case 0:
                return "success";
        case TLS_EVERIFY:
                return "certificate verify failed";
        case TLS_ENAME:
                return "host name mismatch";
        case TLS_ENOTTLS:
                return "not TLS";
        case TLS_EHANDSHAKE:
                return "TLS handshake failed";
        case TLS_EPROTO:
                return "bad TLS record";
        case TLS_ECONFIG:
                return "TLS configuration error";
        case TLS_EINTERNAL:
                return "wolfSSL internal error";
        case -EINVAL:
                return "invalid argument or state";
        case -ENOMEM:
                return "out of memory";
        case -EPIPE:
                return "TLS connection closed";
        case -ENOTCONN:
                return "TLS handshake not complete";
        case -ENOBUFS:
                return "too much data queued before the handshake";
        default:
                return err < 0 && err > -4096 ? strerror(-err) : "unknown TLS error";
        }
}
