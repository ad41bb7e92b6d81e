/* Loaders: RandWire text / plain edge lists, GML (hand-written parser) and GraphML (libxml2).
 * Each reads the records, then hands them to graph_from_edges, which does the reduction to an
 * undirected simple graph and counts what it dropped. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "graph_internal.h"

/* ---- RandWire text and plain edge lists ---- */

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
    struct edgebuf eb = {0};
    int line = 0, randwire = -1; /* -1 undecided */
    long long hdr[2] = {-1, -1}, maxid = -1;
    int nhdr = 0;
    const char *p = buf;
    st = DCN_OK;
    while (*p) {
        line++;
        const char *eol = strchr(p, '\n');
        const char *next = eol ? eol + 1 : p + strlen(p);
        const char *s = skip_blank(p);
        if (*s == '#' || *s == '\n' || *s == '\0') {
            p = next;
            continue;
        }
        long long v[2];
        int nt = 0;
        while (nt < 2 && *s && *s != '\n' && *s != '#') {
            if (parse_ll(&s, &v[nt])) {
                st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: expected %s, found '%.*s'", path, line,
                              randwire == 1 && nhdr < 2 ? "a count" : "non-negative integer node ids",
                              (int)strcspn(s, " \t\r\n"), s);
                goto done;
            }
            nt++;
            s = skip_blank(s);
        }
        if (randwire < 0)
            randwire = randwire_ok && nt == 1;
        if (randwire && nhdr < 2) {
            if (nt != 1 || v[0] < 0) {
                st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: RandWire header expects one non-negative count per "
                              "line (N, then M)", path, line);
                goto done;
            }
            hdr[nhdr++] = v[0];
            if (nhdr == 1 && hdr[0] > TEXT_MAX_NODES) {
                st = dcn_fail(ctx, DCN_ENOMEM, "%s:%d: %lld nodes exceed the limit %d", path, line, hdr[0],
                              TEXT_MAX_NODES);
                goto done;
            }
            if (nhdr == 2 && hdr[1] > GRAPH_MAX_EDGES) {
                st = dcn_fail(ctx, DCN_ENOMEM, "%s:%d: %lld edges exceed the limit %lld", path, line, hdr[1],
                              (long long)GRAPH_MAX_EDGES);
                goto done;
            }
            p = next;
            continue;
        }
        if (nt != 2) {
            st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: expected an edge 'u v' (two node ids)", path, line);
            goto done;
        }
        if (v[0] < 0 || v[1] < 0) {
            st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: negative node id %lld", path, line, v[0] < 0 ? v[0] : v[1]);
            goto done;
        }
        long long lim = randwire ? hdr[0] : TEXT_MAX_NODES;
        if (v[0] >= lim || v[1] >= lim) {
            if (randwire)
                st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: node id %lld out of range (the header declares N = %lld)",
                              path, line, v[0] >= lim ? v[0] : v[1], lim);
            else
                st = dcn_fail(ctx, DCN_ENOMEM, "%s:%d: node id %lld is over the limit of %lld vertices (in an edge "
                              "list every id up to the largest is a vertex)", path, line, v[0] >= lim ? v[0] : v[1], lim);
            goto done;
        }
        if (randwire && eb.m >= hdr[1]) {
            st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: more edges than the %lld declared on line 2", path, line,
                          hdr[1]);
            goto done;
        }
        if (edgebuf_push(&eb, (int)v[0], (int)v[1])) {
            st = dcn_fail(ctx, DCN_ENOMEM, "%s:%d: out of memory or over %lld edges", path, line,
                          (long long)GRAPH_MAX_EDGES);
            goto done;
        }
        if (v[0] > maxid)
            maxid = v[0];
        if (v[1] > maxid)
            maxid = v[1];
        p = next;
    }
    if (randwire == 1 && nhdr < 2) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: truncated RandWire header (expected N and M lines)", path, line);
        goto done;
    }
    if (randwire == 1 && eb.m != hdr[1]) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: %lld edges, but line 2 declares %lld", path, line,
                      (long long)eb.m, hdr[1]);
        goto done;
    }
    int n = randwire == 1 ? (int)hdr[0] : (int)(maxid + 1);
    if (n <= 0) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s: graph has no nodes", path);
        goto done;
    }
    /* RandWire files store a DAG, so a pair written both ways is a reciprocal pair, not a duplicate */
    st = graph_from_edges(ctx, n, eb.m, eb.u, eb.v, randwire == 1, path, out);
    if (!st && graph_number_labels(*out)) {
        graph_free(*out);
        *out = NULL;
        st = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
    }
