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

static char *default_kubeconfig(void)
{
    const char *env = getenv("KUBECONFIG");
    const char *home = getenv("HOME");

    if (env && env[0]) {
        /* client-go takes the first existing file of a list; the first is enough here. */
        const char *colon = strchr(env, ':');
        return colon ? xasprintf("%.*s", (int)(colon - env), env) : xstrdup(env);
    }
    return xasprintf("%s/.kube/config", home && home[0] ? home : "");
}

static int fetch(const char *path, struct result *r)
{
    struct kube_config kc;
    struct kube_client *c = NULL;
    uv_loop_t loop;
    char msg[512];
    const struct kube_gvr secrets = {"", "v1", "secrets"};
    const struct kube_client_options opt = {.timeout_ms = 20000, .user_agent = "keadm"};

    if (kube_config_load_file(path, &kc, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "keadm: gettoken: %s\n", msg);
        return CLI_EXIT_FAILURE;
    }
    uv_loop_init(&loop);
    int rc = kube_client_new(&loop, &kc, &opt, &c);
    kube_config_release(&kc);
    if (rc < 0) {
        fprintf(stderr, "keadm: gettoken: %s: cannot create a client: %s\n", path, strerror(-rc));
        uv_loop_close(&loop);
        return CLI_EXIT_FAILURE;
    }
    kube_get(c, &secrets, "kubeedge", "tokensecret", on_get, r);
    while (!r->done)
        uv_run(&loop, UV_RUN_ONCE);
    kube_client_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
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
    char *path = kubeconfig ? xstrdup(kubeconfig) : default_kubeconfig();
    int code = fetch(path, &r);
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
    free(path);
    free(r.error);
    free(r.base64);
    return code;
}
