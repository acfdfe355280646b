#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The supportvpn walk-through (`make demo`).

Builds nothing (make does that). Brings up a small network of namespaces: an
"internet" switch, a vendor hub running a real OpenVPN server, and the
appliance running supportvpnd. Then, narrated: supportvpnctl status, start
--wait, the hub reaching a web page on the appliance through the tunnel,
stop, status. Everything is removed at the end, also on failure or Ctrl-C.
Exit 0 on success, 1 with a clear message otherwise.
"""

import os
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bed as tb  # noqa: E402

BOLD = "\033[1m" if sys.stdout.isatty() else ""
DIM = "\033[2m" if sys.stdout.isatty() else ""
OFF = "\033[0m" if sys.stdout.isatty() else ""

HELLO_PY = textwrap.dedent("""
    from http.server import BaseHTTPRequestHandler, HTTPServer
    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"hello from appliance-0001\\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, fmt, *args):
            pass
    HTTPServer(("0.0.0.0", 8080), H).serve_forever()
""")


class DemoError(Exception):
    pass


_beds = []


_step = [0]


def step(title):
    _step[0] += 1
    print(f"\n{BOLD}[{_step[0]}] {title}{OFF}", flush=True)


def say(text):
    print(f"    {text}", flush=True)


def show_cmd(where, argv):
    print(f"{DIM}    {where}$ {' '.join(argv)}{OFF}", flush=True)


def show_output(text):
    for line in text.rstrip("\n").splitlines():
        print(f"      {line}", flush=True)


def ctl(bed, app, *args, stream=False, timeout=90):
    """Runs supportvpnctl in the appliance namespace, shows its output.
    It reads the appliance's configuration (for the API token file) from
    $SUPPORTVPND_CONFIG, as on an appliance from /etc/supportvpn."""
    argv = [tb.supportvpnctl_path()] + list(args)
    show_cmd("appliance", ["supportvpnctl"] + list(args))
    full = ["ip", "netns", "exec", app.ns] + argv
    env = dict(os.environ, SUPPORTVPND_CONFIG=app.config_path)
    if not stream:
        r = subprocess.run(full, capture_output=True, text=True,
                           timeout=timeout, env=env)
        show_output(r.stdout + r.stderr)
        return r.returncode, r.stdout
    # Show progress as it comes.
    p = subprocess.Popen(full, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, bufsize=1,
                         env=env)
    out = []
    deadline = time.monotonic() + timeout
    for line in p.stdout:
        out.append(line)
        print(f"      {line.rstrip()}", flush=True)
        if time.monotonic() > deadline:
            p.kill()
            break
    return p.wait(), "".join(out)


def fetch_from_hub(bed, ip):
    url = f"http://{ip}:8080/"
    show_cmd("hub", ["curl", "-s", "-m", "3", url])
    r = bed.exec("hub", ["curl", "-sS", "-m", "3", url], timeout=10)
    show_output(r.stdout or r.stderr or "(nothing)")
    return r.returncode, r.stdout


def demo(pki_dir):
    for path in (tb.supportvpnd_path(), tb.supportvpnctl_path()):
        if not os.access(path, os.X_OK):
            raise DemoError(f"{path} is missing: run `make` first")

    step("Making the PKI: vendor root CA, hub and appliance certificates")
    pki = tb.Pki(pki_dir).generate()
    say(f"root CA fingerprint sha256:{pki.fingerprint('ca')[:32]}...")

    step("Building the network: an 'internet', a vendor hub, an appliance")
    with tb.Bed(pki, roles=("hub", "dev")) as bed:
        _beds.append(bed)
        say(f"{bed.ns('inet')}: switch and router, 198.51.100.254")
        say(f"{bed.ns('hub')}: vendor hub hub1.support.example, 198.51.100.1")
        say(f"{bed.ns('dev')}: the appliance appliance-0001, 198.51.100.10")
        bed.start_hub()
        say("hub: openvpn server is up (tunnel pool 203.0.113.0/24)")
        bed.start_network("dev")
        say("hub: DNS (dnsmasq) and the vendor cloud's what-is-my-IP page "
            "are up")

        step("Starting supportvpnd on the appliance")
        app = tb.Appliance(bed, tag="demo")
        app.start()
        s = app.wait_status(lambda s: (s.get("openvpn") or {}).get("held"),
                            15, desc="openvpn held")
        say(f"supportvpnd is running; it started openvpn (pid "
            f"{s['openvpn']['pid']}), which waits in its hold: off by default")
        bed.spawn("hello-web", "dev", [tb.core.PYTHON, "-c", HELLO_PY])
        tb.wait_until(lambda: bed.probe("dev", "127.0.0.1", 8080, 0.5)
                      is not None, 10, desc="the appliance's web page")
        say("the appliance also serves a small web page on port 8080")

        step("The owner looks at the support VPN")
        rc, _ = ctl(bed, app, "status")
        if rc != 0:
            raise DemoError(f"supportvpnctl status failed (exit {rc})")

        step("The owner checks the prerequisites (the page's two groups "
             "of lights)")
        rc, _ = ctl(bed, app, "checks", "--refresh")
        if rc != 0:
            raise DemoError(f"a prerequisite check failed (exit {rc})")

        step("The owner presses 'Start support VPN' and waits")
        rc, text = ctl(bed, app, "start", "--wait", stream=True)
        if rc != 0:
            raise DemoError(f"supportvpnctl start --wait failed (exit {rc})")
        s = app.status()
        if s["vpn"] != "connected":
            raise DemoError(f"not connected after start: {s['vpn']}: "
                            f"{s.get('detail')}")
        ip = s["tunnel"]["local_ip"]
        say(f"the appliance is at {ip} inside the tunnel")

        step("Vendor support, on the hub, opens the appliance's page "
             "through the tunnel")
        rc, body = fetch_from_hub(bed, ip)
        if rc != 0 or "hello from appliance-0001" not in body:
            raise DemoError("the hub could not reach the appliance through "
                            "the tunnel")
        say("...and supportvpnd's own API is not reachable that way:")
        if bed.probe("hub", ip, 7515, timeout=2) is not None:
            raise DemoError("the API answers on the tunnel address")
        say(f"connecting from the hub to {ip}:7515 is refused")

        step("The owner presses 'Stop support VPN'")
        rc, _ = ctl(bed, app, "stop")
        if rc != 0:
            raise DemoError(f"supportvpnctl stop failed (exit {rc})")
        rc, _ = ctl(bed, app, "status")
        if app.status()["vpn"] != "stopped":
            raise DemoError("not stopped after stop")
        say("the hub tries again:")
        rc, body = fetch_from_hub(bed, ip)
        if rc == 0 and "hello" in body:
            raise DemoError("the hub still reaches the appliance after stop")
        say("unreachable: the tunnel is gone, openvpn is back in its hold")

        step("Cleaning up: stopping processes, removing the namespaces")
        app.close()
    left = tb.our_netns([bed.prefix])
    if left:
        raise DemoError(f"namespaces left behind: {left}")
    say("done; nothing left behind")


def main():
    if os.geteuid() != 0:
        print("demo: needs root (it builds network namespaces)",
              file=sys.stderr)
        return 1
    print(f"{BOLD}supportvpn demo{OFF}: the support VPN of an appliance, "
          "end to end, on this machine only")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="supportvpn-pki-") as pki_dir:
        try:
            demo(pki_dir)
        except (DemoError, tb.BedError, tb.ApiError, OSError,
                subprocess.SubprocessError) as e:
            print(f"\n{BOLD}demo FAILED:{OFF} {e}", file=sys.stderr)
            for b in _beds:
                print(f"\nlogs of the run (kept in {b.dir}):",
                      file=sys.stderr)
                print(b.log_tails(30), file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\ndemo: interrupted; everything was removed",
                  file=sys.stderr)
            return 130
    print(f"\n{BOLD}demo ok{OFF} ({time.monotonic() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
