/* cmd_forwarder: `urelay forwarder`, the Apps Script stand-in for tests and
 * benchmarks (tools/forwarder.c does the work).
 *
 * Parses its own options (it has no configuration file: a test tool takes
 * everything on the command line), refuses addresses off loopback unless
 * told, and runs the forwarder.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/netaddr.h"
#include "tools/cmd.h"
#include "tools/forwarder.h"

static void usage(FILE *f)
{
        fprintf(
            f,
            "usage: urelay forwarder --listen IP:PORT --exit http://IP:PORT/PATH [--exit ...]\n"
            "                        [fault options]\n\n"
            "Behaves like the Google Apps Script web app of forwarder/Code.gs, on loopback,\n"
            "so tests and benchmarks can run the client's post transport without Google:\n"
            "  POST <any path>   the body goes verbatim (same Content-Type) to the next exit\n"
            "                    (round robin) over a keep-alive connection; whatever status\n"
            "                    the exit answers, its body is kept under a fresh token and\n"
            "                    the POST gets 302 Found, Location: http://HOST/echo?k=TOKEN\n"
            "                    (HOST from the POST's Host header); 502 if the exit cannot\n"
            "                    be reached or does not answer in time\n"
            "  GET /echo?k=TOKEN the kept answer, once (then 404); kept 60 s at most\n"
            "  GET <other>       200 \"urelay forwarder ok\" (the web app's doGet)\n\n"
            "options:\n"
            "  --listen IP:PORT        where to serve (required; IP literal)\n"
            "  --exit URL              an exit's http://IP:PORT/PATH (required, repeatable,\n"
            "                          up to %d; no DNS, no https)\n"
            "  --allow-remote          accept --listen and --exit off loopback\n"
            "  --exit-timeout-ms MS    the exit's whole answer within MS (default 60000)\n"
            "  --latency-ms MS         delay every POST by MS before handling it (default 0)\n"
            "  --jitter-ms MS          plus a uniform random 0..MS (default 0)\n\n"
            "faults, counted over POSTs n = 1, 2, ...; when several fall on one n, the first\n"
            "in this order wins: quota, rate limit, fail, truncate:\n"
            "  --quota-after N         every POST after the first N gets, unforwarded, the\n"
            "                          200 text/html page \"Service invoked too many times\n"
            "                          for one day: urlfetch.\"\n"
            "  --rate-limit-every N    every Nth POST gets, unforwarded, 429 with Retry-After\n"
            "  --retry-after S         the Retry-After of those (default 30)\n"
            "  --fail-every N          every Nth POST is forwarded (the exit acts on it) but\n"
            "                          its answer is lost: the client gets --fail-status\n"
            "  --fail-status CODE      400..599 (default 502)\n"
            "  --truncate-every N      every Nth POST's kept answer is cut to half its length\n\n"
            "  --log-level LEVEL       error, warn, info (default) or debug (debug names each\n"
            "                          injected fault)\n"
            "  -h, --help              this text\n\n"
            "Prints \"urelay forwarder: ready on IP:PORT -> URLS\" once serving. On SIGINT or\n"
            "SIGTERM prints on stderr \"urelay forwarder: N posts, F forwarded, faults:\n"
            "502=a truncated=b 429=c quota=d, echoes served=e\" (F counts POSTs the exit\n"
            "answered; 502=a counts --fail-every faults whatever --fail-status) and exits 0.\n"
            "See docs/apps-script.md.\n",
            FORWARDER_MAX_EXITS);
}

enum {
        O_LISTEN = 256,
        O_EXIT,
        O_ALLOW_REMOTE,
        O_EXIT_TIMEOUT,
        O_LATENCY,
        O_JITTER,
        O_QUOTA,
        O_RATE,
        O_RETRY_AFTER,
        O_FAIL,
        O_FAIL_STATUS,
        O_TRUNCATE,
        O_LOG_LEVEL,
};

static const struct option longopts[] = {
    {"listen", required_argument, NULL, O_LISTEN},
    {"exit", required_argument, NULL, O_EXIT},
    {"allow-remote", no_argument, NULL, O_ALLOW_REMOTE},
    {"exit-timeout-ms", required_argument, NULL, O_EXIT_TIMEOUT},
    {"latency-ms", required_argument, NULL, O_LATENCY},
    {"jitter-ms", required_argument, NULL, O_JITTER},
    {"quota-after", required_argument, NULL, O_QUOTA},
    {"rate-limit-every", required_argument, NULL, O_RATE},
    {"retry-after", required_argument, NULL, O_RETRY_AFTER},
    {"fail-every", required_argument, NULL, O_FAIL},
    {"fail-status", required_argument, NULL, O_FAIL_STATUS},
    {"truncate-every", required_argument, NULL, O_TRUNCATE},
    {"log-level", required_argument, NULL, O_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* A decimal number in [min, max]; prints the refusal. */
static bool number(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
        char *end;
        unsigned long long v;

        errno = 0;
        if (*s < '0' || *s > '9' || (v = strtoull(s, &end, 10), errno) || *end || v < min ||
            v > max) {
                fprintf(stderr, "urelay forwarder: --%s wants a number in %llu..%llu, not '%s'\n",
                        opt, (unsigned long long)min, (unsigned long long)max, s);
                return false;
        }
        *out = v;
        return true;
}

