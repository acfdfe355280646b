/* SPDX-License-Identifier: MIT */
/*
 * JSON API server. Each connection reads lines into a bounded buffer and
 * handles one request at a time: a request that waits (start with wait,
 * stop, openvpn) holds back the next lines of that connection only. The
 * requests run in cmd.c, as the HTTP interface's do; what stays here is
 * the line framing, the API token check and subscriptions. Closing a
 * connection cancels what it waits for, so no callback ever reaches
 * freed memory.
 */
#define _DEFAULT_SOURCE		/* explicit_bzero */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "api.h"
#include "api_req.h"
#include "cmd.h"
#include "config.h"
#include "log.h"
#include "peer.h"
#include "ratelimit.h"
#include "supportvpn.h"
#include "token.h"
#include "util.h"

/*
 * Lines an outsider can make us repeat (refused connections, requests
 * without the right token) are logged at most this often; the rest are
 * counted into the next one.
 */
#define API_LOG_BURST		10
#define API_LOG_WINDOW_MS	10000

/*
 * Answers queued beyond this hold back the connection's next request: a
 * client that writes many requests at once reads their answers later
 * than they are written, which is not the same as not reading (that is
 * API_MAX_BACKLOG, for events a subscriber does not take).
 */
#define API_HIGH_WATER	(256 * 1024)

struct client;

/* A connection's line buffer: one whole line and its newline at most. */
#define API_BUF_MIN	4096
#define API_BUF_MAX	(SUPPORTVPN_API_MAX_LINE + 2)
/* How often a connection that found no memory is tried again. */
#define API_ACCEPT_RETRY_MS	100

struct client {
	uv_tcp_t		 tcp;
	struct api		*api;
	struct client		*prev, *next;
	char			*buf;		/* API_BUF_MIN, growing to */
	size_t			 len;		/* a whole line: API_BUF_MAX */
	size_t			 cap;
	unsigned		 events;	/* subscriptions; 0: none */
	bool			 busy;		/* a request waits */
	bool			 closing;
	bool			 reading;
	json_t			*pending_id;
	struct cmd_job		*job;		/* what a request waits for */
	char			 peer[64];
	long			 uid;		/* the peer's, -1 unknown */
	char			 user[64];	/* its name, "" unknown */
	bool			 identified;	/* uid and user looked up */
};

struct api {
	uv_loop_t		*loop;
	const struct config	*cfg;
	struct cmd		*cmd;
	struct token_guard	*guard;		/* shared with the HTTP login */
	uv_tcp_t		 server;
	bool			 listening;
	uv_timer_t		 accept_timer;	/* no memory for a connection */
	bool			 starved;	/* said so in the log */
	bool			 freeing;
	struct client		*clients;
	unsigned		 nclients;
	unsigned		 nsubscribers;	/* clients with events != 0 */
	unsigned		 nhandles;
	struct rl_budget	 refused_log;	/* api.max_clients */
	struct rl_budget	 forbidden_log;	/* token refusals */
	struct rl_budget	 subscribers_log; /* api.max_subscribers */
	struct rl_budget	 errors_log;	/* send_error */
};

static void client_close(struct client *c, const char *why);
static void client_process(struct client *c);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void
api_release(struct api *a)
{
	free(a);
}

/* Every handle the api opened is counted; the last close frees it. */
static void
handle_released(struct api *a)
{
	if (--a->nhandles == 0 && a->freeing)
		api_release(a);
}

static void
on_api_handle_closed(uv_handle_t *h)
{
	handle_released(h->data);
}

struct api *
api_new(uv_loop_t *loop, const struct config *cfg, struct cmd *cmd,
    struct token_guard *guard)
{
	struct api *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->loop = loop;
	a->cfg = cfg;
	a->cmd = cmd;
	a->guard = guard;
	return a;
}

/* ---- output ------------------------------------------------------------ */

