/* Tests of the data module: the IDX reader on generated plain and gzip fixtures (valid and broken in
 * every way the reader checks), dataset loading by folder and by name, the training-set statistics
 * against a direct computation, and batch normalisation. No network; one test reads real MNIST from
 * the data folder ($DCN_DATA_DIR, else data/cache), which the README's test command (tests/run.sh)
 * fetches, so without it that test fails with a message naming the folder. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cunit_main.h"
#include "dcn/data.h"

/* ---- fixture writers ---- */

/* An IDX image in memory: header (type, ndim, dims) then n payload bytes. */
static size_t idx_bytes(uint8_t *buf, int type, int ndim, const uint32_t *dims, const uint8_t *payload,
                        size_t n)
{
    size_t k = 0;
    buf[k++] = 0;
    buf[k++] = 0;
    buf[k++] = (uint8_t)type;
    buf[k++] = (uint8_t)ndim;
    for (int d = 0; d < ndim; d++) {
        buf[k++] = (uint8_t)(dims[d] >> 24);
        buf[k++] = (uint8_t)(dims[d] >> 16);
        buf[k++] = (uint8_t)(dims[d] >> 8);
        buf[k++] = (uint8_t)dims[d];
    }
    if (n)
        memcpy(buf + k, payload, n);
    return k + n;
}

static void write_raw(const char *path, const uint8_t *b, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        if (n)
            CU_ASSERT_EQUAL(gzwrite(f, b, (unsigned)n), (int)n);
        CU_ASSERT_EQUAL(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        if (n)
            CU_ASSERT_EQUAL(fwrite(b, 1, n, f), n);
        fclose(f);
    }
}

/* Writes an IDX file of unsigned bytes; extra > 0 appends that many garbage bytes, cut > 0 drops
 * that many bytes from the end of the payload (both inside the gzip stream when gz). */
static void write_idx(const char *path, int gz, int type, int ndim, const uint32_t *dims, const uint8_t *payload,
                      size_t n, size_t extra, size_t cut)
{
    uint8_t *buf = malloc(4 + 4 * (size_t)ndim + n + extra);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    size_t k = idx_bytes(buf, type, ndim, dims, payload, n);
    for (size_t i = 0; i < extra; i++)
        buf[k++] = (uint8_t)(0xA5 ^ i);
    write_raw(path, buf, k - cut, gz);
    free(buf);
}

static const char *fixture(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dcn_test_tmpdir(), name);
    return buf;
}

static void make_dir(const char *path)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

/* Deterministic pseudo-random payload (no RNG state shared with anything else). */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* Checks a failed read: status st and a message naming the file and containing what. */
static void expect_fail(struct dcn_ctx *ctx, enum dcn_status got, enum dcn_status st, const char *path,
                        const char *what)
{
    CU_ASSERT_EQUAL(got, st);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx->err, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx->err, what));
    if (getenv("DCN_TEST_SHOW_ERRORS"))
        fprintf(stderr, "\n    [%s] %s", dcn_strstatus(got), ctx->err);
    if (!strstr(ctx->err, path) || !strstr(ctx->err, what) || got != st)
        fprintf(stderr, "\n  status %d (want %d), message: %s\n  (want it to name %s and say '%s')\n", got, st,
                ctx->err, path, what);
}

/* ---- IDX reader ---- */

static void test_idx_plain_roundtrip(void)
{
    char p[512];
    fixture(p, sizeof p, "ok3.idx");
    uint32_t dims[3] = {5, 3, 4};
    uint8_t v[60];
    fill(v, sizeof v, 1);
    write_idx(p, 0, 0x08, 3, dims, v, sizeof v, 0, 0);
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    CU_ASSERT_EQUAL_FATAL(idx_read(&ctx, p, &idx), DCN_OK);
    CU_ASSERT_EQUAL(idx.ndim, 3);
    CU_ASSERT_EQUAL(idx.dims[0], 5);
    CU_ASSERT_EQUAL(idx.dims[1], 3);
    CU_ASSERT_EQUAL(idx.dims[2], 4);
    CU_ASSERT_EQUAL(idx.count, 5);
    CU_ASSERT_EQUAL(memcmp(idx.data, v, sizeof v), 0);
    idx_free(&idx);
    CU_ASSERT_PTR_NULL(idx.data);
}

