/* Loader of GML (a hand-written tokenizer and parser: no recursion on the input's nesting). Node
 * records become vertices in file order; edges name GML ids, resolved once all nodes are read.
 * Uses graph_read.c, graph_csr.c, graph.c (the node table) and graph_containers.c; graph_load
 * calls it. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

enum gml_tok { GT_END, GT_KEY, GT_INT, GT_REAL, GT_STR, GT_OPEN, GT_CLOSE, GT_BAD };

struct gml {
    const char *path;
    const char *p;
    int line;
    /* current token */
    enum gml_tok t;
    const char *s;
    size_t len;
    long long i;
    double d;
    int tline;
};

static void gml_next(struct gml *g)
{
    for (;;) {
        while (*g->p && isspace((unsigned char)*g->p)) {
            if (*g->p == '\n')
                g->line++;
            g->p++;
        }
        if (*g->p == '#') { /* comment to end of line */
            while (*g->p && *g->p != '\n')
                g->p++;
            continue;
        }
        break;
    }
    g->tline = g->line;
    g->s = g->p;
    char c = *g->p;
    if (!c) {
        g->t = GT_END;
    } else if (c == '[') {
        g->t = GT_OPEN;
        g->p++;
    } else if (c == ']') {
        g->t = GT_CLOSE;
        g->p++;
    } else if (c == '"') {
        const char *q = g->p + 1;
        while (*q && *q != '"') {
            if (*q == '\n')
                g->line++;
            q++;
        }
        if (!*q) {
            g->t = GT_BAD;
            return;
        }
        g->s = g->p + 1;
        g->len = (size_t)(q - g->s);
        g->p = q + 1;
        g->t = GT_STR;
    } else if (isalpha((unsigned char)c) || c == '_') {
        const char *q = g->p;
        while (isalnum((unsigned char)*q) || *q == '_')
            q++;
        g->len = (size_t)(q - g->p);
        g->p = q;
        g->t = GT_KEY;
    } else if (isdigit((unsigned char)c) || c == '-' || c == '+' || c == '.') {
        char *e1, *e2;
        errno = 0;
        long long v = strtoll(g->p, &e1, 10);
        int ierr = errno;
        double d = strtod(g->p, &e2);
        if (e2 == g->p) {
            g->t = GT_BAD;
            return;
        }
        if (e2 > e1 || ierr) {
            g->t = GT_REAL;
            g->d = d;
            g->p = e2;
        } else {
            g->t = GT_INT;
            g->i = v;
            g->d = (double)v;
            g->p = e1;
        }
        g->len = (size_t)(g->p - g->s);
    } else {
        g->t = GT_BAD;
    }
}

static enum dcn_status gml_bad(struct dcn_ctx *ctx, struct gml *g, const char *what)
{
    if (g->t == GT_BAD && *g->s == '"')
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: unterminated string", g->path, g->tline);
    if (g->t == GT_BAD)
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: unexpected character '%c'", g->path, g->tline, *g->s);
    return dcn_fail(ctx, DCN_EPARSE, "%s:%d: %s", g->path, g->tline, what);
}

static enum dcn_status gml_unclosed(struct dcn_ctx *ctx, const struct gml *g, int open_line)
{
    return dcn_fail(ctx, DCN_EPARSE, "%s:%d: unterminated list: '[' opened at line %d is never closed", g->path,
                    g->line, open_line);
}

/* Skips the value whose first token is current; lists are skipped iteratively so deep nesting
 * cannot overflow the stack. */
static enum dcn_status gml_skip_value(struct dcn_ctx *ctx, struct gml *g)
{
    if (g->t == GT_INT || g->t == GT_REAL || g->t == GT_STR) {
        gml_next(g);
        return DCN_OK;
    }
    if (g->t != GT_OPEN)
        return gml_bad(ctx, g, "expected a value");
    int open_line = g->tline, depth = 1;
    gml_next(g);
    while (depth > 0) {
        if (g->t == GT_END)
            return gml_unclosed(ctx, g, open_line);
        if (g->t == GT_BAD)
            return gml_bad(ctx, g, "");
        depth += g->t == GT_OPEN;
        depth -= g->t == GT_CLOSE;
        gml_next(g);
    }
    return DCN_OK;
}

static int key_is(const struct gml *g, const char *k) { return g->len == strlen(k) && !strncmp(g->s, k, g->len); }

struct gml_node {
    long long id;
    int idx, line;
};

