/* The aggregate results file of a sweep (layout in README.md, "HDF5 layout"):
 *
 *   /                      attributes: format_version, dcn_version, sweep_file, sweep_yaml, trials, done,
 *                          failed, running, pending, updated
 *   /summary               one row per trial, a compound table (h5py: f["summary"][:], pandas:
 *                          pd.DataFrame(f["summary"][:])); strings are fixed-length bytes
 *   /trials/<id>/          every attribute of the trial file (configuration, status, results), plus
 *                          trial_index and file; metrics/ and dag/ copied; weights and buffers as
 *                          external links into the per-trial file
 *
 * It is rebuilt from the per-trial files every time (never updated in place), written to a temporary
 * name and renamed, so it is always complete and a crash cannot corrupt it; `dcn sweep --merge`
 * rebuilds it at any time. Only finished trial files are read: files of running trials may be
 * mid-write.
 */
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dcn/fields.h"
#include "dcn/io.h"
#include "dcn/sweep.h"
#include "topology.h"

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

static herr_t copy_attr(hid_t loc, const char *name, const H5A_info_t *info, void *op)
{
    (void)info;
    hid_t dst = *(hid_t *)op;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    hid_t mt = H5Tget_native_type(ft, H5T_DIR_ASCEND);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    int vlen = H5Tis_variable_str(ft) > 0;
    size_t sz = (vlen ? sizeof(char *) : H5Tget_size(mt)) * (size_t)(n > 0 ? n : 1);
    void *buf = calloc(1, sz);
    herr_t rc = buf ? H5Aread(a, mt, buf) : -1;
    if (rc >= 0) {
        hid_t b = H5Acreate2(dst, name, ft, sp, H5P_DEFAULT, H5P_DEFAULT);
        rc = b < 0 ? -1 : H5Awrite(b, mt, buf);
        if (b >= 0)
            H5Aclose(b);
        if (vlen)
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
    }
    free(buf);
    H5Tclose(mt);
    H5Tclose(ft);
    H5Sclose(sp);
    H5Aclose(a);
    return rc < 0 ? -1 : 0;
}

static void read_str(hid_t f, const char *name, char *buf, size_t len)
{
    buf[0] = 0;
    if (H5Aexists(f, name) <= 0)
        return;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    hid_t ft = H5Aget_type(a);
    if (H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft)); /* no conversion between character sets exists */
        char *s = NULL;
        if (H5Aread(a, mt, &s) >= 0 && s) {
            snprintf(buf, len, "%s", s);
            H5free_memory(s);
        }
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(a);
}

static double read_num(hid_t f, const char *name, double dflt)
{
    if (H5Aexists(f, name) <= 0)
        return dflt;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    double v = dflt;
    if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0)
        v = dflt;
    H5Aclose(a);
    return v;
}

static enum dcn_status put_attr_str(hid_t loc, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, t, &v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return rc < 0 ? DCN_EHDF5 : DCN_OK;
}

static enum dcn_status put_attr_int(hid_t loc, const char *name, int64_t v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, H5T_NATIVE_INT64, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_INT64, &v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc < 0 ? DCN_EHDF5 : DCN_OK;
}

/* Elements of a dataset, -1 when it does not exist. */
static int32_t dataset_length(hid_t loc, const char *name)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT), sp = H5Dget_space(ds);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    H5Dclose(ds);
    return (int32_t)n;
}

/* The DAG's inputs, outputs and longest path from the trial file's /dag (files before format 1's
 * n_inputs/n_outputs attributes: the lengths of the inputs and outputs arrays). */
static void read_dag(hid_t f, struct summary_row *r)
{
    if (H5Lexists(f, "dag", H5P_DEFAULT) <= 0)
        return;
    hid_t g = H5Gopen2(f, "dag", H5P_DEFAULT);
    r->dag_longest_path = (int32_t)read_num(g, "longest_path", -1);
    r->dag_inputs = H5Aexists(g, "n_inputs") > 0 ? (int32_t)read_num(g, "n_inputs", -1) : dataset_length(g, "inputs");
    r->dag_outputs = H5Aexists(g, "n_outputs") > 0 ? (int32_t)read_num(g, "n_outputs", -1) : dataset_length(g, "outputs");
    H5Gclose(g);
}

/* Relative path from the aggregate file's folder to the trial file, so the pair can be moved together. */
static const char *relative_to(const char *base_file, const char *target, char *buf, size_t len)
{
    const char *slash = strrchr(base_file, '/');
    size_t dl = slash ? (size_t)(slash - base_file + 1) : 0;
    if (dl && !strncmp(target, base_file, dl))
        snprintf(buf, len, "%s", target + dl);
    else
        snprintf(buf, len, "%s", target);
    return buf;
}

