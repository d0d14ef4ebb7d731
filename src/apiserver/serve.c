#include "apiserver/serve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "apiserver/status.h"
#include "apiserver/tokenrequest.h"
#include "apiserver/watch.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"

#define TOKEN_FILE_MAX (1024 * 1024)
#define TOKENS_MAX     1024
#define TARGET_MAX     (16 * 1024)
#define WATCH_MIN_S    1800 /* kube-apiserver's --min-request-timeout */

struct api_server {
    uv_loop_t *loop;
    struct api *api;
    struct store *store;
    struct http_server *http;
    uv_check_t flush;
    char **tokens;
    size_t n_tokens;
    const struct satoken_issuer *issuer;
    bool anonymous;
    size_t max_watchers;
    size_t watchers;
    api_server_intercept_cb intercept;
    void *intercept_arg;
};

/* A write's answer, held until the store has committed it. */
struct pending {
    struct http_request *req; /* NULL once the client went away */
    int code;
    char *body;
    size_t len;
};

/* A watch being streamed. Freed from its timer's close callback only. */
struct stream {
    struct api_server *srv;
    struct http_request *req; /* NULL once ended or gone */
    struct api_watch *watch;
    uv_timer_t timer;
    bool closing;
    bool abort; /* end by abandoning the stream (slow client) */
};

/* ---- authentication ---- */

static int load_tokens(struct api_server *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        log_error("cannot read the token file", "path=%s err=%s", path, strerror(errno));
        return -errno;
    }
    char line[4096];
    while (fgets(line, sizeof(line), f) && s->n_tokens < TOKENS_MAX) {
        size_t len = strcspn(line, ",\r\n");
        if (len == 0 || line[len] != ',')
            continue;
        s->tokens = xrealloc(s->tokens, (s->n_tokens + 1) * sizeof(*s->tokens));
        s->tokens[s->n_tokens++] = xstrndup(line, len);
    }
    fclose(f);
    return 0;
}

/* Constant-time for tokens of the same length, so that timing tells nothing
 * about a token's bytes. */
static bool token_equal(const char *a, const char *b, size_t blen)
{
    return strlen(a) == blen && CRYPTO_memcmp(a, b, blen) == 0;
}

static bool authenticated(struct api_server *s, struct http_request *req)
{
    if (s->anonymous || http_request_peer_cn(req))
        return true;
    const char *auth = http_request_header(req, "authorization");
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *tok = auth + 7;
    size_t len = strlen(tok);
    bool ok = false;
    for (size_t i = 0; i < s->n_tokens; i++)
        ok |= token_equal(s->tokens[i], tok, len);
    /* Only what looks like a JWT costs a signature check and a store read. */
    if (ok || !s->issuer || len > SATOKEN_MAX || !memchr(tok, '.', len))
        return ok;
    struct api_user user;
    int e = api_token_authenticate(s->store, s->issuer, tok, len, clock_realtime_ns() / 1000000000,
                                   &user);
    if (e < 0) {
        log_debug("service account token refused", "err=%d", e);
        return false;
    }
    log_debug("service account token", "user=%s", user.name);
    api_user_release(&user);
    return true;
}

/* ---- answers ---- */

static void respond_json(struct http_request *req, int code, json_t *json)
{
    char *text = json_dumps(json, JSON_COMPACT);
    if (!text) {
        http_respond(req, 500, "text/plain", "cannot encode the response\n", 27);
        return;
    }
    http_respond(req, code, "application/json", text, strlen(text));
    free(text);
}

static void respond_status(struct http_request *req, json_t *status)
{
    respond_json(req, api_status_code(status), status);
    json_decref(status);
}

/* Bodies of the answers the HTTP server makes itself: a Status for 413. */
static char *error_body(int status, const char **type, void *arg)
{
    (void)arg;
    if (status != 413)
        return NULL;
    json_t *st = api_status_too_large("the request body is over the limit");
    char *text = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    *type = "application/json";
    return text;
}

static void pending_gone(struct http_request *req, void *arg)
{
    (void)req;
    struct pending *p = arg;
    p->req = NULL;
}

static void pending_committed(void *arg, int status)
{
    struct pending *p = arg;
    if (p->req) {
        http_request_on_close(p->req, NULL, NULL);
        if (status == 0) {
            http_respond(p->req, p->code, "application/json", p->body, p->len);
        } else {
            log_error("store commit failed", "err=%d", status);
            respond_status(p->req, api_status_internal("the write could not be committed"));
        }
    }
    free(p->body);
    free(p);
}

