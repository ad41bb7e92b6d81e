/* The aggregate results file of a sweep (layout in README.md, "HDF5 layout"):
 *
 *   /                      attributes: format_version, layout, ids_hash, dcn_version, sweep_file,
 *                          sweep_yaml, trials_dir, trial_fields (the field table as JSON), trials,
 *                          done, failed, running, pending, updated
 *   /summary               one row per trial, a compound table (h5py: f["summary"][:], pandas:
 *                          pd.DataFrame(f["summary"][:])); strings are fixed-length bytes
 *   /graphs                one row per measured graph (topology.c)
 *   /trials/<id>           external link to the root of the trial file of a finished trial
 *
 * sweep_merge builds it from every trial file; sweep_update rewrites only the rows of the trials
 * given. Both write a new file beside it and rename it into place, so a reader or a crash never sees
 * it half-written: the update copies the file (copy_file_range), edits the copy in place (the rows
 * are a contiguous table of fixed size, so nothing is reallocated) and renames it. Its cost is the
 * copy plus the changed rows, and its memory the changed rows, whatever the sweep's size. Only
 * finished trial files are read: files of running trials may be mid-write.
 */
#define _GNU_SOURCE /* copy_file_range */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "dcn/fields.h"
#include "dcn/io.h"
#include "io/h5util.h"
#include "dcn/sweep.h"
#include "topology.h"

/* 2: /trials/<id> are links to the trial files and the file is updated in place of a copy (sweep_update) */
#define RESULTS_LAYOUT 2

/* one column per trial field (include/dcn/fields.h), then the trial's state and results */
struct summary_row {
    int32_t index;
    char id[24];
    DCN_FIELD_ROW_MEMBERS
    char status[16];
    double test_accuracy, test_loss, best_test_accuracy;
    int32_t best_epoch, epochs_done;
    double wall_seconds;
    int32_t rank;
    char host[64];
    char reason[256];
    char file[256];          /* the trial file, relative to the results file */
    struct topo_cols topo;   /* the graph's family, parameters and measures (topology.h) */
    int32_t dag_inputs, dag_outputs, dag_longest_path; /* -1 without a DAG */
};

#define DCN_ROW_TYPE_ struct summary_row
static const size_t field_offs[DCN_N_FIELDS] = {DCN_FIELD_ROW_OFFSETS};
#undef DCN_ROW_TYPE_

static hid_t summary_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct summary_row));
    hid_t s24 = h5_str_type(24), s256 = h5_str_type(256), s16 = h5_str_type(16), s64 = h5_str_type(64);
#define F(name, type) H5Tinsert(t, #name, offsetof(struct summary_row, name), type)
    F(index, H5T_NATIVE_INT32);
    F(id, s24);
    for (int i = 0; i < DCN_N_FIELDS; i++) {
        const struct field_desc *f = &dcn_fields[i];
        hid_t ty = h5_field_type(f);
        H5Tinsert(t, f->name, field_offs[i], ty);
        if (f->type == FIELD_STR)
            H5Tclose(ty);
    }
    F(status, s16);
    F(test_accuracy, H5T_NATIVE_DOUBLE);
    F(test_loss, H5T_NATIVE_DOUBLE);
    F(best_test_accuracy, H5T_NATIVE_DOUBLE);
    F(best_epoch, H5T_NATIVE_INT32);
    F(epochs_done, H5T_NATIVE_INT32);
    F(wall_seconds, H5T_NATIVE_DOUBLE);
    F(rank, H5T_NATIVE_INT32);
    F(host, s64);
    F(reason, s256);
    F(file, s256);
    topo_insert_type(t, offsetof(struct summary_row, topo));
    F(dag_inputs, H5T_NATIVE_INT32);
    F(dag_outputs, H5T_NATIVE_INT32);
    F(dag_longest_path, H5T_NATIVE_INT32);
#undef F
    H5Tclose(s24);
    H5Tclose(s256);
    H5Tclose(s16);
    H5Tclose(s64);
    return t;
}

