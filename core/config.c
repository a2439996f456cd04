/* config: the schema engine: defaults, the JSON file, flags, the checks
 * common to every schema, help and the summary line.
 *
 * jansson parses the file and reports syntax errors with a line and column;
 * semantic errors get theirs from core/jsonloc.c. Members are applied in file
 * order so the first error reported is the first in the file. The client
 * and exit schemas themselves are in config_schema.c.
 */
#include "core/config.h"

#include "core/jsonloc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CONFIG_FILE_MAX (1 << 20)
#define MSG_MAX         512

/* ---- values ------------------------------------------------------------ */

enum origin { FROM_DEFAULT, FROM_FILE, FROM_FLAG };

struct config_ctx {
        const struct config_schema *s;
        void *cfg;
        const char *file;
        struct jsonloc_index locs;
        enum origin *origin; /* per option */
        char *err;
        size_t errlen;
};

/* Room for one value of any kind. */
union value {
        char *s;
        int64_t i;
        bool b;
        int e;
        struct netaddr a;
        struct netaddr_cidr c;
        struct netaddr_url u;
        struct config_endpoint ep;
};

static const struct {
        const char *what;   /* after "expected " */
        const char *plural; /* after "expected an array of " */
        size_t size;
        const char *metavar;
} kinds[] = {
    [CONFIG_STRING] = {"a string", "strings", sizeof(char *), "STRING"},
    [CONFIG_INT] = {"an integer", "integers", sizeof(int64_t), "N"},
    [CONFIG_SIZE] = {"a size in bytes (an integer, or a string like \"256k\")", "sizes",
                     sizeof(int64_t), "BYTES"},
    [CONFIG_BOOL] = {"true or false", "booleans", sizeof(bool), NULL},
    [CONFIG_ENUM] = {"a string", "strings", sizeof(int), "NAME"},
    [CONFIG_ADDR] = {"a string (host:port)", "host:port strings", sizeof(struct netaddr),
                     "HOST:PORT"},
    [CONFIG_CIDR] = {"a string (address/prefix)", "CIDR strings (address/prefix)",
                     sizeof(struct netaddr_cidr), "CIDR"},
    [CONFIG_URL] = {"a string (URL)", "URL strings", sizeof(struct netaddr_url), "URL"},
    [CONFIG_ENDPOINT] = {"a URL string or an object with \"url\"", "URL strings or objects",
                         sizeof(struct config_endpoint), "URL[,KEY=VALUE...]"},
};

__attribute__((format(printf, 3, 4))) static int msg(char *buf, size_t len, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, len, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

static void *slot(const struct config_opt *o, const void *cfg)
{
        return (char *)cfg + o->offset;
}

static size_t storage_size(const struct config_opt *o)
{
        return (o->flags & CONFIG_LIST) ? sizeof(struct config_list) : kinds[o->kind].size;
}

/* 256k, 4m, 1g (powers of 1024); "kib", "kb" and a lone "b" too. */
static int parse_size(const char *s, int64_t *out)
{
        char *end;
        long long v;
        int shift = 0;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno)
                return -ERANGE;
        switch (*end | 0x20) {
        case 'k':
                shift = 10;
                break;
        case 'm':
                shift = 20;
                break;
        case 'g':
                shift = 30;
                break;
        default:
                break;
        }
        if (shift) {
                end++;
                if ((*end | 0x20) == 'i' && (end[1] | 0x20) == 'b')
                        end += 2;
                else if ((*end | 0x20) == 'b')
                        end++;
        } else if ((*end | 0x20) == 'b') {
                end++;
        }
        if (*end)
                return -EINVAL;
        if (v > (INT64_MAX >> shift))
                return -ERANGE;
        *out = (int64_t)v << shift;
        return 0;
}

static void format_size(int64_t v, char *buf, size_t len)
{
        static const char units[] = "kmg";
        int u = -1;

        while (u < 2 && v != 0 && v % 1024 == 0) {
                v /= 1024;
                u++;
        }
        if (u < 0)
                snprintf(buf, len, "%lld", (long long)v);
        else
                snprintf(buf, len, "%lld%c", (long long)v, units[u]);
}

static int check_range(const struct config_opt *o, int64_t v, const char *shown, char *err,
                       size_t errlen)
{
        if (v < o->min || v > o->max)
                return msg(err, errlen, "%s is out of range (allowed %lld..%lld)", shown,
                           (long long)o->min, (long long)o->max);
        return 0;
}

