# SPDX-License-Identifier: MIT
"""Issue #3: the OpenVPN plugin on the real bed (DESIGN.md sections 4 and 5).

Every appliance here runs openvpn with build/openvpn-plugin-supportvpn.so and
a client config WITHOUT remote-cert-tls and verify-x509-name, so whatever
keeps a rogue hub out is the plugin (or openvpn's own chain check against its
`ca` file), never a client option. The hub is swapped in place (same address
and port) for one presenting each rogue certificate:

    (a) foreign-hub     a foreign CA               openvpn: unknown issuer
    (b) wrongname-hub   CN hub1.evil.example       plugin: server_name
        deepname-hub    CN x.hub1.support.example  plugin: server_name ('*'
                                                   is one label only)
    (c) clientasserver  clientAuth EKU only        openvpn: purpose (OpenSSL
                                                   checks it before the plugin)
        noeku-hub       no EKU at all              plugin: server_eku (OpenSSL
                                                   lets it pass)
    (d) ca2-hub         a second root the client's plugin: ca_pin
                        ca file also trusts
    (e) expired-hub     expired in 2021            openvpn: expired

Then: the right hub (CN and fingerprint in the status), owner consent (a
hold released by hand after the controller died), the peer events, the
privilege drop with a TLS renegotiation, an unusable policy, and a forged
datagram on events.sock.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

import bed as tb
from conftest import reaches, start_connected, wait_held

# How long a rogue hub is watched after `start`: long enough for openvpn to
# try it two or three times (connect-retry 1 1).
WATCH_S = 2.5
# How long openvpn is watched after a hold released by hand.
CONSENT_WATCH_S = 3.0
HUB_CN = "hub1.support.example"
FP_RE = re.compile(r"^sha256:[0-9a-f]{64}$")

# Regression: openvpn echoes a plugin refusal as "VERIFY PLUGIN ERROR: ...";
# the daemon once took that line for openvpn's own verdict, replacing the
# plugin's refusal (with its rule) in `detail` and sending a rule-less
# duplicate peer event. check_detail_rule() guards against both.


def plugin_refusal_named(detail, rule):
    """The detail as on_tls_verify() words a plugin refusal of `rule`."""
    if rule == "policy":
        return "every support server is refused because the plugin's " \
            "policy" in detail and "is unusable" in detail
    if rule == "consent":
        return "no owner consent" in detail
    return f"({rule}: " in detail and "which is not a vendor support" in detail


def require_plugin():
    if not os.path.exists(tb.plugin_path()):
        pytest.fail(f"{tb.plugin_path()} is missing: build it first (make)",
                    pytrace=False)


@pytest.fixture
def make_plugin_appliance(make_appliance):
    """make_appliance with the plugin on."""
    require_plugin()

    def make(**kw):
        kw.setdefault("plugin", True)
        return make_appliance(**kw)
    return make


@pytest.fixture
def right_hub(net):
    """The vendor's real hub (hub1.support.example by the vendor CA)."""
    return net.restore_hub()


@pytest.fixture
def swap_hub(net):
    """swap_hub(cert): the hub, on the same address and port, now presents
    `cert`; the real hub is back after the test."""
    def swap(cert):
        return net.swap_hub(cert=cert)
    yield swap
    net.restore_hub()


def hub_peers(net):
    return net.hub.log_text().count("[appliance-0001] Peer Connection "
                                    "Initiated")


def watch_refused(app, seconds=WATCH_S, until=None):
    """Starts the VPN and watches state and peer events for `seconds`
    (longer, up to 15 s, until until(events) holds). Fails if `vpn` is ever
    connected or a tun address shows. Returns (events, final status)."""
    with app.api(timeout=10) as c:
        c.subscribe(["state", "peer"])
        s = c.call("start")
        assert s["vpn"] in ("starting", "stopped"), s
        t0 = time.monotonic()
        hard = t0 + 15
        while True:
            now = time.monotonic()
            if now >= hard or (now - t0 >= seconds and
                               (until is None or until(c.events))):
                break
            c.drain(0.25)
            bad = [e for e in c.events if e.get("event") == "state" and
                   e.get("vpn") == "connected"]
            assert not bad, f"the VPN connected to a refused hub: {bad[0]}"
            assert app.tunnel_addrs() == [], "a tunnel came up"
        s = c.status()
    assert s["vpn"] != "connected" and "tunnel" not in s, s
    assert s["openvpn"]["state"] != "CONNECTED", s
    return c.events, s


