/* SPDX-License-Identifier: MIT */
/* Unit tests: controller configuration loading and the client-config check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

static void
test_defaults(void **state)
{
	struct config cfg;
	struct config_error err;

	assert_int_equal(config_load_string(&cfg, "{}", &err), 0);
	assert_string_equal(cfg.api_host, "127.0.0.1");
	assert_int_equal(cfg.api_port, 7515);
	assert_string_equal(cfg.mgmt_sock, "/run/supportvpn/openvpn.sock");
	assert_string_equal(cfg.passthru_sock,
	    "/run/supportvpn/management.sock");
	assert_string_equal(cfg.settings_file,
	    "/var/lib/supportvpn/settings.json");
	assert_int_equal(cfg.checks_timeout_ms, 5000);
	assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
	assert_int_equal(cfg.session_default_s, 86400);
	assert_int_equal(cfg.session_max_s, 604800);
	assert_false(cfg.session_allow_unlimited);
	assert_int_equal(cfg.session_warn_s, 900);
	assert_int_equal(cfg.auth_max_failures, 5);
	assert_int_equal(cfg.auth_window_s, 60);
	assert_int_equal(cfg.auth_lockout_s, 60);
	assert_int_equal(cfg.auth_lockout_max_s, 3600);
	assert_int_equal(cfg.audit_max_bytes, 1048576);
	assert_string_equal(cfg.support_hash_file,
	    "/var/lib/supportvpn/support.hash");
	assert_string_equal(cfg.audit_file, "/var/lib/supportvpn/history.jsonl");
	assert_int_equal(cfg.api_max_clients, 256);
	assert_int_equal(cfg.api_max_subscribers, 64);
	assert_string_equal(cfg.api_token_file, "/var/lib/supportvpn/api.token");
	assert_string_equal(cfg.api_token_group, "");
	assert_int_equal(cfg.state_dir_mode, 0700);
	config_deinit(&cfg);
}

/* api.token_file and api.token_group, and what they do to state_dir. */
static void
test_token_keys(void **state)
{
	struct config cfg;
	struct config_error err;

	/* A group with the file in state_dir: the group must pass it. */
	assert_int_equal(config_load_string(&cfg, "{\"state_dir\":\"/s/\","
	    "\"api\":{\"token_group\":\"www-data\","
	    "\"max_subscribers\":3}}", &err), 0);
	assert_string_equal(cfg.api_token_file, "/s//api.token");
	assert_string_equal(cfg.api_token_group, "www-data");
	assert_int_equal(cfg.state_dir_mode, 0710);
	assert_int_equal(cfg.api_max_subscribers, 3);
	config_deinit(&cfg);

	/* Named in state_dir, by a group number. */
	assert_int_equal(config_load_string(&cfg, "{\"state_dir\":\"/s\","
	    "\"api\":{\"token_group\":\"33\",\"token_file\":"
	    "\"/s/t\"}}", &err), 0);
	assert_int_equal(cfg.state_dir_mode, 0710);
	config_deinit(&cfg);

	/* Elsewhere: state_dir stays private. */
	assert_int_equal(config_load_string(&cfg, "{\"state_dir\":\"/s\","
	    "\"api\":{\"token_group\":\"www-data\",\"token_file\":"
	    "\"/etc/supportvpn/api.token\"}}", &err), 0);
	assert_string_equal(cfg.api_token_file, "/etc/supportvpn/api.token");
	assert_int_equal(cfg.state_dir_mode, 0700);
	config_deinit(&cfg);

	/* A directory whose name starts like state_dir's is not it. */
	assert_int_equal(config_load_string(&cfg, "{\"state_dir\":\"/s\","
	    "\"api\":{\"token_group\":\"g\",\"token_file\":"
	    "\"/s2/api.token\"}}", &err), 0);
	assert_int_equal(cfg.state_dir_mode, 0700);
	config_deinit(&cfg);

	/* No group: nothing to let through. */
	assert_int_equal(config_load_string(&cfg, "{\"state_dir\":\"/s\"}",
	    &err), 0);
	assert_string_equal(cfg.api_token_file, "/s/api.token");
	assert_int_equal(cfg.state_dir_mode, 0700);
	config_deinit(&cfg);
}

