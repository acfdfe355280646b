/* SPDX-License-Identifier: MIT */
/*
 * The operator log (include/log.h): formats one line per message with an
 * RFC 3339 UTC timestamp and level, writes it to stderr and the log file,
 * keeps the newest lines in a ring for the API, and hands each line to a
 * hook (the API's "log" event). Control characters never reach the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define LOG_RING_SIZE	1000
#define LOG_MSG_MAX	2048

static struct {
	enum log_level	 level;
	int		 to_stderr;
	int		 fd;
	char		*path;
	char		*ring[LOG_RING_SIZE];
	size_t		 ring_next;
	size_t		 ring_count;
	log_hook_fn	 hook;
	void		*hook_arg;
	int		 in_hook;
} lg = { LOG_LEVEL_INFO, 1, -1, NULL, { NULL }, 0, 0, NULL, NULL, 0 };

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(enum log_level level, int to_stderr)
{
	lg.level = level;
	lg.to_stderr = to_stderr;
}

enum log_level
log_get_level(void)
{
	return lg.level;
}

int
log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "?";
}

int
log_open_file(const char *path)
{
	int fd = -1;
	char *copy = NULL;

	if (path != NULL) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			return -errno;
		if ((copy = strdup(path)) == NULL) {
			close(fd);
			return -ENOMEM;
		}
	}
	if (lg.fd >= 0)
		close(lg.fd);
	free(lg.path);
	lg.fd = fd;
	lg.path = copy;
	return 0;
}

int
log_reopen(void)
{
	char *path;
	int rc;

	if (lg.path == NULL)
		return 0;
	if ((path = strdup(lg.path)) == NULL)
		return -ENOMEM;
	rc = log_open_file(path);
	free(path);
	return rc;
}

void
log_set_hook(log_hook_fn fn, void *arg)
{
	lg.hook = fn;
	lg.hook_arg = arg;
}

void
log_recent(size_t n, void (*fn)(const char *line, void *arg), void *arg)
{
	size_t i, start;

	if (n > lg.ring_count)
		n = lg.ring_count;
	start = (lg.ring_next + LOG_RING_SIZE - n) % LOG_RING_SIZE;
	for (i = 0; i < n; i++)
		fn(lg.ring[(start + i) % LOG_RING_SIZE], arg);
}

void
log_deinit(void)
{
	size_t i;

	for (i = 0; i < LOG_RING_SIZE; i++) {
		free(lg.ring[i]);
		lg.ring[i] = NULL;
	}
	lg.ring_count = lg.ring_next = 0;
	(void)log_open_file(NULL);
	lg.hook = NULL;
}

static void
ring_add(const char *line)
{
	char *copy = strdup(line);

	if (copy == NULL)
		return;	/* the line still went to stderr and the file */
	free(lg.ring[lg.ring_next]);
	lg.ring[lg.ring_next] = copy;
	lg.ring_next = (lg.ring_next + 1) % LOG_RING_SIZE;
	if (lg.ring_count < LOG_RING_SIZE)
		lg.ring_count++;
}

static void
write_line(int fd, const char *line, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, line, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* nowhere left to report a log failure */
		line += n;
		len -= (size_t)n;
	}
}

static void vlog(enum log_level level, const char *err, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));

static void
vlog(enum log_level level, const char *err, const char *fmt, va_list ap)
{
	char raw[LOG_MSG_MAX], msg[LOG_MSG_MAX], line[LOG_MSG_MAX + 64];
	char ts[UTIL_TIME_LEN];
	int saved = errno;
	int n;

	if (level > lg.level)
		goto out;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	if (err != NULL) {
		size_t l = strlen(raw);

		snprintf(raw + l, sizeof(raw) - l, ": %s", err);
	}
	util_copy_printable(msg, sizeof(msg), raw);
	util_time_fmt(ts, util_now_ms(), true);
	n = snprintf(line, sizeof(line), "%s %-5s %s\n", ts,
	    log_level_name(level), msg);
	if (n < 0)
		goto out;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (lg.to_stderr)
		write_line(STDERR_FILENO, line, (size_t)n);
	if (lg.fd >= 0)
		write_line(lg.fd, line, (size_t)n);
	line[n - 1] = '\0';
	ring_add(line);
	if (lg.hook != NULL && !lg.in_hook) {
		lg.in_hook = 1;
		lg.hook(level, ts, msg, lg.hook_arg);
		lg.in_hook = 0;
	}
out:
	errno = saved;
}

#define LOG_FN(name, level, with_errno)				\
void								\
name(const char *fmt, ...)					\
{								\
	const char *e = (with_errno) ? strerror(errno) : NULL;	\
	va_list ap;						\
								\
	va_start(ap, fmt);					\
	vlog(level, e, fmt, ap);				\
	va_end(ap);						\
}

LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_error, LOG_LEVEL_ERROR, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
