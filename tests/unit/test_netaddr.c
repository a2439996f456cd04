/* test_netaddr: host:port, CIDR and URL parsing (core/netaddr.h), the
 * loopback test, and that every rejection says what is wrong. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "core/netaddr.h"

/* Expects s to be refused with a message containing want. */
static void addr_bad(const char *s, const char *want)
{
        struct netaddr a;
        char err[512] = "";

        cr_assert_eq(netaddr_parse(s, &a, err, sizeof(err)), -EINVAL, "accepted \"%s\"", s);
        cr_assert(strstr(err, want), "\"%s\": got \"%s\", want \"%s\"", s, err, want);
}

static void cidr_bad(const char *s, const char *want)
{
        struct netaddr_cidr c;
        char err[512] = "";

        cr_assert_eq(netaddr_cidr_parse(s, &c, err, sizeof(err)), -EINVAL, "accepted \"%s\"", s);
        cr_assert(strstr(err, want), "\"%s\": got \"%s\", want \"%s\"", s, err, want);
}

static void url_bad(const char *s, const char *want)
{
        struct netaddr_url u;
        char err[512] = "";

        cr_assert_eq(netaddr_url_parse(s, &u, err, sizeof(err)), -EINVAL, "accepted \"%s\"", s);
        cr_assert(strstr(err, want), "\"%s\": got \"%s\", want \"%s\"", s, err, want);
}

static void roundtrip(const char *s, const char *want)
{
        struct netaddr a;
        char err[256] = "", out[NETADDR_STRLEN];

        cr_assert_eq(netaddr_parse(s, &a, err, sizeof(err)), 0, "\"%s\": %s", s, err);
        netaddr_format(&a, out, sizeof(out));
        cr_assert_str_eq(out, want);
}

Test(netaddr, ipv4)
{
        struct netaddr a;
        char err[256];

        cr_assert_eq(netaddr_parse("192.0.2.7:1080", &a, err, sizeof(err)), 0);
        cr_assert_eq(a.family, AF_INET);
        cr_assert_eq(a.port, 1080);
        cr_assert_str_eq(a.host, "192.0.2.7");
        cr_assert_eq(a.ip[0], 192);
        cr_assert_eq(a.ip[3], 7);
        roundtrip("0.0.0.0:1", "0.0.0.0:1");
}

Test(netaddr, ipv6)
{
        struct netaddr a;
        char err[256];

        cr_assert_eq(netaddr_parse("[2001:db8::1]:443", &a, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(a.family, AF_INET6);
        cr_assert_eq(a.port, 443);
        cr_assert_str_eq(a.host, "2001:db8::1");
        cr_assert_eq(a.ip[0], 0x20);
        cr_assert_eq(a.ip[15], 1);
        roundtrip("[::]:65535", "[::]:65535");
}

Test(netaddr, names)
{
        struct netaddr a;
        char err[256];

        cr_assert_eq(netaddr_parse("exit.example.com:8443", &a, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(a.family, AF_UNSPEC);
        cr_assert_str_eq(a.host, "exit.example.com");
        roundtrip("localhost:1080", "localhost:1080");
        roundtrip("my_host.example.:80", "my_host.example.:80");
}

Test(netaddr, sockaddr)
{
        struct netaddr a;
        struct sockaddr_storage ss;
        socklen_t len;
        char err[256];

        cr_assert_eq(netaddr_parse("127.0.0.1:1080", &a, err, sizeof(err)), 0);
        cr_assert_eq(netaddr_to_sockaddr(&a, &ss, &len), 0);
        cr_assert_eq(len, sizeof(struct sockaddr_in));
        cr_assert_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 1080);
        cr_assert_eq(netaddr_parse("[::1]:9", &a, err, sizeof(err)), 0);
        cr_assert_eq(netaddr_to_sockaddr(&a, &ss, &len), 0);
        cr_assert_eq(len, sizeof(struct sockaddr_in6));
        cr_assert_eq(netaddr_parse("localhost:9", &a, err, sizeof(err)), 0);
        cr_assert_eq(netaddr_to_sockaddr(&a, &ss, &len), -EINVAL);

        /* A bare host and a port, as in a URL. */
        cr_assert_eq(netaddr_literal_sockaddr("10.1.2.3", 443, &ss, &len), 0);
        cr_assert_eq(len, sizeof(struct sockaddr_in));
        cr_assert_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 443);
        cr_assert_eq(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr), 0x0a010203);
        cr_assert_eq(netaddr_literal_sockaddr("::1", 80, &ss, &len), 0);
        cr_assert_eq(len, sizeof(struct sockaddr_in6));
        cr_assert_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 80);
        cr_assert_eq(netaddr_literal_sockaddr("exit.example", 80, &ss, &len), -EINVAL);
        cr_assert_eq(netaddr_literal_sockaddr("[::1]", 80, &ss, &len), -EINVAL,
                     "no brackets: the host as a URL parser leaves it");

        /* A DNS answer gets its port. */
        ss.ss_family = AF_INET;
        cr_assert_eq(netaddr_sockaddr_set_port(&ss, 8443), sizeof(struct sockaddr_in));
        cr_assert_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8443);
        ss.ss_family = AF_INET6;
        cr_assert_eq(netaddr_sockaddr_set_port(&ss, 53), sizeof(struct sockaddr_in6));
        cr_assert_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 53);
}

