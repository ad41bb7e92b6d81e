/* The stem, fused: conv 3x3 / stride 2 / pad 1 from ONE input channel, batch norm, ReLU.
 *
 * Why not conv2d (im2col + sgemm): with one input channel the product has K = 9, where sgemm spends
 * its time packing, and BN and ReLU then made four more passes over the 2 MiB output. Here each
 * image's 9 x OH*OW patch matrix (7 KiB) is built once and every output plane is a 9-tap vector sum,
 * with the BN statistics taken while the plane is in L1; backward rebuilds the patches and forms
 * each channel's conv gradient plane in L1 (ReLU mask and BN backward applied on the fly) just to
 * take its 9 weight-gradient dot products, so no gradient tensor is written at all.
 * Numerics: the statistics are the same shifted sums per (image, channel) run as
 * batchnorm_forward_train; the weight gradient is accumulated in double.
 */
#include <math.h>
#include <string.h>

#include "dcn/nn.h"
#include "lanes.h"

typedef float v8f __attribute__((vector_size(32)));
static inline v8f ld8(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline double hsum8(v8f v)
{
    double s = 0;
    for (int l = 0; l < 8; l++) s += v[l];
    return s;
}

/* col (9, OH*OW) <- the 3x3 / stride 2 / pad 1 patches of one (H, W) image */
static void patches(float *restrict col, const float *restrict x, int H, int W, int OH, int OW)
{
    for (int t = 0; t < 9; t++) {
        const int ki = t / 3, kj = t % 3;
        float *row = col + (size_t)t * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            const int ih = 2 * oh - 1 + ki;
            for (int ow = 0; ow < OW; ow++) {
                const int iw = 2 * ow - 1 + kj;
                row[oh * OW + ow] = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[(size_t)ih * W + iw] : 0.0f;
            }
        }
    }
}

size_t stem_workspace(int H, int W)
{
    return 9 * (size_t)conv_out_size(H, 3, 2, 1) * conv_out_size(W, 3, 2, 1) + 16;
}

void stem_forward(float *conv, float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                  const float *x, const float *w, const float *gamma, const float *beta, int B, int C, int H, int W,
                  int train, float eps, float momentum, float *ws, double *s1, double *s2, float *shift,
                  const struct bn_sync *sync)
{
    const int OH = conv_out_size(H, 3, 2, 1), OW = conv_out_size(W, 3, 2, 1), HW = OH * OW;
    float *col = ws;
    for (int c = 0; c < C; c++) s1[c] = s2[c] = 0.0;
    for (int b = 0; b < B; b++) {
        patches(col, x + (size_t)b * H * W, H, W, OH, OW);
        for (int c = 0; c < C; c++) {
            const float *k = w + 9 * c;
            float *restrict y = conv + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                float v = k[0] * col[i];
                for (int t = 1; t < 9; t++) v += k[t] * col[(size_t)t * HW + i];
                y[i] = v;
            }
            if (train) {
                if (b == 0) shift[c] = y[0];
                lanes_shifted_sums(y, (size_t)HW, shift[c], &s1[c], &s2[c]);
            }
        }
    }
    double n = (double)B * HW;
    if (train && sync && sync->sum) {
        /* re-centre every process's sums on one shift they all know (the running mean, identical
         * everywhere under synchronised BN), then add them up */
        for (int c = 0; c < C; c++) {
            const double d = (double)shift[c] - (double)running_mean[c];
            s2[c] += 2.0 * d * s1[c] + n * d * d;
            s1[c] += n * d;
            shift[c] = running_mean[c];
        }
        sync->sum(sync->arg, s1, C);
        n *= sync->sum(sync->arg, s2, C);
    }
    for (int c = 0; c < C; c++) {
        float hi, lo, sc, sh;
        if (train) {
            batchnorm_stats_finish(s1[c], s2[c], shift[c], n, gamma[c], beta[c], eps, momentum, mean + c,
                                   rstd + c, running_mean + c, running_var + c, &hi, &lo, &sc, &sh);
        } else { /* batchnorm_forward_eval's formula */
            hi = running_mean[c];
            lo = 0.0f;
            sc = gamma[c] / sqrtf(running_var[c] + eps);
            sh = beta[c];
        }
        for (int b = 0; b < B; b++) {
            const float *restrict y = conv + ((size_t)b * C + c) * HW;
            float *restrict o = out + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                float v = ((y[i] - hi) - lo) * sc + sh;
                o[i] = v > 0.0f ? v : 0.0f;
            }
        }
    }
}

