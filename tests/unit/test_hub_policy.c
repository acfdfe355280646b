/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the hub's client-certificate policy (plugin/hub_policy.c):
 * the parser and its messages, the CN patterns, the role decision from a
 * root and a CN and from openvpn's env, and the policy file in hub mode.
 * Links libsvplugin.a; needs jansson, no OpenSSL, no openvpn.
 */
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

#include "../../plugin/hub_policy.h"
#include "../../plugin/policy.h"
#include "supportvpn_event.h"

/* Two roots: A pins appliances, S pins staff. */
#define FP_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_S	"5555555555555555555555555555555555555555555555555555555555555555"
#define FP_S_OPENSSL "sha256 Fingerprint=55:55:55:55:55:55:55:55:55:55:55:" \
		"55:55:55:55:55:55:55:55:55:55:55:55:55:55:55:55:55:55:55:55:55"
#define FP_X	"0000000000000000000000000000000000000000000000000000000000000001"

#define POLICY_TWO_ROOTS \
	"{\"mode\": \"hub\",\n" \
	" \"appliances\": {\"ca_sha256\": [\"" FP_A "\"], " \
	"\"names\": [\"appliance-*\"]},\n" \
	" \"staff\": {\"ca_sha256\": [\"" FP_S_OPENSSL "\"], " \
	"\"names\": [\"staff-*\", \"*@support.example\", \"root-admin\"]}}"

/* One root for both classes: the names alone tell them apart. */
#define POLICY_ONE_ROOT \
	"{\"mode\": \"hub\",\n" \
	" \"appliances\": {\"ca_sha256\": [\"" FP_A "\"], " \
	"\"names\": [\"appliance-*\", \"shared-*\"]},\n" \
	" \"staff\": {\"ca_sha256\": [\"" FP_A "\"], " \
	"\"names\": [\"staff-*\", \"shared-*\"]}}"

static unsigned char fp_a[POLICY_SHA256_LEN], fp_s[POLICY_SHA256_LEN],
    fp_x[POLICY_SHA256_LEN];

static struct hub_policy *
parse_ok(const char *text)
{
	struct policy_error err;
	struct hub_policy *p = hub_policy_parse(text, strlen(text), &err);

	if (p == NULL)
		fail_msg("policy refused: %s", err.text);
	return p;
}

