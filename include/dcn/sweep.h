/* dcn sweep: a YAML sweep file expanded into a trial list (the Cartesian product of its axes),
 * deterministic trial ids, dynamic scheduling of trials over MPI ranks (or shards of a job array),
 * resume, and the aggregate results file.
 *
 * Ownership: sweep_load returns a spec the caller frees with sweep_free; the trials inside it are
 * owned by the spec.
 */
#ifndef DCN_SWEEP_H
#define DCN_SWEEP_H

#include <signal.h>
#include <stdint.h>

#include "dcn/core.h"
#include "dcn/fields.h"
#include "dcn/graph.h"
#include "dcn/model.h"

struct sweep_trial {
    int index;           /* position in the expanded product (after removing duplicates) */
    char id[24];         /* "t" + 16 hex digits of a hash of the fingerprint */
    char fingerprint[256]; /* the canonical configuration string (trial_config_describe), cut at 255 */
    struct trial_config cfg; /* graph "none" for the baseline; strings owned by the spec */
};

struct sweep_spec {
    char path[1024];         /* the sweep file */
    char *text;              /* its contents (stored in the results file) */
    char output[1024];       /* aggregate results file */
    char trials_dir[1024];   /* per-trial files and checkpoints: <dir of output>/trials unless given */
    char data_dir[1024];     /* "" = default */
    double checkpoint_every; /* seconds (default 300) */
    double update_every;     /* seconds between updates of the results file while running (default 60) */
    int ranks_per_trial;     /* ranks that train one trial together, data parallel (default 1) */
    int n_trials;
    struct sweep_trial *trials;
    char **strings;          /* owned storage for graph/dataset names */
    int n_strings;
    int flat_trials;         /* trials_dir holds trial files of the flat layout of dcn before 0.2
                              * (<trials_dir>/<id>.h5): keep using it for this sweep */
};

/* Parses and expands a sweep file. Unknown keys, bad values and empty axes are errors naming the file
 * and line. */
enum dcn_status sweep_load(struct dcn_ctx *ctx, const char *path, struct sweep_spec **out);
void sweep_free(struct sweep_spec *s);

/* Status of a trial from the files on disk: its trial file (done/failed), its temporary file or
 * checkpoint (running/interrupted), or nothing (pending). */
enum trial_state { TRIAL_PENDING, TRIAL_RUNNING, TRIAL_DONE, TRIAL_FAILED };
enum trial_state sweep_trial_state(const struct sweep_spec *s, const struct sweep_trial *t);
const char *trial_state_name(enum trial_state st);
/* The trial's file <trials_dir>/<ab>/<id>.h5 and its checkpoint <trials_dir>/<ab>/<id>.ckpt.h5 (ckpt may
 * be NULL), <ab> being the id's first two hex digits: 256 folders keep each under a few thousand
 * entries up to 10^6 trials (parallel file systems slow down on huge folders). Sweeps started with
 * the flat layout (flat_trials) keep <trials_dir>/<id>.h5. */
void sweep_trial_paths(const struct sweep_spec *s, const struct sweep_trial *t, char *file, char *ckpt, size_t len);
/* Whether trials_dir holds a trial file of the flat layout (sweep_load sets flat_trials from it). */
int sweep_trials_flat(const char *trials_dir);

struct sweep_options {
    int shard_index, shard_count;  /* run only trials with index % count == index (job arrays) */
    int progress;                  /* progress lines on rank 0 */
    volatile sig_atomic_t *stop;   /* set by SIGTERM/SIGUSR2 */
    int threads;                   /* OpenBLAS threads per rank */
    int ranks_per_trial;           /* 0: the sweep file's value (default 1) */
};

/* Runs the sweep's unfinished trials over the ranks of ctx->comm (or alone without MPI) and writes
 * the aggregate results file. Returns DCN_EINTR when stopped by a signal (after checkpointing),
 * DCN_OK when every trial of this shard ended (some may have failed: *n_failed tells). */
enum dcn_status sweep_run(struct dcn_ctx *ctx, const struct sweep_spec *s, const struct sweep_options *o,
                          int *n_failed);

/* (Re)writes the aggregate results file from every per-trial file. */
enum dcn_status sweep_merge(struct dcn_ctx *ctx, const struct sweep_spec *s);
/* Updates the rows of trials idx[0..n) in the aggregate results file from their files; a full merge
 * when the file is missing or was written for another list of trials or by another layout. Callers
 * holding the file in another process are serialised by a lock file beside it. */
enum dcn_status sweep_update(struct dcn_ctx *ctx, const struct sweep_spec *s, const int *idx, int n);
/* The state of every trial as the results file records it (state[n_trials], enum trial_state values).
 * -1 when there is no results file that sweep_update could update. */
int sweep_read_states(const struct sweep_spec *s, unsigned char *state);

#endif
