/* SPDX-License-Identifier: MIT */
/*
 * Controller configuration: defaults, JSON loading with strict key and
 * type checks, and the check that the openvpn client configuration leaves
 * the options the controller owns alone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "config.h"
#include "log.h"
#include "supportvpn.h"
#include "util.h"

enum key_type { KEY_OBJECT, KEY_STRING, KEY_INT, KEY_BOOL, KEY_LISTEN,
	KEY_LEVEL, KEY_HOSTS };

struct key_spec {
	const char	*path;
	enum key_type	 type;
	size_t		 off;
	long		 min, max;
};

#define S(p, f)		{ p, KEY_STRING, offsetof(struct config, f), 0, 0 }
#define I(p, f, lo, hi)	{ p, KEY_INT, offsetof(struct config, f), lo, hi }
#define B(p, f)		{ p, KEY_BOOL, offsetof(struct config, f), 0, 0 }
#define O(p)		{ p, KEY_OBJECT, 0, 0, 0 }
#define DAY		86400

static const struct key_spec keys[] = {
	O("api"),
	{ "api.listen", KEY_LISTEN, 0, 0, 0 },
	I("api.max_clients", api_max_clients, 1, 4096),
	I("api.max_subscribers", api_max_subscribers, 1, 4096),
	S("api.token_file", api_token_file),
	S("api.token_group", api_token_group),
	S("state_dir", state_dir),
	S("run_dir", run_dir),
	S("log_file", log_file),
	{ "log_level", KEY_LEVEL, offsetof(struct config, log_level), 0, 0 },
	O("openvpn"),
	S("openvpn.binary", ovpn_binary),
	S("openvpn.config", ovpn_config),
	S("openvpn.plugin", ovpn_plugin),
	I("openvpn.restart_min_ms", restart_min_ms, 100, 600000),
	I("openvpn.restart_max_ms", restart_max_ms, 100, 3600000),
	I("openvpn.stop_timeout_ms", stop_timeout_ms, 500, 600000),
	I("openvpn.bytecount_s", bytecount_s, 0, 3600),
	I("openvpn.probe_interval_s", probe_interval_s, 0, 3600),
	I("openvpn.answer_timeout_ms", answer_timeout_ms, 100, 600000),
	O("plugin"),
	S("plugin.policy", plugin_policy),
	O("checks"),
	S("checks.cloud_url", checks_cloud_url),
	S("checks.resolv_conf", checks_resolv_conf),
	I("checks.timeout_ms", checks_timeout_ms, 100, 120000),
	I("checks.interval_s", checks_interval_s, 1, 86400),
	O("session"),
	I("session.default_s", session_default_s, 0, 365 * DAY),
	I("session.max_s", session_max_s, 1, 365 * DAY),
	B("session.allow_unlimited", session_allow_unlimited),
	I("session.warn_s", session_warn_s, 0, DAY),
	O("auth"),
	I("auth.max_failures", auth_max_failures, 1, 32),
	I("auth.window_s", auth_window_s, 1, DAY),
	I("auth.lockout_s", auth_lockout_s, 1, DAY),
	I("auth.lockout_max_s", auth_lockout_max_s, 1, 30 * DAY),
	O("audit"),
	I("audit.max_bytes", audit_max_bytes, 16384, 1 << 30),
	O("http"),
	{ "http.listen", KEY_LISTEN, 0, 0, 0 },
	S("http.root", http_root),
	{ "http.allowed_hosts", KEY_HOSTS, 0, 0, 0 },
	I("http.max_clients", http_max_clients, 1, 4096),
	I("http.session_s", http_session_s, 60, 7 * DAY),
};

static char **
str_field(struct config *cfg, size_t off)
{
	return (char **)(void *)((char *)cfg + off);
}

static int *
int_field(struct config *cfg, size_t off)
{
	return (int *)(void *)((char *)cfg + off);
}

static bool *
bool_field(struct config *cfg, size_t off)
{
	return (bool *)(void *)((char *)cfg + off);
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
free_hosts(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->http_nallowed_hosts; i++)
		free(cfg->http_allowed_hosts[i]);
	free(cfg->http_allowed_hosts);
	cfg->http_allowed_hosts = NULL;
	cfg->http_nallowed_hosts = 0;
}

int
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->api_port = SUPPORTVPN_API_DEFAULT_PORT;
	cfg->api_max_clients = 256;
	cfg->api_max_subscribers = 64;
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->restart_min_ms = 1000;
	cfg->restart_max_ms = 60000;
	cfg->stop_timeout_ms = 10000;
	cfg->bytecount_s = 2;
	cfg->probe_interval_s = 10;
	cfg->answer_timeout_ms = 30000;
	cfg->checks_timeout_ms = 5000;
	cfg->checks_interval_s = 30;
	cfg->session_default_s = DAY;
	cfg->session_max_s = 7 * DAY;
	cfg->session_allow_unlimited = false;
	cfg->session_warn_s = 900;
	cfg->auth_max_failures = 5;
	cfg->auth_window_s = 60;
	cfg->auth_lockout_s = 60;
	cfg->auth_lockout_max_s = 3600;
	cfg->audit_max_bytes = 1 << 20;
	cfg->state_dir_mode = 0700;
	cfg->http_port = SUPPORTVPN_HTTP_DEFAULT_PORT;
	cfg->http_max_clients = 64;
	cfg->http_session_s = 3600;
	if (set_str(&cfg->api_host, SUPPORTVPN_API_DEFAULT_HOST) < 0 ||
	    set_str(&cfg->api_token_file, "") < 0 ||
	    set_str(&cfg->api_token_group, "") < 0 ||
	    set_str(&cfg->http_host, SUPPORTVPN_API_DEFAULT_HOST) < 0 ||
	    set_str(&cfg->http_root, "/usr/share/supportvpn/www") < 0 ||
	    set_str(&cfg->state_dir, "/var/lib/supportvpn") < 0 ||
	    set_str(&cfg->run_dir, "/run/supportvpn") < 0 ||
	    set_str(&cfg->log_file, "/var/log/supportvpn/supportvpnd.log") < 0 ||
	    set_str(&cfg->ovpn_binary, "/usr/sbin/openvpn") < 0 ||
	    set_str(&cfg->ovpn_config, "/etc/supportvpn/client.ovpn") < 0 ||
	    set_str(&cfg->ovpn_plugin,
	    "/usr/lib/supportvpn/openvpn-plugin-supportvpn.so") < 0 ||
	    set_str(&cfg->plugin_policy, "/etc/supportvpn/policy.json") < 0 ||
	    set_str(&cfg->checks_cloud_url,
	    "https://cloud.support.example/ip") < 0 ||
	    set_str(&cfg->checks_resolv_conf, "/etc/resolv.conf") < 0) {
		config_deinit(cfg);
		return -ENOMEM;
	}
	return 0;
}

void
config_deinit(struct config *cfg)
{
	char **strs[] = { &cfg->api_host, &cfg->api_token_file,
	    &cfg->api_token_group, &cfg->state_dir, &cfg->run_dir,
	    &cfg->log_file, &cfg->ovpn_binary, &cfg->ovpn_config,
	    &cfg->ovpn_plugin, &cfg->plugin_policy, &cfg->checks_cloud_url,
	    &cfg->checks_resolv_conf, &cfg->mgmt_sock, &cfg->passthru_sock,
	    &cfg->events_sock, &cfg->consent_file, &cfg->pid_file,
	    &cfg->settings_file, &cfg->support_hash_file, &cfg->audit_file,
	    &cfg->http_host, &cfg->http_root };
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	free_hosts(cfg);
}

static void
set_err(struct config_error *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(struct config_error *err, const char *path, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->path, sizeof(err->path), "%s", path);
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

static const struct key_spec *
find_key(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].path, path) == 0)
			return &keys[i];
	return NULL;
}

/*
 * "127.0.0.1:7515" or "[::1]:7515" for the key at path (api.listen,
 * http.listen); the host must be a loopback literal. http.listen "" turns
 * HTTP off.
 */
