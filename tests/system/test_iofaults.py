# SPDX-License-Identifier: MIT
"""I/O faults injected, not imagined: supportvpnd runs under libfiu's
fiu-run with the POSIX preload (Debian's fiu-utils), and fiu-ctrl makes a
libc call fail at the moment of interest, only while a chosen function of
ours is on the stack (enable_stack_by_name; build/tests/supportvpnd-fiu is
the daemon linked with -rdynamic so libfiu can find those functions).

What goes through wrapped libc calls (and so can be failed here): the
settings, the session file and the support hash (util_write_atomic: open,
write, fsync, close, rename, unlink, and the directory's open and fsync),
the consent record (open, write, rename, unlink), the history (open, write,
pread, ftruncate, fsync, rename, unlink; its durable fsync runs on libuv's
thread pool, through libuv's call of libc's fsync), malloc/calloc/realloc
and strdup (ours and jansson's), and libuv's stream I/O (read, write,
writev), connect and recvmsg. Not wrapped: fcntl (the consent lock),
fchmod, fstat/lstat, libuv's accept4 (so an API accept cannot be failed),
epoll, getrandom, and any call glibc makes inside itself (getaddrinfo's
sockets, fopen's open).

After each fault: the file is byte-identical to its old or its new version
and parses (the history: the old bytes, or the old bytes and whole new
records), the API answered with an error sentence (or, when the fault hit
that connection's own I/O, closed it, which the client sees), supportvpnd
is alive and serves status, and openvpn never connects without a live
consent record. Allocation failures: supportvpnd survives them; what it
cannot survive would have to end in an exit status and a log line, and
openvpn (--management-signal) then drops the tunnel and holds. libuv
itself aborts the process when a read of its signal pipe or eventfd
fails, so read() is failed only once, on a stream.
"""

import contextlib
import errno
import fcntl
import json
import os
import signal
import struct
import time

import pytest

import bed as tb
from conftest import start_connected

FIU_RUN = "/usr/bin/fiu-run"
FIU_CTRL = "/usr/bin/fiu-ctrl"
F_OFD_GETLK = 36


def fiu_binary():
    return os.path.join(tb.build_dir(), "tests", "supportvpnd-fiu")


def _require():
    for path in (FIU_RUN, FIU_CTRL):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} is missing: install fiu-utils (make deps)",
                        pytrace=False)
    if not os.access(fiu_binary(), os.X_OK):
        pytest.fail(f"{fiu_binary()} is missing: make "
                    f"{os.path.relpath(fiu_binary(), tb.build_dir())}",
                    pytrace=False)
    if "asan" in os.path.basename(tb.build_dir().rstrip("/")):
        # ASan's runtime must come first among the libraries, and
        # libfiu's preload would come before it; both interpose malloc.
        pytest.skip("libfiu's preload cannot run beside ASan's runtime")


class Faults:
    """libfiu's failure points in one supportvpnd, through fiu-ctrl."""

    def __init__(self, app):
        self.app = app
        self.prefix = os.path.join(app.dir, "fiu")

    def wrap(self):
        return [FIU_RUN, "-x", "-f", self.prefix]

    def start(self):
        """Starts supportvpnd under fiu-run; returns once openvpn is held."""
        self.app.start()
        self.app.wait_status(lambda s: (s.get("openvpn") or {}).get("held"),
                             15, desc="openvpn held")

    def ctl(self, *cmds):
        argv = [FIU_CTRL, "-f", self.prefix]
        for c in cmds:
            argv += ["-c", c]
        r = tb.netns.run(argv + [str(self.app.proc.pid)], check=False)
        assert r.returncode == 0 and "error" not in r.stdout.lower() and \
            "unknown" not in r.stdout.lower(), \
            f"fiu-ctrl {cmds}: {r.stdout}{r.stderr}"

    def enable(self, point, func=None, err=errno.EIO, probability=None,
               onetime=False):
        params = f"name={point},failinfo={err}" + (",onetime" if onetime
                                                   else "")
        if func is not None:
            self.ctl(f"enable_stack_by_name {params},func_name={func}")
        elif probability is not None:
            self.ctl(f"enable_random {params},probability={probability}")
        else:
            self.ctl(f"enable {params}")

    def disable(self, point):
        self.ctl(f"disable name={point}")

    @contextlib.contextmanager
    def on(self, point, func=None, err=errno.EIO, probability=None,
           onetime=False):
        self.enable(point, func, err, probability, onetime)
        try:
            yield
        finally:
            if self.app.proc.alive():
                self.disable(point)


