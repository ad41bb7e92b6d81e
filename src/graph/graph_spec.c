/* graph_spec_parse: what a graph spec names (family and parameters), without loading anything.
 * The one parser of generator specs ("ws:n=32,k=4,p=0.75,seed=1"): graph_gen.c generates from what
 * it returns and graph_load.c dispatches on its family, so a spec the describer accepts is one the
 * loader accepts and the other way round (files aside, which are only read by the loader).
 * Uses nothing else of the graph module. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "graph_internal.h"

#define REWIRE_PREFIX "rewire:"
#define REWIRE_DEFAULT_SWAPS_PER_EDGE 10.0
/* Bounds the time, as GRAPH_MAX_NODES/EDGES bound n and m: a sweep rewires each graph when it is
 * checked (--dry-run too) and again on every rank, and 10^6 took 28 s on mouse. 1000 is ten times the
 * 100 per edge of networkx's small-world sigma; swaps and tries also stay far inside int64. */
#define REWIRE_MAX_SWAPS_PER_EDGE 1000.0

static void spec_clear(struct dcn_graph_spec *out, const char *family)
{
    memset(out, 0, sizeof *out);
    snprintf(out->family, sizeof out->family, "%s", family);
    out->n = out->m = out->k = out->seed = -1;
    out->p = out->swaps_per_edge = NAN;
}

/* "seed=V": a non-negative integer that fits the describer's long long */
static enum dcn_status parse_seed(struct dcn_ctx *ctx, const char *spec, const char *val, long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(val, &end, 10);
    if (errno || !*val || *end || *val == '-' || *val == '+' || v > (unsigned long long)LLONG_MAX)
        return dcn_fail(ctx, DCN_EINVAL, "%s: key 'seed' needs an integer in 0..%lld, got '%s'", spec, LLONG_MAX,
                        val);
    *out = (long long)v;
    return DCN_OK;
}

/* One "key=value" of a generator spec into out; allowed is the kind's key list ("n,k,p,seed"). */
static enum dcn_status gen_key(struct dcn_ctx *ctx, const char *spec, const char *allowed, char *kv,
                               struct dcn_graph_spec *out)
{
    char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return dcn_fail(ctx, DCN_EINVAL, "%s: '%s' is not key=value", spec, kv);
    *eq = '\0';
    const char *key = kv, *val = eq + 1;
    char pat[40], al[40];
    snprintf(pat, sizeof pat, ",%.30s,", key);
    snprintf(al, sizeof al, ",%s,", allowed);
    if (strlen(key) > 30 || !strstr(al, pat))
        return dcn_fail(ctx, DCN_EINVAL, "%s: unknown key '%s' for %s (expected %s)", spec, key, out->family,
                        allowed);
    if (!strcmp(key, "seed"))
        return parse_seed(ctx, spec, val, &out->seed);
    char *end;
    errno = 0;
    if (!strcmp(key, "p")) {
        double v = strtod(val, &end);
        if (errno || !*val || *end || !(v >= 0.0 && v <= 1.0))
            return dcn_fail(ctx, DCN_EINVAL, "%s: key 'p' needs a probability in [0, 1], got '%s'", spec, val);
        out->p = v;
        return DCN_OK;
    }
    /* G(n,m)'s m counts edges, every other integer counts nodes */
    long long max = key[0] == 'm' && !strcmp(out->family, "gnm") ? GRAPH_MAX_EDGES : GRAPH_MAX_NODES;
    long long v = strtoll(val, &end, 10);
    if (errno || !*val || *end || v < 0 || v > max)
        return dcn_fail(ctx, DCN_EINVAL, "%s: key '%s' needs an integer in 0..%lld, got '%s'", spec, key, max, val);
    *(key[0] == 'n' ? &out->n : key[0] == 'k' ? &out->k : &out->m) = v;
    return DCN_OK;
}

/* The checks every generator relies on, so that a spec the describer accepts generates (size
 * limits aside, which graph_gen.c reports as DCN_ENOMEM). */