int config_parse_bool(const char *s, bool *out)
{
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};

        for (size_t i = 0; i < 4; i++) {
                if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
                        *out = !strcasecmp(s, yes[i]);
                        return 0;
                }
        }
        return -EINVAL;
}

static void list_names(const char *const *names, char *buf, size_t len)
{
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; names[i] && n < len; i++)
                n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", names[i]);
}

/* Parses one value of o's kind from text: a flag argument, a JSON string,
 * a default. Writes a message without location on failure. */
static int parse_text(const struct config_opt *o, const char *s, union value *v, char *err,
                      size_t errlen)
{
        char names[256];
        int rc;

        memset(v, 0, sizeof(*v));
        switch (o->kind) {
        case CONFIG_STRING: {
                size_t n = strlen(s);

                if (o->max > 0 && ((int64_t)n < o->min || (int64_t)n > o->max)) {
                        if (n == 0)
                                return msg(err, errlen, "must not be empty");
                        return msg(err, errlen, "is %zu bytes long (allowed %lld..%lld)", n,
                                   (long long)o->min, (long long)o->max);
                }
                v->s = strdup(s);
                return v->s ? 0 : -ENOMEM;
        }
        case CONFIG_INT: {
                char *end;
                long long n;

                errno = 0;
                n = strtoll(s, &end, 10);
                if (!(*s == '-' || (*s >= '0' && *s <= '9')) || *end || errno)
                        return msg(err, errlen, "\"%.64s\" is not an integer", s);
                v->i = n;
                return check_range(o, v->i, s, err, errlen);
        }
        case CONFIG_SIZE:
                rc = parse_size(s, &v->i);
                if (rc == -ERANGE)
                        return msg(err, errlen, "%.64s is out of range (allowed %lld..%lld)", s,
                                   (long long)o->min, (long long)o->max);
                if (rc)
                        return msg(err, errlen,
                                   "\"%.64s\" is not a size (expected bytes, or a number with k, "
                                   "m or g: 256k, 4m)",
                                   s);
                return check_range(o, v->i, s, err, errlen);
        case CONFIG_BOOL:
                if (config_parse_bool(s, &v->b))
                        return msg(err, errlen, "\"%.64s\" is not true or false", s);
                return 0;
        case CONFIG_ENUM:
                for (int i = 0; o->names[i]; i++) {
                        if (!strcasecmp(s, o->names[i])) {
                                v->e = i;
                                return 0;
                        }
                }
                list_names(o->names, names, sizeof(names));
                return msg(err, errlen, "\"%.64s\" is not one of: %s", s, names);
        case CONFIG_ADDR:
                return netaddr_parse(s, &v->a, err, errlen) ? -EBADMSG : 0;
        case CONFIG_CIDR:
                return netaddr_cidr_parse(s, &v->c, err, errlen) ? -EBADMSG : 0;
        case CONFIG_URL:
                return netaddr_url_parse(s, &v->u, err, errlen) ? -EBADMSG : 0;
        case CONFIG_ENDPOINT:
                return config_endpoint_parse(s, &v->ep, err, errlen);
        }
        return msg(err, errlen, "internal error: unknown option kind");
}

static const char *json_what(const json_t *j)
{
        switch (json_typeof(j)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        case JSON_NULL:
                return "null";
        }
        return "something else";
}

/* {"url": "wss://...", "sni": "...", "text": true, "account": "a"} */
static int endpoint_json(const json_t *j, struct config_endpoint *e, char *err, size_t errlen)
{
        const char *key;
        const json_t *val;
        int rc;

        memset(e, 0, sizeof(*e));
        e->text = -1;
        if (!json_is_string(json_object_get(j, "url")))
                return msg(err, errlen,
                           "an endpoint object needs \"url\": \"ws[s]://...\" or "
                           "\"http[s]://...\"");
        json_object_foreach((json_t *)j, key, val)
        {
                const char *s;

                if (json_is_string(val))
                        s = json_string_value(val);
                else if (json_is_boolean(val) && !strcmp(key, "text"))
                        s = json_is_true(val) ? "true" : "false";
                else
                        s = NULL;
                rc = s ? config_endpoint_set(e, key, s, err, errlen)
                       : msg(err, errlen, "endpoint \"%s\": unexpected %s", key, json_what(val));
                if (rc) {
                        config_endpoint_release(e);
                        return rc;
                }
        }
        return 0;
}

