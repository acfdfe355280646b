/* SPDX-License-Identifier: MIT */
/*
 * The TLS_VERIFY decision on the chain a peer presents. openvpn calls once
 * per certificate, deepest first: the first call of a handshake is the top
 * of the verified chain (its fingerprint must be pinned); depth 0 is the
 * peer itself (pinned root seen in this handshake and in openvpn's env,
 * then in client mode, on a hub's certificate: serverAuth EKU, allowed
 * CN, owner consent; in hub mode, on an appliance's or a staff member's:
 * clientAuth EKU and exactly one role). Needs OpenSSL (libcrypto).
 */
#ifndef SUPPORTVPN_PLUGIN_VERIFY_H
#define SUPPORTVPN_PLUGIN_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "hub_policy.h"
#include "policy.h"

struct x509_st;

/* openvpn refuses chains deeper than this (MAX_CERT_DEPTH); the same as
 * EVENT_MAX_CERT_DEPTH. */
#define VERIFY_MAX_DEPTH	16

enum verify_rule {
	VERIFY_OK = 0,
	VERIFY_POLICY,
	VERIFY_CA_PIN,
	VERIFY_SERVER_EKU,
	VERIFY_SERVER_NAME,
	VERIFY_CONSENT,
	VERIFY_CERT,
	VERIFY_CLIENT_EKU,	/* hub mode */
	VERIFY_ROLE,		/* hub mode */
};

/* The SVPN_RULE_* word for a refusal; NULL for VERIFY_OK. */
const char	*verify_rule_name(enum verify_rule rule);

/*
 * What the current handshake has shown so far; zero it to start, and
 * release it with verify_state_deinit.
 */
struct verify_state {
	bool		 in_handshake;
	int		 top_depth;	/* depth of the handshake's first call */
	int		 last_depth;
	bool		 root_ok;	/* the top certificate was pinned */
	unsigned char	 root_fp[POLICY_SHA256_LEN];	/* and it is this */
	struct x509_st	*last_cert;	/* the last call's (a reference) */
};

/* What a decision needs; all borrowed for the call. */
struct verify_ctx {
	bool			 hub_mode;	/* hub: the next is unused */
	const struct policy	*policy;	/* NULL: refuse everything */
	const struct hub_policy	*hub;		/* hub mode; NULL: the same */
	const char		*policy_error;	/* why the policy is NULL */
	const char		*consent_path;	/* client mode only */
	uid_t			 consent_owner;	/* the uid at open time */
};

struct verify_result {
	enum verify_rule	rule;
	char			reason[400];
	/* The certificate's CN as read from it: up to 256 bytes of it,
	 * cn_len its full length, 0 when it has none. */
	char			cn[POLICY_NAME_MAX + 1];
	size_t			cn_len;
	char			sha256[POLICY_FP_TEXT_LEN];	/* "" if unknown */
	enum hub_role		role;	/* hub mode, accepted at depth 0 */
};

/*
 * Decides one TLS_VERIFY call. cert is openvpn's current_cert, or NULL
 * when it is not an OpenSSL X509 (the fingerprint then comes from env
 * tls_digest_sha256_<depth>, and depth 0 is refused with VERIFY_CERT).
 * envp is openvpn's env for the call. Fills res; updates st.
 */
void	verify_tls(struct verify_state *st, const struct verify_ctx *ctx,
	    int depth, struct x509_st *cert, const char *const *envp,
	    struct verify_result *res);

/* Drops the certificate reference the state holds. */
void	verify_state_deinit(struct verify_state *st);

/*
 * The certificate's one CN, converted to UTF-8, read with OpenSSL so that
 * an embedded NUL survives: copies up to size bytes into buf and sets
 * *len to its full length. 0; -1 no CN; -2 more than one; -3 unreadable.
 */
int	verify_cert_cn(struct x509_st *cert, char *buf, size_t size,
	    size_t *len);
/* SHA-256 of the DER encoding. 0 or -1. */
int	verify_cert_sha256(struct x509_st *cert,
	    unsigned char out[POLICY_SHA256_LEN]);
/* 1: EKU has serverAuth; 0: EKU without it; -1: no EKU extension;
 * -2: the extensions cannot be parsed. */
int	verify_cert_server_eku(struct x509_st *cert);
/* The same for clientAuth. */
int	verify_cert_client_eku(struct x509_st *cert);

#endif
