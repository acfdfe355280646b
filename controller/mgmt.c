/* SPDX-License-Identifier: MIT */
/*
 * Management link: a uv_pipe_t to openvpn's unix socket, the parser, and a
 * FIFO of commands of which exactly one is in flight. openvpn answers
 * commands in order, so the head of the FIFO owns the next response.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "log.h"
#include "mgmt.h"
#include "util.h"

enum link_state { LINK_IDLE, LINK_CONNECTING, LINK_UP, LINK_CLOSING };

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
	uv_timer_t		 cmd_timer;
	enum link_state		 state;
	bool			 want;		/* keep (re)connecting */
	bool			 greeted;
	bool			 in_flight;	/* head was written */
	bool			 freeing;
	int			 open_handles;
	unsigned		 retry_ms;
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
mgmt_new(uv_loop_t *loop, const char *path, const struct mgmt_callbacks *cb,
    void *arg)
{
	struct mgmt *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->loop = loop;
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
	m->retry.data = m;
	m->cmd_timer.data = m;
	m->open_handles = 2;
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
	uv_close((uv_handle_t *)&m->pipe, on_pipe_closed);
}

static void
on_cmd_timeout(uv_timer_t *t)
{
	struct mgmt *m = t->data;
	struct pending *p = head(m);

	log_warnx("mgmt: openvpn did not answer '%s' within %d s; resetting "
	    "the management link", p != NULL ? p->cmd : "?",
	    MGMT_COMMAND_TIMEOUT_MS / 1000);
	link_close(m, "command timed out");
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
	uv_timer_start(&m->cmd_timer, on_cmd_timeout, MGMT_COMMAND_TIMEOUT_MS,
	    0);
}

static int
on_proto_msg(const struct mgmt_msg *msg, void *arg)
{
	struct mgmt *m = arg;

	if (msg->type == MGMT_MSG_RESPONSE) {
		struct pending p;

		if (!m->in_flight || head(m) == NULL) {
			log_warnx("mgmt: answer with no command in flight: %s",
			    msg->line);
			return 0;
		}
		p = *head(m);
		head(m)->cmd = NULL;
		pop_head(m);
		uv_timer_stop(&m->cmd_timer);
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
		log_info("mgmt: connected to openvpn: %s", msg->u.text);
		if (m->cb.on_up != NULL)
			m->cb.on_up(m->arg);
		if (m->state != LINK_UP)
			return 1;
		send_head(m);
	}
	if (msg->type == MGMT_MSG_UNEXPECTED) {
		log_warnx("mgmt: unexpected line from openvpn: %s", msg->line);
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
		log_warnx("mgmt: protocol error from openvpn: %s", err.reason);
		link_close(m, "protocol error");
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
	if ((rc = uv_read_start((uv_stream_t *)&m->pipe, on_alloc,
	    on_read)) < 0) {
		log_warnx("mgmt: read %s: %s", m->path, uv_strerror(rc));
		link_close(m, uv_strerror(rc));
	}
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
