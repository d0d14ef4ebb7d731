"""Edge certificate rotation end to end (reference §1.3 step 7, issue 4).

Our cloudcore runs without a Kubernetes API (CA from files in its directory).
Our edgecore bootstraps with `rotateCertificates: true`; then its certificate is
replaced by one from the same CA and for the same key whose lifetime is nearly
over, so that the rotation deadline (70-90 % of the lifetime) is due at once.
edgecore must fetch a new certificate from /edge.crt with the current one as
TLS client certificate (no token: it was removed after the bootstrap), reconnect
its WebSocket with it and keep the session, also across a cloudcore restart
after the old certificate has expired.

cloudcore's side: a /edge.crt request with a client certificate that is expired
or from another CA, and no token, is answered 401 (as KubeEdge's cloudcore does),
not by a failed TLS handshake.

Certificates with chosen validity dates are made with `openssl ca` (OpenSSL 3.0's
`openssl x509 -req` cannot set notBefore).
"""
import datetime
import os
import re
import subprocess
import time

import pytest

from conftest import wait_for
from kubeedge_edge import https_request, make_csr
from procs import KEEPALIVE, Cloud, Edge

SUBJECT = "/O=kubeEdge/CN=kubeedge.io"  # what cloudcore's signer keeps of the edge CSR
SIGNING_DAYS = 365                      # cloudHub.edgeCertSigningDuration default

CA_CONF = """[ca]
default_ca = ca_default
[ca_default]
database = {d}/index.txt
new_certs_dir = {d}
serial = {d}/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
organizationName = optional
commonName = supplied
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
"""


def openssl(*args, input=None):
    r = subprocess.run(["openssl", *map(str, args)], capture_output=True, timeout=30,
                       input=input)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout.decode(errors="replace")


