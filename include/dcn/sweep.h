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

/* until: the sweep runs in rounds until every named comparison is known to a precision (src/sweep/until.c,
 * README "dcn sweep"). */
#define SWEEP_UNTIL_GROUPS 16
#define SWEEP_MAX_GROW 256
#define SWEEP_UNTIL_WHERE 4
struct sweep_until_where {
    int field;       /* enum field_index: a configuration field (not the graph, not a seed) */
    char value[128]; /* its value as written */
    int line;
};
struct sweep_until_group {
    char token[256]; /* a group as `dcn report --compare` names it: spec, family, family:base */
    struct sweep_until_where where[SWEEP_UNTIL_WHERE]; /* and only its trials with these values */
    int n_where;
    int line;
};

struct sweep_until {
    struct sweep_until_group groups[SWEEP_UNTIL_GROUPS];
    int n_groups;
    double half_width; /* target half-width of each contrast's 95% CI, accuracy points (percent) */
    int max_trials;    /* the budget: trials of the whole sweep, all rounds */
    int round_trials;  /* trials a round may add (0: as many as round 1 has) */
    int line;          /* of the key until: */
};

/* What a round runs: the sweep as written with its seed lists continued. Round 1 is the file as written. */
struct sweep_design {
    int round;
    int graph_seeds;  /* each growing family entry has at least this many graph seeds (0: as written) */
    int weight_seeds; /* seeds: has at least this many values (0: as written) */
    int n_grow;
    int grow[SWEEP_MAX_GROW]; /* the growing entries: positions in the graphs list (family entries with seeds) */
};

/* One item of the graphs list and the graphs it gave. */
struct sweep_entry {
    int line;
    int first, count;  /* its graphs: graph_names[first .. first + count) */
    int seeds_written; /* values of its seed key as written; 0 when it has none (it cannot grow) */
    int seeds;         /* values of its seed key in this round */
    char family[16];   /* ws, er, ba, gnm, rewire; "" for a spec, a name or a glob */
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
    struct sweep_until *until;  /* the until: section, NULL without one */
    struct sweep_design design; /* the round this spec was expanded for */
    struct sweep_entry *entries; /* the graphs list's items */
    int n_entries;
    const char **graph_names;    /* the graphs axis (strings owned by the spec) */
    int n_graph_names;
    int weight_seeds_written, weight_seeds; /* values of seeds: as written and in this round */
};

/* Parses and expands a sweep file. Unknown keys, bad values and empty axes are errors naming the file
 * and line. */
enum dcn_status sweep_load(struct dcn_ctx *ctx, const char *path, struct sweep_spec **out);
/* The same with the seed lists continued as design says (NULL: as written, round 1). The ids of the
 * trials the file gives as written never change; a round's trials include every earlier round's. */
enum dcn_status sweep_load_design(struct dcn_ctx *ctx, const char *path, const struct sweep_design *design,
                                  struct sweep_spec **out);
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

/* ---- until: rounds until every named comparison is known to the target precision (src/sweep/until.c) ---- */

/* Runs the decision script (analysis/until.py) in mode "check" (do the compare groups name graphs of the
 * sweep?) or "decide" (refit the comparisons after a round; write the round's record, an HDF5 file, to
 * record). input: a JSON file the library wrote. Returns DCN_OK, or a status with a message in ctx->err.
 * The CLI provides it (it finds the script and Python); the library never starts processes itself. */
typedef enum dcn_status (*sweep_until_script)(struct dcn_ctx *ctx, const char *mode, const char *input,
                                              const char *record, void *arg);

/* The rule in words, for --dry-run and the log. Returns snprintf's count. */
int sweep_until_describe(const struct sweep_spec *s, char *buf, size_t len);
/* Asks the script whether every compare group names graphs of the sweep (errors name file and line). */
enum dcn_status sweep_until_check(struct dcn_ctx *ctx, const struct sweep_spec *s, sweep_until_script run, void *arg);
/* The round to run from the decisions recorded in results.h5 (/until): round 1 as written when there are
 * none, else the design the last decision chose; *stopped when that decision was to stop (its design is
 * then the last round's), with its reason. An /until of another sweep file is an error. */
enum dcn_status sweep_until_current(struct dcn_ctx *ctx, const struct sweep_spec *s, struct sweep_design *d,
                                    int *stopped, char *reason, size_t len);
/* Runs the sweep s (loaded as written) round after round over the ranks of ctx->comm: each round's
 * unfinished trials (sweep_run), then on rank 0 the script's decision, recorded in results.h5 before it
 * is acted on, and broadcast. A rerun takes up the recorded round with the same trials. Returns like
 * sweep_run (DCN_EINTR when stopped by a signal); *n_failed counts the last round's failed trials. */
enum dcn_status sweep_until_run(struct dcn_ctx *ctx, const struct sweep_spec *s, const struct sweep_options *o,
                                sweep_until_script run, void *arg, int *n_failed);

#endif
