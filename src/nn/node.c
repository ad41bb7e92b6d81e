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
#include <stdint.h>
#include <string.h>
#ifdef __AVX__
#include <immintrin.h>
#endif

#include "dcn/nn.h"
#include "lanes.h"

/* floats of one padded plane (H+2)(W+2), plus 2 for the junk columns' reads past the last row */
static size_t plane_pad(int H, int W) { return (((size_t)(H + 2) * (W + 2) + 2) + 15) & ~(size_t)15; }

/* scratch: A and dA (nb planes each), Rp, out, dDp (one padded plane each), y (one plane, the sink) */
size_t node_front_workspace(int H, int W, int nb)
{
    size_t blk = ((size_t)nb * H * W + 15) & ~(size_t)15;
    return 2 * blk + 4 * plane_pad(H, W);
}

/* y (len) <- input k's values at off..off+len, channel c: the BN affine of the producer applied on
 * the fly, or a plain copy */
static inline void load_y(float *restrict y, const struct node_input *in, int c, size_t off, size_t len)
{
    const float *restrict x = in->x + off;
    if (!in->hi) {
        memcpy(y, x, len * sizeof *y);
        return;
    }
    const float hi = in->hi[c], lo = in->lo[c], sc = in->scale[c], sh = in->shift[c];
    for (size_t i = 0; i < len; i++) y[i] = ((x[i] - hi) - lo) * sc + sh;
}

/* The aggregation's terms, s y = s (((x - hi) - lo) scale + shift), are formed as a (x - hi) + k with
 * a = s scale and k = s (shift - lo scale), and the k of all inputs are added once per channel: two
 * operations per input and element instead of four (the same values up to rounding; the PyTorch
 * references check them). An input without a producer's BN (the stem's output) has hi = k = 0, a = s. */
struct term {
    float h, a, k;
};
static inline struct term term_of(const struct node_input *in, int c, float s)
{
    if (!in->hi)
        return (struct term){0.0f, s, 0.0f};
    const float sc = in->scale[c];
    return (struct term){in->hi[c], s * sc, s * (in->shift[c] - in->lo[c] * sc)};
}

/* the k of n inputs, in order (s NULL: every s is 1) */
static inline float terms_const(const struct node_input *in, const float *s, int n, int c)
{
    float k = 0.0f;
    for (int j = 0; j < n; j++) k += term_of(&in[j], c, s ? s[j] : 1.0f).k;
    return k;
}

/* A (len) += a (x - h) for input k's run at off; first: A = k0 + a (x - h), k0 the inputs' constants */
static inline void axpy_y(float *restrict A, const struct node_input *in, int c, size_t off, size_t len, float s,
                          int first, float k0)
{
    const float *restrict x = in->x + off;
    const struct term t = term_of(in, c, s);
    if (first)
        for (size_t i = 0; i < len; i++) A[i] = k0 + t.a * (x[i] - t.h);
    else
        for (size_t i = 0; i < len; i++) A[i] += t.a * (x[i] - t.h);
}

/* A (len) += the terms of two inputs' runs at off, added in that order: two streams from memory at
 * once instead of one, and A read and written once. */
static inline void axpy2_y(float *restrict A, const struct node_input *i1, const struct node_input *i2, int c,
                           size_t off, size_t len, float s1, float s2)
{
    const float *restrict x1 = i1->x + off, *restrict x2 = i2->x + off;
    const struct term t1 = term_of(i1, c, s1), t2 = term_of(i2, c, s2);
    for (size_t i = 0; i < len; i++) {
        const float a = A[i] + t1.a * (x1[i] - t1.h);
        A[i] = a + t2.a * (x2[i] - t2.h);
    }
}

/* The same for four inputs, added in order */
static inline void axpy4_y(float *restrict A, const struct node_input *in, int c, size_t off, size_t len,
                           const float *s)
{
    const float *restrict x1 = in[0].x + off, *restrict x2 = in[1].x + off, *restrict x3 = in[2].x + off,
                          *restrict x4 = in[3].x + off;
    const struct term t1 = term_of(&in[0], c, s[0]), t2 = term_of(&in[1], c, s[1]), t3 = term_of(&in[2], c, s[2]),
                      t4 = term_of(&in[3], c, s[3]);
    for (size_t i = 0; i < len; i++) {
        float a = A[i] + t1.a * (x1[i] - t1.h);
        a = a + t2.a * (x2[i] - t2.h);
        a = a + t3.a * (x3[i] - t3.h);
        A[i] = a + t4.a * (x4[i] - t4.h);
    }
}

