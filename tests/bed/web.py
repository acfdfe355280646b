# SPDX-License-Identifier: MIT
"""A client of supportvpnd's HTTP interface (README "HTTP interface"), on
Python's http.client over a socket made inside the appliance's namespace.

Requests carry the Host the daemon expects (127.0.0.1:<port>) unless the
caller gives one; POSTs carry our own Origin unless origin=None. The
session cookie a login sets is kept and sent back, as a browser would.
"""

import http.client
import json

from . import netns as nx


class Answer:
    """One HTTP answer: status, headers (lower-case names; repeated ones
    joined with ", "), body (bytes), and the raw header list."""

    def __init__(self, resp, body):
        self.status = resp.status
        self.raw_headers = resp.getheaders()
        self.headers = {}
        for k, v in self.raw_headers:
            k = k.lower()
            self.headers[k] = (self.headers[k] + ", " + v
                               if k in self.headers else v)
        self.body = body

    def json(self):
        return json.loads(self.body)

    def error_code(self):
        try:
            return (self.json().get("error") or {}).get("code")
        except ValueError:
            return None

    def __repr__(self):
        return (f"<HTTP {self.status} {self.headers.get('content-type')} "
                f"{self.body[:200]!r}>")


class WebClient:
    """Requests to http://127.0.0.1:<port> inside namespace `ns`."""

    def __init__(self, ns, port, host="127.0.0.1", timeout=10.0):
        self.ns, self.port, self.host, self.timeout = ns, port, host, timeout
        self.origin = f"http://{host}:{port}"
        self.cookies = {}

    def connection(self, timeout=None):
        """A connected http.client.HTTPConnection (keep-alive capable)."""
        c = http.client.HTTPConnection(self.host, self.port,
                                       timeout=timeout or self.timeout)
        c.sock = nx.connect_in(self.ns, self.host, self.port,
                               timeout or self.timeout)
        return c

    def cookie_header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(self, method, path, body=None, headers=None, origin=True,
                conn=None, timeout=None, cookies=True):
        """One request; a fresh connection unless `conn` is given. `body`
        may be bytes, str or a dict (sent as JSON). Returns an Answer and
        keeps any svpn_session cookie set."""
        hdrs = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        if origin is True:
            origin = self.origin if method == "POST" else None
        if origin and "Origin" not in hdrs:
            hdrs["Origin"] = origin
        if cookies and self.cookies and "Cookie" not in hdrs:
            hdrs["Cookie"] = self.cookie_header()
        own = conn is None
        c = conn or self.connection(timeout)
        try:
            c.request(method, path, body=body, headers=hdrs)
            resp = c.getresponse()
            data = resp.read()
            ans = Answer(resp, data)
        finally:
            if own:
                c.close()
        for k, v in ans.raw_headers:
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                value = rest.split(";", 1)[0]
                if value:
                    self.cookies[name.strip()] = value
                else:
                    self.cookies.pop(name.strip(), None)
        return ans

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def login(self, token, **kw):
        """POST /login as the page's form does."""
        return self.post("/login", body=f"token={token}", headers={
            "Content-Type": "application/x-www-form-urlencoded"}, **kw)


class EventStream:
    """GET /api/events, read incrementally: events() yields (name, data)
    with data parsed as JSON; comments are counted."""

    def __init__(self, web, timeout=30.0, headers=None):
        self.conn = web.connection(timeout)
        hdrs = dict(headers or {})
        self.conn.request("GET", "/api/events", headers=hdrs)
        self.resp = self.conn.getresponse()
        self.comments = 0

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def next_event(self):
        """The next (name, data); raises on end of stream or timeout."""
        name, data = None, []
        while True:
            line = self.resp.readline()
            if not line:
                raise EOFError("the event stream ended")
            line = line.decode().rstrip("\r\n")
            if line == "":
                if name is not None or data:
                    return name, json.loads("\n".join(data))
                continue
            if line.startswith(":"):
                self.comments += 1
            elif line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
