/* mux: the sessions of one tunnel, turned into frames regions and back.
 *
 * Sans-I/O, between the runtime that owns the sockets (above: it writes app
 * bytes in and gets the peer's bytes out through callbacks) and the batch
 * layer (below: it seals what mux_build() wrote and hands decrypted regions
 * to mux_input()). One mux per client process on the client, one per
 * authenticated client instance on the exit. Each session is two
 * core/stream.h directions plus the OPEN/ACK/FIN/RST state of
 * docs/protocol.md §5. Where that section is silent, this is what we do:
 *
 * - Session ids: the client allocates them counting up from 1 (skipping 0
 *   and live ids), so an id comes back only after 2^32 opens; the exit learns
 *   them from OPEN.
 * - OPEN travels with its data: until the client has heard from the exit
 *   for a session (an ACK, DATA or FIN), every batch that carries the
 *   session's DATA or FIN carries an OPEN before it, and the OPEN carries
 *   initial data whenever the stream is at offset 0. So batches may be
 *   reordered, lost and resent and the exit still never sees DATA before
 *   OPEN; a repeated OPEN for a live session is treated as DATA at offset 0.
 * - The exit dials after on_open and answers with mux_accept() (ACK with
 *   OPENED) or mux_reject() (RST). Until then it holds what arrives (up to
 *   the window) and sends no ACK. Every ACK from the exit carries OPENED, so
 *   a lost first ACK costs nothing.
 * - ACKs go out when data (or a FIN) arrived since the last ACK, and when
 *   consumption opened the window by W/4 since the last ACK: one ACK per
 *   session per batch at most, and a sender stalled at its limit is always
 *   freed (the app drains at least W/4 before it runs dry).
 * - Closed sessions leave a tombstone (the last MUX_TOMBSTONES): frames
 *   still in flight for them are answered without side effects (a repeated
 *   FIN gets its FIN_SEEN ACK again; a session we reset gets the same RST
 *   again; anything else is ignored, never re-dialled). A frame naming a sid
 *   that is neither live nor a tombstone gets RST unknown-session, once per
 *   input region; an RST is never answered.
 * - A frames region is checked whole (syntax, and frames this role may not
 *   receive) before any frame is acted on; a bad one is refused whole. A
 *   frame that breaks a stream rule (beyond the window, past a FIN, ACK of
 *   bytes never sent, ...) resets that session only, with RST
 *   protocol-error: a bad peer costs one session.
 *
 * Callbacks run inside mux_input() and mux_accept() (and on_pending inside
 * any call that queues frames; on_closed inside mux_consumed() when the last
 * bytes before the peer's FIN left and the session is over). In a callback the owner may call
 * mux_write, mux_shutdown, mux_consumed, mux_reset/mux_reject, mux_accept, mux_set_ud on any
 * session, but not mux_input, mux_build, mux_rewind or mux_free.
 */
#ifndef URELAY_CORE_MUX_H
#define URELAY_CORE_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"
#include "core/stream.h"

enum mux_role { MUX_CLIENT, MUX_EXIT };

/* Default window per direction per session. */
#define MUX_DEFAULT_WINDOW (256u * 1024)
/* DATA bytes one session may put in a batch before the others get a turn. */
#define MUX_QUANTUM (16u * 1024)
/* Recently closed sessions remembered to answer late frames. */
#define MUX_TOMBSTONES 1024u
/* Frames queued in answer to the peer (RST unknown-session, PONG) before
 * more are dropped and counted: a flood costs bounded memory. */
#define MUX_CTL_ANSWERS 256u
/* Smallest region mux_build() accepts: room for the largest bare OPEN
 * (domain of 255 bytes) with its FIN and ACK, or for OPEN + one DATA byte. */
#define MUX_MIN_BUILD 512u
/* Default session cap; over it an OPEN gets RST cap-exceeded. */
#define MUX_MAX_SESSIONS 65536u

/* Errors of mux_input() (besides FRAME_E* for a malformed region). */
enum {
        MUX_EROLE = -4551,   /* a frame this role never receives (OPEN at the client) */
        MUX_EOPENED = -4552, /* session-level: an ACK from the client with OPENED */
};

struct mux;
struct msess;

