# SPDX-License-Identifier: MIT
"""start and stop racing from two clients: docs/api.md "Races".

To make the windows wide and deterministic rather than lucky:
- a `start` waits for as long as we like when the appliance dials a hub
  address where nobody answers;
- a `stop` stays in `stopping` for as long as openvpn is SIGSTOPped (it
  cannot answer `hold on` / reach its hold until SIGCONT).
"""

import os
import signal
import time

from conftest import one_openvpn, reaches, start_connected, wait_held

NOBODY = "198.51.100.99"     # on the bridge, but no host has it


def wait_vpn_state(app, vpn, timeout=10):
    return app.wait_vpn(vpn, timeout)


def test_stop_during_waiting_start_supersedes_it(make_appliance):
    app = make_appliance(remote=NOBODY)
    app.start()
    wait_held(app)
    a, b = app.api(name="A"), app.api(name="B")
    with a, b:
        sid = a.send("start", wait=True, timeout_s=60)
        s = wait_vpn_state(app, "starting")
        assert s["openvpn"]["held"] is False
        ans_b = b.request("stop", timeout=15)
        ans_a = a.wait_reply(sid, timeout=15)
    assert ans_b["ok"] is True and ans_b["result"]["vpn"] == "stopped", ans_b
    assert ans_a["ok"] is False, ans_a
    assert ans_a["error"]["code"] == "superseded", ans_a
    s = app.status()
    assert s["vpn"] == "stopped" and s["openvpn"]["held"] is True, s
    assert s["start_when_possible"] is False


def test_stop_during_waiting_when_possible_start_clears_it(make_appliance):
    app = make_appliance(remote=NOBODY)
    app.start()
    wait_held(app)
    with app.api(name="A") as a:
        sid = a.send("start", when_possible=True, wait=True, timeout_s=60)
        app.wait_status(lambda s: s["vpn"] in ("starting", "waiting") and
                        s["start_when_possible"] is True, 10,
                        desc="an armed start in progress")
        ans_b = app.request("stop", timeout=15)
        ans_a = a.wait_reply(sid, timeout=15)
    assert ans_b["ok"] is True and ans_b["result"]["vpn"] == "stopped", ans_b
    assert ans_b["result"]["start_when_possible"] is False
    assert ans_a["ok"] is False and ans_a["error"]["code"] == "superseded", \
        ans_a
    assert app.settings()["start_when_possible"] is False
    app.stop()
    app.start()
    s = wait_held(app)
    assert s["vpn"] == "stopped"


def test_start_during_stopping_supersedes_the_stop(appliance, net, service):
    wait_held(appliance)
    s = start_connected(appliance)
    ovpn = s["openvpn"]["pid"]
    a, b = appliance.api(name="A"), appliance.api(name="B")
    stopped = False
    try:
        with a, b:
            os.kill(ovpn, signal.SIGSTOP)
            stopped = True
            bid = b.send("stop")
            wait_vpn_state(appliance, "stopping", 10)
            aid = a.send("start", wait=True, timeout_s=30)
            time.sleep(0.3)
            os.kill(ovpn, signal.SIGCONT)
            stopped = False
            ans_b = b.wait_reply(bid, timeout=20)
            ans_a = a.wait_reply(aid, timeout=30)
    finally:
        if stopped:
            os.kill(ovpn, signal.SIGCONT)
    assert ans_b["ok"] is False, ans_b
    assert ans_b["error"]["code"] == "superseded", ans_b
    assert ans_a["ok"] is True and ans_a["result"]["vpn"] == "connected", ans_a
    s = appliance.status()
    assert s["vpn"] == "connected", s
    assert one_openvpn(appliance) == s["openvpn"]["pid"]
    assert reaches(net, s["tunnel"]["local_ip"])


def test_two_waiting_starts_join(make_appliance):
    app = make_appliance()
    app.start()
    wait_held(app)
    a, b = app.api(name="A"), app.api(name="B")
    with a, b:
        ia = a.send("start", wait=True, timeout_s=30)
        ib = b.send("start", wait=True, timeout_s=30)
        ra, rb = a.wait_reply(ia, 40), b.wait_reply(ib, 40)
    for r in (ra, rb):
        assert r["ok"] is True and r["result"]["vpn"] == "connected", r
    assert ra["result"]["tunnel"]["local_ip"] == \
        rb["result"]["tunnel"]["local_ip"]
    one_openvpn(app)


def test_last_command_decides(make_appliance):
    """A burst of alternating start/stop, each on its own connection and
    sent in order, ends in the state of the last one, with every request
    answered (stops overtaken by a start answer superseded)."""
    app = make_appliance()
    app.start()
    wait_held(app)
    conns, sent = [], []
    try:
        for i in range(9):
            c = app.api(name=f"C{i}", timeout=30)
            conns.append(c)
            if i == 8:
                sent.append((c, c.send("start", wait=True, timeout_s=30)))
            else:
                sent.append((c, c.send("start" if i % 2 == 0 else "stop")))
            time.sleep(0.02)
        answers = [c.wait_reply(i, 40) for c, i in sent]
    finally:
        for c in conns:
            c.close()
    for ans in answers[:-1]:
        assert ans["ok"] is True or ans["error"]["code"] == "superseded", ans
    assert answers[-1]["ok"] is True, answers[-1]
    assert answers[-1]["result"]["vpn"] == "connected"
    s = app.wait_vpn("connected", 10)
    assert s["start_when_possible"] is False
    one_openvpn(app)


def test_waiting_start_times_out_and_keeps_trying(make_appliance):
    """docs/api.md `timeout`: start --wait gives up answering after
    timeout_s; the VPN keeps trying until stop."""
    app = make_appliance(remote=NOBODY)
    app.start()
    wait_held(app)
    t0 = time.monotonic()
    a = app.request("start", wait=True, timeout_s=2, timeout=15)
    took = time.monotonic() - t0
    assert a["ok"] is False and a["error"]["code"] == "timeout", a
    assert 1.5 <= took < 6, f"answered after {took:.1f}s for timeout_s=2"
    time.sleep(1.0)
    s = app.status()
    assert s["vpn"] in ("starting", "reconnecting"), s
    assert s["openvpn"]["held"] is False
    a = app.request("stop", timeout=15)
    assert a["ok"] is True and a["result"]["vpn"] == "stopped", a
