/* SPDX-License-Identifier: MIT */
/*
 * openvpn process supervision. openvpn runs in the foreground as our
 * child; its stdout and stderr come through pipes into the operator log.
 * An exit is reported only after both pipes have drained, so the reason
 * includes openvpn's last words.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "config.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#define PROC_LINE_MAX		2048
#define PROC_HEALTHY_MS		10000	/* a run this long resets backoff */
#define PROC_DRAIN_MS		500
/*
 * openvpn's output is read when openvpn reports on its management socket
 * (proc_drain), and at least this often: a reader waiting on the pipe
 * would make openvpn pay a wake-up for each of its log lines, a dozen in
 * every connect, on a virtual machine tens of microseconds each. A read
 * that fills the buffer keeps reading until the pipe is empty, so a
 * talkative openvpn (a high verb) never waits for the sweep.
 */
#define PROC_SWEEP_MS		100
#define PROC_READ_SIZE		4096

struct out_pipe {
	uv_pipe_t		 pipe;
	struct proc		*p;
	struct util_lines	 lines;
	bool			 open;
	bool			 reading;
};

struct proc {
	uv_loop_t		*loop;
	const struct config	*cfg;
	struct proc_callbacks	 cb;
	void			*arg;
	uv_process_t		 process;
	struct out_pipe		 out[2];
	uv_timer_t		 restart_timer;
	uv_timer_t		 kill_timer;
	uv_timer_t		 drain_timer;
	uv_timer_t		 sweep_timer;	/* reads the output now and then */
	bool			 running;	/* spawned, exit not yet seen */
	bool			 exited;	/* exit seen, not yet reported */
	bool			 stopping;	/* proc_stop: no restart */
	bool			 freeing;
	int			 pid;
	int64_t			 exit_status;
	int			 term_signal;
	uint64_t		 started_at;	/* uv_now */
	unsigned		 backoff_ms;
	int			 open_handles;
	void			(*stop_done)(void *);
	void			*stop_arg;
	char			 last_line[512];
	char			 last_error[512];
};

static void report_exit(struct proc *p);

static void
on_closed(uv_handle_t *h)
{
	struct proc *p = h->data;

	if (--p->open_handles == 0 && p->freeing)
		free(p);
}

struct proc *
proc_new(uv_loop_t *loop, const struct config *cfg,
    const struct proc_callbacks *cb, void *arg)
{
	struct proc *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->loop = loop;
	p->cfg = cfg;
	p->cb = *cb;
	p->arg = arg;
	p->backoff_ms = (unsigned)cfg->restart_min_ms;
	uv_timer_init(loop, &p->restart_timer);
	uv_timer_init(loop, &p->kill_timer);
	uv_timer_init(loop, &p->drain_timer);
	uv_timer_init(loop, &p->sweep_timer);
	p->restart_timer.data = p->kill_timer.data = p->drain_timer.data = p;
	p->sweep_timer.data = p;
	uv_unref((uv_handle_t *)&p->sweep_timer);
	p->open_handles = 4;
	return p;
}

bool
proc_running(const struct proc *p)
{
	return p->running;
}

int
proc_pid(const struct proc *p)
{
	return p->running ? p->pid : 0;
}

int
proc_kill(struct proc *p, int sig)
{
	if (!p->running)
		return UV_ESRCH;
	return uv_process_kill(&p->process, sig);
}

static int
argv_add(char **argv, size_t *n, const char *s)
{
	if ((argv[*n] = strdup(s)) == NULL)
		return -ENOMEM;
	(*n)++;
	return 0;
}

