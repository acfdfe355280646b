/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the prerequisite checks. The pure parsers with many inputs,
 * then whole runs on a loop against a small HTTP server (a uv_tcp server on
 * 127.0.0.1 in the same loop) that answers, stays silent or talks garbage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "checks.h"
#include "config.h"
#include "log.h"

/* ---- pure helpers ------------------------------------------------------- */

static void
test_names(void **state)
{
	static const char *const want[] = { "gateway_assigned",
	    "gateway_reachable", "public_ip", "dns_server", "dns_resolution",
	    "cloud_reachable", "clock" };
	int i;

	for (i = 0; i < CHECK_COUNT; i++)
		assert_string_equal(checks_name((enum check_id)i), want[i]);
	assert_int_equal(checks_group(CHECK_GATEWAY_ASSIGNED), 1);
	assert_int_equal(checks_group(CHECK_GATEWAY_REACHABLE), 1);
	for (i = CHECK_PUBLIC_IP; i < CHECK_COUNT; i++)
		assert_int_equal(checks_group((enum check_id)i), 2);
}

#define ROUTE_HDR "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\t" \
	"Mask\t\tMTU\tWindow\tIRTT\n"

struct route_case {
	const char *text;
	int rc;
	const char *ifname;
	const char *gw;
};

static void
test_parse_route(void **state)
{
	/* Addresses as the kernel prints them on little-endian hosts. */
	static const struct route_case cases[] = {
		{ ROUTE_HDR "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000"
		    "\t0\t0\t0\neth0\t000200C0\t00000000\t0001\t0\t0\t0\t"
		    "00FFFFFF\t0\t0\t0\n", 0, "eth0", "192.0.2.1" },
		/* Only a link route: no default. */
		{ ROUTE_HDR "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF"
		    "\t0\t0\t0\n", -ENOENT, NULL, NULL },
		{ ROUTE_HDR, -ENOENT, NULL, NULL },
		{ "", -ENOENT, NULL, NULL },
		/* Several defaults: the lowest metric wins. */
		{ ROUTE_HDR "wlan0\t00000000\t0164A8C0\t0003\t0\t0\t600\t"
		    "00000000\t0\t0\t0\neth1\t00000000\tFE6433C6\t0003\t0\t0\t"
		    "100\t00000000\t0\t0\t0\neth0\t00000000\t010200C0\t0003\t0"
		    "\t0\t200\t00000000\t0\t0\t0\n", 0, "eth1",
		    "198.51.100.254" },
		/* Equal metrics: the first stays. */
		{ ROUTE_HDR "a0\t00000000\t01000A0A\t0003\t0\t0\t5\t00000000\t"
		    "0\t0\t0\nb0\t00000000\t02000A0A\t0003\t0\t0\t5\t00000000"
		    "\t0\t0\t0\n", 0, "a0", "10.10.0.1" },
		/* Down (no RTF_UP) and reject routes do not count. */
		{ ROUTE_HDR "eth0\t00000000\t010200C0\t0002\t0\t0\t0\t00000000"
		    "\t0\t0\t0\neth1\t00000000\t010200C0\t0203\t0\t0\t0\t"
		    "00000000\t0\t0\t0\n", -ENOENT, NULL, NULL },
		/* A default with a mask is not the default route. */
		{ ROUTE_HDR "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000080"
		    "\t0\t0\t0\n", -ENOENT, NULL, NULL },
		/* Point-to-point default without a gateway. */
		{ ROUTE_HDR "ppp0\t00000000\t00000000\t0001\t0\t0\t0\t00000000"
		    "\t0\t0\t0\n", 0, "ppp0", "0.0.0.0" },
		/* No header, CRLF and blank lines are fine. */
		{ "\neth0 00000000 010200C0 0003 0 0 0 00000000 0 0 0\r\n\n", 0,
		    "eth0", "192.0.2.1" },
		/* Malformed lines. */
		{ ROUTE_HDR "eth0\tzzzz\n", -EINVAL, NULL, NULL },
		{ ROUTE_HDR "eth0\t00000000\t010200C0\n", -EINVAL, NULL, NULL },
		{ "garbage\n", -EINVAL, NULL, NULL },
		{ ROUTE_HDR "averyveryverylongifname0 00000000 010200C0 0003 0 0 "
		    "0 00000000 0 0 0\n", -EINVAL, NULL, NULL },
	};
	char ifn[32], gw[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = checks_parse_route(cases[i].text, ifn, sizeof(ifn), gw,
		    sizeof(gw));

		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc,
			    cases[i].rc);
		if (rc == 0) {
			assert_string_equal(ifn, cases[i].ifname);
			assert_string_equal(gw, cases[i].gw);
		}
	}
	/* Buffers too small. */
	assert_int_equal(checks_parse_route(cases[0].text, ifn, 3, gw,
	    sizeof(gw)), -EINVAL);
	assert_int_equal(checks_parse_route(cases[0].text, ifn, sizeof(ifn),
	    gw, 5), -EINVAL);
}

#define Z32 "00000000000000000000000000000000"

