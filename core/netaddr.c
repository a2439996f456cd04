/* netaddr: strict parsing of host:port, CIDR and endpoint URL strings.
 *
 * Strict on purpose: a config value that "almost" parses (a port of 0, host
 * bits under a CIDR prefix, an unbracketed IPv6 address) is almost always a
 * typo, and saying so at startup beats a relay that listens or dials
 * somewhere unexpected. Literals go through inet_pton; names are only
 * checked for shape (labels, characters, length), never resolved here.
 */
#include "core/netaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <unistd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const scheme_names[] = {"ws", "wss", "http", "https"};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
        va_list ap;

        if (err && errlen) {
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

/* A character for an error message: quoted if printable, escaped if not, so
 * a stray control byte never reaches the terminal. */
static const char *char_desc(char c, char buf[8])
{
        unsigned char u = (unsigned char)c;

        if (u >= 0x20 && u < 0x7f)
                snprintf(buf, 8, "'%c'", c);
        else
                snprintf(buf, 8, "\\x%02x", u);
        return buf;
}

int netaddr_parse_port(const char *s, uint16_t *out, char *err, size_t errlen)
{
        unsigned long v = 0;
        size_t i;

        if (!*s)
                return fail(err, errlen, "empty port (expected 1..65535)");
        for (i = 0; s[i]; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return fail(err, errlen,
                                    "port \"%.40s\" is not a number (expected 1..65535)", s);
                if (v <= 65535)
                        v = v * 10 + (unsigned long)(s[i] - '0');
        }
        if (v < 1 || v > 65535)
                return fail(err, errlen, "port %.40s is out of range (allowed 1..65535)", s);
        *out = (uint16_t)v;
        return 0;
}

/* Checks the shape of a DNS name: labels of letters, digits, '-' and '_'
 * (some service names use it), 1..63 long, no leading or trailing '-'. */
static int check_hostname(const char *h, char *err, size_t errlen)
{
        size_t n = strlen(h), label = 0;
        char cb[8];

        if (n > NETADDR_HOST_MAX)
                return fail(err, errlen, "host name is %zu characters long (at most %d)", n,
                            NETADDR_HOST_MAX);
        for (size_t i = 0; i <= n; i++) {
                char c = h[i];

                if (c == '.' || c == '\0') {
                        /* One trailing dot is the absolute form of a name. */
                        if (label == 0 && !(c == '\0' && i > 0 && h[i - 1] == '.' && i > 1))
                                return fail(err, errlen, "host name \"%s\" has an empty label", h);
                        if (label > 63)
                                return fail(err, errlen,
                                            "host name \"%.80s\" has a label longer than 63 "
                                            "characters",
                                            h);
                        if (label && (h[i - 1] == '-' || h[i - label] == '-'))
                                return fail(err, errlen,
                                            "host name \"%s\" has a label that starts or ends "
                                            "with '-'",
                                            h);
                        label = 0;
                        continue;
                }
                if (!isalnum((unsigned char)c) && c != '-' && c != '_')
                        return fail(err, errlen, "invalid character %s in host name \"%.80s\"",
                                    char_desc(c, cb), h);
                label++;
        }
        return 0;
}

/* Parses the host part (brackets already removed) into out->host/family/ip. */
static int parse_host(const char *h, size_t n, bool bracketed, struct netaddr *out, char *err,
                      size_t errlen)
{
        char buf[NETADDR_HOST_MAX + 1];

        if (n == 0)
                return fail(err, errlen, "missing host");
        if (n > NETADDR_HOST_MAX)
                return fail(err, errlen, "host is %zu characters long (at most %d)", n,
                            NETADDR_HOST_MAX);
        memcpy(buf, h, n);
        buf[n] = '\0';
        memset(out->ip, 0, sizeof(out->ip));
        if (bracketed) {
                if (inet_pton(AF_INET6, buf, out->ip) != 1)
                        return fail(err, errlen, "\"[%s]\" is not an IPv6 address", buf);
                out->family = AF_INET6;
        } else if (inet_pton(AF_INET, buf, out->ip) == 1) {
                out->family = AF_INET;
        } else if (strchr(buf, ':')) {
                return fail(err, errlen, "an IPv6 address needs brackets, as in [%s]:port", buf);
        } else if (strspn(buf, "0123456789.") == n) {
                /* Digits and dots only: meant as IPv4, not a name. */
                return fail(err, errlen, "\"%s\" is not a valid IPv4 address", buf);
        } else {
                int rc = check_hostname(buf, err, errlen);

                if (rc)
                        return rc;
                out->family = AF_UNSPEC;
        }
        memcpy(out->host, buf, n + 1);
        return 0;
}

int netaddr_parse(const char *s, struct netaddr *out, char *err, size_t errlen)
{
        struct netaddr a;
        const char *host, *port;
        size_t hlen;
        bool bracketed = false;
        char perr[128];
        int rc;

        memset(&a, 0, sizeof(a));
        if (!*s)
                return fail(err, errlen, "empty address (expected host:port)");
        if (s[0] == '[') {
                const char *close = strchr(s, ']');

                if (!close)
                        return fail(err, errlen, "missing ']' in \"%.300s\"", s);
                host = s + 1;
                hlen = (size_t)(close - host);
                bracketed = true;
                if (close[1] == '\0')
                        return fail(err, errlen,
                                    "missing port in \"%.300s\" (expected [host]:port)", s);
                if (close[1] != ':')
                        return fail(err, errlen, "expected ':' after ']' in \"%.300s\"", s);
                port = close + 2;
        } else {
                const char *colon = strrchr(s, ':');

                if (!colon)
                        return fail(err, errlen, "missing port in \"%.300s\" (expected host:port)",
                                    s);
                host = s;
                hlen = (size_t)(colon - s);
                port = colon + 1;
                if (memchr(s, ':', hlen))
                        return fail(err, errlen,
                                    "an IPv6 address needs brackets, as in [%.*s]:%.40s",
                                    (int)(hlen > 300 ? 300 : hlen), s, port);
        }
        if (hlen == 0)
                return fail(err, errlen, "missing host in \"%.300s\" (expected host:port)", s);
        rc = parse_host(host, hlen, bracketed, &a, err, errlen);
        if (rc)
                return rc;
        rc = netaddr_parse_port(port, &a.port, perr, sizeof(perr));
        if (rc)
                return fail(err, errlen, "%s in \"%.300s\"", perr, s);
        *out = a;
        return 0;
}

bool netaddr_is_loopback(const struct netaddr *a)
{
        static const uint8_t v6_loop[16] = {[15] = 1};
        static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};

        switch (a->family) {
        case AF_INET:
                return a->ip[0] == 127;
        case AF_INET6:
                return !memcmp(a->ip, v6_loop, 16) ||
                       (!memcmp(a->ip, v4_mapped, 12) && a->ip[12] == 127);
        default:
                return !strcasecmp(a->host, "localhost") || !strcasecmp(a->host, "localhost.");
        }
}

