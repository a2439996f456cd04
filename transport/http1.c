/* http1: HTTP/1.1 message heads over http-parser, with hard limits.
 *
 * See transport/http1.h for the contract. The work is split in two: a small
 * line scanner here counts bytes and lines and rejects what http-parser lets
 * through (obs-fold, doubled spaces in a request line, too many lines), and
 * http-parser checks the grammar and hands out the pieces, which are copied
 * into h->buf. Input is processed one line at a time, and the scanner stops
 * in front of the byte it rejects without feeding it to http-parser, so the
 * outcome (error code or consumed count) is the same however the input is
 * split: the fuzz target checks exactly that.
 */
#include "transport/http1.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c)
{
        /* RFC 9110 §5.6.2 token characters. */
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static struct http1_head *head_of(http_parser *p)
{
        return p->data;
}

/* Appends to buf. The limit on raw head bytes bounds what is stored (every
 * stored string is shorter than the raw bytes it came from, counting its
 * NUL against a separator), so running out means a bug, reported as 431. */
static int store(struct http1_head *h, const char *p, size_t n)
{
        if (n > sizeof(h->buf) - 1 - h->used)
                return HTTP1_EHEADTOOBIG;
        memcpy(h->buf + h->used, p, n);
        h->used = (uint16_t)(h->used + n);
        return 0;
}

static int store_nul(struct http1_head *h)
{
        return store(h, "", 1);
}

/* http-parser callbacks. A non-zero return stops the parser with an
 * HPE_CB_* code; the reason is kept in h->state for map_error(). */
static int cb_fail(struct http1_head *h, int err)
{
        h->state = err;
        return -1;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
        struct http1_head *h = head_of(p);
        int rc = store(h, at, n);

        return rc ? cb_fail(h, rc) : 0;
}

static int on_status(http_parser *p, const char *at, size_t n)
{
        struct http1_head *h = head_of(p);
        int rc;

        /* http-parser passes anything but CR and LF in a reason phrase. */
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)at[i];

                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        return cb_fail(h, HTTP1_ELINE);
        }
        rc = store(h, at, n);
        return rc ? cb_fail(h, rc) : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
        struct http1_head *h = head_of(p);
        int rc = store(h, at, n);

        return rc ? cb_fail(h, rc) : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
        struct http1_head *h = head_of(p);
        int rc;

        /* An empty value is reported late, as the next line starts (after
         * end_field() closed its line): nothing to store, so ignore it. */
        if (n == 0)
                return 0;
        if (!h->in_value) {
                /* The name is complete: terminate it, the value starts. */
                if ((rc = store_nul(h)) != 0)
                        return cb_fail(h, rc);
                h->fields[h->nfields].value = h->used;
                h->in_value = true;
        }
        rc = store(h, at, n);
        return rc ? cb_fail(h, rc) : 0;
}

static int on_headers_complete(http_parser *p)
{
        /* Stop right here: the bytes after the head are not HTTP's. */
        http_parser_pause(p, 1);
        return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
};

void http1_init(struct http1_head *h, enum http1_kind kind)
{
        memset(h, 0, offsetof(struct http1_head, fields));
        h->kind = kind;
        h->first_line = true;
        http_parser_init(&h->parser, kind == HTTP1_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE);
        h->parser.data = h;
}

static int map_error(const struct http1_head *h, enum http_errno e)
{
        switch (e) {
        case HPE_INVALID_METHOD:
                return HTTP1_EMETHOD;
        case HPE_INVALID_VERSION:
                return HTTP1_EVERSION;
        case HPE_INVALID_CONTENT_LENGTH:
                return HTTP1_ECL;
        case HPE_UNEXPECTED_CONTENT_LENGTH:
                /* CL next to TE is caught at the end of its line, before
                 * http-parser sees it; this is its second-CL check. */
                return h->has_te ? HTTP1_ECLTE : HTTP1_ECLDUP;
        case HPE_HEADER_OVERFLOW:
                return HTTP1_EHEADTOOBIG;
        case HPE_CB_url:
        case HPE_CB_status:
        case HPE_CB_header_field:
        case HPE_CB_header_value:
                return h->state < 0 ? h->state : HTTP1_EHEADER;
        default:
                return h->first_line ? HTTP1_ELINE : HTTP1_EHEADER;
        }
}

static int check_content_length(struct http1_head *h, const char *v)
{
        uint64_t n = 0;

        if (h->has_cl)
                return HTTP1_ECLDUP;
        if (*v == '\0')
                return HTTP1_ECL;
        for (; *v; v++) {
                if (*v < '0' || *v > '9' || n > (UINT64_MAX - 9) / 10)
                        return HTTP1_ECL;
                n = n * 10 + (uint64_t)(*v - '0');
        }
        h->has_cl = true;
        h->content_length = n;
        return h->has_te ? HTTP1_ECLTE : 0;
}

