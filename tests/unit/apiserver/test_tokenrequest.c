/*
 * TokenRequest: request parsing and validation, the subresource through
 * api_handle() on a real store, discovery, and the authentication of the
 * issued tokens (account or bound pod gone, uid changed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/api.h"
#include "apiserver/registry.h"
#include "apiserver/status.h"
#include "apiserver/tokenrequest.h"
#include "base/clock.h"
#include "base/mem.h"
#include "net/pki.h"
#include "store/store.h"

#define SA_PATH "/api/v1/namespaces/default/serviceaccounts"
#define TOKEN   SA_PATH "/app/token"

struct fx {
    char dir[64];
    struct store *store;
    struct api_registry *reg;
    struct api *api;
    EVP_PKEY *key;
    struct satoken_issuer *is;
};

struct reply {
    int code;
    json_t *json;
};

static struct reply call(struct fx *f, const char *method, const char *target, const char *body)
{
    struct api_request req = {
        method, target, NULL, body ? "application/json" : NULL, body, body ? strlen(body) : 0};
    struct api_response resp;
    struct reply r = {0};
    api_handle(f->api, &req, &resp);
    assert_int_equal(store_flush(f->store), 0);
    r.code = resp.code;
    if (resp.json)
        r.json = json_incref(resp.json);
    else if (resp.text)
        r.json = json_loadb(resp.text, resp.text_len, 0, NULL);
    api_response_release(&resp);
    return r;
}

static void expect(struct fx *f, int code, const char *method, const char *target, const char *body)
{
    struct reply r = call(f, method, target, body);
    if (r.code != code) {
        char *text = json_dumps(r.json, 0);
        print_error("%s %s: %d %s\n", method, target, r.code, text);
        free(text);
    }
    assert_int_equal(r.code, code);
    json_decref(r.json);
}

static const char *str_at(const json_t *j, const char *a, const char *b)
{
    const json_t *v = json_object_get(j, a);
    if (b)
        v = json_object_get(v, b);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    char *path, *err = NULL;
    snprintf(f->dir, sizeof(f->dir), "/tmp/cedge-test-tr-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    path = xasprintf("%s/store.db", f->dir);
    assert_int_equal(store_open(path, NULL, &f->store, &err), 0);
    free(path);
    assert_int_equal(pki_key_generate(&f->key), 0);
    f->is = satoken_issuer_new(f->key, SATOKEN_ISSUER_DEFAULT);
    f->reg = api_registry_new();
    struct api_options o = {.token_issuer = f->is};
    f->api = api_new(f->store, f->reg, &o);
    expect(f, 201, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"default\"}}");
    expect(f, 201, "POST", SA_PATH, "{\"metadata\":{\"name\":\"app\"}}");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    api_free(f->api);
    store_close(f->store);
    api_registry_free(f->reg);
    satoken_issuer_free(f->is);
    EVP_PKEY_free(f->key);
    static const char *const files[] = {"store.db", "store.db-wal", "store.db-shm"};
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        char *p = xasprintf("%s/%s", f->dir, files[i]);
        unlink(p);
        free(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- parsing and validation ---- */

/* spec borrows from the body: it is kept until the next call. */
static json_t *parsed_body;

static int release_body(void **state)
{
    (void)state;
    json_decref(parsed_body);
    parsed_body = NULL;
    return 0;
}

static int parse(const char *text, struct api_token_spec *spec, int *code)
{
    json_t *status = NULL;
    json_decref(parsed_body);
    parsed_body = json_loads(text, 0, NULL);
    assert_non_null(parsed_body);
    int rc = api_token_request_parse(parsed_body, "default", "app", spec, &status);
    if (rc == 0)
        rc = api_token_request_validate(spec, &status);
    *code = status ? api_status_code(status) : 0;
    json_decref(status);
    return rc;
}

