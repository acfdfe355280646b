# SPDX-License-Identifier: MIT
"""supportvpn's system-test bed: network namespaces, a real OpenVPN hub, the
appliance's supportvpnd, and clients for its API and for openvpn's
management protocol. See core.py for the layout; DESIGN.md section 8 for
the rules."""

from . import core, sanitizer
from .api import ApiClient, ApiClosed, ApiError
from .appliance import (SERVER_NAMES, Appliance, build_dir, client_config,
                        plugin_path, policy_doc, supportvpnctl_path,
                        supportvpnd_path, write_policy)
from .core import (ALL_PREFIXES, HUB2_IP, HUB_IP, HUB_TUNNEL_IP,
                   MEMBER_IPS, SILENT_DNS_IP, STAFF_IP, Bed, BedError, Hub,
                   PrivateTmpfs, Proc, TcpService, our_netns, probe,
                   sweep_stale, tail, wait_until)
from .mgmt import MgmtClient, MgmtError
from .netns import in_netns, list_netns, netns_pids, proc_comm
from .pki import Pki, normalize_fingerprint
from .web import Answer, EventStream, WebClient

__all__ = [
    "ApiClient", "ApiClosed", "ApiError", "Appliance", "SERVER_NAMES",
    "build_dir", "client_config", "plugin_path", "policy_doc",
    "supportvpnctl_path", "supportvpnd_path", "write_policy",
    "ALL_PREFIXES", "HUB2_IP", "HUB_IP", "HUB_TUNNEL_IP", "MEMBER_IPS",
    "STAFF_IP", "Bed", "BedError", "Hub", "PrivateTmpfs", "Proc",
    "TcpService", "our_netns", "probe", "sweep_stale", "tail", "wait_until", "MgmtClient", "MgmtError",
    "in_netns", "list_netns", "netns_pids", "proc_comm", "Pki",
    "normalize_fingerprint", "Answer", "EventStream", "WebClient",
]