/* gzip is recognised by content: the .gz-less name must not matter; 1 and 4 dimensions work. */
static void test_idx_gz_roundtrip(void)
{
    char p[512];
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    uint8_t v[2 * 3 * 4 * 5];
    fill(v, sizeof v, 2);
    uint32_t d4[4] = {2, 3, 4, 5};
    fixture(p, sizeof p, "ok4-gzip-without-suffix");
    write_idx(p, 1, 0x08, 4, d4, v, sizeof v, 0, 0);
    CU_ASSERT_EQUAL_FATAL(idx_read(&ctx, p, &idx), DCN_OK);
    CU_ASSERT_EQUAL(idx.ndim, 4);
    CU_ASSERT_EQUAL(idx.dims[3], 5);
    CU_ASSERT_EQUAL(memcmp(idx.data, v, sizeof v), 0);
    idx_free(&idx);

    uint32_t d1[1] = {7};
    fixture(p, sizeof p, "ok1.idx.gz");
    write_idx(p, 1, 0x08, 1, d1, v, 7, 0, 0);
    CU_ASSERT_EQUAL_FATAL(idx_read(&ctx, p, &idx), DCN_OK);
    CU_ASSERT_EQUAL(idx.ndim, 1);
    CU_ASSERT_EQUAL(idx.count, 7);
    CU_ASSERT_EQUAL(memcmp(idx.data, v, 7), 0);
    idx_free(&idx);
}

static void test_idx_bad_magic(void)
{
    char p[512];
    fixture(p, sizeof p, "badmagic.idx");
    uint8_t b[12] = {0x12, 0x34, 0x08, 0x01, 0, 0, 0, 4, 1, 2, 3, 4};
    write_raw(p, b, sizeof b, 0);
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "bad magic 0x12340801");
    CU_ASSERT_PTR_NULL(idx.data);
}

static void test_idx_wrong_type(void)
{
    char p[512];
    fixture(p, sizeof p, "float.idx");
    uint32_t d[1] = {4};
    uint8_t v[16] = {0};
    write_idx(p, 0, 0x0D, 1, d, v, 16, 0, 0);
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "unsupported IDX data type 0x0d");
}

static void test_idx_bad_ndim(void)
{
    char p[512];
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    fixture(p, sizeof p, "ndim5.idx");
    uint32_t d[5] = {1, 1, 1, 1, 1};
    uint8_t v[1] = {0};
    write_idx(p, 0, 0x08, 5, d, v, 1, 0, 0);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "number of dimensions 5");
    fixture(p, sizeof p, "ndim0.idx");
    write_idx(p, 0, 0x08, 0, d, v, 1, 0, 0);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "number of dimensions 0");
}

static void test_idx_truncated_plain(void)
{
    char p[512];
    fixture(p, sizeof p, "trunc.idx");
    uint32_t d[3] = {5, 3, 4};
    uint8_t v[60];
    fill(v, sizeof v, 3);
    write_idx(p, 0, 0x08, 3, d, v, sizeof v, 0, 10);
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "truncated: expected 60 bytes of data, found 50");
    CU_ASSERT_PTR_NULL(idx.data);
    /* a header cut inside the dimension sizes */
    fixture(p, sizeof p, "trunc-header.idx");
    uint8_t b[6] = {0, 0, 8, 3, 0, 0};
    write_raw(p, b, sizeof b, 0);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "truncated");
}

/* A .gz whose compressed bytes were cut (an interrupted download), and one whose content is short. */
static void test_idx_truncated_gz(void)
{
    char p[512];
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    uint32_t d[3] = {100, 28, 28};
    size_t n = 100 * 28 * 28;
    uint8_t *v = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    fill(v, n, 4); /* incompressible, so cutting the file cuts the data */
    fixture(p, sizeof p, "cut.idx.gz");
    write_idx(p, 1, 0x08, 3, d, v, n, 0, 0);
    struct stat sb;
    CU_ASSERT_EQUAL_FATAL(stat(p, &sb), 0);
    CU_ASSERT_EQUAL_FATAL(truncate(p, sb.st_size / 2), 0);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "truncated: expected 78400 bytes of data, found");
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.err, "gzip"));
    CU_ASSERT_PTR_NULL(idx.data);
    /* cut only the 8-byte CRC/size trailer: all data is there but the stream is incomplete */
    write_idx(p, 1, 0x08, 3, d, v, n, 0, 0);
    CU_ASSERT_EQUAL_FATAL(stat(p, &sb), 0);
    CU_ASSERT_EQUAL_FATAL(truncate(p, sb.st_size - 8), 0);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "truncated");
    /* a complete gzip stream holding too little data */
    fixture(p, sizeof p, "short.idx.gz");
    write_idx(p, 1, 0x08, 3, d, v, n, 0, 1000);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "truncated: expected 78400 bytes of data, found 77400");
    free(v);
}

