/* SPDX-License-Identifier: MIT */
/*
 * The HTTP interface, on h2o (Debian's libh2o, built on libuv): h2o parses
 * HTTP/1.1, keeps connections alive and frames responses; this file
 * decides (with http_sec.c) what each request may do and answers it.
 *
 * Lifetimes. h2o owns each connection and request; what outlives the
 * handler call is tied to the request's memory pool (an API call waiting
 * for its answer, an event stream), so h2o's disposal of the request is
 * the one place it ends, whichever way the connection went. Shutting down
 * answers what waits, ends the streams and shuts every socket down; h2o
 * then closes the connections itself, and the context is released once
 * the last one is gone.
 */
#define _DEFAULT_SOURCE		/* explicit_bzero */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <h2o.h>
#include <jansson.h>
#include <uv.h>

#include "api_req.h"
#include "cmd.h"
#include "config.h"
#include "http.h"
#include "http_sec.h"
#include "log.h"
#include "peer.h"
#include "ratelimit.h"
#include "supportvpn.h"
#include "token.h"
#include "util.h"
#include "vpn.h"

/* The largest request body (the API's line limit). */
#define HTTP_BODY_MAX		SUPPORTVPN_API_MAX_LINE
/* An idle keep-alive connection, or a request that is slow to arrive. */
#define HTTP_REQ_TIMEOUT_MS	10000
/* A refused connection gets this long to read its answer. */
#define HTTP_REFUSED_LINGER_MS	2000
#define SESSION_COOKIE		"svpn_session"
/* Lines any web page can make us repeat (refused requests) are logged at
 * most this often, as the API's are; the rest are counted. */
#define HTTP_LOG_BURST		10
#define HTTP_LOG_WINDOW_MS	10000

/* The page's whole policy: its own files, nothing inline, no frames. */
#define HTTP_CSP	"default-src 'none'; script-src 'self'; " \
	"style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

static const struct {
	const char	*name;		/* lower case: h2o's header names */
	const char	*value;
} security_headers[] = {
	{ "content-security-policy", HTTP_CSP },
	{ "x-content-type-options", "nosniff" },
	{ "x-frame-options", "DENY" },
	/* Not no-referrer: under it browsers send "Origin: null" with a
	 * form's POST, and the login form would fail the Origin check. */
	{ "referrer-policy", "same-origin" },
	{ "cross-origin-opener-policy", "same-origin" },
	{ "cross-origin-resource-policy", "same-origin" },
};

struct http_conn {
	uv_tcp_t		 tcp;		/* h2o's socket wraps it */
	struct http		*h;
	struct http_conn	*prev, *next;
};

/* A connection over http.max_clients: told so, then closed. */
struct http_refused {
	uv_tcp_t		 tcp;
	uv_timer_t		 timer;
	uv_write_t		 write;
	uv_shutdown_t		 shut;
	struct http		*h;
	struct http_refused	*prev, *next;
	int			 open;		/* handles not yet closed */
	char			 buf[512];	/* what it sent, discarded */
	char			*answer;
};

/* An API request whose answer comes later; lives in the request's pool. */
struct http_call {
	struct http		*h;
	h2o_req_t		*req;
	struct cmd_job		*job;		/* NULL once answered */
	struct http_call	*prev, *next;
	bool			 linked;
	char			 peer[64];
	const char		*cmd;		/* static: "start" */
	struct sockaddr_storage	 peer_sa, local_sa;
};

/* An event stream; lives in the request's pool. */
struct http_sse {
	h2o_generator_t		 gen;
	struct http		*h;
	h2o_req_t		*req;
	struct http_sse		*prev, *next;
	bool			 linked;
	bool			 inflight;	/* h2o writes out; wait */
	bool			 ending;	/* end after the write */
	bool			 done;		/* ended, dropped or gone */
	char			*out;		/* what h2o writes */
	char			*q;		/* what waits */
	size_t			 qlen, qcap;
	char			 peer[64];
};

struct http_handler {
	h2o_handler_t		 super;
	struct http		*h;
};

struct http {
	uv_loop_t		*loop;
	const struct config	*cfg;
	struct cmd		*cmd;
	struct vpn		*vpn;
	struct token_guard	*guard;		/* shared with the API */
	struct http_hosts	 hosts;
	struct http_sessions	*sessions;
	h2o_globalconf_t	 gconf;
	h2o_context_t		 ctx;
	h2o_accept_ctx_t	 actx;
	bool			 h2o_ready;	/* gconf and ctx set up */
	uv_tcp_t		 listener;
	uv_timer_t		 keepalive;
	struct http_conn	*conns;
	unsigned		 nconns;
	struct http_refused	*refused;
	struct http_call	*calls;
	struct http_sse		*streams;
	unsigned		 nhandles;	/* ours open on the loop */
	struct rl_budget	 refused_log;	/* Host, Origin, session */
	struct rl_budget	 errors_log;	/* bad requests */
	struct rl_budget	 login_log;	/* wrong tokens */
	struct rl_budget	 clients_log;	/* http.max_clients */
	/* Walking the streams: an event that arises meanwhile (a log line
	 * about a dropped stream) is not sent to them, so the walk never
	 * meets a stream freed under it. */
	bool			 walking;
	bool			 freeing;
};

static void maybe_release(struct http *h);

/* ---- answers ----------------------------------------------------------- */

