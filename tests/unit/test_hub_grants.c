/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the grants file (hub/grants.c): parsing good, bad, expired
 * and duplicate grants, the times, formatting, and the CLI's locked edit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "grants.h"

/* 2026-11-27T10:00:00Z */
#define NOW	1795773600000LL
#define HOUR	3600000LL

static int
parse(const char *json, struct grants *gs, struct grants_error *err)
{
	return grants_parse(json, strlen(json), NOW, gs, err);
}

static void
test_time(void **state)
{
	int64_t ms;

	assert_true(grants_parse_time("2026-11-27T10:00:00Z", &ms));
	assert_true(ms == NOW);
	assert_true(grants_parse_time("2026-11-27T11:30:00+01:30", &ms));
	assert_true(ms == NOW);
	assert_true(grants_parse_time("2026-11-27T10:00:00.250z", &ms));
	assert_true(ms == NOW + 250);
	assert_true(grants_parse_time("2028-02-29T00:00:00Z", &ms));
	assert_false(grants_parse_time("2026-02-29T00:00:00Z", &ms));
	assert_false(grants_parse_time("2026-11-27 10:00:00Z", &ms));
	assert_false(grants_parse_time("2026-11-27T10:00:00", &ms));
	assert_false(grants_parse_time("2026-11-27T10:00:60Z", &ms));
	assert_false(grants_parse_time("2026-11-27T10:00:00Zjunk", &ms));
	assert_false(grants_parse_time("2026-11-27T10:00:00.Z", &ms));
	assert_false(grants_parse_time("1969-12-31T23:59:59Z", &ms));
	assert_false(grants_parse_time("", &ms));
}

static void
test_good(void **state)
{
	struct grants_error err;
	struct grants gs;

	assert_int_equal(parse("{\"grants\":[]}", &gs, &err), 0);
	assert_int_equal(gs.n, 0);
	grants_deinit(&gs);
	assert_int_equal(parse("{\"grants\":[{\"staff\":\"staff-alice\","
	    "\"appliance\":\"appliance-0001\",\"expires\":"
	    "\"2026-11-27T18:00:00Z\",\"case\":\"CASE-42 (boiler)\",\"by\":"
	    "\"Ops Desk\",\"created\":\"2026-11-27T10:00:00Z\"},{\"staff\":"
	    "\"staff-alice\",\"appliance\":\"appliance-0002\",\"expires\":"
	    "\"2026-11-27T11:00:00Z\"}]}", &gs, &err), 0);
	assert_int_equal(gs.n, 2);
	assert_string_equal(gs.v[0].staff, "staff-alice");
	assert_string_equal(gs.v[0].appliance, "appliance-0001");
	assert_true(gs.v[0].expires_ms == NOW + 8 * HOUR);
	assert_string_equal(gs.v[0].case_ref, "CASE-42 (boiler)");
	assert_string_equal(gs.v[0].by, "Ops Desk");
	assert_true(gs.v[0].created_ms == NOW);
	assert_string_equal(gs.v[1].case_ref, "");
	assert_true(gs.v[1].created_ms == 0);
	assert_true(grants_active(&gs.v[1], NOW));
	assert_false(grants_active(&gs.v[1], NOW + HOUR));
	assert_ptr_equal(grants_find(&gs, "staff-alice", "appliance-0002"),
	    &gs.v[1]);
	assert_null(grants_find(&gs, "staff-bob", "appliance-0002"));
	grants_deinit(&gs);
}

static void
test_expired(void **state)
{
	struct grants_error err;
	struct grants gs;

	/* Kept by the parser, ignored as inactive by everyone else. */
	assert_int_equal(parse("{\"grants\":[{\"staff\":\"s\",\"appliance\":"
	    "\"a\",\"expires\":\"2026-11-27T09:59:59Z\"},{\"staff\":\"s\","
	    "\"appliance\":\"b\",\"expires\":\"2026-11-27T10:00:00Z\"},"
	    "{\"staff\":\"s\",\"appliance\":\"c\",\"expires\":"
	    "\"2026-11-27T10:00:01Z\"}]}", &gs, &err), 0);
	assert_int_equal(gs.n, 3);
	assert_false(grants_active(&gs.v[0], NOW));
	assert_false(grants_active(&gs.v[1], NOW));	/* expires now */
	assert_true(grants_active(&gs.v[2], NOW));
	grants_prune(&gs, NOW);
	assert_int_equal(gs.n, 1);
	assert_string_equal(gs.v[0].appliance, "c");
	grants_deinit(&gs);
}

