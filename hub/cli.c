/* SPDX-License-Identifier: MIT */
/*
 * supportvpn-hub: the hub operator's command line. grant and revoke edit
 * the grants file (locked, written atomically) and ask supportvpn-hubd to
 * apply it at once; list reads the file; status asks the daemon. Exit 0
 * on success, 1 on failure, 2 on a usage error.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "grants.h"
#include "hubconf.h"
#include "ident.h"
#include "supportvpn.h"
#include "util.h"

#define CLI_NAME		"supportvpn-hub"
#define CLI_ENV_CONFIG		"SUPPORTVPN_HUB_CONFIG"
#define CLI_TIMEOUT_MS		10000
#define CLI_ANSWER_MAX		(64 * 1024 * 1024)

#define CLI_USAGE_LINE	"usage: " CLI_NAME " [--config PATH] COMMAND [ARGS]\n"

static const char usage_text[] =
	CLI_USAGE_LINE
	"\n"
	"The vendor hub's per-case staff grants (supportvpn-hubd).\n"
	"\n"
	"commands:\n"
	"  grant STAFF APPLIANCE --for DURATION [--case REF]\n"
	"                     let the staff certificate STAFF reach the\n"
	"                     appliance APPLIANCE (common names) for DURATION\n"
	"                     (30m, 8h, 2d; at most 30d); granting a pair\n"
	"                     again replaces its grant\n"
	"  revoke STAFF APPLIANCE\n"
	"                     end that grant now (open connections are cut)\n"
	"  list [--json]      the grants file: every grant, its time left\n"
	"  status [--json]    from supportvpn-hubd: who is connected, with\n"
	"                     which tunnel addresses, and which grants are in\n"
	"                     effect (both sides connected)\n"
	"\n"
	"  --config PATH      supportvpn-hubd's configuration (default $"
	CLI_ENV_CONFIG ",\n"
	"                     else " HUBCONF_DEFAULT_PATH ")\n"
	"\n"
	"exit status: 0 success, 1 failure, 2 usage error\n";

static int
usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, CLI_NAME ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n" CLI_USAGE_LINE "(" CLI_NAME " --help: the "
	    "commands)\n");
	return 2;
}

static int
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, CLI_NAME ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/*
 * A span of time in seconds: digits and one unit, s, m, h or d ("30m",
 * "8h", "2d"), from 60 s to GRANTS_MAX_S.
 */
static bool
parse_duration(const char *s, long *out)
{
	static const char units[] = "smhd";
	static const long secs[] = { 1, 60, 3600, 86400 };
	const char *u;
	char *end;
	long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end[0] == '\0' || end[1] != '\0' ||
	    (u = strchr(units, end[0])) == NULL || v > GRANTS_MAX_S)
		return false;
	v *= secs[u - units];
	if (v < 60 || v > GRANTS_MAX_S)
		return false;
	*out = v;
	return true;
}

/* "42 s", "5 min", "8 h 30 min", "2 d 3 h": the two largest units. */
static void
format_span(int64_t s, char *buf, size_t len)
{
	static const int64_t secs[] = { 86400, 3600, 60, 1 };
	static const char *const names[] = { "d", "h", "min", "s" };
	size_t u = 0;
	int64_t rest;

	if (s < 0)
		s = 0;
	while (u < 3 && s < secs[u])
		u++;
	rest = u < 3 ? s % secs[u] / secs[u + 1] : 0;
	if (rest == 0)
		(void)snprintf(buf, len, "%lld %s", (long long)(s / secs[u]),
		    names[u]);
	else
		(void)snprintf(buf, len, "%lld %s %lld %s",
		    (long long)(s / secs[u]), names[u], (long long)rest,
		    names[u + 1]);
}

/* Waits for fd to become ready for events; false on timeout or error. */
static bool
wait_fd(int fd, short events, int64_t deadline_ms)
{
	struct pollfd p = { fd, events, 0 };
	int64_t left;
	int rc;

	for (;;) {
		left = deadline_ms - util_now_ms();
		if (left <= 0)
			return false;
		rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return true;
		if (rc == 0 || errno != EINTR)
			return false;
	}
}