/* ---- watches ---- */

static void stream_free(uv_handle_t *h)
{
    struct stream *st = h->data;
    api_watch_free(st->watch);
    free(st);
}

/* Ends the stream (if still open) and frees everything a loop turn later. */
static void stream_close(struct stream *st)
{
    if (st->closing)
        return;
    st->closing = true;
    /* Counted here, not in stream_free(): when api_server_free() ends the
     * streams, the server is freed before the timers' close callbacks run. */
    st->srv->watchers--;
    if (st->req) {
        http_request_on_close(st->req, NULL, NULL);
        http_stream_on_drain(st->req, NULL, NULL);
        if (st->abort)
            http_stream_abort(st->req);
        else
            http_stream_end(st->req);
        st->req = NULL;
    }
    uv_timer_stop(&st->timer);
    uv_close((uv_handle_t *)&st->timer, stream_free);
}

static int stream_write(void *ctx, const char *data, size_t len)
{
    struct stream *st = ctx;
    return st->req ? http_stream_write(st->req, data, len) : -EPIPE;
}

static size_t stream_queued(void *ctx)
{
    struct stream *st = ctx;
    return st->req ? http_stream_queued(st->req) : 0;
}

static void stream_drained(struct http_request *req, void *arg)
{
    (void)req;
    struct stream *st = arg;
    if (!st->closing)
        api_watch_drained(st->watch);
}

static void stream_wait_drain(void *ctx)
{
    struct stream *st = ctx;
    if (st->req)
        http_stream_on_drain(st->req, stream_drained, st);
}

static void stream_done(void *ctx, int status)
{
    struct stream *st = ctx;
    if (status == -ENOBUFS && st->req) {
        /* Behind by more than the watch holds: abandon what is queued rather
         * than wait for a client that may never read it. */
        log_warn("watch: client too slow, closing its watch", "remote=%s path=%s queued=%zu",
                 http_request_remote(st->req), http_request_path(st->req),
                 http_stream_queued(st->req));
        st->abort = true;
    } else if (status < 0 && status != -EPIPE) {
        log_warn("watch ended", "path=%s err=%d", st->req ? http_request_path(st->req) : "",
                 status);
    }
    stream_close(st);
}

static const struct api_watch_io stream_io = {
    .write = stream_write,
    .queued = stream_queued,
    .wait_drain = stream_wait_drain,
    .done = stream_done,
};

static void stream_timeout(uv_timer_t *t)
{
    stream_close(t->data);
}

static void stream_gone(struct http_request *req, void *arg)
{
    (void)req;
    struct stream *st = arg;
    st->req = NULL;
    stream_close(st);
}

static void serve_watch(struct api_server *s, struct http_request *req,
                        const struct api_request *areq, struct api_response *resp)
{
    json_t *status = NULL;
    if (s->watchers >= s->max_watchers) {
        http_add_header(req, "Retry-After", "1");
        respond_status(req, api_status_unavailable("too many watches"));
        return;
    }
    struct stream *st = xcalloc(1, sizeof(*st));
    st->srv = s;
    st->req = req;
    st->watch = api_watch_new(s->store, resp->res, &resp->info, api_wants_table(areq->accept),
                              &stream_io, st, &status);
    if (!st->watch) {
        free(st);
        respond_status(req, status);
        return;
    }
    s->watchers++;
    uint64_t timeout = resp->info.query.has_timeout && resp->info.query.timeout_seconds > 0
                           ? (uint64_t)resp->info.query.timeout_seconds
                           : 0;
    if (timeout == 0) {
        unsigned char r;
        random_bytes(&r, 1);
        timeout = WATCH_MIN_S + (uint64_t)r * WATCH_MIN_S / 256;
    }
    uv_timer_init(s->loop, &st->timer);
    st->timer.data = st;
    uv_timer_start(&st->timer, stream_timeout, timeout * 1000, 0);
    http_request_on_close(req, stream_gone, st);
    http_stream_begin(req, 200, "application/json");
    api_watch_begin(st->watch);
}

/* ---- requests ---- */

