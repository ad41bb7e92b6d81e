/* Running a sweep over MPI ranks.
 *
 * Scheduling is dynamic and needs no dedicated master: rank 0 trains like every other rank and, between
 * its training steps (train_config.poll), answers work requests. A rank that finishes early asks for
 * the next trial, so big and small graphs mix. Rank 0 forwards a stop signal to busy ranks, so every
 * rank checkpoints within a step even if only rank 0 got SIGTERM.
 *
 * Resume needs no journal: the files are the state. <trials_dir>/<id>.h5 with status "done" is
 * finished and skipped; anything else (failed, a leftover .tmp, a checkpoint) is run again, from its
 * checkpoint when one exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dcn/io.h"
#include "dcn/sweep.h"
#include "dcn/train.h"

enum { TAG_REQ = 11, TAG_ASSIGN = 12, TAG_STOP = 13 };
enum { RES_NONE = -1, RES_DONE = 0, RES_FAILED = 1, RES_INTERRUPTED = 2 };

static enum dcn_status mkdirs(struct dcn_ctx *ctx, const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0775) != 0 && errno != EEXIST)
                return dcn_fail(ctx, DCN_EIO, "%s: cannot create the folder: %s", buf, strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    if (access(path, W_OK) != 0)
        return dcn_fail(ctx, DCN_EIO, "%s: the folder is not writable", path);
    return DCN_OK;
}

/* Two runs of the same sweep shard at once would train the same trials twice and race on their
 * files, so rank 0 holds an exclusive flock on a per-shard lock file for the whole run. The kernel
 * drops it when the process dies, so a killed run never leaves a stale lock. */
static enum dcn_status lock_shard(struct dcn_ctx *ctx, const struct sweep_spec *s, const struct sweep_options *o,
                                  int *fd_out)
{
    char path[1200], host[128] = "";
    snprintf(path, sizeof path, "%s/.sweep-shard-%d-of-%d.lock", s->trials_dir, o->shard_index, o->shard_count);
    int fd = open(path, O_RDWR | O_CREAT, 0664);
    if (fd < 0)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot create the lock file: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char who[256] = "";
        ssize_t n = pread(fd, who, sizeof who - 1, 0);
        who[n > 0 ? n : 0] = 0;
        who[strcspn(who, "\n")] = 0;
        close(fd);
        return dcn_fail(ctx, DCN_EIO, "another dcn sweep is already running this sweep (%s; lock %s): wait for it to end",
                        who[0] ? who : "unknown process", path);
    }
    gethostname(host, sizeof host - 1);
    char line[256];
    time_t now = time(NULL);
    int len = snprintf(line, sizeof line, "pid %d on %s since %s", (int)getpid(), host, ctime(&now));
    if (ftruncate(fd, 0) == 0 && len > 0)
        (void)!pwrite(fd, line, (size_t)len, 0);
    *fd_out = fd;
    return DCN_OK;
}

struct sched {
    struct dcn_ctx *ctx;  /* scheduling: the group leaders (every rank when a trial takes one rank) */
    struct dcn_ctx *gctx; /* this rank's trial group (data-parallel when it has several ranks) */
    int world_rank;
    const struct sweep_spec *s;
    const struct sweep_options *o;
    int *pending, n_pending, next;
    int *busy;           /* rank 0: trial index per rank, -1 idle */
    int finished;        /* rank 0: workers told there is nothing left */
    int done, failed, interrupted, total;
    double t0, last_print, last_merge, trial_seconds;
    int timed;
    int stop_sent;
    volatile sig_atomic_t local_stop; /* workers: rank 0 asked to stop */
    struct trial_cache cache;         /* this rank's data set and graph, kept across its trials */
    /* rank 0: trials whose rows of results.h5 are out of date, and the process updating it */
    int *dirty, n_dirty;
    unsigned char *is_dirty;
    pid_t updater;
    int update_failed;
    int lock_fd;                      /* the shard lock, not to be held by an updater outliving rank 0 */
    long requests;                    /* rank 0: requests for work answered */
    int max_wait_us;                  /* rank 0: the longest a request waited for its answer (as reported) */
};

static void mark_dirty(struct sched *sc, int trial)
{
    if (trial < 0 || !sc->is_dirty || sc->is_dirty[trial])
        return;
    sc->is_dirty[trial] = 1;
    sc->dirty[sc->n_dirty++] = trial;
}

