/* cookie: HMAC-SHA256 freshness cookies; see cookie.h. */
#include "core/cookie.h"

#include "core/aead.h"
#include "core/bytes.h"

#include <errno.h>
#include <string.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>

int cookie_jar_init(struct cookie_jar *j)
{
        WC_RNG rng;
        int ok;

        if (wc_InitRng(&rng) != 0)
                return -EIO;
        ok = wc_RNG_GenerateBlock(&rng, j->secret, sizeof(j->secret)) == 0;
        wc_FreeRng(&rng);
        return ok ? 0 : -EIO;
}

void cookie_jar_wipe(struct cookie_jar *j)
{
        explicit_bzero(j->secret, sizeof(j->secret));
}

void cookie_make(const struct cookie_jar *j, uint32_t key, uint64_t instance, uint64_t incarnation,
                 uint64_t epoch, uint8_t out[FRAME_COOKIE_LEN])
{
        uint8_t msg[28], mac[WC_SHA256_DIGEST_SIZE];
        Hmac h;

        put_be64(msg, instance);
        put_be64(msg + 8, incarnation);
        put_be64(msg + 16, epoch);
        put_be32(msg + 24, key);
        memset(mac, 0, sizeof(mac));
        if (wc_HmacInit(&h, NULL, INVALID_DEVID) == 0) {
                if (wc_HmacSetKey(&h, WC_SHA256, j->secret, sizeof(j->secret)) != 0 ||
                    wc_HmacUpdate(&h, msg, sizeof(msg)) != 0 || wc_HmacFinal(&h, mac) != 0)
                        memset(mac, 0, sizeof(mac)); /* an all-zero cookie never checks */
                wc_HmacFree(&h);
        }
        memcpy(out, mac, FRAME_COOKIE_LEN);
        explicit_bzero(mac, sizeof(mac));
}

bool cookie_check(const struct cookie_jar *j, uint32_t key, uint64_t instance, uint64_t incarnation,
                  uint64_t epoch, const uint8_t *c)
{
        static const uint8_t zero[FRAME_COOKIE_LEN];
        uint8_t want[FRAME_COOKIE_LEN];
        int ok = 0;

        if (aead_ct_equal(c, zero, sizeof(zero)))
                return false;
        for (uint64_t e = epoch; e + 1 >= epoch && e <= epoch; e--) {
                cookie_make(j, key, instance, incarnation, e, want);
                ok |= aead_ct_equal(c, want, sizeof(want));
                if (e == 0)
                        break;
        }
        explicit_bzero(want, sizeof(want));
        return ok != 0;
}
