/* dcn graph: undirected simple graphs (loaded or generated), the DAG built from a vertex ordering,
 * statistics and exports.
 *
 * Ownership: graph_load/graph_generate/dag_build return objects the caller frees with graph_free /
 * dag_free. Statistics and exports borrow their inputs and allocate nothing the caller must free.
 */
#ifndef DCN_GRAPH_H
#define DCN_GRAPH_H

#include <stdint.h>

#include "dcn/core.h"

/* Undirected simple graph in CSR form: neighbours of v are adj[off[v] .. off[v+1]), sorted
 * ascending, each undirected edge stored twice. Vertices are 0..n-1 in the data set's own order
 * (GraphML/GML file order, RandWire/edge-list ids). */
struct dcn_graph {
    int n;            /* vertices */
    int64_t m;        /* undirected edges */
    int64_t *off;     /* (n+1) */
    int *adj;         /* (2m) */
    char **labels;    /* (n) original node ids as strings (GraphML id, GML id/label, edge-list id); may be NULL */
    double *coords;   /* (n*3) x,y,z when the data has coordinates, else NULL */
    char source[512]; /* the spec or path it came from */
    /* what reduction to an undirected simple graph dropped (reported by --verbose / JSON) */
    int directed_input;          /* the file declared directed edges */
    int64_t input_edges;         /* edge records read */
    int64_t dropped_self_loops;  /* records with source == target */
    int64_t dropped_duplicates;  /* repeated records of the same (source, target) */
    int64_t merged_reciprocal;   /* directed pairs u->v and v->u merged into one edge */
    int64_t rewire_swaps;  /* double edge swaps made (rewire: specs), else 0 */
    int64_t rewire_tries;  /* swap attempts drawn (rewire: specs), else 0 */
};

/* Loads a graph from a spec: a file path (.graphml, .gml, .txt RandWire format "N\nM\ns t..." or any
 * other extension as a plain edge list "u v" per line, '#' comments), the names "celegans" and
 * "mouse" (resolved in data_dir/connectomes), a generator spec "ws:n=32,k=4,p=0.75,seed=1",
 * "er:n=32,p=0.2,seed=1", "ba:n=32,m=5,seed=1", "gnm:n=297,m=2148,seed=3", or a degree-preserving
 * rewiring "rewire:BASE,swaps_per_edge=10,seed=3" of any other spec BASE (loaded through graph_load
 * with the same data_dir, then rewired by graph_rewire; see graph_spec_parse for how the options are
 * split from BASE). The graph's source is the whole spec. data_dir may be NULL (then dcn_data_dir()). */
enum dcn_status graph_load(struct dcn_ctx *ctx, const char *spec, const char *data_dir, struct dcn_graph **out);
void graph_free(struct dcn_graph *g);

/* DAG orderings (paper section 3.1 and its future work). */
enum dag_order {
    DAG_ORDER_RANDOM = 0, /* seeded random permutation (the paper's) */
    DAG_ORDER_IDENTITY,   /* the data set's own vertex order (reproduces the authors' C. elegans DAG) */
    DAG_ORDER_DEGREE,     /* by decreasing degree, ties by vertex id: hubs become early nodes */
    DAG_ORDER_BFS,        /* breadth-first from the highest-degree vertex, components in turn */
    DAG_ORDER_COORD       /* by the first coordinate when the data has coordinates */
};
/* Parses "random", "identity", "degree", "bfs", "coord". Returns DCN_EINVAL otherwise. */
enum dcn_status dag_order_parse(struct dcn_ctx *ctx, const char *name, enum dag_order *out);
const char *dag_order_name(enum dag_order o);

/* The DAG as the engine consumes it. Node i is the vertex at position i of the ordering; every edge
 * points from a smaller position to a larger one, so 0..n-1 is a topological order. Flat arrays,
 * no pointer chasing per edge. */
struct dcn_dag {
    int n;            /* nodes */
    int64_t m;        /* edges */
    int64_t *pred_off;/* (n+1) predecessors of node i: pred[pred_off[i] .. pred_off[i+1]) */
    int *pred;        /* (m) node indices < i, ascending */
    int64_t *succ_off;/* (n+1) successors of node i: succ[succ_off[i] .. succ_off[i+1]) */
    int *succ;        /* (m) node indices > i, ascending */
    int *vertex;      /* (n) graph vertex placed at position i */
    int n_inputs;     /* nodes with in-degree 0 (they receive the stem's broadcast) */
    int *inputs;      /* (n_inputs) ascending */
    int n_outputs;    /* nodes with out-degree 0 (averaged by the sink); isolated nodes are both */
    int *outputs;     /* (n_outputs) ascending */
    int longest_path; /* edges on the longest path (0 for an edgeless graph) */
    enum dag_order order;
    uint64_t order_seed;
};