def asn1_time(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime(
        "%Y%m%d%H%M%SZ")


def sign(workdir, ca_cert, ca_key, key, out, not_before, not_after, subject=SUBJECT):
    """Signs a client certificate for key (PEM) with ca_cert/ca_key, valid from
    not_before to not_after (Unix seconds); writes PEM to out."""
    d = workdir / f"openssl-ca-{os.path.basename(out)}"
    d.mkdir(exist_ok=True)
    (d / "index.txt").write_text("")
    (d / "serial").write_text(os.urandom(8).hex().upper() + "\n")
    conf = d / "ca.cnf"
    conf.write_text(CA_CONF.format(d=d))
    csr = d / "req.pem"
    openssl("req", "-new", "-key", key, "-subj", subject, "-out", csr)
    openssl("ca", "-batch", "-config", conf, "-cert", ca_cert, "-keyfile", ca_key, "-in", csr,
            "-out", out, "-notext", "-extensions", "client", "-startdate", asn1_time(not_before),
            "-enddate", asn1_time(not_after))


def cert_info(path):
    """(notBefore, notAfter) as Unix seconds, subject, issuer, public key PEM."""
    out = openssl("x509", "-in", path, "-noout", "-startdate", "-enddate", "-subject", "-issuer",
                  "-nameopt", "compat")
    f = dict(line.split("=", 1) for line in out.splitlines())

    def ts(s):
        return int(datetime.datetime.strptime(s.replace(" GMT", ""), "%b %d %H:%M:%S %Y")
                   .replace(tzinfo=datetime.timezone.utc).timestamp())
    pub = openssl("x509", "-in", path, "-noout", "-pubkey")
    return ts(f["notBefore"]), ts(f["notAfter"]), f["subject"], f["issuer"], pub


def key_pub(path):
    return openssl("pkey", "-in", path, "-pubout")


@pytest.fixture
def cloud(tmp_path):
    c = None
    try:
        (tmp_path / "cloud").mkdir()
        c = Cloud(tmp_path / "cloud")
        yield c
    finally:
        if c is not None:
            c.kill()


def test_edge_rotates_expiring_certificate_and_reconnects(cloud, tmp_path):
    e = Edge(tmp_path / "e1", cloud, node="edge-rot", rotate=True)
    try:
        e.start()
        wait_for(lambda: "connected to cloud" in e.text(), timeout=20, what="bootstrap + connect")
        crt, key = e.dir / "certs/server.crt", e.dir / "certs/server.key"
        nb0, na0, _, _, _ = cert_info(crt)
        # a fresh 365-day certificate is not rotated now
        m = re.search(r"certificate rotation scheduled.*in_s=(\d+)", e.text())
        assert m and int(m.group(1)) >= 0.7 * (na0 - nb0) - 60, e.text()
        assert "edge certificate renewed" not in e.text()
        assert e.stop() == 0, e.text()

        # Same key and subject, same CA, 70 s lifetime of which 50 s are gone:
        # the deadline (49-63 s after notBefore) is due within 13 s, the
        # certificate expires 20 s from now.
        now = int(time.time())
        sign(tmp_path, cloud.dir / "ca/rootCA.crt", cloud.dir / "ca/rootCA.key", key, crt,
             now - 50, now + 20)
        nb1, na1, subj1, issuer1, pub1 = cert_info(crt)
        assert (nb1, na1) == (now - 50, now + 20)
        old_key_pub = key_pub(key)
        assert pub1 == old_key_pub

        cloud_mark = len(cloud.text())
        e.start()
        run = lambda: e.text()[e.mark:]  # noqa: E731
        wait_for(lambda: "edge certificate renewed" in run(), timeout=30, what="rotation")
        t_renewed = time.time()
        assert time.time() < na1, "rotated only after the old certificate expired"
        assert "edge certificate issued" in cloud.text()[cloud_mark:], cloud.text()

        # the new certificate: same CA and subject, full signing duration, later notAfter
        nb2, na2, subj2, issuer2, pub2 = cert_info(crt)
        assert na2 > na1
        assert abs((na2 - nb2) - SIGNING_DAYS * 86400) <= 120, (nb2, na2)
        assert subj2 == subj1 and issuer2 == issuer1, (subj2, issuer2)
        openssl("verify", "-CAfile", cloud.dir / "ca/rootCA.crt", crt)
        # certboot renews with a fresh key (like KubeEdge's certmanager): the
        # files match each other, the key stays private, no temporary files remain
        assert key_pub(key) == pub2 and pub2 != old_key_pub
        assert os.stat(key).st_mode & 0o777 == 0o600
        assert sorted(p.name for p in (e.dir / "certs").iterdir()) == ["server.crt", "server.key"]
        # the next rotation is due in ~255-330 days, not now
        m = re.findall(r"certificate rotation scheduled.*in_s=(\d+)", run())
        assert m and int(m[-1]) >= 0.7 * (na2 - nb2) - 60, run()

        # the WebSocket is reconnected (with the new certificate) ...
        wait_for(lambda: run().count("connected to cloud") >= 2, timeout=20,
                 what="reconnect after rotation")
        wait_for(lambda: cloud.text()[cloud_mark:].count("edge connected") >= 2, timeout=10,
                 what="cloudcore sees the second session")
        # ... and stays up past the old certificate's expiry and several keepalive periods
        time.sleep(max(0.0, na1 + 1 - time.time()) + 2 * KEEPALIVE)
        ct = cloud.text()[cloud_mark:]
        assert "no keepalive" not in ct, ct
        last_conn = ct.rfind("edge connected")
        assert "edge disconnected" not in ct[last_conn:], ct
        assert run().count("connected to cloud") == 2, run()
        assert run().count("edge certificate renewed") == 1, run()
        assert "certificate renewal failed" not in run(), run()
        assert time.time() - t_renewed < 120

        # Only the new certificate is valid now: a restarted cloudcore must
        # accept the edge's reconnection.
        cloud.kill()
        wait_for(lambda: "connection to cloud lost" in run(), timeout=15, what="disconnect")
        cloud.start()
        wait_for(lambda: run().count("connected to cloud") >= 3, timeout=40,
                 what="reconnect with the new certificate after cloudcore restart")
        wait_for(lambda: "edge connected" in cloud.text()[cloud.mark:], timeout=10,
                 what="restarted cloudcore logs the session")
        assert e.stop() == 0, e.text()
        assert cloud.stop() == 0, cloud.text()
    finally:
        e.kill()


def test_edge_crt_refuses_expired_or_foreign_client_certificate(cloud, tmp_path):
    ca_crt, ca_key = cloud.dir / "ca/rootCA.crt", cloud.dir / "ca/rootCA.key"
    key, csr_der = make_csr(str(tmp_path))
    now = int(time.time())

    # control: a current certificate from the cloud's CA, no token -> signed
    good = tmp_path / "good.crt"
    sign(tmp_path, ca_crt, ca_key, key, good, now - 60, now + 3600)
    status, body = https_request(cloud.https_port, "/edge.crt", body=csr_der,
                                 headers={"NodeName": "edge-x"}, cafile=str(ca_crt),
                                 cert=(str(good), key))
    assert status == 200, body
    openssl("x509", "-inform", "DER", "-noout", input=body)

    # expired, from the cloud's CA
    expired = tmp_path / "expired.crt"
    sign(tmp_path, ca_crt, ca_key, key, expired, now - 7200, now - 60)
    # current, but from another CA
    other = tmp_path / "other"
    other.mkdir()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", other / "ca.key", "-out", other / "ca.crt", "-subj", "/CN=KubeEdge",
            "-days", "1", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,digitalSignature")
    foreign = tmp_path / "foreign.crt"
    sign(other, other / "ca.crt", other / "ca.key", key, foreign, now - 60, now + 3600)

    for name, cert in (("expired", expired), ("foreign CA", foreign)):
        status, body = https_request(cloud.https_port, "/edge.crt", body=csr_der,
                                     headers={"NodeName": "edge-x"}, cafile=str(ca_crt),
                                     cert=(str(cert), key))
        assert status == 401, (name, status, body)
        assert b"-----BEGIN" not in body and not body.startswith(b"\x30\x82"), name
    assert cloud.text().count("edge certificate issued") == 1, cloud.text()
    assert cloud.stop() == 0, cloud.text()