@pytest.fixture
def fiu_app(make_appliance):
    """factory: an appliance with the real plugin, its supportvpnd under
    fiu-run -x; returns (app, faults), started and held unless
    started=False (then faults.start() does it)."""
    _require()

    def make(started=True, **kw):
        kw.setdefault("plugin", True)
        app = make_appliance(programs={"supportvpnd": fiu_binary()}, **kw)
        faults = Faults(app)
        app.wrapper = faults.wrap()
        if started:
            faults.start()
        return app, faults
    return make


# -- what must hold after every fault -----------------------------------------

def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def storage_error(answer, *words):
    """An error answer with code storage and a sentence naming `words`."""
    assert answer.get("ok") is False, answer
    err = answer.get("error") or {}
    assert err.get("code") == "storage", answer
    msg = err.get("message") or ""
    assert len(msg) > 20 and " " in msg, answer
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
    return msg


def alive_and_serving(app):
    assert app.proc.alive(), \
        f"supportvpnd exited with {app.proc.returncode}:\n" \
        f"{tb.tail(app.out_path)}"
    st = app.status()
    assert st["vpn"] in ("stopped", "waiting", "starting", "connected",
                         "reconnecting", "stopping", "failed"), st
    return st


def consent_lock_held(path):
    """Whether someone holds the consent record's write lock (what the
    plugin asks: F_OFD_GETLK with a read lock)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fl = struct.pack("hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)
        got = fcntl.fcntl(fd, F_OFD_GETLK, fl)
        return struct.unpack("hhqqi4x", got)[0] != fcntl.F_UNLCK
    finally:
        os.close(fd)


def never_connected_without_consent(app):
    """openvpn has no tunnel unless a live consent record is there."""
    if app.tunnel_addrs():
        assert consent_lock_held(app.consent_path), \
            "a tunnel without a live consent record"


def history_path(app):
    return os.path.join(app.state_dir, "history.jsonl")


def settings_doc(data):
    """settings.json's bytes, parsed (never torn: it must parse)."""
    assert data is not None, "settings.json is missing"
    doc = json.loads(data)
    assert isinstance(doc, dict) and doc.get("version") == 1, data
    return doc


def no_temp_files(app):
    left = [n for n in os.listdir(app.state_dir) + os.listdir(app.run_dir)
            if n.endswith(".tmp") and n != "consent.tmp"]
    assert not left, f"temporary files left behind: {left}"


# Each: (failure point, function on the stack, errno). posix/io/oc/open
# fails the temporary file's open; rename the step that makes it current.
SETTINGS_FAULTS = [
    ("posix/io/oc/open", "settings_save", errno.EACCES),
    ("posix/io/rw/write", "settings_save", errno.ENOSPC),
    ("posix/io/sync/fsync", "settings_save", errno.EIO),
    ("posix/io/dir/rename", "settings_save", errno.EIO),
    ("libc/mm/malloc", "settings_save", errno.ENOMEM),
]


