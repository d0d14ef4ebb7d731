/*
 * testws.h - our own servers on the test's loop, for unit tests of clients:
 * the TLS WebSocket server that plays CloudHub (client certificate required,
 * certificates from testpki.h), its one server-side connection, a guard timer
 * that bounds every wait, and a blocking client run in a thread while the
 * loop serves. Test code only (static inline, like testpki.h); include it with
 * #include "../testws.h" and link libuv, pthread and cedge_net.
 */
#ifndef CEDGE_TESTS_TESTWS_H
#define CEDGE_TESTS_TESTWS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "net/http.h"
#include "net/ws.h"
#include "testpki.h"

/* A fresh directory from tmpl (copied into dir, size bytes) with the PKI of
 * a KubeEdge cloud and edge: ca.crt/.key (CN KubeEdge), srv.crt/.key (CN
 * KubeEdge, 127.0.0.1) and cli.crt/.key (CN kubeedge.io). testpki_remove(dir)
 * deletes it. */
static inline void testws_pki(char *dir, size_t size, const char *tmpl)
{
    snprintf(dir, size, "%s", tmpl);
    testpki_dir(dir);
    testpki_make(dir, "ca", "KubeEdge", "KubeEdge", "kubeedge.io");
}

/* A guard timer's callback: t->data points at a bool that it sets. */
static inline void testws_guard_cb(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

/* Every plain HTTP request: 404. */
static inline void testws_handler_404(struct http_request *req, void *arg)
{
    (void)arg;
    http_respond(req, 404, "text/plain", "no", 2);
}

/*
 * A TLS WebSocket server like CloudHub's on loop: o's address (NULL:
 * 127.0.0.1), port (0: a free one, see http_server_port()), limits, ws_accept
 * and arg, with srv.crt/srv.key of dir, client certificates signed by
 * <dir>/<ca>.crt required, HTTP/1.1 only and plain requests answered 404
 * (unless o has a handler). The test fails if it cannot be made.
 */
static inline struct http_server *testws_server(uv_loop_t *loop, const char *dir, const char *ca,
                                                struct http_server_options o)
{
    char *crt = testpki_path(dir, "srv.crt"), *key = testpki_path(dir, "srv.key");
    char *cafile = xasprintf("%s/%s.crt", dir, ca);

    if (!o.address)
        o.address = "127.0.0.1";
    o.tls = true;
    o.cert_path = crt;
    o.key_path = key;
    o.ca_path = cafile;
    o.client_cert = HTTP_CLIENT_CERT_REQUIRED;
    o.http1_only = true;
    if (!o.handler)
        o.handler = testws_handler_404;
    struct http_server *srv = http_server_new(loop, &o);
    assert_non_null(srv);
    free(crt);
    free(key);
    free(cafile);
    return srv;
}

/* The server side of one WebSocket connection at a time: accepted by
 * testws_peer_accept (ws_accept with arg = the peer), its text messages to
 * on_text(ws, data, len, peer), ws NULL again once it closed. */
struct testws_peer {
    struct ws_conn *ws;
    ws_text_cb on_text;
    void *arg; /* for on_text: the test's fixture */
};

static inline void testws_peer_close(struct ws_conn *ws, void *arg)
{
    struct testws_peer *p = arg;
    (void)ws;
    p->ws = NULL;
}

static inline int testws_peer_accept(struct ws_conn *ws, struct http_request *req, void *arg)
{
    struct testws_peer *p = arg;
    (void)req;
    p->ws = ws;
    ws_conn_set_callbacks(ws, p->on_text, testws_peer_close, p);
    return 0;
}

/* A blocking client in a thread while the loop serves: init once per loop,
 * testws_run() as often as needed, close before the loop is closed. */
struct testws_runner {
    uv_async_t done;
    uv_timer_t guard;
    bool timed_out;
    void (*fn)(void *arg);
    void *arg;
};

static inline void testws_runner_done_cb(uv_async_t *a)
{
    uv_stop(a->loop);
}

static inline void testws_runner_guard_cb(uv_timer_t *t)
{
    struct testws_runner *r = t->data;
    r->timed_out = true;
    uv_stop(t->loop);
}

static inline void testws_runner_init(struct testws_runner *r, uv_loop_t *loop)
{
    uv_async_init(loop, &r->done, testws_runner_done_cb);
    uv_timer_init(loop, &r->guard);
    r->guard.data = r;
}

static inline void testws_runner_close(struct testws_runner *r)
{
    uv_close((uv_handle_t *)&r->done, NULL);
    uv_close((uv_handle_t *)&r->guard, NULL);
}

static inline void *testws_runner_main(void *arg)
{
    struct testws_runner *r = arg;
    r->fn(r->arg);
    uv_async_send(&r->done);
    return NULL;
}

/* Starts fn(arg) in a thread *th; the loop stops once it returned. */
static inline void testws_thread(struct testws_runner *r, void (*fn)(void *), void *arg,
                                 pthread_t *th)
{
    r->fn = fn;
    r->arg = arg;
    assert_int_equal(pthread_create(th, NULL, testws_runner_main, r), 0);
}

/* Runs fn(arg) in a thread while the loop serves; returns when fn returned.
 * The test fails if that takes more than guard_ms. */
static inline void testws_run(struct testws_runner *r, uv_loop_t *loop, void (*fn)(void *),
                              void *arg, uint64_t guard_ms)
{
    pthread_t th;

    uv_timer_start(&r->guard, testws_runner_guard_cb, guard_ms, 0);
    testws_thread(r, fn, arg, &th);
    uv_run(loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    uv_timer_stop(&r->guard);
    assert_false(r->timed_out);
}

#endif
