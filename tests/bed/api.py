# SPDX-License-Identifier: MIT
"""A client of supportvpnd's JSON-lines API (docs/api.md).

The socket is created inside the appliance's namespace (see netns.in_netns),
so the test process itself never leaves the root namespace for long.
"""

import json
import socket
import time

from . import netns as nx

# The commands that change state and need the API token (as marked
# API_CHANGES in controller/api_req.c). ApiClient adds its token to these.
CHANGING_COMMANDS = frozenset({"start", "stop", "extend", "auth"})


def is_event(msg):
    """Events carry "event"; answers carry "ok" with "result" or "error".
    Neither alone tells them apart: a checks event has the checks set's
    own "ok" member, a peer event a "result" member."""
    return (isinstance(msg, dict) and "event" in msg and
            not ("ok" in msg and ("result" in msg or "error" in msg)))


class ApiError(RuntimeError):
    """An answer with "ok": false, or no answer at all."""

    def __init__(self, msg, answer=None):
        super().__init__(msg)
        self.answer = answer

    @property
    def code(self):
        return ((self.answer or {}).get("error") or {}).get("code")


class ApiClosed(ApiError):
    pass


class ApiClient:
    """One connection. Answers are matched to requests by id; events (after
    subscribe) are collected in self.events; answers without a matching
    waiter are kept in self.answers.

    `token` (the API token, or None) is added as "token" to every request
    of a command in CHANGING_COMMANDS that does not name one itself; a
    request that passes token=None is sent without one, token="..." with
    that one (on any command)."""

    def __init__(self, sock, timeout=10.0, name="api", token=None):
        self.sock = sock
        self.timeout = timeout
        self.name = name
        self.token = token
        self.buf = b""
        self.events = []          # every event seen
        self._unread_events = []  # events not yet consumed by wait_event
        self.answers = []         # non-event messages not yet claimed
        self.raw_lines = []       # lines that were not JSON (should be none)
        self.closed = False
        self._next_id = 1

    @classmethod
    def connect(cls, ns, host="127.0.0.1", port=7515, timeout=10.0, name="api",
                token=None):
        s = nx.connect_in(ns, host, port, timeout)
        return cls(s, timeout, name, token)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- raw I/O -------------------------------------------------------------
    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send_obj(self, obj):
        self.send_raw(json.dumps(obj).encode() + b"\n")

    def _read_line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ApiError(f"{self.name}: no complete line within the "
                               f"timeout (buffered {self.buf[:200]!r})")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                continue
            except ConnectionResetError as e:
                self.closed = True
                raise ApiClosed(f"{self.name}: connection reset: {e}")
            if not chunk:
                self.closed = True
                raise ApiClosed(f"{self.name}: connection closed by supportvpnd"
                                f" (buffered {self.buf[:200]!r})")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def _read_any(self, timeout):
        """The next message of any kind; events are also recorded."""
        line = self._read_line(time.monotonic() + timeout)
        try:
            msg = json.loads(line)
        except ValueError:
            self.raw_lines.append(line)
            raise ApiError(f"{self.name}: supportvpnd sent a line that is "
                           f"not JSON: {line[:300]!r}")
        if is_event(msg):
            self.events.append(msg)
            self._unread_events.append(msg)
        return msg

    def read_msg(self, timeout=None):
        """The next answer (events are collected on the way) as a dict."""
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        while True:
            msg = self._read_any(deadline - time.monotonic())
            if is_event(msg):
                continue
            return msg

    def wait_eof(self, timeout=None):
        """True once the server closed the connection (reading and keeping
        whatever comes before)."""
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        try:
            while True:
                self.answers.append(self.read_msg(deadline - time.monotonic()))
        except ApiClosed:
            return True
        except ApiError:
            return False

    # -- requests ------------------------------------------------------------
    def send(self, cmd, id=None, **args):
        """Sends a request without waiting; returns its id. The token: see
        the class."""
        if id is None:
            id = self._next_id
            self._next_id += 1
        if "token" in args:
            if args["token"] is None:
                del args["token"]
        elif cmd in CHANGING_COMMANDS and self.token is not None:
            args["token"] = self.token
        req = {"id": id, "cmd": cmd}
        req.update(args)
        self.send_obj(req)
        return id

    def wait_reply(self, id, timeout=None):
        """The answer carrying `id` (other answers are kept in .answers)."""
        for i, a in enumerate(self.answers):
            if isinstance(a, dict) and a.get("id") == id:
                return self.answers.pop(i)
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ApiError(f"{self.name}: no answer to request id {id!r}")
            msg = self.read_msg(left)
            if isinstance(msg, dict) and msg.get("id") == id:
                return msg
            self.answers.append(msg)

    def next_answer(self, timeout=None):
        """The next answer (not event), e.g. to a request sent without id."""
        if self.answers:
            return self.answers.pop(0)
        return self.read_msg(timeout)

    def request(self, cmd, timeout=None, **args):
        """Sends cmd with args, returns the whole answer dict."""
        return self.wait_reply(self.send(cmd, **args), timeout)

    def call(self, cmd, timeout=None, **args):
        """Like request, but returns "result" and raises ApiError on error."""
        a = self.request(cmd, timeout=timeout, **args)
        if a.get("ok") is not True:
            err = a.get("error") or {}
            raise ApiError(f"{cmd}: {err.get('code')}: {err.get('message')}", a)
        return a["result"]

    def status(self, timeout=None):
        return self.call("status", timeout=timeout)

    # -- events --------------------------------------------------------------
    def subscribe(self, events=None):
        args = {} if events is None else {"events": events}
        return self.call("subscribe", **args)

    def wait_event(self, pred=None, timeout=None, desc="event"):
        """The first unconsumed event for which pred(event) is true (the
        events before it are consumed too)."""
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        while True:
            for i, ev in enumerate(self._unread_events):
                if pred is None or pred(ev):
                    del self._unread_events[:i + 1]
                    return ev
            self._unread_events.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise ApiError(f"{self.name}: timed out waiting for {desc}; "
                               f"events seen: {self.events[-10:]}")
            try:
                msg = self._read_any(left)
            except ApiClosed:
                raise
            except ApiError as e:
                if "no complete line" in str(e):
                    continue
                raise
            if not is_event(msg):
                self.answers.append(msg)

    def drain(self, seconds):
        """Reads (and keeps) whatever arrives during `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                msg = self._read_any(left)
            except ApiClosed:
                return
            except ApiError as e:
                if "no complete line" in str(e):
                    return
                raise
            if not is_event(msg):
                self.answers.append(msg)
