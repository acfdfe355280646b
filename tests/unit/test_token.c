/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the API token: its text, the constant-time comparison, the
 * limiter per uid, and the token file (made, kept, corrected, replaced).
 * The ownership cases need root and are skipped without it.
 */
#define _DEFAULT_SOURCE		/* mkdtemp */
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

#include "config.h"
#include "log.h"
#include "token.h"

#define T1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define T2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define MIN	(60 * 1000)

/* The log lines of a test, to check what was said (and never leaked). */
static char logged[8192];

static void
on_log(enum log_level level, const char *time, const char *msg, void *arg)
{
	size_t n = strlen(logged);

	snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
}

static void
test_parse(void **state)
{
	char out[TOKEN_LEN + 1];

	assert_true(token_parse(T1, 64, out));
	assert_string_equal(out, T1);
	assert_true(token_parse(T1 "\n", 65, out));
	assert_string_equal(out, T1);
	assert_false(token_parse(T1, 63, NULL));
	assert_false(token_parse(T1 "\n\n", 66, NULL));
	assert_false(token_parse(T1 "0", 65, NULL));
	assert_false(token_parse("", 0, NULL));
	/* What we write only: lower-case hex. */
	assert_false(token_parse("0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", 64, NULL));
	assert_false(token_parse("g123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", 64, NULL));
}

static void
test_equal(void **state)
{
	char t[TOKEN_LEN + 1];

	assert_true(token_equal(T1, T1, 64));
	assert_false(token_equal(T1, T2, 64));
	memcpy(t, T1, sizeof(t));
	t[0] = '1';
	assert_false(token_equal(T1, t, 64));
	memcpy(t, T1, sizeof(t));
	t[63] = '0';
	assert_false(token_equal(T1, t, 64));
	/* A prefix, a longer string with the token in front, nothing. */
	assert_false(token_equal(T1, T1, 63));
	assert_false(token_equal(T1, T1 "0", 65));
	assert_false(token_equal(T1, "", 0));
}

static void
test_guard(void **state)
{
	struct token_guard *g = token_guard_new(T1);
	struct token_result r;
	int64_t now = 1000;
	int i;

	assert_non_null(g);
	assert_int_equal(token_check(g, 0, T1, 64, now).verdict, TOKEN_OK);
	assert_int_equal(token_check(g, 0, NULL, 0, now).verdict,
	    TOKEN_MISSING);
	for (i = 0; i < TOKEN_MAX_FAILURES - 2; i++) {
		r = token_check(g, 0, T2, 64, now + i);
		assert_int_equal(r.verdict, TOKEN_WRONG);
		assert_false(r.lockout_started);
	}
	/* The failure that completes the count starts the lock-out. */
	r = token_check(g, 0, "x", 1, now + 10);
	assert_int_equal(r.verdict, TOKEN_WRONG);
	assert_true(r.lockout_started);
	assert_int_equal(r.lockout_ms, TOKEN_LOCKOUT_MS);
	/* Now even the right token is refused, without being compared. */
	r = token_check(g, 0, T1, 64, now + 20);
	assert_int_equal(r.verdict, TOKEN_LOCKED);
	assert_int_equal(r.retry_ms, TOKEN_LOCKOUT_MS - 10);
	/* Another uid is not affected. */
	assert_int_equal(token_check(g, 33, T1, 64, now + 20).verdict,
	    TOKEN_OK);
	assert_int_equal(token_check(g, -1, T1, 64, now + 20).verdict,
	    TOKEN_OK);
	/* After the lock-out: checked again. */
	assert_int_equal(token_check(g, 0, T1, 64, now + 10 +
	    TOKEN_LOCKOUT_MS).verdict, TOKEN_OK);
	token_guard_free(g);
	token_guard_free(NULL);
}

static void
test_guard_doubles_and_success_clears(void **state)
{
	struct token_guard *g = token_guard_new(T1);
	struct token_result r;
	int64_t now = 0;
	int i;

	/* Four wrong, one right, four wrong: never locked. */
	for (i = 0; i < TOKEN_MAX_FAILURES - 1; i++)
		assert_int_equal(token_check(g, 7, T2, 64, now++).verdict,
		    TOKEN_WRONG);
	assert_int_equal(token_check(g, 7, T1, 64, now++).verdict, TOKEN_OK);
	for (i = 0; i < TOKEN_MAX_FAILURES - 1; i++)
		assert_false(token_check(g, 7, T2, 64, now++).lockout_started);
	r = token_check(g, 7, T2, 64, now);
	assert_true(r.lockout_started);
	/* A second lock-out right after the first is twice as long. */
	now += TOKEN_LOCKOUT_MS;
	for (i = 0; i < TOKEN_MAX_FAILURES; i++)
		r = token_check(g, 7, NULL, 0, now++);
	assert_true(r.lockout_started);
	assert_int_equal(r.lockout_ms, 2 * TOKEN_LOCKOUT_MS);
	token_guard_free(g);
	/* Only a token as token_prepare makes one is taken. */
	assert_null(token_guard_new("secret"));
}

