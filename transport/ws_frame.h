/* ws_frame: RFC 6455 frame headers and masking, for the WebSocket data path.
 *
 * wslay (transport/ws.c) handles the protocol: control frames, close,
 * fragmentation, every violation. It masks and unmasks a byte at a time and
 * hands its output to the send callback in 4 KiB pieces, which made the
 * client-to-exit direction the slowest path of the relay (docs/
 * performance.md). ws.c therefore frames and unmasks whole single-frame
 * binary messages itself with these helpers, and passes every other frame to
 * wslay untouched.
 */
#ifndef URELAY_TRANSPORT_WS_FRAME_H
#define URELAY_TRANSPORT_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_FRAME_HEADER_MAX 14
#define WS_OP_BINARY        2

struct ws_frame {
        bool fin, masked;
        uint8_t rsv;    /* the three RSV bits, as 0..7 */
        uint8_t opcode; /* 0..15 */
        uint8_t mask[4];
        bool minimal; /* the length used its shortest encoding, top bit clear */
        uint64_t len; /* payload bytes */
        size_t hlen;  /* header bytes */
};

/* Parses the header at p[0..n). Returns its length once complete, 0 while
 * more bytes are needed (at most WS_FRAME_HEADER_MAX). */
size_t ws_frame_parse(const uint8_t *p, size_t n, struct ws_frame *f);

/* Writes a FIN frame header for <len> payload bytes of <opcode>, masked with
 * <mask> unless it is NULL. Returns its length. */
size_t ws_frame_header(uint8_t *out, uint8_t opcode, uint64_t len, const uint8_t *mask);

/* dst[i] = src[i] ^ mask[(phase + i) % 4]; dst may equal src. Eight bytes
 * at a time. */
void ws_frame_mask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[4],
                   uint64_t phase);

#endif
