#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make bench (second part): how the vendor hub scales.

On one bed: the shipped hub (supportvpn-hubd and conf/hub/server-udp.conf
with the plugin in hub mode), N appliance clients (plain openvpn, each its
own certificate appliance-NNNN and tun device) in the dev namespace, one
staff workstation. A benchmark: it prints figures and asserts nothing
about time.

  - connect: K appliances one after another (spawn -> openvpn's
    "Initialization Sequence Completed", from its own clock), without
    grants and with a grant for each of them
  - scale: all N at once; the time until the last is connected and until
    the hub's daemon knows every address
  - LEARN_ADDRESS -> rule: for each of the N, from the hub's openvpn
    logging "MULTI: Learn" (its own clock, --machine-readable-output) to
    the moment supportvpn-hubd reports the address (the daemon applies the
    nftables change before it answers a status), polled about every
    millisecond
  - the plugin per call in hub mode (build/tests/plugin_driver --bench)
  - revoke -> cut: staff echo a byte every millisecond through an open TCP
    connection to an appliance; the time from the revoke command to the
    first byte that does not come back
"""

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import bed as tb  # noqa: E402
from bed import hubsys  # noqa: E402
from bed import netns as nx  # noqa: E402

N = int(os.environ.get("BENCH_HUB_CLIENTS", "100"))
K = int(os.environ.get("BENCH_HUB_SEQUENTIAL", "10"))
CUTS = int(os.environ.get("BENCH_HUB_CUTS", "5"))
ECHO_PORT = 7000
MRO = re.compile(r"^(\d+)\.(\d+) [0-9a-f]+ (.*)$")


def say(msg):
    print(msg, flush=True)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] \
        if xs else float("nan")


class Client:
    """A plain openvpn appliance client with its own certificate."""

    def __init__(self, bed, cn, d, role="dev"):
        self.bed, self.cn, self.role = bed, cn, role
        self.conf = os.path.join(d, f"{cn}.ovpn")
        with open(self.conf, "w") as f:
            f.write(tb.client_config(bed.pki, name=cn,
                                     extra=("machine-readable-output",)))
        self.proc = None
        self.t_spawn = None

    def start(self):
        self.t_spawn = time.time()
        self.proc = self.bed.spawn(f"c-{self.cn}", self.role,
                                   [tb.core.OPENVPN, "--config", self.conf])

    def connected_at(self):
        """openvpn's own time of "Initialization Sequence Completed"."""
        try:
            with open(self.proc.log, errors="replace") as f:
                for line in f:
                    m = MRO.match(line.strip())
                    if m and m.group(3).startswith(
                            "Initialization Sequence Completed"):
                        return int(m.group(1)) + int(m.group(2)) / 1e6
        except FileNotFoundError:
            pass
        return None

    def tunnel_ip(self):
        with open(self.proc.log, errors="replace") as f:
            for line in f:
                m = re.search(r"net_addr_v4_add: (203\.0\.113\.\d+)/", line)
                if m:
                    return m.group(1)
        return None

    def stop(self):
        if self.proc and self.proc.alive():
            self.proc.stop()


class HubdClient:
    """A kept-open connection to supportvpn-hubd's status socket."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")

    def status(self):
        self.f.write(b'{"cmd":"status"}\n')
        self.f.flush()
        return json.loads(self.f.readline())

    def addresses(self):
        out = {}
        for i in self.status().get("identities", []):
            out[i["cn"]] = set(i.get("addresses") or [])
        return out

    def close(self):
        self.s.close()


def wait_all(clients, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(c.connected_at() for c in clients):
            return True
        time.sleep(0.05)
    return False


def sequential(bed, hub, d, names, grants):
    """Connect time of each of names, one after another."""
    times = []
    for cn in names:
        if grants:
            hub.grant("staff-alice", cn, "1h")
        c = Client(bed, cn, d)
        c.start()
        if not wait_all([c], 30):
            raise tb.BedError(f"{cn} did not connect: {tb.tail(c.proc.log)}")
        times.append((c.connected_at() - c.t_spawn) * 1000)
        c.stop()
    return times


class Watcher(threading.Thread):
    """Polls supportvpn-hubd's status (about every millisecond) from before
    the clients start, noting when each CN's address first appears."""

    def __init__(self, hubd, cns):
        super().__init__(daemon=True)
        self.hubd, self.want = hubd, set(cns)
        self.seen = {}
        self.stop = False

    def run(self):
        while self.want and not self.stop:
            now = time.time()
            addrs = self.hubd.addresses()
            for cn in list(self.want):
                if addrs.get(cn):
                    self.seen[cn] = now
                    self.want.discard(cn)
            time.sleep(0.0005)


