/* The topology columns of a sweep's results: a graph's family and parameters (read from its spec, for
 * every trial) and its measures (clustering, path length, ...), computed once per distinct graph and
 * kept in the results file's /graphs table, so a later merge reuses them instead of recomputing. */
#include <hdf5.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dcn/io.h"
#include "io/h5util.h"
#include "topology.h"

static uint64_t spec_hash(const char *s) { return dcn_fnv1a(DCN_FNV_INIT, s); }

void topo_insert_type(hid_t t, size_t base)
{
    hid_t s16 = h5_str_type(16), s128 = h5_str_type(128);
#define F(name, type) H5Tinsert(t, #name, base + offsetof(struct topo_cols, name), type)
    F(graph_family, s16);
    F(graph_n, H5T_NATIVE_INT64);
    F(graph_m, H5T_NATIVE_INT64);
    F(graph_k, H5T_NATIVE_INT64);
    F(graph_p, H5T_NATIVE_DOUBLE);
    F(graph_seed, H5T_NATIVE_INT64);
    F(base_graph, s128);
    F(swaps_per_edge, H5T_NATIVE_DOUBLE);
    F(rewire_swaps, H5T_NATIVE_INT64);
    F(nodes, H5T_NATIVE_INT64);
    F(edges, H5T_NATIVE_INT64);
    F(clustering, H5T_NATIVE_DOUBLE);
    F(path_length, H5T_NATIVE_DOUBLE);
    F(modularity, H5T_NATIVE_DOUBLE);
    F(small_world_sigma, H5T_NATIVE_DOUBLE);
    F(spectral_radius, H5T_NATIVE_DOUBLE);
    F(algebraic_connectivity, H5T_NATIVE_DOUBLE);
#undef F
    H5Tclose(s16);
    H5Tclose(s128);
}

static void topo_clear_measures(struct topo_cols *c)
{
    c->rewire_swaps = c->nodes = c->edges = -1;
    c->clustering = c->path_length = c->modularity = c->small_world_sigma = NAN;
    c->spectral_radius = c->algebraic_connectivity = NAN;
}

void topo_from_spec(const char *spec, struct topo_cols *c)
{
    struct dcn_ctx quiet; /* a spec the sweep accepted parses; a failure leaves the family "unknown" */
    dcn_ctx_init(&quiet);
    quiet.verbose = 0;
    struct dcn_graph_spec gs;
    memset(c, 0, sizeof *c);
    topo_clear_measures(c);
    if (graph_spec_parse(&quiet, spec, &gs)) {
        snprintf(c->graph_family, sizeof c->graph_family, "unknown");
        c->graph_n = c->graph_m = c->graph_k = c->graph_seed = -1;
        c->graph_p = c->swaps_per_edge = NAN;
        return;
    }
    snprintf(c->graph_family, sizeof c->graph_family, "%s", gs.family);
    c->graph_n = gs.n;
    c->graph_m = gs.m;
    c->graph_k = gs.k;
    c->graph_p = gs.p;
    c->graph_seed = gs.seed;
    snprintf(c->base_graph, sizeof c->base_graph, "%.127s", gs.base);
    c->swaps_per_edge = gs.swaps_per_edge;
}

/* ---- the cache of measured graphs ---- */

static hid_t row_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct graph_row));
    hid_t s = h5_str_type(sizeof ((struct graph_row *)0)->spec);
    H5Tinsert(t, "graph", offsetof(struct graph_row, spec), s);
    H5Tclose(s);
    topo_insert_type(t, offsetof(struct graph_row, topo));
    return t;
}

static int cache_grow(struct graph_cache *c)
{
    if ((size_t)c->n < c->cap / 2 && c->n < c->rows_cap)
        return 0;
    if (c->n >= c->rows_cap) {
        int nc = c->rows_cap ? 2 * c->rows_cap : 64;
        struct graph_row *r = realloc(c->rows, (size_t)nc * sizeof *r);
        if (!r)
            return -1;
        c->rows = r;
        c->rows_cap = nc;
    }
    if ((size_t)c->n >= c->cap / 2) {
        size_t cap = c->cap ? 2 * c->cap : 128;
        int *slot = malloc(cap * sizeof *slot);
        if (!slot)
            return -1;
        for (size_t i = 0; i < cap; i++)
            slot[i] = -1;
        for (int i = 0; i < c->n; i++) {
            size_t b = spec_hash(c->rows[i].spec) & (cap - 1);
            while (slot[b] >= 0)
                b = (b + 1) & (cap - 1);
            slot[b] = i;
        }
        free(c->slot);
        c->slot = slot;
        c->cap = cap;
    }
    return 0;
}

static struct graph_row *cache_find(const struct graph_cache *c, const char *spec)
{
    if (!c->cap)
        return NULL;
    for (size_t b = spec_hash(spec) & (c->cap - 1); c->slot[b] >= 0; b = (b + 1) & (c->cap - 1))
        if (!strcmp(c->rows[c->slot[b]].spec, spec))
            return &c->rows[c->slot[b]];
    return NULL;
}

static struct graph_row *cache_add(struct graph_cache *c, const char *spec)
{
    if (cache_grow(c))
        return NULL;
    struct graph_row *r = &c->rows[c->n];
    memset(r, 0, sizeof *r);
    snprintf(r->spec, sizeof r->spec, "%s", spec);
    size_t b = spec_hash(r->spec) & (c->cap - 1);
    while (c->slot[b] >= 0)
        b = (b + 1) & (c->cap - 1);
    c->slot[b] = c->n++;
    return r;
}

