/* What every variant's memory shares: the named tensor tables over the parameter, gradient, Adam and
 * buffer arenas (one layout for the first four), freezing, initialisation, the Adam step, lookup by
 * name, and the activation planner (model_internal.h, struct act_plan). */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dcn/nn.h"
#include "model_internal.h"

/* ---- tensor tables ---- */
int table_add(struct table *tb, int group, int ndim, const int *shape, const char *fmt, ...)
{
    if (tb->n == tb->cap) {
        int cap = tb->cap ? 2 * tb->cap : 64;
        struct model_tensor *t = realloc(tb->t, (size_t)cap * sizeof *t);
        if (!t)
            return -1;
        tb->t = t;
        tb->cap = cap;
    }
    struct model_tensor *t = &tb->t[tb->n];
    memset(t, 0, sizeof *t);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->ndim = ndim;
    t->size = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->size *= (size_t)shape[i];
    }
    t->fan_in = ndim > 1 ? (int)(t->size / (size_t)shape[0]) : 0;
    t->group = group;
    t->offset = tb->floats;
    tb->floats += pad16(t->size);
    return tb->n++;
}

int table_install(struct model *m, struct table *params, struct table *buffers, int ok)
{
    m->params = params->t;
    m->n_params = params->n;
    m->param_floats = params->floats;
    m->buffers = buffers->t;
    m->n_buffers = buffers->n;
    m->buffer_floats = buffers->floats;
    return ok;
}

/* Large arenas are 2 MiB-aligned and asked for transparent huge pages (where the kernel gives them
 * only on request, THP "madvise", Debian's default). The node tensors are 2 MB streams read from
 * many places at once; with 4 KiB pages every 4 KiB of a stream costs a TLB miss. Measured on
 * C. elegans at the paper's size: see README "The roofline". */
float *aligned_floats(size_t n)
{
    const size_t bytes = (n ? n : 1) * sizeof(float), huge = (size_t)2 << 20;
    void *p = NULL;
    if (posix_memalign(&p, bytes >= huge ? huge : 64, bytes))
        return NULL;
#ifdef MADV_HUGEPAGE
    if (bytes >= huge)
        madvise(p, bytes, MADV_HUGEPAGE); /* advice only: without THP the pages stay small */
#endif
    memset(p, 0, bytes);
    return p;
}

enum dcn_status model_alloc_arenas(struct dcn_ctx *ctx, struct model *m)
{
    m->param_mem = aligned_floats(m->param_floats);
    m->grad_mem = aligned_floats(m->param_floats);
    m->adam_m = aligned_floats(m->param_floats);
    m->adam_v = aligned_floats(m->param_floats);
    m->buffer_mem = aligned_floats(m->buffer_floats);
    m->act_mem = aligned_floats(m->act_floats);
    if (!m->param_mem || !m->grad_mem || !m->adam_m || !m->adam_v || !m->buffer_mem || !m->act_mem) {
        size_t mib = (4 * m->param_floats + m->act_floats) * sizeof(float) >> 20;
        return dcn_fail(ctx, DCN_ENOMEM, "model: cannot allocate %zu MiB for parameters and activations", mib);
    }
    return DCN_OK;
}

/* ---- the activation planner ---- */
void plan_begin(struct act_plan *p, float *base, size_t cap)
{
    memset(p, 0, sizeof *p);
    p->base = base;
    p->cap = base ? cap : SIZE_MAX;
}

/* Reserves n floats (padded); returns their offset, or SIZE_MAX when they do not fit */
static size_t plan_reserve(struct act_plan *p, size_t n, const char *what)
{
    const size_t at = p->used;
    /* a size_t wrap (a plan beyond the address space) is refused like a piece beyond cap */
    const int wraps = n > SIZE_MAX - 15 || pad16(n) > SIZE_MAX - at;
    const size_t end = wraps ? SIZE_MAX : at + pad16(n);
    p->used = end;
    if (!wraps && end <= p->cap)
        return at;
    if (!p->overflow) {
        p->overflow = what;
        p->overflow_need = end;
    }
    return SIZE_MAX;
}

void plan_floats(struct act_plan *p, float **ptr, size_t n, const char *what)
{
    const size_t at = plan_reserve(p, n, what);
    *ptr = p->base && at != SIZE_MAX ? p->base + at : NULL;
}

void plan_doubles(struct act_plan *p, double **ptr, size_t n, const char *what)
{
    const size_t at = n > SIZE_MAX / 2 ? plan_reserve(p, SIZE_MAX, what) : plan_reserve(p, 2 * n, what);
    *ptr = p->base && at != SIZE_MAX ? (double *)(void *)(p->base + at) : NULL;
}

