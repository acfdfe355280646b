/* SPDX-License-Identifier: MIT */
/* JSON API request validation and answer encoding. Pure; never logs. */
#define _DEFAULT_SOURCE	/* explicit_bzero */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>

#include "api_req.h"

static const char *const event_names[API_EV_COUNT] = {
	"state", "checks", "openvpn", "peer", "log", "session",
};

/*
 * Each command says whether it changes anything (API_CHANGES: it needs
 * the API token) or only reads (API_READS). A new command must choose.
 */
enum access { API_READS, API_CHANGES };

struct cmd_spec {
	const char	*name;
	enum api_cmd	 cmd;
	enum access	 access;
	const char	*args[6];	/* allowed argument names */
};

static const struct cmd_spec cmds[] = {
	{ "status", API_CMD_STATUS, API_READS, { NULL } },
	{ "start", API_CMD_START, API_CHANGES, { "when_possible", "wait",
	    "timeout_s", "duration_s", "by", NULL } },
	{ "stop", API_CMD_STOP, API_CHANGES, { "by", NULL } },
	{ "extend", API_CMD_EXTEND, API_CHANGES, { "duration_s", "by",
	    NULL } },
	{ "history", API_CMD_HISTORY, API_READS, { "limit", NULL } },
	/* A login moves the lock-out and writes the history; and no
	 * token, no password oracle. */
	{ "auth", API_CMD_AUTH, API_CHANGES, { "user", "password", "from",
	    NULL } },
	{ "subscribe", API_CMD_SUBSCRIBE, API_READS, { "events", NULL } },
	{ "log", API_CMD_LOG, API_READS, { "lines", NULL } },
	{ "version", API_CMD_VERSION, API_READS, { NULL } },
	/* Only commands that read pass rocmd_check. */
	{ "openvpn", API_CMD_OPENVPN, API_READS, { "command", NULL } },
	/* A refresh measures again and joins a run in progress; it
	 * changes nothing the owner decided. */
	{ "checks", API_CMD_CHECKS, API_READS, { "refresh", NULL } },
};

int
api_event_parse(const char *name)
{
	int i;

	for (i = 0; i < API_EV_COUNT; i++)
		if (strcmp(name, event_names[i]) == 0)
			return i;
	return -1;
}

const char *
api_event_name(enum api_event e)
{
	return (unsigned)e < API_EV_COUNT ? event_names[e] : "?";
}

static int
fail(struct api_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct api_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int
get_bool(json_t *root, const char *key, bool *out, struct api_error *err)
{
	json_t *v = json_object_get(root, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return fail(err, "bad_argument", "'%s' must be true or false",
		    key);
	*out = json_is_true(v);
	return 0;
}

static int
get_uint(json_t *root, const char *key, unsigned lo, unsigned hi,
    unsigned *out, struct api_error *err)
{
	json_t *v = json_object_get(root, key);
	double d;

	if (v == NULL)
		return 0;
	if (json_is_integer(v))
		d = (double)json_integer_value(v);
	else if (json_is_real(v))
		d = json_real_value(v);
	else
		return fail(err, "bad_argument", "'%s' must be a number", key);
	if (!(d >= lo && d <= hi) || (json_is_real(v) && d != (double)(long)d))
		return fail(err, "bad_argument", "'%s' must be a whole number "
		    "from %u to %u", key, lo, hi);
	*out = (unsigned)d;
	return 0;
}

static int
get_events(json_t *root, unsigned *out, struct api_error *err)
{
	json_t *v = json_object_get(root, "events"), *e;
	size_t i;
	int ev;

	*out = API_EV_ALL;
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return fail(err, "bad_argument", "'events' must be a list of "
		    "event names");
	*out = 0;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) ||
		    (ev = api_event_parse(json_string_value(e))) < 0)
			return fail(err, "bad_argument", "'events' holds an "
			    "unknown event; known: state, checks, openvpn, "
			    "peer, log, session");
		*out |= 1u << ev;
	}
	return 0;
}

