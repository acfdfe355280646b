/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the hub daemon's core (hub/hub.c) on a real loop, with the
 * real event socket, status socket, grants file watcher and nftables, in
 * a network namespace of the test's own: plugin datagrams and grants in,
 * set elements and status answers out.
 */
#define _GNU_SOURCE		/* unshare */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include <uv.h>

#include "grants.h"
#include "hub.h"
#include "hubconf.h"
#include "log.h"
#include "util.h"

#define TABLE		"hub_daemon_test"
#define WAIT_MS		3000

struct fx {
	char		 dir[64];
	char		 events[100], status[100], grants[100], state[100];
	struct hubconf	 cfg;
	uv_loop_t	 loop;
	struct hub	*hub;
	int		 tx;		/* the fake plugin's socket */
};

static int
fx_setup(void **state)
{
	struct hubconf_error err;
	struct fx *f = calloc(1, sizeof(*f));
	char json[1024];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_hub_daemon.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->events, sizeof(f->events), "%s/run/events.sock", f->dir);
	snprintf(f->status, sizeof(f->status), "%s/run/hub.sock", f->dir);
	snprintf(f->grants, sizeof(f->grants), "%s/etc/grants.json", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/run/state.json", f->dir);
	snprintf(json, sizeof(json), "{\"events\": \"%s\", \"status_socket\":"
	    " \"%s\", \"grants_file\": \"%s\", \"state_file\": \"%s\", "
	    "\"nft_table\": \"" TABLE "\", \"tun_ifaces\": [\"tun*\"], "
	    "\"allowed_uids\": [%u], \"log_file\": \"\"}", f->events,
	    f->status, f->grants, f->state, (unsigned)geteuid());
	if (hubconf_load_string(&f->cfg, json, "test", &err) < 0)
		fail_msg("%s", err.text);
	/* Fail closed by default; the tests look for "(no table)" after a
	 * stop unless they ask for the closed table (test_exit_closed). */
	assert_true(f->cfg.nft_keep_closed);
	f->cfg.nft_keep_closed = false;
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_true((f->tx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >=
	    0);
	*state = f;
	return 0;
}

static void
spin(uv_loop_t *loop, int ms)
{
	const struct timespec nap = { 0, 2 * 1000000L };
	int64_t end = util_now_ms() + ms;

	while (util_now_ms() < end) {
		(void)uv_run(loop, UV_RUN_NOWAIT);
		nanosleep(&nap, NULL);
	}
}

static void
fx_stop(struct fx *f)
{
	if (f->hub == NULL)
		return;
	hub_stop(f->hub);
	f->hub = NULL;
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	char cmd[256];

	fx_stop(f);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	close(f->tx);
	hubconf_deinit(&f->cfg);
	/* Only our own temp files. */
	unlink(f->grants);
	snprintf(cmd, sizeof(cmd), "%s.lock", f->grants);
	unlink(cmd);
	unlink(f->state);
	unlink(f->events);
	unlink(f->status);
	snprintf(cmd, sizeof(cmd), "%s/run", f->dir);
	rmdir(cmd);
	snprintf(cmd, sizeof(cmd), "%s/etc", f->dir);
	rmdir(cmd);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
fx_start(struct fx *f)
{
	assert_non_null(f->hub = hub_new(&f->loop, &f->cfg));
	assert_int_equal(hub_start(f->hub), 0);
}

static void
send_from(int fd, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
send_from(int fd, const char *path, const char *fmt, ...)
{
	struct sockaddr_un sa;
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&sa,
	    sizeof(sa)), n);
}

#define EV(f, ...)	send_from((f)->tx, (f)->events, __VA_ARGS__)

static void
connect_client(struct fx *f, const char *cn, const char *role,
    const char *tun, int port)
{
	EV(f, "{\"v\":1,\"type\":\"client_connect\",\"pid\":%d,\"cn\":\"%s\","
	    "\"role\":\"%s\",\"real_ip\":\"198.51.100.%d\",\"real_port\":%d,"
	    "\"tunnel_ip\":\"%s\"}", (int)getpid(), cn, role, port % 200,
	    port, tun);
	EV(f, "{\"v\":1,\"type\":\"learn_address\",\"pid\":%d,\"op\":\"add\","
	    "\"addr\":\"%s\",\"cn\":\"%s\",\"role\":\"%s\"}", (int)getpid(),
	    tun, cn, role);
}

/* The set's elements as nft lists them in text, on one line. */
static void
set_text(const char *set, char *buf, size_t len)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	char cmd[128];
	const char *out, *p;
	size_t n = 0;

	assert_non_null(ctx);
	assert_int_equal(nft_ctx_buffer_output(ctx), 0);
	assert_int_equal(nft_ctx_buffer_error(ctx), 0);
	snprintf(cmd, sizeof(cmd), "list set inet " TABLE " %s", set);
	buf[0] = '\0';
	if (nft_run_cmd_from_buffer(ctx, cmd) != 0) {
		snprintf(buf, len, "(no table)");
		nft_ctx_free(ctx);
		return;
	}
	out = nft_ctx_get_output_buffer(ctx);
	if ((p = strstr(out, "elements = { ")) != NULL)
		for (p += 13; *p != '\0' && *p != '}' && n + 1 < len; p++)
			if (*p != '\n' && *p != '\t' && !(*p == ' ' &&
			    n > 0 && buf[n - 1] == ' '))
				buf[n++] = *p;
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	nft_ctx_free(ctx);
}

