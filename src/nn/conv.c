/* Dense layers that map onto OpenBLAS sgemm: conv2d (im2col), pointwise 1x1 conv and linear.
 *
 * All matrices are row-major. For one image, im2col turns the (C, H, W) input into a
 * (C*K*K, OH*OW) matrix whose row (c, ki, kj) holds the input pixel each output position sees
 * through that kernel tap, so the convolution is the product W (OC, C*K*K) x col. The backward
 * pass uses the same matrix for dW and the transposed product W^T x dout, scattered back by
 * col2im, for dIn. OpenBLAS must run single-threaded (OPENBLAS_NUM_THREADS=1): the sweeps
 * parallelise over trials and ranks, and these matrices are too small to split well anyway.
 */
#include "dcn/nn.h"

#include <cblas.h>
#include <string.h>

#include "lanes.h"

/* Output positions ow whose input column ow*S - P + kj lies inside [0, W): [*lo, *hi). Computing
 * the range once lets the copy loops run without a bounds test per element. */
static void valid_range(int W, int OW, int S, int P, int kj, int *lo, int *hi)
{
    int a = P - kj; /* ow*S >= a */
    int l = a <= 0 ? 0 : (a + S - 1) / S;
    int b = W - 1 + P - kj; /* ow*S <= b */
    int h = b < 0 ? 0 : b / S + 1;
    if (l > OW) l = OW;
    if (h > OW) h = OW;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* col (C*K*K, OH*OW) <- patches of one image x (C, H, W); padding reads as zero */
static void im2col(float *restrict col, const float *restrict x, int C, int H, int W, int K, int S,
                   int P, int OH, int OW)
{
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < K; ki++)
            for (int kj = 0; kj < K; kj++) {
                float *row = col + ((size_t)(c * K + ki) * K + kj) * OH * OW;
                int lo, hi;
                valid_range(W, OW, S, P, kj, &lo, &hi);
                for (int oh = 0; oh < OH; oh++) {
                    float *r = row + (size_t)oh * OW;
                    int ih = oh * S - P + ki;
                    if (ih < 0 || ih >= H) {
                        memset(r, 0, sizeof(float) * (size_t)OW);
                        continue;
                    }
                    const float *src = x + ((size_t)c * H + ih) * W;
                    for (int ow = 0; ow < lo; ow++) r[ow] = 0.0f;
                    for (int ow = lo; ow < hi; ow++) r[ow] = src[ow * S - P + kj];
                    for (int ow = hi; ow < OW; ow++) r[ow] = 0.0f;
                }
            }
}

/* dx (C, H, W) += col (C*K*K, OH*OW) scattered back to the pixels the patches came from */
static void col2im_add(float *restrict dx, const float *restrict col, int C, int H, int W, int K,
                       int S, int P, int OH, int OW)
{
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < K; ki++)
            for (int kj = 0; kj < K; kj++) {
                const float *row = col + ((size_t)(c * K + ki) * K + kj) * OH * OW;
                int lo, hi;
                valid_range(W, OW, S, P, kj, &lo, &hi);
                for (int oh = 0; oh < OH; oh++) {
                    int ih = oh * S - P + ki;
                    if (ih < 0 || ih >= H) continue;
                    const float *r = row + (size_t)oh * OW;
                    float *dst = dx + ((size_t)c * H + ih) * W;
                    for (int ow = lo; ow < hi; ow++) dst[ow * S - P + kj] += r[ow];
                }
            }
}

/* A 1x1, stride 1, unpadded convolution's im2col matrix is the image itself: skip the copy. */
static int is_identity_patch(int K, int S, int P) { return K == 1 && S == 1 && P == 0; }

size_t conv2d_workspace(int C, int H, int W, int K, int S, int P)
{
    size_t OH = (size_t)conv_out_size(H, K, S, P), OW = (size_t)conv_out_size(W, K, S, P);
    return (size_t)C * K * K * OH * OW;
}

/* rows (R, L): row r <- bias[r]; sgemm then adds the product with beta = 1 */
static void fill_rows(float *restrict y, const float *restrict bias, int R, size_t L)
{
    for (int r = 0; r < R; r++)
        for (size_t i = 0; i < L; i++) y[(size_t)r * L + i] = bias[r];
}

