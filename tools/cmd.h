/* cmd: the `urelay` subcommands and the process exit codes they share.
 *
 * Each command gets argv after its own name (argv[0] is the command name)
 * and returns a process exit code from enum urelay_exit.
 */
#ifndef URELAY_TOOLS_CMD_H
#define URELAY_TOOLS_CMD_H

/* Distinct codes so scripts and service managers can tell failures apart.
 * The 6x/7x values follow sysexits.h. */
enum urelay_exit {
        URELAY_EXIT_OK = 0,
        URELAY_EXIT_RUNTIME = 1,  /* failed while running */
        URELAY_EXIT_REJECTED = 2, /* endpoint answered, but not as an exit taking our key */
        URELAY_EXIT_USAGE = 64,   /* bad command line */
        URELAY_EXIT_KEY = 65,     /* malformed, weak, published or exposed key */
        URELAY_EXIT_NOURING = 69, /* io_uring unavailable (seccomp, sysctl, old kernel) */
        URELAY_EXIT_CONFIG = 78,  /* bad configuration file or value */
};

int cmd_client(int argc, char **argv);
int cmd_exit(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_selfcheck(int argc, char **argv);
int cmd_forwarder(int argc, char **argv);

#endif