/* Relative path from the aggregate file's folder to the trial file, so the pair can be moved together. */
static const char *relative_to(const char *base_file, const char *target, char *buf, size_t len)
{
    const char *slash = strrchr(base_file, '/');
    size_t dl = slash ? (size_t)(slash - base_file + 1) : 0;
    if (dl && !strncmp(target, base_file, dl))
        target += dl;
    if (snprintf(buf, len, "%s", target) >= (int)len)
        buf[0] = 0; /* never a truncated path */
    return buf;
}

/* One trial's /summary row from its files; rel (1100 bytes) gets the trial file's path relative to the
 * results file. Graphs are measured through gc (once per graph). */
static enum trial_state row_build(struct dcn_ctx *ctx, const struct sweep_spec *s, int i, struct graph_cache *gc,
                                  struct summary_row *r, char *rel)
{
    const struct sweep_trial *t = &s->trials[i];
    memset(r, 0, sizeof *r);
    r->index = t->index;
    snprintf(r->id, sizeof r->id, "%s", t->id);
    for (int f = 0; f < DCN_N_FIELDS; f++)
        field_to_row(&dcn_fields[f], &t->cfg, r, field_offs[f]);
    r->test_accuracy = r->test_loss = r->best_test_accuracy = r->wall_seconds = NAN;
    r->rank = -1;
    topo_from_spec(t->cfg.graph, &r->topo);
    r->dag_inputs = r->dag_outputs = r->dag_longest_path = -1;
    enum trial_state ts = sweep_trial_state(s, t);
    snprintf(r->status, sizeof r->status, "%s", trial_state_name(ts));
    char file[1100];
    sweep_trial_paths(s, t, file, NULL, sizeof file);
    relative_to(s->output, file, rel, 1100);
    snprintf(r->file, sizeof r->file, "%.*s", (int)sizeof r->file - 1, rel);
    if (ts != TRIAL_DONE && ts != TRIAL_FAILED)
        return ts;
    struct trial_outcome o;
    struct dcn_ctx quiet = *ctx; /* an unreadable trial file is a row's reason, not the sweep's error */
    if (trial_read_outcome(&quiet, file, &o)) {
        snprintf(r->reason, sizeof r->reason, "trial file unreadable");
        return ts;
    }
    r->test_accuracy = o.test_accuracy;
    r->test_loss = o.test_loss;
    r->best_test_accuracy = o.best_test_accuracy;
    r->best_epoch = o.best_epoch;
    r->epochs_done = o.epochs_done;
    r->wall_seconds = o.wall_seconds;
    r->rank = o.rank;
    _Static_assert(sizeof r->host == sizeof o.host && sizeof r->reason == sizeof o.reason, "same widths");
    memcpy(r->host, o.host, sizeof r->host);
    memcpy(r->reason, o.reason, sizeof r->reason);
    if (ts == TRIAL_FAILED && r->epochs_done == 0)
        r->test_accuracy = r->test_loss = r->best_test_accuracy = NAN;
    r->dag_inputs = o.dag_inputs;
    r->dag_outputs = o.dag_outputs;
    r->dag_longest_path = o.dag_longest_path;
    /* a graph is measured once, when its first trial is done, and kept in /graphs */
    if (ts == TRIAL_DONE && r->dag_longest_path >= 0 && graph_cache_measures(ctx, gc, t->cfg.graph,
                                                                             s->data_dir[0] ? s->data_dir : NULL, &r->topo))
        dcn_log(ctx, 1, "[sweep] out of memory measuring %s\n", t->cfg.graph);
    return ts;
}

/* /trials/<id>: a link to the root of the trial file of a finished trial, nothing otherwise. */
static void trial_link(hid_t trials, const struct summary_row *r, const char *rel, enum trial_state ts)
{
    if (H5Lexists(trials, r->id, H5P_DEFAULT) > 0)
        H5Ldelete(trials, r->id, H5P_DEFAULT);
    if ((ts == TRIAL_DONE || ts == TRIAL_FAILED) && rel[0])
        H5Lcreate_external(rel, "/", trials, r->id, H5P_DEFAULT, H5P_DEFAULT);
}

