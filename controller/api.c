/* SPDX-License-Identifier: MIT */
/*
 * JSON API server. Each connection reads lines into a bounded buffer and
 * handles one request at a time: a request that waits (start with wait,
 * stop, openvpn) holds back the next lines of that connection only.
 * Closing a connection cancels what it waits for, so no callback ever
 * reaches freed memory.
 */
#define _DEFAULT_SOURCE		/* explicit_bzero */
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "api.h"
#include "api_req.h"
#include "auth.h"
#include "checks.h"
#include "config.h"
#include "log.h"
#include "peer.h"
#include "rocmd.h"
#include "session.h"
#include "supportvpn.h"
#include "util.h"
#include "vpn.h"

/*
 * Answers queued beyond this hold back the connection's next request: a
 * client that writes many requests at once reads their answers later
 * than they are written, which is not the same as not reading (that is
 * API_MAX_BACKLOG, for events a subscriber does not take).
 */
#define API_HIGH_WATER	(256 * 1024)

struct client;

/* An openvpn command in flight; outlives its client if need be. */
struct ro_req {
	struct client	*c;		/* NULL once the client is gone */
	json_t		*id;
	char		 cmd[256];
};

struct client {
	uv_tcp_t		 tcp;
	struct api		*api;
	struct client		*prev, *next;
	char			*buf;
	size_t			 len;
	unsigned		 events;	/* subscriptions */
	bool			 busy;		/* a request waits */
	bool			 closing;
	bool			 reading;
	json_t			*pending_id;
	struct vpn_waiter	*waiter;
	struct checks_waiter	*checks_waiter;
	struct ro_req		*ro;
	struct auth_req		*auth;
	char			 peer[64];
	long			 uid;		/* the peer's, -1 unknown */
	char			 user[64];	/* its name, "" unknown */
	bool			 identified;	/* uid and user looked up */
};

struct api {
	uv_loop_t		*loop;
	const struct config	*cfg;
	struct vpn		*vpn;
	struct session		*session;
	struct auth		*auth;
	uv_tcp_t		 server;
	bool			 listening;
	bool			 freeing;
	struct client		*clients;
	unsigned		 nclients;
	unsigned		 nhandles;
};

static void client_close(struct client *c, const char *why);
static void client_process(struct client *c);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* Every handle the api opened is counted; the last close frees it. */
static void
handle_released(struct api *a)
{
	if (--a->nhandles == 0 && a->freeing)
		free(a);
}

static void
on_api_handle_closed(uv_handle_t *h)
{
	handle_released(h->data);
}

struct api *
api_new(uv_loop_t *loop, const struct config *cfg, struct vpn *vpn,
    struct session *session, struct auth *auth)
{
	struct api *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->loop = loop;
	a->cfg = cfg;
	a->vpn = vpn;
	a->session = session;
	a->auth = auth;
	return a;
}

/* ---- output ------------------------------------------------------------ */

