/* The paper and baseline variants: stem conv 3x3 s2 + BN + ReLU, the DAG's nodes at C x 14 x 14
 * (none for the baseline), the sink's mean + ReLU, flatten, FC. One engine serves both: the
 * baseline is this model without a DAG (its FC reads the stem). paper_plan.c builds the model's
 * layout (tensor tables, gradient slots, the activation arena); this file is the engine that runs on
 * it (thread phases, forward, backward).
 *
 * Layout: node tensors are channel-major, (C, B, HW): each channel of the whole batch is one
 * contiguous run of B*HW floats. The pointwise convolution of a node is then ONE sgemm
 * (C x C) . (C x B*HW) instead of B small ones, and the batch norm's per-channel reductions are
 * contiguous. The stem (conv, BN, ReLU) stays NCHW, as does the head's input (the FC layer flattens
 * each image): the DAG's input nodes read the stem through plane strides and the sink writes the
 * head's input in NCHW, so no separate transposition pass exists.
 *
 * Memory plan (why it is smaller than autograd's): a node keeps only its pointwise output P (the
 * batch-norm input, which BN backward needs) and the per-channel affine of its batch norm;
 * consumers form the node output Y = ((P - hi) - lo) * scale + shift on the fly (exactly the
 * normalisation formula), so Y is never stored. The aggregation, ReLU and depthwise outputs are
 * recomputed from the predecessors by one fused per-plane kernel (src/nn/node.c) in forward and
 * backward, except that a node whose gradient slot (below) is still unused when the forward runs
 * keeps its aggregation there, and its backward reads that one tensor instead of its inputs. The
 * slots are planned for the backward's peak anyway, so this costs no memory; on C. elegans (random order,
 * seed 0) 180 of the 297 nodes keep it, covering 1,893 of the 2,148 edges.
 *
 * Gradients are pulled, not pushed. Backward of node i leaves dA_i, the gradient at its aggregation,
 * in a slot; a predecessor j later forms its output gradient dY_j = sum over its consumers k of
 * s_kj dA_k (s_kj = 1 for a single-input consumer) in one pass, in descending k. Pushing s_kj dA_k
 * into j's gradient from every consumer read and wrote j's gradient on every edge; pulling reads each
 * dA_k once per edge and writes dY_j once per node (the front's memory traffic per edge in backward
 * goes from four tensors to two, README "The roofline"). The sums are the same floats in the same
 * order as the pushes were. Slots are assigned by a liveness simulation of the backward sweep: dA_i
 * takes one when node i is processed and returns it once its smallest predecessor has pulled. dY_j
 * lives in one buffer, used by one node at a time; output nodes read the sink's gradient /
 * n_outputs, shared by all of them. Input nodes add their dA into the stem's gradient.
 *
 * The aggregation weights' gradient s_kj (1 - s_kj) <dA_k, Y_j> is formed in the same pull: j's pass
 * streams dA_k anyway and reads its own P for batch norm, so the dot products cost arithmetic but no
 * memory traffic (formed in k's backward, they re-read every input: 6 % of a C. elegans step). Node
 * k's weights are then complete only after its smallest predecessor has pulled; grad_ready reports
 * the finished suffix of the parameter arena accordingly (plan_ready_from, paper_plan.c).
 *
 * Threads (cfg.threads > 1): every phase of a node is split over a fork-join pool (pool.c): the
 * per-plane kernels and batch norm by channels, the sgemms by output columns (forward, input
 * gradient) or rows (weight gradient), with OpenBLAS itself single-threaded in each. Nothing is
 * reduced across threads except the aggregation-weight dot products (per-thread partials summed in
 * thread order, so results do not depend on timing).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "paper_internal.h"

/* ---- forward and backward ---- */

/* Whether the backward goes through the DAG: something at or below it trains */
static int dag_trains(const struct model *m)
{
    const int f = m->cfg.freeze;
    return m->dag && (!(f & FREEZE_STEM) || !(f & FREEZE_NODES) || !(f & FREEZE_AGG));
}

/* One parallel phase of a node (or of the sink): what the pool's threads share. */
struct phase {
    struct model *m;
    struct model_node *nd;
    int B, n_in, n_out;  /* n_out: consumers a node pulls its gradient from (0 for an output node) */
    size_t in_cs, in_bs; /* plane strides of the inputs (and of their gradients) */
    const float *dY;     /* node output gradient (backward) */
    float *dA;           /* where the gradient at the aggregation goes (backward), NULL: nowhere */
    int dA_add;          /* dA is added to the stem's gradient, not written to a slot */
    const float *x;      /* the images (stem) */
    const float *head_in;/* the FC layer's input (B, C*HW) */
    int train;
    double *pa, *pt;     /* profile: thread 0 (the caller) charges its sub-steps to pa[] */
};

static inline struct paper_layout *LAY(const struct model *m) { return m->priv; }

/* Forward of one node over this thread's images, a block of L->bimg images at a time: the fused
 * front writes the block's D (which stays in cache), one sgemm turns it into the block's columns of
 * P, and the batch-norm sums of those columns are taken while they are still in cache. */
