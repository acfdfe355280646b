/* SPDX-License-Identifier: MIT */
/*
 * The grants file: strict parsing into struct grants, formatting, and the
 * CLI's locked read-modify-write. The daemon only reads; it keeps the last
 * good grants when a file does not parse.
 */
#define _GNU_SOURCE		/* flock */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "grants.h"
#include "util.h"

static void
set_err(struct grants_error *err, int index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(struct grants_error *err, int index, const char *fmt, ...)
{
	va_list ap;

	err->index = index;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int
days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

bool
grants_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, oh, om, frac = 0, scale = 100;
	int64_t off = 0;
	const char *p;

	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return false;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return false;
		for (p++; *p >= '0' && *p <= '9'; p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == '+' || *p == '-') {
		if (!digits(p + 1, 2, &oh) || p[3] != ':' ||
		    !digits(p + 4, 2, &om) || p[6] != '\0' || oh > 23 ||
		    om > 59)
			return false;
		off = ((int64_t)oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
	} else if ((*p != 'Z' && *p != 'z') || p[1] != '\0')
		return false;
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    sec - off) * 1000) + frac;
	return true;
}

static int
take_text(json_t *entry, const char *key, char *dst, size_t size,
    bool required, bool cn, int i, struct grants_error *err)
{
	json_t *v = json_object_get(entry, key);
	const char *s;

	if (v == NULL) {
		if (required) {
			set_err(err, i, "grant %d: '%s' is missing", i + 1, key);
			return -1;
		}
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v) || (s = json_string_value(v),
	    strlen(s) != json_string_length(v)) ||
	    !(cn ? ident_cn_valid(s) : ident_text_valid(s, size - 1))) {
		set_err(err, i, cn ? "grant %d: '%s' must be a common name (1-"
		    "64 printable characters, no spaces)" : "grant %d: '%s' "
		    "must be 1-%zu printable characters", i + 1, key, size - 1);
		return -1;
	}
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int
take_time(json_t *entry, const char *key, int64_t *ms, bool required, int i,
    struct grants_error *err)
{
	json_t *v = json_object_get(entry, key);

	if (v == NULL && !required) {
		*ms = 0;
		return 0;
	}
	if (v == NULL || !json_is_string(v) ||
	    !grants_parse_time(json_string_value(v), ms)) {
		set_err(err, i, "grant %d: '%s' must be an RFC 3339 time such "
		    "as \"2026-11-28T10:00:00Z\"", i + 1, key);
		return -1;
	}
	return 0;
}

static int
parse_entry(json_t *entry, int i, int64_t now_ms, struct grant *g,
    struct grants_error *err)
{
	static const char *const known[] = { "staff", "appliance", "expires",
	    "case", "by", "created" };
	const char *key;
	json_t *v;
	size_t k;

	if (!json_is_object(entry)) {
		set_err(err, i, "grant %d: not an object", i + 1);
		return -1;
	}
	json_object_foreach(entry, key, v) {
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (strcmp(key, known[k]) == 0)
				break;
		if (k == sizeof(known) / sizeof(known[0])) {
			set_err(err, i, "grant %d: unknown key '%.32s'", i + 1,
			    key);
			return -1;
		}
	}
	if (take_text(entry, "staff", g->staff, sizeof(g->staff), true, true,
	    i, err) < 0 || take_text(entry, "appliance", g->appliance,
	    sizeof(g->appliance), true, true, i, err) < 0 ||
	    take_text(entry, "case", g->case_ref, sizeof(g->case_ref), false,
	    false, i, err) < 0 || take_text(entry, "by", g->by, sizeof(g->by),
	    false, false, i, err) < 0 || take_time(entry, "expires",
	    &g->expires_ms, true, i, err) < 0 || take_time(entry, "created",
	    &g->created_ms, false, i, err) < 0)
		return -1;
	if (g->expires_ms - now_ms > (GRANTS_MAX_S + 60) * 1000) {
		set_err(err, i, "grant %d: expires more than 30 days ahead",
		    i + 1);
		return -1;
	}
	return 0;
}

static int
cmp_pair(const void *a, const void *b)
{
	const struct grant *x = *(const struct grant *const *)a;
	const struct grant *y = *(const struct grant *const *)b;
	int c = strcmp(x->staff, y->staff);

	return c != 0 ? c : strcmp(x->appliance, y->appliance);
}

