/*
 * test_message.c - the message envelope against the reference's literal frames.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"
#include "proto/message.h"

#include "ref_frames.h"

static struct proto_message *decode_ok(const char *s)
{
    struct proto_message *m = NULL;
    const char *why = NULL;
    int rc = proto_message_decode(s, strlen(s), 0, &m, &why);
    if (rc != 0)
        fprintf(stderr, "decode failed: %s\n", why ? why : "?");
    assert_int_equal(rc, 0);
    assert_non_null(m);
    assert_null(why);
    return m;
}

static int decode_err(const void *s, size_t len, size_t max)
{
    struct proto_message *m = (struct proto_message *)1;
    const char *why = NULL;
    int rc = proto_message_decode(s, len, max, &m, &why);
    assert_true(rc < 0);
    assert_null(m);
    assert_non_null(why);
    return rc;
}

/* Encodes m and checks the trailing "\n"; returns the JSON without it. */
static char *encode_ok(const struct proto_message *m)
{
    struct buf b = BUF_INIT(PROTO_MESSAGE_MAX_DEFAULT);
    int n = proto_message_encode(m, 0, &b);
    assert_true(n > 0);
    assert_int_equal((size_t)n, b.len);
    assert_int_equal(b.data[b.len - 1], '\n');
    buf_truncate(&b, b.len - 1);
    return buf_detach(&b, NULL);
}

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    assert_non_null(v);
    return v;
}

/* Go's omitempty: remove "" route fields (the §2.4 ping has them). */
static void drop_empty_strings(json_t *obj)
{
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(obj, tmp, key, v)
    {
        if (json_is_string(v) && json_string_length(v) == 0)
            json_object_del(obj, key);
    }
}

/* Every reference frame decodes, re-encodes to equal JSON, and the "exact"
 * ones re-encode byte for byte (Go's key order and omitempty rules). */
static void test_reference_frames_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(REF_FRAMES); i++) {
        const struct ref_frame *f = &REF_FRAMES[i];
        struct proto_message *m = decode_ok(f->json);
        char *out = encode_ok(m);
        json_t *want = parse(f->json);
        json_t *got = parse(out);
        if (!f->exact)
            drop_empty_strings(json_object_get(want, "route"));
        if (!json_equal(want, got))
            fail_msg("%s: re-encoding differs:\n%s\n%s", f->name, f->json, out);
        if (f->exact && strcmp(out, f->json) != 0)
            fail_msg("%s: bytes differ:\n%s\n%s", f->name, f->json, out);

        /* Decoding with a trailing newline (the wire form) gives the same. */
        size_t len = strlen(f->json);
        char *nl = xmalloc(len + 2);
        memcpy(nl, f->json, len);
        memcpy(nl + len, "\n", 2);
        struct proto_message *m2 = decode_ok(nl);
        assert_string_equal(m2->header.msg_id, m->header.msg_id);
        assert_true(json_equal(m2->content, m->content));
        proto_message_free(m2);
        free(nl);

        json_decref(want);
        json_decref(got);
        free(out);
        proto_message_free(m);
    }
}

/* The 4.1 frames field by field; the 4.1 ack byte for byte incl. "\n". */
static void test_pod_insert_and_ack_fields(void **state)
{
    (void)state;
    struct proto_message *ins = decode_ok(REF_FRAMES[REF_FRAME_POD_INSERT].json);
    assert_string_equal(ins->header.msg_id, "be59f966-e707-4c67-874a-295f738cdfff");
    assert_int_equal(ins->header.timestamp, 1795919732981LL);
    assert_string_equal(ins->header.resourceversion, "269");
    assert_string_equal(ins->header.parent_msg_id, "");
    assert_false(ins->header.sync);
    assert_string_equal(ins->route.source, "edgecontroller");
    assert_string_equal(ins->route.group, "resource");
    assert_string_equal(ins->route.operation, "insert");
    assert_string_equal(ins->route.resource, "default/pod/nginx");
    assert_string_equal(ins->route.destination, "");
    assert_true(json_is_object(ins->content));
    assert_string_equal(json_string_value(json_object_get(ins->content, "kind")), "Pod");
    assert_true(proto_message_needs_ack(ins));

    /* Our ack of it matches the real ack apart from the fresh id and time. */
    struct proto_message *ack = proto_message_new_ack(ins);
    proto_message_set(&ack->header.msg_id, "c3fce509-3d60-40a4-93b9-5db8303b0543");
    ack->header.timestamp = 1795919732997LL;
    struct buf b = BUF_INIT(4096);
    assert_true(proto_message_encode(ack, 0, &b) > 0);
    assert_string_equal(buf_cstr(&b),
                        "{\"header\":{\"msg_id\":\"c3fce509-3d60-40a4-93b9-5db8303b0543\","
                        "\"parent_msg_id\":\"be59f966-e707-4c67-874a-295f738cdfff\","
                        "\"timestamp\":1795919732997},\"route\":{\"source\":"
                        "\"edgecontroller\",\"group\":\"resource\",\"operation\":"
                        "\"response\",\"resource\":\"default/pod/nginx\"},\"content\":"
                        "\"OK\"}\n");
    assert_false(proto_message_needs_ack(ack));
    buf_release(&b);
    proto_message_free(ack);
    proto_message_free(ins);
}

