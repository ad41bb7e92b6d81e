#include "opts.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dcn/fields.h"

void opts_help(FILE *f, const char *cmd, const char *usage, const struct opt *tab)
{
    fprintf(f, "usage: dcn %s %s\n\noptions:\n", cmd, usage);
    for (const struct opt *o = tab; o->name; o++) {
        char left[64];
        if (o->type == OPT_FLAG)
            snprintf(left, sizeof left, "--%s", o->name);
        else
            snprintf(left, sizeof left, "--%s %s", o->name, o->metavar ? o->metavar : "X");
        fprintf(f, "  %-28s %s\n", left, o->help);
    }
    fprintf(f, "  %-28s %s\n", "--help", "show this help and exit");
}

static int bad(const char *cmd, const char *name, const char *val, const char *what)
{
    fprintf(stderr, "dcn %s: option --%s: %s '%s' (see dcn %s --help)\n", cmd, name, what, val, cmd);
    return 2;
}

static int set_value(const char *cmd, const struct opt *o, const char *v)
{
    char *end = NULL;
    errno = 0;
    switch (o->type) {
    case OPT_STR:
        *(const char **)o->dst = v;
        return 0;
    case OPT_INT: {
        long x = strtol(v, &end, 10);
        if (errno || !*v || *end || x < -2147483647L || x > 2147483647L)
            return bad(cmd, o->name, v, "not an integer");
        *(int *)o->dst = (int)x;
        return 0;
    }
    case OPT_U64: {
        if (*v == '-')
            return bad(cmd, o->name, v, "not a non-negative integer");
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || !*v || *end)
            return bad(cmd, o->name, v, "not a non-negative integer");
        *(uint64_t *)o->dst = (uint64_t)x;
        return 0;
    }
    case OPT_DOUBLE: {
        double x = strtod(v, &end);
        if (errno || !*v || *end || !isfinite(x))
            return bad(cmd, o->name, v, "not a finite number");
        *(double *)o->dst = x;
        return 0;
    }
    case OPT_FLAG:
        break;
    }
    return 2;
}

int opts_parse(const char *cmd, const char *usage, const struct opt *tab, int argc, char **argv,
               int first, const char **pos, int max_pos, int *npos)
{
    *npos = 0;
    int only_pos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (*npos >= max_pos) {
                fprintf(stderr, "dcn %s: unexpected argument '%s' (see dcn %s --help)\n", cmd, a, cmd);
                return 2;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            opts_help(stdout, cmd, usage, tab);
            return 1;
        }
        if (strncmp(a, "--", 2)) {
            fprintf(stderr, "dcn %s: unknown option '%s' (see dcn %s --help)\n", cmd, a, cmd);
            return 2;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt *o = tab;
        for (; o->name; o++)
            if (strlen(o->name) == len && !strncmp(o->name, name, len))
                break;
        if (!o->name) {
            fprintf(stderr, "dcn %s: unknown option '--%.*s' (see dcn %s --help)\n", cmd, (int)len, name, cmd);
            return 2;
        }
        if (o->type == OPT_FLAG) {
            if (eq) {
                fprintf(stderr, "dcn %s: option --%s takes no value\n", cmd, o->name);
                return 2;
            }
            *(int *)o->dst = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc) {
                fprintf(stderr, "dcn %s: option --%s needs a value (%s)\n", cmd, o->name,
                        o->metavar ? o->metavar : "X");
                return 2;
            }
            v = argv[++i];
        }
        int rc = set_value(cmd, o, v);
        if (rc)
            return rc;
    }
    return 0;
}

/* The trial fields as options (include/dcn/fields.h): booleans are flags, everything else is read as
 * text into text[i] and parsed by the table; help shows each field's default. */
int field_options(struct opt *tab, const int *which, int n, const char **text, int *flag, char (*help)[320])
{
    if (!which)
        n = DCN_N_FIELDS;
    for (int j = 0; j < n; j++) {
        const int i = which ? which[j] : j;
        const struct field_desc *f = &dcn_fields[i];
        snprintf(help[i], sizeof help[i], "%s%s%s%s", f->help, f->def[0] && f->type != FIELD_BOOL ? " (default " : "",
                 f->type != FIELD_BOOL ? f->def : "", f->def[0] && f->type != FIELD_BOOL ? ")" : "");
        tab[j] = (struct opt){f->option, f->type == FIELD_BOOL ? OPT_FLAG : OPT_STR,
                              f->type == FIELD_BOOL ? (void *)&flag[i] : (void *)&text[i],
                              f->type == FIELD_BOOL ? NULL : f->type == FIELD_STR ? "TEXT" : "N", help[i]};
    }
    return n;
}

/* Parses the given field options over the defaults; the authors variant's own epochs, batch and lr
 * apply when those are not given. Returns 0, or prints the bad option and returns DCN_EXIT_USAGE. */
int fields_from_options(const char *cmd, struct trial_config *fc, const char **text, const int *flag)
{
    trial_config_init(fc);
    if (text[FIELD_variant] && !strcmp(text[FIELD_variant], "authors")) {
        fc->epochs = 20;
        fc->batch = 128;
        fc->lr = 0.01;
    }
    for (int i = 0; i < DCN_N_FIELDS; i++) {
        const struct field_desc *f = &dcn_fields[i];
        char why[160];
        if (f->type == FIELD_BOOL)
            *(int *)field_ptr(f, fc) = flag[i];
        else if (text[i] && field_parse(f, text[i], fc, why, sizeof why)) {
            fprintf(stderr, "dcn %s: option --%s: '%s' %s\n", cmd, f->option, text[i], why);
            return DCN_EXIT_USAGE;
        }
    }
    return 0;
}
