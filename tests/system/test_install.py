# SPDX-License-Identifier: MIT
"""Packaging: `make install` into a temporary DESTDIR lays out what an
appliance expects, the installed programs run on the bed with the systemd
unit's capability set, the units pass `systemd-analyze verify`, and
`make uninstall` leaves nothing behind (but keeps what the owner edited)."""

import os
import re
import shutil
import stat
import subprocess
import tempfile

import pytest

import bed as tb

REPO = tb.appliance.REPO

# What `make install PREFIX=/usr SYSCONFDIR=/etc` puts where, with its mode.
LAYOUT = {
    "usr/sbin/supportvpnd": 0o755,
    "usr/sbin/supportvpn-hubd": 0o755,
    "usr/sbin/supportvpn-hub": 0o755,
    "usr/bin/supportvpnctl": 0o755,
    "usr/lib/supportvpn/openvpn-plugin-supportvpn.so": 0o644,
    "usr/lib/systemd/system/supportvpnd.service": 0o644,
    "usr/lib/systemd/system/supportvpn-hubd.service": 0o644,
    "usr/lib/tmpfiles.d/supportvpn.conf": 0o644,
    "usr/share/bash-completion/completions/supportvpnctl": 0o644,
    "usr/share/man/man8/supportvpnd.8": 0o644,
    "usr/share/man/man1/supportvpnctl.1": 0o644,
    "usr/share/man/man8/supportvpn-hubd.8": 0o644,
    "usr/share/man/man8/supportvpn-hub.8": 0o644,
    "usr/share/supportvpn/www/index.html": 0o644,
    "usr/share/supportvpn/www/page.css": 0o644,
    "usr/share/supportvpn/www/page.js": 0o644,
    "usr/share/supportvpn/www/i18n.js": 0o644,
    "usr/share/supportvpn/www/icon.svg": 0o644,
    "etc/supportvpn/supportvpnd.json": 0o644,
    "etc/supportvpn/client.ovpn": 0o644,
    "etc/supportvpn/policy.json": 0o644,
    "etc/supportvpn-hub/supportvpn-hubd.json": 0o644,
    "etc/supportvpn-hub/policy.json": 0o644,
    "etc/supportvpn-hub/server-udp.conf": 0o644,
    "etc/supportvpn-hub/server-tcp.conf": 0o644,
    "etc/logrotate.d/supportvpn": 0o644,
}


def packaging_build():
    """Packaging is about the product build, not a sanitizer build."""
    if os.path.realpath(tb.appliance.build_dir()) != \
            os.path.realpath(os.path.join(REPO, "build")):
        pytest.skip("packaging is checked on the default build only")


def make(*args):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "-C", REPO, "--no-print-directory", "-s"] +
                       list(args), capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, f"make {' '.join(args)}:\n{r.stdout}{r.stderr}"
    return r.stdout


def install(destdir, target="install"):
    return make(target, f"DESTDIR={destdir}", "PREFIX=/usr",
                "SYSCONFDIR=/etc")


def files_under(root):
    out = []
    for d, dirs, files in os.walk(root):
        for f in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


