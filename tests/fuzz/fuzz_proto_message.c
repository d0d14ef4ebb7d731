/*
 * fuzz_proto_message.c - the message envelope decoder on arbitrary bytes.
 *
 * Whatever decodes must encode, and the encoding must decode to the same
 * message (every header and route field, and content by json_equal). The
 * route's resource string must survive parse + format unchanged whenever it
 * parses. Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "proto/message.h"
#include "proto/resource.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct proto_message *a, const struct proto_message *b)
{
    const char *const sa[] = {a->header.msg_id, a->header.parent_msg_id, a->header.resourceversion,
                              a->header.type,   a->route.source,         a->route.destination,
                              a->route.group,   a->route.operation,      a->route.resource};
    const char *const sb[] = {b->header.msg_id, b->header.parent_msg_id, b->header.resourceversion,
                              b->header.type,   b->route.source,         b->route.destination,
                              b->route.group,   b->route.operation,      b->route.resource};
    for (size_t i = 0; i < ARRAY_SIZE(sa); i++) {
        if (strcmp(sa[i], sb[i]) != 0)
            BUG("string field changed in a round trip");
    }
    if (a->header.timestamp != b->header.timestamp || a->header.sync != b->header.sync)
        BUG("timestamp or sync changed in a round trip");
    if (!json_equal(a->content, b->content))
        BUG("content changed in a round trip");
}

static void check_resource(const char *s)
{
    struct proto_resource r;
    char out[PROTO_RESOURCE_MAX + 1];
    if (proto_resource_parse(s, &r) == 0) {
        if (proto_resource_format(&r, out, sizeof(out)) < 0 || strcmp(out, s) != 0)
            BUG("wire resource does not format back to itself");
    }
    if (proto_resource_parse_cloud(s, &r) == 0) {
        if (proto_resource_format(&r, out, sizeof(out)) < 0 || strcmp(out, s) != 0)
            BUG("cloud resource does not format back to itself");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_message *m = NULL;
    if (proto_message_decode(data, size, 0, &m, NULL) < 0)
        return 0;
    (void)proto_message_needs_ack(m);
    check_resource(m->route.resource);

    struct buf b = BUF_INIT(PROTO_MESSAGE_MAX_DEFAULT);
    if (proto_message_encode(m, 0, &b) < 0)
        BUG("a decoded message does not encode");
    struct proto_message *again = NULL;
    if (proto_message_decode(b.data, b.len, 0, &again, NULL) < 0)
        BUG("an encoded message does not decode");
    check_same(m, again);

    proto_message_free(again);
    buf_release(&b);
    proto_message_free(m);
    return 0;
}
