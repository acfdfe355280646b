# SPDX-License-Identifier: MIT
"""The test bed: a small "internet" of network namespaces with a real
OpenVPN hub, built and torn down by one Bed object (DESIGN.md section 8).

    <prefix>-inet   a Linux bridge br0 with 198.51.100.254/24, everyone's
                    default gateway; a routed 192.0.2.254/24 leg to staff
    <prefix>-hub    198.51.100.1: openvpn --mode server, optionally dnsmasq
                    and the "vendor cloud" HTTP endpoint
    <prefix>-hub2   198.51.100.2: a second hub (optional, start_hub2)
    <prefix>-dev    198.51.100.10: the appliance (supportvpnd + openvpn)
    <prefix>-dev2   198.51.100.11: a second appliance (optional)
    <prefix>-staff  192.0.2.10: a support workstation (optional)

start_network() makes dev's network healthy for supportvpnd's prerequisite
checks (dnsmasq and the cloud in hub, dev's resolv.conf naming dnsmasq);
tests then break one thing at a time (stop_dns, stop_cloud, cloud_mode,
silent_dns, set_default_route, write_resolv_conf, link_down) and
restore_network() puts everything back.

Each member namespace holds one end of a veth pair (eth0); the other end,
v-<role>, sits in <prefix>-inet. Every veth is created inside our namespaces,
so the host's interfaces, routes and firewall are never touched. The only files
outside the run directory are /etc/netns/<ns>/resolv.conf, made on request
and removed at cleanup.

Cleanup (Bed.cleanup) runs from the context manager, from pytest fixture
finalizers and from atexit, and is idempotent: it stops every process we
started (by pid), kills whatever else still runs in our namespaces, deletes
the namespaces, removes /etc/netns/<ns>, closes sockets we hold in them, and
removes the run directory unless the run failed (then it keeps it and says
where).

Against a sanitizer build (sanitizer.py), what spawn() and exec() start
writes its ASan/UBSan/LSan reports to <run dir>/sanitizer/;
take_sanitizer_reports() hands out the new ones, and cleanup keeps the run
directory if it finds any.
"""

import atexit
import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref

from . import netns as nx
from . import sanitizer

OPENVPN = "/usr/sbin/openvpn"
DNSMASQ = "/usr/sbin/dnsmasq"
PYTHON = "/usr/bin/python3"

INET_GW = "198.51.100.254"
INET_PREFIX = 24
STAFF_GW = "192.0.2.254"
HUB_IP = "198.51.100.1"
HUB2_IP = "198.51.100.2"
MEMBER_IPS = {"hub": HUB_IP, "hub2": HUB2_IP, "dev": "198.51.100.10",
              "dev2": "198.51.100.11"}
STAFF_IP = "192.0.2.10"
TUNNEL_NET = "203.0.113.0"
TUNNEL_MASK = "255.255.255.0"
HUB_TUNNEL_IP = "203.0.113.1"
DNS_NAMES = {"hub1.support.example": HUB_IP, "cloud.support.example": HUB_IP}
CLOUD_HOST = "cloud.support.example"
CLOUD_URL = f"http://{CLOUD_HOST}/ip"    # answers the caller's address as text
SILENT_DNS_IP = "198.51.100.53"          # a DNS "server" that never answers
NOBODY_IP = "198.51.100.77"              # on the bridge's subnet, held by no one

PREFIX_RE = re.compile(r"^(sv[0-9a-f]{6})-(inet|hub|hub2|dev|dev2|staff)$")
RUN_ROOT = tempfile.gettempdir()
RUN_DIR_FMT = "supportvpn-bed-{prefix}"

# Every prefix a Bed in this process used, for the final "all gone" check.
ALL_PREFIXES = []
# Sanitizer reports a bed found when it was cleaned up that no test had
# claimed yet (Bed.take_sanitizer_reports); the fixtures fail on them.
UNCLAIMED_REPORTS = []
_live_beds = weakref.WeakSet()


class BedError(RuntimeError):
    pass


def new_prefix():
    return "sv" + secrets.token_hex(3)


def our_netns(prefixes=None):
    """Namespaces with one of `prefixes` (default: all this process used)."""
    prefixes = ALL_PREFIXES if prefixes is None else prefixes
    return [n for n in nx.list_netns()
            if any(n.startswith(p + "-") for p in prefixes)]


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode(errors="replace")
    except OSError as e:
        return f"(cannot read {path}: {e.strerror})"
    return "\n".join(data.splitlines()[-n:])


