/* The trial's configuration fields, written once: every place that names a trial field (the
 * configuration struct, `dcn train`'s options, the sweep file's keys, the trial file's attributes,
 * the canonical configuration string and trial id, the /summary table's columns and dcn report's
 * grouping keys) is generated from DCN_TRIAL_FIELDS. Adding a field is one line there plus its use in
 * the model or trainer (train_config_from_fields in src/train).
 *
 * Values are kept in their canonical text-free form (strings as given, numbers parsed); strings are
 * borrowed: whoever fills a trial_config owns their storage.
 */
#ifndef DCN_FIELDS_H
#define DCN_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "dcn/core.h"

struct field_desc;
enum field_type { FIELD_STR, FIELD_INT, FIELD_U64, FIELD_DOUBLE, FIELD_BOOL };

/* flags */
#define FIELD_ID 1u    /* always in the canonical string (the fields trial ids were first made of) */
#define FIELD_MIN1 2u  /* a number that must be > 0 (else >= 0) */
#define FIELD_SEED 4u  /* a seed: trials that differ only in seeds replicate one configuration, so a
                        * report pools them; every other field is a configuration key */

/* X(name, TYPE, sweep key, option, default, unit, flags, summary width, allowed values, help)
 * - sweep key: the sweep file's axis; option: `dcn train --option`;
 * - default: the sweep's default and dcn train's (train.c applies the authors variant's own defaults
 *   to fields left at "": freeze, agg_init, normalize; the CLI also to epochs, batch and lr);
 * - summary width: bytes of the /summary string column (strings only);
 * - allowed values: "a|b|c" for a closed set, NULL for any.
 * Readers outside C get the table from results.h5 (root attribute trial_fields, field_table_json), so
 * a new line here reaches dcn report's JSON and analysis/ with no other edit.
 * The order is the canonical string's and the sweep product's (the last field varies fastest): do
 * not reorder. Fields after test_limit came later and enter the canonical string only when they are
 * not at their default, so the ids of earlier sweeps stay the same. */
#define DCN_TRIAL_FIELDS(X)                                                                                          \
    X(graph, STR, "graphs", "graph", "ws:n=32,k=4,p=0.75,seed=0", "", FIELD_ID, 256, NULL,                        \
      "graph: file, celegans, mouse, ws:n=32,k=4,p=0.75,seed=0, er:, ba:, gnm:n=195,m=214,seed=0, "                \
      "rewire:mouse,swaps_per_edge=10,seed=0 (ignored by the baseline)")                                            \
    X(dataset, STR, "datasets", "dataset", "mnist", "", FIELD_ID, 128, NULL,                                       \
      "mnist, fashion, kmnist or a folder of IDX files")                                                           \
    X(variant, STR, "variants", "variant", "paper", "", FIELD_ID, 16, "paper|authors|baseline",                    \
      "paper, authors (the authors' code: only aggregation weights train) or baseline (no graph)")                  \
    X(frozen, BOOL, "frozen", "frozen", "false", "", FIELD_ID, 0, NULL,                                            \
      "freeze the DAG module (the paper's frozen model)")                                                          \
    X(order, STR, "orders", "order", "random", "", FIELD_ID, 16, "random|identity|degree|bfs|coord",              \
      "vertex ordering: random, identity, degree, bfs or coord")                                                                                           \
    X(order_seed, U64, "order_seeds", "order-seed", "0", "", FIELD_ID | FIELD_SEED, 0, NULL,                      \
      "seed of the random vertex ordering")                                                                        \
    X(seed, U64, "seeds", "seed", "0", "", FIELD_ID | FIELD_SEED, 0, NULL, "seed of weights and data order")        \
    X(epochs, INT, "epochs", "epochs", "50", "epochs", FIELD_ID | FIELD_MIN1, 0, NULL, "epochs (authors: 20)")     \
    X(batch, INT, "batch", "batch", "32", "images", FIELD_ID | FIELD_MIN1, 0, NULL,                               \
      "batch size (authors: 128); with --data-parallel the global batch")                                          \
    X(lr, DOUBLE, "lr", "lr", "0.001", "", FIELD_ID | FIELD_MIN1, 0, NULL,                                         \
      "peak learning rate, cosine-decayed to 0 (authors: 0.01)")                                                   \
    X(channels, INT, "channels", "channels", "78", "channels", FIELD_ID | FIELD_MIN1, 0, NULL, "channels")         \
    X(train_limit, INT, "train_limit", "train-limit", "0", "images", FIELD_ID, 0, NULL,                          \
      "use the first N training images (0: all)")                                                                  \
    X(test_limit, INT, "test_limit", "test-limit", "0", "images", FIELD_ID, 0, NULL,                             \
      "use the first N test images (0: all)")                                                                      \
    X(freeze, STR, "freeze", "freeze", "", "", 0, 32, NULL,                                                        \
      "freeze groups: stem,nodes,agg,head (dag = nodes,agg); empty: the variant's default")                        \
    X(agg_init, STR, "agg_init", "agg-init", "", "", 0, 8, "|zero|normal",                                        \
      "aggregation weight init: zero or normal (empty: the variant's default, zero; authors: normal)")             \
    X(normalize, STR, "normalize", "normalize", "", "", 0, 8, "|meanstd|half",                                    \
      "inputs (x - mean) / std of the training set, or x - 0.5 (empty: meanstd; authors: half)")

