/* sim_peek: what the world checks inside the client and the exit, through
 * their private headers (white box): the data their muxes hold. */
#include "tests/sim/sim.h"

#include "core/mux.h"
#include "exit/server_priv.h"
#include "tools/client_priv.h"

void sim_peek_client(const struct crt *rt, size_t *total, size_t *most)
{
        *total = *most = 0;
        if (rt && rt->mux)
                mux_held(rt->mux, total, most);
}

void sim_peek_exit(const struct server *srv, size_t *total, size_t *most)
{
        *total = *most = 0;
        for (const struct client *cl = srv ? srv->clients : NULL; cl; cl = cl->next) {
                size_t t, m;
                mux_held(cl->mux, &t, &m);
                *total += t;
                if (m > *most)
                        *most = m;
        }
}
