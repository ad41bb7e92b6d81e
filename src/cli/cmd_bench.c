/* dcn bench: training throughput of one model on real batches, split by phase and by layer kind,
 * against the machine's own single-core sgemm rate, with peak memory and arena sizes. The numbers
 * tests/bench/compare_peer.sh sets beside the PyTorch peer's.
 *
 * The model is built exactly as dcn train builds it (graph_load, dag_build, dataset_load,
 * model_create, model_init); W warm-up steps are run untimed, then N timed steps of forward,
 * backward and Adam. The per-kind profile comes from the model's own hook (struct model_prof),
 * whose cost is two clock reads per layer.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dcn/data.h"
#include "dcn/graph.h"
#include "dcn/model.h"
#include "dcn/train.h"
#include "opts.h"

/* Single-thread sgemm rate in GFLOP/s of (M x K) . (K x N), best of a few repetitions so that a
 * moment of contention does not define the machine's peak. */
static double sgemm_rate(int M, int N, int K, int reps)
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

static double mib(size_t floats) { return (double)floats * sizeof(float) / (1024.0 * 1024.0); }

/* This core's streaming bandwidth in GB/s: the STREAM triad a = b + s c over three arrays of
 * 128 MiB, far larger than any last-level cache, best of 5 after an untimed pass that also faults
 * the pages in. Counts the 3 arrays moved (STREAM's convention, without the write-allocate read).
 * With a barrier, every repetition starts and ends together with the other threads' (so their
 * rates may be added): its time runs until the slowest thread is done. */
static double stream_triad_gbs(pthread_barrier_t *bar)
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
    a->sgemm = sgemm_rate(a->M, a->N, a->K, 20);
    pthread_barrier_wait(a->bar);
    a->triad = stream_triad_gbs(a->bar);
    return NULL;
}

static void machine_limits(int threads, int M, int N, int K, double *sgemm, double *triad)
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

/* The least a training step of the paper model must do, counted from the DAG (README "dcn bench").
 * S = one node activation (batch x channels x H x W floats); d_i = in-degree of node i (an input node
 * reads the stem's output: 1).
 *   pointwise sgemm: 2 B HW C^2 flops per node forward, twice that backward (weights and inputs);
 *   front (aggregation, ReLU, depthwise) forward: read d_i inputs, write 1: (d_i + 1) S;
 *   front backward: read the depthwise output's gradient and the d_i inputs, write the aggregate's
 *     gradient, and each edge's gradient read once by the predecessor: (2 d_i + 2) S;
 *   a node that keeps its aggregation (model.keeps_agg): forward one more write, (d_i + 2) S; backward
 *     reads it instead of the d_i inputs, (d_i + 3) S;
 *   batch norm: forward 2 S (statistics taken while the sgemm output is read), backward 3 S.
 * The sink, head and stem are left out (under 2 % of a step on the graph models). */
struct roofline {
    double sgemm_gflop, front_gb, bn_gb;
};

static void roofline_count(const struct model *m, const struct dcn_dag *dag, int batch, int channels,
                           struct roofline *r)
{
    const double S = (double)batch * channels * m->H * m->W * sizeof(float);
    double front = 0;
    for (int i = 0; i < dag->n; i++) {
        double d = (double)(dag->pred_off[i + 1] - dag->pred_off[i]);
        if (d < 1)
            d = 1;
        if (m->keeps_agg && m->keeps_agg[i])
            front += (d + 2) + (d + 3);
        else
            front += (d + 1) + (2 * d + 2);
    }
    r->sgemm_gflop = 6.0 * batch * m->H * m->W * (double)channels * channels * dag->n / 1e9;
    r->front_gb = front * S / 1e9;
    r->bn_gb = 5.0 * dag->n * S / 1e9;
}

/* Seconds of forward, backward and optimizer over the timed steps (after the warm-up ones), and the
 * loss of the first and last step. Batches walk through the training images in order. */
struct bench_times {
    double fwd, bwd, opt, loss_first, loss_last;
};

static void bench_steps(struct model *m, const struct dcn_dataset *ds, float *x, int *y, int *idx, int batch,
                        int warmup, int steps, int profile, struct bench_times *bt)
{
    double t_fwd = 0, t_bwd = 0, t_opt = 0, loss_first = 0, loss_last = 0;
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup) {
            memset(&m->prof, 0, sizeof m->prof);
            m->prof.enabled = profile;
        }
        for (int k = 0; k < batch; k++)
            idx[k] = (int)(((long)s * batch + k) % ds->n_train);
        dataset_batch(ds, 0, idx, batch, x, y);
        double t0 = dcn_now();
        float loss = model_forward(m, x, y, batch, 1, NULL);
        double t1 = dcn_now();
        model_backward(m, x, y, batch);
        double t2 = dcn_now();
        model_adam_step(m, 1e-3f, 0.9f, 0.999f, 1e-8f);
        double t3 = dcn_now();
        if (s == 0)
            loss_first = loss;
        loss_last = loss;
        if (s >= warmup) {
            t_fwd += t1 - t0;
            t_bwd += t2 - t1;
            t_opt += t3 - t2;
        }
    }
    m->prof.enabled = 0;
    *bt = (struct bench_times){t_fwd, t_bwd, t_opt, loss_first, loss_last};
}

