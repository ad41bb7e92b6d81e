/* The small containers the loaders, generators and statistics share: the growable edge-record
 * buffer, the string -> int map (GraphML node ids) and the set of vertex pairs (generators,
 * random references). Uses nothing else of the graph module. */
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

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