/* Whether the last update finished (and how); 1 while it runs. */
static int updater_busy(struct sched *sc, int wait)
{
    if (sc->updater <= 0)
        return 0;
    int status = 0;
    pid_t p = waitpid(sc->updater, &status, wait ? 0 : WNOHANG);
    if (p == 0)
        return 1;
    if (p < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        sc->update_failed = 1; /* its rows are lost: the final write is a full merge */
    sc->updater = 0;
    return 0;
}

/* Rank 0 keeps results.h5 current for people watching a long sweep without holding up requests: a
 * child process (no MPI in it, _exit so that it flushes none of the parent's HDF5 files) rewrites the
 * rows of the trials that changed since the last update. A failure is not fatal. */
static void start_update(struct sched *sc)
{
    if (updater_busy(sc, 0) || !sc->n_dirty)
        return;
    pid_t p = fork();
    if (p == 0) {
        if (sc->lock_fd >= 0)
            close(sc->lock_fd);
        struct dcn_ctx c = *sc->ctx;
        double t0 = dcn_now();
        enum dcn_status st = sweep_update(&c, sc->s, sc->dirty, sc->n_dirty);
        dcn_log(&c, 2, "[sweep] results file: %d rows updated in %.3fs, peak RSS %.0f MiB%s%s\n", sc->n_dirty,
                dcn_now() - t0, dcn_peak_rss_mib(), st ? ": " : "", st ? c.err : "");
        fflush(c.log);
        _exit(st ? 1 : 0);
    }
    if (p < 0) {
        struct dcn_ctx c = *sc->ctx;
        sweep_update(&c, sc->s, sc->dirty, sc->n_dirty);
    }
    sc->updater = p > 0 ? p : 0;
    for (int i = 0; i < sc->n_dirty; i++)
        sc->is_dirty[sc->dirty[i]] = 0;
    sc->n_dirty = 0;
    sc->last_merge = dcn_now();
}

static int stopping(struct sched *sc)
{
    return (sc->o->stop && *sc->o->stop) || sc->local_stop;
}

static void print_progress(struct sched *sc, int force)
{
    double now = dcn_now();
    if (!sc->o->progress || (!force && now - sc->last_print < 10.0))
        return;
    sc->last_print = now;
    int running = 0;
    for (int r = 0; sc->busy && r < sc->ctx->size; r++)
        running += sc->busy[r] >= 0;
    int left = sc->total - sc->done - sc->failed;
    double avg = sc->timed ? sc->trial_seconds / sc->timed : NAN;
    double eta = sc->timed ? avg * left / (sc->ctx->size > 0 ? sc->ctx->size : 1) : NAN;
    dcn_log(sc->ctx, 1, "[sweep] %d/%d done, %d failed, %d running | %.0fs elapsed", sc->done, sc->total, sc->failed,
            running, now - sc->t0);
    if (isfinite(eta))
        dcn_log(sc->ctx, 1, " | ETA %.0fs (%.0fs per trial)\n", eta, avg);
    else
        dcn_log(sc->ctx, 1, "\n");
}

static void record(struct sched *sc, int trial, int result, double seconds)
{
    if (trial < 0)
        return;
    if (result == RES_DONE)
        sc->done++;
    else if (result == RES_FAILED)
        sc->failed++;
    else if (result == RES_INTERRUPTED)
        sc->interrupted++;
    if (result == RES_DONE || result == RES_FAILED) {
        sc->trial_seconds += seconds;
        sc->timed++;
    }
}

/* Rank 0 between its own training steps: answer every waiting request, forward a stop. */
static void coord_poll(void *arg)
{
    struct sched *sc = arg;
    MPI_Comm comm = sc->ctx->comm;
    int flag = 1;
    while (flag) {
        MPI_Status stt;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_REQ, comm, &flag, &stt);
        if (!flag)
            break;
        int msg[5];
        MPI_Recv(msg, 5, MPI_INT, stt.MPI_SOURCE, TAG_REQ, comm, MPI_STATUS_IGNORE);
        record(sc, msg[0], msg[1], msg[2] / 1000.0);
        if (msg[4] > sc->max_wait_us)
            sc->max_wait_us = msg[4];
        mark_dirty(sc, msg[0]);
        int assign = -1;
        if (!msg[3] && !stopping(sc) && sc->next < sc->n_pending)
            assign = sc->pending[sc->next++];
        mark_dirty(sc, assign);
        MPI_Send(&assign, 1, MPI_INT, stt.MPI_SOURCE, TAG_ASSIGN, comm);
        sc->requests++;
        sc->busy[stt.MPI_SOURCE] = assign;
        if (assign < 0)
            sc->finished++;
        else
            dcn_log(sc->ctx, 2, "[sweep] rank %d takes trial %d\n", stt.MPI_SOURCE, assign);
    }
    if (stopping(sc) && !sc->stop_sent) {
        sc->stop_sent = 1;
        int zero = 0;
        for (int r = 1; r < sc->ctx->size; r++)
            if (sc->busy[r] >= 0)
                MPI_Send(&zero, 1, MPI_INT, r, TAG_STOP, comm);
    }
    print_progress(sc, 0);
    if (dcn_now() - sc->last_merge > sc->s->update_every)
        start_update(sc);
}

