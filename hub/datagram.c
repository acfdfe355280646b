/* SPDX-License-Identifier: MIT */
/*
 * The hub's datagram decoder: pure (no sockets, no logging), so the unit
 * tests and a fuzzer can feed it anything. A field table says which
 * fields each type may and must carry; everything else is refused.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "datagram.h"
#include "util.h"
#include "supportvpn_event.h"

enum kind {
	K_CN,		/* a CN the hub accepts (ident_cn_valid) */
	K_NAME,		/* any CN a certificate may carry (tls_verify) */
	K_ROLE,
	K_IP,		/* an IPv4 or IPv6 literal */
	K_PORT,
	K_ADDR,		/* learn_address: whatever openvpn learned */
	K_SHA256,
	K_OP,
	K_COUNT,	/* a byte count or duration */
	K_DEPTH,
	K_RESULT,
	K_RULE,
	K_TEXT,
};

#define T(t)	(1u << (t))
#define CC	T(DATAGRAM_CLIENT_CONNECT)
#define LA	T(DATAGRAM_LEARN_ADDRESS)
#define CD	T(DATAGRAM_CLIENT_DISCONNECT)
#define TV	T(DATAGRAM_TLS_VERIFY)

struct field {
	const char	*name;
	enum kind	 kind;
	unsigned	 types;		/* where it may appear */
	unsigned	 required;	/* where it must appear */
};

/* cn and role of learn_address are required unless op is delete. */
static const struct field fields[] = {
	{ SVPN_EV_CN,		K_CN,	 CC | LA | CD,	CC | CD },
	{ SVPN_EV_CN,		K_NAME,	 TV,		0 },
	{ SVPN_EV_ROLE,		K_ROLE,	 CC | LA | CD | TV, CC | CD },
	/* tls_verify names the connecting peer, as client_connect does. */
	{ SVPN_EV_REAL_IP,	K_IP,	 CC | CD | TV,	0 },
	{ SVPN_EV_REAL_PORT,	K_PORT,	 CC | TV,	0 },
	{ SVPN_EV_TUNNEL_IP,	K_IP,	 CC | CD,	0 },
	{ SVPN_EV_SHA256,	K_SHA256, CC | TV,	0 },
	{ SVPN_EV_OP,		K_OP,	 LA,		LA },
	{ SVPN_EV_ADDR,		K_ADDR,	 LA,		LA },
	{ SVPN_EV_BYTES_IN,	K_COUNT, CD,		0 },
	{ SVPN_EV_BYTES_OUT,	K_COUNT, CD,		0 },
	{ SVPN_EV_DURATION_S,	K_COUNT, CD,		0 },
	{ SVPN_EV_DEPTH,	K_DEPTH, TV,		TV },
	{ SVPN_EV_RESULT,	K_RESULT, TV,		TV },
	{ SVPN_EV_RULE,		K_RULE,	 TV,		0 },
	{ SVPN_EV_REASON,	K_TEXT,	 TV,		0 },
};

#define NFIELDS		(sizeof(fields) / sizeof(fields[0]))
/* JSON integers above 2^53 do not survive every JSON implementation. */
#define COUNT_MAX	9007199254740992LL

static const char *const type_names[] = {
	[DATAGRAM_CLIENT_CONNECT] = SVPN_EV_CLIENT_CONNECT,
	[DATAGRAM_LEARN_ADDRESS] = SVPN_EV_LEARN_ADDRESS,
	[DATAGRAM_CLIENT_DISCONNECT] = SVPN_EV_CLIENT_DISCONNECT,
	[DATAGRAM_TLS_VERIFY] = SVPN_EV_TLS_VERIFY,
};

const char *
datagram_type_name(enum datagram_type type)
{
	if ((unsigned)type >= sizeof(type_names) / sizeof(type_names[0]) ||
	    type_names[type] == NULL)
		return "?";
	return type_names[type];
}

static enum datagram_type
type_parse(const char *s)
{
	size_t i;

	for (i = 1; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(s, type_names[i]) == 0)
			return (enum datagram_type)i;
	return 0;
}