def test_settings_write_faults(fiu_app):
    """Arming and clearing "start when possible" with each write step of
    settings.json failing: the file stays the old version, the command
    answers `storage`, nothing else changes (no session is opened by a
    start that could not be armed); a stop still stops, and removes the
    file it could not write."""
    app, faults = fiu_app()
    # A known old version: armed once, then cleared.
    start_connected(app, when_possible=True)
    assert app.call("stop")["vpn"] == "stopped"
    for i, (point, func, err) in enumerate(SETTINGS_FAULTS):
        if not os.path.exists(app.settings_path):
            # The last stop removed it (below): a known old version again.
            start_connected(app, when_possible=True)
            assert app.call("stop")["vpn"] == "stopped"
        old = read_bytes(app.settings_path)
        assert settings_doc(old)["start_when_possible"] is False
        history = read_bytes(history_path(app))
        with faults.on(point, func, err):
            a = app.request("start", when_possible=True, wait=True,
                            timeout_s=20, timeout=30)
        storage_error(a, "settings.json")
        assert read_bytes(app.settings_path) == old, point
        st = alive_and_serving(app)
        assert st["start_when_possible"] is False, (point, st)
        assert st["vpn"] == "stopped" and st.get("session") is None, \
            (point, st)
        assert read_bytes(history_path(app)) == history, \
            f"{point}: a start that was refused left history records"
        no_temp_files(app)
        never_connected_without_consent(app)

        # Armed for real; then the stop's write fails.
        start_connected(app, when_possible=True)
        armed = read_bytes(app.settings_path)
        assert settings_doc(armed)["start_when_possible"] is True
        with faults.on(point, func, err):
            a = app.request("stop", timeout=30)
        # The write failed, so the stop removed settings.json instead (no
        # file reads as off; removing needs no space) and answers ok: the
        # file is never torn, and what it says after a restart is "off".
        # (When even the removal fails the stop answers `storage`:
        # test_vpn's test_stop_when_settings_can_neither_be_written_nor_
        # removed.)
        assert a.get("ok") is True, (point, a)
        assert not os.path.exists(app.settings_path), point
        assert "removed it instead" in app.log_text(), point
        # The owner's stop wins: the VPN goes down and stays down (it is
        # not armed again from memory at the next hold).
        st = app.wait_vpn("stopped", 15)
        assert st["start_when_possible"] is False, (point, st)
        if i == 0:
            time.sleep(1.5)    # longer than checks.interval_s
            st = alive_and_serving(app)
            assert st["vpn"] == "stopped", (point, st)
        assert not app.tunnel_addrs(), point
        assert not os.path.exists(app.consent_path), point
        no_temp_files(app)
        # A later stop leaves it off (no file, or a whole one saying so).
        assert app.call("stop")["vpn"] == "stopped"
        data = read_bytes(app.settings_path)
        assert data is None or settings_doc(data)[
            "start_when_possible"] is False, point


def test_settings_directory_sync_fault(fiu_app):
    """The fsync of state_dir after the rename fails: the new version is
    in place (and the old one gone), so the start must count as armed and
    answer ok, not `storage` with "nothing was changed"."""
    app, faults = fiu_app()
    old = read_bytes(app.settings_path)
    with faults.on("posix/io/sync/fsync", "util_fsync_dir", errno.EIO):
        a = app.request("start", when_possible=True, wait=True,
                        timeout_s=20, timeout=30)
    assert a.get("ok") is True, a
    new = read_bytes(app.settings_path)
    assert new != old and settings_doc(new)["start_when_possible"] is True
    assert a["result"]["start_when_possible"] is True, a
    assert "may not survive a power loss" in app.log_text()
    assert app.call("stop")["vpn"] == "stopped"
    assert settings_doc(read_bytes(app.settings_path))[
        "start_when_possible"] is False


def consent_record(app):
    """The consent record's content, parsed (None if there is none)."""
    data = read_bytes(app.consent_path)
    if data is None:
        return None
    doc = json.loads(data)
    assert isinstance(doc, dict) and doc.get("pid") == app.proc.pid, data
    return doc


# The record is staged (written and locked under consent.tmp) after each
# stop, and made current by one rename at the grant; a record that could
# not be staged is written at the grant.
CONSENT_FAULTS = [
    ("posix/io/dir/rename", "consent_grant", errno.EIO),
    ("posix/io/oc/open", "consent_stage", errno.EACCES),
    ("posix/io/rw/write", "consent_stage", errno.ENOSPC),
    ("libc/mm/malloc", "consent_stage", errno.ENOMEM),
]


def test_consent_write_faults(fiu_app):
    """The consent record cannot be written: the start answers `storage`
    at once instead of waiting out its timeout, openvpn stays held (no
    record, no tunnel), and once the fault is gone the release is retried
    and the VPN connects with a whole, live record."""
    app, faults = fiu_app()
    for point, func, err in CONSENT_FAULTS:
        with faults.on(point, func, err):
            assert app.call("stop")["vpn"] == "stopped"
            t0 = time.monotonic()
            a = app.request("start", wait=True, timeout_s=20, timeout=30)
            storage_error(a, "consent")
            assert time.monotonic() - t0 < 10, \
                f"{point}: the start waited for its timeout"
            st = alive_and_serving(app)
            assert st["vpn"] != "connected", (point, st)
            assert consent_record(app) is None, point
            assert not app.tunnel_addrs(), point
            assert (st.get("openvpn") or {}).get("held") is True, \
                (point, st)
        st = app.wait_vpn("connected", 15)
        rec = consent_record(app)
        assert rec is not None and consent_lock_held(app.consent_path), \
            point
        never_connected_without_consent(app)
    assert app.call("stop")["vpn"] == "stopped"
    assert consent_record(app) is None


