/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the controller's side of the owner-consent record
 * (controller/consent.c): the file it writes, the write lock it holds on
 * it (seen through other open file descriptions, as the plugin sees it),
 * replacement, revocation, and the descriptor openvpn must not inherit.
 */
#define _GNU_SOURCE		/* F_OFD_GETLK */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "consent.h"
#include "supportvpn_event.h"

/* Descriptors scanned for the one the module holds. */
#define FD_SCAN_MAX	1024

struct fixture {
	char	dir[64];
	char	path[128];
	char	tmp[136];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/svtest-consent-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/consent", f->dir);
	snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", f->path);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	/* The module's lock, if a test failed before its revoke. */
	(void)consent_revoke(f->path);
	consent_unstage(f->path);
	(void)unlink(f->path);
	(void)unlink(f->tmp);
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

/* What the plugin asks on its own read-only descriptor: F_WRLCK when
 * someone holds a write lock on fd's file, else F_UNLCK. */
static short
lock_seen(int fd)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };

	assert_int_equal(fcntl(fd, F_OFD_GETLK, &fl), 0);
	return fl.l_type;
}

static short
lock_seen_at(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	short t;

	assert_true(fd >= 0);
	t = lock_seen(fd);
	close(fd);
	return t;
}

/* The descriptors of this process open on the file at path. */
static int
held_fds(const char *path, int *fds, int max)
{
	struct stat want, sb;
	int fd, n = 0;

	assert_int_equal(stat(path, &want), 0);
	for (fd = 0; fd < FD_SCAN_MAX; fd++)
		if (fstat(fd, &sb) == 0 && sb.st_dev == want.st_dev &&
		    sb.st_ino == want.st_ino && n < max)
			fds[n++] = fd;
	return n;
}

