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

size_t stem_workspace(int H, int W, int C)
{
    return 9 * (size_t)conv_out_size(H, 3, 2, 1) * conv_out_size(W, 3, 2, 1) + 4 * (size_t)C + 16;
}

/* conv (B, C, HW) for channels [c0, c1) and, in training, their shifted BN sums (shift = the first
 * image's first value) */
void stem_conv_range(float *conv, double *s1, double *s2, float *shift, const float *x, const float *w, int B, int C,
                     int H, int W, int c0, int c1, int train, float *ws)
{
    const int OH = conv_out_size(H, 3, 2, 1), OW = conv_out_size(W, 3, 2, 1), HW = OH * OW;
    float *col = ws;
    for (int c = c0; c < c1; c++) s1[c] = s2[c] = 0.0;
    for (int b = 0; b < B; b++) {
        patches(col, x + (size_t)b * H * W, H, W, OH, OW);
        for (int c = c0; c < c1; c++) {
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
}

void stem_apply_range(float *out, const float *conv, const float *hi, const float *lo, const float *sc,
                      const float *sh, int B, int C, int HW, int c0, int c1)
{
    for (int c = c0; c < c1; c++)
        for (int b = 0; b < B; b++) {
            const float *restrict y = conv + ((size_t)b * C + c) * HW;
            float *restrict o = out + ((size_t)b * C + c) * HW;
            const float h = hi[c], l = lo[c], s = sc[c], t = sh[c];
            for (int i = 0; i < HW; i++) {
                float v = ((y[i] - h) - l) * s + t;
                o[i] = v > 0.0f ? v : 0.0f;
            }
        }
}

void stem_stats(float *mean, float *rstd, float *running_mean, float *running_var, float *hi, float *lo, float *sc,
                float *sh, double *s1, double *s2, float *shift, const float *gamma, const float *beta, int B,
                int C, int HW, int train, float eps, float momentum, const struct bn_sync *sync)
{
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
        if (train) {
            batchnorm_stats_finish(s1[c], s2[c], shift[c], n, gamma[c], beta[c], eps, momentum, mean + c, rstd + c,
                                   running_mean + c, running_var + c, hi + c, lo + c, sc + c, sh + c);
        } else { /* batchnorm_forward_eval's formula */
            hi[c] = running_mean[c];
            lo[c] = 0.0f;
            sc[c] = gamma[c] / sqrtf(running_var[c] + eps);
            sh[c] = beta[c];
        }
    }
}

void stem_forward(float *conv, float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                  const float *x, const float *w, const float *gamma, const float *beta, int B, int C, int H, int W,
                  int train, float eps, float momentum, float *ws, double *s1, double *s2, float *shift,
                  const struct bn_sync *sync)
{
    const int HW = conv_out_size(H, 3, 2, 1) * conv_out_size(W, 3, 2, 1);
    /* the BN affine goes after the patch matrix in ws (stem_workspace has room for it) */
    float *aff = ws + 9 * (size_t)HW, *hi = aff, *lo = aff + C, *sc = aff + 2 * C, *sh = aff + 3 * C;
    stem_conv_range(conv, s1, s2, shift, x, w, B, C, H, W, 0, C, train, ws);
    stem_stats(mean, rstd, running_mean, running_var, hi, lo, sc, sh, s1, s2, shift, gamma, beta, B, C, HW, train,
               eps, momentum, sync);
    stem_apply_range(out, conv, hi, lo, sc, sh, B, C, HW, 0, C);
}

/* BN backward sums of channels [c0, c1) with the ReLU mask applied on the fly: g = out > 0 ? dout : 0 */
void stem_backward_sums_range(double *sd, double *sdm, double *sxm, const float *dout, const float *out,
                              const float *conv, const float *mean, int B, int C, int HW, int c0, int c1)
{
    for (int c = c0; c < c1; c++) {
        const float m = mean[c];
        double tsd = 0, tsdm = 0, tsxm = 0;
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
            tsd += t1;
            tsdm += t2;
            tsxm += t3;
        }
        sd[c] = tsd;
        sdm[c] = tsdm;
        sxm[c] = tsxm;
    }
}

/* acc (9C doubles) for channels [c0, c1) = the conv weight gradient, given the BN backward
 * coefficients kk, aa, bb (dconv = k g + a (conv - mean) + b) */
void stem_backward_dw_range(double *acc, const float *dout, const float *out, const float *conv, const float *mean,
                            const float *kk, const float *aa, const float *bb, const float *x, int B, int C, int H,
                            int W, int c0, int c1, float *ws)
{
    const int OH = conv_out_size(H, 3, 2, 1), OW = conv_out_size(W, 3, 2, 1), HW = OH * OW;
    float *col = ws;
    for (int j = 9 * c0; j < 9 * c1; j++) acc[j] = 0.0;
    for (int b = 0; b < B; b++) {
        patches(col, x + (size_t)b * H * W, H, W, OH, OW);
        for (int c = c0; c < c1; c++) {
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
}

/* the coefficients of every channel from the sums (sd, sdm, sxm: C doubles each, consecutive in
 * sums); with sync, dgamma and dbeta from this process's sums and the input gradient's coefficients
 * from the global batch's */
void stem_backward_coeffs(float *dgamma, float *dbeta, double *sums, const float *gamma, const float *rstd, int B,
                          int C, int HW, float *coef, const struct bn_sync *sync)
{
    const double n = (double)B * HW;
    float *kk = coef, *aa = coef + C, *bb = coef + 2 * C;
    double *sd = sums, *sdm = sums + C, *sxm = sums + 2 * C;
    for (int c = 0; c < C; c++)
        batchnorm_backward_coeffs(sd[c], sdm[c], sxm[c], n, gamma[c], rstd[c], dgamma ? dgamma + c : NULL,
                                  dbeta ? dbeta + c : NULL, &kk[c], &aa[c], &bb[c]);
    if (sync && sync->sum) {
        /* dgamma and dbeta above come from this process's own sums (the trainer averages them over
         * the processes); the input gradient needs the global batch's sums */
        const double ntot = n * sync->sum(sync->arg, sums, 3 * C);
        for (int c = 0; c < C; c++)
            batchnorm_backward_coeffs(sd[c], sdm[c], sxm[c], ntot, gamma[c], rstd[c], NULL, NULL, &kk[c], &aa[c],
                                      &bb[c]);
    }
}

void stem_backward(float *dw, float *dgamma, float *dbeta, const float *dout, const float *out, const float *conv,
                   const float *mean, const float *rstd, const float *x, const float *gamma, int B, int C, int H,
                   int W, float *ws, double *acc, float *coef, const struct bn_sync *sync)
{
    const int HW = conv_out_size(H, 3, 2, 1) * conv_out_size(W, 3, 2, 1);
    stem_backward_sums_range(acc, acc + C, acc + 2 * C, dout, out, conv, mean, B, C, HW, 0, C);
    stem_backward_coeffs(dgamma, dbeta, acc, gamma, rstd, B, C, HW, coef, sync);
    if (!dw) return;
    stem_backward_dw_range(acc, dout, out, conv, mean, coef, coef + C, coef + 2 * C, x, B, C, H, W, 0, C, ws);
    for (int j = 0; j < 9 * C; j++) dw[j] += (float)acc[j];
}
