/* dcn train / dcn eval */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dcn/train.h"
#include "opts.h"

/* A signal handler can only reach a static flag; the library receives it as a pointer. */
static volatile sig_atomic_t train_stop;
static void on_signal(int sig)
{
    (void)sig;
    train_stop = 1;
}

/* The trial's result on stdout: one JSON line, or a line of text when it finished. */
static void print_result(const struct dcn_ctx *ctx, const struct train_config *c, const struct train_result *r,
                         enum dcn_status st, int json)
{
    if (json) {
        printf("{\"status\": \"%s\", \"graph\": ", st ? "failed" : "done");
        dcn_json_string(stdout, model_variant_has_dag(c->variant) ? c->graph : "none");
        printf(", \"dataset\": ");
        dcn_json_string(stdout, c->dataset);
        printf(", \"variant\": \"%s\", \"freeze\": %d, \"seed\": %llu, \"order\": \"%s\", \"order_seed\": %llu, "
               "\"epochs\": %d, \"epochs_done\": %d, \"batch\": %d, \"channels\": %d, \"test_accuracy\": %.6f, "
               "\"test_loss\": %.6f, \"best_test_accuracy\": %.6f, \"best_epoch\": %d, \"params_total\": %zu, "
               "\"params_trainable\": %zu, \"dag_nodes\": %d, \"dag_edges\": %lld, \"dag_inputs\": %d, "
               "\"dag_outputs\": %d, \"train_images_per_s\": %.2f, \"wall_seconds\": %.3f, \"peak_rss_mib\": %.1f, "
               "\"world_size\": %d, \"sync_bn\": %s, \"compute_seconds\": %.3f, \"comm_seconds\": %.3f",
               model_variant_name(c->variant), c->freeze, (unsigned long long)c->seed, dag_order_name(c->order),
               (unsigned long long)c->order_seed, c->epochs, r->epochs_done, c->batch, c->channels, r->test_accuracy,
               r->test_loss, r->best_test_accuracy, r->best_epoch, r->params_total, r->params_trainable, r->dag_nodes,
               (long long)r->dag_edges, r->dag_inputs, r->dag_outputs, r->train_images_per_s, r->wall_seconds,
               dcn_peak_rss_mib(), ctx->size, c->sync_bn ? "true" : "false", r->compute_seconds, r->comm_seconds);
        if (st) {
            printf(", \"error\": ");
            dcn_json_string(stdout, ctx->err);
        }
        printf("}\n");
    } else if (!st) {
        printf("test_accuracy %.4f test_loss %.4f best %.4f (epoch %d) params %zu trainable %zu wall %.1fs "
               "%.1f img/s\n",
               r->test_accuracy, r->test_loss, r->best_test_accuracy, r->best_epoch, r->params_total, r->params_trainable,
               r->wall_seconds, r->train_images_per_s);
    }
}

