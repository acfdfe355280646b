# SPDX-License-Identifier: MIT
"""A small client for openvpn's management protocol (unix socket).

Used by the bed's own checks (releasing a plain openvpn by hand) and by tests
of supportvpnd's operator pass-through socket, which speaks the same protocol.
"""

import socket
import time


class MgmtError(RuntimeError):
    pass


class MgmtClient:
    """Lines end in \\r\\n; lines starting with '>' are notifications and may
    arrive at any time; a command gets one SUCCESS:/ERROR: line or lines
    closed by END."""

    def __init__(self, path, timeout=5.0):
        self.path = path
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except BaseException:
            self.sock.close()
            raise
        self.buf = b""
        self.notifications = []   # every '>' line seen, in order
        self._unread = []         # '>' lines not yet consumed by wait_for
        self.closed = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise MgmtError(f"{self.path}: timed out waiting for a line "
                                f"(have {self.buf[:200]!r})")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                self.closed = True
                raise MgmtError(f"{self.path}: connection closed "
                                f"(have {self.buf[:200]!r})")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode(errors="replace")

    def read_line(self, timeout=None):
        """The next line of any kind (notifications are also recorded)."""
        line = self._read_line(time.monotonic() + (timeout or self.timeout))
        if line.startswith(">"):
            self.notifications.append(line)
        return line

    def wait_for(self, prefix, timeout=None, contains=None):
        """The first unconsumed notification starting with prefix (and
        containing `contains`, if given)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, n in enumerate(self._unread):
                if n.startswith(prefix) and (contains is None or contains in n):
                    del self._unread[:i + 1]
                    return n
            line = self._read_line(deadline)
            if line.startswith(">"):
                self.notifications.append(line)
                self._unread.append(line)

    def drain(self, seconds, until=None):
        """Reads whatever arrives during `seconds` (returning early once
        until(line) is true for a line); returns the lines read. A closed
        connection ends it early too (self.closed tells)."""
        deadline = time.monotonic() + seconds
        got = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            try:
                line = self._read_line(time.monotonic() + min(left, 0.5))
            except MgmtError:
                if self.closed:
                    return got
                continue
            got.append(line)
            if line.startswith(">"):
                self.notifications.append(line)
                self._unread.append(line)
            if until is not None and until(line):
                return got

    def command(self, cmd, timeout=None):
        """Sends cmd; returns its answer lines (one SUCCESS:/ERROR: line, or
        the block up to and excluding END). Notifications are set aside."""
        self.sock.sendall(cmd.encode() + b"\n")
        deadline = time.monotonic() + (timeout or self.timeout)
        lines = []
        while True:
            line = self._read_line(deadline)
            if line.startswith(">"):
                self.notifications.append(line)
                self._unread.append(line)
                continue
            if not lines and (line.startswith("SUCCESS:") or
                              line.startswith("ERROR:")):
                return [line]
            if line == "END":
                return lines
            lines.append(line)
