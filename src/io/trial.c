#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcn/io.h"
#include "io/h5util.h"

struct trial_file {
    hid_t file;
    hid_t metrics;
    char path[1024];
};

static const char *metric_names[] = {"epoch", "train_loss", "train_accuracy", "test_loss",
                                     "test_accuracy", "lr", "seconds"};
#define N_METRICS 7

/* HDF5 prints its own error stack to stderr by default; dcn reports errors itself, naming the file,
 * so the automatic printing is turned off for the calls made here. */
static void quiet_hdf5(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static enum dcn_status write_attr(struct dcn_ctx *ctx, hid_t obj, const char *path, const struct trial_attr *a)
{
    hid_t type = -1, space = H5Screate(H5S_SCALAR);
    const void *buf = NULL;
    const char *s = a->s ? a->s : "";
    if (a->type == TRIAL_STR) {
        /* variable-length UTF-8: h5py returns these as Python str */
        type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, H5T_VARIABLE);
        H5Tset_cset(type, H5T_CSET_UTF8);
        buf = &s;
    } else if (a->type == TRIAL_INT) {
        type = H5Tcopy(H5T_NATIVE_INT64);
        buf = &a->i;
    } else {
        type = H5Tcopy(H5T_NATIVE_DOUBLE);
        buf = &a->d;
    }
    if (H5Aexists(obj, a->name) > 0)
        H5Adelete(obj, a->name);
    hid_t at = H5Acreate2(obj, a->name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = at < 0 ? -1 : H5Awrite(at, type, buf);
    if (at >= 0)
        H5Aclose(at);
    H5Tclose(type);
    H5Sclose(space);
    if (rc < 0)
        return dcn_fail(ctx, DCN_EHDF5, "%s: cannot write attribute '%s'", path, a->name);
    return DCN_OK;
}

enum dcn_status trial_set_attrs(struct dcn_ctx *ctx, struct trial_file *f, const struct trial_attr *attrs, int n)
{
    for (int i = 0; i < n; i++) {
        enum dcn_status st = write_attr(ctx, f->file, f->path, &attrs[i]);
        if (st)
            return st;
    }
    return DCN_OK;
}

enum dcn_status trial_create(struct dcn_ctx *ctx, const char *path, const struct trial_attr *attrs, int n_attrs,
                             struct trial_file **out)
{
    quiet_hdf5();
    *out = NULL;
    struct trial_file *f = calloc(1, sizeof *f);
    if (!f)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory", path);
    snprintf(f->path, sizeof f->path, "%s", path);
    /* built in memory and written out whole at every flush (include/dcn/io.h says why); the 1.8 file format
     * keeps it readable by every h5py/HDF5 a user may have */
    f->file = h5_mem_create();
    if (f->file < 0) {
        free(f);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: cannot start the trial file in memory", path);
    }
    enum dcn_status st = DCN_OK;
    struct trial_attr fmt[] = {{"format_version", TRIAL_INT, NULL, DCN_TRIAL_FORMAT_VERSION, 0},
                               {"dcn_version", TRIAL_STR, DCN_VERSION, 0, 0},
                               {"status", TRIAL_STR, "running", 0, 0}};
    st = trial_set_attrs(ctx, f, fmt, 3);
    if (!st)
        st = trial_set_attrs(ctx, f, attrs, n_attrs);
    f->metrics = H5Gcreate2(f->file, "metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (!st && f->metrics < 0)
        st = dcn_fail(ctx, DCN_EHDF5, "%s: cannot create group /metrics", path);
    for (int i = 0; !st && i < N_METRICS; i++) {
        hsize_t dim = 0, maxdim = H5S_UNLIMITED, chunk = 64;
        hid_t space = H5Screate_simple(1, &dim, &maxdim);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 1, &chunk);
        hid_t type = i == 0 ? H5T_NATIVE_INT32 : H5T_NATIVE_DOUBLE;
        hid_t ds = H5Dcreate2(f->metrics, metric_names[i], type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (ds < 0)
            st = dcn_fail(ctx, DCN_EHDF5, "%s: cannot create /metrics/%s", path, metric_names[i]);
        else
            H5Dclose(ds);
        H5Pclose(dcpl);
        H5Sclose(space);
    }
    if (!st)
        st = trial_flush(ctx, f, 0); /* the file exists on disk from the start: the trial is running */
    if (st) {
        trial_close(NULL, f);
        return st;
    }
    *out = f;
    return DCN_OK;
}

enum dcn_status trial_append_epoch(struct dcn_ctx *ctx, struct trial_file *f, const struct trial_epoch *e)
{
    double vals[N_METRICS] = {0, e->train_loss, e->train_accuracy, e->test_loss, e->test_accuracy, e->lr, e->seconds};
    int32_t ep = e->epoch;
    for (int i = 0; i < N_METRICS; i++) {
        hid_t ds = H5Dopen2(f->metrics, metric_names[i], H5P_DEFAULT);
        if (ds < 0)
            return dcn_fail(ctx, DCN_EHDF5, "%s: missing /metrics/%s", f->path, metric_names[i]);
        hid_t space = H5Dget_space(ds);
        hsize_t n = 0, one = 1;
        H5Sget_simple_extent_dims(space, &n, NULL);
        H5Sclose(space);
        hsize_t newn = n + 1;
        herr_t rc = H5Dset_extent(ds, &newn);
        space = H5Dget_space(ds);
        H5Sselect_hyperslab(space, H5S_SELECT_SET, &n, NULL, &one, NULL);
        hid_t mem = H5Screate_simple(1, &one, NULL);
        if (rc >= 0)
            rc = i == 0 ? H5Dwrite(ds, H5T_NATIVE_INT32, mem, space, H5P_DEFAULT, &ep)
                        : H5Dwrite(ds, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, &vals[i]);
        H5Sclose(mem);
        H5Sclose(space);
        H5Dclose(ds);
        if (rc < 0)
            return dcn_fail(ctx, DCN_EHDF5, "%s: cannot append to /metrics/%s", f->path, metric_names[i]);
    }
    return trial_flush(ctx, f, 0);
}

enum dcn_status trial_write_steps(struct dcn_ctx *ctx, struct trial_file *f, const struct trial_step *rows, int n,
                                  int64_t images_per_epoch)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct trial_step));
    H5Tinsert(t, "step", HOFFSET(struct trial_step, step), H5T_NATIVE_INT64);
    H5Tinsert(t, "images", HOFFSET(struct trial_step, images), H5T_NATIVE_INT64);
    H5Tinsert(t, "epoch", HOFFSET(struct trial_step, epoch), H5T_NATIVE_INT32);
    H5Tinsert(t, "train_loss", HOFFSET(struct trial_step, train_loss), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "train_accuracy", HOFFSET(struct trial_step, train_accuracy), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "lr", HOFFSET(struct trial_step, lr), H5T_NATIVE_DOUBLE);
    if (H5Lexists(f->metrics, "steps", H5P_DEFAULT) > 0)
        H5Ldelete(f->metrics, "steps", H5P_DEFAULT);
    hsize_t dim = (hsize_t)n;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    hid_t ds = H5Dcreate2(f->metrics, "steps", t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : (n ? H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) : 0);
    if (rc >= 0)
        rc = h5_attr_set_i64(ds, "images_per_epoch", images_per_epoch);
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(space);
    H5Tclose(t);
    return rc < 0 ? dcn_fail(ctx, DCN_EHDF5, "%s: cannot write /metrics/steps", f->path) : DCN_OK;
}

