/* sendq: segment list with a head cursor; see sendq.h. */
#include "core/sendq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Copies smaller than this share a segment: many small writes become one
 * iovec instead of many. */
#define SEG_MIN_CAP 4096u

struct sendq_seg {
        struct sendq_seg *next;
        const unsigned char *data;
        size_t len, cap; /* cap > 0 only for owned (copy) segments */
        sendq_release_fn release;
        void *arg;
        unsigned char inline_data[];
};

void sendq_init(struct sendq *q)
{
        q->head = q->tail = NULL;
        q->off = q->bytes = 0;
}

static void append(struct sendq *q, struct sendq_seg *s)
{
        s->next = NULL;
        if (q->tail)
                q->tail->next = s;
        else
                q->head = s;
        q->tail = s;
        q->bytes += s->len;
}

int sendq_push_copy(struct sendq *q, const void *p, size_t len)
{
        struct sendq_seg *t = q->tail;

        if (!len)
                return 0;
        if (t && t->cap && t->cap - t->len >= len) { /* owned segments only */
                /* Safe while a send is in flight: its iovec covers only
                 * bytes that were there at submit time. */
                memcpy(t->inline_data + t->len, p, len);
                t->len += len;
                q->bytes += len;
                return 0;
        }
        size_t cap = len < SEG_MIN_CAP ? SEG_MIN_CAP : len;
        struct sendq_seg *s = malloc(sizeof(*s) + cap);
        if (!s)
                return -ENOMEM;
        memcpy(s->inline_data, p, len);
        s->data = s->inline_data;
        s->len = len;
        s->cap = cap;
        s->release = NULL;
        s->arg = NULL;
        append(q, s);
        return 0;
}

int sendq_push_ref(struct sendq *q, const void *p, size_t len, sendq_release_fn release, void *arg)
{
        struct sendq_seg *s = malloc(sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->data = p;
        s->len = len;
        s->cap = 0;
        s->release = release;
        s->arg = arg;
        append(q, s);
        return 0;
}

unsigned sendq_iov(const struct sendq *q, struct iovec *iov, unsigned max, size_t *total)
{
        unsigned n = 0;
        size_t sum = 0, off = q->off;

        for (const struct sendq_seg *s = q->head; s && n < max; s = s->next, off = 0) {
                if (s->len == off)
                        continue;
                iov[n].iov_base = (void *)(s->data + off);
                iov[n].iov_len = s->len - off;
                sum += iov[n].iov_len;
                n++;
        }
        *total = sum;
        return n;
}

static void seg_free(struct sendq_seg *s)
{
        if (s->release)
                s->release(s->arg);
        free(s);
}

void sendq_consume(struct sendq *q, size_t n)
{
        if (n > q->bytes)
                n = q->bytes;
        q->bytes -= n;
        while (q->head) {
                struct sendq_seg *s = q->head;
                size_t left = s->len - q->off;
                if (n < left) {
                        q->off += n;
                        return;
                }
                n -= left;
                q->off = 0;
                if (s == q->tail && s->cap > s->len) {
                        /* Keep an emptied tail with spare room: the next
                         * copies reuse it instead of allocating. */
                        s->len = 0;
                        return;
                }
                q->head = s->next;
                if (!q->head)
                        q->tail = NULL;
                seg_free(s);
        }
}

void sendq_clear(struct sendq *q)
{
        while (q->head) {
                struct sendq_seg *s = q->head;
                q->head = s->next;
                seg_free(s);
        }
        sendq_init(q);
}
