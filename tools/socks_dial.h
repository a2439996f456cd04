/* socks_dial: a blocking SOCKS5 CONNECT client and whole-buffer socket I/O,
 * for the test helpers and the benchmark (not the relay, which never blocks).
 *
 * socks_dial() connects to a SOCKS5 proxy on loopback (or, with port 0,
 * straight to the target) and asks for host:port with no authentication.
 * The greeting and the request go one round trip each, as any client does,
 * so every proxy is measured the same way.
 */
#ifndef URELAY_TOOLS_SOCKS_DIAL_H
#define URELAY_TOOLS_SOCKS_DIAL_H

#include <stddef.h>
#include <stdint.h>

/* Sends all n bytes (MSG_NOSIGNAL, EINTR retried). 0, or -1 with errno. */
int io_write_all(int fd, const void *p, size_t n);
/* Reads exactly n bytes. 0, or -1 (errno; ECONNRESET-like 0 on EOF). */
int io_read_all(int fd, void *p, size_t n);

/* Greeting + CONNECT request for host (an IP literal or a name) and port
 * into out (at least 300 bytes). Returns its length; the greeting is the
 * first 3 bytes. */
size_t socks_request(const char *host, uint16_t port, uint8_t *out);

/* Connects through the SOCKS5 proxy at 127.0.0.1:<proxy> (or directly when
 * proxy is 0) to host:port. Returns the connected fd, or -1 with *rep set to
 * the proxy's reply code (0xff: no proxy answer, see errno). TCP_NODELAY is
 * set when nodelay is nonzero. */
int socks_dial(uint16_t proxy, const char *host, uint16_t port, int nodelay, uint8_t *rep);

#endif
