#include "base/config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/clock.h"
#include "base/mem.h"

#define STRING_MAX_DEFAULT  4096
#define STRLIST_MAX_DEFAULT 64
#define CONFIG_FILE_MAX     (1024 * 1024)
#define PATH_DEPTH_MAX      16

struct loader {
    const struct config_schema *schema;
    void *target;
    const char *name;
    struct buf *errors;
    yaml_document_t *doc;
    int problems;
    /* Options already set by this load, to report duplicate keys. */
    bool *seen;
};

static void *field(void *target, const struct config_option *opt)
{
    return (char *)target + opt->offset;
}

static const void *cfield(const void *target, const struct config_option *opt)
{
    return (const char *)target + opt->offset;
}

static void problem(struct loader *l, size_t line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(struct loader *l, size_t line, const char *key, const char *fmt, ...)
{
    va_list ap;
    buf_printf(l->errors, "%s:%zu: %s: ", l->name, line, key);
    va_start(ap, fmt);
    buf_vprintf(l->errors, fmt, ap);
    va_end(ap);
    buf_append_char(l->errors, '\n');
    l->problems++;
}

const struct config_option *config_find(const struct config_schema *schema, const char *name)
{
    for (size_t i = 0; i < schema->n_options; i++)
        if (strcmp(schema->options[i].name, name) == 0)
            return &schema->options[i];
    return NULL;
}

/* True if some option lives under "prefix." */
static bool has_children(const struct config_schema *schema, const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < schema->n_options; i++) {
        const char *name = schema->options[i].name;
        if (strncmp(name, prefix, n) == 0 && name[n] == '.')
            return true;
    }
    return false;
}

static void strlist_clear(struct config_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void strlist_push(struct config_strlist *l, const char *s, size_t len)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = xstrndup(s, len);
}

/* Parses one scalar into the option's field. Returns NULL on success or a
 * static description of what is wrong. */
static const char *set_scalar(const struct config_option *opt, void *target, const char *s,
                              bool quoted, char *why, size_t whylen)
{
    switch (opt->type) {
    case CONFIG_BOOL:
        if (!quoted && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))) {
            *(bool *)field(target, opt) = true;
            return NULL;
        }
        if (!quoted && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))) {
            *(bool *)field(target, opt) = false;
            return NULL;
        }
        return "expected a boolean (true or false)";
    case CONFIG_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (quoted || end == s || *end != '\0' || errno == ERANGE)
            return "expected an integer";
        if (v < opt->min || v > opt->max) {
            snprintf(why, whylen, "%lld is out of range [%" PRId64 ", %" PRId64 "]", v, opt->min,
                     opt->max);
            return why;
        }
        *(int64_t *)field(target, opt) = v;
        return NULL;
    }
    case CONFIG_DURATION: {
        int64_t ms;
        if (clock_parse_duration(s, &ms) < 0)
            return "expected a duration such as 15s, 500ms or 1m30s";
        if (ms < opt->min || ms > opt->max) {
            snprintf(why, whylen, "%s is out of range [%" PRId64 "ms, %" PRId64 "ms]", s, opt->min,
                     opt->max);
            return why;
        }
        *(int64_t *)field(target, opt) = ms;
        return NULL;
    }
    case CONFIG_STRING: {
        size_t max = opt->max > 0 ? (size_t)opt->max : STRING_MAX_DEFAULT;
        if (strlen(s) > max) {
            snprintf(why, whylen, "longer than %zu bytes", max);
            return why;
        }
        char **p = field(target, opt);
        free(*p);
        *p = xstrdup(s);
        return NULL;
    }
    case CONFIG_STRLIST:
        return "expected a list of strings";
    }
    return "unsupported option type";
}

