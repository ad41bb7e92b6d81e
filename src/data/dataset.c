/* Image classification datasets stored as four IDX files (the MNIST layout), by name under the data
 * folder or from any folder. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dcn/data.h"

#define KMNIST_URL "http://codh.rois.ac.jp/kmnist/dataset/kmnist/"

static const char *const known_names[] = {"mnist", "fashion", "kmnist"};

int dataset_is_known_name(const char *name)
{
    for (size_t i = 0; i < sizeof known_names / sizeof known_names[0]; i++)
        if (!strcmp(name, known_names[i]))
            return 1;
    return 0;
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && !S_ISDIR(sb.st_mode);
}

/* What to do about a dataset that is not there: names the fetch command, or for KMNIST (which has
 * no package mirror) where to download it by hand. */
static const char *missing_hint(const char *name)
{
    if (!strcmp(name, "kmnist"))
        return "download the four official .gz files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
               "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) from " KMNIST_URL " and place them in "
               "that folder (or run `dcn data fetch kmnist` where that site is reachable)";
    if (!strcmp(name, "mnist"))
        return "run `dcn data fetch mnist`";
    if (!strcmp(name, "fashion"))
        return "run `dcn data fetch fashion`";
    return "the folder must hold train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
           "t10k-labels-idx1-ubyte (each optionally .gz)";
}

/* Finds dir/base or dir/base.gz (plain preferred: it is what a user who decompressed by hand has). */
static enum dcn_status find_file(struct dcn_ctx *ctx, const char *name, const char *dir, const char *base,
                                 char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, base);
    if (is_file(path))
        return DCN_OK;
    snprintf(path, len, "%s/%s.gz", dir, base);
    if (is_file(path))
        return DCN_OK;
    return dcn_fail(ctx, DCN_EIO, "%s/%s: missing (neither it nor %s.gz exists): %s", dir, base, base,
                    missing_hint(name));
}

void dataset_free(struct dcn_dataset *ds)
{
    if (!ds)
        return;
    free(ds->train_x);
    free(ds->train_y);
    free(ds->test_x);
    free(ds->test_y);
    free(ds);
}

static enum dcn_status check_pair(struct dcn_ctx *ctx, const struct dcn_idx *x, const char *xpath,
                                  const struct dcn_idx *y, const char *ypath)
{
    if (x->ndim != 3)
        return dcn_fail(ctx, DCN_EPARSE, "%s: images must have 3 dimensions (count, rows, cols), found %d", xpath,
                        x->ndim);
    if (y->ndim != 1)
        return dcn_fail(ctx, DCN_EPARSE, "%s: labels must have 1 dimension (count), found %d", ypath, y->ndim);
    if (x->count != y->count)
        return dcn_fail(ctx, DCN_EPARSE, "%s: %lld labels, but %s has %lld images", ypath, (long long)y->count,
                        xpath, (long long)x->count);
    return DCN_OK;
}

/* Mean and standard deviation of pixel/255 over n images, from a byte histogram: exact sums in
 * integers, then one pass in double over 256 values, so the result does not depend on image order. */
static void pixel_stats(const uint8_t *x, size_t n, double *mean, double *std)
{
    uint64_t hist[256] = {0};
    for (size_t i = 0; i < n; i++)
        hist[x[i]]++;
    double s = 0, m;
    for (int v = 0; v < 256; v++)
        s += (double)hist[v] * (v / 255.0);
    m = n ? s / (double)n : 0.0;
    double ss = 0;
    for (int v = 0; v < 256; v++) {
        double d = v / 255.0 - m;
        ss += (double)hist[v] * d * d;
    }
    *mean = m;
    *std = n ? sqrt(ss / (double)n) : 0.0;
}

/* Keeps the first keep rows of an (n, row) byte array, returning the memory beyond them. */
static uint8_t *shrink(uint8_t *p, size_t keep_bytes)
{
    uint8_t *q = realloc(p, keep_bytes ? keep_bytes : 1);
    return q ? q : p;
}

