/* SPDX-License-Identifier: MIT */
/*
 * OpenVPN management protocol reader: reassembles lines from arbitrary
 * chunks, routes ">" notifications, collects command answers and cuts
 * notification payloads into the fields of struct mgmt_msg. Pure: all state
 * lives in struct mgmt_proto, nothing is logged.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt_proto.h"

/* Sent by a password-protected interface with no CR LF after it. */
#define PROMPT		"ENTER PASSWORD:"
#define PROMPT_LEN	(sizeof(PROMPT) - 1)

/* First allocation of the block store; it doubles up to the limits. */
#define BLOCK_MIN_BYTES	4096
#define BLOCK_MIN_LINES	64

/* How much of an offending line goes into an error reason. */
#define REASON_PREFIX	24

struct mgmt_proto {
	enum mgmt_expect expect;
	enum mgmt_proto_err failed;	/* set by an error until reset */

	/*
	 * The line being assembled: MGMT_PROTO_MAX_LINE bytes, one more for a
	 * CR whose LF has not arrived yet, and the NUL.
	 */
	char		*line;
	size_t		 linelen;
	/* Copy of a ">" line that the field parsers cut with NULs. */
	char		*scratch;

	/*
	 * The block answer being collected: NUL-terminated lines packed in
	 * blk, line i starting at off[i]. Offsets survive the reallocs;
	 * ptrs (one longer, for the NULL end) is built only when emitting.
	 */
	char		*blk;
	size_t		 blklen;
	size_t		 blkcap;
	size_t		*off;
	const char	**ptrs;
	size_t		 nlines;
	size_t		 linecap;
};

struct notif_type {
	const char		*name;
	enum mgmt_msg_type	 type;
};

static const struct notif_type notif_types[] = {
	{ "INFO",	MGMT_MSG_INFO },
	{ "HOLD",	MGMT_MSG_HOLD },
	{ "STATE",	MGMT_MSG_STATE },
	{ "LOG",	MGMT_MSG_LOG },
	{ "ECHO",	MGMT_MSG_ECHO },
	{ "BYTECOUNT",	MGMT_MSG_BYTECOUNT },
	{ "FATAL",	MGMT_MSG_FATAL },
	{ "PASSWORD",	MGMT_MSG_PASSWORD },
	{ "NEED-OK",	MGMT_MSG_NEED_OK },
	{ "NEED-STR",	MGMT_MSG_NEED_STR },
	{ "NOTIFY",	MGMT_MSG_NOTIFY },
	{ "INFOMSG",	MGMT_MSG_INFOMSG },
	{ "UPDOWN",	MGMT_MSG_UPDOWN },
	{ "REMOTE",	MGMT_MSG_REMOTE },
	{ "PROXY",	MGMT_MSG_PROXY },
};

static const char *const no_lines[1] = { NULL };

struct mgmt_proto *
mgmt_proto_new(void)
{
	struct mgmt_proto *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->line = malloc(MGMT_PROTO_MAX_LINE + 2);
	p->scratch = malloc(MGMT_PROTO_MAX_LINE + 2);
	if (p->line == NULL || p->scratch == NULL) {
		mgmt_proto_free(p);
		errno = ENOMEM;
		return NULL;
	}
	p->expect = MGMT_EXPECT_NONE;
	return p;
}

void
mgmt_proto_free(struct mgmt_proto *p)
{
	if (p == NULL)
		return;
	free(p->ptrs);
	free(p->off);
	free(p->blk);
	free(p->scratch);
	free(p->line);
	free(p);
}

/*
 * Memory of the block store is kept, not freed: a callback may reset the
 * parser while it still reads the lines it was handed.
 */
void
mgmt_proto_reset(struct mgmt_proto *p)
{
	p->expect = MGMT_EXPECT_NONE;
	p->failed = MGMT_PROTO_OK;
	p->linelen = 0;
	p->blklen = 0;
	p->nlines = 0;
}

