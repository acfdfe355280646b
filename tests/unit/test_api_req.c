/* SPDX-License-Identifier: MIT */
/* Unit tests: API request validation, answer encoding, read-only commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api_req.h"
#include "rocmd.h"

static int
parse(const char *line, struct api_request *req, struct api_error *err)
{
	return api_request_parse(line, strlen(line), req, err);
}

static void
test_valid(void **state)
{
	struct api_request req;
	struct api_error err;

	assert_int_equal(parse("{\"cmd\":\"status\"}", &req, &err), 0);
	assert_int_equal(req.cmd, API_CMD_STATUS);
	assert_null(req.id);
	api_request_clear(&req);

	assert_int_equal(parse("{\"id\":[1,\"x\"],\"cmd\":\"start\","
	    "\"wait\":true,\"when_possible\":false,\"timeout_s\":30}", &req,
	    &err), 0);
	assert_int_equal(req.cmd, API_CMD_START);
	assert_true(req.wait);
	assert_false(req.when_possible);
	assert_int_equal(req.timeout_s, 30);
	assert_true(json_is_array(req.id));
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"start\"}", &req, &err), 0);
	assert_int_equal(req.timeout_s, API_START_TIMEOUT_DEFAULT);
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"subscribe\",\"events\":[\"state\","
	    "\"log\"]}", &req, &err), 0);
	assert_int_equal(req.events, (1u << API_EV_STATE) | (1u << API_EV_LOG));
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"subscribe\"}", &req, &err), 0);
	assert_int_equal(req.events, API_EV_ALL);
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"log\",\"lines\":5}", &req, &err),
	    0);
	assert_int_equal(req.lines, 5);
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"checks\",\"refresh\":true}", &req,
	    &err), 0);
	assert_int_equal(req.cmd, API_CMD_CHECKS);
	assert_true(req.refresh);
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"openvpn\",\"command\":\"state "
	    "all\"}", &req, &err), 0);
	assert_string_equal(req.command, "state all");
	api_request_clear(&req);
}

struct bad {
	const char *line;
	const char *code;
	const char *words;
	bool has_id;
};

static void
test_invalid(void **state)
{
	static const struct bad cases[] = {
		{ "garbage", "bad_request", "not JSON", false },
		{ "", "bad_request", "not JSON", false },
		{ "[1,2]", "bad_request", "JSON object", false },
		{ "\"status\"", "bad_request", "JSON object", false },
		{ "{\"id\":7}", "bad_request", "'cmd' is missing", true },
		{ "{\"id\":7,\"cmd\":5}", "bad_request", "must be a string",
		    true },
		{ "{\"id\":7,\"cmd\":\"reboot\"}", "unknown_command", "reboot",
		    true },
		{ "{\"cmd\":\"start\",\"wait\":\"yes\"}", "bad_argument",
		    "'wait'", false },
		{ "{\"cmd\":\"start\",\"timeout_s\":0}", "bad_argument",
		    "'timeout_s'", false },
		{ "{\"cmd\":\"start\",\"timeout_s\":1.5}", "bad_argument",
		    "'timeout_s'", false },
		{ "{\"cmd\":\"start\",\"timeout_s\":99999}", "bad_argument",
		    "'timeout_s'", false },
		{ "{\"cmd\":\"start\",\"force\":true}", "bad_argument",
		    "'force'", false },
		{ "{\"cmd\":\"status\",\"verbose\":1}", "bad_argument",
		    "'verbose'", false },
		{ "{\"cmd\":\"log\",\"lines\":-1}", "bad_argument", "'lines'",
		    false },
		{ "{\"cmd\":\"log\",\"lines\":1001}", "bad_argument",
		    "'lines'", false },
		{ "{\"cmd\":\"subscribe\",\"events\":\"state\"}",
		    "bad_argument", "'events'", false },
		{ "{\"cmd\":\"subscribe\",\"events\":[\"nope\"]}",
		    "bad_argument", "unknown event", false },
		{ "{\"cmd\":\"openvpn\"}", "bad_argument", "'command'", false },
		{ "{\"cmd\":\"checks\",\"refresh\":1}", "bad_argument",
		    "'refresh'", false },
		{ "{\"cmd\":\"openvpn\",\"command\":[1]}", "bad_argument",
		    "'command'", false },
		{ "{\"cmd\":\"status\",\"cmd\":\"stop\"}", "bad_request",
		    "not JSON", false },
		{ "{\"cmd\":\"status\"} {\"cmd\":\"stop\"}", "bad_request",
		    "not JSON", false },
	};
	struct api_request req;
	struct api_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(cases[i].line, &req, &err) != -1)
			fail_msg("case %zu accepted: %s", i, cases[i].line);
		assert_string_equal(err.code, cases[i].code);
		if (strstr(err.message, cases[i].words) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err.message,
			    cases[i].words);
		assert_int_equal(req.id != NULL, cases[i].has_id);
		api_request_clear(&req);
	}
}

static void
test_embedded_nul(void **state)
{
	static const char line[] = "{\"cmd\":\"status\"}\0garbage";
	struct api_request req;
	struct api_error err;

	/* The whole line counts, not just up to a NUL byte. */
	assert_int_equal(api_request_parse(line, sizeof(line) - 1, &req,
	    &err), -1);
	api_request_clear(&req);
}