struct bad {
	const char	*json;
	int		 index;
	const char	*words;
};

static void
test_bad(void **state)
{
	static const struct bad cases[] = {
		{ "", -1, "line 1" },
		{ "[]", -1, "{\"grants\": [...]}" },
		{ "{\"grants\":{}}", -1, "{\"grants\": [...]}" },
		{ "{\"grants\":[],\"extra\":1}", -1, "{\"grants\": [...]}" },
		{ "{\"grants\":[],\"grants\":[]}", -1, "duplicate" },
		{ "{\"grants\":[1]}", 0, "grant 1: not an object" },
		{ "{\"grants\":[{\"staff\":\"s\",\"appliance\":\"a\"}]}", 0,
		    "'expires'" },
		{ "{\"grants\":[{\"appliance\":\"a\",\"expires\":"
		    "\"2026-11-28T10:00:00Z\"}]}", 0, "'staff' is missing" },
		{ "{\"grants\":[{\"staff\":\"s t\",\"appliance\":\"a\","
		    "\"expires\":\"2026-11-28T10:00:00Z\"}]}", 0, "'staff'" },
		{ "{\"grants\":[{\"staff\":\"s\",\"appliance\":\"\",\"expires\":"
		    "\"2026-11-28T10:00:00Z\"}]}", 0, "'appliance'" },
		{ "{\"grants\":[{\"staff\":\"s\",\"appliance\":7,\"expires\":"
		    "\"2026-11-28T10:00:00Z\"}]}", 0, "'appliance'" },
		{ "{\"grants\":[{\"staff\":\"s\",\"appliance\":\"a\",\"expires\":"
		    "\"tomorrow\"}]}", 0, "'expires'" },
		{ "{\"grants\":[{\"staff\":\"s\",\"appliance\":\"a\",\"expires\":"
		    "1795773600}]}", 0, "'expires'" },
		{ "{\"grants\":[{\"staff\":\"s\",\"appliance\":\"a\",\"expires\":"
		    "\"2026-11-28T10:00:00Z\",\"created\":\"now\"}]}", 0,
		    "'created'" },
		{ "{\"grants\":[{\"staff\":\"s\",\"appliance\":\"a\",\"expires\":"
		    "\"2026-11-28T10:00:00Z\",\"case\":\"a\\tb\"}]}", 0, "'case'" },
		{ "{\"grants\":[{\"staff\":\"s\",\"appliance\":\"a\",\"expires\":"
		    "\"2026-11-28T10:00:00Z\",\"note\":\"x\"}]}", 0,
		    "unknown key 'note'" },
		{ "{\"grants\":[{\"staff\":\"s\",\"appliance\":\"a\",\"expires\":"
		    "\"2027-01-01T10:00:00Z\"}]}", 0, "30 days" },
		{ "{\"grants\":[{\"staff\":\"s\",\"appliance\":\"a\",\"expires\":"
		    "\"2026-11-28T10:00:00Z\"},{\"staff\":\"s\",\"appliance\":"
		    "\"b\",\"expires\":\"2026-11-28T10:00:00Z\"},{\"staff\":\"s\","
		    "\"appliance\":\"a\",\"expires\":\"2026-11-29T10:00:00Z\"}]}",
		    2, "grant 3: a second grant for s and a (grant 1)" },
	};
	struct grants_error err;
	struct grants gs;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(cases[i].json, &gs, &err) != -1 ||
		    err.index != cases[i].index ||
		    strstr(err.text, cases[i].words) == NULL)
			fail_msg("case %zu: got %d '%s'", i, err.index,
			    err.text);
		assert_int_equal(gs.n, 0);
		assert_null(gs.v);
	}
}

