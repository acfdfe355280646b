# SPDX-License-Identifier: MIT
"""Who may command supportvpnd (docs/api.md, "The API token"): commands that
change state need the API token from api.token_file; without it, or with a
wrong one, they are forbidden, rate-limited per uid and logged, and the VPN
stays held. Read-only commands need none. supportvpnctl reads the token
file it can read and says clearly when it cannot.

Each test has its own daemon: the limiter is per uid, and every test here
runs as root."""

import os
import re
import stat
import tempfile

import bed as tb
from conftest import wait_held

NOBODY = 65534
# The limiter's rules (controller/token.h).
MAX_FAILURES = 5


def error_of(answer):
    assert answer.get("ok") is False, answer
    return answer["error"]


def token_stat(app):
    st = os.stat(app.token_path)
    with open(app.token_path) as f:
        return st, f.read()


def reachable_for_others(app):
    """Lets another user reach the appliance's configuration (as
    /etc/supportvpn is on an appliance): the directories on the way 0711.
    The state directory stays as supportvpnd makes it."""
    for d in (app.bed.dir, app.dir):
        os.chmod(d, 0o711)


def assert_held_and_off(app):
    s = wait_held(app)
    assert s["vpn"] == "stopped", s
    assert s["start_when_possible"] is False, s
    assert not os.path.exists(app.settings_path) or \
        app.settings()["start_when_possible"] is False
    return s


def test_token_file_made_at_first_start_and_kept(make_appliance):
    app = make_appliance()
    assert not os.path.exists(app.token_path)
    app.start()
    st, text = token_stat(app)
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert (st.st_uid, st.st_gid) == (0, 0)
    assert re.fullmatch(r"[0-9a-f]{64}\n", text), text
    # state_dir stays private without api.token_group.
    assert stat.S_IMODE(os.stat(app.state_dir).st_mode) == 0o700
    log = app.log_text()
    assert "made a new API token in " + app.token_path in log
    assert text.strip() not in log

    # A restart keeps it as it is: same file, same token, same mode.
    app.restart()
    st2, text2 = token_stat(app)
    assert text2 == text
    assert (st2.st_ino, st2.st_mtime_ns, st2.st_mode) == \
        (st.st_ino, st.st_mtime_ns, st.st_mode)
    assert app.call("stop")["vpn"] == "stopped"

    # Made readable by others: whoever read it knows it, so the next start
    # replaces it (and says why); the old token is refused from then on.
    os.chmod(app.token_path, 0o644)
    app.restart()
    st3, text3 = token_stat(app)
    assert text3 != text
    assert stat.S_IMODE(st3.st_mode) == 0o640
    assert "replaced the API token in " + app.token_path in app.log_text()
    assert "its mode 0644" in app.log_text()
    old = app.request("stop", token=text.strip())
    assert error_of(old)["code"] == "forbidden"
    assert app.request("stop")["ok"] is True
    for t in (text, text3):
        assert t.strip() not in app.log_text()
        assert t.strip() not in app.output_text()


def test_start_without_token_is_forbidden_and_vpn_stays_held(make_appliance):
    app = make_appliance()
    app.start()
    wait_held(app)
    with app.api(token=None) as c:
        a = c.request("start", wait=True, timeout_s=5)
        err = error_of(a)
        assert err["code"] == "forbidden"
        assert "needs the API token" in err["message"]
        assert app.token_path in err["message"]
        a = c.request("start", when_possible=True)
        assert error_of(a)["code"] == "forbidden"
        assert error_of(c.request("extend", duration_s=60))["code"] == \
            "forbidden"
        assert error_of(c.request("stop"))["code"] == "forbidden"
        # The connection stays usable.
        assert c.status()["vpn"] == "stopped"
    # Nothing was started, armed or persisted; openvpn is still held.
    assert_held_and_off(app)
    assert not app.tunnel_addrs()
    log = app.log_text()
    refused = [ln for ln in log.splitlines() if "refused: no API token" in
               ln]
    assert len(refused) == 4, refused
    assert all("(uid 0 root)" in ln for ln in refused), refused
    assert any(": start refused" in ln for ln in refused), refused
    # Four failures, then the right token: allowed, and the count starts
    # over (a success clears it).
    s = app.call("start", wait=True, timeout_s=30, timeout=40)
    assert s["vpn"] == "connected", s
    assert app.call("stop")["vpn"] == "stopped"


def test_read_only_commands_need_no_token(make_appliance):
    app = make_appliance()
    app.start()
    wait_held(app)
    with app.api(token=None) as c:
        assert c.status()["vpn"] == "stopped"
        assert "items" in c.call("checks")
        assert "items" in c.call("checks", refresh=True, timeout=15)
        assert isinstance(c.call("log", lines=5)["lines"], list)
        assert c.call("version")["supportvpnd"]
        assert isinstance(c.call("history")["records"], list)
        assert c.call("openvpn", command="state")["lines"]
        assert c.call("subscribe", events=["state"])["events"] == ["state"]
    # A token sent with a read-only command is checked all the same.
    a = app.request("status", token="0" * 64)
    assert error_of(a)["code"] == "forbidden"
    assert "wrong" in error_of(a)["message"]
    assert app.request("status", token=app.token())["ok"] is True


