/* A fork-join pool private to the model: pool_run(fn) runs fn(arg, t, n) on the n threads (the
 * caller is thread 0) and returns when all are done. Workers spin briefly between runs (a node's
 * phases follow each other within microseconds) and then sleep on a condition variable, so an idle
 * model does not burn a core that other ranks or engineers may need. */
#ifndef DCN_MODEL_POOL_H
#define DCN_MODEL_POOL_H

struct pool;
typedef void (*pool_fn)(void *arg, int t, int n);

/* NULL on failure; n == 1 creates no thread. */
struct pool *pool_create(int n);
int pool_size(const struct pool *p);
void pool_run(struct pool *p, pool_fn fn, void *arg);
void pool_free(struct pool *p);

/* [*lo, *hi) = thread t's share of [0, n) in chunks of `align` (the last share takes the rest) */
static inline void pool_share(int n, int t, int nt, int align, int *lo, int *hi)
{
    int chunks = (n + align - 1) / align;
    int a = (int)((long)chunks * t / nt) * align, b = (int)((long)chunks * (t + 1) / nt) * align;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
}
#endif
