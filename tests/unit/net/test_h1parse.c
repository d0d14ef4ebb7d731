/*
 * test_h1parse.c - the HTTP/1.1 request parser (net/h1.h) on its own: valid
 * requests fed whole and byte by byte, bodies by length and chunked,
 * pipelining, and the strictness rules (bare CR/LF, obs-fold, bad tokens,
 * duplicate or conflicting lengths, oversized heads).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "net/h1.h"

struct result {
    int requests; /* H1_DONE seen */
    int status;   /* after H1_ERROR, else 0 */
    char method[16];
    char target[256];
    char bodies[4][256]; /* body of each request */
    bool keep_alive;
    bool expect_continue;
    bool upgrade;
    char host[64];
};

/*
 * Feeds in to a parser step pieces at a time (step 0: all at once), as a
 * connection would, keeping the unconsumed bytes.
 */
static void run(const char *in, size_t len, size_t step, size_t max_header, struct result *r)
{
    struct h1_parser p;
    struct buf pending = BUF_INIT(1 << 20);
    size_t fed = 0;

    memset(r, 0, sizeof(*r));
    h1_init(&p, max_header);
    while (r->status == 0) {
        size_t used, dlen;
        const char *data;
        enum h1_event ev = h1_parse(&p, buf_cstr(&pending), pending.len, &used, &data, &dlen);
        switch (ev) {
        case H1_AGAIN:
            buf_consume(&pending, used);
            if (used)
                continue;
            if (fed == len)
                goto out;
            size_t n = step && len - fed > step ? step : len - fed;
            assert_int_equal(buf_append(&pending, in + fed, n), 0);
            fed += n;
            continue;
        case H1_ERROR:
            r->status = p.status;
            goto out;
        case H1_HEADERS: {
            snprintf(r->method, sizeof(r->method), "%s", p.method);
            snprintf(r->target, sizeof(r->target), "%s", buf_cstr(&p.target));
            const char *h = h1_header(&p, "host");
            snprintf(r->host, sizeof(r->host), "%s", h ? h : "");
            r->keep_alive = p.keep_alive;
            r->expect_continue = p.expect_continue;
            r->upgrade = p.conn_upgrade;
            break;
        }
        case H1_BODY:
            if (r->requests < 4) {
                size_t have = strlen(r->bodies[r->requests]);
                assert_true(have + dlen < sizeof(r->bodies[0]));
                memcpy(r->bodies[r->requests] + have, data, dlen);
            }
            break;
        case H1_DONE:
            r->requests++;
            h1_reset(&p);
            break;
        }
        buf_consume(&pending, used);
    }
out:
    buf_release(&pending);
    h1_release(&p);
}

/* Runs whole, byte by byte and 7 at a time; the results must agree. */
static void parse(const char *in, struct result *r)
{
    struct result a, b;
    size_t len = strlen(in);

    run(in, len, 0, 8192, r);
    run(in, len, 1, 8192, &a);
    run(in, len, 7, 8192, &b);
    assert_int_equal(r->requests, a.requests);
    assert_int_equal(r->requests, b.requests);
    assert_int_equal(r->status, a.status);
    assert_int_equal(r->status, b.status);
    assert_string_equal(r->bodies[0], a.bodies[0]);
    assert_string_equal(r->bodies[0], b.bodies[0]);
}

static void test_simple_get(void **state)
{
    (void)state;
    struct result r;

    parse("GET /a/b%20c?x=1&y=a+b%2F HTTP/1.1\r\nHost: h:1\r\nX-Empty:\r\n\r\n", &r);
    assert_int_equal(r.requests, 1);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.target, "/a/b%20c?x=1&y=a+b%2F"); /* raw */
    assert_string_equal(r.host, "h:1");
    assert_true(r.keep_alive);
}

static void test_leading_crlf_and_ows(void **state)
{
    (void)state;
    struct result r;

    parse("\r\n\r\nGET / HTTP/1.1\r\nHost:   spaced \t\r\n\r\n", &r);
    assert_int_equal(r.requests, 1);
    assert_string_equal(r.host, "spaced");
}

