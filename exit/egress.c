/* egress: deny-by-default table of special-purpose address blocks, IPv6
 * wrappers unwrapped to the IPv4 address they carry, and the operator's
 * allow-list on top. See egress.h for the policy and where it sits.
 *
 * The IPv4 table is written once (an X-macro) and expands into one reason
 * string per way of reaching it, so a debug line says both the block and
 * the wrapper it was hidden in, without formatting anything at check time.
 */
#include "exit/egress.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

/* reliability.md §5, "Exit egress". */
#define EGRESS_V4_DENY(X)                                                                          \
        X(0, 0, 0, 0, 8, "0.0.0.0/8 (this network)")                                               \
        X(10, 0, 0, 0, 8, "10.0.0.0/8 (private)")                                                  \
        X(100, 64, 0, 0, 10, "100.64.0.0/10 (CGNAT)")                                              \
        X(127, 0, 0, 0, 8, "127.0.0.0/8 (loopback)")                                               \
        X(169, 254, 0, 0, 16, "169.254.0.0/16 (link-local, cloud metadata)")                       \
        X(172, 16, 0, 0, 12, "172.16.0.0/12 (private)")                                            \
        X(192, 0, 0, 0, 24, "192.0.0.0/24 (IETF protocol assignments)")                            \
        X(192, 0, 2, 0, 24, "192.0.2.0/24 (TEST-NET-1)")                                           \
        X(192, 88, 99, 0, 24, "192.88.99.0/24 (6to4 relay anycast)")                               \
        X(192, 168, 0, 0, 16, "192.168.0.0/16 (private)")                                          \
        X(198, 18, 0, 0, 15, "198.18.0.0/15 (benchmarking)")                                       \
        X(198, 51, 100, 0, 24, "198.51.100.0/24 (TEST-NET-2)")                                     \
        X(203, 0, 113, 0, 24, "203.0.113.0/24 (TEST-NET-3)")                                       \
        X(224, 0, 0, 0, 4, "224.0.0.0/4 (multicast)")                                              \
        X(240, 0, 0, 0, 4, "240.0.0.0/4 (reserved, broadcast)")

/* How an IPv4 address was reached: directly or inside an IPv6 wrapper. */
enum wrap { W_NONE, W_MAPPED, W_NAT64, W_6TO4, W_COUNT };

#define MAPPED_NAME "::ffff:0:0/96 (IPv4-mapped) embeds "
#define NAT64_NAME  "64:ff9b::/96 (NAT64) embeds "
#define SIXTO4_NAME "2002::/16 (6to4) embeds "

struct v4_deny {
        struct netaddr_cidr net;
        const char *why[W_COUNT];
};

#define V4_ENTRY(a, b, c, d, len, name)                                                            \
        {.net = {.family = AF_INET, .ip = {a, b, c, d}, .prefix = len},                            \
         .why = {name, MAPPED_NAME name, NAT64_NAME name, SIXTO4_NAME name}},

static const struct v4_deny v4_deny[] = {EGRESS_V4_DENY(V4_ENTRY)};

struct v6_deny {
        struct netaddr_cidr net;
        const char *why;
};

#define V6(len, ...)                                                                               \
        {                                                                                          \
                .family = AF_INET6, .ip = {__VA_ARGS__}, .prefix = len                             \
        }

static const struct v6_deny v6_deny[] = {
    {V6(128, 0), "::/128 (unspecified)"},
    {V6(128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), "::1/128 (loopback)"},
    {V6(7, 0xfc), "fc00::/7 (unique local)"},
    {V6(10, 0xfe, 0x80), "fe80::/10 (link-local)"},
    {V6(8, 0xff), "ff00::/8 (multicast)"},
    {V6(32, 0x20, 0x01, 0x0d, 0xb8), "2001:db8::/32 (documentation)"},
    {V6(64, 0x01, 0x00), "100::/64 (discard-only)"},
};

/* Wrappers and where their IPv4 address sits in the 16 bytes. */
static const struct {
        struct netaddr_cidr net;
        enum wrap wrap;
        unsigned v4_at;
} v6_wrap[] = {
    {V6(96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff), W_MAPPED, 12},
    {V6(96, 0x00, 0x64, 0xff, 0x9b), W_NAT64, 12},
    {V6(16, 0x20, 0x02), W_6TO4, 2},
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int allow_listed(const struct egress_policy *p, int family, const uint8_t *ip)
{
        for (size_t i = 0; i < p->n_allow; i++)
                if (netaddr_cidr_contains(&p->allow[i], family, ip))
                        return 1;
        return 0;
}

int egress_init(struct egress_policy *p, const struct netaddr_cidr *allow, size_t n)
{
        p->n_allow = 0;
        if (n > EGRESS_ALLOW_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++) {
                unsigned max = allow[i].family == AF_INET ? 32 : 128;

                if ((allow[i].family != AF_INET && allow[i].family != AF_INET6) ||
                    allow[i].prefix > max)
                        return -EINVAL;
        }
        if (n) /* an empty allow-list may come as NULL */
                memcpy(p->allow, allow, n * sizeof(*allow));
        p->n_allow = n;
        return 0;
}

static int check_v4(const struct egress_policy *p, const uint8_t *ip, enum wrap wrap,
                    const char **why)
{
        if (allow_listed(p, AF_INET, ip)) {
                *why = "allow-list";
                return 0;
        }
        for (size_t i = 0; i < ARRAY_LEN(v4_deny); i++) {
                if (netaddr_cidr_contains(&v4_deny[i].net, AF_INET, ip)) {
                        *why = v4_deny[i].why[wrap];
                        return -EACCES;
                }
        }
        *why = "public";
        return 0;
}

int egress_check_ip(const struct egress_policy *p, int family, const uint8_t *ip, const char **why)
{
        const char *dummy;

        if (!why)
                why = &dummy;
        if (family == AF_INET)
                return check_v4(p, ip, W_NONE, why);
        if (family != AF_INET6) {
                *why = "not an IP address";
                return -EACCES;
        }
        /* The allow-list is matched on the address as given first, so an
         * operator may also open a wrapper block itself (64:ff9b::/96). */
        if (allow_listed(p, AF_INET6, ip)) {
                *why = "allow-list";
                return 0;
        }
        for (size_t i = 0; i < ARRAY_LEN(v6_wrap); i++)
                if (netaddr_cidr_contains(&v6_wrap[i].net, AF_INET6, ip))
                        return check_v4(p, ip + v6_wrap[i].v4_at, v6_wrap[i].wrap, why);
        for (size_t i = 0; i < ARRAY_LEN(v6_deny); i++) {
                if (netaddr_cidr_contains(&v6_deny[i].net, AF_INET6, ip)) {
                        *why = v6_deny[i].why;
                        return -EACCES;
                }
        }
        *why = "public";
        return 0;
}

int egress_check(const struct egress_policy *p, const struct sockaddr *sa, const char **why)
{
        if (sa->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

                return egress_check_ip(p, AF_INET, (const uint8_t *)&in->sin_addr, why);
        }
        if (sa->sa_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

                return egress_check_ip(p, AF_INET6, in6->sin6_addr.s6_addr, why);
        }
        return egress_check_ip(p, sa->sa_family, NULL, why);
}
