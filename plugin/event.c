/* SPDX-License-Identifier: MIT */
/*
 * Building and sending event datagrams. The builder never writes past
 * SVPN_EVENT_MAX: a value longer than EVENT_STR_CAP is cut at a character
 * boundary, and a field that would not fit is left out (both flagged).
 */
#include <errno.h>
#include <time.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "event.h"
#include "policy.h"

static const char hexdig[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at s (len > 0 bytes), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t len)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

size_t
event_json_escape(char *out, size_t size, const char *in, size_t len,
    bool *cut)
{
	const unsigned char *s = (const unsigned char *)in;
	char tmp[8];
	size_t i = 0, o = 0, n, w;
	const char *src;

	*cut = false;
	while (i < len) {
		n = utf8_len(s + i, len - i);
		src = tmp;
		if (n == 0 || s[i] == 0) {
			src = "\\ufffd";
			w = 6;
			n = 1;
		} else if (s[i] == '"' || s[i] == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)s[i];
			w = 2;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			memcpy(tmp, "\\u00", 4);
			tmp[4] = hexdig[s[i] >> 4];
			tmp[5] = hexdig[s[i] & 0xf];
			w = 6;
		} else {
			src = in + i;
			w = n;
		}
		if (o + w >= size) {
			*cut = true;
			break;
		}
		memcpy(out + o, src, w);
		o += w;
		i += n;
	}
	out[o] = '\0';
	return o;
}

static bool
plain_char(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '\\';
}

void
event_printable(char *out, size_t size, const char *in, size_t len)
{
	size_t i, o = 0, need = 0, w;
	unsigned char c;

	for (i = 0; i < len; i++)
		need += plain_char((unsigned char)in[i]) ? 1 : 4;
	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		w = plain_char(c) ? 1 : 4;
		/* When it will not all fit, keep room for "...". */
		if (need >= size && o + w + 3 >= size) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (w == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hexdig[c >> 4];
			out[o++] = hexdig[c & 0xf];
		}
	}
	out[o] = '\0';
}

/* Room left for fields: one byte stays reserved for the closing '}'. */
static size_t
room(const struct event_buf *b)
{
	return SVPN_EVENT_MAX - 1 - b->len;
}

/* Appends ,"key": when it and need more bytes fit. */
static bool
add_key(struct event_buf *b, const char *key, size_t need)
{
	size_t klen = strlen(key);

	if (klen + 4 + need > room(b)) {
		b->truncated = true;
		return false;
	}
	b->data[b->len++] = ',';
	b->data[b->len++] = '"';
	memcpy(b->data + b->len, key, klen);
	b->len += klen;
	b->data[b->len++] = '"';
	b->data[b->len++] = ':';
	b->data[b->len] = '\0';
	return true;
}

void
event_begin(struct event_buf *b, const char *type, long pid)
{
	b->truncated = false;
	b->len = (size_t)snprintf(b->data, sizeof(b->data), "{\"%s\":%d",
	    SVPN_EV_VERSION, SVPN_EVENT_VERSION);
	event_add_str(b, SVPN_EV_TYPE, type);
	event_add_int(b, SVPN_EV_PID, pid);
}

void
event_add_bytes(struct event_buf *b, const char *key, const char *val,
    size_t len)
{
	char esc[EVENT_STR_CAP + 1];
	size_t n;
	bool cut;

	if (val == NULL || len == 0)
		return;
	n = event_json_escape(esc, sizeof(esc), val, len, &cut);
	if (cut)
		b->truncated = true;
	if (!add_key(b, key, n + 2))
		return;
	b->data[b->len++] = '"';
	memcpy(b->data + b->len, esc, n);
	b->len += n;
	b->data[b->len++] = '"';
	b->data[b->len] = '\0';
}

void
event_add_str(struct event_buf *b, const char *key, const char *val)
{
	if (val != NULL)
		event_add_bytes(b, key, val, strlen(val));
}

void
event_add_int(struct event_buf *b, const char *key, long long v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", v);

	if (!add_key(b, key, (size_t)n))
		return;
	memcpy(b->data + b->len, num, (size_t)n + 1);
	b->len += (size_t)n;
}

size_t
event_end(struct event_buf *b)
{
	b->data[b->len++] = '}';
	b->data[b->len] = '\0';
	return b->len;
}

