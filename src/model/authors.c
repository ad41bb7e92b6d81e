/* The authors' code variant (nick11roberts/connectomics-learning, CElegansNN/model), kept apart from
 * paper.c because its nodes do not share one shape: the stem ends at C x 7 x 7, input nodes convolve
 * with stride 2 (7 -> 4), output nodes widen to 4C, and the head is conv 1x1 -> BN -> global average
 * pool -> linear. Its trials are cheap (4 x 4 maps), so this is the plain layer-by-layer form: NCHW
 * tensors, every activation backward needs stored once per node, the layer kernels of src/nn, one
 * thread. The paper variant's fused, recomputing engine stays specialised to its uniform C x 14 x 14
 * nodes. Like it, node tensors and the head are channel-major, (C, B, HW): a 4 x 4 map makes per-image
 * GEMMs 16 columns wide, so each pointwise and head convolution is ONE sgemm over B*HW columns, and
 * the batch norms see one contiguous run per channel (the layer kernels are called with B = 1 and
 * HW = B*HW). The stem stays NCHW and is transposed once each way.
 *
 *   stem   conv 3x3 s2 (1 -> C/2, bias), BN, ReLU, conv 3x3 s2 (C/2 -> C, bias), BN   -> C x 7 x 7
 *   node   sum_k sigmoid(w_k) y_k (in-degree > 1), ReLU, depthwise 3x3 (stride 2 for input nodes),
 *          pointwise 1x1 (C -> C, or C -> 4C for output nodes), BN                   -> . x 4 x 4
 *   sink   mean of the output nodes                                                   -> 4C x 4 x 4
 *   head   ReLU, conv 1x1 (4C -> 1280, bias), BN, global average pool, linear (1280 -> classes)
 *
 * Per node the forward keeps R = ReLU(aggregate) (the depthwise input, whose sign pattern is also the
 * ReLU's mask), D (the pointwise input), P (the BN input) and Y (the node's output). The aggregate
 * itself is formed in one scratch buffer. Gradients of non-output nodes have one buffer each (zeroed
 * per step); all output nodes share the sink's gradient / n_outputs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dcn/nn.h"
#include "model_internal.h"

#define HEAD_WIDTH 1280 /* the authors' convlast width */

struct anode {
    int indeg;
    const int *pred;
    int is_output, stride, oc; /* stride 2 for input nodes; oc = 4C for output nodes, else C */
    int hin, win;              /* input map: 7 x 7 for input nodes, else 4 x 4 */
    int t_agg, t_dw, t_pw, t_gamma, t_beta, b_mean, b_var;
    float *R, *D, *P, *Y, *dY; /* dY: NULL for output nodes (they read the shared dOut) */
    float *mean, *rstd;
};

struct alayout {
    int C2, OC;
    int H1, W1, H2, W2; /* after the first and the second stem conv: 14 x 14, 7 x 7 */
    int t_c1w, t_c1b, t_bn1g, t_bn1b, b_bn1m, b_bn1v;
    int t_c2w, t_c2b, t_bn2g, t_bn2b, b_bn2m, b_bn2v;
    int t_hw, t_hb, t_hbng, t_hbnb, b_hbnm, b_hbnv, t_fcw, t_fcb;
    struct anode *nodes;
    float *c1, *r1, *c2, *s, *sT;      /* stem: conv1 out, ReLU(BN1), conv2 out, BN2 out; sT = s (C,B,HW) */
    float *m1, *rs1, *m2, *rs2, *mh, *rsh; /* BN batch statistics */
    float *S, *Hr, *Q, *Z, *G, *Gt;    /* sink, ReLU, head conv, head BN, pooled (B,1280), (1280,B) */
    float *logits, *probs, *dlogits;
    float *dG, *dZ, *dQ, *dHr, *dOut;  /* head gradients; dOut: every output node's dY */
    float *dstem, *dstemT, *dc2, *dr1, *dc1; /* stem gradients (dstemT channel-major) */
    float *A, *dP, *dD, *dR;           /* per-node scratch */
    float *ws;                         /* im2col workspace */
};

/* ---- building: tensor tables, node shapes ---- */

