/* config_schema: the options of `urelay client` and `urelay exit`: one row
 * per option drives its JSON key, its flag, --help, the summary line and its
 * error messages (engine in config.c), plus the checks that span options.
 *
 * To add an option: add a field to the command's struct in config.h and a
 * row to its table here, then a line to docs/configuration.md (a test checks
 * the doc names every key and flag).
 */
#include "core/config.h"
#include "core/stream.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
/* In enum log_level's order: the parsed index is the level. */
static const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const cipher_names[] = {"aes-256-gcm", "chacha20-poly1305", NULL};

#define CLI(field) CONFIG_AT(struct config_client, field)
#define EXI(field) CONFIG_AT(struct config_exit, field)
#define PATH_LEN   .min = 1, .max = 4096

static const struct config_opt client_opts[] = {
    {.key = "socks",
     .flag = "--socks",
     .short_flag = 's',
     .kind = CONFIG_ADDR,
     .group = "SOCKS5 server",
     .def = "127.0.0.1:1080",
     .help = "address the SOCKS5 server listens on (loopback unless allowed)",
     CLI(socks)},
    {.key = "allow_remote_socks",
     .flag = "--allow-remote-socks",
     .kind = CONFIG_BOOL,
     .group = "SOCKS5 server",
     .def = "false",
     .help = "permit a non-loopback socks address (logs a warning)",
     CLI(allow_remote_socks)},
    {.key = "socks_user",
     .flag = "--socks-user",
     .kind = CONFIG_STRING,
     .group = "SOCKS5 server",
     .metavar = "NAME",
     .min = 1,
     .max = 255,
     .pair = "socks_password",
     .help = "require RFC 1929 username/password authentication: the user",
     CLI(socks_user)},
    {.key = "socks_password",
     .flag = "--socks-password",
     .kind = CONFIG_STRING,
     .flags = CONFIG_SECRET,
     .group = "SOCKS5 server",
     .metavar = "PASSWORD",
     .min = 1,
     .max = 255,
     .pair = "socks_user",
     .help = "the password that goes with socks_user",
     CLI(socks_password)},
    {.key = "key_file",
     .flag = "--key-file",
     .short_flag = 'k',
     .kind = CONFIG_STRING,
     .group = "Tunnel",
     .metavar = "FILE",
     PATH_LEN,
     .help = "the key shared with the exit (64 hex digits, mode 0600)",
     CLI(key_file)},
    {.key = "endpoints",
     .flag = "--endpoint",
     .short_flag = 'e',
     .kind = CONFIG_ENDPOINT,
     .flags = CONFIG_LIST,
     .group = "Tunnel",
     .help = "an exit's URL: ws[s]:// (WebSocket) or http[s]:// (POST); repeat for a pool. "
             "Settings for this endpoint alone follow after commas: ,connect=IP:PORT,sni=NAME,"
             "host=NAME,text=BOOL,account=LABEL (endpoints of one account share its "
             "quota); in JSON also an object {\"url\": ..., \"sni\": ...}",
     CLI(endpoints)},
    {.key = "connect",
     .flag = "--connect",
     .kind = CONFIG_ADDR,
     .group = "Tunnel",
     .help = "dial this IP:PORT instead of the endpoint URL's host (fronting: the URL still "
             "gives the Host header and path)",
     CLI(connect)},
    {.key = "sni",
     .flag = "--sni",
     .kind = CONFIG_STRING,
     .group = "Tunnel",
     .metavar = "NAME",
     .min = 1,
     .max = 253,
     .help = "TLS server name sent and verified for wss:// and https:// (default: the URL's "
             "host)",
     CLI(sni)},
    {.key = "host",
     .flag = "--host",
     .kind = CONFIG_STRING,
     .group = "Tunnel",
     .metavar = "NAME",
     .min = 1,
     .max = 261,
     .help = "HTTP Host header (default: the URL's host, and its port unless the scheme's "
             "own); with --connect and --sni this splits fronting three ways",
     CLI(host)},
    {.key = "text",
     .flag = "--text",
     .kind = CONFIG_BOOL,
     .group = "POST transport",
     .def = "false",
     .help = "send batches as base64 text/plain, for forwarders that only carry text (Google "
             "Apps Script)",
     CLI(text)},
    {.key = "workers",
     .flag = "--workers",
     .kind = CONFIG_INT,
     .group = "POST transport",
     .def = "4",
     .min = 1,
     .max = 64,
     .help = "POST requests carrying data at once (one keep-alive connection each, plus one "
             "for the long poll); one session's throughput grows with them",
     CLI(workers)},
    {.key = "request_timeout",
     .flag = "--request-timeout",
     .kind = CONFIG_INT,
     .group = "POST transport",
     .def = "45",
     .min = 2,
     .max = 600,
     .metavar = "SECONDS",
     .help = "a POST without its whole answer after this long fails and is sent again; keep "
             "it above the exit's long_poll",
     CLI(request_timeout)},
    {.key = "max_redirects",
     .flag = "--max-redirects",
     .kind = CONFIG_INT,
     .group = "POST transport",
     .def = "3",
     .min = 0,
     .max = 10,
     .help = "redirects (301/302/303/307/308) followed per request; 302 and 303 become a GET, "
             "as browsers do (Apps Script answers through one)",
     CLI(max_redirects)},
    {.key = "ca_file",
     .flag = "--ca-file",
     .kind = CONFIG_STRING,
     .flags = CONFIG_READABLE,
     .group = "Tunnel",
     .metavar = "FILE",
     PATH_LEN,
     .help = "trust these CA certificates (PEM) for wss:// instead of the system's",
     CLI(ca_file)},
    {.key = "insecure",
     .flag = "--insecure",
     .kind = CONFIG_BOOL,
     .group = "Tunnel",
     .def = "false",
     .help = "do not verify the exit's TLS certificate (anyone on the path can read and "
             "alter the tunnel's TLS layer; the batches stay encrypted)",
     CLI(insecure)},
    {.key = "cipher",
     .flag = "--cipher",
     .kind = CONFIG_ENUM,
     .group = "Tunnel",
     .def = "aes-256-gcm",
     .names = cipher_names,
     .help = "AEAD for the batches",
     CLI(cipher)},
    {.key = "window",
     .flag = "--window",
     .kind = CONFIG_SIZE,
     .group = "Tunnel",
     .def = "256k",
     .min = STREAM_MIN_WINDOW,
     .max = 64 << 20,
     .help = "flow-control window per session and direction, in bytes",
     CLI(window)},
    {.key = "heartbeat",
     .flag = "--heartbeat",
     .kind = CONFIG_INT,
     .group = "Tunnel",
     .def = "15",
     .min = 1,
     .max = 300,
     .metavar = "SECONDS",
     .help = "ping the exit this often; three intervals without an answer end the tunnel",
     CLI(heartbeat)},
    {.key = "heartbeat_timeout",
     .flag = "--heartbeat-timeout",
     .kind = CONFIG_INT,
     .group = "Resilience",
     .def = "30",
     .min = 2,
     .max = 900,
     .metavar = "SECONDS",
     .help = "a transport silent this long (no answer to pings, a POST carrying frames "
             "unanswered) is dead: it is dropped and its frames go again",
     CLI(heartbeat_timeout)},
    {.key = "reconnect",
     .flag = "--reconnect",
     .kind = CONFIG_BOOL,
     .group = "Resilience",
     .def = "true",
     .help = "reconnect when the tunnel goes down (sessions survive while the exit keeps "
             "them); --no-reconnect exits with code 1 instead",
     CLI(reconnect)},
    {.key = "reconnect_delay",
     .flag = "--reconnect-delay",
     .kind = CONFIG_INT,
     .group = "Resilience",
     .def = "250",
     .min = 10,
     .max = 60000,
     .metavar = "MS",
     .help = "the first reconnect (and the next POST to an endpoint whose request failed) "
             "waits this long; each failure doubles it (with jitter) up to "
             "max_reconnect_delay; a connection that proves healthy resets it",
     CLI(reconnect_delay)},
    {.key = "max_reconnect_delay",
     .flag = "--max-reconnect-delay",
     .kind = CONFIG_INT,
     .group = "Resilience",
     .def = "30",
     .min = 1,
     .max = 3600,
     .metavar = "SECONDS",
     .help = "the longest wait between reconnects",
     CLI(max_reconnect_delay)},
    {.key = "hold_sessions",
     .flag = "--hold-sessions",
     .kind = CONFIG_INT,
     .group = "Resilience",
     .def = "60",
     .min = 1,
     .max = 3600,
     .metavar = "SECONDS",
     .help = "while no link works, open sessions wait this long for one, then end with a "
             "reset (keep it above the exit's grace to resume everything the exit kept)",
     CLI(hold_sessions)},
    {.key = "blacklist_after",
     .flag = "--blacklist-after",
     .kind = CONFIG_INT,
     .group = "Resilience",
     .def = "3",
     .min = 1,
     .max = 100,
     .metavar = "N",
     .help = "consecutive failures after which an endpoint is set aside (blacklisted)",
     CLI(blacklist_after)},
    {.key = "blacklist",
     .flag = "--blacklist",
     .kind = CONFIG_INT,
     .group = "Resilience",
     .def = "5",
     .min = 1,
     .max = 3600,
     .metavar = "SECONDS",
     .help = "how long an endpoint is first set aside; it doubles (with jitter) each time it "
             "fails again, up to blacklist_max; one success clears it",
     CLI(blacklist)},
    {.key = "blacklist_max",
     .flag = "--blacklist-max",
     .kind = CONFIG_INT,
     .group = "Resilience",
     .def = "600",
     .min = 1,
     .max = 86400,
     .metavar = "SECONDS",
     .help = "the longest an endpoint is set aside",
     CLI(blacklist_max)},
    {.key = "state_file",
     .flag = "--state-file",
     .kind = CONFIG_STRING,
     .group = "Resilience",
     .metavar = "FILE",
     .min = 0,
     .max = 4096,
     .help = "where exhausted quotas are remembered across restarts (default "
             "$XDG_STATE_HOME/urelay/client-state.json, or ~/.local/state/...); \"\" keeps "
             "them in memory only",
     CLI(state_file)},
    {.key = "optimistic",
     .flag = "--optimistic",
     .kind = CONFIG_BOOL,
     .group = "SOCKS5 server",
     .def = "false",
     .help = "answer CONNECT at once, before the exit has dialed, so the first bytes ride "
             "with the OPEN (saves a round trip; dial errors then show as a reset)",
     CLI(optimistic)},
    {.key = "log_level",
     .flag = "--log-level",
     .kind = CONFIG_ENUM,
     .group = "Logging",
     .def = "info",
     .names = log_level_names,
     .help = "least severe level logged",
     CLI(log_level)},
};

