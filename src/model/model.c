/* The DCN model: parameters in one arena, a node program in the DAG's topological order, and an
 * activation plan made once in model_create.
 *
 * Memory plan (why it is smaller than autograd's): a node keeps only its pointwise output P (the
 * batch-norm input, which BN backward needs) and its output Y (which successors read). The
 * aggregation, ReLU and depthwise outputs are cheap to recompute from the predecessors' Y, so
 * backward recomputes them into shared scratch buffers instead of storing them per node. Node output
 * gradients live in a pool of slots assigned by a liveness simulation of the backward sweep: a slot
 * is taken when the first successor back-propagates into a node and returned as soon as that node
 * has been processed. Output nodes need no slot: their gradient is the sink's gradient / n_outputs,
 * shared by all of them.
 */
#include "dcn/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dcn/nn.h"

struct model_node {
    int indeg;
    const int *pred;   /* indeg predecessors (borrowed from the DAG) */
    int is_output;
    int t_agg;         /* tensor index of the aggregation weights, -1 when indeg <= 1 */
    int t_dw, t_pw, t_gamma, t_beta;
    int b_mean, b_var; /* buffer tensor indices */
    float *P, *Y;      /* (B, C, HW) pointwise output and node output */
    float *mean, *rstd;/* (C) batch statistics of the last training forward */
    int slot;          /* gradient slot of a non-output node */
};

struct model_layout {
    int t_stem_w, t_stem_gamma, t_stem_beta, t_fc_w, t_fc_b;
    int b_stem_mean, b_stem_var;
    float *stem_conv, *stem_out, *stem_mean, *stem_rstd; /* (B,C,HW) x2, (C) x2 */
    float *H;        /* (B, C*HW) head input: relu(sink) for the paper model */
    float *logits, *probs, *dlogits; /* (B, K) */
    float *dH;       /* (B, C*HW) */
    float *dstem;    /* (B, C*HW) gradient at the stem output */
    float *A, *R, *D, *dP, *dD, *dR; /* scratch (B, C, HW) each */
    float *conv_ws;  /* stem im2col workspace */
    float *slots;    /* n_grad_slots x (B, C, HW) */
};

enum dcn_status model_variant_parse(struct dcn_ctx *ctx, const char *name, enum model_variant *out)
{
    if (!strcmp(name, "paper"))
        *out = MODEL_PAPER;
    else if (!strcmp(name, "baseline"))
        *out = MODEL_BASELINE;
    else
        return dcn_fail(ctx, DCN_EINVAL, "unknown model variant '%s' (expected paper or baseline)", name);
    return DCN_OK;
}

const char *model_variant_name(enum model_variant v) { return v == MODEL_BASELINE ? "baseline" : "paper"; }

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

void model_config_default(struct model_config *c)
{
    memset(c, 0, sizeof *c);
    c->variant = MODEL_PAPER;
    c->channels = 78;
    c->batch = 32;
    c->classes = 10;
    c->in_h = c->in_w = 28;
    c->bn_eps = 1e-5f;
    c->bn_momentum = 0.1f;
}

/* ---- tensor tables ---- */
struct table {
    struct model_tensor *t;
    int n, cap;
    size_t floats;
};

static int table_add(struct table *tb, int group, int ndim, const int *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int table_add(struct table *tb, int group, int ndim, const int *shape, const char *fmt, ...)
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
    t->group = group;
    t->offset = tb->floats;
    /* 16-float alignment keeps every tensor on a 64-byte boundary for vector loads */
    tb->floats += (t->size + 15) & ~(size_t)15;
    return tb->n++;
}

static float *aligned_floats(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)))
        return NULL;
    memset(p, 0, (n ? n : 1) * sizeof(float));
    return p;
}

static inline float *P_(const struct model *m, int t) { return m->param_mem + m->params[t].offset; }
static inline float *G_(const struct model *m, int t)
{
    return m->params[t].trainable ? m->grad_mem + m->params[t].offset : NULL;
}
static inline float *B_(const struct model *m, int t) { return m->buffer_mem + m->buffers[t].offset; }

