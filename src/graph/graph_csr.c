/* The builder every loader, generator and subgraph goes through: edge records -> undirected simple
 * graph in CSR form, counting the self-loops, duplicates and reciprocal pairs it drops. Uses
 * graph.c (the graph object, the node table) and graph_containers.c (struct edgebuf). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

/* Two stable counting sorts (by larger endpoint, then by smaller) put equal pairs next to each
 * other in O(n + m) without comparisons, which keeps 1M-edge inputs fast. */
enum dcn_status graph_from_edges(struct dcn_ctx *ctx, int n, int64_t m, const int *eu, const int *ev,
                                 int directed, const char *source, struct dcn_graph **out)
{
    *out = NULL;
    if (n <= 0)
        return dcn_fail(ctx, DCN_EPARSE, "%s: graph has no nodes", source);
    if (n > GRAPH_MAX_NODES || m > GRAPH_MAX_EDGES)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: %d nodes / %lld edges exceed the limits (%d / %lld)", source, n,
                        (long long)m, GRAPH_MAX_NODES, (long long)GRAPH_MAX_EDGES);
    struct dcn_graph *g = calloc(1, sizeof *g);
    int64_t *cnt = calloc((size_t)n + 1, sizeof *cnt);
    uint64_t *a = malloc((size_t)(m ? m : 1) * sizeof *a), *b = malloc((size_t)(m ? m : 1) * sizeof *b);
    if (!g || !cnt || !a || !b)
        goto nomem;
    g->n = n;
    g->directed_input = directed;
    g->input_edges = m;
    snprintf(g->source, sizeof g->source, "%s", source);

    /* record = (lo << 33) | (hi << 1) | (reversed) packed in 64 bits; n < 2^31 */
    int64_t k = 0;
    for (int64_t i = 0; i < m; i++) {
        int u = eu[i], v = ev[i];
        if (u < 0 || v < 0 || u >= n || v >= n) {
            free(cnt), free(a), free(b), graph_free(g);
            return dcn_fail(ctx, DCN_EINVAL, "%s: edge %lld (%d, %d) names a vertex outside 0..%d", source,
                            (long long)i, u, v, n - 1);
        }
        if (u == v) {
            g->dropped_self_loops++;
            continue;
        }
        uint64_t lo = (uint64_t)(u < v ? u : v), hi = (uint64_t)(u < v ? v : u);
        a[k++] = (lo << 33) | (hi << 1) | (uint64_t)(u > v);
    }
    /* sort by hi */
    for (int64_t i = 0; i < k; i++)
        cnt[((a[i] >> 1) & 0xffffffffULL) + 1]++;
    for (int i = 0; i < n; i++)
        cnt[i + 1] += cnt[i];
    for (int64_t i = 0; i < k; i++)
        b[cnt[(a[i] >> 1) & 0xffffffffULL]++] = a[i];
    /* stable sort by lo */
    memset(cnt, 0, ((size_t)n + 1) * sizeof *cnt);
    for (int64_t i = 0; i < k; i++)
        cnt[(b[i] >> 33) + 1]++;
    for (int i = 0; i < n; i++)
        cnt[i + 1] += cnt[i];
    for (int64_t i = 0; i < k; i++)
        a[cnt[b[i] >> 33]++] = b[i];

    /* one edge per run of equal (lo, hi); a[] is reused to hold the unique pairs */
    int64_t e = 0;
    for (int64_t i = 0; i < k;) {
        uint64_t key = a[i] >> 1;
        int64_t c[2] = {0, 0};
        int64_t j = i;
        for (; j < k && (a[j] >> 1) == key; j++)
            c[a[j] & 1]++;
        if (directed) {
            g->dropped_duplicates += (c[0] ? c[0] - 1 : 0) + (c[1] ? c[1] - 1 : 0);
            g->merged_reciprocal += c[0] && c[1];
        } else {
            g->dropped_duplicates += j - i - 1;
        }
        a[e++] = key;
        i = j;
    }
    g->m = e;
    g->off = calloc((size_t)n + 1, sizeof *g->off);
    g->adj = malloc((size_t)(e ? 2 * e : 1) * sizeof *g->adj);
    if (!g->off || !g->adj)
        goto nomem;
    for (int64_t i = 0; i < e; i++) {
        g->off[(a[i] >> 32) + 1]++;
        g->off[(a[i] & 0xffffffffULL) + 1]++;
    }
    for (int i = 0; i < n; i++)
        g->off[i + 1] += g->off[i];
    memcpy(cnt, g->off, ((size_t)n + 1) * sizeof *cnt);
    /* pairs are sorted by (lo, hi): every vertex first receives its smaller neighbours (as hi, in
     * increasing lo), then its larger ones (as lo, in increasing hi), so each list ends up sorted */
    for (int64_t i = 0; i < e; i++) {
        int lo = (int)(a[i] >> 32), hi = (int)(a[i] & 0xffffffffULL);
        g->adj[cnt[lo]++] = hi;
        g->adj[cnt[hi]++] = lo;
    }
    free(cnt);
    free(a);
    free(b);
    *out = g;
    return DCN_OK;
nomem:
    free(cnt);
    free(a);
    free(b);
    graph_free(g);
    return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory building a graph of %d nodes and %lld edge records",
                    source, n, (long long)m);
}

enum dcn_status graph_from_nodetab(struct dcn_ctx *ctx, struct nodetab *t, const struct edgebuf *eb, int directed,
                                   const char *source, struct dcn_graph **out)
{
    enum dcn_status st = graph_from_edges(ctx, t->n, eb->m, eb->u, eb->v, directed, source, out);
    if (st)
        return st;
    (*out)->labels = t->labels;
    t->labels = NULL;
    if (t->has_coords) {
        (*out)->coords = t->xyz;
        t->xyz = NULL;
    }
    return DCN_OK;
}