static void worker_poll(void *arg)
{
    struct sched *sc = arg;
    int flag = 0;
    MPI_Iprobe(0, TAG_STOP, sc->ctx->comm, &flag, MPI_STATUS_IGNORE);
    if (flag) {
        int z;
        MPI_Recv(&z, 1, MPI_INT, 0, TAG_STOP, sc->ctx->comm, MPI_STATUS_IGNORE);
        sc->local_stop = 1;
    }
}

/* Both signal sources must stop a trial: the process's own flag and rank 0's forwarded stop. The
 * trainer checks one pointer, so workers poll the process flag into local_stop. */
static void sync_stop(struct sched *sc)
{
    if (sc->o->stop && *sc->o->stop)
        sc->local_stop = 1;
}

static void solo_poll(void *arg) { sync_stop(arg); }

/* Rank 0 alone (a one-rank run, an array task): no requests to answer, but results.h5 to keep current */
static void coord_solo_poll(void *arg)
{
    struct sched *sc = arg;
    sync_stop(sc);
    if (dcn_now() - sc->last_merge > sc->s->update_every)
        start_update(sc);
}

static void worker_poll_with_signal(void *arg)
{
    struct sched *sc = arg;
    sync_stop(sc);
    worker_poll(arg);
}

static void coord_poll_with_signal(void *arg)
{
    struct sched *sc = arg;
    sync_stop(sc);
    coord_poll(arg);
}

static int run_trial(struct sched *sc, int index, double *seconds)
{
    const struct sweep_spec *s = sc->s;
    const struct sweep_trial *t = &s->trials[index];
    struct dcn_ctx *ctx = sc->gctx;
    const int leader = ctx->rank == 0;
    char file[1100], ckpt[1100];
    sweep_trial_paths(s, t, file, ckpt, sizeof file);
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", file);
    *strrchr(dir, '/') = 0;
    struct dcn_ctx dctx = *ctx;
    if (mkdirs(&dctx, dir)) {
        dcn_log(ctx, 1, "[rank %d] trial %d %s failed: %s\n", sc->world_rank, index, t->id, dctx.err);
        return RES_FAILED;
    }
    struct train_config c;
    train_config_default(&c);
    c.data_dir = s->data_dir[0] ? s->data_dir : NULL;
    struct dcn_ctx fctx = *ctx;
    if (train_config_from_fields(&fctx, &t->cfg, &c)) { /* validated when the sweep was read */
        dcn_log(ctx, 1, "[rank %d] trial %d %s failed: %s\n", sc->world_rank, index, t->id, fctx.err);
        return RES_FAILED;
    }
    c.threads = sc->o->threads > 0 ? sc->o->threads : 1;
    c.out = file;
    c.progress = 0;
    c.checkpoint = ckpt;
    c.checkpoint_every = s->checkpoint_every;
    /* local_stop gathers both stop sources: this process's signal (copied in by the poll functions)
     * and rank 0's forwarded stop */
    c.stop = &sc->local_stop;
    c.fingerprint = t->fingerprint;
    c.trial_id = t->id;
    c.rank = sc->world_rank;
    c.data_parallel = ctx->size > 1;
    c.poll = !leader                  ? solo_poll
             : sc->ctx->size == 1     ? (sc->dirty ? coord_solo_poll : solo_poll)
             : sc->ctx->rank == 0     ? coord_poll_with_signal
                                      : worker_poll_with_signal;
    c.poll_arg = sc;
    c.cache = &sc->cache;
    struct dcn_ctx tctx = *ctx;
    if (!leader)
        tctx.verbose = 0;
    ctx = &tctx;
    dcn_log(ctx, 1, "[rank %d] trial %d %s: %s%s\n", sc->world_rank, index, t->id, t->fingerprint,
            c.data_parallel ? " (data parallel)" : "");
    struct train_result r;
    double t0 = dcn_now();
    enum dcn_status st = train_run(&tctx, &c, &r);
    *seconds = dcn_now() - t0;
    if (st == DCN_EINTR) {
        dcn_log(ctx, 1, "[rank %d] trial %d %s interrupted: %s\n", sc->world_rank, index, t->id, tctx.err);
        return RES_INTERRUPTED;
    }
    if (st) {
        dcn_log(ctx, 1, "[rank %d] trial %d %s failed: %s\n", sc->world_rank, index, t->id, tctx.err);
        return RES_FAILED;
    }
    dcn_log(ctx, 1, "[rank %d] trial %d %s done: test accuracy %.4f (best %.4f) in %.1fs%s\n", sc->world_rank, index, t->id,
            r.test_accuracy, r.best_test_accuracy, *seconds, r.resumed_epoch >= 0 ? " (resumed)" : "");
    return RES_DONE;
}

