/*
 * selector.c - label selectors: a port of apimachinery's labels/selector.go
 * lexer, parser and Requirement.Matches.
 */
#include "kube/selector.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "kube/object.h"
#include "kube/validate.h"

enum op {
    OP_EXISTS,
    OP_NOT_EXISTS,
    OP_EQUALS,
    OP_NOT_EQUALS,
    OP_IN,
    OP_NOT_IN,
    OP_GT,
    OP_LT,
};

struct requirement {
    char *key;
    enum op op;
    char **values;
    size_t nvalues;
    int64_t num; /* OP_GT / OP_LT */
};

struct kube_label_selector {
    struct requirement *reqs;
    size_t n;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- lexer (selector.go Lexer) ---- */

enum tok {
    T_ERROR,
    T_EOS,
    T_CLOSEPAR,
    T_COMMA,
    T_NOT, /* "!": does not exist */
    T_DEQ,
    T_EQ,
    T_GT,
    T_IDENT,
    T_IN,
    T_NEQ,
    T_NOTIN,
    T_OPENPAR,
    T_LT,
};

struct token {
    enum tok tok;
    char *lit;
};

static const struct {
    const char *s;
    enum tok tok;
} symbols[] = {
    {")", T_CLOSEPAR}, {",", T_COMMA}, {"!", T_NOT},  {"==", T_DEQ},    {"=", T_EQ},
    {">", T_GT},       {"<", T_LT},    {"!=", T_NEQ}, {"(", T_OPENPAR},
};

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static enum tok symbol_tok(const char *s, size_t n)
{
    for (size_t i = 0; i < ARRAY_SIZE(symbols); i++)
        if (strlen(symbols[i].s) == n && memcmp(symbols[i].s, s, n) == 0)
            return symbols[i].tok;
    return T_ERROR;
}

/* Scans one token at *pp; the literal is heap-allocated. */
static struct token lex_one(const char **pp)
{
    const char *p = *pp;
    struct token t = {T_EOS, NULL};