/* Prints the figures of a bench run (JSON or text): throughput, split by phase and layer kind, the
 * achieved GFLOP/s against this core's sgemm rate, memory. */
static void bench_print(struct model *m, const struct dcn_dag *dag, const struct train_config *cfg,
                        const struct bench_times *bt, int steps, int warmup, int profile, int measure_peak, int json,
                        double t_create)
{
    const int batch = cfg->batch, channels = cfg->channels, threads = cfg->threads, no_profile = !profile,
              no_peak = !measure_peak;
    const char *graph = cfg->graph;
    const unsigned long long order_seed = (unsigned long long)cfg->order_seed;
    const double t_fwd = bt->fwd, t_bwd = bt->bwd, t_opt = bt->opt, loss_first = bt->loss_first,
                 loss_last = bt->loss_last;
    const double total = t_fwd + t_bwd + t_opt, ips = (double)steps * batch / total;
    const double flops = model_flops_per_image(m), gflops = flops * ips / 1e9;
    /* before the measurements below allocate their buffers (the triad's alone is 384 MiB a thread) */
    const double rss = dcn_peak_rss_mib();
    double peak_model = 0, peak_big = 0;
    if (!no_peak) {
        /* the model's own pointwise shape, batched, and a large square one (OpenBLAS near its best) */
        peak_model = sgemm_rate(channels, batch * m->H * m->W, channels, 20);
        peak_big = sgemm_rate(1024, 1024, 1024, 3);
    }
    const double peak = peak_big > peak_model ? peak_big : peak_model;
    /* the roofline of the step: sgemm at the node's own shape, the rest at streaming bandwidth */
    struct roofline rl = {0, 0, 0};
    double triad = 0, roof_sgemm = 0, roof_ms = 0, front_s = 0;
    const int has_roof = !no_peak && dag && cfg->variant == MODEL_PAPER;
    if (has_roof) {
        /* one thread: the single-core rate measured above, so both print the same figure */
        if (threads > 1)
            machine_limits(threads, channels, batch * m->H * m->W, channels, &roof_sgemm, &triad);
        else
            roof_sgemm = peak_model, triad = stream_triad_gbs(NULL);
        roofline_count(m, dag, batch, channels, &rl);
        roof_ms = 1e3 * (rl.sgemm_gflop / roof_sgemm + (rl.front_gb + rl.bn_gb) / triad);
        for (int k = PROF_AGG; k <= PROF_FRONT; k++)
            front_s += (m->prof.fwd[k] + m->prof.bwd[k]) / steps;
    }
    const double arena_params = mib(4 * m->param_floats), arena_act = mib(m->act_floats),
                 arena_buf = mib(m->buffer_floats);
    const double ms = 1e3 / steps;
    const char *gname = model_variant_has_dag(cfg->variant) ? graph : "none";
    if (json) {
        printf("{\"tool\": \"dcn\", \"graph\": \"%s\", \"variant\": \"%s\", \"order\": \"%s\", \"order_seed\": %llu, "
               "\"threads\": %d, \"batch\": %d, \"channels\": %d, \"steps\": %d, \"warmup\": %d, "
               "\"dag_nodes\": %d, \"dag_edges\": %lld, \"params\": %zu, \"params_trainable\": %zu, "
               "\"train_images_per_s\": %.2f, \"ms_per_step\": %.3f, \"ms_forward\": %.3f, \"ms_backward\": %.3f, "
               "\"ms_optimizer\": %.3f, \"gflop_per_image\": %.5f, \"gflops\": %.2f, \"sgemm_peak_gflops\": %.2f, "
               "\"sgemm_model_shape_gflops\": %.2f, \"sgemm_1024_gflops\": %.2f, \"fraction_of_peak\": %.3f, "
               "\"peak_rss_mib\": %.1f, \"arena_params_mib\": %.1f, \"arena_activations_mib\": %.1f, "
               "\"arena_buffers_mib\": %.2f, \"loss_first\": %.5f, \"loss_last\": %.5f",
               gname, model_variant_name(cfg->variant), dag_order_name(cfg->order), order_seed, threads,
               batch, channels, steps, warmup, dag ? dag->n : 0, dag ? (long long)dag->m : 0LL, model_param_count(m),
               model_trainable_count(m), ips, total * ms, t_fwd * ms, t_bwd * ms, t_opt * ms, flops / 1e9, gflops, peak,
               peak_model, peak_big, peak > 0 ? gflops / peak : 0.0, rss, arena_params, arena_act, arena_buf,
               loss_first, loss_last);
        if (has_roof)
            printf(", \"stream_triad_gbs\": %.2f, \"roofline_sgemm_gflops\": %.2f, \"roofline_sgemm_gflop\": %.9g, "
                   "\"roofline_front_gb\": %.9g, \"roofline_bn_gb\": %.9g, \"roofline_ms\": %.6g, "
                   "\"fraction_of_roofline\": %.4f, \"front_gbs\": %.2f",
                   triad, roof_sgemm, rl.sgemm_gflop, rl.front_gb, rl.bn_gb, roof_ms, roof_ms / (total * ms),
                   front_s > 0 && !no_profile ? rl.front_gb / front_s : 0.0);
        if (!no_profile) {
            printf(", \"profile_ms\": {");
            for (int k = 0; k < PROF_KINDS; k++)
                printf("%s\"%s\": [%.3f, %.3f]", k ? ", " : "", model_prof_kind_name(k), m->prof.fwd[k] * ms,
                       m->prof.bwd[k] * ms);
            printf("}");
        }
        printf("}\n");
    } else {
        printf("dcn bench: graph %s, variant %s, order %s (seed %llu): %d nodes, %lld edges, %d inputs, %d outputs\n",
               gname, model_variant_name(cfg->variant), dag_order_name(cfg->order), (unsigned long long)order_seed,
               dag ? dag->n : 0, dag ? (long long)dag->m : 0LL, dag ? dag->n_inputs : 0, dag ? dag->n_outputs : 0);
        printf("batch %d, channels %d, threads %d, %d warm-up + %d timed steps, loss %.4f -> %.4f\n", batch, channels,
               threads, warmup, steps, loss_first, loss_last);
        printf("throughput    %.2f images/s, %.2f ms/step: forward %.2f, backward %.2f, optimizer %.2f\n", ips,
               total * ms, t_fwd * ms, t_bwd * ms, t_opt * ms);
        if (!no_profile) {
            printf("per layer kind (ms/step)   forward  backward     total   share\n");
            for (int k = 0; k < PROF_KINDS; k++) {
                double f = m->prof.fwd[k] * ms, b = m->prof.bwd[k] * ms;
                if (f + b < 5e-4)
                    continue;
                printf("  %-22s %9.2f %9.2f %9.2f %6.1f%%\n", model_prof_kind_name(k), f, b, f + b,
                       100.0 * (f + b) / (total * ms));
            }
        }
        printf("compute       %.4f GFLOP/image (forward + backward), %.2f GFLOP/s achieved\n", flops / 1e9, gflops);
        if (!no_peak)
            printf("sgemm 1 core  %.2f GFLOP/s at %dx%dx%d, %.2f at 1024^3: %.1f%% of the better one achieved\n",
                   peak_model, channels, batch * m->H * m->W, channels, peak_big, 100.0 * gflops / peak);
        if (has_roof) {
            printf("roofline      %.2f GFLOP of sgemm at %.1f GFLOP/s + %.2f GB front + %.2f GB batch norm at %.1f GB/s "
                   "(STREAM triad%s) = %.1f ms/step: %.1f%% of the roofline achieved\n",
                   rl.sgemm_gflop, roof_sgemm, rl.front_gb, rl.bn_gb, triad, threads > 1 ? ", all threads at once" : "",
                   roof_ms, 100.0 * roof_ms / (total * ms));
            if (front_s > 0 && !no_profile)
                printf("front         %.2f GB/s achieved (aggregation + ReLU + depthwise, forward and backward)\n",
                       rl.front_gb / front_s);
        }
        printf("memory        peak RSS %.1f MiB; arenas: parameters+gradients+Adam %.1f MiB, activations %.1f MiB, "
               "BN buffers %.2f MiB\n",
               rss, arena_params, arena_act, arena_buf);
        printf("parameters    %zu (trainable %zu); model built in %.2f s\n", model_param_count(m),
               model_trainable_count(m), t_create);
    }
}