/* One line that must be refused as bad_argument, naming key in the message. */
static void
expect_bad_arg(const char *line, const char *key)
{
	struct api_request req;
	struct api_error err;

	if (parse(line, &req, &err) != -1)
		fail_msg("accepted: %s", line);
	assert_string_equal(err.code, "bad_argument");
	if (strstr(err.message, key) == NULL)
		fail_msg("'%s' lacks '%s' (line %s)", err.message, key, line);
	api_request_clear(&req);
}

/*
 * A string holding \u0000: jansson refuses it while decoding (no
 * JSON_ALLOW_NUL), so the whole line is bad_request before any argument
 * is looked at.
 */
static void
expect_nul_refused(const char *line)
{
	struct api_request req;
	struct api_error err;

	if (parse(line, &req, &err) != -1)
		fail_msg("accepted: %s", line);
	assert_string_equal(err.code, "bad_request");
	assert_null(req.root);
	assert_null(req.user);
	assert_null(req.password);
	assert_string_equal(req.by, "");
	api_request_clear(&req);
}

/* {"cmd":cmd,"by":"<n times c>"}; new string. */
static char *
by_line(const char *cmd, size_t n, char c)
{
	size_t len = strlen(cmd) + n + 32;
	char *s = malloc(len), *p;

	assert_non_null(s);
	p = s + snprintf(s, len, "{\"cmd\":\"%s\",\"by\":\"", cmd);
	memset(p, c, n);
	strcpy(p + n, "\"}");
	return s;
}

static void
test_start_duration(void **state)
{
	static const char *const bad[] = { "-1", "1.5", "\"1h\"", "true",
	    "null", "31622401", "1e12" };
	struct api_request req;
	struct api_error err;
	char line[128];
	size_t i;

	assert_int_equal(parse("{\"cmd\":\"start\"}", &req, &err), 0);
	assert_int_equal(req.duration_s, -1);
	assert_string_equal(req.by, "");
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"start\",\"duration_s\":0}", &req,
	    &err), 0);
	assert_int_equal(req.duration_s, 0);
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"start\",\"duration_s\":3600,"
	    "\"wait\":true}", &req, &err), 0);
	assert_int_equal(req.cmd, API_CMD_START);
	assert_int_equal(req.duration_s, 3600);
	assert_true(req.wait);
	assert_int_equal(req.timeout_s, API_START_TIMEOUT_DEFAULT);
	api_request_clear(&req);

	/* The bound itself is allowed, one second more is not. */
	snprintf(line, sizeof(line), "{\"cmd\":\"start\",\"duration_s\":%d}",
	    API_DURATION_MAX);
	assert_int_equal(parse(line, &req, &err), 0);
	assert_int_equal(req.duration_s, 366L * 86400);
	api_request_clear(&req);
	assert_int_equal(API_DURATION_MAX + 1, 31622401);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"start\","
		    "\"duration_s\":%s}", bad[i]);
		expect_bad_arg(line, "'duration_s'");
	}
}

