#include "dcn/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

void dcn_ctx_init(struct dcn_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->comm = MPI_COMM_NULL;
    ctx->rank = 0;
    ctx->size = 1;
    ctx->log = stderr;
    ctx->verbose = 1;
    ctx->status = DCN_OK;
}

enum dcn_status dcn_fail(struct dcn_ctx *ctx, enum dcn_status st, const char *fmt, ...)
{
    if (!ctx)
        return st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
    va_end(ap);
    ctx->status = st;
    return st;
}

void dcn_err_prefix(struct dcn_ctx *ctx, const char *fmt, ...)
{
    char pre[DCN_ERR_LEN], old[DCN_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, ctx->err, sizeof old);
    /* built piecewise: an over-long message is cut at the end, and the start names the file */
    size_t n = strlen(pre), o = strlen(old);
    if (n > sizeof ctx->err - 3)
        n = sizeof ctx->err - 3;
    memcpy(ctx->err, pre, n);
    memcpy(ctx->err + n, ": ", 2);
    n += 2;
    if (o > sizeof ctx->err - 1 - n)
        o = sizeof ctx->err - 1 - n;
    memcpy(ctx->err + n, old, o);
    ctx->err[n + o] = 0;
}

const char *dcn_strstatus(enum dcn_status st)
{
    switch (st) {
    case DCN_OK: return "ok";
    case DCN_EINVAL: return "invalid argument";
    case DCN_EIO: return "I/O error";
    case DCN_EPARSE: return "parse error";
    case DCN_ENOMEM: return "out of memory or over a size limit";
    case DCN_EMPI: return "MPI error";
    case DCN_EHDF5: return "HDF5 error";
    case DCN_ENUMERIC: return "numerical failure";
    case DCN_EINTR: return "interrupted";
    case DCN_ECHECKSUM: return "checksum mismatch";
    }
    return "unknown error";
}

void dcn_log(const struct dcn_ctx *ctx, int level, const char *fmt, ...)
{
    if (!ctx || !ctx->log || ctx->verbose < level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(ctx->log, fmt, ap);
    va_end(ap);
    fflush(ctx->log);
}

/* splitmix64: the recommended seeder for the xoshiro family */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void dcn_rng_seed(struct dcn_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

void dcn_rng_seed2(struct dcn_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL + 0x8bb84b93962eacc9ULL);
    dcn_rng_seed(r, splitmix64(&x));
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t dcn_rng_u64(struct dcn_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double dcn_rng_uniform(struct dcn_rng *r) { return (double)(dcn_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t dcn_rng_below(struct dcn_rng *r, uint64_t n)
{
    /* rejection on the top of the range keeps the draw unbiased for any n */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = dcn_rng_u64(r);
    while (x >= lim);
    return x % n;
}

double dcn_rng_normal(struct dcn_rng *r)
{
    double u1 = dcn_rng_uniform(r), u2 = dcn_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t dcn_fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

void dcn_rng_shuffle_int(struct dcn_rng *r, int *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)dcn_rng_below(r, i);
        int t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

double dcn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double dcn_peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

const char *dcn_data_dir(char *buf, size_t len)
{
    const char *env = getenv("DCN_DATA_DIR");
    snprintf(buf, len, "%s", env && *env ? env : DCN_SOURCE_DIR "/data/cache");
    return buf;
}

int dcn_shipped_file(const char *rel, char *buf, size_t len)
{
    /* DCN_HOME first: the modulefile sets it to an installed copy, which must win over a source tree
     * that may have moved on since the install */
    const char *home = getenv("DCN_HOME");
    char cand[3][1100];
    int n = 0;
    if (home && *home)
        snprintf(cand[n++], sizeof cand[0], "%s/data/%s", home, rel);
    snprintf(cand[n++], sizeof cand[0], "%s/data/%s", DCN_SOURCE_DIR, rel);
    snprintf(cand[n++], sizeof cand[0], "%s/data/%s", DCN_INSTALL_DATADIR, rel);
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (!stat(cand[i], &st) && S_ISREG(st.st_mode)) {
            snprintf(buf, len, "%s", cand[i]);
            return 0;
        }
    }
    snprintf(buf, len, "%s%s%s%s%s", cand[0], n > 1 ? ", " : "", n > 1 ? cand[1] : "", n > 2 ? ", " : "",
             n > 2 ? cand[2] : "");
    return -1;
}

void dcn_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}