static void test_idx_corrupt_gz(void)
{
    char p[512];
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    uint32_t d[1] = {5000};
    uint8_t v[5000];
    fill(v, sizeof v, 5);
    fixture(p, sizeof p, "corrupt.idx.gz");
    write_idx(p, 1, 0x08, 1, d, v, sizeof v, 0, 0);
    /* flip a byte in the middle of the deflate data */
    FILE *f = fopen(p, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, 2000, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 2000, SEEK_SET);
    fputc(c ^ 0xFF, f);
    fclose(f);
    CU_ASSERT_NOT_EQUAL(idx_read(&ctx, p, &idx), DCN_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.err, p));
    CU_ASSERT_PTR_NULL(idx.data);
}

static void test_idx_trailing_data(void)
{
    char p[512];
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    uint32_t d[2] = {3, 4};
    uint8_t v[12];
    fill(v, sizeof v, 6);
    fixture(p, sizeof p, "trailing.idx");
    write_idx(p, 0, 0x08, 2, d, v, sizeof v, 5, 0);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "trailing data after the 12 bytes");
    fixture(p, sizeof p, "trailing.idx.gz");
    write_idx(p, 1, 0x08, 2, d, v, sizeof v, 1, 0);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "trailing data");
}

static void test_idx_empty(void)
{
    char p[512];
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    fixture(p, sizeof p, "empty.idx");
    write_raw(p, NULL, 0, 0);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "empty");
    /* a gzip file holding nothing */
    fixture(p, sizeof p, "empty.idx.gz");
    write_raw(p, NULL, 0, 1);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "empty");
}

static void test_idx_zero_dimension(void)
{
    char p[512];
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    fixture(p, sizeof p, "zerodim.idx");
    uint32_t d[3] = {4, 0, 28};
    write_idx(p, 0, 0x08, 3, d, NULL, 0, 0, 0);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EPARSE, p, "dimension 1 is zero");
}

static void test_idx_too_large(void)
{
    char p[512];
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    fixture(p, sizeof p, "huge.idx");
    uint32_t d[3] = {2000000, 28, 28}; /* 1.57 GB of declared data */
    uint8_t v[16] = {0};
    write_idx(p, 0, 0x08, 3, d, v, sizeof v, 0, 0);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_ENOMEM, p, "1 GiB");
    uint32_t d2[2] = {0xFFFFFFFFu, 0xFFFFFFFFu};
    write_idx(p, 0, 0x08, 2, d2, v, sizeof v, 0, 0);
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_ENOMEM, p, "too large");
}

static void test_idx_missing(void)
{
    char p[512];
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_idx idx;
    fixture(p, sizeof p, "does-not-exist.idx");
    expect_fail(&ctx, idx_read(&ctx, p, &idx), DCN_EIO, p, "No such file");
}

/* ---- datasets ---- */

struct split {
    int n;
    uint32_t rows, cols;
    const uint8_t *x;
    const uint8_t *y;
    int ny; /* label count written (normally n) */
};

