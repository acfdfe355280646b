#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make bench: supportvpnd against raw openvpn on the namespace test bed.

Prints a table and one JSON line. A benchmark, not a test: it asserts
nothing about timing. Needs root (network namespaces), like the tests.

Measured, on one bed (inet + hub + dev), comparisons in alternating cycles:
  - raw openvpn driven by hand over its management socket:
      `hold release` -> >STATE CONNECTED, and `hold on` + `signal SIGUSR1`
      -> >HOLD
  - the same through supportvpnd's API: `start` (wait) -> connected, and
    `stop` -> stopped
  - `status` latency on loopback with one client (p50/p99), and requests
    per second with 32 clients (build/bench/api_load)
  - supportvpnd's memory after the run: RssAnon and VmRSS from /proc
  - the plugin: its cost per TLS_VERIFY call (build/tests/plugin_driver
    --bench), and start -> connected through the API with and without it
  - the prerequisite checks: the whole set on a healthy bed (`checks`
    with refresh), the same with a DNS server that never answers, and
    `checks` from the cache (p50/p99 with api_load)
  - the support login: `auth` per verification (yescrypt at the chosen
    cost, through the API), and `status` latency for another client while
    4 connections flood `auth` with wrong passwords (the limiter locks
    them out) and with the right one (a yescrypt computation always
    running)
