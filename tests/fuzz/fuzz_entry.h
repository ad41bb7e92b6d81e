/* The fuzz targets' bodies, shared by the libFuzzer executables (tests/fuzz/fuzz_*.c) and by the
 * regression test (tests/test_fuzz_regressions.c), so that a regression input goes through exactly
 * the code the fuzzer ran.
 *
 * Every loader of dcn takes a path, so each body writes the input to a per-process file under
 * /dev/shm (or $DCN_FUZZ_TMP, or /tmp) with the extension the loader dispatches on, calls the
 * library's real entry point, and frees what it returned. The bodies return the library status:
 * DCN_OK or an error whose message is in ctx->err; a crash or a sanitizer report is the bug.
 *
 * Input conventions (one per target; the seed corpora in tests/fuzz/corpus/ follow them):
 *   graphml, gml   the whole input is the file (.graphml / .gml)
 *   edgelist       first byte 'R': the rest is a RandWire .txt file; any other first byte: the rest
 *                  is a plain edge list (.el)
 *   idx            starts with "DSET": the rest is four IDX files separated by "\n--SPLIT--\n"
 *                  (train images, train labels, test images, test labels) loaded with dataset_load;
 *                  otherwise the whole input is one IDX file (plain or gzip) for idx_read
 *   sweep_yaml     the whole input is the sweep file
 *   trial_h5       first byte 'R': the rest is an HDF5 file as bytes; otherwise the bytes drive a
 *                  small program that builds an HDF5 file through the HDF5 API (attributes of any
 *                  type and shape, /weights and /buffers datasets, a /summary table, odd links), so
 *                  the fuzzer explores what a well-formed but unexpected file holds rather than
 *                  HDF5's own decoder. Then trial_read_attr_str (the attributes dcn eval reads),
 *                  trial_read_weights on a small model, and report_load run on it.
 */
#ifndef DCN_FUZZ_ENTRY_H
#define DCN_FUZZ_ENTRY_H

#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dcn/core.h"
#include "dcn/data.h"
#include "dcn/graph.h"
#include "dcn/io.h"
#include "dcn/model.h"
#include "dcn/report.h"
#include "dcn/sweep.h"

