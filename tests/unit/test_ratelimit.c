/* SPDX-License-Identifier: MIT */
/* Unit tests: the login failure limiter (window, lock-out, doubling). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

#define SEC	1000
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)

/* An attempt that is checked and fails. */
static void
fail_at(struct ratelimit *r, int64_t now)
{
	int64_t retry = -1;

	assert_true(rl_allowed(r, now, &retry));
	assert_int_equal(retry, 0);
	rl_failure(r, now);
}

static void
assert_locked(struct ratelimit *r, int64_t now, int64_t retry_want)
{
	int64_t retry = -1;

	assert_false(rl_allowed(r, now, &retry));
	assert_int_equal(retry, retry_want);
}

/* max_failures failures 1 ms apart from start; returns the last one's time. */
static int64_t
burst(struct ratelimit *r, int64_t start)
{
	int i;

	for (i = 0; i < r->cfg.max_failures; i++)
		fail_at(r, start + i);
	return start + r->cfg.max_failures - 1;
}

static void
test_init(void **state)
{
	static const struct rl_config bad[] = {
		{ 0, MIN, MIN, HOUR },
		{ RL_FAILURES_MAX + 1, MIN, MIN, HOUR },
		{ 5, 0, MIN, HOUR },
		{ 5, MIN, 0, HOUR },
		{ 5, MIN, MIN, MIN - 1 },
	};
	struct rl_config ok = { RL_FAILURES_MAX, 1, 1, 1 };
	struct ratelimit r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rl_init(&r, &bad[i]), -EINVAL);
	assert_int_equal(rl_init(&r, &ok), 0);
	assert_int_equal(rl_init(&r, NULL), 0);
	assert_int_equal(r.cfg.max_failures, 5);
	assert_int_equal(r.cfg.window_ms, MIN);
	assert_int_equal(r.cfg.lockout_ms, MIN);
	assert_int_equal(r.cfg.lockout_max_ms, HOUR);
	assert_true(rl_allowed(&r, 0, NULL));
}

/* Attempts 1-5 are checked; after the 5th failure the 6th is refused. */
static void
test_fifth_failure_locks(void **state)
{
	struct ratelimit r;
	int64_t t;

	assert_int_equal(rl_init(&r, NULL), 0);
	for (t = 0; t < 4 * SEC; t += SEC)
		fail_at(&r, 1000 + t);		/* failures 1-4 */
	assert_true(rl_allowed(&r, 4999, NULL));	/* attempt 5 */
	rl_failure(&r, 5000);			/* failure 5 */
	assert_locked(&r, 5000, MIN);		/* attempt 6 refused */
	assert_locked(&r, 5001, MIN - 1);
	assert_false(rl_allowed(&r, 5002, NULL));
}

/* The 5th failure counts only if the 1st is less than window_ms old. */
static void
test_window_boundary(void **state)
{
	struct ratelimit r;

	assert_int_equal(rl_init(&r, NULL), 0);
	fail_at(&r, 0);
	fail_at(&r, 1);
	fail_at(&r, 2);
	fail_at(&r, 3);
	fail_at(&r, MIN - 1);			/* 0 is 59.999 s old */
	assert_locked(&r, MIN - 1, MIN);

	assert_int_equal(rl_init(&r, NULL), 0);
	fail_at(&r, 0);
	fail_at(&r, 1);
	fail_at(&r, 2);
	fail_at(&r, 3);
	fail_at(&r, MIN);			/* 0 is 60 s old: gone */
	assert_true(rl_allowed(&r, MIN, NULL));
	fail_at(&r, MIN + 1);			/* 1 gone: still 4 */
	assert_true(rl_allowed(&r, MIN + 1, NULL));
	fail_at(&r, MIN + 1);			/* 2 expires only at MIN+2 */
	assert_locked(&r, MIN + 1, MIN);
}

