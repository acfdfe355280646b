#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make soak: supportvpnd under a bounded, mixed, concurrent load on the
namespace test bed, watching for leaks and wrong answers.

Not a test and not part of `make check`: it runs SOAK_SECONDS (default
180) and prints what it saw. On one bed (inet + hub + dev: the hub's real
openvpn server, supportvpnd with the real client openvpn and the real
plugin), at the same time:

  - owner: start (wait; every fourth one "when possible") and stop,
    cycle after cycle on one connection; each answer is checked (ok,
    `vpn`, `start_when_possible`, the tunnel, the session) and so is the
    state it leaves: the consent record present or gone, settings.json,
    and every 25 cycles the number of openvpn processes
  - short connections (two threads): connect, one request (status,
    version, checks, log, history, openvpn state, or a bad one that must
    get its error code), read the answer (or hang up without reading, or
    in the middle of a line), close
  - subscribers that come and go: subscribe to a random set of events,
    read them for up to a second, check each event's name and time, close
  - one slow subscriber: all events, a small receive buffer, read at
    SOAK_SLOW_BPS (20000 bytes/s; 0: none); supportvpnd closes it when its
    backlog passes 1 MiB (docs/api.md: a connection that does not read is
    closed, not buffered without end), and then a new one takes its place
  - a status poller: one connection, status every 5 ms, each answer
    checked for consistency (the tunnel exactly while connected, the
    openvpn pid unchanged, openvpn running)

A `start` that answers `timeout` (openvpn did not connect within 15 s) is
counted and shown apart: a right answer, but not what the soak is for.