/* the two-conv stem; 0 when out of memory */
static int authors_add_stem(struct table *pt, struct table *bt, struct alayout *L, int C)
{
    const int C2 = L->C2;
    int w1[4] = {C2, 1, 3, 3}, w2[4] = {C, C2, 3, 3}, c2[1] = {C2}, c1[1] = {C};
    L->t_c1w = table_add(pt, FREEZE_STEM, 4, w1, "stem.conv1.w");
    L->t_c1b = table_add(pt, FREEZE_STEM, 1, c2, "stem.conv1.b");
    L->t_bn1g = table_add(pt, FREEZE_STEM, 1, c2, "stem.bn1.gamma");
    L->t_bn1b = table_add(pt, FREEZE_STEM, 1, c2, "stem.bn1.beta");
    L->b_bn1m = table_add(bt, FREEZE_STEM, 1, c2, "stem.bn1.running_mean");
    L->b_bn1v = table_add(bt, FREEZE_STEM, 1, c2, "stem.bn1.running_var");
    L->t_c2w = table_add(pt, FREEZE_STEM, 4, w2, "stem.conv2.w");
    L->t_c2b = table_add(pt, FREEZE_STEM, 1, c1, "stem.conv2.b");
    L->t_bn2g = table_add(pt, FREEZE_STEM, 1, c1, "stem.bn2.gamma");
    L->t_bn2b = table_add(pt, FREEZE_STEM, 1, c1, "stem.bn2.beta");
    L->b_bn2m = table_add(bt, FREEZE_STEM, 1, c1, "stem.bn2.running_mean");
    L->b_bn2v = table_add(bt, FREEZE_STEM, 1, c1, "stem.bn2.running_var");
    if (L->t_c1b < 0 || L->t_c2b < 0 || L->b_bn2v < 0)
        return 0;
    pt->t[L->t_c1b].fan_in = 9;
    pt->t[L->t_c2b].fan_in = C2 * 9;
    return 1;
}

/* node i's shapes and tensors; 0 when out of memory */
static int authors_add_node(struct table *pt, struct table *bt, struct model *m, struct anode *nd, int i)
{
    const struct dcn_dag *dag = m->dag;
    const struct alayout *L = m->priv;
    const int C = m->cfg.channels;
    nd->indeg = (int)(dag->pred_off[i + 1] - dag->pred_off[i]);
    nd->pred = dag->pred + dag->pred_off[i];
    nd->is_output = dag->succ_off[i + 1] == dag->succ_off[i];
    nd->stride = nd->indeg == 0 ? 2 : 1;
    nd->oc = nd->is_output ? L->OC : C;
    nd->hin = nd->indeg == 0 ? L->H2 : m->H;
    nd->win = nd->indeg == 0 ? L->W2 : m->W;
    int sdw[4] = {C, 1, 3, 3}, spw[4] = {nd->oc, C, 1, 1}, so[1] = {nd->oc}, sag[1] = {nd->indeg};
    nd->t_agg = nd->indeg > 1 ? table_add(pt, FREEZE_AGG, 1, sag, "node.%d.agg", i) : -1;
    nd->t_dw = table_add(pt, FREEZE_NODES, 4, sdw, "node.%d.dw", i);
    nd->t_pw = table_add(pt, FREEZE_NODES, 4, spw, "node.%d.pw", i);
    nd->t_gamma = table_add(pt, FREEZE_NODES, 1, so, "node.%d.bn.gamma", i);
    nd->t_beta = table_add(pt, FREEZE_NODES, 1, so, "node.%d.bn.beta", i);
    nd->b_mean = table_add(bt, FREEZE_NODES, 1, so, "node.%d.bn.running_mean", i);
    nd->b_var = table_add(bt, FREEZE_NODES, 1, so, "node.%d.bn.running_var", i);
    return nd->t_dw >= 0 && nd->t_pw >= 0 && nd->t_beta >= 0 && nd->b_var >= 0;
}

