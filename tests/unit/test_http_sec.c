/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the HTTP interface's decisions without a network: Host and
 * Origin (DNS rebinding, CSRF), form, query and cookie decoding, path
 * sanitising and opening below the root (symbolic links out of it), the
 * page sessions, and API requests and error codes in HTTP terms.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "api_req.h"
#include "http_sec.h"

#define S(s)	s, strlen(s)

static void
test_hosts(void **state)
{
	char *extra[] = { "Support.Example:8443" };
	struct http_hosts h;

	assert_int_equal(http_hosts_init(&h, "127.0.0.1", 7516, extra, 1), 0);
	assert_true(http_host_ok(&h, S("127.0.0.1:7516")));
	assert_true(http_host_ok(&h, S("localhost:7516")));
	assert_true(http_host_ok(&h, S("LOCALHOST:7516")));
	assert_true(http_host_ok(&h, S("[::1]:7516")));
	assert_true(http_host_ok(&h, S("support.example:8443")));
	/* DNS rebinding: the attacker's name, or our name on another port. */
	assert_false(http_host_ok(&h, S("evil.example:7516")));
	assert_false(http_host_ok(&h, S("localhost:7515")));
	assert_false(http_host_ok(&h, S("localhost")));
	assert_false(http_host_ok(&h, S("127.0.0.1")));
	assert_false(http_host_ok(&h, S("127.0.0.1:7516.evil.example")));
	assert_false(http_host_ok(&h, S("")));
	/* A prefix of an allowed name is not that name. */
	assert_false(http_host_ok(&h, "127.0.0.1:7516", 13));
	http_hosts_deinit(&h);

	/* Another loopback address, and port 80 without the port. */
	assert_int_equal(http_hosts_init(&h, "127.0.0.2", 80, NULL, 0), 0);
	assert_true(http_host_ok(&h, S("127.0.0.2:80")));
	assert_true(http_host_ok(&h, S("127.0.0.2")));
	assert_true(http_host_ok(&h, S("localhost")));
	assert_true(http_host_ok(&h, S("[::1]")));
	http_hosts_deinit(&h);

	assert_int_equal(http_hosts_init(&h, "::1", 7516, NULL, 0), 0);
	assert_true(http_host_ok(&h, S("[::1]:7516")));
	assert_false(http_host_ok(&h, S("::1:7516")));
	http_hosts_deinit(&h);
}

static void
test_origin_referer(void **state)
{
	struct http_hosts h;

	assert_int_equal(http_hosts_init(&h, "127.0.0.1", 7516, NULL, 0), 0);
	assert_true(http_origin_ok(&h, S("http://127.0.0.1:7516")));
	assert_true(http_origin_ok(&h, S("http://localhost:7516")));
	assert_true(http_origin_ok(&h, S("HTTP://localhost:7516")));
	/* CSRF: another site, another port, another scheme, opaque. */
	assert_false(http_origin_ok(&h, S("http://evil.example")));
	assert_false(http_origin_ok(&h, S("http://localhost:8080")));
	assert_false(http_origin_ok(&h, S("https://localhost:7516")));
	assert_false(http_origin_ok(&h, S("null")));
	assert_false(http_origin_ok(&h, S("http://localhost:7516/")));
	assert_false(http_origin_ok(&h, S("http://")));
	assert_false(http_origin_ok(&h, S("")));

	assert_true(http_referer_ok(&h, S("http://localhost:7516/")));
	assert_true(http_referer_ok(&h, S("http://127.0.0.1:7516/x?y=1")));
	assert_true(http_referer_ok(&h, S("http://127.0.0.1:7516")));
	assert_false(http_referer_ok(&h, S("http://evil.example/"
	    "http://localhost:7516/")));
	assert_false(http_referer_ok(&h, S("http://localhost:7516.evil/")));
	assert_false(http_referer_ok(&h, S("https://localhost:7516/")));
	assert_false(http_referer_ok(&h, S("/relative")));
	http_hosts_deinit(&h);
}

