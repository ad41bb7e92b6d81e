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

#include "dcn/fields.h"
#include "dcn/sweep.h"
#include "spec_internal.h"

#define MAX_AXIS 1000000
#define MAX_TRIALS 1000000
#define MAX_SWEEP_BYTES (4 << 20)

/* one axis per trial field (include/dcn/fields.h), in the table's order */
struct raw {
    struct axis ax[DCN_N_FIELDS];
    /* rewire entries checked by loading their first graph once the data folder is known */
    struct axis rewire_checks;
};

void axis_free(struct axis *a)
{
    for (int i = 0; i < a->n; i++)
        if (!a->borrowed)
            free(a->v[i]);
    free(a->v);
    free(a->lines);
    memset(a, 0, sizeof *a);
}

enum dcn_status axis_push(struct dcn_ctx *ctx, const char *path, int line, struct axis *a, const char *v, size_t len)
{
    if (a->n >= MAX_AXIS)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: more than %d values in one axis", path, line, MAX_AXIS);
    if (a->n == a->cap) {
        int cap = a->cap ? 2 * a->cap : 16;
        char **nv = realloc(a->v, (size_t)cap * sizeof *nv);
        if (nv)
            a->v = nv;
        int *nl = nv ? realloc(a->lines, (size_t)cap * sizeof *nl) : NULL;
        if (nl)
            a->lines = nl;
        if (!nv || !nl)
            return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
        a->cap = cap;
    }
    char *s = strndup(v, len);
    if (!s)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
    a->lines[a->n] = line;
    a->v[a->n++] = s;
    return DCN_OK;
}

/* Expands "a..b" into the integers a..b (inclusive) for integer axes. */
enum dcn_status push_scalar(struct dcn_ctx *ctx, const char *path, int line, struct axis *a, const char *v,
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
    if (hi - lo >= MAX_RANGE)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: range '%s' has more than %d values", path, line, v, MAX_RANGE);
    for (long long i = lo; i <= hi; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%lld", i);
        enum dcn_status st = axis_push(ctx, path, line, a, buf, (size_t)n);
        if (st)
            return st;
    }
    return DCN_OK;
}

/* A key's value: a scalar or a list of scalars (the graphs list, which also takes family mappings and
 * glob patterns, is read by family_read_list). */
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
        enum dcn_status st =
            push_scalar(ctx, path, l, a, (const char *)n->data.scalar.value, n->data.scalar.length, allow_range);
        if (st)
            return st;
    }
    if (!a->n)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: '%s' is an empty list", path, line, key);
    return DCN_OK;
}

void sweep_free(struct sweep_spec *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_strings; i++)
        free(s->strings[i]);
    free(s->strings);
    free(s->trials);
    free(s->until);
    free(s->entries);
    free(s->graph_names);
    free(s->text);
    free(s);
}

/* Moves the string axes' texts into the spec's store, so the trials can point at them for the spec's
 * lifetime; one pointer per value, not a lookup per trial (10^5 trials over 10^4 graphs). */
static enum dcn_status adopt_strings(struct dcn_ctx *ctx, struct sweep_spec *s, struct raw *r)
{
    for (int k = 0; k < DCN_N_FIELDS; k++) {
        struct axis *a = &r->ax[k];
        if (dcn_fields[k].type != FIELD_STR || a->borrowed)
            continue;
        char **ns = realloc(s->strings, (size_t)(s->n_strings + a->n) * sizeof *ns);
        if (!ns)
            return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", s->path);
        s->strings = ns;
        memcpy(s->strings + s->n_strings, a->v, (size_t)a->n * sizeof *a->v);
        s->n_strings += a->n;
        a->borrowed = 1;
    }
    return DCN_OK;
}

/* The graphs axis in the order of the graphs list, pointing into the spec's store (adopt_strings first). */
static enum dcn_status keep_graph_names(struct dcn_ctx *ctx, struct sweep_spec *s, const struct axis *g)
{
    s->graph_names = malloc((size_t)(g->n ? g->n : 1) * sizeof *s->graph_names);
    if (!s->graph_names)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", s->path);
    for (int i = 0; i < g->n; i++)
        s->graph_names[i] = g->v[i];
    s->n_graph_names = g->n;
    return DCN_OK;
}

