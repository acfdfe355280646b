/* SPDX-License-Identifier: MIT */
/* Unit tests: API request validation, answer encoding, read-only commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_rocmd),
	};

	return cmocka_run_group_tests_name("api_req", tests, NULL, NULL);
}
