/* Fused kernels of a DAG node's front half: aggregation -> ReLU -> depthwise 3x3 (stride 1, pad 1),
 * forward and backward, one (channel, image) plane at a time.
 *
 * Why fused: unfused, each of the three steps is a pass over a whole (B, C, H, W) tensor (2 MB at
 * the paper's size, bigger than L2), so the node paid three reads and three writes of main memory
 * for a few FLOPs per element. Per plane (14 x 14 floats) everything stays in L1: the predecessors
 * are read once, D is written once.
 *
 * Why the BN affine is applied here: a node stores only its pointwise output P and the per-channel
 * affine of its batch norm; consumers form y = ((P - hi) - lo) * scale + shift on the fly (the
 * formula batchnorm_forward_train uses), which halves the per-node storage.
 *
 * The depthwise stencil works on a zero-padded plane of pitch W + 2: output i of the flattened
 * (H, W + 2) grid is sum_t k[t] * Rp[i + ki (W + 2) + kj], one long branch-free loop that GCC
 * vectorises; columns W and W + 1 of each output row are junk and dropped when copying out. The
 * backward input gradient is the same stencil with the flipped kernel over the padded dD, and
 * the weight gradient is 9 dot products between the padded dD and shifted views of Rp.
 */
#include <string.h>

#include "dcn/nn.h"
#include "lanes.h"

/* floats of the per-plane scratch: A, Rp, out, dDp, dA, y (each at most (H+2)(W+2) + 2) */
static size_t plane_pad(int H, int W) { return (((size_t)(H + 2) * (W + 2) + 2) + 15) & ~(size_t)15; }

size_t node_front_workspace(int H, int W) { return 6 * plane_pad(H, W); }

/* y (HW) <- input k's plane: the BN affine of the producer applied on the fly, or a plain copy */
static inline void load_y(float *restrict y, const struct node_input *in, int c, size_t off, int HW)
{
    const float *restrict x = in->x + off;
    if (!in->hi) {
        memcpy(y, x, (size_t)HW * sizeof *y);
        return;
    }
    const float hi = in->hi[c], lo = in->lo[c], sc = in->scale[c], sh = in->shift[c];
    for (int i = 0; i < HW; i++) y[i] = ((x[i] - hi) - lo) * sc + sh;
}

/* A (HW) <- the aggregation of plane (c, b): y0 when n == 1, else s0 y0 + s1 y1 + ... in this order
 * (PyTorch's x = xs[0] * s[0]; x = x + xs[i] * s[i]). Forward and backward both call this, so the
 * ReLU mask recomputed in backward is bit-identical to the forward one. */
static inline void aggregate(float *restrict A, float *restrict y, const struct node_input *in,
                             const float *s, int n, int c, size_t off, int HW)
{
    if (n == 1) {
        load_y(A, &in[0], c, off, HW);
        return;
    }
    load_y(y, &in[0], c, off, HW);
    const float s0 = s[0];
    for (int i = 0; i < HW; i++) A[i] = s0 * y[i];
    for (int k = 1; k < n; k++) {
        load_y(y, &in[k], c, off, HW);
        const float sk = s[k];
        for (int i = 0; i < HW; i++) A[i] += sk * y[i];
    }
}

/* Rp interior <- relu(A); the border stays zero (set once per call) */
static inline void relu_pad(float *restrict Rp, const float *restrict A, int H, int W)
{
    const int P = W + 2;
    for (int h = 0; h < H; h++) {
        float *restrict r = Rp + (size_t)(h + 1) * P + 1;
        const float *restrict a = A + (size_t)h * W;
        for (int w = 0; w < W; w++) r[w] = a[w] > 0.0f ? a[w] : 0.0f;
    }
}

/* out[i] = sum_t k[t] * xp[i + (t / 3) P + t % 3] for i < H P (P = W + 2) */
static inline void stencil(float *restrict out, const float *restrict xp, const float *k, int H, int W)
{
    const int P = W + 2, n = H * P;
    const float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7],
                k8 = k[8];
    const float *restrict r0 = xp, *restrict r1 = xp + P, *restrict r2 = xp + 2 * P;
    for (int i = 0; i < n; i++)
        out[i] = k0 * r0[i] + k1 * r0[i + 1] + k2 * r0[i + 2] + k3 * r1[i] + k4 * r1[i + 1] + k5 * r1[i + 2] +
                 k6 * r2[i] + k7 * r2[i + 1] + k8 * r2[i + 2];
}

