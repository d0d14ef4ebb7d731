/*
 * kubeclient_watch.c - streamed watch requests.
 *
 * The body of a watch is one JSON WatchEvent per line ({"type":..,"object":..}).
 * curl hands us arbitrary chunks; they are split on '\n' into a line buffer
 * bounded by max_line and each complete line is decoded and delivered from
 * inside curl's write callback. An ERROR event (a Status, 410 Expired/Gone
 * when the resourceVersion is too old) ends the watch: the write callback
 * returns 0 so curl aborts the transfer, and the end callback reports it.
 */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "net/kubeclient.h"
#include "net/kubeclient_impl.h"

struct kube_watch {
    struct kube_req req; /* first: the transport frees the watch through it */
    struct buf line;
    kube_event_cb on_event;
    kube_watch_end_cb on_end;
    void *arg;
    int end_err;         /* set when the stream itself ended the watch */
    json_t *error_event; /* the Status of an ERROR event */
};

void kube_watch_release(struct kube_watch *w)
{
    buf_release(&w->line);
    json_decref(w->error_event);
}

/* Decodes and delivers one line; < 0 ends the watch (w->end_err set). */
static int deliver_line(struct kube_watch *w)
{
    const char *s = buf_cstr(&w->line);
    size_t n = w->line.len;
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    if (n == 0)
        return 0;
    json_t *ev = json_loadb(s, n, 0, NULL);
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    if (!type || !json_is_object(obj)) {
        json_decref(ev);
        w->end_err = -EPROTO;
        return -1;
    }
    if (!strcmp(type, "ERROR")) {
        w->error_event = json_incref(obj);
        json_decref(ev);
        w->end_err = -EREMOTEIO;
        return -1;
    }
    if (w->on_event)
        w->on_event(w, type, obj, w->arg);
    json_decref(ev);
    return 0;
}

size_t kube_watch_write(struct kube_watch *w, const char *data, size_t len)
{
    long code = 0;
    curl_easy_getinfo(w->req.easy, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        /* A refused watch: keep the body for its Status. */
        if (buf_append(&w->req.resp, data, len) < 0) {
            w->req.too_large = true;
            return 0;
        }
        return len;
    }
    size_t off = 0;
    while (off < len) {
        const char *nl = memchr(data + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (data + off)) : len - off;
        if (buf_append(&w->line, data + off, n) < 0) {
            w->end_err = -EMSGSIZE;
            return 0;
        }
        off += n;
        if (!nl)
            break;
        off++;
        int rc = deliver_line(w);
        buf_clear(&w->line);
        if (rc < 0 || w->req.cancelled)
            return 0;
    }
    return len;
}

void kube_watch_complete(struct kube_watch *w, int err)
{
    struct kube_status st = {0, "", ""};
    json_t *body = NULL;
    if (err != -ECANCELED && w->end_err) {
        err = w->end_err;
        if (w->error_event)
            kube_status_from(w->error_event, 0, &st);
    } else if (err == 0) {
        long code = 0;
        curl_easy_getinfo(w->req.easy, CURLINFO_RESPONSE_CODE, &code);
        if (code != 200) {
            err = -EREMOTEIO;
            if (w->req.resp.len)
                body = json_loadb(w->req.resp.data, w->req.resp.len, 0, NULL);
            kube_status_from(body, (int)code, &st);
        }
    }
    kube_watch_end_cb cb = w->on_end;
    w->on_end = NULL;
    w->on_event = NULL;
    if (cb)
        cb(w, err, &st, w->arg);
    json_decref(body);
}

struct kube_watch *kube_watch_start(struct kube_client *c, const char *path,
                                    const char *resource_version, kube_event_cb on_event,
                                    kube_watch_end_cb on_end, void *arg)
{
    struct buf p = BUF_INIT(64 * 1024);
    int rc =
        buf_printf(&p, "%s%cwatch=1&allowWatchBookmarks=true", path, strchr(path, '?') ? '&' : '?');
    if (rc == 0 && resource_version && resource_version[0]) {
        rc = buf_append_str(&p, "&resourceVersion=");
        if (rc == 0)
            rc = kube_escape(&p, resource_version);
    }
    if (rc < 0)
        BUG("watch path over 64 KiB");
    struct kube_watch *w =
        (struct kube_watch *)kube_req_new(c, sizeof(*w), "GET", buf_cstr(&p), NULL, NULL, 0);
    buf_release(&p);
    w->req.watch = w;
    buf_init(&w->line, c->opt.max_line);
    w->on_event = on_event;
    w->on_end = on_end;
    w->arg = arg;
    kube_req_submit(&w->req);
    return w;
}

void kube_watch_stop(struct kube_watch *w)
{
    kube_req_cancel(&w->req);
}
