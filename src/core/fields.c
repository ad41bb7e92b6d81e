/* The trial-field table (include/dcn/fields.h) and the generic operations over it. */
#include "dcn/fields.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct field_desc dcn_fields[DCN_N_FIELDS] = {
#define X(nm, ty, key, opt, def, unit, flags, width, allowed, help)                                                \
    {#nm, FIELD_##ty, key, opt, def, unit, flags, width, allowed, help, offsetof(struct trial_config, nm)},
    DCN_TRIAL_FIELDS(X)
#undef X
};

void *field_ptr(const struct field_desc *f, struct trial_config *c)
{
    return (char *)c + f->offset;
}

const void *field_cptr(const struct field_desc *f, const struct trial_config *c)
{
    return (const char *)c + f->offset;
}

void trial_config_init(struct trial_config *c)
{
    memset(c, 0, sizeof *c);
    char why[8];
    for (int i = 0; i < DCN_N_FIELDS; i++)
        field_parse(&dcn_fields[i], dcn_fields[i].def, c, why, sizeof why); /* the table's defaults parse */
}

/* 1 when text is one of the '|'-separated alternatives (an empty alternative allows "") */
static int allowed_has(const char *allowed, const char *text)
{
    size_t n = strlen(text);
    for (const char *p = allowed;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, text, n))
            return 1;
        if (!bar)
            return 0;
        p = bar + 1;
    }
}

int dcn_parse_int(const char *s, int *out, int min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > 1000000000L)
        return -1;
    *out = (int)v;
    return 0;
}

/* seeds as the sweep file has read them since its first version: strtoull, without a sign */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno)
        return -1;
    *out = v;
    return 0;
}

int field_parse(const struct field_desc *f, const char *text, struct trial_config *c, char *why, size_t why_len)
{
    void *p = field_ptr(f, c);
    const int min1 = (f->flags & FIELD_MIN1) != 0;
    switch (f->type) {
    case FIELD_STR:
        if (f->allowed && !allowed_has(f->allowed, text)) {
            snprintf(why, why_len, "must be one of %s", f->allowed[0] == '|' ? f->allowed + 1 : f->allowed);
            for (char *q = why; *q; q++)
                if (*q == '|')
                    *q = ',';
            return -1;
        }
        *(const char **)p = text;
        return 0;
    case FIELD_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "True") || !strcmp(text, "yes") || !strcmp(text, "1"))
            *(int *)p = 1;
        else if (!strcmp(text, "false") || !strcmp(text, "False") || !strcmp(text, "no") || !strcmp(text, "0"))
            *(int *)p = 0;
        else {
            snprintf(why, why_len, "is not true or false");
            return -1;
        }
        return 0;
    case FIELD_INT:
        if (dcn_parse_int(text, (int *)p, min1 ? 1 : 0)) {
            snprintf(why, why_len, "is not a %s integer", min1 ? "positive" : "non-negative");
            return -1;
        }
        return 0;
    case FIELD_U64: {
        uint64_t v;
        if (parse_u64(text, &v)) {
            snprintf(why, why_len, "is not a non-negative integer");
            return -1;
        }
        *(uint64_t *)p = v;
        return 0;
    }
    case FIELD_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (!*text || *end || !isfinite(v) || (min1 ? !(v > 0) : !(v >= 0))) {
            snprintf(why, why_len, "is not a %s number", min1 ? "positive" : "non-negative");
            return -1;
        }
        *(double *)p = v;
        return 0;
    }
    }
    return -1;
}

int field_format(const struct field_desc *f, const struct trial_config *c, char *buf, size_t len)
{
    const void *p = field_cptr(f, c);
    switch (f->type) {
    case FIELD_STR:
        return snprintf(buf, len, "%s", *(const char *const *)p ? *(const char *const *)p : "");
    case FIELD_INT:
    case FIELD_BOOL:
        return snprintf(buf, len, "%d", *(const int *)p);
    case FIELD_U64:
        return snprintf(buf, len, "%" PRIu64, *(const uint64_t *)p);
    case FIELD_DOUBLE:
        return snprintf(buf, len, "%.17g", *(const double *)p);
    }
    return 0;
}

int field_is_default(const struct field_desc *f, const struct trial_config *c)
{
    struct trial_config d;
    char why[8];
    memset(&d, 0, sizeof d);
    field_parse(f, f->def, &d, why, sizeof why);
    if (f->type == FIELD_STR) {
        const char *a = *(const char *const *)field_cptr(f, c);
        return !strcmp(a ? a : "", f->def);
    }
    char x[64], y[64];
    field_format(f, c, x, sizeof x);
    field_format(f, &d, y, sizeof y);
    return !strcmp(x, y);
}

int trial_config_describe(const struct trial_config *c, char *buf, size_t len)
{
    /* counts like snprintf so that callers can size a buffer for a long graph path */
    size_t n = 0;
    for (int i = 0; i < DCN_N_FIELDS; i++) {
        const struct field_desc *f = &dcn_fields[i];
        if (!(f->flags & FIELD_ID) && field_is_default(f, c))
            continue;
        int k = snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0, "%s%s=", n ? ";" : "", f->name);
        n += (size_t)k;
        k = field_format(f, c, n < len ? buf + n : NULL, n < len ? len - n : 0);
        n += (size_t)k;
    }
    return (int)n;
}

