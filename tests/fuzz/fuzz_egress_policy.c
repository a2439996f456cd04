/* fuzz_egress_policy: libFuzzer target for the exit's egress policy
 * (exit/egress.h), checked against a second, naive classifier written here.
 *
 * The reference knows each block only as its first and last address (typed
 * in by hand from reliability.md §5, compared as big-endian integers), and
 * unwraps IPv4-mapped, NAT64 and 6to4 by byte offsets; the module under test
 * works on prefix masks. The input picks an address shape (raw IPv4, raw
 * IPv6, one of the three wrappers, or a block edge +-2) and up to two
 * allow-list CIDRs; both classifiers must agree on allow/deny, and a denial
 * must name the block the reference found.
 *
 * fuzz-sources: exit/egress.c core/netaddr.c
 * Built and run by scripts/fuzz.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exit/egress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ref_range {
        const char *lo, *hi, *name;
        uint8_t blo[16], bhi[16]; /* parsed once */
};

static struct ref_range ref_v4[] = {
    {"0.0.0.0", "0.255.255.255", "0.0.0.0/8", {0}, {0}},
    {"10.0.0.0", "10.255.255.255", "10.0.0.0/8", {0}, {0}},
    {"100.64.0.0", "100.127.255.255", "100.64.0.0/10", {0}, {0}},
    {"127.0.0.0", "127.255.255.255", "127.0.0.0/8", {0}, {0}},
    {"169.254.0.0", "169.254.255.255", "169.254.0.0/16", {0}, {0}},
    {"172.16.0.0", "172.31.255.255", "172.16.0.0/12", {0}, {0}},
    {"192.0.0.0", "192.0.0.255", "192.0.0.0/24", {0}, {0}},
    {"192.0.2.0", "192.0.2.255", "192.0.2.0/24", {0}, {0}},
    {"192.88.99.0", "192.88.99.255", "192.88.99.0/24", {0}, {0}},
    {"192.168.0.0", "192.168.255.255", "192.168.0.0/16", {0}, {0}},
    {"198.18.0.0", "198.19.255.255", "198.18.0.0/15", {0}, {0}},
    {"198.51.100.0", "198.51.100.255", "198.51.100.0/24", {0}, {0}},
    {"203.0.113.0", "203.0.113.255", "203.0.113.0/24", {0}, {0}},
    {"224.0.0.0", "239.255.255.255", "224.0.0.0/4", {0}, {0}},
    {"240.0.0.0", "255.255.255.255", "240.0.0.0/4", {0}, {0}},
};

static struct ref_range ref_v6[] = {
    {"::", "::", "::/128", {0}, {0}},
    {"::1", "::1", "::1/128", {0}, {0}},
    {"fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::/7", {0}, {0}},
    {"fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::/10", {0}, {0}},
    {"ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::/8", {0}, {0}},
    {"2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32", {0}, {0}},
    {"100::", "100::ffff:ffff:ffff:ffff", "100::/64", {0}, {0}},
};

#define N_V4 (sizeof(ref_v4) / sizeof(ref_v4[0]))
#define N_V6 (sizeof(ref_v6) / sizeof(ref_v6[0]))

static void parse_all(void)
{
        static int done;

        if (done)
                return;
        for (size_t i = 0; i < N_V4; i++)
                if (inet_pton(AF_INET, ref_v4[i].lo, ref_v4[i].blo) != 1 ||
                    inet_pton(AF_INET, ref_v4[i].hi, ref_v4[i].bhi) != 1)
                        abort();
        for (size_t i = 0; i < N_V6; i++)
                if (inet_pton(AF_INET6, ref_v6[i].lo, ref_v6[i].blo) != 1 ||
                    inet_pton(AF_INET6, ref_v6[i].hi, ref_v6[i].bhi) != 1)
                        abort();
        done = 1;
}

static int in_range(const struct ref_range *r, const uint8_t *ip, size_t len)
{
        return memcmp(r->blo, ip, len) <= 0 && memcmp(ip, r->bhi, len) <= 0;
}

/* Bit by bit, the slow and obvious way. */
static int ref_cidr_has(const struct netaddr_cidr *c, int family, const uint8_t *ip)
{
        if (c->family != family)
                return 0;
        for (unsigned b = 0; b < c->prefix; b++) {
                unsigned byte = b / 8, bit = 7 - b % 8;

                if (((c->ip[byte] >> bit) & 1) != ((ip[byte] >> bit) & 1))
                        return 0;
        }
        return 1;
}

static int ref_allowed(const struct netaddr_cidr *allow, size_t n, int family, const uint8_t *ip)
{
        for (size_t i = 0; i < n; i++)
                if (ref_cidr_has(&allow[i], family, ip))
                        return 1;
        return 0;
}

