/* dcn io: the HDF5 trial file, the one place that knows its layout (documented in README.md,
 * "HDF5 layout").
 *
 *   /                      attributes: format_version, dcn_version, the trial configuration (graph,
 *                          dataset, variant, frozen, freeze, seed, order, order_seed, epochs, batch, lr,
 *                          channels, train_limit, threads), host, start_time, end_time, status
 *                          ("running", "done", "failed"), reason, results (test_accuracy, test_loss,
 *                          best_test_accuracy, best_epoch, params_total, params_trainable, wall_seconds)
 *   /metrics/<name>        1-D extendible datasets, one entry per epoch: epoch, train_loss,
 *                          train_accuracy, test_loss, test_accuracy, lr, seconds
 *   /metrics/steps         the learning curve within epochs: one compound row every few steps (at most
 *                          DCN_STEP_ROWS_MAX + 1 rows): step, images, epoch, train_loss, train_accuracy, lr;
 *                          attribute images_per_epoch
 *   /dag/edges             (m, 2) int32 DAG edges as node positions (source < target)
 *   /dag/vertex            (n) int32 graph vertex at each position;  /dag/inputs, /dag/outputs
 *   /weights/<tensor>      every parameter, float32, PyTorch-like shapes ("node.12.pw" is (C, C, 1, 1))
 *   /buffers/<tensor>      BN running statistics
 *
 * Ownership: a struct trial_file is created by trial_create/trial_open and released by trial_close,
 * which also closes the HDF5 file.
 */
#ifndef DCN_IO_H
#define DCN_IO_H

#include <stdint.h>

#include "dcn/core.h"
#include "dcn/fields.h"
#include "dcn/graph.h"
#include "dcn/model.h"

#define DCN_TRIAL_FORMAT_VERSION 1

struct trial_file;

/* One value of the configuration or results, written as an attribute of the root group. */
enum trial_attr_type { TRIAL_STR, TRIAL_INT, TRIAL_DOUBLE };
struct trial_attr {
    const char *name;
    enum trial_attr_type type;
    const char *s;
    int64_t i;
    double d;
};

/* Creates path (truncating), writes the attributes and status "running", creates the metrics
 * datasets. */
enum dcn_status trial_create(struct dcn_ctx *ctx, const char *path, const struct trial_attr *attrs, int n_attrs,
                             struct trial_file **out);
/* Writes (or overwrites) attributes of the root group. */
enum dcn_status trial_set_attrs(struct dcn_ctx *ctx, struct trial_file *f, const struct trial_attr *attrs, int n);
/* Appends one epoch's metrics. */
struct trial_epoch {
    int epoch;
    double train_loss, train_accuracy, test_loss, test_accuracy, lr, seconds;
};
enum dcn_status trial_append_epoch(struct dcn_ctx *ctx, struct trial_file *f, const struct trial_epoch *e);
/* One row of the learning curve: the mean training loss and accuracy of the steps since the previous
 * row, logged when `step` steps (`images` training images) are done. */
#define DCN_STEP_ROWS_MAX 200
struct trial_step {
    int64_t step, images;
    int32_t epoch;
    double train_loss, train_accuracy, lr;
};
/* Writes (or replaces) /metrics/steps with rows (n) and its attribute images_per_epoch (for an x axis in
 * epochs). */
enum dcn_status trial_write_steps(struct dcn_ctx *ctx, struct trial_file *f, const struct trial_step *rows, int n,
                                  int64_t images_per_epoch);
enum dcn_status trial_write_dag(struct dcn_ctx *ctx, struct trial_file *f, const struct dcn_graph *g,
                                const struct dcn_dag *dag);
/* Adds the weights and buffers (written by the next flush). */
enum dcn_status trial_write_weights(struct dcn_ctx *ctx, struct trial_file *f, const struct model *m);
/* Writes the whole file to disk (it is kept in memory and saved at every flush: at creation, after
 * every epoch, at the end). A failed write (disk full) removes the partial file and returns DCN_EIO.
 * Only a durable flush waits for the disk (fsync): the last one, before the finished file is renamed
 * into place; earlier ones keep a .tmp file that a crash makes worthless anyway (the trial resumes
 * from its checkpoint), and an fsync each cost a tiny trial a fifth of its time. */
enum dcn_status trial_flush(struct dcn_ctx *ctx, struct trial_file *f, int durable);
/* Closes the file without writing it (trial_flush writes; ctx may be NULL). */
enum dcn_status trial_close(struct dcn_ctx *ctx, struct trial_file *f);

/* What the aggregate results file keeps of a finished (done or failed) trial file. */
struct trial_outcome {
    double test_accuracy, test_loss, best_test_accuracy, wall_seconds; /* NaN when missing */
    int32_t best_epoch, epochs_done, rank;                             /* 0, 0, -1 when missing */
    char host[64], reason[256];                                         /* cut to fit */
    int32_t dag_inputs, dag_outputs, dag_longest_path;                  /* -1 without a DAG */
};
/* Reads path's outcome; DCN_EIO when it cannot be opened as HDF5. */
enum dcn_status trial_read_outcome(struct dcn_ctx *ctx, const char *path, struct trial_outcome *o);
/* Reads one string/int/double attribute of a trial file's root group. */
enum dcn_status trial_read_attr_str(struct dcn_ctx *ctx, const char *path, const char *name, char *buf, size_t len);
/* Loads every /weights and /buffers tensor of path into m (names and sizes must match). */
enum dcn_status trial_read_weights(struct dcn_ctx *ctx, const char *path, struct model *m);

/* ---- checkpoints: everything needed to continue a trial bit-identically ----
 * Written to PATH.tmp and renamed over PATH, so a crash during the write keeps the previous one. */
struct train_state {
    char fingerprint[256]; /* the trial's configuration; a checkpoint of another trial is refused */
    int epoch;             /* epochs completed */
    int step;              /* steps completed in the current epoch */
    int64_t gstep;         /* steps completed in all */
    uint64_t rng[4];       /* data-order generator after the current epoch's shuffle */
    double loss_sum;       /* of the current epoch so far */
    int64_t correct;       /* of the current epoch so far */
    double train_time;     /* seconds spent in training steps */
    int64_t train_images;
    double best_acc;
    int best_epoch;
    double elapsed;        /* wall seconds of earlier runs of this trial */
    int n_train;
    int *perm;             /* (n_train) current epoch's data order; owned by the caller */
    int n_epochs_logged;   /* metrics rows below */
    struct trial_epoch *history; /* (n_epochs_logged) owned by the caller */
    int n_steps_logged;    /* learning-curve rows below */
    struct trial_step *steps; /* (n_steps_logged) owned by the caller */
    double step_loss;      /* sums of the steps since the last row */
    int64_t step_correct;
};
enum dcn_status ckpt_write(struct dcn_ctx *ctx, const char *path, const struct train_state *s, const struct model *m);
/* Reads a checkpoint into s (allocating s->perm, s->history and s->steps, which the caller frees) and m.
 * A checkpoint written before the learning curve was kept resumes with no rows.
 * Returns DCN_EIO when path does not exist, DCN_EPARSE when it is damaged or does not fit the model or
 * dataset, DCN_EINVAL when it belongs to another trial configuration (fingerprint mismatch). */
enum dcn_status ckpt_read(struct dcn_ctx *ctx, const char *path, struct train_state *s, struct model *m);

#endif