static void
on_written(uv_write_t *req, int status)
{
	struct client *c = req->handle->data;

	free(req->data);
	free(req);
	/*
	 * A line that could not be written leaves the client without its
	 * answer, or with part of it: the stream is of no use any more, and
	 * closing it tells the client. (UV_ECANCELED: closing already.)
	 */
	if (status < 0 && status != UV_ECANCELED)
		client_close(c, uv_strerror(status));
	/* Requests held back while answers were queued go on. */
	else if (status == 0 && !c->closing && !c->busy)
		client_process(c);
}

/* Queues line (stolen) on c. A connection that does not read its output
 * is closed rather than buffered without end. */
static void
client_send(struct client *c, char *line)
{
	uv_write_t *req;
	uv_buf_t buf;
	int rc;

	if (line == NULL) {
		client_close(c, "out of memory building an answer");
		return;
	}
	if (c->closing) {
		free(line);
		return;
	}
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) >
	    API_MAX_BACKLOG) {
		free(line);
		/* Closing first: the log line is an event too, and must not
		 * come back here for c. c lives until its close callback. */
		client_close(c, NULL);
		log_warnx("api: %s: closed the connection: it does not read "
		    "what it is sent (over %d KiB waiting)", c->peer,
		    API_MAX_BACKLOG / 1024);
		return;
	}
	if ((req = malloc(sizeof(*req))) == NULL) {
		free(line);
		client_close(c, "out of memory");
		return;
	}
	req->data = line;
	buf = uv_buf_init(line, (unsigned)strlen(line));
	if ((rc = uv_write(req, (uv_stream_t *)&c->tcp, &buf, 1,
	    on_written)) < 0) {
		free(line);
		free(req);
		client_close(c, uv_strerror(rc));
	}
}

/* A log line an outsider can repeat: within a budget, with the count of
 * those left out. False when this one is left out. */
static bool
budget_ok(struct api *a, struct rl_budget *b, const char *what)
{
	unsigned missed = 0;

	if (!rl_budget_take(b, (int64_t)uv_now(a->loop), API_LOG_BURST,
	    API_LOG_WINDOW_MS, &missed))
		return false;
	if (missed > 0)
		log_warnx("api: %u more %s were not logged", missed, what);
	return true;
}

/* Any local process can send bad requests as fast as it likes: each
 * gets its answer, the log a bounded number of lines. */
static void
send_error(struct client *c, json_t *id, const char *code, const char *msg)
{
	if (budget_ok(c->api, &c->api->errors_log, "error answers"))
		log_info("api: %s: %s: %s", c->peer, code, msg);
	client_send(c, api_answer_error(id, code, msg));
}

void
api_broadcast(struct api *a, const char *name, json_t *fields)
{
	struct client *c, *next;
	char ts[UTIL_TIME_LEN];
	char *line = NULL;
	int ev = -1;

	if (fields == NULL)
		return;
	if (a == NULL || (ev = api_event_parse(name)) < 0) {
		json_decref(fields);
		return;
	}
	for (c = a->clients; c != NULL; c = next) {
		next = c->next;
		if (c->closing || !(c->events & (1u << ev)))
			continue;
		if (line == NULL) {
			util_time_fmt(ts, util_now_ms(), true);
			json_incref(fields);
			if ((line = api_event_line(name, ts, fields)) == NULL)
				break;
		}
		client_send(c, strdup(line));
	}
	free(line);
	json_decref(fields);
}

/* ---- requests ---------------------------------------------------------- */

/* A waiting request is over: answer it and go on with the next line. */
static void
client_resume(struct client *c, char *answer)
{
	json_decref(c->pending_id);
	c->pending_id = NULL;
	c->busy = false;
	client_send(c, answer);
	if (!c->closing)
		client_process(c);
}

/* An answer from cmd as a line; errors are logged within the budget. */
static char *
answer_line(struct client *c, json_t *id, struct cmd_answer *ans)
{
	json_t *res = ans->result;

	ans->result = NULL;
	if (ans->code == NULL)
		return api_answer_ok(id, res);
	if (budget_ok(c->api, &c->api->errors_log, "error answers"))
		log_info("api: %s: %s: %s", c->peer, ans->code, ans->message);
	return api_answer_error(id, ans->code, ans->message);
}

