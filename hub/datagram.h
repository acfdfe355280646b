/* SPDX-License-Identifier: MIT */
/*
 * What the plugin in hub mode sends: one JSON object per datagram,
 * {"v": 1, "type": T, "pid": P, ...}, decoded into a plain struct after
 * every field has been checked. The names are the plugin's, defined once
 * in include/supportvpn_event.h.
 */
#ifndef SUPPORTVPN_HUB_DATAGRAM_H
#define SUPPORTVPN_HUB_DATAGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ident.h"
#include "supportvpn_event.h"

/* Longest text field kept (reason); longer ones are refused. */
#define DATAGRAM_TEXT_MAX	256
/* An address as openvpn prints it (IPv4, IPv6, a subnet, a MAC). */
#define DATAGRAM_ADDR_MAX	64
#define DATAGRAM_IP_MAX		46	/* INET6_ADDRSTRLEN */

enum datagram_type {
	DATAGRAM_CLIENT_CONNECT = 1,
	DATAGRAM_LEARN_ADDRESS,
	DATAGRAM_CLIENT_DISCONNECT,
	DATAGRAM_TLS_VERIFY,
};

enum datagram_op {
	DATAGRAM_OP_ADD = 1,
	DATAGRAM_OP_UPDATE,
	DATAGRAM_OP_DELETE,
};

/*
 * A decoded event. Strings are "" when the field was absent; has_* say
 * whether a number was present.
 */
struct datagram {
	enum datagram_type	 type;
	long			 pid;
	char			 cn[IDENT_CN_MAX + 1];
	enum ident_role		 role;		/* NONE when absent */
	char			 real_ip[DATAGRAM_IP_MAX];
	int			 real_port;	/* -1 when absent */
	char			 tunnel_ip[DATAGRAM_IP_MAX];
	char			 sha256[80];
	/* learn_address */
	enum datagram_op	 op;
	char			 addr[DATAGRAM_ADDR_MAX + 1];
	/* client_disconnect */
	bool			 has_bytes;
	uint64_t		 bytes_in, bytes_out;
	bool			 has_duration;
	int64_t			 duration_s;
	/* tls_verify */
	int			 depth;
	bool			 accepted;
	char			 rule[32];
	char			 reason[DATAGRAM_TEXT_MAX + 1];
};

/*
 * Checks and decodes one datagram of len bytes (not NUL-terminated):
 * size, JSON object, version, type, required fields per type, no unknown
 * field, every value of the right type and within its bounds. 0 with *out
 * filled, or -1 with why (a sentence, truncated to whylen) filled.
 */
int	datagram_decode(const char *buf, size_t len, struct datagram *out,
	    char *why, size_t whylen);
/* The type's wire name (static). */
const char *datagram_type_name(enum datagram_type type);

#endif
