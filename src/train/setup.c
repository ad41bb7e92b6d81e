/* What every trial is made of, built in one place for dcn train, dcn eval, dcn bench and the sweep:
 * the data set, the graph and its DAG (for variants that have one) and the model. */
#include "dcn/train.h"

#include <string.h>

#include "dcn/data.h"

enum dcn_status trial_setup(struct dcn_ctx *ctx, const struct train_config *cfg, int local_batch, MPI_Comm bn_comm,
                            struct trial_parts *p)
{
    memset(p, 0, sizeof *p);
    p->failed_at = TRIAL_SETUP_DATA;
    enum dcn_status st = dataset_load(ctx, cfg->dataset, cfg->data_dir, cfg->train_limit, cfg->test_limit, &p->ds);
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
    if (model_variant_has_dag(cfg->variant)) {
        st = graph_load(ctx, cfg->graph, cfg->data_dir, &p->g);
        if (!st)
            st = dag_build(ctx, p->g, cfg->order, cfg->order_seed, &p->dag);
        if (st)
            goto fail;
    }
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
    graph_free(p->g);
    dataset_free(p->ds);
    memset(p, 0, sizeof *p);
}
