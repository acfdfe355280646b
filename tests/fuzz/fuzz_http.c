/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the HTTP interface's parsers (http_sec.c): the
 * first byte picks one, the rest is its input (what a browser or any
 * local process sends). Each must end without a crash, and what they
 * accept must keep their promises: a sanitised path has no ".." or hidden
 * segment and no backslash, a form pair never holds a NUL, an accepted
 * Host is one of the allowed, a request built from a query or body is a
 * known command without "by".
 *
 *   make fuzz   (or: build-fuzz/fuzz_http tests/fuzz/corpus/fuzz_http)
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_req.h"
#include "http_sec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_path(const char *in, size_t len)
{
	char out[PATH_MAX];
	const char *p;

	if (http_path_sanitise(in, len, out, sizeof(out)) < 0)
		return;
	if (out[0] == '/' || out[0] == '.' || strstr(out, "/.") != NULL ||
	    strchr(out, '\\') != NULL || strstr(out, "//") != NULL)
		abort();
	for (p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			abort();
	(void)http_content_type(out);
}

static void
check_form(const char *in, size_t len)
{
	struct http_form f;
	char k[64], v[256];
	int rc, n = 0;

	http_form_init(&f, in, len);
	while ((rc = http_form_next(&f, k, sizeof(k), v, sizeof(v))) > 0) {
		if (k[0] == '\0' || strlen(k) >= sizeof(k) ||
		    strlen(v) >= sizeof(v) || ++n > (int)len + 1)
			abort();
	}
}

static void
check_cookie(const char *in, size_t len)
{
	const char *v;
	size_t vl;

	if (http_cookie_find(in, len, "svpn_session", &v, &vl) &&
	    (v < in || v + vl > in + len))
		abort();
}

static void
check_hosts(const char *in, size_t len)
{
	struct http_hosts h;

	if (http_hosts_init(&h, "127.0.0.1", 7516, NULL, 0) < 0)
		return;
	if (http_host_ok(&h, in, len) && !(len == 14 &&
	    memcmp(in, "127.0.0.1:7516", 14) == 0) && !(len == 14 &&
	    strncasecmp(in, "localhost:7516", 14) == 0) && !(len == 10 &&
	    memcmp(in, "[::1]:7516", 10) == 0))
		abort();
	(void)http_origin_ok(&h, in, len);
	(void)http_referer_ok(&h, in, len);
	http_hosts_deinit(&h);
}

static void
check_request(const char *in, size_t len, bool body)
{
	static const char *const cmds[] = { "status", "checks", "history",
	    "version", "start", "stop", "extend" };
	struct api_request req;
	struct api_error err;
	const char *cmd = cmds[len % (sizeof(cmds) / sizeof(cmds[0]))];

	if (http_api_request(cmd, body ? NULL : in, body ? 0 : len,
	    body ? in : NULL, body ? len : 0, &req, &err) < 0) {
		if (err.code == NULL || err.message[0] == '\0' ||
		    http_status_for(err.code) < 400)
			abort();
	} else if (req.by[0] != '\0' || (unsigned)req.cmd > API_CMD_AUTH)
		abort();
	api_request_clear(&req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;

	if (size == 0)
		return 0;
	switch (data[0] % 6) {
	case 0:
		check_path(in, size - 1);
		break;
	case 1:
		check_form(in, size - 1);
		break;
	case 2:
		check_cookie(in, size - 1);
		break;
	case 3:
		check_hosts(in, size - 1);
		break;
	case 4:
		check_request(in, size - 1, false);
		break;
	default:
		check_request(in, size - 1, true);
		break;
	}
	return 0;
}