void
proc_free_argv(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

char **
proc_build_argv(const struct config *cfg)
{
	const char *fixed[] = {
		cfg->ovpn_binary, "--config", cfg->ovpn_config,
		"--management", cfg->mgmt_sock, "unix",
		"--management-hold", "--management-signal",
		"--writepid", cfg->pid_file, "--suppress-timestamps",
		"--machine-readable-output",
	};
	char arg[3][4200];
	struct passwd *pw;
	char **argv;
	size_t i, n = 0;

	if ((argv = calloc(24, sizeof(*argv))) == NULL)
		return NULL;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (argv_add(argv, &n, fixed[i]) < 0)
			goto fail;
	/* openvpn itself refuses management clients of any other user. */
	if ((pw = getpwuid(geteuid())) != NULL && pw->pw_name != NULL &&
	    (argv_add(argv, &n, "--management-client-user") < 0 ||
	    argv_add(argv, &n, pw->pw_name) < 0))
		goto fail;
	if (cfg->ovpn_plugin[0] != '\0') {
		if (util_snprintf(arg[0], sizeof(arg[0]), "events=%s",
		    cfg->events_sock) < 0 ||
		    util_snprintf(arg[1], sizeof(arg[1]), "consent=%s",
		    cfg->consent_file) < 0 ||
		    util_snprintf(arg[2], sizeof(arg[2]), "policy=%s",
		    cfg->plugin_policy) < 0)
			goto fail;
		if (argv_add(argv, &n, "--plugin") < 0 ||
		    argv_add(argv, &n, cfg->ovpn_plugin) < 0 ||
		    argv_add(argv, &n, arg[0]) < 0 ||
		    argv_add(argv, &n, arg[1]) < 0 ||
		    argv_add(argv, &n, arg[2]) < 0)
			goto fail;
	}
	return argv;
fail:
	proc_free_argv(argv);
	errno = ENOMEM;
	return NULL;
}

/* openvpn's msg() flags (src/openvpn/error.h). */
#define OVPN_M_FATAL	(1u << 4)
#define OVPN_M_NONFATAL	(1u << 5)
#define OVPN_M_WARN	(1u << 6)
#define OVPN_M_DEBUG	(1u << 7)

/* openvpn's most telling line: the last one that reports an error. */
static bool
looks_like_error(const char *line)
{
	static const char *const words[] = { "error", "fatal", "cannot",
	    "failed", "exiting due to" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(line, words[i]) != NULL)
			return true;
	return false;
}

/*
 * --machine-readable-output: "<seconds>.<micro> <flags in hex> <text>".
 * The flags become the letters openvpn's management interface uses for
 * its >LOG lines (F fatal, N non-fatal error, W warning, D debug, I
 * information), so the log events need no second copy of every line over
 * the management socket. Anything else (a line openvpn printed before it
 * parsed its options) is passed on as it is, without flags.
 */
static const char *
split_line(const char *line, char *flags, size_t flen)
{
	const char *p = line;
	unsigned long f;
	char *end;
	size_t n = 0;

	flags[0] = '\0';
	while (*p >= '0' && *p <= '9')
		p++;
	if (p == line || *p++ != '.')
		return line;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != ' ')
		return line;
	f = strtoul(p, &end, 16);
	if (end == p || *end != ' ')
		return line;
	if ((f & OVPN_M_FATAL) && n + 1 < flen)
		flags[n++] = 'F';
	if ((f & OVPN_M_NONFATAL) && n + 1 < flen)
		flags[n++] = 'N';
	if ((f & OVPN_M_WARN) && n + 1 < flen)
		flags[n++] = 'W';
	if ((f & OVPN_M_DEBUG) && n + 1 < flen)
		flags[n++] = 'D';
	if (n == 0 && n + 1 < flen)
		flags[n++] = 'I';
	flags[n] = '\0';
	return end + 1;
}

static void
on_out_line(const char *raw, void *arg)
{
	struct proc *p = arg;
	char flags[8];
	const char *line = split_line(raw, flags, sizeof(flags));

	if (line[0] == '\0')
		return;
	log_info("openvpn: %s", line);
	util_copy_printable(p->last_line, sizeof(p->last_line), line);
	/* openvpn's "Note:" lines mention failures that are not errors. */
	if (looks_like_error(line) && strncmp(line, "Note:", 5) != 0 &&
	    strncmp(line, "Use --help", 10) != 0 &&
	    strcmp(line, "Exiting due to fatal error") != 0 &&
	    strcmp(line, "Options error: Please correct these errors.") != 0)
		util_copy_printable(p->last_error, sizeof(p->last_error), line);
	if (p->cb.on_line != NULL)
		p->cb.on_line(line, flags, p->arg);
}

