/* One function per subcommand, each in its own file src/cli/cmd_<name>.c. They return the process
 * exit status: 0 success, 1 failure at run time, 2 usage error. */
#ifndef DCN_CLI_H
#define DCN_CLI_H
#include "dcn/core.h"

int cmd_graph(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Prints "dcn <cmd>: <status>: <message>" from ctx and returns 1 (the runtime-failure exit code). */
int cli_report_error(const char *cmd, const struct dcn_ctx *ctx);
#endif
