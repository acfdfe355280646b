/* SPDX-License-Identifier: MIT */
/*
 * The hub's picture of its clients, built from the plugin's events.
 * Addresses belong to the openvpn process that reported them: a delete
 * from another process is stale and ignored, and a process that is gone
 * takes its addresses with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "datagram.h"
#include "ident.h"
#include "log.h"
#include "ruleset.h"
#include "sessions.h"
#include "util.h"

#define STATE_VERSION	1

struct conn {
	pid_t		 pid;
	char		 cn[IDENT_CN_MAX + 1];
	enum ident_role	 role;
	char		 real_ip[DATAGRAM_IP_MAX];
	int		 real_port;		/* -1: unknown */
	char		 tunnel_ip[DATAGRAM_IP_MAX];
	char		 sha256[80];
	int64_t		 since_ms;
};

struct addr {
	uint32_t	 addr;			/* host byte order */
	pid_t		 pid;
	char		 cn[IDENT_CN_MAX + 1];
	enum ident_role	 role;
	int64_t		 since_ms;
};

struct ended {
	char		 cn[IDENT_CN_MAX + 1];
	enum ident_role	 role;
	char		 real_ip[DATAGRAM_IP_MAX];
	char		 tunnel_ip[DATAGRAM_IP_MAX];
	bool		 has_bytes;
	uint64_t	 bytes_in, bytes_out;
	bool		 has_duration;
	int64_t		 duration_s;
	int64_t		 ended_ms;
};

struct sessions {
	struct conn	*conns;
	size_t		 nconns, capconns;
	struct addr	*addrs;
	size_t		 naddrs, capaddrs;
	struct ended	 recent[SESSIONS_RECENT];	/* a ring */
	size_t		 recent_next, nrecent;
};

struct sessions *
sessions_new(void)
{
	return calloc(1, sizeof(struct sessions));
}

void
sessions_free(struct sessions *s)
{
	if (s == NULL)
		return;
	free(s->conns);
	free(s->addrs);
	free(s);
}

