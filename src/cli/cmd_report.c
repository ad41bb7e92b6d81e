/* dcn report: summary statistics of a sweep's results file per group of trials (Markdown, JSON or
 * CSV), and, with --plots, the figures and tables of analysis/plots.py; with --topology (or --plots on
 * a sweep over several graphs), the statistics of analysis/topology.py; with --html, one self-contained
 * page of all of it (analysis/html_report.py); with --plan, the graphs and seeds a comparison needs
 * (analysis/plan.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "dcn/report.h"
#include "opts.h"

enum fmt { FMT_MD, FMT_JSON, FMT_CSV };

/* JSON has no NaN: statistics that do not exist (sd of one trial) are null. */
static void json_num(const char *key, double v)
{
    if (isfinite(v))
        printf(", \"%s\": %.17g", key, v);
    else
        printf(", \"%s\": null", key);
}

/* A group's key value as JSON of the field's type (include/dcn/fields.h). */
static void json_key(int k, const char *text)
{
    char buf[1600]; /* a 256-byte key escaped as \u00xx throughout */
    field_json_value(&dcn_fields[k], text, buf, sizeof buf);
    fputs(buf, stdout);
}

static void csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void csv_num(double v)
{
    putchar(',');
    if (isfinite(v))
        printf("%.17g", v);
}

static void md_num(double v)
{
    if (isfinite(v))
        printf(" %.2f |", v);
    else
        printf(" - |");
}

/* "graph=... dataset=... ...": the fields of the canonical string (those always in it, the later ones
 * when not at their default) */
static void trial_label(const struct report_trial *t, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    for (int k = 0; k < REPORT_N_KEYS && n < len; k++) {
        char v[256];
        report_key_value(t, k, v, sizeof v);
        if (!(dcn_fields[k].flags & FIELD_ID) && !strcmp(v, dcn_fields[k].def))
            continue;
        n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", n ? " " : "", report_key_name(k), v);
    }
}

static void print_json(const struct report_results *r, unsigned keys, const struct report_group *g, int ng)
{
    printf("{\"file\": ");
    dcn_json_string(stdout, r->path);
    printf(", \"format_version\": %d, \"dcn_version\": ", r->format_version);
    dcn_json_string(stdout, r->dcn_version);
    printf(", \"updated\": ");
    dcn_json_string(stdout, r->updated);
    printf(", \"trials\": %d, \"done\": %d, \"failed\": %d, \"running\": %d, \"pending\": %d", r->n_trials,
           r->counts[TRIAL_DONE], r->counts[TRIAL_FAILED], r->counts[TRIAL_RUNNING], r->counts[TRIAL_PENDING]);
    printf(", \"group_by\": [");
    for (int k = 0, c = 0; k < REPORT_N_KEYS; k++)
        if (keys & (1u << k))
            printf("%s\"%s\"", c++ ? ", " : "", report_key_name(k));
    printf("], \"metric\": \"final test accuracy of done trials\", \"unit\": \"percent\", "
           "\"sd\": \"sample (n-1)\", \"quantiles\": \"linear interpolation (numpy default, type 7)\", "
           "\"ci\": \"%s\", \"groups\": [", REPORT_CI_METHOD);
    for (int j = 0; j < ng; j++) {
        printf("%s{", j ? ", " : "");
        int c = 0;
        for (int k = 0; k < REPORT_N_KEYS; k++) {
            if (!(keys & (1u << k)))
                continue;
            printf("%s\"%s\": ", c++ ? ", " : "", report_key_name(k));
            json_key(k, g[j].key[k]);
        }
        printf("%s\"trials\": %d, \"done\": %d, \"failed\": %d, \"running\": %d, \"pending\": %d, \"n\": %d",
               c ? ", " : "", g[j].total, g[j].counts[TRIAL_DONE], g[j].counts[TRIAL_FAILED],
               g[j].counts[TRIAL_RUNNING], g[j].counts[TRIAL_PENDING], g[j].acc.n);
        const struct report_stats *s = &g[j].acc;
        json_num("mean", s->mean);
        json_num("sd", s->sd);
        json_num("median", s->median);
        json_num("q1", s->q1);
        json_num("q3", s->q3);
        json_num("min", s->min);
        json_num("max", s->max);
        json_num("t975", s->t975);
        json_num("ci_low", s->ci_low);
        json_num("ci_high", s->ci_high);
        json_num("best_mean", g[j].best.mean);
        json_num("best_sd", g[j].best.sd);
        printf("}");
    }
    printf("], \"failed_trials\": [");
    for (int i = 0, c = 0; i < r->n_trials; i++) {
        const struct report_trial *t = &r->trials[i];
        if (t->state != TRIAL_FAILED)
            continue;
        printf("%s{\"index\": %d, \"id\": ", c++ ? ", " : "", t->index);
        dcn_json_string(stdout, t->id);
        printf(", \"graph\": ");
        dcn_json_string(stdout, t->graph);
        printf(", \"seed\": %llu, \"epochs_done\": %d, \"reason\": ", (unsigned long long)t->seed, t->epochs_done);
        dcn_json_string(stdout, t->reason);
        printf("}");
    }
    printf("]}\n");
}

