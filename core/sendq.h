/* sendq: the FIFO of bytes waiting to be written to one socket.
 *
 * Sans-I/O: the reactor gathers an iovec from the head, submits exactly one
 * send, and on completion consumes what the kernel took. A short send just
 * leaves the cursor mid-segment, so the tail goes out next, before anything
 * queued later: that is what keeps bytes in order (reliability.md §2.2).
 *
 * Segments either own a copy of the bytes (sendq_push_copy, which appends
 * into the tail segment's spare room when it can) or reference caller
 * memory that must stay valid until the segment's release callback runs.
 */
#ifndef URELAY_CORE_SENDQ_H
#define URELAY_CORE_SENDQ_H

#include <stddef.h>
#include <sys/uio.h>

typedef void (*sendq_release_fn)(void *arg);

struct sendq_seg;

struct sendq {
        struct sendq_seg *head, *tail;
        size_t off;   /* bytes of head already sent */
        size_t bytes; /* bytes queued, not yet sent */
};

void sendq_init(struct sendq *q);
/* Copies <len> bytes to the tail. Returns 0 or -ENOMEM (nothing queued). */
int sendq_push_copy(struct sendq *q, const void *p, size_t len);
/* Queues caller memory; <release>(<arg>) runs once the bytes are consumed or
 * the queue is cleared. Returns 0 or -ENOMEM, in which case release is NOT
 * called: the caller still owns the memory. */
int sendq_push_ref(struct sendq *q, const void *p, size_t len, sendq_release_fn release, void *arg);
/* Fills up to <max> iovecs from the cursor; stores their total in *total. */
unsigned sendq_iov(const struct sendq *q, struct iovec *iov, unsigned max, size_t *total);
/* Advances the cursor by <n> (<= queued), releasing finished segments. */
void sendq_consume(struct sendq *q, size_t n);
/* Drops everything queued, releasing every segment. */
void sendq_clear(struct sendq *q);
static inline size_t sendq_bytes(const struct sendq *q)
{
        return q->bytes;
}

#endif