static enum dcn_status write_array(struct dcn_ctx *ctx, hid_t loc, const char *path, const char *name, hid_t type,
                                   int ndim, const hsize_t *dims, const void *data)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) > 0)
        H5Ldelete(loc, name, H5P_DEFAULT);
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(space);
    if (rc < 0)
        return dcn_fail(ctx, DCN_EHDF5, "%s: cannot write dataset %s", path, name);
    return DCN_OK;
}

static hid_t open_or_create_group(hid_t file, const char *name)
{
    if (H5Lexists(file, name, H5P_DEFAULT) > 0)
        return H5Gopen2(file, name, H5P_DEFAULT);
    return H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

enum dcn_status trial_write_dag(struct dcn_ctx *ctx, struct trial_file *f, const struct dcn_graph *gr,
                                const struct dcn_dag *dag)
{
    hid_t g = open_or_create_group(f->file, "dag");
    if (g < 0)
        return dcn_fail(ctx, DCN_EHDF5, "%s: cannot create group /dag", f->path);
    int32_t *edges = malloc((size_t)(dag->m ? dag->m : 1) * 2 * sizeof *edges);
    if (!edges) {
        H5Gclose(g);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory writing the DAG", f->path);
    }
    int64_t k = 0;
    for (int i = 0; i < dag->n; i++)
        for (int64_t e = dag->pred_off[i]; e < dag->pred_off[i + 1]; e++) {
            edges[2 * k] = dag->pred[e];
            edges[2 * k + 1] = i;
            k++;
        }
    hsize_t de[2] = {(hsize_t)dag->m, 2}, dn = (hsize_t)dag->n, di = (hsize_t)dag->n_inputs,
            dout = (hsize_t)dag->n_outputs;
    enum dcn_status st = write_array(ctx, g, f->path, "edges", H5T_NATIVE_INT32, 2, de, edges);
    if (!st)
        st = write_array(ctx, g, f->path, "vertex", H5T_NATIVE_INT32, 1, &dn, dag->vertex);
    if (!st)
        st = write_array(ctx, g, f->path, "inputs", H5T_NATIVE_INT32, 1, &di, dag->inputs);
    if (!st)
        st = write_array(ctx, g, f->path, "outputs", H5T_NATIVE_INT32, 1, &dout, dag->outputs);
    struct trial_attr at[] = {{"nodes", TRIAL_INT, NULL, dag->n, 0},
                              {"edges", TRIAL_INT, NULL, dag->m, 0},
                              {"longest_path", TRIAL_INT, NULL, dag->longest_path, 0},
                              {"order", TRIAL_STR, dag_order_name(dag->order), 0, 0},
                              {"order_seed", TRIAL_INT, NULL, (int64_t)dag->order_seed, 0},
                              {"n_inputs", TRIAL_INT, NULL, dag->n_inputs, 0},
                              {"n_outputs", TRIAL_INT, NULL, dag->n_outputs, 0},
                              /* what a rewire: graph really got (fewer swaps than asked when tries ran out) */
                              {"graph_rewire_swaps", TRIAL_INT, NULL, gr->rewire_swaps, 0},
                              {"graph_rewire_tries", TRIAL_INT, NULL, gr->rewire_tries, 0}};
    enum { REWIRE_ATTRS = 2 }; /* the last entries of at, written only for a rewire: graph */
    int n_at = (int)(sizeof at / sizeof at[0]) - (gr->rewire_tries > 0 ? 0 : REWIRE_ATTRS);
    for (int i = 0; !st && i < n_at; i++)
        st = write_attr(ctx, g, f->path, &at[i]);
    free(edges);
    H5Gclose(g);
    return st;
}

static enum dcn_status write_tensors(struct dcn_ctx *ctx, struct trial_file *f, const char *group,
                                     const struct model_tensor *t, int n, const float *mem)
{
    hid_t g = open_or_create_group(f->file, group);
    if (g < 0)
        return dcn_fail(ctx, DCN_EHDF5, "%s: cannot create group /%s", f->path, group);
    enum dcn_status st = DCN_OK;
    for (int i = 0; !st && i < n; i++) {
        hsize_t dims[4];
        for (int k = 0; k < t[i].ndim; k++)
            dims[k] = (hsize_t)t[i].shape[k];
        st = write_array(ctx, g, f->path, t[i].name, H5T_NATIVE_FLOAT, t[i].ndim, dims, mem + t[i].offset);
    }
    H5Gclose(g);
    return st;
}

enum dcn_status trial_write_weights(struct dcn_ctx *ctx, struct trial_file *f, const struct model *m)
{
    enum dcn_status st = write_tensors(ctx, f, "weights", m->params, m->n_params, m->param_mem);
    if (!st)
        st = write_tensors(ctx, f, "buffers", m->buffers, m->n_buffers, m->buffer_mem);
    return st;
}

enum dcn_status trial_flush(struct dcn_ctx *ctx, struct trial_file *f, int durable)
{
    if (h5_mem_write(f->file, f->path, durable) != 0)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot write the trial file: %s", f->path, strerror(errno));
    return DCN_OK;
}

enum dcn_status trial_close(struct dcn_ctx *ctx, struct trial_file *f)
{
    if (!f)
        return DCN_OK;
    enum dcn_status st = DCN_OK;
    if (f->metrics > 0)
        H5Gclose(f->metrics);
    if (f->file > 0 && H5Fclose(f->file) < 0)
        st = ctx ? dcn_fail(ctx, DCN_EHDF5, "%s: cannot close the trial file", f->path) : DCN_EHDF5;
    free(f);
    return st;
}

enum dcn_status trial_read_attr_str(struct dcn_ctx *ctx, const char *path, const char *name, char *buf, size_t len)
{
    quiet_hdf5();
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot open as an HDF5 trial file", path);
    enum h5_attr_err e = h5_attr_text(file, name, buf, len);
    long long count = e == H5_ATTR_NOT_ONE ? h5_attr_count(file, name) : 1;
    H5Fclose(file);
    switch (e) {
    case H5_ATTR_OK:
        return DCN_OK;
    case H5_ATTR_MISSING:
        return dcn_fail(ctx, DCN_EPARSE, "%s: attribute '%s' is missing", path, name);
    case H5_ATTR_NOT_ONE: /* a list where one value is expected (found by fuzzing) */
        return dcn_fail(ctx, DCN_EPARSE, "%s: attribute '%s' holds %lld values, expected a single value", path, name,
                        count);
    case H5_ATTR_BAD_TYPE:
        return dcn_fail(ctx, DCN_EPARSE, "%s: attribute '%s' has an unexpected type", path, name);
    default:
        return dcn_fail(ctx, DCN_EHDF5, "%s: cannot read attribute '%s'", path, name);
    }
}

/* Elements of a dataset, -1 when it does not exist. */
static int32_t dataset_length(hid_t loc, const char *name)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT), sp = ds < 0 ? -1 : H5Dget_space(ds);
    hssize_t n = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    return (int32_t)n;
}

