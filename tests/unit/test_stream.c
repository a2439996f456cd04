/* stream over memory: the sender's credit, rewind and FIN; the receiver's
 * reordering, duplicate dropping, window bound and FIN ordering; lazy
 * buffers. Contents are checked against core/stream_gen at every byte. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/stream.h"
#include "core/stream_gen.h"

#define W   (256u * 1024)
#define KEY 0x5eed

static uint64_t rng_state = 1;
static uint64_t rnd(void)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

/* ---- sender ---- */

/* Writes stream bytes [tx->written, +n) and returns how many were taken. */
static size_t tx_put(struct stream_tx *tx, size_t n)
{
        uint8_t *buf = malloc(n ? n : 1);
        size_t acc = 0;

        stream_gen_fill(KEY, tx->written, buf, n);
        cr_assert_eq(stream_tx_write(tx, buf, n, &acc), 0);
        free(buf);
        return acc;
}

/* Takes everything sendable, checking each chunk against the stream;
 * returns the bytes taken and adds the resent ones to *retx. */
static size_t tx_drain(struct stream_tx *tx, size_t *retx)
{
        struct stream_chunk c;
        size_t n = 0;
        uint64_t bad;

        for (;;) {
                uint64_t expect = tx->sent;
                stream_tx_take(tx, SIZE_MAX, &c);
                if (c.len == 0)
                        break;
                cr_assert_eq(c.offset, expect);
                cr_assert_leq(c.len, 65536);
                cr_assert_eq(stream_gen_check(KEY, c.offset, c.p, c.len, &bad), 0,
                             "bad byte at %llu", (unsigned long long)bad);
                n += c.len;
                if (retx)
                        *retx += c.retx;
        }
        return n;
}

Test(stream_tx, lazy_buffer_freed_when_all_acked)
{
        struct stream_tx tx;

        stream_tx_init(&tx, W);
        cr_assert_null(tx.buf, "an idle sender holds no buffer");
        cr_assert_eq(stream_tx_space(&tx), W);
        cr_assert_eq(tx_put(&tx, 1000), 1000);
        cr_assert_not_null(tx.buf);
        cr_assert_eq(tx_drain(&tx, NULL), 1000);
        cr_assert_eq(stream_tx_ack(&tx, 400, W, false), 0);
        cr_assert_not_null(tx.buf, "unacked bytes must stay");
        cr_assert_eq(stream_tx_ack(&tx, 1000, W, false), 0);
        cr_assert_null(tx.buf, "everything acked: buffer freed");
        cr_assert_eq(tx_put(&tx, 10), 10);
        cr_assert_not_null(tx.buf);
        stream_tx_free(&tx);
}

Test(stream_tx, credit_respected)
{
        struct stream_tx tx;

        stream_tx_init(&tx, W);
        cr_assert_eq(tx_put(&tx, W), W);
        cr_assert_eq(stream_tx_space(&tx), 0);
        cr_assert_eq(stream_tx_sendable(&tx), STREAM_INIT_WINDOW, "before any ACK");
        cr_assert_eq(tx_drain(&tx, NULL), STREAM_INIT_WINDOW);
        cr_assert_eq(stream_tx_sendable(&tx), 0);

        /* acked 1000 + window 100000 = 101000. */
        cr_assert_eq(stream_tx_ack(&tx, 1000, 100000, false), 0);
        cr_assert_eq(stream_tx_sendable(&tx), 101000 - STREAM_INIT_WINDOW);
        cr_assert_eq(tx_drain(&tx, NULL), 101000 - STREAM_INIT_WINDOW);
        cr_assert_eq(tx.sent, 101000);
        /* A stale ACK from a reordered batch must not shrink the credit. */
        cr_assert_eq(stream_tx_ack(&tx, 500, 10, false), 0);
        cr_assert_eq(tx.limit, 101000);
        cr_assert_eq(tx.acked, 1000);
        cr_assert_eq(stream_tx_space(&tx), 1000, "acked bytes make room");
        stream_tx_free(&tx);
}

