/* dcn data: fetch and check the data folder (delegated to data/fetch.sh, which holds the download
 * recipes and the checksum logic in one place), and describe a dataset as dcn loads it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dcn/data.h"
#include "opts.h"

#define MAX_NAMES 16

static int data_usage(FILE *f)
{
    fprintf(f, "usage: dcn data SUBCOMMAND [options]   (dcn data SUBCOMMAND --help for each)\n\n"
               "subcommands:\n"
               "  fetch NAME...     download/copy datasets into the data folder and verify their checksums\n"
               "                    (NAME: mnist fashion kmnist connectomes all; the connectomes ship with\n"
               "                    dcn, so fetching them only re-downloads and verifies them)\n"
               "  check [NAME...]   verify the checksums of the files in the data folder\n"
               "  info NAME|DIR     load a dataset and print its sizes, classes, mean and std\n\n"
               "The data folder is $DCN_DATA_DIR, else %s/data/cache.\n",
            DCN_SOURCE_DIR);
    return f == stdout ? 0 : DCN_EXIT_USAGE;
}

/* The fetch script: the source tree's copy when this binary was built from a tree that still exists,
 * else the installed one. */
static const char *find_fetch_script(char *buf, size_t len)
{
    const char *cand[] = {DCN_SOURCE_DIR "/data/fetch.sh", DCN_INSTALL_DATADIR "/data/fetch.sh"};
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++)
        if (access(cand[i], R_OK) == 0) {
            snprintf(buf, len, "%s", cand[i]);
            return buf;
        }
    return NULL;
}

/* Replaces this process with `bash fetch.sh [--check] [--mirror DIR] NAME...`, the data folder passed
 * through DCN_DATA_DIR, so the script's exit status is dcn's. */
static int run_fetch_script(const char *sub, int check, const char *data_dir, const char *mirror,
                            const char **names, int nnames)
{
    char script[1024], ddir[1024];
    if (!find_fetch_script(script, sizeof script)) {
        fprintf(stderr, "dcn data: cannot find fetch.sh (looked for %s and %s)\n", DCN_SOURCE_DIR "/data/fetch.sh",
                DCN_INSTALL_DATADIR "/data/fetch.sh");
        return 1;
    }
    if (!data_dir)
        data_dir = dcn_data_dir(ddir, sizeof ddir);
    /* the script prefixes its errors with this, so they read like dcn's own */
    if (setenv("DCN_DATA_DIR", data_dir, 1) != 0 || setenv("DCN_FETCH_PROG", "dcn data", 1) != 0) {
        fprintf(stderr, "dcn data %s: cannot set DCN_DATA_DIR: %s\n", sub, strerror(errno));
        return 1;
    }
    char *argv[MAX_NAMES + 8];
    int n = 0;
    argv[n++] = "bash";
    argv[n++] = script;
    if (check)
        argv[n++] = "--check";
    if (mirror) {
        argv[n++] = "--mirror";
        argv[n++] = (char *)mirror;
    }
    for (int i = 0; i < nnames; i++)
        argv[n++] = (char *)names[i];
    argv[n] = NULL;
    fflush(stdout);
    execvp("bash", argv);
    fprintf(stderr, "dcn data %s: cannot run bash %s: %s\n", sub, script, strerror(errno));
    return 1;
}

static int data_fetch(int argc, char **argv)
{
    const char *data_dir = NULL, *mirror = NULL;
    int offline = 0;
    const struct opt tab[] = {
        {"data-dir", OPT_STR, &data_dir, "DIR", "data folder (default $DCN_DATA_DIR, else <source>/data/cache)"},
        {"mirror", OPT_STR, &mirror, "DIR", "local folder laid out like the data folder, tried first ($DCN_DATA_MIRROR)"},
        {"offline", OPT_FLAG, &offline, NULL, "do not use the network (npm, apt-get, curl)"},
        {NULL, 0, NULL, NULL, NULL},
    };
    const char *names[MAX_NAMES];
    int nnames = 0;
    const char *usage = "NAME... [--data-dir DIR] [--mirror DIR]   (NAME: mnist fashion kmnist connectomes all)";
    int rc = opts_parse("data fetch", usage, tab, argc, argv, 1, names, MAX_NAMES, &nnames);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (nnames == 0) {
        fprintf(stderr, "dcn data fetch: name at least one dataset: mnist fashion kmnist connectomes all\n");
        return DCN_EXIT_USAGE;
    }
    for (int i = 0; i < nnames; i++)
        if (!dataset_is_known_name(names[i]) && strcmp(names[i], "connectomes") && strcmp(names[i], "all")) {
            fprintf(stderr, "dcn data fetch: unknown dataset '%s' (expected mnist, fashion, kmnist, connectomes or all)\n",
                    names[i]);
            return DCN_EXIT_USAGE;
        }
    if (offline && setenv("DCN_FETCH_OFFLINE", "1", 1) != 0)
        return 1;
    return run_fetch_script("fetch", 0, data_dir, mirror, names, nnames);
}

