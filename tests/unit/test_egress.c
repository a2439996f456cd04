/* test_egress: the exit's egress policy (exit/egress.h). Every default-denied
 * block at its first and last address plus a public neighbour, the IPv6
 * wrappers unwrapped to the IPv4 address they carry, and the allow-list
 * winning over the deny list. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "exit/egress.h"

/* Builds a sockaddr for a literal and checks it; <why> gets the reason. */
static int check(const struct egress_policy *p, const char *ip, const char **why)
{
        struct sockaddr_storage ss;

        memset(&ss, 0, sizeof(ss));
        if (strchr(ip, ':')) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

                in6->sin6_family = AF_INET6;
                cr_assert_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1, "bad literal %s", ip);
        } else {
                struct sockaddr_in *in = (struct sockaddr_in *)&ss;

                in->sin_family = AF_INET;
                cr_assert_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1, "bad literal %s", ip);
        }
        return egress_check(p, (struct sockaddr *)&ss, why);
}

static void denied(const struct egress_policy *p, const char *ip, const char *want_why)
{
        const char *why = NULL;

        cr_assert_eq(check(p, ip, &why), -EACCES, "%s allowed (%s)", ip, why ? why : "-");
        cr_assert_not_null(why);
        cr_assert(strstr(why, want_why), "%s: reason \"%s\", want \"%s\"", ip, why, want_why);
}

static void allowed(const struct egress_policy *p, const char *ip, const char *want_why)
{
        const char *why = NULL;

        cr_assert_eq(check(p, ip, &why), 0, "%s denied (%s)", ip, why ? why : "-");
        cr_assert_str_eq(why, want_why, "%s", ip);
}

static struct egress_policy policy(const char *const *cidrs, size_t n)
{
        struct egress_policy p;
        struct netaddr_cidr c[8];
        char err[128];

        cr_assert_leq(n, 8);
        for (size_t i = 0; i < n; i++)
                cr_assert_eq(netaddr_cidr_parse(cidrs[i], &c[i], err, sizeof(err)), 0, "%s: %s",
                             cidrs[i], err);
        cr_assert_eq(egress_init(&p, c, n), 0);
        return p;
}

struct block {
        const char *first, *last, *outside, *name;
};

/* reliability.md §5. <outside> is a public address next to the block. */
static const struct block v4_blocks[] = {
    {"0.0.0.0", "0.255.255.255", "1.0.0.0", "0.0.0.0/8"},
    {"10.0.0.0", "10.255.255.255", "11.0.0.0", "10.0.0.0/8"},
    {"100.64.0.0", "100.127.255.255", "100.63.255.255", "100.64.0.0/10"},
    {"100.64.0.0", "100.127.255.255", "100.128.0.0", "100.64.0.0/10"},
    {"127.0.0.0", "127.255.255.255", "126.255.255.255", "127.0.0.0/8"},
    {"127.0.0.0", "127.255.255.255", "128.0.0.0", "127.0.0.0/8"},
    {"169.254.0.0", "169.254.255.255", "169.255.0.0", "169.254.0.0/16"},
    {"172.16.0.0", "172.31.255.255", "172.15.255.255", "172.16.0.0/12"},
    {"172.16.0.0", "172.31.255.255", "172.32.0.0", "172.16.0.0/12"},
    {"192.0.0.0", "192.0.0.255", "191.255.255.255", "192.0.0.0/24"},
    {"192.0.0.0", "192.0.0.255", "192.0.1.0", "192.0.0.0/24"},
    {"192.0.2.0", "192.0.2.255", "192.0.3.0", "192.0.2.0/24"},
    {"192.88.99.0", "192.88.99.255", "192.88.98.255", "192.88.99.0/24"},
    {"192.88.99.0", "192.88.99.255", "192.88.100.0", "192.88.99.0/24"},
    {"192.168.0.0", "192.168.255.255", "192.167.255.255", "192.168.0.0/16"},
    {"192.168.0.0", "192.168.255.255", "192.169.0.0", "192.168.0.0/16"},
    {"198.18.0.0", "198.19.255.255", "198.17.255.255", "198.18.0.0/15"},
    {"198.18.0.0", "198.19.255.255", "198.20.0.0", "198.18.0.0/15"},
    {"198.51.100.0", "198.51.100.255", "198.51.99.255", "198.51.100.0/24"},
    {"198.51.100.0", "198.51.100.255", "198.51.101.0", "198.51.100.0/24"},
    {"203.0.113.0", "203.0.113.255", "203.0.112.255", "203.0.113.0/24"},
    {"203.0.113.0", "203.0.113.255", "203.0.114.0", "203.0.113.0/24"},
    {"224.0.0.0", "239.255.255.255", "223.255.255.255", "224.0.0.0/4"},
    {"240.0.0.0", "255.255.255.255", "223.255.255.255", "240.0.0.0/4"},
};

