/* Sweep files: YAML (libyaml's document API, which keeps line numbers for messages) expanded into the
 * Cartesian product of the axes. Duplicate trials (the baseline does not depend on the graph, the
 * ordering or freezing; the authors variant not on freezing) are dropped, so every trial id is unique. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "dcn/sweep.h"

#define MAX_AXIS 4096
#define MAX_TRIALS 1000000
#define MAX_SWEEP_BYTES (4 << 20)

struct axis {
    int n;
    char *v[MAX_AXIS]; /* scalar texts, owned */
    int line;
};

struct raw {
    struct axis graphs, datasets, variants, frozen, seeds, order_seeds, orders, epochs, batch, lr, channels,
        train_limit, test_limit;
};

static void axis_free(struct axis *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    a->n = 0;
}

static enum dcn_status axis_push(struct dcn_ctx *ctx, const char *path, int line, struct axis *a, const char *v,
                                 size_t len)
{
    if (a->n >= MAX_AXIS)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: more than %d values in one axis", path, line, MAX_AXIS);
    char *s = strndup(v, len);
    if (!s)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
    a->v[a->n++] = s;
    return DCN_OK;
}

/* Expands "a..b" into the integers a..b (inclusive) for integer axes. */
static enum dcn_status push_scalar(struct dcn_ctx *ctx, const char *path, int line, struct axis *a, const char *v,
                                   size_t len, int allow_range)
{
    const char *dots = allow_range ? strstr(v, "..") : NULL;
    if (!dots)
        return axis_push(ctx, path, line, a, v, len);
    char *end;
    errno = 0;
    long long lo = strtoll(v, &end, 10);
    if (end != dots || errno)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: bad range '%s' (expected e.g. 0..9)", path, line, v);
    long long hi = strtoll(dots + 2, &end, 10);
    if (*end || errno || hi < lo || lo < 0)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: bad range '%s' (expected e.g. 0..9)", path, line, v);
    if (hi - lo >= MAX_AXIS)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: range '%s' has more than %d values", path, line, v, MAX_AXIS);
    for (long long i = lo; i <= hi; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%lld", i);
        enum dcn_status st = axis_push(ctx, path, line, a, buf, (size_t)n);
        if (st)
            return st;
    }
    return DCN_OK;
}

static enum dcn_status read_axis(struct dcn_ctx *ctx, const char *path, yaml_document_t *doc, yaml_node_t *val,
                                 int line, struct axis *a, int allow_range, const char *key)
{
    a->line = line;
    if (a->n)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: key '%s' given twice", path, line, key);
    if (val->type == YAML_SCALAR_NODE)
        return push_scalar(ctx, path, line, a, (const char *)val->data.scalar.value, val->data.scalar.length,
                           allow_range);
    if (val->type != YAML_SEQUENCE_NODE)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: '%s' must be a value or a list of values", path, line, key);
    for (yaml_node_item_t *it = val->data.sequence.items.start; it < val->data.sequence.items.top; it++) {
        yaml_node_t *n = yaml_document_get_node(doc, *it);
        int l = (int)n->start_mark.line + 1;
        if (n->type != YAML_SCALAR_NODE)
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: the list '%s' must hold plain values", path, l, key);
        enum dcn_status st = push_scalar(ctx, path, l, a, (const char *)n->data.scalar.value, n->data.scalar.length,
                                         allow_range);
        if (st)
            return st;
    }
    if (!a->n)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: '%s' is an empty list", path, line, key);
    return DCN_OK;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno)
        return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, int *out, int min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > 1000000000L)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes") || !strcmp(s, "1"))
        *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no") || !strcmp(s, "0"))
        *out = 0;
    else
        return -1;
    return 0;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The trial's configuration as one string; returns its length (which may exceed len - 1). */
static int describe(char *buf, size_t len, const struct sweep_trial *t)
{
    return snprintf(buf, len,
                    "graph=%s;dataset=%s;variant=%s;frozen=%d;order=%s;order_seed=%" PRIu64 ";seed=%" PRIu64
                    ";epochs=%d;batch=%d;lr=%.17g;channels=%d;train_limit=%d;test_limit=%d",
                    t->graph, t->dataset, model_variant_name(t->variant), t->frozen, dag_order_name(t->order),
                    t->order_seed, t->seed, t->epochs, t->batch, t->lr, t->channels, t->train_limit, t->test_limit);
}

void sweep_free(struct sweep_spec *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_strings; i++)
        free(s->strings[i]);
    free(s->strings);
    free(s->trials);
    free(s->text);
    free(s);
}

