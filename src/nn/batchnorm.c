/* Batch normalisation over (B, HW) per channel, with torch.nn.BatchNorm2d's conventions.
 *
 * Statistics take one pass over the input: the sums of (x - k) and (x - k)^2 with k the channel's
 * first element. Without the shift, E[x^2] - E[x]^2 loses all its digits when |mean| >> std; with
 * any k near the data the cancellation is mild, and the float lanes are flushed to double (see
 * lanes.h). The normalisation and the backward pass are then elementwise loops of the form
 * a*x + b that GCC vectorises.
 *
 * The mean is kept to double precision as a float pair hi + lo: x - hi is exact for x near hi
 * (Sterbenz), so ((x - hi) - lo) centres the data without the ulp(mean) error that a float mean
 * would add, which matters when |mean| >> std (an error of ulp(300) = 3e-5 against std 0.05 is
 * 6e-4 in the output). The contract saves the mean as one float, so the backward pass recovers
 * the lost low part from the data, in the same sweep that forms its other sums.
 */
#include "dcn/nn.h"

#include <math.h>

#include "lanes.h"

void batchnorm_stats_finish(double s1, double s2, float k, double n, float gamma, float beta, float eps,
                            float momentum, float *mean, float *rstd, float *running_mean, float *running_var,
                            float *hi, float *lo, float *scale, float *shift)
{
    double dm = s1 / n;
    double var = s2 / n - dm * dm; /* biased: what the normalisation uses */
    if (var < 0) var = 0;
    double mu = k + dm;
    float rs = (float)(1.0 / sqrt(var + eps));
    *mean = (float)mu;
    *rstd = rs;
    /* the running variance is the unbiased estimate, as in PyTorch (n = 1 would divide by 0
     * there too; we keep the biased value instead of producing inf) */
    if (running_mean) *running_mean = (1.0f - momentum) * *running_mean + momentum * (float)mu;
    if (running_var) {
        double unbiased = n > 1 ? var * n / (n - 1) : var;
        *running_var = (1.0f - momentum) * *running_var + momentum * (float)unbiased;
    }
    *hi = (float)mu;
    *lo = (float)(mu - *hi);
    *scale = gamma * rs;
    *shift = beta;
}

void batchnorm_shifted_sums(double *s1, double *s2, const float *x, size_t ld, size_t n, const float *k, int C)
{
    for (int c = 0; c < C; c++) lanes_shifted_sums(x + c * ld, n, k[c], &s1[c], &s2[c]);
}

void batchnorm_backward_sums(double *sd, double *sdm, double *sxm, const float *dy, const float *x, size_t ld,
                             size_t n, const float *m, int C)
{
    for (int c = 0; c < C; c++) lanes_bn_backward_sums(dy + c * ld, x + c * ld, n, m[c], &sd[c], &sdm[c], &sxm[c]);
}

/* Statistics of channel c of a (B, C, HW) tensor: saves mean and rstd, updates the running
 * statistics, returns the affine y = ((x - hi) - lo) * scale + shift. */
static void channel_stats(const float *in, int B, int C, int HW, int c, float eps, float momentum, float *mean,
                          float *rstd, float *running_mean, float *running_var, const float *gamma,
                          const float *beta, float aff[4])
{
    float k = in[(size_t)c * HW];
    double s1 = 0, s2 = 0;
    for (int b = 0; b < B; b++) lanes_shifted_sums(in + ((size_t)b * C + c) * HW, (size_t)HW, k, &s1, &s2);
    batchnorm_stats_finish(s1, s2, k, (double)B * HW, gamma[c], beta[c], eps, momentum, mean + c, rstd + c,
                           running_mean ? running_mean + c : NULL, running_var ? running_var + c : NULL, &aff[0],
                           &aff[1], &aff[2], &aff[3]);
}

void batchnorm_stats_train(float *mean, float *rstd, float *running_mean, float *running_var, float *hi,
                           float *lo, float *scale, float *shift, const float *in, const float *gamma,
                           const float *beta, int B, int C, int HW, float eps, float momentum)
{
    for (int c = 0; c < C; c++) {
        float aff[4];
        channel_stats(in, B, C, HW, c, eps, momentum, mean, rstd, running_mean, running_var, gamma, beta, aff);
        if (hi) hi[c] = aff[0];
        if (lo) lo[c] = aff[1];
        if (scale) scale[c] = aff[2];
        if (shift) shift[c] = aff[3];
    }
}