Test(stream_tx, ack_beyond_sent_is_refused)
{
        struct stream_tx tx;

        stream_tx_init(&tx, W);
        tx_put(&tx, 5000);
        struct stream_chunk c;
        stream_tx_take(&tx, 3000, &c);
        cr_assert_eq(c.len, 3000);
        cr_assert_eq(stream_tx_ack(&tx, 3001, W, false), STREAM_EACK);
        cr_assert_eq(tx.acked, 0);
        cr_assert_eq(tx.limit, STREAM_INIT_WINDOW, "a refused ACK changes nothing");
        cr_assert_eq(stream_tx_ack(&tx, 3000, W, false), 0);
        stream_tx_free(&tx);
}

Test(stream_tx, rewind_resends_exactly_the_unacked_bytes)
{
        struct stream_tx tx;
        size_t retx = 0;

        stream_tx_init(&tx, W);
        tx_put(&tx, 100000);
        cr_assert_eq(stream_tx_ack(&tx, 0, W, false), 0);
        cr_assert_eq(tx_drain(&tx, &retx), 100000);
        cr_assert_eq(retx, 0);
        cr_assert_eq(stream_tx_ack(&tx, 30000, W, false), 0);
        stream_tx_rewind(&tx);
        cr_assert_eq(tx.sent, 30000);
        /* tx_drain checks every chunk against the stream from its offset. */
        cr_assert_eq(tx_drain(&tx, &retx), 70000);
        cr_assert_eq(retx, 70000, "every resent byte counted as such");
        /* More data after the rewind is new, not a resend. */
        tx_put(&tx, 5000);
        retx = 0;
        cr_assert_eq(tx_drain(&tx, &retx), 5000);
        cr_assert_eq(retx, 0);
        /* An ACK for bytes sent before a rewind, arriving after it, counts. */
        stream_tx_rewind(&tx);
        cr_assert_eq(stream_tx_ack(&tx, 90000, W, false), 0);
        cr_assert_eq(tx.sent, 90000);
        cr_assert_eq(tx_drain(&tx, NULL), 15000);
        stream_tx_free(&tx);
}

Test(stream_tx, fin_after_the_last_byte)
{
        struct stream_tx tx;

        stream_tx_init(&tx, W);
        tx_put(&tx, 2000);
        stream_tx_fin(&tx);
        cr_assert_eq(stream_tx_space(&tx), 0);
        size_t acc = 1;
        cr_assert_eq(stream_tx_write(&tx, "x", 1, &acc), -EPIPE);
        cr_assert_eq(acc, 0);
        cr_assert_not(stream_tx_fin_due(&tx), "bytes still unsent");
        cr_assert_eq(stream_tx_ack(&tx, 0, 0, true), STREAM_EFINSEEN, "FIN_SEEN before a FIN");
        tx_drain(&tx, NULL);
        cr_assert(stream_tx_fin_due(&tx));
        cr_assert_eq(stream_tx_fin_take(&tx), 2000);
        cr_assert_not(stream_tx_fin_due(&tx));
        /* Lost: a rewind queues it again. */
        stream_tx_rewind(&tx);
        cr_assert_not(stream_tx_fin_due(&tx), "the data goes first");
        tx_drain(&tx, NULL);
        cr_assert(stream_tx_fin_due(&tx));
        stream_tx_fin_take(&tx);
        cr_assert_eq(stream_tx_ack(&tx, 1999, W, true), STREAM_EFINSEEN, "wrong offset");
        cr_assert_not(tx.fin_acked);
        cr_assert_eq(stream_tx_ack(&tx, 2000, W, true), 0);
        cr_assert(tx.fin_acked);
        cr_assert_null(tx.buf);
        stream_tx_rewind(&tx);
        cr_assert_not(stream_tx_fin_due(&tx), "an acked FIN is never resent");
        stream_tx_free(&tx);
}

