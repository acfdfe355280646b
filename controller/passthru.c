/* SPDX-License-Identifier: MIT */
/*
 * Read-only management pass-through. Each client gets openvpn's greeting,
 * then one command at a time: allowed ones go to openvpn through the vpn
 * module and come back in openvpn's framing (CR LF, SUCCESS:/ERROR:/END),
 * everything else gets an ERROR: line naming supportvpnd as the owner.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "log.h"
#include "passthru.h"
#include "ratelimit.h"
#include "rocmd.h"
#include "vpn.h"

#define PASSTHRU_MAX_BACKLOG	(1024 * 1024)
#define PT_STR(x)		#x
#define PT_XSTR(x)		PT_STR(x)

struct pt_client;

struct pt_req {
	struct pt_client	*c;	/* NULL once the client is gone */
	enum mgmt_expect	 expect;
};

struct pt_client {
	uv_pipe_t		 pipe;
	struct passthru		*p;
	struct pt_client	*prev, *next;
	char			 buf[PASSTHRU_MAX_LINE + 2];
	size_t			 len;
	bool			 closing;
	struct pt_req		*req;
};

struct passthru {
	uv_loop_t		*loop;
	char			*path;
	struct vpn		*vpn;
	uv_pipe_t		 server;
	bool			 listening;
	bool			 freeing;
	struct pt_client	*clients;
	unsigned		 nclients;
	unsigned		 nhandles;
	struct rl_budget	 refused_log;
};

static void pt_process(struct pt_client *c);
static void pt_close(struct pt_client *c);

static void
released(struct passthru *p)
{
	if (--p->nhandles == 0 && p->freeing) {
		free(p->path);
		free(p);
	}
}

struct passthru *
passthru_new(uv_loop_t *loop, const char *path, struct vpn *vpn)
{
	struct passthru *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->path = strdup(path)) == NULL) {
		free(p);
		return NULL;
	}
	p->loop = loop;
	p->vpn = vpn;
	return p;
}

static void
on_written(uv_write_t *req, int status)
{
	free(req->data);
	free(req);
}

/* Writes text + CR LF. */
static void
pt_write(struct pt_client *c, const char *text)
{
	size_t n = strlen(text);
	uv_write_t *req;
	uv_buf_t buf;
	char *line;

	if (c->closing)
		return;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) >
	    PASSTHRU_MAX_BACKLOG || (line = malloc(n + 3)) == NULL) {
		pt_close(c);
		return;
	}
	memcpy(line, text, n);
	memcpy(line + n, "\r\n", 3);
	if ((req = malloc(sizeof(*req))) == NULL) {
		free(line);
		pt_close(c);
		return;
	}
	req->data = line;
	buf = uv_buf_init(line, (unsigned)n + 2);
	if (uv_write(req, (uv_stream_t *)&c->pipe, &buf, 1, on_written) < 0) {
		free(line);
		free(req);
		pt_close(c);
	}
}

static void
on_answer(int status, const struct mgmt_msg *resp, void *arg)
{
	struct pt_req *r = arg;
	struct pt_client *c = r->c;
	char line[PASSTHRU_MAX_LINE + 64];
	size_t i;

	if (c == NULL) {
		free(r);
		return;
	}
	c->req = NULL;
	if (status < 0)
		pt_write(c, "ERROR: openvpn's management interface went away "
		    "(supportvpnd)");
	else if (!resp->u.response.ok) {
		snprintf(line, sizeof(line), "ERROR: %s", resp->u.response.text);
		pt_write(c, line);
	} else if (r->expect == MGMT_EXPECT_LINE) {
		snprintf(line, sizeof(line), "SUCCESS: %s",
		    resp->u.response.text);
		pt_write(c, line);
	} else {
		for (i = 0; i < resp->u.response.nlines; i++)
			pt_write(c, resp->u.response.lines[i]);
		pt_write(c, "END");
	}
	free(r);
	pt_process(c);
}

static void
pt_command(struct pt_client *c, const char *line)
{
	char norm[256], why[512], err[600];
	enum mgmt_expect e;
	struct pt_req *r;
	int rc;

	if (strcmp(line, "exit") == 0 || strcmp(line, "quit") == 0) {
		pt_close(c);
		return;
	}
	if (rocmd_check(line, norm, sizeof(norm), &e, why, sizeof(why)) < 0) {
		log_info("passthru: refused '%.64s': not read-only", line);
		snprintf(err, sizeof(err), "ERROR: %s", why);
		pt_write(c, err);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		pt_write(c, "ERROR: out of memory (supportvpnd)");
		return;
	}
	r->c = c;
	r->expect = e;
	if ((rc = vpn_openvpn_command(c->p->vpn, norm, e, on_answer, r)) < 0) {
		free(r);
		pt_write(c, rc == -ENOTCONN ? "ERROR: openvpn's management "
		    "interface is not connected (supportvpnd)" :
		    "ERROR: too many commands pending (supportvpnd)");
		return;
	}
	c->req = r;
}

