/* SPDX-License-Identifier: MIT */
/* Unit tests: the session history (append, read, torn lines, rotation
 * with the open session carried, crash recovery, failed writes). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "audit.h"
#include "util.h"

#define TS	"2020-01-01T00:00:00.000Z"

struct fixture {
	char dir[64];
	char path[128];
	char old[136];
	char tmp[136];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/svtest-audit-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/history.jsonl", f->dir);
	snprintf(f->old, sizeof(f->old), "%s.1", f->path);
	snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", f->path);
	*state = f;
	return 0;
}

/* Fails when a test left anything else behind (a stray path.tmp). */
static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc;

	(void)unlink(f->path);
	(void)unlink(f->old);
	(void)unlink(f->tmp);
	rc = rmdir(f->dir);
	free(f);
	return rc;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* The file's bytes, NUL-terminated (new), or NULL when it is missing. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	size_t len;

	if (fp == NULL)
		return NULL;
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = (size_t)ftell(fp);
	rewind(fp);
	buf = malloc(len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, len, fp), len);
	buf[len] = '\0';
	fclose(fp);
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

static size_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

static size_t
count_lines(const char *text)
{
	size_t n = 0;

	for (; *text != '\0'; text++)
		n += *text == '\n';
	return n;
}

static void
append_rec(struct audit *a, const char *event, const char *session, int n,
    size_t padlen)
{
	json_t *r = json_pack("{s:s, s:i}", "event", event, "n", n);
	char *pad;

	assert_non_null(r);
	if (session != NULL)
		json_object_set_new(r, "session", json_string(session));
	if (padlen > 0) {
		pad = malloc(padlen + 1);
		assert_non_null(pad);
		memset(pad, 'x', padlen);
		pad[padlen] = '\0';
		json_object_set_new(r, "pad", json_string(pad));
		free(pad);
	}
	assert_int_equal(audit_append(a, r, false), 0);
	json_decref(r);
}

static json_t *
read_all(struct audit *a)
{
	json_t *arr = NULL;

	assert_int_equal(audit_read(a, 0, &arr), 0);
	assert_true(json_is_array(arr));
	return arr;
}

static json_int_t
rec_n(json_t *arr, size_t i)
{
	json_t *n = json_object_get(json_array_get(arr, i), "n");

	assert_true(json_is_integer(n));
	return json_integer_value(n);
}

static const char *
rec_event(json_t *arr, size_t i)
{
	const char *e;

	e = json_string_value(json_object_get(json_array_get(arr, i),
	    "event"));
	assert_non_null(e);
	return e;
}

static size_t
count_event(json_t *arr, const char *event, json_int_t n)
{
	size_t i, count = 0;

	for (i = 0; i < json_array_size(arr); i++)
		if (strcmp(rec_event(arr, i), event) == 0 &&
		    (n < 0 || rec_n(arr, i) == n))
			count++;
	return count;
}

static void
assert_no_carried(json_t *arr)
{
	size_t i;

	for (i = 0; i < json_array_size(arr); i++)
		assert_null(json_object_get(json_array_get(arr, i),
		    "carried"));
}

