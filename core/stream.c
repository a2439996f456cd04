/* stream: send ring with credit and rewind, receive ring with a presence
 * bitmap; see stream.h. */
#include "core/stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"

/* First allocation of a send ring. Interactive sessions rarely need more,
 * and bulk ones double their way to W in a few writes. */
#define TX_FIRST_CAP (16u * 1024)

static size_t min_sz(size_t a, size_t b)
{
        return a < b ? a : b;
}

/* ---- sender ---- */

void stream_tx_init(struct stream_tx *tx, uint32_t window)
{
        memset(tx, 0, sizeof(*tx));
        tx->window = window;
        tx->limit = STREAM_INIT_WINDOW < window ? STREAM_INIT_WINDOW : window;
}

void stream_tx_free(struct stream_tx *tx)
{
        free(tx->buf);
        tx->buf = NULL;
        tx->cap = 0;
        tx->head = 0;
}

size_t stream_tx_space(const struct stream_tx *tx)
{
        if (tx->fin_queued)
                return 0;
        return tx->window - (size_t)(tx->written - tx->acked);
}

/* Makes the ring at least <need> bytes, keeping its content in order. */
static int tx_grow(struct stream_tx *tx, size_t need)
{
        size_t cap = tx->cap ? tx->cap : TX_FIRST_CAP;
        size_t used = (size_t)(tx->written - tx->acked);
        uint8_t *nb;

        while (cap < need)
                cap *= 2;
        if (cap > tx->window)
                cap = tx->window;
        nb = malloc(cap);
        if (!nb)
                return -ENOMEM;
        if (used) {
                size_t first = min_sz(used, tx->cap - tx->head);
                memcpy(nb, tx->buf + tx->head, first);
                memcpy(nb + first, tx->buf, used - first);
        }
        free(tx->buf);
        tx->buf = nb;
        tx->cap = (uint32_t)cap;
        tx->head = 0;
        return 0;
}

int stream_tx_write(struct stream_tx *tx, const void *p, size_t n, size_t *accepted)
{
        size_t used = (size_t)(tx->written - tx->acked);
        size_t take, pos, first;

        *accepted = 0;
        if (tx->fin_queued)
                return -EPIPE;
        take = min_sz(n, tx->window - used);
        if (take == 0)
                return 0;
        if (used + take > tx->cap && tx_grow(tx, used + take) < 0)
                return -ENOMEM;
        pos = (tx->head + used) % tx->cap;
        first = min_sz(take, tx->cap - pos);
        memcpy(tx->buf + pos, p, first);
        memcpy(tx->buf, (const uint8_t *)p + first, take - first);
        tx->written += take;
        *accepted = take;
        return 0;
}

size_t stream_tx_sendable(const struct stream_tx *tx)
{
        uint64_t end = tx->written < tx->limit ? tx->written : tx->limit;

        return end > tx->sent ? (size_t)(end - tx->sent) : 0;
}

void stream_tx_take(struct stream_tx *tx, size_t max, struct stream_chunk *c)
{
        size_t n = min_sz(max, stream_tx_sendable(tx));
        size_t pos;

        c->offset = tx->sent;
        c->p = NULL;
        c->len = 0;
        c->retx = 0;
        if (n == 0)
                return;
        pos = (tx->head + (size_t)(tx->sent - tx->acked)) % tx->cap;
        n = min_sz(n, tx->cap - pos);
        n = min_sz(n, FRAME_MAX_DATA);
        c->p = tx->buf + pos;
        c->len = n;
        if (tx->sent < tx->max_sent)
                c->retx = (size_t)min_sz(n, (size_t)(tx->max_sent - tx->sent));
        tx->sent += n;
        if (tx->sent > tx->max_sent)
                tx->max_sent = tx->sent;
}

int stream_tx_ack(struct stream_tx *tx, uint64_t acked, uint32_t window, bool fin_seen)
{
        uint64_t lim;

        if (acked > tx->max_sent)
                return STREAM_EACK;
        if (fin_seen && (!tx->fin_ever || acked != tx->written))
                return STREAM_EFINSEEN;
        lim = acked + window < acked ? UINT64_MAX : acked + window;
        if (lim > tx->limit)
                tx->limit = lim;
        if (fin_seen)
                tx->fin_acked = true;
        if (acked <= tx->acked)
                return 0;
        tx->head = (uint32_t)((tx->head + (acked - tx->acked)) % tx->cap);
        tx->acked = acked;
        if (tx->sent < acked) /* an ACK for bytes sent before a rewind */
                tx->sent = acked;
        if (tx->acked == tx->written)
                stream_tx_free(tx);
        return 0;
}

