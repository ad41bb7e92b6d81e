/* Trial checkpoints: model parameters, BN buffers, Adam moments and step, the data-order state and the
 * metrics so far, in one small HDF5 file written atomically (tmp + rename). */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcn/io.h"
#include "io/h5util.h"

static herr_t put(hid_t f, const char *name, hid_t type, hsize_t n, const void *data)
{
    hsize_t dim = n ? n : 1;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t ds = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : (n ? H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0);
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(sp);
    return rc;
}

static herr_t get(hid_t f, const char *name, hid_t type, hsize_t n, void *data)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    hid_t sp = H5Dget_space(ds);
    hssize_t have = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    herr_t rc = -1;
    if ((hsize_t)have == (n ? n : 1))
        rc = n ? H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0;
    H5Dclose(ds);
    return rc;
}

/* The learning curve so far and the sums of the steps since its last row: "steps" holds 6 doubles
 * per row (step and images are exact in a double far beyond any trial's length). */
static herr_t put_steps(hid_t f, const struct train_state *s)
{
    int n = s->n_steps_logged;
    double *v = malloc((size_t)(n ? n : 1) * 6 * sizeof *v);
    if (!v)
        return -1;
    for (int i = 0; i < n; i++) {
        const struct trial_step *r = &s->steps[i];
        double row[6] = {(double)r->step, (double)r->images, r->epoch, r->train_loss, r->train_accuracy, r->lr};
        memcpy(v + 6 * i, row, sizeof row);
    }
    double acc[2] = {s->step_loss, (double)s->step_correct};
    herr_t rc = put(f, "steps", H5T_NATIVE_DOUBLE, (hsize_t)n * 6, v);
    if (rc >= 0)
        rc = put(f, "steps_sums", H5T_NATIVE_DOUBLE, 2, acc);
    free(v);
    return rc;
}

/* Reads what put_steps wrote; a checkpoint without it (written before dcn kept the curve) gives no rows. */
static int get_steps(hid_t f, struct train_state *s)
{
    s->n_steps_logged = 0;
    s->step_loss = 0;
    s->step_correct = 0;
    s->steps = calloc(DCN_STEP_ROWS_MAX + 1, sizeof *s->steps);
    if (!s->steps)
        return -1;
    if (H5Lexists(f, "steps", H5P_DEFAULT) <= 0)
        return 0;
    hid_t ds = H5Dopen2(f, "steps", H5P_DEFAULT);
    hid_t sp = ds < 0 ? -1 : H5Dget_space(ds);
    hssize_t have = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    /* an empty curve is stored as one placeholder value */
    int n = have == 1 ? 0 : (int)(have / 6);
    if (have < 1 || (have != 1 && have % 6) || n > DCN_STEP_ROWS_MAX + 1)
        return -1;
    double *v = malloc((size_t)(n ? n : 1) * 6 * sizeof *v), acc[2];
    int rc = v && get(f, "steps", H5T_NATIVE_DOUBLE, (hsize_t)n * 6, v) >= 0 &&
                     get(f, "steps_sums", H5T_NATIVE_DOUBLE, 2, acc) >= 0 ? 0 : -1;
    for (int i = 0; !rc && i < n; i++) {
        const double *r = v + 6 * i;
        s->steps[i] = (struct trial_step){(int64_t)r[0], (int64_t)r[1], (int32_t)r[2], r[3], r[4], r[5]};
    }
    if (!rc) {
        s->n_steps_logged = n;
        s->step_loss = acc[0];
        s->step_correct = (int64_t)acc[1];
    }
    free(v);
    return rc;
}

/* Scalars travel as one int64 and one double vector: fewer objects, one place to extend. */
enum { I_EPOCH, I_STEP, I_GSTEP, I_CORRECT, I_IMAGES, I_BEST_EPOCH, I_NTRAIN, I_NHIST, I_ADAM_T,
       I_PARAMS, I_BUFFERS, I_N };
enum { D_LOSS, D_TRAIN_TIME, D_BEST, D_ELAPSED, D_N };

