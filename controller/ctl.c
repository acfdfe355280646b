/* SPDX-License-Identifier: MIT */
/*
 * supportvpnctl: the command-line client of supportvpnd's JSON API
 * (docs/api.md). One connection per run: send a command, match its answer by
 * id, print it for people (or as JSON with --json). Exit 0 on success, 1 on
 * failure, 2 on a usage error. Plain POSIX sockets and poll, jansson. The
 * one local command, support-password, writes the support account's hash
 * file named by the daemon's configuration, without the daemon.
 */

#define _DEFAULT_SOURCE		/* explicit_bzero */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "password.h"
#include "supportvpn.h"
#include "token.h"
#include "util.h"

#define CTL_NAME		"supportvpnctl"
#define CTL_ENV_CONNECT		"SUPPORTVPNCTL_CONNECT"
#define CTL_TIMEOUT_S		10	/* default wait for an answer */
#define CTL_TIMEOUT_MAX_S	86400
#define CTL_WAIT_GRACE_S	5	/* start --wait: beyond the daemon's timeout */
#define CTL_LOG_LINES		20
#define CTL_LOG_LINES_MAX	1000	/* api.md: log "lines" is 1-1000 */
#define CTL_START_TIMEOUT_S	60	/* api.md: start "timeout_s" default */
#define CTL_START_TIMEOUT_MAX_S	3600	/* api.md: start "timeout_s" is 1-3600 */
#define CTL_LABEL_WIDTH		21	/* strlen("start when possible: ") */
#define CTL_HISTORY_RECORDS	20
#define CTL_HISTORY_MAX		1000	/* api.md: history "limit" is 1-1000 */
/* config.c: session.max_s is at most 365 days; longer never succeeds. */
#define CTL_DURATION_MAX_S	(365L * 86400)
#define CTL_BY_MAX		64	/* api.md: "by" is up to 64 characters */
#define CTL_ENV_CONFIG		"SUPPORTVPND_CONFIG"
#ifndef CTL_DEFAULT_CONFIG
#define CTL_DEFAULT_CONFIG	"/etc/supportvpn/supportvpnd.json"
#endif
/* A line from the daemon plus its newline. */
#define CTL_BUF_SIZE		(SUPPORTVPN_API_MAX_LINE + 1)
/* The shortest password support-password --set takes. */
#define CTL_PASSWORD_MIN	12

#define CTL_USAGE_LINE \
	"usage: " CTL_NAME " [--connect HOST:PORT] [--timeout SECONDS] [--json]" \
	"\n                     [--config PATH] [--token-file PATH]" \
	" COMMAND [ARGS]\n"

static const char usage_text[] =
	CTL_USAGE_LINE
	"\n"
	"Controls the support VPN through supportvpnd's API (default "
	SUPPORTVPN_API_DEFAULT_HOST ":%d,\n"
	"or $" CTL_ENV_CONNECT ").\n"
	"\n"
	"commands:\n"
	"  status                  VPN state, the support session and its end,\n"
	"                          openvpn and the tunnel\n"
	"  start [--when-possible] [--duration TIME] [--wait] "
	"[--timeout SECONDS]\n"
	"                          start the VPN now, or with --when-possible\n"
	"                          whenever the prerequisites hold (persisted);\n"
	"                          --duration: the support session ends TIME\n"
	"                          after the start (--when-possible: after it\n"
	"                          connects); 0: no end, if the appliance allows\n"
	"                          it; default: the appliance's session length;\n"
	"                          --wait shows the progress and waits until\n"
	"                          connected or failed (at most SECONDS, "
	"default %d)\n"
	"  stop                    stop the VPN, end the support session, clear\n"
	"                          \"start when possible\"\n"
	"  extend [TIME]           move the end of the support session TIME later\n"
	"                          (default: the appliance's session length)\n"
	"  history [-n N]          the support sessions' history, newest first:\n"
	"                          who started them, hubs, logins, ends (N\n"
	"                          records, default %d, at most %d)\n"
	"  checks [--refresh]      the prerequisite lights in the manual's two\n"
	"                          groups (--refresh: check again now); exit 1\n"
	"                          when one fails\n"
	"  log [-n N] [-f]         the newest N log lines (default %d, at most "
	"%d);\n"
	"                          -f then follows new lines until Ctrl-C\n"
	"  watch [EVENT...]        print events until Ctrl-C (state, openvpn,\n"
	"                          log, checks, peer, session; default all)\n"
	"  version                 versions of supportvpnd and its parts\n"
	"  openvpn COMMAND...      a read-only openvpn management command\n"
	"                          (status, state, version, pid, log N, help)\n"
	"  auth USER [--from ADDR] [--quiet]\n"
	"                          check a support login; the password comes on\n"
	"                          standard input, up to a newline or a NUL; exit\n"
	"                          0 if granted, 1 if not (the reason on stderr\n"
	"                          unless --quiet). For pam_exec expose_authtok:\n"
	"                          USER '-' is $PAM_USER, ADDR defaults to\n"
	"                          $PAM_RHOST\n"
	"  support-password --generate | --set [--config PATH]\n"
	"                          local, as root, no daemon needed: --generate\n"
	"                          makes a password and shows it this once;\n"
	"                          --set reads one from standard input (asks\n"
	"                          twice on a terminal). Only its hash is kept,\n"
	"                          in supportvpnd's state_dir; PATH is\n"
	"                          supportvpnd's configuration (default\n"
	"                          $" CTL_ENV_CONFIG ", else\n"
	"                          " CTL_DEFAULT_CONFIG ")\n"
	"\n"
	"TIME: seconds, or a number with s, m, h or d (90s, 30m, 8h, 2d).\n"
	"\n"
	"start, stop, extend and auth change the support VPN and send\n"
	"supportvpnd's API token, read from the file its configuration names\n"
	"(api.token_file; readable by root and the group api.token_group).\n"
	"\n"
	"options:\n"
	"  --connect HOST:PORT     API address; [::1]:7515 for IPv6\n"
	"  --config PATH           supportvpnd's configuration, for the token\n"
	"                          file (default $" CTL_ENV_CONFIG ", else\n"
	"                          " CTL_DEFAULT_CONFIG ")\n"
	"  --token-file PATH       read the API token from PATH instead\n"
	"  --timeout SECONDS       how long to wait for an answer (default %d;\n"
	"                          start --wait: its timeout + %d)\n"
	"  --json                  results as JSON, events as JSON lines\n"
	"  -h, --help              this help\n"
	"\n"
	"exit status: 0 success, 1 failure (error answer, no connection),"
	" 2 usage error\n";

struct ctl;

/* Called for each event line; ev and raw are borrowed for the call. */
typedef void (*event_fn)(struct ctl *ctl, json_t *ev, const char *raw);

struct command {
	const char	*name;
	const char	*args;		/* for usage messages */
	int		(*run)(struct ctl *ctl, int argc, char **argv);
	bool		 local;		/* works without the API */
	bool		 token;		/* changes state: sends the API token */
};

/* The connection to the daemon with its bounded line buffer. */
struct conn {
	int		 fd;
	char		*buf;		/* CTL_BUF_SIZE bytes */
	size_t		 off;		/* first unread byte */
	size_t		 scan;		/* bytes from off known to hold no '\n' */
	size_t		 len;		/* end of the buffered bytes */
};

struct ctl {
	char		 addr[300];	/* as the user gave it, for messages */
	char		 host[256];
	char		 port[6];
	int		 timeout_s;	/* --timeout; 0: each command's default */
	int		 wait_s;	/* the wait in force, for messages */
	const char	*config;	/* --config, NULL: not given */
	const char	*token_file;	/* --token-file, NULL: not given */
	char		 token[TOKEN_LEN + 1];	/* "" until read */
	bool		 json;
	const struct command *cmd;
	struct conn	 conn;
	json_int_t	 next_id;
};

/* A line of output being built; line_put() writes it sanitised. */
struct line {
	char		*buf;
	size_t		 len;
	size_t		 cap;
};

static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
	interrupted = 1;
}

static void
die_oom(void)
{
	fputs(CTL_NAME ": out of memory\n", stderr);
	exit(1);
}

/*
 * Overwrites the bytes of a JSON string that held a password or a token,
 * as jansson frees them without wiping. The caller holds the only
 * reference.
 */
static void
json_string_wipe(json_t *s)
{
	char	*p = (char *)(uintptr_t)json_string_value(s);

	if (p != NULL)
		explicit_bzero(p, json_string_length(s));
}

/* ---- output ---------------------------------------------------------- */

