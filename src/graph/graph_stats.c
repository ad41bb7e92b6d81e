/* Graph statistics with networkx 2.8's definitions (docs: shared notes B5), computed with igraph
 * where it has the algorithm (clustering, CNM, Louvain, LAPACK eigenvalues) and with plain BFS over
 * the CSR graph for path lengths, which allows sampling sources on large graphs.
 * Uses graph_csr.c (largest component, random references), graph.c and graph_containers.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <igraph.h>

#include "graph_internal.h"

/* igraph's default error handler aborts the process; library code must return a status instead.
 * The handlers are process-wide, so they are swapped only for the duration of one call. */
struct igraph_guard {
    igraph_error_handler_t *err;
    igraph_warning_handler_t *warn;
};

static void guard_on(struct igraph_guard *gd)
{
    gd->err = igraph_set_error_handler(igraph_error_handler_ignore);
    gd->warn = igraph_set_warning_handler(igraph_warning_handler_ignore);
}

static void guard_off(const struct igraph_guard *gd)
{
    igraph_set_error_handler(gd->err);
    igraph_set_warning_handler(gd->warn);
}

static int to_igraph(const struct dcn_graph *g, igraph_t *ig)
{
    igraph_vector_int_t ev;
    if (igraph_vector_int_init(&ev, (igraph_integer_t)(2 * g->m)))
        return -1;
    igraph_integer_t k = 0;
    for (int v = 0; v < g->n; v++)
        for (int64_t e = g->off[v]; e < g->off[v + 1]; e++)
            if (g->adj[e] > v) {
                VECTOR(ev)[k++] = v;
                VECTOR(ev)[k++] = g->adj[e];
            }
    int rc = igraph_create(ig, &ev, g->n, IGRAPH_UNDIRECTED) ? -1 : 0;
    igraph_vector_int_destroy(&ev);
    return rc;
}

/* Component labels by BFS in vertex order (component c is the c-th found, so ids follow the
 * smallest vertex, as networkx's connected_components yields them). Returns the count. */
static int components(const struct dcn_graph *g, int *comp, int *queue)
{
    for (int v = 0; v < g->n; v++)
        comp[v] = -1;
    int nc = 0;
    for (int s = 0; s < g->n; s++) {
        if (comp[s] >= 0)
            continue;
        int head = 0, tail = 0;
        comp[s] = nc;
        queue[tail++] = s;
        while (head < tail) {
            int u = queue[head++];
            for (int64_t e = g->off[u]; e < g->off[u + 1]; e++)
                if (comp[g->adj[e]] < 0) {
                    comp[g->adj[e]] = nc;
                    queue[tail++] = g->adj[e];
                }
        }
        nc++;
    }
    return nc;
}

/* The first largest component as its own graph (vertices renumbered in increasing order). */
static enum dcn_status largest_component(struct dcn_ctx *ctx, const struct dcn_graph *g, int *ncomp,
                                         struct dcn_graph **out)
{
    int n = g->n;
    int *comp = malloc((size_t)n * sizeof *comp), *aux = malloc((size_t)n * sizeof *aux);
    struct edgebuf eb = {0};
    enum dcn_status st = DCN_OK;
    if (!comp || !aux)
        goto nomem;
    int nc = components(g, comp, aux);
    *ncomp = nc;
    memset(aux, 0, (size_t)n * sizeof *aux);
    for (int v = 0; v < n; v++)
        aux[comp[v]]++;
    int best = 0;
    for (int c = 1; c < nc; c++)
        if (aux[c] > aux[best])
            best = c;
    int k = 0;
    for (int v = 0; v < n; v++)
        aux[v] = comp[v] == best ? k++ : -1;
    for (int v = 0; v < n; v++)
        if (aux[v] >= 0)
            for (int64_t e = g->off[v]; e < g->off[v + 1]; e++)
                if (g->adj[e] > v && edgebuf_push(&eb, aux[v], aux[g->adj[e]]))
                    goto nomem;
    st = graph_from_edges(ctx, k, eb.m, eb.u, eb.v, 0, g->source, out);
    free(comp), free(aux), edgebuf_free(&eb);
    return st;
nomem:
    free(comp), free(aux), edgebuf_free(&eb);
    return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory in statistics", g->source);
}