/* v grown to hold need elements of size; NULL (v untouched) on failure. */
static void *
grow(void *v, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return v;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap < need)
		ncap = need;
	if (ncap > SIZE_MAX / size || (nv = realloc(v, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return nv;
}

static void
copy(char *dst, size_t size, const char *src)
{
	(void)snprintf(dst, size, "%s", src);	/* sizes match the decoder's */
}

static struct addr *
find_addr(struct sessions *s, uint32_t a)
{
	size_t i;

	for (i = 0; i < s->naddrs; i++)
		if (s->addrs[i].addr == a)
			return &s->addrs[i];
	return NULL;
}

static void
remove_addr(struct sessions *s, struct addr *a)
{
	size_t i = (size_t)(a - s->addrs);

	s->addrs[i] = s->addrs[--s->naddrs];
}

static int
put_addr(struct sessions *s, uint32_t a, pid_t pid, const char *cn,
    enum ident_role role, int64_t now_ms)
{
	struct addr *e = find_addr(s, a), *nv;

	if (e != NULL) {
		if (e->pid == pid && e->role == role && strcmp(e->cn, cn) == 0)
			return 0;
		if (strcmp(e->cn, cn) != 0)
			log_info("hub: tunnel address now held by %s (%s), "
			    "before by %s", cn, ident_role_name(role), e->cn);
	} else {
		if ((nv = grow(s->addrs, &s->capaddrs, s->naddrs + 1,
		    sizeof(*nv))) == NULL)
			return -ENOMEM;
		s->addrs = nv;
		e = &s->addrs[s->naddrs++];
		e->addr = a;
	}
	e->pid = pid;
	copy(e->cn, sizeof(e->cn), cn);
	e->role = role;
	e->since_ms = now_ms;
	return 1;
}

static int
on_learn(struct sessions *s, const struct datagram *d, pid_t pid,
    int64_t now_ms)
{
	struct in_addr ia;
	struct addr *e;
	int rc;

	if (inet_pton(AF_INET, d->addr, &ia) != 1) {
		/* Only IPv4 tunnel addresses get grants; everything else
		 * between clients is dropped by the table's last rule. */
		log_debug("hub: learn_address %s: not an IPv4 address; not "
		    "granted anything", d->addr);
		return 0;
	}
	if (d->op != DATAGRAM_OP_DELETE) {
		if ((rc = put_addr(s, ntohl(ia.s_addr), pid, d->cn, d->role,
		    now_ms)) > 0)
			log_debug("hub: %s (%s) holds %s (openvpn %d)", d->cn,
			    ident_role_name(d->role), d->addr, (int)pid);
		return rc;
	}
	if ((e = find_addr(s, ntohl(ia.s_addr))) == NULL)
		return 0;
	if (e->pid != pid) {
		log_debug("hub: learn_address delete %s from openvpn %d, but "
		    "openvpn %d holds it; ignored", d->addr, (int)pid,
		    (int)e->pid);
		return 0;
	}
	log_debug("hub: %s (%s) no longer holds %s", e->cn,
	    ident_role_name(e->role), d->addr);
	remove_addr(s, e);
	return 1;
}

static int
on_connect(struct sessions *s, const struct datagram *d, pid_t pid,
    int64_t now_ms)
{
	struct conn *c = NULL, *nv;
	size_t i;

	for (i = 0; i < s->nconns && c == NULL; i++)
		if (s->conns[i].pid == pid && s->conns[i].real_port ==
		    d->real_port && strcmp(s->conns[i].cn, d->cn) == 0 &&
		    strcmp(s->conns[i].real_ip, d->real_ip) == 0)
			c = &s->conns[i];
	if (c == NULL) {
		if ((nv = grow(s->conns, &s->capconns, s->nconns + 1,
		    sizeof(*nv))) == NULL)
			return -ENOMEM;
		s->conns = nv;
		c = &s->conns[s->nconns++];
	}
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	copy(c->cn, sizeof(c->cn), d->cn);
	c->role = d->role;
	copy(c->real_ip, sizeof(c->real_ip), d->real_ip);
	c->real_port = d->real_port;
	copy(c->tunnel_ip, sizeof(c->tunnel_ip), d->tunnel_ip);
	copy(c->sha256, sizeof(c->sha256), d->sha256);
	c->since_ms = now_ms;
	log_info("hub: %s (%s) connected from %s port %d, tunnel address %s "
	    "(openvpn %d)", d->cn, ident_role_name(d->role),
	    d->real_ip[0] ? d->real_ip : "?", d->real_port,
	    d->tunnel_ip[0] ? d->tunnel_ip : "?", (int)pid);
	return 0;
}

static void
remember_end(struct sessions *s, const struct datagram *d, int64_t now_ms)
{
	struct ended *e = &s->recent[s->recent_next];

	memset(e, 0, sizeof(*e));
	copy(e->cn, sizeof(e->cn), d->cn);
	e->role = d->role;
	copy(e->real_ip, sizeof(e->real_ip), d->real_ip);
	copy(e->tunnel_ip, sizeof(e->tunnel_ip), d->tunnel_ip);
	e->has_bytes = d->has_bytes;
	e->bytes_in = d->bytes_in;
	e->bytes_out = d->bytes_out;
	e->has_duration = d->has_duration;
	e->duration_s = d->duration_s;
	e->ended_ms = now_ms;
	s->recent_next = (s->recent_next + 1) % SESSIONS_RECENT;
	if (s->nrecent < SESSIONS_RECENT)
		s->nrecent++;
}

static bool
conn_matches(const struct conn *c, const struct datagram *d, pid_t pid)
{
	return c->pid == pid && strcmp(c->cn, d->cn) == 0 &&
	    (d->tunnel_ip[0] == '\0' || strcmp(c->tunnel_ip,
	    d->tunnel_ip) == 0) && (d->real_ip[0] == '\0' ||
	    strcmp(c->real_ip, d->real_ip) == 0);
}

/*
 * openvpn may report learn_address "delete" late or not at all, so the
 * disconnect takes the tunnel address away itself, unless a newer
 * connection of the same client on the same server holds it again.
 */
static int
on_disconnect(struct sessions *s, const struct datagram *d, pid_t pid,
    int64_t now_ms)
{
	struct in_addr ia;
	struct addr *a;
	size_t i;

	for (i = 0; i < s->nconns; i++)
		if (conn_matches(&s->conns[i], d, pid)) {
			memmove(&s->conns[i], &s->conns[i + 1],
			    (s->nconns - i - 1) * sizeof(s->conns[0]));
			s->nconns--;
			break;
		}
	remember_end(s, d, now_ms);
	log_info("hub: %s (%s) disconnected after %lld s, %llu bytes in, %llu "
	    "out (openvpn %d)", d->cn, ident_role_name(d->role),
	    (long long)d->duration_s, (unsigned long long)d->bytes_in,
	    (unsigned long long)d->bytes_out, (int)pid);
	if (d->tunnel_ip[0] == '\0' ||
	    inet_pton(AF_INET, d->tunnel_ip, &ia) != 1 ||
	    (a = find_addr(s, ntohl(ia.s_addr))) == NULL || a->pid != pid ||
	    strcmp(a->cn, d->cn) != 0)
		return 0;
	for (i = 0; i < s->nconns; i++)
		if (s->conns[i].pid == pid && strcmp(s->conns[i].cn,
		    d->cn) == 0 && strcmp(s->conns[i].tunnel_ip,
		    d->tunnel_ip) == 0)
			return 0;
	remove_addr(s, a);
	return 1;
}

static void
on_tls_verify(const struct datagram *d, pid_t pid)
{
	if (d->accepted) {
		log_debug("hub: accepted the certificate at depth %d, %s "
		    "(openvpn %d)", d->depth, d->cn[0] ? d->cn : "?",
		    (int)pid);
		return;
	}
	log_info("hub: refused the certificate at depth %d, CN '%s': %s: %s "
	    "(openvpn %d)", d->depth, d->cn[0] ? d->cn : "?",
	    d->rule[0] ? d->rule : "?", d->reason[0] ? d->reason : "no reason",
	    (int)pid);
}

int
sessions_apply(struct sessions *s, const struct datagram *d, pid_t pid,
    int64_t now_ms)
{
	switch (d->type) {
	case DATAGRAM_CLIENT_CONNECT:
		return on_connect(s, d, pid, now_ms);
	case DATAGRAM_LEARN_ADDRESS:
		return on_learn(s, d, pid, now_ms);
	case DATAGRAM_CLIENT_DISCONNECT:
		return on_disconnect(s, d, pid, now_ms);
	case DATAGRAM_TLS_VERIFY:
		on_tls_verify(d, pid);
		return 0;
	}
	return 0;
}

bool
sessions_drop_pid(struct sessions *s, pid_t pid)
{
	size_t i, j, before = s->naddrs;

	for (i = j = 0; i < s->nconns; i++)
		if (s->conns[i].pid != pid)
			s->conns[j++] = s->conns[i];
	s->nconns = j;
	for (i = j = 0; i < s->naddrs; i++)
		if (s->addrs[i].pid != pid)
			s->addrs[j++] = s->addrs[i];
	s->naddrs = j;
	return s->naddrs != before;
}

static bool
has_pid(const pid_t *pids, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

size_t
sessions_pids(const struct sessions *s, pid_t *pids, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < s->nconns && n < max; i++)
		if (!has_pid(pids, n, s->conns[i].pid))
			pids[n++] = s->conns[i].pid;
	for (i = 0; i < s->naddrs && n < max; i++)
		if (!has_pid(pids, n, s->addrs[i].pid))
			pids[n++] = s->addrs[i].pid;
	return n;
}

ssize_t
sessions_addrs(const struct sessions *s, struct rs_addr **out)
{
	size_t i;

	*out = NULL;
	if (s->naddrs == 0)
		return 0;
	if ((*out = calloc(s->naddrs, sizeof(**out))) == NULL)
		return -ENOMEM;
	for (i = 0; i < s->naddrs; i++) {
		(*out)[i].addr = s->addrs[i].addr;
		(*out)[i].cn = s->addrs[i].cn;
		(*out)[i].role = s->addrs[i].role;
	}
	return (ssize_t)s->naddrs;
}

/* One connection or address, for grouping the status by identity. */
struct member {
	const char	*cn;
	enum ident_role	 role;
	const struct conn *conn;	/* one of the two */
	const struct addr *addr;
};

static int
cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = strcmp(x->cn, y->cn);

	if (c != 0)
		return c;
	return (int)x->role - (int)y->role;
}

static json_t *
time_json(int64_t ms)
{
	char buf[UTIL_TIME_LEN];

	return json_string(util_time_fmt(buf, ms, false));
}

static json_t *
addr_json(uint32_t a)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr ia;

	ia.s_addr = htonl(a);
	if (inet_ntop(AF_INET, &ia, buf, sizeof(buf)) == NULL)
		return NULL;
	return json_string(buf);
}