static const struct config_opt exit_opts[] = {
    {.key = "listen",
     .flag = "--listen",
     .short_flag = 'l',
     .kind = CONFIG_ADDR,
     .group = "HTTP server",
     .def = "127.0.0.1:8443",
     .help = "address the exit's HTTP server listens on",
     EXI(listen)},
    {.key = "tls_cert",
     .flag = "--tls-cert",
     .kind = CONFIG_STRING,
     .flags = CONFIG_READABLE,
     .group = "HTTP server",
     .metavar = "FILE",
     PATH_LEN,
     .pair = "tls_key",
     .help = "serve TLS with this certificate chain (PEM)",
     EXI(tls_cert)},
    {.key = "tls_key",
     .flag = "--tls-key",
     .kind = CONFIG_STRING,
     .flags = CONFIG_READABLE,
     .group = "HTTP server",
     .metavar = "FILE",
     PATH_LEN,
     .pair = "tls_cert",
     .help = "the private key of tls_cert (PEM)",
     EXI(tls_key)},
    {.key = "key_files",
     .flag = "--key-file",
     .short_flag = 'k',
     .kind = CONFIG_STRING,
     .flags = CONFIG_LIST,
     .group = "Clients",
     .metavar = "FILE",
     PATH_LEN,
     .help = "a client's key file (mode 0600); one file per client",
     EXI(key_files)},
    {.key = "allow_dest",
     .flag = "--allow-dest",
     .kind = CONFIG_CIDR,
     .flags = CONFIG_LIST,
     .group = "Egress",
     .help = "a block clients may reach though egress policy denies it",
     EXI(allow_dest)},
    {.key = "max_sessions",
     .flag = "--max-sessions",
     .kind = CONFIG_INT,
     .group = "Limits",
     .def = "4096",
     .min = 1,
     .max = 1000000,
     .help = "open sessions over all clients",
     EXI(max_sessions)},
    {.key = "max_sessions_per_client",
     .flag = "--max-sessions-per-client",
     .kind = CONFIG_INT,
     .group = "Limits",
     .def = "256",
     .min = 1,
     .max = 1000000,
     .help = "open sessions per client key (at most max_sessions)",
     EXI(max_sessions_per_client)},
    {.key = "max_instances",
     .flag = "--max-instances",
     .kind = CONFIG_INT,
     .group = "Limits",
     .def = "8",
     .min = 1,
     .max = 256,
     .help = "live client instances (client processes) per client key, each a mux and about "
             "2 MiB of batch buffers; when they are all there, one with no open sessions "
             "gives way to a new one, else the new one is told \"instance limit reached\" "
             "and retries",
     EXI(max_instances)},
    {.key = "window",
     .flag = "--window",
     .kind = CONFIG_SIZE,
     .group = "Limits",
     .def = "256k",
     .min = STREAM_MIN_WINDOW,
     .max = 64 << 20,
     .help = "flow-control window per session and direction, in bytes: what one session may "
             "hold here; raise it for long round trips (a forwarder) at the cost of memory",
     EXI(window)},
    {.key = "long_poll",
     .flag = "--long-poll",
     .kind = CONFIG_INT,
     .group = "POST transport",
     .def = "20",
     .min = 1,
     .max = 300,
     .metavar = "SECONDS",
     .help = "hold a POST /tunnel with nothing to answer this long, then answer it empty "
             "(keep it below the timeouts of proxies and CDNs on the path)",
     EXI(long_poll)},
    {.key = "post_coalesce_ms",
     .flag = "--post-coalesce-ms",
     .kind = CONFIG_INT,
     .group = "POST transport",
     .def = "0",
     .min = 0,
     .max = 50,
     .metavar = "MS",
     .help = "wait this long after data appears before answering a held POST, to carry "
             "more per answer (fewer requests through a quota-limited forwarder; adds "
             "latency)",
     EXI(post_coalesce_ms)},
    {.key = "grace",
     .flag = "--grace",
     .kind = CONFIG_INT,
     .group = "Tunnel",
     .def = "30",
     .min = 1,
     .max = 3600,
     .metavar = "SECONDS",
     .help = "a client's sessions outlive its transport this long, so that a client that "
             "reconnects resumes them; then they end with RST upstream",
     EXI(grace)},
    {.key = "dns_servers",
     .flag = "--dns-server",
     .kind = CONFIG_ADDR,
     .flags = CONFIG_LIST,
     .group = "Egress",
     .help = "DNS server (IP:PORT) for target names, instead of /etc/resolv.conf",
     EXI(dns_servers)},
    {.key = "log_level",
     .flag = "--log-level",
     .kind = CONFIG_ENUM,
     .group = "Logging",
     .def = "info",
     .names = log_level_names,
     .help = "least severe level logged",
     EXI(log_level)},
};

