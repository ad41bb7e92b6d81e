/* A trial's configuration fields (include/dcn/fields.h) turned into the trainer's settings, and back
 * into the values the trial file records. The variants' own defaults live here, once, for `dcn train`
 * and the sweep alike: the authors variant trains only its aggregation weights (stem, nodes and head
 * frozen), starts them N(0,1) and feeds x - 0.5, unless the fields say otherwise. */
#include <string.h>

#include "dcn/train.h"

static const char *freeze_text(int mask, char *buf, size_t len)
{
    buf[0] = 0;
    const char *names[] = {"stem", "nodes", "agg", "head"};
    for (int i = 0; i < 4; i++)
        if (mask & (1 << i)) {
            size_t l = strlen(buf);
            snprintf(buf + l, len - l, "%s%s", l ? "," : "", names[i]);
        }
    if (!buf[0])
        snprintf(buf, len, "none");
    return buf;
}

enum dcn_status train_config_from_fields(struct dcn_ctx *ctx, const struct trial_config *f, struct train_config *c)
{
    if (model_variant_parse(ctx, f->variant, &c->variant)) {
        dcn_err_prefix(ctx, "variant");
        return DCN_EINVAL;
    }
    if (dag_order_parse(ctx, f->order, &c->order)) {
        dcn_err_prefix(ctx, "order");
        return DCN_EINVAL;
    }
    const int authors = c->variant == MODEL_AUTHORS;
    c->graph = f->graph;
    c->dataset = f->dataset;
    c->seed = f->seed;
    c->order_seed = f->order_seed;
    c->epochs = f->epochs;
    c->batch = f->batch;
    c->lr = f->lr;
    c->channels = f->channels;
    c->train_limit = f->train_limit;
    c->test_limit = f->test_limit;
    c->freeze = 0;
    if (f->freeze && f->freeze[0]) {
        if (model_freeze_parse(ctx, f->freeze, &c->freeze)) {
            dcn_err_prefix(ctx, "freeze");
            return DCN_EINVAL;
        }
    } else if (authors && !f->frozen) {
        c->freeze = FREEZE_STEM | FREEZE_NODES | FREEZE_HEAD;
    }
    if (f->frozen)
        c->freeze |= FREEZE_NODES | FREEZE_AGG;
    c->agg_init_normal = f->agg_init && f->agg_init[0] ? !strcmp(f->agg_init, "normal") : authors;
    c->normalize_half = f->normalize && f->normalize[0] ? !strcmp(f->normalize, "half") : authors;
    return DCN_OK;
}

void train_config_to_fields(const struct train_config *c, struct trial_config *f, char *freeze_buf, size_t len)
{
    trial_config_init(f);
    f->graph = model_variant_has_dag(c->variant) ? c->graph : "none";
    f->dataset = c->dataset;
    f->variant = model_variant_name(c->variant);
    f->frozen = (c->freeze & (FREEZE_NODES | FREEZE_AGG)) == (FREEZE_NODES | FREEZE_AGG);
    f->order = dag_order_name(c->order);
    f->order_seed = c->order_seed;
    f->seed = c->seed;
    f->epochs = c->epochs;
    f->batch = c->batch;
    f->lr = c->lr;
    f->channels = c->channels;
    f->train_limit = c->train_limit;
    f->test_limit = c->test_limit;
    f->freeze = freeze_text(c->freeze, freeze_buf, len);
    f->agg_init = c->agg_init_normal ? "normal" : "zero";
    f->normalize = c->normalize_half ? "half" : "meanstd";
}

int train_fields_attrs(const struct trial_config *f, struct trial_attr *at)
{
    for (int i = 0; i < DCN_N_FIELDS; i++) {
        const struct field_desc *d = &dcn_fields[i];
        const void *p = field_cptr(d, f);
        at[i] = (struct trial_attr){d->name, TRIAL_INT, NULL, 0, 0};
        switch (d->type) {
        case FIELD_STR:
            at[i].type = TRIAL_STR;
            at[i].s = *(const char *const *)p;
            break;
        case FIELD_INT:
        case FIELD_BOOL:
            at[i].i = *(const int *)p;
            break;
        case FIELD_U64:
            at[i].i = (int64_t)*(const uint64_t *)p;
            break;
        case FIELD_DOUBLE:
            at[i].type = TRIAL_DOUBLE;
            at[i].d = *(const double *)p;
            break;
        }
    }
    return DCN_N_FIELDS;
}

enum dcn_status train_fields_read(struct dcn_ctx *ctx, const char *path, struct trial_config *f,
                                  char (*store)[DCN_FIELD_TEXT])
{
    /* what a model needs must be there; the rest falls back to the defaults (files of older dcn) */
    static const int needed[] = {FIELD_graph, FIELD_variant, FIELD_order, FIELD_order_seed, FIELD_batch, FIELD_channels};
    trial_config_init(f);
    for (int i = 0; i < DCN_N_FIELDS; i++) {
        const struct field_desc *d = &dcn_fields[i];
        struct dcn_ctx c2 = *ctx;
        if (trial_read_attr_str(&c2, path, d->name, store[i], DCN_FIELD_TEXT)) {
            for (size_t k = 0; k < sizeof needed / sizeof needed[0]; k++)
                if (needed[k] == i) {
                    *ctx = c2;
                    return ctx->status = c2.status;
                }
            continue;
        }
        char why[160];
        /* the file records the resolved freeze groups ("none", "stem,nodes,head"), which parse too */
        if (field_parse(d, store[i], f, why, sizeof why))
            return dcn_fail(ctx, DCN_EPARSE, "%s: attribute '%s': '%s' %s", path, d->name, store[i], why);
    }
    return DCN_OK;
}