static void
test_by(void **state)
{
	static const char *const cmds[] = { "start", "stop", "extend" };
	struct api_request req;
	struct api_error err;
	char *line;
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		/* 64 bytes fit; the copy is whole and terminated. */
		line = by_line(cmds[i], API_BY_MAX, 'a');
		assert_int_equal(parse(line, &req, &err), 0);
		assert_int_equal(strlen(req.by), API_BY_MAX);
		assert_int_equal(req.by[0], 'a');
		assert_int_equal(req.by[API_BY_MAX - 1], 'a');
		api_request_clear(&req);
		free(line);

		line = by_line(cmds[i], API_BY_MAX + 1, 'a');
		expect_bad_arg(line, "'by'");
		free(line);
	}

	assert_int_equal(parse("{\"cmd\":\"start\",\"by\":\"Jos\xc3\xa9 "
	    "(helpdesk)\"}", &req, &err), 0);
	assert_string_equal(req.by, "Jos\xc3\xa9 (helpdesk)");
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"stop\",\"by\":\"alice\"}", &req,
	    &err), 0);
	assert_int_equal(req.cmd, API_CMD_STOP);
	assert_string_equal(req.by, "alice");
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"stop\"}", &req, &err), 0);
	assert_string_equal(req.by, "");
	api_request_clear(&req);

	expect_bad_arg("{\"cmd\":\"start\",\"by\":5}", "'by'");
	expect_bad_arg("{\"cmd\":\"start\",\"by\":[\"a\"]}", "'by'");
	expect_bad_arg("{\"cmd\":\"start\",\"by\":null}", "'by'");
	expect_bad_arg("{\"cmd\":\"start\",\"by\":\"a\\u0001b\"}", "'by'");
	expect_bad_arg("{\"cmd\":\"start\",\"by\":\"a\\nb\"}", "'by'");
	expect_bad_arg("{\"cmd\":\"start\",\"by\":\"a\\u007fb\"}", "'by'");
	expect_nul_refused("{\"cmd\":\"stop\",\"by\":\"a\\u0000b\"}");
	expect_nul_refused("{\"cmd\":\"extend\",\"by\":\"\\u0000\"}");
}

static void
test_stop_extend(void **state)
{
	struct api_request req;
	struct api_error err;

	assert_int_equal(parse("{\"id\":3,\"cmd\":\"extend\","
	    "\"duration_s\":1800,\"by\":\"bob\"}", &req, &err), 0);
	assert_int_equal(req.cmd, API_CMD_EXTEND);
	assert_int_equal(req.duration_s, 1800);
	assert_string_equal(req.by, "bob");
	assert_int_equal(json_integer_value(req.id), 3);
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"extend\"}", &req, &err), 0);
	assert_int_equal(req.cmd, API_CMD_EXTEND);
	assert_int_equal(req.duration_s, -1);
	assert_string_equal(req.by, "");
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"extend\",\"duration_s\":0}", &req,
	    &err), 0);
	assert_int_equal(req.duration_s, 0);
	api_request_clear(&req);

	expect_bad_arg("{\"cmd\":\"extend\",\"duration_s\":-1}",
	    "'duration_s'");
	expect_bad_arg("{\"cmd\":\"extend\",\"duration_s\":31622401}",
	    "'duration_s'");
	expect_bad_arg("{\"cmd\":\"extend\",\"duration_s\":\"1h\"}",
	    "'duration_s'");
	expect_bad_arg("{\"cmd\":\"extend\",\"by\":7}", "'by'");

	/* Each command takes only its own arguments. */
	expect_bad_arg("{\"cmd\":\"stop\",\"duration_s\":60}", "'duration_s'");
	expect_bad_arg("{\"cmd\":\"stop\",\"force\":true}", "'force'");
	expect_bad_arg("{\"cmd\":\"extend\",\"wait\":true}", "'wait'");
	expect_bad_arg("{\"cmd\":\"extend\",\"timeout_s\":5}", "'timeout_s'");
	expect_bad_arg("{\"cmd\":\"start\",\"limit\":5}", "'limit'");
	expect_bad_arg("{\"cmd\":\"status\",\"by\":\"x\"}", "'by'");
	expect_bad_arg("{\"cmd\":\"history\",\"lines\":5}", "'lines'");
	expect_bad_arg("{\"cmd\":\"auth\",\"user\":\"u\",\"password\":\"p\","
	    "\"by\":\"x\"}", "'by'");
}

