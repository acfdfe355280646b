# SPDX-License-Identifier: MIT
"""The appliance: supportvpnd (which runs the client openvpn) inside a member
namespace of a Bed, with its own configuration, state and run directories.
"""

import json
import os
import signal
import subprocess

from . import netns as nx
from .api import ApiClient, ApiError
from .web import WebClient

AUTO = object()     # Appliance.api(token=AUTO): the appliance's own token
from .core import CLOUD_URL, HUB_IP, OPENVPN, BedError, tail, wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def build_dir():
    """$SUPPORTVPN_BUILD (relative to the repo root) or build/."""
    b = os.environ.get("SUPPORTVPN_BUILD", "build")
    return b if os.path.isabs(b) else os.path.join(REPO, b)


def supportvpnd_path():
    return os.path.join(build_dir(), "supportvpnd")


def supportvpnctl_path():
    return os.path.join(build_dir(), "supportvpnctl")


def plugin_path():
    return os.path.join(build_dir(), "openvpn-plugin-supportvpn.so")


def client_config(pki, name="appliance-0001", remote=HUB_IP, port=1194,
                  proto="udp", ca="ca", server_name="hub1.support.example",
                  extra=(), hub_checks=True):
    """The connection-only openvpn client config (no management, daemon,
    log, writepid or plugin options: supportvpnd adds those).

    hub_checks=False leaves out openvpn's own hub-certificate options
    (remote-cert-tls, verify-x509-name): with the plugin, its policy alone
    must keep rogue hubs out. `ca` names a Pki certificate or bundle.
    `remote` may be a list of addresses: openvpn tries them in order."""
    remotes = [remote] if isinstance(remote, str) else list(remote)
    lines = ["client", "dev tun"]
    lines += [f"remote {r} {port} {proto}" for r in remotes]
    lines += [
        "nobind",
        f"ca {pki.crt(ca)}",
        f"cert {pki.crt(name)}",
        f"key {pki.key(name)}",
        f"tls-crypt {pki.tls_crypt}",
    ]
    if hub_checks:
        lines += ["remote-cert-tls server",
                  f"verify-x509-name {server_name} name"]
    lines += [
        "connect-retry 1 1",
        "server-poll-timeout 3",
        "persist-key",
        "verb 3",
    ] + list(extra)
    return "\n".join(lines) + "\n"


# The plugin policy the bed uses unless a test says otherwise (DESIGN.md 5).
SERVER_NAMES = ("hub1.support.example", "*.support.example")


def policy_doc(pki, server_names=SERVER_NAMES, roots=("ca",)):
    """The policy as a dict: `server_names`, and `roots` (Pki CA names)
    pinned by the fingerprint openssl prints for them (upper-case hex with
    colons: DESIGN.md says that spelling is accepted as it is)."""
    return {"server_names": list(server_names),
            "ca_sha256": [pki.fingerprint_openssl(r) for r in roots]}


def write_policy(path, pki=None, server_names=SERVER_NAMES, roots=("ca",),
                 doc=None, text=None):
    """Writes a plugin policy file (mode 0644) and returns its path: `text`
    verbatim if given, else `doc` (a dict) as JSON, else
    policy_doc(pki, server_names, roots)."""
    if text is None:
        if doc is None:
            doc = policy_doc(pki, server_names, roots)
        text = json.dumps(doc, indent=2) + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


