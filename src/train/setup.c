/* What every trial is made of, built in one place for dcn train, dcn eval, dcn bench and the sweep:
 * the data set, the graph and its DAG (for variants that have one) and the model. */
#include "dcn/train.h"

#include <string.h>

#include "dcn/data.h"

/* The data set of cfg: the cached one when it is the same (name, folder, limits), else loaded (and
 * cached, replacing the previous one). */
static enum dcn_status setup_data(struct dcn_ctx *ctx, const struct train_config *cfg, struct trial_parts *p)
{
    struct trial_cache *c = cfg->cache;
    char key[sizeof c->ds_key];
    snprintf(key, sizeof key, "%s|%s|%d|%d", cfg->dataset, cfg->data_dir ? cfg->data_dir : "", cfg->train_limit,
             cfg->test_limit);
    if (c && c->ds && !strcmp(c->ds_key, key)) {
        c->hits++;
        p->ds = c->ds;
        p->ds_borrowed = 1;
        p->ds->mean = c->ds_mean;
        p->ds->std = c->ds_std;
        return DCN_OK;
    }
    enum dcn_status st = dataset_load(ctx, cfg->dataset, cfg->data_dir, cfg->train_limit, cfg->test_limit, &p->ds);
    if (st || !c)
        return st;
    c->misses++;
    dataset_free(c->ds);
    c->ds = p->ds;
    p->ds_borrowed = 1;
    snprintf(c->ds_key, sizeof c->ds_key, "%s", key);
    c->ds_mean = p->ds->mean;
    c->ds_std = p->ds->std;
    return DCN_OK;
}

static enum dcn_status setup_graph(struct dcn_ctx *ctx, const struct train_config *cfg, struct trial_parts *p)
{
    struct trial_cache *c = cfg->cache;
    char key[sizeof c->g_key];
    snprintf(key, sizeof key, "%s|%s", cfg->graph, cfg->data_dir ? cfg->data_dir : "");
    if (c && c->g && !strcmp(c->g_key, key)) {
        p->g = c->g;
        p->g_borrowed = 1;
    } else {
        enum dcn_status st = graph_load(ctx, cfg->graph, cfg->data_dir, &p->g);
        if (st)
            return st;
        if (c) {
            graph_free(c->g);
            c->g = p->g;
            p->g_borrowed = 1;
            snprintf(c->g_key, sizeof c->g_key, "%s", key);
        }
    }
    return dag_build(ctx, p->g, cfg->order, cfg->order_seed, &p->dag);
}

void trial_cache_free(struct trial_cache *c)
{
    dataset_free(c->ds);
    graph_free(c->g);
    memset(c, 0, sizeof *c);
}

enum dcn_status trial_setup(struct dcn_ctx *ctx, const struct train_config *cfg, int local_batch, MPI_Comm bn_comm,
                            struct trial_parts *p)
{
    memset(p, 0, sizeof *p);
    p->failed_at = TRIAL_SETUP_DATA;
    enum dcn_status st = setup_data(ctx, cfg, p);
    if (!st && p->ds->n_train < cfg->batch)
        st = dcn_fail(ctx, DCN_EINVAL, "dataset %s has %d training images, fewer than one batch of %d", p->ds->name,
                      p->ds->n_train, cfg->batch);
    if (st)
        goto fail;
    if (cfg->normalize_half) {
        p->ds->mean = 0.5f;
        p->ds->std = 1.0f;
    }
    p->failed_at = TRIAL_SETUP_GRAPH;
    if (model_variant_has_dag(cfg->variant) && (st = setup_graph(ctx, cfg, p)))
        goto fail;
    struct model_config mc;
    model_config_default(&mc);
    mc.variant = cfg->variant;
    mc.channels = cfg->channels;
    mc.batch = local_batch;
    mc.classes = p->ds->classes;
    mc.in_h = p->ds->rows;
    mc.in_w = p->ds->cols;
    mc.freeze = cfg->freeze;
    mc.agg_init_normal = cfg->agg_init_normal;
    mc.threads = cfg->threads > 0 ? cfg->threads : 1;
    mc.bn_comm = bn_comm;
    p->failed_at = TRIAL_SETUP_MODEL;
    double t0 = dcn_now();
    if ((st = model_create(ctx, &mc, p->dag, &p->m)))
        goto fail;
    model_init(p->m, cfg->seed);
    p->create_seconds = dcn_now() - t0;
    p->failed_at = TRIAL_SETUP_OK;
    return DCN_OK;
fail:;
    enum trial_setup_stage at = p->failed_at;
    trial_teardown(p);
    p->failed_at = at;
    return st;
}

void trial_teardown(struct trial_parts *p)
{
    model_free(p->m);
    dag_free(p->dag);
    if (!p->g_borrowed)
        graph_free(p->g);
    if (!p->ds_borrowed)
        dataset_free(p->ds);
    memset(p, 0, sizeof *p);
}