static int validate_client(struct config_ctx *ctx, void *p)
{
        const struct config_client *c = p;
        char a[NETADDR_STRLEN];

        if (!netaddr_is_loopback(&c->socks) && !c->allow_remote_socks) {
                netaddr_format(&c->socks, a, sizeof(a));
                return config_fail(ctx, config_find(&config_client_schema, "socks"), -1,
                                   "%s is not a loopback address; anyone who can reach it could "
                                   "use the relay. Set \"allow_remote_socks\": true (or pass "
                                   "--allow-remote-socks) to listen there anyway",
                                   a);
        }
        if (c->connect.port && c->connect.family == AF_UNSPEC)
                return config_fail(ctx, config_find(&config_client_schema, "connect"), -1,
                                   "\"%s\" is a name; connect takes an IP address, so the "
                                   "dial never depends on a DNS answer",
                                   c->connect.host);
        if (c->heartbeat_timeout <= c->heartbeat)
                return config_fail(ctx, config_find(&config_client_schema, "heartbeat_timeout"), -1,
                                   "%lld s is not more than heartbeat (%lld s): an idle "
                                   "tunnel would be declared dead between two pings",
                                   (long long)c->heartbeat_timeout, (long long)c->heartbeat);
        if (c->blacklist_max < c->blacklist)
                return config_fail(ctx, config_find(&config_client_schema, "blacklist_max"), -1,
                                   "%lld s is less than blacklist (%lld s)",
                                   (long long)c->blacklist_max, (long long)c->blacklist);
        if (!c->key_file) {
                return config_error(
                    ctx, "no key: set \"key_file\" in the config file or pass --key-file FILE "
                         "(make one with `urelay keygen --out FILE`)");
        }
        if (c->endpoints.n == 0) {
                return config_error(
                    ctx, "no endpoints: add \"endpoints\": [\"wss://exit.example/\"] to the config "
                         "file or pass --endpoint URL");
        }
        return 0;
}

