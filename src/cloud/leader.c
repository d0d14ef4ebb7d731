/*
 * leader.c - Lease leader election. See leader.h and docs/internals/leader.md.
 */
#include "cloud/leader.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "net/kubeclient.h"

#define NS_PER_MS 1000000LL

static const struct kube_gvr leases = {"coordination.k8s.io", "v1", "leases"};

/* ---- the pure decision ------------------------------------------------------ */

void leader_observed_clear(struct leader_observed *o)
{
    free(o->record);
    o->record = NULL;
    o->at_ns = 0;
    o->holder[0] = '\0';
}

/* holderIdentity if it names someone, else "" (absent, empty, not a string,
 * too long: garbage names nobody). */
static const char *valid_holder(const json_t *spec)
{
    const char *h = json_string_value(json_object_get(spec, "holderIdentity"));

    if (!h || strlen(h) >= LEADER_IDENTITY_MAX)
        return "";
    return h;
}

enum leader_decision leader_decide(const json_t *lease, int64_t now_ns, const char *identity,
                                   int64_t lease_ms, struct leader_observed *obs)
{
    if (!lease) {
        leader_observed_clear(obs);
        return LEADER_CREATE;
    }
    const json_t *spec = json_object_get(lease, "spec");
    char *record = spec ? json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *holder = json_is_object(spec) ? valid_holder(spec) : "";

    if (!record)
        record = xstrdup("");
    if (!obs->record || strcmp(obs->record, record) != 0) {
        free(obs->record);
        obs->record = record;
        obs->at_ns = now_ns;
    } else {
        free(record);
    }
    snprintf(obs->holder, sizeof(obs->holder), "%s", holder);
    if (strcmp(holder, identity) == 0)
        return LEADER_RENEW;
    if (!holder[0])
        return LEADER_ACQUIRE;
    if (now_ns - obs->at_ns >= lease_ms * NS_PER_MS)
        return LEADER_ACQUIRE;
    return LEADER_WAIT;
}

static bool valid_time(const json_t *v)
{
    int64_t ns;
    return json_is_string(v) && clock_parse_rfc3339(json_string_value(v), &ns) == 0;
}

/* A copy of lease's metadata (for resourceVersion), or a fresh one. */
static json_t *lease_shell(const json_t *lease, const char *name, const char *ns)
{
    json_t *meta = json_object_get(lease, "metadata");
    json_t *out = json_object();

    json_object_set_new(out, "apiVersion", json_string("coordination.k8s.io/v1"));
    json_object_set_new(out, "kind", json_string("Lease"));
    if (json_is_object(meta)) {
        json_object_set_new(out, "metadata", json_deep_copy(meta));
    } else {
        meta = json_object();
        json_object_set_new(meta, "name", json_string(name));
        json_object_set_new(meta, "namespace", json_string(ns));
        json_object_set_new(out, "metadata", meta);
    }
    return out;
}

json_t *leader_lease_build(enum leader_decision d, const json_t *lease, const char *name,
                           const char *ns, const char *identity, int64_t lease_ms, int64_t wall_ns)
{
    const json_t *old = json_object_get(lease, "spec");
    json_t *out = lease_shell(d == LEADER_CREATE ? NULL : lease, name, ns);
    json_t *spec = json_object();
    char now[CLOCK_RFC3339_MAX];
    json_int_t transitions = 0;
    const json_t *t = json_object_get(old, "leaseTransitions");

    assert(d != LEADER_WAIT);
    clock_format_rfc3339(now, sizeof(now), wall_ns, 6);
    if (json_is_integer(t) && json_integer_value(t) >= 0 && json_integer_value(t) < INT32_MAX)
        transitions = json_integer_value(t);
    json_object_set_new(spec, "holderIdentity", json_string(identity));
    json_object_set_new(spec, "leaseDurationSeconds",
                        json_integer((json_int_t)((lease_ms + 999) / 1000)));
    if (d == LEADER_RENEW && valid_time(json_object_get(old, "acquireTime")))
        json_object_set(spec, "acquireTime", json_object_get(old, "acquireTime"));
    else
        json_object_set_new(spec, "acquireTime", json_string(now));
    json_object_set_new(spec, "renewTime", json_string(now));
    if (d == LEADER_ACQUIRE)
        transitions++;
    json_object_set_new(spec, "leaseTransitions", json_integer(transitions));
    json_object_set_new(out, "spec", spec);
    return out;
}