Test(stream_tx, ring_wraps_and_grows_keep_bytes_exact)
{
        struct stream_tx tx;
        uint64_t total = 0;

        rng_state = 99;
        stream_tx_init(&tx, W);
        while (total < 16u << 20) {
                size_t n = rnd() % 70000 + 1;
                total += tx_put(&tx, n);
                /* Ack a random part of what was sent, then send more. */
                uint64_t a = tx.acked + (tx.sent > tx.acked ? rnd() % (tx.sent - tx.acked + 1) : 0);
                cr_assert_eq(stream_tx_ack(&tx, a, W, false), 0);
                if (rnd() % 8 == 0)
                        stream_tx_rewind(&tx);
                tx_drain(&tx, NULL);
                cr_assert_leq(tx.written - tx.acked, W);
                cr_assert_leq(tx.cap, W);
        }
        stream_tx_free(&tx);
}

/* ---- receiver ---- */

struct sink {
        uint8_t *buf;
        size_t cap;
        uint64_t n; /* bytes delivered */
        unsigned calls;
        uint64_t key;
        bool consume; /* report consumption from inside the callback */
        struct stream_rx *rx;
};

static void on_deliver(void *ctx, const uint8_t *p, size_t n)
{
        struct sink *k = ctx;
        uint64_t bad;

        cr_assert_gt(n, 0);
        cr_assert_eq(stream_gen_check(k->key, k->n, p, n, &bad), 0,
                     "delivered byte %llu is wrong (dup, gap or reorder)", (unsigned long long)bad);
        k->n += n;
        k->calls++;
        if (k->consume)
                cr_assert_eq(stream_rx_consumed(k->rx, n), 0);
}

static int rx_put(struct stream_rx *rx, struct sink *k, uint64_t off, size_t n)
{
        uint8_t *b = malloc(n);
        int rc;

        stream_gen_fill(k->key, off, b, n);
        rc = stream_rx_data(rx, off, b, n, on_deliver, k);
        free(b); /* the receiver must have copied what it kept */
        return rc;
}

Test(stream_rx, in_order_goes_straight_through)
{
        struct stream_rx rx;
        struct sink k = {.key = KEY, .consume = true, .rx = &rx};

        stream_rx_init(&rx, W);
        for (uint64_t off = 0; off < 4u << 20; off += 60000) {
                cr_assert_eq(rx_put(&rx, &k, off, 60000), 0);
                cr_assert_null(rx.ring, "in-order bytes need no buffer");
        }
        cr_assert_eq(k.n, (uint64_t)70 * 60000);
        cr_assert_eq(stream_rx_acked(&rx), k.n);
        cr_assert_eq(stream_rx_credit(&rx), W);
        stream_rx_free(&rx);
}

Test(stream_rx, out_of_order_is_reassembled_then_freed)
{
        struct stream_rx rx;
        struct sink k = {.key = KEY, .consume = true, .rx = &rx};

        stream_rx_init(&rx, W);
        /* 10 pieces of 20000 arriving 9, 3, 7, ... 0. */
        unsigned order[] = {9, 3, 7, 1, 5, 8, 2, 6, 4, 0};
        for (unsigned i = 0; i < 10; i++) {
                cr_assert_eq(rx_put(&rx, &k, order[i] * 20000u, 20000), 0);
                if (i < 9) {
                        cr_assert_eq(k.n, 0, "nothing delivered across the gap at 0");
                        cr_assert_eq(stream_rx_acked(&rx), 0);
                        cr_assert_not_null(rx.ring);
                }
        }
        cr_assert_eq(k.n, 200000, "the gap filled: everything delivered in order");
        cr_assert_eq(rx.stored, 0);
        cr_assert_null(rx.ring, "buffer freed once empty");
        cr_assert_eq(stream_rx_acked(&rx), 200000);
        cr_assert_eq(rx.dup, 0);
        stream_rx_free(&rx);
}

