# SPDX-License-Identifier: MIT
"""The vendor's support hub as shipped (conf/hub/), on the bed.

SupportHub runs, in <prefix>-hub: supportvpn-hubd, then the two openvpn
servers of conf/hub/server-udp.conf and server-tcp.conf with the plugin in
hub mode. The reference files are used as they are, with only what must
differ on a test bed replaced: the PKI paths, the plugin and its sockets,
the address pools (203.0.113.0/25 on UDP, 203.0.113.128/25 on TCP, pushed
as one 203.0.113.0/24), the listen address, and no status file. So the
tests exercise the shipped configuration (no client-to-client, mutual
certificates, user nobody, ...), not a copy.

StaffClient is a support workstation: a plain openvpn client with a staff
certificate in <prefix>-staff. EchoService keeps connections open and
echoes lines, to see an open flow being cut.
"""

import contextlib
import json
import os
import socket
import threading
import time

from . import netns as nx
from .appliance import build_dir, plugin_path
from .core import (HUB_IP, OPENVPN, BedError, tail, wait_until)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONF_HUB = os.path.join(REPO, "conf", "hub")
UDP_POOL = ("203.0.113.0", "255.255.255.128")
TCP_POOL = ("203.0.113.128", "255.255.255.128")
VPN_NET = ("203.0.113.0", "255.255.255.0")
NFT = "/usr/sbin/nft"


def hubd_path():
    return os.path.join(build_dir(), "supportvpn-hubd")


def hubctl_path():
    return os.path.join(build_dir(), "supportvpn-hub")


def hub_policy_doc(pki, appliances=("appliance-*",), staff=("staff-*",),
                   ca="ca"):
    fp = pki.fingerprint_openssl(ca)
    return {"mode": "hub",
            "appliances": {"ca_sha256": [fp], "names": list(appliances)},
            "staff": {"ca_sha256": [fp], "names": list(staff)}}


def adapt_server_conf(text, repl, drop=()):
    """The reference server configuration with the directives in repl
    (name -> new line) replaced and those in drop removed; the others are
    kept exactly. Every name in repl must occur."""
    out, seen = [], set()
    for line in text.splitlines():
        words = line.split()
        name = words[0] if words and not line.startswith("#") else None
        if name in drop:
            continue
        if name in repl:
            if name not in seen:
                out.extend(repl[name] if isinstance(repl[name], list)
                           else [repl[name]])
            seen.add(name)
            continue
        out.append(line)
    missing = set(repl) - seen
    if missing:
        raise BedError(f"reference config lacks {sorted(missing)}")
    return "\n".join(out) + "\n"


class SupportHub:
    """supportvpn-hubd and the two reference openvpn servers in the hub
    namespace (see the module text)."""

    def __init__(self, bed, udp=True, tcp=True, policy=None, user=True,
                 server_extra=()):
        self.bed = bed
        self.dir = os.path.join(bed.dir, "supporthub")
        os.makedirs(self.dir, exist_ok=True)
        # An openvpn that dropped to nobody still stats the policy.
        for d in (bed.dir, self.dir):
            os.chmod(d, 0o711)
        self.run_dir = os.path.join(self.dir, "run")
        self.events = os.path.join(self.run_dir, "events.sock")
        self.status_sock = os.path.join(self.run_dir, "hub.sock")
        self.grants_file = os.path.join(self.dir, "grants.json")
        self.policy_path = os.path.join(self.dir, "policy.json")
        self.config_path = os.path.join(self.dir, "supportvpn-hubd.json")
        self.log_path = os.path.join(self.dir, "supportvpn-hubd.log")
        self.table = "supportvpn_hub"
        self.udp, self.tcp, self.user = udp, tcp, user
        self.server_extra = list(server_extra)   # lines added at the end
        self.hubd = None
        self.servers = {}
        doc = policy if policy is not None else hub_policy_doc(bed.pki)
        with open(self.policy_path, "w") as f:
            json.dump(doc, f, indent=2)
        os.chmod(self.policy_path, 0o644)
        self.config = {
            "events": self.events,
            "allowed_uids": [0, "nobody"],
            "status_socket": self.status_sock,
            "grants_file": self.grants_file,
            "state_file": os.path.join(self.run_dir, "state.json"),
            "nft_table": self.table,
            "tun_ifaces": ["tun0", "tun1"],
            "log_file": self.log_path,
            "log_level": "debug",
        }
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)
        bed.extra_logs["supportvpn-hubd.log"] = self.log_path
        bed.track(self)

    # -- processes -------------------------------------------------------------
    def server_text(self, proto):
        pki = self.bed.pki
        name = "server-udp.conf" if proto == "udp" else "server-tcp.conf"
        with open(os.path.join(CONF_HUB, name)) as f:
            text = f.read()
        pool = UDP_POOL if proto == "udp" else TCP_POOL
        repl = {
            "server": f"server {pool[0]} {pool[1]}",
            "push": f'push "route {VPN_NET[0]} {VPN_NET[1]}"',
            "ca": f"ca {pki.crt('ca')}",
            "cert": f"cert {pki.crt('hub')}",
            "key": f"key {pki.key('hub')}",
            "tls-crypt": f"tls-crypt {pki.tls_crypt}",
            "plugin": f"plugin {plugin_path()} mode=hub "
                      f"events={self.events} policy={self.policy_path}",
            "port": [f"port {1194 if proto == 'udp' else 443}",
                     f"local {HUB_IP}"],
        }
        drop = ["status", "status-version"]
        if not self.user:
            drop += ["user", "group"]
        return adapt_server_conf(text, repl, drop) + "".join(
            line + "\n" for line in self.server_extra)

    def start(self, timeout=15):
        bed = self.bed
        bed._sysctl("hub", "net.ipv4.ip_forward", "1")
        self.hubd = bed.spawn("supportvpn-hubd", "hub",
                              [hubd_path(), "--config", self.config_path])
        wait_until(lambda: self._hubd_ready(), timeout,
                   desc="supportvpn-hubd to listen")
        for proto in (["udp"] if self.udp else []) + (["tcp"] if self.tcp
                                                     else []):
            self.start_server(proto, timeout)
        return self

    def _hubd_ready(self):
        if not self.hubd.alive():
            raise BedError(f"supportvpn-hubd exited {self.hubd.returncode}:"
                           f"\n{tail(self.hubd.log)}")
        return os.path.exists(self.status_sock) and os.path.exists(
            self.events)

    def start_server(self, proto, timeout=15):
        conf = os.path.join(self.dir, f"server-{proto}.conf")
        with open(conf, "w") as f:
            f.write(self.server_text(proto))
        p = self.bed.spawn(f"hub-{proto}", "hub", [OPENVPN, "--config",
                                                    conf], preload=True)
        self.servers[proto] = p

        def ready():
            if not p.alive():
                raise BedError(f"hub openvpn ({proto}) exited "
                               f"{p.returncode}:\n{tail(p.log)}")
            with open(p.log, errors="replace") as f:
                return "Initialization Sequence Completed" in f.read()
        wait_until(ready, timeout, desc=f"hub openvpn ({proto}) ready")
        return p

    def server_log(self, proto):
        with open(self.servers[proto].log, errors="replace") as f:
            return f.read()

    def hubd_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def close(self):
        for p in list(self.servers.values()) + [self.hubd]:
            if p is not None and p.alive():
                p.stop()

    # -- the operator's side -----------------------------------------------------
    def cli(self, *args, check=True):
        r = self.bed.exec("hub", [hubctl_path(), "--config",
                                  self.config_path] + list(args), timeout=30)
        if check and r.returncode != 0:
            raise BedError(f"supportvpn-hub {' '.join(args)} -> "
                           f"{r.returncode}: {r.stdout}{r.stderr}")
        return r

    def grant(self, staff, appliance, duration="1h", case="CASE-1"):
        return self.cli("grant", staff, appliance, "--for", duration,
                        "--case", case)

    def revoke(self, staff, appliance):
        return self.cli("revoke", staff, appliance)

    def status(self):
        return json.loads(self.cli("status", "--json").stdout)

    def nft_ruleset(self):
        """The hub namespace's whole ruleset, as nft prints it."""
        r = self.bed.exec("hub", [NFT, "list", "ruleset"], timeout=10)
        return r.stdout

    def wait_connected(self, cn, timeout=20):
        """Waits until the daemon reports cn connected with an address."""
        def check():
            for c in self.status().get("identities", []):
                if c.get("cn") == cn and c.get("addresses"):
                    return c
            return None
        return wait_until(check, timeout, interval=0.2,
                          desc=f"{cn} connected at the hub")


