/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the plugin's plain modules: the policy parser and name
 * matcher, fingerprints, the consent check (the record's lock held by
 * another open file description of this process), event JSON escaping and
 * size limits, the events of both modes, the event sender, and argument
 * parsing.
 * Links plugin/{policy,consent,event,args}.c; needs jansson, no OpenSSL.
 */
#define _GNU_SOURCE		/* F_OFD_SETLK, setgroups */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../plugin/args.h"
#include "../../plugin/consent.h"
#include "../../plugin/event.h"
#include "../../plugin/policy.h"
#include "supportvpn_event.h"

#define FP_HEX	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FP_COLON "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:" \
		 "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF"

static const unsigned char fp_bytes[POLICY_SHA256_LEN] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

/* snprintf into an array, asserting that it fit. */
#define FMT(buf, ...)	\
	assert_true((size_t)snprintf(buf, sizeof(buf), __VA_ARGS__) < sizeof(buf))

/* A temporary directory per test, removed with everything in it. */
struct tmp {
	char	dir[64];
};

static int
tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/svtest-plugin-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int
tmp_teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

static void
write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void
path_in(const struct tmp *t, char *out, size_t size, const char *name)
{
	assert_true((size_t)snprintf(out, size, "%s/%s", t->dir, name) < size);
}

/* --- fingerprints --- */

static void
test_fingerprint_forms(void **state)
{
	static const char *const good[] = {
		FP_HEX,
		"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
		FP_COLON,
		"01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:"
		    "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef",
		"sha256 Fingerprint=" FP_COLON,
		"SHA256 Fingerprint=" FP_COLON,
		"SHA256 Fingerprint=" FP_HEX,
		"sha256:" FP_HEX,
	};
	unsigned char out[POLICY_SHA256_LEN];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(out, 0, sizeof(out));
		assert_int_equal(policy_fingerprint_parse(good[i], out), 0);
		assert_memory_equal(out, fp_bytes, sizeof(out));
	}
}

static void
test_fingerprint_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"0123",
		/* 63 and 65 digits */
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
		FP_HEX "0",
		"g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		":" FP_COLON,
		FP_COLON ":",
		"01::23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
		    "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF",
		"0:123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		" " FP_HEX,
		FP_HEX "\n",
		"sha1 Fingerprint=" FP_COLON,
		"Fingerprint=" FP_COLON,
	};
	unsigned char out[POLICY_SHA256_LEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(policy_fingerprint_parse(bad[i], out), -1);
}

static void
test_fingerprint_format(void **state)
{
	char text[POLICY_FP_TEXT_LEN];

	policy_fingerprint_format(fp_bytes, text);
	assert_string_equal(text, "sha256:" FP_HEX);
}

/* --- the policy parser --- */

static struct policy *
parse(const char *text, struct policy_error *err)
{
	return policy_parse(text, strlen(text), err);
}

static void
test_policy_valid(void **state)
{
	struct policy_error err;
	struct policy *p;

	p = parse("{\"server_names\": [\"hub1.support.example\", "
	    "\"*.support.example\"], \"ca_sha256\": [\"" FP_COLON "\", "
	    "\"SHA256 Fingerprint=" FP_HEX "\"]}", &err);
	assert_non_null(p);
	assert_int_equal(p->n_names, 2);
	assert_string_equal(p->names[1], "*.support.example");
	assert_int_equal(p->n_ca, 2);
	assert_memory_equal(p->ca[0], fp_bytes, POLICY_SHA256_LEN);
	assert_memory_equal(p->ca[1], fp_bytes, POLICY_SHA256_LEN);
	assert_true(policy_ca_pinned(p, fp_bytes));
	assert_true(policy_name_allowed(p, "HUB1.support.example", 20));
	assert_true(policy_name_allowed(p, "hub9.support.example", 20));
	assert_false(policy_name_allowed(p, "support.example", 15));
	policy_free(p);
	policy_free(NULL);
}

static void
test_policy_unpinned(void **state)
{
	unsigned char other[POLICY_SHA256_LEN];
	struct policy_error err;
	struct policy *p;

	p = parse("{\"server_names\": [\"a.example\"], \"ca_sha256\": [\""
	    FP_HEX "\"]}", &err);
	assert_non_null(p);
	memcpy(other, fp_bytes, sizeof(other));
	other[31] ^= 1;
	assert_false(policy_ca_pinned(p, other));
	policy_free(p);
}

static void
expect_invalid(const char *text, const char *why)
{
	struct policy_error err;
	struct policy *p = parse(text, &err);

	if (p != NULL)
		fail_msg("accepted: %s", text);
	if (strstr(err.text, why) == NULL)
		fail_msg("for %s: got '%s', expected it to say '%s'", text,
		    err.text, why);
}

#define CA	"\"ca_sha256\": [\"" FP_HEX "\"]"
#define NAMES	"\"server_names\": [\"hub1.support.example\"]"

static void
test_policy_invalid(void **state)
{
	expect_invalid("", "not valid JSON");
	expect_invalid("{", "not valid JSON");
	expect_invalid("[]", "not a JSON object");
	expect_invalid("{" NAMES "}", "'ca_sha256' is missing");
	expect_invalid("{" CA "}", "'server_names' is missing");
	expect_invalid("{" NAMES ", " CA ", \"extra\": 1}",
	    "unknown key 'extra'");
	expect_invalid("{" NAMES ", " NAMES ", " CA "}", "duplicate");
	expect_invalid("{\"server_names\": \"hub1.support.example\", " CA "}",
	    "'server_names' must be a non-empty list");
	expect_invalid("{\"server_names\": [], " CA "}",
	    "'server_names' must be a non-empty list");
	expect_invalid("{" NAMES ", \"ca_sha256\": []}",
	    "'ca_sha256' must be a non-empty list");
	expect_invalid("{\"server_names\": [\"a.example\", 7], " CA "}",
	    "server_names[1] is not a string");
	expect_invalid("{" NAMES ", \"ca_sha256\": [null]}",
	    "ca_sha256[0] is not a string");
	expect_invalid("{" NAMES ", \"ca_sha256\": [\"" FP_HEX "\", \"abc\"]}",
	    "ca_sha256[1] 'abc' is not a SHA-256 fingerprint");
	expect_invalid("{" NAMES ", \"ca_sha256\": [\"" FP_HEX "00\"]}",
	    "ca_sha256[0]");
	expect_invalid("null", "not valid JSON");
	expect_invalid("{" NAMES ", " CA "} x", "not valid JSON");
}

