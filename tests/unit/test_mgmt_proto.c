/* SPDX-License-Identifier: MIT */
/*
 * Unit and golden tests for mgmt_proto: framing, notification parsing,
 * command answers, limits, callback stop, reset and argument quoting. The
 * golden runner replays tests/data/mgmt_proto/<case>/input in several chunk
 * sizes and compares the messages with <case>/expected.
 */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mgmt_proto.h"

#define GOLDEN_DIR	"../data/mgmt_proto"

/* A growing string. */
struct sbuf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

static void
sb_grow(struct sbuf *b, size_t more)
{
	size_t cap = b->cap > 0 ? b->cap : 256;
	char *ns;

	while (cap < b->len + more + 1)
		cap *= 2;
	if (cap == b->cap)
		return;
	ns = realloc(b->s, cap);
	assert_non_null(ns);
	b->s = ns;
	b->cap = cap;
}

static void
sb_putn(struct sbuf *b, const char *s, size_t n)
{
	sb_grow(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	sb_putn(b, tmp, (size_t)n);
}

static void
sb_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->s != NULL)
		b->s[0] = '\0';
}

static void
sb_free(struct sbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

static const char *
sb_str(const struct sbuf *b)
{
	return b->s != NULL ? b->s : "";
}

/* "..." with \\, \" and \xHH for anything not printable ASCII. */
static void
sb_quote(struct sbuf *b, const char *s)
{
	unsigned char c;

	assert_non_null(s);
	sb_putn(b, "\"", 1);
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			sb_putn(b, "\\", 1);
			sb_putn(b, s, 1);
		} else if (c >= 0x20 && c < 0x7f) {
			sb_putn(b, s, 1);
		} else {
			sb_printf(b, "\\x%02x", c);
		}
	}
	sb_putn(b, "\"", 1);
}

static void
sb_field(struct sbuf *b, const char *key, const char *val)
{
	sb_printf(b, " %s=", key);
	sb_quote(b, val);
}

/*
 * The canonical text form of one message, also used by the golden files:
 * the type name, then key=value pairs in a fixed order, strings quoted;
 * a block answer is followed by one indented quoted line per block line.
 */
static void
format_msg(struct sbuf *b, const struct mgmt_msg *m)
{
	size_t i;

	sb_puts(b, mgmt_msg_type_name(m->type));
	switch (m->type) {
	case MGMT_MSG_RESPONSE:
		sb_printf(b, " ok=%s", m->u.response.ok ? "true" : "false");
		sb_field(b, "text", m->u.response.text);
		sb_printf(b, " nlines=%zu", m->u.response.nlines);
		for (i = 0; i < m->u.response.nlines; i++) {
			sb_puts(b, "\n  ");
			sb_quote(b, m->u.response.lines[i]);
		}
		break;
	case MGMT_MSG_PASSWORD_PROMPT:
		break;
	case MGMT_MSG_HOLD:
		sb_printf(b, " seconds=%u", m->u.hold.seconds);
		sb_field(b, "text", m->u.hold.text);
		break;
	case MGMT_MSG_STATE:
		sb_printf(b, " time=%" PRId64, m->u.state.time);
		sb_field(b, "name", m->u.state.name);
		sb_field(b, "detail", m->u.state.detail);
		sb_field(b, "tun4", m->u.state.tun_ip4);
		sb_field(b, "rip", m->u.state.remote_ip);
		sb_field(b, "rport", m->u.state.remote_port);
		sb_field(b, "lip", m->u.state.local_ip);
		sb_field(b, "lport", m->u.state.local_port);
		sb_field(b, "tun6", m->u.state.tun_ip6);
		break;
	case MGMT_MSG_LOG:
		sb_printf(b, " time=%" PRId64, m->u.log.time);
		sb_field(b, "flags", m->u.log.flags);
		sb_field(b, "text", m->u.log.text);
		break;
	case MGMT_MSG_BYTECOUNT:
		sb_printf(b, " in=%" PRIu64 " out=%" PRIu64,
		    m->u.bytecount.bytes_in, m->u.bytecount.bytes_out);
		break;
	case MGMT_MSG_PASSWORD:
	case MGMT_MSG_NEED_OK:
	case MGMT_MSG_NEED_STR:
		sb_field(b, "kind", m->u.prompt.kind);
		sb_field(b, "text", m->u.prompt.text);
		break;
	case MGMT_MSG_OTHER:
		sb_field(b, "name", m->u.other.name);
		sb_field(b, "text", m->u.other.text);
		break;
	default:
		sb_field(b, "text", m->u.text);
		break;
	}
	sb_puts(b, "\n");
}

/* Borrowed pointers are never NULL; blocks end in a NULL line. */
static void
check_msg(const struct mgmt_msg *m)
{
	size_t i;

	assert_non_null(m->line);
	if (m->type == MGMT_MSG_RESPONSE) {
		assert_non_null(m->u.response.lines);
		for (i = 0; i < m->u.response.nlines; i++)
			assert_non_null(m->u.response.lines[i]);
		assert_null(m->u.response.lines[m->u.response.nlines]);
	}
}

struct rec {
	struct sbuf		 out;	/* canonical form of every message */
	int			 n;	/* messages seen */
	int			 stop_at; /* return 1 on message n (1-based) */
	struct mgmt_proto	*p;
	bool			 set_next; /* on RESPONSE, expect next */
	enum mgmt_expect	 next;
	char			 line[MGMT_PROTO_MAX_LINE + 1]; /* last line */
	enum mgmt_msg_type	 type;	/* last type */
};

static int
on_msg(const struct mgmt_msg *m, void *arg)
{
	struct rec *r = arg;

	check_msg(m);
	format_msg(&r->out, m);
	r->n++;
	r->type = m->type;
	assert_true(strlen(m->line) < sizeof(r->line));
	strcpy(r->line, m->line);
	if (m->type == MGMT_MSG_RESPONSE && r->set_next) {
		/* The answer has already reset the expectation. */
		assert_int_equal(mgmt_proto_expecting(r->p), MGMT_EXPECT_NONE);
		mgmt_proto_expect(r->p, r->next);
		r->set_next = false;
	}
	return r->stop_at != 0 && r->n == r->stop_at;
}

struct fixture {
	struct mgmt_proto	*p;
	struct rec		 r;
	struct mgmt_proto_error	 err;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->p = mgmt_proto_new()) == NULL) {
		free(f);
		return -1;
	}
	f->r.p = f->p;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	mgmt_proto_free(f->p);
	sb_free(&f->r.out);
	free(f);
	return 0;
}

static int
feed(struct fixture *f, const char *s)
{
	return mgmt_proto_feed(f->p, s, strlen(s), on_msg, &f->r, &f->err);
}

static void
feed_ok(struct fixture *f, const char *s)
{
	assert_int_equal(feed(f, s), MGMT_PROTO_OK);
}

static void
feed_bytes_ok(struct fixture *f, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		assert_int_equal(mgmt_proto_feed(f->p, s + i, 1, on_msg,
		    &f->r, &f->err), MGMT_PROTO_OK);
}

