# SPDX-License-Identifier: MIT
"""The operators' pass-through socket run_dir/management.sock: openvpn's
management protocol, read-only, refusals naming supportvpnd."""

import os
import re
import stat
import time

import pytest

import bed as tb
from conftest import start_connected, wait_held

STATE_LINE = re.compile(r"^\d+,[A-Z_]+,")


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_sockets_are_private(appliance):
    wait_held(appliance)
    assert stat.S_ISSOCK(os.stat(appliance.mgmt_path).st_mode)
    assert mode_of(appliance.mgmt_path) == 0o600
    assert mode_of(appliance.openvpn_sock) == 0o600


def test_read_only_commands_are_forwarded(appliance):
    s = wait_held(appliance)
    pid = s["openvpn"]["pid"]
    with tb.MgmtClient(appliance.mgmt_path) as m:
        assert m.command("pid") == [f"SUCCESS: pid={pid}"]
        state = m.command("state")
        assert state and all(STATE_LINE.match(ln) for ln in state), state
        version = m.command("version")
        assert any(ln.startswith("OpenVPN Version: OpenVPN 2.6")
                   for ln in version), version
        assert any(ln.startswith("Management Version:") for ln in version)
        # (`status` is in test_state_while_connected: a held openvpn
        # answers it with an ERROR of its own.)
        # Several commands on one connection, in order.
        assert m.command("pid") == [f"SUCCESS: pid={pid}"]


@pytest.mark.parametrize("command", ["hold release", "signal SIGTERM",
                                     "signal SIGUSR1", "hold off",
                                     "state on", "bytecount 1"])
def test_control_commands_are_refused_naming_supportvpnd(appliance, net,
                                                         command):
    s = wait_held(appliance)
    pid = s["openvpn"]["pid"]
    with tb.MgmtClient(appliance.mgmt_path) as m:
        answer = m.command(command)
        assert len(answer) == 1 and answer[0].startswith("ERROR:"), answer
        assert "supportvpnd" in answer[0], answer
        # The connection is still usable afterwards.
        assert m.command("pid") == [f"SUCCESS: pid={pid}"]
    time.sleep(1.0)
    s = appliance.status()
    assert s["vpn"] == "stopped" and s["openvpn"]["held"] is True, s
    assert s["openvpn"]["pid"] == pid and tb.netns.pid_alive(pid)
    assert appliance.tunnel_addrs() == []


def test_state_while_connected(appliance):
    wait_held(appliance)
    s = start_connected(appliance)
    with tb.MgmtClient(appliance.mgmt_path) as m:
        last = m.command("state")[-1].split(",")
        assert last[1:3] == ["CONNECTED", "SUCCESS"], last
        assert last[3] == s["tunnel"]["local_ip"]
        assert any(ln.startswith("TUN/TAP read bytes,")
                   for ln in m.command("status"))
        # A refused signal leaves the tunnel alone.
        assert m.command("signal SIGUSR1")[0].startswith("ERROR:")
    time.sleep(0.5)
    assert appliance.status()["vpn"] == "connected"


def test_unknown_and_garbage_commands(appliance):
    wait_held(appliance)
    with tb.MgmtClient(appliance.mgmt_path) as m:
        for cmd in ("frobnicate", "\x01\x02garbage", "x" * 900):
            a = m.command(cmd)
            assert len(a) == 1 and a[0].startswith("ERROR:"), (cmd, a)
        assert m.command("pid")[0].startswith("SUCCESS: pid=")
