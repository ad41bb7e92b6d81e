/* dcn: the command-line entry point. Dispatches to one subcommand; each parses its own options
 * from a table (opts.h) and calls the library, which returns a status and never exits. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dcn/core.h"

struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand commands[] = {
    {"graph", cmd_graph, "graph statistics and DAG exports (dcn graph stats celegans --json)"},
    {"data", cmd_data, "fetch, check and describe datasets and connectomes"},
    {"train", cmd_train, "train one trial and write it to HDF5 (dcn train --graph ws:n=32,k=4,p=0.75 ...)"},
    {"sweep", cmd_sweep, "run a sweep of trials over MPI ranks (mpirun -n 2 dcn sweep SWEEP.yaml)"},
    {"report", cmd_report, "summary statistics, tables and figures of a sweep's results file"},
    {"bench", cmd_bench, "training throughput, per-layer profile and peak memory of one model"},
    {"eval", cmd_eval, "evaluate a trial file's weights on a dataset"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "dcn %s: Deep Connectomics Networks - build, train and study CNNs wired like connectomes\n\n"
               "usage: dcn COMMAND [options]   (dcn COMMAND --help for each command's options)\n\ncommands:\n",
            DCN_VERSION);
    for (const struct subcommand *c = commands; c->name; c++)
        fprintf(f, "  %-8s %s\n", c->name, c->summary);
    fprintf(f, "\n  --help     this page\n  --version  print the version\n");
}

int cli_report_error(const char *cmd, const struct dcn_ctx *ctx)
{
    fprintf(stderr, "dcn %s: %s: %s\n", cmd, dcn_strstatus(ctx->status), ctx->err);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dcn %s\n", DCN_VERSION);
        return 0;
    }
    for (const struct subcommand *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name))
            return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "dcn: unknown command '%s' (see dcn --help)\n", argv[1]);
    return 2;
}
