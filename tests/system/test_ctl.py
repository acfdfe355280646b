# SPDX-License-Identifier: MIT
"""supportvpnctl against the real daemon: exit codes and readable output."""

import json
import re

from conftest import reaches, wait_held

PROGRESS = re.compile(r"\b(CONNECTING|RESOLVE|WAIT|AUTH|GET_CONFIG|ASSIGN_IP|"
                      r"ADD_ROUTES)\b")


def out(r):
    return f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"


def test_ctl_status_start_stop(appliance, net, service):
    wait_held(appliance)
    r = appliance.ctl("status")
    assert r.returncode == 0, out(r)
    assert "stopped" in r.stdout, out(r)
    assert not r.stdout.lstrip().startswith("{"), "status is not for people"

    r = appliance.ctl("start", "--wait")
    assert r.returncode == 0, out(r)
    text = r.stdout + r.stderr
    assert PROGRESS.search(text), f"no openvpn progress shown:\n{out(r)}"
    assert "connected" in text.lower(), out(r)
    s = appliance.status()
    assert s["vpn"] == "connected"
    ip = s["tunnel"]["local_ip"]
    assert reaches(net, ip)

    r = appliance.ctl("status")
    assert r.returncode == 0 and "connected" in r.stdout, out(r)
    assert ip in r.stdout, f"status does not show the tunnel address:\n{out(r)}"

    r = appliance.ctl("stop")
    assert r.returncode == 0, out(r)
    assert appliance.status()["vpn"] == "stopped"
    r = appliance.ctl("status")
    assert r.returncode == 0 and "stopped" in r.stdout, out(r)


def test_ctl_json_status(appliance):
    wait_held(appliance)
    r = appliance.ctl("--json", "status")
    assert r.returncode == 0, out(r)
    assert json.loads(r.stdout)["vpn"] == "stopped"


def test_ctl_unknown_command_exits_2(appliance):
    r = appliance.ctl("frobnicate")
    assert r.returncode == 2, out(r)
    assert r.stderr.strip(), "no message for a usage error"


def test_ctl_closed_port_exits_1(appliance, net):
    r = appliance.ctl("--connect", "127.0.0.1:1", "status")
    assert r.returncode == 1, out(r)
    assert r.stderr.strip(), out(r)
    # Where nothing listens at all: the hub namespace.
    r = appliance.ctl("status", role="hub")
    assert r.returncode == 1, out(r)


def test_ctl_error_answer_exits_1(appliance):
    """An error answer (openvpn command that is not read-only) is exit 1."""
    wait_held(appliance)
    r = appliance.ctl("openvpn", "hold", "release")
    assert r.returncode == 1, out(r)
    assert "not_allowed" in r.stderr + r.stdout or \
        "not allowed" in (r.stderr + r.stdout).lower(), out(r)
