# SPDX-License-Identifier: MIT
"""Resource limits are enforced (README, "Limits"): each one hit on purpose,
with its refusal, its log line, and the daemon serving everyone else."""

import json
import os
import signal
import socket
import time

import bed as tb
from bed import netns as nx
from conftest import wait_held

MAX_CLIENTS = 4
MAX_SUBSCRIBERS = 2
# controller/vpn.h: VPN_OPENVPN_MAX_PENDING (MGMT_MAX_PENDING - 16).
OPENVPN_MAX_PENDING = 48
PASSTHRU_MAX_CLIENTS = 16
EVENT_MAX = 2048        # include/supportvpn_event.h: SVPN_EVENT_MAX


def error_of(answer):
    assert answer.get("ok") is False, answer
    return answer["error"]


def small_limits(make_appliance, **kw):
    app = make_appliance(config_extra={"api": {
        "max_clients": MAX_CLIENTS, "max_subscribers": MAX_SUBSCRIBERS}},
        **kw)
    app.start()
    wait_held(app)
    return app


def test_one_client_too_many_is_refused_others_served(make_appliance):
    app = small_limits(make_appliance)
    clients = []
    try:
        for i in range(MAX_CLIENTS):
            clients.append(app.api(name=f"c{i}"))
            assert clients[-1].status()["vpn"] == "stopped"
        extra = app.api(name="extra")
        err = error_of(extra.next_answer())
        assert err["code"] == "busy"
        assert "too many connections" in err["message"]
        assert extra.wait_eof(5)
        extra.close()
        # The others are served as before, requests that wait included.
        for c in clients:
            assert c.status()["vpn"] == "stopped"
        assert "items" in clients[0].call("checks", refresh=True, timeout=15)
        assert "refusing a connection: 4 connections open " \
            "(api.max_clients)" in app.log_text()
        # One leaves: a new client gets its place.
        clients.pop().close()
        tb.wait_until(lambda: _status_ok(app), 5, desc="a new client served")
    finally:
        for c in clients:
            c.close()


class LogTail:
    """The whole lines added to a log file since the last read."""

    def __init__(self, path):
        self.f = open(path, errors="replace")
        self.part = ""

    def read(self):
        text = self.part + self.f.read()
        cut = text.rfind("\n") + 1
        self.part = text[cut:]
        return text[:cut]

    def __del__(self):
        self.f.close()


def _status_ok(app):
    try:
        return app.status(timeout=2)["vpn"] == "stopped"
    except (OSError, tb.ApiError):
        return False


def test_one_subscriber_too_many_is_refused(make_appliance):
    app = small_limits(make_appliance)
    with app.api(name="s1") as s1, app.api(name="s2") as s2, \
            app.api(name="s3") as s3:
        s1.subscribe(["state"])
        s2.subscribe()
        # Subscribing again (other events) is no new subscriber.
        s2.subscribe(["log", "state"])
        a = s3.request("subscribe", events=["state"])
        err = error_of(a)
        assert err["code"] == "busy"
        assert "too many subscribers (2, api.max_subscribers)" in \
            err["message"]
        # Refused, not dropped: s3 still gets answers.
        assert s3.status()["vpn"] == "stopped"
        assert "refusing a subscription: 2 subscribers " \
            "(api.max_subscribers)" in app.log_text()
        # An empty list unsubscribes, which makes room.
        assert s1.call("subscribe", events=[])["events"] == []
        assert s3.subscribe(["state"])["events"] == ["state"]
        # The subscribers get the events.
        assert app.call("start", wait=True, timeout_s=30,
                        timeout=40)["vpn"] == "connected"
        for c in (s2, s3):
            c.wait_event(lambda e: e["event"] == "state" and
                         e["vpn"] == "connected", timeout=10)
        assert not [e for e in s1.events if e["event"] == "state" and
                    e["vpn"] == "connected"]
        assert app.call("stop")["vpn"] == "stopped"
    # Closed subscribers free their places.
    with app.api() as a, app.api() as b:
        a.subscribe(["state"])
        b.subscribe(["state"])