static void
on_out_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char rbuf[PROC_READ_SIZE];

	/* One loop, one read at a time: a static buffer is enough. */
	*buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void
on_pipe_closed(uv_handle_t *h)
{
	struct out_pipe *o = h->data;
	struct proc *p = o->p;

	util_lines_deinit(&o->lines);
	o->open = false;
	if (p->exited && !p->out[0].open && !p->out[1].open)
		report_exit(p);
	on_closed((uv_handle_t *)&p->restart_timer);
}

static void
close_pipe(struct out_pipe *o)
{
	if (!o->open || uv_is_closing((uv_handle_t *)&o->pipe))
		return;
	util_lines_flush(&o->lines, on_out_line, o->p);
	uv_close((uv_handle_t *)&o->pipe, on_pipe_closed);
}

static void
on_out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct out_pipe *o = s->data;

	if (n < 0) {
		close_pipe(o);
		return;
	}
	util_lines_feed(&o->lines, buf->base, (size_t)n, on_out_line, o->p);
	/* Empty for now: stop until the next drain (after an exit, read on
	 * to the end). */
	if ((size_t)n < PROC_READ_SIZE && !o->p->exited && o->open &&
	    !uv_is_closing((uv_handle_t *)&o->pipe)) {
		uv_read_stop(s);
		o->reading = false;
	}
}

static void
out_read(struct out_pipe *o)
{
	if (!o->open || o->reading || uv_is_closing((uv_handle_t *)&o->pipe))
		return;
	if (uv_read_start((uv_stream_t *)&o->pipe, on_out_alloc,
	    on_out_read) == 0)
		o->reading = true;
}

void
proc_drain(struct proc *p)
{
	out_read(&p->out[0]);
	out_read(&p->out[1]);
}

static void
on_sweep(uv_timer_t *t)
{
	proc_drain(t->data);
}

static void
describe_exit(struct proc *p, char *why, size_t len)
{
	const char *words = p->last_error[0] != '\0' ? p->last_error :
	    p->last_line;

	/* A kill says nothing about openvpn's last line. */
	if (p->term_signal != 0)
		words = p->last_error;
	if (p->term_signal != 0)
		snprintf(why, len, "openvpn was killed by signal %d (%s)%s%s",
		    p->term_signal, strsignal(p->term_signal),
		    words[0] != '\0' ? "; its last words: " : "", words);
	else
		snprintf(why, len, "openvpn exited with status %lld%s%s",
		    (long long)p->exit_status,
		    words[0] != '\0' ? ": " : "", words);
}

static void
on_restart(uv_timer_t *t)
{
	struct proc *p = t->data;
	int rc;

	if ((rc = proc_start(p)) < 0)
		log_warnx("openvpn: cannot start %s: %s", p->cfg->ovpn_binary,
		    uv_strerror(rc));
}

static void
report_exit(struct proc *p)
{
	char why[1200];
	int64_t restart_ms = -1;
	uint64_t ran = uv_now(p->loop) - p->started_at;

	p->exited = false;
	uv_timer_stop(&p->drain_timer);
	uv_timer_stop(&p->kill_timer);
	describe_exit(p, why, sizeof(why));
	if (ran >= PROC_HEALTHY_MS)
		p->backoff_ms = (unsigned)p->cfg->restart_min_ms;
	if (!p->stopping && !p->freeing) {
		restart_ms = p->backoff_ms;
		uv_timer_start(&p->restart_timer, on_restart, p->backoff_ms, 0);
		p->backoff_ms = p->backoff_ms * 2 > (unsigned)p->cfg->restart_max_ms
		    ? (unsigned)p->cfg->restart_max_ms : p->backoff_ms * 2;
	}
	if (p->cb.on_exited != NULL && !p->freeing)
		p->cb.on_exited(p->pid, p->exit_status, p->term_signal, why,
		    restart_ms, p->arg);
	if (p->stopping && p->stop_done != NULL) {
		void (*done)(void *) = p->stop_done;

		p->stop_done = NULL;
		done(p->stop_arg);
	}
}