/* conv 1x1, its BN, the linear layer; 0 when out of memory */
static int authors_add_head(struct table *pt, struct table *bt, struct alayout *L, int K)
{
    int sh[4] = {HEAD_WIDTH, L->OC, 1, 1}, s1[1] = {HEAD_WIDTH}, sfc[2] = {K, HEAD_WIDTH}, sk[1] = {K};
    L->t_hw = table_add(pt, FREEZE_HEAD, 4, sh, "head.conv.w");
    L->t_hb = table_add(pt, FREEZE_HEAD, 1, s1, "head.conv.b");
    L->t_hbng = table_add(pt, FREEZE_HEAD, 1, s1, "head.bn.gamma");
    L->t_hbnb = table_add(pt, FREEZE_HEAD, 1, s1, "head.bn.beta");
    L->b_hbnm = table_add(bt, FREEZE_HEAD, 1, s1, "head.bn.running_mean");
    L->b_hbnv = table_add(bt, FREEZE_HEAD, 1, s1, "head.bn.running_var");
    L->t_fcw = table_add(pt, FREEZE_HEAD, 2, sfc, "fc.w");
    L->t_fcb = table_add(pt, FREEZE_HEAD, 1, sk, "fc.b");
    if (L->t_hb < 0 || L->t_fcb < 0 || L->b_hbnv < 0)
        return 0;
    pt->t[L->t_hb].fan_in = L->OC;
    pt->t[L->t_fcb].fan_in = HEAD_WIDTH;
    return 1;
}

static enum dcn_status authors_build(struct dcn_ctx *ctx, struct model *m)
{
    const struct model_config *cfg = &m->cfg;
    if (cfg->channels < 2)
        return dcn_fail(ctx, DCN_EINVAL, "model: the authors variant needs at least 2 channels (its stem has C/2)");
    if (cfg->bn_comm != MPI_COMM_NULL)
        return dcn_fail(ctx, DCN_EINVAL, "model: synchronised batch norm is not available for the authors variant");
    struct alayout *L = calloc(1, sizeof *L);
    if (!L)
        return dcn_fail(ctx, DCN_ENOMEM, "model: out of memory");
    m->priv = L;
    L->C2 = cfg->channels / 2;
    L->OC = 4 * cfg->channels;
    L->H1 = conv_out_size(cfg->in_h, 3, 2, 1);
    L->W1 = conv_out_size(cfg->in_w, 3, 2, 1);
    L->H2 = conv_out_size(L->H1, 3, 2, 1);
    L->W2 = conv_out_size(L->W1, 3, 2, 1);
    m->H = conv_out_size(L->H2, 3, 2, 1);
    m->W = conv_out_size(L->W2, 3, 2, 1);

    struct table pt = {0}, bt = {0};
    int ok = authors_add_stem(&pt, &bt, L, cfg->channels);
    L->nodes = calloc((size_t)m->dag->n, sizeof *L->nodes);
    ok = ok && L->nodes;
    for (int i = 0; ok && i < m->dag->n; i++)
        ok = authors_add_node(&pt, &bt, m, &L->nodes[i], i);
    ok = ok && authors_add_head(&pt, &bt, L, cfg->classes);
    if (!table_install(m, &pt, &bt, ok))
        return dcn_fail(ctx, DCN_ENOMEM, "model: out of memory building the tensor tables");
    return DCN_OK;
}

