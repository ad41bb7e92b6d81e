/* The authors' code variant (nick11roberts/connectomics-learning, CElegansNN/model), kept apart from
 * model.c because its nodes do not share one shape: the stem ends at C x 7 x 7, input nodes convolve
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

#include "../nn/lanes.h"
#include "dcn/nn.h"
#include "internal.h"

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
    float *sig;                        /* (max in-degree) sigmoids of a node's aggregation weights */
};

static inline float *PA(const struct model *m, int t) { return m->param_mem + m->params[t].offset; }
static inline float *GA(const struct model *m, int t)
{
    return t >= 0 && m->params[t].trainable ? m->grad_mem + m->params[t].offset : NULL;
}
static inline float *BA(const struct model *m, int t) { return m->buffer_mem + m->buffers[t].offset; }

static inline void tick(const struct model *m, double *acc, int kind, double *t)
{
    if (m->prof.enabled) {
        double now = dcn_now();
        acc[kind] += now - *t;
        *t = now;
    }
}

static size_t r16(size_t n) { return (n + 15) & ~(size_t)15; }

void authors_free_priv(struct model *m)
{
    struct alayout *L = m->priv;
    if (L) {
        free(L->nodes);
        free(L->sig);
    }
}

enum dcn_status authors_create(struct dcn_ctx *ctx, const struct model_config *cfg, const struct dcn_dag *dag,
                               struct model **out)
{
    *out = NULL;
    if (cfg->channels < 2)
        return dcn_fail(ctx, DCN_EINVAL, "model: the authors variant needs at least 2 channels (its stem has C/2)");
    if (cfg->bn_comm != MPI_COMM_NULL)
        return dcn_fail(ctx, DCN_EINVAL, "model: synchronised batch norm is not available for the authors variant");
    struct model *m = calloc(1, sizeof *m);
    struct alayout *L = calloc(1, sizeof *L);
    if (!m || !L) {
        free(m);
        free(L);
        return dcn_fail(ctx, DCN_ENOMEM, "model: out of memory");
    }
    m->cfg = *cfg;
    m->priv = L;
    m->dag = dag;
    const int C = cfg->channels, C2 = C / 2, OC = 4 * C, K = cfg->classes, B = cfg->batch, n = dag->n;
    L->C2 = C2;
    L->OC = OC;
    L->H1 = conv_out_size(cfg->in_h, 3, 2, 1);
    L->W1 = conv_out_size(cfg->in_w, 3, 2, 1);
    L->H2 = conv_out_size(L->H1, 3, 2, 1);
    L->W2 = conv_out_size(L->W1, 3, 2, 1);
    m->H = conv_out_size(L->H2, 3, 2, 1);
    m->W = conv_out_size(L->W2, 3, 2, 1);
    const int HW1 = L->H1 * L->W1, HW2 = L->H2 * L->W2, HW3 = m->H * m->W;

