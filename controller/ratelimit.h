/* SPDX-License-Identifier: MIT */
/*
 * A failure limiter for logins and the API token, and a budget for log
 * lines an outsider can repeat; without I/O or clocks: the caller passes
 * the time in milliseconds, >= 0 and never going back (a monotonic clock
 * such as uv_now(); not the wall clock, which can jump).
 *
 * The rules, with the defaults (5 failures, 60 s window, 60 s lock-out,
 * 1 h cap):
 * - A failure counts while it is less than window_ms old.
 * - The max_failures-th failure within the window starts a lock-out and
 *   clears the count. So attempts 1-5 are checked and answered normally;
 *   the 6th attempt, if it comes within the lock-out, is refused without
 *   being checked, even with the right password.
 * - While locked out, rl_allowed() is false with the time left; attempts
 *   are not checked, so rl_failure() then has no effect.
 * - Each lock-out that follows another one without a success or a quiet
 *   period in between is twice as long as the last, up to lockout_max_ms.
 * - Quiet period: window_ms after a lock-out ended, or after the last
 *   failure if later, with no failure. It resets the doubling.
 * - A success clears the count and the doubling.
 */
#ifndef SUPPORTVPN_RATELIMIT_H
#define SUPPORTVPN_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* Upper bound for max_failures: the window's timestamps live inline. */
#define RL_FAILURES_MAX		32

struct rl_config {
	int	max_failures;		/* 1..RL_FAILURES_MAX */
	int64_t	window_ms;		/* > 0 */
	int64_t	lockout_ms;		/* > 0, the first lock-out */
	int64_t	lockout_max_ms;		/* >= lockout_ms */
};

#define RL_CONFIG_DEFAULT	{ \
	.max_failures = 5, \
	.window_ms = 60 * 1000, \
	.lockout_ms = 60 * 1000, \
	.lockout_max_ms = 60 * 60 * 1000, \
}

/* Embed it; only rl_* touch the fields. */
struct ratelimit {
	struct rl_config cfg;
	int64_t	fail_ms[RL_FAILURES_MAX];	/* ring of recent failures */
	int	nfail;				/* entries in the ring */
	int	head;				/* index of the oldest */
	int	streak;				/* lock-outs in a row */
	bool	locked;				/* a lock-out has started */
	int64_t	locked_until;			/* valid when locked */
	int64_t	quiet_from;			/* last failure or lock end */
};

/*
 * Initialises r with cfg (copied; NULL for RL_CONFIG_DEFAULT). 0, or
 * -EINVAL when cfg breaks the bounds above (r is then unusable).
 */
int	rl_init(struct ratelimit *r, const struct rl_config *cfg);

/*
 * May an attempt be checked at now? False while locked out, with the
 * milliseconds left in *retry_after_ms (> 0); true with 0 there.
 * retry_after_ms may be NULL. Call it right before each check; if checks
 * run concurrently (uv_queue_work), keep at most one in flight per
 * limiter, or several could pass before the first failure is counted.
 */
bool	rl_allowed(struct ratelimit *r, int64_t now, int64_t *retry_after_ms);

/* Records a checked attempt that failed at now. */
void	rl_failure(struct ratelimit *r, int64_t now);

/*
 * Records a checked attempt that succeeded: clears the failure count and
 * the doubling. A lock-out in progress (there should be none, as locked
 * attempts are not checked) is left to run out.
 */
void	rl_success(struct ratelimit *r, int64_t now);

/*
 * A budget for a log line that an outsider can make us repeat (a refused
 * connection, a dropped datagram): at most burst lines per window_ms;
 * the ones over it are only counted. Zero-initialise it.
 */
struct rl_budget {
	int64_t		since;		/* start of the current window */
	unsigned	used;		/* lines logged in it */
	unsigned	missed;		/* lines not logged since the last */
	bool		started;
};

/*
 * May a line be logged at now (same clock rules as above)? When true,
 * *missed gets the number of lines suppressed before it (to be reported
 * with it) and the count starts again; when false, the line is counted.
 */
bool	rl_budget_take(struct rl_budget *b, int64_t now, unsigned burst,
	    int64_t window_ms, unsigned *missed);

#endif
