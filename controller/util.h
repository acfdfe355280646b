/* SPDX-License-Identifier: MIT */
/*
 * Small helpers the controller modules share: RFC 3339 time, atomic file
 * replacement, bounded string copies, line splitting for pipes.
 */
#ifndef SUPPORTVPN_UTIL_H
#define SUPPORTVPN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#endif

#define UTIL_TIME_LEN	32

/* Wall-clock now in milliseconds since the epoch. */
int64_t	util_now_ms(void);
/* Formats ms since the epoch as "2026-11-27T01:19:08Z" (or with .mmm when
 * millis is true) into buf (UTIL_TIME_LEN bytes). Returns buf. */
char	*util_time_fmt(char *buf, int64_t ms, bool millis);

/* Writes all len bytes to fd, retrying after EINTR. 0 or -errno. */
int	util_write_all(int fd, const void *data, size_t len);
/*
 * Replaces path with data atomically: writes path.tmp with mode, renames
 * it over path. durable adds an fsync of the file before the rename and
 * of the directory after it (survives power loss). On failure (-errno)
 * path is untouched and the temp file removed. A positive errno: path
 * holds the new data, but the directory's fsync failed, so the new name
 * may not survive a power loss. 0 otherwise.
 */
int	util_write_atomic(const char *path, const void *data, size_t len,
	    unsigned mode, bool durable);
/* fsync of the directory holding path. 0 or -errno. */
int	util_fsync_dir(const char *path);
/* mkdir -p with mode for each created part. 0 or -errno. */
int	util_mkdir_p(const char *path, unsigned mode);

/* snprintf that reports truncation: 0, or -ENAMETOOLONG/-EINVAL. */
/* The value of one hex digit (either case), or -1. */
int	util_hexval(char c);
int	util_snprintf(char *dst, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Copies src into dst (size bytes), replacing control characters with '?'
 * and truncating; always NUL-terminates. */
void	util_copy_printable(char *dst, size_t size, const char *src);

/*
 * Splits a byte stream into lines. The caller feeds chunks; fn gets each
 * line without its \n (and \r). A line longer than cap is cut at cap bytes
 * and the rest of it is dropped (for openvpn's stdout, nothing to reject).
 */
struct util_lines {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	bool	 skipping;
};
int	util_lines_init(struct util_lines *l, size_t cap);
void	util_lines_deinit(struct util_lines *l);
void	util_lines_feed(struct util_lines *l, const char *data, size_t n,
	    void (*fn)(const char *line, void *arg), void *arg);
/* Flushes a final unterminated line. */
void	util_lines_flush(struct util_lines *l,
	    void (*fn)(const char *line, void *arg), void *arg);

/* Who sent a datagram, as the kernel says (SO_PASSCRED). */
struct util_sender {
	bool	known;		/* credentials came with it */
	pid_t	pid;
	uid_t	uid;
};

/*
 * A unix datagram socket bound at path (a stale socket there is replaced),
 * non-blocking, close-on-exec, with SO_PASSCRED on, its file mode set to
 * mode. The receivers of plugin events (supportvpnd, supportvpn-hubd)
 * use it. fd, or -errno.
 */
int	util_dgram_listen(const char *path, unsigned mode);
/*
 * Receives one datagram into buf (len bytes) with its sender. The length,
 * -EAGAIN when none is waiting, -EMSGSIZE when it (or its credentials)
 * did not fit and was dropped (from still names a sender whose
 * credentials came), or another -errno.
 */
ssize_t	util_dgram_recv(int fd, void *buf, size_t len,
	    struct util_sender *from);

struct json_t;
/*
 * One JSON object of 1..max bytes (a datagram of the plugin's, say),
 * duplicate keys refused. A new reference, or NULL with why filled
 * ("size ...", "not JSON: ...", "not a JSON object").
 */
struct json_t *util_json_object(const char *buf, size_t len, size_t max,
	    char *why, size_t whylen);

#endif
