/* Graph families in a sweep file's graphs list: {family: ws, n: 32, k: 4, p: [0.0, 0.5], seed: 0..9}
 * becomes the graph specs ws:n=32,k=4,p=0.0,seed=0 ... that `dcn train --graph` accepts, so any trial
 * can be rerun alone; a glob pattern becomes the files it matches, sorted. Each spec is checked by
 * the graph module's own parser (graph_spec_parse), with the entry's line, before anything runs. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dcn/graph.h"
#include "spec_internal.h"

#define FAMILY_KEYS 4
#define SPEC_MAX 1024

/* The keys of each family in the order of its spec; required keys have no default. */
struct family {
    const char *name;
    const char *keys[FAMILY_KEYS];
    const char *defaults[FAMILY_KEYS]; /* NULL: required; "": omitted from the spec when absent; else
                                        * written into the spec when absent */
    int ranged[FAMILY_KEYS];           /* integer keys take a..b ranges */
};

static const struct family families[] = {
    {"ws", {"n", "k", "p", "seed"}, {NULL, NULL, NULL, ""}, {1, 1, 0, 1}},
    {"er", {"n", "p", "seed"}, {NULL, NULL, ""}, {1, 0, 1}},
    {"ba", {"n", "m", "seed"}, {NULL, NULL, ""}, {1, 1, 1}},
    {"gnm", {"n", "m", "seed"}, {NULL, NULL, ""}, {1, 1, 1}},
    /* a rewire spec always names its options: without them the options are read from the right, and a
     * generator base's own seed would be taken for the rewiring's */
    {"rewire", {"graph", "swaps_per_edge", "seed"}, {NULL, "10", "0"}, {0, 0, 1}},
};
#define N_FAMILIES (int)(sizeof families / sizeof families[0])

static const struct family *family_find(const char *name)
{
    for (int i = 0; i < N_FAMILIES; i++)
        if (!strcmp(families[i].name, name))
            return &families[i];
    return NULL;
}

static int key_index(const struct family *fam, const char *key)
{
    for (int i = 0; i < FAMILY_KEYS && fam->keys[i]; i++)
        if (!strcmp(fam->keys[i], key))
            return i;
    return -1;
}

/* The extensions graph_load reads as graph files. A file named alone may have any other (it is read
 * as an edge list), but a pattern takes only these, so that a pattern matching everything in /etc
 * fails here, naming what it matched, instead of becoming trials of folders and unrelated files that
 * fail only when they run. */
static const char *const graph_exts[] = {".graphml", ".xml", ".gml", ".txt", ".el", ".edges", ".edgelist"};
#define N_GRAPH_EXTS (int)(sizeof graph_exts / sizeof graph_exts[0])
#define GLOB_NAMED_MAX 5 /* rejected matches named in the message; the rest are counted */

/* NULL when path is a regular file with a graph extension, else why it is not a graph file. */
static const char *glob_reject(const char *path)
{
    struct stat st;
    if (stat(path, &st))
        return "cannot be read";
    if (S_ISDIR(st.st_mode))
        return "a folder";
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    size_t lp = strlen(path);
    for (int i = 0; i < N_GRAPH_EXTS; i++) {
        size_t le = strlen(graph_exts[i]);
        if (lp > le && !strcasecmp(path + lp - le, graph_exts[i]))
            return NULL;
    }
    return "no graph extension";
}

