/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the owner of a loopback TCP peer, over real connections made
 * here and over fixture tables in tests/data/peer/ (the kernel's
 * /proc/net/tcp{,6} format as a little-endian machine prints it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "peer.h"

/* make unit runs the tests from tests/unit, by hand they run from the top. */
static const char *data_dir;

/* An uid no fixture line holds: a lookup that fails must leave it. */
#define UID_UNSET	((uid_t)4242)

static int
setup(void **state)
{
	static const char *const dirs[] = { "../data/peer", "tests/data/peer" };
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/tcp", dirs[i]);
		if (access(path, R_OK) == 0) {
			data_dir = dirs[i];
			return 0;
		}
	}
	return -1;
}

static void
fixture(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", data_dir, name);
}

static void
skip_unless_little_endian(void)
{
	uint32_t one = 1;
	unsigned char first;

	memcpy(&first, &one, 1);
	if (first != 1)
		skip();
}

static struct sockaddr_in
sin4(const char *addr, unsigned port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, addr, &s.sin_addr), 1);
	return s;
}

static struct sockaddr_in6
sin6(const char *addr, unsigned port)
{
	struct sockaddr_in6 s;

	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	s.sin6_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET6, addr, &s.sin6_addr), 1);
	return s;
}

#define SA(s)	((const struct sockaddr *)(const void *)(s))

/*
 * A connected pair over loopback: *srv is the accepted end, *cli the
 * connecting one. The client socket is made with the effective uid
 * cli_euid when that is not (uid_t)-1 (root only). 0, or -1 when the
 * address family cannot be used here (no ::1, or the uid is not mapped).
 */
static int
loopback_pair(int family, uid_t cli_euid, int *srv, int *cli)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd, saved;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		*(struct sockaddr_in *)(void *)&ss = sin4("127.0.0.1", 0);
		len = sizeof(struct sockaddr_in);
	} else {
		*(struct sockaddr_in6 *)(void *)&ss = sin6("::1", 0);
		len = sizeof(struct sockaddr_in6);
	}
	if ((lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(lfd, (struct sockaddr *)&ss, len) < 0) {
		close(lfd);
		return -1;
	}
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);

	saved = (int)geteuid();
	if (cli_euid != (uid_t)-1 && seteuid(cli_euid) < 0) {
		close(lfd);
		return -1;
	}
	*cli = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cli_euid != (uid_t)-1)
		assert_int_equal(seteuid((uid_t)saved), 0);
	assert_true(*cli >= 0);
	assert_int_equal(connect(*cli, (struct sockaddr *)&ss, len), 0);
	*srv = accept(lfd, NULL, NULL);
	assert_true(*srv >= 0);
	close(lfd);
	return 0;
}

/* peer_tcp_uid as the accepting side calls it. */
static int
lookup_accepted(int srv, uid_t *uid)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);

	assert_int_equal(getpeername(srv, (struct sockaddr *)&peer, &plen), 0);
	assert_int_equal(getsockname(srv, (struct sockaddr *)&local, &llen),
	    0);
	return peer_tcp_uid((struct sockaddr *)&peer,
	    (struct sockaddr *)&local, uid);
}

static void
expect_loopback_uid(int family)
{
	uid_t uid = UID_UNSET;
	int srv, cli;

	if (loopback_pair(family, (uid_t)-1, &srv, &cli) < 0)
		skip();
	assert_int_equal(lookup_accepted(srv, &uid), 0);
	assert_int_equal(uid, geteuid());
	close(cli);
	close(srv);
}

static void
test_loopback4(void **state)
{
	expect_loopback_uid(AF_INET);
}

static void
test_loopback6(void **state)
{
	expect_loopback_uid(AF_INET6);
}

/*
 * As root the peer's socket can belong to someone else: the uid must be
 * the client socket's owner, not ours (nor whatever socket comes first).
 */
static void
test_loopback_other_uid(void **state)
{
	static const int families[] = { AF_INET, AF_INET6 };
	const uid_t nobody = 65534;
	size_t i, ran = 0;

	if (geteuid() != 0)
		skip();
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		uid_t uid = UID_UNSET;
		int srv, cli;

		if (loopback_pair(families[i], nobody, &srv, &cli) < 0)
			continue;
		assert_int_equal(geteuid(), 0);
		assert_int_equal(lookup_accepted(srv, &uid), 0);
		assert_int_equal(uid, nobody);
		close(cli);
		close(srv);
		ran++;
	}
	if (ran == 0)
		skip();
}

/*
 * Regression: a client that wrote its request and closed before the accept
 * left its end as an orphan (uid 0, inode 0): that read as root.
 */
