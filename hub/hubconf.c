/* SPDX-License-Identifier: MIT */
/*
 * The hub daemon's configuration: defaults, strict loading (unknown keys,
 * wrong types, bad names and paths are errors), user names in
 * allowed_uids resolved once here.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <jansson.h>

#include "hubconf.h"
#include "log.h"
#include "nftcmd.h"
#include "util.h"

#define SUN_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static void
set_err(struct hubconf_error *err, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(struct hubconf_error *err, const char *key, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->key, sizeof(err->key), "%s", key);
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

static int
set_str(char **dst, const char *val)
{
	char *copy = strdup(val);

	if (copy == NULL)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

static void
free_ifaces(struct hubconf *cfg)
{
	size_t i;

	for (i = 0; i < cfg->ntun_ifaces; i++)
		free(cfg->tun_ifaces[i]);
	free(cfg->tun_ifaces);
	cfg->tun_ifaces = NULL;
	cfg->ntun_ifaces = 0;
}

int
hubconf_defaults(struct hubconf *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->events_mode = 0666;
	cfg->log_level = LOG_LEVEL_INFO;
	/* Fail closed: a stopped daemon leaves a table that drops. */
	cfg->nft_keep_closed = true;
	cfg->allowed_uids[0] = 0;
	cfg->nallowed_uids = 1;
	if (set_str(&cfg->events, "/run/supportvpn-hub/events.sock") < 0 ||
	    set_str(&cfg->status_socket, "/run/supportvpn-hub/hub.sock") < 0 ||
	    set_str(&cfg->grants_file, "/etc/supportvpn-hub/grants.json") < 0 ||
	    set_str(&cfg->state_file, "/run/supportvpn-hub/state.json") < 0 ||
	    set_str(&cfg->nft_table, "supportvpn_hub") < 0 ||
	    set_str(&cfg->log_file,
	    "/var/log/supportvpn-hub/supportvpn-hubd.log") < 0 ||
	    (cfg->tun_ifaces = calloc(1, sizeof(char *))) == NULL ||
	    (cfg->ntun_ifaces = 1, cfg->tun_ifaces[0] = strdup("tun*")) ==
	    NULL) {
		hubconf_deinit(cfg);
		return -ENOMEM;
	}
	return 0;
}

void
hubconf_deinit(struct hubconf *cfg)
{
	free(cfg->events);
	free(cfg->status_socket);
	free(cfg->grants_file);
	free(cfg->state_file);
	free(cfg->nft_table);
	free(cfg->log_file);
	free_ifaces(cfg);
	memset(cfg, 0, sizeof(*cfg));
}

/* An absolute path; sockets must also fit sockaddr_un. */
static int
take_path(char **dst, json_t *v, const char *key, bool socket, bool empty_ok,
    struct hubconf_error *err)
{
	const char *s;

	if (!json_is_string(v) || (s = json_string_value(v),
	    strlen(s) != json_string_length(v))) {
		set_err(err, key, "'%s' must be a string", key);
		return -1;
	}
	if (empty_ok && s[0] == '\0')
		return set_str(dst, s);
	if (s[0] != '/' || strlen(s) >= 4096 ||
	    (socket && strlen(s) > SUN_PATH_MAX)) {
		if (socket)
			set_err(err, key, "'%s' must be an absolute path of at "
			    "most %zu bytes", key, SUN_PATH_MAX);
		else
			set_err(err, key, "'%s' must be an absolute path", key);
		return -1;
	}
	return set_str(dst, s);
}

/* "0660": three or four octal digits, no set-id or sticky bits. */
static int
take_mode(struct hubconf *cfg, json_t *v, struct hubconf_error *err)
{
	const char *s = json_string_value(v);
	unsigned long m;
	char *end;

	if (s == NULL || (strlen(s) != 3 && strlen(s) != 4) ||
	    (errno = 0, m = strtoul(s, &end, 8), errno != 0) || *end != '\0' ||
	    m > 0777 || s[0] == '-' || s[0] == '+') {
		set_err(err, "events_mode", "'events_mode' must be an octal "
		    "mode such as \"0660\" or \"0666\"");
		return -1;
	}
	cfg->events_mode = (unsigned)m;
	return 0;
}

static int
take_ifaces(struct hubconf *cfg, json_t *v, struct hubconf_error *err)
{
	json_t *e;
	size_t i, n = json_array_size(v);

	if (!json_is_array(v) || n == 0 || n > NFTCMD_IFACES_MAX)
		goto bad;
	json_array_foreach(v, i, e)
		if (!json_is_string(e) || !nftcmd_iface_valid(
		    json_string_value(e)) || strlen(json_string_value(e)) !=
		    json_string_length(e))
			goto bad;
	free_ifaces(cfg);
	if ((cfg->tun_ifaces = calloc(n, sizeof(char *))) == NULL)
		return -ENOMEM;
	json_array_foreach(v, i, e) {
		if ((cfg->tun_ifaces[i] = strdup(json_string_value(e))) == NULL)
			return -ENOMEM;
		cfg->ntun_ifaces = i + 1;
	}
	return 0;
bad:
	set_err(err, "tun_ifaces", "'tun_ifaces' must be a list of 1 to %d "
	    "interface names (letters, digits, '_', '-', '.'; at most 15), "
	    "each optionally ending in '*' (\"tun*\")", NFTCMD_IFACES_MAX);
	return -1;
}

