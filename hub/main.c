/* SPDX-License-Identifier: MIT */
/*
 * supportvpn-hubd: options, configuration test (-n), start-up, signals
 * and an orderly shutdown. Runs in the foreground as root (nftables);
 * systemd or a test harness supervises it.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <uv.h>

#include "grants.h"
#include "hub.h"
#include "hubconf.h"
#include "log.h"
#include "supportvpn.h"
#include "util.h"

#define HUBD_NAME	"supportvpn-hubd"

struct app {
	uv_loop_t	*loop;
	struct hubconf	 cfg;
	struct hub	*hub;
	uv_signal_t	 sig_term, sig_int, sig_hup;
	bool		 stopping;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " HUBD_NAME " [--config FILE] [-n] [--log-level LEVEL]\n"
	    "\n"
	    "  -c, --config FILE     configuration (JSON; default "
	    HUBCONF_DEFAULT_PATH ")\n"
	    "  -n, --check           check the configuration and the grants "
	    "file, and exit\n"
	    "  -l, --log-level LEVEL error, warn, info or debug (overrides "
	    "log_level)\n"
	    "  -V, --version         print the version and exit\n"
	    "  -h, --help            this text\n"
	    "\n"
	    "Runs in the foreground. SIGTERM/SIGINT: clean shutdown (the "
	    "nftables table is\n"
	    "deleted, or left closed). SIGHUP: reopen the log file, re-read "
	    "the grants.\n");
}

static void
on_signal_closed(uv_handle_t *h)
{
	/* Embedded in struct app; nothing to free. */
}

static void
app_shutdown(struct app *app, const char *why)
{
	if (app->stopping)
		return;
	app->stopping = true;
	log_info(HUBD_NAME ": shutting down (%s)", why);
	hub_stop(app->hub);
	app->hub = NULL;
	uv_close((uv_handle_t *)&app->sig_term, on_signal_closed);
	uv_close((uv_handle_t *)&app->sig_int, on_signal_closed);
	uv_close((uv_handle_t *)&app->sig_hup, on_signal_closed);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct app *app = s->data;
	int rc;

	if (signum != SIGHUP) {
		app_shutdown(app, signum == SIGTERM ? "SIGTERM" : "SIGINT");
		return;
	}
	if (app->cfg.log_file[0] != '\0' && (rc = log_reopen()) < 0)
		log_warnx("log: cannot reopen %s: %s", app->cfg.log_file,
		    strerror(-rc));
	hub_reload(app->hub, "SIGHUP");
}

static void
open_log(const struct hubconf *cfg)
{
	char *copy;
	int rc;

	if (cfg->log_file[0] == '\0')
		return;
	if ((copy = strdup(cfg->log_file)) == NULL)
		return;
	rc = util_mkdir_p(dirname(copy), 0750);
	free(copy);
	if (rc < 0 || (rc = log_open_file(cfg->log_file)) < 0)
		log_warnx("log: cannot open %s: %s; logging to stderr only",
		    cfg->log_file, strerror(-rc));
}

/* -n: the configuration parsed; the grants file, if there is one, too. */
static int
check_only(const char *path, const struct hubconf *cfg)
{
	struct grants_error err;
	struct grants gs;
	int rc;

	if ((rc = grants_load(cfg->grants_file, util_now_ms(), &gs, &err)) !=
	    0) {
		fprintf(stderr, HUBD_NAME ": grants file %s: %s\n",
		    cfg->grants_file, err.text);
		return 1;
	}
	printf(HUBD_NAME ": %s: configuration OK; %s: %zu grant(s)\n", path,
	    cfg->grants_file, gs.n);
	grants_deinit(&gs);
	return 0;
}

static int
app_run(struct app *app)
{
	int rc;

	app->loop = uv_default_loop();
	if ((app->hub = hub_new(app->loop, &app->cfg)) == NULL) {
		log_error(HUBD_NAME ": cannot start: %s", strerror(errno));
		return 1;
	}
	uv_signal_init(app->loop, &app->sig_term);
	uv_signal_init(app->loop, &app->sig_int);
	uv_signal_init(app->loop, &app->sig_hup);
	app->sig_term.data = app->sig_int.data = app->sig_hup.data = app;
	uv_signal_start(&app->sig_term, on_signal, SIGTERM);
	uv_signal_start(&app->sig_int, on_signal, SIGINT);
	uv_signal_start(&app->sig_hup, on_signal, SIGHUP);
	rc = hub_start(app->hub);
	if (rc < 0)
		app_shutdown(app, "start-up failed");
	else
		log_info(HUBD_NAME " %s running", SUPPORTVPN_VERSION);
	uv_run(app->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(app->loop) != 0)
		log_warnx(HUBD_NAME ": handles left open at exit");
	log_info(HUBD_NAME ": stopped");
	return rc < 0 ? 1 : 0;
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
	struct hubconf_error err;
	struct app app;
	const char *path = HUBCONF_DEFAULT_PATH;
	int ch, level = -1, check = 0, rc;

	memset(&app, 0, sizeof(app));
	while ((ch = getopt_long(argc, argv, "c:nl:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, HUBD_NAME ": unknown log level "
				    "'%s' (error, warn, info, debug)\n", optarg);
				return 2;
			}
			break;
		case 'V':
			printf(HUBD_NAME " %s\n", SUPPORTVPN_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (hubconf_load(&app.cfg, path, &err) < 0) {
		fprintf(stderr, HUBD_NAME ": %s\n", err.text);
		return 1;
	}
	if (check) {
		rc = check_only(path, &app.cfg);
		hubconf_deinit(&app.cfg);
		return rc;
	}
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	log_init(level >= 0 ? (enum log_level)level :
	    (enum log_level)app.cfg.log_level, 1);
	open_log(&app.cfg);
	log_info(HUBD_NAME " %s starting (libuv %s, jansson %s)",
	    SUPPORTVPN_VERSION, uv_version_string(), JANSSON_VERSION);
	rc = app_run(&app);
	log_deinit();
	hubconf_deinit(&app.cfg);
	return rc;
}
