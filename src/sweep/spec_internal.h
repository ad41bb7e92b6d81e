/* Shared by the sweep file's parser (spec.c) and its graph-family expansion (family.c). */
#ifndef DCN_SWEEP_SPEC_INTERNAL_H
#define DCN_SWEEP_SPEC_INTERNAL_H

#include <stddef.h>
#include <yaml.h>

#include "dcn/core.h"
#include "dcn/sweep.h"

#define MAX_RANGE 100000 /* values one "a..b" range may give */

/* The values of one sweep axis, each with the line it came from. */
struct axis {
    int n, cap;
    char **v;     /* scalar texts, owned unless borrowed */
    int *lines;   /* (n) line of each value */
    int line;     /* line of the key */
    int borrowed; /* the texts moved to the sweep_spec's string store */
};

/* Frees the texts (unless borrowed) and the arrays, and empties the axis. */
void axis_free(struct axis *a);
enum dcn_status axis_push(struct dcn_ctx *ctx, const char *path, int line, struct axis *a, const char *v, size_t len);
/* Pushes v, or the integers a..b when allow_range and v reads "a..b". */
enum dcn_status push_scalar(struct dcn_ctx *ctx, const char *path, int line, struct axis *a, const char *v,
                            size_t len, int allow_range);

/* Expands the sweep's graphs list (a value or a list) item by item: a mapping {family: ws, n: 32, p: [..],
 * seed: 0..9} into graph specs (the product of its values, the last key varying fastest), a scalar that
 * is a glob pattern into the sorted paths it matches; other scalars are pushed as they are. Rewire
 * entries also push their first spec onto checks, to be loaded once the data folder is known. Each item
 * gets a sweep_entry (*entries, owned by the caller); the items design d names grow their seed lists to
 * d->graph_seeds values (continuing them: 0..4 gives 0..6 for 7). */
enum dcn_status family_read_list(struct dcn_ctx *ctx, const char *path, yaml_document_t *doc, yaml_node_t *val,
                                 int line, struct axis *graphs, struct axis *checks, const struct sweep_design *d,
                                 struct sweep_entry **entries, int *n_entries);
/* Loads each spec of checks (rewire entries' first graphs) so that a base that cannot be loaded or
 * admits no swap is refused, with its line, before anything runs. */
enum dcn_status family_check(struct dcn_ctx *ctx, const char *path, const struct axis *checks, const char *data_dir);

/* The until: mapping (until.c): keys compare, half_width, max_trials, round; errors name file and line. */
enum dcn_status until_parse(struct dcn_ctx *ctx, const char *path, yaml_document_t *doc, yaml_node_t *val, int line,
                            struct sweep_until **out);
/* After the expansion: each compare qualifier's value is one of its axis's values, and the trials fit
 * the budget. ax: the sweep's axes (one per trial field). */
enum dcn_status until_validate(struct dcn_ctx *ctx, const struct sweep_spec *s, const struct axis *ax);

#endif
