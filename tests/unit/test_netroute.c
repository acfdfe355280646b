/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: route lookup over fixture tables in tests/data/netroute/
 * (copies of the kernel's /proc/net/route and /proc/net/ipv6_route format;
 * the comments in each case say which lines decide it).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "netroute.h"

/* make unit runs the tests from tests/unit, by hand they run from the top. */
static const char *data_dir;

static char route4[256], route6[256];

static int
setup(void **state)
{
	static const char *const dirs[] = { "../data/netroute",
	    "tests/data/netroute" };
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(route4, sizeof(route4), "%s/route", dirs[i]);
		if (access(route4, R_OK) == 0) {
			data_dir = dirs[i];
			break;
		}
	}
	if (data_dir == NULL)
		return -1;
	snprintf(route6, sizeof(route6), "%s/ipv6_route", data_dir);
	return 0;
}

/*
 * /proc/net/route prints network-order words as host integers: the IPv4
 * fixtures are as a little-endian machine writes them.
 */
static void
skip_unless_little_endian(void)
{
	uint32_t one = 1;
	unsigned char first;

	memcpy(&first, &one, 1);
	if (first != 1)
		skip();
}

static void
expect_dev_in(const char *r4, const char *r6, const char *addr,
    const char *want)
{
	char dev[16];
	int rc;

	rc = netroute_dev_for_in(r4, r6, addr, dev, sizeof(dev));
	if (rc != 0)
		fail_msg("%s: %s, want %s", addr, strerror(-rc), want);
	if (strcmp(dev, want) != 0)
		fail_msg("%s: %s, want %s", addr, dev, want);
}

static void
expect_err_in(const char *r4, const char *r6, const char *addr, int want)
{
	char dev[16];

	assert_int_equal(netroute_dev_for_in(r4, r6, addr, dev, sizeof(dev)),
	    want);
	assert_string_equal(dev, "");
}

static void
expect_dev(const char *addr, const char *want)
{
	expect_dev_in(route4, route6, addr, want);
}

static void
expect_err(const char *addr, int want)
{
	expect_err_in(route4, route6, addr, want);
}

static void
test_v4_default_vs_tun(void **state)
{
	skip_unless_little_endian();
	expect_dev("10.8.0.6", "tun0");		/* 10.8.0.0/24 tun0 */
	expect_dev("10.8.0.255", "tun0");
	expect_dev("10.8.2.6", "eth0");		/* outside: default */
	expect_dev("203.0.113.9", "eth0");	/* default metric 100 < 600 */
	expect_dev("192.0.2.50", "eth0");	/* 192.0.2.0/24 */
}

static void
test_v4_host_route(void **state)
{
	skip_unless_little_endian();
	expect_dev("10.8.1.1", "tun1");		/* 10.8.1.1/32 */
	expect_dev("10.8.1.2", "eth0");
}

static void
test_v4_more_specific_wins(void **state)
{
	skip_unless_little_endian();
	expect_dev("10.9.6.1", "eth1");		/* /16 */
	expect_dev("10.9.5.1", "tun0");		/* /24 inside the /16 */
	expect_dev("10.9.5.127", "tun0");
	expect_dev("10.9.5.128", "eth2");	/* /25 inside the /24 */
	expect_dev("10.9.5.255", "eth2");
}

static void
test_v4_down_ignored(void **state)
{
	skip_unless_little_endian();
	expect_dev("10.20.1.1", "eth0");	/* tun0's /16 is not up */
}

static void
test_v4_reject_wins(void **state)
{
	skip_unless_little_endian();
	/* More specific than the default, so the kernel would refuse. */
	expect_err("10.30.1.1", -ENETUNREACH);	/* unreachable */
	expect_err("10.31.1.1", -ENETUNREACH);	/* blackhole: no device */
}

static void
test_v4_metric_breaks_ties(void **state)
{
	skip_unless_little_endian();
	expect_dev("172.16.3.4", "tun0");	/* 50 < 200, listed second */
	expect_dev("172.17.3.4", "eth1");	/* 50 < 200, listed first */
}

static void
test_v4_mapped(void **state)
{
	skip_unless_little_endian();
	expect_dev("::ffff:10.8.0.6", "tun0");
	expect_dev("::ffff:203.0.113.9", "eth0");
}