/* Spins the loop until the set holds what is expected (its prefix when
 * the elements carry timeouts), or fails. */
static void
wait_set(struct fx *f, const char *set, const char *want)
{
	char got[2048];
	int64_t end = util_now_ms() + WAIT_MS;

	for (;;) {
		spin(&f->loop, 10);
		set_text(set, got, sizeof(got));
		if (strcmp(got, want) == 0 || (want[0] != '\0' &&
		    strncmp(got, want, strlen(want)) == 0))
			return;
		if (util_now_ms() > end)
			fail_msg("set %s: got '%s', want '%s'", set, got, want);
	}
}

/* One request on the status socket while the loop runs. */
static json_t *
request(struct fx *f, const char *req)
{
	struct sockaddr_un sa;
	char buf[65536];
	size_t n = 0;
	int64_t end = util_now_ms() + WAIT_MS;
	json_t *answer;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->status);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) >=
	    0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (memchr(buf, '\n', n) == NULL) {
		ssize_t r;

		assert_true(util_now_ms() < end);
		spin(&f->loop, 5);
		r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r > 0)
			n += (size_t)r;
		else
			assert_true(r < 0 && errno == EAGAIN);
	}
	close(fd);
	buf[n] = '\0';
	assert_non_null(answer = json_loads(buf, JSON_DISABLE_EOF_CHECK,
	    NULL));
	return answer;
}

static int
grant_edit(struct grants *gs, void *arg, struct grants_error *err)
{
	return grants_put(gs, arg);
}

static int
revoke_edit(struct grants *gs, void *arg, struct grants_error *err)
{
	const struct grant *g = arg;

	return grants_remove(gs, g->staff, g->appliance) ? 0 : -1;
}

static struct grant
mk(const char *staff, const char *appl, int64_t expires_ms)
{
	struct grant g;

	memset(&g, 0, sizeof(g));
	snprintf(g.staff, sizeof(g.staff), "%s", staff);
	snprintf(g.appliance, sizeof(g.appliance), "%s", appl);
	snprintf(g.case_ref, sizeof(g.case_ref), "CASE-42");
	g.expires_ms = expires_ms;
	return g;
}

static void
edit(struct fx *f, int (*fn)(struct grants *, void *,
    struct grants_error *), struct grant *g)
{
	struct grants_error err;

	if (grants_edit(f->grants, util_now_ms(), fn, g, &err) != 0)
		fail_msg("grants_edit: %s", err.text);
}