done:
    edgebuf_free(&eb);
    free(buf);
    return st;
}

/* ---- GML ---- */

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
            return dcn_fail(ctx, DCN_EPARSE, "%s:%d: unterminated list: '[' opened at line %d is never closed",
                            g->path, g->line, open_line);
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
            return dcn_fail(ctx, DCN_EPARSE, "%s:%d: unterminated list: '[' opened at line %d is never closed",
                            g->path, g->line, open_line);
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

enum dcn_status graph_load_gml(struct dcn_ctx *ctx, const char *path, struct dcn_graph **out)
{
    *out = NULL;
    char *buf;
    size_t len;
    enum dcn_status st = graph_read_file(ctx, path, &buf, &len);
    if (st)
        return st;
    struct gml g = {.path = path, .p = buf, .line = 1};
    struct gml_node *nodes = NULL;
    size_t nn = 0, ncap = 0;
    struct edgebuf eb = {0};  /* raw GML ids first, indices after resolution */
    int *eline = NULL;        /* line of each edge record, for error messages */
    int64_t ecap = 0;
    char **labels = NULL;
    double *xyz = NULL;
    int has_coords = 0, directed = 0, found_graph = 0;
    gml_next(&g);
    while (g.t != GT_END) {
        if (g.t != GT_KEY) {
            st = gml_bad(ctx, &g, "expected a key at top level");
            goto done;
        }
        int is_graph = key_is(&g, "graph");
        gml_next(&g);
        if (!is_graph || g.t != GT_OPEN || found_graph) {
            if ((st = gml_skip_value(ctx, &g)))
                goto done;
            continue;
        }
        found_graph = 1;
        int open_line = g.tline;
        gml_next(&g);
        for (;;) {
            if (g.t == GT_CLOSE) {
                gml_next(&g);
                break;
            }
            if (g.t == GT_END) {
                st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: unterminated list: 'graph [' opened at line %d is never "
                              "closed", path, g.line, open_line);
                goto done;
            }
            if (g.t != GT_KEY) {
                st = gml_bad(ctx, &g, "expected a key inside graph");
                goto done;
            }
            struct gml k = g;
            gml_next(&g);
            if (key_is(&k, "directed") && g.t == GT_INT) {
                directed = g.i != 0;
            } else if ((key_is(&k, "node") || key_is(&k, "edge")) && g.t == GT_OPEN) {
                struct gml_rec r = {0};
                int rline = g.tline;
                if ((st = gml_record(ctx, &g, &r, 0)))
                    goto done;
                if (key_is(&k, "node")) {
                    if (!r.has_id) {
                        st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: node without an integer id", path, rline);
                        goto done;
                    }
                    if (nn == ncap) {
                        size_t nc = ncap ? ncap * 2 : 256;
                        void *a = realloc(nodes, nc * sizeof *nodes), *b = a ? realloc(labels, nc * sizeof *labels) : NULL;
                        if (a)
                            nodes = a;
                        if (b)
                            labels = b;
                        void *c = b ? realloc(xyz, nc * 3 * sizeof *xyz) : NULL;
                        if (c)
                            xyz = c;
                        if (!a || !b || !c || nn >= GRAPH_MAX_NODES) {
                            st = dcn_fail(ctx, DCN_ENOMEM, "%s:%d: out of memory or too many nodes", path, rline);
                            goto done;
                        }
                        ncap = nc;
                    }
                    nodes[nn] = (struct gml_node){r.id, (int)nn, rline};
                    if (r.label)
                        labels[nn] = strndup(r.label, r.label_len);
                    else {
                        char b[24];
                        snprintf(b, sizeof b, "%lld", r.id);
                        labels[nn] = strdup(b);
                    }
                    if (!labels[nn]) {
                        st = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
                        goto done;
                    }
                    for (int c = 0; c < 3; c++)
                        xyz[nn * 3 + (size_t)c] = (r.has_xyz >> c) & 1 ? r.xyz[c] : (c ? 0.0 : NAN);
                    has_coords |= r.has_xyz & 1;
                    nn++;
                } else {
                    if (!r.has_source || !r.has_target) {
                        st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: edge without integer source and target", path, rline);
                        goto done;
                    }
                    if (r.source < INT_MIN || r.source > INT_MAX || r.target < INT_MIN || r.target > INT_MAX) {
                        st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: edge names unknown node %lld", path, rline,
                                      r.source < INT_MIN || r.source > INT_MAX ? r.source : r.target);
                        goto done;
                    }
                    if (edgebuf_push(&eb, (int)r.source, (int)r.target)) {
                        st = dcn_fail(ctx, DCN_ENOMEM, "%s:%d: out of memory or too many edges", path, rline);
                        goto done;
                    }
                    if (eb.m > ecap) {
                        int *nl = realloc(eline, (size_t)eb.cap * sizeof *nl);
                        if (!nl) {
                            st = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
                            goto done;
                        }
                        eline = nl;
                        ecap = eb.cap;
                    }
                    eline[eb.m - 1] = rline;
                }
                continue;
            }
            if ((st = gml_skip_value(ctx, &g)))
                goto done;
        }
    }
    if (!found_graph) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: no 'graph [ ... ]' list", path, g.line);
        goto done;
    }
    if (nn == 0) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s: GML graph has no nodes", path);
        goto done;
    }
    /* node index = order of node records; edges name GML ids, resolved by binary search */
    qsort(nodes, nn, sizeof *nodes, cmp_gml_node);
    for (size_t i = 1; i < nn; i++)
        if (nodes[i].id == nodes[i - 1].id) {
            st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: duplicate node id %lld (first at line %d)", path,
                          nodes[i].line > nodes[i - 1].line ? nodes[i].line : nodes[i - 1].line, nodes[i].id,
                          nodes[i].line > nodes[i - 1].line ? nodes[i - 1].line : nodes[i].line);
            goto done;
        }
    for (int64_t e = 0; e < eb.m; e++) {
        int *end[2] = {&eb.u[e], &eb.v[e]};
        for (int s = 0; s < 2; s++) {
            struct gml_node key = {.id = *end[s]};
            struct gml_node *f = bsearch(&key, nodes, nn, sizeof *nodes, cmp_gml_node);
            if (!f) {
                st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: edge names unknown node %d", path, eline[e], *end[s]);
                goto done;
            }
            *end[s] = f->idx;
        }
    }
    st = graph_from_edges(ctx, (int)nn, eb.m, eb.u, eb.v, directed, path, out);
    if (!st) {
        (*out)->labels = labels;
        labels = NULL;
        if (has_coords) {
            (*out)->coords = xyz;
            xyz = NULL;
        }
    }
