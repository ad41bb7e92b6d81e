/* Declarations shared by the graph module's files; not part of the public API.
 *
 * The files depend on each other one way only (each file's top comment says what it may use):
 *
 *   graph_load.c   ─► graph_spec.c, graph_gen.c, graph_null.c, graph_text.c, graph_gml.c,
 *                     graph_graphml.c (the only file that knows every loader; loaders and generators
 *                     never call graph_load; a rewire: spec's base is loaded here, then rewired)
 *   loaders        ─► graph_read.c, graph_csr.c, graph.c, graph_containers.c
 *   graph_gen.c    ─► graph_spec.c (the one spec parser), graph_csr.c, graph.c, graph_containers.c
 *   graph_null.c   ─► graph_csr.c, graph_containers.c
 *   graph_stats.c  ─► graph_csr.c, graph.c, graph_containers.c (subgraphs, random references)
 *   graph_export.c ─► graph_stats.c (communities), dag.c (order names)
 *   graph_csr.c    ─► graph.c (and struct edgebuf of graph_containers.c)
 *   graph.c, graph_containers.c, graph_read.c, dag.c use nothing else of the module.
 */
#ifndef DCN_GRAPH_INTERNAL_H
#define DCN_GRAPH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "dcn/graph.h"

/* Input limits: a graph file is read whole into memory, and each edge record costs ~8 bytes in
 * the reducer, so these bound memory to a few GiB on hostile input. */
#define GRAPH_MAX_FILE_BYTES (1LL << 30)
#define GRAPH_MAX_EDGES 200000000LL
#define GRAPH_MAX_NODES 100000000

/* ---- graph_containers.c ---- */

/* Growable edge-record buffer (amortised doubling: no per-edge allocation). */
struct edgebuf {
    int *u, *v;
    int64_t m, cap;
};
int edgebuf_push(struct edgebuf *b, int u, int v); /* 0 ok, -1 out of memory or over the limit */
void edgebuf_free(struct edgebuf *b);

/* String -> int map with open addressing (node ids of GraphML). Keys are borrowed, not copied. */
struct strmap {
    const char **keys;
    int *vals;
    size_t cap, len;
};
int strmap_init(struct strmap *m, size_t expected);
int strmap_put(struct strmap *m, const char *key, int val); /* 0 ok, 1 key exists, -1 no memory */
int strmap_get(const struct strmap *m, const char *key);    /* -1 when missing */
void strmap_free(struct strmap *m);

/* Set of 64-bit keys (unordered vertex pairs) with deletion, used by the generators. */
struct u64set {
    uint64_t *slots; /* 0 = empty, 1 = deleted, else key + 2 */
    size_t cap, len, used;
};
int u64set_init(struct u64set *s, size_t expected);
int u64set_has(const struct u64set *s, uint64_t key);
int u64set_add(struct u64set *s, uint64_t key); /* 0 added, 1 present, -1 no memory */
void u64set_del(struct u64set *s, uint64_t key);
void u64set_free(struct u64set *s);

static inline uint64_t pair_key(int a, int b)
{
    return a < b ? ((uint64_t)(uint32_t)a << 32) | (uint32_t)b : ((uint64_t)(uint32_t)b << 32) | (uint32_t)a;
}

/* ---- graph.c ---- */

/* Gives *g the labels "0".."n-1" (graphs whose vertices are plain integers). On failure frees *g,
 * sets it to NULL and fails with "<source>: out of memory". */
enum dcn_status graph_number_labels(struct dcn_ctx *ctx, struct dcn_graph **g, const char *source);

/* Labels and coordinates of the nodes a GML or GraphML file lists, in file order, until they move
 * into the graph. A node's coordinates default to (NaN, 0, 0); has_coords tells whether any node
 * had an x. */
struct nodetab {
    char **labels; /* (cap) the first n are owned strings */
    double *xyz;   /* (cap * 3) */
    int n, cap;
    int has_coords;
};
/* Makes room for one more node when n == cap; -1 out of memory or at GRAPH_MAX_NODES. */
int nodetab_reserve(struct nodetab *t);
void nodetab_free(struct nodetab *t);

/* ---- graph_csr.c ---- */

/* graph_from_edges over the nodes of t; on success the graph takes t's labels (and coordinates
 * when t->has_coords), leaving t to be freed as usual. */
enum dcn_status graph_from_nodetab(struct dcn_ctx *ctx, struct nodetab *t, const struct edgebuf *eb, int directed,
                                   const char *source, struct dcn_graph **out);

/* ---- graph_read.c ---- */

/* Reads a whole file (NUL-terminated) under GRAPH_MAX_FILE_BYTES. Caller frees *buf. */
enum dcn_status graph_read_file(struct dcn_ctx *ctx, const char *path, char **buf, size_t *len);

/* ---- loaders (graph_graphml.c, graph_gml.c, graph_text.c), called by graph_load only ---- */

enum dcn_status graph_load_graphml(struct dcn_ctx *ctx, const char *path, struct dcn_graph **out);
enum dcn_status graph_load_gml(struct dcn_ctx *ctx, const char *path, struct dcn_graph **out);
/* RandWire text ("N", "M", M lines "s t") or, when the first line holds two ids, a plain edge list. */
enum dcn_status graph_load_text(struct dcn_ctx *ctx, const char *path, int randwire_ok, struct dcn_graph **out);

/* ---- graph_stats.c ---- */

/* CNM (igraph fastgreedy) takes ~20 s at 200k edges and igraph's Louvain minutes at 1M edges on
 * graphs without community structure, so statistics skip them above these sizes (null) and exports
 * write community -1 above the CNM limit. */
#define GRAPH_CNM_EDGE_LIMIT 100000
#define GRAPH_LOUVAIN_EDGE_LIMIT 300000

/* Communities by CNM (louvain = 0) or seeded Louvain (1); membership numbered by first vertex. */
enum dcn_status graph_communities(struct dcn_ctx *ctx, const struct dcn_graph *g, int louvain, uint64_t seed,
                                  int *membership, int *ncomm, double *modularity);

/* ---- string helpers ---- */

/* Whether path ends in ext, ignoring case (".GraphML" is GraphML); the extension alone is not a name. */
static inline int graph_has_ext(const char *path, const char *ext)
{
    size_t lp = strlen(path), le = strlen(ext);
    return lp > le && !strcasecmp(path + lp - le, ext);
}

#endif