static void
test_policy_bad_patterns(void **state)
{
	static const char *const bad[] = {
		"", "*", "*.", "a.*.b", "**.x", "*x.example", "x*.example",
		".example", "example.", "a..example", "*.*.example",
		"hub 1.example", "hub1.suppo\xce\xbfrt.example", "*.",
		"-", "a/b.example", "-hub.example", "hub-.example",
		"*.-x.example",
	};
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(policy_pattern_valid(bad[i]));
		snprintf(text, sizeof(text), "{\"server_names\": [\"ok.example\","
		    " \"%s\"], " CA "}", bad[i]);
		expect_invalid(text, "server_names[1]");
	}
	assert_true(policy_pattern_valid("hub1.support.example"));
	assert_true(policy_pattern_valid("*.support.example"));
	assert_true(policy_pattern_valid("xn--hub-xyz.support.example"));
	assert_true(policy_pattern_valid("localhost"));
	assert_true(policy_pattern_valid("_srv.a-b.example"));
}

/* Names of an exact length made of 63-byte labels. */
static void
long_name(char *out, size_t len, char fill)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = (i % 64 == 63) ? '.' : fill;
	out[len] = '\0';
	/* Labels must not end empty: make the last byte a letter. */
	if (out[len - 1] == '.')
		out[len - 1] = fill;
}

static void
test_pattern_lengths(void **state)
{
	char name[300], tail[300];

	long_name(name, 255, 'a');
	assert_true(policy_pattern_valid(name));
	/* 256 bytes in labels of at most 63. */
	long_name(tail, 254, 'a');
	FMT(name, "a.%s", tail);
	assert_int_equal(strlen(name), 256);
	assert_false(policy_pattern_valid(name));
	/* A 64-byte label is too long. */
	memset(name, 'a', 64);
	strcpy(name + 64, ".example");
	assert_false(policy_pattern_valid(name));
}

/* --- the name matcher --- */

static bool
match(const char *pattern, const char *name)
{
	return policy_name_match(pattern, name, strlen(name));
}

static void
test_match_exact(void **state)
{
	assert_true(match("hub1.support.example", "hub1.support.example"));
	assert_true(match("hub1.support.example", "HUB1.Support.EXAMPLE"));
	assert_true(match("HUB1.SUPPORT.EXAMPLE", "hub1.support.example"));
	assert_false(match("hub1.support.example", "hub2.support.example"));
	assert_false(match("hub1.support.example", "hub1.support.example."));
	assert_false(match("hub1.support.example", ".hub1.support.example"));
	assert_false(match("hub1.support.example", "hub1.support.exampl"));
	assert_false(match("hub1.support.example", "hub1.support.examplex"));
	assert_false(match("hub1.support.example", "x.hub1.support.example"));
	assert_false(match("hub1.support.example", ""));
}

static void
test_match_wildcard(void **state)
{
	const char *w = "*.support.example";

	assert_true(match(w, "hub1.support.example"));
	assert_true(match(w, "HUB-2.SUPPORT.example"));
	assert_true(match(w, "x.support.example"));
	assert_false(match(w, "support.example"));
	assert_false(match(w, "a.b.support.example"));
	assert_false(match(w, ".support.example"));
	assert_false(match(w, "hub1..support.example"));
	assert_false(match(w, "hub1.support.example."));
	assert_false(match(w, "hub1.xsupport.example"));
	assert_false(match(w, "hub1.support.example.evil"));
	assert_false(match(w, "*.support.example"));
	assert_false(match(w, "hub 1.support.example"));
	assert_false(match(w, ""));
}

static void
test_match_empty_labels(void **state)
{
	assert_false(match("a.example", "a..example"));
	assert_false(match("*.example", "..example"));
	assert_false(match("*.example", "."));
	assert_false(match("*.example", "a."));
	assert_false(policy_name_match("a.example", "", 0));
}

static void
test_match_embedded_nul(void **state)
{
	static const char n1[] = "hub1.support.example\0.evil.example";
	static const char n2[] = "hub1\0.support.example";
	static const char n3[] = "hub1.support.example\0";

	assert_false(policy_name_match("hub1.support.example", n1,
	    sizeof(n1) - 1));
	assert_false(policy_name_match("*.support.example", n1,
	    sizeof(n1) - 1));
	assert_false(policy_name_match("*.support.example", n2,
	    sizeof(n2) - 1));
	assert_false(policy_name_match("hub1.support.example", n3,
	    sizeof(n3) - 1));
	/* Only the first len bytes count. */
	assert_true(policy_name_match("hub1.support.example", n1, 20));
}

static void
test_match_lengths(void **state)
{
	char name[300], pattern[300], tail[300];

	/* 255 bytes matches itself. */
	long_name(name, 255, 'b');
	assert_true(policy_name_match(name, name, 255));
	/* A wildcard over a 252-byte tail: 255 bytes match, 256 never. */
	long_name(tail, 252, 'b');
	FMT(pattern, "*.%s", tail);
	assert_true(policy_pattern_valid(pattern));
	FMT(name, "cc.%s", tail);
	assert_int_equal(strlen(name), 255);
	assert_true(policy_name_match(pattern, name, 255));
	FMT(name, "ccc.%s", tail);
	assert_int_equal(strlen(name), 256);
	assert_false(policy_name_match(pattern, name, 256));
}