static void
on_written(uv_write_t *req, int status)
{
	struct client *c = req->handle->data;

	free(req->data);
	free(req);
	/* Requests held back while answers were queued go on. */
	if (status == 0 && !c->closing && !c->busy)
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
		client_close(c, "it does not read what it is sent");
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

static void
send_error(struct client *c, json_t *id, const char *code, const char *msg)
{
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
	c->waiter = NULL;
	c->checks_waiter = NULL;
	client_send(c, answer);
	if (!c->closing)
		client_process(c);
}

static void
on_vpn_done(enum vpn_result r, const char *message, void *arg)
{
	struct client *c = arg;

	if (r == VPN_OK)
		client_resume(c, api_answer_ok(c->pending_id,
		    vpn_status_json(c->api->vpn)));
	else {
		log_info("api: %s: %s: %s", c->peer, vpn_result_code(r),
		    message);
		client_resume(c, api_answer_error(c->pending_id,
		    vpn_result_code(r), message));
	}
}

static void
on_ro_answer(int status, const struct mgmt_msg *resp, void *arg)
{
	struct ro_req *ro = arg;
	struct client *c = ro->c;
	json_t *lines;
	size_t i;

	if (c == NULL) {
		json_decref(ro->id);
		free(ro);
		return;
	}
	c->ro = NULL;
	if (status < 0) {
		client_resume(c, api_answer_error(ro->id, "unavailable",
		    "openvpn's management interface went away before it "
		    "answered"));
	} else if (!resp->u.response.ok) {
		client_resume(c, api_answer_error(ro->id, "failed",
		    resp->u.response.text));
	} else {
		lines = json_array();
		if (resp->u.response.nlines == 0 && lines != NULL)
			json_array_append_new(lines,
			    json_string(resp->line));
		for (i = 0; i < resp->u.response.nlines && lines != NULL; i++)
			json_array_append_new(lines, json_string(
			    resp->u.response.lines[i]));
		client_resume(c, api_answer_ok(ro->id, json_pack("{s:s, s:o}",
		    "command", ro->cmd, "lines", lines)));
	}
	json_decref(ro->id);
	free(ro);
}

static void
on_checks_done(void *arg)
{
	struct client *c = arg;

	client_resume(c, api_answer_ok(c->pending_id,
	    vpn_checks_json(c->api->vpn)));
}

/* From the cache at once, or after a (shared) run with refresh. */
static void
handle_checks(struct client *c, struct api_request *req)
{
	struct checks *ch = vpn_checks(c->api->vpn);
	json_t *set = vpn_checks_json(c->api->vpn);

	/* Checks that are off have nothing to refresh. */
	if (!req->refresh || json_is_false(json_object_get(set, "enabled"))) {
		client_send(c, api_answer_ok(req->id, set));
		return;
	}
	json_decref(set);
	c->pending_id = req->id != NULL ? json_incref(req->id) : NULL;
	if ((c->checks_waiter = checks_run(ch, on_checks_done, c)) == NULL) {
		json_decref(c->pending_id);
		c->pending_id = NULL;
		send_error(c, req->id, "internal", "out of memory");
		return;
	}
	c->busy = true;
}

static void
collect_line(const char *line, void *arg)
{
	json_array_append_new(arg, json_string(line));
}

static json_t *
version_json(struct api *a)
{
	const char *ov = vpn_openvpn_version(a->vpn);

	return json_pack("{s:s, s:o, s:s, s:s, s:s}",
	    "supportvpnd", SUPPORTVPN_VERSION,
	    "openvpn", ov != NULL ? json_string(ov) : json_null(),
	    "libuv", uv_version_string(),
	    "jansson", JANSSON_VERSION,
	    "libcurl", curl_version_info(CURLVERSION_NOW)->version);
}

static void
handle_openvpn(struct client *c, struct api_request *req)
{
	char norm[256], why[512];
	enum mgmt_expect e;
	struct ro_req *ro;
	int rc;

	if (rocmd_check(req->command, norm, sizeof(norm), &e, why,
	    sizeof(why)) < 0) {
		send_error(c, req->id, "not_allowed", why);
		return;
	}
	if ((ro = calloc(1, sizeof(*ro))) == NULL) {
		send_error(c, req->id, "internal", "out of memory");
		return;
	}
	ro->c = c;
	ro->id = req->id != NULL ? json_incref(req->id) : NULL;
	memcpy(ro->cmd, norm, sizeof(ro->cmd));
	rc = vpn_openvpn_command(c->api->vpn, norm, e, on_ro_answer, ro);
	if (rc < 0) {
		json_decref(ro->id);
		free(ro);
		if (rc == -ENOTCONN)
			send_error(c, req->id, "unavailable", "openvpn's "
			    "management interface is not connected");
		else if (rc == -EBUSY)
			send_error(c, req->id, "busy", "too many openvpn "
			    "commands are pending; try again");
		else
			send_error(c, req->id, "internal", strerror(-rc));
		return;
	}
	c->ro = ro;
	c->busy = true;
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
client_by(struct client *c, const struct api_request *req)
{
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

static void
on_auth_done(bool granted, const char *reason, void *arg)
{
	struct client *c = arg;

	c->auth = NULL;
	client_resume(c, api_answer_ok(c->pending_id, json_pack("{s:b, s:s}",
	    "granted", granted, "reason", reason)));
}

static void
handle_auth(struct client *c, struct api_request *req, json_t *by)
{
	int rc;

	c->pending_id = req->id != NULL ? json_incref(req->id) : NULL;
	rc = auth_request(c->api->auth, req->user, req->password, req->from,
	    by, on_auth_done, c, &c->auth);
	if (rc < 0) {
		json_decref(c->pending_id);
		c->pending_id = NULL;
		log_warnx("api: %s: auth: %s", c->peer, rc == -EBUSY ?
		    "too many logins are being checked" : strerror(-rc));
		send_error(c, req->id, rc == -EBUSY ? "busy" : "internal",
		    rc == -EBUSY ? "too many logins are being checked; try "
		    "again" : strerror(-rc));
		return;
	}
	c->busy = true;
}

/* Session commands answer at once: from the history or the session. */
static void
handle_session(struct client *c, struct api_request *req, json_t *by)
{
	struct api *a = c->api;
	const char *code = "internal";
	char why[256];
	json_t *recs;
	int rc;

	if (req->cmd == API_CMD_HISTORY) {
		if ((rc = session_history(a->session, req->lines, &recs)) < 0)
			send_error(c, req->id, "storage", "the session history "
			    "cannot be read");
		else
			client_send(c, api_answer_ok(req->id, json_pack(
			    "{s:o}", "records", recs)));
		return;
	}
	log_info("api: %s: extend%s", c->peer, req->duration_s >= 0 ? "" :
	    " (default)");
	if (session_extend(a->session, by, req->duration_s, &code, why,
	    sizeof(why)) < 0)
		send_error(c, req->id, code, why);
	else
		client_send(c, api_answer_ok(req->id, vpn_status_json(a->vpn)));
}

static void
handle_request(struct client *c, struct api_request *req)
{
	struct api *a = c->api;
	const char *code = "internal";
	char why[256];
	json_t *res, *by = NULL;
	size_t i;
	int rc = 0;

	switch (req->cmd) {
	case API_CMD_STATUS:
		client_send(c, api_answer_ok(req->id, vpn_status_json(a->vpn)));
		return;
	case API_CMD_VERSION:
		client_send(c, api_answer_ok(req->id, version_json(a)));
		return;
	case API_CMD_LOG:
		if ((res = json_array()) != NULL)
			log_recent(req->lines, collect_line, res);
		client_send(c, api_answer_ok(req->id, json_pack("{s:o}",
		    "lines", res)));
		return;
	case API_CMD_SUBSCRIBE:
		c->events = req->events;
		if ((res = json_array()) != NULL)
			for (i = 0; i < API_EV_COUNT; i++)
				if (req->events & (1u << i))
					json_array_append_new(res, json_string(
					    api_event_name((enum api_event)i)));
		client_send(c, api_answer_ok(req->id, json_pack("{s:o}",
		    "events", res)));
		return;
	case API_CMD_OPENVPN:
		handle_openvpn(c, req);
		return;
	case API_CMD_CHECKS:
		handle_checks(c, req);
		return;
	case API_CMD_HISTORY:
		handle_session(c, req, NULL);
		return;
	case API_CMD_EXTEND:
		by = client_by(c, req);
		handle_session(c, req, by);
		json_decref(by);
		return;
	case API_CMD_AUTH:
		by = client_by(c, req);
		handle_auth(c, req, by);
		json_decref(by);
		return;
	case API_CMD_START:
		log_info("api: %s: start%s%s", c->peer, req->when_possible ?
		    " when possible" : "", req->wait ? " (wait)" : "");
		by = client_by(c, req);
		rc = session_start(a->session, by, req->when_possible,
		    req->duration_s, &code, why, sizeof(why));
		json_decref(by);
		if (rc < 0) {
			log_warnx("api: %s: start refused: %s", c->peer, why);
			send_error(c, req->id, code, why);
			return;
		}
		c->busy = true;
		c->pending_id = req->id != NULL ? json_incref(req->id) : NULL;
		rc = vpn_start(a->vpn, req->when_possible, req->wait,
		    req->timeout_s, on_vpn_done, c, &c->waiter);
		break;
	case API_CMD_STOP:
		log_info("api: %s: stop", c->peer);
		by = client_by(c, req);
		session_stopping(a->session, by);
		json_decref(by);
		c->busy = true;
		c->pending_id = req->id != NULL ? json_incref(req->id) : NULL;
		rc = vpn_stop(a->vpn, on_vpn_done, c, &c->waiter);
		break;
	}
	if (rc < 0) {
		c->busy = false;
		json_decref(c->pending_id);
		c->pending_id = NULL;
		send_error(c, req->id, "internal", strerror(-rc));
	}
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
	else
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
	if (!c->reading && c->len < SUPPORTVPN_API_MAX_LINE + 2) {
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

	explicit_bzero(c->buf, c->len);
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
	if (c->waiter != NULL)
		vpn_waiter_cancel(c->waiter);
	if (c->checks_waiter != NULL)
		checks_waiter_cancel(c->checks_waiter);
	if (c->ro != NULL)
		c->ro->c = NULL;
	if (c->auth != NULL)
		auth_cancel(c->auth);
	json_decref(c->pending_id);
	c->pending_id = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		a->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	a->nclients--;
	uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct client *c = h->data;
	size_t room = SUPPORTVPN_API_MAX_LINE + 2 - c->len;

	/* The buffer holds one full line plus its newline, and no more. */
	*buf = uv_buf_init(c->buf + c->len, (unsigned)(room > 65536 ? 65536 :
	    room));
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
	if (c->len >= SUPPORTVPN_API_MAX_LINE + 2) {
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

/* One connection too many: tell it why, then close it. */
static void
refuse(struct api *a)
{
	uv_tcp_t *t;
	uv_write_t *req;
	uv_buf_t buf;
	char *line;

	if ((t = malloc(sizeof(*t))) == NULL)
		return;
	uv_tcp_init(a->loop, t);
	t->data = a;
	a->nhandles++;
	if (uv_accept((uv_stream_t *)&a->server, (uv_stream_t *)t) < 0 ||
	    (req = malloc(sizeof(*req))) == NULL) {
		uv_close((uv_handle_t *)t, on_refused_closed);
		return;
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
		log_warnx("api: refusing a connection: %u connections open "
		    "(api.max_clients)", a->nclients);
		refuse(a);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->buf = malloc(SUPPORTVPN_API_MAX_LINE + 2)) == NULL) {
		free(c);
		log_warnx("api: out of memory for a connection");
		refuse(a);
		return;
	}
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
	if (a->listening)
		uv_close((uv_handle_t *)&a->server, on_api_handle_closed);
	else if (a->nhandles == 0)
		free(a);
}