static void
test_loopback_closed_peer(void **state)
{
	uid_t uid = UID_UNSET;
	int srv = -1, cli = -1;	/* skip() returns as far as clang knows */

	if (geteuid() != 0 || loopback_pair(AF_INET, 65534, &srv, &cli) < 0)
		skip();
	assert_int_equal(write(cli, "x\n", 2), 2);
	close(cli);
	nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
	assert_int_equal(lookup_accepted(srv, &uid), -ENOENT);
	assert_int_equal(uid, UID_UNSET);
	close(srv);
}

/* Ends of no connection on this host are not found. */
static void
test_loopback_no_connection(void **state)
{
	struct sockaddr_in peer, local;
	uid_t uid = UID_UNSET;

	peer = sin4("127.0.0.2", 1);
	local = sin4("127.0.0.3", 1);
	assert_int_equal(peer_tcp_uid(SA(&peer), SA(&local), &uid), -ENOENT);
	assert_int_equal(uid, UID_UNSET);
}

static void
test_table4(void **state)
{
	struct sockaddr_in us = sin4("127.0.0.1", 7515), peer;
	char tcp[256];
	uid_t uid;

	skip_unless_little_endian();
	fixture(tcp, sizeof(tcp), "tcp");

	/* Line 3, not line 1 (our own end of the same connection). */
	uid = UID_UNSET;
	peer = sin4("127.0.0.1", 50000);
	assert_int_equal(peer_tcp_uid_in(tcp, "/nonexistent/tcp6", SA(&peer),
	    SA(&us), &uid), 0);
	assert_int_equal(uid, 33);

	uid = UID_UNSET;
	peer = sin4("127.0.0.1", 50002);
	assert_int_equal(peer_tcp_uid_in(tcp, "/nonexistent/tcp6", SA(&peer),
	    SA(&us), &uid), 0);
	assert_int_equal(uid, 1001);

	uid = UID_UNSET;
	peer = sin4("127.0.0.2", 50001);
	assert_int_equal(peer_tcp_uid_in(tcp, "/nonexistent/tcp6", SA(&peer),
	    SA(&us), &uid), 0);
	assert_int_equal(uid, 1000);

	/* Regression: a peer's end in TIME_WAIT, or without an inode (an
	 * orphan), is uid 0 in the table and belongs to no one. */
	uid = UID_UNSET;
	peer = sin4("127.0.0.1", 0xC360);
	assert_int_equal(peer_tcp_uid_in(tcp, "/nonexistent/tcp6", SA(&peer),
	    SA(&us), &uid), -ENOENT);
	peer = sin4("127.0.0.1", 0xC361);
	assert_int_equal(peer_tcp_uid_in(tcp, "/nonexistent/tcp6", SA(&peer),
	    SA(&us), &uid), -ENOENT);
	assert_int_equal(uid, UID_UNSET);

	/* Asked the other way round, the answer is our own end's line. */
	uid = UID_UNSET;
	peer = sin4("127.0.0.1", 50000);
	assert_int_equal(peer_tcp_uid_in(tcp, "/nonexistent/tcp6", SA(&us),
	    SA(&peer), &uid), 0);
	assert_int_equal(uid, 0);
}

static void
test_table4_no_match(void **state)
{
	static const struct {
		const char	*addr;
		unsigned	 port;
	} peers[] = {
		{ "127.0.0.1", 50003 },	/* no such port */
		{ "127.0.0.2", 50000 },	/* the port of another address */
		{ "127.0.0.1", 50001 },	/* 127.0.0.2's port */
		{ "1.0.0.127", 50000 },	/* byte order turned */
	};
	struct sockaddr_in us = sin4("127.0.0.1", 7515), peer;
	struct sockaddr_in other_us = sin4("127.0.0.1", 7516);
	char tcp[256];
	uid_t uid = UID_UNSET;
	size_t i;

	skip_unless_little_endian();
	fixture(tcp, sizeof(tcp), "tcp");
	for (i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		peer = sin4(peers[i].addr, peers[i].port);
		if (peer_tcp_uid_in(tcp, "/nonexistent/tcp6", SA(&peer),
		    SA(&us), &uid) != -ENOENT)
			fail_msg("case %zu: %s:%u matched", i, peers[i].addr,
			    peers[i].port);
		assert_int_equal(uid, UID_UNSET);
	}
	/* The right peer, but connected to another local port. */
	peer = sin4("127.0.0.1", 50000);
	assert_int_equal(peer_tcp_uid_in(tcp, "/nonexistent/tcp6", SA(&peer),
	    SA(&other_us), &uid), -ENOENT);
	assert_int_equal(uid, UID_UNSET);
}

