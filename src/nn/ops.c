/* Small layers: ReLU, global average pooling, softmax cross-entropy, and the Adam update. */
#include "dcn/nn.h"

#include <math.h>
#ifdef __AVX__
#include <immintrin.h>
#endif

#include "lanes.h"

void relu_forward(float *out, const float *in, size_t n)
{
    const float *restrict x = in;
    float *restrict y = out;
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(float *din, const float *dout, const float *x, size_t n)
{
    if (!din) return;
    float *restrict dx = din;
    const float *restrict dy = dout, *restrict xx = x;
    /* PyTorch's threshold_backward passes the gradient where the value is > 0, zero at 0 */
    for (size_t i = 0; i < n; i++) dx[i] += xx[i] > 0.0f ? dy[i] : 0.0f;
}

void gap_forward(float *out, const float *in, int B, int C, int HW)
{
    for (size_t p = 0; p < (size_t)B * C; p++) out[p] = (float)(lanes_sum(in + p * HW, (size_t)HW) / HW);
}

void gap_backward(float *din, const float *dout, int B, int C, int HW)
{
    if (!din) return;
    for (size_t p = 0; p < (size_t)B * C; p++) {
        const float g = dout[p] / (float)HW;
        float *restrict dx = din + p * HW;
        for (int i = 0; i < HW; i++) dx[i] += g;
    }
}

float softmax_xent_forward(float *probs, const float *logits, const int *labels, int B, int K,
                           int *correct)
{
    double loss = 0;
    int ok = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        float *p = probs + (size_t)b * K;
        /* subtracting the max keeps exp() finite; the first maximum is the prediction, as in
         * torch.argmax */
        int arg = 0;
        for (int j = 1; j < K; j++)
            if (z[j] > z[arg]) arg = j;
        float zmax = z[arg];
        double sum = 0;
        for (int j = 0; j < K; j++) {
            p[j] = expf(z[j] - zmax);
            sum += p[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < K; j++) p[j] *= inv;
        /* -log p[label] from the logits, not from the rounded probability, which can be 0 */
        loss += log(sum) - ((double)z[labels[b]] - zmax);
        ok += arg == labels[b];
    }
    if (correct) *correct = ok;
    return (float)(loss / B);
}

void softmax_xent_backward(float *dlogits, const float *probs, const int *labels, int B, int K)
{
    if (!dlogits) return;
    const float inv = 1.0f / (float)B;
    for (int b = 0; b < B; b++) {
        float *d = dlogits + (size_t)b * K;
        const float *p = probs + (size_t)b * K;
        for (int j = 0; j < K; j++) d[j] += (p[j] - (j == labels[b] ? 1.0f : 0.0f)) * inv;
    }
}

/* torch.optim.Adam (1.13, single-tensor path) computes the bias corrections in double on the
 * Python side and then, in float:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * Keeping eps outside the bias correction of v, as it does, matters while v is tiny. */
/* sqrtf may set errno (for negative arguments, which v never is), and that alone keeps GCC from
 * vectorising the loop; with AVX the body is written with intrinsics instead (sqrt and division are
 * correctly rounded either way, so only the fused multiply-adds may differ from the scalar tail). */
void adam_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1,
                 float beta2, float eps, int t)
{
    const double bc1 = 1.0 - pow((double)beta1, t), bc2 = 1.0 - pow((double)beta2, t);
    const float step = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float a1 = 1.0f - beta1, a2 = 1.0f - beta2;
    float *restrict pp = p, *restrict mm = m, *restrict vv = v;
    const float *restrict gg = g;
    size_t i = 0;
#ifdef __AVX__
    const __m256 vb1 = _mm256_set1_ps(beta1), vb2 = _mm256_set1_ps(beta2), va1 = _mm256_set1_ps(a1),
                 va2 = _mm256_set1_ps(a2), vstep = _mm256_set1_ps(step), vbc = _mm256_set1_ps(bc2_sqrt),
                 veps = _mm256_set1_ps(eps);
    for (; i + 8 <= n; i += 8) {
        const __m256 gi = _mm256_loadu_ps(gg + i);
        const __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(mm + i)), _mm256_mul_ps(va1, gi));
        const __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(vv + i)), _mm256_mul_ps(_mm256_mul_ps(va2, gi), gi));
        _mm256_storeu_ps(mm + i, mi);
        _mm256_storeu_ps(vv + i, vi);
        const __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), vbc), veps);
        _mm256_storeu_ps(pp + i, _mm256_sub_ps(_mm256_loadu_ps(pp + i), _mm256_mul_ps(vstep, _mm256_div_ps(mi, den))));
    }
#endif
    for (; i < n; i++) {
        float mi = beta1 * mm[i] + a1 * gg[i];
        float vi = beta2 * vv[i] + a2 * gg[i] * gg[i];
        mm[i] = mi;
        vv[i] = vi;
        pp[i] -= step * (mi / (sqrtf(vi) / bc2_sqrt + eps));
    }
}

double vec_dot(const float *a, const float *b, size_t n)
{
    return lanes_dot(a, b, n);
}