static enum dcn_status gen_check(struct dcn_ctx *ctx, const char *spec, struct dcn_graph_spec *out)
{
    const char *f = out->family;
    int ws = !strcmp(f, "ws"), er = !strcmp(f, "er");
    const char *missing = out->n < 0 ? "n" : ws && out->k < 0 ? "k" : (ws || er) && isnan(out->p) ? "p"
                          : !ws && !er && out->m < 0 ? "m" : NULL;
    if (missing)
        return dcn_fail(ctx, DCN_EINVAL, "%s: missing key '%s'", spec, missing);
    if (out->n < 1)
        return dcn_fail(ctx, DCN_EINVAL, "%s: key 'n' must be at least 1 (a graph needs nodes)", spec);
    if (out->seed < 0)
        out->seed = 0;
    if (ws && out->k > out->n)
        return dcn_fail(ctx, DCN_EINVAL, "%s: key 'k' (%lld) must not exceed n (%lld)", spec, out->k, out->n);
    if (!strcmp(f, "ba") && (out->m < 1 || out->m >= out->n))
        return dcn_fail(ctx, DCN_EINVAL, "%s: key 'm' must satisfy 1 <= m < n (got m=%lld, n=%lld)", spec, out->m,
                        out->n);
    long long maxm = out->n * (out->n - 1) / 2; /* n <= GRAPH_MAX_NODES: no overflow */
    if (!strcmp(f, "gnm") && out->m > maxm)
        return dcn_fail(ctx, DCN_EINVAL, "%s: key 'm' (%lld) exceeds the maximum n(n-1)/2 = %lld edges of a "
                        "simple graph on %lld nodes", spec, out->m, maxm, out->n);
    return DCN_OK;
}

/* "ws:...", "er:...", "ba:...", "gnm:..." (kind already recognised, klen = its length) */
static enum dcn_status parse_generator(struct dcn_ctx *ctx, const char *spec, size_t klen,
                                       struct dcn_graph_spec *out)
{
    static const struct { const char *kind, *allowed; } kinds[] = {
        {"ws", "n,k,p,seed"}, {"er", "n,p,seed"}, {"ba", "n,m,seed"}, {"gnm", "n,m,seed"}};
    const char *allowed = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strlen(kinds[i].kind) == klen && !strncmp(spec, kinds[i].kind, klen))
            allowed = kinds[i].allowed;
    if (!allowed)
        return dcn_fail(ctx, DCN_EINVAL, "%s: unknown generator kind (expected ws:, er:, ba: or gnm:)", spec);
    char kind[8];
    snprintf(kind, sizeof kind, "%.*s", (int)klen, spec);
    spec_clear(out, kind);
    char buf[512];
    if (strlen(spec + klen + 1) >= sizeof buf)
        return dcn_fail(ctx, DCN_EINVAL, "%.40s...: generator spec too long", spec);
    strcpy(buf, spec + klen + 1);
    char *save = NULL;
    for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        enum dcn_status st = gen_key(ctx, spec, allowed, kv, out);
        if (st)
            return st;
    }
    return gen_check(ctx, spec, out);
}

/* One trailing rewire option "swaps_per_edge=X" or "seed=Y" into out. Returns 1 when tok is not an
 * option still to be taken (not a rewire key, or one already seen), so the caller stops there. */
static int rewire_option(struct dcn_ctx *ctx, const char *spec, const char *tok, int *seen, struct dcn_graph_spec *out,
                         enum dcn_status *st)
{
    *st = DCN_OK;
    if (!strncmp(tok, "swaps_per_edge=", 15) && !(*seen & 1)) {
        const char *val = tok + 15;
        char *end;
        errno = 0;
        double v = strtod(val, &end);
        if (errno || !*val || *end || !(v >= 0.0 && v <= REWIRE_MAX_SWAPS_PER_EDGE))
            *st = dcn_fail(ctx, DCN_EINVAL, "%s: rewire option 'swaps_per_edge' needs a number in 0..%g, got '%s'",
                           spec, REWIRE_MAX_SWAPS_PER_EDGE, val);
        out->swaps_per_edge = v;
        *seen |= 1;
        return 0;
    }
    if (!strncmp(tok, "seed=", 5) && !(*seen & 2)) {
        *st = parse_seed(ctx, spec, tok + 5, &out->seed);
        *seen |= 2;
        return 0;
    }
    return 1;
}