static void
test_order_limit(void **state)
{
	struct fixture *f = *state;
	struct audit_stats st;
	struct audit *a;
	struct stat sb;
	json_t *arr;
	char *text;
	size_t i;

	assert_int_equal(audit_open(f->path, 0, &a), 0);
	for (i = 0; i < 5; i++)
		append_rec(a, "test", NULL, (int)i, 0);
	arr = read_all(a);
	assert_int_equal(json_array_size(arr), 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(rec_n(arr, i), 4 - i);
	json_decref(arr);
	assert_int_equal(audit_read(a, 2, &arr), 0);
	assert_int_equal(json_array_size(arr), 2);
	assert_int_equal(rec_n(arr, 0), 4);
	assert_int_equal(rec_n(arr, 1), 3);
	json_decref(arr);

	audit_stats(a, &st);
	assert_int_equal(st.records, 5);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(st.rotations, 0);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(st.bytes, (size_t)sb.st_size);
	text = slurp(f->path, NULL);
	assert_non_null(text);
	assert_int_equal(count_lines(text), 5);
	assert_int_equal(strncmp(text, "{\"ts\":\"", 7), 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
	free(text);
	audit_close(a);
}

static void
test_ts_added(void **state)
{
	struct fixture *f = *state;
	char before[UTIL_TIME_LEN], after[UTIL_TIME_LEN];
	struct audit *a;
	json_t *rec, *arr;
	const char *ts;

	assert_int_equal(audit_open(f->path, 0, &a), 0);
	util_time_fmt(before, util_now_ms(), true);
	rec = json_pack("{s:s}", "event", "activate");
	assert_int_equal(audit_append(a, rec, true), 0);
	util_time_fmt(after, util_now_ms(), true);
	assert_null(json_object_get(rec, "ts"));	/* caller's unchanged */
	json_decref(rec);
	rec = json_pack("{s:s, s:s}", "event", "own", "ts", TS);
	assert_int_equal(audit_append(a, rec, false), 0);
	json_decref(rec);

	arr = read_all(a);
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(arr, 0), "ts")), TS);
	ts = json_string_value(json_object_get(json_array_get(arr, 1), "ts"));
	assert_non_null(ts);
	assert_int_equal(strlen(ts), strlen(TS));
	assert_int_equal(ts[10], 'T');
	assert_int_equal(ts[19], '.');
	assert_int_equal(ts[23], 'Z');
	/* Same format, so the strings order like the times. */
	assert_true(strcmp(before, ts) <= 0);
	assert_true(strcmp(ts, after) <= 0);
	assert_string_equal(rec_event(arr, 1), "activate");
	json_decref(arr);
	audit_close(a);
}

static void
test_torn_tail(void **state)
{
	struct fixture *f = *state;
	const char *l1 = "{\"ts\":\"" TS "\",\"event\":\"a\",\"n\":1}\n";
	const char *l2 = "{\"ts\":\"" TS "\",\"event\":\"b\",\"n\":2}\n";
	struct audit_stats st;
	struct audit *a;
	char whole[256], *text;
	json_t *arr;

	snprintf(whole, sizeof(whole), "%s%s", l1, l2);
	{
		char torn[320];

		snprintf(torn, sizeof(torn), "%s{\"ts\":\"" TS "\",\"ev",
		    whole);
		write_file(f->path, torn);
	}
	assert_int_equal(audit_open(f->path, 0, &a), 0);
	audit_stats(a, &st);
	assert_int_equal(st.torn, 1);
	assert_int_equal(st.bytes, strlen(whole));
	text = slurp(f->path, NULL);
	assert_string_equal(text, whole);
	free(text);

	arr = read_all(a);
	assert_int_equal(json_array_size(arr), 2);
	assert_int_equal(rec_n(arr, 0), 2);
	assert_int_equal(rec_n(arr, 1), 1);
	json_decref(arr);

	append_rec(a, "c", NULL, 3, 0);
	text = slurp(f->path, NULL);
	assert_int_equal(strncmp(text, whole, strlen(whole)), 0);
	assert_int_equal(count_lines(text), 3);
	assert_int_equal(strncmp(text + strlen(whole), "{\"ts\":", 6), 0);
	free(text);
	arr = read_all(a);
	assert_int_equal(json_array_size(arr), 3);
	assert_int_equal(rec_n(arr, 0), 3);
	assert_int_equal(rec_n(arr, 2), 1);
	json_decref(arr);
	audit_stats(a, &st);
	assert_int_equal(st.skipped, 0);
	audit_close(a);

	/* A file that is nothing but a torn line ends up empty. */
	write_file(f->path, "{\"ts\":\"2020");
	assert_int_equal(audit_open(f->path, 0, &a), 0);
	audit_stats(a, &st);
	assert_int_equal(st.torn, 1);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(file_size(f->path), 0);
	audit_close(a);
}

static void
test_garbage_skipped(void **state)
{
	struct fixture *f = *state;
	struct audit_stats st;
	struct audit *a;
	json_t *arr;

	write_file(f->path,
	    "{\"event\":\"a\",\"n\":1}\n"
	    "garbage\n"
	    "[1,2]\n"
	    "\n"
	    "\"a string\"\n"
	    "{\"event\":\"b\",\"n\":2}\n");
	assert_int_equal(audit_open(f->path, 0, &a), 0);
	audit_stats(a, &st);
	assert_int_equal(st.torn, 0);
	arr = read_all(a);
	assert_int_equal(json_array_size(arr), 2);
	assert_int_equal(rec_n(arr, 0), 2);
	assert_int_equal(rec_n(arr, 1), 1);
	json_decref(arr);
	audit_stats(a, &st);
	assert_int_equal(st.skipped, 4);

	append_rec(a, "c", NULL, 3, 0);
	arr = read_all(a);
	assert_int_equal(json_array_size(arr), 3);
	assert_int_equal(rec_n(arr, 0), 3);
	json_decref(arr);
	audit_close(a);
}

