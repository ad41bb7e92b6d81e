/* Private to src/model: what the variants share.
 *
 *   model.c    the public model_* entry points, dispatching through each variant's struct model_ops,
 *              and model_create's steps (build, trainable marking, the two-pass activation plan)
 *   arena.c    tensor tables, the arenas, the activation planner, freezing, init, Adam, lookup
 *   paper.c    the paper and baseline variants (one fused, threaded engine; the baseline has no DAG)
 *   authors.c  the authors' code variant (layer by layer, one thread)
 *   pool.c     the fork-join thread pool of paper.c
 *
 * Tests include this header (through the src include path) for the planner's checks.
 */
#ifndef DCN_MODEL_INTERNAL_H
#define DCN_MODEL_INTERNAL_H

#include <math.h>
#include <stddef.h>

#include "dcn/core.h"
#include "dcn/model.h"

/* 16 floats = 64 bytes: every tensor and every activation piece starts on a cache line, so the
 * kernels' vector loads never split one */
static inline size_t pad16(size_t n) { return (n + 15) & ~(size_t)15; }

/* ---- tensor tables (arena.c) ---- */
struct table {
    struct model_tensor *t;
    int n, cap;
    size_t floats;
};

/* Appends a tensor (offset 16-float aligned); returns its index, -1 when out of memory. fan_in is
 * size / shape[0] for ndim > 1 (conv and linear weights) and 0 otherwise: callers set it for biases. */
int table_add(struct table *tb, int group, int ndim, const int *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Hands the tables to the model (which frees them from then on, even when ok is 0); returns ok, or
 * 0 when a table_add failed */
int table_install(struct model *m, struct table *params, struct table *buffers, int ok);
/* 64-byte aligned, zeroed; NULL when out of memory */
float *aligned_floats(size_t n);
/* Marks each parameter trainable unless its group is in the model's freeze mask; counts them. */
void model_mark_trainable(struct model *m);
/* Allocates the parameter, gradient, Adam, buffer and activation arenas (m->act_floats planned);
 * on failure reports the size (the caller frees the model). */
enum dcn_status model_alloc_arenas(struct dcn_ctx *ctx, struct model *m);

static inline float *arena_param(const struct model *m, int t) { return m->param_mem + m->params[t].offset; }
/* NULL for a frozen tensor or t < 0 (no such tensor): the kernels then skip that gradient */
static inline float *arena_grad(const struct model *m, int t)
{
    return t >= 0 && m->params[t].trainable ? m->grad_mem + m->params[t].offset : NULL;
}
static inline float *arena_buffer(const struct model *m, int t) { return m->buffer_mem + m->buffers[t].offset; }

/* ---- the activation plan (arena.c) ----
 * A variant lists every piece of its activation arena once, in one function (model_ops.plan), and
 * model_create runs that function twice: a counting pass (base NULL) sums the pieces into
 * m->act_floats, then, the arena allocated, an assigning pass hands them out. Both passes run the
 * same requests, so the size and the pieces cannot disagree; a piece that would not fit in the
 * planned size is refused (its pointer NULL) and plan_end reports it, so the arena never overflows.
 * Pieces are consecutive in request order, each padded to 16 floats. */
struct act_plan {
    float *base;      /* the arena; NULL in the counting pass */
    size_t used, cap; /* floats handed out; floats available (assigning pass) */
    const char *overflow; /* the first piece that did not fit, or NULL */
    size_t overflow_need; /* floats the plan would have needed up to and including it */
};
void plan_begin(struct act_plan *p, float *base, size_t cap);
void plan_floats(struct act_plan *p, float **ptr, size_t n, const char *what);
/* n doubles in 2n floats of the arena (the 64-byte piece alignment suits them) */
void plan_doubles(struct act_plan *p, double **ptr, size_t n, const char *what);
enum dcn_status plan_end(struct dcn_ctx *ctx, const struct act_plan *p);
/* the piece's own name in a refusal message */
#define PLAN_FLOATS(p, ptr, n) plan_floats((p), &(ptr), (n), #ptr)
#define PLAN_DOUBLES(p, ptr, n) plan_doubles((p), &(ptr), (n), #ptr)

/* Runs the model's plan in assigning mode over its arena as if it held `floats` (model.c). Used by
 * model_create with floats = m->act_floats; a test passes fewer to see the refusal. */
enum dcn_status model_lay_activations(struct dcn_ctx *ctx, struct model *m, size_t floats);

/* ---- one variant (paper.c, authors.c) ---- */
struct model_ops {
    const char *name; /* --variant */
    int has_dag;      /* built from a graph's DAG */
    /* Checks cfg for this variant and builds the tensor tables and m->priv (m->cfg and m->dag are
     * set; the arenas are not allocated yet). On failure the caller frees m. */
    enum dcn_status (*build)(struct dcn_ctx *ctx, struct model *m);
    /* Lists every activation piece (see struct act_plan): takes nothing but m's sizes. */
    void (*plan)(struct model *m, struct act_plan *p);
    /* Frees m->priv and what it owns; m may be partly built. */
    void (*free_priv)(struct model *m);
    float (*forward)(struct model *m, const float *x, const int *y, int B, int train, int *correct);
    void (*backward)(struct model *m, const float *x, const int *y, int B);
    const float *(*logits)(const struct model *m);
    double (*flops_per_image)(const struct model *m);
};
extern const struct model_ops paper_ops, baseline_ops, authors_ops;

/* ---- small helpers of the variants' forward and backward ---- */
static inline float agg_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Charges the time since *t to acc[kind] and restarts the clock (profiling only). */
static inline void prof_tick(const struct model *m, double *acc, int kind, double *t)
{
    if (m->prof.enabled) {
        double now = dcn_now();
        acc[kind] += now - *t;
        *t = now;
    }
}

#endif
