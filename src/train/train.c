#include "dcn/train.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dcn/data.h"
#include "dcn/io.h"

void train_config_default(struct train_config *c)
{
    memset(c, 0, sizeof *c);
    c->graph = "ws:n=32,k=4,p=0.75,seed=0";
    c->dataset = "mnist";
    c->variant = MODEL_PAPER;
    c->order = DAG_ORDER_RANDOM;
    c->epochs = 50;
    c->batch = 32;
    c->channels = 78;
    c->lr = 1e-3;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->threads = 1;
    c->progress = 1;
    c->bucket_mb = 1.0;
}

static void iso_time(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Loss sum and correct count over test images [lo, hi), in batches the model's arena was planned for. */
static void evaluate_range(struct model *m, const struct dcn_dataset *ds, float *x, int *y, int *idx, int lo, int hi,
                           double *loss_sum, double *correct)
{
    const int Bmax = m->cfg.batch;
    double sum = 0, corr = 0;
    for (int i = lo; i < hi; i += Bmax) {
        int B = hi - i < Bmax ? hi - i : Bmax;
        for (int k = 0; k < B; k++)
            idx[k] = i + k;
        dataset_batch(ds, 1, idx, B, x, y);
        int c = 0;
        sum += (double)model_forward(m, x, y, B, 0, &c) * B;
        corr += c;
    }
    *loss_sum = sum;
    *correct = corr;
}

/* Mean loss and accuracy over the whole test split. Data-parallel ranks each take a contiguous share
 * and sum; BN running statistics come from rank 0 first, as PyTorch DDP broadcasts buffers. */
static void evaluate(struct model *m, const struct dcn_dataset *ds, float *x, int *y, int *idx, double *loss,
                     double *acc, MPI_Comm comm, int rank, int P)
{
    int lo = (int)((long)ds->n_test * rank / P), hi = (int)((long)ds->n_test * (rank + 1) / P);
    if (P > 1)
        MPI_Bcast(m->buffer_mem, (int)m->buffer_floats, MPI_FLOAT, 0, comm);
    double v[2];
    evaluate_range(m, ds, x, y, idx, lo, hi, &v[0], &v[1]);
    if (P > 1)
        MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_DOUBLE, MPI_SUM, comm);
    *loss = v[0] / ds->n_test;
    *acc = v[1] / ds->n_test;
}

/* Gradient buckets reduced while backward goes on: model_backward reports how much of the arena
 * (from its end) is final; once that reaches the bucket size, the bucket's MPI_Iallreduce starts.
 * Every rank runs the same backward, so the buckets (and the order of the collectives) agree. */
struct buckets {
    MPI_Comm comm;
    float *grad;
    size_t end;    /* start of the part already handed to MPI (the arena's end at first) */
    size_t size;   /* floats per bucket */
    MPI_Request *req;
    int n, cap;
};

static void buckets_ready(void *arg, size_t from)
{
    struct buckets *b = arg;
    if (from < b->end && (b->end - from >= b->size || from == 0) && b->n < b->cap) {
        MPI_Iallreduce(MPI_IN_PLACE, b->grad + from, (int)(b->end - from), MPI_FLOAT, MPI_SUM, b->comm, &b->req[b->n++]);
        b->end = from;
    } else if (b->n) {
        /* Open MPI progresses nonblocking collectives only inside MPI calls */
        int flag;
        MPI_Testall(b->n, b->req, &flag, MPI_STATUSES_IGNORE);
    }
}

/* One trial's training run: its parts, buffers, position and accounting, passed between the named
 * steps of train_run below. */
struct run {
    struct dcn_ctx *ctx;
    const struct train_config *cfg;
    struct train_result *res;
    int dp, P, rank, is_root, G, B; /* data parallel over P ranks: global batch G, local B */
    MPI_Comm comm;
    struct trial_parts parts;
    struct model *m;              /* parts.m */
    const struct dcn_dataset *ds; /* parts.ds */
    float *x;
    int *y, *perm, *idx;
    struct buckets bk;
    struct trial_file *tf;        /* the trial file being written (rank 0 with cfg->out) */
    char tmp_path[1100];
    struct trial_epoch *history;
    struct trial_step *steps;     /* the learning curve: (DCN_STEP_ROWS_MAX + 1) rows */
    int n_steps;
    long steps_every;             /* steps per row */
    double step_loss;             /* sums of the steps since the last row */
    long step_correct;
    struct train_state ts;        /* what a checkpoint holds */
    struct dcn_rng order_rng;
    int steps_per_epoch, first_epoch, first_step, progress;
    long total, gstep, train_images;
    double t0, train_time, comm_time, elapsed0, last_print, last_ckpt;
};