struct mux_ops {
        /* Exit: a new session. The owner dials, then calls mux_accept(s) or
         * mux_reject(s, reason), now or later. <t> is valid during the call
         * only. */
        void (*on_open)(void *ud, struct msess *s, const struct frame_target *t);
        /* Client: the exit's dial succeeded (first word from the exit). */
        void (*on_opened)(void *ud, struct msess *s);
        /* In-order bytes for the local socket; <p> is valid during the call
         * only. The owner queues them and calls mux_consumed() as the socket
         * drains: that is what grants the peer more credit. */
        void (*on_data)(void *ud, struct msess *s, const uint8_t *p, size_t n);
        /* The peer finished sending, after all its bytes: shutdown(SHUT_WR). */
        void (*on_fin)(void *ud, struct msess *s);
        /* The peer reset the session, or broke a rule (reason
         * FRAME_RST_PROTOCOL): abort the local socket. on_closed follows. */
        void (*on_reset)(void *ud, struct msess *s, uint8_t reason);
        /* mux_write() had refused bytes, and there is room again. */
        void (*on_writable)(void *ud, struct msess *s);
        /* The session is gone (both directions finished, or after
         * on_reset); <s> is invalid when this returns. Not called for
         * sessions the owner ended (mux_reset, mux_reject) or at mux_free. */
        void (*on_closed)(void *ud, struct msess *s);
        /* There are frames to send: schedule a mux_build(). Edge-triggered:
         * once after each mux_build() at most, so after a build the owner
         * checks mux_has_pending() for what did not fit. */
        void (*on_pending)(void *ud);
        /* Optional: a PONG arrived for mux_ping(<token>). */
        void (*on_pong)(void *ud, uint64_t token);
        /* Optional (delayed ACK): only the ACK of data that arrived is due,
         * and it may wait for a reply to ride with, as TCP's delayed ACK
         * does; a request/response then costs one batch each way, not two.
         * Call mux_flush_acks() within a few milliseconds. NULL: every ACK
         * goes at once. Called again after each flush. */
        void (*on_ack_later)(void *ud);
        /* Client, optional: the exit sent a CHALLENGE (FRAME_CHAL_* flags
         * and its cookie). The owner calls mux_set_proof() with the cookie,
         * and after mux_input() returns: mux_reset_heard() without KNOWN,
         * mux_rewind() with REFUSED. NULL: CHALLENGE frames are ignored. */
        void (*on_challenge)(void *ud, const struct frame *f);
};

/* How long an owner lets a lazy ACK wait (on_ack_later). */
#define MUX_ACK_DELAY_MS 2

struct mux_stats {
        uint64_t sessions_open;   /* live now */
        uint64_t sessions_total;  /* ever opened */
        uint64_t bytes_sent;      /* DATA and initial-data bytes put in batches, resends included */
        uint64_t bytes_retx;      /* of which resent */
        uint64_t bytes_delivered; /* in-order bytes handed to on_data */
        uint64_t dup_bytes;       /* received bytes dropped as already there */
        uint64_t proto_errors;    /* sessions reset for breaking a stream rule */
        uint64_t regions_refused; /* mux_input() regions refused whole */
        uint64_t rst_sent;
        uint64_t rst_recv;
        uint64_t unknown_sid;  /* frames naming a sid neither live nor remembered */
        uint64_t ctl_dropped;  /* answers dropped over MUX_CTL_ANSWERS */
        uint64_t open_refused; /* OPENs over the session cap */
        uint64_t rewinds;      /* the peer asked us to resend (PING with REWIND) */
};

/* Creates a mux. <window> is W per direction per session, within
 * [STREAM_MIN_WINDOW, STREAM_MAX_WINDOW]; <ops> must outlive the mux and
 * have on_data, on_fin, on_reset, on_writable, on_closed, and on_open (exit)
 * or on_opened (client); on_pending and on_pong may be NULL. Returns 0 or
 * -EINVAL / -ENOMEM. */
int mux_new(enum mux_role role, uint32_t window, const struct mux_ops *ops, void *ud,
            struct mux **out);
/* Frees every session without callbacks; the owner drops its side. */
void mux_free(struct mux *m);
/* Sets the live-session cap (default MUX_MAX_SESSIONS). */
void mux_set_max_sessions(struct mux *m, uint32_t max);

/* Client: a new session to <t> (copied). The OPEN goes out with the next
 * batch, carrying what was written before it leaves. Returns 0 and *out, or
 * -EINVAL (exit role, invalid target), -ENOSPC (session cap), -ENOMEM. */
int mux_open(struct mux *m, const struct frame_target *t, struct msess **out);
/* Copies up to <n> bytes of <p> into the session's send buffer and sets
 * *accepted. Fewer than <n> is backpressure: stop reading the local socket
 * until on_writable. Returns 0, -EPIPE after mux_shutdown, -ENOTCONN on an
 * exit session not accepted yet, -ENOMEM (nothing accepted). */
int mux_write(struct msess *s, const void *p, size_t n, size_t *accepted);
/* Local EOF: a FIN follows the written bytes. Returns 0 or -ENOTCONN (exit
 * session not accepted). Idempotent. */
int mux_shutdown(struct msess *s);
/* Ends the session at once: RST <reason> to the peer (if it ever heard of
 * it), no callbacks; <s> is invalid on return. */
void mux_reset(struct msess *s, uint8_t reason);
/* The owner wrote <n> more bytes from on_data to its socket. Returns 0 or
 * -EINVAL (more than was delivered). The peer's FIN is acknowledged
 * (FIN_SEEN) only once every byte before it is consumed: so this may end
 * the session (on_closed, before it returns). */
