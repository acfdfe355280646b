/* SPDX-License-Identifier: MIT */
/* Unit tests: the hub's datagram decoder (hub/datagram.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "datagram.h"

#define SHA "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int
decode(const char *json, struct datagram *d, char *why, size_t whylen)
{
	return datagram_decode(json, strlen(json), d, why, whylen);
}

static void
test_client_connect(void **state)
{
	struct datagram d;
	char why[160];

	assert_int_equal(decode("{\"v\":1,\"type\":\"client_connect\",\"pid\":"
	    "42,\"cn\":\"staff-alice\",\"role\":\"staff\",\"real_ip\":"
	    "\"192.0.2.10\",\"real_port\":40000,\"tunnel_ip\":\"203.0.113.2\","
	    "\"sha256\":\"" SHA "\"}", &d, why, sizeof(why)), 0);
	assert_int_equal(d.type, DATAGRAM_CLIENT_CONNECT);
	assert_int_equal(d.pid, 42);
	assert_string_equal(d.cn, "staff-alice");
	assert_int_equal(d.role, IDENT_ROLE_STAFF);
	assert_string_equal(d.real_ip, "192.0.2.10");
	assert_int_equal(d.real_port, 40000);
	assert_string_equal(d.tunnel_ip, "203.0.113.2");
	assert_string_equal(d.sha256, SHA);

	/* The optional fields may be left out. */
	assert_int_equal(decode("{\"v\":1,\"type\":\"client_connect\",\"pid\":"
	    "1,\"cn\":\"appliance-0001\",\"role\":\"appliance\"}", &d, why,
	    sizeof(why)), 0);
	assert_int_equal(d.role, IDENT_ROLE_APPLIANCE);
	assert_int_equal(d.real_port, -1);
	assert_string_equal(d.real_ip, "");
	assert_int_equal(decode("{\"v\":1,\"type\":\"client_connect\",\"pid\":"
	    "1,\"cn\":\"a\",\"role\":\"staff\",\"real_ip\":\"2001:db8::1\"}",
	    &d, why, sizeof(why)), 0);
}

static void
test_learn_address(void **state)
{
	struct datagram d;
	char why[160];

	assert_int_equal(decode("{\"v\":1,\"type\":\"learn_address\",\"pid\":"
	    "7,\"op\":\"add\",\"addr\":\"203.0.113.3\",\"cn\":"
	    "\"appliance-0001\",\"role\":\"appliance\"}", &d, why,
	    sizeof(why)), 0);
	assert_int_equal(d.type, DATAGRAM_LEARN_ADDRESS);
	assert_int_equal(d.op, DATAGRAM_OP_ADD);
	assert_string_equal(d.addr, "203.0.113.3");
	assert_int_equal(decode("{\"v\":1,\"type\":\"learn_address\",\"pid\":"
	    "7,\"op\":\"update\",\"addr\":\"203.0.113.3\",\"cn\":\"x\","
	    "\"role\":\"staff\"}", &d, why, sizeof(why)), 0);
	assert_int_equal(d.op, DATAGRAM_OP_UPDATE);
	/* delete carries no cn or role. */
	assert_int_equal(decode("{\"v\":1,\"type\":\"learn_address\",\"pid\":"
	    "7,\"op\":\"delete\",\"addr\":\"203.0.113.3\"}", &d, why,
	    sizeof(why)), 0);
	assert_int_equal(d.op, DATAGRAM_OP_DELETE);
	assert_string_equal(d.cn, "");
	/* openvpn may learn other things than IPv4 hosts; the decoder
	 * passes them on, the sessions ignore them. */
	assert_int_equal(decode("{\"v\":1,\"type\":\"learn_address\",\"pid\":"
	    "7,\"op\":\"add\",\"addr\":\"10.1.0.0/24\",\"cn\":\"x\",\"role\":"
	    "\"appliance\"}", &d, why, sizeof(why)), 0);
	/* add without cn or role is refused. */
	assert_int_equal(decode("{\"v\":1,\"type\":\"learn_address\",\"pid\":"
	    "7,\"op\":\"add\",\"addr\":\"203.0.113.3\"}", &d, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "needs cn and role"));
}

static void
test_disconnect_and_verify(void **state)
{
	struct datagram d;
	char why[160];

	assert_int_equal(decode("{\"v\":1,\"type\":\"client_disconnect\","
	    "\"pid\":9,\"cn\":\"staff-alice\",\"role\":\"staff\",\"real_ip\":"
	    "\"192.0.2.10\",\"tunnel_ip\":\"203.0.113.2\",\"bytes_in\":"
	    "9007199254740992,\"bytes_out\":0,\"duration_s\":3600}", &d, why,
	    sizeof(why)), 0);
	assert_true(d.has_bytes);
	assert_true(d.bytes_in == 9007199254740992ULL);
	assert_true(d.has_duration);
	assert_int_equal(d.duration_s, 3600);
	/* A CA's CN has spaces; tls_verify takes any printable name. */
	assert_int_equal(decode("{\"v\":1,\"type\":\"tls_verify\",\"pid\":9,"
	    "\"depth\":1,\"result\":\"accepted\",\"cn\":\"Example Root CA\"}",
	    &d, why, sizeof(why)), 0);
	assert_true(d.accepted);
	assert_int_equal(decode("{\"v\":1,\"type\":\"tls_verify\",\"pid\":9,"
	    "\"depth\":0,\"result\":\"refused\",\"rule\":\"role\",\"reason\":"
	    "\"no role in the certificate\",\"cn\":\"x\",\"sha256\":\"" SHA
	    "\",\"role\":\"staff\"}", &d, why, sizeof(why)), 0);
	assert_false(d.accepted);
	assert_string_equal(d.rule, "role");
	assert_string_equal(d.reason, "no role in the certificate");
}

