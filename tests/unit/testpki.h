/*
 * testpki.h - TLS material for unit tests that run our servers and clients:
 * a temporary directory holding a CA and a server (IP SAN 127.0.0.1) and a
 * client certificate signed by it, made with the openssl CLI (an
 * independent implementation, so the tests do not check pki.c with itself).
 * Test code only; include it with #include "../testpki.h".
 */
#ifndef CEDGE_TESTS_TESTPKI_H
#define CEDGE_TESTS_TESTPKI_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/mem.h"

#define TESTPKI_EC "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

/* Runs a shell command inside dir; the test fails if it does. */
static inline void testpki_sh(const char *dir, const char *cmd)
{
    char *full = xasprintf("cd %s && (%s) >/dev/null 2>&1", dir, cmd);
    assert_int_equal(system(full), 0);
    free(full);
}

/* Makes a fresh directory from a template such as "/tmp/cedge-x-XXXXXX" (modified). */
static inline void testpki_dir(char *tmpl)
{
    assert_non_null(mkdtemp(tmpl));
}

/* <ca>.crt/.key (CN ca_cn), srv.crt/.key (CN server_cn, SAN IP:127.0.0.1 and
 * DNS:localhost, EKU serverAuth) and cli.crt/.key (CN client_cn, EKU clientAuth)
 * signed by <ca>, in dir. */
static inline void testpki_make(const char *dir, const char *ca, const char *ca_cn,
                                const char *server_cn, const char *client_cn)
{
    char *cmd = xasprintf(
        "openssl req -x509 " TESTPKI_EC " -keyout %s.key -out %s.crt -days 2 -subj /CN=%s && "
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' "
        "> srv.ext && printf 'extendedKeyUsage=clientAuth\\n' > cli.ext && "
        "openssl req " TESTPKI_EC " -keyout srv.key -out srv.csr -subj /CN=%s && "
        "openssl x509 -req -in srv.csr -CA %s.crt -CAkey %s.key -CAcreateserial -out srv.crt "
        "-days 2 -extfile srv.ext && "
        "openssl req " TESTPKI_EC " -keyout cli.key -out cli.csr -subj /CN=%s && "
        "openssl x509 -req -in cli.csr -CA %s.crt -CAkey %s.key -CAcreateserial -out cli.crt "
        "-days 2 -extfile cli.ext",
        ca, ca, ca_cn, server_cn, ca, ca, client_cn, ca, ca);
    testpki_sh(dir, cmd);
    free(cmd);
}

/* "<dir>/<name>", malloc'd. */
static inline char *testpki_path(const char *dir, const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

static inline void testpki_remove(const char *dir)
{
    char *cmd = xasprintf("rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

#endif
