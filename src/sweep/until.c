/* until: a sweep that runs in rounds until every named comparison is known to a stated precision
 * (README "dcn sweep", issue 26). Round 1 is the sweep as written; after each round a script refits
 * the comparisons (analysis/until.py through the CLI's callback) and decides: stop, or a next design
 * that continues the seed lists of the family entries holding a compared group and of seeds:. The
 * trials of a design are a superset of the last one's (ids come from configurations), so a round
 * reruns nothing that is done.
 *
 * The decisions live in results.h5 under /until (layout in the README): each one is written into a
 * copy of the file in memory and renamed into place before it is acted on, so a crash never leaves
 * half a decision, and a rerun takes up the recorded round with the same trials. sweep_merge carries
 * /until over when it rebuilds the file. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dcn/fields.h"
#include "dcn/io.h"
#include "io/h5util.h"
#include "dcn/sweep.h"
#include "spec_internal.h"

/* ---------------------------------------------------------------- the until: mapping */

static const char *node_text(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int node_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

/* A qualifier {frozen: true} of a group: a configuration field (not the graph: that is the group; not a
 * seed: seeds are the group's replicates) and a value it accepts. */
static enum dcn_status parse_where(struct dcn_ctx *ctx, const char *path, const char *key, const yaml_node_t *v,
                                   int line, struct sweep_until_group *g)
{
    const struct field_desc *f = field_by_name(key);
    if (!f)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare: unknown key '%s' (group, or a configuration field "
                        "such as frozen, dataset, variant, lr)", path, line, key);
    if (f == &dcn_fields[FIELD_graph] || (f->flags & FIELD_SEED))
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare: '%s' cannot select a group's trials (the graph "
                        "makes the group, seeds are its replicates)", path, line, key);
    for (int i = 0; i < g->n_where; i++)
        if (g->where[i].field == (int)(f - dcn_fields))
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare: key '%s' given twice", path, line, key);
    if (g->n_where == SWEEP_UNTIL_WHERE)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare: more than %d fields select one group", path, line,
                        SWEEP_UNTIL_WHERE);
    const char *text = node_text(v);
    struct trial_config scratch;
    trial_config_init(&scratch);
    char why[160] = "must be a plain value";
    if (!text || strlen(text) >= sizeof g->where[0].value || field_parse(f, text, &scratch, why, sizeof why))
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare: %s: '%s' %s", path, line, key, text ? text : "", why);
    struct sweep_until_where *w = &g->where[g->n_where++];
    w->field = (int)(f - dcn_fields);
    w->line = line;
    snprintf(w->value, sizeof w->value, "%s", text);
    return DCN_OK;
}

/* One group of compare: a name as `dcn report --compare` takes it, or {group: NAME, frozen: true, ...}. */
static enum dcn_status parse_group(struct dcn_ctx *ctx, const char *path, yaml_document_t *doc, yaml_node_t *n,
                                   struct sweep_until_group *g)
{
    g->line = node_line(n);
    if (n->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
            const char *key = node_text(k) ? node_text(k) : "", *name = node_text(v);
            if (strcmp(key, "group")) {
                enum dcn_status st = parse_where(ctx, path, key, v, node_line(k), g);
                if (st)
                    return st;
            } else if (g->token[0]) {
                return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare: key 'group' given twice", path, node_line(k));
            } else if (!name || !*name || strlen(name) >= sizeof g->token) {
                return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare: group must be a name (a graph spec, a family "
                                "such as gnm, family:base such as rewire:mouse)", path, node_line(k));
            } else {
                snprintf(g->token, sizeof g->token, "%s", name);
            }
        }
        if (!g->token[0])
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare: a mapping names its graphs with the key 'group' "
                            "(e.g. {group: \"ws:n=32,k=4,p=0.5\", frozen: true})", path, g->line);
        return DCN_OK;
    }
    const char *text = node_text(n);
    if (!text || !*text || strlen(text) >= sizeof g->token)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare: a group is a name (a graph spec, a family such as "
                        "gnm, family:base such as rewire:mouse) or {group: NAME, frozen: true}", path, g->line);
    snprintf(g->token, sizeof g->token, "%s", text);
    return DCN_OK;
}