"""

import json
import os
import re
import threading
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import bed as tb  # noqa: E402

CYCLES = int(os.environ.get("BENCH_CYCLES", "25"))
LOAD_SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "3"))
PLUGIN_CYCLES = int(os.environ.get("BENCH_PLUGIN_CYCLES", "100"))
CHECK_RUNS = int(os.environ.get("BENCH_CHECK_RUNS", "20"))
SHM = "/dev/shm"     # tmpfs on Debian, like /run


def say(msg):
    print(msg, flush=True)


def raw_cycle(m, up, down):
    """One hold release -> CONNECTED and park -> >HOLD, by hand."""
    t0 = time.monotonic()
    m.command("hold release")
    m.wait_for(">STATE:", contains=",CONNECTED,")
    up.append((time.monotonic() - t0) * 1000)
    t0 = time.monotonic()
    m.command("hold on")
    m.command("signal SIGUSR1")
    m.wait_for(">HOLD:")
    down.append((time.monotonic() - t0) * 1000)


def raw_against_api(bed, appliance):
    """Raw openvpn driven by hand and the same through supportvpnd's API,
    on one bed, cycles alternating so that drift affects both alike.
    Returns (raw_up, raw_down, api_up, api_down) in ms."""
    cfg = os.path.join(bed.dir, "raw-client.ovpn")
    with open(cfg, "w") as f:
        f.write(tb.client_config(bed.pki))
    sock = os.path.join(bed.dir, "raw-mgmt.sock")
    proc = bed.spawn("raw-openvpn", "dev", [
        "/usr/sbin/openvpn", "--config", cfg, "--management", sock, "unix",
        "--management-hold", "--management-signal"])
    tb.wait_until(lambda: os.path.exists(sock), 10, desc="raw mgmt socket")
    raw_up, raw_down, api_up, api_down = [], [], [], []
    m = tb.MgmtClient(sock, timeout=20)
    try:
        m.wait_for(">HOLD:")
        m.command("state on")
        with appliance.api(timeout=30) as api:
            for _ in range(CYCLES):
                raw_cycle(m, raw_up, raw_down)
                cycle(api, api_up, api_down)
    finally:
        m.close()
        proc.stop()
    return raw_up, raw_down, api_up, api_down


def plugin_call_us():
    """(depth 0, depth 1) microseconds per TLS_VERIFY call, from the driver."""
    exe = os.path.join(tb.build_dir(), "tests", "plugin_driver")
    so = tb.plugin_path()
    r = subprocess.run([exe, so, "--bench", "2000"], capture_output=True,
                       text=True, timeout=120, check=True)
    m = re.search(r"depth 0: ([0-9.]+) us per call.*depth 1: ([0-9.]+) us",
                  r.stdout + r.stderr)
    return float(m.group(1)), float(m.group(2))


def cycle(api, up, down):
    t0 = time.monotonic()
    st = api.call("start", wait=True, timeout_s=20)
    up.append((time.monotonic() - t0) * 1000)
    assert st["vpn"] == "connected", st
    t0 = time.monotonic()
    st = api.call("stop")
    down.append((time.monotonic() - t0) * 1000)
    assert st["vpn"] == "stopped", st


def interleaved(a, b):
    """start -> connected medians of two appliances, cycles alternating so
    that drift on the machine affects both alike."""
    ups = ([], [])
    with a.api(timeout=30) as api_a, b.api(timeout=30) as api_b:
        for _ in range(PLUGIN_CYCLES):
            cycle(api_a, ups[0], [])
            cycle(api_b, ups[1], [])
    return ups


def api_load(bed, appliance, conns, request=None):
    exe = os.path.join(tb.build_dir(), "bench", "api_load")
    argv = [exe, "127.0.0.1", str(appliance.api_port), str(conns),
            str(LOAD_SECONDS)] + ([request] if request else [])
    r = bed.exec("dev", argv, timeout=60, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def checks_runs(appliance, n):
    """ms of n `checks` refreshes, each a whole run of the set."""
    out = []
    with appliance.api(timeout=30) as api:
        for _ in range(n):
            t0 = time.monotonic()
            api.call("checks", refresh=True)
            out.append((time.monotonic() - t0) * 1000)
    return out


AUTH_RUNS = int(os.environ.get("BENCH_AUTH_RUNS", "20"))
PW_RE = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){6}\b")


def auth_bench(bed, a):
    """ms per `auth` (granted, so no lock-out interferes), and status
    latency alone and under two floods of `auth`."""
    r = a.ctl("support-password", "--generate", "--config", a.config_path)
    pw = PW_RE.findall(r.stdout)[0]
    a.call("start", wait=True, timeout_s=30)
    per = []
    with a.api(timeout=30) as api:
        for _ in range(AUTH_RUNS):
            t0 = time.monotonic()
            got = api.call("auth", user="support", password=pw)
            per.append((time.monotonic() - t0) * 1000)
            assert got["granted"] is True, got
    alone = api_load(bed, a, 1)
    out = {"auth_ms": med(per), "status_alone": alone}
    # The right password first: once the wrong one has locked the
    # limiter out, nothing would be hashed any more.
    for name, password in (("right", pw), ("wrong", pw + "x")):
        stop = threading.Event()
        counts = []

        def flood():
            n = 0
            with a.api(timeout=30) as api:
                while not stop.is_set():
                    api.call("auth", user="support", password=password)
                    n += 1
            counts.append(n)
        threads = [threading.Thread(target=flood) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.2)
        under = api_load(bed, a, 1)
        stop.set()
        for t in threads:
            t.join()
        out[f"status_flood_{name}"] = under
        out[f"auth_flood_{name}_per_s"] = sum(counts) / (LOAD_SECONDS + 0.2)
    a.call("stop")
    return out


def memory(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("RssAnon", "VmRSS"):
                out[k] = int(v.split()[0])   # kB
    return out


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    if os.geteuid() != 0:
        print("bench: needs root (network namespaces)", file=sys.stderr)
        return 2
    tb.sweep_stale()
    pkidir = tempfile.mkdtemp(prefix="supportvpn-bench-pki-")
    pki = tb.Pki(pkidir).generate()
    bed = tb.Bed(pki, roles=("hub", "dev"))
    failed = True
    shm = None
    try:
        bed.setup()
        bed.start_hub()
        bed.start_network("dev")
        say(f"bench: bed {bed.prefix} up; {CYCLES} cycles each")
        a = tb.Appliance(bed, config_extra={"log_level": "info"})
        a.start()
        raw_up, raw_down, api_up, api_down = raw_against_api(bed, a)
        one = api_load(bed, a, 1)
        many = api_load(bed, a, 32)
        healthy = checks_runs(a, CHECK_RUNS)
        cached = api_load(bed, a, 1, '{"id":1,"cmd":"checks"}')
        bed.silent_dns()
        bed.write_resolv_conf("dev", tb.SILENT_DNS_IP)
        blackholed = checks_runs(a, 5)
        bed.restore_network()
        timeout_ms = a.config["checks"]["timeout_ms"]
        mem = memory(a.proc.pid)
        auth = auth_bench(bed, a)
        a.close()
        # The same client config as the plugin's (no remote-cert-tls), so
        # the two differ only by the plugin; both run side by side, with
        # run_dir on tmpfs as /run/supportvpn is on an appliance (the
        # consent record is written there before every release).
        shm = tempfile.mkdtemp(prefix="supportvpn-bench-", dir=SHM)
        p = tb.Appliance(bed, plugin=True, tag="bench-plugin", api_port=7516,
                         config_extra={"log_level": "info"},
                         run_dir=os.path.join(shm, "plugin"))
        n = tb.Appliance(bed, tag="bench-noplugin", api_port=7517,
                         config_extra={"log_level": "info"},
                         client_text=tb.client_config(pki, hub_checks=False),
                         run_dir=os.path.join(shm, "noplugin"))
        p.start()
        n.start()
        plug_up, noplug_up = interleaved(p, n)
        p.close()
        n.close()
        d0_us, d1_us = plugin_call_us()
        failed = False
    finally:
        bed.cleanup(failed=failed)
        subprocess.run(["rm", "-rf", pkidir], check=False)
        if shm is not None:
            subprocess.run(["rm", "-rf", shm], check=False)

    res = {
        "cycles": CYCLES,
        "raw_release_to_connected_ms": round(med(raw_up), 2),
        "api_start_to_connected_ms": round(med(api_up), 2),
        "start_ratio": round(med(api_up) / med(raw_up), 3),
        "raw_park_to_hold_ms": round(med(raw_down), 2),
        "api_stop_to_stopped_ms": round(med(api_down), 2),
        "stop_ratio": round(med(api_down) / med(raw_down), 3),
        "status_p50_us": one["p50_us"],
        "status_p99_us": one["p99_us"],
        "status_rps_32_clients": int(many["rps"]),
        "status_errors": one["errors"] + many["errors"],
        "rss_anon_kib": mem.get("RssAnon"),
        "vm_rss_kib": mem.get("VmRSS"),
        "connect_with_plugin_ms": round(med(plug_up), 2),
        "connect_without_plugin_ms": round(med(noplug_up), 2),
        "plugin_connect_ratio": round(med(plug_up) / med(noplug_up), 3),
        # Each cycle connects one, then the other: the median of the
        # per-cycle ratios is less sensitive to the machine's drift.
        "plugin_connect_ratio_paired": round(med([p / n for p, n in
                                                  zip(plug_up, noplug_up)]),
                                             3),
        "plugin_tls_verify_depth0_us": d0_us,
        "plugin_tls_verify_depth1_us": d1_us,
        "checks_healthy_median_ms": round(med(healthy), 2),
        "checks_blackholed_dns_max_ms": round(max(blackholed), 1),
        "checks_timeout_ms": timeout_ms,
        "checks_cached_p50_us": cached["p50_us"],
        "checks_cached_p99_us": cached["p99_us"],
        "auth_verify_ms": round(auth["auth_ms"], 1),
        "status_p99_us_alone": auth["status_alone"]["p99_us"],
        "status_p99_us_auth_flood_wrong": auth["status_flood_wrong"]["p99_us"],
        "status_p99_us_auth_flood_right": auth["status_flood_right"]["p99_us"],
        "auth_flood_wrong_per_s": round(auth["auth_flood_wrong_per_s"]),
        "auth_flood_right_per_s": round(auth["auth_flood_right_per_s"]),
    }
    rows = [
        ("start -> connected (median)", f"{res['api_start_to_connected_ms']} ms",
         f"raw {res['raw_release_to_connected_ms']} ms, ratio "
         f"{res['start_ratio']}", "ratio <= 1.2"),
        ("stop -> stopped (median)", f"{res['api_stop_to_stopped_ms']} ms",
         f"raw {res['raw_park_to_hold_ms']} ms, ratio {res['stop_ratio']}",
         "ratio <= 1.2"),
        ("status latency, 1 client", f"p50 {res['status_p50_us']} us",
         f"p99 {res['status_p99_us']} us", "p99 <= 1000 us"),
        ("status rate, 32 clients", f"{res['status_rps_32_clients']}/s", "",
         ">= 20000/s"),
        ("supportvpnd memory", f"RssAnon {res['rss_anon_kib']} KiB",
         f"VmRSS {res['vm_rss_kib']} KiB", "RssAnon <= 4096 KiB"),
        ("connect with plugin (median)",
         f"{res['connect_with_plugin_ms']} ms",
         f"without {res['connect_without_plugin_ms']} ms, ratio "
         f"{res['plugin_connect_ratio']} (paired "
         f"{res['plugin_connect_ratio_paired']})", "ratio <= 1.05"),
        ("plugin TLS_VERIFY call", f"{d0_us} us (depth 0)",
         f"{d1_us} us (depth 1)", ""),
        ("checks, healthy (median)", f"{res['checks_healthy_median_ms']} ms",
         f"{CHECK_RUNS} runs", "<= 50 ms"),
        ("checks, silent DNS (worst)",
         f"{res['checks_blackholed_dns_max_ms']} ms",
         f"timeout_ms {timeout_ms}", f"<= {timeout_ms * 1.1:.0f} ms"),
        ("checks from the cache", f"p50 {res['checks_cached_p50_us']} us",
         f"p99 {res['checks_cached_p99_us']} us", "p99 <= 1000 us"),
        ("auth, one verification", f"{res['auth_verify_ms']} ms",
         "yescrypt cost 4, via the API", ""),
        ("status p99, auth flood (wrong)",
         f"{res['status_p99_us_auth_flood_wrong']} us",
         f"alone {res['status_p99_us_alone']} us; "
         f"{res['auth_flood_wrong_per_s']} auth/s", "p99 <= 1000 us"),
        ("status p99, auth flood (right)",
         f"{res['status_p99_us_auth_flood_right']} us",
         f"{res['auth_flood_right_per_s']} auth/s (hashing)",
         "p99 <= 1000 us"),
    ]
    say("")
    say(f"{'measure':<30} {'value':<22} {'compared':<34} goal")
    for r in rows:
        say(f"{r[0]:<30} {r[1]:<22} {r[2]:<34} {r[3]}")
    say("")
    print("BENCH " + json.dumps(res, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