/* The trial's parts and the buffers of one step; data-parallel gradient buckets; equal weights on
 * every rank. */
static enum dcn_status run_open(struct run *r)
{
    const struct train_config *cfg = r->cfg;
    enum dcn_status st = trial_setup(r->ctx, cfg, r->B, r->dp && cfg->sync_bn ? r->comm : MPI_COMM_NULL, &r->parts);
    if (st)
        return st;
    r->m = r->parts.m;
    r->ds = r->parts.ds;
    if (r->parts.dag) {
        r->res->dag_nodes = r->parts.dag->n;
        r->res->dag_edges = r->parts.dag->m;
        r->res->dag_inputs = r->parts.dag->n_inputs;
        r->res->dag_outputs = r->parts.dag->n_outputs;
    }
    struct model *m = r->m;
    if (r->dp && cfg->bucket_mb > 0) {
        r->bk.comm = r->comm;
        r->bk.grad = m->grad_mem;
        r->bk.size = (size_t)(cfg->bucket_mb * 1048576.0 / sizeof(float));
        if (r->bk.size < 1)
            r->bk.size = 1;
        r->bk.cap = m->n_params + 2; /* at most one bucket per tensor, plus the final one */
        if (!(r->bk.req = malloc((size_t)r->bk.cap * sizeof *r->bk.req)))
            return dcn_fail(r->ctx, DCN_ENOMEM, "out of memory");
        m->grad_ready = buckets_ready;
        m->grad_ready_arg = &r->bk;
    }
    if (r->dp) {
        /* identical seeds already give identical weights; the broadcast makes it a guarantee */
        MPI_Bcast(m->param_mem, (int)m->param_floats, MPI_FLOAT, 0, r->comm);
        MPI_Bcast(m->buffer_mem, (int)m->buffer_floats, MPI_FLOAT, 0, r->comm);
    }
    r->res->params_total = model_param_count(m);
    r->res->params_trainable = model_trainable_count(m);
    const size_t img = (size_t)r->ds->rows * (size_t)r->ds->cols;
    r->x = malloc((size_t)r->B * img * sizeof *r->x);
    r->y = malloc((size_t)r->B * sizeof *r->y);
    r->perm = malloc((size_t)r->ds->n_train * sizeof *r->perm);
    r->idx = malloc((size_t)r->B * sizeof *r->idx);
    r->history = calloc((size_t)cfg->epochs, sizeof *r->history);
    r->steps = calloc(DCN_STEP_ROWS_MAX + 1, sizeof *r->steps);
    if (!r->x || !r->y || !r->perm || !r->idx || !r->history || !r->steps)
        return dcn_fail(r->ctx, DCN_ENOMEM, "out of memory for batches");
    return DCN_OK;
}

/* The trial file, written under a temporary name and renamed at the end, so a crash never leaves a
 * file that looks finished: the trial fields, the run's settings, the DAG. */
