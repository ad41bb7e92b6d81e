/* Graph -> DAG (paper section 3.1): place the vertices in an order, point every edge from the
 * earlier position to the later one. All construction is O(n + m) counting passes over the CSR
 * graph, so 1M-edge graphs take a fraction of a second.
 * Uses only the finished graph; nothing else of the graph module. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

enum dcn_status dag_order_parse(struct dcn_ctx *ctx, const char *name, enum dag_order *out)
{
    static const char *names[] = {"random", "identity", "degree", "bfs", "coord"};
    for (int i = 0; i < 5; i++)
        if (name && !strcmp(name, names[i])) {
            *out = (enum dag_order)i;
            return DCN_OK;
        }
    return dcn_fail(ctx, DCN_EINVAL, "unknown DAG order '%s' (expected random, identity, degree, bfs or coord)",
                    name ? name : "");
}

const char *dag_order_name(enum dag_order o)
{
    switch (o) {
    case DAG_ORDER_RANDOM: return "random";
    case DAG_ORDER_IDENTITY: return "identity";
    case DAG_ORDER_DEGREE: return "degree";
    case DAG_ORDER_BFS: return "bfs";
    case DAG_ORDER_COORD: return "coord";
    }
    return "unknown";
}

void dag_free(struct dcn_dag *d)
{
    if (!d)
        return;
    free(d->pred_off);
    free(d->pred);
    free(d->succ_off);
    free(d->succ);
    free(d->vertex);
    free(d->inputs);
    free(d->outputs);
    free(d);
}

static int degree(const struct dcn_graph *g, int v) { return (int)(g->off[v + 1] - g->off[v]); }

/* Vertices by decreasing degree, ties by id: a counting sort over degrees keeps it O(n + maxdeg). */
static int order_by_degree(const struct dcn_graph *g, int *vertex)
{
    int maxd = 0;
    for (int v = 0; v < g->n; v++)
        if (degree(g, v) > maxd)
            maxd = degree(g, v);
    int64_t *cnt = calloc((size_t)maxd + 2, sizeof *cnt);
    if (!cnt)
        return -1;
    for (int v = 0; v < g->n; v++)
        cnt[maxd - degree(g, v) + 1]++;
    for (int d = 0; d <= maxd; d++)
        cnt[d + 1] += cnt[d];
    for (int v = 0; v < g->n; v++)
        vertex[cnt[maxd - degree(g, v)]++] = v;
    free(cnt);
    return 0;
}

static int order_bfs(const struct dcn_graph *g, int *vertex)
{
    int n = g->n;
    int *bydeg = malloc((size_t)n * sizeof *bydeg);
    char *seen = calloc((size_t)n, 1);
    if (!bydeg || !seen || order_by_degree(g, bydeg)) {
        free(bydeg), free(seen);
        return -1;
    }
    /* vertex[] doubles as the BFS queue: it is filled exactly in visiting order */
    int head = 0, tail = 0;
    for (int s = 0; s < n; s++) {
        int r = bydeg[s];
        if (seen[r])
            continue;
        seen[r] = 1;
        vertex[tail++] = r;
        while (head < tail) {
            int u = vertex[head++];
            for (int64_t e = g->off[u]; e < g->off[u + 1]; e++) {
                int w = g->adj[e];
                if (!seen[w]) {
                    seen[w] = 1;
                    vertex[tail++] = w;
                }
            }
        }
    }
    free(bydeg);
    free(seen);
    return 0;
}

struct coord_key {
    double x;
    int v;
};

static int cmp_coord(const void *a, const void *b)
{
    const struct coord_key *p = a, *q = b;
    int pn = isnan(p->x), qn = isnan(q->x); /* vertices without a coordinate go last */
    if (pn != qn)
        return pn - qn;
    if (!pn && p->x != q->x)
        return p->x < q->x ? -1 : 1;
    return (p->v > q->v) - (p->v < q->v);
}

/* Places the vertices in the order's sequence: d->vertex[i] is the vertex at position i. Returns -1
 * when out of memory. */
static int place_vertices(const struct dcn_graph *g, enum dag_order order, uint64_t order_seed, struct dcn_dag *d)
{
    const int n = g->n;
    switch (order) {
    case DAG_ORDER_RANDOM: {
        struct dcn_rng rng;
        dcn_rng_seed(&rng, order_seed);
        for (int i = 0; i < n; i++)
            d->vertex[i] = i;
        dcn_rng_shuffle_int(&rng, d->vertex, (size_t)n);
        return 0;
    }
    case DAG_ORDER_IDENTITY:
        for (int i = 0; i < n; i++)
            d->vertex[i] = i;
        return 0;
    case DAG_ORDER_DEGREE:
        return order_by_degree(g, d->vertex) ? -1 : 0;
    case DAG_ORDER_BFS:
        return order_bfs(g, d->vertex) ? -1 : 0;
    case DAG_ORDER_COORD: {
        struct coord_key *k = malloc((size_t)n * sizeof *k);
        if (!k)
            return -1;
        for (int v = 0; v < n; v++)
            k[v] = (struct coord_key){g->coords[(size_t)v * 3], v};
        qsort(k, (size_t)n, sizeof *k, cmp_coord);
        for (int i = 0; i < n; i++)
            d->vertex[i] = k[i].v;
        free(k);
        return 0;
    }
    }
    return -1;
}