static void print_csv(unsigned keys, const struct report_group *g, int ng)
{
    for (int k = 0; k < REPORT_N_KEYS; k++)
        if (keys & (1u << k))
            printf("%s,", report_key_name(k));
    printf("trials,done,failed,running,pending,n,mean,sd,median,q1,q3,min,max,t975,ci_low,ci_high,best_mean,best_sd\n");
    for (int j = 0; j < ng; j++) {
        for (int k = 0; k < REPORT_N_KEYS; k++)
            if (keys & (1u << k)) {
                csv_field(g[j].key[k]);
                putchar(',');
            }
        printf("%d,%d,%d,%d,%d,%d", g[j].total, g[j].counts[TRIAL_DONE], g[j].counts[TRIAL_FAILED],
               g[j].counts[TRIAL_RUNNING], g[j].counts[TRIAL_PENDING], g[j].acc.n);
        const struct report_stats *s = &g[j].acc;
        double v[] = {s->mean, s->sd, s->median, s->q1, s->q3, s->min, s->max, s->t975, s->ci_low, s->ci_high,
                      g[j].best.mean, g[j].best.sd};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            csv_num(v[i]);
        putchar('\n');
    }
}

static void print_markdown(const struct report_results *r, unsigned keys, const struct report_group *g, int ng)
{
    printf("# dcn report: %s\n\n", r->path);
    printf("%d trials: %d done, %d failed, %d running or interrupted, %d pending (results file format %d, "
           "written by dcn %s, updated %s)\n\n",
           r->n_trials, r->counts[TRIAL_DONE], r->counts[TRIAL_FAILED], r->counts[TRIAL_RUNNING],
           r->counts[TRIAL_PENDING], r->format_version, r->dcn_version[0] ? r->dcn_version : "?",
           r->updated[0] ? r->updated : "?");
    printf("Final test accuracy (%%) of the done trials of each group.\n\n|");
    for (int k = 0; k < REPORT_N_KEYS; k++)
        if (keys & (1u << k))
            printf(" %s |", report_key_name(k));
    printf(" trials | done | failed | running | pending | mean | sd | median | Q1 | Q3 | min | max | 95%% CI of mean"
           " | best epoch mean |\n|");
    for (int k = 0; k < REPORT_N_KEYS; k++)
        if (keys & (1u << k))
            printf(" --- |");
    for (int i = 0; i < 14; i++)
        printf(" ---: |");
    printf("\n");
    for (int j = 0; j < ng; j++) {
        printf("|");
        for (int k = 0; k < REPORT_N_KEYS; k++)
            if (keys & (1u << k))
                printf(" %s |", g[j].key[k]);
        printf(" %d | %d | %d | %d | %d |", g[j].total, g[j].counts[TRIAL_DONE], g[j].counts[TRIAL_FAILED],
               g[j].counts[TRIAL_RUNNING], g[j].counts[TRIAL_PENDING]);
        const struct report_stats *s = &g[j].acc;
        md_num(s->mean);
        md_num(s->sd);
        md_num(s->median);
        md_num(s->q1);
        md_num(s->q3);
        md_num(s->min);
        md_num(s->max);
        if (isfinite(s->ci_low))
            printf(" %.2f - %.2f |", s->ci_low, s->ci_high);
        else
            printf(" - |");
        md_num(g[j].best.mean);
        printf("\n");
    }
    printf("\nsd: sample standard deviation (n-1). Median and quartiles: linear interpolation between order "
           "statistics (numpy's default). CI: %s. \"-\": not defined "
           "(no done trial, or one).\n", REPORT_CI_METHOD);
    if (r->counts[TRIAL_FAILED]) {
        printf("\nFailed trials:\n\n");
        char label[2048];
        for (int i = 0; i < r->n_trials; i++) {
            const struct report_trial *t = &r->trials[i];
            if (t->state != TRIAL_FAILED)
                continue;
            trial_label(t, label, sizeof label);
            printf("- %s (%s), after %d epoch%s: %s\n", t->id, label, t->epochs_done, t->epochs_done == 1 ? "" : "s",
                   t->reason[0] ? t->reason : "no reason recorded");
        }
    }
}