static void
test_parse_route6(void **state)
{
	static const struct route_case cases[] = {
		/* This machine's table: a real default and lo's reject. */
		{ "fd000000000000000000000000000000 40 " Z32 " 00 " Z32
		    " 00000100 00000001 00000000 00000001     eth0\n"
		    Z32 " 00 " Z32 " 00 fd000000000000000000000000000001 "
		    "00000400 00000002 00000000 00000003     eth0\n"
		    "00000000000000000000000000000001 80 " Z32 " 00 " Z32
		    " 00000000 00000004 00000000 80200001       lo\n"
		    Z32 " 00 " Z32 " 00 " Z32 " ffffffff 00000001 00000000 "
		    "00200200       lo\n", 0, "eth0", "fd00::1" },
		/* Only the reject route. */
		{ Z32 " 00 " Z32 " 00 " Z32 " ffffffff 00000001 00000000 "
		    "00200200       lo\n", -ENOENT, NULL, NULL },
		{ "", -ENOENT, NULL, NULL },
		/* Link-local gateway, two defaults by metric. */
		{ Z32 " 00 " Z32 " 00 20010db8000000000000000000000001 "
		    "00000400 00000000 00000000 00000003 eth1\n"
		    Z32 " 00 " Z32 " 00 fe80000000000000021122fffe334455 "
		    "00000064 00000000 00000000 00450003 eth0\n", 0, "eth0",
		    "fe80::211:22ff:fe33:4455" },
		/* A ::/64 is not a default. */
		{ Z32 " 40 " Z32 " 00 20010db8000000000000000000000001 "
		    "00000400 00000000 00000000 00000003 eth1\n", -ENOENT,
		    NULL, NULL },
		/* Malformed: short address, bad hex, missing fields. */
		{ "0000 00 " Z32 " 00 " Z32 " 00000400 0 0 3 eth0\n", -EINVAL,
		    NULL, NULL },
		{ Z32 " 00 " Z32 " 00 zz000000000000000000000000000001 "
		    "00000400 00000000 00000000 00000003 eth1\n", -EINVAL, NULL,
		    NULL },
		{ Z32 " 00 " Z32 "\n", -EINVAL, NULL, NULL },
	};
	char ifn[32], gw[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = checks_parse_route6(cases[i].text, ifn, sizeof(ifn),
		    gw, sizeof(gw));

		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc,
			    cases[i].rc);
		if (rc == 0) {
			assert_string_equal(ifn, cases[i].ifname);
			assert_string_equal(gw, cases[i].gw);
		}
	}
}

struct str_case {
	const char *in;
	int rc;
	const char *out;
};

static void
test_parse_resolv(void **state)
{
	static const struct str_case cases[] = {
		{ "nameserver 192.0.2.53\n", 0, "192.0.2.53" },
		{ "# generated\n; also a comment\nsearch example.org\n"
		    "options edns0 trust-ad\nnameserver 10.0.0.1\n"
		    "nameserver 10.0.0.2\n", 0, "10.0.0.1" },
		{ "#nameserver 10.0.0.9\nnameserver 10.0.0.1 # primary\n", 0,
		    "10.0.0.1" },
		{ "search example.org\noptions ndots:2\n", -ENOENT, NULL },
		{ "", -ENOENT, NULL },
		{ "nameserver\n", -ENOENT, NULL },
		{ "nameserver not-an-address\nnameserver 198.51.100.53", 0,
		    "198.51.100.53" },
		{ "nameserver 2001:0db8:0::53\n", 0, "2001:db8::53" },
		{ "nameserver fe80::1%eth0\n", 0, "fe80::1%eth0" },
		{ "  nameserver\t127.0.0.53\r\n", 0, "127.0.0.53" },
		{ "nameservers 10.0.0.1\n", -ENOENT, NULL },
		{ "domain x\nnameserver 999.1.1.1\n", -ENOENT, NULL },
	};
	char addr[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = checks_parse_resolv(cases[i].in, addr, sizeof(addr));

		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc,
			    cases[i].rc);
		if (rc == 0)
			assert_string_equal(addr, cases[i].out);
	}
}

struct body_case {
	const char *in;
	int rc;
	const char *out;	/* address, or a fragment of why */
};

static void
test_parse_cloud_body(void **state)
{
	static const struct body_case cases[] = {
		{ "198.51.100.10\n", 0, "198.51.100.10" },
		{ " 2001:db8::1 ", 0, "2001:db8::1" },
		{ "2001:0DB8:0000::0001\r\n", 0, "2001:db8::1" },
		{ "{\"ip\":\"203.0.113.7\"}", 0, "203.0.113.7" },
		{ " {\"ip\": \"2001:db8::7\", \"country\": \"DE\"}\n", 0,
		    "2001:db8::7" },
		{ "{\"ip\":5}", -EINVAL, "no \"ip\" string" },
		{ "{\"addr\":\"1.2.3.4\"}", -EINVAL, "no \"ip\" string" },
		{ "{\"ip\":\"hello\"}", -EINVAL, "\"ip\" is not an IP address: "
		    "\"hello\"" },
		{ "{\"ip\":\"1.2.3.4\"", -EINVAL, "not valid JSON" },
		{ "{\"ip\":\"fe80::1%eth0\"}", -EINVAL, "not an IP address" },
		{ "garbage", -EINVAL, "not an IP address: \"garbage\"" },
		{ "<html><body>It works!</body></html>", -EINVAL,
		    "\"<html><body>It works!</body></html>\"" },
		{ "", -EINVAL, "empty" },
		{ " \r\n\t", -EINVAL, "empty" },
		{ "1.2.3.4 5.6.7.8", -EINVAL, "not an IP address" },
		{ "1.2.3", -EINVAL, "not an IP address" },
		{ "[\"1.2.3.4\"]", -EINVAL, "not an IP address" },
		{ "say \"hi\"\\\x01", -EINVAL, "\"say \\\"hi\\\"\\\\\\x01\"" },
	};
	char addr[64], why[200], big[3000];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		why[0] = '\0';
		rc = checks_parse_cloud_body(cases[i].in, strlen(cases[i].in),
		    addr, sizeof(addr), why, sizeof(why));
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d (%s)", i, rc,
			    cases[i].rc, why);
		if (rc == 0)
			assert_string_equal(addr, cases[i].out);
		else if (strstr(why, cases[i].out) == NULL)
			fail_msg("case %zu: why '%s' lacks '%s'", i, why,
			    cases[i].out);
	}
	/* Only len bytes count; a NUL inside is garbage. */
	assert_int_equal(checks_parse_cloud_body("10.0.0.1XYZ", 8, addr,
	    sizeof(addr), why, sizeof(why)), 0);
	assert_string_equal(addr, "10.0.0.1");
	assert_int_equal(checks_parse_cloud_body("10.0.0.1\0x", 10, addr,
	    sizeof(addr), why, sizeof(why)), -EINVAL);
	/* Overlong: quoted, cut, marked. */
	memset(big, 'A', sizeof(big));
	assert_int_equal(checks_parse_cloud_body(big, sizeof(big), addr,
	    sizeof(addr), why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "AAAA...\""));
	assert_true(strlen(why) < 120);
}

