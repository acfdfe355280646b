/* SPDX-License-Identifier: MIT */
/*
 * The session history: JSON lines appended with one write() each, cut back
 * on failure, rotated into path.1 with the open session's records carried
 * into the new file, and a crash-recovery pass at open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "util.h"

/*
 * Marks a copy a rotation made of a record that is also in path.1. The
 * reader hides such copies while path.1 exists and strips the member.
 */
#define CARRIED		"carried"

struct audit {
	char		*path;
	char		*old;		/* path.1 */
	char		*tmp;		/* path.tmp, the next file */
	int		 fd;		/* -1: reopen before appending */
	size_t		 max_bytes;
	size_t		 size;		/* length of path, whole lines */
	char		*session;	/* open session id or NULL */
	struct audit_stats st;
};

static char *
path_with(const char *path, const char *suffix)
{
	size_t a = strlen(path), b = strlen(suffix);
	char *p;

	if ((p = malloc(a + b + 1)) == NULL)
		return NULL;
	memcpy(p, path, a);
	memcpy(p + a, suffix, b + 1);
	return p;
}

static int
write_full(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads all of fd from offset 0 into *out (new, not NUL-terminated). */
static int
read_fd(int fd, char **out, size_t *outlen)
{
	struct stat st;
	size_t cap, len = 0;
	char *buf, *p;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			/* The file grew under us; follow it. */
			if (cap > SIZE_MAX / 2 ||
			    (p = realloc(buf, cap * 2)) == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
			cap *= 2;
		}
		n = pread(fd, buf + len, cap - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;

			free(buf);
			return rc;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static int
read_path(const char *path, char **out, size_t *outlen)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	rc = read_fd(fd, out, outlen);
	close(fd);
	return rc;
}

/*
 * Steps backward through buf's lines: *pos starts at the length and
 * moves to the start of the line returned. A last piece without '\n' (a
 * torn line) is returned as a line too; the caller's parse rejects it.
 */
static bool
prev_line(const char *buf, size_t *pos, const char **line, size_t *len)
{
	size_t end = *pos, start;

	if (end == 0)
		return false;
	if (buf[end - 1] == '\n')
		end--;
	for (start = end; start > 0 && buf[start - 1] != '\n'; start--)
		;
	*line = buf + start;
	*len = end - start;
	*pos = start;
	return true;
}

/* A line's record (new), or NULL when it is not a JSON object. */
static json_t *
parse_record(const char *line, size_t len)
{
	json_t *rec;

	if (len == 0 || (rec = json_loadb(line, len, 0, NULL)) == NULL)
		return NULL;
	if (!json_is_object(rec)) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/*
 * Rotation step 3, if a crash came between renaming path to path.1 and
 * path.tmp to path: path.tmp was fsynced before the first rename, so it
 * is whole. A path.tmp beside path is a rotation that never got that far.
 */
static int
finish_rotation(struct audit *a)
{
	struct stat st;

	if (lstat(a->tmp, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (lstat(a->path, &st) == 0) {
		if (unlink(a->tmp) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	if (errno != ENOENT)
		return -errno;
	if (rename(a->tmp, a->path) < 0)
		return -errno;
	return util_fsync_dir(a->path);
}

/*
 * Cuts a torn last line (a crash or power loss inside a write) so the
 * next record starts on its own line.
 */
static int
cut_torn_tail(struct audit *a)
{
	size_t len, keep;
	char last, *buf;
	ssize_t n;
	int rc;

	if (a->size == 0)
		return 0;
	if ((n = pread(a->fd, &last, 1, (off_t)(a->size - 1))) < 0)
		return -errno;
	if (n != 1)
		return -EIO;
	if (last == '\n')
		return 0;
	if ((rc = read_fd(a->fd, &buf, &len)) < 0)
		return rc;
	for (keep = len; keep > 0 && buf[keep - 1] != '\n'; keep--)
		;
	free(buf);
	if (ftruncate(a->fd, (off_t)keep) < 0 || fsync(a->fd) < 0)
		return -errno;
	a->size = keep;
	a->st.torn++;
	return 0;
}

/* Recovers from a crash and opens path for appending. */
static int
reopen(struct audit *a)
{
	const int flags = O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
	struct stat st;
	int rc;

	if ((rc = finish_rotation(a)) < 0)
		return rc;
	if ((a->fd = open(a->path, flags)) < 0 && errno == ENOENT) {
		if ((a->fd = open(a->path, flags | O_CREAT | O_EXCL,
		    0600)) < 0)
			return -errno;
		/* The new name must survive a power loss too. */
		if ((rc = util_fsync_dir(a->path)) < 0)
			goto fail;
	}
	if (a->fd < 0)
		return -errno;
	if (fstat(a->fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto fail;
	}
	a->size = (size_t)st.st_size;
	if ((rc = cut_torn_tail(a)) < 0)
		goto fail;
	return 0;
fail:
	close(a->fd);
	a->fd = -1;
	return rc;
}

int
audit_open(const char *path, size_t max_bytes, struct audit **out)
{
	struct audit *a;
	int rc;

	if (max_bytes == 0)
		max_bytes = AUDIT_MAX_BYTES_DEFAULT;
	if (max_bytes < AUDIT_MAX_BYTES_MIN || path[0] == '\0')
		return -EINVAL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -ENOMEM;
	a->fd = -1;
	a->max_bytes = max_bytes;
	if ((a->path = strdup(path)) == NULL ||
	    (a->old = path_with(path, ".1")) == NULL ||
	    (a->tmp = path_with(path, ".tmp")) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = reopen(a)) < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	audit_close(a);
	return rc;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->fd >= 0) {
		/* An orderly stop keeps the non-durable records too; there
		 * is no one to tell if it fails. */
		(void)fsync(a->fd);
		close(a->fd);
	}
	free(a->session);
	free(a->tmp);
	free(a->old);
	free(a->path);
	free(a);
}

int
audit_set_open_session(struct audit *a, const char *session_id)
{
	char *copy = NULL;

	if (session_id != NULL) {
		if (session_id[0] == '\0')
			return -EINVAL;
		if ((copy = strdup(session_id)) == NULL)
			return -ENOMEM;
	}
	free(a->session);
	a->session = copy;
	return 0;
}

struct carry {
	char	*line;		/* new, ends in '\n' */
	size_t	 len;
};

static void
carry_free(struct carry *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(c[i].line);
	free(c);
}

/* The open session's records in buf as carried copies, oldest first. */
static int
collect_session(struct audit *a, const char *buf, size_t len,
    struct carry **out, size_t *outn)
{
	struct carry *c = NULL, *p;
	size_t n = 0, cap = 0;
	const char *line = buf, *nl;
	const char *sid;
	json_t *rec;
	char *s;
	int rc = 0;

	for (; (nl = memchr(line, '\n', (size_t)(buf + len - line))) != NULL;
	    line = nl + 1) {
		if ((rec = parse_record(line, (size_t)(nl - line))) == NULL)
			continue;
		sid = json_string_value(json_object_get(rec, "session"));
		if (sid == NULL || strcmp(sid, a->session) != 0) {
			json_decref(rec);
			continue;
		}
		s = NULL;
		if (json_object_set_new(rec, CARRIED, json_true()) == 0)
			s = json_dumps(rec, JSON_COMPACT);
		json_decref(rec);
		if (s == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if (cap > SIZE_MAX / sizeof(*c) ||
			    (p = realloc(c, cap * sizeof(*c))) == NULL) {
				free(s);
				rc = -ENOMEM;
				goto fail;
			}
			c = p;
		}
		/* json_dumps' NUL becomes the line's '\n'. */
		c[n].len = strlen(s) + 1;
		s[c[n].len - 1] = '\n';
		c[n++].line = s;
	}
	*out = c;
	*outn = n;
	return 0;
fail:
	carry_free(c, n);
	return rc;
}

/*
 * What the new file starts with: the open session's records from buf,
 * within max_bytes/2 so that one endless session cannot make every append
 * rotate. The first record (the activation) is kept, then the newest.
 */
static int
build_carried(struct audit *a, const char *buf, size_t len, char **out,
    size_t *outlen, size_t *outcount)
{
	size_t budget = a->max_bytes / 2, used = 0, n = 0, i, from, count = 0;
	struct carry *c = NULL;
	char *text;
	bool first;
	int rc;

	*out = NULL;
	*outlen = *outcount = 0;
	if (a->session == NULL)
		return 0;
	if ((rc = collect_session(a, buf, len, &c, &n)) < 0)
		return rc;
	if (n == 0)
		goto out;
	if ((first = c[0].len <= budget))
		used = c[0].len;
	for (from = n; from > 1 && used + c[from - 1].len <= budget; from--)
		used += c[from - 1].len;
	if (used == 0)
		goto out;
	if ((text = malloc(used)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((i == 0 && first) || (i > 0 && i >= from)) {
			memcpy(text + *outlen, c[i].line, c[i].len);
			*outlen += c[i].len;
			count++;
		}
	}
	*out = text;
	*outcount = count;
out:
	carry_free(c, n);
	return rc;
}

/*
 * Rotation step 1: path.tmp (fd in *out, open for appending) gets the open
 * session's records from the current file and is fsynced.
 */
static int
write_next(struct audit *a, int *out, size_t *outlen, size_t *outcount)
{
	const int flags = O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW;
	char *buf = NULL, *carried = NULL;
	size_t len;
	int fd = -1, rc;

	if ((rc = read_fd(a->fd, &buf, &len)) < 0)
		return rc;
	if ((rc = build_carried(a, buf, len, &carried, outlen,
	    outcount)) < 0)
		goto out;
	if ((fd = open(a->tmp, flags, 0600)) < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = write_full(fd, carried, *outlen)) < 0)
		goto fail;
	if (fsync(fd) < 0) {
		rc = -errno;
		goto fail;
	}
	*out = fd;
	goto out;
fail:
	close(fd);
	(void)unlink(a->tmp);	/* best effort: reopen deletes it too */
out:
	free(carried);
	free(buf);
	return rc;
}

/*
 * Makes the current file path.1 and starts a new one holding the open
 * session's records: (1) write_next; (2) path becomes path.1, dropping the
 * older one; (3) path.tmp becomes path. The directory is fsynced after
 * each rename so they reach the disk in this order; reopen finishes a
 * rotation that a crash cut between (2) and (3).
 */
static int
rotate(struct audit *a)
{
	size_t len = 0, count = 0;
	int fd = -1, rc, rc_sync;

	/* The old generation is whole on disk before it becomes path.1. */
	if (fsync(a->fd) < 0)
		return -errno;
	if ((rc = write_next(a, &fd, &len, &count)) < 0)
		return rc;
	if (rename(a->path, a->old) < 0) {
		rc = -errno;
		close(fd);
		(void)unlink(a->tmp);	/* best effort, as above */
		return rc;
	}
	rc_sync = util_fsync_dir(a->path);
	if (rename(a->tmp, a->path) < 0) {
		rc = -errno;
		close(fd);
		/* Put the current file back (without a path.1). If even
		 * that fails, appends must not go on into path.1: leave
		 * path.tmp for reopen to finish the rotation with. */
		if (rename(a->old, a->path) == 0)
			(void)unlink(a->tmp);	/* best effort */
		else {
			close(a->fd);
			a->fd = -1;
		}
		return rc;
	}
	if (rc_sync == 0)
		rc_sync = util_fsync_dir(a->path);
	close(a->fd);
	a->fd = fd;
	a->size = len;
	a->st.rotations++;
	a->st.carried = count;
	/* Done either way; a failed fsync only says it may not be durable. */
	return rc_sync;
}

/* rec as one line (new; ends in '\n', no NUL), "ts" added if missing. */
static int
format_record(json_t *rec, char **out, size_t *outlen)
{
	char ts[UTIL_TIME_LEN], *s;
	json_t *obj;
	size_t n;

	if (!json_is_object(rec) || json_object_get(rec, CARRIED) != NULL)
		return -EINVAL;
	if (json_object_get(rec, "ts") != NULL)
		obj = json_incref(rec);
	else {
		/* A new object: the caller's stays as it was, and "ts"
		 * comes first for people reading the file. */
		obj = json_pack("{s:s}", "ts",
		    util_time_fmt(ts, util_now_ms(), true));
		if (obj == NULL)
			return -ENOMEM;
		if (json_object_update(obj, rec) < 0) {
			json_decref(obj);
			return -ENOMEM;
		}
	}
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s == NULL)
		return -ENOMEM;
	n = strlen(s) + 1;
	if (n > AUDIT_LINE_MAX) {
		free(s);
		return -E2BIG;
	}
	s[n - 1] = '\n';	/* JSON_COMPACT output holds no raw '\n' */
	*out = s;
	*outlen = n;
	return 0;
}

/*
 * One write() so that a crash leaves at most one torn line, which reopen
 * cuts; any failure cuts the file back to a->size here and now.
 */
static int
write_record(struct audit *a, const char *line, size_t len, bool durable)
{
	ssize_t n;
	int rc;

	do
		n = write(a->fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != len)
		rc = -EIO;
	else if (durable && fsync(a->fd) < 0)
		rc = -errno;
	else {
		a->size += len;
		return 0;
	}
	if (ftruncate(a->fd, (off_t)a->size) < 0) {
		/* The file may end in half a record: the next append
		 * reopens, which cuts it. */
		close(a->fd);
		a->fd = -1;
	}
	return rc;
}

int
audit_append(struct audit *a, json_t *rec, bool durable)
{
	char *line;
	size_t len;
	int rc;

	if ((rc = format_record(rec, &line, &len)) < 0)
		return rc;
	if (a->fd < 0 && (rc = reopen(a)) < 0)
		goto out;
	/* At most one rotation: a record bigger than what it frees goes in
	 * anyway, max_bytes is a target, not a hard limit. */
	if (a->size > 0 && a->size + len > a->max_bytes &&
	    (rc = rotate(a)) < 0)
		goto out;
	if ((rc = write_record(a, line, len, durable)) < 0)
		goto out;
	a->st.records++;
out:
	free(line);
	return rc;
}

/*
 * Adds buf's records to arr newest first until it holds limit (0: no
 * limit). hide_carried drops rotation copies, whose originals are in
 * path.1; shown ones lose the marker.
 */
static int
add_records(struct audit *a, json_t *arr, const char *buf, size_t len,
    size_t limit, bool hide_carried)
{
	const char *line;
	size_t pos = len, n;
	json_t *rec;

	while ((limit == 0 || json_array_size(arr) < limit) &&
	    prev_line(buf, &pos, &line, &n)) {
		if ((rec = parse_record(line, n)) == NULL) {
			a->st.skipped++;
			continue;
		}
		if (json_object_get(rec, CARRIED) != NULL) {
			if (hide_carried) {
				json_decref(rec);
				continue;
			}
			/* Cannot fail: the member is there. */
			(void)json_object_del(rec, CARRIED);
		}
		if (json_array_append_new(arr, rec) < 0)
			return -ENOMEM;
	}
	return 0;
}

int
audit_read(struct audit *a, size_t limit, json_t **out)
{
	char *cur = NULL, *old = NULL;
	size_t clen = 0, olen = 0;
	json_t *arr;
	int rc;

	a->st.skipped = 0;
	/* A missing file is an empty history, not an error. */
	if ((rc = read_path(a->path, &cur, &clen)) < 0 && rc != -ENOENT)
		return rc;
	if ((rc = read_path(a->old, &old, &olen)) < 0 && rc != -ENOENT)
		goto out;
	if ((arr = json_array()) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = add_records(a, arr, cur, clen, limit, old != NULL)) < 0 ||
	    (rc = add_records(a, arr, old, olen, limit, false)) < 0) {
		json_decref(arr);
		goto out;
	}
	*out = arr;
	rc = 0;
out:
	free(old);
	free(cur);
	return rc;
}

void
audit_stats(const struct audit *a, struct audit_stats *st)
{
	*st = a->st;
	st->bytes = a->size;
}

int
audit_dup_fd(const struct audit *a)
{
	int fd;

	if (a->fd < 0)
		return -EBADF;
	if ((fd = fcntl(a->fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -errno;
	return fd;
}