void conv2d_forward(float *out, const float *in, const float *w, const float *bias, float *ws,
                    int B, int C, int H, int W, int OC, int K, int S, int P)
{
    int OH = conv_out_size(H, K, S, P), OW = conv_out_size(W, K, S, P);
    int L = OH * OW, KC = C * K * K;
    for (int b = 0; b < B; b++) {
        const float *x = in + (size_t)b * C * H * W;
        float *y = out + (size_t)b * OC * L;
        const float *col = x;
        if (!is_identity_patch(K, S, P)) {
            im2col(ws, x, C, H, W, K, S, P, OH, OW);
            col = ws;
        }
        if (bias) fill_rows(y, bias, OC, (size_t)L);
        /* y (OC, L) = w (OC, KC) . col (KC, L) [+ y] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, L, KC, 1.0f, w, KC, col, L,
                    bias ? 1.0f : 0.0f, y, L);
    }
}

void conv2d_backward(float *din, float *dw, float *dbias, const float *dout, const float *in,
                     const float *w, float *ws, int B, int C, int H, int W, int OC, int K, int S,
                     int P)
{
    int OH = conv_out_size(H, K, S, P), OW = conv_out_size(W, K, S, P);
    int L = OH * OW, KC = C * K * K;
    int identity = is_identity_patch(K, S, P);
    for (int b = 0; b < B; b++) {
        const float *x = in + (size_t)b * C * H * W;
        const float *dy = dout + (size_t)b * OC * L;
        if (dbias)
            for (int oc = 0; oc < OC; oc++) dbias[oc] += (float)lanes_sum(dy + (size_t)oc * L, L);
        if (dw) {
            /* the workspace holds one image's patches, so they are rebuilt here rather than kept
             * from the forward pass: B times the memory would be the alternative */
            const float *col = x;
            if (!identity) {
                im2col(ws, x, C, H, W, K, S, P, OH, OW);
                col = ws;
            }
            /* dw (OC, KC) += dy (OC, L) . col^T (L, KC) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, KC, L, 1.0f, dy, L, col, L,
                        1.0f, dw, KC);
        }
        if (din) {
            float *dx = din + (size_t)b * C * H * W;
            if (identity) {
                /* dx (C, L) += w^T (C, OC) . dy (OC, L) */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, KC, L, OC, 1.0f, w, KC, dy, L,
                            1.0f, dx, L);
            } else {
                /* dcol (KC, L) = w^T (KC, OC) . dy (OC, L), then summed back onto the pixels */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, KC, L, OC, 1.0f, w, KC, dy, L,
                            0.0f, ws, L);
                col2im_add(dx, ws, C, H, W, K, S, P, OH, OW);
            }
        }
    }
}

/* ---- pointwise 1x1: per image out[b] (OC, HW) = w (OC, C) . in[b] (C, HW) ---- */

void pointwise_forward(float *out, const float *in, const float *w, const float *bias, int B, int C,
                       int HW, int OC)
{
    for (int b = 0; b < B; b++) {
        float *y = out + (size_t)b * OC * HW;
        if (bias) fill_rows(y, bias, OC, (size_t)HW);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, HW, C, 1.0f, w, C,
                    in + (size_t)b * C * HW, HW, bias ? 1.0f : 0.0f, y, HW);
    }
}

void pointwise_backward(float *din, float *dw, float *dbias, const float *dout, const float *in,
                        const float *w, int B, int C, int HW, int OC)
{
    for (int b = 0; b < B; b++) {
        const float *dy = dout + (size_t)b * OC * HW;
        if (dbias)
            for (int oc = 0; oc < OC; oc++)
                dbias[oc] += (float)lanes_sum(dy + (size_t)oc * HW, (size_t)HW);
        /* dw (OC, C) += dy (OC, HW) . in[b]^T (HW, C) */
        if (dw)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, C, HW, 1.0f, dy, HW,
                        in + (size_t)b * C * HW, HW, 1.0f, dw, C);
        /* din[b] (C, HW) += w^T (C, OC) . dy (OC, HW) */
        if (din)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, HW, OC, 1.0f, w, C, dy, HW,
                        1.0f, din + (size_t)b * C * HW, HW);
    }
}

/* ---- linear: out (B, OC) = in (B, IC) . w^T (IC, OC) + bias ---- */

void linear_forward(float *out, const float *in, const float *w, const float *bias, int B, int IC,
                    int OC)
{
    if (bias)
        for (int b = 0; b < B; b++) memcpy(out + (size_t)b * OC, bias, sizeof(float) * (size_t)OC);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, OC, IC, 1.0f, in, IC, w, IC,
                bias ? 1.0f : 0.0f, out, OC);
}

void linear_backward(float *din, float *dw, float *dbias, const float *dout, const float *in,
                     const float *w, int B, int IC, int OC)
{
    if (dbias)
        for (int b = 0; b < B; b++)
            for (int o = 0; o < OC; o++) dbias[o] += dout[(size_t)b * OC + o];
    /* dw (OC, IC) += dout^T (OC, B) . in (B, IC) */
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, B, 1.0f, dout, OC, in, IC,
                    1.0f, dw, IC);
    /* din (B, IC) += dout (B, OC) . w (OC, IC) */
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, IC, OC, 1.0f, dout, OC, w, IC,
                    1.0f, din, IC);
}