/* Mean shortest-path length and eccentricity maximum of a connected graph, by BFS from every vertex
 * or from `samples` seeded distinct sources when n > limit. */
static enum dcn_status paths(struct dcn_ctx *ctx, const struct dcn_graph *g, int limit, int samples,
                             uint64_t seed, double *apl, int *diam, int *sampled, int *nsrc)
{
    int n = g->n;
    *apl = 0.0;
    *diam = 0;
    *sampled = 0;
    *nsrc = n;
    if (n < 2)
        return DCN_OK;
    int *dist = malloc((size_t)n * sizeof *dist), *queue = malloc((size_t)n * sizeof *queue),
        *src = malloc((size_t)n * sizeof *src);
    if (!dist || !queue || !src) {
        free(dist), free(queue), free(src);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory in path lengths", g->source);
    }
    for (int i = 0; i < n; i++)
        src[i] = i;
    int ns = n;
    if (n > limit && samples < n) {
        struct dcn_rng rng;
        dcn_rng_seed2(&rng, seed, 0x9a75);
        dcn_rng_shuffle_int(&rng, src, (size_t)n);
        ns = samples;
        *sampled = 1;
    }
    *nsrc = ns;
    long double sum = 0;
    int dmax = 0;
    for (int s = 0; s < ns; s++) {
        for (int v = 0; v < n; v++)
            dist[v] = -1;
        int head = 0, tail = 0;
        dist[src[s]] = 0;
        queue[tail++] = src[s];
        while (head < tail) {
            int u = queue[head++];
            sum += dist[u];
            if (dist[u] > dmax)
                dmax = dist[u];
            for (int64_t e = g->off[u]; e < g->off[u + 1]; e++)
                if (dist[g->adj[e]] < 0) {
                    dist[g->adj[e]] = dist[u] + 1;
                    queue[tail++] = g->adj[e];
                }
        }
    }
    *apl = (double)(sum / ((long double)ns * (n - 1)));
    *diam = dmax;
    free(dist), free(queue), free(src);
    return DCN_OK;
}

/* Local clustering of every vertex (networkx convention: 0 below degree 2), their mean over all
 * vertices and over degree >= 2, and the transitivity. */
static enum dcn_status clustering(struct dcn_ctx *ctx, const struct dcn_graph *g, const igraph_t *ig,
                                  double *avg, double *avg2, int *n2, double *trans)
{
    igraph_vector_t res;
    if (igraph_vector_init(&res, 0))
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory in clustering", g->source);
    if (igraph_transitivity_local_undirected(ig, &res, igraph_vss_all(), IGRAPH_TRANSITIVITY_ZERO) ||
        igraph_transitivity_undirected(ig, trans, IGRAPH_TRANSITIVITY_ZERO)) {
        igraph_vector_destroy(&res);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: igraph clustering failed", g->source);
    }
    double s = 0, s2 = 0;
    int k = 0;
    for (int v = 0; v < g->n; v++) {
        double c = VECTOR(res)[v];
        s += c;
        if (g->off[v + 1] - g->off[v] >= 2) {
            s2 += c;
            k++;
        }
    }
    igraph_vector_destroy(&res);
    *avg = s / g->n;
    *avg2 = k ? s2 / k : NAN;
    *n2 = k;
    return DCN_OK;
}

/* membership renumbered so that communities are numbered by their first vertex */
static int renumber(int n, const igraph_vector_int_t *mem, int *out)
{
    int *map = malloc((size_t)n * sizeof *map);
    if (!map)
        return -1;
    for (int i = 0; i < n; i++)
        map[i] = -1;
    int k = 0;
    for (int v = 0; v < n; v++) {
        int c = (int)VECTOR(*mem)[v];
        if (map[c] < 0)
            map[c] = k++;
        out[v] = map[c];
    }
    free(map);
    return k;
}