/* Fails naming the matches of g that are not graph files, if there are any. */
static enum dcn_status glob_check(struct dcn_ctx *ctx, const char *path, int line, const char *pattern,
                                  const glob_t *g)
{
    char named[1024] = "", exts[128] = "";
    size_t bad = 0;
    for (size_t i = 0; i < g->gl_pathc; i++) {
        const char *why = glob_reject(g->gl_pathv[i]);
        if (why && bad++ < GLOB_NAMED_MAX)
            snprintf(named + strlen(named), sizeof named - strlen(named), "%s%.150s (%s)", bad > 1 ? ", " : "",
                     g->gl_pathv[i], why);
    }
    if (!bad)
        return DCN_OK;
    for (int i = 0; i < N_GRAPH_EXTS; i++)
        snprintf(exts + strlen(exts), sizeof exts - strlen(exts), "%s%s", i ? " " : "", graph_exts[i]);
    char more[48] = "";
    if (bad > GLOB_NAMED_MAX)
        snprintf(more, sizeof more, " and %zu more", bad - GLOB_NAMED_MAX);
    return dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: %zu of the %zu matches of the pattern '%s' are not graph "
                    "files (a pattern takes only regular files ending in %s): %s%s", path, line, bad, g->gl_pathc,
                    pattern, exts, named, more);
}

static enum dcn_status push_glob(struct dcn_ctx *ctx, const char *path, int line, const char *pattern,
                                 struct axis *graphs)
{
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g); /* sorted by default */
    if (rc == GLOB_NOMATCH)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: the pattern '%s' matches no file", path, line, pattern);
    if (rc)
        return dcn_fail(ctx, DCN_EIO, "%s:%d: graphs: cannot expand the pattern '%s'", path, line, pattern);
    enum dcn_status st = glob_check(ctx, path, line, pattern, &g);
    for (size_t i = 0; !st && i < g.gl_pathc; i++)
        st = axis_push(ctx, path, line, graphs, g.gl_pathv[i], strlen(g.gl_pathv[i]));
    globfree(&g);
    return st;
}

/* Reads the entry's values into vals[key] (scalars, lists, ranges) and checks the family's keys. */
static enum dcn_status family_values(struct dcn_ctx *ctx, const char *path, yaml_document_t *doc, yaml_node_t *item,
                                     const struct family **famp, struct axis vals[FAMILY_KEYS])
{
    int line = (int)item->start_mark.line + 1;
    const struct family *fam = NULL;
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
        if (k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, "family")) {
            const char *name = v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : "";
            if (!(fam = family_find(name)))
                return dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: key 'family': unknown family '%s' (known: ws, er, "
                                "ba, gnm, rewire)", path, (int)v->start_mark.line + 1, name);
        }
    }
    if (!fam)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: an entry given as a mapping needs the key 'family' (ws, er, "
                        "ba, gnm or rewire)", path, line);
    *famp = fam;
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
        int kl = (int)k->start_mark.line + 1;
        const char *key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
        if (!strcmp(key, "family"))
            continue;
        int i = key_index(fam, key);
        if (i < 0) {
            char known[128] = "";
            for (int j = 0; j < FAMILY_KEYS && fam->keys[j]; j++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", j ? ", " : "", fam->keys[j]);
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: family %s has no key '%s' (its keys: %s)", path, kl,
                            fam->name, key, known);
        }
        if (vals[i].n)
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: key '%s' given twice", path, kl, key);
        vals[i].line = kl;
        if (v->type == YAML_SCALAR_NODE) {
            enum dcn_status st = push_scalar(ctx, path, kl, &vals[i], (const char *)v->data.scalar.value,
                                             v->data.scalar.length, fam->ranged[i]);
            if (st)
                return st;
            continue;
        }
        if (v->type != YAML_SEQUENCE_NODE)
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: key '%s' must be a value or a list of values", path, kl, key);
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
            yaml_node_t *n = yaml_document_get_node(doc, *it);
            if (n->type != YAML_SCALAR_NODE)
                return dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: the list '%s' must hold plain values", path, kl, key);
            enum dcn_status st = push_scalar(ctx, path, (int)n->start_mark.line + 1, &vals[i],
                                             (const char *)n->data.scalar.value, n->data.scalar.length, fam->ranged[i]);
            if (st)
                return st;
        }
        if (!vals[i].n)
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: key '%s' is an empty list", path, kl, key);
    }
    for (int i = 0; i < FAMILY_KEYS && fam->keys[i]; i++) {
        if (!vals[i].n && !fam->defaults[i])
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: family %s needs the key '%s'", path, line, fam->name,
                            fam->keys[i]);
        if (!vals[i].n && fam->defaults[i][0]) {
            enum dcn_status st = axis_push(ctx, path, line, &vals[i], fam->defaults[i], strlen(fam->defaults[i]));
            if (st)
                return st;
        }
    }
    return DCN_OK;
}