static void
on_job_done(struct cmd_answer *ans, void *arg)
{
	struct client *c = arg;

	c->job = NULL;
	client_resume(c, answer_line(c, c->pending_id, ans));
}

/* The uid owning the client's socket, looked up once, when a request
 * first needs it (reading the socket table costs; status never does). */
static void
client_identify(struct client *c)
{
	struct sockaddr_storage peer, local;
	int len = sizeof(peer), llen = sizeof(local);
	struct passwd *pw;
	uid_t uid;

	if (c->identified)
		return;
	c->identified = true;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &len) < 0 ||
	    uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&local,
	    &llen) < 0 || peer_tcp_uid((struct sockaddr *)&peer,
	    (struct sockaddr *)&local, &uid) < 0)
		return;
	c->uid = (long)uid;
	if ((pw = getpwuid(uid)) != NULL)
		util_copy_printable(c->user, sizeof(c->user), pw->pw_name);
}

/* Who asked, for the session history: the peer, its uid (from the
 * kernel), and what the client says of itself ("by"). New reference. */
static json_t *
client_by(const struct api_request *req, void *arg)
{
	struct client *c = arg;
	json_t *by = json_pack("{s:s, s:s}", "via", "api", "peer", c->peer);

	client_identify(c);

	if (by == NULL)
		return NULL;
	if (c->uid >= 0) {
		json_object_set_new(by, "uid", json_integer(c->uid));
		if (c->user[0] != '\0')
			json_object_set_new(by, "user", json_string(c->user));
	}
	if (req->by[0] != '\0')
		json_object_set_new(by, "as", json_string(req->by));
	return by;
}

/*
 * Subscribes c to req->events (none: unsubscribes). False after refusing
 * one subscriber too many (api.max_subscribers): each event is sent to
 * every subscriber, so their number bounds the work per event.
 */
static bool
client_subscribe(struct client *c, const struct api_request *req)
{
	struct api *a = c->api;
	char msg[160];

	if (c->events == 0 && req->events != 0) {
		if (a->nsubscribers >= (unsigned)a->cfg->api_max_subscribers) {
			if (budget_ok(a, &a->subscribers_log,
			    "refused subscriptions"))
				log_warnx("api: %s: refusing a subscription: %u "
				    "subscribers (api.max_subscribers)",
				    c->peer, a->nsubscribers);
			snprintf(msg, sizeof(msg), "too many subscribers (%d, "
			    "api.max_subscribers); try again later",
			    a->cfg->api_max_subscribers);
			client_send(c, api_answer_error(req->id, "busy", msg));
			return false;
		}
		a->nsubscribers++;
	} else if (c->events != 0 && req->events == 0)
		a->nsubscribers--;
	c->events = req->events;
	return true;
}

static void
handle_subscribe(struct client *c, struct api_request *req)
{
	json_t *res;
	size_t i;

	if (!client_subscribe(c, req))
		return;
	if ((res = json_array()) != NULL)
		for (i = 0; i < API_EV_COUNT; i++)
			if (req->events & (1u << i))
				json_array_append_new(res, json_string(
				    api_event_name((enum api_event)i)));
	client_send(c, api_answer_ok(req->id, json_pack("{s:o}", "events",
	    res)));
}

/* After the token check: the request runs in cmd; one that waits holds
 * back this connection's next lines until its answer. */
static void
handle_request(struct client *c, struct api_request *req)
{
	struct cmd_caller who = { .area = "api", .peer = c->peer,
	    .authorised = true, .by = client_by, .arg = c };
	struct cmd_answer ans;

	if (req->cmd == API_CMD_SUBSCRIBE) {
		handle_subscribe(c, req);
		return;
	}
	if (cmd_execute(c->api->cmd, req, &who, &ans, on_job_done, c,
	    &c->job) == 1) {
		client_send(c, answer_line(c, req->id, &ans));
		return;
	}
	c->busy = true;
	c->pending_id = req->id != NULL ? json_incref(req->id) : NULL;
}