static const char *
reason_for(int status)
{
	switch (status) {
	case 200: return "OK";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 421: return "Misdirected Request";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static void
add_header(h2o_req_t *req, const char *name, const char *value)
{
	h2o_add_header_by_str(&req->pool, &req->res.headers, name,
	    strlen(name), 1, NULL, value, strlen(value));
}

/* Every answer, h2o's own errors included, passes this filter. */
static void
on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	size_t i;

	for (i = 0; i < sizeof(security_headers) /
	    sizeof(security_headers[0]); i++)
		add_header(req, security_headers[i].name,
		    security_headers[i].value);
	if (h2o_find_header(&req->res.headers, H2O_TOKEN_CACHE_CONTROL,
	    -1) == -1)
		h2o_add_header(&req->pool, &req->res.headers,
		    H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
	h2o_setup_next_ostream(req, slot);
}

/* Sends body (copied) with its length as the whole answer. */
static void
respond(h2o_req_t *req, int status, const char *type, const char *body,
    size_t len)
{
	req->res.status = status;
	req->res.reason = reason_for(status);
	req->res.content_length = len;
	if (type != NULL)
		h2o_add_header(&req->pool, &req->res.headers,
		    H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
	h2o_send_inline(req, body, len);
}

/* obj stolen. */
static void
respond_json(h2o_req_t *req, int status, json_t *obj)
{
	char *s = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	if (s == NULL) {
		respond(req, 500, "application/json", "{\"error\":{\"code\":"
		    "\"internal\",\"message\":\"out of memory\"}}", 54);
		return;
	}
	respond(req, status, "application/json", s, strlen(s));
	free(s);
}

static void
respond_error(h2o_req_t *req, int status, const char *code, const char *msg)
{
	respond_json(req, status, json_pack("{s:{s:s, s:s}}", "error", "code",
	    code, "message", msg));
}

static void
respond_answer(h2o_req_t *req, struct cmd_answer *ans)
{
	if (ans->code != NULL)
		respond_error(req, http_status_for(ans->code), ans->code,
		    ans->message);
	else
		respond_json(req, 200, ans->result);
	ans->result = NULL;
}

static void
redirect(h2o_req_t *req, const char *to)
{
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL,
	    to, strlen(to));
	respond(req, 303, NULL, "", 0);
}

/* A log line an outsider can repeat: within a budget, with the count of
 * those left out. False when this one is left out. */
static bool
budget_ok(struct http *h, struct rl_budget *b, const char *what)
{
	unsigned missed = 0;

	if (!rl_budget_take(b, (int64_t)uv_now(h->loop), HTTP_LOG_BURST,
	    HTTP_LOG_WINDOW_MS, &missed))
		return false;
	if (missed > 0)
		log_warnx("http: %u more %s were not logged", missed, what);
	return true;
}

/* ---- who is asking ----------------------------------------------------- */

static void
describe_peer(h2o_req_t *req, char *buf, size_t len,
    struct sockaddr_storage *sa)
{
	char host[48] = "?";
	socklen_t sl;

	memset(sa, 0, sizeof(*sa));
	sl = req->conn->callbacks->get_peername(req->conn,
	    (struct sockaddr *)sa);
	if (sl == 0) {
		snprintf(buf, len, "?");
		return;
	}
	if (sa->ss_family == AF_INET6) {
		uv_ip6_name((struct sockaddr_in6 *)sa, host, sizeof(host));
		snprintf(buf, len, "[%s]:%d", host,
		    ntohs(((struct sockaddr_in6 *)sa)->sin6_port));
	} else {
		uv_ip4_name((struct sockaddr_in *)sa, host, sizeof(host));
		snprintf(buf, len, "%s:%d", host,
		    ntohs(((struct sockaddr_in *)sa)->sin_port));
	}
}

/* A header value as it may be logged: printable and short. */
static void
shown(char *dst, size_t size, const char *v, size_t len)
{
	char tmp[128];

	if (len >= sizeof(tmp))
		len = sizeof(tmp) - 1;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	util_copy_printable(dst, size, tmp);
}

/* The history's "by": the peer, its uid from the kernel, and what the
 * contract names it. */
static json_t *
call_by(const struct api_request *r, void *arg)
{
	struct http_call *c = arg;
	char as[96];
	struct passwd *pw;
	json_t *by;
	uid_t uid;

	snprintf(as, sizeof(as), "web page (%s)", c->peer);
	if ((by = json_pack("{s:s, s:s, s:s}", "via", "http", "peer", c->peer,
	    "as", as)) == NULL)
		return NULL;
	if (peer_tcp_uid((struct sockaddr *)&c->peer_sa,
	    (struct sockaddr *)&c->local_sa, &uid) == 0) {
		json_object_set_new(by, "uid", json_integer((json_int_t)uid));
		if ((pw = getpwuid(uid)) != NULL)
			json_object_set_new(by, "user",
			    json_string(pw->pw_name));
	}
	return by;
}

/* ---- the checks every request passes ----------------------------------- */

/* DNS rebinding: a page on another name that resolves to us. */
static bool
host_checked(struct http *h, h2o_req_t *req, const char *peer)
{
	char v[96];

	if (http_host_ok(&h->hosts, req->authority.base, req->authority.len))
		return true;
	shown(v, sizeof(v), req->authority.base, req->authority.len);
	if (budget_ok(h, &h->refused_log, "refused requests"))
		log_warnx("http: %s: refused: Host \"%s\" is not this server's "
		    "name (http.allowed_hosts)", peer, v);
	respond_error(req, 421, "misdirected", "this server does not answer "
	    "for that Host name");
	return false;
}

/*
 * CSRF: any Origin must be ours; a POST must show where it came from, by
 * Origin or else a same-origin Referer.
 */
static bool
origin_checked(struct http *h, h2o_req_t *req, const char *peer, bool post)
{
	const char *why = NULL;
	char v[96] = "", what[96], method[16];
	ssize_t i, j;

	i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
	if (i >= 0) {
		const h2o_iovec_t *o = &req->headers.entries[i].value;

		j = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"),
		    i);
		if (j >= 0)
			why = "more than one Origin";
		else if (!http_origin_ok(&h->hosts, o->base, o->len)) {
			shown(v, sizeof(v), o->base, o->len);
			why = "a foreign Origin";
		}
	} else if (post) {
		i = h2o_find_header(&req->headers, H2O_TOKEN_REFERER, -1);
		if (i < 0)
			why = "a POST without Origin or Referer";
		else if (!http_referer_ok(&h->hosts,
		    req->headers.entries[i].value.base,
		    req->headers.entries[i].value.len))
			why = "a POST with a foreign Referer and no Origin";
	}
	if (why == NULL)
		return true;
	shown(what, sizeof(what), req->path.base, req->query_at != SIZE_MAX ?
	    req->query_at : req->path.len);
	shown(method, sizeof(method), req->method.base, req->method.len);
	log_warnx("http: %s: refused %s %s: %s%s%s%s", peer, method, what, why, v[0] != '\0' ? " (" : "", v, v[0] != '\0' ?
	    ")" : "");
	respond_error(req, 403, "forbidden", "this request did not come from "
	    "the appliance's own page");
	return false;
}

/* Whether the request carries a live page session. */
static bool
has_session(struct http *h, h2o_req_t *req)
{
	const h2o_iovec_t *v;
	const char *id;
	size_t len;
	ssize_t i = -1;

	while ((i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) >= 0) {
		v = &req->headers.entries[i].value;
		if (http_cookie_find(v->base, v->len, SESSION_COOKIE, &id,
		    &len) && http_session_check(h->sessions, id, len,
		    (int64_t)uv_now(h->loop)))
			return true;
	}
	return false;
}

/* ---- API calls --------------------------------------------------------- */

static void
call_unlink(struct http_call *c)
{
	struct http *h = c->h;

	if (!c->linked)
		return;
	c->linked = false;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
}

/* h2o is done with the request: whatever it waited for is not wanted. */
static void
call_dispose(void *p)
{
	struct http_call *c = p;

	if (c->job != NULL)
		cmd_cancel(c->job);
	c->job = NULL;
	call_unlink(c);
}

static void
log_answer(struct http *h, const char *peer, const char *cmd,
    const struct cmd_answer *ans)
{
	if (ans->code != NULL && budget_ok(h, &h->errors_log, "error answers"))
		log_info("http: %s: %s: %s: %s", peer, cmd, ans->code,
		    ans->message);
}

static void
on_call_done(struct cmd_answer *ans, void *arg)
{
	struct http_call *c = arg;

	c->job = NULL;
	call_unlink(c);
	log_answer(c->h, c->peer, c->cmd, ans);
	respond_answer(c->req, ans);
}

static void
run_api(struct http *h, h2o_req_t *req, const char *cmd, const char *peer,
    bool authorised)
{
	struct cmd_caller who = { .area = "http", .peer = peer,
	    .authorised = authorised, .by = call_by };
	struct api_request areq;
	struct api_error err;
	struct cmd_answer ans;
	struct http_call *c;
	const char *q = "";
	size_t qlen = 0;

	if (req->query_at != SIZE_MAX) {
		q = req->path.base + req->query_at + 1;
		qlen = req->path.len - req->query_at - 1;
	}
	if (http_api_request(cmd, q, qlen, req->entity.base,
	    req->entity.base != NULL ? req->entity.len : 0, &areq, &err) < 0) {
		api_request_clear(&areq);
		if (budget_ok(h, &h->errors_log, "error answers"))
			log_info("http: %s: %s: %s: %s", peer, cmd, err.code,
			    err.message);
		respond_error(req, http_status_for(err.code), err.code,
		    err.message);
		return;
	}
	c = h2o_mem_alloc_shared(&req->pool, sizeof(*c), call_dispose);
	memset(c, 0, sizeof(*c));
	c->h = h;
	c->req = req;
	c->cmd = cmd;
	describe_peer(req, c->peer, sizeof(c->peer), &c->peer_sa);
	(void)req->conn->callbacks->get_sockname(req->conn,
	    (struct sockaddr *)&c->local_sa);
	who.arg = c;
	if (cmd_execute(h->cmd, &areq, &who, &ans, on_call_done, c,
	    &c->job) == 1) {
		api_request_clear(&areq);
		log_answer(h, peer, cmd, &ans);
		respond_answer(req, &ans);
		return;
	}
	api_request_clear(&areq);
	c->linked = true;
	c->next = h->calls;
	if (h->calls != NULL)
		h->calls->prev = c;
	h->calls = c;
}

/* ---- event streams ----------------------------------------------------- */

static void
sse_unlink(struct http_sse *s)
{
	struct http *h = s->h;

	if (!s->linked)
		return;
	s->linked = false;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
}

static void
sse_dispose(void *p)
{
	struct http_sse *s = p;

	sse_unlink(s);
	free(s->out);
	free(s->q);
	s->out = s->q = NULL;
}

/* The connection went away mid-stream; h2o disposes the request next. */
static void
sse_stop(h2o_generator_t *gen, h2o_req_t *req)
{
	struct http_sse *s = container_of(gen, struct http_sse, gen);

	log_debug("http: %s: event stream closed", s->peer);
	s->done = true;
	sse_unlink(s);
}

static void
sse_flush(struct http_sse *s)
{
	h2o_iovec_t iov;

	s->out = s->q;
	iov = h2o_iovec_init(s->out, s->qlen);
	s->q = NULL;
	s->qlen = s->qcap = 0;
	s->inflight = true;
	h2o_send(s->req, &iov, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void
sse_finish(struct http_sse *s)
{
	s->done = true;
	sse_unlink(s);
	s->req->http1_is_persistent = 0;
	h2o_send(s->req, NULL, 0, H2O_SEND_STATE_FINAL);
}

/*
 * A stream that does not read what it is sent: cut, not buffered. h2o
 * may dispose of the request (and s) inside the h2o_send, so s is out of
 * every list before and untouched after.
 */
static void
sse_drop(struct http_sse *s, const char *why)
{
	h2o_socket_t *sock;
	int fd;

	s->done = true;
	sse_unlink(s);
	log_warnx("http: %s: dropping the event stream: %s", s->peer, why);
	if (!s->inflight) {
		h2o_send(s->req, NULL, 0, H2O_SEND_STATE_ERROR);
		return;
	}
	/* A write is stuck in h2o; failing the socket ends it, and h2o
	 * closes the connection its usual way. */
	sock = s->req->conn->callbacks->get_socket(s->req->conn);
	if (sock != NULL && (fd = h2o_socket_get_fd(sock)) >= 0)
		(void)shutdown(fd, SHUT_RDWR);
}

static void
sse_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
	struct http_sse *s = container_of(gen, struct http_sse, gen);

	s->inflight = false;
	free(s->out);
	s->out = NULL;
	if (s->done)
		return;
	if (s->ending)
		sse_finish(s);
	else if (s->qlen > 0)
		sse_flush(s);
}

/* Appends to what waits; false after dropping the stream instead. */
static bool
sse_append(struct http_sse *s, const char *text, size_t len)
{
	size_t cap;
	char *q;

	if (s->qlen + len > s->qcap) {
		cap = s->qcap > 0 ? s->qcap : 4096;
		while (cap < s->qlen + len)
			cap *= 2;
		if ((q = realloc(s->q, cap)) == NULL) {
			sse_drop(s, "out of memory");
			return false;
		}
		s->q = q;
		s->qcap = cap;
	}
	memcpy(s->q + s->qlen, text, len);
	s->qlen += len;
	return true;
}

/*
 * Queues parts as one piece of the stream and hands it to h2o unless a
 * write is out (then sse_proceed does). A stream whose queue would pass
 * HTTP_SSE_MAX_BACKLOG is dropped.
 */
static void
sse_send(struct http_sse *s, const h2o_iovec_t *parts, size_t n)
{
	size_t i, len = 0;

	if (s->done || s->ending)
		return;
	for (i = 0; i < n; i++)
		len += parts[i].len;
	if (s->qlen + len > HTTP_SSE_MAX_BACKLOG) {
		sse_drop(s, "it does not read what it is sent");
		return;
	}
	for (i = 0; i < n; i++)
		if (!sse_append(s, parts[i].base, parts[i].len))
			return;
	if (!s->inflight)
		sse_flush(s);
}

/* "event: NAME\ndata: JSON\n\n"; compact JSON holds no newline. */
static void
sse_event(struct http_sse *s, const char *name, const char *json,
    size_t jlen)
{
	h2o_iovec_t parts[5] = {
		{ (char *)(uintptr_t)"event: ", 7 },
		{ (char *)(uintptr_t)name, strlen(name) },
		{ (char *)(uintptr_t)"\ndata: ", 7 },
		{ (char *)(uintptr_t)json, jlen },
		{ (char *)(uintptr_t)"\n\n", 2 },
	};

	sse_send(s, parts, 5);
}

static void
run_events(struct http *h, h2o_req_t *req, const char *peer)
{
	struct http_sse *s;
	json_t *st;
	char *json;

	s = h2o_mem_alloc_shared(&req->pool, sizeof(*s), sse_dispose);
	memset(s, 0, sizeof(*s));
	s->h = h;
	s->req = req;
	s->gen.proceed = sse_proceed;
	s->gen.stop = sse_stop;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	log_debug("http: %s: event stream opened", peer);
	req->res.status = 200;
	req->res.reason = "OK";
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
	    NULL, H2O_STRLIT("text/event-stream; charset=utf-8"));
	h2o_start_response(req, &s->gen);
	/* First the whole state, so the page needs no separate status;
	 * events join only after it. */
	st = vpn_status_json(h->vpn);
	json = st != NULL ? json_dumps(st, JSON_COMPACT) : NULL;
	json_decref(st);
	if (json == NULL) {
		sse_drop(s, "out of memory");
		return;
	}
	sse_event(s, "status", json, strlen(json));
	free(json);
	if (s->done)
		return;
	s->linked = true;
	s->next = h->streams;
	if (h->streams != NULL)
		h->streams->prev = s;
	h->streams = s;
}

void
http_broadcast(struct http *h, const char *name, json_t *fields)
{
	char ts[UTIL_TIME_LEN];
	struct http_sse *s, *next;
	char *line = NULL;
	size_t len;

	if (h == NULL || h->streams == NULL || h->walking || fields == NULL ||
	    api_event_parse(name) < 0)
		return;
	util_time_fmt(ts, util_now_ms(), true);
	json_incref(fields);
	if ((line = api_event_line(name, ts, fields)) == NULL)
		return;
	len = strlen(line);
	if (len > 0 && line[len - 1] == '\n')
		len--;
	h->walking = true;
	for (s = h->streams; s != NULL; s = next) {
		next = s->next;
		sse_event(s, name, line, len);
	}
	h->walking = false;
	free(line);
}

static void
on_keepalive(uv_timer_t *t)
{
	struct http *h = t->data;
	struct http_sse *s, *next;
	h2o_iovec_t ka = { (char *)(uintptr_t)": keep-alive\n\n", 14 };

	h->walking = true;
	for (s = h->streams; s != NULL; s = next) {
		next = s->next;
		sse_send(s, &ka, 1);
	}
	h->walking = false;
}

/* ---- static files ------------------------------------------------------ */

static void
serve_file(struct http *h, h2o_req_t *req, const char *peer)
{
	static h2o_generator_t generator = { NULL, NULL };
	size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
	char rel[PATH_MAX];
	const char *type;
	h2o_iovec_t body;
	size_t size, got = 0;
	ssize_t n;
	int fd, rc;

	if (http_path_sanitise(req->path.base, plen, rel, sizeof(rel)) < 0 ||
	    (type = http_content_type(rel)) == NULL) {
		respond_error(req, 404, "not_found", "no such page");
		return;
	}
	if ((rc = http_open_under(h->cfg->http_root, rel, HTTP_FILE_MAX, &fd,
	    &size)) < 0) {
		if (rc != -ENOENT)
			log_warnx("http: %s: %s/%s: %s", peer,
			    h->cfg->http_root, rel, strerror(-rc));
		respond_error(req, 404, "not_found", "no such page");
		return;
	}
	body.base = h2o_mem_alloc_pool(&req->pool, size + 1);
	while (got < size && (n = read(fd, body.base + got, size - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != size) {
		log_warnx("http: %s/%s: short read", h->cfg->http_root, rel);
		respond_error(req, 500, "internal", "the page cannot be read");
		return;
	}
	body.len = size;
	req->res.status = 200;
	req->res.reason = "OK";
	req->res.content_length = size;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
	    NULL, type, strlen(type));
	/* The page changes with the daemon; always ask again. */
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL,
	    NULL, H2O_STRLIT("no-cache"));
	h2o_start_response(req, &generator);
	if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
		h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
	else
		h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

/* ---- page sessions ----------------------------------------------------- */

static void
run_whoami(struct http *h, h2o_req_t *req)
{
	respond_json(req, 200, json_pack("{s:b}", "session",
	    has_session(h, req)));
}

/* The peer's uid, as the API's limiter keys it; -1 when unknown. */
static long
peer_uid(h2o_req_t *req, char *user, size_t ulen)
{
	struct sockaddr_storage peer, local;
	struct passwd *pw;
	uid_t uid;

	user[0] = '\0';
	memset(&peer, 0, sizeof(peer));
	memset(&local, 0, sizeof(local));
	if (req->conn->callbacks->get_peername(req->conn,
	    (struct sockaddr *)&peer) == 0 ||
	    req->conn->callbacks->get_sockname(req->conn,
	    (struct sockaddr *)&local) == 0 ||
	    peer_tcp_uid((struct sockaddr *)&peer, (struct sockaddr *)&local,
	    &uid) < 0)
		return -1;
	if ((pw = getpwuid(uid)) != NULL)
		util_copy_printable(user, ulen, pw->pw_name);
	return (long)uid;
}

/*
 * The form's one field, token, into out (wiped by the caller). 1 with it,
 * 0 without (or given twice), -1 when the body is malformed.
 */
static int
login_token(h2o_req_t *req, char *out, size_t outlen)
{
	char key[16], val[API_TOKEN_MAX + 1];
	struct http_form f;
	int rc, found = 0;

	if (req->entity.base == NULL)
		return 0;
	http_form_init(&f, req->entity.base, req->entity.len);
	while ((rc = http_form_next(&f, key, sizeof(key), val,
	    sizeof(val))) > 0) {
		if (strcmp(key, "token") != 0)
			continue;
		if (found++ > 0)
			break;
		snprintf(out, outlen, "%s", val);
	}
	explicit_bzero(val, sizeof(val));
	/* h2o's copy of the body is not needed again; no token in it
	 * outlives the request's handling. */
	explicit_bzero(req->entity.base, req->entity.len);
	if (rc < 0)
		return -1;
	return found == 1 ? 1 : 0;
}

static void
log_login_refused(struct http *h, const char *peer, long uid,
    const char *user, const struct token_result *r)
{
	char who[96];

	if (uid >= 0)
		snprintf(who, sizeof(who), "uid %ld%s%s", uid,
		    user[0] != '\0' ? " " : "", user);
	else
		snprintf(who, sizeof(who), "an unknown uid");
	if (r->lockout_started)
		log_warnx("http: %s: %d logins or requests with a wrong or "
		    "missing API token within %d s; refusing them for %lld s",
		    who, TOKEN_MAX_FAILURES, TOKEN_WINDOW_MS / 1000,
		    (long long)(r->lockout_ms + 999) / 1000);
	if (budget_ok(h, &h->login_log, "refused logins"))
		log_warnx("http: %s (%s): login refused: %s", peer, who,
		    r->verdict == TOKEN_MISSING ? "no API token" :
		    r->verdict == TOKEN_WRONG ? "wrong API token" :
		    "locked out after wrong or missing API tokens");
}

/*
 * POST /login (a plain form): the API token, checked and limited per uid
 * by the API's own guard, buys a page session in an HttpOnly cookie; the
 * page's JavaScript never holds the token.
 */
static void
run_login(struct http *h, h2o_req_t *req, const char *peer)
{
	char token[API_TOKEN_MAX + 1] = "", id[HTTP_SESSION_ID_LEN + 1];
	char cookie[HTTP_SESSION_ID_LEN + 64], user[64];
	struct token_result r;
	h2o_iovec_t v;
	long uid = peer_uid(req, user, sizeof(user));
	int got = login_token(req, token, sizeof(token));

	r = token_check(h->guard, uid, got > 0 ? token : NULL,
	    got > 0 ? strlen(token) : 0, (int64_t)uv_now(h->loop));
	explicit_bzero(token, sizeof(token));
	if (r.verdict != TOKEN_OK) {
		log_login_refused(h, peer, uid, user, &r);
		redirect(req, "/?login=failed");
		return;
	}
	if (http_session_create(h->sessions, (int64_t)uv_now(h->loop),
	    id) < 0) {
		log_warnx("http: %s: no random bytes for a session", peer);
		respond_error(req, 500, "internal", "no session could be made");
		return;
	}
	snprintf(cookie, sizeof(cookie), SESSION_COOKIE "=%s; HttpOnly; "
	    "SameSite=Strict; Path=/", id);
	explicit_bzero(id, sizeof(id));
	/* h2o keeps the value's pointer: the copy lives in the request's
	 * pool until the answer is out. */
	v = h2o_strdup(&req->pool, cookie, strlen(cookie));
	explicit_bzero(cookie, sizeof(cookie));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE,
	    NULL, v.base, v.len);
	log_info("http: %s (uid %ld%s%s): logged in with the API token", peer,
	    uid, user[0] != '\0' ? " " : "", user);
	redirect(req, "/");
}

static void
run_logout(struct http *h, h2o_req_t *req, const char *peer)
{
	const h2o_iovec_t *v;
	const char *id;
	size_t len;
	ssize_t i = -1;

	while ((i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) >= 0) {
		v = &req->headers.entries[i].value;
		if (http_cookie_find(v->base, v->len, SESSION_COOKIE, &id,
		    &len))
			http_session_drop(h->sessions, id, len);
	}
	log_info("http: %s: logged out", peer);
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE,
	    NULL, H2O_STRLIT(SESSION_COOKIE "=; Max-Age=0; HttpOnly; "
	    "SameSite=Strict; Path=/"));
	redirect(req, "/");
}

