/* dcn model: a Deep Connectomics Network built from a DAG - the node program in topological order,
 * its named parameter tensors in one arena, the activation memory plan, forward, backward, Adam.
 *
 * Ownership: model_create returns a model the caller frees with model_free. The model keeps a
 * pointer to the DAG it was built from (borrowed: the DAG must outlive the model). All memory the
 * model will ever use (parameters, gradients, Adam moments, activations, workspaces) is allocated in
 * model_create; forward, backward and the optimizer step allocate nothing.
 */
#ifndef DCN_MODEL_H
#define DCN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "dcn/core.h"
#include "dcn/graph.h"

enum model_variant {
    MODEL_PAPER = 0, /* stem conv s2 + BN + ReLU, DAG at C x 14 x 14, ReLU, flatten, FC (default;
                      * src/model/paper.c) */
    MODEL_BASELINE,  /* the paper's "no graph": stem + flatten FC (paper.c without a DAG) */
    MODEL_AUTHORS,   /* the authors' code: two-conv stem (bias) to C x 7 x 7, DAG input nodes stride 2
                      * (7 -> 4), output nodes 4C, ReLU, conv 1x1 4C -> 1280 (bias), BN, global average
                      * pool, linear (src/model/authors.c) */
};
enum dcn_status model_variant_parse(struct dcn_ctx *ctx, const char *name, enum model_variant *out);
const char *model_variant_name(enum model_variant v);
/* 1 when the variant is built from a graph's DAG (paper, authors) */
int model_variant_has_dag(enum model_variant v);

/* Parameter groups, for freezing. The paper's --frozen is FREEZE_NODES | FREEZE_AGG. */
enum {
    FREEZE_STEM = 1,
    FREEZE_NODES = 2, /* depthwise, pointwise and BN parameters of DAG nodes */
    FREEZE_AGG = 4,   /* sigmoid aggregation weights */
    FREEZE_HEAD = 8,
};
/* Parses a comma list "stem,nodes,agg,head" (or "dag" = nodes,agg; "none"). */
enum dcn_status model_freeze_parse(struct dcn_ctx *ctx, const char *list, int *mask);

struct model_config {
    enum model_variant variant;
    int channels;     /* C (78) */
    int batch;        /* largest batch the arenas are planned for */
    int classes;      /* 10 */
    int in_h, in_w;   /* 28, 28 */
    int freeze;       /* FREEZE_* mask */
    int agg_init_normal; /* 0: aggregation weights start at 0 (RandWire); 1: N(0,1) (authors' code) */
    float bn_eps, bn_momentum; /* 1e-5, 0.1 */
    MPI_Comm bn_comm; /* synchronised BN over these processes (data parallel); MPI_COMM_NULL: local */
    int threads;      /* worker threads of forward/backward (1 default; OpenBLAS itself stays at one) */
};
void model_config_default(struct model_config *c);

/* A named tensor inside an arena. */
struct model_tensor {
    char name[48];  /* e.g. "stem.conv.w", "node.12.pw.w", "fc.b" (HDF5 dataset names) */
    size_t offset;  /* floats into the arena */
    size_t size;    /* floats */
    int ndim, shape[4];
    int fan_in;     /* inputs per output of the layer it belongs to (PyTorch's init bound 1/sqrt) */
    int group;      /* FREEZE_* group it belongs to */
    int trainable;  /* not frozen */
};

struct model_node; /* private: per-node program entry */

/* Optional per-layer-kind profile (dcn bench): when enabled, forward and backward add the wall time
 * of each kind of work to fwd[] / bwd[]. Disabled, it costs one branch per layer, so training is
 * not slowed. Fused kernels are charged to the kind named after the fusion (PROF_FRONT). */
enum model_prof_kind {
    PROF_STEM,    /* stem conv 3x3 s2 + its BN + ReLU */
    PROF_AGG,     /* sigmoid-weighted aggregation of predecessors */
    PROF_RELU,    /* node ReLU */
    PROF_DW,      /* depthwise 3x3 */
    PROF_FRONT,   /* aggregation + ReLU + depthwise fused into one pass */
    PROF_PW,      /* pointwise 1x1 (sgemm) */
    PROF_NODE,    /* a whole node, cache-blocked: agg+ReLU+dw, pointwise, BN sums/apply interleaved */
    PROF_BN,      /* node batch norm */
    PROF_SINK,    /* mean of the output nodes + head ReLU */
    PROF_HEAD,    /* fully connected head */
    PROF_SOFTMAX, /* softmax cross-entropy */
    PROF_MISC,    /* gradient zeroing, layout changes, the rest */
    PROF_KINDS
};
struct model_prof {
    int enabled;
    double fwd[PROF_KINDS], bwd[PROF_KINDS]; /* accumulated seconds */
};
const char *model_prof_kind_name(int kind);

