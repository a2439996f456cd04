/* fuzz_mux_input: libFuzzer target for the session layer (core/mux.h).
 *
 * A client mux and an exit mux talk to each other while the fuzzer injects
 * its own frames regions into either side between their batches. The input
 * is a sequence of records: u16 little-endian header (bit 15: to the
 * client, else to the exit; bits 0-14: length), then that many bytes. The
 * exit accepts or rejects, echoes what it gets and ends when the client
 * does; the client opens a few sessions and writes to them.
 *
 * Checked: no crash or sanitizer report; mux_input() returns 0 or a known
 * error; every region mux_build() writes parses cleanly; a receiver never
 * holds more than its window.
 *
 * fuzz-sources: core/frame.c core/stream.c core/mux.c core/log.c core/hostenv.c
 * Built and run by scripts/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "core/mux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WIN      STREAM_MIN_WINDOW
#define NCLIENT  4
#define MAXBUILD 70000

static struct msess *csess[NCLIENT];

static void check_held(struct msess *s)
{
        if (mux_sess_rx_held(s) > WIN || mux_sess_tx_held(s) > WIN)
                abort();
}

static void on_open(void *ud, struct msess *s, const struct frame_target *t)
{
        (void)ud;
        (void)t;
        if (mux_sid(s) % 5 == 4)
                mux_reject(s, FRAME_RST_REFUSED);
        else if (mux_accept(s) != 0)
                abort();
}

static void on_opened(void *ud, struct msess *s)
{
        (void)ud;
        (void)s;
}

static void on_data(void *ud, struct msess *s, const uint8_t *p, size_t n)
{
        size_t acc;

        check_held(s);
        if (ud) /* exit: echo */
                (void)mux_write(s, p, n, &acc);
        if (mux_consumed(s, n) != 0)
                abort();
}

static void on_fin(void *ud, struct msess *s)
{
        if (ud)
                (void)mux_shutdown(s);
}

static void on_reset(void *ud, struct msess *s, uint8_t reason)
{
        (void)ud;
        (void)s;
        if (frame_rst_name(reason)[0] == '?')
                abort();
}

static void on_writable(void *ud, struct msess *s)
{
        (void)ud;
        (void)s;
}

static void on_closed(void *ud, struct msess *s)
{
        (void)ud;
        for (int i = 0; i < NCLIENT; i++)
                if (csess[i] == s)
                        csess[i] = NULL;
}

/* Delayed ACKs are on, as in the client and the exit; the loop below
 * flushes them now and then, as their timer would. */
static void on_ack_later(void *ud)
{
        (void)ud;
}

static const struct mux_ops OPS = {
    .on_ack_later = on_ack_later,
    .on_open = on_open,
    .on_opened = on_opened,
    .on_data = on_data,
    .on_fin = on_fin,
    .on_reset = on_reset,
    .on_writable = on_writable,
    .on_closed = on_closed,
};

static void input(struct mux *m, const uint8_t *p, size_t n)
{
        int rc = mux_input(m, p, n);

        /* A region is acted on, or refused for a decoding or role error. */
        if (rc != 0 && rc != MUX_EROLE && (rc > FRAME_ETRUNC || rc < FRAME_EADDRLEN))
                abort();
}

/* Builds one region from <from>, checks it and hands it to <to>. */
static void pass(struct mux *from, struct mux *to)
{
        static uint8_t buf[MAXBUILD];
        struct frame_iter it;
        struct frame f;
        size_t len;
        int rc;

        if (mux_build(from, buf, sizeof(buf), &len) != 0 || len > sizeof(buf))
                abort();
        frame_iter_init(&it, buf, len);
        while ((rc = frame_next(&it, &f)) == 1)
                ;
        if (rc != 0)
                abort();
        if (mux_input(to, buf, len) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const uint8_t addr[4] = {127, 0, 0, 1};
        const struct frame_target t = {
            .atyp = FRAME_ATYP_IPV4, .addr_len = 4, .port = 80, .addr = addr};
        struct mux *cli, *ex;
        size_t acc;

        if (mux_new(MUX_CLIENT, WIN, &OPS, NULL, &cli) != 0)
                abort();
        if (mux_new(MUX_EXIT, WIN, &OPS, (void *)1, &ex) != 0)
                abort();
        for (int i = 0; i < NCLIENT; i++) {
                if (mux_open(cli, &t, &csess[i]) != 0)
                        abort();
                (void)mux_write(csess[i], "hello", 5, &acc);
        }
        if (csess[3])
                (void)mux_shutdown(csess[3]);
        while (size >= 2) {
                size_t hdr = (size_t)data[0] | (size_t)data[1] << 8;
                size_t n = hdr & 0x7fff;
                data += 2;
                size -= 2;
                if (n > size)
                        n = size;
                input(hdr & 0x8000 ? cli : ex, data, n);
                data += n;
                size -= n;
                pass(cli, ex);
                pass(ex, cli);
                if (n && data[-1] % 7 == 0) {
                        mux_rewind(cli);
                        mux_rewind(ex);
                }
                if (n && data[-1] % 3 == 0) {
                        mux_flush_acks(cli);
                        mux_flush_acks(ex);
                }
                for (int i = 0; i < NCLIENT; i++)
                        if (csess[i])
                                (void)mux_write(csess[i], data - n, n < 300 ? n : 300, &acc);
        }
        for (int i = 0; i < 4; i++) {
                mux_flush_acks(cli);
                mux_flush_acks(ex);
                pass(cli, ex);
                pass(ex, cli);
        }
        mux_free(cli);
        mux_free(ex);
        memset(csess, 0, sizeof(csess));
        return 0;
}
