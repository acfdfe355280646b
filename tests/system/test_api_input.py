# SPDX-License-Identifier: MIT
"""Bad input on the JSON API (docs/api.md): each gets the documented error,
and the daemon keeps answering everyone else. One supportvpnd serves the
whole module; after every test it must still answer status, still be
stopped (no bad request may start the VPN) and still be the same process."""

import json
import os
import selectors
import socket
import time

import pytest

import bed as tb
from bed import netns as nx
from conftest import wait_held

MAX_LINE = 64 * 1024


@pytest.fixture(scope="module")
def app(net):
    if not os.access(tb.supportvpnd_path(), os.X_OK):
        pytest.fail(f"{tb.supportvpnd_path()} is missing: run make",
                    pytrace=False)
    a = tb.Appliance(net, tag="api-input")
    a.start()
    wait_held(a)
    yield a
    a.close()
    nx.kill_netns_processes(net.ns("dev"))
    from conftest import _check_daemon_exits
    _check_daemon_exits([a])


@pytest.fixture(autouse=True)
def still_alive(app):
    pid = app.proc.pid
    yield
    assert app.proc.alive(), f"supportvpnd died (exit {app.proc.returncode})"
    assert app.proc.pid == pid
    s = tb.wait_until(lambda: _status(app), 5, desc="status answered")
    assert s["vpn"] == "stopped", f"a bad request changed the state: {s}"
    assert s["start_when_possible"] is False


def error_of(answer):
    assert answer.get("ok") is False, answer
    err = answer.get("error")
    assert isinstance(err, dict), answer
    assert isinstance(err.get("message"), str) and err["message"], answer
    return err


# -- malformed lines ----------------------------------------------------------------

@pytest.mark.parametrize("line", [
    b"hello world",
    b"{not json",
    b"\xff\xfe\x00binary",
    b'{"cmd": "status"',
], ids=["text", "broken-json", "binary", "unterminated-object"])
def test_garbage_is_bad_request_and_connection_stays(app, line):
    with app.api(timeout=5) as c:
        c.send_raw(line + b"\n")
        a = c.next_answer()
        assert error_of(a)["code"] == "bad_request"
        assert "id" not in a, "an id was invented for a request without one"
        # The same connection still works.
        assert c.status()["vpn"] == "stopped"


@pytest.mark.parametrize("doc", ["[1, 2, 3]", '"status"', "42", "null",
                                 "true", "[]"])
def test_non_object_json_is_bad_request(app, doc):
    with app.api(timeout=5) as c:
        c.send_raw(doc.encode() + b"\n")
        assert error_of(c.next_answer())["code"] == "bad_request"
        assert c.status()["vpn"] == "stopped"


@pytest.mark.parametrize("req", [{"id": 7}, {"id": 7, "cmd": 5},
                                 {"id": 7, "cmd": None},
                                 {"id": 7, "cmd": ["status"]}])
def test_missing_or_non_string_cmd_is_bad_request(app, req):
    with app.api(timeout=5) as c:
        c.send_obj(req)
        a = c.wait_reply(7)
        assert error_of(a)["code"] == "bad_request"


def test_unknown_command(app):
    with app.api(timeout=5) as c:
        a = c.request("frobnicate")
        err = error_of(a)
        assert err["code"] == "unknown_command"


@pytest.mark.parametrize("id", ["x", 0, -1, 3.5, None, {"a": [1, "b"]},
                                [1, 2], True, "é✓"])
def test_any_id_is_echoed(app, id):
    with app.api(timeout=5) as c:
        c.send_obj({"id": id, "cmd": "status"})
        a = c.next_answer()
        assert "id" in a and a["id"] == id, a
        assert a["ok"] is True


def test_request_without_id_gets_answer_without_id(app):
    with app.api(timeout=5) as c:
        c.send_raw(b'{"cmd": "status"}\n')
        a = c.next_answer()
        assert a["ok"] is True and "id" not in a, a


def test_several_requests_in_one_write_answered_in_order(app):
    with app.api(timeout=5) as c:
        c.send_raw(b"".join(json.dumps({"id": i, "cmd": "status"}).encode()
                            + b"\n" for i in range(20)))
        ids = [c.next_answer()["id"] for _ in range(20)]
        assert ids == list(range(20))


# -- arguments -------------------------------------------------------------------------

