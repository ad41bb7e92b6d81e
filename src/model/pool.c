#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

/* spins of the waiting side before it yields (caller) or sleeps (workers): about 20-50 us */
#define POOL_SPIN 20000

struct pool {
    int n;
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;   /* bumped by every run */
    atomic_int done;   /* workers finished with the current run */
    atomic_int quit;
    atomic_int sleepers;
    pool_fn fn;
    void *arg;
};

struct worker_arg {
    struct pool *p;
    int t;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker(void *a)
{
    struct worker_arg *wa = a;
    struct pool *p = wa->p;
    const int t = wa->t;
    free(wa);
    unsigned seen = 0;
    for (;;) {
        for (int spin = 0; spin < POOL_SPIN && atomic_load(&p->gen) == seen && !atomic_load(&p->quit); spin++)
            cpu_relax();
        if (atomic_load(&p->gen) == seen && !atomic_load(&p->quit)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
                pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->quit))
            break;
        seen = atomic_load(&p->gen);
        p->fn(p->arg, t, p->n);
        atomic_fetch_add(&p->done, 1);
    }
    return NULL;
}

struct pool *pool_create(int n)
{
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = n < 1 ? 1 : n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (p->n > 1) {
        p->tid = calloc((size_t)p->n, sizeof *p->tid);
        if (!p->tid) {
            pool_free(p);
            return NULL;
        }
        for (int t = 1; t < p->n; t++) {
            struct worker_arg *wa = malloc(sizeof *wa);
            if (!wa || pthread_create(&p->tid[t], NULL, worker, (wa->p = p, wa->t = t, wa))) {
                free(wa);
                p->n = t; /* pool_free joins the threads started so far */
                pool_free(p);
                return NULL;
            }
        }
    }
    return p;
}

int pool_size(const struct pool *p) { return p ? p->n : 1; }

void pool_run(struct pool *p, pool_fn fn, void *arg)
{
    if (!p || p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store(&p->done, 0);
    atomic_fetch_add(&p->gen, 1);
    if (atomic_load(&p->sleepers)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    fn(arg, 0, p->n);
    for (int spin = 0; atomic_load(&p->done) < p->n - 1; spin++) {
        if (spin < POOL_SPIN)
            cpu_relax();
        else
            sched_yield();
    }
}

void pool_free(struct pool *p)
{
    if (!p)
        return;
    if (p->tid) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->quit, 1);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int t = 1; t < p->n; t++)
            pthread_join(p->tid[t], NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->tid);
    free(p);
}
