/* jsonloc: line and column of every member of a (valid) JSON text, by path,
 * for config error messages. See jsonloc.c. */
#ifndef URELAY_CORE_JSONLOC_H
#define URELAY_CORE_JSONLOC_H

#include <stddef.h>

#define JSONLOC_PATH_MAX 256

struct jsonloc {
        char *path;
        unsigned depth;       /* 1 for members of the top-level object */
        unsigned kline, kcol; /* where the key starts; 0 for array elements */
        unsigned vline, vcol; /* where the value starts */
};

struct jsonloc_index {
        struct jsonloc *v;
        size_t n, cap;
};

/* Indexes text[0, len), which jansson has already accepted. Paths are
 * "key", "key.sub", "key[2]"; "" is the top-level value. Returns 0 or
 * -ENOMEM. */
int jsonloc_build(struct jsonloc_index *ix, const char *text, size_t len);
/* The entry for <path>, or NULL. */
const struct jsonloc *jsonloc_find(const struct jsonloc_index *ix, const char *path);
void jsonloc_free(struct jsonloc_index *ix);

#endif