static bool is_null_scalar(const yaml_node_t *n)
{
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return n->data.scalar.length == 0 || !strcmp(v, "~") || !strcmp(v, "null") ||
           !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static void load_sequence(struct loader *l, const struct config_option *opt, yaml_node_t *seq,
                          size_t line)
{
    struct config_strlist *list = field(l->target, opt);
    size_t max = opt->max > 0 ? (size_t)opt->max : STRLIST_MAX_DEFAULT;
    size_t count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (count > max) {
        problem(l, line, opt->name, "more than %zu items", max);
        return;
    }
    struct config_strlist fresh = {0, NULL};
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node(l->doc, *it);
        if (!item || item->type != YAML_SCALAR_NODE) {
            problem(l, item ? item->start_mark.line + 1 : line, opt->name,
                    "list items must be strings");
            strlist_clear(&fresh);
            return;
        }
        if (item->data.scalar.length > STRING_MAX_DEFAULT) {
            problem(l, item->start_mark.line + 1, opt->name, "list item too long");
            strlist_clear(&fresh);
            return;
        }
        strlist_push(&fresh, (const char *)item->data.scalar.value, item->data.scalar.length);
    }
    strlist_clear(list);
    *list = fresh;
}

static void load_value(struct loader *l, const char *path, yaml_node_t *value, size_t line);

static void load_mapping(struct loader *l, const char *prefix, yaml_node_t *map, int depth)
{
    if (depth > PATH_DEPTH_MAX) {
        problem(l, map->start_mark.line + 1, prefix, "nested too deeply");
        return;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        if (!k || !v)
            continue;
        size_t line = k->start_mark.line + 1;
        if (k->type != YAML_SCALAR_NODE) {
            problem(l, line, prefix[0] ? prefix : "(top)", "keys must be strings");
            continue;
        }
        const char *key = (const char *)k->data.scalar.value;
        if (strchr(key, '.') || k->data.scalar.length == 0 || k->data.scalar.length > 128) {
            problem(l, line, key, "not a valid key");
            continue;
        }
        char *path = prefix[0] ? xasprintf("%s.%s", prefix, key) : xstrdup(key);
        if (depth == 0 && (!strcmp(key, "apiVersion") || !strcmp(key, "kind"))) {
            const char *want = key[0] == 'a' ? l->schema->api_version : l->schema->kind;
            if (v->type != YAML_SCALAR_NODE || !want ||
                strcmp((const char *)v->data.scalar.value, want) != 0)
                problem(l, line, key, "must be %s", want ? want : "absent");
        } else if (v->type == YAML_MAPPING_NODE) {
            if (has_children(l->schema, path))
                load_mapping(l, path, v, depth + 1);
            else if (config_find(l->schema, path))
                problem(l, line, path, "expected a single value, not a mapping");
            else
                problem(l, line, path, "unknown key");
        } else {
            load_value(l, path, v, line);
        }
        free(path);
    }
}

static void load_value(struct loader *l, const char *path, yaml_node_t *value, size_t line)
{
    const struct config_option *opt = config_find(l->schema, path);
    if (!opt) {
        if (has_children(l->schema, path) &&
            !(value->type == YAML_SCALAR_NODE && is_null_scalar(value)))
            problem(l, line, path, "expected a mapping");
        else if (!has_children(l->schema, path))
            problem(l, line, path, "unknown key");
        return;
    }
    size_t idx = (size_t)(opt - l->schema->options);
    if (l->seen[idx]) {
        problem(l, line, path, "set more than once");
        return;
    }
    l->seen[idx] = true;
    if (value->type == YAML_SEQUENCE_NODE) {
        if (opt->type != CONFIG_STRLIST)
            problem(l, line, path, "expected a single value, not a list");
        else
            load_sequence(l, opt, value, line);
        return;
    }
    if (is_null_scalar(value) && opt->type != CONFIG_STRING)
        return; /* "key:" with nothing keeps the default, as KubeEdge's loader does */
    if (opt->type == CONFIG_STRLIST) {
        problem(l, line, path, "expected a list of strings");
        return;
    }
    char why[160];
    const char *s = (const char *)value->data.scalar.value;
    bool quoted = value->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    const char *err =
        set_scalar(opt, l->target, is_null_scalar(value) ? "" : s, quoted, why, sizeof(why));
    if (err)
        problem(l, line, path, "%s", err);
}