/* Feeds s and checks the canonical output, then forgets it. */
static void
check_feed(struct fixture *f, const char *s, const char *want)
{
	feed_ok(f, s);
	assert_string_equal(sb_str(&f->r.out), want);
	sb_reset(&f->r.out);
}

static void
test_greeting_hold(void **state)
{
	struct fixture *f = *state;

	check_feed(f, ">INFO:OpenVPN Management Interface Version 5 -- "
	    "type 'help' for more info\r\n"
	    ">HOLD:Waiting for hold release:0\r\n",
	    "INFO text=\"OpenVPN Management Interface Version 5 -- type "
	    "'help' for more info\"\n"
	    "HOLD seconds=0 text=\"Waiting for hold release:0\"\n");
	assert_int_equal(f->r.n, 2);
	assert_int_equal(f->r.type, MGMT_MSG_HOLD);
	assert_string_equal(f->r.line, ">HOLD:Waiting for hold release:0");
	assert_int_equal(mgmt_proto_expecting(f->p), MGMT_EXPECT_NONE);

	check_feed(f, ">HOLD:Waiting for hold release:17\r\n",
	    "HOLD seconds=17 text=\"Waiting for hold release:17\"\n");
	/* Before 2.4 there was no ":N". */
	check_feed(f, ">HOLD:Waiting for hold release\r\n",
	    "HOLD seconds=0 text=\"Waiting for hold release\"\n");
	check_feed(f, ">HOLD:Waiting for hold release:4294967295\r\n",
	    "HOLD seconds=4294967295 text=\"Waiting for hold release:"
	    "4294967295\"\n");
	/* Numbers that do not parse make it OTHER, not an error. */
	check_feed(f, ">HOLD:Waiting for hold release:4294967296\r\n"
	    ">HOLD:Waiting for hold release:x\r\n"
	    ">HOLD:Waiting for hold release:-1\r\n"
	    ">HOLD:Waiting for hold release:\r\n",
	    "OTHER name=\"HOLD\" text=\"Waiting for hold release:4294967296\"\n"
	    "OTHER name=\"HOLD\" text=\"Waiting for hold release:x\"\n"
	    "OTHER name=\"HOLD\" text=\"Waiting for hold release:-1\"\n"
	    "OTHER name=\"HOLD\" text=\"Waiting for hold release:\"\n");
}

static void
test_crlf_split_bytewise(void **state)
{
	static const char in[] =
	    ">INFO:hello\r\n"
	    ">STATE:1795744756,RECONNECTING,tls-error,,,,,\r\n"
	    ">LOG:1795745077,,bare LF line\n"
	    "stray\rCR inside\r\n"
	    "\r\n"
	    "\n"
	    ">ECHO:1795745313,hello-gui\r\n";
	static const char want[] =
	    "INFO text=\"hello\"\n"
	    "STATE time=1795744756 name=\"RECONNECTING\" detail=\"tls-error\""
	    " tun4=\"\" rip=\"\" rport=\"\" lip=\"\" lport=\"\" tun6=\"\"\n"
	    "LOG time=1795745077 flags=\"\" text=\"bare LF line\"\n"
	    "UNEXPECTED text=\"stray\\x0dCR inside\"\n"
	    "UNEXPECTED text=\"\"\n"
	    "UNEXPECTED text=\"\"\n"
	    "ECHO text=\"1795745313,hello-gui\"\n";
	struct fixture *f = *state;
	size_t i;

	check_feed(f, in, want);

	feed_bytes_ok(f, in, sizeof(in) - 1);
	assert_string_equal(sb_str(&f->r.out), want);
	sb_reset(&f->r.out);

	/* Every split point between two feeds gives the same messages. */
	for (i = 0; i <= sizeof(in) - 1; i++) {
		assert_int_equal(mgmt_proto_feed(f->p, in, i, on_msg, &f->r,
		    &f->err), MGMT_PROTO_OK);
		assert_int_equal(mgmt_proto_feed(f->p, in + i,
		    sizeof(in) - 1 - i, on_msg, &f->r, &f->err), MGMT_PROTO_OK);
		assert_string_equal(sb_str(&f->r.out), want);
		sb_reset(&f->r.out);
	}

	/* Split between CR and LF: nothing until the LF, no CR in the text. */
	f->r.n = 0;
	feed_ok(f, ">INFO:x\r");
	assert_int_equal(f->r.n, 0);
	check_feed(f, "\n", "INFO text=\"x\"\n");
	assert_string_equal(f->r.line, ">INFO:x");
	assert_int_equal(mgmt_proto_feed(f->p, "", 0, on_msg, &f->r, &f->err),
	    MGMT_PROTO_OK);
}

static void
test_state(void **state)
{
	struct fixture *f = *state;

	/* 8 fields, UDP --nobind: empty local address. */
	check_feed(f, ">STATE:1795744940,CONNECTED,SUCCESS,10.8.0.2,"
	    "127.0.0.1,1194,,\r\n",
	    "STATE time=1795744940 name=\"CONNECTED\" detail=\"SUCCESS\" "
	    "tun4=\"10.8.0.2\" rip=\"127.0.0.1\" rport=\"1194\" lip=\"\" "
	    "lport=\"\" tun6=\"\"\n");
	/* 9 fields, with an IPv6 tun address. */
	check_feed(f, ">STATE:1795745079,CONNECTED,SUCCESS,10.7.0.2,"
	    "127.0.0.1,1195,127.0.0.1,52698,fd00:7::1000\r\n",
	    "STATE time=1795745079 name=\"CONNECTED\" detail=\"SUCCESS\" "
	    "tun4=\"10.7.0.2\" rip=\"127.0.0.1\" rport=\"1195\" "
	    "lip=\"127.0.0.1\" lport=\"52698\" tun6=\"fd00:7::1000\"\n");
	check_feed(f, ">STATE:1795745077,ASSIGN_IP,,10.7.0.2,,,,,"
	    "fd00:7::1000\r\n",
	    "STATE time=1795745077 name=\"ASSIGN_IP\" detail=\"\" "
	    "tun4=\"10.7.0.2\" rip=\"\" rport=\"\" lip=\"\" lport=\"\" "
	    "tun6=\"fd00:7::1000\"\n");
	/* RECONNECTING: everything after detail empty. */
	check_feed(f, ">STATE:1795744756,RECONNECTING,tls-error,,,,,\r\n",
	    "STATE time=1795744756 name=\"RECONNECTING\" detail=\"tls-error\""
	    " tun4=\"\" rip=\"\" rport=\"\" lip=\"\" lport=\"\" tun6=\"\"\n");
	/* AUTH_PENDING: commas in detail, one or several. */
	check_feed(f, ">STATE:1795745100,AUTH_PENDING,timeout 180,"
	    "openurl,,,,,\r\n",
	    "STATE time=1795745100 name=\"AUTH_PENDING\" "
	    "detail=\"timeout 180,openurl\" tun4=\"\" rip=\"\" rport=\"\" "
	    "lip=\"\" lport=\"\" tun6=\"\"\n");
	check_feed(f, ">STATE:1795745100,AUTH_PENDING,a,b,c,d,,,,,\r\n",
	    "STATE time=1795745100 name=\"AUTH_PENDING\" detail=\"a,b,c,d\" "
	    "tun4=\"\" rip=\"\" rport=\"\" lip=\"\" lport=\"\" tun6=\"\"\n");
	check_feed(f, ">STATE:1795745100,AUTH_PENDING,timeout 180,,,,,\r\n",
	    "STATE time=1795745100 name=\"AUTH_PENDING\" "
	    "detail=\"timeout 180\" tun4=\"\" rip=\"\" rport=\"\" lip=\"\" "
	    "lport=\"\" tun6=\"\"\n");
	/* Commas in detail and an IPv6 address: the ':' decides. */
	check_feed(f, ">STATE:1,CONNECTED,x,y,10.0.0.2,1.2.3.4,1194,,,"
	    "fd00::2\r\n",
	    "STATE time=1 name=\"CONNECTED\" detail=\"x,y\" tun4=\"10.0.0.2\""
	    " rip=\"1.2.3.4\" rport=\"1194\" lip=\"\" lport=\"\" "
	    "tun6=\"fd00::2\"\n");
	/* Too few fields, bad time, empty name: passed on as OTHER. */
	check_feed(f, ">STATE:1795744756,RECONNECTING,tls-error,,,,\r\n"
	    ">STATE:x1795744756,RECONNECTING,tls-error,,,,,\r\n"
	    ">STATE:,RECONNECTING,tls-error,,,,,\r\n"
	    ">STATE:1795744756,,tls-error,,,,,\r\n"
	    ">STATE:99999999999999999999,WAIT,,,,,,\r\n",
	    "OTHER name=\"STATE\" text=\"1795744756,RECONNECTING,tls-error,"
	    ",,,\"\n"
	    "OTHER name=\"STATE\" text=\"x1795744756,RECONNECTING,tls-error,"
	    ",,,,\"\n"
	    "OTHER name=\"STATE\" text=\",RECONNECTING,tls-error,,,,,\"\n"
	    "OTHER name=\"STATE\" text=\"1795744756,,tls-error,,,,,\"\n"
	    "OTHER name=\"STATE\" text=\"99999999999999999999,WAIT,,,,,,\"\n");
	/* The whole line stays intact although the fields were cut. */
	feed_ok(f, ">STATE:1795744939,WAIT,,,,,,\r\n");
	assert_string_equal(f->r.line, ">STATE:1795744939,WAIT,,,,,,");
	sb_reset(&f->r.out);
}