static void
test_match_idn(void **state)
{
	assert_true(match("xn--hub-xyz.support.example",
	    "xn--hub-xyz.support.example"));
	assert_true(match("*.support.example", "xn--hub-xyz.support.example"));
	assert_false(match("*.support.example", "-hub.support.example"));
	assert_false(match("hub.support.example",
	    "xn--hub-xyz.support.example"));
	/* Greek omicron (U+03BF, CE BF) in place of 'o'. */
	assert_false(match("hub1.support.example",
	    "hub1.supp\xce\xbfrt.example"));
	assert_false(match("*.support.example", "hub1.supp\xce\xbfrt.example"));
	/* A non-ASCII wildcard label never matches. */
	assert_false(match("*.support.example", "h\xc3\xbc" "b.support.example"));
	/* Case folding is ASCII only: the 'K' Kelvin sign is not 'k'. */
	assert_false(match("k.example", "\xe2\x84\xaa.example"));
}

static void
test_match_invalid_pattern(void **state)
{
	assert_false(match("*", "*"));
	assert_false(match("*", "a"));
	assert_false(match("", ""));
	assert_false(match("a.*.b", "a.x.b"));
}

/* --- consent --- */

#define CONSENT_PID	4321
#define CONSENT_V2	"{\"v\":2,\"pid\":4321,\"granted_at\":" \
			"\"2026-11-27T01:19:08Z\"}"
#define CONSENT_V1	"{\"v\":1,\"pid\":4321,\"start_time\":987654321," \
			"\"granted_at\":\"2026-11-27T01:19:08Z\"}"

/* Whole-file OFD lock of type on fd. */
static int
ofd_lock(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };

	return fcntl(fd, F_OFD_SETLK, &fl);
}

/*
 * Writes text to path with mode as the controller does and returns the
 * descriptor holding the write lock: another open file description of
 * this process than the one consent_check opens, so the two conflict as
 * the controller's and openvpn's do.
 */
static int
write_locked(const char *path, const char *text, mode_t mode)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ofd_lock(fd, F_WRLCK), 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	return fd;
}

static void
test_consent_parse(void **state)
{
	static const char *const bad[] = {
		"", "[]", "{}", "nope",
		"{\"v\":3,\"pid\":1,\"granted_at\":\"t\"}",
		"{\"v\":\"2\",\"pid\":1,\"granted_at\":\"t\"}",
		"{\"v\":2,\"pid\":0,\"granted_at\":\"t\"}",
		"{\"v\":2,\"pid\":-5,\"granted_at\":\"t\"}",
		"{\"v\":2,\"pid\":\"1\",\"granted_at\":\"t\"}",
		"{\"v\":2,\"pid\":3000000000,\"granted_at\":\"t\"}",
		"{\"v\":2,\"pid\":1.5,\"granted_at\":\"t\"}",
		"{\"v\":2,\"pid\":1}",
		"{\"v\":2,\"pid\":1,\"granted_at\":7}",
		"{\"v\":2,\"pid\":1,\"granted_at\":\"\"}",
		"{\"v\":2,\"pid\":1,\"granted_at\":\"t\",\"extra\":1}",
		/* v1's field under v2 */
		"{\"v\":2,\"pid\":1,\"start_time\":1,\"granted_at\":\"t\"}",
		"{\"v\":2,\"pid\":1,\"pid\":2,\"granted_at\":\"t\"}",
		"{\"pid\":1,\"granted_at\":\"t\"}",
	};
	static const char nonprint[] = "{\"v\":2,\"pid\":7,\"granted_at\":"
	    "\"a\\nb\\u0001c\"}";
	struct consent_record rec;
	char why[128];
	size_t i;

	assert_int_equal(consent_parse_record(CONSENT_V2,
	    strlen(CONSENT_V2), &rec, why, sizeof(why)), 0);
	assert_int_equal(rec.pid, CONSENT_PID);
	assert_string_equal(rec.granted_at, "2026-11-27T01:19:08Z");
	assert_int_equal(consent_parse_record(nonprint, strlen(nonprint),
	    &rec, why, sizeof(why)), 0);
	assert_string_equal(rec.granted_at, "a?b?c");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (consent_parse_record(bad[i], strlen(bad[i]), &rec, why,
		    sizeof(why)) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(why[0] != '\0');
	}
	/* A record from a controller that proved itself through /proc. */
	assert_int_equal(consent_parse_record(CONSENT_V1, strlen(CONSENT_V1),
	    &rec, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "old format"));
}

static enum consent_status
check(const char *path, char *why, size_t whylen)
{
	return consent_check(path, getuid(), why, whylen);
}