int config_load_string(const struct config_schema *schema, void *target, const char *name,
                       const char *text, size_t len, struct buf *errors)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct loader l = {schema, target, name, errors, &doc, 0, NULL};

    if (len > CONFIG_FILE_MAX) {
        buf_printf(errors, "%s:1: (file): larger than %d bytes\n", name, CONFIG_FILE_MAX);
        return -EINVAL;
    }
    if (!yaml_parser_initialize(&parser))
        BUG("yaml_parser_initialize");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        buf_printf(errors, "%s:%zu: (yaml): %s\n", name, parser.problem_mark.line + 1,
                   parser.problem ? parser.problem : "not valid YAML");
        yaml_parser_delete(&parser);
        return -EINVAL;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    l.seen = xcalloc(schema->n_options ? schema->n_options : 1, sizeof(bool));
    if (root && root->type == YAML_MAPPING_NODE)
        load_mapping(&l, "", root, 0);
    else if (root && !(root->type == YAML_SCALAR_NODE && is_null_scalar(root)))
        problem(&l, root->start_mark.line + 1, "(top)", "expected a mapping of options");
    free(l.seen);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return l.problems ? -EINVAL : 0;
}

int config_load_file(const struct config_schema *schema, void *target, const char *path,
                     struct buf *errors)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int err = -errno;
        buf_printf(errors, "%s: cannot open: %s\n", path, strerror(-err));
        return err;
    }
    struct buf text = BUF_INIT(CONFIG_FILE_MAX);
    char chunk[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&text, chunk, n) < 0) {
            buf_printf(errors, "%s:1: (file): larger than %d bytes\n", path, CONFIG_FILE_MAX);
            rc = -EINVAL;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        buf_printf(errors, "%s: read error\n", path);
        rc = -EIO;
    }
    fclose(f);
    if (rc == 0)
        rc = config_load_string(schema, target, path, buf_cstr(&text), text.len, errors);
    buf_release(&text);
    return rc;
}

void config_init(const struct config_schema *schema, void *target)
{
    char why[160];
    for (size_t i = 0; i < schema->n_options; i++) {
        const struct config_option *opt = &schema->options[i];
        const char *def = opt->def ? opt->def : "";
        if (opt->type == CONFIG_STRLIST) {
            struct config_strlist *list = field(target, opt);
            list->n = 0;
            list->v = NULL;
            for (const char *p = def; *p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                strlist_push(list, p, len);
                p += len + (comma ? 1 : 0);
            }
            continue;
        }
        if (opt->type == CONFIG_STRING)
            *(char **)field(target, opt) = NULL;
        if (opt->type != CONFIG_STRING && def[0] == '\0') {
            if (opt->type == CONFIG_BOOL)
                *(bool *)field(target, opt) = false;
            else
                *(int64_t *)field(target, opt) = 0;
            continue;
        }
        if (set_scalar(opt, target, def, false, why, sizeof(why)))
            BUG(opt->name);
    }
}

void config_release(const struct config_schema *schema, void *target)
{
    for (size_t i = 0; i < schema->n_options; i++) {
        const struct config_option *opt = &schema->options[i];
        if (opt->type == CONFIG_STRING) {
            char **p = field(target, opt);
            free(*p);
            *p = NULL;
        } else if (opt->type == CONFIG_STRLIST) {
            strlist_clear(field(target, opt));
        }
    }
}

