/* DAG exports: GraphML for networkx and other tools, RandWire text for the authors' code, and DOT
 * for looking at the wiring with graphviz (dot for small DAGs, sfdp for connectomes).
 * Uses graph_stats.c (CNM communities) and dag.c (order names). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

enum dcn_status graph_export_format_parse(struct dcn_ctx *ctx, const char *name, enum graph_export_format *out)
{
    if (!name || !*name)
        *out = GRAPH_EXPORT_AUTO;
    else if (!strcmp(name, "graphml"))
        *out = GRAPH_EXPORT_GRAPHML;
    else if (!strcmp(name, "txt"))
        *out = GRAPH_EXPORT_TXT;
    else if (!strcmp(name, "dot"))
        *out = GRAPH_EXPORT_DOT;
    else
        return dcn_fail(ctx, DCN_EINVAL, "unknown export format '%s' (expected graphml, txt or dot)", name);
    return DCN_OK;
}

static FILE *open_out(struct dcn_ctx *ctx, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        dcn_fail(ctx, DCN_EIO, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

static enum dcn_status close_out(struct dcn_ctx *ctx, FILE *f, const char *path)
{
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    return bad ? dcn_fail(ctx, DCN_EIO, "%s: write error", path) : DCN_OK;
}

/* Length of the valid UTF-8 sequence (and XML character) at s, 0 when s starts an invalid one. */
static size_t utf8_char_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) /* also stops at the terminating NUL */
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xF0 && s[1] < 0x90) || /* overlong */
        (c == 0xED && s[1] >= 0xA0) ||                              /* surrogates */
        (c == 0xF4 && s[1] >= 0x90) ||                              /* beyond U+10FFFF */
        (c == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))) /* U+FFFE, U+FFFF: not XML */
        return 0;
    return n;
}

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s >= 0x80) {
            /* labels from GML or edge lists may hold any bytes; XML must be UTF-8, or dcn could not
             * read back its own export: invalid sequences become U+FFFD */
            size_t n = utf8_char_len((const unsigned char *)s);
            if (n)
                fwrite(s, 1, n, f);
            else
                fputs("\xEF\xBF\xBD", f);
            s += n ? n - 1 : 0;
            continue;
        }
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            /* control characters are not allowed in XML 1.0 */
            if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n')
                fputc(*s, f);
        }
    }
}

static void dot_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
}

static const char *label_of(const struct dcn_graph *g, int v, char *buf, size_t len)
{
    if (g->labels && g->labels[v])
        return g->labels[v];
    snprintf(buf, len, "%d", v);
    return buf;
}

/* community of every DAG node (indexed by graph vertex) */
static enum dcn_status comm_of(struct dcn_ctx *ctx, const struct dcn_graph *g, int **mem, int *ncomm)
{
    *mem = malloc((size_t)g->n * sizeof **mem);
    if (!*mem)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", g->source);
    double q;
    if (g->m > GRAPH_CNM_EDGE_LIMIT) {
        for (int v = 0; v < g->n; v++)
            (*mem)[v] = -1;
        *ncomm = 0;
        return DCN_OK;
    }
    enum dcn_status st = graph_communities_greedy(ctx, g, *mem, ncomm, &q);
    if (st) {
        free(*mem);
        *mem = NULL;
    }
    return st;
}

static void io_flags(const struct dcn_dag *d, int i, int *in, int *outp)
{
    *in = d->pred_off[i + 1] == d->pred_off[i];
    *outp = d->succ_off[i + 1] == d->succ_off[i];
}