static void
test_grant_writes_a_locked_record(void **state)
{
	struct fixture *f = *state;
	json_error_t jerr;
	struct stat sb;
	json_t *rec;
	int fds[4];

	assert_int_equal(consent_grant(f->path), 0);
	assert_int_equal(lstat(f->path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0644);
	assert_int_equal(sb.st_uid, geteuid());
	assert_int_equal(access(f->tmp, F_OK), -1);
	rec = json_load_file(f->path, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(rec);
	assert_int_equal(json_integer_value(json_object_get(rec,
	    SVPN_CONSENT_V)), SVPN_CONSENT_VERSION);
	assert_int_equal(json_integer_value(json_object_get(rec,
	    SVPN_CONSENT_PID)), getpid());
	assert_true(json_is_string(json_object_get(rec,
	    SVPN_CONSENT_GRANTED_AT)));
	/* v, pid, granted_at: no /proc start time since v2. */
	assert_int_equal(json_object_size(rec), 3);
	json_decref(rec);

	/* Held, as any other description of the file sees it. */
	assert_int_equal(lock_seen_at(f->path), F_WRLCK);
	assert_true(consent_in_place(f->path));
	/* Through one descriptor, open for writing, that openvpn (spawned
	 * later) does not inherit. */
	assert_int_equal(held_fds(f->path, fds, 4), 1);
	assert_int_equal(fcntl(fds[0], F_GETFL) & O_ACCMODE, O_RDWR);
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);

	assert_int_equal(consent_revoke(f->path), 0);
}

static void
test_second_grant_replaces(void **state)
{
	struct fixture *f = *state;
	struct stat first, second;
	int old, fds[4];

	assert_int_equal(consent_grant(f->path), 0);
	assert_int_equal(stat(f->path, &first), 0);
	old = open(f->path, O_RDONLY | O_CLOEXEC);
	assert_true(old >= 0);
	assert_int_equal(lock_seen(old), F_WRLCK);

	assert_int_equal(consent_grant(f->path), 0);
	assert_int_equal(stat(f->path, &second), 0);
	assert_true(first.st_ino != second.st_ino);
	assert_int_equal(lock_seen_at(f->path), F_WRLCK);
	/* The first record's lock went with its descriptor. */
	assert_int_equal(lock_seen(old), F_UNLCK);
	close(old);
	assert_int_equal(held_fds(f->path, fds, 4), 1);
	assert_true(consent_in_place(f->path));

	assert_int_equal(consent_revoke(f->path), 0);
}

static void
test_revoke(void **state)
{
	struct fixture *f = *state;
	int fd;

	assert_int_equal(consent_grant(f->path), 0);
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(consent_revoke(f->path), 0);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	/* A plugin that opened it before the revoke finds it unlocked. */
	assert_int_equal(lock_seen(fd), F_UNLCK);
	close(fd);
	assert_false(consent_in_place(f->path));
	/* Nothing to revoke is fine (a record an earlier run left, or none). */
	assert_int_equal(consent_revoke(f->path), 0);
}

/* consent_in_place is false once the file at the path is not ours. */
static void
test_in_place(void **state)
{
	struct fixture *f = *state;
	char other[160];
	int fd;

	assert_false(consent_in_place(f->path));
	assert_int_equal(consent_grant(f->path), 0);
	snprintf(other, sizeof(other), "%s/other", f->dir);
	fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(rename(other, f->path), 0);
	assert_false(consent_in_place(f->path));
	assert_int_equal(lock_seen_at(f->path), F_UNLCK);
	assert_int_equal(consent_grant(f->path), 0);
	assert_true(consent_in_place(f->path));
	assert_int_equal(unlink(f->path), 0);
	assert_false(consent_in_place(f->path));
	assert_int_equal(consent_revoke(f->path), 0);
}

/*
 * A temp file a crash left behind, opened by someone else with a read
 * lock (anyone may open it by name), does not block a grant.
 */
static void
test_leftover_tmp(void **state)
{
	struct fixture *f = *state;
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	int fd;

	fd = open(f->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
	assert_int_equal(consent_grant(f->path), 0);
	assert_int_equal(lock_seen_at(f->path), F_WRLCK);
	close(fd);
	assert_int_equal(consent_revoke(f->path), 0);
}

/*
 * A staged record is complete and locked under the temp name, and is no
 * consent until a grant renames it; the grant then needs no other work.
 */
static void
test_staged_then_granted(void **state)
{
	struct fixture *f = *state;
	struct stat staged, granted;
	int fds[4];

	assert_int_equal(consent_stage(f->path), 0);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_false(consent_in_place(f->path));
	assert_int_equal(lock_seen_at(f->tmp), F_WRLCK);
	assert_int_equal(stat(f->tmp, &staged), 0);
	assert_int_equal(staged.st_mode & 07777, 0644);
	/* Staging again keeps the one there is. */
	assert_int_equal(consent_stage(f->path), 0);
	assert_int_equal(held_fds(f->tmp, fds, 4), 1);
	assert_int_equal(consent_grant(f->path), 0);
	assert_int_equal(stat(f->path, &granted), 0);
	assert_true(granted.st_ino == staged.st_ino);
	assert_int_equal(access(f->tmp, F_OK), -1);
	assert_true(consent_in_place(f->path));
	assert_int_equal(lock_seen_at(f->path), F_WRLCK);
	assert_int_equal(consent_revoke(f->path), 0);
	/* Unstaging removes a staged record and its lock. */
	assert_int_equal(consent_stage(f->path), 0);
	consent_unstage(f->path);
	assert_int_equal(access(f->tmp, F_OK), -1);
	assert_int_equal(access(f->path, F_OK), -1);
}

/* A failed grant leaves the previous record in place, still locked. */
static void
test_failed_grant_keeps_the_record(void **state)
{
	struct fixture *f = *state;
	char bad[192];

	assert_int_equal(consent_grant(f->path), 0);
	snprintf(bad, sizeof(bad), "%s/no-such-dir/consent", f->dir);
	assert_int_equal(consent_grant(bad), -ENOENT);
	assert_true(consent_in_place(f->path));
	assert_int_equal(lock_seen_at(f->path), F_WRLCK);
	assert_int_equal(consent_revoke(f->path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_grant_writes_a_locked_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_grant_replaces,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_place, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_staged_then_granted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftover_tmp, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_grant_keeps_the_record, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
