/* Null models that keep a graph's degrees: degree-preserving rewiring by double edge swaps (the
 * "rewire:" specs graph_load dispatches here). Uses graph_csr.c (the builder) and
 * graph_containers.c (the edge set); never calls graph_load.
 *
 * Written by hand rather than with igraph_rewire: igraph draws from its process-global default RNG,
 * mutable state shared by every caller in the process, while dcn keeps no global mutable state and
 * lets a seed name one graph on every machine; here the only randomness is a local struct dcn_rng. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

/* Attempts allowed per requested swap: networkx's double_edge_swap needs max_tries >= nswap and
 * defaults to 100 tries in all; 100 per swap lets a sparse graph (where most attempts succeed) always
 * finish, and bounds the work on graphs where almost none can, such as a star. */
#define REWIRE_TRIES_PER_SWAP 100

struct swapper {
    int *eu, *ev;     /* (m) the current edges */
    struct u64set set; /* the same edges, for the simple-graph test */
    int64_t m;
};

/* The edges u < v of g's CSR into sw. 0 ok, -1 out of memory. */
static int swapper_init(struct swapper *sw, const struct dcn_graph *g)
{
    memset(sw, 0, sizeof *sw);
    sw->m = g->m;
    sw->eu = malloc((size_t)g->m * sizeof *sw->eu);
    sw->ev = malloc((size_t)g->m * sizeof *sw->ev);
    /* room for twice the edges: tombstones of removed edges then rarely force a rehash */
    if (!sw->eu || !sw->ev || u64set_init(&sw->set, (size_t)g->m * 2))
        return -1;
    int64_t k = 0;
    for (int u = 0; u < g->n; u++)
        for (int64_t e = g->off[u]; e < g->off[u + 1]; e++)
            if (g->adj[e] > u) {
                sw->eu[k] = u, sw->ev[k] = g->adj[e];
                if (u64set_add(&sw->set, pair_key(u, g->adj[e])) < 0)
                    return -1;
                k++;
            }
    return 0;
}

static void swapper_free(struct swapper *sw)
{
    free(sw->eu);
    free(sw->ev);
    u64set_free(&sw->set);
}

/* One attempt of networkx's double_edge_swap: two oriented edges u-v and x-y drawn uniformly (what
 * networkx's degree-weighted source and uniform neighbour amount to) become u-x and v-y unless they
 * share the source or target or either new edge exists (which also rules out self-loops: u == y
 * or v == x would make u-x or v-y an existing edge). Returns 1 swapped, 0 rejected, -1 no memory. */
static int swap_try(struct swapper *sw, struct dcn_rng *rng)
{
    uint64_t a = dcn_rng_below(rng, 2 * (uint64_t)sw->m), b = dcn_rng_below(rng, 2 * (uint64_t)sw->m);
    int64_t i = (int64_t)(a >> 1), j = (int64_t)(b >> 1);
    int u = a & 1 ? sw->ev[i] : sw->eu[i], v = a & 1 ? sw->eu[i] : sw->ev[i];
    int x = b & 1 ? sw->ev[j] : sw->eu[j], y = b & 1 ? sw->eu[j] : sw->ev[j];
    if (u == x || v == y || u64set_has(&sw->set, pair_key(u, x)) || u64set_has(&sw->set, pair_key(v, y)))
        return 0;
    u64set_del(&sw->set, pair_key(u, v));
    u64set_del(&sw->set, pair_key(x, y));
    if (u64set_add(&sw->set, pair_key(u, x)) < 0 || u64set_add(&sw->set, pair_key(v, y)) < 0)
        return -1;
    sw->eu[i] = u, sw->ev[i] = x;
    sw->eu[j] = v, sw->ev[j] = y;
    return 1;
}

/* Replaces g's adjacency by the swapped edge list; everything else of g (labels, coordinates,
 * the reduction counts of its file) stays, since vertices and degrees are the same. */
static enum dcn_status install_edges(struct dcn_ctx *ctx, struct dcn_graph *g, const struct swapper *sw)
{
    struct dcn_graph *h;
    enum dcn_status st = graph_from_edges(ctx, g->n, sw->m, sw->eu, sw->ev, 0, g->source, &h);
    if (st)
        return st;
    free(g->off);
    free(g->adj);
    g->off = h->off, g->adj = h->adj;
    h->off = NULL, h->adj = NULL;
    graph_free(h);
    return DCN_OK;
}

enum dcn_status graph_rewire(struct dcn_ctx *ctx, struct dcn_graph *g, double swaps_per_edge, uint64_t seed)
{
    if (!(swaps_per_edge >= 0.0) || !isfinite(swaps_per_edge) || swaps_per_edge * (double)g->m > 1e15)
        return dcn_fail(ctx, DCN_EINVAL, "%s: swaps_per_edge must be a non-negative number (got %g)", g->source,
                        swaps_per_edge);
    if (g->m < 2)
        return dcn_fail(ctx, DCN_EINVAL, "%s: the graph admits no double edge swap (it has %lld edge%s; a swap "
                        "needs two)", g->source, (long long)g->m, g->m == 1 ? "" : "s");
    int64_t want = (int64_t)llround(swaps_per_edge * (double)g->m), max_tries = REWIRE_TRIES_PER_SWAP * want;
    struct swapper sw;
    if (swapper_init(&sw, g)) {
        swapper_free(&sw);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", g->source);
    }
    struct dcn_rng rng;
    dcn_rng_seed(&rng, seed);
    /* every draw counts as a try (networkx does not count draws whose edges share the source or the
     * target, so on a star it would never stop); the accepted swaps are the same Markov chain */
    int64_t swaps = 0, tries = 0;
    int r = 0;
    while (swaps < want && tries < max_tries && r >= 0) {
        tries++;
        if ((r = swap_try(&sw, &rng)) > 0)
            swaps++;
    }
    enum dcn_status st = DCN_OK;
    if (r < 0)
        st = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", g->source);
    else if (want > 0 && swaps == 0)
        st = dcn_fail(ctx, DCN_EINVAL, "%s: the graph admits no double edge swap (all %lld tries failed: every "
                      "pair of edges shares a vertex or would duplicate an edge, as in a star or a complete graph)",
                      g->source, (long long)tries);
    else if (swaps > 0)
        st = install_edges(ctx, g, &sw);
    if (!st) {
        g->rewire_swaps = swaps;
        g->rewire_tries = tries;
    }
    swapper_free(&sw);
    return st;
}