/* seeds: continued to the design's count the way family entries continue their graph seeds. */
static enum dcn_status grow_weight_seeds(struct dcn_ctx *ctx, struct sweep_spec *s, struct axis *a, int want)
{
    s->weight_seeds_written = a->n;
    unsigned long long top = 0;
    for (int i = 0; i < a->n; i++) {
        unsigned long long v = strtoull(a->v[i], NULL, 10); /* validated later, with its line */
        top = v > top ? v : top;
    }
    while (a->n < want) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%llu", ++top);
        enum dcn_status st = axis_push(ctx, s->path, a->line, a, buf, (size_t)n);
        if (st)
            return st;
    }
    s->weight_seeds = a->n;
    return DCN_OK;
}

static void raw_free(struct raw *r)
{
    for (int i = 0; i < DCN_N_FIELDS; i++)
        axis_free(&r->ax[i]);
    axis_free(&r->rewire_checks);
}

/* Checks every value of every axis once, with its line, before the product is built; enumerated
 * fields are also checked by the module that will use them (the graph and model parsers), so that
 * the sweep refuses what `dcn train` would refuse. */
static enum dcn_status validate(struct dcn_ctx *ctx, const char *path, struct raw *r)
{
    struct trial_config scratch;
    trial_config_init(&scratch);
    for (int k = 0; k < DCN_N_FIELDS; k++) {
        const struct field_desc *f = &dcn_fields[k];
        struct axis *a = &r->ax[k];
        for (int i = 0; i < a->n; i++) {
            char why[160];
            if (field_parse(f, a->v[i], &scratch, why, sizeof why))
                return dcn_fail(ctx, DCN_EINVAL, "%s:%d: %s: '%s' %s", path, a->lines[i], f->sweep_key, a->v[i], why);
            int freeze;
            if (k == FIELD_freeze && a->v[i][0] && model_freeze_parse(ctx, a->v[i], &freeze)) {
                dcn_err_prefix(ctx, "%s:%d: freeze", path, a->lines[i]);
                return DCN_EINVAL;
            }
        }
    }
    return DCN_OK;
}

/* Trial k of the product (the last field varies fastest) with the variants' normalisation: the
 * baseline does not depend on the graph, the ordering or freezing, the authors variant not on frozen */
static void product_trial(const struct raw *r, long k, struct trial_config *c)
{
    char why[8];
    for (int a = DCN_N_FIELDS - 1; a >= 0; a--) {
        const struct axis *ax = &r->ax[a];
        field_parse(&dcn_fields[a], ax->v[k % ax->n], c, why, sizeof why); /* validated before */
        k /= ax->n;
    }
    const int is_base = !strcmp(c->variant, "baseline");
    if (is_base) {
        c->graph = "none";
        c->order = "random";
        c->order_seed = 0;
    }
    if (is_base || !strcmp(c->variant, "authors"))
        c->frozen = 0;
}

/* The id and the duplicate check hash the whole configuration: t.fingerprint keeps its first 255
 * characters, and a long graph or dataset name (a path) must not cut off the fields after it (trials
 * differing only in seed, lr, limits, ... were once dropped as duplicates of the first). */
static enum dcn_status trial_identify(struct dcn_ctx *ctx, const char *path, struct sweep_trial *t, uint64_t *hash)
{
    int flen = trial_config_describe(&t->cfg, t->fingerprint, sizeof t->fingerprint);
    char *full = NULL;
    if (flen >= (int)sizeof t->fingerprint) {
        if (!(full = malloc((size_t)flen + 1)))
            return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
        trial_config_describe(&t->cfg, full, (size_t)flen + 1);
    }
    *hash = dcn_fnv1a(DCN_FNV_INIT, full ? full : t->fingerprint);
    free(full);
    snprintf(t->id, sizeof t->id, "t%016" PRIx64, *hash);
    return DCN_OK;
}

