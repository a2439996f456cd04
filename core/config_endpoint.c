/* config_endpoint: see config_endpoint.h. */
#include "core/config_endpoint.h"
#include "core/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t len, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

static int set_name(char **dst, const char *key, const char *val, size_t max, char *err,
                    size_t errlen)
{
        size_t n = strlen(val);

        if (n == 0 || n > max)
                return fail(err, errlen, "endpoint %s must be 1..%zu bytes long", key, max);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)val[i] <= ' ' || val[i] == ',' || val[i] == 0x7f)
                        return fail(err, errlen,
                                    "endpoint %s \"%.64s\" holds a space, comma or control "
                                    "character",
                                    key, val);
        free(*dst);
        *dst = strdup(val);
        return *dst ? 0 : -ENOMEM;
}

int config_endpoint_set(struct config_endpoint *e, const char *key, const char *val, char *err,
                        size_t errlen)
{
        char why[160];

        if (!strcmp(key, "url")) {
                if (netaddr_url_parse(val, &e->url, why, sizeof(why)))
                        return fail(err, errlen, "%s", why);
                return 0;
        }
        if (!strcmp(key, "connect")) {
                if (netaddr_parse(val, &e->connect, why, sizeof(why)))
                        return fail(err, errlen, "endpoint connect: %s", why);
                if (e->connect.family == AF_UNSPEC)
                        return fail(err, errlen,
                                    "endpoint connect \"%s\" is a name; it takes an IP address, "
                                    "so the dial never depends on a DNS answer",
                                    e->connect.host);
                return 0;
        }
        if (!strcmp(key, "sni"))
                return set_name(&e->sni, key, val, 253, err, errlen);
        if (!strcmp(key, "host"))
                return set_name(&e->host, key, val, 261, err, errlen);
        if (!strcmp(key, "account"))
                return set_name(&e->account, key, val, CONFIG_ACCOUNT_MAX, err, errlen);
        if (!strcmp(key, "text")) {
                bool b;
                if (config_parse_bool(val, &b) < 0)
                        return fail(err, errlen, "endpoint text \"%.32s\" is not true or false",
                                    val);
                e->text = b;
                return 0;
        }
        return fail(err, errlen,
                    "unknown endpoint setting \"%.32s\" (known: url, connect, sni, host, "
                    "account, text)",
                    key);
}

int config_endpoint_parse(const char *s, struct config_endpoint *e, char *err, size_t errlen)
{
        char buf[NETADDR_URL_STRLEN + 1024];
        char *save = NULL, *tok;
        int rc = 0;

        memset(e, 0, sizeof(*e));
        e->text = -1;
        if (strlen(s) >= sizeof(buf))
                return fail(err, errlen, "the endpoint is %zu bytes long (at most %zu)", strlen(s),
                            sizeof(buf) - 1);
        snprintf(buf, sizeof(buf), "%s", s);
        tok = strtok_r(buf, ",", &save);
        rc = config_endpoint_set(e, "url", tok ? tok : "", err, errlen);
        while (rc == 0 && (tok = strtok_r(NULL, ",", &save)) != NULL) {
                char *eq = strchr(tok, '=');
                if (!eq) {
                        rc = fail(err, errlen,
                                  "endpoint setting \"%.64s\" is not key=value (after the URL: "
                                  ",connect=IP:PORT,sni=NAME,host=NAME,account=LABEL,...)",
                                  tok);
                        break;
                }
                *eq = '\0';
                rc = config_endpoint_set(e, tok, eq + 1, err, errlen);
        }
        if (rc)
                config_endpoint_release(e);
        return rc;
}

void config_endpoint_release(struct config_endpoint *e)
{
        free(e->sni);
        free(e->host);
        free(e->account);
        e->sni = e->host = e->account = NULL;
}

void config_endpoint_format(const struct config_endpoint *e, char *buf, size_t len)
{
        char a[NETADDR_STRLEN];
        size_t n;

        netaddr_url_format(&e->url, buf, len);
#define MORE(...)                                                                                  \
        do {                                                                                       \
                n = strlen(buf);                                                                   \
                if (n < len)                                                                       \
                        snprintf(buf + n, len - n, __VA_ARGS__);                                   \
        } while (0)
        if (e->connect.port) {
                netaddr_format(&e->connect, a, sizeof(a));
                MORE(",connect=%s", a);
        }
        if (e->sni)
                MORE(",sni=%s", e->sni);
        if (e->host)
                MORE(",host=%s", e->host);
        if (e->account)
                MORE(",account=%s", e->account);
        if (e->text >= 0)
                MORE(",text=%s", e->text ? "true" : "false");
#undef MORE
}