/* Appends padded records until the next rotation; returns the n that
 * went into the new file. */
static int
fill_until_rotation(struct audit *a, int n, const char *session,
    int every)
{
	struct audit_stats st;
	unsigned before;

	audit_stats(a, &st);
	before = st.rotations;
	for (;; n++) {
		if (session != NULL && every > 0 && n % every == 0)
			append_rec(a, "login", session, n, 0);
		else
			append_rec(a, "noise", NULL, n, 900);
		audit_stats(a, &st);
		assert_true(st.bytes <= AUDIT_MAX_BYTES_MIN);
		if (st.rotations != before) {
			assert_int_equal(st.rotations, before + 1);
			return n;
		}
	}
}

static void
test_rotation(void **state)
{
	struct fixture *f = *state;
	struct audit *a;
	size_t len, len1, i;
	char *text;
	json_t *arr;
	int k1, k2;

	assert_int_equal(audit_open(f->path, AUDIT_MAX_BYTES_MIN, &a), 0);
	k1 = fill_until_rotation(a, 0, NULL, 0);
	/* path.1 got every record up to the one that did not fit. */
	text = slurp(f->old, &len1);
	assert_non_null(text);
	assert_int_equal(count_lines(text), k1);
	free(text);
	text = slurp(f->path, &len);
	assert_int_equal(count_lines(text), 1);
	free(text);
	assert_true(len1 <= AUDIT_MAX_BYTES_MIN);
	assert_true(len1 + len > AUDIT_MAX_BYTES_MIN);
	arr = read_all(a);
	assert_int_equal(json_array_size(arr), k1 + 1);
	json_decref(arr);

	k2 = fill_until_rotation(a, k1 + 1, NULL, 0);
	arr = read_all(a);
	/* The first generation is gone; the rest is there, in order. */
	assert_int_equal(json_array_size(arr), k2 - k1 + 1);
	for (i = 0; i < json_array_size(arr); i++)
		assert_int_equal(rec_n(arr, i), k2 - (json_int_t)i);
	assert_int_equal(count_event(arr, "noise", 0), 0);
	json_decref(arr);
	text = slurp(f->old, NULL);
	assert_int_equal(count_lines(text), k2 - k1);
	free(text);
	assert_int_equal(access(f->tmp, F_OK), -1);
	audit_close(a);
}

static void
check_session(struct fixture *f, json_t *arr, int last_n, int every)
{
	char *text;
	size_t last = json_array_size(arr) - 1;
	int n;

	assert_int_equal(count_event(arr, "activate", -1), 1);
	/* The oldest record shown is the activation. */
	assert_string_equal(rec_event(arr, last), "activate");
	for (n = 0; n <= last_n; n += every)
		assert_int_equal(count_event(arr, "login", n), 1);
	assert_no_carried(arr);
	/* The current file starts with the carried activation. */
	text = slurp(f->path, NULL);
	assert_non_null(strstr(text, "\"event\":\"activate\""));
	assert_non_null(strstr(text, "\"carried\":true"));
	assert_true(strstr(text, "\"event\":\"activate\"") <
	    strchr(text, '\n'));
	free(text);
}

