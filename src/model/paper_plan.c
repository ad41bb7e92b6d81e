/* The paper and baseline variants' layout: the tensor tables in the trial file's order, the backward's
 * gradient slots (a liveness simulation over the node program), the order in which gradients become
 * final (grad_ready), the per-node input lists, the thread pool and the activation arena's pieces.
 * paper.c's engine runs on what is built here; its opening comment gives the design this serves. */
#include <stdlib.h>

#include "paper_internal.h"

/* struct bn_sync's reduction over the model's BN communicator */
static int bn_sum(void *arg, double *v, int n)
{
    MPI_Comm comm = *(MPI_Comm *)arg;
    int size = 1;
    MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, comm);
    MPI_Comm_size(comm, &size);
    return size;
}

/* ---- building: tensor tables, node program, sizes ---- */

/* Node i's program entry and its tensors; 0 when out of memory */
static int paper_add_node(struct table *pt, struct table *bt, struct model_node *nd, const struct dcn_dag *dag,
                          int i, int C)
{
    nd->indeg = (int)(dag->pred_off[i + 1] - dag->pred_off[i]);
    nd->pred = dag->pred + dag->pred_off[i];
    nd->is_output = dag->succ_off[i + 1] == dag->succ_off[i];
    int s1[1] = {C}, sdw[4] = {C, 1, 3, 3}, spw[4] = {C, C, 1, 1}, sag[1] = {nd->indeg};
    nd->t_agg = nd->indeg > 1 ? table_add(pt, FREEZE_AGG, 1, sag, "node.%d.agg", i) : -1;
    nd->t_dw = table_add(pt, FREEZE_NODES, 4, sdw, "node.%d.dw", i);
    nd->t_pw = table_add(pt, FREEZE_NODES, 4, spw, "node.%d.pw", i);
    nd->t_gamma = table_add(pt, FREEZE_NODES, 1, s1, "node.%d.bn.gamma", i);
    nd->t_beta = table_add(pt, FREEZE_NODES, 1, s1, "node.%d.bn.beta", i);
    nd->b_mean = table_add(bt, FREEZE_NODES, 1, s1, "node.%d.bn.running_mean", i);
    nd->b_var = table_add(bt, FREEZE_NODES, 1, s1, "node.%d.bn.running_var", i);
    return nd->t_dw >= 0 && nd->t_pw >= 0 && nd->t_beta >= 0 && nd->b_var >= 0;
}

/* The stem, the nodes in topological order, the FC head: their names are the trial file's */
static int paper_add_tensors(struct model *m, struct paper_layout *L)
{
    const int C = m->cfg.channels, K = m->cfg.classes, HW = m->H * m->W, n_nodes = m->dag ? m->dag->n : 0;
    struct table pt = {0}, bt = {0};
    int s4[4] = {C, 1, 3, 3}, s1[1] = {C}, sfc[2] = {K, C * HW}, sb[1] = {K};
    L->t_stem_w = table_add(&pt, FREEZE_STEM, 4, s4, "stem.conv.w");
    L->t_stem_gamma = table_add(&pt, FREEZE_STEM, 1, s1, "stem.bn.gamma");
    L->t_stem_beta = table_add(&pt, FREEZE_STEM, 1, s1, "stem.bn.beta");
    L->b_stem_mean = table_add(&bt, FREEZE_STEM, 1, s1, "stem.bn.running_mean");
    L->b_stem_var = table_add(&bt, FREEZE_STEM, 1, s1, "stem.bn.running_var");
    int ok = 1;
    if (n_nodes) {
        m->nodes = calloc((size_t)n_nodes, sizeof *m->nodes);
        ok = m->nodes != NULL;
        for (int i = 0; ok && i < n_nodes; i++)
            ok = paper_add_node(&pt, &bt, &m->nodes[i], m->dag, i, C);
    }
    L->t_fc_w = table_add(&pt, FREEZE_HEAD, 2, sfc, "fc.w");
    L->t_fc_b = table_add(&pt, FREEZE_HEAD, 1, sb, "fc.b");
    if (L->t_fc_b >= 0)
        pt.t[L->t_fc_b].fan_in = C * HW;
    if (L->t_fc_b < 0 || L->b_stem_var < 0)
        ok = 0;
    return table_install(m, &pt, &bt, ok);
}

