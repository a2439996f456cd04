/* replay: the batch replay window (see replay.h, docs/protocol.md §3.4).
 *
 * Sequence s lives at bit s % 64 of block (s / 64) % REPLAY_BLOCKS. Moving
 * the top forward zeroes the blocks it enters, at most REPLAY_BLOCKS of them
 * however far it jumps, so a commit costs O(1).
 */
#include "core/replay.h"

#include <stddef.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t block_of(uint64_t seq)
{
        return (size_t)((seq / 64u) % REPLAY_BLOCKS);
}

static uint64_t bit_of(uint64_t seq)
{
        return UINT64_C(1) << (seq % 64u);
}

void replay_init(struct replay *r)
{
        memset(r, 0, sizeof(*r));
}

int replay_check_time(uint64_t time_ms, uint64_t now_ms)
{
        uint64_t skew = time_ms > now_ms ? time_ms - now_ms : now_ms - time_ms;

        return skew > REPLAY_SKEW_MS ? REPLAY_ETIME : 0;
}

int replay_check(const struct replay *r, uint64_t seq, uint64_t time_ms, uint64_t now_ms)
{
        if (replay_check_time(time_ms, now_ms) < 0)
                return REPLAY_ETIME;
        if (!r->any || seq > r->top)
                return 0;
        if (r->top - seq >= REPLAY_WINDOW)
                return REPLAY_ETOOOLD;
        if (r->bits[block_of(seq)] & bit_of(seq))
                return REPLAY_EDUP;
        return 0;
}

void replay_commit(struct replay *r, uint64_t seq)
{
        if (!r->any) {
                r->any = 1;
                r->top = seq;
        } else if (seq > r->top) {
                uint64_t from = r->top / 64u, to = seq / 64u;
                uint64_t n = to - from;

                if (n > REPLAY_BLOCKS)
                        n = REPLAY_BLOCKS;
                for (uint64_t i = 1; i <= n; i++)
                        r->bits[(from + i) % REPLAY_BLOCKS] = 0;
                r->top = seq;
        } else if (r->top - seq >= REPLAY_WINDOW) {
                return;
        }
        r->bits[block_of(seq)] |= bit_of(seq);
}

const char *replay_strerror(int err)
{
        switch (err) {
        case 0:
                return "new batch";
        case REPLAY_EDUP:
                return "duplicate batch (sequence already seen)";
        case REPLAY_ETOOOLD:
                return "sequence below the replay window";
        case REPLAY_ETIME:
                return "batch time more than 30 s from our clock";
        }
        return "unknown error";
}

/* ---- memos of gone windows ---- */

int replay_memo_init(struct replay_memo *m, size_t cap)
{
        memset(m, 0, sizeof(*m));
        m->v = calloc(cap, sizeof(*m->v));
        if (!m->v)
                return -ENOMEM;
        m->cap = cap;
        return 0;
}

void replay_memo_free(struct replay_memo *m)
{
        free(m->v);
        memset(m, 0, sizeof(*m));
}

void replay_memo_add(struct replay_memo *m, uint32_t key, uint64_t sender, const struct replay *r,
                     uint64_t tag, uint64_t now_ms)
{
        if (!m->cap)
                return;
        struct replay_gone *g = &m->v[m->next];
        if (g->used && g->until_ms > now_ms)
                m->overwritten++;
        g->sender = sender;
        g->key = key;
        g->top = r->any ? r->top : 0;
        g->tag = tag;
        g->until_ms = now_ms + REPLAY_MEMO_MS;
        g->used = 1;
        m->next = (m->next + 1) % m->cap;
}

bool replay_memo_restore(const struct replay_memo *m, uint32_t key, uint64_t sender,
                         uint64_t now_ms, struct replay *r, uint64_t *tag)
{
        const struct replay_gone *best = NULL;
        uint64_t top = 0;
        struct replay unused;

        if (!r)
                r = &unused;
        replay_init(r);
        *tag = 0;
        for (size_t i = 0; i < m->cap; i++) {
                const struct replay_gone *g = &m->v[i];
                if (!g->used || g->key != key || g->sender != sender || g->until_ms <= now_ms)
                        continue;
                if (g->top > top)
                        top = g->top;
                if (!best || g->until_ms >= best->until_ms)
                        best = g; /* the latest free has the word */
        }
        if (!best)
                return false;
        *tag = best->tag;
        if (!top)
                return true; /* it had seen nothing */
        /* Everything up to the top counts as seen: below it the window
         * refuses (REPLAY_ETOOOLD), within it the bits say "seen". */
        r->top = top;
        r->any = 1;
        memset(r->bits, 0xff, sizeof(r->bits));
        return true;
}