def peer_events(events, kind=None):
    return [e for e in events if e.get("event") == "peer" and
            (kind is None or e.get("kind") == kind)]


def state_details(events):
    return [e.get("detail", "") for e in events if e.get("event") == "state"]


def check_detail_rule(s, events, rule):
    """The plugin's refusal, with its rule, reached `detail` (a state event)
    and the status still shows it; and it was reported once per handshake,
    never again without its rule."""
    details = state_details(events)
    assert any(plugin_refusal_named(d, rule) for d in details), \
        f"no state detail named the plugin's refusal ({rule}): {details}"
    echoes = [e for e in peer_events(events, "tls_verify")
              if e.get("result") == "refused" and "rule" not in e]
    assert plugin_refusal_named(s["detail"], rule), \
        f"status.detail does not name the refusal ({rule}): {s['detail']!r}"
    # Once named, the refusal stays in view through every retry.
    first = next(i for i, d in enumerate(details)
                 if plugin_refusal_named(d, rule))
    lost = [d for d in details[first:] if not plugin_refusal_named(d, rule)]
    assert not lost, f"a retry replaced the refusal in detail: {lost}"
    assert not echoes, f"rule-less refusals besides the plugin's: {echoes}"


# -- (a)-(e): rogue hubs ------------------------------------------------------

# cert, client's ca, who refuses: ("plugin", rule, cn) or ("openvpn", regex)
ROGUES = [
    pytest.param("foreign-hub", "ca",
                 ("openvpn", r"unable to get local issuer certificate"),
                 id="a-foreign-ca"),
    pytest.param("wrongname-hub", "ca",
                 ("plugin", "server_name", "hub1.evil.example"),
                 id="b-name-outside-policy"),
    pytest.param("deepname-hub", "ca",
                 ("plugin", "server_name", "x.hub1.support.example"),
                 id="b-name-two-labels-under-wildcard"),
    pytest.param("clientasserver", "ca",
                 ("openvpn", r"unsuitable certificate purpose"),
                 id="c-client-eku-posing-as-hub"),
    pytest.param("noeku-hub", "ca",
                 ("plugin", "server_eku", HUB_CN),
                 id="c-no-eku-posing-as-hub"),
    pytest.param("ca2-hub", "ca+ca2",
                 ("plugin", "ca_pin", "Vendor Support Root CA 2"),
                 id="d-second-root-not-pinned"),
    pytest.param("expired-hub", "ca",
                 ("openvpn", r"certificate has expired"),
                 id="e-expired"),
]