/* analysis/NAME of the source tree (a build) or of the installed share/dcn (cmake --install); the path
 * goes to buf. Returns buf, or NULL when neither is readable. */
static const char *find_script(const char *name, char *buf, size_t len)
{
    const char *const dirs[] = {DCN_SOURCE_DIR, DCN_INSTALL_DATADIR};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(buf, len, "%s/analysis/%s", dirs[i], name);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    return NULL;
}

/* Runs python3 analysis/NAME with args (NULL-terminated); its output goes to stderr so that stdout
 * stays the report (JSON or CSV can be piped). what: the kind of output written to dir, for the
 * messages. Returns 0, or 1 with a message when the script is missing or fails. */
static int run_script(const char *name, const char *const *args, const char *dir, const char *what)
{
    char script[4096];
    if (!find_script(name, script, sizeof script)) {
        fprintf(stderr, "dcn report: cannot find analysis/%s (looked in %s/analysis and %s/analysis)\n", name,
                DCN_SOURCE_DIR, DCN_INSTALL_DATADIR);
        return 1;
    }
    const char *python = getenv("DCN_PYTHON");
    if (!python || !*python)
        python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    const char *argv[16];
    int a = 0;
    argv[a++] = python;
    argv[a++] = script;
    for (; *args && a < 15; args++)
        argv[a++] = *args;
    argv[a] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("dcn report: fork");
        return 1;
    }
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execvp(python, (char *const *)argv);
        fprintf(stderr, "dcn report: cannot run %s: ", python);
        perror(NULL);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "dcn report: %s %s failed (exit status %d); no complete set of %s in %s\n", python, script,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1, what, dir);
        return 1;
    }
    fprintf(stderr, "dcn report: %s written to %s\n", what, dir);
    return 0;
}

/* plots.py RESULTS --out DIR [--group-by KEYS] --dcn SELF (for `dcn graph stats`). */
static int run_plots(const char *results, const char *dir, const char *group_by)
{
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = 0;
    const char *args[8] = {results, "--out", dir};
    int a = 3;
    if (group_by && *group_by) {
        args[a++] = "--group-by";
        args[a++] = group_by;
    }
    if (self[0]) {
        args[a++] = "--dcn";
        args[a++] = self;
    }
    args[a] = NULL;
    return run_script("plots.py", args, dir, "figures and tables");
}

/* topology.py RESULTS --out DIR [--compare GROUPS]. */
static int run_topology(const char *results, const char *dir, const char *compare)
{
    const char *args[6] = {results, "--out", dir, NULL, NULL, NULL};
    if (compare) {
        args[3] = "--compare";
        args[4] = compare;
    }
    return run_script("topology.py", args, dir, "topology analysis files");
}

/* html_report.py RESULTS --out FILE --group-by KEYS [--dcn SELF] [--compare GROUPS]: the page takes its
 * group table from `SELF report --json` with the same grouping, so its numbers are this command's. */
static int run_html(const char *results, const char *file, const char *group_by, const char *compare)
{
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = 0;
    const char *args[10] = {results, "--out", file, "--group-by", group_by};
    int a = 5;
    if (self[0]) {
        args[a++] = "--dcn";
        args[a++] = self;
    }
    if (compare) {
        args[a++] = "--compare";
        args[a++] = compare;
    }
    args[a] = NULL;
    return run_script("html_report.py", args, file, "HTML report");
}

