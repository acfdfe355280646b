# SPDX-License-Identifier: MIT
"""Fixtures for supportvpn's system tests: the real supportvpnd and openvpn in
network namespaces built by tests/bed (DESIGN.md section 8).

    pki             session: the certificates (about a second to make)
    net             module:  inet + hub + dev namespaces, the hub's openvpn,
                             and a healthy network for the prerequisite
                             checks: dnsmasq and the vendor cloud in hub,
                             dev's resolv.conf naming dnsmasq, dev's default
                             gateway answering (Bed.start_network)
    make_appliance  test:    factory for an Appliance (supportvpnd) in dev;
                             everything left in dev is killed after the test
    appliance       test:    make_appliance() already started
    service         test:    a TCP "hello from appliance-0001" service on
                             dev's 0.0.0.0:8080

On a failure, the tails of the bed's logs (hub openvpn, supportvpnd log and
output, ...) are attached to the report, and the run directory is kept
(its path is printed at the end). Namespaces and processes are always
removed; a final check verifies it.

Against a sanitizer build (SUPPORTVPN_BUILD=build-asan: make check's
sanitizer stage, make asan), every ASan, UBSan or LeakSanitizer report a
process wrote (bed/sanitizer.py) fails the test during which it appeared
(in its teardown: a daemon reports leaks when it exits), or, for a process
that exited when a module's bed was removed, that module's last test; and
every SIGTERM of supportvpnd must end in exit status 0.
"""

import hashlib
import os
import shutil
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bed as tb  # noqa: E402
from bed import netns as nx  # noqa: E402

SERVICE_PORT = 8080
SERVICE_BANNER = "hello from appliance-0001"

_kept_dirs = []


def pytest_sessionstart(session):
    if os.geteuid() != 0:
        pytest.exit("the system tests need root (network namespaces)", 2)
    tb.sweep_stale(log=lambda m: print(m, file=sys.stderr))


def pytest_terminal_summary(terminalreporter):
    if _kept_dirs:
        terminalreporter.section("supportvpn bed artefacts kept")
        for d in _kept_dirs:
            terminalreporter.write_line(d)


def _beds_of(item):
    beds = []
    for v in getattr(item, "funcargs", {}).values():
        b = v if isinstance(v, tb.Bed) else getattr(v, "bed", None)
        if isinstance(b, tb.Bed) and b not in beds:
            beds.append(b)
    return beds


_fallback_dir = None


@pytest.fixture(scope="session", autouse=True)
def _sanitizer_fallback(request):
    """Sanitizer runs: the bed gives each process it starts a report
    directory of its own bed; a process of ours that a test starts some
    other way (subprocess.run of supportvpnctl, say) reports here."""
    if not tb.sanitizer.active():
        yield None
        return
    global _fallback_dir
    d = tb.sanitizer.make_dir(tempfile.mkdtemp(
        prefix="supportvpn-sanitizer-"))
    saved = {k: os.environ.get(k) for k in tb.sanitizer.options(d)}
    os.environ.update(tb.sanitizer.options(d))
    _fallback_dir = d
    yield d
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    if tb.sanitizer.reports(d):
        _kept_dirs.append(d)
    else:
        shutil.rmtree(d, ignore_errors=True)


_fallback_seen = set()


def _new_sanitizer_reports():
    """Reports no test has been failed for yet: those of live beds, those
    beds found at their cleanup, and the fallback directory's."""
    new = []
    for b in list(tb.core._live_beds):
        new += b.take_sanitizer_reports()
    new += tb.core.UNCLAIMED_REPORTS
    tb.core.UNCLAIMED_REPORTS.clear()
    if _fallback_dir is not None:
        for p in tb.sanitizer.reports(_fallback_dir):
            if p not in _fallback_seen:
                _fallback_seen.add(p)
                new.append(p)
    return new


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    # Sanitizer runs: after each test's teardown (which includes that of
    # module fixtures after a module's last test), every report that
    # appeared since the previous check fails this test.
    if call.when == "teardown" and _fallback_dir is not None:
        new = _new_sanitizer_reports()
        if new:
            for b in list(tb.core._live_beds):
                if any(p.startswith(b.san_dir + os.sep) for p in new):
                    b.mark_failed(item.nodeid)
            text = (f"{len(new)} sanitizer report(s):\n" +
                    tb.sanitizer.describe(new))
            if rep.failed:
                rep.sections.append(("sanitizer reports", text))
            else:
                rep.outcome = "failed"
                rep.longrepr = text
    if not rep.failed:
        return
    item.session._supportvpn_failed = True
    for b in _beds_of(item):
        b.mark_failed(item.nodeid)
        if b.dir not in _kept_dirs:
            _kept_dirs.append(b.dir)
        rep.sections.append((f"bed {b.prefix} logs ({rep.when})",
                             f"artefacts: {b.dir}\n{b.log_tails(40)}"))