static void
test_v6(void **state)
{
	expect_dev("2001:db8:ff::1", "eth0");	/* ::/0, metric 1024 < 2048 */
	expect_dev("fd00:8::1000", "tun0");	/* fd00:8::/64 */
	expect_dev("fd00:8:0:1::1", "eth0");	/* next /64: default */
	expect_dev("2001:db8:2:1::1", "eth1");	/* /48 */
	expect_dev("2001:db8:2:5::1", "tun0");	/* /64 inside it */
	expect_dev("2001:db8:2:5::9", "tun1");	/* /128 inside that */
	expect_dev("2001:db8:3::1", "eth0");	/* /48 not up */
	expect_dev("2001:db8:5::1", "eth0");	/* source-specific */
	expect_dev("2001:db8:6:1f::1", "tun1");	/* /60 */
	expect_dev("2001:db8:6:20::1", "eth0");	/* just past it */
	expect_dev("2001:db8:7::1", "tun0");	/* metric 256 < 512 */
	expect_err("2001:db8:4::1", -ENETUNREACH);	/* unreachable /48 */
}

static void
test_v6_local_table_skipped(void **state)
{
	/* Local, anycast and cache /128s on tun0; the main /64 is eth1. */
	expect_dev("2001:db8:1::5", "eth1");
	expect_dev("2001:db8:1::", "eth1");
	expect_dev("2001:db8:1::7", "eth1");
}

static void
test_bad_address(void **state)
{
	static const char *const bad[] = {
		"", "10.8.0", "10.8.0.256", "10.8.0.6 ", " 10.8.0.6",
		"10.8.0.6/32", "fe80::1%tun0", "[::1]", "::g", "hello",
		"support",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_err(bad[i], -EINVAL);
	expect_err(NULL, -EINVAL);
}

static void
test_no_route(void **state)
{
	char r4[256], r6[256];

	skip_unless_little_endian();
	snprintf(r4, sizeof(r4), "%s/route-nodefault", data_dir);
	snprintf(r6, sizeof(r6), "%s/ipv6_route-nodefault", data_dir);
	expect_dev_in(r4, r6, "10.8.0.6", "tun0");
	expect_err_in(r4, r6, "203.0.113.9", -ENETUNREACH);
	expect_dev_in(r4, r6, "fd00:8::6", "tun0");
	/* Only the kernel's null entry (reject, not up) would match. */
	expect_err_in(r4, r6, "2001:db8::1", -ENETUNREACH);
	/* No table at all: IPv6 disabled. */
	expect_err_in(r4, "/nonexistent/ipv6_route", "2001:db8::1",
	    -ENETUNREACH);
}

static void
test_garbage_table(void **state)
{
	char g4[256], g6[256], dev[16];

	snprintf(g4, sizeof(g4), "%s/route-garbage", data_dir);
	snprintf(g6, sizeof(g6), "%s/ipv6_route-garbage", data_dir);
	assert_int_equal(netroute_dev_for_in(g4, g6, "10.8.0.6", dev,
	    sizeof(dev)), -EBADMSG);
	assert_int_equal(netroute_dev_for_in(g4, g6, "fd00:8::6", dev,
	    sizeof(dev)), -EBADMSG);
}

static void
test_small_buffer(void **state)
{
	char dev[5];

	skip_unless_little_endian();
	/* "tun0" and its NUL need 5 bytes. */
	assert_int_equal(netroute_dev_for_in(route4, route6, "10.9.5.1", dev,
	    sizeof(dev) - 1), -ENAMETOOLONG);
	assert_int_equal(netroute_dev_for_in(route4, route6, "10.9.5.129", dev,
	    sizeof(dev)), 0);
	assert_string_equal(dev, "eth2");
}

/* The real tables of this machine parse: no -EBADMSG, whatever routes. */
static void
test_proc(void **state)
{
	static const char *const addrs[] = { "203.0.113.9", "127.0.0.1",
	    "2001:db8::1", "::1", "::ffff:192.0.2.1" };
	char dev[16];
	size_t i;

	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		int rc = netroute_dev_for(addrs[i], dev, sizeof(dev));

		if (rc != 0 && rc != -ENETUNREACH)
			fail_msg("%s: %s", addrs[i], strerror(-rc));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_default_vs_tun),
		cmocka_unit_test(test_v4_host_route),
		cmocka_unit_test(test_v4_more_specific_wins),
		cmocka_unit_test(test_v4_down_ignored),
		cmocka_unit_test(test_v4_reject_wins),
		cmocka_unit_test(test_v4_metric_breaks_ties),
		cmocka_unit_test(test_v4_mapped),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_v6_local_table_skipped),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_no_route),
		cmocka_unit_test(test_garbage_table),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_proc),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