/* The activation arena, piece by piece (model_internal.h, struct act_plan), for the largest batch */
static void authors_plan(struct model *m, struct act_plan *p)
{
    struct alayout *L = m->priv;
    const struct model_config *cfg = &m->cfg;
    const int C = cfg->channels, C2 = L->C2, OC = L->OC, K = cfg->classes;
    const size_t b = (size_t)cfg->batch, HW1 = (size_t)L->H1 * L->W1, HW2 = (size_t)L->H2 * L->W2,
                 HW3 = (size_t)m->H * m->W;
    const size_t n1 = b * C2 * HW1, n2 = b * C * HW2, n3 = b * C * HW3, no = b * OC * HW3, nh = b * HEAD_WIDTH * HW3,
                 bk = b * K, bh = b * HEAD_WIDTH;
    size_t ws = conv2d_workspace(1, cfg->in_h, cfg->in_w, 3, 2, 1);
    if (conv2d_workspace(C2, L->H1, L->W1, 3, 2, 1) > ws)
        ws = conv2d_workspace(C2, L->H1, L->W1, 3, 2, 1);
    PLAN_FLOATS(p, L->c1, n1);
    PLAN_FLOATS(p, L->r1, n1);
    PLAN_FLOATS(p, L->dr1, n1);
    PLAN_FLOATS(p, L->dc1, n1);
    PLAN_FLOATS(p, L->c2, n2);
    PLAN_FLOATS(p, L->s, n2);
    PLAN_FLOATS(p, L->sT, n2);
    PLAN_FLOATS(p, L->dstem, n2);
    PLAN_FLOATS(p, L->dstemT, n2);
    PLAN_FLOATS(p, L->dc2, n2);
    PLAN_FLOATS(p, L->m1, (size_t)C2);
    PLAN_FLOATS(p, L->rs1, (size_t)C2);
    PLAN_FLOATS(p, L->m2, (size_t)C);
    PLAN_FLOATS(p, L->rs2, (size_t)C);
    PLAN_FLOATS(p, L->mh, HEAD_WIDTH);
    PLAN_FLOATS(p, L->rsh, HEAD_WIDTH);
    PLAN_FLOATS(p, L->S, no);
    PLAN_FLOATS(p, L->Hr, no);
    PLAN_FLOATS(p, L->Q, nh);
    PLAN_FLOATS(p, L->Z, nh);
    PLAN_FLOATS(p, L->dZ, nh);
    PLAN_FLOATS(p, L->dQ, nh);
    PLAN_FLOATS(p, L->G, bh);
    PLAN_FLOATS(p, L->Gt, bh);
    PLAN_FLOATS(p, L->dG, bh);
    PLAN_FLOATS(p, L->logits, bk);
    PLAN_FLOATS(p, L->probs, bk);
    PLAN_FLOATS(p, L->dlogits, bk);
    PLAN_FLOATS(p, L->dHr, no);
    PLAN_FLOATS(p, L->dOut, no);
    PLAN_FLOATS(p, L->A, n2); /* aggregates need only n3: n2 keeps the arena's layout as it was measured */
    PLAN_FLOATS(p, L->dP, no);
    PLAN_FLOATS(p, L->dD, n3);
    PLAN_FLOATS(p, L->dR, n2);
    PLAN_FLOATS(p, L->ws, ws);
    for (int i = 0; i < m->dag->n; i++) {
        struct anode *nd = &L->nodes[i];
        const size_t nout = b * nd->oc * HW3;
        PLAN_FLOATS(p, nd->R, nd->indeg == 0 ? n2 : n3);
        PLAN_FLOATS(p, nd->D, n3);
        PLAN_FLOATS(p, nd->P, nout);
        PLAN_FLOATS(p, nd->Y, nout);
        PLAN_FLOATS(p, nd->mean, (size_t)nd->oc);
        PLAN_FLOATS(p, nd->rstd, (size_t)nd->oc);
        if (!nd->is_output)
            PLAN_FLOATS(p, nd->dY, n3);
    }
}

static void authors_free_priv(struct model *m)
{
    struct alayout *L = m->priv;
    if (!L)
        return;
    free(L->nodes);
    free(L);
    m->priv = NULL;
}

/* ---- forward and backward ---- */

/* BN forward in training (batch statistics, running statistics updated) or evaluation mode over
 * (B, C, HW); channel-major tensors are B = 1, HW = images x map */
static void bn_fwd(const struct model *m, float *out, float *mean, float *rstd, int tg, int tb, int bm, int bv,
                   const float *in, int B, int C, size_t HW, int train)
{
    if (train)
        batchnorm_forward_train(out, mean, rstd, arena_buffer(m, bm), arena_buffer(m, bv), in, arena_param(m, tg),
                                arena_param(m, tb), B, C, (int)HW, m->cfg.bn_eps, m->cfg.bn_momentum);
    else
        batchnorm_forward_eval(out, in, arena_param(m, tg), arena_param(m, tb), arena_buffer(m, bm),
                               arena_buffer(m, bv), B, C, (int)HW, m->cfg.bn_eps);
}

/* (R, S, HW) -> (S, R, HW): NCHW <-> channel-major */
static void swap_outer(float *restrict out, const float *restrict in, int R, int S, int HW)
{
    for (int r = 0; r < R; r++)
        for (int q = 0; q < S; q++)
            memcpy(out + ((size_t)q * R + r) * HW, in + ((size_t)r * S + q) * HW, (size_t)HW * sizeof(float));
}