static void
test_grant_revoke(void **state)
{
	struct fx *f = *state;
	struct grant g = mk("staff-alice", "appliance-0001",
	    util_now_ms() + 3600000);
	json_t *a, *gr;

	fx_start(f);
	wait_set(f, "grants", "");
	connect_client(f, "staff-alice", "staff", "203.0.113.2", 40000);
	connect_client(f, "appliance-0001", "appliance", "203.0.113.3", 40001);
	connect_client(f, "appliance-0002", "appliance", "203.0.113.4", 40002);
	wait_set(f, "appliances", "203.0.113.3, 203.0.113.4");
	wait_set(f, "staff", "203.0.113.2");
	/* The grants file changes; the watcher picks it up. */
	edit(f, grant_edit, &g);
	wait_set(f, "grants", "203.0.113.2 . 203.0.113.3 timeout");
	a = request(f, "{\"cmd\":\"status\"}\n");
	assert_true(json_is_true(json_object_get(a, "ok")));
	assert_int_equal(json_array_size(json_object_get(a, "identities")), 3);
	gr = json_array_get(json_object_get(a, "grants"), 0);
	assert_string_equal(json_string_value(json_object_get(gr, "staff")),
	    "staff-alice");
	assert_true(json_is_true(json_object_get(gr, "effective")));
	assert_true(json_integer_value(json_object_get(gr, "seconds_left")) >
	    3590);
	json_decref(a);
	/* A second connection of alice (the TCP server) gets the grant too. */
	connect_client(f, "staff-alice", "staff", "203.0.113.130", 40003);
	wait_set(f, "grants", "203.0.113.2 . 203.0.113.3 timeout");
	wait_set(f, "staff", "203.0.113.2, 203.0.113.130");
	/* She leaves that one: its address and element go. */
	EV(f, "{\"v\":1,\"type\":\"client_disconnect\",\"pid\":%d,\"cn\":"
	    "\"staff-alice\",\"role\":\"staff\",\"real_ip\":\"198.51.100.43\","
	    "\"tunnel_ip\":\"203.0.113.130\",\"bytes_in\":10,\"bytes_out\":20,"
	    "\"duration_s\":5}", (int)getpid());
	wait_set(f, "staff", "203.0.113.2");
	/* Revoked: the element is gone at once. */
	edit(f, revoke_edit, &g);
	wait_set(f, "grants", "");
	a = request(f, "{\"cmd\":\"status\"}\n");
	assert_int_equal(json_array_size(json_object_get(a, "grants")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(a, "recent"), 0), "bytes_out")), 20);
	json_decref(a);
	/* learn_address delete takes an address away. */
	EV(f, "{\"v\":1,\"type\":\"learn_address\",\"pid\":%d,\"op\":"
	    "\"delete\",\"addr\":\"203.0.113.4\"}", (int)getpid());
	wait_set(f, "appliances", "203.0.113.3");
	fx_stop(f);
}

