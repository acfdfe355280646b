/* SPDX-License-Identifier: MIT */
/*
 * Management link: a uv_pipe_t to openvpn's unix socket, the parser, and a
 * FIFO of commands of which exactly one is in flight. openvpn answers
 * commands in order, so the head of the FIFO owns the next response.
 *
 * Liveness: openvpn is single-threaded, so a management socket that goes
 * quiet may be a hung or stopped openvpn, and the tunnel with it. The
 * greeting and each answer are bounded by answer_ms (cmd_timer); after
 * probe_ms without a complete line, an idle link sends a cheap command so
 * that the bound applies there too (idle_timer).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "log.h"
#include "mgmt.h"
#include "util.h"

enum link_state { LINK_IDLE, LINK_CONNECTING, LINK_UP, LINK_CLOSING };

/* Unexpected lines are logged at most this many per window. */
#define MGMT_JUNK_LOG_MAX	5
#define MGMT_JUNK_WINDOW_MS	10000

struct pending {
	char		*cmd;
	size_t		 len;
	enum mgmt_expect expect;
	mgmt_resp_fn	 fn;
	void		*arg;
};

struct mgmt {
	uv_loop_t		*loop;
	char			*path;
	struct mgmt_callbacks	 cb;
	void			*arg;
	uv_pipe_t		 pipe;
	uv_connect_t		 conn_req;
	uv_timer_t		 retry;
	uv_timer_t		 cmd_timer;	/* greeting, then the head */
	uv_timer_t		 idle_timer;	/* silence: probe */
	struct mgmt_timing	 timing;
	enum link_state		 state;
	bool			 want;		/* keep (re)connecting */
	bool			 greeted;
	bool			 in_flight;	/* head was written */
	bool			 freeing;
	int			 open_handles;
	unsigned		 retry_ms;
	unsigned		 bad_links;	/* unreadable, in a row */
	bool			 stuck;		/* this link: on_stuck ran */
	uint64_t		 junk_since;	/* the log window's start */
	unsigned		 junk_logged, junk_dropped;
	struct mgmt_proto	*proto;
	struct pending		 q[MGMT_MAX_PENDING];
	unsigned		 q_head, q_len;
	char			 rbuf[4096];
	char			 down_why[128];
};

static void link_close(struct mgmt *m, const char *why);
static void send_head(struct mgmt *m);

static void
on_handle_closed(uv_handle_t *h)
{
	struct mgmt *m = h->data;

	if (--m->open_handles == 0 && m->freeing) {
		mgmt_proto_free(m->proto);
		free(m->path);
		free(m);
	}
}

