/* client_priv: what the client runtime (client.c: SOCKS5, sessions, the
 * WebSocket link) shares with its POST link (client_post.c). Not an API.
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

#include <sys/socket.h>

#define CONNECT_TIMEOUT_MS 10000

enum tstate { T_DOWN, T_CONNECTING, T_HANDSHAKE, T_PROVING, T_UP };

struct crt;
struct post;

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
        struct reactor *r;
        struct aead_keys keys;
        enum aead_alg alg;
        uint64_t instance;
        struct netaddr_url url;
        struct sockaddr_storage ep;
        socklen_t ep_len;
        char ep_name[512];
        char host_header[NETADDR_HOST_MAX + 10];
        enum tstate state;
        struct rconn *tc;
        struct tls_ctx *tls_ctx; /* wss:// and https:// */
        struct tls *tls;
        const char *sni;
        struct ws *ws;
        struct post *post; /* http:// and https:// endpoints */
        struct mux *mux;
        struct tunnel tun;
        int proven; /* the endpoint has answered an authenticated batch */
        int ready_printed;
        unsigned backoff_ms;
        struct timer retry, auth, flush, heartbeat;
        uint64_t last_rx_ms; /* anything heard from the exit */
        struct rconn *listener;
        struct app *apps;
        struct socks5_auth auth_conf;
        struct sigwatch sig;
        int exit_code, stopping;
};

/* client.c */
void client_fatal(struct crt *rt, int code, const char *msg);
/* A batch from the exit: authenticate and deliver; the first one proves
 * the endpoint. Returns 0, or a negative error for a batch that is not
 * authentic or breaks the protocol. */
int client_batch_in(struct crt *rt, const uint8_t *p, size_t n);
/* Sets up the mux and tunnel for a (new) client instance. Returns 0 or
 * -ENOMEM. */
int client_tunnel_setup(struct crt *rt);
/* Host header for <u>: the name, bracketed if IPv6, with the port unless
 * it is the scheme's default. */
void client_host_header(const struct netaddr_url *u, char *out, size_t len);

/* client_post.c: the post transport's client half. */
int post_new(struct crt *rt, struct post **out);
void post_free(struct post *p);
/* Starts (the first request proves the endpoint). */
void post_start(struct post *p);
/* The mux has frames to send: issue requests while workers are free. */
void post_kick(struct post *p);
/* One line of counters, logged at shutdown. */
void post_log_stats(const struct post *p);

#endif