/* Any partly collected block belongs to the old expectation and is dropped. */
void
mgmt_proto_expect(struct mgmt_proto *p, enum mgmt_expect e)
{
	p->expect = e;
	p->blklen = 0;
	p->nlines = 0;
}

enum mgmt_expect
mgmt_proto_expecting(const struct mgmt_proto *p)
{
	return p->expect;
}

/*
 * Escapes at most REASON_PREFIX bytes of s for an error reason. For ">"
 * lines only the name up to the first ':' is shown: the payload may be a
 * secret (">PASSWORD:Auth-Token:...").
 */
static void
escape_prefix(char *dst, size_t size, const char *s, size_t len)
{
	const char *colon;
	size_t i, o = 0;
	unsigned char c;

	assert(size >= 4 * REASON_PREFIX + 4);
	if (len > 0 && s[0] == '>' &&
	    (colon = memchr(s, ':', len)) != NULL)
		len = (size_t)(colon - s) + 1;
	for (i = 0; i < len && i < REASON_PREFIX; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			dst[o++] = (char)c;
		} else {
			o += (size_t)snprintf(dst + o, size - o, "\\x%02x", c);
		}
	}
	if (i < len) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/*
 * Marks the parser failed and fills err (if any) with what went wrong, the
 * limit that was hit (0: none) and the start of the offending line (s may
 * be NULL); returns code.
 */
static int
fail(struct mgmt_proto *p, struct mgmt_proto_error *err,
    enum mgmt_proto_err code, const char *what, size_t limit, const char *s,
    size_t len)
{
	char prefix[4 * REASON_PREFIX + 4], lim[32] = "";

	p->failed = code;
	if (err == NULL)
		return code;
	err->code = code;
	if (limit > 0)
		(void)snprintf(lim, sizeof(lim), " (limit %zu)", limit);
	if (s == NULL) {
		(void)snprintf(err->reason, sizeof(err->reason), "%s%s", what,
		    lim);
		return code;
	}
	escape_prefix(prefix, sizeof(prefix), s, len);
	/* The longest reason is about 150 bytes; a cut would be harmless. */
	(void)snprintf(err->reason, sizeof(err->reason), "%s%s: \"%s\"", what,
	    lim, prefix);
	return code;
}

static int
emit(const struct mgmt_msg *msg, mgmt_proto_cb cb, void *arg)
{
	return cb(msg, arg) != 0 ? 1 : 0;
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Decimal digits only: strtoull alone would also take blanks, a sign and
 * wrap "-1" around. Keeps errno.
 */
static int
parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int saved = errno;
	int rc = MGMT_PROTO_OK;

	if (*s < '0' || *s > '9')
		return MGMT_PROTO_ERR_BAD_MESSAGE;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		rc = MGMT_PROTO_ERR_BAD_MESSAGE;
#if ULLONG_MAX > UINT64_MAX
	else if (v > UINT64_MAX)
		rc = MGMT_PROTO_ERR_BAD_MESSAGE;
#endif
	else
		*out = (uint64_t)v;
	errno = saved;
	return rc;
}

/* An optional '-' and decimal digits. Keeps errno. */
static int
parse_i64(const char *s, int64_t *out)
{
	long long v;
	char *end;
	const char *d = s[0] == '-' ? s + 1 : s;
	int saved = errno;
	int rc = MGMT_PROTO_OK;

	if (*d < '0' || *d > '9')
		return MGMT_PROTO_ERR_BAD_MESSAGE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		rc = MGMT_PROTO_ERR_BAD_MESSAGE;
#if LLONG_MAX > INT64_MAX
	else if (v > INT64_MAX || v < INT64_MIN)
		rc = MGMT_PROTO_ERR_BAD_MESSAGE;
#endif
	else
		*out = (int64_t)v;
	errno = saved;
	return rc;
}

/* Cuts s at its first ',' and returns what follows, or NULL if none. */
static char *
cut_first(char *s)
{
	char *c = strchr(s, ',');

	if (c == NULL)
		return NULL;
	*c = '\0';
	return c + 1;
}