static float authors_forward(struct model *m, const float *x, const int *y, int B, int train, int *correct)
{
    struct alayout *L = m->priv;
    const struct model_config *c = &m->cfg;
    const int C = c->channels, C2 = L->C2, OC = L->OC, HW1 = L->H1 * L->W1, HW2 = L->H2 * L->W2,
              HW3 = m->H * m->W;
    double *pa = m->prof.fwd, pt = m->prof.enabled ? dcn_now() : 0;

    conv2d_forward(L->c1, x, arena_param(m, L->t_c1w), arena_param(m, L->t_c1b), L->ws, B, 1, c->in_h, c->in_w, C2, 3,
                   2, 1);
    bn_fwd(m, L->r1, L->m1, L->rs1, L->t_bn1g, L->t_bn1b, L->b_bn1m, L->b_bn1v, L->c1, B, C2, (size_t)HW1, train);
    relu_forward(L->r1, L->r1, (size_t)B * C2 * HW1);
    conv2d_forward(L->c2, L->r1, arena_param(m, L->t_c2w), arena_param(m, L->t_c2b), L->ws, B, C2, L->H1, L->W1, C, 3,
                   2, 1);
    bn_fwd(m, L->s, L->m2, L->rs2, L->t_bn2g, L->t_bn2b, L->b_bn2m, L->b_bn2v, L->c2, B, C, (size_t)HW2, train);
    swap_outer(L->sT, L->s, B, C, HW2);
    prof_tick(m, pa, PROF_STEM, &pt);

    const struct dcn_dag *d = m->dag;
    const size_t n3 = (size_t)B * C * HW3, cols = (size_t)B * HW3;
    for (int i = 0; i < d->n; i++) {
        struct anode *nd = &L->nodes[i];
        const int hwin = nd->hin * nd->win;
        const size_t nin = (size_t)B * C * hwin;
        const float *a;
        if (nd->indeg == 0)
            a = L->sT;
        else if (nd->indeg == 1)
            a = L->nodes[nd->pred[0]].Y;
        else {
            const float *w = arena_param(m, nd->t_agg);
            float *restrict A = L->A;
            for (int k = 0; k < nd->indeg; k++) {
                const float sk = agg_sigmoid(w[k]);
                const float *restrict yk = L->nodes[nd->pred[k]].Y;
                if (k == 0)
                    for (size_t j = 0; j < n3; j++) A[j] = sk * yk[j];
                else
                    for (size_t j = 0; j < n3; j++) A[j] += sk * yk[j];
            }
            a = A;
        }
        prof_tick(m, pa, PROF_AGG, &pt);
        relu_forward(nd->R, a, nin);
        prof_tick(m, pa, PROF_RELU, &pt);
        const float *wd = arena_param(m, nd->t_dw);
        for (int ch = 0; ch < C; ch++) /* channel ch of every image: B one-channel maps, one weight */
            dwconv3x3_forward(nd->D + (size_t)ch * cols, nd->R + (size_t)ch * B * hwin, wd + 9 * ch, B, 1, nd->hin,
                              nd->win, nd->stride);
        prof_tick(m, pa, PROF_DW, &pt);
        pointwise_forward(nd->P, nd->D, arena_param(m, nd->t_pw), NULL, 1, C, (int)cols, nd->oc);
        prof_tick(m, pa, PROF_PW, &pt);
        bn_fwd(m, nd->Y, nd->mean, nd->rstd, nd->t_gamma, nd->t_beta, nd->b_mean, nd->b_var, nd->P, 1, nd->oc,
               cols, train);
        prof_tick(m, pa, PROF_BN, &pt);
    }

    /* sink: mean of the output nodes; the head's ReLU */
    const size_t no = (size_t)OC * cols;
    const float inv = 1.0f / (float)d->n_outputs;
    memset(L->S, 0, no * sizeof(float));
    for (int k = 0; k < d->n_outputs; k++) {
        const float *restrict yo = L->nodes[d->outputs[k]].Y;
        float *restrict S = L->S;
        for (size_t j = 0; j < no; j++) S[j] += yo[j];
    }
    for (size_t j = 0; j < no; j++) {
        L->S[j] *= inv;
        L->Hr[j] = L->S[j] > 0.0f ? L->S[j] : 0.0f;
    }
    prof_tick(m, pa, PROF_SINK, &pt);
    pointwise_forward(L->Q, L->Hr, arena_param(m, L->t_hw), arena_param(m, L->t_hb), 1, OC, (int)cols, HEAD_WIDTH);
    bn_fwd(m, L->Z, L->mh, L->rsh, L->t_hbng, L->t_hbnb, L->b_hbnm, L->b_hbnv, L->Q, 1, HEAD_WIDTH, cols, train);
    gap_forward(L->Gt, L->Z, 1, HEAD_WIDTH * B, HW3); /* (1280, B) */
    swap_outer(L->G, L->Gt, HEAD_WIDTH, B, 1);
    linear_forward(L->logits, L->G, arena_param(m, L->t_fcw), arena_param(m, L->t_fcb), B, HEAD_WIDTH, c->classes);
    prof_tick(m, pa, PROF_HEAD, &pt);
    int corr = 0;
    float loss = softmax_xent_forward(L->probs, L->logits, y, B, c->classes, &corr);
    prof_tick(m, pa, PROF_SOFTMAX, &pt);
    if (correct)
        *correct = corr;
    return loss;
}

