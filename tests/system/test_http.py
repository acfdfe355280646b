# SPDX-License-Identifier: MIT
"""Issue #8: supportvpnd's HTTP interface on the real bed, with Python's
http.client from inside the appliance's namespace.

Every security check has its test here: the Host check (DNS rebinding),
the Origin check on GET and POST and the same-origin rule for POSTs
(CSRF), the page session that state changes need, the API token login
and its rate limit, the security headers on every answer, the page's
root (no traversal, no symbolic link out of it), the client limit, and
that http.listen "" leaves nothing listening. Also: the event stream and
the endpoints that mirror the API.
"""

import os
import re
import shutil
import socket
import tempfile
import time

import pytest

import bed as tb
from bed import netns as nx
from conftest import wait_held

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
INDEX = b"<!doctype html><title>test root</title><p>hello</p>\n"
SECRET = b"SECRET-OUTSIDE-THE-ROOT\n"
ALLOWED_HOST = "support.example:8443"


@pytest.fixture
def www(net):
    """A minimal page root (until the page's www/ exists) with traps: a
    file next to the root, symbolic links out of it and inside it, a
    hidden file, a directory and a type that is not served."""
    d = tempfile.mkdtemp(prefix="www-", dir=net.dir)
    root = os.path.join(d, "www")
    os.makedirs(os.path.join(root, "dir"))
    files = {"index.html": INDEX, "page.css": b"body { margin: 0 }\n",
             "page.js": b"'use strict';\n", "icon.svg": b"<svg/>\n",
             ".hidden.html": SECRET, "run.sh": SECRET,
             "dir/inner.html": b"<p>inner</p>\n"}
    for name, data in files.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
    with open(os.path.join(d, "secret.html"), "wb") as f:
        f.write(SECRET)
    os.symlink("../secret.html", os.path.join(root, "leak.html"))
    os.symlink("/etc/passwd", os.path.join(root, "passwd.html"))
    os.symlink("index.html", os.path.join(root, "inside.html"))
    yield root
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def make_web(make_appliance, www):
    """An appliance with HTTP on its http_port and the test root; extra
    config merged into "http"."""
    def make(**http):
        cfg = {"http": dict({"root": www, "allowed_hosts": [ALLOWED_HOST]},
                            **http)}
        a = make_appliance(config_extra=cfg)
        a.start()
        return a
    return make


@pytest.fixture
def web_app(make_web):
    return make_web()


def assert_security_headers(ans, what):
    for k, v in SECURITY_HEADERS.items():
        assert ans.headers.get(k) == v, \
            f"{what}: {k} is {ans.headers.get(k)!r}, want {v!r} ({ans})"
    cors = [k for k in ans.headers if k.startswith("access-control-")]
    assert not cors, f"{what}: CORS headers {cors}"


