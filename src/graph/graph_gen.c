/* Seeded random graph generators: Watts-Strogatz (connected), Erdos-Renyi G(n,p), Barabasi-Albert,
 * G(n,m). Algorithms as in networkx 2.8 so that the graph families match the paper's (which used
 * networkx through RandWire); the random stream is dcn_rng's, identical on every machine.
 * Uses graph_spec.c (the one spec parser: keys, ranges, k <= n, ...), graph_csr.c (the builder),
 * graph.c and graph_containers.c; graph_load calls it, not back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

static int is_connected(int n, const struct u64set *s, int *parent)
{
    /* union-find over the edge set: cheaper than building adjacency for every try */
    for (int i = 0; i < n; i++)
        parent[i] = i;
    int comps = n;
    for (size_t i = 0; i < s->cap; i++) {
        if (s->slots[i] <= 1)
            continue;
        uint64_t key = s->slots[i] - 2;
        int a = (int)(key >> 32), b = (int)(key & 0xffffffffULL);
        while (parent[a] != a)
            a = parent[a] = parent[parent[a]];
        while (parent[b] != b)
            b = parent[b] = parent[parent[b]];
        if (a != b) {
            parent[a] = b;
            comps--;
        }
    }
    return comps == 1;
}

static enum dcn_status set_to_graph(struct dcn_ctx *ctx, int n, const struct u64set *s, const char *spec,
                                    struct dcn_graph **out)
{
    struct edgebuf eb = {0};
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i] > 1) {
            uint64_t key = s->slots[i] - 2;
            if (edgebuf_push(&eb, (int)(key >> 32), (int)(key & 0xffffffffULL))) {
                edgebuf_free(&eb);
                return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", spec);
            }
        }
    enum dcn_status st = graph_from_edges(ctx, n, eb.m, eb.u, eb.v, 0, spec, out);
    edgebuf_free(&eb);
    return st;
}

/* networkx connected_watts_strogatz_graph(n, k, p, tries=100) / watts_strogatz_graph */
static enum dcn_status gen_ws(struct dcn_ctx *ctx, const struct dcn_graph_spec *gp, const char *spec,
                              struct dcn_graph **out)
{
    int n = (int)gp->n, k = (int)gp->k; /* k <= n checked by graph_spec_parse */
    if ((int64_t)n * (k / 2) > GRAPH_MAX_EDGES)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: too many edges", spec);
    struct dcn_rng rng;
    dcn_rng_seed(&rng, (uint64_t)gp->seed);
    struct u64set s = {0};
    int *deg = malloc((size_t)n * sizeof *deg), *parent = malloc((size_t)n * sizeof *parent);
    if (!deg || !parent) {
        free(deg), free(parent);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", spec);
    }
    enum dcn_status st = DCN_OK;
    int ok = 0;
    for (int attempt = 0; attempt < 100 && !ok; attempt++) {
        u64set_free(&s);
        if (u64set_init(&s, (size_t)n * (size_t)(k > n - 1 ? n : k) / 2 + 16)) {
            st = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", spec);
            break;
        }
        if (k == n) { /* networkx returns the complete graph */
            for (int u = 0; u < n; u++)
                for (int v = u + 1; v < n; v++)
                    u64set_add(&s, pair_key(u, v));
            ok = 1;
            break;
        }
        for (int u = 0; u < n; u++)
            deg[u] = 0;
        for (int j = 1; j <= k / 2; j++)
            for (int u = 0; u < n; u++) {
                int v = (u + j) % n;
                if (u64set_add(&s, pair_key(u, v)) == 0)
                    deg[u]++, deg[v]++;
            }
        for (int j = 1; j <= k / 2; j++)
            for (int u = 0; u < n; u++) {
                int v = (u + j) % n;
                if (dcn_rng_uniform(&rng) >= gp->p)
                    continue;
                /* rejection sampling draws w uniformly among the vertices not yet adjacent to u */
                int w = (int)dcn_rng_below(&rng, (uint64_t)n), skip = 0;
                while (w == u || u64set_has(&s, pair_key(u, w))) {
                    w = (int)dcn_rng_below(&rng, (uint64_t)n);
                    if (deg[u] >= n - 1) {
                        skip = 1;
                        break;
                    }
                }
                if (skip)
                    continue;
                u64set_del(&s, pair_key(u, v));
                deg[v]--;
                if (u64set_add(&s, pair_key(u, w)) < 0) {
                    st = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", spec);
                    goto done;
                }
                deg[w]++;
            }
        ok = is_connected(n, &s, parent);
    }
    if (!ok && !st)
        st = dcn_fail(ctx, DCN_EINVAL, "%s: no connected Watts-Strogatz graph in 100 tries (raise k or lower p)",
                      spec);
    if (ok)
        st = set_to_graph(ctx, n, &s, spec, out);
done:
    u64set_free(&s);
    free(deg);
    free(parent);
    return st;
}

