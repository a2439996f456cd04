/* frame: encoder and strict, zero-copy decoder for the frames inside a batch.
 *
 * Sits above core/aead.h (which hands out the decrypted frames region of a
 * batch) and below the session streams, which act on frames. Byte layouts and
 * semantics are in docs/protocol.md; all integers are big-endian.
 *
 * Decoding never allocates and never copies: pointers in a decoded frame
 * (target address, data) point into the input, and stay valid as long as the
 * input does. Every field is checked; anything this decoder rejects, the
 * encoder refuses to produce, with the same error.
 */
#ifndef URELAY_CORE_FRAME_H
#define URELAY_CORE_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum frame_type {
        FRAME_OPEN = 1,
        FRAME_DATA = 2,
        FRAME_FIN = 3,
        FRAME_RST = 4,
        FRAME_ACK = 5, /* ACK/WINDOW */
        FRAME_PING = 6,
        FRAME_CHALLENGE = 7, /* exit -> client: a cookie to prove freshness with */
        FRAME_PROOF = 8,     /* client -> exit: the latest cookie, first in a batch */
};

/* Target address types, as in SOCKS5 (RFC 1928). */
enum frame_atyp {
        FRAME_ATYP_IPV4 = 1,
        FRAME_ATYP_DOMAIN = 3,
        FRAME_ATYP_IPV6 = 4,
};

/* RST reasons. 0x01-0x08 are SOCKS5 reply codes and mean the same thing;
 * 0x10 and up are relay-specific (SOCKS5 sees 0x01). */
enum frame_rst_reason {
        FRAME_RST_GENERAL = 0x01,      /* general failure */
        FRAME_RST_NOT_ALLOWED = 0x02,  /* egress policy refused the target */
        FRAME_RST_NET_UNREACH = 0x03,  /* network unreachable */
        FRAME_RST_HOST_UNREACH = 0x04, /* host unreachable, name did not resolve */
        FRAME_RST_REFUSED = 0x05,      /* connection refused */
        FRAME_RST_TIMEOUT = 0x06,      /* dial timed out (SOCKS5 "TTL expired") */
        FRAME_RST_ATYP = 0x08,         /* address type not supported at the exit */
        FRAME_RST_PROTOCOL = 0x10,     /* peer broke the stream rules */
        FRAME_RST_CAP = 0x11,          /* a session or memory cap was hit */
        FRAME_RST_UNKNOWN = 0x12,      /* no such session (exit restarted, or forgotten) */
        FRAME_RST_ABORT = 0x13,        /* the app or target reset the connection */
};

/* ACK flags. Every other bit is rejected. */
#define FRAME_ACK_OPENED   0x01u /* the exit's dial succeeded (first ACK of a session) */
#define FRAME_ACK_FIN_SEEN 0x02u /* the sender's FIN arrived, after all bytes before it */
#define FRAME_ACK_FLAGS    (FRAME_ACK_OPENED | FRAME_ACK_FIN_SEEN)

/* PING flags: 0 = ping, 1 = pong (echoes the token), 2 = ping that also
 * asks the receiver to resend everything not yet acknowledged (the sender
 * lost batches of the receiver's: a failed POST, a dropped connection). */
#define FRAME_PING_PONG   0x01u
#define FRAME_PING_REWIND 0x02u

/* CHALLENGE flags (docs/protocol.md §3.6). KNOWN: the exit has this client
 * instance (without it, every session the exit heard of is gone). REFUSED:
 * the batch it answers was not acted on: send its frames again with the
 * cookie as PROOF. Neither: a fresh cookie for the next batches. */
#define FRAME_CHAL_KNOWN   0x01u
#define FRAME_CHAL_REFUSED 0x02u
#define FRAME_CHAL_FLAGS   (FRAME_CHAL_KNOWN | FRAME_CHAL_REFUSED)
#define FRAME_COOKIE_LEN   16

/* Limits. */
#define FRAME_MAX_DATA  65536u /* DATA payload, bytes */
#define FRAME_MAX_INIT  65535u /* OPEN initial data (u16 length) */
#define FRAME_MAX_NAME  255u   /* domain name */
#define FRAME_OPEN_HDR  8      /* type, sid, atyp, then address; + port u16 + init len u16 */
#define FRAME_DATA_HDR  17     /* type, sid, offset u64, len u32 */
#define FRAME_FIN_LEN   13     /* type, sid, final offset u64 */
#define FRAME_RST_LEN   6      /* type, sid, reason */
#define FRAME_ACK_LEN   18     /* type, sid, flags, acked u64, window u32 */
#define FRAME_PING_LEN  10     /* type, flags, token u64 */
#define FRAME_CHAL_LEN  34     /* type, flags, cookie, heard u64, answers u64 */
#define FRAME_PROOF_LEN 17     /* type, cookie */
/* Largest frame: OPEN with a 255-byte name and 65535 bytes of initial data. */
#define FRAME_MAX_LEN (1 + 4 + 1 + 1 + FRAME_MAX_NAME + 2 + 2 + FRAME_MAX_INIT)

/* Errors, negative and below -MAX_ERRNO (4095) so they never collide with
 * -ENOSPC, which encoders return when the output does not fit. */
