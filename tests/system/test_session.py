# SPDX-License-Identifier: MIT
"""Issue #5: support sessions on the real bed.

The `support` password made by the factory step (supportvpnctl
support-password), `auth` with its gates (the VPN, the tunnel, the
password, the lock-out), time-boxed sessions that stop by themselves,
`extend`, the history across a restart of supportvpnd, and that the
password is never written anywhere but as a hash.
"""

import glob
import json
import os
import re
import stat
import subprocess
import time

import pytest

import bed as tb
from bed import netns as nx
from conftest import start_connected, wait_held

PW_RE = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){6}\b")
THROUGH_TUNNEL = tb.HUB_TUNNEL_IP      # the hub's end of the tunnel
OUTSIDE = tb.HUB_IP                    # reached over dev's own network

FAST_AUTH = {"auth": {"max_failures": 5, "window_s": 60, "lockout_s": 2,
                      "lockout_max_s": 4}}


def generate_password(app):
    r = app.ctl("support-password", "--generate", "--config",
                app.config_path)
    assert r.returncode == 0, r.stderr
    found = PW_RE.findall(r.stdout)
    assert len(found) == 1, r.stdout
    return found[0]


def auth(app, password, user="support", **kw):
    return app.call("auth", user=user, password=password, **kw)


def history(app, limit=100):
    return app.call("history", limit=limit)["records"]


def events_of(records, session=None):
    """The history's events, oldest first (of one session if given)."""
    return [r["event"] for r in reversed(records)
            if session is None or r.get("session") == session]


def test_password_and_auth_gates(make_appliance):
    a = make_appliance(config_extra=FAST_AUTH)
    a.start()
    wait_held(a)
    pw = generate_password(a)
    hash_path = os.path.join(a.state_dir, "support.hash")
    st = os.stat(hash_path)
    assert stat.S_IMODE(st.st_mode) == 0o600
    text = open(hash_path).read()
    assert text.startswith("$y$") and pw not in text

    # Not connected: refused whatever the password, and not a failure.
    r = auth(a, pw)
    assert r["granted"] is False
    assert r["reason"] == "support VPN is not active"

    start_connected(a)
    r = auth(a, pw)
    assert r == {"granted": True, "reason": "support login granted"}
    assert auth(a, pw, **{"from": THROUGH_TUNNEL})["granted"] is True
    r = auth(a, pw, **{"from": OUTSIDE})
    assert r["granted"] is False
    assert "does not come through the support VPN" in r["reason"]

    # A wrong user reads like a wrong password.
    assert auth(a, pw, user="root") == {
        "granted": False, "reason": "wrong user or password"}
    # Four more failures make five in the window: then locked out, even
    # with the right password.
    for _ in range(4):
        assert auth(a, pw + "x")["reason"] == "wrong user or password"
    r = auth(a, pw)
    assert r["granted"] is False and r["reason"].startswith("locked out")
    assert "locked out" in a.log_text()
    # The lock-out (auth.lockout_s 2) ends by itself.
    time.sleep(2.2)
    assert auth(a, pw)["granted"] is True

    # Every login is in the history, with where it came from.
    logins = [r for r in history(a) if r["event"] == "login"]
    assert len(logins) == 11
    assert sum(1 for r in logins if r["granted"]) == 3
    assert any(r.get("from") == OUTSIDE and not r["granted"]
               for r in logins)
    st = a.status()
    assert st["session"]["logins"] == 3

    # The password is nowhere but as a hash: logs, state files, answers.
    answers = json.dumps([a.status(), history(a), a.call("log", lines=1000)])
    assert pw not in answers
    for path in [a.log_path, a.out_path] + glob.glob(
            os.path.join(a.state_dir, "*")) + glob.glob(
            os.path.join(a.run_dir, "*")):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                assert pw.encode() not in f.read(), path