@pytest.mark.parametrize("cert,client_ca,verdict", ROGUES)
def test_rogue_hub_is_refused(make_plugin_appliance, swap_hub, net, pki,
                              cert, client_ca, verdict):
    if client_ca == "ca+ca2":
        # The client's ca file trusts both roots: openvpn's own chain check
        # passes, only the policy's pin can refuse.
        pki.bundle("ca+ca2", ["ca", "ca2"])
    swap_hub(cert)
    peers = hub_peers(net)
    app = make_plugin_appliance(client_ca=client_ca)
    text = open(app.client_path).read()
    assert "remote-cert-tls" not in text and "verify-x509-name" not in text
    app.start()
    wait_held(app)

    def refused(events):
        return any(e.get("result") == "refused"
                   for e in peer_events(events, "tls_verify"))
    events, s = watch_refused(app, until=refused)
    assert s["vpn"] == "starting", s
    assert hub_peers(net) == peers, "the hub saw the appliance connect"
    refusals = [e for e in peer_events(events, "tls_verify")
                if e.get("result") == "refused"]
    assert refusals, f"no refused tls_verify peer event: {events}"
    log = app.log_text()
    if verdict[0] == "openvpn":
        pattern = re.compile(verdict[1])
        # openvpn's own check: the plugin is never asked about depth 0.
        assert not [e for e in refusals if "rule" in e], refusals
        assert any(pattern.search(e.get("reason", "")) for e in refusals), \
            refusals
        want = "openvpn refused the support server's certificate: "
        assert s["detail"].startswith(want) and pattern.search(s["detail"]), \
            s["detail"]
        assert re.search(re.escape(want) + verdict[1], log), \
            "the log does not name openvpn's refusal"
        return
    _, rule, cn = verdict
    mine = [e for e in refusals if e.get("rule") == rule]
    assert mine, f"no plugin refusal with rule {rule}: {refusals}"
    e = mine[0]
    assert e["cn"] == cn and e.get("reason"), e
    assert e["depth"] == (1 if rule == "ca_pin" else 0), e
    assert FP_RE.match(e.get("sha256", "")), e
    assert e.get("server_ip") == tb.HUB_IP and e.get("server_port") == 1194, e
    # Only this rule failed: a pinned root passes (b, c), a name the policy
    # allows passes (d: hub2.support.example matches *.support.example).
    assert {x.get("rule") for x in refusals if "rule" in x} == {rule}, \
        refusals
    # Consent is there (the controller granted it): the refusal is the
    # certificate's, not a missing consent.
    assert os.path.exists(app.consent_path), "no consent record"
    if e["depth"] > 0:
        words = (f"the server's certificate chain ends in '{cn}', which is "
                 f"not a vendor support root ({rule}: ")
    else:
        words = (f"the server presented certificate '{cn}', which is not a "
                 f"vendor support server ({rule}: ")
    assert words in log, "the log does not name the refusal and its rule"
    check_detail_rule(s, events, rule)


# -- the right hub ------------------------------------------------------------

@pytest.mark.parametrize("spelling", ["openssl", "openssl-line", "plain"])
def test_right_hub_connects_with_cn_and_fingerprint(make_plugin_appliance,
                                                    right_hub, net, pki,
                                                    service, spelling):
    """The pin in the policy as openssl prints it (AB:CD:..., or the whole
    "sha256 Fingerprint=..." line) or as plain lower-case hex."""
    fp = pki.fingerprint_openssl("ca")
    pin = {"openssl": fp,
           "openssl-line": pki.fingerprint_openssl("ca", whole_line=True),
           "plain": fp.replace(":", "").lower()}[spelling]
    app = make_plugin_appliance(policy={"server_names": list(tb.SERVER_NAMES),
                                        "ca_sha256": [pin]})
    app.start()
    wait_held(app)
    s = start_connected(app)
    t = s["tunnel"]
    assert t["server_cn"] == HUB_CN, t
    want = tb.normalize_fingerprint(pki.fingerprint_openssl("hub"))
    assert want == "sha256:" + pki.fingerprint("hub")
    assert t["server_fingerprint"] == want, t
    assert HUB_CN in s["detail"], s["detail"]
    assert reaches(net, t["local_ip"])
    s = app.status()
    assert s["tunnel"]["server_cn"] == HUB_CN
    assert s["tunnel"]["server_fingerprint"] == want


# -- owner consent ------------------------------------------------------------