static const char *intern(struct sweep_spec *s, const char *v)
{
    for (int i = 0; i < s->n_strings; i++)
        if (!strcmp(s->strings[i], v))
            return s->strings[i];
    char **ns = realloc(s->strings, (size_t)(s->n_strings + 1) * sizeof *ns);
    if (!ns)
        return NULL;
    s->strings = ns;
    s->strings[s->n_strings] = strdup(v);
    return s->strings[s->n_strings] ? s->strings[s->n_strings++] : NULL;
}

static void raw_free(struct raw *r)
{
    struct axis *all[] = {&r->graphs, &r->datasets, &r->variants, &r->frozen, &r->seeds, &r->order_seeds,
                          &r->orders, &r->epochs, &r->batch, &r->lr, &r->channels, &r->train_limit, &r->test_limit};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        axis_free(all[i]);
}

static enum dcn_status expand(struct dcn_ctx *ctx, struct sweep_spec *s, struct raw *r)
{
    const char *path = s->path;
    /* validate every value once, with its line, before building the product */
    enum model_variant variants[MAX_AXIS];
    enum dag_order orders[MAX_AXIS];
    int frozen[MAX_AXIS], ints[4][MAX_AXIS];
    uint64_t seeds[MAX_AXIS], oseeds[MAX_AXIS];
    double lrs[MAX_AXIS];
    for (int i = 0; i < r->variants.n; i++)
        if (model_variant_parse(ctx, r->variants.v[i], &variants[i]))
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: variants: unknown variant '%s' (paper, authors or baseline)", path,
                            r->variants.line, r->variants.v[i]);
    for (int i = 0; i < r->orders.n; i++)
        if (dag_order_parse(ctx, r->orders.v[i], &orders[i]))
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: orders: unknown ordering '%s' (random, identity, degree, bfs, coord)",
                            path, r->orders.line, r->orders.v[i]);
    for (int i = 0; i < r->frozen.n; i++)
        if (parse_bool(r->frozen.v[i], &frozen[i]))
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: frozen: '%s' is not true or false", path, r->frozen.line,
                            r->frozen.v[i]);
    for (int i = 0; i < r->seeds.n; i++)
        if (parse_u64(r->seeds.v[i], &seeds[i]))
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: seeds: '%s' is not a non-negative integer", path, r->seeds.line,
                            r->seeds.v[i]);
    for (int i = 0; i < r->order_seeds.n; i++)
        if (parse_u64(r->order_seeds.v[i], &oseeds[i]))
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: order_seeds: '%s' is not a non-negative integer", path,
                            r->order_seeds.line, r->order_seeds.v[i]);
    struct axis *iax[4] = {&r->epochs, &r->batch, &r->channels, &r->train_limit};
    const char *inames[4] = {"epochs", "batch", "channels", "train_limit"};
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < iax[k]->n; i++)
            if (parse_int(iax[k]->v[i], &ints[k][i], k == 3 ? 0 : 1))
                return dcn_fail(ctx, DCN_EINVAL, "%s:%d: %s: '%s' is not a %s integer", path, iax[k]->line, inames[k],
                                iax[k]->v[i], k == 3 ? "non-negative" : "positive");
    int test_limits[MAX_AXIS];
    for (int i = 0; i < r->test_limit.n; i++)
        if (parse_int(r->test_limit.v[i], &test_limits[i], 0))
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: test_limit: '%s' is not a non-negative integer", path,
                            r->test_limit.line, r->test_limit.v[i]);
    for (int i = 0; i < r->lr.n; i++) {
        char *end;
        lrs[i] = strtod(r->lr.v[i], &end);
        if (*end || !(lrs[i] > 0) || !isfinite(lrs[i]))
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: lr: '%s' is not a positive number", path, r->lr.line, r->lr.v[i]);
    }
    double total = 1;
    struct axis *all[] = {&r->graphs, &r->datasets, &r->variants, &r->frozen, &r->orders, &r->order_seeds,
                          &r->seeds, &r->epochs, &r->batch, &r->lr, &r->channels, &r->train_limit, &r->test_limit};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        total *= all[i]->n;
    if (total > MAX_TRIALS)
        return dcn_fail(ctx, DCN_EINVAL, "%s: the sweep has %.0f trials, more than the limit of %d", path, total,
                        MAX_TRIALS);
    s->trials = calloc((size_t)total, sizeof *s->trials);
    if (!s->trials)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory expanding %.0f trials", path, total);
    /* open-addressing set of trial hashes: duplicates come from the baseline's normalisation and
     * repeated axis values, and a 10^6-trial sweep must not take quadratic time */
    size_t cap = 1;
    while (cap < 2 * (size_t)total)
        cap <<= 1;
    uint64_t *seen = calloc(cap, sizeof *seen);
    if (!seen)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory expanding %.0f trials", path, total);
    int n = 0;
    int idx[13] = {0};
    for (long k = 0; k < (long)total; k++) {
        long rem = k;
        for (int a = 12; a >= 0; a--) { /* the last axis varies fastest */
            idx[a] = (int)(rem % all[a]->n);
            rem /= all[a]->n;
        }
        struct sweep_trial t = {0};
        t.variant = variants[idx[2]];
        int is_base = t.variant == MODEL_BASELINE;
        t.graph = intern(s, is_base ? "none" : r->graphs.v[idx[0]]);
        t.dataset = intern(s, r->datasets.v[idx[1]]);
        if (!t.graph || !t.dataset) {
            free(seen);
            return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
        }
        /* the authors variant always trains only its aggregation weights: frozen does not apply */
        t.frozen = is_base || t.variant == MODEL_AUTHORS ? 0 : frozen[idx[3]];
        t.order = is_base ? DAG_ORDER_RANDOM : orders[idx[4]];
        t.order_seed = is_base ? 0 : oseeds[idx[5]];
        t.seed = seeds[idx[6]];
        t.epochs = ints[0][idx[7]];
        t.batch = ints[1][idx[8]];
        t.lr = lrs[idx[9]];
        t.channels = ints[2][idx[10]];
        t.train_limit = ints[3][idx[11]];
        t.test_limit = test_limits[idx[12]];
        /* the id and the duplicate check hash the whole configuration: t.fingerprint keeps its first
         * 255 characters, and a long graph or dataset name (a path) cut off the fields after it, so
         * trials differing only in seed, lr, limits, ... were dropped as duplicates of the first */
        int flen = describe(t.fingerprint, sizeof t.fingerprint, &t);
        char *full = flen >= (int)sizeof t.fingerprint ? malloc((size_t)flen + 1) : NULL;
        if (flen >= (int)sizeof t.fingerprint && !full) {
            free(seen);
            return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
        }
        if (full)
            describe(full, (size_t)flen + 1, &t);
        uint64_t h = fnv1a(full ? full : t.fingerprint);
        free(full);
        snprintf(t.id, sizeof t.id, "t%016" PRIx64, h);
        uint64_t key = h ? h : 1; /* 0 marks an empty bucket */
        size_t b = (size_t)key & (cap - 1);
        while (seen[b] && seen[b] != key)
            b = (b + 1) & (cap - 1);
        if (seen[b])
            continue;
        seen[b] = key;
        t.index = n;
        s->trials[n++] = t;
    }
    free(seen);
    s->n_trials = n;
    return DCN_OK;
}

