/* egress: the exit's egress policy, its defence against SSRF.
 *
 * The exit dials whatever a client names, so without a policy any client
 * could reach the exit's loopback services, its cloud metadata endpoint or
 * the operator's private network. Every special-purpose block of
 * reference/reliability.md §5 is denied by default; IPv4 addresses embedded
 * in IPv6 (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16)
 * are unwrapped and judged as the IPv4 address they reach. An allow-list of
 * CIDRs (the exit's --allow-dest) opts blocks back in and wins over the deny
 * list. Pure functions, no I/O: the dialer calls egress_check on every
 * resolved address before it connects, and connects to exactly that address.
 */
#ifndef URELAY_EXIT_EGRESS_H
#define URELAY_EXIT_EGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/netaddr.h"

#define EGRESS_ALLOW_MAX 64

/* Plain data: may be copied by value. */
struct egress_policy {
        size_t n_allow;
        struct netaddr_cidr allow[EGRESS_ALLOW_MAX];
};

/* Sets <p> to "deny the default blocks, allow <allow>[0..n)" (copied).
 * Returns 0, -E2BIG when n > EGRESS_ALLOW_MAX, or -EINVAL when an entry has
 * a family other than AF_INET/AF_INET6 or a prefix too long for it (<p> is
 * then left denying everything special, with an empty allow-list). */
int egress_init(struct egress_policy *p, const struct netaddr_cidr *allow, size_t n);

/* Judges the destination <sa> (AF_INET or AF_INET6; the port is ignored).
 * Returns 0 when it may be dialed, -EACCES when it may not (any other
 * family is denied too). <why>, when not NULL, receives a static string
 * naming the matched range (for debug logs): the denied block, possibly
 * behind the IPv6 wrapper it was found in, or "allow-list" / "public". */
int egress_check(const struct egress_policy *p, const struct sockaddr *sa, const char **why);

/* The same on raw bytes: <ip> holds 4 (AF_INET) or 16 (AF_INET6) bytes. */
int egress_check_ip(const struct egress_policy *p, int family, const uint8_t *ip, const char **why);

#endif