static void ph_fwd(void *arg, int t, int nt)
{
    struct phase *ph = arg;
    struct model *m = ph->m;
    struct paper_layout *L = LAY(m);
    struct model_node *nd = ph->nd;
    const int C = m->cfg.channels, HW = m->H * m->W;
    const size_t n = (size_t)ph->B * HW, Cr = pad16((size_t)C);
    float *D = L->tD + (size_t)t * L->blk_floats, *ws = L->ws + (size_t)t * L->ws_floats, *k = L->tk + t * Cr;
    double *s1 = L->ts1 + t * Cr, *s2 = L->ts2 + t * Cr;
    for (int c = 0; c < C; c++)
        s1[c] = s2[c] = 0.0;
    int lo, hi;
    pool_share(ph->B, t, nt, 1, &lo, &hi);
    for (int b0 = lo; b0 < hi; b0 += L->bimg) {
        const int b1 = b0 + L->bimg < hi ? b0 + L->bimg : hi, cols = (b1 - b0) * HW;
        /* kept only for a backward that will read it */
        float *keep = ph->train && L->keeps[nd - m->nodes] && dag_trains(m)
                          ? L->slots + (size_t)nd->slot * L->Nr + (size_t)b0 * HW
                          : NULL;
        node_front_forward(D, (size_t)cols, (size_t)HW, keep, n, L->in, L->s, ph->n_in, arena_param(m, nd->t_dw), 0, C,
                           b0, b1, m->H, m->W, ph->in_cs, ph->in_bs, ws);
        if (t == 0)
            prof_tick(m, ph->pa, PROF_FRONT, ph->pt);
        /* T (C, cols) = W (C, C) . D (C, cols) into this thread's scratch, which stays in cache: written
         * straight into P, each line of P would first be read from memory (4 MB of traffic for 2 MB
         * of data); from T it goes to P with streaming stores, after the batch-norm sums are taken.
         * Forward pointwise 290 -> 240 ms on C. elegans, whose step stays the same (its readers no
         * longer find the newest P in the L3); mouse and WS steps 2-5 % faster. */
        float *P = nd->P + (size_t)b0 * HW, *T = L->tdP + (size_t)t * L->blk_floats;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, cols, C, 1.0f, arena_param(m, nd->t_pw), C, D, cols,
                    0.0f, T, cols);
        if (t == 0)
            prof_tick(m, ph->pa, PROF_PW, ph->pt);
        if (ph->train) {
            if (b0 == lo) /* this thread's shift: its first value of each channel (any value near the data) */
                for (int c = 0; c < C; c++)
                    k[c] = T[(size_t)c * cols];
            batchnorm_shifted_sums(s1, s2, T, (size_t)cols, (size_t)cols, k, C);
        }
        for (int c = 0; c < C; c++)
            nn_copy_stream(P + (size_t)c * n, T + (size_t)c * cols, (size_t)cols);
        nn_stream_fence();
        if (t == 0)
            prof_tick(m, ph->pa, PROF_BN, ph->pt);
    }
}

/* Batch-norm statistics of a node from the threads' partial sums, re-centred on one shift exactly
 * (in double): sum (x - k) = s1_t + n_t (k_t - k), sum (x - k)^2 = s2_t + 2 (k_t - k) s1_t + n_t (k_t - k)^2. */
static void bn_finish(struct model *m, struct model_node *nd, int B, int train)
{
    struct paper_layout *L = LAY(m);
    const int C = m->cfg.channels, HW = m->H * m->W, nt = pool_size(L->pool);
    const size_t Cr = pad16((size_t)C);
    const float *gamma = arena_param(m, nd->t_gamma), *beta = arena_param(m, nd->t_beta);
    float *rm = arena_buffer(m, nd->b_mean), *rv = arena_buffer(m, nd->b_var);
    if (!train) {
        /* batchnorm_forward_eval's formula, (x - m) * scale + shift */
        for (int c = 0; c < C; c++) {
            nd->hi[c] = rm[c];
            nd->lo[c] = 0.0f;
            nd->scale[c] = gamma[c] / sqrtf(rv[c] + m->cfg.bn_eps);
            nd->shift[c] = beta[c];
        }
        return;
    }
    double *S1 = L->sd, *S2 = L->sdm; /* free during the forward pass */
    float *K = L->bk;
    for (int c = 0; c < C; c++) {
        double s1a = 0, s2a = 0;
        float k = 0;
        int have = 0;
        for (int t = 0; t < nt; t++) {
            int lo, hi;
            pool_share(B, t, nt, 1, &lo, &hi);
            if (hi <= lo)
                continue;
            const double nt_ = (double)(hi - lo) * HW, s1 = L->ts1[t * Cr + c], s2 = L->ts2[t * Cr + c];
            const float kt = L->tk[t * Cr + c];
            if (!have) {
                k = kt;
                have = 1;
            }
            const double d = (double)kt - (double)k;
            s1a += s1 + nt_ * d;
            s2a += s2 + 2.0 * d * s1 + nt_ * d * d;
        }
        S1[c] = s1a;
        S2[c] = s2a;
        K[c] = k;
    }
    double n = (double)B * HW;
    if (L->syncp) {
        /* all processes re-centre on the running mean (identical everywhere under synchronised BN)
         * and add their sums: the statistics of the global batch */
        for (int c = 0; c < C; c++) {
            const double d = (double)K[c] - (double)rm[c];
            S2[c] += 2.0 * d * S1[c] + n * d * d;
            S1[c] += n * d;
            K[c] = rm[c];
        }
        L->sync.sum(L->sync.arg, S1, C);
        n *= L->sync.sum(L->sync.arg, S2, C);
    }
    for (int c = 0; c < C; c++)
        batchnorm_stats_finish(S1[c], S2[c], K[c], n, gamma[c], beta[c], m->cfg.bn_eps, m->cfg.bn_momentum,
                               nd->mean + c, nd->rstd + c, rm + c, rv + c, nd->hi + c, nd->lo + c, nd->scale + c,
                               nd->shift + c);
}