/* Backward liveness simulation over the node program (see paper.c's opening comment). Returns the number of
 * slots and fills node->slot: node i's dA is written after i has pulled its own gradient, and read by
 * its predecessors, the last of them its smallest one. keeps (n) gets which nodes keep their
 * aggregation (model.keeps_agg). */
static int plan_grad_slots(struct model *m, unsigned char *keeps)
{
    const int n = m->dag->n;
    int nslots = 0, nfree = 0;
    /* freed_by[j]: the first node whose slot is free once j has pulled; next[k]: the one after k */
    int *buf = malloc((size_t)3 * (n + 1) * sizeof *buf);
    if (!buf)
        return -1;
    int *freel = buf, *freed_by = buf + n + 1, *next = buf + 2 * (n + 1);
    for (int i = 0; i < n; i++)
        freed_by[i] = -1;
    for (int k = 0; k < n; k++) {
        const struct model_node *nd = &m->nodes[k];
        m->nodes[k].slot = -1;
        if (nd->indeg == 0)
            continue;
        int j = nd->pred[0];
        for (int p = 1; p < nd->indeg; p++)
            if (nd->pred[p] < j)
                j = nd->pred[p];
        next[k] = freed_by[j];
        freed_by[j] = k;
    }
    for (int i = n - 1; i >= 0; i--) {
        /* i pulls before it writes its own dA, so the slots it was the last reader of can take it */
        for (int k = freed_by[i]; k >= 0; k = next[k])
            freel[nfree++] = m->nodes[k].slot;
        /* a slot no backward step has used yet is free from the forward on: the node's aggregation
         * waits there for its backward, which then reads one tensor instead of its indeg inputs, at
         * no cost in memory (worth it from 3 inputs: the forward writes A, the backward reads it) */
        if (m->nodes[i].indeg > 0) {
            keeps[i] = !nfree && m->nodes[i].indeg >= 3;
            m->nodes[i].slot = nfree ? freel[--nfree] : nslots++;
        }
    }
    free(buf);
    return nslots;
}

/* grad_ready's order. Node k's aggregation-weight gradient is complete once its smallest predecessor
 * mp(k) has pulled (node_reduce_dots), so after node i's backward the gradients of nodes q.. are final
 * for q = 1 + the largest k >= i with mp(k) < i (or q = i when there is none). With best(i) = the
 * largest k with an aggregation weight and mp(k) < i, a prefix maximum, that is O(nodes + edges).
 * Returns the q of each i, or NULL when out of memory. */
static int *plan_ready_from(const struct model *m)
{
    const int n = m->dag->n;
    int *q = malloc((size_t)n * sizeof *q), *mk = malloc((size_t)n * sizeof *mk);
    if (!q || !mk) {
        free(q);
        free(mk);
        return NULL;
    }
    for (int j = 0; j < n; j++)
        mk[j] = -1; /* the largest k with mp(k) = j */
    for (int k = 0; k < n; k++) {
        const struct model_node *nd = &m->nodes[k];
        if (nd->t_agg < 0)
            continue;
        int mp = nd->pred[0];
        for (int p = 1; p < nd->indeg; p++)
            if (nd->pred[p] < mp)
                mp = nd->pred[p];
        if (k > mk[mp])
            mk[mp] = k;
    }
    int best = -1;
    for (int i = 0; i < n; i++) {
        q[i] = best >= i ? best + 1 : i;
        if (mk[i] > best)
            best = mk[i];
    }
    free(mk);
    return q;
}

/* Gradient slots, the per-node input lists, the thread pool, synchronised BN and the block sizes:
 * everything paper_plan's sizes depend on */