static void line_addv(struct line *l, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void line_add(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void outf(FILE *fp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ctl_err(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int usage_error(const struct ctl *ctl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
line_addv(struct line *l, const char *fmt, va_list ap)
{
	va_list	 ap2;
	size_t	 need, cap;
	char	*p;
	int	 n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;		/* an encoding error; nothing sensible to add */
	need = l->len + (size_t)n + 1;
	if (need > l->cap) {
		cap = l->cap ? l->cap : 128;
		while (cap < need)
			cap *= 2;
		if ((p = realloc(l->buf, cap)) == NULL)
			die_oom();
		l->buf = p;
		l->cap = cap;
	}
	(void)vsnprintf(l->buf + l->len, l->cap - l->len, fmt, ap);
	l->len += (size_t)n;
}

static void
line_add(struct line *l, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	line_addv(l, fmt, ap);
	va_end(ap);
}

/*
 * Text from the daemon may carry what a hub put in its certificate; replace
 * control characters (C0, DEL, and C1 encoded in UTF-8) so they cannot drive
 * the terminal. Returns the new length.
 */
static size_t
sanitize(char *s, size_t len)
{
	unsigned char	 c;
	size_t		 i, j;

	for (i = j = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			c = '?';
		else if (c == 0xc2 && i + 1 < len &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f) {
			c = '?';
			i++;
		}
		s[j++] = (char)c;
	}
	return j;
}

/* Writes the line, sanitised, with a newline; empties it for reuse. */
static void
line_put(struct line *l, FILE *fp)
{
	if (l->len > 0)
		(void)fwrite(l->buf, 1, sanitize(l->buf, l->len), fp);
	(void)putc('\n', fp);	/* write errors are checked once, at exit */
	l->len = 0;
}

static void
line_free(struct line *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}

/* Prints one formatted, sanitised line. */
static void
outf(FILE *fp, const char *fmt, ...)
{
	struct line	 l = { 0 };
	va_list		 ap;

	va_start(ap, fmt);
	line_addv(&l, fmt, ap);
	va_end(ap);
	line_put(&l, fp);
	line_free(&l);
}

/* Prints "supportvpnctl: <message>" on stderr. */
static void
ctl_err(const char *fmt, ...)
{
	struct line	 l = { 0 };
	va_list		 ap;

	line_add(&l, "%s: ", CTL_NAME);
	va_start(ap, fmt);
	line_addv(&l, fmt, ap);
	va_end(ap);
	line_put(&l, stderr);
	line_free(&l);
}

static void
usage(FILE *fp)
{
	fprintf(fp, usage_text, SUPPORTVPN_API_DEFAULT_PORT, CTL_START_TIMEOUT_S,
	    CTL_HISTORY_RECORDS, CTL_HISTORY_MAX, CTL_LOG_LINES,
	    CTL_LOG_LINES_MAX, CTL_TIMEOUT_S, CTL_WAIT_GRACE_S);
}

/* Reports a usage error with the synopsis of the command at hand; 2. */
static int
usage_error(const struct ctl *ctl, const char *fmt, ...)
{
	struct line	 l = { 0 };
	va_list		 ap;

	line_add(&l, "%s: ", CTL_NAME);
	va_start(ap, fmt);
	line_addv(&l, fmt, ap);
	va_end(ap);
	line_put(&l, stderr);
	line_free(&l);
	if (ctl->cmd != NULL)
		fprintf(stderr, "usage: %s [OPTIONS] %s%s%s\n", CTL_NAME,
		    ctl->cmd->name, ctl->cmd->args[0] ? " " : "",
		    ctl->cmd->args);
	else
		fputs(CTL_USAGE_LINE, stderr);
	fprintf(stderr, "Run '%s --help' for the commands and options.\n",
	    CTL_NAME);
	return 2;
}

/* Prints a JSON value, pretty (a result) or on one line (a stream). */
static void
print_json(json_t *v, bool pretty)
{
	if (json_dumpf(v, stdout, pretty ? JSON_INDENT(2) : JSON_COMPACT) != 0)
		return;	/* a write error; checked once, at exit */
	(void)putchar('\n');
}

/* ---- small parsers and formatters --------------------------------------- */

/* Decimal in [min, max] with nothing after it. */
static bool
parse_long(const char *s, long min, long max, long *out)
{
	char	*end;
	long	 v;

	if (s[0] == '\0' || s[0] == ' ' || s[0] == '+')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/*
 * A span of time in [min, max] seconds: a decimal number of seconds, or one
 * with a unit, s, m, h or d ("30m", "8h", "2d").
 */
static bool
parse_duration(const char *s, long min, long max, long *out)
{
	static const char	 units[] = "smhd";
	static const long	 secs[] = { 1, 60, 3600, 86400 };
	const char		*u;
	char			*end;
	long			 v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0)
		return false;
	if (*end != '\0') {
		if (end[1] != '\0' || (u = strchr(units, *end)) == NULL)
			return false;
		if (v > max / secs[u - units])
			return false;
		v *= secs[u - units];
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/*
 * Splits "HOST:PORT" or "[IPv6]:PORT". Returns NULL, or why not (a constant
 * string).
 */
static const char *
parse_hostport(const char *s, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char	*h, *colon;
	size_t		 n;
	long		 p;

	if (s[0] == '[') {
		h = s + 1;
		if ((colon = strchr(h, ']')) == NULL)
			return "no ']' after the IPv6 address";
		n = (size_t)(colon - h);
		if (*++colon != ':')
			return "no ':PORT' after the ']'";
	} else {
		h = s;
		if ((colon = strrchr(s, ':')) == NULL)
			return "no ':PORT'";
		n = (size_t)(colon - h);
		if (memchr(h, ':', n) != NULL)
			return "an IPv6 address needs brackets, as in [::1]:7515";
	}
	if (n == 0)
		return "no host";
	if (n >= hostlen)
		return "the host name is too long";
	if (!parse_long(colon + 1, 1, 65535, &p))
		return "the port is not a number from 1 to 65535";
	memcpy(host, h, n);
	host[n] = '\0';
	(void)snprintf(port, portlen, "%ld", p);
	return NULL;
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);	/* cannot fail */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long long
days_from_civil(long long y, int m, int d)
{
	long long	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* An RFC 3339 date-time ("2026-11-27T01:19:08Z", fraction, offset). */
static bool
parse_rfc3339(const char *s, time_t *out)
{
	int		 y, mo, d, h, mi, sec, oh, om, n = 0;
	long long	 t, off = 0;
	char		 sep;
	const char	*p;

	if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h,
	    &mi, &sec, &n) != 7 || n == 0)
		return false;
	if ((sep != 'T' && sep != 't' && sep != ' ') || mo < 1 || mo > 12 ||
	    d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    h < 0 || mi < 0 || sec < 0)
		return false;
	p = s + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			continue;
	if (*p == '+' || *p == '-') {
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return false;
		off = (oh * 60LL + om) * 60 * (*p == '-' ? -1 : 1);
	} else if (*p != 'Z' && *p != 'z')
		return false;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600LL + mi * 60 + sec;
	*out = (time_t)(t - off);
	return true;
}

/* "42 s", "5 min 3 s", "8 h", "2 d 3 h": the two largest units. */
static void
format_duration(long long s, char *buf, size_t len)
{
	static const long long	 secs[] = { 86400, 3600, 60, 1 };
	static const char *const names[] = { "d", "h", "min", "s" };
	size_t			 u = 0;
	long long		 rest;

	while (u < 3 && s < secs[u])
		u++;
	rest = u < 3 ? s % secs[u] / secs[u + 1] : 0;
	if (rest == 0)
		(void)snprintf(buf, len, "%lld %s", s / secs[u], names[u]);
	else
		(void)snprintf(buf, len, "%lld %s %lld %s", s / secs[u],
		    names[u], rest, names[u + 1]);
}

static void
format_bytes(double v, char *buf, size_t len)
{
	static const char *const units[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB"
	};
	size_t	 u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		(void)snprintf(buf, len, "%.0f B", v);
	else
		(void)snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* ---- JSON accessors (results borrowed from obj) -------------------------- */

static const char *
jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static bool
jint(const json_t *obj, const char *key, json_int_t *out)
{
	json_t	*v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

/* Appends a value in words: a string as it is, anything else as JSON. */
static void
line_add_value(struct line *l, json_t *v)
{
	char	*s;

	if (json_is_string(v)) {
		line_add(l, "%s", json_string_value(v));
		return;
	}
	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		die_oom();
	line_add(l, "%s", s);
	free(s);
}

/* Appends " key=value" for each member but those named in skip. */
static void
line_add_fields(struct line *l, json_t *obj, const char *const *skip)
{
	const char		*key;
	const char *const	*sk;
	json_t			*v;

	json_object_foreach(obj, key, v) {
		for (sk = skip; *sk != NULL && strcmp(*sk, key) != 0; sk++)
			continue;
		if (*sk != NULL)
			continue;
		line_add(l, " %s=", key);
		line_add_value(l, v);
	}
}

/* ---- the connection ---------------------------------------------------- */

/* Waits until fd is ready for events; 0, -ETIMEDOUT, -EINTR or -errno. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd	 pfd = { .fd = fd, .events = events };
	int64_t		 left;
	int		 ms, n;

	for (;;) {
		if (interrupted)
			return -EINTR;
		ms = -1;
		if (deadline >= 0) {
			if ((left = deadline - now_ms()) <= 0)
				return -ETIMEDOUT;
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		/* Errors and hang-ups count as ready: the next call says. */
		if ((n = poll(&pfd, 1, ms)) > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -errno;
	}
}

/* A connected non-blocking socket, or -errno. */
static int
connect_one(const struct addrinfo *ai, int64_t deadline)
{
	socklen_t	 len = sizeof(int);
	int		 fd, err, rc;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	err = errno;
	if (err == EINPROGRESS || err == EINTR) {
		if ((rc = wait_fd(fd, POLLOUT, deadline)) < 0)
			err = -rc;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
	}
	if (err == 0)
		return fd;
	(void)close(fd);
	return -err;
}

/* Deadline for an answer: --timeout, else the command's default. */
static int64_t
ctl_deadline(struct ctl *ctl, int default_s)
{
	ctl->wait_s = ctl->timeout_s > 0 ? ctl->timeout_s : default_s;
	return now_ms() + (int64_t)ctl->wait_s * 1000;
}

/* supportvpnd's configuration: --config, $SUPPORTVPND_CONFIG, default. */
static const char *
config_path(const struct ctl *ctl)
{
	const char	*p = ctl->config;

	if (p == NULL && ((p = getenv(CTL_ENV_CONFIG)) == NULL || *p == '\0'))
		p = CTL_DEFAULT_CONFIG;
	return p;
}

/* The token file's path into path: --token-file, else api.token_file of
 * supportvpnd's configuration. 0, or 1 after saying why not. */
static int
token_path(struct ctl *ctl, char *path, size_t len)
{
	struct config_error	 err;
	struct config		 cfg;
	int			 n;

	if (ctl->token_file != NULL)
		n = snprintf(path, len, "%s", ctl->token_file);
	else if (config_load(&cfg, config_path(ctl), &err) != 0) {
		ctl_err("%s needs supportvpnd's API token, but its "
		    "configuration, which names the token file, cannot be "
		    "read: %s (--config PATH names it, --token-file PATH the "
		    "token file)", ctl->cmd->name, err.text);
		return 1;
	} else {
		n = snprintf(path, len, "%s", cfg.api_token_file);
		config_deinit(&cfg);
	}
	if (n < 0 || (size_t)n >= len) {
		ctl_err("the token file's path is too long");
		return 1;
	}
	return 0;
}

/*
 * Reads the API token for a command that changes state. 0, or 1 after
 * telling the user why not (a user who may not read it is told so).
 */
static int
ctl_load_token(struct ctl *ctl)
{
	char		 path[PATH_MAX], buf[TOKEN_LEN + 2];
	ssize_t		 n;
	int		 fd, rc = 0;

	if (token_path(ctl, path, sizeof(path)) != 0)
		return 1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		ctl_err("%s needs supportvpnd's API token, but %s cannot be "
		    "read: %s%s", ctl->cmd->name, path, strerror(errno),
		    errno == EACCES ? " (it is for root and the group "
		    "api.token_group names)" : "");
		return 1;
	}
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		ctl_err("cannot read the API token from %s: %s", path,
		    strerror(errno));
		rc = 1;
	} else if (!token_parse(buf, (size_t)n, ctl->token)) {
		ctl_err("%s holds no API token (64 hex digits)", path);
		rc = 1;
	}
	explicit_bzero(buf, sizeof(buf));
	(void)close(fd);
	return rc;
}

/* Connects to the daemon; 0, or 1 after telling the user why not. */
static int
ctl_connect(struct ctl *ctl)
{
	struct addrinfo	 hints = { 0 }, *res, *ai;
	int64_t		 deadline;
	int		 rc, fd = -ECONNREFUSED;

	if (ctl->cmd->token && ctl_load_token(ctl) != 0)
		return 1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(ctl->host, ctl->port, &hints, &res)) != 0) {
		ctl_err("cannot resolve '%s' (from %s): %s", ctl->host,
		    ctl->addr, rc == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(rc));
		return 1;
	}
	deadline = ctl_deadline(ctl, CTL_TIMEOUT_S);
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if ((fd = connect_one(ai, deadline)) >= 0 || fd == -EINTR)
			break;
	freeaddrinfo(res);
	if (fd == -EINTR) {
		ctl_err("interrupted");
		return 1;
	}
	if (fd < 0) {
		ctl_err("cannot connect to %s: %s%s", ctl->addr, strerror(-fd),
		    fd == -ECONNREFUSED ? " (is supportvpnd running?)" : "");
		return 1;
	}
	if ((ctl->conn.buf = malloc(CTL_BUF_SIZE)) == NULL)
		die_oom();
	ctl->conn.fd = fd;
	return 0;
}

static void
ctl_close(struct ctl *ctl)
{
	if (ctl->conn.fd >= 0)
		(void)close(ctl->conn.fd);	/* nothing left to flush */
	ctl->conn.fd = -1;
	free(ctl->conn.buf);
	ctl->conn.buf = NULL;
}

/*
 * Reads one line. Returns 1 with *line (NUL-terminated, without '\n',
 * borrowed until the next call), 0 at end of file, or -ETIMEDOUT, -EINTR,
 * -EMSGSIZE (longer than the API allows) or -errno.
 */
static int
conn_read_line(struct conn *c, int64_t deadline, char **line, size_t *len)
{
	char	*nl;
	ssize_t	 n;
	int	 rc;

	for (;;) {
		nl = memchr(c->buf + c->off + c->scan, '\n',
		    c->len - c->off - c->scan);
		if (nl != NULL) {
			*nl = '\0';
			*line = c->buf + c->off;
			*len = (size_t)(nl - *line);
			c->off = (size_t)(nl - c->buf) + 1;
			c->scan = 0;
			return 1;
		}
		c->scan = c->len - c->off;
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == CTL_BUF_SIZE)
			return -EMSGSIZE;
		if ((rc = wait_fd(c->fd, POLLIN, deadline)) < 0)
			return rc;
		n = read(c->fd, c->buf + c->len, CTL_BUF_SIZE - c->len);
		if (n == 0)
			return 0;	/* a partial last line is dropped */
		if (n > 0)
			c->len += (size_t)n;
		else if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return -errno;
	}
}

/* Writes all of buf; 0 or -errno (-EINTR, -ETIMEDOUT). */
static int
conn_write(struct conn *c, const char *buf, size_t len, int64_t deadline)
{
	ssize_t	 n;
	int	 rc;

	while (len > 0) {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0) {
			buf += n;
			len -= (size_t)n;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR) {
			if ((rc = wait_fd(c->fd, POLLOUT, deadline)) < 0)
				return rc;
		} else
			return -errno;
	}
	return 0;
}

/* ---- requests and answers ---------------------------------------------- */

/* Tells the user why reading stopped (rc from conn_read_line); 1. */
static int
report_read(struct ctl *ctl, int rc, bool answering)
{
	switch (rc) {
	case 0:
		ctl_err("supportvpnd at %s closed the connection%s", ctl->addr,
		    answering ? " before answering; see its log" : "");
		break;
	case -ETIMEDOUT:
		ctl_err("no answer from supportvpnd at %s within %d s "
		    "(--timeout SECONDS waits longer)", ctl->addr, ctl->wait_s);
		break;
	case -EINTR:
		ctl_err("interrupted");
		break;
	case -EMSGSIZE:
		ctl_err("supportvpnd at %s sent a line longer than %d KiB; "
		    "giving up", ctl->addr, SUPPORTVPN_API_MAX_LINE / 1024);
		break;
	default:
		ctl_err("cannot read from %s: %s", ctl->addr, strerror(-rc));
		break;
	}
	return 1;
}

/*
 * Next JSON object from the daemon; lines that are not one are skipped.
 * Returns 1 with *msg (new) and *raw (borrowed until the next read), else
 * what conn_read_line returned.
 */
static int
ctl_next(struct ctl *ctl, int64_t deadline, json_t **msg, const char **raw)
{
	json_error_t	 jerr;
	size_t		 len = 0;
	char		*line = NULL;
	int		 rc;

	for (;;) {
		if ((rc = conn_read_line(&ctl->conn, deadline, &line, &len)) <= 0)
			return rc;
		*msg = json_loadb(line, len, 0, &jerr);
		if (json_is_object(*msg)) {
			*raw = line;
			return 1;
		}
		json_decref(*msg);
	}
}

/*
 * Sends req (stolen, NULL allowed: out of memory) with the next id, stored
 * in *id. 0, or 1 after telling the user why not.
 */
static int
ctl_send(struct ctl *ctl, json_t *req, json_int_t *id)
{
	char	*text;
	size_t	 len;
	int	 rc;

	*id = ctl->next_id++;
	if (req == NULL || json_object_set_new(req, "id", json_integer(*id)))
		die_oom();
	/* Every request of a command that changes state carries it. */
	if (ctl->token[0] != '\0' && json_object_set_new(req, "token",
	    json_string(ctl->token)) != 0)
		die_oom();
	text = json_dumps(req, JSON_COMPACT);
	json_string_wipe(json_object_get(req, "token"));
	json_decref(req);
	if (text == NULL)
		die_oom();
	len = strlen(text);
	if (len >= SUPPORTVPN_API_MAX_LINE) {
		ctl_err("the request is too long (%zu bytes; the API takes "
		    "lines up to %d KiB)", len, SUPPORTVPN_API_MAX_LINE / 1024);
		free(text);
		return 1;
	}
	text[len] = '\n';	/* replaces the NUL; the length is kept */
	rc = conn_write(&ctl->conn, text, len + 1, ctl_deadline(ctl,
	    CTL_TIMEOUT_S));
	explicit_bzero(text, len + 1);	/* auth sends a password */
	free(text);
	if (rc == -EINTR)
		ctl_err("interrupted");
	else if (rc < 0)
		ctl_err("cannot send to supportvpnd at %s: %s", ctl->addr,
		    rc == -EPIPE || rc == -ECONNRESET ?
		    "it closed the connection" : strerror(-rc));
	return rc < 0 ? 1 : 0;
}

/* An answer's outcome: 0 with *result (new), or 1 after saying why not. */
static int
answer_result(struct ctl *ctl, json_t *msg, json_t **result)
{
	json_t		*ok, *res, *err;
	const char	*code, *text;

	ok = json_object_get(msg, "ok");
	res = json_object_get(msg, "result");
	if (json_is_true(ok) && res != NULL) {
		*result = json_incref(res);
		return 0;
	}
	if (!json_is_false(ok)) {
		ctl_err("supportvpnd at %s sent a malformed answer", ctl->addr);
		return 1;
	}
	err = json_object_get(msg, "error");
	code = jstr(err, "code");
	text = jstr(err, "message");
	ctl_err("%s: %s", code ? code : "error", text ? text : "(no message)");
	return 1;
}

static bool
is_id(const json_t *jid, json_int_t id)
{
	return json_is_integer(jid) && json_integer_value(jid) == id;
}

/*
 * Reads until the answer to id arrives, handing events to fn (NULL: drop).
 * An error without an id (busy, line_too_long, shutting_down) concerns the
 * whole connection, so it answers too. 0 with *result (new), else 1 after
 * telling the user why.
 */
static int
ctl_await(struct ctl *ctl, json_int_t id, int64_t deadline, event_fn fn,
    json_t **result)
{
	const char	*raw;
	json_t		*msg, *jid;
	int		 rc;

	for (;;) {
		if ((rc = ctl_next(ctl, deadline, &msg, &raw)) <= 0)
			return report_read(ctl, rc, true);
		jid = json_object_get(msg, "id");
		if (json_object_get(msg, "event") != NULL) {
			if (fn != NULL)
				fn(ctl, msg, raw);
		} else if (jid != NULL ? is_id(jid, id) :
		    json_is_false(json_object_get(msg, "ok"))) {
			rc = answer_result(ctl, msg, result);
			json_decref(msg);
			return rc;
		}
		json_decref(msg);
	}
}

/* Sends req (stolen) and waits up to default_s (or --timeout) for it. */
static int
ctl_call(struct ctl *ctl, json_t *req, int default_s, event_fn fn,
    json_t **result)
{
	json_int_t	 id;

	if (ctl_send(ctl, req, &id) != 0)
		return 1;
	return ctl_await(ctl, id, ctl_deadline(ctl, default_s), fn, result);
}

/* Hands events to fn until Ctrl-C (0) or the connection ends (1). */
static int
ctl_follow(struct ctl *ctl, event_fn fn)
{
	const char	*raw;
	json_t		*msg;
	int		 rc;

	for (;;) {
		if ((rc = ctl_next(ctl, -1, &msg, &raw)) == -EINTR)
			return 0;
		if (rc <= 0)
			return report_read(ctl, rc, false);
		if (json_object_get(msg, "event") != NULL)
			fn(ctl, msg, raw);
		json_decref(msg);
	}
}

/* ---- printing results and events --------------------------------------- */

static void
field(const char *label, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One "label:  value" line of the status. */
static void
field(const char *label, const char *fmt, ...)
{
	struct line	 l = { 0 };
	va_list		 ap;

	line_add(&l, "%-*s", CTL_LABEL_WIDTH, label);
	va_start(ap, fmt);
	line_addv(&l, fmt, ap);
	va_end(ap);
	line_put(&l, stdout);
	line_free(&l);
}

static const char *
or_unknown(const char *s)
{
	return s != NULL ? s : "unknown";
}

static void
print_openvpn(json_t *ov)
{
	struct line	 l = { 0 };
	json_int_t	 pid;
	const char	*state = jstr(ov, "state");

	line_add(&l, "%-*s", CTL_LABEL_WIDTH, "openvpn:");
	if (!json_is_object(ov))
		line_add(&l, "unknown");
	else if (!json_is_true(json_object_get(ov, "running")))
		line_add(&l, "not running");
	else {
		line_add(&l, "running");
		if (jint(ov, "pid", &pid))
			line_add(&l, ", pid %" JSON_INTEGER_FORMAT, pid);
		if (state != NULL)
			line_add(&l, ", state %s", state);
		else
			line_add(&l, ", no state yet");
		line_add(&l, json_is_true(json_object_get(ov, "held")) ?
		    ", held" : ", not held");
	}
	line_put(&l, stdout);
	line_free(&l);
}

static void
print_tunnel(json_t *t)
{
	json_int_t	 port;
	json_t		*in, *out;
	char		 bin[32], bout[32];

	field("tunnel local ip:", "%s", or_unknown(jstr(t, "local_ip")));
	if (jint(t, "server_port", &port))
		field("tunnel server:", "%s:%" JSON_INTEGER_FORMAT,
		    or_unknown(jstr(t, "server_ip")), port);
	else
		field("tunnel server:", "%s", or_unknown(jstr(t, "server_ip")));
	field("server cn:", "%s", or_unknown(jstr(t, "server_cn")));
	field("server fingerprint:", "%s",
	    or_unknown(jstr(t, "server_fingerprint")));
	in = json_object_get(t, "bytes_in");
	out = json_object_get(t, "bytes_out");
	if (json_is_number(in) && json_is_number(out)) {
		format_bytes(json_number_value(in), bin, sizeof(bin));
		format_bytes(json_number_value(out), bout, sizeof(bout));
		field("bytes in / out:", "%s / %s", bin, bout);
	}
}

/* One line for status: all green, or the first red light. */
static void
print_checks_line(json_t *set)
{
	json_t		*it;
	size_t		 i;

	if (!json_is_object(set))
		return;
	if (json_is_false(json_object_get(set, "enabled"))) {
		field("checks:", "off (no vendor cloud configured)");
		return;
	}
	if (jstr(set, "checked_at") == NULL) {
		field("checks:", "not run yet");
		return;
	}
	json_array_foreach(json_object_get(set, "items"), i, it)
		if (!json_is_true(json_object_get(it, "ok"))) {
			field("checks:", "%s failed: %s",
			    or_unknown(jstr(it, "name")),
			    or_unknown(jstr(it, "detail")));
			return;
		}
	field("checks:", "all passed (at %s)", jstr(set, "checked_at"));
}

/* ---- support sessions in words ------------------------------------------ */

/* The words for one kind of record or event; obj borrowed. */
struct describer {
	const char	*name;
	void		(*fn)(struct line *l, json_t *obj);
};

/*
 * Appends when a session ends: "2026-11-27T06:00:00Z", with relative also
 * " (in 2 h 59 min)"; "8 h after it connects" while the clock has not
 * started (no expires_at but a duration_s); else "never".
 */
static void
line_add_end(struct line *l, json_t *expires_at, json_t *duration_s,
    bool relative)
{
	const char	*at = json_string_value(expires_at);
	char		 span[64];
	time_t		 t, now = time(NULL);

	if (at != NULL) {
		line_add(l, "%s", at);
		if (!relative || !parse_rfc3339(at, &t))
			return;
		if (t <= now) {
			line_add(l, " (now)");
			return;
		}
		format_duration((long long)(t - now), span, sizeof(span));
		line_add(l, " (in %s)", span);
	} else if (json_is_integer(duration_s) &&
	    json_integer_value(duration_s) > 0) {
		format_duration((long long)json_integer_value(duration_s), span,
		    sizeof(span));
		line_add(l, "%s after it connects", span);
	} else
		line_add(l, "never");
}

/*
 * Appends " by root as \"supportvpnctl (uid 0 root)\"" from a "by" object:
 * who the daemon saw, then what the client said; nothing without one.
 */
static void
line_add_by(struct line *l, json_t *by)
{
	const char	*as = jstr(by, "as"), *who = jstr(by, "user");
	json_int_t	 uid;
	size_t		 start;

	if (by == NULL || json_is_null(by))
		return;
	line_add(l, " by ");
	start = l->len;
	if (!json_is_object(by))
		line_add_value(l, by);
	else if (who != NULL)
		line_add(l, "%s", who);
	else if (jint(by, "uid", &uid))
		line_add(l, "uid %" JSON_INTEGER_FORMAT, uid);
	else if ((who = jstr(by, "peer")) != NULL)
		line_add(l, "%s", who);
	else if ((who = jstr(by, "via")) != NULL)
		line_add(l, "%s", strcmp(who, "settings") == 0 ?
		    "the saved settings" : who);
	if (as != NULL)
		line_add(l, "%s\"%s\"", l->len > start ? " as " : "", as);
	else if (l->len == start)
		line_add(l, "unknown");
}

/* Appends ", 1.2 MiB in, 300.0 KiB out" when obj has the byte counts. */
static void
line_add_traffic(struct line *l, json_t *obj)
{
	json_t	*in = json_object_get(obj, "bytes_in");
	json_t	*out = json_object_get(obj, "bytes_out");
	char	 bin[32], bout[32];

	if (!json_is_number(in) || !json_is_number(out))
		return;
	format_bytes(json_number_value(in), bin, sizeof(bin));
	format_bytes(json_number_value(out), bout, sizeof(bout));
	line_add(l, ", %s in, %s out", bin, bout);
}

/* "login support from 10.8.0.6: denied (wrong password)" */
static void
line_add_login(struct line *l, json_t *obj)
{
	const char	*from = jstr(obj, "from"), *reason = jstr(obj, "reason");
	bool		 granted = json_is_true(json_object_get(obj, "granted"));

	line_add(l, "login %s", or_unknown(jstr(obj, "user")));
	if (from != NULL)
		line_add(l, " from %s", from);
	line_add(l, ": %s", granted ? "granted" : "denied");
	if (!granted && reason != NULL && *reason)
		line_add(l, " (%s)", reason);
}

/* "disconnected (hub_lost): detail" and "ended (expired): detail". */
static void
line_add_why(struct line *l, const char *what, json_t *obj)
{
	const char	*why = jstr(obj, "why"), *detail = jstr(obj, "detail");

	line_add(l, "%s", what);
	if (why != NULL)
		line_add(l, " (%s)", why);
	if (strcmp(what, "ended") == 0)
		line_add_by(l, json_object_get(obj, "by"));
	if (detail != NULL && *detail)
		line_add(l, ": %s", detail);
}

/* "hub1.support.example (198.51.100.1:1194)", or the address alone. */
static void
line_add_hub(struct line *l, json_t *rec)
{
	const char	*cn = jstr(rec, "hub_cn");
	json_int_t	 port;

	if (cn != NULL)
		line_add(l, "%s (", cn);
	line_add(l, "%s", or_unknown(jstr(rec, "hub_ip")));
	if (jint(rec, "hub_port", &port))
		line_add(l, ":%" JSON_INTEGER_FORMAT, port);
	if (cn != NULL)
		line_add(l, ")");
}

static bool
is_when_possible(json_t *obj)
{
	const char	*how = jstr(obj, "how");

	return how != NULL && strcmp(how, "when_possible") == 0;
}

static void
rec_activated(struct line *l, json_t *rec)
{
	line_add(l, "activated %s", is_when_possible(rec) ?
	    "to start when possible" : "now");
	line_add_by(l, json_object_get(rec, "by"));
	line_add(l, ", ends ");
	line_add_end(l, json_object_get(rec, "expires_at"),
	    json_object_get(rec, "duration_s"), false);
}

static void
rec_armed(struct line *l, json_t *rec)
{
	line_add(l, "switched to start when possible");
	line_add_by(l, json_object_get(rec, "by"));
}

static void
rec_connected(struct line *l, json_t *rec)
{
	line_add(l, "connected to ");
	line_add_hub(l, rec);
	line_add(l, ", tunnel %s, ends ", or_unknown(jstr(rec, "tunnel_ip")));
	line_add_end(l, json_object_get(rec, "expires_at"), NULL, false);
}

static void
rec_disconnected(struct line *l, json_t *rec)
{
	line_add_why(l, "disconnected", rec);
	line_add_traffic(l, rec);
}

static void
rec_extended(struct line *l, json_t *rec)
{
	json_int_t	 added;
	char		 span[64];

	line_add(l, "extended");
	if (jint(rec, "added_s", &added)) {
		format_duration((long long)added, span, sizeof(span));
		line_add(l, " (+%s)", span);
	}
	line_add_by(l, json_object_get(rec, "by"));
	line_add(l, ", ends ");
	line_add_end(l, json_object_get(rec, "expires_at"),
	    json_object_get(rec, "duration_s"), false);
}

static void
rec_ended(struct line *l, json_t *rec)
{
	json_int_t	 n;

	line_add_why(l, "ended", rec);
	line_add_traffic(l, rec);
	if (jint(rec, "logins", &n))
		line_add(l, ", %" JSON_INTEGER_FORMAT " login%s", n,
		    n == 1 ? "" : "s");
}

static void
rec_resumed(struct line *l, json_t *rec)
{
	const char	*at = jstr(rec, "expires_at");

	/* No end time yet may mean no end, or a clock not started. */
	line_add(l, "resumed after supportvpnd started again");
	if (at != NULL)
		line_add(l, ", ends %s", at);
}

static void
rec_paused(struct line *l, json_t *rec)
{
	line_add_why(l, "paused", rec);
}

/*
 * Appends the words table has for obj's member key, or the name and the
 * other members.
 */
static void
line_add_described(struct line *l, json_t *obj, const char *key,
    const struct describer *table, size_t n, const char *const *skip)
{
	const char	*name = jstr(obj, key);
	size_t		 i;

	for (i = 0; name != NULL && i < n; i++)
		if (strcmp(name, table[i].name) == 0) {
			table[i].fn(l, obj);
			return;
		}
	line_add(l, "%s", or_unknown(name));
	line_add_fields(l, obj, skip);
}

/* history: one line per record, newest first. */
static void
print_history(json_t *res)
{
	static const struct describer records[] = {
		{ "activated", rec_activated }, { "armed", rec_armed },
		{ "connected", rec_connected },
		{ "disconnected", rec_disconnected },
		{ "login", line_add_login }, { "extended", rec_extended },
		{ "resumed", rec_resumed }, { "paused", rec_paused },
		{ "ended", rec_ended },
	};
	static const char *const skip[] = { "ts", "event", "session", NULL };
	struct line	 l = { 0 };
	const char	*id;
	json_t		*rec;
	size_t		 i;

	if (json_array_size(json_object_get(res, "records")) == 0)
		outf(stdout, "the history is empty");
	json_array_foreach(json_object_get(res, "records"), i, rec) {
		line_add(&l, "%s  ", or_unknown(jstr(rec, "ts")));
		if ((id = jstr(rec, "session")) != NULL)
			line_add(&l, "session %s  ", id);
		line_add_described(&l, rec, "event", records,
		    sizeof(records) / sizeof(records[0]), skip);
		line_put(&l, stdout);
	}
	line_free(&l);
}

static void
ev_started(struct line *l, json_t *ev)
{
	line_add(l, "started %s, ends ", is_when_possible(ev) ?
	    "to connect when possible" : "now");
	line_add_end(l, json_object_get(ev, "expires_at"),
	    json_object_get(ev, "duration_s"), false);
}

static void
ev_connected(struct line *l, json_t *ev)
{
	line_add(l, "connected to %s, tunnel %s, ends ",
	    or_unknown(jstr(ev, "hub")), or_unknown(jstr(ev, "tunnel_ip")));
	line_add_end(l, json_object_get(ev, "expires_at"), NULL, false);
}

static void
ev_disconnected(struct line *l, json_t *ev)
{
	line_add_why(l, "disconnected", ev);
}

static void
ev_extended(struct line *l, json_t *ev)
{
	line_add(l, "extended, ends ");
	line_add_end(l, json_object_get(ev, "expires_at"), NULL, false);
}

static void
ev_expiring(struct line *l, json_t *ev)
{
	json_int_t	 left;
	char		 span[64];

	line_add(l, "ends soon: at %s", or_unknown(jstr(ev, "expires_at")));
	if (jint(ev, "remaining_s", &left)) {
		format_duration((long long)left, span, sizeof(span));
		line_add(l, ", in %s", span);
	}
}

static void
ev_ended(struct line *l, json_t *ev)
{
	line_add_why(l, "ended", ev);
}

/* watch: a "session" event, after its time and name. */
static void
describe_session(struct line *l, json_t *ev)
{
	static const struct describer events[] = {
		{ "started", ev_started }, { "connected", ev_connected },
		{ "disconnected", ev_disconnected },
		{ "login", line_add_login }, { "extended", ev_extended },
		{ "expiring", ev_expiring }, { "ended", ev_ended },
	};
	static const char *const skip[] = {
		"event", "time", "what", "session", NULL
	};
	json_t		*nested = json_object_get(ev, "fields");
	const char	*id;

	/* The members come flat (api.md); a "fields" object is taken too. */
	if (json_is_object(nested))
		ev = nested;
	if ((id = jstr(ev, "session")) != NULL)
		line_add(l, "%s ", id);
	line_add_described(l, ev, "what", events,
	    sizeof(events) / sizeof(events[0]), skip);
}

/* status: the open support session and when it ends. */
static void
print_session(json_t *st)
{
	json_t		*s = json_object_get(st, "session");
	struct line	 l = { 0 };
	json_int_t	 n;

	if (json_is_null(s))
		field("session:", "none");
	if (!json_is_object(s))
		return;		/* none, or a daemon without sessions */
	field("session:", "%s", or_unknown(jstr(s, "id")));
	line_add(&l, "%-*s%s", CTL_LABEL_WIDTH, "session started:",
	    or_unknown(jstr(s, "started_at")));
	line_add_by(&l, json_object_get(s, "started_by"));
	line_put(&l, stdout);
	line_add(&l, "%-*s", CTL_LABEL_WIDTH, "ends:");
	line_add_end(&l, json_object_get(s, "expires_at"),
	    json_object_get(s, "duration_s"), true);
	line_put(&l, stdout);
	line_free(&l);
	if (jint(s, "logins", &n))
		field("support logins:", "%" JSON_INTEGER_FORMAT, n);
}

static void
print_status(json_t *st)
{
	const char	*since = jstr(st, "since");
	const char	*detail = jstr(st, "detail");
	json_t		*swp = json_object_get(st, "start_when_possible");
	json_t		*tunnel = json_object_get(st, "tunnel");
	char		 ago[64];
	time_t		 t, now = time(NULL);

	field("vpn:", "%s", or_unknown(jstr(st, "vpn")));
	if (since != NULL && parse_rfc3339(since, &t) && now >= t) {
		format_duration((long long)(now - t), ago, sizeof(ago));
		field("since:", "%s (%s ago)", since, ago);
	} else
		field("since:", "%s", or_unknown(since));
	field("detail:", "%s", detail != NULL && *detail ? detail : "-");
	field("start when possible:", "%s", json_is_boolean(swp) ?
	    (json_is_true(swp) ? "yes" : "no") : "unknown");
	print_session(st);
	print_openvpn(json_object_get(st, "openvpn"));
	print_checks_line(json_object_get(st, "checks"));
	if (json_is_object(tunnel))
		print_tunnel(tunnel);
}

/* "starting — detail", as start and stop report the state they left. */
static void
print_state_line(json_t *st)
{
	const char	*detail = jstr(st, "detail");
	struct line	 l = { 0 };

	line_add(&l, "%s", or_unknown(jstr(st, "vpn")));
	if (detail != NULL && *detail)
		line_add(&l, " — %s", detail);
	if (json_is_true(json_object_get(st, "start_when_possible")))
		line_add(&l, " (start when possible is on)");
	line_put(&l, stdout);
	line_free(&l);
}

/* The words of an "openvpn" event, after its name. */
static void
describe_openvpn(struct line *l, json_t *ev)
{
	static const char *const skip[] = { "event", "time", "kind", NULL };
	const char	*kind = jstr(ev, "kind"), *s;
	json_int_t	 n;
	json_t		*sig;

	if (kind == NULL)
		kind = "";
	if (strcmp(kind, "state") == 0) {
		line_add(l, "%s", or_unknown(jstr(ev, "state")));
		if ((s = jstr(ev, "detail")) != NULL && *s)
			line_add(l, " %s", s);
	} else if (strcmp(kind, "hold") == 0) {
		line_add(l, "held, waiting for release");
		if (jint(ev, "seconds", &n) && n > 0)
			line_add(l, " (%" JSON_INTEGER_FORMAT " s)", n);
	} else if (strcmp(kind, "process") == 0 &&
	    json_is_true(json_object_get(ev, "running"))) {
		line_add(l, "process running");
		if (jint(ev, "pid", &n))
			line_add(l, ", pid %" JSON_INTEGER_FORMAT, n);
	} else if (strcmp(kind, "process") == 0) {
		line_add(l, "process ended");
		if (jint(ev, "exit_status", &n))
			line_add(l, ", exit status %" JSON_INTEGER_FORMAT, n);
		if ((sig = json_object_get(ev, "signal")) != NULL &&
		    !json_is_null(sig)) {
			line_add(l, ", killed by signal ");
			line_add_value(l, sig);
		}
	} else if (strcmp(kind, "fatal") == 0)
		line_add(l, "fatal: %s", or_unknown(jstr(ev, "text")));
	else if (strcmp(kind, "log") == 0)
		line_add(l, "log: %s", or_unknown(jstr(ev, "text")));
	else {
		line_add(l, "%s", kind);
		line_add_fields(l, ev, skip);
	}
}

/* start --wait: the progress, as it happens. */
static void
on_progress(struct ctl *ctl, json_t *ev, const char *raw)
{
	const char	*name = jstr(ev, "event"), *detail;
	struct line	 l = { 0 };

	if (ctl->json || name == NULL)
		return;
	if (strcmp(name, "state") == 0) {
		line_add(&l, "vpn: %s", or_unknown(jstr(ev, "vpn")));
		if ((detail = jstr(ev, "detail")) != NULL && *detail)
			line_add(&l, " — %s", detail);
	} else if (strcmp(name, "openvpn") == 0) {
		/* openvpn's own log lines are for "log -f", not progress. */
		if ((detail = jstr(ev, "kind")) != NULL &&
		    strcmp(detail, "log") == 0)
			return;
		line_add(&l, "  openvpn: ");
		describe_openvpn(&l, ev);
	} else
		return;
	line_put(&l, stdout);
	line_free(&l);
}

/* watch: one line per event (or the raw line with --json). */
static void
on_watch_event(struct ctl *ctl, json_t *ev, const char *raw)
{
	static const char *const skip[] = { "event", "time", NULL };
	const char	*name = jstr(ev, "event"), *s;
	struct line	 l = { 0 };

	if (ctl->json) {
		(void)puts(raw);
		return;
	}
	if (name == NULL)
		name = "?";
	line_add(&l, "%s %-7s ", or_unknown(jstr(ev, "time")), name);
	if (strcmp(name, "state") == 0) {
		line_add(&l, "%s", or_unknown(jstr(ev, "vpn")));
		if ((s = jstr(ev, "previous")) != NULL)
			line_add(&l, " (was %s)", s);
		if ((s = jstr(ev, "detail")) != NULL && *s)
			line_add(&l, " — %s", s);
		if (json_is_true(json_object_get(ev, "start_when_possible")))
			line_add(&l, "; start when possible is on");
	} else if (strcmp(name, "openvpn") == 0) {
		if ((s = jstr(ev, "kind")) != NULL && strcmp(s, "state") == 0)
			line_add(&l, "state ");
		describe_openvpn(&l, ev);
	} else if (strcmp(name, "session") == 0)
		describe_session(&l, ev);
	else if (strcmp(name, "log") == 0 && jstr(ev, "message") != NULL)
		line_add(&l, "%s: %s", or_unknown(jstr(ev, "level")),
		    jstr(ev, "message"));
	else
		line_add_fields(&l, ev, skip);
	line_put(&l, stdout);
	line_free(&l);
}

/* log -f: each new log line (or the raw event with --json). */
static void
on_log_event(struct ctl *ctl, json_t *ev, const char *raw)
{
	const char	*line = jstr(ev, "line"), *name = jstr(ev, "event");

	if (name == NULL || strcmp(name, "log") != 0)
		return;
	if (ctl->json)
		(void)puts(raw);
	else if (line != NULL)
		outf(stdout, "%s", line);
	else
		outf(stdout, "%s %s %s", or_unknown(jstr(ev, "time")),
		    or_unknown(jstr(ev, "level")),
		    or_unknown(jstr(ev, "message")));
}

/* Prints each string of an array member, one per line. */
static void
print_lines(json_t *res, const char *key)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(json_object_get(res, key), i, v) {
		if (json_is_string(v))
			outf(stdout, "%s", json_string_value(v));
	}
}

/* ---- passwords from standard input ------------------------------------ */

static const int	 tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define TTY_NSIGNALS	(sizeof(tty_signals) / sizeof(tty_signals[0]))

/* The terminal before its echo was turned off, and the signal actions. */
static struct termios		 tty_saved;
static struct sigaction		 tty_old_sa[TTY_NSIGNALS];
static volatile sig_atomic_t	 tty_changed;

/* A signal while the echo is off: echo back on, then the signal's due. */
static void
on_tty_signal(int sig)
{
	if (tty_changed)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);	/* delivered when this handler returns */
}