static enum dcn_status run_start_file(struct run *r)
{
    const struct train_config *cfg = r->cfg;
    char freeze_buf[64], host[256] = "", start[32];
    gethostname(host, sizeof host - 1);
    iso_time(start, sizeof start);
    snprintf(r->tmp_path, sizeof r->tmp_path, "%s.tmp", cfg->out);
    struct trial_config fields;
    train_config_to_fields(cfg, &fields, freeze_buf, sizeof freeze_buf);
    struct trial_attr at[DCN_N_FIELDS + 16];
    int na = train_fields_attrs(&fields, at);
    const struct trial_attr run_attrs[] = {
        {"threads", TRIAL_INT, NULL, cfg->threads, 0},
        {"host", TRIAL_STR, host, 0, 0},
        {"start_time", TRIAL_STR, start, 0, 0},
        {"params_total", TRIAL_INT, NULL, (int64_t)r->res->params_total, 0},
        {"params_trainable", TRIAL_INT, NULL, (int64_t)r->res->params_trainable, 0},
        /* eval must normalise with the statistics the weights were trained with */
        {"data_mean", TRIAL_DOUBLE, NULL, 0, r->ds->mean},
        {"data_std", TRIAL_DOUBLE, NULL, 0, r->ds->std},
        {"trial_id", TRIAL_STR, cfg->trial_id ? cfg->trial_id : "", 0, 0},
        {"rank", TRIAL_INT, NULL, cfg->rank, 0},
        {"world_size", TRIAL_INT, NULL, r->P, 0},
        {"bn_mode", TRIAL_STR, r->dp && cfg->sync_bn ? "sync" : "local", 0, 0},
        {"batch_rule", TRIAL_STR,
         r->dp ? "global batch split evenly across ranks; lr as given (scale it yourself when raising --batch)"
               : "single process", 0, 0},
        {"local_batch", TRIAL_INT, NULL, r->B, 0},
        {"bucket_mb", TRIAL_DOUBLE, NULL, 0, r->dp ? cfg->bucket_mb : 0},
    };
    _Static_assert(sizeof run_attrs / sizeof run_attrs[0] <= 16, "room for the run's attributes");
    for (size_t k = 0; k < sizeof run_attrs / sizeof run_attrs[0]; k++)
        at[na++] = run_attrs[k];
    enum dcn_status st = trial_create(r->ctx, r->tmp_path, at, na, &r->tf);
    if (!st && r->parts.dag)
        st = trial_write_dag(r->ctx, r->tf, r->parts.g, r->parts.dag);
    return st;
}

/* Continues from cfg->checkpoint when it holds this trial; a damaged one is set aside and the trial
 * starts afresh; another trial's is refused. */
static enum dcn_status run_resume(struct run *r)
{
    const struct train_config *cfg = r->cfg;
    struct train_result *res = r->res;
    struct train_state *ts = &r->ts;
    enum dcn_status cs = ckpt_read(r->ctx, cfg->checkpoint, ts, r->m);
    if (cs == DCN_OK) {
        memcpy(r->order_rng.s, ts->rng, sizeof ts->rng);
        r->first_epoch = ts->epoch + 1;
        r->first_step = ts->step;
        int nh = ts->n_epochs_logged < cfg->epochs ? ts->n_epochs_logged : cfg->epochs;
        memcpy(r->history, ts->history, (size_t)nh * sizeof *r->history);
        free(ts->history);
        ts->history = r->history;
        r->n_steps = ts->n_steps_logged;
        memcpy(r->steps, ts->steps, (size_t)r->n_steps * sizeof *r->steps);
        r->step_loss = ts->step_loss;
        r->step_correct = (long)ts->step_correct;
        free(ts->steps);
        ts->steps = NULL;
        res->resumed_epoch = ts->epoch;
        res->resumed_step = ts->step;
        res->best_test_accuracy = ts->best_acc;
        res->best_epoch = ts->best_epoch;
        res->epochs_done = ts->epoch;
        if (nh) {
            res->test_accuracy = r->history[nh - 1].test_accuracy;
            res->test_loss = r->history[nh - 1].test_loss;
        }
        enum dcn_status st;
        for (int i = 0; r->tf && i < nh; i++)
            if ((st = trial_append_epoch(r->ctx, r->tf, &r->history[i])))
                return st;
        if (r->progress)
            dcn_log(r->ctx, 1, "train: resumed from %s at epoch %d, step %d\n", cfg->checkpoint, ts->epoch + 1,
                    ts->step);
    } else if (cs == DCN_EINVAL) {
        return cs; /* another trial's checkpoint under this name: refuse rather than mix trials */
    } else if (cs != DCN_EIO) {
        /* damaged (it cannot be half-written: checkpoints are renamed into place): keep it aside for
         * inspection and start the trial afresh */
        char bad[1200];
        snprintf(bad, sizeof bad, "%s.bad", cfg->checkpoint);
        dcn_log(r->ctx, 1, "train: %s; moved to %s, starting the trial afresh\n", r->ctx->err, bad);
        if (r->is_root)
            rename(cfg->checkpoint, bad);
        free(ts->history);
        ts->history = NULL;
        free(ts->steps);
        ts->steps = NULL;
        model_init(r->m, cfg->seed);
        for (int i = 0; i < r->ds->n_train; i++)
            r->perm[i] = i;
    }
    return DCN_OK;
}