static int parse_json(const struct config_opt *o, const json_t *j, union value *v, char *err,
                      size_t errlen)
{
        char shown[32];

        memset(v, 0, sizeof(*v));
        if (o->kind == CONFIG_BOOL) {
                if (!json_is_boolean(j))
                        return msg(err, errlen, "expected true or false, got %s", json_what(j));
                v->b = json_is_true(j);
                return 0;
        }
        if ((o->kind == CONFIG_INT || o->kind == CONFIG_SIZE) && json_is_integer(j)) {
                v->i = json_integer_value(j);
                snprintf(shown, sizeof(shown), "%lld", (long long)v->i);
                return check_range(o, v->i, shown, err, errlen);
        }
        if (o->kind == CONFIG_INT || (o->kind == CONFIG_SIZE && !json_is_string(j))) {
                if (json_is_real(j))
                        return msg(err, errlen, "expected %s, got %g", kinds[o->kind].what,
                                   json_real_value(j));
                return msg(err, errlen, "expected %s, got %s", kinds[o->kind].what, json_what(j));
        }
        if (o->kind == CONFIG_ENDPOINT && json_is_object(j))
                return endpoint_json(j, &v->ep, err, errlen);
        if (!json_is_string(j))
                return msg(err, errlen, "expected %s, got %s", kinds[o->kind].what, json_what(j));
        if (strlen(json_string_value(j)) != json_string_length(j))
                return msg(err, errlen, "the string holds a NUL character");
        return parse_text(o, json_string_value(j), v, err, errlen);
}

static void release(const struct config_opt *o, union value *v)
{
        if (o->kind == CONFIG_ENDPOINT)
                config_endpoint_release(&v->ep);
        if (o->kind == CONFIG_STRING) {
                if (v->s && (o->flags & CONFIG_SECRET))
                        explicit_bzero(v->s, strlen(v->s));
                free(v->s);
                v->s = NULL;
        }
}

static void load_value(const struct config_opt *o, const void *src, union value *v)
{
        memset(v, 0, sizeof(*v));
        memcpy(v, src, kinds[o->kind].size);
}

static void clear_opt(const struct config_opt *o, void *cfg)
{
        union value v;

        if (o->flags & CONFIG_LIST) {
                struct config_list l;

                memcpy(&l, slot(o, cfg), sizeof(l));
                for (size_t i = 0; i < l.n; i++) {
                        load_value(o, (char *)l.v + i * kinds[o->kind].size, &v);
                        release(o, &v);
                }
                free(l.v);
        } else {
                load_value(o, slot(o, cfg), &v);
                release(o, &v);
        }
        memset(slot(o, cfg), 0, storage_size(o));
}

/* Stores v (ownership moves to cfg): replaces a scalar, appends to a list. */
static int store(const struct config_opt *o, void *cfg, union value *v)
{
        size_t es = kinds[o->kind].size;

        if (o->flags & CONFIG_LIST) {
                struct config_list l;
                void *nv;

                memcpy(&l, slot(o, cfg), sizeof(l));
                nv = realloc(l.v, (l.n + 1) * es);
                if (!nv) {
                        release(o, v);
                        return -ENOMEM;
                }
                l.v = nv;
                memcpy((char *)l.v + l.n * es, v, es);
                l.n++;
                memcpy(slot(o, cfg), &l, sizeof(l));
        } else {
                clear_opt(o, cfg);
                memcpy(slot(o, cfg), v, es);
        }
        return 0;
}

static void show_value(const struct config_opt *o, const union value *v, char *buf, size_t len)
{
        switch (o->kind) {
        case CONFIG_STRING:
                snprintf(buf, len, "%s", !v->s ? "" : (o->flags & CONFIG_SECRET) ? "(set)" : v->s);
                break;
        case CONFIG_INT:
                snprintf(buf, len, "%lld", (long long)v->i);
                break;
        case CONFIG_SIZE:
                format_size(v->i, buf, len);
                break;
        case CONFIG_BOOL:
                snprintf(buf, len, "%s", v->b ? "true" : "false");
                break;
        case CONFIG_ENUM:
                snprintf(buf, len, "%s", o->names[v->e]);
                break;
        case CONFIG_ADDR:
                netaddr_format(&v->a, buf, len);
                break;
        case CONFIG_CIDR:
                netaddr_cidr_format(&v->c, buf, len);
                break;
        case CONFIG_URL:
                netaddr_url_format(&v->u, buf, len);
                break;
        case CONFIG_ENDPOINT:
                config_endpoint_format(&v->ep, buf, len);
                break;
        }
}

