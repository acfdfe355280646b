/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the hub policy (plugin/hub_policy.c). The input
 * up to its first NUL is a policy document; what follows is "pattern NUL
 * name" for the matcher, checked against a slow reference. A parsed
 * policy's role decision must agree with its classes.
 *
 *   make build-fuzz/fuzz_hub_policy
 *   ./build-fuzz/fuzz_hub_policy -max_len=4096 corpus/
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub_policy.h"
#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
star_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Recursive: '*' takes one or more star characters. */
static bool
ref_match(const char *p, const char *n, size_t len)
{
	size_t k;

	if (*p == '\0')
		return len == 0;
	if (*p != '*')
		return len > 0 && lower((unsigned char)*p) ==
		    lower((unsigned char)*n) && ref_match(p + 1, n + 1, len - 1);
	for (k = 1; k <= len && star_char((unsigned char)n[k - 1]); k++)
		if (ref_match(p + 1, n + k, len - k))
			return true;
	return false;
}

static void
check_match(const char *pattern, const char *name, size_t len)
{
	bool want = hub_pattern_valid(pattern) && len > 0 &&
	    len <= HUB_NAME_MAX && memchr(name, '\0', len) == NULL &&
	    ref_match(pattern, name, len);

	if (hub_name_match(pattern, name, len) != want)
		abort();
}

static void
check_roles(const struct hub_policy *p, const char *cn, size_t len)
{
	const struct hub_class *c;
	enum hub_role role;
	size_t i;
	int r, n;

	for (r = 0; r < HUB_N_ROLES; r++) {
		c = &p->classes[r];
		if (c->n_ca == 0 || c->n_names == 0)
			abort();
		for (i = 0; i < c->n_names; i++)
			if (!hub_pattern_valid(c->names[i]))
				abort();
		/* Every pinned root of a class: the role follows the names. */
		for (i = 0; i < c->n_ca; i++) {
			if (!hub_policy_ca_pinned(p, c->ca[i]))
				abort();
			role = hub_policy_role(p, c->ca[i], cn, len, &n);
			if (n < 0 || n > HUB_N_ROLES ||
			    (role != HUB_ROLE_NONE) != (n == 1))
				abort();
			if (role != HUB_ROLE_NONE && hub_role_name(role) == NULL)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nul, *pattern, *name;
	struct policy_error err;
	struct hub_policy *p;
	size_t doc_len, rest;
	char *buf;

	nul = memchr(in, '\0', size);
	doc_len = nul != NULL ? (size_t)(nul - in) : size;
	p = hub_policy_parse(in, doc_len, &err);
	if (p == NULL && err.text[0] == '\0')
		abort();
	if (nul == NULL) {
		hub_policy_free(p);
		return 0;
	}
	/* "pattern NUL name": copies, so ASan sees the exact bounds. */
	rest = size - doc_len - 1;
	if ((buf = malloc(rest + 1)) == NULL)
		abort();
	memcpy(buf, nul + 1, rest);
	buf[rest] = '\0';
	pattern = buf;
	name = buf + strlen(buf);
	name += name < buf + rest ? 1 : 0;
	check_match(pattern, name, (size_t)(buf + rest - name));
	if (p != NULL)
		check_roles(p, name, (size_t)(buf + rest - name));
	free(buf);
	hub_policy_free(p);
	return 0;
}