/* ---- routing ----------------------------------------------------------- */

enum route_kind { R_API, R_API_STATE, R_WHOAMI, R_EVENTS, R_LOGIN,
	R_LOGOUT };

static const struct route {
	const char	*path;
	bool		 post;
	enum route_kind	 kind;
	const char	*cmd;
} routes[] = {
	{ "/api/status", false, R_API, "status" },
	{ "/api/checks", false, R_API, "checks" },
	{ "/api/history", false, R_API, "history" },
	{ "/api/version", false, R_API, "version" },
	{ "/api/whoami", false, R_WHOAMI, NULL },
	{ "/api/events", false, R_EVENTS, NULL },
	{ "/api/start", true, R_API_STATE, "start" },
	{ "/api/stop", true, R_API_STATE, "stop" },
	{ "/api/extend", true, R_API_STATE, "extend" },
	{ "/login", true, R_LOGIN, NULL },
	{ "/logout", true, R_LOGOUT, NULL },
};

static bool
is_method(h2o_req_t *req, const char *m)
{
	return req->method.len == strlen(m) &&
	    memcmp(req->method.base, m, req->method.len) == 0;
}

static void
not_allowed(h2o_req_t *req, const char *allow)
{
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
	    allow, strlen(allow));
	respond_error(req, 405, "method_not_allowed", "this method is not "
	    "allowed here");
}

