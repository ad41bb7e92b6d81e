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

#endif