#define DCN_FIELD_CTYPE_STR const char *
#define DCN_FIELD_CTYPE_INT int
#define DCN_FIELD_CTYPE_U64 uint64_t
#define DCN_FIELD_CTYPE_DOUBLE double
#define DCN_FIELD_CTYPE_BOOL int

struct trial_config {
#define X(name, type, ...) DCN_FIELD_CTYPE_##type name;
    DCN_TRIAL_FIELDS(X)
#undef X
};

enum field_index {
#define X(name, ...) FIELD_##name,
    DCN_TRIAL_FIELDS(X)
#undef X
    DCN_N_FIELDS
};

/* The fields as members of a fixed-size table row (the /summary compound type and the report's rows):
 * strings as char arrays of the field's width, integers as int32_t. Use as
 *   struct row { int32_t index; DCN_FIELD_ROW_MEMBERS ... };  */
#define DCN_ROW_MEMBER_STR(n, w) char n[w]
#define DCN_ROW_MEMBER_INT(n, w) int32_t n
#define DCN_ROW_MEMBER_BOOL(n, w) int32_t n
#define DCN_ROW_MEMBER_U64(n, w) uint64_t n
#define DCN_ROW_MEMBER_DOUBLE(n, w) double n
#define DCN_ROW_MEMBER_X(name, type, key, opt, def, unit, flags, width, allowed, help) DCN_ROW_MEMBER_##type(name, width);
#define DCN_FIELD_ROW_MEMBERS DCN_TRIAL_FIELDS(DCN_ROW_MEMBER_X)
/* offsetof of every field's member in a row struct:
 *   #define DCN_ROW_TYPE_ struct row
 *   static const size_t offs[DCN_N_FIELDS] = {DCN_FIELD_ROW_OFFSETS}; */
#define DCN_ROW_OFFSET_X(name, ...) offsetof(DCN_ROW_TYPE_, name),
#define DCN_FIELD_ROW_OFFSETS DCN_TRIAL_FIELDS(DCN_ROW_OFFSET_X)

/* Copies field f from c into its row member at row + off (strings cut to the width). */
void field_to_row(const struct field_desc *f, const struct trial_config *c, void *row, size_t off);
/* Formats a row member for people and reports: booleans true/false, doubles %.15g. */
int field_row_format(const struct field_desc *f, const void *row, size_t off, char *buf, size_t len);

struct field_desc {
    const char *name;      /* trial file attribute, /summary column, report key, canonical string key */
    enum field_type type;
    const char *sweep_key; /* key in a sweep file */
    const char *option;    /* dcn train --option */
    const char *def;       /* default, as text */
    const char *unit;
    unsigned flags;
    int width;             /* /summary string column bytes */
    const char *allowed;   /* "a|b|c" or NULL */
    const char *help;
    size_t offset;         /* in struct trial_config */
};

extern const struct field_desc dcn_fields[DCN_N_FIELDS];

/* An integer in [min, 10^9] written in decimal with nothing after it: 0, or -1 when it is not. */
int dcn_parse_int(const char *s, int *out, int min);

/* Every field at its table default. */
void trial_config_init(struct trial_config *c);

/* Parses text as field f's value into c (strings are borrowed). On a bad value returns non-zero and
 * writes the reason ("is not a positive integer", "must be one of paper, authors, baseline") into why. */
int field_parse(const struct field_desc *f, const char *text, struct trial_config *c, char *why, size_t why_len);

/* Field f's value in c as canonical text (numbers as the canonical string writes them: booleans 0/1,
 * doubles %.17g). Returns snprintf's count. */
int field_format(const struct field_desc *f, const struct trial_config *c, char *buf, size_t len);

/* 1 when field f of c equals its table default. */
int field_is_default(const struct field_desc *f, const struct trial_config *c);

/* The canonical configuration string "graph=...;dataset=...;...": the FIELD_ID fields always, later
 * fields when not at their default. Returns its length (which may exceed len - 1, like snprintf). */
int trial_config_describe(const struct trial_config *c, char *buf, size_t len);

/* Converts a field's value as field_row_format writes it into a JSON value by the field's type:
 * strings quoted and escaped, numbers as they are (null when not finite), booleans true/false (null
 * when neither). Returns the length like snprintf. */
int field_json_value(const struct field_desc *f, const char *text, char *buf, size_t len);

/* "string", "int", "uint64", "double" or "bool": the type's name in field_table_json. */
const char *field_type_name(enum field_type t);

/* The table as a JSON array, one object per field in table order: {"name", "type", "sweep_key",
 * "unit", "default", "config"} (config: false for the FIELD_SEED fields). Returns the length like
 * snprintf (call with len 0 to size a buffer). */
int field_table_json(char *buf, size_t len);

/* The field with this sweep key / option / name, or NULL. */
const struct field_desc *field_by_sweep_key(const char *key);
const struct field_desc *field_by_name(const char *name);

/* Pointers to a field's storage in c. */
void *field_ptr(const struct field_desc *f, struct trial_config *c);
const void *field_cptr(const struct field_desc *f, const struct trial_config *c);

#endif