static void
dispatch(struct http *h, h2o_req_t *req, const struct route *r,
    const char *peer)
{
	bool post = is_method(req, "POST");

	if (r->post != post || (!post && !is_method(req, "GET") &&
	    !(is_method(req, "HEAD") && r->kind != R_EVENTS))) {
		not_allowed(req, r->post ? "POST" : r->kind == R_EVENTS ?
		    "GET" : "GET, HEAD");
		return;
	}
	switch (r->kind) {
	case R_API:
		run_api(h, req, r->cmd, peer, false);
		return;
	case R_API_STATE:
		if (!has_session(h, req)) {
			if (budget_ok(h, &h->refused_log, "refused requests"))
				log_warnx("http: %s: %s refused: no page "
				    "session", peer, r->cmd);
			respond_error(req, 403, "forbidden", "log in on the page "
			    "first (with the API token)");
			return;
		}
		run_api(h, req, r->cmd, peer, true);
		return;
	case R_WHOAMI:
		run_whoami(h, req);
		return;
	case R_EVENTS:
		run_events(h, req, peer);
		return;
	case R_LOGIN:
		run_login(h, req, peer);
		return;
	case R_LOGOUT:
		run_logout(h, req, peer);
		return;
	}
}

static int
on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct http *h = ((struct http_handler *)(void *)self)->h;
	size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
	struct sockaddr_storage sa;
	char peer[64];
	bool post = is_method(req, "POST");
	size_t i;

	describe_peer(req, peer, sizeof(peer), &sa);
	if (h->freeing) {
		req->http1_is_persistent = 0;
		respond_error(req, 503, "shutting_down", "supportvpnd is "
		    "stopping");
		return 0;
	}
	if (!host_checked(h, req, peer) || !origin_checked(h, req, peer, post))
		return 0;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (plen == strlen(routes[i].path) &&
		    memcmp(req->path.base, routes[i].path, plen) == 0) {
			dispatch(h, req, &routes[i], peer);
			return 0;
		}
	if (plen >= 5 && memcmp(req->path.base, "/api/", 5) == 0)
		respond_error(req, 404, "not_found", "no such endpoint");
	else if (!is_method(req, "GET") && !is_method(req, "HEAD"))
		not_allowed(req, "GET, HEAD");
	else
		serve_file(h, req, peer);
	return 0;
}