/* A header line ended: terminate and trim its value, check its name, and
 * apply the framing rules as soon as the offending line is complete. */
static int end_field(struct http1_head *h)
{
        struct http1_field *f = &h->fields[h->nfields];
        const char *name = h->buf + f->name;
        int rc;

        if (!h->in_value) {
                if ((rc = store_nul(h)) != 0)
                        return rc;
                f->value = h->used;
        }
        while (h->used > f->value && (h->buf[h->used - 1] == ' ' || h->buf[h->used - 1] == '\t'))
                h->used--;
        if ((rc = store_nul(h)) != 0)
                return rc;
        h->nfields++;
        h->in_value = false;

        /* http-parser lets "Name :" through; RFC 9112 §5.1 says 400. */
        if (*name == '\0')
                return HTTP1_EHEADER;
        for (const char *c = name; *c; c++)
                if (!is_tchar((unsigned char)*c))
                        return HTTP1_EHEADER;

        if (strcasecmp(name, "content-length") == 0)
                return check_content_length(h, h->buf + f->value);
        if (strcasecmp(name, "transfer-encoding") == 0) {
                h->has_te = true;
                return h->has_cl ? HTTP1_ECLTE : 0;
        }
        if (strcasecmp(name, "host") == 0 && h->hosts < UINT8_MAX)
                h->hosts++;
        return 0;
}

static int end_first_line(struct http1_head *h)
{
        int rc = store_nul(h);

        if (rc)
                return rc;
        h->first_line = false;
        if (h->parser.http_major != 1)
                return HTTP1_EVERSION;
        if (h->kind == HTTP1_RESPONSE && h->parser.status_code < 100)
                return HTTP1_ELINE;
        return 0;
}

static int end_head(struct http1_head *h)
{
        if (h->kind != HTTP1_REQUEST)
                return 0;
        if (h->hosts > 1 || (h->hosts == 0 && h->parser.http_minor >= 1))
                return HTTP1_EHOST;
        return 0;
}

/* Scans c[0, len) (part of one line, ending at its LF if it has one) and
 * returns how many bytes may be fed to http-parser; *err is set when the
 * scan stopped in front of a rejected byte. */
static size_t scan(struct http1_head *h, const uint8_t *c, size_t len, int *err)
{
        *err = 0;
        for (size_t i = 0; i < len; i++) {
                uint8_t b = c[i];

                if (h->total + i + 1 > HTTP1_HEAD_MAX) {
                        *err = h->first_line && h->kind == HTTP1_REQUEST ? HTTP1_ELINETOOBIG
                                                                         : HTTP1_EHEADTOOBIG;
                        return i;
                }
                if (h->line_len == 0 && h->first_line && (b == '\r' || b == '\n'))
                        continue; /* empty lines before the request line */
                if (h->line_len == 0)
                        h->first_cr = b == '\r';
                if (h->line_len == 0 && !h->first_line && b != '\r' && b != '\n') {
                        if (b == ' ' || b == '\t') {
                                *err = HTTP1_EFOLD;
                                return i;
                        }
                        if (h->nfields >= HTTP1_MAX_HEADERS) {
                                *err = HTTP1_ETOOMANY;
                                return i;
                        }
                        h->fields[h->nfields].name = h->used;
                        h->in_value = false;
                }
                if (h->first_line && h->kind == HTTP1_REQUEST) {
                        if (b == ' ' && h->prev_space) {
                                *err = HTTP1_ELINE;
                                return i;
                        }
                        h->prev_space = b == ' ';
                }
                if (b != '\n')
                        h->line_len++;
        }
        return len;
}

/* After a line's LF went through http-parser without ending the head. */
static int end_line(struct http1_head *h, bool blank)
{
        if (h->first_line)
                return blank ? 0 : end_first_line(h);
        /* http-parser ends the head on the empty line; reaching here with
         * one means the two disagree, which must never pass silently. */
        return blank ? HTTP1_EHEADER : end_field(h);
}

int http1_feed(struct http1_head *h, const uint8_t *p, size_t n, size_t *consumed)
{
        size_t off = 0;
        int rc = 0;

        *consumed = 0;
        if (h->state != 0)
                return h->state;
        while (off < n && rc == 0) {
                const uint8_t *lf = memchr(p + off, '\n', n - off);
                size_t len = lf ? (size_t)(lf - (p + off)) + 1 : n - off;
                size_t ok, done;
                enum http_errno e;
                bool blank;

                ok = scan(h, p + off, len, &rc);
                /* Zero bytes would mean end of stream to http-parser. */
                done =
                    ok ? http_parser_execute(&h->parser, &settings, (const char *)p + off, ok) : 0;
                e = HTTP_PARSER_ERRNO(&h->parser);
                /* The line is "" or "\r" before its LF (line_len stops
                 * short of the LF, and skips empty lines before line 1). */
                blank = h->line_len == 0 || (h->line_len == 1 && h->first_cr);
                if (e == HPE_PAUSED) {
                        /* Paused on the final LF, which it leaves uncounted. */
                        if (rc || !lf || done + 1 != len || !blank || h->first_line)
                                rc = HTTP1_EHEADER;
                        else
                                rc = end_head(h);
                        if (rc)
                                break;
                        *consumed = off + len;
                        h->total += (uint32_t)len;
                        h->state = 1;
                        return 1;
                }
                if (e != HPE_OK) {
                        rc = map_error(h, e);
                        break;
                }
                if (rc)
                        break;
                h->total += (uint32_t)len;
                off += len;
                if (lf) {
                        rc = end_line(h, blank);
                        h->line_len = 0;
                        h->first_cr = false;
                }
        }
        if (rc) {
                h->state = rc;
                return rc;
        }
        *consumed = n;
        return 0;
}

