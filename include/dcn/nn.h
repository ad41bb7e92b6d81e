/* dcn nn: layer kernels over contiguous float buffers (llm.c style).
 *
 * Layout: activations are NCHW, contiguous, shapes written beside every argument. Forward functions
 * overwrite `out`. Backward functions ACCUMULATE (+=) into every gradient they receive (input
 * gradient and parameter gradients), so a DAG node whose output feeds several successors gets the
 * sum of their contributions, and a single zeroing of the gradient arena per step suffices. Any
 * gradient pointer may be NULL when that gradient is not needed (frozen parameters, the image).
 *
 * Ownership: nothing here allocates. Workspaces are passed in; *_workspace() gives their size in
 * floats so the model can plan one arena before training starts.
 */
#ifndef DCN_NN_H
#define DCN_NN_H

#include <stddef.h>
#include <stdint.h>

/* ---- dense convolution (im2col + OpenBLAS sgemm), square kernel K, stride S, padding P ---- */
static inline int conv_out_size(int H, int K, int S, int P) { return (H + 2 * P - K) / S + 1; }
/* floats of workspace conv2d_forward/backward need for one image */
size_t conv2d_workspace(int C, int H, int W, int K, int S, int P);
void conv2d_forward(float *out,        /* (B, OC, OH, OW) */
                    const float *in,   /* (B, C, H, W) */
                    const float *w,    /* (OC, C, K, K) */
                    const float *bias, /* (OC) or NULL */
                    float *ws,         /* conv2d_workspace() floats */
                    int B, int C, int H, int W, int OC, int K, int S, int P);
void conv2d_backward(float *din,        /* (B, C, H, W) += ; or NULL */
                     float *dw,         /* (OC, C, K, K) += ; or NULL */
                     float *dbias,      /* (OC) += ; or NULL */
                     const float *dout, /* (B, OC, OH, OW) */
                     const float *in,   /* (B, C, H, W) */
                     const float *w,    /* (OC, C, K, K) */
                     float *ws,         /* conv2d_workspace() floats */
                     int B, int C, int H, int W, int OC, int K, int S, int P);

/* ---- depthwise 3x3, padding 1, stride S (1 or 2), no bias ---- */
void dwconv3x3_forward(float *out,      /* (B, C, OH, OW), OH = conv_out_size(H, 3, S, 1) */
                       const float *in, /* (B, C, H, W) */
                       const float *w,  /* (C, 3, 3) */
                       int B, int C, int H, int W, int S);
void dwconv3x3_backward(float *din,        /* (B, C, H, W) += ; or NULL */
                        float *dw,         /* (C, 3, 3) += ; or NULL */
                        const float *dout, /* (B, C, OH, OW) */
                        const float *in,   /* (B, C, H, W) */
                        const float *w,    /* (C, 3, 3) */
                        int B, int C, int H, int W, int S);

/* ---- pointwise 1x1 convolution (sgemm per image), no bias unless given ---- */
void pointwise_forward(float *out,        /* (B, OC, HW) */
                       const float *in,   /* (B, C, HW) */
                       const float *w,    /* (OC, C) */
                       const float *bias, /* (OC) or NULL */
                       int B, int C, int HW, int OC);
void pointwise_backward(float *din,        /* (B, C, HW) += ; or NULL */
                        float *dw,         /* (OC, C) += ; or NULL */
                        float *dbias,      /* (OC) += ; or NULL */
                        const float *dout, /* (B, OC, HW) */
                        const float *in,   /* (B, C, HW) */
                        const float *w,    /* (OC, C) */
                        int B, int C, int HW, int OC);

/* ---- batch normalisation over (B, HW) per channel, PyTorch conventions ----
 * Training: normalise with the batch mean and biased variance; save mean and 1/sqrt(var+eps) for
 * backward; update running stats with momentum m: r = (1-m) r + m * stat, the variance term being
 * the UNBIASED batch variance (n/(n-1)), as torch.nn.BatchNorm2d does. */
void batchnorm_forward_train(float *out,          /* (B, C, HW) */
                             float *mean,         /* (C) saved batch mean */
                             float *rstd,         /* (C) saved 1/sqrt(var + eps) */
                             float *running_mean, /* (C) updated in place; or NULL */
                             float *running_var,  /* (C) updated in place; or NULL */
                             const float *in,     /* (B, C, HW) */
                             const float *gamma,  /* (C) */
                             const float *beta,   /* (C) */
                             int B, int C, int HW, float eps, float momentum);