/* The DAG's inputs, outputs and longest path from /dag (files before format 1's n_inputs/n_outputs
 * attributes: the lengths of the inputs and outputs arrays). */
static void read_dag_counts(hid_t f, struct trial_outcome *o)
{
    if (H5Lexists(f, "dag", H5P_DEFAULT) <= 0)
        return;
    hid_t g = H5Gopen2(f, "dag", H5P_DEFAULT);
    if (g < 0)
        return;
    o->dag_longest_path = (int32_t)h5_attr_get_double(g, "longest_path", -1);
    o->dag_inputs = H5Aexists(g, "n_inputs") > 0 ? (int32_t)h5_attr_get_double(g, "n_inputs", -1)
                                                 : dataset_length(g, "inputs");
    o->dag_outputs = H5Aexists(g, "n_outputs") > 0 ? (int32_t)h5_attr_get_double(g, "n_outputs", -1)
                                                   : dataset_length(g, "outputs");
    H5Gclose(g);
}

enum dcn_status trial_read_outcome(struct dcn_ctx *ctx, const char *path, struct trial_outcome *o)
{
    memset(o, 0, sizeof *o);
    o->test_accuracy = o->test_loss = o->best_test_accuracy = o->wall_seconds = NAN;
    o->rank = o->dag_inputs = o->dag_outputs = o->dag_longest_path = -1;
    quiet_hdf5();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot open as an HDF5 trial file", path);
    o->test_accuracy = h5_attr_get_double(f, "test_accuracy", NAN);
    o->test_loss = h5_attr_get_double(f, "test_loss", NAN);
    o->best_test_accuracy = h5_attr_get_double(f, "best_test_accuracy", NAN);
    o->best_epoch = (int32_t)h5_attr_get_double(f, "best_epoch", 0);
    o->epochs_done = (int32_t)h5_attr_get_double(f, "epochs_done", 0);
    o->wall_seconds = h5_attr_get_double(f, "wall_seconds", NAN);
    o->rank = (int32_t)h5_attr_get_double(f, "rank", -1);
    h5_attr_get_str(f, "host", o->host, sizeof o->host);
    h5_attr_get_str(f, "reason", o->reason, sizeof o->reason);
    read_dag_counts(f, o);
    H5Fclose(f);
    return DCN_OK;
}