/* networkx fast_gnp_random_graph (Batagelj & Brandes geometric skipping): O(n + m), so a sparse
 * 100k-node graph takes milliseconds, with the exact G(n,p) distribution */
static enum dcn_status gen_er(struct dcn_ctx *ctx, const struct dcn_graph_spec *gp, const char *spec,
                              struct dcn_graph **out)
{
    int n = (int)gp->n;
    double p = gp->p;
    struct dcn_rng rng;
    dcn_rng_seed(&rng, (uint64_t)gp->seed);
    struct edgebuf eb = {0};
    if (p >= 1.0 && (double)n * (n - 1) / 2 > (double)GRAPH_MAX_EDGES)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: the complete graph is over the edge limit", spec);
    if (p >= 1.0) {
        for (int u = 0; u < n; u++)
            for (int v = u + 1; v < n; v++)
                if (edgebuf_push(&eb, u, v))
                    goto nomem;
    } else if (p > 0.0) {
        double lp = log(1.0 - p);
        long long v = 1, w = -1;
        while (v < n) {
            double skip = log(1.0 - dcn_rng_uniform(&rng)) / lp;
            if (skip >= (double)n * (double)n) /* past the last pair (and safe to convert) */
                break;
            w = w + 1 + (long long)skip;
            while (w >= v && v < n) {
                w -= v;
                v++;
            }
            if (v < n && edgebuf_push(&eb, (int)v, (int)w))
                goto nomem;
        }
    }
    enum dcn_status st = graph_from_edges(ctx, n, eb.m, eb.u, eb.v, 0, spec, out);
    edgebuf_free(&eb);
    return st;
nomem:
    edgebuf_free(&eb);
    return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory or over %lld edges", spec, (long long)GRAPH_MAX_EDGES);
}

/* networkx barabasi_albert_graph(n, m): star of m+1 nodes, then each new node joins m distinct
 * targets drawn from the degree-weighted "repeated nodes" list */
static enum dcn_status gen_ba(struct dcn_ctx *ctx, const struct dcn_graph_spec *gp, const char *spec,
                              struct dcn_graph **out)
{
    long long n = gp->n, m = gp->m; /* 1 <= m < n checked by graph_spec_parse */
    if ((n - m) * m > GRAPH_MAX_EDGES)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: too many edges", spec);
    struct dcn_rng rng;
    dcn_rng_seed(&rng, (uint64_t)gp->seed);
    size_t rcap = (size_t)(2 * (n - m) * m);
    int *rep = malloc(rcap * sizeof *rep), *mark = malloc((size_t)n * sizeof *mark),
        *tg = malloc((size_t)m * sizeof *tg);
    struct edgebuf eb = {0};
    if (!rep || !mark || !tg)
        goto nomem;
    for (long long i = 0; i < n; i++)
        mark[i] = -1;
    size_t nr = 0;
    for (int v = 1; v <= m; v++) {
        if (edgebuf_push(&eb, 0, v))
            goto nomem;
        rep[nr++] = 0; /* networkx lists nodes by degree: the centre m times, each leaf once */
    }
    for (int v = 1; v <= m; v++)
        rep[nr++] = v;
    for (int src = (int)m + 1; src < n; src++) {
        int nt = 0;
        while (nt < m) {
            int x = rep[dcn_rng_below(&rng, nr)];
            if (mark[x] != src) {
                mark[x] = src;
                tg[nt++] = x;
            }
        }
        for (int i = 0; i < nt; i++) {
            if (edgebuf_push(&eb, src, tg[i]))
                goto nomem;
            rep[nr++] = tg[i];
        }
        for (int i = 0; i < nt; i++)
            rep[nr++] = src;
    }
    free(rep), free(mark), free(tg);
    enum dcn_status st = graph_from_edges(ctx, (int)n, eb.m, eb.u, eb.v, 0, spec, out);
    edgebuf_free(&eb);
    return st;
nomem:
    free(rep), free(mark), free(tg);
    edgebuf_free(&eb);
    return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", spec);
}