static void
test_form(void **state)
{
	const char *body = "token=ab%2Fc+d&&x=&y&%41=%3d";
	struct http_form f;
	char k[16], v[16];

	http_form_init(&f, S(body));
	assert_int_equal(http_form_next(&f, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "token");
	assert_string_equal(v, "ab/c d");
	assert_int_equal(http_form_next(&f, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "x");
	assert_string_equal(v, "");
	assert_int_equal(http_form_next(&f, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "y");
	assert_string_equal(v, "");
	assert_int_equal(http_form_next(&f, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "A");
	assert_string_equal(v, "=");
	assert_int_equal(http_form_next(&f, k, sizeof(k), v, sizeof(v)), 0);

	/* No query at all (NULL, 0): nothing, and no pointer arithmetic on
	 * NULL (UBSan found it in the sanitizer stage). */
	http_form_init(&f, NULL, 0);
	assert_int_equal(http_form_next(&f, k, sizeof(k), v, sizeof(v)), 0);

	/* Malformed: bad escapes, a NUL, too long, no key. */
	http_form_init(&f, S("a=%4"));
	assert_int_equal(http_form_next(&f, k, sizeof(k), v, sizeof(v)), -1);
	http_form_init(&f, S("a=%zz"));
	assert_int_equal(http_form_next(&f, k, sizeof(k), v, sizeof(v)), -1);
	http_form_init(&f, S("a=%00"));
	assert_int_equal(http_form_next(&f, k, sizeof(k), v, sizeof(v)), -1);
	http_form_init(&f, S("a=0123456789abcdef"));
	assert_int_equal(http_form_next(&f, k, sizeof(k), v, sizeof(v)), -1);
	http_form_init(&f, S("=x"));
	assert_int_equal(http_form_next(&f, k, sizeof(k), v, sizeof(v)), -1);
	http_form_init(&f, S(""));
	assert_int_equal(http_form_next(&f, k, sizeof(k), v, sizeof(v)), 0);
}

static void
test_cookie(void **state)
{
	const char *hdr = "a=1; svpn_session=abc ;x_svpn_session=no;b=";
	const char *v;
	size_t n;

	assert_true(http_cookie_find(S(hdr), "svpn_session", &v, &n));
	assert_int_equal(n, 3);
	assert_memory_equal(v, "abc", 3);
	assert_true(http_cookie_find(S(hdr), "b", &v, &n));
	assert_int_equal(n, 0);
	assert_false(http_cookie_find(S(hdr), "svpn", &v, &n));
	assert_false(http_cookie_find(S("svpn_session"), "svpn_session", &v,
	    &n));
	assert_false(http_cookie_find(S(""), "svpn_session", &v, &n));
}

static void
test_path(void **state)
{
	static const char *const refused[] = {
		"", "x", "/..", "/../etc/passwd", "/a/../b", "/%2e%2e/x",
		"/%2E%2E", "/.hidden", "/a/.git/config", "/a//b", "/dir/",
		"/a\\b", "/a%5c..%5cb", "/a%00b", "/a%0ab", "/%", "/%zz",
	};
	char out[PATH_MAX];
	size_t i;

	assert_int_equal(http_path_sanitise(S("/"), out, sizeof(out)), 0);
	assert_string_equal(out, "index.html");
	assert_int_equal(http_path_sanitise(S("/page.css"), out, sizeof(out)),
	    0);
	assert_string_equal(out, "page.css");
	assert_int_equal(http_path_sanitise(S("/i18n/de%20x.json"), out,
	    sizeof(out)), 0);
	assert_string_equal(out, "i18n/de x.json");
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (http_path_sanitise(S(refused[i]), out, sizeof(out)) == 0)
			fail_msg("'%s' allowed as '%s'", refused[i], out);
	/* Too long for the buffer. */
	assert_int_equal(http_path_sanitise(S("/abcdefgh"), out, 5), -1);

	assert_string_equal(http_content_type("index.html"),
	    "text/html; charset=utf-8");
	assert_string_equal(http_content_type("a/page.js"),
	    "text/javascript; charset=utf-8");
	assert_string_equal(http_content_type("i.svg"), "image/svg+xml");
	assert_null(http_content_type("README"));
	assert_null(http_content_type("x.sh"));
	assert_null(http_content_type("a.html/b"));
}

/* A root with a file, a link inside it, links out of it, a directory,
 * and a fifo; the files outside sit next to the root. */
static void
test_open_under(void **state)
{
	static const char *const made[] = { "www/index.html", "secret.html",
	    "www/in.html", "www/out.html", "www/abs.html", "www/fifo.html",
	    "rootlink" };
	char base[] = "/tmp/test_http_sec.XXXXXX", root[128];
	char p[PATH_MAX], buf[16];
	size_t i;
	size_t size;
	ssize_t n;
	int fd;

	assert_non_null(mkdtemp(base));
	snprintf(root, sizeof(root), "%s/www", base);
	assert_int_equal(mkdir(root, 0755), 0);
	snprintf(p, sizeof(p), "%s/index.html", root);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "<p>hi</p>", 9), 9);
	close(fd);
	snprintf(p, sizeof(p), "%s/secret.html", base);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/in.html", root);
	assert_int_equal(symlink("index.html", p), 0);
	snprintf(p, sizeof(p), "%s/out.html", root);
	assert_int_equal(symlink("../secret.html", p), 0);
	snprintf(p, sizeof(p), "%s/abs.html", root);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	snprintf(p, sizeof(p), "%s/sub", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/fifo.html", root);
	assert_int_equal(mkfifo(p, 0644), 0);
	/* A root that is itself a link works as the place it names. */
	snprintf(p, sizeof(p), "%s/rootlink", base);
	assert_int_equal(symlink("www", p), 0);

	assert_int_equal(http_open_under(root, "index.html", 1024, &fd,
	    &size), 0);
	assert_int_equal(size, 9);
	n = read(fd, buf, sizeof(buf));
	assert_int_equal(n, 9);
	close(fd);
	assert_int_equal(http_open_under(root, "in.html", 1024, &fd, &size),
	    0);
	close(fd);
	assert_int_equal(http_open_under(p, "index.html", 1024, &fd, &size),
	    0);
	close(fd);

	assert_int_equal(http_open_under(root, "out.html", 1024, &fd, &size),
	    -ENOENT);
	assert_int_equal(fd, -1);
	assert_int_equal(http_open_under(root, "abs.html", 1024, &fd, &size),
	    -ENOENT);
	assert_int_equal(http_open_under(root, "sub", 1024, &fd, &size),
	    -ENOENT);
	assert_int_equal(http_open_under(root, "fifo.html", 1024, &fd, &size),
	    -ENOENT);
	assert_int_equal(http_open_under(root, "missing.html", 1024, &fd,
	    &size), -ENOENT);
	assert_int_equal(http_open_under(root, "index.html", 8, &fd, &size),
	    -EFBIG);

	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", base, made[i]);
		assert_int_equal(unlink(p), 0);
	}
	snprintf(p, sizeof(p), "%s/www/sub", base);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(rmdir(root), 0);
	assert_int_equal(rmdir(base), 0);
}

static bool
hexid(const char *id)
{
	size_t i;

	for (i = 0; i < HTTP_SESSION_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return id[HTTP_SESSION_ID_LEN] == '\0';
}

static void
test_sessions(void **state)
{
	struct http_sessions *s = http_sessions_new(3, 1000);
	char a[HTTP_SESSION_ID_LEN + 1], b[HTTP_SESSION_ID_LEN + 1];
	char c[HTTP_SESSION_ID_LEN + 1], d[HTTP_SESSION_ID_LEN + 1];
	char wrong[HTTP_SESSION_ID_LEN + 1];

	assert_non_null(s);
	assert_int_equal(http_session_create(s, 0, a), 0);
	assert_true(hexid(a));
	assert_int_equal(http_session_create(s, 10, b), 0);
	assert_string_not_equal(a, b);
	assert_true(http_session_check(s, S(a), 20));
	assert_true(http_session_check(s, S(b), 20));
	/* Wrong ids: one digit off, a prefix, empty. */
	memcpy(wrong, a, sizeof(wrong));
	wrong[5] = wrong[5] == '0' ? '1' : '0';
	assert_false(http_session_check(s, S(wrong), 20));
	assert_false(http_session_check(s, a, HTTP_SESSION_ID_LEN - 1, 20));
	assert_false(http_session_check(s, S(""), 20));

	/* Idle expiry; each use keeps a session alive. */
	assert_true(http_session_check(s, S(a), 900));
	assert_true(http_session_check(s, S(a), 1800));
	assert_false(http_session_check(s, S(b), 1800));
	assert_int_equal(http_session_count(s, 1800), 1);
	assert_false(http_session_check(s, S(a), 2800));
	assert_int_equal(http_session_count(s, 2800), 0);

	/* Full: the least recently used goes. */
	assert_int_equal(http_session_create(s, 3000, a), 0);
	assert_int_equal(http_session_create(s, 3001, b), 0);
	assert_int_equal(http_session_create(s, 3002, c), 0);
	assert_true(http_session_check(s, S(a), 3003));
	assert_int_equal(http_session_create(s, 3004, d), 0);
	assert_true(http_session_check(s, S(a), 3005));
	assert_false(http_session_check(s, S(b), 3005));
	assert_true(http_session_check(s, S(c), 3005));
	assert_true(http_session_check(s, S(d), 3005));

	/* Logout. */
	http_session_drop(s, S(c));
	assert_false(http_session_check(s, S(c), 3006));
	assert_true(http_session_check(s, S(d), 3006));
	http_session_drop(s, S("nonsense"));
	assert_int_equal(http_session_count(s, 3006), 2);
	http_sessions_free(s);

	assert_null(http_sessions_new(0, 1000));
	assert_null(http_sessions_new(HTTP_SESSIONS_MAX + 1, 1000));
	assert_null(http_sessions_new(1, 0));
}

static void
test_api_request(void **state)
{
	struct api_request req;
	struct api_error err;

	assert_int_equal(http_api_request("history", S("limit=5"), NULL, 0,
	    &req, &err), 0);
	assert_int_equal(req.cmd, API_CMD_HISTORY);
	assert_int_equal(req.lines, 5);
	api_request_clear(&req);

	assert_int_equal(http_api_request("checks", S("refresh=1"), NULL, 0,
	    &req, &err), 0);
	assert_true(req.refresh);
	api_request_clear(&req);
	assert_int_equal(http_api_request("checks", S(""), NULL, 0, &req,
	    &err), 0);
	assert_false(req.refresh);
	api_request_clear(&req);

	assert_int_equal(http_api_request("start", NULL, 0,
	    S("{\"when_possible\":true,\"wait\":true,\"timeout_s\":30,"
	    "\"duration_s\":600}"), &req, &err), 0);
	assert_int_equal(req.cmd, API_CMD_START);
	assert_true(req.when_possible);
	assert_true(req.wait);
	assert_int_equal(req.timeout_s, 30);
	assert_int_equal(req.duration_s, 600);
	assert_string_equal(req.by, "");
	api_request_clear(&req);

	assert_int_equal(http_api_request("stop", NULL, 0, NULL, 0, &req,
	    &err), 0);
	assert_int_equal(req.cmd, API_CMD_STOP);
	api_request_clear(&req);

	/* The API's own checks and messages. */
	assert_int_equal(http_api_request("history", S("limit=0"), NULL, 0,
	    &req, &err), -1);
	assert_string_equal(err.code, "bad_argument");
	assert_non_null(strstr(err.message, "limit"));
	api_request_clear(&req);
	assert_int_equal(http_api_request("history", S("bogus=1"), NULL, 0,
	    &req, &err), -1);
	assert_string_equal(err.code, "bad_argument");
	assert_non_null(strstr(err.message, "bogus"));
	api_request_clear(&req);
	assert_int_equal(http_api_request("checks", S("refresh=maybe"), NULL,
	    0, &req, &err), -1);
	assert_string_equal(err.code, "bad_argument");
	api_request_clear(&req);
	assert_int_equal(http_api_request("start", NULL, 0,
	    S("{\"wait\":\"yes\"}"), &req, &err), -1);
	assert_string_equal(err.code, "bad_argument");
	api_request_clear(&req);

	/* What the server sets is not the client's to say. */
	assert_int_equal(http_api_request("start", NULL, 0,
	    S("{\"by\":\"me\"}"), &req, &err), -1);
	assert_string_equal(err.code, "bad_argument");
	api_request_clear(&req);
	assert_int_equal(http_api_request("start", NULL, 0,
	    S("{\"cmd\":\"stop\"}"), &req, &err), -1);
	api_request_clear(&req);
	assert_int_equal(http_api_request("status", S("id=1"), NULL, 0, &req,
	    &err), -1);
	api_request_clear(&req);

	/* Bodies that are not one JSON object; a malformed query. */
	assert_int_equal(http_api_request("stop", NULL, 0, S("[]"), &req,
	    &err), -1);
	assert_string_equal(err.code, "bad_request");
	api_request_clear(&req);
	assert_int_equal(http_api_request("stop", NULL, 0, S("{\"a\":1,"
	    "\"a\":2}"), &req, &err), -1);
	api_request_clear(&req);
	assert_int_equal(http_api_request("history", S("limit=%zz"), NULL, 0,
	    &req, &err), -1);
	assert_string_equal(err.code, "bad_request");
	api_request_clear(&req);
	assert_int_equal(http_api_request("history", S("limit=1&limit=2"),
	    NULL, 0, &req, &err), -1);
	api_request_clear(&req);
}

static void
test_status_for(void **state)
{
	assert_int_equal(http_status_for("bad_argument"), 400);
	assert_int_equal(http_status_for("bad_request"), 400);
	assert_int_equal(http_status_for("forbidden"), 403);
	assert_int_equal(http_status_for("not_found"), 404);
	assert_int_equal(http_status_for("superseded"), 409);
	assert_int_equal(http_status_for("not_active"), 409);
	assert_int_equal(http_status_for("busy"), 429);
	assert_int_equal(http_status_for("timeout"), 503);
	assert_int_equal(http_status_for("storage"), 500);
	assert_int_equal(http_status_for("internal"), 500);
	assert_int_equal(http_status_for("something_new"), 500);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_origin_referer),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_open_under),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_api_request),
		cmocka_unit_test(test_status_for),
	};

	return cmocka_run_group_tests_name("http_sec", tests, NULL, NULL);
}