static void test_content_length_body(void **state)
{
    (void)state;
    struct result r;

    parse("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world", &r);
    assert_int_equal(r.requests, 1);
    assert_string_equal(r.bodies[0], "hello world");
}

static void test_chunked_body(void **state)
{
    (void)state;
    struct result r;

    parse("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          "5\r\nhello\r\n1;name=val\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n",
          &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.requests, 1);
    assert_string_equal(r.bodies[0], "hello 0123456789");
}

static void test_pipelined(void **state)
{
    (void)state;
    struct result r;

    parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
          "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
          "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
          "GET /4 HTTP/1.0\r\n\r\n",
          &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.requests, 4);
    assert_string_equal(r.bodies[0], "abc");
    assert_string_equal(r.bodies[1], "");
    assert_string_equal(r.bodies[2], "de");
    assert_string_equal(r.target, "/4");
    assert_false(r.keep_alive); /* HTTP/1.0 without keep-alive */
}

static void test_connection_tokens(void **state)
{
    (void)state;
    struct result r;

    parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
    assert_false(r.keep_alive);
    parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r);
    assert_true(r.keep_alive);
    parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\n\r\n", &r);
    assert_true(r.upgrade);
    parse("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", &r);
    assert_true(r.expect_continue);
}

static void expect_error(const char *in, int status)
{
    struct result r;
    parse(in, &r);
    assert_int_equal(r.requests, 0);
    assert_int_equal(r.status, status);
}

static void test_strictness(void **state)
{
    (void)state;
    /* The input that made lws spin: a bare CR ends the request line. */
    expect_error("POST / HTTP/1.1\r\r\nContent-Length: 5\r\n\r\nhelloGET /strx\r\n"
                 "Content-Length: 5\r\n\r\n",
                 400);
    expect_error("GET / HTTP/1.1\nHost: x\r\n\r\n", 400);                /* bare LF */
    expect_error("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400);   /* obs-fold */
    expect_error("GET / HTTP/1.1\r\nHo st: x\r\n\r\n", 400);             /* space in name */
    expect_error("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);             /* space before colon */
    expect_error("GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n", 400); /* control byte */
    expect_error("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400);              /* method token */
    expect_error("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400);             /* double space */
    expect_error("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400);
    expect_error("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    expect_error("GET / HTTP/1.1\r\n\r\n", 400);                       /* no Host */
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400); /* two */
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                 400);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1,1\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n",
                 400);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
    expect_error("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabcX\r\n",
                 400); /* data longer than its size */
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "fffffffffffffffffff\r\n",
                 400);
    expect_error("\x00GET / HTTP/1.1\r\n\r\n", 0); /* strlen stops: nothing, no request */
}

static void test_header_cap(void **state)
{
    (void)state;
    struct result r;
    char big[2048];
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %0900d\r\n\r\n", 0);

    run(big, (size_t)n, 0, 1024, &r);
    assert_int_equal(r.requests, 1);
    run(big, (size_t)n, 0, 512, &r);
    assert_int_equal(r.status, 431);
    run(big, (size_t)n, 3, 512, &r);
    assert_int_equal(r.status, 431);
    /* A head that never ends is refused at the cap, not buffered. */
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    run(big, sizeof(big), 100, 1024, &r);
    assert_int_equal(r.status, 431);
}

static void test_incomplete(void **state)
{
    (void)state;
    struct result r;

    parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", &r);
    assert_int_equal(r.requests, 0);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.bodies[0], "abc");
    parse("GET / HTTP/1.1\r\nHost: x\r\n", &r);
    assert_int_equal(r.requests, 0);
    assert_int_equal(r.status, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),          cmocka_unit_test(test_leading_crlf_and_ows),
        cmocka_unit_test(test_content_length_body), cmocka_unit_test(test_chunked_body),
        cmocka_unit_test(test_pipelined),           cmocka_unit_test(test_connection_tokens),
        cmocka_unit_test(test_strictness),          cmocka_unit_test(test_header_cap),
        cmocka_unit_test(test_incomplete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
