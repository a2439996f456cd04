/* bufring: one provided-buffer ring (IORING_REGISTER_PBUF_RING) and its
 * buffers, for multishot recv.
 *
 * liburing 2.3 has no io_uring_setup_buf_ring, so the ring lives in
 * page-aligned memory mapped here and registered by hand. A buffer picked
 * by the kernel goes back with bufring_recycle as soon as its bytes have
 * been consumed, which is what keeps -ENOBUFS rare.
 */
#ifndef URELAY_CORE_BUFRING_H
#define URELAY_CORE_BUFRING_H

#include <liburing.h>
#include <stdint.h>

struct bufring {
        struct io_uring_buf_ring *br;
        uint8_t *mem;
        size_t ring_bytes;
        unsigned count, size, mask;
        int bgid;
};

/* <count> must be a power of two (1..32768). Returns 0 or -errno; -EINVAL
 * from the kernel means it lacks provided buffer rings (Linux < 5.19). */
int bufring_init(struct bufring *b, struct io_uring *ring, int bgid, unsigned count, unsigned size);
void bufring_free(struct bufring *b, struct io_uring *ring);

static inline uint8_t *bufring_ptr(const struct bufring *b, unsigned bid)
{
        return b->mem + (size_t)bid * b->size;
}

/* Hands buffer <bid> back to the kernel. */
static inline void bufring_recycle(struct bufring *b, unsigned bid)
{
        io_uring_buf_ring_add(b->br, bufring_ptr(b, bid), b->size, (unsigned short)bid,
                              (int)b->mask, 0);
        io_uring_buf_ring_advance(b->br, 1);
}

#endif