static void test_constructors(void **state)
{
    (void)state;
    struct proto_message *m =
        proto_message_new("edged", "meta", "query", "default/configmap/cm1", NULL);
    assert_int_equal(strlen(m->header.msg_id), 36);
    assert_int_equal(m->header.msg_id[14], '4');
    assert_true(m->header.timestamp > 1700000000000LL);
    assert_true(json_is_null(m->content));

    struct proto_message *resp =
        proto_message_new_response(m, json_pack("{s:s}", "kind", "ConfigMap"));
    assert_string_equal(resp->header.parent_msg_id, m->header.msg_id);
    assert_string_not_equal(resp->header.msg_id, m->header.msg_id);
    assert_string_equal(resp->route.source, "edged");
    assert_string_equal(resp->route.group, "meta");
    assert_string_equal(resp->route.operation, "response");
    assert_string_equal(resp->route.resource, "default/configmap/cm1");
    assert_string_equal(resp->header.resourceversion, "");

    struct proto_message *err = proto_message_new_error(m, "boom");
    assert_string_equal(err->route.source, "metamanager");
    assert_string_equal(err->route.group, "meta");
    assert_string_equal(err->route.operation, "error");
    assert_string_equal(err->route.resource, "default/configmap/cm1");
    assert_string_equal(json_string_value(err->content), "boom");
    assert_string_equal(err->header.parent_msg_id, m->header.msg_id);

    /* sync and type are encoded when set; destination too. */
    m->header.sync = true;
    proto_message_set(&m->header.type, "t");
    proto_message_set(&m->route.destination, "d");
    char *out = encode_ok(m);
    assert_non_null(strstr(out, ",\"sync\":true,\"type\":\"t\"},"));
    assert_non_null(strstr(out, "{\"source\":\"edged\",\"destination\":\"d\",\"group\""));
    assert_non_null(strstr(out, "\"content\":null}"));
    struct proto_message *back = decode_ok(out);
    assert_true(back->header.sync);
    assert_string_equal(back->header.type, "t");
    assert_string_equal(back->route.destination, "d");
    free(out);

    proto_message_free(back);
    proto_message_free(err);
    proto_message_free(resp);
    proto_message_free(m);
}

