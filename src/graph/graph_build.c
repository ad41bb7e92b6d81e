/* Reduction of edge records to the undirected simple CSR graph, graph_load's dispatch, and the small
 * containers the loaders and generators share. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "graph_internal.h"

/* ---- containers ---- */

int edgebuf_push(struct edgebuf *b, int u, int v)
{
    if (b->m == b->cap) {
        if (b->cap >= GRAPH_MAX_EDGES)
            return -1;
        int64_t nc = b->cap ? b->cap * 2 : 1024;
        int *nu = realloc(b->u, (size_t)nc * sizeof *nu);
        if (!nu)
            return -1;
        b->u = nu;
        int *nv = realloc(b->v, (size_t)nc * sizeof *nv);
        if (!nv)
            return -1;
        b->v = nv;
        b->cap = nc;
    }
    b->u[b->m] = u;
    b->v[b->m] = v;
    b->m++;
    return 0;
}

void edgebuf_free(struct edgebuf *b)
{
    free(b->u);
    free(b->v);
    memset(b, 0, sizeof *b);
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

int strmap_init(struct strmap *m, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2)
        cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = calloc(cap, sizeof *m->vals);
    m->cap = cap;
    m->len = 0;
    return m->keys && m->vals ? 0 : -1;
}

static int strmap_grow(struct strmap *m)
{
    struct strmap n;
    if (strmap_init(&n, m->cap))
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i])
            strmap_put(&n, m->keys[i], m->vals[i]);
    strmap_free(m);
    *m = n;
    return 0;
}

int strmap_put(struct strmap *m, const char *key, int val)
{
    if ((m->len + 1) * 2 > m->cap && strmap_grow(m))
        return -1;
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (!strcmp(m->keys[i], key))
            return 1;
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->len++;
    return 0;
}

int strmap_get(const struct strmap *m, const char *key)
{
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (!strcmp(m->keys[i], key))
            return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return -1;
}

void strmap_free(struct strmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

int u64set_init(struct u64set *s, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2 + 2)
        cap *= 2;
    s->slots = calloc(cap, sizeof *s->slots);
    s->cap = cap;
    s->len = s->used = 0;
    return s->slots ? 0 : -1;
}

int u64set_has(const struct u64set *s, uint64_t key)
{
    size_t i = hash_u64(key) & (s->cap - 1);
    while (s->slots[i]) {
        if (s->slots[i] == key + 2)
            return 1;
        i = (i + 1) & (s->cap - 1);
    }
    return 0;
}

static int u64set_rehash(struct u64set *s, size_t cap)
{
    struct u64set n = {calloc(cap, sizeof(uint64_t)), cap, 0, 0};
    if (!n.slots)
        return -1;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i] > 1) {
            size_t j = hash_u64(s->slots[i] - 2) & (cap - 1);
            while (n.slots[j])
                j = (j + 1) & (cap - 1);
            n.slots[j] = s->slots[i];
            n.len++;
            n.used++;
        }
    free(s->slots);
    *s = n;
    return 0;
}

int u64set_add(struct u64set *s, uint64_t key)
{
    if (u64set_has(s, key))
        return 1;
    if ((s->used + 1) * 2 > s->cap && u64set_rehash(s, s->len * 4 > s->cap ? s->cap * 2 : s->cap))
        return -1;
    size_t i = hash_u64(key) & (s->cap - 1);
    while (s->slots[i] > 1)
        i = (i + 1) & (s->cap - 1);
    if (!s->slots[i])
        s->used++;
    s->slots[i] = key + 2;
    s->len++;
    return 0;
}

void u64set_del(struct u64set *s, uint64_t key)
{
    size_t i = hash_u64(key) & (s->cap - 1);
    while (s->slots[i]) {
        if (s->slots[i] == key + 2) {
            s->slots[i] = 1; /* tombstone keeps later probes of the chain reachable */
            s->len--;
            return;
        }
        i = (i + 1) & (s->cap - 1);
    }
}

void u64set_free(struct u64set *s)
{
    free(s->slots);
    memset(s, 0, sizeof *s);
}

/* ---- reduction to an undirected simple graph ---- */

