# SPDX-License-Identifier: MIT
"""The bed itself: PKI, namespaces, the hub, a plain openvpn client released
by hand, DNS and the vendor cloud, and cleanup after failures. Needs no
supportvpnd, so a broken daemon cannot hide a broken bed (or the reverse)."""

import email.utils
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import bed as tb
from bed import netns as nx
from bed.core import OPENVPN

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def x509(pki, name, *opts):
    return subprocess.run(["openssl", "x509", "-noout", "-in", pki.crt(name)]
                          + list(opts), capture_output=True, text=True,
                          check=True).stdout


def verifies(pki, name, ca):
    r = subprocess.run(["openssl", "verify", "-CAfile", pki.crt(ca),
                        pki.crt(name)], capture_output=True, text=True)
    return r.returncode == 0, r.stdout + r.stderr


# -- PKI --------------------------------------------------------------------------

@pytest.mark.parametrize("name,cn,eku", [
    ("hub", "hub1.support.example", "TLS Web Server Authentication"),
    ("appliance-0001", "appliance-0001", "TLS Web Client Authentication"),
    ("appliance-0002", "appliance-0002", "TLS Web Client Authentication"),
    ("wrongname-hub", "hub1.evil.example", "TLS Web Server Authentication"),
    ("clientasserver", "hub1.support.example",
     "TLS Web Client Authentication"),
])
def test_pki_leaf(pki, name, cn, eku):
    text = pki.text(name)
    assert f"Subject: CN = {cn}\n" in text
    after = text.split("X509v3 Extended Key Usage:")[1].split("\n")[1].strip()
    assert after == eku
    assert "ASN1 OID: prime256v1" in text
    if name == "hub":
        assert "Digital Signature, Key Encipherment" in text
    ok, out = verifies(pki, name, "ca")
    assert ok, out


def test_pki_rogues(pki):
    ok, out = verifies(pki, "foreign-hub", "ca")
    assert not ok
    assert verifies(pki, "foreign-hub", "foreign-ca")[0]
    ok, out = verifies(pki, "expired-hub", "ca")
    assert not ok and "expired" in out
    assert "notAfter=Jan  1 00:00:00 2021 GMT" in x509(pki, "expired-hub",
                                                        "-enddate")
    assert not verifies(pki, "ca2-hub", "ca")[0]
    assert verifies(pki, "ca2-hub", "ca2")[0]
    assert pki.ca_of("ca2-hub") == pki.crt("ca2")


def test_pki_fingerprint_matches_openssl(pki):
    out = x509(pki, "ca", "-fingerprint", "-sha256")
    assert out.strip().split("=", 1)[1].replace(":", "").lower() == \
        pki.fingerprint("ca")
    assert pki.fingerprint("ca") != pki.fingerprint("ca2")