static void
test_log(void **state)
{
	struct fixture *f = *state;

	check_feed(f, ">LOG:1795745077,,PLUGIN_CALL: POST /usr/lib/x.so/"
	    "PLUGIN_UP status=0\r\n",
	    "LOG time=1795745077 flags=\"\" text=\"PLUGIN_CALL: POST "
	    "/usr/lib/x.so/PLUGIN_UP status=0\"\n");
	check_feed(f, ">LOG:1795745077,W,WARNING: a, b,, c,\r\n",
	    "LOG time=1795745077 flags=\"W\" text=\"WARNING: a, b,, c,\"\n");
	check_feed(f, ">LOG:1795745077,I,MANAGEMENT: >STATE:1795745077,"
	    "WAIT,,,,,,\r\n",
	    "LOG time=1795745077 flags=\"I\" text=\"MANAGEMENT: >STATE:"
	    "1795745077,WAIT,,,,,,\"\n");
	check_feed(f, ">LOG:1795745077,FN,\r\n",
	    "LOG time=1795745077 flags=\"FN\" text=\"\"\n");
	check_feed(f, ">LOG:abc,I,x\r\n>LOG:1795745077,I\r\n>LOG:\r\n",
	    "OTHER name=\"LOG\" text=\"abc,I,x\"\n"
	    "OTHER name=\"LOG\" text=\"1795745077,I\"\n"
	    "OTHER name=\"LOG\" text=\"\"\n");
}

static void
test_bytecount(void **state)
{
	struct fixture *f = *state;

	check_feed(f, ">BYTECOUNT:12345,67890\r\n",
	    "BYTECOUNT in=12345 out=67890\n");
	check_feed(f, ">BYTECOUNT:0,18446744073709551615\r\n",
	    "BYTECOUNT in=0 out=18446744073709551615\n");
	check_feed(f, ">BYTECOUNT:18446744073709551616,1\r\n"
	    ">BYTECOUNT:-1,2\r\n"
	    ">BYTECOUNT: 1,2\r\n"
	    ">BYTECOUNT:1,2,3\r\n"
	    ">BYTECOUNT:1\r\n"
	    ">BYTECOUNT:1,\r\n"
	    ">BYTECOUNT:1,0x10\r\n",
	    "OTHER name=\"BYTECOUNT\" text=\"18446744073709551616,1\"\n"
	    "OTHER name=\"BYTECOUNT\" text=\"-1,2\"\n"
	    "OTHER name=\"BYTECOUNT\" text=\" 1,2\"\n"
	    "OTHER name=\"BYTECOUNT\" text=\"1,2,3\"\n"
	    "OTHER name=\"BYTECOUNT\" text=\"1\"\n"
	    "OTHER name=\"BYTECOUNT\" text=\"1,\"\n"
	    "OTHER name=\"BYTECOUNT\" text=\"1,0x10\"\n");
	/* Not the server's >BYTECOUNT_CLI:. */
	check_feed(f, ">BYTECOUNT_CLI:3,1,2\r\n",
	    "OTHER name=\"BYTECOUNT_CLI\" text=\"3,1,2\"\n");
}

static void
test_password_kinds(void **state)
{
	struct fixture *f = *state;

	check_feed(f, ">PASSWORD:Need 'Auth' username/password\r\n"
	    ">PASSWORD:Need 'Private Key' password\r\n"
	    ">PASSWORD:Verification Failed: 'Auth'\r\n"
	    ">PASSWORD:Verification Failed: 'Auth' ['CRV1:R,E:Om01u7Fh4LrG:"
	    "Y3Ix:Enter PIN']\r\n"
	    ">PASSWORD:Auth-Token:tok,en\r\n"
	    ">PASSWORD:Need 'HTTP Proxy' username/password\r\n"
	    ">PASSWORD:Need 'unterminated\r\n",
	    "PASSWORD kind=\"Auth\" text=\"Need 'Auth' username/password\"\n"
	    "PASSWORD kind=\"Private Key\" text=\"Need 'Private Key' "
	    "password\"\n"
	    "PASSWORD kind=\"Auth\" text=\"Verification Failed: 'Auth'\"\n"
	    "PASSWORD kind=\"Auth\" text=\"Verification Failed: 'Auth' "
	    "['CRV1:R,E:Om01u7Fh4LrG:Y3Ix:Enter PIN']\"\n"
	    "PASSWORD kind=\"\" text=\"Auth-Token:tok,en\"\n"
	    "PASSWORD kind=\"HTTP Proxy\" text=\"Need 'HTTP Proxy' "
	    "username/password\"\n"
	    "PASSWORD kind=\"\" text=\"Need 'unterminated\"\n");
	check_feed(f, ">NEED-OK:Need 'token-insertion-request' confirmation "
	    "MSG:Please insert your token\r\n"
	    ">NEED-STR:Need 'name' input MSG:Please specify your name\r\n",
	    "NEED_OK kind=\"token-insertion-request\" text=\"Need "
	    "'token-insertion-request' confirmation MSG:Please insert your "
	    "token\"\n"
	    "NEED_STR kind=\"name\" text=\"Need 'name' input MSG:Please "
	    "specify your name\"\n");
}