/* Backward liveness simulation over the node program (see the file comment). Returns the number of
 * slots and fills node->slot; at run time the first toucher of a slot overwrites instead of adding. */
static int plan_grad_slots(struct model *m)
{
    const struct dcn_dag *d = m->dag;
    int n = d->n, nslots = 0, nfree = 0;
    int *freel = malloc((size_t)(n + 1) * sizeof *freel);
    if (!freel)
        return -1;
    for (int i = 0; i < n; i++)
        m->nodes[i].slot = -1;
    for (int i = n - 1; i >= 0; i--) {
        struct model_node *nd = &m->nodes[i];
        for (int k = 0; k < nd->indeg; k++) {
            struct model_node *p = &m->nodes[nd->pred[k]];
            if (p->is_output || p->slot >= 0)
                continue; /* outputs have no successors, so this cannot happen for them */
            p->slot = nfree ? freel[--nfree] : nslots++;
        }
        if (!nd->is_output && nd->slot >= 0)
            freel[nfree++] = nd->slot;
    }
    free(freel);
    return nslots;
}

enum dcn_status model_create(struct dcn_ctx *ctx, const struct model_config *cfg, const struct dcn_dag *dag,
                             struct model **out)
{
    *out = NULL;
    if (cfg->channels < 1 || cfg->batch < 1 || cfg->classes < 2 || cfg->in_h < 2 || cfg->in_w < 2)
        return dcn_fail(ctx, DCN_EINVAL, "model: channels, batch, classes and input size must be positive");
    if (cfg->variant == MODEL_PAPER && (!dag || dag->n < 1))
        return dcn_fail(ctx, DCN_EINVAL, "model: the paper variant needs a DAG with at least one node");
    struct model *m = calloc(1, sizeof *m);
    struct model_layout *L = calloc(1, sizeof *L);
    if (!m || !L) {
        free(m);
        free(L);
        return dcn_fail(ctx, DCN_ENOMEM, "model: out of memory");
    }
    m->cfg = *cfg;
    m->priv = L;
    m->dag = cfg->variant == MODEL_PAPER ? dag : NULL;
    const int C = cfg->channels, K = cfg->classes;
    m->H = conv_out_size(cfg->in_h, 3, 2, 1);
    m->W = conv_out_size(cfg->in_w, 3, 2, 1);
    const int HW = m->H * m->W;
    const size_t N = (size_t)cfg->batch * (size_t)C * (size_t)HW;