enum dcn_status sweep_load(struct dcn_ctx *ctx, const char *path, struct sweep_spec **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot open the sweep file: %s", path, strerror(errno));
    struct sweep_spec *s = calloc(1, sizeof *s);
    char *text = malloc(MAX_SWEEP_BYTES + 1);
    size_t len = text ? fread(text, 1, MAX_SWEEP_BYTES + 1, f) : 0;
    fclose(f);
    if (!s || !text) {
        free(s);
        free(text);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
    }
    if (len > MAX_SWEEP_BYTES) {
        free(s);
        free(text);
        return dcn_fail(ctx, DCN_EINVAL, "%s: larger than the %d MiB a sweep file may have", path, MAX_SWEEP_BYTES >> 20);
    }
    text[len] = 0;
    s->text = text;
    snprintf(s->path, sizeof s->path, "%s", path);
    s->checkpoint_every = 300;

    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    enum dcn_status st = DCN_OK;
    struct raw r;
    memset(&r, 0, sizeof r);
    if (!yaml_parser_load(&parser, &doc)) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s:%d:%d: YAML error: %s%s%s", path, (int)parser.problem_mark.line + 1,
                      (int)parser.problem_mark.column + 1, parser.problem ? parser.problem : "unknown problem",
                      parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        sweep_free(s);
        return st;
    }
    yaml_parser_delete(&parser);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: a sweep file is a mapping of keys (output, graphs, datasets, ...)", path,
                      root ? (int)root->start_mark.line + 1 : 1);
        goto out;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; !st && p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&doc, p->key), *v = yaml_document_get_node(&doc, p->value);
        int line = (int)k->start_mark.line + 1;
        if (k->type != YAML_SCALAR_NODE) {
            st = dcn_fail(ctx, DCN_EPARSE, "%s:%d: keys must be plain names", path, line);
            break;
        }
        const char *key = (const char *)k->data.scalar.value;
        const char *sval = v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
        struct {
            const char *name;
            struct axis *a;
            int range;
        } axes[] = {{"graphs", &r.graphs, 0},       {"datasets", &r.datasets, 0}, {"variants", &r.variants, 0},
                    {"frozen", &r.frozen, 0},       {"seeds", &r.seeds, 1},       {"order_seeds", &r.order_seeds, 1},
                    {"orders", &r.orders, 0},       {"epochs", &r.epochs, 0},     {"batch", &r.batch, 0},
                    {"lr", &r.lr, 0},               {"channels", &r.channels, 0}, {"train_limit", &r.train_limit, 0},
                    {"test_limit", &r.test_limit, 0}};
        int found = 0;
        for (size_t i = 0; i < sizeof axes / sizeof axes[0] && !found; i++)
            if (!strcmp(key, axes[i].name)) {
                found = 1;
                st = read_axis(ctx, path, &doc, v, line, axes[i].a, axes[i].range, key);
            }
        if (found)
            continue;
        if (!strcmp(key, "output") || !strcmp(key, "trials_dir") || !strcmp(key, "data_dir")) {
            if (!sval || !*sval) {
                st = dcn_fail(ctx, DCN_EINVAL, "%s:%d: '%s' must be a path", path, line, key);
                break;
            }
            char *dst = !strcmp(key, "output") ? s->output : !strcmp(key, "trials_dir") ? s->trials_dir : s->data_dir;
            snprintf(dst, sizeof s->output, "%s", sval);
        } else if (!strcmp(key, "ranks_per_trial")) {
            if (!sval || parse_int(sval, &s->ranks_per_trial, 1))
                st = dcn_fail(ctx, DCN_EINVAL, "%s:%d: ranks_per_trial must be a positive integer", path, line);
        } else if (!strcmp(key, "checkpoint_every")) {
            char *end = NULL;
            s->checkpoint_every = sval ? strtod(sval, &end) : -1;
            if (!sval || *end || !(s->checkpoint_every > 0))
                st = dcn_fail(ctx, DCN_EINVAL, "%s:%d: checkpoint_every must be a positive number of seconds", path, line);
        } else {
            st = dcn_fail(ctx, DCN_EINVAL,
                          "%s:%d: unknown key '%s' (known: output, trials_dir, data_dir, graphs, datasets, variants, "
                          "frozen, seeds, order_seeds, orders, epochs, batch, lr, channels, train_limit, test_limit, "
                          "checkpoint_every, ranks_per_trial)",
                          path, line, key);
        }
    }
    if (st)
        goto out;
    if (!s->output[0]) {
        st = dcn_fail(ctx, DCN_EINVAL, "%s: the key 'output' (the aggregate results file, e.g. results/sweep/results.h5) is required", path);
        goto out;
    }
    if (!s->trials_dir[0]) {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s", s->output);
        snprintf(s->trials_dir, sizeof s->trials_dir, "%s/trials", dirname(tmp));
    }
    /* defaults: the paper's protocol */
    struct {
        struct axis *a;
        const char *v;
    } defaults[] = {{&r.graphs, "ws:n=32,k=4,p=0.75,seed=0"}, {&r.datasets, "mnist"}, {&r.variants, "paper"},
                    {&r.frozen, "false"}, {&r.seeds, "0"}, {&r.order_seeds, "0"}, {&r.orders, "random"},
                    {&r.epochs, "50"}, {&r.batch, "32"}, {&r.lr, "0.001"}, {&r.channels, "78"},
                    {&r.train_limit, "0"}, {&r.test_limit, "0"}};
    for (size_t i = 0; !st && i < sizeof defaults / sizeof defaults[0]; i++)
        if (!defaults[i].a->n)
            st = axis_push(ctx, path, 0, defaults[i].a, defaults[i].v, strlen(defaults[i].v));
    if (!st)
        st = expand(ctx, s, &r);
out:
    raw_free(&r);
    yaml_document_delete(&doc);
    if (st) {
        sweep_free(s);
        return st;
    }
    *out = s;
    return DCN_OK;
}