/* plan.py RESULTS --out DIR (--detect D | --half-width H) [--power P] [--compare GROUPS]; NaN: not given. */
static int run_plan(const char *results, const char *dir, double detect, double half_width, double power,
                    const char *compare)
{
    char d[40], h[40], p[40];
    const char *args[12] = {results, "--out", dir};
    int a = 3;
    if (!isnan(detect)) {
        snprintf(d, sizeof d, "%.17g", detect);
        args[a++] = "--detect";
        args[a++] = d;
    }
    if (!isnan(half_width)) {
        snprintf(h, sizeof h, "%.17g", half_width);
        args[a++] = "--half-width";
        args[a++] = h;
    }
    if (!isnan(power)) {
        snprintf(p, sizeof p, "%.17g", power);
        args[a++] = "--power";
        args[a++] = p;
    }
    if (compare) {
        args[a++] = "--compare";
        args[a++] = compare;
    }
    args[a] = NULL;
    return run_script("plan.py", args, dir, "study plan files");
}

/* --plan's target: exactly one of --detect and --half-width, positive; --power in (0, 1) and only with
 * --detect; none of them without --plan. Returns 0, or DCN_EXIT_USAGE with a message. */
static int check_plan_opts(const char *plan, double detect, double half_width, double power)
{
    const char *msg = NULL;
    if (!plan && (!isnan(detect) || !isnan(half_width) || !isnan(power)))
        msg = "options --detect, --half-width and --power need --plan DIR";
    else if (plan && isnan(detect) == isnan(half_width))
        msg = "option --plan needs one target: --detect D (a difference in points of accuracy) or --half-width H "
              "(points), not both";
    else if (!isnan(detect) && !(detect > 0))
        msg = "option --detect: the difference to detect must be a positive number of points";
    else if (!isnan(half_width) && !(half_width > 0))
        msg = "option --half-width: the CI half-width must be a positive number of points";
    else if (!isnan(power) && isnan(detect))
        msg = "option --power applies to --detect (a --half-width target has no power)";
    else if (!isnan(power) && !(power > 0 && power < 1))
        msg = "option --power: must lie strictly between 0 and 1 (0.8 = 80 %)";
    if (!msg)
        return 0;
    fprintf(stderr, "dcn report: %s\n", msg);
    return DCN_EXIT_USAGE;
}

/* Whether the trials use more than one graph (the graph-free baseline aside): then --plots also runs
 * the topology analysis. */
static int varies_graph(const struct report_results *r)
{
    const char *first = NULL;
    for (int i = 0; i < r->n_trials; i++) {
        const char *g = r->trials[i].graph;
        if (!strcmp(g, "none"))
            continue;
        if (!first)
            first = g;
        else if (strcmp(first, g))
            return 1;
    }
    return 0;
}

/* --group-by's help: the keys are the trial fields of the table */
static const char *group_help(char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "comma-separated keys:");
    for (int k = 0; k < REPORT_N_KEYS && n < len; k++)
        n += (size_t)snprintf(buf + n, len - n, "%s %s", k ? "," : "", report_key_name(k));
    if (n < len)
        snprintf(buf + n, len - n, " (default graph,dataset,variant,frozen plus every other key except the seeds "
                                   "that varies in the file)");
    return buf;
}

