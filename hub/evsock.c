/* SPDX-License-Identifier: MIT */
/*
 * libuv has no unix datagram handle, so the socket is ours and uv_poll
 * says when it is readable. The sender's uid comes from the kernel; the
 * openvpn pids are not known in advance (two servers, restarts), so the
 * uid is the gate and the pid names the server.
 */
#define _GNU_SOURCE		/* struct ucred */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "datagram.h"
#include "evsock.h"
#include "log.h"
#include "supportvpn_event.h"
#include "util.h"

/* At most this many drop messages per window; the rest are counted. */
#define DROP_LOG_MAX		10
#define DROP_LOG_WINDOW_MS	60000
#define BATCH_MAX		64

struct evsock {
	uv_loop_t	*loop;
	char		*path;
	unsigned	 mode;
	uid_t		*uids;
	size_t		 nuids;
	evsock_fn	 fn;
	evsock_batch_fn	 batch;
	void		*arg;
	int		 fd;
	uv_poll_t	 poll;
	bool		 polling;
	int64_t		 window_ms;	/* start of the drop-log window */
	unsigned	 logged;	/* drop messages in this window */
	uint64_t	 suppressed;
};

struct evsock *
evsock_new(uv_loop_t *loop, const char *path, unsigned mode,
    const uid_t *uids, size_t nuids, evsock_fn fn, evsock_batch_fn batch,
    void *arg)
{
	struct evsock *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->path = strdup(path);
	e->uids = calloc(nuids ? nuids : 1, sizeof(*uids));
	if (e->path == NULL || e->uids == NULL) {
		free(e->path);
		free(e->uids);
		free(e);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(e->uids, uids, nuids * sizeof(*uids));
	e->nuids = nuids;
	e->loop = loop;
	e->mode = mode;
	e->fn = fn;
	e->batch = batch;
	e->arg = arg;
	e->fd = -1;
	return e;
}

static void
drop(struct evsock *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Logs a dropped datagram, at most DROP_LOG_MAX a minute. */
static void
drop(struct evsock *e, const char *fmt, ...)
{
	int64_t now = (int64_t)uv_now(e->loop);
	char msg[512];
	va_list ap;

	if (now - e->window_ms >= DROP_LOG_WINDOW_MS) {
		if (e->suppressed > 0)
			log_warnx("events: %llu more datagrams dropped in the "
			    "last minute", (unsigned long long)e->suppressed);
		e->window_ms = now;
		e->logged = 0;
		e->suppressed = 0;
	}
	if (e->logged >= DROP_LOG_MAX) {
		e->suppressed++;
		return;
	}
	e->logged++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("events: dropped a datagram: %s", msg);
}

static bool
uid_allowed(const struct evsock *e, uid_t uid)
{
	size_t i;

	for (i = 0; i < e->nuids; i++)
		if (e->uids[i] == uid)
			return true;
	return false;
}

static void
handle(struct evsock *e, const char *buf, size_t len,
    const struct util_sender *from)
{
	struct datagram d;
	char why[160];

	if (!from->known || from->pid <= 0) {
		drop(e, "no sender credentials");
		return;
	}
	if (!uid_allowed(e, from->uid)) {
		drop(e, "sent by pid %d, uid %u, which is not allowed "
		    "(allowed_uids)", (int)from->pid, (unsigned)from->uid);
		return;
	}
	if (datagram_decode(buf, len, &d, why, sizeof(why)) < 0) {
		drop(e, "malformed, from pid %d: %s", (int)from->pid, why);
		return;
	}
	if (d.pid != (long)from->pid)
		log_debug("events: %s says pid %ld, the kernel says %d",
		    datagram_type_name(d.type), d.pid, (int)from->pid);
	e->fn(&d, from->pid, e->arg);
}

static void
on_readable(uv_poll_t *h, int status, int events)
{
	struct evsock *e = h->data;
	char buf[SVPN_EVENT_MAX + 1];
	struct util_sender from;
	ssize_t n;
	int i;

	if (status < 0) {
		log_warnx("events: poll: %s", uv_strerror(status));
		return;
	}
	/* A bounded batch per wake-up keeps the loop fair. */
	for (i = 0; i < BATCH_MAX; i++) {
		n = util_dgram_recv(e->fd, buf, sizeof(buf), &from);
		if (n == -EMSGSIZE) {
			drop(e, "larger than %d bytes", SVPN_EVENT_MAX);
			continue;
		}
		if (n < 0) {
			if (n != -EAGAIN)
				log_warnx("events: recvmsg: %s",
				    strerror((int)-n));
			break;
		}
		handle(e, buf, (size_t)n, &from);
	}
	if (i > 0 && e->batch != NULL)
		e->batch(e->arg);
}

int
evsock_listen(struct evsock *e)
{
	int rc;

	if ((rc = util_dgram_listen(e->path, e->mode)) < 0) {
		e->fd = -1;
		return rc;
	}
	e->fd = rc;
	if ((rc = uv_poll_init(e->loop, &e->poll, e->fd)) < 0) {
		close(e->fd);
		e->fd = -1;
		return rc;
	}
	e->poll.data = e;
	e->polling = true;
	e->window_ms = (int64_t)uv_now(e->loop);
	if ((rc = uv_poll_start(&e->poll, UV_READABLE, on_readable)) < 0)
		return rc;	/* evsock_free closes the handle */
	return 0;
}

static void
on_poll_closed(uv_handle_t *h)
{
	struct evsock *e = h->data;

	close(e->fd);
	free(e->path);
	free(e->uids);
	free(e);
}

void
evsock_free(struct evsock *e)
{
	if (e == NULL)
		return;
	if (e->fd >= 0)
		(void)unlink(e->path);
	if (e->polling) {
		uv_close((uv_handle_t *)&e->poll, on_poll_closed);
		return;
	}
	if (e->fd >= 0)
		close(e->fd);
	free(e->path);
	free(e->uids);
	free(e);
}