int cmd_train(int argc, char **argv)
{
    struct train_config c;
    train_config_default(&c);
    const char *text[DCN_N_FIELDS] = {0};
    int flag[DCN_N_FIELDS] = {0};
    static char help[DCN_N_FIELDS][320];
    int json = 0, quiet = 0, data_parallel = 0, sync_bn = 0;
    struct opt tab[DCN_N_FIELDS + 16];
    int n = field_options(tab, NULL, 0, text, flag, help);
    const struct opt run_opts[] = {
        {"global-batch", OPT_STR, &text[FIELD_batch], "B", "the same as --batch: the global batch split over data-parallel ranks"},
        {"data-dir", OPT_STR, &c.data_dir, "DIR", "data folder (default $DCN_DATA_DIR or data/cache)"},
        {"threads", OPT_INT, &c.threads, "T", "threads per process, each taking a share of the batch (default 1)"},
        {"out", OPT_STR, &c.out, "FILE.h5", "write the trial (config, metrics, DAG, weights) to this HDF5 file"},
        {"checkpoint", OPT_STR, &c.checkpoint, "FILE.h5",
         "checkpoint here every epoch, every --checkpoint-every seconds and on SIGTERM/SIGUSR2; resume from it"},
        {"checkpoint-every", OPT_DOUBLE, &c.checkpoint_every, "SECONDS", "seconds between checkpoints (default 300)"},
        {"data-parallel", OPT_FLAG, &data_parallel, NULL,
         "under mpirun: ranks split each global --batch and average gradients (allreduce)"},
        {"sync-bn", OPT_FLAG, &sync_bn, NULL, "with --data-parallel: batch-norm statistics over all ranks' shards"},
        {"bucket-mb", OPT_DOUBLE, &c.bucket_mb, "MB",
         "with --data-parallel: reduce gradients in buckets of MB while backward runs (default 1; 0: after backward)"},
        {"json", OPT_FLAG, &json, NULL, "print the result as one JSON line"},
        {"quiet", OPT_FLAG, &quiet, NULL, "no progress lines"},
        {NULL, 0, NULL, NULL, NULL},
    };
    memcpy(tab + n, run_opts, sizeof run_opts);
    const char *pos[1];
    int npos;
    int rc = opts_parse("train", "[options]", tab, argc, argv, 1, pos, 0, &npos);
    if (rc)
        return rc == 1 ? 0 : rc;
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct trial_config fc;
    if ((rc = fields_from_options("train", &fc, text, flag)))
        return rc;
    if (train_config_from_fields(&ctx, &fc, &c)) {
        fprintf(stderr, "dcn train: %s\n", ctx.err);
        return DCN_EXIT_USAGE;
    }
    if (c.threads < 1) {
        fprintf(stderr, "dcn train: option --threads must be positive\n");
        return DCN_EXIT_USAGE;
    }
    c.progress = !quiet;
    if (!(c.checkpoint_every > 0))
        c.checkpoint_every = 300;
    if (c.checkpoint) {
        /* a checkpoint resumes only the configuration it was made for */
        static char fingerprint[1024];
        snprintf(fingerprint, sizeof fingerprint, "train;");
        trial_config_describe(&fc, fingerprint + 6, sizeof fingerprint - 6);
        c.fingerprint = fingerprint;
    }
    /* SLURM sends SIGTERM (and, with --signal, SIGUSR2) before a time limit: checkpoint and exit 75 */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    c.stop = &train_stop;
    if (sync_bn && !data_parallel) {
        fprintf(stderr, "dcn train: --sync-bn needs --data-parallel\n");
        return DCN_EXIT_USAGE;
    }
    if (data_parallel) {
        MPI_Init(&argc, &argv);
        ctx.comm = MPI_COMM_WORLD;
        MPI_Comm_rank(ctx.comm, &ctx.rank);
        MPI_Comm_size(ctx.comm, &ctx.size);
        c.data_parallel = 1;
        c.sync_bn = sync_bn;
        c.rank = ctx.rank;
    }
    sigaction(SIGTERM, &sa, NULL); /* after MPI_Init, which may install handlers of its own */
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct train_result r;
    enum dcn_status st = train_run(&ctx, &c, &r);
    if (data_parallel) {
        /* the same verdict on every rank; only rank 0 reports */
        int bad = st != DCN_OK, any = 0;
        MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, ctx.comm);
        int root = ctx.rank == 0;
        MPI_Finalize();
        if (!root)
            return any ? 1 : 0;
    }
    print_result(&ctx, &c, &r, st, json);
    if (st == DCN_EINTR) {
        fprintf(stderr, "dcn train: %s; run the same command to resume\n", ctx.err);
        return 75;
    }
    if (st)
        return cli_report_error("train", &ctx);
    return 0;
}

int cmd_eval(int argc, char **argv)
{
    const char *dataset = NULL, *data_dir = NULL;
    int json = 0, test_limit = 0;
    const struct opt tab[] = {
        {"dataset", OPT_STR, &dataset, "NAME|DIR", "dataset to evaluate on (required)"},
        {"data-dir", OPT_STR, &data_dir, "DIR", "data folder (default $DCN_DATA_DIR or data/cache)"},
        {"test-limit", OPT_INT, &test_limit, "N", "use the first N test images"},
        {"json", OPT_FLAG, &json, NULL, "print the result as JSON"},
        {NULL, 0, NULL, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = opts_parse("eval", "TRIAL.h5 --dataset NAME [options]", tab, argc, argv, 1, pos, 1, &npos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (npos != 1 || !dataset) {
        fprintf(stderr, "dcn eval: need a trial file and --dataset (see dcn eval --help)\n");
        return DCN_EXIT_USAGE;
    }
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    double acc = 0, loss = 0;
    if (train_eval_file(&ctx, pos[0], dataset, data_dir, test_limit, &acc, &loss))
        return cli_report_error("eval", &ctx);
    if (json)
    {
        printf("{\"trial\": ");
        dcn_json_string(stdout, pos[0]);
        printf(", \"dataset\": ");
        dcn_json_string(stdout, dataset);
        printf(", \"test_accuracy\": %.6f, \"test_loss\": %.6f}\n", acc, loss);
    }
    else
        printf("test_accuracy %.4f test_loss %.4f\n", acc, loss);
    return 0;
}
