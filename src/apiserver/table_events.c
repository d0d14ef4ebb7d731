/*
 * table_events.c - the Table rows of Events, core/v1 and events.k8s.io/v1
 * (printEvent of Kubernetes 1.32's printers.go, which both share).
 */
#include "apiserver/table.h"
#include "apiserver/table_rows.h"

#include "base/buf.h"
#include "base/mem.h"

#include <string.h>

#define CELL_MAX 4096

static const char *or_default(const char *s, const char *dflt)
{
    return *s ? s : dflt;
}

static void add_str(json_t *cells, const char *s)
{
    json_t *j = json_string(s);
    json_array_append_new(cells, j ? j : json_string("<invalid>"));
}

static int64_t int_at(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* ---- events (core/v1 and events.k8s.io/v1 field names) ---- */

static const struct table_column event_columns[] = {
    {"Last Seen", "string", NULL,
     "The time at which the most recent occurrence of this event "
     "was recorded.",
     0},
    {"Type", "string", NULL,
     "Type of this event (Normal, Warning), new types could be added "
     "in the future",
     0},
    {"Reason", "string", NULL,
     "This should be a short, machine understandable string that "
     "gives the reason for the transition into the object's current "
     "status.",
     0},
    {"Object", "string", NULL, "The object that this event is about.", 0},
    {"Subobject", "string", NULL,
     "If the reference is to a portion of an object instead of an "
     "entire object, this string should contain a valid JSON/Go "
     "field access statement.",
     1},
    {"Source", "string", NULL, "The component reporting this event.", 1},
    {"Message", "string", NULL, "A human-readable description of the status of this operation.", 0},
    {"First Seen", "string", NULL, "The time at which the event was first recorded.", 1},
    {"Count", "string", NULL, "The number of times this event has occurred.", 1},
    {"Name", "string", "name", table_doc_name, 1},
};

struct event_fields {
    const char *first, *last, *count, *regarding, *source, *controller, *message;
};

static const struct event_fields core_event = {
    "firstTimestamp", "lastTimestamp",      "count",  "involvedObject",
    "source",         "reportingComponent", "message"};
static const struct event_fields new_event = {"deprecatedFirstTimestamp",
                                              "deprecatedLastTimestamp",
                                              "deprecatedCount",
                                              "regarding",
                                              "deprecatedSource",
                                              "reportingController",
                                              "note"};

static void event_source(const json_t *ev, const struct event_fields *f, struct buf *b)
{
    const json_t *src = json_object_get(ev, f->source);
    const char *component = or_default(table_str(src, "component"), table_str(ev, f->controller));
    const char *host = or_default(table_str(src, "host"), table_str(ev, "reportingInstance"));
    if (!*component)
        buf_append_str(b, "<unknown>");
    else if (*host)
        buf_printf(b, "%s, %s", component, host);
    else
        buf_append_str(b, component);
}

/* LAST SEEN, FIRST SEEN and COUNT, with the series and eventTime fallbacks. */
static int64_t event_times(const json_t *ev, const struct event_fields *f, int64_t now_ns,
                           char *first, char *last, size_t n)
{
    const json_t *first_ts = json_object_get(ev, f->first);
    const json_t *last_ts = json_object_get(ev, f->last);
    const json_t *series = json_object_get(ev, "series");
    int64_t count = int_at(ev, f->count);

    api_table_age(first, n, json_is_string(first_ts) ? first_ts : json_object_get(ev, "eventTime"),
                  now_ns);
    if (json_is_string(last_ts))
        api_table_age(last, n, last_ts, now_ns);
    else
        memcpy(last, first, n);
    if (json_is_object(series)) {
        api_table_age(last, n, json_object_get(series, "lastObservedTime"), now_ns);
        count = int_at(series, "count");
    } else if (count == 0) {
        count = 1; /* singleton events of the new API have no count */
    }
    return count;
}

/* "pod/web-0": the lower-cased kind and the name. */
static void event_object(const json_t *obj, struct buf *b)
{
    for (const char *k = table_str(obj, "kind"); *k; k++)
        buf_append_char(b, (char)((*k >= 'A' && *k <= 'Z') ? *k - 'A' + 'a' : *k));
    if (*table_str(obj, "name"))
        buf_printf(b, "/%s", table_str(obj, "name"));
}

/* strings.TrimSpace of the message. */
static void event_message(const char *msg, struct buf *b)
{
    size_t len;
    while (*msg && strchr(" \n\t\r", *msg))
        msg++;
    len = strlen(msg);
    while (len > 0 && strchr(" \n\t\r", msg[len - 1]))
        len--;
    buf_append(b, msg, len);
}

static void event_row(json_t *cells, const json_t *ev, struct table_row_ctx *ctx)
{
    const struct event_fields *f =
        strcmp(ctx->res->group, "events.k8s.io") == 0 ? &new_event : &core_event;
    const json_t *obj = json_object_get(ev, f->regarding);
    char first[32], last[32];
    int64_t count = event_times(ev, f, ctx->now_ns, first, last, sizeof(first));
    struct buf b = BUF_INIT(CELL_MAX);

    add_str(cells, last);
    add_str(cells, table_str(ev, "type"));
    add_str(cells, table_str(ev, "reason"));
    event_object(obj, &b);
    add_str(cells, buf_cstr(&b));
    add_str(cells, table_str(obj, "fieldPath"));
    buf_clear(&b);
    event_source(ev, f, &b);
    add_str(cells, buf_cstr(&b));
    buf_clear(&b);
    event_message(table_str(ev, f->message), &b);
    add_str(cells, buf_cstr(&b));
    buf_release(&b);
    add_str(cells, first);
    json_array_append_new(cells, json_integer((json_int_t)count));
    add_str(cells, table_str(ev, "metadata.name"));
}

const struct table_printer *table_event_printer(void)
{
    static const struct table_printer printer = {event_columns, ARRAY_SIZE(event_columns),
                                                 event_row};
    return &printer;
}