/* networkx gnm_random_graph: uniform pairs, redrawn when a self-loop or already chosen, until m
 * distinct edges. Above half of the n(n-1)/2 pairs the pairs to leave out of the complete graph are
 * drawn the same way instead, so a dense request never spins on rejections (at most half the pairs
 * are ever drawn); both give the uniform distribution over graphs with m edges. */
static enum dcn_status gen_gnm(struct dcn_ctx *ctx, const struct dcn_graph_spec *gp, const char *spec,
                               struct dcn_graph **out)
{
    int n = (int)gp->n;
    long long maxm = gp->n * (gp->n - 1) / 2, m = gp->m; /* m <= maxm checked by graph_spec_parse */
    int dense = m > maxm / 2;
    long long draw = dense ? maxm - m : m;
    struct dcn_rng rng;
    dcn_rng_seed(&rng, (uint64_t)gp->seed);
    struct u64set s;
    struct edgebuf eb = {0};
    if (u64set_init(&s, (size_t)draw))
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", spec);
    while ((long long)s.len < draw) {
        int u = (int)dcn_rng_below(&rng, (uint64_t)n), v = (int)dcn_rng_below(&rng, (uint64_t)n);
        if (u != v && u64set_add(&s, pair_key(u, v)) < 0)
            goto nomem;
    }
    if (!dense) {
        enum dcn_status st = set_to_graph(ctx, n, &s, spec, out);
        u64set_free(&s);
        return st;
    }
    for (int u = 0; u < n; u++)
        for (int v = u + 1; v < n; v++)
            if (!u64set_has(&s, pair_key(u, v)) && edgebuf_push(&eb, u, v))
                goto nomem;
    u64set_free(&s);
    enum dcn_status st = graph_from_edges(ctx, n, eb.m, eb.u, eb.v, 0, spec, out);
    edgebuf_free(&eb);
    return st;
nomem:
    u64set_free(&s);
    edgebuf_free(&eb);
    return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", spec);
}

enum dcn_status graph_generate(struct dcn_ctx *ctx, const char *spec, struct dcn_graph **out)
{
    *out = NULL;
    struct dcn_graph_spec gp;
    enum dcn_status st = graph_spec_parse(ctx, spec, &gp);
    if (st)
        return st;
    if (!strcmp(gp.family, "ws"))
        st = gen_ws(ctx, &gp, spec, out);
    else if (!strcmp(gp.family, "er"))
        st = gen_er(ctx, &gp, spec, out);
    else if (!strcmp(gp.family, "ba"))
        st = gen_ba(ctx, &gp, spec, out);
    else if (!strcmp(gp.family, "gnm"))
        st = gen_gnm(ctx, &gp, spec, out);
    else
        return dcn_fail(ctx, DCN_EINVAL, "%s: not a generator spec (expected ws:, er:, ba: or gnm:)", spec);
    return st ? st : graph_number_labels(ctx, out, spec);
}