/* Writes a dataset folder with the four standard files. */
static void write_dataset(const char *dir, int gz, struct split tr, struct split te)
{
    make_dir(dir);
    const char *sfx = gz ? ".gz" : "";
    char p[1200];
    uint32_t dx[3] = {(uint32_t)tr.n, tr.rows, tr.cols}, dy[1] = {(uint32_t)tr.ny};
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte%s", dir, sfx);
    write_idx(p, gz, 0x08, 3, dx, tr.x, (size_t)tr.n * tr.rows * tr.cols, 0, 0);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte%s", dir, sfx);
    write_idx(p, gz, 0x08, 1, dy, tr.y, (size_t)tr.ny, 0, 0);
    uint32_t ex[3] = {(uint32_t)te.n, te.rows, te.cols}, ey[1] = {(uint32_t)te.ny};
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte%s", dir, sfx);
    write_idx(p, gz, 0x08, 3, ex, te.x, (size_t)te.n * te.rows * te.cols, 0, 0);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte%s", dir, sfx);
    write_idx(p, gz, 0x08, 1, ey, te.y, (size_t)te.ny, 0, 0);
}

#define NTR 50
#define NTE 20
#define R 4
#define C 3
static uint8_t trx[NTR * R * C], tr_y[NTR], tex[NTE * R * C], te_y[NTE];

static void make_arrays(void)
{
    fill(trx, sizeof trx, 11);
    fill(tex, sizeof tex, 12);
    for (int i = 0; i < NTR; i++)
        tr_y[i] = (uint8_t)(i % 3);
    for (int i = 0; i < NTE; i++)
        te_y[i] = (uint8_t)((i * 2) % 3);
}

static struct split S(int n, const uint8_t *x, const uint8_t *y)
{
    struct split s = {n, R, C, x, y, n};
    return s;
}

static void direct_stats(const uint8_t *x, size_t n, double *mean, double *sd)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i] / 255.0;
    double m = s / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] / 255.0 - m) * (x[i] / 255.0 - m);
    *mean = m;
    *sd = sqrt(ss / (double)n);
}