static int validate_exit(struct config_ctx *ctx, void *p)
{
        struct config_exit *c = p;
        const struct config_opt *per = config_find(&config_exit_schema, "max_sessions_per_client");

        if (c->key_files.n == 0) {
                return config_error(
                    ctx, "no client keys: set \"key_files\" in the config file or pass --key-file "
                         "FILE (make one per client with `urelay keygen --out FILE`)");
        }
        if (c->max_sessions_per_client > c->max_sessions) {
                /* The default follows a lower global cap; an explicit value
                 * above it is a contradiction worth reporting. */
                if (!config_is_set(ctx, per))
                        c->max_sessions_per_client = c->max_sessions;
                else
                        return config_fail(ctx, per, -1, "%lld is more than max_sessions (%lld)",
                                           (long long)c->max_sessions_per_client,
                                           (long long)c->max_sessions);
        }
        return 0;
}

const struct config_schema config_client_schema = {
    .command = "client",
    .summary = "Runs the local SOCKS5 server and carries its connections to an exit.",
    .opts = client_opts,
    .nopts = sizeof(client_opts) / sizeof(client_opts[0]),
    .size = sizeof(struct config_client),
    .validate = validate_client,
};

const struct config_schema config_exit_schema = {
    .command = "exit",
    .summary = "Runs the exit server: authenticates clients and dials their targets.",
    .opts = exit_opts,
    .nopts = sizeof(exit_opts) / sizeof(exit_opts[0]),
    .size = sizeof(struct config_exit),
    .validate = validate_exit,
};

int config_client_load(int argc, char **argv, struct config_client *cfg, struct config_cmdline *cl,
                       char *err, size_t errlen)
{
        return config_load(&config_client_schema, argc, argv, cfg, cl, err, errlen);
}

int config_exit_load(int argc, char **argv, struct config_exit *cfg, struct config_cmdline *cl,
                     char *err, size_t errlen)
{
        return config_load(&config_exit_schema, argc, argv, cfg, cl, err, errlen);
}