/* Captures the position (epochs done, steps done in the next one, the epoch's sums so far) and writes
 * the checkpoint (rank 0). */
static enum dcn_status run_checkpoint(struct run *r, int epochs_done, int step, long gstep, double loss_sum,
                                      long correct, double now)
{
    struct train_state *ts = &r->ts;
    ts->epoch = epochs_done;
    ts->step = step;
    ts->gstep = gstep;
    memcpy(ts->rng, r->order_rng.s, sizeof ts->rng);
    ts->loss_sum = loss_sum;
    ts->correct = correct;
    ts->train_time = r->train_time;
    ts->train_images = r->train_images;
    ts->best_acc = r->res->best_test_accuracy;
    ts->best_epoch = r->res->best_epoch;
    ts->elapsed = r->elapsed0 + (now - r->t0);
    ts->n_epochs_logged = epochs_done;
    ts->steps = r->steps;
    ts->n_steps_logged = r->n_steps;
    ts->step_loss = r->step_loss;
    ts->step_correct = r->step_correct;
    enum dcn_status st = r->is_root ? ckpt_write(r->ctx, r->cfg->checkpoint, ts, r->m) : DCN_OK;
    r->last_ckpt = dcn_now();
    return st;
}

/* One optimisation step on the local shard of global batch s of the epoch; returns the global batch's
 * mean loss in *loss and its correct count in *correct, and in *stop whether any rank was signalled. */
static enum dcn_status run_step(struct run *r, int ep, int s, double lr, float *loss_out, int *correct, int *stop)
{
    const struct train_config *cfg = r->cfg;
    struct model *m = r->m;
    dataset_batch(r->ds, 0, r->perm + (size_t)s * r->G + (size_t)r->rank * r->B, r->B, r->x, r->y);
    int c = 0;
    float loss = model_forward(m, r->x, r->y, r->B, 1, &c);
    int stop_here = cfg->stop && *cfg->stop;
    if (r->dp) {
        /* the logged loss is the global batch's; a stop on any rank stops all of them */
        double v[3] = {loss, c, stop_here};
        double tc = dcn_now();
        MPI_Allreduce(MPI_IN_PLACE, v, 3, MPI_DOUBLE, MPI_SUM, r->comm);
        r->comm_time += dcn_now() - tc;
        loss = (float)(v[0] / r->P);
        c = (int)v[1];
        stop_here = v[2] > 0;
    }
    if (!isfinite(loss))
        return dcn_fail(r->ctx, DCN_ENUMERIC, "loss became %s at epoch %d step %d (lr %.3g)",
                        isnan(loss) ? "NaN" : "infinite", ep, s + 1, lr);
    if (r->bk.req) {
        r->bk.end = m->param_floats;
        r->bk.n = 0;
    }
    model_backward(m, r->x, r->y, r->B);
    if (r->dp) {
        /* sum over the whole gradient arena in a fixed order on every rank, then average: either the
         * buckets started during backward (wait for them) or one call now */
        double tc = dcn_now();
        if (r->bk.req)
            MPI_Waitall(r->bk.n, r->bk.req, MPI_STATUSES_IGNORE);
        else
            MPI_Allreduce(MPI_IN_PLACE, m->grad_mem, (int)m->param_floats, MPI_FLOAT, MPI_SUM, r->comm);
        r->comm_time += dcn_now() - tc;
        const float inv = 1.0f / (float)r->P;
        for (size_t k = 0; k < m->param_floats; k++)
            m->grad_mem[k] *= inv;
    }
    model_adam_step(m, (float)lr, (float)cfg->beta1, (float)cfg->beta2, (float)cfg->eps);
    *loss_out = loss;
    *correct = c;
    *stop = stop_here;
    return DCN_OK;
}

/* Adds step g's (0-based) loss and correct count to the learning curve; every steps_every steps, and
 * at the last step, the sums since the previous row become a row. */