/* The statistics half of batchnorm_forward_train, for consumers that apply the normalisation on
 * the fly: fills mean, rstd and the running statistics exactly as forward_train does, and the
 * per-channel affine that forward_train applies, y = ((x - hi) - lo) * scale + shift (hi + lo is
 * the batch mean to double precision). Any of hi, lo, scale, shift may be NULL. */
void batchnorm_stats_train(float *mean, float *rstd, float *running_mean, float *running_var, float *hi,
                           float *lo, float *scale, float *shift, const float *in, const float *gamma,
                           const float *beta, int B, int C, int HW, float eps, float momentum);
/* Blocked statistics (a channel's values arrive in pieces, e.g. from several threads):
 * s1[c] += sum (x - k[c]), s2[c] += sum (x - k[c])^2 over x[c*ld + i], i < n, c < C. */
void batchnorm_shifted_sums(double *s1, double *s2, const float *x, size_t ld, size_t n, const float *k, int C);
/* Finishes channel c from sums s1, s2 about shift k over count n exactly as batchnorm_stats_train
 * does (mean, rstd, running statistics, affine). */
void batchnorm_stats_finish(double s1, double s2, float k, double n, float gamma, float beta, float eps,
                            float momentum, float *mean, float *rstd, float *running_mean, float *running_var,
                            float *hi, float *lo, float *scale, float *shift);
/* Backward in pieces: sums sd += sum dy, sdm += sum dy (x - m), sxm += sum (x - m) per channel over
 * dy[c*ld + i], x[c*ld + i], i < n; then batchnorm_backward_coeffs turns a channel's sums over
 * count n into the parameter gradients (added to *dgamma, *dbeta when not NULL) and the
 * coefficients of dx = k dy + a (x - m) + b. */
void batchnorm_backward_sums(double *sd, double *sdm, double *sxm, const float *dy, const float *x, size_t ld,
                             size_t n, const float *m, int C);
void batchnorm_backward_coeffs(double sd, double sdm, double sxm, double n, float gamma, float rstd, float *dgamma,
                               float *dbeta, float *k, float *a, float *b);
void batchnorm_forward_eval(float *out,                /* (B, C, HW) */
                            const float *in,           /* (B, C, HW) */
                            const float *gamma,        /* (C) */
                            const float *beta,         /* (C) */
                            const float *running_mean, /* (C) */
                            const float *running_var,  /* (C) */
                            int B, int C, int HW, float eps);
void batchnorm_backward(float *din,         /* (B, C, HW) += ; or NULL */
                        float *dgamma,      /* (C) += ; or NULL */
                        float *dbeta,       /* (C) += ; or NULL */
                        const float *dout,  /* (B, C, HW) */
                        const float *in,    /* (B, C, HW) the forward input */
                        const float *mean,  /* (C) saved by forward_train */
                        const float *rstd,  /* (C) saved by forward_train */
                        const float *gamma, /* (C) */
                        int B, int C, int HW);

/* batchnorm_backward that WRITES din (=) instead of accumulating, saving the caller a zeroing pass;
 * dgamma and dbeta still accumulate. */
void batchnorm_backward_to(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                           const float *mean, const float *rstd, const float *gamma, int B, int C, int HW);

/* ---- fused DAG-node front: aggregation -> ReLU -> depthwise 3x3 (stride 1, pad 1) ----
 * D is channel-major (C, B, HW): plane (c, b) at ((size_t)c * B + b) * HW. The n inputs share one
 * plane addressing, plane (c, b) at c * in_cs + b * in_bs (channel-major: in_cs = B*HW, in_bs = HW;
 * NCHW: in_cs = HW, in_bs = C*HW). Input k reads as y = ((x - hi) - lo) * scale + shift per channel
 * (its producer's batch norm, applied on the fly), or y = x when hi is NULL. The aggregation is
 * y0 when n == 1, else s0 y0 + s1 y1 + ... (s = sigmoid of the aggregation weights). */
struct node_input {
    const float *x;
    const float *hi, *lo, *scale, *shift; /* (C) each, or hi == NULL */
};
/* Each call handles the planes (c, b) with c in [c0, c1), b in [b0, b1) (threads and cache blocks
 * split them); plane (c, b) of D (and dD) is at c * d_cs + (b - b0) * d_bs. ws: floats of workspace
 * for one call (one thread). A_keep (or NULL): the aggregation is also written there, planes (c, b0..b1)
 * as one run at c * a_cs, for a backward that then reads it instead of the n inputs. */
