/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the appliance plugin's client policy
 * (plugin/policy.c): the parser, the server-name matcher and the
 * fingerprint parser. The input up to its first NUL is a policy document;
 * what follows is "pattern NUL name" (the name may hold more NULs). The
 * matcher is checked against a reference that compares label lists, the
 * fingerprint parser against one that strips colons first, and a parsed
 * policy against what it promises (valid patterns, pinned roots that
 * survive printing and parsing).
 *
 *   make fuzz FUZZERS=fuzz_policy
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LABELS	(POLICY_NAME_MAX / 2 + 2)

struct labels {
	size_t		 n;
	const char	*p[MAX_LABELS];
	size_t		 len[MAX_LABELS];
};

static bool
ref_label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* One label of a host name: 1..63 label characters, no '-' at either end. */
static bool
ref_label(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > POLICY_LABEL_MAX || s[0] == '-' ||
	    s[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++)
		if (!ref_label_char((unsigned char)s[i]))
			return false;
	return true;
}

/* Splits s[0..len) at every '.'; false when any label is not a label. */
static bool
ref_split(const char *s, size_t len, struct labels *l)
{
	size_t start = 0, i;

	l->n = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (l->n == MAX_LABELS || !ref_label(s + start, i - start))
			return false;
		l->p[l->n] = s + start;
		l->len[l->n++] = i - start;
		start = i + 1;
	}
	return true;
}

static bool
ref_host(const char *s, size_t len, struct labels *l)
{
	return len >= 1 && len <= POLICY_NAME_MAX && memchr(s, '\0', len) ==
	    NULL && ref_split(s, len, l);
}

/* A pattern: a host name, or "*." and a host name; *wild says which. */
static bool
ref_pattern(const char *pattern, struct labels *l, bool *wild)
{
	size_t len = strlen(pattern);

	*wild = len >= 2 && pattern[0] == '*' && pattern[1] == '.';
	if (len > POLICY_NAME_MAX)
		return false;
	return *wild ? ref_host(pattern + 2, len - 2, l) :
	    ref_host(pattern, len, l);
}

/* The name's labels after the wildcard's equal the pattern's, any case. */
static bool
ref_match(const char *pattern, const char *name, size_t len)
{
	struct labels pl, nl;
	size_t skip, i;
	bool wild;

	if (!ref_pattern(pattern, &pl, &wild) || !ref_host(name, len, &nl))
		return false;
	skip = wild ? 1 : 0;
	if (nl.n != pl.n + skip)
		return false;
	for (i = 0; i < pl.n; i++)
		if (nl.len[i + skip] != pl.len[i] ||
		    strncasecmp(nl.p[i + skip], pl.p[i], pl.len[i]) != 0)
			return false;
	return true;
}

/* What the matcher promises whatever the pattern: these never match. */
static bool
never_matches(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > POLICY_NAME_MAX || name[0] == '.' ||
	    name[len - 1] == '.')
		return true;
	for (i = 0; i < len; i++)
		if (name[i] == '\0' || (i > 0 && name[i] == '.' &&
		    name[i - 1] == '.'))
			return true;
	return false;
}

static void
check_match(const char *pattern, const char *name, size_t len)
{
	bool got = policy_name_match(pattern, name, len), wild;
	struct labels l;
	char *upper;
	size_t i;

	if (policy_pattern_valid(pattern) != ref_pattern(pattern, &l, &wild))
		abort();
	if (got != ref_match(pattern, name, len))
		abort();
	if (got && never_matches(name, len))
		abort();
	/* Case never matters. */
	if ((upper = malloc(len + 1)) == NULL)
		abort();
	for (i = 0; i < len; i++)
		upper[i] = (name[i] >= 'a' && name[i] <= 'z') ?
		    (char)(name[i] - 'a' + 'A') : name[i];
	upper[len] = '\0';
	if (policy_name_match(pattern, upper, len) != got)
		abort();
	free(upper);
}

static int
ref_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * After an optional prefix, 64 hex digits where a ':' may follow any
 * even count of them but the last, each at most once.
 */
