/* dcn train: one trial - load the graph and dataset, build the DAG and model, train with Adam and a
 * half-period cosine schedule, evaluate on the full test set after every epoch, write the trial file.
 *
 * Ownership: train_run borrows its configuration; everything it allocates is freed before it returns.
 */
#ifndef DCN_TRAIN_H
#define DCN_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "dcn/core.h"
#include "dcn/graph.h"
#include "dcn/model.h"

struct train_config {
    const char *graph;    /* graph spec (ignored by the baseline) */
    const char *dataset;  /* mnist, fashion, kmnist or a folder */
    const char *data_dir; /* NULL: dcn_data_dir() */
    enum model_variant variant;
    int freeze;           /* FREEZE_* mask; the paper's --frozen is FREEZE_NODES | FREEZE_AGG */
    uint64_t seed;        /* weights and data order */
    enum dag_order order;
    uint64_t order_seed;  /* vertex ordering */
    int epochs, batch, channels;
    double lr, beta1, beta2, eps;
    int agg_init_normal;
    int normalize_half;   /* inputs as x - 0.5 (the authors' code) instead of (x - mean) / std */
    int train_limit, test_limit; /* 0: all */
    int threads;          /* OpenBLAS threads */
    const char *out;      /* trial file, or NULL */
    int progress;         /* progress lines on ctx->log */
    /* for the sweep runner (all optional) */
    const char *checkpoint;         /* checkpoint file; the trial resumes from it when it exists */
    double checkpoint_every;        /* seconds between checkpoints inside an epoch (and one per epoch) */
    volatile sig_atomic_t *stop;    /* becomes non-zero on SIGTERM/SIGUSR2: checkpoint, return DCN_EINTR */
    void (*poll)(void *arg);        /* called between steps (the sweep's rank 0 answers work requests) */
    void *poll_arg;
    const char *fingerprint;        /* configuration string a checkpoint must match */
    const char *trial_id;           /* written as an attribute when set */
    int rank;                       /* MPI rank that ran the trial, written as an attribute */
    /* data-parallel training over ctx->comm: batch is the GLOBAL batch, split evenly over the ranks;
     * gradients are summed with MPI_Allreduce and averaged; rank 0 alone writes files and logs */
    int data_parallel;
    int sync_bn;                    /* batch statistics over all ranks' shards (else each rank's own) */
    double bucket_mb;               /* > 0: reduce gradients in buckets of this size while backward goes
                                     * on (MPI_Iallreduce); 0: one MPI_Allreduce after backward */
};
void train_config_default(struct train_config *c);
/* The authors' code's settings for the authors variant: only the aggregation weights train (stem,
 * nodes and head frozen), aggregation weights start N(0,1), inputs x - 0.5. Their lr 0.01, batch 128
 * and 20 epochs are the CLI's defaults for that variant; callers set those. */
void train_config_authors(struct train_config *c);

struct train_result {
    double test_accuracy, test_loss, best_test_accuracy;
    int best_epoch, epochs_done;
    size_t params_total, params_trainable;
    double wall_seconds, train_images_per_s;
    int dag_nodes, dag_inputs, dag_outputs;
    int64_t dag_edges;
    char status[16]; /* done, failed, interrupted */
    int resumed_epoch, resumed_step; /* where a checkpoint resumed it (-1: fresh start) */
    double comm_seconds, compute_seconds; /* of the training steps (data parallel) */
};

/* Runs one trial. A NaN or infinite loss ends it with status "failed" (written to the trial file)
 * and DCN_ENUMERIC. */
enum dcn_status train_run(struct dcn_ctx *ctx, const struct train_config *cfg, struct train_result *res);

/* Evaluates the weights in a trial file on a dataset's test split (rebuilding the model from the
 * file's configuration). */
enum dcn_status train_eval_file(struct dcn_ctx *ctx, const char *trial_path, const char *dataset,
                                const char *data_dir, int test_limit, double *accuracy, double *loss);

#endif