size_t node_front_workspace(int H, int W, int nb); /* nb: most images (b1 - b0) per call */
void node_front_forward(float *D, size_t d_cs, size_t d_bs, float *A_keep, size_t a_cs, const struct node_input *in,
                        const float *s, int n, const float *w, /* (C,3,3) */
                        int c0, int c1, int b0, int b1, int H, int W, size_t in_cs, size_t in_bs, float *ws);
/* Backward of node_front_forward given dD (addressed like D). dA_out (or NULL): the gradient at the
 * aggregation, plane (c, b) at c * da_cs + (b - b0) * da_bs, written, or added to when da_add. D (or
 * NULL): node_front_forward's output again, recomputed from the same aggregation (the pointwise
 * weight gradient needs it), so the inputs are read once per backward. dw (C*9, double) += the
 * depthwise weight gradient, or NULL. The aggregation weights' gradient is not formed here but by
 * the predecessors' node_grad_gather, which streams dA anyway. A_kept (or NULL): the forward's A_keep,
 * read instead of forming the aggregation from the inputs; it may be dA_out itself. */
void node_front_backward(float *D, float *dA_out, size_t da_cs, size_t da_bs, int da_add, const float *dD,
                         size_t d_cs, size_t d_bs, const float *A_kept, size_t a_cs, const struct node_input *in,
                         const float *s, int n, const float *w, double *dw, int c0, int c1, int b0, int b1, int H,
                         int W, size_t in_cs, size_t in_bs, float *ws);
/* A node's output gradient pulled from its consumers: dy (len) = s_0 src_0 + s_1 src_1 + ... in this
 * order, each src read at off..off + len (one channel's run of a consumer's dA; s its aggregation
 * weight, 1 for a single-input consumer). Each consumer's dA is read once and dy written once;
 * pushing s dA into a gradient slot per edge read and wrote the slot on every edge.
 * With dot (n doubles, or NULL), the same pass also adds dot[k] += <src_k, y>, y = (x - h) a + b the
 * node's own output at the same positions (x its pointwise output, h a b its BN affine for this
 * channel): consumer k's aggregation-weight gradient is s_k (1 - s_k) times the sum of these over the
 * channels. Done here, the dot products cost no memory traffic of their own: consumer k's backward
 * would have to read y again (6 % of a C. elegans step). */
void node_grad_gather(float *dy, const float *const *src, size_t off, const float *s, int n, size_t len,
                      const float *x, float h, float a, float b, double *dot);
/* dst <- src (n floats) with streaming stores where the CPU has them (AVX), for data that is read
 * again only after it has left the caches: a plain store first reads each destination line from
 * memory, which is wasted traffic then. Such stores are weakly ordered: nn_stream_fence() before
 * another thread reads dst. */
void nn_copy_stream(float *dst, const float *src, size_t n);
void nn_stream_fence(void);
/* H (B, C, HW) NCHW = relu(mean of the n channel-major inputs y_k) over channels [c0, c1): the DAG's
 * sink and the head's ReLU. ws: node_front_workspace(H, W, B) floats. */
void node_sink_forward(float *H, const struct node_input *in, int n, int B, int C, int HW, int c0, int c1,
                       float *ws);

/* Synchronised batch norm (data-parallel training): when given, the kernels hand their per-channel
 * sums to sum(), which adds them over all processes in place and returns the process count, so the
 * statistics are those of the global batch (equal shards). The kernels stay free of MPI. */
struct bn_sync {
    int (*sum)(void *arg, double *v, int n);
    void *arg;
};

/* ---- the fused stem: conv 3x3 / stride 2 / pad 1 from one channel, BN, ReLU (src/nn/stem.c) ----
 * Same results as conv2d_forward + batchnorm_forward_train (or _eval) + relu_forward, in one pass.
 * conv and out are (B, C, OH, OW); conv keeps the BN input for backward. ws: stem_workspace()
 * floats; s1, s2 (C doubles) and shift (C floats) are scratch. */
size_t stem_workspace(int H, int W, int C);
void stem_forward(float *conv, float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                  const float *x, const float *w, const float *gamma, const float *beta, int B, int C, int H, int W,
                  int train, float eps, float momentum, float *ws, double *s1, double *s2, float *shift,
                  const struct bn_sync *sync);