@pytest.mark.parametrize("cmd,args,name", [
    ("start", {"wait": "yes"}, "wait"),
    ("start", {"wait": 1}, "wait"),
    ("start", {"when_possible": "true"}, "when_possible"),
    ("start", {"when_possible": None}, "when_possible"),
    ("start", {"timeout_s": "10"}, "timeout_s"),
    ("start", {"timeout_s": 0}, "timeout_s"),
    ("start", {"timeout_s": 3601}, "timeout_s"),
    ("start", {"timeout_s": -5}, "timeout_s"),
    ("start", {"bogus": 1}, "bogus"),
    ("stop", {"force": True}, "force"),
    ("status", {"verbose": True}, "verbose"),
    ("log", {"lines": 0}, "lines"),
    ("log", {"lines": 1001}, "lines"),
    ("log", {"lines": "5"}, "lines"),
    ("subscribe", {"events": "state"}, "events"),
    ("openvpn", {"command": 5}, "command"),
    ("openvpn", {}, "command"),
])
def test_bad_argument(app, cmd, args, name):
    with app.api(timeout=5) as c:
        a = c.request(cmd, **args)
        err = error_of(a)
        assert err["code"] == "bad_argument", a
        if args:
            assert name in err["message"], \
                f"the message does not name {name!r}: {err['message']!r}"


def test_start_with_bad_argument_does_not_persist(app):
    with app.api(timeout=5) as c:
        a = c.request("start", when_possible=True, wait="yes")
        assert error_of(a)["code"] == "bad_argument"
    time.sleep(0.3)
    assert not os.path.exists(app.settings_path) or \
        app.settings()["start_when_possible"] is False


@pytest.mark.parametrize("command", ["hold release", "hold off",
                                     "signal SIGTERM", "signal SIGUSR1",
                                     "exit", "kill 1", "state on",
                                     "log on all", "bytecount 1"])
def test_openvpn_write_commands_not_allowed(app, command):
    pid = app.status()["openvpn"]["pid"]
    with app.api(timeout=5) as c:
        assert error_of(c.request("openvpn", command=command))["code"] == \
            "not_allowed"
    s = app.status()
    assert s["openvpn"]["pid"] == pid and s["openvpn"]["held"] is True


def test_openvpn_read_only_commands(app):
    s = app.status()
    r = app.call("openvpn", command="pid")
    assert r["command"] == "pid"
    assert f"SUCCESS: pid={s['openvpn']['pid']}" in r["lines"], r
    r = app.call("openvpn", command="version")
    assert any(ln.startswith("OpenVPN Version: OpenVPN 2.6") for ln in
               r["lines"]), r
    r = app.call("openvpn", command="state all")
    assert r["lines"] and all(ln.split(",")[1].isupper() for ln in r["lines"])


def test_version_and_log(app):
    v = app.call("version")
    assert v["supportvpnd"] == "0.1.0"
    assert v["openvpn"] is None or v["openvpn"].startswith("2.6"), v
    assert isinstance(v["libuv"], str) and isinstance(v["jansson"], str)
    r = app.call("log", lines=5)
    assert isinstance(r["lines"], list) and 1 <= len(r["lines"]) <= 5
    r = app.call("log")
    assert len(r["lines"]) <= 100


# -- limits -----------------------------------------------------------------------------

def test_line_over_64k_is_refused_and_closed(app):
    with app.api(timeout=10) as c:
        big = b'{"cmd": "status", "id": "' + b"x" * (MAX_LINE + 4096) + b'"}\n'
        try:
            c.send_raw(big)
        except (BrokenPipeError, ConnectionResetError):
            pass     # it may close before reading it all; the answer counts
        a = c.next_answer()
        assert error_of(a)["code"] == "line_too_long"
        assert c.wait_eof(5), "the connection stayed open after line_too_long"


def test_line_over_64k_without_newline(app):
    with app.api(timeout=10) as c:
        try:
            c.send_raw(b"y" * (MAX_LINE + 4096))
        except (BrokenPipeError, ConnectionResetError):
            pass
        a = c.next_answer()
        assert error_of(a)["code"] == "line_too_long"
        assert c.wait_eof(5)