static void
test_history(void **state)
{
	struct api_request req;
	struct api_error err;

	assert_int_equal(parse("{\"cmd\":\"history\"}", &req, &err), 0);
	assert_int_equal(req.cmd, API_CMD_HISTORY);
	assert_int_equal(req.lines, API_HISTORY_DEFAULT);
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"history\",\"limit\":1}", &req,
	    &err), 0);
	assert_int_equal(req.lines, 1);
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"history\",\"limit\":1000}", &req,
	    &err), 0);
	assert_int_equal(req.lines, API_HISTORY_MAX);
	api_request_clear(&req);

	expect_bad_arg("{\"cmd\":\"history\",\"limit\":0}", "'limit'");
	expect_bad_arg("{\"cmd\":\"history\",\"limit\":1001}", "'limit'");
	expect_bad_arg("{\"cmd\":\"history\",\"limit\":-5}", "'limit'");
	expect_bad_arg("{\"cmd\":\"history\",\"limit\":\"10\"}", "'limit'");
}

static void
test_auth(void **state)
{
	static const char *const from_ok[] = { "10.8.0.6", "fd00::1" };
	static const char *const from_bad[] = { "not-an-ip", "10.8.0.256",
	    "", "10.8.0.6 ", "10.8.0.6/32" };
	struct api_request req;
	struct api_error err;
	char line[128], *big;
	size_t i, n;

	assert_int_equal(parse("{\"cmd\":\"auth\",\"user\":\"support\","
	    "\"password\":\"s3cret\"}", &req, &err), 0);
	assert_int_equal(req.cmd, API_CMD_AUTH);
	assert_string_equal(req.user, "support");
	assert_string_equal(req.password, "s3cret");
	assert_null(req.from);
	/* Borrowed from the request's own JSON, not copies. */
	assert_ptr_equal(req.user, json_string_value(json_object_get(req.root,
	    "user")));
	assert_ptr_equal(req.password, json_string_value(json_object_get(
	    req.root, "password")));
	api_request_clear(&req);
	assert_null(req.password);
	assert_null(req.root);

	for (i = 0; i < sizeof(from_ok) / sizeof(from_ok[0]); i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"auth\",\"user\":\"u\","
		    "\"password\":\"p\",\"from\":\"%s\"}", from_ok[i]);
		assert_int_equal(parse(line, &req, &err), 0);
		assert_non_null(req.from);
		assert_string_equal(req.from, from_ok[i]);
		assert_ptr_equal(req.from, json_string_value(json_object_get(
		    req.root, "from")));
		api_request_clear(&req);
	}
	for (i = 0; i < sizeof(from_bad) / sizeof(from_bad[0]); i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"auth\",\"user\":\"u\","
		    "\"password\":\"p\",\"from\":\"%s\"}", from_bad[i]);
		expect_bad_arg(line, "'from'");
	}
	expect_bad_arg("{\"cmd\":\"auth\",\"user\":\"u\",\"password\":\"p\","
	    "\"from\":167772166}", "'from'");

	expect_bad_arg("{\"cmd\":\"auth\"}", "'password'");
	expect_bad_arg("{\"cmd\":\"auth\",\"user\":\"u\"}", "'password'");
	expect_bad_arg("{\"cmd\":\"auth\",\"password\":\"p\"}", "'user'");
	expect_bad_arg("{\"cmd\":\"auth\",\"user\":1,\"password\":\"p\"}",
	    "'user'");
	expect_bad_arg("{\"cmd\":\"auth\",\"user\":\"u\",\"password\":null}",
	    "'password'");
	expect_bad_arg("{\"cmd\":\"auth\",\"user\":\"u\",\"password\":[\"p\"]}",
	    "'password'");
	expect_nul_refused("{\"cmd\":\"auth\",\"user\":\"u\\u0000x\","
	    "\"password\":\"p\"}");
	expect_nul_refused("{\"cmd\":\"auth\",\"user\":\"u\","
	    "\"password\":\"p\\u0000x\"}");
	expect_nul_refused("{\"cmd\":\"auth\",\"user\":\"u\","
	    "\"password\":\"\\u0000\"}");

	/* 4096 bytes of password are allowed, 4097 are not. */
	for (n = 4096; n <= 4097; n++) {
		size_t len = n + 64;

		big = malloc(len);
		assert_non_null(big);
		i = (size_t)snprintf(big, len, "{\"cmd\":\"auth\",\"user\":"
		    "\"u\",\"password\":\"");
		memset(big + i, 'x', n);
		strcpy(big + i + n, "\"}");
		if (n == 4096) {
			assert_int_equal(parse(big, &req, &err), 0);
			assert_int_equal(strlen(req.password), 4096);
			api_request_clear(&req);
		} else
			expect_bad_arg(big, "'password'");
		free(big);
	}
}