enum dcn_status ckpt_write(struct dcn_ctx *ctx, const char *path, const struct train_state *s, const struct model *m)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t f = h5_mem_create();
    if (f < 0)
        return dcn_fail(ctx, DCN_ENOMEM, "%s: cannot build the checkpoint in memory", tmp);
    int64_t iv[I_N] = {s->epoch, s->step, s->gstep, s->correct, s->train_images, s->best_epoch, s->n_train,
                       s->n_epochs_logged, m->adam_t, (int64_t)m->param_floats, (int64_t)m->buffer_floats};
    double dv[D_N] = {s->loss_sum, s->train_time, s->best_acc, s->elapsed};
    int nh = s->n_epochs_logged;
    double *hist = malloc((size_t)(nh ? nh : 1) * 7 * sizeof *hist);
    herr_t rc = hist ? 0 : -1;
    for (int i = 0; rc >= 0 && i < nh; i++) {
        const struct trial_epoch *e = &s->history[i];
        double row[7] = {e->epoch, e->train_loss, e->train_accuracy, e->test_loss, e->test_accuracy, e->lr, e->seconds};
        memcpy(hist + 7 * i, row, sizeof row);
    }
    const char *fp = s->fingerprint;
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t at = H5Acreate2(f, "fingerprint", st, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (rc >= 0)
        rc = at < 0 ? -1 : H5Awrite(at, st, &fp);
    if (at >= 0)
        H5Aclose(at);
    H5Sclose(sp);
    H5Tclose(st);
    if (rc >= 0)
        rc = put(f, "ints", H5T_NATIVE_INT64, I_N, iv);
    if (rc >= 0)
        rc = put(f, "doubles", H5T_NATIVE_DOUBLE, D_N, dv);
    if (rc >= 0)
        rc = put(f, "rng", H5T_NATIVE_UINT64, 4, s->rng);
    if (rc >= 0)
        rc = put(f, "perm", H5T_NATIVE_INT, (hsize_t)s->n_train, s->perm);
    if (rc >= 0)
        rc = put(f, "history", H5T_NATIVE_DOUBLE, (hsize_t)nh * 7, hist);
    if (rc >= 0)
        rc = put_steps(f, s);
    if (rc >= 0)
        rc = put(f, "params", H5T_NATIVE_FLOAT, m->param_floats, m->param_mem);
    if (rc >= 0)
        rc = put(f, "adam_m", H5T_NATIVE_FLOAT, m->param_floats, m->adam_m);
    if (rc >= 0)
        rc = put(f, "adam_v", H5T_NATIVE_FLOAT, m->param_floats, m->adam_v);
    if (rc >= 0)
        rc = put(f, "buffers", H5T_NATIVE_FLOAT, m->buffer_floats, m->buffer_mem);
    free(hist);
    if (rc < 0) {
        H5Fclose(f);
        return dcn_fail(ctx, DCN_EHDF5, "%s: cannot build the checkpoint", tmp);
    }
    if (h5_mem_save(f, tmp) != 0)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot write the checkpoint: %s", tmp, strerror(errno));
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return dcn_fail(ctx, DCN_EIO, "%s: cannot rename the checkpoint into place", path);
    }
    return DCN_OK;
}