/* A uid number, or a user name looked up now. */
static int
take_uid(json_t *e, uid_t *uid, struct hubconf_error *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (json_is_integer(e) && json_integer_value(e) >= 0 &&
	    json_integer_value(e) < 4294967295LL) {
		*uid = (uid_t)json_integer_value(e);
		return 0;
	}
	if (json_is_string(e) && getpwnam_r(json_string_value(e), &pw, buf,
	    sizeof(buf), &res) == 0 && res != NULL) {
		*uid = pw.pw_uid;
		return 0;
	}
	if (json_is_string(e))
		set_err(err, "allowed_uids", "'allowed_uids': no user '%.64s'",
		    json_string_value(e));
	else
		set_err(err, "allowed_uids", "'allowed_uids' must list uids "
		    "(numbers) or user names");
	return -1;
}

static int
take_uids(struct hubconf *cfg, json_t *v, struct hubconf_error *err)
{
	json_t *e;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > HUBCONF_UIDS_MAX) {
		set_err(err, "allowed_uids", "'allowed_uids' must list 1 to %d "
		    "uids or user names", HUBCONF_UIDS_MAX);
		return -1;
	}
	json_array_foreach(v, i, e)
		if (take_uid(e, &cfg->allowed_uids[i], err) < 0)
			return -1;
	cfg->nallowed_uids = json_array_size(v);
	return 0;
}

static int
take_choice(json_t *v, const char *key, const char *a, const char *b,
    struct hubconf_error *err)
{
	const char *s = json_string_value(v);

	if (s != NULL && strcmp(s, a) == 0)
		return 0;
	if (s != NULL && strcmp(s, b) == 0)
		return 1;
	set_err(err, key, "'%s' must be \"%s\" or \"%s\"", key, a, b);
	return -1;
}

static int
take_key(struct hubconf *cfg, const char *key, json_t *v,
    struct hubconf_error *err)
{
	int rc;

	if (strcmp(key, "events") == 0)
		return take_path(&cfg->events, v, key, true, false, err);
	if (strcmp(key, "events_mode") == 0)
		return take_mode(cfg, v, err);
	if (strcmp(key, "status_socket") == 0)
		return take_path(&cfg->status_socket, v, key, true, false, err);
	if (strcmp(key, "grants_file") == 0)
		return take_path(&cfg->grants_file, v, key, false, false, err);
	if (strcmp(key, "state_file") == 0)
		return take_path(&cfg->state_file, v, key, false, true, err);
	if (strcmp(key, "log_file") == 0)
		return take_path(&cfg->log_file, v, key, false, true, err);
	if (strcmp(key, "tun_ifaces") == 0)
		return take_ifaces(cfg, v, err);
	if (strcmp(key, "allowed_uids") == 0)
		return take_uids(cfg, v, err);
	if (strcmp(key, "nft_table") == 0) {
		if (!json_is_string(v) || !nftcmd_name_valid(
		    json_string_value(v))) {
			set_err(err, key, "'nft_table' must be a letter, then "
			    "letters, digits or '_' (at most %d)",
			    NFTCMD_NAME_MAX);
			return -1;
		}
		return set_str(&cfg->nft_table, json_string_value(v));
	}
	if (strcmp(key, "nft_on_exit") == 0) {
		if ((rc = take_choice(v, key, "delete", "close", err)) < 0)
			return -1;
		cfg->nft_keep_closed = rc == 1;
		return 0;
	}
	if (strcmp(key, "log_level") == 0) {
		if (!json_is_string(v) ||
		    (rc = log_level_parse(json_string_value(v))) < 0) {
			set_err(err, key, "'log_level' must be one of \"error\","
			    " \"warn\", \"info\", \"debug\"");
			return -1;
		}
		cfg->log_level = rc;
		return 0;
	}
	set_err(err, key, "unknown key '%.48s'", key);
	return -1;
}

static int
load_root(struct hubconf *cfg, json_t *root, const char *name,
    json_error_t *jerr, struct hubconf_error *err)
{
	char text[sizeof(err->text)];
	const char *key;
	json_t *v;
	int rc = 0;

	if (root == NULL) {
		set_err(err, "", "%s: line %d column %d: %s", name, jerr->line,
		    jerr->column, jerr->text);
		hubconf_deinit(cfg);
		return -1;
	}
	if (!json_is_object(root)) {
		set_err(err, "", "the configuration must be a JSON object");
		rc = -1;
	}
	json_object_foreach(root, key, v)
		if (rc == 0 && (rc = take_key(cfg, key, v, err)) == -ENOMEM)
			set_err(err, "", "out of memory");
	json_decref(root);
	if (rc != 0) {
		memcpy(text, err->text, sizeof(text));
		/* A cut message still names the key; truncation is fine. */
		(void)util_snprintf(err->text, sizeof(err->text), "%s: %s", name,
		    text);
		hubconf_deinit(cfg);
		return -1;
	}
	return 0;
}

int
hubconf_load(struct hubconf *cfg, const char *path,
    struct hubconf_error *err)
{
	json_error_t jerr;

	memset(err, 0, sizeof(*err));
	if (hubconf_defaults(cfg) < 0) {
		set_err(err, "", "%s: out of memory", path);
		return -1;
	}
	return load_root(cfg, json_load_file(path, JSON_REJECT_DUPLICATES,
	    &jerr), path, &jerr, err);
}

int
hubconf_load_string(struct hubconf *cfg, const char *json, const char *name,
    struct hubconf_error *err)
{
	json_error_t jerr;

	memset(err, 0, sizeof(*err));
	if (hubconf_defaults(cfg) < 0) {
		set_err(err, "", "%s: out of memory", name);
		return -1;
	}
	return load_root(cfg, json_loads(json, JSON_REJECT_DUPLICATES, &jerr),
	    name, &jerr, err);
}
