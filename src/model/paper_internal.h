/* Private to the paper and baseline variants: the node program entry and the layout that
 * paper_plan.c builds (tensor tables, gradient slots, the activation arena) and paper.c's engine
 * (thread phases, forward, backward) runs on. The design, and why it is laid out so, is in paper.c's
 * opening comment. */
#ifndef DCN_MODEL_PAPER_INTERNAL_H
#define DCN_MODEL_PAPER_INTERNAL_H

#include "dcn/nn.h"
#include "model_internal.h"
#include "pool.h"

struct model_node {
    int indeg;
    const int *pred;   /* indeg predecessors (borrowed from the DAG) */
    int is_output;
    int t_agg;         /* tensor index of the aggregation weights, -1 when indeg <= 1 */
    int t_dw, t_pw, t_gamma, t_beta;
    int b_mean, b_var; /* buffer tensor indices */
    float *P;          /* (C, B*HW) channel-major pointwise output */
    float *mean, *rstd;/* (C) batch statistics of the last training forward */
    float *hi, *lo, *scale, *shift; /* (C) the BN affine: Y = ((P - hi) - lo) * scale + shift */
    int slot;          /* gradient slot of dA (the gradient at the aggregation) of a node with inputs */
};

struct paper_layout {
    int t_stem_w, t_stem_gamma, t_stem_beta, t_fc_w, t_fc_b;
    int b_stem_mean, b_stem_var;
    float *stem_conv, *stem_out, *stem_mean, *stem_rstd; /* (B,C,HW) NCHW x2, (C) x2 */
    float *H;        /* (B, C*HW) head input: relu(sink) for the paper model */
    float *logits, *probs, *dlogits; /* (B, K) */
    float *dH;       /* (B, C*HW) */
    float *dstem;    /* (B, C*HW) NCHW gradient at the stem output */
    float *dsink;    /* (C, B*HW) gradient of every output node's Y */
    /* per-thread scratch for one block of bimg images (the cache-blocking note at paper_setup) */
    int nth;         /* threads of the pool */
    int bimg;
    size_t blk_floats;  /* C * bimg * HW, padded */
    float *tD, *tdP, *tdD; /* threads x blk_floats: depthwise output, BN input gradient (forward: the
                            * pointwise output on its way to P), its gradient */
    float *tk;          /* threads x Cr: BN shift of each thread's partial sums */
    double *ts1, *ts2;  /* threads x Cr: BN partial sums */
    double *tdw;        /* threads x C*9: depthwise weight gradient partials */
    float *tdW;         /* threads x C*C: pointwise weight gradient partials (threads > 1 only) */
    double *sd, *sdm, *sxm; /* (C) BN backward sums */
    float *bk, *ba, *bb;    /* (C) BN backward coefficients: dP = k dY + a (P - mean) + b */
    float *conv_ws;  /* threads x stem_ws: stem patch workspaces */
    size_t stem_ws;
    float *stem_aff; /* (4 Cr) the stem BN affine hi | lo | sc | sh */
    float *slots;    /* n_grad_slots x (C, B*HW): the dA of nodes whose predecessors have not all pulled */
    float *gP;       /* (C, B*HW) BN input gradient dP of the node being processed (its dY under sync BN) */
    int *succ_pos;   /* per successor edge e of node j (succ_off order): j's position among succ[e]'s inputs */
    size_t Nr;       /* floats per node tensor (padded) */
    /* per-node inputs assembled by the caller thread before each parallel phase */
    int max_in;      /* max(1, max in-degree, n_outputs) */
    struct node_input *in;
    float *s;        /* (max_in) sigmoid of the aggregation weights */
    int max_out;     /* max(1, max out-degree) */
    const float **gsrc; /* (max_out) the consumers' dA a node pulls, in descending consumer order */
    float *gs;       /* (max_out) their aggregation weights */
    float **gw_dst;  /* (max_out) where each consumer's aggregation-weight gradient for this node goes, or NULL */
    int want_dots;   /* some consumer needs its aggregation-weight gradient */
    double *dots;    /* threads x max_out: the dot products of node_grad_gather, per thread */
    int *ready_from; /* (n_nodes) the first node whose gradients are final once node i's backward is done */
    unsigned char *keeps; /* (n_nodes) model.keeps_agg */
    float *ws;       /* threads x ws_floats: node kernel workspaces */
    size_t ws_floats;
    struct pool *pool;
    struct bn_sync sync; /* synchronised BN (cfg.bn_comm), else sync.sum == NULL */
    const struct bn_sync *syncp; /* &sync or NULL */
};

/* ---- paper_plan.c: the model's layout (struct model_ops build, plan, free_priv) ---- */
/* The tensor tables, the gradient slots and everything the activation plan's sizes depend on */
enum dcn_status paper_build(struct dcn_ctx *ctx, struct model *m);
/* The activation arena, piece by piece */
void paper_plan(struct model *m, struct act_plan *p);
void paper_free_priv(struct model *m);

#endif
