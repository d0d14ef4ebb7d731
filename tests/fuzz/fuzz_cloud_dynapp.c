/*
 * fuzz_cloud_dynapp.c - the MetaServer Application as dynamiccontroller reads
 * it from an edge (reference §4.8).
 *
 * The input is a whole message frame; it goes through proto_message_decode
 * as cloudhub does, then the content through dynapp_decode (a single
 * Application, or the id -> Application map of a watch sync), the Key through
 * dynapp_key_parse / dynapp_key_path / dynapp_resource_type, the Option
 * through dynapp_query for every verb and dynapp_patch_parse, and the
 * response through dynapp_response. To reach the Option parsers without
 * base64, an Option that is a JSON object (not valid Go, but easy for the
 * fuzzer) is serialised and fed to them as well.
 *
 * Checks: a query string holds only unreserved characters, '%XX', '=' and
 * '&'; the fields of a resource key are its segments, whole; a resource key
 * yields a path starting with "/api"; a response decodes and echoes the
 * request's ID, Key, Verb, Subresource and Option; nothing crashes or
 * leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cloud/dynapp.h"
#include "proto/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BYTES 65536

static void check_query(const struct buf *q)
{
    for (size_t i = 0; i < q->len; i++) {
        char c = q->data[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~' || c == '%' || c == '=' || c == '&'))
            BUG("a query string holds an unescaped character");
    }
}

static void options(const char *opt, size_t len)
{
    const char *why = "";
    for (int v = DYNAPP_GET; v <= DYNAPP_VERB_UNKNOWN; v++) {
        struct buf q = BUF_INIT(8192);
        if (dynapp_query((enum dynapp_verb)v, opt, len, &q, &why) == 0)
            check_query(&q);
        buf_release(&q);
    }
    struct dynapp_patch p;
    if (dynapp_patch_parse(opt, len, MAX_BYTES, &p, &why) == 0) {
        if (!p.name || !p.content_type || !p.sub)
            BUG("a parsed PatchInfo lacks a string");
        check_query(&p.query);
        dynapp_patch_release(&p);
    }
}

/* field must be one whole segment of key, verbatim (nothing truncated). */
static void check_segment(const char *key, const char *field)
{
    char *k = xasprintf("%s/", key), *f = xasprintf("/%s/", field);
    if (!strstr(k, f))
        BUG("a parsed key field is not a segment of the key");
    free(k);
    free(f);
}

static void key(const char *s, const char *sub)
{
    struct dynapp_key k;
    const char *why = "";
    char type[254];

    (void)dynapp_passthrough_entry_valid(s);
    if (dynapp_key_parse(s, &k, &why) < 0 || !k.resource)
        return;
    check_segment(s, k.group[0] ? k.group : "core");
    check_segment(s, k.version);
    check_segment(s, k.resource_name);
    if (k.ns[0])
        check_segment(s, k.ns);
    if (k.name[0])
        check_segment(s, k.name);
    char *path = dynapp_key_path(&k, sub && *sub ? sub : NULL);
    if (!path || strncmp(path, "/api", 4) != 0)
        BUG("a resource key gives no API path");
    free(path);
    dynapp_resource_type(k.resource_name, type, sizeof(type));
    dynapp_resource_type(k.resource_name, type, 2);
}

/* The response to app decodes and echoes what identifies the request. */
static void echoed(const struct dynapp *app, const json_t *r)
{
    struct dynapp back;
    const char *why = "";
    if (dynapp_decode(r, MAX_BYTES, &back, &why) < 0)
        BUG("an applicationResponse does not decode");
    if ((app->id[0] && strcmp(back.id, app->id) != 0) || strcmp(back.key, app->key) != 0 ||
        strcmp(back.verb_name, app->verb_name) != 0 ||
        strcmp(back.subresource, app->subresource) != 0 || back.has_option != app->has_option ||
        back.option.len != app->option.len ||
        (app->option.len && memcmp(back.option.data, app->option.data, app->option.len) != 0))
        BUG("an applicationResponse does not echo the request");
    dynapp_release(&back);
}

static void application(const json_t *content)
{
    struct dynapp app;
    const char *why = "";
    const json_t *opt = json_object_get(content, "Option");

    /* harness shortcut: a JSON Option given as itself */
    if (json_is_object(opt) || json_is_array(opt)) {
        char *text = json_dumps(opt, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text)
            options(text, strlen(text));
        free(text);
    }
    if (json_is_string(json_object_get(content, "Key")))
        key(json_string_value(json_object_get(content, "Key")),
            json_string_value(json_object_get(content, "Subresource")));
    if (dynapp_decode(content, MAX_BYTES, &app, &why) < 0)
        return;
    char id[DYNAPP_ID_LEN];
    dynapp_identifier(&app, id);
    options(app.option.data, app.option.len);
    key(app.key, app.subresource);
    json_t *r =
        dynapp_response(&app, "edge-1", "Rejected", why, NULL, app.req_body.data, app.req_body.len);
    char *text = json_dumps(r, JSON_COMPACT);
    if (!text)
        BUG("an applicationResponse does not encode");
    free(text);
    echoed(&app, r);
    json_decref(r);
    dynapp_release(&app);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_message *m = NULL;
    if (proto_message_decode(data, size, 0, &m, NULL) < 0)
        return 0;
    application(m->content);
    /* a watch sync: {"<id>": Application, ...} */
    if (json_is_object(m->content) && !json_object_get(m->content, "Key")) {
        const char *id;
        json_t *v;
        json_object_foreach(m->content, id, v)
        {
            if (json_is_object(v))
                application(v);
        }
    }
    json_t *st = dynapp_status_from_api(m->content, 500);
    json_decref(st);
    proto_message_free(m);
    return 0;
}