/* Cuts s at its last ',' and returns what follows, or NULL if none. */
static char *
cut_last(char *s)
{
	char *c = strrchr(s, ',');

	if (c == NULL)
		return NULL;
	*c = '\0';
	return c + 1;
}

static size_t
count_char(const char *s, char ch)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s == ch)
			n++;
	return n;
}

/*
 * "Waiting for hold release:N". Without any ':' (before 2.4) N is 0; a ':'
 * followed by anything but a number does not parse.
 */
static int
parse_hold(char *s, const char *text, struct mgmt_msg *msg)
{
	const char *colon = strrchr(s, ':');
	uint64_t v = 0;

	if (colon != NULL &&
	    (parse_u64(colon + 1, &v) != 0 || v > UINT_MAX))
		return MGMT_PROTO_ERR_BAD_MESSAGE;
	msg->u.hold.seconds = (unsigned)v;
	msg->u.hold.text = text;
	return MGMT_PROTO_OK;
}

/*
 * time,NAME,detail,tun4,rip,rport,lip,lport[,tun6]
 *
 * Only detail may hold commas (AUTH_PENDING carries the server's keyword
 * string), so time and NAME are taken from the left and the fixed fields
 * from the right; detail is whatever lies between.
 *
 * Whether the 9th field is there is decided by its content, since a comma
 * count alone cannot tell "tun6 present" from "one comma in detail".
 * openvpn prints tun6 only when an IPv6 tun address is set, and an IPv6
 * address always holds a ':'; the field that is last otherwise (lport) is
 * a port number or empty and never does. So: the last field is tun6 if and
 * only if there are at least 8 commas and it contains a ':'. Otherwise every
 * comma beyond the 7th belongs to detail.
 */
static int
parse_state(char *s, struct mgmt_msg *msg)
{
	char *trail[6];		/* tun4, rip, rport, lip, lport[, tun6] */
	char *name, *rest, *last;
	size_t ncommas = count_char(s, ','), ntrail = 5, i;

	if (ncommas < 7)
		return MGMT_PROTO_ERR_BAD_MESSAGE;
	if ((name = cut_first(s)) == NULL || (rest = cut_first(name)) == NULL)
		return MGMT_PROTO_ERR_BAD_MESSAGE;
	if (*name == '\0' || parse_i64(s, &msg->u.state.time) != 0)
		return MGMT_PROTO_ERR_BAD_MESSAGE;
	last = strrchr(rest, ',');
	if (ncommas >= 8 && last != NULL && strchr(last + 1, ':') != NULL)
		ntrail = 6;
	for (i = ntrail; i > 0; i--)
		if ((trail[i - 1] = cut_last(rest)) == NULL)
			return MGMT_PROTO_ERR_BAD_MESSAGE;
	msg->u.state.name = name;
	msg->u.state.detail = rest;
	msg->u.state.tun_ip4 = trail[0];
	msg->u.state.remote_ip = trail[1];
	msg->u.state.remote_port = trail[2];
	msg->u.state.local_ip = trail[3];
	msg->u.state.local_port = trail[4];
	msg->u.state.tun_ip6 = ntrail == 6 ? trail[5] : "";
	return MGMT_PROTO_OK;
}

/* time,FLAGS,text; text may hold commas, so only two cuts. */
static int
parse_log(char *s, struct mgmt_msg *msg)
{
	char *flags, *text;

	if ((flags = cut_first(s)) == NULL || (text = cut_first(flags)) == NULL)
		return MGMT_PROTO_ERR_BAD_MESSAGE;
	if (parse_i64(s, &msg->u.log.time) != 0)
		return MGMT_PROTO_ERR_BAD_MESSAGE;
	msg->u.log.flags = flags;
	msg->u.log.text = text;
	return MGMT_PROTO_OK;
}

