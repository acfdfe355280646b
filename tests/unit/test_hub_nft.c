/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: hub/nft.c applies the table for real, through libnftables,
 * in a network namespace of the test's own (unshare(CLONE_NEWNET) at
 * start, as test_checks does), so the host's ruleset is never touched.
 * What the kernel holds is read back with nft's JSON output.
 */
#define _GNU_SOURCE		/* unshare */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <nftables/libnftables.h>

#include "log.h"
#include "nft.h"
#include "ruleset.h"
#include "util.h"

#define TABLE	"hub_test"
#define T(x)	((203u << 24) | (113u << 8) | (x))

static const char *const tuns[] = { "tun0", "tun*" };

/* Runs cmd with JSON output; the parsed answer, or NULL if nft failed. */
static json_t *
nft_json(const char *cmd)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	json_t *out = NULL;

	assert_non_null(ctx);
	nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	assert_int_equal(nft_ctx_buffer_output(ctx), 0);
	assert_int_equal(nft_ctx_buffer_error(ctx), 0);
	if (nft_run_cmd_from_buffer(ctx, cmd) == 0)
		out = json_loads(nft_ctx_get_output_buffer(ctx), 0, NULL);
	nft_ctx_free(ctx);
	return out;
}

static void
nft_text(const char *cmd)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

	assert_non_null(ctx);
	assert_int_equal(nft_ctx_buffer_error(ctx), 0);
	if (nft_run_cmd_from_buffer(ctx, cmd) != 0)
		fail_msg("nft %s: %s", cmd, nft_ctx_get_error_buffer(ctx));
	nft_ctx_free(ctx);
}

static bool
table_exists(const char *name)
{
	char cmd[128];
	json_t *j;

	snprintf(cmd, sizeof(cmd), "list table inet %s", name);
	j = nft_json(cmd);
	json_decref(j);
	return j != NULL;
}

/*
 * The elements of one set as "a, b . c, ..." (sorted as nft lists them),
 * with timeouts left out; "" when empty.
 */
static void
set_elems(const char *set, char *buf, size_t len, int *min_timeout)
{
	char cmd[128];
	json_t *j, *item, *s, *e, *v;
	size_t i, k, n = 0;

	buf[0] = '\0';
	*min_timeout = -1;
	snprintf(cmd, sizeof(cmd), "list set inet " TABLE " %s", set);
	assert_non_null(j = nft_json(cmd));
	json_array_foreach(json_object_get(j, "nftables"), i, item) {
		if ((s = json_object_get(item, "set")) == NULL)
			continue;
		json_array_foreach(json_object_get(s, "elem"), k, e) {
			if (json_is_object(e)) {
				json_t *el = json_object_get(e, "elem");
				int t = (int)json_integer_value(
				    json_object_get(el, "timeout"));

				if (*min_timeout < 0 || t < *min_timeout)
					*min_timeout = t;
				v = json_object_get(json_object_get(el,
				    "val"), "concat");
				n += (size_t)snprintf(buf + n, len - n,
				    "%s%s . %s", n ? ", " : "",
				    json_string_value(json_array_get(v, 0)),
				    json_string_value(json_array_get(v, 1)));
			} else
				n += (size_t)snprintf(buf + n, len - n, "%s%s",
				    n ? ", " : "", json_string_value(e));
			assert_true(n < len);
		}
	}
	json_decref(j);
}

static void
expect_set(const char *set, const char *want)
{
	char got[1024];
	int t;

	set_elems(set, got, sizeof(got), &t);
	if (strcmp(got, want) != 0)
		fail_msg("set %s: got '%s', want '%s'", set, got, want);
}

static void
sample(struct ruleset *rs, int64_t now)
{
	static uint32_t appl[2], staff[1];
	static struct rs_elem el[2];

	appl[0] = T(3);
	appl[1] = T(13);
	staff[0] = T(2);
	el[0] = (struct rs_elem){ T(2), T(3), now + 3600000 };
	el[1] = (struct rs_elem){ T(2), T(13), now + 600000 };
	memset(rs, 0, sizeof(*rs));
	rs->appliances = appl;
	rs->nappliances = 2;
	rs->staff = staff;
	rs->nstaff = 1;
	rs->grants = el;
	rs->ngrants = 2;
}

static void
test_replace_and_delete(void **state)
{
	struct ruleset rs;
	struct nft *n;
	json_t *j;
	int64_t now = util_now_ms();
	char got[256], *text;
	int t;

	/* Somebody else's table, which must survive us. */
	nft_text("add table inet other; add chain inet other c");
	assert_non_null(n = nft_new(TABLE, tuns, 2));
	sample(&rs, now);
	assert_int_equal(nft_replace(n, &rs, now), 0);
	assert_true(table_exists(TABLE));
	expect_set("appliances", "203.0.113.3, 203.0.113.13");
	expect_set("staff", "203.0.113.2");
	set_elems("grants", got, sizeof(got), &t);
	assert_string_equal(got, "203.0.113.2 . 203.0.113.3, "
	    "203.0.113.2 . 203.0.113.13");
	/* The timeout is the time left (600 s for the nearer one). */
	assert_true(t > 590 && t <= 600);
	/* The forward hook and the clients chain, as built. */
	assert_non_null(j = nft_json("list chain inet " TABLE " forward"));
	assert_non_null(text = json_dumps(j, 0));
	assert_non_null(strstr(text, "\"hook\": \"forward\""));
	free(text);
	json_decref(j);
	assert_non_null(j = nft_json("list chain inet " TABLE " vpn_clients"));
	json_decref(j);
	/* Replacing again is atomic and idempotent. */
	assert_int_equal(nft_replace(n, &rs, now), 0);
	expect_set("staff", "203.0.113.2");
	assert_int_equal(nft_delete(n), 0);
	assert_false(table_exists(TABLE));
	assert_true(table_exists("other"));
	/* Deleting what is not there fails, with nft's message. */
	assert_int_equal(nft_delete(n), -1);
	assert_non_null(strstr(nft_error(n), "No such file"));
	nft_free(n);
	nft_text("delete table inet other");
}