static int same_group(const struct sweep_until_group *a, const struct sweep_until_group *b)
{
    if (strcmp(a->token, b->token) || a->n_where != b->n_where)
        return 0;
    for (int i = 0; i < a->n_where; i++) {
        int found = 0;
        for (int j = 0; j < b->n_where; j++)
            found |= a->where[i].field == b->where[j].field && !strcmp(a->where[i].value, b->where[j].value);
        if (!found)
            return 0;
    }
    return 1;
}

static enum dcn_status parse_compare(struct dcn_ctx *ctx, const char *path, yaml_document_t *doc, yaml_node_t *v,
                                     int line, struct sweep_until *u)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare must be a list of at least two groups", path, line);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        if (u->n_groups == SWEEP_UNTIL_GROUPS)
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare names more than %d groups", path, line,
                            SWEEP_UNTIL_GROUPS);
        struct sweep_until_group *g = &u->groups[u->n_groups];
        enum dcn_status st = parse_group(ctx, path, doc, yaml_document_get_node(doc, *it), g);
        if (st)
            return st;
        for (int i = 0; i < u->n_groups; i++)
            if (same_group(&u->groups[i], g))
                return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare: '%s' named twice (also line %d)", path,
                                g->line, g->token, u->groups[i].line);
        u->n_groups++;
    }
    if (u->n_groups < 2)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare must be a list of at least two groups", path, line);
    return DCN_OK;
}

static enum dcn_status parse_key(struct dcn_ctx *ctx, const char *path, yaml_document_t *doc, const char *key,
                                 yaml_node_t *v, int line, struct sweep_until *u)
{
    const char *text = node_text(v);
    if (!strcmp(key, "compare"))
        return parse_compare(ctx, path, doc, v, line, u);
    if (!strcmp(key, "half_width")) {
        char *end = NULL;
        u->half_width = text ? strtod(text, &end) : NAN;
        if (!text || !*text || *end || !isfinite(u->half_width) || u->half_width <= 0)
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: half_width must be a positive number of accuracy points "
                            "(percent; the target half-width of each 95%% CI), got '%s'", path, line, text ? text : "");
        return DCN_OK;
    }
    if (!strcmp(key, "max_trials") && (!text || dcn_parse_int(text, &u->max_trials, 1)))
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: max_trials must be a positive integer (the budget: trials of "
                        "all rounds), got '%s'", path, line, text ? text : "");
    if (!strcmp(key, "round") && (!text || dcn_parse_int(text, &u->round_trials, 1)))
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: round must be a positive integer (the trials a round may "
                        "add), got '%s'", path, line, text ? text : "");
    return DCN_OK;
}