/* bytes_in,bytes_out */
static int
parse_bytecount(char *s, struct mgmt_msg *msg)
{
	char *out;

	if ((out = cut_first(s)) == NULL)
		return MGMT_PROTO_ERR_BAD_MESSAGE;
	if (parse_u64(s, &msg->u.bytecount.bytes_in) != 0 ||
	    parse_u64(out, &msg->u.bytecount.bytes_out) != 0)
		return MGMT_PROTO_ERR_BAD_MESSAGE;
	return MGMT_PROTO_OK;
}

/*
 * PASSWORD, NEED-OK, NEED-STR: the kind is between the first two single
 * quotes ("Need 'Private Key' password"); "Auth-Token:..." has none and
 * gets "".
 */
static int
parse_prompt(char *s, const char *text, struct mgmt_msg *msg)
{
	char *q1, *q2;

	msg->u.prompt.kind = "";
	msg->u.prompt.text = text;
	if ((q1 = strchr(s, '\'')) != NULL &&
	    (q2 = strchr(q1 + 1, '\'')) != NULL) {
		*q2 = '\0';
		msg->u.prompt.kind = q1 + 1;
	}
	return MGMT_PROTO_OK;
}

/*
 * Fills msg for a known type. s is the payload in scratch (may be cut up),
 * text the same payload in the intact line.
 */
static int
parse_payload(enum mgmt_msg_type type, char *s, const char *text,
    struct mgmt_msg *msg)
{
	switch (type) {
	case MGMT_MSG_HOLD:
		return parse_hold(s, text, msg);
	case MGMT_MSG_STATE:
		return parse_state(s, msg);
	case MGMT_MSG_LOG:
		return parse_log(s, msg);
	case MGMT_MSG_BYTECOUNT:
		return parse_bytecount(s, msg);
	case MGMT_MSG_PASSWORD:
	case MGMT_MSG_NEED_OK:
	case MGMT_MSG_NEED_STR:
		return parse_prompt(s, text, msg);
	default:
		msg->u.text = text;
		return MGMT_PROTO_OK;
	}
}

static int
handle_notification(struct mgmt_proto *p, size_t len, mgmt_proto_cb cb,
    void *arg)
{
	struct mgmt_msg msg;
	char *name, *colon;
	const char *text;
	size_t i;

	memset(&msg, 0, sizeof(msg));
	msg.line = p->line;
	msg.type = MGMT_MSG_OTHER;
	memcpy(p->scratch, p->line, len + 1);
	name = p->scratch + 1;
	if ((colon = strchr(name, ':')) == NULL) {
		/* ">" with no ':' has no name; everything is text. */
		msg.u.other.name = "";
		msg.u.other.text = p->line + 1;
		return emit(&msg, cb, arg);
	}
	*colon = '\0';
	text = p->line + (colon - p->scratch) + 1;
	for (i = 0; i < sizeof(notif_types) / sizeof(notif_types[0]); i++) {
		if (strcmp(name, notif_types[i].name) != 0)
			continue;
		if (parse_payload(notif_types[i].type, colon + 1, text,
		    &msg) == MGMT_PROTO_OK) {
			msg.type = notif_types[i].type;
			return emit(&msg, cb, arg);
		}
		/* A known type that does not parse is passed on as OTHER. */
		memset(&msg.u, 0, sizeof(msg.u));
		break;
	}
	msg.u.other.name = name;
	msg.u.other.text = text;
	return emit(&msg, cb, arg);
}

/* SUCCESS:/ERROR: line; text skips the prefix and one optional space. */
static int
emit_response_line(struct mgmt_proto *p, bool ok, size_t skip,
    mgmt_proto_cb cb, void *arg)
{
	struct mgmt_msg msg;
	const char *text = p->line + skip;

	if (*text == ' ')
		text++;
	memset(&msg, 0, sizeof(msg));
	msg.type = MGMT_MSG_RESPONSE;
	msg.line = p->line;
	msg.u.response.ok = ok;
	msg.u.response.text = text;
	msg.u.response.nlines = 0;
	msg.u.response.lines = no_lines;
	/* Before the callback, so it may set the next expectation. */
	p->expect = MGMT_EXPECT_NONE;
	p->blklen = 0;
	p->nlines = 0;
	return emit(&msg, cb, arg);
}