int http1_state(const struct http1_head *h)
{
        return h->state;
}

const char *http1_method(const struct http1_head *h)
{
        if (h->kind != HTTP1_REQUEST)
                return NULL;
        return http_method_str((enum http_method)h->parser.method);
}

const char *http1_target(const struct http1_head *h)
{
        return h->kind == HTTP1_REQUEST ? h->buf : NULL;
}

int http1_status(const struct http1_head *h)
{
        return h->kind == HTTP1_RESPONSE ? (int)h->parser.status_code : 0;
}

const char *http1_reason(const struct http1_head *h)
{
        return h->kind == HTTP1_RESPONSE ? h->buf : NULL;
}

unsigned http1_version_minor(const struct http1_head *h)
{
        return h->parser.http_minor;
}

const char *http1_header(const struct http1_head *h, const char *name)
{
        for (unsigned i = 0; i < h->nfields; i++)
                if (strcasecmp(h->buf + h->fields[i].name, name) == 0)
                        return h->buf + h->fields[i].value;
        return NULL;
}

unsigned http1_header_count(const struct http1_head *h, const char *name)
{
        unsigned count = 0;

        for (unsigned i = 0; i < h->nfields; i++)
                if (strcasecmp(h->buf + h->fields[i].name, name) == 0)
                        count++;
        return count;
}

static bool list_has_token(const char *list, const char *token)
{
        size_t tlen = strlen(token);

        while (*list) {
                const char *end;
                size_t len;

                while (*list == ' ' || *list == '\t' || *list == ',')
                        list++;
                end = list;
                while (*end && *end != ',')
                        end++;
                len = (size_t)(end - list);
                while (len > 0 && (list[len - 1] == ' ' || list[len - 1] == '\t'))
                        len--;
                if (len == tlen && len > 0 && strncasecmp(list, token, len) == 0)
                        return true;
                list = end;
        }
        return false;
}

bool http1_header_has_token(const struct http1_head *h, const char *name, const char *token)
{
        for (unsigned i = 0; i < h->nfields; i++)
                if (strcasecmp(h->buf + h->fields[i].name, name) == 0 &&
                    list_has_token(h->buf + h->fields[i].value, token))
                        return true;
        return false;
}

int http1_content_length(const struct http1_head *h, uint64_t *out)
{
        if (!h->has_cl)
                return -ENOENT;
        *out = h->content_length;
        return 0;
}

bool http1_keep_alive(const struct http1_head *h)
{
        if (h->parser.http_minor >= 1)
                return !http1_header_has_token(h, "connection", "close");
        return http1_header_has_token(h, "connection", "keep-alive");
}

const char *http1_strerror(int err)
{
        switch (err) {
        case 0:
                return "success";
        case HTTP1_EHEADTOOBIG:
                return "HTTP head over 8 KiB";
        case HTTP1_ETOOMANY:
                return "more than 100 HTTP header lines";
        case HTTP1_ELINETOOBIG:
                return "HTTP request line over 8 KiB";
        case HTTP1_EMETHOD:
                return "unknown or malformed HTTP method";
        case HTTP1_ELINE:
                return "malformed HTTP request or status line";
        case HTTP1_EVERSION:
                return "not HTTP/1.x";
        case HTTP1_EHEADER:
                return "malformed HTTP header line";
        case HTTP1_EFOLD:
                return "folded HTTP header line (obs-fold)";
        case HTTP1_ECLTE:
                return "both Content-Length and Transfer-Encoding";
        case HTTP1_ECLDUP:
                return "more than one Content-Length";
        case HTTP1_ECL:
                return "invalid Content-Length";
        case HTTP1_EHOST:
                return "HTTP/1.1 request without exactly one Host";
        case -ENOENT:
                return "no such header";
        }
        return "unknown error";
}

int http1_error_status(int err)
{
        switch (err) {
        case HTTP1_EHEADTOOBIG:
        case HTTP1_ETOOMANY:
                return 431;
        case HTTP1_ELINETOOBIG:
                return 414;
        }
        return err < 0 ? 400 : 0;
}
