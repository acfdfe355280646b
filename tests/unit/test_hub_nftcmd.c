/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the nftables command text (hub/nftcmd.c) against the golden
 * files in tests/data/hub_nftcmd/, and the checks of every name that goes
 * into it. HUB_GOLDEN_UPDATE=1 rewrites the golden files.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nftcmd.h"
#include "ruleset.h"

#define GOLDEN_DIR	"../data/hub_nftcmd"
#define NOW		1795773600000LL
#define T(x)		((203u << 24) | (113u << 8) | (x))

static const char *const two_tuns[] = { "tun0", "tun1" };
static const struct nftcmd_table table = { "supportvpn_hub", two_tuns, 2 };

static char *
slurp(const char *path)
{
	static char buf[65536];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void
golden(const char *name, char *text)
{
	char path[256], *want;
	FILE *f;

	assert_non_null(text);
	snprintf(path, sizeof(path), GOLDEN_DIR "/%s.nft", name);
	if (getenv("HUB_GOLDEN_UPDATE") != NULL) {
		assert_non_null(f = fopen(path, "w"));
		fputs(text, f);
		assert_int_equal(fclose(f), 0);
	}
	if ((want = slurp(path)) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	if (strcmp(text, want) != 0)
		fail_msg("%s: got\n%s--- expected\n%s---", path, text, want);
	free(text);
}

/* Two appliances, one staff member granted both, one expiring soon. */
static void
sample(struct ruleset *rs, uint32_t *appl, uint32_t *staff,
    struct rs_elem *el)
{
	memset(rs, 0, sizeof(*rs));
	appl[0] = T(3);
	appl[1] = T(13);
	staff[0] = T(2);
	el[0] = (struct rs_elem){ T(2), T(3), NOW + 3599500 };
	el[1] = (struct rs_elem){ T(2), T(13), NOW + 1000 };
	rs->appliances = appl;
	rs->nappliances = 2;
	rs->staff = staff;
	rs->nstaff = 1;
	rs->grants = el;
	rs->ngrants = 2;
}

static void
test_replace(void **state)
{
	const char *const pattern[] = { "tun*" };
	const struct nftcmd_table wild = { "supportvpn_hub", pattern, 1 };
	uint32_t appl[2], staff[1];
	struct rs_elem el[2];
	struct ruleset rs, empty;

	sample(&rs, appl, staff, el);
	golden("replace", nftcmd_replace(&table, &rs, NOW));
	memset(&empty, 0, sizeof(empty));
	golden("replace-empty", nftcmd_replace(&wild, &empty, NOW));
	/* Elements already expired are left out. */
	el[0].expires_ms = NOW;
	golden("replace-expired", nftcmd_replace(&table, &rs, NOW));
	golden("delete", nftcmd_delete(&table));
}

static void
test_diff(void **state)
{
	uint32_t appl[2], staff[1], appl2[2] = { T(3), T(4) },
	    staff2[2] = { T(2), T(5) };
	struct rs_elem el[2], el2[2] = {
		{ T(2), T(3), NOW + 7200000 },	/* longer now */
		{ T(5), T(4), NOW + 60000 },	/* new */
	};
	struct ruleset from, to;
	char *text;

	sample(&from, appl, staff, el);
	/* The same: nothing to do. */
	assert_non_null(text = nftcmd_diff(&table, &from, &from, NOW));
	assert_string_equal(text, "");
	free(text);
	to.appliances = appl2;
	to.nappliances = 2;
	to.staff = staff2;
	to.nstaff = 2;
	to.grants = el2;
	to.ngrants = 2;
	golden("diff", nftcmd_diff(&table, &from, &to, NOW));
	/* Everything goes. */
	memset(&to, 0, sizeof(to));
	golden("diff-all-gone", nftcmd_diff(&table, &from, &to, NOW));
}

static void
test_names(void **state)
{
	static const char *const good_if[] = { "tun0", "tun*", "vpn-udp.1",
	    "t", "abcdefghijklmn*", "abcdefghijklmno" };
	static const char *const bad_if[] = { "", "*", "tun0*x", "tun 0",
	    "tun\"0", "tun0;", "abcdefghijklmnop", "tun}", "t*n", "tun\\",
	    "$tun", "tun0\n" };
	static const char *const good_name[] = { "supportvpn_hub", "t", "T9",
	    "abcdefghijklmnopqrstuvwxyz012345" };
	static const char *const bad_name[] = { "", "9t", "_t", "a-b",
	    "a b", "a;", "abcdefghijklmnopqrstuvwxyz0123456", "a\"" };
	const char *const one_bad[] = { "tun0", "tun;1" };
	const struct nftcmd_table bad_table = { "hub table", two_tuns, 2 };
	const struct nftcmd_table bad_iface = { "hub", one_bad, 2 };
	const struct nftcmd_table no_iface = { "hub", two_tuns, 0 };
	struct ruleset rs;
	size_t i;

	for (i = 0; i < sizeof(good_if) / sizeof(good_if[0]); i++)
		assert_true(nftcmd_iface_valid(good_if[i]));
	for (i = 0; i < sizeof(bad_if) / sizeof(bad_if[0]); i++)
		if (nftcmd_iface_valid(bad_if[i]))
			fail_msg("interface '%s' accepted", bad_if[i]);
	for (i = 0; i < sizeof(good_name) / sizeof(good_name[0]); i++)
		assert_true(nftcmd_name_valid(good_name[i]));
	for (i = 0; i < sizeof(bad_name) / sizeof(bad_name[0]); i++)
		if (nftcmd_name_valid(bad_name[i]))
			fail_msg("table '%s' accepted", bad_name[i]);
	/* The builder checks again: nothing unchecked reaches nft. */
	memset(&rs, 0, sizeof(rs));
	errno = 0;
	assert_null(nftcmd_replace(&bad_table, &rs, NOW));
	assert_int_equal(errno, EINVAL);
	assert_null(nftcmd_diff(&bad_iface, &rs, &rs, NOW));
	assert_null(nftcmd_delete(&no_iface));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