/* ---- errors with their origin ---------------------------------------- */

static size_t opt_index(const struct config_ctx *ctx, const struct config_opt *o)
{
        return (size_t)(o - ctx->s->opts);
}

bool config_is_set(const struct config_ctx *ctx, const struct config_opt *opt)
{
        return ctx->origin[opt_index(ctx, opt)] != FROM_DEFAULT;
}

static int vfail(struct config_ctx *ctx, const struct config_opt *o, long elem, const char *fmt,
                 va_list ap)
{
        char path[JSONLOC_PATH_MAX], body[MSG_MAX];
        enum origin from = ctx->origin[opt_index(ctx, o)];
        const struct jsonloc *l;

        vsnprintf(body, sizeof(body), fmt, ap);
        if (elem >= 0)
                snprintf(path, sizeof(path), "%s[%ld]", o->key, elem);
        else
                snprintf(path, sizeof(path), "%s", o->key);
        if (from == FROM_FLAG) {
                snprintf(ctx->err, ctx->errlen, "%s: %s", o->flag, body);
        } else if (from == FROM_FILE && (l = jsonloc_find(&ctx->locs, path))) {
                snprintf(ctx->err, ctx->errlen, "%s:%u:%u: key \"%s\": %s", ctx->file, l->vline,
                         l->vcol, path, body);
        } else if (from == FROM_FILE) {
                snprintf(ctx->err, ctx->errlen, "%s: key \"%s\": %s", ctx->file, path, body);
        } else {
                snprintf(ctx->err, ctx->errlen, "default of \"%s\": %s", path, body);
        }
        return -EBADMSG;
}

int config_fail(struct config_ctx *ctx, const struct config_opt *opt, long elem, const char *fmt,
                ...)
{
        va_list ap;
        int rc;

        va_start(ap, fmt);
        rc = vfail(ctx, opt, elem, fmt, ap);
        va_end(ap);
        return rc;
}

/* ---- close matches ----------------------------------------------------- */

static unsigned edit_distance(const char *a, const char *b)
{
        unsigned row[65];
        size_t la = strlen(a), lb = strlen(b);

        if (la > 64 || lb > 64)
                return 99;
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned)j;
        for (size_t i = 1; i <= la; i++) {
                unsigned diag = row[0];

                row[0] = (unsigned)i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned up = row[j];
                        unsigned best = diag + ((a[i - 1] | 0x20) != (b[j - 1] | 0x20));

                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

/* Names within a couple of edits, '-' and '_' taken as the same. */
static bool close_match(const char *typed, const char *name)
{
        char a[65], b[65];
        size_t la = strlen(typed), lb = strlen(name);

        if (la > 64 || lb > 64)
                return false;
        for (size_t i = 0; i <= la; i++)
                a[i] = typed[i] == '-' ? '_' : typed[i];
        for (size_t i = 0; i <= lb; i++)
                b[i] = name[i] == '-' ? '_' : name[i];
        return edit_distance(a, b) <= (lb > 6 ? 2u : 1u) || (la >= 4 && strstr(b, a)) ||
               (lb >= 4 && strstr(a, b));
}

/* "did you mean "window"?" or the list of valid keys. */
static void suggest(const struct config_schema *s, const char *typed, bool flags, char *buf,
                    size_t len)
{
        size_t n = 0, hits = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < s->nopts && n < len; i++) {
                const char *name = flags ? s->opts[i].flag + 2 : s->opts[i].key;

                if (!close_match(typed, name))
                        continue;
                n += (size_t)snprintf(buf + n, len - n, "%s%s%s%s", hits ? " or " : "did you mean ",
                                      flags ? "--" : "\"", name, flags ? "" : "\"");
                hits++;
        }
        if (hits && n < len) {
                snprintf(buf + n, len - n, "?");
                return;
        }
        if (flags) {
                snprintf(buf, len, "see urelay %s --help", s->command);
                return;
        }
        n = (size_t)snprintf(buf, len, "valid keys: ");
        for (size_t i = 0; i < s->nopts && n < len; i++)
                n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", s->opts[i].key);
}

/* ---- the JSON file --------------------------------------------------- */