static void test_minimal_and_absent_content(void **state)
{
    (void)state;
    /* content missing -> null; route may be empty; timestamp 0 is kept. */
    struct proto_message *m =
        decode_ok("{\"header\":{\"msg_id\":\"\",\"timestamp\":0},\"route\":{}}");
    assert_true(json_is_null(m->content));
    char *out = encode_ok(m);
    assert_string_equal(
        out, "{\"header\":{\"msg_id\":\"\",\"timestamp\":0},\"route\":{},\"content\":null}");
    free(out);
    proto_message_free(m);

    /* Key order does not matter; unknown keys and nulls are ignored. */
    m = decode_ok(" {\"content\":[1,\"x\",null],\"extra\":1,\"route\":{\"resource\":\"node\","
                  "\"group\":null},\"header\":{\"timestamp\":-5,\"type\":null,\"msg_id\":\"a\","
                  "\"sync\":false}}\r\n\t ");
    assert_int_equal(m->header.timestamp, -5);
    assert_string_equal(m->route.resource, "node");
    assert_string_equal(m->route.group, "");
    assert_true(json_is_array(m->content));
    proto_message_free(m);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "\"str\"",
        "null",
        "{\"header\":{\"msg_id\":\"a\",\"timestamp\":1},\"route\":{}",      /* truncated */
        "{\"header\":{\"msg_id\":\"a\",\"timestamp\":1},\"route\":{}} x",   /* trailing data */
        "{\"route\":{\"operation\":\"keepalive\"},\"content\":\"ping\"}",   /* no header */
        "{\"header\":[],\"route\":{}}",                                     /* header not object */
        "{\"header\":{\"msg_id\":\"a\",\"timestamp\":1}}",                  /* no route */
        "{\"header\":{\"msg_id\":\"a\",\"timestamp\":1},\"route\":\"r\"}",  /* route not object */
        "{\"header\":{\"msg_id\":\"a\",\"timestamp\":\"1\"},\"route\":{}}", /* timestamp string */
        "{\"header\":{\"msg_id\":\"a\",\"timestamp\":1.5},\"route\":{}}",   /* timestamp real */
        "{\"header\":{\"msg_id\":\"a\"},\"route\":{}}",                     /* no timestamp */
        "{\"header\":{\"timestamp\":1},\"route\":{}}",                      /* no msg_id */
        "{\"header\":{\"msg_id\":1,\"timestamp\":1},\"route\":{}}",         /* msg_id number */
        "{\"header\":{\"msg_id\":\"a\",\"timestamp\":1,\"sync\":1},\"route\":{}}",
        "{\"header\":{\"msg_id\":\"a\",\"timestamp\":1,\"parent_msg_id\":{}},\"route\":{}}",
        "{\"header\":{\"msg_id\":\"a\",\"timestamp\":1},\"route\":{\"resource\":7}}",
        "{\"header\":{\"msg_id\":\"a\\u0000b\",\"timestamp\":1},\"route\":{}}", /* escaped NUL */
        "{\"header\":{\"msg_id\":\"\\xff\",\"timestamp\":1},\"route\":{}}",     /* bad UTF-8 */
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (decode_err(bad[i], strlen(bad[i]), 0) != -EPROTO)
            fail_msg("case %zu: not -EPROTO: %s", i, bad[i]);
    }

    /* A raw NUL byte inside a string and after the object. */
    static const char nul_in[] = "{\"header\":{\"msg_id\":\"a\0b\",\"timestamp\":1},\"route\":{}}";
    assert_int_equal(decode_err(nul_in, sizeof(nul_in) - 1, 0), -EPROTO);
    static const char nul_after[] =
        "{\"header\":{\"msg_id\":\"a\",\"timestamp\":1},\"route\":{}}\0";
    assert_int_equal(decode_err(nul_after, sizeof(nul_after) - 1, 0), -EPROTO);
}

static void test_no_read_past_len(void **state)
{
    (void)state;
    /* A valid message followed by garbage that is not part of len. */
    static const char s[] = "{\"header\":{\"msg_id\":\"a\",\"timestamp\":1},\"route\":{}}GARBAGE";
    size_t len = strlen(s) - strlen("GARBAGE");
    char *exact = xmalloc(len); /* ASan catches any read past len */
    memcpy(exact, s, len);
    struct proto_message *m = NULL;
    assert_int_equal(proto_message_decode(exact, len, 0, &m, NULL), 0);
    proto_message_free(m);
    /* Truncated at every length: never succeeds, never reads past. */
    for (size_t n = 0; n < len; n++) {
        char *part = xmalloc(n ? n : 1);
        memcpy(part, s, n);
        assert_int_equal(proto_message_decode(part, n, 0, &m, NULL), -EPROTO);
        free(part);
    }
    free(exact);
}

static void test_size_cap(void **state)
{
    (void)state;
    const char *s = REF_FRAMES[REF_FRAME_POD_INSERT].json;
    size_t len = strlen(s);
    assert_int_equal(decode_err(s, len, len - 1), -EMSGSIZE);
    struct proto_message *m = NULL;
    assert_int_equal(proto_message_decode(s, len, len, &m, NULL), 0);

    /* Encode: the cap counts the "\n"; out is untouched on failure. */
    struct buf b = BUF_INIT(PROTO_MESSAGE_MAX_DEFAULT);
    assert_int_equal(buf_append_str(&b, "prefix"), 0);
    assert_int_equal(proto_message_encode(m, len, &b), -EMSGSIZE);
    assert_string_equal(buf_cstr(&b), "prefix");
    assert_int_equal(proto_message_encode(m, len + 1, &b), (int)len + 1);
    assert_int_equal(b.len, 6 + len + 1);
    /* The buf's own max applies as well. */
    struct buf small = BUF_INIT(100);
    assert_int_equal(proto_message_encode(m, 0, &small), -EMSGSIZE);
    assert_int_equal(small.len, 0);
    buf_release(&small);
    buf_release(&b);

    /* Over the 12 MiB default: rejected before parsing. */
    size_t big = PROTO_MESSAGE_MAX_DEFAULT + 1;
    char *huge = xmalloc(big);
    memset(huge, ' ', big);
    assert_int_equal(decode_err(huge, big, 0), -EMSGSIZE);
    free(huge);

    /* Invalid UTF-8 set by a caller is refused, not written. */
    proto_message_set(&m->route.resource, "\xff");
    struct buf c = BUF_INIT(PROTO_MESSAGE_MAX_DEFAULT);
    assert_int_equal(proto_message_encode(m, 0, &c), -EINVAL);
    assert_int_equal(c.len, 0);
    buf_release(&c);
    proto_message_free(m);
}