@pytest.fixture(scope="session", autouse=True)
def _final_check(request):
    """After everything: no namespace and no process of ours is left."""
    yield
    left = tb.our_netns()
    procs = []
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        cmd = nx.proc_cmdline(pid) or []
        if any("supportvpn-bed-" + pre in a for a in cmd
               for pre in tb.ALL_PREFIXES):
            procs.append((pid, " ".join(cmd)[:120]))
    assert not left, f"namespaces left behind: {left}"
    assert not procs, f"processes left behind: {procs}"


@pytest.fixture(scope="session")
def pki(request):
    d = tempfile.mkdtemp(prefix="supportvpn-pki-")
    p = tb.Pki(d).generate()
    yield p
    if getattr(request.session, "_supportvpn_failed", False):
        _kept_dirs.append(d)
    else:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def net(pki):
    """inet + hub + dev, with the hub's openvpn running and the network
    healthy for the prerequisite checks."""
    b = tb.Bed(pki, roles=("hub", "dev"))
    b.setup()
    try:
        b.start_hub()
        b.start_network("dev")
    except BaseException:
        b.cleanup(failed=True)
        raise
    yield b
    b.cleanup()


def _require_daemon():
    for path in (tb.supportvpnd_path(), tb.supportvpnctl_path()):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} is missing: build it first (make)",
                        pytrace=False)


@pytest.fixture
def make_appliance(net, request):
    """Appliance factory (see bed.Appliance for the options). After the test
    the daemon is stopped, whatever still runs in dev is killed, and the
    network is made healthy again (Bed.restore_network)."""
    _require_daemon()
    made = []
    # A short, unique, readable directory name per test (unix socket
    # paths under it must stay well below 108 bytes).
    name = request.node.name
    for ch in "[]/ :,":
        name = name.replace(ch, "_")
    uniq = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:6]

    def make(**kw):
        kw.setdefault("tag", f"{name[:28]}-{uniq}-{len(made) + 1}")
        a = tb.Appliance(net, **kw)
        made.append(a)
        return a
    yield make
    for a in made:
        a.close()
    nx.kill_netns_processes(net.ns("dev"))
    try:
        _check_daemon_exits(made)
    finally:
        if net.hub and not net.hub.proc.alive():
            net.start_hub()  # a test took the hub down: next one gets a new
        net.restore_network()


def strict_exit():
    """Every SIGTERM must end in exit status 0: on by default for sanitizer
    builds (leaks are reported at exit), or with SUPPORTVPN_STRICT_EXIT=1."""
    v = os.environ.get("SUPPORTVPN_STRICT_EXIT")
    if v is not None:
        return v not in ("", "0")
    return tb.sanitizer.active()


def _check_daemon_exits(apps):
    problems = []
    for a in apps:
        reports = a.sanitizer_reports()
        if reports:
            problems.append(f"{a.tag}: sanitizer reports in {a.out_path}: "
                            f"{reports[:3]}")
        if strict_exit():
            bad = [rc for rc in a.sigterm_exits if rc != 0]
            if bad:
                problems.append(f"{a.tag}: supportvpnd exited with {bad} "
                                f"after SIGTERM (see {a.out_path})")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def appliance(make_appliance):
    a = make_appliance()
    a.start()
    return a


@pytest.fixture
def service(net):
    s = tb.TcpService(net.ns("dev"), SERVICE_PORT, SERVICE_BANNER)
    yield s
    s.close()


# -- helpers shared by the tests ------------------------------------------------

def wait_held(app, timeout=15):
    """Waits until openvpn runs and sits in its hold; returns the status."""
    return app.wait_status(
        lambda s: (s.get("openvpn") or {}).get("running") is True and
        (s.get("openvpn") or {}).get("held") is True, timeout,
        desc="openvpn running and held")


def start_connected(app, when_possible=False, timeout_s=30):
    """start with wait; asserts it answers connected; returns the status."""
    args = {"wait": True, "timeout_s": timeout_s}
    if when_possible:
        args["when_possible"] = True
    a = app.request("start", timeout=timeout_s + 10, **args)
    assert a.get("ok") is True, f"start answered {a}"
    s = a["result"]
    assert s["vpn"] == "connected", s
    return s


def reaches(net, ip, timeout=2.0):
    """True if the hub gets the dev service's banner from ip:8080."""
    got = net.probe("hub", ip, SERVICE_PORT, timeout=timeout,
                    expect=SERVICE_BANNER)
    return bool(got) and SERVICE_BANNER.encode() in got


def one_openvpn(app, timeout=10):
    """Waits until exactly one openvpn runs in the appliance namespace and
    stays so for a moment; returns its pid (fails otherwise)."""
    deadline = time.monotonic() + timeout
    while True:
        pids = app.openvpn_pids()
        if len(pids) == 1:
            time.sleep(0.5)
            again = app.openvpn_pids()
            if again == pids:
                return pids[0]
        if time.monotonic() > deadline:
            pytest.fail(f"expected exactly one openvpn in {app.ns}, found "
                        f"{pids}")
        time.sleep(0.1)