    struct table pt = {0}, bt = {0};
    int ok = 1;
    {
        int s4[4] = {C, 1, 3, 3}, s1[1] = {C};
        L->t_stem_w = table_add(&pt, FREEZE_STEM, 4, s4, "stem.conv.w");
        L->t_stem_gamma = table_add(&pt, FREEZE_STEM, 1, s1, "stem.bn.gamma");
        L->t_stem_beta = table_add(&pt, FREEZE_STEM, 1, s1, "stem.bn.beta");
        L->b_stem_mean = table_add(&bt, FREEZE_STEM, 1, s1, "stem.bn.running_mean");
        L->b_stem_var = table_add(&bt, FREEZE_STEM, 1, s1, "stem.bn.running_var");
    }
    int n_nodes = m->dag ? m->dag->n : 0;
    if (n_nodes) {
        m->nodes = calloc((size_t)n_nodes, sizeof *m->nodes);
        if (!m->nodes)
            ok = 0;
        for (int i = 0; ok && i < n_nodes; i++) {
            struct model_node *nd = &m->nodes[i];
            nd->indeg = (int)(dag->pred_off[i + 1] - dag->pred_off[i]);
            nd->pred = dag->pred + dag->pred_off[i];
            nd->is_output = dag->succ_off[i + 1] == dag->succ_off[i];
            int s1[1] = {C}, sdw[4] = {C, 1, 3, 3}, spw[4] = {C, C, 1, 1}, sag[1] = {nd->indeg};
            nd->t_agg = nd->indeg > 1 ? table_add(&pt, FREEZE_AGG, 1, sag, "node.%d.agg", i) : -1;
            nd->t_dw = table_add(&pt, FREEZE_NODES, 4, sdw, "node.%d.dw", i);
            nd->t_pw = table_add(&pt, FREEZE_NODES, 4, spw, "node.%d.pw", i);
            nd->t_gamma = table_add(&pt, FREEZE_NODES, 1, s1, "node.%d.bn.gamma", i);
            nd->t_beta = table_add(&pt, FREEZE_NODES, 1, s1, "node.%d.bn.beta", i);
            nd->b_mean = table_add(&bt, FREEZE_NODES, 1, s1, "node.%d.bn.running_mean", i);
            nd->b_var = table_add(&bt, FREEZE_NODES, 1, s1, "node.%d.bn.running_var", i);
            if (nd->t_dw < 0 || nd->t_pw < 0 || nd->t_beta < 0 || nd->b_var < 0)
                ok = 0;
        }
    }
    {
        int sfc[2] = {K, C * HW}, sb[1] = {K};
        L->t_fc_w = table_add(&pt, FREEZE_HEAD, 2, sfc, "fc.w");
        L->t_fc_b = table_add(&pt, FREEZE_HEAD, 1, sb, "fc.b");
        if (L->t_fc_b < 0 || L->b_stem_var < 0)
            ok = 0;
    }
    m->params = pt.t;
    m->n_params = pt.n;
    m->param_floats = pt.floats;
    m->buffers = bt.t;
    m->n_buffers = bt.n;
    m->buffer_floats = bt.floats;
    if (!ok) {
        model_free(m);
        return dcn_fail(ctx, DCN_ENOMEM, "model: out of memory building the tensor tables");
    }
    for (int i = 0; i < m->n_params; i++) {
        m->params[i].trainable = !(m->params[i].group & cfg->freeze);
        if (m->params[i].trainable)
            m->trainable_floats += m->params[i].size;
    }

