/* SPDX-License-Identifier: MIT */
/*
 * A failure limiter (sliding window, doubling lock-outs) and a budget for
 * repeated log lines; no I/O, no clock of their own.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ratelimit.h"

int
rl_init(struct ratelimit *r, const struct rl_config *cfg)
{
	static const struct rl_config def = RL_CONFIG_DEFAULT;

	memset(r, 0, sizeof(*r));
	if (cfg == NULL)
		cfg = &def;
	if (cfg->max_failures < 1 || cfg->max_failures > RL_FAILURES_MAX ||
	    cfg->window_ms <= 0 || cfg->lockout_ms <= 0 ||
	    cfg->lockout_max_ms < cfg->lockout_ms)
		return -EINVAL;
	r->cfg = *cfg;
	return 0;
}

static bool
locked_at(const struct ratelimit *r, int64_t now)
{
	return r->locked && now < r->locked_until;
}

bool
rl_allowed(struct ratelimit *r, int64_t now, int64_t *retry_after_ms)
{
	bool locked = locked_at(r, now);

	if (retry_after_ms != NULL)
		*retry_after_ms = locked ? r->locked_until - now : 0;
	return !locked;
}

/* lockout_ms doubled streak times, without overflow, capped. */
static int64_t
lockout_len(const struct rl_config *cfg, int streak)
{
	int64_t len = cfg->lockout_ms;
	int i;

	for (i = 0; i < streak && len < cfg->lockout_max_ms; i++)
		len = len > cfg->lockout_max_ms / 2 ? cfg->lockout_max_ms :
		    len * 2;
	return len < cfg->lockout_max_ms ? len : cfg->lockout_max_ms;
}

static void
forget_failures(struct ratelimit *r)
{
	r->nfail = 0;
	r->head = 0;
}

/* Drops failures that are window_ms old or older. */
static void
expire(struct ratelimit *r, int64_t now)
{
	while (r->nfail > 0 &&
	    now - r->fail_ms[r->head] >= r->cfg.window_ms) {
		r->head = (r->head + 1) % RL_FAILURES_MAX;
		r->nfail--;
	}
}

static void
start_lockout(struct ratelimit *r, int64_t now)
{
	int64_t len = lockout_len(&r->cfg, r->streak);

	r->locked = true;
	r->locked_until = len > INT64_MAX - now ? INT64_MAX : now + len;
	/* The quiet period counts from the end of the lock-out. */
	r->quiet_from = r->locked_until;
	if (r->streak < INT_MAX)
		r->streak++;
	/* The lock-out used these up; the next one needs a full count. */
	forget_failures(r);
}

void
rl_failure(struct ratelimit *r, int64_t now)
{
	/* A locked-out attempt was never checked: it is no failure. */
	if (locked_at(r, now))
		return;
	if (r->streak > 0 && now - r->quiet_from >= r->cfg.window_ms)
		r->streak = 0;
	expire(r, now);
	/* nfail < max_failures <= RL_FAILURES_MAX: a lock-out empties it. */
	r->fail_ms[(r->head + r->nfail) % RL_FAILURES_MAX] = now;
	r->nfail++;
	r->quiet_from = now;
	if (r->nfail >= r->cfg.max_failures)
		start_lockout(r, now);
}

void
rl_success(struct ratelimit *r, int64_t now)
{
	forget_failures(r);
	r->streak = 0;
}

bool
rl_budget_take(struct rl_budget *b, int64_t now, unsigned burst,
    int64_t window_ms, unsigned *missed)
{
	if (!b->started || now - b->since >= window_ms) {
		b->started = true;
		b->since = now;
		b->used = 0;
	}
	if (b->used >= burst) {
		if (b->missed < UINT_MAX)
			b->missed++;
		return false;
	}
	b->used++;
	*missed = b->missed;
	b->missed = 0;
	return true;
}