static void
test_enter_password_prompt(void **state)
{
	static const char prompt[] = "ENTER PASSWORD:";
	struct fixture *f = *state;
	size_t i;

	/* No newline needed. */
	check_feed(f, prompt, "PASSWORD_PROMPT\n");
	assert_int_equal(f->r.type, MGMT_MSG_PASSWORD_PROMPT);
	assert_string_equal(f->r.line, prompt);

	/* Byte by byte: reported exactly when the 15th byte arrives. */
	f->r.n = 0;
	for (i = 0; i < sizeof(prompt) - 1; i++) {
		assert_int_equal(f->r.n, 0);
		assert_int_equal(mgmt_proto_feed(f->p, prompt + i, 1, on_msg,
		    &f->r, &f->err), MGMT_PROTO_OK);
	}
	assert_int_equal(f->r.n, 1);
	sb_reset(&f->r.out);

	/* The answer to the password may follow in the same chunk. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_LINE);
	check_feed(f, "ENTER PASSWORD:SUCCESS: password is correct\r\n"
	    ">INFO:OpenVPN Management Interface Version 5 -- type 'help' "
	    "for more info\r\n",
	    "PASSWORD_PROMPT\n"
	    "RESPONSE ok=true text=\"password is correct\" nlines=0\n"
	    "INFO text=\"OpenVPN Management Interface Version 5 -- type "
	    "'help' for more info\"\n");

	/* A wrong password only brings the prompt again; still expecting. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_LINE);
	check_feed(f, "ENTER PASSWORD:", "PASSWORD_PROMPT\n");
	assert_int_equal(mgmt_proto_expecting(f->p), MGMT_EXPECT_LINE);
	mgmt_proto_expect(f->p, MGMT_EXPECT_NONE);

	/* Shorter, or not at the start of the line: an ordinary line. */
	check_feed(f, "ENTER PASS\r\nxENTER PASSWORD:\r\nENTER PASSWORD\r\n",
	    "UNEXPECTED text=\"ENTER PASS\"\n"
	    "UNEXPECTED text=\"xENTER PASSWORD:\"\n"
	    "UNEXPECTED text=\"ENTER PASSWORD\"\n");
	/* After a prompt, a new line starts; a second prompt is seen too. */
	check_feed(f, "ENTER PASSWORD:ENTER PASSWORD:>INFO:x\r\n",
	    "PASSWORD_PROMPT\nPASSWORD_PROMPT\nINFO text=\"x\"\n");
	/* Inside a block, it is reported and the block goes on. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	check_feed(f, "a\r\nENTER PASSWORD:b\r\nEND\r\n",
	    "PASSWORD_PROMPT\nRESPONSE ok=true text=\"\" nlines=2\n"
	    "  \"a\"\n  \"b\"\n");
}

static void
test_single_line_responses(void **state)
{
	struct fixture *f = *state;

	mgmt_proto_expect(f->p, MGMT_EXPECT_LINE);
	assert_int_equal(mgmt_proto_expecting(f->p), MGMT_EXPECT_LINE);
	check_feed(f, "SUCCESS: pid=9407\r\n",
	    "RESPONSE ok=true text=\"pid=9407\" nlines=0\n");
	assert_int_equal(f->r.type, MGMT_MSG_RESPONSE);
	assert_string_equal(f->r.line, "SUCCESS: pid=9407");
	assert_int_equal(mgmt_proto_expecting(f->p), MGMT_EXPECT_NONE);

	mgmt_proto_expect(f->p, MGMT_EXPECT_LINE);
	check_feed(f, "ERROR: unknown command, enter 'help' for more "
	    "options\r\n",
	    "RESPONSE ok=false text=\"unknown command, enter 'help' for more"
	    " options\" nlines=0\n");
	assert_int_equal(mgmt_proto_expecting(f->p), MGMT_EXPECT_NONE);

	/* One optional space only. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_LINE);
	check_feed(f, "SUCCESS:x\r\n", "RESPONSE ok=true text=\"x\" nlines=0\n");
	mgmt_proto_expect(f->p, MGMT_EXPECT_LINE);
	check_feed(f, "SUCCESS:  two\r\n",
	    "RESPONSE ok=true text=\" two\" nlines=0\n");
	mgmt_proto_expect(f->p, MGMT_EXPECT_LINE);
	check_feed(f, "ERROR:\r\n", "RESPONSE ok=false text=\"\" nlines=0\n");

	/* A notification before the answer does not take its place. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_LINE);
	check_feed(f, ">LOG:1795745077,D,MANAGEMENT: CMD 'pid'\r\n"
	    "SUCCESS: pid=9407\r\nSUCCESS: pid=9407\r\n",
	    "LOG time=1795745077 flags=\"D\" text=\"MANAGEMENT: CMD 'pid'\"\n"
	    "RESPONSE ok=true text=\"pid=9407\" nlines=0\n"
	    "UNEXPECTED text=\"SUCCESS: pid=9407\"\n");

	/* Prefixes are case-sensitive. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_LINE);
	check_feed(f, "success: no\r\n", "UNEXPECTED text=\"success: no\"\n");
	assert_int_equal(mgmt_proto_expecting(f->p), MGMT_EXPECT_LINE);
}

static void
test_response_sets_next_expectation(void **state)
{
	struct fixture *f = *state;

	/* "state on all": SUCCESS, then the history as a block. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_LINE);
	f->r.set_next = true;
	f->r.next = MGMT_EXPECT_BLOCK;
	check_feed(f, "SUCCESS: real-time state notification set to ON\r\n"
	    "1795744938,CONNECTING,,,,,,\r\n"
	    "1795744939,WAIT,,,,,,\r\n"
	    "END\r\n",
	    "RESPONSE ok=true text=\"real-time state notification set to "
	    "ON\" nlines=0\n"
	    "RESPONSE ok=true text=\"\" nlines=2\n"
	    "  \"1795744938,CONNECTING,,,,,,\"\n"
	    "  \"1795744939,WAIT,,,,,,\"\n");
	assert_int_equal(mgmt_proto_expecting(f->p), MGMT_EXPECT_NONE);

	/* The same, expected as one block: SUCCESS is its first line. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	check_feed(f, "SUCCESS: real-time state notification set to ON\r\n"
	    "1795744938,CONNECTING,,,,,,\r\nEND\r\n",
	    "RESPONSE ok=true text=\"\" nlines=2\n"
	    "  \"SUCCESS: real-time state notification set to ON\"\n"
	    "  \"1795744938,CONNECTING,,,,,,\"\n");
}

static void
test_block_status(void **state)
{
	struct fixture *f = *state;

	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	check_feed(f, "OpenVPN STATISTICS\r\n"
	    "Updated,2026-11-27 02:30:00\r\n"
	    ">BYTECOUNT:4711,815\r\n"
	    "TUN/TAP read bytes,0\r\n"
	    ">LOG:1795745077,,MANAGEMENT: >STATE: not a state\r\n"
	    "TUN/TAP write bytes,0\r\n"
	    "TCP/UDP read bytes,5230\r\n"
	    "TCP/UDP write bytes,4771\r\n"
	    "Auth read bytes,0\r\n"
	    " >indented is data\r\n"
	    "END\r\n",
	    "BYTECOUNT in=4711 out=815\n"
	    "LOG time=1795745077 flags=\"\" text=\"MANAGEMENT: >STATE: not a "
	    "state\"\n"
	    "RESPONSE ok=true text=\"\" nlines=8\n"
	    "  \"OpenVPN STATISTICS\"\n"
	    "  \"Updated,2026-11-27 02:30:00\"\n"
	    "  \"TUN/TAP read bytes,0\"\n"
	    "  \"TUN/TAP write bytes,0\"\n"
	    "  \"TCP/UDP read bytes,5230\"\n"
	    "  \"TCP/UDP write bytes,4771\"\n"
	    "  \"Auth read bytes,0\"\n"
	    "  \" >indented is data\"\n");
	assert_string_equal(f->r.line, "");
	assert_int_equal(mgmt_proto_expecting(f->p), MGMT_EXPECT_NONE);
	/* After the answer, "END" means nothing. */
	check_feed(f, "END\r\n", "UNEXPECTED text=\"END\"\n");
}