enum dcn_status dag_build(struct dcn_ctx *ctx, const struct dcn_graph *g, enum dag_order order,
                          uint64_t order_seed, struct dcn_dag **out);
void dag_free(struct dcn_dag *d);

/* ---- generators (also reachable through graph_load's "ws:", "er:", "ba:", "gnm:" specs) ----
 * All randomness comes from struct dcn_rng seeded with the spec's seed (default 0), so a spec names
 * one graph on every machine. The algorithms follow networkx (connected_watts_strogatz_graph with
 * tries=100, fast_gnp_random_graph, barabasi_albert_graph, gnm_random_graph), but the random streams
 * differ from Python's, so the graphs are not networkx's graphs for the same seed. */
enum dcn_status graph_generate(struct dcn_ctx *ctx, const char *spec, struct dcn_graph **out);

/* ---- null models ----
 * Degree-preserving rewiring (networkx double_edge_swap): round(swaps_per_edge * m) swaps are
 * requested, at most 100 times as many attempts are drawn; every vertex keeps its degree, the graph
 * stays simple, labels/coordinates/reduction counts stay. g->rewire_swaps and g->rewire_tries record
 * what was done (fewer swaps than requested is not an error). Fails with DCN_EINVAL ("admits no
 * double edge swap", naming g->source) when g has fewer than 2 edges or no attempt succeeded; then
 * g is unchanged. Randomness only from a dcn_rng seeded with seed. */
enum dcn_status graph_rewire(struct dcn_ctx *ctx, struct dcn_graph *g, double swaps_per_edge, uint64_t seed);

/* What a graph spec names, without loading it. Integer parameters the family lacks are -1, real ones NaN. */
struct dcn_graph_spec {
    char family[16];       /* "ws", "er", "ba", "gnm", "rewire", "celegans", "mouse", "file" or "none" (no graph) */
    long long n, m, k;     /* ws: n,k; er: n; ba: n,m; gnm: n,m; else -1 */
    double p;              /* ws, er */
    long long seed;        /* generator or rewiring seed (default 0 when the spec omits it), -1 for files/connectomes/none */
    double swaps_per_edge; /* rewire */
    char base[512];        /* rewire: the base graph's spec, else "" */
};
/* Parses and validates spec the way graph_load does, without reading files or generating: the same
 * parser and checks as the generators (unknown or missing keys, ranges, k <= n, BA's 1 <= m < n,
 * G(n,m)'s m <= n(n-1)/2); DCN_EINVAL with a message naming the spec otherwise. "none" and "" name
 * no graph (family "none"). A rewire spec "rewire:BASE,swaps_per_edge=X,seed=Y" takes its options
 * from the RIGHT end (each at most once, any order, both optional: defaults 10 and 0) and stops at
 * the first key that repeats or is not a rewire key, so "rewire:ws:n=32,k=4,p=0.5,seed=1,seed=3" has
 * base "ws:n=32,k=4,p=0.5,seed=1" and seed 3. BASE is parsed too (so a bad base fails here), but its
 * n/m/k/p are not copied into out (they stay -1/NaN): read them with a second call on out->base.
 * Seeds are 0..2^63-1. */
enum dcn_status graph_spec_parse(struct dcn_ctx *ctx, const char *spec, struct dcn_graph_spec *out);

/* Builds a graph from edge records (eu[i], ev[i]) over vertices 0..n-1, reducing them to an
 * undirected simple graph and filling the dropped counts; directed tells whether (u,v) and (v,u)
 * are distinct records (counted as merged reciprocal pairs) or the same edge (counted as duplicates).
 * Takes no ownership of eu/ev; labels/coords of the result are NULL. */
enum dcn_status graph_from_edges(struct dcn_ctx *ctx, int n, int64_t m, const int *eu, const int *ev,
                                 int directed, const char *source, struct dcn_graph **out);

/* ---- statistics (dcn graph stats) ----
 * Names and conventions follow networkx 2.8 so that tests/py/test_graph_stats.py can check every
 * value. A value that is undefined or skipped (too large a graph) is NaN (JSON null). */