def test_consent_revoke_fault(fiu_app):
    """The stop cannot remove the consent record: it stops all the same,
    and the record left behind is void (nobody holds its lock), so a hold
    released by anyone else would connect nowhere."""
    app, faults = fiu_app()
    start_connected(app)
    with faults.on("posix/io/dir/unlink", "consent_revoke", errno.EIO):
        st = app.call("stop", timeout=30)
    assert st["vpn"] == "stopped", st
    assert os.path.exists(app.consent_path)
    assert not consent_lock_held(app.consent_path)
    assert not app.tunnel_addrs()
    alive_and_serving(app)
    start_connected(app)
    assert consent_lock_held(app.consent_path)
    assert app.call("stop")["vpn"] == "stopped"
    assert not os.path.exists(app.consent_path)


def history_records(data):
    """The history's lines, each a whole JSON object (never a torn one)."""
    if not data:
        return []
    assert data.endswith(b"\n"), f"the history ends in a torn line: " \
        f"{data[-200:]!r}"
    recs = [json.loads(ln) for ln in data.splitlines()]
    assert all(isinstance(r, dict) and "event" in r for r in recs)
    return recs


def grown_by_whole_records(old, new):
    """new is old, or old followed by whole records."""
    old = old or b""
    assert new is not None and new.startswith(old), \
        "the history's old records changed"
    history_records(new)


HISTORY_FAULTS = [
    ("posix/io/rw/write", "audit_append", errno.ENOSPC),
    ("libc/mm/malloc", "audit_append", errno.ENOMEM),
]


def test_history_write_faults(fiu_app):
    """The session's first record cannot be appended: the start is refused
    (`storage`: a session never starts unrecorded), the history is byte
    for byte what it was, and a start afterwards records normally."""
    app, faults = fiu_app()
    start_connected(app)
    assert app.call("stop")["vpn"] == "stopped"
    for point, func, err in HISTORY_FAULTS:
        old = read_bytes(history_path(app))
        history_records(old)
        with faults.on(point, func, err):
            a = app.request("start", wait=True, timeout_s=20, timeout=30)
        storage_error(a, "unrecorded")
        assert read_bytes(history_path(app)) == old, point
        st = alive_and_serving(app)
        assert st["vpn"] == "stopped" and st.get("session") is None, \
            (point, st)
        assert not app.tunnel_addrs(), point
        start_connected(app)
        assert app.call("stop")["vpn"] == "stopped"
        grown_by_whole_records(old, read_bytes(history_path(app)))


def test_history_fsync_fault(fiu_app):
    """Every fsync fails while a session starts and connects (the
    history's runs on libuv's thread pool): the records are in the file,
    only not known to be durable; the start goes ahead and the failure is
    logged."""
    app, faults = fiu_app()
    old = read_bytes(history_path(app))
    with faults.on("posix/io/sync/fsync", None, errno.EIO):
        start_connected(app)
        tb.wait_until(lambda: "history: cannot fsync" in app.log_text(), 10,
                      desc="the fsync failure in the log")
    assert app.call("stop")["vpn"] == "stopped"
    grown_by_whole_records(old, read_bytes(history_path(app)))
    alive_and_serving(app)


def test_history_rotation_rename_fault(fiu_app, pki):
    """The history is full: the next record rotates it. With rename
    failing the rotation is undone (history.jsonl as it was, no .1, no
    .tmp) and the start refused; without, history.jsonl.1 is the old file
    byte for byte."""
    max_bytes = 16384
    app, faults = fiu_app(config_extra={"audit": {"max_bytes": max_bytes}},
                          started=False)
    # A history of sessions long over, 50 bytes short of its limit: the
    # next record (over 200 bytes) rotates it.
    def line(n, pad):
        return json.dumps({"ts": "2026-01-01T00:00:00.000Z",
                           "event": "ended", "session": f"old-{n:04d}",
                           "why": "owner", "detail": "x" * pad}
                          ).encode() + b"\n"
    lines = []
    while sum(map(len, lines)) < max_bytes - 400:
        lines.append(line(len(lines), 80))
    short = max_bytes - 50 - sum(map(len, lines)) - len(line(len(lines), 0))
    lines.append(line(len(lines), short))
    old = b"".join(lines)
    assert len(old) == max_bytes - 50
    with open(history_path(app), "wb") as f:
        f.write(old)
    os.chmod(history_path(app), 0o600)
    faults.start()
    with faults.on("posix/io/dir/rename", "audit_append", errno.EIO):
        a = app.request("start", wait=True, timeout_s=20, timeout=30)
    storage_error(a, "unrecorded")
    assert read_bytes(history_path(app)) == old
    assert read_bytes(history_path(app) + ".1") is None
    assert read_bytes(history_path(app) + ".tmp") is None
    alive_and_serving(app)
    start_connected(app)
    assert app.call("stop")["vpn"] == "stopped"
    assert read_bytes(history_path(app) + ".1") == old
    recs = history_records(read_bytes(history_path(app)))
    assert [r["event"] for r in recs][:1] == ["activated"], recs