def test_subscriber_that_never_reads_is_dropped(make_appliance):
    """A subscriber that reads nothing is closed once 1 MiB waits for it;
    a reading one keeps getting events and status keeps answering."""
    app = small_limits(make_appliance)
    # A small receive buffer: the kernel holds little for the sleeper, so
    # the daemon's own queue fills.
    sleeper = nx.socket_in(app.ns)
    sleeper.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sleeper.settimeout(10)
    sleeper.connect(("127.0.0.1", app.api_port))
    sleeper.sendall(b'{"id": 1, "cmd": "subscribe", "events": ["log"]}\n')
    reader = app.api(name="reader")
    # The events: the operators' pass-through logs each command it
    # refuses (the first 64 bytes of it; about 330 bytes of log event).
    flood = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    flood.settimeout(10)
    flood.connect(app.mgmt_path)
    try:
        assert flood.recv(4096).startswith(b">INFO:")
        reader.subscribe(["log"])
        log = LogTail(app.log_path)
        dropped = False
        command = b"hold " + b"x" * 59 + b"\n"
        for _ in range(40):         # at most 20 000 commands
            flood.sendall(command * 500)
            buf = b""
            while buf.count(b"\r\n") < 500:
                buf += flood.recv(1 << 16)
            assert buf.count(b"ERROR: 'hold' is not allowed") == 500, buf
            reader.drain(0.01)
            if "it does not read what it is sent" in log.read():
                dropped = True
                break
        assert dropped, "the sleeper was never dropped"
        line = [ln for ln in app.log_text().splitlines()
                if "it does not read what it is sent" in ln]
        assert len(line) == 1, line
        assert "(over 1024 KiB waiting)" in line[0]
        # The reader was not dropped: it gets the events after it. (The
        # line about the sleeper was logged while an event was being sent,
        # so it is not an event itself: log.c sends no event from inside
        # one.)
        flood.sendall(b"frobnicate\n")
        reader.wait_event(lambda e: e["event"] == "log" and
                          "frobnicate" in e["message"], timeout=30)
        assert reader.status()["vpn"] == "stopped"
        assert app.status()["vpn"] == "stopped"
        # The sleeper's connection ends after what the kernel held.
        while True:
            chunk = sleeper.recv(1 << 16)
            if not chunk:
                break
    finally:
        sleeper.close()
        reader.close()
        flood.close()
    assert app.proc.alive()


def test_error_answers_are_logged_within_a_budget(make_appliance):
    """Any local process may send bad requests as fast as it likes: each
    gets its answer; the log gets a bounded number of lines."""
    app = small_limits(make_appliance)
    with app.api() as c:
        junk = json.dumps({"cmd": "frobnicate"}).encode() + b"\n"
        c.send_raw(junk * 500)
        for _ in range(500):
            assert error_of(c.next_answer())["code"] == "unknown_command"
        assert c.status()["vpn"] == "stopped"
    logged = app.log_text().count("unknown command 'frobnicate'")
    assert 1 <= logged < 500, logged


def test_openvpn_commands_queue_is_bounded_and_leaves_room(make_appliance):
    """With openvpn not answering (stopped), 48 read-only commands wait
    and the rest are refused with busy; supportvpnd's own commands still
    find room, so a start goes through once openvpn answers again."""
    app = make_appliance()
    app.start()
    wait_held(app)
    pid = app.status()["openvpn"]["pid"]
    n = OPENVPN_MAX_PENDING + 12
    conns = []
    os.kill(pid, signal.SIGSTOP)
    try:
        for i in range(n):
            c = app.api(timeout=30, name=f"ro{i}")
            conns.append(c)
            c.send("openvpn", id=i, command="state")
        busy = []

        def refusals():
            for i, c in enumerate(conns):
                if i in busy:
                    continue
                try:
                    a = c.read_msg(timeout=0.01)
                except tb.ApiError:
                    continue
                assert error_of(a)["code"] == "busy", a
                assert "too many openvpn commands are pending" in \
                    error_of(a)["message"]
                busy.append(i)
            return len(busy) >= n - OPENVPN_MAX_PENDING
        tb.wait_until(refusals, 15, interval=0.05, desc="the busy answers")
        # Exactly those over the limit were refused.
        assert len(busy) == n - OPENVPN_MAX_PENDING, busy
        # The owner's start queues its hold release in the kept places.
        starter = app.api(timeout=40, name="starter")
        conns.append(starter)
        sid = starter.send("start", wait=True, timeout_s=30)
        # The others wait: openvpn is stopped.
        for i, c in enumerate(conns[:n]):
            if i not in busy:
                _nothing_yet(c)
    finally:
        os.kill(pid, signal.SIGCONT)
    try:
        for i, c in enumerate(conns[:n]):
            if i in busy:
                continue
            a = c.wait_reply(i, timeout=30)
            assert a["ok"] is True, a
            assert a["result"]["command"] == "state"
        a = starter.wait_reply(sid, timeout=40)
        assert a["ok"] is True, a
        assert a["result"]["vpn"] == "connected"
        assert app.call("stop")["vpn"] == "stopped"
    finally:
        for c in conns:
            c.close()