/* A string argument without NUL; *out borrowed. Absent: 0, *out NULL. */
static int
get_str(json_t *root, const char *key, size_t max, const char **out,
    struct api_error *err)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return fail(err, "bad_argument", "'%s' must be a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(err, "bad_argument", "'%s' must not hold a NUL",
		    key);
	if (json_string_length(v) > max)
		return fail(err, "bad_argument", "'%s' is longer than %zu "
		    "bytes", key, max);
	*out = json_string_value(v);
	return 0;
}

static int
get_by(json_t *root, struct api_request *req, struct api_error *err)
{
	const char *s, *p;

	if (get_str(root, "by", API_BY_MAX, &s, err) < 0)
		return -1;
	if (s == NULL)
		return 0;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(err, "bad_argument", "'by' must not hold "
			    "control characters");
	memcpy(req->by, s, strlen(s) + 1);
	return 0;
}

static int
get_duration(json_t *root, struct api_request *req, struct api_error *err)
{
	unsigned d = 0;

	req->duration_s = -1;
	if (json_object_get(root, "duration_s") == NULL)
		return 0;
	if (get_uint(root, "duration_s", 0, API_DURATION_MAX, &d, err) < 0)
		return -1;
	req->duration_s = (long)d;
	return 0;
}

static int
get_auth(json_t *root, struct api_request *req, struct api_error *err)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (get_str(root, "user", 256, &req->user, err) < 0 ||
	    get_str(root, "password", 4096, &req->password, err) < 0 ||
	    get_str(root, "from", 64, &req->from, err) < 0)
		return -1;
	if (req->user == NULL || req->password == NULL)
		return fail(err, "bad_argument", "'auth' needs 'user' and "
		    "'password'");
	if (req->from != NULL && inet_pton(AF_INET, req->from, buf) != 1 &&
	    inet_pton(AF_INET6, req->from, buf) != 1)
		return fail(err, "bad_argument", "'from' must be an IP "
		    "address such as \"10.8.0.6\"");
	return 0;
}

static int
check_args(json_t *root, const struct cmd_spec *spec, struct api_error *err)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(root, key, v) {
		bool known = strcmp(key, "id") == 0 ||
		    strcmp(key, "cmd") == 0 || strcmp(key, "token") == 0;

		for (i = 0; !known && spec->args[i] != NULL; i++)
			known = strcmp(key, spec->args[i]) == 0;
		if (!known)
			return fail(err, "bad_argument", "'%.64s' is not an "
			    "argument of '%s'", key, spec->name);
	}
	return 0;
}

static int
parse_args(json_t *root, struct api_request *req, struct api_error *err)
{
	json_t *c;

	switch (req->cmd) {
	case API_CMD_START:
		req->timeout_s = API_START_TIMEOUT_DEFAULT;
		if (get_bool(root, "when_possible", &req->when_possible,
		    err) < 0 || get_bool(root, "wait", &req->wait, err) < 0 ||
		    get_uint(root, "timeout_s", 1, 3600, &req->timeout_s,
		    err) < 0 || get_duration(root, req, err) < 0)
			return -1;
		return get_by(root, req, err);
	case API_CMD_STOP:
		return get_by(root, req, err);
	case API_CMD_EXTEND:
		if (get_duration(root, req, err) < 0)
			return -1;
		return get_by(root, req, err);
	case API_CMD_HISTORY:
		req->lines = API_HISTORY_DEFAULT;
		return get_uint(root, "limit", 1, API_HISTORY_MAX, &req->lines,
		    err);
	case API_CMD_AUTH:
		return get_auth(root, req, err);
	case API_CMD_SUBSCRIBE:
		return get_events(root, &req->events, err);
	case API_CMD_CHECKS:
		return get_bool(root, "refresh", &req->refresh, err);
	case API_CMD_LOG:
		req->lines = API_LOG_LINES_DEFAULT;
		return get_uint(root, "lines", 1, API_LOG_LINES_MAX,
		    &req->lines, err);
	case API_CMD_OPENVPN:
		c = json_object_get(root, "command");
		if (!json_is_string(c))
			return fail(err, "bad_argument", "'command' must be a "
			    "string such as \"status\"");
		if (json_string_length(c) >= sizeof(req->command) ||
		    strlen(json_string_value(c)) != json_string_length(c))
			return fail(err, "bad_argument", "'command' is too long"
			    " or holds a NUL");
		memcpy(req->command, json_string_value(c),
		    json_string_length(c) + 1);
		return 0;
	default:
		return 0;
	}
}

