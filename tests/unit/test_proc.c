/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: proc_kill_stale, which ends the openvpn an earlier
 * supportvpnd left behind. The stand-in is this test binary re-executed
 * with the management socket's path in its command line (which is how
 * proc_kill_stale recognises an openvpn of ours), paused until a signal.
 */
#define _GNU_SOURCE		/* memmem */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "proc.h"

#define PAUSE_ARG	"--pause-as-stale-openvpn"

struct fx {
	char		 dir[64];
	struct config	 cfg;
	pid_t		 child;
};

static char self[4096];

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct config_error err;
	char json[512];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/svtest-proc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(json, sizeof(json), "{\"state_dir\": \"%s\", \"run_dir\": "
	    "\"%s\", \"log_file\": \"\", \"openvpn\": {\"plugin\": \"\"}}",
	    f->dir, f->dir);
	if (config_load_string(&f->cfg, json, &err) != 0)
		fail_msg("config: %s", err.text);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f->child > 0) {
		(void)kill(f->child, SIGKILL);
		(void)waitpid(f->child, NULL, 0);
	}
	(void)unlink(f->cfg.pid_file);
	(void)rmdir(f->dir);
	config_deinit(&f->cfg);
	free(f);
	return 0;
}

/* Starts the stand-in (ignoring SIGTERM if asked), waits until it runs
 * with its new command line, and writes its pid file. */
static void
spawn_stale(struct fx *f, const char *sock, bool ignore_term)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	char path[64], buf[8192];
	FILE *fp;
	ssize_t n = 0;
	int fd, tries;

	f->child = fork();
	assert_true(f->child >= 0);
	if (f->child == 0) {
		if (ignore_term)
			signal(SIGTERM, SIG_IGN);	/* kept across exec */
		execl(self, self, PAUSE_ARG, sock, (char *)NULL);
		_exit(127);
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)f->child);
	for (tries = 0; tries < 200; tries++) {
		if ((fd = open(path, O_RDONLY)) >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0 && memmem(buf, (size_t)n, PAUSE_ARG,
			    strlen(PAUSE_ARG)) != NULL)
				break;
		}
		nanosleep(&ts, NULL);
	}
	assert_true(tries < 200);
	assert_non_null(fp = fopen(f->cfg.pid_file, "w"));
	fprintf(fp, "%d\n", (int)f->child);
	assert_int_equal(fclose(fp), 0);
}

/* Whether the child has exited (it may be a zombie: we did not reap it). */
static bool
child_exited(struct fx *f)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)f->child, &si, WEXITED | WNOHANG |
	    WNOWAIT) == 0 && si.si_pid == f->child;
}

/*
 * Regression (controller/proc.c, wait_gone): an openvpn that exited on
 * SIGTERM still answers kill(pid, 0) until its new parent reaps it (a
 * zombie). supportvpnd took that for "still running": after a crash, its
 * restart waited out the 3 s grace, sent a SIGKILL that changed nothing,
 * waited 2 s more and said it could not stop the old openvpn (-EBUSY);
 * where the parent never reaps, on every boot.
 */
static void
test_stale_zombie_counts_as_gone(void **state)
{
	struct fx *f = *state;

	spawn_stale(f, f->cfg.mgmt_sock, false);
	assert_int_equal(proc_kill_stale(&f->cfg), 0);
	assert_true(child_exited(f));
	assert_int_equal(access(f->cfg.pid_file, F_OK), -1);
}

/* One that ignores SIGTERM is killed with SIGKILL. */
static void
test_stale_ignoring_sigterm_is_killed(void **state)
{
	struct fx *f = *state;
	int status;

	spawn_stale(f, f->cfg.mgmt_sock, true);
	assert_int_equal(proc_kill_stale(&f->cfg), 0);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	f->child = 0;
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* A pid file naming a process that is not our openvpn (a reused pid):
 * left alone, the pid file removed. */
static void
test_stale_pid_of_another_process_left_alone(void **state)
{
	struct fx *f = *state;

	spawn_stale(f, "/somewhere/else/openvpn.sock", false);
	assert_int_equal(proc_kill_stale(&f->cfg), 0);
	assert_false(child_exited(f));
	assert_int_equal(access(f->cfg.pid_file, F_OK), -1);
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_stale_zombie_counts_as_gone),
		T(test_stale_ignoring_sigterm_is_killed),
		T(test_stale_pid_of_another_process_left_alone),
	};
	ssize_t n;

	if (argc == 3 && strcmp(argv[1], PAUSE_ARG) == 0) {
		for (;;)
			pause();
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return 1;
	self[n] = '\0';
	log_init(LOG_LEVEL_ERROR, 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