static void
test_block_help_and_state_all(void **state)
{
	struct fixture *f = *state;

	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	check_feed(f, "Management Interface for OpenVPN 2.6.14 x86_64-pc-"
	    "linux-gnu\r\n"
	    "Commands:\r\n"
	    "auth-retry t           : Auth failure retry mode (none,interact,"
	    "nointeract).\r\n"
	    ">STATE:1795745077,WAIT,,,,,,\r\n"
	    "SUCCESS: just a line inside a block\r\n"
	    "ERROR: also just a line\r\n"
	    "ENDING is not END\r\n"
	    "END \r\n"
	    "END\r\n",
	    "STATE time=1795745077 name=\"WAIT\" detail=\"\" tun4=\"\" rip=\"\""
	    " rport=\"\" lip=\"\" lport=\"\" tun6=\"\"\n"
	    "RESPONSE ok=true text=\"\" nlines=7\n"
	    "  \"Management Interface for OpenVPN 2.6.14 x86_64-pc-linux-gnu\""
	    "\n"
	    "  \"Commands:\"\n"
	    "  \"auth-retry t           : Auth failure retry mode (none,"
	    "interact,nointeract).\"\n"
	    "  \"SUCCESS: just a line inside a block\"\n"
	    "  \"ERROR: also just a line\"\n"
	    "  \"ENDING is not END\"\n"
	    "  \"END \"\n");

	/* state all: history lines start with a timestamp, not '>'. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	check_feed(f, "1795744938,CONNECTING,,,,,,\r\n"
	    "1795744939,WAIT,,,,,,\r\n"
	    ">HOLD:Waiting for hold release:0\r\n"
	    "1795744940,CONNECTED,SUCCESS,10.8.0.2,127.0.0.1,1194,,\r\n"
	    "END\r\n",
	    "HOLD seconds=0 text=\"Waiting for hold release:0\"\n"
	    "RESPONSE ok=true text=\"\" nlines=3\n"
	    "  \"1795744938,CONNECTING,,,,,,\"\n"
	    "  \"1795744939,WAIT,,,,,,\"\n"
	    "  \"1795744940,CONNECTED,SUCCESS,10.8.0.2,127.0.0.1,1194,,\"\n");

	/* An empty block. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	check_feed(f, "END\r\n", "RESPONSE ok=true text=\"\" nlines=0\n");
	/* An empty line in a block is a line. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	check_feed(f, "\r\nEND\r\n",
	    "RESPONSE ok=true text=\"\" nlines=1\n  \"\"\n");
}

static void
test_block_error_first(void **state)
{
	struct fixture *f = *state;

	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	check_feed(f, "ERROR: the 'log' command requires at least 1 "
	    "parameter\r\n",
	    "RESPONSE ok=false text=\"the 'log' command requires at least 1 "
	    "parameter\" nlines=0\n");
	assert_string_equal(f->r.line,
	    "ERROR: the 'log' command requires at least 1 parameter");
	assert_int_equal(mgmt_proto_expecting(f->p), MGMT_EXPECT_NONE);
	check_feed(f, "END\r\n", "UNEXPECTED text=\"END\"\n");

	/* Notifications before it do not make it a later line. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	check_feed(f, ">INFO:x\r\nERROR: unknown command, enter 'help' for "
	    "more options\r\n",
	    "INFO text=\"x\"\n"
	    "RESPONSE ok=false text=\"unknown command, enter 'help' for more "
	    "options\" nlines=0\n");
}

static void
test_unexpected(void **state)
{
	struct fixture *f = *state;

	check_feed(f, "SUCCESS: stray\r\nEND\r\nOpenVPN STATISTICS\r\n",
	    "UNEXPECTED text=\"SUCCESS: stray\"\n"
	    "UNEXPECTED text=\"END\"\n"
	    "UNEXPECTED text=\"OpenVPN STATISTICS\"\n");
	assert_string_equal(f->r.line, "OpenVPN STATISTICS");

	/* While a line is expected, others are unexpected; it still waits. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_LINE);
	check_feed(f, "OpenVPN STATISTICS\r\nEND\r\nSUCCESS: hold=1\r\n",
	    "UNEXPECTED text=\"OpenVPN STATISTICS\"\n"
	    "UNEXPECTED text=\"END\"\n"
	    "RESPONSE ok=true text=\"hold=1\" nlines=0\n");
}

static void
test_other_notifications(void **state)
{
	struct fixture *f = *state;

	check_feed(f, ">CLIENT:CONNECT,0,1\r\n"
	    ">PK_SIGN:aGVsbG8=,RSA_PKCS1_PADDING\r\n"
	    ">garbage\r\n"
	    ">\r\n"
	    ">:x\r\n"
	    ">info:lowercase is not INFO\r\n",
	    "OTHER name=\"CLIENT\" text=\"CONNECT,0,1\"\n"
	    "OTHER name=\"PK_SIGN\" text=\"aGVsbG8=,RSA_PKCS1_PADDING\"\n"
	    "OTHER name=\"\" text=\"garbage\"\n"
	    "OTHER name=\"\" text=\"\"\n"
	    "OTHER name=\"\" text=\"x\"\n"
	    "OTHER name=\"info\" text=\"lowercase is not INFO\"\n");
	check_feed(f, ">ECHO:1795745313,hello-gui\r\n"
	    ">FATAL:ERROR: up/down plugin call failed\r\n"
	    ">NOTIFY:info,server-pushed-connection-reset,\r\n"
	    ">INFOMSG:WEB_AUTH::https://example.com/auth\r\n"
	    ">UPDOWN:UP\r\n"
	    ">UPDOWN:ENV,dev=tun0\r\n"
	    ">UPDOWN:ENV,END\r\n"
	    ">REMOTE:vpn.example.com,1194,udp\r\n"
	    ">PROXY:1,UDP,vpn.example.com\r\n",
	    "ECHO text=\"1795745313,hello-gui\"\n"
	    "FATAL text=\"ERROR: up/down plugin call failed\"\n"
	    "NOTIFY text=\"info,server-pushed-connection-reset,\"\n"
	    "INFOMSG text=\"WEB_AUTH::https://example.com/auth\"\n"
	    "UPDOWN text=\"UP\"\n"
	    "UPDOWN text=\"ENV,dev=tun0\"\n"
	    "UPDOWN text=\"ENV,END\"\n"
	    "REMOTE text=\"vpn.example.com,1194,udp\"\n"
	    "PROXY text=\"1,UDP,vpn.example.com\"\n");
}

static char *
repeat(char c, size_t n, const char *tail)
{
	size_t tl = strlen(tail);
	char *s = malloc(n + tl + 1);

	assert_non_null(s);
	memset(s, c, n);
	memcpy(s + n, tail, tl + 1);
	return s;
}

static void
test_line_too_long(void **state)
{
	struct fixture *f = *state;
	char *s;

	/* Exactly the limit, with CR LF, with LF, with CR and LF apart. */
	s = repeat('a', MGMT_PROTO_MAX_LINE, "\r\n");
	feed_ok(f, s);
	assert_int_equal(strlen(f->r.line), MGMT_PROTO_MAX_LINE);
	free(s);
	s = repeat('a', MGMT_PROTO_MAX_LINE, "\n");
	feed_ok(f, s);
	assert_int_equal(strlen(f->r.line), MGMT_PROTO_MAX_LINE);
	free(s);
	s = repeat('a', MGMT_PROTO_MAX_LINE, "\r");
	feed_ok(f, s);
	feed_ok(f, "\n");
	assert_int_equal(strlen(f->r.line), MGMT_PROTO_MAX_LINE);
	assert_int_equal(f->r.n, 3);
	free(s);

	/* One more, without the newline yet: failed at once. */
	s = repeat('a', MGMT_PROTO_MAX_LINE + 1, "");
	assert_int_equal(feed(f, s), MGMT_PROTO_ERR_LINE_TOO_LONG);
	assert_int_equal(f->err.code, MGMT_PROTO_ERR_LINE_TOO_LONG);
	assert_non_null(strstr(f->err.reason, "line too long (limit 16384)"));
	assert_non_null(strstr(f->err.reason, "\"aaaa"));
	assert_int_equal(f->r.n, 3);
	free(s);

	/* In pieces, with a CR that turns out not to end the line. */
	mgmt_proto_reset(f->p);
	s = repeat('b', MGMT_PROTO_MAX_LINE, "\r");
	feed_ok(f, s);
	assert_int_equal(feed(f, "x"), MGMT_PROTO_ERR_LINE_TOO_LONG);
	free(s);

	/* The reason shows a ">" line's name, never its payload. */
	mgmt_proto_reset(f->p);
	s = repeat('S', MGMT_PROTO_MAX_LINE + 1, "\r\n");
	memcpy(s, ">PASSWORD:Auth-Token:", strlen(">PASSWORD:Auth-Token:"));
	assert_int_equal(feed(f, s), MGMT_PROTO_ERR_LINE_TOO_LONG);
	assert_non_null(strstr(f->err.reason, "\">PASSWORD:\""));
	assert_null(strstr(f->err.reason, "Auth-Token"));
	free(s);

	/* A NULL error struct is allowed. */
	mgmt_proto_reset(f->p);
	s = repeat('c', MGMT_PROTO_MAX_LINE + 5, "\r\n");
	assert_int_equal(mgmt_proto_feed(f->p, s, strlen(s), on_msg, &f->r,
	    NULL), MGMT_PROTO_ERR_LINE_TOO_LONG);
	free(s);
}

