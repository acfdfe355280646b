/* SPDX-License-Identifier: MIT */
/*
 * A scripted stand-in for an openvpn 2.6 client, for the vpn unit tests
 * and the system tests of a broken openvpn (tests/system/test_faults.py).
 * It takes the arguments supportvpnd passes to openvpn, writes the pid file
 * and serves the management interface on a unix socket with openvpn's
 * hold, state and signal semantics; "connecting" is a timer. The file named by
 * --config is a script that steers it (see tests/unit/README.md), and every
 * command, hold and state is recorded for the tests to check.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAKE_LINE_MAX		1024	/* openvpn's own command buffer */
#define FAKE_TEXT_MAX		512
#define FAKE_HISTORY		32

/* What the script asks for; -1 means "never". */
struct script {
	int	 connect_delay_ms;	/* release to CONNECTED */
	int	 restart_pause_s;	/* N of >HOLD after an own restart */
	int	 hold_gap_ms;		/* RECONNECTING to >HOLD */
	bool	 never_connect;		/* stays in WAIT after a release */
	bool	 ignore_usr1;		/* "signal SIGUSR1" does nothing */
	int	 exit_at_start;		/* exit status, or -1 */
	char	 exit_text[FAKE_TEXT_MAX];
	char	 fatal_text[FAKE_TEXT_MAX]; /* "" = no fatal_after_release */
	int	 drop_link_after_ms;	/* after CONNECTED, once */
	int	 ping_restart_after_ms;	/* after CONNECTED, once */
	int	 fail_connect;		/* attempts that fail after AUTH */
	bool	 junk_lines;		/* junk after greetings, CONNECTED */
	bool	 junk_long;		/* an overlong line after greetings */
	bool	 stall_after_release;	/* half a line, then silence */
	bool	 silent;		/* never writes on the socket */
	char	 record[PATH_MAX];	/* "" = no record */
	char	 counts[PATH_MAX];	/* "" = no counts */
};

enum phase {
	PH_HELD,
	PH_RESTARTING,		/* between RECONNECTING and the hold */
	PH_CONNECTING,
	PH_CONNECTED,
};

static struct {
	struct script	 sc;
	const char	*config;
	const char	*sock_path;
	const char	*pid_file;
	bool		 hold_flag;
	bool		 mgmt_signal;
	int		 listen_fd;
	int		 client_fd;
	int		 sig_pipe[2];
	char		 in[FAKE_LINE_MAX];
	size_t		 in_len;
	bool		 state_on, log_on;
	enum phase	 phase;
	unsigned	 hold_n;	/* of the current hold */
	unsigned	 pause_s;	/* of the hold a restart ends in */
	int		 step;		/* next connecting step */
	int64_t		 t_step;	/* ms deadlines, -1 = none */
	int64_t		 t_drop;
	int64_t		 t_ping;
	int64_t		 t_bytes;	/* next >BYTECOUNT */
	unsigned	 bytecount_s;	/* 0: none */
	uint64_t	 bytes;		/* this process's traffic */
	bool		 stalled;	/* writes nothing more */
	bool		 dropped, ping_restarted;
	char		 history[FAKE_HISTORY][FAKE_TEXT_MAX];
	unsigned	 nhistory;
	int		 failed_attempts;
	pid_t		 ppid;		/* exit when orphaned */
	unsigned	 holds, releases, released, stray;
} F;

static const struct step {
	const char	*name, *detail, *tun, *rip, *rport;
} steps[] = {
	{ "WAIT", "", "", "", "" },
	{ "AUTH", "", "", "", "" },
	{ "GET_CONFIG", "", "", "", "" },
	{ "ASSIGN_IP", "", "203.0.113.2", "", "" },
	{ "CONNECTED", "SUCCESS", "203.0.113.2", "198.51.100.1", "1194" },
};
#define NSTEPS	((int)(sizeof(steps) / sizeof(steps[0])))