static void run_log_step(struct run *r, int ep, long g, double loss, int correct, double lr)
{
    r->step_loss += loss;
    r->step_correct += correct;
    long done = g + 1;
    if (done % r->steps_every && done != r->total)
        return;
    long k = done % r->steps_every ? done % r->steps_every : r->steps_every;
    if (r->n_steps <= DCN_STEP_ROWS_MAX)
        r->steps[r->n_steps++] = (struct trial_step){done, (int64_t)done * r->G, ep, r->step_loss / (double)k,
                                                     (double)r->step_correct / ((double)k * r->G), lr};
    r->step_loss = 0;
    r->step_correct = 0;
}

/* Half-period cosine decay to 0 over all steps (PyTorch LambdaLR: step g uses lambda(g)). */
static double cosine_lr(double lr0, long g, long total)
{
    return lr0 * 0.5 * (1.0 + cos(M_PI * (double)g / (double)total));
}

/* Epoch ep's training steps (from the resumed step on the first epoch of a resumed run), with
 * checkpoints, stops and progress lines; the epoch's loss sum, correct count and last lr come back. */
static enum dcn_status run_epoch_steps(struct run *r, int ep, double *loss_sum_out, long *correct_out, double *lr_out)
{
    const struct train_config *cfg = r->cfg;
    double loss_sum = 0, lr = cfg->lr;
    long correct = 0;
    int s0 = 0;
    enum dcn_status st = DCN_OK;
    if (ep == r->first_epoch && r->first_step > 0) {
        s0 = r->first_step; /* mid-epoch resume: the checkpoint holds this epoch's order */
        loss_sum = r->ts.loss_sum;
        correct = (long)r->ts.correct;
    } else {
        dcn_rng_shuffle_int(&r->order_rng, r->perm, (size_t)r->ds->n_train);
    }
    /* the epoch records the lr of its last step: after a resume at the epoch's end no step runs here,
     * so it is the step before the resume point's */
    if (s0 > 0)
        lr = cosine_lr(cfg->lr, r->gstep - 1, r->total);
    for (int s = s0; s < r->steps_per_epoch; s++, r->gstep++) {
        lr = cosine_lr(cfg->lr, r->gstep, r->total);
        double tstep = dcn_now();
        float loss = 0;
        int c = 0, stopping = 0;
        if ((st = run_step(r, ep, s, lr, &loss, &c, &stopping)))
            break;
        double now = dcn_now();
        r->train_time += now - tstep;
        r->train_images += r->G;
        loss_sum += loss;
        correct += c;
        run_log_step(r, ep, r->gstep, loss, c, lr);
        if (cfg->poll)
            cfg->poll(cfg->poll_arg);
        if (cfg->checkpoint && (stopping || now - r->last_ckpt > cfg->checkpoint_every) &&
            (st = run_checkpoint(r, ep - 1, s + 1, r->gstep + 1, loss_sum, correct, now)))
            break;
        if (stopping) {
            st = dcn_fail(r->ctx, DCN_EINTR, "stopped by a signal at epoch %d step %d%s", ep, s + 1,
                          cfg->checkpoint ? " (checkpoint written)" : "");
            break;
        }
        if (r->progress && now - r->last_print > 5.0) {
            r->last_print = now;
            double ips = r->train_images / r->train_time;
            double eta = (double)(r->total - r->gstep - 1) * r->G / ips;
            dcn_log(r->ctx, 1, "  epoch %d/%d step %d/%d loss %.4f acc %.4f | %.1f img/s | ETA %.0fs (train only)\n",
                    ep, cfg->epochs, s + 1, r->steps_per_epoch, loss_sum / (s + 1),
                    (double)correct / ((double)(s + 1) * r->G), ips, eta);
        }
    }
    *loss_sum_out = loss_sum;
    *correct_out = correct;
    *lr_out = lr;
    return st;
}

