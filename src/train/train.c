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

void train_config_authors(struct train_config *c)
{
    c->freeze = FREEZE_STEM | FREEZE_NODES | FREEZE_HEAD;
    c->agg_init_normal = 1;
    c->normalize_half = 1;
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

static const char *freeze_string(int mask, char *buf, size_t len)
{
    buf[0] = 0;
    const char *names[] = {"stem", "nodes", "agg", "head"};
    for (int i = 0; i < 4; i++)
        if (mask & (1 << i)) {
            size_t l = strlen(buf);
            snprintf(buf + l, len - l, "%s%s", l ? "," : "", names[i]);
        }
    if (!buf[0])
        snprintf(buf, len, "none");
    return buf;
}

enum dcn_status train_run(struct dcn_ctx *ctx, const struct train_config *cfg, struct train_result *res)
{
    memset(res, 0, sizeof *res);
    snprintf(res->status, sizeof res->status, "failed");
    if (cfg->epochs < 1 || cfg->batch < 1 || cfg->channels < 1 || !(cfg->lr > 0))
        return dcn_fail(ctx, DCN_EINVAL, "epochs, batch, channels and lr must be positive");
    /* data parallel: the global batch cfg->batch is split into equal shards, one per rank */
    const int dp = cfg->data_parallel && ctx->comm != MPI_COMM_NULL && ctx->size > 1;
    const int P = dp ? ctx->size : 1, rank = dp ? ctx->rank : 0, is_root = rank == 0;
    const MPI_Comm comm = dp ? ctx->comm : MPI_COMM_NULL;
    if (dp && cfg->batch % P)
        return dcn_fail(ctx, DCN_EINVAL, "the global batch %d does not split evenly over %d ranks", cfg->batch, P);
    const int G = cfg->batch, B = cfg->batch / P;
    double comm_time = 0;
    /* our own threads split each batch; OpenBLAS stays at one thread inside them (its threads spin
     * and collapse on these small shapes when the cores are busy) */
    openblas_set_num_threads(1);
    double t0 = dcn_now();

    struct dcn_dataset *ds = NULL;
    struct dcn_graph *g = NULL;
    struct dcn_dag *dag = NULL;
    struct model *m = NULL;
    struct trial_file *tf = NULL;
    float *x = NULL;
    int *y = NULL, *perm = NULL, *idx = NULL;
    char tmp_path[1100] = "";
    struct trial_epoch *history = NULL;
    double wall_before = 0;
    struct buckets bk = {0}; /* data-parallel gradient buckets (set up once the model exists) */
    enum dcn_status st = dataset_load(ctx, cfg->dataset, cfg->data_dir, cfg->train_limit, cfg->test_limit, &ds);
    if (st)
        goto done;
    if (ds->n_train < cfg->batch) {
        st = dcn_fail(ctx, DCN_EINVAL, "dataset %s has %d training images, fewer than one batch of %d", ds->name,
                      ds->n_train, cfg->batch);
        goto done;
    }
    if (cfg->normalize_half) {
        ds->mean = 0.5f;
        ds->std = 1.0f;
    }
    if (model_variant_has_dag(cfg->variant)) {
        st = graph_load(ctx, cfg->graph, cfg->data_dir, &g);
        if (!st)
            st = dag_build(ctx, g, cfg->order, cfg->order_seed, &dag);
        if (st)
            goto done;
        res->dag_nodes = dag->n;
        res->dag_edges = dag->m;
        res->dag_inputs = dag->n_inputs;
        res->dag_outputs = dag->n_outputs;
    }
    struct model_config mc;
    model_config_default(&mc);
    mc.variant = cfg->variant;
    mc.channels = cfg->channels;
    mc.batch = B;
    mc.classes = ds->classes;
    mc.in_h = ds->rows;
    mc.in_w = ds->cols;
    mc.freeze = cfg->freeze;
    mc.agg_init_normal = cfg->agg_init_normal;
    mc.threads = cfg->threads > 0 ? cfg->threads : 1;
    mc.bn_comm = dp && cfg->sync_bn ? comm : MPI_COMM_NULL;
    st = model_create(ctx, &mc, dag, &m);
    if (st)
        goto done;
    model_init(m, cfg->seed);
    if (dp && cfg->bucket_mb > 0) {
        bk.comm = comm;
        bk.grad = m->grad_mem;
        bk.size = (size_t)(cfg->bucket_mb * 1048576.0 / sizeof(float));
        if (bk.size < 1)
            bk.size = 1;
        bk.cap = m->n_params + 2; /* at most one bucket per tensor, plus the final one */
        bk.req = malloc((size_t)bk.cap * sizeof *bk.req);
        if (!bk.req) {
            st = dcn_fail(ctx, DCN_ENOMEM, "out of memory");
            goto done;
        }
        m->grad_ready = buckets_ready;
        m->grad_ready_arg = &bk;
    }
    if (dp) {
        /* identical seeds already give identical weights; the broadcast makes it a guarantee */
        MPI_Bcast(m->param_mem, (int)m->param_floats, MPI_FLOAT, 0, comm);
        MPI_Bcast(m->buffer_mem, (int)m->buffer_floats, MPI_FLOAT, 0, comm);
    }
    res->params_total = model_param_count(m);
    res->params_trainable = model_trainable_count(m);

    const size_t img = (size_t)ds->rows * (size_t)ds->cols;
    x = malloc((size_t)B * img * sizeof *x);
    y = malloc((size_t)B * sizeof *y);
    perm = malloc((size_t)ds->n_train * sizeof *perm);
    idx = malloc((size_t)B * sizeof *idx);
    if (!x || !y || !perm || !idx) {
        st = dcn_fail(ctx, DCN_ENOMEM, "out of memory for batches");
        goto done;
    }

    char freeze_buf[64], host[256] = "", start[32];
    gethostname(host, sizeof host - 1);
    iso_time(start, sizeof start);
    if (cfg->out && is_root) {
        /* written under a temporary name and renamed at the end, so a crash never leaves a file
         * that looks finished */
        snprintf(tmp_path, sizeof tmp_path, "%s.tmp", cfg->out);
        struct trial_attr at[] = {
            {"graph", TRIAL_STR, model_variant_has_dag(cfg->variant) ? cfg->graph : "none", 0, 0},
            {"dataset", TRIAL_STR, cfg->dataset, 0, 0},
            {"variant", TRIAL_STR, model_variant_name(cfg->variant), 0, 0},
            {"frozen", TRIAL_INT, NULL, (cfg->freeze & (FREEZE_NODES | FREEZE_AGG)) == (FREEZE_NODES | FREEZE_AGG), 0},
            {"freeze", TRIAL_STR, freeze_string(cfg->freeze, freeze_buf, sizeof freeze_buf), 0, 0},
            {"seed", TRIAL_INT, NULL, (int64_t)cfg->seed, 0},
            {"order", TRIAL_STR, dag_order_name(cfg->order), 0, 0},
            {"order_seed", TRIAL_INT, NULL, (int64_t)cfg->order_seed, 0},
            {"epochs", TRIAL_INT, NULL, cfg->epochs, 0},
            {"batch", TRIAL_INT, NULL, cfg->batch, 0},
            {"lr", TRIAL_DOUBLE, NULL, 0, cfg->lr},
            {"channels", TRIAL_INT, NULL, cfg->channels, 0},
            {"train_limit", TRIAL_INT, NULL, cfg->train_limit, 0},
            {"test_limit", TRIAL_INT, NULL, cfg->test_limit, 0},
            {"agg_init", TRIAL_STR, cfg->agg_init_normal ? "normal" : "zero", 0, 0},
            {"normalize", TRIAL_STR, cfg->normalize_half ? "half" : "meanstd", 0, 0},
            {"threads", TRIAL_INT, NULL, cfg->threads, 0},
            {"host", TRIAL_STR, host, 0, 0},
            {"start_time", TRIAL_STR, start, 0, 0},
            {"params_total", TRIAL_INT, NULL, (int64_t)res->params_total, 0},
            {"params_trainable", TRIAL_INT, NULL, (int64_t)res->params_trainable, 0},
            /* eval must normalise with the statistics the weights were trained with */
            {"data_mean", TRIAL_DOUBLE, NULL, 0, ds->mean},
            {"data_std", TRIAL_DOUBLE, NULL, 0, ds->std},
            {"trial_id", TRIAL_STR, cfg->trial_id ? cfg->trial_id : "", 0, 0},
            {"rank", TRIAL_INT, NULL, cfg->rank, 0},
            {"world_size", TRIAL_INT, NULL, P, 0},
            {"bn_mode", TRIAL_STR, dp && cfg->sync_bn ? "sync" : "local", 0, 0},
            {"batch_rule", TRIAL_STR,
             dp ? "global batch split evenly across ranks; lr as given (scale it yourself when raising --batch)"
                : "single process", 0, 0},
            {"local_batch", TRIAL_INT, NULL, B, 0},
            {"bucket_mb", TRIAL_DOUBLE, NULL, 0, dp ? cfg->bucket_mb : 0},
        };
        st = trial_create(ctx, tmp_path, at, (int)(sizeof at / sizeof at[0]), &tf);
        if (!st && dag)
            st = trial_write_dag(ctx, tf, dag);
        if (st)
            goto done;
    }

    const int progress = cfg->progress && is_root;
    const int steps_per_epoch = ds->n_train / G; /* the last partial batch is dropped, as the peer does */
    const long total = (long)steps_per_epoch * cfg->epochs;
    struct dcn_rng order_rng;
    dcn_rng_seed2(&order_rng, cfg->seed, 1); /* stream 1: data order (stream 0 made the weights) */
    for (int i = 0; i < ds->n_train; i++)
        perm[i] = i;
    history = calloc((size_t)cfg->epochs, sizeof *history);
    if (!history) {
        st = dcn_fail(ctx, DCN_ENOMEM, "out of memory");
        goto done;
    }
    struct train_state ts = {0};
    snprintf(ts.fingerprint, sizeof ts.fingerprint, "%s", cfg->fingerprint ? cfg->fingerprint : "");
    ts.n_train = ds->n_train;
    ts.perm = perm;
    res->resumed_epoch = res->resumed_step = -1;
    int first_epoch = 1, first_step = 0;
    if (cfg->checkpoint) {
        enum dcn_status cs = ckpt_read(ctx, cfg->checkpoint, &ts, m);
        if (cs == DCN_OK) {
            memcpy(order_rng.s, ts.rng, sizeof ts.rng);
            first_epoch = ts.epoch + 1;
            first_step = ts.step;
            int nh = ts.n_epochs_logged < cfg->epochs ? ts.n_epochs_logged : cfg->epochs;
            memcpy(history, ts.history, (size_t)nh * sizeof *history);
            free(ts.history);
            ts.history = history;
            res->resumed_epoch = ts.epoch;
            res->resumed_step = ts.step;
            res->best_test_accuracy = ts.best_acc;
            res->best_epoch = ts.best_epoch;
            res->epochs_done = ts.epoch;
            if (nh) {
                res->test_accuracy = history[nh - 1].test_accuracy;
                res->test_loss = history[nh - 1].test_loss;
            }
            for (int i = 0; tf && i < nh; i++)
                if ((st = trial_append_epoch(ctx, tf, &history[i])))
                    goto done;
            if (progress)
                dcn_log(ctx, 1, "train: resumed from %s at epoch %d, step %d\n", cfg->checkpoint, ts.epoch + 1,
                        ts.step);
        } else if (cs == DCN_EINVAL) {
            st = cs; /* another trial's checkpoint under this name: refuse rather than mix trials */
            goto done;
        } else if (cs != DCN_EIO) {
            /* damaged (it cannot be half-written: checkpoints are renamed into place): keep it aside
             * for inspection and start the trial afresh */
            char bad[1200];
            snprintf(bad, sizeof bad, "%s.bad", cfg->checkpoint);
            dcn_log(ctx, 1, "train: %s; moved to %s, starting the trial afresh\n", ctx->err, bad);
            if (is_root)
                rename(cfg->checkpoint, bad);
            free(ts.history);
            ts.history = NULL;
            model_init(m, cfg->seed);
            for (int i = 0; i < ds->n_train; i++)
                perm[i] = i;
        }
    }
    ts.history = history;
    long gstep = (long)(first_epoch - 1) * steps_per_epoch + first_step;
    double train_time = ts.train_time, last_print = dcn_now(), last_ckpt = dcn_now(), elapsed0 = ts.elapsed;
    long train_images = ts.train_images;
    if (progress)
        dcn_log(ctx, 1, "train: %s on %s, %s%s, %zu parameters (%zu trainable), %d steps/epoch x %d epochs\n",
                model_variant_has_dag(cfg->variant) ? cfg->graph : "no graph", ds->name, model_variant_name(cfg->variant),
                cfg->freeze ? " (frozen parts)" : "", res->params_total, res->params_trainable, steps_per_epoch,
                cfg->epochs);
    for (int ep = first_epoch; ep <= cfg->epochs; ep++) {
        double te0 = dcn_now();
        double loss_sum = 0, lr = cfg->lr;
        long correct = 0;
        int s0 = 0;
        if (ep == first_epoch && first_step > 0) {
            s0 = first_step; /* mid-epoch resume: the checkpoint holds this epoch's order */
            loss_sum = ts.loss_sum;
            correct = (long)ts.correct;
        } else {
            dcn_rng_shuffle_int(&order_rng, perm, (size_t)ds->n_train);
        }
        for (int s = s0; s < steps_per_epoch; s++, gstep++) {
            /* half-period cosine decay to 0 over all steps (PyTorch LambdaLR: step s uses lambda(s)) */
            lr = cfg->lr * 0.5 * (1.0 + cos(M_PI * (double)gstep / (double)total));
            dataset_batch(ds, 0, perm + (size_t)s * G + (size_t)rank * B, B, x, y);
            int c = 0;
            double tstep = dcn_now();
            float loss = model_forward(m, x, y, B, 1, &c);
            int stop_here = cfg->stop && *cfg->stop;
            if (dp) {
                /* the logged loss is the global batch's; a stop on any rank stops all of them */
                double v[3] = {loss, c, stop_here};
                double tc = dcn_now();
                MPI_Allreduce(MPI_IN_PLACE, v, 3, MPI_DOUBLE, MPI_SUM, comm);
                comm_time += dcn_now() - tc;
                loss = (float)(v[0] / P);
                c = (int)v[1];
                stop_here = v[2] > 0;
            }
            if (!isfinite(loss)) {
                st = dcn_fail(ctx, DCN_ENUMERIC, "loss became %s at epoch %d step %d (lr %.3g)",
                              isnan(loss) ? "NaN" : "infinite", ep, s + 1, lr);
                goto done;
            }
            if (bk.req) {
                bk.end = m->param_floats;
                bk.n = 0;
            }
            model_backward(m, x, y, B);
            if (dp) {
                /* sum over the whole gradient arena in a fixed order on every rank, then average:
                 * either the buckets started during backward (wait for them) or one call now */
                double tc = dcn_now();
                if (bk.req)
                    MPI_Waitall(bk.n, bk.req, MPI_STATUSES_IGNORE);
                else
                    MPI_Allreduce(MPI_IN_PLACE, m->grad_mem, (int)m->param_floats, MPI_FLOAT, MPI_SUM, comm);
                comm_time += dcn_now() - tc;
                const float inv = 1.0f / (float)P;
                for (size_t k = 0; k < m->param_floats; k++)
                    m->grad_mem[k] *= inv;
            }
            model_adam_step(m, (float)lr, (float)cfg->beta1, (float)cfg->beta2, (float)cfg->eps);
            double now = dcn_now();
            train_time += now - tstep;
            train_images += G;
            loss_sum += loss;
            correct += c;
            if (cfg->poll)
                cfg->poll(cfg->poll_arg);
            int stopping = stop_here;
            if (cfg->checkpoint && (stopping || now - last_ckpt > cfg->checkpoint_every)) {
                ts.epoch = ep - 1;
                ts.step = s + 1;
                ts.gstep = gstep + 1;
                memcpy(ts.rng, order_rng.s, sizeof ts.rng);
                ts.loss_sum = loss_sum;
                ts.correct = correct;
                ts.train_time = train_time;
                ts.train_images = train_images;
                ts.best_acc = res->best_test_accuracy;
                ts.best_epoch = res->best_epoch;
                ts.elapsed = elapsed0 + (now - t0);
                ts.n_epochs_logged = ep - 1;
                if (is_root && (st = ckpt_write(ctx, cfg->checkpoint, &ts, m)))
                    goto done;
                last_ckpt = now;
            }
            if (stopping) {
                st = dcn_fail(ctx, DCN_EINTR, "stopped by a signal at epoch %d step %d%s", ep, s + 1,
                              cfg->checkpoint ? " (checkpoint written)" : "");
                goto done;
            }
            if (progress && now - last_print > 5.0) {
                last_print = now;
                double ips = train_images / train_time;
                double eta = (double)(total - gstep - 1) * G / ips;
                dcn_log(ctx, 1, "  epoch %d/%d step %d/%d loss %.4f acc %.4f | %.1f img/s | ETA %.0fs (train only)\n",
                        ep, cfg->epochs, s + 1, steps_per_epoch, loss_sum / (s + 1),
                        (double)correct / ((double)(s + 1) * G), ips, eta);
            }
        }
        struct trial_epoch e = {.epoch = ep,
                                .train_loss = loss_sum / steps_per_epoch,
                                .train_accuracy = (double)correct / ((double)steps_per_epoch * G),
                                .lr = lr};
        evaluate(m, ds, x, y, idx, &e.test_loss, &e.test_accuracy, comm, rank, P);
        e.seconds = dcn_now() - te0;
        if (!isfinite(e.test_loss)) {
            st = dcn_fail(ctx, DCN_ENUMERIC, "test loss became %s after epoch %d", isnan(e.test_loss) ? "NaN" : "infinite", ep);
            goto done;
        }
        history[ep - 1] = e;
        res->epochs_done = ep;
        res->test_accuracy = e.test_accuracy;
        res->test_loss = e.test_loss;
        if (e.test_accuracy > res->best_test_accuracy) {
            res->best_test_accuracy = e.test_accuracy;
            res->best_epoch = ep;
        }
        if (progress)
            dcn_log(ctx, 1, "epoch %d/%d: train loss %.4f acc %.4f | test loss %.4f acc %.4f | %.1fs\n", ep,
                    cfg->epochs, e.train_loss, e.train_accuracy, e.test_loss, e.test_accuracy, e.seconds);
        if (tf && (st = trial_append_epoch(ctx, tf, &e)))
            goto done;
        if (cfg->checkpoint && ep < cfg->epochs) {
            ts.epoch = ep;
            ts.step = 0;
            ts.gstep = gstep;
            memcpy(ts.rng, order_rng.s, sizeof ts.rng);
            ts.loss_sum = 0;
            ts.correct = 0;
            ts.train_time = train_time;
            ts.train_images = train_images;
            ts.best_acc = res->best_test_accuracy;
            ts.best_epoch = res->best_epoch;
            ts.elapsed = elapsed0 + (dcn_now() - t0);
            ts.n_epochs_logged = ep;
            if (is_root && (st = ckpt_write(ctx, cfg->checkpoint, &ts, m)))
                goto done;
            last_ckpt = dcn_now();
        }
    }
    res->train_images_per_s = train_time > 0 ? train_images / train_time : 0;
    res->comm_seconds = comm_time;
    res->compute_seconds = train_time - comm_time;
    wall_before = elapsed0;
    snprintf(res->status, sizeof res->status, "done");

done:
    res->wall_seconds = wall_before + dcn_now() - t0;
    if (st == DCN_EINTR) {
        /* an interrupted trial is neither done nor failed: its tmp file stays "running" and the
         * checkpoint carries it on */
        snprintf(res->status, sizeof res->status, "interrupted");
        if (tf) {
            struct dcn_ctx c2 = *ctx; /* keep the interruption as the reported status */
            trial_flush(&c2, tf);
            trial_close(&c2, tf);
            tf = NULL;
        }
    }
    if (tf) {
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
        if (m)
            st2 = trial_write_weights(&c2, tf, m);
        if (!st2)
            st2 = trial_set_attrs(&c2, tf, fin, (int)(sizeof fin / sizeof fin[0]));
        if (!st2)
            st2 = trial_flush(&c2, tf);
        enum dcn_status st3 = trial_close(&c2, tf);
        if (!st2)
            st2 = st3;
        if (!st2 && rename(tmp_path, cfg->out) != 0)
            st2 = dcn_fail(&c2, DCN_EIO, "%s: cannot rename the finished trial file into place", cfg->out);
        if (st2 && !st) {
            *ctx = c2;
            st = st2;
        }
        /* the finished trial file now holds everything the checkpoint had */
        if (!st2 && cfg->checkpoint)
            remove(cfg->checkpoint);
    }
    free(history);
    free(bk.req);
    free(x);
    free(y);
    free(perm);
    free(idx);
    model_free(m);
    dag_free(dag);
    graph_free(g);
    dataset_free(ds);
    return st;
}

enum dcn_status train_eval_file(struct dcn_ctx *ctx, const char *trial_path, const char *dataset,
                                const char *data_dir, int test_limit, double *accuracy, double *loss)
{
    char graph[1024], variant[32], order[32], buf[64];
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
    if ((st = trial_read_attr_str(ctx, trial_path, "graph", graph, sizeof graph)) ||
        (st = trial_read_attr_str(ctx, trial_path, "variant", variant, sizeof variant)) ||
        (st = trial_read_attr_str(ctx, trial_path, "order", order, sizeof order)))
        return st;
    struct model_config mc;
    model_config_default(&mc);
    if ((st = model_variant_parse(ctx, variant, &mc.variant)))
        return st;
    enum dag_order ord;
    if ((st = dag_order_parse(ctx, order, &ord)))
        return st;
    if ((st = trial_read_attr_str(ctx, trial_path, "channels", buf, sizeof buf)))
        return st;
    mc.channels = atoi(buf);
    if ((st = trial_read_attr_str(ctx, trial_path, "order_seed", buf, sizeof buf)))
        return st;
    uint64_t order_seed = strtoull(buf, NULL, 10);
    if ((st = trial_read_attr_str(ctx, trial_path, "batch", buf, sizeof buf)))
        return st;
    mc.batch = atoi(buf) > 0 ? atoi(buf) : 32;

    struct dcn_dataset *ds = NULL;
    struct dcn_graph *g = NULL;
    struct dcn_dag *dag = NULL;
    struct model *m = NULL;
    float *x = NULL;
    int *y = NULL, *idx = NULL;
    double mean = 0, std = 1;
    if (!(st = trial_read_attr_str(ctx, trial_path, "data_mean", buf, sizeof buf)))
        mean = strtod(buf, NULL);
    if (!st && !(st = trial_read_attr_str(ctx, trial_path, "data_std", buf, sizeof buf)))
        std = strtod(buf, NULL);
    if (!st)
        st = dataset_load(ctx, dataset, data_dir, 0, test_limit, &ds);
    if (!st) {
        ds->mean = (float)mean;
        ds->std = (float)std;
    }
    if (!st && model_variant_has_dag(mc.variant)) {
        st = graph_load(ctx, graph, data_dir, &g);
        if (!st)
            st = dag_build(ctx, g, ord, order_seed, &dag);
    }
    if (!st) {
        mc.classes = ds->classes;
        mc.in_h = ds->rows;
        mc.in_w = ds->cols;
        st = model_create(ctx, &mc, dag, &m);
        if (st) {
            /* the configuration came from the file: name it */
            char why[sizeof ctx->err];
            snprintf(why, sizeof why, "%s", ctx->err);
            st = dcn_fail(ctx, st, "%s: the trial's configuration does not make a model (%s)", trial_path, why);
        }
    }
    if (!st)
        st = trial_read_weights(ctx, trial_path, m);
    if (!st) {
        x = malloc((size_t)mc.batch * (size_t)ds->rows * (size_t)ds->cols * sizeof *x);
        y = malloc((size_t)mc.batch * sizeof *y);
        idx = malloc((size_t)mc.batch * sizeof *idx);
        if (!x || !y || !idx)
            st = dcn_fail(ctx, DCN_ENOMEM, "out of memory for batches");
        else
            evaluate(m, ds, x, y, idx, loss, accuracy, MPI_COMM_NULL, 0, 1);
    }
    free(x);
    free(y);
    free(idx);
    model_free(m);
    dag_free(dag);
    graph_free(g);
    dataset_free(ds);
    return st;
}
