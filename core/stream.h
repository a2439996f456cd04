/* stream: one direction of one session, as offsets, credit and buffers.
 *
 * Sits under core/mux.h (which owns two of these per session and turns them
 * into frames) and above nothing: sans-I/O, no frames, no sockets. The rules
 * are docs/protocol.md §5; what follows is what that section leaves open.
 *
 * Sender (stream_tx). The app's bytes go into a retransmit buffer of at most
 * W bytes (the window) and stay there until the peer acknowledges them, so
 * stream_tx_rewind() can send everything unacknowledged again after a failed
 * request or a reconnect. Credit is absolute: the sender may send below
 * limit = max over every ACK of (acked + window), starting at
 * STREAM_INIT_WINDOW before any ACK. Taking the maximum makes a stale ACK
 * from a reordered batch harmless; it is sound because a receiver's
 * acked + window is consumed + W, which never goes down.
 *
 * Receiver (stream_rx). In-order bytes go straight to the app through a
 * callback, without a copy. Out-of-order bytes wait in a ring of W bytes
 * (plus a bitmap of W bits saying which offsets are present), so any number
 * of gaps costs no more memory. The receiver accepts bytes below
 * consumed + W only, where consumed is what the app reports as written out:
 * in-order bytes the app still holds plus out-of-order bytes here never
 * exceed W. A "hold" mode keeps even in-order bytes in the ring (the exit
 * has not dialed yet) and hands them over on release.
 *
 * Memory: both buffers are allocated on first need and freed as soon as they
 * are empty, so an idle session holds no data buffer.
 */
#ifndef URELAY_CORE_STREAM_H
#define URELAY_CORE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Credit a sender may use before the first ACK. Both ends take it from here,
 * so every receiver window must be at least this (protocol.md §5 "Open"). */
#define STREAM_INIT_WINDOW (64u * 1024)
#define STREAM_MIN_WINDOW  STREAM_INIT_WINDOW
/* Largest window: the ACK's window field is 32 bits, and this keeps ring
 * arithmetic in 32 bits with room to spare. */
#define STREAM_MAX_WINDOW (64u << 20)

/* Errors: the peer broke a stream rule (protocol.md §5). The mux answers
 * each with RST protocol-error on that session only. */
enum {
        STREAM_EACK = -4501,     /* ACK for bytes never sent */
        STREAM_EFINSEEN = -4502, /* FIN_SEEN for a FIN never sent, or at another offset */
        STREAM_EWINDOW = -4503,  /* data (or FIN) beyond consumed + window */
        STREAM_EFIN = -4504,     /* data past the FIN, FIN below data, or a second FIN offset */
};

/* A contiguous run of the send buffer, ready to become a DATA frame (or
 * OPEN initial data). <p> is valid until the next call on the stream. */
struct stream_chunk {
        uint64_t offset;
        const uint8_t *p;
        size_t len;
        size_t retx; /* bytes of this chunk that had been sent before */
};

struct stream_tx {
        uint8_t *buf; /* ring, NULL while empty; buf[head] is byte <acked> */
        uint32_t cap; /* allocated ring size, grows up to window */
        uint32_t head;
        uint32_t window;   /* W: most bytes held */
        uint64_t acked;    /* every byte below was acknowledged */
        uint64_t sent;     /* next byte to send; rewinds to acked */
        uint64_t max_sent; /* highest byte ever sent + 1: what an ACK may cover */
        uint64_t written;  /* bytes the app wrote */
        uint64_t limit;    /* credit: may send below this */
        bool fin_queued;   /* the app ended; final offset = written */
        bool fin_sent;     /* FIN in flight since the last rewind */
        bool fin_ever;     /* FIN sent at least once */
        bool fin_acked;    /* the peer's ACK had FIN_SEEN: this direction is done */
};

/* Initialises an empty sender. <window> is W, between STREAM_MIN_WINDOW and
 * STREAM_MAX_WINDOW (the caller checks). Allocates nothing. */
void stream_tx_init(struct stream_tx *tx, uint32_t window);
/* Releases the buffer; the stream may be initialised again. */
void stream_tx_free(struct stream_tx *tx);

/* Bytes the app may write now: W minus unacknowledged bytes, 0 after FIN. */
size_t stream_tx_space(const struct stream_tx *tx);
/* Copies up to <n> bytes of <p> and sets *accepted (< n: the buffer is full,
 * backpressure). Returns 0, -EPIPE after stream_tx_fin(), or -ENOMEM when the
 * buffer could not grow (nothing accepted). */