static void
test_session_survives(void **state)
{
	struct fixture *f = *state;
	struct audit_stats st;
	struct audit *a;
	json_t *rec, *arr;
	int n = 0, every = 7, logins;

	assert_int_equal(audit_open(f->path, AUDIT_MAX_BYTES_MIN, &a), 0);
	assert_int_equal(audit_set_open_session(a, "s-1"), 0);
	rec = json_pack("{s:s, s:s}", "event", "activate", "session", "s-1");
	assert_int_equal(audit_append(a, rec, true), 0);
	json_decref(rec);

	n = fill_until_rotation(a, n, "s-1", every) + 1;
	n = fill_until_rotation(a, n, "s-1", every) + 1;
	arr = read_all(a);
	check_session(f, arr, n - 1, every);
	json_decref(arr);
	n = fill_until_rotation(a, n, "s-1", every) + 1;
	arr = read_all(a);
	check_session(f, arr, n - 1, every);
	json_decref(arr);
	audit_stats(a, &st);
	assert_int_equal(st.rotations, 3);
	/* The activation and every login so far fit in half the file;
	 * the record that made the rotation is not a copy. */
	logins = (n - 1) / every + 1;
	assert_true(st.carried >= (size_t)logins &&
	    st.carried <= (size_t)logins + 1);
	audit_close(a);

	/* A restart changes nothing. */
	assert_int_equal(audit_open(f->path, AUDIT_MAX_BYTES_MIN, &a), 0);
	arr = read_all(a);
	check_session(f, arr, n - 1, every);
	json_decref(arr);

	/* Closed: kept one more generation, then gone. */
	assert_int_equal(audit_set_open_session(a, NULL), 0);
	n = fill_until_rotation(a, n, NULL, 0) + 1;
	audit_stats(a, &st);
	assert_int_equal(st.carried, 0);
	arr = read_all(a);
	assert_int_equal(count_event(arr, "activate", -1), 1);
	json_decref(arr);
	(void)fill_until_rotation(a, n, NULL, 0);
	arr = read_all(a);
	assert_int_equal(count_event(arr, "activate", -1), 0);
	json_decref(arr);
	audit_close(a);
}

static void
test_carry_capped(void **state)
{
	struct fixture *f = *state;
	const size_t half = AUDIT_MAX_BYTES_MIN / 2;
	struct audit_stats st;
	struct audit *a;
	size_t carried = 0, i;
	char *text, *line, *nl;
	json_t *arr;
	int n, total = 200;

	assert_int_equal(audit_open(f->path, AUDIT_MAX_BYTES_MIN, &a), 0);
	assert_int_equal(audit_set_open_session(a, "s-2"), 0);
	append_rec(a, "activate", "s-2", -1, 0);
	for (n = 0; n < total; n++)
		append_rec(a, "data", "s-2", n, 500);
	audit_stats(a, &st);
	/* Each rotation frees about half the file, not one record. */
	assert_true(st.rotations >= 8);
	assert_true(st.rotations <= (unsigned)total / 10);
	assert_true(st.carried >= 2);

	/* The carried copies head the file and fit in half of it. */
	text = slurp(f->path, NULL);
	for (line = text; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		if (strstr(line, "\"carried\":true") == NULL)
			break;
		carried += (size_t)(nl - line) + 1;
	}
	free(text);
	assert_true(carried > 0 && carried <= half);

	/* Activation once and oldest; then every record from some point
	 * on, with no gap and no duplicate. */
	arr = read_all(a);
	assert_int_equal(count_event(arr, "activate", -1), 1);
	assert_string_equal(rec_event(arr, json_array_size(arr) - 1),
	    "activate");
	for (i = 0; i + 1 < json_array_size(arr); i++)
		assert_int_equal(rec_n(arr, i), total - 1 - (json_int_t)i);
	assert_no_carried(arr);
	json_decref(arr);
	audit_close(a);
}