static void test_dataset_folder(void)
{
    make_arrays();
    char dir[512];
    fixture(dir, sizeof dir, "ds-plain");
    write_dataset(dir, 0, S(NTR, trx, tr_y), S(NTE, tex, te_y));
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dataset *ds = NULL;
    CU_ASSERT_EQUAL_FATAL(dataset_load(&ctx, dir, NULL, 0, 0, &ds), DCN_OK);
    CU_ASSERT_EQUAL(ds->n_train, NTR);
    CU_ASSERT_EQUAL(ds->n_test, NTE);
    CU_ASSERT_EQUAL(ds->rows, R);
    CU_ASSERT_EQUAL(ds->cols, C);
    CU_ASSERT_EQUAL(ds->classes, 3);
    CU_ASSERT_STRING_EQUAL(ds->dir, dir);
    CU_ASSERT_EQUAL(memcmp(ds->train_x, trx, sizeof trx), 0);
    CU_ASSERT_EQUAL(memcmp(ds->test_x, tex, sizeof tex), 0);
    CU_ASSERT_EQUAL(memcmp(ds->train_y, tr_y, sizeof tr_y), 0);
    CU_ASSERT_EQUAL(memcmp(ds->test_y, te_y, sizeof te_y), 0);
    double m, sd;
    direct_stats(trx, sizeof trx, &m, &sd);
    CU_ASSERT_DOUBLE_EQUAL(ds->mean, m, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(ds->std, sd, 1e-6);

    /* batches: (x/255 - mean)/std for the chosen images, in the chosen order */
    int idx[3] = {7, 0, 49};
    float x[3 * R * C];
    int y[3];
    dataset_batch(ds, 0, idx, 3, x, y);
    for (int b = 0; b < 3; b++) {
        CU_ASSERT_EQUAL(y[b], tr_y[idx[b]]);
        for (int i = 0; i < R * C; i++) {
            double want = (trx[idx[b] * R * C + i] / 255.0 - ds->mean) / ds->std;
            CU_ASSERT_DOUBLE_EQUAL(x[b * R * C + i], want, 1e-5);
        }
    }
    int tidx[2] = {19, 3};
    dataset_batch(ds, 1, tidx, 2, x, y);
    CU_ASSERT_EQUAL(y[0], te_y[19]);
    CU_ASSERT_EQUAL(y[1], te_y[3]);
    CU_ASSERT_DOUBLE_EQUAL(x[R * C + 5], (tex[3 * R * C + 5] / 255.0 - ds->mean) / ds->std, 1e-5);
    /* the normalised training set has mean 0 and std 1 */
    int all[NTR];
    for (int i = 0; i < NTR; i++) all[i] = i;
    float *xa = malloc(sizeof(float) * NTR * R * C);
    CU_ASSERT_PTR_NOT_NULL_FATAL(xa);
    dataset_batch(ds, 0, all, NTR, xa, NULL);
    double s = 0, s2 = 0;
    for (int i = 0; i < NTR * R * C; i++) {
        s += xa[i];
        s2 += (double)xa[i] * xa[i];
    }
    CU_ASSERT_DOUBLE_EQUAL(s / (NTR * R * C), 0.0, 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(s2 / (NTR * R * C), 1.0, 1e-4);
    free(xa);
    dataset_free(ds);
}

/* Limits keep the first images; the statistics are those of the kept training images. */
static void test_dataset_limits(void)
{
    make_arrays();
    char dir[512];
    fixture(dir, sizeof dir, "ds-limits");
    write_dataset(dir, 0, S(NTR, trx, tr_y), S(NTE, tex, te_y));
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dataset *ds = NULL;
    CU_ASSERT_EQUAL_FATAL(dataset_load(&ctx, dir, NULL, 10, 5, &ds), DCN_OK);
    CU_ASSERT_EQUAL(ds->n_train, 10);
    CU_ASSERT_EQUAL(ds->n_test, 5);
    CU_ASSERT_EQUAL(ds->classes, 3);
    CU_ASSERT_EQUAL(memcmp(ds->train_x, trx, 10 * R * C), 0);
    CU_ASSERT_EQUAL(memcmp(ds->test_y, te_y, 5), 0);
    double m, sd;
    direct_stats(trx, 10 * R * C, &m, &sd);
    CU_ASSERT_DOUBLE_EQUAL(ds->mean, m, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(ds->std, sd, 1e-6);
    dataset_free(ds);
    /* a limit above the size is no limit */
    CU_ASSERT_EQUAL_FATAL(dataset_load(&ctx, dir, NULL, 1000, 1000, &ds), DCN_OK);
    CU_ASSERT_EQUAL(ds->n_train, NTR);
    CU_ASSERT_EQUAL(ds->n_test, NTE);
    dataset_free(ds);
    CU_ASSERT_EQUAL(dataset_load(&ctx, dir, NULL, -1, 0, &ds), DCN_EINVAL);
    CU_ASSERT_PTR_NULL(ds);
}

static void test_dataset_label_count_mismatch(void)
{
    make_arrays();
    char dir[512], lab[600];
    fixture(dir, sizeof dir, "ds-count");
    struct split tr = S(NTR, trx, tr_y);
    tr.ny = NTR - 1;
    write_dataset(dir, 0, tr, S(NTE, tex, te_y));
    snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte", dir);
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dataset *ds = NULL;
    expect_fail(&ctx, dataset_load(&ctx, dir, NULL, 0, 0, &ds), DCN_EPARSE, lab, "49 labels");
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.err, "50 images"));
    CU_ASSERT_PTR_NULL(ds);
}

/* A test label the training labels never reach (here 3 when training has 0..2) is out of range. */
static void test_dataset_label_out_of_range(void)
{
    make_arrays();
    uint8_t bad[NTE];
    memcpy(bad, te_y, sizeof bad);
    bad[13] = 3;
    char dir[512], lab[600];
    fixture(dir, sizeof dir, "ds-range");
    write_dataset(dir, 1, S(NTR, trx, tr_y), S(NTE, tex, bad));
    snprintf(lab, sizeof lab, "%s/t10k-labels-idx1-ubyte.gz", dir);
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dataset *ds = NULL;
    expect_fail(&ctx, dataset_load(&ctx, dir, NULL, 0, 0, &ds), DCN_EPARSE, lab, "label 3 at index 13 is out of range");
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.err, "3 classes"));
}

static void test_dataset_image_dims_differ(void)
{
    make_arrays();
    char dir[512], p[600];
    fixture(dir, sizeof dir, "ds-dims");
    struct split te = S(NTE, tex, te_y);
    te.rows = 3;
    te.cols = 4;
    write_dataset(dir, 0, S(NTR, trx, tr_y), te);
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dataset *ds = NULL;
    expect_fail(&ctx, dataset_load(&ctx, dir, NULL, 0, 0, &ds), DCN_EPARSE, p, "images are 3x4");
}