int stream_tx_write(struct stream_tx *tx, const void *p, size_t n, size_t *accepted);
/* Bytes written but not sent that the credit allows now. */
size_t stream_tx_sendable(const struct stream_tx *tx);
/* Fills *c with the next unsent bytes: at most <max>, within credit, and
 * contiguous in the buffer (so possibly fewer than sendable), and marks them
 * sent. c->len is 0 when nothing can be sent. */
void stream_tx_take(struct stream_tx *tx, size_t max, struct stream_chunk *c);
/* Applies a peer's ACK. Returns 0 or STREAM_EACK (<acked> beyond every byte
 * ever sent) / STREAM_EFINSEEN, and then changes nothing. An <acked> below
 * the current one is stale and only its credit counts. Frees the buffer when
 * everything written is acknowledged. */
int stream_tx_ack(struct stream_tx *tx, uint64_t acked, uint32_t window, bool fin_seen);
/* Everything unacknowledged (bytes and FIN) will be sent again from acked. */
void stream_tx_rewind(struct stream_tx *tx);
/* Queues the FIN after the last written byte. Idempotent. */
void stream_tx_fin(struct stream_tx *tx);
/* True when the FIN should go out now: queued, every byte sent, not in
 * flight, not acknowledged. */
bool stream_tx_fin_due(const struct stream_tx *tx);
/* Marks the FIN sent; returns its final offset. */
uint64_t stream_tx_fin_take(struct stream_tx *tx);

typedef void (*stream_deliver_fn)(void *ctx, const uint8_t *p, size_t n);

struct stream_rx {
        uint8_t *ring;      /* W bytes, then the bitmap; NULL while nothing is stored */
        uint64_t *bits;     /* bit (offset mod W) set: that byte is in the ring */
        uint32_t window;    /* W */
        uint32_t stored;    /* bytes in the ring */
        uint64_t delivered; /* bytes handed to the app */
        uint64_t recvd;     /* first missing byte: the ACK's acked (>= delivered) */
        uint64_t consumed;  /* bytes the app wrote out (<= delivered) */
        uint64_t high;      /* end of the highest byte received */
        uint64_t fin_off;
        uint64_t dup; /* duplicate bytes dropped, for counters */
        bool fin_known;
        bool fin_done; /* FIN passed to the app */
        bool held;     /* keep in-order bytes too (see above) */
};

/* Initialises an empty receiver with window W (as stream_tx_init). */
void stream_rx_init(struct stream_rx *rx, uint32_t window);
void stream_rx_free(struct stream_rx *rx);
/* Hold mode: until stream_rx_release(), in-order bytes are stored, not
 * delivered. */
void stream_rx_hold(struct stream_rx *rx);
/* Leaves hold mode and delivers what was held, in order, through <fn>. */
void stream_rx_release(struct stream_rx *rx, stream_deliver_fn fn, void *ctx);
/* Places DATA [off, off+len). Bytes that continue the stream go to <fn> in
 * order (possibly in several calls, the new bytes first and then stored ones
 * the gap was hiding); out-of-order bytes are stored; bytes already received
 * are dropped (counted in rx->dup). Returns 0, STREAM_EFIN (past the FIN),
 * STREAM_EWINDOW (beyond consumed + W) or -ENOMEM (ring allocation), and on
 * error nothing changed. <fn> may call stream_rx_consumed(), nothing else on
 * this stream. */
int stream_rx_data(struct stream_rx *rx, uint64_t off, const uint8_t *p, size_t len,
                   stream_deliver_fn fn, void *ctx);
/* Records FIN at <off>. Returns 0 (also for a repeat of the same offset),
 * STREAM_EFIN (another offset, or below bytes received) or STREAM_EWINDOW. */
int stream_rx_fin(struct stream_rx *rx, uint64_t off);
/* True when the FIN should pass to the app now: every byte below it was
 * delivered and it has not passed yet. */
bool stream_rx_fin_ready(const struct stream_rx *rx);
/* Marks the FIN passed to the app. */
void stream_rx_fin_take(struct stream_rx *rx);
/* The app wrote <n> more delivered bytes out. Returns 0, or -EINVAL if that
 * is more than it was given (nothing changes). */
int stream_rx_consumed(struct stream_rx *rx, size_t n);
/* The ACK fields: acked (first missing byte) and window (credit beyond it). */
static inline uint64_t stream_rx_acked(const struct stream_rx *rx)
{
        return rx->recvd;
}
static inline uint32_t stream_rx_credit(const struct stream_rx *rx)
{
        return (uint32_t)(rx->consumed + rx->window - rx->recvd);
}
/* Bytes this receiver accounts for: delivered but not consumed, plus stored.
 * Never more than W. */
static inline uint64_t stream_rx_held(const struct stream_rx *rx)
{
        return rx->delivered - rx->consumed + rx->stored;
}

/* A static string for a STREAM_E* code. */
const char *stream_strerror(int err);

#endif
