# SPDX-License-Identifier: MIT
"""A real browser for the page's tests: Debian's chromium, headless, inside a
namespace of the bed, driven over the Chrome DevTools protocol.

The protocol runs over a pipe (--remote-debugging-pipe: chromium reads
commands on fd 3 and writes answers and events to fd 4, each message JSON
ended by a NUL byte), not over a debugging port: nothing listens in the
appliance's namespace besides what the test is about, there is no port to
find, and no websocket client is needed.

    with Browser(ns, workdir) as b:
        b.navigate("http://127.0.0.1:7516/")
        b.wait_js("document.querySelector('#vpn-state')")
        b.click("#btn-start")
        b.screenshot("build/artefacts/browser/x.png")

Every Browser gets its own profile directory (removed at close) and its own
process group (killed at close, whatever state it is in).
"""

import base64
import contextlib
import fcntl
import json
import os
import shutil
import signal
import tempfile
import threading
import time

from . import netns as nx
from .core import BedError, wait_until

CHROMIUM = "/usr/bin/chromium"


class BrowserError(BedError):
    pass


class Browser:
    """chromium --headless=new in namespace `ns` (None: this process's own);
    `workdir` holds its
    profile (a fresh temporary directory) and its output (chromium.out).

    `lang` is what the browser prefers (navigator.languages, the
    Accept-Language header): "en-US", "de-DE", ...
    """

    def __init__(self, ns, workdir, lang="en-US", width=1100, height=900,
                 binary=CHROMIUM, name="chromium"):
        self.ns, self.lang = ns, lang
        self.width, self.height = width, height
        self.binary = binary
        self.workdir = workdir
        self.out_path = os.path.join(workdir, f"{name}.out")
        self.profile = None
        self.pid = None
        self._wfd = self._rfd = None
        self._next_id = 1
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._answers = {}
        self._events = []      # (method, params) of the page's session
        self._eof = False
        self._reader = None
        self.session = None

    # -- the process --------------------------------------------------------
    def start(self, timeout=30):
        """Starts chromium and attaches to its page; returns self."""
        if not os.access(self.binary, os.X_OK):
            raise BrowserError(f"{self.binary} is missing: run make deps")
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-",
                                        dir=self.workdir)
        argv = ([nx.IP, "netns", "exec", self.ns] if self.ns else []) + [
                self.binary, "--headless=new",
                # The tests run as root, and chromium refuses to run its
                # sandbox as root: the page is ours and the browser lives
                # in a throwaway namespace and profile.
                "--no-sandbox",
                "--remote-debugging-pipe",
                f"--user-data-dir={self.profile}",
                f"--lang={self.lang}",
                f"--accept-lang={self.lang},{self.lang.split('-')[0]}",
                f"--window-size={self.width},{self.height}",
                "--no-first-run", "--no-default-browser-check",
                "--disable-gpu", "--disable-extensions", "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update", "--disable-default-apps",
                "--disable-features=Translate,MediaRouter,OptimizationHints",
                "--password-store=basic", "--use-mock-keychain",
                "--hide-scrollbars", "--mute-audio",
                "about:blank"]
        # Our ends are close-on-exec (Python's default); chromium's ends
        # are dup'ed onto 3 and 4, which dup2 leaves open across exec. The
        # intermediate copies above 9 keep dup2 from clobbering a pipe end
        # that happens to be 3 or 4 already.
        cmd_r, cmd_w = os.pipe()
        ans_r, ans_w = os.pipe()
        out = os.open(self.out_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND |
                      os.O_CLOEXEC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        hi_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_w = fcntl.fcntl(ans_w, fcntl.F_DUPFD_CLOEXEC, 10)
        try:
            self.pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[
                (os.POSIX_SPAWN_DUP2, null, 0),
                (os.POSIX_SPAWN_DUP2, out, 1),
                (os.POSIX_SPAWN_DUP2, out, 2),
                (os.POSIX_SPAWN_DUP2, hi_r, 3),
                (os.POSIX_SPAWN_DUP2, hi_w, 4),
            ], setsid=True)
        finally:
            for fd in (cmd_r, ans_w, out, null, hi_r, hi_w):
                os.close(fd)
        self._wfd, self._rfd = cmd_w, ans_r
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name=f"chromium-{self.pid}")
        self._reader.start()
        try:
            self._attach(timeout)
        except BaseException:
            self.close()
            raise
        return self

    def _attach(self, timeout):
        targets = self.send("Target.getTargets", session=False,
                            timeout=timeout)["targetInfos"]
        pages = [t for t in targets if t.get("type") == "page"]
        if pages:
            target = pages[0]["targetId"]
        else:
            target = self.send("Target.createTarget", {"url": "about:blank"},
                               session=False)["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(domain)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height,
                   "deviceScaleFactor": 1, "mobile": False})

    def close(self):
        """Closes the browser (politely, then by SIGKILL to its process
        group) and removes its profile. Safe to call more than once."""
        if self.pid is not None:
            with contextlib.suppress(OSError, BrowserError):
                self.send("Browser.close", session=False, timeout=5)
            if not self._wait_exit(5):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self._wait_exit(5)
            # Helpers (zygote, renderer) share the group; none may outlive
            # the test.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.pid = None
        for fd in (self._wfd, self._rfd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wfd = self._rfd = None
        if self._reader is not None:
            self._reader.join(5)
            self._reader = None
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    def _wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == self.pid:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- the protocol -----------------------------------------------------------
    def _read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self._rfd, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._eof = True
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue
                with self._cond:
                    if "id" in msg:
                        self._answers[msg["id"]] = msg
                    elif msg.get("sessionId") == self.session:
                        self._events.append((msg.get("method"),
                                             msg.get("params") or {}))
                    self._cond.notify_all()

    def send(self, method, params=None, session=True, timeout=30):
        """One command; its result, or BrowserError with chromium's error."""
        with self._cond:
            if self._eof:
                raise BrowserError("chromium has gone away (see "
                                   f"{self.out_path})")
            mid = self._next_id
            self._next_id += 1
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._wfd, data)
            data = data[n:]
        deadline = time.monotonic() + timeout
        with self._cond:
            while mid not in self._answers:
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    raise BrowserError(f"{method}: no answer from chromium "
                                       f"within {timeout}s (see "
                                       f"{self.out_path})")
                self._cond.wait(left)
            ans = self._answers.pop(mid)
        if "error" in ans:
            raise BrowserError(f"{method}: {ans['error'].get('message')}")
        return ans.get("result") or {}

    def events(self, method=None):
        """The page's events so far (method, params), optionally one kind."""
        with self._cond:
            return [e for e in self._events if method is None or
                    e[0] == method]

    def problems(self):
        """What the page complained about: uncaught exceptions, console
        errors and browser log errors (a Content-Security-Policy violation
        is one), as text lines."""
        out = []
        for method, p in self.events():
            if method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails") or {}
                exc = d.get("exception") or {}
                out.append(f"exception: {exc.get('description') or d.get('text')}")
            elif method == "Runtime.consoleAPICalled" and \
                    p.get("type") in ("error", "assert"):
                args = [a.get("value", a.get("description"))
                        for a in p.get("args") or []]
                out.append(f"console.{p.get('type')}: {args}")
            elif method == "Log.entryAdded":
                e = p.get("entry") or {}
                if e.get("level") == "error":
                    out.append(f"log ({e.get('source')}): {e.get('text')} "
                               f"{e.get('url') or ''}".rstrip())
        return out

    # -- what a test does ---------------------------------------------------------
    def navigate(self, url, timeout=30):
        """Loads url and waits until its document is complete."""
        r = self.send("Page.navigate", {"url": url}, timeout=timeout)
        if r.get("errorText"):
            raise BrowserError(f"loading {url}: {r['errorText']}")
        self.wait_js("document.readyState === 'complete' && "
                     f"location.href.startsWith({json.dumps(url)})",
                     timeout, desc=f"{url} to load")

    def reload(self, timeout=30):
        url = self.eval("location.href")
        self.send("Page.reload", {"ignoreCache": True})
        self.wait_js("document.readyState === 'complete' && "
                     f"location.href === {json.dumps(url)}", timeout,
                     desc="the page to reload")

    def set_languages(self, lang):
        """From now on the browser prefers `lang` ("de-DE"): in
        navigator.languages and the Accept-Language header."""
        ua = self.eval("navigator.userAgent")
        self.send("Emulation.setUserAgentOverride",
                  {"userAgent": ua,
                   "acceptLanguage": f"{lang},{lang.split('-')[0]}"})

    def eval(self, expr, timeout=30):
        """The value of a JavaScript expression in the page (promises are
        awaited); a thrown exception raises BrowserError."""
        r = self.send("Runtime.evaluate",
                      {"expression": expr, "returnByValue": True,
                       "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            desc = (d.get("exception") or {}).get("description") or \
                d.get("text")
            raise BrowserError(f"evaluating {expr!r}: {desc}")
        return (r.get("result") or {}).get("value")

    def wait_js(self, expr, timeout=30, desc=None):
        """Polls expr until it is truthy; returns its value."""
        last = {}

        def check():
            try:
                last["v"] = self.eval(expr)
            except BrowserError as e:
                if self._eof:
                    raise
                last["v"] = f"(error: {e})"
                return None
            return last["v"]
        try:
            return wait_until(check, timeout, interval=0.1,
                              desc=desc or expr)
        except BedError as e:
            raise BrowserError(f"{e}; last value {last.get('v')!r}") from None

    def text(self, selector):
        """The element's text (None if there is no such element)."""
        return self.eval(f"(function(e){{return e ? e.textContent : null}})"
                         f"(document.querySelector({json.dumps(selector)}))")

    def attr(self, selector, name):
        return self.eval(f"(function(e){{return e ? e.getAttribute("
                         f"{json.dumps(name)}) : null}})(document.querySelector("
                         f"{json.dumps(selector)}))")

    def wait_selector(self, selector, timeout=30):
        """Waits until selector matches a visible element."""
        self.wait_js(f"(function(e){{return !!e && e.getClientRects().length "
                     f"> 0}})(document.querySelector({json.dumps(selector)}))",
                     timeout, desc=f"{selector} to be visible")

    def click(self, selector, timeout=30):
        """A real mouse click in the middle of the element, once it is
        visible, enabled and on top at that point (scrolled into view
        first). The point is found and checked in one evaluation and the
        click follows at once, so a page that moves is not clicked beside
        the element."""
        sel = json.dumps(selector)
        x, y = self.wait_js(
            f"(function(e){{if (!e || e.disabled || !e.getClientRects()"
            f".length) return null; e.scrollIntoView({{block: 'center'}});"
            f"var r = e.getBoundingClientRect(), x = r.left + r.width / 2,"
            f" y = r.top + r.height / 2, hit = document.elementFromPoint("
            f"x, y); return hit && (hit === e || e.contains(hit)) ? [x, y] :"
            f" null}})(document.querySelector({sel}))", timeout,
            desc=f"{selector} to be visible, enabled and on top")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": x, "y": y, "button": "left",
                       "clickCount": 1})

    def type(self, selector, text):
        """Focuses the element and types text into it."""
        self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", {"text": text})

    def screenshot(self, path, full_page=True):
        """A PNG of the page (the whole page, not only the window); returns
        path."""
        params = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            m = self.send("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m.get("contentSize")
            params["clip"] = {"x": 0, "y": 0, "scale": 1,
                              "width": max(self.width, size["width"]),
                              "height": max(1, size["height"])}
        r = self.send("Page.captureScreenshot", params, timeout=60)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
        return path