static enum dcn_status read_tensors(struct dcn_ctx *ctx, hid_t file, const char *path, const char *group,
                                    const struct model_tensor *t, int n, float *mem)
{
    hid_t g = H5Lexists(file, group, H5P_DEFAULT) > 0 ? H5Gopen2(file, group, H5P_DEFAULT) : -1;
    if (g < 0)
        return dcn_fail(ctx, DCN_EPARSE, "%s: group /%s is missing (was the trial finished?)", path, group);
    enum dcn_status st = DCN_OK;
    for (int i = 0; !st && i < n; i++) {
        hid_t ds = H5Lexists(g, t[i].name, H5P_DEFAULT) > 0 ? H5Dopen2(g, t[i].name, H5P_DEFAULT) : -1;
        if (ds < 0) {
            st = dcn_fail(ctx, DCN_EPARSE, "%s: /%s/%s is missing (does the model configuration match?)", path,
                          group, t[i].name);
            break;
        }
        hid_t space = H5Dget_space(ds);
        hssize_t npts = H5Sget_simple_extent_npoints(space);
        H5Sclose(space);
        if (npts != (hssize_t)t[i].size)
            st = dcn_fail(ctx, DCN_EPARSE, "%s: /%s/%s has %lld values, the model expects %zu", path, group,
                          t[i].name, (long long)npts, t[i].size);
        else if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, mem + t[i].offset) < 0)
            st = dcn_fail(ctx, DCN_EHDF5, "%s: cannot read /%s/%s", path, group, t[i].name);
        H5Dclose(ds);
    }
    H5Gclose(g);
    return st;
}

enum dcn_status trial_read_weights(struct dcn_ctx *ctx, const char *path, struct model *m)
{
    quiet_hdf5();
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot open as an HDF5 trial file", path);
    enum dcn_status st = read_tensors(ctx, file, path, "weights", m->params, m->n_params, m->param_mem);
    if (!st)
        st = read_tensors(ctx, file, path, "buffers", m->buffers, m->n_buffers, m->buffer_mem);
    H5Fclose(file);
    return st;
}