void netaddr_format(const struct netaddr *a, char *buf, size_t len)
{
        if (a->family == AF_INET6)
                snprintf(buf, len, "[%s]:%u", a->host, (unsigned)a->port);
        else
                snprintf(buf, len, "%s:%u", a->host, (unsigned)a->port);
}

int netaddr_to_sockaddr(const struct netaddr *a, struct sockaddr_storage *ss, socklen_t *len)
{
        memset(ss, 0, sizeof(*ss));
        if (a->family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *)ss;

                sin->sin_family = AF_INET;
                sin->sin_port = htons(a->port);
                memcpy(&sin->sin_addr, a->ip, 4);
                *len = sizeof(*sin);
                return 0;
        }
        if (a->family == AF_INET6) {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons(a->port);
                memcpy(&sin6->sin6_addr, a->ip, 16);
                *len = sizeof(*sin6);
                return 0;
        }
        return -EINVAL;
}

int netaddr_literal_sockaddr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                             socklen_t *len)
{
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, host, &sin->sin_addr) == 1)
                ss->ss_family = AF_INET;
        else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1)
                ss->ss_family = AF_INET6;
        else
                return -EINVAL;
        *len = netaddr_sockaddr_set_port(ss, port);
        return 0;
}

socklen_t netaddr_sockaddr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
        if (ss->ss_family == AF_INET) {
                ((struct sockaddr_in *)ss)->sin_port = htons(port);
                return sizeof(struct sockaddr_in);
        }
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
        return sizeof(struct sockaddr_in6);
}