/* Points every edge from the earlier position to the later one: in/out degrees first, then the lists
 * filled by scanning positions in increasing order, so that every pred and succ list comes out
 * ascending without sorting. pos[v] is vertex v's position. Returns -1 when out of memory. */
static int wire_edges(const struct dcn_graph *g, const int *pos, struct dcn_dag *d)
{
    const int n = g->n;
    for (int i = 0; i < n; i++) {
        int v = d->vertex[i];
        for (int64_t e = g->off[v]; e < g->off[v + 1]; e++) {
            int j = pos[g->adj[e]];
            if (j < i)
                d->pred_off[i + 1]++;
            else
                d->succ_off[i + 1]++;
        }
    }
    for (int i = 0; i < n; i++) {
        d->pred_off[i + 1] += d->pred_off[i];
        d->succ_off[i + 1] += d->succ_off[i];
    }
    int64_t *pfill = malloc((size_t)n * sizeof *pfill), *sfill = malloc((size_t)n * sizeof *sfill);
    if (!pfill || !sfill) {
        free(pfill), free(sfill);
        return -1;
    }
    memcpy(pfill, d->pred_off, (size_t)n * sizeof *pfill);
    memcpy(sfill, d->succ_off, (size_t)n * sizeof *sfill);
    for (int i = 0; i < n; i++) {
        int v = d->vertex[i];
        for (int64_t e = g->off[v]; e < g->off[v + 1]; e++) {
            int j = pos[g->adj[e]];
            if (j > i)
                d->pred[pfill[j]++] = i; /* i is a predecessor of j; i increases, so ascending */
            else
                d->succ[sfill[j]++] = i; /* i is a successor of j */
        }
    }
    free(pfill);
    free(sfill);
    return 0;
}

/* The inputs (no predecessor), the outputs (no successor) and the longest path, by dynamic
 * programming along the topological order 0..n-1 in scratch (n ints). Returns -1 when out of memory. */
static int find_ends(struct dcn_dag *d, int *scratch)
{
    const int n = d->n;
    int ni = 0, no = 0;
    for (int i = 0; i < n; i++) {
        ni += d->pred_off[i + 1] == d->pred_off[i];
        no += d->succ_off[i + 1] == d->succ_off[i];
    }
    d->inputs = malloc((size_t)(ni ? ni : 1) * sizeof *d->inputs);
    d->outputs = malloc((size_t)(no ? no : 1) * sizeof *d->outputs);
    if (!d->inputs || !d->outputs)
        return -1;
    for (int i = 0; i < n; i++) {
        if (d->pred_off[i + 1] == d->pred_off[i])
            d->inputs[d->n_inputs++] = i;
        if (d->succ_off[i + 1] == d->succ_off[i])
            d->outputs[d->n_outputs++] = i;
    }
    int lp = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int64_t e = d->pred_off[i]; e < d->pred_off[i + 1]; e++)
            if (scratch[d->pred[e]] + 1 > best)
                best = scratch[d->pred[e]] + 1;
        scratch[i] = best;
        if (best > lp)
            lp = best;
    }
    d->longest_path = lp;
    return 0;
}

enum dcn_status dag_build(struct dcn_ctx *ctx, const struct dcn_graph *g, enum dag_order order,
                          uint64_t order_seed, struct dcn_dag **out)
{
    *out = NULL;
    if (!g || g->n <= 0)
        return dcn_fail(ctx, DCN_EINVAL, "%s: cannot build a DAG from a graph without nodes", g ? g->source : "(null)");
    if (order == DAG_ORDER_COORD && !g->coords)
        return dcn_fail(ctx, DCN_EINVAL, "%s: graph has no coordinates, so the 'coord' order is not available",
                        g->source);
    if ((unsigned)order > DAG_ORDER_COORD)
        return dcn_fail(ctx, DCN_EINVAL, "%s: unknown DAG order %d", g->source, (int)order);
    int n = g->n;
    int64_t m = g->m;
    struct dcn_dag *d = calloc(1, sizeof *d);
    int *pos = malloc((size_t)n * sizeof *pos);
    if (!d || !pos)
        goto nomem;
    d->n = n;
    d->m = m;
    d->order = order;
    d->order_seed = order_seed;
    d->vertex = malloc((size_t)n * sizeof *d->vertex);
    d->pred_off = calloc((size_t)n + 1, sizeof *d->pred_off);
    d->succ_off = calloc((size_t)n + 1, sizeof *d->succ_off);
    d->pred = malloc((size_t)(m ? m : 1) * sizeof *d->pred);
    d->succ = malloc((size_t)(m ? m : 1) * sizeof *d->succ);
    if (!d->vertex || !d->pred_off || !d->succ_off || !d->pred || !d->succ || place_vertices(g, order, order_seed, d))
        goto nomem;
    for (int i = 0; i < n; i++)
        pos[d->vertex[i]] = i;
    if (wire_edges(g, pos, d) || find_ends(d, pos))
        goto nomem;
    free(pos);
    *out = d;
    return DCN_OK;
nomem:
    free(pos);
    dag_free(d);
    return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory building the DAG (%d nodes, %lld edges)", g->source, n,
                    (long long)m);
}
