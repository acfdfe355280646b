/* SPDX-License-Identifier: MIT */
/*
 * What the plugin tells its daemon: one JSON object per datagram on the
 * unix socket named by the plugin's events= argument (on an appliance,
 * supportvpnd; on a hub, with mode=hub, supportvpn-hubd), and the owner
 * consent record the controller writes for the plugin to check. Both
 * sides use only the names defined here.
 */
#ifndef SUPPORTVPN_EVENT_H
#define SUPPORTVPN_EVENT_H

#define SVPN_EVENT_VERSION	1
/* Largest datagram either side sends or accepts. */
#define SVPN_EVENT_MAX		2048

/*
 * Every event: {"v": 1, "type": ..., "pid": <openvpn pid>, ...}.
 * Strings are JSON-escaped; a field that openvpn did not provide is left
 * out rather than sent empty.
 */
#define SVPN_EV_VERSION		"v"
#define SVPN_EV_TYPE		"type"
#define SVPN_EV_PID		"pid"

/* type values, one per hook */
#define SVPN_EV_TLS_VERIFY	"tls_verify"	/* depth, result, rule, reason, cn, sha256, server_ip, server_port */
#define SVPN_EV_IPCHANGE	"ipchange"	/* server_ip, server_port, cn */
#define SVPN_EV_UP		"up"		/* dev, local_ip, local_ip6, netmask, server_ip, server_port, cn, sha256 */
#define SVPN_EV_ROUTE_UP	"route_up"	/* dev, local_ip, server_ip, server_port */
#define SVPN_EV_ROUTE_PREDOWN	"route_predown"	/* dev, local_ip, signal */
#define SVPN_EV_DOWN		"down"		/* dev, local_ip, signal */

/*
 * mode=hub: the same envelope, sent by the vendor's openvpn server. Its
 * tls_verify carries the connecting peer's address as real_ip/real_port
 * (not server_ip/server_port) and, when depth 0 is accepted, its role:
 *   tls_verify: depth, result, rule, reason, cn, sha256, real_ip,
 *     real_port, role
 * One per CLIENT_CONNECT_V2, LEARN_ADDRESS and CLIENT_DISCONNECT:
 */
#define SVPN_EV_CLIENT_CONNECT	"client_connect"	/* cn, role, real_ip, real_port, tunnel_ip, sha256 */
#define SVPN_EV_LEARN_ADDRESS	"learn_address"		/* op, addr, cn, role */
#define SVPN_EV_CLIENT_DISCONNECT "client_disconnect"	/* cn, role, real_ip, tunnel_ip, bytes_in, bytes_out, duration_s */
/*
 * role is left out when the peer has none (its CN and root match no class
 * or both; the policy is unusable). learn_address: openvpn gives no cn for
 * "delete", and the plugin sends none and no role; an "add" or "update"
 * without a role was refused (openvpn then does not route that address to
 * the peer). openvpn sends "delete" late (when it reaps the route, and
 * not at all for a route the refusal kept out): client_disconnect, which
 * has tunnel_ip, is the prompt word that a peer is gone. Order seen with
 * openvpn 2.6.14: tls_verify (depth 1, 0), client_connect, learn_address
 * add; a peer that reconnects while its old session lives: tls_verify,
 * client_disconnect (old session), client_connect, learn_address "update"
 * of the same address. A refused add leaves the peer connected (it has
 * its address) but unrouted.
 */

