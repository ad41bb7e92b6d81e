/* The public model_* entry points. Each variant is one struct model_ops (paper.c: paper and
 * baseline; authors.c: the authors' code); this file picks the table by cfg.variant and holds the
 * steps every variant's construction shares: build (the variant's tensor tables and private
 * layout), trainable marking, and the activation plan's two passes (model_internal.h). The tensor
 * tables and arenas themselves are arena.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

static const struct model_ops *const variant_ops[] = {
    [MODEL_PAPER] = &paper_ops,
    [MODEL_BASELINE] = &baseline_ops,
    [MODEL_AUTHORS] = &authors_ops,
};
#define N_VARIANTS ((int)(sizeof variant_ops / sizeof variant_ops[0]))

static const struct model_ops *ops_of(enum model_variant v)
{
    return (int)v >= 0 && (int)v < N_VARIANTS ? variant_ops[v] : NULL;
}

/* m->cfg.variant was checked by model_create */
static const struct model_ops *model_variant_ops(const struct model *m) { return variant_ops[m->cfg.variant]; }

enum dcn_status model_variant_parse(struct dcn_ctx *ctx, const char *name, enum model_variant *out)
{
    for (int v = 0; v < N_VARIANTS; v++)
        if (!strcmp(name, variant_ops[v]->name)) {
            *out = (enum model_variant)v;
            return DCN_OK;
        }
    return dcn_fail(ctx, DCN_EINVAL, "unknown model variant '%s' (expected paper, authors or baseline)", name);
}

const char *model_variant_name(enum model_variant v)
{
    const struct model_ops *o = ops_of(v);
    return o ? o->name : "paper";
}

int model_variant_has_dag(enum model_variant v)
{
    const struct model_ops *o = ops_of(v);
    return o ? o->has_dag : 1;
}

void model_config_default(struct model_config *c)
{
    memset(c, 0, sizeof *c);
    c->variant = MODEL_PAPER;
    c->channels = 78;
    c->batch = 32;
    c->classes = 10;
    c->in_h = c->in_w = 28;
    c->bn_eps = 1e-5f;
    c->bn_comm = MPI_COMM_NULL;
    c->bn_momentum = 0.1f;
    c->threads = 1;
}

enum dcn_status model_lay_activations(struct dcn_ctx *ctx, struct model *m, size_t floats)
{
    struct act_plan p;
    plan_begin(&p, m->act_mem, floats);
    model_variant_ops(m)->plan(m, &p);
    return plan_end(ctx, &p);
}

/* The activation plan's two passes around the arenas' allocation (see struct act_plan) */
static enum dcn_status model_plan_activations(struct dcn_ctx *ctx, struct model *m)
{
    struct act_plan count;
    plan_begin(&count, NULL, 0);
    model_variant_ops(m)->plan(m, &count);
    enum dcn_status st = plan_end(ctx, &count);
    if (st)
        return st;
    m->act_floats = count.used;
    st = model_alloc_arenas(ctx, m);
    return st ? st : model_lay_activations(ctx, m, m->act_floats);
}

enum dcn_status model_create(struct dcn_ctx *ctx, const struct model_config *cfg, const struct dcn_dag *dag,
                             struct model **out)
{
    *out = NULL;
    const struct model_ops *ops = ops_of(cfg->variant);
    if (!ops)
        return dcn_fail(ctx, DCN_EINVAL, "model: unknown variant %d", (int)cfg->variant);
    if (cfg->channels < 1 || cfg->batch < 1 || cfg->classes < 2 || cfg->in_h < 2 || cfg->in_w < 2)
        return dcn_fail(ctx, DCN_EINVAL, "model: channels, batch, classes and input size must be positive");
    if (ops->has_dag && (!dag || dag->n < 1))
        return dcn_fail(ctx, DCN_EINVAL, "model: the %s variant needs a DAG with at least one node", ops->name);
    struct model *m = calloc(1, sizeof *m);
    if (!m)
        return dcn_fail(ctx, DCN_ENOMEM, "model: out of memory");
    m->cfg = *cfg;
    m->dag = ops->has_dag ? dag : NULL;
    enum dcn_status st = ops->build(ctx, m);
    if (!st) {
        model_mark_trainable(m);
        st = model_plan_activations(ctx, m);
    }
    if (st) {
        model_free(m);
        return st;
    }
    *out = m;
    return DCN_OK;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    model_variant_ops(m)->free_priv(m);
    free(m->params);
    free(m->buffers);
    free(m->nodes);
    free(m->param_mem);
    free(m->grad_mem);
    free(m->adam_m);
    free(m->adam_v);
    free(m->buffer_mem);
    free(m->act_mem);
    free(m);
}

float model_forward(struct model *m, const float *x, const int *y, int B, int train, int *correct)
{
    return model_variant_ops(m)->forward(m, x, y, B, train, correct);
}

const float *model_logits(const struct model *m) { return model_variant_ops(m)->logits(m); }

void model_backward(struct model *m, const float *x, const int *y, int B)
{
    model_variant_ops(m)->backward(m, x, y, B);
}

/* Useful training FLOPs per image (a multiply-add counts 2; recomputation in backward not counted).
 * Every variant counts the same way: convolutions, pointwise and FC layers exactly: forward, plus in
 * backward the input gradient (only where a layer below needs it: never for the image) and the
 * weight gradient (only for trainable tensors); the elementwise layers (BN, ReLU, aggregation, sink)
 * at their arithmetic per element, which is small beside the GEMMs. */
double model_flops_per_image(const struct model *m) { return model_variant_ops(m)->flops_per_image(m); }

const char *model_prof_kind_name(int kind)
{
    static const char *const names[PROF_KINDS] = {"stem", "aggregation", "relu", "depthwise", "agg+relu+dw",
                                                  "pointwise", "thread wait", "batchnorm", "sink", "head/fc", "softmax", "misc"};
    return kind >= 0 && kind < PROF_KINDS ? names[kind] : "?";
}