/* ---- connections ------------------------------------------------------- */

static void
on_conn_closed(uv_handle_t *hd)
{
	struct http_conn *c = container_of((uv_tcp_t *)(void *)hd,
	    struct http_conn, tcp);
	struct http *h = c->h;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->nconns--;
	h->nhandles--;
	free(c);
	maybe_release(h);
}

static void
on_refused_closed(uv_handle_t *hd)
{
	struct http_refused *r = hd->data;
	struct http *h = r->h;

	h->nhandles--;
	if (--r->open == 0) {
		free(r->answer);
		free(r);
	}
	maybe_release(h);
}

static void
refused_close(struct http_refused *r)
{
	struct http *h = r->h;

	if (r->prev != NULL || h->refused == r) {
		if (r->prev != NULL)
			r->prev->next = r->next;
		else
			h->refused = r->next;
		if (r->next != NULL)
			r->next->prev = r->prev;
		r->prev = r->next = NULL;
	}
	if (!uv_is_closing((uv_handle_t *)&r->tcp))
		uv_close((uv_handle_t *)&r->tcp, on_refused_closed);
	if (!uv_is_closing((uv_handle_t *)&r->timer))
		uv_close((uv_handle_t *)&r->timer, on_refused_closed);
}

static void
on_refused_timer(uv_timer_t *t)
{
	refused_close(t->data);
}