static int
parse_listen(struct config *cfg, const char *path, const char *s,
    struct config_error *err)
{
	bool http = strcmp(path, "http.listen") == 0;
	char host[64];
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	long port;
	struct in_addr a4;
	struct in6_addr a6;

	if (http && s[0] == '\0')
		return set_str(&cfg->http_host, "");
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1 ||
	    port > 65535)
		goto bad;
	if (inet_pton(AF_INET, host, &a4) == 1) {
		if ((ntohl(a4.s_addr) >> 24) != 127)
			goto not_loopback;
	} else if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&a6))
			goto not_loopback;
	} else
		goto bad;
	if (set_str(http ? &cfg->http_host : &cfg->api_host, host) < 0)
		return -ENOMEM;
	*(http ? &cfg->http_port : &cfg->api_port) = (int)port;
	return 0;
not_loopback:
	set_err(err, path, "'%s' must be a loopback address (127.0.0.0/8 or "
	    "[::1]), not %s", path, host);
	return -1;
bad:
	set_err(err, path, "'%s' must look like \"127.0.0.1:%d\" or "
	    "\"[::1]:%d\"%s, not \"%.64s\"", path, http ?
	    SUPPORTVPN_HTTP_DEFAULT_PORT : SUPPORTVPN_API_DEFAULT_PORT, http ?
	    SUPPORTVPN_HTTP_DEFAULT_PORT : SUPPORTVPN_API_DEFAULT_PORT, http ?
	    " (or \"\" for no HTTP)" : "", s);
	return -1;
}

