# SPDX-License-Identifier: MIT
"""Bad configurations and bad state: an openvpn that cannot run, a client
config setting options supportvpnd owns, a corrupt settings.json."""

import os
import re
import signal
import time

import pytest

import bed as tb
from conftest import wait_held


def test_openvpn_that_cannot_run_fails_with_backoff(make_appliance, pki):
    missing = "/nonexistent/supportvpn-test/appliance-0001.crt"
    text = tb.client_config(pki).replace(pki.crt("appliance-0001"), missing)
    assert missing in text
    app = make_appliance(client_text=text)
    app.start()
    s = app.wait_vpn("failed", 15)
    detail = s["detail"]
    assert isinstance(detail, str) and detail, s
    assert missing in detail or "appliance-0001.crt" in detail, \
        f"the detail does not say why openvpn cannot run: {detail!r}"

    # Backoff: count openvpn (re)starts over a few seconds.
    with app.api(timeout=5) as c:
        c.subscribe(["openvpn", "state"])
        t0 = time.monotonic()
        c.drain(6.0)
        window = time.monotonic() - t0
        starts = [e for e in c.events if e.get("event") == "openvpn" and
                  e.get("kind") == "process" and e.get("running") is True]
        exits = [e for e in c.events if e.get("event") == "openvpn" and
                 e.get("kind") == "process" and e.get("running") is False]
        assert starts or exits, f"no openvpn process events in " \
            f"{window:.1f}s: {c.events}"
        assert len(starts) <= 6, f"{len(starts)} openvpn starts in " \
            f"{window:.1f}s: restarted in a busy loop"
        # Still answering, still failed.
        s = c.status()
        assert s["vpn"] == "failed", s
        # start --wait on an openvpn that cannot run: error "failed".
        a = c.request("start", wait=True, timeout_s=20, timeout=30)
        assert a["ok"] is False, a
        assert a["error"]["code"] == "failed", a
        assert a["error"]["message"], a
    assert app.proc.alive()
    assert app.status()["vpn"] == "failed"
    log = app.log_text()
    assert missing in log or "appliance-0001.crt" in log, \
        "openvpn's complaint is not in the log"
    # docs/api.md: a process event has running, pid, and on exit
    # exit_status or signal.
    for e in exits:
        assert "pid" in e and e.get("exit_status") == 1, \
            f"exit event without pid/exit_status: {e}"
    for e in starts:
        assert isinstance(e.get("pid"), int), e


def test_openvpn_process_events(appliance):
    """`openvpn` events of kind `process` (docs/api.md): start with pid,
    exit with pid and signal."""
    s = wait_held(appliance)
    old = s["openvpn"]["pid"]
    with appliance.api(timeout=10) as c:
        c.subscribe(["openvpn"])
        os.kill(old, signal.SIGKILL)
        gone = c.wait_event(lambda e: e.get("kind") == "process" and
                            e.get("running") is False, 10,
                            desc="the process exit event")
        new = c.wait_event(lambda e: e.get("kind") == "process" and
                           e.get("running") is True, 15,
                           desc="the process start event")
    assert new.get("pid") not in (None, old), new
    assert gone.get("pid") == old, f"exit event without the pid: {gone}"
    assert gone.get("signal") in (9, "SIGKILL", "KILL"), \
        f"exit event without the signal: {gone}"
    assert "exit_status" not in gone or gone["exit_status"] is None, gone


@pytest.mark.parametrize("line,option", [
    ("management /tmp/sv-rogue.sock unix", "management"),
    ("management-hold", "management-hold"),
    ("daemon", "daemon"),
    ("log /tmp/sv-rogue.log", "log"),
    ("log-append /tmp/sv-rogue.log", "log-append"),
    ("writepid /tmp/sv-rogue.pid", "writepid"),
    ("plugin /tmp/sv-rogue.so", "plugin"),
])
def test_client_config_with_owned_option_is_refused(make_appliance, line,
                                                     option):
    app = make_appliance(client_extra=[line])
    rc, out = app.run_to_exit(timeout=10)
    assert rc != 0, f"supportvpnd accepted a client config with {line!r}"
    said = out + app.log_text()
    word = re.compile(r"(?<!\w)" + re.escape(option) + r"(?![\w-])")
    naming = [ln for ln in said.splitlines() if word.search(ln) and
              ("client.ovpn" in ln or "option" in ln)]
    assert naming, f"no message names the option {option!r}:\n{said[-2000:]}"
    assert app.openvpn_pids() == [], "openvpn was started anyway"


@pytest.mark.parametrize("content", [
    b"\x00\x01garbage{{{ not json",
    b'{"version": 1, "start_when_possible": tr',
    b'{"version": 1, "start_when_possible": "yes"}',
    b"[true]",
    b"",
], ids=["garbage", "truncated", "wrong-type", "not-an-object", "empty"])
def test_corrupt_settings_stay_stopped(make_appliance, content):
    app = make_appliance()
    with open(app.settings_path, "wb") as f:
        f.write(content)
    app.start()
    s = wait_held(app)
    assert s["vpn"] == "stopped" and s["start_when_possible"] is False, s
    corrupt = app.settings_path + ".corrupt"
    assert os.path.exists(corrupt), "the corrupt file was not set aside"
    with open(corrupt, "rb") as f:
        assert f.read() == content
    assert "settings" in app.log_text(), "the corruption is not logged"
    time.sleep(1.5)
    assert app.proc.alive()
    s = app.status()
    assert s["vpn"] == "stopped" and app.tunnel_addrs() == []