/* A node's output gradient pulled from its consumers (ph->n_out of them, L->gsrc), its BN backward
 * sums and coefficients, and the BN input gradient dP, by channels: a channel's dY is summed and
 * turned into dP while it is in cache, so dY is never stored. Under synchronised BN the coefficients
 * need every process's sums first: dY is stored (L->gP) and ph_bwd forms dP. */
static void ph_bn_bwd(void *arg, int t, int nt)
{
    struct phase *ph = arg;
    struct model *m = ph->m;
    struct paper_layout *L = LAY(m);
    struct model_node *nd = ph->nd;
    const size_t n = (size_t)ph->B * m->H * m->W;
    int c0, c1;
    pool_share(m->cfg.channels, t, nt, 1, &c0, &c1);
    float *gg = arena_grad(m, nd->t_gamma), *gb = arena_grad(m, nd->t_beta);
    const float *gamma = arena_param(m, nd->t_gamma);
    const int no = ph->n_out;
    double *dots = L->want_dots ? L->dots + (size_t)t * L->max_out : NULL;
    for (int k = 0; dots && k < no; k++)
        dots[k] = 0.0;
    for (int c = c0; c < c1; c++) {
        const float *dy = ph->dY + c * n;
        if (no) {
            float *g = L->syncp ? L->gP + c * n : L->ws + (size_t)t * L->ws_floats; /* ws holds >= n floats */
            /* y = ((P - hi) - lo) scale + shift = (P - hi) scale + (shift - lo scale) */
            const float sc = nd->scale[c];
            node_grad_gather(g, L->gsrc, c * n, L->gs, no, n, nd->P + c * n, nd->hi[c], sc,
                             nd->shift[c] - nd->lo[c] * sc, dots);
            dy = g;
        }
        const float *x = nd->P + c * n;
        L->sd[c] = L->sdm[c] = L->sxm[c] = 0.0;
        batchnorm_backward_sums(L->sd + c, L->sdm + c, L->sxm + c, dy, x, n, n, nd->mean + c, 1);
        batchnorm_backward_coeffs(L->sd[c], L->sdm[c], L->sxm[c], (double)n, gamma[c], nd->rstd[c], gg ? gg + c : NULL,
                                  gb ? gb + c : NULL, &L->bk[c], &L->ba[c], &L->bb[c]);
        if (L->syncp)
            continue;
        float *restrict g = L->gP + c * n;
        const float kk = L->bk[c], a = L->ba[c], bb = L->bb[c], mu = nd->mean[c];
        for (size_t i = 0; i < n; i++) g[i] = kk * dy[i] + a * (x[i] - mu) + bb;
    }
}

/* Backward of one node over this thread's images, block by block: the block's dP, the pointwise
 * input gradient dD (sgemm), then the fused front backward, which reads the predecessors once to
 * form the aggregation again, D (for the pointwise weight gradient, the second sgemm) and dA; D, dP
 * and dD never leave the cache. */