    struct table pt = {0}, bt = {0};
    int ok = 1;
    {
        int w1[4] = {C2, 1, 3, 3}, w2[4] = {C, C2, 3, 3}, c2[1] = {C2}, c1[1] = {C};
        L->t_c1w = table_add(&pt, FREEZE_STEM, 4, w1, "stem.conv1.w");
        L->t_c1b = table_add(&pt, FREEZE_STEM, 1, c2, "stem.conv1.b");
        L->t_bn1g = table_add(&pt, FREEZE_STEM, 1, c2, "stem.bn1.gamma");
        L->t_bn1b = table_add(&pt, FREEZE_STEM, 1, c2, "stem.bn1.beta");
        L->b_bn1m = table_add(&bt, FREEZE_STEM, 1, c2, "stem.bn1.running_mean");
        L->b_bn1v = table_add(&bt, FREEZE_STEM, 1, c2, "stem.bn1.running_var");
        L->t_c2w = table_add(&pt, FREEZE_STEM, 4, w2, "stem.conv2.w");
        L->t_c2b = table_add(&pt, FREEZE_STEM, 1, c1, "stem.conv2.b");
        L->t_bn2g = table_add(&pt, FREEZE_STEM, 1, c1, "stem.bn2.gamma");
        L->t_bn2b = table_add(&pt, FREEZE_STEM, 1, c1, "stem.bn2.beta");
        L->b_bn2m = table_add(&bt, FREEZE_STEM, 1, c1, "stem.bn2.running_mean");
        L->b_bn2v = table_add(&bt, FREEZE_STEM, 1, c1, "stem.bn2.running_var");
        if (L->t_c1b < 0 || L->t_c2b < 0 || L->b_bn2v < 0)
            ok = 0;
        else {
            pt.t[L->t_c1b].fan_in = 9;
            pt.t[L->t_c2b].fan_in = C2 * 9;
        }
    }
    L->nodes = calloc((size_t)n, sizeof *L->nodes);
    int max_in = 1;
    if (!L->nodes)
        ok = 0;
    for (int i = 0; ok && i < n; i++) {
        struct anode *nd = &L->nodes[i];
        nd->indeg = (int)(dag->pred_off[i + 1] - dag->pred_off[i]);
        nd->pred = dag->pred + dag->pred_off[i];
        nd->is_output = dag->succ_off[i + 1] == dag->succ_off[i];
        nd->stride = nd->indeg == 0 ? 2 : 1;
        nd->oc = nd->is_output ? OC : C;
        nd->hin = nd->indeg == 0 ? L->H2 : m->H;
        nd->win = nd->indeg == 0 ? L->W2 : m->W;
        if (nd->indeg > max_in)
            max_in = nd->indeg;
        int sdw[4] = {C, 1, 3, 3}, spw[4] = {nd->oc, C, 1, 1}, so[1] = {nd->oc}, sag[1] = {nd->indeg};
        nd->t_agg = nd->indeg > 1 ? table_add(&pt, FREEZE_AGG, 1, sag, "node.%d.agg", i) : -1;
        nd->t_dw = table_add(&pt, FREEZE_NODES, 4, sdw, "node.%d.dw", i);
        nd->t_pw = table_add(&pt, FREEZE_NODES, 4, spw, "node.%d.pw", i);
        nd->t_gamma = table_add(&pt, FREEZE_NODES, 1, so, "node.%d.bn.gamma", i);
        nd->t_beta = table_add(&pt, FREEZE_NODES, 1, so, "node.%d.bn.beta", i);
        nd->b_mean = table_add(&bt, FREEZE_NODES, 1, so, "node.%d.bn.running_mean", i);
        nd->b_var = table_add(&bt, FREEZE_NODES, 1, so, "node.%d.bn.running_var", i);
        if (nd->t_dw < 0 || nd->t_pw < 0 || nd->t_beta < 0 || nd->b_var < 0)
            ok = 0;
    }
    if (ok) {
        int sh[4] = {HEAD_WIDTH, OC, 1, 1}, s1[1] = {HEAD_WIDTH}, sfc[2] = {K, HEAD_WIDTH}, sk[1] = {K};
        L->t_hw = table_add(&pt, FREEZE_HEAD, 4, sh, "head.conv.w");
        L->t_hb = table_add(&pt, FREEZE_HEAD, 1, s1, "head.conv.b");
        L->t_hbng = table_add(&pt, FREEZE_HEAD, 1, s1, "head.bn.gamma");
        L->t_hbnb = table_add(&pt, FREEZE_HEAD, 1, s1, "head.bn.beta");
        L->b_hbnm = table_add(&bt, FREEZE_HEAD, 1, s1, "head.bn.running_mean");
        L->b_hbnv = table_add(&bt, FREEZE_HEAD, 1, s1, "head.bn.running_var");
        L->t_fcw = table_add(&pt, FREEZE_HEAD, 2, sfc, "fc.w");
        L->t_fcb = table_add(&pt, FREEZE_HEAD, 1, sk, "fc.b");
        if (L->t_hb < 0 || L->t_fcb < 0 || L->b_hbnv < 0)
            ok = 0;
        else {
            pt.t[L->t_hb].fan_in = OC;
            pt.t[L->t_fcb].fan_in = HEAD_WIDTH;
        }
    }
    m->params = pt.t;
    m->n_params = pt.n;
    m->param_floats = pt.floats;
    m->buffers = bt.t;
    m->n_buffers = bt.n;
    m->buffer_floats = bt.floats;
    L->sig = calloc((size_t)max_in, sizeof *L->sig);
    if (!ok || !L->sig) {
        model_free(m);
        return dcn_fail(ctx, DCN_ENOMEM, "model: out of memory building the tensor tables");
    }
    model_mark_trainable(m);