/* A second grant for one pair would make "revoke" ambiguous. */
static int
check_duplicates(const struct grants *gs, struct grants_error *err)
{
	const struct grant **p;
	size_t i;
	int rc = 0;

	if (gs->n < 2)
		return 0;
	if ((p = calloc(gs->n, sizeof(*p))) == NULL) {
		set_err(err, -1, "out of memory");
		return -1;
	}
	for (i = 0; i < gs->n; i++)
		p[i] = &gs->v[i];
	qsort(p, gs->n, sizeof(*p), cmp_pair);
	for (i = 1; i < gs->n; i++)
		if (cmp_pair(&p[i - 1], &p[i]) == 0) {
			set_err(err, (int)(p[i] - gs->v), "grant %d: a second "
			    "grant for %s and %s (grant %d)",
			    (int)(p[i] - gs->v) + 1, p[i]->staff,
			    p[i]->appliance, (int)(p[i - 1] - gs->v) + 1);
			rc = -1;
			break;
		}
	free(p);
	return rc;
}

static int
parse_root(json_t *root, int64_t now_ms, struct grants *out,
    struct grants_error *err)
{
	json_t *list, *entry;
	size_t i;

	if (!json_is_object(root) || json_object_size(root) != 1 ||
	    !json_is_array(list = json_object_get(root, "grants"))) {
		set_err(err, -1, "the file must be {\"grants\": [...]}");
		return -1;
	}
	if (json_array_size(list) > GRANTS_MAX) {
		set_err(err, -1, "more than %d grants", GRANTS_MAX);
		return -1;
	}
	if (json_array_size(list) > 0 &&
	    (out->v = calloc(json_array_size(list), sizeof(*out->v))) == NULL) {
		set_err(err, -1, "out of memory");
		return -1;
	}
	json_array_foreach(list, i, entry) {
		if (parse_entry(entry, (int)i, now_ms, &out->v[i], err) < 0)
			return -1;
		out->n = i + 1;
	}
	return check_duplicates(out, err);
}

int
grants_parse(const char *buf, size_t len, int64_t now_ms, struct grants *out,
    struct grants_error *err)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	err->index = -1;
	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		set_err(err, -1, "line %d column %d: %s", jerr.line,
		    jerr.column, jerr.text);
		return -1;
	}
	rc = parse_root(root, now_ms, out, err);
	json_decref(root);
	if (rc < 0)
		grants_deinit(out);
	return rc;
}

/* Reads all of fd, at most GRANTS_FILE_MAX bytes. New buffer or NULL. */
static char *
read_all(int fd, size_t *len, int *rc)
{
	size_t cap = 8192, n = 0;
	char *buf = NULL, *nb;
	ssize_t r;

	for (;;) {
		if (n == cap || buf == NULL) {
			if (buf != NULL)
				cap *= 2;
			if (cap > GRANTS_FILE_MAX + 1)
				cap = GRANTS_FILE_MAX + 1;
			if ((nb = realloc(buf, cap)) == NULL) {
				*rc = -ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		if ((r = read(fd, buf + n, cap - n)) < 0) {
			if (errno == EINTR)
				continue;
			*rc = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > GRANTS_FILE_MAX) {
			*rc = -EFBIG;
			goto fail;
		}
	}
	*len = n;
	return buf;
fail:
	free(buf);
	return NULL;
}

/*
 * Whoever may write the grants file decides who reaches which appliance:
 * it must be a regular file owned by root (or by us) that neither group
 * nor others may write.
 */
static int
check_owner(int fd, struct grants_error *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int rc = -errno;

		set_err(err, -1, "%s", strerror(-rc));
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, -1, "not a regular file");
		return -EINVAL;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		set_err(err, -1, "owned by uid %u or writable by group or "
		    "others (must be root's, mode 0640 or 0600)",
		    (unsigned)st.st_uid);
		return -EACCES;
	}
	return 0;
}

int
grants_load(const char *path, int64_t now_ms, struct grants *out,
    struct grants_error *err)
{
	size_t len;
	char *buf;
	int fd, rc = 0;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	err->index = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		set_err(err, -1, "%s", strerror(errno));
		return rc;
	}
	if ((rc = check_owner(fd, err)) < 0) {
		close(fd);
		return rc;
	}
	buf = read_all(fd, &len, &rc);
	close(fd);
	if (buf == NULL) {
		set_err(err, -1, "%s", rc == -EFBIG ? "larger than 4 MiB" :
		    strerror(-rc));
		return rc;
	}
	rc = grants_parse(buf, len, now_ms, out, err);
	free(buf);
	return rc;
}

