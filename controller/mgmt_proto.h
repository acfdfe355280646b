/* SPDX-License-Identifier: MIT */
/*
 * OpenVPN management protocol, bytes to typed messages. Pure: no libuv, no
 * globals, no logging, so it can be unit-tested and fuzzed. The caller tells
 * the parser what kind of answer the command in flight expects; real-time
 * ">" lines are recognised whatever is pending.
 */
#ifndef SUPPORTVPN_MGMT_PROTO_H
#define SUPPORTVPN_MGMT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest line accepted from openvpn (without CR LF). */
#define MGMT_PROTO_MAX_LINE	(16 * 1024)
/* Most lines and bytes in one multi-line (END) answer. */
#define MGMT_PROTO_MAX_BLOCK_LINES	4096
#define MGMT_PROTO_MAX_BLOCK_BYTES	(512 * 1024)

enum mgmt_expect {
	MGMT_EXPECT_NONE = 0,	/* no command in flight */
	MGMT_EXPECT_LINE,	/* one SUCCESS:/ERROR: line */
	MGMT_EXPECT_BLOCK,	/* lines up to END; an ERROR: line also ends it */
};

enum mgmt_msg_type {
	MGMT_MSG_RESPONSE,	/* the answer to the command in flight */
	MGMT_MSG_PASSWORD_PROMPT, /* raw "ENTER PASSWORD:" with no newline */
	MGMT_MSG_INFO,		/* >INFO: */
	MGMT_MSG_HOLD,		/* >HOLD: */
	MGMT_MSG_STATE,		/* >STATE: */
	MGMT_MSG_LOG,		/* >LOG: */
	MGMT_MSG_ECHO,		/* >ECHO: */
	MGMT_MSG_BYTECOUNT,	/* >BYTECOUNT: */
	MGMT_MSG_FATAL,		/* >FATAL: */
	MGMT_MSG_PASSWORD,	/* >PASSWORD: */
	MGMT_MSG_NEED_OK,	/* >NEED-OK: */
	MGMT_MSG_NEED_STR,	/* >NEED-STR: */
	MGMT_MSG_NOTIFY,	/* >NOTIFY: */
	MGMT_MSG_INFOMSG,	/* >INFOMSG: */
	MGMT_MSG_UPDOWN,	/* >UPDOWN: (each line of the block) */
	MGMT_MSG_REMOTE,	/* >REMOTE: */
	MGMT_MSG_PROXY,		/* >PROXY: */
	MGMT_MSG_OTHER,		/* any other ">NAME:" line (name in u.other) */
	MGMT_MSG_UNEXPECTED,	/* a non-">" line while nothing is expected */
};

/*
 * One parsed message. Every pointer is borrowed from the parser and valid
 * only during the callback; strings are NUL-terminated, empty ("") when a
 * field is absent, never NULL.
 */
struct mgmt_msg {
	enum mgmt_msg_type type;
	const char *line;	/* the whole line, without CR LF ("" for blocks) */
	union {
		struct {
			bool ok;	/* SUCCESS:/END-block vs ERROR: */
			const char *text; /* after "SUCCESS: "/"ERROR: " ("" for blocks) */
			size_t nlines;	/* block lines, END excluded */
			const char *const *lines;
		} response;
		struct {
			unsigned seconds; /* N of "Waiting for hold release:N" */
			const char *text;
		} hold;
		struct {
			int64_t time;
			const char *name;	/* CONNECTED, RECONNECTING, ... */
			const char *detail;	/* may contain commas (AUTH_PENDING) */
			const char *tun_ip4;
			const char *remote_ip;
			const char *remote_port;
			const char *local_ip;
			const char *local_port;
			const char *tun_ip6;
		} state;
		struct {
			int64_t time;
			const char *flags;	/* zero or more of I F N W D */
			const char *text;
		} log;
		struct {
			uint64_t bytes_in;
			uint64_t bytes_out;
		} bytecount;
		struct {
			const char *kind;	/* 'Auth', 'Private Key', ... */
			const char *text;	/* the whole payload */
		} prompt;	/* PASSWORD, NEED_OK, NEED_STR */
		struct {
			const char *name;	/* e.g. "CLIENT" for ">CLIENT:" */
			const char *text;
		} other;
		const char *text;	/* INFO, ECHO, FATAL, NOTIFY, INFOMSG,
					   UPDOWN, REMOTE, PROXY, UNEXPECTED */
	} u;
};

enum mgmt_proto_err {
	MGMT_PROTO_OK = 0,
	MGMT_PROTO_ERR_LINE_TOO_LONG = -1,
	MGMT_PROTO_ERR_BLOCK_TOO_BIG = -2,
	MGMT_PROTO_ERR_BAD_MESSAGE = -3, /* a known ">X:" line that does not parse */
	MGMT_PROTO_ERR_NOMEM = -4,
};

/* Filled by mgmt_proto_feed on failure; the caller logs it once. */
struct mgmt_proto_error {
	enum mgmt_proto_err code;
	char reason[160];	/* what was wrong, with the offending prefix */
};

/* Return non-zero to stop feeding (e.g. the caller closed the link). */
typedef int (*mgmt_proto_cb)(const struct mgmt_msg *msg, void *arg);

struct mgmt_proto;

/* A parser in its initial state, expecting nothing. NULL + errno. New. */
struct mgmt_proto *mgmt_proto_new(void);
/* NULL-safe. */
void	mgmt_proto_free(struct mgmt_proto *p);
/* Forget partial lines and blocks (after a reconnect). */
void	mgmt_proto_reset(struct mgmt_proto *p);
/* Sets what the command just sent expects. */
void	mgmt_proto_expect(struct mgmt_proto *p, enum mgmt_expect e);
enum mgmt_expect mgmt_proto_expecting(const struct mgmt_proto *p);

/*
 * Feeds bytes; calls cb for every complete message, in order. After a
 * response the parser expects nothing until told. A line that fails to
 * parse as its ">" type is passed on as MGMT_MSG_OTHER rather than
 * failing, except for limits. Returns MGMT_PROTO_OK, 1 if cb asked to stop,
 * or a negative mgmt_proto_err with err filled; after an error the parser
 * must be reset before use.
 */
int	mgmt_proto_feed(struct mgmt_proto *p, const char *buf, size_t len,
	    mgmt_proto_cb cb, void *arg, struct mgmt_proto_error *err);

/* "STATE" for MGMT_MSG_STATE etc.; for logs and tests. Static string. */
const char *mgmt_msg_type_name(enum mgmt_msg_type t);

/*
 * Quotes one argument for a management command the way openvpn's lexer
 * reads it ("..." with \\ and \" escaped). Writes at most size bytes
 * including the NUL. Returns the length, or -1 if it did not fit or the
 * argument holds a CR, LF or NUL.
 */
int	mgmt_quote_arg(char *dst, size_t size, const char *arg);

#endif
