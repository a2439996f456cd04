/* post_tunnel: the exit's `POST /tunnel` transport; see server_priv.h.
 *
 * A request body is one batch (binary, or base64 text: docs/protocol.md §6
 * tells them apart by the first byte), and so is the answer, in the same
 * encoding. A request that authenticates is held (a long poll) until its
 * client's mux has something to say, at most the long-poll window; then it
 * is answered with one batch, an empty one after the window. A request that
 * carried frames is never held: it is answered at the next flush. A client may
 * hold several requests at once: they are answered oldest first, so a
 * download streams over as many requests as the client keeps in flight.
 * Anything that does not authenticate gets the decoy, like an unknown path.
 * An authenticated batch of a new client instance that finds its key's
 * instances all busy (max_instances) gets 503 "instance limit reached".
 */
#include "exit/server_priv.h"

#include "core/base64.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A client downloading keeps several frameless requests here so that
 * answers overlap; beyond the first, one is held this long at most. */
#define EXTRA_POLL_MS 100

size_t post_tunnel_max_body(void)
{
        return b64_encoded_len(BATCH_MAX);
}

static void unlink_poll(struct hconn *h)
{
        struct client *cl = h->cl;

        if (h->poll_prev)
                h->poll_prev->poll_next = h->poll_next;
        else
                cl->polls = h->poll_next;
        if (h->poll_next)
                h->poll_next->poll_prev = h->poll_prev;
        else
                cl->polls_tail = h->poll_prev;
        h->poll_next = h->poll_prev = NULL;
        cl->npolls--;
        reactor_timer_stop(h->srv->r, &h->poll_timer);
}

/* Writes the answer to request <h>: batch msg[0, len), as it came (text
 * or binary). Returns 0, or -1 when the connection was dropped. */
static int write_answer(struct hconn *h, const uint8_t *msg, size_t len)
{
        struct server *srv = h->srv;
        const void *body = msg;
        size_t body_len = len;
        char head[256];

        if (h->text) {
                if (b64_encode(msg, len, srv->text, post_tunnel_max_body(), &body_len) < 0) {
                        hconn_abort(h); /* cannot happen: the buffer fits BATCH_MAX */
                        return -1;
                }
                body = srv->text;
        }
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                         "Cache-Control: no-store\r\n%s\r\n",
                         h->text ? "text/plain" : "application/octet-stream", body_len,
                         h->keep_alive ? "" : "Connection: close\r\n");
        if (hconn_out(h, head, (size_t)n) < 0 || hconn_out(h, body, body_len) < 0) {
                hconn_abort(h);
                return -1;
        }
        if (h->keep_alive)
                hconn_next_request(h, NULL, 0);
        else
                hconn_reply_close(h, "", 0);
        return 0;
}

/* Answers held request <h> with batch msg[0, len). */
static void answer(struct hconn *h, const uint8_t *msg, size_t len)
{
        struct client *cl = h->cl;

        unlink_poll(h);
        h->cl = NULL;
        write_answer(h, msg, len);
        client_transport_changed(cl);
}

static void answer_empty(struct hconn *h)
{
        const uint8_t *msg;
        size_t len;

        if (tunnel_empty_batch(&h->cl->tun, &msg, &len) < 0) {
                struct client *cl = h->cl;
                unlink_poll(h);
                h->cl = NULL;
                hconn_abort(h);
                client_transport_changed(cl);
                return;
        }
        h->srv->st.polls_answered_empty++;
        answer(h, msg, len);
}

static void poll_expired(struct timer *t, void *arg)
{
        (void)t;
        answer_empty(arg);
}

/* The request to answer next: one that carried frames, else the oldest. */
static struct hconn *next_to_answer(struct client *cl)
{
        for (struct hconn *h = cl->polls; h; h = h->poll_next)
                if (h->carried)
                        return h;
        return cl->polls;
}

void post_tunnel_flush(struct client *cl)
{
        const uint8_t *msg;
        size_t len;
        struct hconn *h;

        while ((h = next_to_answer(cl)) != NULL) {
                int ret = tunnel_next_batch(&cl->tun, &msg, &len);
                if (ret < 0) {
                        log_error("sealing a batch failed: %s", batch_strerror(ret));
                        return;
                }
                if (ret == 1)
                        answer(h, msg, len);
                else if (h->carried)
                        answer_empty(h);
                else
                        return; /* the long polls wait for data */
        }
}

void post_tunnel_closed(struct hconn *h)
{
        struct client *cl = h->cl;

        if (h->state != H_POLL || !cl)
                return;
        unlink_poll(h);
        h->cl = NULL;
        client_transport_changed(cl);
}

void post_tunnel_request(struct hconn *h, const uint8_t *rest, size_t n)
{
        struct server *srv = h->srv;
        size_t len, blen;
        uint8_t *body = (uint8_t *)http1_msg_body(&h->msg, &len);
        struct client *cl;

        srv->st.posts++;
        (void)rest;
        if (n) {
                /* A pipelined request behind a long poll: not something
                 * our client does, and answering out of order is worse. */
                hconn_abort(h);
                return;
        }
        /* A binary v1 batch starts with 0x01, never a base64 character. */
        h->text = len > 0 && body[0] != BATCH_VERSION;
        if (h->text) {
                if (b64_decode((const char *)body, len, body, len, &blen) < 0) {
                        hconn_send_decoy(h);
                        return;
                }
                len = blen;
        }
        h->keep_alive = http1_keep_alive(http1_msg_head(&h->msg));
        /* Only a frameless request is held: one that carried frames is
         * answered at the next flush, data or not, so that the client's
         * requests with frames never wait on the exit (it may be waiting
         * for exactly the ACK the client has to send next). */
        h->carried = len > BATCH_OVERHEAD;
        h->cl = NULL;
        int ret = clients_deliver(srv, h, body, len, &cl);
        if (ret == -EUSERS) {
                hconn_send_limit(h); /* the batch authenticated: no oracle */
                return;
        }
        if (ret == -EAGAIN) {
                /* Not acted on: the challenge is the answer, at once. */
                reactor_timer_stop(srv->r, &h->deadline);
                write_answer(h, srv->chal, srv->chal_len);
                return;
        }
        if (ret < 0) {
                hconn_send_decoy(h);
                return;
        }
        reactor_timer_stop(srv->r, &h->deadline);
        h->state = H_POLL;
        h->cl = cl;
        h->poll_prev = cl->polls_tail;
        h->poll_next = NULL;
        if (cl->polls_tail)
                cl->polls_tail->poll_next = h;
        else
                cl->polls = h;
        cl->polls_tail = h;
        cl->npolls++;
        client_transport_changed(cl);
        uint64_t hold = (uint64_t)srv->cfg->long_poll * 1000;
        for (struct hconn *o = cl->polls; o != h && !h->carried; o = o->poll_next)
                if (!o->carried) {
                        hold = EXTRA_POLL_MS; /* the long poll is there already */
                        break;
                }
        reactor_timer_start(srv->r, &h->poll_timer, hold, poll_expired, h);
        if (cl->npolls > MAX_POLLS)
                answer_empty(cl->polls);
        client_sched_flush(cl);
}
