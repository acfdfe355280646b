# SPDX-License-Identifier: MIT
"""Issue #6: the vendor hub on the real bed.

One hub (supportvpn-hubd and the two openvpn servers of conf/hub/, the
plugin in hub mode), two appliances (dev, dev2: supportvpnd and openvpn as
shipped), one staff workstation (an openvpn client with the staff-alice
certificate), each in its own namespace. What the tests prove:
appliances never reach each other; staff reach an appliance only with a
grant for it, and a revoke or an expiry cuts an open connection; an owner's
stop ends it; a certificate that is neither appliance nor staff is refused;
with UDP blocked the appliance comes up over TCP 443; the nftables rules
live only in the hub's namespace.
"""

import datetime
import json
import os
import subprocess
import time

import pytest

import bed as tb
from bed import hubsys
from bed import netns as nx
from conftest import SERVICE_BANNER, SERVICE_PORT

ECHO_PORT = 7000
NO_CHECKS = {"checks": {"cloud_url": ""}, "log_level": "debug"}
# As conf/client.ovpn: a stop tells the hub at once.
EXIT_NOTIFY = ("explicit-exit-notify 1",)


def host_ruleset():
    r = subprocess.run([hubsys.NFT, "list", "ruleset"], capture_output=True,
                       text=True, timeout=10)
    return r.stdout


@pytest.fixture(scope="module")
def hubnet(pki):
    before = host_ruleset()
    b = tb.Bed(pki, roles=("hub", "dev", "dev2", "staff"))
    b.setup()
    try:
        hub = hubsys.SupportHub(b).start()
    except BaseException:
        b.cleanup(failed=True)
        raise
    b.supporthub = hub
    yield b
    b.cleanup()
    assert host_ruleset() == before, "the host's ruleset changed"


@pytest.fixture
def hub(hubnet):
    h = hubnet.supporthub
    yield h
    # Each test starts without grants.
    with open(h.grants_file, "w") as f:
        json.dump({"grants": []}, f)
    os.chmod(h.grants_file, 0o600)
    h.cli("list")


@pytest.fixture
def appliances(hubnet, request):
    """appliance-0001 in dev and appliance-0002 in dev2, both connected,
    each serving a banner on 8080 and an echo on 7000."""
    made = []
    uniq = request.node.name[:20].replace("[", "_").replace("]", "_")
    for role, name in (("dev", "appliance-0001"), ("dev2", "appliance-0002")):
        a = tb.Appliance(hubnet, role=role, name=name,
                         tag=f"{uniq}-{role}", config_extra=NO_CHECKS,
                         client_extra=EXIT_NOTIFY)
        made.append(a)
        a.start()
        made.append(tb.TcpService(hubnet.ns(role), SERVICE_PORT,
                                  f"hello from {name}"))
        made.append(hubsys.EchoService(hubnet.ns(role), ECHO_PORT))
    apps = [m for m in made if isinstance(m, tb.Appliance)]
    for a in apps:
        s = a.call("start", wait=True, timeout_s=30)
        assert s["vpn"] == "connected", s
    yield apps
    for m in made:
        m.close()
    for role in ("dev", "dev2"):
        nx.kill_netns_processes(hubnet.ns(role))


@pytest.fixture
def staff(hubnet):
    s = hubsys.StaffClient(hubnet).start()
    ip = s.wait_up()
    assert ip is not None
    s.ip = ip
    yield s
    s.stop()


def tun_ip(app):
    return app.status()["tunnel"]["local_ip"]


def reaches(bed, role, ip, name, timeout=1.5):
    got = bed.probe(role, ip, SERVICE_PORT, timeout=timeout,
                    expect=f"hello from {name}")
    return bool(got) and f"hello from {name}".encode() in got


