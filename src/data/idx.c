/* IDX reader (LeCun's MNIST format): big-endian header 0x00 0x00 <type> <ndim>, ndim 32-bit sizes,
 * then the payload. Only unsigned bytes (type 0x08) are supported, which covers MNIST, Fashion-MNIST
 * and KMNIST. zlib's gzopen reads plain files transparently, so one code path serves both .gz and
 * plain files; a gzip file is recognised by its magic bytes (1f 8b), not by its name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "dcn/data.h"

/* The largest payload we accept: the biggest dataset we target (KMNIST-49 train) is ~180 MiB, so
 * 1 GiB leaves room while stopping a corrupt header from asking for terabytes. */
#define IDX_MAX_BYTES ((uint64_t)1 << 30)

/* Reading in slices keeps the "found M bytes" count of a truncated gzip stream accurate: zlib hands
 * back what it decompressed before the stream ended, slice by slice. */
#define IDX_SLICE ((unsigned)1 << 20)

void idx_free(struct dcn_idx *idx)
{
    if (!idx)
        return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

/* Reads up to n bytes; returns the count read, or -1 on a decompression error other than a stream
 * that ends early (which shows up as a short count). */
static int64_t read_upto(gzFile f, uint8_t *buf, uint64_t n)
{
    uint64_t got = 0;
    while (got < n) {
        uint64_t want = n - got < IDX_SLICE ? n - got : IDX_SLICE;
        int r = gzread(f, buf + got, (unsigned)want);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (uint64_t)r;
    }
    return (int64_t)got;
}

/* Describes zlib's error state for a message; "unexpected end of file" is zlib's wording for a
 * truncated gzip stream. */
static const char *gz_why(gzFile f, int *errnum)
{
    const char *m = gzerror(f, errnum);
    return m && *m ? m : "read error";
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

enum dcn_status idx_read(struct dcn_ctx *ctx, const char *path, struct dcn_idx *out)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return dcn_fail(ctx, DCN_EIO, "%s: is a folder, not an IDX file", path);
    if (sb.st_size == 0)
        return dcn_fail(ctx, DCN_EPARSE, "%s: empty file (expected an IDX file)", path);

    gzFile f = gzopen(path, "rb");
    if (!f)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot open: %s", path, errno ? strerror(errno) : "zlib failure");
    gzbuffer(f, 1 << 17);

    enum dcn_status st = DCN_OK;
    int zerr = 0;
    uint8_t head[4 + 4 * 4];
    int64_t n = read_upto(f, head, 4);
    int gz = !gzdirect(f);
    const char *kind = gz ? " (gzip)" : "";
    if (n < 0) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s: corrupt gzip data: %s", path, gz_why(f, &zerr));
        goto done;
    }
    if (n == 0) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s%s: empty (no IDX header)", path, kind);
        goto done;
    }
    if (n < 4) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s%s: truncated: IDX header is 4 bytes, found %lld", path, kind,
                      (long long)n);
        goto done;
    }
    if (head[0] != 0 || head[1] != 0) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s%s: not an IDX file: bad magic 0x%08x (expected 0x000008NN)", path,
                      kind, (unsigned)be32(head));
        goto done;
    }
    if (head[2] != 0x08) {
        st = dcn_fail(ctx, DCN_EPARSE,
                      "%s%s: unsupported IDX data type 0x%02x (only unsigned byte, 0x08, is supported)", path,
                      kind, head[2]);
        goto done;
    }
    int ndim = head[3];
    if (ndim < 1 || ndim > 4) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s%s: unsupported number of dimensions %d (expected 1 to 4)", path,
                      kind, ndim);
        goto done;
    }
    n = read_upto(f, head + 4, 4 * (uint64_t)ndim);
    if (n < 4 * ndim) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s%s: truncated: header declares %d dimensions but ends after %lld of %d size bytes",
                      path, kind, ndim, n < 0 ? 0LL : (long long)n, 4 * ndim);
        goto done;
    }
    uint64_t total = 1;
    for (int d = 0; d < ndim; d++) {
        uint32_t v = be32(head + 4 + 4 * d);
        if (v == 0) {
            st = dcn_fail(ctx, DCN_EPARSE, "%s%s: dimension %d is zero", path, kind, d);
            goto done;
        }
        if (v > INT32_MAX) {
            st = dcn_fail(ctx, DCN_ENOMEM, "%s%s: dimension %d is %lu, too large (limit %d)", path, kind, d,
                          (unsigned long)v, INT32_MAX);
            goto done;
        }
        total *= v; /* cannot overflow: total <= 2^30 before, v < 2^31 */
        if (total > IDX_MAX_BYTES) {
            st = dcn_fail(ctx, DCN_ENOMEM,
                          "%s%s: dimensions too large: the first %d declare %llu bytes of data, over the 1 GiB limit",
                          path, kind, d + 1, (unsigned long long)total);
            goto done;
        }
        out->dims[d] = (int)v;
    }
    out->ndim = ndim;
    out->count = out->dims[0];
    out->data = malloc(total);
    if (!out->data) {
        st = dcn_fail(ctx, DCN_ENOMEM, "%s: cannot allocate %llu bytes", path, (unsigned long long)total);
        goto done;
    }
    n = read_upto(f, out->data, total);
    if (n < 0) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s%s: corrupt gzip data: %s", path, kind, gz_why(f, &zerr));
        goto done;
    }
    if ((uint64_t)n < total) {
        /* a gzip stream cut short also reports "unexpected end of file"; the count says how much */
        gzerror(f, &zerr);
        st = dcn_fail(ctx, DCN_EPARSE, "%s%s: truncated: expected %llu bytes of data, found %lld%s", path, kind,
                      (unsigned long long)total, (long long)n,
                      zerr == Z_BUF_ERROR ? " (gzip stream ends early)" : "");
        goto done;
    }
    uint8_t extra[64];
    n = read_upto(f, extra, sizeof extra);
    if (n < 0 || (gz && (gzerror(f, &zerr), zerr != Z_OK && zerr != Z_BUF_ERROR))) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s%s: corrupt gzip data: %s", path, kind, gz_why(f, &zerr));
        goto done;
    }
    if (n > 0) {
        st = dcn_fail(ctx, DCN_EPARSE, "%s%s: trailing data after the %llu bytes the header declares", path, kind,
                      (unsigned long long)total);
        goto done;
    }
    if (gz) {
        /* a stream cut exactly at the end of the payload loses its CRC trailer: still truncated */
        gzerror(f, &zerr);
        if (zerr == Z_BUF_ERROR) {
            st = dcn_fail(ctx, DCN_EPARSE, "%s (gzip): truncated: gzip stream ends before its trailer", path);
            goto done;
        }
    }
done:
    gzclose_r(f);
    if (st != DCN_OK)
        idx_free(out);
    return st;
}
