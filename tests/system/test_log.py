# SPDX-License-Identifier: MIT
"""The operator log file: RFC 3339 UTC timestamps, reopened on SIGHUP."""

import os
import re
import signal
import time

import bed as tb
from conftest import start_connected, wait_held

# An RFC 3339 UTC timestamp at the start of every line.
STAMP = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T"
                   r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?Z\s")


def lines_of(path):
    with open(path, errors="replace") as f:
        return [ln for ln in f.read().splitlines() if ln.strip()]


def test_log_lines_have_rfc3339_utc_timestamps(appliance):
    wait_held(appliance)
    start_connected(appliance)
    assert appliance.request("stop", timeout=15)["ok"] is True
    lines = lines_of(appliance.log_path)
    assert len(lines) >= 5, lines
    bad = [ln for ln in lines if not STAMP.match(ln)]
    assert not bad, f"{len(bad)} lines without an RFC 3339 UTC timestamp, " \
        f"e.g. {bad[:3]}"
    # They are the current time, in UTC.
    newest = lines[-1][:19]
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    assert abs(time.mktime(time.strptime(newest, "%Y-%m-%dT%H:%M:%S")) -
               time.mktime(time.strptime(now, "%Y-%m-%dT%H:%M:%S"))) < 120
    # The API's log command gives the same lines.
    api = appliance.call("log", lines=3)["lines"]
    assert len(api) == 3 and all(STAMP.match(ln) for ln in api), api


def test_sighup_reopens_the_log_file(appliance):
    s = wait_held(appliance)
    ovpn = s["openvpn"]["pid"]
    rotated = appliance.log_path + ".1"
    os.rename(appliance.log_path, rotated)
    appliance.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert appliance.proc.alive(), "SIGHUP killed supportvpnd"
    # Something to log: a start and a stop.
    start_connected(appliance)
    assert appliance.request("stop", timeout=15)["ok"] is True
    tb.wait_until(lambda: os.path.exists(appliance.log_path), 5,
                  desc="a new log file after SIGHUP")
    tb.wait_until(lambda: len(lines_of(appliance.log_path)) >= 2, 5,
                  desc="new lines in the new log file")
    size = os.path.getsize(rotated)
    start_connected(appliance)
    assert appliance.request("stop", timeout=15)["ok"] is True
    time.sleep(0.3)
    assert os.path.getsize(rotated) == size, "still writing the rotated file"
    assert all(STAMP.match(ln) for ln in lines_of(appliance.log_path))
    assert appliance.proc.alive(), "SIGHUP killed supportvpnd"
    s = appliance.status()
    assert s["openvpn"]["pid"] == ovpn, "SIGHUP restarted openvpn"
