/*
 * kubeclient.c - libcurl multi on libuv: requests, rate limit, cancellation.
 *
 * Loop integration follows curl's MULTI-EV.md: CURLMOPT_SOCKETFUNCTION keeps
 * one uv_poll_t per socket curl cares about, CURLMOPT_TIMERFUNCTION arms one
 * uv_timer_t, and both call curl_multi_socket_action() and then collect the
 * finished transfers. curl forbids multi calls from inside its callbacks, so
 * while curl runs (c->in_curl) starting and cancelling are deferred to the
 * pump timer; the only user code curl calls into is a watch's event callback.
 *
 * A request is in exactly one list: queued (waiting for a rate-limit token),
 * active (added to the multi handle) or doomed (cancelled while curl ran).
 */
#include "net/kubeclient.h"
#include "net/kubeclient_impl.h"

#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"

struct kube_sock {
    uv_poll_t poll; /* first: the handle's memory is the sock's */
    curl_socket_t fd;
    struct kube_client *c;
};

static void list_push(struct kube_list *l, struct kube_req *r)
{
    r->list = l;
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
}

static void list_unlink(struct kube_req *r)
{
    struct kube_list *l = r->list;
    if (!l)
        return;
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->list = NULL;
    r->next = r->prev = NULL;
}

/* --- Errors and responses ----------------------------------------------- */

static int curl_to_errno(CURLcode res)
{
    switch (res) {
    case CURLE_OK:
        return 0;
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return -EHOSTUNREACH;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return -ECONNRESET;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
        return -EPROTO;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return -EINVAL;
    default:
        return -EIO;
    }
}

static const char *json_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

void kube_status_from(const json_t *obj, int http_code, struct kube_status *st)
{
    st->code = http_code;
    st->reason = "";
    st->message = "";
    if (!json_is_object(obj) || strcmp(json_str(obj, "kind"), "Status"))
        return;
    json_int_t code = json_integer_value(json_object_get(obj, "code"));
    if (code > 0 && code < 1000)
        st->code = (int)code;
    st->reason = json_str(obj, "reason");
    st->message = json_str(obj, "message");
}

/* --- Request lifecycle --------------------------------------------------- */

static void req_free(struct kube_req *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->url);
    free(r->method);
    free(r->body);
    buf_release(&r->resp);
    if (r->watch)
        kube_watch_release(r->watch);
    free(r->watch ? (void *)r->watch : (void *)r);
}

/* Takes r out of the client, runs its completion once and frees it. Not
 * while curl runs if r is active. */
static void req_finish(struct kube_req *r, int err)
{
    struct kube_client *c = r->c;
    if (r->done)
        return;
    r->done = true;
    if (r->in_multi) {
        curl_multi_remove_handle(c->multi, r->easy);
        r->in_multi = false;
    }
    list_unlink(r);
    if (r->cancelled)
        err = -ECANCELED;
    if (r->watch) {
        kube_watch_complete(r->watch, err);
    } else {
        struct kube_response resp = {.err = err, .error = "", .body = buf_cstr(&r->resp)};
        long code = 0;
        if (r->easy && err == 0)
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
        resp.code = (int)code;
        resp.len = r->resp.len;
        if (err != 0)
            resp.error = r->errbuf[0] ? r->errbuf : err_str(err);
        if (err == 0 && resp.len > 0)
            resp.object = json_loadb(resp.body, resp.len, 0, NULL);
        kube_status_from(resp.object, resp.code, &resp.status);
        kube_response_cb cb = r->cb;
        r->cb = NULL;
        if (cb)
            cb(r, &resp, r->arg);
        json_decref(resp.object);
    }
    req_free(r);
}

static void collect_done(struct kube_client *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct kube_req *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode res = msg->data.result;
        int err = curl_to_errno(res);
        if (r->too_large)
            err = -EMSGSIZE;
        req_finish(r, err);
    }
}

static void drive(struct kube_client *c, curl_socket_t fd, int flags)
{
    int running;
    c->in_curl++;
    curl_multi_socket_action(c->multi, fd, flags, &running);
    c->in_curl--;
    collect_done(c);
}

/* --- curl <-> libuv ------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h)
{
    struct kube_client *c = h->data;
    if (h->type == UV_POLL)
        free(h);
    if (--c->open_handles == 0 && c->closing) {
        kube_config_release(&c->cfg);
        free(c->by_fd);
        free(c->auth);
        free(c->user_agent);
        free(c);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct kube_sock *s = (struct kube_sock *)p;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    drive(s->c, s->fd, flags);
}

static struct kube_sock *sock_find(struct kube_client *c, curl_socket_t fd)
{
    return fd >= 0 && (size_t)fd < c->n_by_fd ? c->by_fd[fd] : NULL;
}

/* Stops polling and closes the handle. */
static void sock_close(struct kube_sock *s)
{
    struct kube_client *c = s->c;
    c->by_fd[s->fd] = NULL;
    uv_poll_stop(&s->poll);
    s->poll.data = c;
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
}