/* A Host value a browser may send: a name or address, optionally with a
 * port; no scheme, path, space or control character. */
static bool
valid_host(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 255)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr("-._:[]", s[i])))
			return false;
	return true;
}

static int
parse_hosts(struct config *cfg, const char *path, json_t *v,
    struct config_error *err)
{
	json_t *e;
	size_t i;

	if (!json_is_array(v)) {
		set_err(err, path, "'%s' must be a list of host names", path);
		return -1;
	}
	free_hosts(cfg);
	if (json_array_size(v) == 0)
		return 0;
	if ((cfg->http_allowed_hosts = calloc(json_array_size(v),
	    sizeof(char *))) == NULL)
		return -ENOMEM;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || !valid_host(json_string_value(e)) ||
		    strlen(json_string_value(e)) != json_string_length(e)) {
			set_err(err, path, "'%s' must hold host names such as "
			    "\"support.local:8080\" (no scheme or path)", path);
			return -1;
		}
		if ((cfg->http_allowed_hosts[i] = strdup(json_string_value(e)))
		    == NULL)
			return -ENOMEM;
		cfg->http_nallowed_hosts++;
	}
	return 0;
}

static int load_object(struct config *cfg, json_t *obj, const char *prefix,
    struct config_error *err);

static int
load_value(struct config *cfg, const struct key_spec *k, json_t *v,
    struct config_error *err)
{
	json_int_t n;
	int lvl;

	switch (k->type) {
	case KEY_OBJECT:
		if (!json_is_object(v)) {
			set_err(err, k->path, "'%s' must be an object", k->path);
			return -1;
		}
		return load_object(cfg, v, k->path, err);
	case KEY_STRING:
		if (!json_is_string(v)) {
			set_err(err, k->path, "'%s' must be a string", k->path);
			return -1;
		}
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			set_err(err, k->path, "'%s' must not contain NUL",
			    k->path);
			return -1;
		}
		return set_str(str_field(cfg, k->off), json_string_value(v));
	case KEY_INT:
		if (!json_is_integer(v)) {
			set_err(err, k->path, "'%s' must be an integer",
			    k->path);
			return -1;
		}
		n = json_integer_value(v);
		if (n < k->min || n > k->max) {
			set_err(err, k->path, "'%s' must be between %ld and %ld",
			    k->path, k->min, k->max);
			return -1;
		}
		*int_field(cfg, k->off) = (int)n;
		return 0;
	case KEY_BOOL:
		if (!json_is_boolean(v)) {
			set_err(err, k->path, "'%s' must be true or false",
			    k->path);
			return -1;
		}
		*bool_field(cfg, k->off) = json_is_true(v);
		return 0;
	case KEY_LISTEN:
		if (!json_is_string(v)) {
			set_err(err, k->path, "'%s' must be a string", k->path);
			return -1;
		}
		return parse_listen(cfg, k->path, json_string_value(v), err);
	case KEY_LEVEL:
		if (!json_is_string(v) ||
		    (lvl = log_level_parse(json_string_value(v))) < 0) {
			set_err(err, k->path, "'%s' must be one of \"error\", "
			    "\"warn\", \"info\", \"debug\"", k->path);
			return -1;
		}
		*int_field(cfg, k->off) = lvl;
		return 0;
	case KEY_HOSTS:
		return parse_hosts(cfg, k->path, v, err);
	}
	return -1;
}