static void
test_block_too_big(void **state)
{
	struct fixture *f = *state;
	struct sbuf in = { 0 };
	char *s;
	int i;

	/* MAX_BLOCK_LINES lines are fine. */
	for (i = 0; i < MGMT_PROTO_MAX_BLOCK_LINES; i++)
		sb_printf(&in, "%d\r\n", i);
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	feed_ok(f, in.s);
	feed_ok(f, "END\r\n");
	assert_int_equal(f->r.n, 1);
	assert_non_null(strstr(sb_str(&f->r.out), "nlines=4096\n"));
	assert_non_null(strstr(sb_str(&f->r.out), "\n  \"4095\"\n"));
	sb_reset(&f->r.out);

	/* One more is too many. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	feed_ok(f, in.s);
	assert_int_equal(feed(f, "4096\r\n"), MGMT_PROTO_ERR_BLOCK_TOO_BIG);
	assert_int_equal(f->err.code, MGMT_PROTO_ERR_BLOCK_TOO_BIG);
	assert_non_null(strstr(f->err.reason, "too many lines (limit 4096)"));
	assert_int_equal(f->r.n, 1);
	sb_free(&in);

	/* Bytes: 32 lines of 16383 bytes plus NUL are exactly the limit. */
	mgmt_proto_reset(f->p);
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	s = repeat('x', MGMT_PROTO_MAX_BLOCK_BYTES / 32 - 1, "\r\n");
	for (i = 0; i < 32; i++)
		feed_ok(f, s);
	feed_ok(f, "END\r\n");
	assert_int_equal(f->r.n, 2);
	assert_non_null(strstr(sb_str(&f->r.out), "nlines=32\n"));

	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	for (i = 0; i < 32; i++)
		feed_ok(f, s);
	assert_int_equal(feed(f, "\r\n"), MGMT_PROTO_ERR_BLOCK_TOO_BIG);
	assert_non_null(strstr(f->err.reason, "too large (limit 524288)"));
	assert_int_equal(f->r.n, 2);
	free(s);
}

static void
test_callback_stop(void **state)
{
	struct fixture *f = *state;

	f->r.stop_at = 2;
	assert_int_equal(feed(f, ">INFO:a\r\n>INFO:b\r\n>INFO:c\r\n"), 1);
	assert_string_equal(sb_str(&f->r.out),
	    "INFO text=\"a\"\nINFO text=\"b\"\n");
	sb_reset(&f->r.out);
	/* The rest of that call was dropped; the parser goes on. */
	check_feed(f, ">INFO:d\r\n", "INFO text=\"d\"\n");

	/* A partial line after the stop is dropped too. */
	f->r.n = 0;
	f->r.stop_at = 1;
	assert_int_equal(feed(f, ">INFO:a\r\n>INF"), 1);
	assert_string_equal(sb_str(&f->r.out), "INFO text=\"a\"\n");
	sb_reset(&f->r.out);
	f->r.stop_at = 0;
	check_feed(f, ">INFO:a\r\nO:x\r\n",
	    "INFO text=\"a\"\nUNEXPECTED text=\"O:x\"\n");

	/* Stop on a prompt and on an answer. */
	f->r.n = 0;
	f->r.stop_at = 1;
	assert_int_equal(feed(f, "ENTER PASSWORD:>INFO:x\r\n"), 1);
	assert_string_equal(sb_str(&f->r.out), "PASSWORD_PROMPT\n");
	sb_reset(&f->r.out);
	f->r.n = 0;
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	assert_int_equal(feed(f, "a\r\nEND\r\n>INFO:x\r\n"), 1);
	assert_string_equal(sb_str(&f->r.out),
	    "RESPONSE ok=true text=\"\" nlines=1\n  \"a\"\n");
	assert_int_equal(mgmt_proto_expecting(f->p), MGMT_EXPECT_NONE);
	sb_reset(&f->r.out);
	f->r.stop_at = 0;
}