static void
on_refused_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *buf)
{
	struct http_refused *r = hd->data;

	*buf = uv_buf_init(r->buf, sizeof(r->buf));
}

/* Read and dropped until the peer closes: closing with its request
 * unread would reset the connection and could lose the answer. */
static void
on_refused_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	if (n < 0)
		refused_close(s->data);
}

static void
on_refused_shutdown(uv_shutdown_t *req, int status)
{
}

static void
on_refused_written(uv_write_t *w, int status)
{
	struct http_refused *r = w->data;

	if (status < 0 || uv_shutdown(&r->shut, (uv_stream_t *)&r->tcp,
	    on_refused_shutdown) < 0)
		refused_close(r);
}

static char *
refusal_text(void)
{
	static const char body[] = "{\"error\":{\"code\":\"busy\",\"message\":"
	    "\"too many connections; try again later\"}}";
	char head[1024], *out;
	size_t i, o;
	int n;

	o = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 503 Service "
	    "Unavailable\r\nconnection: close\r\ncontent-type: "
	    "application/json\r\ncache-control: no-store\r\n"
	    "content-length: %zu\r\n", sizeof(body) - 1);
	for (i = 0; i < sizeof(security_headers) /
	    sizeof(security_headers[0]) && o < sizeof(head); i++) {
		n = snprintf(head + o, sizeof(head) - o, "%s: %s\r\n",
		    security_headers[i].name, security_headers[i].value);
		if (n < 0)
			return NULL;
		o += (size_t)n;
	}
	if (o + 2 >= sizeof(head))
		return NULL;
	if ((out = malloc(o + 2 + sizeof(body))) == NULL)
		return NULL;
	memcpy(out, head, o);
	memcpy(out + o, "\r\n", 2);
	memcpy(out + o + 2, body, sizeof(body));
	return out;
}

