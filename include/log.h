/* SPDX-License-Identifier: MIT */
/*
 * The operator log: one line per event, RFC 3339 UTC timestamp, level, text.
 * Messages follow "area: what failed: why". Lines go to stderr and, when set,
 * a log file; a small ring keeps the newest lines for the API's "log" command.
 */
#ifndef SUPPORTVPN_LOG_H
#define SUPPORTVPN_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Called for every line written, after it is formatted; line is borrowed. */
typedef void (*log_hook_fn)(enum log_level level, const char *time,
    const char *msg, void *arg);

/* Sets the level and whether lines go to stderr. Safe to call again. */
void	log_init(enum log_level level, int to_stderr);
/* Opens (append, 0640) the log file; NULL closes it. 0 or -errno. */
int	log_open_file(const char *path);
/* Reopens the current log file (after logrotate moved it). 0 or -errno. */
int	log_reopen(void);
void	log_set_hook(log_hook_fn fn, void *arg);
/* Parses "error", "warn", "info", "debug". -1 if unknown. */
int	log_level_parse(const char *name);
const char *log_level_name(enum log_level level);
enum log_level log_get_level(void);

/* Calls fn for each of the newest n lines in the ring, oldest first. */
void	log_recent(size_t n, void (*fn)(const char *line, void *arg), void *arg);
/* Frees the ring and closes the file. */
void	log_deinit(void);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
