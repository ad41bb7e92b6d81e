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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dcn/data.h"
#include "dcn/graph.h"
#include "dcn/machine.h"
#include "dcn/model.h"
#include "dcn/train.h"
#include "opts.h"

static double mib(size_t floats) { return (double)floats * sizeof(float) / (1024.0 * 1024.0); }

/* What dcn bench was asked besides the trial's fields */
struct bench_args {
    int steps, warmup, profile, measure_peak, json;
    const char *export_dag; /* or NULL */
};

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

/* Everything a bench run reports, computed before anything is printed (bench_print only formats it) */
struct bench_result {
    /* the run */
    const char *graph, *variant, *order;
    unsigned long long order_seed;
    int threads, batch, channels, steps, warmup, dag_nodes, dag_inputs, dag_outputs;
    long long dag_edges;
    size_t params, params_trainable;
    double create_seconds;
    /* throughput: milliseconds per timed step, losses of the first and the last step */
    double ips, ms_step, ms_fwd, ms_bwd, ms_opt, loss_first, loss_last, gflop_image, gflops;
    int profiled;
    double prof_fwd[PROF_KINDS], prof_bwd[PROF_KINDS]; /* ms per step of each layer kind */
    /* the single-core sgemm peaks (measure_peak), at the model's pointwise shape (C x sgemm_n x C) and
     * at 1024^3 */
    int measured, sgemm_n;
    double peak_model, peak_big, peak, fraction_of_peak;
    /* the roofline (paper variant, peaks measured): limits with all the model's threads at once */
    int has_roof, has_front;
    struct model_roofline rl;
    double triad, roof_sgemm, roof_ms, fraction_of_roofline, front_gbs;
    /* memory in MiB */
    double rss, arena_params, arena_act, arena_buf;
};

/* What ran and how fast it ran; the peak RSS before the machine's limits allocate their buffers (the
 * triad's alone is 384 MiB a thread) */
static void bench_result_run(struct bench_result *r, const struct model *m, const struct dcn_dag *dag,
                             const struct train_config *cfg, const struct bench_args *a, const struct bench_times *bt,
                             double t_create)
{
    const double total = bt->fwd + bt->bwd + bt->opt, ms = 1e3 / a->steps;
    *r = (struct bench_result){
        .graph = model_variant_has_dag(cfg->variant) ? cfg->graph : "none",
        .variant = model_variant_name(cfg->variant),
        .order = dag_order_name(cfg->order),
        .order_seed = (unsigned long long)cfg->order_seed,
        .threads = cfg->threads, .batch = cfg->batch, .channels = cfg->channels, .steps = a->steps,
        .warmup = a->warmup, .dag_nodes = dag ? dag->n : 0, .dag_inputs = dag ? dag->n_inputs : 0,
        .dag_outputs = dag ? dag->n_outputs : 0, .dag_edges = dag ? (long long)dag->m : 0LL,
        .params = model_param_count(m), .params_trainable = model_trainable_count(m), .create_seconds = t_create,
        .ips = (double)a->steps * cfg->batch / total, .ms_step = total * ms, .ms_fwd = bt->fwd * ms,
        .ms_bwd = bt->bwd * ms, .ms_opt = bt->opt * ms, .loss_first = bt->loss_first, .loss_last = bt->loss_last,
        .gflop_image = model_flops_per_image(m) / 1e9, .profiled = a->profile,
    };
    r->gflops = model_flops_per_image(m) * r->ips / 1e9;
    for (int k = 0; k < PROF_KINDS; k++) {
        r->prof_fwd[k] = m->prof.fwd[k] * ms;
        r->prof_bwd[k] = m->prof.bwd[k] * ms;
    }
    r->rss = dcn_peak_rss_mib();
    r->arena_params = mib(4 * m->param_floats);
    r->arena_act = mib(m->act_floats);
    r->arena_buf = mib(m->buffer_floats);
}

/* The machine's limits beside the run: the sgemm rate at the model's own pointwise shape, batched, and
 * at a large square one (OpenBLAS near its best); for the paper variant the roofline of the step,
 * sgemm at the node's own shape and the rest at streaming bandwidth */
