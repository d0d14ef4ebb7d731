/*
 * kubeconfig.c - kubeconfig (clientcmd v1 Config) and in-cluster loading.
 *
 * The YAML is loaded as a libyaml document (aliases stay node references, so
 * no expansion bombs) and walked with a fixed depth: current-context ->
 * contexts[].context.{cluster,user} -> clusters[].cluster, users[].user.
 * Unknown keys are ignored, as client-go does for forward compatibility.
 */
#include "net/kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/mem.h"

struct loader {
    yaml_document_t doc;
    const char *name; /* file name for messages */
    const char *dir;  /* base of relative paths, or NULL */
    char *err;
    size_t errlen;
};

static int fail(struct loader *l, int rc, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct loader *l, int rc, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (l->errlen)
        snprintf(l->err, l->errlen, "%s: %s%s%s", l->name, field ? field : "", field ? ": " : "",
                 msg);
    return rc;
}

void kube_config_release(struct kube_config *cfg)
{
    free(cfg->server);
    free(cfg->ca.data);
    free(cfg->token);
    free(cfg->cert.data);
    if (cfg->key.data)
        memset(cfg->key.data, 0, cfg->key.len);
    free(cfg->key.data);
    memset(cfg, 0, sizeof(*cfg));
}

/* Reads a whole file of at most max bytes into out. */
static int read_file(const char *path, size_t max, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    for (;;) {
        char chunk[8192];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > max || buf_append(out, chunk, (size_t)n) < 0) {
            rc = -EFBIG;
            break;
        }
    }
    close(fd);
    return rc;
}

static yaml_node_t *map_get(struct loader *l, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strlen(key) == k->data.scalar.length &&
            !memcmp(k->data.scalar.value, key, k->data.scalar.length))
            return yaml_document_get_node(&l->doc, p->value);
    }
    return NULL;
}

/* The scalar at map[key]: NULL if absent or null; -EINVAL if not a scalar. */
static int map_str(struct loader *l, yaml_node_t *map, const char *key, const char *field,
                   const char **out)
{
    yaml_node_t *n = map_get(l, map, key);
    *out = NULL;
    if (!n)
        return 0;
    if (n->type != YAML_SCALAR_NODE)
        return fail(l, -EINVAL, field, "must be a string");
    const char *v = (const char *)n->data.scalar.value;
    if (strlen(v) != n->data.scalar.length)
        return fail(l, -EINVAL, field, "contains a NUL byte");
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (!strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null")))
        return 0;
    *out = v;
    return 0;
}

/* Finds the element of the named list (clusters, users, contexts) whose name
 * is want and returns its inner mapping (element[inner]). */
static int find_named(struct loader *l, yaml_node_t *root, const char *list, const char *inner,
                      const char *want, yaml_node_t **out, int *index)
{
    yaml_node_t *seq = map_get(l, root, list);
    *out = NULL;
    if (!seq)
        return fail(l, -ENOENT, list, "missing, but %s \"%s\" is referenced", list, want);
    if (seq->type != YAML_SEQUENCE_NODE)
        return fail(l, -EINVAL, list, "must be a list");
    int i = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++, i++) {
        yaml_node_t *el = yaml_document_get_node(&l->doc, *it);
        char field[64];
        const char *name;
        snprintf(field, sizeof(field), "%s[%d].name", list, i);
        int rc = map_str(l, el, "name", field, &name);
        if (rc < 0)
            return rc;
        if (!name || strcmp(name, want))
            continue;
        yaml_node_t *body = map_get(l, el, inner);
        if (!body || body->type != YAML_MAPPING_NODE) {
            snprintf(field, sizeof(field), "%s[%d].%s", list, i, inner);
            return fail(l, -EINVAL, field, "missing or not a mapping");
        }
        *out = body;
        *index = i;
        return 0;
    }
    return fail(l, -ENOENT, list, "no entry named \"%s\"", want);
}

static char *resolve(struct loader *l, const char *path)
{
    if (path[0] == '/')
        return xstrdup(path);
    return xasprintf("%s/%s", l->dir, path);
}

/* Fills blob from the base64 field data_key, else from the file field
 * file_key; both absent leaves it empty. */