static void
test_sync(void **state)
{
	uint32_t appl2[1] = { T(4) }, staff2[2] = { T(2), T(5) };
	struct rs_elem el2[2];
	struct ruleset rs, rs2, empty;
	struct nft *n;
	int64_t now = util_now_ms();
	bool replaced;

	memset(&empty, 0, sizeof(empty));
	assert_non_null(n = nft_new(TABLE, tuns, 2));
	/* Nothing installed yet: the first sync replaces. */
	assert_int_equal(nft_sync(n, &empty, now, &replaced), 0);
	assert_true(replaced);
	sample(&rs, now);
	assert_int_equal(nft_sync(n, &rs, now, &replaced), 0);
	assert_false(replaced);
	expect_set("appliances", "203.0.113.3, 203.0.113.13");
	expect_set("grants", "203.0.113.2 . 203.0.113.3, "
	    "203.0.113.2 . 203.0.113.13");
	/* An appliance leaves, another comes, bob joins with a grant. */
	el2[0] = (struct rs_elem){ T(2), T(4), now + 60000 };
	el2[1] = (struct rs_elem){ T(5), T(4), now + 60000 };
	memset(&rs2, 0, sizeof(rs2));
	rs2.appliances = appl2;
	rs2.nappliances = 1;
	rs2.staff = staff2;
	rs2.nstaff = 2;
	rs2.grants = el2;
	rs2.ngrants = 2;
	assert_int_equal(nft_sync(n, &rs2, now, &replaced), 0);
	assert_false(replaced);
	expect_set("appliances", "203.0.113.4");
	expect_set("staff", "203.0.113.2, 203.0.113.5");
	expect_set("grants", "203.0.113.2 . 203.0.113.4, "
	    "203.0.113.5 . 203.0.113.4");
	/* A revoke: the elements go at once. */
	rs2.ngrants = 0;
	assert_int_equal(nft_sync(n, &rs2, now, &replaced), 0);
	assert_false(replaced);
	expect_set("grants", "");
	assert_int_equal(nft_delete(n), 0);
	nft_free(n);
}

static void
test_kernel_expiry(void **state)
{
	const struct timespec wait = { 0, 700 * 1000000L };
	struct ruleset rs;
	struct nft *n;
	int64_t now = util_now_ms();
	bool replaced;

	assert_non_null(n = nft_new(TABLE, tuns, 1));
	sample(&rs, now);
	rs.grants[1].expires_ms = now + 300;	/* expires in the kernel */
	assert_int_equal(nft_replace(n, &rs, now), 0);
	expect_set("grants", "203.0.113.2 . 203.0.113.3, "
	    "203.0.113.2 . 203.0.113.13");
	nanosleep(&wait, NULL);
	/* The kernel dropped it by itself, without us. */
	expect_set("grants", "203.0.113.2 . 203.0.113.3");
	/* Deleting it now fails, so the sync replaces the table whole. */
	now = util_now_ms();
	rs.ngrants = 1;
	assert_int_equal(nft_sync(n, &rs, now, &replaced), 0);
	assert_true(replaced);
	expect_set("grants", "203.0.113.2 . 203.0.113.3");
	/* And the changes work again after it. */
	rs.ngrants = 0;
	assert_int_equal(nft_sync(n, &rs, now, &replaced), 0);
	assert_false(replaced);
	expect_set("grants", "");
	assert_int_equal(nft_delete(n), 0);
	nft_free(n);
}

static void
test_bad_names(void **state)
{
	const char *const bad[] = { "tun0\"; flush ruleset; \"" };

	errno = 0;
	assert_null(nft_new("hub; flush ruleset", tuns, 2));
	assert_int_equal(errno, EINVAL);
	assert_null(nft_new(TABLE, bad, 1));
	assert_null(nft_new(TABLE, tuns, 0));
}

static int
enter_private_netns(void)
{
	if (unshare(CLONE_NEWNET) == 0 ||
	    unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
		return 0;
	return -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_replace_and_delete),
		cmocka_unit_test(test_sync),
		cmocka_unit_test(test_kernel_expiry),
	};

	log_init(getenv("HUB_TEST_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR,
	    1);
	if (enter_private_netns() < 0) {
		fprintf(stderr, "test_hub_nft: no private network namespace "
		    "(needs root or user namespaces): %s; skipped\n",
		    strerror(errno));
		return _cmocka_run_group_tests("hub nft names", tests, 1, NULL,
		    NULL);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