/* Runs of the planes (c, b0..b1): channel-major inputs (in_bs == HW) hold them as ONE contiguous run,
 * which is what makes the aggregation stream (each predecessor's channel is read sequentially, not
 * as scattered 784-byte planes); NCHW inputs (the stem) give one run per image. */
#define FOR_RUNS(b0, b1, in_cs, in_bs, HW, c, OFF, LEN, POS, BODY)                                      \
    for (int rb_ = (b0); rb_ < (b1);) {                                                                  \
        const int nb_ = (in_bs) == (size_t)(HW) ? (b1) - rb_ : 1;                                        \
        const size_t OFF = (size_t)(c) * (in_cs) + (size_t)rb_ * (in_bs), LEN = (size_t)nb_ * (HW),      \
                     POS = (size_t)(rb_ - (b0)) * (HW);                                                  \
        BODY;                                                                                           \
        rb_ += nb_;                                                                                     \
    }

/* A (planes b0..b1 of channel c) <- the aggregation: y0 when n == 1, else s0 y0 + s1 y1 + ... in this
 * order (PyTorch's x = xs[0] * s[0]; x = x + xs[i] * s[i]). Forward and backward both call this, so
 * the ReLU mask recomputed in backward is bit-identical to the forward one. */
static inline void aggregate(float *restrict A, const struct node_input *in, const float *s, int n, int c, int b0,
                             int b1, size_t in_cs, size_t in_bs, int HW)
{
    FOR_RUNS(b0, b1, in_cs, in_bs, HW, c, off, len, pos, {
        if (n == 1)
            load_y(A + pos, &in[0], c, off, len);
        else {
            axpy_y(A + pos, &in[0], c, off, len, s[0], 1, terms_const(in, s, n, c));
            int k = 1;
            for (; k + 3 < n; k += 4) axpy4_y(A + pos, &in[k], c, off, len, &s[k]);
            for (; k + 1 < n; k += 2) axpy2_y(A + pos, &in[k], &in[k + 1], c, off, len, s[k], s[k + 1]);
            if (k < n)
                axpy_y(A + pos, &in[k], c, off, len, s[k], 0, 0.0f);
        }
    })
}


/* Rp interior <- relu(A); the border stays zero (set once per call, and again where this writes it).
 * Rows of W = 14 floats made GCC emit short vector pieces and a scalar tail per row (5 % of a step);
 * here each row is whole 8-float chunks, whose overhang (reading up to 7 floats past the row, within
 * the caller's workspace, and writing over border cells) is put right after the loop. The values are
 * those of `a > 0 ? a : 0` (the mask keeps a where a > 0, else +0). */
static inline void relu_pad(float *restrict Rp, const float *restrict A, int H, int W)
{
    const int P = W + 2, over = (W + 7) / 8 * 8 - W;
    const v8f zero = {0};
    for (int h = 0; h < H; h++) {
        float *r = Rp + (size_t)(h + 1) * P + 1;
        const float *a = A + (size_t)h * W;
        for (int w = 0; w < W; w += 8) {
            v8f v = ld8(a + w);
            const v8i keep = v > zero;
            v = (v8f)((v8i)v & keep);
            memcpy(r + w, &v, sizeof v);
        }
    }
    if (!over)
        return;
    /* a row's overhang covers its right border, the next row's left border and the start of the next
     * row's interior, which that row wrote afterwards; the last row's falls in the bottom border */
    for (int h = 0; h + 1 < H; h++) {
        Rp[(size_t)(h + 1) * P + W + 1] = 0.0f;
        if (over > 1)
            Rp[(size_t)(h + 2) * P] = 0.0f;
    }
    memset(Rp + (size_t)H * P + W + 1, 0, (size_t)over * sizeof *Rp);
}

