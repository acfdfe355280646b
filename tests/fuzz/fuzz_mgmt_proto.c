/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for mgmt_proto. The input is fed twice with the same
 * expectation changes: once in chunk sizes drawn from a PRNG seeded by the
 * input, once byte by byte; both must yield the same messages (compared by
 * digest), since chunking must not matter. A third pass stops from the
 * callback now and then. mgmt_quote_arg is checked by unquoting its output
 * the way openvpn's lexer does.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Icontroller \
 *       controller/mgmt_proto.c tests/fuzz/fuzz_mgmt_proto.c -o fuzz_mgmt_proto
 *   ./fuzz_mgmt_proto -dict=tests/fuzz/mgmt_proto.dict -max_len=20000 corpus/
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt_proto.h"

#define MAX_STEPS	4096

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct step {
	size_t	len;
	int	expect;		/* an enum mgmt_expect, or -1 to leave it */
};

struct run {
	struct mgmt_proto	*p;
	uint64_t		 digest;
	uint64_t		 nmsg;
	uint64_t		 stop_every;	/* 0: never stop */
};

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t
fnv(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
mix_str(struct run *r, const char *s)
{
	size_t len;

	if (s == NULL)
		abort();
	len = strlen(s);
	if (len > MGMT_PROTO_MAX_LINE)
		abort();
	r->digest = fnv(r->digest, s, len + 1);
}

static void
mix_num(struct run *r, uint64_t v)
{
	r->digest = fnv(r->digest, &v, sizeof(v));
}

static void
mix_response(struct run *r, const struct mgmt_msg *m)
{
	size_t i;

	mix_num(r, m->u.response.ok);
	mix_str(r, m->u.response.text);
	if (m->u.response.nlines > MGMT_PROTO_MAX_BLOCK_LINES ||
	    m->u.response.lines == NULL ||
	    m->u.response.lines[m->u.response.nlines] != NULL)
		abort();
	mix_num(r, m->u.response.nlines);
	for (i = 0; i < m->u.response.nlines; i++)
		mix_str(r, m->u.response.lines[i]);
}

static void
mix_msg(struct run *r, const struct mgmt_msg *m)
{
	mix_num(r, (uint64_t)m->type);
	mix_str(r, m->line);
	switch (m->type) {
	case MGMT_MSG_RESPONSE:
		mix_response(r, m);
		break;
	case MGMT_MSG_PASSWORD_PROMPT:
		break;
	case MGMT_MSG_HOLD:
		mix_num(r, m->u.hold.seconds);
		mix_str(r, m->u.hold.text);
		break;
	case MGMT_MSG_STATE:
		mix_num(r, (uint64_t)m->u.state.time);
		mix_str(r, m->u.state.name);
		mix_str(r, m->u.state.detail);
		mix_str(r, m->u.state.tun_ip4);
		mix_str(r, m->u.state.remote_ip);
		mix_str(r, m->u.state.remote_port);
		mix_str(r, m->u.state.local_ip);
		mix_str(r, m->u.state.local_port);
		mix_str(r, m->u.state.tun_ip6);
		break;
	case MGMT_MSG_LOG:
		mix_num(r, (uint64_t)m->u.log.time);
		mix_str(r, m->u.log.flags);
		mix_str(r, m->u.log.text);
		break;
	case MGMT_MSG_BYTECOUNT:
		mix_num(r, m->u.bytecount.bytes_in);
		mix_num(r, m->u.bytecount.bytes_out);
		break;
	case MGMT_MSG_PASSWORD:
	case MGMT_MSG_NEED_OK:
	case MGMT_MSG_NEED_STR:
		mix_str(r, m->u.prompt.kind);
		mix_str(r, m->u.prompt.text);
		break;
	case MGMT_MSG_OTHER:
		mix_str(r, m->u.other.name);
		mix_str(r, m->u.other.text);
		break;
	default:
		mix_str(r, m->u.text);
		break;
	}
	if (strcmp(mgmt_msg_type_name(m->type), "UNKNOWN") == 0)
		abort();
}

static int
on_msg(const struct mgmt_msg *m, void *arg)
{
	struct run *r = arg;

	mix_msg(r, m);
	r->nmsg++;
	/* An answer clears the expectation; pick the next from the callback. */
	if (m->type == MGMT_MSG_RESPONSE) {
		if (mgmt_proto_expecting(r->p) != MGMT_EXPECT_NONE)
			abort();
		mgmt_proto_expect(r->p, (enum mgmt_expect)(r->nmsg % 3));
	}
	return r->stop_every != 0 && r->nmsg % r->stop_every == 0;
}

static size_t
make_plan(const uint8_t *data, size_t size, struct step *plan)
{
	uint64_t s = fnv(0xcbf29ce484222325ULL, data, size) | 1;
	size_t n = 0, off = 0, len;
	uint64_t v;

	while (off < size && n < MAX_STEPS) {
		v = rnd(&s);
		len = (v & 7) == 0 ? 1 + (size_t)((v >> 8) % 20000) :
		    1 + (size_t)((v >> 8) % 64);
		if (n == MAX_STEPS - 1 || len > size - off)
			len = size - off;
		plan[n].len = len;
		v = rnd(&s);
		plan[n].expect = (v & 3) == 3 ? -1 : (int)(v & 3);
		off += len;
		n++;
	}
	return n;
}

/* Feeds data by the plan, in plan-sized chunks or byte by byte. */
static uint64_t
run_plan(const uint8_t *data, const struct step *plan, size_t nsteps,
    bool bytewise, uint64_t stop_every)
{
	struct mgmt_proto_error err;
	struct run r = { NULL, 0xcbf29ce484222325ULL, 0, stop_every };
	const char *buf = (const char *)data;
	size_t i, off, n;
	int rc;

	if ((r.p = mgmt_proto_new()) == NULL)
		abort();
	for (i = 0; i < nsteps; buf += plan[i].len, i++) {
		if (plan[i].expect >= 0)
			mgmt_proto_expect(r.p, (enum mgmt_expect)plan[i].expect);
		for (off = 0; off < plan[i].len; off += n) {
			n = bytewise ? 1 : plan[i].len - off;
			rc = mgmt_proto_feed(r.p, buf + off, n, on_msg, &r,
			    &err);
			if (rc == MGMT_PROTO_OK)
				continue;
			if (rc == 1) {
				/* The rest of that call was dropped. */
				mgmt_proto_reset(r.p);
				break;
			}
			if (rc >= 0 || err.code != rc ||
			    memchr(err.reason, '\0', sizeof(err.reason)) ==
			    NULL)
				abort();
			mix_num(&r, (uint64_t)-rc);
			mgmt_proto_reset(r.p);
			break;
		}
	}
	mgmt_proto_free(r.p);
	return r.digest;
}

/* openvpn's lexer inside "...": a backslash takes the next byte as is. */
static void
check_quote(const uint8_t *data, size_t size)
{
	char arg[256], out[600], back[256];
	size_t alen = 0, need, size_out, i, o = 0;
	bool ctl = false;
	int rc;

	while (alen < size && alen < sizeof(arg) - 1 && data[alen] != 0) {
		arg[alen] = (char)data[alen];
		if (data[alen] < 0x20 || data[alen] == 0x7f)
			ctl = true;
		alen++;
	}
	arg[alen] = '\0';
	need = alen + 3;
	for (i = 0; i < alen; i++)
		if (arg[i] == '\\' || arg[i] == '"')
			need++;
	size_out = size > 0 ? data[size - 1] * 2u + (size % 3) : 0;
	if (size_out > sizeof(out))
		size_out = sizeof(out);
	rc = mgmt_quote_arg(out, size_out, arg);
	if (ctl || need > size_out) {
		if (rc != -1 || (size_out > 0 && out[0] != '\0'))
			abort();
		return;
	}
	if (rc < 0 || (size_t)rc != need - 1 || out[0] != '"' ||
	    out[rc - 1] != '"' || out[rc] != '\0')
		abort();
	for (i = 1; i < (size_t)rc - 1; i++) {
		if (out[i] == '"')
			abort();
		if (out[i] == '\\')
			i++;
		back[o++] = out[i];
	}
	if (o != alen || memcmp(back, arg, alen) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct step plan[MAX_STEPS];
	size_t nsteps = make_plan(data, size, plan);

	if (run_plan(data, plan, nsteps, false, 0) !=
	    run_plan(data, plan, nsteps, true, 0))
		abort();
	(void)run_plan(data, plan, nsteps, false, 1 + size % 7);
	check_quote(data, size);
	return 0;
}