/*
 * On a terminal: prompts on stderr and turns the echo off (the newline
 * still shows) until tty_restore(). False, doing nothing, on anything else.
 */
static bool
tty_echo_off(const char *prompt)
{
	struct sigaction	 sa;
	struct termios		 t;
	size_t			 i;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &tty_saved) != 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tty_signal;
	(void)sigemptyset(&sa.sa_mask);
	for (i = 0; i < TTY_NSIGNALS; i++)
		(void)sigaction(tty_signals[i], &sa, &tty_old_sa[i]);
	t = tty_saved;
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;
	tty_changed = 1;
	/* Should this fail the password shows, but it is read all the same. */
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
	fputs(prompt, stderr);
	return true;
}

static void
tty_restore(void)
{
	size_t	 i;

	if (!tty_changed)
		return;
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
	tty_changed = 0;
	for (i = 0; i < TTY_NSIGNALS; i++)
		(void)sigaction(tty_signals[i], &tty_old_sa[i], NULL);
}

/*
 * auth: a password from fd up to a NUL (what pam_exec's expose_authtok
 * writes), a newline (a "\r" before it is dropped) or the end of input,
 * into out (PASSWORD_MAX_LEN + 2 bytes). 0; -ENODATA at once at the end;
 * -EMSGSIZE, too long; -EINVAL, not password_valid(); -EINTR; -errno.
 * out is wiped on failure.
 */