const char *
event_env_get(const char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

int
event_env_top_digest(const char *const *envp, const char **value)
{
	const size_t plen = sizeof(EVENT_DIGEST_ENV) - 1;
	const char *p;
	int top = -1, d;

	*value = NULL;
	for (; envp != NULL && *envp != NULL; envp++) {
		if (strncmp(*envp, EVENT_DIGEST_ENV, plen) != 0)
			continue;
		p = *envp + plen;
		/* Depths are 0..15: one or two digits, then '='. */
		if (p[0] < '0' || p[0] > '9')
			continue;
		d = *p++ - '0';
		if (*p >= '0' && *p <= '9')
			d = d * 10 + (*p++ - '0');
		if (*p != '=' || d >= EVENT_MAX_CERT_DEPTH)
			continue;
		if (d > top) {
			top = d;
			*value = p + 1;
		}
	}
	return top;
}

long long
event_env_count(const char *const *envp, const char *name)
{
	const char *v = event_env_get(envp, name);
	long long n;
	char *end;

	if (v == NULL || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return n;
}

long
event_env_port(const char *const *envp, const char *name)
{
	const char *v = event_env_get(envp, name);
	char *end;
	long port;

	if (v == NULL || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	port = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || port > 65535)
		return -1;
	return port;
}

/*
 * An address and port from <prefix>_ip (or _ip6) and <prefix>_port, as
 * ip_key and port_key (NULL: no port).
 */
static void
add_addr(struct event_buf *b, const char *const *envp, const char *prefix,
    const char *ip_key, const char *port_key)
{
	char name[32];
	const char *ip;
	long port;

	snprintf(name, sizeof(name), "%s_ip", prefix);
	if ((ip = event_env_get(envp, name)) == NULL || *ip == '\0') {
		snprintf(name, sizeof(name), "%s_ip6", prefix);
		ip = event_env_get(envp, name);
	}
	event_add_str(b, ip_key, ip);
	snprintf(name, sizeof(name), "%s_port", prefix);
	if (port_key != NULL && (port = event_env_port(envp, name)) >= 0)
		event_add_int(b, port_key, port);
}

/* server_ip/server_port from <prefix>_ip (or _ip6) and <prefix>_port. */
static void
add_server(struct event_buf *b, const char *const *envp, const char *prefix)
{
	add_addr(b, envp, prefix, SVPN_EV_SERVER_IP, SVPN_EV_SERVER_PORT);
}

/* sha256 of the peer's own certificate, normalized, if openvpn gave it. */
static void
add_leaf_digest(struct event_buf *b, const char *const *envp)
{
	unsigned char fp[POLICY_SHA256_LEN];
	char text[POLICY_FP_TEXT_LEN];
	const char *v = event_env_get(envp, EVENT_DIGEST_ENV "0");

	if (v != NULL && policy_fingerprint_parse(v, fp) == 0) {
		policy_fingerprint_format(fp, text);
		event_add_str(b, SVPN_EV_SHA256, text);
	}
}

static void
add_count(struct event_buf *b, const char *key, const char *const *envp,
    const char *name)
{
	long long n = event_env_count(envp, name);

	if (n >= 0)
		event_add_int(b, key, n);
}

static void
add_env(struct event_buf *b, const char *key, const char *const *envp,
    const char *name)
{
	event_add_str(b, key, event_env_get(envp, name));
}

static void
tls_verify_common(struct event_buf *b, long pid, int depth, const char *rule,
    const char *reason, const char *sha256, const char *cn, size_t cn_len)
{
	event_begin(b, SVPN_EV_TLS_VERIFY, pid);
	event_add_int(b, SVPN_EV_DEPTH, depth);
	event_add_str(b, SVPN_EV_RESULT, rule == NULL ? SVPN_RESULT_ACCEPTED :
	    SVPN_RESULT_REFUSED);
	event_add_str(b, SVPN_EV_RULE, rule);
	event_add_str(b, SVPN_EV_SHA256, sha256);
	event_add_str(b, SVPN_EV_REASON, reason);
	event_add_bytes(b, SVPN_EV_CN, cn, cn_len);
}

void
event_tls_verify(struct event_buf *b, long pid, const char *const *envp,
    int depth, const char *rule, const char *reason, const char *sha256,
    const char *cn, size_t cn_len)
{
	tls_verify_common(b, pid, depth, rule, reason, sha256, cn, cn_len);
	add_server(b, envp, "untrusted");
}

void
event_hub_tls_verify(struct event_buf *b, long pid, const char *const *envp,
    int depth, const char *rule, const char *reason, const char *sha256,
    const char *cn, size_t cn_len, const char *role)
{
	tls_verify_common(b, pid, depth, rule, reason, sha256, cn, cn_len);
	add_addr(b, envp, "untrusted", SVPN_EV_REAL_IP, SVPN_EV_REAL_PORT);
	event_add_str(b, SVPN_EV_ROLE, role);
}

void
event_client_connect(struct event_buf *b, long pid, const char *const *envp,
    const char *role)
{
	event_begin(b, SVPN_EV_CLIENT_CONNECT, pid);
	add_env(b, SVPN_EV_CN, envp, "common_name");
	event_add_str(b, SVPN_EV_ROLE, role);
	add_addr(b, envp, "trusted", SVPN_EV_REAL_IP, SVPN_EV_REAL_PORT);
	add_env(b, SVPN_EV_TUNNEL_IP, envp, "ifconfig_pool_remote_ip");
	add_leaf_digest(b, envp);
}

void
event_learn_address(struct event_buf *b, long pid, const char *op,
    const char *addr, const char *cn, const char *role)
{
	event_begin(b, SVPN_EV_LEARN_ADDRESS, pid);
	event_add_str(b, SVPN_EV_OP, op);
	event_add_str(b, SVPN_EV_ADDR, addr);
	event_add_str(b, SVPN_EV_CN, cn);
	event_add_str(b, SVPN_EV_ROLE, role);
}

void
event_client_disconnect(struct event_buf *b, long pid,
    const char *const *envp, const char *role)
{
	event_begin(b, SVPN_EV_CLIENT_DISCONNECT, pid);
	add_env(b, SVPN_EV_CN, envp, "common_name");
	event_add_str(b, SVPN_EV_ROLE, role);
	add_addr(b, envp, "trusted", SVPN_EV_REAL_IP, NULL);
	add_env(b, SVPN_EV_TUNNEL_IP, envp, "ifconfig_pool_remote_ip");
	add_count(b, SVPN_EV_BYTES_IN, envp, "bytes_received");
	add_count(b, SVPN_EV_BYTES_OUT, envp, "bytes_sent");
	add_count(b, SVPN_EV_DURATION_S, envp, "time_duration");
}

void
event_ipchange(struct event_buf *b, long pid, const char *const *envp)
{
	event_begin(b, SVPN_EV_IPCHANGE, pid);
	add_server(b, envp, "trusted");
	add_env(b, SVPN_EV_CN, envp, "common_name");
}

void
event_up(struct event_buf *b, long pid, const char *const *envp)
{
	event_begin(b, SVPN_EV_UP, pid);
	add_env(b, SVPN_EV_DEV, envp, "dev");
	add_env(b, SVPN_EV_LOCAL_IP, envp, "ifconfig_local");
	add_env(b, SVPN_EV_LOCAL_IP6, envp, "ifconfig_ipv6_local");
	add_env(b, SVPN_EV_NETMASK, envp, "ifconfig_netmask");
	add_server(b, envp, "trusted");
	add_env(b, SVPN_EV_CN, envp, "common_name");
	add_leaf_digest(b, envp);
}

void
event_route_up(struct event_buf *b, long pid, const char *const *envp)
{
	event_begin(b, SVPN_EV_ROUTE_UP, pid);
	add_env(b, SVPN_EV_DEV, envp, "dev");
	add_env(b, SVPN_EV_LOCAL_IP, envp, "ifconfig_local");
	add_server(b, envp, "trusted");
}

void
event_down(struct event_buf *b, const char *type, long pid,
    const char *const *envp)
{
	event_begin(b, type, pid);
	add_env(b, SVPN_EV_DEV, envp, "dev");
	add_env(b, SVPN_EV_LOCAL_IP, envp, "ifconfig_local");
	add_env(b, SVPN_EV_SIGNAL, envp, "signal");
}

static int
try_connect(struct event_sender *s, int64_t now_ms)
{
	s->last_connect_ms = now_ms;
	if (connect(s->fd, (const struct sockaddr *)&s->addr,
	    sizeof(s->addr)) < 0) {
		s->last_errno = errno;
		s->connected = false;
		return -errno;
	}
	s->connected = true;
	return 0;
}

int
event_sender_open(struct event_sender *s, const char *path, int64_t now_ms)
{
	size_t len = strlen(path);

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (len == 0 || len >= sizeof(s->addr.sun_path))
		return -ENAMETOOLONG;
	s->addr.sun_family = AF_UNIX;
	memcpy(s->addr.sun_path, path, len + 1);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	(void)try_connect(s, now_ms);	/* failure: retried on send */
	return 0;
}

static bool
peer_gone(int err)
{
	return err == ECONNREFUSED || err == ENOENT || err == ENOTCONN ||
	    err == EDESTADDRREQ || err == ECONNRESET;
}

/*
 * One send; when the receiver's queue is full and wait_ms allows, waits
 * for room (poll reports a connected datagram socket writable once the
 * peer's queue has space) and tries again until the time is up.
 */
static ssize_t
send_waiting(struct event_sender *s, const void *buf, size_t len)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
	struct timespec t0, t;
	ssize_t n;
	int left;

	n = send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0 || errno != EAGAIN || s->wait_ms <= 0)
		return n;
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		(void)clock_gettime(CLOCK_MONOTONIC, &t);
		left = s->wait_ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			errno = EAGAIN;
			return -1;
		}
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return -1;
		n = send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n >= 0 || errno != EAGAIN)
			return n;
	}
}

int
event_sender_send(struct event_sender *s, const void *buf, size_t len,
    int64_t now_ms)
{
	int err = s->last_errno != 0 ? s->last_errno : ENOTCONN;

	if (s->fd < 0) {
		err = EBADF;
		goto drop;
	}
	if (s->connected) {
		if (send_waiting(s, buf, len) >= 0)
			goto sent;
		err = errno;
		if (!peer_gone(err))
			goto drop;
		s->connected = false;
	}
	if (now_ms - s->last_connect_ms < EVENT_RECONNECT_MS)
		goto drop;
	if (try_connect(s, now_ms) < 0) {
		err = s->last_errno;
		goto drop;
	}
	if (send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		goto sent;
	err = errno;
	if (peer_gone(err))
		s->connected = false;
drop:
	s->dropped++;
	s->last_errno = err;
	return -err;
sent:
	s->sent++;
	return 0;
}

void
event_sender_close(struct event_sender *s)
{
	if (s->fd >= 0)
		(void)close(s->fd);
	s->fd = -1;
	s->connected = false;
}
