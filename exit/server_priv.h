/* server_priv: what the parts of the exit runtime share (not an API).
 *
 *   server.c       HTTP/1.1 surface: accept, TLS, heads, routing, decoy, run
 *   clients.c      per-client demux: (key, instance) -> mux + tunnel, the
 *                  upstream sessions, batch authentication, the flush that
 *                  hands batches to whichever transport the client has
 *   ws_stream.c    `GET /stream`: the WebSocket transport
 *   post_tunnel.c  `POST /tunnel`: the batched POST transport (long polls)
 *
 * A client (struct client) is reached by at most one WebSocket (cl->ws) and
 * any number of held POSTs (cl->polls, oldest first). While it has neither,
 * its grace timer runs (`grace` seconds); when that fires, its sessions end
 * with RST upstream.
 */
#ifndef URELAY_EXIT_SERVER_PRIV_H
#define URELAY_EXIT_SERVER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/aead.h"
#include "core/config.h"
#include "core/cookie.h"
#include "core/key.h"
#include "core/reactor.h"
#include "core/sigwatch.h"
#include "core/tunnel.h"
#include "exit/egress.h"
#include "transport/http1_msg.h"

#define HEADER_DEADLINE_MS 10000
#define KEEPALIVE_IDLE_MS  60000 /* between requests on a keep-alive connection */
/* Replay windows of freed instances remembered (core/replay.h): the frees
 * of about a minute, 32 bytes each. */
#define GONE_MEMOS 4096
/* A POST link's retransmission timer (clients.c, and the client's). */
#define POST_RTO_MS 3000
#define MAX_POLLS   16 /* held POSTs per client; the oldest is answered beyond */

struct exit_key {
        struct aead_keys keys;
        struct batch_opener opener;
        struct batch_sealer chal; /* seals challenges (no instance needed) */
        bool sealed;              /* opener and chal set up: wipe them */
        char id[KEY_ID_HEX_LEN + 1];
        /* Refusing new instances (max_instances, every one holding
         * sessions): logged when it starts and when it ends. */
        bool full;
        uint64_t refused_full; /* new instances refused since it started */
};

struct server_stats {
        uint64_t refused_batches;  /* did not authenticate, or refused by the replay window */
        uint64_t replayed_batches; /* authentic, but seen before: dropped, the link earns nothing */
        uint64_t challenged; /* authentic, without a cookie that holds: answered, not acted on */
        uint64_t decoys;     /* 404s for unknown paths and unauthenticated requests */
        uint64_t posts, polls_answered_empty, too_large;
        uint64_t instances_evicted; /* idle instances that gave way to a new one */
        uint64_t instances_refused; /* new instances refused: "instance limit reached" */
};

struct server {
        const struct config_exit *cfg;
        struct reactor *r;
        struct exit_key *keys;
        size_t nkeys;
        struct rconn *listener;
        struct tls_ctx *tls_ctx;
        struct dns *dns;
        struct dialer *dialer;
        struct egress_policy egress;
        struct client *clients;
        struct replay_memo gone; /* replay windows of freed instances */
        struct cookie_jar jar;   /* freshness cookies (core/cookie.h) */
        uint8_t *chal;           /* the last challenge sealed (clients_deliver -EAGAIN) */
        size_t chal_len;
        struct sigwatch sig;
        int stopping;
        uint8_t *scratch; /* batches are opened here */
        char *text;       /* base64 of an answer (text mode) */
        struct server_stats st;
};

enum hstate {
        H_HEAD,    /* reading a request */
        H_WS,      /* a WebSocket tunnel */
        H_POLL,    /* a POST /tunnel delivered, waiting for its answer */
        H_CLOSING, /* answered for the last time, or dropped */
};

struct hconn {
        struct server *srv;
        struct rconn *c;
        enum hstate state;
        struct http1_msg msg;
        struct timer deadline, heartbeat;
        uint64_t last_rx_ms;
        struct tls *tls; /* when the exit serves TLS */
        struct ws *ws;
        struct client *cl;
        /* H_POLL: place in cl->polls, and how to answer. */
        struct hconn *poll_next, *poll_prev;
        struct timer poll_timer;
        bool text;           /* the request was base64 text: answer the same way */
        uint64_t chal_nonce; /* H_WS: its own challenges name it (clients.c) */
        bool carried;        /* the request carried frames: answer at the next flush */
        bool keep_alive;     /* the request allowed another after it */
        bool limited;        /* H_WS: closing with "instance limit reached" */
};

