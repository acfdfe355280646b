/* SPDX-License-Identifier: MIT */
/*
 * The hub-certificate policy: parser, name matcher, fingerprints, and the
 * cached policy file (which holds a hub policy in hub mode). Names compare
 * as ASCII bytes only (no locale, no IDN decoding), so a look-alike in
 * another script never matches.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "hub_policy.h"
#include "policy.h"

#define KEY_NAMES	"server_names"
#define KEY_CA		"ca_sha256"

void
policy_error_set(struct policy_error *err, int line, const char *fmt, ...)
{
	va_list ap;

	err->line = line;
	va_start(ap, fmt);
	(void)vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

/* A short, printable rendering of untrusted text for an error message. */
static const char *
printable(char *out, size_t size, const char *in)
{
	size_t i, o = 0;

	for (i = 0; in[i] != '\0' && o + 4 < size; i++)
		out[o++] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	if (in[i] != '\0' && o + 4 <= size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static int
ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static bool
label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool
policy_case_equal(const char *a, const char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (ascii_lower((unsigned char)a[i]) !=
		    ascii_lower((unsigned char)b[i]))
			return false;
	return true;
}

/*
 * Every label of s[0..len) is 1..63 label characters and neither starts
 * nor ends with '-'.
 */
static bool
labels_valid(const char *s, size_t len)
{
	size_t i, run = 0;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (run == 0 || s[i - 1] == '-')
				return false;
			run = 0;
		} else if (!label_char((unsigned char)s[i]) ||
		    ++run > POLICY_LABEL_MAX || (run == 1 && s[i] == '-')) {
			return false;
		}
	}
	return run > 0 && s[len - 1] != '-';
}

bool
policy_pattern_valid(const char *pattern)
{
	size_t len = strlen(pattern);

	if (len == 0 || len > POLICY_NAME_MAX)
		return false;
	if (pattern[0] == '*') {
		if (pattern[1] != '.')
			return false;
		return labels_valid(pattern + 2, len - 2);
	}
	return labels_valid(pattern, len);
}

bool
policy_name_match(const char *pattern, const char *name, size_t len)
{
	const char *dot;
	size_t plen;

	if (len == 0 || len > POLICY_NAME_MAX || memchr(name, '\0', len))
		return false;
	if (!policy_pattern_valid(pattern) || !labels_valid(name, len))
		return false;
	plen = strlen(pattern);
	if (pattern[0] != '*')
		return plen == len && policy_case_equal(pattern, name, len);
	/*
	 * "*.rest": the name's first label is the wildcard's, and what
	 * follows it, dot included, must equal ".rest".
	 */
	if ((dot = memchr(name, '.', len)) == NULL)
		return false;
	return (size_t)(name + len - dot) == plen - 1 &&
	    policy_case_equal(pattern + 1, dot, plen - 1);
}

bool
policy_name_allowed(const struct policy *p, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < p->n_names; i++)
		if (policy_name_match(p->names[i], name, len))
			return true;
	return false;
}

bool
policy_fp_listed(const unsigned char (*list)[POLICY_SHA256_LEN], size_t n,
    const unsigned char fp[POLICY_SHA256_LEN])
{
	unsigned char diff;
	size_t i, j;
	bool found = false;

	for (i = 0; i < n; i++) {
		diff = 0;
		for (j = 0; j < POLICY_SHA256_LEN; j++)
			diff |= list[i][j] ^ fp[j];
		found |= diff == 0;
	}
	return found;
}

