/* replay: the batch replay window of protocol v1 (docs/protocol.md §3.4).
 *
 * Sits right after batch_open() at the exit: one window per sender (client
 * key and instance id) and direction. It keeps the highest sequence number
 * committed plus a bitmap of the REPLAY_WINDOW sequences ending at it
 * (WireGuard / RFC 6479 style), and refuses batches whose time is more than
 * REPLAY_SKEW_MS from ours. Pure bookkeeping over memory: no clock, no
 * allocation, no I/O.
 *
 * Checking and committing are split because the window may move only for a
 * batch whose tag verified: replay_check() changes nothing, replay_commit()
 * records the sequence once the caller knows the batch is authentic.
 */
#ifndef URELAY_CORE_REPLAY_H
#define URELAY_CORE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sequences top - REPLAY_WINDOW + 1 .. top are remembered; older ones are
 * refused. */
#define REPLAY_WINDOW 2048u
/* A batch time more than this from the receiver's clock is refused. */
#define REPLAY_SKEW_MS 30000u

/* Errors, negative, below -MAX_ERRNO (4095). */
enum {
        REPLAY_EDUP = -4801,    /* sequence already committed: ack, do not act again */
        REPLAY_ETOOOLD = -4802, /* sequence below the window: refuse */
        REPLAY_ETIME = -4803,   /* batch time more than REPLAY_SKEW_MS away: refuse */
};

/* The bitmap is a ring of 64-bit blocks with one block more than the window
 * needs, so advancing clears whole blocks and the REPLAY_WINDOW sequences
 * below the top (which can straddle one more block) are always all there. */
#define REPLAY_BLOCKS (REPLAY_WINDOW / 64u + 1u)

struct replay {
        uint64_t top; /* highest committed sequence (valid once any) */
        int any;      /* a sequence has been committed */
        uint64_t bits[REPLAY_BLOCKS];
};

/* Starts an empty window: every sequence is new. */
void replay_init(struct replay *r);

/* Judges a batch that has NOT been committed yet. Changes nothing.
 * Returns 0 (new: act on it, then commit), REPLAY_ETIME when |time_ms -
 * now_ms| > REPLAY_SKEW_MS (checked first), REPLAY_ETOOOLD when seq is
 * REPLAY_WINDOW or more below the highest committed sequence, or REPLAY_EDUP
 * when seq was committed before. Times are Unix milliseconds. */
int replay_check(const struct replay *r, uint64_t seq, uint64_t time_ms, uint64_t now_ms);

/* The time check of replay_check() alone, which needs no window: 0, or
 * REPLAY_ETIME. The exit runs it before it makes a window (a client
 * instance) for a batch, so that a stale batch makes nothing. */
int replay_check_time(uint64_t time_ms, uint64_t now_ms);

/* Records <seq> as seen. Call only for a batch whose tag verified and that
 * replay_check() accepted; moving the window for an unauthenticated batch
 * would let a forger push real batches out of it. Committing a sequence
 * that is already recorded or below the window changes nothing. */
void replay_commit(struct replay *r, uint64_t seq);

/* What the windows of senders that are gone knew (defect 5 of issue 13):
 * the exit frees a client instance after its grace, or to make room, but a
 * batch of that instance stays acceptable by time for up to REPLAY_SKEW_MS
 * after it was sent. So each freed window leaves a memo, its top sequence,
 * kept until every batch it could have seen is refused by time anyway
 * (2 x REPLAY_SKEW_MS after the free, since a batch accepted then was at
 * most REPLAY_SKEW_MS ahead of our clock; kept 3 x, so that it also
 * outlives the exit's freshness cookies, core/cookie.h). A new window for the same sender
 * starts with everything up to that top already seen. The table is a ring
 * of <cap> memos: past that many frees in a minute, the oldest goes. */
struct replay_gone {
        uint64_t sender; /* instance id */
        uint64_t top;
        uint64_t tag; /* the owner's word on it (the exit: the incarnation) */
        uint64_t until_ms;
        uint32_t key; /* the sender's key (exit key index) */
        uint32_t used;
};

struct replay_memo {
        struct replay_gone *v;
        size_t cap, next;
        uint64_t overwritten; /* memos dropped before their time */
};

/* Returns 0 or -ENOMEM. */
int replay_memo_init(struct replay_memo *m, size_t cap);
void replay_memo_free(struct replay_memo *m);
/* Window <r> of (<key>, <sender>) is being freed at <now_ms>; <tag> is
 * kept with it. Kept REPLAY_MEMO_MS. */
#define REPLAY_MEMO_MS (3ull * REPLAY_SKEW_MS)
void replay_memo_add(struct replay_memo *m, uint32_t key, uint64_t sender, const struct replay *r,
                     uint64_t tag, uint64_t now_ms);
/* Sets up <r> for a new window of (<key>, <sender>): empty, or with every
 * sequence up to a gone window's top already seen. Returns true when a memo
 * applied, with its tag in *tag (0 otherwise). <r> may be NULL. */
bool replay_memo_restore(const struct replay_memo *m, uint32_t key, uint64_t sender,
                         uint64_t now_ms, struct replay *r, uint64_t *tag);

/* A static string for a REPLAY_E* code (or 0). */
const char *replay_strerror(int err);

#endif