static void
test_half_done_rotation(void **state)
{
	struct fixture *f = *state;
	const char *act = "{\"ts\":\"" TS "\",\"event\":\"activate\","
	    "\"session\":\"s-1\",\"n\":0}\n";
	const char *noise = "{\"ts\":\"" TS "\",\"event\":\"noise\",\"n\":1}\n";
	const char *copy = "{\"ts\":\"" TS "\",\"event\":\"activate\","
	    "\"session\":\"s-1\",\"n\":0,\"carried\":true}\n";
	char old[256], *text;
	struct audit *a;
	json_t *arr;

	/* The crash came after path -> path.1 and before path.tmp -> path. */
	snprintf(old, sizeof(old), "%s%s", act, noise);
	write_file(f->old, old);
	write_file(f->tmp, copy);
	assert_int_equal(audit_open(f->path, AUDIT_MAX_BYTES_MIN, &a), 0);
	assert_int_equal(access(f->tmp, F_OK), -1);
	text = slurp(f->path, NULL);
	assert_non_null(text);
	assert_string_equal(text, copy);
	free(text);
	text = slurp(f->old, NULL);
	assert_string_equal(text, old);
	free(text);
	arr = read_all(a);
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(rec_event(arr, 0), "noise");
	assert_string_equal(rec_event(arr, 1), "activate");
	assert_no_carried(arr);
	json_decref(arr);
	append_rec(a, "after", NULL, 2, 0);
	arr = read_all(a);
	assert_int_equal(json_array_size(arr), 3);
	assert_string_equal(rec_event(arr, 0), "after");
	json_decref(arr);
	audit_close(a);

	/* The crash came before the renames: the stray path.tmp goes. */
	text = slurp(f->path, NULL);
	write_file(f->tmp, "{\"event\":\"stray\"}\n");
	assert_int_equal(audit_open(f->path, AUDIT_MAX_BYTES_MIN, &a), 0);
	assert_int_equal(access(f->tmp, F_OK), -1);
	{
		char *now = slurp(f->path, NULL);

		assert_string_equal(now, text);
		free(now);
	}
	free(text);
	arr = read_all(a);
	assert_int_equal(count_event(arr, "stray", -1), 0);
	assert_int_equal(json_array_size(arr), 3);
	json_decref(arr);
	audit_close(a);
}

/* audit_append under a file size limit; restores the limit before the
 * caller asserts anything. */
static int
append_limited(struct audit *a, size_t limit, bool durable)
{
	struct rlimit old, lim;
	json_t *rec;
	int rc;

	rec = json_pack("{s:s, s:i}", "event", "big", "n", 99);
	assert_non_null(rec);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)limit;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = audit_append(a, rec, durable);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	json_decref(rec);
	return rc;
}