@pytest.fixture
def destdir():
    packaging_build()
    d = tempfile.mkdtemp(prefix="supportvpn-destdir-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_install_layout_then_uninstall_leaves_nothing(destdir):
    install(destdir)
    assert files_under(destdir) == sorted(LAYOUT), \
        "installed files differ from the expected layout"
    for rel, mode in LAYOUT.items():
        st = os.stat(os.path.join(destdir, rel))
        assert stat.S_IMODE(st.st_mode) == mode, f"{rel}: {oct(st.st_mode)}"
        assert st.st_uid == 0, f"{rel} is not root's"

    # The installed files name the installed paths, not the tree's.
    with open(os.path.join(destdir, "etc/supportvpn/supportvpnd.json")) as f:
        conf = f.read()
    assert '"/usr/lib/supportvpn/openvpn-plugin-supportvpn.so"' in conf
    assert '"/etc/supportvpn/client.ovpn"' in conf
    assert '"/usr/share/supportvpn/www"' in conf
    with open(os.path.join(destdir,
                           "usr/lib/systemd/system/supportvpnd.service")) as f:
        unit = f.read()
    assert "ExecStart=/usr/sbin/supportvpnd --config " \
        "/etc/supportvpn/supportvpnd.json\n" in unit
    assert "@" not in re.sub(r"(?m)^#.*\n", "", unit), "a placeholder is left"

    # The installed example configuration passes the installed daemon's
    # check (-n) with its paths moved under DESTDIR.
    rebased = os.path.join(destdir, "check.json")
    with open(rebased, "w") as f:
        f.write(conf.replace('"/etc/', f'"{destdir}/etc/')
                .replace('"/usr/lib/', f'"{destdir}/usr/lib/'))
    r = subprocess.run([os.path.join(destdir, "usr/sbin/supportvpnd"), "-n",
                        "--config", rebased], capture_output=True, text=True,
                       timeout=30)
    os.unlink(rebased)
    assert r.returncode == 0, r.stdout + r.stderr

    # A second install keeps an edited configuration and says so.
    edited = os.path.join(destdir, "etc/supportvpn/policy.json")
    with open(edited, "a") as f:
        f.write("\n")
    with open(edited) as f:
        mine = f.read()
    out = install(destdir)
    assert f"KEPT    {edited}" in out, out
    with open(edited) as f:
        assert f.read() == mine

    # Uninstall keeps only the edited file; without it nothing is left.
    out = install(destdir, "uninstall")
    assert files_under(destdir) == ["etc/supportvpn/policy.json"], out
    os.unlink(edited)
    install(destdir, "uninstall")
    assert files_under(destdir) == []
    left = [os.path.join(d, x) for d, dirs, _ in os.walk(destdir)
            for x in dirs if "supportvpn" in x]
    assert not left, f"directories left: {left}"


# linux/capability.h, for the names the unit may use
CAP_NUMBERS = {"chown": 0, "dac_override": 1, "fowner": 3, "kill": 5,
               "setgid": 6, "setuid": 7, "net_bind_service": 10,
               "net_admin": 12, "net_raw": 13, "sys_chroot": 18}


def unit_caps(unit_text):
    m = re.search(r"(?m)^CapabilityBoundingSet=(.*)$", unit_text)
    assert m, "the unit sets no CapabilityBoundingSet"
    return [c.lower().removeprefix("cap_") for c in m.group(1).split()]


def test_installed_programs_run_with_the_units_capabilities(
        destdir, make_appliance, net):
    """The installed daemon, CLI and plugin on the bed, under setpriv with
    exactly the unit's capability bounding set and no_new_privs, openvpn
    dropping to nobody: start → connected with the hub named, stop."""
    net.restore_hub()
    install(destdir)
    with open(os.path.join(destdir,
                           "usr/lib/systemd/system/supportvpnd.service")) as f:
        caps = unit_caps(f.read())
    wrapper = [shutil.which("setpriv"), "--no-new-privs", "--inh-caps=-all",
               "--bounding-set=-all," + ",".join("+" + c for c in caps)]
    app = make_appliance(
        plugin=True,
        programs={"supportvpnd": os.path.join(destdir, "usr/sbin/supportvpnd"),
                  "supportvpnctl": os.path.join(destdir,
                                                "usr/bin/supportvpnctl"),
                  "plugin": os.path.join(
                      destdir,
                      "usr/lib/supportvpn/openvpn-plugin-supportvpn.so")},
        wrapper=wrapper,
        client_extra=["user nobody", "group nogroup", "persist-tun",
                      "persist-key"])
    os.chmod(destdir, 0o755)   # openvpn as nobody reads the plugin there
    app.start()
    with open(f"/proc/{app.proc.pid}/status") as f:
        status = f.read()
    assert re.search(r"(?m)^NoNewPrivs:\s+1$", status), status
    want = sum(1 << CAP_NUMBERS[c] for c in caps)
    m = re.search(r"(?m)^CapBnd:\s+([0-9a-f]+)$", status)
    assert m and int(m.group(1), 16) == want, status
    app.wait_status(lambda s: s["openvpn"].get("held"), 15, desc="held")

    r = app.ctl("start", "--wait")
    assert r.returncode == 0, r.stdout + r.stderr
    s = app.status()
    assert s["vpn"] == "connected", s
    assert s["tunnel"]["server_cn"] == "hub1.support.example", s
    r = app.ctl("status")
    assert r.returncode == 0 and "connected" in r.stdout, r.stdout + r.stderr
    r = app.ctl("stop")
    assert r.returncode == 0, r.stdout + r.stderr
    assert app.wait_vpn("stopped")["openvpn"]["held"] is True
    assert app.stop() == 0
    assert not app.openvpn_pids(), "openvpn outlived supportvpnd"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed")
def test_units_verify_and_are_hardened():
    """`systemd-analyze verify` on both installed units (installed under a
    temporary PREFIX, so ExecStart and the man pages of Documentation=
    exist), and the offline security review rates them OK or better."""
    packaging_build()
    prefix = tempfile.mkdtemp(prefix="supportvpn-prefix-")
    try:
        make("install", f"PREFIX={prefix}", f"SYSCONFDIR={prefix}/etc")
        env = dict(os.environ, MANPATH=os.path.join(prefix, "share/man"))
        units = os.path.join(prefix, "lib/systemd/system")
        for unit in ("supportvpnd.service", "supportvpn-hubd.service"):
            path = os.path.join(units, unit)
            r = subprocess.run(["systemd-analyze", "verify", path],
                               capture_output=True, text=True, env=env,
                               timeout=60)
            assert r.returncode == 0 and not r.stdout.strip() and \
                not r.stderr.strip(), f"{unit}:\n{r.stdout}{r.stderr}"
            r = subprocess.run(["systemd-analyze", "security",
                                "--offline=yes", path],
                               capture_output=True, text=True, timeout=60)
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)",
                          r.stdout)
            assert m, r.stdout + r.stderr
            print(f"{unit}: exposure {m.group(1)} {m.group(2)}")
            assert m.group(2) in ("SAFE", "OK"), r.stdout
    finally:
        make("uninstall", f"PREFIX={prefix}", f"SYSCONFDIR={prefix}/etc")
        shutil.rmtree(prefix, ignore_errors=True)