static void
test_values(void **state)
{
	struct config cfg;
	struct config_error err;

	assert_int_equal(config_load_string(&cfg, "{\"api\":{\"listen\":"
	    "\"[::1]:9000\"},\"run_dir\":\"/tmp/r\",\"log_level\":\"debug\","
	    "\"openvpn\":{\"plugin\":\"\",\"restart_min_ms\":200},"
	    "\"checks\":{\"interval_s\":5}}", &err), 0);
	assert_string_equal(cfg.api_host, "::1");
	assert_int_equal(cfg.api_port, 9000);
	assert_string_equal(cfg.events_sock, "/tmp/r/events.sock");
	assert_string_equal(cfg.ovpn_plugin, "");
	assert_int_equal(cfg.restart_min_ms, 200);
	assert_int_equal(cfg.checks_interval_s, 5);
	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
	config_deinit(&cfg);
}

struct bad_case {
	const char *json;
	const char *path;	/* the key the error must name */
	const char *words;	/* a fragment of the message */
};

static void
test_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "{\"api\":{\"lisen\":\"x\"}}", "api.lisen", "unknown key" },
		{ "{\"bogus\":1}", "bogus", "unknown key" },
		{ "{\"api\":5}", "api", "must be an object" },
		{ "{\"state_dir\":5}", "state_dir", "must be a string" },
		{ "{\"checks\":{\"timeout_ms\":\"5\"}}", "checks.timeout_ms",
		    "must be an integer" },
		{ "{\"checks\":{\"timeout_ms\":1}}", "checks.timeout_ms",
		    "between" },
		{ "{\"api\":{\"listen\":\"0.0.0.0:7515\"}}", "api.listen",
		    "loopback" },
		{ "{\"api\":{\"listen\":\"192.0.2.1:7515\"}}", "api.listen",
		    "loopback" },
		{ "{\"api\":{\"listen\":\"127.0.0.1\"}}", "api.listen",
		    "must look like" },
		{ "{\"api\":{\"listen\":\"127.0.0.1:70000\"}}", "api.listen",
		    "must look like" },
		{ "{\"log_level\":\"loud\"}", "log_level", "must be one of" },
		{ "{\"run_dir\":\"relative\"}", "run_dir", "absolute" },
		{ "{\"openvpn\":{\"restart_min_ms\":5000,"
		    "\"restart_max_ms\":1000}}", "openvpn.restart_max_ms",
		    "must not be below" },
		{ "{\"openvpn\":{\"binary\":\"\"}}", "openvpn.binary",
		    "must not be empty" },
		{ "{\"api\":{\"token_file\":\"api.token\"}}",
		    "api.token_file", "absolute path" },
		{ "{\"api\":{\"token_file\":\"/var/lib/\"}}",
		    "api.token_file", "of a file" },
		{ "{\"api\":{\"token_file\":5}}", "api.token_file",
		    "must be a string" },
		{ "{\"api\":{\"token_group\":\"web ui\"}}",
		    "api.token_group", "group name or number" },
		{ "{\"api\":{\"token_group\":\"-x\"}}",
		    "api.token_group", "group name or number" },
		{ "{\"api\":{\"token_group\":33}}", "api.token_group",
		    "must be a string" },
		{ "{\"api\":{\"max_subscribers\":0}}",
		    "api.max_subscribers", "between 1 and 4096" },
		{ "{\"api\":{\"token\":\"x\"}}", "api.token",
		    "unknown key" },
	};
	struct config cfg;
	struct config_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(config_load_string(&cfg, cases[i].json,
		    &err), -1);
		assert_string_equal(err.path, cases[i].path);
		if (strstr(err.text, cases[i].words) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err.text,
			    cases[i].words);
		if (strstr(err.text, cases[i].path) == NULL)
			fail_msg("case %zu: '%s' does not name '%s'", i,
			    err.text, cases[i].path);
	}
}