static void
on_drain_timeout(uv_timer_t *t)
{
	struct proc *p = t->data;

	/* Something else holds the pipes open; report without them. */
	close_pipe(&p->out[0]);
	close_pipe(&p->out[1]);
}

static void
on_not_run(uv_timer_t *t)
{
	struct proc *p = t->data;

	if (p->exited && !p->out[0].open && !p->out[1].open)
		report_exit(p);
}

static void
on_process_closed(uv_handle_t *h)
{
	struct proc *p = h->data;

	on_closed((uv_handle_t *)&p->restart_timer);
}

static void
on_process_exit(uv_process_t *h, int64_t status, int sig)
{
	struct proc *p = h->data;

	p->running = false;
	p->exited = true;
	p->exit_status = status;
	p->term_signal = sig;
	uv_timer_stop(&p->sweep_timer);
	proc_drain(p);		/* to the end of its output */
	uv_close((uv_handle_t *)h, on_process_closed);
	if (!p->out[0].open && !p->out[1].open)
		report_exit(p);
	else
		uv_timer_start(&p->drain_timer, on_drain_timeout, PROC_DRAIN_MS,
		    0);
}

static int
open_out(struct proc *p, struct out_pipe *o)
{
	int rc;

	memset(o, 0, sizeof(*o));
	o->p = p;
	if ((rc = util_lines_init(&o->lines, PROC_LINE_MAX)) < 0)
		return UV_ENOMEM;
	if ((rc = uv_pipe_init(p->loop, &o->pipe, 0)) < 0) {
		util_lines_deinit(&o->lines);
		return rc;
	}
	o->pipe.data = o;
	o->open = true;
	p->open_handles++;
	return 0;
}

int
proc_start(struct proc *p)
{
	uv_process_options_t opt;
	uv_stdio_container_t stdio[3];
	char **argv;
	mode_t old_mask;
	int rc;

	if (p->running || p->exited || p->out[0].open || p->out[1].open ||
	    p->freeing)
		return 0;
	uv_timer_stop(&p->restart_timer);
	p->stopping = false;
	if ((argv = proc_build_argv(p->cfg)) == NULL) {
		rc = UV_ENOMEM;
		goto not_run;
	}
	if ((rc = open_out(p, &p->out[0])) < 0)
		goto not_run;
	if ((rc = open_out(p, &p->out[1])) < 0) {
		close_pipe(&p->out[0]);
		goto not_run;
	}
	memset(&opt, 0, sizeof(opt));
	opt.file = argv[0];
	opt.args = argv;
	opt.exit_cb = on_process_exit;
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&p->out[0].pipe;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&p->out[1].pipe;
	opt.stdio = stdio;
	opt.stdio_count = 3;
	p->process.data = p;
	p->last_line[0] = p->last_error[0] = '\0';
	/* openvpn creates its management socket: owner-only from birth. */
	old_mask = umask(0177);
	rc = uv_spawn(p->loop, &p->process, &opt);
	umask(old_mask);
	if (rc < 0) {
		/* A failed spawn still needs the handle closed. */
		p->open_handles++;
		uv_close((uv_handle_t *)&p->process, on_process_closed);
		close_pipe(&p->out[0]);
		close_pipe(&p->out[1]);
		goto not_run;
	}
	p->open_handles++;
	p->running = true;
	p->pid = p->process.pid;
	p->started_at = uv_now(p->loop);
	p->out[0].reading = p->out[1].reading = false;
	proc_drain(p);
	uv_timer_start(&p->sweep_timer, on_sweep, PROC_SWEEP_MS, PROC_SWEEP_MS);
	log_info("openvpn: started %s (pid %d)", argv[0], p->pid);
	if (p->cb.on_started != NULL)
		p->cb.on_started(p->pid, p->arg);
	goto out;
not_run:
	/*
	 * Reported as an exit, so the restart is scheduled with backoff: a
	 * start that failed for want of memory must not be the last one.
	 * The pipes' close reports it, or, with none open, the drain timer
	 * (never inside this call).
	 */
	snprintf(p->last_error, sizeof(p->last_error), "cannot run %s: %s",
	    p->cfg->ovpn_binary, uv_strerror(rc));
	p->exit_status = 127;
	p->term_signal = 0;
	p->exited = true;
	p->started_at = uv_now(p->loop);	/* so backoff grows */
	if (!p->out[0].open && !p->out[1].open)
		uv_timer_start(&p->drain_timer, on_not_run, 0, 0);
out:
	proc_free_argv(argv);
	return rc;
}