static json_t *
conn_json(const struct conn *c)
{
	json_t *o = json_pack("{s:i, s:s?, s:o, s:s?, s:o, s:s?}", "pid",
	    (int)c->pid, "real_ip", c->real_ip[0] ? c->real_ip : NULL,
	    "real_port", c->real_port >= 0 ? json_integer(c->real_port) :
	    json_null(), "tunnel_ip", c->tunnel_ip[0] ? c->tunnel_ip : NULL,
	    "since", time_json(c->since_ms), "sha256", c->sha256[0] ?
	    c->sha256 : NULL);

	return o;
}

/* The newest ended connection of cn in role, or NULL. */
static const struct ended *
last_end(const struct sessions *s, const char *cn, enum ident_role role)
{
	size_t i;

	for (i = 0; i < s->nrecent; i++) {
		size_t k = (s->recent_next + SESSIONS_RECENT - 1 - i) %
		    SESSIONS_RECENT;

		if (s->recent[k].role == role &&
		    strcmp(s->recent[k].cn, cn) == 0)
			return &s->recent[k];
	}
	return NULL;
}

static json_t *
count_json(bool has, uint64_t v)
{
	return has ? json_integer((json_int_t)v) : json_null();
}

/* Appends v (stolen) to list; a failure clears *ok. */
static void
append(json_t *list, json_t *v, bool *ok)
{
	if (json_array_append_new(list, v) < 0)
		*ok = false;
}

