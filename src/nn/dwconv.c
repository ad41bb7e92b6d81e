/* Depthwise 3x3 convolution, padding 1, stride 1 or 2, one filter per channel (groups = C).
 *
 * Each (image, channel) plane is small (14x14 in the paper model) and its filter has 9 taps, so
 * sgemm would spend more time packing than multiplying; direct loops are faster. Every output row
 * reads three input rows. A row that falls into the zero padding (top or bottom) is replaced by
 * any valid row with its three weights set to zero, so the row loop has no row test; the columns
 * whose taps all lie inside the image form a branch-free loop that GCC vectorises, and only the
 * one or two border columns per row take the bounds-checked path.
 */
#include "dcn/nn.h"

#include "lanes.h"

/* Output columns [lo, hi) of a row whose three taps ow*S-1+kj (kj = 0..2) all lie in [0, W). */
static void interior_cols(int W, int OW, int S, int *lo, int *hi)
{
    int h = W >= 2 ? (W - 2) / S + 1 : 1;
    if (h > OW) h = OW;
    *lo = 1;
    *hi = h < 1 ? 1 : h;
}

/* Output columns ow whose tap ow*S-1+kj lies in [0, W): [*lo, *hi). */
static void tap_cols(int W, int OW, int S, int kj, int *lo, int *hi)
{
    int l = kj >= 1 ? 0 : 1; /* ow*S >= 1 - kj */
    int b = W - kj;          /* ow*S <= W - kj */
    int h = b < 0 ? 0 : b / S + 1;
    if (h > OW) h = OW;
    if (l > OW) l = OW;
    *lo = l;
    *hi = h < l ? l : h;
}

/* One output row oh of the plane x (H, W):
 *   o[ow] (= or +=) sum_{ki,kj} k[ki*3+kj] * x[oh*S-1+ki][ow*S-1+kj], zero outside the plane.
 * Inlined at each call site with constant `accumulate` and S, so each variant is branch-free. */
static inline void dw_row(float *restrict o, const float *restrict x, const float *restrict k,
                          int H, int W, int OW, int S, int oh, int accumulate)
{
    const float *r[3];
    float kk[9];
    for (int ki = 0; ki < 3; ki++) {
        int ih = oh * S - 1 + ki;
        int valid = ih >= 0 && ih < H;
        r[ki] = x + (size_t)(valid ? ih : 0) * W;
        for (int kj = 0; kj < 3; kj++) kk[ki * 3 + kj] = valid ? k[ki * 3 + kj] : 0.0f;
    }
    const float *restrict r0 = r[0], *restrict r1 = r[1], *restrict r2 = r[2];
    const float k0 = kk[0], k1 = kk[1], k2 = kk[2], k3 = kk[3], k4 = kk[4], k5 = kk[5], k6 = kk[6],
                k7 = kk[7], k8 = kk[8];
    if (S == 1 && W >= 2) {
        /* stride 1: the two border columns in straight-line code, then the interior */
        float left = k1 * r0[0] + k2 * r0[1] + k4 * r1[0] + k5 * r1[1] + k7 * r2[0] + k8 * r2[1];
        int e = W - 1;
        float right = k0 * r0[e - 1] + k1 * r0[e] + k3 * r1[e - 1] + k4 * r1[e] + k6 * r2[e - 1] +
                      k7 * r2[e];
        if (accumulate) {
            for (int ow = 1; ow < e; ow++)
                o[ow] += k0 * r0[ow - 1] + k1 * r0[ow] + k2 * r0[ow + 1] + k3 * r1[ow - 1] +
                         k4 * r1[ow] + k5 * r1[ow + 1] + k6 * r2[ow - 1] + k7 * r2[ow] +
                         k8 * r2[ow + 1];
            o[0] += left;
            o[e] += right;
        } else {
            for (int ow = 1; ow < e; ow++)
                o[ow] = k0 * r0[ow - 1] + k1 * r0[ow] + k2 * r0[ow + 1] + k3 * r1[ow - 1] +
                        k4 * r1[ow] + k5 * r1[ow + 1] + k6 * r2[ow - 1] + k7 * r2[ow] +
                        k8 * r2[ow + 1];
            o[0] = left;
            o[e] = right;
        }
        return;
    }
    int lo, hi;
    interior_cols(W, OW, S, &lo, &hi);
    /* border columns: ow = 0 (lo is 1) and the right edge [hi, OW) */
    for (int ow = 0; ow < OW; ow++) {
        if (ow == lo && hi > lo) ow = hi; /* skip the interior, done below */
        if (ow >= OW) break;
        float s = 0.0f;
        for (int kj = 0; kj < 3; kj++) {
            int iw = ow * S - 1 + kj;
            if (iw < 0 || iw >= W) continue;
            s += kk[kj] * r0[iw] + kk[3 + kj] * r1[iw] + kk[6 + kj] * r2[iw];
        }
        o[ow] = accumulate ? o[ow] + s : s;
    }
    for (int ow = lo; ow < hi; ow++) {
        int i = ow * S;
        float s = k0 * r0[i - 1] + k1 * r0[i] + k2 * r0[i + 1] + k3 * r1[i - 1] + k4 * r1[i] +
                  k5 * r1[i + 1] + k6 * r2[i - 1] + k7 * r2[i] + k8 * r2[i + 1];
        o[ow] = accumulate ? o[ow] + s : s;
    }
}

