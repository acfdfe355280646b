/* SPDX-License-Identifier: MIT */
/*
 * supportvpnd: options, configuration test (-n), start-up, signals and an
 * orderly shutdown. Runs in the foreground; systemd or a test harness
 * supervises it.
 */
#define _DEFAULT_SOURCE		/* explicit_bzero */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "api.h"
#include "cmd.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "passthru.h"
#include "policy.h"		/* plugin/: the same parser the plugin uses */
#include "supportvpn.h"
#include "token.h"
#include "util.h"
#include "vpn.h"
#include "auth.h"
#include "session.h"

struct app {
	uv_loop_t		*loop;
	struct config		 cfg;
	struct vpn		*vpn;
	struct api		*api;
	struct cmd		*cmd;
	struct token_guard	*guard;		/* the API token's limiter */
	struct http		*http;
	struct passthru		*passthru;
	struct session		*session;
	struct auth		*auth;
	uv_signal_t		 sig_term, sig_int, sig_hup;
	uv_timer_t		 linger;	/* bounds the final drain */
	bool			 lingering;	/* linger was initialised */
	bool			 stopping;
	int			 exit_code;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: supportvpnd --config FILE [-n] [--log-level LEVEL]\n"
	    "\n"
	    "  -c, --config FILE     controller configuration (JSON)\n"
	    "  -n, --check           check the configuration and exit\n"
	    "  -l, --log-level LEVEL error, warn, info or debug (overrides "
	    "log_level)\n"
	    "  -V, --version         print the version and exit\n"
	    "  -h, --help            this text\n"
	    "\n"
	    "Runs in the foreground. SIGTERM/SIGINT: clean shutdown. "
	    "SIGHUP: reopen the log file.\n");
}

/* An event for the API's subscribers and the page's event streams;
 * fields stolen. */
static void
broadcast(struct app *app, const char *name, json_t *fields)
{
	http_broadcast(app->http, name, fields);
	api_broadcast(app->api, name, fields);
}

static void
on_vpn_event(const char *name, json_t *fields, void *arg)
{
	struct app *app = arg;

	if (strcmp(name, "state") == 0 && app->session != NULL)
		session_on_state(app->session, vpn_state(app->vpn));
	broadcast(app, name, fields);
}

static void
on_vpn_tunnel(bool up, const struct vpn_tunnel *t, enum vpn_state now,
    const char *detail, void *arg)
{
	struct app *app = arg;

	session_on_tunnel(app->session, up, t, now, detail);
}

static void
on_session_event(json_t *fields, void *arg)
{
	struct app *app = arg;

	broadcast(app, "session", fields);
}

static void
on_log_line(enum log_level level, const char *time, const char *msg,
    void *arg)
{
	struct app *app = arg;
	char line[2200];

	if (app->api == NULL)
		return;
	snprintf(line, sizeof(line), "%s %-5s %s", time, log_level_name(level),
	    msg);
	broadcast(app, "log", json_pack("{s:s, s:s, s:s}", "level",
	    log_level_name(level), "message", msg, "line", line));
}

static void
on_signal_closed(uv_handle_t *h)
{
	/* Embedded in struct app; nothing to free. */
}

/*
 * Everything is closed, but a DNS lookup abandoned by the checks may still
 * hold a thread-pool request for 10-20 s (glibc's resolver cannot be
 * interrupted). Stopping must take seconds at most, so it is not waited
 * for.
 */
static void
on_linger(uv_timer_t *t)
{
	log_warnx("supportvpnd: abandoned DNS lookups are still running; "
	    "exiting without waiting for them");
	uv_stop(t->loop);
}

static void
on_vpn_down(void *arg)
{
	struct app *app = arg;

	log_set_hook(NULL, NULL);
	http_free(app->http);
	app->http = NULL;
	api_free(app->api);
	app->api = NULL;
	cmd_free(app->cmd);
	app->cmd = NULL;
	/* Neither front end checks a token once freed. */
	token_guard_free(app->guard);
	app->guard = NULL;
	auth_free(app->auth);
	app->auth = NULL;
	session_free(app->session);
	app->session = NULL;
	passthru_free(app->passthru);
	app->passthru = NULL;
	vpn_free(app->vpn);
	app->vpn = NULL;
	uv_close((uv_handle_t *)&app->sig_term, on_signal_closed);
	uv_close((uv_handle_t *)&app->sig_int, on_signal_closed);
	uv_close((uv_handle_t *)&app->sig_hup, on_signal_closed);
	/* Unreferenced: it never keeps the loop alive by itself. */
	uv_timer_init(app->loop, &app->linger);
	app->lingering = true;
	uv_unref((uv_handle_t *)&app->linger);
	uv_timer_start(&app->linger, on_linger, 1000, 0);
}

