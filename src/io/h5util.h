/* HDF5 helpers of dcn's file writers and readers (src/io, and the aggregate results file in src/sweep
 * and src/report): private to the library, so that the public headers (dcn/io.h, dcn/train.h) and the
 * CLI do not pull in <hdf5.h>. */
#ifndef DCN_IO_H5UTIL_H
#define DCN_IO_H5UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#include "dcn/fields.h"

/* ---- in-memory HDF5 files ---- */
/* dcn's HDF5 files (trial files, the aggregate results file, checkpoints) are built in memory (HDF5's core
 * driver without a backing store) and saved with plain write(2) calls: a full disk then gives a
 * clean error from write instead of an HDF5 failure half-way through its own bookkeeping (HDF5 1.10
 * crashes in H5Ocopy when a write fails). */
hid_t h5_mem_create(void);
/* Writes the in-memory file's current image to path (write, and fsync when durable) and returns 0;
 * -1 with errno set on failure, in which case path is removed. The file stays open. */
int h5_mem_write(hid_t file, const char *path, int durable);
/* h5_mem_write (durable), then closes the file (also on failure). */
int h5_mem_save(hid_t file, const char *path);
/* A fixed-length, NUL-terminated string type of n bytes (the caller closes it). */
hid_t h5_str_type(size_t n);
/* The table column type of a trial field (/summary): strings of the field's width (close with
 * H5Tclose when f->type is FIELD_STR), int32, uint64 or double. */
hid_t h5_field_type(const struct field_desc *f);

/* ---- attributes: one reader and writer for every file dcn reads and writes ---- */
/* A scalar numeric attribute converted to double / int64, or dflt when it is missing, not numeric or
 * not one element. */
double h5_attr_get_double(hid_t loc, const char *name, double dflt);
int64_t h5_attr_get_i64(hid_t loc, const char *name, int64_t dflt);
/* A scalar string attribute (variable-length, as h5py and dcn write them, or fixed-length) into buf,
 * cut at len - 1 bytes; "" when missing or of another kind. */
void h5_attr_get_str(hid_t loc, const char *name, char *buf, size_t len);
/* Writes (or replaces) a scalar attribute: a variable-length UTF-8 string, or an int64. 0, or -1. */
int h5_attr_set_str(hid_t loc, const char *name, const char *v);
int h5_attr_set_i64(hid_t loc, const char *name, int64_t v);

/* One scalar attribute as text: strings as they are, integers as %lld, floats as %.17g. 0, or why
 * not: */
enum h5_attr_err { H5_ATTR_OK, H5_ATTR_MISSING, H5_ATTR_NOT_ONE, H5_ATTR_BAD_TYPE, H5_ATTR_UNREADABLE };
enum h5_attr_err h5_attr_text(hid_t loc, const char *name, char *buf, size_t len);
/* Elements of an attribute (-1 when missing), for messages. */
long long h5_attr_count(hid_t loc, const char *name);

#endif