static void
test_session_auth_audit(void **state)
{
	struct config cfg;
	struct config_error err;

	assert_int_equal(config_load_string(&cfg, "{\"state_dir\":\"/tmp/s\","
	    "\"session\":{\"default_s\":3600,\"max_s\":7200,"
	    "\"allow_unlimited\":true,\"warn_s\":120},"
	    "\"auth\":{\"max_failures\":32,\"window_s\":300,"
	    "\"lockout_s\":30,\"lockout_max_s\":30},"
	    "\"audit\":{\"max_bytes\":16384}}", &err), 0);
	assert_int_equal(cfg.session_default_s, 3600);
	assert_int_equal(cfg.session_max_s, 7200);
	assert_true(cfg.session_allow_unlimited);
	assert_int_equal(cfg.session_warn_s, 120);
	assert_int_equal(cfg.auth_max_failures, 32);
	assert_int_equal(cfg.auth_window_s, 300);
	assert_int_equal(cfg.auth_lockout_s, 30);
	assert_int_equal(cfg.auth_lockout_max_s, 30);
	assert_int_equal(cfg.audit_max_bytes, 16384);
	assert_string_equal(cfg.support_hash_file, "/tmp/s/support.hash");
	assert_string_equal(cfg.audit_file, "/tmp/s/history.jsonl");
	assert_string_equal(cfg.settings_file, "/tmp/s/settings.json");
	config_deinit(&cfg);

	/* No end by default is allowed once unlimited sessions are. */
	assert_int_equal(config_load_string(&cfg, "{\"session\":{"
	    "\"allow_unlimited\":true,\"default_s\":0}}", &err), 0);
	assert_int_equal(cfg.session_default_s, 0);
	assert_true(cfg.session_allow_unlimited);
	assert_int_equal(cfg.session_max_s, 604800);
	config_deinit(&cfg);

	/* default_s may equal max_s. */
	assert_int_equal(config_load_string(&cfg, "{\"session\":{"
	    "\"default_s\":600,\"max_s\":600}}", &err), 0);
	assert_int_equal(cfg.session_default_s, 600);
	assert_int_equal(cfg.session_max_s, 600);
	config_deinit(&cfg);
}

static void
test_session_auth_audit_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "{\"session\":{\"default_s\":0}}", "session.default_s",
		    "allow_unlimited" },
		{ "{\"session\":{\"default_s\":0,"
		    "\"allow_unlimited\":false}}", "session.default_s",
		    "allow_unlimited" },
		{ "{\"session\":{\"default_s\":7200,\"max_s\":3600}}",
		    "session.default_s", "session.max_s" },
		/* The default day is above a shorter max. */
		{ "{\"session\":{\"max_s\":3600}}", "session.default_s",
		    "session.max_s" },
		{ "{\"session\":{\"max_s\":0}}", "session.max_s",
		    "between" },
		{ "{\"session\":{\"default_s\":-1}}", "session.default_s",
		    "between" },
		{ "{\"session\":{\"allow_unlimited\":\"yes\"}}",
		    "session.allow_unlimited", "must be true or false" },
		{ "{\"session\":{\"allow_unlimited\":1}}",
		    "session.allow_unlimited", "must be true or false" },
		{ "{\"session\":{\"warn_s\":86401}}", "session.warn_s",
		    "between" },
		{ "{\"session\":{\"foo\":1}}", "session.foo",
		    "unknown key" },
		{ "{\"session\":3600}", "session", "must be an object" },
		{ "{\"auth\":{\"lockout_s\":600,\"lockout_max_s\":300}}",
		    "auth.lockout_max_s", "auth.lockout_s" },
		/* The default lock-out_max (3600) is below a longer first one. */
		{ "{\"auth\":{\"lockout_s\":7200}}", "auth.lockout_max_s",
		    "auth.lockout_s" },
		{ "{\"auth\":{\"max_failures\":33}}", "auth.max_failures",
		    "between 1 and 32" },
		{ "{\"auth\":{\"max_failures\":0}}", "auth.max_failures",
		    "between 1 and 32" },
		{ "{\"auth\":{\"window_s\":\"60\"}}", "auth.window_s",
		    "must be an integer" },
		{ "{\"auth\":{\"user\":\"x\"}}", "auth.user", "unknown key" },
		{ "{\"audit\":{\"max_bytes\":100}}", "audit.max_bytes",
		    "between 16384 and" },
		{ "{\"audit\":{\"max_bytes\":2147483648}}", "audit.max_bytes",
		    "between" },
		{ "{\"audit\":{\"file\":\"/x\"}}", "audit.file",
		    "unknown key" },
	};
	struct config cfg;
	struct config_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (config_load_string(&cfg, cases[i].json, &err) != -1)
			fail_msg("case %zu accepted: %s", i, cases[i].json);
		if (strcmp(err.path, cases[i].path) != 0)
			fail_msg("case %zu: path '%s', not '%s'", i, err.path,
			    cases[i].path);
		if (strstr(err.text, cases[i].words) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err.text,
			    cases[i].words);
		if (strstr(err.text, cases[i].path) == NULL)
			fail_msg("case %zu: '%s' does not name '%s'", i,
			    err.text, cases[i].path);
	}
}

