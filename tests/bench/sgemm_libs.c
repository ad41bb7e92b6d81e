/* sgemm at the shapes of a DCN node's pointwise layer, one thread, for comparing BLAS libraries
 * (tests/bench/sgemm_libs.sh builds it against OpenBLAS and against BLIS). The three calls of a
 * node per step (src/model/paper.c): forward Y (C, N) = W (C, C) . X (C, N); backward
 * dW (C, C) += dP (C, N) . D^T (N, C) and dD (C, N) = W^T (C, C) . dP (C, N); N = batch * 14 * 14.
 * Prints one JSON line per shape: the best GFLOP/s of 20 calls after 2 untimed ones. */
#define _GNU_SOURCE /* clock_gettime; BLIS's cblas.h needs pthread barriers */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double best_rate(int which, int C, int N, float *a, float *b, float *c)
{
    double best = 0;
    for (int r = 0; r < 22; r++) {
        double t = now();
        if (which == 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, N, C, 1.0f, a, C, b, N, 0.0f, c, N);
        else if (which == 1)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C, C, N, 1.0f, b, N, c, N, 1.0f, a, C);
        else
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, N, C, 1.0f, a, C, b, N, 0.0f, c, N);
        double dt = now() - t, g = 2.0 * C * (double)C * N / dt / 1e9;
        if (r >= 2 && g > best)
            best = g;
    }
    return best;
}

int main(int argc, char **argv)
{
    const char *lib = argc > 1 ? argv[1] : "?";
    const int Cs[] = {16, 78}, N = 32 * 196;
    static const char *const names[] = {"forward W.X", "backward dP.D^T", "backward W^T.dP"};
    for (int i = 0; i < 2; i++) {
        const int C = Cs[i];
        float *a = malloc(sizeof(float) * C * C), *b = malloc(sizeof(float) * C * N), *c = malloc(sizeof(float) * C * N);
        if (!a || !b || !c)
            return 1;
        for (int k = 0; k < C * C; k++) a[k] = (float)(k % 7) * 0.01f;
        for (int k = 0; k < C * N; k++) b[k] = (float)(k % 11) * 0.01f, c[k] = (float)(k % 5) * 0.01f;
        for (int w = 0; w < 3; w++)
            printf("{\"lib\": \"%s\", \"shape\": \"%s\", \"C\": %d, \"N\": %d, \"gflops\": %.2f}\n", lib, names[w], C, N,
                   best_rate(w, C, N, a, b, c));
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
