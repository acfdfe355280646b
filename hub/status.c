/* SPDX-License-Identifier: MIT */
/*
 * Line framing for the control socket: requests are read into a bounded
 * buffer, each complete line parsed as JSON and handed to the owner, the
 * answer written back with a newline. A line longer than STATUS_MAX_LINE
 * gets an error and the connection is closed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "log.h"
#include "status.h"

#define STATUS_MAX_BACKLOG	(16 * 1024 * 1024)

struct st_client {
	uv_pipe_t		 pipe;
	struct status		*st;
	struct st_client	*prev, *next;
	char			 buf[STATUS_MAX_LINE + 1];
	size_t			 len;
	bool			 closing;
};

struct status {
	uv_loop_t		*loop;
	char			*path;
	status_fn		 fn;
	void			*arg;
	uv_pipe_t		 server;
	bool			 listening;
	bool			 freeing;
	struct st_client	*clients;
	unsigned		 nclients;
	unsigned		 nhandles;	/* open handles we own */
};

static void st_close(struct st_client *c);

static void
released(struct status *st)
{
	if (--st->nhandles == 0 && st->freeing) {
		free(st->path);
		free(st);
	}
}

struct status *
status_new(uv_loop_t *loop, const char *path, status_fn fn, void *arg)
{
	struct status *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if ((st->path = strdup(path)) == NULL) {
		free(st);
		return NULL;
	}
	st->loop = loop;
	st->fn = fn;
	st->arg = arg;
	return st;
}

static void
on_written(uv_write_t *req, int status)
{
	free(req->data);
	free(req);
}

/* Writes answer (stolen) and a newline. */
static void
st_write(struct st_client *c, json_t *answer)
{
	uv_write_t *req = NULL;
	char *text = NULL;
	uv_buf_t buf;
	size_t n;

	if (answer == NULL)
		answer = json_pack("{s:b, s:s}", "ok", 0, "error",
		    "internal error");
	if (answer != NULL)
		text = json_dumps(answer, JSON_COMPACT);
	json_decref(answer);
	if (c->closing || text == NULL || uv_stream_get_write_queue_size(
	    (uv_stream_t *)&c->pipe) > STATUS_MAX_BACKLOG ||
	    (req = malloc(sizeof(*req))) == NULL)
		goto fail;
	n = strlen(text);
	text[n] = '\n';		/* json_dumps' NUL becomes the newline */
	req->data = text;
	buf = uv_buf_init(text, (unsigned)n + 1);
	if (uv_write(req, (uv_stream_t *)&c->pipe, &buf, 1, on_written) == 0)
		return;
fail:
	free(text);
	free(req);
	st_close(c);
}

static void
st_request(struct st_client *c, const char *line)
{
	json_error_t jerr;
	json_t *req;

	req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL || !json_is_object(req)) {
		json_decref(req);
		st_write(c, json_pack("{s:b, s:s}", "ok", 0, "error",
		    "a request is one JSON object per line"));
		return;
	}
	st_write(c, c->st->fn(req, c->st->arg));
	json_decref(req);
}

static void
st_process(struct st_client *c)
{
	char *nl;
	size_t used;

	while (!c->closing && (nl = memchr(c->buf, '\n', c->len)) != NULL) {
		used = (size_t)(nl - c->buf) + 1;
		*nl = '\0';
		if (nl > c->buf && nl[-1] == '\r')
			nl[-1] = '\0';
		if (c->buf[0] != '\0')
			st_request(c, c->buf);
		if (c->closing)
			return;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	if (!c->closing && c->len > STATUS_MAX_LINE) {
		st_write(c, json_pack("{s:b, s:s}", "ok", 0, "error",
		    "request line too long"));
		st_close(c);
	}
}

static void
on_client_closed(uv_handle_t *h)
{
	struct st_client *c = h->data;
	struct status *st = c->st;

	free(c);
	released(st);
}

static void
st_close(struct st_client *c)
{
	struct status *st = c->st;

	if (c->closing)
		return;
	c->closing = true;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		st->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	st->nclients--;
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct st_client *c = h->data;

	*buf = uv_buf_init(c->buf + c->len,
	    (unsigned)(sizeof(c->buf) - c->len));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct st_client *c = s->data;

	if (n < 0) {
		st_close(c);
		return;
	}
	c->len += (size_t)n;
	st_process(c);
}

static void
on_refused_closed(uv_handle_t *h)
{
	struct status *st = h->data;

	free(h);
	released(st);
}

static void
refuse(struct status *st, uv_stream_t *server)
{
	uv_pipe_t *tmp;

	log_warnx("status: refusing a connection: %u open", st->nclients);
	if ((tmp = malloc(sizeof(*tmp))) == NULL)
		return;
	uv_pipe_init(st->loop, tmp, 0);
	tmp->data = st;
	st->nhandles++;
	(void)uv_accept(server, (uv_stream_t *)tmp);	/* only to close it */
	uv_close((uv_handle_t *)tmp, on_refused_closed);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct status *st = server->data;
	struct st_client *c;

	if (status < 0)
		return;
	if (st->nclients >= STATUS_MAX_CLIENTS ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		refuse(st, server);
		return;
	}
	c->st = st;
	uv_pipe_init(st->loop, &c->pipe, 0);
	c->pipe.data = c;
	st->nhandles++;
	st->nclients++;
	c->next = st->clients;
	if (st->clients != NULL)
		st->clients->prev = c;
	st->clients = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
		st_close(c);
}

int
status_listen(struct status *st)
{
	mode_t old;
	int rc;

	(void)unlink(st->path);	/* a stale socket from an earlier run */
	uv_pipe_init(st->loop, &st->server, 0);
	st->server.data = st;
	st->nhandles++;
	st->listening = true;
	old = umask(0177);
	rc = uv_pipe_bind(&st->server, st->path);
	umask(old);
	if (rc == 0 && chmod(st->path, 0600) < 0)
		rc = uv_translate_sys_error(errno);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&st->server, 16, on_connection);
	return rc;
}

static void
on_server_closed(uv_handle_t *h)
{
	released(h->data);
}

void
status_free(struct status *st)
{
	if (st == NULL)
		return;
	st->freeing = true;
	while (st->clients != NULL)
		st_close(st->clients);
	if (st->listening) {
		(void)unlink(st->path);
		uv_close((uv_handle_t *)&st->server, on_server_closed);
	} else {
		free(st->path);
		free(st);
	}
}
