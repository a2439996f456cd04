/* frame: the v1 frame codec (docs/protocol.md, "Frames").
 *
 * Pure functions over memory, no allocation, no I/O. The decoder checks the
 * length before every read and every field against its rules; the encoder
 * runs the same checks (frame_check) so both sides agree on what is valid.
 */
#include "core/frame.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"

static int rst_reason_known(uint8_t r)
{
        switch (r) {
        case FRAME_RST_GENERAL:
        case FRAME_RST_NOT_ALLOWED:
        case FRAME_RST_NET_UNREACH:
        case FRAME_RST_HOST_UNREACH:
        case FRAME_RST_REFUSED:
        case FRAME_RST_TIMEOUT:
        case FRAME_RST_ATYP:
        case FRAME_RST_PROTOCOL:
        case FRAME_RST_CAP:
        case FRAME_RST_UNKNOWN:
        case FRAME_RST_ABORT:
                return 1;
        }
        return 0;
}

/* Visible ASCII only: no NUL (C strings downstream would cut the name), no
 * space or control bytes (log and resolver injection), no bytes >= 0x80
 * (an IDN travels as punycode). */
int frame_domain_ok(const uint8_t *name, size_t len)
{
        if (len == 0)
                return 0;
        for (size_t i = 0; i < len; i++)
                if (name[i] < 0x21 || name[i] > 0x7e)
                        return 0;
        return 1;
}

static size_t atyp_addr_len(uint8_t atyp)
{
        switch (atyp) {
        case FRAME_ATYP_IPV4:
                return 4;
        case FRAME_ATYP_IPV6:
                return 16;
        }
        return 0;
}

/* Field rules shared by decoder (after parsing) and encoder (before writing).
 * The address bytes of a domain are checked by the caller, which knows
 * whether they are there yet. */
static int frame_check(const struct frame *f)
{
        switch (f->type) {
        case FRAME_OPEN:
        case FRAME_DATA:
        case FRAME_FIN:
        case FRAME_RST:
        case FRAME_ACK:
                if (f->sid == 0)
                        return FRAME_ESID;
                break;
        case FRAME_PING:
        case FRAME_CHALLENGE:
        case FRAME_PROOF:
                break;
        default:
                return FRAME_ETYPE;
        }
        switch (f->type) {
        case FRAME_OPEN:
                if (f->open.target.port == 0)
                        return FRAME_EPORT;
                break;
        case FRAME_DATA:
                if (f->data.len == 0)
                        return FRAME_EZERO;
                if (f->data.len > FRAME_MAX_DATA)
                        return FRAME_ETOOBIG;
                if (f->data.offset > UINT64_MAX - f->data.len)
                        return FRAME_EOFFSET;
                break;
        case FRAME_RST:
                if (!rst_reason_known(f->rst.reason))
                        return FRAME_EREASON;
                break;
        case FRAME_ACK:
                if (f->ack.flags & ~FRAME_ACK_FLAGS)
                        return FRAME_EFLAGS;
                break;
        case FRAME_PING:
                if (f->ping.flags != 0 && f->ping.flags != FRAME_PING_PONG &&
                    f->ping.flags != FRAME_PING_REWIND)
                        return FRAME_EFLAGS;
                break;
        case FRAME_CHALLENGE:
                if (f->chal.flags & ~FRAME_CHAL_FLAGS)
                        return FRAME_EFLAGS;
                break;
        }
        return 0;
}

