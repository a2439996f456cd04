/* netaddr: parsing of the addresses a user writes in a config or on the
 * command line: "host:port" and "[v6]:port", CIDR blocks and endpoint URLs.
 *
 * Sits under config (every address option goes through here) and, later,
 * under the SOCKS listener, the dialer and the egress policy. Nothing here
 * resolves names or touches the network: a host that is not a literal stays
 * a name. Every rejection writes a message naming the problem into err.
 */
#ifndef URELAY_CORE_NETADDR_H
#define URELAY_CORE_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NETADDR_HOST_MAX 253  /* longest DNS name, RFC 1035 */
#define NETADDR_PATH_MAX 1024 /* request path of an endpoint URL, query included */
/* Big enough for any formatted address or CIDR ("[v6]:65535", "v6/128"). */
#define NETADDR_STRLEN     (NETADDR_HOST_MAX + 16)
#define NETADDR_URL_STRLEN (NETADDR_STRLEN + NETADDR_PATH_MAX + 16)

/* A host and a port. A literal keeps its bytes in ip; a name keeps
 * family == AF_UNSPEC and is resolved by whoever uses it. */
struct netaddr {
        char host[NETADDR_HOST_MAX + 1]; /* without brackets */
        uint16_t port;
        int family;     /* AF_INET, AF_INET6 or AF_UNSPEC (a name) */
        uint8_t ip[16]; /* 4 bytes for AF_INET, 16 for AF_INET6 */
};

struct netaddr_cidr {
        int family; /* AF_INET or AF_INET6 */
        uint8_t ip[16];
        unsigned prefix; /* 0..32 or 0..128 */
};

enum netaddr_scheme { NETADDR_WS, NETADDR_WSS, NETADDR_HTTP, NETADDR_HTTPS };

/* An endpoint URL: scheme://host[:port][/path][?query]. The port defaults to
 * 80 or 443 by scheme; an absent path to "/stream" for ws and wss and to
 * "/tunnel" for http and https, the two transports' request paths. */
struct netaddr_url {
        enum netaddr_scheme scheme;
        struct netaddr addr;
        char path[NETADDR_PATH_MAX + 1]; /* starts with '/', query kept */
};

/* "host:port", "[v6]:port" or "a.b.c.d:port". The port is required and in
 * 1..65535. Returns 0 or -EINVAL with a message in err. */
int netaddr_parse(const char *s, struct netaddr *out, char *err, size_t errlen);
/* A decimal port, 1..65535. Returns 0 or -EINVAL. */
int netaddr_parse_port(const char *s, uint16_t *out, char *err, size_t errlen);
/* 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 or the name "localhost". */
bool netaddr_is_loopback(const struct netaddr *a);
/* "host:port", brackets around IPv6 literals. Always NUL-terminates. */
void netaddr_format(const struct netaddr *a, char *buf, size_t len);
/* Fills a sockaddr for a literal; -EINVAL for a name (resolve it first). */
int netaddr_to_sockaddr(const struct netaddr *a, struct sockaddr_storage *ss, socklen_t *len);
/* The same for a bare host (no brackets) and a port: 0 when <host> is an
 * IPv4 or IPv6 literal, -EINVAL for a name. */
int netaddr_literal_sockaddr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                             socklen_t *len);
/* Puts <port> into an AF_INET or AF_INET6 address (a DNS answer has none)
 * and returns the address's length. */
socklen_t netaddr_sockaddr_set_port(struct sockaddr_storage *ss, uint16_t port);

/* "10.0.0.0/8", "2001:db8::/32"; a bare address is a host route (/32,
 * /128). Host bits set under the prefix are an error, not silently cleared:
 * "10.0.0.1/8" usually means a typo. Returns 0 or -EINVAL. */
int netaddr_cidr_parse(const char *s, struct netaddr_cidr *out, char *err, size_t errlen);
/* ip holds 4 or 16 bytes as family says; families never match each other. */
bool netaddr_cidr_contains(const struct netaddr_cidr *c, int family, const uint8_t *ip);
void netaddr_cidr_format(const struct netaddr_cidr *c, char *buf, size_t len);

/* Returns 0 or -EINVAL. Schemes are ws, wss, http, https (any case); user
 * info and fragments are refused. */
int netaddr_url_parse(const char *s, struct netaddr_url *out, char *err, size_t errlen);
void netaddr_url_format(const struct netaddr_url *u, char *buf, size_t len);
const char *netaddr_scheme_name(enum netaddr_scheme scheme);
/* wss and https run over TLS. */
bool netaddr_scheme_tls(enum netaddr_scheme scheme);

/* A listening TCP socket (SO_REUSEADDR, CLOEXEC) on the literal address
 * <a>. Returns the fd or -errno. */
int netaddr_listen(const struct netaddr *a, int backlog);

#endif
