/* SPDX-License-Identifier: MIT */
/*
 * The hub's client-certificate policy: parser, CN patterns, and the role
 * decision. Fingerprints and JSON list helpers are policy.c's; names
 * compare as ASCII bytes only (no locale), as there.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event.h"
#include "hub_policy.h"
#include "policy.h"
#include "supportvpn_event.h"

#define KEY_MODE	"mode"
#define KEY_NAMES	"names"
#define KEY_CA		"ca_sha256"
#define MODE_HUB	"hub"

/* The document's key for each class, classes[i]. */
static const char *const class_keys[HUB_N_ROLES] = { "appliances", "staff" };

/* What '*' stands for. */
static bool
star_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* What a pattern may hold besides one '*'. */
static bool
literal_char(unsigned char c)
{
	return star_char(c) || c == '.' || c == '@';
}

bool
hub_pattern_valid(const char *pattern)
{
	size_t i, stars = 0;

	for (i = 0; pattern[i] != '\0'; i++) {
		if (i >= HUB_NAME_MAX)
			return false;
		if (pattern[i] == '*')
			stars++;
		else if (!literal_char((unsigned char)pattern[i]))
			return false;
	}
	return i > 0 && stars <= 1;
}

bool
hub_name_match(const char *pattern, const char *name, size_t len)
{
	const char *star;
	size_t plen, pre, suf, i;

	if (len == 0 || len > HUB_NAME_MAX || memchr(name, '\0', len) != NULL)
		return false;
	if (!hub_pattern_valid(pattern))
		return false;
	plen = strlen(pattern);
	if ((star = strchr(pattern, '*')) == NULL)
		return plen == len && policy_case_equal(pattern, name, len);
	/* prefix, then one or more star characters, then suffix */
	pre = (size_t)(star - pattern);
	suf = plen - pre - 1;
	if (len < pre + 1 + suf ||
	    !policy_case_equal(pattern, name, pre) ||
	    !policy_case_equal(star + 1, name + len - suf, suf))
		return false;
	for (i = pre; i < len - suf; i++)
		if (!star_char((unsigned char)name[i]))
			return false;
	return true;
}

static bool
class_name_allowed(const struct hub_class *c, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < c->n_names; i++)
		if (hub_name_match(c->names[i], name, len))
			return true;
	return false;
}

bool
hub_policy_ca_pinned(const struct hub_policy *p,
    const unsigned char fp[POLICY_SHA256_LEN])
{
	bool found = false;
	int i;

	for (i = 0; i < HUB_N_ROLES; i++)
		found |= policy_fp_listed(p->classes[i].ca, p->classes[i].n_ca,
		    fp);
	return found;
}

enum hub_role
hub_policy_role(const struct hub_policy *p,
    const unsigned char root[POLICY_SHA256_LEN], const char *cn, size_t len,
    int *matches)
{
	enum hub_role role = HUB_ROLE_NONE;
	int i, n = 0;

	for (i = 0; p != NULL && i < HUB_N_ROLES; i++) {
		const struct hub_class *c = &p->classes[i];

		if (policy_fp_listed(c->ca, c->n_ca, root) &&
		    class_name_allowed(c, cn, len)) {
			role = (enum hub_role)(i + 1);
			n++;
		}
	}
	if (matches != NULL)
		*matches = n;
	return n == 1 ? role : HUB_ROLE_NONE;
}

enum hub_role
hub_policy_env_role(const struct hub_policy *p, const char *const *envp,
    const char *cn, int *matches)
{
	unsigned char root[POLICY_SHA256_LEN];
	const char *v;

	if (matches != NULL)
		*matches = 0;
	if (p == NULL || cn == NULL || event_env_top_digest(envp, &v) < 0 ||
	    policy_fingerprint_parse(v, root) < 0)
		return HUB_ROLE_NONE;
	return hub_policy_role(p, root, cn, strlen(cn), matches);
}

const char *
hub_role_name(enum hub_role role)
{
	switch (role) {
	case HUB_ROLE_APPLIANCE:
		return SVPN_ROLE_APPLIANCE;
	case HUB_ROLE_STAFF:
		return SVPN_ROLE_STAFF;
	case HUB_ROLE_NONE:
		break;
	}
	return NULL;
}

static void
class_free(struct hub_class *c)
{
	size_t i;

	for (i = 0; i < c->n_names; i++)
		free(c->names[i]);
	free(c->names);
	free(c->ca);
}

void
hub_policy_free(struct hub_policy *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < HUB_N_ROLES; i++)
		class_free(&p->classes[i]);
	free(p);
}

