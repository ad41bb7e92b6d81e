/* The machine's limits (include/dcn/machine.h): its sgemm rate and streaming bandwidth, alone and
 * with T threads at once, for dcn bench's roofline. */
#include "dcn/machine.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>

#include "dcn/core.h"

/* Single-thread sgemm rate in GFLOP/s of (M x K) . (K x N), best of a few repetitions so that a
 * moment of contention does not define the machine's peak. */
double machine_sgemm_gflops(int M, int N, int K, int reps)
{
    float *a = malloc((size_t)M * K * sizeof *a), *b = malloc((size_t)K * N * sizeof *b),
          *c = malloc((size_t)M * N * sizeof *c);
    double best = 0;
    if (a && b && c) {
        for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 17) * 0.01f;
        for (size_t i = 0; i < (size_t)K * N; i++) b[i] = (float)(i % 13) * 0.01f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
        for (int r = 0; r < reps; r++) {
            double t = dcn_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
            double dt = dcn_now() - t;
            double rate = 2.0 * M * N * K / dt / 1e9;
            if (rate > best) best = rate;
        }
    }
    free(a);
    free(b);
    free(c);
    return best;
}

/* This core's streaming bandwidth in GB/s: the STREAM triad a = b + s c over three arrays of
 * 128 MiB, far larger than any last-level cache, best of 5 after an untimed pass that also faults
 * the pages in. Counts the 3 arrays moved (STREAM's convention, without the write-allocate read).
 * With a barrier, every repetition starts and ends together with the other threads' (so their
 * rates may be added): its time runs until the slowest thread is done. */
static double triad_run(pthread_barrier_t *bar)
{
    const size_t n = (size_t)1 << 25;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    const int ok = a && b && c;
    double best = 0;
    if (ok)
        for (size_t i = 0; i < n; i++)
            b[i] = 1.0f, c[i] = 2.0f, a[i] = 0.0f;
    for (int r = 0; r < 6; r++) { /* a thread without buffers still meets the others at the barrier */
        const float s = 0.5f + (float)r;
        if (bar)
            pthread_barrier_wait(bar);
        double t = dcn_now();
        if (ok)
            for (size_t i = 0; i < n; i++)
                a[i] = b[i] + s * c[i];
        if (bar)
            pthread_barrier_wait(bar);
        double dt = dcn_now() - t;
        if (ok && r > 0 && 3.0 * n * sizeof(float) / dt / 1e9 > best)
            best = 3.0 * n * sizeof(float) / dt / 1e9;
    }
    if (ok && a[n / 2] != b[n / 2] + 5.5f * c[n / 2]) /* keeps the loops from being optimised away */
        best = -best;
    free(a);
    free(b);
    free(c);
    return best;
}

double machine_triad_gbs(void) { return triad_run(NULL); }

/* The machine's limits for T threads: T threads run the model-shape sgemm at once, then the triad at
 * once (each its own buffers, OpenBLAS single-threaded in each, as the model's threads run), and the
 * rates are added. With two cores sharing one memory channel the triad does not double: a model's
 * memory-bound part cannot either, and its roofline says so. */
struct limits_arg {
    int M, N, K;
    pthread_barrier_t *bar;
    double sgemm, triad;
};

static void *limits_thread(void *p)
{
    struct limits_arg *a = p;
    pthread_barrier_wait(a->bar);
    a->sgemm = machine_sgemm_gflops(a->M, a->N, a->K, 20);
    pthread_barrier_wait(a->bar);
    a->triad = triad_run(a->bar);
    return NULL;
}

void machine_limits(int threads, int M, int N, int K, double *sgemm, double *triad)
{
    enum { MAXT = 256 };
    const int T = threads < 1 ? 1 : threads > MAXT ? MAXT : threads;
    pthread_t tid[MAXT];
    struct limits_arg arg[MAXT];
    pthread_barrier_t bar;
    *sgemm = *triad = 0;
    if (pthread_barrier_init(&bar, NULL, (unsigned)T))
        return;
    int started = 0;
    for (int t = 0; t < T; t++) {
        arg[t] = (struct limits_arg){M, N, K, &bar, 0, 0};
        if (t == 0 || pthread_create(&tid[t], NULL, limits_thread, &arg[t]) == 0)
            started++;
        else
            break;
    }
    if (started == T) {
        limits_thread(&arg[0]);
        for (int t = 1; t < T; t++) pthread_join(tid[t], NULL);
        for (int t = 0; t < T; t++) {
            *sgemm += arg[t].sgemm;
            *triad += arg[t].triad;
        }
    } else { /* a thread failed to start: the ones waiting at the barrier are released by no one */
        *sgemm = *triad = 0;
    }
    pthread_barrier_destroy(&bar);
}
