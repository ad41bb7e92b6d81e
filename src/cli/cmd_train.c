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

static void print_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

int cmd_train(int argc, char **argv)
{
    struct train_config c;
    train_config_default(&c);
    const char *variant = "paper", *order = "random", *freeze = NULL, *agg_init = NULL, *normalize = NULL;
    /* unset until parsed: their defaults depend on the variant */
    c.epochs = c.batch = -1;
    c.lr = -1;
    int frozen = 0, json = 0, quiet = 0, data_parallel = 0, sync_bn = 0;
    const struct opt tab[] = {
        {"graph", OPT_STR, &c.graph, "SPEC", "graph: file, celegans, mouse, ws:n=32,k=4,p=0.75,seed=0, er:..., ba:..."},
        {"dataset", OPT_STR, &c.dataset, "NAME|DIR", "mnist, fashion, kmnist or a folder of IDX files (default mnist)"},
        {"data-dir", OPT_STR, &c.data_dir, "DIR", "data folder (default $DCN_DATA_DIR or data/cache)"},
        {"variant", OPT_STR, &variant, "V",
         "paper (default), authors (the authors' code: only aggregation weights train) or baseline (no graph)"},
        {"frozen", OPT_FLAG, &frozen, NULL, "freeze the DAG module (the paper's frozen model)"},
        {"freeze", OPT_STR, &freeze, "LIST", "freeze groups: stem,nodes,agg,head (dag = nodes,agg)"},
        {"seed", OPT_U64, &c.seed, "S", "seed of weights and data order (default 0)"},
        {"order", OPT_STR, &order, "ORDER", "vertex ordering: random (default), identity, degree, bfs, coord"},
        {"order-seed", OPT_U64, &c.order_seed, "S", "seed of the random vertex ordering (default 0)"},
        {"epochs", OPT_INT, &c.epochs, "E", "epochs (default 50; authors: 20)"},
        {"batch", OPT_INT, &c.batch, "B", "batch size (default 32; authors: 128); with --data-parallel the global batch"},
        {"global-batch", OPT_INT, &c.batch, "B", "the same as --batch: the global batch split over data-parallel ranks"},
        {"lr", OPT_DOUBLE, &c.lr, "LR", "peak learning rate, cosine-decayed to 0 (default 0.001; authors: 0.01)"},
        {"channels", OPT_INT, &c.channels, "C", "channels (default 78)"},
        {"agg-init", OPT_STR, &agg_init, "zero|normal", "aggregation weight init (default zero; authors: normal)"},
        {"normalize", OPT_STR, &normalize, "meanstd|half",
         "inputs (x - mean) / std of the training set, or x - 0.5 (default meanstd; authors: half)"},
        {"train-limit", OPT_INT, &c.train_limit, "N", "use the first N training images (default all)"},
        {"test-limit", OPT_INT, &c.test_limit, "N", "use the first N test images (default all)"},
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
    const char *pos[1];
    int npos;
    int rc = opts_parse("train", "[options]", tab, argc, argv, 1, pos, 0, &npos);
    if (rc)
        return rc == 1 ? 0 : rc;
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    if (model_variant_parse(&ctx, variant, &c.variant) || dag_order_parse(&ctx, order, &c.order) ||
        (freeze && model_freeze_parse(&ctx, freeze, &c.freeze))) {
        fprintf(stderr, "dcn train: %s\n", ctx.err);
        return DCN_EXIT_USAGE;
    }
    const int authors = c.variant == MODEL_AUTHORS;
    if (authors && !freeze && !frozen)
        train_config_authors(&c); /* freeze everything but the aggregation weights, N(0,1), x - 0.5 */
    if (frozen)
        c.freeze |= FREEZE_NODES | FREEZE_AGG;
    if (c.epochs == -1)
        c.epochs = authors ? 20 : 50;
    if (c.batch == -1)
        c.batch = authors ? 128 : 32;
    if (c.lr == -1)
        c.lr = authors ? 0.01 : 1e-3;
    if (!agg_init)
        agg_init = authors ? "normal" : "zero";
    if (!normalize)
        normalize = authors ? "half" : "meanstd";
    if (!strcmp(agg_init, "normal"))
        c.agg_init_normal = 1;
    else if (!strcmp(agg_init, "zero"))
        c.agg_init_normal = 0;
    else {
        fprintf(stderr, "dcn train: option --agg-init: expected zero or normal, got '%s'\n", agg_init);
        return DCN_EXIT_USAGE;
    }
    if (!strcmp(normalize, "half"))
        c.normalize_half = 1;
    else if (!strcmp(normalize, "meanstd"))
        c.normalize_half = 0;
    else {
        fprintf(stderr, "dcn train: option --normalize: expected meanstd or half, got '%s'\n", normalize);
        return DCN_EXIT_USAGE;
    }
    if (c.epochs < 1 || c.batch < 1 || c.channels < 1 || c.lr <= 0 || c.threads < 1 || c.train_limit < 0 ||
        c.test_limit < 0) {
        fprintf(stderr, "dcn train: --epochs, --batch, --channels, --lr and --threads must be positive, limits >= 0\n");
        return DCN_EXIT_USAGE;
    }
    c.progress = !quiet;
    if (!(c.checkpoint_every > 0))
        c.checkpoint_every = 300;
    if (c.checkpoint) {
        char fp[256];
        snprintf(fp, sizeof fp, "train;graph=%s;dataset=%s;variant=%s;freeze=%d;agg_init=%d;normalize=%d;seed=%llu;order=%s;order_seed=%llu;epochs=%d;batch=%d;lr=%.17g;channels=%d;train_limit=%d",
                 c.graph, c.dataset, variant, c.freeze, c.agg_init_normal, c.normalize_half, (unsigned long long)c.seed, order,
                 (unsigned long long)c.order_seed, c.epochs, c.batch, c.lr, c.channels, c.train_limit);
        static char fingerprint[256];
        memcpy(fingerprint, fp, sizeof fp);
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
    if (json) {
        printf("{\"status\": \"%s\", \"graph\": ", st ? "failed" : "done");
        print_json_string(stdout, model_variant_has_dag(c.variant) ? c.graph : "none");
        printf(", \"dataset\": ");
        print_json_string(stdout, c.dataset);
        printf(", \"variant\": \"%s\", \"freeze\": %d, \"seed\": %llu, \"order\": \"%s\", \"order_seed\": %llu, "
               "\"epochs\": %d, \"epochs_done\": %d, \"batch\": %d, \"channels\": %d, \"test_accuracy\": %.6f, "
               "\"test_loss\": %.6f, \"best_test_accuracy\": %.6f, \"best_epoch\": %d, \"params_total\": %zu, "
               "\"params_trainable\": %zu, \"dag_nodes\": %d, \"dag_edges\": %lld, \"dag_inputs\": %d, "
               "\"dag_outputs\": %d, \"train_images_per_s\": %.2f, \"wall_seconds\": %.3f, \"peak_rss_mib\": %.1f, "
               "\"world_size\": %d, \"sync_bn\": %s, \"compute_seconds\": %.3f, \"comm_seconds\": %.3f",
               model_variant_name(c.variant), c.freeze, (unsigned long long)c.seed, dag_order_name(c.order),
               (unsigned long long)c.order_seed, c.epochs, r.epochs_done, c.batch, c.channels, r.test_accuracy,
               r.test_loss, r.best_test_accuracy, r.best_epoch, r.params_total, r.params_trainable, r.dag_nodes,
               (long long)r.dag_edges, r.dag_inputs, r.dag_outputs, r.train_images_per_s, r.wall_seconds,
               dcn_peak_rss_mib(), ctx.size, c.sync_bn ? "true" : "false", r.compute_seconds, r.comm_seconds);
        if (st) {
            printf(", \"error\": ");
            print_json_string(stdout, ctx.err);
        }
        printf("}\n");
    } else if (!st) {
        printf("test_accuracy %.4f test_loss %.4f best %.4f (epoch %d) params %zu trainable %zu wall %.1fs "
               "%.1f img/s\n",
               r.test_accuracy, r.test_loss, r.best_test_accuracy, r.best_epoch, r.params_total, r.params_trainable,
               r.wall_seconds, r.train_images_per_s);
    }
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
        print_json_string(stdout, pos[0]);
        printf(", \"dataset\": ");
        print_json_string(stdout, dataset);
        printf(", \"test_accuracy\": %.6f, \"test_loss\": %.6f}\n", acc, loss);
    }
    else
        printf("test_accuracy %.4f test_loss %.4f\n", acc, loss);
    return 0;
}
