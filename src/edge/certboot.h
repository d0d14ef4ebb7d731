/*
 * certboot.h - the edge certificate bootstrap and rotation (reference §1.3).
 *
 * At start, when the edge certificate or key cannot be loaded, certboot_ensure()
 * fetches the cloud CA from <httpServer>/ca.crt (unverified, then checked against
 * the token's first part), writes it to the CA file, generates an ECDSA P-256 key
 * and CSR (CN kubeedge.io) and has cloudcore sign it at <httpServer>/edge.crt with
 * the token's JWT, verifying the server against the new CA. httpServer may list
 * several addresses separated by commas; each is tried in turn. These requests
 * use libcurl's blocking easy interface: they run once, before the loop serves.
 *
 * Rotation: certboot_rotation_delay_ms() tells when to renew (70-90 % of the
 * lifetime), certboot_retry_delay_ms() when to retry after a failure;
 * certboot_renew_start() renews on libuv's thread pool with the
 * current certificate as the TLS client certificate and reports on the loop.
 */
#ifndef CEDGE_EDGE_CERTBOOT_H
#define CEDGE_EDGE_CERTBOOT_H

#include <stdint.h>
#include <uv.h>

#include "net/pki.h"

/* Responses from the cloud are bounded by this (a certificate is ~1 KiB). */
#define CERTBOOT_MAX_RESPONSE (64 * 1024)

struct certboot_options {
    const char *http_servers; /* "https://host:10002[,https://...]" */
    const char *token;        /* "<sha256 hex>.<jwt>" (jwt = 3 parts) */
    const char *node;         /* sent as NodeName */
    const char *ca_file;      /* written (PEM) */
    const char *cert_file;    /* written (PEM, 0644) */
    const char *key_file;     /* written (PEM, 0600) */
};

/*
 * Splits a bootstrap token: exactly 4 non-empty '.'-separated parts; hash gets part
 * 1 (it must be 64 hex digits), *jwt parts 2-4 (malloc'd). -EINVAL otherwise.
 */
int certboot_token_split(const char *token, char hash[PKI_SHA256_HEX_LEN], char **jwt);

/*
 * Returns 0 at once when cert_file and key_file load and match (or when
 * <cert_file>.new matches key_file: a renewal interrupted between its renames,
 * completed now); otherwise bootstraps as described above. Errors (logged once with the reason):
 * -EINVAL (no or malformed token), -EKEYREJECTED (the CA's hash does not match the token),
 * -ECONNREFUSED (no httpServer answered), -EACCES (the cloud refused the token),
 * -EBADMSG (unusable answer), -EIO / -errno (files).
 */
int certboot_ensure(const struct certboot_options *o);

/*
 * Milliseconds from now_s (Unix seconds) until the rotation deadline of the
 * certificate in cert_file (0 if already past). -errno if it cannot be read.
 */
int64_t certboot_rotation_delay_ms(const char *cert_file, int64_t now_s);

/*
 * Milliseconds until the next attempt after a failed renewal: a quarter of the
 * certificate's remaining lifetime, at least 1 s and at most 60 s (60 s once it
 * has expired), so that a failing cloudcore is not hammered and a short-lived
 * certificate still gets its retries before it expires. -errno if cert_file
 * cannot be read.
 */
int64_t certboot_retry_delay_ms(const char *cert_file, int64_t now_s);

/* The renewal finished on the loop thread: status 0 (new key and certificate
 * written) or a negative errno. */
typedef void (*certboot_renew_cb)(int status, void *arg);

/*
 * Renews the certificate on the thread pool: new key and CSR, /edge.crt with the
 * current certificate and key as TLS client credentials (no token), files replaced
 * atomically. o must stay valid until cb runs. Returns 0 or a negative errno.
 */
int certboot_renew_start(uv_loop_t *loop, const struct certboot_options *o, certboot_renew_cb cb,
                         void *arg);

#endif