/* fields */
#define SVPN_EV_DEPTH		"depth"		/* integer, TLS_VERIFY */
#define SVPN_EV_RESULT		"result"	/* "accepted" | "refused" */
#define SVPN_EV_RULE		"rule"		/* which rule refused (below) */
#define SVPN_EV_REASON		"reason"	/* a sentence for the log */
#define SVPN_EV_CN		"cn"		/* the certificate's CN */
#define SVPN_EV_SHA256		"sha256"	/* "sha256:" + 64 lowercase hex digits of the DER */
#define SVPN_EV_SERVER_IP	"server_ip"
#define SVPN_EV_SERVER_PORT	"server_port"	/* integer */
#define SVPN_EV_DEV		"dev"
#define SVPN_EV_LOCAL_IP	"local_ip"
#define SVPN_EV_LOCAL_IP6	"local_ip6"
#define SVPN_EV_NETMASK		"netmask"
#define SVPN_EV_SIGNAL		"signal"
/* mode=hub fields */
#define SVPN_EV_ROLE		"role"		/* SVPN_ROLE_* below */
#define SVPN_EV_REAL_IP		"real_ip"	/* the peer's address on the internet */
#define SVPN_EV_REAL_PORT	"real_port"	/* integer */
#define SVPN_EV_TUNNEL_IP	"tunnel_ip"	/* the peer's address in the tunnel */
#define SVPN_EV_OP		"op"		/* SVPN_OP_* below */
#define SVPN_EV_ADDR		"addr"		/* as openvpn gives it: a.b.c.d, a.b.c.d/nn, IPv6, or a MAC (tap) */
#define SVPN_EV_BYTES_IN	"bytes_in"	/* integer, from the peer, 0..2^63-1: may exceed 2^31 */
#define SVPN_EV_BYTES_OUT	"bytes_out"	/* integer, to the peer, the same */
#define SVPN_EV_DURATION_S	"duration_s"	/* integer, seconds connected */

/* op values (learn_address) */
#define SVPN_OP_ADD		"add"
#define SVPN_OP_UPDATE		"update"
#define SVPN_OP_DELETE		"delete"

#define SVPN_RESULT_ACCEPTED	"accepted"
#define SVPN_RESULT_REFUSED	"refused"

/* rule values: the check that refused a handshake */
#define SVPN_RULE_POLICY	"policy"	/* the policy file is missing or invalid */
#define SVPN_RULE_CA_PIN	"ca_pin"	/* the chain's root is not pinned */
#define SVPN_RULE_SERVER_EKU	"server_eku"	/* the leaf lacks serverAuth */
#define SVPN_RULE_SERVER_NAME	"server_name"	/* the leaf's CN is not allowed */
#define SVPN_RULE_CONSENT	"consent"	/* no valid owner consent */
#define SVPN_RULE_CERT		"cert"		/* the certificate could not be read */
/* mode=hub (policy, ca_pin and cert as above) */
#define SVPN_RULE_CLIENT_EKU	"client_eku"	/* the leaf lacks clientAuth */
#define SVPN_RULE_ROLE		"role"		/* root and CN match no class, or both */

/* role values (mode=hub): the class a peer's certificate belongs to */
#define SVPN_ROLE_APPLIANCE	"appliance"
#define SVPN_ROLE_STAFF		"staff"

/*
 * The consent record (run_dir/consent), written atomically by the
 * controller before it releases the hold and removed before it stops:
 * {"v": 2, "pid": <controller pid>, "granted_at": "<RFC 3339>"}. The
 * controller holds an open file description write lock (F_OFD_SETLK,
 * F_WRLCK, whole file) on it from before the rename until it removes it;
 * the pid is only for messages. It is valid only while someone holds a
 * write lock on it (only a writer can: the file is owned by root or by the
 * plugin's initial user, and not writable by group or others). v1 carried
 * a /proc start time instead of the lock, and is refused. The controller
 * prepares the record (written and locked) under run_dir/consent.tmp after
 * each stop, so a grant is one rename; "granted_at" is when it was
 * written, and the grant is the moment it appears under its name.
 */
#define SVPN_CONSENT_VERSION	2
#define SVPN_CONSENT_V		"v"
#define SVPN_CONSENT_PID	"pid"
#define SVPN_CONSENT_GRANTED_AT	"granted_at"
#define SVPN_CONSENT_MAX	1024

#endif