void batchnorm_forward_train(float *out, float *mean, float *rstd, float *running_mean,
                             float *running_var, const float *in, const float *gamma,
                             const float *beta, int B, int C, int HW, float eps, float momentum)
{
    for (int c = 0; c < C; c++) {
        float aff[4];
        channel_stats(in, B, C, HW, c, eps, momentum, mean, rstd, running_mean, running_var, gamma, beta, aff);
        const float hi = aff[0], lo = aff[1], scale = aff[2], shift = aff[3];
        for (int b = 0; b < B; b++) {
            const float *restrict x = in + ((size_t)b * C + c) * HW;
            float *restrict y = out + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) y[i] = ((x[i] - hi) - lo) * scale + shift;
        }
    }
}

void batchnorm_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                            const float *running_mean, const float *running_var, int B, int C,
                            int HW, float eps)
{
    for (int c = 0; c < C; c++) {
        const float m = running_mean[c];
        const float scale = gamma[c] / sqrtf(running_var[c] + eps), shift = beta[c];
        for (int b = 0; b < B; b++) {
            const float *restrict x = in + ((size_t)b * C + c) * HW;
            float *restrict y = out + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) y[i] = (x[i] - m) * scale + shift;
        }
    }
}

/* With xhat = (x - mu) rstd and y = gamma xhat + beta, over the n = B*HW values of a channel:
 *   dbeta = sum dy,  dgamma = sum dy xhat,
 *   dx = gamma rstd (dy - sum(dy)/n - xhat sum(dy xhat)/n)
 * (the batch mean and variance depend on every x, hence the two sums). */
void batchnorm_backward_coeffs(double sd, double sdm, double sxm, double n, float gamma, float rstd, float *dgamma,
                               float *dbeta, float *k, float *a, float *b)
{
    const double rs = rstd;
    /* the exact batch mean is m + delta; sum dy (x - mean) = sum dy (x - m) - delta sum dy */
    double delta = sxm / n;
    double sdx = sdm - delta * sd;
    if (dbeta) *dbeta += (float)sd;
    if (dgamma) *dgamma += (float)(sdx * rs);
    /* dx = k dy + a (x - mean) + b0 = k dy + a (x - m) + (b0 - a delta) */
    double kd = (double)gamma * rs;
    double ad = -kd * rs * rs * sdx / n;
    *k = (float)kd;
    *a = (float)ad;
    *b = (float)(-kd * sd / n - ad * delta);
}

static void bn_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                        const float *mean, const float *rstd, const float *gamma, int B, int C, int HW, int set)
{
    double n = (double)B * HW;
    for (int c = 0; c < C; c++) {
        const float m = mean[c], rs = rstd[c];
        double sd = 0, sdm = 0, sxm = 0; /* sum dy, sum dy (x - m), sum (x - m) */
        for (int b = 0; b < B; b++) {
            size_t o = ((size_t)b * C + c) * HW;
            lanes_bn_backward_sums(dout + o, in + o, (size_t)HW, m, &sd, &sdm, &sxm);
        }
        float k, a, b0;
        batchnorm_backward_coeffs(sd, sdm, sxm, n, gamma[c], rs, dgamma ? dgamma + c : NULL,
                                  dbeta ? dbeta + c : NULL, &k, &a, &b0);
        if (!din) continue;
        for (int b = 0; b < B; b++) {
            size_t o = ((size_t)b * C + c) * HW;
            const float *restrict dy = dout + o, *restrict x = in + o;
            float *restrict dx = din + o;
            if (set)
                for (int i = 0; i < HW; i++) dx[i] = k * dy[i] + a * (x[i] - m) + b0;
            else
                for (int i = 0; i < HW; i++) dx[i] += k * dy[i] + a * (x[i] - m) + b0;
        }
    }
}

void batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                        const float *mean, const float *rstd, const float *gamma, int B, int C, int HW)
{
    bn_backward(din, dgamma, dbeta, dout, in, mean, rstd, gamma, B, C, HW, 0);
}

void batchnorm_backward_to(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                           const float *mean, const float *rstd, const float *gamma, int B, int C, int HW)
{
    bn_backward(din, dgamma, dbeta, dout, in, mean, rstd, gamma, B, C, HW, 1);
}