int cmd_report(int argc, char **argv)
{
    int json = 0, csv = 0;
    char group_by_help[1024];
    const char *plots = NULL, *group_by = NULL, *topology = NULL, *compare = NULL, *html = NULL, *plan = NULL;
    double detect = NAN, half_width = NAN, power = NAN;
    const struct opt tab[] = {
        {"json", OPT_FLAG, &json, NULL, "print JSON instead of a Markdown table"},
        {"csv", OPT_FLAG, &csv, NULL, "print CSV (one row per group) instead of a Markdown table"},
        {"plots", OPT_STR, &plots, "DIR",
         "also write figures (PNG, SVG) and Markdown tables with analysis/plots.py; when the trials use more "
         "than one graph, also the topology analysis (as --topology) into the same DIR unless --topology "
         "names another"},
        {"topology", OPT_STR, &topology, "DIR",
         "also write the topology analysis with analysis/topology.py: each group's mean over its graphs, "
         "comparisons with graphs as the unit (a mixed model with Satterthwaite df when both groups hold several "
         "graphs, the null-model test with k null graphs when one side is one graph; Holm over them), the "
         "trial-level tests labelled as such, the variance split into graph, ordering and weight seeds, and "
         "accuracy against family parameters and graph measures (topology.md, .json, CSV, PNG)"},
        {"html", OPT_STR, &html, "FILE",
         "also write one self-contained HTML page (analysis/html_report.py): header, this group table "
         "(sortable), accuracy box plots and mean learning curves per group, the topology analysis and every "
         "trial; plots are inline PNGs, so the page opens anywhere without a network"},
        {"plan", OPT_STR, &plan, "DIR",
         "also write a study plan from this pilot with analysis/plan.py: for each comparison (--compare, else "
         "every pair of graph groups with at least 2 graphs), its variance components (mixed model), then for "
         "1-10 seeds per graph the graphs per group that reach the target (--detect or --half-width), the "
         "trials and core-hours (from the measured trial times), the cheapest marked, and what the pilot could "
         "detect; one graph against its null graphs (mouse, rewire:mouse) gets the null graphs needed "
         "(plan.md, plan.json, plan.csv)"},
        {"detect", OPT_DOUBLE, &detect, "D",
         "with --plan: the difference between two groups' mean accuracies to detect, in points (1 = 1 %)"},
        {"half-width", OPT_DOUBLE, &half_width, "H",
         "with --plan, instead of --detect: the target half-width of the contrast's 95% CI, in points"},
        {"power", OPT_DOUBLE, &power, "P", "with --plan --detect: the power to reach, in (0, 1) (default 0.8)"},
        {"compare", OPT_STR, &compare, "GROUPS",
         "with --topology, --plots, --html or --plan: compare these groups pairwise instead of every pair of graphs; "
         "comma-separated graph specs (without seed= every graph seed), families (ws, gnm, celegans, none) or "
         "family:base (rewire:celegans)"},
        {"group-by", OPT_STR, &group_by, "KEYS", group_help(group_by_help, sizeof group_by_help)},
        {NULL, 0, NULL, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = opts_parse("report", "RESULTS.h5 [options]   (the aggregate file of dcn sweep)", tab, argc, argv, 1, pos,
                        1, &npos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (npos != 1) {
        fprintf(stderr, "dcn report: need a results file (see dcn report --help)\n");
        return DCN_EXIT_USAGE;
    }
    if (json && csv) {
        fprintf(stderr, "dcn report: options --json and --csv: choose one output format\n");
        return DCN_EXIT_USAGE;
    }
    if (compare && !topology && !plots && !html && !plan) {
        fprintf(stderr,
                "dcn report: option --compare needs --topology DIR (or --plots DIR, --html FILE, --plan DIR)\n");
        return DCN_EXIT_USAGE;
    }
    if (check_plan_opts(plan, detect, half_width, power))
        return DCN_EXIT_USAGE;
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    unsigned keys = 0;
    if (group_by && report_parse_keys(&ctx, group_by, &keys)) {
        fprintf(stderr, "dcn report: option --group-by: %s\n", ctx.err);
        return DCN_EXIT_USAGE;
    }
    struct report_results *r = NULL;
    if (report_load(&ctx, pos[0], &r))
        return cli_report_error("report", &ctx);
    if (!group_by)
        keys = report_default_keys(r);
    struct report_group *g = NULL;
    int ng = 0;
    if (report_group(&ctx, r, keys, &g, &ng)) {
        report_free(r);
        return cli_report_error("report", &ctx);
    }
    enum fmt f = json ? FMT_JSON : csv ? FMT_CSV : FMT_MD;
    if (f == FMT_JSON)
        print_json(r, keys, g, ng);
    else if (f == FMT_CSV)
        print_csv(keys, g, ng);
    else
        print_markdown(r, keys, g, ng);
    int graphs_vary = varies_graph(r);
    free(g);
    report_free(r);
    /* the same grouping for the figures as for the table, so lines and rows correspond */
    char keylist[256] = "";
    for (int k = 0; k < REPORT_N_KEYS; k++)
        if (keys & (1u << k))
            snprintf(keylist + strlen(keylist), sizeof keylist - strlen(keylist), "%s%s", keylist[0] ? "," : "",
                     report_key_name(k));
    if (plots && run_plots(pos[0], plots, keylist))
        return 1;
    rc = 0;
    if (topology)
        rc = run_topology(pos[0], topology, compare);
    else if (plots && (graphs_vary || compare))
        rc = run_topology(pos[0], plots, compare);
    if (!rc && html)
        rc = run_html(pos[0], html, keylist, compare);
    if (!rc && plan)
        rc = run_plan(pos[0], plan, detect, half_width, power, compare);
    return rc;
}