int cmd_bench(int argc, char **argv)
{
    const char *graph = "ws:n=32,k=4,p=0.75,seed=0", *dataset = "mnist", *data_dir = NULL;
    const char *variant = "paper", *order = "random", *export_dag = NULL;
    int batch = 32, channels = 78, steps = 20, warmup = 3, threads = 1, json = 0, train_limit = 0,
        no_profile = 0, no_peak = 0, frozen = 0;
    uint64_t order_seed = 0, seed = 0;
    const struct opt tab[] = {
        {"graph", OPT_STR, &graph, "SPEC", "graph: file, celegans, mouse, ws:n=32,k=4,p=0.75,seed=0, ... (default WS)"},
        {"variant", OPT_STR, &variant, "V", "paper (default), authors (only aggregation weights train, as in the authors' code) or baseline"},
        {"batch", OPT_INT, &batch, "B", "batch size (default 32)"},
        {"channels", OPT_INT, &channels, "C", "channels (default 78)"},
        {"steps", OPT_INT, &steps, "N", "timed training steps (default 20)"},
        {"warmup", OPT_INT, &warmup, "W", "untimed warm-up steps (default 3)"},
        {"threads", OPT_INT, &threads, "T", "threads of the model (and OpenBLAS's count, default 1)"},
        {"order", OPT_STR, &order, "ORDER", "vertex ordering: random (default), identity, degree, bfs, coord"},
        {"order-seed", OPT_U64, &order_seed, "S", "seed of the random vertex ordering (default 0)"},
        {"seed", OPT_U64, &seed, "S", "seed of the weights (default 0)"},
        {"frozen", OPT_FLAG, &frozen, NULL, "freeze the DAG module (the paper's frozen model)"},
        {"dataset", OPT_STR, &dataset, "NAME|DIR", "mnist (default), fashion, kmnist or a folder of IDX files"},
        {"data-dir", OPT_STR, &data_dir, "DIR", "data folder (default $DCN_DATA_DIR or data/cache)"},
        {"train-limit", OPT_INT, &train_limit, "N", "training images loaded (default: enough for all steps)"},
        {"export-dag", OPT_STR, &export_dag, "FILE.txt", "also write the DAG as RandWire text (for the peer)"},
        {"no-profile", OPT_FLAG, &no_profile, NULL, "do not collect the per-layer-kind profile"},
        {"no-peak", OPT_FLAG, &no_peak, NULL, "skip measuring the machine's sgemm rate"},
        {"json", OPT_FLAG, &json, NULL, "print the result as one JSON line"},
        {NULL, 0, NULL, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = opts_parse("bench", "[options]", tab, argc, argv, 1, pos, 0, &npos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (batch < 1 || channels < 1 || steps < 1 || warmup < 0 || threads < 1 || train_limit < 0) {
        fprintf(stderr, "dcn bench: --batch, --channels, --steps and --threads must be positive\n");
        return DCN_EXIT_USAGE;
    }
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    /* the trial dcn train would build from these options (the same variant defaults) */
    struct trial_config fc;
    trial_config_init(&fc);
    fc.graph = graph;
    fc.dataset = dataset;
    fc.variant = variant;
    fc.order = order;
    fc.frozen = frozen;
    fc.order_seed = order_seed;
    fc.seed = seed;
    fc.batch = batch;
    fc.channels = channels;
    struct train_config tc;
    train_config_default(&tc);
    if (train_config_from_fields(&ctx, &fc, &tc)) {
        fprintf(stderr, "dcn bench: %s\n", ctx.err);
        return DCN_EXIT_USAGE;
    }
    /* enough images that no batch repeats, as in training; at least one batch */
    long want = (long)batch * (steps + warmup);
    tc.train_limit = train_limit ? train_limit : want > 60000 ? 60000 : (int)want;
    tc.test_limit = 1;
    tc.data_dir = data_dir;
    tc.threads = threads;
    openblas_set_num_threads(1);

    struct trial_parts parts;
    struct dcn_dataset *ds = NULL;
    struct dcn_dag *dag = NULL;
    struct model *m = NULL;
    float *x = NULL;
    int *y = NULL, *idx = NULL;
    enum dcn_status st = trial_setup(&ctx, &tc, batch, MPI_COMM_NULL, &parts);
    if (st)
        goto done;
    ds = parts.ds;
    dag = parts.dag;
    m = parts.m;
    if (dag && export_dag && (st = graph_export_txt(&ctx, dag, export_dag)))
        goto done;
    const size_t img = (size_t)ds->rows * ds->cols;
    x = malloc((size_t)batch * img * sizeof *x);
    y = malloc((size_t)batch * sizeof *y);
    idx = malloc((size_t)batch * sizeof *idx);
    if (!x || !y || !idx) {
        st = dcn_fail(&ctx, DCN_ENOMEM, "out of memory for batches");
        goto done;
    }

    struct bench_times bt;
    bench_steps(m, ds, x, y, idx, batch, warmup, steps, !no_profile, &bt);
    bench_print(m, dag, &tc, &bt, steps, warmup, !no_profile, !no_peak, json, parts.create_seconds);
done:
    free(x);
    free(y);
    free(idx);
    trial_teardown(&parts);
    if (st)
        return cli_report_error("bench", &ctx);
    return 0;
}