struct client {
        struct server *srv;
        struct client *next;
        size_t key;
        uint64_t instance;
        struct mux *mux;
        struct tunnel tun;
        struct hconn *ws;                 /* the WebSocket, if any */
        struct hconn *polls, *polls_tail; /* held POSTs, oldest first */
        unsigned npolls;
        struct upstream *ups; /* every session's upstream, dialing or piped */
        struct timer flush, grace, ack, rto;
        uint64_t rto_progress, rto_batches; /* as of the last rto tick */
        uint64_t batches;                   /* delivered, ever */
        uint64_t last_batch_ms;             /* reactor time of its last batch delivered */
        uint64_t incarnation;               /* random, non-zero: cookies name it (core/cookie.h) */
        uint64_t cookie_epoch;              /* of the last cookie it was sent */
        uint64_t born_epoch;                /* its creation cookie holds till the next epoch */
        uint64_t born_of;                   /* the incarnation its creation cookie named */
};

/* server.c */
int hconn_out(struct hconn *h, const void *p, size_t n);
/* Sends <resp> (a whole response) and closes after it. */
void hconn_reply_close(struct hconn *h, const char *resp, size_t len);
void hconn_send_decoy(struct hconn *h);
/* POST /tunnel: "instance limit reached" (503), for an authenticated batch
 * only. */
void hconn_send_limit(struct hconn *h);
/* Drops the connection at once (RST): a peer that broke the protocol. */
void hconn_abort(struct hconn *h);
/* The answer went out on a keep-alive connection: read the next request. */
void hconn_next_request(struct hconn *h, const uint8_t *rest, size_t n);

/* clients.c */
/* Authenticates batch p[0, n), finds or makes its client, and delivers its
 * frames. <h> is the transport it came on: a client found through another
 * transport than h->cl is refused. Returns 0 with the client in *out;
 * -EUSERS when the batch authenticated but its key has max_instances
 * instances, all with open sessions (the caller answers "instance limit
 * reached"); -EALREADY for a batch seen before (a replay, or a forwarder's
 * retry: nothing was done, and the transport it came on must not become
 * the client's: no downstream, no held POST); another negative errno when
 * the batch is refused (the caller answers as to a stranger); -EAGAIN when
 * it authenticated but its PROOF does not hold (a new link, an old batch, a
 * restarted exit, an instance made anew): nothing was done, and the caller
 * sends srv->chal[0, srv->chal_len), a sealed CHALLENGE, as the answer. A
 * refused or challenged batch makes no instance. */
int clients_deliver(struct server *srv, struct hconn *h, const uint8_t *p, size_t n,
                    struct client **out);
/* Sends what the client's mux has, over its WebSocket or in answer to its
 * held POSTs (now, or after the coalescing delay). */
void client_flush(struct client *cl);
void client_sched_flush(struct client *cl);
/* The transports a client has changed: starts or stops its grace timer. */
void client_transport_changed(struct client *cl);
void clients_free_all(struct server *srv);

/* ws_stream.c */
void ws_stream_start(struct hconn *h, const uint8_t *rest, size_t n);
void ws_stream_input(struct hconn *h, const uint8_t *p, size_t n);
/* Sends batches while the socket takes them; returns when the mux has
 * nothing or the socket is full (h_drain calls again). */
void ws_stream_flush(struct hconn *h);
void ws_stream_closed(struct hconn *h);

/* post_tunnel.c */
/* A complete `POST /tunnel` request is in h->msg. */
void post_tunnel_request(struct hconn *h, const uint8_t *rest, size_t n);
/* The body a text answer needs for BATCH_MAX: the text-mode body cap. */
size_t post_tunnel_max_body(void);
/* Answers the client's oldest held POSTs with batches while it has some. */
void post_tunnel_flush(struct client *cl);
/* The connection of a held POST went away. */
void post_tunnel_closed(struct hconn *h);

#endif