enum {
        FRAME_ETRUNC = -4301,    /* input ends inside a frame */
        FRAME_ETYPE = -4302,     /* unknown frame type */
        FRAME_ETOOBIG = -4303,   /* DATA length over FRAME_MAX_DATA */
        FRAME_EZERO = -4304,     /* zero length where it is forbidden */
        FRAME_EATYP = -4305,     /* address type not 1, 3 or 4 */
        FRAME_EDOMAIN = -4306,   /* domain length 0, or a byte outside 0x21..0x7e */
        FRAME_EPORT = -4307,     /* port 0 */
        FRAME_ESID = -4308,      /* session id 0 */
        FRAME_EFLAGS = -4309,    /* unknown flag bits */
        FRAME_EOFFSET = -4310,   /* offset + length overflows 64 bits */
        FRAME_ETRAILING = -4311, /* bytes after the last whole frame of a region */
        FRAME_EREASON = -4312,   /* unknown RST reason */
        FRAME_EADDRLEN = -4313,  /* encoder: address length does not fit the type */
};

/* Target of an OPEN. <addr> points at 4 (IPv4), 16 (IPv6) or addr_len (domain,
 * not NUL-terminated) bytes. */
struct frame_target {
        uint8_t atyp;
        uint8_t addr_len;
        uint16_t port; /* host order, non-zero */
        const uint8_t *addr;
};

struct frame {
        uint8_t type; /* enum frame_type */
        uint32_t sid; /* session frames only (not PING); never 0 */
        union {
                struct {
                        struct frame_target target;
                        const uint8_t *data; /* initial data, stream offset 0 */
                        uint16_t data_len;   /* may be 0 */
                } open;
                struct {
                        uint64_t offset; /* stream offset of data[0] */
                        const uint8_t *data;
                        uint32_t len; /* 1..FRAME_MAX_DATA */
                } data;
                struct {
                        uint64_t offset; /* total bytes sent in this direction */
                } fin;
                struct {
                        uint8_t reason; /* enum frame_rst_reason */
                } rst;
                struct {
                        uint8_t flags;   /* FRAME_ACK_* */
                        uint64_t acked;  /* every byte below this offset arrived */
                        uint32_t window; /* the sender may send up to acked + window */
                } ack;
                struct {
                        uint8_t flags; /* 0 ping, FRAME_PING_PONG pong, FRAME_PING_REWIND */
                        uint64_t token;
                } ping;
                struct {
                        uint8_t flags; /* FRAME_CHAL_* (CHALLENGE only) */
                        uint8_t cookie[FRAME_COOKIE_LEN];
                        /* CHALLENGE without KNOWN: batches with a lower
                         * sequence may have reached the lost instance (0:
                         * none did, UINT64_MAX: any may have) */
                        uint64_t heard;
                        /* CHALLENGE: the sequence of the client's batch it
                         * answers; the client takes each answer once */
                        uint64_t answers;
                } chal; /* CHALLENGE and PROOF */
        };
};

/* Whether <name> is a domain an OPEN may carry: 1..255 bytes of visible
 * ASCII (0x21..0x7e). SOCKS5 applies the same rule to what it accepts. */
int frame_domain_ok(const uint8_t *name, size_t len);

/* Decodes one frame from p[0, len). On success fills *f (pointers into <p>)
 * and sets *used to the frame's length; the bytes after it are not looked at.
 * Returns 0 or a FRAME_E* code (FRAME_ETRUNC when <len> ends inside the
 * frame); on failure *f and *used are unspecified. */
int frame_decode(const uint8_t *p, size_t len, struct frame *f, size_t *used);

/* Bytes frame_encode() would write for <f>, or 0 if <f> is not valid. */
size_t frame_encoded_len(const struct frame *f);

/* Encodes <f> into out[0, cap) and sets *used. Validates <f> exactly as
 * frame_decode() would and returns its error for an invalid frame (plus
 * FRAME_EADDRLEN for an address length that does not match the type, and
 * -EINVAL for a NULL pointer where bytes are due), or -ENOSPC if the frame
 * does not fit; on failure nothing is written.
 *
 * DATA payload and OPEN initial data must not overlap <out>, except that they
 * may already sit exactly where the encoder would put them (then they are not
 * copied): a sender can recv() straight into a batch buffer at
 * out + FRAME_DATA_HDR and frame the bytes in place. */
int frame_encode(const struct frame *f, uint8_t *out, size_t cap, size_t *used);

/* Walks a frames region (the plaintext a batch_open() returned). */
struct frame_iter {
        const uint8_t *p;
        size_t len;
        size_t off; /* start of the next frame, or of the bad one after an error */
        int err;    /* sticky: once set, frame_next() keeps returning it */
};

void frame_iter_init(struct frame_iter *it, const uint8_t *p, size_t len);

/* Returns 1 and fills *f with the next frame, 0 at the end of the region, or
 * a negative FRAME_E* code. A region must be whole frames: a frame cut off at
 * the end is FRAME_ETRAILING, not the end. After an error it->off is the
 * offset of the bad frame. The caller decides what a bad region means
 * (protocol.md: the whole batch is refused, so it must not act on frames it
 * saw before the error; validate with a first pass if needed). */
int frame_next(struct frame_iter *it, struct frame *f);

/* SOCKS5 reply code (RFC 1928 REP) for an RST reason; 0x01 for relay-specific
 * and unknown reasons. */
uint8_t frame_rst_to_socks(uint8_t reason);
/* Short name of an RST reason for logs ("refused", "cap", ...), "?" if unknown. */
const char *frame_rst_name(uint8_t reason);
/* Short name of a frame type for logs, "?" if unknown. */
const char *frame_type_name(uint8_t type);
/* A static string for a FRAME_E* code or -ENOSPC. */
const char *frame_strerror(int err);

#endif