bool
policy_ca_pinned(const struct policy *p,
    const unsigned char fp[POLICY_SHA256_LEN])
{
	return policy_fp_listed(p->ca, p->n_ca, fp);
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static size_t
prefix_len(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	return (strlen(text) >= n && policy_case_equal(text, prefix, n)) ? n : 0;
}

int
policy_fingerprint_parse(const char *text,
    unsigned char out[POLICY_SHA256_LEN])
{
	const char *p = text;
	size_t skip;
	int i, hi, lo;

	if ((skip = prefix_len(p, "sha256 fingerprint=")) == 0)
		skip = prefix_len(p, "sha256:");
	p += skip;
	for (i = 0; i < POLICY_SHA256_LEN; i++) {
		if ((hi = hex_value((unsigned char)p[0])) < 0 ||
		    (lo = hex_value((unsigned char)p[1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
		p += 2;
		if (*p == ':' && i < POLICY_SHA256_LEN - 1)
			p++;
	}
	return *p == '\0' ? 0 : -1;
}

void
policy_fingerprint_format(const unsigned char fp[POLICY_SHA256_LEN],
    char out[POLICY_FP_TEXT_LEN])
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;
	int i;

	memcpy(o, "sha256:", 7);
	o += 7;
	for (i = 0; i < POLICY_SHA256_LEN; i++) {
		*o++ = hex[fp[i] >> 4];
		*o++ = hex[fp[i] & 0xf];
	}
	*o = '\0';
}

void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	free(p->ca);
	free(p);
}

json_t *
policy_json_list(json_t *obj, const char *key, const char *where,
    struct policy_error *err)
{
	json_t *a = json_object_get(obj, key), *v;
	size_t i;

	if (a == NULL) {
		policy_error_set(err, 0, "'%s' is missing", where);
		return NULL;
	}
	if (!json_is_array(a) || json_array_size(a) == 0) {
		policy_error_set(err, 0, "'%s' must be a non-empty list of "
		    "strings", where);
		return NULL;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			policy_error_set(err, 0, "%s[%zu] is not a string",
			    where, i);
			return NULL;
		}
	}
	return a;
}

static int
parse_names(struct policy *p, json_t *a, struct policy_error *err)
{
	char shown[64];
	json_t *v;
	size_t i;

	if ((p->names = calloc(json_array_size(a), sizeof(*p->names))) == NULL)
		goto nomem;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);

		if (!policy_pattern_valid(s)) {
			policy_error_set(err, 0, "%s[%zu] '%s' is not a valid name "
			    "pattern (host name, or '*.' and a host name)",
			    KEY_NAMES, i, printable(shown, sizeof(shown), s));
			return -1;
		}
		if ((p->names[i] = strdup(s)) == NULL)
			goto nomem;
		p->n_names++;
	}
	return 0;
nomem:
	policy_error_set(err, 0, "out of memory");
	return -1;
}

int
policy_json_fingerprints(json_t *a, const char *where,
    unsigned char (**out)[POLICY_SHA256_LEN], size_t *n,
    struct policy_error *err)
{
	char shown[64];
	json_t *v;
	size_t i;

	*n = 0;
	if ((*out = calloc(json_array_size(a), sizeof(**out))) == NULL) {
		policy_error_set(err, 0, "out of memory");
		return -1;
	}
	json_array_foreach(a, i, v) {
		if (policy_fingerprint_parse(json_string_value(v),
		    (*out)[i]) < 0) {
			policy_error_set(err, 0, "%s[%zu] '%s' is not a SHA-256 "
			    "fingerprint (64 hex digits, colons optional)",
			    where, i, printable(shown, sizeof(shown),
			    json_string_value(v)));
			return -1;
		}
		(*n)++;
	}
	return 0;
}

struct policy *
policy_parse(const char *buf, size_t len, struct policy_error *err)
{
	char shown[48];
	json_error_t jerr;
	json_t *root, *names, *cas, *v;
	struct policy *p = NULL;
	const char *key;

	memset(err, 0, sizeof(*err));
	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		policy_error_set(err, jerr.line, "not valid JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		policy_error_set(err, 0, "not a JSON object");
		goto fail;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, KEY_NAMES) != 0 && strcmp(key, KEY_CA) != 0) {
			policy_error_set(err, 0, "unknown key '%s'",
			    printable(shown, sizeof(shown), key));
			goto fail;
		}
	}
	if ((names = policy_json_list(root, KEY_NAMES, KEY_NAMES, err)) ==
	    NULL || (cas = policy_json_list(root, KEY_CA, KEY_CA, err)) == NULL)
		goto fail;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		policy_error_set(err, 0, "out of memory");
		goto fail;
	}
	if (parse_names(p, names, err) < 0 ||
	    policy_json_fingerprints(cas, KEY_CA, &p->ca, &p->n_ca, err) < 0)
		goto fail;
	json_decref(root);
	return p;
fail:
	policy_free(p);
	json_decref(root);
	return NULL;
}

/*
 * Reads and parses an open policy file; st is its fstat(). Sets
 * pf->policy or pf->error.
 */
