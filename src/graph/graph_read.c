/* Reading a graph file whole into memory, within GRAPH_MAX_FILE_BYTES, for the loaders. Uses
 * nothing else of the graph module. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "graph_internal.h"

enum dcn_status graph_read_file(struct dcn_ctx *ctx, const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        fclose(f);
        return dcn_fail(ctx, DCN_EIO, "%s: not a regular file", path);
    }
    if (st.st_size > GRAPH_MAX_FILE_BYTES) {
        fclose(f);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: %lld bytes is over the %lld-byte limit for graph files", path,
                        (long long)st.st_size, (long long)GRAPH_MAX_FILE_BYTES);
    }
    char *b = malloc((size_t)st.st_size + 1);
    if (!b) {
        fclose(f);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory reading %lld bytes", path, (long long)st.st_size);
    }
    size_t got = fread(b, 1, (size_t)st.st_size, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != (size_t)st.st_size) {
        free(b);
        return dcn_fail(ctx, DCN_EIO, "%s: read error", path);
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    return DCN_OK;
}
