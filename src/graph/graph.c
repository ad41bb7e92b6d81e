/* The graph object: freeing it, number labels, and the node table (labels and coordinates) the
 * GML and GraphML loaders fill before the graph exists. Uses nothing else of the graph module. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

void graph_free(struct dcn_graph *g)
{
    if (!g)
        return;
    if (g->labels)
        for (int i = 0; i < g->n; i++)
            free(g->labels[i]);
    free(g->labels);
    free(g->coords);
    free(g->off);
    free(g->adj);
    free(g);
}

enum dcn_status graph_number_labels(struct dcn_ctx *ctx, struct dcn_graph **g, const char *source)
{
    struct dcn_graph *h = *g;
    if (!(h->labels = calloc((size_t)h->n, sizeof *h->labels)))
        goto nomem;
    for (int i = 0; i < h->n; i++) {
        char b[16];
        snprintf(b, sizeof b, "%d", i);
        if (!(h->labels[i] = strdup(b)))
            goto nomem;
    }
    return DCN_OK;
nomem:
    graph_free(h);
    *g = NULL;
    return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", source);
}

int nodetab_reserve(struct nodetab *t)
{
    if (t->n < t->cap)
        return 0;
    int nc = t->cap ? t->cap * 2 : 256;
    void *a = realloc(t->labels, (size_t)nc * sizeof *t->labels);
    if (a)
        t->labels = a;
    void *b = a ? realloc(t->xyz, (size_t)nc * 3 * sizeof *t->xyz) : NULL;
    if (b)
        t->xyz = b;
    if (!a || !b || t->n >= GRAPH_MAX_NODES)
        return -1;
    t->cap = nc;
    return 0;
}

void nodetab_free(struct nodetab *t)
{
    if (t->labels)
        for (int i = 0; i < t->n; i++)
            free(t->labels[i]);
    free(t->labels);
    free(t->xyz);
    memset(t, 0, sizeof *t);
}