struct dcn_graph_stats {
    int nodes;
    int64_t edges;
    int connected_components;
    int largest_component_nodes;      /* the first largest component in vertex order */
    int64_t largest_component_edges;
    double average_path_length;       /* on the largest component */
    int average_path_length_sampled;  /* BFS from a seeded subset of sources (large graphs) */
    int path_sources;                 /* BFS sources used */
    int diameter;                     /* on the largest component; a lower bound when sampled */
    double average_clustering;        /* networkx average_clustering: degree < 2 counts as 0 */
    double average_clustering_deg2;   /* mean local clustering over degree >= 2 only (igraph/paper) */
    int nodes_deg2;                   /* vertices of degree >= 2 */
    double transitivity;              /* 3 triangles / connected triples */
    double average_degree;            /* 2E/N */
    double edges_per_node;            /* E/N (the paper's "average degree" for the mouse graph) */
    int max_degree;
    double modularity_greedy;         /* CNM (igraph_community_fastgreedy); NaN above cnm_edge_limit */
    int communities_greedy;
    double modularity_louvain;        /* igraph_community_multilevel, seeded; NaN above louvain_edge_limit */
    int communities_louvain;
    uint64_t louvain_seed;
    double spectral_radius;           /* largest adjacency eigenvalue; NaN above the dense limit */
    double algebraic_connectivity;    /* 2nd smallest Laplacian eigenvalue of the largest component */
    double small_world_sigma;         /* (C/C_r)/(L/L_r) on the largest component: C = average_clustering,
                                       * C_r, L_r = means over nrand seeded G(n,m) graphs of the same size
                                       * (L_r on each one's largest component); NaN when C_r = 0 */
    int small_world_nrand;            /* size-matched G(n,m) references averaged */
    double small_world_c_rand, small_world_l_rand;
};

/* Options of graph_stats_compute; zero-initialised means the defaults below. */
struct dcn_graph_stats_opts {
    uint64_t seed;        /* Louvain and random-reference seed (0) */
    int nrand;            /* random references for sigma (0 -> 10; < 0 skips sigma) */
    int exact_path_limit; /* above this many LCC nodes APL is sampled (0 -> 5000) */
    int path_samples;     /* BFS sources when sampled (0 -> 500) */
    int dense_limit;      /* dense eigen solves up to this many nodes (0 -> 3000) */
    int64_t cnm_edge_limit;   /* CNM up to this many edges (0 -> 100000; it is quadratic-ish) */
    int64_t louvain_edge_limit; /* Louvain up to this many edges (0 -> 300000) */
    int64_t sigma_edge_limit; /* small-world sigma up to this many LCC edges (0 -> 200000) */
};

enum dcn_status graph_stats_compute(struct dcn_ctx *ctx, const struct dcn_graph *g,
                                    const struct dcn_graph_stats_opts *opts, struct dcn_graph_stats *out);

/* CNM communities of g (membership[v] in 0..*ncomm-1, numbered by first vertex) and their
 * modularity. membership has g->n entries, allocated by the caller. */
enum dcn_status graph_communities_greedy(struct dcn_ctx *ctx, const struct dcn_graph *g, int *membership,
                                         int *ncomm, double *modularity);

/* ---- exports of a DAG (dcn graph dag) ----
 * GraphML (networkx-readable: typed <key>s, edgedefault="directed"; nodes "n<position>" with the
 * original label, graph vertex, position, is_input, is_output, CNM community and coordinates),
 * RandWire text ("N", "M", then "s t" positions, s < t) and Graphviz DOT (fill colour = community,
 * inputs as boxes, outputs as double circles, nodes that are both as double boxes). Communities are
 * CNM's; above 100,000 edges, where CNM would take minutes, they are not computed (-1, no colour). */
enum graph_export_format { GRAPH_EXPORT_AUTO = 0, GRAPH_EXPORT_GRAPHML, GRAPH_EXPORT_TXT, GRAPH_EXPORT_DOT };
/* Parses "graphml", "txt", "dot" (NULL or "" -> AUTO). */
enum dcn_status graph_export_format_parse(struct dcn_ctx *ctx, const char *name, enum graph_export_format *out);
enum dcn_status graph_export_graphml(struct dcn_ctx *ctx, const struct dcn_graph *g, const struct dcn_dag *d,
                                     const char *path);
enum dcn_status graph_export_txt(struct dcn_ctx *ctx, const struct dcn_dag *d, const char *path);
enum dcn_status graph_export_dot(struct dcn_ctx *ctx, const struct dcn_graph *g, const struct dcn_dag *d,
                                 const char *path);
/* Writes d in fmt, or in the format named by path's extension (.graphml/.xml, .txt, .dot/.gv) for AUTO. */
enum dcn_status graph_export_dag(struct dcn_ctx *ctx, const struct dcn_graph *g, const struct dcn_dag *d,
                                 const char *path, enum graph_export_format fmt);

#endif
