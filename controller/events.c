/* SPDX-License-Identifier: MIT */
/*
 * Plugin events. libuv has no unix datagram handle, so the socket is ours,
 * read when openvpn speaks (events_drain) and by a slow sweep. SO_PASSCRED
 * makes the kernel attach the sender's pid, which must be the openvpn we
 * run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "events.h"
#include "log.h"
#include "ratelimit.h"
#include "supportvpn_event.h"
#include "util.h"

struct events {
	uv_loop_t	*loop;
	char		*path;
	events_fn	 fn;
	events_sender_fn sender;
	void		*arg;
	int		 fd;
	uv_timer_t	 timer;		/* the slow sweep */
	bool		 timing;
	uint64_t	 dropped;
	struct rl_budget drop_log;	/* anyone may send: bounded lines */
};

static const char *const known_types[] = {
	SVPN_EV_TLS_VERIFY, SVPN_EV_IPCHANGE, SVPN_EV_UP,
	SVPN_EV_ROUTE_UP, SVPN_EV_ROUTE_PREDOWN, SVPN_EV_DOWN,
};

static const char *const string_fields[] = {
	SVPN_EV_RESULT, SVPN_EV_RULE, SVPN_EV_REASON, SVPN_EV_CN,
	SVPN_EV_SHA256, SVPN_EV_SERVER_IP, SVPN_EV_DEV, SVPN_EV_LOCAL_IP,
	SVPN_EV_LOCAL_IP6, SVPN_EV_NETMASK, SVPN_EV_SIGNAL,
};

static const char *const int_fields[] = {
	SVPN_EV_PID, SVPN_EV_DEPTH, SVPN_EV_SERVER_PORT,
};

static bool
in_list(const char *key, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(key, list[i]) == 0)
			return true;
	return false;
}

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

int
events_decode(const char *buf, size_t len, json_t **out, char *why,
    size_t whylen)
{
	json_t *ev, *v;
	const char *key, *type;

	*out = NULL;
	if ((ev = util_json_object(buf, len, SVPN_EVENT_MAX, why,
	    whylen)) == NULL)
		return -1;
	v = json_object_get(ev, SVPN_EV_VERSION);
	if (!json_is_integer(v) || json_integer_value(v) != SVPN_EVENT_VERSION) {
		snprintf(why, whylen, "unknown version");
		goto bad;
	}
	v = json_object_get(ev, SVPN_EV_TYPE);
	if (!json_is_string(v) || !in_list(type = json_string_value(v),
	    known_types, NELEM(known_types))) {
		snprintf(why, whylen, "unknown type");
		goto bad;
	}
	json_object_foreach(ev, key, v) {
		if (strcmp(key, SVPN_EV_VERSION) == 0 ||
		    strcmp(key, SVPN_EV_TYPE) == 0)
			continue;
		if (in_list(key, string_fields, NELEM(string_fields))) {
			if (!json_is_string(v) ||
			    strlen(json_string_value(v)) != json_string_length(v)) {
				snprintf(why, whylen, "'%.32s' is not a string",
				    key);
				goto bad;
			}
		} else if (in_list(key, int_fields, NELEM(int_fields))) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 0x7fffffff) {
				snprintf(why, whylen, "'%.32s' is not a "
				    "number", key);
				goto bad;
			}
		} else {
			snprintf(why, whylen, "unknown field '%.32s'", key);
			goto bad;
		}
	}
	if (strcmp(type, SVPN_EV_TLS_VERIFY) == 0) {
		v = json_object_get(ev, SVPN_EV_RESULT);
		if (v == NULL || (strcmp(json_string_value(v),
		    SVPN_RESULT_ACCEPTED) != 0 && strcmp(json_string_value(v),
		    SVPN_RESULT_REFUSED) != 0) ||
		    !json_is_integer(json_object_get(ev, SVPN_EV_DEPTH))) {
			snprintf(why, whylen, "tls_verify without a valid "
			    "result and depth");
			goto bad;
		}
	}
	*out = ev;
	return 0;
bad:
	json_decref(ev);
	return -1;
}