enum dcn_status ckpt_read(struct dcn_ctx *ctx, const char *path, struct train_state *s, struct model *m)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return dcn_fail(ctx, DCN_EIO, "%s: no checkpoint", path);
    fclose(probe);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return dcn_fail(ctx, DCN_EPARSE, "%s: damaged checkpoint (not an HDF5 file)", path);
    enum dcn_status ret = DCN_OK;
    char want[sizeof s->fingerprint];
    memcpy(want, s->fingerprint, sizeof want);
    int64_t iv[I_N];
    double dv[D_N];
    char *fp = NULL;
    hid_t at = H5Aexists(f, "fingerprint") > 0 ? H5Aopen(f, "fingerprint", H5P_DEFAULT) : -1;
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    if (at >= 0) {
        /* read in the file's own character set (HDF5 converts none) and only variable-length strings */
        hid_t ft = H5Aget_type(at);
        H5Tset_cset(st, H5Tget_cset(ft));
        if (H5Tis_variable_str(ft) <= 0) {
            H5Aclose(at);
            at = -1;
        }
        H5Tclose(ft);
    }
    if (at < 0 || H5Aread(at, st, &fp) < 0 || !fp) {
        ret = dcn_fail(ctx, DCN_EPARSE, "%s: damaged checkpoint (no fingerprint)", path);
    } else if (strcmp(fp, want)) {
        ret = dcn_fail(ctx, DCN_EINVAL, "%s: checkpoint belongs to another configuration ('%s', expected '%s')",
                       path, fp, want);
    }
    if (fp)
        H5free_memory(fp);
    H5Tclose(st);
    if (at >= 0)
        H5Aclose(at);
    if (!ret && (get(f, "ints", H5T_NATIVE_INT64, I_N, iv) < 0 || get(f, "doubles", H5T_NATIVE_DOUBLE, D_N, dv) < 0))
        ret = dcn_fail(ctx, DCN_EPARSE, "%s: damaged checkpoint (counters)", path);
    if (!ret && (iv[I_PARAMS] != (int64_t)m->param_floats || iv[I_BUFFERS] != (int64_t)m->buffer_floats ||
                 iv[I_NTRAIN] != s->n_train))
        ret = dcn_fail(ctx, DCN_EPARSE, "%s: checkpoint does not match the model or dataset size", path);
    double *hist = NULL;
    if (!ret) {
        s->epoch = (int)iv[I_EPOCH];
        s->step = (int)iv[I_STEP];
        s->gstep = iv[I_GSTEP];
        s->correct = iv[I_CORRECT];
        s->train_images = iv[I_IMAGES];
        s->best_epoch = (int)iv[I_BEST_EPOCH];
        s->n_epochs_logged = (int)iv[I_NHIST];
        m->adam_t = (int)iv[I_ADAM_T];
        s->loss_sum = dv[D_LOSS];
        s->train_time = dv[D_TRAIN_TIME];
        s->best_acc = dv[D_BEST];
        s->elapsed = dv[D_ELAPSED];
        int nh = s->n_epochs_logged;
        hist = malloc((size_t)(nh ? nh : 1) * 7 * sizeof *hist);
        s->history = calloc((size_t)(nh ? nh : 1), sizeof *s->history);
        if (!s->perm)
            s->perm = malloc((size_t)s->n_train * sizeof *s->perm);
        if (!hist || !s->history || !s->perm)
            ret = dcn_fail(ctx, DCN_ENOMEM, "%s: out of memory reading the checkpoint", path);
    }
    if (!ret && (get(f, "rng", H5T_NATIVE_UINT64, 4, s->rng) < 0 ||
                 get(f, "perm", H5T_NATIVE_INT, (hsize_t)s->n_train, s->perm) < 0 ||
                 get(f, "history", H5T_NATIVE_DOUBLE, (hsize_t)s->n_epochs_logged * 7, hist) < 0 ||
                 get(f, "params", H5T_NATIVE_FLOAT, m->param_floats, m->param_mem) < 0 ||
                 get(f, "adam_m", H5T_NATIVE_FLOAT, m->param_floats, m->adam_m) < 0 ||
                 get(f, "adam_v", H5T_NATIVE_FLOAT, m->param_floats, m->adam_v) < 0 ||
                 get(f, "buffers", H5T_NATIVE_FLOAT, m->buffer_floats, m->buffer_mem) < 0 || get_steps(f, s) < 0))
        ret = dcn_fail(ctx, DCN_EPARSE, "%s: damaged checkpoint (arrays)", path);
    for (int i = 0; !ret && i < s->n_epochs_logged; i++) {
        const double *r = hist + 7 * i;
        s->history[i] = (struct trial_epoch){(int)r[0], r[1], r[2], r[3], r[4], r[5], r[6]};
    }
    if (!ret)
        for (int i = 0; i < s->n_train; i++)
            if (s->perm[i] < 0 || s->perm[i] >= s->n_train) {
                ret = dcn_fail(ctx, DCN_EPARSE, "%s: damaged checkpoint (data order)", path);
                break;
            }
    free(hist);
    H5Fclose(f);
    return ret;
}