/* OPEN: type | sid | atyp | addr | port | init len | init. */
static int decode_open(const uint8_t *p, size_t len, struct frame *f, size_t *used)
{
        struct frame_target *t = &f->open.target;
        size_t pos = 6, alen;

        if (len < pos)
                return FRAME_ETRUNC;
        t->atyp = p[5];
        if (t->atyp == FRAME_ATYP_DOMAIN) {
                if (len < pos + 1)
                        return FRAME_ETRUNC;
                alen = p[pos++];
                if (alen == 0)
                        return FRAME_EDOMAIN;
        } else if ((alen = atyp_addr_len(t->atyp)) == 0) {
                return FRAME_EATYP;
        }
        if (len - pos < alen)
                return FRAME_ETRUNC;
        if (t->atyp == FRAME_ATYP_DOMAIN && !frame_domain_ok(p + pos, alen))
                return FRAME_EDOMAIN;
        t->addr = p + pos;
        t->addr_len = (uint8_t)alen;
        pos += alen;
        if (len - pos < 4)
                return FRAME_ETRUNC;
        t->port = get_be16(p + pos);
        f->open.data_len = get_be16(p + pos + 2);
        pos += 4;
        if (t->port == 0)
                return FRAME_EPORT;
        if (len - pos < f->open.data_len)
                return FRAME_ETRUNC;
        f->open.data = p + pos;
        *used = pos + f->open.data_len;
        return 0;
}

int frame_decode(const uint8_t *p, size_t len, struct frame *f, size_t *used)
{
        size_t need;
        int rc;

        if (len < 1)
                return FRAME_ETRUNC;
        memset(f, 0, sizeof(*f));
        f->type = p[0];
        if (f->type == FRAME_PING) {
                if (len < FRAME_PING_LEN)
                        return FRAME_ETRUNC;
                f->ping.flags = p[1];
                f->ping.token = get_be64(p + 2);
                *used = FRAME_PING_LEN;
                return frame_check(f);
        }
        if (f->type == FRAME_CHALLENGE || f->type == FRAME_PROOF) {
                size_t n = f->type == FRAME_CHALLENGE ? FRAME_CHAL_LEN : FRAME_PROOF_LEN;
                if (len < n)
                        return FRAME_ETRUNC;
                if (f->type == FRAME_CHALLENGE) {
                        f->chal.flags = p[1];
                        memcpy(f->chal.cookie, p + 2, FRAME_COOKIE_LEN);
                        f->chal.heard = get_be64(p + 2 + FRAME_COOKIE_LEN);
                        f->chal.answers = get_be64(p + 10 + FRAME_COOKIE_LEN);
                } else {
                        memcpy(f->chal.cookie, p + 1, FRAME_COOKIE_LEN);
                }
                *used = n;
                return frame_check(f);
        }
        if (f->type < FRAME_OPEN || f->type > FRAME_PING)
                return FRAME_ETYPE;
        if (len < 5)
                return FRAME_ETRUNC;
        f->sid = get_be32(p + 1);
        if (f->sid == 0)
                return FRAME_ESID;

        switch (f->type) {
        case FRAME_OPEN:
                return decode_open(p, len, f, used);
        case FRAME_DATA:
                if (len < FRAME_DATA_HDR)
                        return FRAME_ETRUNC;
                f->data.offset = get_be64(p + 5);
                f->data.len = get_be32(p + 13);
                /* Check the length before comparing it with the input: a
                 * huge length is an error in itself, not a truncation. */
                if ((rc = frame_check(f)) < 0)
                        return rc;
                if (len - FRAME_DATA_HDR < f->data.len)
                        return FRAME_ETRUNC;
                f->data.data = p + FRAME_DATA_HDR;
                *used = FRAME_DATA_HDR + f->data.len;
                return 0;
        case FRAME_FIN:
                need = FRAME_FIN_LEN;
                if (len < need)
                        return FRAME_ETRUNC;
                f->fin.offset = get_be64(p + 5);
                break;
        case FRAME_RST:
                need = FRAME_RST_LEN;
                if (len < need)
                        return FRAME_ETRUNC;
                f->rst.reason = p[5];
                break;
        default: /* FRAME_ACK */
                need = FRAME_ACK_LEN;
                if (len < need)
                        return FRAME_ETRUNC;
                f->ack.flags = p[5];
                f->ack.acked = get_be64(p + 6);
                f->ack.window = get_be32(p + 14);
                break;
        }
        *used = need;
        return frame_check(f);
}

