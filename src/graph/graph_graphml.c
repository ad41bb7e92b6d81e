/* Loader of GraphML through libxml2's tree parser, with the input refused before parsing when it
 * declares entities or has more elements than the tree should hold. <node>s become vertices in
 * file order; <key>s named x/y/z give coordinates. Uses graph_read.c, graph_csr.c, graph.c (the
 * node table) and graph_containers.c (node ids in a strmap); graph_load calls it. */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "graph_internal.h"

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

/* Refusals that need only the bytes, so that hostile input never reaches the parser. */
static enum dcn_status graphml_check_input(struct dcn_ctx *ctx, const char *path, const char *buf, size_t len)
{
    /* GraphML never needs entities; refusing any declaration rules out expansion bombs (billion
     * laughs, quadratic blowup) and external entities, whatever the parser's own limits are */
    const char *ent = strstr(buf, "<!ENTITY");
    if (ent) {
        int line = 1;
        for (const char *q = buf; q < ent; q++)
            line += *q == '\n';
        return dcn_fail(ctx, DCN_EPARSE, "%s:%d: entity declarations are not accepted in GraphML (possible "
                        "entity-expansion attack)", path, line);
    }
    if (len > (size_t)INT_MAX)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: too large for the XML parser", path);
    /* libxml2's tree costs ~800 bytes per <edge> element (measured: 1M edges, 0.9 GB), so a 1 GiB
     * GraphML file of 10^7 edges would need ~8 GB and minutes; count the start tags first and refuse
     * early (the plain-text formats have no such cost). '<' + a name character is a start tag; the
     * count may include a few from comments or CDATA, which only makes it conservative. */
    long long tags = 0;
    for (const char *q = buf; (q = memchr(q, '<', len - (size_t)(q - buf))) != NULL; q++)
        tags += isalpha((unsigned char)q[1]) || q[1] == '_' || q[1] == ':';
    if (tags > GRAPHML_MAX_ELEMENTS)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: %lld XML elements exceed the GraphML limit of %d (the XML tree would "
                        "need about %lld MiB); convert the graph to an edge list ('u v' per line) or RandWire .txt",
                        path, tags, GRAPHML_MAX_ELEMENTS, tags * 800 / (1 << 20));
    return DCN_OK;
}

/* The document tree of buf, or the parser's first error. The parser context is freed here: the
 * document keeps its own reference to the context's string dictionary. */