enum dcn_status until_parse(struct dcn_ctx *ctx, const char *path, yaml_document_t *doc, yaml_node_t *val, int line,
                            struct sweep_until **out)
{
    if (*out)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: key 'until' given twice", path, line);
    if (val->type != YAML_MAPPING_NODE)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: must be a mapping {compare: [A, B], half_width: H, "
                        "max_trials: N, round: R}", path, line);
    struct sweep_until *u = calloc(1, sizeof *u);
    if (!u)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
    *out = u; /* freed with the spec, also on failure */
    u->line = line;
    static const char *const keys[] = {"compare", "half_width", "max_trials", "round"};
    int seen[4] = {0};
    for (yaml_node_pair_t *p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
        const char *key = node_text(k) ? node_text(k) : "";
        int kl = node_line(k), which = -1;
        for (int i = 0; i < 4; i++)
            which = !strcmp(key, keys[i]) ? i : which;
        if (which < 0)
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: unknown key '%s' (known: compare, half_width, max_trials, "
                            "round)", path, kl, key);
        if (seen[which]++)
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: key '%s' given twice", path, kl, key);
        enum dcn_status st = parse_key(ctx, path, doc, key, v, kl, u);
        if (st)
            return st;
    }
    for (int i = 0; i < 3; i++) /* round is optional: by default a round adds as many trials as round 1 has */
        if (!seen[i])
            return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: needs the key '%s' (until: {compare: [A, B], half_width: "
                            "H, max_trials: N, round: R})", path, line, keys[i]);
    return DCN_OK;
}

/* Field f's value as canonical text (what the trial ids are made of), for comparing values. */
static void canonical(const struct field_desc *f, const char *text, char *buf, size_t len)
{
    struct trial_config c;
    trial_config_init(&c);
    char why[8];
    field_parse(f, text, &c, why, sizeof why);
    field_format(f, &c, buf, len);
}

/* A qualifier must name a value the sweep has, or its group would hold no trial. */
static enum dcn_status check_where(struct dcn_ctx *ctx, const char *path, const struct sweep_until_where *w,
                                   const struct axis *a)
{
    const struct field_desc *f = &dcn_fields[w->field];
    char want[160], have[160], list[256] = "";
    canonical(f, w->value, want, sizeof want);
    for (int i = 0; i < a->n; i++) {
        canonical(f, a->v[i], have, sizeof have);
        if (!strcmp(want, have))
            return DCN_OK;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", a->v[i]);
    }
    return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: compare: %s: '%s' is not a value of the sweep (its %s: %s)", path,
                    w->line, f->name, w->value, f->sweep_key, list);
}

enum dcn_status until_validate(struct dcn_ctx *ctx, const struct sweep_spec *s, const struct axis *ax)
{
    const struct sweep_until *u = s->until;
    for (int g = 0; g < u->n_groups; g++)
        for (int i = 0; i < u->groups[g].n_where; i++) {
            enum dcn_status st = check_where(ctx, s->path, &u->groups[g].where[i], &ax[u->groups[g].where[i].field]);
            if (st)
                return st;
        }
    if (s->n_trials > u->max_trials && s->design.round <= 1)
        return dcn_fail(ctx, DCN_EINVAL, "%s:%d: until: max_trials %d is less than the %d trials of the sweep as "
                        "written (round 1)", s->path, u->line, u->max_trials, s->n_trials);
    if (s->n_trials > u->max_trials)
        return dcn_fail(ctx, DCN_EINVAL, "%s: until: round %d's design has %d trials, more than max_trials %d", s->path,
                        s->design.round, s->n_trials, u->max_trials);
    return DCN_OK;
}

/* ---------------------------------------------------------------- the rule in words and as JSON */

static int group_text(const struct sweep_until_group *g, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s", g->token);
    for (int i = 0; i < g->n_where && n >= 0 && (size_t)n < len; i++)
        n += snprintf(buf + n, len - (size_t)n, "%s%s=%s%s", i ? ", " : " [", dcn_fields[g->where[i].field].name,
                      g->where[i].value, i == g->n_where - 1 ? "]" : "");
    return n;
}

int sweep_until_describe(const struct sweep_spec *s, char *buf, size_t len)
{
    const struct sweep_until *u = s->until;
    if (!u)
        return snprintf(buf, len, "no until: section");
    char groups[2048] = "";
    for (int g = 0; g < u->n_groups; g++) {
        size_t o = strlen(groups);
        if (o + 4 < sizeof groups) {
            snprintf(groups + o, sizeof groups - o, "%s", g ? ", " : "");
            o = strlen(groups);
            group_text(&u->groups[g], groups + o, sizeof groups - o);
        }
    }
    char round[64];
    if (u->round_trials)
        snprintf(round, sizeof round, "at most %d", u->round_trials);
    else
        snprintf(round, sizeof round, "at most as many as round 1 (%d)", s->n_trials);
    return snprintf(buf, len,
                    "until (%s:%d): round 1 is the sweep as written; after each round every pair of %s is refitted in"
                    " each stratum (graphs as the unit: a mixed model when both sides hold several graphs, the "
                    "difference from the null ensemble's mean when one side is a single graph) and the sweep stops "
                    "when every contrast's 95%% CI half-width is at most %g accuracy points (never on a p-value) or "
                    "when the budget of %d trials allows no further round; a round adds %s trials: more graph seeds "
                    "for the family entries holding a compared group, more values of seeds:, in the proportions the "
                    "planner finds best",
                    s->path, u->line, groups, u->half_width, u->max_trials, round);
}

