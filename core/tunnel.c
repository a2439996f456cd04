/* tunnel: batches <-> mux; see tunnel.h. */
#include "core/tunnel.h"

#include "core/frame.h"
#include "core/hostenv.h"
#include "core/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t tunnel_wall_ms(void)
{
        return hostenv_wall_ms();
}

int tunnel_init(struct tunnel *t, struct mux *m, const struct aead_keys *k, enum aead_alg alg,
                enum aead_dir send_dir, uint64_t instance_id, size_t batch_frames)
{
        int ret;

        memset(t, 0, sizeof(*t));
        t->mux = m;
        t->instance_id = instance_id;
        t->seq = 1;
        t->batch_frames =
            batch_frames && batch_frames < BATCH_MAX_FRAMES ? batch_frames : BATCH_MAX_FRAMES;
        replay_init(&t->replay);
        t->buf = malloc(BATCH_MAX);
        t->scratch = malloc(BATCH_MAX);
        if (!t->buf || !t->scratch) {
                ret = -ENOMEM;
                goto fail;
        }
        ret = batch_sealer_init(&t->sealer, k, alg, send_dir);
        if (ret < 0)
                goto fail;
        ret = batch_opener_init(&t->opener, k, send_dir == AEAD_C2S ? AEAD_S2C : AEAD_C2S);
        if (ret < 0) {
                batch_sealer_wipe(&t->sealer);
                goto fail;
        }
        return 0;
fail:
        free(t->buf);
        free(t->scratch);
        t->buf = t->scratch = NULL;
        return ret;
}

void tunnel_free(struct tunnel *t)
{
        if (!t->buf)
                return;
        batch_sealer_wipe(&t->sealer);
        batch_opener_wipe(&t->opener);
        free(t->buf);
        explicit_bzero(t->scratch, BATCH_MAX);
        free(t->scratch);
        t->buf = t->scratch = NULL;
}

static int seal(struct tunnel *t, size_t frames_len, const uint8_t **msg, size_t *len)
{
        struct batch_meta meta = {
            .instance_id = t->instance_id, .seq = t->seq, .time_ms = tunnel_wall_ms()};
        int ret = batch_seal(&t->sealer, &meta, t->buf, frames_len, BATCH_MAX, len);

        if (ret < 0)
                return ret;
        t->seq++;
        t->stats.batches_out++;
        t->stats.bytes_out += *len;
        *msg = t->buf;
        return 1;
}

int tunnel_next_batch(struct tunnel *t, const uint8_t **msg, size_t *len)
{
        size_t frames_len = 0;

        if (!mux_has_pending(t->mux))
                return 0;
        mux_set_batch_seq(t->mux, t->seq);
        int ret = mux_build(t->mux, t->buf + BATCH_PREFIX_LEN, t->batch_frames, &frames_len);
        if (ret < 0)
                return ret;
        if (!frames_len)
                return 0;
        return seal(t, frames_len, msg, len);
}

int tunnel_empty_batch(struct tunnel *t, const uint8_t **msg, size_t *len)
{
        size_t frames_len = 0;
        /* No frames but the client's PROOF, when it has a cookie. */
        int ret = mux_build_proof(t->mux, t->buf + BATCH_PREFIX_LEN, t->batch_frames, &frames_len);

        if (ret < 0)
                return ret;
        return seal(t, frames_len, msg, len);
}

int tunnel_deliver(struct tunnel *t, const struct batch_meta *meta, const uint8_t *frames,
                   size_t len, uint64_t now_ms)
{
        int ret = replay_check(&t->replay, meta->seq, meta->time_ms, now_ms);

        if (ret == REPLAY_EDUP) {
                t->stats.replays++;
                return TUNNEL_DUP;
        }
        if (ret < 0) {
                t->stats.bad_batches++;
                log_debug("batch %llu refused: %s", (unsigned long long)meta->seq,
                          replay_strerror(ret));
                return ret;
        }
        ret = mux_input(t->mux, frames, len);
        if (ret < 0) {
                t->stats.bad_batches++;
                return ret;
        }
        /* Only a batch the mux accepted moves the window: a refused one may
         * be sent again, whole and correct, after a reconnect. */
        replay_commit(&t->replay, meta->seq);
        t->stats.batches_in++;
        t->stats.bytes_in += len;
        return 0;
}

int tunnel_receive(struct tunnel *t, const uint8_t *in, size_t len, uint64_t now_ms)
{
        struct batch_meta meta;
        const uint8_t *frames;
        size_t frames_len;
        int ret =
            batch_open(&t->opener, in, len, t->scratch, BATCH_MAX, &meta, &frames, &frames_len);

        if (ret < 0) {
                t->stats.bad_batches++;
                return ret;
        }
        if (meta.instance_id != t->instance_id) {
                /* Sealed with our key for another client instance: never ours. */
                t->stats.bad_batches++;
                return -EBADMSG;
        }
        /* No sequence window on this side: the exit that seals these may
         * be a new process whose sequence starts again at 0 (a restart),
         * and a replayed batch can do nothing here anyway: its DATA, FIN
         * and ACK offsets are stale, its RST names a session already gone
         * (docs/protocol.md §3.4). */
        (void)now_ms;
        ret = mux_input(t->mux, frames, frames_len);
        if (ret < 0) {
                t->stats.bad_batches++;
                return ret;
        }
        t->stats.batches_in++;
        t->stats.bytes_in += frames_len;
        return 0;
}