static void test_parse_defaults(void **state)
{
    (void)state;
    struct api_token_spec spec;
    int code;
    assert_int_equal(parse("{}", &spec, &code), 0);
    assert_int_equal(spec.expiration, 3600);
    assert_null(spec.audiences);
    assert_null(spec.bound_kind);
    assert_int_equal(parse("{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\","
                           "\"metadata\":{\"name\":\"app\",\"namespace\":\"default\"},"
                           "\"spec\":{\"audiences\":[\"a\",\"b\"],\"expirationSeconds\":600,"
                           "\"boundObjectRef\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\","
                           "\"name\":\"p\",\"uid\":\"u\"}}}",
                           &spec, &code),
                     0);
    assert_int_equal(spec.expiration, 600);
    assert_int_equal(json_array_size(spec.audiences), 2);
    assert_string_equal(spec.bound_kind, "Pod");
    assert_string_equal(spec.bound_name, "p");
    assert_string_equal(spec.bound_uid, "u");
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int code;
    } cases[] = {
        {"[]", 400},
        {"{\"kind\":\"Pod\"}", 400},
        {"{\"spec\":\"x\"}", 400},
        {"{\"spec\":{\"audiences\":\"a\"}}", 400},
        {"{\"spec\":{\"audiences\":[1]}}", 400},
        {"{\"spec\":{\"expirationSeconds\":\"3600\"}}", 400},
        {"{\"spec\":{\"expirationSeconds\":1.5}}", 400},
        {"{\"spec\":{\"expirationSeconds\":599}}", 422},
        {"{\"spec\":{\"expirationSeconds\":0}}", 422},
        {"{\"spec\":{\"expirationSeconds\":4294967297}}", 422},
        {"{\"spec\":{\"boundObjectRef\":{\"kind\":\"Node\",\"name\":\"n\"}}}", 400},
        {"{\"spec\":{\"boundObjectRef\":{\"kind\":\"Pod\",\"apiVersion\":\"apps/v1\"}}}", 400},
        {"{\"spec\":{\"boundObjectRef\":{\"kind\":\"Pod\"}}}", 422},
        {"{\"metadata\":{\"name\":\"other\"}}", 422},
        {"{\"metadata\":{\"namespace\":\"other\"}}", 422},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct api_token_spec spec;
        int code;
        assert_int_equal(parse(cases[i].body, &spec, &code), -EINVAL);
        if (code != cases[i].code)
            print_error("%s: %d\n", cases[i].body, code);
        assert_int_equal(code, cases[i].code);
    }
    /* The Invalid status names the field. */
    json_t *status = NULL;
    struct api_token_spec spec = {.expiration = 599};
    assert_int_equal(api_token_request_validate(&spec, &status), -EINVAL);
    char *text = json_dumps(status, 0);
    assert_non_null(strstr(text, "spec.expirationSeconds"));
    free(text);
    json_decref(status);
}

/* ---- the subresource ---- */

static char *create_token(struct fx *f, const char *body)
{
    struct reply r = call(f, "POST", TOKEN, body);
    assert_int_equal(r.code, 201);
    assert_string_equal(str_at(r.json, "kind", NULL), "TokenRequest");
    assert_string_equal(str_at(r.json, "metadata", "name"), "app");
    assert_non_null(str_at(r.json, "status", "expirationTimestamp"));
    char *token = xstrdup(str_at(r.json, "status", "token"));
    json_decref(r.json);
    return token;
}

static int authenticate(struct fx *f, const char *token, int64_t now)
{
    struct api_user u;
    int rc = api_token_authenticate(f->store, f->is, token, strlen(token), now, &u);
    if (rc == 0) {
        assert_string_equal(u.name, "system:serviceaccount:default:app");
        assert_string_equal(u.groups[1], "system:serviceaccounts:default");
    }
    api_user_release(&u);
    return rc;
}

static int64_t now_s(void)
{
    return clock_realtime_ns() / 1000000000;
}

static void test_create_and_authenticate(void **state)
{
    struct fx *f = *state;
    struct reply r = call(f, "POST", TOKEN, "{}");
    assert_int_equal(r.code, 201);
    const json_t *aud = json_object_get(json_object_get(r.json, "spec"), "audiences");
    assert_string_equal(json_string_value(json_array_get(aud, 0)), SATOKEN_ISSUER_DEFAULT);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r.json, "spec"), "expirationSeconds")),
        3600);
    char *token = xstrdup(str_at(r.json, "status", "token"));
    json_decref(r.json);

    assert_int_equal(authenticate(f, token, now_s()), 0);
    assert_int_equal(authenticate(f, token, now_s() + 3601), -EKEYEXPIRED);

    /* Another audience only: not for this server. */
    char *other = create_token(f, "{\"spec\":{\"audiences\":[\"api\"]}}");
    assert_int_equal(authenticate(f, other, now_s()), -EKEYREJECTED);
    free(other);

    /* The account deleted, then made again with a new uid. */
    expect(f, 200, "DELETE", SA_PATH "/app", NULL);
    assert_int_equal(authenticate(f, token, now_s()), -ENOENT);
    expect(f, 201, "POST", SA_PATH, "{\"metadata\":{\"name\":\"app\"}}");
    assert_int_equal(authenticate(f, token, now_s()), -ESTALE);
    free(token);
}