static int
emit_block(struct mgmt_proto *p, mgmt_proto_cb cb, void *arg)
{
	struct mgmt_msg msg;
	size_t i;

	memset(&msg, 0, sizeof(msg));
	msg.type = MGMT_MSG_RESPONSE;
	msg.line = "";
	msg.u.response.ok = true;
	msg.u.response.text = "";
	msg.u.response.nlines = p->nlines;
	msg.u.response.lines = no_lines;
	if (p->nlines > 0) {
		for (i = 0; i < p->nlines; i++)
			p->ptrs[i] = p->blk + p->off[i];
		p->ptrs[p->nlines] = NULL;
		msg.u.response.lines = p->ptrs;
	}
	/*
	 * Emptied before the callback, which may set the next expectation;
	 * the bytes stay in place until the next feed.
	 */
	p->expect = MGMT_EXPECT_NONE;
	p->blklen = 0;
	p->nlines = 0;
	return emit(&msg, cb, arg);
}

/* Makes room for one more line of need bytes; the caller checked limits. */
static int
block_reserve(struct mgmt_proto *p, size_t need)
{
	size_t cap;
	char *nb;
	size_t *noff;
	const char **nptrs;

	if (p->blklen + need > p->blkcap) {
		cap = p->blkcap > 0 ? p->blkcap : BLOCK_MIN_BYTES;
		while (cap < p->blklen + need)
			cap *= 2;
		if (cap > MGMT_PROTO_MAX_BLOCK_BYTES)
			cap = MGMT_PROTO_MAX_BLOCK_BYTES;
		if ((nb = realloc(p->blk, cap)) == NULL)
			return MGMT_PROTO_ERR_NOMEM;
		p->blk = nb;
		p->blkcap = cap;
	}
	if (p->nlines + 1 > p->linecap) {
		cap = p->linecap > 0 ? p->linecap * 2 : BLOCK_MIN_LINES;
		if (cap > MGMT_PROTO_MAX_BLOCK_LINES)
			cap = MGMT_PROTO_MAX_BLOCK_LINES;
		if ((noff = realloc(p->off, cap * sizeof(*noff))) == NULL)
			return MGMT_PROTO_ERR_NOMEM;
		p->off = noff;
		if ((nptrs = realloc(p->ptrs, (cap + 1) * sizeof(*nptrs))) ==
		    NULL)
			return MGMT_PROTO_ERR_NOMEM;
		p->ptrs = nptrs;
		p->linecap = cap;
	}
	return MGMT_PROTO_OK;
}

/* Each line costs its length plus its NUL against the byte limit. */
static int
block_append(struct mgmt_proto *p, size_t len, struct mgmt_proto_error *err)
{
	size_t need = len + 1;
	int rc;

	if (p->nlines >= MGMT_PROTO_MAX_BLOCK_LINES)
		return fail(p, err, MGMT_PROTO_ERR_BLOCK_TOO_BIG,
		    "block answer has too many lines",
		    MGMT_PROTO_MAX_BLOCK_LINES, p->line, len);
	if (need > MGMT_PROTO_MAX_BLOCK_BYTES - p->blklen)
		return fail(p, err, MGMT_PROTO_ERR_BLOCK_TOO_BIG,
		    "block answer too large", MGMT_PROTO_MAX_BLOCK_BYTES,
		    p->line, len);
	if ((rc = block_reserve(p, need)) != MGMT_PROTO_OK)
		return fail(p, err, rc, "out of memory for a block answer", 0,
		    NULL, 0);
	memcpy(p->blk + p->blklen, p->line, need);
	p->off[p->nlines++] = p->blklen;
	p->blklen += need;
	return MGMT_PROTO_OK;
}