static int
read_secret(int fd, char *out, size_t outlen)
{
	size_t	 len = 0;
	ssize_t	 n;
	char	 c = '\0';
	int	 rc = 0;

	for (;;) {
		if ((n = read(fd, &c, 1)) < 0 && errno == EINTR && !interrupted)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0 || c == '\0' || c == '\n')
			break;
		if (len + 1 >= outlen) {
			rc = -EMSGSIZE;
			break;
		}
		out[len++] = c;
	}
	if (rc == 0 && n == 0 && len == 0)
		rc = -ENODATA;
	if (rc == 0 && c == '\n' && len > 0 && out[len - 1] == '\r')
		len--;
	out[len] = '\0';
	if (rc == 0 && len > PASSWORD_MAX_LEN)
		rc = -EMSGSIZE;
	else if (rc == 0 && !password_valid(out))
		rc = -EINVAL;
	explicit_bzero(&c, sizeof(c));
	if (rc < 0)
		explicit_bzero(out, outlen);
	return rc;
}

/*
 * One password from standard input, with prompt and the echo off on a
 * terminal; pam: as read_secret(), else one line (password_read_line()).
 */
static int
read_password(const char *prompt, char *out, size_t outlen, bool pam)
{
	bool	 tty = tty_echo_off(prompt);
	int	 rc;

	if (pam)
		rc = read_secret(STDIN_FILENO, out, outlen);
	else
		rc = password_read_line(STDIN_FILENO, out, outlen);
	if (tty)
		tty_restore();
	return rc;
}