json_t *leader_lease_released(const json_t *lease, int64_t wall_ns)
{
    json_t *out = lease_shell(lease, "", "");
    json_t *spec = json_deep_copy(json_object_get(lease, "spec"));
    char now[CLOCK_RFC3339_MAX];

    if (!json_is_object(spec)) {
        json_decref(spec);
        spec = json_object();
    }
    clock_format_rfc3339(now, sizeof(now), wall_ns, 6);
    json_object_set_new(spec, "holderIdentity", json_string(""));
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
    json_object_set_new(spec, "acquireTime", json_string(now));
    json_object_set_new(spec, "renewTime", json_string(now));
    json_object_set_new(out, "spec", spec);
    return out;
}

/* ---- the elector ------------------------------------------------------------ */

struct leader {
    uv_loop_t *loop;
    struct kube_client *client;
    struct leader_options o;
    char *name, *ns;
    char identity[LEADER_IDENTITY_MAX];
    uv_timer_t timer;
    struct kube_req *req;
    int64_t req_started_ns; /* monotonic */
    bool leading;
    bool stopped;       /* released: no more attempts */
    int64_t renewed_ns; /* monotonic start of the last successful write */
    json_t *written;    /* the Lease as the API returned our last write */
    struct leader_observed obs;
    char announced[LEADER_IDENTITY_MAX]; /* holder last passed to on_new_leader */
    unsigned failures;                   /* consecutive failed attempts (logged on the first) */
    leader_cb done;
    void *done_arg;
    bool release_reread; /* the release met a conflict and read the Lease again */
};

static int64_t mono_ns(void)
{
    return (int64_t)clock_monotonic_ns();
}

static void announce(struct leader *l, const char *holder)
{
    if (strcmp(l->announced, holder) == 0)
        return;
    snprintf(l->announced, sizeof(l->announced), "%s", holder);
    log_info("lease holder changed", "lease=%s/%s holder=%s", l->ns, l->name,
             holder[0] ? holder : "(none)");
    if (l->o.on_new_leader)
        l->o.on_new_leader(holder, l->o.arg);
}

static void step_down(struct leader *l, const char *why)
{
    if (!l->leading)
        return;
    l->leading = false;
    log_warn("stopped leading", "lease=%s/%s identity=%s why=\"%s\"", l->ns, l->name, l->identity,
             why);
    l->o.on_stopped_leading(l->o.arg);
}

static void attempt_failed(struct leader *l, const char *what, const struct kube_response *resp)
{
    if (l->failures++ == 0) /* once per streak: an unreachable API fails every period */
        log_warn("lease attempt failed", "lease=%s/%s step=%s code=%d why=\"%s\"", l->ns, l->name,
                 what, resp->code, resp->err ? resp->error : resp->status.message);
    if (l->leading && mono_ns() - l->renewed_ns > l->o.renew_ms * NS_PER_MS)
        step_down(l, "could not renew the lease within renewDeadline");
}

static void on_write(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct leader *l = arg;

    (void)req;
    l->req = NULL;
    if (resp->err == -ECANCELED || l->stopped)
        return;
    if (resp->err || (resp->code != 200 && resp->code != 201) || !json_is_object(resp->object)) {
        attempt_failed(l, resp->code == 409 ? "write (conflict)" : "write", resp);
        return;
    }
    if (l->failures)
        log_info("lease attempts succeed again", "lease=%s/%s failed=%u", l->ns, l->name,
                 l->failures);
    l->failures = 0;
    l->renewed_ns = l->req_started_ns;
    json_decref(l->written);
    l->written = json_incref(resp->object);
    snprintf(l->obs.holder, sizeof(l->obs.holder), "%s", l->identity);
    announce(l, l->identity);
    if (!l->leading) {
        l->leading = true;
        log_info("started leading", "lease=%s/%s identity=%s", l->ns, l->name, l->identity);
        l->o.on_started_leading(l->o.arg);
    }
}