/* One connection too many: a 503 of our own (h2o is not involved), then
 * it is closed once it has read that or after a short while. */
static void
refuse(struct http *h, uv_stream_t *server)
{
	struct http_refused *r;
	uv_buf_t buf;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->h = h;
	uv_tcp_init(h->loop, &r->tcp);
	uv_timer_init(h->loop, &r->timer);
	r->tcp.data = r->timer.data = r->write.data = r;
	r->open = 2;
	h->nhandles += 2;
	r->next = h->refused;
	if (h->refused != NULL)
		h->refused->prev = r;
	h->refused = r;
	if (uv_accept(server, (uv_stream_t *)&r->tcp) < 0 ||
	    (r->answer = refusal_text()) == NULL) {
		refused_close(r);
		return;
	}
	buf = uv_buf_init(r->answer, (unsigned)strlen(r->answer));
	if (uv_write(&r->write, (uv_stream_t *)&r->tcp, &buf, 1,
	    on_refused_written) < 0 || uv_read_start((uv_stream_t *)&r->tcp,
	    on_refused_alloc, on_refused_read) < 0) {
		refused_close(r);
		return;
	}
	uv_timer_start(&r->timer, on_refused_timer, HTTP_REFUSED_LINGER_MS, 0);
}

static void
on_accept(uv_stream_t *server, int status)
{
	struct http *h = server->data;
	struct http_conn *c;
	h2o_socket_t *sock;

	if (status < 0) {
		log_warnx("http: accept: %s", uv_strerror(status));
		return;
	}
	if (h->nconns >= (unsigned)h->cfg->http_max_clients) {
		if (budget_ok(h, &h->clients_log, "refused connections"))
			log_warnx("http: refusing a connection: %u connections "
			    "open (http.max_clients)", h->nconns);
		refuse(h, server);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("http: out of memory for a connection");
		refuse(h, server);
		return;
	}
	c->h = h;
	uv_tcp_init(h->loop, &c->tcp);
	h->nhandles++;
	h->nconns++;
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
		return;
	}
	(void)uv_tcp_nodelay(&c->tcp, 1);
	/* h2o takes the socket; on_conn_closed runs when it closes it. */
	sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_closed);
	h2o_accept(&h->actx, sock);
}

/* ---- set-up and tear-down ---------------------------------------------- */

struct http *
http_new(uv_loop_t *loop, const struct config *cfg, struct cmd *cmd,
    struct vpn *vpn, struct token_guard *guard)
{
	struct http *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->loop = loop;
	h->cfg = cfg;
	h->cmd = cmd;
	h->vpn = vpn;
	h->guard = guard;
	return h;
}

static int
setup_h2o(struct http *h)
{
	h2o_hostconf_t *hostconf;
	h2o_pathconf_t *pathconf;
	struct http_handler *handler;
	h2o_filter_t *filter;

	h2o_config_init(&h->gconf);
	h->gconf.server_name = h2o_iovec_init(H2O_STRLIT("supportvpnd"));
	h->gconf.max_request_entity_size = HTTP_BODY_MAX;
	h->gconf.http1.req_timeout = HTTP_REQ_TIMEOUT_MS;
	h->gconf.http1.upgrade_to_http2 = 0;
	/* One host: the Host check is ours. A request without Host gets
	 * this name, which no check accepts. */
	hostconf = h2o_config_register_host(&h->gconf,
	    h2o_iovec_init(H2O_STRLIT("no-host.invalid")), 65535);
	pathconf = h2o_config_register_path(hostconf, "/", 0);
	handler = (void *)h2o_create_handler(pathconf, sizeof(*handler));
	handler->h = h;
	handler->super.on_req = on_req;
	/* The headers go on h2o's own errors too (413, 400 on a broken
	 * body), which it sends through the fallback path. */
	filter = h2o_create_filter(pathconf, sizeof(*filter));
	filter->on_setup_ostream = on_setup_ostream;
	filter = h2o_create_filter(&hostconf->fallback_path, sizeof(*filter));
	filter->on_setup_ostream = on_setup_ostream;
	h2o_context_init(&h->ctx, h->loop, &h->gconf);
	h->actx.ctx = &h->ctx;
	h->actx.hosts = h->gconf.hosts;
	h->h2o_ready = true;
	return 0;
}

static void
on_handle_closed(uv_handle_t *hd)
{
	struct http *h = hd->data;

	h->nhandles--;
	maybe_release(h);
}