static void bench_result_limits(struct bench_result *r, const struct model *m, int measure_peak)
{
    const int C = r->channels, N = r->batch * m->H * m->W;
    r->measured = measure_peak;
    r->sgemm_n = N;
    if (measure_peak) {
        r->peak_model = machine_sgemm_gflops(C, N, C, 20);
        r->peak_big = machine_sgemm_gflops(1024, 1024, 1024, 3);
    }
    r->peak = r->peak_big > r->peak_model ? r->peak_big : r->peak_model;
    r->fraction_of_peak = r->peak > 0 ? r->gflops / r->peak : 0.0;
    r->has_roof = measure_peak && model_roofline(m, r->batch, &r->rl);
    if (!r->has_roof)
        return;
    /* one thread: the single-core rate measured above, so both print the same figure */
    if (r->threads > 1)
        machine_limits(r->threads, C, N, C, &r->roof_sgemm, &r->triad);
    else
        r->roof_sgemm = r->peak_model, r->triad = machine_triad_gbs();
    r->roof_ms = 1e3 * (r->rl.sgemm_gflop / r->roof_sgemm + (r->rl.front_gb + r->rl.bn_gb) / r->triad);
    r->fraction_of_roofline = r->roof_ms / r->ms_step;
    double front_s = 0;
    for (int k = PROF_AGG; k <= PROF_FRONT; k++)
        front_s += (m->prof.fwd[k] + m->prof.bwd[k]) / r->steps;
    r->has_front = front_s > 0 && r->profiled;
    r->front_gbs = r->has_front ? r->rl.front_gb / front_s : 0.0;
}

/* One JSON line; tests/bench/compare_peer.py and the roofline test read its keys */
static void bench_print_json(const struct bench_result *r)
{
    printf("{\"tool\": \"dcn\", \"graph\": \"%s\", \"variant\": \"%s\", \"order\": \"%s\", \"order_seed\": %llu, "
           "\"threads\": %d, \"batch\": %d, \"channels\": %d, \"steps\": %d, \"warmup\": %d, "
           "\"dag_nodes\": %d, \"dag_edges\": %lld, \"params\": %zu, \"params_trainable\": %zu, "
           "\"train_images_per_s\": %.2f, \"ms_per_step\": %.3f, \"ms_forward\": %.3f, \"ms_backward\": %.3f, "
           "\"ms_optimizer\": %.3f, \"gflop_per_image\": %.5f, \"gflops\": %.2f, \"sgemm_peak_gflops\": %.2f, "
           "\"sgemm_model_shape_gflops\": %.2f, \"sgemm_1024_gflops\": %.2f, \"fraction_of_peak\": %.3f, "
           "\"peak_rss_mib\": %.1f, \"arena_params_mib\": %.1f, \"arena_activations_mib\": %.1f, "
           "\"arena_buffers_mib\": %.2f, \"loss_first\": %.5f, \"loss_last\": %.5f",
           r->graph, r->variant, r->order, r->order_seed, r->threads, r->batch, r->channels, r->steps, r->warmup,
           r->dag_nodes, r->dag_edges, r->params, r->params_trainable, r->ips, r->ms_step, r->ms_fwd, r->ms_bwd,
           r->ms_opt, r->gflop_image, r->gflops, r->peak, r->peak_model, r->peak_big, r->fraction_of_peak, r->rss,
           r->arena_params, r->arena_act, r->arena_buf, r->loss_first, r->loss_last);
    if (r->has_roof)
        printf(", \"stream_triad_gbs\": %.2f, \"roofline_sgemm_gflops\": %.2f, \"roofline_sgemm_gflop\": %.9g, "
               "\"roofline_front_gb\": %.9g, \"roofline_bn_gb\": %.9g, \"roofline_ms\": %.6g, "
               "\"fraction_of_roofline\": %.4f, \"front_gbs\": %.2f",
               r->triad, r->roof_sgemm, r->rl.sgemm_gflop, r->rl.front_gb, r->rl.bn_gb, r->roof_ms,
               r->fraction_of_roofline, r->front_gbs);
    if (r->profiled) {
        printf(", \"profile_ms\": {");
        for (int k = 0; k < PROF_KINDS; k++)
            printf("%s\"%s\": [%.3f, %.3f]", k ? ", " : "", model_prof_kind_name(k), r->prof_fwd[k], r->prof_bwd[k]);
        printf("}");
    }
    printf("}\n");
}

