/* SPDX-License-Identifier: MIT */
/*
 * What the plugin tells the controller: one JSON object per datagram on
 * the unix socket named by the plugin's events= argument, and the owner
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
 * {"v": 1, "pid": <controller pid>, "start_time": <field 22 of
 * /proc/<pid>/stat>, "granted_at": "<RFC 3339>"}. It is valid only while
 * that process (same pid and start time) lives, the file is owned by root
 * or by the plugin's initial user, and it is not writable by group or
 * others.
 */
#define SVPN_CONSENT_VERSION	1
#define SVPN_CONSENT_V		"v"
#define SVPN_CONSENT_PID	"pid"
#define SVPN_CONSENT_START_TIME	"start_time"
#define SVPN_CONSENT_GRANTED_AT	"granted_at"
#define SVPN_CONSENT_MAX	1024

#endif