static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
        char *buf = NULL;
        size_t n = 0, cap = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc = 0;

        if (fd < 0) {
                rc = -errno;
                msg(err, errlen, "cannot read config file %s: %s", path, strerror(-rc));
                return rc;
        }
        for (;;) {
                ssize_t r;

                if (n == cap) {
                        char *nb;

                        if (cap >= CONFIG_FILE_MAX) {
                                rc = msg(err, errlen, "config file %s: larger than %d bytes", path,
                                         CONFIG_FILE_MAX);
                                break;
                        }
                        cap = cap ? cap * 2 : 4096;
                        nb = realloc(buf, cap);
                        if (!nb) {
                                rc = -ENOMEM;
                                msg(err, errlen, "config file %s: out of memory", path);
                                break;
                        }
                        buf = nb;
                }
                r = read(fd, buf + n, cap - n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        rc = -errno;
                        msg(err, errlen, "cannot read config file %s: %s", path, strerror(-rc));
                        break;
                }
                if (r == 0)
                        break;
                n += (size_t)r;
        }
        close(fd);
        if (rc) {
                free(buf);
                return rc;
        }
        *out = buf;
        *outlen = n;
        return 0;
}

static int apply_member(struct config_ctx *ctx, const char *key, const json_t *j)
{
        const struct config_opt *o = config_find(ctx->s, key);
        char body[MSG_MAX];
        union value v;
        int rc;

        if (!o || !j) {
                const struct jsonloc *l = jsonloc_find(&ctx->locs, key);

                suggest(ctx->s, key, false, body, sizeof(body));
                snprintf(ctx->err, ctx->errlen, "%s:%u:%u: unknown key \"%s\" (%s)", ctx->file,
                         l ? l->kline : 0, l ? l->kcol : 0, key, body);
                return -EBADMSG;
        }
        ctx->origin[opt_index(ctx, o)] = FROM_FILE;
        if (!(o->flags & CONFIG_LIST)) {
                rc = parse_json(o, j, &v, body, sizeof(body));
                if (rc == -ENOMEM)
                        return config_fail(ctx, o, -1, "out of memory");
                if (rc)
                        return config_fail(ctx, o, -1, "%s", body);
                return store(o, ctx->cfg, &v) ? config_fail(ctx, o, -1, "out of memory") : 0;
        }
        if (!json_is_array(j))
                return config_fail(ctx, o, -1, "expected an array of %s, got %s",
                                   kinds[o->kind].plural, json_what(j));
        clear_opt(o, ctx->cfg);
        for (size_t i = 0; i < json_array_size(j); i++) {
                rc = parse_json(o, json_array_get(j, i), &v, body, sizeof(body));
                if (rc)
                        return config_fail(ctx, o, (long)i, "%s",
                                           rc == -ENOMEM ? "out of memory" : body);
                if (store(o, ctx->cfg, &v))
                        return config_fail(ctx, o, (long)i, "out of memory");
        }
        return 0;
}

static int load_file(struct config_ctx *ctx)
{
        char *text = NULL;
        size_t len = 0;
        json_error_t je;
        json_t *root;
        int rc;

        rc = read_file(ctx->file, &text, &len, ctx->err, ctx->errlen);
        if (rc) /* -EINVAL is kept for usage errors */
                return rc == -EINVAL ? -EBADMSG : rc;
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!root) {
                snprintf(ctx->err, ctx->errlen, "%s:%d:%d: JSON syntax error: %s", ctx->file,
                         je.line, je.column, je.text);
                rc = -EBADMSG;
                goto out;
        }
        rc = jsonloc_build(&ctx->locs, text, len);
        if (rc) {
                msg(ctx->err, ctx->errlen, "config file %s: out of memory", ctx->file);
                goto out;
        }
        if (!json_is_object(root)) {
                const struct jsonloc *l = jsonloc_find(&ctx->locs, "");

                snprintf(ctx->err, ctx->errlen,
                         "%s:%u:%u: the top level must be an object ({\"key\": value, ...}), got "
                         "%s",
                         ctx->file, l ? l->vline : 1, l ? l->vcol : 1, json_what(root));
                rc = -EBADMSG;
                goto out;
        }
        /* The index holds the members in file order; the tree does not. */
        for (size_t i = 0; i < ctx->locs.n && !rc; i++) {
                const struct jsonloc *l = &ctx->locs.v[i];

                if (l->depth == 1)
                        rc = apply_member(ctx, l->path, json_object_get(root, l->path));
        }
out:
        json_decref(root);
        free(text);
        return rc;
}

/* ---- the command line ------------------------------------------------ */

