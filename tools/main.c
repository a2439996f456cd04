/* main: `urelay <command> [options]`. Dispatches to tools/cmd_*.c. */
#include "tools/cmd.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

struct command {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *summary;
};

static const struct command commands[] = {
    {"client", cmd_client, "run the SOCKS5 client that carries connections to an exit"},
    {"exit", cmd_exit, "run the exit server that dials the targets"},
    {"keygen", cmd_keygen, "print a fresh key (or write it with --out FILE, mode 0600)"},
    {"version", cmd_version, "print versions, wolfSSL build, io_uring features"},
    {"selfcheck", cmd_selfcheck, "check the reactor and the crypto on loopback, print figures"},
    {"forwarder", cmd_forwarder, "run the Apps Script stand-in (POST, 302, echo) for tests"},
};

static void usage(FILE *f)
{
        fprintf(f,
                "urelay %s: encrypted TCP relay on io_uring\n\n"
                "usage: urelay <command> [options]\n       urelay <command> --help\n\n"
                "commands:\n",
                URELAY_VERSION);
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
        fprintf(f, "  %-10s %s\n\n", "help", "this text");
        fprintf(f, "exit codes: 0 ok, 1 runtime failure, 2 endpoint rejected our key or URL,\n"
                   "  64 usage, 65 bad key, 69 io_uring unavailable, 78 bad configuration\n");
}

int main(int argc, char **argv)
{
        /* Sends use MSG_NOSIGNAL, but a stray write to a closed pipe must
         * never kill a relay that serves other sessions. */
        signal(SIGPIPE, SIG_IGN);
        /* Every session is one or two descriptors: take the hard limit the
         * administrator allows, not the soft default of 1024 (as nginx's
         * worker_rlimit_nofile or Go's runtime do). */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
        }

        if (argc < 2) {
                usage(stderr);
                return URELAY_EXIT_USAGE;
        }
        const char *name = argv[1];
        if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
                usage(stdout);
                return URELAY_EXIT_OK;
        }
        if (!strcmp(name, "--version"))
                name = "version";
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (!strcmp(name, commands[i].name))
                        return commands[i].run(argc - 1, argv + 1);
        }
        fprintf(stderr, "urelay: unknown command '%s' (try 'urelay help')\n", name);
        return URELAY_EXIT_USAGE;
}