static void test_bound_pod(void **state)
{
    struct fx *f = *state;
    expect(f, 201, "POST", "/api/v1/namespaces/default/pods",
           "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"serviceAccountName\":\"app\","
           "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}");
    expect(f, 201, "POST", "/api/v1/namespaces/default/pods",
           "{\"metadata\":{\"name\":\"q\"},\"spec\":{\"containers\":[{\"name\":\"c\","
           "\"image\":\"i\"}]}}");
    char *token = create_token(f, "{\"spec\":{\"boundObjectRef\":{\"kind\":\"Pod\","
                                  "\"apiVersion\":\"v1\",\"name\":\"p\"}}}");
    assert_int_equal(authenticate(f, token, now_s()), 0);
    /* Wrong uid 409, missing pod 404, pod of another account 400. */
    expect(f, 409, "POST", TOKEN,
           "{\"spec\":{\"boundObjectRef\":{\"kind\":\"Pod\",\"name\":\"p\",\"uid\":\"x\"}}}");
    expect(f, 404, "POST", TOKEN,
           "{\"spec\":{\"boundObjectRef\":{\"kind\":\"Pod\",\"name\":\"z\"}}}");
    expect(f, 400, "POST", TOKEN,
           "{\"spec\":{\"boundObjectRef\":{\"kind\":\"Pod\",\"name\":\"q\"}}}");
    /* The pod gone: its tokens with it. */
    expect(f, 200, "DELETE", "/api/v1/namespaces/default/pods/p?gracePeriodSeconds=0", NULL);
    assert_int_equal(authenticate(f, token, now_s()), -ENOENT);
    free(token);
}

static void test_errors(void **state)
{
    struct fx *f = *state;
    expect(f, 404, "POST", SA_PATH "/nosuch/token", "{}");
    expect(f, 422, "POST", TOKEN, "{\"spec\":{\"expirationSeconds\":60}}");
    expect(f, 400, "POST", TOKEN, "{not json");
    expect(f, 400, "POST", TOKEN, "{\"kind\":\"ConfigMap\"}");
    expect(f, 405, "GET", TOKEN, NULL);
    expect(f, 404, "POST", "/api/v1/namespaces/default/configmaps/x/token", "{}");
}

static void test_discovery(void **state)
{
    struct fx *f = *state;
    struct reply r = call(f, "GET", "/api/v1", NULL);
    assert_int_equal(r.code, 200);
    const json_t *list = json_object_get(r.json, "resources"), *res;
    size_t i;
    const char *prev = "";
    bool found = false;
    json_array_foreach(list, i, res)
    {
        const char *name = str_at(res, "name", NULL);
        assert_true(strcmp(prev, name) < 0);
        prev = name;
        if (strcmp(name, "serviceaccounts/token") == 0) {
            found = true;
            assert_string_equal(str_at(res, "kind", NULL), "TokenRequest");
            assert_string_equal(str_at(res, "group", NULL), "authentication.k8s.io");
            assert_string_equal(str_at(res, "version", NULL), "v1");
            assert_string_equal(json_string_value(json_array_get(json_object_get(res, "verbs"), 0)),
                                "create");
        }
    }
    assert_true(found);
    json_decref(r.json);
}

/* Without an issuer (MetaServer) there is no such subresource. */
static void test_no_issuer(void **state)
{
    struct fx *f = *state;
    struct api *plain = api_new(f->store, f->reg, NULL);
    struct api_request req = {"POST", TOKEN, NULL, "application/json", "{}", 2};
    struct api_response resp;
    api_handle(plain, &req, &resp);
    assert_int_equal(resp.code, 404);
    api_response_release(&resp);
    api_free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_defaults),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test_setup_teardown(test_create_and_authenticate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_pod, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_issuer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, release_body);
}