enum dcn_status sweep_merge(struct dcn_ctx *ctx, const struct sweep_spec *s)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char tmp[1100];
    /* a per-process temporary name: job-array shards may merge at the same time, and each rename
     * installs a complete file */
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", s->output, (int)getpid());
    hid_t out = h5_mem_create();
    if (out < 0)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: cannot start the results file in memory", s->output);
    struct summary_row *rows = calloc((size_t)(s->n_trials ? s->n_trials : 1), sizeof *rows);
    hid_t trials = H5Gcreate2(out, "trials", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    enum dcn_status st = rows && trials >= 0 ? DCN_OK : dcn_fail(ctx, DCN_ENOMEM, "%s: cannot start the results file", tmp);
    int counts[4] = {0};
    struct graph_cache gc;
    graph_cache_load(&gc, s->output);
    const char *data_dir = s->data_dir[0] ? s->data_dir : NULL;
    for (int i = 0; !st && i < s->n_trials; i++) {
        const struct sweep_trial *t = &s->trials[i];
        struct summary_row *r = &rows[i];
        r->index = t->index;
        snprintf(r->id, sizeof r->id, "%s", t->id);
        for (int f = 0; f < DCN_N_FIELDS; f++)
            field_to_row(&dcn_fields[f], &t->cfg, r, field_offs[f]);
        r->test_accuracy = r->test_loss = r->best_test_accuracy = r->wall_seconds = NAN;
        r->rank = -1;
        topo_from_spec(t->cfg.graph, &r->topo);
        r->dag_inputs = r->dag_outputs = r->dag_longest_path = -1;
        enum trial_state ts = sweep_trial_state(s, t);
        counts[ts]++;
        snprintf(r->status, sizeof r->status, "%s", trial_state_name(ts));
        hid_t g = H5Gcreate2(trials, t->id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) {
            st = dcn_fail(ctx, DCN_EHDF5, "%s: cannot create /trials/%s", tmp, t->id);
            break;
        }
        char file[1100], rel[1100];
        sweep_trial_paths(s, t, file, NULL, sizeof file);
        put_attr_int(g, "trial_index", t->index);
        put_attr_str(g, "fingerprint", t->fingerprint);
        put_attr_str(g, "file", relative_to(s->output, file, rel, sizeof rel));
        if (ts == TRIAL_DONE || ts == TRIAL_FAILED) {
            hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
            if (f >= 0) {
                hsize_t idx = 0;
                H5Aiterate2(f, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, copy_attr, &g);
                hid_t ocpl = H5Pcreate(H5P_OBJECT_COPY);
                if (H5Lexists(f, "metrics", H5P_DEFAULT) > 0)
                    H5Ocopy(f, "metrics", g, "metrics", ocpl, H5P_DEFAULT);
                if (H5Lexists(f, "dag", H5P_DEFAULT) > 0)
                    H5Ocopy(f, "dag", g, "dag", ocpl, H5P_DEFAULT);
                H5Pclose(ocpl);
                if (H5Lexists(f, "weights", H5P_DEFAULT) > 0) {
                    H5Lcreate_external(rel, "/weights", g, "weights", H5P_DEFAULT, H5P_DEFAULT);
                    H5Lcreate_external(rel, "/buffers", g, "buffers", H5P_DEFAULT, H5P_DEFAULT);
                }
                r->test_accuracy = read_num(f, "test_accuracy", NAN);
                r->test_loss = read_num(f, "test_loss", NAN);
                r->best_test_accuracy = read_num(f, "best_test_accuracy", NAN);
                r->best_epoch = (int32_t)read_num(f, "best_epoch", 0);
                r->epochs_done = (int32_t)read_num(f, "epochs_done", 0);
                r->wall_seconds = read_num(f, "wall_seconds", NAN);
                r->rank = (int32_t)read_num(f, "rank", -1);
                read_str(f, "host", r->host, sizeof r->host);
                read_str(f, "reason", r->reason, sizeof r->reason);
                if (ts == TRIAL_FAILED && r->epochs_done == 0)
                    r->test_accuracy = r->test_loss = r->best_test_accuracy = NAN;
                read_dag(f, r);
                /* a graph is measured once, when its first trial is done, and kept in /graphs */
                if (ts == TRIAL_DONE && r->dag_longest_path >= 0 &&
                    graph_cache_measures(ctx, &gc, t->cfg.graph, data_dir, &r->topo))
                    st = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory measuring graphs", tmp);
                H5Fclose(f);
            } else {
                snprintf(r->reason, sizeof r->reason, "trial file unreadable");
            }
        }
        if (H5Aexists(g, "status") > 0)
            H5Adelete(g, "status");
        put_attr_str(g, "status", r->status);
        H5Gclose(g);
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
        char now[32];
        time_t tt = time(NULL);
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
        put_attr_int(out, "format_version", DCN_TRIAL_FORMAT_VERSION);
        put_attr_str(out, "dcn_version", DCN_VERSION);
        put_attr_str(out, "sweep_file", s->path);
        {
            /* an attribute of the portable (earliest) file format holds at most 64 KiB */
            const char *text = s->text ? s->text : "";
            char *cut = strlen(text) > 60000 ? strndup(text, 60000) : NULL;
            put_attr_str(out, "sweep_yaml", cut ? cut : text);
            put_attr_int(out, "sweep_yaml_truncated", cut != NULL);
            free(cut);
        }
        put_attr_str(out, "trials_dir", s->trials_dir);
        put_attr_int(out, "trials", s->n_trials);
        put_attr_int(out, "done", counts[TRIAL_DONE]);
        put_attr_int(out, "failed", counts[TRIAL_FAILED]);
        put_attr_int(out, "running", counts[TRIAL_RUNNING]);
        put_attr_int(out, "pending", counts[TRIAL_PENDING]);
        put_attr_str(out, "updated", now);
    }
    if (trials >= 0)
        H5Gclose(trials);
    graph_cache_free(&gc);
    free(rows);
    if (st)
        H5Fclose(out);
    else if (h5_mem_save(out, tmp) != 0)
        st = dcn_fail(ctx, DCN_EIO, "%s: cannot write the results file: %s", tmp, strerror(errno));
    if (!st && rename(tmp, s->output) != 0)
        st = dcn_fail(ctx, DCN_EIO, "%s: cannot rename the results file into place", s->output);
    if (st)
        remove(tmp);
    return st;
}