/*
 * A non-">" line while a block is expected. An ERROR: line can only be a
 * failed command when it comes first; later, like SUCCESS: (the first line
 * of "state on all" if the caller expects one block for it), it is data.
 */
static int
handle_block_line(struct mgmt_proto *p, size_t len, mgmt_proto_cb cb,
    void *arg, struct mgmt_proto_error *err)
{
	if (p->nlines == 0 && has_prefix(p->line, "ERROR:"))
		return emit_response_line(p, false, strlen("ERROR:"), cb, arg);
	if (len == 3 && memcmp(p->line, "END", 3) == 0)
		return emit_block(p, cb, arg);
	return block_append(p, len, err);
}

/* One complete line, CR LF stripped, NUL-terminated in p->line. */
static int
handle_line(struct mgmt_proto *p, size_t len, mgmt_proto_cb cb, void *arg,
    struct mgmt_proto_error *err)
{
	struct mgmt_msg msg;

	/* Only a '>' in column 0 counts; log text may quote ">STATE:". */
	if (p->line[0] == '>')
		return handle_notification(p, len, cb, arg);
	switch (p->expect) {
	case MGMT_EXPECT_BLOCK:
		return handle_block_line(p, len, cb, arg, err);
	case MGMT_EXPECT_LINE:
		if (has_prefix(p->line, "SUCCESS:"))
			return emit_response_line(p, true, strlen("SUCCESS:"),
			    cb, arg);
		if (has_prefix(p->line, "ERROR:"))
			return emit_response_line(p, false, strlen("ERROR:"),
			    cb, arg);
		break;
	case MGMT_EXPECT_NONE:
		break;
	}
	memset(&msg, 0, sizeof(msg));
	msg.type = MGMT_MSG_UNEXPECTED;
	msg.line = p->line;
	msg.u.text = p->line;
	return emit(&msg, cb, arg);
}

static int
emit_prompt(mgmt_proto_cb cb, void *arg)
{
	struct mgmt_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = MGMT_MSG_PASSWORD_PROMPT;
	msg.line = PROMPT;
	msg.u.text = "";
	return emit(&msg, cb, arg);
}

/*
 * True if the n bytes at buf complete "ENTER PASSWORD:" at the start of
 * the line being assembled.
 */
static bool
completes_prompt(const struct mgmt_proto *p, const char *buf, size_t n)
{
	size_t want;

	if (p->linelen >= PROMPT_LEN)
		return false;
	want = PROMPT_LEN - p->linelen;
	return n >= want && memcmp(p->line, PROMPT, p->linelen) == 0 &&
	    memcmp(buf, &PROMPT[p->linelen], want) == 0;
}

/*
 * Appends n bytes to the line. Room is kept for MAX_LINE bytes plus a CR
 * whose LF may come in the next chunk; a byte beyond that, or a last byte
 * that cannot be that CR, makes the line too long.
 */
static int
line_append(struct mgmt_proto *p, const char *buf, size_t n,
    struct mgmt_proto_error *err)
{
	const size_t room = MGMT_PROTO_MAX_LINE + 1;
	size_t take = n < room - p->linelen ? n : room - p->linelen;

	memcpy(p->line + p->linelen, buf, take);
	p->linelen += take;
	if (take < n || (p->linelen == room &&
	    p->line[MGMT_PROTO_MAX_LINE] != '\r'))
		return fail(p, err, MGMT_PROTO_ERR_LINE_TOO_LONG,
		    "line too long", MGMT_PROTO_MAX_LINE, p->line, p->linelen);
	return MGMT_PROTO_OK;
}

/*
 * Splits buf into lines and handles each, in order.
 *
 * When the callback returns non-zero, feed returns 1 at once and the bytes
 * of buf after the message that stopped it are dropped: the parser stays
 * usable, but the next feed starts a new line, so a caller that goes on
 * should reset first. Nothing in p is touched after such a callback, so it
 * may even have freed the parser. Otherwise the callback may call
 * mgmt_proto_expect, mgmt_proto_expecting and mgmt_proto_reset, but not
 * mgmt_proto_feed.
 */
