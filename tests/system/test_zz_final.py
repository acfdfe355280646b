# SPDX-License-Identifier: MIT
"""Runs last (file order): every bed of the earlier modules is gone. The
session-level fixture in conftest.py checks once more after this module."""

import os

import bed as tb
from bed import netns as nx


def test_earlier_beds_left_nothing_behind():
    assert tb.ALL_PREFIXES, "no bed was built before this test"
    left = tb.our_netns()
    assert not left, f"namespaces left behind: {left}"
    procs = []
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        cmd = " ".join(nx.proc_cmdline(pid) or [])
        if any(f"supportvpn-bed-{p}" in cmd for p in tb.ALL_PREFIXES):
            procs.append((pid, cmd[:120]))
    assert not procs, f"processes left behind: {procs}"
    if os.path.isdir("/etc/netns"):
        ours = [d for d in os.listdir("/etc/netns")
                if d.startswith(tuple(p + "-" for p in tb.ALL_PREFIXES))]
        assert not ours, f"/etc/netns entries left behind: {ours}"