struct mgmt *
mgmt_new(uv_loop_t *loop, const char *path, const struct mgmt_timing *t,
    const struct mgmt_callbacks *cb, void *arg)
{
	struct mgmt *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->loop = loop;
	m->timing = *t;
	if (m->timing.answer_ms == 0)
		m->timing.answer_ms = 1;
	m->cb = *cb;
	m->arg = arg;
	m->retry_ms = 50;
	if ((m->path = strdup(path)) == NULL ||
	    (m->proto = mgmt_proto_new()) == NULL) {
		free(m->path);
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	uv_timer_init(loop, &m->retry);
	uv_timer_init(loop, &m->cmd_timer);
	uv_timer_init(loop, &m->idle_timer);
	m->retry.data = m;
	m->cmd_timer.data = m;
	m->idle_timer.data = m;
	m->open_handles = 3;
	return m;
}

static struct pending *
head(struct mgmt *m)
{
	return m->q_len > 0 ? &m->q[m->q_head] : NULL;
}

static void
pop_head(struct mgmt *m)
{
	struct pending *p = head(m);

	free(p->cmd);
	memset(p, 0, sizeof(*p));
	m->q_head = (m->q_head + 1) % MGMT_MAX_PENDING;
	m->q_len--;
	m->in_flight = false;
}

/* Fails every queued command; callbacks may queue new ones (they fail). */
static void
fail_all(struct mgmt *m, int status)
{
	while (m->q_len > 0) {
		struct pending p = *head(m);

		head(m)->cmd = NULL;
		pop_head(m);
		free(p.cmd);
		if (p.fn != NULL)
			p.fn(status, NULL, p.arg);
	}
}

unsigned
mgmt_pending(const struct mgmt *m)
{
	return m->q_len;
}

bool
mgmt_is_up(const struct mgmt *m)
{
	return m->state == LINK_UP && m->greeted;
}

static void
on_retry(uv_timer_t *t)
{
	mgmt_connect(t->data);
}

static void
schedule_retry(struct mgmt *m)
{
	if (!m->want || m->freeing)
		return;
	uv_timer_start(&m->retry, on_retry, m->retry_ms, 0);
	m->retry_ms = m->retry_ms * 2 > 1000 ? 1000 : m->retry_ms * 2;
}

static void
on_pipe_closed(uv_handle_t *h)
{
	struct mgmt *m = h->data;
	bool was_greeted = m->greeted;

	m->state = LINK_IDLE;
	m->greeted = false;
	mgmt_proto_reset(m->proto);
	fail_all(m, -ECONNRESET);
	if (was_greeted && m->cb.on_down != NULL && !m->freeing)
		m->cb.on_down(m->down_why, m->arg);
	schedule_retry(m);
	on_handle_closed(h);
}

static void
link_close(struct mgmt *m, const char *why)
{
	if (m->state == LINK_IDLE || m->state == LINK_CLOSING)
		return;
	snprintf(m->down_why, sizeof(m->down_why), "%s", why);
	m->state = LINK_CLOSING;
	uv_timer_stop(&m->cmd_timer);
	uv_timer_stop(&m->idle_timer);
	uv_close((uv_handle_t *)&m->pipe, on_pipe_closed);
}

/* openvpn is there but unusable: close the link, tell the owner once. */
static void
link_stuck(struct mgmt *m, const char *why)
{
	if (m->stuck)
		return;
	m->stuck = true;
	m->bad_links = 0;
	if (m->cb.on_stuck == NULL)
		log_warnx("mgmt: openvpn %s; resetting the management link",
		    why);
	else
		log_debug("mgmt: openvpn %s", why);
	link_close(m, why);
	if (m->cb.on_stuck != NULL && !m->freeing)
		m->cb.on_stuck(why, m->arg);
}

static void
on_cmd_timeout(uv_timer_t *t)
{
	struct mgmt *m = t->data;
	struct pending *p = head(m);
	char why[160];
	int n = 0;

	if (!m->greeted)
		snprintf(why, sizeof(why), "does not answer on its management "
		    "socket (no greeting within %u ms of connecting)",
		    m->timing.answer_ms);
	else {
		if (p != NULL)
			n = (int)strcspn(p->cmd, " \n");
		/* Only the command's first word: an argument may be a
		 * secret (a password answer). */
		snprintf(why, sizeof(why), "does not answer on its management "
		    "socket (no answer to '%.*s' within %u ms)", n,
		    p != NULL ? p->cmd : "", m->timing.answer_ms);
	}
	link_stuck(m, why);
}

static void
on_idle(uv_timer_t *t)
{
	struct mgmt *m = t->data;
	int rc;

	/* A command in flight is bounded already; its answer re-arms. */
	if (!mgmt_is_up(m) || m->q_len > 0)
		return;
	if ((rc = mgmt_send(m, MGMT_PROBE_COMMAND, MGMT_EXPECT_LINE, NULL,
	    NULL)) < 0)
		log_debug("mgmt: cannot probe openvpn: %s", strerror(-rc));
}

/* A complete line arrived: openvpn is alive; the silence starts anew. */
static void
heard(struct mgmt *m)
{
	if (m->timing.probe_ms > 0 && m->greeted && m->state == LINK_UP)
		uv_timer_start(&m->idle_timer, on_idle, m->timing.probe_ms, 0);
}

/*
 * A line that is no message: logged, at most MGMT_JUNK_LOG_MAX in a
 * window, so a peer that writes nothing but junk cannot fill the disk.
 */
static void
note_junk(struct mgmt *m, const char *line)
{
	uint64_t now = uv_now(m->loop);

	if (m->junk_since == 0 || now - m->junk_since >= MGMT_JUNK_WINDOW_MS) {
		if (m->junk_dropped > 0)
			log_warnx("mgmt: %u more unexpected lines from openvpn "
			    "were not logged", m->junk_dropped);
		m->junk_since = now;
		m->junk_logged = m->junk_dropped = 0;
	}
	if (m->junk_logged >= MGMT_JUNK_LOG_MAX) {
		m->junk_dropped++;
		return;
	}
	m->junk_logged++;
	log_warnx("mgmt: unexpected line from openvpn: %s", line);
}

static void
on_written(uv_write_t *req, int status)
{
	struct mgmt *m = req->data;

	free(req);
	if (status < 0 && status != UV_ECANCELED) {
		log_warnx("mgmt: write to %s: %s", m->path, uv_strerror(status));
		link_close(m, "write failed");
	}
}

static void
send_head(struct mgmt *m)
{
	struct pending *p = head(m);
	uv_write_t *req;
	uv_buf_t buf;
	int rc;

	if (p == NULL || m->in_flight || !mgmt_is_up(m))
		return;
	if ((req = malloc(sizeof(*req))) == NULL) {
		link_close(m, "out of memory");
		return;
	}
	req->data = m;
	buf = uv_buf_init(p->cmd, (unsigned)p->len);
	/* The command text lives in the queue entry until its answer. */
	if ((rc = uv_write(req, (uv_stream_t *)&m->pipe, &buf, 1,
	    on_written)) < 0) {
		free(req);
		log_warnx("mgmt: write to %s: %s", m->path, uv_strerror(rc));
		link_close(m, "write failed");
		return;
	}
	m->in_flight = true;
	mgmt_proto_expect(m->proto, p->expect);
	log_debug("mgmt: > %.*s", (int)p->len - 1, p->cmd);
	uv_timer_start(&m->cmd_timer, on_cmd_timeout, m->timing.answer_ms, 0);
}

static int
on_proto_msg(const struct mgmt_msg *msg, void *arg)
{
	struct mgmt *m = arg;

	heard(m);
	if (msg->type == MGMT_MSG_RESPONSE) {
		struct pending p;

		if (!m->in_flight || head(m) == NULL) {
			note_junk(m, msg->line);
			return 0;
		}
		p = *head(m);
		head(m)->cmd = NULL;
		pop_head(m);
		uv_timer_stop(&m->cmd_timer);
		m->bad_links = 0;	/* a whole exchange: it speaks */
		log_debug("mgmt: < %s %s (%zu lines)", msg->u.response.ok ?
		    "ok" : "error", msg->u.response.text,
		    msg->u.response.nlines);
		if (p.fn != NULL)
			p.fn(0, msg, p.arg);
		free(p.cmd);
		if (m->state != LINK_UP)
			return 1;
		send_head(m);
		return 0;
	}
	if (msg->type == MGMT_MSG_INFO && !m->greeted) {
		m->greeted = true;
		m->retry_ms = 50;
		uv_timer_stop(&m->cmd_timer);
		heard(m);
		log_info("mgmt: connected to openvpn: %s", msg->u.text);
		if (m->cb.on_up != NULL)
			m->cb.on_up(m->arg);
		if (m->state != LINK_UP)
			return 1;
		send_head(m);
	}
	if (msg->type == MGMT_MSG_UNEXPECTED) {
		note_junk(m, msg->line);
		return 0;
	}
	if (m->cb.on_msg != NULL)
		m->cb.on_msg(msg, m->arg);
	return m->state == LINK_UP ? 0 : 1;
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct mgmt *m = h->data;

	*buf = uv_buf_init(m->rbuf, sizeof(m->rbuf));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct mgmt *m = s->data;
	struct mgmt_proto_error err;
	int rc;

	if (n < 0) {
		if (n != UV_EOF)
			log_warnx("mgmt: read from %s: %s", m->path,
			    uv_strerror((int)n));
		link_close(m, n == UV_EOF ? "openvpn closed the management "
		    "socket" : uv_strerror((int)n));
		return;
	}
	if (n == 0)
		return;
	rc = mgmt_proto_feed(m->proto, buf->base, (size_t)n, on_proto_msg, m,
	    &err);
	if (rc < 0) {
		char why[256];

		log_warnx("mgmt: protocol error from openvpn: %s", err.reason);
		if (++m->bad_links < MGMT_BAD_LINKS_MAX) {
			link_close(m, "protocol error");
			return;
		}
		snprintf(why, sizeof(why), "sent unreadable data on its "
		    "management socket %u times in a row (%s)", m->bad_links,
		    err.reason);
		link_stuck(m, why);
	}
}

static void
on_connected(uv_connect_t *req, int status)
{
	struct mgmt *m = req->data;
	int rc;

	if (m->state != LINK_CONNECTING)
		return;
	if (status < 0) {
		log_debug("mgmt: connect %s: %s", m->path, uv_strerror(status));
		link_close(m, uv_strerror(status));
		return;
	}
	m->state = LINK_UP;
	m->stuck = false;
	if ((rc = uv_read_start((uv_stream_t *)&m->pipe, on_alloc,
	    on_read)) < 0) {
		log_warnx("mgmt: read %s: %s", m->path, uv_strerror(rc));
		link_close(m, uv_strerror(rc));
		return;
	}
	/* A frozen openvpn still completes connects (the kernel's backlog):
	 * only its greeting shows that it runs. */
	uv_timer_start(&m->cmd_timer, on_cmd_timeout, m->timing.answer_ms, 0);
}

void
mgmt_connect(struct mgmt *m)
{
	int rc;

	m->want = true;
	if (m->state != LINK_IDLE || m->freeing)
		return;
	uv_timer_stop(&m->retry);
	if ((rc = uv_pipe_init(m->loop, &m->pipe, 0)) < 0) {
		log_warnx("mgmt: pipe: %s", uv_strerror(rc));
		schedule_retry(m);
		return;
	}
	m->open_handles++;
	m->pipe.data = m;
	m->conn_req.data = m;
	m->state = LINK_CONNECTING;
	uv_pipe_connect(&m->conn_req, &m->pipe, m->path, on_connected);
}

void
mgmt_disconnect(struct mgmt *m)
{
	m->want = false;
	uv_timer_stop(&m->retry);
	m->retry_ms = 50;
	m->bad_links = 0;	/* the next link is to a new openvpn */
	link_close(m, "disconnected by supportvpnd");
}

void
mgmt_free(struct mgmt *m)
{
	if (m == NULL)
		return;
	m->want = false;
	m->freeing = true;
	/* The owner is still alive now; after this call it may not be. */
	fail_all(m, -ECANCELED);
	link_close(m, "shutting down");
	uv_close((uv_handle_t *)&m->retry, on_handle_closed);
	uv_close((uv_handle_t *)&m->cmd_timer, on_handle_closed);
	uv_close((uv_handle_t *)&m->idle_timer, on_handle_closed);
}

int
mgmt_send(struct mgmt *m, const char *cmd, enum mgmt_expect e,
    mgmt_resp_fn fn, void *arg)
{
	struct pending *p;
	size_t len = strlen(cmd);

	if (len == 0 || len > 1000 || strpbrk(cmd, "\r\n") != NULL)
		return -EINVAL;
	if (!mgmt_is_up(m))
		return -ENOTCONN;
	if (m->q_len == MGMT_MAX_PENDING)
		return -EBUSY;
	p = &m->q[(m->q_head + m->q_len) % MGMT_MAX_PENDING];
	if ((p->cmd = malloc(len + 2)) == NULL)
		return -ENOMEM;
	memcpy(p->cmd, cmd, len);
	p->cmd[len] = '\n';
	p->cmd[len + 1] = '\0';
	p->len = len + 1;
	p->expect = e;
	p->fn = fn;
	p->arg = arg;
	m->q_len++;
	send_head(m);
	return 0;
}