enum dcn_status graph_export_graphml(struct dcn_ctx *ctx, const struct dcn_graph *g, const struct dcn_dag *d,
                                     const char *path)
{
    if (g->n != d->n)
        return dcn_fail(ctx, DCN_EINVAL, "%s: DAG and graph sizes differ", path);
    int *mem, nc;
    enum dcn_status st = comm_of(ctx, g, &mem, &nc);
    if (st)
        return st;
    FILE *f = open_out(ctx, path);
    if (!f) {
        free(mem);
        return ctx->status;
    }
    fputs("<?xml version='1.0' encoding='utf-8'?>\n"
          "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
          "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
          "xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns "
          "http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n", f);
    fputs("  <key id=\"d0\" for=\"node\" attr.name=\"label\" attr.type=\"string\"/>\n"
          "  <key id=\"d1\" for=\"node\" attr.name=\"vertex\" attr.type=\"int\"/>\n"
          "  <key id=\"d2\" for=\"node\" attr.name=\"position\" attr.type=\"int\"/>\n"
          "  <key id=\"d3\" for=\"node\" attr.name=\"is_input\" attr.type=\"boolean\"/>\n"
          "  <key id=\"d4\" for=\"node\" attr.name=\"is_output\" attr.type=\"boolean\"/>\n"
          "  <key id=\"d5\" for=\"node\" attr.name=\"community\" attr.type=\"int\"/>\n", f);
    if (g->coords)
        fputs("  <key id=\"d6\" for=\"node\" attr.name=\"x\" attr.type=\"double\"/>\n"
              "  <key id=\"d7\" for=\"node\" attr.name=\"y\" attr.type=\"double\"/>\n"
              "  <key id=\"d8\" for=\"node\" attr.name=\"z\" attr.type=\"double\"/>\n", f);
    fputs("  <key id=\"g0\" for=\"graph\" attr.name=\"source\" attr.type=\"string\"/>\n"
          "  <key id=\"g1\" for=\"graph\" attr.name=\"order\" attr.type=\"string\"/>\n"
          "  <key id=\"g2\" for=\"graph\" attr.name=\"order_seed\" attr.type=\"long\"/>\n", f);
    fputs("  <graph edgedefault=\"directed\">\n    <data key=\"g0\">", f);
    xml_escape(f, g->source);
    fprintf(f, "</data>\n    <data key=\"g1\">%s</data>\n    <data key=\"g2\">%llu</data>\n",
            dag_order_name(d->order), (unsigned long long)d->order_seed);
    for (int i = 0; i < d->n; i++) {
        int v = d->vertex[i], in, op;
        char b[16];
        io_flags(d, i, &in, &op);
        fprintf(f, "    <node id=\"n%d\">\n      <data key=\"d0\">", i);
        xml_escape(f, label_of(g, v, b, sizeof b));
        fprintf(f, "</data>\n      <data key=\"d1\">%d</data>\n      <data key=\"d2\">%d</data>\n"
                   "      <data key=\"d3\">%s</data>\n      <data key=\"d4\">%s</data>\n"
                   "      <data key=\"d5\">%d</data>\n",
                v, i, in ? "true" : "false", op ? "true" : "false", mem[v]);
        if (g->coords)
            for (int k = 0; k < 3; k++)
                if (!isnan(g->coords[(size_t)v * 3 + (size_t)k]))
                    fprintf(f, "      <data key=\"d%d\">%.17g</data>\n", 6 + k, g->coords[(size_t)v * 3 + (size_t)k]);
        fputs("    </node>\n", f);
    }
    for (int i = 0; i < d->n; i++)
        for (int64_t e = d->succ_off[i]; e < d->succ_off[i + 1]; e++)
            fprintf(f, "    <edge source=\"n%d\" target=\"n%d\"/>\n", i, d->succ[e]);
    fputs("  </graph>\n</graphml>\n", f);
    free(mem);
    return close_out(ctx, f, path);
}

enum dcn_status graph_export_txt(struct dcn_ctx *ctx, const struct dcn_dag *d, const char *path)
{
    FILE *f = open_out(ctx, path);
    if (!f)
        return ctx->status;
    fprintf(f, "%d\n%lld\n", d->n, (long long)d->m);
    for (int i = 0; i < d->n; i++)
        for (int64_t e = d->succ_off[i]; e < d->succ_off[i + 1]; e++)
            fprintf(f, "%d %d\n", i, d->succ[e]);
    return close_out(ctx, f, path);
}