struct flagval {
        const struct config_opt *o;
        const char *val; /* NULL for a bare boolean flag */
        bool neg;        /* --no-FLAG */
};

static int usage_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int usage_err(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* First pass: finds every flag and its argument, so a usage error is
 * reported before any file is read, and --help wins over everything. */
static int scan_argv(const struct config_schema *s, int argc, char **argv, struct flagval *fv,
                     size_t *nfv, struct config_cmdline *cl, char *err, size_t errlen)
{
        char hint[MSG_MAX];

        *nfv = 0;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *eq = NULL, *val = NULL;
                const struct config_opt *o = NULL;
                size_t nlen;
                bool neg = false;

                if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                        cl->help = true;
                        return 0;
                }
                if (a[0] != '-' || a[1] == '\0')
                        return usage_err(err, errlen,
                                         "unexpected argument \"%.100s\" (options start with --; "
                                         "see urelay %s --help)",
                                         a, s->command);
                if (a[1] != '-') {
                        if (a[2] != '\0')
                                return usage_err(err, errlen,
                                                 "unknown option %.100s (see urelay %s --help)", a,
                                                 s->command);
                        if (a[1] == 'c') {
                                if (i + 1 >= argc)
                                        return usage_err(err, errlen, "-c: needs a FILE.json");
                                cl->file = argv[++i];
                                continue;
                        }
                        for (size_t k = 0; k < s->nopts && !o; k++)
                                if (s->opts[k].short_flag == a[1])
                                        o = &s->opts[k];
                        if (!o)
                                return usage_err(err, errlen,
                                                 "unknown option %.100s (see urelay %s --help)", a,
                                                 s->command);
                } else {
                        eq = strchr(a, '=');
                        nlen = eq ? (size_t)(eq - a) : strlen(a);
                        if (eq)
                                val = eq + 1;
                        if (nlen == 7 && !strncmp(a, "--check", 7) && !eq) {
                                cl->check = true;
                                continue;
                        }
                        if (nlen == 8 && !strncmp(a, "--config", 8)) {
                                if (!val && i + 1 >= argc)
                                        return usage_err(err, errlen,
                                                         "--config: needs a FILE.json");
                                cl->file = val ? val : argv[++i];
                                continue;
                        }
                        for (size_t k = 0; k < s->nopts && !o; k++) {
                                const char *f = s->opts[k].flag;

                                if (strlen(f) == nlen && !strncmp(a, f, nlen))
                                        o = &s->opts[k];
                                else if (s->opts[k].kind == CONFIG_BOOL && !eq &&
                                         !strncmp(a, "--no-", 5) && !strcmp(a + 5, f + 2)) {
                                        o = &s->opts[k];
                                        neg = true;
                                }
                        }
                        if (!o) {
                                char name[128];

                                snprintf(name, sizeof(name), "%.*s", (int)(nlen > 100 ? 100 : nlen),
                                         a);
                                suggest(s, name + 2, true, hint, sizeof(hint));
                                return usage_err(err, errlen, "unknown option %s (%s)", name, hint);
                        }
                }
                if (o->kind != CONFIG_BOOL && !val) {
                        if (i + 1 >= argc)
                                return usage_err(err, errlen, "%s: needs a value (%s)", o->flag,
                                                 o->metavar ? o->metavar : kinds[o->kind].metavar);
                        val = argv[++i];
                }
                fv[(*nfv)++] = (struct flagval){.o = o, .val = val, .neg = neg};
        }
        return 0;
}

static int apply_flag(struct config_ctx *ctx, const struct flagval *f)
{
        const struct config_opt *o = f->o;
        size_t idx = opt_index(ctx, o);
        char body[MSG_MAX];
        union value v;
        int rc;

        /* The first list flag replaces what the file gave; later ones add. */
        if ((o->flags & CONFIG_LIST) && ctx->origin[idx] != FROM_FLAG)
                clear_opt(o, ctx->cfg);
        ctx->origin[idx] = FROM_FLAG;
        if (o->kind == CONFIG_BOOL && !f->val) {
                memset(&v, 0, sizeof(v));
                v.b = !f->neg;
                return store(o, ctx->cfg, &v);
        }
        rc = parse_text(o, f->val, &v, body, sizeof(body));
        if (rc)
                return config_fail(ctx, o, -1, "%s", rc == -ENOMEM ? "out of memory" : body);
        if (store(o, ctx->cfg, &v))
                return config_fail(ctx, o, -1, "out of memory");
        return 0;
}