struct model {
    struct model_config cfg;
    const struct dcn_dag *dag; /* borrowed; NULL for the baseline */
    int H, W;                  /* spatial size inside the DAG (14 x 14; the authors' variant: 4 x 4) */

    /* parameters, gradients and Adam moments share one layout */
    int n_params;
    struct model_tensor *params;
    size_t param_floats, trainable_floats;
    float *param_mem, *grad_mem, *adam_m, *adam_v;
    int adam_t;

    /* BN running statistics, saved with the weights but never trained */
    int n_buffers;
    struct model_tensor *buffers;
    size_t buffer_floats;
    float *buffer_mem;

    /* activations, planned once */
    size_t act_floats;
    float *act_mem;
    struct model_node *nodes;
    size_t n_grad_slots; /* buffers for the nodes' dA (until pulled) that the backward liveness plan needs */
    /* (DAG nodes) 1 where the training forward keeps node i's aggregation in the node's gradient slot,
     * still unused then, for the backward to read instead of the node's inputs; NULL when none does */
    const unsigned char *keeps_agg;
    void *priv;          /* layout of the fixed buffers (private) */
    struct model_prof prof; /* zeroed by model_create; set prof.enabled to collect */
    /* Optional: model_backward calls grad_ready(arg, from) whenever the gradients from float offset
     * `from` to the end of the gradient arena are final. Backward finishes the arena from its end
     * (head, last node, ..., first node, stem; a node's aggregation weights only once its smallest
     * predecessor is done), so data-parallel training can start reducing the finished part while
     * backward goes on. The last call has from == 0. */
    void (*grad_ready)(void *arg, size_t from);
    void *grad_ready_arg;
};

enum dcn_status model_create(struct dcn_ctx *ctx, const struct model_config *cfg, const struct dcn_dag *dag,
                             struct model **out);
void model_free(struct model *m);

/* Initialises parameters like PyTorch's defaults (uniform +-1/sqrt(fan_in) for conv and linear,
 * BN gamma 1 beta 0, running mean 0 var 1), aggregation weights 0 or N(0,1), from seed. */
void model_init(struct model *m, uint64_t seed);

/* Forward on x (B, 1, in_h, in_w), B <= cfg.batch. train=1 uses batch statistics and updates the
 * running statistics, and keeps what backward needs. Writes the logits (B, classes) to an internal
 * buffer; returns the mean cross-entropy loss against y and counts correct predictions. */
float model_forward(struct model *m, const float *x, const int *y, int B, int train, int *correct);
/* Logits of the last forward (B, classes). */
const float *model_logits(const struct model *m);
/* Zeroes the gradients and back-propagates the last training forward's loss. */
void model_backward(struct model *m, const float *x, const int *y, int B);
/* One Adam step on the trainable tensors with learning rate lr. */
void model_adam_step(struct model *m, float lr, float beta1, float beta2, float eps);

/* Parameter counts. */
size_t model_param_count(const struct model *m);
size_t model_trainable_count(const struct model *m);
/* Tensor lookup by name in params then buffers; NULL when absent. *is_buffer tells which. */
struct model_tensor *model_find(struct model *m, const char *name, float **data, float **grad);

/* Analytic training FLOPs per image (forward + backward), for GFLOP/s figures. */
double model_flops_per_image(const struct model *m);

/* The least a training step of `batch` images must compute and move (README "dcn bench"), counted
 * from the DAG: the pointwise sgemms' GFLOP, and the GB the fused front and the node batch norms read
 * and write. The roofline is FLOPs at the machine's sgemm rate plus bytes at its streaming bandwidth. */
struct model_roofline {
    double sgemm_gflop, front_gb, bn_gb;
};
/* Fills r and returns 1 for the paper variant with a DAG, whose engine the count describes; returns 0
 * (r zeroed) for any other model. */
int model_roofline(const struct model *m, int batch, struct model_roofline *r);

#endif