/* Logs a token refusal (within the budget); never the token given. */
static void
log_forbidden(struct client *c, const struct api_request *req,
    const struct token_result *r)
{
	struct api *a = c->api;
	char who[96];

	if (c->uid >= 0)
		snprintf(who, sizeof(who), "uid %ld%s%s", c->uid,
		    c->user[0] != '\0' ? " " : "", c->user);
	else
		snprintf(who, sizeof(who), "an unknown uid");
	if (r->lockout_started)
		log_warnx("api: %s: %d requests with a wrong or missing API "
		    "token within %d s; refusing its requests for %lld s", who,
		    TOKEN_MAX_FAILURES, TOKEN_WINDOW_MS / 1000,
		    (long long)(r->lockout_ms + 999) / 1000);
	if (!budget_ok(a, &a->forbidden_log, "requests refused for the API "
	    "token"))
		return;
	log_warnx("api: %s (%s): %s refused: %s", c->peer, who, req->name,
	    r->verdict == TOKEN_MISSING ? "no API token" :
	    r->verdict == TOKEN_WRONG ? "wrong API token" :
	    "locked out after wrong or missing API tokens");
}

/*
 * A command that changes state needs the API token; a token sent with
 * any command is checked too. True when the request may go on; false
 * after answering forbidden.
 */
static bool
client_authorised(struct client *c, const struct api_request *req)
{
	struct api *a = c->api;
	struct token_result r;
	char msg[PATH_MAX + 200];

	if (!req->changes && req->token == NULL)
		return true;
	client_identify(c);	/* the limiter is per uid */
	r = token_check(a->guard, c->uid, req->token, req->token_len,
	    (int64_t)uv_now(a->loop));
	if (r.verdict == TOKEN_OK)
		return true;
	log_forbidden(c, req, &r);
	if (r.verdict == TOKEN_MISSING)
		snprintf(msg, sizeof(msg), "'%s' changes the support VPN and "
		    "needs the API token: send it as \"token\" (supportvpnd "
		    "keeps it in %s)", req->name, a->cfg->api_token_file);
	else if (r.verdict == TOKEN_WRONG)
		snprintf(msg, sizeof(msg), "the API token is wrong (supportvpnd "
		    "keeps the right one in %s)", a->cfg->api_token_file);
	else
		snprintf(msg, sizeof(msg), "too many requests with a wrong or "
		    "missing API token from this user; refused for another "
		    "%lld s", (long long)(r.retry_ms + 999) / 1000);
	client_send(c, api_answer_error(req->id, "forbidden", msg));
	return false;
}

static void
handle_line(struct client *c, const char *line, size_t len)
{
	struct api_request req;
	struct api_error err;

	if (len == 0)
		return;
	if (api_request_parse(line, len, &req, &err) < 0)
		send_error(c, req.id, err.code, err.message);
	else if (client_authorised(c, &req))
		handle_request(c, &req);
	api_request_clear(&req);
}

/* Whether the next request may be handled now. */
static bool
client_ready(struct client *c)
{
	return !c->busy && !c->closing && uv_stream_get_write_queue_size(
	    (uv_stream_t *)&c->tcp) <= API_HIGH_WATER;
}

/* Handles complete lines until one waits, answers pile up or none is
 * left. */
static void
client_process(struct client *c)
{
	char *nl;
	size_t used;

	while (client_ready(c) &&
	    (nl = memchr(c->buf, '\n', c->len)) != NULL) {
		used = (size_t)(nl - c->buf) + 1;
		*nl = '\0';
		handle_line(c, c->buf, used - 1);
		if (c->closing)
			return;
		memmove(c->buf, c->buf + used, c->len - used);
		/* No stale copy of a request (a password) stays behind. */
		explicit_bzero(c->buf + c->len - used, used);
		c->len -= used;
	}
	if (c->closing)
		return;
	if (c->len > SUPPORTVPN_API_MAX_LINE &&
	    memchr(c->buf, '\n', c->len) == NULL) {
		send_error(c, NULL, "line_too_long", "a request line may be at "
		    "most 65536 bytes; closing the connection");
		client_close(c, "line too long");
		return;
	}
	/* Resume reading once a waiting request has freed the buffer. */
	if (!c->reading && c->len < API_BUF_MAX) {
		if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc,
		    on_read) == 0)
			c->reading = true;
	}
}