/* Says why read_password() failed. */
static void
password_error(int rc)
{
	if (rc == -ENODATA)
		ctl_err("no password on standard input");
	else if (rc == -EINVAL)
		ctl_err("the password is empty or holds a control character");
	else if (rc == -EMSGSIZE)
		ctl_err("the password is longer than %d bytes",
		    PASSWORD_MAX_LEN);
	else if (rc == -EINTR)
		ctl_err("interrupted");
	else
		ctl_err("cannot read the password: %s", strerror(-rc));
}

static bool
is_utf8(const char *s)
{
	json_t	*j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/* ---- commands ---------------------------------------------------------- */

enum { OPT_NONE, OPT_TAKEN, OPT_HELP };

/* Options every command takes: --json (anywhere) and -h/--help. */
static int
common_option(struct ctl *ctl, const char *arg)
{
	if (strcmp(arg, "--json") == 0) {
		ctl->json = true;
		return OPT_TAKEN;
	}
	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
		return OPT_HELP;
	return OPT_NONE;
}

/*
 * If argv[*i] is option name, as "name VALUE", "--name=VALUE" or "-nVALUE",
 * stores the value and returns 1; 0 if it is another argument; -1 after a
 * usage error.
 */
static int
option_value(struct ctl *ctl, int argc, char **argv, int *i,
    const char *name, const char **value)
{
	const char	*a = argv[*i];
	size_t		 n = strlen(name);
	bool		 lng = name[1] == '-';

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '\0') {
		if (*i + 1 >= argc) {
			(void)usage_error(ctl, "%s%s%s needs a value",
			    ctl->cmd ? ctl->cmd->name : "",
			    ctl->cmd ? ": " : "", name);
			return -1;
		}
		*value = argv[++*i];
		return 1;
	}
	if (!lng || a[n] == '=') {
		*value = a + n + lng;
		return 1;
	}
	return 0;
}