static void
test_reset_after_error(void **state)
{
	struct fixture *f = *state;
	char *s = repeat('z', MGMT_PROTO_MAX_LINE + 2, "\r\n");

	mgmt_proto_expect(f->p, MGMT_EXPECT_LINE);
	assert_int_equal(feed(f, s), MGMT_PROTO_ERR_LINE_TOO_LONG);
	free(s);
	/* Unusable until reset, whatever is fed. */
	memset(&f->err, 0, sizeof(f->err));
	assert_int_equal(feed(f, ">INFO:x\r\n"), MGMT_PROTO_ERR_LINE_TOO_LONG);
	assert_int_equal(f->err.code, MGMT_PROTO_ERR_LINE_TOO_LONG);
	assert_non_null(strstr(f->err.reason, "reset"));
	assert_int_equal(f->r.n, 0);

	mgmt_proto_reset(f->p);
	assert_int_equal(mgmt_proto_expecting(f->p), MGMT_EXPECT_NONE);
	check_feed(f, ">INFO:x\r\n", "INFO text=\"x\"\n");

	/* Reset forgets a partial line and a partial block. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	feed_ok(f, "line one\r\npartial");
	mgmt_proto_reset(f->p);
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	check_feed(f, "fresh\r\nEND\r\n",
	    "RESPONSE ok=true text=\"\" nlines=1\n  \"fresh\"\n");

	/* A new expectation forgets a partial block, not a partial line. */
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	feed_ok(f, "old\r\nEN");
	mgmt_proto_expect(f->p, MGMT_EXPECT_BLOCK);
	check_feed(f, "D\r\n", "RESPONSE ok=true text=\"\" nlines=0\n");
}

static void
check_quote(const char *arg, const char *want)
{
	char buf[64];
	size_t wl = strlen(want);

	assert_int_equal(mgmt_quote_arg(buf, sizeof(buf), arg), (int)wl);
	assert_string_equal(buf, want);
	/* Exactly enough room, then one byte short. */
	assert_int_equal(mgmt_quote_arg(buf, wl + 1, arg), (int)wl);
	assert_string_equal(buf, want);
	assert_int_equal(mgmt_quote_arg(buf, wl, arg), -1);
	assert_string_equal(buf, "");
}

static void
test_quote_arg(void **state)
{
	char buf[16];

	(void)state;
	check_quote("Auth", "\"Auth\"");
	check_quote("p\"w", "\"p\\\"w\"");
	check_quote("a\\b", "\"a\\\\b\"");
	check_quote("\\\"", "\"\\\\\\\"\"");
	check_quote("with space 'single'", "\"with space 'single'\"");
	check_quote("", "\"\"");
	check_quote("gr\xc3\xbc\xc3\x9f", "\"gr\xc3\xbc\xc3\x9f\"");

	/* openvpn would drop these bytes: refused. */
	assert_int_equal(mgmt_quote_arg(buf, sizeof(buf), "a\rb"), -1);
	assert_int_equal(mgmt_quote_arg(buf, sizeof(buf), "a\nb"), -1);
	assert_int_equal(mgmt_quote_arg(buf, sizeof(buf), "a\tb"), -1);
	assert_int_equal(mgmt_quote_arg(buf, sizeof(buf), "a\x7f"), -1);
	assert_int_equal(mgmt_quote_arg(buf, sizeof(buf), "\x01"), -1);
	assert_string_equal(buf, "");
	assert_int_equal(mgmt_quote_arg(buf, 0, "x"), -1);
	assert_int_equal(mgmt_quote_arg(buf, 1, ""), -1);
	assert_int_equal(mgmt_quote_arg(buf, 2, ""), -1);
	assert_int_equal(mgmt_quote_arg(buf, 3, ""), 2);
	assert_int_equal(mgmt_quote_arg(buf, sizeof(buf),
	    "fifteen chars!!"), -1);
}

static void
test_type_names(void **state)
{
	static const char *const want[] = {
		"RESPONSE", "PASSWORD_PROMPT", "INFO", "HOLD", "STATE", "LOG",
		"ECHO", "BYTECOUNT", "FATAL", "PASSWORD", "NEED_OK",
		"NEED_STR", "NOTIFY", "INFOMSG", "UPDOWN", "REMOTE", "PROXY",
		"OTHER", "UNEXPECTED",
	};
	size_t i;

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]),
	    MGMT_MSG_UNEXPECTED + 1);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(mgmt_msg_type_name((enum mgmt_msg_type)i),
		    want[i]);
	assert_string_equal(mgmt_msg_type_name((enum mgmt_msg_type)99),
	    "UNKNOWN");
}

static void
test_new_free(void **state)
{
	struct mgmt_proto *p = mgmt_proto_new();

	(void)state;
	assert_non_null(p);
	assert_int_equal(mgmt_proto_expecting(p), MGMT_EXPECT_NONE);
	mgmt_proto_free(p);
	mgmt_proto_free(NULL);
}

/*
 * Golden cases. input holds the bytes openvpn sends, plus directive lines
 * that are not fed (each a whole line of the file, starting with '#'):
 *   #expect NONE|LINE|BLOCK   mgmt_proto_expect() at that point
 *   #reset                    mgmt_proto_reset()
 *   #raw TEXT                 feeds TEXT without a line end
 *   ## anything               a comment
 * expected holds the canonical form of every message (format_msg); a feed
 * error appears as FEED_ERROR code=NAME reason="..." after which the
 * runner resets the parser and skips the rest of that run of bytes. Each
 * case is replayed whole and in several chunk sizes; all must match.
 */
enum op_kind { OP_FEED, OP_EXPECT, OP_RESET };

struct op {
	enum op_kind		 kind;
	enum mgmt_expect	 expect;
	struct sbuf		 bytes;
};

struct script {
	struct op	*ops;
	size_t		 nops;
};

static char *
read_file(const char *path, size_t *lenp)
{
	struct sbuf b = { 0 };
	char tmp[4096];
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
		sb_putn(&b, tmp, n);
	assert_int_equal(ferror(fp), 0);
	fclose(fp);
	if (b.s == NULL)
		sb_putn(&b, "", 0);
	*lenp = b.len;
	return b.s;
}