static enum dcn_status graphml_parse(struct dcn_ctx *ctx, const char *path, const char *buf, size_t len,
                                     xmlDocPtr *doc)
{
    *doc = NULL;
    xmlParserCtxtPtr pc = xmlNewParserCtxt();
    if (!pc)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: cannot create an XML parser", path);
    struct xml_first_error fe = {0};
    pc->_private = &fe;
    if (pc->sax)
        pc->sax->serror = xml_keep_first;
    /* errors raised without the parser context (encoding conversion, I/O) go to the global handlers,
     * which print to stderr; route them to the same first-error record for the parse */
    xmlSetStructuredErrorFunc(pc, xml_keep_first);
    /* no XML_PARSE_NOENT (entity substitution) and no DTD loading; NONET forbids network access */
    *doc = xmlCtxtReadMemory(pc, buf, (int)len, path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlSetStructuredErrorFunc(NULL, NULL);
    enum dcn_status st = DCN_OK;
    if (!*doc) {
        if (!fe.set) {
            const xmlError *e = xmlCtxtGetLastError(pc);
            fe.line = e ? e->line : 0;
            snprintf(fe.msg, sizeof fe.msg, "%s", e && e->message ? e->message : "unknown error");
            chomp(fe.msg);
        }
        st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: malformed XML: %s", path, fe.line, fe.msg);
    }
    xmlFreeParserCtxt(pc);
    return st;
}

/* What the loader has read so far. */
struct graphml_load {
    const char *path;
    char coord_key[3][128]; /* ids of the <key>s with attr.name x/y/z on nodes; "" when absent */
    int directed;
    struct strmap ids;      /* node id -> vertex; keys are the labels in nt */
    struct nodetab nt;
    struct edgebuf eb;
};

/* The first <graph> of the <graphml> root, its edgedefault, and the coordinate keys. */
static enum dcn_status graphml_find_graph(struct dcn_ctx *ctx, struct graphml_load *L, xmlDocPtr doc,
                                          xmlNode **graph)
{
    *graph = NULL;
    if (doc->intSubset && doc->intSubset->entities)
        return dcn_fail(ctx, DCN_EPARSE, "%s: entity declarations are not accepted in GraphML", L->path);
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || !name_is(root, "graphml"))
        return dcn_fail(ctx, DCN_EPARSE, "%s:%ld: root element is not <graphml>", L->path,
                        root ? xmlGetLineNo(root) : 0L);
    for (xmlNode *c = root->children; c; c = c->next) {
        if (name_is(c, "key")) {
            xmlChar *id = xmlGetProp(c, BAD_CAST "id"), *nm = xmlGetProp(c, BAD_CAST "attr.name"),
                    *fr = xmlGetProp(c, BAD_CAST "for");
            if (id && nm && (!fr || !strcmp((char *)fr, "node") || !strcmp((char *)fr, "all")) && strlen((char *)nm) == 1) {
                int ci = tolower(nm[0]) - 'x';
                if (ci >= 0 && ci < 3)
                    snprintf(L->coord_key[ci], sizeof L->coord_key[ci], "%s", (char *)id);
            }
            xmlFree(id);
            xmlFree(nm);
            xmlFree(fr);
        } else if (!*graph && name_is(c, "graph")) {
            *graph = c;
        }
    }
    if (!*graph)
        return dcn_fail(ctx, DCN_EPARSE, "%s:%ld: <graphml> has no <graph> element", L->path, xmlGetLineNo(root));
    xmlChar *ed = xmlGetProp(*graph, BAD_CAST "edgedefault");
    L->directed = ed && !strcmp((char *)ed, "directed");
    xmlFree(ed);
    return DCN_OK;
}

/* The coordinates among a node's <data> children into row (x, y, z). */
static enum dcn_status graphml_node_coords(struct dcn_ctx *ctx, struct graphml_load *L, xmlNode *node, double *row)
{
    for (xmlNode *d = node->children; d; d = d->next) {
        if (!name_is(d, "data"))
            continue;
        xmlChar *key = xmlGetProp(d, BAD_CAST "key");
        for (int k = 0; key && k < 3; k++)
            if (L->coord_key[k][0] && !strcmp((char *)key, L->coord_key[k])) {
                xmlChar *txt = xmlNodeGetContent(d);
                char *end;
                double v = txt ? strtod((char *)txt, &end) : NAN;
                if (!txt || end == (char *)txt) {
                    xmlFree(txt);
                    xmlFree(key);
                    return dcn_fail(ctx, DCN_EPARSE, "%s:%ld: coordinate is not a number", L->path, xmlGetLineNo(d));
                }
                xmlFree(txt);
                row[k] = v;
                L->nt.has_coords |= k == 0;
            }
        xmlFree(key);
    }
    return DCN_OK;
}

static enum dcn_status graphml_add_node(struct dcn_ctx *ctx, struct graphml_load *L, xmlNode *node)
{
    xmlChar *id = xmlGetProp(node, BAD_CAST "id");
    if (!id)
        return dcn_fail(ctx, DCN_EPARSE, "%s:%ld: <node> without an id", L->path, xmlGetLineNo(node));
    if (nodetab_reserve(&L->nt)) {
        xmlFree(id);
        return dcn_fail(ctx, DCN_ENOMEM, "%s:%ld: out of memory or too many nodes", L->path, xmlGetLineNo(node));
    }
    int i = L->nt.n;
    char *label = L->nt.labels[i] = strdup((char *)id);
    xmlFree(id);
    if (!label)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", L->path);
    int r = strmap_put(&L->ids, label, i);
    if (r) {
        enum dcn_status st = r < 0 ? dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", L->path)
                                   : dcn_fail(ctx, DCN_EPARSE, "%s:%ld: duplicate node id '%s'", L->path,
                                              xmlGetLineNo(node), label);
        free(label);
        return st;
    }
    double *row = &L->nt.xyz[(size_t)i * 3];
    for (int k = 0; k < 3; k++)
        row[k] = k ? 0.0 : NAN;
    /* the node is counted even when its coordinates fail, so that its label is freed with the rest */
    enum dcn_status st = graphml_node_coords(ctx, L, node, row);
    L->nt.n++;
    return st;
}

