/* Error codes: every module's negative codes live in a range of their own
 * below -4095 (so none is mistaken for a -errno), no two codes anywhere are
 * equal, and each module's strerror names each of its codes. Two modules
 * once shared -4401..-4404; this keeps it from happening again. A new
 * module's codes go in this table. */
#include <criterion/criterion.h>

#include "core/aead.h"
#include "core/frame.h"
#include "core/base64.h"
#include "core/stream.h"
#include "core/mux.h"
#include "transport/http1.h"
#include "transport/http1_msg.h"
#include "core/socks5.h"
#include "core/replay.h"
#include "transport/ws.h"
#include "transport/tls.h"

#include <string.h>

struct code {
        const char *name;
        int value;
        const char *(*str)(int);
};

static const struct code codes[] = {
    {"BATCH_ESHORT", BATCH_ESHORT, batch_strerror},
    {"BATCH_ETOOBIG", BATCH_ETOOBIG, batch_strerror},
    {"BATCH_EVERSION", BATCH_EVERSION, batch_strerror},
    {"BATCH_EALG", BATCH_EALG, batch_strerror},
    {"BATCH_EFLAGS", BATCH_EFLAGS, batch_strerror},
    {"BATCH_EDIR", BATCH_EDIR, batch_strerror},
    {"BATCH_EKEYID", BATCH_EKEYID, batch_strerror},
    {"BATCH_EAUTH", BATCH_EAUTH, batch_strerror},
    {"BATCH_ERNG", BATCH_ERNG, batch_strerror},
    {"BATCH_ECRYPTO", BATCH_ECRYPTO, batch_strerror},
    {"FRAME_ETRUNC", FRAME_ETRUNC, frame_strerror},
    {"FRAME_ETYPE", FRAME_ETYPE, frame_strerror},
    {"FRAME_ETOOBIG", FRAME_ETOOBIG, frame_strerror},
    {"FRAME_EZERO", FRAME_EZERO, frame_strerror},
    {"FRAME_EATYP", FRAME_EATYP, frame_strerror},
    {"FRAME_EDOMAIN", FRAME_EDOMAIN, frame_strerror},
    {"FRAME_EPORT", FRAME_EPORT, frame_strerror},
    {"FRAME_ESID", FRAME_ESID, frame_strerror},
    {"FRAME_EFLAGS", FRAME_EFLAGS, frame_strerror},
    {"FRAME_EOFFSET", FRAME_EOFFSET, frame_strerror},
    {"FRAME_ETRAILING", FRAME_ETRAILING, frame_strerror},
    {"FRAME_EREASON", FRAME_EREASON, frame_strerror},
    {"FRAME_EADDRLEN", FRAME_EADDRLEN, frame_strerror},
    {"B64_ELEN", B64_ELEN, b64_strerror},
    {"B64_ECHAR", B64_ECHAR, b64_strerror},
    {"B64_EPAD", B64_EPAD, b64_strerror},
    {"B64_EBITS", B64_EBITS, b64_strerror},
    {"STREAM_EACK", STREAM_EACK, stream_strerror},
    {"STREAM_EFINSEEN", STREAM_EFINSEEN, stream_strerror},
    {"STREAM_EWINDOW", STREAM_EWINDOW, stream_strerror},
    {"STREAM_EFIN", STREAM_EFIN, stream_strerror},
    {"MUX_EROLE", MUX_EROLE, mux_strerror},
    {"MUX_EOPENED", MUX_EOPENED, mux_strerror},
    {"HTTP1_EHEADTOOBIG", HTTP1_EHEADTOOBIG, http1_strerror},
    {"HTTP1_ETOOMANY", HTTP1_ETOOMANY, http1_strerror},
    {"HTTP1_ELINETOOBIG", HTTP1_ELINETOOBIG, http1_strerror},
    {"HTTP1_EMETHOD", HTTP1_EMETHOD, http1_strerror},
    {"HTTP1_ELINE", HTTP1_ELINE, http1_strerror},
    {"HTTP1_EVERSION", HTTP1_EVERSION, http1_strerror},
    {"HTTP1_EHEADER", HTTP1_EHEADER, http1_strerror},
    {"HTTP1_EFOLD", HTTP1_EFOLD, http1_strerror},
    {"HTTP1_ECLTE", HTTP1_ECLTE, http1_strerror},
    {"HTTP1_ECLDUP", HTTP1_ECLDUP, http1_strerror},
    {"HTTP1_ECL", HTTP1_ECL, http1_strerror},
    {"HTTP1_EHOST", HTTP1_EHOST, http1_strerror},
    {"HTTP1_MSG_ETOOBIG", HTTP1_MSG_ETOOBIG, http1_msg_strerror},
    {"HTTP1_MSG_ECHUNK", HTTP1_MSG_ECHUNK, http1_msg_strerror},
    {"HTTP1_MSG_ETE", HTTP1_MSG_ETE, http1_msg_strerror},
    {"HTTP1_MSG_ETRUNCATED", HTTP1_MSG_ETRUNCATED, http1_msg_strerror},
    {"SOCKS5_EVERSION", SOCKS5_EVERSION, socks5_strerror},
    {"SOCKS5_ENOMETHODS", SOCKS5_ENOMETHODS, socks5_strerror},
    {"SOCKS5_ENOMETHOD", SOCKS5_ENOMETHOD, socks5_strerror},
    {"SOCKS5_EAUTHVER", SOCKS5_EAUTHVER, socks5_strerror},
    {"SOCKS5_EAUTHLEN", SOCKS5_EAUTHLEN, socks5_strerror},
    {"SOCKS5_EAUTH", SOCKS5_EAUTH, socks5_strerror},
    {"SOCKS5_EREQVER", SOCKS5_EREQVER, socks5_strerror},
    {"SOCKS5_ECMD", SOCKS5_ECMD, socks5_strerror},
    {"SOCKS5_ERSV", SOCKS5_ERSV, socks5_strerror},
    {"SOCKS5_EATYP", SOCKS5_EATYP, socks5_strerror},
    {"SOCKS5_EDOMAIN", SOCKS5_EDOMAIN, socks5_strerror},
    {"SOCKS5_EPORT", SOCKS5_EPORT, socks5_strerror},
    {"REPLAY_EDUP", REPLAY_EDUP, replay_strerror},
    {"REPLAY_ETOOOLD", REPLAY_ETOOOLD, replay_strerror},
    {"REPLAY_ETIME", REPLAY_ETIME, replay_strerror},
    {"WS_EHTTP", WS_EHTTP, ws_strerror},
    {"WS_ESTATUS", WS_ESTATUS, ws_strerror},
    {"WS_EUPGRADE", WS_EUPGRADE, ws_strerror},
    {"WS_ECONNECTION", WS_ECONNECTION, ws_strerror},
    {"WS_EACCEPT", WS_EACCEPT, ws_strerror},
    {"WS_EEXTENSION", WS_EEXTENSION, ws_strerror},
    {"WS_EPROTOCOL", WS_EPROTOCOL, ws_strerror},
    {"WS_EMETHOD", WS_EMETHOD, ws_strerror},
    {"WS_EHTTPVER", WS_EHTTPVER, ws_strerror},
    {"WS_EVERSION", WS_EVERSION, ws_strerror},
    {"WS_EKEY", WS_EKEY, ws_strerror},
    {"WS_ERNG", WS_ERNG, ws_strerror},
    {"WS_ECRYPTO", WS_ECRYPTO, ws_strerror},
    {"TLS_EVERIFY", TLS_EVERIFY, tls_strerror},
    {"TLS_ENAME", TLS_ENAME, tls_strerror},
    {"TLS_ENOTTLS", TLS_ENOTTLS, tls_strerror},
    {"TLS_EHANDSHAKE", TLS_EHANDSHAKE, tls_strerror},
    {"TLS_EPROTO", TLS_EPROTO, tls_strerror},
    {"TLS_ECONFIG", TLS_ECONFIG, tls_strerror},
    {"TLS_EINTERNAL", TLS_EINTERNAL, tls_strerror},
};

#define N (sizeof(codes) / sizeof(codes[0]))

Test(errcodes, below_errno_and_all_distinct)
{
        for (size_t i = 0; i < N; i++) {
                cr_assert_lt(codes[i].value, -4095, "%s = %d overlaps -errno", codes[i].name,
                             codes[i].value);
                for (size_t j = i + 1; j < N; j++)
                        cr_assert_neq(codes[i].value, codes[j].value, "%s and %s are both %d",
                                      codes[i].name, codes[j].name, codes[i].value);
        }
}

Test(errcodes, each_has_its_own_message)
{
        for (size_t i = 0; i < N; i++) {
                const char *m = codes[i].str(codes[i].value);
                cr_assert(m && *m, "%s has no message", codes[i].name);
                for (size_t j = 0; j < N; j++)
                        if (j != i && codes[j].str == codes[i].str)
                                cr_assert_str_neq(m, codes[j].str(codes[j].value),
                                                  "%s and %s read the same", codes[i].name,
                                                  codes[j].name);
        }
}