/* Rank 0 makes the trials folder and takes the shard's lock; every rank learns whether it could. */
static enum dcn_status sweep_start(struct dcn_ctx *ctx, const struct sweep_spec *s, const struct sweep_options *o,
                                   int *lock_fd)
{
    enum dcn_status st = DCN_OK;
    int ok = 1;
    if (ctx->rank == 0) {
        st = mkdirs(ctx, s->trials_dir);
        if (!st)
            st = lock_shard(ctx, s, o, lock_fd);
        ok = st == DCN_OK;
    }
    if (ctx->size > 1)
        MPI_Bcast(&ok, 1, MPI_INT, 0, ctx->comm);
    if (!ok)
        return ctx->rank == 0 ? st : dcn_fail(ctx, DCN_EIO, "rank 0 could not start the sweep in %s", s->trials_dir);
    return DCN_OK;
}

/* A follower trains whatever its group's leader was given, until told there is nothing left. */
static void follower_loop(struct sched *sc, MPI_Comm group, int *n_failed)
{
    for (;;) {
        int assign;
        MPI_Bcast(&assign, 1, MPI_INT, 0, group);
        if (assign < 0)
            break;
        double secs;
        if (run_trial(sc, assign, &secs) == RES_FAILED)
            (*n_failed)++;
    }
}

/* Rank 0's list of this shard's unfinished trials, and the opening progress line. */
static enum dcn_status coord_plan(struct dcn_ctx *ctx, struct sched *sc, int size, int k)
{
    const struct sweep_spec *s = sc->s;
    const struct sweep_options *o = sc->o;
    sc->pending = malloc((size_t)(s->n_trials ? s->n_trials : 1) * sizeof *sc->pending);
    sc->busy = malloc((size_t)size * sizeof *sc->busy);
    if (!sc->pending || !sc->busy)
        return dcn_fail(ctx, DCN_ENOMEM, "out of memory");
    sc->dirty = malloc((size_t)(s->n_trials ? s->n_trials : 1) * sizeof *sc->dirty);
    sc->is_dirty = calloc((size_t)(s->n_trials ? s->n_trials : 1), 1);
    if (!sc->dirty || !sc->is_dirty)
        return dcn_fail(ctx, DCN_ENOMEM, "out of memory");
    for (int r = 0; r < size; r++)
        sc->busy[r] = -1;
    int already = 0;
    /* rows of results.h5 that a run ended before updating (a kill, or a crash of rank 0) */
    unsigned char *recorded = malloc((size_t)(s->n_trials ? s->n_trials : 1));
    if (!recorded)
        return dcn_fail(ctx, DCN_ENOMEM, "out of memory");
    int have_rows = sweep_read_states(s, recorded) == 0;
    for (int i = 0; i < s->n_trials; i++) {
        if (i % o->shard_count != o->shard_index)
            continue;
        sc->total++;
        enum trial_state ts = sweep_trial_state(s, &s->trials[i]);
        if (ts == TRIAL_DONE)
            already++;
        else
            sc->pending[sc->n_pending++] = i;
        if (have_rows && recorded[i] != ts)
            mark_dirty(sc, i);
    }
    free(recorded);
    sc->done = already;
    dcn_log(ctx, 1, "[sweep] %s: %d trials%s, %d already done, %d to run on %d rank%s", s->path, sc->total,
            o->shard_count > 1 ? " in this shard" : "", already, sc->n_pending, ctx->size, ctx->size > 1 ? "s" : "");
    if (k > 1)
        dcn_log(ctx, 1, " (%d groups of %d ranks, data parallel)", size, k);
    dcn_log(ctx, 1, "\n");
    return DCN_OK;
}