enum dcn_status plan_end(struct dcn_ctx *ctx, const struct act_plan *p)
{
    if (!p->overflow)
        return DCN_OK;
    if (!p->base)
        return dcn_fail(ctx, DCN_ENOMEM, "model: the activation plan exceeds the address space (at '%s')",
                        p->overflow);
    return dcn_fail(ctx, DCN_ENOMEM,
                    "model: activation plan overflow: '%s' needs the arena to hold %zu floats, it holds %zu",
                    p->overflow, p->overflow_need, p->cap);
}

/* ---- freezing ---- */
enum dcn_status model_freeze_parse(struct dcn_ctx *ctx, const char *list, int *mask)
{
    *mask = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "stem"))
            *mask |= FREEZE_STEM;
        else if (!strcmp(tok, "nodes"))
            *mask |= FREEZE_NODES;
        else if (!strcmp(tok, "agg"))
            *mask |= FREEZE_AGG;
        else if (!strcmp(tok, "head"))
            *mask |= FREEZE_HEAD;
        else if (!strcmp(tok, "dag"))
            *mask |= FREEZE_NODES | FREEZE_AGG;
        else if (strcmp(tok, "none"))
            return dcn_fail(ctx, DCN_EINVAL, "unknown freeze group '%s' (expected stem, nodes, agg, head, dag or none)", tok);
    }
    return DCN_OK;
}

void model_mark_trainable(struct model *m)
{
    m->trainable_floats = 0;
    for (int i = 0; i < m->n_params; i++) {
        m->params[i].trainable = !(m->params[i].group & m->cfg.freeze);
        if (m->params[i].trainable)
            m->trainable_floats += m->params[i].size;
    }
}

/* ---- initialisation, the optimiser, lookup ---- */
static void fill_uniform(struct dcn_rng *r, float *p, size_t n, double bound)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((2.0 * dcn_rng_uniform(r) - 1.0) * bound);
}

void model_init(struct model *m, uint64_t seed)
{
    struct dcn_rng r;
    dcn_rng_seed2(&r, seed, 0); /* stream 0: weights; the trainer uses other streams for data order */
    memset(m->param_mem, 0, m->param_floats * sizeof(float));
    for (int i = 0; i < m->n_params; i++) {
        struct model_tensor *t = &m->params[i];
        float *p = m->param_mem + t->offset;
        const char *last = strrchr(t->name, '.');
        if (!strcmp(last, ".gamma")) {
            for (size_t k = 0; k < t->size; k++)
                p[k] = 1.0f;
        } else if (!strcmp(last, ".beta")) {
            /* zero */
        } else if (!strcmp(last, ".agg")) {
            if (m->cfg.agg_init_normal)
                for (size_t k = 0; k < t->size; k++)
                    p[k] = (float)dcn_rng_normal(&r);
        } else {
            /* conv and linear weights: PyTorch's kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in));
             * their biases: U(+-1/sqrt(fan_in of the weight)) */
            fill_uniform(&r, p, t->size, 1.0 / sqrt((double)(t->fan_in > 0 ? t->fan_in : 1)));
        }
    }
    for (int i = 0; i < m->n_buffers; i++) {
        struct model_tensor *t = &m->buffers[i];
        float v = strstr(t->name, "running_var") ? 1.0f : 0.0f;
        for (size_t k = 0; k < t->size; k++)
            m->buffer_mem[t->offset + k] = v;
    }
    memset(m->adam_m, 0, m->param_floats * sizeof(float));
    memset(m->adam_v, 0, m->param_floats * sizeof(float));
    m->adam_t = 0;
}

void model_adam_step(struct model *m, float lr, float beta1, float beta2, float eps)
{
    m->adam_t++;
    for (int i = 0; i < m->n_params; i++) {
        struct model_tensor *t = &m->params[i];
        if (!t->trainable)
            continue;
        adam_update(m->param_mem + t->offset, m->grad_mem + t->offset, m->adam_m + t->offset,
                    m->adam_v + t->offset, t->size, lr, beta1, beta2, eps, m->adam_t);
    }
}

size_t model_param_count(const struct model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_params; i++)
        n += m->params[i].size;
    return n;
}

size_t model_trainable_count(const struct model *m) { return m->trainable_floats; }

struct model_tensor *model_find(struct model *m, const char *name, float **data, float **grad)
{
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name)) {
            if (data)
                *data = m->param_mem + m->params[i].offset;
            if (grad)
                *grad = m->grad_mem + m->params[i].offset;
            return &m->params[i];
        }
    for (int i = 0; i < m->n_buffers; i++)
        if (!strcmp(m->buffers[i].name, name)) {
            if (data)
                *data = m->buffer_mem + m->buffers[i].offset;
            if (grad)
                *grad = NULL;
            return &m->buffers[i];
        }
    return NULL;
}
