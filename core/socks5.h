/* socks5: the server side of a SOCKS5 handshake (RFC 1928, with RFC 1929
 * username/password), as a sans-I/O engine.
 *
 * Sits between the client's listener (127.0.0.1:1080, one engine per accepted
 * app connection) and the session layer: the reactor pushes received bytes in
 * with socks5_feed(), sends what the engine put in s->out, and once the
 * CONNECT request is complete takes s->target, opens a session (an OPEN frame)
 * and later sends the reply socks5_reply() builds from the real dial result.
 * Only CONNECT is supported; names are not resolved here (the exit does it).
 *
 * The engine is a byte-exact state machine: it takes bytes in any split (one
 * per call works), copies at most what the current field needs into a small
 * internal buffer, and never consumes a byte after the CONNECT request, so
 * data the app pipelined before our reply stays with the caller, in order.
 *
 * Reply codes chosen where RFC 1928 names none: a request with VER != 5,
 * RSV != 0, port 0 or a bad domain name gets 0x01 (general failure).
 */
#ifndef URELAY_CORE_SOCKS5_H
#define URELAY_CORE_SOCKS5_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/frame.h"

/* socks5_feed() results besides the negative errors. */
#define SOCKS5_MORE  0 /* need more bytes */
#define SOCKS5_READY 1 /* s->target holds the CONNECT target */

/* RFC 1928 reply codes (REP). */
enum socks5_rep {
        SOCKS5_REP_OK = 0x00,
        SOCKS5_REP_GENERAL = 0x01,
        SOCKS5_REP_NOT_ALLOWED = 0x02,
        SOCKS5_REP_NET_UNREACH = 0x03,
        SOCKS5_REP_HOST_UNREACH = 0x04,
        SOCKS5_REP_REFUSED = 0x05,
        SOCKS5_REP_TTL = 0x06,
        SOCKS5_REP_CMD = 0x07,  /* command not supported */
        SOCKS5_REP_ATYP = 0x08, /* address type not supported */
};

/* s->reply_code after a failure that happened before the request: the
 * reply sent was a method (05 FF) or auth status (01 01) reply. */
#define SOCKS5_REP_NONE 0xffu

/* Errors: negative, below -MAX_ERRNO (4095), each naming what the app did
 * wrong. The bytes in s->out say it to the app the RFC way. */
enum {
        SOCKS5_EVERSION = -4701,   /* greeting VER is not 5 (reply 05 FF) */
        SOCKS5_ENOMETHODS = -4702, /* greeting NMETHODS is 0 (reply 05 FF) */
        SOCKS5_ENOMETHOD = -4703,  /* no acceptable method offered (reply 05 FF) */
        SOCKS5_EAUTHVER = -4704,   /* RFC 1929 VER is not 1 (reply 01 01) */
        SOCKS5_EAUTHLEN = -4705,   /* RFC 1929 ULEN or PLEN is 0 (reply 01 01) */
        SOCKS5_EAUTH = -4706,      /* wrong username or password (reply 01 01) */
        SOCKS5_EREQVER = -4707,    /* request VER is not 5 (REP 0x01) */
        SOCKS5_ECMD = -4708,       /* BIND, UDP ASSOCIATE or unknown CMD (REP 0x07) */
        SOCKS5_ERSV = -4709,       /* request RSV is not 0 (REP 0x01) */
        SOCKS5_EATYP = -4710,      /* ATYP not 1, 3 or 4 (REP 0x08) */
        SOCKS5_EDOMAIN = -4711,    /* domain length 0 or a byte outside 0x21..0x7e (REP 0x01) */
        SOCKS5_EPORT = -4712,      /* port 0 (REP 0x01) */
};

/* Configured credentials. user == NULL means no authentication (method
 * 0x00); otherwise only username/password (0x02) is accepted and both
 * strings must be 1..255 bytes (socks5_auth_valid()). The engine keeps the
 * pointer: the struct and its strings must outlive every engine using it. */
struct socks5_auth {
        const char *user;
        const char *password;
};

/* Largest reply one socks5_feed() call can produce: method choice (2) +
 * auth status (2) + a failure reply with an IPv4 zero address (10). */
#define SOCKS5_OUT_MAX 16
/* Largest reply socks5_reply() builds (IPv6 bound address). */
#define SOCKS5_REPLY_MAX 22

/* One handshake. Plain memory, no resources: nothing to free. After
 * SOCKS5_READY, target.addr points into this struct, so it must not move
 * while the target is in use (copy the target out if it has to). */
struct socks5 {
        const struct socks5_auth *auth;
        uint8_t state;
        uint16_t need; /* bytes the current field needs */
        uint16_t have; /* bytes of it already in buf */
        uint8_t atyp;
        size_t auth_diff;   /* non-zero once the username differed */
        uint8_t buf[257];   /* current field: up to 255 bytes of name + port */
        uint8_t addr[255];  /* target address bytes (target.addr points here) */
        int err;            /* sticky result once READY (1) or failed (< 0) */
        uint8_t reply_code; /* REP of the failure reply, or SOCKS5_REP_NONE */
        struct frame_target target;
        uint8_t out[SOCKS5_OUT_MAX];
        size_t out_len;
};

/* Returns 0 if <auth> is usable: NULL user (no auth), or user and password
 * both non-NULL and 1..255 bytes long; -EINVAL otherwise. A config loader
 * calls it; socks5_init() does not (an invalid pair simply never matches). */
int socks5_auth_valid(const struct socks5_auth *auth);

/* Starts a handshake. <auth> may be NULL (no authentication). */
void socks5_init(struct socks5 *s, const struct socks5_auth *auth);

/* Feeds p[0, n) (p may be NULL when n is 0). Sets *consumed to the bytes
 * taken: all of them while the handshake goes on, exactly up to the end of
 * the CONNECT request on SOCKS5_READY (the rest is the app's early data and
 * belongs to the session), up to the end of the bad field on an error.
 *
 * s->out[0, s->out_len) holds the bytes this call produced (method choice,
 * auth status, or the failure reply); each call starts with it empty, so the
 * caller queues them before the next call. Returns:
 *   SOCKS5_MORE   need more bytes;
 *   SOCKS5_READY  s->target is the CONNECT target (atyp 1/3/4, port != 0,
 *                 domain bytes in 0x21..0x7e); the caller dials and later
 *                 sends socks5_reply();
 *   SOCKS5_E*     the app broke the protocol: send s->out, then close.
 * After READY or an error, further calls consume nothing, produce nothing
 * and return the same result. */
int socks5_feed(struct socks5 *s, const uint8_t *p, size_t n, size_t *consumed);

/* Builds the reply to a CONNECT in out[0, SOCKS5_REPLY_MAX): VER 5, <rep>,
 * RSV 0, then <bound> (AF_INET or AF_INET6, port included) or 0.0.0.0:0 when
 * it is NULL or of another family. Returns the length: 10 or 22. */
size_t socks5_reply(uint8_t *out, uint8_t rep, const struct sockaddr *bound);

/* A static string for a SOCKS5_E* code (or SOCKS5_MORE / SOCKS5_READY). */
const char *socks5_strerror(int err);

#endif