/* out[i] = sum_t k[t] * xp[i + (t / 3) P + t % 3] for i < H P (P = W + 2) */
static inline void stencil(float *restrict out, const float *restrict xp, const float *k, int H, int W)
{
    const int P = W + 2, n = H * P;
    const float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7],
                k8 = k[8];
    const float *restrict r0 = xp, *restrict r1 = xp + P, *restrict r2 = xp + 2 * P;
    /* three row sums: shorter dependency chains than one 9-term sum */
    for (int i = 0; i < n; i++)
        out[i] = (k0 * r0[i] + k1 * r0[i + 1] + k2 * r0[i + 2]) + (k3 * r1[i] + k4 * r1[i + 1] + k5 * r1[i + 2]) +
                 (k6 * r2[i] + k7 * r2[i + 1] + k8 * r2[i + 2]);
}

/* acc[t] += sum_i g[i] * Rp[i + (t / 3) P + t % 3] over i < H P: the 9 taps of the depthwise weight
 * gradient in one sweep with 9 independent vector accumulators (one chain would be add-latency
 * bound), each g[i] loaded once. Float lanes over one plane (H P / 8 terms each), flushed to double. */
static inline void dot9(double acc[9], const float *restrict g, const float *restrict Rp, int H, int W)
{
    const int P = W + 2, n = H * P;
    v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0}, a8 = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const v8f gv = ld8(g + i);
        const float *r = Rp + i;
        a0 += gv * ld8(r);
        a1 += gv * ld8(r + 1);
        a2 += gv * ld8(r + 2);
        a3 += gv * ld8(r + P);
        a4 += gv * ld8(r + P + 1);
        a5 += gv * ld8(r + P + 2);
        a6 += gv * ld8(r + 2 * P);
        a7 += gv * ld8(r + 2 * P + 1);
        a8 += gv * ld8(r + 2 * P + 2);
    }
    const v8f av[9] = {a0, a1, a2, a3, a4, a5, a6, a7, a8};
    for (int t = 0; t < 9; t++) {
        double sum = hsum8(av[t]);
        const float *r = Rp + (t / 3) * P + t % 3;
        for (int j = i; j < n; j++) sum += (double)g[j] * r[j];
        acc[t] += sum;
    }
}

/* sum a[i] b[i] over one plane, two vector accumulators, flushed to double */
static inline double dot_short(const float *restrict a, const float *restrict b, int n)
{
    v8f s0 = {0}, s1 = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 += ld8(a + i) * ld8(b + i);
        s1 += ld8(a + i + 8) * ld8(b + i + 8);
    }
    for (; i + 8 <= n; i += 8) s0 += ld8(a + i) * ld8(b + i);
    double sum = hsum8(s0) + hsum8(s1);
    for (; i < n; i++) sum += (double)a[i] * b[i];
    return sum;
}

void nn_copy_stream(float *restrict dst, const float *restrict src, size_t n)
{
#ifdef __AVX__
    size_t i = 0;
    for (; i < n && ((uintptr_t)(dst + i) & 31); i++) dst[i] = src[i];
    for (; i + 8 <= n; i += 8) _mm256_stream_ps(dst + i, _mm256_loadu_ps(src + i));
    for (; i < n; i++) dst[i] = src[i];
#else
    memcpy(dst, src, n * sizeof *dst);
#endif
}

void nn_stream_fence(void)
{
#ifdef __AVX__
    _mm_sfence();
#endif
}

void node_front_forward(float *D, size_t d_cs, size_t d_bs, float *A_keep, size_t a_cs, const struct node_input *in,
                        const float *s, int n, const float *w, int c0, int c1, int b0, int b1, int H, int W,
                        size_t in_cs, size_t in_bs, float *ws)
{
    const int HW = H * W, P = W + 2;
    const size_t pp = plane_pad(H, W), blk = ((size_t)(b1 - b0) * HW + 15) & ~(size_t)15;
    float *A = ws, *Rp = ws + 2 * blk, *out = Rp + pp;
    memset(Rp, 0, pp * sizeof *Rp);
    for (int c = c0; c < c1; c++) {
        const float *k = w + 9 * c;
        aggregate(A, in, s, n, c, b0, b1, in_cs, in_bs, HW);
        if (A_keep)
            nn_copy_stream(A_keep + c * a_cs, A, (size_t)(b1 - b0) * HW);
        for (int b = b0; b < b1; b++) {
            relu_pad(Rp, A + (size_t)(b - b0) * HW, H, W);
            stencil(out, Rp, k, H, W);
            float *d = D + c * d_cs + (size_t)(b - b0) * d_bs;
            for (int h = 0; h < H; h++) memcpy(d + (size_t)h * W, out + (size_t)h * P, (size_t)W * sizeof *d);
        }
    }
    if (A_keep)
        nn_stream_fence();
}

