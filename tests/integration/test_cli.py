"""The four programs' command lines: --help, --version, --defaultconfig, --config
validation and usage errors, as a user sees them."""
import pytest
import yaml

from conftest import run

PROGRAMS = ["cloudcore", "edgecore", "keadm", "cedge-apiserver"]
DAEMONS = ["cloudcore", "edgecore", "cedge-apiserver"]


@pytest.mark.parametrize("prog", PROGRAMS)
def test_help_and_version(prog):
    h = run(prog, "--help")
    assert h.returncode == 0, h.stderr
    assert prog in h.stdout and "--version" in h.stdout
    v = run(prog, "--version")
    assert v.returncode == 0
    assert v.stdout.startswith(f"{prog} version 0.")


@pytest.mark.parametrize("prog", DAEMONS)
def test_help_lists_the_configuration_table(prog):
    out = run(prog, "--help").stdout
    assert "Configuration file options" in out
    d = yaml.safe_load(run(prog, "--defaultconfig").stdout)
    # every leaf of the default config is documented in --help
    def leaves(node, prefix=""):
        for k, v in node.items():
            if k in ("apiVersion", "kind") and not prefix:
                continue
            path = f"{prefix}{k}"
            if isinstance(v, dict):
                yield from leaves(v, path + ".")
            else:
                yield path
    for leaf in leaves(d):
        assert f"  {leaf} (" in out, leaf


def test_cloudcore_defaultconfig_has_kubeedge_keys():
    r = run("cloudcore", "--defaultconfig")
    assert r.returncode == 0
    d = yaml.safe_load(r.stdout)
    assert d["apiVersion"] == "cloudcore.config.kubeedge.io/v1alpha1"
    assert d["kind"] == "CloudCore"
    hub = d["modules"]["cloudHub"]
    assert hub["websocket"]["port"] == 10000
    assert hub["https"]["port"] == 10002
    assert hub["keepaliveInterval"] == 30
    assert hub["nodeLimit"] == 500
    assert d["kubeAPIConfig"]["qps"] == 2500
    assert d["leaderelection"]["leaseDuration"] == "15s"


def test_edgecore_defaultconfig_has_kubeedge_keys():
    d = yaml.safe_load(run("edgecore", "--defaultconfig").stdout)
    assert d["apiVersion"] == "edgecore.config.kubeedge.io/v1alpha2"
    assert d["modules"]["edgeHub"]["heartbeat"] == 15
    assert d["modules"]["edgeHub"]["websocket"]["server"] == "127.0.0.1:10000"
    assert d["modules"]["metaManager"]["metaServer"]["server"] == "127.0.0.1:10550"
    assert d["database"]["dataSource"] == "/var/lib/kubeedge/edgecore.db"


def test_edgecore_without_certificate_or_token_says_so(tmp_path):
    # the default config with its paths moved into the temp dir: valid, but
    # with no certificate and no bootstrap token there is nothing to connect with
    text = run("edgecore", "--defaultconfig").stdout
    text = text.replace("/etc/kubeedge", str(tmp_path / "etc"))
    text = text.replace("/var/lib/kubeedge", str(tmp_path / "var"))
    f = tmp_path / "edgecore.yaml"
    f.write_text(text)
    r = run("edgecore", "--config", f)
    assert r.returncode == 1
    assert "no edge certificate and no token to request one" in r.stderr
    assert not (tmp_path / "etc" / "certs" / "server.key").exists()


def test_cloudcore_runs_on_its_default_config_and_stops_cleanly(tmp_path):
    import signal
    import subprocess
    from conftest import BIN, free_port, wait_for
    text = run("cloudcore", "--defaultconfig").stdout
    ws, https = free_port(), free_port()
    text = text.replace("/etc/kubeedge", str(tmp_path / "kubeedge"))
    text = text.replace('"0.0.0.0"', '"127.0.0.1"')
    text = text.replace("port: 10000", f"port: {ws}").replace("port: 10002", f"port: {https}")
    (tmp_path / "c.yaml").write_text(text)
    p = subprocess.Popen([str(BIN / "cloudcore"), "--config", str(tmp_path / "c.yaml")],
                         stderr=subprocess.PIPE, text=True)
    try:
        import socket
        for port in (ws, https):
            wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close()
                     or True, what="listening")
        assert (tmp_path / "kubeedge" / "ca" / "token").exists()
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert "running without a Kubernetes API" in err and "shutting down" in err