def _nothing_yet(c):
    try:
        a = c.read_msg(timeout=0.01)
    except tb.ApiError:
        return
    raise AssertionError(f"{c.name} answered while openvpn was stopped: {a}")


def test_passthrough_one_client_too_many_is_refused(appliance):
    app = appliance
    wait_held(app)
    socks = []
    try:
        for _ in range(PASSTHRU_MAX_CLIENTS):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(app.mgmt_path)
            socks.append(s)
            assert s.recv(4096).startswith(b">INFO:")
        extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        extra.settimeout(10)
        extra.connect(app.mgmt_path)
        got = b""
        while True:
            chunk = extra.recv(4096)
            if not chunk:
                break
            got += chunk
        extra.close()
        assert got == (b"ERROR: too many clients of the pass-through (at "
                       b"most 16); try again later (supportvpnd)\r\n"), got
        # The others are still served.
        socks[0].sendall(b"pid\n")
        assert socks[0].recv(4096).startswith(b"SUCCESS: pid=")
        assert "passthru: refusing a connection: 16 open (at most 16)" in \
            app.log_text()
    finally:
        for s in socks:
            s.close()


def test_oversized_datagram_is_dropped_and_logged(make_appliance):
    app = make_appliance(plugin=True)
    app.start()
    wait_held(app)
    with app.api() as c:
        c.subscribe(["peer"])
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as d:
            d.sendto(b" " * (EVENT_MAX * 4), app.events_sock)
        want = f"dropped an oversized datagram (over {EVENT_MAX} bytes) " \
            f"from pid {os.getpid()}"
        tb.wait_until(lambda: want in app.log_text(), 10,
                      desc="the drop to be logged")
        c.drain(0.5)
        assert not c.events, c.events
    assert app.status()["vpn"] == "stopped"
    # A datagram of the largest size is read whole: refused for its
    # sender, not for its size.
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as d:
        d.sendto(b" " * EVENT_MAX, app.events_sock)
    tb.wait_until(lambda: f"dropped a datagram from pid {os.getpid()}, "
                  "which is not our openvpn" in app.log_text(), 10,
                  desc="the second drop to be logged")
    assert app.log_text().count("dropped an oversized") == 1
    assert app.proc.alive()


def test_passthrough_long_line_is_refused(appliance):
    app = appliance
    wait_held(app)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(app.mgmt_path)
        assert s.recv(4096).startswith(b">INFO:")
        s.sendall(b"state " + b"1" * 2000)
        got = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass    # closed with the rest of the line unread
        assert got == b"ERROR: line too long (supportvpnd)\r\n", got
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(app.mgmt_path)
        assert s.recv(4096).startswith(b">INFO:")
        s.sendall(b"pid\n")
        assert s.recv(4096).startswith(b"SUCCESS: pid=")


AUTH_QUEUE_MAX = 32     # controller/auth.h


def test_logins_waiting_are_bounded(make_appliance):
    """Logins are checked one at a time (yescrypt on a worker); at most 32
    wait, more are answered busy at once, and every other one is decided.
    (Wrong passwords: after five the lock-out decides the rest quickly.)"""
    app = make_appliance()
    app.start()
    wait_held(app)
    assert app.call("start", wait=True, timeout_s=30,
                    timeout=40)["vpn"] == "connected"
    n = 64
    conns = [app.api(timeout=60, name=f"login{i}") for i in range(n)]
    try:
        for c in conns:
            c.send("auth", id=1, user="support", password="not it")
        answers = [c.wait_reply(1, timeout=60) for c in conns]
    finally:
        for c in conns:
            c.close()
    busy = [a for a in answers if a.get("ok") is False]
    decided = [a for a in answers if a.get("ok") is True and
               a["result"]["granted"] is False]
    assert busy, "no login was refused as busy"
    assert all(error_of(a)["code"] == "busy" and "too many logins are "
               "being checked" in error_of(a)["message"] for a in busy), busy
    assert len(busy) + len(decided) == n, answers
    assert len(decided) >= AUTH_QUEUE_MAX, len(decided)  # all queued are decided
    assert "auth: too many logins are being checked" in app.log_text()
    assert app.call("stop")["vpn"] == "stopped"
