/* SPDX-License-Identifier: MIT */
/*
 * The decisions of the HTTP interface, without the HTTP library: which
 * Host and Origin values are ours (DNS rebinding, CSRF), form, query and
 * cookie decoding, which file a URL path may name under the page's root,
 * the page sessions, and how an API request and its answer look in HTTP.
 * Pure apart from reading files and the kernel's random numbers;
 * unit-tested on its own.
 */
#ifndef SUPPORTVPN_HTTP_SEC_H
#define SUPPORTVPN_HTTP_SEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_request;
struct api_error;

/* ---- Host and Origin --------------------------------------------------- */

#define HTTP_HOST_MAX		255

/* The Host values that name this server. */
struct http_hosts {
	char	**names;		/* lower case, "127.0.0.1:7516" */
	size_t	  n;
};

/*
 * The listening address's own names (127.0.0.1, localhost, [::1], and
 * listen_host itself, each with :port; without it too when port is 80)
 * plus extra (copied, e.g. a reverse proxy's name). 0 or -ENOMEM.
 */
int	http_hosts_init(struct http_hosts *h, const char *listen_host,
	    int port, char *const *extra, size_t nextra);
void	http_hosts_deinit(struct http_hosts *h);
/* Whether a Host header value (len bytes) names this server. */
bool	http_host_ok(const struct http_hosts *h, const char *host, size_t len);
/* Whether an Origin value is "http://" + one of the hosts ("null" is
 * not). */
bool	http_origin_ok(const struct http_hosts *h, const char *origin,
	    size_t len);
/* Whether a Referer is a URL on one of the hosts (same origin). */
bool	http_referer_ok(const struct http_hosts *h, const char *ref,
	    size_t len);

/* ---- forms, queries, cookies ------------------------------------------ */

/* application/x-www-form-urlencoded pairs, one at a time. */
struct http_form {
	const char	*p, *end;
};

void	http_form_init(struct http_form *f, const char *s, size_t len);
/*
 * The next pair, decoded ('+' is a space, %XX a byte) into key and val
 * (NUL-terminated). 1 with a pair, 0 at the end, -1 when malformed: a bad
 * %-escape, a NUL byte, or longer than the buffer.
 */
int	http_form_next(struct http_form *f, char *key, size_t keylen,
	    char *val, size_t vallen);

/*
 * Finds cookie name in a Cookie header value ("a=1; b=2"). True with val
 * and vlen set to its value, which points into hdr.
 */
bool	http_cookie_find(const char *hdr, size_t len, const char *name,
	    const char **val, size_t *vlen);

/* ---- static files ------------------------------------------------------ */

/* Largest file served. */
#define HTTP_FILE_MAX		(4 * 1024 * 1024)

/*
 * A URL path (without its query) as a file below the root, into out: "/"
 * is "index.html"; %-escapes are decoded; a segment that is empty or
 * starts with '.', a backslash, a control byte or a directory (trailing
 * '/') is refused. 0, or -1.
 */
int	http_path_sanitise(const char *path, size_t len, char *out,
	    size_t outlen);
/* The Content-Type for rel's extension; NULL for a type not served. */
const char *http_content_type(const char *rel);
/*
 * Opens rel (sanitised) below root: the resolved path (symbolic links
 * followed) must stay inside root's, and be a regular file of at most
 * max bytes. 0 with *fd (close-on-exec) and *size, or -ENOENT for
 * anything refused or missing, -EFBIG, -errno.
 */
int	http_open_under(const char *root, const char *rel, size_t max,
	    int *fd, size_t *size);

/* ---- page sessions ----------------------------------------------------- */

/* A session id: 32 random bytes as 64 lower-case hex digits. */
#define HTTP_SESSION_ID_LEN	64
#define HTTP_SESSIONS_MAX	64

struct http_sessions;

/* At most max sessions (1..HTTP_SESSIONS_MAX), each ending after idle_ms
 * without use. NULL + errno. */
struct http_sessions *http_sessions_new(size_t max, int64_t idle_ms);
/* Wipes the ids and frees. NULL-safe. */
void	http_sessions_free(struct http_sessions *s);
/*
 * A new session at now (monotonic ms) with a fresh random id in id
 * (HTTP_SESSION_ID_LEN + 1 bytes); the least recently used one goes when
 * all slots are taken. 0, or -errno when no random bytes could be had.
 */
int	http_session_create(struct http_sessions *s, int64_t now, char *id);
/* Whether id (len bytes) is a live session at now; using it keeps it
 * alive. Compares in constant time. */
bool	http_session_check(struct http_sessions *s, const char *id,
	    size_t len, int64_t now);
/* Ends the session id, if any. */
void	http_session_drop(struct http_sessions *s, const char *id,
	    size_t len);
/* Live sessions at now. */
size_t	http_session_count(struct http_sessions *s, int64_t now);

/* ---- the API over HTTP ------------------------------------------------- */

/*
 * The API request for cmd from a query string (GET: "limit=5") or a body
 * (POST: a JSON object, or empty), validated exactly as the JSON API
 * validates it. The members the server sets ("cmd", "id", "by",
 * "token") are refused in either. 0 with req filled, or -1 with err;
 * api_request_clear(req) in both cases.
 */
int	http_api_request(const char *cmd, const char *query, size_t qlen,
	    const char *body, size_t blen, struct api_request *req,
	    struct api_error *err);
/* The HTTP status for an API error code (400, 403, 404, 409, ...). */
int	http_status_for(const char *code);

#endif
