/* dcn machine: what this machine can do, measured, so that dcn bench can set a model's speed beside
 * the limits of the hardware it ran on: the sgemm rate (compute) and the STREAM triad (memory).
 *
 * Ownership: every function allocates its buffers, measures and frees them before it returns; the
 * triad's buffers are 384 MiB a thread, so a caller that reports its peak memory takes that figure
 * first. The rates are best-of-several, so that a moment of contention does not define the machine.
 */
#ifndef DCN_MACHINE_H
#define DCN_MACHINE_H

/* This thread's sgemm rate in GFLOP/s on (M x K) . (K x N): the best of reps timed products after
 * an untimed one. 0 when out of memory. OpenBLAS's own thread count is the caller's to set. */
double machine_sgemm_gflops(int M, int N, int K, int reps);

/* This thread's streaming bandwidth in GB/s: the STREAM triad a = b + s c over three arrays of
 * 128 MiB, counting the 3 arrays moved (STREAM's convention, without the write-allocate read).
 * 0 when out of memory. */
double machine_triad_gbs(void);

/* The machine's limits for `threads` threads (1-256) working at once, as a model's threads do: each
 * runs the (M x K) . (K x N) sgemm, then the triad, at the same time as the others, with its own
 * buffers; *sgemm (GFLOP/s) and *triad (GB/s) are the threads' rates added. Both 0 when a thread
 * cannot be started. */
void machine_limits(int threads, int M, int N, int K, double *sgemm, double *triad);

#endif