/* The same figures for people: throughput, split by layer kind, the achieved GFLOP/s against this
 * core's sgemm rate and the roofline, memory */
static void bench_print_text(const struct bench_result *r)
{
    printf("dcn bench: graph %s, variant %s, order %s (seed %llu): %d nodes, %lld edges, %d inputs, %d outputs\n",
           r->graph, r->variant, r->order, r->order_seed, r->dag_nodes, r->dag_edges, r->dag_inputs, r->dag_outputs);
    printf("batch %d, channels %d, threads %d, %d warm-up + %d timed steps, loss %.4f -> %.4f\n", r->batch,
           r->channels, r->threads, r->warmup, r->steps, r->loss_first, r->loss_last);
    printf("throughput    %.2f images/s, %.2f ms/step: forward %.2f, backward %.2f, optimizer %.2f\n", r->ips,
           r->ms_step, r->ms_fwd, r->ms_bwd, r->ms_opt);
    if (r->profiled) {
        printf("per layer kind (ms/step)   forward  backward     total   share\n");
        for (int k = 0; k < PROF_KINDS; k++) {
            double f = r->prof_fwd[k], b = r->prof_bwd[k];
            if (f + b < 5e-4)
                continue;
            printf("  %-22s %9.2f %9.2f %9.2f %6.1f%%\n", model_prof_kind_name(k), f, b, f + b,
                   100.0 * (f + b) / r->ms_step);
        }
    }
    printf("compute       %.4f GFLOP/image (forward + backward), %.2f GFLOP/s achieved\n", r->gflop_image, r->gflops);
    if (r->measured)
        printf("sgemm 1 core  %.2f GFLOP/s at %dx%dx%d, %.2f at 1024^3: %.1f%% of the better one achieved\n",
               r->peak_model, r->channels, r->sgemm_n, r->channels, r->peak_big, 100.0 * r->gflops / r->peak);
    if (r->has_roof) {
        printf("roofline      %.2f GFLOP of sgemm at %.1f GFLOP/s + %.2f GB front + %.2f GB batch norm at %.1f GB/s "
               "(STREAM triad%s) = %.1f ms/step: %.1f%% of the roofline achieved\n",
               r->rl.sgemm_gflop, r->roof_sgemm, r->rl.front_gb, r->rl.bn_gb, r->triad,
               r->threads > 1 ? ", all threads at once" : "", r->roof_ms, 100.0 * r->roof_ms / r->ms_step);
        if (r->has_front)
            printf("front         %.2f GB/s achieved (aggregation + ReLU + depthwise, forward and backward)\n",
                   r->front_gbs);
    }
    printf("memory        peak RSS %.1f MiB; arenas: parameters+gradients+Adam %.1f MiB, activations %.1f MiB, "
           "BN buffers %.2f MiB\n",
           r->rss, r->arena_params, r->arena_act, r->arena_buf);
    printf("parameters    %zu (trainable %zu); model built in %.2f s\n", r->params, r->params_trainable,
           r->create_seconds);
}

static void bench_print(const struct bench_result *r, int json)
{
    if (json)
        bench_print_json(r);
    else
        bench_print_text(r);
}

/* Builds the trial as dcn train would (trial_setup), runs the steps and prints the result */
static int bench_run(struct dcn_ctx *ctx, const struct train_config *tc, const struct bench_args *a)
{
    const int batch = tc->batch;
    struct trial_parts parts;
    float *x = NULL;
    int *y = NULL, *idx = NULL;
    enum dcn_status st = trial_setup(ctx, tc, batch, MPI_COMM_NULL, &parts);
    if (st)
        goto done;
    if (parts.dag && a->export_dag && (st = graph_export_txt(ctx, parts.dag, a->export_dag)))
        goto done;
    const size_t img = (size_t)parts.ds->rows * parts.ds->cols;
    x = malloc((size_t)batch * img * sizeof *x);
    y = malloc((size_t)batch * sizeof *y);
    idx = malloc((size_t)batch * sizeof *idx);
    if (!x || !y || !idx) {
        st = dcn_fail(ctx, DCN_ENOMEM, "out of memory for batches");
        goto done;
    }
    struct bench_times bt;
    bench_steps(parts.m, parts.ds, x, y, idx, batch, a->warmup, a->steps, a->profile, &bt);
    struct bench_result r;
    bench_result_run(&r, parts.m, parts.dag, tc, a, &bt, parts.create_seconds);
    bench_result_limits(&r, parts.m, a->measure_peak);
    bench_print(&r, a->json);
done:
    free(x);
    free(y);
    free(idx);
    trial_teardown(&parts);
    return st ? cli_report_error("bench", ctx) : 0;
}

