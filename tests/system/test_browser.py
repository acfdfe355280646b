# SPDX-License-Identifier: MIT
"""The owner's page in a real browser (issue #8): Debian's chromium,
headless, in the appliance's namespace (tests/bed/browser.py), against the
real supportvpnd serving the tree's www/ (http.root), with the real
openvpn, plugin and hub of the bed.

Screenshots of the states the owner sees are kept in
<build>/artefacts/browser/ (stopped, starting, connected, refused, ...).
Every test also checks that the page itself complained of nothing: no
uncaught exception, no console error, no Content-Security-Policy
violation.
"""

import contextlib
import http.server
import json
import os
import threading

import pytest

import bed as tb
from bed import netns as nx
from bed.browser import Browser
from conftest import wait_held

FOREIGN_PORT = 7600
WWW = os.path.join(tb.appliance.REPO, "www")
HUB_CN = "hub1.support.example"
CHECK_NAMES = ["gateway_assigned", "gateway_reachable", "public_ip",
               "dns_server", "dns_resolution", "cloud_reachable", "clock"]


def artefact(name):
    """Where a screenshot is kept: <build>/artefacts/browser/<name>.png."""
    d = os.path.join(tb.build_dir(), "artefacts", "browser")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name + ".png")


@pytest.fixture
def page_app(make_appliance):
    """supportvpnd with the plugin, its HTTP interface (the bed's
    127.0.0.1:<http_port>) serving the tree's www/, openvpn held."""
    if not os.path.exists(tb.plugin_path()):
        pytest.fail(f"{tb.plugin_path()} is missing: build it first (make)",
                    pytrace=False)
    app = make_appliance(plugin=True, config_extra={"http": {"root": WWW}})
    app.start()
    wait_held(app)
    return app


@pytest.fixture
def make_browser(net, page_app):
    """make_browser(lang="en-US"): chromium in the appliance's namespace;
    closed (and its profile removed) after the test."""
    made = []

    def make(lang="en-US"):
        b = Browser(net.ns("dev"), page_app.dir, lang=lang,
                    name=f"chromium-{len(made) + 1}")
        made.append(b)
        net.extra_logs[f"{page_app.tag}/{os.path.basename(b.out_path)}"] = \
            b.out_path
        return b.start()
    yield make
    for b in made:
        b.close()


@pytest.fixture
def browser(make_browser):
    return make_browser()


# -- helpers ---------------------------------------------------------------------

def page_url(app):
    return f"http://127.0.0.1:{app.http_port}/"


def open_page(b, app):
    """Loads the page and waits until it shows supportvpnd's state."""
    b.navigate(page_url(app))
    b.wait_js("document.getElementById('vpn-state').dataset.vpn !== "
              "'unknown'", desc="the page to show the VPN's state")


def vpn_shown(b):
    return b.attr("#vpn-state", "data-vpn")


def message(b):
    return b.attr("#message", "data-kind"), b.text("#message")


def wait_message(b, kinds=("ok", "error"), timeout=60):
    """Waits until the last action ended (its message is ok or error);
    returns (kind, text)."""
    b.wait_js("['%s'].indexOf(document.getElementById('message').dataset."
              "kind) >= 0" % "','".join(kinds), timeout,
              desc=f"the action's message to be one of {kinds}")
    return message(b)


def log_in(b, app):
    """Logs in through the page's form with the appliance's API token."""
    token = app.token()
    assert token, "supportvpnd made no API token"
    b.wait_selector("#login-form")
    assert b.eval("document.getElementById('actions').hidden") is True, \
        "the actions are shown without a login"
    b.type("#token", token)
    b.click("#login-form button[type=submit]")
    b.wait_selector("#btn-start", timeout=15)
    assert b.eval("document.getElementById('login-form').hidden") is True


def lights(b):
    """{check name: data-ok} as the page shows them."""
    return b.eval("(function(){var o={};document.querySelectorAll("
                  "'#lights [data-check]').forEach(function(e){"
                  "o[e.dataset.check]=e.dataset.ok});return o})()")


def assert_no_page_problems(b):
    problems = b.problems()
    assert not problems, f"the page complained: {problems}"


# -- the tests -----------------------------------------------------------------------