done:
    if (labels)
        for (size_t i = 0; i < nn; i++)
            free(labels[i]);
    free(labels);
    free(xyz);
    free(nodes);
    free(eline);
    edgebuf_free(&eb);
    free(buf);
    return st;
}

/* ---- GraphML ---- */

/* Start tags a GraphML file may have: 3M elements keep libxml2's tree under ~2.5 GB (a 1M-edge file
 * loads in a few seconds); larger graphs belong in the text formats. */
#define GRAPHML_MAX_ELEMENTS 3000000

static int name_is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* libxml2 errors end with a newline, and some have more lines inside (the encoding error lists the
 * bytes on a second line); keep the message on one line */
static void chomp(char *s)
{
    size_t l = strlen(s);
    while (l && (s[l - 1] == '\n' || s[l - 1] == '\r'))
        s[--l] = '\0';
    for (char *q = s; *q; q++)
        if (*q == '\n' || *q == '\r')
            *q = ' ';
}

/* The parser keeps going after the first fatal error, and its last error ("premature end of data")
 * hides the useful one; this keeps the first. data is the parser context, whose _private points to
 * the record. */
struct xml_first_error {
    int set, line;
    char msg[400];
};

static void xml_keep_first(void *data, xmlErrorPtr e)
{
    xmlParserCtxtPtr pc = data;
    struct xml_first_error *fe = pc ? pc->_private : NULL;
    if (!fe || fe->set || !e || e->level < XML_ERR_ERROR)
        return;
    fe->set = 1;
    fe->line = e->line ? e->line : pc->input ? pc->input->line : 0; /* encoding errors carry no line */
    snprintf(fe->msg, sizeof fe->msg, "%s", e->message ? e->message : "unknown error");
    chomp(fe->msg);
}