static void
test_guard_slots(void **state)
{
	struct token_guard *g = token_guard_new(T1);
	int64_t now = 0;
	long uid;
	int i;

	/* Every slot locking a different uid out ... */
	for (uid = 1000; uid < 1000 + TOKEN_GUARD_SLOTS; uid++)
		for (i = 0; i < TOKEN_MAX_FAILURES; i++)
			(void)token_check(g, uid, NULL, 0, now);
	/* ... leaves no room for a new one, which is refused too. */
	assert_int_equal(token_check(g, 1, T1, 64, now + 1).verdict,
	    TOKEN_LOCKED);
	/* Once they have run out, the longest idle slot is reused. */
	now += TOKEN_LOCKOUT_MS;
	assert_int_equal(token_check(g, 1, T1, 64, now).verdict, TOKEN_OK);
	assert_int_equal(token_check(g, 1000, T1, 64, now).verdict,
	    TOKEN_OK);
	token_guard_free(g);
}

/* ---- the file ------------------------------------------------------- */

struct dir {
	char		path[64];
	char		file[128];
	struct config	cfg;
};

static void
dir_setup(struct dir *d, const char *group)
{
	char json[512];
	struct config_error err;

	snprintf(d->path, sizeof(d->path), "/tmp/svpn-token-XXXXXX");
	assert_non_null(mkdtemp(d->path));
	snprintf(d->file, sizeof(d->file), "%s/state/api.token", d->path);
	snprintf(json, sizeof(json), "{\"state_dir\":\"%s/state\","
	    "\"api\":{\"token_group\":\"%s\"}}", d->path, group);
	if (config_load_string(&d->cfg, json, &err) != 0)
		fail_msg("%s", err.text);
	logged[0] = '\0';
}