static void on_get(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct leader *l = arg;
    const json_t *lease = resp->object;

    (void)req;
    l->req = NULL;
    if (resp->err == -ECANCELED || l->stopped)
        return;
    if (resp->err || (resp->code != 200 && resp->code != 404) ||
        (resp->code == 200 && !json_is_object(lease))) {
        attempt_failed(l, "read", resp);
        return;
    }
    if (resp->code == 404) {
        if (l->leading)
            log_warn("lease deleted under the leader; recreating", "lease=%s/%s", l->ns, l->name);
        lease = NULL;
    }
    enum leader_decision d = leader_decide(lease, mono_ns(), l->identity, l->o.lease_ms, &l->obs);
    if (d == LEADER_WAIT) {
        l->failures = 0;
        announce(l, l->obs.holder);
        step_down(l, "the lease is held by another replica");
        return;
    }
    if (d == LEADER_ACQUIRE && l->obs.holder[0])
        log_info("lease expired; taking it over", "lease=%s/%s holder=%s", l->ns, l->name,
                 l->obs.holder);
    json_t *obj = leader_lease_build(d, lease, l->name, l->ns, l->identity, l->o.lease_ms,
                                     clock_realtime_ns());
    if (d == LEADER_CREATE)
        l->req = kube_create(l->client, &leases, l->ns, obj, on_write, l);
    else
        l->req = kube_update(l->client, &leases, l->ns, l->name, NULL, obj, on_write, l);
    json_decref(obj);
}

static void on_tick(uv_timer_t *t)
{
    struct leader *l = t->data;
    int64_t now = mono_ns();

    if (l->leading && now - l->renewed_ns > l->o.renew_ms * NS_PER_MS) {
        step_down(l, "could not renew the lease within renewDeadline");
        if (l->req)
            kube_req_cancel(l->req); /* its answer would be stale */
    }
    if (l->req && now - l->req_started_ns > l->o.renew_ms * NS_PER_MS) {
        log_warn("lease request timed out", "lease=%s/%s", l->ns, l->name);
        kube_req_cancel(l->req);
    }
    if (l->req)
        return;
    l->req_started_ns = now;
    l->req = kube_get(l->client, &leases, l->ns, l->name, on_get, l);
}

struct leader *leader_new(uv_loop_t *loop, struct kube_client *client,
                          const struct leader_options *o)
{
    if (o->renew_ms >= o->lease_ms || o->retry_ms >= o->renew_ms || o->retry_ms <= 0) {
        log_error("leader election needs retryPeriod < renewDeadline < leaseDuration",
                  "lease_ms=%lld renew_ms=%lld retry_ms=%lld", (long long)o->lease_ms,
                  (long long)o->renew_ms, (long long)o->retry_ms);
        return NULL;
    }
    struct leader *l = xcalloc(1, sizeof(*l));
    l->loop = loop;
    l->client = client;
    l->o = *o;
    l->name = xstrdup(o->name);
    l->ns = xstrdup(o->ns);
    if (o->identity) {
        snprintf(l->identity, sizeof(l->identity), "%s", o->identity);
    } else {
        char host[128] = "cloudcore", id[UUID_STRLEN];
        if (gethostname(host, sizeof(host)) < 0)
            snprintf(host, sizeof(host), "cloudcore");
        host[sizeof(host) - 1] = '\0';
        if (uuid_v4(id) < 0)
            snprintf(id, sizeof(id), "%d", (int)getpid());
        snprintf(l->identity, sizeof(l->identity), "%s_%s", host, id);
    }
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    return l;
}

void leader_start(struct leader *l)
{
    log_info("leader election started",
             "lease=%s/%s identity=%s lease_ms=%lld renew_ms=%lld "
             "retry_ms=%lld",
             l->ns, l->name, l->identity, (long long)l->o.lease_ms, (long long)l->o.renew_ms,
             (long long)l->o.retry_ms);
    uv_timer_start(&l->timer, on_tick, 0, (uint64_t)l->o.retry_ms);
}