/* A qualifier's value as JSON by its field's type (strings quoted, booleans true/false, numbers). */
static void json_where_value(FILE *f, const struct sweep_until_where *w)
{
    const struct field_desc *fd = &dcn_fields[w->field];
    struct trial_config c;
    trial_config_init(&c);
    char why[8], text[160];
    field_parse(fd, w->value, &c, why, sizeof why);
    if (fd->type == FIELD_STR) {
        dcn_json_string(f, w->value);
    } else if (fd->type == FIELD_BOOL) {
        fputs(*(const int *)field_cptr(fd, &c) ? "true" : "false", f);
    } else {
        field_format(fd, &c, text, sizeof text);
        fputs(text, f);
    }
}

static void json_rule(FILE *f, const struct sweep_spec *s, int round1_trials)
{
    const struct sweep_until *u = s->until;
    fprintf(f, "{\"line\": %d, \"half_width\": %.17g, \"max_trials\": %d, \"round_trials\": %d, \"compare\": [",
            u->line, u->half_width, u->max_trials, u->round_trials ? u->round_trials : round1_trials);
    for (int g = 0; g < u->n_groups; g++) {
        fprintf(f, "%s{\"token\": ", g ? ", " : "");
        dcn_json_string(f, u->groups[g].token);
        fprintf(f, ", \"line\": %d, \"where\": {", u->groups[g].line);
        for (int i = 0; i < u->groups[g].n_where; i++) {
            fprintf(f, "%s", i ? ", " : "");
            dcn_json_string(f, dcn_fields[u->groups[g].where[i].field].name);
            fputs(": ", f);
            json_where_value(f, &u->groups[g].where[i]);
        }
        fputs("}}", f);
    }
    fputs("]}", f);
}

static void json_design(FILE *f, const struct sweep_design *d)
{
    fprintf(f, "{\"round\": %d, \"graph_seeds\": %d, \"weight_seeds\": %d, \"grow_entries\": [", d->round,
            d->graph_seeds, d->weight_seeds);
    for (int i = 0; i < d->n_grow; i++)
        fprintf(f, "%s%d", i ? ", " : "", d->grow[i]);
    fputs("]}", f);
}

/* The script's input: the rule, this round's design and trial count, the graphs list's items and the
 * graphs each gave (which family entries can grow, and by how much a step costs). */
static enum dcn_status write_input(struct dcn_ctx *ctx, const struct sweep_spec *s, const char *mode, int round1_trials,
                                   const char *file)
{
    FILE *f = fopen(file, "w");
    if (!f)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot write the input of the until: script: %s", file, strerror(errno));
    fprintf(f, "{\"mode\": \"%s\", \"sweep\": ", mode);
    dcn_json_string(f, s->path);
    fputs(", \"results\": ", f);
    dcn_json_string(f, s->output);
    fprintf(f, ", \"round\": %d, \"trials\": %d, \"round1_trials\": %d, \"weight_seeds_written\": %d, "
            "\"weight_seeds\": %d,\n \"rule\": ", s->design.round, s->n_trials, round1_trials, s->weight_seeds_written,
            s->weight_seeds);
    json_rule(f, s, round1_trials);
    fputs(",\n \"design\": ", f);
    json_design(f, &s->design);
    fputs(",\n \"entries\": [", f);
    for (int i = 0; i < s->n_entries; i++) {
        const struct sweep_entry *e = &s->entries[i];
        fprintf(f, "%s{\"index\": %d, \"line\": %d, \"family\": \"%s\", \"seeds_written\": %d, \"seeds\": %d, "
                "\"first\": %d, \"count\": %d}", i ? ",\n  " : "", i, e->line, e->family, e->seeds_written, e->seeds,
                e->first, e->count);
    }
    fputs("],\n \"graphs\": [", f);
    for (int i = 0; i < s->n_graph_names; i++) {
        fputs(i ? ", " : "", f);
        dcn_json_string(f, s->graph_names[i]);
    }
    fputs("]}\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot write the input of the until: script: %s", file, strerror(errno));
    return DCN_OK;
}