def wait_until(pred, timeout, interval=0.05, desc="condition"):
    """Polls pred() until it returns something truthy; returns that value.
    Raises BedError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise BedError(f"timed out after {timeout}s waiting for {desc}")
        time.sleep(interval)


class Proc:
    """A process we started inside a namespace (`ip netns exec` execs the
    command, so the Popen pid is the process itself)."""

    def __init__(self, name, ns, argv, log, popen):
        self.name, self.ns, self.argv, self.log, self.popen = \
            name, ns, argv, log, popen

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    @property
    def returncode(self):
        return self.popen.poll()

    def send_signal(self, sig):
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(sig)

    def wait(self, timeout):
        """The exit status (negative = killed by that signal), or None if it
        is still running after `timeout` seconds."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=5.0, sig=signal.SIGTERM):
        """sig, then SIGKILL after `timeout`; returns the exit status."""
        if self.alive():
            self.send_signal(sig)
            rc = self.wait(timeout)
            if rc is not None:
                return rc
            self.send_signal(signal.SIGKILL)
        return self.popen.wait()

    def __repr__(self):
        return f"<Proc {self.name} pid={self.pid} ns={self.ns}>"


class TcpService:
    """A TCP listener living in a namespace, served by a thread of this
    process: each connection gets `banner` and is closed (or, for HTTP, an
    HTTP response carrying the banner)."""

    def __init__(self, ns, port, banner, host="0.0.0.0", http=False):
        self.ns, self.port, self.banner, self.http = ns, port, banner, http
        self.sock = nx.socket_in(ns)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.accepted = 0
        self._stop = False
        self._thr = threading.Thread(target=self._serve, daemon=True,
                                     name=f"tcp-service-{ns}-{port}")
        self._thr.start()

    def _serve(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            try:
                c.settimeout(2)
                data = self.banner.encode() + b"\n"
                if self.http:
                    with contextlib.suppress(OSError):
                        c.recv(4096)
                    data = (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                            b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                            % len(data)) + data
                c.sendall(data)
            except OSError:
                pass
            finally:
                c.close()

    def close(self):
        self._stop = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thr.join(2)


def probe(ns, host, port, timeout=2.0, expect=None):
    """Connects from namespace ns to host:port; returns the first bytes the
    service sent (b"" if none), or None if it could not connect."""
    try:
        s = nx.connect_in(ns, host, port, timeout)
    except OSError:
        return None
    with s:
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
                if expect is not None and expect.encode() in data:
                    break
        except OSError:
            pass
    return data


class SilentUdp:
    """A UDP "server" on an extra address of a member namespace that reads
    whatever arrives and never answers (made by Bed.silent_dns)."""

    def __init__(self, bed, role, addr, port):
        self.bed, self.ns, self.addr, self.port = bed, bed.ns(role), addr, port
        self.received = 0
        nx.ip("addr", "add", f"{addr}/{INET_PREFIX}", "dev", "eth0",
              ns=self.ns)
        self.sock = nx.socket_in(self.ns, type=socket.SOCK_DGRAM)
        try:
            self.sock.bind((addr, port))
        except OSError:
            self.sock.close()
            nx.ip("addr", "del", f"{addr}/{INET_PREFIX}", "dev", "eth0",
                  ns=self.ns, check=False)
            raise
        self._closed = False
        self._thr = threading.Thread(target=self._drain, daemon=True,
                                     name=f"silent-udp-{addr}")
        self._thr.start()

    def _drain(self):
        self.sock.settimeout(0.1)
        while not self._closed:
            try:
                self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.received += 1

    def close(self):
        if self._closed:
            return
        self._closed = True
        self._thr.join(2)
        self.sock.close()
        if nx.netns_exists(self.ns):
            nx.ip("addr", "del", f"{self.addr}/{INET_PREFIX}", "dev", "eth0",
                  ns=self.ns, check=False)


class PrivateTmpfs:
    """A tmpfs of `size` bytes (mount's size=, e.g. "256k") mounted on
    `path` (which must exist) in a mount namespace of its own, held open
    by a sleeping process in <prefix>-<role> (made by Bed.private_tmpfs).

    The mount never reaches the host: `ip netns exec` already gives the
    holder a mount namespace that is a slave of the host's, and the holder
    unshares a private one from it. The tmpfs lives until the holder and
    every process that entered its namespace are gone (close() stops the
    holder; cleanup kills whatever is left in the network namespace), so
    it survives restarts of a daemon started through `enter`.

        enter       argv prefix that runs a command in the namespace
                    (nsenter --mount into the holder's)
        view(p)     the path through which this process reaches p as the
                    namespace sees it (/proc/<holder>/root/p)
    """

    def __init__(self, bed, role, path, size):
        self.path, self.size = os.path.abspath(path), size
        self.proc = bed.spawn(
            f"tmpfs-{os.path.basename(self.path)}", role,
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs -o "size=$0,mode=0700" supportvpn-test "$1" '
             '&& exec sleep infinity', size, self.path])

        def mounted():
            if not self.proc.alive():
                raise BedError(f"tmpfs holder exited: {tail(self.proc.log)}")
            try:
                with open(f"/proc/{self.proc.pid}/mountinfo") as f:
                    return any(ln.split()[4] == self.path and
                               "supportvpn-test" in ln for ln in f)
            except OSError:
                return False
        wait_until(mounted, 10, desc=f"tmpfs on {self.path}")

    @property
    def enter(self):
        return ["nsenter", f"--target={self.proc.pid}", "--mount", "--"]

    def view(self, path=None):
        path = self.path if path is None else os.path.abspath(path)
        return f"/proc/{self.proc.pid}/root{path}"

    def fill(self, name="filler"):
        """Writes a file until the tmpfs is full; returns its view path.
        A page freed later (os.truncate) is room for one small file."""
        dst = self.view(os.path.join(self.path, name))
        fd = os.open(dst, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
        finally:
            os.close(fd)
        return dst

    def close(self):
        self.proc.stop()


class Hub:
    """A real `openvpn --mode server` in the hub namespace, our child."""

    def __init__(self, bed, role="hub", cert="hub", ca="ca", port=1194,
                 proto="udp", extra=(), name=None, keepalive=(2, 10)):
        self.bed, self.role, self.cert, self.ca = bed, role, cert, ca
        self.port, self.proto = port, proto
        # ping, ping-restart: pushed to the clients too, so the second is
        # how soon an appliance notices a dead hub or link.
        self.keepalive = keepalive
        self.name = name or f"{role}-openvpn"
        self.ip = MEMBER_IPS.get(role, HUB_IP)
        self.conf = os.path.join(bed.dir, f"{self.name}.conf")
        self.log = os.path.join(bed.dir, f"{self.name}.log")
        self.status_file = os.path.join(bed.dir, f"{self.name}.status")
        self.extra = list(extra)
        self.proc = None

    def config_text(self):
        pki = self.bed.pki
        lines = [
            "mode server",
            f"server {TUNNEL_NET} {TUNNEL_MASK}",
            "topology subnet",
            "dev tun",
            f"proto {self.proto}",
            f"local {self.ip}",
            f"port {self.port}",
            f"keepalive {self.keepalive[0]} {self.keepalive[1]}",
            "dh none",
            f"ca {pki.crt(self.ca)}",
            f"cert {pki.crt(self.cert)}",
            f"key {pki.key(self.cert)}",
            f"tls-crypt {pki.tls_crypt}",
            "remote-cert-tls client",
            "persist-key",
            "verb 3",
            f"status {self.status_file} 1",
            "status-version 2",
            f"log {self.log}",
        ] + self.extra
        return "\n".join(lines) + "\n"

    def start(self, timeout=15):
        with open(self.conf, "w") as f:
            f.write(self.config_text())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.log)
        self.proc = self.bed.spawn(self.name, self.role,
                                   [OPENVPN, "--config", self.conf],
                                   extra_logs=[self.log])

        def ready():
            if not self.proc.alive():
                raise BedError(f"hub openvpn exited with {self.proc.returncode}"
                               f":\n{tail(self.log)}\n{tail(self.proc.log)}")
            try:
                with open(self.log) as f:
                    return "Initialization Sequence Completed" in f.read()
            except FileNotFoundError:
                return False
        wait_until(ready, timeout, desc="hub openvpn to initialise")
        return self

    def stop(self):
        if self.proc:
            return self.proc.stop()

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def connected_clients(self):
        """Common names in the hub's status file (refreshed every 10 s by
        openvpn, so use the log for anything time-critical)."""
        try:
            with open(self.status_file) as f:
                return [ln.split(",")[1] for ln in f
                        if ln.startswith("CLIENT_LIST,")]
        except FileNotFoundError:
            return []


