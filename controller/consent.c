/* SPDX-License-Identifier: MIT */
/*
 * The owner-consent record: this process's pid, in a file this process
 * keeps open with an open file description write lock until it revokes the
 * consent or dies, so the lock says whether it still lives.
 */
#define _GNU_SOURCE		/* F_OFD_SETLK */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "consent.h"
#include "supportvpn_event.h"
#include "util.h"

/*
 * The record we wrote, open for writing and write-locked; -1 while no
 * consent is given. The lock lives exactly as long as this description:
 * O_CLOEXEC, or an openvpn we spawn later would inherit it and keep the
 * consent alive after we are gone.
 */
static int lock_fd = -1;
/*
 * A record prepared ahead, complete and locked, at <path>.tmp (a name the
 * plugin never reads): a grant is then one rename, not a file written
 * while the owner waits for the connection. -1 when none is staged.
 */
static int staged_fd = -1;
static char staged_tmp[PATH_MAX];

/* The record's text for this process. New (free()), or NULL. */
static char *
record_text(void)
{
	char ts[UTIL_TIME_LEN];
	json_t *rec;
	char *text;

	rec = json_pack("{s:i, s:i, s:s}", SVPN_CONSENT_V,
	    SVPN_CONSENT_VERSION, SVPN_CONSENT_PID, (int)getpid(),
	    SVPN_CONSENT_GRANTED_AT, util_time_fmt(ts, util_now_ms(), false));
	if (rec == NULL)
		return NULL;
	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	return text;
}

int
consent_stage(const char *path)
{
	struct flock fl = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET,	/* whole file */
	};
	char tmp[PATH_MAX], *text;
	int fd = -1, rc;

	if ((rc = util_snprintf(tmp, sizeof(tmp), "%s.tmp", path)) < 0)
		return rc;
	if (staged_fd >= 0 && strcmp(staged_tmp, tmp) == 0)
		return 0;
	consent_unstage(NULL);	/* one for another path */
	if ((text = record_text()) == NULL)
		return -ENOMEM;
	/*
	 * A new file, never one a crash left behind: anyone may open that
	 * by name (run_dir is 0711) and hold a read lock that would make
	 * ours fail. This one is 0600 until the lock is ours.
	 */
	if (unlink(tmp) < 0 && errno != ENOENT) {
		rc = -errno;
		goto fail;
	}
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		rc = -errno;
		goto fail;
	}
	/*
	 * Readable by openvpn after it drops privileges; writable by us only.
	 * Not fsynced: after a power loss the record is void anyway (this
	 * process is gone), and the release must not wait for the disk.
	 */
	if (fchmod(fd, 0644) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = util_write_all(fd, text, strlen(text))) < 0)
		goto fail;
	staged_fd = fd;
	memcpy(staged_tmp, tmp, sizeof(tmp));
	free(text);
	return 0;
fail:
	if (fd >= 0) {
		/* Best effort: it never was the record. */
		(void)unlink(tmp);
		(void)close(fd);
	}
	free(text);
	return rc;
}

int
consent_grant(const char *path)
{
	char tmp[PATH_MAX];
	int rc;

	if ((rc = consent_stage(path)) < 0)
		return rc;
	if ((rc = util_snprintf(tmp, sizeof(tmp), "%s.tmp", path)) < 0)
		return rc;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		/* Prepare a fresh one next time. */
		consent_unstage(path);
		return rc;
	}
	/* The new record is in place: the old one's lock has no use. */
	if (lock_fd >= 0)
		(void)close(lock_fd);
	lock_fd = staged_fd;
	staged_fd = -1;
	return 0;
}

void
consent_unstage(const char *path)
{
	(void)path;	/* the one staged, whatever its path */
	if (staged_fd < 0)
		return;
	(void)unlink(staged_tmp);
	(void)close(staged_fd);
	staged_fd = -1;
}

bool
consent_in_place(const char *path)
{
	struct stat held, named;

	return lock_fd >= 0 && fstat(lock_fd, &held) == 0 &&
	    lstat(path, &named) == 0 && held.st_dev == named.st_dev &&
	    held.st_ino == named.st_ino;
}

int
consent_revoke(const char *path)
{
	int rc = 0;

	/* The name first: the plugin then reads "missing", not a record
	 * whose controller is gone. */
	if (unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	/* Closed even if the name stays: without the lock it is void. */
	if (lock_fd >= 0) {
		(void)close(lock_fd);
		lock_fd = -1;
	}
	return rc;
}