/* Epoch ep: its steps, the test-set evaluation, the metrics row and the end-of-epoch checkpoint. */
static enum dcn_status run_epoch(struct run *r, int ep)
{
    const struct train_config *cfg = r->cfg;
    struct train_result *res = r->res;
    double te0 = dcn_now(), loss_sum, lr;
    long correct;
    enum dcn_status st = run_epoch_steps(r, ep, &loss_sum, &correct, &lr);
    if (st)
        return st;
    struct trial_epoch e = {.epoch = ep,
                            .train_loss = loss_sum / r->steps_per_epoch,
                            .train_accuracy = (double)correct / ((double)r->steps_per_epoch * r->G),
                            .lr = lr};
    evaluate(r->m, r->ds, r->x, r->y, r->idx, &e.test_loss, &e.test_accuracy, r->comm, r->rank, r->P);
    e.seconds = dcn_now() - te0;
    if (!isfinite(e.test_loss))
        return dcn_fail(r->ctx, DCN_ENUMERIC, "test loss became %s after epoch %d", isnan(e.test_loss) ? "NaN" : "infinite",
                        ep);
    r->history[ep - 1] = e;
    res->epochs_done = ep;
    res->test_accuracy = e.test_accuracy;
    res->test_loss = e.test_loss;
    if (e.test_accuracy > res->best_test_accuracy) {
        res->best_test_accuracy = e.test_accuracy;
        res->best_epoch = ep;
    }
    if (r->progress)
        dcn_log(r->ctx, 1, "epoch %d/%d: train loss %.4f acc %.4f | test loss %.4f acc %.4f | %.1fs\n", ep,
                cfg->epochs, e.train_loss, e.train_accuracy, e.test_loss, e.test_accuracy, e.seconds);
    if (r->tf && (st = trial_append_epoch(r->ctx, r->tf, &e)))
        return st;
    if (cfg->checkpoint && ep < cfg->epochs)
        st = run_checkpoint(r, ep, 0, r->gstep, 0, 0, dcn_now());
    return st;
}

/* Ends the trial file: an interrupted trial's stays "running" (the checkpoint carries it on); a done
 * or failed one gets its weights and results and is renamed into place, and a done trial's
 * checkpoint is removed. A failure here becomes the run's status unless it already failed. */
static enum dcn_status run_finish_file(struct run *r, enum dcn_status st)
{
    struct dcn_ctx *ctx = r->ctx;
    struct train_result *res = r->res;
    if (!r->tf)
        return st;
    if (st == DCN_EINTR) {
        struct dcn_ctx c2 = *ctx; /* keep the interruption as the reported status */
        trial_flush(&c2, r->tf, 0);
        trial_close(&c2, r->tf);
        r->tf = NULL;
        return st;
    }
    char end[32];
    iso_time(end, sizeof end);
    struct trial_attr fin[] = {
        {"status", TRIAL_STR, st ? "failed" : "done", 0, 0},
        {"reason", TRIAL_STR, st ? ctx->err : "", 0, 0},
        {"end_time", TRIAL_STR, end, 0, 0},
        {"test_accuracy", TRIAL_DOUBLE, NULL, 0, res->test_accuracy},
        {"test_loss", TRIAL_DOUBLE, NULL, 0, res->test_loss},
        {"best_test_accuracy", TRIAL_DOUBLE, NULL, 0, res->best_test_accuracy},
        {"best_epoch", TRIAL_INT, NULL, res->best_epoch, 0},
        {"epochs_done", TRIAL_INT, NULL, res->epochs_done, 0},
        {"wall_seconds", TRIAL_DOUBLE, NULL, 0, res->wall_seconds},
        {"train_images_per_s", TRIAL_DOUBLE, NULL, 0, res->train_images_per_s},
        {"resumed_epoch", TRIAL_INT, NULL, res->resumed_epoch, 0},
        {"resumed_step", TRIAL_INT, NULL, res->resumed_step, 0},
    };
    struct dcn_ctx c2 = *ctx; /* keep the training error as the reported one */
    enum dcn_status st2 = DCN_OK;
    if (r->m)
        st2 = trial_write_weights(&c2, r->tf, r->m);
    if (!st2)
        st2 = trial_write_steps(&c2, r->tf, r->steps, r->n_steps, (int64_t)r->steps_per_epoch * r->G);
    if (!st2)
        st2 = trial_set_attrs(&c2, r->tf, fin, (int)(sizeof fin / sizeof fin[0]));
    if (!st2)
        st2 = trial_flush(&c2, r->tf, 1); /* the finished file must survive a crash */
    enum dcn_status st3 = trial_close(&c2, r->tf);
    r->tf = NULL;
    if (!st2)
        st2 = st3;
    if (!st2 && rename(r->tmp_path, r->cfg->out) != 0)
        st2 = dcn_fail(&c2, DCN_EIO, "%s: cannot rename the finished trial file into place", r->cfg->out);
    if (st2 && !st) {
        *ctx = c2;
        st = st2;
    }
    /* the finished trial file now holds everything the checkpoint had */
    if (!st2 && r->cfg->checkpoint)
        remove(r->cfg->checkpoint);
    return st;
}