class StaffClient:
    """A support workstation: openvpn with a staff certificate, connected
    to the hub from <prefix>-staff."""

    def __init__(self, bed, cert="staff-alice", proto="udp", port=1194):
        self.bed, self.cert = bed, cert
        pki = bed.pki
        self.conf = os.path.join(bed.dir, f"staff-{cert}.ovpn")
        lines = ["client", "dev tun", f"remote {HUB_IP} {port} {proto}",
                 "nobind", f"ca {pki.crt('ca')}", f"cert {pki.crt(cert)}",
                 f"key {pki.key(cert)}", f"tls-crypt {pki.tls_crypt}",
                 "remote-cert-tls server", "connect-retry 1 1", "verb 3"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    def start(self, timeout=20):
        self.proc = self.bed.spawn(f"staff-{self.cert}", "staff",
                                   [OPENVPN, "--config", self.conf])
        return self

    def wait_up(self, timeout=20):
        def ready():
            if not self.proc.alive():
                raise BedError(f"staff openvpn exited:\n{tail(self.proc.log)}")
            with open(self.proc.log, errors="replace") as f:
                return "Initialization Sequence Completed" in f.read()
        wait_until(ready, timeout, desc="staff openvpn connected")
        return wait_until(self.tunnel_ip, 5, desc="staff tunnel address")

    def tunnel_ip(self):
        r = self.bed.exec("staff", [nx.IP, "-4", "-o", "addr", "show"],
                          timeout=10, check=True)
        for line in r.stdout.splitlines():
            for w in line.split():
                if w.startswith("203.0.113."):
                    return w.split("/")[0]
        return None

    def log_text(self):
        with open(self.proc.log, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc is not None and self.proc.alive():
            self.proc.stop()


class EchoService:
    """A TCP listener in a namespace that keeps each connection open and
    echoes what it receives (a flow that must be cut, not refused)."""

    def __init__(self, ns, port, host="0.0.0.0"):
        self.sock = nx.socket_in(ns)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self._stop = False
        self._conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(c)
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    @staticmethod
    def _echo(c):
        with contextlib.suppress(OSError):
            while True:
                data = c.recv(4096)
                if not data:
                    break
                c.sendall(data)
        with contextlib.suppress(OSError):
            c.close()

    def close(self):
        self._stop = True
        for c in self._conns:
            with contextlib.suppress(OSError):
                c.close()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def echo_once(sock, data=b"ping\n", timeout=2.0):
    """Sends data on an open connection; True if it came back in time."""
    sock.settimeout(timeout)
    try:
        sock.sendall(data)
        got = b""
        deadline = time.monotonic() + timeout
        while len(got) < len(data) and time.monotonic() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                return False
            got += chunk
        return got == data
    except OSError:
        return False