    /* activation plan: sizes in floats for the largest batch */
    const size_t b = (size_t)B, n1 = r16(b * C2 * HW1), n2 = r16(b * C * HW2), n3 = r16(b * C * HW3),
                 no = r16(b * OC * HW3), nh = r16(b * HEAD_WIDTH * HW3), bk = r16(b * K), bh = r16(b * HEAD_WIDTH);
    const size_t cr = r16((size_t)C), c2r = r16((size_t)C2), hr = r16(HEAD_WIDTH);
    size_t ws = conv2d_workspace(1, cfg->in_h, cfg->in_w, 3, 2, 1);
    if (conv2d_workspace(C2, L->H1, L->W1, 3, 2, 1) > ws)
        ws = conv2d_workspace(C2, L->H1, L->W1, 3, 2, 1);
    size_t total = 4 * n1 + 6 * n2 + 2 * c2r + 2 * cr + 2 * hr; /* c1 r1 dr1 dc1, c2 s sT dstem(T) dc2, stats */
    total += 2 * no + 4 * nh + 3 * bh + 3 * bk + 2 * no;       /* S Hr, Q Z dZ dQ, G Gt dG, logits.., dHr dOut */
    total += n2 + no + n3 + n2 + r16(ws);                       /* A (input-node size), dP, dD, dR, ws */
    for (int i = 0; i < n; i++) {
        const struct anode *nd = &L->nodes[i];
        const size_t nin = nd->indeg == 0 ? n2 : n3, nout = r16(b * nd->oc * HW3);
        total += nin + n3 + 2 * nout + 2 * r16((size_t)nd->oc) + (nd->is_output ? 0 : n3);
    }
    m->act_floats = total;
    if (model_alloc_arenas(ctx, m))
        return DCN_ENOMEM;
    float *p = m->act_mem;
#define TAKE(ptr, k) do { (ptr) = p; p += (k); } while (0)
    TAKE(L->c1, n1);
    TAKE(L->r1, n1);
    TAKE(L->dr1, n1);
    TAKE(L->dc1, n1);
    TAKE(L->c2, n2);
    TAKE(L->s, n2);
    TAKE(L->sT, n2);
    TAKE(L->dstem, n2);
    TAKE(L->dstemT, n2);
    TAKE(L->dc2, n2);
    TAKE(L->m1, c2r);
    TAKE(L->rs1, c2r);
    TAKE(L->m2, cr);
    TAKE(L->rs2, cr);
    TAKE(L->mh, hr);
    TAKE(L->rsh, hr);
    TAKE(L->S, no);
    TAKE(L->Hr, no);
    TAKE(L->Q, nh);
    TAKE(L->Z, nh);
    TAKE(L->dZ, nh);
    TAKE(L->dQ, nh);
    TAKE(L->G, bh);
    TAKE(L->Gt, bh);
    TAKE(L->dG, bh);
    TAKE(L->logits, bk);
    TAKE(L->probs, bk);
    TAKE(L->dlogits, bk);
    TAKE(L->dHr, no);
    TAKE(L->dOut, no);
    TAKE(L->A, n2);
    TAKE(L->dP, no);
    TAKE(L->dD, n3);
    TAKE(L->dR, n2);
    TAKE(L->ws, r16(ws));
    for (int i = 0; i < n; i++) {
        struct anode *nd = &L->nodes[i];
        const size_t nin = nd->indeg == 0 ? n2 : n3, nout = r16(b * nd->oc * HW3);
        TAKE(nd->R, nin);
        TAKE(nd->D, n3);
        TAKE(nd->P, nout);
        TAKE(nd->Y, nout);
        TAKE(nd->mean, r16((size_t)nd->oc));
        TAKE(nd->rstd, r16((size_t)nd->oc));
        if (!nd->is_output)
            TAKE(nd->dY, n3);
    }
#undef TAKE
    *out = m;
    return DCN_OK;
}

static inline float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

/* BN forward in training (batch statistics, running statistics updated) or evaluation mode over
 * (B, C, HW); channel-major tensors are B = 1, HW = images x map */