enum dcn_status sweep_until_check(struct dcn_ctx *ctx, const struct sweep_spec *s, sweep_until_script run, void *arg)
{
    char input[1200];
    snprintf(input, sizeof input, "%s.until-check.%d.json", s->output, (int)getpid());
    /* the output folder may not exist before the first run: check next to the sweep file then */
    FILE *probe = fopen(input, "w");
    if (!probe)
        snprintf(input, sizeof input, "/tmp/dcn-until-check.%d.json", (int)getpid());
    else
        fclose(probe);
    enum dcn_status st = write_input(ctx, s, "check", s->n_trials, input);
    if (!st)
        st = run(ctx, "check", input, NULL, arg);
    remove(input);
    return st;
}

/* ---------------------------------------------------------------- the record in results.h5 */

/* The sweep file's text identifies the rounds recorded for it. */
static int64_t text_hash(const struct sweep_spec *s)
{
    return (int64_t)(dcn_fnv1a(DCN_FNV_INIT, s->text ? s->text : "") >> 1);
}

/* An integer array attribute into out[max]; returns its length (-1 when longer than max). */
static int attr_ints(hid_t loc, const char *name, int *out, int max)
{
    if (H5Aexists(loc, name) <= 0)
        return 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), sp = H5Aget_space(a);
    hssize_t n = H5Sget_select_npoints(sp);
    int rc = n < 0 || n > max ? -1 : (int)n;
    if (rc > 0 && H5Aread(a, H5T_NATIVE_INT, out) < 0)
        rc = -1;
    H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

/* What a round record says: the design that ran, the decision, the next design. */
struct decision {
    int stop;
    struct sweep_design ran, next;
    char reason[768];
};

static enum dcn_status read_round(struct dcn_ctx *ctx, const char *file, hid_t until, int r, struct decision *d)
{
    char name[32], verdict[16];
    snprintf(name, sizeof name, "round_%04d", r);
    if (H5Lexists(until, name, H5P_DEFAULT) <= 0)
        return dcn_fail(ctx, DCN_EPARSE, "%s: /until records %d rounds but has no /until/%s", file, r, name);
    hid_t g = H5Gopen2(until, name, H5P_DEFAULT);
    memset(d, 0, sizeof *d);
    h5_attr_get_str(g, "decision", verdict, sizeof verdict);
    h5_attr_get_str(g, "reason", d->reason, sizeof d->reason);
    d->stop = !strcmp(verdict, "stop");
    d->ran.round = r;
    d->ran.graph_seeds = (int)h5_attr_get_i64(g, "graph_seeds", 0);
    d->ran.weight_seeds = (int)h5_attr_get_i64(g, "weight_seeds", 0);
    d->ran.n_grow = attr_ints(g, "grow_entries", d->ran.grow, SWEEP_MAX_GROW);
    d->next.round = r + 1;
    d->next.graph_seeds = (int)h5_attr_get_i64(g, "next_graph_seeds", 0);
    d->next.weight_seeds = (int)h5_attr_get_i64(g, "next_weight_seeds", 0);
    d->next.n_grow = attr_ints(g, "next_grow_entries", d->next.grow, SWEEP_MAX_GROW);
    H5Gclose(g);
    if (d->ran.n_grow < 0 || d->next.n_grow < 0 || (strcmp(verdict, "stop") && strcmp(verdict, "continue")))
        return dcn_fail(ctx, DCN_EPARSE, "%s: /until/%s: decision '%s' or its list of growing entries is not one "
                        "dcn wrote", file, name, verdict);
    return DCN_OK;
}

