/* Private helpers of src/nn: reductions written so that GCC vectorises them without -ffast-math.
 *
 * A float sum `s += x[i]` is a loop-carried dependence that GCC may not reorder (it would change
 * the rounding), so it stays scalar. Keeping 8 independent partial sums, one per lane, makes the
 * inner loop a plain elementwise update that GCC turns into one AVX register. Each *_chunk
 * function works on at most LANES_CHUNK elements in float; the callers add the chunks in double,
 * so a float lane never adds more than LANES_CHUNK / 8 terms and the precision does not degrade
 * with the length of the reduction. (Keep the chunk functions this simple: with the double
 * accumulation in the same loop nest GCC 12 falls back to scalar code, 5x slower.)
 */
#ifndef DCN_NN_LANES_H
#define DCN_NN_LANES_H

#include <stddef.h>
#include <string.h>

#define LANES 8
#define LANES_CHUNK 1024

/* GCC vector extension: 8 floats, loads and stores at any float alignment (memcpy becomes vmovups).
 * Reductions written with it keep 8 independent lanes where the auto-vectoriser, given an
 * accumulator array, vectorised across the wrong dimension (gathers). v8i: the lanes' masks. */
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
static inline v8f ld8(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}
/* the lanes in order, in double */
static inline double hsum8(v8f v)
{
    double s = 0;
    for (int l = 0; l < 8; l++) s += v[l];
    return s;
}

static inline size_t lanes_chunk_len(size_t n, size_t c0)
{
    return n - c0 < LANES_CHUNK ? n - c0 : LANES_CHUNK;
}

static inline float lanes_reduce(const float acc[LANES])
{
    float s = 0.0f;
    for (int l = 0; l < LANES; l++) s += acc[l];
    return s;
}

static inline void sums_chunk(const float *restrict x, size_t n, float shift, float *s1, float *s2)
{
    float a1[LANES] = {0}, a2[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            float d = x[i + l] - shift;
            a1[l] += d;
            a2[l] += d * d;
        }
    float t1 = 0.0f, t2 = 0.0f;
    for (; i < n; i++) {
        float d = x[i] - shift;
        t1 += d;
        t2 += d * d;
    }
    *s1 = t1 + lanes_reduce(a1);
    *s2 = t2 + lanes_reduce(a2);
}

/* *s1 += sum (x - shift), *s2 += sum (x - shift)^2. The shift (any value near the mean) keeps the
 * one-pass variance E[(x-k)^2] - E[x-k]^2 from cancelling catastrophically when |mean| >> std. */
static inline void lanes_shifted_sums(const float *restrict x, size_t n, float shift, double *s1,
                                      double *s2)
{
    for (size_t c0 = 0; c0 < n; c0 += LANES_CHUNK) {
        float t1, t2;
        sums_chunk(x + c0, lanes_chunk_len(n, c0), shift, &t1, &t2);
        *s1 += t1;
        *s2 += t2;
    }
}

static inline void bn_chunk(const float *restrict d, const float *restrict x, size_t n, float m,
                            float *sd, float *sdx, float *sx)
{
    float a1[LANES] = {0}, a2[LANES] = {0}, a3[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            float xc = x[i + l] - m;
            a1[l] += d[i + l];
            a2[l] += d[i + l] * xc;
            a3[l] += xc;
        }
    float t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;
    for (; i < n; i++) {
        float xc = x[i] - m;
        t1 += d[i];
        t2 += d[i] * xc;
        t3 += xc;
    }
    *sd = t1 + lanes_reduce(a1);
    *sdx = t2 + lanes_reduce(a2);
    *sx = t3 + lanes_reduce(a3);
}

/* *sd += sum d, *sdx += sum d (x - m), *sx += sum (x - m): the batch-norm backward reductions
 * (sx lets the caller correct for the rounding of the saved float mean m). */
static inline void lanes_bn_backward_sums(const float *restrict d, const float *restrict x, size_t n,
                                          float m, double *sd, double *sdx, double *sx)
{
    for (size_t c0 = 0; c0 < n; c0 += LANES_CHUNK) {
        float t1, t2, t3;
        bn_chunk(d + c0, x + c0, lanes_chunk_len(n, c0), m, &t1, &t2, &t3);
        *sd += t1;
        *sdx += t2;
        *sx += t3;
    }
}

static inline float dot_chunk(const float *restrict a, const float *restrict b, size_t n)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += a[i + l] * b[i + l];
    float s = 0.0f;
    for (; i < n; i++) s += a[i] * b[i];
    return s + lanes_reduce(acc);
}

/* sum a[i] * b[i] */
static inline double lanes_dot(const float *restrict a, const float *restrict b, size_t n)
{
    double t = 0;
    for (size_t c0 = 0; c0 < n; c0 += LANES_CHUNK) t += dot_chunk(a + c0, b + c0, lanes_chunk_len(n, c0));
    return t;
}

static inline float sum_chunk(const float *restrict x, size_t n)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += x[i + l];
    float s = 0.0f;
    for (; i < n; i++) s += x[i];
    return s + lanes_reduce(acc);
}

/* sum x[i] */
static inline double lanes_sum(const float *restrict x, size_t n)
{
    double t = 0;
    for (size_t c0 = 0; c0 < n; c0 += LANES_CHUNK) t += sum_chunk(x + c0, lanes_chunk_len(n, c0));
    return t;
}

#endif
