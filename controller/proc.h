/* SPDX-License-Identifier: MIT */
/*
 * Supervision of the openvpn process: spawns it with the options the
 * controller owns, forwards its output to the log, restarts it with capped
 * exponential backoff when it exits, and stops it on request.
 */
#ifndef SUPPORTVPN_PROC_H
#define SUPPORTVPN_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct config;
struct proc;

struct proc_callbacks {
	/* openvpn was spawned with this pid. */
	void	(*on_started)(int pid, void *arg);
	/*
	 * openvpn (pid) ended and its output is drained: exit_status, or the
	 * signal that killed it (0 if none). why is a sentence (status or
	 * signal and its last error line), borrowed. restart_ms is when it
	 * will be spawned again, or -1 when it will not.
	 */
	void	(*on_exited)(int pid, int64_t exit_status, int term_signal,
		    const char *why, int64_t restart_ms, void *arg);
	/* One line of openvpn's output and its flags ("W", "I", ...; "" if
	 * openvpn gave none), borrowed; may be NULL. */
	void	(*on_line)(const char *line, const char *flags, void *arg);
};

/* cfg is borrowed and must outlive the proc. NULL + errno. */
struct proc *proc_new(uv_loop_t *loop, const struct config *cfg,
    const struct proc_callbacks *cb, void *arg);
/* Stops supervising; a running openvpn is killed first (SIGKILL). */
void	proc_free(struct proc *p);
/* Spawns openvpn now if it is not running. 0 or a UV_E* code. */
int	proc_start(struct proc *p);
/*
 * Stops openvpn for good: SIGTERM, then SIGKILL after the configured stop
 * timeout. done is called once it has exited (at once if not running).
 */
void	proc_stop(struct proc *p, void (*done)(void *arg), void *arg);
/* Reads what openvpn has written so far (its lines follow from the loop);
 * call when openvpn reports something on its management socket. */
void	proc_drain(struct proc *p);
/* Sends sig to a running openvpn. 0 or a UV_E* code. */
int	proc_kill(struct proc *p, int sig);
bool	proc_running(const struct proc *p);
int	proc_pid(const struct proc *p);

/*
 * Before the first spawn: ends an openvpn left behind by an earlier
 * supportvpnd (found through the pid file and matched by its command
 * line). Blocks at most a few seconds. 0, or -errno if it could not.
 */
int	proc_kill_stale(const struct config *cfg);

/* Builds openvpn's argument vector (NULL-terminated, new; free with
 * proc_free_argv). For the daemon and for tests. */
char	**proc_build_argv(const struct config *cfg);
void	proc_free_argv(char **argv);

#endif