static bool
ref_fingerprint(const char *text, unsigned char out[POLICY_SHA256_LEN])
{
	size_t digits = 0;
	const char *p = text;

	if (strncasecmp(p, "sha256 fingerprint=", 19) == 0)
		p += 19;
	else if (strncasecmp(p, "sha256:", 7) == 0)
		p += 7;
	for (; *p != '\0'; p++) {
		if (*p == ':') {
			if (digits == 0 || digits % 2 != 0 || digits == 64 ||
			    p[-1] == ':')
				return false;
			continue;
		}
		if (ref_hex((unsigned char)*p) < 0 || digits == 64)
			return false;
		if (digits % 2 == 0)
			out[digits / 2] = (unsigned char)(ref_hex(*p) << 4);
		else
			out[digits / 2] |= (unsigned char)ref_hex(*p);
		digits++;
	}
	return digits == 64 && p[-1] != ':';
}

static void
check_fingerprint(const char *text)
{
	unsigned char got[POLICY_SHA256_LEN], want[POLICY_SHA256_LEN];
	char shown[POLICY_FP_TEXT_LEN];
	bool ok = policy_fingerprint_parse(text, got) == 0;

	if (ok != ref_fingerprint(text, want))
		abort();
	if (!ok)
		return;
	if (memcmp(got, want, sizeof(got)) != 0)
		abort();
	policy_fingerprint_format(got, shown);
	if (strlen(shown) != POLICY_FP_TEXT_LEN - 1 ||
	    policy_fingerprint_parse(shown, want) != 0 ||
	    memcmp(got, want, sizeof(got)) != 0)
		abort();
}

static void
check_policy(const struct policy *p, const char *name, size_t len)
{
	unsigned char fp[POLICY_SHA256_LEN];
	char shown[POLICY_FP_TEXT_LEN];
	bool any = false, wild;
	struct labels l;
	size_t i, j;

	if (p->n_names == 0 || p->n_ca == 0)
		abort();
	for (i = 0; i < p->n_names; i++) {
		if (!policy_pattern_valid(p->names[i]) ||
		    !ref_pattern(p->names[i], &l, &wild))
			abort();
		any |= ref_match(p->names[i], name, len);
	}
	if (policy_name_allowed(p, name, len) != any)
		abort();
	for (i = 0; i < p->n_ca; i++) {
		policy_fingerprint_format(p->ca[i], shown);
		if (policy_fingerprint_parse(shown, fp) != 0 ||
		    memcmp(fp, p->ca[i], sizeof(fp)) != 0 ||
		    !policy_ca_pinned(p, fp))
			abort();
		/* One bit off is pinned only if listed as such. */
		fp[i % POLICY_SHA256_LEN] ^= 1;
		any = false;
		for (j = 0; j < p->n_ca; j++)
			any |= memcmp(fp, p->ca[j], sizeof(fp)) == 0;
		if (policy_ca_pinned(p, fp) != any)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nul, *name;
	struct policy_error err;
	struct policy *p;
	size_t doc_len, rest, name_len;
	char *buf;

	nul = memchr(in, '\0', size);
	doc_len = nul != NULL ? (size_t)(nul - in) : size;
	p = policy_parse(in, doc_len, &err);
	if (p == NULL && (err.text[0] == '\0' ||
	    memchr(err.text, '\0', sizeof(err.text)) == NULL))
		abort();
	/* "pattern NUL name", copied so that ASan sees the exact bounds. */
	rest = nul != NULL ? size - doc_len - 1 : 0;
	if ((buf = malloc(rest + 1)) == NULL)
		abort();
	if (rest > 0)
		memcpy(buf, nul + 1, rest);
	buf[rest] = '\0';
	name = buf + strlen(buf);
	name += name < buf + rest ? 1 : 0;
	name_len = (size_t)(buf + rest - name);
	check_match(buf, name, name_len);
	check_fingerprint(name);
	if (p != NULL)
		check_policy(p, name, name_len);
	free(buf);
	policy_free(p);
	return 0;
}