/* Sockets are close-on-exec: a daemon that forks a child (a runtime, a test
 * server) must not leak them into it. A leaked descriptor keeps the socket
 * alive after curl closes it, so epoll keeps the old socket registered under
 * a number the next connection reuses, and that connection is never polled.
 *
 * A poll handle still held for this number belongs to a socket curl closed
 * without CURL_POLL_REMOVE (it does not always say, e.g. for a connection
 * closed after its easy handle left the multi): retire it. No
 * CURLOPT_CLOSESOCKETFUNCTION: with one set, curl skips its own socket
 * bookkeeping and would not announce the next socket with the same number. */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct kube_client *c = arg;
    (void)purpose;
    curl_socket_t fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    struct kube_sock *stale = sock_find(c, fd);
    if (stale)
        sock_close(stale);
    return fd;
}

/* We keep our own fd -> sock table instead of curl_multi_assign(): an entry
 * curl forgets to remove would hand back a freed pointer. */
static int on_socket(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    struct kube_client *c = userp;
    struct kube_sock *s = sock_find(c, fd);
    (void)easy;
    (void)socketp;
    if (action == CURL_POLL_REMOVE) {
        if (s)
            sock_close(s);
        return 0;
    }
    if (fd < 0)
        return -1;
    if (!s) {
        if ((size_t)fd >= c->n_by_fd) {
            size_t n = (size_t)fd + 64;
            c->by_fd = xrealloc(c->by_fd, n * sizeof(*c->by_fd));
            memset(c->by_fd + c->n_by_fd, 0, (n - c->n_by_fd) * sizeof(*c->by_fd));
            c->n_by_fd = n;
        }
        s = xcalloc(1, sizeof(*s));
        if (uv_poll_init_socket(c->loop, &s->poll, fd) < 0) {
            free(s);
            return -1;
        }
        s->fd = fd;
        s->c = c;
        c->by_fd[fd] = s;
        c->open_handles++;
    }
    int events = 0;
    if (action & CURL_POLL_IN)
        events |= UV_READABLE;
    if (action & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, on_poll);
    return 0;
}

