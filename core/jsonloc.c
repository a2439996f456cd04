/* jsonloc: where each member of a JSON text starts, by path.
 *
 * jansson parses config files and reports syntax errors with a line and
 * column, but keeps no positions in the tree it returns. One pass of this
 * scanner over the already valid text records, for each member path
 * ("window", "endpoints[1]"), the line and column of its key and value, so a
 * semantic error (unknown key, wrong type, out of range) can name them too.
 * Used by config.c only.
 */
#include "core/jsonloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct scanner {
        const char *p, *end;
        unsigned line, col; /* of *p, 1-based, columns in characters as jansson counts */
        struct jsonloc_index *ix;
        char path[JSONLOC_PATH_MAX];
        int oom;
};

static void sc_adv(struct scanner *s)
{
        unsigned char c = (unsigned char)*s->p++;

        if (c == '\n') {
                s->line++;
                s->col = 1;
        } else if ((c & 0xc0) != 0x80) {
                s->col++;
        }
}

static void sc_ws(struct scanner *s)
{
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                sc_adv(s);
}

static unsigned hex4(const char *p)
{
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                char c = p[i];

                v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return v;
}

static size_t put_utf8(char *o, unsigned cp)
{
        if (cp < 0x80) {
                o[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                o[0] = (char)(0xc0 | cp >> 6);
                o[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                o[0] = (char)(0xe0 | cp >> 12);
                o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                o[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        o[0] = (char)(0xf0 | cp >> 18);
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/* Reads a string at s->p (the text is valid JSON) and decodes it into out,
 * as jansson does, so paths match the keys of the parsed tree. */
static void sc_string(struct scanner *s, char *out, size_t outlen)
{
        size_t n = 0;

        sc_adv(s); /* opening quote */
        while (s->p < s->end && *s->p != '"') {
                char tmp[4];
                size_t k = 1;

                if (*s->p == '\\' && s->p + 1 < s->end) {
                        char e = s->p[1];

                        sc_adv(s);
                        sc_adv(s);
                        tmp[0] = e == 'b'   ? '\b'
                                 : e == 'f' ? '\f'
                                 : e == 'n' ? '\n'
                                 : e == 'r' ? '\r'
                                 : e == 't' ? '\t'
                                            : e;
                        if (e == 'u' && s->end - s->p >= 4) {
                                unsigned cp = hex4(s->p);

                                for (int i = 0; i < 4; i++)
                                        sc_adv(s);
                                if (cp >= 0xd800 && cp < 0xdc00 && s->end - s->p >= 6 &&
                                    s->p[0] == '\\' && s->p[1] == 'u') {
                                        unsigned lo = hex4(s->p + 2);

                                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                        for (int i = 0; i < 6; i++)
                                                sc_adv(s);
                                }
                                k = put_utf8(tmp, cp);
                        }
                } else {
                        tmp[0] = *s->p;
                        sc_adv(s);
                }
                if (out && n + k < outlen) {
                        memcpy(out + n, tmp, k);
                        n += k;
                }
        }
        if (s->p < s->end)
                sc_adv(s); /* closing quote */
        if (out && outlen)
                out[n] = '\0';
}

static void add_member(struct scanner *s, unsigned depth, unsigned kline, unsigned kcol)
{
        struct jsonloc_index *ix = s->ix;

        if (s->oom)
                return;
        if (ix->n == ix->cap) {
                size_t cap = ix->cap ? ix->cap * 2 : 32;
                struct jsonloc *v = realloc(ix->v, cap * sizeof(*v));

                if (!v) {
                        s->oom = 1;
                        return;
                }
                ix->v = v;
                ix->cap = cap;
        }
        ix->v[ix->n] = (struct jsonloc){.path = strdup(s->path),
                                        .depth = depth,
                                        .kline = kline,
                                        .kcol = kcol,
                                        .vline = s->line,
                                        .vcol = s->col};
        if (!ix->v[ix->n].path)
                s->oom = 1;
        else
                ix->n++;
}

/* Records the value at s->p under s->path, then walks into it. */
static void sc_value(struct scanner *s, unsigned depth, unsigned kline, unsigned kcol)
{
        size_t plen = strlen(s->path);

        add_member(s, depth, kline, kcol);
        if (*s->p == '{') {
                sc_adv(s);
                for (;;) {
                        char key[JSONLOC_PATH_MAX];
                        unsigned kl, kc;

                        sc_ws(s);
                        if (s->p >= s->end || *s->p == '}')
                                break;
                        if (*s->p == ',') {
                                sc_adv(s);
                                continue;
                        }
                        kl = s->line;
                        kc = s->col;
                        sc_string(s, key, sizeof(key));
                        snprintf(s->path + plen, sizeof(s->path) - plen, "%s%s", plen ? "." : "",
                                 key);
                        sc_ws(s);
                        sc_adv(s); /* ':' */
                        sc_ws(s);
                        sc_value(s, depth + 1, kl, kc);
                        s->path[plen] = '\0';
                }
                if (s->p < s->end)
                        sc_adv(s);
        } else if (*s->p == '[') {
                unsigned i = 0;

                sc_adv(s);
                for (;;) {
                        sc_ws(s);
                        if (s->p >= s->end || *s->p == ']')
                                break;
                        if (*s->p == ',') {
                                sc_adv(s);
                                continue;
                        }
                        snprintf(s->path + plen, sizeof(s->path) - plen, "[%u]", i++);
                        sc_value(s, depth + 1, 0, 0);
                        s->path[plen] = '\0';
                }
                if (s->p < s->end)
                        sc_adv(s);
        } else if (*s->p == '"') {
                sc_string(s, NULL, 0);
        } else {
                while (s->p < s->end && !strchr(",]} \t\r\n", *s->p))
                        sc_adv(s);
        }
}

int jsonloc_build(struct jsonloc_index *ix, const char *text, size_t len)
{
        struct scanner s = {.p = text, .end = text + len, .line = 1, .col = 1, .ix = ix};

        sc_ws(&s);
        if (s.p < s.end)
                sc_value(&s, 0, 0, 0);
        return s.oom ? -ENOMEM : 0;
}

const struct jsonloc *jsonloc_find(const struct jsonloc_index *ix, const char *path)
{
        for (size_t i = 0; i < ix->n; i++) {
                if (!strcmp(ix->v[i].path, path))
                        return &ix->v[i];
        }
        return NULL;
}

void jsonloc_free(struct jsonloc_index *ix)
{
        for (size_t i = 0; i < ix->n; i++)
                free(ix->v[i].path);
        free(ix->v);
        memset(ix, 0, sizeof(*ix));
}