static enum dcn_status graphml_read_nodes(struct dcn_ctx *ctx, struct graphml_load *L, xmlNode *graph)
{
    if (strmap_init(&L->ids, 1024))
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", L->path);
    for (xmlNode *c = graph->children; c; c = c->next) {
        if (!name_is(c, "node"))
            continue;
        enum dcn_status st = graphml_add_node(ctx, L, c);
        if (st)
            return st;
    }
    if (L->nt.n == 0)
        return dcn_fail(ctx, DCN_EPARSE, "%s:%ld: GraphML graph has no nodes", L->path, xmlGetLineNo(graph));
    return DCN_OK;
}

/* The <edge>s, by node id; one with directed="true" makes the whole graph directed input. */
static enum dcn_status graphml_read_edges(struct dcn_ctx *ctx, struct graphml_load *L, xmlNode *graph)
{
    enum dcn_status st = DCN_OK;
    for (xmlNode *c = graph->children; c && !st; c = c->next) {
        if (!name_is(c, "edge"))
            continue;
        xmlChar *s = xmlGetProp(c, BAD_CAST "source"), *t = xmlGetProp(c, BAD_CAST "target"),
                *dir = xmlGetProp(c, BAD_CAST "directed");
        int u = s ? strmap_get(&L->ids, (char *)s) : -1, v = t ? strmap_get(&L->ids, (char *)t) : -1;
        if (u < 0 || v < 0) {
            if (!s || !t)
                st = dcn_fail(ctx, DCN_EPARSE, "%s:%ld: <edge> without source and target", L->path, xmlGetLineNo(c));
            else
                st = dcn_fail(ctx, DCN_EPARSE, "%s:%ld: edge names unknown node '%s'", L->path, xmlGetLineNo(c),
                              (char *)(u < 0 ? s : t));
        } else if (edgebuf_push(&L->eb, u, v)) {
            st = dcn_fail(ctx, DCN_ENOMEM, "%s:%ld: out of memory or too many edges", L->path, xmlGetLineNo(c));
        }
        if (dir && !strcmp((char *)dir, "true"))
            L->directed = 1;
        xmlFree(s);
        xmlFree(t);
        xmlFree(dir);
    }
    return st;
}

enum dcn_status graph_load_graphml(struct dcn_ctx *ctx, const char *path, struct dcn_graph **out)
{
    *out = NULL;
    char *buf;
    size_t len;
    enum dcn_status st = graph_read_file(ctx, path, &buf, &len);
    if (st)
        return st;
    xmlDocPtr doc = NULL;
    xmlNode *graph = NULL;
    struct graphml_load L = {.path = path};
    st = graphml_check_input(ctx, path, buf, len);
    if (!st)
        st = graphml_parse(ctx, path, buf, len, &doc);
    if (!st)
        st = graphml_find_graph(ctx, &L, doc, &graph);
    if (!st)
        st = graphml_read_nodes(ctx, &L, graph);
    if (!st)
        st = graphml_read_edges(ctx, &L, graph);
    if (!st)
        st = graph_from_nodetab(ctx, &L.nt, &L.eb, L.directed, path, out);
    nodetab_free(&L.nt);
    strmap_free(&L.ids);
    edgebuf_free(&L.eb);
    if (doc)
        xmlFreeDoc(doc);
    free(buf);
    return st;
}