static int cmp_gml_node(const void *a, const void *b)
{
    const struct gml_node *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Reads the key/value pairs of a node or edge list (current token '['): id/label/source/target and
 * coordinates x/y/z, directly or inside graphics [ ]. */
struct gml_rec {
    long long id, source, target;
    int has_id, has_source, has_target;
    const char *label;
    size_t label_len;
    double xyz[3];
    int has_xyz;
};

static enum dcn_status gml_record(struct dcn_ctx *ctx, struct gml *g, struct gml_rec *r, int nested)
{
    int open_line = g->tline;
    gml_next(g);
    for (;;) {
        if (g->t == GT_CLOSE) {
            gml_next(g);
            return DCN_OK;
        }
        if (g->t == GT_END)
            return gml_unclosed(ctx, g, open_line);
        if (g->t != GT_KEY)
            return gml_bad(ctx, g, "expected a key");
        struct gml k = *g;
        gml_next(g);
        int coord = k.len == 1 && (k.s[0] == 'x' || k.s[0] == 'y' || k.s[0] == 'z') ? k.s[0] - 'x' : -1;
        if ((g->t == GT_INT || g->t == GT_REAL) && coord >= 0) {
            r->xyz[coord] = g->d;
            r->has_xyz |= 1 << coord;
        } else if (g->t == GT_INT && !nested && key_is(&k, "id")) {
            r->id = g->i, r->has_id = 1;
        } else if (g->t == GT_INT && !nested && key_is(&k, "source")) {
            r->source = g->i, r->has_source = 1;
        } else if (g->t == GT_INT && !nested && key_is(&k, "target")) {
            r->target = g->i, r->has_target = 1;
        } else if (g->t == GT_STR && !nested && key_is(&k, "label")) {
            r->label = g->s, r->label_len = g->len;
        } else if (g->t == GT_OPEN && !nested && key_is(&k, "graphics")) {
            enum dcn_status st = gml_record(ctx, g, r, 1);
            if (st)
                return st;
            continue;
        } else if (!nested && (key_is(&k, "id") || key_is(&k, "source") || key_is(&k, "target"))) {
            return dcn_fail(ctx, DCN_EPARSE, "%s:%d: '%.*s' must be an integer", g->path, g->tline, (int)k.len, k.s);
        }
        enum dcn_status st = gml_skip_value(ctx, g);
        if (st)
            return st;
    }
}

/* What the loader has read so far. */
struct gml_load {
    struct gml lex;
    struct nodetab nt;
    struct gml_node *nodes; /* (nt.cap) GML id and line of each node */
    struct edgebuf eb;      /* raw GML ids first, indices after resolution */
    int *eline;             /* line of each edge record, for error messages */
    int64_t ecap;
    int directed, found_graph;
};

static enum dcn_status gml_add_node(struct dcn_ctx *ctx, struct gml_load *L, const struct gml_rec *r, int rline)
{
    const char *path = L->lex.path;
    if (!r->has_id)
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: node without an integer id", path, rline);
    if (L->nt.n == L->nt.cap) {
        void *a = nodetab_reserve(&L->nt) ? NULL : realloc(L->nodes, (size_t)L->nt.cap * sizeof *L->nodes);
        if (!a)
            return dcn_fail(ctx, DCN_ENOMEM, "%s:%d: out of memory or too many nodes", path, rline);
        L->nodes = a;
    }
    int i = L->nt.n;
    L->nodes[i] = (struct gml_node){r->id, i, rline};
    if (r->label) {
        L->nt.labels[i] = strndup(r->label, r->label_len);
    } else {
        char b[24];
        snprintf(b, sizeof b, "%lld", r->id);
        L->nt.labels[i] = strdup(b);
    }
    if (!L->nt.labels[i])
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
    for (int c = 0; c < 3; c++)
        L->nt.xyz[(size_t)i * 3 + (size_t)c] = (r->has_xyz >> c) & 1 ? r->xyz[c] : (c ? 0.0 : NAN);
    L->nt.has_coords |= r->has_xyz & 1;
    L->nt.n++;
    return DCN_OK;
}

static enum dcn_status gml_add_edge(struct dcn_ctx *ctx, struct gml_load *L, const struct gml_rec *r, int rline)
{
    const char *path = L->lex.path;
    if (!r->has_source || !r->has_target)
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: edge without integer source and target", path, rline);
    /* edge records hold ints until resolution, so an id outside int is reported as unknown even when
     * a node has it */
    if (r->source < INT_MIN || r->source > INT_MAX || r->target < INT_MIN || r->target > INT_MAX)
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: edge names unknown node %lld", path, rline,
                        r->source < INT_MIN || r->source > INT_MAX ? r->source : r->target);
    if (edgebuf_push(&L->eb, (int)r->source, (int)r->target))
        return dcn_fail(ctx, DCN_ENOMEM, "%s:%d: out of memory or too many edges", path, rline);
    if (L->eb.m > L->ecap) {
        int *nl = realloc(L->eline, (size_t)L->eb.cap * sizeof *nl);
        if (!nl)
            return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
        L->eline = nl;
        L->ecap = L->eb.cap;
    }
    L->eline[L->eb.m - 1] = rline;
    return DCN_OK;
}