struct events *
events_new(uv_loop_t *loop, const char *path, events_fn fn,
    events_sender_fn sender, void *arg)
{
	struct events *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->path = strdup(path)) == NULL) {
		free(e);
		return NULL;
	}
	e->loop = loop;
	e->fn = fn;
	e->sender = sender;
	e->arg = arg;
	e->fd = -1;
	return e;
}

static void
drop(struct events *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Logs a dropped datagram, at most EVENTS_LOG_BURST lines per
 * EVENTS_LOG_WINDOW_MS: events.sock is open to every local user, and a
 * flood of datagrams must not become a flood of log lines.
 */
static void
drop(struct events *e, const char *fmt, ...)
{
	char line[256];
	unsigned missed = 0;
	va_list ap;

	e->dropped++;
	if (!rl_budget_take(&e->drop_log, (int64_t)uv_now(e->loop),
	    EVENTS_LOG_BURST, EVENTS_LOG_WINDOW_MS, &missed))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (missed > 0)
		log_warnx("events: %u more dropped datagrams were not logged",
		    missed);
	log_warnx("events: %s", line);
}

static void
handle_datagram(struct events *e, const char *buf, size_t len, pid_t pid)
{
	char why[128];
	pid_t want = e->sender(e->arg);
	json_t *ev;

	if (pid == 0 || pid != want) {
		drop(e, "dropped a datagram from pid %d, which is not our "
		    "openvpn (%d)", (int)pid, (int)want);
		return;
	}
	if (events_decode(buf, len, &ev, why, sizeof(why)) < 0) {
		drop(e, "dropped a malformed event from openvpn: %s", why);
		return;
	}
	e->fn(ev, pid, e->arg);
	json_decref(ev);
}

void
events_drain(struct events *e)
{
	char buf[SVPN_EVENT_MAX + 1];
	struct util_sender from;
	ssize_t n;
	int i;

	if (e == NULL || e->fd < 0)
		return;
	/* A bounded batch per call keeps the loop fair. */
	for (i = 0; i < 64; i++) {
		n = util_dgram_recv(e->fd, buf, sizeof(buf), &from);
		if (n == -EMSGSIZE) {
			drop(e, "dropped an oversized datagram (over %d bytes) "
			    "from pid %d", SVPN_EVENT_MAX,
			    from.known ? (int)from.pid : 0);
			continue;
		}
		if (n < 0) {
			if (n != -EAGAIN)
				log_warnx("events: recvmsg: %s", strerror((int)-n));
			return;
		}
		handle_datagram(e, buf, (size_t)n, from.known ? from.pid : 0);
	}
}

static void
on_sweep(uv_timer_t *t)
{
	events_drain(t->data);
}

int
events_listen(struct events *e)
{
	int rc;

	/*
	 * 0666: openvpn may have dropped to an unprivileged user when the
	 * plugin reconnects; the sender's pid is checked on every datagram.
	 */
	if ((rc = util_dgram_listen(e->path, 0666)) < 0) {
		log_error("events: cannot listen on %s: %s", e->path,
		    strerror(-rc));
		e->fd = -1;
		return rc;
	}
	e->fd = rc;
	uv_timer_init(e->loop, &e->timer);
	e->timer.data = e;
	e->timing = true;
	uv_timer_start(&e->timer, on_sweep, EVENTS_SWEEP_MS, EVENTS_SWEEP_MS);
	/* It never keeps the loop alive by itself. */
	uv_unref((uv_handle_t *)&e->timer);
	log_info("events: listening for plugin events on %s", e->path);
	return 0;
}

static void
on_timer_closed(uv_handle_t *h)
{
	struct events *e = h->data;

	close(e->fd);
	free(e->path);
	free(e);
}

void
events_free(struct events *e)
{
	if (e == NULL)
		return;
	if (e->fd >= 0)
		(void)unlink(e->path);
	if (e->timing) {
		uv_close((uv_handle_t *)&e->timer, on_timer_closed);
		return;
	}
	if (e->fd >= 0)
		close(e->fd);
	free(e->path);
	free(e);
}