static void on_curl_timeout(uv_timer_t *t)
{
    drive(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct kube_client *c = userp;
    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&c->curl_timer);
    else
        uv_timer_start(&c->curl_timer, on_curl_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* --- Rate limit and start ------------------------------------------------ */

/* Token bucket: true if a token was taken, else *wait_ms until one is due. */
static bool take_token(struct kube_client *c, uint64_t *wait_ms)
{
    if (c->qps <= 0)
        return true;
    uint64_t now = clock_monotonic_ns();
    c->tokens += (double)(now - c->refill_ns) * c->qps / 1e9;
    if (c->tokens > c->burst)
        c->tokens = c->burst;
    c->refill_ns = now;
    if (c->tokens >= 1.0) {
        c->tokens -= 1.0;
        return true;
    }
    *wait_ms = (uint64_t)ceil((1.0 - c->tokens) / c->qps * 1000.0);
    return false;
}

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
    struct kube_req *r = arg;
    size_t len = size * n;
    if (r->cancelled)
        return 0;
    if (r->watch)
        return kube_watch_write(r->watch, data, len);
    if (buf_append(&r->resp, data, len) < 0) {
        r->too_large = true;
        return 0;
    }
    return len;
}

static int req_setup(struct kube_req *r)
{
    struct kube_client *c = r->c;
    CURL *e = r->easy = curl_easy_init();
    if (!e)
        return -ENOMEM;
    r->headers = curl_slist_append(r->headers, "Accept: application/json");
    r->headers = curl_slist_append(r->headers, "Expect:");
    if (c->auth)
        r->headers = curl_slist_append(r->headers, c->auth);
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opt.connect_timeout_ms);
    if (!r->watch)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->opt.timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     c->opt.http1 ? (long)CURL_HTTP_VERSION_1_1 : (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, c);
    if (c->cfg.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (c->cfg.ca.len) {
        struct curl_blob ca = {c->cfg.ca.data, c->cfg.ca.len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
    }
    if (c->cfg.cert.len) {
        struct curl_blob cert = {c->cfg.cert.data, c->cfg.cert.len, CURL_BLOB_NOCOPY};
        struct curl_blob key = {c->cfg.key.data, c->cfg.key.len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (r->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    }
    if (strcmp(r->method, "GET") && !(r->body && !strcmp(r->method, "POST")))
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
        return -EIO;
    r->in_multi = true;
    return 0;
}

static void on_pump(uv_timer_t *t)
{
    struct kube_client *c = t->data;
    while (c->doomed.head)
        req_finish(c->doomed.head, -ECANCELED);
    while (c->queued.head) {
        uint64_t wait_ms = 0;
        if (!take_token(c, &wait_ms)) {
            uv_timer_start(&c->pump_timer, on_pump, wait_ms, 0);
            return;
        }
        struct kube_req *r = c->queued.head;
        list_unlink(r);
        list_push(&c->active, r);
        int rc = req_setup(r);
        if (rc < 0)
            req_finish(r, rc);
    }
}

static void pump_soon(struct kube_client *c)
{
    if (!uv_is_active((uv_handle_t *)&c->pump_timer))
        uv_timer_start(&c->pump_timer, on_pump, 0, 0);
}

/* --- Public API ---------------------------------------------------------- */

int kube_client_new(uv_loop_t *loop, const struct kube_config *cfg,
                    const struct kube_client_options *opt, struct kube_client **out)
{
    static bool curl_ready;
    *out = NULL;
    if (!cfg->server || !cfg->server[0])
        return -EINVAL;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return -ENOMEM;
        curl_ready = true;
    }
    struct kube_client *c = xcalloc(1, sizeof(*c));
    c->loop = loop;
    if (opt)
        c->opt = *opt;
    if (!c->opt.max_response)
        c->opt.max_response = KUBE_DEFAULT_MAX_RESPONSE;
    if (!c->opt.max_line)
        c->opt.max_line = KUBE_DEFAULT_MAX_LINE;
    if (c->opt.timeout_ms <= 0)
        c->opt.timeout_ms = 60000;
    if (c->opt.connect_timeout_ms <= 0)
        c->opt.connect_timeout_ms = 10000;
    c->user_agent = xstrdup(c->opt.user_agent ? c->opt.user_agent : "cedge");
    c->opt.user_agent = NULL;
    c->qps = c->opt.qps;
    c->burst = c->opt.burst < 1 ? 1 : c->opt.burst;
    c->tokens = c->burst;
    c->refill_ns = clock_monotonic_ns();

    c->cfg.server = xstrdup(cfg->server);
    c->cfg.insecure = cfg->insecure;
    if (cfg->ca.len)
        c->cfg.ca = (struct kube_blob){xstrndup(cfg->ca.data, cfg->ca.len), cfg->ca.len};
    if (cfg->cert.len)
        c->cfg.cert = (struct kube_blob){xstrndup(cfg->cert.data, cfg->cert.len), cfg->cert.len};
    if (cfg->key.len)
        c->cfg.key = (struct kube_blob){xstrndup(cfg->key.data, cfg->key.len), cfg->key.len};
    if (cfg->token)
        c->auth = xasprintf("Authorization: Bearer %s", cfg->token);

    c->multi = curl_multi_init();
    if (!c->multi)
        BUG("curl_multi_init");
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    if (c->opt.max_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, c->opt.max_connections);
    uv_timer_init(loop, &c->curl_timer);
    uv_timer_init(loop, &c->pump_timer);
    c->curl_timer.data = c->pump_timer.data = c;
    c->open_handles = 2;
    *out = c;
    return 0;
}

void kube_client_free(struct kube_client *c)
{
    if (!c)
        return;
    if (c->in_curl)
        BUG("kube_client_free from inside a watch event callback");
    c->closing = true;
    for (;;) {
        struct kube_req *r = c->doomed.head   ? c->doomed.head
                             : c->active.head ? c->active.head
                                              : c->queued.head;
        if (!r)
            break;
        r->cancelled = true;
        req_finish(r, -ECANCELED);
    }
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    for (size_t i = 0; i < c->n_by_fd; i++)
        if (c->by_fd[i])
            sock_close(c->by_fd[i]);
    uv_timer_stop(&c->curl_timer);
    uv_timer_stop(&c->pump_timer);
    uv_close((uv_handle_t *)&c->curl_timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->pump_timer, on_handle_closed);
}

struct kube_req *kube_req_new(struct kube_client *c, size_t size, const char *method,
                              const char *path, const char *content_type, const void *body,
                              size_t len)
{
    if (c->closing)
        BUG("kube request on a client being freed");
    struct kube_req *r = xcalloc(1, size);
    r->c = c;
    r->method = xstrdup(method);
    r->url = xasprintf("%s%s%s", c->cfg.server, path[0] == '/' ? "" : "/", path);
    buf_init(&r->resp, c->opt.max_response);
    if (body) {
        r->body = xmalloc(len ? len : 1);
        memcpy(r->body, body, len);
        r->body_len = len;
    }
    if (content_type) {
        char *h = xasprintf("Content-Type: %s", content_type);
        r->headers = curl_slist_append(r->headers, h);
        free(h);
    }
    return r;
}

void kube_req_submit(struct kube_req *r)
{
    list_push(&r->c->queued, r);
    pump_soon(r->c);
}

struct kube_req *kube_request(struct kube_client *c, const char *method, const char *path_and_query,
                              const char *content_type, const void *body, size_t len,
                              kube_response_cb cb, void *arg)
{
    struct kube_req *r =
        kube_req_new(c, sizeof(*r), method, path_and_query, content_type, body, len);
    r->cb = cb;
    r->arg = arg;
    kube_req_submit(r);
    return r;
}

void kube_req_cancel(struct kube_req *r)
{
    struct kube_client *c = r->c;
    if (r->done || r->cancelled)
        return;
    r->cancelled = true;
    if (c->in_curl) {
        /* curl is on the stack: remove the transfer from the pump instead. */
        list_unlink(r);
        list_push(&c->doomed, r);
        uv_timer_start(&c->pump_timer, on_pump, 0, 0);
        return;
    }
    req_finish(r, -ECANCELED);
}