LEARN = re.compile(r"^(\d+)\.(\d+) [0-9a-f]+ .*MULTI: Learn: \S+ -> "
                   r"([^/\s]+)/")


def learn_times(log):
    """cn -> when the hub's openvpn called LEARN_ADDRESS (its clock)."""
    out = {}
    with open(log, errors="replace") as f:
        for line in f:
            m = LEARN.match(line)
            if m and m.group(3) not in out:
                out[m.group(3)] = int(m.group(1)) + int(m.group(2)) / 1e6
    return out


def learn_to_rule(watcher, hub, clients, timeout=60):
    """Per client: ms from the hub's LEARN_ADDRESS to supportvpn-hubd
    reporting the address (its nftables change is applied by then)."""
    watcher.join(timeout)
    watcher.stop = True
    learned = learn_times(hub.servers["udp"].log)
    out = []
    for c in clients:
        if c.cn in watcher.seen and c.cn in learned:
            out.append((watcher.seen[c.cn] - learned[c.cn]) * 1000)
    return out, len(watcher.want)


def revoke_cut(bed, hub, staff_ip, app_ip, cn):
    """ms from the revoke command to the first echo that fails."""
    hub.grant("staff-alice", cn, "1h")
    tb.wait_until(lambda: tb.probe(bed.ns("staff"), app_ip, ECHO_PORT,
                                   timeout=0.5) is not None, 10,
                  desc="the granted flow")
    s = nx.connect_in(bed.ns("staff"), app_ip, ECHO_PORT, 5)
    s.settimeout(0.02)
    for _ in range(20):
        s.sendall(b"x")
        s.recv(1)
    t0 = time.monotonic()
    subprocess.Popen([nx.IP, "netns", "exec", bed.ns("hub"),
                      hubsys.hubctl_path(), "--config", hub.config_path,
                      "revoke", "staff-alice", cn],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cut = None
    while time.monotonic() - t0 < 10:
        t = time.monotonic()
        try:
            s.sendall(b"x")
            if s.recv(1) == b"x":
                time.sleep(0.001)
                continue
        except OSError:
            pass
        cut = (t - t0) * 1000
        break
    s.close()
    return cut


def plugin_hub_us():
    exe = os.path.join(tb.build_dir(), "tests", "plugin_driver")
    r = subprocess.run([exe, tb.plugin_path(), "--bench", "2000"],
                       capture_output=True, text=True, timeout=120,
                       check=True)
    out = r.stdout + r.stderr
    fig = {}
    for key, pat in (("verify0", r"hub TLS_VERIFY depth 0: ([0-9.]+) us"),
                     ("verify1", r"hub TLS_VERIFY[^\n]*depth 1: ([0-9.]+) us"),
                     ("learn", r"LEARN_ADDRESS add: ([0-9.]+) us")):
        m = re.search(pat, out)
        fig[key] = float(m.group(1)) if m else None
    return fig, out


def main():
    if os.geteuid() != 0:
        print("hub bench: needs root (network namespaces)", file=sys.stderr)
        return 2
    tb.sweep_stale()
    pkidir = tempfile.mkdtemp(prefix="supportvpn-bench-pki-")
    pki = tb.Pki(pkidir).generate()
    names = [f"appliance-{i:04d}" for i in range(3, 3 + N + 2 * K)]
    t0 = time.monotonic()
    for cn in names:
        pki.make_leaf(cn, cn, "ca", tb.pki.CLIENT_USAGE)
    say(f"hub bench: {len(names)} appliance certificates in "
        f"{time.monotonic() - t0:.1f} s")
    # The flow whose cut is timed goes to an appliance alone in dev2: with
    # N tun devices on one subnet in dev, replies could leave by another.
    bed = tb.Bed(pki, roles=("hub", "dev", "dev2", "staff"))
    failed = True
    clients = []
    echo = None
    try:
        bed.setup()
        # openvpn's own clock on its log lines: when it called
        # LEARN_ADDRESS ("MULTI: Learn: <addr> -> <cn>/...").
        hub = hubsys.SupportHub(bed, tcp=False, server_extra=(
            "machine-readable-output",)).start()
        d = os.path.join(bed.dir, "clients")
        os.makedirs(d)
        seq_plain = sequential(bed, hub, d, names[:K], grants=False)
        seq_grants = sequential(bed, hub, d, names[K:2 * K], grants=True)
        hubd = HubdClient(hub.status_sock)
        staff = hubsys.StaffClient(bed).start()
        staff_ip = staff.wait_up()
        clients = [Client(bed, cn, d) for cn in names[2 * K:]]
        watcher = Watcher(hubd, [c.cn for c in clients])
        watcher.start()
        t_all = time.monotonic()
        for c in clients:
            c.start()
        ok = wait_all(clients, 120)
        all_ms = (time.monotonic() - t_all) * 1000
        lat, missing = learn_to_rule(watcher, hub, clients)
        known_ms = (time.monotonic() - t_all) * 1000
        if not ok or missing:
            raise tb.BedError(f"{missing} clients never reached the hub")
        per = [(c.connected_at() - c.t_spawn) * 1000 for c in clients]
        rss = sum(int(open(f"/proc/{c.proc.pid}/status").read().split(
            "VmRSS:")[1].split()[0]) for c in clients
            if c.proc.alive()) if clients else 0
        target = Client(bed, "appliance-0001", d, role="dev2")
        target.start()
        if not wait_all([target], 30):
            raise tb.BedError("the target appliance did not connect")
        clients.append(target)
        echo = hubsys.EchoService(bed.ns("dev2"), ECHO_PORT)
        cuts = []
        for _ in range(CUTS):
            cut = revoke_cut(bed, hub, staff_ip, target.tunnel_ip(),
                             target.cn)
            if cut is not None:
                cuts.append(cut)
        elements = hub.status()
        hubd.close()
        fig, _ = plugin_hub_us()
        failed = False
    finally:
        if echo:
            echo.close()
        for c in clients:
            c.stop()
        bed.cleanup(failed=failed)
        subprocess.run(["rm", "-rf", pkidir], check=False)

    res = {
        "clients": N,
        "sequential_connect_ms": round(med(seq_plain), 1),
        "sequential_connect_with_grants_ms": round(med(seq_grants), 1),
        "all_connected_ms": round(all_ms, 0),
        "all_known_to_hubd_ms": round(known_ms, 0),
        "connect_under_load_p50_ms": round(pct(per, 50), 0),
        "connect_under_load_p99_ms": round(pct(per, 99), 0),
        "learn_to_rule_p50_ms": round(pct(lat, 50), 1),
        "learn_to_rule_p99_ms": round(pct(lat, 99), 1),
        "learn_to_rule_max_ms": round(max(lat), 1),
        "revoke_to_cut_median_ms": round(med(cuts), 1),
        "revoke_to_cut_max_ms": round(max(cuts), 1) if cuts else None,
        "plugin_hub_tls_verify_depth0_us": fig["verify0"],
        "plugin_hub_tls_verify_depth1_us": fig["verify1"],
        "plugin_hub_learn_address_us": fig["learn"],
        "client_rss_kib_total": rss,
        "hubd_grants": len(elements.get("grants", [])),
    }
    rows = [
        ("connect, one at a time (median)",
         f"{res['sequential_connect_ms']} ms",
         f"with a grant each: {res['sequential_connect_with_grants_ms']} ms"),
        (f"{N} at once: all connected", f"{res['all_connected_ms']:.0f} ms",
         f"hubd knows all: {res['all_known_to_hubd_ms']:.0f} ms"),
        ("connect under that load", f"p50 {res['connect_under_load_p50_ms']:.0f} ms",
         f"p99 {res['connect_under_load_p99_ms']:.0f} ms"),
        ("LEARN_ADDRESS -> rule", f"p50 {res['learn_to_rule_p50_ms']} ms",
         f"p99 {res['learn_to_rule_p99_ms']} ms, max "
         f"{res['learn_to_rule_max_ms']} ms"),
        ("revoke -> flow cut", f"median {res['revoke_to_cut_median_ms']} ms",
         f"max {res['revoke_to_cut_max_ms']} ms ({len(cuts)} runs)"),
        ("plugin (hub), per call", f"TLS_VERIFY {fig['verify0']} us",
         f"LEARN_ADDRESS {fig['learn']} us"),
    ]
    say("")
    say(f"{'hub measure':<34} {'value':<18} compared")
    for r in rows:
        say(f"{r[0]:<34} {r[1]:<18} {r[2]}")
    say("")
    print("HUB_BENCH " + json.dumps(res, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