static void
dir_teardown(struct dir *d)
{
	char p[160];

	(void)unlink(d->file);
	snprintf(p, sizeof(p), "%s.tmp", d->file);
	(void)unlink(p);
	snprintf(p, sizeof(p), "%s/target", d->path);
	(void)unlink(p);
	snprintf(p, sizeof(p), "%s/state", d->path);
	(void)rmdir(p);
	assert_int_equal(rmdir(d->path), 0);
	config_deinit(&d->cfg);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* The file holds token and a newline, mode 0640, ours. */
static void
assert_token_file(const char *path, const char *token)
{
	char buf[128], want[TOKEN_LEN + 2];
	struct stat st;

	read_file(path, buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s\n", token);
	assert_string_equal(buf, want);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, geteuid());
}

static void
test_file_made_and_kept(void **state)
{
	char t1[TOKEN_LEN + 1], t2[TOKEN_LEN + 1];
	struct dir d;

	dir_setup(&d, "");
	/* The first start makes state_dir and a fresh token. */
	assert_int_equal(token_prepare(&d.cfg, t1), 0);
	assert_true(token_parse(t1, strlen(t1), NULL));
	assert_token_file(d.file, t1);
	assert_non_null(strstr(logged, "made a new API token"));
	assert_null(strstr(logged, t1));
	/* The next keeps it, as it is. */
	logged[0] = '\0';
	assert_int_equal(token_prepare(&d.cfg, t2), 0);
	assert_string_equal(t1, t2);
	assert_token_file(d.file, t1);
	assert_string_equal(logged, "");
	/* Two tokens made apart differ (getrandom, not a constant). */
	assert_int_equal(unlink(d.file), 0);
	assert_int_equal(token_prepare(&d.cfg, t2), 0);
	assert_string_not_equal(t1, t2);
	dir_teardown(&d);
}

static void
test_file_mode_fixed(void **state)
{
	char t[TOKEN_LEN + 1];
	struct dir d;

	dir_setup(&d, "");
	assert_int_equal(token_prepare(&d.cfg, t), 0);
	/* Tighter than promised: kept, mode corrected, logged. */
	write_file(d.file, T1 "\n", 0600);
	logged[0] = '\0';
	assert_int_equal(token_prepare(&d.cfg, t), 0);
	assert_string_equal(t, T1);
	assert_token_file(d.file, T1);
	assert_non_null(strstr(logged, "had mode 0600"));
	assert_non_null(strstr(logged, "the token is kept"));
	/* Without its newline it is still the same token. */
	write_file(d.file, T1, 0640);
	assert_int_equal(token_prepare(&d.cfg, t), 0);
	assert_string_equal(t, T1);
	dir_teardown(&d);
}

/* Each case makes token_prepare replace T1 with a new token. */
static void
expect_replaced(struct dir *d, const char *words)
{
	char t[TOKEN_LEN + 1];

	logged[0] = '\0';
	assert_int_equal(token_prepare(&d->cfg, t), 0);
	assert_string_not_equal(t, T1);
	assert_token_file(d->file, t);
	if (strstr(logged, words) == NULL)
		fail_msg("'%s' not logged: %s", words, logged);
	assert_non_null(strstr(logged, "replaced the API token"));
	assert_null(strstr(logged, t));
	assert_null(strstr(logged, T1));
}

static void
test_file_replaced(void **state)
{
	char t[TOKEN_LEN + 1], target[160], buf[128];
	struct dir d;

	dir_setup(&d, "");
	assert_int_equal(token_prepare(&d.cfg, t), 0);
	/* Readable by others: they may know it. */
	write_file(d.file, T1 "\n", 0644);
	expect_replaced(&d, "mode 0644");
	/* Writable by the group. */
	write_file(d.file, T1 "\n", 0660);
	expect_replaced(&d, "mode 0660");
	/* Garbage, or empty. */
	write_file(d.file, "hello\n", 0640);
	expect_replaced(&d, "no valid token");
	write_file(d.file, "", 0640);
	expect_replaced(&d, "no valid token");
	/* A symbolic link is replaced, its target left alone. */
	snprintf(target, sizeof(target), "%s/target", d.path);
	write_file(target, T1 "\n", 0640);
	assert_int_equal(unlink(d.file), 0);
	assert_int_equal(symlink(target, d.file), 0);
	expect_replaced(&d, "symbolic link");
	read_file(target, buf, sizeof(buf));
	assert_string_equal(buf, T1 "\n");
	dir_teardown(&d);
}

static void
test_file_not_a_file(void **state)
{
	char t[TOKEN_LEN + 1];
	struct dir d;

	dir_setup(&d, "");
	assert_int_equal(token_prepare(&d.cfg, t), 0);
	assert_int_equal(unlink(d.file), 0);
	assert_int_equal(mkdir(d.file, 0700), 0);
	assert_true(token_prepare(&d.cfg, t) < 0);
	assert_non_null(strstr(logged, "not a regular file"));
	assert_int_equal(rmdir(d.file), 0);
	dir_teardown(&d);
}

static void
test_file_owner_and_group(void **state)
{
	char t[TOKEN_LEN + 1], sd[96];
	struct stat st;
	struct dir d;

	if (geteuid() != 0)
		skip();
	dir_setup(&d, "65534");
	snprintf(sd, sizeof(sd), "%s/state", d.path);
	/* With a group: the file and state_dir are the group's. */
	assert_int_equal(token_prepare(&d.cfg, t), 0);
	assert_token_file(d.file, t);
	assert_int_equal(lstat(d.file, &st), 0);
	assert_int_equal(st.st_gid, 65534);
	assert_int_equal(lstat(sd, &st), 0);
	assert_int_equal(st.st_gid, 65534);
	assert_int_equal(mode_of(sd), 0710);
	/* Owned by someone else: replaced, ours again. */
	write_file(d.file, T1 "\n", 0640);
	assert_int_equal(chown(d.file, 65534, 65534), 0);
	expect_replaced(&d, "owned by uid 65534");
	/* Another group could read it: replaced, with the right group. */
	write_file(d.file, T1 "\n", 0640);
	assert_int_equal(chown(d.file, 0, 0), 0);
	expect_replaced(&d, "not api.token_group");
	assert_int_equal(lstat(d.file, &st), 0);
	assert_int_equal(st.st_gid, 65534);
	/* Another group that could not read it: corrected, kept. */
	write_file(d.file, T1 "\n", 0600);
	assert_int_equal(chown(d.file, 0, 0), 0);
	assert_int_equal(token_prepare(&d.cfg, t), 0);
	assert_string_equal(t, T1);
	assert_token_file(d.file, T1);
	assert_int_equal(lstat(d.file, &st), 0);
	assert_int_equal(st.st_gid, 65534);
	dir_teardown(&d);
}

static void
test_group_resolve(void **state)
{
	char why[128];
	gid_t gid = 1;

	assert_int_equal(token_group_resolve("0", &gid, why, sizeof(why)), 0);
	assert_int_equal(gid, 0);
	assert_int_equal(token_group_resolve("root", &gid, why, sizeof(why)),
	    0);
	assert_int_equal(gid, 0);
	assert_int_equal(token_group_resolve("no-such-group-svpn", &gid, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "api.token_group"));
	assert_non_null(strstr(why, "no-such-group-svpn"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_guard_doubles_and_success_clears),
		cmocka_unit_test(test_guard_slots),
		cmocka_unit_test(test_file_made_and_kept),
		cmocka_unit_test(test_file_mode_fixed),
		cmocka_unit_test(test_file_replaced),
		cmocka_unit_test(test_file_not_a_file),
		cmocka_unit_test(test_file_owner_and_group),
		cmocka_unit_test(test_group_resolve),
	};

	log_init(LOG_LEVEL_INFO, 0);
	log_set_hook(on_log, NULL);
	return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