static void
pt_process(struct pt_client *c)
{
	char *nl;
	size_t used;

	while (c->req == NULL && !c->closing &&
	    (nl = memchr(c->buf, '\n', c->len)) != NULL) {
		used = (size_t)(nl - c->buf) + 1;
		*nl = '\0';
		if (nl > c->buf && nl[-1] == '\r')
			nl[-1] = '\0';
		if (c->buf[0] != '\0')
			pt_command(c, c->buf);
		if (c->closing)
			return;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	if (!c->closing && c->len > PASSTHRU_MAX_LINE &&
	    memchr(c->buf, '\n', c->len) == NULL) {
		pt_write(c, "ERROR: line too long (supportvpnd)");
		pt_close(c);
	}
}

static void
on_client_closed(uv_handle_t *h)
{
	struct pt_client *c = h->data;
	struct passthru *p = c->p;

	free(c);
	released(p);
}

static void
pt_close(struct pt_client *c)
{
	struct passthru *p = c->p;

	if (c->closing)
		return;
	c->closing = true;
	if (c->req != NULL)
		c->req->c = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		p->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	p->nclients--;
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct pt_client *c = h->data;

	*buf = uv_buf_init(c->buf + c->len,
	    (unsigned)(sizeof(c->buf) - c->len));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct pt_client *c = s->data;

	if (n < 0) {
		pt_close(c);
		return;
	}
	c->len += (size_t)n;
	if (c->len == sizeof(c->buf) && c->req != NULL) {
		/* Commands queued while one is in flight: no more room. */
		pt_write(c, "ERROR: too many commands at once (supportvpnd)");
		pt_close(c);
		return;
	}
	pt_process(c);
}

static void
on_refused_closed(uv_handle_t *h)
{
	struct passthru *p = h->data;

	free(h);
	released(p);
}

static void
on_refused_written(uv_write_t *req, int status)
{
	uv_close((uv_handle_t *)req->handle, on_refused_closed);
	free(req);
}

/* One client too many: an ERROR line in openvpn's framing, then close. */
static void
refuse(struct passthru *p, uv_stream_t *server)
{
	static char line[] = "ERROR: too many clients of the pass-through "
	    "(at most " PT_XSTR(PASSTHRU_MAX_CLIENTS) "); try again later "
	    "(supportvpnd)\r\n";
	uv_write_t *req;
	uv_pipe_t *tmp;
	uv_buf_t buf;
	unsigned missed = 0;

	if (rl_budget_take(&p->refused_log, (int64_t)uv_now(p->loop), 10,
	    10000, &missed)) {
		if (missed > 0)
			log_warnx("passthru: %u more refused connections were "
			    "not logged", missed);
		log_warnx("passthru: refusing a connection: %u open (at most "
		    "%d)", p->nclients, PASSTHRU_MAX_CLIENTS);
	}
	if ((tmp = malloc(sizeof(*tmp))) == NULL)
		return;
	uv_pipe_init(p->loop, tmp, 0);
	tmp->data = p;
	p->nhandles++;
	buf = uv_buf_init(line, sizeof(line) - 1);
	if (uv_accept(server, (uv_stream_t *)tmp) < 0 ||
	    (req = malloc(sizeof(*req))) == NULL) {
		uv_close((uv_handle_t *)tmp, on_refused_closed);
		return;
	}
	if (uv_write(req, (uv_stream_t *)tmp, &buf, 1, on_refused_written) < 0) {
		free(req);
		uv_close((uv_handle_t *)tmp, on_refused_closed);
	}
}

static void
on_server_closed(uv_handle_t *h)
{
	released(h->data);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct passthru *p = server->data;
	struct pt_client *c;

	if (status < 0)
		return;
	if (p->nclients >= PASSTHRU_MAX_CLIENTS ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		refuse(p, server);
		return;
	}
	c->p = p;
	uv_pipe_init(p->loop, &c->pipe, 0);
	c->pipe.data = c;
	p->nhandles++;
	p->nclients++;
	c->next = p->clients;
	if (p->clients != NULL)
		p->clients->prev = c;
	p->clients = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0) {
		pt_close(c);
		return;
	}
	pt_write(c, ">INFO:OpenVPN Management Interface Version 5 -- "
	    "read-only pass-through by supportvpnd; type 'help' for more info");
}

int
passthru_listen(struct passthru *p)
{
	mode_t old;
	int rc;

	(void)unlink(p->path);	/* a stale socket from an earlier run */
	uv_pipe_init(p->loop, &p->server, 0);
	p->server.data = p;
	p->nhandles++;
	p->listening = true;
	old = umask(0177);
	rc = uv_pipe_bind(&p->server, p->path);
	umask(old);
	if (rc == 0 && chmod(p->path, 0600) < 0)
		rc = uv_translate_sys_error(errno);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&p->server, 16, on_connection);
	if (rc < 0) {
		log_error("passthru: cannot listen on %s: %s", p->path,
		    uv_strerror(rc));
		return rc;
	}
	log_info("passthru: read-only management socket %s", p->path);
	return 0;
}

void
passthru_free(struct passthru *p)
{
	if (p == NULL)
		return;
	p->freeing = true;
	while (p->clients != NULL)
		pt_close(p->clients);
	if (p->listening) {
		(void)unlink(p->path);
		uv_close((uv_handle_t *)&p->server, on_server_closed);
	} else {
		free(p->path);
		free(p);
	}
}