static int load_blob(struct loader *l, yaml_node_t *map, const char *prefix, const char *data_key,
                     const char *file_key, struct kube_blob *blob)
{
    char field[96];
    const char *data, *file;
    snprintf(field, sizeof(field), "%s.%s", prefix, data_key);
    int rc = map_str(l, map, data_key, field, &data);
    if (rc < 0)
        return rc;
    struct buf b = BUF_INIT(KUBE_CONFIG_MAX_FILE);
    if (data) {
        rc = base64_decode(&b, data, strlen(data), false);
        if (rc < 0) {
            buf_release(&b);
            return fail(l, rc, field, "%s", rc == -EMSGSIZE ? "too large" : "not valid base64");
        }
    } else {
        snprintf(field, sizeof(field), "%s.%s", prefix, file_key);
        rc = map_str(l, map, file_key, field, &file);
        if (rc < 0 || !file)
            return rc;
        if (!l->dir)
            return fail(l, -EPERM, field, "file references are not allowed here");
        char *path = resolve(l, file);
        rc = read_file(path, KUBE_CONFIG_MAX_FILE, &b);
        if (rc < 0) {
            buf_release(&b);
            rc = fail(l, rc, field, "cannot read %s: %s", path, strerror(-rc));
            free(path);
            return rc;
        }
        free(path);
    }
    if (b.len == 0) {
        buf_release(&b);
        return fail(l, -EINVAL, field, "empty");
    }
    blob->data = buf_detach(&b, &blob->len);
    return 0;
}

static int load_cluster(struct loader *l, yaml_node_t *c, int idx, struct kube_config *cfg)
{
    char prefix[48], field[96];
    const char *server, *insecure;
    snprintf(prefix, sizeof(prefix), "clusters[%d].cluster", idx);
    snprintf(field, sizeof(field), "%s.server", prefix);
    int rc = map_str(l, c, "server", field, &server);
    if (rc < 0)
        return rc;
    if (!server)
        return fail(l, -EINVAL, field, "missing");
    if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))
        return fail(l, -EINVAL, field, "not an http(s) URL");
    size_t n = strlen(server);
    while (n > 0 && server[n - 1] == '/')
        n--;
    cfg->server = xstrndup(server, n);
    snprintf(field, sizeof(field), "%s.insecure-skip-tls-verify", prefix);
    rc = map_str(l, c, "insecure-skip-tls-verify", field, &insecure);
    if (rc < 0)
        return rc;
    if (insecure && !strcmp(insecure, "true"))
        cfg->insecure = true;
    else if (insecure && strcmp(insecure, "false"))
        return fail(l, -EINVAL, field, "must be true or false");
    return load_blob(l, c, prefix, "certificate-authority-data", "certificate-authority", &cfg->ca);
}

static int load_user(struct loader *l, yaml_node_t *u, int idx, struct kube_config *cfg)
{
    char prefix[48], field[96];
    const char *token, *token_file;
    snprintf(prefix, sizeof(prefix), "users[%d].user", idx);
    snprintf(field, sizeof(field), "%s.token", prefix);
    int rc = map_str(l, u, "token", field, &token);
    if (rc < 0)
        return rc;
    snprintf(field, sizeof(field), "%s.tokenFile", prefix);
    if (!token && (rc = map_str(l, u, "tokenFile", field, &token_file)) == 0 && token_file) {
        if (!l->dir)
            return fail(l, -EPERM, field, "file references are not allowed here");
        struct buf b = BUF_INIT(KUBE_CONFIG_MAX_FILE);
        char *path = resolve(l, token_file);
        rc = read_file(path, KUBE_CONFIG_MAX_FILE, &b);
        if (rc < 0)
            rc = fail(l, rc, field, "cannot read %s: %s", path, strerror(-rc));
        free(path);
        while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
            buf_truncate(&b, b.len - 1);
        if (rc == 0)
            cfg->token = buf_detach(&b, NULL);
        buf_release(&b);
    } else if (token) {
        cfg->token = xstrdup(token);
    }
    if (rc < 0)
        return rc;
    rc = load_blob(l, u, prefix, "client-certificate-data", "client-certificate", &cfg->cert);
    if (rc == 0)
        rc = load_blob(l, u, prefix, "client-key-data", "client-key", &cfg->key);
    if (rc == 0 && (cfg->cert.len == 0) != (cfg->key.len == 0))
        rc = fail(l, -EINVAL, prefix, "client certificate and key must be given together");
    return rc;
}

static int load_doc(struct loader *l, struct kube_config *cfg)
{
    yaml_node_t *root = yaml_document_get_root_node(&l->doc);
    const char *current, *cluster, *user;
    yaml_node_t *ctx, *c, *u;
    int idx, rc;
    char field[64];

    if (!root || root->type != YAML_MAPPING_NODE)
        return fail(l, -EINVAL, NULL, "not a kubeconfig (the document is not a mapping)");
    if ((rc = map_str(l, root, "current-context", "current-context", &current)) < 0)
        return rc;
    if (!current)
        return fail(l, -EINVAL, "current-context", "missing");
    if ((rc = find_named(l, root, "contexts", "context", current, &ctx, &idx)) < 0)
        return rc;
    snprintf(field, sizeof(field), "contexts[%d].context.cluster", idx);
    if ((rc = map_str(l, ctx, "cluster", field, &cluster)) < 0)
        return rc;
    if (!cluster)
        return fail(l, -EINVAL, field, "missing");
    snprintf(field, sizeof(field), "contexts[%d].context.user", idx);
    if ((rc = map_str(l, ctx, "user", field, &user)) < 0)
        return rc;
    if ((rc = find_named(l, root, "clusters", "cluster", cluster, &c, &idx)) < 0)
        return rc;
    if ((rc = load_cluster(l, c, idx, cfg)) < 0)
        return rc;
    if (!user)
        return 0;
    if ((rc = find_named(l, root, "users", "user", user, &u, &idx)) < 0)
        return rc;
    return load_user(l, u, idx, cfg);
}