static void
test_lockout_ends(void **state)
{
	struct ratelimit r;
	int64_t t;

	assert_int_equal(rl_init(&r, NULL), 0);
	t = burst(&r, 10 * SEC);
	assert_locked(&r, t + MIN - 1, 1);
	assert_true(rl_allowed(&r, t + MIN, NULL));
	/* A fresh count: 4 more failures do not lock, the 5th does. */
	fail_at(&r, t + MIN);
	fail_at(&r, t + MIN + 1);
	fail_at(&r, t + MIN + 2);
	fail_at(&r, t + MIN + 3);
	assert_true(rl_allowed(&r, t + MIN + 4, NULL));
}

/* Refused attempts are not checked: they neither count nor extend. */
static void
test_failure_while_locked_ignored(void **state)
{
	struct ratelimit r;
	int64_t t;

	assert_int_equal(rl_init(&r, NULL), 0);
	t = burst(&r, 0);
	rl_failure(&r, t + 10 * SEC);
	rl_failure(&r, t + 20 * SEC);
	assert_locked(&r, t + 30 * SEC, 30 * SEC);
	assert_true(rl_allowed(&r, t + MIN, NULL));
	fail_at(&r, t + MIN);
	assert_true(rl_allowed(&r, t + MIN, NULL));
	assert_int_equal(r.nfail, 1);
}

static void
test_doubling_and_cap(void **state)
{
	static const int64_t want[] = {
		MIN, 2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN, 32 * MIN, HOUR,
		HOUR, HOUR,
	};
	struct ratelimit r;
	int64_t t = 0;
	size_t i;

	assert_int_equal(rl_init(&r, NULL), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		/* Each burst starts the moment the previous lock-out ends. */
		t = burst(&r, t);
		assert_locked(&r, t, want[i]);
		assert_locked(&r, t + want[i] - 1, 1);
		t += want[i];
		assert_true(rl_allowed(&r, t, NULL));
	}
}

/* A cap that is not a power-of-two multiple of the first lock-out. */
static void
test_cap_not_power_of_two(void **state)
{
	static const int64_t want[] = { 1000, 2000, 4000, 5000, 5000 };
	struct rl_config cfg = { 2, 10 * SEC, 1000, 5000 };
	struct ratelimit r;
	int64_t t = 0;
	size_t i;

	assert_int_equal(rl_init(&r, &cfg), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		t = burst(&r, t);
		assert_locked(&r, t, want[i]);
		t += want[i];
	}
}

/* Doubling up to an INT64_MAX cap saturates instead of overflowing. */
static void
test_no_overflow(void **state)
{
	struct rl_config cfg = { 1, 1, 1000, INT64_MAX };
	struct ratelimit r;
	int64_t t = 0, retry = 0;
	int i;

	assert_int_equal(rl_init(&r, &cfg), 0);
	for (i = 0; i < 64; i++) {
		fail_at(&r, t);
		assert_false(rl_allowed(&r, t, &retry));
		assert_true(retry > 0);
		if (retry == INT64_MAX - t)
			break;			/* locked until the end of time */
		assert_int_equal(retry, (int64_t)1000 << i);
		t += retry;
	}
	assert_true(i < 64);
}

static void
test_success_resets(void **state)
{
	struct ratelimit r;
	int64_t t;

	assert_int_equal(rl_init(&r, NULL), 0);
	/* The count: 4 failures, a success, 4 failures: still open. */
	fail_at(&r, 0);
	fail_at(&r, 1);
	fail_at(&r, 2);
	fail_at(&r, 3);
	assert_true(rl_allowed(&r, 4, NULL));
	rl_success(&r, 4);
	fail_at(&r, 5);
	fail_at(&r, 6);
	fail_at(&r, 7);
	fail_at(&r, 8);
	assert_true(rl_allowed(&r, 9, NULL));
	fail_at(&r, 9);
	assert_locked(&r, 9, MIN);

	/* The doubling: after a success the next lock-out is 60 s again. */
	t = 9 + MIN;
	t = burst(&r, t);
	assert_locked(&r, t, 2 * MIN);
	t += 2 * MIN;
	assert_true(rl_allowed(&r, t, NULL));
	rl_success(&r, t);
	t = burst(&r, t + 1);
	assert_locked(&r, t, MIN);
}