enum dcn_status graph_load_graphml(struct dcn_ctx *ctx, const char *path, struct dcn_graph **out)
{
    *out = NULL;
    char *buf;
    size_t len;
    enum dcn_status st = graph_read_file(ctx, path, &buf, &len);
    if (st)
        return st;
    /* GraphML never needs entities; refusing any declaration rules out expansion bombs (billion
     * laughs, quadratic blowup) and external entities, whatever the parser's own limits are */
    const char *ent = strstr(buf, "<!ENTITY");
    if (ent) {
        int line = 1;
        for (const char *q = buf; q < ent; q++)
            line += *q == '\n';
        free(buf);
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: entity declarations are not accepted in GraphML (possible "
                        "entity-expansion attack)", path, line);
    }
    if (len > (size_t)INT_MAX) {
        free(buf);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: too large for the XML parser", path);
    }
    /* libxml2's tree costs ~800 bytes per <edge> element (measured: 1M edges, 0.9 GB), so a 1 GiB
     * GraphML file of 10^7 edges would need ~8 GB and minutes; count the start tags first and refuse
     * early (the plain-text formats have no such cost). '<' + a name character is a start tag; the
     * count may include a few from comments or CDATA, which only makes it conservative. */
    long long tags = 0;
    for (const char *q = buf; (q = memchr(q, '<', len - (size_t)(q - buf))) != NULL; q++)
        tags += isalpha((unsigned char)q[1]) || q[1] == '_' || q[1] == ':';
    if (tags > GRAPHML_MAX_ELEMENTS) {
        free(buf);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: %lld XML elements exceed the GraphML limit of %d (the XML tree would "
                        "need about %lld MiB); convert the graph to an edge list ('u v' per line) or RandWire .txt",
                        path, tags, GRAPHML_MAX_ELEMENTS, tags * 800 / (1 << 20));
    }
    xmlParserCtxtPtr pc = xmlNewParserCtxt();
    if (!pc) {
        free(buf);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: cannot create an XML parser", path);
    }
    struct xml_first_error fe = {0};
    pc->_private = &fe;
    if (pc->sax)
        pc->sax->serror = xml_keep_first;
    /* errors raised without the parser context (encoding conversion, I/O) go to the global handlers,
     * which print to stderr; route them to the same first-error record for the parse */
    xmlSetStructuredErrorFunc(pc, xml_keep_first);
    /* no XML_PARSE_NOENT (entity substitution) and no DTD loading; NONET forbids network access */
    xmlDocPtr doc = xmlCtxtReadMemory(pc, buf, (int)len, path, NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlSetStructuredErrorFunc(NULL, NULL);
    struct strmap ids = {0};
    struct edgebuf eb = {0};
    char **labels = NULL;
    double *xyz = NULL;
    int nn = 0, ncap = 0, has_coords = 0;
    if (!doc) {
        if (!fe.set) {
            const xmlError *e = xmlCtxtGetLastError(pc);
            fe.line = e ? e->line : 0;
            snprintf(fe.msg, sizeof fe.msg, "%s", e && e->message ? e->message : "unknown error");
            chomp(fe.msg);
        }
        st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: malformed XML: %s", path, fe.line, fe.msg);
        goto done;
    }
    if (doc->intSubset && doc->intSubset->entities) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s: entity declarations are not accepted in GraphML", path);
        goto done;
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || !name_is(root, "graphml")) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s:%ld: root element is not <graphml>", path, root ? xmlGetLineNo(root) : 0L);
        goto done;
    }
    /* keys naming coordinates: attr.name x/y/z on nodes */
    char coord_key[3][128] = {{0}};
    xmlNode *graph = NULL;
    for (xmlNode *c = root->children; c; c = c->next) {
        if (name_is(c, "key")) {
            xmlChar *id = xmlGetProp(c, BAD_CAST "id"), *nm = xmlGetProp(c, BAD_CAST "attr.name"),
                    *fr = xmlGetProp(c, BAD_CAST "for");
            if (id && nm && (!fr || !strcmp((char *)fr, "node") || !strcmp((char *)fr, "all")) && strlen((char *)nm) == 1) {
                int ci = tolower(nm[0]) - 'x';
                if (ci >= 0 && ci < 3)
                    snprintf(coord_key[ci], sizeof coord_key[ci], "%s", (char *)id);
            }
            xmlFree(id);
            xmlFree(nm);
            xmlFree(fr);
        } else if (!graph && name_is(c, "graph")) {
            graph = c;
        }
    }
    if (!graph) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s:%ld: <graphml> has no <graph> element", path, xmlGetLineNo(root));
        goto done;
    }
    int directed = 0;
    xmlChar *ed = xmlGetProp(graph, BAD_CAST "edgedefault");
    directed = ed && !strcmp((char *)ed, "directed");
    xmlFree(ed);
    if (strmap_init(&ids, 1024)) {
        st = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (xmlNode *c = graph->children; c; c = c->next) {
        if (!name_is(c, "node"))
            continue;
        xmlChar *id = xmlGetProp(c, BAD_CAST "id");
        if (!id) {
            st = dcn_fail(ctx, DCN_EPARSE, "%s:%ld: <node> without an id", path, xmlGetLineNo(c));
            goto done;
        }
        if (nn == ncap) {
            int nc = ncap ? ncap * 2 : 256;
            void *a = realloc(labels, (size_t)nc * sizeof *labels);
            if (a)
                labels = a;
            void *b = a ? realloc(xyz, (size_t)nc * 3 * sizeof *xyz) : NULL;
            if (b)
                xyz = b;
            if (!a || !b || nn >= GRAPH_MAX_NODES) {
                xmlFree(id);
                st = dcn_fail(ctx, DCN_ENOMEM, "%s:%ld: out of memory or too many nodes", path, xmlGetLineNo(c));
                goto done;
            }
            ncap = nc;
        }
        labels[nn] = strdup((char *)id);
        xmlFree(id);
        if (!labels[nn]) {
            st = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        int r = strmap_put(&ids, labels[nn], nn);
        if (r) {
            st = r < 0 ? dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path)
                       : dcn_fail(ctx, DCN_EPARSE, "%s:%ld: duplicate node id '%s'", path, xmlGetLineNo(c), labels[nn]);
            free(labels[nn]);
            goto done;
        }
        for (int k = 0; k < 3; k++)
            xyz[(size_t)nn * 3 + (size_t)k] = k ? 0.0 : NAN;
        for (xmlNode *d = c->children; d; d = d->next) {
            if (!name_is(d, "data"))
                continue;
            xmlChar *key = xmlGetProp(d, BAD_CAST "key");
            for (int k = 0; key && k < 3; k++)
                if (coord_key[k][0] && !strcmp((char *)key, coord_key[k])) {
                    xmlChar *txt = xmlNodeGetContent(d);
                    char *end;
                    double v = txt ? strtod((char *)txt, &end) : NAN;
                    if (!txt || end == (char *)txt) {
                        xmlFree(txt);
                        xmlFree(key);
                        nn++;
                        st = dcn_fail(ctx, DCN_EPARSE, "%s:%ld: coordinate is not a number", path, xmlGetLineNo(d));
                        goto done;
                    }
                    xmlFree(txt);
                    xyz[(size_t)nn * 3 + (size_t)k] = v;
                    has_coords |= k == 0;
                }
            xmlFree(key);
        }
        nn++;
    }
    if (nn == 0) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s:%ld: GraphML graph has no nodes", path, xmlGetLineNo(graph));
        goto done;
    }
    for (xmlNode *c = graph->children; c; c = c->next) {
        if (!name_is(c, "edge"))
            continue;
        xmlChar *s = xmlGetProp(c, BAD_CAST "source"), *t = xmlGetProp(c, BAD_CAST "target"),
                *dir = xmlGetProp(c, BAD_CAST "directed");
        int u = s ? strmap_get(&ids, (char *)s) : -1, v = t ? strmap_get(&ids, (char *)t) : -1;
        if (u < 0 || v < 0) {
            if (!s || !t)
                st = dcn_fail(ctx, DCN_EPARSE, "%s:%ld: <edge> without source and target", path, xmlGetLineNo(c));
            else
                st = dcn_fail(ctx, DCN_EPARSE, "%s:%ld: edge names unknown node '%s'", path, xmlGetLineNo(c),
                              (char *)(u < 0 ? s : t));
        } else if (edgebuf_push(&eb, u, v)) {
            st = dcn_fail(ctx, DCN_ENOMEM, "%s:%ld: out of memory or too many edges", path, xmlGetLineNo(c));
        }
        if (dir && !strcmp((char *)dir, "true"))
            directed = 1;
        xmlFree(s);
        xmlFree(t);
        xmlFree(dir);
        if (st)
            goto done;
    }
    st = graph_from_edges(ctx, nn, eb.m, eb.u, eb.v, directed, path, out);
    if (!st) {
        (*out)->labels = labels;
        labels = NULL;
        if (has_coords) {
            (*out)->coords = xyz;
            xyz = NULL;
        }
    }
done:
    if (labels)
        for (int i = 0; i < nn; i++)
            free(labels[i]);
    free(labels);
    free(xyz);
    strmap_free(&ids);
    edgebuf_free(&eb);
    if (doc)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(pc);
    free(buf);
    return st;
}