    while (is_ws(*p))
        p++;
    if (!*p) {
        t.lit = xstrdup("");
    } else if (is_special(*p)) {
        /* Longest run of special characters that still forms a known symbol. */
        size_t n = 0, best = 0;
        enum tok best_tok = T_ERROR;
        while (is_special(p[n])) {
            n++;
            enum tok k = symbol_tok(p, n);
            if (k != T_ERROR) {
                best = n;
                best_tok = k;
            } else if (best_tok != T_ERROR) {
                break;
            }
        }
        if (best_tok == T_ERROR) {
            t.tok = T_ERROR;
            t.lit = xstrndup(p, n);
            p += n;
        } else {
            t.tok = best_tok;
            t.lit = xstrndup(p, best);
            p += best;
        }
    } else {
        size_t n = 0;
        while (p[n] && !is_ws(p[n]) && !is_special(p[n]))
            n++;
        t.lit = xstrndup(p, n);
        t.tok = strcmp(t.lit, "in") == 0 ? T_IN : strcmp(t.lit, "notin") == 0 ? T_NOTIN : T_IDENT;
        p += n;
    }
    *pp = p;
    return t;
}

/* ---- parser (selector.go Parser) ---- */

struct parser {
    struct token *toks;
    size_t n;
    size_t pos;
    char *err;
    size_t errlen;
};

enum ctx { CTX_KEY_AND_OP, CTX_VALUES };

static enum tok ctx_tok(const struct token *t, enum ctx ctx)
{
    /* In a value position the keywords are plain identifiers. */
    if (ctx == CTX_VALUES && (t->tok == T_IN || t->tok == T_NOTIN))
        return T_IDENT;
    return t->tok;
}

static const struct token *lookahead(const struct parser *p, enum ctx ctx, enum tok *tok)
{
    const struct token *t = &p->toks[p->pos];
    *tok = ctx_tok(t, ctx);
    return t;
}

static const struct token *consume(struct parser *p, enum ctx ctx, enum tok *tok)
{
    const struct token *t = lookahead(p, ctx, tok);
    if (p->pos + 1 < p->n)
        p->pos++;
    return t;
}

static void value_add(struct requirement *r, const char *v)
{
    for (size_t i = 0; i < r->nvalues; i++)
        if (strcmp(r->values[i], v) == 0)
            return;
    r->values = xrealloc(r->values, (r->nvalues + 1) * sizeof(*r->values));
    r->values[r->nvalues++] = xstrdup(v);
}

static void requirement_release(struct requirement *r)
{
    for (size_t i = 0; i < r->nvalues; i++)
        free(r->values[i]);
    free(r->values);
    free(r->key);
}

/* Writes Go's %q-style quoting of s (enough for messages). */
static void quote(char *out, size_t outlen, const char *s)
{
    size_t j = 0;

    if (outlen < 3) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    out[j++] = '"';
    for (; *s && j + 3 < outlen; s++) {
        if (*s == '"' || *s == '\\')
            out[j++] = '\\';
        out[j++] = *s;
    }
    out[j++] = '"';
    out[j] = '\0';
}

/* strconv.ParseInt(s, 10, 64): optional sign, decimal digits, nothing else. */
static bool parse_int64(const char *s, long long *out)
{
    char *end;
    const char *d = (*s == '+' || *s == '-') ? s + 1 : s;

    if (*d < '0' || *d > '9')
        return false;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0';
}

static int check_key(struct parser *p, const char *key)
{
    char msg[1024], q[300];

    if (kube_validate_qualified_name(key, msg, sizeof(msg)) == 0)
        return 0;
    quote(q, sizeof(q), key);
    seterr(p->err, p->errlen, "unable to parse requirement: <nil>: Invalid value: %s: %s", q, msg);
    return -EINVAL;
}

/* NewRequirement's checks on the operator's values. */
static int check_values(struct parser *p, struct requirement *r)
{
    char msg[1024], q[300];

    if ((r->op == OP_IN || r->op == OP_NOT_IN) && r->nvalues == 0) {
        seterr(p->err, p->errlen,
               "unable to parse requirement: values: Invalid value: []: for 'in', 'notin' "
               "operators, values set can't be empty");
        return -EINVAL;
    }
    if (r->op == OP_GT || r->op == OP_LT) {
        long long v;
        if (!parse_int64(r->values[0], &v)) {
            quote(q, sizeof(q), r->values[0]);
            seterr(p->err, p->errlen,
                   "unable to parse requirement: values[0]: Invalid value: %s: for 'Gt', 'Lt' "
                   "operators, the value must be an integer",
                   q);
            return -EINVAL;
        }
        r->num = v;
    }
    for (size_t i = 0; i < r->nvalues; i++) {
        if (kube_validate_label_value(r->values[i], msg, sizeof(msg)) == 0)
            continue;
        quote(q, sizeof(q), r->values[i]);
        seterr(p->err, p->errlen,
               "unable to parse requirement: values[%zu][%s]: Invalid value: %s: %s", i, r->key, q,
               msg);
        return -EINVAL;
    }
    return 0;
}

static int parse_values(struct parser *p, struct requirement *r)
{
    enum tok tok;
    const struct token *t = consume(p, CTX_VALUES, &tok);

    if (tok != T_OPENPAR) {
        seterr(p->err, p->errlen, "unable to parse requirement: found '%s' expected: '('", t->lit);
        return -EINVAL;
    }
    t = lookahead(p, CTX_VALUES, &tok);
    if (tok == T_CLOSEPAR) {
        consume(p, CTX_VALUES, &tok);
        value_add(r, "");
        return 0;
    }
    if (tok != T_IDENT && tok != T_COMMA) {
        seterr(p->err, p->errlen,
               "unable to parse requirement: found '%s', expected: ',', ')' or identifier", t->lit);
        return -EINVAL;
    }
    /* parseIdentifiersList: identifiers separated by commas, empty allowed. */
    for (;;) {
        t = consume(p, CTX_VALUES, &tok);
        if (tok == T_IDENT) {
            value_add(r, t->lit);
            enum tok t2;
            const struct token *n = lookahead(p, CTX_VALUES, &t2);
            if (t2 == T_COMMA)
                continue;
            if (t2 == T_CLOSEPAR)
                break;
            seterr(p->err, p->errlen,
                   "unable to parse requirement: found '%s', expected: ',' or ')'", n->lit);
            return -EINVAL;
        }
        if (tok == T_COMMA) {
            enum tok t2;
            if (r->nvalues == 0)
                value_add(r, ""); /* "(,a)" */
            const struct token *n = lookahead(p, CTX_VALUES, &t2);
            if (t2 == T_CLOSEPAR || t2 == T_COMMA)
                value_add(r, "");
            if (t2 == T_CLOSEPAR)
                break;
            if (t2 != T_COMMA && t2 != T_IDENT) {
                seterr(p->err, p->errlen,
                       "unable to parse requirement: found '%s', expected: ',', or identifier",
                       n->lit);
                return -EINVAL;
            }
            continue;
        }
        seterr(p->err, p->errlen,
               "unable to parse requirement: found '%s', expected: ',', or identifier", t->lit);
        return -EINVAL;
    }
    consume(p, CTX_VALUES, &tok); /* the ')' seen by lookahead */
    return 0;
}

static int parse_exact_value(struct parser *p, struct requirement *r)
{
    enum tok tok;
    const struct token *t = lookahead(p, CTX_VALUES, &tok);

    if (tok == T_EOS || tok == T_COMMA) {
        value_add(r, "");
        return 0;
    }
    t = consume(p, CTX_VALUES, &tok);
    if (tok == T_IDENT) {
        value_add(r, t->lit);
        return 0;
    }
    seterr(p->err, p->errlen, "unable to parse requirement: found '%s', expected: identifier",
           t->lit);
    return -EINVAL;
}

static int parse_requirement(struct parser *p, struct requirement *r)
{
    enum tok tok;
    const struct token *t = consume(p, CTX_VALUES, &tok);
    bool negated = false;
    int rc;

    if (tok == T_NOT) {
        negated = true;
        t = consume(p, CTX_VALUES, &tok);
    }
    if (tok != T_IDENT) {
        seterr(p->err, p->errlen, "unable to parse requirement: found '%s', expected: identifier",
               t->lit);
        return -EINVAL;
    }
    r->key = xstrdup(t->lit);
    if ((rc = check_key(p, r->key)) < 0)
        return rc;
    lookahead(p, CTX_VALUES, &tok);
    if (negated || tok == T_EOS || tok == T_COMMA) {
        r->op = negated ? OP_NOT_EXISTS : OP_EXISTS;
        return 0;
    }
    t = consume(p, CTX_KEY_AND_OP, &tok);
    switch (tok) {
    case T_IN:
        r->op = OP_IN;
        break;
    case T_NOTIN:
        r->op = OP_NOT_IN;
        break;
    case T_EQ:
    case T_DEQ:
        r->op = OP_EQUALS;
        break;
    case T_NEQ:
        r->op = OP_NOT_EQUALS;
        break;
    case T_GT:
        r->op = OP_GT;
        break;
    case T_LT:
        r->op = OP_LT;
        break;
    default:
        seterr(p->err, p->errlen,
               "unable to parse requirement: found '%s', expected: in, notin, =, ==, !=, gt, lt",
               t->lit);
        return -EINVAL;
    }
    if (r->op == OP_IN || r->op == OP_NOT_IN)
        rc = parse_values(p, r);
    else
        rc = parse_exact_value(p, r);
    return rc < 0 ? rc : check_values(p, r);
}

static int parse(struct parser *p, struct kube_label_selector *sel)
{
    for (;;) {
        enum tok tok;
        const struct token *t = lookahead(p, CTX_VALUES, &tok);

        if (tok == T_EOS)
            return 0;
        if (tok != T_IDENT && tok != T_NOT) {
            seterr(p->err, p->errlen, "found '%s', expected: !, identifier, or 'end of string'",
                   t->lit);
            return -EINVAL;
        }
        sel->reqs = xrealloc(sel->reqs, (sel->n + 1) * sizeof(*sel->reqs));
        struct requirement *r = &sel->reqs[sel->n++];
        memset(r, 0, sizeof(*r));
        int rc = parse_requirement(p, r);
        if (rc < 0)
            return rc;
        t = consume(p, CTX_VALUES, &tok);
        if (tok == T_EOS)
            return 0;
        if (tok != T_COMMA) {
            seterr(p->err, p->errlen, "found '%s', expected: ',' or 'end of string'", t->lit);
            return -EINVAL;
        }
        t = lookahead(p, CTX_VALUES, &tok);
        if (tok != T_IDENT && tok != T_NOT) {
            seterr(p->err, p->errlen, "found '%s', expected: identifier after ','", t->lit);
            return -EINVAL;
        }
    }
}

int kube_label_selector_parse(const char *s, struct kube_label_selector **out, char *err,
                              size_t errlen)
{
    struct kube_label_selector *sel = xcalloc(1, sizeof(*sel));
    struct parser p = {.err = err, .errlen = errlen};
    size_t cap = 0;
    int rc;

    *out = NULL;
    if (errlen)
        err[0] = '\0';
    if (strnlen(s, KUBE_SELECTOR_MAX_LEN + 1) > KUBE_SELECTOR_MAX_LEN) {
        seterr(err, errlen, "selector longer than %d bytes", KUBE_SELECTOR_MAX_LEN);
        free(sel);
        return -E2BIG;
    }
    /* Tokenize up front like Go's parser; stop at the first end or error. */
    for (const char *c = s;;) {
        if (p.n == cap) {
            cap = cap ? cap * 2 : 16;
            p.toks = xrealloc(p.toks, cap * sizeof(*p.toks));
        }
        p.toks[p.n] = lex_one(&c);
        if (p.toks[p.n++].tok == T_EOS || p.toks[p.n - 1].tok == T_ERROR)
            break;
    }
    rc = parse(&p, sel);
    for (size_t i = 0; i < p.n; i++)
        free(p.toks[i].lit);
    free(p.toks);
    if (rc < 0) {
        kube_label_selector_free(sel);
        return rc;
    }
    *out = sel;
    return 0;
}

int kube_label_selector_from_map(const json_t *map, struct kube_label_selector **out, char *err,
                                 size_t errlen)
{
    struct kube_label_selector *sel = xcalloc(1, sizeof(*sel));
    struct parser p = {.err = err, .errlen = errlen};
    const char *k;
    json_t *v;

    *out = NULL;
    if (map && !json_is_object(map)) {
        seterr(err, errlen, "selector must be an object");
        free(sel);
        return -EINVAL;
    }
    json_object_foreach((json_t *)map, k, v)
    {
        sel->reqs = xrealloc(sel->reqs, (sel->n + 1) * sizeof(*sel->reqs));
        struct requirement *r = &sel->reqs[sel->n++];
        memset(r, 0, sizeof(*r));
        r->key = xstrdup(k);
        r->op = OP_EQUALS;
        if (!json_is_string(v)) {
            seterr(err, errlen, "selector value for %s must be a string", k);
            goto fail;
        }
        value_add(r, json_string_value(v));
        if (check_key(&p, k) < 0 || check_values(&p, r) < 0)
            goto fail;
    }
    *out = sel;
    return 0;
fail:
    kube_label_selector_free(sel);
    return -EINVAL;
}

void kube_label_selector_free(struct kube_label_selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n; i++)
        requirement_release(&sel->reqs[i]);
    free(sel->reqs);
    free(sel);
}