static void
test_quiet_period_resets(void **state)
{
	struct ratelimit r;
	int64_t t, end;

	assert_int_equal(rl_init(&r, NULL), 0);
	t = burst(&r, 0);
	end = t + MIN;
	/* A window with no failure after the lock-out ended. */
	t = burst(&r, end + MIN);
	assert_locked(&r, t, MIN);

	/* One failure short of a full window: the next one doubles. */
	assert_int_equal(rl_init(&r, NULL), 0);
	t = burst(&r, 0);
	end = t + MIN;
	t = burst(&r, end + MIN - 1);
	assert_locked(&r, t, 2 * MIN);

	/* Quiet counts from the last failure when that is later. */
	assert_int_equal(rl_init(&r, NULL), 0);
	t = burst(&r, 0);
	end = t + MIN;
	fail_at(&r, end + 30 * SEC);
	/* 59.995 s later; that failure is still in the window: 4 more. */
	for (t = end + 30 * SEC + MIN - 5; t < end + 30 * SEC + MIN - 1; t++)
		fail_at(&r, t);
	assert_locked(&r, t - 1, 2 * MIN);

	assert_int_equal(rl_init(&r, NULL), 0);
	t = burst(&r, 0);
	end = t + MIN;
	fail_at(&r, end + 30 * SEC);
	t = burst(&r, end + 30 * SEC + MIN);		/* 60 s later */
	assert_locked(&r, t, MIN);
}

/* 4 failures per window at most: a day of them never locks. */
static void
test_spread_out_never_locks(void **state)
{
	struct ratelimit r;
	int64_t t;

	assert_int_equal(rl_init(&r, NULL), 0);
	for (t = 0; t < 24 * HOUR; t += 15 * SEC)
		fail_at(&r, t);

	/* Slightly denser (5 per window) locks at the 5th. */
	assert_int_equal(rl_init(&r, NULL), 0);
	for (t = 0; t < 4 * 12 * SEC; t += 12 * SEC)
		fail_at(&r, t);
	fail_at(&r, 48 * SEC);
	assert_locked(&r, 48 * SEC, MIN);
}

/* The log budget: burst lines per window, the rest counted. */
static void
test_budget(void **state)
{
	struct rl_budget b = { 0 };
	unsigned missed = 99;
	int i;

	for (i = 0; i < 3; i++) {
		assert_true(rl_budget_take(&b, 5 * SEC + i, 3, 10 * SEC,
		    &missed));
		assert_int_equal(missed, 0);
	}
	/* Over the burst: counted, not logged, however many. */
	for (i = 0; i < 1000; i++)
		assert_false(rl_budget_take(&b, 6 * SEC, 3, 10 * SEC,
		    &missed));
	assert_false(rl_budget_take(&b, 15 * SEC - 1, 3, 10 * SEC, &missed));
	/* The next window: the first line reports them, then none again. */
	assert_true(rl_budget_take(&b, 15 * SEC, 3, 10 * SEC, &missed));
	assert_int_equal(missed, 1001);
	assert_true(rl_budget_take(&b, 15 * SEC, 3, 10 * SEC, &missed));
	assert_int_equal(missed, 0);
	/* A window counts from its first line, not from a fixed grid. */
	assert_true(rl_budget_take(&b, 16 * SEC, 3, 10 * SEC, &missed));
	assert_false(rl_budget_take(&b, 24 * SEC, 3, 10 * SEC, &missed));
	assert_true(rl_budget_take(&b, 25 * SEC, 3, 10 * SEC, &missed));
	assert_int_equal(missed, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_fifth_failure_locks),
		cmocka_unit_test(test_window_boundary),
		cmocka_unit_test(test_lockout_ends),
		cmocka_unit_test(test_failure_while_locked_ignored),
		cmocka_unit_test(test_doubling_and_cap),
		cmocka_unit_test(test_cap_not_power_of_two),
		cmocka_unit_test(test_no_overflow),
		cmocka_unit_test(test_success_resets),
		cmocka_unit_test(test_quiet_period_resets),
		cmocka_unit_test(test_spread_out_never_locks),
		cmocka_unit_test(test_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