void api_server_serve(struct api_server *s, struct http_request *req)
{
    struct api_response resp;
    size_t body_len = 0;
    const void *body = http_request_body(req, &body_len);
    const char *query = http_request_query(req);
    char *target = *query ? xasprintf("%s?%s", http_request_path(req), query)
                          : xstrdup(http_request_path(req));
    struct api_request areq = {
        .method = http_request_method(req),
        .target = target,
        .accept = http_request_header(req, "accept"),
        .content_type = http_request_header(req, "content-type"),
        .body = body,
        .body_len = body_len,
    };
    api_handle(s->api, &areq, &resp);
    if (resp.watch) {
        serve_watch(s, req, &areq, &resp);
    } else if (resp.wait_commit) {
        struct pending *p = xcalloc(1, sizeof(*p));
        p->req = req;
        p->code = resp.code;
        p->body = resp.json ? json_dumps(resp.json, JSON_COMPACT) : xstrdup("{}");
        p->len = strlen(p->body);
        http_request_on_close(req, pending_gone, p);
        store_on_commit(s->store, pending_committed, p);
    } else if (resp.json) {
        respond_json(req, resp.code, resp.json);
    } else {
        http_respond(req, resp.code, resp.content_type, resp.text ? resp.text : "",
                     resp.text ? resp.text_len : 0);
    }
    api_response_release(&resp);
    free(target);
}

/* Offers the request to the intercept callback; true when it took it. */
static bool intercepted(struct api_server *s, struct http_request *req)
{
    struct api_request_info info;
    char err[256];
    size_t body_len = 0;
    const void *body = http_request_body(req, &body_len);
    const char *query = http_request_query(req);
    char *target = *query ? xasprintf("%s?%s", http_request_path(req), query)
                          : xstrdup(http_request_path(req));
    bool taken = false;

    if (api_request_info_parse(http_request_method(req), target, &info, err, sizeof(err)) == 0) {
        struct api_request areq = {
            .method = http_request_method(req),
            .target = target,
            .accept = http_request_header(req, "accept"),
            .content_type = http_request_header(req, "content-type"),
            .body = body,
            .body_len = body_len,
        };
        taken = s->intercept(s, req, &areq, &info, s->intercept_arg);
        api_request_info_release(&info);
    }
    free(target);
    return taken;
}

static void handle(struct http_request *req, void *arg)
{
    struct api_server *s = arg;

    if (!authenticated(s, req)) {
        respond_status(req, api_status_unauthorized("Unauthorized"));
        return;
    }
    if (s->intercept && intercepted(s, req))
        return;
    api_server_serve(s, req);
}

static void flush_store(uv_check_t *h)
{
    struct api_server *s = h->data;
    if (store_has_pending(s->store))
        store_flush(s->store);
}

struct api_server *api_server_new(uv_loop_t *loop, struct api *api, struct store *store,
                                  const struct api_server_options *o)
{
    struct api_server *s = xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->api = api;
    s->store = store;
    s->anonymous = o->anonymous;
    s->issuer = o->token_issuer;
    s->max_watchers = o->max_watchers ? o->max_watchers : 10000;
    s->intercept = o->intercept;
    s->intercept_arg = o->intercept_arg;
    if (o->token_file && load_tokens(s, o->token_file) < 0)
        goto fail;
    struct http_server_options ho = {
        .address = o->address,
        .port = o->port,
        .tls = o->tls,
        .cert_path = o->cert_file,
        .key_path = o->key_file,
        .ca_path = o->client_ca_file,
        .client_cert = o->client_ca_file ? HTTP_CLIENT_CERT_OPTIONAL : HTTP_CLIENT_CERT_NONE,
        .max_body = o->max_body,
        .http1_only = !o->http2,
        .handler = handle,
        .arg = s,
        .error_body = error_body,
    };
    s->http = http_server_new(loop, &ho);
    if (!s->http)
        goto fail;
    uv_check_init(loop, &s->flush);
    s->flush.data = s;
    uv_check_start(&s->flush, flush_store);
    return s;
fail:
    for (size_t i = 0; i < s->n_tokens; i++)
        free(s->tokens[i]);
    free(s->tokens);
    free(s);
    return NULL;
}

static void free_after_close(uv_handle_t *h)
{
    free(h->data);
}

void api_server_free(struct api_server *s)
{
    if (!s)
        return;
    http_server_free(s->http);
    for (size_t i = 0; i < s->n_tokens; i++)
        free(s->tokens[i]);
    free(s->tokens);
    uv_check_stop(&s->flush);
    s->flush.data = s;
    uv_close((uv_handle_t *)&s->flush, free_after_close);
}

int api_server_port(const struct api_server *s)
{
    return http_server_port(s->http);
}