void stream_tx_rewind(struct stream_tx *tx)
{
        tx->sent = tx->acked;
        if (!tx->fin_acked)
                tx->fin_sent = false;
}

void stream_tx_fin(struct stream_tx *tx)
{
        tx->fin_queued = true;
}

bool stream_tx_fin_due(const struct stream_tx *tx)
{
        return tx->fin_queued && !tx->fin_sent && !tx->fin_acked && tx->sent == tx->written;
}

uint64_t stream_tx_fin_take(struct stream_tx *tx)
{
        tx->fin_sent = true;
        tx->fin_ever = true;
        return tx->written;
}

/* ---- receiver ---- */

/* Bitmap over ring positions [0, W). Ranges here never wrap. */
static size_t bits_set(uint64_t *w, size_t start, size_t n)
{
        size_t newly = 0;

        while (n) {
                size_t b = start % 64, k = min_sz(64 - b, n);
                uint64_t mask = (k == 64 ? ~0ull : (1ull << k) - 1) << b;

                newly += (size_t)__builtin_popcountll(mask & ~w[start / 64]);
                w[start / 64] |= mask;
                start += k;
                n -= k;
        }
        return newly;
}

static size_t bits_clear(uint64_t *w, size_t start, size_t n)
{
        size_t was = 0;

        while (n) {
                size_t b = start % 64, k = min_sz(64 - b, n);
                uint64_t mask = (k == 64 ? ~0ull : (1ull << k) - 1) << b;

                was += (size_t)__builtin_popcountll(mask & w[start / 64]);
                w[start / 64] &= ~mask;
                start += k;
                n -= k;
        }
        return was;
}

/* Length of the run of set bits at <start>, at most <max>. */
static size_t bits_run(const uint64_t *w, size_t start, size_t max)
{
        size_t run = 0;

        while (run < max) {
                size_t b = start % 64;
                uint64_t holes = ~w[start / 64] >> b;
                size_t k = holes ? (size_t)__builtin_ctzll(holes) : 64 - b;

                run += k;
                start += k;
                if (k < 64 - b)
                        break;
        }
        return min_sz(run, max);
}

void stream_rx_init(struct stream_rx *rx, uint32_t window)
{
        memset(rx, 0, sizeof(*rx));
        rx->window = window;
}

void stream_rx_free(struct stream_rx *rx)
{
        free(rx->ring);
        rx->ring = NULL;
        rx->bits = NULL;
        rx->stored = 0;
}

static size_t ring_bytes(uint32_t window)
{
        return ((size_t)window + 7) & ~(size_t)7;
}

static int rx_alloc(struct stream_rx *rx)
{
        size_t rb = ring_bytes(rx->window), words = ((size_t)rx->window + 63) / 64;

        if (rx->ring)
                return 0;
        rx->ring = malloc(rb + words * 8);
        if (!rx->ring)
                return -ENOMEM;
        rx->bits = (uint64_t *)(void *)(rx->ring + rb);
        memset(rx->bits, 0, words * 8);
        return 0;
}

static size_t rpos(const struct stream_rx *rx, uint64_t off)
{
        return (size_t)(off % rx->window);
}

/* The bitmap over [off, off+n) with n <= W, split where the ring wraps. */
static size_t ring_mark(struct stream_rx *rx, uint64_t off, size_t n, bool set)
{
        size_t pos = rpos(rx, off), first = min_sz(n, rx->window - pos);
        size_t (*op)(uint64_t *, size_t, size_t) = set ? bits_set : bits_clear;

        return op(rx->bits, pos, first) + op(rx->bits, 0, n - first);
}

static size_t ring_run(const struct stream_rx *rx, uint64_t off, size_t max)
{
        size_t pos = rpos(rx, off), first = min_sz(max, rx->window - pos);
        size_t run = bits_run(rx->bits, pos, first);

        if (run == first && max > first)
                run += bits_run(rx->bits, 0, max - first);
        return run;
}

static void rx_maybe_free(struct stream_rx *rx)
{
        if (rx->ring && rx->stored == 0)
                stream_rx_free(rx);
}

/* Hands ring bytes [delivered, recvd) to the app. State is final before the
 * first call, so <fn> may report consumption; the ring is freed after. */