void graph_free(struct dcn_graph *g)
{
    if (!g)
        return;
    if (g->labels)
        for (int i = 0; i < g->n; i++)
            free(g->labels[i]);
    free(g->labels);
    free(g->coords);
    free(g->off);
    free(g->adj);
    free(g);
}

int graph_number_labels(struct dcn_graph *g)
{
    g->labels = calloc((size_t)g->n, sizeof *g->labels);
    if (!g->labels)
        return -1;
    for (int i = 0; i < g->n; i++) {
        char b[16];
        snprintf(b, sizeof b, "%d", i);
        if (!(g->labels[i] = strdup(b)))
            return -1;
    }
    return 0;
}

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

/* ---- files ---- */

enum dcn_status graph_read_file(struct dcn_ctx *ctx, const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        fclose(f);
        return dcn_fail(ctx, DCN_EIO, "%s: not a regular file", path);
    }
    if (st.st_size > GRAPH_MAX_FILE_BYTES) {
        fclose(f);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: %lld bytes is over the %lld-byte limit for graph files", path,
                        (long long)st.st_size, (long long)GRAPH_MAX_FILE_BYTES);
    }
    char *b = malloc((size_t)st.st_size + 1);
    if (!b) {
        fclose(f);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory reading %lld bytes", path, (long long)st.st_size);
    }
    size_t got = fread(b, 1, (size_t)st.st_size, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != (size_t)st.st_size) {
        free(b);
        return dcn_fail(ctx, DCN_EIO, "%s: read error", path);
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    return DCN_OK;
}

static int has_ext(const char *path, const char *ext)
{
    size_t lp = strlen(path), le = strlen(ext);
    return lp > le && !strcasecmp(path + lp - le, ext);
}

enum dcn_status graph_load(struct dcn_ctx *ctx, const char *spec, const char *data_dir, struct dcn_graph **out)
{
    *out = NULL;
    if (!spec || !*spec)
        return dcn_fail(ctx, DCN_EINVAL, "empty graph spec");
    const char *colon = strchr(spec, ':');
    if (colon && !strchr(spec, '/')) {
        size_t kl = (size_t)(colon - spec);
        if ((kl == 2 && (!strncmp(spec, "ws", 2) || !strncmp(spec, "er", 2) || !strncmp(spec, "ba", 2))))
            return graph_generate(ctx, spec, out);
        struct stat st;
        if (stat(spec, &st))
            return dcn_fail(ctx, DCN_EINVAL, "%s: unknown graph spec kind '%.*s' (expected ws:, er:, ba:, "
                            "celegans, mouse or a file)", spec, (int)kl, spec);
    }
    char path[1200];
    const char *file = spec;
    if (!strcmp(spec, "celegans") || !strcmp(spec, "mouse")) {
        const char *name = !strcmp(spec, "celegans") ? "celegansneural.gml" : "mouse_visual.cortex_2.graphml";
        /* a copy in the data folder (e.g. re-downloaded by `dcn data fetch connectomes`) wins over the
         * one shipped with dcn; both are checked against the same SHA-256 by fetch.sh */
        char dd[1024], rel[128];
        if (!data_dir)
            data_dir = dcn_data_dir(dd, sizeof dd);
        snprintf(path, sizeof path, "%s/connectomes/%s", data_dir, name);
        struct stat st;
        snprintf(rel, sizeof rel, "connectomes/%s", name);
        if (stat(path, &st) && dcn_shipped_file(rel, path, sizeof path))
            return dcn_fail(ctx, DCN_EIO, "graph '%s': %s not found in the data folder %s nor where dcn ships "
                            "it (%s); reinstall dcn or run `dcn data fetch connectomes`", spec, name, data_dir, path);
        file = path;
    }
    enum dcn_status st;
    if (has_ext(file, ".graphml") || has_ext(file, ".xml"))
        st = graph_load_graphml(ctx, file, out);
    else if (has_ext(file, ".gml"))
        st = graph_load_gml(ctx, file, out);
    else
        st = graph_load_text(ctx, file, has_ext(file, ".txt"), out);
    if (st == DCN_OK && file != spec) /* keep the name the user gave */
        snprintf((*out)->source, sizeof (*out)->source, "%s", spec);
    return st;
}