int
api_request_parse(const char *line, size_t len, struct api_request *req,
    struct api_error *err)
{
	json_error_t jerr;
	json_t *c;
	const char *name;
	size_t i;

	memset(req, 0, sizeof(*req));
	memset(err, 0, sizeof(*err));
	req->duration_s = -1;
	req->root = json_loadb(line, len,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (req->root == NULL) {
		/* jansson quotes the text "near" the error: that may be a
		 * password, and this message is logged. Only the reason. */
		char *near = strstr(jerr.text, " near ");

		if (near != NULL)
			*near = '\0';
		return fail(err, "bad_request", "not JSON: %s (column %d)",
		    jerr.text, jerr.column);
	}
	if (!json_is_object(req->root))
		return fail(err, "bad_request", "a request must be a JSON "
		    "object such as {\"cmd\": \"status\"}");
	req->id = json_object_get(req->root, "id");
	c = json_object_get(req->root, "cmd");
	if (c == NULL)
		return fail(err, "bad_request", "'cmd' is missing");
	if (!json_is_string(c))
		return fail(err, "bad_request", "'cmd' must be a string");
	name = json_string_value(c);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(name, cmds[i].name) != 0)
			continue;
		req->cmd = cmds[i].cmd;
		req->name = cmds[i].name;
		req->changes = cmds[i].access == API_CHANGES;
		if (check_args(req->root, &cmds[i], err) < 0 ||
		    get_str(req->root, "token", API_TOKEN_MAX, &req->token,
		    err) < 0)
			return -1;
		if (req->token != NULL)
			req->token_len = strlen(req->token);
		return parse_args(req->root, req, err);
	}
	return fail(err, "unknown_command", "unknown command '%.64s'; known: "
	    "status, start, stop, extend, checks, subscribe, log, history, "
	    "auth, version, openvpn",
	    name);
}

/* Overwrites the string member key of root, if there is one. */
static void
wipe_member(json_t *root, const char *key)
{
	json_t *v;

	if (root != NULL && (v = json_object_get(root, key)) != NULL &&
	    json_is_string(v))
		explicit_bzero((char *)(uintptr_t)json_string_value(v),
		    json_string_length(v));
}

void
api_request_clear(struct api_request *req)
{
	/* The one copy of a secret we own outlives no request. */
	wipe_member(req->root, "password");
	wipe_member(req->root, "token");
	req->password = NULL;
	req->token = NULL;
	req->token_len = 0;
	json_decref(req->root);
	req->root = NULL;
	req->id = NULL;
}

static char *
dump_line(json_t *obj)
{
	char *s, *line;
	size_t n;

	if (obj == NULL)
		return NULL;
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s == NULL)
		return NULL;
	n = strlen(s);
	if ((line = realloc(s, n + 2)) == NULL) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

char *
api_answer_ok(json_t *id, json_t *result)
{
	json_t *o;

	if (result == NULL)
		return NULL;
	o = json_pack("{s:b, s:o}", "ok", 1, "result", result);
	if (o != NULL && id != NULL)
		json_object_set(o, "id", id);
	return dump_line(o);
}

char *
api_answer_error(json_t *id, const char *code, const char *message)
{
	json_t *o;

	o = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code,
	    "message", message);
	if (o != NULL && id != NULL)
		json_object_set(o, "id", id);
	return dump_line(o);
}

char *
api_event_line(const char *name, const char *time, json_t *fields)
{
	json_t *o;

	o = json_pack("{s:s, s:s}", "event", name, "time", time);
	if (o == NULL || fields == NULL || json_object_update(o, fields) < 0) {
		json_decref(o);
		json_decref(fields);
		return NULL;
	}
	json_decref(fields);
	return dump_line(o);
}
