/* SPDX-License-Identifier: MIT */
/* Unit tests: the settings store (parse, atomic save, corrupt files). */
#include <errno.h>
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

#include "settings.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/svtest-settings-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/settings.json", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	(void)unlink(f->path);
	snprintf(p, sizeof(p), "%s.corrupt", f->path);
	(void)unlink(p);
	snprintf(p, sizeof(p), "%s.tmp", f->path);
	(void)unlink(p);
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
test_missing(void **state)
{
	struct fixture *f = *state;
	struct settings s = { .start_when_possible = true };
	char why[128];

	assert_int_equal(settings_load(f->path, &s, why, sizeof(why)),
	    -ENOENT);
	assert_false(s.start_when_possible);
}

static void
test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct settings s = { .start_when_possible = true }, r;
	struct stat st;
	char why[128], tmp[160];

	assert_int_equal(settings_save(f->path, &s), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	assert_int_equal(access(tmp, F_OK), -1);	/* no temp left */
	assert_int_equal(settings_load(f->path, &r, why, sizeof(why)), 0);
	assert_true(r.start_when_possible);
	s.start_when_possible = false;
	assert_int_equal(settings_save(f->path, &s), 0);
	assert_int_equal(settings_load(f->path, &r, why, sizeof(why)), 0);
	assert_false(r.start_when_possible);
}

static void
test_corrupt(void **state)
{
	static const char *const bad[] = {
		"", "{", "garbage", "[true]", "{\"start_when_possible\":1}",
		"{\"start_when_possible\":\"yes\"}", "{\"version\":2}",
		"{\"start_when_possible\":true,\"start_when_possible\":false}",
	};
	struct fixture *f = *state;
	struct settings s;
	char why[128], aside[160];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(f->path, bad[i]);
		s.start_when_possible = true;
		assert_int_equal(settings_load(f->path, &s, why, sizeof(why)),
		    -EINVAL);
		assert_false(s.start_when_possible);
		assert_true(why[0] != '\0');
	}
	assert_int_equal(settings_set_aside(f->path), 0);
	snprintf(aside, sizeof(aside), "%s.corrupt", f->path);
	assert_int_equal(access(aside, F_OK), 0);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void
test_forward_compatible(void **state)
{
	struct settings s;
	char why[128];
	const char *doc = "{\"version\":1,\"start_when_possible\":true,"
	    "\"newer_option\":{\"x\":1}}";

	assert_int_equal(settings_parse(doc, strlen(doc), &s, why,
	    sizeof(why)), 0);
	assert_true(s.start_when_possible);
}

static void
test_save_failure_keeps_old(void **state)
{
	struct fixture *f = *state;
	struct settings s = { .start_when_possible = true }, r;
	char why[128];

	assert_int_equal(settings_save(f->path, &s), 0);
	/* A directory where the temp file must go makes the save fail. */
	char tmp[160];

	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	assert_int_equal(mkdir(tmp, 0700), 0);
	s.start_when_possible = false;
	assert_true(settings_save(f->path, &s) < 0);
	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(settings_load(f->path, &r, why, sizeof(why)), 0);
	assert_true(r.start_when_possible);
}

/* Removing the file reads as "off"; removing a missing one is fine. */
static void
test_remove(void **state)
{
	struct fixture *f = *state;
	struct settings s = { .start_when_possible = true }, r;
	char why[128];

	assert_int_equal(settings_save(f->path, &s), 0);
	assert_int_equal(settings_remove(f->path), 0);
	assert_int_equal(settings_load(f->path, &r, why, sizeof(why)),
	    -ENOENT);
	assert_false(r.start_when_possible);
	assert_int_equal(settings_remove(f->path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test(test_forward_compatible),
		cmocka_unit_test_setup_teardown(test_save_failure_keeps_old,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
	};

	return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