static void
test_table4_garbage(void **state)
{
	struct sockaddr_in us = sin4("127.0.0.1", 7515);
	struct sockaddr_in peer = sin4("127.0.0.1", 50000);
	char tcp[256];
	uid_t uid = UID_UNSET;

	skip_unless_little_endian();
	/* Short lines and a non-numeric uid are passed over, not misread. */
	fixture(tcp, sizeof(tcp), "tcp-garbage");
	assert_int_equal(peer_tcp_uid_in(tcp, "/nonexistent/tcp6", SA(&peer),
	    SA(&us), &uid), 0);
	assert_int_equal(uid, 33);
}

static void
test_table_missing(void **state)
{
	struct sockaddr_in us = sin4("127.0.0.1", 7515);
	struct sockaddr_in peer = sin4("127.0.0.1", 50000);
	struct sockaddr_in6 us6 = sin6("::1", 7515);
	struct sockaddr_in6 peer6 = sin6("::1", 50000);
	char tcp[256];
	uid_t uid = UID_UNSET;

	fixture(tcp, sizeof(tcp), "tcp");
	assert_int_equal(peer_tcp_uid_in("/nonexistent/tcp", tcp, SA(&peer),
	    SA(&us), &uid), -ENOENT);
	/* IPv6 disabled: no tcp6 table; the IPv4 one is not consulted. */
	assert_int_equal(peer_tcp_uid_in(tcp, "/nonexistent/tcp6", SA(&peer6),
	    SA(&us6), &uid), -ENOENT);
	assert_int_equal(uid, UID_UNSET);
}

static void
test_table6(void **state)
{
	struct sockaddr_in6 us = sin6("::1", 7515), peer = sin6("::1", 50000);
	struct sockaddr_in peer4 = sin4("127.0.0.1", 50000);
	struct sockaddr_in us4 = sin4("127.0.0.1", 7515);
	char tcp[256], tcp6[256];
	uid_t uid = UID_UNSET;

	skip_unless_little_endian();
	fixture(tcp, sizeof(tcp), "tcp");
	fixture(tcp6, sizeof(tcp6), "tcp6");
	assert_int_equal(peer_tcp_uid_in(tcp, tcp6, SA(&peer), SA(&us), &uid),
	    0);
	assert_int_equal(uid, 44);
	/* IPv4 peers are looked up in the IPv4 table only. */
	assert_int_equal(peer_tcp_uid_in(tcp, tcp6, SA(&peer4), SA(&us4),
	    &uid), 0);
	assert_int_equal(uid, 33);
	uid = UID_UNSET;
	assert_int_equal(peer_tcp_uid_in(tcp6, tcp, SA(&peer4), SA(&us4),
	    &uid), -ENOENT);
	peer = sin6("::2", 50000);
	assert_int_equal(peer_tcp_uid_in(tcp, tcp6, SA(&peer), SA(&us), &uid),
	    -ENOENT);
	assert_int_equal(uid, UID_UNSET);
}

static void
test_unix_refused(void **state)
{
	struct sockaddr_un un;
	struct sockaddr_in in = sin4("127.0.0.1", 7515);
	char tcp[256];
	uid_t uid = UID_UNSET;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	strcpy(un.sun_path, "/run/supportvpn/events.sock");
	fixture(tcp, sizeof(tcp), "tcp");
	assert_int_equal(peer_tcp_uid(SA(&un), SA(&un), &uid), -EAFNOSUPPORT);
	assert_int_equal(peer_tcp_uid_in(tcp, tcp, SA(&un), SA(&in), &uid),
	    -EAFNOSUPPORT);
	assert_int_equal(peer_tcp_uid_in(tcp, tcp, SA(&in), SA(&un), &uid),
	    -EAFNOSUPPORT);
	assert_int_equal(uid, UID_UNSET);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback4),
		cmocka_unit_test(test_loopback6),
		cmocka_unit_test(test_loopback_other_uid),
		cmocka_unit_test(test_loopback_no_connection),
		cmocka_unit_test(test_loopback_closed_peer),
		cmocka_unit_test(test_table4),
		cmocka_unit_test(test_table4_no_match),
		cmocka_unit_test(test_table4_garbage),
		cmocka_unit_test(test_table_missing),
		cmocka_unit_test(test_table6),
		cmocka_unit_test(test_unix_refused),
	};

	return cmocka_run_group_tests_name("peer", tests, setup, NULL);
}
