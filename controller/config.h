/* SPDX-License-Identifier: MIT */
/*
 * The controller configuration: one JSON file turned into a plain struct.
 * Every key has a default; unknown keys and wrong types are errors named by
 * their path ("checks.timeout_ms").
 */
#ifndef SUPPORTVPN_CONFIG_H
#define SUPPORTVPN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config {
	char	*api_host;		/* loopback literal */
	int	 api_port;
	int	 api_max_clients;
	int	 api_max_subscribers;
	char	*api_token_file;	/* "" in the file: state_dir/api.token */
	char	*api_token_group;	/* "" = leave the file's group alone */
	char	*state_dir;
	char	*run_dir;
	char	*log_file;		/* "" = no file */
	int	 log_level;		/* enum log_level */
	char	*ovpn_binary;
	char	*ovpn_config;
	char	*ovpn_plugin;		/* "" = run without the plugin */
	int	 restart_min_ms;
	int	 restart_max_ms;
	int	 stop_timeout_ms;
	int	 bytecount_s;
	int	 probe_interval_s;	/* silence before a probe; 0 = none */
	int	 answer_timeout_ms;	/* openvpn's greeting and each answer */
	char	*plugin_policy;
	char	*checks_cloud_url;
	char	*checks_resolv_conf;
	int	 checks_timeout_ms;
	int	 checks_interval_s;
	int	 session_default_s;	/* start without duration_s; 0 = no end */
	int	 session_max_s;		/* longest start or extend */
	bool	 session_allow_unlimited; /* duration_s 0 allowed */
	int	 session_warn_s;	/* "expiring" event this long before */
	int	 auth_max_failures;	/* failed auths per window ... */
	int	 auth_window_s;		/* ... before a lock-out */
	int	 auth_lockout_s;	/* first lock-out; doubles each time */
	int	 auth_lockout_max_s;	/* ... up to this */
	int	 audit_max_bytes;	/* history file size before rotation */
	char	*http_host;		/* loopback literal; "" = no HTTP */
	int	 http_port;
	char	*http_root;		/* the page's directory */
	char	**http_allowed_hosts;	/* extra Host values */
	size_t	 http_nallowed_hosts;
	int	 http_max_clients;
	int	 http_session_s;	/* a page session's idle lifetime */

	/* Derived from run_dir/state_dir. */
	char	*mgmt_sock;		/* run_dir/openvpn.sock */
	char	*passthru_sock;		/* run_dir/management.sock */
	char	*events_sock;		/* run_dir/events.sock */
	char	*consent_file;		/* run_dir/consent */
	char	*pid_file;		/* run_dir/openvpn.pid */
	char	*settings_file;		/* state_dir/settings.json */
	char	*support_hash_file;	/* state_dir/support.hash */
	char	*audit_file;		/* state_dir/history.jsonl */
	unsigned state_dir_mode;	/* 0700; 0710 when token_group must
					 * reach a token file in it */
};

struct config_error {
	char	path[128];		/* the key, "" for the file itself */
	char	text[384];		/* the whole message */
};

/* Fills cfg with every default. 0 or -ENOMEM. */
int	config_defaults(struct config *cfg);
/*
 * Loads path over the defaults. 0, or -1 with err filled (the message
 * names the file and key). cfg is freed on failure. New: config_deinit.
 */
int	config_load(struct config *cfg, const char *path,
	    struct config_error *err);
/* Same, from a string (tests, fuzzing). */
int	config_load_string(struct config *cfg, const char *json,
	    struct config_error *err);
void	config_deinit(struct config *cfg);

/*
 * Checks the openvpn client configuration at path for options the
 * controller owns (management*, daemon, log, plugin, ...). 0 when none;
 * -1 with err->text naming the option and line; -errno if unreadable.
 */
int	config_check_client(const char *path, struct config_error *err);
/* The same on a buffer; name is used in messages. */
int	config_check_client_text(const char *text, const char *name,
	    struct config_error *err);

#endif