static void rx_deliver_stored(struct stream_rx *rx, stream_deliver_fn fn, void *ctx)
{
        uint64_t off = rx->delivered;
        size_t n = (size_t)(rx->recvd - off), pos, first;

        if (n == 0)
                return;
        pos = rpos(rx, off);
        first = min_sz(n, rx->window - pos);
        rx->stored -= (uint32_t)ring_mark(rx, off, n, false);
        rx->delivered = rx->recvd;
        fn(ctx, rx->ring + pos, first);
        if (n > first)
                fn(ctx, rx->ring, n - first);
        rx_maybe_free(rx);
}

void stream_rx_hold(struct stream_rx *rx)
{
        rx->held = true;
}

void stream_rx_release(struct stream_rx *rx, stream_deliver_fn fn, void *ctx)
{
        rx->held = false;
        rx_deliver_stored(rx, fn, ctx);
}

int stream_rx_data(struct stream_rx *rx, uint64_t off, const uint8_t *p, size_t len,
                   stream_deliver_fn fn, void *ctx)
{
        uint64_t end = off + len;
        size_t newly, pos, first;
        int rc;

        if (len == 0)
                return 0;
        if (rx->fin_known && end > rx->fin_off)
                return STREAM_EFIN;
        if (end <= rx->recvd) {
                rx->dup += len;
                return 0;
        }
        /* end > recvd >= consumed, so the subtraction cannot wrap. */
        if (end - rx->consumed > rx->window)
                return STREAM_EWINDOW;
        if (off < rx->recvd) {
                size_t d = (size_t)(rx->recvd - off);
                rx->dup += d;
                p += d;
                len -= d;
                off = rx->recvd;
        }
        if (end > rx->high)
                rx->high = end;

        if (off == rx->recvd && !rx->held) {
                /* The common case: straight to the app, no copy. Stored bytes
                 * under these are duplicates; stored bytes right after them
                 * follow in order. */
                size_t run = 0;
                if (rx->stored) {
                        size_t was = ring_mark(rx, off, len, false);
                        rx->stored -= (uint32_t)was;
                        rx->dup += was;
                        run = ring_run(rx, end, (size_t)(rx->high - end));
                }
                rx->recvd = rx->delivered = end;
                fn(ctx, p, len);
                if (run) {
                        rx->recvd = end + run;
                        rx_deliver_stored(rx, fn, ctx);
                }
                rx_maybe_free(rx);
                return 0;
        }

        if ((rc = rx_alloc(rx)) < 0)
                return rc;
        pos = rpos(rx, off);
        first = min_sz(len, rx->window - pos);
        memcpy(rx->ring + pos, p, first);
        memcpy(rx->ring, p + first, len - first);
        newly = ring_mark(rx, off, len, true);
        rx->stored += (uint32_t)newly;
        rx->dup += len - newly;
        if (off == rx->recvd) /* only in hold mode */
                rx->recvd += ring_run(rx, off, (size_t)(rx->high - off));
        return 0;
}

int stream_rx_fin(struct stream_rx *rx, uint64_t off)
{
        if (rx->fin_known)
                return off == rx->fin_off ? 0 : STREAM_EFIN;
        if (off < rx->high || off < rx->recvd)
                return STREAM_EFIN;
        if (off - rx->consumed > rx->window)
                return STREAM_EWINDOW;
        rx->fin_known = true;
        rx->fin_off = off;
        return 0;
}

bool stream_rx_fin_ready(const struct stream_rx *rx)
{
        return rx->fin_known && !rx->fin_done && !rx->held && rx->delivered == rx->fin_off;
}

void stream_rx_fin_take(struct stream_rx *rx)
{
        rx->fin_done = true;
}

int stream_rx_consumed(struct stream_rx *rx, size_t n)
{
        if (n > rx->delivered - rx->consumed)
                return -EINVAL;
        rx->consumed += n;
        return 0;
}

const char *stream_strerror(int err)
{
        switch (err) {
        case STREAM_EACK:
                return "ACK for bytes never sent";
        case STREAM_EFINSEEN:
                return "FIN_SEEN for a FIN never sent or at another offset";
        case STREAM_EWINDOW:
                return "data beyond the receive window";
        case STREAM_EFIN:
                return "data past the FIN, or an inconsistent FIN";
        case -ENOMEM:
                return "out of memory";
        default:
                return "unknown stream error";
        }
}