Test(stream_rx, duplicates_and_overlaps_are_dropped)
{
        struct stream_rx rx;
        struct sink k = {.key = KEY, .consume = true, .rx = &rx};

        stream_rx_init(&rx, W);
        cr_assert_eq(rx_put(&rx, &k, 0, 1000), 0);
        cr_assert_eq(rx_put(&rx, &k, 0, 1000), 0);   /* exact duplicate */
        cr_assert_eq(rx_put(&rx, &k, 500, 1000), 0); /* overlaps the front */
        cr_assert_eq(k.n, 1500);
        cr_assert_eq(rx.dup, 1500);
        cr_assert_eq(rx_put(&rx, &k, 3000, 1000), 0); /* gap 1500..3000 */
        cr_assert_eq(rx_put(&rx, &k, 3500, 1000), 0); /* overlaps stored bytes */
        cr_assert_eq(rx.stored, 1500);
        cr_assert_eq(rx.dup, 2000);
        /* Fills the gap and overlaps the stored range: its tail is a dup. */
        cr_assert_eq(rx_put(&rx, &k, 1500, 2500), 0);
        cr_assert_eq(k.n, 4500);
        cr_assert_eq(rx.dup, 3000);
        cr_assert_null(rx.ring);
        stream_rx_free(&rx);
}

Test(stream_rx, random_fragments_with_dups_and_reordering)
{
        struct stream_rx rx;
        struct sink k = {.key = 77, .consume = false, .rx = &rx};
        const uint64_t total = 8u << 20;

        rng_state = 12345;
        stream_rx_init(&rx, W);
        while (k.n < total) {
                /* A random range within the window, some of it stale. */
                uint64_t lo = rx.recvd > 3000 ? rx.recvd - 3000 : 0;
                uint64_t hi = rx.consumed + W;
                uint64_t off = lo + rnd() % (hi - lo);
                size_t n = (size_t)(rnd() % 9000 + 1);
                if (off + n > hi)
                        n = (size_t)(hi - off);
                if (off + n > total)
                        n = off < total ? (size_t)(total - off) : 0;
                if (n)
                        cr_assert_eq(rx_put(&rx, &k, off, n), 0);
                cr_assert_leq(stream_rx_held(&rx), W, "memory bounded by the window");
                /* The app drains at its own pace. */
                uint64_t unconsumed = rx.delivered - rx.consumed;
                if (unconsumed)
                        cr_assert_eq(stream_rx_consumed(&rx, rnd() % (unconsumed + 1)), 0);
                cr_assert_eq(stream_rx_credit(&rx), rx.consumed + W - rx.recvd);
        }
        cr_assert_eq(k.n, total);
        cr_assert_gt(rx.dup, 0);
        stream_rx_free(&rx);
}

Test(stream_rx, data_beyond_the_window_is_refused)
{
        struct stream_rx rx;
        struct sink k = {.key = KEY, .consume = false, .rx = &rx};

        stream_rx_init(&rx, W);
        cr_assert_eq(rx_put(&rx, &k, W - 100, 100), 0, "the last byte of the window");
        cr_assert_eq(rx_put(&rx, &k, W - 100, 101), STREAM_EWINDOW);
        cr_assert_eq(rx_put(&rx, &k, 0, 50000), 0);
        cr_assert_eq(k.n, 50000);
        /* Delivered but not consumed still counts against the window. */
        cr_assert_eq(rx_put(&rx, &k, W, 10), STREAM_EWINDOW);
        cr_assert_eq(rx.stored, 100, "a refused frame changes nothing");
        cr_assert_eq(stream_rx_credit(&rx), W - 50000);
        cr_assert_eq(stream_rx_consumed(&rx, 50001), -EINVAL, "more than delivered");
        cr_assert_eq(stream_rx_consumed(&rx, 50000), 0);
        cr_assert_eq(stream_rx_credit(&rx), W);
        cr_assert_eq(rx_put(&rx, &k, W, 10), 0);
        cr_assert_leq(stream_rx_held(&rx), W);
        stream_rx_free(&rx);
}

