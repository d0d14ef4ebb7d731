/*
 * secrets.h - cloudcore's certificate material in Kubernetes secrets
 * (reference §1.1): kubeedge/casecret (cadata, cakeydata),
 * kubeedge/cloudcoresecret (cloudcoredata, cloudcorekeydata) and
 * kubeedge/tokensecret (tokendata). Implements certs.h's struct certs_secrets
 * on the asynchronous Kubernetes client (net/kubeclient.h).
 *
 * Start-up is synchronous: load() and create() issue one request each and run
 * the caller's loop (uv_run UV_RUN_ONCE) until its callback ran. This is only
 * acceptable before the servers start, when nothing else is on the loop; the
 * client's per-request timeout bounds every wait. put() (the token, on every
 * refresh) is asynchronous: a merge patch, a create when the secret does not
 * exist yet, and failures are logged.
 */
#ifndef CEDGE_CLOUD_SECRETS_H
#define CEDGE_CLOUD_SECRETS_H

#include <uv.h>

#include "base/buf.h"
#include "cloud/certs.h"

struct kube_client;

struct cloud_secrets;

/*
 * Connects to the API of kubeAPIConfig (kubeconfig and/or master, as
 * client-go's BuildConfigFromFlags) and ensures namespace kubeedge exists
 * (409 AlreadyExists is fine). While the API is unreachable or answers 5xx
 * it retries with backoff up to wait_s seconds. Runs loop until then (start-up
 * only). On failure returns a negative errno and a reason in err.
 */
int cloud_secrets_open(uv_loop_t *loop, const char *master, const char *kubeconfig, double qps,
                       int burst, int wait_s, struct cloud_secrets **out, struct buf *err);

/* The seam for certs_prepare() and certs_token_refresh(); valid until free. */
const struct certs_secrets *cloud_secrets_seam(struct cloud_secrets *s);

/* The Kubernetes client the secrets use; cloudcore's other modules share it.
 * Valid until cloud_secrets_free(). */
struct kube_client *cloud_secrets_client(struct cloud_secrets *s);

/* Cancels pending requests; run the loop afterwards so handles close. NULL-safe. */
void cloud_secrets_free(struct cloud_secrets *s);

#endif