/* ---- connections ------------------------------------------------------- */

static void
on_client_closed(uv_handle_t *h)
{
	struct client *c = h->data;
	struct api *a = c->api;

	explicit_bzero(c->buf, c->cap);
	free(c->buf);
	free(c);
	handle_released(a);
}

static void
client_close(struct client *c, const char *why)
{
	struct api *a = c->api;

	if (c->closing)
		return;
	c->closing = true;
	if (why != NULL)
		log_debug("api: %s: closing: %s", c->peer, why);
	cmd_cancel(c->job);
	c->job = NULL;
	json_decref(c->pending_id);
	c->pending_id = NULL;
	if (c->events != 0)
		a->nsubscribers--;
	c->events = 0;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		a->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	a->nclients--;
	uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

/*
 * Doubles the line buffer up to API_BUF_MAX. A fresh copy, not realloc:
 * the old one may hold a password, and is wiped before it is freed.
 */
static int
client_grow(struct client *c)
{
	size_t cap = c->cap * 2 < API_BUF_MAX ? c->cap * 2 : API_BUF_MAX;
	char *p;

	if ((p = malloc(cap)) == NULL)
		return -ENOMEM;
	memcpy(p, c->buf, c->len);
	explicit_bzero(c->buf, c->cap);
	free(c->buf);
	c->buf = p;
	c->cap = cap;
	return 0;
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct client *c = h->data;

	/*
	 * The buffer holds one full line plus its newline, and no more. It
	 * starts small (requests are a few hundred bytes): a 64 KiB block
	 * per connection, freed a moment later, fragments the heap until it
	 * only grows. No room (no memory to grow) gives UV_ENOBUFS, which
	 * closes the connection.
	 */
	if (c->len == c->cap && c->cap < API_BUF_MAX &&
	    client_grow(c) < 0) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct client *c = s->data;

	if (n < 0) {
		client_close(c, n == UV_EOF ? "peer closed" :
		    uv_strerror((int)n));
		return;
	}
	c->len += (size_t)n;
	if (c->len >= API_BUF_MAX) {
		/* Full: read more once a waiting request is answered. */
		uv_read_stop(s);
		c->reading = false;
	}
	client_process(c);
}

static void
describe_peer(struct client *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char host[48] = "?";

	c->uid = -1;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			uv_ip4_name((struct sockaddr_in *)&ss, host,
			    sizeof(host));
		else
			uv_ip6_name((struct sockaddr_in6 *)&ss, host,
			    sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "%s:%d", host,
		    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	} else
		snprintf(c->peer, sizeof(c->peer), "?");
}

static void
on_refused_closed(uv_handle_t *h)
{
	struct api *a = h->data;

	free(h);
	handle_released(a);
}

static void
on_refused_written(uv_write_t *req, int status)
{
	free(req->data);
	uv_close((uv_handle_t *)req->handle, on_refused_closed);
	free(req);
}

/* One connection too many: tell it why, then close it. -ENOMEM when
 * there is not even a handle to take it with. */
static int
refuse(struct api *a)
{
	uv_tcp_t *t;
	uv_write_t *req;
	uv_buf_t buf;
	char *line;

	if ((t = malloc(sizeof(*t))) == NULL)
		return -ENOMEM;
	uv_tcp_init(a->loop, t);
	t->data = a;
	a->nhandles++;
	if (uv_accept((uv_stream_t *)&a->server, (uv_stream_t *)t) < 0 ||
	    (req = malloc(sizeof(*req))) == NULL) {
		uv_close((uv_handle_t *)t, on_refused_closed);
		return 0;
	}
	line = api_answer_error(NULL, "busy", "too many connections; try "
	    "again later");
	req->data = line;
	buf = uv_buf_init(line != NULL ? line : "", line != NULL ?
	    (unsigned)strlen(line) : 0);
	if (uv_write(req, (uv_stream_t *)t, &buf, 1, on_refused_written) < 0) {
		free(line);
		free(req);
		uv_close((uv_handle_t *)t, on_refused_closed);
	}
	return 0;
}

static void on_connection(uv_stream_t *server, int status);

static void
on_accept_retry(uv_timer_t *t)
{
	struct api *a = t->data;

	on_connection((uv_stream_t *)&a->server, 0);
}

/*
 * Not even the memory to refuse the connection: libuv holds the accepted
 * socket and listens no more until it is taken, so it must be taken later
 * rather than never (which would shut the API for good).
 */
static void
accept_later(struct api *a)
{
	uv_timer_start(&a->accept_timer, on_accept_retry, API_ACCEPT_RETRY_MS,
	    0);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct api *a = server->data;
	struct client *c;
	int rc;

	if (status < 0) {
		log_warnx("api: accept: %s", uv_strerror(status));
		return;
	}
	if (a->nclients >= (unsigned)a->cfg->api_max_clients) {
		if (budget_ok(a, &a->refused_log, "refused connections"))
			log_warnx("api: refusing a connection: %u connections "
			    "open (api.max_clients)", a->nclients);
		if (refuse(a) < 0)
			accept_later(a);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->buf = malloc(API_BUF_MIN)) == NULL) {
		free(c);
		/* Once for a spell of them, not for every try. */
		if (!a->starved)
			log_warnx("api: out of memory for a connection; refusing "
			    "them until there is");
		a->starved = true;
		if (refuse(a) < 0)
			accept_later(a);
		return;
	}
	a->starved = false;
	c->cap = API_BUF_MIN;
	c->api = a;
	uv_tcp_init(a->loop, &c->tcp);
	c->tcp.data = c;
	a->nhandles++;
	a->nclients++;
	c->next = a->clients;
	if (a->clients != NULL)
		a->clients->prev = c;
	a->clients = c;
	if ((rc = uv_accept(server, (uv_stream_t *)&c->tcp)) < 0) {
		client_close(c, uv_strerror(rc));
		return;
	}
	(void)uv_tcp_nodelay(&c->tcp, 1);	/* latency, not throughput */
	describe_peer(c);
	log_debug("api: %s: connected", c->peer);
	if ((rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc,
	    on_read)) < 0) {
		client_close(c, uv_strerror(rc));
		return;
	}
	c->reading = true;
}