/* A broken file inside a dataset: the IDX error comes through naming that file. */
static void test_dataset_broken_file(void)
{
    make_arrays();
    char dir[512], p[600];
    fixture(dir, sizeof dir, "ds-broken");
    write_dataset(dir, 0, S(NTR, trx, tr_y), S(NTE, tex, te_y));
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    CU_ASSERT_EQUAL_FATAL(truncate(p, 100), 0);
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dataset *ds = NULL;
    expect_fail(&ctx, dataset_load(&ctx, dir, NULL, 0, 0, &ds), DCN_EPARSE, p, "truncated: expected 240 bytes of data, found 84");
}

static void test_dataset_missing_file(void)
{
    make_arrays();
    char dir[512], p[600];
    fixture(dir, sizeof dir, "ds-missing");
    write_dataset(dir, 0, S(NTR, trx, tr_y), S(NTE, tex, te_y));
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
    CU_ASSERT_EQUAL_FATAL(unlink(p), 0);
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dataset *ds = NULL;
    expect_fail(&ctx, dataset_load(&ctx, dir, NULL, 0, 0, &ds), DCN_EIO, p, "missing");
    fixture(dir, sizeof dir, "no-such-folder");
    expect_fail(&ctx, dataset_load(&ctx, dir, NULL, 0, 0, &ds), DCN_EIO, dir, "not a dataset name");
}

/* Named datasets absent from the data folder say how to get them. */
static void test_dataset_missing_named(void)
{
    char dd[512];
    fixture(dd, sizeof dd, "empty-data-dir");
    make_dir(dd);
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dataset *ds = NULL;
    expect_fail(&ctx, dataset_load(&ctx, "mnist", dd, 0, 0, &ds), DCN_EIO, "mnist", "dcn data fetch mnist");
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.err, dd));
    expect_fail(&ctx, dataset_load(&ctx, "fashion", dd, 0, 0, &ds), DCN_EIO, "fashion", "dcn data fetch fashion");
    expect_fail(&ctx, dataset_load(&ctx, "kmnist", dd, 0, 0, &ds), DCN_EIO, "kmnist",
                "http://codh.rois.ac.jp/kmnist/dataset/kmnist/");
    /* the folder exists but lacks files */
    char km[600];
    snprintf(km, sizeof km, "%s/kmnist", dd);
    make_dir(km);
    expect_fail(&ctx, dataset_load(&ctx, "kmnist", dd, 0, 0, &ds), DCN_EIO, km, "codh.rois.ac.jp");
}

/* A KMNIST-like folder of official-style .gz files, loaded by folder, by name through data_dir, and
 * by name through $DCN_DATA_DIR. */
static void test_dataset_kmnist_fixture(void)
{
    make_arrays();
    char dd[512], dir[600];
    fixture(dd, sizeof dd, "data-dir");
    snprintf(dir, sizeof dir, "%s/kmnist", dd);
    write_dataset(dir, 1, S(NTR, trx, tr_y), S(NTE, tex, te_y));
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dataset *ds = NULL;
    CU_ASSERT_EQUAL_FATAL(dataset_load(&ctx, dir, NULL, 0, 0, &ds), DCN_OK);
    CU_ASSERT_EQUAL(ds->n_train, NTR);
    CU_ASSERT_EQUAL(memcmp(ds->train_x, trx, sizeof trx), 0);
    float m1 = ds->mean;
    dataset_free(ds);

    CU_ASSERT_EQUAL_FATAL(dataset_load(&ctx, "kmnist", dd, 0, 0, &ds), DCN_OK);
    CU_ASSERT_STRING_EQUAL(ds->name, "kmnist");
    CU_ASSERT_STRING_EQUAL(ds->dir, dir);
    CU_ASSERT_EQUAL(ds->mean, m1);
    dataset_free(ds);

    char *old = getenv("DCN_DATA_DIR") ? strdup(getenv("DCN_DATA_DIR")) : NULL;
    CU_ASSERT_EQUAL_FATAL(setenv("DCN_DATA_DIR", dd, 1), 0);
    char buf[1024];
    CU_ASSERT_STRING_EQUAL(dcn_data_dir(buf, sizeof buf), dd);
    CU_ASSERT_EQUAL(dataset_load(&ctx, "kmnist", NULL, 0, 0, &ds), DCN_OK);
    if (ds) {
        CU_ASSERT_EQUAL(ds->n_test, NTE);
        CU_ASSERT_EQUAL(ds->classes, 3);
        CU_ASSERT_EQUAL(memcmp(ds->test_x, tex, sizeof tex), 0);
    }
    dataset_free(ds);
    unsetenv("DCN_DATA_DIR");
    CU_ASSERT_STRING_EQUAL(dcn_data_dir(buf, sizeof buf), DCN_SOURCE_DIR "/data/cache");
    if (old) {
        setenv("DCN_DATA_DIR", old, 1);
        free(old);
    }
}

