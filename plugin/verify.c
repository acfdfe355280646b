/* SPDX-License-Identifier: MIT */
/*
 * TLS_VERIFY: the certificate rules, decided per depth as openvpn walks the
 * chain from its top down to the peer. In client mode the peer is a hub
 * (serverAuth, a support server name, owner consent); in hub mode it is an
 * appliance or a staff member (clientAuth, a role). The root pin and the
 * chain walk are the same in both. Each refusal names its rule.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "consent.h"
#include "event.h"
#include "hub_policy.h"
#include "policy.h"
#include "supportvpn_event.h"
#include "verify.h"

const char *
verify_rule_name(enum verify_rule rule)
{
	switch (rule) {
	case VERIFY_OK:
		return NULL;
	case VERIFY_POLICY:
		return SVPN_RULE_POLICY;
	case VERIFY_CA_PIN:
		return SVPN_RULE_CA_PIN;
	case VERIFY_SERVER_EKU:
		return SVPN_RULE_SERVER_EKU;
	case VERIFY_SERVER_NAME:
		return SVPN_RULE_SERVER_NAME;
	case VERIFY_CONSENT:
		return SVPN_RULE_CONSENT;
	case VERIFY_CERT:
		return SVPN_RULE_CERT;
	case VERIFY_CLIENT_EKU:
		return SVPN_RULE_CLIENT_EKU;
	case VERIFY_ROLE:
		return SVPN_RULE_ROLE;
	}
	return SVPN_RULE_CERT;
}

int
verify_cert_cn(X509 *cert, char *buf, size_t size, size_t *len)
{
	X509_NAME *subject = X509_get_subject_name(cert);
	X509_NAME_ENTRY *entry;
	unsigned char *utf8 = NULL;
	int idx, n;

	*len = 0;
	if (subject == NULL ||
	    (idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)) < 0)
		return -1;
	if (X509_NAME_get_index_by_NID(subject, NID_commonName, idx) >= 0)
		return -2;
	if ((entry = X509_NAME_get_entry(subject, idx)) == NULL ||
	    (n = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(entry))) < 0)
		return -3;
	*len = (size_t)n;
	memcpy(buf, utf8, (size_t)n < size ? (size_t)n : size);
	OPENSSL_free(utf8);
	return 0;
}

int
verify_cert_sha256(X509 *cert, unsigned char out[POLICY_SHA256_LEN])
{
	unsigned int n = 0;

	if (X509_digest(cert, EVP_sha256(), out, &n) != 1 ||
	    n != POLICY_SHA256_LEN)
		return -1;
	return 0;
}

/* 1: EKU has the purpose; 0: EKU without it; -1: no EKU; -2: broken. */
static int
cert_eku(X509 *cert, uint32_t xku)
{
	uint32_t flags = X509_get_extension_flags(cert);

	if (flags & EXFLAG_INVALID)
		return -2;
	if (!(flags & EXFLAG_XKUSAGE))
		return -1;
	return (X509_get_extended_key_usage(cert) & xku) ? 1 : 0;
}

int
verify_cert_server_eku(X509 *cert)
{
	return cert_eku(cert, XKU_SSL_SERVER);
}

int
verify_cert_client_eku(X509 *cert)
{
	return cert_eku(cert, XKU_SSL_CLIENT);
}