int mux_consumed(struct msess *s, size_t n);
/* Exit: the dial succeeded. Sends ACK with OPENED and delivers what arrived
 * meanwhile (on_data, maybe on_fin, before returning). Returns 0 or
 * -EINVAL (client role, or already accepted). */
int mux_accept(struct msess *s);
/* Exit: the dial failed; RST <reason> (FRAME_RST_*) to the client. Same as
 * mux_reset. */
void mux_reject(struct msess *s, uint8_t reason);
void mux_set_ud(struct msess *s, void *ud);
void *mux_ud(const struct msess *s);
uint32_t mux_sid(const struct msess *s);
/* Bytes received but not consumed plus stored out-of-order bytes, and bytes
 * in the send buffer: what this session costs in data memory (<= 2W). */
size_t mux_sess_rx_held(const struct msess *s);
size_t mux_sess_tx_held(const struct msess *s);
/* Data bytes held over every live session (mux_sess_rx_held +
 * mux_sess_tx_held) in *total, and the most one session holds in *most:
 * flow control keeps that at or below twice the window. */
void mux_held(const struct mux *m, size_t *total, size_t *most);
/* Heap bytes the mux holds for <s> (state and buffers): what an idle
 * session costs. */
size_t mux_sess_mem(const struct msess *s);

/* Acts on a decrypted frames region. Returns 0 (acted on; sessions that
 * broke a rule were reset and counted), or a FRAME_E* code / MUX_EROLE for a
 * region refused whole, without acting on any frame. */
int mux_input(struct mux *m, const uint8_t *frames, size_t len);
/* Writes frames into out[0, cap) and sets *len (0: nothing to send).
 * Order: answers and control frames (RST, ACK, FIN, bare OPEN), then DATA
 * round-robin over sessions, at most MUX_QUANTUM (less when many sessions
 * share the room) per session per turn. What does not fit stays pending.
 * Returns 0 or -EINVAL for cap < MUX_MIN_BUILD. */
int mux_build(struct mux *m, uint8_t *out, size_t cap, size_t *len);
/* The transport lost batches (reconnect, failed request): everything not
 * acknowledged is sent again, unacknowledged OPENs and FINs included, and
 * every live session re-sends its ACK. */
void mux_rewind(struct mux *m);
/* Batches were lost both ways (a failed POST: its frames and maybe its
 * answer): mux_rewind() here, and a PING with FRAME_PING_REWIND so that the
 * peer resends what it had not seen acknowledged. Duplicates are dropped by
 * offset at both ends. Returns 0 or -ENOMEM. */
int mux_recover(struct mux *m, uint64_t token);
bool mux_has_pending(const struct mux *m);
/* Sends the ACKs on_ack_later let wait (on_pending follows). */
void mux_flush_acks(struct mux *m);
/* Client: every batch built from now on starts with PROOF(<cookie>)
 * (FRAME_COOKIE_LEN bytes), the exit's latest (docs/protocol.md §3.6). */
void mux_set_proof(struct mux *m, const uint8_t *cookie);
/* Client: writes just the PROOF frame (for a batch with nothing else, such
 * as a long poll); *len is 0 when no cookie is set. Returns 0 or -ENOSPC. */
int mux_build_proof(struct mux *m, uint8_t *out, size_t cap, size_t *len);
/* Exit: queues a sessionless frame (a CHALLENGE) for the next batch.
 * Returns 0 or -ENOMEM. */
int mux_queue_frame(struct mux *m, const struct frame *f);
/* Whether something sent waits for the peer's word: bytes not acknowledged,
 * (client) an OPEN not answered, (exit) a FIN without FIN_SEEN. The
 * client's FIN does not count: the exit may hold its FIN_SEEN back for long
 * on purpose (until its own FIN is acknowledged). */
bool mux_outstanding(const struct mux *m);
/* A counter that moves whenever the peer acknowledges bytes or answers an
 * OPEN. With mux_outstanding, an owner whose link works sees a lost answer:
 * outstanding, and no progress for a while (a POST link's retransmission
 * timer). */
uint64_t mux_progress(const struct mux *m);
/* Client: the sequence number of the batch the next mux_build() fills (the
 * tunnel's), so that a session knows which batch first carried its OPEN. */
void mux_set_batch_seq(struct mux *m, uint64_t seq);
/* Client: the exit lost this client instance (restarted, or forgot it):
 * every session whose OPEN first left in a batch with sequence < <heard>
 * (it may have been dialled there) ends with on_reset(<reason>) and
 * on_closed, without frames; the others open afresh. Not from a callback.
 * Returns how many ended. */
unsigned mux_reset_heard(struct mux *m, uint64_t heard, uint8_t reason);

/* Queues a PING with <token>. Returns 0 or -ENOMEM. */
int mux_ping(struct mux *m, uint64_t token);
void mux_get_stats(const struct mux *m, struct mux_stats *st);
/* A static string for MUX_E*, STREAM_E* and FRAME_E* codes. */
const char *mux_strerror(int err);

#endif