/* The spec of combination idx of the entry's values (the last key varying fastest). */
static int family_spec(const struct family *fam, const struct axis vals[FAMILY_KEYS], long idx, char *spec,
                       size_t len, int *line)
{
    int nk = 0, at[FAMILY_KEYS];
    while (nk < FAMILY_KEYS && fam->keys[nk])
        nk++;
    for (int i = nk - 1; i >= 0; i--) {
        int n = vals[i].n ? vals[i].n : 1;
        at[i] = (int)(idx % n);
        idx /= n;
    }
    *line = vals[0].line;
    size_t o = (size_t)snprintf(spec, len, "%s:", fam->name);
    int first = 1;
    for (int i = 0; i < nk && o < len; i++) {
        if (!vals[i].n)
            continue;
        *line = vals[i].lines[at[i]];
        if (!strcmp(fam->keys[i], "graph")) /* rewire:<base>,swaps_per_edge=..,seed=.. */
            o += (size_t)snprintf(spec + o, len - o, "%s", vals[i].v[at[i]]);
        else
            o += (size_t)snprintf(spec + o, len - o, "%s%s=%s", first ? "" : ",", fam->keys[i], vals[i].v[at[i]]);
        first = 0;
    }
    return o < len ? 0 : -1;
}

/* Continues the seed list (always a family's last key) to at least want values: after 0..4 come 5, 6, ...
 * (each new seed one more than the largest so far), so a round's graphs include the last round's. */
static enum dcn_status grow_seeds(struct dcn_ctx *ctx, const char *path, struct axis *seeds, int want)
{
    unsigned long long top = 0;
    for (int i = 0; i < seeds->n; i++) {
        unsigned long long v = strtoull(seeds->v[i], NULL, 10);
        top = v > top ? v : top;
    }
    while (seeds->n < want) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%llu", ++top);
        enum dcn_status st = axis_push(ctx, path, seeds->line, seeds, buf, (size_t)n);
        if (st)
            return st;
    }
    return DCN_OK;
}

static enum dcn_status expand_mapping(struct dcn_ctx *ctx, const char *path, yaml_document_t *doc, yaml_node_t *item,
                                      struct axis *graphs, struct axis *checks, int grow_to, struct sweep_entry *e)
{
    struct axis vals[FAMILY_KEYS];
    memset(vals, 0, sizeof vals);
    const struct family *fam = NULL;
    enum dcn_status st = family_values(ctx, path, doc, item, &fam, vals);
    int si = fam ? key_index(fam, "seed") : -1;
    if (!st && si >= 0 && vals[si].n) {
        e->seeds_written = vals[si].n;
        if (grow_to > vals[si].n)
            st = grow_seeds(ctx, path, &vals[si], grow_to);
        e->seeds = vals[si].n;
    }
    if (fam)
        snprintf(e->family, sizeof e->family, "%s", fam->name);
    double total = 1;
    for (int i = 0; !st && i < FAMILY_KEYS; i++)
        total *= vals[i].n ? vals[i].n : 1;
    if (!st && total > 1e6)
        st = dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: the family entry gives %.0f graphs, more than 10^6", path,
                      (int)item->start_mark.line + 1, total);
    /* the base graph is the rewire family's first key: it changes every per_base specs */
    long per_base = !st && vals[0].n ? (long)total / vals[0].n : 1;
    for (long k = 0; !st && k < (long)total; k++) {
        char spec[SPEC_MAX];
        int line;
        struct dcn_graph_spec gs;
        if (family_spec(fam, vals, k, spec, sizeof spec, &line)) {
            st = dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: the spec '%.60s...' is too long", path, line, spec);
        } else if ((st = graph_spec_parse(ctx, spec, &gs))) {
            dcn_err_prefix(ctx, "%s:%d: graphs: family %s", path, line, fam->name);
        } else {
            st = axis_push(ctx, path, line, graphs, spec, strlen(spec));
            if (!st && !strcmp(fam->name, "rewire") && k % per_base == 0)
                st = axis_push(ctx, path, line, checks, spec, strlen(spec));
        }
    }
    for (int i = 0; i < FAMILY_KEYS; i++)
        axis_free(&vals[i]);
    return st;
}

