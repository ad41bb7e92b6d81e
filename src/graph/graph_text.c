/* Loader of RandWire text ("N", "M", then M lines "s t") and plain edge lists ("u v" per line, '#'
 * comments). Uses graph_read.c, graph_csr.c, graph.c and graph_containers.c; graph_load calls it. */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

/* In these formats a vertex costs no bytes of input: a header N, or one id in a plain edge list (every
 * id up to the largest is a vertex), asks for it. The loader spends ~60 bytes per vertex (labels, CSR
 * offsets) and statistics far more, so the 11-byte file "0 99999999" used to take 9 GB and minutes
 * under GRAPH_MAX_NODES (10^8). 10^7 vertices bound the loader to ~0.6 GB; the largest connectomes
 * have ~10^5-10^6 neurons. GML and GraphML pay input bytes per vertex and keep GRAPH_MAX_NODES. */
#define TEXT_MAX_NODES 10000000

/* Parses one integer token at *p (no leading space); returns 0 and advances, or -1. Values beyond
 * long long saturate and are rejected by the caller's range check. */
static int parse_ll(const char **p, long long *out)
{
    const char *s = *p;
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (!isdigit((unsigned char)*s))
        return -1;
    long long v = 0;
    for (; isdigit((unsigned char)*s); s++)
        v = v > LLONG_MAX / 10 - 10 ? LLONG_MAX : v * 10 + (*s - '0');
    if (*s && !isspace((unsigned char)*s) && *s != '#' && *s != ',')
        return -1;
    *out = neg ? -v : v;
    *p = s;
    return 0;
}

static const char *skip_blank(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == ',')
        s++;
    return s;
}

struct text_load {
    const char *path;
    struct edgebuf eb;
    int line;
    int randwire; /* -1 until the first record line decides */
    long long hdr[2], maxid;
    int nhdr;
};

/* The header lines N and M of a RandWire file, checked against the limits as soon as they are read. */
static enum dcn_status text_header(struct dcn_ctx *ctx, struct text_load *t, int nt, long long v)
{
    if (nt != 1 || v < 0)
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: RandWire header expects one non-negative count per "
                        "line (N, then M)", t->path, t->line);
    t->hdr[t->nhdr++] = v;
    if (t->nhdr == 1 && t->hdr[0] > TEXT_MAX_NODES)
        return dcn_fail(ctx, DCN_ENOMEM, "%s:%d: %lld nodes exceed the limit %d", t->path, t->line, t->hdr[0],
                        TEXT_MAX_NODES);
    if (t->nhdr == 2 && t->hdr[1] > GRAPH_MAX_EDGES)
        return dcn_fail(ctx, DCN_ENOMEM, "%s:%d: %lld edges exceed the limit %lld", t->path, t->line, t->hdr[1],
                        (long long)GRAPH_MAX_EDGES);
    return DCN_OK;
}

static enum dcn_status text_edge(struct dcn_ctx *ctx, struct text_load *t, int nt, const long long v[2])
{
    if (nt != 2)
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: expected an edge 'u v' (two node ids)", t->path, t->line);
    if (v[0] < 0 || v[1] < 0)
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: negative node id %lld", t->path, t->line, v[0] < 0 ? v[0] : v[1]);
    long long lim = t->randwire ? t->hdr[0] : TEXT_MAX_NODES;
    if (v[0] >= lim || v[1] >= lim) {
        if (t->randwire)
            return dcn_fail(ctx, DCN_EPARSE, "%s:%d: node id %lld out of range (the header declares N = %lld)",
                            t->path, t->line, v[0] >= lim ? v[0] : v[1], lim);
        return dcn_fail(ctx, DCN_ENOMEM, "%s:%d: node id %lld is over the limit of %lld vertices (in an edge "
                        "list every id up to the largest is a vertex)", t->path, t->line, v[0] >= lim ? v[0] : v[1],
                        lim);
    }
    if (t->randwire && t->eb.m >= t->hdr[1])
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: more edges than the %lld declared on line 2", t->path, t->line,
                        t->hdr[1]);
    if (edgebuf_push(&t->eb, (int)v[0], (int)v[1]))
        return dcn_fail(ctx, DCN_ENOMEM, "%s:%d: out of memory or over %lld edges", t->path, t->line,
                        (long long)GRAPH_MAX_EDGES);
    if (v[0] > t->maxid)
        t->maxid = v[0];
    if (v[1] > t->maxid)
        t->maxid = v[1];
    return DCN_OK;
}

/* One line that is not blank or a comment: up to two integers, then a header count or an edge. The
 * first such line decides the format: one number starts a RandWire header (in a .txt file only). */
static enum dcn_status text_line(struct dcn_ctx *ctx, struct text_load *t, const char *s, int randwire_ok)
{
    long long v[2];
    int nt = 0;
    while (nt < 2 && *s && *s != '\n' && *s != '#') {
        if (parse_ll(&s, &v[nt]))
            return dcn_fail(ctx, DCN_EPARSE, "%s:%d: expected %s, found '%.*s'", t->path, t->line,
                            t->randwire == 1 && t->nhdr < 2 ? "a count" : "non-negative integer node ids",
                            (int)strcspn(s, " \t\r\n"), s);
        nt++;
        s = skip_blank(s);
    }
    if (t->randwire < 0)
        t->randwire = randwire_ok && nt == 1;
    if (t->randwire && t->nhdr < 2)
        return text_header(ctx, t, nt, v[0]);
    return text_edge(ctx, t, nt, v);
}

/* The checks that need the whole file, then the graph. */
static enum dcn_status text_build(struct dcn_ctx *ctx, struct text_load *t, struct dcn_graph **out)
{
    if (t->randwire == 1 && t->nhdr < 2)
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: truncated RandWire header (expected N and M lines)", t->path,
                        t->line);
    if (t->randwire == 1 && t->eb.m != t->hdr[1])
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: %lld edges, but line 2 declares %lld", t->path, t->line,
                        (long long)t->eb.m, t->hdr[1]);
    int n = t->randwire == 1 ? (int)t->hdr[0] : (int)(t->maxid + 1);
    if (n <= 0)
        return dcn_fail(ctx, DCN_EPARSE, "%s: graph has no nodes", t->path);
    /* RandWire files store a DAG, so a pair written both ways is a reciprocal pair, not a duplicate */
    enum dcn_status st = graph_from_edges(ctx, n, t->eb.m, t->eb.u, t->eb.v, t->randwire == 1, t->path, out);
    return st ? st : graph_number_labels(ctx, out, t->path);
}

enum dcn_status graph_load_text(struct dcn_ctx *ctx, const char *path, int randwire_ok, struct dcn_graph **out)
{
    *out = NULL;
    char *buf;
    size_t len;
    enum dcn_status st = graph_read_file(ctx, path, &buf, &len);
    if (st)
        return st;
    if (memchr(buf, '\0', len)) {
        free(buf);
        return dcn_fail(ctx, DCN_EPARSE, "%s: binary data in a text graph file", path);
    }
    struct text_load t = {.path = path, .randwire = -1, .hdr = {-1, -1}, .maxid = -1};
    for (const char *p = buf; *p && !st;) {
        t.line++;
        const char *eol = strchr(p, '\n');
        const char *s = skip_blank(p);
        if (*s != '#' && *s != '\n' && *s != '\0')
            st = text_line(ctx, &t, s, randwire_ok);
        p = eol ? eol + 1 : p + strlen(p);
    }
    if (!st)
        st = text_build(ctx, &t, out);
    edgebuf_free(&t.eb);
    free(buf);
    return st;
}