def raw_request(app, data, timeout=10):
    """Sends raw bytes on a fresh connection; returns all it gets back
    until the server closes (or the timeout)."""
    s = nx.connect_in(app.ns, "127.0.0.1", app.http_port, timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


# -- the page and its headers -------------------------------------------------

def test_page_served_with_types_and_headers(web_app):
    w = web_app.web()
    a = w.get("/")
    assert a.status == 200, a
    assert a.body == INDEX
    assert a.headers["content-type"] == "text/html; charset=utf-8"
    assert_security_headers(a, "GET /")
    for path, ctype in (("/page.css", "text/css; charset=utf-8"),
                        ("/page.js", "text/javascript; charset=utf-8"),
                        ("/icon.svg", "image/svg+xml"),
                        ("/index.html", "text/html; charset=utf-8"),
                        ("/dir/inner.html", "text/html; charset=utf-8"),
                        ("/inside.html", "text/html; charset=utf-8")):
        a = w.get(path)
        assert a.status == 200, (path, a)
        assert a.headers["content-type"] == ctype, (path, a)
    # HEAD: the headers, no body.
    a = w.request("HEAD", "/")
    assert a.status == 200 and a.body == b"", a
    assert_security_headers(a, "HEAD /")


def test_security_headers_on_every_answer(web_app):
    """Successes, our errors and h2o's own (a body over the limit)."""
    w = web_app.web()
    wait_held(web_app)
    port = web_app.http_port
    cases = [
        ("GET /", lambda: w.get("/"), 200),
        ("GET /api/status", lambda: w.get("/api/status"), 200),
        ("GET /api/whoami", lambda: w.get("/api/whoami"), 200),
        ("GET missing file", lambda: w.get("/missing.html"), 404),
        ("GET missing endpoint", lambda: w.get("/api/missing"), 404),
        ("DELETE /", lambda: w.request("DELETE", "/"), 405),
        ("GET /api/start", lambda: w.get("/api/start"), 405),
        ("bad argument", lambda: w.get("/api/history?limit=0"), 400),
        ("wrong Host", lambda: w.get("/", headers={
            "Host": f"evil.example:{port}"}), 421),
        ("foreign Origin", lambda: w.get("/api/status",
                                         origin="http://evil.example"), 403),
        ("POST without Origin", lambda: w.post("/api/stop", origin=None),
         403),
        ("POST without session", lambda: w.post("/api/start"), 403),
    ]
    for what, do, status in cases:
        a = do()
        assert a.status == status, f"{what}: {a}"
        assert_security_headers(a, what)
        if status >= 400 and status != 413:
            assert a.error_code(), f"{what}: no JSON error: {a}"
    for path in ("/api/status", "/api/missing", "/api/history?limit=0"):
        a = w.get(path)
        assert a.headers.get("cache-control") == "no-store", (path, a)
    # h2o's own answer to a body over the limit (announced, not sent).
    out = raw_request(web_app, (
        f"POST /api/start HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Origin: http://127.0.0.1:{port}\r\nContent-Length: 70000\r\n"
        "\r\n").encode())
    head = out.split(b"\r\n\r\n", 1)[0].decode().lower()
    assert head.startswith("http/1.1 413 "), out[:300]
    for k, v in SECURITY_HEADERS.items():
        assert f"\r\n{k}: {v.lower()}" in head, (k, head)


# -- DNS rebinding ----------------------------------------------------------------

def test_host_check(web_app):
    w = web_app.web()
    port = web_app.http_port
    for host in (f"evil.example:{port}", f"localhost:{port + 1}",
                 "localhost", f"127.0.0.1:{port}.evil.example",
                 f"127.0.0.2:{port}"):
        a = w.get("/api/status", headers={"Host": host})
        assert a.status == 421, (host, a)
        assert a.error_code() == "misdirected", (host, a)
        a = w.get("/", headers={"Host": host})
        assert a.status == 421 and INDEX not in a.body, (host, a)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}",
                 f"LocalHost:{port}", f"[::1]:{port}", ALLOWED_HOST):
        a = w.get("/api/status", headers={"Host": host})
        assert a.status == 200, (host, a)
    # No Host at all (HTTP/1.0).
    out = raw_request(web_app, b"GET /api/status HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 421 "), out[:200]
    assert "not this server's name" in web_app.log_text()


# -- CSRF ---------------------------------------------------------------------------

def test_foreign_origin_refused_on_get_and_post(web_app):
    w = web_app.web()
    wait_held(web_app)
    port = web_app.http_port
    for origin in ("http://evil.example", f"http://localhost:{port + 1}",
                   f"https://127.0.0.1:{port}", "null"):
        for method, path in (("GET", "/api/status"), ("GET", "/"),
                             ("GET", "/api/events"), ("POST", "/api/start"),
                             ("POST", "/api/stop"), ("POST", "/logout")):
            a = w.request(method, path, origin=origin)
            assert a.status == 403, (origin, method, path, a)
            assert a.error_code() == "forbidden", (origin, method, path, a)
            assert "own page" in a.json()["error"]["message"], a
    # Our own origins pass (the GET, and the POST up to the session).
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}",
                   f"http://{ALLOWED_HOST}"):
        assert w.get("/api/status", origin=origin).status == 200, origin
    # Two Origin headers are one too many.
    out = raw_request(web_app, (
        f"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Origin: http://127.0.0.1:{port}\r\nOrigin: http://evil.example\r\n"
        "Connection: close\r\n\r\n").encode())
    assert out.startswith(b"HTTP/1.1 403 "), out[:200]
    assert "a foreign Origin" in web_app.log_text()
    assert web_app.status()["vpn"] == "stopped"


