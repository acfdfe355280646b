# SPDX-License-Identifier: MIT
"""Network-namespace plumbing: `ip` wrappers, entering a namespace from this
process (ctypes setns, since Python 3.11 has no os.setns), listing and
killing the processes inside one.

Nothing here touches the host's own interfaces, routes or firewall: every
`ip` command names a namespace of ours with `-n`.
"""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time

IP = "ip"
CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/run/netns"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_setns_lock = threading.RLock()


class CommandError(RuntimeError):
    pass


def run(argv, check=True, timeout=30, **kw):
    """Runs argv, captures text output; raises CommandError on failure."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       **kw)
    if check and r.returncode != 0:
        raise CommandError(f"{' '.join(argv)}: exit {r.returncode}: "
                           f"{(r.stderr or r.stdout).strip()}")
    return r


def ip(*args, ns=None, check=True):
    argv = [IP] + (["-n", ns] if ns else []) + list(args)
    return run(argv, check=check)


def list_netns():
    """Names of all network namespaces `ip netns` knows."""
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


def netns_exists(name):
    return name in list_netns()


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns: {os.strerror(e)}")


@contextlib.contextmanager
def in_netns(name):
    """Runs the body with the calling thread inside namespace `name`.

    Sockets created inside stay in that namespace after we switch back. Only
    the calling thread moves; a lock keeps two threads from interleaving.
    """
    with _setns_lock:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            target = os.open(os.path.join(NETNS_RUN_DIR, name), os.O_RDONLY)
            try:
                _setns(target)
            finally:
                os.close(target)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(home)


def socket_in(ns, family=socket.AF_INET, type=socket.SOCK_STREAM):
    """A new socket that lives in namespace ns."""
    with in_netns(ns):
        return socket.socket(family, type)


def connect_in(ns, host, port, timeout=5.0):
    """A TCP connection made from inside namespace ns (blocking socket with
    `timeout` set). Raises OSError when it cannot connect."""
    s = socket_in(ns)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
    except BaseException:
        s.close()
        raise
    return s


def netns_pids(name):
    """PIDs of processes whose network namespace is `name`."""
    r = run([IP, "netns", "pids", name], check=False)
    if r.returncode != 0:
        return []
    return [int(x) for x in r.stdout.split() if x.isdigit()]


def proc_comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace")
                    for a in f.read().split(b"\0") if a]
    except OSError:
        return None


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] not in "ZX"


def kill_netns_processes(name, timeout=3.0):
    """SIGTERM, then SIGKILL, every process in namespace `name` except us."""
    protected = {os.getpid(), os.getppid()}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [p for p in netns_pids(name) if p not in protected]
        if not pids:
            return
        for p in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(pid_alive(p) for p in pids):
                break
            time.sleep(0.05)


def delete_netns(name):
    """Kills what runs in namespace `name`, then deletes it."""
    if not netns_exists(name):
        return
    kill_netns_processes(name)
    run([IP, "netns", "del", name], check=False)


def addresses(ns, family="-4"):
    """[(ifname, 'a.b.c.d/len'), ...] of namespace ns."""
    r = ip("-o", family, "addr", "show", ns=ns, check=False)
    out = []
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 4:
            out.append((f[1], f[3]))
    return out