/* Length of a valid frame, or a negative error for an invalid one. */
static int encoded_len(const struct frame *f, size_t *len)
{
        const struct frame_target *t;
        int rc = frame_check(f);

        if (rc < 0)
                return rc;
        switch (f->type) {
        case FRAME_OPEN:
                t = &f->open.target;
                if (t->atyp == FRAME_ATYP_DOMAIN) {
                        if (t->addr == NULL || !frame_domain_ok(t->addr, t->addr_len))
                                return FRAME_EDOMAIN;
                        *len = 7 + (size_t)t->addr_len;
                } else if (atyp_addr_len(t->atyp) == 0) {
                        return FRAME_EATYP;
                } else if (t->addr == NULL || t->addr_len != atyp_addr_len(t->atyp)) {
                        return FRAME_EADDRLEN;
                } else {
                        *len = 6 + (size_t)t->addr_len;
                }
                if (f->open.data_len != 0 && f->open.data == NULL)
                        return -EINVAL;
                *len += 4 + (size_t)f->open.data_len;
                return 0;
        case FRAME_DATA:
                if (f->data.data == NULL)
                        return -EINVAL;
                *len = FRAME_DATA_HDR + (size_t)f->data.len;
                return 0;
        case FRAME_FIN:
                *len = FRAME_FIN_LEN;
                return 0;
        case FRAME_RST:
                *len = FRAME_RST_LEN;
                return 0;
        case FRAME_ACK:
                *len = FRAME_ACK_LEN;
                return 0;
        case FRAME_CHALLENGE:
                *len = FRAME_CHAL_LEN;
                return 0;
        case FRAME_PROOF:
                *len = FRAME_PROOF_LEN;
                return 0;
        default: /* FRAME_PING */
                *len = FRAME_PING_LEN;
                return 0;
        }
}

size_t frame_encoded_len(const struct frame *f)
{
        size_t len;

        return encoded_len(f, &len) == 0 ? len : 0;
}

/* Copies a payload unless the caller already placed it (see frame.h). */
static void put_payload(uint8_t *dst, const uint8_t *src, size_t n)
{
        if (n != 0 && dst != src)
                memcpy(dst, src, n);
}

int frame_encode(const struct frame *f, uint8_t *out, size_t cap, size_t *used)
{
        const struct frame_target *t = &f->open.target;
        size_t len, pos;
        int rc;

        if ((rc = encoded_len(f, &len)) < 0)
                return rc;
        if (len > cap)
                return -ENOSPC;

        out[0] = f->type;
        if (f->type == FRAME_PING) {
                out[1] = f->ping.flags;
                put_be64(out + 2, f->ping.token);
                goto done;
        }
        if (f->type == FRAME_CHALLENGE || f->type == FRAME_PROOF) {
                if (f->type == FRAME_CHALLENGE) {
                        out[1] = f->chal.flags;
                        memcpy(out + 2, f->chal.cookie, FRAME_COOKIE_LEN);
                        put_be64(out + 2 + FRAME_COOKIE_LEN, f->chal.heard);
                        put_be64(out + 10 + FRAME_COOKIE_LEN, f->chal.answers);
                } else {
                        memcpy(out + 1, f->chal.cookie, FRAME_COOKIE_LEN);
                }
                goto done;
        }
        put_be32(out + 1, f->sid);
        switch (f->type) {
        case FRAME_OPEN:
                out[5] = t->atyp;
                pos = 6;
                if (t->atyp == FRAME_ATYP_DOMAIN)
                        out[pos++] = t->addr_len;
                memcpy(out + pos, t->addr, t->addr_len);
                pos += t->addr_len;
                put_be16(out + pos, t->port);
                put_be16(out + pos + 2, f->open.data_len);
                put_payload(out + pos + 4, f->open.data, f->open.data_len);
                break;
        case FRAME_DATA:
                put_be64(out + 5, f->data.offset);
                put_be32(out + 13, f->data.len);
                put_payload(out + FRAME_DATA_HDR, f->data.data, f->data.len);
                break;
        case FRAME_FIN:
                put_be64(out + 5, f->fin.offset);
                break;
        case FRAME_RST:
                out[5] = f->rst.reason;
                break;
        case FRAME_ACK:
                out[5] = f->ack.flags;
                put_be64(out + 6, f->ack.acked);
                put_be32(out + 14, f->ack.window);
                break;
        }
done:
        *used = len;
        return 0;
}