static void
test_format_round_trip(void **state)
{
	struct grants_error err;
	struct grants gs, back;
	struct grant g;
	char *text;

	memset(&gs, 0, sizeof(gs));
	memset(&g, 0, sizeof(g));
	strcpy(g.staff, "staff-alice");
	strcpy(g.appliance, "appliance-0001");
	g.expires_ms = NOW + HOUR;
	g.created_ms = NOW;
	strcpy(g.case_ref, "CASE-42");
	strcpy(g.by, "root");
	assert_int_equal(grants_put(&gs, &g), 0);
	strcpy(g.appliance, "appliance-0002");
	g.case_ref[0] = g.by[0] = '\0';
	g.created_ms = 0;
	assert_int_equal(grants_put(&gs, &g), 0);
	/* The same pair again replaces. */
	g.expires_ms = NOW + 2 * HOUR;
	assert_int_equal(grants_put(&gs, &g), 0);
	assert_int_equal(gs.n, 2);
	assert_non_null(text = grants_format(&gs));
	assert_string_equal(text,
	    "{\n"
	    "  \"grants\": [\n"
	    "    {\n"
	    "      \"staff\": \"staff-alice\",\n"
	    "      \"appliance\": \"appliance-0001\",\n"
	    "      \"expires\": \"2026-11-27T11:00:00Z\",\n"
	    "      \"case\": \"CASE-42\",\n"
	    "      \"by\": \"root\",\n"
	    "      \"created\": \"2026-11-27T10:00:00Z\"\n"
	    "    },\n"
	    "    {\n"
	    "      \"staff\": \"staff-alice\",\n"
	    "      \"appliance\": \"appliance-0002\",\n"
	    "      \"expires\": \"2026-11-27T12:00:00Z\"\n"
	    "    }\n"
	    "  ]\n"
	    "}\n");
	assert_int_equal(parse(text, &back, &err), 0);
	assert_int_equal(back.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(back.v[i].staff, gs.v[i].staff);
		assert_string_equal(back.v[i].appliance, gs.v[i].appliance);
		assert_true(back.v[i].expires_ms == gs.v[i].expires_ms);
		assert_true(back.v[i].created_ms == gs.v[i].created_ms);
		assert_string_equal(back.v[i].case_ref, gs.v[i].case_ref);
		assert_string_equal(back.v[i].by, gs.v[i].by);
	}
	assert_true(grants_remove(&gs, "staff-alice", "appliance-0001"));
	assert_false(grants_remove(&gs, "staff-alice", "appliance-0001"));
	assert_int_equal(gs.n, 1);
	assert_string_equal(gs.v[0].appliance, "appliance-0002");
	free(text);
	grants_deinit(&back);
	grants_deinit(&gs);
}

static int
add_one(struct grants *gs, void *arg, struct grants_error *err)
{
	return grants_put(gs, arg);
}

static int
refuse(struct grants *gs, void *arg, struct grants_error *err)
{
	snprintf(err->text, sizeof(err->text), "refused");
	return -1;
}

static void
test_edit_and_load(void **state)
{
	char dir[] = "/tmp/test_hub_grants.XXXXXX", path[128], lock[160];
	char tmp[160];
	struct grants_error err;
	struct grants gs;
	struct grant g;
	struct stat st;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/grants.json", dir);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* Missing file: no grants, not an error. */
	assert_int_equal(grants_load(path, NOW, &gs, &err), 0);
	assert_int_equal(gs.n, 0);
	memset(&g, 0, sizeof(g));
	strcpy(g.staff, "s");
	strcpy(g.appliance, "a");
	g.expires_ms = NOW + HOUR;
	/* The directory is made; the file is written 0640. */
	assert_int_equal(grants_edit(path, NOW, add_one, &g, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(access(tmp, F_OK), -1);
	strcpy(g.appliance, "b");
	assert_int_equal(grants_edit(path, NOW, add_one, &g, &err), 0);
	assert_int_equal(grants_load(path, NOW, &gs, &err), 0);
	assert_int_equal(gs.n, 2);
	grants_deinit(&gs);
	/* A refused edit leaves the file alone. */
	assert_int_equal(grants_edit(path, NOW, refuse, NULL, &err), -1);
	assert_string_equal(err.text, "refused");
	assert_int_equal(grants_load(path, NOW, &gs, &err), 0);
	assert_int_equal(gs.n, 2);
	grants_deinit(&gs);
	/* A broken file is reported, not overwritten. */
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"grants\": [", f);
	fclose(f);
	assert_int_equal(grants_edit(path, NOW, add_one, &g, &err), -1);
	assert_non_null(strstr(err.text, "line"));
	assert_int_equal(grants_load(path, NOW, &gs, &err), -1);
	/* Whoever may write it decides who reaches what: group- or
	 * world-writable files are refused. */
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"grants\": []}", f);
	fclose(f);
	assert_int_equal(chmod(path, 0664), 0);
	assert_true(grants_load(path, NOW, &gs, &err) < 0);
	assert_non_null(strstr(err.text, "writable"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(grants_load(path, NOW, &gs, &err), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unlink(lock), 0);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_edit_and_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
