/* dcn sweep: run (or list, or merge) a sweep of trials over MPI ranks or job-array shards; a sweep with
 * until: runs in rounds, each decided by analysis/until.py (started from here: the library starts no
 * process). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* analysis/until.py of the source tree (a build) or of the installed share/dcn, as dcn report finds its
 * scripts. */
static const char *until_script_path(char *buf, size_t len)
{
    const char *const dirs[] = {DCN_SOURCE_DIR, DCN_INSTALL_DATADIR};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(buf, len, "%s/analysis/until.py", dirs[i]);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    return NULL;
}

/* Reads the script's stderr to its end: passed on to the log, the last line kept for an error message. */
static void drain(int fd, const struct dcn_ctx *ctx, int pass, char *last, size_t len)
{
    char buf[4096], line[1024];
    size_t n = 0;
    last[0] = 0;
    ssize_t k;
    while ((k = read(fd, buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR)) {
        for (ssize_t i = 0; i < k; i++) {
            if (buf[i] != '\n' && n + 1 < sizeof line) {
                line[n++] = buf[i];
                continue;
            }
            line[n] = 0;
            if (pass)
                dcn_log(ctx, 1, "%s\n", line);
            if (n)
                snprintf(last, len, "%s", line);
            n = 0;
        }
    }
    if (n) {
        line[n] = 0;
        snprintf(last, len, "%s", line);
        if (pass)
            dcn_log(ctx, 1, "%s\n", line);
    }
}

/* sweep_until_script: python3 analysis/until.py MODE --input FILE [--record FILE]; its summary (stderr)
 * goes to the log, its JSON decision (stdout) too with --verbose. */
static enum dcn_status until_script(struct dcn_ctx *ctx, const char *mode, const char *input, const char *record,
                                    void *arg)
{
    (void)arg;
    char script[4096];
    if (!until_script_path(script, sizeof script))
        return dcn_fail(ctx, DCN_EIO, "cannot find analysis/until.py (looked in %s/analysis and %s/analysis)",
                        DCN_SOURCE_DIR, DCN_INSTALL_DATADIR);
    const char *python = getenv("DCN_PYTHON");
    if (!python || !*python)
        python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    const char *argv[] = {python, script, mode, "--input", input, record ? "--record" : NULL, record, NULL};
    int err[2];
    if (pipe(err) != 0)
        return dcn_fail(ctx, DCN_EIO, "cannot start %s: %s", script, strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int out = ctx->verbose >= 2 ? STDERR_FILENO : open("/dev/null", O_WRONLY);
        dup2(out, STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        close(err[0]);
        close(err[1]);
        execvp(python, (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", python, strerror(errno));
        _exit(127);
    }
    close(err[1]);
    char last[1024] = "";
    if (pid > 0)
        drain(err[0], ctx, strcmp(mode, "check") != 0, last, sizeof last);
    close(err[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return dcn_fail(ctx, DCN_EIO, "cannot run %s: %s", script, strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return DCN_OK;
    /* the script's own message names the sweep file and line (check) or what went wrong (decide) */
    if (!strcmp(mode, "check") && WIFEXITED(status) && WEXITSTATUS(status) == 2 && last[0])
        return dcn_fail(ctx, DCN_EINVAL, "%s", last);
    return dcn_fail(ctx, DCN_EIO, "%s %s %s failed (exit status %d)%s%s", python, script, mode,
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1, last[0] ? ": " : "", last);
}

static void json_until(const struct sweep_spec *s)
{
    const struct sweep_until *u = s->until;
    printf(", \"until\": {\"half_width\": %.15g, \"max_trials\": %d, \"round\": %d, \"compare\": [", u->half_width,
           u->max_trials, u->round_trials ? u->round_trials : s->n_trials);
    for (int g = 0; g < u->n_groups; g++) {
        printf("%s{\"group\": ", g ? ", " : "");
        dcn_json_string(stdout, u->groups[g].token);
        for (int i = 0; i < u->groups[g].n_where; i++) {
            printf(", ");
            dcn_json_string(stdout, dcn_fields[u->groups[g].where[i].field].name);
            printf(": ");
            dcn_json_string(stdout, u->groups[g].where[i].value);
        }
        printf("}");
    }
    char rule[4096];
    sweep_until_describe(s, rule, sizeof rule);
    printf("], \"rule\": ");
    dcn_json_string(stdout, rule);
    printf("}");
}

/* --dry-run of a sweep with until: after the trials of round 1, the rule and the recorded round. */
static int list_until(struct dcn_ctx *ctx, const struct sweep_spec *s)
{
    char rule[4096], reason[768];
    sweep_until_describe(s, rule, sizeof rule);
    printf("%s\n", rule);
    struct sweep_design d;
    int stopped = 0;
    if (sweep_until_current(ctx, s, &d, &stopped, reason, sizeof reason))
        return cli_report_error("sweep", ctx);
    if (stopped)
        printf("recorded in %s: decided at round %d: %s\n", s->output, d.round, reason);
    else if (d.round > 1)
        printf("recorded in %s: round %d comes next (graph seeds %d, seeds %d)\n", s->output, d.round, d.graph_seeds,
               d.weight_seeds);
    else
        printf("the trials above are round 1\n");
    return 0;
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
            dcn_json_string(stdout, file);
            for (int k = 0; k < DCN_N_FIELDS; k++) {
                const struct field_desc *f = &dcn_fields[k];
                const void *p = field_cptr(f, &t->cfg);
                printf(", \"%s\": ", f->name);
                if (f->type == FIELD_STR)
                    dcn_json_string(stdout, *(const char *const *)p);
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
    if (json) {
        printf("], \"count\": %d, \"done\": %d, \"failed\": %d, \"running\": %d, \"pending\": %d", n,
               counts[TRIAL_DONE], counts[TRIAL_FAILED], counts[TRIAL_RUNNING], counts[TRIAL_PENDING]);
        if (s->until)
            json_until(s);
        printf("}\n");
    }
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
        /* the groups are checked first: a bad one is refused before anything is listed */
        if (s->until && sweep_until_check(&ctx, s, until_script, NULL))
            rc = cli_report_error("sweep", &ctx);
        if (!rc)
            rc = list_trials(s, &o, json);
        if (!rc && s->until && !json)
            rc = list_until(&ctx, s);
        sweep_free(s);
        return rc;
    }
    if (s->until && shard) {
        fprintf(stderr, "dcn sweep: %s has until:, which decides between rounds over every trial of a round: run it "
                "with mpirun, not as shards (--shard)\n", s->path);
        sweep_free(s);
        return DCN_EXIT_USAGE;
    }
    if (merge) {
        /* a sweep with until: holds the trials of its current round */
        struct sweep_design d;
        int stopped = 0;
        char reason[768];
        struct sweep_spec *cur = NULL;
        enum dcn_status mst = s->until ? sweep_until_current(&ctx, s, &d, &stopped, reason, sizeof reason) : DCN_OK;
        if (!mst && s->until && d.round > 1)
            mst = sweep_load_design(&ctx, s->path, &d, &cur);
        if (!mst)
            mst = sweep_merge(&ctx, cur ? cur : s);
        if (!mst)
            printf("wrote %s (%d trials)\n", s->output, (cur ? cur : s)->n_trials);
        sweep_free(cur);
        sweep_free(s);
        return mst ? cli_report_error("sweep", &ctx) : 0;
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
    int failed = 0;
    enum dcn_status st = s->until ? sweep_until_run(&ctx, s, &o, until_script, NULL, &failed)
                                  : sweep_run(&ctx, s, &o, &failed);
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