static struct op *
script_add(struct script *sc, enum op_kind kind)
{
	struct op *ops;

	if (kind == OP_FEED && sc->nops > 0 &&
	    sc->ops[sc->nops - 1].kind == OP_FEED)
		return &sc->ops[sc->nops - 1];
	ops = realloc(sc->ops, (sc->nops + 1) * sizeof(*ops));
	assert_non_null(ops);
	sc->ops = ops;
	memset(&ops[sc->nops], 0, sizeof(ops[0]));
	ops[sc->nops].kind = kind;
	return &ops[sc->nops++];
}

static void
script_directive(struct script *sc, const char *d, const char *path)
{
	struct op *op;

	if (strncmp(d, "##", 2) == 0)
		return;
	if (strncmp(d, "#raw ", 5) == 0) {
		sb_puts(&script_add(sc, OP_FEED)->bytes, d + 5);
	} else if (strcmp(d, "#reset") == 0) {
		(void)script_add(sc, OP_RESET);
	} else if (strncmp(d, "#expect ", 8) == 0) {
		op = script_add(sc, OP_EXPECT);
		if (strcmp(d + 8, "NONE") == 0)
			op->expect = MGMT_EXPECT_NONE;
		else if (strcmp(d + 8, "LINE") == 0)
			op->expect = MGMT_EXPECT_LINE;
		else if (strcmp(d + 8, "BLOCK") == 0)
			op->expect = MGMT_EXPECT_BLOCK;
		else
			fail_msg("%s: bad expectation: %s", path, d);
	} else {
		fail_msg("%s: unknown directive: %s", path, d);
	}
}

static void
script_parse(struct script *sc, const char *buf, size_t len,
    const char *path)
{
	const char *nl, *end = buf + len;
	char dir[256];
	size_t n, dl;

	while (buf < end) {
		nl = memchr(buf, '\n', (size_t)(end - buf));
		n = nl != NULL ? (size_t)(nl - buf) + 1 : (size_t)(end - buf);
		if (buf[0] != '#') {
			sb_putn(&script_add(sc, OP_FEED)->bytes, buf, n);
		} else {
			dl = n;
			while (dl > 0 && (buf[dl - 1] == '\n' ||
			    buf[dl - 1] == '\r'))
				dl--;
			assert_true(dl < sizeof(dir));
			memcpy(dir, buf, dl);
			dir[dl] = '\0';
			script_directive(sc, dir, path);
		}
		buf += n;
	}
}

static void
script_free(struct script *sc)
{
	size_t i;

	for (i = 0; i < sc->nops; i++)
		sb_free(&sc->ops[i].bytes);
	free(sc->ops);
}

static const char *
err_name(int code)
{
	switch (code) {
	case MGMT_PROTO_ERR_LINE_TOO_LONG:	return "LINE_TOO_LONG";
	case MGMT_PROTO_ERR_BLOCK_TOO_BIG:	return "BLOCK_TOO_BIG";
	case MGMT_PROTO_ERR_BAD_MESSAGE:	return "BAD_MESSAGE";
	case MGMT_PROTO_ERR_NOMEM:		return "NOMEM";
	default:				return "?";
	}
}

/* Runs the script feeding chunk bytes at a time (0: each run at once). */
static void
script_run(const struct script *sc, size_t chunk, struct sbuf *out)
{
	struct mgmt_proto_error err;
	struct rec *r = calloc(1, sizeof(*r));
	const struct op *op;
	size_t i, off, n;
	int rc;

	assert_non_null(r);
	assert_non_null(r->p = mgmt_proto_new());
	for (i = 0; i < sc->nops; i++) {
		op = &sc->ops[i];
		if (op->kind == OP_EXPECT) {
			mgmt_proto_expect(r->p, op->expect);
			continue;
		}
		if (op->kind == OP_RESET) {
			mgmt_proto_reset(r->p);
			continue;
		}
		for (off = 0; off < op->bytes.len; off += n) {
			n = op->bytes.len - off;
			if (chunk != 0 && n > chunk)
				n = chunk;
			rc = mgmt_proto_feed(r->p, op->bytes.s + off, n, on_msg,
			    r, &err);
			if (rc == MGMT_PROTO_OK)
				continue;
			assert_true(rc < 0);
			assert_int_equal(err.code, rc);
			sb_printf(&r->out, "FEED_ERROR code=%s reason=",
			    err_name(rc));
			sb_quote(&r->out, err.reason);
			sb_puts(&r->out, "\n");
			mgmt_proto_reset(r->p);
			break;
		}
	}
	sb_puts(out, sb_str(&r->out));
	mgmt_proto_free(r->p);
	sb_free(&r->out);
	free(r);
}

static int
golden_case(const char *name)
{
	static const size_t chunks[] = { 0, 1, 2, 3, 5, 7, 16, 64, 4096 };
	struct script sc = { 0 };
	struct sbuf out = { 0 };
	char path[512], *in, *want;
	size_t inlen, wantlen, i;
	FILE *fp;
	int bad = 0;

	(void)snprintf(path, sizeof(path), "%s/%s/input", GOLDEN_DIR, name);
	if ((in = read_file(path, &inlen)) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	script_parse(&sc, in, inlen, path);
	free(in);

	(void)snprintf(path, sizeof(path), "%s/%s/expected", GOLDEN_DIR, name);
	if (getenv("MGMT_PROTO_GOLDEN_UPDATE") != NULL) {
		script_run(&sc, 0, &out);
		assert_non_null(fp = fopen(path, "wb"));
		assert_int_equal(fwrite(sb_str(&out), 1, out.len, fp),
		    out.len);
		assert_int_equal(fclose(fp), 0);
		sb_free(&out);
	}
	if ((want = read_file(path, &wantlen)) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		sb_reset(&out);
		script_run(&sc, chunks[i], &out);
		if (strcmp(sb_str(&out), want) == 0)
			continue;
		print_error("golden %s, chunk %zu: got\n%s--- expected\n%s---\n",
		    name, chunks[i], sb_str(&out), want);
		bad = 1;
		break;
	}
	sb_free(&out);
	free(want);
	script_free(&sc);
	return bad;
}

static int
is_case(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void
test_golden(void **state)
{
	struct dirent **names;
	int i, n, failed = 0;

	(void)state;
	n = scandir(GOLDEN_DIR, &names, is_case, alphasort);
	if (n < 0)
		fail_msg("%s: %s", GOLDEN_DIR, strerror(errno));
	for (i = 0; i < n; i++) {
		failed += golden_case(names[i]->d_name);
		free(names[i]);
	}
	free(names);
	print_message("golden: %d cases, %d failed\n", n, failed);
	assert_true(n >= 10);
	assert_int_equal(failed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greeting_hold, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crlf_split_bytewise, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytecount, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_password_kinds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_enter_password_prompt,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_line_responses,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_response_sets_next_expectation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_block_help_and_state_all,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_error_first, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unexpected, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_other_notifications, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_line_too_long, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_block_too_big, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_callback_stop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reset_after_error, setup,
		    teardown),
		cmocka_unit_test(test_quote_arg),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_new_free),
		cmocka_unit_test(test_golden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