/* The body of 'graph [ ... ]' (current token '['): directed, node and edge records; other keys
 * are skipped. */
static enum dcn_status gml_graph_list(struct dcn_ctx *ctx, struct gml_load *L)
{
    struct gml *g = &L->lex;
    int open_line = g->tline;
    enum dcn_status st;
    gml_next(g);
    for (;;) {
        if (g->t == GT_CLOSE) {
            gml_next(g);
            return DCN_OK;
        }
        if (g->t == GT_END)
            return dcn_fail(ctx, DCN_EPARSE, "%s:%d: unterminated list: 'graph [' opened at line %d is never "
                            "closed", g->path, g->line, open_line);
        if (g->t != GT_KEY)
            return gml_bad(ctx, g, "expected a key inside graph");
        struct gml k = *g;
        gml_next(g);
        if (key_is(&k, "directed") && g->t == GT_INT) {
            L->directed = g->i != 0;
        } else if ((key_is(&k, "node") || key_is(&k, "edge")) && g->t == GT_OPEN) {
            struct gml_rec r = {0};
            int rline = g->tline;
            if ((st = gml_record(ctx, g, &r, 0)))
                return st;
            st = key_is(&k, "node") ? gml_add_node(ctx, L, &r, rline) : gml_add_edge(ctx, L, &r, rline);
            if (st)
                return st;
            continue;
        }
        if ((st = gml_skip_value(ctx, g)))
            return st;
    }
}

/* The whole file: the first 'graph [ ... ]' list is the graph, any other top-level value is skipped. */
static enum dcn_status gml_read(struct dcn_ctx *ctx, struct gml_load *L)
{
    struct gml *g = &L->lex;
    enum dcn_status st;
    gml_next(g);
    while (g->t != GT_END) {
        if (g->t != GT_KEY)
            return gml_bad(ctx, g, "expected a key at top level");
        int is_graph = key_is(g, "graph");
        gml_next(g);
        if (!is_graph || g->t != GT_OPEN || L->found_graph) {
            if ((st = gml_skip_value(ctx, g)))
                return st;
            continue;
        }
        L->found_graph = 1;
        if ((st = gml_graph_list(ctx, L)))
            return st;
    }
    if (!L->found_graph)
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: no 'graph [ ... ]' list", g->path, g->line);
    if (L->nt.n == 0)
        return dcn_fail(ctx, DCN_EPARSE, "%s: GML graph has no nodes", g->path);
    return DCN_OK;
}

/* node index = order of node records; edges name GML ids, resolved by binary search */
static enum dcn_status gml_resolve_edges(struct dcn_ctx *ctx, struct gml_load *L)
{
    const char *path = L->lex.path;
    size_t nn = (size_t)L->nt.n;
    struct gml_node *nodes = L->nodes;
    qsort(nodes, nn, sizeof *nodes, cmp_gml_node);
    for (size_t i = 1; i < nn; i++)
        if (nodes[i].id == nodes[i - 1].id)
            return dcn_fail(ctx, DCN_EPARSE, "%s:%d: duplicate node id %lld (first at line %d)", path,
                            nodes[i].line > nodes[i - 1].line ? nodes[i].line : nodes[i - 1].line, nodes[i].id,
                            nodes[i].line > nodes[i - 1].line ? nodes[i - 1].line : nodes[i].line);
    for (int64_t e = 0; e < L->eb.m; e++) {
        int *end[2] = {&L->eb.u[e], &L->eb.v[e]};
        for (int s = 0; s < 2; s++) {
            struct gml_node key = {.id = *end[s]};
            struct gml_node *f = bsearch(&key, nodes, nn, sizeof *nodes, cmp_gml_node);
            if (!f)
                return dcn_fail(ctx, DCN_EPARSE, "%s:%d: edge names unknown node %d", path, L->eline[e], *end[s]);
            *end[s] = f->idx;
        }
    }
    return DCN_OK;
}

enum dcn_status graph_load_gml(struct dcn_ctx *ctx, const char *path, struct dcn_graph **out)
{
    *out = NULL;
    char *buf;
    size_t len;
    enum dcn_status st = graph_read_file(ctx, path, &buf, &len);
    if (st)
        return st;
    struct gml_load L = {.lex = {.path = path, .p = buf, .line = 1}};
    st = gml_read(ctx, &L);
    if (!st)
        st = gml_resolve_edges(ctx, &L);
    if (!st)
        st = graph_from_nodetab(ctx, &L.nt, &L.eb, L.directed, path, out);
    nodetab_free(&L.nt);
    free(L.nodes);
    free(L.eline);
    edgebuf_free(&L.eb);
    free(buf);
    return st;
}