static void
test_consent_check(void **state)
{
	struct tmp *t = *state;
	char path[PATH_MAX], why[300];
	int lk, rd;

	path_in(t, path, sizeof(path), "consent");
	/* Held by another open file description, even of this process. */
	lk = write_locked(path, CONSENT_V2, 0644);
	assert_int_equal(check(path, why, sizeof(why)), CONSENT_OK);
	assert_string_equal(why, "given by pid 4321 at 2026-11-27T01:19:08Z");
	assert_string_equal(consent_status_name(CONSENT_OK), "ok");
	/* Nobody holds it: the controller is gone. */
	assert_int_equal(close(lk), 0);
	assert_int_equal(check(path, why, sizeof(why)), CONSENT_STALE);
	assert_non_null(strstr(why, "(pid 4321) is gone: nobody holds its "
	    "lock"));
	assert_string_equal(consent_status_name(CONSENT_STALE), "stale");
	/* A reader's read lock (anyone may take one) is not the controller. */
	rd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(rd >= 0);
	assert_int_equal(ofd_lock(rd, F_RDLCK), 0);
	assert_int_equal(check(path, why, sizeof(why)), CONSENT_STALE);
	assert_int_equal(close(rd), 0);
	/* A v1 record, even locked, is refused. */
	lk = write_locked(path, CONSENT_V1, 0644);
	assert_int_equal(check(path, why, sizeof(why)), CONSENT_CORRUPT);
	assert_non_null(strstr(why, "old format"));
	assert_int_equal(close(lk), 0);
	/* Missing. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(check(path, why, sizeof(why)), CONSENT_MISSING);
	assert_non_null(strstr(why, "does not exist"));
	assert_string_equal(consent_status_name(CONSENT_MISSING), "missing");
	assert_string_equal(consent_status_name(CONSENT_UNREADABLE),
	    "unreadable");
}

/*
 * openvpn after `user nobody` opens the record read-only: F_OFD_GETLK
 * works on such a descriptor and sees the controller's write lock.
 */
static void
test_consent_read_only(void **state)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	struct tmp *t = *state;
	char path[PATH_MAX], why[300];
	int lk, rd, status;
	pid_t child;

	path_in(t, path, sizeof(path), "consent");
	lk = write_locked(path, CONSENT_V2, 0644);
	rd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(rd >= 0);
	assert_int_equal(fcntl(rd, F_OFD_GETLK, &fl), 0);
	assert_int_equal(fl.l_type, F_WRLCK);
	assert_int_equal(close(rd), 0);
	if (geteuid() != 0) {
		assert_int_equal(close(lk), 0);
		return;		/* the check as nobody needs root */
	}
	/* As nobody, like openvpn after dropping privileges: the record
	 * is root's, 0644, in a directory others may only traverse. */
	assert_int_equal(chmod(t->dir, 0711), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
		    setuid(65534) < 0)
			_exit(3);
		if (open(path, O_RDWR) >= 0)
			_exit(4);	/* not read-only: proves nothing */
		_exit(consent_check(path, 0, why, sizeof(why)) == CONSENT_OK ?
		    0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(close(lk), 0);
	/* And as nobody, without the lock: stale. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
		    setuid(65534) < 0)
			_exit(3);
		_exit(consent_check(path, 0, why, sizeof(why)) ==
		    CONSENT_STALE ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_consent_file_rules(void **state)
{
	struct tmp *t = *state;
	char path[PATH_MAX], why[300], link_path[PATH_MAX];
	char big[SVPN_CONSENT_MAX + 2];
	int lk;

	path_in(t, path, sizeof(path), "consent");
	lk = write_locked(path, CONSENT_V2, 0644);
	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(check(path, why, sizeof(why)), CONSENT_BAD_FILE);
	assert_non_null(strstr(why, "writable by group or others"));
	assert_int_equal(chmod(path, 0646), 0);
	assert_int_equal(check(path, why, sizeof(why)), CONSENT_BAD_FILE);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(check(path, why, sizeof(why)), CONSENT_OK);
	assert_int_equal(chmod(path, 0644), 0);
	/* The owner: root, or the uid the plugin had at open. */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 12345, 12345), 0);
		assert_int_equal(check(path, why, sizeof(why)),
		    CONSENT_BAD_FILE);
		assert_non_null(strstr(why, "owned by uid 12345"));
		assert_int_equal(consent_check(path, 12345, why, sizeof(why)),
		    CONSENT_OK);
		assert_int_equal(chown(path, 0, 0), 0);
		/* Root-owned is fine whatever the plugin's uid. */
		assert_int_equal(consent_check(path, 12345, why, sizeof(why)),
		    CONSENT_OK);
	}
	/* A symlink to a good, locked record is refused. */
	path_in(t, link_path, sizeof(link_path), "consent-link");
	assert_int_equal(symlink(path, link_path), 0);
	assert_int_equal(check(link_path, why, sizeof(why)),
	    CONSENT_BAD_FILE);
	assert_non_null(strstr(why, "symbolic link"));
	assert_int_equal(close(lk), 0);
	/* A directory, a FIFO (no writer: must not block). */
	assert_int_equal(check(t->dir, why, sizeof(why)), CONSENT_BAD_FILE);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(check(path, why, sizeof(why)), CONSENT_BAD_FILE);
	assert_non_null(strstr(why, "not a regular file"));
	/* Too large, then corrupt: refused before the lock matters. */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	lk = write_locked(path, big, 0644);
	assert_int_equal(check(path, why, sizeof(why)), CONSENT_CORRUPT);
	assert_int_equal(close(lk), 0);
	lk = write_locked(path, "{\"v\":2,", 0644);
	assert_int_equal(check(path, why, sizeof(why)), CONSENT_CORRUPT);
	assert_int_equal(close(lk), 0);
	lk = write_locked(path, "", 0644);
	assert_int_equal(check(path, why, sizeof(why)), CONSENT_CORRUPT);
	assert_int_equal(close(lk), 0);
	assert_string_equal(consent_status_name(CONSENT_CORRUPT), "corrupt");
	assert_string_equal(consent_status_name(CONSENT_BAD_FILE),
	    "bad owner/mode");
}

/* --- event JSON --- */

static void
expect_escape(const char *in, size_t len, const char *want)
{
	char out[256];
	bool cut;
	size_t n = event_json_escape(out, sizeof(out), in, len, &cut);

	assert_false(cut);
	assert_int_equal(n, strlen(want));
	assert_string_equal(out, want);
}

static void
test_escape(void **state)
{
	expect_escape("hub1.support.example", 20, "hub1.support.example");
	expect_escape("a\"b\\c", 5, "a\\\"b\\\\c");
	expect_escape("a\nb\tc\x01\x1f\x7f", 8,
	    "a\\u000ab\\u0009c\\u0001\\u001f\\u007f");
	expect_escape("a\0b", 3, "a\\ufffdb");
	/* Valid UTF-8 stays: u-umlaut, Greek omicron, an emoji. */
	expect_escape("h\xc3\xbc" "b", 4, "h\xc3\xbc" "b");
	expect_escape("\xce\xbf", 2, "\xce\xbf");
	expect_escape("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");
	/* Invalid: stray byte, cut sequence, overlong, surrogate, > 10FFFF. */
	expect_escape("a\xff", 2, "a\\ufffd");
	expect_escape("a\xc3", 2, "a\\ufffd");
	expect_escape("\xc0\xaf", 2, "\\ufffd\\ufffd");
	expect_escape("\xe0\x80\xaf", 3, "\\ufffd\\ufffd\\ufffd");
	expect_escape("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd");
	expect_escape("\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd");
	expect_escape("\xe2\x82", 2, "\\ufffd\\ufffd");
	expect_escape("", 0, "");
}