supportvpnd's open descriptors (/proc/PID/fd), RssAnon and VmRSS, its
threads, and the openvpn processes in the appliance's namespace are
sampled at boot, every SOAK_SAMPLE_S seconds (20), and with no load (the
VPN stopped, the connections closed) three times: after a warm-up of
SOAK_WARMUP_S seconds (30) of the same load, in which the log ring, the
heap (slow subscribers' backlogs included), the history file and libuv's
thread pool reach their working size; halfway through; and at the end.
What grows in both halves is what leaks. The history rotates at SOAK_AUDIT_MAX_BYTES
(65536, instead of the default 1 MiB) so that it reaches its working size
within the warm-up: `history` reads the whole current and previous file,
so the heap follows the file's size up to twice audit.max_bytes.

It prints the samples as a table, every wrong answer, and one line
`SOAK {json}`. Exit status 1 if an answer was wrong, supportvpnd died or
did not exit with 0 at SIGTERM, or there are more descriptors, or not
exactly one openvpn, at the end than after the warm-up.

SOAK_HEAP=1 (needs gdb) also prints glibc's bytes in use at those two
idle samples (malloc_stats() through gdb), which RSS cannot tell apart
from what the allocator keeps after a burst; SOAK_SMAPS=1 with it, the
anonymous mappings and each arena.

Under AddressSanitizer: SUPPORTVPN_BUILD=build-asan (after `make asan`'s
build) and SOAK_PLUGIN=build/openvpn-plugin-supportvpn.so (openvpn cannot
load an ASan plugin); LeakSanitizer then reports at the SIGTERM at the end.
"""

import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import bed as tb  # noqa: E402
from bed import netns as nx  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "180"))
SAMPLE_S = float(os.environ.get("SOAK_SAMPLE_S", "20"))
WARMUP_S = float(os.environ.get("SOAK_WARMUP_S", "30"))
START_TIMEOUT_S = 15
AUDIT_MAX = int(os.environ.get("SOAK_AUDIT_MAX_BYTES", "65536"))
HEAP = os.environ.get("SOAK_HEAP", "") not in ("", "0")
SLOW_BPS = int(os.environ.get("SOAK_SLOW_BPS", "20000"))
SHM = "/dev/shm"     # tmpfs on Debian, like /run

STATES = {"stopped", "waiting", "starting", "connected", "reconnecting",
          "stopping", "failed"}
EVENTS = ["state", "checks", "openvpn", "peer", "log", "session"]
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def say(msg):
    print(msg, flush=True)


class Tally:
    """Counters and wrong answers, shared by the workers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.n = {}
        self.wrong = []
        self.timeouts = []

    def add(self, key, k=1):
        with self.lock:
            self.n[key] = self.n.get(key, 0) + k

    def bad(self, who, what, got):
        text = json.dumps(got) if not isinstance(got, str) else got
        with self.lock:
            self.wrong.append((time.monotonic(), who, what, text[:400]))


class Soak:
    def __init__(self, bed, app):
        self.bed, self.a = bed, app
        self.t = Tally()
        self.stop = threading.Event()
        self.cycles = 0
        self.ovpn_pid = None
        self.threads = []

    # -- helpers -------------------------------------------------------------
    def connect(self, rcvbuf=None):
        s = nx.socket_in(self.a.ns)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(30)
        s.connect(("127.0.0.1", self.a.api_port))
        return s

    def api(self):
        return self.a.api(timeout=60, name="soak")

    def run(self, name, fn):
        def body():
            try:
                while not self.stop.is_set():
                    fn()
            except Exception as e:   # a worker that dies is a finding
                self.t.bad(name, "worker died", f"{type(e).__name__}: {e}")
        th = threading.Thread(target=body, name=name, daemon=True)
        th.start()
        self.threads.append(th)

    def phase(self, seconds, rows, t0, label):
        """Every worker at once for `seconds`, sampling every SAMPLE_S;
        then they stop and the VPN is stopped. False if supportvpnd died."""
        self.stop.clear()
        self.threads = []
        self.run("owner", self.owner)
        for i in range(2):
            self.run(f"short-{i}", self.short)
        self.run("subscriber", self.subscriber)
        if SLOW_BPS > 0:
            self.run("slow", self.slow_subscriber)
        self.run("poller", self.poller)
        t_start = time.monotonic()
        next_sample = t_start + SAMPLE_S
        alive = True
        while time.monotonic() - t_start < seconds:
            time.sleep(0.5)
            if not self.a.proc.alive():
                self.t.bad("soak", "supportvpnd died",
                           f"exit {self.a.proc.returncode}")
                alive = False
                break
            if time.monotonic() >= next_sample:
                rows.append(sample(self, label, t0))
                print_samples(rows[-1:], header=False)
                next_sample += SAMPLE_S
        self.stop.set()
        for th in self.threads:
            th.join(90)
            if th.is_alive():
                self.t.bad("soak", f"{th.name} did not finish", "")
        return alive and self.a.proc.alive()

    def idle_sample(self, label, t0, fds):
        """A sample with no load: the VPN stopped, every connection of the
        workers closed (bounded wait)."""
        st = self.a.status()
        if st["vpn"] != "stopped":
            self.t.bad("soak", f"not stopped after the {label} phase", st)
        quiet_fds(self, fds)
        out = sample(self, label, t0)
        out["fd_targets"] = fd_targets(self.a.proc.pid)
        if HEAP:
            out["heap_in_use"] = heap_in_use(self.a)
        return out

    # -- the owner -----------------------------------------------------------
    def check_status(self, who, st, want_vpn=None, want_swp=None):
        ok = True
        if not isinstance(st, dict) or st.get("vpn") not in STATES:
            self.t.bad(who, "status shape", st)
            return False
        if want_vpn is not None and st["vpn"] != want_vpn:
            self.t.bad(who, f"vpn {st['vpn']!r}, wanted {want_vpn!r}", st)
            ok = False
        if want_swp is not None and st.get("start_when_possible") != want_swp:
            self.t.bad(who, f"start_when_possible, wanted {want_swp}", st)
            ok = False
        if (st["vpn"] == "connected") != isinstance(st.get("tunnel"), dict):
            self.t.bad(who, "tunnel present iff connected", st)
            ok = False
        ov = st.get("openvpn") or {}
        if ov.get("running") is not True:
            self.t.bad(who, "openvpn not running", st)
            ok = False
        elif self.ovpn_pid is not None and ov.get("pid") != self.ovpn_pid:
            self.t.bad(who, f"openvpn pid changed from {self.ovpn_pid}", st)
            ok = False
        return ok

    def settings_swp(self):
        try:
            with open(self.a.settings_path) as f:
                return json.load(f).get("start_when_possible")
        except FileNotFoundError:
            return False
        except ValueError as e:
            return f"unparsable: {e}"

    def owner_cycle(self, api):
        wp = self.cycles % 4 == 3
        who = f"owner cycle {self.cycles}"
        args = {"wait": True, "timeout_s": START_TIMEOUT_S, "by": "soak"}
        if wp:
            args["when_possible"] = True
        ans = api.request("start", timeout=60, **args)
        self.t.add("start")
        err = ans.get("error") or {}
        if ans.get("ok") is False and err.get("code") == "timeout" and \
                err.get("message"):
            # A right answer (openvpn did not connect in time), but not
            # what we came for: counted and shown apart.
            with self.t.lock:
                self.t.timeouts.append((time.monotonic(), who,
                                        err["message"]))
        elif ans.get("ok") is not True:
            self.t.bad(who, "start answered an error", ans)
        else:
            st = ans["result"]
            if self.check_status(who + " start", st, "connected", wp) and \
                    not isinstance(st.get("session"), dict):
                self.t.bad(who, "start: no session while connected", st)
            if not os.path.exists(self.a.consent_path):
                self.t.bad(who, "connected without a consent record", "")
            if self.settings_swp() != wp:
                self.t.bad(who, f"settings.json start_when_possible is "
                           f"{self.settings_swp()!r}, wanted {wp}", "")
        ans = api.request("stop", timeout=60, by="soak")
        self.t.add("stop")
        if ans.get("ok") is not True:
            self.t.bad(who, "stop answered an error", ans)
        else:
            st = ans["result"]
            self.check_status(who + " stop", st, "stopped", False)
            if st.get("session") is not None:
                self.t.bad(who, "stop: the session is still open", st)
            if os.path.exists(self.a.consent_path):
                self.t.bad(who, "stopped, but the consent record is there",
                           "")
            if self.settings_swp() is not False:
                self.t.bad(who, f"settings.json start_when_possible is "
                           f"{self.settings_swp()!r} after stop", "")
        if self.cycles % 25 == 0:
            n = len(self.a.openvpn_pids())
            if n != 1:
                self.t.bad(who, f"{n} openvpn processes in the appliance's "
                           f"namespace", "")
        self.cycles += 1

    def owner(self):
        with self.api() as api:
            while not self.stop.is_set():
                self.owner_cycle(api)

    # -- short connections ---------------------------------------------------
    REQUESTS = [
        ("status", {}, None), ("version", {}, None), ("checks", {}, None),
        ("log", {"lines": 5}, None), ("history", {"limit": 3}, None),
        ("openvpn", {"command": "state"}, "unavailable"),
        ("nosuch", {}, "unknown_command"),
        ("status", {"bogus": 1}, "bad_argument"),
        ("log", {"lines": 0}, "bad_argument"),
    ]

    def short(self):
        r = random.random()
        try:
            s = self.connect()
        except OSError as e:
            self.t.bad("short", "connect", str(e))
            return
        try:
            if r < 0.05:
                s.sendall(b'{"id": 1, "cmd": "sta')   # hang up mid-line
                self.t.add("short_cut")
                return
            if r < 0.10:
                s.sendall(b"this is not json\n")
                self.expect(s, "garbage", None, "bad_request")
                return
            cmd, args, err = random.choice(self.REQUESTS)
            req = dict(args, id=random.randrange(1 << 30), cmd=cmd)
            s.sendall(json.dumps(req).encode() + b"\n")
            if r < 0.20:
                self.t.add("short_noread")     # hang up without reading
                return
            self.expect(s, cmd, req["id"], err)
        finally:
            s.close()

    def expect(self, s, what, rid, err):
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                self.t.bad("short", f"{what}: closed without an answer",
                           buf.decode(errors="replace"))
                return
            buf += chunk
        try:
            ans = json.loads(buf.split(b"\n", 1)[0])
        except ValueError:
            self.t.bad("short", f"{what}: not JSON", buf[:300].decode(
                errors="replace"))
            return
        self.t.add("short")
        if rid is not None and ans.get("id") != rid:
            self.t.bad("short", f"{what}: id not echoed", ans)
        if err is None:
            if ans.get("ok") is not True:
                self.t.bad("short", f"{what}: error", ans)
            elif what == "status":
                self.check_status("short status", ans["result"])
        elif what == "openvpn":
            # state answers while the management link is up (nearly always)
            if ans.get("ok") is not True and \
                    (ans.get("error") or {}).get("code") != err:
                self.t.bad("short", f"{what}: unexpected error", ans)
        elif ans.get("ok") is not False or \
                (ans.get("error") or {}).get("code") != err or \
                not (ans.get("error") or {}).get("message"):
            self.t.bad("short", f"{what}: wanted error {err}", ans)

    # -- subscribers ---------------------------------------------------------
    def subscriber(self):
        names = random.sample(EVENTS, random.randint(1, len(EVENTS)))
        with self.api() as c:
            got = c.call("subscribe", events=names)
            if sorted(got.get("events", [])) != sorted(names):
                self.t.bad("subscriber", f"subscribe {names}", got)
            c.drain(random.uniform(0.05, 1.0))
            self.t.add("subscriptions")
            self.t.add("events", len(c.events))
            for e in c.events:
                if e.get("event") not in names or \
                        not TIME_RE.match(str(e.get("time"))):
                    self.t.bad("subscriber", f"event outside {names}", e)
            if c.raw_lines:
                self.t.bad("subscriber", "lines that are not JSON",
                           repr(c.raw_lines[:3]))

    def daemon_side_open(self, port):
        """Whether supportvpnd still has its end of our connection from
        `port` open (ESTABLISHED): after it closes a connection, the
        kernel keeps delivering what was already in its send buffer."""
        r = self.bed.exec("dev", ["ss", "-Htn", "state", "established",
                                  f"( sport = :{self.a.api_port} and "
                                  f"dport = :{port} )"])
        return bool(r.stdout.strip())

    def slow_subscriber(self):
        """All events, read slowly (SLOW_BPS) until supportvpnd closes it
        for not reading (or the soak ends); then a new one."""
        s = self.connect(rcvbuf=4096)
        port = s.getsockname()[1]
        buf, n, last_check = b"", 0, time.monotonic()
        s.settimeout(0.2)
        try:
            s.sendall(b'{"id":"slow","cmd":"subscribe"}\n')
            self.t.add("slow_subscribers")
            while not self.stop.is_set():
                time.sleep(0.1)
                try:
                    chunk = s.recv(SLOW_BPS // 10)
                except socket.timeout:
                    chunk = None
                except ConnectionResetError:
                    chunk = b""
                if chunk == b"":
                    self.t.add("slow_closed_by_daemon")
                    break
                if chunk:
                    n += len(chunk)
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        try:
                            json.loads(line)
                        except ValueError:
                            self.t.bad("slow subscriber", "not JSON",
                                       line[:300].decode(errors="replace"))
                if time.monotonic() - last_check > 2:
                    last_check = time.monotonic()
                    if not self.daemon_side_open(port):
                        self.t.add("slow_closed_by_daemon")
                        break
            self.t.add("slow_bytes", n)
        finally:
            s.close()

    # -- status poller -------------------------------------------------------
    def poller(self):
        with self.api() as c:
            while not self.stop.is_set():
                a = c.request("status", timeout=30)
                self.t.add("status_polls")
                if a.get("ok") is not True:
                    self.t.bad("poller", "status error", a)
                else:
                    self.check_status("poller", a["result"])
                time.sleep(0.005)


# -- sampling -----------------------------------------------------------------

def sample(soak, label, t0):
    pid = soak.a.proc.pid
    out = {"label": label, "t_s": round(time.monotonic() - t0, 1),
           "cycles": soak.cycles}
    try:
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("RssAnon", "VmRSS"):
                    out[k] = int(v.split()[0])
                elif k == "Threads":
                    out[k] = int(v)
    except OSError:
        out["fds"] = None
    out["openvpn"] = len(soak.a.openvpn_pids())
    return out


def heap_in_use(app):
    """glibc's "in use bytes" (all arenas and mmapped chunks) in
    supportvpnd, from malloc_stats() called through gdb: what is allocated
    and not freed, unlike RSS, which keeps what the allocator keeps."""
    mark = f"==== soak: malloc_stats at {time.monotonic()} ===="
    with open(app.out_path, "a") as f:
        f.write(mark + "\n")
    r = subprocess.run(["gdb", "-p", str(app.proc.pid), "-batch", "-nx",
                        "-ex", "call (void)malloc_stats()"],
                       capture_output=True, text=True, timeout=60)
    text = app.output_text()
    text = text[text.rfind(mark):]
    m = re.findall(r"^in use bytes\s*=\s*(\d+)", text, re.M)
    if not m:
        return f"? ({r.stderr.strip()[-200:]})"
    if os.environ.get("SOAK_SMAPS"):
        with open(f"/proc/{app.proc.pid}/smaps") as f:
            maps = f.read()
        for block in re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", maps):
            rss = re.search(r"^Anonymous:\s+(\d+) kB", block, re.M)
            if rss and int(rss.group(1)) >= 64:
                say(f"  smaps: {block.splitlines()[0][:90]} "
                    f"anon {rss.group(1)} kB")
        say("  malloc_stats: " + " | ".join(
            ln for ln in text.splitlines()[1:] if "=" in ln or "Arena" in ln
            or "Total" in ln))
    return int(m[-1])    # the last one is the total


def print_samples(rows, header=True):
    if header:
        say(f"{'sample':<10} {'t/s':>7} {'cycles':>7} {'fds':>5} "
            f"{'RssAnon KiB':>12} {'VmRSS KiB':>10} {'threads':>8} "
            f"{'openvpn':>8}")
    for r in rows:
        say(f"{r['label']:<10} {r['t_s']:>7} {r['cycles']:>7} "
            f"{r.get('fds')!s:>5} {r.get('RssAnon')!s:>12} "
            f"{r.get('VmRSS')!s:>10} {r.get('Threads')!s:>8} "
            f"{r['openvpn']:>8}")


def fd_targets(pid):
    """What supportvpnd's descriptors point at, for the report."""
    out = []
    try:
        for fd in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
            try:
                out.append(f"{fd}:{os.readlink(f'/proc/{pid}/fd/{fd}')}")
            except OSError:
                pass
    except OSError:
        pass
    return out


def kinds(targets):
    """fd_targets without the numbers: what must match for "flat"."""
    return sorted(re.sub(r"\[\d+\]", "", t.split(":", 1)[1])
                  for t in targets or [])


def quiet_fds(soak, want, timeout=10):
    """Waits (bounded) until the closed connections are gone from the fd
    table: at most `want` descriptors, and no change for a second."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        try:
            n = len(os.listdir(f"/proc/{soak.a.proc.pid}/fd"))
        except OSError:
            return
        if n != last:
            last, since = n, time.monotonic()
        elif n <= want and time.monotonic() - since >= 1:
            return
        time.sleep(0.1)


def error_lines(app):
    return [ln for ln in app.log_text().splitlines() if " error " in ln]


def main():
    if os.geteuid() != 0:
        print("soak: needs root (network namespaces)", file=sys.stderr)
        return 2
    tb.sweep_stale()
    pkidir = tempfile.mkdtemp(prefix="supportvpn-soak-pki-")
    shm = tempfile.mkdtemp(prefix="supportvpn-soak-", dir=SHM)
    pki = tb.Pki(pkidir).generate()
    bed = tb.Bed(pki, roles=("hub", "dev"))
    failed = True
    rows = []
    try:
        bed.setup()
        bed.start_hub()
        bed.start_network("dev")
        a = tb.Appliance(bed, plugin=True, tag="soak",
                         config_extra={"log_level": "info",
                                       "audit": {"max_bytes": AUDIT_MAX}},
                         run_dir=os.path.join(shm, "run"))
        if os.environ.get("SOAK_PLUGIN"):
            # e.g. the plain build's plugin beside an ASan supportvpnd
            # (openvpn itself is not built with ASan)
            a.config["openvpn"]["plugin"] = os.path.abspath(
                os.environ["SOAK_PLUGIN"])
            a.write_config()
        a.start()
        t0 = time.monotonic()
        s = Soak(bed, a)
        s.ovpn_pid = a.wait_status(
            lambda st: (st.get("openvpn") or {}).get("held"), 15,
            desc="openvpn held")["openvpn"]["pid"]
        rows.append(sample(s, "boot", t0))
        say(f"soak: bed {bed.prefix} up; {WARMUP_S:.0f} s of warm-up and "
            f"{SECONDS:.0f} s of load, supportvpnd pid {a.proc.pid}, "
            f"openvpn pid {s.ovpn_pid}")
        print_samples(rows)
        # The warm-up is the same load: the log ring, the heap (slow
        # subscribers' backlogs included) and libuv's thread pool reach
        # their working size, so that what grows after it is what leaks.
        alive = s.phase(WARMUP_S, rows, t0, "warm-up")
        warm = mid = end = None
        if alive:
            warm = s.idle_sample("warm", t0, rows[0]["fds"])
            rows.append(warm)
            print_samples(rows[-1:], header=False)
            c0 = s.cycles
            # In two halves with an idle sample between: a leak grows in
            # both, a working set that was still filling only in the first.
            alive = s.phase(SECONDS / 2, rows, t0, "load")
        if alive:
            mid = s.idle_sample("mid", t0, warm["fds"])
            rows.append(mid)
            print_samples(rows[-1:], header=False)
            alive = s.phase(SECONDS / 2, rows, t0, "load")
            load_cycles = s.cycles - c0
        if alive:
            end = s.idle_sample("end", t0, warm["fds"])
            rows.append(end)
        total_s = time.monotonic() - t0
        errors = error_lines(a)
        a.close()
        exit_status = a.sigterm_exits[-1] if a.sigterm_exits else \
            a.proc.returncode
        sanitizer = a.sanitizer_reports()
        failed = bool(s.t.wrong) or not alive or bool(sanitizer)
    finally:
        bed.cleanup(failed=failed)
        subprocess.run(["rm", "-rf", pkidir, shm], check=False)

    say("")
    print_samples(rows)
    n = s.t.n
    warm, mid, end = warm or {}, mid or {}, end or {}
    growth = None
    if warm.get("RssAnon") is not None and end.get("RssAnon") is not None:
        growth = end["RssAnon"] - warm["RssAnon"]
    res = {
        "seconds": round(total_s, 1),
        "cycles": s.cycles,
        "starts": n.get("start", 0), "stops": n.get("stop", 0),
        "short_connections": n.get("short", 0) + n.get("short_cut", 0) +
        n.get("short_noread", 0),
        "subscriptions": n.get("subscriptions", 0),
        "events_read": n.get("events", 0),
        "slow_subscribers": n.get("slow_subscribers", 0),
        "slow_closed_by_daemon": n.get("slow_closed_by_daemon", 0),
        "status_polls": n.get("status_polls", 0),
        "wrong_answers": len(s.t.wrong),
        "start_timeouts": len(s.t.timeouts),
        "daemon_alive": alive,
        "log_error_lines": len(errors),
        "exit_status": exit_status,
        "sanitizer_reports": len(sanitizer),
        "fds_boot": rows[0]["fds"], "fds_warm": warm.get("fds"),
        "fds_mid": mid.get("fds"),
        "fds_end": end.get("fds"),
        "rss_anon_kib_boot": rows[0].get("RssAnon"),
        "rss_anon_kib_warm": warm.get("RssAnon"),
        "rss_anon_kib_mid": mid.get("RssAnon"),
        "rss_anon_kib_end": end.get("RssAnon"),
        "rss_anon_growth_kib": growth,
        "heap_in_use_warm": warm.get("heap_in_use"),
        "heap_in_use_mid": mid.get("heap_in_use"),
        "heap_in_use_end": end.get("heap_in_use"),
        "vm_rss_kib_warm": warm.get("VmRSS"),
        "vm_rss_kib_end": end.get("VmRSS"),
        "openvpn_boot": rows[0]["openvpn"],
        "openvpn_warm": warm.get("openvpn"),
        "openvpn_end": end.get("openvpn"),
    }
    say("")
    say(f"{res['cycles']} start/stop cycles ({load_cycles if alive else 0} "
        f"after the warm-up), {res['short_connections']} "
        f"short connections, {res['subscriptions']} subscriptions "
        f"({res['events_read']} events), {res['slow_subscribers']} slow "
        f"subscribers ({res['slow_closed_by_daemon']} closed by supportvpnd "
        f"for not reading), {res['status_polls']} status polls in "
        f"{res['seconds']} s")
    say(f"wrong answers: {len(s.t.wrong)}")
    for i, (t, who, what, got) in enumerate(s.t.wrong):
        if i == 100:
            say(f"  ... and {len(s.t.wrong) - 100} more")
            break
        say(f"  [{t - t0:8.2f} s] {who}: {what}: {got}")
    say(f"start timeouts (answered 'timeout': openvpn did not connect "
        f"within {START_TIMEOUT_S} s): {len(s.t.timeouts)}")
    for t, who, msg in s.t.timeouts[:20]:
        say(f"  [{t - t0:8.2f} s] {who}: {msg}")
    if errors:
        say(f"supportvpnd logged {len(errors)} error lines; the first:")
        for ln in errors[:10]:
            say(f"  {ln}")
    if sanitizer:
        say(f"sanitizer reports in supportvpnd's output: {sanitizer[:5]}")
    # No more descriptors at the end than after the warm-up (fewer: one
    # that was still closing then), the one openvpn throughout.
    flat = alive and end.get("fds") is not None and \
        end["fds"] <= warm["fds"] and mid["fds"] <= warm["fds"] and \
        end.get("openvpn") == warm.get("openvpn") == 1
    if alive and kinds(end.get("fd_targets")) != \
            kinds(warm.get("fd_targets")):
        say(f"descriptors after the warm-up: {warm.get('fd_targets')}")
        say(f"descriptors at the end:        {end.get('fd_targets')}")
    say(f"descriptors and openvpn processes flat: {'yes' if flat else 'NO'}"
        f"; RssAnon {warm.get('RssAnon')} -> {mid.get('RssAnon')} -> "
        f"{end.get('RssAnon')} KiB (after the warm-up, halfway, at the end)")
    if HEAP:
        say(f"glibc's bytes in use: {warm.get('heap_in_use')} -> "
            f"{mid.get('heap_in_use')} -> {end.get('heap_in_use')}")
    print("SOAK " + json.dumps(res, sort_keys=True), flush=True)
    return 0 if flat and not s.t.wrong and not sanitizer and \
        exit_status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