int
http_listen(struct http *h)
{
	struct sockaddr_storage ss;
	const char *host = h->cfg->http_host;
	int rc;

	if (host[0] == '\0') {
		log_info("http: off (http.listen is \"\")");
		return 0;
	}
	if (strchr(host, ':') != NULL)
		rc = uv_ip6_addr(host, h->cfg->http_port,
		    (struct sockaddr_in6 *)&ss);
	else
		rc = uv_ip4_addr(host, h->cfg->http_port,
		    (struct sockaddr_in *)&ss);
	if (rc < 0) {
		log_error("http: bad address %s: %s", host, uv_strerror(rc));
		return rc;
	}
	if (http_hosts_init(&h->hosts, host, h->cfg->http_port,
	    h->cfg->http_allowed_hosts, h->cfg->http_nallowed_hosts) < 0 ||
	    (h->sessions = http_sessions_new(HTTP_SESSIONS_MAX,
	    (int64_t)h->cfg->http_session_s * 1000)) == NULL ||
	    setup_h2o(h) < 0) {
		log_error("http: out of memory");
		return UV_ENOMEM;
	}
	uv_timer_init(h->loop, &h->keepalive);
	h->keepalive.data = h;
	h->nhandles++;
	uv_timer_start(&h->keepalive, on_keepalive, HTTP_SSE_KEEPALIVE_MS,
	    HTTP_SSE_KEEPALIVE_MS);
	uv_tcp_init(h->loop, &h->listener);
	h->listener.data = h;
	h->nhandles++;
	if ((rc = uv_tcp_bind(&h->listener, (struct sockaddr *)&ss, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&h->listener, 128,
	    on_accept)) < 0) {
		log_error("http: cannot listen on %s:%d: %s", host,
		    h->cfg->http_port, uv_strerror(rc));
		return rc;
	}
	log_info("http: listening on %s%s%s:%d (page from %s)",
	    strchr(host, ':') != NULL ? "[" : "", host,
	    strchr(host, ':') != NULL ? "]" : "", h->cfg->http_port,
	    h->cfg->http_root);
	return 0;
}

/*
 * h2o_context_dispose would run the loop (uv_run) from inside whatever
 * callback we are in, to reap the timers it closes; libuv forbids that.
 * This releases the same parts of h2o 2.2's context, from its public
 * header, closing the timers with a callback of ours so the memory they
 * live in is freed only after libuv is done with them.
 */
static void
dispose_context(struct http *h)
{
	h2o_context_t *ctx = &h->ctx;
	h2o_timeout_t *timeouts[] = { &ctx->zero_timeout,
	    &ctx->one_sec_timeout, &ctx->hundred_ms_timeout,
	    &ctx->handshake_timeout, &ctx->http1.req_timeout,
	    &ctx->http2.idle_timeout, &ctx->http2.graceful_shutdown_timeout,
	    &ctx->proxy.io_timeout };
	h2o_hostconf_t **host;
	size_t i;

	for (host = h->gconf.hosts; *host != NULL; host++) {
		for (i = 0; i < (*host)->paths.size; i++)
			h2o_context_dispose_pathconf_context(ctx,
			    (*host)->paths.entries + i);
		h2o_context_dispose_pathconf_context(ctx,
		    &(*host)->fallback_path);
	}
	free(ctx->_pathconfs_inited.entries);
	free(ctx->_module_configs);
	for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		if (!h2o_linklist_is_empty(&timeouts[i]->_entries)) {
			/* Cannot happen with no connection left; leaking
			 * beats freeing what a timer still points to. */
			log_warnx("http: an h2o timer is still in use");
			continue;
		}
		timeouts[i]->_backend.timer.data = h;
		h->nhandles++;
		uv_close((uv_handle_t *)&timeouts[i]->_backend.timer,
		    on_handle_closed);
	}
	h2o_filecache_destroy(ctx->filecache);
	for (i = 0; i < ctx->storage.size; i++)
		if (ctx->storage.entries[i].dispose != NULL)
			ctx->storage.entries[i].dispose(
			    ctx->storage.entries[i].data);
	free(ctx->storage.entries);
	h2o_multithread_unregister_receiver(ctx->queue,
	    &ctx->receivers.hostinfo_getaddr);
	h2o_multithread_destroy_queue(ctx->queue);
	if (ctx->_timestamp_cache.value != NULL)
		h2o_mem_release_shared(ctx->_timestamp_cache.value);
	h2o_config_dispose(&h->gconf);
	h->h2o_ready = false;
}

/* Once freeing and every connection is gone: h2o's context, then us once
 * the last handle has closed. */
static void
maybe_release(struct http *h)
{
	if (!h->freeing || h->nconns > 0)
		return;
	if (h->h2o_ready)
		dispose_context(h);
	if (h->nhandles > 0)
		return;
	http_hosts_deinit(&h->hosts);
	http_sessions_free(h->sessions);
	free(h);
}

void
http_free(struct http *h)
{
	struct http_conn *c;
	struct http_call *call;
	struct http_sse *s;
	int fd;

	if (h == NULL || h->freeing)
		return;
	h->freeing = true;
	if (h->listener.loop != NULL)
		uv_close((uv_handle_t *)&h->listener, on_handle_closed);
	if (h->keepalive.loop != NULL)
		uv_close((uv_handle_t *)&h->keepalive, on_handle_closed);
	/* What waits gets its answer, and no connection stays open. */
	while ((call = h->calls) != NULL) {
		call_unlink(call);
		cmd_cancel(call->job);
		call->job = NULL;
		call->req->http1_is_persistent = 0;
		respond_error(call->req, 503, "shutting_down", "supportvpnd is "
		    "stopping");
	}
	while ((s = h->streams) != NULL) {
		sse_unlink(s);
		if (s->inflight)
			s->ending = true;
		else
			sse_finish(s);
	}
	while (h->refused != NULL)
		refused_close(h->refused);
	/* h2o closes each connection when its socket fails: idle ones at
	 * once, the others once their last write is out or refused. */
	for (c = h->conns; c != NULL; c = c->next)
		if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
			(void)shutdown(fd, SHUT_RDWR);
	maybe_release(h);
}