static void ph_bwd(void *arg, int t, int nt)
{
    struct phase *ph = arg;
    struct model *m = ph->m;
    struct paper_layout *L = LAY(m);
    struct model_node *nd = ph->nd;
    const int C = m->cfg.channels, HW = m->H * m->W;
    const size_t n = (size_t)ph->B * HW, CC = pad16((size_t)C * C);
    float *D = L->tD + (size_t)t * L->blk_floats, *dP = L->tdP + (size_t)t * L->blk_floats,
          *dD = L->tdD + (size_t)t * L->blk_floats, *ws = L->ws + (size_t)t * L->ws_floats;
    const float *w = arena_param(m, nd->t_pw);
    float *gw = arena_grad(m, nd->t_pw);
    float *gdst = gw && nt > 1 ? L->tdW + (size_t)t * CC : gw;
    if (gw && nt > 1)
        memset(gdst, 0, (size_t)C * C * sizeof *gdst);
    double *dw = arena_grad(m, nd->t_dw) ? L->tdw + (size_t)t * 9 * C : NULL;
    if (dw)
        memset(dw, 0, (size_t)9 * C * sizeof *dw);
    /* dA's planes: channel-major in a slot, NCHW in the stem's gradient (the inputs' strides) */
    const size_t da_cs = ph->dA_add ? ph->in_cs : n, da_bs = ph->dA_add ? ph->in_bs : (size_t)HW;
    int lo, hi;
    pool_share(ph->B, t, nt, 1, &lo, &hi);
    for (int b0 = lo; b0 < hi; b0 += L->bimg) {
        const int b1 = b0 + L->bimg < hi ? b0 + L->bimg : hi, cols = (b1 - b0) * HW;
        int ldp = (int)n; /* dP (C, cols) with row stride ldp: ph_bn_bwd's, or formed here under sync BN */
        if (L->syncp) {
            for (int c = 0; c < C; c++) {
                const float *restrict dy = ph->dY + c * n + (size_t)b0 * HW,
                                      *restrict x = nd->P + c * n + (size_t)b0 * HW;
                float *restrict g = dP + (size_t)c * cols;
                const float kk = L->bk[c], a = L->ba[c], bb = L->bb[c], mu = nd->mean[c];
                for (int i = 0; i < cols; i++) g[i] = kk * dy[i] + a * (x[i] - mu) + bb;
            }
            ldp = cols;
            if (t == 0)
                prof_tick(m, ph->pa, PROF_BN, ph->pt);
        } else {
            dP = L->gP + (size_t)b0 * HW;
        }
        /* dD (C, cols) = W^T (C, C) . dP (C, cols) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, cols, C, 1.0f, w, C, dP, ldp, 0.0f, dD, cols);
        if (t == 0)
            prof_tick(m, ph->pa, PROF_PW, ph->pt);
        const float *kept = L->keeps[nd - m->nodes] ? L->slots + (size_t)nd->slot * L->Nr + (size_t)b0 * HW : NULL;
        node_front_backward(gdst ? D : NULL, ph->dA ? ph->dA + (size_t)b0 * da_bs : NULL, da_cs, da_bs, ph->dA_add, dD,
                            (size_t)cols, (size_t)HW, kept, n, L->in, L->s, ph->n_in, arena_param(m, nd->t_dw), dw, 0,
                            C, b0, b1, m->H, m->W, ph->in_cs, ph->in_bs, ws);
        if (t == 0)
            prof_tick(m, ph->pa, PROF_FRONT, ph->pt);
        if (gdst) /* dW (C, C) += dP (C, cols) . D^T (cols, C) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C, C, cols, 1.0f, dP, ldp, D, cols, 1.0f, gdst, C);
        if (t == 0)
            prof_tick(m, ph->pa, PROF_PW, ph->pt);
    }
}

static void ph_sink(void *arg, int t, int nt)
{
    struct phase *ph = arg;
    struct model *m = ph->m;
    struct paper_layout *L = LAY(m);
    int c0, c1;
    pool_share(m->cfg.channels, t, nt, 1, &c0, &c1);
    node_sink_forward(L->H, L->in, ph->n_in, ph->B, m->cfg.channels, m->H * m->W, c0, c1,
                      L->ws + (size_t)t * L->ws_floats);
}

/* dsink (C, B*HW) = (H > 0 ? dH : 0) / n_outputs: the head ReLU and the sink's mean, transposed from
 * the head's NCHW into the DAG's channel-major layout */
static void ph_dsink(void *arg, int t, int nt)
{
    struct phase *ph = arg;
    struct model *m = ph->m;
    struct paper_layout *L = LAY(m);
    const int C = m->cfg.channels, HW = m->H * m->W, B = ph->B;
    const float inv = 1.0f / (float)m->dag->n_outputs;
    int c0, c1;
    pool_share(C, t, nt, 1, &c0, &c1);
    for (int c = c0; c < c1; c++)
        for (int b = 0; b < B; b++) {
            const float *restrict h = L->H + ((size_t)b * C + c) * HW, *restrict dh = L->dH + ((size_t)b * C + c) * HW;
            float *restrict d = L->dsink + ((size_t)c * B + b) * HW;
            for (int i = 0; i < HW; i++) d[i] = h[i] > 0.0f ? dh[i] * inv : 0.0f;
        }
}

/* The stem and the FC head, split over the pool's threads: the stem by channels (each channel's
 * numbers are those of the one-thread call), the FC layer by images (forward) or input columns
 * (backward). */
static void ph_stem_conv(void *arg, int t, int nt)
{
    struct phase *ph = arg;
    struct model *m = ph->m;
    struct paper_layout *L = LAY(m);
    int c0, c1;
    pool_share(m->cfg.channels, t, nt, 1, &c0, &c1);
    stem_conv_range(L->stem_conv, L->ts1, L->ts2, L->tk, ph->x, arena_param(m, L->t_stem_w), ph->B, m->cfg.channels,
                    m->cfg.in_h, m->cfg.in_w, c0, c1, ph->train, L->conv_ws + (size_t)t * L->stem_ws);
}

static void ph_stem_apply(void *arg, int t, int nt)
{
    struct phase *ph = arg;
    struct model *m = ph->m;
    struct paper_layout *L = LAY(m);
    const int C = m->cfg.channels;
    const size_t Cr = pad16((size_t)C);
    int c0, c1;
    pool_share(C, t, nt, 1, &c0, &c1);
    stem_apply_range(L->stem_out, L->stem_conv, L->stem_aff, L->stem_aff + Cr, L->stem_aff + 2 * Cr,
                     L->stem_aff + 3 * Cr, ph->B, C, m->H * m->W, c0, c1);
}

static void ph_stem_bsums(void *arg, int t, int nt)
{
    struct phase *ph = arg;
    struct model *m = ph->m;
    struct paper_layout *L = LAY(m);
    const int C = m->cfg.channels;
    int c0, c1;
    pool_share(C, t, nt, 1, &c0, &c1);
    stem_backward_sums_range(L->tdw, L->tdw + C, L->tdw + 2 * C, L->dstem, L->stem_out, L->stem_conv, L->stem_mean,
                             ph->B, C, m->H * m->W, c0, c1);
}

static void ph_stem_bdw(void *arg, int t, int nt)
{
    struct phase *ph = arg;
    struct model *m = ph->m;
    struct paper_layout *L = LAY(m);
    const int C = m->cfg.channels;
    int c0, c1;
    pool_share(C, t, nt, 1, &c0, &c1);
    /* bk, ba, bb are consecutive: the 3 C coefficients start at bk */
    stem_backward_dw_range(L->tdw, L->dstem, L->stem_out, L->stem_conv, L->stem_mean, L->bk, L->bk + C,
                           L->bk + 2 * C, ph->x, ph->B, C, m->cfg.in_h, m->cfg.in_w, c0, c1,
                           L->conv_ws + (size_t)t * L->stem_ws);
}

static void ph_fc_fwd(void *arg, int t, int nt)
{
    struct phase *ph = arg;
    struct model *m = ph->m;
    struct paper_layout *L = LAY(m);
    const int IC = m->cfg.channels * m->H * m->W, K = m->cfg.classes;
    int b0, b1;
    pool_share(ph->B, t, nt, 1, &b0, &b1);
    if (b1 > b0)
        linear_forward(L->logits + (size_t)b0 * K, ph->head_in + (size_t)b0 * IC, arena_param(m, L->t_fc_w),
                       arena_param(m, L->t_fc_b), b1 - b0, IC, K);
}

/* dW[:, i0:i1] += dlogits^T . in[:, i0:i1] and din[:, i0:i1] += dlogits . W[:, i0:i1]; fc.b by thread 0 */
static void ph_fc_bwd(void *arg, int t, int nt)
{
    struct phase *ph = arg;
    struct model *m = ph->m;
    struct paper_layout *L = LAY(m);
    const int IC = m->cfg.channels * m->H * m->W, K = m->cfg.classes, B = ph->B;
    float *gw = arena_grad(m, L->t_fc_w), *gb = arena_grad(m, L->t_fc_b), *din = (float *)ph->dY;
    if (t == 0 && gb)
        for (int b = 0; b < B; b++)
            for (int o = 0; o < K; o++) gb[o] += L->dlogits[(size_t)b * K + o];
    int i0, i1;
    pool_share(IC, t, nt, 16, &i0, &i1);
    if (i1 <= i0)
        return;
    if (gw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, i1 - i0, B, 1.0f, L->dlogits, K, ph->head_in + i0, IC,
                    1.0f, gw + i0, IC);
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, i1 - i0, K, 1.0f, L->dlogits, K,
                    arena_param(m, L->t_fc_w) + i0, IC, 1.0f, din + i0, IC);
}

/* Fills L->in / L->s with node nd's inputs and returns their count; sets the plane strides. */
static int node_inputs(struct model *m, const struct model_node *nd, int B, struct phase *ph)
{
    struct paper_layout *L = LAY(m);
    const int C = m->cfg.channels, HW = m->H * m->W;
    if (nd->indeg == 0) {
        L->in[0] = (struct node_input){L->stem_out, NULL, NULL, NULL, NULL};
        ph->in_cs = (size_t)HW;
        ph->in_bs = (size_t)C * HW;
        return ph->n_in = 1;
    }
    for (int k = 0; k < nd->indeg; k++) {
        const struct model_node *p = &m->nodes[nd->pred[k]];
        L->in[k] = (struct node_input){p->P, p->hi, p->lo, p->scale, p->shift};
    }
    if (nd->t_agg >= 0) {
        const float *w = arena_param(m, nd->t_agg);
        for (int k = 0; k < nd->indeg; k++)
            L->s[k] = agg_sigmoid(w[k]);
    }
    ph->in_cs = (size_t)B * HW;
    ph->in_bs = (size_t)HW;
    return ph->n_in = nd->indeg;
}

static float paper_forward(struct model *m, const float *x, const int *y, int B, int train, int *correct)
{
    struct paper_layout *L = m->priv;
    const struct model_config *c = &m->cfg;
    const int C = c->channels, HW = m->H * m->W;
    double *pa = m->prof.fwd, pt = m->prof.enabled ? dcn_now() : 0;

    {
        /* stem_forward, its channels split over the threads */
        struct phase sp = {.m = m, .B = B, .train = train, .x = x};
        const size_t Cr = pad16((size_t)C);
        pool_run(L->pool, ph_stem_conv, &sp);
        stem_stats(L->stem_mean, L->stem_rstd, arena_buffer(m, L->b_stem_mean), arena_buffer(m, L->b_stem_var),
                   L->stem_aff, L->stem_aff + Cr, L->stem_aff + 2 * Cr, L->stem_aff + 3 * Cr, L->ts1, L->ts2, L->tk,
                   arena_param(m, L->t_stem_gamma), arena_param(m, L->t_stem_beta), B, C, HW, train, c->bn_eps,
                   c->bn_momentum, L->syncp);
        pool_run(L->pool, ph_stem_apply, &sp);
    }
    prof_tick(m, pa, PROF_STEM, &pt);

    const float *head_in = L->stem_out;
    if (m->dag) {
        const struct dcn_dag *d = m->dag;
        struct phase ph = {.m = m, .B = B, .train = train, .pa = pa, .pt = &pt};
        for (int i = 0; i < d->n; i++) {
            ph.nd = &m->nodes[i];
            node_inputs(m, ph.nd, B, &ph);
            pool_run(L->pool, ph_fwd, &ph);
            prof_tick(m, pa, PROF_NODE, &pt);
            bn_finish(m, ph.nd, B, train);
            prof_tick(m, pa, PROF_BN, &pt);
        }
        /* sink: unweighted mean of the output nodes, then the head's ReLU, written NCHW */
        for (int k = 0; k < d->n_outputs; k++) {
            const struct model_node *o = &m->nodes[d->outputs[k]];
            L->in[k] = (struct node_input){o->P, o->hi, o->lo, o->scale, o->shift};
        }
        ph.n_in = d->n_outputs;
        pool_run(L->pool, ph_sink, &ph);
        head_in = L->H;
        prof_tick(m, pa, PROF_SINK, &pt);
    }
    {
        struct phase fp = {.m = m, .B = B, .head_in = head_in};
        pool_run(L->pool, ph_fc_fwd, &fp);
    }
    prof_tick(m, pa, PROF_HEAD, &pt);
    int corr = 0;
    float loss = softmax_xent_forward(L->probs, L->logits, y, B, c->classes, &corr);
    prof_tick(m, pa, PROF_SOFTMAX, &pt);
    if (correct)
        *correct = corr;
    return loss;
}

static const float *paper_logits(const struct model *m) { return ((const struct paper_layout *)m->priv)->logits; }

/* Under synchronised BN: dgamma and dbeta came from this process's sums (the trainer averages them);
 * the input gradient needs the global batch's, so add the sums up and redo the coefficients. tdw is
 * free until ph_bwd. */
static void node_bn_sync(struct model *m, const struct model_node *nd, int B)
{
    struct paper_layout *L = m->priv;
    const int C = m->cfg.channels, HW = m->H * m->W;
    double *v = L->tdw;
    for (int c = 0; c < C; c++) {
        v[3 * c] = L->sd[c];
        v[3 * c + 1] = L->sdm[c];
        v[3 * c + 2] = L->sxm[c];
    }
    const double ntot = (double)B * HW * L->sync.sum(L->sync.arg, v, 3 * C);
    const float *gamma = arena_param(m, nd->t_gamma);
    for (int c = 0; c < C; c++)
        batchnorm_backward_coeffs(v[3 * c], v[3 * c + 1], v[3 * c + 2], ntot, gamma[c], nd->rstd[c], NULL, NULL,
                                  &L->bk[c], &L->ba[c], &L->bb[c]);
}

/* Where node i's gradients go and come from: dA into its slot (or added into the stem's gradient for
 * an input node, when the stem needs it); dY pulled from its consumers' slots in descending order,
 * the order in which pushes used to arrive, so the sums are the same floats. Returns the consumers. */
static int node_grad_links(struct model *m, const struct model_node *nd, int i, int need_stem, struct phase *ph)
{
    struct paper_layout *L = m->priv;
    const struct dcn_dag *d = m->dag;
    ph->dA_add = nd->indeg == 0;
    ph->dA = nd->indeg == 0 ? (need_stem ? L->dstem : NULL) : L->slots + (size_t)nd->slot * L->Nr;
    int n = 0;
    L->want_dots = 0;
    for (int64_t e = d->succ_off[i + 1] - 1; e >= d->succ_off[i]; e--) {
        const struct model_node *k = &m->nodes[d->succ[e]];
        float *gw = k->t_agg >= 0 ? arena_grad(m, k->t_agg) : NULL;
        L->gsrc[n] = L->slots + (size_t)k->slot * L->Nr;
        L->gs[n] = k->t_agg >= 0 ? agg_sigmoid(arena_param(m, k->t_agg)[L->succ_pos[e]]) : 1.0f;
        L->gw_dst[n++] = gw ? gw + L->succ_pos[e] : NULL;
        L->want_dots |= gw != NULL;
    }
    ph->dY = nd->is_output ? L->dsink : L->gP; /* dY of a non-output node is formed by ph_bn_bwd */
    return ph->n_out = n;
}

/* The consumers' aggregation-weight gradients for this node's edges, from the threads' dot products
 * (ph_bn_bwd) added in thread order: each edge's weight receives its one term here */
static void node_reduce_dots(struct model *m, int n_out)
{
    struct paper_layout *L = m->priv;
    const int nt = pool_size(L->pool);
    if (!L->want_dots)
        return;
    for (int k = 0; k < n_out; k++) {
        if (!L->gw_dst[k])
            continue;
        double dot = 0.0;
        for (int t = 0; t < nt; t++)
            dot += L->dots[(size_t)t * L->max_out + k];
        const float s = L->gs[k];
        *L->gw_dst[k] += (float)(s * (1.0f - s) * dot);
    }
}

/* Adds the threads' partial weight gradients of a node, in thread order */
static void node_reduce_partials(struct model *m, const struct model_node *nd)
{
    struct paper_layout *L = m->priv;
    const int C = m->cfg.channels, nt = pool_size(L->pool);
    float *gpw = arena_grad(m, nd->t_pw), *gdw = arena_grad(m, nd->t_dw);
    const size_t CC = pad16((size_t)C * C);
    if (gpw && nt > 1)
        for (int t = 0; t < nt; t++)
            for (int j = 0; j < C * C; j++)
                gpw[j] += L->tdW[(size_t)t * CC + j];
    if (gdw)
        for (int j = 0; j < 9 * C; j++) {
            double acc = 0.0;
            for (int t = 0; t < nt; t++)
                acc += L->tdw[(size_t)t * 9 * C + j];
            gdw[j] += (float)acc;
        }
}

/* The DAG backward: the head ReLU and the sink's mean, then the nodes in reverse order; every
 * finished node hands its gradients to grad_ready */
static void paper_dag_backward(struct model *m, int B, int need_stem, double *pa, double *pt)
{
    struct paper_layout *L = m->priv;
    const struct dcn_dag *d = m->dag;
    struct phase ph = {.m = m, .B = B, .train = 1, .pa = pa, .pt = pt};
    /* through the head ReLU (mask from its output) and the sink's mean: every output node receives
     * the same gradient, so they all read dsink in place */
    pool_run(L->pool, ph_dsink, &ph);
    memset(L->dstem, 0, (size_t)B * m->cfg.channels * m->H * m->W * sizeof(float));
    prof_tick(m, pa, PROF_SINK, pt);
    for (int i = d->n - 1; i >= 0; i--) {
        struct model_node *nd = &m->nodes[i];
        ph.nd = nd;
        node_inputs(m, nd, B, &ph);
        const int n_out = node_grad_links(m, nd, i, need_stem, &ph);
        pool_run(L->pool, ph_bn_bwd, &ph);
        node_reduce_dots(m, n_out);
        if (L->syncp)
            node_bn_sync(m, nd, B);
        prof_tick(m, pa, PROF_BN, pt);
        pool_run(L->pool, ph_bwd, &ph);
        prof_tick(m, pa, PROF_NODE, pt);
        node_reduce_partials(m, nd);
        prof_tick(m, pa, PROF_MISC, pt);
        if (m->grad_ready) {
            const int q = L->ready_from[i];
            const struct model_node *f = &m->nodes[q < d->n ? q : 0];
            m->grad_ready(m->grad_ready_arg,
                          q < d->n ? m->params[f->t_agg >= 0 ? f->t_agg : f->t_dw].offset : m->params[L->t_fc_w].offset);
        }
    }
}

/* stem_backward, its channels split over the threads: ReLU (mask from its output), BN, conv, fused;
 * the image needs no gradient. Scratch: tdw (its 9 C doubles hold the BN sums, then the weight
 * gradient) and bk, ba, bb (consecutive: the 3 C coefficients). */
static void paper_stem_backward(struct model *m, const float *x, int B)
{
    struct paper_layout *L = m->priv;
    const int C = m->cfg.channels;
    struct phase sp = {.m = m, .B = B, .train = 1, .x = x};
    pool_run(L->pool, ph_stem_bsums, &sp);
    stem_backward_coeffs(arena_grad(m, L->t_stem_gamma), arena_grad(m, L->t_stem_beta), L->tdw,
                         arena_param(m, L->t_stem_gamma), L->stem_rstd, B, C, m->H * m->W, L->bk, L->syncp);
    float *gsw = arena_grad(m, L->t_stem_w);
    if (gsw) {
        pool_run(L->pool, ph_stem_bdw, &sp);
        for (int j = 0; j < 9 * C; j++)
            gsw[j] += (float)L->tdw[j];
    }
}

static void paper_backward(struct model *m, const float *x, const int *y, int B)
{
    struct paper_layout *L = m->priv;
    const struct model_config *c = &m->cfg;
    const int K = c->classes;
    const size_t Nb = (size_t)B * (size_t)c->channels * (size_t)(m->H * m->W) * sizeof(float);
    const int need_stem = !(c->freeze & FREEZE_STEM);
    const int need_dag = dag_trains(m);

    double *pa = m->prof.bwd, pt = m->prof.enabled ? dcn_now() : 0;
    memset(m->grad_mem, 0, m->param_floats * sizeof(float));
    prof_tick(m, pa, PROF_MISC, &pt);
    memset(L->dlogits, 0, (size_t)B * (size_t)K * sizeof(float));
    softmax_xent_backward(L->dlogits, L->probs, y, B, K);
    prof_tick(m, pa, PROF_SOFTMAX, &pt);
    const float *head_in = m->dag ? L->H : L->stem_out;
    float *dhead = m->dag ? L->dH : L->dstem;
    memset(dhead, 0, Nb);
    {
        struct phase fp = {.m = m, .B = B, .head_in = head_in, .dY = (need_stem || need_dag) ? dhead : NULL};
        pool_run(L->pool, ph_fc_bwd, &fp);
    }
    prof_tick(m, pa, PROF_HEAD, &pt);
    if (m->grad_ready)
        m->grad_ready(m->grad_ready_arg, m->params[L->t_fc_w].offset);
    if (need_dag)
        paper_dag_backward(m, B, need_stem, pa, &pt);
    if (need_stem) {
        paper_stem_backward(m, x, B);
        prof_tick(m, pa, PROF_STEM, &pt);
    }
    if (m->grad_ready)
        m->grad_ready(m->grad_ready_arg, 0);
}

/* counted as model_flops_per_image says */
static double paper_flops_per_image(const struct model *m)
{
    const struct paper_layout *L = m->priv;
    const double C = m->cfg.channels, HW = (double)m->H * m->W, K = m->cfg.classes, CHW = C * HW;
    const int stem_tr = m->params[L->t_stem_w].trainable;
    const int nodes_tr = !(m->cfg.freeze & FREEZE_NODES), agg_tr = !(m->cfg.freeze & FREEZE_AGG);
    const int dag_needs = m->dag && (stem_tr || nodes_tr || agg_tr);
    double f = 0;
    /* stem: conv (no input gradient), BN (7 forward, 9 backward per element), ReLU (1 + 1) */
    f += 18.0 * CHW + (stem_tr ? 18.0 * CHW + 10.0 * CHW : 0.0) + 8.0 * CHW;
    if (m->dag) {
        const int bwd = dag_needs;
        for (int i = 0; i < m->dag->n; i++) {
            const double indeg = m->nodes[i].indeg;
            if (indeg > 1) /* s0 y0 + s1 y1 + ...; backward: s_k dA into each input, <dA, y_k> */
                f += (2.0 * indeg - 1.0) * CHW + (bwd ? 2.0 * indeg * CHW : 0.0) + (bwd && agg_tr ? 2.0 * indeg * CHW : 0.0);
            f += 1.0 * CHW + (bwd ? 1.0 * CHW : 0.0);                    /* ReLU */
            f += 18.0 * CHW + (bwd ? 18.0 * CHW : 0.0) + (bwd && nodes_tr ? 18.0 * CHW : 0.0);      /* depthwise */
            f += 2.0 * C * CHW + (bwd ? 2.0 * C * CHW : 0.0) + (bwd && nodes_tr ? 2.0 * C * CHW : 0.0); /* pointwise */
            f += 7.0 * CHW + (bwd ? 9.0 * CHW : 0.0);                    /* BN */
        }
        f += (m->dag->n_outputs + 1.0) * CHW + (dag_needs ? 2.0 * CHW : 0.0); /* sink mean + head ReLU */
    }
    const int fc_tr = m->params[L->t_fc_w].trainable;
    f += 2.0 * CHW * K + (fc_tr ? 2.0 * CHW * K : 0.0) + (stem_tr || dag_needs ? 2.0 * CHW * K : 0.0);
    return f;
}

const struct model_ops paper_ops = {
    .name = "paper",
    .has_dag = 1,
    .build = paper_build,
    .plan = paper_plan,
    .free_priv = paper_free_priv,
    .forward = paper_forward,
    .backward = paper_backward,
    .logits = paper_logits,
    .flops_per_image = paper_flops_per_image,
};

/* the paper's "no graph": the same engine, built without a DAG */
const struct model_ops baseline_ops = {
    .name = "baseline",
    .has_dag = 0,
    .build = paper_build,
    .plan = paper_plan,
    .free_priv = paper_free_priv,
    .forward = paper_forward,
    .backward = paper_backward,
    .logits = paper_logits,
    .flops_per_image = paper_flops_per_image,
};