void dwconv3x3_forward(float *out, const float *in, const float *w, int B, int C, int H, int W,
                       int S)
{
    int OH = conv_out_size(H, 3, S, 1), OW = conv_out_size(W, 3, S, 1);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            const float *x = in + ((size_t)b * C + c) * H * W;
            float *y = out + ((size_t)b * C + c) * OH * OW;
            if (S == 1) /* constant stride: the compiler specialises dw_row for it */
                for (int oh = 0; oh < OH; oh++) dw_row(y + (size_t)oh * OW, x, w + 9 * c, H, W, OW, 1, oh, 0);
            else
                for (int oh = 0; oh < OH; oh++) dw_row(y + (size_t)oh * OW, x, w + 9 * c, H, W, OW, S, oh, 0);
        }
}

/* k[ki*3+kj] += sum over the plane of dy[oh][ow] * x[oh-1+ki][ow-1+kj], stride 1.
 * Both planes are (H, W), so tap (ki, kj) is one dot product between dy and x shifted by
 * (ki-1)*W + (kj-1) in flattened index, over the rows where the shifted row exists. The shift by
 * one column wraps at row ends (ow = 0 meets the previous row's last pixel, ow = W-1 the next
 * row's first); those few wrapped products are subtracted afterwards, which keeps the long dot
 * product contiguous and vectorised. */
static void dw_plane_dw_s1(double acc[9], const float *restrict dy, const float *restrict x, int H,
                           int W)
{
    for (int ki = 0; ki < 3; ki++) {
        int di = ki - 1;
        int oh_lo = di < 0 ? 1 : 0, oh_hi = di > 0 ? H - 1 : H;
        if (oh_hi <= oh_lo) continue;
        for (int kj = 0; kj < 3; kj++) {
            int dj = kj - 1;
            if (dj != 0 && W < 2) continue;
            ptrdiff_t off = (ptrdiff_t)di * W + dj;
            size_t i0 = (size_t)oh_lo * W, i1 = (size_t)oh_hi * W;
            double s;
            if (dj < 0) {
                s = lanes_dot(dy + i0 + 1, x + i0 + 1 + off, i1 - i0 - 1);
                for (int oh = oh_lo + 1; oh < oh_hi; oh++) {
                    size_t i = (size_t)oh * W;
                    s -= (double)dy[i] * x[(ptrdiff_t)i + off];
                }
            } else if (dj > 0) {
                s = lanes_dot(dy + i0, x + i0 + off, i1 - i0 - 1);
                for (int oh = oh_lo; oh < oh_hi - 1; oh++) {
                    size_t i = (size_t)oh * W + W - 1;
                    s -= (double)dy[i] * x[(ptrdiff_t)i + off];
                }
            } else {
                s = lanes_dot(dy + i0, x + i0 + off, i1 - i0);
            }
            acc[ki * 3 + kj] += s;
        }
    }
}

/* The same for any stride, tap by tap and row by row (the stride-2 layers are few and small). */
static void dw_plane_dw_generic(double acc[9], const float *restrict dy, const float *restrict x,
                                int H, int W, int OH, int OW, int S)
{
    for (int kj = 0; kj < 3; kj++) {
        int lo, hi;
        tap_cols(W, OW, S, kj, &lo, &hi);
        for (int oh = 0; oh < OH; oh++)
            for (int ki = 0; ki < 3; ki++) {
                int ih = oh * S - 1 + ki;
                if (ih < 0 || ih >= H) continue;
                const float *d = dy + (size_t)oh * OW;
                const float *xr = x + (size_t)ih * W;
                float s = 0.0f;
                for (int ow = lo; ow < hi; ow++) s += d[ow] * xr[ow * S - 1 + kj];
                acc[ki * 3 + kj] += s;
            }
    }
}

/* dx (H, W) += transposed convolution of dy (OH, OW) for stride S > 1 (scatter form) */
static void dw_plane_din_generic(float *restrict dx, const float *restrict dy, const float *k,
                                 int H, int W, int OH, int OW, int S)
{
    for (int kj = 0; kj < 3; kj++) {
        int lo, hi;
        tap_cols(W, OW, S, kj, &lo, &hi);
        for (int oh = 0; oh < OH; oh++)
            for (int ki = 0; ki < 3; ki++) {
                int ih = oh * S - 1 + ki;
                if (ih < 0 || ih >= H) continue;
                const float *d = dy + (size_t)oh * OW;
                float *xr = dx + (size_t)ih * W;
                float kv = k[ki * 3 + kj];
                for (int ow = lo; ow < hi; ow++) xr[ow * S - 1 + kj] += kv * d[ow];
            }
    }
}

void dwconv3x3_backward(float *din, float *dw, const float *dout, const float *in, const float *w,
                        int B, int C, int H, int W, int S)
{
    int OH = conv_out_size(H, 3, S, 1), OW = conv_out_size(W, 3, S, 1);
    for (int c = 0; c < C; c++) {
        const float *k = w + 9 * c;
        /* at stride 1 the input gradient is the forward correlation of dout with the filter
         * rotated by 180 degrees, so it reuses the vectorised row kernel */
        float kflip[9];
        for (int t = 0; t < 9; t++) kflip[t] = k[8 - t];
        double acc[9] = {0};
        for (int b = 0; b < B; b++) {
            size_t p = (size_t)b * C + c;
            const float *dy = dout + p * OH * OW;
            if (dw) {
                const float *x = in + p * H * W;
                if (S == 1)
                    dw_plane_dw_s1(acc, dy, x, H, W);
                else
                    dw_plane_dw_generic(acc, dy, x, H, W, OH, OW, S);
            }
            if (din) {
                float *dx = din + p * H * W;
                if (S == 1)
                    for (int ih = 0; ih < H; ih++) dw_row(dx + (size_t)ih * W, dy, kflip, H, W, W, 1, ih, 1);
                else
                    dw_plane_din_generic(dx, dy, k, H, W, OH, OW, S);
            }
        }
        if (dw)
            for (int t = 0; t < 9; t++) dw[9 * c + t] += (float)acc[t];
    }
}