enum dcn_status sweep_until_current(struct dcn_ctx *ctx, const struct sweep_spec *s, struct sweep_design *d,
                                    int *stopped, char *reason, size_t len)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    memset(d, 0, sizeof *d);
    d->round = 1;
    *stopped = 0;
    reason[0] = 0;
    if (access(s->output, F_OK) != 0)
        return DCN_OK;
    hid_t f = H5Fopen(s->output, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot open the results file to read its until: rounds", s->output);
    enum dcn_status st = DCN_OK;
    if (H5Lexists(f, "until", H5P_DEFAULT) > 0) {
        hid_t u = H5Gopen2(f, "until", H5P_DEFAULT);
        int rounds = (int)h5_attr_get_i64(u, "rounds", 0);
        if (h5_attr_get_i64(u, "sweep_hash", -1) != text_hash(s))
            st = dcn_fail(ctx, DCN_EINVAL, "%s: its /until rounds were decided for another version of %s (the file "
                          "changed since); restore the file, or move %s aside to start again from round 1 (finished "
                          "trials are kept)", s->output, s->path, s->output);
        struct decision dec;
        if (!st && rounds > 0 && !(st = read_round(ctx, s->output, u, rounds, &dec))) {
            *d = dec.stop ? dec.ran : dec.next;
            *stopped = dec.stop;
            snprintf(reason, len, "%s", dec.reason);
        }
        H5Gclose(u);
    }
    H5Fclose(f);
    return st;
}

/* A byte copy of src at dst: HDF5 never opens results.h5 itself for writing, so its readers (which take
 * HDF5's file lock) neither block the record nor see it half-written. */
static int copy_bytes(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY), out = in < 0 ? -1 : open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0664);
    int rc = in < 0 || out < 0 ? -1 : 0;
    char buf[1 << 16];
    ssize_t k;
    while (!rc && (k = read(in, buf, sizeof buf)) != 0) {
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 || write(out, buf, (size_t)k) != k)
            rc = -1;
    }
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0)
        rc = -1;
    return rc;
}

/* A file opened in memory (HDF5's core driver, nothing written back): an edit is saved whole with
 * h5_mem_write, as the project writes all its HDF5 files. */
static hid_t open_in_memory(const char *path)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 20, 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    return f;
}

/* /until's own attributes: the rule, the sweep file it holds decisions for, how far it got. */
static void put_until_attrs(hid_t u, const struct sweep_spec *s, int round1_trials, const struct decision *d)
{
    char *rule = NULL;
    size_t rlen = 0;
    FILE *m = open_memstream(&rule, &rlen);
    if (m) {
        json_rule(m, s, round1_trials);
        fclose(m);
    }
    h5_attr_set_str(u, "rule", rule ? rule : "");
    free(rule);
    h5_attr_set_i64(u, "sweep_hash", text_hash(s));
    h5_attr_set_i64(u, "rounds", s->design.round);
    h5_attr_set_i64(u, "stopped", d->stop);
    h5_attr_set_str(u, "reason", d->reason);
}

/* Puts the script's record of round r (group "round" of the file record) into results.h5 as
 * /until/round_<r>, updates /until's attributes, and reads the decision back from it. */