static int
load_object(struct config *cfg, json_t *obj, const char *prefix,
    struct config_error *err)
{
	const char *key;
	json_t *v;
	char path[128];
	int rc;

	json_object_foreach(obj, key, v) {
		const struct key_spec *k;

		if (prefix[0] != '\0')
			rc = util_snprintf(path, sizeof(path), "%s.%s", prefix,
			    key);
		else
			rc = util_snprintf(path, sizeof(path), "%s", key);
		if (rc < 0 || (k = find_key(path)) == NULL) {
			set_err(err, path, "unknown key '%s'", path);
			return -1;
		}
		if ((rc = load_value(cfg, k, v, err)) != 0)
			return rc;
	}
	return 0;
}

/* A group name as useradd allows it, or a number: what getgrnam or a
 * gid can resolve. Whether it exists is checked at start-up. */
static bool
valid_group(const char *g)
{
	size_t i, n = strlen(g);

	if (n == 0 || n > 32 || g[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((g[i] >= 'a' && g[i] <= 'z') ||
		    (g[i] >= 'A' && g[i] <= 'Z') ||
		    (g[i] >= '0' && g[i] <= '9') ||
		    g[i] == '_' || g[i] == '-' || g[i] == '.'))
			return false;
	return true;
}

/* The token file: state_dir/api.token unless named; whether state_dir
 * must let api.token_group through to it. */
static int
derive_token(struct config *cfg, struct config_error *err)
{
	char buf[PATH_MAX];
	const char *slash;
	size_t dlen, slen = strlen(cfg->state_dir);

	if (cfg->api_token_group[0] != '\0' &&
	    !valid_group(cfg->api_token_group)) {
		set_err(err, "api.token_group", "'api.token_group' must be a "
		    "group name or number, not \"%.64s\"",
		    cfg->api_token_group);
		return -1;
	}
	if (cfg->api_token_file[0] == '\0') {
		if (util_snprintf(buf, sizeof(buf), "%s/api.token",
		    cfg->state_dir) < 0) {
			set_err(err, "state_dir", "'state_dir' is too long for "
			    "api.token");
			return -1;
		}
		if (set_str(&cfg->api_token_file, buf) < 0)
			return -ENOMEM;
	}
	slash = strrchr(cfg->api_token_file, '/');
	if (cfg->api_token_file[0] != '/' || slash[1] == '\0' ||
	    strlen(cfg->api_token_file) >= PATH_MAX) {
		set_err(err, "api.token_file", "'api.token_file' must be the "
		    "absolute path of a file");
		return -1;
	}
	while (slen > 1 && cfg->state_dir[slen - 1] == '/')
		slen--;
	dlen = (size_t)(slash - cfg->api_token_file);
	while (dlen > 1 && cfg->api_token_file[dlen - 1] == '/')
		dlen--;
	cfg->state_dir_mode = 0700;
	if (cfg->api_token_group[0] != '\0' && dlen == slen &&
	    strncmp(cfg->api_token_file, cfg->state_dir, slen) == 0)
		cfg->state_dir_mode = 0710;
	return 0;
}

static int
derive(struct config *cfg, struct config_error *err)
{
	struct {
		char		**dst;
		const char	 *dir;
		const char	 *name;
		size_t		  max;
	} d[] = {
		{ &cfg->mgmt_sock, cfg->run_dir, "openvpn.sock", 108 },
		{ &cfg->passthru_sock, cfg->run_dir, "management.sock", 108 },
		{ &cfg->events_sock, cfg->run_dir, "events.sock", 108 },
		{ &cfg->consent_file, cfg->run_dir, "consent", PATH_MAX },
		{ &cfg->pid_file, cfg->run_dir, "openvpn.pid", PATH_MAX },
		{ &cfg->settings_file, cfg->state_dir, "settings.json",
		    PATH_MAX },
		{ &cfg->support_hash_file, cfg->state_dir, "support.hash",
		    PATH_MAX },
		{ &cfg->audit_file, cfg->state_dir, "history.jsonl",
		    PATH_MAX },
	};
	char buf[PATH_MAX];
	size_t i;

	if (cfg->run_dir[0] != '/' || cfg->state_dir[0] != '/') {
		set_err(err, cfg->run_dir[0] != '/' ? "run_dir" : "state_dir",
		    "'%s' must be an absolute path",
		    cfg->run_dir[0] != '/' ? "run_dir" : "state_dir");
		return -1;
	}
	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		if (util_snprintf(buf, sizeof(buf), "%s/%s", d[i].dir,
		    d[i].name) < 0 || strlen(buf) >= d[i].max) {
			set_err(err, d[i].dir == cfg->run_dir ? "run_dir" :
			    "state_dir", "'%s' is too long for %s",
			    d[i].dir == cfg->run_dir ? "run_dir" : "state_dir",
			    d[i].name);
			return -1;
		}
		if (set_str(d[i].dst, buf) < 0)
			return -ENOMEM;
	}
	if (cfg->ovpn_binary[0] == '\0' || cfg->ovpn_config[0] == '\0') {
		set_err(err, cfg->ovpn_binary[0] == '\0' ? "openvpn.binary" :
		    "openvpn.config", "'%s' must not be empty",
		    cfg->ovpn_binary[0] == '\0' ? "openvpn.binary" :
		    "openvpn.config");
		return -1;
	}
	if (cfg->http_host[0] != '\0' && cfg->http_root[0] != '/') {
		set_err(err, "http.root", "'http.root' must be an absolute path");
		return -1;
	}
	if (cfg->http_host[0] != '\0' && cfg->http_port == cfg->api_port &&
	    strcmp(cfg->http_host, cfg->api_host) == 0) {
		set_err(err, "http.listen", "'http.listen' must differ from "
		    "'api.listen'");
		return -1;
	}
	if (cfg->restart_max_ms < cfg->restart_min_ms) {
		set_err(err, "openvpn.restart_max_ms", "'openvpn.restart_max_ms'"
		    " must not be below 'openvpn.restart_min_ms'");
		return -1;
	}
	if (cfg->session_default_s == 0 && !cfg->session_allow_unlimited) {
		set_err(err, "session.default_s", "'session.default_s' is 0 "
		    "(no end) but 'session.allow_unlimited' is false");
		return -1;
	}
	if (cfg->session_default_s > cfg->session_max_s) {
		set_err(err, "session.default_s", "'session.default_s' must "
		    "not be above 'session.max_s'");
		return -1;
	}
	if (cfg->auth_lockout_max_s < cfg->auth_lockout_s) {
		set_err(err, "auth.lockout_max_s", "'auth.lockout_max_s' must "
		    "not be below 'auth.lockout_s'");
		return -1;
	}
	return derive_token(cfg, err);
}

