/* dcn core: status codes, the context every library call receives, and the project's RNG.
 *
 * Ownership: nothing here allocates except dcn_ctx_init's caller-owned struct; the context owns no
 * memory of its own, so it can live on the stack of main.
 *
 * Library functions return enum dcn_status and, on failure, fill ctx->err through dcn_fail(); only
 * main (src/cli) prints and exits. There is no global mutable state: anything a module would keep
 * globally (communicator, log stream, verbosity, the last error) travels in struct dcn_ctx.
 */
#ifndef DCN_CORE_H
#define DCN_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mpi.h>

#define DCN_VERSION "0.1.0"

enum dcn_status {
    DCN_OK = 0,
    DCN_EINVAL,   /* bad argument or option value */
    DCN_EIO,      /* file missing, unreadable, unwritable */
    DCN_EPARSE,   /* malformed input file (message names file and line) */
    DCN_ENOMEM,   /* allocation failed or a size limit was hit */
    DCN_EMPI,     /* an MPI call failed */
    DCN_EHDF5,    /* an HDF5 call failed */
    DCN_ENUMERIC, /* NaN or infinity in training */
    DCN_EINTR,    /* stopped by a signal; state was checkpointed */
    DCN_ECHECKSUM /* a downloaded or mirrored file has the wrong SHA-256 */
};

#define DCN_ERR_LEN 1024

struct dcn_ctx {
    MPI_Comm comm;  /* communicator of this run; MPI_COMM_NULL when MPI is not initialised */
    int rank, size; /* rank in comm and its size (0 and 1 without MPI) */
    FILE *log;      /* progress and diagnostics; stderr by default */
    int verbose;    /* 0 quiet, 1 normal, 2 verbose */
    enum dcn_status status;  /* status of the last failure */
    char err[DCN_ERR_LEN];   /* message of the last failure, empty when none */
};

/* Fills ctx with defaults: no communicator, rank 0 of 1, log to stderr, verbosity 1. */
void dcn_ctx_init(struct dcn_ctx *ctx);

/* Records a failure in ctx (printf-style message) and returns st, so callers write
 * `return dcn_fail(ctx, DCN_EIO, "%s: cannot open", path);`. */
enum dcn_status dcn_fail(struct dcn_ctx *ctx, enum dcn_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message in ctx->err ("while loading X: <old message>"). */
void dcn_err_prefix(struct dcn_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Short name of a status ("parse error", "I/O error", ...). */
const char *dcn_strstatus(enum dcn_status st);

/* Writes a progress/diagnostic line to ctx->log when ctx->verbose >= level. */
void dcn_log(const struct dcn_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- where dcn's files are ----
 * The data folder (downloaded datasets): $DCN_DATA_DIR, else data/cache in the source tree. */
const char *dcn_data_dir(char *buf, size_t len);

/* Finds a file that ships with dcn (rel is relative to the project's data/ folder, e.g.
 * "connectomes/celegansneural.gml"): $DCN_HOME/data, the source tree's data/, then the install
 * prefix's share/dcn/data. Fills buf with the first that exists and returns 0, or fills it with
 * the list of places tried (for the error message) and returns -1. */
int dcn_shipped_file(const char *rel, char *buf, size_t len);

/* ---- random numbers ----
 * Our own generator (xoshiro256** seeded by splitmix64) so that a seed gives the same graph, vertex
 * order, initial weights and data order on every machine and libc: rand() and random() are not
 * portable, and reproducible trials are the point of the tool. */
struct dcn_rng {
    uint64_t s[4];
};

void dcn_rng_seed(struct dcn_rng *r, uint64_t seed);
/* Derives an independent stream from (seed, stream) so that e.g. weights and data order of one
 * trial do not share draws. */
void dcn_rng_seed2(struct dcn_rng *r, uint64_t seed, uint64_t stream);
uint64_t dcn_rng_u64(struct dcn_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double dcn_rng_uniform(struct dcn_rng *r);
/* Uniform integer in [0, n), unbiased (rejection). n > 0. */
uint64_t dcn_rng_below(struct dcn_rng *r, uint64_t n);
/* Standard normal (Box-Muller, no cached second value so the stream position is simple). */
double dcn_rng_normal(struct dcn_rng *r);
/* Fisher-Yates shuffle of an int array. */
void dcn_rng_shuffle_int(struct dcn_rng *r, int *a, size_t n);

/* ---- small utilities ---- */
/* FNV-1a over the bytes of s, continuing from h (start with DCN_FNV_INIT). Trial ids are made of it,
 * so it must never change. */
#define DCN_FNV_INIT 0xcbf29ce484222325ULL
uint64_t dcn_fnv1a(uint64_t h, const char *s);
/* Monotonic wall clock in seconds. */
double dcn_now(void);
/* Peak resident set size of this process in MiB (getrusage). */
double dcn_peak_rss_mib(void);
/* Writes s as a JSON string literal: quotes, backslashes and control characters escaped (paths and
 * graph specs may hold any of them). */
void dcn_json_string(FILE *f, const char *s);

#endif