_CLOUD_PY = r'''
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
CONTROL = sys.argv[3]
def control():
    try:
        with open(CONTROL) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def date_time_string(self, timestamp=None):
        if timestamp is None:
            timestamp = time.time() + float(self._ctl.get("date_offset_s", 0))
        return super().date_time_string(timestamp)
    def do_GET(self):
        self._ctl = ctl = control()
        mode = ctl.get("mode", "auto")
        ip = ctl.get("ip") or self.client_address[0]
        sys.stderr.write("cloud: request %s %s mode=%s\n"
                         % (self.client_address[0], self.path, mode))
        sys.stderr.flush()
        if mode == "hang":
            # Accepted, request read, never answered (until the mode
            # changes or the connection is dropped at shutdown).
            t0 = time.monotonic()
            while control().get("mode") == "hang" and \
                    time.monotonic() - t0 < 300:
                time.sleep(0.05)
            self.close_connection = True
            return
        status, ctype = 200, "text/plain"
        if mode == "auto":
            mode = "json" if self.path.startswith("/json") else "text"
        if mode == "json":
            body, ctype = json.dumps({"ip": ip}).encode(), "application/json"
        elif mode == "text":
            body = (ip + "\n").encode()
        elif mode == "garbage":
            body = ctl.get("body", "<html><body>It works!</body></html>\n")
            body = body.encode("latin-1")
            ctype = "text/html"
        elif mode == "status":
            status = int(ctl.get("status", 503))
            body = ctl.get("body", "Service Unavailable\n").encode("latin-1")
        else:
            status, body = 500, b"cloud: unknown mode\n"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *args):
        sys.stderr.write("cloud: %s %s\n" % (self.client_address[0], fmt % args))
        sys.stderr.flush()
ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer.daemon_threads = True
srv = ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H)
print("cloud: listening", sys.argv[1], sys.argv[2], flush=True)
srv.serve_forever()
'''