struct bad {
	const char	*json;
	const char	*words;
};

static void
test_malformed(void **state)
{
	static const struct bad cases[] = {
		{ "", "size" },
		{ "nope", "not JSON" },
		{ "[1]", "not a JSON object" },
		{ "{\"v\":2,\"type\":\"tls_verify\",\"pid\":1}", "version" },
		{ "{\"v\":1,\"type\":\"up\",\"pid\":1}", "unknown type" },
		{ "{\"v\":1,\"type\":\"client_connect\"}", "pid" },
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":0,\"cn\":\"a\","
		    "\"role\":\"staff\"}", "pid" },
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":\"1\",\"cn\":"
		    "\"a\",\"role\":\"staff\"}", "pid" },
		{ "{\"v\":1,\"v\":1,\"type\":\"client_connect\",\"pid\":1}",
		    "not JSON" },
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":1,\"role\":"
		    "\"staff\"}", "'cn' is missing" },
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":1,\"cn\":\"a\"}",
		    "'role' is missing" },
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":1,\"cn\":\"a b\","
		    "\"role\":\"staff\"}", "'cn'" },
		/* jansson refuses NUL in strings before we see them. */
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":1,\"cn\":\"a\\u0000b"
		    "\",\"role\":\"staff\"}", "not JSON" },
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":1,\"cn\":"
		    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaa\",\"role\":\"staff\"}", "'cn'" },
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":1,\"cn\":\"a\","
		    "\"role\":\"admin\"}", "'role'" },
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":1,\"cn\":\"a\","
		    "\"role\":\"staff\",\"real_ip\":\"300.1.1.1\"}", "'real_ip'" },
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":1,\"cn\":\"a\","
		    "\"role\":\"staff\",\"real_port\":65536}", "'real_port'" },
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":1,\"cn\":\"a\","
		    "\"role\":\"staff\",\"sha256\":\"sha256:00\"}", "'sha256'" },
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":1,\"cn\":\"a\","
		    "\"role\":\"staff\",\"dev\":\"tun0\"}", "unknown field 'dev'" },
		{ "{\"v\":1,\"type\":\"client_connect\",\"pid\":1,\"cn\":\"a\","
		    "\"role\":\"staff\",\"op\":\"add\"}", "unknown field 'op'" },
		{ "{\"v\":1,\"type\":\"learn_address\",\"pid\":1,\"op\":\"move\","
		    "\"addr\":\"203.0.113.3\"}", "'op'" },
		{ "{\"v\":1,\"type\":\"learn_address\",\"pid\":1,\"op\":\"add\","
		    "\"addr\":\"203.0.113.3 x\",\"cn\":\"a\",\"role\":\"staff\"}",
		    "'addr'" },
		{ "{\"v\":1,\"type\":\"learn_address\",\"pid\":1,\"op\":"
		    "\"delete\"}", "'addr' is missing" },
		{ "{\"v\":1,\"type\":\"client_disconnect\",\"pid\":1,\"cn\":\"a\","
		    "\"role\":\"staff\",\"bytes_in\":-1}", "'bytes_in'" },
		{ "{\"v\":1,\"type\":\"client_disconnect\",\"pid\":1,\"cn\":\"a\","
		    "\"role\":\"staff\",\"bytes_in\":9007199254740993}",
		    "'bytes_in'" },
		{ "{\"v\":1,\"type\":\"client_disconnect\",\"pid\":1,\"cn\":\"a\","
		    "\"role\":\"staff\",\"duration_s\":1.5}", "'duration_s'" },
		{ "{\"v\":1,\"type\":\"tls_verify\",\"pid\":1,\"depth\":0}",
		    "'result' is missing" },
		{ "{\"v\":1,\"type\":\"tls_verify\",\"pid\":1,\"depth\":0,"
		    "\"result\":\"maybe\"}", "'result'" },
		{ "{\"v\":1,\"type\":\"tls_verify\",\"pid\":1,\"depth\":65,"
		    "\"result\":\"accepted\"}", "'depth'" },
		{ "{\"v\":1,\"type\":\"tls_verify\",\"pid\":1,\"depth\":0,"
		    "\"result\":\"refused\",\"reason\":\"a\\nb\"}", "'reason'" },
	};
	struct datagram d;
	char why[160], big[3000];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		if (decode(cases[i].json, &d, why, sizeof(why)) != -1 ||
		    strstr(why, cases[i].words) == NULL)
			fail_msg("case %zu (%s): got '%s'", i, cases[i].json,
			    why);
		/* A refused datagram leaves nothing behind. */
		assert_int_equal(d.type, 0);
		assert_string_equal(d.cn, "");
	}
	memset(big, ' ', sizeof(big));
	assert_int_equal(datagram_decode(big, sizeof(big), &d, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "size"));
	/* Not NUL-terminated input is read by length only. */
	assert_int_equal(datagram_decode("{\"v\":1}xxxx", 7, &d, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "unknown type"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_connect),
		cmocka_unit_test(test_learn_address),
		cmocka_unit_test(test_disconnect_and_verify),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
