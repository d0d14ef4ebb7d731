/*
 * gettoken.c - `keadm gettoken [--kube-config FILE]`: prints the bootstrap
 * token cloudcore keeps in secret kubeedge/tokensecret (key tokendata,
 * base64 in data) and a newline (reference §11).
 *
 * The kubeconfig is --kube-config, else $KUBECONFIG, else ~/.kube/config.
 * One GET on the asynchronous client, run on a private loop until it ends
 * (the client's timeout bounds it).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "keadm/keadm.h"
#include "net/kubeclient.h"

#define MAX_TOKEN (64 * 1024)

struct result {
    bool done;
    int err;
    int code;
    char *error;  /* owned */
    char *base64; /* tokendata, owned; NULL when absent */
};

static void on_get(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct result *r = arg;
    const char *v;

    (void)req;
    r->done = true;
    r->err = resp->err;
    r->code = resp->code;
    r->error = xstrdup(resp->err ? resp->error : resp->status.message);
    v = json_string_value(json_object_get(json_object_get(resp->object, "data"), "tokendata"));
    if (resp->code == 200 && v)
        r->base64 = xstrdup(v);
}

static int fetch(const char *kubeconfig, struct result *r)
{
    struct kube_client *c = NULL;
    uv_loop_t loop;
    const struct kube_gvr secrets = {"", "v1", "secrets"};

    if (keadm_kube_open("gettoken", kubeconfig, &loop, &c) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    kube_get(c, &secrets, "kubeedge", "tokensecret", on_get, r);
    while (!r->done)
        uv_run(&loop, UV_RUN_ONCE);
    keadm_kube_close(&loop, c);
    return CLI_EXIT_OK;
}

int keadm_gettoken(int argc, char **argv)
{
    const char *kubeconfig = NULL;
    bool help = false;
    const struct cli_option opts[] = {
        {"kube-config", 0, CLI_STRING, &kubeconfig, "FILE",
         "kubeconfig of the cluster (default $KUBECONFIG, else ~/.kube/config)"},
        {"help", 'h', CLI_FLAG, &help, NULL, "print this help and exit"},
    };
    int pos = 1;
    struct result r = {0};

    if (cli_parse("keadm gettoken", opts, ARRAY_SIZE(opts), argc, argv, &pos) < 0)
        return CLI_EXIT_USAGE;
    if (help) {
        printf("Usage: keadm gettoken [--kube-config FILE]\n\n"
               "Prints the token edge nodes join with (secret kubeedge/tokensecret).\n\n");
        cli_print_options(opts, ARRAY_SIZE(opts), stdout);
        return CLI_EXIT_OK;
    }
    if (pos < argc) {
        fprintf(stderr, "keadm: gettoken: unexpected argument %s\n", argv[pos]);
        return CLI_EXIT_USAGE;
    }
    int code = fetch(kubeconfig, &r);
    if (code != CLI_EXIT_OK) {
        /* the kubeconfig error is printed */
    } else if (r.err) {
        fprintf(stderr, "keadm: gettoken: cannot reach the Kubernetes API: %s\n", r.error);
        code = CLI_EXIT_FAILURE;
    } else if (r.code == 404 || (r.code == 200 && !r.base64)) {
        fprintf(stderr,
                "keadm: gettoken: secret kubeedge/tokensecret not found (is cloudcore running?)\n");
        code = CLI_EXIT_FAILURE;
    } else if (r.code != 200) {
        fprintf(stderr, "keadm: gettoken: reading secret kubeedge/tokensecret: HTTP %d: %s\n",
                r.code, r.error);
        code = CLI_EXIT_FAILURE;
    } else {
        struct buf b = BUF_INIT(MAX_TOKEN);
        if (base64_decode(&b, r.base64, strlen(r.base64), false) < 0 || b.len == 0) {
            fprintf(stderr, "keadm: gettoken: secret kubeedge/tokensecret: tokendata is not "
                            "valid base64\n");
            code = CLI_EXIT_FAILURE;
        } else {
            printf("%.*s\n", (int)b.len, b.data);
        }
        buf_release(&b);
    }
    free(r.error);
    free(r.base64);
    return code;
}