class Bed:
    """One run's namespaces, processes and files.

    roles: the member namespaces to create besides inet ("hub", "dev",
    "dev2", "staff"). Use as a context manager, or call setup() and
    cleanup() yourself (cleanup is also registered with atexit).
    """

    def __init__(self, pki, roles=("hub", "dev"), prefix=None, verbose=False):
        self.pki = pki
        self.roles = list(roles)
        self.prefix = prefix or new_prefix()
        self.verbose = verbose
        self.dir = os.path.join(RUN_ROOT, RUN_DIR_FMT.format(prefix=self.prefix))
        self.procs = []
        self.closables = []
        self.created_ns = []
        self.etc_dirs = []
        self.failed = False
        self.failures = []
        self.cleaned = False
        self.hub = None
        self.hub2 = None           # start_hub2's second hub
        self.dns = None            # start_dns's dnsmasq
        self.cloud = None          # start_cloud's process
        self._cloud_args = ("hub", 80)
        self._cloud_ctl = None
        self.network_roles = []    # roles start_network made healthy
        self._hub_kw = None        # the options the running hub started with
        self.extra_logs = {}       # name -> path, for log dumps
        # Sanitizer runs: where our processes' reports go (sanitizer.py).
        self.san_dir = os.path.join(self.dir, "sanitizer")
        self._san_seen = set()
        ALL_PREFIXES.append(self.prefix)
        _live_beds.add(self)
        _install_signal_handlers()

    # -- names -------------------------------------------------------------
    def ns(self, role):
        return f"{self.prefix}-{role}"

    def say(self, msg):
        if self.verbose:
            print(f"[bed {self.prefix}] {msg}", flush=True)

    # -- set-up --------------------------------------------------------------
    def setup(self):
        try:
            os.makedirs(self.dir, mode=0o700)
            with open(os.path.join(self.dir, "owner"), "w") as f:
                f.write(f"{os.getpid()}\n")
            if sanitizer.active():
                # Reachable for an openvpn that dropped to nobody.
                os.chmod(self.dir, 0o711)
                sanitizer.make_dir(self.san_dir)
            self._add_ns("inet")
            inet = self.ns("inet")
            nx.ip("link", "set", "dev", "lo", "up", ns=inet)
            nx.ip("link", "add", "br0", "type", "bridge", ns=inet)
            nx.ip("addr", "add", f"{INET_GW}/{INET_PREFIX}", "dev", "br0",
                  ns=inet)
            nx.ip("link", "set", "dev", "br0", "up", ns=inet)
            self._sysctl("inet", "net.ipv4.ip_forward", "1")
            for role in self.roles:
                if role == "staff":
                    self.add_staff()
                else:
                    self.add_member(role)
            if "hub" in self.roles:
                self.say(f"namespaces {', '.join(self.created_ns)} up")
        except BaseException:
            self.failed = True
            self.cleanup()
            raise
        return self

    def _add_ns(self, role):
        name = self.ns(role)
        nx.run([nx.IP, "netns", "add", name])
        self.created_ns.append(name)
        return name

    def _sysctl(self, role, key, value):
        path = "/proc/sys/" + key.replace(".", "/")
        nx.run([nx.IP, "netns", "exec", self.ns(role), "sh", "-c",
                f"echo {value} > {path}"])

    def _veth(self, role):
        """eth0 in <prefix>-<role>, v-<role> in <prefix>-inet."""
        name = self._add_ns(role)
        inet = self.ns("inet")
        nx.ip("link", "add", "eth0", "netns", name, "type", "veth",
              "peer", "name", f"v-{role}", "netns", inet)
        nx.ip("link", "set", "dev", "lo", "up", ns=name)
        nx.ip("link", "set", "dev", "eth0", "up", ns=name)
        nx.ip("link", "set", "dev", f"v-{role}", "up", ns=inet)
        return name

    def add_member(self, role, addr=None):
        """A namespace on the 198.51.100.0/24 bridge, default route via
        198.51.100.254."""
        addr = addr or MEMBER_IPS[role]
        name = self._veth(role)
        nx.ip("link", "set", "dev", f"v-{role}", "master", "br0",
              ns=self.ns("inet"))
        nx.ip("addr", "add", f"{addr}/{INET_PREFIX}", "dev", "eth0", ns=name)
        nx.ip("route", "add", "default", "via", INET_GW, ns=name)
        return name

    def add_staff(self, addr=STAFF_IP):
        """A workstation on its own routed 192.0.2.0/24 leg of inet."""
        name = self._veth("staff")
        nx.ip("addr", "add", f"{STAFF_GW}/24", "dev", "v-staff",
              ns=self.ns("inet"))
        nx.ip("addr", "add", f"{addr}/24", "dev", "eth0", ns=name)
        nx.ip("route", "add", "default", "via", STAFF_GW, ns=name)
        return name

    # -- processes -----------------------------------------------------------
    def spawn(self, name, role, argv, env=None, extra_logs=(), log=None,
              preload=False):
        """Starts argv inside <prefix>-<role> as our child, stdout+stderr to
        <dir>/<name>.out; it is stopped at cleanup. In a sanitizer run the
        process gets sanitizer_env(preload) on top of `env`: preload=True
        for openvpn with the plugin, or what starts one (supportvpnd)."""
        log = log or os.path.join(self.dir, f"{name}.out")
        env = self.sanitizer_env(preload, env)
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                [nx.IP, "netns", "exec", self.ns(role)] + list(argv),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=env, start_new_session=True, cwd=self.dir)
        p = Proc(name, self.ns(role), argv, log, popen)
        self.procs.append(p)
        self.extra_logs[name + ".out"] = log
        for extra in extra_logs:
            self.extra_logs[os.path.basename(extra)] = extra
        self.say(f"started {name} pid {p.pid} in {p.ns}")
        return p

    def exec(self, role, argv, timeout=30, check=False, **kw):
        """Runs argv to completion inside <prefix>-<role>."""
        kw["env"] = self.sanitizer_env(base=kw.get("env"))
        return nx.run([nx.IP, "netns", "exec", self.ns(role)] + list(argv),
                      check=check, timeout=timeout, **kw)

    # -- sanitizer runs ------------------------------------------------------
    def sanitizer_env(self, preload=False, base=None):
        """The environment for a process of ours: `base` (None: inherit)
        as it is in a normal build; in a sanitizer run, with the options
        that send its reports to san_dir (see sanitizer.py)."""
        if not sanitizer.active():
            return base
        return sanitizer.env(self.san_dir, preload, base)

    def take_sanitizer_reports(self):
        """Report files that appeared since the last call (each is
        returned once)."""
        new = [p for p in sanitizer.reports(self.san_dir)
               if p not in self._san_seen]
        self._san_seen.update(new)
        return new

    def track(self, closable):
        """close() is called on it at cleanup (sockets, clients, services)."""
        self.closables.append(closable)
        return closable

    def pids(self, role, comm=None):
        """PIDs in <prefix>-<role>, optionally only those named `comm`."""
        pids = nx.netns_pids(self.ns(role))
        if comm is not None:
            pids = [p for p in pids if nx.proc_comm(p) == comm]
        return pids

    # -- services ------------------------------------------------------------
    def start_hub(self, **kw):
        self.hub = Hub(self, **kw).start()
        self._hub_kw = dict(kw)
        return self.hub

    def swap_hub(self, **kw):
        """Replaces the running hub by one started with `kw` (Hub's options,
        e.g. cert="foreign-hub") on the same address and port; the old one
        is stopped first (SIGTERM; openvpn frees the port at once). Each
        certificate gets its own log, hub-<cert>.log, unless `name` is
        given. Takes well under a second."""
        kw.setdefault("name",
                      f"{kw.get('role', 'hub')}-{kw.get('cert', 'hub')}")
        if self.hub is not None:
            self.hub.stop()
        return self.start_hub(**kw)

    def restore_hub(self, **kw):
        """Back to the plain hub (Hub's defaults, or `kw`) unless that is
        what already runs."""
        if (self.hub is not None and self.hub.proc is not None and
                self.hub.proc.alive() and self._hub_kw == kw):
            return self.hub
        if self.hub is not None:
            self.hub.stop()
        return self.start_hub(**kw)

    def start_hub2(self, cert="hub2", **kw):
        """A second hub on 198.51.100.2 in <prefix>-hub2 (the namespace is
        added to the bridge on first use), certificate `cert` (CN
        hub2.support.example by default); Hub's options otherwise. A
        running second hub is stopped first."""
        if self.ns("hub2") not in self.created_ns:
            self.add_member("hub2")
        if self.hub2 is not None:
            self.hub2.stop()
        kw.setdefault("name", "hub2-openvpn")
        self.hub2 = Hub(self, role="hub2", cert=cert, **kw).start()
        return self.hub2

    def tcp_service(self, role, port, banner, http=False):
        return self.track(TcpService(self.ns(role), port, banner, http=http))

    def probe(self, role, host, port, timeout=2.0, expect=None):
        return probe(self.ns(role), host, port, timeout, expect)

    def connect(self, role, host, port, timeout=5.0):
        return self.track(nx.connect_in(self.ns(role), host, port, timeout))

    def start_dns(self, role="hub", names=None, timeout=5):
        """dnsmasq on the hub's address, answering only for `names`."""
        names = DNS_NAMES if names is None else names
        addr = MEMBER_IPS[role]
        log = os.path.join(self.dir, "dnsmasq.log")
        argv = [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null",
                "--no-resolv", "--no-hosts", "--bind-interfaces",
                f"--listen-address={addr}", "--user=root", "--group=root",
                f"--pid-file={os.path.join(self.dir, 'dnsmasq.pid')}",
                f"--log-facility={log}", "--log-queries"]
        argv += [f"--address=/{n}/{ip}" for n, ip in names.items()]
        p = self.spawn("dnsmasq", role, argv, extra_logs=[log])

        def ready():
            if not p.alive():
                raise BedError(f"dnsmasq exited: {tail(p.log)}")
            return self._udp_bound(role, addr, 53)
        wait_until(ready, timeout, desc="dnsmasq to listen")
        self.dns = p
        return p

    def stop_dns(self):
        """Stops the dnsmasq start_dns started (the address then answers
        with ICMP port unreachable); start_dns() brings it back."""
        if self.dns is not None:
            self.dns.stop()

    def dns_running(self):
        return self.dns is not None and self.dns.alive()

    def _udp_bound(self, role, addr, port):
        r = self.exec(role, ["ss", "-Hnlu", f"src {addr}:{port}"])
        return bool(r.stdout.strip())

    def start_cloud(self, role="hub", port=80, timeout=10):
        """The vendor cloud (see cloud_mode): by default GET /json answers
        {"ip": <the caller's address>}, any other path the address as
        text."""
        script = os.path.join(self.dir, "cloud.py")
        with open(script, "w") as f:
            f.write(_CLOUD_PY)
        if not os.path.exists(self.cloud_control):
            self.cloud_mode("auto")
        addr = MEMBER_IPS[role]
        p = self.spawn("cloud", role, [PYTHON, script, addr, str(port),
                                       self.cloud_control])

        def ready():
            if not p.alive():
                raise BedError(f"cloud exited: {tail(p.log)}")
            return probe(self.ns(role), addr, port, timeout=0.5) is not None
        wait_until(ready, timeout, desc="vendor cloud to listen")
        self.cloud = p
        self._cloud_args = (role, port)
        return p

    def stop_cloud(self):
        """Stops the cloud's process (connections are then refused);
        start_cloud() brings it back."""
        if self.cloud is not None:
            self.cloud.stop()

    def cloud_running(self):
        return self.cloud is not None and self.cloud.alive()

    @property
    def cloud_control(self):
        return os.path.join(self.dir, "cloud-control.json")

    def cloud_mode(self, mode="auto", **kw):
        """How the running cloud answers from the next request on:
            auto      /json -> {"ip": caller}, else the caller as text
            text      the caller's address as text, whatever the path
            json      {"ip": caller}, whatever the path
            garbage   200 with `body` (default an HTML page)
            status    `status` (default 503) with `body`
            hang      reads the request and never answers (until the mode
                      changes; then it drops the connection)
        Options: ip="..." reports that address instead of the caller's;
        date_offset_s=N shifts the Date header by N seconds."""
        ctl = dict(kw, mode=mode)
        tmp = self.cloud_control + ".tmp"
        with open(tmp, "w") as f:
            json.dump(ctl, f)
        os.replace(tmp, self.cloud_control)
        self._cloud_ctl = ctl

    def cloud_requests(self):
        """The requests the cloud has seen, as (caller, path) in order."""
        if self.cloud is None:
            return []
        out = []
        try:
            with open(self.cloud.log, errors="replace") as f:
                for ln in f:
                    if ln.startswith("cloud: request "):
                        parts = ln.split()
                        out.append((parts[2], parts[3]))
        except FileNotFoundError:
            pass
        return out

    def write_resolv_conf(self, role, nameserver=HUB_IP, text=None):
        """/etc/netns/<ns>/resolv.conf, which `ip netns exec` bind-mounts over
        /etc/resolv.conf; removed at cleanup. `text` replaces the whole
        content (e.g. "" for a resolv.conf naming no server). The file is
        rewritten in place (same inode), so processes that already run with
        it bind-mounted see the change."""
        d = os.path.join("/etc/netns", self.ns(role))
        os.makedirs(d, exist_ok=True)
        if d not in self.etc_dirs:
            self.etc_dirs.append(d)
        path = os.path.join(d, "resolv.conf")
        if text is None:
            text = f"nameserver {nameserver}\n"
        with open(path, "w") as f:
            f.write(text)
        return path

    def silent_dns(self, role="hub", addr=SILENT_DNS_IP, port=53):
        """A DNS server that never answers: `addr` is added to <role>'s eth0
        and a UDP socket there reads queries and drops them. Tracked: its
        close() (also at cleanup / restore_network) removes both."""
        return self.track(SilentUdp(self, role, addr, port))

    # -- the dev network's health, for the prerequisite checks ------------
    def start_network(self, role="dev"):
        """What a healthy appliance network needs beyond the bridge: dnsmasq
        and the cloud in the hub, <role>'s resolv.conf naming dnsmasq, and
        its default gateway (198.51.100.254) answering ping."""
        self.start_dns()
        self.start_cloud()
        self.write_resolv_conf(role)
        self.network_roles.append(role)
        r = self.exec(role, ["ping", "-c", "1", "-W", "2", INET_GW])
        if r.returncode != 0:
            raise BedError(f"{self.ns(role)}: the gateway {INET_GW} does not "
                           f"answer ping: {r.stdout}{r.stderr}")
        return self

    def default_route(self, role="dev"):
        """<role>'s default route as `ip route` prints it ("" if none)."""
        return nx.ip("route", "show", "default", ns=self.ns(role)).stdout.strip()

    def set_default_route(self, role="dev", via=None):
        """Replaces <role>'s default route by one via `via`, or deletes it
        (via=None). Only inside that namespace; restore_network() puts the
        bridge's gateway back."""
        if via is None:
            nx.ip("route", "del", "default", ns=self.ns(role), check=False)
        else:
            nx.ip("route", "replace", "default", "via", via, ns=self.ns(role))

    def link_is_up(self, role="dev"):
        r = nx.ip("-o", "link", "show", "dev", "eth0", ns=self.ns(role),
                  check=False)
        flags = r.stdout.split("<", 1)[-1].split(">", 1)[0].split(",")
        return r.returncode == 0 and "UP" in flags

    def link_down(self, role="dev"):
        """Takes <role>'s eth0, its only link to the bridge (the hubs, the
        cloud, the gateway), down, as a pulled cable would; the kernel
        drops the routes through it. link_up() undoes it."""
        nx.ip("link", "set", "dev", "eth0", "down", ns=self.ns(role))

    def link_up(self, role="dev"):
        """Brings <role>'s eth0 back, with the default route that went
        away with it."""
        name = self.ns(role)
        nx.ip("link", "set", "dev", "eth0", "up", ns=name)
        gw = STAFF_GW if role == "staff" else INET_GW
        nx.ip("route", "replace", "default", "via", gw, ns=name)

    def private_tmpfs(self, role, path, size):
        """A tmpfs of `size` (mount's size=, e.g. "256k") on `path`, in a
        mount namespace of its own inside <prefix>-<role>; see
        PrivateTmpfs. Tracked: cleanup removes it."""
        return self.track(PrivateTmpfs(self, role, path, size))

    def restore_network(self):
        """Undoes what tests did to the network start_network made: links,
        default routes, resolv.conf, silent DNS servers, the cloud's mode,
        and restarts dnsmasq and the cloud if they were stopped. Cheap when
        nothing changed."""
        for c in [c for c in self.closables if isinstance(c, SilentUdp)]:
            c.close()
            self.closables.remove(c)
        if not self.network_roles:
            return
        for role in self.network_roles:
            if not self.link_is_up(role):
                self.link_up(role)
            if self.default_route(role) != f"default via {INET_GW} dev eth0":
                nx.ip("route", "replace", "default", "via", INET_GW,
                      ns=self.ns(role))
            path = os.path.join("/etc/netns", self.ns(role), "resolv.conf")
            try:
                with open(path) as f:
                    ok = f.read() == f"nameserver {HUB_IP}\n"
            except OSError:
                ok = False
            if not ok:
                self.write_resolv_conf(role)
        if self._cloud_ctl != {"mode": "auto"}:
            self.cloud_mode("auto")
        if not self.dns_running():
            self.start_dns()
        if not self.cloud_running():
            self.start_cloud(*self._cloud_args)

    # -- failure and logs ----------------------------------------------------
    def mark_failed(self, why=""):
        self.failed = True
        if why:
            self.failures.append(why)

    def log_files(self):
        files = dict(self.extra_logs)
        for extra in getattr(self, "log_sources", []):
            files.update(extra())
        return files

    def log_tails(self, n=40):
        out = []
        seen = set()
        for name, path in sorted(self.log_files().items()):
            if path in seen:
                continue
            seen.add(path)
            if os.path.exists(path):
                out.append(f"----- {name} ({path}), last {n} lines -----")
                out.append(tail(path, n))
        return "\n".join(out)

    # -- cleanup -------------------------------------------------------------
    def cleanup(self, failed=None):
        """Stops everything and deletes our namespaces. Idempotent."""
        if failed:
            self.failed = True
        if self.cleaned:
            return
        self.cleaned = True
        errors = []
        for c in reversed(self.closables):
            with contextlib.suppress(Exception):
                c.close()
        self.closables.clear()
        # Our own children first, by pid: SIGTERM all, then SIGKILL.
        live = [p for p in self.procs if p.alive()]
        for p in live:
            p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 3
        for p in live:
            if p.wait(max(0.0, deadline - time.monotonic())) is None:
                p.send_signal(signal.SIGKILL)
                p.wait(5)
        # Then anything else still inside (e.g. an openvpn orphaned by a
        # killed supportvpnd), then the namespaces, members before inet.
        names = [self.ns(r) for r in ("staff", "dev2", "dev", "hub2", "hub",
                                      "inet")]
        names += [n for n in self.created_ns if n not in names]
        for name in names:
            if nx.netns_exists(name):
                try:
                    nx.delete_netns(name)
                except Exception as e:   # keep going: remove the rest
                    errors.append(f"{name}: {e}")
        for d in self.etc_dirs:
            shutil.rmtree(d, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir("/etc/netns")    # only if empty (we may have made it)
        left = our_netns([self.prefix])
        if left:
            errors.append(f"namespaces still present: {left}")
        # Reports of processes that exited during cleanup: kept for the
        # fixtures, and so is the directory holding them.
        late = self.take_sanitizer_reports()
        if late:
            UNCLAIMED_REPORTS.extend(late)
            self.failed = True
        if self.failed:
            print(f"\n[bed {self.prefix}] run failed; artefacts kept in "
                  f"{self.dir}", file=sys.stderr, flush=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise BedError("bed cleanup: " + "; ".join(errors))

    def __enter__(self):
        return self.setup()

    def __exit__(self, exc_type, exc, tb):
        self.cleanup(failed=exc_type is not None)
        return False


def _cleanup_all():
    # At exit after an uncaught exception, sys.last_value is set: keep the
    # artefacts of such a run.
    failed = getattr(sys, "last_value", None) is not None
    for bed in list(_live_beds):
        try:
            bed.cleanup(failed=failed)
        except Exception as e:
            print(f"bed cleanup at exit: {e}", file=sys.stderr)


atexit.register(_cleanup_all)

_handlers_installed = False


def _install_signal_handlers():
    """SIGTERM/SIGHUP become KeyboardInterrupt in the main thread, so context
    managers, fixture finalizers and atexit run as for Ctrl-C."""
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not \
            threading.main_thread():
        return
    _handlers_installed = True

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, on_signal)


def sweep_stale(log=print):
    """Removes namespaces left by an earlier run that died without cleaning
    up (e.g. SIGKILLed). Only namespaces that are provably ours are touched:
    the name matches sv<6 hex>-<role> and the run directory
    /tmp/supportvpn-bed-<prefix>/owner names a process that no longer exists.
    Returns the namespaces removed."""
    removed = []
    by_prefix = {}
    for n in nx.list_netns():
        m = PREFIX_RE.match(n)
        if m:
            by_prefix.setdefault(m.group(1), []).append(n)
    for prefix, names in by_prefix.items():
        if prefix in ALL_PREFIXES:
            continue
        owner = os.path.join(RUN_ROOT, RUN_DIR_FMT.format(prefix=prefix),
                             "owner")
        try:
            with open(owner) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if nx.pid_alive(pid):
            continue
        for name in sorted(names, key=lambda x: x.endswith("-inet")):
            nx.delete_netns(name)
            with contextlib.suppress(OSError):
                shutil.rmtree(os.path.join("/etc/netns", name))
            removed.append(name)
    if removed:
        log(f"bed: removed stale namespaces of dead runs: {removed}")
    return removed