static enum dcn_status expand(struct dcn_ctx *ctx, struct sweep_spec *s, struct raw *r)
{
    const char *path = s->path;
    enum dcn_status st = validate(ctx, path, r);
    if (!st)
        st = adopt_strings(ctx, s, r);
    if (!st)
        st = keep_graph_names(ctx, s, &r->ax[FIELD_graph]);
    if (st)
        return st;
    double total = 1;
    for (int i = 0; i < DCN_N_FIELDS; i++)
        total *= r->ax[i].n;
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
    for (long k = 0; !st && k < (long)total; k++) {
        struct sweep_trial t;
        memset(&t, 0, sizeof t);
        product_trial(r, k, &t.cfg);
        uint64_t h = 0;
        if ((st = trial_identify(ctx, path, &t, &h)))
            break;
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
    return st;
}

enum dcn_status sweep_load(struct dcn_ctx *ctx, const char *path, struct sweep_spec **out)
{
    return sweep_load_design(ctx, path, NULL, out);
}

enum dcn_status sweep_load_design(struct dcn_ctx *ctx, const char *path, const struct sweep_design *design,
                                  struct sweep_spec **out)
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
    s->update_every = 60;

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
        const struct field_desc *fd = field_by_sweep_key(key);
        int found = fd != NULL;
        if (fd == &dcn_fields[FIELD_graph])
            st = family_read_list(ctx, path, &doc, v, line, &r.ax[FIELD_graph], &r.rewire_checks, design,
                                  &s->entries, &s->n_entries);
        else if (fd) /* seeds take ranges like 0..9 */
            st = read_axis(ctx, path, &doc, v, line, &r.ax[fd - dcn_fields], fd->type == FIELD_U64, key);
        if (found)
            continue;
        if (!strcmp(key, "until")) {
            st = until_parse(ctx, path, &doc, v, line, &s->until);
            continue;
        }
        if (!strcmp(key, "output") || !strcmp(key, "trials_dir") || !strcmp(key, "data_dir")) {
            if (!sval || !*sval) {
                st = dcn_fail(ctx, DCN_EINVAL, "%s:%d: '%s' must be a path", path, line, key);
                break;
            }
            char *dst = !strcmp(key, "output") ? s->output : !strcmp(key, "trials_dir") ? s->trials_dir : s->data_dir;
            snprintf(dst, sizeof s->output, "%s", sval);
        } else if (!strcmp(key, "ranks_per_trial")) {
            if (!sval || dcn_parse_int(sval, &s->ranks_per_trial, 1))
                st = dcn_fail(ctx, DCN_EINVAL, "%s:%d: ranks_per_trial must be a positive integer", path, line);
        } else if (!strcmp(key, "checkpoint_every") || !strcmp(key, "update_every")) {
            char *end = NULL;
            double *dst = key[0] == 'c' ? &s->checkpoint_every : &s->update_every;
            *dst = sval ? strtod(sval, &end) : -1;
            if (!sval || *end || !(*dst > 0))
                st = dcn_fail(ctx, DCN_EINVAL, "%s:%d: %s must be a positive number of seconds", path, line, key);
        } else {
            char known[1024] = "output, trials_dir, data_dir";
            for (int k2 = 0; k2 < DCN_N_FIELDS; k2++)
                snprintf(known + strlen(known), sizeof known - strlen(known), ", %s", dcn_fields[k2].sweep_key);
            st = dcn_fail(ctx, DCN_EINVAL, "%s:%d: unknown key '%s' (known: %s, checkpoint_every, update_every, "
                          "ranks_per_trial, until)", path, line, key, known);
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
    s->flat_trials = sweep_trials_flat(s->trials_dir);
    /* defaults: the paper's protocol (the field table's) */
    for (int k = 0; !st && k < DCN_N_FIELDS; k++)
        if (!r.ax[k].n)
            st = axis_push(ctx, path, 0, &r.ax[k], dcn_fields[k].def, strlen(dcn_fields[k].def));
    if (design)
        s->design = *design;
    if (s->design.round < 1)
        s->design.round = 1;
    if (!st)
        st = grow_weight_seeds(ctx, s, &r.ax[FIELD_seed], design ? design->weight_seeds : 0);
    if (!st)
        st = family_check(ctx, path, &r.rewire_checks, s->data_dir[0] ? s->data_dir : NULL);
    if (!st)
        st = expand(ctx, s, &r);
    if (!st && s->until)
        st = until_validate(ctx, s, r.ax);
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