def test_api_write_fault_closes_the_connection(fiu_app):
    """An answer cannot be written to the client's socket: supportvpnd
    closes that connection (the client sees the end, not silence) and
    serves everyone else."""
    app, faults = fiu_app()
    with app.api(timeout=10) as c:
        c.status()
        # uv_write2 is libuv's: every write to a stream starts in it.
        with faults.on("posix/io/rw/write", "uv_write2", errno.EPIPE):
            c.send("status")
            closed = c.wait_eof(5)
        assert closed, f"no answer and no end: {c.answers}"
    alive_and_serving(app)


def test_network_faults(fiu_app):
    """Every socket call fails for a while (posix/io/net/*): the
    prerequisite checks come back red with reasons, not hanging; an
    openvpn restarted meanwhile cannot be reached over its management
    socket, and is once the fault is gone; the API (served by libuv with
    accept4, read and write, which are not socket calls here) answers
    throughout."""
    app, faults = fiu_app()
    old_pid = app.status()["openvpn"]["pid"]
    with faults.on("posix/io/net/*", None, errno.ENETUNREACH):
        got = app.call("checks", refresh=True, timeout=30)
        red = [i for i in got["items"] if not i["ok"]]
        assert got["ok"] is False and red, got
        assert all(isinstance(i["detail"], str) and i["detail"]
                   for i in red), red
        os.kill(old_pid, signal.SIGKILL)
        tb.wait_until(lambda: "Network is unreachable" in app.log_text(),
                      15, desc="a failed management connect in the log")
        st = alive_and_serving(app)
        assert st["vpn"] != "connected", st
    st = app.wait_status(
        lambda s: (s.get("openvpn") or {}).get("held") is True and
        s["openvpn"].get("pid") not in (None, old_pid), 20,
        desc="the new openvpn reached and held")
    assert app.call("checks", refresh=True, timeout=30)["ok"] is True
    start_connected(app)
    assert app.call("stop")["vpn"] == "stopped"


def test_read_fault_api(fiu_app):
    """The next read() fails, and it is the API request's (openvpn is
    held and quiet, nothing else is read): that client is closed, which it
    sees, and everyone else is served."""
    app, faults = fiu_app()
    with app.api(timeout=10) as c:
        c.status()
        with faults.on("posix/io/rw/read", None, errno.EIO, onetime=True):
            c.send("status")
            closed = c.wait_eof(5)
        assert closed, c.answers
    alive_and_serving(app)
    assert "closing: i/o error" in app.log_text()


def test_read_fault_management(fiu_app):
    """The next read() fails, and it is openvpn's traffic report on the
    management socket (the VPN is up and quiet): supportvpnd reconnects,
    openvpn (--management-signal) restarts its connection into the hold,
    and the VPN the owner wants comes back with its consent.

    Only one read, of a stream: libuv aborts the process when a read of
    its own signal pipe or eventfd fails (uv__signal_event, uv__async_io),
    reads that cannot fail outside an injection."""
    app, faults = fiu_app()
    start_connected(app)
    time.sleep(0.3)
    with faults.on("posix/io/rw/read", None, errno.EIO, onetime=True):
        # openvpn reports the traffic every openvpn.bytecount_s (2)
        tb.wait_until(lambda: "lost openvpn's management link" in
                      app.log_text(), 10, desc="the management link lost")
    alive_and_serving(app)
    st = app.wait_vpn("connected", 30)
    assert consent_lock_held(app.consent_path), st
    never_connected_without_consent(app)
    assert app.call("stop")["vpn"] == "stopped"