/* The trial fields dcn bench takes as options, in the order of its help. Epochs, lr and test images
 * do not enter a training step; the training images loaded are bench's own --train-limit. */
static const int bench_fields[] = {FIELD_graph, FIELD_variant, FIELD_batch, FIELD_channels, FIELD_order,
                                   FIELD_order_seed, FIELD_seed, FIELD_frozen, FIELD_dataset};

int cmd_bench(int argc, char **argv)
{
    const char *text[DCN_N_FIELDS] = {0}, *data_dir = NULL;
    int flag[DCN_N_FIELDS] = {0}, threads = 1, train_limit = 0, no_profile = 0, no_peak = 0;
    static char help[DCN_N_FIELDS][320];
    struct bench_args a = {.steps = 20, .warmup = 3};
    const struct opt bench_opts[] = {
        {"steps", OPT_INT, &a.steps, "N", "timed training steps (default 20)"},
        {"warmup", OPT_INT, &a.warmup, "W", "untimed warm-up steps (default 3)"},
        {"threads", OPT_INT, &threads, "T", "threads of the model (and OpenBLAS's count, default 1)"},
        {"data-dir", OPT_STR, &data_dir, "DIR", "data folder (default $DCN_DATA_DIR or data/cache)"},
        {"train-limit", OPT_INT, &train_limit, "N", "training images loaded (default: enough for all steps)"},
        {"export-dag", OPT_STR, &a.export_dag, "FILE.txt", "also write the DAG as RandWire text (for the peer)"},
        {"no-profile", OPT_FLAG, &no_profile, NULL, "do not collect the per-layer-kind profile"},
        {"no-peak", OPT_FLAG, &no_peak, NULL, "skip measuring the machine's sgemm rate"},
        {"json", OPT_FLAG, &a.json, NULL, "print the result as one JSON line"},
        {NULL, 0, NULL, NULL, NULL},
    };
    enum { NF = sizeof bench_fields / sizeof *bench_fields };
    struct opt tab[NF + sizeof bench_opts / sizeof *bench_opts];
    const int n = field_options(tab, bench_fields, NF, text, flag, help);
    memcpy(tab + n, bench_opts, sizeof bench_opts);
    const char *pos[1];
    int npos;
    int rc = opts_parse("bench", "[options]", tab, argc, argv, 1, pos, 0, &npos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (a.steps < 1 || a.warmup < 0 || threads < 1 || train_limit < 0) {
        fprintf(stderr, "dcn bench: --steps and --threads must be positive, --warmup and --train-limit not negative\n");
        return DCN_EXIT_USAGE;
    }
    a.profile = !no_profile;
    a.measure_peak = !no_peak;
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    /* the trial dcn train would build from these options (the same variant defaults) */
    struct trial_config fc;
    if ((rc = fields_from_options("bench", &fc, text, flag)))
        return rc;
    struct train_config tc;
    train_config_default(&tc);
    if (train_config_from_fields(&ctx, &fc, &tc)) {
        fprintf(stderr, "dcn bench: %s\n", ctx.err);
        return DCN_EXIT_USAGE;
    }
    /* enough images that no batch repeats, as in training; at least one batch */
    long want = (long)tc.batch * (a.steps + a.warmup);
    tc.train_limit = train_limit ? train_limit : want > 60000 ? 60000 : (int)want;
    tc.test_limit = 1;
    tc.data_dir = data_dir;
    tc.threads = threads;
    openblas_set_num_threads(1);
    return bench_run(&ctx, &tc, &a);
}