static char *nested(int depth, const char *open, const char *close)
{
    struct buf b = BUF_INIT(1 << 20);
    buf_append_str(&b, "{\"header\":{\"msg_id\":\"a\",\"timestamp\":1},\"route\":{},\"content\":");
    for (int i = 0; i < depth; i++)
        buf_append_str(&b, open);
    buf_append_str(&b, "1");
    for (int i = 0; i < depth; i++)
        buf_append_str(&b, close);
    buf_append_str(&b, "}");
    return buf_detach(&b, NULL);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    /* The root is depth 1, so content may nest MAX_DEPTH - 1 levels. */
    char *ok = nested(PROTO_MESSAGE_MAX_DEPTH - 1, "[", "]");
    struct proto_message *m = decode_ok(ok);
    proto_message_free(m);
    free(ok);

    char *deep = nested(PROTO_MESSAGE_MAX_DEPTH, "{\"a\":", "}");
    assert_int_equal(decode_err(deep, strlen(deep), 0), -EPROTO);
    free(deep);
    char *deeper = nested(100000, "[", "]");
    assert_int_equal(decode_err(deeper, strlen(deeper), 0), -EPROTO);
    free(deeper);

    /* Brackets inside strings (and escaped quotes) do not count. */
    struct buf b = BUF_INIT(1 << 20);
    buf_append_str(&b, "{\"header\":{\"msg_id\":\"\\\"[[[[\",\"timestamp\":1},\"route\":{},"
                       "\"content\":\"");
    for (int i = 0; i < 1000; i++)
        buf_append_str(&b, "[{");
    buf_append_str(&b, "\"}");
    m = decode_ok(buf_cstr(&b));
    assert_string_equal(m->header.msg_id, "\"[[[[");
    proto_message_free(m);
    buf_release(&b);
}