/* Plain and .gz forms of the same file both load; the plain one is preferred when both exist. */
static void test_dataset_mixed_forms(void)
{
    make_arrays();
    char dir[512], p[600];
    fixture(dir, sizeof dir, "ds-mixed");
    write_dataset(dir, 1, S(NTR, trx, tr_y), S(NTE, tex, te_y));
    /* a plain train-labels with different labels next to the .gz one */
    uint8_t y2[NTR];
    for (int i = 0; i < NTR; i++) y2[i] = (uint8_t)(i % 4);
    uint32_t d[1] = {NTR};
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
    write_idx(p, 0, 0x08, 1, d, y2, NTR, 0, 0);
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dataset *ds = NULL;
    CU_ASSERT_EQUAL_FATAL(dataset_load(&ctx, dir, NULL, 0, 0, &ds), DCN_OK);
    CU_ASSERT_EQUAL(ds->classes, 4);
    CU_ASSERT_EQUAL(ds->train_y[3], 3);
    dataset_free(ds);
}

/* Real MNIST in the data folder dcn uses ($DCN_DATA_DIR, else data/cache): the well-known statistics.
 * tests/run.sh fetches it, so its absence is a failure, not a skip. */
static void test_real_mnist(void)
{
    char dd[1024];
    dcn_data_dir(dd, sizeof dd);
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dataset *ds = NULL;
    enum dcn_status st = dataset_load(&ctx, "mnist", dd, 0, 0, &ds);
    if (st != DCN_OK)
        fprintf(stderr, "\n  FAIL: no usable MNIST in %s/mnist (the README's test command, tests/run.sh, fetches it; "
                        "or run `dcn data fetch mnist`): %s\n", dd, ctx.err);
    CU_ASSERT_EQUAL_FATAL(st, DCN_OK);
    CU_ASSERT_EQUAL(ds->n_train, 60000);
    CU_ASSERT_EQUAL(ds->n_test, 10000);
    CU_ASSERT_EQUAL(ds->classes, 10);
    CU_ASSERT_DOUBLE_EQUAL(ds->mean, 0.1307, 5e-5);
    CU_ASSERT_DOUBLE_EQUAL(ds->std, 0.3081, 5e-5);
    dataset_free(ds);
}

void dcn_register_tests(void)
{
    DCN_SUITE("idx", DCN_TEST(test_idx_plain_roundtrip), DCN_TEST(test_idx_gz_roundtrip),
              DCN_TEST(test_idx_bad_magic), DCN_TEST(test_idx_wrong_type), DCN_TEST(test_idx_bad_ndim),
              DCN_TEST(test_idx_truncated_plain), DCN_TEST(test_idx_truncated_gz), DCN_TEST(test_idx_corrupt_gz),
              DCN_TEST(test_idx_trailing_data), DCN_TEST(test_idx_empty), DCN_TEST(test_idx_zero_dimension),
              DCN_TEST(test_idx_too_large), DCN_TEST(test_idx_missing));
    DCN_SUITE("dataset", DCN_TEST(test_dataset_folder), DCN_TEST(test_dataset_limits),
              DCN_TEST(test_dataset_label_count_mismatch), DCN_TEST(test_dataset_label_out_of_range),
              DCN_TEST(test_dataset_image_dims_differ), DCN_TEST(test_dataset_broken_file),
              DCN_TEST(test_dataset_missing_file), DCN_TEST(test_dataset_missing_named),
              DCN_TEST(test_dataset_kmnist_fixture), DCN_TEST(test_dataset_mixed_forms),
              DCN_TEST(test_real_mnist));
}