    /* activation plan */
    int nslots = n_nodes ? plan_grad_slots(m) : 0;
    if (nslots < 0) {
        model_free(m);
        return dcn_fail(ctx, DCN_ENOMEM, "model: out of memory planning activations");
    }
    m->n_grad_slots = (size_t)nslots;
    const size_t BK = (size_t)cfg->batch * (size_t)K, Cr = ((size_t)C + 15) & ~(size_t)15;
    const size_t Nr = (N + 15) & ~(size_t)15;
    size_t ws = conv2d_workspace(1, cfg->in_h, cfg->in_w, 3, 2, 1);
    ws = (ws + 15) & ~(size_t)15;
    size_t bkr = (BK + 15) & ~(size_t)15;
    /* fixed buffers: stem_conv, stem_out, H, dH, dstem, 6 scratch = 11 N; per node P, Y; slots */
    m->act_floats = 11 * Nr + 2 * Cr + 3 * bkr + ws + (size_t)n_nodes * (2 * Nr + 2 * Cr) + (size_t)nslots * Nr;
    m->param_mem = aligned_floats(m->param_floats);
    m->grad_mem = aligned_floats(m->param_floats);
    m->adam_m = aligned_floats(m->param_floats);
    m->adam_v = aligned_floats(m->param_floats);
    m->buffer_mem = aligned_floats(m->buffer_floats);
    m->act_mem = aligned_floats(m->act_floats);
    if (!m->param_mem || !m->grad_mem || !m->adam_m || !m->adam_v || !m->buffer_mem || !m->act_mem) {
        size_t mib = (4 * m->param_floats + m->act_floats) * sizeof(float) >> 20;
        model_free(m);
        return dcn_fail(ctx, DCN_ENOMEM, "model: cannot allocate %zu MiB for parameters and activations", mib);
    }
    float *p = m->act_mem;
#define TAKE(ptr, n) do { (ptr) = p; p += (n); } while (0)
    TAKE(L->stem_conv, Nr);
    TAKE(L->stem_out, Nr);
    TAKE(L->H, Nr);
    TAKE(L->dH, Nr);
    TAKE(L->dstem, Nr);
    TAKE(L->A, Nr);
    TAKE(L->R, Nr);
    TAKE(L->D, Nr);
    TAKE(L->dP, Nr);
    TAKE(L->dD, Nr);
    TAKE(L->dR, Nr);
    TAKE(L->stem_mean, Cr);
    TAKE(L->stem_rstd, Cr);
    TAKE(L->logits, bkr);
    TAKE(L->probs, bkr);
    TAKE(L->dlogits, bkr);
    TAKE(L->conv_ws, ws);
    for (int i = 0; i < n_nodes; i++) {
        TAKE(m->nodes[i].P, Nr);
        TAKE(m->nodes[i].Y, Nr);
        TAKE(m->nodes[i].mean, Cr);
        TAKE(m->nodes[i].rstd, Cr);
    }
    TAKE(L->slots, (size_t)nslots * Nr);
#undef TAKE
    *out = m;
    return DCN_OK;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->buffers);
    free(m->nodes);
    free(m->param_mem);
    free(m->grad_mem);
    free(m->adam_m);
    free(m->adam_v);
    free(m->buffer_mem);
    free(m->act_mem);
    free(m->priv);
    free(m);
}

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
        } else if (!strcmp(t->name, "fc.b")) {
            fill_uniform(&r, p, t->size, 1.0 / sqrt((double)m->params[((struct model_layout *)m->priv)->t_fc_w].shape[1]));
        } else {
            /* conv and linear weights: PyTorch's kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in)) */
            size_t fan_in = t->size / (size_t)t->shape[0];
            fill_uniform(&r, p, t->size, 1.0 / sqrt((double)fan_in));
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

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Recomputes a node's aggregation (into L->A unless it can point at an existing buffer), its ReLU
 * (L->R) and depthwise output (L->D). Returns the aggregation pointer. */
static const float *node_front(const struct model *m, const struct model_node *nd, int B)
{
    struct model_layout *L = m->priv;
    const int C = m->cfg.channels, HW = m->H * m->W;
    const size_t N = (size_t)B * (size_t)C * (size_t)HW;
    const float *a;
    if (nd->indeg == 0) {
        a = L->stem_out;
    } else if (nd->indeg == 1) {
        a = m->nodes[nd->pred[0]].Y;
    } else {
        const float *w = P_(m, nd->t_agg);
        float *A = L->A;
        float s0 = sigmoidf(w[0]);
        const float *y0 = m->nodes[nd->pred[0]].Y;
        for (size_t j = 0; j < N; j++)
            A[j] = s0 * y0[j];
        for (int k = 1; k < nd->indeg; k++) {
            float s = sigmoidf(w[k]);
            const float *y = m->nodes[nd->pred[k]].Y;
            for (size_t j = 0; j < N; j++)
                A[j] += s * y[j];
        }
        a = A;
    }
    relu_forward(L->R, a, N);
    dwconv3x3_forward(L->D, L->R, P_(m, nd->t_dw), B, C, m->H, m->W, 1);
    return a;
}

float model_forward(struct model *m, const float *x, const int *y, int B, int train, int *correct)
{
    struct model_layout *L = m->priv;
    const struct model_config *c = &m->cfg;
    const int C = c->channels, HW = m->H * m->W;
    const size_t N = (size_t)B * (size_t)C * (size_t)HW;

    conv2d_forward(L->stem_conv, x, P_(m, L->t_stem_w), NULL, L->conv_ws, B, 1, c->in_h, c->in_w, C, 3, 2, 1);
    if (train)
        batchnorm_forward_train(L->stem_out, L->stem_mean, L->stem_rstd, B_(m, L->b_stem_mean),
                                B_(m, L->b_stem_var), L->stem_conv, P_(m, L->t_stem_gamma),
                                P_(m, L->t_stem_beta), B, C, HW, c->bn_eps, c->bn_momentum);
    else
        batchnorm_forward_eval(L->stem_out, L->stem_conv, P_(m, L->t_stem_gamma), P_(m, L->t_stem_beta),
                               B_(m, L->b_stem_mean), B_(m, L->b_stem_var), B, C, HW, c->bn_eps);
    relu_forward(L->stem_out, L->stem_out, N);

    const float *head_in = L->stem_out;
    if (m->dag) {
        const struct dcn_dag *d = m->dag;
        for (int i = 0; i < d->n; i++) {
            struct model_node *nd = &m->nodes[i];
            node_front(m, nd, B);
            pointwise_forward(nd->P, L->D, P_(m, nd->t_pw), NULL, B, C, HW, C);
            if (train)
                batchnorm_forward_train(nd->Y, nd->mean, nd->rstd, B_(m, nd->b_mean), B_(m, nd->b_var), nd->P,
                                        P_(m, nd->t_gamma), P_(m, nd->t_beta), B, C, HW, c->bn_eps,
                                        c->bn_momentum);
            else
                batchnorm_forward_eval(nd->Y, nd->P, P_(m, nd->t_gamma), P_(m, nd->t_beta), B_(m, nd->b_mean),
                                       B_(m, nd->b_var), B, C, HW, c->bn_eps);
        }
        /* sink: unweighted mean of the output nodes, then the head's ReLU in place */
        float *H = L->H;
        const float inv = 1.0f / (float)d->n_outputs;
        memcpy(H, m->nodes[d->outputs[0]].Y, N * sizeof(float));
        for (int k = 1; k < d->n_outputs; k++) {
            const float *yo = m->nodes[d->outputs[k]].Y;
            for (size_t j = 0; j < N; j++)
                H[j] += yo[j];
        }
        for (size_t j = 0; j < N; j++) {
            float v = H[j] * inv;
            H[j] = v > 0.0f ? v : 0.0f;
        }
        head_in = H;
    }
    linear_forward(L->logits, head_in, P_(m, L->t_fc_w), P_(m, L->t_fc_b), B, C * HW, c->classes);
    int corr = 0;
    float loss = softmax_xent_forward(L->probs, L->logits, y, B, c->classes, &corr);
    if (correct)
        *correct = corr;
    return loss;
}

const float *model_logits(const struct model *m) { return ((const struct model_layout *)m->priv)->logits; }

static void axpy(float *dst, float a, const float *src, size_t n)
{
    for (size_t j = 0; j < n; j++)
        dst[j] += a * src[j];
}

void model_backward(struct model *m, const float *x, const int *y, int B)
{
    struct model_layout *L = m->priv;
    const struct model_config *c = &m->cfg;
    const int C = c->channels, HW = m->H * m->W, K = c->classes;
    const size_t N = (size_t)B * (size_t)C * (size_t)HW, Nb = N * sizeof(float);
    const int need_stem = !(c->freeze & FREEZE_STEM);
    const int need_dag = m->dag && (need_stem || !(c->freeze & FREEZE_NODES) || !(c->freeze & FREEZE_AGG));

    memset(m->grad_mem, 0, m->param_floats * sizeof(float));
    memset(L->dlogits, 0, (size_t)B * (size_t)K * sizeof(float));
    softmax_xent_backward(L->dlogits, L->probs, y, B, K);
    const float *head_in = m->dag ? L->H : L->stem_out;
    float *dhead = m->dag ? L->dH : L->dstem;
    memset(dhead, 0, Nb);
    linear_backward((need_stem || need_dag) ? dhead : NULL, G_(m, L->t_fc_w), G_(m, L->t_fc_b), L->dlogits,
                    head_in, P_(m, L->t_fc_w), B, C * HW, K);

    if (need_dag) {
        const struct dcn_dag *d = m->dag;
        /* through the head ReLU (mask from its output) and the sink's mean: every output node
         * receives the same gradient, so they all read dH in place */
        const float inv = 1.0f / (float)d->n_outputs;
        float *dsink = L->dH;
        for (size_t j = 0; j < N; j++)
            dsink[j] = L->H[j] > 0.0f ? dsink[j] * inv : 0.0f;
        memset(L->dstem, 0, Nb);
        for (int i = d->n - 1; i >= 0; i--) {
            struct model_node *nd = &m->nodes[i];
            const float *dY = nd->is_output ? dsink : L->slots + (size_t)nd->slot * ((N + 15) & ~(size_t)15);
            const float *a = node_front(m, nd, B);
            memset(L->dP, 0, Nb);
            batchnorm_backward(L->dP, G_(m, nd->t_gamma), G_(m, nd->t_beta), dY, nd->P, nd->mean, nd->rstd,
                               P_(m, nd->t_gamma), B, C, HW);
            memset(L->dD, 0, Nb);
            pointwise_backward(L->dD, G_(m, nd->t_pw), NULL, L->dP, L->D, P_(m, nd->t_pw), B, C, HW, C);
            memset(L->dR, 0, Nb);
            dwconv3x3_backward(L->dR, G_(m, nd->t_dw), L->dD, L->R, P_(m, nd->t_dw), B, C, m->H, m->W, 1);
            float *dA = L->dR;
            for (size_t j = 0; j < N; j++)
                dA[j] = a[j] > 0.0f ? dA[j] : 0.0f;
            if (nd->indeg == 0) {
                axpy(L->dstem, 1.0f, dA, N);
                continue;
            }
            const float *w = nd->t_agg >= 0 ? P_(m, nd->t_agg) : NULL;
            float *gw = nd->t_agg >= 0 ? G_(m, nd->t_agg) : NULL;
            for (int k = 0; k < nd->indeg; k++) {
                struct model_node *p = &m->nodes[nd->pred[k]];
                float *dYp = L->slots + (size_t)p->slot * ((N + 15) & ~(size_t)15);
                /* the largest-index successor touches a slot first (backward runs in descending
                 * order): it zeroes the slot, which may hold a dead node's gradient */
                int first = d->succ[d->succ_off[nd->pred[k] + 1] - 1] == i;
                float s = w ? sigmoidf(w[k]) : 1.0f;
                if (first)
                    for (size_t j = 0; j < N; j++)
                        dYp[j] = s * dA[j];
                else
                    axpy(dYp, s, dA, N);
                if (gw) {
                    double dot = 0.0;
                    const float *yp = p->Y;
                    for (size_t j = 0; j < N; j++)
                        dot += (double)dA[j] * yp[j];
                    gw[k] += (float)(s * (1.0f - s) * dot);
                }
            }
        }
    }
    if (need_stem) {
        /* stem: ReLU (mask from its output), BN, conv; the image needs no gradient */
        float *dbn = L->dP, *dconv = L->dD;
        memset(dbn, 0, Nb);
        relu_backward(dbn, L->dstem, L->stem_out, N);
        memset(dconv, 0, Nb);
        batchnorm_backward(dconv, G_(m, L->t_stem_gamma), G_(m, L->t_stem_beta), dbn, L->stem_conv, L->stem_mean,
                           L->stem_rstd, P_(m, L->t_stem_gamma), B, C, HW);
        conv2d_backward(NULL, G_(m, L->t_stem_w), NULL, dconv, x, P_(m, L->t_stem_w), L->conv_ws, B, 1, c->in_h,
                        c->in_w, C, 3, 2, 1);
    }
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

double model_flops_per_image(const struct model *m)
{
    const double C = m->cfg.channels, HW = (double)m->H * m->W, K = m->cfg.classes;
    double fwd = 2.0 * 9.0 * C * HW + 10.0 * C * HW; /* stem conv + BN/ReLU */
    if (m->dag)
        for (int i = 0; i < m->dag->n; i++) {
            double indeg = m->nodes[i].indeg;
            fwd += (indeg > 1 ? 2.0 * indeg * C * HW : 0.0) + 2.0 * 9.0 * C * HW + 2.0 * C * C * HW + 10.0 * C * HW;
        }
    fwd += 2.0 * C * HW * K;
    return 3.0 * fwd; /* backward costs about twice the forward */
}
