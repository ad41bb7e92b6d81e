/* The topology columns of /summary and the /graphs table (src/sweep/topology.c). */
#ifndef DCN_SWEEP_TOPOLOGY_H
#define DCN_SWEEP_TOPOLOGY_H

#include <hdf5.h>
#include <stdint.h>

#include "dcn/graph.h"

/* A graph's family and parameters (from its spec; -1 / NaN where the family has none) and, from
 * `nodes` on, its measures (dcn graph stats: -1 / NaN until measured, or for no graph). */
struct topo_cols {
    char graph_family[16];  /* ws, er, ba, gnm, rewire, celegans, mouse, file, none */
    int64_t graph_n, graph_m, graph_k;
    double graph_p;
    int64_t graph_seed;
    char base_graph[128];   /* rewire: the graph rewired */
    double swaps_per_edge;
    int64_t rewire_swaps;   /* swaps made */
    int64_t nodes, edges;
    double clustering;      /* networkx average_clustering */
    double path_length;     /* average shortest path, largest component */
    double modularity;      /* CNM */
    double small_world_sigma, spectral_radius, algebraic_connectivity;
};

/* Inserts the members into compound type t at offset base. */
void topo_insert_type(hid_t t, size_t base);
/* Family and parameters of a spec, measures cleared. */
void topo_from_spec(const char *spec, struct topo_cols *c);

struct graph_row {
    char spec[256];
    struct topo_cols topo;
};

/* Measured graphs by spec (open addressing over rows). */
struct graph_cache {
    struct graph_row *rows;
    int n, rows_cap;
    int n_stored;   /* rows already in the file's /graphs */
    int *slot;
    size_t cap;
};

/* Starts the cache from the /graphs table of an open results file (empty when f < 0 or it has none). */
void graph_cache_load(struct graph_cache *c, hid_t f);
/* Fills out's measures from the cache, measuring the graph first when it is new. -1: out of memory. */
int graph_cache_measures(struct dcn_ctx *ctx, struct graph_cache *c, const char *spec, const char *data_dir,
                         struct topo_cols *out);
/* Writes the rows measured since the cache was loaded (creating /graphs when the file has none). */
enum dcn_status graph_cache_write(struct dcn_ctx *ctx, struct graph_cache *c, hid_t file, const char *name);
void graph_cache_free(struct graph_cache *c);

#endif