static enum dcn_status paper_setup(struct dcn_ctx *ctx, struct model *m, struct paper_layout *L)
{
    const struct model_config *cfg = &m->cfg;
    const int n_nodes = m->dag ? m->dag->n : 0;
    L->keeps = n_nodes ? calloc((size_t)n_nodes, 1) : NULL;
    int nslots = L->keeps ? plan_grad_slots(m, L->keeps) : 0;
    m->keeps_agg = L->keeps;
    if (nslots < 0 || (n_nodes && !L->keeps))
        return dcn_fail(ctx, DCN_ENOMEM, "model: out of memory planning activations");
    m->n_grad_slots = (size_t)nslots;
    L->nth = cfg->threads > 1 ? cfg->threads : 1;
    int max_in = 1;
    for (int i = 0; i < n_nodes; i++)
        if (m->nodes[i].indeg > max_in)
            max_in = m->nodes[i].indeg;
    if (m->dag && m->dag->n_outputs > max_in)
        max_in = m->dag->n_outputs;
    L->max_in = max_in;
    int max_out = 1;
    for (int i = 0; i < n_nodes; i++)
        if ((int)(m->dag->succ_off[i + 1] - m->dag->succ_off[i]) > max_out)
            max_out = (int)(m->dag->succ_off[i + 1] - m->dag->succ_off[i]);
    L->max_out = max_out;
    L->in = calloc((size_t)max_in, sizeof *L->in);
    L->gsrc = calloc((size_t)max_out, sizeof *L->gsrc);
    L->gs = calloc((size_t)max_out, sizeof *L->gs);
    L->gw_dst = calloc((size_t)max_out, sizeof *L->gw_dst);
    L->ready_from = n_nodes ? plan_ready_from(m) : NULL;
    L->succ_pos = n_nodes ? calloc(m->dag->succ_off[n_nodes], sizeof *L->succ_pos) : NULL;
    if (L->succ_pos)
        for (int j = 0; j < n_nodes; j++)
            for (int64_t e = m->dag->succ_off[j]; e < m->dag->succ_off[j + 1]; e++) {
                const struct model_node *k = &m->nodes[m->dag->succ[e]];
                for (int p = 0; p < k->indeg; p++)
                    if (k->pred[p] == j)
                        L->succ_pos[e] = p;
            }
    L->pool = pool_create(L->nth);
    if (cfg->bn_comm != MPI_COMM_NULL) {
        L->sync.sum = bn_sum;
        L->sync.arg = &m->cfg.bn_comm;
        L->syncp = &L->sync;
    }
    if (!L->in || !L->gsrc || !L->gs || !L->gw_dst || (n_nodes && (!L->succ_pos || !L->ready_from)) || !L->pool)
        return dcn_fail(ctx, DCN_ENOMEM, "model: out of memory (or no threads) planning activations");
    const int HW = m->H * m->W;
    L->Nr = pad16((size_t)cfg->batch * (size_t)cfg->channels * (size_t)HW);
    L->stem_ws = pad16(stem_workspace(cfg->in_h, cfg->in_w, cfg->channels));
    /* Images per block. Measured on the 2-core Zen 4 (1 MiB L2, 32 MiB L3) with the paper's sizes:
     * blocks of 8 or 16 images, sized for L2, were 5-25% SLOWER than one block of the whole batch
     * (each sgemm call re-packs W and its B panel, and a 2 MiB node tensor stays in L3 anyway), so a
     * thread takes its whole share of the batch as one block. The blocking remains the unit the
     * threads split. */
    L->bimg = cfg->batch;
    /* the node kernels' scratch, which also holds one channel's dY (B * HW floats) in ph_bn_bwd */
    const size_t nfw = node_front_workspace(m->H, m->W, L->bimg), chan = (size_t)cfg->batch * HW;
    L->ws_floats = pad16(nfw > chan ? nfw : chan);
    L->blk_floats = pad16((size_t)cfg->channels * L->bimg * HW);
    return DCN_OK;
}

enum dcn_status paper_build(struct dcn_ctx *ctx, struct model *m)
{
    struct paper_layout *L = calloc(1, sizeof *L);
    if (!L)
        return dcn_fail(ctx, DCN_ENOMEM, "model: out of memory");
    m->priv = L;
    m->H = conv_out_size(m->cfg.in_h, 3, 2, 1);
    m->W = conv_out_size(m->cfg.in_w, 3, 2, 1);
    if (!paper_add_tensors(m, L))
        return dcn_fail(ctx, DCN_ENOMEM, "model: out of memory building the tensor tables");
    return paper_setup(ctx, m, L);
}

