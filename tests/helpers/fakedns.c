/* fakedns: a DNS server on 127.0.0.1 for the e2e tests (tests/unit/fake_dns.h
 * behind a main). "target.test" is 127.0.0.1; every other name is NXDOMAIN.
 * Prints its port, serves until killed. The exit under test is pointed at it
 * with --dns-server, so no test ever asks the machine's real resolver.
 */
#include "../unit/fake_dns.h"

#include <signal.h>

int main(void)
{
        static const struct fake_dns_name names[] = {
            {.name = "target.test", .kind = FAKE_DNS_ANSWER, .ttl = 60, .addrs = {"127.0.0.1"}},
        };
        struct fake_dns s;

        if (fake_dns_start(&s, names, 1) < 0) {
                perror("fakedns");
                return 1;
        }
        printf("%u\n", s.port);
        fflush(stdout);
        for (;;)
                pause();
}