/* Identifies the trial list a results file was written for: an update applies only to the same one. */
static int64_t ids_hash(const struct sweep_spec *s)
{
    uint64_t h = DCN_FNV_INIT;
    for (int i = 0; i < s->n_trials; i++)
        h = dcn_fnv1a(h, s->trials[i].id);
    return (int64_t)(h >> 1);
}

static void put_header(hid_t out, const struct sweep_spec *s, const int counts[4])
{
    char now[32];
    time_t tt = time(NULL);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    h5_attr_set_i64(out, "format_version", DCN_TRIAL_FORMAT_VERSION);
    h5_attr_set_i64(out, "layout", RESULTS_LAYOUT);
    h5_attr_set_i64(out, "ids_hash", ids_hash(s));
    h5_attr_set_str(out, "dcn_version", DCN_VERSION);
    h5_attr_set_str(out, "sweep_file", s->path);
    /* an attribute of the portable (earliest) file format holds at most 64 KiB */
    const char *text = s->text ? s->text : "";
    char *cut = strlen(text) > 60000 ? strndup(text, 60000) : NULL;
    h5_attr_set_str(out, "sweep_yaml", cut ? cut : text);
    h5_attr_set_i64(out, "sweep_yaml_truncated", cut != NULL);
    free(cut);
    h5_attr_set_str(out, "trials_dir", s->trials_dir);
    /* the field table itself, so that readers outside C (analysis/) take names and types from it */
    size_t flen = (size_t)field_table_json(NULL, 0) + 1;
    char *fields = malloc(flen);
    if (fields) {
        field_table_json(fields, flen);
        h5_attr_set_str(out, "trial_fields", fields);
    }
    free(fields);
    h5_attr_set_i64(out, "trials", s->n_trials);
    h5_attr_set_i64(out, "done", counts[TRIAL_DONE]);
    h5_attr_set_i64(out, "failed", counts[TRIAL_FAILED]);
    h5_attr_set_i64(out, "running", counts[TRIAL_RUNNING]);
    h5_attr_set_i64(out, "pending", counts[TRIAL_PENDING]);
    h5_attr_set_str(out, "updated", now);
}