static void run_free(struct run *r)
{
    free(r->history);
    free(r->steps);
    free(r->bk.req);
    free(r->x);
    free(r->y);
    free(r->perm);
    free(r->idx);
    trial_teardown(&r->parts);
}

enum dcn_status train_run(struct dcn_ctx *ctx, const struct train_config *cfg, struct train_result *res)
{
    memset(res, 0, sizeof *res);
    snprintf(res->status, sizeof res->status, "failed");
    if (cfg->epochs < 1 || cfg->batch < 1 || cfg->channels < 1 || !(cfg->lr > 0))
        return dcn_fail(ctx, DCN_EINVAL, "epochs, batch, channels and lr must be positive");
    struct run r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    r.cfg = cfg;
    r.res = res;
    /* data parallel: the global batch cfg->batch is split into equal shards, one per rank */
    r.dp = cfg->data_parallel && ctx->comm != MPI_COMM_NULL && ctx->size > 1;
    r.P = r.dp ? ctx->size : 1;
    r.rank = r.dp ? ctx->rank : 0;
    r.is_root = r.rank == 0;
    r.comm = r.dp ? ctx->comm : MPI_COMM_NULL;
    if (r.dp && cfg->batch % r.P)
        return dcn_fail(ctx, DCN_EINVAL, "the global batch %d does not split evenly over %d ranks", cfg->batch, r.P);
    r.G = cfg->batch;
    r.B = cfg->batch / r.P;
    /* our own threads split each batch; OpenBLAS stays at one thread inside them (its threads spin
     * and collapse on these small shapes when the cores are busy) */
    openblas_set_num_threads(1);
    r.t0 = dcn_now();
    enum dcn_status st = run_open(&r);
    if (!st && cfg->out && r.is_root)
        st = run_start_file(&r);
    if (st)
        goto done;
    r.progress = cfg->progress && r.is_root;
    r.steps_per_epoch = r.ds->n_train / r.G; /* the last partial batch is dropped, as the peer does */
    r.total = (long)r.steps_per_epoch * cfg->epochs;
    r.steps_every = (r.total + DCN_STEP_ROWS_MAX - 1) / DCN_STEP_ROWS_MAX;
    if (r.steps_every < 1)
        r.steps_every = 1;
    dcn_rng_seed2(&r.order_rng, cfg->seed, 1); /* stream 1: data order (stream 0 made the weights) */
    for (int i = 0; i < r.ds->n_train; i++)
        r.perm[i] = i;
    snprintf(r.ts.fingerprint, sizeof r.ts.fingerprint, "%s", cfg->fingerprint ? cfg->fingerprint : "");
    r.ts.n_train = r.ds->n_train;
    r.ts.perm = r.perm;
    res->resumed_epoch = res->resumed_step = -1;
    r.first_epoch = 1;
    if (cfg->checkpoint && (st = run_resume(&r)))
        goto done;
    r.ts.history = r.history;
    r.gstep = (long)(r.first_epoch - 1) * r.steps_per_epoch + r.first_step;
    r.train_time = r.ts.train_time;
    r.last_print = r.last_ckpt = dcn_now();
    r.elapsed0 = r.ts.elapsed;
    r.train_images = r.ts.train_images;
    if (r.progress)
        dcn_log(ctx, 1, "train: %s on %s, %s%s, %zu parameters (%zu trainable), %d steps/epoch x %d epochs\n",
                model_variant_has_dag(cfg->variant) ? cfg->graph : "no graph", r.ds->name,
                model_variant_name(cfg->variant), cfg->freeze ? " (frozen parts)" : "", res->params_total,
                res->params_trainable, r.steps_per_epoch, cfg->epochs);
    for (int ep = r.first_epoch; !st && ep <= cfg->epochs; ep++)
        st = run_epoch(&r, ep);
    if (!st) {
        res->train_images_per_s = r.train_time > 0 ? r.train_images / r.train_time : 0;
        res->comm_seconds = r.comm_time;
        res->compute_seconds = r.train_time - r.comm_time;
        snprintf(res->status, sizeof res->status, "done");
    }
done:
    /* earlier runs of a resumed trial count only when it finished */
    res->wall_seconds = (st ? 0 : r.elapsed0) + dcn_now() - r.t0;
    if (st == DCN_EINTR)
        snprintf(res->status, sizeof res->status, "interrupted");
    st = run_finish_file(&r, st);
    run_free(&r);
    return st;
}