struct class_case {
	const char *addr;
	int cls;
};

static void
test_addr_class(void **state)
{
	static const struct class_case cases[] = {
		{ "8.8.8.8", CHECKS_ADDR_PUBLIC },
		{ "192.0.2.1", CHECKS_ADDR_PUBLIC },
		{ "198.51.100.10", CHECKS_ADDR_PUBLIC },
		{ "203.0.113.255", CHECKS_ADDR_PUBLIC },
		{ "2001:db8::1", CHECKS_ADDR_PUBLIC },
		{ "2a00:1450:4001::1", CHECKS_ADDR_PUBLIC },
		{ "10.0.0.0", CHECKS_ADDR_PRIVATE },
		{ "10.255.255.255", CHECKS_ADDR_PRIVATE },
		{ "9.255.255.255", CHECKS_ADDR_PUBLIC },
		{ "11.0.0.0", CHECKS_ADDR_PUBLIC },
		{ "172.15.255.255", CHECKS_ADDR_PUBLIC },
		{ "172.16.0.0", CHECKS_ADDR_PRIVATE },
		{ "172.31.255.255", CHECKS_ADDR_PRIVATE },
		{ "172.32.0.0", CHECKS_ADDR_PUBLIC },
		{ "192.168.0.1", CHECKS_ADDR_PRIVATE },
		{ "192.169.0.1", CHECKS_ADDR_PUBLIC },
		{ "192.167.255.255", CHECKS_ADDR_PUBLIC },
		{ "100.63.255.255", CHECKS_ADDR_PUBLIC },
		{ "100.64.0.0", CHECKS_ADDR_SHARED },
		{ "100.100.100.100", CHECKS_ADDR_SHARED },
		{ "100.127.255.255", CHECKS_ADDR_SHARED },
		{ "100.128.0.0", CHECKS_ADDR_PUBLIC },
		{ "fc00::1", CHECKS_ADDR_PRIVATE },
		{ "fd12:3456::1", CHECKS_ADDR_PRIVATE },
		{ "fbff:ffff::1", CHECKS_ADDR_PUBLIC },
		{ "fe00::1", CHECKS_ADDR_PUBLIC },
		{ "fe80::1", CHECKS_ADDR_SPECIAL },
		{ "fe80::1%eth0", CHECKS_ADDR_SPECIAL },
		{ "febf::1", CHECKS_ADDR_SPECIAL },
		{ "ff02::1", CHECKS_ADDR_SPECIAL },
		{ "::1", CHECKS_ADDR_SPECIAL },
		{ "::", CHECKS_ADDR_SPECIAL },
		{ "::ffff:10.1.2.3", CHECKS_ADDR_PRIVATE },
		{ "::ffff:198.51.100.1", CHECKS_ADDR_PUBLIC },
		{ "127.0.0.1", CHECKS_ADDR_SPECIAL },
		{ "127.255.255.254", CHECKS_ADDR_SPECIAL },
		{ "0.0.0.0", CHECKS_ADDR_SPECIAL },
		{ "169.254.1.1", CHECKS_ADDR_SPECIAL },
		{ "224.0.0.1", CHECKS_ADDR_SPECIAL },
		{ "239.255.255.255", CHECKS_ADDR_SPECIAL },
		{ "223.255.255.255", CHECKS_ADDR_PUBLIC },
		{ "240.0.0.1", CHECKS_ADDR_SPECIAL },
		{ "255.255.255.255", CHECKS_ADDR_SPECIAL },
		{ "", -1 },
		{ "1.2.3", -1 },
		{ "256.1.1.1", -1 },
		{ "host.example", -1 },
		{ "1.2.3.4 ", -1 },
		{ "fe80::1%", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (checks_addr_class(cases[i].addr) != cases[i].cls)
			fail_msg("%s: class %d, want %d", cases[i].addr,
			    checks_addr_class(cases[i].addr), cases[i].cls);
	assert_int_equal(checks_addr_class(NULL), -1);
}

struct date_case {
	const char *in;
	int64_t want;
};

static void
test_http_date(void **state)
{
	static const struct date_case cases[] = {
		{ "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 },
		{ "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
		{ "Fri, 27 Nov 2026 03:00:00 GMT", 1795748400 },
		{ "Tue, 29 Feb 2028 12:00:00 GMT", 1835438400 },
		{ "Sat, 31 Dec 2039 23:59:59 GMT", 2208988799 },
		{ "  Sun, 06 Nov 1994 08:49:37 GMT \r\n", 784111777 },
		/* A leap second counts as :59. */
		{ "Sat, 31 Dec 2016 23:59:60 GMT", 1483228799 },
		{ "Sun, 06 Nov 1994 08:49:37 UTC", -1 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", -1 },
		{ "Sun Nov  6 08:49:37 1994", -1 },
		{ "Sun, 6 Nov 1994 08:49:37 GMT", -1 },
		{ "Xyz, 06 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 Foo 1994 08:49:37 GMT", -1 },
		{ "Sun, 31 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 29 Feb 2027 08:49:37 GMT", -1 },
		{ "Sun, 29 Feb 2100 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 24:00:00 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:60:00 GMT", -1 },
		{ "Sun, 00 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1969 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT x", -1 },
		{ "Sun, 06 Nov 1994 08:49:3", -1 },
		{ "Sun, 06 Nov +994 08:49:37 GMT", -1 },
		{ "", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = checks_parse_http_date(cases[i].in);

		if (got != cases[i].want)
			fail_msg("'%s': %lld, want %lld", cases[i].in,
			    (long long)got, (long long)cases[i].want);
	}
	assert_int_equal(checks_parse_http_date(NULL), -1);
	assert_int_equal(checks_parse_http_date("Wed, 29 Feb 2000 00:00:00 "
	    "GMT"), 951782400);
}

/* ---- a small HTTP server on the test's loop ------------------------------ */

enum srv_mode {
	SRV_ANSWER,		/* status, body, Date */
	SRV_SILENT,		/* accepts, never answers */
	SRV_NO_LENGTH,		/* body ended by close, no Content-Length */
};

struct srv_conn {
	uv_tcp_t	 tcp;
	struct srv	*s;
	struct srv_conn	*next;
	char		 buf[4096];
	size_t		 len;
	bool		 answered;
	bool		 closing;
};

struct srv {
	uv_tcp_t	 tcp;
	int		 port;
	enum srv_mode	 mode;
	int		 status;
	const char	*body;
	bool		 date;
	int64_t		 date_offset;
	int		 requests;
	int		 accepted;
	struct srv_conn	*conns;
	char		 last_request[4096];
};

static void
on_conn_closed(uv_handle_t *h)
{
	struct srv_conn *sc = h->data;
	struct srv_conn **pp;

	for (pp = &sc->s->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == sc) {
			*pp = sc->next;
			break;
		}
	free(sc);
}

static void
conn_close(struct srv_conn *sc)
{
	if (sc->closing)
		return;
	sc->closing = true;
	uv_close((uv_handle_t *)&sc->tcp, on_conn_closed);
}

static void
on_srv_written(uv_write_t *req, int status)
{
	struct srv_conn *sc = req->data;

	free(((char **)(void *)(req + 1))[0]);
	free(req);
	conn_close(sc);
}

static void
srv_answer(struct srv_conn *sc)
{
	struct srv *s = sc->s;
	char date[80] = "", *resp;
	size_t blen = strlen(s->body);
	uv_write_t *req;
	uv_buf_t b;
	int n;

	if (s->date) {
		time_t t = time(NULL) + (time_t)s->date_offset;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "Date: %a, %d %b %Y %H:%M:%S "
		    "GMT\r\n", &tm);
	}
	resp = malloc(blen + 512);
	assert_non_null(resp);
	if (s->mode == SRV_NO_LENGTH)
		n = snprintf(resp, blen + 512, "HTTP/1.1 %d X\r\n%sConnection:"
		    " close\r\n\r\n%s", s->status, date, s->body);
	else
		n = snprintf(resp, blen + 512, "HTTP/1.1 %d X\r\n%sContent-"
		    "Length: %zu\r\nConnection: close\r\n\r\n%s", s->status,
		    date, blen, s->body);
	/* The response text rides behind the request. */
	req = malloc(sizeof(*req) + sizeof(char *));
	assert_non_null(req);
	((char **)(void *)(req + 1))[0] = resp;
	req->data = sc;
	b = uv_buf_init(resp, (unsigned)n);
	assert_int_equal(uv_write(req, (uv_stream_t *)&sc->tcp, &b, 1,
	    on_srv_written), 0);
}

static void
on_srv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct srv_conn *sc = h->data;

	*buf = uv_buf_init(sc->buf + sc->len, (unsigned)(sizeof(sc->buf) -
	    sc->len - 1));
}

static void
on_srv_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct srv_conn *sc = st->data;

	if (n < 0) {
		conn_close(sc);
		return;
	}
	sc->len += (size_t)n;
	sc->buf[sc->len] = '\0';
	if (sc->answered || strstr(sc->buf, "\r\n\r\n") == NULL)
		return;
	sc->answered = true;
	sc->s->requests++;
	memcpy(sc->s->last_request, sc->buf, sc->len + 1);
	if (sc->s->mode != SRV_SILENT)
		srv_answer(sc);
}

static void
on_srv_conn(uv_stream_t *st, int status)
{
	struct srv *s = st->data;
	struct srv_conn *sc;

	assert_int_equal(status, 0);
	sc = calloc(1, sizeof(*sc));
	assert_non_null(sc);
	sc->s = s;
	uv_tcp_init(st->loop, &sc->tcp);
	sc->tcp.data = sc;
	sc->next = s->conns;
	s->conns = sc;
	assert_int_equal(uv_accept(st, (uv_stream_t *)&sc->tcp), 0);
	s->accepted++;
	assert_int_equal(uv_read_start((uv_stream_t *)&sc->tcp, on_srv_alloc,
	    on_srv_read), 0);
}

static void
srv_start(uv_loop_t *loop, struct srv *s, enum srv_mode mode, int status,
    const char *body)
{
	struct sockaddr_in sin;
	int len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->status = status;
	s->body = body;
	s->date = true;
	uv_tcp_init(loop, &s->tcp);
	s->tcp.data = s;
	uv_ip4_addr("127.0.0.1", 0, &sin);
	assert_int_equal(uv_tcp_bind(&s->tcp, (struct sockaddr *)&sin, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&s->tcp, 16, on_srv_conn),
	    0);
	assert_int_equal(uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&sin,
	    &len), 0);
	s->port = ntohs(sin.sin_port);
}

static void
srv_stop(struct srv *s)
{
	struct srv_conn *sc;

	for (sc = s->conns; sc != NULL; sc = sc->next)
		conn_close(sc);
	uv_close((uv_handle_t *)&s->tcp, NULL);
}

/* ---- loop fixtures ------------------------------------------------------ */

struct fx {
	uv_loop_t	 loop;
	char		 dir[64];
	char		 resolv[128];
	struct config	 cfg;
	struct checks	*c;
	struct srv	 srv;
	bool		 srv_up;
	int		 changes;
	int		 done1, done2;
};

static void
on_change(void *arg)
{
	struct fx *f = arg;

	f->changes++;
}

static void
on_done1(void *arg)
{
	((struct fx *)arg)->done1++;
}

static void
on_done2(void *arg)
{
	((struct fx *)arg)->done2++;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* url NULL: the test server's http://127.0.0.1:PORT/ip. */
static void
fx_config(struct fx *f, const char *url, int timeout_ms)
{
	struct config_error err;
	char json[1024], u[256];

	if (url == NULL) {
		snprintf(u, sizeof(u), "http://127.0.0.1:%d/ip", f->srv.port);
		url = u;
	}
	snprintf(json, sizeof(json), "{\"state_dir\":\"%s\",\"run_dir\":"
	    "\"%s\",\"checks\":{\"cloud_url\":\"%s\",\"resolv_conf\":\"%s\","
	    "\"timeout_ms\":%d}}", f->dir, f->dir, url, f->resolv, timeout_ms);
	if (config_load_string(&f->cfg, json, &err) != 0)
		fail_msg("config: %s", err.text);
	f->c = checks_new(&f->loop, &f->cfg, on_change, f);
	assert_non_null(f->c);
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_checks.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->resolv, sizeof(f->resolv), "%s/resolv.conf", f->dir);
	write_file(f->resolv, "# test\nsearch example.org\n"
	    "nameserver 192.0.2.53\n");
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	char path[256];

	checks_free(f->c);
	if (f->srv_up)
		srv_stop(&f->srv);
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	if (f->cfg.state_dir != NULL)
		config_deinit(&f->cfg);
	snprintf(path, sizeof(path), "%s/resolv.conf", f->dir);
	(void)unlink(path);
	(void)rmdir(f->dir);
	free(f);
	unsetenv(CHECKS_CLOCK_OFFSET_ENV);
	return 0;
}

static void
fx_server(struct fx *f, enum srv_mode mode, int status, const char *body)
{
	srv_start(&f->loop, &f->srv, mode, status, body);
	f->srv_up = true;
}

static uint64_t
mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* Runs the checks once; returns how long the run took. */
static uint64_t
fx_run(struct fx *f)
{
	uint64_t t0 = mono_ms();
	int before = f->done1;

	assert_non_null(checks_run(f->c, on_done1, f));
	assert_true(checks_running(f->c));
	assert_int_equal(f->done1, before);
	while (f->done1 == before)
		(void)uv_run(&f->loop, UV_RUN_ONCE);
	assert_false(checks_running(f->c));
	return mono_ms() - t0;
}

/* The cached item called name: its ok and detail (copied). */
static bool
item(struct fx *f, const char *name, char *detail, size_t len)
{
	json_t *j = checks_json(f->c), *it;
	bool ok = false;
	size_t i;

	assert_non_null(j);
	json_array_foreach(json_object_get(j, "items"), i, it) {
		if (strcmp(json_string_value(json_object_get(it, "name")),
		    name) != 0)
			continue;
		ok = json_is_true(json_object_get(it, "ok"));
		snprintf(detail, len, "%s", json_string_value(
		    json_object_get(it, "detail")));
		json_decref(j);
		return ok;
	}
	json_decref(j);
	fail_msg("no item %s", name);
	return false;
}

static void
expect(struct fx *f, const char *name, bool ok, const char *fragment)
{
	char d[512];
	bool got = item(f, name, d, sizeof(d));

	if (got != ok || strstr(d, fragment) == NULL)
		fail_msg("%s: ok %d detail '%s'; want ok %d with '%s'", name,
		    got, d, ok, fragment);
}

/* ---- runs --------------------------------------------------------------- */

static void
test_run_ok(void **state)
{
	struct fx *f = *state;
	char g1[512], g2[512], r1[512], r2[512];
	bool gok1, gok2, rok1, rok2;
	const char *name, *detail;
	json_t *j;

	fx_server(f, SRV_ANSWER, 200, "127.0.0.1");
	fx_config(f, NULL, 600);
	assert_false(checks_all_ok(f->c, &name, &detail));
	assert_string_equal(name, "checks");
	assert_string_equal(detail, "not run yet");
	fx_run(f);
	assert_int_equal(f->changes, 1);
	assert_int_equal(f->srv.requests, 1);
	assert_non_null(strstr(f->srv.last_request, "GET /ip HTTP/1.1\r\n"));
	assert_non_null(strstr(f->srv.last_request,
	    "User-Agent: supportvpnd/"));
	expect(f, "public_ip", true, "sees this appliance as 127.0.0.1, a "
	    "special address");
	expect(f, "public_ip", true, "own addresses (no NAT)");
	expect(f, "cloud_reachable", true, "answers (HTTP 200)");
	expect(f, "dns_server", true, "nameserver 192.0.2.53 in");
	expect(f, "dns_resolution", true, "names an address (127.0.0.1)");
	expect(f, "clock", true, "the clock agrees with the vendor cloud");
	if (getenv("CHECKS_TEST_DEBUG") != NULL) {
		char *text;

		j = checks_json(f->c);
		text = json_dumps(j, JSON_INDENT(2));
		fprintf(stderr, "%s\n", text);
		free(text);
		json_decref(j);
	}
	gok1 = item(f, "gateway_assigned", g1, sizeof(g1));
	rok1 = item(f, "gateway_reachable", r1, sizeof(r1));
	if (!gok1)
		assert_non_null(strstr(r1, "no default gateway"));
	j = checks_json(f->c);
	assert_true(json_is_string(json_object_get(j, "checked_at")));
	json_decref(j);

	/* A second run with the same results does not count as a change
	 * (the clock's time and the ping's duration are not compared). */
	fx_run(f);
	assert_int_equal(f->srv.requests, 2);
	gok2 = item(f, "gateway_assigned", g2, sizeof(g2));
	rok2 = item(f, "gateway_reachable", r2, sizeof(r2));
	if (gok1 == gok2 && rok1 == rok2 && strcmp(g1, g2) == 0 &&
	    strcmp(r1, r2) == 0)
		assert_int_equal(f->changes, 1);
}

static void
test_run_json_public(void **state)
{
	struct fx *f = *state;

	fx_server(f, SRV_ANSWER, 200, "{\"ip\": \"198.51.100.10\"}\n");
	fx_config(f, NULL, 600);
	fx_run(f);
	expect(f, "public_ip", true, "198.51.100.10, a public address; this "
	    "appliance sits behind NAT");
	expect(f, "cloud_reachable", true, "HTTP 200");
}

static void
test_run_shared(void **state)
{
	struct fx *f = *state;

	fx_server(f, SRV_ANSWER, 200, "100.64.1.2");
	fx_config(f, NULL, 600);
	fx_run(f);
	expect(f, "public_ip", true, "carrier-grade NAT");
}

static void
test_run_garbage(void **state)
{
	struct fx *f = *state;

	fx_server(f, SRV_ANSWER, 200, "<html>\n<p>hello \"there\"</p>"
	    "</html>");
	fx_config(f, NULL, 600);
	fx_run(f);
	expect(f, "public_ip", false, "did not say which address it sees: "
	    "the answer is not an IP address: \"<html>\\n<p>hello "
	    "\\\"there\\\"</p></html>\"");
	expect(f, "cloud_reachable", true, "answers (HTTP 200), but not with "
	    "an address");
}

static void
test_run_503(void **state)
{
	struct fx *f = *state;

	fx_server(f, SRV_ANSWER, 503, "busy");
	fx_config(f, NULL, 600);
	fx_run(f);
	expect(f, "cloud_reachable", false, "answers HTTP 503");
	expect(f, "public_ip", false, "HTTP 503");
	expect(f, "clock", true, "agrees");
}

static char big_body[6000];

static void
test_run_big(void **state)
{
	struct fx *f = *state;

	memset(big_body, '1', sizeof(big_body) - 1);
	fx_server(f, SRV_ANSWER, 200, big_body);
	fx_config(f, NULL, 600);
	fx_run(f);
	expect(f, "public_ip", false, "more than 4096 bytes");
	expect(f, "cloud_reachable", true, "HTTP 200");

	/* Without a Content-Length the body itself is cut off. */
	f->srv.mode = SRV_NO_LENGTH;
	fx_run(f);
	expect(f, "public_ip", false, "more than 4096 bytes");
	expect(f, "cloud_reachable", true, "HTTP 200");
}

static void
test_run_silent(void **state)
{
	struct fx *f = *state;
	uint64_t took;

	fx_server(f, SRV_SILENT, 200, "");
	fx_config(f, NULL, 700);
	took = fx_run(f);
	assert_true(took >= 650);
	assert_true(took < 700 + 300);
	assert_int_equal(f->srv.accepted, 1);
	expect(f, "cloud_reachable", false, "cannot reach the vendor cloud at "
	    "http://127.0.0.1:");
	expect(f, "cloud_reachable", false, "no answer within 700 ms");
	expect(f, "public_ip", false, "no answer within 700 ms");
	expect(f, "clock", true, "did not answer in time; judged by the build "
	    "date only");
	expect(f, "dns_server", true, "nameserver");
}

static void
test_run_refused(void **state)
{
	struct fx *f = *state;

	/* A port just released is refused. */
	fx_server(f, SRV_ANSWER, 200, "x");
	fx_config(f, NULL, 600);
	srv_stop(&f->srv);
	f->srv_up = false;
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
	fx_run(f);
	expect(f, "cloud_reachable", false, "cannot reach the vendor cloud at "
	    "http://127.0.0.1:");
	expect(f, "public_ip", false, "could not be asked");
	expect(f, "clock", true, "could not be reached");
}

static void
test_run_localhost(void **state)
{
	struct fx *f = *state;
	char url[128];

	fx_server(f, SRV_ANSWER, 200, "{\"ip\":\"203.0.113.9\"}");
	snprintf(url, sizeof(url), "http://localhost:%d/ip", f->srv.port);
	fx_config(f, url, 800);
	fx_run(f);
	expect(f, "dns_resolution", true, "localhost resolves");
	expect(f, "cloud_reachable", true, "HTTP 200");
	expect(f, "public_ip", true, "203.0.113.9");
	assert_int_equal(f->srv.requests, 1);
}

static void
test_run_bad_url(void **state)
{
	struct fx *f = *state;

	fx_config(f, "ftp://127.0.0.1/ip", 1000);
	fx_run(f);
	expect(f, "cloud_reachable", false, "must be an http or https URL");
	expect(f, "dns_resolution", false, "must be an http or https URL");
	expect(f, "public_ip", false, "could not be asked");
	expect(f, "clock", true, "not asked");
}

static void
test_run_resolv(void **state)
{
	struct fx *f = *state;

	fx_server(f, SRV_ANSWER, 200, "127.0.0.1");
	write_file(f->resolv, "search example.org\noptions edns0\n");
	fx_config(f, NULL, 600);
	fx_run(f);
	expect(f, "dns_server", false, "no nameserver in ");
	/* Read at each run. */
	write_file(f->resolv, "nameserver 2001:db8::35\n");
	fx_run(f);
	expect(f, "dns_server", true, "nameserver 2001:db8::35 in ");
	assert_int_equal(f->changes, 2);
	(void)unlink(f->resolv);
	fx_run(f);
	expect(f, "dns_server", false, "cannot read ");
	expect(f, "dns_server", false, "No such file");
}

static void
test_run_clock(void **state)
{
	struct fx *f = *state;

	fx_server(f, SRV_ANSWER, 200, "127.0.0.1");
	fx_config(f, NULL, 600);
	setenv(CHECKS_CLOCK_OFFSET_ENV, "-400000000", 1);
	fx_run(f);
	expect(f, "clock", false, "the clock is before this software was "
	    "built (2026-");
	expect(f, "clock", false, "set the time (it reads 201");
	setenv(CHECKS_CLOCK_OFFSET_ENV, "259200", 1);
	fx_run(f);
	expect(f, "clock", false, "differs from the vendor cloud's by more "
	    "than a day");
	setenv(CHECKS_CLOCK_OFFSET_ENV, "3600", 1);
	fx_run(f);
	expect(f, "clock", true, "agrees with the vendor cloud");
	unsetenv(CHECKS_CLOCK_OFFSET_ENV);
	f->srv.date = false;
	fx_run(f);
	expect(f, "clock", true, "the vendor cloud sent no Date; judged by "
	    "the build date only");
}

static void
test_coalesce(void **state)
{
	struct fx *f = *state;
	struct checks_waiter *w1, *w2;

	fx_server(f, SRV_ANSWER, 200, "127.0.0.1");
	fx_config(f, NULL, 600);
	w1 = checks_run(f->c, on_done1, f);
	w2 = checks_run(f->c, on_done2, f);
	assert_non_null(w1);
	assert_non_null(w2);
	assert_true(w1 != w2);
	/* Never called back from inside checks_run. */
	assert_int_equal(f->done1 + f->done2, 0);
	while (f->done1 == 0 || f->done2 == 0)
		(void)uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(f->done1, 1);
	assert_int_equal(f->done2, 1);
	assert_int_equal(f->srv.requests, 1);
	assert_int_equal(f->changes, 1);
}

static void
test_cancel(void **state)
{
	struct fx *f = *state;
	struct checks_waiter *w1;

	fx_server(f, SRV_ANSWER, 200, "127.0.0.1");
	fx_config(f, NULL, 600);
	w1 = checks_run(f->c, on_done1, f);
	assert_non_null(checks_run(f->c, on_done2, f));
	checks_waiter_cancel(w1);
	while (f->done2 == 0)
		(void)uv_run(&f->loop, UV_RUN_ONCE);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(f->done1, 0);
	assert_int_equal(f->done2, 1);
	/* A NULL done works too. */
	assert_non_null(checks_run(f->c, NULL, NULL));
	while (checks_running(f->c))
		(void)uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(f->srv.requests, 2);
}

static void
test_json_shape(void **state)
{
	struct fx *f = *state;
	json_t *j, *items, *it;
	size_t i;

	fx_server(f, SRV_ANSWER, 200, "127.0.0.1");
	fx_config(f, NULL, 600);
	j = checks_json(f->c);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_true(json_is_null(json_object_get(j, "checked_at")));
	assert_true(json_is_false(json_object_get(j, "running")));
	items = json_object_get(j, "items");
	assert_int_equal(json_array_size(items), CHECK_COUNT);
	json_array_foreach(items, i, it) {
		assert_int_equal(json_object_size(it), 6);
		assert_string_equal(json_string_value(json_object_get(it,
		    "name")), checks_name((enum check_id)i));
		assert_int_equal(json_integer_value(json_object_get(it,
		    "group")), checks_group((enum check_id)i));
		assert_true(json_is_false(json_object_get(it, "ok")));
		assert_string_equal(json_string_value(json_object_get(it,
		    "detail")), "not checked yet");
		assert_int_equal(json_integer_value(json_object_get(it, "ms")),
		    0);
		assert_true(json_is_integer(json_object_get(it, "ms")));
		assert_true(json_is_null(json_object_get(it, "checked_at")));
	}
	json_decref(j);

	assert_non_null(checks_run(f->c, on_done1, f));
	j = checks_json(f->c);
	assert_true(json_is_true(json_object_get(j, "running")));
	json_decref(j);
	while (f->done1 == 0)
		(void)uv_run(&f->loop, UV_RUN_ONCE);

	j = checks_json(f->c);
	assert_true(json_is_false(json_object_get(j, "running")));
	assert_true(json_is_boolean(json_object_get(j, "ok")));
	assert_true(json_is_string(json_object_get(j, "checked_at")));
	json_array_foreach(json_object_get(j, "items"), i, it) {
		const char *at = json_string_value(json_object_get(it,
		    "checked_at"));

		assert_non_null(at);
		assert_int_equal(strlen(at), 20);
		assert_true(at[19] == 'Z');
		assert_true(json_integer_value(json_object_get(it, "ms")) >= 0);
		/* The run's timer may fire a millisecond late. */
		assert_true(json_integer_value(json_object_get(it, "ms")) <=
		    600 + 100);
		assert_true(json_is_boolean(json_object_get(it, "ok")));
		assert_true(strlen(json_string_value(json_object_get(it,
		    "detail"))) > 0);
	}
	json_decref(j);
}

static void
on_stop_timer(uv_timer_t *t)
{
	bool *fired = t->data;

	*fired = true;
}

/* Runs the loop for ms milliseconds. */
static void
spin(uv_loop_t *loop, uint64_t ms)
{
	uv_timer_t t;
	bool fired = false;

	uv_timer_init(loop, &t);
	t.data = &fired;
	uv_timer_start(&t, on_stop_timer, ms, 0);
	while (!fired)
		(void)uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	(void)uv_run(loop, UV_RUN_NOWAIT);
}

static void
test_free_during_run(void **state)
{
	struct fx *f = *state;

	fx_server(f, SRV_SILENT, 200, "");
	fx_config(f, NULL, 3000);
	assert_non_null(checks_run(f->c, on_done1, f));
	spin(&f->loop, 150);
	assert_true(checks_running(f->c));
	assert_int_equal(f->srv.accepted, 1);
	checks_free(f->c);
	f->c = NULL;
	/* Teardown drains and requires uv_loop_close() == 0. */
	spin(&f->loop, 50);
	assert_int_equal(f->done1, 0);
	assert_int_equal(f->changes, 0);
}

static void
on_done_free(void *arg)
{
	struct fx *f = arg;

	f->done1++;
	checks_free(f->c);
	f->c = NULL;
}

static void
test_free_in_callback(void **state)
{
	struct fx *f = *state;

	fx_server(f, SRV_ANSWER, 200, "127.0.0.1");
	fx_config(f, NULL, 600);
	assert_non_null(checks_run(f->c, on_done_free, f));
	assert_non_null(checks_run(f->c, on_done2, f));
	while (f->done1 == 0)
		(void)uv_run(&f->loop, UV_RUN_ONCE);
	/* The second waiter is dropped with the checks. */
	spin(&f->loop, 20);
	assert_int_equal(f->done2, 0);
}

static void
on_done_again(void *arg)
{
	struct fx *f = arg;

	if (f->done1++ == 0)
		assert_non_null(checks_run(f->c, on_done_again, f));
}

static void
test_run_from_callback(void **state)
{
	struct fx *f = *state;

	fx_server(f, SRV_ANSWER, 200, "127.0.0.1");
	fx_config(f, NULL, 600);
	assert_non_null(checks_run(f->c, on_done_again, f));
	while (f->done1 < 2)
		(void)uv_run(&f->loop, UV_RUN_ONCE);
	assert_false(checks_running(f->c));
	assert_int_equal(f->srv.requests, 2);
}

static void
sleep_work(uv_work_t *req)
{
	usleep(1000 * 1000);
}

static void
sleep_done(uv_work_t *req, int status)
{
	*(bool *)req->data = true;
}

static char dns_first[512], cloud_first[512];
static uint64_t first_took, t_start;

static void
on_done_dns(void *arg)
{
	struct fx *f = arg;

	if (f->done1++ == 0) {
		first_took = mono_ms() - t_start;
		(void)item(f, "dns_resolution", dns_first, sizeof(dns_first));
		(void)item(f, "cloud_reachable", cloud_first,
		    sizeof(cloud_first));
		/* The abandoned lookup is still queued or running now. */
		assert_non_null(checks_run(f->c, on_done_dns, f));
	}
}

/*
 * A resolver that does not answer: the only threadpool thread (main sets
 * UV_THREADPOOL_SIZE=1) is kept busy, so the lookup cannot return. The
 * run still ends at its timeout, and a run started before the lookup came
 * back does not start another one.
 */
static void
test_dns_abandoned(void **state)
{
	struct fx *f = *state;
	uv_work_t work;
	bool slept = false;
	char url[128];

	fx_server(f, SRV_ANSWER, 200, "127.0.0.1");
	snprintf(url, sizeof(url), "http://localhost:%d/ip", f->srv.port);
	fx_config(f, url, 400);
	work.data = &slept;
	assert_int_equal(uv_queue_work(&f->loop, &work, sleep_work,
	    sleep_done), 0);
	t_start = mono_ms();
	assert_non_null(checks_run(f->c, on_done_dns, f));
	while (f->done1 < 2)
		(void)uv_run(&f->loop, UV_RUN_ONCE);
	assert_true(first_took < 400 + 300);
	if (strstr(dns_first, "cannot resolve localhost: no answer within 400 "
	    "ms") == NULL)
		fail_msg("dns_resolution: %s", dns_first);
	if (strstr(cloud_first, "no answer within 400 ms (the lookup of "
	    "localhost has not returned)") == NULL)
		fail_msg("cloud_reachable: %s", cloud_first);
	/* The second run started a lookup of its own beside the hanging one
	 * (the one thread is still blocked, so it too gets no answer). */
	expect(f, "dns_resolution", false, "no answer within 400 ms");
	expect(f, "cloud_reachable", false, "has not returned");
	assert_int_equal(f->srv.requests, 0);
	while (!slept)
		(void)uv_run(&f->loop, UV_RUN_ONCE);
	/* Once it is back, lookups work again. */
	fx_run(f);
	expect(f, "dns_resolution", true, "localhost resolves");
	expect(f, "cloud_reachable", true, "HTTP 200");
}

/* checks_free while the lookup hangs: the request outlives the checks
 * and is freed by its own callback (ASan watches). */
static void
test_free_with_hanging_lookup(void **state)
{
	struct fx *f = *state;
	uv_work_t work;
	bool slept = false;

	fx_config(f, "http://localhost:9/ip", 2000);
	work.data = &slept;
	assert_int_equal(uv_queue_work(&f->loop, &work, sleep_work,
	    sleep_done), 0);
	assert_non_null(checks_run(f->c, on_done1, f));
	spin(&f->loop, 100);
	assert_true(checks_running(f->c));
	checks_free(f->c);
	f->c = NULL;
	while (!slept)
		(void)uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(f->done1, 0);
}

/*
 * The loop tests run real checks: routes, a ping of the default gateway,
 * DNS. They must not touch the host's network, so they run in a network
 * namespace of their own with only loopback up (no default route: nothing
 * is pinged). 0, or -1 when no namespace can be had (then they are skipped).
 */
static int
enter_private_netns(void)
{
	struct ifreq ifr;
	int fd, rc = -1;

	if (unshare(CLONE_NEWNET) < 0 &&
	    unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return -1;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) == 0)
			rc = 0;
	}
	close(fd);
	return rc;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_parse_route),
		cmocka_unit_test(test_parse_route6),
		cmocka_unit_test(test_parse_resolv),
		cmocka_unit_test(test_parse_cloud_body),
		cmocka_unit_test(test_addr_class),
		cmocka_unit_test(test_http_date),
#define LT(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		LT(test_run_ok),
		LT(test_run_json_public),
		LT(test_run_shared),
		LT(test_run_garbage),
		LT(test_run_503),
		LT(test_run_big),
		LT(test_run_silent),
		LT(test_run_refused),
		LT(test_run_localhost),
		LT(test_run_bad_url),
		LT(test_run_resolv),
		LT(test_run_clock),
		LT(test_coalesce),
		LT(test_cancel),
		LT(test_json_shape),
		LT(test_free_during_run),
		LT(test_free_in_callback),
		LT(test_run_from_callback),
		LT(test_dns_abandoned),
		LT(test_free_with_hanging_lookup),
#undef LT
	};

	/* Before the loop's threadpool exists: test_dns_abandoned blocks
	 * its only thread. */
	setenv("UV_THREADPOOL_SIZE", "1", 1);
	log_init(getenv("CHECKS_TEST_DEBUG") != NULL ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_ERROR, 1);
	if (enter_private_netns() < 0) {
		fprintf(stderr, "test_checks: no private network namespace "
		    "(needs root or user namespaces); running the parser tests "
		    "only\n");
		/* The first seven are the pure parser tests. */
		return _cmocka_run_group_tests("checks parsers", tests, 7,
		    NULL, NULL);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
