/* bufring: provided buffer ring set up by hand for liburing 2.3. */
#include "core/bufring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int bufring_init(struct bufring *b, struct io_uring *ring, int bgid, unsigned count, unsigned size)
{
        struct io_uring_buf_reg reg;
        int ret;

        memset(b, 0, sizeof(*b));
        if (!count || count > 32768 || (count & (count - 1)) || !size)
                return -EINVAL;
        b->ring_bytes = (size_t)count * sizeof(struct io_uring_buf);
        void *r =
            mmap(NULL, b->ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (r == MAP_FAILED)
                return -errno;
        b->br = r;
        b->mem = aligned_alloc(4096, ((size_t)count * size + 4095) & ~(size_t)4095);
        if (!b->mem) {
                ret = -ENOMEM;
                goto fail;
        }
        memset(&reg, 0, sizeof(reg));
        reg.ring_addr = (unsigned long)b->br;
        reg.ring_entries = count;
        reg.bgid = (unsigned short)bgid;
        ret = io_uring_register_buf_ring(ring, &reg, 0);
        if (ret < 0)
                goto fail;
        b->count = count;
        b->size = size;
        b->mask = (unsigned)io_uring_buf_ring_mask(count);
        b->bgid = bgid;
        io_uring_buf_ring_init(b->br);
        for (unsigned i = 0; i < count; i++)
                io_uring_buf_ring_add(b->br, bufring_ptr(b, i), size, (unsigned short)i,
                                      (int)b->mask, (int)i);
        io_uring_buf_ring_advance(b->br, (int)count);
        return 0;
fail:
        free(b->mem);
        munmap(b->br, b->ring_bytes);
        memset(b, 0, sizeof(*b));
        return ret;
}

void bufring_free(struct bufring *b, struct io_uring *ring)
{
        if (!b->br)
                return;
        io_uring_unregister_buf_ring(ring, b->bgid);
        munmap(b->br, b->ring_bytes);
        free(b->mem);
        memset(b, 0, sizeof(*b));
}