def test_pki_plugin_helpers(pki):
    """What the plugin tests build on: the no-EKU rogue, the two-root
    bundle, openssl's fingerprint spellings, and the policy file."""
    text = pki.text("noeku-hub")
    assert "Subject: CN = hub1.support.example\n" in text
    assert "Extended Key Usage" not in text
    assert verifies(pki, "noeku-hub", "ca")[0]
    bundle = pki.bundle("ca+ca2", ["ca", "ca2"])
    assert bundle == pki.crt("ca+ca2")
    for leaf in ("hub", "ca2-hub"):
        r = subprocess.run(["openssl", "verify", "-CAfile", bundle,
                            pki.crt(leaf)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    fp = pki.fingerprint_openssl("ca")
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", fp), fp
    line = pki.fingerprint_openssl("ca", whole_line=True)
    assert line.lower().startswith("sha256 fingerprint=") and \
        line.endswith(fp)
    for spelling in (fp, line, fp.replace(":", "").lower(),
                     "sha256:" + pki.fingerprint("ca")):
        assert tb.normalize_fingerprint(spelling) == \
            "sha256:" + pki.fingerprint("ca")
    with pytest.raises(tb.pki.PkiError):
        tb.normalize_fingerprint(fp[:-3])
    path = tb.write_policy(os.path.join(pki.dir, "policy-test.json"), pki,
                           server_names=["hub1.support.example"],
                           roots=("ca", "ca2"))
    assert os.stat(path).st_mode & 0o777 == 0o644
    with open(path) as f:
        doc = json.load(f)
    assert doc == {"server_names": ["hub1.support.example"],
                   "ca_sha256": [fp, pki.fingerprint_openssl("ca2")]}
    os.unlink(path)


# -- the network ----------------------------------------------------------------------

def test_namespaces_and_addresses(net):
    for role in ("inet", "hub", "dev"):
        assert nx.netns_exists(net.ns(role))
    assert ("eth0", "198.51.100.1/24") in nx.addresses(net.ns("hub"))
    assert ("eth0", "198.51.100.10/24") in nx.addresses(net.ns("dev"))
    assert ("br0", "198.51.100.254/24") in nx.addresses(net.ns("inet"))
    routes = nx.ip("route", "show", "default", ns=net.ns("dev")).stdout
    assert "via 198.51.100.254" in routes
    # The hub's tun holds the pool's first address.
    assert ("tun0", "203.0.113.1/24") in nx.addresses(net.ns("hub"))


def test_dev_reaches_hub_over_inet(net):
    svc = tb.TcpService(net.ns("hub"), 8081, "hub here")
    try:
        got = net.probe("dev", "198.51.100.1", 8081, expect="hub here")
        assert got and b"hub here" in got
    finally:
        svc.close()


def test_plain_openvpn_held_then_released_by_hand(net, service):
    """The bed's core: a client openvpn held in dev connects only after a
    hand-made `hold release`, and the hub then reaches dev's service."""
    conf = os.path.join(net.dir, "plain-client.ovpn")
    with open(conf, "w") as f:
        f.write(tb.client_config(net.pki))
    sock = os.path.join(net.dir, "plain-client.sock")
    p = net.spawn("plain-client", "dev",
                  [OPENVPN, "--config", conf, "--management", sock, "unix",
                   "--management-hold", "--management-signal"])
    try:
        tb.wait_until(lambda: os.path.exists(sock), 5, desc="mgmt socket")
        with tb.MgmtClient(sock) as m:
            m.wait_for(">HOLD:Waiting for hold release")
            time.sleep(1.0)
            assert not [a for _, a in nx.addresses(net.ns("dev"))
                        if a.startswith("203.0.113.")], "connected while held"
            assert m.command("state on") == [
                "SUCCESS: real-time state notification set to ON"]
            assert m.command("hold release") == [
                "SUCCESS: hold release succeeded"]
            st = m.wait_for(">STATE:", contains=",CONNECTED,", timeout=15)
            f = st[len(">STATE:"):].split(",")
            assert f[2] == "SUCCESS" and f[4] == "198.51.100.1"
            ip = f[3]
            assert ip.startswith("203.0.113.")
            got = net.probe("hub", ip, 8080, expect="hello from appliance-0001")
            assert got and b"hello from appliance-0001" in got
            assert "appliance-0001" in net.hub.log_text()
            # Losing the management client drops the tunnel into a hold.
        tb.wait_until(lambda: not [a for _, a in nx.addresses(net.ns("dev"))
                                   if a.startswith("203.0.113.")], 5,
                      desc="tun to go after the management client left")
        with tb.MgmtClient(sock) as m:
            m.wait_for(">HOLD:")
            state = m.command("state")
            assert "RECONNECTING,management-disconnect" in state[-1]
    finally:
        assert p.stop() is not None
    assert net.probe("hub", ip, 8080, timeout=1.0) is None


def test_hub_swaps_certificates_in_place(net):
    """swap_hub: the same address and port, another certificate, quickly;
    restore_hub brings the plain hub back (and is a no-op when it runs)."""
    plain = net.hub
    t0 = time.monotonic()
    rogue = net.swap_hub(cert="wrongname-hub")
    took = time.monotonic() - t0
    try:
        assert took < 3, f"swapping the hub took {took:.1f}s"
        assert not plain.proc.alive() and rogue.proc.alive()
        assert (rogue.ip, rogue.port) == (plain.ip, plain.port)
        assert rogue.cert == "wrongname-hub"
        assert rogue.log != plain.log and "hub-wrongname-hub" in rogue.log
        assert "Initialization Sequence Completed" in rogue.log_text()
    finally:
        back = net.restore_hub()
    assert back is not rogue and back.cert == "hub" and back.proc.alive()
    assert not rogue.proc.alive()
    assert net.restore_hub() is back


def test_dns_cloud_and_resolv_conf(pki):
    with tb.Bed(pki, roles=("hub", "dev", "dev2", "staff")) as b:
        b.start_dns()
        b.start_cloud()
        path = b.write_resolv_conf("dev")
        assert path == f"/etc/netns/{b.ns('dev')}/resolv.conf"
        r = b.exec("dev", ["getent", "hosts", "hub1.support.example"])
        assert r.stdout.split() == ["198.51.100.1", "hub1.support.example"]
        r = b.exec("dev", ["curl", "-sS", "-m", "5",
                           "http://cloud.support.example/"])
        assert r.stdout.strip() == "198.51.100.10", r
        r = b.exec("dev2", ["curl", "-sS", "-m", "5",
                            "http://198.51.100.1/json"])
        assert r.stdout.strip() == '{"ip": "198.51.100.11"}', r
        r = b.exec("staff", ["curl", "-sS", "-m", "5",
                             "http://198.51.100.1/"])
        assert r.stdout.strip() == "192.0.2.10", r
        r = b.exec("dev", ["getent", "hosts", "example.com"])
        assert r.returncode != 0, "names outside the bed must not resolve"
        prefix = b.prefix
    assert not os.path.exists(f"/etc/netns/{prefix}-dev")
    assert not tb.our_netns([prefix])


def _dns_query(net, server, name="cloud.support.example", timeout=1.0):
    """One A query over UDP from dev; the answer's bytes, or None."""
    import socket
    import struct
    q = struct.pack("!HHHHHH", 0x5356, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    q += b"\0" + struct.pack("!HH", 1, 1)
    s = nx.socket_in(net.ns("dev"), type=socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(q, (server, 53))
        return s.recv(4096)
    except OSError:
        return None
    finally:
        s.close()


def test_network_is_healthy_for_the_checks(net):
    """What the prerequisite checks see on `net`: a default gateway that
    answers ping, resolv.conf naming dnsmasq, the cloud name resolving, the
    cloud answering dev's address."""
    assert net.default_route("dev") == "default via 198.51.100.254 dev eth0"
    assert net.exec("dev", ["ping", "-c1", "-W2", "198.51.100.254"]
                    ).returncode == 0
    with open(f"/etc/netns/{net.ns('dev')}/resolv.conf") as f:
        assert f.read() == "nameserver 198.51.100.1\n"
    r = net.exec("dev", ["getent", "hosts", "cloud.support.example"])
    assert r.stdout.split() == ["198.51.100.1", "cloud.support.example"]
    r = net.exec("dev", ["curl", "-sS", "-m", "3", tb.core.CLOUD_URL])
    assert r.stdout == "198.51.100.10\n", r


def test_network_controls_and_restore(net):
    """Each knob the check tests turn, and restore_network undoing all."""
    def curl(*extra):
        return net.exec("dev", ["curl", "-sS", "-m", "1", "-i"] +
                        list(extra) + [tb.core.CLOUD_URL])
    try:
        net.cloud_mode("json", date_offset_s=-2 * 86400)
        r = curl()
        assert '{"ip": "198.51.100.10"}' in r.stdout, r
        date = re.search(r"^Date: (.*?)\s*$", r.stdout, re.M).group(1)
        skew = time.time() - \
            email.utils.parsedate_to_datetime(date).timestamp()
        assert abs(skew - 2 * 86400) < 60, date
        net.cloud_mode("garbage")
        assert "It works!" in curl().stdout
        net.cloud_mode("status", status=503)
        assert curl().stdout.startswith("HTTP/1.0 503"), curl()
        net.cloud_mode("hang")
        t0 = time.monotonic()
        r = curl()
        assert r.returncode == 28 and time.monotonic() - t0 >= 0.9, r
        n = len(net.cloud_requests())
        net.stop_cloud()
        assert curl().returncode == 7
        assert len(net.cloud_requests()) == n
        net.stop_dns()
        assert _dns_query(net, "198.51.100.1", timeout=0.5) is None
        silent = net.silent_dns()
        assert _dns_query(net, tb.core.SILENT_DNS_IP, timeout=0.5) is None
        assert silent.received >= 1
        net.write_resolv_conf("dev", text="")
        net.set_default_route("dev", tb.core.NOBODY_IP)
        assert net.exec("dev", ["ping", "-c1", "-W1", tb.core.NOBODY_IP]
                        ).returncode != 0
        net.set_default_route("dev", None)
        assert net.default_route("dev") == ""
    finally:
        net.restore_network()
    test_network_is_healthy_for_the_checks(net)
    assert _dns_query(net, "198.51.100.1") is not None
    assert ("eth0", "198.51.100.53/24") not in nx.addresses(net.ns("hub"))
    r = net.exec("dev", ["curl", "-sS", "-m", "3", "http://198.51.100.1/json"])
    assert r.stdout.strip() == '{"ip": "198.51.100.10"}', r


def test_host_is_untouched(pki):
    """Building and removing a bed leaves the root namespace's links,
    addresses and routes as they were."""
    def snapshot():
        return [nx.run(["ip", "-o", "link", "show"]).stdout,
                nx.run(["ip", "-o", "addr", "show"]).stdout,
                nx.run(["ip", "route", "show", "table", "all"]).stdout]

    before = snapshot()
    with tb.Bed(pki, roles=("hub", "dev", "dev2", "staff")) as b:
        b.start_hub()
        during = snapshot()
    after = snapshot()
    assert during == before
    assert after == before


# -- cleanup after failures ----------------------------------------------------------

CHILD = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {tests!r})
    import bed as tb
    pki = tb.Pki(sys.argv[2])      # the session's, already generated
    mode = sys.argv[1]
    if mode == "atexit":
        b = tb.Bed(pki, roles=("hub", "dev", "dev2", "staff")).setup()
    else:
        b = tb.Bed(pki, roles=("hub", "dev", "dev2", "staff")).__enter__()
    try:
        b.start_hub()
        b.spawn("sleeper", "dev", ["sleep", "300"])
        print("PREFIX", b.prefix, flush=True)
        print("PIDS", " ".join(str(p.pid) for p in b.procs), flush=True)
        print("DIR", b.dir, flush=True)
        if mode in ("raise", "atexit"):
            raise RuntimeError("induced failure mid-way")
        time.sleep(60)   # waiting to be interrupted
    except BaseException as e:
        if mode != "atexit":
            b.__exit__(type(e), e, None)
        raise
""")


@pytest.mark.parametrize("mode", ["raise", "atexit", "sigint", "sigterm"])
def test_cleanup_after_induced_failure(mode, pki):
    script = os.path.join(pki.dir, "child.py")
    with open(script, "w") as f:
        f.write(CHILD.format(tests=TESTS_DIR))
    p = subprocess.Popen([sys.executable, script, mode, pki.dir],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    info = {}
    try:
        for line in p.stdout:
            k, _, v = line.strip().partition(" ")
            info[k] = v
            if k == "DIR":
                break
        assert "PREFIX" in info, p.stderr.read()
        prefix = info["PREFIX"]
        assert len(tb.our_netns([prefix])) == 5
        if mode in ("sigint", "sigterm"):
            p.send_signal(signal.SIGINT if mode == "sigint"
                          else signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode != 0
    assert ("induced failure" in err) or mode in ("sigint", "sigterm"), err
    assert tb.our_netns([prefix]) == [], "namespaces left behind"
    for pid in map(int, info["PIDS"].split()):
        assert not nx.pid_alive(pid), f"pid {pid} left behind"
    # A failed run keeps its artefacts, and says where.
    assert os.path.isdir(info["DIR"])
    assert info["DIR"] in err
    shutil.rmtree(info["DIR"])


def test_sweep_removes_only_dead_runs(pki):
    """sweep_stale() removes a dead run's namespaces and leaves live ones."""
    with tb.Bed(pki, roles=("dev",)) as live:
        # A fake dead run: its owner file names a pid that does not exist.
        dead = "sv" + "0" * 6
        dead_dir = os.path.join(tb.core.RUN_ROOT, f"supportvpn-bed-{dead}")
        os.makedirs(dead_dir, exist_ok=True)
        with open(os.path.join(dead_dir, "owner"), "w") as f:
            f.write("999999999\n")
        nx.run(["ip", "netns", "add", f"{dead}-dev"])
        try:
            removed = tb.sweep_stale(log=lambda m: None)
            assert removed == [f"{dead}-dev"]
            assert nx.netns_exists(live.ns("dev"))
        finally:
            nx.delete_netns(f"{dead}-dev")
            shutil.rmtree(dead_dir, ignore_errors=True)