def test_post_needs_origin_or_same_origin_referer(web_app):
    w = web_app.web()
    wait_held(web_app)
    port = web_app.http_port
    a = w.post("/api/stop", origin=None)
    assert a.status == 403 and "own page" in a.body.decode(), a
    a = w.post("/logout", origin=None)
    assert a.status == 403, a
    a = w.post("/api/stop", origin=None, headers={
        "Referer": "http://evil.example/page"})
    assert a.status == 403 and "own page" in a.body.decode(), a
    # A same-origin Referer stands in for Origin: the request gets as far
    # as the session check.
    a = w.post("/api/stop", origin=None, headers={
        "Referer": f"http://127.0.0.1:{port}/"})
    assert a.status == 403 and "log in" in a.body.decode(), a
    assert "without Origin or Referer" in web_app.log_text()


def test_state_change_without_session_keeps_vpn_held(web_app):
    w = web_app.web()
    wait_held(web_app)
    forged = "0" * 64
    for body in (None, {"when_possible": True}, {"wait": True}):
        for cookie in (None, f"svpn_session={forged}", "svpn_session="):
            hdrs = {"Cookie": cookie} if cookie else {}
            a = w.post("/api/start", body=body, headers=hdrs)
            assert a.status == 403, (body, cookie, a)
            assert a.error_code() == "forbidden", a
            assert "log in" in a.json()["error"]["message"], a
    a = w.post("/api/extend", body={"duration_s": 600})
    assert a.status == 403, a
    assert w.get("/api/whoami").json() == {"session": False}
    time.sleep(1)   # a start that got through would be under way now
    s = wait_held(web_app)
    assert s["vpn"] == "stopped", s
    assert s["start_when_possible"] is False, s
    # Nothing was persisted: no settings at all, or "off".
    assert not os.path.exists(web_app.settings_path) or \
        not web_app.settings().get("start_when_possible"), \
        web_app.settings()


# -- the page session: the API token, once ------------------------------------

COOKIE_RE = re.compile(r"^svpn_session=([0-9a-f]{64}); HttpOnly; "
                       r"SameSite=Strict; Path=/$")


def set_cookies(ans):
    return [v for k, v in ans.raw_headers if k.lower() == "set-cookie"]


def test_wrong_token_login_fails_and_is_rate_limited(web_app):
    wait_held(web_app)
    token = web_app.token()
    assert token and len(token) == 64
    w = web_app.web()
    wrong = "0" * 64
    # Wrong, then missing (another field; an empty body), then wrong.
    tries = [lambda: w.login(wrong),
             lambda: w.post("/login", body="user=x", headers={
                 "Content-Type": "application/x-www-form-urlencoded"}),
             lambda: w.post("/login", body=""),
             lambda: w.login(token[:-1] + ("0" if token[-1] != "0" else "1")),
             lambda: w.login(wrong)]
    for i, do in enumerate(tries):
        a = do()
        assert a.status == 303, (i, a)
        assert a.headers.get("location") == "/?login=failed", (i, a)
        assert not set_cookies(a), (i, a.raw_headers)
        assert w.get("/api/whoami").json() == {"session": False}
    log = web_app.log_text()
    assert "login refused: wrong API token" in log
    assert "login refused: no API token" in log
    assert "refusing them for 60 s" in log, "the 5th failure locks out"
    # Locked out: the right token is not even compared now ...
    a = w.login(token)
    assert a.status == 303 and a.headers["location"] == "/?login=failed", a
    assert not set_cookies(a)
    assert "login refused: locked out" in web_app.log_text()
    # ... and the limiter is the API's: this uid is refused there too.
    r = web_app.request("start")
    assert r.get("ok") is False and r["error"]["code"] == "forbidden", r
    assert "too many" in r["error"]["message"], r
    # Never a token in the log, right or wrong.
    log = web_app.log_text()
    assert token not in log and wrong not in log
    assert web_app.status()["vpn"] == "stopped"


