/* Private to src/model: the tensor tables both model implementations build (model.c for the paper
 * and baseline variants, authors.c for the authors' code variant). */
#ifndef DCN_MODEL_INTERNAL_H
#define DCN_MODEL_INTERNAL_H

#include <stddef.h>

#include "dcn/model.h"

struct table {
    struct model_tensor *t;
    int n, cap;
    size_t floats;
};

/* Appends a tensor (offset 16-float aligned); returns its index, -1 when out of memory. fan_in is
 * size / shape[0] for ndim > 1 (conv and linear weights) and 0 otherwise: callers set it for biases. */
int table_add(struct table *tb, int group, int ndim, const int *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* 64-byte aligned, zeroed; NULL when out of memory */
float *aligned_floats(size_t n);
/* Marks each parameter trainable unless its group is in the model's freeze mask; counts them. */
void model_mark_trainable(struct model *m);
/* Allocates the parameter, gradient, Adam, buffer and activation arenas (m->act_floats planned);
 * on failure frees the model and reports the size. */
enum dcn_status model_alloc_arenas(struct dcn_ctx *ctx, struct model *m);

/* The authors' variant (authors.c), dispatched to from model.c */
enum dcn_status authors_create(struct dcn_ctx *ctx, const struct model_config *cfg, const struct dcn_dag *dag,
                               struct model **out);
void authors_free_priv(struct model *m);
float authors_forward(struct model *m, const float *x, const int *y, int B, int train, int *correct);
const float *authors_logits(const struct model *m);
void authors_backward(struct model *m, const float *x, const int *y, int B);
double authors_flops_per_image(const struct model *m);

#endif