def test_page_loads_with_the_lights(page_app, browser, net):
    """The two groups of lights, each light's data-ok the API's; a red one
    says what failed in colour, symbol and word; German for a browser that
    prefers it."""
    app, b = page_app, browser
    app.wait_status(lambda s: (s.get("checks") or {}).get("checked_at") and
                    not s["checks"].get("running"), 15,
                    desc="the first run of the checks")
    open_page(b, app)
    b.wait_js("document.querySelectorAll('#lights [data-state=unknown]')"
              ".length === 0", desc="every light to be lit")
    api = {i["name"]: i["ok"] for i in app.call("checks")["items"]}
    assert list(api) == CHECK_NAMES
    shown = lights(b)
    assert shown == {n: "true" if ok else "false" for n, ok in api.items()}
    assert all(api.values()), f"the bed's network is healthy: {api}"
    groups = b.eval("Array.from(document.querySelectorAll('#lights .group'))"
                    ".map(function(g){return Array.from(g.querySelectorAll("
                    "'[data-check]')).map(function(e){return e.dataset.check})"
                    "})")
    assert groups == [CHECK_NAMES[:2], CHECK_NAMES[2:]]
    assert b.text("#lights [data-check=dns_resolution] .light-word") == "OK"
    assert vpn_shown(b) == "stopped"
    b.screenshot(artefact("stopped"))

    # One red light: the DNS server goes away; "Check again" shows it.
    net.stop_dns()
    try:
        log_in(b, app)
        b.click("#btn-refresh")
        kind, text = wait_message(b)
        api = {i["name"]: i for i in app.call("checks")["items"]}
        assert not api["dns_resolution"]["ok"], api["dns_resolution"]
        assert kind == "error" and "of 7 prerequisites fail" in text, text
        shown = lights(b)
        assert shown == {n: "true" if i["ok"] else "false"
                         for n, i in api.items()}
        sel = "#lights [data-check=dns_resolution]"
        assert b.text(sel + " .light-word") == "failed"
        assert b.text(sel + " .lamp") == "✗"
        assert b.text(sel + " .light-detail") == api["dns_resolution"][
            "detail"]
        assert "DNS server" in b.text(sel + " .light-fix")
        b.screenshot(artefact("lights-red"))
    finally:
        net.restore_network()

    # German, when the browser prefers it, in the manual's words.
    b.set_languages("de-DE")
    b.reload()
    b.wait_js("document.getElementById('vpn-state').dataset.vpn !== "
              "'unknown'")
    assert b.eval("document.documentElement.lang") == "de"
    assert b.text("#btn-start") == "Support-VPN starten"
    assert b.text("#btn-stop") == "Support-VPN anhalten"
    assert b.text("label[for=opt-when-possible] [data-i18n=when_possible]") \
        == "Support-VPN starten wenn möglich"
    assert b.text("#lights [data-group='1'] h3") == \
        "Standard-Gateway ist zugewiesen und funktioniert"
    assert b.text("#vpn-state .badge-text") == "Angehalten"
    b.screenshot(artefact("stopped-de"))
    assert_no_page_problems(b)