static const float *authors_logits(const struct model *m) { return ((const struct alayout *)m->priv)->logits; }

/* The head backward: linear, pool, BN, conv 1x1 into dHr (the gradient at the head's ReLU output)
 * when need_below; the parts nothing needs are skipped */
static void authors_head_backward(struct model *m, int B, int need_below)
{
    struct alayout *L = m->priv;
    const int K = m->cfg.classes, HW3 = m->H * m->W;
    const size_t cols = (size_t)B * HW3, no = (size_t)L->OC * cols, nh = (size_t)HEAD_WIDTH * cols;
    memset(L->dG, 0, (size_t)B * HEAD_WIDTH * sizeof(float));
    linear_backward(L->dG, arena_grad(m, L->t_fcw), arena_grad(m, L->t_fcb), L->dlogits, L->G,
                    arena_param(m, L->t_fcw), B, HEAD_WIDTH, K);
    if (!need_below && !arena_grad(m, L->t_hw) && !arena_grad(m, L->t_hbng))
        return;
    swap_outer(L->Gt, L->dG, B, HEAD_WIDTH, 1); /* Gt is free now: dG as (1280, B) */
    memset(L->dZ, 0, nh * sizeof(float));
    gap_backward(L->dZ, L->Gt, 1, HEAD_WIDTH * B, HW3);
    batchnorm_backward_to(L->dQ, arena_grad(m, L->t_hbng), arena_grad(m, L->t_hbnb), L->dZ, L->Q, L->mh, L->rsh,
                          arena_param(m, L->t_hbng), 1, HEAD_WIDTH, (int)cols);
    if (need_below)
        memset(L->dHr, 0, no * sizeof(float));
    pointwise_backward(need_below ? L->dHr : NULL, arena_grad(m, L->t_hw), arena_grad(m, L->t_hb), L->dQ, L->Hr,
                       arena_param(m, L->t_hw), 1, L->OC, (int)cols, HEAD_WIDTH);
}

/* dA (the gradient at node nd's aggregate, nin floats) into its predecessors' gradients (or the
 * stem's) and into its aggregation weights' */
static void authors_agg_backward(struct model *m, const struct anode *nd, const float *restrict dA, size_t nin)
{
    struct alayout *L = m->priv;
    if (nd->indeg == 0) {
        for (size_t j = 0; j < nin; j++) L->dstemT[j] += dA[j];
    } else if (nd->indeg == 1) {
        float *restrict dp = L->nodes[nd->pred[0]].dY;
        for (size_t j = 0; j < nin; j++) dp[j] += dA[j];
    } else {
        const float *w = arena_param(m, nd->t_agg);
        float *gw = arena_grad(m, nd->t_agg);
        for (int k = 0; k < nd->indeg; k++) {
            const struct anode *p = &L->nodes[nd->pred[k]];
            const float sk = agg_sigmoid(w[k]);
            float *restrict dp = p->dY;
            for (size_t j = 0; j < nin; j++) dp[j] += sk * dA[j];
            if (gw)
                gw[k] += (float)(sk * (1.0f - sk) * vec_dot(dA, p->Y, nin));
        }
    }
}

/* One node backward from its output gradient dY: BN, pointwise, depthwise, then (when anything
 * below wants it) ReLU and the aggregation */