static void
test_expiry_and_broken_file(void **state)
{
	struct fx *f = *state;
	struct grant g = mk("staff-alice", "appliance-0001",
	    util_now_ms() + 1500);
	char buf[64];
	json_t *a;
	FILE *fp;

	fx_start(f);
	connect_client(f, "staff-alice", "staff", "203.0.113.2", 40000);
	connect_client(f, "appliance-0001", "appliance", "203.0.113.3", 40001);
	edit(f, grant_edit, &g);
	a = request(f, "{\"cmd\":\"reload\"}\n");
	assert_true(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	wait_set(f, "grants", "203.0.113.2 . 203.0.113.3 timeout");
	/* A broken file: logged, the last good grants stay. */
	assert_non_null(fp = fopen(f->grants, "w"));
	fputs("{\"grants\": [{\"staff\": ", fp);
	fclose(fp);
	a = request(f, "{\"cmd\":\"reload\"}\n");
	assert_false(json_is_true(json_object_get(a, "ok")));
	assert_non_null(strstr(json_string_value(json_object_get(a, "error")),
	    "line"));
	json_decref(a);
	wait_set(f, "grants", "203.0.113.2 . 203.0.113.3 timeout");
	/* The grant expires: gone without any file change. */
	spin(&f->loop, 1600);
	wait_set(f, "grants", "");
	a = request(f, "{\"cmd\":\"status\"}\n");
	assert_int_equal(json_array_size(json_object_get(a, "grants")), 0);
	assert_false(json_is_true(json_object_get(json_object_get(a,
	    "grants_file"), "ok")));
	json_decref(a);
	/* Requests that are not understood. */
	a = request(f, "{\"cmd\":\"flush\"}\n");
	assert_false(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	a = request(f, "not json\n");
	assert_false(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	fx_stop(f);
	set_text("grants", buf, sizeof(buf));
	assert_string_equal(buf, "(no table)");
}

static void
test_garbage_datagrams(void **state)
{
	struct fx *f = *state;

	fx_start(f);
	EV(f, "nonsense");
	EV(f, "{\"v\":1,\"type\":\"learn_address\",\"pid\":1,\"op\":\"add\","
	    "\"addr\":\"203.0.113.9\",\"cn\":\"x\",\"role\":\"appliance\","
	    "\"extra\":1}");
	EV(f, "{\"v\":1,\"type\":\"learn_address\",\"pid\":1,\"op\":\"add\","
	    "\"addr\":\"2001:db8::9\",\"cn\":\"x\",\"role\":\"appliance\"}");
	connect_client(f, "appliance-0001", "appliance", "203.0.113.3", 40001);
	wait_set(f, "appliances", "203.0.113.3");
	fx_stop(f);
}

/*
 * A restart of the daemon keeps the clients of openvpn processes that
 * still run (learn_address is not repeated for them) and forgets those of
 * processes that are gone.
 */
static void
test_restart_state(void **state)
{
	struct fx *f = *state;
	int tx, status;
	pid_t child;

	fx_start(f);
	connect_client(f, "staff-alice", "staff", "203.0.113.2", 40000);
	/* Another "openvpn": a child that reports a client and exits. */
	if ((child = fork()) == 0) {
		tx = socket(AF_UNIX, SOCK_DGRAM, 0);
		send_from(tx, f->events, "{\"v\":1,\"type\":\"learn_address\","
		    "\"pid\":%d,\"op\":\"add\",\"addr\":\"203.0.113.66\","
		    "\"cn\":\"appliance-0066\",\"role\":\"appliance\"}",
		    (int)getpid());
		_exit(0);
	}
	assert_true(child > 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	wait_set(f, "appliances", "203.0.113.66");
	wait_set(f, "staff", "203.0.113.2");
	fx_stop(f);
	fx_start(f);
	wait_set(f, "staff", "203.0.113.2");
	wait_set(f, "appliances", "");
	fx_stop(f);
}

static void
test_exit_closed(void **state)
{
	struct fx *f = *state;
	char buf[64];

	f->cfg.nft_keep_closed = true;
	fx_start(f);
	connect_client(f, "appliance-0001", "appliance", "203.0.113.3", 40001);
	wait_set(f, "appliances", "203.0.113.3");
	fx_stop(f);
	/* Left in place, empty: nothing passes between clients. */
	set_text("appliances", buf, sizeof(buf));
	assert_string_equal(buf, "");
	f->cfg.nft_keep_closed = false;
	fx_start(f);
	fx_stop(f);
	set_text("appliances", buf, sizeof(buf));
	assert_string_equal(buf, "(no table)");
}

static int
enter_private_netns(void)
{
	if (unshare(CLONE_NEWNET) == 0 ||
	    unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
		return 0;
	return -1;
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_grant_revoke),
		T(test_expiry_and_broken_file),
		T(test_garbage_datagrams),
		T(test_restart_state),
		T(test_exit_closed),
	};
#undef T

	log_init(getenv("HUB_TEST_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR,
	    1);
	if (enter_private_netns() < 0) {
		fprintf(stderr, "test_hub_daemon: no private network namespace "
		    "(needs root or user namespaces): %s; skipped\n",
		    strerror(errno));
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
