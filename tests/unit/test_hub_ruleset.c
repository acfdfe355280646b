/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the element computation (hub/ruleset.c), sessions x grants
 * -> the sets' contents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "grants.h"
#include "ruleset.h"

#define NOW	1795773600000LL
#define HOUR	3600000LL
/* 203.0.113.x in host byte order */
#define T(x)	((203u << 24) | (0u << 16) | (113u << 8) | (x))

static struct grant
mk(const char *staff, const char *appl, int64_t expires_ms)
{
	struct grant g;

	memset(&g, 0, sizeof(g));
	snprintf(g.staff, sizeof(g.staff), "%s", staff);
	snprintf(g.appliance, sizeof(g.appliance), "%s", appl);
	g.expires_ms = expires_ms;
	return g;
}

static void
test_empty(void **state)
{
	struct ruleset rs;

	assert_int_equal(ruleset_compute(NULL, 0, NULL, 0, NOW, &rs, NULL), 0);
	assert_int_equal(rs.nappliances + rs.nstaff + rs.ngrants, 0);
	assert_true(ruleset_next_expiry(&rs) == INT64_MAX);
	ruleset_deinit(&rs);
}

static void
test_elements(void **state)
{
	/* alice and the appliance 0001 are each connected twice (UDP and
	 * TCP server); a CN in the wrong role gets nothing. */
	const struct rs_addr addrs[] = {
		{ T(12), "staff-alice", IDENT_ROLE_STAFF },
		{ T(3), "appliance-0001", IDENT_ROLE_APPLIANCE },
		{ T(2), "staff-alice", IDENT_ROLE_STAFF },
		{ T(13), "appliance-0001", IDENT_ROLE_APPLIANCE },
		{ T(4), "appliance-0002", IDENT_ROLE_APPLIANCE },
		{ T(5), "staff-bob", IDENT_ROLE_STAFF },
		{ T(6), "appliance-0003", IDENT_ROLE_STAFF },
		{ T(7), "staff-carol", IDENT_ROLE_APPLIANCE },
	};
	const struct grant grants[] = {
		mk("staff-alice", "appliance-0001", NOW + HOUR),
		mk("staff-bob", "appliance-0002", NOW - 1),	/* expired */
		mk("staff-alice", "appliance-0009", NOW + HOUR), /* absent */
		mk("staff-bob", "appliance-0001", NOW + 2 * HOUR),
		mk("staff-alice", "appliance-0003", NOW + HOUR), /* role */
		mk("staff-carol", "appliance-0002", NOW + HOUR), /* role */
		mk("staff-bob", "appliance-0002", NOW),	/* expires now */
	};
	const struct rs_elem want[] = {
		{ T(2), T(3), NOW + HOUR },
		{ T(2), T(13), NOW + HOUR },
		{ T(5), T(3), NOW + 2 * HOUR },
		{ T(5), T(13), NOW + 2 * HOUR },
		{ T(12), T(3), NOW + HOUR },
		{ T(12), T(13), NOW + HOUR },
	};
	const size_t want_counts[] = { 4, 0, 0, 2, 0, 0, 0 };
	size_t counts[7], i;
	struct ruleset rs, copy;

	assert_int_equal(ruleset_compute(addrs, 8, grants, 7, NOW, &rs,
	    counts), 0);
	assert_int_equal(rs.nappliances, 4);
	assert_int_equal(rs.appliances[0], T(3));
	assert_int_equal(rs.appliances[1], T(4));
	assert_int_equal(rs.appliances[2], T(7));
	assert_int_equal(rs.appliances[3], T(13));
	assert_int_equal(rs.nstaff, 4);
	assert_int_equal(rs.staff[0], T(2));
	assert_int_equal(rs.staff[3], T(12));
	assert_int_equal(rs.ngrants, 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(rs.grants[i].staff, want[i].staff);
		assert_int_equal(rs.grants[i].appliance, want[i].appliance);
		assert_true(rs.grants[i].expires_ms == want[i].expires_ms);
	}
	assert_memory_equal(counts, want_counts, sizeof(counts));
	assert_true(ruleset_next_expiry(&rs) == NOW + HOUR);
	assert_int_equal(ruleset_copy(&copy, &rs), 0);
	assert_int_equal(copy.ngrants, 6);
	assert_memory_equal(copy.grants, rs.grants, 6 * sizeof(*rs.grants));
	ruleset_deinit(&copy);
	ruleset_deinit(&rs);

	/* Later: alice's grant has expired, bob's has not. */
	assert_int_equal(ruleset_compute(addrs, 8, grants, 7, NOW + HOUR, &rs,
	    counts), 0);
	assert_int_equal(rs.ngrants, 2);
	assert_int_equal(rs.grants[0].staff, T(5));
	assert_int_equal(counts[0], 0);
	assert_int_equal(counts[3], 2);
	ruleset_deinit(&rs);
}

static void
test_repeats(void **state)
{
	/* The same address twice (a stale report) and the same pair from
	 * two grants keep one element with the later expiry. */
	const struct rs_addr addrs[] = {
		{ T(2), "s", IDENT_ROLE_STAFF },
		{ T(2), "s", IDENT_ROLE_STAFF },
		{ T(3), "a", IDENT_ROLE_APPLIANCE },
	};
	const struct grant grants[] = {
		mk("s", "a", NOW + HOUR),
		mk("s", "a", NOW + 3 * HOUR),
	};
	struct ruleset rs;

	assert_int_equal(ruleset_compute(addrs, 3, grants, 2, NOW, &rs, NULL),
	    0);
	assert_int_equal(rs.nstaff, 1);
	assert_int_equal(rs.ngrants, 1);
	assert_true(rs.grants[0].expires_ms == NOW + 3 * HOUR);
	ruleset_deinit(&rs);
}

static void
test_many(void **state)
{
	/* 200 appliances, 20 staff, each staff granted 10 appliances. */
	static struct rs_addr addrs[220];
	static struct grant grants[200];
	static char names[220][16];
	struct ruleset rs;
	size_t i;

	for (i = 0; i < 220; i++) {
		snprintf(names[i], sizeof(names[i]), i < 200 ? "app-%03zu" :
		    "staff-%02zu", i < 200 ? i : i - 200);
		addrs[i].addr = 0x0a000000u + (uint32_t)i;
		addrs[i].cn = names[i];
		addrs[i].role = i < 200 ? IDENT_ROLE_APPLIANCE :
		    IDENT_ROLE_STAFF;
	}
	for (i = 0; i < 200; i++)
		grants[i] = mk(names[200 + i / 10], names[(i * 7) % 200],
		    NOW + HOUR);
	assert_int_equal(ruleset_compute(addrs, 220, grants, 200, NOW, &rs,
	    NULL), 0);
	assert_int_equal(rs.nappliances, 200);
	assert_int_equal(rs.nstaff, 20);
	assert_int_equal(rs.ngrants, 200);
	for (i = 1; i < rs.ngrants; i++)
		assert_true(rs.grants[i - 1].staff < rs.grants[i].staff ||
		    (rs.grants[i - 1].staff == rs.grants[i].staff &&
		    rs.grants[i - 1].appliance < rs.grants[i].appliance));
	ruleset_deinit(&rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_elements),
		cmocka_unit_test(test_repeats),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