static int data_check(int argc, char **argv)
{
    const char *data_dir = NULL;
    const struct opt tab[] = {
        {"data-dir", OPT_STR, &data_dir, "DIR", "data folder (default $DCN_DATA_DIR, else <source>/data/cache)"},
        {NULL, 0, NULL, NULL, NULL},
    };
    const char *names[MAX_NAMES];
    int nnames = 0;
    const char *usage = "[NAME...] [--data-dir DIR]   (no NAME: check every file present; with NAMEs a missing file "
                        "is a failure too)";
    int rc = opts_parse("data check", usage, tab, argc, argv, 1, names, MAX_NAMES, &nnames);
    if (rc)
        return rc == 1 ? 0 : rc;
    for (int i = 0; i < nnames; i++)
        if (!dataset_is_known_name(names[i]) && strcmp(names[i], "connectomes") && strcmp(names[i], "all")) {
            fprintf(stderr, "dcn data check: unknown dataset '%s' (expected mnist, fashion, kmnist, connectomes or all)\n",
                    names[i]);
            return DCN_EXIT_USAGE;
        }
    return run_fetch_script("check", 1, data_dir, NULL, names, nnames);
}

static void print_hist_json(const char *key, const int *h, int classes)
{
    printf("  \"%s\": [", key);
    for (int c = 0; c < classes; c++)
        printf("%s%d", c ? ", " : "", h[c]);
    printf("]");
}

static int data_info(int argc, char **argv)
{
    const char *data_dir = NULL;
    int json = 0, train_limit = 0, test_limit = 0;
    const struct opt tab[] = {
        {"data-dir", OPT_STR, &data_dir, "DIR", "data folder for named datasets (default $DCN_DATA_DIR, else <source>/data/cache)"},
        {"train-limit", OPT_INT, &train_limit, "N", "use only the first N training images (0: all)"},
        {"test-limit", OPT_INT, &test_limit, "N", "use only the first N test images (0: all)"},
        {"json", OPT_FLAG, &json, NULL, "print a JSON object instead of text"},
        {NULL, 0, NULL, NULL, NULL},
    };
    const char *pos[1];
    int npos = 0;
    const char *usage = "NAME|DIR [--json] [--train-limit N] [--test-limit N] [--data-dir DIR]";
    int rc = opts_parse("data info", usage, tab, argc, argv, 1, pos, 1, &npos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (npos != 1) {
        fprintf(stderr, "dcn data info: give one dataset name (mnist, fashion, kmnist) or folder\n");
        return DCN_EXIT_USAGE;
    }
    if (train_limit < 0 || test_limit < 0) {
        fprintf(stderr, "dcn data info: --train-limit and --test-limit must be >= 0\n");
        return DCN_EXIT_USAGE;
    }
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dataset *ds = NULL;
    double t0 = dcn_now();
    if (dataset_load(&ctx, pos[0], data_dir, train_limit, test_limit, &ds) != DCN_OK)
        return cli_report_error("data info", &ctx); /* "dcn data info: <kind>: <message>", as the README says */
    double secs = dcn_now() - t0;
    int *htr = calloc((size_t)ds->classes, sizeof *htr), *hte = calloc((size_t)ds->classes, sizeof *hte);
    if (!htr || !hte) {
        free(htr);
        free(hte);
        dataset_free(ds);
        fprintf(stderr, "dcn data: out of memory\n");
        return 1;
    }
    for (int i = 0; i < ds->n_train; i++)
        htr[ds->train_y[i]]++;
    for (int i = 0; i < ds->n_test; i++)
        hte[ds->test_y[i]]++;
    if (json) {
        printf("{\n  \"name\": ");
        dcn_json_string(stdout, ds->name);
        printf(",\n  \"dir\": ");
        dcn_json_string(stdout, ds->dir);
        printf(",\n  \"n_train\": %d,\n  \"n_test\": %d,\n  \"rows\": %d,\n  \"cols\": %d,\n  \"classes\": %d,\n"
               "  \"mean\": %.9g,\n  \"std\": %.9g,\n",
               ds->n_train, ds->n_test, ds->rows, ds->cols, ds->classes, (double)ds->mean, (double)ds->std);
        print_hist_json("train_histogram", htr, ds->classes);
        printf(",\n");
        print_hist_json("test_histogram", hte, ds->classes);
        printf("\n}\n");
    } else {
        printf("dataset   %s\nfolder    %s\ntrain     %d images\ntest      %d images\nimage     %d x %d\n"
               "classes   %d\nmean      %.6f\nstd       %.6f   (of the training images scaled to [0,1])\n"
               "loaded in %.2f s\n\nclass      train     test\n",
               ds->name, ds->dir, ds->n_train, ds->n_test, ds->rows, ds->cols, ds->classes, (double)ds->mean,
               (double)ds->std, secs);
        for (int c = 0; c < ds->classes; c++)
            printf("%5d  %9d %8d\n", c, htr[c], hte[c]);
    }
    free(htr);
    free(hte);
    dataset_free(ds);
    return 0;
}

int cmd_data(int argc, char **argv)
{
    if (argc < 2)
        return data_usage(stderr);
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help"))
        return data_usage(stdout);
    if (!strcmp(sub, "fetch"))
        return data_fetch(argc - 1, argv + 1);
    if (!strcmp(sub, "check"))
        return data_check(argc - 1, argv + 1);
    if (!strcmp(sub, "info"))
        return data_info(argc - 1, argv + 1);
    fprintf(stderr, "dcn data: unknown subcommand '%s' (expected fetch, check or info; see dcn data --help)\n", sub);
    return DCN_EXIT_USAGE;
}