/* Renames tmp over the results file after it reached the disk. */
static enum dcn_status install(struct dcn_ctx *ctx, const char *tmp, const char *output)
{
    int fd = open(tmp, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    if (rename(tmp, output) != 0) {
        remove(tmp);
        return dcn_fail(ctx, DCN_EIO, "%s: cannot rename the results file into place: %s", output, strerror(errno));
    }
    return DCN_OK;
}

enum dcn_status sweep_merge(struct dcn_ctx *ctx, const struct sweep_spec *s)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char tmp[1100];
    /* a per-process temporary name: job-array shards may merge at the same time, and each rename
     * installs a complete file */
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", s->output, (int)getpid());
    struct graph_cache gc;
    hid_t old = H5Fopen(s->output, H5F_ACC_RDONLY, H5P_DEFAULT);
    graph_cache_load(&gc, old); /* measures of earlier merges are kept */
    gc.n_stored = 0; /* this file is new: write every row */
    hid_t out = h5_mem_create();
    /* an until: sweep's decisions (until.c) come from no trial file: they are carried over */
    if (old >= 0 && out >= 0 && H5Lexists(old, "until", H5P_DEFAULT) > 0)
        H5Ocopy(old, "until", out, "until", H5P_DEFAULT, H5P_DEFAULT);
    if (old >= 0)
        H5Fclose(old);
    if (out < 0) {
        graph_cache_free(&gc);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: cannot start the results file in memory", s->output);
    }
    struct summary_row *rows = calloc((size_t)(s->n_trials ? s->n_trials : 1), sizeof *rows);
    hid_t trials = H5Gcreate2(out, "trials", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    enum dcn_status st = rows && trials >= 0 ? DCN_OK : dcn_fail(ctx, DCN_ENOMEM, "%s: cannot start the results file", tmp);
    int counts[4] = {0};
    for (int i = 0; !st && i < s->n_trials; i++) {
        char rel[1100];
        enum trial_state ts = row_build(ctx, s, i, &gc, &rows[i], rel);
        counts[ts]++;
        trial_link(trials, &rows[i], rel, ts);
    }
    if (!st) {
        hsize_t n = (hsize_t)s->n_trials;
        hid_t type = summary_type();
        hid_t sp = H5Screate_simple(1, &n, NULL);
        hid_t ds = H5Dcreate2(out, "summary", type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (ds < 0 || (n && H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0))
            st = dcn_fail(ctx, DCN_EHDF5, "%s: cannot write /summary", tmp);
        if (ds >= 0)
            H5Dclose(ds);
        H5Sclose(sp);
        H5Tclose(type);
        if (!st)
            st = graph_cache_write(ctx, &gc, out, tmp);
        put_header(out, s, counts);
    }
    if (trials >= 0)
        H5Gclose(trials);
    graph_cache_free(&gc);
    free(rows);
    if (st)
        H5Fclose(out);
    else if (h5_mem_save(out, tmp) != 0)
        st = dcn_fail(ctx, DCN_EIO, "%s: cannot write the results file: %s", tmp, strerror(errno));
    if (!st)
        st = install(ctx, tmp, s->output);
    if (st)
        remove(tmp);
    return st;
}

/* Copies src to dst (copy_file_range: no trip through user memory, a reflink where the file system
 * has them). */
static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY), out = in < 0 ? -1 : open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0664);
    int rc = in < 0 || out < 0 ? -1 : 0;
    while (!rc) {
        ssize_t k = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (k < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
            char buf[1 << 16];
            while ((k = read(in, buf, sizeof buf)) > 0)
                if (write(out, buf, (size_t)k) != k) {
                    k = -1;
                    break;
                }
        }
        if (k <= 0)
            rc = k < 0 ? -1 : 1;
    }
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0)
        rc = -1;
    return rc < 0 ? -1 : 0;
}

/* Whether the results file was written by this layout for exactly this list of trials. */
static int updatable(const char *path, const struct sweep_spec *s)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return 0;
    int ok = h5_attr_get_double(f, "layout", 0) == RESULTS_LAYOUT && h5_attr_get_double(f, "trials", -1) == s->n_trials &&
             H5Aexists(f, "ids_hash") > 0;
    if (ok) {
        int64_t h = 0;
        hid_t a = H5Aopen(f, "ids_hash", H5P_DEFAULT);
        ok = H5Aread(a, H5T_NATIVE_INT64, &h) >= 0 && h == ids_hash(s);
        H5Aclose(a);
    }
    H5Fclose(f);
    return ok;
}