enum dcn_status graph_export_dot(struct dcn_ctx *ctx, const struct dcn_graph *g, const struct dcn_dag *d,
                                 const char *path)
{
    /* ColorBrewer Set3 plus Pastel1: light fills keep the black labels readable */
    static const char *pal[] = {"#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
                                "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f", "#fbb4ae", "#b3cde3",
                                "#decbe4", "#fed9a6", "#e5d8bd", "#f2f2f2"};
    const int npal = (int)(sizeof pal / sizeof pal[0]);
    if (g->n != d->n)
        return dcn_fail(ctx, DCN_EINVAL, "%s: DAG and graph sizes differ", path);
    int *mem, nc;
    enum dcn_status st = comm_of(ctx, g, &mem, &nc);
    if (st)
        return st;
    FILE *f = open_out(ctx, path);
    if (!f) {
        free(mem);
        return ctx->status;
    }
    fputs("// dcn DAG: fill = CNM community (white above 100k edges); box = input node (in-degree 0), doublecircle = output node\n"
          "// (out-degree 0), double box = both (isolated). Render: dot -Tpng, or sfdp -Tpng for large graphs.\n"
          "digraph dcn {\n  graph [label=\"", f);
    dot_escape(f, g->source);
    fprintf(f, " (order %s, seed %llu): %d nodes, %lld edges, %d inputs, %d outputs\", overlap=false, "
               "outputorder=edgesfirst];\n  node [style=filled, shape=circle, fontsize=10];\n  edge [arrowsize=0.5];\n",
            dag_order_name(d->order), (unsigned long long)d->order_seed, d->n, (long long)d->m, d->n_inputs,
            d->n_outputs);
    for (int i = 0; i < d->n; i++) {
        int v = d->vertex[i], in, op;
        char b[16];
        io_flags(d, i, &in, &op);
        const char *shape = in && op ? "box, peripheries=2" : in ? "box" : op ? "doublecircle" : "circle";
        fprintf(f, "  n%d [label=\"", i);
        dot_escape(f, label_of(g, v, b, sizeof b));
        fprintf(f, "\", shape=%s, fillcolor=\"%s\"];\n", shape, mem[v] < 0 ? "#ffffff" : pal[mem[v] % npal]);
    }
    for (int i = 0; i < d->n; i++)
        for (int64_t e = d->succ_off[i]; e < d->succ_off[i + 1]; e++)
            fprintf(f, "  n%d -> n%d;\n", i, d->succ[e]);
    fputs("}\n", f);
    free(mem);
    return close_out(ctx, f, path);
}

enum dcn_status graph_export_dag(struct dcn_ctx *ctx, const struct dcn_graph *g, const struct dcn_dag *d,
                                 const char *path, enum graph_export_format fmt)
{
    if (fmt == GRAPH_EXPORT_AUTO) {
        if (graph_has_ext(path, ".graphml") || graph_has_ext(path, ".xml"))
            fmt = GRAPH_EXPORT_GRAPHML;
        else if (graph_has_ext(path, ".txt"))
            fmt = GRAPH_EXPORT_TXT;
        else if (graph_has_ext(path, ".dot") || graph_has_ext(path, ".gv"))
            fmt = GRAPH_EXPORT_DOT;
        else
            return dcn_fail(ctx, DCN_EINVAL, "%s: cannot tell the format from the extension (use --format "
                            "graphml, txt or dot)", path);
    }
    switch (fmt) {
    case GRAPH_EXPORT_GRAPHML: return graph_export_graphml(ctx, g, d, path);
    case GRAPH_EXPORT_TXT: return graph_export_txt(ctx, d, path);
    case GRAPH_EXPORT_DOT: return graph_export_dot(ctx, g, d, path);
    default: break;
    }
    return dcn_fail(ctx, DCN_EINVAL, "%s: unknown export format", path);
}