static enum dcn_status communities(struct dcn_ctx *ctx, const struct dcn_graph *g, const igraph_t *ig, int louvain,
                                   uint64_t seed, int *membership, int *ncomm, double *q)
{
    *q = NAN;
    *ncomm = g->n;
    if (g->m == 0) { /* modularity is 0/0: networkx raises, we report null */
        for (int v = 0; v < g->n; v++)
            membership[v] = v;
        return DCN_OK;
    }
    igraph_vector_int_t mem;
    if (igraph_vector_int_init(&mem, 0))
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory in community detection", g->source);
    igraph_error_t rc;
    if (louvain) {
        igraph_rng_seed(igraph_rng_default(), (igraph_uint_t)seed);
        rc = igraph_community_multilevel(ig, NULL, 1.0, &mem, NULL, NULL);
    } else {
        igraph_matrix_int_t merges;
        igraph_vector_t mods;
        igraph_matrix_int_init(&merges, 0, 0);
        igraph_vector_init(&mods, 0);
        rc = igraph_community_fastgreedy(ig, NULL, &merges, &mods, &mem);
        igraph_matrix_int_destroy(&merges);
        igraph_vector_destroy(&mods);
    }
    igraph_real_t mod = NAN;
    if (!rc)
        rc = igraph_modularity(ig, &mem, NULL, 1.0, 0, &mod);
    if (rc) {
        igraph_vector_int_destroy(&mem);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: igraph %s failed: %s", g->source, louvain ? "Louvain" : "CNM",
                        igraph_strerror(rc));
    }
    int k = renumber(g->n, &mem, membership);
    igraph_vector_int_destroy(&mem);
    if (k < 0)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", g->source);
    *ncomm = k;
    *q = mod;
    return DCN_OK;
}

enum dcn_status graph_communities_greedy(struct dcn_ctx *ctx, const struct dcn_graph *g, int *membership,
                                         int *ncomm, double *modularity)
{
    return graph_communities(ctx, g, 0, 0, membership, ncomm, modularity);
}

enum dcn_status graph_communities(struct dcn_ctx *ctx, const struct dcn_graph *g, int louvain, uint64_t seed,
                                  int *membership, int *ncomm, double *modularity)
{
    struct igraph_guard gd;
    guard_on(&gd);
    igraph_t ig;
    enum dcn_status st;
    if (to_igraph(g, &ig)) {
        st = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", g->source);
    } else {
        st = communities(ctx, g, &ig, louvain, seed, membership, ncomm, modularity);
        igraph_destroy(&ig);
    }
    guard_off(&gd);
    return st;
}

/* Eigenvalue number `which` (1 = smallest) of the adjacency (laplacian = 0) or Laplacian matrix,
 * by a dense LAPACK solve: exact to rounding and fast enough up to a few thousand vertices. */
static int dense_eigen(const struct dcn_graph *g, int laplacian, int which, double *out)
{
    int n = g->n;
    igraph_matrix_t a;
    igraph_vector_t vals;
    if (igraph_matrix_init(&a, n, n))
        return -1;
    if (igraph_vector_init(&vals, 0)) {
        igraph_matrix_destroy(&a);
        return -1;
    }
    for (int v = 0; v < n; v++) {
        for (int64_t e = g->off[v]; e < g->off[v + 1]; e++)
            MATRIX(a, v, g->adj[e]) = laplacian ? -1.0 : 1.0;
        if (laplacian)
            MATRIX(a, v, v) = (double)(g->off[v + 1] - g->off[v]);
    }
    int rc = igraph_lapack_dsyevr(&a, IGRAPH_LAPACK_DSYEV_SELECT, 0, 0, 0, which, which, 1e-14, &vals, NULL, NULL)
                 ? -1 : 0;
    if (!rc)
        *out = VECTOR(vals)[0];
    igraph_vector_destroy(&vals);
    igraph_matrix_destroy(&a);
    return rc;
}

