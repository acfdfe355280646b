/* SPDX-License-Identifier: MIT */
/*
 * The element computation: sessions x grants -> the sets' contents.
 * Addresses are sorted by (CN, role) once, so each grant finds its two
 * sides by binary search instead of scanning every address.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "grants.h"
#include "ruleset.h"

static int
cmp_addr(const void *a, const void *b)
{
	const struct rs_addr *x = *(const struct rs_addr *const *)a;
	const struct rs_addr *y = *(const struct rs_addr *const *)b;
	int c = strcmp(x->cn, y->cn);

	if (c != 0)
		return c;
	if (x->role != y->role)
		return x->role < y->role ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_elem(const void *a, const void *b)
{
	const struct rs_elem *x = a, *y = b;

	if (x->staff != y->staff)
		return x->staff < y->staff ? -1 : 1;
	return x->appliance < y->appliance ? -1 : x->appliance > y->appliance;
}

/* Sorts and drops repeats; returns the new count. */
static size_t
unique_u32(uint32_t *v, size_t n)
{
	size_t i, j = 0;

	if (n == 0)
		return 0;	/* v may be NULL; qsort wants an array */
	qsort(v, n, sizeof(*v), cmp_u32);
	for (i = 0; i < n; i++)
		if (j == 0 || v[j - 1] != v[i])
			v[j++] = v[i];
	return j;
}

/* The same pair twice keeps the later expiry. */
static size_t
unique_elems(struct rs_elem *v, size_t n)
{
	size_t i, j = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_elem);
	for (i = 0; i < n; i++) {
		if (j > 0 && cmp_elem(&v[j - 1], &v[i]) == 0) {
			if (v[i].expires_ms > v[j - 1].expires_ms)
				v[j - 1].expires_ms = v[i].expires_ms;
			continue;
		}
		v[j++] = v[i];
	}
	return j;
}

/* [*first, *first + return) are sorted[]'s entries for cn and role. */
static size_t
find_range(const struct rs_addr *const *sorted, size_t n, const char *cn,
    enum ident_role role, size_t *first)
{
	struct rs_addr key = { 0, cn, role };
	const struct rs_addr *kp = &key;
	size_t lo = 0, hi = n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_addr(&sorted[mid], &kp) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < n && sorted[end]->role == role &&
	    strcmp(sorted[end]->cn, cn) == 0; end++)
		continue;
	*first = lo;
	return end - lo;
}

static int
push_elem(struct ruleset *rs, size_t *cap, uint32_t staff, uint32_t appl,
    int64_t expires_ms)
{
	struct rs_elem *nv;

	if (rs->ngrants == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;

		if (ncap > SIZE_MAX / sizeof(*nv) ||
		    (nv = realloc(rs->grants, ncap * sizeof(*nv))) == NULL)
			return -ENOMEM;
		rs->grants = nv;
		*cap = ncap;
	}
	rs->grants[rs->ngrants].staff = staff;
	rs->grants[rs->ngrants].appliance = appl;
	rs->grants[rs->ngrants].expires_ms = expires_ms;
	rs->ngrants++;
	return 0;
}

static int
add_sets(const struct rs_addr *addrs, size_t naddrs, struct ruleset *rs)
{
	size_t i;

	if (naddrs == 0)
		return 0;
	rs->appliances = calloc(naddrs, sizeof(*rs->appliances));
	rs->staff = calloc(naddrs, sizeof(*rs->staff));
	if (rs->appliances == NULL || rs->staff == NULL)
		return -ENOMEM;
	for (i = 0; i < naddrs; i++) {
		if (addrs[i].role == IDENT_ROLE_APPLIANCE)
			rs->appliances[rs->nappliances++] = addrs[i].addr;
		else if (addrs[i].role == IDENT_ROLE_STAFF)
			rs->staff[rs->nstaff++] = addrs[i].addr;
	}
	rs->nappliances = unique_u32(rs->appliances, rs->nappliances);
	rs->nstaff = unique_u32(rs->staff, rs->nstaff);
	return 0;
}

static int
add_grant(const struct rs_addr *const *sorted, size_t naddrs,
    const struct grant *g, struct ruleset *rs, size_t *cap, size_t *count)
{
	size_t s0, ns, a0, na, i, j;

	ns = find_range(sorted, naddrs, g->staff, IDENT_ROLE_STAFF, &s0);
	na = find_range(sorted, naddrs, g->appliance, IDENT_ROLE_APPLIANCE,
	    &a0);
	for (i = 0; i < ns; i++)
		for (j = 0; j < na; j++)
			if (push_elem(rs, cap, sorted[s0 + i]->addr,
			    sorted[a0 + j]->addr, g->expires_ms) < 0)
				return -ENOMEM;
	*count = ns * na;
	return 0;
}

int
ruleset_compute(const struct rs_addr *addrs, size_t naddrs,
    const struct grant *grants, size_t ngrants, int64_t now_ms,
    struct ruleset *out, size_t *counts)
{
	const struct rs_addr **sorted = NULL;
	size_t i, cap = 0, count;
	int rc = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (counts != NULL && ngrants > 0)
		memset(counts, 0, ngrants * sizeof(*counts));
	if (add_sets(addrs, naddrs, out) < 0)
		goto out;
	if (naddrs > 0 && (sorted = calloc(naddrs, sizeof(*sorted))) == NULL)
		goto out;
	for (i = 0; i < naddrs; i++)
		sorted[i] = &addrs[i];
	if (naddrs > 0)
		qsort(sorted, naddrs, sizeof(*sorted), cmp_addr);
	for (i = 0; i < ngrants; i++) {
		if (!grants_active(&grants[i], now_ms))
			continue;
		if (add_grant(sorted, naddrs, &grants[i], out, &cap, &count) < 0)
			goto out;
		if (counts != NULL)
			counts[i] = count;
	}
	out->ngrants = unique_elems(out->grants, out->ngrants);
	rc = 0;
out:
	free(sorted);
	if (rc < 0)
		ruleset_deinit(out);
	return rc;
}

/* A copy of n elements of size bytes; NULL for none or on failure. */
static void *
memdup(const void *src, size_t n, size_t size, bool *failed)
{
	void *p;

	if (n == 0)
		return NULL;
	if ((p = malloc(n * size)) == NULL) {
		*failed = true;
		return NULL;
	}
	memcpy(p, src, n * size);
	return p;
}

int
ruleset_copy(struct ruleset *dst, const struct ruleset *src)
{
	bool failed = false;

	memset(dst, 0, sizeof(*dst));
	dst->appliances = memdup(src->appliances, src->nappliances,
	    sizeof(*src->appliances), &failed);
	dst->staff = memdup(src->staff, src->nstaff, sizeof(*src->staff),
	    &failed);
	dst->grants = memdup(src->grants, src->ngrants, sizeof(*src->grants),
	    &failed);
	if (failed) {
		ruleset_deinit(dst);
		return -ENOMEM;
	}
	dst->nappliances = src->nappliances;
	dst->nstaff = src->nstaff;
	dst->ngrants = src->ngrants;
	return 0;
}

void
ruleset_deinit(struct ruleset *rs)
{
	free(rs->appliances);
	free(rs->staff);
	free(rs->grants);
	memset(rs, 0, sizeof(*rs));
}

int64_t
ruleset_next_expiry(const struct ruleset *rs)
{
	int64_t t = INT64_MAX;
	size_t i;

	for (i = 0; i < rs->ngrants; i++)
		if (rs->grants[i].expires_ms < t)
			t = rs->grants[i].expires_ms;
	return t;
}
