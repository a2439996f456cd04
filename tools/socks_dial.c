/* socks_dial: blocking SOCKS5 client; see socks_dial.h. */
#include "tools/socks_dial.h"

#include "core/bytes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int io_write_all(int fd, const void *p, size_t n)
{
        const uint8_t *b = p;
        while (n) {
                ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                b += k;
                n -= (size_t)k;
        }
        return 0;
}

int io_read_all(int fd, void *p, size_t n)
{
        uint8_t *b = p;
        while (n) {
                ssize_t k = recv(fd, b, n, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k == 0)
                        errno = ECONNRESET;
                if (k <= 0)
                        return -1;
                b += k;
                n -= (size_t)k;
        }
        return 0;
}

size_t socks_request(const char *host, uint16_t port, uint8_t *out)
{
        struct in_addr v4;
        struct in6_addr v6;
        size_t n = 0;

        out[n++] = 5, out[n++] = 1, out[n++] = 0; /* greeting: no auth */
        out[n++] = 5, out[n++] = 1, out[n++] = 0; /* CONNECT */
        if (inet_pton(AF_INET, host, &v4) == 1) {
                out[n++] = 1;
                memcpy(out + n, &v4, 4);
                n += 4;
        } else if (inet_pton(AF_INET6, host, &v6) == 1) {
                out[n++] = 4;
                memcpy(out + n, &v6, 16);
                n += 16;
        } else {
                size_t l = strlen(host);
                l = l > 255 ? 255 : l;
                out[n++] = 3;
                out[n++] = (uint8_t)l;
                memcpy(out + n, host, l);
                n += l;
        }
        put_be16(out + n, port);
        return n + 2;
}

static int tcp_connect(uint16_t port, const char *host, int nodelay)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;

        if (fd < 0)
                return -1;
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (nodelay)
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                return fd;
        int e = errno;
        close(fd);
        errno = e;
        return -1;
}

int socks_dial(uint16_t proxy, const char *host, uint16_t port, int nodelay, uint8_t *rep)
{
        uint8_t req[300], r[2], head[4], skip[18];
        int fd;

        *rep = 0xff;
        if (!proxy) {
                fd = tcp_connect(port, host, nodelay);
                if (fd >= 0)
                        *rep = 0;
                return fd;
        }
        fd = tcp_connect(proxy, "127.0.0.1", nodelay);
        if (fd < 0)
                return -1;
        size_t n = socks_request(host, port, req);
        if (io_write_all(fd, req, 3) < 0 || io_read_all(fd, r, 2) < 0)
                goto fail;
        if (r[0] != 5 || r[1] != 0) {
                errno = EPROTO;
                goto fail;
        }
        if (io_write_all(fd, req + 3, n - 3) < 0 || io_read_all(fd, head, 4) < 0)
                goto fail;
        size_t alen = head[3] == 1 ? 4 : head[3] == 4 ? 16 : 0;
        if (head[0] != 5 || !alen) {
                errno = EPROTO;
                goto fail;
        }
        if (io_read_all(fd, skip, alen + 2) < 0)
                goto fail;
        *rep = head[1];
        if (head[1] != 0) {
                errno = ECONNREFUSED;
                goto fail;
        }
        return fd;
fail:;
        int e = errno;
        close(fd);
        errno = e;
        return -1;
}