Test(stream_rx, fin_only_after_all_data)
{
        struct stream_rx rx;
        struct sink k = {.key = KEY, .consume = true, .rx = &rx};

        stream_rx_init(&rx, W);
        cr_assert_eq(rx_put(&rx, &k, 1000, 1000), 0);
        cr_assert_eq(stream_rx_fin(&rx, 1999), STREAM_EFIN, "FIN below bytes received");
        cr_assert_eq(stream_rx_fin(&rx, 2000), 0);
        cr_assert_eq(stream_rx_fin(&rx, 2000), 0, "a repeated FIN is fine");
        cr_assert_eq(stream_rx_fin(&rx, 2001), STREAM_EFIN, "a second final offset");
        cr_assert_not(stream_rx_fin_ready(&rx), "bytes 0..1000 missing");
        cr_assert_eq(rx_put(&rx, &k, 1500, 501), STREAM_EFIN, "data past the FIN");
        cr_assert_eq(rx_put(&rx, &k, 0, 1000), 0);
        cr_assert_eq(k.n, 2000);
        cr_assert(stream_rx_fin_ready(&rx));
        stream_rx_fin_take(&rx);
        cr_assert_not(stream_rx_fin_ready(&rx), "passed once");
        stream_rx_free(&rx);
}

Test(stream_rx, fin_beyond_the_window_is_refused)
{
        struct stream_rx rx;

        stream_rx_init(&rx, W);
        cr_assert_eq(stream_rx_fin(&rx, W + 1), STREAM_EWINDOW);
        cr_assert_not(rx.fin_known);
        cr_assert_eq(stream_rx_fin(&rx, W), 0);
        stream_rx_free(&rx);
}

Test(stream_rx, hold_keeps_bytes_until_release)
{
        struct stream_rx rx;
        struct sink k = {.key = KEY, .consume = true, .rx = &rx};

        stream_rx_init(&rx, W);
        stream_rx_hold(&rx);
        cr_assert_eq(rx_put(&rx, &k, 0, 3000), 0);
        cr_assert_eq(rx_put(&rx, &k, 5000, 1000), 0);
        cr_assert_eq(rx_put(&rx, &k, 3000, 2000), 0);
        cr_assert_eq(stream_rx_fin(&rx, 6000), 0);
        cr_assert_eq(k.n, 0, "nothing delivered while held");
        cr_assert_eq(stream_rx_acked(&rx), 6000, "but it was received");
        cr_assert_not(stream_rx_fin_ready(&rx));
        stream_rx_release(&rx, on_deliver, &k);
        cr_assert_eq(k.n, 6000);
        cr_assert(stream_rx_fin_ready(&rx));
        cr_assert_null(rx.ring);
        stream_rx_free(&rx);
}

Test(stream_rx, wrapped_ring_delivers_in_two_pieces)
{
        struct stream_rx rx;
        struct sink k = {.key = KEY, .consume = true, .rx = &rx};

        stream_rx_init(&rx, W);
        cr_assert_eq(rx_put(&rx, &k, 0, W - 1000), 0);
        /* Stored across the ring's end: positions W-500.. and 0..1500. */
        cr_assert_eq(rx_put(&rx, &k, W - 500, 2000), 0);
        cr_assert_eq(k.n, W - 1000);
        unsigned calls = k.calls;
        cr_assert_eq(rx_put(&rx, &k, W - 1000, 500), 0);
        cr_assert_eq(k.n, W + 1500);
        cr_assert_eq(k.calls, calls + 3, "new bytes, then the stored run in two pieces");
        cr_assert_null(rx.ring);
        stream_rx_free(&rx);
}