def wait_reaches(bed, role, ip, name, want=True, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        if reaches(bed, role, ip, name) == want:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def test_appliances_cannot_reach_each_other(hubnet, hub, appliances):
    a1, a2 = appliances
    ip1, ip2 = tun_ip(a1), tun_ip(a2)
    assert ip1 != ip2
    # The hub itself reaches both (its own traffic is not forwarded).
    assert hubnet.probe("hub", ip1, SERVICE_PORT, expect="hello")
    assert not reaches(hubnet, "dev2", ip1, "appliance-0001")
    assert not reaches(hubnet, "dev", ip2, "appliance-0002")
    st = hub.status()
    roles = {i["cn"]: i["role"] for i in st["identities"]}
    assert roles.get("appliance-0001") == "appliance"
    assert roles.get("appliance-0002") == "appliance"
    rules = hub.nft_ruleset()
    assert f"table inet {hub.table}" in rules
    assert ip1 in rules and ip2 in rules


def test_staff_reaches_only_the_granted_appliance(hubnet, hub, appliances,
                                                  staff):
    a1, a2 = appliances
    ip1, ip2 = tun_ip(a1), tun_ip(a2)
    hub.wait_connected("staff-alice")
    assert not reaches(hubnet, "staff", ip1, "appliance-0001")
    hub.grant("staff-alice", "appliance-0001", "1h", "CASE-7")
    assert wait_reaches(hubnet, "staff", ip1, "appliance-0001")
    assert not reaches(hubnet, "staff", ip2, "appliance-0002")
    # Appliances still cannot reach staff or each other.
    assert not reaches(hubnet, "dev2", ip1, "appliance-0001")
    g = [g for g in hub.status()["grants"]
         if g["appliance"] == "appliance-0001"][0]
    assert g["effective"] is True and g["case"] == "CASE-7"
    assert 3500 < g["seconds_left"] <= 3600
    # The appliance sees the login come through its tunnel.
    r = hub.cli("list", "--json")
    assert "appliance-0001" in r.stdout


def test_revoke_cuts_an_open_connection(hubnet, hub, appliances, staff):
    a1 = appliances[0]
    ip1 = tun_ip(a1)
    hub.wait_connected("staff-alice")
    hub.grant("staff-alice", "appliance-0001", "1h")
    assert wait_reaches(hubnet, "staff", ip1, "appliance-0001")
    conn = hubnet.connect("staff", ip1, ECHO_PORT)
    assert hubsys.echo_once(conn)
    hub.revoke("staff-alice", "appliance-0001")
    assert not hubsys.echo_once(conn, b"after revoke\n", timeout=2.0)
    assert not reaches(hubnet, "staff", ip1, "appliance-0001")


def test_expiry_cuts_an_open_connection(hubnet, hub, appliances, staff):
    ip1 = tun_ip(appliances[0])
    hub.wait_connected("staff-alice")
    expires = (datetime.datetime.now(datetime.timezone.utc) +
               datetime.timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tmp = hub.grants_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"grants": [{"staff": "staff-alice",
                               "appliance": "appliance-0001",
                               "expires": expires, "case": "CASE-9"}]}, f)
    os.chmod(tmp, 0o600)
    os.rename(tmp, hub.grants_file)
    assert wait_reaches(hubnet, "staff", ip1, "appliance-0001")
    conn = hubnet.connect("staff", ip1, ECHO_PORT)
    assert hubsys.echo_once(conn)
    deadline = time.monotonic() + 8
    while hubsys.echo_once(conn, b"still?\n", timeout=0.5):
        assert time.monotonic() < deadline, "the grant never expired"
    assert not reaches(hubnet, "staff", ip1, "appliance-0001")


def test_owner_stop_makes_the_appliance_unreachable(hubnet, hub, appliances,
                                                    staff):
    a1 = appliances[0]
    ip1 = tun_ip(a1)
    hub.wait_connected("staff-alice")
    hub.grant("staff-alice", "appliance-0001", "1h")
    assert wait_reaches(hubnet, "staff", ip1, "appliance-0001")
    assert a1.call("stop")["vpn"] == "stopped"
    assert not reaches(hubnet, "staff", ip1, "appliance-0001")
    # The tunnel is gone on the appliance's side at once. (openvpn sends no
    # exit notice on the SIGUSR1 that returns it to its hold, so the hub
    # itself forgets the client only at its ping timeout.)
    assert not wait_reaches(hubnet, "staff", ip1, "appliance-0001",
                            timeout=3)


def test_neither_appliance_nor_staff_is_refused(hubnet, hub):
    # clientAuth, signed by the vendor CA, but CN hub1.support.example:
    # matches neither appliance-* nor staff-*.
    c = hubsys.StaffClient(hubnet, cert="clientasserver")
    c.start()
    try:
        tb.wait_until(lambda: "role" in hub.server_log("udp") and
                      "refused client certificate 'hub1.support.example'"
                      in hub.server_log("udp"), 15,
                      desc="the hub's refusal")
        time.sleep(1)
        assert c.tunnel_ip() is None
        assert "Initialization Sequence Completed" not in c.log_text()
        assert all(i["cn"] != "hub1.support.example"
                   for i in hub.status()["identities"])
    finally:
        c.stop()


def test_udp_blocked_comes_up_over_tcp_443(hubnet, hub):
    """The hub's UDP port is dropped on the appliance's way out; the
    remote list of conf/client.ovpn (UDP first, then TCP 443) gets it up
    over TCP."""
    table = "inet svtest_block"
    hubnet.exec("dev", [hubsys.NFT, "-f", "-"], check=True,
                input=f"table {table} {{\n chain out {{\n  type filter "
                      f"hook output priority 0;\n  udp dport 1194 drop\n"
                      f" }}\n}}\n")
    try:
        a = tb.Appliance(hubnet, role="dev", name="appliance-0001",
                         tag="udp-blocked", config_extra=NO_CHECKS,
                         client_extra=EXIT_NOTIFY + (
                             f"remote {tb.HUB_IP} 443 tcp-client",
                             "server-poll-timeout 2"))
        a.start()
        try:
            s = a.call("start", wait=True, timeout_s=40, timeout=50)
            assert s["vpn"] == "connected", s
            assert s["tunnel"]["server_port"] == 443, s["tunnel"]
            assert s["tunnel"]["local_ip"].startswith("203.0.113.")
            # The TCP server's pool.
            assert int(s["tunnel"]["local_ip"].split(".")[3]) >= 128
        finally:
            a.close()
            nx.kill_netns_processes(hubnet.ns("dev"))
    finally:
        hubnet.exec("dev", [hubsys.NFT, "delete", "table", *table.split()])


def test_rules_live_only_in_the_hub_namespace(hubnet, hub):
    rules = hub.nft_ruleset()
    tables = [ln for ln in rules.splitlines() if ln.startswith("table ")]
    assert tables == [f"table inet {hub.table} {{"], tables
    for role in ("dev", "dev2", "staff", "inet"):
        r = hubnet.exec(role, [hubsys.NFT, "list", "ruleset"], timeout=10)
        assert hub.table not in r.stdout