@pytest.mark.parametrize("before", ["after_connection", "never_started"])
def test_hold_released_by_hand_connects_nowhere(make_plugin_appliance,
                                                right_hub, net, service,
                                                before):
    """The controller dies (SIGKILL: openvpn stays, back in its hold since
    its management client went away); someone releases the hold by hand.
    after_connection: the consent record the dead controller left is void;
    never_started: there is none."""
    app = make_plugin_appliance()
    app.start()
    wait_held(app)
    controller = app.proc.pid
    if before == "after_connection":
        s = start_connected(app)
        ip = s["tunnel"]["local_ip"]
        with open(app.consent_path) as f:
            rec = json.load(f)
        assert rec.get("pid") == controller, rec
    else:
        ip = None
        assert not os.path.exists(app.consent_path)
    ovpn = app.status()["openvpn"]["pid"]
    app.kill()
    tb.wait_until(lambda: app.tunnel_addrs() == [], 5,
                  desc="the tun to go after supportvpnd was SIGKILLed")
    assert tb.netns.pid_alive(ovpn), "openvpn died with its controller"
    # A crash cannot remove the record: it is left behind, void.
    assert os.path.exists(app.consent_path) == (before == "after_connection")
    peers = hub_peers(net)

    with tb.MgmtClient(app.openvpn_sock) as m:
        m.wait_for(">HOLD:Waiting for hold release", timeout=5)
        assert m.command("log on")[0].startswith("SUCCESS"), "log on"
        assert m.command("state on")[0].startswith("SUCCESS"), "state on"
        t0 = time.monotonic()
        assert m.command("hold release")[0].startswith("SUCCESS")

        def consent_log(line):
            return line.startswith(">LOG:") and "consent" in line and \
                "refused" in line
        lines = m.drain(15, until=consent_log)
        seen = [ln for ln in lines if consent_log(ln)]
        assert seen, "no >LOG line about the consent within 15 s:\n" + \
            "\n".join(lines[-40:])
        lines += m.drain(max(0.0, CONSENT_WATCH_S -
                             (time.monotonic() - t0)))
        connected = [ln for ln in lines if ln.startswith(">STATE:") and
                     ",CONNECTED," in ln]
        assert not connected, f"openvpn connected: {connected}"
    ref = seen[0]
    assert "refused" in ref and "consent" in ref, ref
    if before == "after_connection":
        assert "stale" in ref and str(controller) in ref, \
            f"the refusal does not say the consent is stale: {ref}"
    else:
        assert "missing" in ref or "does not exist" in ref, ref
    assert app.tunnel_addrs() == []
    assert hub_peers(net) == peers, "the hub saw the appliance connect"
    if ip is not None:
        assert not reaches(net, ip, timeout=1.0), \
            "the hub reaches the appliance"
    assert tb.netns.pid_alive(ovpn)


# -- events -------------------------------------------------------------------

def test_peer_events_carry_the_fields(make_plugin_appliance, right_hub, pki):
    app = make_plugin_appliance()
    app.start()
    wait_held(app)
    fp = tb.normalize_fingerprint(pki.fingerprint_openssl("hub"))
    with app.api(timeout=20) as c:
        c.subscribe(["peer"])
        s = c.call("start", wait=True, timeout_s=20, timeout=30)
        assert s["vpn"] == "connected", s
        local_ip = s["tunnel"]["local_ip"]

        def first(kind, pred=lambda e: True):
            return c.wait_event(lambda e: e.get("event") == "peer" and
                                e.get("kind") == kind and pred(e), 5,
                                desc=f"a peer event {kind}")
        tv = first("tls_verify", lambda e: e.get("depth") == 0)
        assert tv["result"] == "accepted", tv
        assert tv["cn"] == HUB_CN and tv["sha256"] == fp, tv
        assert tv["server_ip"] == tb.HUB_IP and tv["server_port"] == 1194, tv
        assert "rule" not in tv, tv
        assert tv.get("reason"), tv
        kinds = [e.get("kind") for e in c.events]
        ipc = [e for e in c.events if e.get("kind") == "ipchange"]
        assert ipc, f"no ipchange event: {kinds}"
        assert ipc[0]["server_ip"] == tb.HUB_IP, ipc[0]
        assert ipc[0]["server_port"] == 1194, ipc[0]
        up = [e for e in c.events if e.get("kind") == "up"]
        assert up, f"no up event: {kinds}"
        assert re.match(r"^tun\d+$", up[0].get("dev", "")), up[0]
        assert up[0]["local_ip"] == local_ip, up[0]
        for e in c.events:
            assert e.get("event") == "peer" and isinstance(e.get("time"), str)
            assert "v" not in e and "type" not in e, e
        order = [k for k in kinds if k in ("tls_verify", "ipchange", "up")]
        assert order.index("tls_verify") < order.index("ipchange") < \
            order.index("up"), kinds

        a = c.request("stop", timeout=20)
        assert a["ok"] is True and a["result"]["vpn"] == "stopped", a
        down = first("down")
        assert down.get("dev") == up[0]["dev"], down
        assert down.get("local_ip") == local_ip, down
    assert not os.path.exists(app.consent_path), \
        "the consent record outlived the stop"