Test(netaddr, ports)
{
        uint16_t p;
        char err[256];

        cr_assert_eq(netaddr_parse_port("1", &p, err, sizeof(err)), 0);
        cr_assert_eq(p, 1);
        cr_assert_eq(netaddr_parse_port("65535", &p, err, sizeof(err)), 0);
        cr_assert_eq(p, 65535);
        addr_bad("127.0.0.1:0", "port 0 is out of range (allowed 1..65535)");
        addr_bad("127.0.0.1:65536", "port 65536 is out of range");
        addr_bad("127.0.0.1:99999999999999999999", "out of range");
        addr_bad("127.0.0.1:http", "port \"http\" is not a number");
        addr_bad("127.0.0.1:-1", "is not a number");
        addr_bad("127.0.0.1: 80", "is not a number");
        addr_bad("127.0.0.1:", "empty port");
}

Test(netaddr, rejections)
{
        addr_bad("", "empty address");
        addr_bad("127.0.0.1", "missing port");
        addr_bad("example.com", "missing port");
        addr_bad(":1080", "missing host");
        addr_bad("::1:1080", "needs brackets");
        addr_bad("2001:db8::1:443", "needs brackets");
        addr_bad("[::1]", "missing port");
        addr_bad("[::1", "missing ']'");
        addr_bad("[::1]1080", "expected ':' after ']'");
        addr_bad("[1.2.3.4]:80", "is not an IPv6 address");
        addr_bad("[zz::1]:80", "is not an IPv6 address");
        addr_bad("256.1.1.1:80", "is not a valid IPv4 address");
        addr_bad("1.2.3:80", "is not a valid IPv4 address");
        addr_bad("bad host:80", "invalid character ' '");
        addr_bad("a\x01:80", "invalid character \\x01");
        addr_bad("a..b:80", "empty label");
        addr_bad("-a.example:80", "starts or ends with '-'");
        addr_bad("a-.example:80", "starts or ends with '-'");
        addr_bad("x..:80", "empty label");
}

Test(netaddr, long_names)
{
        char s[400];

        memset(s, 'a', 64);
        strcpy(s + 64, ".example:80");
        addr_bad(s, "longer than 63");
        for (int i = 0; i < 300; i += 2) {
                s[i] = 'a';
                s[i + 1] = '.';
        }
        strcpy(s + 300, "b:80");
        addr_bad(s, "at most 253");
}