static void bn_fwd(const struct model *m, float *out, float *mean, float *rstd, int tg, int tb, int bm, int bv,
                   const float *in, int B, int C, size_t HW, int train)
{
    if (train)
        batchnorm_forward_train(out, mean, rstd, BA(m, bm), BA(m, bv), in, PA(m, tg), PA(m, tb), B, C, (int)HW,
                                m->cfg.bn_eps, m->cfg.bn_momentum);
    else
        batchnorm_forward_eval(out, in, PA(m, tg), PA(m, tb), BA(m, bm), BA(m, bv), B, C, (int)HW, m->cfg.bn_eps);
}

/* (R, S, HW) -> (S, R, HW): NCHW <-> channel-major */
static void swap_outer(float *restrict out, const float *restrict in, int R, int S, int HW)
{
    for (int r = 0; r < R; r++)
        for (int q = 0; q < S; q++)
            memcpy(out + ((size_t)q * R + r) * HW, in + ((size_t)r * S + q) * HW, (size_t)HW * sizeof(float));
}

float authors_forward(struct model *m, const float *x, const int *y, int B, int train, int *correct)
{
    struct alayout *L = m->priv;
    const struct model_config *c = &m->cfg;
    const int C = c->channels, C2 = L->C2, OC = L->OC, HW1 = L->H1 * L->W1, HW2 = L->H2 * L->W2,
              HW3 = m->H * m->W;
    double *pa = m->prof.fwd, pt = m->prof.enabled ? dcn_now() : 0;

    conv2d_forward(L->c1, x, PA(m, L->t_c1w), PA(m, L->t_c1b), L->ws, B, 1, c->in_h, c->in_w, C2, 3, 2, 1);
    bn_fwd(m, L->r1, L->m1, L->rs1, L->t_bn1g, L->t_bn1b, L->b_bn1m, L->b_bn1v, L->c1, B, C2, (size_t)HW1, train);
    relu_forward(L->r1, L->r1, (size_t)B * C2 * HW1);
    conv2d_forward(L->c2, L->r1, PA(m, L->t_c2w), PA(m, L->t_c2b), L->ws, B, C2, L->H1, L->W1, C, 3, 2, 1);
    bn_fwd(m, L->s, L->m2, L->rs2, L->t_bn2g, L->t_bn2b, L->b_bn2m, L->b_bn2v, L->c2, B, C, (size_t)HW2, train);
    swap_outer(L->sT, L->s, B, C, HW2);
    tick(m, pa, PROF_STEM, &pt);

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
            const float *w = PA(m, nd->t_agg);
            float *restrict A = L->A;
            for (int k = 0; k < nd->indeg; k++) {
                const float sk = sigm(w[k]);
                const float *restrict yk = L->nodes[nd->pred[k]].Y;
                if (k == 0)
                    for (size_t j = 0; j < n3; j++) A[j] = sk * yk[j];
                else
                    for (size_t j = 0; j < n3; j++) A[j] += sk * yk[j];
            }
            a = A;
        }
        tick(m, pa, PROF_AGG, &pt);
        relu_forward(nd->R, a, nin);
        tick(m, pa, PROF_RELU, &pt);
        const float *wd = PA(m, nd->t_dw);
        for (int ch = 0; ch < C; ch++) /* channel ch of every image: B one-channel maps, one weight */
            dwconv3x3_forward(nd->D + (size_t)ch * cols, nd->R + (size_t)ch * B * hwin, wd + 9 * ch, B, 1, nd->hin,
                              nd->win, nd->stride);
        tick(m, pa, PROF_DW, &pt);
        pointwise_forward(nd->P, nd->D, PA(m, nd->t_pw), NULL, 1, C, (int)cols, nd->oc);
        tick(m, pa, PROF_PW, &pt);
        bn_fwd(m, nd->Y, nd->mean, nd->rstd, nd->t_gamma, nd->t_beta, nd->b_mean, nd->b_var, nd->P, 1, nd->oc,
               cols, train);
        tick(m, pa, PROF_BN, &pt);
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
    tick(m, pa, PROF_SINK, &pt);
    pointwise_forward(L->Q, L->Hr, PA(m, L->t_hw), PA(m, L->t_hb), 1, OC, (int)cols, HEAD_WIDTH);
    bn_fwd(m, L->Z, L->mh, L->rsh, L->t_hbng, L->t_hbnb, L->b_hbnm, L->b_hbnv, L->Q, 1, HEAD_WIDTH, cols, train);
    gap_forward(L->Gt, L->Z, 1, HEAD_WIDTH * B, HW3); /* (1280, B) */
    swap_outer(L->G, L->Gt, HEAD_WIDTH, B, 1);
    linear_forward(L->logits, L->G, PA(m, L->t_fcw), PA(m, L->t_fcb), B, HEAD_WIDTH, c->classes);
    tick(m, pa, PROF_HEAD, &pt);
    int corr = 0;
    float loss = softmax_xent_forward(L->probs, L->logits, y, B, c->classes, &corr);
    tick(m, pa, PROF_SOFTMAX, &pt);
    if (correct)
        *correct = corr;
    return loss;
}