/* The identity of members[0..n) (one CN in one role). */
static json_t *
identity_json(const struct sessions *s, const struct member *m, size_t n)
{
	const struct conn *latest = NULL;
	const struct ended *e = last_end(s, m->cn, m->role);
	json_t *addrs = json_array(), *conns = json_array();
	int64_t since = INT64_MAX;
	bool ok = addrs != NULL && conns != NULL;
	size_t i;

	for (i = 0; ok && i < n; i++) {
		if (m[i].addr != NULL) {
			append(addrs, addr_json(m[i].addr->addr), &ok);
			if (m[i].addr->since_ms < since)
				since = m[i].addr->since_ms;
			continue;
		}
		append(conns, conn_json(m[i].conn), &ok);
		if (m[i].conn->since_ms < since)
			since = m[i].conn->since_ms;
		if (latest == NULL || m[i].conn->since_ms >= latest->since_ms)
			latest = m[i].conn;
	}
	if (!ok) {
		json_decref(addrs);
		json_decref(conns);
		return NULL;
	}
	return json_pack("{s:s, s:s, s:o, s:s?, s:o, s:o, s:o, s:o}", "cn",
	    m->cn, "role", ident_role_name(m->role), "addresses", addrs,
	    "real_ip", latest && latest->real_ip[0] ? latest->real_ip : NULL,
	    "since", time_json(since), "bytes_in", count_json(e &&
	    e->has_bytes, e ? e->bytes_in : 0), "bytes_out", count_json(e &&
	    e->has_bytes, e ? e->bytes_out : 0), "connections", conns);
}