/* Parses line, clears the request and checks its password bytes are 0. */
static void
expect_wiped(const char *line, int parse_rc, size_t pw_len)
{
	struct api_request req;
	struct api_error err;
	json_t *root, *pw;
	const char *s;
	size_t i;

	assert_int_equal(parse(line, &req, &err), parse_rc);
	root = req.root;
	pw = json_object_get(root, "password");
	assert_non_null(pw);
	assert_int_equal(json_string_length(pw), pw_len);
	/* Keep the JSON alive past the clear to look at what it left. */
	json_incref(root);
	api_request_clear(&req);
	assert_null(req.root);
	assert_null(req.password);
	s = json_string_value(pw);
	for (i = 0; i < pw_len; i++)
		if (s[i] != '\0')
			fail_msg("password byte %zu not wiped: 0x%02x", i,
			    (unsigned char)s[i]);
	json_decref(root);
}

static void
test_clear_wipes_password(void **state)
{
	expect_wiped("{\"cmd\":\"auth\",\"user\":\"u\","
	    "\"password\":\"correct horse\"}", 0, 13);
	/* A refused request's password is wiped as well. */
	expect_wiped("{\"cmd\":\"auth\",\"user\":\"u\",\"password\":\"hunter2\","
	    "\"from\":\"nowhere\"}", -1, 7);
	expect_wiped("{\"cmd\":\"auth\",\"password\":\"hunter2\"}", -1, 7);
	expect_wiped("{\"cmd\":\"auth\",\"user\":7,"
	    "\"password\":\"hunter2\"}", -1, 7);
}