void node_front_backward(float *D, float *dA_out, size_t da_cs, size_t da_bs, int da_add, const float *dD,
                         size_t d_cs, size_t d_bs, const float *A_kept, size_t a_cs, const struct node_input *in,
                         const float *s, int n, const float *w, double *dw, int c0, int c1, int b0, int b1, int H,
                         int W, size_t in_cs, size_t in_bs, float *ws)
{
    const int HW = H * W, P = W + 2;
    const size_t pp = plane_pad(H, W), blk = ((size_t)(b1 - b0) * HW + 15) & ~(size_t)15;
    float *A = ws, *dA = ws + blk, *Rp = ws + 2 * blk, *out = Rp + pp, *dDp = out + pp;
    memset(Rp, 0, pp * sizeof *Rp);
    memset(dDp, 0, pp * sizeof *dDp);
    for (int c = c0; c < c1; c++) {
        const float *k = w + 9 * c;
        float kf[9];
        for (int t = 0; t < 9; t++) kf[t] = k[8 - t];
        double acc[9] = {0};
        /* copied, not read in place: dA_out may be the very buffer (its channel c is written below) */
        if (A_kept)
            memcpy(A, A_kept + c * a_cs, (size_t)(b1 - b0) * HW * sizeof *A);
        else
            aggregate(A, in, s, n, c, b0, b1, in_cs, in_bs, HW);
        for (int b = b0; b < b1; b++) {
            const float *a = A + (size_t)(b - b0) * HW;
            const float *g = dD + c * d_cs + (size_t)(b - b0) * d_bs;
            if (dw || D)
                relu_pad(Rp, a, H, W);
            if (D) { /* node_front_forward's D again, for the pointwise weight gradient */
                stencil(out, Rp, k, H, W);
                float *d = D + c * d_cs + (size_t)(b - b0) * d_bs;
                for (int h = 0; h < H; h++) memcpy(d + (size_t)h * W, out + (size_t)h * P, (size_t)W * sizeof *d);
            }
            for (int h = 0; h < H; h++) memcpy(dDp + (size_t)(h + 1) * P + 1, g + (size_t)h * W, (size_t)W * sizeof *g);
            if (dw) /* dD in pitch P with zeros in the junk columns starts at dDp + P + 1 */
                dot9(acc, dDp + P + 1, Rp, H, W);
            if (!dA_out)
                continue;
            /* dR by the flipped stencil, then the ReLU mask from the recomputed aggregation */
            stencil(out, dDp, kf, H, W);
            /* into the slot directly; through the workspace when it is added to the stem's gradient */
            float *dst = dA_out + c * da_cs + (size_t)(b - b0) * da_bs;
            float *restrict da = da_add ? dA + (size_t)(b - b0) * HW : dst;
            for (int h = 0; h < H; h++) {
                const float *restrict o = out + (size_t)h * P, *restrict ar = a + (size_t)h * W;
                float *restrict dr = da + (size_t)h * W;
                /* o[x] loaded unconditionally: written as `ar[x] > 0 ? o[x] : 0`, GCC kept the load
                 * conditional and made a scalar loop with a data-dependent branch (8% of a step) */
                for (int x = 0; x < W; x++) {
                    const float ov = o[x];
                    dr[x] = ar[x] > 0.0f ? ov : 0.0f;
                }
            }
            if (da_add)
                for (int i = 0; i < HW; i++) dst[i] += da[i];
        }
        if (dw)
            for (int t = 0; t < 9; t++) dw[9 * c + t] += acc[t];
    }
}

/* The dot products of a gather pass over [i, end): dot[k] += sum g_k y with y = (x - h) a + b the
 * node's own output, float lanes flushed to double every 256 elements (a lane never adds more than
 * 32 terms). Written out for one and four consumers so that each g_k is loaded once. */
#define DOTS_CHUNK 256

struct gather_y {
    const float *x;
    float h, a, b;
};

