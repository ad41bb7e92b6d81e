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
#include "dcn/fields.h"
#include "dcn/graph.h"
#include "dcn/io.h"
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
    struct trial_cache *cache;      /* optional: the data set and graph kept from the previous trial */
};

/* What a process keeps between the trials it runs (the sweep's ranks): the last data set and graph
 * loaded, reused when the next trial asks for the same ones. Reading MNIST again cost a tiny trial
 * most of its overhead. Zero-initialise; trial_cache_free releases it. Not shared between threads. */
struct trial_cache {
    struct dcn_dataset *ds;
    char ds_key[1400];   /* dataset, data folder, limits */
    float ds_mean, ds_std; /* as loaded: a trial normalising with x - 0.5 changes ds's copy */
    struct dcn_graph *g;
    char g_key[1400];    /* graph spec, data folder */
    long hits, misses;
};
void trial_cache_free(struct trial_cache *c);
void train_config_default(struct train_config *c);

/* Sets c's configuration (not its run-time settings: out, threads, checkpoint, ...) from a trial's
 * fields, applying the variant's defaults to the fields left empty (freeze, agg_init, normalize).
 * Errors name the field. The strings stay f's. */
enum dcn_status train_config_from_fields(struct dcn_ctx *ctx, const struct trial_config *f, struct train_config *c);
/* The fields as c will run them (the values the trial file records: the baseline's graph "none",
 * freeze as the resolved group list in freeze_buf, agg_init and normalize named). */
void train_config_to_fields(const struct train_config *c, struct trial_config *f, char *freeze_buf, size_t len);
/* Fills at[0..DCN_N_FIELDS) with the fields as trial-file attributes; returns DCN_N_FIELDS. */
int train_fields_attrs(const struct trial_config *f, struct trial_attr *at);

/* Reads a trial file's fields back (strings into store). The ones a model needs (graph, variant,
 * order, order_seed, batch, channels) must be present; others keep their defaults. */
#define DCN_FIELD_TEXT 1024
enum dcn_status train_fields_read(struct dcn_ctx *ctx, const char *path, struct trial_config *f,
                                  char (*store)[DCN_FIELD_TEXT]);

/* The parts of a trial: its data set, graph and DAG (NULL for the baseline) and model. */
struct trial_parts {
    struct dcn_dataset *ds;
    struct dcn_graph *g;
    struct dcn_dag *dag;
    struct model *m;
    double create_seconds; /* model_create + model_init */
    int ds_borrowed, g_borrowed; /* owned by the trial_cache, not freed by trial_teardown */
    enum trial_setup_stage { TRIAL_SETUP_OK, TRIAL_SETUP_DATA, TRIAL_SETUP_GRAPH, TRIAL_SETUP_MODEL } failed_at;
};
/* Loads cfg's data set (its train/test limits; at least one global batch of training images), applies
 * (or takes both from cfg->cache when it holds the same ones, and leaves the new ones there)
 * its normalisation, builds the graph's DAG, creates the model for local_batch images per step (batch
 * norm statistics over bn_comm when it is not MPI_COMM_NULL) and initialises it from cfg->seed. On
 * failure nothing stays allocated. */
enum dcn_status trial_setup(struct dcn_ctx *ctx, const struct train_config *cfg, int local_batch, MPI_Comm bn_comm,
                            struct trial_parts *p);
void trial_teardown(struct trial_parts *p);

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