def test_long_line_under_the_limit_is_fine(app):
    pad = "p" * (MAX_LINE // 2)
    with app.api(timeout=10) as c:
        c.send_obj({"id": pad, "cmd": "status"})
        a = c.next_answer()
        assert a["ok"] is True and a["id"] == pad


def test_pipelined_requests_with_large_answers_all_answered(app):
    # Found by fuzz_api_req: the requests of one read were all answered
    # into the write queue at once, and a client that reads, only later
    # than supportvpnd writes, was closed as one that does not read
    # (API_MAX_BACKLOG, 1 MiB).
    with app.api(timeout=60) as c:
        # A full log ring of long lines: each "log" answer is ~200 KB.
        c.send_raw(b"".join(b'{"cmd": "no-such-command-%d"}\n' % i
                            for i in range(1000)))
        for _ in range(1000):
            assert error_of(c.next_answer())["code"] == "unknown_command"
    with app.api(timeout=60) as c:
        # 300 of them (60 MB) in one write of 11 KB, read a second later:
        # far more than the kernel's socket buffers hold.
        n = 300
        c.send_raw(b"".join(json.dumps({"id": i, "cmd": "log",
                                        "lines": 1000}).encode() + b"\n"
                            for i in range(n)))
        time.sleep(1)
        ids = [c.next_answer()["id"] for _ in range(n)]
        assert ids == list(range(n))


def test_200_concurrent_clients_all_answered(app):
    socks = []
    try:
        for i in range(200):
            socks.append(nx.connect_in(app.ns, "127.0.0.1", app.api_port, 10))
        for i, s in enumerate(socks):
            s.sendall(json.dumps({"id": i, "cmd": "status"}).encode() + b"\n")
        sel = selectors.DefaultSelector()
        bufs = {}
        for i, s in enumerate(socks):
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, i)
            bufs[i] = b""
        answered = {}
        deadline = time.monotonic() + 20
        while len(answered) < len(socks) and time.monotonic() < deadline:
            for key, _ in sel.select(0.5):
                i = key.data
                try:
                    chunk = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                bufs[i] += chunk
                if b"\n" in bufs[i]:
                    answered[i] = json.loads(bufs[i].split(b"\n")[0])
                    sel.unregister(key.fileobj)
        missing = sorted(set(range(len(socks))) - set(answered))
        assert not missing, f"{len(missing)} of 200 clients got no answer"
        for i, a in answered.items():
            assert a.get("id") == i and a.get("ok") is True, a
    finally:
        for s in socks:
            s.close()


def test_silent_and_half_line_clients_do_not_block_others(app):
    silent = nx.connect_in(app.ns, "127.0.0.1", app.api_port, 5)
    half = app.api(timeout=5)
    try:
        half.send_raw(b'{"id": 1, "cmd": "sta')
        t0 = time.monotonic()
        for _ in range(5):
            assert app.status(timeout=3)["vpn"] == "stopped"
        assert time.monotonic() - t0 < 3
        half.send_raw(b'tus"}\n')
        assert half.wait_reply(1)["ok"] is True
        # The silent one is kept (it may be a subscriber).
        silent.settimeout(0.5)
        with pytest.raises(socket.timeout):
            silent.recv(1)
    finally:
        silent.close()
        half.close()


def test_max_clients_one_more_gets_busy(app):
    socks = []
    try:
        for i in range(256):
            socks.append(nx.connect_in(app.ns, "127.0.0.1", app.api_port, 10))
        # Make sure all are accepted before the extra one.
        socks[-1].sendall(b'{"id": "last", "cmd": "status"}\n')
        with tb.ApiClient(socks[-1], timeout=10) as last:
            assert last.wait_reply("last")["ok"] is True
            socks.pop()
            extra = app.api(timeout=10)
            a = extra.next_answer()
            assert error_of(a)["code"] == "busy"
            assert extra.wait_eof(5)
            extra.close()
    finally:
        for s in socks:
            s.close()
    # Once they are gone, new clients are served again.
    tb.wait_until(lambda: _status_ok(app), 5, desc="a client served again")


def _status(app):
    try:
        return app.status(timeout=2)
    except (OSError, tb.ApiError):
        return None


def _status_ok(app):
    try:
        return app.status(timeout=2)["vpn"] == "stopped"
    except (OSError, tb.ApiError):
        return False


def test_client_vanishing_mid_request(app):
    """Clients that disconnect right after a request, or with a waiting
    request, are cleaned up quietly."""
    for _ in range(20):
        s = nx.connect_in(app.ns, "127.0.0.1", app.api_port, 5)
        s.sendall(b'{"id": 1, "cmd": "status"}\n{"id": 2, "cmd": "log"}\n')
        s.close()
    s = nx.connect_in(app.ns, "127.0.0.1", app.api_port, 5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00"
                 b"\x00\x00\x00\x00")    # close with RST
    s.sendall(b'{"id": 1, "cmd": "subscribe"}\n')
    s.close()
    assert app.status()["vpn"] == "stopped"