/* one consumer: d = s g (first) or d += s g */
static void gather1(float *restrict d, const float *restrict g, float sk, int first, size_t len,
                    const struct gather_y *y, double *dot)
{
    size_t i = 0;
    if (dot) {
        const float *restrict x = y->x;
        const float h = y->h, ya = y->a, yb = y->b;
        while (i + 8 <= len) {
            const size_t end = i + DOTS_CHUNK < len ? i + DOTS_CHUNK : len;
            v8f p = {0};
            for (; i + 8 <= end; i += 8) {
                const v8f gv = ld8(g + i);
                const v8f a = first ? sk * gv : ld8(d + i) + sk * gv;
                memcpy(d + i, &a, sizeof a);
                p += gv * ((ld8(x + i) - h) * ya + yb);
            }
            *dot += hsum8(p);
        }
        for (; i < len; i++) {
            d[i] = first ? sk * g[i] : d[i] + sk * g[i];
            *dot += (double)g[i] * ((x[i] - h) * ya + yb);
        }
    } else if (first)
        for (; i < len; i++) d[i] = sk * g[i];
    else
        for (; i < len; i++) d[i] += sk * g[i];
}

/* four consumers' streams at once, added in order (the same floats as one at a time) */
static void gather4(float *restrict d, const float *const *src, size_t off, const float *s, size_t len,
                    const struct gather_y *y, double *dot)
{
    const float *restrict g1 = src[0] + off, *restrict g2 = src[1] + off, *restrict g3 = src[2] + off,
                          *restrict g4 = src[3] + off;
    const float s1 = s[0], s2 = s[1], s3 = s[2], s4 = s[3];
    size_t i = 0;
    if (dot) {
        const float *restrict x = y->x;
        const float h = y->h, ya = y->a, yb = y->b;
        while (i + 8 <= len) {
            const size_t end = i + DOTS_CHUNK < len ? i + DOTS_CHUNK : len;
            v8f p1 = {0}, p2 = {0}, p3 = {0}, p4 = {0};
            for (; i + 8 <= end; i += 8) {
                const v8f a1 = ld8(g1 + i), a2 = ld8(g2 + i), a3 = ld8(g3 + i), a4 = ld8(g4 + i),
                          yv = (ld8(x + i) - h) * ya + yb;
                v8f a = ld8(d + i) + s1 * a1;
                a = a + s2 * a2;
                a = a + s3 * a3;
                a = a + s4 * a4;
                memcpy(d + i, &a, sizeof a);
                p1 += a1 * yv;
                p2 += a2 * yv;
                p3 += a3 * yv;
                p4 += a4 * yv;
            }
            dot[0] += hsum8(p1);
            dot[1] += hsum8(p2);
            dot[2] += hsum8(p3);
            dot[3] += hsum8(p4);
        }
        for (size_t j = i; j < len; j++) {
            const double yv = (x[j] - h) * ya + yb;
            dot[0] += g1[j] * yv;
            dot[1] += g2[j] * yv;
            dot[2] += g3[j] * yv;
            dot[3] += g4[j] * yv;
        }
    }
    for (; i < len; i++) { /* all of it without dot products, the tail with them */
        float a = d[i] + s1 * g1[i];
        a = a + s2 * g2[i];
        a = a + s3 * g3[i];
        d[i] = a + s4 * g4[i];
    }
}

void node_grad_gather(float *dy, const float *const *src, size_t off, const float *s, int n, size_t len,
                      const float *x, float h, float a, float b, double *dot)
{
    const struct gather_y y = {x, h, a, b};
    gather1(dy, src[0] + off, s[0], 1, len, &y, dot);
    int k = 1;
    for (; k + 3 < n; k += 4) gather4(dy, src + k, off, s + k, len, &y, dot ? dot + k : NULL);
    for (; k < n; k++) gather1(dy, src[k] + off, s[k], 0, len, &y, dot ? dot + k : NULL);
}

void node_sink_forward(float *H, const struct node_input *in, int n, int B, int C, int HW, int c0, int c1, float *ws)
{
    const float inv = 1.0f / (float)n;
    const size_t len = (size_t)B * HW;
    float *restrict acc = ws;
    for (int c = c0; c < c1; c++) {
        /* each output's channel c is one contiguous run of B planes: stream it */
        const float k0 = terms_const(in, NULL, n, c);
        for (int k = 0; k < n; k++) axpy_y(acc, &in[k], c, (size_t)c * len, len, 1.0f, k == 0, k0);
        for (int b = 0; b < B; b++) {
            const float *restrict a = acc + (size_t)b * HW;
            float *restrict h = H + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                float v = a[i] * inv;
                h[i] = v > 0.0f ? v : 0.0f;
            }
        }
    }
}