enum dcn_status train_eval_file(struct dcn_ctx *ctx, const char *trial_path, const char *dataset,
                                const char *data_dir, int test_limit, double *accuracy, double *loss)
{
    char buf[64];
    enum dcn_status st;
    if ((st = trial_read_attr_str(ctx, trial_path, "format_version", buf, sizeof buf)))
        return st;
    if (atoi(buf) > DCN_TRIAL_FORMAT_VERSION)
        return dcn_fail(ctx, DCN_EPARSE, "%s: written by a newer dcn (format version %s; this dcn %s reads up to %d)",
                        trial_path, buf, DCN_VERSION, DCN_TRIAL_FORMAT_VERSION);
    if ((st = trial_read_attr_str(ctx, trial_path, "status", buf, sizeof buf)))
        return st;
    if (strcmp(buf, "done"))
        return dcn_fail(ctx, DCN_EINVAL, "%s: the trial's status is '%s'; only finished trials have weights to evaluate",
                        trial_path, buf);
    struct trial_config fc;
    char store[DCN_N_FIELDS][DCN_FIELD_TEXT]; /* 16 KiB: the strings fc points to */
    if ((st = train_fields_read(ctx, trial_path, &fc, store)))
        return st;
    struct train_config tc;
    train_config_default(&tc);
    if ((st = train_config_from_fields(ctx, &fc, &tc))) {
        dcn_err_prefix(ctx, "%s", trial_path);
        return st;
    }
    double mean = 0, std = 1;
    if (!(st = trial_read_attr_str(ctx, trial_path, "data_mean", buf, sizeof buf)))
        mean = strtod(buf, NULL);
    if (!st && !(st = trial_read_attr_str(ctx, trial_path, "data_std", buf, sizeof buf)))
        std = strtod(buf, NULL);
    if (st)
        return st;
    /* the model of the file, on the data set asked for: one batch of training images is enough */
    tc.dataset = dataset;
    tc.data_dir = data_dir;
    tc.train_limit = tc.batch;
    tc.test_limit = test_limit;
    tc.threads = 1;
    struct trial_parts parts;
    if ((st = trial_setup(ctx, &tc, tc.batch, MPI_COMM_NULL, &parts))) {
        if (parts.failed_at == TRIAL_SETUP_MODEL) { /* the configuration came from the file: name it */
            char why[sizeof ctx->err];
            snprintf(why, sizeof why, "%s", ctx->err);
            st = dcn_fail(ctx, st, "%s: the trial's configuration does not make a model (%s)", trial_path, why);
        }
        return st;
    }
    struct dcn_dataset *ds = parts.ds;
    struct model *m = parts.m;
    ds->mean = (float)mean;
    ds->std = (float)std;
    float *x = NULL;
    int *y = NULL, *idx = NULL;
    const int B = tc.batch;
    st = trial_read_weights(ctx, trial_path, m);
    if (!st) {
        x = malloc((size_t)B * (size_t)ds->rows * (size_t)ds->cols * sizeof *x);
        y = malloc((size_t)B * sizeof *y);
        idx = malloc((size_t)B * sizeof *idx);
        if (!x || !y || !idx)
            st = dcn_fail(ctx, DCN_ENOMEM, "out of memory for batches");
        else
            evaluate(m, ds, x, y, idx, loss, accuracy, MPI_COMM_NULL, 0, 1);
    }
    free(x);
    free(y);
    free(idx);
    trial_teardown(&parts);
    return st;
}