class Appliance:
    """supportvpnd in <prefix>-<role>.

    Files live in <bed.dir>/<tag>/: supportvpnd.json, client.ovpn, state/,
    run/, supportvpnd.log, supportvpnd.out (stdout+stderr). `client_text`
    replaces the generated client config; `config_extra` is merged into the
    supportvpnd config (dicts merge, other values replace).

    HTTP listens on 127.0.0.1:`http_port` (default api_port + 1000, so
    two appliances in one namespace do not collide); `web()` is its client.

    plugin=True runs openvpn with the real plugin (build dir's
    openvpn-plugin-supportvpn.so): config openvpn.plugin and plugin.policy,
    and a client config without remote-cert-tls/verify-x509-name, so the
    plugin decides alone. The policy file is <dir>/policy.json, written from
    `server_names` and `roots` (pinned CA names), or from `policy` when that
    is a dict; a str `policy` is used as the path as it is (nothing is
    written: e.g. a missing file). `client_ca` is the Pki name of the
    client's `ca` file (a bundle, e.g.). With the plugin, the directories on
    the way to run_dir and the policy are made traversable (0711), as /run
    and /etc are on an appliance, so an openvpn that dropped to `user
    nobody` still reaches the consent record, events.sock and the policy.

    `programs` replaces the build dir's programs (keys supportvpnd,
    supportvpnctl, plugin: paths, e.g. of an installed copy); `wrapper` is
    an argv that runs supportvpnd (e.g. setpriv with a capability set, or
    fiu-run -x ...); both are attributes, so a test may set them after
    construction (self.programs["supportvpnd"], self.wrapper).

    state_tmpfs="256k" puts state_dir on a tmpfs of that size in a mount
    namespace of its own (bed.PrivateTmpfs, in `self.tmpfs`): supportvpnd
    runs inside it, and it outlives restarts of the daemon; state_path()
    reaches its files from the test.
    """

    _count = 0

    def __init__(self, bed, role="dev", name="appliance-0001", tag=None,
                 api_port=7515, client_text=None, client_extra=(),
                 config_extra=None, remote=HUB_IP, plugin=False, policy=None,
                 server_names=SERVER_NAMES, roots=("ca",), client_ca="ca",
                 env=None, run_dir=None, programs=None, wrapper=(),
                 state_tmpfs=None, http_port=None):
        Appliance._count += 1
        self.bed, self.role, self.name = bed, role, name
        self.ns = bed.ns(role)
        self.tag = tag or f"{role}-{Appliance._count}"
        self.dir = os.path.join(bed.dir, self.tag)
        self.state_dir = os.path.join(self.dir, "state")
        # run_dir elsewhere (the bench puts it on tmpfs, as /run is on an
        # appliance); the caller makes and removes its parent.
        self.run_dir = run_dir or os.path.join(self.dir, "run")
        self.config_path = os.path.join(self.dir, "supportvpnd.json")
        self.client_path = os.path.join(self.dir, "client.ovpn")
        self.log_path = os.path.join(self.dir, "supportvpnd.log")
        self.out_path = os.path.join(self.dir, "supportvpnd.out")
        self.policy_path = os.path.join(self.dir, "policy.json")
        self.plugin = plugin
        self.api_port = api_port
        # HTTP next to the API, far enough that the bench's daemons (API
        # on 7516 and 7517) do not collide with each other's.
        self.http_port = http_port or api_port + 1000
        self.env = dict(env or {})
        self.programs = {"supportvpnd": supportvpnd_path(),
                         "supportvpnctl": supportvpnctl_path(),
                         "plugin": plugin_path()}
        self.programs.update(programs or {})
        self.wrapper = list(wrapper)
        self.proc = None
        self.starts = 0
        self.sigterm_exits = []    # exit status after each SIGTERM stop
        if os.path.exists(self.dir):
            raise BedError(f"appliance directory {self.dir} already in use")
        os.makedirs(self.state_dir)
        os.makedirs(self.run_dir)
        self.tmpfs = None
        if state_tmpfs is not None:
            self.tmpfs = bed.private_tmpfs(role, self.state_dir, state_tmpfs)
        self.config = {
            "api": {"listen": f"127.0.0.1:{api_port}"},
            "http": {"listen": f"127.0.0.1:{self.http_port}"},
            "state_dir": self.state_dir,
            "run_dir": self.run_dir,
            "log_file": self.log_path,
            "log_level": "debug",
            "openvpn": {"binary": OPENVPN, "config": self.client_path,
                        "plugin": ""},
            "checks": {"cloud_url": CLOUD_URL,
                       "resolv_conf": "/etc/resolv.conf",
                       "timeout_ms": 2000, "interval_s": 1},
        }
        if plugin:
            if isinstance(policy, str):
                self.policy_path = policy
            else:
                write_policy(self.policy_path, bed.pki, server_names, roots,
                             doc=policy)
            self.config["openvpn"]["plugin"] = self.programs["plugin"]
            self.config["plugin"] = {"policy": self.policy_path}
            for d in (bed.dir, self.dir, os.path.dirname(self.run_dir)):
                os.chmod(d, 0o711)
        _merge(self.config, config_extra or {})
        self.write_config()
        self.write_client(client_text if client_text is not None else
                          client_config(bed.pki, name, remote=remote,
                                        ca=client_ca, extra=client_extra,
                                        hub_checks=not plugin))
        bed.extra_logs[f"{self.tag}/supportvpnd.log"] = self.log_path
        bed.extra_logs[f"{self.tag}/supportvpnd.out"] = self.out_path
        bed.track(self)

    # -- files ---------------------------------------------------------------
    def write_config(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    def write_client(self, text):
        with open(self.client_path, "w") as f:
            f.write(text)

    def state_path(self, name=""):
        """Where this process finds state_dir/name as supportvpnd sees it
        (through the tmpfs's namespace with state_tmpfs)."""
        path = os.path.join(self.state_dir, name) if name else self.state_dir
        return self.tmpfs.view(path) if self.tmpfs is not None else path

    @property
    def settings_path(self):
        return self.state_path("settings.json")

    @property
    def mgmt_path(self):
        """The operators' pass-through socket."""
        return os.path.join(self.run_dir, "management.sock")

    @property
    def events_sock(self):
        """Where the plugin sends its datagrams (supportvpnd listens)."""
        return os.path.join(self.run_dir, "events.sock")

    @property
    def consent_path(self):
        """The owner-consent record the plugin checks."""
        return os.path.join(self.run_dir, "consent")

    @property
    def openvpn_sock(self):
        """openvpn's own management socket (supportvpnd is its client)."""
        return os.path.join(self.run_dir, "openvpn.sock")

    @property
    def token_path(self):
        """The API token file (api.token_file, else state_dir/api.token)."""
        return (self.config.get("api", {}).get("token_file") or
                self.state_path("api.token"))

    def token(self):
        """The API token supportvpnd made, or None before it made one."""
        try:
            with open(self.token_path) as f:
                return f.read().strip() or None
        except FileNotFoundError:
            return None

    def settings(self):
        with open(self.settings_path) as f:
            return json.load(f)

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def sanitizer_reports(self):
        """ASan/UBSan/LSan reports in supportvpnd's output (where they go
        if the report file cannot be written; see bed/sanitizer.py)."""
        text = self.output_text()
        return [ln for ln in text.splitlines()
                if "Sanitizer" in ln and ("ERROR" in ln or "WARNING" in ln)
                or ": runtime error: " in ln]

    def output_text(self):
        try:
            with open(self.out_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # -- the daemon ------------------------------------------------------------
    def start(self, wait_ready=True, timeout=15, args=()):
        """Starts supportvpnd; with wait_ready, returns once the API answers
        status."""
        binary = self.programs["supportvpnd"]
        if not os.access(binary, os.X_OK):
            raise BedError(f"{binary} is missing: run make first")
        if self.proc and self.proc.alive():
            raise BedError("supportvpnd already running")
        self.starts += 1
        env = dict(os.environ, **self.env) if self.env else None
        argv = self.wrapper + [binary, "--config", self.config_path] + \
            list(args)
        if self.tmpfs is not None:
            argv = self.tmpfs.enter + argv
        # With the plugin, the openvpn it starts (inheriting its
        # environment) needs a sanitizer build's runtime preloaded.
        self.proc = self.bed.spawn(
            f"{self.tag}-supportvpnd-{self.starts}", self.role, argv,
            log=self.out_path, env=env, preload=bool(self.plugin))
        with open(self.out_path, "a") as f:
            f.write(f"==== test: started supportvpnd pid {self.proc.pid} "
                    f"(start #{self.starts}"
                    f"{', env ' + repr(self.env) if self.env else ''}) "
                    f"====\n")
        if wait_ready:
            self.wait_ready(timeout)
        return self.proc

    def wait_ready(self, timeout=15):
        def ready():
            if not self.proc.alive():
                raise BedError(f"supportvpnd exited with "
                               f"{self.proc.returncode}:\n{tail(self.out_path)}")
            try:
                with self.api(timeout=2) as c:
                    return c.status(timeout=2)
            except (OSError, ApiError):
                return None
        return wait_until(ready, timeout, interval=0.05,
                          desc="supportvpnd's API to answer status")

    def run_to_exit(self, timeout=15, args=()):
        """Runs supportvpnd expecting it to exit by itself (e.g. a refused
        config); returns (exit status, stdout+stderr)."""
        self.start(wait_ready=False, args=args)
        rc = self.proc.wait(timeout)
        if rc is None:
            self.proc.stop()
            raise BedError(f"supportvpnd did not exit within {timeout}s")
        return rc, self.output_text()

    def stop(self, timeout=10, sig=signal.SIGTERM):
        """Sends sig (SIGTERM) and waits; returns the exit status, or None if
        it had to be SIGKILLed after `timeout`."""
        if not self.proc or not self.proc.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        if rc is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
        if sig == signal.SIGTERM:
            self.sigterm_exits.append(rc)
        return rc

    def kill(self):
        """SIGKILL: a crash, as far as openvpn can tell."""
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(5)

    def restart(self, sig=signal.SIGTERM):
        self.stop(sig=sig)
        return self.start()

    def close(self):
        """Bed cleanup hook: stop the daemon (the bed then kills anything
        left in the namespace)."""
        if self.proc and self.proc.alive():
            self.stop(timeout=5)

    # -- talking to it -----------------------------------------------------------
    def api(self, timeout=10.0, name=None, token=AUTO):
        """A connection whose requests that change state carry the API
        token (read from the token file now); token=None: none, or a
        given one (see ApiClient)."""
        if token is AUTO:
            token = self.token()
        return ApiClient.connect(self.ns, "127.0.0.1", self.api_port, timeout,
                                 name=name or f"api({self.tag})", token=token)

    def request(self, cmd, timeout=10.0, **args):
        """One request on a fresh connection; the whole answer dict.
        Commands that change state get the token unless args name one
        (token=None: send none)."""
        with self.api(timeout=timeout) as c:
            return c.request(cmd, timeout=timeout, **args)

    def call(self, cmd, timeout=10.0, **args):
        with self.api(timeout=timeout) as c:
            return c.call(cmd, timeout=timeout, **args)

    def web(self, timeout=10.0):
        """A client of the HTTP interface (bed.web.WebClient)."""
        return WebClient(self.ns, self.http_port, timeout=timeout)

    def status(self, timeout=10.0):
        return self.call("status", timeout=timeout)

    def wait_status(self, pred, timeout=15, desc="status"):
        """Polls status until pred(status) holds; returns that status."""
        last = {}

        def check():
            last["s"] = self.status()
            return last["s"] if pred(last["s"]) else None
        try:
            return wait_until(check, timeout, interval=0.1, desc=desc)
        except BedError as e:
            raise BedError(f"{e}; last status: {json.dumps(last.get('s'))}")

    def wait_vpn(self, vpn, timeout=15):
        return self.wait_status(lambda s: s.get("vpn") == vpn, timeout,
                                desc=f"vpn == {vpn!r}")

    def ctl(self, *args, timeout=60, role=None, config=AUTO, user=None,
            group=None):
        """supportvpnctl ARGS (the build dir's, or programs') inside the
        appliance namespace (or <prefix>-<role>). It finds the API token
        through this appliance's configuration ($SUPPORTVPND_CONFIG), or
        through `config` (a path;
        None: supportvpnctl's own default). `user` and `group` (numbers)
        run it as another user with that one group (setpriv); the files
        it reads must then be reachable for it."""
        argv = [nx.IP, "netns", "exec", self.bed.ns(role or self.role)]
        if user is not None:
            argv += ["setpriv", f"--reuid={user}",
                     f"--regid={group if group is not None else user}",
                     "--clear-groups"]
        argv += [self.programs["supportvpnctl"]] + list(args)
        env = dict(os.environ)
        env.pop("SUPPORTVPND_CONFIG", None)
        if config is AUTO:
            config = self.config_path
        if config is not None:
            env["SUPPORTVPND_CONFIG"] = config
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout,
                              env=self.bed.sanitizer_env(base=env))

    # -- observations ------------------------------------------------------------
    def openvpn_pids(self):
        """openvpn processes in the appliance's namespace."""
        return self.bed.pids(self.role, comm="openvpn")

    def tunnel_addrs(self):
        """The appliance's addresses in the tunnel pool (empty = no tun)."""
        return [a.split("/")[0] for _, a in nx.addresses(self.ns)
                if a.startswith("203.0.113.")]


def _merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v