def test_start_to_connected_and_stop(page_app, browser, net):
    """Start shows openvpn's progress, ends connected with the hub named;
    Extend moves the session's end; Stop ends stopped. The hub is down at first, so that "starting" lasts
    long enough to be seen."""
    app, b = page_app, browser
    open_page(b, app)
    log_in(b, app)
    net.hub.stop()
    b.click("#btn-start")
    b.wait_js("document.getElementById('vpn-state').dataset.vpn === "
              "'starting' && document.querySelectorAll('#progress li')"
              ".length > 0", 30, desc="the page to show starting with "
              "openvpn's progress")
    assert message(b)[0] == "working"
    assert b.eval("document.getElementById('btn-start').disabled") is True
    assert app.status()["vpn"] == "starting"
    b.screenshot(artefact("starting"))

    net.start_hub()
    kind, text = wait_message(b, timeout=90)
    s = app.status()
    assert kind == "ok", text
    assert s["vpn"] == "connected", s
    assert s["tunnel"]["server_cn"] == HUB_CN
    assert vpn_shown(b) == "connected"
    assert HUB_CN in text
    assert b.text("#hub") == HUB_CN
    assert b.text("#tunnel-ip") == s["tunnel"]["local_ip"]
    assert b.text("#session-end") and b.text("#since")
    assert "received" in b.text("#bytes")
    steps = b.eval("Array.from(document.querySelectorAll('#progress li'))"
                   ".map(function(e){return e.dataset.state})")
    assert steps, "no openvpn state was shown while starting"

    # Some traffic through the tunnel, then Extend: the session's end
    # moves, and the answer brings the byte counters along.
    net.exec("dev", ["ping", "-c", "3", "-i", "0.2", "-W", "2",
                     tb.HUB_TUNNEL_IP], check=True)
    app.wait_status(lambda s: (s.get("tunnel") or {}).get("bytes_in", 0) > 0,
                    15, desc="openvpn to count the ping's bytes")
    before = app.status()["expires_at"]
    b.eval("document.getElementById('extend-by').value = '3600'")
    b.click("#btn-extend")
    kind, text = wait_message(b, timeout=30)
    s = app.status()
    assert kind == "ok", text
    assert s["expires_at"] > before, (before, s["expires_at"])
    assert not b.text("#bytes").startswith("0 B received"), b.text("#bytes")
    b.screenshot(artefact("connected"))

    b.click("#btn-stop")
    kind, text = wait_message(b, timeout=30)
    assert kind == "ok", text
    assert app.status()["vpn"] == "stopped"
    b.wait_js("document.getElementById('vpn-state').dataset.vpn === "
              "'stopped'", 10)
    assert b.eval("document.getElementById('tunnel').hidden") is True
    # The session is in the history, ended, with the hub.
    b.wait_js("(function(r){return !!r && r.dataset.open === 'false'})("
              "document.querySelector('#history tbody tr'))", 15,
              desc="the ended session in the history")
    assert HUB_CN in b.text("#history tbody tr")
    b.screenshot(artefact("stopped-after"))
    assert_no_page_problems(b)


def test_when_possible_survives_a_reload(page_app, browser):
    app, b = page_app, browser
    open_page(b, app)
    log_in(b, app)
    assert b.eval("document.getElementById('opt-when-possible').checked") \
        is False
    b.click("#opt-when-possible")
    kind, text = wait_message(b, timeout=30)
    assert kind == "ok", text
    assert app.status()["start_when_possible"] is True
    assert app.settings()["start_when_possible"] is True
    b.reload()
    b.wait_js("document.getElementById('vpn-state').dataset.vpn !== "
              "'unknown'")
    assert b.eval("document.getElementById('opt-when-possible').checked") \
        is True
    # With every prerequisite met it connects by itself.
    b.wait_js("document.getElementById('vpn-state').dataset.vpn === "
              "'connected'", 60, desc="the armed VPN to connect")
    assert app.status()["start_when_possible"] is True
    # Unticking stops it and clears the option, as the manual's stop does.
    b.click("#opt-when-possible")
    kind, text = wait_message(b, timeout=30)
    assert kind == "ok", text
    s = app.status()
    assert s["vpn"] == "stopped" and s["start_when_possible"] is False, s
    b.reload()
    b.wait_js("document.getElementById('vpn-state').dataset.vpn === "
              "'stopped'")
    assert b.eval("document.getElementById('opt-when-possible').checked") \
        is False
    assert_no_page_problems(b)


def test_a_refused_hub_ends_in_its_sentence(page_app, browser, net):
    """A hub with a certificate outside the policy: the start ends in the
    refusal's sentence on the page, and nothing connects."""
    app, b = page_app, browser
    net.swap_hub(cert="wrongname-hub")
    try:
        open_page(b, app)
        log_in(b, app)
        b.click("#btn-start")
        kind, text = wait_message(b, timeout=60)
        assert kind == "error", text
        assert app.status()["vpn"] == "starting"
        # The sentence is supportvpnd's (it logs it as it words it); its
        # status moves on to the next attempt at once, the page keeps it.
        said = [ln.split(" vpn: ", 1)[1] for ln in
                app.log_text().splitlines() if " vpn: the server presented "
                "certificate 'hub1.evil.example'" in ln]
        assert said, "supportvpnd logged no refusal of hub1.evil.example"
        assert said[0] in text, (said[0], text)
        assert "(server_name: " in text
        assert "keeps trying until you stop it" in text
        assert b.attr("#vpn-detail", "data-refused") == "true"
        assert b.text("#vpn-detail") == said[0]
        b.screenshot(artefact("refused"))
        b.click("#btn-stop")
        kind, text = wait_message(b, timeout=30)
        assert kind == "ok", text
        assert app.status()["vpn"] == "stopped"
    finally:
        net.restore_hub()
    assert_no_page_problems(b)