static const struct block v6_blocks[] = {
    {"::", "::", "::2", "::/128"},
    {"::1", "::1", "::3", "::1/128"},
    {"fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "fc00::/7"},
    {"fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::", "fc00::/7"},
    {"fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::", "fe80::/10"},
    {"fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "fe80::/10"},
    {"ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "ff00::/8"},
    {"2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
     "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32"},
    {"2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::", "2001:db8::/32"},
    {"100::", "100::ffff:ffff:ffff:ffff", "100:0:0:1::", "100::/64"},
    {"100::", "100::ffff:ffff:ffff:ffff", "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "100::/64"},
};

static void blocks(const struct block *b, size_t n)
{
        struct egress_policy p = policy(NULL, 0);

        for (size_t i = 0; i < n; i++) {
                denied(&p, b[i].first, b[i].name);
                denied(&p, b[i].last, b[i].name);
                allowed(&p, b[i].outside, "public");
        }
}

Test(egress, ipv4_blocks_denied_edge_to_edge)
{
        blocks(v4_blocks, sizeof(v4_blocks) / sizeof(v4_blocks[0]));
}

Test(egress, ipv6_blocks_denied_edge_to_edge)
{
        blocks(v6_blocks, sizeof(v6_blocks) / sizeof(v6_blocks[0]));
}

Test(egress, public_addresses_allowed)
{
        struct egress_policy p = policy(NULL, 0);

        allowed(&p, "8.8.8.8", "public");
        allowed(&p, "1.1.1.1", "public");
        allowed(&p, "93.184.216.34", "public");
        allowed(&p, "2606:4700:4700::1111", "public");
        allowed(&p, "2a00:1450:4001:82a::200e", "public");
}

Test(egress, ipv4_mapped_unwrapped)
{
        struct egress_policy p = policy(NULL, 0);

        denied(&p, "::ffff:127.0.0.1", "127.0.0.0/8");
        denied(&p, "::ffff:127.0.0.1", "IPv4-mapped");
        denied(&p, "::ffff:169.254.169.254", "169.254.0.0/16");
        denied(&p, "::ffff:0.0.0.0", "0.0.0.0/8");
        denied(&p, "::ffff:255.255.255.255", "240.0.0.0/4");
        allowed(&p, "::ffff:8.8.8.8", "public");
        /* One bit off the wrapper: not mapped, judged as IPv6 (public). */
        allowed(&p, "::fffe:7f00:1", "public");
}

Test(egress, nat64_unwrapped)
{
        struct egress_policy p = policy(NULL, 0);

        denied(&p, "64:ff9b::10.0.0.1", "10.0.0.0/8");
        denied(&p, "64:ff9b::7f00:1", "NAT64");
        denied(&p, "64:ff9b::192.168.1.1", "192.168.0.0/16");
        allowed(&p, "64:ff9b::8.8.8.8", "public");
        /* 64:ff9b:1::/48 (local-use NAT64) is not the well-known prefix. */
        allowed(&p, "64:ff9b:1::7f00:1", "public");
}

Test(egress, sixtofour_unwrapped)
{
        struct egress_policy p = policy(NULL, 0);

        denied(&p, "2002:7f00:1::", "127.0.0.0/8");
        denied(&p, "2002:7f00:1::", "6to4");
        denied(&p, "2002:a9fe:a9fe::1", "169.254.0.0/16");
        denied(&p, "2002:c0a8:0101:ffff:ffff:ffff:ffff:ffff", "192.168.0.0/16");
        allowed(&p, "2002:808:808::", "public");
        allowed(&p, "2003:7f00:1::", "public");
}

Test(egress, allow_list_wins_over_deny)
{
        static const char *const allow[] = {"127.0.0.0/8", "10.1.0.0/16", "fd00::/8"};
        struct egress_policy p = policy(allow, 3);

        allowed(&p, "127.0.0.1", "allow-list");
        allowed(&p, "127.255.255.255", "allow-list");
        allowed(&p, "::ffff:127.0.0.1", "allow-list");
        allowed(&p, "64:ff9b::7f00:1", "allow-list");
        allowed(&p, "10.1.2.3", "allow-list");
        allowed(&p, "fd12::1", "allow-list");
        denied(&p, "10.2.0.0", "10.0.0.0/8");
        denied(&p, "10.0.255.255", "10.0.0.0/8");
        denied(&p, "fc00::1", "fc00::/7");
        denied(&p, "::1", "::1/128"); /* an IPv4 allow does not open IPv6 loopback */
        denied(&p, "169.254.169.254", "169.254.0.0/16");
        allowed(&p, "8.8.8.8", "public");
}

Test(egress, allow_ipv6_loopback)
{
        static const char *const allow[] = {"::1"};
        struct egress_policy p = policy(allow, 1);

        allowed(&p, "::1", "allow-list");
        denied(&p, "127.0.0.1", "127.0.0.0/8");
}

Test(egress, init_rejects_bad_lists)
{
        struct egress_policy p;
        struct netaddr_cidr c[EGRESS_ALLOW_MAX + 1];

        memset(c, 0, sizeof(c));
        for (size_t i = 0; i < EGRESS_ALLOW_MAX + 1; i++) {
                c[i].family = AF_INET;
                c[i].prefix = 32;
        }
        cr_assert_eq(egress_init(&p, c, EGRESS_ALLOW_MAX + 1), -E2BIG);
        cr_assert_eq(egress_init(&p, c, EGRESS_ALLOW_MAX), 0);
        c[0].prefix = 33;
        cr_assert_eq(egress_init(&p, c, 1), -EINVAL);
        cr_assert_eq(p.n_allow, 0);
        c[0].family = AF_INET6;
        c[0].prefix = 129;
        cr_assert_eq(egress_init(&p, c, 1), -EINVAL);
        c[0].family = AF_UNIX;
        c[0].prefix = 0;
        cr_assert_eq(egress_init(&p, c, 1), -EINVAL);
        /* A refused list leaves the defaults in force. */
        denied(&p, "127.0.0.1", "127.0.0.0/8");
}

Test(egress, other_families_denied)
{
        struct egress_policy p = policy(NULL, 0);
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        const char *why = NULL;

        cr_assert_eq(egress_check(&p, (struct sockaddr *)&un, &why), -EACCES);
        cr_assert_str_eq(why, "not an IP address");
        /* NULL why is accepted. */
        cr_assert_eq(check(&p, "10.0.0.1", NULL), -EACCES);
}

Test(egress, empty_allow_list_may_be_null)
{
        struct egress_policy p;
        struct sockaddr_in sa = {.sin_family = AF_INET};

        /* The exit passes its config list as is: NULL when no --allow-dest. */
        cr_assert_eq(egress_init(&p, NULL, 0), 0);
        sa.sin_addr.s_addr = htonl(0x7f000001);
        cr_assert_eq(egress_check(&p, (struct sockaddr *)&sa, NULL), -EACCES);
}