def test_api_accept_without_memory(fiu_app):
    """No memory at all for a moment while a client connects, not even to
    refuse it. libuv has accepted the socket and listens no more until it
    is taken: supportvpnd takes it once memory is back, so the API is not
    shut for good."""
    app, faults = fiu_app()
    points = ("libc/mm/malloc", "libc/mm/calloc")
    for p in points:
        faults.enable(p, err=errno.ENOMEM)
    try:
        s = tb.netns.connect_in(app.ns, "127.0.0.1", app.api_port, 5)
        time.sleep(0.3)
    finally:
        for p in points:
            faults.disable(p)
    with s:
        s.settimeout(5)
        s.sendall(b'{"id": 1, "cmd": "status"}\n')
        first = s.recv(65536).split(b"\n", 1)[0]
    got = json.loads(first)
    assert got.get("ok") is True or \
        (got.get("error") or {}).get("code") == "busy", got
    alive_and_serving(app)


def test_openvpn_restart_allocation_fault(fiu_app):
    """openvpn dies and its restart finds no memory for its arguments: the
    failure is reported like an exit (the status says why) and the restart
    is tried again with backoff, so openvpn comes back held once memory
    does, instead of never."""
    app, faults = fiu_app()
    old = app.status()["openvpn"]["pid"]
    with faults.on("libc/mm/calloc", "proc_build_argv", errno.ENOMEM):
        os.kill(old, signal.SIGKILL)
        tb.wait_until(lambda: "cannot start" in app.log_text(), 15,
                      desc="the failed restart in the log")
        st = alive_and_serving(app)
        assert st["vpn"] == "failed", st
    st = app.wait_status(
        lambda s: (s.get("openvpn") or {}).get("held") is True and
        s["openvpn"].get("pid") not in (None, old), 20,
        desc="openvpn restarted and held")
    assert st["vpn"] == "stopped", st
    start_connected(app)
    assert app.call("stop")["vpn"] == "stopped"


MALLOC_POINTS = ("libc/mm/malloc", "libc/mm/calloc", "libc/mm/realloc",
                 "libc/str/strdup")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_allocation_failures(fiu_app, seed):
    """For a while, three in ten allocations fail, everywhere in
    supportvpnd (ours, jansson's, libuv's, libcurl's), while openvpn is
    killed and restarted and clients keep asking: status, start when
    possible, stop, subscribe, log, history, checks. supportvpnd either
    survives (then it serves status, openvpn runs again, and the VPN
    settles) or exits cleanly: an exit status, not a signal, and a log line
    saying why; then openvpn drops the tunnel (--management-signal) and the
    consent is void. Never a tunnel without a live consent record.
    (FIU_PRNG_SEED makes libfiu's choices repeatable; the thread timing
    still varies.)"""
    app, faults = fiu_app(env={"FIU_PRNG_SEED": str(seed)})
    start_connected(app)
    ovpn = app.status()["openvpn"]["pid"]
    for p in MALLOC_POINTS:
        faults.enable(p, err=errno.ENOMEM, probability=0.3)
    try:
        os.kill(ovpn, signal.SIGKILL)
        t_end = time.monotonic() + 1.5
        while time.monotonic() < t_end and app.proc.alive():
            for cmd, args in (("status", {}), ("stop", {}),
                              ("start", {"when_possible": True}),
                              ("subscribe", {}), ("log", {"lines": 20}),
                              ("history", {}), ("checks", {"refresh": True})):
                try:
                    app.request(cmd, timeout=5, **args)
                except (OSError, tb.ApiError):
                    pass    # a refused or closed connection is allowed
    finally:
        for p in MALLOC_POINTS:
            if app.proc.alive():
                faults.disable(p)
    if app.proc.alive():
        alive_and_serving(app)
        st = app.wait_status(
            lambda s: (s.get("openvpn") or {}).get("running") is True and
            s["vpn"] in ("stopped", "waiting", "connected"), 30,
            desc="openvpn running again and the VPN settled")
        never_connected_without_consent(app)
        if st["vpn"] == "connected":
            assert consent_lock_held(app.consent_path), st
    else:
        rc = app.proc.returncode
        assert rc > 0, f"killed by signal {-rc}:\n{tb.tail(app.out_path)}"
        assert " error " in tb.tail(app.log_path, 5), tb.tail(app.log_path)
        tb.wait_until(lambda: not app.tunnel_addrs(), 15,
                      desc="openvpn to drop the tunnel")
        assert not consent_lock_held(app.consent_path)
