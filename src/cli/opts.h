/* Declarative command-line options (in the spirit of ior's option tables): each subcommand lists
 * {name, type, destination, metavar, help}; opts_parse fills the destinations, opts_help prints a
 * usage page from the same table, so help text and parsing never drift apart. */
#ifndef DCN_CLI_OPTS_H
#define DCN_CLI_OPTS_H
#include <stdint.h>
#include <stdio.h>

enum opt_type { OPT_FLAG, OPT_STR, OPT_INT, OPT_U64, OPT_DOUBLE };

struct opt {
    const char *name;   /* long name without "--" */
    enum opt_type type;
    void *dst;          /* int* for FLAG/INT, const char** for STR, uint64_t* for U64, double* */
    const char *metavar;
    const char *help;
};

/* Parses argv[first..argc) against the table (terminated by a {NULL} entry). Positional arguments
 * are collected in pos (at most max_pos, count in *npos). Returns 0 on success; 1 when --help was
 * given (help printed to stdout); 2 on a bad option or value (message naming it on stderr). */
int opts_parse(const char *cmd, const char *usage, const struct opt *tab, int argc, char **argv,
               int first, const char **pos, int max_pos, int *npos);
void opts_help(FILE *f, const char *cmd, const char *usage, const struct opt *tab);

/* ---- the trial fields as options (include/dcn/fields.h), shared by dcn train and dcn bench ---- */
struct trial_config;
/* Writes into tab the options of the fields which[0..n) (every field in table order when which is
 * NULL; n is then ignored): booleans are flags into flag[field], everything else is read as text into
 * text[field] for fields_from_options to parse; help[field] shows the field's default. text, flag and
 * help have DCN_N_FIELDS entries and must outlive the parse. Returns the count written. */
int field_options(struct opt *tab, const int *which, int n, const char **text, int *flag, char (*help)[320]);
/* Parses the given field options over the defaults; the authors variant's own epochs, batch and lr
 * apply when those are not given. Returns 0, or prints "dcn <cmd>: option --X: ..." and returns
 * DCN_EXIT_USAGE. */
int fields_from_options(const char *cmd, struct trial_config *fc, const char **text, const int *flag);

/* Exit codes: 0 success, 1 runtime failure, 2 usage error (like most Unix tools). */
#define DCN_EXIT_USAGE 2
#endif
