#include "dcn/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

hid_t h5_mem_create(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 20, 0);
    /* the earliest file format on purpose: with superblock version 2 or later HDF5 1.10's
     * H5Fget_file_image copies a superblock whose checksum no longer matches (unreadable files) */
    /* the name only identifies the in-memory file inside HDF5; nothing is written under it */
    static const char *const name = "dcn-in-memory.h5";
    char unique[64];
    snprintf(unique, sizeof unique, "%s.%p", name, (void *)&fapl);
    hid_t f = H5Fcreate(unique, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    return f;
}

int h5_mem_save(hid_t file, const char *path)
{
    int rc = h5_mem_write(file, path, 1);
    int saved = errno;
    H5Fclose(file);
    errno = saved;
    return rc;
}

int h5_mem_write(hid_t file, const char *path, int durable)
{
    if (H5Fflush(file, H5F_SCOPE_LOCAL) < 0) {
        errno = EIO;
        return -1;
    }
    ssize_t size = H5Fget_file_image(file, NULL, 0);
    char *buf = size > 0 ? malloc((size_t)size) : NULL;
    if (!buf || H5Fget_file_image(file, buf, (size_t)size) != size) {
        free(buf);
        errno = ENOMEM;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = fd < 0 ? -1 : 0;
    for (ssize_t off = 0; rc == 0 && off < size;) {
        ssize_t n = write(fd, buf + off, (size_t)(size - off));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = -1;
            break;
        }
        off += n;
    }
    if (rc == 0 && durable && fsync(fd) != 0)
        rc = -1;
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    free(buf);
    if (rc != 0) {
        remove(path);
        errno = saved;
    }
    return rc;
}

hid_t h5_str_type(size_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    return t;
}

hid_t h5_field_type(const struct field_desc *f)
{
    switch (f->type) {
    case FIELD_STR:
        return h5_str_type((size_t)f->width);
    case FIELD_U64:
        return H5T_NATIVE_UINT64;
    case FIELD_DOUBLE:
        return H5T_NATIVE_DOUBLE;
    case FIELD_INT:
    case FIELD_BOOL:
        break;
    }
    return H5T_NATIVE_INT32;
}