/* Commands without arguments of their own: status, stop, version. */
static int
no_arguments(struct ctl *ctl, int argc, char **argv)
{
	int	 i;

	for (i = 1; i < argc; i++) {
		switch (common_option(ctl, argv[i])) {
		case OPT_TAKEN:
			continue;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			return usage_error(ctl, "%s: unexpected argument '%s'",
			    ctl->cmd->name, argv[i]);
		}
	}
	return -1;
}

/* Sends req (stolen) and shows its result as JSON (--json) or in words. */
static int
call_and_show(struct ctl *ctl, json_t *req, void (*print)(json_t *res))
{
	json_t	*res;

	if (ctl_call(ctl, req, CTL_TIMEOUT_S, NULL, &res) != 0)
		return 1;
	if (ctl->json)
		print_json(res, true);
	else
		print(res);
	json_decref(res);
	return 0;
}

/* A command without arguments: one request, its result printed. */
static int
simple_call(struct ctl *ctl, int argc, char **argv, const char *cmd,
    void (*print)(json_t *res))
{
	int	 rc;

	if ((rc = no_arguments(ctl, argc, argv)) >= 0)
		return rc;
	if (ctl_connect(ctl) != 0)
		return 1;
	return call_and_show(ctl, json_pack("{s:s}", "cmd", cmd), print);
}

static int
cmd_status(struct ctl *ctl, int argc, char **argv)
{
	return simple_call(ctl, argc, argv, "status", print_status);
}

/*
 * Adds "by": "supportvpnctl (uid 0 root)" to a request that changes the
 * session (NULL passes through): the daemon records it in the history.
 */
static json_t *
with_by(json_t *req)
{
	struct passwd	*pw;
	char		 by[CTL_BY_MAX + 1];
	uid_t		 uid = getuid();
	size_t		 i;

	if (req == NULL)
		return NULL;
	pw = getpwuid(uid);
	/* Cut at the API's 64 characters; only printable ASCII goes. */
	(void)snprintf(by, sizeof(by), "%s (uid %lu%s%s)", CTL_NAME,
	    (unsigned long)uid, pw != NULL ? " " : "",
	    pw != NULL ? pw->pw_name : "");
	for (i = 0; by[i] != '\0'; i++)
		if ((unsigned char)by[i] < 0x20 || (unsigned char)by[i] > 0x7e)
			by[i] = '?';
	if (json_object_set_new(req, "by", json_string(by)) != 0)
		die_oom();
	return req;
}

/* start and extend: "session ID ends ..." (verb "ends", "now ends"). */
static void
print_session_end(json_t *st, const char *verb)
{
	json_t		*s = json_object_get(st, "session");
	struct line	 l = { 0 };

	if (!json_is_object(s))
		return;
	line_add(&l, "session %s %s ", or_unknown(jstr(s, "id")), verb);
	line_add_end(&l, json_object_get(s, "expires_at"),
	    json_object_get(s, "duration_s"), true);
	line_put(&l, stdout);
	line_free(&l);
}

static void
print_started(json_t *st)
{
	print_state_line(st);
	print_session_end(st, "ends");
}

/* start --wait: subscribe, start (req, stolen), show the progress, then
 * the outcome. */
static int
start_wait(struct ctl *ctl, json_t *req, long timeout_s)
{
	json_t		*sub, *res, *tunnel;
	json_int_t	 port;

	sub = json_pack("{s:s, s:[s, s]}", "cmd", "subscribe", "events",
	    "state", "openvpn");
	if (ctl_call(ctl, sub, CTL_TIMEOUT_S, on_progress, &res) != 0) {
		json_decref(req);
		return 1;
	}
	json_decref(res);
	if (json_object_set_new(req, "wait", json_true()) != 0 ||
	    json_object_set_new(req, "timeout_s",
	    json_integer((json_int_t)timeout_s)) != 0)
		die_oom();
	if (ctl_call(ctl, req, (int)timeout_s + CTL_WAIT_GRACE_S, on_progress,
	    &res) != 0) {
		if (interrupted)
			ctl_err("stopped waiting; supportvpnd may still be "
			    "starting the VPN ('%s stop' cancels it)", CTL_NAME);
		return 1;
	}
	tunnel = json_object_get(res, "tunnel");
	if (ctl->json)
		print_json(res, true);
	else if (json_is_object(tunnel) && jint(tunnel, "server_port", &port))
		outf(stdout, "connected to %s:%" JSON_INTEGER_FORMAT " as %s",
		    or_unknown(jstr(tunnel, "server_ip")), port,
		    or_unknown(jstr(tunnel, "local_ip")));
	else
		print_state_line(res);
	if (!ctl->json)
		print_session_end(res, "ends");
	json_decref(res);
	return 0;
}

struct start_args {
	bool	 when_possible;
	bool	 wait;
	long	 timeout_s;	/* -1: the default */
	long	 duration_s;	/* -1: the appliance's */
};

/* start's options into a; -1 to go on, else the exit status. */
static int
start_options(struct ctl *ctl, int argc, char **argv, struct start_args *a)
{
	const char	*val;
	int		 i, rc;

	for (i = 1; i < argc; i++) {
		if ((rc = common_option(ctl, argv[i])) == OPT_HELP) {
			usage(stdout);
			return 0;
		} else if (rc == OPT_TAKEN)
			continue;
		if (strcmp(argv[i], "--when-possible") == 0)
			a->when_possible = true;
		else if (strcmp(argv[i], "--wait") == 0)
			a->wait = true;
		else if ((rc = option_value(ctl, argc, argv, &i, "--timeout",
		    &val)) != 0) {
			if (rc < 0)
				return 2;
			if (!parse_long(val, 1, CTL_START_TIMEOUT_MAX_S,
			    &a->timeout_s))
				return usage_error(ctl, "start: --timeout wants "
				    "seconds from 1 to %d, not '%s'",
				    CTL_START_TIMEOUT_MAX_S, val);
		} else if ((rc = option_value(ctl, argc, argv, &i,
		    "--duration", &val)) != 0) {
			if (rc < 0)
				return 2;
			if (!parse_duration(val, 0, CTL_DURATION_MAX_S,
			    &a->duration_s))
				return usage_error(ctl, "start: --duration wants "
				    "a TIME up to 365d (0: no end), not '%s'",
				    val);
		} else
			return usage_error(ctl, "start: unexpected argument "
			    "'%s'", argv[i]);
	}
	if (a->timeout_s > 0 && !a->wait)
		return usage_error(ctl, "start: --timeout applies only with "
		    "--wait");
	return -1;
}

static int
cmd_start(struct ctl *ctl, int argc, char **argv)
{
	struct start_args	 a = { .timeout_s = -1, .duration_s = -1 };
	json_t			*req;
	int			 rc;

	if ((rc = start_options(ctl, argc, argv, &a)) >= 0)
		return rc;
	if (ctl_connect(ctl) != 0)
		return 1;
	req = with_by(json_pack("{s:s, s:b}", "cmd", "start", "when_possible",
	    a.when_possible));
	if (req == NULL || (a.duration_s >= 0 && json_object_set_new(req,
	    "duration_s", json_integer((json_int_t)a.duration_s)) != 0))
		die_oom();
	if (a.wait)
		return start_wait(ctl, req, a.timeout_s > 0 ? a.timeout_s :
		    CTL_START_TIMEOUT_S);
	return call_and_show(ctl, req, print_started);
}

static int
cmd_stop(struct ctl *ctl, int argc, char **argv)
{
	int	 rc;

	if ((rc = no_arguments(ctl, argc, argv)) >= 0)
		return rc;
	if (ctl_connect(ctl) != 0)
		return 1;
	return call_and_show(ctl, with_by(json_pack("{s:s}", "cmd", "stop")),
	    print_state_line);
}

static void
print_extended(json_t *st)
{
	if (json_is_object(json_object_get(st, "session")))
		print_session_end(st, "now ends");
	else
		print_state_line(st);
}

static int
cmd_extend(struct ctl *ctl, int argc, char **argv)
{
	json_t	*req;
	long	 secs = -1;
	int	 i, rc;

	for (i = 1; i < argc; i++) {
		if ((rc = common_option(ctl, argv[i])) == OPT_HELP) {
			usage(stdout);
			return 0;
		} else if (rc == OPT_TAKEN)
			continue;
		if (argv[i][0] == '-')
			return usage_error(ctl, "extend: unknown option '%s'",
			    argv[i]);
		if (secs >= 0)
			return usage_error(ctl, "extend: unexpected argument "
			    "'%s'", argv[i]);
		if (!parse_duration(argv[i], 1, CTL_DURATION_MAX_S, &secs))
			return usage_error(ctl, "extend: wants a TIME from 1 s "
			    "to 365d (as 3600, 30m, 8h, 2d), not '%s'",
			    argv[i]);
	}
	if (ctl_connect(ctl) != 0)
		return 1;
	req = with_by(json_pack("{s:s}", "cmd", "extend"));
	if (req == NULL || (secs > 0 && json_object_set_new(req, "duration_s",
	    json_integer((json_int_t)secs)) != 0))
		die_oom();
	return call_and_show(ctl, req, print_extended);
}