static json_t *
identities_json(const struct sessions *s)
{
	struct member *m;
	size_t i, n = 0, start;
	json_t *list;
	bool ok = true;

	if ((list = json_array()) == NULL)
		return NULL;
	if (s->nconns + s->naddrs == 0)
		return list;
	if ((m = calloc(s->nconns + s->naddrs, sizeof(*m))) == NULL) {
		json_decref(list);
		return NULL;
	}
	for (i = 0; i < s->nconns; i++, n++) {
		m[n].cn = s->conns[i].cn;
		m[n].role = s->conns[i].role;
		m[n].conn = &s->conns[i];
	}
	for (i = 0; i < s->naddrs; i++, n++) {
		m[n].cn = s->addrs[i].cn;
		m[n].role = s->addrs[i].role;
		m[n].addr = &s->addrs[i];
	}
	qsort(m, n, sizeof(*m), cmp_member);
	for (start = 0, i = 1; ok && i <= n; i++)
		if (i == n || cmp_member(&m[start], &m[i]) != 0) {
			append(list, identity_json(s, &m[start], i - start),
			    &ok);
			start = i;
		}
	free(m);
	if (!ok) {
		json_decref(list);
		return NULL;
	}
	return list;
}

static json_t *
recent_json(const struct sessions *s)
{
	json_t *list = json_array();
	bool ok = list != NULL;
	size_t i;

	for (i = 0; ok && i < s->nrecent; i++) {
		const struct ended *e = &s->recent[(s->recent_next +
		    SESSIONS_RECENT - 1 - i) % SESSIONS_RECENT];

		append(list, json_pack("{s:s, s:s, s:s?, s:s?, "
		    "s:o, s:o, s:o, s:o}", "cn", e->cn, "role",
		    ident_role_name(e->role), "real_ip", e->real_ip[0] ?
		    e->real_ip : NULL, "tunnel_ip", e->tunnel_ip[0] ?
		    e->tunnel_ip : NULL, "bytes_in", count_json(e->has_bytes,
		    e->bytes_in), "bytes_out", count_json(e->has_bytes,
		    e->bytes_out), "duration_s", count_json(e->has_duration,
		    (uint64_t)e->duration_s), "ended", time_json(e->ended_ms)), &ok);
	}
	if (!ok) {
		json_decref(list);
		return NULL;
	}
	return list;
}

json_t *
sessions_status(const struct sessions *s, int64_t now_ms)
{
	return json_pack("{s:o, s:o}", "identities", identities_json(s),
	    "recent", recent_json(s));
}

json_t *
sessions_save(const struct sessions *s)
{
	json_t *conns = json_array(), *addrs = json_array();
	bool ok = conns != NULL && addrs != NULL;
	size_t i;

	for (i = 0; ok && i < s->nconns; i++) {
		const struct conn *c = &s->conns[i];

		append(conns, json_pack("{s:i, s:s, s:s, s:s, "
		    "s:i, s:s, s:s, s:I}", "pid", (int)c->pid, "cn", c->cn,
		    "role", ident_role_name(c->role), "real_ip", c->real_ip,
		    "real_port", c->real_port, "tunnel_ip", c->tunnel_ip,
		    "sha256", c->sha256, "since_ms", (json_int_t)c->since_ms), &ok);
	}
	for (i = 0; ok && i < s->naddrs; i++) {
		const struct addr *a = &s->addrs[i];

		append(addrs, json_pack("{s:o, s:i, s:s, s:s, "
		    "s:I}", "addr", addr_json(a->addr), "pid", (int)a->pid,
		    "cn", a->cn, "role", ident_role_name(a->role), "since_ms",
		    (json_int_t)a->since_ms), &ok);
	}
	if (!ok) {
		json_decref(conns);
		json_decref(addrs);
		return NULL;
	}
	return json_pack("{s:i, s:o, s:o}", "v", STATE_VERSION, "connections",
	    conns, "addresses", addrs);
}