def test_login_session_start_and_stop(web_app, net):
    wait_held(web_app)
    token = web_app.token()
    w = web_app.web()
    a = w.login(token)
    assert a.status == 303 and a.headers.get("location") == "/", a
    cookies = set_cookies(a)
    assert len(cookies) == 1 and COOKIE_RE.match(cookies[0]), cookies
    assert token not in a.body.decode(errors="replace")
    assert token not in str(a.raw_headers)
    assert w.get("/api/whoami").json() == {"session": True}
    assert "logged in with the API token" in web_app.log_text()

    # The cookie alone is not enough: CSRF checks still apply.
    a = w.post("/api/start", origin="http://evil.example")
    assert a.status == 403 and a.error_code() == "forbidden", a
    a = w.post("/api/start", origin=None)
    assert a.status == 403, a
    time.sleep(0.5)
    assert web_app.status()["vpn"] == "stopped"

    with tb.EventStream(w, timeout=60) as es:
        assert es.next_event()[0] == "status"
        a = w.post("/api/start", body={"wait": True, "timeout_s": 30},
                   timeout=60)
        assert a.status == 200, a
        st = a.json()
        assert st["vpn"] == "connected", st
        assert st["tunnel"]["local_ip"].startswith("203.0.113."), st
        seen = []
        while "connected" not in seen:
            name, data = es.next_event()
            if name == "state":
                seen.append(data["vpn"])
        assert "starting" in seen, seen
    rec = next(r for r in web_app.call("history")["records"]
               if r["event"] == "activated")
    assert rec["by"]["via"] == "http", rec
    assert re.match(r"^web page \(127\.0\.0\.1:\d+\)$", rec["by"]["as"]), rec
    assert rec["by"]["uid"] == 0, rec

    a = w.post("/api/extend", body={"duration_s": 600})
    assert a.status == 200 and a.json()["vpn"] == "connected", a
    a = w.post("/api/extend", body={"duration_s": -1})
    assert a.status == 400 and a.error_code() == "bad_argument", a
    a = w.post("/api/stop", timeout=30)
    assert a.status == 200 and a.json()["vpn"] == "stopped", a
    a = w.post("/api/extend", body={"duration_s": 600})
    assert a.status == 409 and a.error_code() == "not_active", a

    old = dict(w.cookies)
    a = w.post("/logout")
    assert a.status == 303 and a.headers.get("location") == "/", a
    assert any(c.startswith("svpn_session=;") and "Max-Age=0" in c
               for c in set_cookies(a)), a.raw_headers
    assert w.get("/api/whoami").json() == {"session": False}
    a = w.post("/api/start", headers={
        "Cookie": f"svpn_session={old['svpn_session']}"})
    assert a.status == 403, "a session ended by logout still works"
    assert web_app.status()["vpn"] == "stopped"


# -- the page's root ------------------------------------------------------------

def test_no_file_outside_the_root(web_app):
    w = web_app.web()
    for path in ("/leak.html", "/passwd.html", "/../secret.html",
                 "/%2e%2e/secret.html", "/dir/../../secret.html",
                 "/dir/%2e%2e/%2e%2e/secret.html", "/.hidden.html",
                 "/run.sh", "/dir", "/dir/", "/%2fetc%2fpasswd",
                 "//etc/passwd", "/dir\\..\\..\\secret.html"):
        a = w.get(path)
        assert a.status == 404, (path, a)
        assert SECRET not in a.body and b"root:" not in a.body, (path, a)
        assert_security_headers(a, path)
    # Raw, so nothing on the way normalises the path.
    out = raw_request(web_app, (
        f"GET /../secret.html HTTP/1.1\r\nHost: 127.0.0.1:"
        f"{web_app.http_port}\r\nConnection: close\r\n\r\n").encode())
    assert out.startswith(b"HTTP/1.1 404 "), out[:200]
    assert SECRET not in out


# -- the API over HTTP -----------------------------------------------------------

def test_read_only_endpoints_mirror_the_api(web_app):
    w = web_app.web()
    s = wait_held(web_app)
    a = w.get("/api/status")
    assert a.status == 200 and a.headers["content-type"] == \
        "application/json", a
    st = a.json()
    assert st["vpn"] == s["vpn"] and st["openvpn"]["pid"] == \
        s["openvpn"]["pid"], (st, s)
    assert w.get("/api/version").json() == web_app.call("version")
    c = w.get("/api/checks").json()
    assert set(c) >= {"ok", "items"}, c
    c = w.get("/api/checks?refresh=1", timeout=30).json()
    assert [i["name"] for i in c["items"]][:2] == \
        ["gateway_assigned", "gateway_reachable"], c
    h = w.get("/api/history?limit=5").json()
    assert h == web_app.call("history", limit=5), h
    # The API's own argument checks, as HTTP 400 with its code.
    for path, word in (("/api/history?limit=0", "limit"),
                       ("/api/history?bogus=1", "bogus"),
                       ("/api/checks?refresh=maybe", "refresh"),
                       ("/api/history?limit=%zz", "query")):
        a = w.get(path)
        assert a.status == 400, (path, a)
        assert word in a.json()["error"]["message"], (path, a)