static int
cmd_history(struct ctl *ctl, int argc, char **argv)
{
	const char	*val;
	json_t		*res;
	long		 limit = CTL_HISTORY_RECORDS;
	int		 i, rc;

	for (i = 1; i < argc; i++) {
		if ((rc = common_option(ctl, argv[i])) == OPT_HELP) {
			usage(stdout);
			return 0;
		} else if (rc == OPT_TAKEN)
			continue;
		if ((rc = option_value(ctl, argc, argv, &i, "-n", &val)) < 0)
			return 2;
		if (rc == 0)
			return usage_error(ctl, "history: unexpected argument "
			    "'%s'", argv[i]);
		if (!parse_long(val, 1, CTL_HISTORY_MAX, &limit))
			return usage_error(ctl, "history: -n wants a number of "
			    "records from 1 to %d, not '%s'", CTL_HISTORY_MAX,
			    val);
	}
	if (ctl_connect(ctl) != 0 || ctl_call(ctl, json_pack("{s:s, s:I}",
	    "cmd", "history", "limit", (json_int_t)limit), CTL_TIMEOUT_S, NULL,
	    &res) != 0)
		return 1;
	if (ctl->json && json_is_array(json_object_get(res, "records")))
		print_json(json_object_get(res, "records"), true);
	else if (ctl->json)
		print_json(res, true);
	else
		print_history(res);
	json_decref(res);
	return 0;
}

static int
cmd_log(struct ctl *ctl, int argc, char **argv)
{
	const char	*val;
	json_t		*res;
	json_int_t	 log_id, sub_id = 0;
	bool		 follow = false;
	long		 lines = CTL_LOG_LINES;
	int		 i, rc;

	for (i = 1; i < argc; i++) {
		if ((rc = common_option(ctl, argv[i])) == OPT_HELP) {
			usage(stdout);
			return 0;
		} else if (rc == OPT_TAKEN)
			continue;
		if (strcmp(argv[i], "-f") == 0 ||
		    strcmp(argv[i], "--follow") == 0)
			follow = true;
		else if ((rc = option_value(ctl, argc, argv, &i, "-n",
		    &val)) < 0)
			return 2;
		else if (rc == 0)
			return usage_error(ctl, "log: unexpected argument '%s'",
			    argv[i]);
		else if (!parse_long(val, 1, CTL_LOG_LINES_MAX, &lines))
			return usage_error(ctl, "log: -n wants a number of "
			    "lines from 1 to %d, not '%s'", CTL_LOG_LINES_MAX,
			    val);
	}
	if (ctl_connect(ctl) != 0)
		return 1;
	/*
	 * The daemon handles a connection's requests in order, so sending the
	 * subscribe right behind the log request leaves no gap between the
	 * lines the answer holds and the first event.
	 */
	if (ctl_send(ctl, json_pack("{s:s, s:I}", "cmd", "log", "lines",
	    (json_int_t)lines), &log_id) != 0)
		return 1;
	if (follow && ctl_send(ctl, json_pack("{s:s, s:[s]}", "cmd",
	    "subscribe", "events", "log"), &sub_id) != 0)
		return 1;
	if (ctl_await(ctl, log_id, ctl_deadline(ctl, CTL_TIMEOUT_S),
	    on_log_event, &res) != 0)
		return 1;
	if (ctl->json)
		print_json(res, !follow);
	else
		print_lines(res, "lines");
	json_decref(res);
	if (!follow)
		return 0;
	if (ctl_await(ctl, sub_id, ctl_deadline(ctl, CTL_TIMEOUT_S),
	    on_log_event, &res) != 0)
		return 1;
	json_decref(res);
	return ctl_follow(ctl, on_log_event);
}

static int
cmd_watch(struct ctl *ctl, int argc, char **argv)
{
	json_t	*req, *events = NULL, *res;
	bool	 operands = false;
	int	 i, rc;

	if ((req = json_pack("{s:s}", "cmd", "subscribe")) == NULL)
		die_oom();
	for (i = 1; i < argc; i++) {
		if (!operands && strcmp(argv[i], "--") == 0) {
			operands = true;
			continue;
		}
		rc = operands ? OPT_NONE : common_option(ctl, argv[i]);
		if (rc == OPT_TAKEN)
			continue;
		if (rc == OPT_HELP) {
			json_decref(req);
			usage(stdout);
			return 0;
		}
		if (!operands && argv[i][0] == '-') {
			json_decref(req);
			return usage_error(ctl, "watch: unknown option '%s'",
			    argv[i]);
		}
		if (events == NULL) {
			events = json_array();
			if (json_object_set_new(req, "events", events) != 0)
				die_oom();
		}
		if (json_array_append_new(events, json_string(argv[i])) != 0)
			die_oom();
	}
	if (ctl_connect(ctl) != 0) {
		json_decref(req);
		return 1;
	}
	if (ctl_call(ctl, req, CTL_TIMEOUT_S, on_watch_event, &res) != 0)
		return 1;
	json_decref(res);
	return ctl_follow(ctl, on_watch_event);
}

static void
print_versions(json_t *res)
{
	const char	*key;
	struct line	 l = { 0 };
	json_t		*v;

	outf(stdout, "%-14s%s", CTL_NAME, SUPPORTVPN_VERSION);
	json_object_foreach(res, key, v) {
		line_add(&l, "%-14s", key);
		if (json_is_null(v))
			line_add(&l, "unknown");
		else
			line_add_value(&l, v);
		line_put(&l, stdout);
	}
	line_free(&l);
}

static int
cmd_version(struct ctl *ctl, int argc, char **argv)
{
	return simple_call(ctl, argc, argv, "version", print_versions);
}

static int
cmd_openvpn(struct ctl *ctl, int argc, char **argv)
{
	struct line	 command = { 0 };
	json_t		*res;
	int		 i, rc;

	/* --json is taken anywhere: no management command has such a word. */
	for (i = 1; i < argc; i++) {
		if ((rc = common_option(ctl, argv[i])) == OPT_TAKEN)
			continue;
		if (rc == OPT_HELP && command.len == 0) {
			line_free(&command);
			usage(stdout);
			return 0;
		}
		line_add(&command, "%s%s", command.len ? " " : "", argv[i]);
	}
	if (command.len == 0) {
		line_free(&command);
		return usage_error(ctl, "openvpn: which management command? "
		    "(e.g. '%s openvpn state')", CTL_NAME);
	}
	rc = ctl_connect(ctl);
	if (rc == 0)
		rc = ctl_call(ctl, json_pack("{s:s, s:s}", "cmd", "openvpn",
		    "command", command.buf), CTL_TIMEOUT_S, NULL, &res);
	line_free(&command);
	if (rc != 0)
		return 1;
	if (ctl->json)
		print_json(res, true);
	else
		print_lines(res, "lines");
	json_decref(res);
	return 0;
}

/* Green/red in a terminal that has colour; words carry it otherwise. */
static bool
use_colour(void)
{
	const char *term = getenv("TERM");

	return isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL &&
	    term != NULL && strcmp(term, "dumb") != 0;
}

/* The manual's page: two groups of lights, one line per check. */
static bool
print_checks(json_t *set)
{
	static const char *const groups[] = {
		"Default gateway assigned and working",
		"Internet: public IP, DNS, vendor cloud, clock",
	};
	json_t		*items = json_object_get(set, "items"), *it;
	bool		 colour = use_colour(), all = true;
	const char	*at = jstr(set, "checked_at");
	json_int_t	 g, ms;
	size_t		 i;
	int		 group;

	for (group = 1; group <= 2; group++) {
		outf(stdout, "%s", groups[group - 1]);
		json_array_foreach(items, i, it) {
			bool ok = json_is_true(json_object_get(it, "ok"));

			if (!jint(it, "group", &g) || g != group)
				continue;
			all = all && ok;
			if (!jint(it, "ms", &ms))
				ms = 0;
			outf(stdout, "  %s%-4s%s %-18s %s (%" JSON_INTEGER_FORMAT
			    " ms)", colour ? (ok ? "\033[32m" : "\033[31m") : "",
			    ok ? "ok" : "FAIL", colour ? "\033[0m" : "",
			    or_unknown(jstr(it, "name")),
			    or_unknown(jstr(it, "detail")), ms);
		}
	}
	outf(stdout, "checked at %s%s", at != NULL ? at : "never",
	    json_is_true(json_object_get(set, "running")) ?
	    " (a run is in progress)" : "");
	return all && json_is_true(json_object_get(set, "ok"));
}

static int
cmd_checks(struct ctl *ctl, int argc, char **argv)
{
	json_t	*res;
	bool	 refresh = false, ok;
	int	 i, rc;

	for (i = 1; i < argc; i++) {
		if ((rc = common_option(ctl, argv[i])) == OPT_TAKEN)
			continue;
		if (rc == OPT_HELP) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--refresh") == 0)
			refresh = true;
		else
			return usage_error(ctl, "checks: unexpected argument "
			    "'%s'", argv[i]);
	}
	if (ctl_connect(ctl) != 0 || ctl_call(ctl, json_pack("{s:s, s:b}",
	    "cmd", "checks", "refresh", refresh), CTL_TIMEOUT_S, NULL,
	    &res) != 0)
		return 1;
	if (ctl->json) {
		print_json(res, true);
		ok = json_is_true(json_object_get(res, "ok"));
	} else
		ok = print_checks(res);
	json_decref(res);
	return ok ? 0 : 1;
}

struct auth_args {
	const char	*user;
	const char	*from;		/* NULL: not known */
	bool		 quiet;
};