# -- privilege drop -----------------------------------------------------------

def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("Uid:"):
                return int(ln.split()[2])      # effective
    return None


@pytest.mark.parametrize("drop", [True, False], ids=["user_nobody", "root"])
def test_renegotiation_reads_consent(make_plugin_appliance, right_hub, net,
                                     service, drop):
    """openvpn drops privileges after its first connection; a TLS
    renegotiation then runs TLS_VERIFY unprivileged, and it must still read
    the consent record (and the policy) or the tunnel falls."""
    extra = ["reneg-sec 3"]
    if drop:
        extra += ["user nobody", "group nogroup", "persist-tun",
                  "persist-key"]
    app = make_plugin_appliance(client_extra=extra)
    app.start()
    wait_held(app)
    with app.api(timeout=30) as c:
        c.subscribe(["peer", "state"])
        s = c.call("start", wait=True, timeout_s=20, timeout=30)
        assert s["vpn"] == "connected", s
        ip = s["tunnel"]["local_ip"]
        ovpn = s["openvpn"]["pid"]
        n0 = len(c.events)      # what came before `start` answered
        if drop:
            tb.wait_until(lambda: uid_of(ovpn) == 65534, 5,
                          desc="openvpn to run as nobody")
        else:
            assert uid_of(ovpn) == 0

        def accepted(e):
            return e.get("event") == "peer" and e.get("kind") == \
                "tls_verify" and e.get("depth") == 0 and \
                e.get("result") == "accepted"
        c.wait_event(accepted, 5, desc="the first TLS_VERIFY")
        t0 = time.monotonic()
        c.wait_event(accepted, 15, desc="a TLS_VERIFY after renegotiation")
        assert time.monotonic() - t0 > 1.0, "no renegotiation pause"
        c.drain(0.5)
        bad = [e for e in c.events if e.get("event") == "peer" and
               e.get("result") == "refused"]
        assert not bad, f"a renegotiation was refused: {bad}"
        left = [e for e in c.events[n0:] if e.get("event") == "state" and
                e.get("vpn") != "connected"]
        assert not left, f"the VPN left connected: {left}"
    if drop:
        assert uid_of(ovpn) == 65534, "openvpn is root again?"
    log = app.log_text()
    assert log.count("VERIFY OK: depth=0, CN=hub1.support.example") >= 2, \
        "openvpn's log shows no second VERIFY OK"
    # The plugin's own verdict, before and after the renegotiation.
    assert log.count("accepted hub certificate 'hub1.support.example' "
                     "(depth 0") >= 2, "the plugin logged no second verdict"
    s = app.status()
    assert s["vpn"] == "connected" and s["tunnel"]["local_ip"] == ip, s
    assert s["tunnel"]["server_cn"] == HUB_CN
    assert reaches(net, ip), "the hub cannot reach the appliance"

    # Stop and start again, with the (unprivileged) openvpn we have.
    a = app.request("stop", timeout=20)
    assert a["ok"] is True and a["result"]["vpn"] == "stopped", a
    s = start_connected(app)
    assert s["openvpn"]["pid"] == ovpn, "openvpn was replaced"
    assert s["tunnel"]["server_cn"] == HUB_CN
    assert reaches(net, s["tunnel"]["local_ip"])


# -- an unusable policy -------------------------------------------------------

