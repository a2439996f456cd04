/* sigwatch: signalfd on the reactor; see sigwatch.h. */
#include "core/sigwatch.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void watched_set(sigset_t *set)
{
        sigemptyset(set);
        sigaddset(set, SIGINT);
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGHUP);
}

static void on_ready(void *arg, unsigned revents)
{
        struct sigwatch *w = arg;
        struct signalfd_siginfo si;

        (void)revents;
        while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                w->fn(w->arg, (int)si.ssi_signo);
}

int sigwatch_start(struct sigwatch *w, struct reactor *r, void (*fn)(void *arg, int signo),
                   void *arg)
{
        sigset_t set;
        int ret;

        watched_set(&set);
        w->fn = fn;
        w->arg = arg;
        w->watch = NULL;
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return -errno;
        w->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (w->fd < 0) {
                ret = -errno;
                sigprocmask(SIG_UNBLOCK, &set, NULL);
                return ret;
        }
        ret = reactor_poll_start(r, w->fd, POLLIN, on_ready, w, &w->watch);
        if (ret < 0) {
                close(w->fd);
                sigprocmask(SIG_UNBLOCK, &set, NULL);
        }
        return ret;
}

void sigwatch_stop(struct sigwatch *w)
{
        sigset_t set;

        if (w->watch)
                reactor_poll_stop(w->watch);
        w->watch = NULL;
        if (w->fd >= 0)
                close(w->fd);
        w->fd = -1;
        watched_set(&set);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
}