void graph_cache_load(struct graph_cache *c, hid_t f)
{
    memset(c, 0, sizeof *c);
    if (f < 0)
        return;
    hid_t ds = H5Lexists(f, "graphs", H5P_DEFAULT) > 0 ? H5Dopen2(f, "graphs", H5P_DEFAULT) : -1;
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : 0;
    struct graph_row *rows = n > 0 ? calloc((size_t)n, sizeof *rows) : NULL;
    hid_t t = row_type();
    /* a table this dcn cannot read in full (another layout) is only a lost cache: measure again */
    if (rows && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0) {
        for (hssize_t i = 0; i < n; i++) {
            rows[i].spec[sizeof rows[i].spec - 1] = 0;
            struct graph_row *r = cache_find(c, rows[i].spec) ? NULL : cache_add(c, rows[i].spec);
            if (r)
                *r = rows[i];
        }
        c->n_stored = c->n;
    }
    free(rows);
    H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
}

/* Loads the graph and measures it; a graph that cannot be loaded now (a file moved since) keeps
 * NaN measures and the reason goes to the log, not to the merge's status. */
static void measure(struct dcn_ctx *ctx, const char *spec, const char *data_dir, struct topo_cols *c)
{
    struct dcn_ctx quiet; /* the reason goes to ctx's log as a warning, not into ctx's error */
    dcn_ctx_init(&quiet);
    quiet.verbose = 0;
    struct dcn_graph *g = NULL;
    struct dcn_graph_stats gs;
    struct dcn_graph_stats_opts o;
    memset(&o, 0, sizeof o);
    if (graph_load(&quiet, spec, data_dir, &g) || graph_stats_compute(&quiet, g, &o, &gs)) {
        dcn_log(ctx, 1, "graph measures of %s: %s", spec, quiet.err);
        graph_free(g);
        return;
    }
    c->rewire_swaps = g->rewire_tries > 0 ? g->rewire_swaps : -1;
    c->nodes = gs.nodes;
    c->edges = gs.edges;
    c->clustering = gs.average_clustering;
    c->path_length = gs.average_path_length;
    c->modularity = gs.modularity_greedy;
    c->small_world_sigma = gs.small_world_sigma;
    c->spectral_radius = gs.spectral_radius;
    c->algebraic_connectivity = gs.algebraic_connectivity;
    graph_free(g);
}

int graph_cache_measures(struct dcn_ctx *ctx, struct graph_cache *c, const char *spec, const char *data_dir,
                         struct topo_cols *out)
{
    struct graph_row *r = cache_find(c, spec);
    if (!r) {
        if (!(r = cache_add(c, spec)))
            return -1;
        topo_from_spec(spec, &r->topo);
        measure(ctx, spec, data_dir, &r->topo);
    }
    /* the measured members: the family and parameters stay those of out's own spec */
    out->rewire_swaps = r->topo.rewire_swaps;
    out->nodes = r->topo.nodes;
    out->edges = r->topo.edges;
    out->clustering = r->topo.clustering;
    out->path_length = r->topo.path_length;
    out->modularity = r->topo.modularity;
    out->small_world_sigma = r->topo.small_world_sigma;
    out->spectral_radius = r->topo.spectral_radius;
    out->algebraic_connectivity = r->topo.algebraic_connectivity;
    return 0;
}

/* /graphs is chunked and extendible, so that an update appends the graphs it measured. */
enum dcn_status graph_cache_write(struct dcn_ctx *ctx, struct graph_cache *c, hid_t file, const char *name)
{
    hsize_t n = (hsize_t)c->n, from = 0;
    hid_t t = row_type(), ds;
    if (H5Lexists(file, "graphs", H5P_DEFAULT) > 0 && c->n_stored > 0) {
        ds = H5Dopen2(file, "graphs", H5P_DEFAULT);
        from = (hsize_t)c->n_stored;
        if (ds >= 0 && n > from && H5Dset_extent(ds, &n) < 0) {
            H5Dclose(ds);
            ds = -1;
        }
    } else {
        if (H5Lexists(file, "graphs", H5P_DEFAULT) > 0)
            H5Ldelete(file, "graphs", H5P_DEFAULT);
        hsize_t maxd = H5S_UNLIMITED, chunk = 256;
        hid_t sp = H5Screate_simple(1, &n, &maxd), dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 1, &chunk);
        ds = H5Dcreate2(file, "graphs", t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Pclose(dcpl);
        H5Sclose(sp);
    }
    enum dcn_status st = DCN_OK;
    if (ds >= 0 && n > from) {
        hsize_t cnt = n - from;
        hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(1, &cnt, NULL);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &from, NULL, &cnt, NULL);
        if (H5Dwrite(ds, t, ms, fs, H5P_DEFAULT, c->rows + from) < 0)
            st = dcn_fail(ctx, DCN_EHDF5, "%s: cannot write /graphs", name);
        H5Sclose(ms);
        H5Sclose(fs);
    }
    if (ds < 0)
        st = dcn_fail(ctx, DCN_EHDF5, "%s: cannot write /graphs", name);
    else
        H5Dclose(ds);
    H5Tclose(t);
    if (!st)
        c->n_stored = c->n;
    return st;
}

void graph_cache_free(struct graph_cache *c)
{
    free(c->rows);
    free(c->slot);
    memset(c, 0, sizeof *c);
}