enum dcn_status dataset_load(struct dcn_ctx *ctx, const char *name_or_dir, const char *data_dir,
                             int train_limit, int test_limit, struct dcn_dataset **out)
{
    *out = NULL;
    if (!name_or_dir || !*name_or_dir)
        return dcn_fail(ctx, DCN_EINVAL, "no dataset given (a name: mnist, fashion, kmnist; or a folder)");
    if (train_limit < 0 || test_limit < 0)
        return dcn_fail(ctx, DCN_EINVAL, "%s: negative train/test limit (%d, %d)", name_or_dir, train_limit,
                        test_limit);
    char ddir[1024], dir[1024];
    int named = dataset_is_known_name(name_or_dir);
    if (named) {
        if (!data_dir || !*data_dir)
            data_dir = dcn_data_dir(ddir, sizeof ddir);
        if ((size_t)snprintf(dir, sizeof dir, "%s/%s", data_dir, name_or_dir) >= sizeof dir)
            return dcn_fail(ctx, DCN_EINVAL, "%s: data folder path too long", data_dir);
        if (!is_dir(dir)) {
            return dcn_fail(ctx, DCN_EIO, "dataset %s not found: no folder %s: %s", name_or_dir, dir,
                            missing_hint(name_or_dir));
        }
    } else {
        if ((size_t)snprintf(dir, sizeof dir, "%s", name_or_dir) >= sizeof dir)
            return dcn_fail(ctx, DCN_EINVAL, "%.64s...: dataset folder path too long", name_or_dir);
        if (!is_dir(dir))
            return dcn_fail(ctx, DCN_EIO, "%s: not a dataset name (mnist, fashion, kmnist) nor a folder (%s)",
                            name_or_dir, is_file(dir) ? "it is a file" : "no such folder");
    }

    static const char *const base[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char path[4][1200];
    struct dcn_idx idx[4];
    memset(idx, 0, sizeof idx);
    enum dcn_status st = DCN_OK;
    struct dcn_dataset *ds = NULL;
    for (int i = 0; i < 4 && st == DCN_OK; i++)
        st = find_file(ctx, name_or_dir, dir, base[i], path[i], sizeof path[i]);
    for (int i = 0; i < 4 && st == DCN_OK; i++)
        st = idx_read(ctx, path[i], &idx[i]);
    if (st != DCN_OK)
        goto fail;
    if ((st = check_pair(ctx, &idx[0], path[0], &idx[1], path[1])) != DCN_OK ||
        (st = check_pair(ctx, &idx[2], path[2], &idx[3], path[3])) != DCN_OK)
        goto fail;
    if (idx[0].dims[1] != idx[2].dims[1] || idx[0].dims[2] != idx[2].dims[2]) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s: images are %dx%d but the training images (%s) are %dx%d", path[2],
                      idx[2].dims[1], idx[2].dims[2], path[0], idx[0].dims[1], idx[0].dims[2]);
        goto fail;
    }
    /* The classes are those of the whole training split (before any limit, so that a limited run
     * still has the full output layer); a test label the training split never reaches would be a
     * class the model cannot predict, which means mismatched files. */
    int maxlab = 0;
    for (int64_t i = 0; i < idx[1].count; i++)
        if (idx[1].data[i] > maxlab)
            maxlab = idx[1].data[i];
    int classes = maxlab + 1; /* <= 256 since labels are bytes */
    for (int64_t i = 0; i < idx[3].count; i++)
        if (idx[3].data[i] >= classes) {
            st = dcn_fail(ctx, DCN_EPARSE,
                          "%s: label %d at index %lld is out of range: the training labels (%s) have %d classes (0..%d)",
                          path[3], idx[3].data[i], (long long)i, path[1], classes, classes - 1);
            goto fail;
        }

    ds = calloc(1, sizeof *ds);
    if (!ds) {
        st = dcn_fail(ctx, DCN_ENOMEM, "%s: cannot allocate the dataset", dir);
        goto fail;
    }
    snprintf(ds->name, sizeof ds->name, "%s", name_or_dir);
    snprintf(ds->dir, sizeof ds->dir, "%s", dir);
    ds->rows = idx[0].dims[1];
    ds->cols = idx[0].dims[2];
    ds->classes = classes;
    size_t px = (size_t)ds->rows * (size_t)ds->cols;
    ds->n_train = (int)idx[0].count;
    ds->n_test = (int)idx[2].count;
    if (train_limit > 0 && train_limit < ds->n_train)
        ds->n_train = train_limit;
    if (test_limit > 0 && test_limit < ds->n_test)
        ds->n_test = test_limit;
    /* the dataset takes over the IDX buffers */
    ds->train_x = shrink(idx[0].data, (size_t)ds->n_train * px);
    ds->train_y = shrink(idx[1].data, (size_t)ds->n_train);
    ds->test_x = shrink(idx[2].data, (size_t)ds->n_test * px);
    ds->test_y = shrink(idx[3].data, (size_t)ds->n_test);
    double mean, sd;
    pixel_stats(ds->train_x, (size_t)ds->n_train * px, &mean, &sd);
    ds->mean = (float)mean;
    /* constant images would divide by zero; 1 leaves them merely centred */
    ds->std = sd > 0 ? (float)sd : 1.0f;
    *out = ds;
    return DCN_OK;
fail:
    for (int i = 0; i < 4; i++)
        idx_free(&idx[i]);
    return st;
}

void dataset_batch(const struct dcn_dataset *ds, int split, const int *idx, int B, float *x, int *y)
{
    const uint8_t *src_x = split ? ds->test_x : ds->train_x;
    const uint8_t *src_y = split ? ds->test_y : ds->train_y;
    size_t px = (size_t)ds->rows * (size_t)ds->cols;
    /* (p/255 - mean)/std as one multiply-add per pixel, via a 256-entry table */
    float lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (float)(((double)v / 255.0 - (double)ds->mean) / (double)ds->std);
    for (int b = 0; b < B; b++) {
        const uint8_t *p = src_x + (size_t)idx[b] * px;
        float *q = x + (size_t)b * px;
        for (size_t i = 0; i < px; i++)
            q[i] = lut[p[i]];
        if (y)
            y[b] = src_y[idx[b]];
    }
}