const float *authors_logits(const struct model *m) { return ((const struct alayout *)m->priv)->logits; }

void authors_backward(struct model *m, const float *x, const int *y, int B)
{
    struct alayout *L = m->priv;
    const struct model_config *c = &m->cfg;
    const int C = c->channels, C2 = L->C2, OC = L->OC, K = c->classes, HW1 = L->H1 * L->W1,
              HW2 = L->H2 * L->W2, HW3 = m->H * m->W;
    const struct dcn_dag *d = m->dag;
    const int need_stem = !(c->freeze & FREEZE_STEM);
    const int need_dag = need_stem || !(c->freeze & FREEZE_NODES) || !(c->freeze & FREEZE_AGG);
    double *pa = m->prof.bwd, pt = m->prof.enabled ? dcn_now() : 0;

    memset(m->grad_mem, 0, m->param_floats * sizeof(float));
    memset(L->dlogits, 0, (size_t)B * K * sizeof(float));
    softmax_xent_backward(L->dlogits, L->probs, y, B, K);
    tick(m, pa, PROF_SOFTMAX, &pt);

    /* head: linear, pool, BN, conv 1x1, ReLU; then the sink's mean hands dOut to every output node */
    const size_t cols = (size_t)B * HW3, no = (size_t)OC * cols, nh = (size_t)HEAD_WIDTH * cols;
    const int need_below = need_dag || need_stem;
    memset(L->dG, 0, (size_t)B * HEAD_WIDTH * sizeof(float));
    linear_backward(L->dG, GA(m, L->t_fcw), GA(m, L->t_fcb), L->dlogits, L->G, PA(m, L->t_fcw), B, HEAD_WIDTH, K);
    const int head_body = need_below || GA(m, L->t_hw) || GA(m, L->t_hbng);
    if (head_body) {
        swap_outer(L->Gt, L->dG, B, HEAD_WIDTH, 1); /* Gt is free now: dG as (1280, B) */
        memset(L->dZ, 0, nh * sizeof(float));
        gap_backward(L->dZ, L->Gt, 1, HEAD_WIDTH * B, HW3);
        batchnorm_backward_to(L->dQ, GA(m, L->t_hbng), GA(m, L->t_hbnb), L->dZ, L->Q, L->mh, L->rsh,
                              PA(m, L->t_hbng), 1, HEAD_WIDTH, (int)cols);
        if (need_below)
            memset(L->dHr, 0, no * sizeof(float));
        pointwise_backward(need_below ? L->dHr : NULL, GA(m, L->t_hw), GA(m, L->t_hb), L->dQ, L->Hr,
                           PA(m, L->t_hw), 1, OC, (int)cols, HEAD_WIDTH);
    }
    tick(m, pa, PROF_HEAD, &pt);

    if (need_below) {
        const float inv = 1.0f / (float)d->n_outputs;
        for (size_t j = 0; j < no; j++) L->dOut[j] = L->Hr[j] > 0.0f ? L->dHr[j] * inv : 0.0f;
        const size_t n3 = (size_t)B * C * HW3, n2 = (size_t)B * C * HW2;
        for (int i = 0; i < d->n; i++)
            if (L->nodes[i].dY)
                memset(L->nodes[i].dY, 0, n3 * sizeof(float));
        memset(L->dstemT, 0, n2 * sizeof(float));
        tick(m, pa, PROF_SINK, &pt);
        for (int i = d->n - 1; i >= 0; i--) {
            struct anode *nd = &L->nodes[i];
            const float *dY = nd->is_output ? L->dOut : nd->dY;
            const int hwin = nd->hin * nd->win;
            const size_t nin = (size_t)B * C * hwin;
            batchnorm_backward_to(L->dP, GA(m, nd->t_gamma), GA(m, nd->t_beta), dY, nd->P, nd->mean, nd->rstd,
                                  PA(m, nd->t_gamma), 1, nd->oc, (int)cols);
            tick(m, pa, PROF_BN, &pt);
            memset(L->dD, 0, n3 * sizeof(float));
            pointwise_backward(L->dD, GA(m, nd->t_pw), NULL, L->dP, nd->D, PA(m, nd->t_pw), 1, C, (int)cols, nd->oc);
            tick(m, pa, PROF_PW, &pt);
            const int below = nd->indeg > 0 || need_stem; /* does anything under this node want dA? */
            if (below)
                memset(L->dR, 0, nin * sizeof(float));
            const float *wd = PA(m, nd->t_dw);
            float *gd = GA(m, nd->t_dw);
            for (int ch = 0; ch < C; ch++)
                dwconv3x3_backward(below ? L->dR + (size_t)ch * B * hwin : NULL, gd ? gd + 9 * ch : NULL,
                                   L->dD + (size_t)ch * cols, nd->R + (size_t)ch * B * hwin, wd + 9 * ch, B, 1,
                                   nd->hin, nd->win, nd->stride);
            tick(m, pa, PROF_DW, &pt);
            if (!below)
                continue;
            /* ReLU: R = relu(A) has A's sign pattern; dA overwrites dR */
            float *restrict dA = L->dR;
            const float *restrict R = nd->R;
            for (size_t j = 0; j < nin; j++)
                if (!(R[j] > 0.0f))
                    dA[j] = 0.0f;
            tick(m, pa, PROF_RELU, &pt);
            if (nd->indeg == 0) {
                for (size_t j = 0; j < nin; j++) L->dstemT[j] += dA[j];
            } else if (nd->indeg == 1) {
                float *restrict dp = L->nodes[nd->pred[0]].dY;
                for (size_t j = 0; j < nin; j++) dp[j] += dA[j];
            } else {
                const float *w = PA(m, nd->t_agg);
                float *gw = GA(m, nd->t_agg);
                for (int k = 0; k < nd->indeg; k++) {
                    const struct anode *p = &L->nodes[nd->pred[k]];
                    const float sk = sigm(w[k]);
                    float *restrict dp = p->dY;
                    const float *restrict yp = p->Y;
                    for (size_t j = 0; j < nin; j++) dp[j] += sk * dA[j];
                    if (gw)
                        gw[k] += (float)(sk * (1.0f - sk) * lanes_dot(dA, yp, nin));
                }
            }
            tick(m, pa, PROF_AGG, &pt);
        }
    }
    if (need_stem) {
        swap_outer(L->dstem, L->dstemT, C, B, HW2);
        batchnorm_backward_to(L->dc2, GA(m, L->t_bn2g), GA(m, L->t_bn2b), L->dstem, L->c2, L->m2, L->rs2,
                              PA(m, L->t_bn2g), B, C, HW2);
        memset(L->dr1, 0, (size_t)B * C2 * HW1 * sizeof(float));
        conv2d_backward(L->dr1, GA(m, L->t_c2w), GA(m, L->t_c2b), L->dc2, L->r1, PA(m, L->t_c2w), L->ws, B, C2,
                        L->H1, L->W1, C, 3, 2, 1);
        for (size_t j = 0; j < (size_t)B * C2 * HW1; j++)
            if (!(L->r1[j] > 0.0f))
                L->dr1[j] = 0.0f;
        batchnorm_backward_to(L->dc1, GA(m, L->t_bn1g), GA(m, L->t_bn1b), L->dr1, L->c1, L->m1, L->rs1,
                              PA(m, L->t_bn1g), B, C2, HW1);
        conv2d_backward(NULL, GA(m, L->t_c1w), GA(m, L->t_c1b), L->dc1, x, PA(m, L->t_c1w), L->ws, B, 1, c->in_h,
                        c->in_w, C2, 3, 2, 1);
        tick(m, pa, PROF_STEM, &pt);
    }
    /* one report: the arena is final only now (this variant does not overlap reduction with backward) */
    if (m->grad_ready)
        m->grad_ready(m->grad_ready_arg, 0);
}

/* Useful training FLOPs per image, counted like model_flops_per_image: convolutions and GEMMs exactly
 * (input gradients only where something below needs them, weight gradients only when trainable),
 * elementwise layers at their arithmetic per element. */
double authors_flops_per_image(const struct model *m)
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
