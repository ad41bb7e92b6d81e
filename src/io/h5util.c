#include "io/h5util.h"

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

/* 1 when the attribute holds exactly one element: reading an array attribute (a damaged or hostile
 * file) into one scalar would write past it (found by fuzzing trial files). */
static int attr_scalar(hid_t a)
{
    hid_t sp = H5Aget_space(a);
    int one = sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1;
    if (sp >= 0)
        H5Sclose(sp);
    return one;
}

static int attr_number(hid_t loc, const char *name, hid_t type, void *v)
{
    if (H5Aexists(loc, name) <= 0)
        return 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    int ok = a >= 0 && attr_scalar(a) && H5Aread(a, type, v) >= 0;
    if (a >= 0)
        H5Aclose(a);
    return ok;
}

double h5_attr_get_double(hid_t loc, const char *name, double dflt)
{
    double v;
    return attr_number(loc, name, H5T_NATIVE_DOUBLE, &v) ? v : dflt;
}

int64_t h5_attr_get_i64(hid_t loc, const char *name, int64_t dflt)
{
    int64_t v;
    return attr_number(loc, name, H5T_NATIVE_INT64, &v) ? v : dflt;
}

static void read_vlen_str(hid_t a, hid_t ft, char *buf, size_t len)
{
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

void h5_attr_get_str(hid_t loc, const char *name, char *buf, size_t len)
{
    buf[0] = 0;
    if (H5Aexists(loc, name) <= 0)
        return;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return;
    hid_t ft = H5Aget_type(a);
    if (attr_scalar(a) && H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0) {
        read_vlen_str(a, ft, buf, len);
    } else if (attr_scalar(a) && H5Tget_class(ft) == H5T_STRING) {
        size_t n = H5Tget_size(ft);
        char *s = calloc(n + 1, 1);
        if (s && H5Aread(a, ft, s) >= 0)
            snprintf(buf, len, "%s", s);
        free(s);
    }
    H5Tclose(ft);
    H5Aclose(a);
}

static int attr_put(hid_t loc, const char *name, hid_t type, const void *v)
{
    if (H5Aexists(loc, name) > 0 && H5Adelete(loc, name) < 0)
        return -1;
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, type, v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc < 0 ? -1 : 0;
}

int h5_attr_set_str(hid_t loc, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    int rc = attr_put(loc, name, t, &v);
    H5Tclose(t);
    return rc;
}

int h5_attr_set_i64(hid_t loc, const char *name, int64_t v)
{
    return attr_put(loc, name, H5T_NATIVE_INT64, &v);
}

enum h5_attr_err h5_attr_text(hid_t loc, const char *name, char *buf, size_t len)
{
    buf[0] = 0;
    if (H5Aexists(loc, name) <= 0)
        return H5_ATTR_MISSING;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return H5_ATTR_UNREADABLE;
    enum h5_attr_err e = H5_ATTR_OK;
    hid_t ft = H5Aget_type(a);
    H5T_class_t cls = H5Tget_class(ft);
    if (!attr_scalar(a)) {
        e = H5_ATTR_NOT_ONE;
    } else if (cls == H5T_STRING) {
        h5_attr_get_str(loc, name, buf, len);
    } else if (cls == H5T_INTEGER) {
        long long v = 0;
        if (H5Aread(a, H5T_NATIVE_LLONG, &v) < 0)
            e = H5_ATTR_UNREADABLE;
        snprintf(buf, len, "%lld", v);
    } else if (cls == H5T_FLOAT) {
        double v = 0;
        if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0)
            e = H5_ATTR_UNREADABLE;
        snprintf(buf, len, "%.17g", v);
    } else {
        e = H5_ATTR_BAD_TYPE;
    }
    H5Tclose(ft);
    H5Aclose(a);
    return e;
}

long long h5_attr_count(hid_t loc, const char *name)
{
    hid_t a = H5Aexists(loc, name) > 0 ? H5Aopen(loc, name, H5P_DEFAULT) : -1;
    hid_t sp = a < 0 ? -1 : H5Aget_space(a);
    long long n = sp < 0 ? -1 : (long long)H5Sget_simple_extent_npoints(sp);
    if (sp >= 0)
        H5Sclose(sp);
    if (a >= 0)
        H5Aclose(a);
    return n;
}