/* ---- checks common to every schema ------------------------------------ */

static bool has_value(const struct config_opt *o, const void *cfg)
{
        union value v;

        if (o->flags & CONFIG_LIST) {
                struct config_list l;

                memcpy(&l, slot(o, cfg), sizeof(l));
                return l.n > 0;
        }
        if (o->kind != CONFIG_STRING)
                return true;
        load_value(o, slot(o, cfg), &v);
        return v.s != NULL;
}

static int check_common(struct config_ctx *ctx)
{
        const struct config_schema *s = ctx->s;
        char n2[128];

        for (size_t i = 0; i < s->nopts; i++) {
                const struct config_opt *o = &s->opts[i], *p;
                union value v;

                if (o->pair && (p = config_find(s, o->pair)) && has_value(o, ctx->cfg) &&
                    !has_value(p, ctx->cfg)) {
                        /* Name the partner the way the user set this one. */
                        if (ctx->origin[i] == FROM_FLAG)
                                snprintf(n2, sizeof(n2), "%s", p->flag);
                        else
                                snprintf(n2, sizeof(n2), "\"%s\"", p->key);
                        return config_fail(ctx, o, -1, "set without %s; set both or neither", n2);
                }
                if ((o->flags & CONFIG_READABLE) && o->kind == CONFIG_STRING &&
                    !(o->flags & CONFIG_LIST) && has_value(o, ctx->cfg)) {
                        int fd;

                        load_value(o, slot(o, ctx->cfg), &v);
                        fd = open(v.s, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        if (fd < 0)
                                return config_fail(ctx, o, -1, "cannot read %s: %s", v.s,
                                                   strerror(errno));
                        close(fd);
                }
        }
        return 0;
}

int config_error(struct config_ctx *ctx, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(ctx->err, ctx->errlen, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* ---- the engine's entry points ---------------------------------------- */

const struct config_opt *config_find(const struct config_schema *s, const char *key)
{
        for (size_t i = 0; i < s->nopts; i++) {
                if (!strcmp(s->opts[i].key, key))
                        return &s->opts[i];
        }
        return NULL;
}

void config_free(const struct config_schema *s, void *cfg)
{
        for (size_t i = 0; i < s->nopts; i++)
                clear_opt(&s->opts[i], cfg);
        memset(cfg, 0, s->size);
}

static int apply_defaults(struct config_ctx *ctx)
{
        char body[MSG_MAX];
        union value v;

        for (size_t i = 0; i < ctx->s->nopts; i++) {
                const struct config_opt *o = &ctx->s->opts[i];

                if (o->size != storage_size(o)) {
                        snprintf(ctx->err, ctx->errlen,
                                 "internal error: option \"%s\" does not match its field", o->key);
                        return -EFAULT;
                }
                if (!o->def)
                        continue;
                if (parse_text(o, o->def, &v, body, sizeof(body)) || store(o, ctx->cfg, &v)) {
                        snprintf(ctx->err, ctx->errlen, "internal error: default of \"%s\": %s",
                                 o->key, body);
                        return -EFAULT;
                }
        }
        return 0;
}

int config_load(const struct config_schema *s, int argc, char **argv, void *cfg,
                struct config_cmdline *cl, char *err, size_t errlen)
{
        struct config_ctx ctx = {.s = s, .cfg = cfg, .err = err, .errlen = errlen};
        struct flagval *fv;
        size_t nfv = 0;
        int rc;

        memset(cfg, 0, s->size);
        memset(cl, 0, sizeof(*cl));
        if (errlen)
                err[0] = '\0';
        fv = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*fv));
        ctx.origin = calloc(s->nopts, sizeof(*ctx.origin));
        if (!fv || !ctx.origin) {
                rc = -ENOMEM;
                snprintf(err, errlen, "out of memory");
                goto out;
        }
        rc = scan_argv(s, argc, argv, fv, &nfv, cl, err, errlen);
        if (rc || cl->help)
                goto out;
        rc = apply_defaults(&ctx);
        if (!rc && cl->file) {
                ctx.file = cl->file;
                rc = load_file(&ctx);
        }
        for (size_t i = 0; i < nfv && !rc; i++)
                rc = apply_flag(&ctx, &fv[i]);
        if (!rc)
                rc = check_common(&ctx);
        if (!rc && s->validate)
                rc = s->validate(&ctx, cfg);
out:
        if (rc)
                config_free(s, cfg);
        jsonloc_free(&ctx.locs);
        free(ctx.origin);
        free(fv);
        return rc;
}

/* ---- help and summary -------------------------------------------------- */

static void opt_details(const struct config_opt *o, char *buf, size_t len)
{
        char a[64], b[64];
        size_t n = (size_t)snprintf(buf, len, "json \"%s\"", o->key);

        if (o->def && n < len)
                n += (size_t)snprintf(buf + n, len - n, ", default %s", o->def);
        if ((o->kind == CONFIG_INT || o->kind == CONFIG_SIZE) && n < len) {
                if (o->kind == CONFIG_SIZE) {
                        format_size(o->min, a, sizeof(a));
                        format_size(o->max, b, sizeof(b));
                } else {
                        snprintf(a, sizeof(a), "%lld", (long long)o->min);
                        snprintf(b, sizeof(b), "%lld", (long long)o->max);
                }
                n += (size_t)snprintf(buf + n, len - n, ", range %s..%s", a, b);
        }
        if (o->kind == CONFIG_ENUM && n < len) {
                n += (size_t)snprintf(buf + n, len - n, ", one of: ");
                for (size_t i = 0; o->names[i] && n < len; i++)
                        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "", o->names[i]);
        }
        if (o->kind == CONFIG_BOOL && n < len)
                n += (size_t)snprintf(buf + n, len - n, ", --no-%s to clear", o->flag + 2);
        if ((o->flags & CONFIG_LIST) && n < len)
                n += (size_t)snprintf(buf + n, len - n, ", repeatable");
        if (o->pair && n < len)
                snprintf(buf + n, len - n, ", set with \"%s\"", o->pair);
}

