/* SPDX-License-Identifier: MIT */
/*
 * Owner consent: read the record the controller wrote and check that the
 * controller still lives by asking whether anyone holds the record's write
 * lock. One open/fstat/read/fcntl of a small file: microseconds, never a
 * wait, and no /proc (so hidepid does not matter).
 */
#define _GNU_SOURCE		/* F_OFD_GETLK */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "consent.h"
#include "supportvpn_event.h"

const char *
consent_status_name(enum consent_status st)
{
	switch (st) {
	case CONSENT_OK:
		return "ok";
	case CONSENT_MISSING:
		return "missing";
	case CONSENT_STALE:
		return "stale";
	case CONSENT_BAD_FILE:
		return "bad owner/mode";
	case CONSENT_CORRUPT:
		return "corrupt";
	case CONSENT_UNREADABLE:
		return "unreadable";
	}
	return "unknown";
}

/* Reads up to size bytes (to EOF) from fd. Bytes read, or -errno. */
static ssize_t
read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size && (n = read(fd, buf + got, size - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
consent_parse_record(const char *buf, size_t len, struct consent_record *rec,
    char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key, *s;
	json_int_t n;
	size_t i;
	int rc = -1;

	memset(rec, 0, sizeof(*rec));
	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(why, whylen, "not JSON: %s", jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(why, whylen, "not a JSON object");
		goto out;
	}
	/* The version first: a v1 record's keys are not v2's. */
	v = json_object_get(root, SVPN_CONSENT_V);
	if (json_is_integer(v) && json_integer_value(v) == 1) {
		snprintf(why, whylen, "old format (v1; this plugin reads "
		    "v%d)", SVPN_CONSENT_VERSION);
		goto out;
	}
	if (!json_is_integer(v) || json_integer_value(v) !=
	    SVPN_CONSENT_VERSION) {
		snprintf(why, whylen, "\"v\" is not %d", SVPN_CONSENT_VERSION);
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, SVPN_CONSENT_V) != 0 &&
		    strcmp(key, SVPN_CONSENT_PID) != 0 &&
		    strcmp(key, SVPN_CONSENT_GRANTED_AT) != 0) {
			snprintf(why, whylen, "unknown key '%.32s'", key);
			goto out;
		}
	}
	v = json_object_get(root, SVPN_CONSENT_PID);
	if (!json_is_integer(v) || (n = json_integer_value(v)) <= 0 ||
	    n > INT_MAX) {
		snprintf(why, whylen, "\"pid\" is not a process id");
		goto out;
	}
	rec->pid = (long)n;
	v = json_object_get(root, SVPN_CONSENT_GRANTED_AT);
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) >= sizeof(rec->granted_at)) {
		snprintf(why, whylen, "\"granted_at\" is not a time");
		goto out;
	}
	/* It ends up in log lines: keep it printable. */
	s = json_string_value(v);
	for (i = 0; i < json_string_length(v); i++)
		rec->granted_at[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* Opens the record and checks what it is. fd, or -1 with why filled. */
static int
open_record(const char *path, uid_t owner, enum consent_status *st,
    char *why, size_t whylen)
{
	struct stat sb;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*st = CONSENT_MISSING;
			snprintf(why, whylen, "%s does not exist", path);
		} else if (errno == ELOOP) {
			*st = CONSENT_BAD_FILE;
			snprintf(why, whylen, "%s is a symbolic link", path);
		} else {
			*st = CONSENT_UNREADABLE;
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
		}
		return -1;
	}
	*st = CONSENT_BAD_FILE;
	if (fstat(fd, &sb) < 0) {
		*st = CONSENT_UNREADABLE;
		snprintf(why, whylen, "%s: fstat: %s", path, strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		snprintf(why, whylen, "%s is not a regular file", path);
	} else if (sb.st_uid != 0 && sb.st_uid != owner) {
		snprintf(why, whylen, "%s is owned by uid %ld, not root or %ld",
		    path, (long)sb.st_uid, (long)owner);
	} else if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whylen, "%s is writable by group or others "
		    "(mode %04o)", path, (unsigned)(sb.st_mode & 07777));
	} else if (sb.st_size > SVPN_CONSENT_MAX) {
		*st = CONSENT_CORRUPT;
		snprintf(why, whylen, "%s is larger than %d bytes", path,
		    SVPN_CONSENT_MAX);
	} else {
		return fd;
	}
	(void)close(fd);
	return -1;
}

/*
 * Whether the controller still holds the record's write lock. The probe
 * is a read lock: it conflicts only with a write lock, which only a
 * descriptor open for writing can take, so a reader holding a read lock
 * cannot pass for the controller. Works on our read-only descriptor.
 */
static enum consent_status
check_lock(int fd, const char *path, const struct consent_record *rec,
    char *why, size_t whylen)
{
	struct flock fl = {
		.l_type = F_RDLCK, .l_whence = SEEK_SET,	/* whole file */
	};

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
		snprintf(why, whylen, "%s: cannot test its lock: %s", path,
		    strerror(errno));
		return CONSENT_UNREADABLE;
	}
	if (fl.l_type == F_UNLCK) {
		snprintf(why, whylen, "the controller that gave it (pid %ld) "
		    "is gone: nobody holds its lock", rec->pid);
		return CONSENT_STALE;
	}
	if (fl.l_type != F_WRLCK) {
		snprintf(why, whylen, "%s: unexpected lock type %d", path,
		    (int)fl.l_type);
		return CONSENT_UNREADABLE;
	}
	snprintf(why, whylen, "given by pid %ld at %s", rec->pid,
	    rec->granted_at);
	return CONSENT_OK;
}

enum consent_status
consent_check(const char *path, uid_t owner, char *why, size_t whylen)
{
	struct consent_record rec;
	enum consent_status st;
	char buf[SVPN_CONSENT_MAX + 1], detail[160];
	ssize_t n;
	int fd;

	if ((fd = open_record(path, owner, &st, why, whylen)) < 0)
		return st;
	n = read_all(fd, buf, sizeof(buf));
	if (n < 0) {
		snprintf(why, whylen, "%s: read: %s", path, strerror((int)-n));
		st = CONSENT_UNREADABLE;
	} else if (n > SVPN_CONSENT_MAX) {
		snprintf(why, whylen, "%s is larger than %d bytes", path,
		    SVPN_CONSENT_MAX);
		st = CONSENT_CORRUPT;
	} else if (consent_parse_record(buf, (size_t)n, &rec, detail,
	    sizeof(detail)) < 0) {
		snprintf(why, whylen, "%s: %s", path, detail);
		st = CONSENT_CORRUPT;
	} else {
		/* On the descriptor we read: the lock of this very file. */
		st = check_lock(fd, path, &rec, why, whylen);
	}
	(void)close(fd);	/* read-only: nothing to flush */
	return st;
}