def test_wrong_token_refused_and_rate_limited_per_uid(make_appliance):
    app = make_appliance()
    app.start()
    wait_held(app)
    right = app.token()
    wrong = "f" * 64 if right != "f" * 64 else "e" * 64
    with app.api() as c:
        for i in range(MAX_FAILURES):
            a = c.request("start", token=wrong if i % 2 else "guess")
            err = error_of(a)
            assert err["code"] == "forbidden", a
            assert "wrong" in err["message"], a
        # Locked out: even the right token is refused, cheaply.
        for _ in range(3):
            a = c.request("start", token=right)
            err = error_of(a)
            assert err["code"] == "forbidden"
            assert "too many requests with a wrong or missing API token" \
                in err["message"], a
            assert re.search(r"for another [0-9]+ s", err["message"]), a
        # Read-only commands without a token still work meanwhile.
        assert c.status()["vpn"] == "stopped"
    assert_held_and_off(app)
    log = app.log_text()
    assert "uid 0 root: 5 requests with a wrong or missing API token within " \
        "60 s; refusing its requests for 60 s" in log
    assert "start refused: wrong API token" in log
    assert "start refused: locked out" in log
    for secret in (right, wrong, "guess"):
        assert secret not in log
        assert secret not in app.output_text()

    # The lock-out is root's (uid 0): another user with the right token
    # is served. nobody gets a copy of the token it can read.
    with tempfile.NamedTemporaryFile("w", prefix="svpn-token-",
                                     delete=False) as f:
        f.write(right + "\n")
    try:
        os.chmod(f.name, 0o644)
        r = app.ctl("--token-file", f.name, "stop", user=NOBODY)
        assert r.returncode == 0, r.stderr
        assert "stopped" in r.stdout
    finally:
        os.unlink(f.name)
    assert not [ln for ln in app.log_text().splitlines()
                if "uid 65534" in ln and "refus" in ln]
    # root's requests never got through; nobody's stop did.
    stops = re.findall(r"api: 127\.0\.0\.1:[0-9]+: stop$", app.log_text(),
                       re.M)
    assert len(stops) == 1, stops


def test_supportvpnctl_reads_the_token_it_can_read(make_appliance):
    app = make_appliance()
    app.start()
    wait_held(app)
    reachable_for_others(app)
    # root reads it through the daemon's configuration.
    r = app.ctl("stop")
    assert r.returncode == 0, r.stderr
    # nobody may read the status, but not the token.
    r = app.ctl("status", user=NOBODY)
    assert r.returncode == 0, r.stderr
    assert "stopped" in r.stdout
    r = app.ctl("start", user=NOBODY)
    assert r.returncode == 1
    assert "start needs supportvpnd's API token, but " + app.token_path + \
        " cannot be read: Permission denied" in r.stderr, r.stderr
    assert "api.token_group" in r.stderr
    # No configuration to find the token file by: said so.
    r = app.ctl("--config", "/nonexistent/supportvpnd.json", "stop")
    assert r.returncode == 1
    assert "/nonexistent/supportvpnd.json" in r.stderr
    assert "--token-file" in r.stderr
    # A file that holds no token.
    with tempfile.NamedTemporaryFile("w", prefix="svpn-token-") as f:
        f.write("not a token\n")
        f.flush()
        r = app.ctl("--token-file", f.name, "extend")
        assert r.returncode == 1
        assert f"{f.name} holds no API token" in r.stderr
    assert_held_and_off(app)


def test_token_group_may_command(make_appliance):
    app = make_appliance(config_extra={"api": {"token_group": "nogroup"}})
    app.start()
    wait_held(app)
    st = os.stat(app.token_path)
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert (st.st_uid, st.st_gid) == (0, NOBODY)
    sd = os.stat(app.state_dir)
    assert stat.S_IMODE(sd.st_mode) == 0o710
    assert sd.st_gid == NOBODY
    # Only the token is there for the group: other state stays private.
    for name in os.listdir(app.state_dir):
        if name != "api.token":
            mode = stat.S_IMODE(os.stat(os.path.join(app.state_dir,
                                                     name)).st_mode)
            assert mode & 0o077 == 0, (name, oct(mode))
    reachable_for_others(app)
    # nobody in group nogroup (the web UI's user, say) may stop ...
    r = app.ctl("stop", user=NOBODY, group=NOBODY)
    assert r.returncode == 0, r.stderr
    # ... nobody in another group may not.
    r = app.ctl("stop", user=NOBODY, group=1)
    assert r.returncode == 1
    assert "cannot be read" in r.stderr
    # The group survives a restart; the token too.
    token = app.token()
    app.restart()
    assert app.token() == token
    assert os.stat(app.token_path).st_gid == NOBODY
    assert stat.S_IMODE(os.stat(app.state_dir).st_mode) == 0o710


def test_unknown_token_group_is_a_config_error(make_appliance):
    app = make_appliance(config_extra={"api": {
        "token_group": "no-such-group-svpn"}})
    rc, out = app.run_to_exit(args=("-n",))
    assert rc == 1
    assert "api.token_group: there is no group 'no-such-group-svpn'" in out
    rc, out = app.run_to_exit()
    assert rc == 1
    assert "api.token_group" in out
    assert not os.path.exists(app.token_path)