static const struct field *
find_field(const char *name, enum datagram_type type)
{
	size_t i;

	for (i = 0; i < NFIELDS; i++)
		if ((fields[i].types & T(type)) &&
		    strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

/* No control characters, at most max bytes. */
static bool
plain_text(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool
ip_literal(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static bool
sha256_valid(const char *s)
{
	size_t i;

	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
		return false;
	for (i = 7; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return false;
	return true;
}

static void
copy(char *dst, size_t size, const char *src)
{
	/* Lengths were checked against size before; this cannot cut. */
	(void)snprintf(dst, size, "%s", src);
}

static int
take_string(struct datagram *d, const struct field *f, const char *s)
{
	switch (f->kind) {
	case K_CN:
		if (!ident_cn_valid(s))
			return -1;
		copy(d->cn, sizeof(d->cn), s);
		return 0;
	case K_NAME:
		if (!plain_text(s, IDENT_CN_MAX))
			return -1;
		copy(d->cn, sizeof(d->cn), s);
		return 0;
	case K_ROLE:
		return (d->role = ident_role_parse(s)) == IDENT_ROLE_NONE ?
		    -1 : 0;
	case K_IP:
		if (strlen(s) >= DATAGRAM_IP_MAX || !ip_literal(s))
			return -1;
		copy(strcmp(f->name, "real_ip") == 0 ? d->real_ip :
		    d->tunnel_ip, DATAGRAM_IP_MAX, s);
		return 0;
	case K_ADDR:
		if (!ident_text_valid(s, DATAGRAM_ADDR_MAX) ||
		    strchr(s, ' ') != NULL)
			return -1;
		copy(d->addr, sizeof(d->addr), s);
		return 0;
	case K_SHA256:
		if (!sha256_valid(s))
			return -1;
		copy(d->sha256, sizeof(d->sha256), s);
		return 0;
	case K_OP:
		if (strcmp(s, "add") == 0)
			d->op = DATAGRAM_OP_ADD;
		else if (strcmp(s, "update") == 0)
			d->op = DATAGRAM_OP_UPDATE;
		else if (strcmp(s, "delete") == 0)
			d->op = DATAGRAM_OP_DELETE;
		else
			return -1;
		return 0;
	case K_RESULT:
		if (strcmp(s, SVPN_RESULT_ACCEPTED) == 0)
			d->accepted = true;
		else if (strcmp(s, SVPN_RESULT_REFUSED) != 0)
			return -1;
		return 0;
	case K_RULE:
		if (!ident_cn_valid(s) || strlen(s) >= sizeof(d->rule))
			return -1;
		copy(d->rule, sizeof(d->rule), s);
		return 0;
	case K_TEXT:
		if (!plain_text(s, DATAGRAM_TEXT_MAX))
			return -1;
		copy(d->reason, sizeof(d->reason), s);
		return 0;
	default:
		return -1;
	}
}

static int
take_integer(struct datagram *d, const struct field *f, json_int_t n)
{
	switch (f->kind) {
	case K_PORT:
		if (n < 0 || n > 65535)
			return -1;
		d->real_port = (int)n;
		return 0;
	case K_DEPTH:
		if (n < 0 || n > 64)
			return -1;
		d->depth = (int)n;
		return 0;
	case K_COUNT:
		if (n < 0 || n > COUNT_MAX)
			return -1;
		if (strcmp(f->name, "duration_s") == 0) {
			d->has_duration = true;
			d->duration_s = (int64_t)n;
		} else {
			d->has_bytes = true;
			if (strcmp(f->name, "bytes_in") == 0)
				d->bytes_in = (uint64_t)n;
			else
				d->bytes_out = (uint64_t)n;
		}
		return 0;
	default:
		return -1;
	}
}

static bool
is_integer_kind(enum kind k)
{
	return k == K_PORT || k == K_DEPTH || k == K_COUNT;
}

static int
take_field(struct datagram *d, const char *key, json_t *v, char *why,
    size_t whylen)
{
	const struct field *f = find_field(key, d->type);

	if (f == NULL) {
		snprintf(why, whylen, "%s: unknown field '%.32s'",
		    datagram_type_name(d->type), key);
		return -1;
	}
	if (is_integer_kind(f->kind)) {
		if (json_is_integer(v) && take_integer(d, f, json_integer_value(
		    v)) == 0)
			return 0;
	} else if (json_is_string(v) && strlen(json_string_value(v)) ==
	    json_string_length(v) && take_string(d, f, json_string_value(v)) ==
	    0)
		return 0;
	snprintf(why, whylen, "%s: bad value for '%s'",
	    datagram_type_name(d->type), key);
	return -1;
}

/* The fields the type requires, and learn_address's cn/role unless delete. */
static int
check_required(const struct datagram *d, json_t *ev, char *why,
    size_t whylen)
{
	size_t i;

	for (i = 0; i < NFIELDS; i++)
		if ((fields[i].required & T(d->type)) &&
		    json_object_get(ev, fields[i].name) == NULL) {
			snprintf(why, whylen, "%s: '%s' is missing",
			    datagram_type_name(d->type), fields[i].name);
			return -1;
		}
	if (d->type == DATAGRAM_LEARN_ADDRESS && d->op != DATAGRAM_OP_DELETE &&
	    (d->cn[0] == '\0' || d->role == IDENT_ROLE_NONE)) {
		snprintf(why, whylen, "learn_address: '%s' needs cn and role",
		    d->op == DATAGRAM_OP_ADD ? "add" : "update");
		return -1;
	}
	return 0;
}

/* v, type and pid: the header every datagram carries. */
static int
take_header(struct datagram *d, json_t *ev, char *why, size_t whylen)
{
	json_t *v;

	v = json_object_get(ev, SVPN_EV_VERSION);
	if (!json_is_integer(v) || json_integer_value(v) != SVPN_EVENT_VERSION) {
		snprintf(why, whylen, "unknown version");
		return -1;
	}
	v = json_object_get(ev, SVPN_EV_TYPE);
	if (!json_is_string(v) ||
	    (d->type = type_parse(json_string_value(v))) == 0) {
		snprintf(why, whylen, "unknown type");
		return -1;
	}
	v = json_object_get(ev, SVPN_EV_PID);
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 0x7fffffff) {
		snprintf(why, whylen, "%s: no valid pid",
		    datagram_type_name(d->type));
		return -1;
	}
	d->pid = (long)json_integer_value(v);
	return 0;
}

int
datagram_decode(const char *buf, size_t len, struct datagram *out,
    char *why, size_t whylen)
{
	json_t *ev, *v;
	const char *key;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->real_port = -1;
	if ((ev = util_json_object(buf, len, SVPN_EVENT_MAX, why,
	    whylen)) == NULL)
		return -1;
	if (take_header(out, ev, why, whylen) < 0)
		goto out;
	json_object_foreach(ev, key, v) {
		if (strcmp(key, SVPN_EV_VERSION) == 0 ||
		    strcmp(key, SVPN_EV_TYPE) == 0 ||
		    strcmp(key, SVPN_EV_PID) == 0)
			continue;
		if (take_field(out, key, v, why, whylen) < 0)
			goto out;
	}
	rc = check_required(out, ev, why, whylen);
out:
	json_decref(ev);
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		out->real_port = -1;
	}
	return rc;
}
