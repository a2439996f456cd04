/* client_priv: what the client runtime (client.c: SOCKS5, sessions, the
 * choice of transport, reconnects) shares with its transports (the links:
 * client_ws.c, client_post.c) and the endpoint pool (client_pool.c). Not
 * an API.
 *
 * The runtime owns one mux and tunnel (one client instance) for the life of
 * the process; links come and go under it. A link reports what happens
 * through the client_link_* calls below; sessions never notice a link
 * change unless the exit has lost them (then they end with a reset).
 */
#ifndef URELAY_TOOLS_CLIENT_PRIV_H
#define URELAY_TOOLS_CLIENT_PRIV_H

#include "core/aead.h"
#include "core/config.h"
#include "core/mux.h"
#include "core/reactor.h"
#include "core/sigwatch.h"
#include "core/sockpipe.h"
#include "core/socks5.h"
#include "core/tunnel.h"

#include <stdbool.h>
#include <sys/socket.h>

#define CONNECT_TIMEOUT_MS 10000

enum tstate { T_DOWN, T_CONNECTING, T_HANDSHAKE, T_PROVING, T_UP };

/* Why a link ended. */
enum link_verdict {
        LINK_NET,     /* the network or the path: always retried */
        LINK_REFUSED, /* answered, but not as an urelay exit taking our key */
        LINK_LIMIT,   /* the exit took our key, but has no room for this instance
                       * now ("instance limit reached"): retried with backoff,
                       * never fatal, not the endpoint's failure */
        LINK_SUSPECT, /* cut right after our first batch: a wrong key, or an exit
                       * that restarted then. Before the first proof, fatal (as
                       * LINK_REFUSED) only the SUSPECTS_FATAL-th time in a row */
};

#define SUSPECTS_FATAL 3

struct crt;
struct post;
struct wslink;
struct endpoint;
struct pool;

struct app {
        struct crt *rt;
        struct app *prev, *next;
        struct rconn *c;
        struct socks5 hs;
        struct msess *s;
        struct sockpipe pipe;
        int relaying; /* pipe in use */
        int replied;  /* SOCKS5 reply sent */
};

struct crt {
        const struct config_client *cfg;
        struct config_client *cfg_owned; /* after a reload */
        int (*reload)(struct config_client *out, char *err, size_t len);
        struct reactor *r;
        struct aead_keys keys;
        enum aead_alg alg;
        uint64_t instance;
        struct pool *pool;
        struct tls_ctx *tls_ctx; /* for wss:// and https:// endpoints */
        struct wslink *wsl;      /* the WebSocket link, if that is the transport */
        struct post *post;       /* the post link, if that is the transport */
        struct mux *mux;
        struct tunnel tun;
        size_t batch_frames;
        bool proven; /* some endpoint has answered an authenticated batch */
        bool ready_printed;
        bool limited;            /* the exit said "instance limit reached" (logged once) */
        unsigned suspects;       /* LINK_SUSPECT verdicts in a row before the first proof */
        bool chal_lost;          /* a CHALLENGE said the exit does not have this instance */
        bool chal_resend;        /* a CHALLENGE said our batch was not acted on */
        uint64_t chal_heard;     /* its word on what the lost instance may have heard */
        struct replay chal_seen; /* batches of ours a CHALLENGE answered (each once) */
        uint64_t backoff_ms;
        uint64_t down_since;  /* ms; 0 while a link works */
        uint64_t link_serial; /* the endpoint of the last WebSocket link up */
        struct timer retry, flush, hold, swap, ack;
        struct rconn *listener;
        struct app *apps;
        struct socks5_auth auth_conf;
        struct sigwatch sig;
        int exit_code, stopping;
};

/* client.c */
void client_fatal(struct crt *rt, int code, const char *msg);
/* A batch from the exit: authenticate and deliver. Returns 0; 1 when it
 * was the exit's challenge to a batch of ours it did not act on (the link
 * is not proven by it: our frames go again with the cookie); or a negative
 * error for a batch that is not authentic or breaks the protocol. */
int client_batch_in(struct crt *rt, const uint8_t *p, size_t n);
/* The mux may have frames: ask the link for them. */
void client_kick(struct crt *rt);
/* A link got an authentic batch through <ep>: the tunnel works. */
void client_link_proven(struct crt *rt, struct endpoint *ep);
/* The next reconnect delay (reconnect_delay doubling up to
 * max_reconnect_delay, with jitter); a proven link starts it over. */
uint64_t client_backoff(struct crt *rt);
/* A WebSocket link ended; it is freed by itself. */
void client_link_failed(struct crt *rt, struct endpoint *ep, enum link_verdict v, const char *why);
/* A POST request failed (the post link keeps going): the runtime applies
 * --no-reconnect, the verdict before the first proof, and the session hold. */
void client_request_failed(struct crt *rt, struct endpoint *ep, enum link_verdict v,
                           const char *why);
/* The post link lost an endpoint (failure or quota): when no post endpoint
 * is usable but a WebSocket one is, the runtime moves to it. */
void client_post_trouble(struct crt *rt);
/* TCP keepalive and friends on a transport socket. */
void client_tune_socket(int fd);
/* Host header for <u>: the name, bracketed if IPv6, with the port unless
 * it is the scheme's default. */
void client_host_header(const struct netaddr_url *u, char *out, size_t len);

/* client_ws.c: the WebSocket link. */
/* Connects to ws endpoint <ep>; *out is the link (cleared through
 * client_link_failed if it fails, even before this returns). */
int wslink_start(struct crt *rt, struct endpoint *ep, struct wslink **out);
void wslink_kick(struct wslink *l);
struct endpoint *wslink_endpoint(const struct wslink *l);
void wslink_free(struct wslink *l);

/* client_post.c: the post link, over every post endpoint of the pool. */
int post_new(struct crt *rt, struct post **out);
void post_free(struct post *p);
/* Starts (the first request proves the endpoint). */
void post_start(struct post *p);
/* The mux has frames to send: issue requests while workers are free. */
void post_kick(struct post *p);
/* One line of counters, logged at shutdown. */
void post_log_stats(const struct post *p);

#endif