static void
test_escape_cut(void **state)
{
	char out[8];
	bool cut;

	/* Whole characters only: "ab" + \u0001 (6) does not fit in 7+1. */
	assert_int_equal(event_json_escape(out, sizeof(out), "ab\x01", 3, &cut),
	    2);
	assert_true(cut);
	assert_string_equal(out, "ab");
	/* A multi-byte character is never split. */
	assert_int_equal(event_json_escape(out, 4, "ab\xc3\xbc", 4, &cut), 2);
	assert_true(cut);
	assert_int_equal(event_json_escape(out, 5, "ab\xc3\xbc", 4, &cut), 4);
	assert_false(cut);
}

static json_t *
load_event(const struct event_buf *b, size_t len)
{
	json_error_t jerr;
	json_t *j;

	assert_int_equal(strlen(b->data), len);
	assert_true(len <= SVPN_EVENT_MAX);
	j = json_loadb(b->data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		fail_msg("not JSON (%s): %s", jerr.text, b->data);
	return j;
}

static void
test_event_build(void **state)
{
	struct event_buf b;
	json_t *j;
	size_t len;
	const char *s;

	event_begin(&b, SVPN_EV_TLS_VERIFY, 4242);
	event_add_int(&b, SVPN_EV_DEPTH, 0);
	event_add_str(&b, SVPN_EV_RESULT, SVPN_RESULT_REFUSED);
	event_add_str(&b, SVPN_EV_RULE, SVPN_RULE_SERVER_NAME);
	event_add_str(&b, SVPN_EV_DEV, NULL);
	event_add_str(&b, SVPN_EV_NETMASK, "");
	event_add_bytes(&b, SVPN_EV_CN, "evil\0\"x\"\n\xff", 10);
	event_add_int(&b, SVPN_EV_SERVER_PORT, 1194);
	len = event_end(&b);
	assert_false(b.truncated);
	j = load_event(&b, len);
	assert_int_equal(json_integer_value(json_object_get(j, "v")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "type")),
	    "tls_verify");
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 4242);
	assert_int_equal(json_integer_value(json_object_get(j, "depth")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "server_port")),
	    1194);
	assert_null(json_object_get(j, "dev"));
	assert_null(json_object_get(j, "netmask"));
	s = json_string_value(json_object_get(j, "cn"));
	assert_string_equal(s, "evil\xef\xbf\xbd\"x\"\n\xef\xbf\xbd");
	/* No NUL inside: the controller refuses strings that have one. */
	assert_int_equal(strlen(s), json_string_length(json_object_get(j,
	    "cn")));
	json_decref(j);
}

static void
test_event_size_limit(void **state)
{
	static const char *const keys[] = {
		SVPN_EV_REASON, SVPN_EV_CN, SVPN_EV_DEV, SVPN_EV_LOCAL_IP,
		SVPN_EV_LOCAL_IP6, SVPN_EV_NETMASK, SVPN_EV_SIGNAL,
	};
	char big[3000];
	struct event_buf b;
	json_t *j;
	size_t len, i;

	/* One value longer than the cap is cut to it. */
	memset(big, 'x', sizeof(big));
	event_begin(&b, SVPN_EV_UP, 1);
	event_add_bytes(&b, SVPN_EV_REASON, big, sizeof(big));
	len = event_end(&b);
	assert_true(b.truncated);
	j = load_event(&b, len);
	assert_int_equal(json_string_length(json_object_get(j, "reason")),
	    EVENT_STR_CAP);
	json_decref(j);
	/* Worst case escaping (6 bytes per input byte) in every field. */
	memset(big, '\x01', sizeof(big));
	event_begin(&b, SVPN_EV_UP, 1);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		event_add_bytes(&b, keys[i], big, sizeof(big));
	event_add_int(&b, SVPN_EV_SERVER_PORT, 1194);
	len = event_end(&b);
	assert_true(b.truncated);
	assert_true(len <= SVPN_EVENT_MAX);
	j = load_event(&b, len);
	assert_string_equal(json_string_value(json_object_get(j, "type")),
	    "up");
	assert_non_null(json_object_get(j, "reason"));
	assert_null(json_object_get(j, "signal"));
	/* A small field after ones that did not fit still goes in. */
	assert_int_equal(json_integer_value(json_object_get(j, "server_port")),
	    1194);
	json_decref(j);
}

static void
test_printable(void **state)
{
	char out[32];

	event_printable(out, sizeof(out), "hub1.example", 12);
	assert_string_equal(out, "hub1.example");
	event_printable(out, sizeof(out), "a\0b\n\\'", 6);
	assert_string_equal(out, "a\\x00b\\x0a\\x5c'");
	event_printable(out, 8, "abcdefghijkl", 12);
	assert_string_equal(out, "abcd...");
	event_printable(out, 8, "abcdefg", 7);
	assert_string_equal(out, "abcdefg");
	event_printable(out, 4, "\xff\xff", 2);
	assert_string_equal(out, "...");
}

static void
test_env(void **state)
{
	const char *envp[] = {
		"common_name=hub1.support.example", "trusted_port=1194",
		"untrusted_port=99999", "bad_port=12x", "empty=", "noeq",
		"trusted_portx=1", NULL,
	};
	const char *const *e = envp;

	assert_string_equal(event_env_get(e, "common_name"),
	    "hub1.support.example");
	assert_string_equal(event_env_get(e, "empty"), "");
	assert_null(event_env_get(e, "noeq"));
	assert_null(event_env_get(e, "common"));
	assert_null(event_env_get(NULL, "x"));
	assert_int_equal(event_env_port(e, "trusted_port"), 1194);
	assert_int_equal(event_env_port(e, "untrusted_port"), -1);
	assert_int_equal(event_env_port(e, "bad_port"), -1);
	assert_int_equal(event_env_port(e, "empty"), -1);
	assert_int_equal(event_env_port(e, "missing"), -1);
}

