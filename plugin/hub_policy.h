/* SPDX-License-Identifier: MIT */
/*
 * The hub's client-certificate policy (mode=hub): two classes of peers,
 * appliances and staff, each with its pinned roots (SHA-256 of the DER)
 * and its CN patterns. A peer's role is the one class whose root AND name
 * both match. Parser, name matcher and role decision are pure (jansson
 * only), so tests and fuzzers link them without openvpn or OpenSSL.
 */
#ifndef SUPPORTVPN_PLUGIN_HUB_POLICY_H
#define SUPPORTVPN_PLUGIN_HUB_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

/* Longest CN (and pattern) that can ever match, in bytes: openvpn's own
 * limit on a common name (TLS_USERNAME_LEN). */
#define HUB_NAME_MAX	64

enum hub_role {
	HUB_ROLE_NONE = 0,	/* no class, or both: refused */
	HUB_ROLE_APPLIANCE,
	HUB_ROLE_STAFF,
};
#define HUB_N_ROLES	2

/* One class of peers; classes[role - 1] in struct hub_policy. */
struct hub_class {
	char		**names;	/* valid patterns, as written */
	size_t		  n_names;
	unsigned char	(*ca)[POLICY_SHA256_LEN];
	size_t		  n_ca;
};

struct hub_policy {
	struct hub_class	classes[HUB_N_ROLES];
};

/*
 * Parses a hub policy document: exactly the keys "mode" (the string
 * "hub"), "appliances" and "staff"; each class exactly "ca_sha256" and
 * "names", non-empty arrays of valid entries. Returns a new policy (free
 * with hub_policy_free), or NULL with err filled.
 */
struct hub_policy	*hub_policy_parse(const char *buf, size_t len,
			    struct policy_error *err);
/* Frees a policy. NULL-safe. */
void			 hub_policy_free(struct hub_policy *p);

/*
 * A pattern is 1..HUB_NAME_MAX bytes of [A-Za-z0-9_.@-] with at most one
 * '*', which stands for one or more of [A-Za-z0-9_-] (never '.', '@',
 * NUL or a space).
 */
bool	hub_pattern_valid(const char *pattern);
/*
 * Matches one name (len bytes, not NUL-terminated) against one pattern,
 * ASCII case-insensitive. An empty name, one with a NUL or longer than
 * HUB_NAME_MAX never matches, nor does any name against an invalid
 * pattern.
 */
bool	hub_name_match(const char *pattern, const char *name, size_t len);

/* True when fp is a pinned root of either class. */
bool	hub_policy_ca_pinned(const struct hub_policy *p,
	    const unsigned char fp[POLICY_SHA256_LEN]);

/*
 * The role of a certificate whose chain's top is root and whose CN is cn
 * (len bytes): the one class that pins root and has a pattern matching
 * cn. HUB_ROLE_NONE when no class or both do; *matches (if not NULL) then
 * says which: 0 or 2 (1 with a role). p NULL: no role.
 */
enum hub_role	hub_policy_role(const struct hub_policy *p,
		    const unsigned char root[POLICY_SHA256_LEN],
		    const char *cn, size_t len, int *matches);
/*
 * The same for a connected peer from openvpn's env for it (envp,
 * "name=value", NULL-ended): the root is its deepest tls_digest_sha256_N,
 * which openvpn set when it verified the chain. cn NUL-terminated; NULL
 * gives no role.
 */
enum hub_role	hub_policy_env_role(const struct hub_policy *p,
		    const char *const *envp, const char *cn, int *matches);

/* SVPN_ROLE_APPLIANCE or SVPN_ROLE_STAFF; NULL for HUB_ROLE_NONE. */
const char	*hub_role_name(enum hub_role role);

#endif