# -- the event stream --------------------------------------------------------------

def test_events_status_first_then_state_during_start(web_app, net):
    wait_held(web_app)
    w = web_app.web()
    with tb.EventStream(w, timeout=60) as es:
        assert es.resp.status == 200
        assert es.resp.getheader("content-type").startswith(
            "text/event-stream")
        assert es.resp.getheader("x-frame-options") == "DENY"
        name, data = es.next_event()
        assert name == "status", (name, data)
        assert data["vpn"] == "stopped" and "openvpn" in data, data
        a = web_app.request("start", wait=True, timeout_s=30, timeout=40)
        assert a.get("ok") is True, a
        seen = []
        while "connected" not in seen:
            name, data = es.next_event()
            assert data.get("event") == name, (name, data)
            if name == "state":
                seen.append(data["vpn"])
        assert "starting" in seen, seen
        web_app.call("stop", timeout=30)
        while True:
            name, data = es.next_event()
            if name == "state" and data["vpn"] == "stopped":
                break


def test_event_stream_that_does_not_read_is_dropped(web_app):
    """A stream more than 1 MiB behind is cut; the others go on. The bed
    logs at debug level, so each API connection opened and closed is two
    log events."""
    wait_held(web_app)
    w = web_app.web()
    s = nx.socket_in(web_app.ns)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect(("127.0.0.1", web_app.http_port))
    try:
        s.sendall((f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:"
                   f"{web_app.http_port}\r\n\r\n").encode())
        with tb.EventStream(w, timeout=60) as reader:
            assert reader.next_event()[0] == "status"
            made = 0
            while "dropping the event stream" not in web_app.log_text():
                assert made < 40000, "the stream that does not read " \
                    "was never dropped"
                for _ in range(500):
                    nx.connect_in(web_app.ns, "127.0.0.1",
                                  web_app.api_port, 10).close()
                made += 500
            # The reading stream was not dropped: it gets what happens
            # after the drop.
            w.get("/api/history?after_the_drop=1")
            while True:
                name, data = reader.next_event()
                if name == "log" and "after_the_drop" in data["message"]:
                    break
        assert web_app.log_text().count("dropping the event stream") == 1
        # The dropped one ends: what it can still read, then EOF.
        s.settimeout(10)
        while s.recv(65536):
            pass
    finally:
        s.close()
    assert "it does not read what it is sent" in web_app.log_text()


# -- limits ----------------------------------------------------------------------

def test_too_many_clients_refused_cleanly(make_web):
    app = make_web(max_clients=2)
    w = app.web()
    held = [w.connection(), w.connection()]
    try:
        for c in held:
            assert w.get("/api/status", conn=c).status == 200
        a = w.get("/api/status")
        assert a.status == 503, a
        assert a.error_code() == "busy", a
        assert a.headers.get("connection") == "close", a
        assert_security_headers(a, "refused connection")
        assert "http.max_clients" in app.log_text()
        # The kept connections still work.
        assert w.get("/api/status", conn=held[0]).status == 200
    finally:
        held.pop().close()
    # One slot free again: served once the daemon saw the close.
    tb.wait_until(lambda: w.get("/api/status").status == 200, 10,
                  desc="a connection served after one closed")
    held[0].close()
    assert app.status()["vpn"] in ("stopped", "failed")


def test_http_off_listens_nowhere(make_web):
    app = make_web(listen="")
    wait_held(app)
    for port in (app.http_port, 7516):
        with pytest.raises(ConnectionRefusedError):
            nx.connect_in(app.ns, "127.0.0.1", port, 5).close()
    assert 'http: off (http.listen is "")' in app.log_text()
    assert app.status()["vpn"] == "stopped"


def test_default_listen_is_7516(make_appliance, www):
    """Without http.listen the page is on 127.0.0.1:7516."""
    app = make_appliance(http_port=7516, api_port=7515,
                         config_extra={"http": {"root": www}})
    del app.config["http"]["listen"]
    app.write_config()
    app.start()
    a = tb.WebClient(app.ns, 7516).get("/")
    assert a.status == 200 and a.body == INDEX, a