static enum dcn_status record_round(struct dcn_ctx *ctx, const struct sweep_spec *s, int round1_trials,
                                    const char *record, struct decision *d)
{
    char name[32], tmp[1200], lock[1200];
    snprintf(name, sizeof name, "round_%04d", s->design.round);
    snprintf(tmp, sizeof tmp, "%s.%d.until.tmp", s->output, (int)getpid());
    snprintf(lock, sizeof lock, "%s.lock", s->output);
    int lfd = open(lock, O_RDWR | O_CREAT, 0664); /* as sweep_update: one writer at a time */
    if (lfd >= 0)
        flock(lfd, LOCK_EX);
    enum dcn_status st = DCN_OK;
    if (copy_bytes(s->output, tmp) != 0)
        st = dcn_fail(ctx, DCN_EIO, "%s: cannot copy the results file to record round %d: %s", tmp, s->design.round,
                      strerror(errno));
    hid_t f = st ? -1 : open_in_memory(tmp), rec = st ? -1 : H5Fopen(record, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (!st && (f < 0 || rec < 0 || H5Lexists(rec, "round", H5P_DEFAULT) <= 0))
        st = dcn_fail(ctx, DCN_EHDF5, "%s: cannot open it (or the round's record %s) to record round %d", s->output,
                      record, s->design.round);
    hid_t u = -1;
    if (!st) {
        u = H5Lexists(f, "until", H5P_DEFAULT) > 0 ? H5Gopen2(f, "until", H5P_DEFAULT)
                                                   : H5Gcreate2(f, "until", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (u >= 0 && H5Lexists(u, name, H5P_DEFAULT) > 0)
            H5Ldelete(u, name, H5P_DEFAULT);
        if (u < 0 || H5Ocopy(rec, "round", u, name, H5P_DEFAULT, H5P_DEFAULT) < 0)
            st = dcn_fail(ctx, DCN_EHDF5, "%s: cannot copy the record of round %d into /until", s->output,
                          s->design.round);
    }
    if (!st)
        st = read_round(ctx, record, u, s->design.round, d);
    if (!st)
        put_until_attrs(u, s, round1_trials, d);
    if (u >= 0)
        H5Gclose(u);
    if (rec >= 0)
        H5Fclose(rec);
    if (!st && h5_mem_write(f, tmp, 1) != 0)
        st = dcn_fail(ctx, DCN_EIO, "%s: cannot write the results file: %s", tmp, strerror(errno));
    if (f >= 0)
        H5Fclose(f);
    if (!st && rename(tmp, s->output) != 0)
        st = dcn_fail(ctx, DCN_EIO, "%s: cannot rename the results file into place: %s", s->output, strerror(errno));
    if (st)
        remove(tmp);
    if (lfd >= 0) {
        flock(lfd, LOCK_UN);
        close(lfd);
    }
    return st;
}

/* ---------------------------------------------------------------- the rounds */

/* What rank 0 tells the others between rounds. */
struct until_msg {
    int ok, stop;
    enum dcn_status status;
    struct sweep_design design;
    char err[DCN_ERR_LEN];
};

/* Broadcast from rank 0 without spinning: the other ranks wait in short sleeps while rank 0's script
 * runs (a busy MPI wait would take a core from it). */
static void share(struct dcn_ctx *ctx, struct until_msg *m)
{
    if (ctx->size <= 1)
        return;
    MPI_Request req;
    MPI_Ibcast(m, (int)sizeof *m, MPI_BYTE, 0, ctx->comm, &req);
    for (int done = 0; !done;) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (!done) {
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

static void fail_msg(struct until_msg *m, const struct dcn_ctx *ctx, enum dcn_status st)
{
    m->ok = 0;
    m->status = st;
    snprintf(m->err, sizeof m->err, "%s", ctx->err);
}

/* Rank 0 after a round: the script's decision, recorded before anyone acts on it. */
static enum dcn_status decide(struct dcn_ctx *ctx, const struct sweep_spec *s, int round1_trials,
                              sweep_until_script run, void *arg, struct decision *d)
{
    char input[1200], record[1200];
    snprintf(input, sizeof input, "%s.until-input.%d.json", s->output, (int)getpid());
    snprintf(record, sizeof record, "%s.until-round.%d.h5", s->output, (int)getpid());
    double t0 = dcn_now();
    enum dcn_status st = write_input(ctx, s, "decide", round1_trials, input);
    if (!st)
        st = run(ctx, "decide", input, record, arg);
    if (!st)
        st = record_round(ctx, s, round1_trials, record, d);
    remove(input);
    remove(record);
    if (!st)
        dcn_log(ctx, 1, "[until] round %d: %s (decided and recorded in %.2fs)\n", s->design.round, d->reason,
                dcn_now() - t0);
    return st;
}

static void log_round(const struct dcn_ctx *ctx, const struct sweep_spec *s)
{
    const struct sweep_design *d = &s->design;
    if (d->round == 1) {
        dcn_log(ctx, 1, "[until] round 1: the sweep as written, %d trials\n", s->n_trials);
        return;
    }
    dcn_log(ctx, 1, "[until] round %d: %d trials (graph seeds: %d for %d growing entr%s; seeds: %d values)\n", d->round,
            s->n_trials, d->graph_seeds, d->n_grow, d->n_grow == 1 ? "y" : "ies", s->weight_seeds);
}

/* Rank 0 before the first round: the groups name graphs of the sweep, and the round to take up. */
static void start(struct dcn_ctx *ctx, const struct sweep_spec *s, sweep_until_script run, void *arg,
                  struct until_msg *m)
{
    char reason[768];
    enum dcn_status st = sweep_until_check(ctx, s, run, arg);
    if (!st)
        st = sweep_until_current(ctx, s, &m->design, &m->stop, reason, sizeof reason);
    if (st)
        fail_msg(m, ctx, st);
    else if (m->stop)
        dcn_log(ctx, 1, "[until] decided at round %d: %s; running its trials again only where they failed\n",
                m->design.round, reason);
    else if (m->design.round > 1)
        dcn_log(ctx, 1, "[until] taking up round %d as recorded in %s\n", m->design.round, s->output);
}

enum dcn_status sweep_until_run(struct dcn_ctx *ctx, const struct sweep_spec *s, const struct sweep_options *o,
                                sweep_until_script run, void *arg, int *n_failed)
{
    *n_failed = 0;
    if (o->shard_count > 1)
        return dcn_fail(ctx, DCN_EINVAL, "%s: a sweep with until: decides between rounds, which needs every trial of "
                        "a round in one run: run it with mpirun, not as shards", s->path);
    struct until_msg m;
    memset(&m, 0, sizeof m);
    m.ok = 1;
    if (ctx->rank == 0)
        start(ctx, s, run, arg, &m);
    share(ctx, &m);
    enum dcn_status st = DCN_OK;
    int last_trials = 0;
    while (!st && m.ok) {
        struct sweep_spec *r = NULL;
        int stopped = m.stop;
        if (m.design.round > 1 || m.design.graph_seeds || m.design.weight_seeds)
            st = sweep_load_design(ctx, s->path, &m.design, &r);
        const struct sweep_spec *cur = r ? r : s;
        /* a round that adds nothing would decide the same again, for ever */
        if (!st && !stopped && last_trials && cur->n_trials <= last_trials)
            st = dcn_fail(ctx, DCN_EINVAL, "%s: until: round %d adds no trial to round %d's %d (a bug of the decision "
                          "script)", s->path, m.design.round, m.design.round - 1, last_trials);
        last_trials = cur->n_trials;
        if (!st && ctx->rank == 0)
            log_round(ctx, cur);
        if (!st)
            st = sweep_run(ctx, cur, o, n_failed);
        if (!st && !stopped) {
            struct decision d;
            memset(&d, 0, sizeof d);
            if (ctx->rank == 0) {
                enum dcn_status ds = decide(ctx, cur, s->n_trials, run, arg, &d);
                /* a signal meant for the job also stops the script: that is an interruption, not a failure */
                if (ds && o->stop && *o->stop)
                    ds = dcn_fail(ctx, DCN_EINTR, "stopped by a signal while deciding after round %d; run the same "
                                  "command to resume", cur->design.round);
                if (ds)
                    fail_msg(&m, ctx, ds);
                m.stop = d.stop;
                m.design = d.next;
            }
            share(ctx, &m);
        }
        sweep_free(r);
        if (stopped || m.stop)
            break;
    }
    if (!st && !m.ok)
        st = ctx->rank == 0 ? m.status : dcn_fail(ctx, m.status, "%s", m.err);
    return st;
}
