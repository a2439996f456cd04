/* fake_dns: a tiny authoritative DNS server for unit tests, on a thread.
 *
 * UDP and TCP on 127.0.0.1, the same random port. It answers A and AAAA
 * questions from a table given by the test (several records per name, a TTL
 * each), says NXDOMAIN for names not in the table, SERVFAIL for names marked
 * so, never answers names marked silent, and for names marked truncated
 * answers UDP with TC set and no records, so the client must ask again over
 * TCP (where the length prefix and the answer go out in one write). It counts the questions it
 * receives, per name and in total, so a test can prove the cache kept a packet off the wire.
 * Header-only: shared by test_dns.c and test_dialer.c.
 *
 * Tests must point their resolver at fake_dns_servers(): nothing here or in
 * them may send DNS anywhere but 127.0.0.1.
 */
#ifndef URELAY_TESTS_FAKE_DNS_H
#define URELAY_TESTS_FAKE_DNS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

enum fake_dns_kind { FAKE_DNS_ANSWER, FAKE_DNS_SILENT, FAKE_DNS_SERVFAIL, FAKE_DNS_TRUNCATE };

struct fake_dns_name {
        const char *name;
        enum fake_dns_kind kind;
        uint32_t ttl;
        const char *addrs[4]; /* IPv4 or IPv6 literals; NULL-terminated */
};

#define FAKE_DNS_MAX_NAMES 16

struct fake_dns {
        const struct fake_dns_name *names; /* set by the test */
        size_t n_names;
        int fd, tcp_fd;
        uint16_t port;
        char servers[32]; /* "127.0.0.1:port" for dns_conf.servers */
        atomic_bool stop;
        atomic_uint total;
        atomic_uint per_name[FAKE_DNS_MAX_NAMES];
        atomic_uint unknown; /* questions for names not in the table */
        atomic_uint tcp;     /* questions that came over TCP */
        pthread_t thread;
};

/* Decodes the question name at <off> into "a.b.c"; returns the offset
 * after QNAME, or 0 when malformed (no compression in questions). */
static inline size_t fake_dns_qname(const uint8_t *m, size_t len, size_t off, char *out,
                                    size_t outlen)
{
        size_t o = 0;

        while (off < len && m[off]) {
                size_t l = m[off++];

                if (l > 63 || off + l > len || o + l + 2 > outlen)
                        return 0;
                if (o)
                        out[o++] = '.';
                memcpy(out + o, m + off, l);
                o += l;
                off += l;
        }
        if (off >= len)
                return 0;
        out[o] = '\0';
        return off + 1;
}