Test(netaddr, loopback)
{
        static const char *yes[] = {"127.0.0.1:1",          "127.255.3.4:1", "[::1]:1",
                                    "[::ffff:127.0.0.1]:1", "localhost:1",   "LocalHost:1"};
        static const char *no[] = {
            "0.0.0.0:1", "10.0.0.1:1",          "128.0.0.1:1",   "[::]:1",
            "[::2]:1",   "[::ffff:10.0.0.1]:1", "example.com:1", "localhost.example:1"};
        struct netaddr a;
        char err[256];

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                cr_assert_eq(netaddr_parse(yes[i], &a, err, sizeof(err)), 0, "%s", err);
                cr_assert(netaddr_is_loopback(&a), "%s", yes[i]);
        }
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
                cr_assert_eq(netaddr_parse(no[i], &a, err, sizeof(err)), 0, "%s", err);
                cr_assert(!netaddr_is_loopback(&a), "%s", no[i]);
        }
}

Test(netaddr, cidr)
{
        struct netaddr_cidr c;
        uint8_t ip[16];
        char err[256], out[NETADDR_STRLEN];

        cr_assert_eq(netaddr_cidr_parse("10.0.0.0/8", &c, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(c.family, AF_INET);
        cr_assert_eq(c.prefix, 8);
        inet_pton(AF_INET, "10.200.3.4", ip);
        cr_assert(netaddr_cidr_contains(&c, AF_INET, ip));
        inet_pton(AF_INET, "11.0.0.0", ip);
        cr_assert(!netaddr_cidr_contains(&c, AF_INET, ip));

        cr_assert_eq(netaddr_cidr_parse("0.0.0.0/0", &c, err, sizeof(err)), 0);
        cr_assert(netaddr_cidr_contains(&c, AF_INET, ip));
        cr_assert_eq(netaddr_cidr_parse("127.0.0.1", &c, err, sizeof(err)), 0);
        cr_assert_eq(c.prefix, 32);
        cr_assert_eq(netaddr_cidr_parse("100.64.0.0/10", &c, err, sizeof(err)), 0);
        inet_pton(AF_INET, "100.127.255.255", ip);
        cr_assert(netaddr_cidr_contains(&c, AF_INET, ip));
        inet_pton(AF_INET, "100.128.0.0", ip);
        cr_assert(!netaddr_cidr_contains(&c, AF_INET, ip));

        cr_assert_eq(netaddr_cidr_parse("2001:db8::/32", &c, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(c.family, AF_INET6);
        cr_assert_eq(c.prefix, 32);
        inet_pton(AF_INET6, "2001:db8:ffff::1", ip);
        cr_assert(netaddr_cidr_contains(&c, AF_INET6, ip));
        cr_assert(!netaddr_cidr_contains(&c, AF_INET, ip));
        netaddr_cidr_format(&c, out, sizeof(out));
        cr_assert_str_eq(out, "2001:db8::/32");
        cr_assert_eq(netaddr_cidr_parse("::1/128", &c, err, sizeof(err)), 0);
        cr_assert_eq(netaddr_cidr_parse("fe80::/10", &c, err, sizeof(err)), 0);
        cr_assert_eq(netaddr_cidr_parse("::/0", &c, err, sizeof(err)), 0);
}

Test(netaddr, cidr_rejections)
{
        cidr_bad("10.0.0.1/8", "has host bits set after the /8 prefix (did you mean 10.0.0.0/8?)");
        cidr_bad("2001:db8::1/32", "did you mean 2001:db8::/32?");
        cidr_bad("10.0.0.0/33", "prefix length /33 in \"10.0.0.0/33\" is too long for IPv4 (at "
                                "most /32)");
        cidr_bad("::/129", "too long for IPv6 (at most /128)");
        cidr_bad("10.0.0.0/", "is not a number");
        cidr_bad("10.0.0.0/x", "is not a number");
        cidr_bad("10.0.0.0/-1", "is not a number");
        cidr_bad("10.0.0.0/0008", "is not a number");
        cidr_bad("/8", "empty address");
        cidr_bad("example.com/8", "is not an IPv4 or IPv6 address");
        cidr_bad("10.0.0/8", "is not an IPv4 or IPv6 address");
}

Test(netaddr, urls)
{
        struct netaddr_url u;
        char err[256], out[NETADDR_URL_STRLEN];

        cr_assert_eq(netaddr_url_parse("wss://exit.example", &u, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(u.scheme, NETADDR_WSS);
        cr_assert(netaddr_scheme_tls(u.scheme));
        cr_assert_str_eq(u.addr.host, "exit.example");
        cr_assert_eq(u.addr.port, 443);
        cr_assert_str_eq(u.path, "/stream");

        cr_assert_eq(netaddr_url_parse("ws://127.0.0.1:8443", &u, err, sizeof(err)), 0);
        cr_assert_eq(u.addr.port, 8443);
        cr_assert_str_eq(u.path, "/stream");
        cr_assert(!netaddr_scheme_tls(u.scheme));

        cr_assert_eq(netaddr_url_parse("http://exit.example", &u, err, sizeof(err)), 0);
        cr_assert_eq(u.addr.port, 80);
        cr_assert_str_eq(u.path, "/tunnel");

        cr_assert_eq(netaddr_url_parse("HTTPS://script.google.com/macros/s/AbC-d_e/exec", &u, err,
                                       sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(u.scheme, NETADDR_HTTPS);
        cr_assert_eq(u.addr.port, 443);
        cr_assert_str_eq(u.path, "/macros/s/AbC-d_e/exec");

        cr_assert_eq(netaddr_url_parse("http://[::1]:9000/t?x=1", &u, err, sizeof(err)), 0, "%s",
                     err);
        cr_assert_eq(u.addr.family, AF_INET6);
        cr_assert_eq(u.addr.port, 9000);
        cr_assert_str_eq(u.path, "/t?x=1");
        netaddr_url_format(&u, out, sizeof(out));
        cr_assert_str_eq(out, "http://[::1]:9000/t?x=1");

        cr_assert_eq(netaddr_url_parse("https://[2001:db8::2]", &u, err, sizeof(err)), 0);
        cr_assert_eq(u.addr.port, 443);
        cr_assert_eq(netaddr_url_parse("ws://h/", &u, err, sizeof(err)), 0);
        cr_assert_str_eq(u.path, "/");
        cr_assert_eq(netaddr_url_parse("http://h?q", &u, err, sizeof(err)), 0);
        cr_assert_str_eq(u.path, "/?q");
}

Test(netaddr, url_rejections)
{
        url_bad("", "empty URL");
        url_bad("exit.example:443", "has no scheme");
        url_bad("ftp://exit.example/", "scheme \"ftp\"");
        url_bad("ftp://exit.example/", "use ws, wss, http or https");
        url_bad("wss:/exit.example", "has no scheme");
        url_bad("wss://", "missing host");
        url_bad("wss:///path", "missing host");
        url_bad("wss://:443/", "missing host");
        url_bad("wss://user:pw@exit.example/", "user info");
        url_bad("wss://exit.example/#frag", "fragments");
        url_bad("wss://exit.example:0/", "port 0 is out of range");
        url_bad("wss://exit.example:x/", "is not a number");
        url_bad("wss://exit.example:/", "empty port");
        url_bad("wss://::1/", "needs brackets");
        url_bad("wss://[::1/", "missing ']'");
        url_bad("wss://[::1]x/", "expected ':' after ']'");
        url_bad("wss://[nope]/", "is not an IPv6 address");
        url_bad("wss://bad_host!/", "invalid character '!'");
        url_bad("wss://h/a b", "invalid character ' ' at position 10");
        url_bad("wss://h/\x7f", "invalid character \\x7f");
}

Test(netaddr, url_path_too_long)
{
        char s[NETADDR_PATH_MAX + 64];

        strcpy(s, "ws://h/");
        memset(s + 7, 'a', NETADDR_PATH_MAX);
        s[7 + NETADDR_PATH_MAX] = '\0';
        url_bad(s, "at most 1024");
}
