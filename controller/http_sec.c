/* SPDX-License-Identifier: MIT */
/* The HTTP interface's decisions and decoders; no HTTP library here. */
#define _DEFAULT_SOURCE		/* explicit_bzero */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "api_req.h"
#include "http_sec.h"
#include "util.h"

/* ---- Host and Origin --------------------------------------------------- */

/* Adds name (lower-cased) unless it is there already. */
static int
hosts_add(struct http_hosts *h, const char *name)
{
	char **names, *copy;
	size_t i;

	if (strlen(name) > HTTP_HOST_MAX)
		return 0;	/* no Host we accept is that long */
	for (i = 0; i < h->n; i++)
		if (strcasecmp(h->names[i], name) == 0)
			return 0;
	if ((copy = strdup(name)) == NULL)
		return -ENOMEM;
	for (i = 0; copy[i] != '\0'; i++)
		if (copy[i] >= 'A' && copy[i] <= 'Z')
			copy[i] = (char)(copy[i] - 'A' + 'a');
	if ((names = realloc(h->names, (h->n + 1) * sizeof(*names))) == NULL) {
		free(copy);
		return -ENOMEM;
	}
	h->names = names;
	h->names[h->n++] = copy;
	return 0;
}

/* name:port, with an IPv6 address in brackets; bare too on port 80,
 * since browsers leave the default port out. */
static int
hosts_add_own(struct http_hosts *h, const char *name, int port)
{
	char bare[HTTP_HOST_MAX + 1], full[HTTP_HOST_MAX + 8];
	bool v6 = strchr(name, ':') != NULL;
	int rc;

	if (strlen(name) + 2 > HTTP_HOST_MAX)
		return 0;
	snprintf(bare, sizeof(bare), v6 ? "[%s]" : "%s", name);
	snprintf(full, sizeof(full), "%s:%d", bare, port);
	if ((rc = hosts_add(h, full)) < 0 || port != 80)
		return rc;
	return hosts_add(h, bare);
}

int
http_hosts_init(struct http_hosts *h, const char *listen_host, int port,
    char *const *extra, size_t nextra)
{
	const char *own[] = { "127.0.0.1", "localhost", "::1", listen_host };
	size_t i;
	int rc = 0;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < sizeof(own) / sizeof(own[0]) && rc == 0; i++)
		rc = hosts_add_own(h, own[i], port);
	for (i = 0; i < nextra && rc == 0; i++)
		rc = hosts_add(h, extra[i]);
	if (rc < 0)
		http_hosts_deinit(h);
	return rc;
}

void
http_hosts_deinit(struct http_hosts *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->names[i]);
	free(h->names);
	h->names = NULL;
	h->n = 0;
}

bool
http_host_ok(const struct http_hosts *h, const char *host, size_t len)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strlen(h->names[i]) == len &&
		    strncasecmp(h->names[i], host, len) == 0)
			return true;
	return false;
}

bool
http_origin_ok(const struct http_hosts *h, const char *origin, size_t len)
{
	static const char scheme[] = "http://";
	const size_t sl = sizeof(scheme) - 1;

	if (len <= sl || strncasecmp(origin, scheme, sl) != 0)
		return false;
	return http_host_ok(h, origin + sl, len - sl);
}

bool
http_referer_ok(const struct http_hosts *h, const char *ref, size_t len)
{
	static const char scheme[] = "http://";
	const size_t sl = sizeof(scheme) - 1;
	const char *slash;

	if (len <= sl || strncasecmp(ref, scheme, sl) != 0)
		return false;
	slash = memchr(ref + sl, '/', len - sl);
	return http_host_ok(h, ref + sl, slash != NULL ?
	    (size_t)(slash - (ref + sl)) : len - sl);
}

/* ---- forms, queries, cookies ------------------------------------------ */