/* Returns the denying block's name, or NULL when the address may be dialed. */
static const char *ref_classify(const struct netaddr_cidr *allow, size_t n, int family,
                                const uint8_t *ip)
{
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
        const uint8_t *v4 = NULL;

        if (ref_allowed(allow, n, family, ip))
                return NULL;
        if (family == AF_INET6) {
                if (!memcmp(ip, mapped, 12) || !memcmp(ip, nat64, 12))
                        v4 = ip + 12;
                else if (ip[0] == 0x20 && ip[1] == 0x02)
                        v4 = ip + 2;
                if (!v4) {
                        for (size_t i = 0; i < N_V6; i++)
                                if (in_range(&ref_v6[i], ip, 16))
                                        return ref_v6[i].name;
                        return NULL;
                }
                if (ref_allowed(allow, n, AF_INET, v4))
                        return NULL;
        } else {
                v4 = ip;
        }
        for (size_t i = 0; i < N_V4; i++)
                if (in_range(&ref_v4[i], v4, 4))
                        return ref_v4[i].name;
        return NULL;
}

/* Adds <delta> to a big-endian number of <len> bytes, wrapping. */
static void add_be(uint8_t *ip, size_t len, int delta)
{
        int carry = delta;

        for (size_t i = len; i-- > 0 && carry;) {
                int v = ip[i] + carry;

                ip[i] = (uint8_t)(v & 0xff);
                carry = v >> 8; /* arithmetic: -1 borrows */
        }
}

/* Consumes bytes from the input, zeros once it runs out. */
struct in {
        const uint8_t *p;
        size_t n;
};

static uint8_t take(struct in *in)
{
        if (!in->n)
                return 0;
        in->n--;
        return *in->p++;
}

static void take_n(struct in *in, uint8_t *out, size_t n)
{
        for (size_t i = 0; i < n; i++)
                out[i] = take(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct in in = {data, size};
        struct netaddr_cidr allow[2];
        struct egress_policy p;
        uint8_t ip[16] = {0};
        int family = AF_INET6;
        size_t n_allow;

        parse_all();
        uint8_t shape = take(&in);
        n_allow = take(&in) % 3;
        memset(allow, 0, sizeof(allow));
        for (size_t i = 0; i < n_allow; i++) {
                uint8_t b = take(&in);

                allow[i].family = b & 1 ? AF_INET6 : AF_INET;
                allow[i].prefix = (unsigned)take(&in) % (allow[i].family == AF_INET ? 33 : 129);
                take_n(&in, allow[i].ip, allow[i].family == AF_INET ? 4 : 16);
        }
        if (egress_init(&p, allow, n_allow) != 0)
                abort();

        switch (shape % 6) {
        case 0:
                family = AF_INET;
                take_n(&in, ip, 4);
                break;
        case 1:
                take_n(&in, ip, 16);
                break;
        case 2: /* IPv4-mapped */
                ip[10] = ip[11] = 0xff;
                take_n(&in, ip + 12, 4);
                break;
        case 3: /* NAT64 */
                ip[1] = 0x64, ip[2] = 0xff, ip[3] = 0x9b;
                take_n(&in, ip + 12, 4);
                break;
        case 4: /* 6to4, with random bits after the IPv4 address */
                ip[0] = 0x20, ip[1] = 0x02;
                take_n(&in, ip + 2, 14);
                break;
        case 5: { /* the edge of a block, give or take 2 */
                uint8_t pick = take(&in);
                int delta = (int)(take(&in) % 5) - 2;
                const struct ref_range *r;

                if (pick & 1) {
                        family = AF_INET;
                        r = &ref_v4[(pick >> 2) % N_V4];
                } else {
                        r = &ref_v6[(pick >> 2) % N_V6];
                }
                memcpy(ip, pick & 2 ? r->bhi : r->blo, family == AF_INET ? 4 : 16);
                add_be(ip, family == AF_INET ? 4 : 16, delta);
                /* Optionally wrap an IPv4 edge in one of the IPv6 forms. */
                if (family == AF_INET && (shape / 6) % 4) {
                        uint8_t v4[4];
                        unsigned w = (shape / 6) % 4;

                        memcpy(v4, ip, 4);
                        memset(ip, 0, sizeof(ip));
                        family = AF_INET6;
                        if (w == 1) {
                                ip[10] = ip[11] = 0xff;
                                memcpy(ip + 12, v4, 4);
                        } else if (w == 2) {
                                ip[1] = 0x64, ip[2] = 0xff, ip[3] = 0x9b;
                                memcpy(ip + 12, v4, 4);
                        } else {
                                ip[0] = 0x20, ip[1] = 0x02;
                                memcpy(ip + 2, v4, 4);
                        }
                }
                break;
        }
        }

        /* Through the sockaddr entry point, as the dialer calls it. */
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        if (family == AF_INET) {
                ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
                memcpy(&((struct sockaddr_in *)&ss)->sin_addr, ip, 4);
        } else {
                ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
                memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, ip, 16);
        }
        const char *why = NULL;
        int got = egress_check(&p, (const struct sockaddr *)&ss, &why);
        const char *want = ref_classify(allow, n_allow, family, ip);

        if (!why || (got != 0 && got != -EACCES) || (got == 0) != (want == NULL) ||
            (want && !strstr(why, want))) {
                char s[INET6_ADDRSTRLEN];

                inet_ntop(family, ip, s, sizeof(s));
                fprintf(stderr, "egress mismatch for %s: got %d (%s), reference %s\n", s, got,
                        why ? why : "(null)", want ? want : "allow");
                abort();
        }
        return 0;
}