void node_front_forward(float *D, const struct node_input *in, const float *s, int n, const float *w, int B, int C,
                        int H, int W, size_t in_cs, size_t in_bs, float *ws)
{
    const int HW = H * W, P = W + 2;
    const size_t pp = plane_pad(H, W);
    float *A = ws, *Rp = ws + pp, *out = ws + 2 * pp, *y = ws + 3 * pp;
    memset(Rp, 0, pp * sizeof *Rp);
    for (int c = 0; c < C; c++) {
        const float *k = w + 9 * c;
        for (int b = 0; b < B; b++) {
            aggregate(A, y, in, s, n, c, c * in_cs + b * in_bs, HW);
            relu_pad(Rp, A, H, W);
            stencil(out, Rp, k, H, W);
            float *d = D + ((size_t)c * B + b) * HW;
            for (int h = 0; h < H; h++) memcpy(d + (size_t)h * W, out + (size_t)h * P, (size_t)W * sizeof *d);
        }
    }
}

void node_front_backward(float *const *din, const int *din_set, const float *dD, const struct node_input *in,
                         const float *s, int n, const float *w, float *dw, double *dots, int B, int C, int H,
                         int W, size_t in_cs, size_t in_bs, float *ws)
{
    const int HW = H * W, P = W + 2;
    const size_t pp = plane_pad(H, W);
    float *A = ws, *Rp = ws + pp, *out = ws + 2 * pp, *dDp = ws + 3 * pp, *dA = ws + 4 * pp, *y = ws + 5 * pp;
    memset(Rp, 0, pp * sizeof *Rp);
    memset(dDp, 0, pp * sizeof *dDp);
    for (int c = 0; c < C; c++) {
        const float *k = w + 9 * c;
        float kf[9];
        for (int t = 0; t < 9; t++) kf[t] = k[8 - t];
        double acc[9] = {0};
        for (int b = 0; b < B; b++) {
            const size_t off = c * in_cs + b * in_bs;
            aggregate(A, y, in, s, n, c, off, HW);
            const float *g = dD + ((size_t)c * B + b) * HW;
            for (int h = 0; h < H; h++) memcpy(dDp + (size_t)(h + 1) * P + 1, g + (size_t)h * W, (size_t)W * sizeof *g);
            if (dw) {
                relu_pad(Rp, A, H, W);
                /* dD in pitch P with zeros in the junk columns starts at dDp + P + 1 */
                for (int t = 0; t < 9; t++) acc[t] += lanes_dot(dDp + P + 1, Rp + (t / 3) * P + t % 3, (size_t)H * P);
            }
            /* dR by the flipped stencil, then the ReLU mask from the recomputed aggregation */
            stencil(out, dDp, kf, H, W);
            for (int h = 0; h < H; h++) {
                const float *restrict o = out + (size_t)h * P, *restrict a = A + (size_t)h * W;
                float *restrict da = dA + (size_t)h * W;
                for (int x = 0; x < W; x++) da[x] = a[x] > 0.0f ? o[x] : 0.0f;
            }
            for (int j = 0; j < n; j++) {
                const float sj = n == 1 ? 1.0f : s[j];
                float *dst = din[j];
                if (dst) {
                    float *restrict d = dst + off;
                    if (din_set[j])
                        for (int i = 0; i < HW; i++) d[i] = sj * dA[i];
                    else
                        for (int i = 0; i < HW; i++) d[i] += sj * dA[i];
                }
                if (dots) {
                    load_y(y, &in[j], c, off, HW);
                    dots[j] += lanes_dot(dA, y, (size_t)HW);
                }
            }
        }
        if (dw)
            for (int t = 0; t < 9; t++) dw[9 * c + t] += (float)acc[t];
    }
}