/* Double-quotes a string unless YAML would read it back unchanged as a plain string. */
static void print_string(FILE *out, const char *s)
{
    bool plain = s[0] != '\0' && strcspn(s, ":#{}[],&*!|>'\"%@`\\\n\t") == strlen(s) &&
                 s[0] != '-' && s[0] != '?' && s[0] != ' ' && s[strlen(s) - 1] != ' ' &&
                 strcmp(s, "true") && strcmp(s, "false") && strcmp(s, "null") && strcmp(s, "~") &&
                 strspn(s, "0123456789.+-eE") != strlen(s);
    if (plain) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

static void print_duration(FILE *out, int64_t ms)
{
    if (ms % 1000 == 0)
        fprintf(out, "%" PRId64 "s", ms / 1000);
    else
        fprintf(out, "%" PRId64 "ms", ms);
}

static void print_value(FILE *out, const struct config_option *opt, const void *target, int indent)
{
    switch (opt->type) {
    case CONFIG_BOOL:
        fputs(*(const bool *)cfield(target, opt) ? "true" : "false", out);
        break;
    case CONFIG_INT:
        fprintf(out, "%" PRId64, *(const int64_t *)cfield(target, opt));
        break;
    case CONFIG_DURATION:
        print_duration(out, *(const int64_t *)cfield(target, opt));
        break;
    case CONFIG_STRING: {
        const char *s = *(char *const *)cfield(target, opt);
        print_string(out, s ? s : "");
        break;
    }
    case CONFIG_STRLIST: {
        const struct config_strlist *l = cfield(target, opt);
        if (l->n == 0) {
            fputs("[]", out);
            break;
        }
        for (size_t i = 0; i < l->n; i++) {
            fprintf(out, "\n%*s- ", indent, "");
            print_string(out, l->v[i]);
        }
        break;
    }
    }
}

/* Number of leading path segments a and b share. */
static int common_segments(const char *a, const char *b)
{
    int n = 0;
    for (;;) {
        size_t la = strcspn(a, "."), lb = strcspn(b, ".");
        if (la != lb || strncmp(a, b, la) != 0 || a[la] != '.' || b[lb] != '.')
            return n;
        n++;
        a += la + 1;
        b += lb + 1;
    }
}

void config_print(const struct config_schema *schema, const void *target, FILE *out)
{
    if (schema->api_version)
        fprintf(out, "apiVersion: %s\n", schema->api_version);
    if (schema->kind)
        fprintf(out, "kind: %s\n", schema->kind);
    const char *prev = "";
    for (size_t i = 0; i < schema->n_options; i++) {
        const struct config_option *opt = &schema->options[i];
        int shared = i ? common_segments(prev, opt->name) : 0;
        const char *p = opt->name;
        for (int s = 0; s < shared; s++)
            p += strcspn(p, ".") + 1;
        int depth = shared;
        /* Open the mappings this option needs beyond what the previous one opened. */
        for (;;) {
            size_t len = strcspn(p, ".");
            if (p[len] != '.')
                break;
            fprintf(out, "%*s%.*s:\n", depth * 2, "", (int)len, p);
            depth++;
            p += len + 1;
        }
        const struct config_strlist *list = cfield(target, opt);
        bool block = opt->type == CONFIG_STRLIST && list->n > 0;
        fprintf(out, "%*s%s:%s", depth * 2, "", p, block ? "" : " ");
        print_value(out, opt, target, depth * 2);
        fputc('\n', out);
        prev = opt->name;
    }
}

static const char *type_name(enum config_type t)
{
    static const char *const names[] = {"bool", "int", "string", "list", "duration"};
    return t <= CONFIG_DURATION ? names[t] : "?";
}

void config_print_help(const struct config_schema *schema, FILE *out)
{
    for (size_t i = 0; i < schema->n_options; i++) {
        const struct config_option *opt = &schema->options[i];
        fprintf(out, "  %s (%s, default %s%s%s", opt->name, type_name(opt->type),
                opt->def && opt->def[0] ? "" : "\"", opt->def ? opt->def : "",
                opt->def && opt->def[0] ? "" : "\"");
        if (opt->type == CONFIG_INT)
            fprintf(out, ", %" PRId64 "..%" PRId64, opt->min, opt->max);
        else if (opt->type == CONFIG_DURATION)
            fprintf(out, ", %" PRId64 "ms..%" PRId64 "ms", opt->min, opt->max);
        fprintf(out, ")\n      %s\n", opt->help);
    }
}