static inline void fake_dns_put16(uint8_t *p, unsigned v)
{
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

/* Builds the answer to one question into <out>; returns its length or 0. */
static inline size_t fake_dns_answer(struct fake_dns *s, const uint8_t *q, size_t qlen,
                                     uint8_t *out, size_t outlen, bool tcp)
{
        char name[256];
        size_t end;
        unsigned qtype, rcode = 0, an = 0;
        const struct fake_dns_name *e = NULL;

        if (qlen < 12 || (q[2] & 0x80) || q[4] != 0 || q[5] != 1)
                return 0;
        end = fake_dns_qname(q, qlen, 12, name, sizeof(name));
        if (!end || end + 4 > qlen || end + 4 > outlen)
                return 0;
        qtype = (unsigned)q[end] << 8 | q[end + 1];
        atomic_fetch_add(&s->total, 1);
        for (size_t i = 0; i < s->n_names; i++) {
                if (!strcasecmp(s->names[i].name, name)) {
                        e = &s->names[i];
                        atomic_fetch_add(&s->per_name[i], 1);
                }
        }
        if (!e) {
                atomic_fetch_add(&s->unknown, 1);
                rcode = 3; /* NXDOMAIN */
        } else if (e->kind == FAKE_DNS_SILENT) {
                return 0;
        } else if (e->kind == FAKE_DNS_SERVFAIL) {
                rcode = 2;
        }
        if (tcp)
                atomic_fetch_add(&s->tcp, 1);
        bool truncate = e && e->kind == FAKE_DNS_TRUNCATE && !tcp;
        /* Header: same id, QR|AA, RD copied, RA; the question copied. */
        memcpy(out, q, end + 4);
        out[2] = (uint8_t)(0x84 | (truncate ? 0x02 : 0) | (q[2] & 0x01));
        out[3] = (uint8_t)(0x80 | rcode);
        fake_dns_put16(out + 6, 0);
        fake_dns_put16(out + 8, 0);
        fake_dns_put16(out + 10, 0);
        size_t o = end + 4;
        for (size_t i = 0; e && !rcode && !truncate && i < 4 && e->addrs[i]; i++) {
                uint8_t ip[16];
                int v6 = strchr(e->addrs[i], ':') != NULL;
                unsigned rlen = v6 ? 16 : 4;

                if ((qtype == 1 && v6) || (qtype == 28 && !v6) || (qtype != 1 && qtype != 28))
                        continue;
                if (inet_pton(v6 ? AF_INET6 : AF_INET, e->addrs[i], ip) != 1 ||
                    o + 12 + rlen > outlen)
                        return 0;
                fake_dns_put16(out + o, 0xc00c); /* pointer to the question name */
                fake_dns_put16(out + o + 2, qtype);
                fake_dns_put16(out + o + 4, 1); /* IN */
                out[o + 6] = (uint8_t)(e->ttl >> 24);
                out[o + 7] = (uint8_t)(e->ttl >> 16);
                out[o + 8] = (uint8_t)(e->ttl >> 8);
                out[o + 9] = (uint8_t)e->ttl;
                fake_dns_put16(out + o + 10, rlen);
                memcpy(out + o + 12, ip, rlen);
                o += 12 + rlen;
                an++;
        }
        fake_dns_put16(out + 6, an);
        return o;
}

/* Reads exactly <n> bytes within a second; 0 or -1. */
static inline int fake_dns_read_full(int fd, uint8_t *p, size_t n)
{
        while (n) {
                struct pollfd pf = {.fd = fd, .events = POLLIN};

                if (poll(&pf, 1, 1000) <= 0)
                        return -1;
                ssize_t r = read(fd, p, n);
                if (r <= 0)
                        return -1;
                p += r;
                n -= (size_t)r;
        }
        return 0;
}

/* Serves one TCP connection until the client closes it. */
static inline void fake_dns_tcp_conn(struct fake_dns *s, int c)
{
        uint8_t q[1500], a[1502];
        uint8_t len[2];

        while (!atomic_load(&s->stop) && !fake_dns_read_full(c, len, 2)) {
                size_t qlen = (size_t)len[0] << 8 | len[1];

                if (qlen > sizeof(q) || fake_dns_read_full(c, q, qlen))
                        break;
                size_t alen = fake_dns_answer(s, q, qlen, a + 2, sizeof(a) - 2, true);
                if (!alen)
                        continue;
                fake_dns_put16(a, (unsigned)alen);
                if (write(c, a, alen + 2) != (ssize_t)(alen + 2)) /* one write, on purpose */
                        break;
        }
        close(c);
}

static inline void *fake_dns_thread(void *arg)
{
        struct fake_dns *s = arg;
        uint8_t q[1500], a[1500];

        while (!atomic_load(&s->stop)) {
                struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN},
                                      {.fd = s->tcp_fd, .events = POLLIN}};
                struct sockaddr_storage from;
                socklen_t flen = sizeof(from);

                if (poll(p, 2, 20) <= 0)
                        continue;
                if (p[1].revents & POLLIN) {
                        int c = accept4(s->tcp_fd, NULL, NULL, SOCK_CLOEXEC);

                        if (c >= 0)
                                fake_dns_tcp_conn(s, c);
                }
                if (!(p[0].revents & POLLIN))
                        continue;
                ssize_t n = recvfrom(s->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
                if (n <= 0)
                        continue;
                size_t alen = fake_dns_answer(s, q, (size_t)n, a, sizeof(a), false);
                if (alen)
                        sendto(s->fd, a, alen, 0, (struct sockaddr *)&from, flen);
        }
        return NULL;
}

/* Binds a UDP and a TCP socket to the same free port on 127.0.0.1. */
static inline int fake_dns_bind(struct fake_dns *s)
{
        for (int tries = 0; tries < 50; tries++) {
                struct sockaddr_in sin = {.sin_family = AF_INET,
                                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                socklen_t len = sizeof(sin);

                s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                s->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (s->fd < 0 || s->tcp_fd < 0)
                        return -1;
                if (!bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)) &&
                    !getsockname(s->fd, (struct sockaddr *)&sin, &len) &&
                    !bind(s->tcp_fd, (struct sockaddr *)&sin, sizeof(sin)) &&
                    !listen(s->tcp_fd, 8)) {
                        s->port = ntohs(sin.sin_port);
                        return 0;
                }
                close(s->fd);
                close(s->tcp_fd);
        }
        return -1;
}

/* Starts serving <names>. Returns 0 or -1. */
static inline int fake_dns_start(struct fake_dns *s, const struct fake_dns_name *names, size_t n)
{
        memset(s, 0, sizeof(*s));
        if (n > FAKE_DNS_MAX_NAMES)
                return -1;
        s->names = names;
        s->n_names = n;
        if (fake_dns_bind(s))
                return -1;
        snprintf(s->servers, sizeof(s->servers), "127.0.0.1:%u", s->port);
        if (pthread_create(&s->thread, NULL, fake_dns_thread, s)) {
                close(s->fd);
                close(s->tcp_fd);
                return -1;
        }
        return 0;
}

static inline void fake_dns_stop(struct fake_dns *s)
{
        atomic_store(&s->stop, true);
        pthread_join(s->thread, NULL);
        close(s->fd);
        close(s->tcp_fd);
}

/* Questions received for table entry <name> (A and AAAA count apart). */
static inline unsigned fake_dns_count(struct fake_dns *s, const char *name)
{
        for (size_t i = 0; i < s->n_names; i++)
                if (!strcasecmp(s->names[i].name, name))
                        return atomic_load(&s->per_name[i]);
        return 0;
}

#endif