/* Parses b and checks it has exactly the given string/int fields. */
static void
expect_fields(struct event_buf *b, const char *type, const char *const *kv)
{
	json_t *j = load_event(b, event_end(b));
	size_t n = 3, i;

	assert_string_equal(json_string_value(json_object_get(j, "type")),
	    type);
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 77);
	for (i = 0; kv[i] != NULL; i += 2, n++) {
		json_t *v = json_object_get(j, kv[i]);

		if (v == NULL)
			fail_msg("%s: no '%s'", type, kv[i]);
		if (json_is_integer(v))
			assert_int_equal(json_integer_value(v),
			    strtoll(kv[i + 1], NULL, 10));
		else
			assert_string_equal(json_string_value(v), kv[i + 1]);
	}
	if (json_object_size(j) != n)
		fail_msg("%s: %zu fields, expected %zu: %s", type,
		    json_object_size(j), n, b->data);
	json_decref(j);
}

static void
test_event_hooks(void **state)
{
	const char *envp[] = {
		"dev=tun0", "ifconfig_local=203.0.113.2",
		"ifconfig_netmask=255.255.255.0",
		"ifconfig_ipv6_local=2001:db8::2", "trusted_ip=198.51.100.7",
		"trusted_port=1194", "untrusted_ip=198.51.100.9",
		"untrusted_port=1195", "common_name=hub1.support.example",
		"tls_digest_sha256_0=" FP_COLON, "signal=sigusr1", NULL,
	};
	const char *v6[] = { "trusted_ip6=2001:db8::7", "trusted_port=1194",
	    NULL };
	const char *none[] = { NULL };
	const char *const *e = envp;
	struct event_buf b;

	event_tls_verify(&b, 77, e, 0, SVPN_RULE_SERVER_NAME, "why",
	    "sha256:" FP_HEX, "a\0b", 3);
	expect_fields(&b, "tls_verify", (const char *const []){ "depth", "0",
	    "result", "refused", "rule", "server_name", "reason", "why",
	    "sha256", "sha256:" FP_HEX, "cn", "a\xef\xbf\xbd" "b",
	    "server_ip", "198.51.100.9", "server_port", "1195", NULL });
	event_tls_verify(&b, 77, e, 1, NULL, "ok", NULL, NULL, 0);
	expect_fields(&b, "tls_verify", (const char *const []){ "depth", "1",
	    "result", "accepted", "reason", "ok", "server_ip", "198.51.100.9",
	    "server_port", "1195", NULL });
	event_ipchange(&b, 77, e);
	expect_fields(&b, "ipchange", (const char *const []){ "server_ip",
	    "198.51.100.7", "server_port", "1194", "cn",
	    "hub1.support.example", NULL });
	event_ipchange(&b, 77, v6);
	expect_fields(&b, "ipchange", (const char *const []){ "server_ip",
	    "2001:db8::7", "server_port", "1194", NULL });
	event_up(&b, 77, e);
	expect_fields(&b, "up", (const char *const []){ "dev", "tun0",
	    "local_ip", "203.0.113.2", "local_ip6", "2001:db8::2",
	    "netmask", "255.255.255.0", "server_ip", "198.51.100.7",
	    "server_port", "1194", "cn", "hub1.support.example", "sha256",
	    "sha256:" FP_HEX, NULL });
	event_route_up(&b, 77, e);
	expect_fields(&b, "route_up", (const char *const []){ "dev", "tun0",
	    "local_ip", "203.0.113.2", "server_ip", "198.51.100.7",
	    "server_port", "1194", NULL });
	event_down(&b, SVPN_EV_ROUTE_PREDOWN, 77, e);
	expect_fields(&b, "route_predown", (const char *const []){ "dev",
	    "tun0", "local_ip", "203.0.113.2", "signal", "sigusr1", NULL });
	event_down(&b, SVPN_EV_DOWN, 77, none);
	expect_fields(&b, "down", (const char *const []){ NULL });
	event_up(&b, 77, none);
	expect_fields(&b, "up", (const char *const []){ NULL });
}

/* --- the event sender --- */

