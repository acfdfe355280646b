/* SPDX-License-Identifier: MIT */
/* Small shared helpers: time formatting, durable file writes, line splitting. */
#define _GNU_SOURCE		/* struct ucred, SCM_CREDENTIALS */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "util.h"

int64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
util_time_fmt(char *buf, int64_t ms, bool millis)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	if (ms < 0 || gmtime_r(&t, &tm) == NULL ||
	    (n = strftime(buf, UTIL_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		snprintf(buf, UTIL_TIME_LEN, "1970-01-01T00:00:00Z");
		return buf;
	}
	if (millis)
		snprintf(buf + n, UTIL_TIME_LEN - n, ".%03uZ",
		    (unsigned)(ms % 1000) % 1000u);
	else
		snprintf(buf + n, UTIL_TIME_LEN - n, "Z");
	return buf;
}

int
util_snprintf(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

void
util_copy_printable(char *dst, size_t size, const char *src)
{
	size_t i;

	if (size == 0)
		return;
	for (i = 0; i + 1 < size && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
	}
	dst[i] = '\0';
}

int
util_fsync_dir(const char *path)
{
	char *copy, *dir;
	int fd, rc = 0;

	if ((copy = strdup(path)) == NULL)
		return -ENOMEM;
	dir = dirname(copy);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
out:
	free(copy);
	return rc;
}

int
util_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
util_write_atomic(const char *path, const void *data, size_t len,
    unsigned mode, bool durable)
{
	char tmp[4096];
	int fd, rc;

	if ((rc = util_snprintf(tmp, sizeof(tmp), "%s.tmp", path)) < 0)
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		return -errno;
	/* The mode is right before the name appears (umask aside). */
	if (fchmod(fd, (mode_t)mode) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = util_write_all(fd, data, len)) < 0)
		goto fail;
	if (durable && fsync(fd) < 0) {
		rc = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto fail;
	}
	/*
	 * path holds the new data now and the old is gone: a failing fsync
	 * of the directory cannot undo that, it only leaves the new name at
	 * the mercy of a power loss. Not an error, then, but not silent.
	 */
	if (durable && (rc = util_fsync_dir(path)) < 0)
		return -rc;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp);	/* best effort: the old file is what counts */
	return rc;
}

int
util_mkdir_p(const char *path, unsigned mode)
{
	char buf[4096];
	char *p;

	if (util_snprintf(buf, sizeof(buf), "%s", path) < 0)
		return -ENAMETOOLONG;
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int
util_lines_init(struct util_lines *l, size_t cap)
{
	memset(l, 0, sizeof(*l));
	if ((l->buf = malloc(cap + 1)) == NULL)
		return -ENOMEM;
	l->cap = cap;
	return 0;
}

void
util_lines_deinit(struct util_lines *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

static void
emit_line(struct util_lines *l, void (*fn)(const char *, void *), void *arg)
{
	if (l->len > 0 && l->buf[l->len - 1] == '\r')
		l->len--;
	l->buf[l->len] = '\0';
	fn(l->buf, arg);
	l->len = 0;
}

void
util_lines_feed(struct util_lines *l, const char *data, size_t n,
    void (*fn)(const char *line, void *arg), void *arg)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = data[i];

		if (c == '\n') {
			if (!l->skipping)
				emit_line(l, fn, arg);
			l->skipping = false;
			l->len = 0;
			continue;
		}
		if (l->skipping)
			continue;
		if (l->len == l->cap) {
			emit_line(l, fn, arg);
			l->skipping = true;
			continue;
		}
		l->buf[l->len++] = c;
	}
}

void
util_lines_flush(struct util_lines *l, void (*fn)(const char *line, void *arg),
    void *arg)
{
	if (l->len > 0 && !l->skipping)
		emit_line(l, fn, arg);
	l->len = 0;
	l->skipping = false;
}

int
util_dgram_listen(const char *path, unsigned mode)
{
	struct sockaddr_un sa;
	int fd, one = 1, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	(void)unlink(path);	/* a stale socket from an earlier run */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, (mode_t)mode) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

ssize_t
util_dgram_recv(int fd, void *buf, size_t len, struct util_sender *from)
{
	union {
		struct cmsghdr	align;
		char		buf[CMSG_SPACE(sizeof(struct ucred))];
	} cbuf;
	struct iovec iov = { buf, len };
	struct msghdr mh;
	struct cmsghdr *c;
	struct ucred cred;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	memset(from, 0, sizeof(*from));
	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (mh.msg_flags & MSG_CTRUNC)
		return -EMSGSIZE;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(cred))) {
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			from->known = true;
			from->pid = cred.pid;
			from->uid = cred.uid;
		}
	/* Too long: dropped, but who sent it is worth a log line. */
	return (mh.msg_flags & MSG_TRUNC) ? -EMSGSIZE : n;
}

json_t *
util_json_object(const char *buf, size_t len, size_t max, char *why,
    size_t whylen)
{
	json_error_t jerr;
	json_t *o;

	if (len == 0 || len > max) {
		snprintf(why, whylen, "size %zu outside 1..%zu", len, max);
		return NULL;
	}
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(why, whylen, "not JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		snprintf(why, whylen, "not a JSON object");
		json_decref(o);
		return NULL;
	}
	return o;
}

int
util_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
