/* dialer: from the target of an OPEN frame to a connected socket, or to the
 * RST reason the client's SOCKS5 reply will carry.
 *
 * Sits between the exit's session layer (above) and dns + egress (below).
 * A domain target is resolved on the reactor (exit/dns.h); every address,
 * resolved or literal, goes through egress_check before any connect, and the
 * socket connects to exactly the address that was checked: there is no
 * second lookup for a DNS-rebinding answer to slip into. Allowed addresses
 * are tried in order; each attempt gets an equal share of the time left, so
 * a black-holed first address cannot eat the whole deadline. Every step is
 * asynchronous, so a slow target never delays another dial.
 *
 * Hand-off: the dialer connects a nonblocking socket itself (connect +
 * reactor_poll_start(POLLOUT) + SO_ERROR, with a reactor timer for the
 * deadline) and hands back a plain connected fd. The caller adopts it with
 * reactor_conn_add and its own rconn_ops; nothing of the dialer stays
 * attached to it.
 *
 * Targets ("host:port" as the client spelled it) that fail repeatedly are
 * suppressed for a while: after <suppress_after> consecutive failures,
 * further dials fail at once with the last reason, for a back-off that
 * doubles from <backoff_min_ms> to <backoff_max_ms>; one success clears it.
 */
#ifndef URELAY_EXIT_DIALER_H
#define URELAY_EXIT_DIALER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/frame.h"
#include "exit/egress.h"

struct reactor;
struct dns;
struct dialer;
struct dial;

/* Zero fields take the default shown. */
struct dialer_conf {
        unsigned suppress_after; /* consecutive failures before suppression; 3 */
        unsigned backoff_min_ms; /* first suppression period; 5000 */
        unsigned backoff_max_ms; /* longest, after doubling; 60000 */
        unsigned suppress_max;   /* failing targets remembered (oldest forgotten); 1024 */
};

#define DIALER_REASONS 32 /* by_reason is indexed by FRAME_RST_* (all < 32 here) */

struct dialer_stats {
        uint64_t dials;     /* dialer_dial calls accepted */
        uint64_t successes; /* connected sockets handed out */
        uint64_t failures;  /* failed results handed out (suppressed ones included) */
        uint64_t by_reason[DIALER_REASONS];
        uint64_t suppressed;   /* failed at once: the target is in back-off */
        uint64_t cancelled;    /* dialer_cancel before the callback */
        uint64_t attempts;     /* connect() calls */
        uint64_t denied_addrs; /* addresses refused by the egress policy */
};

struct dial_result {
        int fd;          /* success: the connected socket (nonblocking, CLOEXEC), now the
                          * callee's; failure: -1 */
        uint8_t reason;  /* 0 on success, else a FRAME_RST_* reason */
        bool suppressed; /* failed without trying: the target is in back-off */
        int err;         /* -errno behind the reason, for logs (0 on success) */
        /* The address connected to, or the last one tried (family 0: none). */
        struct sockaddr_storage addr;
};

/* <res> is valid only during the call. */
typedef void (*dialer_cb)(void *arg, const struct dial_result *res);

/* Creates a dialer on <r>. <dns> (may be NULL: domain targets then fail
 * with HOST_UNREACH) must outlive it; <policy> is copied. Returns 0, -ENOMEM
 * or -EINVAL (conf out of range). */
int dialer_new(struct dialer **out, struct reactor *r, struct dns *dns,
               const struct egress_policy *policy, const struct dialer_conf *conf);
/* Cancels every dial in progress (no callbacks, sockets closed) and frees
 * the dialer. Call before freeing its dns and reactor; a dialer_cb may call
 * it (the dial being delivered is already gone). */
void dialer_free(struct dialer *d);

/* Starts dialing <t> (its bytes are copied). <cb> runs exactly once, from
 * the reactor loop, never inside this call, within about <timeout_ms>
 * (DNS included; 0 = 10 s), unless dialer_cancel comes first. <*out> is the
 * handle for dialer_cancel, valid until the callback starts.
 * Result reasons: NOT_ALLOWED (egress denied every address; nothing was
 * connected), HOST_UNREACH (no such name, DNS failure, EHOSTUNREACH),
 * REFUSED, TIMEOUT (deadline, DNS timeout included), NET_UNREACH, GENERAL
 * (anything else, local errors included). With several addresses the
 * reason is the last attempt's.
 * Returns 0, or -EINVAL for a malformed target (unknown atyp, bad address
 * length, NUL in a name, port 0); on error <cb> is never called. */
int dialer_dial(struct dialer *d, const struct frame_target *t, unsigned timeout_ms, dialer_cb cb,
                void *arg, struct dial **out);
/* Withdraws a dial: no callback, and anything half-open (a DNS query, a
 * connecting socket, a connected one not yet delivered) is dropped. */
void dialer_cancel(struct dial *h);

const struct dialer_stats *dialer_stats(const struct dialer *d);

#endif