static void
load_fd(struct policy_file *pf, int fd, const struct stat *st)
{
	struct policy_error err;
	char *buf;
	size_t got = 0;
	ssize_t n;

	if (!S_ISREG(st->st_mode)) {
		snprintf(pf->error, sizeof(pf->error), "%s: not a regular file",
		    pf->path);
		return;
	}
	if (st->st_size > POLICY_FILE_MAX) {
		snprintf(pf->error, sizeof(pf->error), "%s: larger than %d "
		    "bytes", pf->path, POLICY_FILE_MAX);
		return;
	}
	if ((buf = malloc(POLICY_FILE_MAX + 1)) == NULL) {
		snprintf(pf->error, sizeof(pf->error), "%s: out of memory",
		    pf->path);
		return;
	}
	/* Read to EOF: the size may have changed since fstat(). */
	while (got <= POLICY_FILE_MAX &&
	    (n = read(fd, buf + got, POLICY_FILE_MAX + 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(pf->error, sizeof(pf->error), "%s: read: %s",
			    pf->path, strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	if (got > POLICY_FILE_MAX) {
		snprintf(pf->error, sizeof(pf->error), "%s: larger than %d "
		    "bytes", pf->path, POLICY_FILE_MAX);
		goto out;
	}
	if (pf->hub_mode)
		pf->hub = hub_policy_parse(buf, got, &err);
	else
		pf->policy = policy_parse(buf, got, &err);
	if (!policy_file_loaded(pf)) {
		if (err.line > 0)
			snprintf(pf->error, sizeof(pf->error), "%s:%d: %s",
			    pf->path, err.line, err.text);
		else
			snprintf(pf->error, sizeof(pf->error), "%s: %s",
			    pf->path, err.text);
	}
out:
	free(buf);
}

static bool
same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool
same_id(const struct policy_file *pf, const struct stat *st)
{
	return pf->have_id && pf->dev == st->st_dev && pf->ino == st->st_ino &&
	    pf->size == st->st_size && same_time(&pf->mtime, &st->st_mtim) &&
	    same_time(&pf->ctime, &st->st_ctim);
}

/* Forgets what was loaded. */
static void
drop(struct policy_file *pf)
{
	policy_free(pf->policy);
	pf->policy = NULL;
	hub_policy_free(pf->hub);
	pf->hub = NULL;
	pf->have_id = false;
}

/* Drops what was loaded and reads the file again. */
static void
reload(struct policy_file *pf)
{
	struct stat st;
	int fd;

	drop(pf);
	pf->error[0] = '\0';
	/* O_NONBLOCK: a FIFO planted in place of the file must not hang us. */
	fd = open(pf->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		/* Remembered so that refresh does not report it again. */
		pf->stat_errno = errno;
		snprintf(pf->error, sizeof(pf->error), "%s: %s", pf->path,
		    errno == ENOENT ? "no such file" : strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(pf->error, sizeof(pf->error), "%s: fstat: %s",
		    pf->path, strerror(errno));
		goto out;
	}
	pf->have_id = true;
	pf->dev = st.st_dev;
	pf->ino = st.st_ino;
	pf->size = st.st_size;
	pf->mtime = st.st_mtim;
	pf->ctime = st.st_ctim;
	load_fd(pf, fd, &st);
out:
	(void)close(fd);
}

static int
file_init(struct policy_file *pf, const char *path, bool hub_mode)
{
	memset(pf, 0, sizeof(*pf));
	pf->hub_mode = hub_mode;
	if ((pf->path = strdup(path)) == NULL)
		return -ENOMEM;
	reload(pf);
	return 0;
}

int
policy_file_init(struct policy_file *pf, const char *path)
{
	return file_init(pf, path, false);
}

int
policy_file_init_hub(struct policy_file *pf, const char *path)
{
	return file_init(pf, path, true);
}

bool
policy_file_loaded(const struct policy_file *pf)
{
	return pf->hub_mode ? pf->hub != NULL : pf->policy != NULL;
}

int
policy_file_refresh(struct policy_file *pf)
{
	char before[sizeof(pf->error)];
	bool had = policy_file_loaded(pf);
	struct stat st;

	if (stat(pf->path, &st) < 0) {
		if (pf->stat_errno == errno && !had)
			return 0;
		pf->stat_errno = errno;
		drop(pf);
		snprintf(pf->error, sizeof(pf->error), "%s: %s", pf->path,
		    errno == ENOENT ? "no such file" : strerror(errno));
		return 1;
	}
	pf->stat_errno = 0;
	if (same_id(pf, &st))
		return 0;
	memcpy(before, pf->error, sizeof(before));
	reload(pf);
	/* A rewrite that leaves an invalid file invalid for the same reason is
	 * no news. */
	return had || policy_file_loaded(pf) || strcmp(before, pf->error) != 0;
}

void
policy_file_deinit(struct policy_file *pf)
{
	drop(pf);
	free(pf->path);
	memset(pf, 0, sizeof(*pf));
}