/* Uniform G(n, m): m distinct pairs drawn by rejection (m is at most the source graph's edges, far
 * below n(n-1)/2 for the sparse graphs this is for). */
static enum dcn_status gnm(struct dcn_ctx *ctx, int n, int64_t m, struct dcn_rng *rng, struct dcn_graph **out)
{
    *out = NULL;
    double maxm = (double)n * (n - 1) / 2;
    if ((double)m > maxm)
        m = (int64_t)maxm;
    struct u64set s;
    struct edgebuf eb = {0};
    if (u64set_init(&s, (size_t)m))
        return dcn_fail(ctx, DCN_ENOMEM, "out of memory in G(n,m)");
    while ((int64_t)s.len < m) {
        int u = (int)dcn_rng_below(rng, (uint64_t)n), v = (int)dcn_rng_below(rng, (uint64_t)n);
        if (u == v)
            continue;
        int r = u64set_add(&s, pair_key(u, v));
        if (r < 0 || (r == 0 && edgebuf_push(&eb, u, v))) {
            u64set_free(&s), edgebuf_free(&eb);
            return dcn_fail(ctx, DCN_ENOMEM, "out of memory in G(n,m)");
        }
    }
    enum dcn_status st = graph_from_edges(ctx, n, eb.m, eb.u, eb.v, 0, "G(n,m) reference", out);
    u64set_free(&s), edgebuf_free(&eb);
    return st;
}

/* average clustering (networkx) and APL of the largest component of one random reference */
static enum dcn_status reference_metrics(struct dcn_ctx *ctx, const struct dcn_graph *r,
                                         const struct dcn_graph_stats_opts *o, uint64_t seed, double *c, double *l)
{
    igraph_t ig;
    if (to_igraph(r, &ig))
        return dcn_fail(ctx, DCN_ENOMEM, "out of memory in the random reference");
    double a2, tr;
    int n2, nc;
    enum dcn_status st = clustering(ctx, r, &ig, c, &a2, &n2, &tr);
    igraph_destroy(&ig);
    if (st)
        return st;
    struct dcn_graph *lcc;
    if ((st = largest_component(ctx, r, &nc, &lcc)))
        return st;
    int d, sampled, ns;
    st = paths(ctx, lcc, o->exact_path_limit, o->path_samples, seed, l, &d, &sampled, &ns);
    graph_free(lcc);
    return st;
}

