/* Private helpers of src/nn: reductions written so that GCC vectorises them without -ffast-math.
 *
 * A float sum `s += x[i]` is a loop-carried dependence that GCC may not reorder (it would change
 * the rounding), so it stays scalar. Keeping 8 independent partial sums, one per lane, makes the
 * inner loop a plain elementwise update that the SLP vectoriser turns into one AVX register. The
 * partial sums are flushed into double every LANES_CHUNK elements, so a float lane never adds more
 * than LANES_CHUNK / 8 terms and the precision does not degrade with the length of the reduction.
 */
#ifndef DCN_NN_LANES_H
#define DCN_NN_LANES_H

#include <stddef.h>

#define LANES 8
#define LANES_CHUNK 1024

/* *s1 += sum (x - shift), *s2 += sum (x - shift)^2. The shift (any value near the mean) keeps the
 * one-pass variance E[(x-k)^2] - E[x-k]^2 from cancelling catastrophically when |mean| >> std. */
static inline void lanes_shifted_sums(const float *restrict x, size_t n, float shift, double *s1,
                                      double *s2)
{
    for (size_t c0 = 0; c0 < n; c0 += LANES_CHUNK) {
        size_t c1 = c0 + LANES_CHUNK < n ? c0 + LANES_CHUNK : n;
        float a1[LANES] = {0}, a2[LANES] = {0};
        size_t i = c0;
        for (; i + LANES <= c1; i += LANES)
            for (int l = 0; l < LANES; l++) {
                float d = x[i + l] - shift;
                a1[l] += d;
                a2[l] += d * d;
            }
        double t1 = 0, t2 = 0;
        for (; i < c1; i++) {
            float d = x[i] - shift;
            t1 += d;
            t2 += (double)d * d;
        }
        for (int l = 0; l < LANES; l++) {
            t1 += a1[l];
            t2 += a2[l];
        }
        *s1 += t1;
        *s2 += t2;
    }
}

/* *sd += sum d, *sdx += sum d (x - m), *sx += sum (x - m): the batch-norm backward reductions
 * (sx lets the caller correct for the rounding of the saved float mean m). */
static inline void lanes_bn_backward_sums(const float *restrict d, const float *restrict x, size_t n,
                                          float m, double *sd, double *sdx, double *sx)
{
    for (size_t c0 = 0; c0 < n; c0 += LANES_CHUNK) {
        size_t c1 = c0 + LANES_CHUNK < n ? c0 + LANES_CHUNK : n;
        float a1[LANES] = {0}, a2[LANES] = {0}, a3[LANES] = {0};
        size_t i = c0;
        for (; i + LANES <= c1; i += LANES)
            for (int l = 0; l < LANES; l++) {
                float xc = x[i + l] - m;
                a1[l] += d[i + l];
                a2[l] += d[i + l] * xc;
                a3[l] += xc;
            }
        double t1 = 0, t2 = 0, t3 = 0;
        for (; i < c1; i++) {
            float xc = x[i] - m;
            t1 += d[i];
            t2 += (double)d[i] * xc;
            t3 += xc;
        }
        for (int l = 0; l < LANES; l++) {
            t1 += a1[l];
            t2 += a2[l];
            t3 += a3[l];
        }
        *sd += t1;
        *sdx += t2;
        *sx += t3;
    }
}

/* sum a[i] * b[i], accumulated as above */
static inline double lanes_dot(const float *restrict a, const float *restrict b, size_t n)
{
    double t = 0;
    for (size_t c0 = 0; c0 < n; c0 += LANES_CHUNK) {
        size_t c1 = c0 + LANES_CHUNK < n ? c0 + LANES_CHUNK : n;
        float acc[LANES] = {0};
        size_t i = c0;
        for (; i + LANES <= c1; i += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += a[i + l] * b[i + l];
        for (; i < c1; i++) t += (double)a[i] * b[i];
        for (int l = 0; l < LANES; l++) t += acc[l];
    }
    return t;
}

/* sum x[i] */
static inline double lanes_sum(const float *restrict x, size_t n)
{
    double t = 0;
    for (size_t c0 = 0; c0 < n; c0 += LANES_CHUNK) {
        size_t c1 = c0 + LANES_CHUNK < n ? c0 + LANES_CHUNK : n;
        float acc[LANES] = {0};
        size_t i = c0;
        for (; i + LANES <= c1; i += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += x[i + l];
        for (; i < c1; i++) t += x[i];
        for (int l = 0; l < LANES; l++) t += acc[l];
    }
    return t;
}

#endif