static void authors_node_backward(struct model *m, const struct anode *nd, const float *dY, int B, int need_stem,
                                  double *pa, double *pt)
{
    struct alayout *L = m->priv;
    const int C = m->cfg.channels, hwin = nd->hin * nd->win;
    const size_t cols = (size_t)B * m->H * m->W, nin = (size_t)B * C * hwin;
    batchnorm_backward_to(L->dP, arena_grad(m, nd->t_gamma), arena_grad(m, nd->t_beta), dY, nd->P, nd->mean, nd->rstd,
                          arena_param(m, nd->t_gamma), 1, nd->oc, (int)cols);
    prof_tick(m, pa, PROF_BN, pt);
    memset(L->dD, 0, (size_t)C * cols * sizeof(float));
    pointwise_backward(L->dD, arena_grad(m, nd->t_pw), NULL, L->dP, nd->D, arena_param(m, nd->t_pw), 1, C, (int)cols,
                       nd->oc);
    prof_tick(m, pa, PROF_PW, pt);
    const int below = nd->indeg > 0 || need_stem; /* does anything under this node want dA? */
    if (below)
        memset(L->dR, 0, nin * sizeof(float));
    const float *wd = arena_param(m, nd->t_dw);
    float *gd = arena_grad(m, nd->t_dw);
    for (int ch = 0; ch < C; ch++)
        dwconv3x3_backward(below ? L->dR + (size_t)ch * B * hwin : NULL, gd ? gd + 9 * ch : NULL,
                           L->dD + (size_t)ch * cols, nd->R + (size_t)ch * B * hwin, wd + 9 * ch, B, 1, nd->hin,
                           nd->win, nd->stride);
    prof_tick(m, pa, PROF_DW, pt);
    if (!below)
        return;
    /* ReLU: R = relu(A) has A's sign pattern; dA overwrites dR */
    float *restrict dA = L->dR;
    const float *restrict R = nd->R;
    for (size_t j = 0; j < nin; j++)
        if (!(R[j] > 0.0f))
            dA[j] = 0.0f;
    prof_tick(m, pa, PROF_RELU, pt);
    authors_agg_backward(m, nd, dA, nin);
    prof_tick(m, pa, PROF_AGG, pt);
}

/* BN2, conv2, ReLU, BN1, conv1 from dstemT (channel-major); the image needs no gradient */
static void authors_stem_backward(struct model *m, const float *x, int B)
{
    struct alayout *L = m->priv;
    const struct model_config *c = &m->cfg;
    const int C = c->channels, C2 = L->C2, HW1 = L->H1 * L->W1, HW2 = L->H2 * L->W2;
    swap_outer(L->dstem, L->dstemT, C, B, HW2);
    batchnorm_backward_to(L->dc2, arena_grad(m, L->t_bn2g), arena_grad(m, L->t_bn2b), L->dstem, L->c2, L->m2, L->rs2,
                          arena_param(m, L->t_bn2g), B, C, HW2);
    memset(L->dr1, 0, (size_t)B * C2 * HW1 * sizeof(float));
    conv2d_backward(L->dr1, arena_grad(m, L->t_c2w), arena_grad(m, L->t_c2b), L->dc2, L->r1, arena_param(m, L->t_c2w),
                    L->ws, B, C2, L->H1, L->W1, C, 3, 2, 1);
    for (size_t j = 0; j < (size_t)B * C2 * HW1; j++)
        if (!(L->r1[j] > 0.0f))
            L->dr1[j] = 0.0f;
    batchnorm_backward_to(L->dc1, arena_grad(m, L->t_bn1g), arena_grad(m, L->t_bn1b), L->dr1, L->c1, L->m1, L->rs1,
                          arena_param(m, L->t_bn1g), B, C2, HW1);
    conv2d_backward(NULL, arena_grad(m, L->t_c1w), arena_grad(m, L->t_c1b), L->dc1, x, arena_param(m, L->t_c1w),
                    L->ws, B, 1, c->in_h, c->in_w, C2, 3, 2, 1);
}