const struct field_desc *field_by_sweep_key(const char *key)
{
    for (int i = 0; i < DCN_N_FIELDS; i++)
        if (!strcmp(dcn_fields[i].sweep_key, key))
            return &dcn_fields[i];
    return NULL;
}

const struct field_desc *field_by_name(const char *name)
{
    for (int i = 0; i < DCN_N_FIELDS; i++)
        if (!strcmp(dcn_fields[i].name, name))
            return &dcn_fields[i];
    return NULL;
}

void field_to_row(const struct field_desc *f, const struct trial_config *c, void *row, size_t off)
{
    char *dst = (char *)row + off;
    const void *p = field_cptr(f, c);
    switch (f->type) {
    case FIELD_STR: {
        const char *v = *(const char *const *)p;
        snprintf(dst, (size_t)f->width, "%s", v ? v : "");
        break;
    }
    case FIELD_INT:
    case FIELD_BOOL: {
        int32_t v = *(const int *)p;
        memcpy(dst, &v, sizeof v);
        break;
    }
    case FIELD_U64:
        memcpy(dst, p, sizeof(uint64_t));
        break;
    case FIELD_DOUBLE:
        memcpy(dst, p, sizeof(double));
        break;
    }
}

int field_row_format(const struct field_desc *f, const void *row, size_t off, char *buf, size_t len)
{
    const char *src = (const char *)row + off;
    int32_t i;
    uint64_t u;
    double d;
    switch (f->type) {
    case FIELD_STR:
        return snprintf(buf, len, "%.*s", f->width, src);
    case FIELD_INT:
        memcpy(&i, src, sizeof i);
        return snprintf(buf, len, "%d", (int)i);
    case FIELD_BOOL:
        memcpy(&i, src, sizeof i);
        return snprintf(buf, len, "%s", i ? "true" : "false");
    case FIELD_U64:
        memcpy(&u, src, sizeof u);
        return snprintf(buf, len, "%" PRIu64, u);
    case FIELD_DOUBLE:
        memcpy(&d, src, sizeof d);
        return snprintf(buf, len, "%.15g", d);
    }
    return 0;
}

/* ---------------------------------------------------------------- JSON */

/* Text appended like snprintf: n counts every byte, buf keeps what fits and stays terminated. */
struct jbuf {
    char *buf;
    size_t len, n;
};

static void jb_putc(struct jbuf *b, char c)
{
    if (b->n + 1 < b->len) {
        b->buf[b->n] = c;
        b->buf[b->n + 1] = 0;
    }
    b->n++;
}

static void jb_puts(struct jbuf *b, const char *s)
{
    for (; *s; s++)
        jb_putc(b, *s);
}

static void jb_string(struct jbuf *b, const char *s)
{
    jb_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            jb_putc(b, '\\');
            jb_putc(b, (char)c);
        } else if (c < 0x20) {
            char u[8];
            snprintf(u, sizeof u, "\\u%04x", c);
            jb_puts(b, u);
        } else {
            jb_putc(b, (char)c);
        }
    }
    jb_putc(b, '"');
}

static struct jbuf jb_start(char *buf, size_t len)
{
    if (len)
        buf[0] = 0;
    return (struct jbuf){buf, len, 0};
}

/* 1 when text is a whole finite number (what %d, PRIu64 and %.15g write; JSON takes them as they are) */
static int is_finite_number(const char *text)
{
    char *end;
    double v = strtod(text, &end);
    return *text && !*end && isfinite(v);
}

int field_json_value(const struct field_desc *f, const char *text, char *buf, size_t len)
{
    struct jbuf b = jb_start(buf, len);
    switch (f->type) {
    case FIELD_STR:
        jb_string(&b, text);
        break;
    case FIELD_BOOL:
        jb_puts(&b, !strcmp(text, "true") || !strcmp(text, "false") ? text : "null");
        break;
    case FIELD_INT:
    case FIELD_U64:
    case FIELD_DOUBLE:
        jb_puts(&b, is_finite_number(text) ? text : "null");
        break;
    }
    return (int)b.n;
}

const char *field_type_name(enum field_type t)
{
    switch (t) {
    case FIELD_STR:
        return "string";
    case FIELD_INT:
        return "int";
    case FIELD_U64:
        return "uint64";
    case FIELD_DOUBLE:
        return "double";
    case FIELD_BOOL:
        return "bool";
    }
    return "?";
}

int field_table_json(char *buf, size_t len)
{
    struct jbuf b = jb_start(buf, len);
    jb_putc(&b, '[');
    for (int i = 0; i < DCN_N_FIELDS; i++) {
        const struct field_desc *f = &dcn_fields[i];
        jb_puts(&b, i ? ", {\"name\": " : "{\"name\": ");
        jb_string(&b, f->name);
        jb_puts(&b, ", \"type\": ");
        jb_string(&b, field_type_name(f->type));
        jb_puts(&b, ", \"sweep_key\": ");
        jb_string(&b, f->sweep_key);
        jb_puts(&b, ", \"unit\": ");
        jb_string(&b, f->unit);
        jb_puts(&b, ", \"default\": ");
        jb_string(&b, f->def);
        jb_puts(&b, f->flags & FIELD_SEED ? ", \"config\": false}" : ", \"config\": true}");
    }
    jb_putc(&b, ']');
    return (int)b.n;
}