static void
test_failed_write_unchanged(void **state)
{
	struct fixture *f = *state;
	void (*prev)(int);
	struct audit_stats st;
	struct audit *a;
	size_t len, len2;
	char *before, *after;
	json_t *arr;
	int i;

	assert_int_equal(audit_open(f->path, 0, &a), 0);
	for (i = 0; i < 3; i++)
		append_rec(a, "ok", NULL, i, 0);
	before = slurp(f->path, &len);
	/* Over the limit, write() fails with EFBIG instead of a signal. */
	prev = signal(SIGXFSZ, SIG_IGN);
	assert_true(prev != SIG_ERR);

	/* Room for part of the line: a short write. */
	assert_int_equal(append_limited(a, len + 10, false), -EIO);
	after = slurp(f->path, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(after, before, len);
	free(after);
	/* No room at all. */
	assert_int_equal(append_limited(a, len, true), -EFBIG);
	after = slurp(f->path, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(after, before, len);
	free(after);
	assert_int_equal(append_limited(a, len + 1, true), -EIO);
	after = slurp(f->path, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(after, before, len);
	free(after);
	(void)signal(SIGXFSZ, prev);

	audit_stats(a, &st);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.bytes, len);
	append_rec(a, "ok", NULL, 3, 0);
	arr = read_all(a);
	assert_int_equal(json_array_size(arr), 4);
	assert_int_equal(rec_n(arr, 0), 3);
	assert_int_equal(rec_n(arr, 3), 0);
	json_decref(arr);
	audit_stats(a, &st);
	assert_int_equal(st.skipped, 0);
	after = slurp(f->path, NULL);
	assert_int_equal(count_lines(after), 4);
	assert_memory_equal(after, before, len);
	free(after);
	free(before);
	audit_close(a);
}

static json_t *
padded(size_t padlen)
{
	json_t *rec;
	char *pad;

	pad = malloc(padlen + 1);
	assert_non_null(pad);
	memset(pad, 'y', padlen);
	pad[padlen] = '\0';
	rec = json_pack("{s:s, s:s}", "ts", TS, "x", pad);
	free(pad);
	assert_non_null(rec);
	return rec;
}

static void
test_too_big(void **state)
{
	struct fixture *f = *state;
	/* {"ts":"<TS>","x":"<pad>"} and '\n' */
	const size_t overhead = strlen("{\"ts\":\"" TS "\",\"x\":\"\"}\n");
	struct audit_stats st;
	struct audit *a;
	json_t *rec;
	char *text;
	size_t len;

	assert_int_equal(audit_open(f->path, 0, &a), 0);
	rec = padded(AUDIT_LINE_MAX - overhead);
	assert_int_equal(audit_append(a, rec, false), 0);
	json_decref(rec);
	assert_int_equal(file_size(f->path), AUDIT_LINE_MAX);

	rec = padded(AUDIT_LINE_MAX - overhead + 1);
	assert_int_equal(audit_append(a, rec, true), -E2BIG);
	json_decref(rec);
	text = slurp(f->path, &len);
	assert_int_equal(len, AUDIT_LINE_MAX);
	assert_int_equal(count_lines(text), 1);
	free(text);
	audit_stats(a, &st);
	assert_int_equal(st.records, 1);
	audit_close(a);
}

/* A record bigger than max_bytes still goes in, with one rotation. */
static void
test_big_record_rotates_once(void **state)
{
	struct fixture *f = *state;
	struct audit_stats st;
	struct audit *a;
	json_t *rec, *arr;

	assert_int_equal(audit_open(f->path, AUDIT_MAX_BYTES_MIN, &a), 0);
	rec = padded(AUDIT_MAX_BYTES_MIN + 100);
	assert_int_equal(audit_append(a, rec, false), 0);
	assert_int_equal(audit_append(a, rec, false), 0);
	json_decref(rec);
	audit_stats(a, &st);
	assert_int_equal(st.rotations, 1);
	assert_true(file_size(f->path) > AUDIT_MAX_BYTES_MIN);
	assert_true(file_size(f->old) > AUDIT_MAX_BYTES_MIN);
	arr = read_all(a);
	assert_int_equal(json_array_size(arr), 2);
	json_decref(arr);
	audit_close(a);
}

static void
test_reopen(void **state)
{
	struct fixture *f = *state;
	struct audit_stats st;
	struct audit *a;
	json_t *arr;
	int i;

	assert_int_equal(audit_open(f->path, 0, &a), 0);
	assert_int_equal(audit_set_open_session(a, "s-9"), 0);
	for (i = 0; i < 3; i++)
		append_rec(a, "r", "s-9", i, 0);
	audit_close(a);

	assert_int_equal(audit_open(f->path, 0, &a), 0);
	audit_stats(a, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.torn, 0);
	assert_int_equal(st.bytes, file_size(f->path));
	arr = read_all(a);
	assert_int_equal(json_array_size(arr), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(rec_n(arr, (size_t)i), 2 - i);
	json_decref(arr);
	append_rec(a, "r", NULL, 3, 0);
	audit_close(a);

	assert_int_equal(audit_open(f->path, 0, &a), 0);
	arr = read_all(a);
	assert_int_equal(json_array_size(arr), 4);
	assert_int_equal(rec_n(arr, 0), 3);
	json_decref(arr);
	audit_close(a);
}

static void
test_invalid(void **state)
{
	struct fixture *f = *state;
	char missing[160];
	struct audit *a;
	json_t *rec;

	assert_int_equal(audit_open(f->path, AUDIT_MAX_BYTES_MIN - 1, &a),
	    -EINVAL);
	assert_int_equal(access(f->path, F_OK), -1);
	snprintf(missing, sizeof(missing), "%s/no/history.jsonl", f->dir);
	assert_int_equal(audit_open(missing, 0, &a), -ENOENT);
	assert_int_equal(audit_open(f->dir, 0, &a), -EISDIR);

	assert_int_equal(audit_open(f->path, 0, &a), 0);
	rec = json_integer(1);
	assert_int_equal(audit_append(a, rec, false), -EINVAL);
	json_decref(rec);
	rec = json_pack("{s:b}", "carried", 1);
	assert_int_equal(audit_append(a, rec, false), -EINVAL);
	json_decref(rec);
	assert_int_equal(audit_set_open_session(a, ""), -EINVAL);
	assert_int_equal(file_size(f->path), 0);
	audit_close(a);
	audit_close(NULL);
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_order_limit),
		T(test_ts_added),
		T(test_torn_tail),
		T(test_garbage_skipped),
		T(test_rotation),
		T(test_session_survives),
		T(test_carry_capped),
		T(test_half_done_rotation),
		T(test_failed_write_unchanged),
		T(test_too_big),
		T(test_big_record_rotates_once),
		T(test_reopen),
		T(test_invalid),
	};
#undef T

	return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