/* Decodes s..end into out (outlen bytes, NUL-terminated). 0 or -1. */
static int
pct_decode(const char *s, const char *end, bool plus, char *out,
    size_t outlen)
{
	size_t o = 0;
	int hi, lo;
	char c;

	while (s < end) {
		c = *s++;
		if (c == '%') {
			if (end - s < 2 || (hi = util_hexval(s[0])) < 0 ||
			    (lo = util_hexval(s[1])) < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			s += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (c == '\0' || o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

void
http_form_init(struct http_form *f, const char *s, size_t len)
{
	/* No query or body at all: NULL with 0, and NULL + 0 is undefined. */
	if (s == NULL)
		s = "", len = 0;
	f->p = s;
	f->end = s + len;
}

int
http_form_next(struct http_form *f, char *key, size_t keylen, char *val,
    size_t vallen)
{
	const char *amp, *eq;

	/* Empty pairs ("a=1&&b=2", a trailing '&') carry nothing. */
	while (f->p < f->end && *f->p == '&')
		f->p++;
	if (f->p >= f->end)
		return 0;
	if ((amp = memchr(f->p, '&', (size_t)(f->end - f->p))) == NULL)
		amp = f->end;
	if ((eq = memchr(f->p, '=', (size_t)(amp - f->p))) == NULL)
		eq = amp;
	if (eq == f->p || pct_decode(f->p, eq, true, key, keylen) < 0 ||
	    pct_decode(eq < amp ? eq + 1 : amp, amp, true, val, vallen) < 0)
		return -1;
	f->p = amp;
	return 1;
}

bool
http_cookie_find(const char *hdr, size_t len, const char *name,
    const char **val, size_t *vlen)
{
	const char *p = hdr, *end = hdr + len, *semi, *eq;
	size_t nl = strlen(name);

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
			p++;
		if ((semi = memchr(p, ';', (size_t)(end - p))) == NULL)
			semi = end;
		eq = memchr(p, '=', (size_t)(semi - p));
		if (eq != NULL && (size_t)(eq - p) == nl &&
		    memcmp(p, name, nl) == 0) {
			*val = eq + 1;
			*vlen = (size_t)(semi - (eq + 1));
			while (*vlen > 0 && ((*val)[*vlen - 1] == ' ' ||
			    (*val)[*vlen - 1] == '\t'))
				(*vlen)--;
			return true;
		}
		p = semi;
	}
	return false;
}

/* ---- static files ------------------------------------------------------ */

static bool
segment_ok(const char *seg, size_t len)
{
	size_t i;

	if (len == 0 || seg[0] == '.')
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)seg[i] < 0x20 || seg[i] == 0x7f ||
		    seg[i] == '\\')
			return false;
	return true;
}

int
http_path_sanitise(const char *path, size_t len, char *out, size_t outlen)
{
	char dec[PATH_MAX];
	const char *seg, *slash, *end;

	if (len == 0 || path[0] != '/')
		return -1;
	if (len == 1)
		return snprintf(out, outlen, "index.html") < (int)outlen ? 0 :
		    -1;
	/* Decode first: "%2e%2e" must meet the same checks as "..". */
	if (pct_decode(path + 1, path + len, false, dec, sizeof(dec)) < 0)
		return -1;
	end = dec + strlen(dec);
	for (seg = dec; seg <= end; seg = slash + 1) {
		if ((slash = memchr(seg, '/', (size_t)(end - seg))) == NULL)
			slash = end;
		if (!segment_ok(seg, (size_t)(slash - seg)))
			return -1;
	}
	if (strlen(dec) >= outlen)
		return -1;
	memcpy(out, dec, strlen(dec) + 1);
	return 0;
}

const char *
http_content_type(const char *rel)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
	};
	const char *dot = strrchr(rel, '.');
	size_t i;

	if (dot == NULL || strchr(dot, '/') != NULL)
		return NULL;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

int
http_open_under(const char *root, const char *rel, size_t max, int *fd,
    size_t *size)
{
	char rroot[PATH_MAX], joined[PATH_MAX], real[PATH_MAX];
	size_t rl;
	struct stat st;
	int f, n;

	*fd = -1;
	if (realpath(root, rroot) == NULL)
		return -ENOENT;
	n = snprintf(joined, sizeof(joined), "%s/%s", rroot, rel);
	if (n < 0 || (size_t)n >= sizeof(joined))
		return -ENOENT;
	if (realpath(joined, real) == NULL)
		return -ENOENT;
	/* Symbolic links may point anywhere inside the root, nowhere else. */
	rl = strlen(rroot);
	if (strncmp(real, rroot, rl) != 0 || (real[rl] != '/' &&
	    !(rl == 1 && rroot[0] == '/')))
		return -ENOENT;
	/* O_NOFOLLOW: the resolved path holds no link; one swapped in since
	 * is refused rather than followed. */
	if ((f = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0)
		return errno == ELOOP ? -ENOENT : -errno;
	if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(f);
		return -ENOENT;
	}
	if ((uintmax_t)st.st_size > max) {
		close(f);
		return -EFBIG;
	}
	*fd = f;
	*size = (size_t)st.st_size;
	return 0;
}

/* ---- page sessions ----------------------------------------------------- */

struct http_slot {
	char	id[HTTP_SESSION_ID_LEN];
	bool	used;
	int64_t	last;			/* monotonic ms of the last use */
};

struct http_sessions {
	size_t		 max;
	int64_t		 idle_ms;
	struct http_slot slots[HTTP_SESSIONS_MAX];
};

struct http_sessions *
http_sessions_new(size_t max, int64_t idle_ms)
{
	struct http_sessions *s;

	if (max < 1 || max > HTTP_SESSIONS_MAX || idle_ms <= 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->max = max;
	s->idle_ms = idle_ms;
	return s;
}

void
http_sessions_free(struct http_sessions *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, sizeof(*s));
	free(s);
}

static void
slot_clear(struct http_slot *sl)
{
	explicit_bzero(sl, sizeof(*sl));
}

static bool
slot_live(const struct http_sessions *s, const struct http_slot *sl,
    int64_t now)
{
	return sl->used && now - sl->last < s->idle_ms;
}

int
http_session_create(struct http_sessions *s, int64_t now, char *id)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[HTTP_SESSION_ID_LEN / 2];
	struct http_slot *sl = NULL;
	size_t i, got = 0;
	ssize_t n;

	while (got < sizeof(rnd)) {
		if ((n = getrandom(rnd + got, sizeof(rnd) - got, 0)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	/* A free or expired slot, else the least recently used. */
	for (i = 0; i < s->max; i++) {
		if (!slot_live(s, &s->slots[i], now)) {
			sl = &s->slots[i];
			break;
		}
		if (sl == NULL || s->slots[i].last < sl->last)
			sl = &s->slots[i];
	}
	slot_clear(sl);
	for (i = 0; i < sizeof(rnd); i++) {
		sl->id[2 * i] = hex[rnd[i] >> 4];
		sl->id[2 * i + 1] = hex[rnd[i] & 15];
	}
	explicit_bzero(rnd, sizeof(rnd));
	sl->used = true;
	sl->last = now;
	memcpy(id, sl->id, HTTP_SESSION_ID_LEN);
	id[HTTP_SESSION_ID_LEN] = '\0';
	return 0;
}

/* Equal in time that depends only on the length. */
static bool
ct_equal(const char *a, const char *b, size_t len)
{
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static struct http_slot *
slot_find(struct http_sessions *s, const char *id, size_t len, int64_t now)
{
	struct http_slot *found = NULL;
	size_t i;

	if (len != HTTP_SESSION_ID_LEN)
		return NULL;
	/* Every slot is compared, so the time says nothing of which. */
	for (i = 0; i < s->max; i++) {
		if (!s->slots[i].used)
			continue;
		if (!slot_live(s, &s->slots[i], now)) {
			slot_clear(&s->slots[i]);
			continue;
		}
		if (ct_equal(s->slots[i].id, id, len))
			found = &s->slots[i];
	}
	return found;
}

bool
http_session_check(struct http_sessions *s, const char *id, size_t len,
    int64_t now)
{
	struct http_slot *sl = slot_find(s, id, len, now);

	if (sl == NULL)
		return false;
	sl->last = now;
	return true;
}

void
http_session_drop(struct http_sessions *s, const char *id, size_t len)
{
	struct http_slot *sl = slot_find(s, id, len, INT64_MIN / 2);

	/* now far in the past: nothing counts as expired while dropping. */
	if (sl != NULL)
		slot_clear(sl);
}

size_t
http_session_count(struct http_sessions *s, int64_t now)
{
	size_t i, n = 0;

	for (i = 0; i < s->max; i++)
		if (slot_live(s, &s->slots[i], now))
			n++;
	return n;
}

/* ---- the API over HTTP ------------------------------------------------- */

static int
fail(struct api_error *err, const char *code, const char *msg)
{
	err->code = code;
	snprintf(err->message, sizeof(err->message), "%s", msg);
	return -1;
}

/* A query value as the API's argument type: the flags are booleans
 * ("1", "true"), numbers are numbers, the rest strings (which the API
 * then names in its error). */
static json_t *
query_value(const char *key, const char *val)
{
	static const char *const flags[] = { "refresh", "when_possible",
	    "wait" };
	char *end;
	long long n;
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strcmp(key, flags[i]) != 0)
			continue;
		if (strcmp(val, "1") == 0 || strcmp(val, "true") == 0)
			return json_true();
		if (strcmp(val, "0") == 0 || strcmp(val, "false") == 0)
			return json_false();
		return json_string(val);
	}
	errno = 0;
	n = strtoll(val, &end, 10);
	if (val[0] >= '0' && val[0] <= '9' && *end == '\0' && errno == 0)
		return json_integer(n);
	return json_string(val);
}

static int
query_args(json_t *o, const char *query, size_t qlen, struct api_error *err)
{
	struct http_form f;
	char key[64], val[256];
	int rc;

	http_form_init(&f, query, qlen);
	while ((rc = http_form_next(&f, key, sizeof(key), val,
	    sizeof(val))) > 0) {
		if (json_object_get(o, key) != NULL)
			return fail(err, "bad_argument", "an argument is given "
			    "twice in the query");
		if (json_object_set_new(o, key, query_value(key, val)) < 0)
			return fail(err, "internal", "out of memory");
	}
	if (rc < 0)
		return fail(err, "bad_request", "the query string is malformed");
	return 0;
}

static json_t *
body_args(const char *body, size_t blen, struct api_error *err)
{
	json_error_t jerr;
	json_t *o;

	if (blen == 0)
		return json_object();
	if ((o = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		fail(err, "bad_request", "the body is not a JSON object");
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		fail(err, "bad_request", "the body is not a JSON object");
		return NULL;
	}
	return o;
}

int
http_api_request(const char *cmd, const char *query, size_t qlen,
    const char *body, size_t blen, struct api_request *req,
    struct api_error *err)
{
	static const char *const server_sets[] = { "cmd", "id", "by", "token" };
	json_t *o;
	char *line = NULL;
	size_t i;
	int rc = -1;

	memset(req, 0, sizeof(*req));
	memset(err, 0, sizeof(*err));
	if ((o = body_args(body, blen, err)) == NULL)
		return -1;
	if (query_args(o, query, qlen, err) < 0)
		goto out;
	for (i = 0; i < sizeof(server_sets) / sizeof(server_sets[0]); i++)
		if (json_object_get(o, server_sets[i]) != NULL) {
			snprintf(err->message, sizeof(err->message), "'%s' is "
			    "not an argument here (the server sets it)",
			    server_sets[i]);
			err->code = "bad_argument";
			goto out;
		}
	if (json_object_set_new(o, "cmd", json_string(cmd)) < 0 ||
	    (line = json_dumps(o, JSON_COMPACT)) == NULL) {
		fail(err, "internal", "out of memory");
		goto out;
	}
	/* The API's own parser: the same checks and the same messages. */
	rc = api_request_parse(line, strlen(line), req, err);
out:
	free(line);
	json_decref(o);
	return rc;
}

int
http_status_for(const char *code)
{
	static const struct {
		const char	*code;
		int		 status;
	} map[] = {
		{ "bad_request", 400 }, { "bad_argument", 400 },
		{ "unknown_command", 400 }, { "invalid", 400 },
		{ "forbidden", 403 }, { "not_allowed", 403 },
		{ "not_found", 404 }, { "method_not_allowed", 405 },
		{ "superseded", 409 }, { "not_active", 409 },
		{ "no_end", 409 }, { "too_big", 413 },
		{ "line_too_long", 413 }, { "rate_limited", 429 },
		{ "busy", 429 }, { "unavailable", 503 }, { "failed", 503 },
		{ "timeout", 503 }, { "shutting_down", 503 },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(code, map[i].code) == 0)
			return map[i].status;
	return 500;	/* internal, storage, and anything new */
}