static int
connect_daemon(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t len, int64_t deadline_ms)
{
	while (len > 0) {
		ssize_t n;

		if (!wait_fd(fd, POLLOUT, deadline_ms))
			return -ETIMEDOUT;
		if ((n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one line (without its newline) into a new buffer. */
static char *
read_line(int fd, int64_t deadline_ms, int *rc)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap), *nb, *nl;
	ssize_t n;

	*rc = -ENOMEM;
	while (buf != NULL) {
		if (len == cap) {
			if (cap >= CLI_ANSWER_MAX) {
				*rc = -EMSGSIZE;
				break;
			}
			if ((nb = realloc(buf, cap * 2)) == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		if (!wait_fd(fd, POLLIN, deadline_ms)) {
			*rc = -ETIMEDOUT;
			break;
		}
		if ((n = recv(fd, buf + len, cap - len, MSG_DONTWAIT)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*rc = -errno;
			break;
		}
		if (n == 0) {
			*rc = -ECONNRESET;
			break;
		}
		if ((nl = memchr(buf + len, '\n', (size_t)n)) != NULL) {
			*nl = '\0';
			*rc = 0;
			return buf;
		}
		len += (size_t)n;
	}
	free(buf);
	return NULL;
}

/*
 * Sends {"cmd": cmd} to the daemon and returns its answer (new), or NULL
 * with why filled.
 */
static json_t *
ask(const struct hubconf *cfg, const char *cmd, char *why, size_t whylen)
{
	int64_t deadline = util_now_ms() + CLI_TIMEOUT_MS;
	json_error_t jerr;
	json_t *answer = NULL;
	char req[64], *line;
	int fd, rc;

	(void)snprintf(req, sizeof(req), "{\"cmd\": \"%s\"}\n", cmd);
	if ((fd = connect_daemon(cfg->status_socket)) < 0) {
		snprintf(why, whylen, "cannot reach supportvpn-hubd on %s: %s",
		    cfg->status_socket, strerror(errno));
		return NULL;
	}
	if ((rc = send_all(fd, req, strlen(req), deadline)) < 0 ||
	    (line = read_line(fd, deadline, &rc)) == NULL) {
		snprintf(why, whylen, "supportvpn-hubd on %s: %s",
		    cfg->status_socket, strerror(-rc));
		close(fd);
		return NULL;
	}
	close(fd);
	if ((answer = json_loads(line, 0, &jerr)) == NULL ||
	    !json_is_object(answer)) {
		snprintf(why, whylen, "supportvpn-hubd sent something that is "
		    "not a JSON object");
		json_decref(answer);
		answer = NULL;
	}
	free(line);
	return answer;
}

/* Who is editing: the sudo caller if root runs us through sudo. */
static void
whoami(char *buf, size_t len)
{
	const char *sudo = getenv("SUDO_USER");
	struct passwd *pw;

	if (getuid() == 0 && sudo != NULL && ident_cn_valid(sudo) &&
	    strlen(sudo) < len) {
		(void)snprintf(buf, len, "%s", sudo);
		return;
	}
	if ((pw = getpwuid(getuid())) != NULL && ident_cn_valid(pw->pw_name) &&
	    strlen(pw->pw_name) < len)
		(void)snprintf(buf, len, "%s", pw->pw_name);
	else
		(void)snprintf(buf, len, "uid %u", (unsigned)getuid());
}

/*
 * Asks the daemon to apply the file now and says whether the grant for
 * the pair is in effect. 0, or 1 when the daemon could not apply it.
 */
static int
apply_now(const struct hubconf *cfg, const char *staff, const char *appl,
    bool granted)
{
	json_t *a, *s, *g;
	char why[512];
	size_t i;
	int rc = 0;

	if ((a = ask(cfg, "reload", why, sizeof(why))) == NULL) {
		fprintf(stderr, CLI_NAME ": warning: %s; it applies the file "
		    "when it notices the change or starts\n", why);
		return 0;
	}
	if (!json_is_true(json_object_get(a, "ok")))
		rc = fail("supportvpn-hubd could not read the grants file: %s",
		    json_string_value(json_object_get(a, "error")));
	else if (!json_is_true(json_object_get(a, "nft_ok")))
		rc = fail("recorded, but supportvpn-hubd could not update the "
		    "firewall: %s", json_string_value(json_object_get(a,
		    "nft_error")));
	json_decref(a);
	if (rc != 0 || !granted || (s = ask(cfg, "status", why,
	    sizeof(why))) == NULL)
		return rc;
	json_array_foreach(json_object_get(s, "grants"), i, g)
		if (strcmp(json_string_value(json_object_get(g, "staff")),
		    staff) == 0 && strcmp(json_string_value(json_object_get(g,
		    "appliance")), appl) == 0)
			printf("%s\n", json_is_true(json_object_get(g,
			    "effective")) ? "in effect now: both are connected" :
			    "in effect once both are connected");
	json_decref(s);
	return 0;
}

struct grant_req {
	struct grant	 g;
	int64_t		 now_ms;
};

static int
edit_grant(struct grants *gs, void *arg, struct grants_error *err)
{
	struct grant_req *r = arg;

	grants_prune(gs, r->now_ms);	/* expired ones are only clutter */
	if (grants_put(gs, &r->g) < 0) {
		snprintf(err->text, sizeof(err->text), "too many grants");
		return -1;
	}
	return 0;
}

static int
report_edit(int rc, const struct grants_error *err, const char *path)
{
	if (rc == -1)
		return fail("%s: %s", path, err->text);
	return fail("%s: %s%s%s", path, strerror(-rc), err->text[0] ? ": " :
	    "", err->text);
}

/* grant's arguments into g and *dur: -1 when they are good, else the exit
 * status. */
static int
grant_args(int argc, char **argv, struct grant *g, long *dur)
{
	static const struct option opts[] = {
		{ "for", required_argument, NULL, 'f' },
		{ "case", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pos[3];
	int ch, npos = 0;

	*dur = -1;
	optind = 0;	/* glibc: a full restart, with permutation */
	while ((ch = getopt_long(argc, argv, "-", opts, NULL)) != -1) {
		if (ch == 1 && npos < 2)	/* a non-option, in order */
			pos[npos++] = optarg;
		else if (ch == 1)
			return usage_error("grant: unexpected '%s'", optarg);
		else if (ch == 'f' && !parse_duration(optarg, dur))
			return usage_error("--for: '%s' is not a duration from "
			    "1m to 30d (30m, 8h, 2d)", optarg);
		else if (ch == 'c' && !ident_text_valid(optarg,
		    GRANTS_CASE_MAX))
			return usage_error("--case: 1-%d printable characters",
			    GRANTS_CASE_MAX);
		else if (ch == 'c')
			(void)snprintf(g->case_ref, sizeof(g->case_ref), "%s",
			    optarg);
		else if (ch != 'f')
			return usage_error("grant: unknown option");
	}
	for (; optind < argc && npos < 3; optind++)	/* after "--" */
		pos[npos++] = argv[optind];
	if (npos != 2)
		return usage_error("grant needs STAFF and APPLIANCE");
	if (*dur < 0)
		return usage_error("grant needs --for DURATION");
	if (!ident_cn_valid(pos[0]) || !ident_cn_valid(pos[1]))
		return usage_error("STAFF and APPLIANCE are common names: 1-%d "
		    "printable characters, no spaces", IDENT_CN_MAX);
	(void)snprintf(g->staff, sizeof(g->staff), "%s", pos[0]);
	(void)snprintf(g->appliance, sizeof(g->appliance), "%s", pos[1]);
	return -1;
}

static int
cmd_grant(const struct hubconf *cfg, int argc, char **argv)
{
	struct grants_error err;
	struct grant_req r;
	char exp[UTIL_TIME_LEN], span[64];
	long dur;
	int rc;

	memset(&r, 0, sizeof(r));
	if ((rc = grant_args(argc, argv, &r.g, &dur)) >= 0)
		return rc;
	/* Whole seconds: the file shows times to the second. */
	r.now_ms = util_now_ms() / 1000 * 1000;
	r.g.created_ms = r.now_ms;
	r.g.expires_ms = r.now_ms + dur * 1000;
	whoami(r.g.by, sizeof(r.g.by));
	if ((rc = grants_edit(cfg->grants_file, r.now_ms, edit_grant, &r,
	    &err)) != 0)
		return report_edit(rc, &err, cfg->grants_file);
	format_span(dur, span, sizeof(span));
	printf("granted: %s may reach %s until %s (%s)%s%s\n", r.g.staff,
	    r.g.appliance, util_time_fmt(exp, r.g.expires_ms, false), span,
	    r.g.case_ref[0] ? ", case " : "", r.g.case_ref);
	return apply_now(cfg, r.g.staff, r.g.appliance, true);
}

struct revoke_req {
	const char	*staff, *appliance;
	int64_t		 now_ms;
};

static int
edit_revoke(struct grants *gs, void *arg, struct grants_error *err)
{
	struct revoke_req *r = arg;
	struct grant *g = grants_find(gs, r->staff, r->appliance);

	if (g == NULL || !grants_active(g, r->now_ms)) {
		snprintf(err->text, sizeof(err->text), "no active grant for "
		    "%s to reach %s", r->staff, r->appliance);
		return -1;
	}
	(void)grants_remove(gs, r->staff, r->appliance);	/* found above */
	grants_prune(gs, r->now_ms);
	return 0;
}

static int
cmd_revoke(const struct hubconf *cfg, int argc, char **argv)
{
	struct grants_error err;
	struct revoke_req r;
	int rc;

	if (argc != 3)
		return usage_error("revoke needs STAFF and APPLIANCE");
	if (!ident_cn_valid(argv[1]) || !ident_cn_valid(argv[2]))
		return usage_error("STAFF and APPLIANCE are common names: 1-%d "
		    "printable characters, no spaces", IDENT_CN_MAX);
	r.staff = argv[1];
	r.appliance = argv[2];
	r.now_ms = util_now_ms();
	if ((rc = grants_edit(cfg->grants_file, r.now_ms, edit_revoke, &r,
	    &err)) != 0)
		return report_edit(rc, &err, cfg->grants_file);
	printf("revoked: %s may no longer reach %s\n", r.staff, r.appliance);
	return apply_now(cfg, r.staff, r.appliance, false);
}

static int
cmd_list(const struct hubconf *cfg, bool json)
{
	struct grants_error err;
	struct grants gs;
	int64_t now = util_now_ms();
	char exp[UTIL_TIME_LEN], span[64];
	json_t *out, *list, *o;
	size_t i;
	int rc;

	if ((rc = grants_load(cfg->grants_file, now, &gs, &err)) != 0)
		return report_edit(rc, &err, cfg->grants_file);
	if (json) {
		/* The file's own form, each grant with its state added. */
		char *text = grants_format(&gs);

		out = text ? json_loads(text, 0, NULL) : NULL;
		free(text);
		list = json_object_get(out, "grants");
		json_array_foreach(list, i, o) {
			(void)json_object_set_new(o, "active", json_boolean(
			    grants_active(&gs.v[i], now)));
			(void)json_object_set_new(o, "seconds_left",
			    json_integer(grants_active(&gs.v[i], now) ?
			    (gs.v[i].expires_ms - now) / 1000 : 0));
		}
		rc = out == NULL || json_dumpf(out, stdout, JSON_COMPACT) < 0;
		printf("\n");
		json_decref(out);
		grants_deinit(&gs);
		return rc ? fail("out of memory") : 0;
	}
	if (gs.n == 0)
		printf("no grants in %s\n", cfg->grants_file);
	for (i = 0; i < gs.n; i++) {
		const struct grant *g = &gs.v[i];

		format_span((g->expires_ms - now) / 1000, span, sizeof(span));
		printf("%s -> %s  until %s (%s%s)%s%s%s%s\n", g->staff,
		    g->appliance, util_time_fmt(exp, g->expires_ms, false),
		    grants_active(g, now) ? span : "expired",
		    grants_active(g, now) ? " left" : "",
		    g->case_ref[0] ? "  case " : "", g->case_ref,
		    g->by[0] ? "  by " : "", g->by);
	}
	grants_deinit(&gs);
	return 0;
}

static const char *
str(json_t *o, const char *key, const char *none)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : none;
}

static void
print_identities(json_t *list)
{
	json_t *id, *a;
	size_t i, k;

	printf("connected (%zu):\n", json_array_size(list));
	json_array_foreach(list, i, id) {
		printf("  %-24s %-9s ", str(id, "cn", "?"),
		    str(id, "role", "?"));
		json_array_foreach(json_object_get(id, "addresses"), k, a)
			printf("%s%s", k ? "," : "", json_string_value(a));
		if (json_array_size(json_object_get(id, "addresses")) == 0)
			printf("(no address yet)");
		printf("  from %s  since %s\n", str(id, "real_ip", "?"),
		    str(id, "since", "?"));
	}
}

static void
print_grants(json_t *list)
{
	json_t *g;
	char span[64];
	size_t i;

	printf("grants (%zu):\n", json_array_size(list));
	json_array_foreach(list, i, g) {
		format_span(json_integer_value(json_object_get(g,
		    "seconds_left")), span, sizeof(span));
		printf("  %s -> %s  until %s (%s left)  %s%s%s\n",
		    str(g, "staff", "?"), str(g, "appliance", "?"),
		    str(g, "expires", "?"), span,
		    json_is_true(json_object_get(g, "effective")) ?
		    "in effect" : "waiting for both to connect",
		    json_object_get(g, "case") && !json_is_null(
		    json_object_get(g, "case")) ? "  case " : "",
		    str(g, "case", ""));
	}
}

static int
cmd_status(const struct hubconf *cfg, bool json)
{
	json_t *a, *nft, *gf;
	char why[512];
	int rc;

	if ((a = ask(cfg, "status", why, sizeof(why))) == NULL)
		return fail("%s", why);
	rc = json_is_true(json_object_get(a, "ok")) ? 0 : 1;
	if (json) {
		if (json_dumpf(a, stdout, JSON_COMPACT) < 0)
			rc = 1;
		printf("\n");
	} else if (rc != 0)
		(void)fail("%s", str(a, "error", "the daemon refused"));
	else {
		nft = json_object_get(a, "nft");
		gf = json_object_get(a, "grants_file");
		printf("nftables: table inet %s: %s\n", str(nft, "table", "?"),
		    json_is_true(json_object_get(nft, "ok")) ? "up to date" :
		    str(nft, "error", "failing"));
		printf("grants file: %s: %s\n", str(gf, "path", "?"),
		    json_is_true(json_object_get(gf, "ok")) ? "good" :
		    str(gf, "error", "broken"));
		print_identities(json_object_get(a, "identities"));
		print_grants(json_object_get(a, "grants"));
	}
	json_decref(a);
	return rc;
}

/* "list" and "status" take --json and nothing else. */
static int
json_flag(int argc, char **argv, bool *json)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0)
			return usage_error("%s: unexpected '%s'", argv[0],
			    argv[i]);
		*json = true;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct hubconf_error err;
	struct hubconf cfg;
	const char *path = getenv(CLI_ENV_CONFIG), *cmd;
	bool json = false;
	int ch, rc;

	if (path == NULL || path[0] == '\0')
		path = HUBCONF_DEFAULT_PATH;
	/* "+": options stop at the command; each command has its own. */
	while ((ch = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf(CLI_NAME " %s\n", SUPPORTVPN_VERSION);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind >= argc)
		return usage_error("no command");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "grant") != 0 && strcmp(cmd, "revoke") != 0 &&
	    strcmp(cmd, "list") != 0 && strcmp(cmd, "status") != 0)
		return usage_error("unknown command '%s'", cmd);
	if ((strcmp(cmd, "list") == 0 || strcmp(cmd, "status") == 0) &&
	    (rc = json_flag(argc, argv, &json)) != 0)
		return rc;
	if (hubconf_load(&cfg, path, &err) < 0)
		return fail("%s", err.text);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(cmd, "grant") == 0)
		rc = cmd_grant(&cfg, argc, argv);
	else if (strcmp(cmd, "revoke") == 0)
		rc = cmd_revoke(&cfg, argc, argv);
	else if (strcmp(cmd, "list") == 0)
		rc = cmd_list(&cfg, json);
	else
		rc = cmd_status(&cfg, json);
	hubconf_deinit(&cfg);
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = 1;
	return rc;
}