bool kube_label_selector_is_empty(const struct kube_label_selector *sel)
{
    return sel->n == 0;
}

static bool has_value(const struct requirement *r, const char *v)
{
    for (size_t i = 0; i < r->nvalues; i++)
        if (strcmp(r->values[i], v) == 0)
            return true;
    return false;
}

static bool requirement_matches(const struct requirement *r, const json_t *labels)
{
    const char *v = json_string_value(json_object_get(labels, r->key));
    long long n;

    switch (r->op) {
    case OP_EXISTS:
        return v != NULL;
    case OP_NOT_EXISTS:
        return v == NULL;
    case OP_EQUALS:
    case OP_IN:
        return v && has_value(r, v);
    case OP_NOT_EQUALS:
    case OP_NOT_IN:
        return !v || !has_value(r, v);
    case OP_GT:
    case OP_LT:
        if (!v || !parse_int64(v, &n))
            return false;
        return r->op == OP_GT ? n > r->num : n < r->num;
    }
    return false;
}

bool kube_label_selector_matches(const struct kube_label_selector *sel, const json_t *labels)
{
    if (labels && !json_is_object(labels))
        labels = NULL;
    for (size_t i = 0; i < sel->n; i++)
        if (!requirement_matches(&sel->reqs[i], labels))
            return false;
    return true;
}

bool kube_label_selector_matches_object(const struct kube_label_selector *sel, const json_t *obj)
{
    return kube_label_selector_matches(sel, kube_obj_labels(obj));
}
