/* config: the settings of `urelay client` and `urelay exit`, from a JSON
 * file (-c FILE.json) and command-line flags, flags overriding the file.
 *
 * One schema table per command drives everything: each row names the JSON
 * key, the flag, the type and range, the default, the help text and where
 * the value lands in the command's config struct. JSON parsing, flag
 * parsing, --help, the startup summary and docs/configuration.md (checked by
 * a test) all come from those rows, so an option is written down once.
 * Errors name the file, line and column (or the flag) and the key.
 *
 * Sits under the commands (tools/cmd_*.c) and over netaddr and log. Keys are
 * not loaded here: the config names key files, core/key.c reads them.
 */
#ifndef URELAY_CORE_CONFIG_H
#define URELAY_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/config_endpoint.h"
#include "core/netaddr.h"

enum config_kind {
        CONFIG_STRING,   /* char *, NULL when unset; min..max bound the length if max > 0 */
        CONFIG_INT,      /* int64_t in min..max */
        CONFIG_SIZE,     /* int64_t bytes in min..max; "256k", "4m", "1g" accepted */
        CONFIG_BOOL,     /* bool; a flag without a value sets it, --no-FLAG clears it */
        CONFIG_ENUM,     /* int, an index into names */
        CONFIG_ADDR,     /* struct netaddr (host:port) */
        CONFIG_CIDR,     /* struct netaddr_cidr */
        CONFIG_URL,      /* struct netaddr_url */
        CONFIG_ENDPOINT, /* struct config_endpoint: a URL string, or an object */
};

enum config_opt_flags {
        CONFIG_LIST = 1 << 0,     /* struct config_list; a JSON array, a repeatable flag */
        CONFIG_SECRET = 1 << 1,   /* never printed or echoed in errors */
        CONFIG_READABLE = 1 << 2, /* a file that must exist and be readable */
};

/* Storage of a CONFIG_LIST option: n elements of the option's kind, e.g.
 * struct netaddr_url[n] for a list of URLs, char *[n] for strings. */
struct config_list {
        size_t n;
        void *v;
};

/* One row of a schema. Use CONFIG_AT() for offset and size. */
struct config_opt {
        const char *key;  /* JSON key; also the name used in messages */
        const char *flag; /* long flag, "--socks" */
        char short_flag;  /* 's' for -s, or 0 */
        enum config_kind kind;
        unsigned flags; /* enum config_opt_flags */
        const char *group;
        const char *metavar; /* flag argument in --help; NULL = the kind's */
        const char *def;     /* default, parsed like a flag value; NULL = unset */
        int64_t min, max;
        const char *const *names; /* CONFIG_ENUM: NULL-terminated */
        const char *pair;         /* key that must be set along with this one */
        const char *help;
        size_t offset, size; /* of the field in the command's config struct */
};

#define CONFIG_AT(type, field) .offset = offsetof(type, field), .size = sizeof(((type *)0)->field)

struct config_ctx;

struct config_schema {
        const char *command; /* "client" */
        const char *summary; /* one line, for --help */
        const struct config_opt *opts;
        size_t nopts;
        size_t size; /* of the config struct */
        /* Checks across options once file and flags are in; 0 or the
         * return of config_fail(). May be NULL. */
        int (*validate)(struct config_ctx *ctx, void *cfg);
};

/* What the command line asked for besides options. */
struct config_cmdline {
        const char *file; /* -c FILE, or NULL */
        bool check;       /* --check */
        bool help;        /* -h, --help: nothing else was parsed */
};

enum config_cipher { CONFIG_CIPHER_AES_256_GCM, CONFIG_CIPHER_CHACHA20_POLY1305 };