int netaddr_cidr_parse(const char *s, struct netaddr_cidr *out, char *err, size_t errlen)
{
        char buf[INET6_ADDRSTRLEN + 1];
        const char *slash = strchr(s, '/');
        size_t alen = slash ? (size_t)(slash - s) : strlen(s);
        struct netaddr_cidr c;
        unsigned max;

        memset(&c, 0, sizeof(c));
        if (alen == 0)
                return fail(err, errlen, "empty address in CIDR \"%.300s\" (expected addr/len)", s);
        if (alen >= sizeof(buf))
                return fail(err, errlen, "\"%.60s...\" is not an IPv4 or IPv6 address", s);
        memcpy(buf, s, alen);
        buf[alen] = '\0';
        if (inet_pton(AF_INET, buf, c.ip) == 1) {
                c.family = AF_INET;
                max = 32;
        } else if (inet_pton(AF_INET6, buf, c.ip) == 1) {
                c.family = AF_INET6;
                max = 128;
        } else {
                return fail(err, errlen, "\"%s\" in CIDR \"%.300s\" is not an IPv4 or IPv6 address",
                            buf, s);
        }
        c.prefix = max;
        if (slash) {
                const char *p = slash + 1;
                size_t n = strlen(p);

                if (n == 0 || n > 3 || strspn(p, "0123456789") != n)
                        return fail(err, errlen,
                                    "prefix length \"/%.40s\" in \"%.300s\" is not a number "
                                    "(expected /0..%u)",
                                    p, s, max);
                c.prefix = 0;
                for (size_t i = 0; i < n; i++)
                        c.prefix = c.prefix * 10 + (unsigned)(p[i] - '0');
                if (c.prefix > max)
                        return fail(err, errlen,
                                    "prefix length /%u in \"%.300s\" is too long for %s (at most "
                                    "/%u)",
                                    c.prefix, s, c.family == AF_INET ? "IPv4" : "IPv6", max);
        }
        for (unsigned bit = c.prefix; bit < max; bit++) {
                if (c.ip[bit / 8] & (0x80u >> (bit % 8))) {
                        struct netaddr_cidr fixed = c;
                        char want[NETADDR_STRLEN];

                        for (unsigned b = c.prefix; b < max; b++)
                                fixed.ip[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
                        netaddr_cidr_format(&fixed, want, sizeof(want));
                        return fail(err, errlen,
                                    "\"%.300s\" has host bits set after the /%u prefix (did you "
                                    "mean %s?)",
                                    s, c.prefix, want);
                }
        }
        *out = c;
        return 0;
}

bool netaddr_cidr_contains(const struct netaddr_cidr *c, int family, const uint8_t *ip)
{
        unsigned full = c->prefix / 8, rest = c->prefix % 8;

        if (family != c->family)
                return false;
        if (memcmp(c->ip, ip, full))
                return false;
        if (rest) {
                uint8_t mask = (uint8_t)(0xff00u >> rest);

                if ((c->ip[full] & mask) != (ip[full] & mask))
                        return false;
        }
        return true;
}

void netaddr_cidr_format(const struct netaddr_cidr *c, char *buf, size_t len)
{
        char a[INET6_ADDRSTRLEN];

        if (!inet_ntop(c->family, c->ip, a, sizeof(a)))
                snprintf(a, sizeof(a), "?");
        snprintf(buf, len, "%s/%u", a, c->prefix);
}

const char *netaddr_scheme_name(enum netaddr_scheme scheme)
{
        return (unsigned)scheme < 4 ? scheme_names[scheme] : "?";
}

bool netaddr_scheme_tls(enum netaddr_scheme scheme)
{
        return scheme == NETADDR_WSS || scheme == NETADDR_HTTPS;
}

int netaddr_url_parse(const char *s, struct netaddr_url *out, char *err, size_t errlen)
{
        struct netaddr_url u;
        const char *sep = strstr(s, "://"), *auth, *auth_end, *path, *host, *port = NULL;
        size_t slen, hlen, alen;
        bool bracketed = false;
        char perr[128], cb[8];
        int rc;

        memset(&u, 0, sizeof(u));
        if (!*s)
                return fail(err, errlen, "empty URL (expected ws://, wss://, http:// or https://)");
        if (!sep)
                return fail(err, errlen,
                            "\"%.300s\" has no scheme (expected ws://, wss://, http:// or "
                            "https://)",
                            s);
        slen = (size_t)(sep - s);
        rc = -1;
        for (int i = 0; i < 4 && rc; i++) {
                if (slen == strlen(scheme_names[i]) && !strncasecmp(s, scheme_names[i], slen)) {
                        u.scheme = (enum netaddr_scheme)i;
                        rc = 0;
                }
        }
        if (rc)
                return fail(err, errlen,
                            "scheme \"%.*s\" in \"%.300s\" is not supported (use ws, wss, http or "
                            "https)",
                            (int)(slen > 40 ? 40 : slen), s, s);
        if (strchr(s, '#'))
                return fail(err, errlen, "\"%.300s\": fragments (#...) are not allowed in a URL",
                            s);

        auth = sep + 3;
        alen = strcspn(auth, "/?");
        auth_end = auth + alen;
        if (memchr(auth, '@', alen))
                return fail(err, errlen,
                            "\"%.300s\": user info (user@host) is not allowed in a URL; the "
                            "key authenticates",
                            s);
        if (alen == 0)
                return fail(err, errlen, "missing host in URL \"%.300s\"", s);
        if (auth[0] == '[') {
                const char *close = memchr(auth, ']', alen);

                if (!close)
                        return fail(err, errlen, "missing ']' in URL \"%.300s\"", s);
                host = auth + 1;
                hlen = (size_t)(close - host);
                bracketed = true;
                if (close + 1 < auth_end) {
                        if (close[1] != ':')
                                return fail(err, errlen, "expected ':' after ']' in URL \"%.300s\"",
                                            s);
                        port = close + 2;
                }
        } else {
                const char *colon = memchr(auth, ':', alen);

                host = auth;
                hlen = colon ? (size_t)(colon - auth) : alen;
                if (colon) {
                        if (memchr(colon + 1, ':', (size_t)(auth_end - colon - 1)))
                                return fail(err, errlen,
                                            "an IPv6 address needs brackets in a URL, as in "
                                            "wss://[::1]:443/");
                        port = colon + 1;
                }
        }
        if (hlen == 0)
                return fail(err, errlen, "missing host in URL \"%.300s\"", s);
        rc = parse_host(host, hlen, bracketed, &u.addr, perr, sizeof(perr));
        if (rc)
                return fail(err, errlen, "%s in URL \"%.300s\"", perr, s);
        if (port) {
                char pbuf[16];
                size_t plen = (size_t)(auth_end - port);

                if (plen >= sizeof(pbuf))
                        plen = sizeof(pbuf) - 1;
                memcpy(pbuf, port, plen);
                pbuf[plen] = '\0';
                if (netaddr_parse_port(pbuf, &u.addr.port, perr, sizeof(perr)))
                        return fail(err, errlen, "%s in URL \"%.300s\"", perr, s);
        } else {
                u.addr.port = netaddr_scheme_tls(u.scheme) ? 443 : 80;
        }

        path = auth_end;
        if (*path == '\0') {
                snprintf(u.path, sizeof(u.path), "%s",
                         u.scheme <= NETADDR_WSS ? "/stream" : "/tunnel");
        } else {
                size_t plen = strlen(path) + (*path == '?');

                if (plen > NETADDR_PATH_MAX)
                        return fail(err, errlen, "URL path is %zu characters long (at most %d)",
                                    plen, NETADDR_PATH_MAX);
                for (const char *p = path; *p; p++) {
                        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                                return fail(err, errlen,
                                            "invalid character %s at position %zu of URL "
                                            "\"%.300s\" (percent-encode it)",
                                            char_desc(*p, cb), (size_t)(p - s) + 1, s);
                }
                if (*path == '?')
                        u.path[0] = '/';
                memcpy(u.path + (*path == '?'), path, strlen(path) + 1);
        }
        *out = u;
        return 0;
}

void netaddr_url_format(const struct netaddr_url *u, char *buf, size_t len)
{
        char a[NETADDR_STRLEN];

        netaddr_format(&u->addr, a, sizeof(a));
        snprintf(buf, len, "%s://%s%s", netaddr_scheme_name(u->scheme), a, u->path);
}

int netaddr_listen(const struct netaddr *a, int backlog)
{
        struct sockaddr_storage ss;
        socklen_t len;
        int one = 1, fd, ret;

        ret = netaddr_to_sockaddr(a, &ss, &len);
        if (ret < 0)
                return ret;
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
                ret = -errno;
                close(fd);
                return ret;
        }
        return fd;
}