static enum dcn_status family_expand(struct dcn_ctx *ctx, const char *path, yaml_document_t *doc, yaml_node_t *item,
                                     struct axis *graphs, struct axis *checks, int grow_to, struct sweep_entry *e)
{
    int line = (int)item->start_mark.line + 1;
    if (item->type == YAML_MAPPING_NODE)
        return expand_mapping(ctx, path, doc, item, graphs, checks, grow_to, e);
    if (item->type != YAML_SCALAR_NODE)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: graphs: an entry is a graph spec, a glob pattern or a family "
                        "mapping {family: ws, ...}", path, line);
    const char *v = (const char *)item->data.scalar.value;
    /* generator specs never contain glob characters; file names with them must be written escaped */
    if (strpbrk(v, "*?["))
        return push_glob(ctx, path, line, v, graphs);
    return axis_push(ctx, path, line, graphs, v, item->data.scalar.length);
}

enum dcn_status family_check(struct dcn_ctx *ctx, const char *path, const struct axis *checks, const char *data_dir)
{
    for (int i = 0; i < checks->n; i++) {
        struct dcn_graph *g = NULL;
        enum dcn_status st = graph_load(ctx, checks->v[i], data_dir, &g);
        graph_free(g);
        if (st) {
            dcn_err_prefix(ctx, "%s:%d: graphs: family rewire", path, checks->lines[i]);
            return st;
        }
    }
    return DCN_OK;
}

/* Whether item i of the graphs list grows in design d, and to how many seeds (0: as written). */
static int grow_target(const struct sweep_design *d, int i)
{
    if (!d || d->graph_seeds <= 0)
        return 0;
    for (int k = 0; k < d->n_grow; k++)
        if (d->grow[k] == i)
            return d->graph_seeds;
    return 0;
}

enum dcn_status family_read_list(struct dcn_ctx *ctx, const char *path, yaml_document_t *doc, yaml_node_t *val,
                                 int line, struct axis *graphs, struct axis *checks, const struct sweep_design *d,
                                 struct sweep_entry **entries, int *n_entries)
{
    graphs->line = line;
    if (graphs->n)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: key 'graphs' given twice", path, line);
    int n = 1;
    yaml_node_item_t *first = NULL;
    if (val->type == YAML_SEQUENCE_NODE) {
        first = val->data.sequence.items.start;
        n = (int)(val->data.sequence.items.top - first);
        if (!n)
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: 'graphs' is an empty list", path, line);
    } else if (val->type != YAML_SCALAR_NODE && val->type != YAML_MAPPING_NODE) {
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: 'graphs' must be a value or a list of values", path, line);
    }
    struct sweep_entry *e = calloc((size_t)n, sizeof *e);
    if (!e)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
    *entries = e;
    *n_entries = n;
    for (int i = 0; i < n; i++) {
        yaml_node_t *item = first ? yaml_document_get_node(doc, first[i]) : val;
        e[i].line = (int)item->start_mark.line + 1;
        e[i].first = graphs->n;
        enum dcn_status st = family_expand(ctx, path, doc, item, graphs, checks, grow_target(d, i), &e[i]);
        if (st)
            return st;
        e[i].count = graphs->n - e[i].first;
    }
    return DCN_OK;
}
