/* Helpers shared by the graph module's files; not part of the public API. */
#ifndef DCN_GRAPH_INTERNAL_H
#define DCN_GRAPH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dcn/graph.h"

/* Input limits: a graph file is read whole into memory, and each edge record costs ~8 bytes in
 * the reducer, so these bound memory to a few GiB on hostile input. */
#define GRAPH_MAX_FILE_BYTES (1LL << 30)
#define GRAPH_MAX_EDGES 200000000LL
#define GRAPH_MAX_NODES 100000000

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

/* Reads a whole file (NUL-terminated) under GRAPH_MAX_FILE_BYTES. Caller frees *buf. */
enum dcn_status graph_read_file(struct dcn_ctx *ctx, const char *path, char **buf, size_t *len);

enum dcn_status graph_load_graphml(struct dcn_ctx *ctx, const char *path, struct dcn_graph **out);
enum dcn_status graph_load_gml(struct dcn_ctx *ctx, const char *path, struct dcn_graph **out);
/* RandWire text ("N", "M", M lines "s t") or, when the first line holds two ids, a plain edge list. */
enum dcn_status graph_load_text(struct dcn_ctx *ctx, const char *path, int randwire_ok, struct dcn_graph **out);

/* CNM (igraph fastgreedy) takes ~20 s at 200k edges and igraph's Louvain minutes at 1M edges on
 * graphs without community structure, so statistics skip them above these sizes (null) and exports
 * write community -1 above the CNM limit. */
#define GRAPH_CNM_EDGE_LIMIT 100000
#define GRAPH_LOUVAIN_EDGE_LIMIT 300000

/* Communities by CNM (louvain = 0) or seeded Louvain (1); membership numbered by first vertex. */
enum dcn_status graph_communities(struct dcn_ctx *ctx, const struct dcn_graph *g, int louvain, uint64_t seed,
                                  int *membership, int *ncomm, double *modularity);

/* Labels "0".."n-1" for graphs whose vertices are plain integers. */
int graph_number_labels(struct dcn_graph *g);

#endif
