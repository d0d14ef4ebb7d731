/*
 * leader.h - hot-standby leader election on a coordination.k8s.io/v1 Lease
 * (reference §9; docs/internals/leader.md).
 *
 * client-go's algorithm (tools/leaderelection): every retryPeriod each
 * candidate reads the Lease; it takes it when it is free (no holder), when
 * nobody renewed it for leaseDuration as seen on the candidate's own
 * monotonic clock (the "observed time", so clock skew between replicas does
 * not matter), or when it does not exist; the holder renews it. Writes carry
 * the resourceVersion read, so two candidates cannot both win: the loser gets
 * 409 and tries again next period. A leader that could not renew for
 * renewDeadline steps down even though it cannot tell anyone (the API may be
 * unreachable): renewDeadline < leaseDuration, so it has stopped before a
 * standby may take over and there is no split brain.
 *
 * The decision is the pure function leader_decide(); struct leader drives it
 * on the async Kubernetes client (net/kubeclient.h) and a uv timer.
 */
#ifndef CEDGE_CLOUD_LEADER_H
#define CEDGE_CLOUD_LEADER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct kube_client;

/* Longest identity kept (hostname + '_' + UUID fits easily). */
#define LEADER_IDENTITY_MAX 256

/* ---- the pure decision ------------------------------------------------------ */

enum leader_decision {
    LEADER_CREATE,  /* no Lease: create one naming us */
    LEADER_ACQUIRE, /* free or expired: update it to name us (transitions + 1) */
    LEADER_RENEW,   /* we hold it: update renewTime */
    LEADER_WAIT,    /* someone else holds it and renewed it within leaseDuration */
};

/* What a candidate remembers between two reads (client-go's observedRecord
 * and observedTime). Initialise with {0}; release with leader_observed_clear(). */
struct leader_observed {
    char *record;                     /* the Lease spec last seen, as compact JSON; owned */
    int64_t at_ns;                    /* monotonic time it last changed */
    char holder[LEADER_IDENTITY_MAX]; /* holderIdentity last seen; "" none or garbage */
};

void leader_observed_clear(struct leader_observed *o);

/*
 * Decides what to do with lease (a Lease object as read; NULL when the API
 * said 404) at monotonic time now_ns for identity, expiring a holder after
 * lease_ms without change. Updates obs. Garbage is treated as free: a
 * holderIdentity that is not a non-empty string of at most
 * LEADER_IDENTITY_MAX - 1 bytes names nobody; times are not trusted at all
 * (expiry is the observed time), so garbage times change nothing.
 */
enum leader_decision leader_decide(const json_t *lease, int64_t now_ns, const char *identity,
                                   int64_t lease_ms, struct leader_observed *obs);

/*
 * The Lease to write for decision d (not LEADER_WAIT): a new object (caller
 * frees) built from lease (NULL for LEADER_CREATE; its metadata, with the
 * resourceVersion, is kept for the optimistic update) naming identity, with
 * acquireTime/renewTime in RFC 3339 micro time from wall_ns. ACQUIRE and
 * CREATE set acquireTime = now; ACQUIRE counts leaseTransitions + 1 (a
 * garbage count restarts at 1); RENEW keeps acquireTime unless it is garbage.
 */
json_t *leader_lease_build(enum leader_decision d, const json_t *lease, const char *name,
                           const char *ns, const char *identity, int64_t lease_ms, int64_t wall_ns);

/* The Lease that hands over at once: holderIdentity cleared (client-go's
 * ReleaseOnCancel), leaseDurationSeconds 1. New object; caller frees. */
json_t *leader_lease_released(const json_t *lease, int64_t wall_ns);

/* ---- the elector ------------------------------------------------------------ */

struct leader;

typedef void (*leader_cb)(void *arg);
/* The holder changed as seen by this replica; identity "" when the lease is
 * free or gone. Borrowed for the call. */
typedef void (*leader_new_leader_cb)(const char *identity, void *arg);

struct leader_options {
    const char *name;     /* Lease name: cloudcorelease */
    const char *ns;       /* Lease namespace: kubeedge */
    const char *identity; /* NULL: "<hostname>_<uuid>" */
    int64_t lease_ms, renew_ms, retry_ms;
    leader_cb on_started_leading;
    leader_cb on_stopped_leading;
    leader_new_leader_cb on_new_leader; /* may be NULL */
    void *arg;
};

/*
 * Creates an elector on client (borrowed; must outlive it). Nothing happens
 * until leader_start(). Returns NULL for options that cannot work
 * (renew_ms >= lease_ms, retry_ms >= renew_ms; logged). The callbacks run
 * from loop callbacks, never from inside a leader_* call except
 * leader_free() (on_stopped_leading when leading).
 */
struct leader *leader_new(uv_loop_t *loop, struct kube_client *client,
                          const struct leader_options *o);

/* First attempt now, then every retry period. */
void leader_start(struct leader *l);

bool leader_is_leading(const struct leader *l);
const char *leader_identity(const struct leader *l);
/* The holder last seen ("" unknown or none); our identity while leading. */
const char *leader_holder(const struct leader *l);

/*
 * Stops the elector; when leading, gives the lease up (holder cleared) so a
 * standby takes over at once, and calls on_stopped_leading. done(arg) runs
 * once the release was answered or failed (logged), at the latest after the
 * client's request timeout; from a loop callback, also when there is
 * nothing to release.
 */
void leader_release(struct leader *l, leader_cb done, void *arg);

/* Frees the elector (cancels a request in flight; run the loop afterwards).
 * NULL-safe. */
void leader_free(struct leader *l);

#endif
