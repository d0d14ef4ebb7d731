/*
 * validate.c - the regular expressions of apimachinery's validation.go,
 * written as small scanners so that no regex engine is needed. The messages
 * are copied from validation.go (MaxLenError, RegexError, EmptyError).
 */
#include "kube/validate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DNS1123_LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_LABEL_MSG                                                                          \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "   \
    "must start and end with an alphanumeric character"
#define DNS1123_SUBDOMAIN_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define DNS1123_SUBDOMAIN_MSG                                                                      \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character"
#define DNS1035_LABEL_FMT "[a-z]([-a-z0-9]*[a-z0-9])?"
#define DNS1035_LABEL_MSG                                                                          \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "   \
    "alphabetic character, and end with an alphanumeric character"
#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_MSG                                                                                  \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character"
#define LABEL_VALUE_FMT "(" QNAME_FMT ")?"
#define LABEL_VALUE_MSG                                                                            \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character"

/* Collects messages joined by "; " into the caller's buffer. */
struct errs {
    char *out;
    size_t len;
    size_t used;
    int n;
};

static void errs_add(struct errs *e, const char *prefix, const char *msg)
{
    if (e->len > 0) {
        int w =
            snprintf(e->out + e->used, e->len - e->used, "%s%s%s", e->n ? "; " : "", prefix, msg);
        if (w > 0)
            e->used += (size_t)w < e->len - e->used ? (size_t)w : e->len - e->used - 1;
    }
    e->n++;
}

static void errs_maxlen(struct errs *e, const char *prefix, int max)
{
    char msg[64];

    snprintf(msg, sizeof(msg), "must be no more than %d characters", max);
    errs_add(e, prefix, msg);
}

static int errs_result(struct errs *e)
{
    return e->n ? -EINVAL : 0;
}

static void errs_init(struct errs *e, char *out, size_t len)
{
    e->out = out;
    e->len = len;
    e->used = 0;
    e->n = 0;
    if (len > 0)
        out[0] = '\0';
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n); first may be restricted to [a-z]. */
static bool match_label(const char *s, size_t n, bool alpha_first)
{
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    if (alpha_first && !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

static bool match_subdomain(const char *s, size_t n)
{
    size_t start = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!match_label(s + start, i - start, false))
                return false;
            start = i + 1;
        }
    }
    return true;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool match_qname(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

int kube_validate_dns1123_label(const char *value, char *err, size_t errlen)
{
    struct errs e;
    size_t n = strlen(value);

    errs_init(&e, err, errlen);
    if (n > KUBE_DNS1123_LABEL_MAX)
        errs_maxlen(&e, "", KUBE_DNS1123_LABEL_MAX);
    if (!match_label(value, n, false)) {
        if (match_subdomain(value, n))
            errs_add(&e, "", "must not contain dots");
        else
            errs_add(&e, "",
                     DNS1123_LABEL_MSG " (e.g. 'my-name',  or '123-abc', regex used for validation "
                                       "is '" DNS1123_LABEL_FMT "')");
    }
    return errs_result(&e);
}

static void subdomain_check(struct errs *e, const char *prefix, const char *value, size_t n)
{
    if (n > KUBE_DNS1123_SUBDOMAIN_MAX)
        errs_maxlen(e, prefix, KUBE_DNS1123_SUBDOMAIN_MAX);
    if (!match_subdomain(value, n))
        errs_add(e, prefix,
                 DNS1123_SUBDOMAIN_MSG " (e.g. 'example.com', regex used for validation is "
                                       "'" DNS1123_SUBDOMAIN_FMT "')");
}

int kube_validate_dns1123_subdomain(const char *value, char *err, size_t errlen)
{
    struct errs e;

    errs_init(&e, err, errlen);
    subdomain_check(&e, "", value, strlen(value));
    return errs_result(&e);
}

int kube_validate_dns1035_label(const char *value, char *err, size_t errlen)
{
    struct errs e;
    size_t n = strlen(value);

    errs_init(&e, err, errlen);
    if (n > KUBE_DNS1035_LABEL_MAX)
        errs_maxlen(&e, "", KUBE_DNS1035_LABEL_MAX);
    if (!match_label(value, n, true))
        errs_add(&e, "",
                 DNS1035_LABEL_MSG " (e.g. 'my-name',  or 'abc-123', regex used for validation is "
                                   "'" DNS1035_LABEL_FMT "')");
    return errs_result(&e);
}

int kube_validate_qualified_name(const char *value, char *err, size_t errlen)
{
    static const char qname_err[] =
        QNAME_MSG " (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                  "'" QNAME_FMT "')";
    struct errs e;
    const char *slash = strchr(value, '/');
    const char *name = value;

    errs_init(&e, err, errlen);
    if (slash && strchr(slash + 1, '/')) {
        errs_add(&e, "a qualified name ", qname_err);
        /* Kubernetes appends the prefix hint to the same message. */
        if (errlen > 0 && e.used < errlen)
            snprintf(err + e.used, errlen - e.used, "%s",
                     " with an optional DNS subdomain prefix and '/' (e.g. "
                     "'example.com/MyName')");
        return -EINVAL;
    }
    if (slash) {
        size_t plen = (size_t)(slash - value);
        if (plen == 0)
            errs_add(&e, "prefix part ", "must be non-empty");
        else
            subdomain_check(&e, "prefix part ", value, plen);
        name = slash + 1;
    }
    size_t n = strlen(name);
    if (n == 0)
        errs_add(&e, "name part ", "must be non-empty");
    else if (n > KUBE_QUALIFIED_NAME_MAX)
        errs_maxlen(&e, "name part ", KUBE_QUALIFIED_NAME_MAX);
    if (!match_qname(name, n))
        errs_add(&e, "name part ", qname_err);
    return errs_result(&e);
}

int kube_validate_label_value(const char *value, char *err, size_t errlen)
{
    struct errs e;
    size_t n = strlen(value);

    errs_init(&e, err, errlen);
    if (n > KUBE_LABEL_VALUE_MAX)
        errs_maxlen(&e, "", KUBE_LABEL_VALUE_MAX);
    if (n > 0 && !match_qname(value, n))
        errs_add(&e, "",
                 LABEL_VALUE_MSG " (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                                 "validation is '" LABEL_VALUE_FMT "')");
    return errs_result(&e);
}