class _ForeignSite:
    """Another web site on the appliance (another port of 127.0.0.1): its
    page tries to drive supportvpnd's page interface from the browser that
    has the owner's login."""

    PAGE = """<!DOCTYPE html><title>foreign</title>
<form id="f" method="post" action="%(api)sstart" enctype="text/plain">
<input name='{"when_possible":true,"x":"' value='"}'></form>
<script>
fetch("%(api)sstart", {method: "POST", mode: "no-cors", credentials: "include",
  headers: {"Content-Type": "text/plain"}, body: '{"when_possible":true}'})
  .then(function () { document.title = "answered"; },
        function (e) { document.title = "failed: " + e; });
</script>"""

    def __init__(self, ns, port, api):
        page = (self.PAGE % {"api": api}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", port), Handler, bind_and_activate=False)
        self.server.socket.close()
        self.server.socket = nx.socket_in(ns)
        self.server.server_bind()
        self.server.server_activate()
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True, name="foreign-site")
        self.thread.start()
        self.url = f"http://127.0.0.1:{port}/"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def foreign_posts(b, url):
    """The headers (lower-case names) of the POSTs to url the browser sent,
    as its network log has them."""
    posts = {p["requestId"] for m, p in b.events("Network.requestWillBeSent")
             if p["request"]["url"] == url and
             p["request"]["method"] == "POST"}
    return [{k.lower(): v for k, v in p["headers"].items()}
            for m, p in b.events("Network.requestWillBeSentExtraInfo")
            if p["requestId"] in posts]


def test_a_foreign_origin_is_refused(page_app, browser, net):
    """A page on another origin (same host, other port: the owner's login
    cookie goes along, SameSite does not stop it) posts to the page
    interface with fetch and with a form: the daemon refuses both for
    their Origin, and the VPN does not move."""
    app, b = page_app, browser
    open_page(b, app)
    log_in(b, app)
    page = page_url(app)
    cookies = b.send("Network.getCookies", {"urls": [page]})["cookies"]
    assert [c["name"] for c in cookies] == ["svpn_session"], cookies
    log_before = len(app.log_text())
    site = _ForeignSite(net.ns("dev"), FOREIGN_PORT, page + "api/")
    b.send("Network.enable")
    try:
        b.navigate(site.url)
        # The answer is opaque to the foreign page either way (and its
        # Cross-Origin-Resource-Policy makes the browser fail the fetch);
        # the daemon's log says what it did with the request.
        b.wait_js("document.title !== 'foreign'", 15,
                  desc="the foreign page's fetch to end")
        # A form posts as a top-level navigation; its answer is readable.
        b.eval("document.getElementById('f').submit()")
        b.wait_js(f"location.href === {json.dumps(page + 'api/start')} && "
                  "document.readyState === 'complete'", 15,
                  desc="the form's answer")
        answer = json.loads(b.eval("(document.querySelector('pre') || "
                                   "document.body).innerText"))
        assert answer["error"]["code"] == "forbidden", answer
        b.screenshot(artefact("foreign-origin-refused"))
    finally:
        site.close()
    # Both went out with the owner's login cookie and the foreign Origin:
    # the Origin check, not a missing cookie, is what refused them.
    sent = foreign_posts(b, page + "api/start")
    origin = f"http://127.0.0.1:{FOREIGN_PORT}"
    assert len(sent) == 2, sent
    for headers in sent:
        assert headers.get("origin") == origin, headers
        assert "svpn_session=" in headers.get("cookie", ""), headers
    s = app.status()
    assert s["vpn"] == "stopped" and s["start_when_possible"] is False, s
    with contextlib.suppress(FileNotFoundError):
        assert app.settings()["start_when_possible"] is False
    refusals = [ln for ln in app.log_text()[log_before:].splitlines()
                if "refused POST /api/start" in ln and origin in ln]
    assert len(refusals) == 2, \
        f"the fetch's and the form's refusals are not logged: {refusals}"