static void
test_syntax_errors(void **state)
{
	struct config cfg;
	struct config_error err;

	assert_int_equal(config_load_string(&cfg, "{\"api\": ", &err), -1);
	assert_non_null(strstr(err.text, "line 1"));
	assert_int_equal(config_load_string(&cfg, "[1,2]", &err), -1);
	assert_non_null(strstr(err.text, "JSON object"));
	/* Duplicates are rejected, not silently merged. */
	assert_int_equal(config_load_string(&cfg,
	    "{\"state_dir\":\"/a\",\"state_dir\":\"/b\"}", &err), -1);
	assert_int_equal(config_load(&cfg, "/nonexistent/x.json", &err), -1);
	assert_non_null(strstr(err.text, "/nonexistent/x.json"));
}

static void
test_client_check(void **state)
{
	struct config_error err;

	assert_int_equal(config_check_client_text("client\ndev tun\n"
	    "remote hub1 1194 udp\n# management /x unix\n; daemon\n"
	    "<ca>\nmanagement in a cert? no\n</ca>\nverb 3\n", "c.ovpn",
	    &err), 0);
	assert_int_equal(config_check_client_text("client\n  management "
	    "/tmp/x unix\n", "c.ovpn", &err), -1);
	assert_string_equal(err.path, "management");
	assert_non_null(strstr(err.text, "c.ovpn:2"));
	assert_int_equal(config_check_client_text("--daemon\n", "c.ovpn",
	    &err), -1);
	assert_string_equal(err.path, "daemon");
	assert_int_equal(config_check_client_text("client\r\nplugin x.so\r\n",
	    "c.ovpn", &err), -1);
	assert_string_equal(err.path, "plugin");
	assert_int_equal(config_check_client_text("management-hold", "c",
	    &err), -1);
	assert_int_equal(config_check_client_text("log-append /x", "c",
	    &err), -1);
	/* "log" as a prefix of another option is not "log". */
	assert_int_equal(config_check_client_text("verb 3\nmute 10\n"
	    "logfoo x\n", "c", &err), 0);
}

static void
test_http(void **state)
{
	static const struct bad_case bad[] = {
		{ "{\"http\":{\"listen\":\"0.0.0.0:7516\"}}", "http.listen",
		    "loopback" },
		{ "{\"http\":{\"listen\":\"localhost:7516\"}}",
		    "http.listen", "must look like" },
		{ "{\"http\":{\"listen\":\"127.0.0.1:7515\"}}",
		    "http.listen", "must differ" },
		{ "{\"http\":{\"root\":\"www\"}}", "http.root", "absolute" },
		{ "{\"http\":{\"allowed_hosts\":\"x\"}}",
		    "http.allowed_hosts", "list" },
		{ "{\"http\":{\"allowed_hosts\":[\"http://x\"]}}",
		    "http.allowed_hosts", "no scheme" },
		{ "{\"http\":{\"allowed_hosts\":[\"a b\"]}}",
		    "http.allowed_hosts", "host names" },
		{ "{\"http\":{\"allowed_hosts\":[1]}}",
		    "http.allowed_hosts", "host names" },
		{ "{\"http\":{\"max_clients\":0}}", "http.max_clients",
		    "between" },
		{ "{\"http\":{\"session_s\":10}}", "http.session_s",
		    "between" },
		{ "{\"http\":{\"port\":1}}", "http.port", "unknown key" },
	};
	struct config cfg;
	struct config_error err;
	size_t i;

	assert_int_equal(config_load_string(&cfg, "{}", &err), 0);
	assert_string_equal(cfg.http_host, "127.0.0.1");
	assert_int_equal(cfg.http_port, 7516);
	assert_string_equal(cfg.http_root, "/usr/share/supportvpn/www");
	assert_int_equal(cfg.http_nallowed_hosts, 0);
	assert_int_equal(cfg.http_max_clients, 64);
	assert_int_equal(cfg.http_session_s, 3600);
	config_deinit(&cfg);

	assert_int_equal(config_load_string(&cfg, "{\"http\":{\"listen\":"
	    "\"[::1]:8080\",\"root\":\"/srv/www\",\"allowed_hosts\":"
	    "[\"support.local:8443\",\"appliance\"],\"max_clients\":2,"
	    "\"session_s\":60}}", &err), 0);
	assert_string_equal(cfg.http_host, "::1");
	assert_int_equal(cfg.http_port, 8080);
	assert_string_equal(cfg.http_root, "/srv/www");
	assert_int_equal(cfg.http_nallowed_hosts, 2);
	assert_string_equal(cfg.http_allowed_hosts[0], "support.local:8443");
	assert_string_equal(cfg.http_allowed_hosts[1], "appliance");
	assert_int_equal(cfg.http_max_clients, 2);
	assert_int_equal(cfg.http_session_s, 60);
	config_deinit(&cfg);

	/* "" turns HTTP off; the root is then not looked at. */
	assert_int_equal(config_load_string(&cfg, "{\"http\":{\"listen\":"
	    "\"\",\"root\":\"relative\"}}", &err), 0);
	assert_string_equal(cfg.http_host, "");
	config_deinit(&cfg);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(config_load_string(&cfg, bad[i].json, &err),
		    -1);
		assert_string_equal(err.path, bad[i].path);
		if (strstr(err.text, bad[i].words) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err.text,
			    bad[i].words);
	}
}