/* Only the keys in allowed (NULL-ended); where names obj in messages. */
static int
only_keys(json_t *obj, const char *const *allowed, const char *where,
    struct policy_error *err)
{
	const char *key;
	char shown[48];
	json_t *v;
	size_t i;
	bool ok;

	json_object_foreach(obj, key, v) {
		ok = false;
		for (i = 0; allowed[i] != NULL; i++)
			ok |= strcmp(key, allowed[i]) == 0;
		if (!ok) {
			event_printable(shown, sizeof(shown), key, strlen(key));
			policy_error_set(err, 0, "unknown key '%s'%s%s", shown,
			    where != NULL ? " in " : "", where != NULL ? where :
			    "");
			return -1;
		}
	}
	return 0;
}

static int
parse_names(struct hub_class *c, json_t *a, const char *where,
    struct policy_error *err)
{
	char shown[80];
	json_t *v;
	size_t i;

	if ((c->names = calloc(json_array_size(a), sizeof(*c->names))) ==
	    NULL)
		goto nomem;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);

		if (!hub_pattern_valid(s)) {
			event_printable(shown, sizeof(shown), s, strlen(s));
			policy_error_set(err, 0, "%s[%zu] '%s' is not a valid "
			    "name pattern (1..%d of [A-Za-z0-9_.@-], at most "
			    "one '*')", where, i, shown, HUB_NAME_MAX);
			return -1;
		}
		if ((c->names[i] = strdup(s)) == NULL)
			goto nomem;
		c->n_names++;
	}
	return 0;
nomem:
	policy_error_set(err, 0, "out of memory");
	return -1;
}

static int
parse_class(struct hub_class *c, json_t *root, const char *key,
    struct policy_error *err)
{
	static const char *const keys[] = { KEY_CA, KEY_NAMES, NULL };
	char w_names[32], w_ca[32];
	json_t *obj, *names, *cas;

	if ((obj = json_object_get(root, key)) == NULL) {
		policy_error_set(err, 0, "'%s' is missing", key);
		return -1;
	}
	if (!json_is_object(obj)) {
		policy_error_set(err, 0, "'%s' must be an object with '"
		    KEY_CA "' and '" KEY_NAMES "'", key);
		return -1;
	}
	if (only_keys(obj, keys, key, err) < 0)
		return -1;
	(void)snprintf(w_ca, sizeof(w_ca), "%s." KEY_CA, key);
	(void)snprintf(w_names, sizeof(w_names), "%s." KEY_NAMES, key);
	if ((cas = policy_json_list(obj, KEY_CA, w_ca, err)) == NULL ||
	    (names = policy_json_list(obj, KEY_NAMES, w_names, err)) == NULL)
		return -1;
	if (policy_json_fingerprints(cas, w_ca, &c->ca, &c->n_ca, err) < 0)
		return -1;
	return parse_names(c, names, w_names, err);
}

static int
check_mode(json_t *root, struct policy_error *err)
{
	json_t *v = json_object_get(root, KEY_MODE);

	if (v == NULL) {
		policy_error_set(err, 0, "'" KEY_MODE "' is missing (a hub "
		    "policy says \"" KEY_MODE "\": \"" MODE_HUB "\")");
		return -1;
	}
	if (!json_is_string(v) || strcmp(json_string_value(v), MODE_HUB) != 0) {
		policy_error_set(err, 0, "'" KEY_MODE "' must be \"" MODE_HUB
		    "\"");
		return -1;
	}
	return 0;
}

struct hub_policy *
hub_policy_parse(const char *buf, size_t len, struct policy_error *err)
{
	static const char *const keys[] = { KEY_MODE, "appliances", "staff",
	    NULL };
	struct hub_policy *p = NULL;
	json_error_t jerr;
	json_t *root;
	int i;

	memset(err, 0, sizeof(*err));
	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		policy_error_set(err, jerr.line, "not valid JSON: %s",
		    jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		policy_error_set(err, 0, "not a JSON object");
		goto fail;
	}
	if (only_keys(root, keys, NULL, err) < 0 || check_mode(root, err) < 0)
		goto fail;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		policy_error_set(err, 0, "out of memory");
		goto fail;
	}
	for (i = 0; i < HUB_N_ROLES; i++)
		if (parse_class(&p->classes[i], root, class_keys[i], err) < 0)
			goto fail;
	json_decref(root);
	return p;
fail:
	hub_policy_free(p);
	json_decref(root);
	return NULL;
}
