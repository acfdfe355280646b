/* SPDX-License-Identifier: MIT */
/* The owner's persisted choices: strict parsing, atomic durable writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "settings.h"
#include "util.h"

#define SETTINGS_MAX_SIZE	(64 * 1024)

static void
defaults(struct settings *s)
{
	memset(s, 0, sizeof(*s));
}

int
settings_parse(const char *text, size_t len, struct settings *s, char *why,
    size_t whylen)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	int rc = 0;

	defaults(s);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(why, whylen, "line %d column %d: %s", jerr.line,
		    jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(why, whylen, "not a JSON object");
		rc = -EINVAL;
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "start_when_possible") == 0) {
			if (!json_is_boolean(v)) {
				snprintf(why, whylen, "'start_when_possible' "
				    "is not a boolean");
				rc = -EINVAL;
				goto out;
			}
			s->start_when_possible = json_is_true(v);
		} else if (strcmp(key, "version") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) != 1) {
				snprintf(why, whylen, "unsupported 'version'");
				rc = -EINVAL;
				goto out;
			}
		}
		/* Other keys belong to newer versions; keep reading. */
	}
out:
	json_decref(root);
	if (rc != 0)
		defaults(s);
	return rc;
}

int
settings_load(const char *path, struct settings *s, char *why, size_t whylen)
{
	char *buf = NULL;
	size_t len;
	FILE *f;
	int rc;

	defaults(s);
	snprintf(why, whylen, "%s", "");
	if ((f = fopen(path, "re")) == NULL) {
		rc = -errno;
		snprintf(why, whylen, "%s", strerror(errno));
		return rc;
	}
	if ((buf = malloc(SETTINGS_MAX_SIZE + 1)) == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(buf, 1, SETTINGS_MAX_SIZE + 1, f);
	if (ferror(f)) {
		rc = -EIO;
		snprintf(why, whylen, "read error");
	} else if (len > SETTINGS_MAX_SIZE) {
		rc = -EINVAL;
		snprintf(why, whylen, "larger than %d bytes", SETTINGS_MAX_SIZE);
	} else
		rc = settings_parse(buf, len, s, why, whylen);
	fclose(f);
	free(buf);
	return rc;
}

int
settings_save(const char *path, const struct settings *s)
{
	json_t *root;
	char *text;
	int rc;

	root = json_pack("{s:i, s:b}", "version", 1, "start_when_possible",
	    s->start_when_possible);
	if (root == NULL)
		return -ENOMEM;
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	if (text == NULL)
		return -ENOMEM;
	rc = util_write_atomic(path, text, strlen(text), 0600, true);
	free(text);
	return rc;
}

int
settings_remove(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return util_fsync_dir(path);
}

int
settings_set_aside(const char *path)
{
	char dst[4096];
	int rc;

	if ((rc = util_snprintf(dst, sizeof(dst), "%s.corrupt", path)) < 0)
		return rc;
	if (rename(path, dst) < 0)
		return -errno;
	return util_fsync_dir(path);
}