/* The token: any command may carry one; which commands need it. */
static void
test_token(void **state)
{
	static const struct {
		const char	*cmd;
		bool		 changes;
	} cmds[] = {
		{ "status", false }, { "start", true }, { "stop", true },
		{ "extend", true }, { "history", false }, { "subscribe", false },
		{ "log", false }, { "version", false }, { "checks", false },
	};
	struct api_request req;
	struct api_error err;
	char line[512], big[400];
	json_t *root, *tok;
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"%s\"}", cmds[i].cmd);
		assert_int_equal(parse(line, &req, &err), 0);
		assert_int_equal(req.changes, cmds[i].changes);
		assert_string_equal(req.name, cmds[i].cmd);
		assert_null(req.token);
		api_request_clear(&req);
		snprintf(line, sizeof(line), "{\"cmd\":\"%s\",\"token\":"
		    "\"abc\"}", cmds[i].cmd);
		assert_int_equal(parse(line, &req, &err), 0);
		assert_string_equal(req.token, "abc");
		assert_int_equal(req.token_len, 3);
		api_request_clear(&req);
	}
	assert_int_equal(parse("{\"cmd\":\"auth\",\"user\":\"u\","
	    "\"password\":\"p\",\"token\":\"t\"}", &req, &err), 0);
	assert_true(req.changes);
	api_request_clear(&req);
	assert_int_equal(parse("{\"cmd\":\"openvpn\",\"command\":\"state\","
	    "\"token\":\"\"}", &req, &err), 0);
	assert_false(req.changes);
	assert_string_equal(req.token, "");
	api_request_clear(&req);

	/* Not a string, too long: bad_argument naming it. */
	assert_int_equal(parse("{\"id\":1,\"cmd\":\"stop\",\"token\":5}",
	    &req, &err), -1);
	assert_string_equal(err.code, "bad_argument");
	assert_non_null(strstr(err.message, "'token'"));
	assert_non_null(req.id);
	api_request_clear(&req);
	/* (jansson refuses a NUL in a string before we see it) */
	assert_int_equal(parse("{\"cmd\":\"stop\",\"token\":\"a\\u0000b\"}",
	    &req, &err), -1);
	assert_string_equal(err.code, "bad_request");
	api_request_clear(&req);
	memset(big, 'a', sizeof(big));
	snprintf(line, sizeof(line), "{\"cmd\":\"stop\",\"token\":\"%.*s\"}",
	    API_TOKEN_MAX + 1, big);
	assert_int_equal(parse(line, &req, &err), -1);
	assert_non_null(strstr(err.message, "'token' is longer"));
	api_request_clear(&req);
	snprintf(line, sizeof(line), "{\"cmd\":\"stop\",\"token\":\"%.*s\"}",
	    API_TOKEN_MAX, big);
	assert_int_equal(parse(line, &req, &err), 0);
	api_request_clear(&req);

	/* The request's copy is wiped with it. */
	assert_int_equal(parse("{\"cmd\":\"start\",\"token\":\"s3cret\"}",
	    &req, &err), 0);
	root = json_incref(req.root);
	tok = json_object_get(root, "token");
	api_request_clear(&req);
	assert_null(req.token);
	assert_memory_equal(json_string_value(tok), "\0\0\0\0\0\0", 6);
	json_decref(root);
}

/*
 * Regression: jansson's error text quotes the input "near" the error, and
 * the daemon logs the message: a malformed password ended up in the log.
 */
static void
test_parse_error_hides_input(void **state)
{
	static const char *const lines[] = {
		"{\"cmd\":\"auth\",\"user\":\"u\",\"password\":\"hunter2\\q\"}",
		"{\"cmd\":\"auth\",\"user\":\"u\",\"password\":\"hunter2\x01\"}",
		"{\"cmd\":\"auth\",\"user\":\"u\",\"password\":\"hunter2\xff\"}",
		"{\"cmd\":\"auth\",\"user\":\"u\",\"password\":\"hunter2\\u0000\"}",
		"{\"cmd\":\"auth\",\"password\":\"hunter2",
	};
	struct api_request req;
	struct api_error err;
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(parse(lines[i], &req, &err), -1);
		assert_string_equal(err.code, "bad_request");
		assert_non_null(strstr(err.message, "not JSON"));
		if (strstr(err.message, "hunter2") != NULL)
			fail_msg("line %zu: the message quotes the input: %s",
			    i, err.message);
		api_request_clear(&req);
	}
}