@pytest.mark.parametrize("policy,why", [
    ("missing", "no such file"),
    ({"server_names": ["hub1.support.example"],
      "ca_sha256": ["AB:CD:" + "00:" * 28 + "00"]}, "ca_sha256[0]"),
    ({"server_names": ["hub1.support.example"],
      "ca_sha256": ["zz" * 32]}, "ca_sha256[0]"),
], ids=["missing", "short-fingerprint", "not-hex"])
def test_unusable_policy_refuses_every_hub(make_plugin_appliance, right_hub,
                                           net, policy, why):
    if policy == "missing":
        policy = "/nonexistent/supportvpn-test/policy.json"
    app = make_plugin_appliance(policy=policy)
    app.start()
    wait_held(app)
    peers = hub_peers(net)

    def refused(events):
        return any(e.get("rule") == "policy"
                   for e in peer_events(events, "tls_verify"))
    events, s = watch_refused(app, until=refused)
    assert hub_peers(net) == peers, "the hub saw the appliance connect"
    pol = [e for e in peer_events(events, "tls_verify")
           if e.get("result") == "refused"]
    assert pol and all(e.get("rule") == "policy" for e in pol
                       if "rule" in e), pol
    assert why in pol[0].get("reason", ""), pol[0]
    assert not [e for e in peer_events(events, "tls_verify")
                if e.get("result") == "accepted" and e.get("depth") == 0]
    log = app.log_text()
    assert "policy" in log and "is unusable" in log and why in log
    check_detail_rule(s, events, "policy")


# -- forged datagrams ---------------------------------------------------------

_SEND_AS_NOBODY = """
import os, socket, sys
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as d:
    d.sendto(sys.argv[2].encode(), sys.argv[1])
print(os.getpid())
"""


def test_forged_datagram_is_dropped(make_plugin_appliance, right_hub, pki):
    app = make_plugin_appliance()
    app.start()
    wait_held(app)
    s = start_connected(app)
    ovpn = s["openvpn"]["pid"]
    before = {k: s["tunnel"][k] for k in ("server_cn", "server_fingerprint",
                                          "local_ip", "server_ip")}
    forged = [
        {"v": 1, "type": "tls_verify", "pid": ovpn, "depth": 0,
         "result": "accepted", "cn": "evil.example.net",
         "sha256": "sha256:" + "ab" * 32, "reason": "forged",
         "server_ip": "203.0.113.66", "server_port": 1194},
        {"v": 1, "type": "tls_verify", "pid": ovpn, "depth": 0,
         "result": "refused", "rule": "consent", "reason": "forged",
         "cn": "evil.example.net"},
        {"v": 1, "type": "down", "pid": ovpn, "dev": "tun0",
         "local_ip": before["local_ip"], "signal": "forged"},
    ]
    with app.api(timeout=10) as c:
        c.subscribe(["peer", "state"])
        # From this (root) process...
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as d:
            for ev in forged:
                d.sendto(json.dumps(ev).encode(), app.events_sock)
        # ...and from one running as nobody, the user a dropped openvpn
        # runs as (events.sock is 0666: the sender's pid is the gate).
        r = subprocess.run(
            [sys.executable, "-c", _SEND_AS_NOBODY, app.events_sock,
             json.dumps(forged[0])], user=65534, group=65534,
            capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        nobody_pid = int(r.stdout.strip())
        n = len(forged) + 1
        tb.wait_until(lambda: app.log_text().count("not our openvpn") >= n,
                      5, desc="supportvpnd to log the drops")
        c.drain(0.5)
        assert not c.events, f"forged datagrams reached subscribers: " \
            f"{c.events}"
    log = app.log_text()
    drops = [ln for ln in log.splitlines() if "not our openvpn" in ln]
    assert len(drops) == n, drops
    assert all(f"({ovpn})" in ln for ln in drops), drops
    assert sum(f"from pid {os.getpid()}," in ln for ln in drops) == \
        len(forged), drops
    assert sum(f"from pid {nobody_pid}," in ln for ln in drops) == 1, drops
    s2 = app.status()
    assert s2["vpn"] == "connected", s2
    assert {k: s2["tunnel"][k] for k in before} == before, s2["tunnel"]
    assert s2["detail"] == s["detail"]
    assert "evil.example.net" not in json.dumps(s2)
    assert app.proc.alive()