static enum verify_rule
refuse(struct verify_result *res, enum verify_rule rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum verify_rule
refuse(struct verify_result *res, enum verify_rule rule, const char *fmt, ...)
{
	va_list ap;

	res->rule = rule;
	va_start(ap, fmt);
	(void)vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return rule;
}

/* The current certificate's fingerprint: from the X509, else the env. */
static int
current_fingerprint(X509 *cert, int depth, const char *const *envp,
    unsigned char fp[POLICY_SHA256_LEN])
{
	char name[sizeof(EVENT_DIGEST_ENV) + 4];
	const char *v;

	if (cert != NULL)
		return verify_cert_sha256(cert, fp);
	(void)snprintf(name, sizeof(name), EVENT_DIGEST_ENV "%d", depth);
	if ((v = event_env_get(envp, name)) == NULL)
		return -1;
	return policy_fingerprint_parse(v, fp);
}

/* fp is a pinned root of the mode's policy (either class in hub mode). */
static bool
pinned(const struct verify_ctx *ctx, const unsigned char *fp)
{
	if (ctx->hub_mode)
		return hub_policy_ca_pinned(ctx->hub, fp);
	return policy_ca_pinned(ctx->policy, fp);
}

/* The top of the chain in this handshake: its fingerprint is pinned. */
static enum verify_rule
check_top(struct verify_state *st, const struct verify_ctx *ctx,
    const unsigned char *fp, struct verify_result *res)
{
	if (fp == NULL)
		return refuse(res, VERIFY_CERT, "the root certificate's "
		    "fingerprint cannot be computed");
	if (!pinned(ctx, fp))
		return refuse(res, VERIFY_CA_PIN, "the chain's root "
		    "certificate is not one of the pinned ca_sha256 "
		    "fingerprints");
	st->root_ok = true;
	memcpy(st->root_fp, fp, sizeof(st->root_fp));
	return VERIFY_OK;
}

/* Depth 0: the root seen in this handshake is also the env's root. */
static enum verify_rule
check_root_again(const struct verify_state *st, const struct verify_ctx *ctx,
    const char *const *envp, struct verify_result *res)
{
	unsigned char fp[POLICY_SHA256_LEN];
	const char *v;
	int top;

	if (!st->root_ok)
		return refuse(res, VERIFY_CA_PIN, "no root certificate was "
		    "checked in this handshake");
	if ((top = event_env_top_digest(envp, &v)) < 0 ||
	    policy_fingerprint_parse(v, fp) < 0)
		return refuse(res, VERIFY_CA_PIN, "openvpn's environment "
		    "has no fingerprint for the chain's root");
	if (!pinned(ctx, fp))
		return refuse(res, VERIFY_CA_PIN, "the chain's root (depth "
		    "%d in openvpn's environment) is not one of the pinned "
		    "ca_sha256 fingerprints", top);
	/*
	 * The hub's later hooks take the role's root from the env: it must be
	 * the root checked here, or the two could name different roles.
	 */
	if (ctx->hub_mode && memcmp(fp, st->root_fp, sizeof(fp)) != 0)
		return refuse(res, VERIFY_CA_PIN, "the chain's root in "
		    "openvpn's environment (depth %d) is not the root checked "
		    "in this handshake", top);
	return VERIFY_OK;
}

/* The leaf's EKU: serverAuth for a hub, clientAuth for a hub's peer. */
static enum verify_rule
check_eku(X509 *cert, bool client, struct verify_result *res)
{
	enum verify_rule rule = client ? VERIFY_CLIENT_EKU : VERIFY_SERVER_EKU;
	const char *purpose = client ? "clientAuth" : "serverAuth";

	switch (client ? verify_cert_client_eku(cert) :
	    verify_cert_server_eku(cert)) {
	case 1:
		return VERIFY_OK;
	case 0:
		return refuse(res, rule, "the certificate's extended key usage "
		    "lacks %s", purpose);
	case -1:
		return refuse(res, rule, "the certificate has no extended key "
		    "usage (%s is required)", purpose);
	default:
		return refuse(res, VERIFY_CERT, "the certificate's extensions "
		    "cannot be parsed");
	}
}

/* Why the CN cannot be a name at all (NULL when it can), max bytes long. */
static const char *
cn_unusable(int cn_rc, const struct verify_result *res, size_t max)
{
	if (cn_rc == -1)
		return "the certificate has no CN";
	if (cn_rc == -2)
		return "the certificate has more than one CN";
	if (cn_rc < 0)
		return "the certificate's CN cannot be read";
	if (res->cn_len > max)
		return max == HUB_NAME_MAX ? "CN is longer than 64 bytes" :
		    "CN is longer than 255 bytes";
	if (memchr(res->cn, '\0', res->cn_len) != NULL)
		return "CN contains a NUL byte";
	return NULL;
}

static enum verify_rule
check_name(const struct verify_ctx *ctx, int cn_rc, struct verify_result *res)
{
	const char *why = cn_unusable(cn_rc, res, POLICY_NAME_MAX);

	if (why == NULL) {
		if (policy_name_allowed(ctx->policy, res->cn, res->cn_len))
			return VERIFY_OK;
		why = "CN is not one of the allowed support server names";
	}
	return refuse(res, VERIFY_SERVER_NAME, "%s", why);
}

/* Hub mode: the one class whose root and name both match. */
static enum verify_rule
check_role(const struct verify_state *st, const struct verify_ctx *ctx,
    int cn_rc, struct verify_result *res)
{
	const char *why = cn_unusable(cn_rc, res, HUB_NAME_MAX);
	int n = 0;

	if (why == NULL && res->cn_len == 0)
		why = "the certificate's CN is empty";
	if (why != NULL)
		return refuse(res, VERIFY_ROLE, "%s", why);
	res->role = hub_policy_role(ctx->hub, st->root_fp, res->cn,
	    res->cn_len, &n);
	if (res->role != HUB_ROLE_NONE)
		return VERIFY_OK;
	if (n > 1)
		return refuse(res, VERIFY_ROLE, "the CN and root match both "
		    "appliances and staff");
	return refuse(res, VERIFY_ROLE, "no class (appliances, staff) both "
	    "pins the chain's root and has a name pattern matching the CN");
}

static enum verify_rule
check_consent(const struct verify_ctx *ctx, struct verify_result *res)
{
	enum consent_status cs;
	char why[300];

	cs = consent_check(ctx->consent_path, ctx->consent_owner, why,
	    sizeof(why));
	if (cs == CONSENT_OK)
		return VERIFY_OK;
	return refuse(res, VERIFY_CONSENT, "no owner consent: %s (%s)",
	    consent_status_name(cs), why);
}

/* Depth 0, after the chain's top was seen: the peer's own certificate. */
static enum verify_rule
check_leaf(const struct verify_state *st, const struct verify_ctx *ctx,
    X509 *cert, int cn_rc, const char *const *envp,
    struct verify_result *res)
{
	if (check_root_again(st, ctx, envp, res) != VERIFY_OK)
		return res->rule;
	if (cert == NULL)
		return refuse(res, VERIFY_CERT, "the certificate is not "
		    "available to the plugin (openvpn is not built with "
		    "OpenSSL)");
	if (check_eku(cert, ctx->hub_mode, res) != VERIFY_OK)
		return res->rule;
	if (ctx->hub_mode) {
		if (check_role(st, ctx, cn_rc, res) != VERIFY_OK)
			return res->rule;
		snprintf(res->reason, sizeof(res->reason), "client "
		    "certificate accepted: pinned root, clientAuth, role %s",
		    hub_role_name(res->role));
		return VERIFY_OK;
	}
	if (check_name(ctx, cn_rc, res) != VERIFY_OK ||
	    check_consent(ctx, res) != VERIFY_OK)
		return res->rule;
	snprintf(res->reason, sizeof(res->reason), "hub certificate accepted: "
	    "pinned root, serverAuth, allowed name, owner consent");
	return VERIFY_OK;
}

/*
 * openvpn walks each chain from its top down to 0, one depth at a time,
 * each certificate issued by the one before. Anything else starts a new
 * handshake whose first call is its chain's top: so a handshake that
 * openvpn abandoned after our root call cannot lend its root to the next.
 */
static bool
continues(const struct verify_state *st, int depth, X509 *cert)
{
	if (!st->in_handshake || depth != st->last_depth - 1)
		return false;
	if (cert == NULL || st->last_cert == NULL)
		return true;
	return X509_check_issued(st->last_cert, cert) == X509_V_OK;
}

static void
remember(struct verify_state *st, X509 *cert)
{
	X509_free(st->last_cert);
	st->last_cert = NULL;
	if (cert != NULL && X509_up_ref(cert) == 1)
		st->last_cert = cert;
}

void
verify_state_deinit(struct verify_state *st)
{
	X509_free(st->last_cert);
	memset(st, 0, sizeof(*st));
}

static enum verify_rule
decide(struct verify_state *st, const struct verify_ctx *ctx, int depth,
    X509 *cert, int cn_rc, const unsigned char *fp, const char *const *envp,
    struct verify_result *res)
{
	if (ctx->hub_mode ? ctx->hub == NULL : ctx->policy == NULL)
		return refuse(res, VERIFY_POLICY, "%s", ctx->policy_error);
	if (depth < 0 || depth >= VERIFY_MAX_DEPTH)
		return refuse(res, VERIFY_CERT, "certificate depth %d is out "
		    "of range", depth);
	if (!continues(st, depth, cert)) {
		st->in_handshake = true;
		st->top_depth = depth;
		st->root_ok = false;
	}
	st->last_depth = depth;
	if (depth == st->top_depth && check_top(st, ctx, fp, res) != VERIFY_OK)
		return res->rule;
	if (depth > 0) {
		snprintf(res->reason, sizeof(res->reason), "%s",
		    depth == st->top_depth ? "the chain's root is pinned" :
		    "intermediate certificate below a pinned root");
		return VERIFY_OK;
	}
	return check_leaf(st, ctx, cert, cn_rc, envp, res);
}

void
verify_tls(struct verify_state *st, const struct verify_ctx *ctx, int depth,
    X509 *cert, const char *const *envp, struct verify_result *res)
{
	unsigned char fp[POLICY_SHA256_LEN];
	bool have_fp;
	int cn_rc = -1;

	memset(res, 0, sizeof(*res));
	have_fp = current_fingerprint(cert, depth, envp, fp) == 0;
	if (have_fp)
		policy_fingerprint_format(fp, res->sha256);
	if (cert != NULL)
		cn_rc = verify_cert_cn(cert, res->cn, sizeof(res->cn),
		    &res->cn_len);
	res->rule = decide(st, ctx, depth, cert, cn_rc, have_fp ? fp : NULL,
	    envp, res);
	/* A refusal ends the handshake; so does its last certificate. */
	if (res->rule != VERIFY_OK || depth == 0) {
		st->in_handshake = false;
		remember(st, NULL);
	} else {
		remember(st, cert);
	}
}