static void
app_shutdown(struct app *app, const char *why)
{
	if (app->stopping)
		return;
	app->stopping = true;
	log_info("supportvpnd: shutting down (%s)", why);
	session_shutdown(app->session);
	vpn_shutdown(app->vpn, on_vpn_down, app);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct app *app = s->data;
	int rc;

	if (signum == SIGHUP) {
		if ((rc = log_reopen()) < 0)
			log_warnx("log: cannot reopen %s: %s",
			    app->cfg.log_file, strerror(-rc));
		else
			log_info("log: reopened %s", app->cfg.log_file);
		return;
	}
	app_shutdown(app, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static int
open_log(struct app *app)
{
	char *copy;
	int rc;

	if (app->cfg.log_file[0] == '\0')
		return 0;
	if ((copy = strdup(app->cfg.log_file)) == NULL)
		return -ENOMEM;
	rc = util_mkdir_p(dirname(copy), 0750);
	free(copy);
	if (rc < 0 || (rc = log_open_file(app->cfg.log_file)) < 0)
		log_warnx("log: cannot open %s: %s; logging to stderr only",
		    app->cfg.log_file, strerror(-rc));
	return 0;
}

/*
 * Reads plugin.policy with the plugin's own parser, so a policy that would
 * make the plugin refuse every hub is reported before openvpn ever runs.
 * 0, or -1 with msg filled.
 */
static int
check_policy(const struct config *cfg, char *msg, size_t len)
{
	struct policy_error perr;
	struct policy *pol;
	char *buf = NULL;
	size_t n;
	FILE *f;
	int rc = -1;

	if (cfg->ovpn_plugin[0] == '\0')
		return 0;
	if ((f = fopen(cfg->plugin_policy, "re")) == NULL) {
		snprintf(msg, len, "plugin.policy: %s: %s", cfg->plugin_policy,
		    strerror(errno));
		return -1;
	}
	if ((buf = malloc(POLICY_FILE_MAX + 1)) == NULL) {
		snprintf(msg, len, "plugin.policy: out of memory");
		goto out;
	}
	n = fread(buf, 1, POLICY_FILE_MAX + 1, f);
	if (n > POLICY_FILE_MAX) {
		snprintf(msg, len, "plugin.policy: %s: larger than %d bytes",
		    cfg->plugin_policy, POLICY_FILE_MAX);
		goto out;
	}
	if ((pol = policy_parse(buf, n, &perr)) == NULL) {
		if (perr.line > 0)
			snprintf(msg, len, "plugin.policy: %s: line %d: %s",
			    cfg->plugin_policy, perr.line, perr.text);
		else
			snprintf(msg, len, "plugin.policy: %s: %s",
			    cfg->plugin_policy, perr.text);
		goto out;
	}
	policy_free(pol);
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

static int
check_config(const char *path, struct config *cfg)
{
	struct config_error err;
	char why[256];
	gid_t gid;
	int rc;

	if (config_load(cfg, path, &err) < 0) {
		fprintf(stderr, "supportvpnd: %s\n", err.text);
		return -1;
	}
	if (cfg->api_token_group[0] != '\0' &&
	    token_group_resolve(cfg->api_token_group, &gid, why,
	    sizeof(why)) < 0) {
		fprintf(stderr, "supportvpnd: %s: %s\n", path, why);
		config_deinit(cfg);
		return -1;
	}
	if ((rc = config_check_client(cfg->ovpn_config, &err)) != 0) {
		if (rc == -1)
			fprintf(stderr, "supportvpnd: %s\n", err.text);
		else
			fprintf(stderr, "supportvpnd: openvpn.config: cannot "
			    "read %s: %s\n", cfg->ovpn_config, strerror(-rc));
		config_deinit(cfg);
		return -1;
	}
	return 0;
}

static int
app_start(struct app *app)
{
	static const struct vpn_callbacks vcb = { .on_event = on_vpn_event,
	    .on_tunnel = on_vpn_tunnel };
	static const struct session_callbacks scb = {
	    .on_event = on_session_event };
	char token[TOKEN_LEN + 1];
	int rc;

	/* Before anything listens: no API without its token. */
	if ((rc = token_prepare(&app->cfg, token)) < 0)
		return rc;
	app->loop = uv_default_loop();
	if ((app->vpn = vpn_new(app->loop, &app->cfg, &vcb, app)) == NULL ||
	    (app->session = session_new(app->loop, &app->cfg, app->vpn, &scb,
	    app)) == NULL ||
	    (app->auth = auth_new(app->loop, &app->cfg, app->vpn,
	    app->session)) == NULL ||
	    (app->cmd = cmd_new(app->loop, &app->cfg, app->vpn, app->session,
	    app->auth)) == NULL ||
	    (app->guard = token_guard_new(token)) == NULL ||
	    (app->api = api_new(app->loop, &app->cfg, app->cmd,
	    app->guard)) == NULL ||
	    (app->http = http_new(app->loop, &app->cfg, app->cmd, app->vpn,
	    app->guard)) == NULL ||
	    (app->passthru = passthru_new(app->loop, app->cfg.passthru_sock,
	    app->vpn)) == NULL) {
		explicit_bzero(token, sizeof(token));
		log_error("supportvpnd: out of memory");
		return -ENOMEM;
	}
	explicit_bzero(token, sizeof(token));
	log_set_hook(on_log_line, app);
	uv_signal_init(app->loop, &app->sig_term);
	uv_signal_init(app->loop, &app->sig_int);
	uv_signal_init(app->loop, &app->sig_hup);
	app->sig_term.data = app->sig_int.data = app->sig_hup.data = app;
	uv_signal_start(&app->sig_term, on_signal, SIGTERM);
	uv_signal_start(&app->sig_int, on_signal, SIGINT);
	uv_signal_start(&app->sig_hup, on_signal, SIGHUP);
	vpn_set_status_hook(app->vpn, session_status_add, app->session);
	if ((rc = api_listen(app->api)) < 0 || (rc = http_listen(app->http)) < 0 ||
	    (rc = vpn_boot(app->vpn)) < 0 ||
	    (rc = passthru_listen(app->passthru)) < 0)
		return rc;
	/* A history that cannot be written is logged; the daemon runs on
	 * (stop and status still work) but refuses to start sessions. */
	(void)session_boot(app->session, vpn_start_when_possible(app->vpn));
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct app app;
	char policy_msg[512] = "";
	const char *config_path = NULL;
	int ch, level = -1, check_only = 0, rc;

	memset(&app, 0, sizeof(app));
	while ((ch = getopt_long(argc, argv, "c:nl:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "supportvpnd: unknown log level"
				    " '%s' (error, warn, info, debug)\n",
				    optarg);
				return 2;
			}
			break;
		case 'V':
			printf("supportvpnd %s\n", SUPPORTVPN_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config_path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (check_config(config_path, &app.cfg) < 0)
		return 1;
	if (check_policy(&app.cfg, policy_msg, sizeof(policy_msg)) < 0 &&
	    check_only) {
		fprintf(stderr, "supportvpnd: %s\n", policy_msg);
		config_deinit(&app.cfg);
		return 1;
	}
	if (check_only) {
		printf("supportvpnd: %s: configuration OK\n", config_path);
		config_deinit(&app.cfg);
		return 0;
	}
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	/* Once, before anything else runs: libcurl's global state. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "supportvpnd: cannot initialise libcurl\n");
		config_deinit(&app.cfg);
		return 1;
	}
	log_init(level >= 0 ? (enum log_level)level :
	    (enum log_level)app.cfg.log_level, 1);
	(void)open_log(&app);	/* without a file, stderr still works */
	log_info("supportvpnd %s starting (libuv %s, jansson %s)",
	    SUPPORTVPN_VERSION, uv_version_string(), JANSSON_VERSION);
	/* Not fatal: the plugin refuses every hub, which is fail-closed. */
	if (policy_msg[0] != '\0')
		log_error("%s; the plugin will refuse every support server",
		    policy_msg);
	if ((rc = app_start(&app)) < 0) {
		app.exit_code = 1;
		if (app.vpn != NULL)
			app_shutdown(&app, "start-up failed");
		else
			goto out;
	}
	uv_run(app.loop, UV_RUN_DEFAULT);
	if (app.lingering) {
		uv_close((uv_handle_t *)&app.linger, on_signal_closed);
		(void)uv_run(app.loop, UV_RUN_NOWAIT);
	}
	if ((rc = uv_loop_close(app.loop)) != 0) {
		/* Only abandoned lookups remain; libuv would join them. */
		log_info("supportvpnd: stopped (%s)", uv_strerror(rc));
		log_deinit();
		_exit(app.exit_code);
	}
	log_info("supportvpnd: stopped");
out:
	log_deinit();
	config_deinit(&app.cfg);
	curl_global_cleanup();
	return app.exit_code;
}