/* Refused with the option named, as openvpn's lexer reads the line. */
static void
refused(const char *text, const char *opt, const char *where)
{
	struct config_error err;

	if (config_check_client_text(text, "c.ovpn", &err) != -1)
		fail_msg("accepted: a client config setting '%s': %s", opt,
		    text);
	assert_string_equal(err.path, opt);
	assert_non_null(strstr(err.text, where));
}

/*
 * openvpn 2.6 reads a config line with its own lexer (parse_line): quotes,
 * any white space, "--" inside quotes, an inline file's end after any
 * white space, and lines cut every 255 bytes inside an inline file. Each
 * of these once hid an owned option from the check (openvpn 2.6.14 took
 * them all).
 */
static void
test_client_check_lexer(void **state)
{
	struct config_error err;
	char text[600];

	refused("client\n\"daemon\"\n", "daemon", "c.ovpn:2");
	refused("'management' /x unix\n", "management", "c.ovpn:1");
	refused("\"--writepid\" /x\n", "writepid", "c.ovpn:1");
	refused("\fdaemon\n", "daemon", "c.ovpn:1");
	refused("\vsyslog\n", "syslog", "c.ovpn:1");
	refused("daemon\v\n", "daemon", "c.ovpn:1");
	refused("management\f/x unix\n", "management", "c.ovpn:1");
	/* Newer openvpn skips a UTF-8 byte order mark. */
	refused("\xef\xbb\xbf" "daemon\n", "daemon", "c.ovpn:1");
	refused("<ca>\nx\n\f</ca>\ndaemon\n", "daemon", "c.ovpn:4");
	/* Only a line that is the tag alone opens an inline file. */
	refused("<ca> x\ndaemon\n</ca>\n", "daemon", "c.ovpn:2");
	/* Inside an inline file openvpn reads 255 bytes at a time, so a
	 * close tag at byte 250 ends it and the rest is a line of its own. */
	snprintf(text, sizeof(text), "<ca>\n%250s</ca>daemon\n</ca>\n", "");
	refused(text, "daemon", "c.ovpn:2");
	/* "setenv opt X" applies X (and only warns when X is unknown). */
	refused("setenv opt management /x unix\n", "management", "c.ovpn:1");
	refused("--setenv \"opt\" 'writepid' /x\n", "writepid", "c.ovpn:1");

	/* What openvpn reads as comments, quoted arguments or inline data. */
	assert_int_equal(config_check_client_text("\"verb\" 3\n'remote' "
	    "hub1 1194\n\\#daemon\n# \"daemon\"\n;'daemon'\n<ca>\n"
	    "daemon\n </ca>\nverb 3\n", "c.ovpn", &err), 0);
	assert_int_equal(config_check_client_text("<tls-auth>\n"
	    "\f</tls-auth>x\ndev tun\n", "c.ovpn", &err), 0);
	assert_int_equal(config_check_client_text("setenv opt "
	    "block-outside-dns\nsetenv FOO daemon\nsetenv opt\n", "c.ovpn",
	    &err), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_token_keys),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_session_auth_audit),
		cmocka_unit_test(test_session_auth_audit_errors),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_client_check),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_client_check_lexer),
	};

	log_init(LOG_LEVEL_ERROR, 0);
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
