/* dcn data: IDX files (plain and .gz), the image datasets (MNIST, Fashion-MNIST, KMNIST or a folder),
 * the data folder, checksums and fetching.
 *
 * Ownership: idx_read and dataset_load return objects the caller frees with idx_free / dataset_free.
 */
#ifndef DCN_DATA_H
#define DCN_DATA_H

#include <stdint.h>

#include "dcn/core.h"

/* An IDX file: unsigned bytes only (type 0x08), 1 to 4 dimensions. */
struct dcn_idx {
    int ndim;
    int dims[4];
    int64_t count; /* dims[0] */
    uint8_t *data; /* product of dims bytes */
};

/* Reads path (gzip-compressed when it starts with the gzip magic, whatever its name). Validates the
 * magic (0x0000 08 nd), the dimensions (non-zero, product within 1 GiB) and that the payload has
 * exactly the declared size; errors name the file and what is wrong. */
enum dcn_status idx_read(struct dcn_ctx *ctx, const char *path, struct dcn_idx *out);
void idx_free(struct dcn_idx *idx);

/* Images kept as bytes (a quarter of float memory) and normalised per batch on the fly with the
 * training set's mean and standard deviation. */
struct dcn_dataset {
    char name[64];     /* mnist, fashion, kmnist, or the folder's path */
    char dir[1024];    /* the folder the files came from */
    int rows, cols;    /* 28, 28 */
    int classes;       /* 10 (max label + 1 over both splits, checked <= 256) */
    int n_train, n_test;
    uint8_t *train_x;  /* (n_train, rows*cols) */
    uint8_t *train_y;  /* (n_train) */
    uint8_t *test_x;   /* (n_test, rows*cols) */
    uint8_t *test_y;   /* (n_test) */
    float mean, std;   /* of the training images scaled to [0,1] (of the first n_train when limited) */
};

/* Loads a dataset by name (mnist, fashion, kmnist: looked up in data_dir/<name>/) or from a folder
 * holding train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz],
 * t10k-labels-idx1-ubyte[.gz]. Checks that images and labels agree in count and labels are in range.
 * train_limit > 0 keeps only the first train_limit training images; test_limit likewise. */
enum dcn_status dataset_load(struct dcn_ctx *ctx, const char *name_or_dir, const char *data_dir,
                             int train_limit, int test_limit, struct dcn_dataset **out);
void dataset_free(struct dcn_dataset *ds);

/* Gathers images idx[0..B) of a split (0 train, 1 test), normalised, into x (B, 1, rows, cols), and
 * their labels into y (B). */
void dataset_batch(const struct dcn_dataset *ds, int split, const int *idx, int B, float *x, int *y);

/* 1 when name is one of the datasets looked up by name in the data folder (mnist, fashion, kmnist). */
int dataset_is_known_name(const char *name);

#endif