def test_set_password_from_stdin(make_appliance):
    a = make_appliance()
    a.start()
    argv = [nx.IP, "netns", "exec", a.ns, tb.supportvpnctl_path(),
            "support-password", "--set", "--config", a.config_path]
    r = subprocess.run(argv, input="correct horse battery staple\n",
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "correct horse" not in r.stdout + r.stderr
    start_connected(a)
    assert auth(a, "correct horse battery staple")["granted"] is True
    assert auth(a, "correct horse battery")["granted"] is False
    # Refused input leaves the stored hash as it was.
    before = open(os.path.join(a.state_dir, "support.hash")).read()
    for bad in ("\n", "tooshort\n", "tab\there long enough\n"):
        r = subprocess.run(argv, input=bad, capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1, (bad, r.stdout, r.stderr)
        assert "nothing was changed" in r.stderr or "password" in r.stderr
    assert open(os.path.join(a.state_dir, "support.hash")).read() == before


def test_session_expires(make_appliance):
    a = make_appliance(config_extra={"session": {"warn_s": 2}})
    a.start()
    wait_held(a)
    with a.api(timeout=30) as ev:
        ev.subscribe(["session", "state"])
        s = a.call("start", wait=True, timeout_s=30, duration_s=3)
        assert s["vpn"] == "connected"
        assert s["expires_at"] is not None
        assert s["session"]["duration_s"] == 3
        sid = s["session"]["id"]
        ev.wait_event(lambda e: e.get("what") == "expiring", timeout=10,
                      desc="expiring")
        end = ev.wait_event(lambda e: e.get("what") == "ended", timeout=10,
                            desc="session ended")
        assert end["why"] == "expired" and end["session"] == sid
    s = a.wait_vpn("stopped", timeout=10)
    assert "expired" in s["detail"]
    assert s["session"] is None and s["expires_at"] is None
    assert s["start_when_possible"] is False
    recs = history(a)
    assert events_of(recs, sid) == ["activated", "connected",
                                    "disconnected", "ended"]
    by_event = {r["event"]: r for r in recs if r["session"] == sid}
    assert by_event["disconnected"]["why"] == "expired"
    assert by_event["ended"]["why"] == "expired"
    assert by_event["connected"]["hub_ip"] == tb.HUB_IP
    assert by_event["connected"]["tunnel_ip"].startswith("203.0.113.")
    assert by_event["activated"]["by"]["via"] == "api"
    assert by_event["activated"]["by"]["uid"] == 0
    assert not os.path.exists(os.path.join(a.state_dir, "session.json"))


def test_extend(make_appliance):
    a = make_appliance()
    a.start()
    wait_held(a)
    s = a.call("start", wait=True, timeout_s=30, duration_s=4)
    first = s["expires_at"]
    s2 = a.call("extend", duration_s=3600, by="owner via web UI")
    assert s2["expires_at"] > first
    # Past the first end, still connected.
    time.sleep(5)
    assert a.status()["vpn"] == "connected"
    rec = [r for r in history(a) if r["event"] == "extended"][0]
    assert rec["added_s"] == 3600 and rec["by"]["as"] == "owner via web UI"
    assert a.call("stop", by="owner")["vpn"] == "stopped"
    recs = history(a)
    ended = [r for r in recs if r["event"] == "ended"][0]
    assert ended["why"] == "owner" and ended["by"]["as"] == "owner"
    # Nothing to extend now.
    r = a.request("extend", duration_s=60)
    assert r["ok"] is False and r["error"]["code"] == "not_active"


def test_history_across_restart(make_appliance):
    a = make_appliance(config_extra={"session": {"default_s": 3600}})
    a.start()
    wait_held(a)
    pw = generate_password(a)
    s = start_connected(a, when_possible=True)
    sid = s["session"]["id"]
    expires = s["expires_at"]
    assert expires is not None
    assert auth(a, pw, **{"from": THROUGH_TUNNEL})["granted"] is True
    a.restart()
    s = a.wait_vpn("connected", timeout=30)
    assert s["session"]["id"] == sid
    assert s["expires_at"] == expires       # the end does not move
    assert a.call("stop")["vpn"] == "stopped"
    recs = history(a)
    assert events_of(recs, sid) == [
        "activated", "connected", "login", "disconnected", "paused",
        "resumed", "connected", "disconnected", "ended"]
    assert all(r["ts"] for r in recs)
    # Newest first.
    assert [r["ts"] for r in recs] == sorted((r["ts"] for r in recs),
                                             reverse=True)
    ctl = a.ctl("history")
    assert ctl.returncode == 0 and sid in ctl.stdout


def test_session_bad_input(make_appliance):
    a = make_appliance()
    a.start()
    wait_held(a)
    def settings_text():
        try:
            return open(a.settings_path).read()
        except FileNotFoundError:
            return None
    settings_before = settings_text()
    for cmd, args, code in [
            ("start", {"duration_s": -1}, "bad_argument"),
            ("start", {"duration_s": "1h"}, "bad_argument"),
            ("start", {"duration_s": 0}, "bad_argument"),   # no end: off
            ("start", {"duration_s": 10 ** 9}, "bad_argument"),
            ("start", {"by": "x" * 65}, "bad_argument"),
            ("start", {"by": "a\nb"}, "bad_argument"),
            ("extend", {"duration_s": 60}, "not_active"),
            ("auth", {"user": "support"}, "bad_argument"),
            ("auth", {"user": "support", "password": 5}, "bad_argument"),
            ("auth", {"user": "support", "password": "x",
                      "from": "not-an-ip"}, "bad_argument"),
            ("history", {"limit": 0}, "bad_argument")]:
        r = a.request(cmd, **args)
        assert r["ok"] is False, (cmd, args, r)
        assert r["error"]["code"] == code, (cmd, args, r)
    s = a.status()
    assert s["vpn"] == "stopped" and s["session"] is None
    assert settings_text() == settings_before
    assert a.proc.alive()
    assert history(a) == []


def test_crashed_daemon_closes_its_session(make_appliance):
    """A "start now" session whose supportvpnd is SIGKILLed: the next
    supportvpnd finds it open in the history and records its end."""
    a = make_appliance()
    a.start()
    wait_held(a)
    s = start_connected(a)
    sid = s["session"]["id"]
    a.kill()
    a.start()
    s = a.wait_vpn("stopped", timeout=20)
    assert s["session"] is None
    recs = history(a)
    assert events_of(recs, sid) == ["activated", "connected", "ended"]
    assert recs[0]["event"] == "ended" and recs[0]["why"] == "daemon"
    # And only once: a second restart finds nothing open.
    a.restart()
    assert events_of(history(a), sid) == ["activated", "connected", "ended"]


def test_login_flood_does_not_fill_the_history(make_appliance):
    """Refusals that check no password (VPN down, locked out, foreign
    address) are answered every time but recorded once per 10 s."""
    a = make_appliance()
    a.start()
    wait_held(a)
    with a.api(timeout=30) as c:
        for _ in range(50):
            r = c.call("auth", user="support", password="guess")
            assert r == {"granted": False,
                         "reason": "support VPN is not active"}
    logins = [r for r in history(a) if r["event"] == "login"]
    assert len(logins) == 1, logins
    assert a.log_text().count("support VPN is not active") == 1