void stem_backward(float *dw, float *dgamma, float *dbeta, const float *dout, const float *out, const float *conv,
                   const float *mean, const float *rstd, const float *x, const float *gamma, int B, int C, int H,
                   int W, float *ws, double *acc, float *coef, const struct bn_sync *sync)
{
    const int OH = conv_out_size(H, 3, 2, 1), OW = conv_out_size(W, 3, 2, 1), HW = OH * OW;
    const double n = (double)B * HW;
    float *col = ws;
    float *kk = coef, *aa = coef + C, *bb = coef + 2 * C;
    /* BN backward sums with the ReLU mask applied on the fly: g = out > 0 ? dout : 0 */
    for (int c = 0; c < C; c++) {
        const float m = mean[c];
        double sd = 0, sdm = 0, sxm = 0;
        for (int b = 0; b < B; b++) {
            const size_t o = ((size_t)b * C + c) * HW;
            const float *restrict d = dout + o, *restrict r = out + o, *restrict xx = conv + o;
            v8f a1 = {0}, a2 = {0}, a3 = {0};
            int i = 0;
            for (; i + 8 <= HW; i += 8) {
                v8f g = ld8(d + i), rv = ld8(r + i), xc = ld8(xx + i) - m;
                g = (v8f)((__typeof__(rv > 0.0f))(rv > 0.0f) & (__typeof__(rv > 0.0f))g);
                a1 += g;
                a2 += g * xc;
                a3 += xc;
            }
            double t1 = hsum8(a1), t2 = hsum8(a2), t3 = hsum8(a3);
            for (; i < HW; i++) {
                const float g = r[i] > 0.0f ? d[i] : 0.0f, xc = xx[i] - m;
                t1 += g;
                t2 += (double)g * xc;
                t3 += xc;
            }
            sd += t1;
            sdm += t2;
            sxm += t3;
        }
        batchnorm_backward_coeffs(sd, sdm, sxm, n, gamma[c], rstd[c], dgamma ? dgamma + c : NULL,
                                  dbeta ? dbeta + c : NULL, &kk[c], &aa[c], &bb[c]);
        if (sync && sync->sum) {
            acc[3 * c] = sd;
            acc[3 * c + 1] = sdm;
            acc[3 * c + 2] = sxm;
        }
    }
    if (sync && sync->sum) {
        /* dgamma and dbeta above come from this process's own sums (the trainer averages them over
         * the processes); the input gradient needs the global batch's sums */
        const double ntot = n * sync->sum(sync->arg, acc, 3 * C);
        for (int c = 0; c < C; c++)
            batchnorm_backward_coeffs(acc[3 * c], acc[3 * c + 1], acc[3 * c + 2], ntot, gamma[c], rstd[c], NULL, NULL,
                                      &kk[c], &aa[c], &bb[c]);
    }
    if (!dw) return;
    for (int j = 0; j < 9 * C; j++) acc[j] = 0.0;
    for (int b = 0; b < B; b++) {
        patches(col, x + (size_t)b * H * W, H, W, OH, OW);
        for (int c = 0; c < C; c++) {
            const size_t o = ((size_t)b * C + c) * HW;
            const float *restrict d = dout + o, *restrict r = out + o, *restrict xx = conv + o;
            const float k = kk[c], a = aa[c], b0 = bb[c], m = mean[c];
            v8f s[9] = {{0}};
            int i = 0;
            for (; i + 8 <= HW; i += 8) {
                v8f g = ld8(d + i), rv = ld8(r + i);
                g = (v8f)((__typeof__(rv > 0.0f))(rv > 0.0f) & (__typeof__(rv > 0.0f))g);
                const v8f dc = k * g + a * (ld8(xx + i) - m) + b0; /* the conv output's gradient */
                for (int t = 0; t < 9; t++) s[t] += dc * ld8(col + (size_t)t * HW + i);
            }
            for (int t = 0; t < 9; t++) {
                double sum = hsum8(s[t]);
                for (int j = i; j < HW; j++) {
                    const float g = r[j] > 0.0f ? d[j] : 0.0f;
                    sum += (double)(k * g + a * (xx[j] - m) + b0) * col[(size_t)t * HW + j];
                }
                acc[9 * c + t] += sum;
            }
        }
    }
    for (int j = 0; j < 9 * C; j++) dw[j] += (float)acc[j];
}