static void help_line(FILE *f, const char *left, const char *text)
{
        if (strlen(left) < 30)
                fprintf(f, "%-30s%s\n", left, text);
        else
                fprintf(f, "%s\n%-30s%s\n", left, "", text);
}

void config_help(const struct config_schema *s, FILE *f)
{
        const char *group = NULL;
        char left[128], details[512];

        fprintf(f, "usage: urelay %s [-c FILE.json] [options] [--check]\n\n%s\n\n", s->command,
                s->summary);
        help_line(f, "  -c, --config FILE.json",
                  "read options from a JSON file (keys below); flags override it");
        help_line(f, "      --check", "validate the configuration and keys, print a summary, exit");
        help_line(f, "  -h, --help", "print this help");
        for (size_t i = 0; i < s->nopts; i++) {
                const struct config_opt *o = &s->opts[i];
                const char *mv = o->metavar ? o->metavar : kinds[o->kind].metavar;

                if (!group || strcmp(group, o->group)) {
                        group = o->group;
                        fprintf(f, "\n%s:\n", group);
                }
                if (o->short_flag)
                        snprintf(left, sizeof(left), "  -%c, %s%s%s", o->short_flag, o->flag,
                                 mv ? " " : "", mv ? mv : "");
                else
                        snprintf(left, sizeof(left), "      %s%s%s", o->flag, mv ? " " : "",
                                 mv ? mv : "");
                help_line(f, left, o->help);
                opt_details(o, details, sizeof(details));
                help_line(f, "", details);
        }
        fprintf(f,
                "\nSizes take k, m or g suffixes (powers of 1024). See docs/configuration.md.\n");
}

void config_summary(const struct config_schema *s, const void *cfg, char *buf, size_t len)
{
        char val[NETADDR_URL_STRLEN];
        size_t n = 0;
        union value v;

        buf[0] = '\0';
        for (size_t i = 0; i < s->nopts && n < len; i++) {
                const struct config_opt *o = &s->opts[i];

                if (!has_value(o, cfg))
                        continue;
                n += (size_t)snprintf(buf + n, len - n, "%s%s=", n ? " " : "", o->key);
                if (!(o->flags & CONFIG_LIST)) {
                        load_value(o, slot(o, cfg), &v);
                        show_value(o, &v, val, sizeof(val));
                        if (n < len)
                                n += (size_t)snprintf(buf + n, len - n, "%s", val);
                        continue;
                }
                struct config_list l;

                memcpy(&l, slot(o, cfg), sizeof(l));
                for (size_t k = 0; k < l.n && n < len; k++) {
                        load_value(o, (char *)l.v + k * kinds[o->kind].size, &v);
                        show_value(o, &v, val, sizeof(val));
                        n += (size_t)snprintf(buf + n, len - n, "%s%s", k ? "," : "", val);
                }
        }
}