/* Content strings and numbers are written the way Go's encoding/json does. */
static void test_go_escaping(void **state)
{
    (void)state;
    struct proto_message *m =
        decode_ok("{\"header\":{\"msg_id\":\"<&>\",\"timestamp\":1},\"route\":{},\"content\":"
                  "[\"a<b>&c\",\"q\\\"b\\\\s/\",\"\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f\","
                  "\"\u2028\u2029\u00e9\u20ac\U0001f600\",1.5,1.0,-0.0,1e300,0.1,12345678901234567,"
                  "-9223372036854775808,true,false,null,{},[]]}");
    char *out = encode_ok(m);
    assert_string_equal(
        out,
        "{\"header\":{\"msg_id\":\"\\u003c\\u0026\\u003e\",\"timestamp\":1},\"route\":{},"
        "\"content\":[\"a\\u003cb\\u003e\\u0026c\",\"q\\\"b\\\\s/\","
        "\"\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\x7f\",\"\\u2028\\u2029\u00e9\u20ac\U0001f600\","
        "1.5,1.0,-0.0,1e+300,0.1,12345678901234567,-9223372036854775808,true,false,null,"
        "{},[]]}");
    struct proto_message *back = decode_ok(out);
    assert_true(json_equal(back->content, m->content));
    proto_message_free(back);
    free(out);

    /* Caller-built content deeper than the cap is refused. */
    json_t *deep = json_array();
    json_t *cur = deep;
    for (int i = 0; i < PROTO_MESSAGE_MAX_DEPTH; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    proto_message_set_content(m, deep);
    struct buf b = BUF_INIT(PROTO_MESSAGE_MAX_DEFAULT);
    assert_int_equal(proto_message_encode(m, 0, &b), -EINVAL);
    assert_int_equal(b.len, 0);
    buf_release(&b);
    proto_message_free(m);
}

static struct proto_message *msg(const char *source, const char *group, const char *op,
                                 const char *resource, json_t *content)
{
    return proto_message_new(source, group, op, resource, content);
}

static void expect_ack(bool want, struct proto_message *m)
{
    if (proto_message_needs_ack(m) != want)
        fail_msg("needs_ack(%s %s %s %s) != %d", m->route.source, m->route.group,
                 m->route.operation, m->route.resource, want);
    proto_message_free(m);
}

static void test_needs_ack(void **state)
{
    (void)state;
    json_t *pod = json_pack("{s:{s:s}}", "metadata", "uid", "u1");
    /* Ack queue: object inserts/updates/deletes and object-carrying responses. */
    expect_ack(true, msg("edgecontroller", "resource", "insert", "node/n1/default/pod/nginx",
                         json_incref(pod)));
    expect_ack(true, msg("edgecontroller", "resource", "update", "default/configmap/cm1", NULL));
    expect_ack(true, msg("edgecontroller", "resource", "response", "node/n1/default/configmap/cm1",
                         json_incref(pod)));
    expect_ack(true, msg("dynamiccontroller", "resource", "update", "node/n1/default/pod/x", NULL));
    expect_ack(true, msg("edgecontroller", "resource", "delete", "node/n1/default/secret/s", NULL));

    /* No-ack: substrings of the resource. */
    expect_ack(false, msg("edgecontroller", "resource", "update", "node/n1/default/podlist", NULL));
    expect_ack(false, msg("devicecontroller", "twin", "update", "node/n1/membership/detail", NULL));
    expect_ack(false, msg("devicecontroller", "twin", "update", "node/n1/device/twin/cloud_updated",
                          NULL));
    expect_ack(false, msg("edgecontroller", "resource", "response",
                          "node/n1/default/serviceaccounttoken/sa", json_incref(pod)));
    /* Operations, group, source. */
    expect_ack(false,
               msg("cloudhub", "resource", "createvolume", "node/n1/default/volume/v", NULL));
    expect_ack(false, msg("cloudhub", "resource", "controllerunpublishvolume", "node/n1/x/volume/v",
                          NULL));
    expect_ack(false, msg("dynamiccontroller", "resource", "applicationResponse",
                          "node/n1/ignore/Application/ignore", json_incref(pod)));
    expect_ack(false, msg("router", "user", "insert", "node/n1/a/b/c", NULL));
    expect_ack(false, msg("nodeupgradejobcontroller", "x", "upgrade", "node/n1/a/b/c", NULL));
    /* Responses: "OK" and errors are no-ack; other strings are not. */
    expect_ack(false, msg("metamanager", "resource", "response", "node/n1/default/configmap/c",
                          json_string("OK")));
    expect_ack(false, msg("metamanager", "resource", "response", "node/n1/default/configmap/c",
                          json_pack("{s:{s:i}}", "ErrStatus", "code", 404)));
    expect_ack(false, msg("metamanager", "resource", "response", "node/n1/default/configmap/c",
                          json_object()));
    expect_ack(true, msg("metamanager", "resource", "response", "node/n1/default/configmap/c",
                         json_string("ok")));
    /* edgecontroller resource types, in both resource forms. */
    static const char *const types[] = {"node", "lease", "nodepatch", "podpatch", "podstatus"};
    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        char cloud[128], wire[128];
        snprintf(cloud, sizeof(cloud), "node/n1/default/%s/x", types[i]);
        snprintf(wire, sizeof(wire), "default/%s/x", types[i]);
        expect_ack(false, msg("edgecontroller", "resource", "update", cloud, NULL));
        expect_ack(false, msg("edgecontroller", "resource", "update", wire, NULL));
        expect_ack(true, msg("synccontroller", "resource", "update", cloud, NULL));
    }
    expect_ack(false, msg("edgecontroller", "resource", "response", "node/n1/default/pod/x",
                          json_incref(pod)));
    expect_ack(false, msg("edgecontroller", "resource", "delete", "namespace/node/n1", NULL));
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_frames_round_trip),
        cmocka_unit_test(test_pod_insert_and_ack_fields),
        cmocka_unit_test(test_constructors),
        cmocka_unit_test(test_minimal_and_absent_content),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_no_read_past_len),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_go_escaping),
        cmocka_unit_test(test_needs_ack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