/* Rank 0: trains trials itself while answering the other leaders' requests between its steps, then
 * answers until every worker has been told to finish, and writes the aggregate file. */
static enum dcn_status coordinator_loop(struct dcn_ctx *ctx, struct sched *sc, MPI_Comm group, int size, int k,
                                        int *n_failed)
{
    const struct sweep_spec *s = sc->s;
    enum dcn_status st = DCN_OK;
    while (!stopping(sc) && sc->next < sc->n_pending) {
        sync_stop(sc);
        if (size > 1)
            coord_poll(sc);
        if (stopping(sc) || sc->next >= sc->n_pending)
            break;
        int idx = sc->pending[sc->next++];
        sc->busy[0] = idx;
        mark_dirty(sc, idx);
        if (k > 1)
            MPI_Bcast(&idx, 1, MPI_INT, 0, group);
        double secs = 0;
        int res = run_trial(sc, idx, &secs); /* polls for requests between its steps */
        sc->busy[0] = -1;
        record(sc, idx, res, secs);
        mark_dirty(sc, idx);
        if (res == RES_INTERRUPTED)
            break;
        print_progress(sc, 1);
    }
    /* nothing left for rank 0: keep answering until every worker has been told to finish */
    while (size > 1 && sc->finished < size - 1) {
        coord_poll_with_signal(sc);
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (k > 1) {
        int none = -1;
        MPI_Bcast(&none, 1, MPI_INT, 0, group);
    }
    print_progress(sc, 1);
    if (size > 1) {
        double span = dcn_now() - sc->t0;
        dcn_log(ctx, 1, "[sweep] dispatch: %ld requests answered in %.1fs (%.1f/s), longest wait for an answer "
                "%.1f ms\n", sc->requests, span, span > 0 ? sc->requests / span : 0.0, sc->max_wait_us / 1000.0);
    }
    *n_failed = sc->failed;
    updater_busy(sc, 1);
    /* shards write the same file: each ends with a full merge (the merge job writes the last one) */
    enum dcn_status ms = sc->update_failed || sc->o->shard_count > 1 ? sweep_merge(ctx, s)
                                                                      : sweep_update(ctx, s, sc->dirty, sc->n_dirty);
    if (ms && sc->o->shard_count > 1) {
        /* a shard's trials are all safe in their own files; the merge job rebuilds results.h5 */
        dcn_log(ctx, 1, "[sweep] warning: %s (the merge step can rebuild it: dcn sweep --merge)\n", ctx->err);
    } else if (ms)
        st = ms;
    else
        dcn_log(ctx, 1, "[sweep] results in %s (%d done, %d failed%s)\n", s->output, sc->done, sc->failed,
                sc->interrupted ? ", interrupted: run the same command again to resume" : "");
    if (!st && stopping(sc))
        st = dcn_fail(ctx, DCN_EINTR, "stopped by a signal; checkpoints written, run the same command to resume");
    return st;
}

/* Another leader: asks rank 0 for work (reporting the last trial's outcome), trains it with its group,
 * until rank 0 answers that there is nothing left. */
static enum dcn_status worker_loop(struct dcn_ctx *ctx, struct sched *sc, MPI_Comm group, int k, int *n_failed)
{
    int last = -1, last_res = RES_NONE, last_ms = 0, exiting = 0, waited_us = 0;
    for (;;) {
        sync_stop(sc);
        exiting = stopping(sc);
        /* with the outcome of the last trial, how long the previous request waited for its answer */
        int msg[5] = {last, last_res, last_ms, exiting, waited_us};
        double t0 = MPI_Wtime();
        MPI_Send(msg, 5, MPI_INT, 0, TAG_REQ, sc->ctx->comm);
        int assign;
        MPI_Recv(&assign, 1, MPI_INT, 0, TAG_ASSIGN, sc->ctx->comm, MPI_STATUS_IGNORE);
        double w = (MPI_Wtime() - t0) * 1e6;
        waited_us = w > 2e9 ? 2000000000 : (int)w;
        if (k > 1)
            MPI_Bcast(&assign, 1, MPI_INT, 0, group);
        if (assign < 0)
            break;
        double secs = 0;
        last_res = run_trial(sc, assign, &secs);
        last = assign;
        last_ms = (int)(secs * 1000 > 2e9 ? 2e9 : secs * 1000);
        if (last_res == RES_FAILED)
            (*n_failed)++;
    }
    worker_poll(sc); /* drain a stop that crossed our last request */
    return exiting ? dcn_fail(ctx, DCN_EINTR, "stopped by a signal; checkpoint written") : DCN_OK;
}

enum dcn_status sweep_run(struct dcn_ctx *ctx, const struct sweep_spec *s, const struct sweep_options *o,
                          int *n_failed)
{
    *n_failed = 0;
    struct sched sc;
    memset(&sc, 0, sizeof sc);
    sc.s = s;
    sc.o = o;
    sc.t0 = sc.last_print = sc.last_merge = dcn_now();
    sc.world_rank = ctx->rank;
    const int k = o->ranks_per_trial > 0 ? o->ranks_per_trial : s->ranks_per_trial > 0 ? s->ranks_per_trial : 1;
    if (ctx->size % k)
        return dcn_fail(ctx, DCN_EINVAL, "%d ranks do not split into groups of %d ranks per trial", ctx->size, k);
    int lock_fd = -1;
    enum dcn_status st = sweep_start(ctx, s, o, &lock_fd);
    if (st)
        return st;
    sc.lock_fd = lock_fd;

    /* groups of k consecutive ranks train one trial together (data parallel); their first ranks, the
     * leaders, share the scheduling */
    struct dcn_ctx lctx = *ctx, gctx = *ctx;
    MPI_Comm group = MPI_COMM_NULL, leaders = MPI_COMM_NULL;
    if (ctx->size > 1) {
        MPI_Comm_split(ctx->comm, ctx->rank / k, ctx->rank, &group);
        MPI_Comm_split(ctx->comm, ctx->rank % k == 0 ? 0 : MPI_UNDEFINED, ctx->rank, &leaders);
        gctx.comm = group;
        MPI_Comm_rank(group, &gctx.rank);
        MPI_Comm_size(group, &gctx.size);
        lctx.comm = leaders;
        lctx.size = ctx->size / k;
        lctx.rank = ctx->rank / k;
    }
    sc.ctx = &lctx;
    sc.gctx = &gctx;
    if (ctx->rank % k)
        follower_loop(&sc, group, n_failed);
    else if (lctx.rank == 0) {
        st = coord_plan(ctx, &sc, lctx.size, k);
        if (!st)
            st = coordinator_loop(ctx, &sc, group, lctx.size, k, n_failed);
    } else
        st = worker_loop(ctx, &sc, group, k, n_failed);

    if (lock_fd >= 0)
        close(lock_fd);
    dcn_log(sc.gctx, 2, "[rank %d] data set and graph reused for %ld trials, loaded for %ld\n", sc.world_rank,
            sc.cache.hits, sc.cache.misses);
    trial_cache_free(&sc.cache);
    free(sc.dirty);
    free(sc.is_dirty);
    free(sc.pending);
    free(sc.busy);
    if (group != MPI_COMM_NULL)
        MPI_Comm_free(&group);
    if (leaders != MPI_COMM_NULL)
        MPI_Comm_free(&leaders);
    if (!st && sc.local_stop)
        st = dcn_fail(ctx, DCN_EINTR, "stopped by a signal; checkpoint written");
    /* every rank returns the same verdict */
    if (ctx->size > 1) {
        int mine = st == DCN_EINTR, any = 0;
        MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, ctx->comm);
        if (any && !st)
            st = dcn_fail(ctx, DCN_EINTR, "stopped by a signal on another rank; run the same command to resume");
    }
    return st;
}