/* Backward of stem_forward (train) given dout, the gradient at the ReLU's output: dgamma, dbeta and
 * dw (C, 9) += (any may be NULL); the image gets no gradient. acc (9C doubles) and coef (3C floats)
 * are scratch. */
void stem_backward(float *dw, float *dgamma, float *dbeta, const float *dout, const float *out, const float *conv,
                   const float *mean, const float *rstd, const float *x, const float *gamma, int B, int C, int H,
                   int W, float *ws, double *acc, float *coef, const struct bn_sync *sync);
/* The pieces stem_forward and stem_backward are made of, for threads that split the channels
 * [c0, c1) (every channel's result is the same as the whole call's, whatever the split):
 * forward = stem_conv_range (conv and BN sums; ws: one thread's stem_workspace), then stem_stats
 * (all channels: statistics, running statistics, the affine hi/lo/sc/sh), then stem_apply_range;
 * backward = stem_backward_sums_range (sums = sd | sdm | sxm, C doubles each), stem_backward_coeffs
 * (all channels: dgamma, dbeta +=, coef = k | a | b), stem_backward_dw_range (acc, 9C doubles, = the
 * weight gradient of channels [c0, c1)). */
void stem_conv_range(float *conv, double *s1, double *s2, float *shift, const float *x, const float *w, int B, int C,
                     int H, int W, int c0, int c1, int train, float *ws);
void stem_stats(float *mean, float *rstd, float *running_mean, float *running_var, float *hi, float *lo, float *sc,
                float *sh, double *s1, double *s2, float *shift, const float *gamma, const float *beta, int B,
                int C, int HW, int train, float eps, float momentum, const struct bn_sync *sync);
void stem_apply_range(float *out, const float *conv, const float *hi, const float *lo, const float *sc,
                      const float *sh, int B, int C, int HW, int c0, int c1);
void stem_backward_sums_range(double *sd, double *sdm, double *sxm, const float *dout, const float *out,
                              const float *conv, const float *mean, int B, int C, int HW, int c0, int c1);
void stem_backward_coeffs(float *dgamma, float *dbeta, double *sums, const float *gamma, const float *rstd, int B,
                          int C, int HW, float *coef, const struct bn_sync *sync);
void stem_backward_dw_range(double *acc, const float *dout, const float *out, const float *conv, const float *mean,
                            const float *kk, const float *aa, const float *bb, const float *x, int B, int C, int H,
                            int W, int c0, int c1, float *ws);

/* ---- elementwise ---- */
void relu_forward(float *out, const float *in, size_t n);
/* din += dout where x > 0 (x is the forward input or output: same sign pattern) */
void relu_backward(float *din, const float *dout, const float *x, size_t n);

/* ---- fully connected: out = in W^T + b ---- */
void linear_forward(float *out,        /* (B, OC) */
                    const float *in,   /* (B, IC) */
                    const float *w,    /* (OC, IC) */
                    const float *bias, /* (OC) or NULL */
                    int B, int IC, int OC);
void linear_backward(float *din,        /* (B, IC) += ; or NULL */
                     float *dw,         /* (OC, IC) += ; or NULL */
                     float *dbias,      /* (OC) += ; or NULL */
                     const float *dout, /* (B, OC) */
                     const float *in,   /* (B, IC) */
                     const float *w,    /* (OC, IC) */
                     int B, int IC, int OC);

/* ---- global average pool ---- */
void gap_forward(float *out, const float *in, int B, int C, int HW);       /* out (B, C), in (B, C, HW) */
void gap_backward(float *din, const float *dout, int B, int C, int HW);   /* din (B, C, HW) += */

/* ---- softmax cross-entropy, mean over the batch ----
 * Returns the mean loss; writes probabilities; counts correct argmax predictions in *correct. */
float softmax_xent_forward(float *probs,        /* (B, K) */
                           const float *logits, /* (B, K) */
                           const int *labels,   /* (B) in [0, K) */
                           int B, int K, int *correct);
/* dlogits += (probs - onehot(labels)) / B */
void softmax_xent_backward(float *dlogits, const float *probs, const int *labels, int B, int K);

/* ---- Adam (PyTorch's torch.optim.Adam, no weight decay); t is the 1-based step count ---- */
void adam_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1,
                 float beta2, float eps, int t);

/* sum a[i] * b[i] over n floats, accumulated in double per chunk (the kernels' own reduction order,
 * so a caller outside nn gets the same number as the kernels would). */
double vec_dot(const float *a, const float *b, size_t n);

#endif