/* One saved connection; false if anything in it is off. */
static bool
restore_conn(struct conn *c, json_t *o)
{
	const char *cn, *role, *real_ip, *tunnel_ip, *sha256;
	json_int_t pid, since, port;
	unsigned char buf[16];

	if (json_unpack(o, "{s:I, s:s, s:s, s:s, s:I, s:s, s:s, s:I}", "pid",
	    &pid, "cn", &cn, "role", &role, "real_ip", &real_ip, "real_port",
	    &port, "tunnel_ip", &tunnel_ip, "sha256", &sha256, "since_ms",
	    &since) < 0 || pid < 1 || pid > 0x7fffffff ||
	    !ident_cn_valid(cn) || (c->role = ident_role_parse(role)) ==
	    IDENT_ROLE_NONE || port < -1 || port > 65535 ||
	    strlen(real_ip) >= sizeof(c->real_ip) ||
	    strlen(tunnel_ip) >= sizeof(c->tunnel_ip) ||
	    strlen(sha256) >= sizeof(c->sha256) ||
	    (real_ip[0] && inet_pton(AF_INET, real_ip, buf) != 1 &&
	    inet_pton(AF_INET6, real_ip, buf) != 1) ||
	    (tunnel_ip[0] && inet_pton(AF_INET, tunnel_ip, buf) != 1 &&
	    inet_pton(AF_INET6, tunnel_ip, buf) != 1))
		return false;
	c->pid = (pid_t)pid;
	copy(c->cn, sizeof(c->cn), cn);
	copy(c->real_ip, sizeof(c->real_ip), real_ip);
	c->real_port = (int)port;
	copy(c->tunnel_ip, sizeof(c->tunnel_ip), tunnel_ip);
	copy(c->sha256, sizeof(c->sha256), sha256);
	c->since_ms = (int64_t)since;
	return true;
}

static bool
restore_addr(struct addr *a, json_t *o)
{
	const char *addr, *cn, *role;
	json_int_t pid, since;
	struct in_addr ia;

	if (json_unpack(o, "{s:s, s:I, s:s, s:s, s:I}", "addr", &addr, "pid",
	    &pid, "cn", &cn, "role", &role, "since_ms", &since) < 0 ||
	    inet_pton(AF_INET, addr, &ia) != 1 || pid < 1 ||
	    pid > 0x7fffffff || !ident_cn_valid(cn) ||
	    (a->role = ident_role_parse(role)) == IDENT_ROLE_NONE)
		return false;
	a->addr = ntohl(ia.s_addr);
	a->pid = (pid_t)pid;
	copy(a->cn, sizeof(a->cn), cn);
	a->since_ms = (int64_t)since;
	return true;
}

int
sessions_restore(struct sessions *s, json_t *state)
{
	json_t *conns, *addrs, *o;
	struct conn c;
	struct addr a;
	size_t i;
	void *nv;

	if (json_integer_value(json_object_get(state, "v")) != STATE_VERSION)
		return 0;
	conns = json_object_get(state, "connections");
	addrs = json_object_get(state, "addresses");
	json_array_foreach(conns, i, o) {
		if (!restore_conn(&c, o))
			continue;
		if ((nv = grow(s->conns, &s->capconns, s->nconns + 1,
		    sizeof(c))) == NULL)
			return -ENOMEM;
		s->conns = nv;
		s->conns[s->nconns++] = c;
	}
	json_array_foreach(addrs, i, o) {
		if (!restore_addr(&a, o) || find_addr(s, a.addr) != NULL)
			continue;
		if ((nv = grow(s->addrs, &s->capaddrs, s->naddrs + 1,
		    sizeof(a))) == NULL)
			return -ENOMEM;
		s->addrs = nv;
		s->addrs[s->naddrs++] = a;
	}
	return 0;
}