enum dcn_status graph_stats_compute(struct dcn_ctx *ctx, const struct dcn_graph *g,
                                    const struct dcn_graph_stats_opts *opts, struct dcn_graph_stats *s)
{
    struct dcn_graph_stats_opts o = opts ? *opts : (struct dcn_graph_stats_opts){0};
    if (!o.nrand)
        o.nrand = 10;
    if (!o.exact_path_limit)
        o.exact_path_limit = 5000;
    if (!o.path_samples)
        o.path_samples = 500;
    if (!o.dense_limit)
        o.dense_limit = 3000;
    if (!o.cnm_edge_limit)
        o.cnm_edge_limit = GRAPH_CNM_EDGE_LIMIT;
    if (!o.louvain_edge_limit)
        o.louvain_edge_limit = GRAPH_LOUVAIN_EDGE_LIMIT;
    if (!o.sigma_edge_limit)
        o.sigma_edge_limit = 200000;
    memset(s, 0, sizeof *s);
    if (!g || g->n <= 0)
        return dcn_fail(ctx, DCN_EINVAL, "%s: statistics of a graph without nodes", g ? g->source : "(null)");
    s->nodes = g->n;
    s->edges = g->m;
    s->average_degree = 2.0 * (double)g->m / g->n;
    s->edges_per_node = (double)g->m / g->n;
    for (int v = 0; v < g->n; v++)
        if (g->off[v + 1] - g->off[v] > s->max_degree)
            s->max_degree = (int)(g->off[v + 1] - g->off[v]);
    s->louvain_seed = o.seed;
    s->spectral_radius = s->algebraic_connectivity = NAN;
    s->small_world_sigma = s->small_world_c_rand = s->small_world_l_rand = NAN;

    struct igraph_guard gd;
    guard_on(&gd);
    enum dcn_status st;
    struct dcn_graph *lcc = NULL;
    int *mem = malloc((size_t)g->n * sizeof *mem);
    igraph_t ig;
    int have_ig = 0;
    if (!mem || to_igraph(g, &ig)) {
        st = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory in statistics", g->source);
        goto done;
    }
    have_ig = 1;
    if ((st = largest_component(ctx, g, &s->connected_components, &lcc)))
        goto done;
    s->largest_component_nodes = lcc->n;
    s->largest_component_edges = lcc->m;
    if ((st = paths(ctx, lcc, o.exact_path_limit, o.path_samples, o.seed, &s->average_path_length, &s->diameter,
                    &s->average_path_length_sampled, &s->path_sources)))
        goto done;
    if ((st = clustering(ctx, g, &ig, &s->average_clustering, &s->average_clustering_deg2, &s->nodes_deg2,
                         &s->transitivity)))
        goto done;
    s->modularity_greedy = NAN;
    if (g->m <= o.cnm_edge_limit &&
        (st = communities(ctx, g, &ig, 0, 0, mem, &s->communities_greedy, &s->modularity_greedy)))
        goto done;
    s->modularity_louvain = NAN;
    if (g->m <= o.louvain_edge_limit &&
        (st = communities(ctx, g, &ig, 1, o.seed, mem, &s->communities_louvain, &s->modularity_louvain)))
        goto done;
    if (g->n <= o.dense_limit && dense_eigen(g, 0, g->n, &s->spectral_radius))
        s->spectral_radius = NAN;
    if (lcc->n >= 2 && lcc->n <= o.dense_limit && dense_eigen(lcc, 1, 2, &s->algebraic_connectivity))
        s->algebraic_connectivity = NAN;

    /* small-world sigma against size-matched G(n, m) graphs on the largest component */
    if (o.nrand > 0 && lcc->n >= 3 && lcc->m > 0 && lcc->m <= o.sigma_edge_limit) {
        double c = 0, a2, tr;
        int n2;
        igraph_t il;
        if (to_igraph(lcc, &il)) {
            st = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", g->source);
            goto done;
        }
        st = clustering(ctx, lcc, &il, &c, &a2, &n2, &tr);
        igraph_destroy(&il);
        if (st)
            goto done;
        double cr = 0, lr = 0;
        for (int r = 0; r < o.nrand; r++) {
            struct dcn_rng rng;
            dcn_rng_seed2(&rng, o.seed, 1000 + (uint64_t)r);
            struct dcn_graph *rg;
            double rc, rl;
            if ((st = gnm(ctx, lcc->n, lcc->m, &rng, &rg)))
                goto done;
            st = reference_metrics(ctx, rg, &o, o.seed + (uint64_t)r, &rc, &rl);
            graph_free(rg);
            if (st)
                goto done;
            cr += rc;
            lr += rl;
        }
        cr /= o.nrand;
        lr /= o.nrand;
        s->small_world_nrand = o.nrand;
        s->small_world_c_rand = cr;
        s->small_world_l_rand = lr;
        if (cr > 0 && s->average_path_length > 0)
            s->small_world_sigma = (c / cr) / (s->average_path_length / lr);
    }
    st = DCN_OK;
done:
    if (have_ig)
        igraph_destroy(&ig);
    graph_free(lcc);
    free(mem);
    guard_off(&gd);
    return st;
}