/* Rewrites the rows of the trials in idx (and their /trials links) in f, keeping the counts. */
static enum dcn_status update_rows(struct dcn_ctx *ctx, const struct sweep_spec *s, hid_t f, const int *idx, int n,
                                   const char *name)
{
    hid_t ds = H5Dopen2(f, "summary", H5P_DEFAULT), trials = H5Gopen2(f, "trials", H5P_DEFAULT);
    hid_t type = summary_type(), fs = ds >= 0 ? H5Dget_space(ds) : -1;
    hsize_t one = 1;
    hid_t ms = H5Screate_simple(1, &one, NULL);
    int counts[4] = {(int)h5_attr_get_double(f, "pending", 0), (int)h5_attr_get_double(f, "running", 0), (int)h5_attr_get_double(f, "done", 0),
                     (int)h5_attr_get_double(f, "failed", 0)};
    struct graph_cache gc;
    graph_cache_load(&gc, f);
    enum dcn_status st = ds < 0 || trials < 0 ? dcn_fail(ctx, DCN_EHDF5, "%s: no /summary or /trials", name) : DCN_OK;
    for (int k = 0; !st && k < n; k++) {
        hsize_t at = (hsize_t)idx[k];
        struct summary_row old, r;
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &one, NULL);
        if (H5Dread(ds, type, ms, fs, H5P_DEFAULT, &old) < 0) {
            st = dcn_fail(ctx, DCN_EHDF5, "%s: cannot read row %d of /summary", name, idx[k]);
            break;
        }
        char rel[1100];
        enum trial_state ts = row_build(ctx, s, idx[k], &gc, &r, rel);
        for (int q = 0; q < 4; q++)
            if (!strncmp(old.status, trial_state_name((enum trial_state)q), sizeof old.status))
                counts[q]--;
        counts[ts]++;
        if (H5Dwrite(ds, type, ms, fs, H5P_DEFAULT, &r) < 0)
            st = dcn_fail(ctx, DCN_EHDF5, "%s: cannot write row %d of /summary", name, idx[k]);
        trial_link(trials, &r, rel, ts);
    }
    if (!st)
        st = graph_cache_write(ctx, &gc, f, name);
    if (!st)
        put_header(f, s, counts);
    graph_cache_free(&gc);
    H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    H5Tclose(type);
    if (trials >= 0)
        H5Gclose(trials);
    if (ds >= 0)
        H5Dclose(ds);
    return st;
}

enum dcn_status sweep_update(struct dcn_ctx *ctx, const struct sweep_spec *s, const int *idx, int n)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    /* shards of a job array update the same file: one at a time, each on the latest version */
    char lock[1100];
    snprintf(lock, sizeof lock, "%s.lock", s->output);
    int lfd = open(lock, O_RDWR | O_CREAT, 0664);
    if (lfd >= 0)
        flock(lfd, LOCK_EX);
    enum dcn_status st;
    if (!updatable(s->output, s)) {
        st = sweep_merge(ctx, s);
    } else if (!n) {
        st = DCN_OK;
    } else {
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.%d.tmp", s->output, (int)getpid());
        if (copy_file(s->output, tmp)) {
            st = dcn_fail(ctx, DCN_EIO, "%s: cannot copy the results file: %s", tmp, strerror(errno));
        } else {
            hid_t f = H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT);
            st = f < 0 ? dcn_fail(ctx, DCN_EHDF5, "%s: cannot open the copy of the results file", tmp)
                       : update_rows(ctx, s, f, idx, n, tmp);
            if (f >= 0 && H5Fclose(f) < 0 && !st)
                st = dcn_fail(ctx, DCN_EIO, "%s: cannot write the results file", tmp);
            if (!st)
                st = install(ctx, tmp, s->output);
        }
        if (st)
            remove(tmp);
    }
    if (lfd >= 0) {
        flock(lfd, LOCK_UN);
        close(lfd);
    }
    return st;
}

int sweep_read_states(const struct sweep_spec *s, unsigned char *state)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!updatable(s->output, s))
        return -1;
    hid_t f = H5Fopen(s->output, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = f >= 0 ? H5Dopen2(f, "summary", H5P_DEFAULT) : -1;
    /* only the status column: HDF5 converts the compound by member name */
    hid_t s16 = h5_str_type(16), t = H5Tcreate(H5T_COMPOUND, 16);
    H5Tinsert(t, "status", 0, s16);
    char(*st)[16] = calloc((size_t)(s->n_trials ? s->n_trials : 1), 16);
    int rc = ds >= 0 && st && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, st) >= 0 ? 0 : -1;
    for (int i = 0; !rc && i < s->n_trials; i++) {
        state[i] = TRIAL_PENDING;
        for (int q = 0; q < 4; q++)
            if (!strncmp(st[i], trial_state_name((enum trial_state)q), 16))
                state[i] = (unsigned char)q;
    }
    free(st);
    H5Tclose(t);
    H5Tclose(s16);
    if (ds >= 0)
        H5Dclose(ds);
    if (f >= 0)
        H5Fclose(f);
    return rc;
}
