/* tunnel: the authenticated pipe of batches between one client and the exit,
 * above any transport.
 *
 * Down: what the session mux has to send becomes sealed batches (one batch
 * = one WebSocket message or one POST body) carrying this sender's instance
 * id, a batch sequence number and its clock. Up: a received batch is opened
 * (or was opened by the exit, which must first pick the key), checked
 * against the replay window, and its frames handed to the mux. A replayed
 * batch is dropped without an error (BRIEF §3: harmless, not a storm).
 *
 * Sits between core/mux (sessions) and a transport (transport/ws.c), which
 * it never calls: the owner moves the bytes.
 */
#ifndef URELAY_CORE_TUNNEL_H
#define URELAY_CORE_TUNNEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/aead.h"
#include "core/mux.h"
#include "core/replay.h"

struct tunnel_stats {
        uint64_t batches_out, batches_in, bytes_out, bytes_in;
        uint64_t replays;     /* batches dropped by the replay window */
        uint64_t bad_batches; /* refused: authentication, replay window age, frames */
};

struct tunnel {
        struct mux *mux;
        struct batch_sealer sealer;
        struct batch_opener opener; /* for tunnel_receive (the client side) */
        struct replay replay;       /* the peer's batches */
        uint64_t instance_id;       /* the client's, on both sides */
        uint64_t seq;               /* next batch sequence number to send */
        uint8_t *buf;               /* batch being built (BATCH_MAX) */
        uint8_t *scratch;           /* where received batches are opened */
        size_t batch_frames;        /* frames bytes per batch at most */
        struct tunnel_stats stats;
};

/* Sets up a tunnel that seals in <send_dir> with <alg> and opens the other
 * direction. <batch_frames> caps the frames per batch (<= BATCH_MAX_FRAMES).
 * The mux stays the caller's. Returns 0 or -errno/BATCH_E*. */
int tunnel_init(struct tunnel *t, struct mux *m, const struct aead_keys *k, enum aead_alg alg,
                enum aead_dir send_dir, uint64_t instance_id, size_t batch_frames);
void tunnel_free(struct tunnel *t);

/* Builds and seals the next batch if the mux has anything to send. Returns
 * 1 with the batch in *msg and *len (valid until the next call), 0 when there
 * is nothing to send, or a negative error. */
int tunnel_next_batch(struct tunnel *t, const uint8_t **msg, size_t *len);

/* Seals a batch without frames (a long poll's request or empty answer):
 * authenticated like any other. Returns 1 with the batch, or an error. */
int tunnel_empty_batch(struct tunnel *t, const uint8_t **msg, size_t *len);

/* Client side: opens a batch from the exit and feeds its frames to the mux
 * (no replay window: offsets make replays harmless, and a restarted exit
 * counts its sequence from 0 again). Returns 0, or a negative error when
 * the batch is
 * not authentic or its frames break the protocol: the caller drops the
 * transport connection. */
int tunnel_receive(struct tunnel *t, const uint8_t *in, size_t len, uint64_t now_ms);
/* Exit side: the batch was opened with the key it names; replay-check it
 * and feed the frames. Returns 0, TUNNEL_DUP for a batch seen before
 * (dropped: nothing was done, and the transport it came on earns nothing
 * by it), or a negative error as tunnel_receive. */
#define TUNNEL_DUP 1
int tunnel_deliver(struct tunnel *t, const struct batch_meta *meta, const uint8_t *frames,
                   size_t len, uint64_t now_ms);

/* What the exit answers an authenticated batch of a new client instance
 * when every instance of its key holds open sessions (max_instances,
 * docs/protocol.md §3.5): a WebSocket close with this code and reason, or
 * a POST answer (503) with this body. Only a key holder ever sees them, so
 * they tell a prober nothing; the client retries with backoff. 4013, not
 * 1013 (Try Again Later): wslay refuses to receive 1012-1014. */
#define TUNNEL_LIMIT_WS_CODE 4013
#define TUNNEL_LIMIT_REASON  "instance limit reached"
#define TUNNEL_LIMIT_BODY    "urelay: instance limit reached\n"

/* Wall clock in unix milliseconds, as batch timestamps carry it. */
uint64_t tunnel_wall_ms(void);

#endif
