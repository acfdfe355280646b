/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the JSON API server: the real controller/api.c
 * and cmd.c (with api_req.c, rocmd.c, token.c and log.c) listening on
 * loopback with an API token made by token_prepare, and a client on the
 * same loop that writes the input, plus a newline, on a fresh
 * connection. First each line goes through api_request_parse alone: a
 * refusal has a code and a message; an accepted request has a known
 * command, its name, a token within its bound, and the changes flag
 * exactly for start, stop, extend and auth. Then, on the wire, the harness
 * adds to some JSON object lines without a "token" the right token, to
 * others a wrong one, and leaves the rest alone (chosen by the input's
 * first byte and the line's number). Each non-empty line must get
 * exactly one answer, in order: one line of JSON, {"ok": true, "result":
 * {...}} or {"ok": false, "error": {"code", "message"}}, echoing the
 * request's id exactly, with the parser's error code when the request
 * does not parse, and `forbidden` exactly when the token is missing (on
 * a changing command) or wrong, or when the limiter has locked the
 * connection's uid out (TOKEN_MAX_FAILURES failures in a row); lines in
 * between may only be events the connection subscribed to (log lines
 * are broadcast as events, as supportvpnd does). The input is then sent
 * again on a connection that is reset at once: the server answers into
 * a dead socket, and whatever it was waiting for when it saw the reset
 * is cancelled, never completed into freed memory. Both connections end
 * with a reset (no TIME_WAIT piling up), and each run waits until the
 * server has freed everything (the loop holds only its listener again).
 *
 * The modules behind the API (vpn, session, auth, checks) are stand-ins
 * below: deterministic, answering on the next turn of the loop (never
 * inside the call, as the real ones), with successes and each kind of
 * failure chosen by the request's arguments. So is peer_tcp_uid: the
 * real one reads the kernel's socket table, milliseconds per connection
 * (tests/unit/test_peer.c covers it); the stand-in gives each connection
 * a uid of its own, so the token limiter starts afresh for each, and a
 * run whose input locks its uid out rebuilds the server afterwards (a
 * locked uid holds one of the limiter's TOKEN_GUARD_SLOTS for minutes).
 *
 *   make fuzz FUZZERS=fuzz_api_req
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <jansson.h>
#include <uv.h>

#include "api.h"
#include "api_req.h"
#include "auth.h"
#include "checks.h"
#include "cmd.h"
#include "config.h"
#include "log.h"
#include "mgmt.h"
#include "peer.h"
#include "session.h"
#include "supportvpn.h"
#include "token.h"
#include "vpn.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Requests per input: a "log" answer is some 100 KB of JSON, a second
 * under ASan for a few dozen; more requests find nothing new.
 */
#define MAX_REQUESTS	64

static uv_loop_t	 loop;
static struct config	 cfg;
static struct api	*api;
static struct cmd	*runner;	/* cmd.c: runs the requests */
static struct token_guard *guard;
static char		 token[TOKEN_LEN + 1];
static long		 next_uid = 100000;	/* peer_tcp_uid's next */
static bool		 inited;
static unsigned		 pending;	/* stand-in operations not yet freed */
/* What the stand-ins are handed (never dereferenced). */
static char		 fake_vpn, fake_session, fake_auth, fake_checks;

/* ---- stand-ins ---------------------------------------------------------- */

/* One operation completed on the next turn of the loop, or cancelled. */
struct deferred {
	uv_timer_t	  timer;
	void		(*fire)(struct deferred *d);
	bool		  cancelled;
	bool		  fired;
};

struct vpn_waiter {
	struct deferred	 d;		/* first: freed as a deferred */
	vpn_done_fn	 done;
	void		*arg;
	enum vpn_result	 r;
	const char	*message;
};

struct checks_waiter {
	struct deferred	 d;
	checks_done_fn	 done;
	void		*arg;
};

struct auth_req {
	struct deferred	 d;
	auth_done_fn	 done;
	void		*arg;
	bool		 granted;
};

struct ro_op {
	struct deferred	 d;
	mgmt_resp_fn	 fn;
	void		*arg;
	int		 kind;
};

static void
on_deferred_closed(uv_handle_t *h)
{
	free(h->data);
	pending--;
}

static void
on_deferred(uv_timer_t *t)
{
	struct deferred *d = t->data;

	d->fired = true;
	d->fire(d);
	uv_close((uv_handle_t *)&d->timer, on_deferred_closed);
}

static void
defer(struct deferred *d, void (*fire)(struct deferred *))
{
	d->fire = fire;
	uv_timer_init(&loop, &d->timer);
	d->timer.data = d;
	uv_timer_start(&d->timer, on_deferred, 0, 0);
	pending++;
}

/* A cancel after completion, or twice, would be a use after free. */
static void
cancel(struct deferred *d)
{
	if (d->cancelled || d->fired)
		abort();
	d->cancelled = true;
	uv_timer_stop(&d->timer);
	uv_close((uv_handle_t *)&d->timer, on_deferred_closed);
}

/* What api.c passes as "by": its own description of the client. */
static void
check_by(json_t *by)
{
	json_t *as = json_object_get(by, "as");

	if (!json_is_object(by) ||
	    !json_is_string(json_object_get(by, "via")) ||
	    !json_is_string(json_object_get(by, "peer")) ||
	    (as != NULL && (!json_is_string(as) ||
	    json_string_length(as) > API_BY_MAX)))
		abort();
}

const char *
vpn_result_code(enum vpn_result r)
{
	static const char *const codes[] = { "ok", "timeout", "failed",
	    "superseded", "storage", "shutting_down" };

	return (unsigned)r < sizeof(codes) / sizeof(codes[0]) ? codes[r] :
	    "internal";
}

json_t *
vpn_status_json(const struct vpn *v)
{
	return json_pack("{s:s, s:b, s:s, s:s}", "vpn", "stopped",
	    "start_when_possible", 0, "since", "2026-11-27T04:21:09Z",
	    "detail", "fuzzing");
}

struct checks *
vpn_checks(const struct vpn *v)
{
	return (struct checks *)&fake_checks;
}

json_t *
vpn_checks_json(const struct vpn *v)
{
	return json_pack("{s:b, s:b, s:[]}", "enabled", 1, "ok", 0, "items");
}

const char *
vpn_openvpn_version(const struct vpn *v)
{
	return "OpenVPN 2.6.14 (fuzz)";
}

static void
fire_vpn(struct deferred *d)
{
	struct vpn_waiter *w = (struct vpn_waiter *)d;

	api_broadcast(api, "state", json_pack("{s:s}", "vpn",
	    w->r == VPN_OK ? "connected" : "failed"));
	w->done(w->r, w->message, w->arg);
}

static int
waiter(vpn_done_fn done, void *arg, struct vpn_waiter **wp,
    enum vpn_result r, const char *message)
{
	struct vpn_waiter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	w->done = done;
	w->arg = arg;
	w->r = r;
	w->message = message;
	if (wp != NULL)
		*wp = w;
	defer(&w->d, fire_vpn);
	return 0;
}

int
vpn_start(struct vpn *v, bool when_possible, bool wait, unsigned timeout_s,
    vpn_done_fn done, void *arg, struct vpn_waiter **wp)
{
	if (timeout_s == 13)
		return -EIO;
	return waiter(done, arg, wp, (enum vpn_result)(timeout_s % 4),
	    "the stand-in says so");
}

/* Every seventh arming cannot be saved. */
int
vpn_arm(struct vpn *v, char *why, size_t whylen)
{
	static unsigned n;

	if (++n % 7 == 0) {
		snprintf(why, whylen, "the stand-in cannot save it");
		return -EIO;
	}
	return n % 2;
}

void
vpn_disarm(struct vpn *v)
{
}

int
vpn_stop(struct vpn *v, vpn_done_fn done, void *arg, struct vpn_waiter **wp)
{
	return waiter(done, arg, wp, VPN_OK, "");
}

void
vpn_waiter_cancel(struct vpn_waiter *w)
{
	cancel(&w->d);
}

static void
fire_ro(struct deferred *d)
{
	static const char *const lines[] = { "line one", "", "TITLE,x",
	    NULL };
	struct ro_op *o = (struct ro_op *)d;
	struct mgmt_msg m;

	memset(&m, 0, sizeof(m));
	m.type = MGMT_MSG_RESPONSE;
	m.line = "SUCCESS: pid=4242";
	m.u.response.ok = o->kind != 3;
	m.u.response.text = o->kind == 3 ? "unknown command" : "pid=4242";
	m.u.response.nlines = o->kind == 4 ? 3 : 0;
	m.u.response.lines = lines + (o->kind == 4 ? 0 : 3);
	o->fn(o->kind == 2 ? -ECONNRESET : 0, o->kind == 2 ? NULL : &m,
	    o->arg);
}

int
vpn_openvpn_command(struct vpn *v, const char *cmd, enum mgmt_expect e,
    mgmt_resp_fn fn, void *arg)
{
	struct ro_op *o;
	size_t kind = strlen(cmd) % 5;

	if (kind == 0)
		return -ENOTCONN;
	if (kind == 1)
		return -EBUSY;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return -ENOMEM;
	o->fn = fn;
	o->arg = arg;
	o->kind = (int)kind;
	defer(&o->d, fire_ro);
	return 0;
}

static void
fire_checks(struct deferred *d)
{
	struct checks_waiter *w = (struct checks_waiter *)d;

	w->done(w->arg);
}

struct checks_waiter *
checks_run(struct checks *c, checks_done_fn done, void *arg)
{
	struct checks_waiter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->done = done;
	w->arg = arg;
	defer(&w->d, fire_checks);
	return w;
}

void
checks_waiter_cancel(struct checks_waiter *w)
{
	cancel(&w->d);
}

static void
fire_auth(struct deferred *d)
{
	struct auth_req *r = (struct auth_req *)d;

	r->done(r->granted, r->granted ? "granted" : "wrong password",
	    r->arg);
}

int
auth_request(struct auth *a, const char *user, const char *password,
    const char *from, json_t *by, auth_done_fn done, void *arg,
    struct auth_req **handle)
{
	struct auth_req *r;

	if (user == NULL || password == NULL)
		abort();
	check_by(by);
	if (strcmp(user, "busy") == 0)
		return -EBUSY;
	if (strcmp(user, "broken") == 0)
		return -EIO;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	r->done = done;
	r->arg = arg;
	/* The password is borrowed for this call only. */
	r->granted = strcmp(user, "support") == 0 &&
	    strcmp(password, "right") == 0;
	*handle = r;
	defer(&r->d, fire_auth);
	return 0;
}

void
auth_cancel(struct auth_req *r)
{
	cancel(&r->d);
}

int
session_start(struct session *s, json_t *by, bool when_possible,
    long duration_s, const char **code, char *why, size_t whylen)
{
	check_by(by);
	if (duration_s > 0 && duration_s % 7 == 0) {
		*code = "bad_argument";
		snprintf(why, whylen, "the stand-in refuses %ld s", duration_s);
		return -1;
	}
	return 0;
}

int
session_extend(struct session *s, json_t *by, long duration_s,
    const char **code, char *why, size_t whylen)
{
	check_by(by);
	if (duration_s < 0 || duration_s % 3 == 0) {
		*code = duration_s < 0 ? "not_active" : "no_end";
		snprintf(why, whylen, "the stand-in refuses to extend");
		return -1;
	}
	return 0;
}

void
session_stopping(struct session *s, json_t *by)
{
	check_by(by);
}

int
session_history(struct session *s, size_t limit, json_t **out)
{
	size_t i;

	if (limit % 5 == 0)
		return -EIO;
	if ((*out = json_array()) == NULL)
		return -ENOMEM;
	for (i = 0; i < limit && i < 3; i++)
		json_array_append_new(*out, json_pack("{s:i}", "n", (int)i));
	return 0;
}

int
peer_tcp_uid(const struct sockaddr *peer, const struct sockaddr *local,
    uid_t *uid)
{
	*uid = (uid_t)next_uid;
	return 0;
}

/* As supportvpnd's: every log line goes to subscribers as an event. */
static void
on_log_line(enum log_level level, const char *time, const char *msg,
    void *arg)
{
	api_broadcast(api, "log", json_pack("{s:s, s:s}", "level",
	    log_level_name(level), "message", msg));
}

/* ---- the server --------------------------------------------------------- */

static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/*
 * The API token, as supportvpnd makes it: token_prepare writes it to a
 * file of its own, which is gone again once read (the guard keeps a copy).
 */
static void
make_token(void)
{
	char dir[] = "/tmp/fuzz_api_req.XXXXXX", path[64];

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/api.token", dir);
	free(cfg.api_token_file);
	if ((cfg.api_token_file = strdup(path)) == NULL ||
	    token_prepare(&cfg, token) < 0 || !token_parse(token,
	    strlen(token), NULL))
		abort();
	if (unlink(cfg.api_token_file) < 0 || rmdir(dir) < 0)
		abort();
}

static void
process_init(void)
{
	int i;

	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_LEVEL_DEBUG, 0);
	log_set_hook(on_log_line, NULL);
	if (uv_loop_init(&loop) != 0 || config_defaults(&cfg) < 0)
		abort();
	free(cfg.api_host);
	if ((cfg.api_host = strdup("127.0.0.1")) == NULL)
		abort();
	cfg.api_max_clients = 4;
	make_token();
	/* A full ring: from now on each line logged frees one, so a run
	 * that allocates more than it frees is a leak (libFuzzer checks). */
	for (i = 0; i < 1000; i++)
		log_debug("fuzz: filling the log ring (%d)", i);
}

static void
server_up(void)
{
	int tries;

	if ((runner = cmd_new(&loop, &cfg, (struct vpn *)&fake_vpn,
	    (struct session *)&fake_session, (struct auth *)&fake_auth)) ==
	    NULL || (guard = token_guard_new(token)) == NULL)
		abort();
	/* A port another process takes between the probe and the bind: try
	 * another. */
	for (tries = 0; tries < 20; tries++) {
		if ((cfg.api_port = free_port()) < 0)
			abort();
		if ((api = api_new(&loop, &cfg, runner, guard)) == NULL)
			abort();
		if (api_listen(api) == 0)
			return;
		api_free(api);
		api = NULL;
		(void)uv_run(&loop, UV_RUN_NOWAIT);
	}
	abort();
}

static void	count_handle(uv_handle_t *h, void *arg);

/* Frees the server once libuv has closed its handles. */
static void
server_down(void)
{
	unsigned n;

	api_free(api);
	api = NULL;
	do {
		(void)uv_run(&loop, UV_RUN_NOWAIT);
		n = 0;
		uv_walk(&loop, count_handle, &n);
	} while (n > 0);
	cmd_free(runner);
	runner = NULL;
	token_guard_free(guard);
	guard = NULL;
}

/* ---- the client and the checks ----------------------------------------- */

/* What one request line must be answered with. */
struct expect {
	json_t		*id;		/* NULL: the answer carries none */
	bool		 parsed;
	const char	*code;		/* the parser's, when !parsed */
	enum api_cmd	 cmd;
	unsigned	 events;	/* subscribe */
	bool		 forbidden;	/* the token check refuses it */
};

struct conn {
	uv_tcp_t	 tcp;
	uv_connect_t	 connect;
	uv_write_t	 write;
	bool		 connected, written, eof, closed;
	char		*buf;
	size_t		 len, cap;
	const struct expect *exp;
	size_t		 nexp;
	size_t		 answers;
	unsigned	 events;	/* subscribed, as far as answers tell */
};

static bool
is_word(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
			return false;
	return true;
}

static void
check_event(struct conn *c, json_t *a)
{
	const char *name = json_string_value(json_object_get(a, "event"));
	int ev;

	if (name == NULL || (ev = api_event_parse(name)) < 0 ||
	    !(c->events & (1u << ev)) ||
	    !json_is_string(json_object_get(a, "time")) ||
	    json_object_get(a, "ok") != NULL)
		abort();
}

static void
check_answer(struct conn *c, json_t *a)
{
	const struct expect *e;
	json_t *ok, *err, *id;
	const char *code;

	if (c->answers >= c->nexp)
		abort();	/* more answers than requests */
	e = &c->exp[c->answers++];
	ok = json_object_get(a, "ok");
	id = json_object_get(a, "id");
	if (!json_is_boolean(ok) ||
	    json_object_size(a) != 2u + (id != NULL ? 1u : 0u))
		abort();
	if ((e->id == NULL) != (id == NULL) ||
	    (id != NULL && !json_equal(id, e->id)))
		abort();
	if (json_is_true(ok)) {
		if (!json_is_object(json_object_get(a, "result")) ||
		    !e->parsed || e->forbidden)
			abort();
		if (e->cmd == API_CMD_SUBSCRIBE)
			c->events = e->events;
		return;
	}
	err = json_object_get(a, "error");
	code = json_string_value(json_object_get(err, "code"));
	if (!json_is_object(err) || json_object_size(err) != 2 ||
	    code == NULL || !is_word(code) ||
	    json_string_length(json_object_get(err, "message")) == 0)
		abort();
	if (!e->parsed && strcmp(code, e->code) != 0)
		abort();
	if (e->parsed && e->forbidden != (strcmp(code, "forbidden") == 0))
		abort();
	if (e->forbidden)
		return;
	/* These cannot fail once parsed. */
	if (e->parsed && (e->cmd == API_CMD_STATUS ||
	    e->cmd == API_CMD_VERSION || e->cmd == API_CMD_LOG ||
	    e->cmd == API_CMD_SUBSCRIBE))
		abort();
}

/* One line of output (without its newline): an answer or an event. */
static void
check_line(struct conn *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *a;

	if ((a = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_object(a))
		abort();
	if (json_object_get(a, "event") != NULL)
		check_event(c, a);
	else
		check_answer(c, a);
	json_decref(a);
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct conn *c = h->data;

	if (c->cap - c->len < 4096) {
		c->cap = c->cap * 2 + 4096;
		if ((c->buf = realloc(c->buf, c->cap)) == NULL)
			abort();
	}
	*buf = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	size_t off = 0;
	char *nl;

	if (n < 0) {
		c->eof = true;
		uv_read_stop(s);
		return;
	}
	c->len += (size_t)n;
	while ((nl = memchr(c->buf + off, '\n', c->len - off)) != NULL) {
		check_line(c, c->buf + off, (size_t)(nl - c->buf) - off);
		off = (size_t)(nl - c->buf) + 1;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static void
on_connect(uv_connect_t *req, int status)
{
	struct conn *c = req->data;

	if (status < 0)
		abort();
	c->connected = true;
}

static void
on_written(uv_write_t *req, int status)
{
	struct conn *c = req->data;

	c->written = true;
}

static void
on_conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	c->closed = true;
}

#define RUN_UNTIL(cond)	do {						\
	while (!(cond))							\
		(void)uv_run(&loop, UV_RUN_ONCE);			\
} while (0)

static void
count_handle(uv_handle_t *h, void *arg)
{
	(*(unsigned *)arg)++;
}

/* Handles on the loop, closing ones included. */
static unsigned
nhandles(void)
{
	unsigned n = 0;

	uv_walk(&loop, count_handle, &n);
	return n;
}

/*
 * Writes data and a newline on a new connection, reads every answer
 * (unless hangup) and resets the connection; returns once the server has
 * closed its end and every stand-in operation is over.
 */
static void
exchange(const uint8_t *data, size_t size, const struct expect *exp,
    size_t nexp, bool hangup)
{
	unsigned base = nhandles();
	struct sockaddr_in sin;
	struct conn c;
	uv_buf_t bufs[2];

	memset(&c, 0, sizeof(c));
	c.exp = exp;
	c.nexp = nexp;
	uv_tcp_init(&loop, &c.tcp);
	c.tcp.data = c.connect.data = c.write.data = &c;
	if (uv_ip4_addr("127.0.0.1", cfg.api_port, &sin) != 0 ||
	    uv_tcp_connect(&c.connect, &c.tcp, (struct sockaddr *)&sin,
	    on_connect) != 0)
		abort();
	RUN_UNTIL(c.connected);
	if (uv_read_start((uv_stream_t *)&c.tcp, on_alloc, on_read) != 0)
		abort();
	bufs[0] = uv_buf_init((char *)(uintptr_t)data, (unsigned)size);
	bufs[1] = uv_buf_init("\n", 1);
	if (uv_write(&c.write, (uv_stream_t *)&c.tcp, bufs, 2,
	    on_written) != 0)
		abort();
	if (!hangup) {
		RUN_UNTIL((c.answers == nexp && c.written) || c.eof);
		if (c.answers != nexp || c.eof || c.len != 0)
			abort();	/* the server hung up, or half a line */
	}
	if (uv_tcp_close_reset(&c.tcp, on_conn_closed) != 0)
		abort();
	RUN_UNTIL(c.closed && pending == 0 && nhandles() == base);
	free(c.buf);
}

/* What main's parser harness checked: api_request_parse's own promises. */
static void
check_parse(int rc, const struct api_request *req,
    const struct api_error *err)
{
	char *line;

	if (rc < 0) {
		if (err->code == NULL || err->message[0] == '\0')
			abort();
		return;
	}
	if ((unsigned)req->cmd > API_CMD_AUTH)
		abort();
	if (req->cmd == API_CMD_AUTH && (req->user == NULL ||
	    req->password == NULL))
		abort();
	if (req->name == NULL || req->changes != (req->cmd ==
	    API_CMD_START || req->cmd == API_CMD_STOP ||
	    req->cmd == API_CMD_EXTEND || req->cmd == API_CMD_AUTH))
		abort();
	if (req->token != NULL && (req->token_len != strlen(req->token) ||
	    req->token_len > API_TOKEN_MAX))
		abort();
	line = api_answer_ok(req->id, json_null());
	if (line == NULL || line[strlen(line) - 1] != '\n')
		abort();
	free(line);
}

/* The wire line for a request line: what the harness sends. */
struct wire {
	char		*buf;
	size_t		 len, cap;
};

static void
wire_add(struct wire *w, const char *s, size_t len)
{
	if (w->cap - w->len < len + 1) {
		w->cap = (w->cap + len + 1) * 2;
		if ((w->buf = realloc(w->buf, w->cap)) == NULL)
			abort();
	}
	memcpy(w->buf + w->len, s, len);
	w->len += len;
}

/*
 * Appends line to w, with a token added when it is a JSON object without
 * one: how is 0 the right token, 1 a wrong one, 2 none (as it is).
 */
static void
wire_line(struct wire *w, const char *line, size_t len, unsigned how)
{
	static const char wrong[TOKEN_LEN + 1] = "0000000000000000"
	    "000000000000000000000000000000000000000000000000";
	json_error_t jerr;
	json_t *root;
	char *out;

	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (how == 2 || !json_is_object(root) ||
	    json_object_get(root, "token") != NULL ||
	    json_object_set_new(root, "token", json_string(how == 0 ? token :
	    wrong)) < 0 || (out = json_dumps(root, JSON_COMPACT)) == NULL) {
		wire_add(w, line, len);
	} else {
		wire_add(w, out, strlen(out));
		free(out);
	}
	json_decref(root);
	wire_add(w, "\n", 1);
}

/*
 * The token check, as api.c and token.c make it, for a connection (a
 * fresh uid): a changing command, or any command with a token, is checked;
 * TOKEN_MAX_FAILURES failures in a row lock the uid out. True: forbidden.
 */
static bool
refused(const struct api_request *req, unsigned *failures)
{
	if (!req->changes && req->token == NULL)
		return false;
	if (*failures >= TOKEN_MAX_FAILURES)
		return true;
	if (req->token != NULL && req->token_len == TOKEN_LEN &&
	    memcmp(req->token, token, TOKEN_LEN) == 0) {
		*failures = 0;
		return false;
	}
	(*failures)++;
	return true;
}

/*
 * Builds the wire form of in (w) with one expectation per non-empty line,
 * from api_request_parse itself; *locked: the uid ends up locked out.
 */
static size_t
expectations(const char *in, size_t size, struct wire *w, struct expect *exp,
    bool *locked)
{
	struct api_request req;
	struct api_error err;
	json_error_t jerr;
	json_t *root;
	size_t n = 0, start = 0, i, len, at;
	unsigned failures = 0;
	int rc;

	for (i = 0; i <= size; i++) {
		if (i < size && in[i] != '\n')
			continue;
		len = i - start;
		at = w->len;
		if (len > 0)
			wire_line(w, in + start, len, (size > 0 ?
			    (unsigned char)in[0] + n : 0) % 3);
		len = w->len - at;
		if (len > 0) {
			len--;		/* the newline */
			memset(&exp[n], 0, sizeof(exp[n]));
			root = json_loadb(w->buf + at, len,
			    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
			if (json_is_object(root) &&
			    json_object_get(root, "id") != NULL)
				exp[n].id = json_incref(json_object_get(root,
				    "id"));
			json_decref(root);
			rc = api_request_parse(w->buf + at, len, &req, &err);
			check_parse(rc, &req, &err);
			exp[n].parsed = rc == 0;
			exp[n].code = err.code;
			exp[n].cmd = req.cmd;
			exp[n].events = req.events;
			exp[n].forbidden = rc == 0 && refused(&req, &failures);
			api_request_clear(&req);
			n++;
		}
		start = i + 1;
	}
	*locked = failures >= TOKEN_MAX_FAILURES;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire w = { NULL, 0, 0 };
	struct expect *exp;
	bool locked;
	size_t n, i;

	/* One line longer than the API takes closes the connection. */
	if (size > SUPPORTVPN_API_MAX_LINE)
		return 0;
	if (!inited) {
		process_init();
		inited = true;
	}
	if (api == NULL)
		server_up();
	if ((exp = calloc(size / 2 + 2, sizeof(*exp))) == NULL)
		abort();
	n = expectations((const char *)data, size, &w, exp, &locked);
	/* The last newline is exchange's; a token may make a line too long. */
	if (n <= MAX_REQUESTS && w.len > 0 && w.len - 1 <=
	    SUPPORTVPN_API_MAX_LINE) {
		next_uid++;
		exchange((uint8_t *)w.buf, w.len - 1, exp, n, false);
		next_uid++;
		exchange((uint8_t *)w.buf, w.len - 1, exp, n, true);
		if (locked)
			server_down();
	}
	for (i = 0; i < n; i++)
		json_decref(exp[i].id);
	free(exp);
	free(w.buf);
	return 0;
}