void frame_iter_init(struct frame_iter *it, const uint8_t *p, size_t len)
{
        it->p = p;
        it->len = len;
        it->off = 0;
        it->err = 0;
}

int frame_next(struct frame_iter *it, struct frame *f)
{
        size_t used;
        int rc;

        if (it->err < 0)
                return it->err;
        if (it->off == it->len)
                return 0;
        rc = frame_decode(it->p + it->off, it->len - it->off, f, &used);
        if (rc < 0) {
                /* The region is complete (it came whole out of a batch), so
                 * a frame running past its end is trailing garbage. */
                it->err = rc == FRAME_ETRUNC ? FRAME_ETRAILING : rc;
                return it->err;
        }
        it->off += used;
        return 1;
}

uint8_t frame_rst_to_socks(uint8_t reason)
{
        switch (reason) {
        case FRAME_RST_NOT_ALLOWED:
        case FRAME_RST_NET_UNREACH:
        case FRAME_RST_HOST_UNREACH:
        case FRAME_RST_REFUSED:
        case FRAME_RST_TIMEOUT:
        case FRAME_RST_ATYP:
                return reason;
        }
        return 0x01;
}

const char *frame_rst_name(uint8_t reason)
{
        switch (reason) {
        case FRAME_RST_GENERAL:
                return "general";
        case FRAME_RST_NOT_ALLOWED:
                return "not-allowed";
        case FRAME_RST_NET_UNREACH:
                return "net-unreachable";
        case FRAME_RST_HOST_UNREACH:
                return "host-unreachable";
        case FRAME_RST_REFUSED:
                return "refused";
        case FRAME_RST_TIMEOUT:
                return "timeout";
        case FRAME_RST_ATYP:
                return "atyp-unsupported";
        case FRAME_RST_PROTOCOL:
                return "protocol-error";
        case FRAME_RST_CAP:
                return "cap-exceeded";
        case FRAME_RST_UNKNOWN:
                return "unknown-session";
        case FRAME_RST_ABORT:
                return "aborted";
        }
        return "?";
}

const char *frame_type_name(uint8_t type)
{
        switch (type) {
        case FRAME_OPEN:
                return "OPEN";
        case FRAME_DATA:
                return "DATA";
        case FRAME_FIN:
                return "FIN";
        case FRAME_RST:
                return "RST";
        case FRAME_ACK:
                return "ACK";
        case FRAME_PING:
                return "PING";
        case FRAME_CHALLENGE:
                return "CHALLENGE";
        case FRAME_PROOF:
                return "PROOF";
        }
        return "?";
}

const char *frame_strerror(int err)
{
        switch (err) {
        case 0:
                return "success";
        case FRAME_ETRUNC:
                return "frame truncated";
        case FRAME_ETYPE:
                return "unknown frame type";
        case FRAME_ETOOBIG:
                return "frame data too large";
        case FRAME_EZERO:
                return "zero-length data";
        case FRAME_EATYP:
                return "bad address type";
        case FRAME_EDOMAIN:
                return "bad domain name";
        case FRAME_EPORT:
                return "port 0";
        case FRAME_ESID:
                return "session id 0";
        case FRAME_EFLAGS:
                return "unknown flag bits";
        case FRAME_EOFFSET:
                return "stream offset overflows";
        case FRAME_ETRAILING:
                return "trailing bytes after the last frame";
        case FRAME_EREASON:
                return "unknown RST reason";
        case FRAME_EADDRLEN:
                return "address length does not match its type";
        case -ENOSPC:
                return "buffer too small";
        case -EINVAL:
                return "invalid argument";
        }
        return "unknown error";
}