static void
test_session_events(void **state)
{
	struct api_request req;
	struct api_error err;

	assert_int_equal(api_event_parse("session"), API_EV_SESSION);
	assert_string_equal(api_event_name(API_EV_SESSION), "session");
	assert_int_equal(api_event_parse("sessions"), -1);
	assert_true(API_EV_ALL & (1u << API_EV_SESSION));

	assert_int_equal(parse("{\"cmd\":\"subscribe\",\"events\":"
	    "[\"session\"]}", &req, &err), 0);
	assert_int_equal(req.events, 1u << API_EV_SESSION);
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"subscribe\",\"events\":"
	    "[\"state\",\"session\"]}", &req, &err), 0);
	assert_int_equal(req.events, (1u << API_EV_STATE) |
	    (1u << API_EV_SESSION));
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"subscribe\",\"events\":[\"x\"]}",
	    &req, &err), -1);
	assert_non_null(strstr(err.message, "session"));
	api_request_clear(&req);

	assert_int_equal(parse("{\"cmd\":\"shutdown\"}", &req, &err), -1);
	assert_string_equal(err.code, "unknown_command");
	assert_non_null(strstr(err.message, "extend"));
	assert_non_null(strstr(err.message, "history"));
	assert_non_null(strstr(err.message, "auth"));
	api_request_clear(&req);
}

static void
test_answers(void **state)
{
	json_t *id = json_integer(42), *back;
	json_error_t jerr;
	char *s;

	s = api_answer_ok(id, json_pack("{s:s}", "vpn", "stopped"));
	assert_non_null(s);
	assert_int_equal(s[strlen(s) - 1], '\n');
	assert_null(strchr(s, '\n') != s + strlen(s) - 1 ? s : NULL);
	back = json_loads(s, 0, &jerr);
	assert_non_null(back);
	assert_true(json_is_true(json_object_get(back, "ok")));
	assert_int_equal(json_integer_value(json_object_get(back, "id")), 42);
	json_decref(back);
	free(s);

	s = api_answer_error(NULL, "busy", "too many \"quotes\"\n");
	back = json_loads(s, 0, &jerr);
	assert_non_null(back);
	assert_null(json_object_get(back, "id"));
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(back, "error"), "code")), "busy");
	json_decref(back);
	free(s);

	s = api_event_line("state", "2026-11-27T00:00:00.000Z",
	    json_pack("{s:s}", "vpn", "connected"));
	back = json_loads(s, 0, &jerr);
	assert_string_equal(json_string_value(json_object_get(back, "event")),
	    "state");
	assert_string_equal(json_string_value(json_object_get(back, "vpn")),
	    "connected");
	json_decref(back);
	free(s);
	json_decref(id);
}

static void
test_rocmd(void **state)
{
	static const char *const ok[] = { "status", "status 2", "state",
	    "state all", "state 5", "log 20", "log all", "version", "pid",
	    "help", "  pid  " };
	static const char *const refused[] = { "hold release", "hold",
	    "signal SIGTERM", "state on", "log on", "log off all",
	    "version 3", "remote ACCEPT", "bytecount 1", "status 4",
	    "state -1", "log 0", "pid 1", "", "exit", "username Auth x",
	    "kill 1.2.3.4:5" };
	char norm[256], why[512];
	enum mgmt_expect e;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (rocmd_check(ok[i], norm, sizeof(norm), &e, why,
		    sizeof(why)) != 0)
			fail_msg("'%s' refused: %s", ok[i], why);
	assert_int_equal(rocmd_check("  pid  ", norm, sizeof(norm), &e, why,
	    sizeof(why)), 0);
	assert_string_equal(norm, "pid");
	assert_int_equal(e, MGMT_EXPECT_LINE);
	assert_int_equal(rocmd_check("state  all", norm, sizeof(norm), &e,
	    why, sizeof(why)), 0);
	assert_string_equal(norm, "state all");
	assert_int_equal(e, MGMT_EXPECT_BLOCK);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (rocmd_check(refused[i], norm, sizeof(norm), &e, why,
		    sizeof(why)) == 0)
			fail_msg("'%s' allowed", refused[i]);
	}
	assert_int_equal(rocmd_check("hold release", norm, sizeof(norm), &e,
	    why, sizeof(why)), -1);
	assert_non_null(strstr(why, "supportvpnd"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_start_duration),
		cmocka_unit_test(test_by),
		cmocka_unit_test(test_stop_extend),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_clear_wipes_password),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_session_events),
		cmocka_unit_test(test_parse_error_hides_input),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_rocmd),
	};

	return cmocka_run_group_tests_name("api_req", tests, NULL, NULL);
}