static void authors_backward(struct model *m, const float *x, const int *y, int B)
{
    struct alayout *L = m->priv;
    const struct model_config *c = &m->cfg;
    const struct dcn_dag *d = m->dag;
    const int need_stem = !(c->freeze & FREEZE_STEM);
    const int need_dag = need_stem || !(c->freeze & FREEZE_NODES) || !(c->freeze & FREEZE_AGG);
    double *pa = m->prof.bwd, pt = m->prof.enabled ? dcn_now() : 0;

    memset(m->grad_mem, 0, m->param_floats * sizeof(float));
    memset(L->dlogits, 0, (size_t)B * c->classes * sizeof(float));
    softmax_xent_backward(L->dlogits, L->probs, y, B, c->classes);
    prof_tick(m, pa, PROF_SOFTMAX, &pt);
    const int need_below = need_dag || need_stem;
    authors_head_backward(m, B, need_below);
    prof_tick(m, pa, PROF_HEAD, &pt);

    if (need_below) {
        /* the sink's mean hands dOut to every output node */
        const size_t no = (size_t)L->OC * B * m->H * m->W, n3 = (size_t)B * c->channels * m->H * m->W;
        const float inv = 1.0f / (float)d->n_outputs;
        for (size_t j = 0; j < no; j++) L->dOut[j] = L->Hr[j] > 0.0f ? L->dHr[j] * inv : 0.0f;
        for (int i = 0; i < d->n; i++)
            if (L->nodes[i].dY)
                memset(L->nodes[i].dY, 0, n3 * sizeof(float));
        memset(L->dstemT, 0, (size_t)B * c->channels * L->H2 * L->W2 * sizeof(float));
        prof_tick(m, pa, PROF_SINK, &pt);
        for (int i = d->n - 1; i >= 0; i--) {
            const struct anode *nd = &L->nodes[i];
            authors_node_backward(m, nd, nd->is_output ? L->dOut : nd->dY, B, need_stem, pa, &pt);
        }
    }
    if (need_stem) {
        authors_stem_backward(m, x, B);
        prof_tick(m, pa, PROF_STEM, &pt);
    }
    /* one report: the arena is final only now (this variant does not overlap reduction with backward) */
    if (m->grad_ready)
        m->grad_ready(m->grad_ready_arg, 0);
}

/* counted as model_flops_per_image says */
static double authors_flops_per_image(const struct model *m)
{
    const struct alayout *L = m->priv;
    const double C = m->cfg.channels, C2 = L->C2, OC = L->OC, K = m->cfg.classes, HW1 = (double)L->H1 * L->W1,
                 HW2 = (double)L->H2 * L->W2, HW3 = (double)m->H * m->W, HD = HEAD_WIDTH;
    const int stem_tr = !(m->cfg.freeze & FREEZE_STEM), nodes_tr = !(m->cfg.freeze & FREEZE_NODES),
              agg_tr = !(m->cfg.freeze & FREEZE_AGG), head_tr = !(m->cfg.freeze & FREEZE_HEAD);
    const int below = stem_tr || nodes_tr || agg_tr;
    double f = 0;
    /* stem: conv1 (9 MAC per output), BN, ReLU, conv2 (9 C/2 MAC per output), BN */
    f += 18.0 * C2 * HW1 + 8.0 * C2 * HW1 + 18.0 * C2 * C * HW2 + 7.0 * C * HW2;
    if (stem_tr)
        f += 18.0 * C2 * HW1 + 10.0 * C2 * HW1 + 2.0 * 18.0 * C2 * C * HW2 + 9.0 * C * HW2;
    for (int i = 0; i < m->dag->n; i++) {
        const struct anode *nd = &L->nodes[i];
        const double in = C * nd->hin * nd->win, out = C * HW3, oc = nd->oc * HW3, indeg = nd->indeg;
        if (indeg > 1)
            f += (2.0 * indeg - 1.0) * out + (below ? 2.0 * indeg * out : 0.0) + (below && agg_tr ? 2.0 * indeg * out : 0.0);
        f += in + (below ? in : 0.0);                                            /* ReLU */
        f += 18.0 * out + (below ? 18.0 * out : 0.0) + (below && nodes_tr ? 18.0 * out : 0.0); /* depthwise */
        f += 2.0 * C * oc + (below ? 2.0 * C * oc : 0.0) + (below && nodes_tr ? 2.0 * C * oc : 0.0);
        f += 7.0 * oc + (below ? 9.0 * oc : 0.0);                                /* BN */
    }
    f += (m->dag->n_outputs + 1.0) * OC * HW3;                                   /* sink + ReLU */
    f += 2.0 * OC * HD * HW3 + 7.0 * HD * HW3 + HD * HW3 + 2.0 * HD * K;        /* head forward */
    f += (below ? 2.0 * OC * HD * HW3 + 9.0 * HD * HW3 + 2.0 * HD * K : 0.0) + (head_tr ? 2.0 * OC * HD * HW3 + 2.0 * HD * K : 0.0);
    return f;
}

const struct model_ops authors_ops = {
    .name = "authors",
    .has_dag = 1,
    .build = authors_build,
    .plan = authors_plan,
    .free_priv = authors_free_priv,
    .forward = authors_forward,
    .backward = authors_backward,
    .logits = authors_logits,
    .flops_per_image = authors_flops_per_image,
};