/* The activation arena, piece by piece (model_internal.h, struct act_plan). The baseline keeps the
 * sink's H and dH too, unused. */
void paper_plan(struct model *m, struct act_plan *p)
{
    struct paper_layout *L = m->priv;
    const int C = m->cfg.channels, n_nodes = m->dag ? m->dag->n : 0;
    const size_t nth = (size_t)L->nth, Nr = L->Nr, Cr = pad16((size_t)C), CC = pad16((size_t)C * C),
                 bkr = pad16((size_t)m->cfg.batch * (size_t)m->cfg.classes);
    PLAN_FLOATS(p, L->stem_conv, Nr);
    PLAN_FLOATS(p, L->stem_out, Nr);
    PLAN_FLOATS(p, L->H, Nr);
    PLAN_FLOATS(p, L->dH, Nr);
    PLAN_FLOATS(p, L->dstem, Nr);
    if (n_nodes) {
        PLAN_FLOATS(p, L->dsink, Nr);
        PLAN_FLOATS(p, L->gP, Nr);
    }
    PLAN_FLOATS(p, L->tD, nth * L->blk_floats);
    PLAN_FLOATS(p, L->tdP, nth * L->blk_floats);
    PLAN_FLOATS(p, L->tdD, nth * L->blk_floats);
    PLAN_FLOATS(p, L->tk, nth * Cr);
    if (nth > 1)
        PLAN_FLOATS(p, L->tdW, nth * CC);
    /* bk, ba, bb are consecutive (pieces are, in request order): the stem's backward uses them as one
     * block of 3 C coefficients */
    PLAN_FLOATS(p, L->bk, Cr);
    PLAN_FLOATS(p, L->ba, Cr);
    PLAN_FLOATS(p, L->bb, Cr);
    PLAN_FLOATS(p, L->stem_mean, Cr);
    PLAN_FLOATS(p, L->stem_rstd, Cr);
    PLAN_FLOATS(p, L->logits, bkr);
    PLAN_FLOATS(p, L->probs, bkr);
    PLAN_FLOATS(p, L->dlogits, bkr);
    PLAN_FLOATS(p, L->conv_ws, nth * L->stem_ws);
    PLAN_FLOATS(p, L->stem_aff, 4 * Cr);
    PLAN_FLOATS(p, L->ws, nth * L->ws_floats);
    for (int i = 0; i < n_nodes; i++) {
        struct model_node *nd = &m->nodes[i];
        PLAN_FLOATS(p, nd->P, Nr);
        PLAN_FLOATS(p, nd->mean, Cr);
        PLAN_FLOATS(p, nd->rstd, Cr);
        PLAN_FLOATS(p, nd->hi, Cr);
        PLAN_FLOATS(p, nd->lo, Cr);
        PLAN_FLOATS(p, nd->scale, Cr);
        PLAN_FLOATS(p, nd->shift, Cr);
    }
    PLAN_FLOATS(p, L->slots, m->n_grad_slots * Nr);
    PLAN_FLOATS(p, L->s, (size_t)L->max_in);
    PLAN_DOUBLES(p, L->ts1, nth * Cr);
    PLAN_DOUBLES(p, L->ts2, nth * Cr);
    PLAN_DOUBLES(p, L->tdw, nth * 9 * (size_t)C);
    PLAN_DOUBLES(p, L->sd, Cr);
    PLAN_DOUBLES(p, L->sdm, Cr);
    PLAN_DOUBLES(p, L->sxm, Cr);
    PLAN_DOUBLES(p, L->dots, nth * (size_t)L->max_out);
}

void paper_free_priv(struct model *m)
{
    struct paper_layout *L = m->priv;
    if (!L)
        return;
    pool_free(L->pool);
    free(L->in);
    free(L->gsrc);
    free(L->gs);
    free(L->gw_dst);
    free(L->ready_from);
    free(L->keeps);
    m->keeps_agg = NULL;
    free(L->succ_pos);
    free(L);
    m->priv = NULL;
}
