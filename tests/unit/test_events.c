/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the plugin-event receiver on a real datagram socket: a
 * valid event reaches the owner; an oversized one is dropped and logged
 * with its sender; a flood of bad datagrams is logged at most
 * EVENTS_LOG_BURST times and does not stop good events.
 */
#define _DEFAULT_SOURCE		/* mkdtemp */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "events.h"
#include "log.h"
#include "supportvpn_event.h"

static char logged[16384];
static unsigned nlogged;
static unsigned ndelivered;

static void
on_log(enum log_level level, const char *time, const char *msg, void *arg)
{
	size_t n = strlen(logged);

	nlogged++;
	snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
}

static void
on_event(json_t *ev, pid_t sender, void *arg)
{
	assert_int_equal(sender, getpid());
	ndelivered++;
}

static pid_t
sender_is_us(void *arg)
{
	return getpid();
}

struct fixture {
	uv_loop_t	 loop;
	char		 dir[64];
	char		 path[128];
	struct events	*e;
	int		 fd;		/* our sending socket */
};

static void
setup(struct fixture *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/svpn-events-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/events.sock", f->dir);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	f->e = events_new(&f->loop, f->path, on_event, sender_is_us, NULL);
	assert_non_null(f->e);
	assert_int_equal(events_listen(f->e), 0);
	f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	logged[0] = '\0';
	nlogged = ndelivered = 0;
}

static void
teardown(struct fixture *f)
{
	close(f->fd);
	events_free(f->e);
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	assert_int_equal(rmdir(f->dir), 0);
}

static void
send_dgram(struct fixture *f, const void *buf, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
	assert_int_equal(sendto(f->fd, buf, len, 0, (struct sockaddr *)&sun,
	    sizeof(sun)), (ssize_t)len);
}

static void
send_valid(struct fixture *f)
{
	char ev[256];

	snprintf(ev, sizeof(ev), "{\"v\":%d,\"type\":\"up\",\"pid\":%d,"
	    "\"dev\":\"tun0\"}", SVPN_EVENT_VERSION, (int)getpid());
	send_dgram(f, ev, strlen(ev));
}

static void
test_oversized_dropped(void **state)
{
	static char big[SVPN_EVENT_MAX * 2];
	struct fixture f;
	char want[128];

	setup(&f);
	send_valid(&f);
	events_drain(f.e);
	assert_int_equal(ndelivered, 1);
	assert_int_equal(nlogged, 0);

	memset(big, ' ', sizeof(big));
	send_dgram(&f, big, sizeof(big));
	send_valid(&f);
	events_drain(f.e);
	/* The big one is dropped and named with its sender; the next one
	 * still arrives. */
	assert_int_equal(ndelivered, 2);
	assert_int_equal(nlogged, 1);
	snprintf(want, sizeof(want), "dropped an oversized datagram (over %d "
	    "bytes) from pid %d", SVPN_EVENT_MAX, (int)getpid());
	if (strstr(logged, want) == NULL)
		fail_msg("'%s' not in: %s", want, logged);
	teardown(&f);
}

static void
test_flood_logged_within_budget(void **state)
{
	static char big[SVPN_EVENT_MAX + 100];
	struct fixture f;
	int i, j;

	setup(&f);
	memset(big, 'x', sizeof(big));
	/* Ten rounds of five (the kernel queues ten datagrams at most). */
	for (i = 0; i < 10; i++) {
		for (j = 0; j < 5; j++) {
			if (j % 2)
				send_dgram(&f, big, sizeof(big));
			else
				send_dgram(&f, "garbage", 7);
		}
		events_drain(f.e);
	}
	assert_int_equal(nlogged, EVENTS_LOG_BURST);
	send_valid(&f);
	events_drain(f.e);
	assert_int_equal(ndelivered, 1);
	assert_int_equal(nlogged, EVENTS_LOG_BURST);
	teardown(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oversized_dropped),
		cmocka_unit_test(test_flood_logged_within_budget),
	};

	log_init(LOG_LEVEL_INFO, 0);
	log_set_hook(on_log, NULL);
	return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