bool leader_is_leading(const struct leader *l)
{
    return l->leading;
}

const char *leader_identity(const struct leader *l)
{
    return l->identity;
}

const char *leader_holder(const struct leader *l)
{
    if (l->leading)
        return l->identity;
    /* stepped down without reading another holder: unknown, not us */
    return strcmp(l->obs.holder, l->identity) == 0 ? "" : l->obs.holder;
}

static void finish_release(struct leader *l)
{
    leader_cb done = l->done;

    l->done = NULL;
    if (done)
        done(l->done_arg);
}

static void on_released(struct kube_req *req, const struct kube_response *resp, void *arg);

/* After a conflict (a renewal that was cancelled here but still reached the
 * API server changed the Lease): release the fresh Lease if it still names us. */
static void on_release_reread(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct leader *l = arg;
    const json_t *spec = json_object_get(resp->object, "spec");
    const char *h = json_string_value(json_object_get(spec, "holderIdentity"));

    (void)req;
    l->req = NULL;
    if (resp->err == 0 && resp->code == 200 && h && strcmp(h, l->identity) == 0) {
        json_t *obj = leader_lease_released(resp->object, clock_realtime_ns());
        l->req = kube_update(l->client, &leases, l->ns, l->name, NULL, obj, on_released, l);
        json_decref(obj);
        return;
    }
    if (resp->err == 0 && resp->code == 200)
        log_info("lease no longer ours: nothing to release", "lease=%s/%s holder=%s", l->ns,
                 l->name, h ? h : "(none)");
    else
        log_warn("cannot release the lease (a standby takes over when it expires)",
                 "lease=%s/%s code=%d why=\"%s\"", l->ns, l->name, resp->code,
                 resp->err ? resp->error : resp->status.message);
    uv_timer_stop(&l->timer);
    finish_release(l);
}

static void on_released(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct leader *l = arg;

    (void)req;
    l->req = NULL;
    if (resp->err == 0 && resp->code == 409 && !l->release_reread) {
        l->release_reread = true; /* once: the timer still bounds the whole release */
        l->req = kube_get(l->client, &leases, l->ns, l->name, on_release_reread, l);
        return;
    }
    uv_timer_stop(&l->timer);
    if (resp->err == 0 && resp->code == 200)
        log_info("lease released", "lease=%s/%s identity=%s", l->ns, l->name, l->identity);
    else
        log_warn("cannot release the lease (a standby takes over when it expires)",
                 "lease=%s/%s code=%d why=\"%s\"", l->ns, l->name, resp->code,
                 resp->err ? resp->error : resp->status.message);
    finish_release(l);
}

/* Fires after renewDeadline of waiting for the release, or at once when
 * there is nothing to release. */
static void on_release_tick(uv_timer_t *t)
{
    struct leader *l = t->data;

    if (l->req)
        kube_req_cancel(l->req); /* on_released finishes */
    else
        finish_release(l);
}

void leader_release(struct leader *l, leader_cb done, void *arg)
{
    bool was_leading = l->leading;

    l->stopped = true;
    l->done = done;
    l->done_arg = arg;
    uv_timer_stop(&l->timer);
    if (l->req)
        kube_req_cancel(l->req);
    step_down(l, "shutting down");
    if (was_leading && l->written) {
        json_t *obj = leader_lease_released(l->written, clock_realtime_ns());
        l->req = kube_update(l->client, &leases, l->ns, l->name, NULL, obj, on_released, l);
        json_decref(obj);
        uv_timer_start(&l->timer, on_release_tick, (uint64_t)l->o.renew_ms, 0);
    } else {
        uv_timer_start(&l->timer, on_release_tick, 0, 0);
    }
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void leader_free(struct leader *l)
{
    if (!l)
        return;
    l->stopped = true;
    l->done = NULL;
    if (l->req)
        kube_req_cancel(l->req);
    step_down(l, "shutting down");
    json_decref(l->written);
    leader_observed_clear(&l->obs);
    free(l->name);
    free(l->ns);
    uv_close((uv_handle_t *)&l->timer, on_timer_closed);
}