int
api_listen(struct api *a)
{
	struct sockaddr_storage ss;
	int rc;

	if (strchr(a->cfg->api_host, ':') != NULL)
		rc = uv_ip6_addr(a->cfg->api_host, a->cfg->api_port,
		    (struct sockaddr_in6 *)&ss);
	else
		rc = uv_ip4_addr(a->cfg->api_host, a->cfg->api_port,
		    (struct sockaddr_in *)&ss);
	if (rc < 0) {
		log_error("api: bad address %s: %s", a->cfg->api_host,
		    uv_strerror(rc));
		return rc;
	}
	uv_tcp_init(a->loop, &a->server);
	a->server.data = a;
	a->nhandles++;
	a->listening = true;
	uv_timer_init(a->loop, &a->accept_timer);
	a->accept_timer.data = a;
	a->nhandles++;
	if ((rc = uv_tcp_bind(&a->server, (struct sockaddr *)&ss, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&a->server, 128,
	    on_connection)) < 0) {
		log_error("api: cannot listen on %s:%d: %s", a->cfg->api_host,
		    a->cfg->api_port, uv_strerror(rc));
		return rc;
	}
	log_info("api: listening on %s:%d", a->cfg->api_host,
	    a->cfg->api_port);
	return 0;
}

void
api_free(struct api *a)
{
	if (a == NULL)
		return;
	a->freeing = true;
	while (a->clients != NULL)
		client_close(a->clients, "shutting down");
	if (a->listening) {
		uv_close((uv_handle_t *)&a->accept_timer, on_api_handle_closed);
		uv_close((uv_handle_t *)&a->server, on_api_handle_closed);
	} else if (a->nhandles == 0)
		api_release(a);
}