/* The folder for the per-process input files. */
static inline const char *fuzz_tmpdir(void)
{
    const char *e = getenv("DCN_FUZZ_TMP");
    if (e && *e)
        return e;
    struct stat sb;
    return stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

/* path = <tmpdir>/dcn-fuzz-<pid>-<tag><ext> */
static inline void fuzz_path(char *path, size_t len, const char *tag, const char *ext)
{
    snprintf(path, len, "%s/dcn-fuzz-%d-%s%s", fuzz_tmpdir(), (int)getpid(), tag, ext);
}

static inline int fuzz_write(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = n ? fwrite(d, 1, n, f) : 0;
    int rc = fclose(f);
    return w == n && rc == 0 ? 0 : -1;
}

/* A status the library may return; anything else means corrupted state. */
static inline int fuzz_status_ok(const struct dcn_ctx *ctx, enum dcn_status st)
{
    if (st == DCN_OK)
        return 1;
    return st > DCN_OK && st <= DCN_ECHECKSUM && ctx->err[0] != '\0';
}

static inline void fuzz_ctx(struct dcn_ctx *ctx)
{
    dcn_ctx_init(ctx);
    ctx->log = NULL; /* no progress output */
    ctx->verbose = 0;
}

/* ---- graphs: graph_load (dispatch by extension), then the DAG in the data set's order ---- */
static inline enum dcn_status fuzz_graph_file(struct dcn_ctx *ctx, const char *path)
{
    struct dcn_graph *g = NULL;
    enum dcn_status st = graph_load(ctx, path, NULL, &g);
    if (!st) {
        struct dcn_dag *d = NULL;
        st = dag_build(ctx, g, DAG_ORDER_IDENTITY, 0, &d);
        dag_free(d);
    }
    graph_free(g);
    return st;
}

static inline enum dcn_status fuzz_one_graph(struct dcn_ctx *ctx, const char *ext, const uint8_t *d, size_t n)
{
    char path[512];
    fuzz_path(path, sizeof path, "graph", ext);
    if (fuzz_write(path, d, n))
        return dcn_fail(ctx, DCN_EIO, "%s: cannot write the fuzz input", path);
    enum dcn_status st = fuzz_graph_file(ctx, path);
    unlink(path);
    return st;
}

static inline enum dcn_status fuzz_one_graphml(struct dcn_ctx *ctx, const uint8_t *d, size_t n)
{
    return fuzz_one_graph(ctx, ".graphml", d, n);
}

static inline enum dcn_status fuzz_one_gml(struct dcn_ctx *ctx, const uint8_t *d, size_t n)
{
    return fuzz_one_graph(ctx, ".gml", d, n);
}

static inline enum dcn_status fuzz_one_edgelist(struct dcn_ctx *ctx, const uint8_t *d, size_t n)
{
    if (n == 0)
        return fuzz_one_graph(ctx, ".el", d, 0);
    return fuzz_one_graph(ctx, d[0] == 'R' ? ".txt" : ".el", d + 1, n - 1);
}

/* ---- IDX files and datasets ---- */
static inline const uint8_t *fuzz_memmem(const uint8_t *h, size_t hn, const char *needle)
{
    size_t nn = strlen(needle);
    for (size_t i = 0; nn <= hn && i <= hn - nn; i++)
        if (!memcmp(h + i, needle, nn))
            return h + i;
    return NULL;
}

static inline enum dcn_status fuzz_one_idx(struct dcn_ctx *ctx, const uint8_t *d, size_t n)
{
    char path[512];
    enum dcn_status st;
    if (n >= 4 && !memcmp(d, "DSET", 4)) {
        static const char *const base[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
        static const char sep[] = "\n--SPLIT--\n";
        char dir[512], file[4][600];
        fuzz_path(dir, sizeof dir, "dataset", "");
        mkdir(dir, 0755);
        const uint8_t *p = d + 4, *end = d + n;
        int nf = 0;
        for (int i = 0; i < 4; i++) {
            const uint8_t *q = i < 3 ? fuzz_memmem(p, (size_t)(end - p), sep) : NULL;
            const uint8_t *stop = q ? q : end;
            /* a part may be the file or, when its first byte is 'Z', the file under a .gz name */
            int gzname = stop > p && *p == 'Z';
            snprintf(file[i], sizeof file[i], "%s/%s%s", dir, base[i], gzname ? ".gz" : "");
            fuzz_write(file[i], p + gzname, (size_t)(stop - p - gzname));
            nf++;
            if (!q)
                break; /* fewer than four parts: the others are missing */
            p = q + strlen(sep);
        }
        struct dcn_dataset *ds = NULL;
        st = dataset_load(ctx, dir, NULL, 0, 0, &ds);
        if (!st && ds && ds->n_train > 0) {
            /* one normalised batch: touches the images through the dataset's own sizes */
            int idx = ds->n_train - 1, y = 0;
            float *x = malloc((size_t)ds->rows * (size_t)ds->cols * sizeof *x);
            if (x)
                dataset_batch(ds, 0, &idx, 1, x, &y);
            free(x);
        }
        dataset_free(ds);
        for (int i = 0; i < nf; i++)
            unlink(file[i]);
        rmdir(dir);
        return st;
    }
    fuzz_path(path, sizeof path, "idx", "-ubyte");
    if (fuzz_write(path, d, n))
        return dcn_fail(ctx, DCN_EIO, "%s: cannot write the fuzz input", path);
    struct dcn_idx idx;
    st = idx_read(ctx, path, &idx);
    if (!st) {
        /* touch the payload through the declared dimensions */
        uint64_t total = 1, sum = 0;
        for (int k = 0; k < idx.ndim; k++)
            total *= (uint64_t)idx.dims[k];
        for (uint64_t i = 0; i < total; i += 4096)
            sum += idx.data[i];
        sum += total ? idx.data[total - 1] : 0;
        (void)sum;
    }
    idx_free(&idx);
    unlink(path);
    return st;
}

/* ---- sweep files ---- */
static inline enum dcn_status fuzz_one_sweep_yaml(struct dcn_ctx *ctx, const uint8_t *d, size_t n)
{
    char path[512];
    fuzz_path(path, sizeof path, "sweep", ".yaml");
    if (fuzz_write(path, d, n))
        return dcn_fail(ctx, DCN_EIO, "%s: cannot write the fuzz input", path);
    struct sweep_spec *s = NULL;
    enum dcn_status st = sweep_load(ctx, path, &s);
    if (!st) {
        /* what --dry-run prints: every trial's strings */
        size_t acc = strlen(s->output) + strlen(s->trials_dir);
        for (int i = 0; i < s->n_trials; i++)
            acc += strlen(s->trials[i].cfg.graph) + strlen(s->trials[i].cfg.dataset) + strlen(s->trials[i].id);
        (void)acc;
    }
    sweep_free(s);
    unlink(path);
    return st;
}

/* ---- HDF5 trial and results files ---- */

/* The small model whose weights trial_read_weights loads: a 3-node DAG (a triangle in identity order),
 * 1 channel, 8x8 inputs, 2 classes. tests/fuzz/make_corpus.py writes trial files for it. */
struct fuzz_model {
    struct dcn_graph *g;
    struct dcn_dag *dag;
    struct model *m;
};

static inline struct model *fuzz_small_model(void)
{
    static struct fuzz_model fm;
    static int tried;
    if (!tried) {
        tried = 1;
        struct dcn_ctx ctx;
        fuzz_ctx(&ctx);
        const int eu[] = {0, 1, 0}, ev[] = {1, 2, 2};
        struct model_config c;
        model_config_default(&c);
        c.channels = 1;
        c.batch = 1;
        c.classes = 2;
        c.in_h = c.in_w = 8;
        if (graph_from_edges(&ctx, 3, 3, eu, ev, 0, "fuzz", &fm.g) ||
            dag_build(&ctx, fm.g, DAG_ORDER_IDENTITY, 0, &fm.dag) || model_create(&ctx, &c, fm.dag, &fm.m)) {
            fprintf(stderr, "fuzz: cannot build the small model: %s\n", ctx.err);
            abort();
        }
    }
    return fm.m;
}

/* Byte reader for the HDF5 builder: yields 0 when the input is exhausted. */
struct fuzz_bytes {
    const uint8_t *p;
    size_t n;
};

static inline unsigned fb_u8(struct fuzz_bytes *b)
{
    if (!b->n)
        return 0;
    b->n--;
    return *b->p++;
}

static inline void fb_fill(struct fuzz_bytes *b, void *dst, size_t len)
{
    uint8_t *q = dst;
    for (size_t i = 0; i < len; i++)
        q[i] = (uint8_t)fb_u8(b);
}

/* A string drawn from the input: length 0..255 (sometimes long), any bytes but NUL. */
static inline char *fb_str(struct fuzz_bytes *b, char *buf, size_t cap)
{
    size_t len = fb_u8(b);
    if (len == 255)
        len = cap - 1; /* the longest */
    if (len >= cap)
        len = cap - 1;
    for (size_t i = 0; i < len; i++) {
        unsigned c = fb_u8(b);
        buf[i] = (char)(c ? c : 'x');
    }
    buf[len] = 0;
    return buf;
}

static const char *const fuzz_attr_names[] = {
    "format_version", "status", "graph", "variant", "order", "channels", "order_seed", "batch",
    "data_mean", "data_std", "dcn_version", "updated", "test_accuracy", "nodes"};
#define FUZZ_N_ATTR_NAMES (sizeof fuzz_attr_names / sizeof fuzz_attr_names[0])

/* A type for an attribute, dataset or table column. *vlen_str tells the caller that elements are
 * char pointers. */
static inline hid_t fb_type(struct fuzz_bytes *b, int *vlen_str)
{
    *vlen_str = 0;
    switch (fb_u8(b) % 12) {
    case 0: return H5Tcopy(H5T_NATIVE_INT64);
    case 1: return H5Tcopy(H5T_NATIVE_INT8);
    case 2: return H5Tcopy(H5T_NATIVE_DOUBLE);
    case 3: return H5Tcopy(H5T_NATIVE_FLOAT);
    case 4: {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, fb_u8(b) & 1 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
        *vlen_str = 1;
        return t;
    }
    case 5: {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, 1 + fb_u8(b) % 80);
        H5Tset_strpad(t, (H5T_str_t)(fb_u8(b) % 3));
        H5Tset_cset(t, fb_u8(b) & 1 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
        return t;
    }
    case 6: {
        hid_t t = H5Tcreate(H5T_COMPOUND, 16);
        H5Tinsert(t, "a", 0, H5T_NATIVE_INT64);
        H5Tinsert(t, "b", 8, H5T_NATIVE_DOUBLE);
        return t;
    }
    case 7: {
        hsize_t dim = 1 + fb_u8(b) % 4;
        return H5Tarray_create2(H5T_NATIVE_INT32, 1, &dim);
    }
    case 8: {
        hid_t t = H5Tenum_create(H5T_NATIVE_INT32);
        int v0 = 0, v1 = 1;
        H5Tenum_insert(t, "FALSE", &v0);
        H5Tenum_insert(t, "TRUE", &v1);
        return t;
    }
    case 9: return H5Tcreate(H5T_OPAQUE, 1 + fb_u8(b) % 8);
    case 10: return H5Tcopy(H5T_NATIVE_UINT64);
    default: return H5Tcopy(H5T_STD_B8LE);
    }
}

/* A dataspace: scalar, null, or simple of rank 1..3 with small (sometimes zero) dimensions. */
static inline hid_t fb_space(struct fuzz_bytes *b)
{
    unsigned k = fb_u8(b) % 6;
    if (k == 0 || k == 5)
        return H5Screate(H5S_SCALAR);
    if (k == 1)
        return H5Screate(H5S_NULL);
    hsize_t dims[3];
    int rank = (int)k - 1; /* 1..3 */
    for (int i = 0; i < rank; i++)
        dims[i] = fb_u8(b) % 5;
    return H5Screate_simple(rank, dims, NULL);
}

/* Writes npoints elements of type t drawn from the input. */
static inline herr_t fb_write(struct fuzz_bytes *b, hid_t t, int vlen_str, hssize_t npts, int is_attr, hid_t obj)
{
    if (npts <= 0)
        return 0;
    size_t esz = H5Tget_size(t);
    size_t total = (size_t)npts * (vlen_str ? sizeof(char *) : esz);
    uint8_t *buf = calloc(total ? total : 1, 1);
    static char strs[4][300];
    if (!buf)
        return -1;
    if (vlen_str) {
        char **s = (char **)buf;
        for (hssize_t i = 0; i < npts; i++)
            s[i] = fb_u8(b) % 7 == 6 ? NULL : fb_str(b, strs[i & 3], sizeof strs[0]);
    } else {
        fb_fill(b, buf, total);
    }
    herr_t rc = is_attr ? H5Awrite(obj, t, buf) : H5Dwrite(obj, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    free(buf);
    return rc;
}

static inline void fb_attr(struct fuzz_bytes *b, hid_t loc)
{
    char name[300];
    unsigned k = fb_u8(b);
    const char *nm = k < 200 ? fuzz_attr_names[k % FUZZ_N_ATTR_NAMES] : fb_str(b, name, 64);
    if (!*nm)
        nm = "empty";
    int vs;
    hid_t t = fb_type(b, &vs), sp = fb_space(b);
    if (H5Aexists(loc, nm) > 0)
        H5Adelete(loc, nm);
    hid_t a = H5Acreate2(loc, nm, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        fb_write(b, t, vs, H5Sget_simple_extent_npoints(sp), 1, a);
        H5Aclose(a);
    }
    H5Sclose(sp);
    H5Tclose(t);
}

static inline hid_t fb_group(hid_t file, const char *name)
{
    if (H5Lexists(file, name, H5P_DEFAULT) > 0) {
        hid_t o = H5Oopen(file, name, H5P_DEFAULT); /* a dangling link or a dataset: no group */
        if (o >= 0 && H5Iget_type(o) == H5I_GROUP)
            return o;
        if (o >= 0)
            H5Oclose(o);
        return -1;
    }
    return H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

/* A dataset in /weights or /buffers: a tensor's own name and shape, or odd ones. */
static inline void fb_tensor(struct fuzz_bytes *b, hid_t file, const struct model *m)
{
    int buffers = fb_u8(b) & 1;
    const struct model_tensor *tab = buffers ? m->buffers : m->params;
    int n = buffers ? m->n_buffers : m->n_params;
    hid_t g = fb_group(file, buffers ? "buffers" : "weights");
    if (g < 0)
        return;
    unsigned k = fb_u8(b);
    char name[300];
    const struct model_tensor *t = n ? &tab[k % (unsigned)n] : NULL;
    const char *nm = k < 230 && t ? t->name : fb_str(b, name, 64);
    if (!*nm)
        nm = "empty";
    unsigned shape = fb_u8(b) % 4;
    hid_t sp;
    if (shape < 2 && t) { /* the tensor's shape (as written), or the same size flat */
        hsize_t dims[4];
        for (int i = 0; i < t->ndim; i++)
            dims[i] = (hsize_t)t->shape[i];
        hsize_t flat = (hsize_t)t->size;
        sp = shape == 0 ? H5Screate_simple(t->ndim, dims, NULL) : H5Screate_simple(1, &flat, NULL);
    } else {
        sp = fb_space(b);
    }
    int vs = 0;
    hid_t ty = fb_u8(b) % 3 ? H5Tcopy(H5T_NATIVE_FLOAT) : fb_type(b, &vs);
    if (H5Lexists(g, nm, H5P_DEFAULT) > 0)
        H5Ldelete(g, nm, H5P_DEFAULT);
    hid_t ds = H5Dcreate2(g, nm, ty, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0) {
        fb_write(b, ty, vs, H5Sget_simple_extent_npoints(sp), 0, ds);
        H5Dclose(ds);
    }
    H5Tclose(ty);
    H5Sclose(sp);
    H5Oclose(g);
}

/* A /summary table with some of the columns report_load reads, of varying types. */
static inline void fb_summary(struct fuzz_bytes *b, hid_t file)
{
    static const char *const cols[] = {"index", "id", "graph", "dataset", "variant", "frozen", "seed", "order",
                                       "order_seed", "epochs", "batch", "channels", "train_limit", "test_limit",
                                       "lr", "status", "test_accuracy", "best_test_accuracy", "epochs_done",
                                       "reason", "rank", "host"};
    const size_t ncols = sizeof cols / sizeof cols[0];
    hid_t member[sizeof cols / sizeof cols[0]];
    int is_vs[sizeof cols / sizeof cols[0]];
    size_t off[sizeof cols / sizeof cols[0]], size = 0;
    unsigned mask_lo = fb_u8(b), mask_hi = fb_u8(b), mask_top = fb_u8(b);
    uint32_t mask = ~(uint32_t)0;
    if (mask_top & 1) /* sometimes a random subset of the columns */
        mask = mask_lo | mask_hi << 8 | (mask_top >> 1) << 16;
    int nm = 0;
    for (size_t i = 0; i < ncols; i++) {
        member[i] = -1;
        if (!(mask >> i & 1))
            continue;
        unsigned how = fb_u8(b) % 4;
        if (how == 0) { /* the type dcn writes: strings fixed-size, numbers native */
            int text = i == 1 || i == 2 || i == 3 || i == 4 || i == 7 || i == 15 || i == 19 || i == 21;
            if (text) {
                member[i] = H5Tcopy(H5T_C_S1);
                H5Tset_size(member[i], 1 + fb_u8(b) % 300);
            } else {
                member[i] = H5Tcopy(i == 14 || i == 16 || i == 17 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64);
            }
            is_vs[i] = 0;
        } else {
            member[i] = fb_type(b, &is_vs[i]);
        }
        off[i] = size;
        size += is_vs[i] ? sizeof(char *) : H5Tget_size(member[i]);
        nm++;
    }
    hid_t ct = H5Tcreate(H5T_COMPOUND, size ? size : 1);
    for (size_t i = 0; i < ncols; i++)
        if (member[i] >= 0)
            H5Tinsert(ct, cols[i], off[i], member[i]);
    unsigned rk = fb_u8(b) % 8;
    hsize_t rows = fb_u8(b) % 6, dims2[2] = {rows, 2};
    hid_t sp = rk == 7 ? H5Screate_simple(2, dims2, NULL) : rk == 6 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &rows, NULL);
    if (H5Lexists(file, "summary", H5P_DEFAULT) > 0)
        H5Ldelete(file, "summary", H5P_DEFAULT);
    hid_t ds = nm ? H5Dcreate2(file, "summary", ct, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    hssize_t npts = H5Sget_simple_extent_npoints(sp);
    if (ds >= 0 && npts > 0) {
        uint8_t *buf = calloc((size_t)npts, size ? size : 1);
        static char strs[8][300];
        int si = 0;
        for (hssize_t r = 0; buf && r < npts; r++)
            for (size_t i = 0; i < ncols; i++) {
                if (member[i] < 0)
                    continue;
                uint8_t *q = buf + (size_t)r * size + off[i];
                if (is_vs[i]) {
                    char *s = fb_u8(b) % 7 == 6 ? NULL : fb_str(b, strs[si++ & 7], sizeof strs[0]);
                    memcpy(q, &s, sizeof s);
                } else {
                    fb_fill(b, q, H5Tget_size(member[i]));
                }
            }
        if (buf)
            H5Dwrite(ds, ct, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        free(buf);
    }
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(ct);
    for (size_t i = 0; i < ncols; i++)
        if (member[i] >= 0)
            H5Tclose(member[i]);
}

/* Builds an HDF5 file at path from the input bytes. */
static inline void fuzz_build_h5(const char *path, const uint8_t *d, size_t n, const struct model *m)
{
    struct fuzz_bytes b = {d, n};
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0)
        return;
    for (int op = 0; b.n && op < 64; op++) {
        switch (fb_u8(&b) % 8) {
        case 0:
        case 1: fb_attr(&b, file); break;
        case 2:
        case 3: fb_tensor(&b, file, m); break;
        case 4: fb_summary(&b, file); break;
        case 5: { /* an attribute on a group or table */
            static const char *const objs[] = {"weights", "buffers", "metrics", "summary"};
            const char *o = objs[fb_u8(&b) % 4];
            if (H5Lexists(file, o, H5P_DEFAULT) > 0) {
                hid_t obj = H5Oopen(file, o, H5P_DEFAULT);
                if (obj >= 0) {
                    fb_attr(&b, obj);
                    H5Oclose(obj);
                }
            }
            break;
        }
        default: { /* the names dcn looks up, as something else: group, scalar dataset, dangling soft
                    * link, link back to the root, external link to a missing file */
            static const char *const names[] = {"weights", "buffers", "metrics", "summary"};
            const char *nm = names[fb_u8(&b) % 4];
            if (H5Lexists(file, nm, H5P_DEFAULT) > 0)
                H5Ldelete(file, nm, H5P_DEFAULT);
            switch (fb_u8(&b) % 5) {
            case 0: {
                hid_t g = H5Gcreate2(file, nm, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
                if (g >= 0)
                    H5Gclose(g);
                break;
            }
            case 1: {
                hid_t sp = H5Screate(H5S_SCALAR);
                hid_t ds = H5Dcreate2(file, nm, H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
                if (ds >= 0)
                    H5Dclose(ds);
                H5Sclose(sp);
                break;
            }
            case 2: H5Lcreate_soft("/nowhere", file, nm, H5P_DEFAULT, H5P_DEFAULT); break;
            case 3: H5Lcreate_hard(file, "/", file, nm, H5P_DEFAULT, H5P_DEFAULT); break;
            default: H5Lcreate_external("/nonexistent/dcn-fuzz.h5", "/x", file, nm, H5P_DEFAULT, H5P_DEFAULT); break;
            }
            break;
        }
        }
    }
    H5Fclose(file);
}

/* The reads dcn eval and dcn report make, on the file at path. Returns the first failure (all
 * readers run either way). */
static inline enum dcn_status fuzz_read_h5(struct dcn_ctx *ctx, const char *path, struct model *m)
{
    enum dcn_status first = DCN_OK;
    char buf[1024];
    for (size_t i = 0; i < FUZZ_N_ATTR_NAMES; i++) {
        struct dcn_ctx c;
        fuzz_ctx(&c);
        enum dcn_status st = trial_read_attr_str(&c, path, fuzz_attr_names[i], buf, i & 1 ? sizeof buf : 8);
        if (st && !first) {
            first = st;
            *ctx = c;
        }
    }
    struct dcn_ctx c;
    fuzz_ctx(&c);
    enum dcn_status st = trial_read_weights(&c, path, m);
    if (st && !first) {
        first = st;
        *ctx = c;
    }
    struct report_results *r = NULL;
    fuzz_ctx(&c);
    st = report_load(&c, path, &r);
    if (!st) {
        unsigned keys = report_default_keys(r);
        struct report_group *g = NULL;
        int ng = 0;
        st = report_group(&c, r, keys, &g, &ng);
        free(g);
    }
    report_free(r);
    if (st && !first) {
        first = st;
        *ctx = c;
    }
    return first;
}

static inline enum dcn_status fuzz_one_trial_h5(struct dcn_ctx *ctx, const uint8_t *d, size_t n)
{
    struct model *m = fuzz_small_model();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char path[512];
    fuzz_path(path, sizeof path, "trial", ".h5");
    if (n && d[0] == 'R') {
        if (fuzz_write(path, d + 1, n - 1))
            return dcn_fail(ctx, DCN_EIO, "%s: cannot write the fuzz input", path);
    } else {
        fuzz_build_h5(path, n ? d + 1 : d, n ? n - 1 : 0, m);
    }
    enum dcn_status st = fuzz_read_h5(ctx, path, m);
    unlink(path);
    return st;
}

#endif