int
mgmt_proto_feed(struct mgmt_proto *p, const char *buf, size_t len,
    mgmt_proto_cb cb, void *arg, struct mgmt_proto_error *err)
{
	const char *nl;
	size_t n, linelen;
	int rc;

	if (p->failed != MGMT_PROTO_OK)
		return fail(p, err, p->failed,
		    "parser used after an error without a reset", 0, NULL, 0);
	while (len > 0) {
		nl = memchr(buf, '\n', len);
		n = nl != NULL ? (size_t)(nl - buf) : len;
		if (completes_prompt(p, buf, n)) {
			n = PROMPT_LEN - p->linelen;
			buf += n;
			len -= n;
			p->linelen = 0;
			if (emit_prompt(cb, arg) != 0)
				return 1;
			continue;
		}
		if ((rc = line_append(p, buf, n, err)) != MGMT_PROTO_OK)
			return rc;
		if (nl == NULL)
			break;
		buf += n + 1;
		len -= n + 1;
		linelen = p->linelen;
		if (linelen > 0 && p->line[linelen - 1] == '\r')
			linelen--;
		p->line[linelen] = '\0';
		/* Emptied first: the callback may reset the parser. */
		p->linelen = 0;
		if ((rc = handle_line(p, linelen, cb, arg, err)) != 0)
			return rc;
	}
	return MGMT_PROTO_OK;
}

const char *
mgmt_msg_type_name(enum mgmt_msg_type t)
{
	switch (t) {
	case MGMT_MSG_RESPONSE:		return "RESPONSE";
	case MGMT_MSG_PASSWORD_PROMPT:	return "PASSWORD_PROMPT";
	case MGMT_MSG_INFO:		return "INFO";
	case MGMT_MSG_HOLD:		return "HOLD";
	case MGMT_MSG_STATE:		return "STATE";
	case MGMT_MSG_LOG:		return "LOG";
	case MGMT_MSG_ECHO:		return "ECHO";
	case MGMT_MSG_BYTECOUNT:	return "BYTECOUNT";
	case MGMT_MSG_FATAL:		return "FATAL";
	case MGMT_MSG_PASSWORD:		return "PASSWORD";
	case MGMT_MSG_NEED_OK:		return "NEED_OK";
	case MGMT_MSG_NEED_STR:		return "NEED_STR";
	case MGMT_MSG_NOTIFY:		return "NOTIFY";
	case MGMT_MSG_INFOMSG:		return "INFOMSG";
	case MGMT_MSG_UPDOWN:		return "UPDOWN";
	case MGMT_MSG_REMOTE:		return "REMOTE";
	case MGMT_MSG_PROXY:		return "PROXY";
	case MGMT_MSG_OTHER:		return "OTHER";
	case MGMT_MSG_UNEXPECTED:	return "UNEXPECTED";
	}
	return "UNKNOWN";
}

/*
 * openvpn's command reader drops every byte below 0x20 and 0x7f before the
 * lexer sees the line, so an argument holding any of them (not only CR and
 * LF) would silently arrive changed; those are refused too.
 */
int
mgmt_quote_arg(char *dst, size_t size, const char *arg)
{
	size_t o = 0;
	const unsigned char *s;

	if (dst == NULL || size == 0)
		return -1;
	for (s = (const unsigned char *)arg; *s != '\0'; s++)
		if (*s < 0x20 || *s == 0x7f)
			goto fail;
	if (o + 1 >= size)
		goto fail;
	dst[o++] = '"';
	for (s = (const unsigned char *)arg; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"') {
			if (size - o < 2)
				goto fail;
			dst[o++] = '\\';
		}
		if (size - o < 2)
			goto fail;
		dst[o++] = (char)*s;
	}
	if (size - o < 2 || o + 1 > INT_MAX)
		goto fail;
	dst[o++] = '"';
	dst[o] = '\0';
	return (int)o;
fail:
	dst[0] = '\0';
	return -1;
}