static void
on_kill_timeout(uv_timer_t *t)
{
	struct proc *p = t->data;

	if (!p->running)
		return;
	log_warnx("openvpn: pid %d did not exit within %d ms of SIGTERM; "
	    "sending SIGKILL", p->pid, p->cfg->stop_timeout_ms);
	(void)uv_process_kill(&p->process, SIGKILL); /* exit_cb follows */
}

static void
on_stopped_idle(uv_timer_t *t)
{
	struct proc *p = t->data;
	void (*done)(void *) = p->stop_done;

	p->stop_done = NULL;
	if (done != NULL)
		done(p->stop_arg);
}

void
proc_stop(struct proc *p, void (*done)(void *arg), void *arg)
{
	p->stopping = true;
	uv_timer_stop(&p->restart_timer);
	p->stop_done = done;
	p->stop_arg = arg;
	if (!p->running && !p->exited && !p->out[0].open && !p->out[1].open) {
		/* Never call done from inside proc_stop. */
		uv_timer_start(&p->restart_timer, on_stopped_idle, 0, 0);
		return;
	}
	if (p->running) {
		(void)uv_process_kill(&p->process, SIGTERM);
		uv_timer_start(&p->kill_timer, on_kill_timeout,
		    (uint64_t)p->cfg->stop_timeout_ms, 0);
	}
}

void
proc_free(struct proc *p)
{
	if (p == NULL)
		return;
	p->freeing = true;
	p->stop_done = NULL;
	if (p->running)
		(void)uv_process_kill(&p->process, SIGKILL);
	close_pipe(&p->out[0]);
	close_pipe(&p->out[1]);
	uv_close((uv_handle_t *)&p->restart_timer, on_closed);
	uv_close((uv_handle_t *)&p->kill_timer, on_closed);
	uv_close((uv_handle_t *)&p->drain_timer, on_closed);
	uv_close((uv_handle_t *)&p->sweep_timer, on_closed);
}

/* True when /proc/pid/cmdline names our management socket. */
static bool
is_our_openvpn(int pid, const char *sock)
{
	char path[64], buf[8192];
	ssize_t n, i;
	int fd;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
		if (strcmp(buf + i, sock) == 0)
			found = true;
	return found;
}

/*
 * Gone, or exited and not yet reaped: a stale openvpn is an orphan, and
 * its new parent (init, or whoever) reaps it when it gets round to it,
 * if ever. A zombie holds no socket and no file; kill(pid, 0) still
 * finds it, /proc/<pid>/stat says 'Z'.
 */
static bool
pid_gone(int pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold ')', the state follows the
	 * last one. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return false;
	return p[2] == 'Z' || p[2] == 'X';
}

static bool
wait_gone(int pid, int ms)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int waited;

	for (waited = 0; waited < ms; waited += 20) {
		if (pid_gone(pid))
			return true;
		nanosleep(&ts, NULL);
	}
	return pid_gone(pid);
}

int
proc_kill_stale(const struct config *cfg)
{
	char buf[32];
	ssize_t n;
	long pid;
	char *end;
	int fd;

	if ((fd = open(cfg->pid_file, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		goto done;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || pid <= 1 || pid > 4194304)
		goto done;
	if (!is_our_openvpn((int)pid, cfg->mgmt_sock))
		goto done;
	log_warnx("openvpn: pid %ld was left behind by an earlier supportvpnd;"
	    " stopping it", pid);
	if (kill((pid_t)pid, SIGTERM) == 0 && !wait_gone((int)pid, 3000)) {
		log_warnx("openvpn: pid %ld ignored SIGTERM; sending SIGKILL",
		    pid);
		(void)kill((pid_t)pid, SIGKILL);
		if (!wait_gone((int)pid, 2000))
			return -EBUSY;
	}
done:
	(void)unlink(cfg->pid_file);	/* openvpn writes a new one */
	return 0;
}
