/* dcn sweep: run (or list, or merge) a sweep of trials over MPI ranks or job-array shards. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dcn/sweep.h"
#include "opts.h"

/* The one piece of process-wide state: a signal handler can only reach a static flag. It is handed to
 * the library as a pointer (struct sweep_options.stop), so library code stays free of globals. */
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* Exit status when a signal stopped the sweep after checkpointing (sysexits' EX_TEMPFAIL: run again). */
#define EXIT_INTERRUPTED 75

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

static int list_trials(const struct sweep_spec *s, const struct sweep_options *o, int json)
{
    int counts[4] = {0}, n = 0;
    if (json)
        printf("{\"sweep\": \"%s\", \"output\": \"%s\", \"trials_dir\": \"%s\", \"trials\": [", s->path, s->output,
               s->trials_dir);
    for (int i = 0; i < s->n_trials; i++) {
        const struct sweep_trial *t = &s->trials[i];
        if (i % o->shard_count != o->shard_index)
            continue;
        enum trial_state st = sweep_trial_state(s, t);
        counts[st]++;
        if (json) {
            char file[1100];
            sweep_trial_paths(s, t, file, NULL, sizeof file);
            printf("%s{\"index\": %d, \"id\": \"%s\", \"state\": \"%s\", \"file\": ", n ? ", " : "", t->index,
                   t->id, trial_state_name(st));
            json_str(file);
            for (int k = 0; k < DCN_N_FIELDS; k++) {
                const struct field_desc *f = &dcn_fields[k];
                const void *p = field_cptr(f, &t->cfg);
                printf(", \"%s\": ", f->name);
                if (f->type == FIELD_STR)
                    json_str(*(const char *const *)p);
                else if (f->type == FIELD_BOOL)
                    printf("%s", *(const int *)p ? "true" : "false");
                else if (f->type == FIELD_DOUBLE)
                    printf("%.15g", *(const double *)p);
                else {
                    char v[32];
                    field_format(f, &t->cfg, v, sizeof v);
                    printf("%s", v);
                }
            }
            putchar('}');
        } else {
            printf("%5d  %s  %-8s %s\n", t->index, t->id, trial_state_name(st), t->fingerprint);
        }
        n++;
    }
    if (json)
        printf("], \"count\": %d, \"done\": %d, \"failed\": %d, \"running\": %d, \"pending\": %d}\n", n,
               counts[TRIAL_DONE], counts[TRIAL_FAILED], counts[TRIAL_RUNNING], counts[TRIAL_PENDING]);
    else
        printf("%d trials: %d done, %d failed, %d running or interrupted, %d pending\n", n, counts[TRIAL_DONE],
               counts[TRIAL_FAILED], counts[TRIAL_RUNNING], counts[TRIAL_PENDING]);
    return 0;
}

int cmd_sweep(int argc, char **argv)
{
    int dry = 0, json = 0, merge = 0, quiet = 0, verbose = 0, threads = 1, per_trial = 0;
    const char *shard = NULL;
    const struct opt tab[] = {
        {"dry-run", OPT_FLAG, &dry, NULL, "list the trials (index, id, state, configuration) and exit"},
        {"json", OPT_FLAG, &json, NULL, "with --dry-run: machine-readable list"},
        {"shard", OPT_STR, &shard, "I/N", "run only trials with index mod N == I (SLURM job arrays)"},
        {"merge", OPT_FLAG, &merge, NULL, "only rebuild the aggregate results file from the trial files"},
        {"threads", OPT_INT, &threads, "T", "OpenBLAS threads per rank (default 1)"},
        {"ranks-per-trial", OPT_INT, &per_trial, "K",
         "train each trial data-parallel on K ranks (default: the sweep file's ranks_per_trial, else 1)"},
        {"quiet", OPT_FLAG, &quiet, NULL, "no progress lines"},
        {"verbose", OPT_FLAG, &verbose, NULL, "also log scheduling decisions"},
        {NULL, 0, NULL, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = opts_parse("sweep", "SWEEP.yaml [options]   (mpirun -n P dcn sweep SWEEP.yaml)", tab, argc, argv, 1, pos,
                        1, &npos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (npos != 1) {
        fprintf(stderr, "dcn sweep: need a sweep file (see dcn sweep --help)\n");
        return DCN_EXIT_USAGE;
    }
    struct sweep_options o = {.shard_index = 0, .shard_count = 1, .progress = !quiet, .stop = &stop_flag,
                              .threads = threads};
    if (shard) {
        char *end;
        long i = strtol(shard, &end, 10), n = 0;
        if (*end == '/')
            n = strtol(end + 1, &end, 10);
        if (*end || n < 1 || i < 0 || i >= n || shard[0] == '/') {
            fprintf(stderr, "dcn sweep: option --shard: expected I/N with 0 <= I < N, got '%s'\n", shard);
            return DCN_EXIT_USAGE;
        }
        o.shard_index = (int)i;
        o.shard_count = (int)n;
    }
    if (per_trial < 0) {
        fprintf(stderr, "dcn sweep: option --ranks-per-trial: must be at least 1\n");
        return DCN_EXIT_USAGE;
    }
    o.ranks_per_trial = per_trial;
    if (threads < 1) {
        fprintf(stderr, "dcn sweep: option --threads: must be at least 1\n");
        return DCN_EXIT_USAGE;
    }
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    ctx.verbose = quiet ? 0 : verbose ? 2 : 1;
    struct sweep_spec *s = NULL;
    if (sweep_load(&ctx, pos[0], &s))
        return cli_report_error("sweep", &ctx);
    if (dry) {
        rc = list_trials(s, &o, json);
        sweep_free(s);
        return rc;
    }
    if (merge) {
        if (sweep_merge(&ctx, s)) {
            sweep_free(s);
            return cli_report_error("sweep", &ctx);
        }
        printf("wrote %s (%d trials)\n", s->output, s->n_trials);
        sweep_free(s);
        return 0;
    }

    MPI_Init(&argc, &argv);
    ctx.comm = MPI_COMM_WORLD;
    MPI_Comm_rank(ctx.comm, &ctx.rank);
    MPI_Comm_size(ctx.comm, &ctx.size);
    /* after MPI_Init, which may install handlers of its own; SLURM sends SIGTERM (and, with
     * --signal, SIGUSR2) before a time limit or preemption */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (ctx.rank != 0 && ctx.verbose == 1)
        ctx.verbose = 1; /* workers report their own trials' starts and ends */
    int failed = 0;
    enum dcn_status st = sweep_run(&ctx, s, &o, &failed);
    int code = 0;
    if (st == DCN_EINTR) {
        if (ctx.rank == 0)
            fprintf(stderr, "dcn sweep: %s\n", ctx.err);
        code = EXIT_INTERRUPTED;
    } else if (st) {
        cli_report_error("sweep", &ctx);
        code = 1;
    } else if (ctx.rank == 0 && failed) {
        fprintf(stderr, "dcn sweep: %d trial%s failed (reasons in %s, /summary column 'reason')\n", failed,
                failed > 1 ? "s" : "", s->output);
    }
    sweep_free(s);
    MPI_Finalize();
    return code;
}