/* Refused, with a message holding want. */
static void
parse_bad(const char *text, const char *want)
{
	struct policy_error err;
	struct hub_policy *p = hub_policy_parse(text, strlen(text), &err);

	if (p != NULL) {
		hub_policy_free(p);
		fail_msg("accepted: %s", text);
	}
	if (strstr(err.text, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err.text, want);
}

static int
group_setup(void **state)
{
	if (policy_fingerprint_parse(FP_A, fp_a) < 0 ||
	    policy_fingerprint_parse(FP_S, fp_s) < 0 ||
	    policy_fingerprint_parse(FP_X, fp_x) < 0)
		return -1;
	return 0;
}

/* --- the parser --- */

static void
test_parse_valid(void **state)
{
	struct hub_policy *p = parse_ok(POLICY_TWO_ROOTS);
	const struct hub_class *app = &p->classes[HUB_ROLE_APPLIANCE - 1];
	const struct hub_class *staff = &p->classes[HUB_ROLE_STAFF - 1];

	assert_int_equal(app->n_ca, 1);
	assert_memory_equal(app->ca[0], fp_a, POLICY_SHA256_LEN);
	assert_int_equal(app->n_names, 1);
	assert_string_equal(app->names[0], "appliance-*");
	/* The openssl form is accepted as it is printed. */
	assert_int_equal(staff->n_ca, 1);
	assert_memory_equal(staff->ca[0], fp_s, POLICY_SHA256_LEN);
	assert_int_equal(staff->n_names, 3);
	assert_string_equal(staff->names[2], "root-admin");
	assert_true(hub_policy_ca_pinned(p, fp_a));
	assert_true(hub_policy_ca_pinned(p, fp_s));
	assert_false(hub_policy_ca_pinned(p, fp_x));
	hub_policy_free(p);
	hub_policy_free(NULL);

	/* Key order does not matter; several roots per class. */
	p = parse_ok("{\"staff\": {\"names\": [\"s\"], \"ca_sha256\": [\""
	    FP_S "\", \"" FP_X "\"]}, \"appliances\": {\"names\": [\"a\"], "
	    "\"ca_sha256\": [\"" FP_A "\"]}, \"mode\": \"hub\"}");
	assert_int_equal(p->classes[HUB_ROLE_STAFF - 1].n_ca, 2);
	assert_true(hub_policy_ca_pinned(p, fp_x));
	hub_policy_free(p);
}

#define CLS_OK	"{\"ca_sha256\": [\"" FP_A "\"], \"names\": [\"a-*\"]}"

static void
test_parse_invalid(void **state)
{
	struct policy_error err;

	parse_bad("", "not valid JSON");
	parse_bad("{\"mode\": \"hub\",\n\"appliances\": ", "not valid JSON");
	assert_null(hub_policy_parse("{\n\n!", 4, &err));
	assert_int_equal(err.line, 3);
	parse_bad("[]", "not a JSON object");
	parse_bad("{\"appliances\": " CLS_OK ", \"staff\": " CLS_OK "}",
	    "'mode' is missing");
	parse_bad("{\"mode\": \"client\", \"appliances\": " CLS_OK ", "
	    "\"staff\": " CLS_OK "}", "'mode' must be \"hub\"");
	parse_bad("{\"mode\": 1, \"appliances\": " CLS_OK ", \"staff\": "
	    CLS_OK "}", "'mode' must be \"hub\"");
	parse_bad("{\"mode\": \"hub\", \"staff\": " CLS_OK "}",
	    "'appliances' is missing");
	parse_bad("{\"mode\": \"hub\", \"appliances\": " CLS_OK "}",
	    "'staff' is missing");
	parse_bad("{\"mode\": \"hub\", \"appliances\": [], \"staff\": " CLS_OK
	    "}", "'appliances' must be an object");
	parse_bad("{\"mode\": \"hub\", \"appliances\": " CLS_OK ", \"staff\": "
	    CLS_OK ", \"admins\": " CLS_OK "}", "unknown key 'admins'");
	/* A client policy handed to the hub. */
	parse_bad("{\"server_names\": [\"hub1.example\"], \"ca_sha256\": [\""
	    FP_A "\"]}", "unknown key 'server_names'");
	parse_bad("{\"mode\": \"hub\", \"mode\": \"hub\", \"appliances\": "
	    CLS_OK ", \"staff\": " CLS_OK "}", "duplicate");
	parse_bad("{\"mode\": \"hub\", \"appliances\": " CLS_OK ", \"staff\": "
	    "{\"ca_sha256\": [\"" FP_S "\"], \"names\": [\"s\"], \"expiry\": 1}"
	    "}", "unknown key 'expiry' in staff");
	parse_bad("{\"mode\": \"hub\", \"appliances\": " CLS_OK ", \"staff\": "
	    "{\"names\": [\"s\"]}}", "'staff.ca_sha256' is missing");
	parse_bad("{\"mode\": \"hub\", \"appliances\": {\"ca_sha256\": [\""
	    FP_A "\"]}, \"staff\": " CLS_OK "}",
	    "'appliances.names' is missing");
	parse_bad("{\"mode\": \"hub\", \"appliances\": {\"ca_sha256\": [\""
	    FP_A "\"], \"names\": []}, \"staff\": " CLS_OK "}",
	    "'appliances.names' must be a non-empty list");
	parse_bad("{\"mode\": \"hub\", \"appliances\": " CLS_OK ", \"staff\": "
	    "{\"ca_sha256\": [], \"names\": [\"s\"]}}",
	    "'staff.ca_sha256' must be a non-empty list");
	parse_bad("{\"mode\": \"hub\", \"appliances\": " CLS_OK ", \"staff\": "
	    "{\"ca_sha256\": [\"" FP_S "\"], \"names\": [\"s\", 7]}}",
	    "staff.names[1] is not a string");
	parse_bad("{\"mode\": \"hub\", \"appliances\": " CLS_OK ", \"staff\": "
	    "{\"ca_sha256\": [\"" FP_S "\", \"abcd\"], \"names\": [\"s\"]}}",
	    "staff.ca_sha256[1] 'abcd' is not a SHA-256 fingerprint");
	parse_bad("{\"mode\": \"hub\", \"appliances\": {\"ca_sha256\": [\""
	    FP_A "\"], \"names\": [\"a-*\", \"a-*-*\"]}, \"staff\": " CLS_OK
	    "}", "appliances.names[1] 'a-*-*' is not a valid name pattern");
	parse_bad("{\"mode\": \"hub\", \"appliances\": {\"ca_sha256\": [\""
	    FP_A "\"], \"names\": [\"a b\"]}, \"staff\": " CLS_OK "}",
	    "appliances.names[0] 'a b'");
	parse_bad("{\"mode\": \"hub\", \"appliances\": {\"ca_sha256\": [\""
	    FP_A "\"], \"names\": [\"a\\u0000b\"]}, \"staff\": " CLS_OK "}",
	    "\\u0000 is not allowed");
	parse_bad("{\"mode\": \"hub\", \"appliances\": {\"ca_sha256\": [\""
	    FP_A "\"], \"names\": [\"\"]}, \"staff\": " CLS_OK "}",
	    "appliances.names[0] ''");
}

/* --- the patterns --- */

static void
test_pattern_valid(void **state)
{
	char p65[66], p64[65];

	assert_true(hub_pattern_valid("appliance-*"));
	assert_true(hub_pattern_valid("*"));
	assert_true(hub_pattern_valid("*@support.example"));
	assert_true(hub_pattern_valid("staff-*-lab"));
	assert_true(hub_pattern_valid("Root_Admin.2"));
	assert_false(hub_pattern_valid(""));
	assert_false(hub_pattern_valid("**"));
	assert_false(hub_pattern_valid("a*b*"));
	assert_false(hub_pattern_valid("a b"));
	assert_false(hub_pattern_valid("a/b"));
	assert_false(hub_pattern_valid("a?"));
	assert_false(hub_pattern_valid("caf\xc3\xa9-*"));
	memset(p64, 'a', 64);
	p64[64] = '\0';
	assert_true(hub_pattern_valid(p64));
	memset(p65, 'a', 65);
	p65[65] = '\0';
	assert_false(hub_pattern_valid(p65));
}

static bool
match(const char *pattern, const char *name)
{
	return hub_name_match(pattern, name, strlen(name));
}

static void
test_match_exact(void **state)
{
	assert_true(match("root-admin", "root-admin"));
	assert_true(match("root-admin", "ROOT-Admin"));
	assert_false(match("root-admin", "root-admin2"));
	assert_false(match("root-admin", "root-admi"));
	assert_false(match("root-admin", ""));
	assert_true(match("a.b@c", "A.B@C"));
	/* Only ASCII letters fold. */
	assert_false(match("a-b", "a_b"));
}

static void
test_match_star(void **state)
{
	assert_true(match("appliance-*", "appliance-0042"));
	assert_true(match("appliance-*", "APPLIANCE-ab_C-9"));
	assert_true(match("appliance-*", "appliance-x"));
	/* One or more: never empty. */
	assert_false(match("appliance-*", "appliance-"));
	assert_false(match("appliance-*", "appliance"));
	/* Never '.', '@', a space or anything else outside the class. */
	assert_false(match("appliance-*", "appliance-1.evil"));
	assert_false(match("appliance-*", "appliance-1@evil"));
	assert_false(match("appliance-*", "appliance-1 2"));
	assert_false(match("appliance-*", "appliance-1/2"));
	assert_false(match("appliance-*", "appliance-caf\xc3\xa9"));
	assert_false(match("appliance-*", "xappliance-1"));
	/* The star at the start, in the middle, alone. */
	assert_true(match("*@support.example", "alice@Support.Example"));
	assert_false(match("*@support.example", "@support.example"));
	assert_false(match("*@support.example", "a.b@support.example"));
	assert_false(match("*@support.example", "alice@support.example.evil"));
	assert_true(match("staff-*-lab", "staff-bob-lab"));
	assert_true(match("staff-*-lab", "staff---lab"));
	assert_false(match("staff-*-lab", "staff--lab"));
	assert_true(match("*", "anything_at-all"));
	assert_false(match("*", "a.b"));
	/* Prefix and suffix may not overlap: "a*a" needs three bytes. */
	assert_false(match("a*a", "aa"));
	assert_true(match("a*a", "aba"));
}

static void
test_match_limits(void **state)
{
	char name[80];

	/* 64 bytes match, 65 never (openvpn's own CN limit). */
	memcpy(name, "appliance-", 10);
	memset(name + 10, 'x', 54);
	assert_true(hub_name_match("appliance-*", name, 64));
	name[64] = 'x';
	assert_false(hub_name_match("appliance-*", name, 65));
	memset(name, 'a', 65);
	assert_false(hub_name_match("*", name, 65));
	/* A NUL anywhere, or an empty name. */
	assert_false(hub_name_match("appliance-*", "appliance-1\0x", 13));
	assert_false(hub_name_match("appliance-*", "appliance-1\0", 12));
	assert_false(hub_name_match("root-admin", "root-admin\0", 11));
	assert_false(hub_name_match("*", "", 0));
	/* An invalid pattern matches nothing. */
	assert_false(match("a b", "a b"));
	assert_false(match("a-**", "a-xx"));
	assert_false(match("", ""));
}

/* --- the role --- */

static enum hub_role
role(const struct hub_policy *p, const unsigned char *root, const char *cn,
    int want_matches)
{
	int n = -1;
	enum hub_role r = hub_policy_role(p, root, cn, strlen(cn), &n);

	assert_int_equal(n, want_matches);
	return r;
}

static void
test_role_two_roots(void **state)
{
	struct hub_policy *p = parse_ok(POLICY_TWO_ROOTS);

	assert_int_equal(role(p, fp_a, "appliance-0042", 1),
	    HUB_ROLE_APPLIANCE);
	assert_int_equal(role(p, fp_s, "staff-alice", 1), HUB_ROLE_STAFF);
	assert_int_equal(role(p, fp_s, "bob@support.example", 1),
	    HUB_ROLE_STAFF);
	assert_int_equal(role(p, fp_s, "Root-Admin", 1), HUB_ROLE_STAFF);
	/* The right name under the other class's root: no role. */
	assert_int_equal(role(p, fp_a, "staff-alice", 0), HUB_ROLE_NONE);
	assert_int_equal(role(p, fp_s, "appliance-0042", 0), HUB_ROLE_NONE);
	/* An unpinned root, a name of neither class. */
	assert_int_equal(role(p, fp_x, "appliance-0042", 0), HUB_ROLE_NONE);
	assert_int_equal(role(p, fp_a, "printer-7", 0), HUB_ROLE_NONE);
	assert_int_equal(role(p, fp_a, "appliance-1.evil", 0), HUB_ROLE_NONE);
	assert_int_equal(hub_policy_role(p, fp_a, "appliance-1\0", 12, NULL),
	    HUB_ROLE_NONE);
	assert_int_equal(hub_policy_role(NULL, fp_a, "appliance-1", 11, NULL),
	    HUB_ROLE_NONE);
	hub_policy_free(p);
}

static void
test_role_one_root(void **state)
{
	struct hub_policy *p = parse_ok(POLICY_ONE_ROOT);

	assert_int_equal(role(p, fp_a, "appliance-7", 1), HUB_ROLE_APPLIANCE);
	assert_int_equal(role(p, fp_a, "staff-7", 1), HUB_ROLE_STAFF);
	/* Both classes match: ambiguous, refused. */
	assert_int_equal(role(p, fp_a, "shared-7", 2), HUB_ROLE_NONE);
	assert_int_equal(role(p, fp_a, "other-7", 0), HUB_ROLE_NONE);
	assert_int_equal(role(p, fp_s, "staff-7", 0), HUB_ROLE_NONE);
	hub_policy_free(p);
}

static void
test_role_env(void **state)
{
	struct hub_policy *p = parse_ok(POLICY_TWO_ROOTS);
	/* As openvpn leaves it: colon hex, upper case; the top is depth 2. */
	const char *const env[] = { "common_name=staff-alice",
	    "tls_digest_sha256_0=01:02", "tls_digest_sha256_2="
	    "55:55:55:55:55:55:55:55:55:55:55:55:55:55:55:55:"
	    "55:55:55:55:55:55:55:55:55:55:55:55:55:55:55:55",
	    "tls_digest_sha256_1=AA:AA", "tls_digest_sha256_x=bad", NULL };
	const char *const env_a[] = { "tls_digest_sha256_1=" FP_A,
	    "tls_digest_sha256_0=" FP_X, NULL };
	const char *const env_bad[] = { "tls_digest_sha256_1=nothex", NULL };
	const char *const env_none[] = { "common_name=staff-alice", NULL };
	int n = -1;

	assert_int_equal(hub_policy_env_role(p, env, "staff-alice", &n),
	    HUB_ROLE_STAFF);
	assert_int_equal(n, 1);
	assert_int_equal(hub_policy_env_role(p, env, "appliance-1", &n),
	    HUB_ROLE_NONE);
	assert_int_equal(n, 0);
	assert_int_equal(hub_policy_env_role(p, env_a, "appliance-1", NULL),
	    HUB_ROLE_APPLIANCE);
	assert_int_equal(hub_policy_env_role(p, env_bad, "appliance-1", &n),
	    HUB_ROLE_NONE);
	assert_int_equal(hub_policy_env_role(p, env_none, "staff-alice", &n),
	    HUB_ROLE_NONE);
	assert_int_equal(hub_policy_env_role(p, NULL, "staff-alice", &n),
	    HUB_ROLE_NONE);
	assert_int_equal(hub_policy_env_role(p, env_a, NULL, &n),
	    HUB_ROLE_NONE);
	assert_int_equal(hub_policy_env_role(NULL, env_a, "appliance-1", &n),
	    HUB_ROLE_NONE);
	assert_int_equal(n, 0);
	hub_policy_free(p);
}

static void
test_role_names(void **state)
{
	assert_string_equal(hub_role_name(HUB_ROLE_APPLIANCE), "appliance");
	assert_string_equal(hub_role_name(HUB_ROLE_STAFF), "staff");
	assert_null(hub_role_name(HUB_ROLE_NONE));
}

/* --- robustness --- */

/* Every prefix of a valid document and random bytes: refused, no crash. */
static void
test_parse_garbage(void **state)
{
	static const char doc[] = POLICY_TWO_ROOTS;
	struct policy_error err;
	struct hub_policy *p;
	char buf[256];
	unsigned int seed = 1;
	size_t i, j;

	for (i = 0; i + 1 < sizeof(doc); i++) {
		p = hub_policy_parse(doc, i, &err);
		assert_null(p);
		assert_true(err.text[0] != '\0');
	}
	for (i = 0; i < 2000; i++) {
		for (j = 0; j < sizeof(buf); j++)
			buf[j] = (char)(rand_r(&seed) & 0xff);
		assert_null(hub_policy_parse(buf, sizeof(buf), &err));
	}
}

/* --- the policy file in hub mode --- */

static void
write_text(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_non_null(f = fopen(tmp, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static void
test_policy_file_hub(void **state)
{
	char dir[] = "/tmp/svtest-hubpolicy-XXXXXX", path[PATH_MAX];
	struct policy_file pf;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/hub-policy.json", dir);
	assert_int_equal(policy_file_init_hub(&pf, path), 0);
	assert_false(policy_file_loaded(&pf));
	assert_null(pf.hub);
	assert_non_null(strstr(pf.error, "no such file"));
	write_text(path, POLICY_TWO_ROOTS);
	assert_int_equal(policy_file_refresh(&pf), 1);
	assert_true(policy_file_loaded(&pf));
	assert_non_null(pf.hub);
	assert_null(pf.policy);
	assert_int_equal(policy_file_refresh(&pf), 0);
	/* A client policy is not a hub policy. */
	write_text(path, "{\"server_names\": [\"a.example\"], \"ca_sha256\": "
	    "[\"" FP_A "\"]}");
	assert_int_equal(policy_file_refresh(&pf), 1);
	assert_false(policy_file_loaded(&pf));
	assert_non_null(strstr(pf.error, "unknown key 'server_names'"));
	assert_int_equal(policy_file_refresh(&pf), 0);
	write_text(path, POLICY_ONE_ROOT);
	assert_int_equal(policy_file_refresh(&pf), 1);
	assert_true(policy_file_loaded(&pf));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(policy_file_refresh(&pf), 1);
	assert_false(policy_file_loaded(&pf));
	policy_file_deinit(&pf);
	/* And the client mode reads a hub policy as invalid. */
	write_text(path, POLICY_TWO_ROOTS);
	assert_int_equal(policy_file_init(&pf, path), 0);
	assert_false(policy_file_loaded(&pf));
	assert_non_null(strstr(pf.error, "unknown key"));
	policy_file_deinit(&pf);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_pattern_valid),
		cmocka_unit_test(test_match_exact),
		cmocka_unit_test(test_match_star),
		cmocka_unit_test(test_match_limits),
		cmocka_unit_test(test_role_two_roots),
		cmocka_unit_test(test_role_one_root),
		cmocka_unit_test(test_role_env),
		cmocka_unit_test(test_role_names),
		cmocka_unit_test(test_parse_garbage),
		cmocka_unit_test(test_policy_file_hub),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