static void finish(int status) __attribute__((noreturn));

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line "<monotonic ms> <pid> <event>" appended to the record file. */
static void record(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
record(const char *fmt, ...)
{
	char line[FAKE_LINE_MAX + 128], ev[FAKE_LINE_MAX + 64];
	va_list ap;
	int fd, n;

	if (F.sc.record[0] == '\0')
		return;
	va_start(ap, fmt);
	n = vsnprintf(ev, sizeof(ev), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(ev))
		return;
	n = snprintf(line, sizeof(line), "%lld %d %s\n", (long long)mono_ms(),
	    (int)getpid(), ev);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	/* One write() per line: several fakes may append to the same file. */
	if ((fd = open(F.sc.record, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) < 0)
		return;
	if (write(fd, line, (size_t)n) != n)
		fprintf(stderr, "fake_openvpn: short write to %s\n",
		    F.sc.record);
	close(fd);
}

/* Rewrites the counts file (atomically, so a reader sees whole files). */
static void
write_counts(void)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	int n;

	if (F.sc.counts[0] == '\0')
		return;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp", F.sc.counts);
	if (n < 0 || (size_t)n >= sizeof(tmp) || (f = fopen(tmp, "w")) == NULL)
		return;
	fprintf(f, "pid %d\nholds %u\nreleases %u\nreleased %u\nstray %u\n",
	    (int)getpid(), F.holds, F.releases, F.released, F.stray);
	if (fclose(f) != 0 || rename(tmp, F.sc.counts) != 0)
		(void)unlink(tmp);	/* the test then sees no counts */
}

/* Writes len bytes to the client as they are (none once stalled). */
static void
send_raw(const char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	if (F.client_fd < 0 || F.stalled)
		return;
	/* Blocking socket, short lines: the client reads them promptly. */
	while (off < len) {
		if ((n = write(F.client_fd, buf + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			return;	/* the read side sees the hang-up */
		}
		off += (size_t)n;
	}
}

/* One line plus CR LF, in one write so that lines never interleave. */
static void
send_line(const char *s)
{
	char buf[FAKE_TEXT_MAX * 2 + 2];
	int r;

	r = snprintf(buf, sizeof(buf), "%s\r\n", s);
	if (r < 0 || (size_t)r >= sizeof(buf))
		return;
	send_raw(buf, (size_t)r);
}

/*
 * junk_lines: what a confused peer might write, none of it a valid
 * message: text, control bytes and a NUL, notifications that do not
 * parse, an empty line, and a line cut across two writes.
 */
static void
send_junk(void)
{
	static const char junk[] =
	    "this is not the management protocol\r\n"
	    "\x01\x02\x7f binary \xff\xfe\r\n"
	    "before a NUL\0after it\r\n"
	    ">STATE:garbage\r\n"
	    ">HOLD:Waiting for hold release:soon\r\n"
	    ">BYTECOUNT:-5,x\r\n"
	    ">\r\n"
	    ">:\r\n"
	    "\r\n"
	    "\r\r\n";
	static const char first[] = "a line cut in ";
	static const char second[] = "two writes\r\n";
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	record("junk lines");
	send_raw(junk, sizeof(junk) - 1);
	send_raw(first, sizeof(first) - 1);
	nanosleep(&ts, NULL);
	send_raw(second, sizeof(second) - 1);
}

/* junk_long: one line longer than any reader's limit (16 KiB). */
static void
send_long(void)
{
	char buf[4096];
	int i;

	record("junk long");
	memset(buf, 'A', sizeof(buf));
	for (i = 0; i < 6; i++)
		send_raw(buf, sizeof(buf));
	send_raw("\r\n", 2);
}

static void sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sendf(const char *fmt, ...)
{
	char buf[FAKE_TEXT_MAX * 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(buf))
		send_line(buf);
}

/* A log line: to stdout like openvpn, and as >LOG: when asked for. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	char buf[FAKE_TEXT_MAX * 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* A log line cut at sizeof(buf) is still a log line. */
	printf("%s\n", buf);
	if (F.log_on)
		sendf(">LOG:%lld,,%s", (long long)time(NULL), buf);
}

static void
set_state(const char *name, const char *detail, const char *tun,
    const char *rip, const char *rport)
{
	char *h = F.history[F.nhistory % FAKE_HISTORY];
	int n;

	n = snprintf(h, FAKE_TEXT_MAX, "%lld,%s,%s,%s,%s,%s,,",
	    (long long)time(NULL), name, detail, tun, rip, rport);
	if (n < 0 || n >= FAKE_TEXT_MAX)
		return;
	F.nhistory++;
	record("state %s %s", name, detail);
	if (F.state_on)
		sendf(">STATE:%s", h);
}

static void
send_hold(void)
{
	record("holdmsg %u", F.hold_n);
	sendf(">HOLD:Waiting for hold release:%u", F.hold_n);
}

static void
enter_hold(unsigned n)
{
	F.phase = PH_HELD;
	F.hold_n = n;
	F.t_step = F.t_drop = F.t_ping = -1;
	F.holds++;
	record("hold %u", n);
	write_counts();
	if (F.client_fd < 0)
		say("Need hold release from management interface, waiting...");
	send_hold();
}

/* A soft SIGUSR1-type restart: RECONNECTING now, the hold a little later. */
static void
restart(const char *reason, unsigned pause_s)
{
	say("SIGUSR1[soft,%s] received, process restarting", reason);
	set_state("RECONNECTING", reason, "", "", "");
	F.phase = PH_RESTARTING;
	F.pause_s = pause_s;
	F.t_drop = F.t_ping = -1;
	F.t_step = mono_ms() + F.sc.hold_gap_ms;
}

static void
fatal_exit(const char *text)
{
	say("%s", text);
	record("fatal %s", text);
	sendf(">FATAL:%s", text);
	say("Exiting due to fatal error");
	finish(1);
}

static void
on_step(void)
{
	const struct step *s;

	if (F.phase == PH_RESTARTING) {
		if (F.hold_flag) {
			enter_hold(F.pause_s);
			return;
		}
		say("Restart pause, %u second(s)", F.pause_s);
		F.phase = PH_CONNECTING;
		F.step = 0;
		F.t_step = mono_ms() + (int64_t)F.pause_s * 1000;
		return;
	}
	if (F.phase != PH_CONNECTING || F.step >= NSTEPS) {
		F.t_step = -1;
		return;
	}
	s = &steps[F.step++];
	set_state(s->name, s->detail, s->tun, s->rip, s->rport);
	if (strcmp(s->name, "AUTH") == 0 &&
	    F.failed_attempts < F.sc.fail_connect) {
		F.failed_attempts++;
		say("TLS Error: TLS handshake failed");
		restart("tls-error", (unsigned)F.sc.restart_pause_s);
		return;
	}
	F.t_step = mono_ms() + F.sc.connect_delay_ms / (NSTEPS - 1);
	if (F.sc.never_connect && strcmp(s->name, "WAIT") == 0)
		F.t_step = -1;
	if (F.step == NSTEPS) {
		say("Initialization Sequence Completed");
		F.phase = PH_CONNECTED;
		F.t_step = -1;
		if (F.sc.junk_lines)
			send_junk();
		if (F.sc.drop_link_after_ms >= 0 && !F.dropped)
			F.t_drop = mono_ms() + F.sc.drop_link_after_ms;
		if (F.sc.ping_restart_after_ms >= 0 && !F.ping_restarted)
			F.t_ping = mono_ms() + F.sc.ping_restart_after_ms;
	}
}

static void
release(void)
{
	F.releases++;
	sendf("SUCCESS: hold release succeeded");
	if (F.phase != PH_HELD) {
		/* openvpn forgets it at the next restart: it is lost. */
		F.stray++;
		record("release stray");
		write_counts();
		return;
	}
	F.released++;
	record("release held");
	write_counts();
	if (F.sc.fatal_text[0] != '\0')
		fatal_exit(F.sc.fatal_text);
	if (F.sc.stall_after_release) {
		/* Half a line, then nothing more: a wedged writer. */
		send_raw(">STATE:1795000000,WA", 20);
		F.stalled = true;
		record("stalled");
	}
	F.phase = PH_CONNECTING;
	F.step = 0;
	F.t_step = mono_ms();
}

static void
cmd_signal(const char *sig)
{
	bool usr1 = strcmp(sig, "SIGUSR1") == 0, hup = strcmp(sig, "SIGHUP") == 0;

	if (strcmp(sig, "SIGTERM") == 0) {
		sendf("SUCCESS: signal SIGTERM thrown");
		say("SIGTERM[hard,] received, process exiting");
		set_state("EXITING", "SIGTERM", "", "", "");
		finish(0);
	}
	if (!usr1 && !hup && strcmp(sig, "SIGUSR2") != 0) {
		sendf("ERROR: signal '%s' is not a known signal type", sig);
		return;
	}
	if ((usr1 || hup) && F.phase == PH_HELD) {
		sendf("ERROR: signal '%s' is currently ignored", sig);
		send_hold();
		return;
	}
	sendf("SUCCESS: signal %s thrown", sig);
	if (usr1 && F.sc.ignore_usr1) {
		say("fake: ignoring SIGUSR1 (stuck)");
		return;
	}
	if ((usr1 || hup) && F.phase != PH_RESTARTING)
		restart(sig, usr1 ? 1 : 0);
}

/* state [on|off] [all]: the switch's SUCCESS line, then any history. */
static void
cmd_state(const char *arg, const char *arg2)
{
	unsigned i, first;
	bool all = strcmp(arg, "all") == 0 || strcmp(arg2, "all") == 0;

	if (strcmp(arg, "on") == 0 || strcmp(arg, "off") == 0) {
		F.state_on = strcmp(arg, "on") == 0;
		sendf("SUCCESS: real-time state notification set to %s",
		    F.state_on ? "ON" : "OFF");
		if (!all)
			return;
	}
	first = F.nhistory > FAKE_HISTORY ? F.nhistory - FAKE_HISTORY : 0;
	if (!all && F.nhistory > 0)
		first = F.nhistory - 1;
	for (i = first; i < F.nhistory; i++)
		send_line(F.history[i % FAKE_HISTORY]);
	send_line("END");
}

static void client_gone(void);

static void
command(char *line)
{
	char *tok[4] = { NULL, NULL, NULL, NULL }, *save = NULL, *t;
	size_t n = 0;

	record("cmd %s", line);
	say("MANAGEMENT: CMD '%s'", line);
	for (t = strtok_r(line, " \t", &save); t != NULL && n < 4;
	    t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	if (n == 0)
		return;
#define IS(i, s)	(tok[i] != NULL && strcmp(tok[i], (s)) == 0)
	if (IS(0, "hold") && n == 1)
		sendf("SUCCESS: hold=%d", F.hold_flag ? 1 : 0);
	else if (IS(0, "hold") && (IS(1, "on") || IS(1, "off"))) {
		F.hold_flag = IS(1, "on");
		sendf("SUCCESS: hold flag set to %s", F.hold_flag ? "ON" : "OFF");
	} else if (IS(0, "hold") && IS(1, "release"))
		release();
	else if (IS(0, "state"))
		cmd_state(n > 1 ? tok[1] : "", n > 2 ? tok[2] : "");
	else if (IS(0, "log") && (IS(1, "on") || IS(1, "off"))) {
		F.log_on = IS(1, "on");
		sendf("SUCCESS: real-time log notification set to %s",
		    F.log_on ? "ON" : "OFF");
		if (IS(2, "all"))
			send_line("END");	/* no log history kept */
	} else if (IS(0, "bytecount") && n == 2) {
		F.bytecount_s = (unsigned)atoi(tok[1]);
		F.t_bytes = F.bytecount_s > 0 ? mono_ms() +
		    (int64_t)F.bytecount_s * 1000 : -1;
		sendf("SUCCESS: bytecount interval changed");
	}
	else if (IS(0, "version") && n == 1) {
		send_line("OpenVPN Version: OpenVPN 2.6.14 x86_64-pc-linux-gnu "
		    "[fake]");
		send_line("Management Version: 5");
		send_line("END");
	} else if (IS(0, "version"))
		;	/* 2.6 answers "version N" with nothing at all */
	else if (IS(0, "pid"))
		sendf("SUCCESS: pid=%d", (int)getpid());
	else if (IS(0, "signal") && n == 2)
		cmd_signal(tok[1]);
	else if (IS(0, "exit") || IS(0, "quit"))
		client_gone();	/* no answer: the socket just closes */
	else
		sendf("ERROR: unknown command, enter 'help' for more options");
#undef IS
}

static void
client_gone(void)
{
	close(F.client_fd);
	F.client_fd = -1;
	F.in_len = 0;
	F.state_on = F.log_on = false;
	F.bytecount_s = 0;
	F.t_bytes = -1;
	record("client gone");
	say("MANAGEMENT: Client disconnected");
	/* --management-signal: a soft SIGUSR1, except while held. */
	if (F.mgmt_signal && (F.phase == PH_CONNECTING ||
	    F.phase == PH_CONNECTED)) {
		say("MANAGEMENT: Triggering management signal");
		restart("management-disconnect", (unsigned)F.sc.restart_pause_s);
	}
}

static void
client_accept(void)
{
	int fd;

	if ((fd = accept(F.listen_fd, NULL, NULL)) < 0)
		return;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	F.client_fd = fd;
	F.in_len = 0;
	record("client connect");
	say("MANAGEMENT: Client connected from %s", F.sock_path);
	sendf(">INFO:OpenVPN Management Interface Version 5 -- type 'help' "
	    "for more info");
	if (F.phase == PH_HELD)
		send_hold();
	if (F.sc.junk_lines)
		send_junk();
	if (F.sc.junk_long)
		send_long();
}

static void
client_read(void)
{
	char *nl;
	ssize_t n;

	n = read(F.client_fd, F.in + F.in_len, sizeof(F.in) - F.in_len);
	if (n <= 0) {
		if (n < 0 && errno == EINTR)
			return;
		client_gone();
		return;
	}
	F.in_len += (size_t)n;
	/* Every complete line of this read is handled before any restart
	 * runs, like openvpn (hence the lost pipelined "hold release"). */
	while (F.client_fd >= 0 &&
	    (nl = memchr(F.in, '\n', F.in_len)) != NULL) {
		size_t len = (size_t)(nl - F.in);
		char line[FAKE_LINE_MAX];

		memcpy(line, F.in, len);
		line[len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[len - 1] = '\0';
		memmove(F.in, nl + 1, F.in_len - len - 1);
		F.in_len -= len + 1;
		command(line);
	}
	if (F.client_fd >= 0 && F.in_len == sizeof(F.in)) {
		say("MANAGEMENT: command line too long; dropping the client");
		client_gone();
	}
}

static void
cleanup(void)
{
	if (F.client_fd >= 0)
		close(F.client_fd);
	if (F.listen_fd >= 0) {
		close(F.listen_fd);
		(void)unlink(F.sock_path);
	}
	if (F.pid_file != NULL)
		(void)unlink(F.pid_file);
}

static void
finish(int status)
{
	record("exit %d", status);
	cleanup();
	fflush(stdout);
	exit(status);
}

static void
on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;
	ssize_t n;

	/* The pipe is non-blocking; a full pipe already wakes the loop. */
	n = write(F.sig_pipe[1], &c, 1);
	(void)n;
	errno = saved;
}

static int
parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	end += strspn(end, " \t");
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* Copies the rest of a directive, without surrounding quotes. */
static int
copy_text(char *dst, size_t size, const char *s)
{
	size_t len;
	int n;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	n = snprintf(dst, size, "%.*s", (int)len, s);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int
directive(char *key, char *rest)
{
	struct script *sc = &F.sc;
	char *sp;

	if (strcmp(key, "never_connect") == 0)
		sc->never_connect = true;
	else if (strcmp(key, "ignore_usr1") == 0)
		sc->ignore_usr1 = true;
	else if (strcmp(key, "junk_lines") == 0)
		sc->junk_lines = true;
	else if (strcmp(key, "junk_long") == 0)
		sc->junk_long = true;
	else if (strcmp(key, "stall_after_release") == 0)
		sc->stall_after_release = true;
	else if (strcmp(key, "silent") == 0)
		sc->silent = true;
	else if (strcmp(key, "connect_delay_ms") == 0)
		return parse_int(rest, 0, 600000, &sc->connect_delay_ms);
	else if (strcmp(key, "restart_pause_s") == 0)
		return parse_int(rest, 0, 300, &sc->restart_pause_s);
	else if (strcmp(key, "hold_gap_ms") == 0)
		return parse_int(rest, 0, 600000, &sc->hold_gap_ms);
	else if (strcmp(key, "drop_link_after_ms") == 0)
		return parse_int(rest, 0, 600000, &sc->drop_link_after_ms);
	else if (strcmp(key, "ping_restart_after_ms") == 0)
		return parse_int(rest, 0, 600000, &sc->ping_restart_after_ms);
	else if (strcmp(key, "fail_connect") == 0)
		return parse_int(rest, 0, 1000, &sc->fail_connect);
	else if (strcmp(key, "fatal_after_release") == 0)
		return copy_text(sc->fatal_text, sizeof(sc->fatal_text), rest);
	else if (strcmp(key, "record") == 0)
		return copy_text(sc->record, sizeof(sc->record), rest);
	else if (strcmp(key, "counts") == 0)
		return copy_text(sc->counts, sizeof(sc->counts), rest);
	else if (strcmp(key, "exit_at_start") == 0) {
		/* exit_at_start STATUS "message" */
		if ((sp = strpbrk(rest, " \t")) == NULL)
			return -1;
		*sp++ = '\0';
		if (parse_int(rest, 0, 255, &sc->exit_at_start) < 0)
			return -1;
		return copy_text(sc->exit_text, sizeof(sc->exit_text), sp);
	} else
		return -1;
	return 0;
}

static int
load_script(const char *path)
{
	char line[FAKE_LINE_MAX], *key, *rest;
	unsigned lineno = 0;
	FILE *f;
	int rc = 0;

	F.sc.connect_delay_ms = 50;
	F.sc.restart_pause_s = 2;
	F.sc.hold_gap_ms = 50;
	F.sc.exit_at_start = -1;
	F.sc.drop_link_after_ms = -1;
	F.sc.ping_restart_after_ms = -1;
	if ((f = fopen(path, "r")) == NULL) {
		printf("Options error: In [CMD-LINE]:1: Error opening "
		    "configuration file: %s\n", path);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			rc = -1;
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		key = line + strspn(line, " \t");
		if (*key == '\0' || *key == '#')
			continue;
		rest = key + strcspn(key, " \t");
		if (*rest != '\0')
			*rest++ = '\0';
		rc = directive(key, rest);
	}
	fclose(f);
	if (rc < 0)
		printf("Options error: fake script %s:%u: bad directive\n",
		    path, lineno);
	return rc;
}

static int
parse_args(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;

		if (strcmp(a, "--config") == 0 && more)
			F.config = argv[++i];
		else if (strcmp(a, "--management") == 0 && i + 2 < argc &&
		    strcmp(argv[i + 2], "unix") == 0) {
			F.sock_path = argv[i + 1];
			i += 2;
		} else if (strcmp(a, "--management-hold") == 0)
			F.hold_flag = true;
		else if (strcmp(a, "--management-signal") == 0)
			F.mgmt_signal = true;
		else if (strcmp(a, "--writepid") == 0 && more)
			F.pid_file = argv[++i];
		else if (strcmp(a, "--suppress-timestamps") == 0 ||
		    strcmp(a, "--machine-readable-output") == 0)
			;
		else if (strcmp(a, "--management-client-user") == 0 && more)
			i++;	/* the test runs as that user */
		else if (strcmp(a, "--plugin") == 0 && more) {
			/* The module, then its arguments. */
			for (i++; i + 1 < argc && strncmp(argv[i + 1], "--", 2)
			    != 0; i++)
				;
		} else {
			printf("Options error: Unrecognized option or missing "
			    "or extra parameter(s): %s\n", a);
			return -1;
		}
	}
	if (F.config == NULL || F.sock_path == NULL) {
		printf("Options error: fake_openvpn needs --config and "
		    "--management PATH unix\n");
		return -1;
	}
	return 0;
}

static int
write_pid(void)
{
	FILE *f;

	if (F.pid_file == NULL)
		return 0;
	if ((f = fopen(F.pid_file, "w")) == NULL) {
		printf("Cannot open PID file %s: %s\n", F.pid_file,
		    strerror(errno));
		return -1;
	}
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f) == 0 ? 0 : -1;
}

static int
open_management(void)
{
	struct sockaddr_un addr;
	int n;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", F.sock_path);
	if (n < 0 || (size_t)n >= sizeof(addr.sun_path)) {
		printf("MANAGEMENT: socket path too long: %s\n", F.sock_path);
		return -1;
	}
	(void)unlink(F.sock_path);	/* openvpn does the same */
	if ((F.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    fcntl(F.listen_fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    bind(F.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(F.listen_fd, 1) < 0) {
		printf("MANAGEMENT: Cannot bind to %s: %s\n", F.sock_path,
		    strerror(errno));
		return -1;
	}
	say("MANAGEMENT: unix domain socket listening on %s", F.sock_path);
	return 0;
}

static void
setup_signals(void)
{
	struct sigaction sa;

	if (pipe(F.sig_pipe) < 0) {
		printf("fake_openvpn: pipe: %s\n", strerror(errno));
		finish(1);
	}
	(void)fcntl(F.sig_pipe[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(F.sig_pipe[1], F_SETFD, FD_CLOEXEC);
	(void)fcntl(F.sig_pipe[1], F_SETFL, O_NONBLOCK);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static int
poll_timeout(void)
{
	int64_t next = -1, now = mono_ms(), d[4] = { F.t_step, F.t_drop,
	    F.t_ping, F.t_bytes };
	size_t i;

	for (i = 0; i < 4; i++)
		if (d[i] >= 0 && (next < 0 || d[i] < next))
			next = d[i];
	/* Wake at least every 500 ms to notice a vanished parent. */
	if (next < 0 || next - now > 500)
		return 500;
	return next <= now ? 0 : (int)(next - now);
}

static void
run_timers(void)
{
	int64_t now = mono_ms();

	if (F.t_step >= 0 && F.t_step <= now)
		on_step();
	if (F.t_drop >= 0 && F.t_drop <= now) {
		F.t_drop = -1;
		F.dropped = true;
		if (F.client_fd >= 0) {
			say("fake: dropping the management link");
			client_gone();
		}
	}
	if (F.t_bytes >= 0 && F.t_bytes <= now) {
		F.t_bytes = now + (int64_t)F.bytecount_s * 1000;
		if (F.phase == PH_CONNECTED) {
			/* Counted from this process's start, as openvpn's. */
			F.bytes += 1000;
			sendf(">BYTECOUNT:%llu,%llu",
			    (unsigned long long)F.bytes,
			    (unsigned long long)F.bytes / 2);
		}
	}
	if (F.t_ping >= 0 && F.t_ping <= now) {
		F.t_ping = -1;
		F.ping_restarted = true;
		say("[server] Inactivity timeout (--ping-restart), restarting");
		restart("ping-restart", (unsigned)F.sc.restart_pause_s);
	}
}

int
main(int argc, char **argv)
{
	struct pollfd pfd[2];
	unsigned char sig;

	F.ppid = getppid();
	F.listen_fd = F.client_fd = -1;
	F.t_step = F.t_drop = F.t_ping = F.t_bytes = -1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv) < 0) {
		printf("Use --help for more information.\n");
		return 1;
	}
	if (load_script(F.config) < 0)
		return 1;
	F.stalled = F.sc.silent;
	record("start");
	if (F.sc.exit_at_start >= 0) {
		printf("%s\n", F.sc.exit_text);
		printf("Use --help for more information.\n");
		record("exit %d", F.sc.exit_at_start);
		return F.sc.exit_at_start;
	}
	setup_signals();
	say("OpenVPN 2.6.14 x86_64-pc-linux-gnu [fake]");
	if (write_pid() < 0 || open_management() < 0)
		finish(1);
	set_state("CONNECTING", "", "", "", "");
	if (F.hold_flag)
		enter_hold(0);
	else {
		F.phase = PH_CONNECTING;
		F.t_step = mono_ms();
	}
	for (;;) {
		pfd[0].fd = F.sig_pipe[0];
		pfd[0].events = POLLIN;
		/* One client at a time, as openvpn (listen backlog 1). */
		pfd[1].fd = F.client_fd >= 0 ? F.client_fd : F.listen_fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, poll_timeout()) < 0 && errno != EINTR) {
			say("poll: %s", strerror(errno));
			finish(1);
		}
		if ((pfd[0].revents & POLLIN) &&
		    read(F.sig_pipe[0], &sig, 1) == 1) {
			say("%s[hard,] received, process exiting",
			    sig == SIGTERM ? "SIGTERM" : "SIGINT");
			set_state("EXITING", sig == SIGTERM ? "SIGTERM" :
			    "SIGINT", "", "", "");
			finish(0);
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (F.client_fd >= 0)
				client_read();
			else
				client_accept();
		}
		run_timers();
		if (getppid() != F.ppid) {
			/* The test died: do not linger as an orphan. */
			say("fake: parent gone, exiting");
			finish(0);
		}
	}
}
