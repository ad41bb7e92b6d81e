/* Small HDF5 helpers shared by the io files (private). */
#ifndef DCN_IO_H5UTIL_H
#define DCN_IO_H5UTIL_H
#include <hdf5.h>

/* dcn's HDF5 files (trial files, the aggregate results file, checkpoints) are built in memory (HDF5's core
 * driver without a backing store) and saved with plain write(2) calls: a full disk then gives a
 * clean error from write instead of an HDF5 failure half-way through its own bookkeeping (HDF5 1.10
 * crashes in H5Ocopy when a write fails). */
hid_t h5_mem_create(void);
/* Writes the in-memory file's current image to path (write, fsync) and returns 0; -1 with errno set
 * on failure, in which case path is removed. The file stays open. */
int h5_mem_write(hid_t file, const char *path);
/* h5_mem_write, then closes the file (also on failure). */
int h5_mem_save(hid_t file, const char *path);
#endif
