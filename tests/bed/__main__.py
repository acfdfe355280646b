# SPDX-License-Identifier: MIT
"""python3 tests/bed selftest | sweep

selftest: builds a bed (PKI, inet/hub/dev), starts the hub, runs a plain
openvpn client held in the dev namespace, releases it by hand over the
management socket, and shows the hub reaching a TCP service through the
tunnel. Needs no supportvpnd.
sweep: removes namespaces left behind by runs that died (SIGKILL).
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bed import Bed, MgmtClient, Pki, sweep_stale, wait_until  # noqa: E402
from bed.appliance import client_config  # noqa: E402
from bed.core import OPENVPN  # noqa: E402


def selftest():
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="supportvpn-pki-") as d:
        pki = Pki(d).generate()
        print(f"pki: {time.monotonic() - t0:.2f}s")
        with Bed(pki, roles=("hub", "dev"), verbose=True) as bed:
            hub = bed.start_hub()
            print(f"hub ready: {time.monotonic() - t0:.2f}s")
            conf = os.path.join(bed.dir, "client.ovpn")
            with open(conf, "w") as f:
                f.write(client_config(pki))
            sock = os.path.join(bed.dir, "openvpn.sock")
            bed.spawn("client-openvpn", "dev",
                      [OPENVPN, "--config", conf, "--management", sock, "unix",
                       "--management-hold", "--management-signal"])
            wait_until(lambda: os.path.exists(sock), 5, desc="mgmt socket")
            with MgmtClient(sock) as m:
                m.wait_for(">HOLD:")
                print(m.command("state on"))
                print(m.command("hold release"))
                st = m.wait_for(">STATE:", contains=",CONNECTED,", timeout=15)
                print(f"connected: {st} at {time.monotonic() - t0:.2f}s")
                local_ip = st.split(",")[3]
                bed.tcp_service("dev", 8080, "hello from appliance-0001")
                got = bed.probe("hub", local_ip, 8080,
                                expect="hello from appliance-0001")
                print(f"hub -> {local_ip}:8080: {got!r}")
                assert got and b"hello from appliance-0001" in got
            print("clients on the hub (log):",
                  [ln for ln in hub.log_text().splitlines()
                   if "Peer Connection Initiated" in ln][-1:])
    print(f"selftest ok in {time.monotonic() - t0:.2f}s")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "selftest"
    if cmd == "selftest":
        selftest()
    elif cmd == "sweep":
        sweep_stale()
    else:
        sys.exit(__doc__)