static int
bind_dgram(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void
expect_datagram(int fd, const char *want)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_int_equal(n, (ssize_t)strlen(want));
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void
test_sender(void **state)
{
	struct tmp *t = *state;
	struct event_sender s;
	char path[PATH_MAX];
	int rx, rc, i;

	path_in(t, path, sizeof(path), "events.sock");
	/* Nobody listens yet: opening still works. */
	assert_int_equal(event_sender_open(&s, path, 0), 0);
	assert_false(s.connected);
	assert_int_equal(s.last_errno, ENOENT);
	rx = bind_dgram(path);
	/* Re-connects at most once a second. */
	assert_true(event_sender_send(&s, "a", 1, 500) < 0);
	assert_int_equal(s.dropped, 1);
	assert_int_equal(event_sender_send(&s, "b", 1, 1000), 0);
	expect_datagram(rx, "b");
	/* The receiver goes away and comes back (a restarted daemon). */
	close(rx);
	assert_int_equal(unlink(path), 0);
	rc = event_sender_send(&s, "c", 1, 1200);
	assert_true(rc == -ECONNREFUSED || rc == -ENOENT);
	rx = bind_dgram(path);
	assert_true(event_sender_send(&s, "d", 1, 1500) < 0);
	assert_int_equal(event_sender_send(&s, "e", 1, 2200), 0);
	expect_datagram(rx, "e");
	/* A full queue drops without blocking. */
	for (i = 0; i < 100000; i++)
		if ((rc = event_sender_send(&s, "0123456789", 10, 3000)) < 0)
			break;
	assert_int_equal(rc, -EAGAIN);
	assert_true(s.dropped >= 4);
	assert_int_equal(s.sent, (unsigned long)i + 2);
	event_sender_close(&s);
	event_sender_close(&s);
	assert_true(event_sender_send(&s, "f", 1, 9000) < 0);
	close(rx);
	/* A path too long for sun_path. */
	memset(path, 'a', 200);
	path[200] = '\0';
	assert_int_equal(event_sender_open(&s, path, 0), -ENAMETOOLONG);
	assert_int_equal(s.fd, -1);
}

static void
test_event_hub(void **state)
{
	const char *envp[] = {
		"common_name=appliance-0042", "trusted_ip=198.51.100.20",
		"trusted_port=40001", "untrusted_ip=198.51.100.21",
		"untrusted_port=40002", "ifconfig_pool_remote_ip=203.0.113.9",
		"tls_digest_sha256_0=" FP_COLON, "bytes_received=5000000000",
		"bytes_sent=123", "time_duration=3600", NULL,
	};
	const char *bad[] = { "common_name=staff-a", "bytes_received=-1",
	    "bytes_sent=12x", "time_duration=99999999999999999999",
	    "trusted_ip6=2001:db8::20", "trusted_port=70000", NULL };
	const char *none[] = { NULL };
	const char *const *e = envp;
	struct event_buf b;

	event_hub_tls_verify(&b, 77, e, 0, NULL, "ok", "sha256:" FP_HEX,
	    "appliance-0042", 14, SVPN_ROLE_APPLIANCE);
	expect_fields(&b, "tls_verify", (const char *const []){ "depth", "0",
	    "result", "accepted", "reason", "ok", "sha256", "sha256:" FP_HEX,
	    "cn", "appliance-0042", "real_ip", "198.51.100.21", "real_port",
	    "40002", "role", "appliance", NULL });
	event_hub_tls_verify(&b, 77, e, 0, SVPN_RULE_ROLE, "why", NULL,
	    "x", 1, NULL);
	expect_fields(&b, "tls_verify", (const char *const []){ "depth", "0",
	    "result", "refused", "rule", "role", "reason", "why", "cn", "x",
	    "real_ip", "198.51.100.21", "real_port", "40002", NULL });
	event_client_connect(&b, 77, e, SVPN_ROLE_APPLIANCE);
	expect_fields(&b, "client_connect", (const char *const []){ "cn",
	    "appliance-0042", "role", "appliance", "real_ip",
	    "198.51.100.20", "real_port", "40001", "tunnel_ip",
	    "203.0.113.9", "sha256", "sha256:" FP_HEX, NULL });
	event_client_connect(&b, 77, none, NULL);
	expect_fields(&b, "client_connect", (const char *const []){ NULL });
	event_learn_address(&b, 77, "add", "203.0.113.9", "appliance-0042",
	    SVPN_ROLE_APPLIANCE);
	expect_fields(&b, "learn_address", (const char *const []){ "op", "add",
	    "addr", "203.0.113.9", "cn", "appliance-0042", "role",
	    "appliance", NULL });
	event_learn_address(&b, 77, "delete", "203.0.113.9", NULL, NULL);
	expect_fields(&b, "learn_address", (const char *const []){ "op",
	    "delete", "addr", "203.0.113.9", NULL });
	/* Counters past 2^32 stay whole. */
	event_client_disconnect(&b, 77, e, SVPN_ROLE_STAFF);
	expect_fields(&b, "client_disconnect", (const char *const []){ "cn",
	    "appliance-0042", "role", "staff", "real_ip", "198.51.100.20",
	    "tunnel_ip", "203.0.113.9", "bytes_in", "5000000000",
	    "bytes_out", "123", "duration_s", "3600", NULL });
	/* Counters that are not counts are left out; an IPv6 peer. */
	event_client_disconnect(&b, 77, bad, NULL);
	expect_fields(&b, "client_disconnect", (const char *const []){ "cn",
	    "staff-a", "real_ip", "2001:db8::20", NULL });
	event_client_connect(&b, 77, bad, NULL);
	expect_fields(&b, "client_connect", (const char *const []){ "cn",
	    "staff-a", "real_ip", "2001:db8::20", NULL });
	assert_int_equal(event_env_count(e, "bytes_received"), 5000000000LL);
	assert_int_equal(event_env_count(bad, "bytes_received"), -1);
	assert_int_equal(event_env_count(bad, "time_duration"), -1);
	assert_int_equal(event_env_count(bad, "nothing"), -1);
}

/* --- arguments --- */

static int
parse_args(const char *const *argv, struct args *a, char *why, size_t len)
{
	return args_parse(argv, a, why, len);
}

static void
test_args(void **state)
{
	const char *ok[] = { "/p.so", "policy=/etc/p.json",
	    "events=/run/e.sock", "consent=/run/consent", NULL };
	const char *missing[] = { "/p.so", "events=/e", NULL };
	const char *unknown[] = { "/p.so", "events=/e", "consent=/c",
	    "policy=/p", "foo=bar", "verbose", NULL };
	const char *twice[] = { "/p.so", "events=/e", "events=/f",
	    "consent=/c", "policy=/p", NULL };
	const char *empty[] = { "/p.so", "events=", "consent=/c", "policy=/p",
	    NULL };
	const char *none[] = { "/p.so", NULL };
	char longp[160] = "events=/";
	const char *toolong[] = { "/p.so", longp, "consent=/c", "policy=/p",
	    NULL };
	struct args a;
	char why[512];

	assert_int_equal(parse_args(ok, &a, why, sizeof(why)), 0);
	assert_string_equal(a.events, "/run/e.sock");
	assert_string_equal(a.consent, "/run/consent");
	assert_string_equal(a.policy, "/etc/p.json");
	args_deinit(&a);
	args_deinit(&a);

	assert_int_equal(parse_args(missing, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "missing consent=PATH policy=PATH"));
	assert_null(a.events);

	assert_int_equal(parse_args(unknown, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "unknown argument 'foo'"));
	assert_non_null(strstr(why, "malformed argument 'verbose'"));
	assert_null(strstr(why, "missing"));

	assert_int_equal(parse_args(twice, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "'events=/f' given twice"));

	assert_int_equal(parse_args(empty, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "'events=' has an empty value"));

	assert_int_equal(parse_args(none, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "missing events=PATH consent=PATH "
	    "policy=PATH"));

	memset(longp + 8, 'a', 120);
	longp[128] = '\0';
	assert_int_equal(parse_args(toolong, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "too long for a unix socket"));
	assert_null(a.events);
}

static void
test_args_mode(void **state)
{
	const char *client[] = { "/p.so", "mode=client", "events=/e",
	    "consent=/c", "policy=/p", NULL };
	const char *hub[] = { "/p.so", "policy=/p", "mode=hub", "events=/e",
	    NULL };
	const char *hub_consent[] = { "/p.so", "mode=hub", "events=/e",
	    "consent=/c", "policy=/p", NULL };
	const char *hub_missing[] = { "/p.so", "mode=hub", NULL };
	const char *client_missing[] = { "/p.so", "mode=client", "events=/e",
	    "policy=/p", NULL };
	const char *bad_mode[] = { "/p.so", "mode=server", "events=/e",
	    NULL };
	const char *twice[] = { "/p.so", "mode=hub", "mode=hub", "events=/e",
	    "policy=/p", NULL };
	const char *hub_unknown[] = { "/p.so", "mode=hub", "events=/e",
	    "policy=/p", "grants=/g", NULL };
	struct args a;
	char why[512];

	assert_int_equal(parse_args(client, &a, why, sizeof(why)), 0);
	assert_int_equal(a.mode, ARGS_MODE_CLIENT);
	assert_string_equal(a.consent, "/c");
	args_deinit(&a);

	assert_int_equal(parse_args(hub, &a, why, sizeof(why)), 0);
	assert_int_equal(a.mode, ARGS_MODE_HUB);
	assert_string_equal(a.events, "/e");
	assert_string_equal(a.policy, "/p");
	assert_null(a.consent);
	args_deinit(&a);

	assert_int_equal(parse_args(hub_consent, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "consent= is refused in mode=hub"));
	assert_null(strstr(why, "missing"));
	assert_null(a.events);

	assert_int_equal(parse_args(hub_missing, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "missing events=PATH policy=PATH;"));

	assert_int_equal(parse_args(client_missing, &a, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "missing consent=PATH;"));

	/* An unknown mode is named; what it would require is not guessed. */
	assert_int_equal(parse_args(bad_mode, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "unknown mode 'server' (client or hub)"));
	assert_null(strstr(why, "missing"));

	assert_int_equal(parse_args(twice, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "'mode=hub' given twice"));

	assert_int_equal(parse_args(hub_unknown, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "unknown argument 'grants'"));
	assert_non_null(strstr(why, "usage: "));
}

/* --- the policy file cache --- */

static void
test_policy_file(void **state)
{
	struct tmp *t = *state;
	struct policy_file pf;
	char path[PATH_MAX];
	static const char good[] = "{\"server_names\": [\"a.example\"], "
	    "\"ca_sha256\": [\"" FP_HEX "\"]}";
	static const char good2[] = "{\"server_names\": [\"a.example\", "
	    "\"b.example\"], \"ca_sha256\": [\"" FP_HEX "\"]}";
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000, 0 } };

	path_in(t, path, sizeof(path), "policy.json");
	/* Missing at start: no policy, a reason, and no news on refresh. */
	assert_int_equal(policy_file_init(&pf, path), 0);
	assert_null(pf.policy);
	assert_non_null(strstr(pf.error, "no such file"));
	assert_int_equal(policy_file_refresh(&pf), 0);
	/* Appears. */
	write_file(path, good, sizeof(good) - 1, 0644);
	assert_int_equal(policy_file_refresh(&pf), 1);
	assert_non_null(pf.policy);
	assert_int_equal(pf.policy->n_names, 1);
	assert_int_equal(policy_file_refresh(&pf), 0);
	/* Rewritten in place (same inode): the mtime says it changed. */
	write_file(path, good2, sizeof(good2) - 1, 0644);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	assert_int_equal(policy_file_refresh(&pf), 1);
	assert_int_equal(pf.policy->n_names, 2);
	/* Broken: refuse everything, say why, once. */
	write_file(path, "{\"server_names\": [\"*\"], " CA "}",
	    strlen("{\"server_names\": [\"*\"], " CA "}"), 0644);
	assert_int_equal(policy_file_refresh(&pf), 1);
	assert_null(pf.policy);
	assert_non_null(strstr(pf.error, "server_names[0]"));
	assert_int_equal(policy_file_refresh(&pf), 0);
	/* Gone. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(policy_file_refresh(&pf), 1);
	assert_non_null(strstr(pf.error, "no such file"));
	assert_int_equal(policy_file_refresh(&pf), 0);
	/* Not a regular file. */
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(policy_file_refresh(&pf), 1);
	assert_non_null(strstr(pf.error, "not a regular file"));
	policy_file_deinit(&pf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint_forms),
		cmocka_unit_test(test_fingerprint_bad),
		cmocka_unit_test(test_fingerprint_format),
		cmocka_unit_test(test_policy_valid),
		cmocka_unit_test(test_policy_unpinned),
		cmocka_unit_test(test_policy_invalid),
		cmocka_unit_test(test_policy_bad_patterns),
		cmocka_unit_test(test_pattern_lengths),
		cmocka_unit_test(test_match_exact),
		cmocka_unit_test(test_match_wildcard),
		cmocka_unit_test(test_match_empty_labels),
		cmocka_unit_test(test_match_embedded_nul),
		cmocka_unit_test(test_match_lengths),
		cmocka_unit_test(test_match_idn),
		cmocka_unit_test(test_match_invalid_pattern),
		cmocka_unit_test(test_consent_parse),
		cmocka_unit_test_setup_teardown(test_consent_check,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_consent_read_only,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_consent_file_rules,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_cut),
		cmocka_unit_test(test_event_build),
		cmocka_unit_test(test_event_size_limit),
		cmocka_unit_test(test_event_hooks),
		cmocka_unit_test(test_event_hub),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_env),
		cmocka_unit_test_setup_teardown(test_sender,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_args_mode),
		cmocka_unit_test_setup_teardown(test_policy_file,
		    tmp_setup, tmp_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