static int
load_root(struct config *cfg, json_t *root, const char *name,
    json_error_t *jerr, struct config_error *err)
{
	int rc;

	if (root == NULL && jerr->line < 0)	/* could not read it */
		set_err(err, "", "%s", jerr->text);
	else if (root == NULL)
		set_err(err, "", "%s: line %d column %d: %s", name, jerr->line,
		    jerr->column, jerr->text);
	if (root == NULL) {
		config_deinit(cfg);
		return -1;
	}
	if (!json_is_object(root)) {
		set_err(err, "", "%s: the configuration must be a JSON object",
		    name);
		rc = -1;
		goto out;
	}
	if ((rc = load_object(cfg, root, "", err)) == 0)
		rc = derive(cfg, err);
	if (rc == -ENOMEM)
		set_err(err, "", "%s: out of memory", name);
	else if (rc != 0) {
		char text[sizeof(err->text)];

		memcpy(text, err->text, sizeof(text));
		/* A cut message still names the key; truncation is fine. */
		(void)util_snprintf(err->text, sizeof(err->text), "%s: %s",
		    name, text);
	}
out:
	json_decref(root);
	if (rc != 0) {
		config_deinit(cfg);
		return -1;
	}
	return 0;
}

int
config_load(struct config *cfg, const char *path, struct config_error *err)
{
	json_error_t jerr;
	json_t *root;

	memset(err, 0, sizeof(*err));
	if (config_defaults(cfg) < 0) {
		set_err(err, "", "%s: out of memory", path);
		return -1;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	return load_root(cfg, root, path, &jerr, err);
}

int
config_load_string(struct config *cfg, const char *json,
    struct config_error *err)
{
	json_error_t jerr;
	json_t *root;

	memset(err, 0, sizeof(*err));
	if (config_defaults(cfg) < 0) {
		set_err(err, "", "config: out of memory");
		return -1;
	}
	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	return load_root(cfg, root, "config", &jerr, err);
}

/* Options the controller passes itself, or that would break supervision. */
static const char *const owned_options[] = {
	"management", "management-client", "management-hold",
	"management-signal", "management-query-passwords",
	"management-query-remote", "management-query-proxy",
	"management-client-user", "management-client-group",
	"management-forget-disconnect", "management-external-key",
	"management-external-cert", "management-up-down",
	"management-client-auth", "management-log-cache",
	"daemon", "log", "log-append", "syslog", "writepid", "plugin",
	"config", "remap-usr1", "suppress-timestamps",
	"machine-readable-output",
};

static bool
is_owned(const char *opt)
{
	size_t i;

	for (i = 0; i < sizeof(owned_options) / sizeof(owned_options[0]); i++)
		if (strcmp(opt, owned_options[i]) == 0)
			return true;
	return false;
}

/*
 * openvpn 2.6 reads its config file with fgets into a buffer of 257 bytes
 * (256 inside an inline file) and splits each piece with parse_line. The
 * check reads the file the same way, or an option openvpn applies could
 * hide from it (quoted, after a form feed, after an inline file's end).
 */
#define OVPN_LINE_MAX	256	/* bytes fgets gives a config line */
#define OVPN_INLINE_MAX	255	/* and a line of an inline file */
#define OVPN_PARM_MAX	256	/* a token; openvpn refuses longer ones */
#define OVPN_TOKENS	3	/* enough for "setenv opt <option>" */

/* isspace() in the C locale; NUL ends a token too. */
static bool
ovpn_space(int c)
{
	return c == '\0' || c == ' ' || (c >= '\t' && c <= '\r');
}

/* The length of the piece fgets(max + 1 bytes) reads at p. */
static size_t
ovpn_piece(const char *p, size_t max)
{
	size_t len = strnlen(p, max);
	const char *nl = memchr(p, '\n', len);

	return nl != NULL ? (size_t)(nl - p) + 1 : len;
}

/*
 * Up to OVPN_TOKENS tokens of s[0..len) as parse_line reads them: white space
 * separates, "..." quotes with backslash escapes, '...' quotes literally,
 * a backslash escapes outside single quotes, '#' or ';' where a token
 * would start ends the line. A token is cut at OVPN_PARM_MAX (*cut set).
 * Returns how many were read.
 */
static int
ovpn_tokens(const char *s, size_t len,
    char tok[OVPN_TOKENS][OVPN_PARM_MAX + 1], bool *cut)
{
	enum { INIT, BARE, DQUOTE, SQUOTE } st = INIT;
	bool bs = false, done;
	size_t i, o = 0;
	int n = 0, c, out;

	*cut = false;
	for (i = 0; i <= len && n < OVPN_TOKENS; i++) {
		c = i < len ? (unsigned char)s[i] : '\0';
		if (!bs && c == '\\' && st != SQUOTE) {
			bs = true;
			continue;
		}
		out = 0;
		done = false;
		switch (st) {
		case INIT:
			if (ovpn_space(c))
				break;
			if (c == '#' || c == ';')
				return n;
			if (!bs && c == '"')
				st = DQUOTE;
			else if (!bs && c == '\'')
				st = SQUOTE;
			else {
				out = c;
				st = BARE;
			}
			break;
		case BARE:
			if (!bs && ovpn_space(c))
				done = true;
			else
				out = c;
			break;
		case DQUOTE:
			if (!bs && c == '"')
				done = true;
			else
				out = c;
			break;
		case SQUOTE:
			if (c == '\'')
				done = true;
			else
				out = c;
			break;
		}
		bs = false;
		if (out != 0 && o < OVPN_PARM_MAX)
			tok[n][o++] = (char)out;
		else if (out != 0)
			*cut = true;
		if (done) {
			tok[n++][o] = '\0';
			o = 0;
			st = INIT;
		}
	}
	/* An open quote: openvpn refuses the line; read it as closed. */
	if (st != INIT && n < OVPN_TOKENS)
		tok[n++][o] = '\0';
	return n;
}

/* In an inline file: whether the piece p[0..n) ends it (close: "</tag>"). */
static bool
ovpn_inline_end(const char *p, size_t n, const char *close)
{
	size_t i = 0, cl = strlen(close);

	while (i < n && p[i] != '\0' && ovpn_space((unsigned char)p[i]))
		i++;
	return n - i >= cl && strncmp(p + i, close, cl) == 0;
}

int
config_check_client_text(const char *text, const char *name,
    struct config_error *err)
{
	char tok[OVPN_TOKENS][OVPN_PARM_MAX + 1], close[OVPN_PARM_MAX + 4] = "";
	const char *p = text, *opt;
	size_t n, olen;
	int lineno = 1, line, ntok;
	bool cut;

	memset(err, 0, sizeof(*err));
	/* Newer openvpn skips a UTF-8 byte order mark. */
	if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	for (; *p != '\0'; p += n) {
		n = ovpn_piece(p, close[0] != '\0' ? OVPN_INLINE_MAX :
		    OVPN_LINE_MAX);
		line = lineno;
		if (p[n - 1] == '\n')
			lineno++;
		/* Inline files (<ca> ... </ca>) hold no options. */
		if (close[0] != '\0') {
			if (ovpn_inline_end(p, n, close))
				close[0] = '\0';
			continue;
		}
		if ((ntok = ovpn_tokens(p, n, tok, &cut)) == 0)
			continue;
		opt = tok[0];
		if (strlen(opt) >= 3 && strncmp(opt, "--", 2) == 0)
			opt += 2;
		olen = strlen(opt);
		/* Only a line that is the tag alone opens one. */
		if (ntok == 1 && !cut && olen >= 2 && opt[0] == '<' &&
		    opt[olen - 1] == '>') {
			snprintf(close, sizeof(close), "</%.*s>",
			    (int)(olen - 2), opt + 1);
			continue;
		}
		/* "setenv opt X" is X, where openvpn knows X. */
		if (ntok == 3 && strcmp(opt, "setenv") == 0 &&
		    strcmp(tok[1], "opt") == 0)
			opt = tok[2];
		if (is_owned(opt)) {
			set_err(err, opt, "%s:%d: option '%s' is set by "
			    "supportvpnd and must not appear in the openvpn "
			    "client configuration", name, line, opt);
			return -1;
		}
	}
	return 0;
}

int
config_check_client(const char *path, struct config_error *err)
{
	FILE *f;
	char *buf = NULL;
	size_t len;
	long sz;
	int rc;

	memset(err, 0, sizeof(*err));
	if ((f = fopen(path, "re")) == NULL) {
		rc = -errno;
		set_err(err, "openvpn.config", "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0 || sz > 4 * 1024 * 1024) {
		set_err(err, "openvpn.config", "%s: cannot read (or larger "
		    "than 4 MiB)", path);
		fclose(f);
		return -EFBIG;
	}
	if ((buf = malloc((size_t)sz + 1)) == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(buf, 1, (size_t)sz, f);
	buf[len] = '\0';
	fclose(f);
	rc = config_check_client_text(buf, path, err);
	free(buf);
	return rc;
}
