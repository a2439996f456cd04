/* config_endpoint: one entry of the client's "endpoints" list: a URL and
 * the settings that may differ per endpoint (fronting, text mode, the
 * account whose quota it shares). Parsed from a flag or JSON string
 * "URL[,key=value...]" or from a JSON object {"url": ..., "sni": ...}.
 * Fields left unset take the top-level option of the same name.
 */
#ifndef URELAY_CORE_CONFIG_ENDPOINT_H
#define URELAY_CORE_CONFIG_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"

#define CONFIG_ACCOUNT_MAX 64

struct config_endpoint {
        struct netaddr_url url;
        struct netaddr connect; /* port 0 = unset */
        char *sni;              /* NULL = unset */
        char *host;             /* NULL = unset */
        char *account;          /* NULL = none: the endpoint is its own quota bucket */
        int text;               /* -1 = unset, else 0/1 */
};

/* "URL" or "URL,connect=IP:PORT,sni=NAME,host=NAME,account=LABEL,text=BOOL". Returns 0 or -EBADMSG
 * / -ENOMEM with a message in err; *e is empty on failure. */
int config_endpoint_parse(const char *s, struct config_endpoint *e, char *err, size_t errlen);
/* One field by name (the keys above plus "url"), from text. */
int config_endpoint_set(struct config_endpoint *e, const char *key, const char *val, char *err,
                        size_t errlen);
void config_endpoint_release(struct config_endpoint *e);
/* The string form, parseable by config_endpoint_parse. */
void config_endpoint_format(const struct config_endpoint *e, char *buf, size_t len);

#endif
