# SPDX-License-Identifier: MIT
"""Issue #2's core: off by default, start/stop, "start when possible" across
restarts, and what happens when supportvpnd or openvpn dies."""

import ipaddress
import os
import re
import signal
import time

import pytest

import bed as tb
from conftest import one_openvpn, reaches, start_connected, wait_held

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
POOL = ipaddress.ip_network("203.0.113.0/24")


def assert_no_tunnel_for(app, seconds):
    """Over `seconds`, vpn never leaves `stopped` and no tun address shows."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        s = app.status()
        assert s["vpn"] == "stopped", s
        assert app.tunnel_addrs() == [], "a tunnel came up while stopped"
        time.sleep(0.25)


def hub_peers(net):
    return net.hub.log_text().count("[appliance-0001] Peer Connection "
                                    "Initiated")


def test_fresh_install_is_stopped_and_held(appliance, net):
    peers = hub_peers(net)
    seen = set()

    def held(s):
        seen.add(s["vpn"])
        o = s.get("openvpn") or {}
        return o.get("running") is True and o.get("held") is True
    s = appliance.wait_status(held, 15, desc="openvpn running and held")
    assert seen == {"stopped"}, f"vpn states seen on a fresh install: {seen}"
    assert s["start_when_possible"] is False
    assert RFC3339.match(s["since"]), s["since"]
    assert isinstance(s["detail"], str)
    o = s["openvpn"]
    assert isinstance(o["pid"], int) and o["pid"] in appliance.openvpn_pids()
    assert s.get("tunnel") is None, "tunnel shown while not connected"
    assert not os.path.exists(appliance.settings_path) or \
        appliance.settings()["start_when_possible"] is False
    # Fail closed: nothing comes up by itself.
    assert_no_tunnel_for(appliance, 1.5)
    assert hub_peers(net) == peers, "the appliance connected to the hub"


def test_start_wait_connects_and_hub_reaches_appliance(appliance, net,
                                                       service):
    wait_held(appliance)
    s = start_connected(appliance)
    assert s["start_when_possible"] is False
    t = s["tunnel"]
    ip = t["local_ip"]
    assert ipaddress.ip_address(ip) in POOL and ip != "203.0.113.1"
    assert t["server_ip"] == "198.51.100.1"
    assert t["server_port"] == 1194
    assert isinstance(t["bytes_in"], int) and isinstance(t["bytes_out"], int)
    assert ip in appliance.tunnel_addrs()
    assert reaches(net, ip), "the hub cannot reach the appliance's service"
    # The API is bound to loopback: not reachable through the tunnel.
    assert net.probe("hub", ip, 7515, timeout=2) is None, \
        "the API port answers on the tunnel address"
    s = appliance.status()
    assert s["vpn"] == "connected"
    assert s["openvpn"]["state"] == "CONNECTED"
    assert s["openvpn"]["held"] is False
    # A plain start is not persisted.
    assert not os.path.exists(appliance.settings_path) or \
        appliance.settings()["start_when_possible"] is False


def test_start_while_connected_joins_and_stop_while_stopped(appliance):
    wait_held(appliance)
    with appliance.api() as c:
        a = c.request("stop", timeout=5)
        assert a["ok"] is True and a["result"]["vpn"] == "stopped", a
        s = start_connected(appliance)
        t0 = time.monotonic()
        a = c.request("start", wait=True, timeout_s=10, timeout=15)
        assert a["ok"] is True and a["result"]["vpn"] == "connected", a
        assert time.monotonic() - t0 < 2, "start while connected did not " \
            "answer at once"
        assert a["result"]["tunnel"]["local_ip"] == s["tunnel"]["local_ip"]
        assert len(appliance.openvpn_pids()) == 1


def test_stop_tears_the_tunnel_down(appliance, net, service):
    wait_held(appliance)
    s = start_connected(appliance)
    ip = s["tunnel"]["local_ip"]
    assert reaches(net, ip)
    pid = s["openvpn"]["pid"]
    t0 = time.monotonic()
    a = appliance.request("stop", timeout=15)
    took = time.monotonic() - t0
    assert a["ok"] is True, a
    r = a["result"]
    assert r["vpn"] == "stopped", r
    assert r["start_when_possible"] is False
    assert r["openvpn"]["held"] is True, "stop answered before the hold"
    assert r.get("tunnel") is None
    assert took < 5, f"stop took {took:.1f}s"
    assert appliance.tunnel_addrs() == [], "tun still up after stop"
    assert not reaches(net, ip, timeout=1.5), "hub still reaches the appliance"
    s = appliance.status()
    assert s["vpn"] == "stopped" and s["openvpn"]["running"] is True
    # Parked in the hold, not restarted.
    assert s["openvpn"]["pid"] == pid
    assert_no_tunnel_for(appliance, 1.0)


def test_start_when_possible_survives_restart_and_stop_clears_it(
        appliance, net, service):
    wait_held(appliance)
    s = start_connected(appliance, when_possible=True)
    assert s["start_when_possible"] is True
    assert appliance.settings()["start_when_possible"] is True

    rc = appliance.stop()
    assert rc == 0, f"supportvpnd exited with {rc} on SIGTERM"
    appliance.start()
    s = appliance.wait_vpn("connected", 20)
    assert s["start_when_possible"] is True
    one_openvpn(appliance)
    assert reaches(net, s["tunnel"]["local_ip"])

    a = appliance.request("stop", timeout=15)
    assert a["ok"] is True and a["result"]["vpn"] == "stopped", a
    assert a["result"]["start_when_possible"] is False
    assert appliance.settings()["start_when_possible"] is False

    assert appliance.stop() == 0
    appliance.start()
    s = wait_held(appliance)
    assert s["vpn"] == "stopped" and s["start_when_possible"] is False
    assert_no_tunnel_for(appliance, 2.0)
    one_openvpn(appliance)


@pytest.mark.parametrize("armed", [True, False],
                         ids=["when_possible", "start_now"])
def test_controller_crash_drops_the_tunnel(appliance, net, service, armed):
    wait_held(appliance)
    s = start_connected(appliance, when_possible=armed)
    ip = s["tunnel"]["local_ip"]
    ovpn = s["openvpn"]["pid"]
    assert reaches(net, ip)

    appliance.kill()
    t0 = time.monotonic()
    tb.wait_until(lambda: appliance.tunnel_addrs() == [], 5,
                  desc="the tun to go after supportvpnd was SIGKILLed")
    assert time.monotonic() - t0 < 5
    assert not reaches(net, ip, timeout=1.5), \
        "the hub still reaches the appliance after the controller died"
    # The orphaned openvpn lives on, parked in its hold.
    assert tb.netns.pid_alive(ovpn)
    with tb.MgmtClient(appliance.openvpn_sock) as m:
        m.wait_for(">HOLD:Waiting for hold release", timeout=5)
        last = m.command("state")[-1]
        assert ",RECONNECTING,management-disconnect," in last, last
    time.sleep(0.2)

    appliance.start()
    if armed:
        s = appliance.wait_vpn("connected", 20)
        assert s["start_when_possible"] is True
        assert reaches(net, s["tunnel"]["local_ip"])
    else:
        s = wait_held(appliance)
        assert s["vpn"] == "stopped" and s["start_when_possible"] is False
        assert_no_tunnel_for(appliance, 2.0)
    pid = one_openvpn(appliance)
    assert appliance.status()["openvpn"]["pid"] == pid


def test_openvpn_killed_is_restarted_into_the_wanted_state(appliance, net,
                                                           service):
    wait_held(appliance)
    s = start_connected(appliance)
    old = s["openvpn"]["pid"]
    os.kill(old, signal.SIGKILL)
    s = appliance.wait_status(
        lambda s: s["vpn"] == "connected" and
        s["openvpn"]["pid"] not in (None, old), 20,
        desc="connected again with a new openvpn")
    assert one_openvpn(appliance) == s["openvpn"]["pid"]
    assert reaches(net, s["tunnel"]["local_ip"])


def test_openvpn_killed_while_stopped_comes_back_held(appliance):
    s = wait_held(appliance)
    old = s["openvpn"]["pid"]
    os.kill(old, signal.SIGKILL)
    s = appliance.wait_status(
        lambda s: s["openvpn"]["pid"] not in (None, old) and
        s["openvpn"]["held"] is True, 20,
        desc="a new openvpn, held")
    assert s["vpn"] == "stopped"
    assert one_openvpn(appliance) == s["openvpn"]["pid"]
    assert_no_tunnel_for(appliance, 1.0)


def test_sigterm_is_a_clean_shutdown(appliance):
    wait_held(appliance)
    start_connected(appliance)
    t0 = time.monotonic()
    rc = appliance.stop(timeout=10)
    assert rc == 0, f"exit status {rc} after SIGTERM " \
        f"({time.monotonic() - t0:.1f}s)"
    with pytest.raises(OSError):
        tb.netns.connect_in(appliance.ns, "127.0.0.1", 7515, 1).close()
    # Whatever it did with openvpn, the tunnel is not left up.
    tb.wait_until(lambda: appliance.tunnel_addrs() == [], 5,
                  desc="no tunnel after supportvpnd exited")


def test_state_events_follow_start_and_stop(appliance):
    wait_held(appliance)
    with appliance.api(name="subscriber") as sub:
        r = sub.subscribe(["state"])
        assert r["events"] == ["state"], r
        start_connected(appliance)
        up = sub.wait_event(lambda e: e.get("event") == "state" and
                            e.get("vpn") == "connected", 10,
                            desc="state event: connected")
        assert appliance.request("stop", timeout=15)["ok"] is True
        down = sub.wait_event(lambda e: e.get("event") == "state" and
                              e.get("vpn") == "stopped", 10,
                              desc="state event: stopped")
        states = [e for e in sub.events if e.get("event") == "state"]
        assert {e["event"] for e in sub.events} == {"state"}, \
            "events not subscribed to were sent"
    for e in states:
        assert RFC3339.match(e["time"]), e
        assert isinstance(e["detail"], str)
        assert isinstance(e["start_when_possible"], bool)
        assert "previous" in e
    vpns = [e["vpn"] for e in states]
    assert vpns.index("starting") < vpns.index("connected") < \
        vpns.index("stopping") < vpns.index("stopped"), vpns
    assert up["previous"] == "starting", up
    assert down["previous"] == "stopping", down
    # Each event's previous is the vpn of the one before it.
    for before, after in zip(states, states[1:]):
        assert after["previous"] == before["vpn"], (before, after)