int cmd_forwarder(int argc, char **argv)
{
        struct forwarder_conf c;
        bool listen_set = false, allow_remote = false;
        char err[512], name[NETADDR_URL_STRLEN];
        uint64_t v;
        int opt;

        forwarder_conf_init(&c);
        opterr = 0;
        optind = 1;
        while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                const char *a = optarg;
                const char *oname = opt >= O_LISTEN ? longopts[opt - O_LISTEN].name : "";
                bool ok = true;

                switch (opt) {
                case 'h':
                        usage(stdout);
                        return URELAY_EXIT_OK;
                case O_LISTEN:
                        if (netaddr_parse(a, &c.listen, err, sizeof(err)) < 0) {
                                fprintf(stderr, "urelay forwarder: --listen: %s\n", err);
                                return URELAY_EXIT_USAGE;
                        }
                        if (c.listen.family == AF_UNSPEC) {
                                fprintf(stderr,
                                        "urelay forwarder: --listen wants an IP literal, not "
                                        "'%s'\n",
                                        c.listen.host);
                                return URELAY_EXIT_USAGE;
                        }
                        listen_set = true;
                        break;
                case O_EXIT: {
                        struct netaddr_url *u = &c.exits[c.nexits];

                        if (c.nexits == FORWARDER_MAX_EXITS) {
                                fprintf(stderr, "urelay forwarder: at most %d --exit\n",
                                        FORWARDER_MAX_EXITS);
                                return URELAY_EXIT_USAGE;
                        }
                        if (netaddr_url_parse(a, u, err, sizeof(err)) < 0) {
                                fprintf(stderr, "urelay forwarder: --exit: %s\n", err);
                                return URELAY_EXIT_USAGE;
                        }
                        if (u->scheme != NETADDR_HTTP) {
                                fprintf(stderr,
                                        "urelay forwarder: --exit %s: only http:// (the "
                                        "forwarder speaks no TLS)\n",
                                        a);
                                return URELAY_EXIT_USAGE;
                        }
                        if (u->addr.family == AF_UNSPEC) {
                                fprintf(stderr,
                                        "urelay forwarder: --exit %s: the host must be an IP "
                                        "literal (no DNS)\n",
                                        a);
                                return URELAY_EXIT_USAGE;
                        }
                        c.nexits++;
                        break;
                }
                case O_ALLOW_REMOTE:
                        allow_remote = true;
                        break;
                case O_EXIT_TIMEOUT:
                        ok = number(oname, a, 1, 3600000, &v);
                        c.exit_timeout_ms = (unsigned)v;
                        break;
                case O_LATENCY:
                        ok = number(oname, a, 0, 600000, &v);
                        c.latency_ms = (unsigned)v;
                        break;
                case O_JITTER:
                        ok = number(oname, a, 0, 600000, &v);
                        c.jitter_ms = (unsigned)v;
                        break;
                case O_QUOTA:
                        ok = number(oname, a, 1, UINT64_MAX, &c.quota_after);
                        break;
                case O_RATE:
                        ok = number(oname, a, 1, UINT64_MAX, &c.rate_every);
                        break;
                case O_RETRY_AFTER:
                        ok = number(oname, a, 0, 86400, &v);
                        c.retry_after = (unsigned)v;
                        break;
                case O_FAIL:
                        ok = number(oname, a, 1, UINT64_MAX, &c.fail_every);
                        break;
                case O_FAIL_STATUS:
                        ok = number(oname, a, 400, 599, &v);
                        c.fail_status = (unsigned)v;
                        break;
                case O_TRUNCATE:
                        ok = number(oname, a, 1, UINT64_MAX, &c.truncate_every);
                        break;
                case O_LOG_LEVEL: {
                        enum log_level lvl;

                        if (log_level_parse(a, &lvl) < 0) {
                                fprintf(stderr,
                                        "urelay forwarder: --log-level wants error, warn, info "
                                        "or debug, not '%s'\n",
                                        a);
                                return URELAY_EXIT_USAGE;
                        }
                        log_set_level(lvl);
                        break;
                }
                default:
                        fprintf(stderr,
                                "urelay forwarder: unknown option or missing value: %s (try "
                                "--help)\n",
                                argv[optind - 1]);
                        return URELAY_EXIT_USAGE;
                }
                if (!ok)
                        return URELAY_EXIT_USAGE;
        }
        if (optind < argc) {
                fprintf(stderr, "urelay forwarder: unexpected argument '%s' (try --help)\n",
                        argv[optind]);
                return URELAY_EXIT_USAGE;
        }
        if (!listen_set || !c.nexits) {
                fprintf(stderr, "urelay forwarder: --listen and at least one --exit are required "
                                "(try --help)\n");
                return URELAY_EXIT_USAGE;
        }
        /* A forwarder on a public address is an open relay to the exits. */
        if (!allow_remote && !netaddr_is_loopback(&c.listen)) {
                netaddr_format(&c.listen, name, sizeof(name));
                fprintf(stderr,
                        "urelay forwarder: --listen %s is not a loopback address; this is a test "
                        "tool: add --allow-remote to serve other hosts\n",
                        name);
                return URELAY_EXIT_CONFIG;
        }
        for (unsigned i = 0; i < c.nexits && !allow_remote; i++) {
                if (!netaddr_is_loopback(&c.exits[i].addr)) {
                        netaddr_url_format(&c.exits[i], name, sizeof(name));
                        fprintf(stderr,
                                "urelay forwarder: --exit %s is not on loopback; add "
                                "--allow-remote to forward off this host\n",
                                name);
                        return URELAY_EXIT_CONFIG;
                }
        }
        return forwarder_run(&c);
}