struct config_client {
        struct netaddr socks;
        bool allow_remote_socks;
        char *socks_user;
        char *socks_password;
        char *key_file;
        struct config_list endpoints; /* struct config_endpoint */
        struct netaddr connect;       /* dial address override; port 0 = unset */
        char *sni;                    /* TLS name; NULL = the URL's host */
        char *host;                   /* Host header; NULL = from the URL */
        bool text;                    /* post: base64 text bodies */
        int64_t workers;              /* post: data requests in flight */
        int64_t request_timeout;      /* post: seconds */
        int64_t max_redirects;        /* post */
        char *ca_file;                /* NULL = system CAs */
        bool insecure;                /* skip TLS verification */
        int cipher;                   /* enum config_cipher */
        int64_t window;               /* bytes */
        int64_t heartbeat;            /* seconds between pings */
        int64_t heartbeat_timeout;    /* seconds of silence that mean a dead path */
        bool reconnect;               /* false: exit when the tunnel goes down */
        int64_t reconnect_delay;      /* ms: the first reconnect's delay */
        int64_t max_reconnect_delay;  /* seconds: the backoff's cap */
        int64_t hold_sessions;        /* seconds sessions wait for a working link */
        int64_t blacklist_after;      /* consecutive failures that bench an endpoint */
        int64_t blacklist;            /* seconds: the first benching */
        int64_t blacklist_max;        /* seconds: the longest */
        char *state_file;             /* quota state; NULL = default path, "" = none */
        bool optimistic;              /* SOCKS5 success before the dial result */
        int log_level;                /* enum log_level */
};

struct config_exit {
        struct netaddr listen;
        struct config_list key_files;  /* char * */
        struct config_list allow_dest; /* struct netaddr_cidr */
        char *tls_cert;
        char *tls_key;
        int64_t max_sessions;
        int64_t max_sessions_per_client;
        int64_t max_instances;          /* live client instances per key */
        struct config_list dns_servers; /* struct netaddr; empty: /etc/resolv.conf */
        int64_t window;                 /* bytes per session and direction */
        int64_t long_poll;              /* seconds a POST /tunnel is held */
        int64_t post_coalesce_ms;
        int64_t grace; /* seconds a client's sessions outlive its transport */
        int log_level; /* enum log_level */
};

extern const struct config_schema config_client_schema;
extern const struct config_schema config_exit_schema;

/* Parses argv (argv[0] is the command name) into cfg: defaults, then the
 * file named by -c, then the flags in order (a list flag replaces the
 * file's list), then the checks. With -h/--help only cl->help is set.
 * Returns 0; -EINVAL for a bad command line (unknown flag, missing value:
 * exit 64); another -errno for a bad file or value (exit 78). The message
 * is in err; cfg is left empty on failure and is the caller's to
 * config_free() on success. */
int config_load(const struct config_schema *s, int argc, char **argv, void *cfg,
                struct config_cmdline *cl, char *err, size_t errlen);
int config_client_load(int argc, char **argv, struct config_client *cfg, struct config_cmdline *cl,
                       char *err, size_t errlen);
int config_exit_load(int argc, char **argv, struct config_exit *cfg, struct config_cmdline *cl,
                     char *err, size_t errlen);
void config_free(const struct config_schema *s, void *cfg);

/* "true", "yes", "on", "1" and their opposites, in any case: how every
 * boolean value is read (flags, JSON strings, endpoint settings). Returns 0
 * or -EINVAL. */
int config_parse_bool(const char *s, bool *out);

/* The generated --help text. */
void config_help(const struct config_schema *s, FILE *f);
/* "key=value ..." for every option that is set; secrets show as "(set)". */
void config_summary(const struct config_schema *s, const void *cfg, char *buf, size_t len);
const struct config_opt *config_find(const struct config_schema *s, const char *key);

/* For validate hooks: formats an error about opt (elem >= 0: one element
 * of a list) with its origin (file:line:col: key "k": / --flag: ) and
 * returns -EBADMSG. */
int config_fail(struct config_ctx *ctx, const struct config_opt *opt, long elem, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));
/* Whether opt was given in the file or on the command line. */
bool config_is_set(const struct config_ctx *ctx, const struct config_opt *opt);
/* For validate hooks: an error that belongs to no single option. Returns
 * -EBADMSG (a bad configuration). */
int config_error(struct config_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