/* auth's arguments, with pam_exec's environment; -1 or the exit status. */
static int
auth_options(struct ctl *ctl, int argc, char **argv, struct auth_args *a)
{
	int	 i, rc;

	for (i = 1; i < argc; i++) {
		if ((rc = common_option(ctl, argv[i])) == OPT_HELP) {
			usage(stdout);
			return 0;
		} else if (rc == OPT_TAKEN)
			continue;
		if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
			a->quiet = true;
		else if ((rc = option_value(ctl, argc, argv, &i, "--from",
		    &a->from)) < 0)
			return 2;
		else if (rc == 0 && argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error(ctl, "auth: unknown option '%s'",
			    argv[i]);
		else if (rc == 0 && a->user != NULL)
			return usage_error(ctl, "auth: unexpected argument "
			    "'%s'", argv[i]);
		else if (rc == 0)
			a->user = argv[i];
	}
	if (a->user == NULL)
		return usage_error(ctl, "auth: which user? ('-': $PAM_USER)");
	if (strcmp(a->user, "-") == 0 && ((a->user = getenv("PAM_USER")) ==
	    NULL || *a->user == '\0'))
		return usage_error(ctl, "auth: USER is '-' but $PAM_USER is "
		    "not set");
	if (a->from == NULL)
		a->from = getenv("PAM_RHOST");
	if (a->from != NULL && *a->from == '\0')
		a->from = NULL;
	if (!is_utf8(a->user) || (a->from != NULL && !is_utf8(a->from)))
		return usage_error(ctl, "auth: the user or the address is not "
		    "UTF-8 text");
	return -1;
}

/* auth's answer: 0 when granted, else 1, saying why unless quiet. */
static int
show_auth(const struct ctl *ctl, const struct auth_args *a, json_t *res)
{
	const char	*reason = jstr(res, "reason");
	bool		 granted = json_is_true(json_object_get(res, "granted"));

	if (ctl->json)
		print_json(res, true);
	else if (granted && !a->quiet)
		outf(stdout, "granted");
	if (!granted && !a->quiet)
		ctl_err("auth: %s: denied%s%s", a->user, reason ? ": " : "",
		    reason ? reason : "");
	return granted ? 0 : 1;
}

static int
cmd_auth(struct ctl *ctl, int argc, char **argv)
{
	struct auth_args	 a = { 0 };
	char			 pw[PASSWORD_MAX_LEN + 2];
	json_t			*secret, *res;
	int			 rc;

	if ((rc = auth_options(ctl, argc, argv, &a)) >= 0)
		return rc;
	if ((rc = read_password("Password: ", pw, sizeof(pw), true)) < 0) {
		password_error(rc);
		return 1;
	}
	secret = json_string(pw);
	explicit_bzero(pw, sizeof(pw));
	if (secret == NULL) {
		ctl_err("auth: the password is not UTF-8 text");
		return 1;
	}
	if ((rc = ctl_connect(ctl)) == 0)
		rc = ctl_call(ctl, json_pack("{s:s, s:s, s:O, s:s*}", "cmd",
		    "auth", "user", a.user, "password", secret, "from", a.from),
		    CTL_TIMEOUT_S, NULL, &res);
	json_string_wipe(secret);
	json_decref(secret);
	if (rc != 0)
		return 1;
	rc = show_auth(ctl, &a, res);
	json_decref(res);
	return rc;
}

struct password_args {
	bool		 generate;
	bool		 set;
	const char	*config;
};

/* support-password's options; -1 or the exit status. */
static int
password_options(struct ctl *ctl, int argc, char **argv,
    struct password_args *a)
{
	int	 i, rc;

	for (i = 1; i < argc; i++) {
		if ((rc = common_option(ctl, argv[i])) == OPT_HELP) {
			usage(stdout);
			return 0;
		} else if (rc == OPT_TAKEN)
			continue;
		if (strcmp(argv[i], "--generate") == 0)
			a->generate = true;
		else if (strcmp(argv[i], "--set") == 0)
			a->set = true;
		else if ((rc = option_value(ctl, argc, argv, &i, "--config",
		    &a->config)) < 0)
			return 2;
		else if (rc == 0)
			return usage_error(ctl, "support-password: unexpected "
			    "argument '%s'", argv[i]);
	}
	if (a->generate == a->set)
		return usage_error(ctl, "support-password: either --generate "
		    "or --set");
	if (a->config != NULL && *a->config == '\0')
		return usage_error(ctl, "support-password: --config needs a "
		    "path");
	if (a->config == NULL)
		a->config = config_path(ctl);
	return -1;
}

/* After a password was stored: where, and with pw (wiped) its one showing. */
static void
print_stored(const struct ctl *ctl, const char *path, const char *pw)
{
	json_t	*res, *secret = NULL;

	if (ctl->json) {
		if (pw != NULL && (secret = json_string(pw)) == NULL)
			die_oom();
		res = json_pack("{s:s, s:s, s:O*}", "user", PASSWORD_USER,
		    "hash_file", path, "password", secret);
		if (res == NULL)
			die_oom();
		print_json(res, true);
		json_decref(res);
		json_string_wipe(secret);
		json_decref(secret);
	} else if (pw != NULL) {
		(void)printf("password of the '%s' account: %s\n",
		    PASSWORD_USER, pw);
		outf(stdout, "It is shown only now: only its hash is stored, "
		    "in %s.", path);
	} else
		outf(stdout, "The password of the '%s' account is set; only "
		    "its hash is stored, in %s.", PASSWORD_USER, path);
}

static int
generate_password(const struct ctl *ctl, const char *path)
{
	char	 pw[PASSWORD_GEN_SIZE];
	int	 rc;

	if ((rc = password_generate(pw, sizeof(pw))) < 0)
		ctl_err("cannot make a password: %s", strerror(-rc));
	else if ((rc = password_store(path, pw)) < 0)
		ctl_err("cannot store the support password in %s: %s", path,
		    strerror(-rc));
	else
		print_stored(ctl, path, pw);
	explicit_bzero(pw, sizeof(pw));
	return rc < 0 ? 1 : 0;
}

/* --set: one line from standard input; asked twice on a terminal. */
static int
set_password(const struct ctl *ctl, const char *path)
{
	char	 pw[PASSWORD_MAX_LEN + 1], again[PASSWORD_MAX_LEN + 1];
	bool	 tty = isatty(STDIN_FILENO);
	int	 rc;

	again[0] = '\0';
	rc = read_password("New support password: ", pw, sizeof(pw), false);
	if (rc == 0 && tty)
		rc = read_password("Repeat the new support password: ", again,
		    sizeof(again), false);
	if (rc < 0)
		password_error(rc);
	else if (tty && strcmp(pw, again) != 0) {
		ctl_err("the two passwords differ; nothing was changed");
		rc = -EINVAL;
	} else if (strlen(pw) < CTL_PASSWORD_MIN) {
		/* The lock-out slows guessing; it does not make "1234" safe. */
		ctl_err("the password must have at least %d characters "
		    "(or use --generate); nothing was changed",
		    CTL_PASSWORD_MIN);
		rc = -EINVAL;
	} else if ((rc = password_store(path, pw)) < 0)
		ctl_err("cannot store the support password in %s: %s", path,
		    strerror(-rc));
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(again, sizeof(again));
	if (rc < 0)
		return 1;
	print_stored(ctl, path, NULL);
	return 0;
}

/*
 * support-password: the factory step, on the appliance's files, not over
 * the API; supportvpnd reads the hash file at each login.
 */
static int
cmd_support_password(struct ctl *ctl, int argc, char **argv)
{
	struct password_args	 a = { 0 };
	struct config_error	 err;
	struct config		 cfg;
	int			 rc;

	if ((rc = password_options(ctl, argc, argv, &a)) >= 0)
		return rc;
	if (config_load(&cfg, a.config, &err) != 0) {
		ctl_err("%s", err.text);
		return 1;
	}
	if ((rc = util_mkdir_p(cfg.state_dir, 0700)) < 0) {
		ctl_err("cannot create the state directory %s: %s",
		    cfg.state_dir, strerror(-rc));
		rc = 1;
	} else if (a.generate)
		rc = generate_password(ctl, cfg.support_hash_file);
	else
		rc = set_password(ctl, cfg.support_hash_file);
	config_deinit(&cfg);
	return rc;
}

static const struct command commands[] = {
	{ "status",	"",			cmd_status,	false, false },
	{ "start",	"[--when-possible] [--duration TIME] [--wait] "
			"[--timeout SECONDS]",	cmd_start,	false, true },
	{ "stop",	"",			cmd_stop,	false, true },
	{ "extend",	"[TIME]",		cmd_extend,	false, true },
	{ "history",	"[-n N]",		cmd_history,	false, false },
	{ "checks",	"[--refresh]",		cmd_checks,	false, false },
	{ "log",	"[-n N] [-f]",		cmd_log,	false, false },
	{ "watch",	"[EVENT...]",		cmd_watch,	false, false },
	{ "version",	"",			cmd_version,	false, false },
	{ "openvpn",	"COMMAND...",		cmd_openvpn,	false, false },
	{ "auth",	"USER [--from ADDR] [--quiet]",
						cmd_auth,	false, true },
	{ "support-password", "--generate | --set [--config PATH]",
						cmd_support_password, true, false },
};

/* ---- main -------------------------------------------------------------- */

/*
 * The global options; *next gets the index of the command. -1 to go on,
 * else the exit status.
 */
static int
global_options(struct ctl *ctl, int argc, char **argv, int *next,
    const char **connect)
{
	const char	*val;
	long		 secs;
	int		 i, rc;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0';
	    i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if ((rc = common_option(ctl, argv[i])) == OPT_HELP) {
			usage(stdout);
			return 0;
		} else if (rc == OPT_TAKEN)
			continue;
		if ((rc = option_value(ctl, argc, argv, &i, "--connect",
		    connect)) < 0)
			return 2;
		else if (rc == 1)
			continue;
		if ((rc = option_value(ctl, argc, argv, &i, "--config",
		    &ctl->config)) < 0)
			return 2;
		else if (rc == 1)
			continue;
		if ((rc = option_value(ctl, argc, argv, &i, "--token-file",
		    &ctl->token_file)) < 0)
			return 2;
		else if (rc == 1)
			continue;
		if ((rc = option_value(ctl, argc, argv, &i, "--timeout",
		    &val)) < 0)
			return 2;
		if (rc == 0)
			return usage_error(ctl, "unknown option '%s'", argv[i]);
		if (!parse_long(val, 1, CTL_TIMEOUT_MAX_S, &secs))
			return usage_error(ctl, "--timeout wants seconds from 1 "
			    "to %d, not '%s'", CTL_TIMEOUT_MAX_S, val);
		ctl->timeout_s = (int)secs;
	}
	*next = i;
	return -1;
}

/* Chooses the address: --connect, $SUPPORTVPNCTL_CONNECT, the default. */
static int
choose_address(struct ctl *ctl, const char *connect)
{
	const char	*from = "--connect", *why;
	int		 n;

	if (connect == NULL) {
		connect = getenv(CTL_ENV_CONNECT);
		from = "$" CTL_ENV_CONNECT;
	}
	if (connect == NULL || *connect == '\0')
		n = snprintf(ctl->addr, sizeof(ctl->addr), "%s:%d",
		    SUPPORTVPN_API_DEFAULT_HOST, SUPPORTVPN_API_DEFAULT_PORT);
	else
		n = snprintf(ctl->addr, sizeof(ctl->addr), "%s", connect);
	if (n < 0 || (size_t)n >= sizeof(ctl->addr))
		why = "too long";
	else
		why = parse_hostport(ctl->addr, ctl->host, sizeof(ctl->host),
		    ctl->port, sizeof(ctl->port));
	if (why == NULL)
		return -1;
	return usage_error(ctl, "bad address '%s' (%s): %s; use HOST:PORT or "
	    "[IPv6]:PORT", connect, from, why);
}

int
main(int argc, char **argv)
{
	struct ctl		 ctl = { .conn.fd = -1, .next_id = 1 };
	struct sigaction	 sa;
	const char		*connect = NULL;
	size_t			 i;
	int			 next = argc, rc;

	/* Progress and events must show up at once, even through a pipe. */
	(void)setvbuf(stdout, NULL, _IOLBF, 0);
	if ((rc = global_options(&ctl, argc, argv, &next, &connect)) >= 0)
		return rc;
	if (next >= argc)
		return usage_error(&ctl, "no command given");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[next], commands[i].name) == 0)
			ctl.cmd = &commands[i];
	if (ctl.cmd == NULL)
		return usage_error(&ctl, "unknown command '%s'", argv[next]);
	if (!ctl.cmd->local && (rc = choose_address(&ctl, connect)) >= 0)
		return rc;

	/*
	 * Ctrl-C ends a wait (poll gets EINTR) so watch and log -f exit 0;
	 * SA_RESETHAND lets a second Ctrl-C kill us outright, whatever the
	 * timing of the first.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sa.sa_flags = SA_RESETHAND;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);

	rc = ctl.cmd->run(&ctl, argc - next, argv + next);
	explicit_bzero(ctl.token, sizeof(ctl.token));
	ctl_close(&ctl);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		ctl_err("cannot write the output: %s", strerror(errno));
		rc = 1;
	}
	return rc;
}
