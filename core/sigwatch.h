/* sigwatch: SIGINT, SIGTERM and SIGHUP delivered as reactor events.
 *
 * The signals are blocked and read from a signalfd watched by the reactor,
 * so a handler never runs in the middle of a completion: shutting down is
 * just another event. Used by the client and exit runtimes.
 */
#ifndef URELAY_CORE_SIGWATCH_H
#define URELAY_CORE_SIGWATCH_H

#include "core/reactor.h"

struct sigwatch {
        int fd;
        struct rconn *watch;
        void (*fn)(void *arg, int signo);
        void *arg;
};

/* Blocks the signals in the calling thread and watches them on <r>.
 * Returns 0 or -errno. */
int sigwatch_start(struct sigwatch *w, struct reactor *r, void (*fn)(void *arg, int signo),
                   void *arg);
/* Stops watching and unblocks the signals. */
void sigwatch_stop(struct sigwatch *w);

#endif