def test_apiserver_runs_on_its_default_config_and_stops_cleanly(tmp_path):
    import signal
    import subprocess
    from conftest import BIN, free_port, wait_for
    text = run("cedge-apiserver", "--defaultconfig").stdout
    port = free_port()
    text = text.replace("/var/lib/cedge-apiserver", str(tmp_path / "data"))
    text = text.replace("127.0.0.1:6443", f"127.0.0.1:{port}")
    (tmp_path / "c.yaml").write_text(text)
    p = subprocess.Popen([str(BIN / "cedge-apiserver"), "--config", str(tmp_path / "c.yaml")],
                         stderr=subprocess.PIPE, text=True)
    try:
        import socket
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True,
                 what="listening")
        assert (tmp_path / "data" / "admin.kubeconfig").exists()
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert f"listen=127.0.0.1:{port}" in err and "shutting down" in err


def test_config_errors_name_file_line_and_key(tmp_path):
    f = tmp_path / "cloudcore.yaml"
    f.write_text("apiVersion: cloudcore.config.kubeedge.io/v1alpha1\n"
                 "kind: CloudCore\n"
                 "modules:\n"
                 "  cloudHub:\n"
                 "    websocket:\n"
                 "      port: 99999\n"
                 "    nodeLimit: lots\n"
                 "    colour: blue\n"
                 "leaderelection:\n"
                 "  leaderElect: maybe\n")
    r = run("cloudcore", "--config", f)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert lines == [
        f"{f}:6: modules.cloudHub.websocket.port: 99999 is out of range [1, 65535]",
        f"{f}:7: modules.cloudHub.nodeLimit: expected an integer",
        f"{f}:8: modules.cloudHub.colour: unknown key",
        f"{f}:10: leaderelection.leaderElect: expected a boolean (true or false)",
    ]


def test_config_not_yaml(tmp_path):
    f = tmp_path / "edgecore.yaml"
    f.write_text("modules:\n  edgeHub: [unclosed\n")
    r = run("edgecore", "--config", f)
    assert r.returncode == 2
    assert r.stderr.startswith(f"{f}:")
    assert "(yaml)" in r.stderr


def test_config_missing_file(tmp_path):
    r = run("edgecore", "--config", tmp_path / "nope.yaml")
    assert r.returncode == 2
    assert "nope.yaml: cannot open: No such file or directory" in r.stderr


@pytest.mark.parametrize("args,needle", [
    (["--bogus"], "--bogus: unknown option"),
    (["--config"], "--config: needs a value"),
    (["-v", "loud"], "unknown log level \"loud\""),
    (["extra"], "extra: unexpected argument"),
])
def test_usage_errors(args, needle):
    r = run("cloudcore", *args)
    assert r.returncode == 2
    assert needle in r.stderr


def test_keadm_commands():
    h = run("keadm", "--help")
    for cmd in ("init", "join", "reset", "gettoken", "ctl"):
        assert f"  {cmd} " in h.stdout
    r = run("keadm", "frobnicate")
    assert r.returncode == 2
    assert "frobnicate: unknown command" in r.stderr
    r = run("keadm")
    assert r.returncode == 2
    r = run("keadm", "--defaultconfig")
    assert r.returncode == 0
    assert "no configuration file of its own" in r.stdout


@pytest.mark.parametrize("listen", ["nonsense", "127.0.0.1:99999", ":", "[::1]6443"])
def test_apiserver_bad_listen_is_a_usage_error(listen, tmp_path):
    r = run("cedge-apiserver", "--data-dir", tmp_path / "d", "--listen", listen)
    assert r.returncode == 2
    assert f'listen: "{listen}" is not HOST:PORT' in r.stderr
    assert not (tmp_path / "d").exists()  # nothing was created