static json_t *
grant_json(const struct grant *g)
{
	char exp[UTIL_TIME_LEN], cre[UTIL_TIME_LEN];
	json_t *o;

	o = json_pack("{s:s, s:s, s:s}", "staff", g->staff, "appliance",
	    g->appliance, "expires", util_time_fmt(exp, g->expires_ms,
	    g->expires_ms % 1000 != 0));
	if (o == NULL)
		return NULL;
	if ((g->case_ref[0] != '\0' && json_object_set_new(o, "case",
	    json_string(g->case_ref)) < 0) || (g->by[0] != '\0' &&
	    json_object_set_new(o, "by", json_string(g->by)) < 0) ||
	    (g->created_ms > 0 && json_object_set_new(o, "created",
	    json_string(util_time_fmt(cre, g->created_ms, false))) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *
grants_format(const struct grants *gs)
{
	json_t *root, *list, *o;
	char *text = NULL, *out = NULL;
	size_t i, n;

	if ((root = json_object()) == NULL || (list = json_array()) == NULL ||
	    json_object_set_new(root, "grants", list) < 0)
		goto out;
	for (i = 0; i < gs->n; i++)
		if ((o = grant_json(&gs->v[i])) == NULL ||
		    json_array_append_new(list, o) < 0)
			goto out;
	if ((text = json_dumps(root, JSON_INDENT(2))) == NULL)
		goto out;
	n = strlen(text);
	if ((out = malloc(n + 2)) != NULL) {
		memcpy(out, text, n);
		memcpy(out + n, "\n", 2);
	}
out:
	free(text);
	json_decref(root);
	if (out == NULL)
		errno = ENOMEM;
	return out;
}

void
grants_deinit(struct grants *g)
{
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

bool
grants_active(const struct grant *g, int64_t now_ms)
{
	return g->expires_ms > now_ms;
}

struct grant *
grants_find(const struct grants *gs, const char *staff, const char *appliance)
{
	size_t i;

	for (i = 0; i < gs->n; i++)
		if (strcmp(gs->v[i].staff, staff) == 0 &&
		    strcmp(gs->v[i].appliance, appliance) == 0)
			return &gs->v[i];
	return NULL;
}

int
grants_put(struct grants *gs, const struct grant *g)
{
	struct grant *old = grants_find(gs, g->staff, g->appliance), *nv;

	if (old != NULL) {
		*old = *g;
		return 0;
	}
	if (gs->n >= GRANTS_MAX)
		return -ENOSPC;
	if ((nv = realloc(gs->v, (gs->n + 1) * sizeof(*nv))) == NULL)
		return -ENOMEM;
	gs->v = nv;
	gs->v[gs->n++] = *g;
	return 0;
}

bool
grants_remove(struct grants *gs, const char *staff, const char *appliance)
{
	struct grant *g = grants_find(gs, staff, appliance);
	size_t i;

	if (g == NULL)
		return false;
	i = (size_t)(g - gs->v);
	memmove(&gs->v[i], &gs->v[i + 1], (gs->n - i - 1) * sizeof(*g));
	gs->n--;
	return true;
}

void
grants_prune(struct grants *gs, int64_t now_ms)
{
	size_t i, j = 0;

	for (i = 0; i < gs->n; i++)
		if (grants_active(&gs->v[i], now_ms))
			gs->v[j++] = gs->v[i];
	gs->n = j;
}

int
grants_edit(const char *path, int64_t now_ms,
    int (*edit)(struct grants *gs, void *arg, struct grants_error *err),
    void *arg, struct grants_error *err)
{
	struct grants gs = { NULL, 0 };
	char lock[4096], *text = NULL, *dir;
	int fd, rc;

	memset(err, 0, sizeof(*err));
	err->index = -1;
	if ((rc = util_snprintf(lock, sizeof(lock), "%s.lock", path)) < 0)
		return rc;
	if ((dir = strdup(path)) == NULL)
		return -ENOMEM;
	rc = util_mkdir_p(dirname(dir), 0755);
	free(dir);
	if (rc < 0)
		return rc;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while ((rc = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
		continue;
	if (rc < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = grants_load(path, now_ms, &gs, err)) != 0 ||
	    (rc = edit(&gs, arg, err)) != 0)
		goto out;
	if ((text = grants_format(&gs)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* Positive: written, only the directory's fsync failed; the new
	 * grants are in place and must be applied. */
	if ((rc = util_write_atomic(path, text, strlen(text), 0640, true)) > 0)
		rc = 0;
out:
	free(text);
	grants_deinit(&gs);
	close(fd);	/* releases the lock */
	return rc;
}