int kube_config_parse(const char *text, size_t len, const char *name, const char *dir,
                      struct kube_config *cfg, char *err, size_t errlen)
{
    struct loader l = {
        .name = name ? name : "kubeconfig", .dir = dir, .err = err, .errlen = errlen};
    yaml_parser_t parser;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    if (errlen)
        err[0] = '\0';
    if (len > KUBE_CONFIG_MAX_FILE)
        return fail(&l, -EFBIG, NULL, "larger than %d bytes", KUBE_CONFIG_MAX_FILE);
    if (!yaml_parser_initialize(&parser))
        BUG("yaml_parser_initialize");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &l.doc)) {
        rc = fail(&l, -EINVAL, NULL, "YAML error at line %zu: %s", parser.problem_mark.line + 1,
                  parser.problem ? parser.problem : "unknown");
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_parser_delete(&parser);
    rc = load_doc(&l, cfg);
    yaml_document_delete(&l.doc);
    if (rc < 0)
        kube_config_release(cfg);
    return rc;
}

int kube_config_load_file(const char *path, struct kube_config *cfg, char *err, size_t errlen)
{
    struct buf b = BUF_INIT(KUBE_CONFIG_MAX_FILE);
    memset(cfg, 0, sizeof(*cfg));
    int rc = read_file(path, KUBE_CONFIG_MAX_FILE, &b);
    if (rc < 0) {
        if (errlen)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
        buf_release(&b);
        return rc;
    }
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    rc = kube_config_parse(buf_cstr(&b), b.len, path, slash ? (slash == dir ? "/" : dir) : ".", cfg,
                           err, errlen);
    free(dir);
    buf_release(&b);
    return rc;
}

int kube_config_in_cluster(const char *prefix, struct kube_config *cfg, char *err, size_t errlen)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    const char *sa = "/var/run/secrets/kubernetes.io/serviceaccount";
    struct buf token = BUF_INIT(KUBE_CONFIG_MAX_FILE), ca = BUF_INIT(KUBE_CONFIG_MAX_FILE);
    char *path = NULL;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    if (!host || !*host || !port || !*port) {
        if (errlen)
            snprintf(err, errlen,
                     "in-cluster: KUBERNETES_SERVICE_HOST and "
                     "KUBERNETES_SERVICE_PORT must be set");
        return -ENOENT;
    }
    if (!prefix)
        prefix = "";
    path = xasprintf("%s%s/token", prefix, sa);
    if ((rc = read_file(path, KUBE_CONFIG_MAX_FILE, &token)) < 0)
        goto out;
    free(path);
    path = xasprintf("%s%s/ca.crt", prefix, sa);
    if ((rc = read_file(path, KUBE_CONFIG_MAX_FILE, &ca)) < 0)
        goto out;
    while (token.len > 0 &&
           (token.data[token.len - 1] == '\n' || token.data[token.len - 1] == '\r'))
        buf_truncate(&token, token.len - 1);
    /* An IPv6 service host needs brackets in the URL. */
    cfg->server = strchr(host, ':') ? xasprintf("https://[%s]:%s", host, port)
                                    : xasprintf("https://%s:%s", host, port);
    cfg->token = buf_detach(&token, NULL);
    cfg->ca.data = buf_detach(&ca, &cfg->ca.len);
out:
    if (rc < 0 && errlen)
        snprintf(err, errlen, "in-cluster: cannot read %s: %s", path, strerror(-rc));
    free(path);
    buf_release(&token);
    buf_release(&ca);
    return rc;
}

int kube_config_build(const char *master, const char *kubeconfig, struct kube_config *cfg,
                      char *err, size_t errlen)
{
    int rc;
    if (kubeconfig && *kubeconfig) {
        rc = kube_config_load_file(kubeconfig, cfg, err, errlen);
        if (rc == 0 && master && *master) {
            free(cfg->server);
            cfg->server = xstrdup(master);
        }
        return rc;
    }
    if (master && *master) {
        memset(cfg, 0, sizeof(*cfg));
        cfg->server = xstrdup(master);
        return 0;
    }
    return kube_config_in_cluster(NULL, cfg, err, errlen);
}