/* "rewire:BASE[,swaps_per_edge=X][,seed=Y]": options are taken from the right end, so BASE may itself
 * contain commas and its own "seed=" (a generator spec); the first repeated or foreign key ends them. */
static enum dcn_status parse_rewire(struct dcn_ctx *ctx, const char *spec, struct dcn_graph_spec *out)
{
    spec_clear(out, "rewire");
    out->seed = 0;
    out->swaps_per_edge = REWIRE_DEFAULT_SWAPS_PER_EDGE;
    char buf[512];
    if (strlen(spec) >= sizeof buf) /* the whole spec becomes the graph's source[512] */
        return dcn_fail(ctx, DCN_EINVAL, "%.40s...: rewire spec too long (at most %zu characters)", spec,
                        sizeof buf - 1);
    strcpy(buf, spec + strlen(REWIRE_PREFIX));
    int seen = 0;
    enum dcn_status st = DCN_OK;
    for (;;) {
        char *comma = strrchr(buf, ',');
        char *tok = comma ? comma + 1 : buf;
        if (rewire_option(ctx, spec, tok, &seen, out, &st))
            break;
        if (st)
            return st;
        *tok = '\0';
        if (comma)
            *comma = '\0';
        else
            break;
    }
    if (!buf[0])
        return dcn_fail(ctx, DCN_EINVAL, "%s: rewire spec without a base graph (expected "
                        "rewire:BASE[,swaps_per_edge=X][,seed=Y], e.g. rewire:celegans,seed=1)", spec);
    snprintf(out->base, sizeof out->base, "%s", buf);
    struct dcn_graph_spec b; /* the base is checked too, so a bad base fails before anything loads */
    if ((st = graph_spec_parse(ctx, buf, &b))) {
        dcn_err_prefix(ctx, "%s: base graph", spec);
        return st;
    }
    if (!strcmp(b.family, "none"))
        return dcn_fail(ctx, DCN_EINVAL, "%s: base graph '%s' names no graph", spec, buf);
    return DCN_OK;
}

enum dcn_status graph_spec_parse(struct dcn_ctx *ctx, const char *spec, struct dcn_graph_spec *out)
{
    if (!spec || !*spec || !strcmp(spec, "none")) {
        spec_clear(out, "none");
        return DCN_OK;
    }
    if (!strncmp(spec, REWIRE_PREFIX, strlen(REWIRE_PREFIX))) /* before the '/' test: BASE may be a path */
        return parse_rewire(ctx, spec, out);
    if (!strcmp(spec, "celegans") || !strcmp(spec, "mouse")) {
        spec_clear(out, spec);
        return DCN_OK;
    }
    /* "kind:..." without a '/' is a generator, or a file whose name happens to hold a colon */
    const char *colon = strchr(spec, ':');
    if (colon && !strchr(spec, '/')) {
        size_t kl = (size_t)(colon - spec);
        if ((kl == 2 && (!strncmp(spec, "ws", 2) || !strncmp(spec, "er", 2) || !strncmp(spec, "ba", 2))) ||
            (kl == 3 && !strncmp(spec, "gnm", 3)))
            return parse_generator(ctx, spec, kl, out);
        struct stat st;
        if (stat(spec, &st))
            return dcn_fail(ctx, DCN_EINVAL, "%s: unknown graph spec kind '%.*s' (expected ws:, er:, ba:, gnm:, "
                            "rewire:, celegans, mouse or a file)", spec, (int)kl, spec);
    }
    spec_clear(out, "file");
    return DCN_OK;
}
