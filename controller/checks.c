/* SPDX-License-Identifier: MIT */
/*
 * The prerequisite checks of the owner's page: default route, gateway ping,
 * nameserver, name lookup, one HTTP request to the vendor cloud (public IP,
 * reachability, its Date for the clock). Everything runs on the caller's
 * libuv loop; libcurl's multi interface is driven by uv_poll/uv_timer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "checks.h"
#include "config.h"
#include "log.h"
#include "supportvpn.h"
#include "util.h"

/* The commit time of this build; the Makefile passes the real one. */
#ifndef SUPPORTVPN_BUILD_EPOCH
#define SUPPORTVPN_BUILD_EPOCH	1795000000
#endif

#define DETAIL_LEN	384
#define BODY_MAX	4096		/* a bigger answer is not an address */
#define FILE_MAX	(256 * 1024)	/* /proc/net/route, resolv.conf */
#define CLOCK_SKEW_S	86400
#define ROUTE_PATH	"/proc/net/route"
#define ROUTE6_PATH	"/proc/net/ipv6_route"

struct result {
	bool	 done;
	bool	 ok;
	char	 detail[DETAIL_LEN];
	size_t	 stable_len;	/* compared part of detail; the rest is
				   volatile (times, rotating addresses) */
	int64_t	 ms;
	int64_t	 at_ms;		/* wall clock, 0 = never */
};

struct checks_waiter {
	struct checks		 *c;
	struct checks_waiter	 *next;
	struct checks_waiter	**pprev;
	checks_done_fn		  done;
	void			 *arg;
};

/* One ping attempt; lives on the heap so that a new run can start while
 * the previous one's handles are still closing. */
struct ping {
	struct checks		*c;
	uv_poll_t		 poll;
	uv_timer_t		 resend;
	int			 fd;
	int			 open_handles;
	int			 family;
	bool			 raw;
	struct sockaddr_storage	 dst;
	socklen_t		 dstlen;
	uint16_t		 id;
	uint16_t		 seq;
	unsigned char		 cookie[8];
};

/* A lookup may outlive its run and even the checks (DESIGN §6: a resolver
 * that never answers is abandoned, not waited for). */
struct dns_req {
	uv_getaddrinfo_t	 req;
	struct checks		*c;	/* NULL once the checks are freed */
	unsigned		 gen;
	struct dns_req		*next;	/* in c->lookups */
};

/*
 * Lookups still out at once. glibc may keep a thread blocked for 10-20 s
 * on a resolver that never answers; a new run starts a fresh lookup beside
 * the hanging ones, so a repaired network shows green at once, but never
 * takes the whole thread pool (4 threads).
 */
#define CHECKS_MAX_LOOKUPS	3

struct csock {
	uv_poll_t	 poll;
	curl_socket_t	 fd;
	struct checks	*c;
	struct csock	*next;
};

struct checks {
	json_t			*json;		/* checks_json's answer, until
						   the next run starts or ends */
	uv_loop_t		*loop;
	const struct config	*cfg;
	checks_change_fn	 on_change;
	void			*arg;

	uv_timer_t		 run_timer;	/* timeout, or deferred end */
	uv_timer_t		 curl_timer;
	int			 open_handles;
	bool			 freeing;

	bool			 running;
	unsigned		 gen;
	uint64_t		 start;		/* uv_now at run start */
	int			 pending;
	struct result		 cur[CHECK_COUNT];
	struct result		 cache[CHECK_COUNT];
	bool			 have_cache;
	int64_t			 cache_at;
	struct checks_waiter	*waiters;	/* joined the current run */
	struct checks_waiter	*firing;	/* being called back */

	/* Gateway of this run. */
	char			 gw_if[IF_NAMESIZE + 1];
	char			 gw[INET6_ADDRSTRLEN];
	int			 gw_family;	/* 0 = none */
	struct ping		*ping;

	/* The cloud URL of this run. */
	bool			 url_ok;
	char			 url_why[128];
	char			 host[256];
	char			 port[8];
	bool			 host_literal;
	struct dns_req		*dns;		/* this run's lookup, in flight */
	struct dns_req		*lookups;	/* every lookup still out */
	unsigned		 nlookups;
	bool			 dns_mine;	/* dns belongs to this run */

	/* The HTTP request. */
	CURLM			*multi;
	CURL			*easy;
	struct csock		*socks;
	bool			 http_waiting;	/* for the lookup */
	struct curl_slist	*resolve;
	char			 body[BODY_MAX + 1];
	size_t			 body_len;
	bool			 body_too_big;
	char			 date[64];
	char			 errbuf[CURL_ERROR_SIZE];
};

static const char *const names[CHECK_COUNT] = {
	"gateway_assigned", "gateway_reachable", "public_ip", "dns_server",
	"dns_resolution", "cloud_reachable", "clock",
};

const char *
checks_name(enum check_id id)
{
	return (unsigned)id < CHECK_COUNT ? names[id] : "unknown";
}

int
checks_group(enum check_id id)
{
	return id == CHECK_GATEWAY_ASSIGNED || id == CHECK_GATEWAY_REACHABLE ?
	    1 : 2;
}

/* ---- pure helpers -------------------------------------------------------- */

static const char *
next_line(const char *p, const char **end)
{
	const char *nl = strchr(p, '\n');

	*end = nl != NULL ? nl : p + strlen(p);
	return nl != NULL ? nl + 1 : *end;
}

/*
 * Copies the line at *p (without its newline) into line and moves *p past
 * it. Its length, or -1 when it does not fit (bad input for a /proc table).
 */
static ssize_t
take_line(const char **p, char *line, size_t size)
{
	const char *start = *p, *end;
	size_t n;

	*p = next_line(start, &end);
	n = (size_t)(end - start);
	if (n >= size)
		return -1;
	memcpy(line, start, n);
	line[n] = '\0';
	return (ssize_t)n;
}

static bool
copy_out(char *dst, size_t len, const char *src)
{
	return util_snprintf(dst, len, "%s", src) == 0;
}

int
checks_parse_route(const char *text, char *ifname, size_t iflen,
    char *gateway, size_t gwlen)
{
	const char *p = text;
	char best_if[IF_NAMESIZE + 1] = "", line[512];
	unsigned long best_metric = 0;
	uint32_t best_gw = 0;
	bool found = false;

	while (*p != '\0') {
		char ifn[64];
		unsigned int dst, gw, flags, ref, use, metric, mask;
		ssize_t n;
		int k;

		if ((n = take_line(&p, line, sizeof(line))) < 0)
			return -EINVAL;
		if (strspn(line, " \t\r") == (size_t)n ||
		    strncmp(line, "Iface", 5) == 0)
			continue;
		k = sscanf(line, "%63s %x %x %x %u %u %u %x", ifn, &dst, &gw,
		    &flags, &ref, &use, &metric, &mask);
		if (k != 8 || strlen(ifn) > IF_NAMESIZE)
			return -EINVAL;
		/* RTF_UP, and not RTF_REJECT. */
		if (dst != 0 || mask != 0 || !(flags & 0x1) || (flags & 0x200))
			continue;
		if (found && metric >= best_metric)
			continue;
		found = true;
		best_metric = metric;
		best_gw = gw;
		memcpy(best_if, ifn, strlen(ifn) + 1);
	}
	if (!found)
		return -ENOENT;
	{
		/* The kernel prints the address as a host-order integer of
		 * the network-order bytes. */
		struct in_addr a;
		char buf[INET_ADDRSTRLEN];

		memcpy(&a.s_addr, &best_gw, sizeof(a.s_addr));
		if (inet_ntop(AF_INET, &a, buf, sizeof(buf)) == NULL ||
		    !copy_out(ifname, iflen, best_if) ||
		    !copy_out(gateway, gwlen, buf))
			return -EINVAL;
	}
	return 0;
}

static bool
hex_bytes(const char *s, unsigned char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned int v;
		char two[3] = { s[2 * i], s[2 * i + 1], '\0' };

		if (!isxdigit((unsigned char)two[0]) ||
		    !isxdigit((unsigned char)two[1]) ||
		    sscanf(two, "%x", &v) != 1)
			return false;
		out[i] = (unsigned char)v;
	}
	return true;
}

int
checks_parse_route6(const char *text, char *ifname, size_t iflen,
    char *gateway, size_t gwlen)
{
	const char *p = text;
	char best_if[IF_NAMESIZE + 1] = "", line[512];
	unsigned char best_gw[16];
	unsigned long best_metric = 0;
	bool found = false;

	while (*p != '\0') {
		char dst[64], src[64], nh[64], ifn[64];
		unsigned int dlen, slen, metric, ref, use, flags;
		unsigned char dbytes[16], gbytes[16];
		ssize_t n;
		int k;

		if ((n = take_line(&p, line, sizeof(line))) < 0)
			return -EINVAL;
		if (strspn(line, " \t\r") == (size_t)n)
			continue;
		k = sscanf(line, "%63s %x %63s %x %63s %x %x %x %x %63s", dst,
		    &dlen, src, &slen, nh, &metric, &ref, &use, &flags, ifn);
		if (k != 10 || strlen(dst) != 32 || strlen(src) != 32 ||
		    strlen(nh) != 32 || strlen(ifn) > IF_NAMESIZE ||
		    !hex_bytes(dst, dbytes, 16) || !hex_bytes(nh, gbytes, 16) ||
		    dlen > 128)
			return -EINVAL;
		if (dlen != 0 || !(flags & 0x1) || (flags & 0x200))
			continue;
		if (found && metric >= best_metric)
			continue;
		found = true;
		best_metric = metric;
		memcpy(best_gw, gbytes, 16);
		memcpy(best_if, ifn, strlen(ifn) + 1);
	}
	if (!found)
		return -ENOENT;
	{
		char buf[INET6_ADDRSTRLEN];

		if (inet_ntop(AF_INET6, best_gw, buf, sizeof(buf)) == NULL ||
		    !copy_out(ifname, iflen, best_if) ||
		    !copy_out(gateway, gwlen, buf))
			return -EINVAL;
	}
	return 0;
}

/* Canonical text of an IPv4/IPv6 address (an IPv6 zone is kept). */
static bool
canon_addr(const char *in, char *out, size_t outlen, int *family)
{
	unsigned char bin[16];
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], buf[INET6_ADDRSTRLEN];
	const char *zone;
	size_t hl;

	if (inet_pton(AF_INET, in, bin) == 1) {
		if (family != NULL)
			*family = AF_INET;
		return inet_ntop(AF_INET, bin, out, (socklen_t)outlen) != NULL;
	}
	zone = strchr(in, '%');
	hl = zone != NULL ? (size_t)(zone - in) : strlen(in);
	if (hl >= sizeof(host) || (zone != NULL && (zone[1] == '\0' ||
	    strlen(zone) > IF_NAMESIZE + 1)))
		return false;
	memcpy(host, in, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET6, host, bin) != 1 ||
	    inet_ntop(AF_INET6, bin, buf, sizeof(buf)) == NULL)
		return false;
	if (family != NULL)
		*family = AF_INET6;
	return util_snprintf(out, outlen, "%s%s", buf,
	    zone != NULL ? zone : "") == 0;
}

int
checks_parse_resolv(const char *text, char *addr, size_t len)
{
	const char *p = text, *end;

	while (*p != '\0') {
		const char *s = p, *a;
		char word[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
		size_t n;

		p = next_line(p, &end);
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if ((size_t)(end - s) < 11 || strncmp(s, "nameserver", 10) != 0 ||
		    (s[10] != ' ' && s[10] != '\t'))
			continue;
		for (a = s + 10; a < end && (*a == ' ' || *a == '\t'); a++)
			;
		n = strcspn(a, " \t\r\n#;");
		if (a + n > end || n == 0 || n >= sizeof(word))
			continue;
		memcpy(word, a, n);
		word[n] = '\0';
		/* glibc skips a nameserver it cannot parse; so do we. */
		if (!canon_addr(word, addr, len, NULL))
			continue;
		return 0;
	}
	return -ENOENT;
}

/* "text" with control bytes, quotes and backslashes escaped, cut to max
 * input bytes ("..." marks the cut). */
static void
quote(char *dst, size_t size, const char *src, size_t len, size_t max)
{
	size_t i, o = 0;

	if (size < 8) {
		if (size > 0)
			dst[0] = '\0';
		return;
	}
	dst[o++] = '"';
	for (i = 0; i < len && i < max; i++) {
		unsigned char ch = (unsigned char)src[i];
		char esc[8];
		size_t el;

		if (ch == '"' || ch == '\\')
			el = (size_t)snprintf(esc, sizeof(esc), "\\%c", ch);
		else if (ch == '\n')
			el = (size_t)snprintf(esc, sizeof(esc), "\\n");
		else if (ch < 0x20 || ch >= 0x7f)
			el = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", ch);
		else
			el = (size_t)snprintf(esc, sizeof(esc), "%c", ch);
		if (o + el + 5 > size)
			break;
		memcpy(dst + o, esc, el);
		o += el;
	}
	if (i < len) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o++] = '"';
	dst[o] = '\0';
}

static bool
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

int
checks_parse_cloud_body(const char *body, size_t len, char *addr,
    size_t addrlen, char *why, size_t whylen)
{
	char q[96], word[INET6_ADDRSTRLEN + 1];
	size_t s = 0, e = len;

	while (s < e && is_space(body[s]))
		s++;
	while (e > s && is_space(body[e - 1]))
		e--;
	if (s == e) {
		(void)util_snprintf(why, whylen, "the answer is empty");
		return -EINVAL;
	}
	if (body[s] == '{') {
		json_error_t jerr;
		json_t *root, *ip;
		int rc = -EINVAL;

		root = json_loadb(body + s, e - s, JSON_REJECT_DUPLICATES,
		    &jerr);
		if (root == NULL || !json_is_object(root)) {
			quote(q, sizeof(q), body + s, e - s, 40);
			(void)util_snprintf(why, whylen, "the answer is not "
			    "valid JSON: %s", q);
		} else if (!json_is_string(ip = json_object_get(root, "ip"))) {
			(void)util_snprintf(why, whylen, "the JSON answer has "
			    "no \"ip\" string");
		} else if (!canon_addr(json_string_value(ip), addr, addrlen,
		    NULL) || strchr(addr, '%') != NULL) {
			quote(q, sizeof(q), json_string_value(ip),
			    json_string_length(ip), 40);
			(void)util_snprintf(why, whylen, "\"ip\" is not an IP "
			    "address: %s", q);
		} else
			rc = 0;
		json_decref(root);
		return rc;
	}
	if (e - s >= sizeof(word) || memchr(body + s, '\0', e - s) != NULL ||
	    (memcpy(word, body + s, e - s), word[e - s] = '\0',
	    !canon_addr(word, addr, addrlen, NULL)) ||
	    strchr(addr, '%') != NULL) {
		quote(q, sizeof(q), body + s, e - s, 40);
		(void)util_snprintf(why, whylen, "the answer is not an IP "
		    "address: %s", q);
		return -EINVAL;
	}
	return 0;
}

static int
class_v4(const unsigned char *b)
{
	if (b[0] == 0 || b[0] == 127 || b[0] >= 224 ||
	    (b[0] == 169 && b[1] == 254))
		return CHECKS_ADDR_SPECIAL;
	if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
	    (b[0] == 192 && b[1] == 168))
		return CHECKS_ADDR_PRIVATE;
	if (b[0] == 100 && (b[1] & 0xc0) == 64)
		return CHECKS_ADDR_SHARED;
	return CHECKS_ADDR_PUBLIC;
}

int
checks_addr_class(const char *addr)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	static const unsigned char zero[15];
	unsigned char b[16];
	char canon[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], *pct;
	int family;

	if (addr == NULL || !canon_addr(addr, canon, sizeof(canon), &family))
		return -1;
	if (family == AF_INET) {
		if (inet_pton(AF_INET, canon, b) != 1)
			return -1;
		return class_v4(b);
	}
	if ((pct = strchr(canon, '%')) != NULL)
		*pct = '\0';
	if (inet_pton(AF_INET6, canon, b) != 1)
		return -1;
	if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
		return CHECKS_ADDR_SPECIAL;	/* :: and ::1 */
	if (memcmp(b, mapped, 12) == 0)
		return class_v4(b + 12);
	if ((b[0] & 0xfe) == 0xfc)
		return CHECKS_ADDR_PRIVATE;
	if (b[0] == 0xff || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
		return CHECKS_ADDR_SPECIAL;	/* multicast, link-local */
	return CHECKS_ADDR_PUBLIC;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int64_t
checks_parse_http_date(const char *value)
{
	static const char *const wdays[] = { "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat", "Sun" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	char wd[4], mon[4], tz[4];
	unsigned d, y, hh, mm, ss, m, i;
	int n = 0;
	bool leap;

	if (value == NULL)
		return -1;
	while (is_space(*value))
		value++;
	/* "Sun, 06 Nov 1994 08:49:37 GMT": fixed widths (RFC 9110 5.6.7). */
	if (strlen(value) < 29 || value[3] != ',' || value[4] != ' ' ||
	    value[7] != ' ' || value[11] != ' ' || value[16] != ' ' ||
	    value[19] != ':' || value[22] != ':' || value[25] != ' ')
		return -1;
	for (i = 0; i < 29; i++)
		if (strchr(",: ", value[i]) == NULL &&
		    !isalnum((unsigned char)value[i]))
			return -1;
	if (sscanf(value, "%3c, %2u %3c %4u %2u:%2u:%2u %3c%n", wd, &d, mon,
	    &y, &hh, &mm, &ss, tz, &n) != 8 || n != 29)
		return -1;
	for (i = 29; value[i] != '\0'; i++)
		if (!is_space(value[i]))
			return -1;
	wd[3] = mon[3] = tz[3] = '\0';
	if (!isdigit((unsigned char)value[5]) ||
	    !isdigit((unsigned char)value[6]) ||
	    !isdigit((unsigned char)value[12]) ||
	    !isdigit((unsigned char)value[17]) || strcmp(tz, "GMT") != 0)
		return -1;
	for (i = 0; i < 7 && strcmp(wd, wdays[i]) != 0; i++)
		;
	if (i == 7)
		return -1;
	for (m = 0; m < 12 && strcmp(mon, months[m]) != 0; m++)
		;
	if (m == 12 || y < 1970 || hh > 23 || mm > 59 || ss > 60 || d == 0 ||
	    d > mdays[m])
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m == 1 && d == 29 && !leap)
		return -1;
	if (ss == 60)
		ss = 59;	/* a leap second: near enough */
	return days_from_civil(y, m + 1, d) * 86400 + hh * 3600 + mm * 60 +
	    ss;
}

/* ---- results, waiters, the run ------------------------------------------- */

static void start_http(struct checks *c);
static void abort_http(struct checks *c, const char *why);
static void ping_close(struct ping *p);
static void finish_run(struct checks *c);

static void
on_handle_closed(uv_handle_t *h)
{
	struct checks *c = h->data;

	if (--c->open_handles == 0 && c->freeing)
		free(c);
}

static int64_t
elapsed_ms(const struct checks *c)
{
	return (int64_t)(uv_now(c->loop) - c->start);
}

static void on_run_timer(uv_timer_t *t);

/*
 * Records the result of check id for this run. stable is how many bytes of
 * the detail count when comparing runs (0: all). The run ends on the next
 * loop turn, never inside the call that completed the last check.
 */
static void __attribute__((format(printf, 5, 6)))
complete(struct checks *c, enum check_id id, bool ok, int stable,
    const char *fmt, ...)
{
	struct result *r = &c->cur[id];
	va_list ap;
	size_t len;

	if (!c->running || r->done)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	len = strlen(r->detail);
	r->stable_len = stable > 0 && (size_t)stable < len ? (size_t)stable :
	    len;
	r->done = true;
	r->ok = ok;
	r->ms = elapsed_ms(c);
	r->at_ms = util_now_ms();
	if (--c->pending == 0)
		uv_timer_start(&c->run_timer, on_run_timer, 0, 0);
}

static bool
is_pending(const struct checks *c, enum check_id id)
{
	return c->running && !c->cur[id].done;
}

/* ---- gateway ------------------------------------------------------------- */

static int
read_text(const char *path, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = NULL, *nbuf;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap || buf == NULL) {
			if (buf != NULL)
				cap *= 2;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len >= FILE_MAX) {
			/* Keep whole lines only. */
			while (len > 0 && buf[len - 1] != '\n')
				len--;
			break;
		}
	}
	buf[len] = '\0';
out:
	close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

static int
read_route(const char *path, bool v6, char *ifn, size_t iflen, char *gw,
    size_t gwlen)
{
	char *text;
	int rc;

	if ((rc = read_text(path, &text)) < 0)
		return rc;
	rc = v6 ? checks_parse_route6(text, ifn, iflen, gw, gwlen) :
	    checks_parse_route(text, ifn, iflen, gw, gwlen);
	free(text);
	return rc;
}

static bool
unspecified(const char *gw)
{
	return strcmp(gw, "0.0.0.0") == 0 || strcmp(gw, "::") == 0;
}

static void
check_gateway_assigned(struct checks *c)
{
	char if4[IF_NAMESIZE + 1], gw4[INET_ADDRSTRLEN];
	char if6[IF_NAMESIZE + 1], gw6[INET6_ADDRSTRLEN], v4[160], v6[160];
	int r4, r6;

	r4 = read_route(ROUTE_PATH, false, if4, sizeof(if4), gw4, sizeof(gw4));
	r6 = read_route(ROUTE6_PATH, true, if6, sizeof(if6), gw6, sizeof(gw6));
	c->gw_family = 0;
	if (r4 == 0) {
		c->gw_family = AF_INET;
		memcpy(c->gw_if, if4, sizeof(if4));
		memcpy(c->gw, gw4, sizeof(gw4));
	} else if (r6 == 0) {
		c->gw_family = AF_INET6;
		memcpy(c->gw_if, if6, sizeof(if6));
		memcpy(c->gw, gw6, sizeof(gw6));
	}
	if (r4 == 0 && unspecified(gw4))
		snprintf(v4, sizeof(v4), "default route on %s (a point-to-"
		    "point link, no gateway address)", if4);
	else if (r4 == 0)
		snprintf(v4, sizeof(v4), "default gateway %s on %s", gw4, if4);
	if (r6 == 0 && unspecified(gw6))
		snprintf(v6, sizeof(v6), "IPv6 default route on %s (no gateway"
		    " address)", if6);
	else if (r6 == 0)
		snprintf(v6, sizeof(v6), "IPv6 default gateway %s on %s", gw6,
		    if6);
	if (r4 == 0 && r6 == 0)
		complete(c, CHECK_GATEWAY_ASSIGNED, true, 0, "%s; %s", v4, v6);
	else if (r4 == 0)
		complete(c, CHECK_GATEWAY_ASSIGNED, true, 0, "%s", v4);
	else if (r6 == 0)
		complete(c, CHECK_GATEWAY_ASSIGNED, true, 0, "%s (no IPv4 "
		    "default route)", v6);
	else if (r4 != -ENOENT && r4 != -EINVAL)
		complete(c, CHECK_GATEWAY_ASSIGNED, false, 0, "cannot read %s:"
		    " %s", ROUTE_PATH, strerror(-r4));
	else
		complete(c, CHECK_GATEWAY_ASSIGNED, false, 0, "no default "
		    "route: this appliance has no gateway to the internet; "
		    "check its network settings (DHCP or the static "
		    "gateway)");
}

/* ---- gateway_reachable: ICMP echo ---------------------------------------- */

static uint16_t
icmp_cksum(const unsigned char *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static const char *
ping_kind(const struct ping *p)
{
	return p->raw ? "raw ICMP socket" : "ICMP datagram socket";
}

static void
ping_fail(struct checks *c, const char *why)
{
	complete(c, CHECK_GATEWAY_REACHABLE, false, 0, "cannot ping default "
	    "gateway %s on %s: %s", c->gw, c->gw_if, why);
}

static int
ping_send(struct ping *p)
{
	unsigned char pkt[32];
	uint16_t ck;

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = p->family == AF_INET ? 8 : 128;
	p->seq++;
	pkt[4] = (unsigned char)(p->id >> 8);
	pkt[5] = (unsigned char)p->id;
	pkt[6] = (unsigned char)(p->seq >> 8);
	pkt[7] = (unsigned char)p->seq;
	memcpy(pkt + 8, p->cookie, sizeof(p->cookie));
	if (p->family == AF_INET) {
		/* ICMPv6 checksums are the kernel's; IPv4 raw ones ours. */
		ck = icmp_cksum(pkt, sizeof(pkt));
		pkt[2] = (unsigned char)(ck >> 8);
		pkt[3] = (unsigned char)ck;
	}
	if (sendto(p->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&p->dst,
	    p->dstlen) < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)
		return -errno;
	return 0;
}

static bool
same_source(const struct ping *p, const struct sockaddr_storage *from)
{
	if (from->ss_family != p->family)
		return false;
	if (p->family == AF_INET)
		return ((const struct sockaddr_in *)from)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)&p->dst)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)from)->sin6_addr,
	    &((const struct sockaddr_in6 *)&p->dst)->sin6_addr, 16) == 0;
}

/* Whether buf (n bytes from from) is the answer to one of our echoes. */
static bool
ping_match(const struct ping *p, const unsigned char *buf, size_t n,
    const struct sockaddr_storage *from)
{
	uint16_t id, seq;

	if (p->raw && p->family == AF_INET) {
		size_t ihl;

		if (n < 20 || (buf[0] >> 4) != 4)
			return false;
		ihl = (size_t)(buf[0] & 0x0f) * 4;
		if (ihl < 20 || n < ihl)
			return false;
		buf += ihl;
		n -= ihl;
	}
	if (n < 8 + sizeof(p->cookie) || !same_source(p, from))
		return false;
	if (buf[0] != (p->family == AF_INET ? 0 : 129) || buf[1] != 0)
		return false;
	id = (uint16_t)(buf[4] << 8 | buf[5]);
	seq = (uint16_t)(buf[6] << 8 | buf[7]);
	/* A datagram socket's echo id is the kernel's; it filters by it. */
	if (p->raw && id != p->id)
		return false;
	return seq >= 1 && seq <= p->seq &&
	    memcmp(buf + 8, p->cookie, sizeof(p->cookie)) == 0;
}

static void
on_ping_readable(uv_poll_t *h, int status, int events)
{
	struct ping *p = h->data;
	struct checks *c = p->c;
	unsigned char buf[1500];
	struct sockaddr_storage from;

	if (status < 0 || c == NULL)
		return;	/* the run's timer reports silence */
	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(p->fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;
		if (!ping_match(p, buf, (size_t)n, &from))
			continue;
		complete(c, CHECK_GATEWAY_REACHABLE, true, 0, "default gateway "
		    "%s on %s answers (%s)", c->gw, c->gw_if, ping_kind(p));
		ping_close(p);
		return;
	}
}

static void
on_ping_resend(uv_timer_t *t)
{
	struct ping *p = t->data;
	struct checks *c = p->c;
	int rc;

	if (c == NULL)
		return;
	if ((rc = ping_send(p)) < 0) {
		ping_fail(c, strerror(-rc));
		ping_close(p);
	}
}

static void
on_ping_closed(uv_handle_t *h)
{
	struct ping *p = h->data;

	if (--p->open_handles > 0)
		return;
	close(p->fd);
	free(p);
}

/* Detaches p from its run and closes it. */
static void
ping_close(struct ping *p)
{
	if (p->c != NULL && p->c->ping == p)
		p->c->ping = NULL;
	p->c = NULL;
	uv_poll_stop(&p->poll);
	uv_close((uv_handle_t *)&p->poll, on_ping_closed);
	uv_close((uv_handle_t *)&p->resend, on_ping_closed);
}

static int
ping_socket(struct ping *p)
{
	int proto = p->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;

	/* Unprivileged where net.ipv4.ping_group_range allows it, else raw
	 * (root or CAP_NET_RAW). */
	p->fd = socket(p->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    proto);
	if (p->fd >= 0)
		return 0;
	p->fd = socket(p->family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    proto);
	p->raw = true;
	return p->fd >= 0 ? 0 : -errno;
}

static void
ping_dst(struct ping *p, const struct checks *c)
{
	memset(&p->dst, 0, sizeof(p->dst));
	if (p->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&p->dst;

		sin->sin_family = AF_INET;
		(void)inet_pton(AF_INET, c->gw, &sin->sin_addr);
		p->dstlen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->dst;

		sin6->sin6_family = AF_INET6;
		(void)inet_pton(AF_INET6, c->gw, &sin6->sin6_addr);
		/* A link-local gateway needs its link. */
		sin6->sin6_scope_id = if_nametoindex(c->gw_if);
		p->dstlen = sizeof(*sin6);
	}
}

static void
check_gateway_reachable(struct checks *c)
{
	unsigned interval;
	struct ping *p;
	int rc, t = c->cfg->checks_timeout_ms;

	if (c->gw_family == 0) {
		complete(c, CHECK_GATEWAY_REACHABLE, false, 0, "no default "
		    "gateway to ping");
		return;
	}
	if (unspecified(c->gw)) {
		complete(c, CHECK_GATEWAY_REACHABLE, true, 0, "the default "
		    "route on %s is a point-to-point link: no gateway to ping",
		    c->gw_if);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		ping_fail(c, strerror(ENOMEM));
		return;
	}
	p->family = c->gw_family;
	p->id = (uint16_t)((unsigned)getpid() ^ (c->gen * 7919u));
	(void)uv_random(NULL, NULL, p->cookie, sizeof(p->cookie), 0, NULL);
	ping_dst(p, c);
	if ((rc = ping_socket(p)) < 0) {
		free(p);
		ping_fail(c, rc == -EPERM || rc == -EACCES ? "neither an ICMP datagram "
		    "socket (net.ipv4.ping_group_range) nor a raw ICMP socket"
		    " (root or CAP_NET_RAW) is allowed" : strerror(-rc));
		return;
	}
	if ((rc = uv_poll_init_socket(c->loop, &p->poll, p->fd)) < 0) {
		close(p->fd);
		free(p);
		ping_fail(c, uv_strerror(rc));
		return;
	}
	uv_timer_init(c->loop, &p->resend);
	p->poll.data = p->resend.data = p;
	p->open_handles = 2;
	p->c = c;
	c->ping = p;
	if ((rc = ping_send(p)) < 0) {
		ping_fail(c, strerror(-rc));
		ping_close(p);
		return;
	}
	/* One lost echo must not fail the check: ask again now and then. */
	interval = t / 4 < 100 ? 100 : t / 4 > 1000 ? 1000 : (unsigned)t / 4;
	if ((rc = uv_poll_start(&p->poll, UV_READABLE, on_ping_readable)) < 0) {
		ping_fail(c, uv_strerror(rc));
		ping_close(p);
		return;
	}
	uv_timer_start(&p->resend, on_ping_resend, interval, interval);
}

/* ---- dns_server ---------------------------------------------------------- */

static void
check_dns_server(struct checks *c)
{
	const char *path = c->cfg->checks_resolv_conf;
	char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], *text;
	int rc;

	if ((rc = read_text(path, &text)) < 0) {
		complete(c, CHECK_DNS_SERVER, false, 0, "cannot read %s: %s",
		    path, strerror(-rc));
		return;
	}
	rc = checks_parse_resolv(text, addr, sizeof(addr));
	free(text);
	if (rc < 0)
		complete(c, CHECK_DNS_SERVER, false, 0, "no nameserver in %s: "
		    "this appliance has no DNS server; check its network "
		    "settings", path);
	else
		complete(c, CHECK_DNS_SERVER, true, 0, "nameserver %s in %s",
		    addr, path);
}

/* ---- the cloud URL and dns_resolution ------------------------------------ */

static void
parse_url(struct checks *c)
{
	const char *url = c->cfg->checks_cloud_url;
	char *host = NULL, *port = NULL, *scheme = NULL;
	unsigned char bin[16];
	CURLU *u;

	c->url_ok = false;
	c->host[0] = c->port[0] = '\0';
	if ((u = curl_url()) == NULL) {
		snprintf(c->url_why, sizeof(c->url_why), "out of memory");
		return;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		snprintf(c->url_why, sizeof(c->url_why), "checks.cloud_url is "
		    "not a valid URL");
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		snprintf(c->url_why, sizeof(c->url_why), "checks.cloud_url "
		    "must be an http or https URL");
		goto out;
	}
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 3 || n - 2 >= sizeof(c->host) || host[n - 1] != ']')
			goto bad;
		memcpy(c->host, host + 1, n - 2);
		c->host[n - 2] = '\0';
	} else if (!copy_out(c->host, sizeof(c->host), host))
		goto bad;
	if (!copy_out(c->port, sizeof(c->port), port))
		goto bad;
	c->host_literal = inet_pton(AF_INET, c->host, bin) == 1 ||
	    inet_pton(AF_INET6, c->host, bin) == 1;
	c->url_ok = true;
	goto out;
bad:
	snprintf(c->url_why, sizeof(c->url_why), "checks.cloud_url has a "
	    "host name or port too long");
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

/* The lookup's addresses as a CURLOPT_RESOLVE entry, so that curl never
 * runs a resolver of its own (its threaded one is joined, blocking the
 * loop, when a hung transfer is removed). */
static int
make_resolve(struct checks *c, const struct addrinfo *ai, char *first,
    size_t firstlen, int *count)
{
	char entry[1024], a[INET6_ADDRSTRLEN];
	size_t o;
	int n = 0;

	o = (size_t)snprintf(entry, sizeof(entry), "%s:%s:", c->host,
	    c->port);
	first[0] = '\0';
	for (; ai != NULL && o < sizeof(entry); ai = ai->ai_next) {
		const void *src = ai->ai_family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    inet_ntop(ai->ai_family, src, a, sizeof(a)) == NULL)
			continue;
		if (n == 0)
			(void)copy_out(first, firstlen, a);
		if (o + strlen(a) + 4 >= sizeof(entry))
			break;
		o += (size_t)snprintf(entry + o, sizeof(entry) - o,
		    ai->ai_family == AF_INET6 ? "%s[%s]" : "%s%s",
		    n > 0 ? "," : "", a);
		n++;
	}
	*count = n;
	if (n == 0)
		return -ENOENT;
	curl_slist_free_all(c->resolve);
	c->resolve = curl_slist_append(NULL, entry);
	return c->resolve != NULL ? 0 : -ENOMEM;
}

static void
http_cannot(struct checks *c, const char *why)
{
	const char *url = c->cfg->checks_cloud_url;

	c->http_waiting = false;
	complete(c, CHECK_CLOUD_REACHABLE, false, 0, "cannot reach the vendor"
	    " cloud at %s: %s", url, why);
	complete(c, CHECK_PUBLIC_IP, false, 0, "the vendor cloud could not be"
	    " asked for this appliance's address: %s", why);
}

static void judge_clock(struct checks *c, const char *no_date);

static void
dns_done(struct checks *c, int status, struct addrinfo *res)
{
	char first[INET6_ADDRSTRLEN], why[300];
	int n = 0, rc;

	if (status < 0) {
		complete(c, CHECK_DNS_RESOLUTION, false, 0, "cannot resolve %s:"
		    " %s", c->host, uv_strerror(status));
		if (c->http_waiting) {
			snprintf(why, sizeof(why), "cannot resolve %s",
			    c->host);
			http_cannot(c, why);
			judge_clock(c, "the vendor cloud was not asked");
		}
		return;
	}
	rc = make_resolve(c, res, first, sizeof(first), &n);
	if (rc == -ENOENT) {
		complete(c, CHECK_DNS_RESOLUTION, false, 0, "%s resolves to no "
		    "IPv4 or IPv6 address", c->host);
	} else {
		int stable = snprintf(NULL, 0, "%s resolves", c->host);

		complete(c, CHECK_DNS_RESOLUTION, true, stable, "%s resolves "
		    "(to %s%s)", c->host, first, n > 1 ? " and more" : "");
	}
	if (!c->http_waiting)
		return;
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s has no usable address",
		    c->host);
		http_cannot(c, why);
		judge_clock(c, "the vendor cloud was not asked");
		return;
	}
	c->http_waiting = false;
	start_http(c);
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct dns_req *d = req->data, **pp;
	struct checks *c = d->c;

	if (c != NULL) {
		for (pp = &c->lookups; *pp != NULL; pp = &(*pp)->next)
			if (*pp == d) {
				*pp = d->next;
				c->nlookups--;
				break;
			}
	}
	if (c != NULL && c->dns == d) {
		c->dns = NULL;
		if (c->running && c->gen == d->gen && c->dns_mine)
			dns_done(c, status, res);
	}
	uv_freeaddrinfo(res);
	free(d);
}

static void
check_dns_resolution(struct checks *c)
{
	struct addrinfo hints;
	struct dns_req *d;
	int rc;

	c->dns_mine = false;
	if (!c->url_ok) {
		complete(c, CHECK_DNS_RESOLUTION, false, 0, "%s", c->url_why);
		return;
	}
	if (c->host_literal) {
		complete(c, CHECK_DNS_RESOLUTION, true, 0, "the cloud URL names "
		    "an address (%s): no name to resolve", c->host);
		return;
	}
	/* An earlier run's lookup that still hangs is left to finish. */
	c->dns = NULL;
	if (c->nlookups >= CHECKS_MAX_LOOKUPS) {
		complete(c, CHECK_DNS_RESOLUTION, false, 0, "cannot resolve %s:"
		    " %u earlier lookups have not returned yet (the DNS server "
		    "does not answer)", c->host, c->nlookups);
		return;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		complete(c, CHECK_DNS_RESOLUTION, false, 0, "cannot resolve %s:"
		    " %s", c->host, strerror(ENOMEM));
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	d->c = c;
	d->gen = c->gen;
	d->req.data = d;
	rc = uv_getaddrinfo(c->loop, &d->req, on_resolved, c->host, NULL,
	    &hints);
	if (rc < 0) {
		free(d);
		complete(c, CHECK_DNS_RESOLUTION, false, 0, "cannot resolve %s:"
		    " %s", c->host, uv_strerror(rc));
		return;
	}
	c->dns = d;
	c->dns_mine = true;
	d->next = c->lookups;
	c->lookups = d;
	c->nlookups++;
}

/* ---- HTTP: public_ip, cloud_reachable, and the cloud's Date -------------- */

static void
on_csock_closed(uv_handle_t *h)
{
	struct csock *cs = h->data;
	struct checks *c = cs->c;

	free(cs);
	if (--c->open_handles == 0 && c->freeing)
		free(c);
}

static void
csock_close(struct checks *c, struct csock *cs)
{
	struct csock **pp;

	for (pp = &c->socks; *pp != NULL; pp = &(*pp)->next)
		if (*pp == cs) {
			*pp = cs->next;
			break;
		}
	if (c->multi != NULL)
		(void)curl_multi_assign(c->multi, cs->fd, NULL);
	uv_poll_stop(&cs->poll);
	uv_close((uv_handle_t *)&cs->poll, on_csock_closed);
}

static void http_collect(struct checks *c);

static void
on_curl_poll(uv_poll_t *h, int status, int events)
{
	struct csock *cs = h->data;
	struct checks *c = cs->c;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	(void)curl_multi_socket_action(c->multi, cs->fd, flags, &running);
	http_collect(c);
}

static int
on_curl_socket(CURL *e, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct checks *c = userp;
	struct csock *cs = socketp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL)
			csock_close(c, cs);
		return 0;
	}
	if (cs == NULL) {
		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return -1;
		if (uv_poll_init_socket(c->loop, &cs->poll, s) < 0) {
			free(cs);
			return -1;
		}
		cs->fd = s;
		cs->c = c;
		cs->poll.data = cs;
		cs->next = c->socks;
		c->socks = cs;
		c->open_handles++;
		(void)curl_multi_assign(c->multi, s, cs);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	return uv_poll_start(&cs->poll, events, on_curl_poll) < 0 ? -1 : 0;
}

static void
on_curl_timer(uv_timer_t *t)
{
	struct checks *c = t->data;
	int running;

	(void)curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	http_collect(c);
}

static int
on_curl_timer_set(CURLM *m, long timeout_ms, void *userp)
{
	struct checks *c = userp;

	/* curl must not be called back from here: 0 means "next turn". */
	if (timeout_ms < 0)
		uv_timer_stop(&c->curl_timer);
	else if (!c->freeing)
		uv_timer_start(&c->curl_timer, on_curl_timer,
		    (uint64_t)timeout_ms, 0);
	return 0;
}

static size_t
on_curl_body(char *ptr, size_t size, size_t n, void *userdata)
{
	struct checks *c = userdata;
	size_t len = size * n;

	if (len > BODY_MAX - c->body_len) {
		c->body_too_big = true;
		return 0;	/* aborts the transfer */
	}
	memcpy(c->body + c->body_len, ptr, len);
	c->body_len += len;
	c->body[c->body_len] = '\0';
	return len;
}

static size_t
on_curl_header(char *ptr, size_t size, size_t n, void *userdata)
{
	struct checks *c = userdata;
	size_t len = size * n, vlen;

	if (len > 5 && strncasecmp(ptr, "Date:", 5) == 0) {
		ptr += 5;
		len -= 5;
		while (len > 0 && is_space(ptr[len - 1]))
			len--;
		while (len > 0 && is_space(*ptr)) {
			ptr++;
			len--;
		}
		vlen = len < sizeof(c->date) - 1 ? len : sizeof(c->date) - 1;
		memcpy(c->date, ptr, vlen);
		c->date[vlen] = '\0';
	}
	return size * n;
}

static void
drop_easy(struct checks *c)
{
	if (c->easy == NULL)
		return;
	if (c->multi != NULL)
		(void)curl_multi_remove_handle(c->multi, c->easy);
	curl_easy_cleanup(c->easy);
	c->easy = NULL;
	curl_slist_free_all(c->resolve);
	c->resolve = NULL;
}

static int
setup_easy(struct checks *c, long budget)
{
	CURL *e = c->easy;
	CURLcode r = CURLE_OK;

#define SET(opt, val)	do { if (r == CURLE_OK) \
	r = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, c->cfg->checks_cloud_url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, budget);
	SET(CURLOPT_CONNECTTIMEOUT_MS, budget);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_MAXFILESIZE, (long)BODY_MAX);
	SET(CURLOPT_USERAGENT, "supportvpnd/" SUPPORTVPN_VERSION);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	/* The tunnel goes out directly, so the check must too. */
	SET(CURLOPT_PROXY, "");
	/* Each run proves a fresh connection; none is left idle. */
	SET(CURLOPT_FRESH_CONNECT, 1L);
	SET(CURLOPT_FORBID_REUSE, 1L);
	SET(CURLOPT_WRITEFUNCTION, on_curl_body);
	SET(CURLOPT_WRITEDATA, c);
	SET(CURLOPT_HEADERFUNCTION, on_curl_header);
	SET(CURLOPT_HEADERDATA, c);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_PRIVATE, c);
	if (c->resolve != NULL)
		SET(CURLOPT_RESOLVE, c->resolve);
#undef SET
	return r == CURLE_OK ? 0 : -EINVAL;
}

static void
start_http(struct checks *c)
{
	long budget = (long)c->cfg->checks_timeout_ms - (long)elapsed_ms(c);

	c->body_len = 0;
	c->body[0] = '\0';
	c->body_too_big = false;
	c->date[0] = '\0';
	c->errbuf[0] = '\0';
	if (budget < 1)
		budget = 1;
	if (c->multi == NULL || (c->easy = curl_easy_init()) == NULL ||
	    setup_easy(c, budget) < 0 ||
	    curl_multi_add_handle(c->multi, c->easy) != CURLM_OK) {
		drop_easy(c);
		log_warnx("checks: cannot set up the HTTP request to %s",
		    c->cfg->checks_cloud_url);
		http_cannot(c, "cannot set up the HTTP request");
		judge_clock(c, "the vendor cloud was not asked");
	}
}

static const char *
class_words(int cls)
{
	switch (cls) {
	case CHECKS_ADDR_PUBLIC:
		return "a public address";
	case CHECKS_ADDR_PRIVATE:
		return "a private address: the cloud is reached through a "
		    "private network";
	case CHECKS_ADDR_SHARED:
		return "a shared address (100.64.0.0/10): the internet "
		    "provider puts its own NAT (carrier-grade NAT) in front";
	default:
		return "a special address (loopback, link-local, multicast or"
		    " reserved)";
	}
}

static bool
is_local_addr(const char *addr)
{
	struct ifaddrs *ifa, *i;
	char buf[INET6_ADDRSTRLEN];
	bool found = false;

	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i != NULL && !found; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;
		const void *src;

		if (sa == NULL || (sa->sa_family != AF_INET &&
		    sa->sa_family != AF_INET6))
			continue;
		src = sa->sa_family == AF_INET ?
		    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
		    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (inet_ntop(sa->sa_family, src, buf, sizeof(buf)) != NULL &&
		    strcmp(buf, addr) == 0)
			found = true;
	}
	freeifaddrs(ifa);
	return found;
}

static void
judge_public_ip(struct checks *c)
{
	char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], why[200];

	if (checks_parse_cloud_body(c->body, c->body_len, addr, sizeof(addr),
	    why, sizeof(why)) < 0) {
		complete(c, CHECK_PUBLIC_IP, false, 0, "the vendor cloud did not"
		    " say which address it sees: %s", why);
		return;
	}
	complete(c, CHECK_PUBLIC_IP, true, 0, "the vendor cloud sees this "
	    "appliance as %s, %s; %s", addr,
	    class_words(checks_addr_class(addr)), is_local_addr(addr) ?
	    "it is one of this appliance's own addresses (no NAT)" :
	    "this appliance sits behind NAT");
}

static void
http_done(struct checks *c, CURLcode res)
{
	const char *url = c->cfg->checks_cloud_url;
	long code = 0;
	char why[CURL_ERROR_SIZE + 64];

	(void)curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
	drop_easy(c);
	if (res == CURLE_FILESIZE_EXCEEDED)
		c->body_too_big = true;	/* said so by Content-Length */
	if (res == CURLE_OK || (c->body_too_big && code / 100 == 2)) {
		if (code / 100 != 2) {
			complete(c, CHECK_CLOUD_REACHABLE, false, 0, "the vendor"
			    " cloud at %s answers HTTP %ld", url, code);
			complete(c, CHECK_PUBLIC_IP, false, 0, "the vendor cloud"
			    " answered HTTP %ld instead of an address", code);
		} else {
			bool addr_ok;

			if (c->body_too_big)
				complete(c, CHECK_PUBLIC_IP, false, 0, "the "
				    "vendor cloud answered more than %d bytes,"
				    " not an address", BODY_MAX);
			else
				judge_public_ip(c);
			addr_ok = c->cur[CHECK_PUBLIC_IP].ok;
			complete(c, CHECK_CLOUD_REACHABLE, true, 0, "the vendor"
			    " cloud at %s answers (HTTP %ld)%s", url, code,
			    addr_ok ? "" : ", but not with an address");
		}
	} else {
		if (res == CURLE_OPERATION_TIMEDOUT)
			snprintf(why, sizeof(why), "no answer within %d ms",
			    c->cfg->checks_timeout_ms);
		else
			snprintf(why, sizeof(why), "%s", c->errbuf[0] != '\0' ?
			    c->errbuf : curl_easy_strerror(res));
		http_cannot(c, why);
	}
	/* curl's own timeout and the run's say the same thing. */
	judge_clock(c, c->date[0] != '\0' ? NULL :
	    res == CURLE_OK ? "the vendor cloud sent no Date" :
	    res == CURLE_OPERATION_TIMEDOUT ? "the vendor cloud did not answer "
	    "in time" : "the vendor cloud could not be reached");
}

static void
http_collect(struct checks *c)
{
	CURLMsg *msg;
	int left;

	while (c->multi != NULL &&
	    (msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->easy &&
		    c->easy != NULL)
			http_done(c, msg->data.result);
	}
}

static void
check_cloud(struct checks *c)
{
	if (!c->url_ok) {
		http_cannot(c, c->url_why);
		judge_clock(c, "the vendor cloud was not asked");
		return;
	}
	if (c->host_literal)
		start_http(c);
	else if (c->dns_mine)
		c->http_waiting = true;
	else {
		/* The lookup failed at once, or an old one still hangs. */
		http_cannot(c, c->cur[CHECK_DNS_RESOLUTION].detail);
		judge_clock(c, "the vendor cloud was not asked");
	}
}

static void
abort_http(struct checks *c, const char *why)
{
	drop_easy(c);
	http_cannot(c, why);
	judge_clock(c, c->date[0] != '\0' ? NULL :
	    "the vendor cloud did not answer in time");
}

/* ---- clock --------------------------------------------------------------- */

static int64_t
clock_offset(void)
{
	const char *s = getenv(CHECKS_CLOCK_OFFSET_ENV);
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < -(1LL << 40) || v > (1LL << 40))
		return 0;
	return v;
}

/* no_date: why there is no Date to compare with, NULL to use c->date. */
static void
judge_clock(struct checks *c, const char *no_date)
{
	int64_t now = util_now_ms() / 1000 + clock_offset(), cloud = -1;
	char tnow[UTIL_TIME_LEN], tbuild[UTIL_TIME_LEN], tcloud[UTIL_TIME_LEN];
	int stable;

	if (!is_pending(c, CHECK_CLOCK))
		return;
	util_time_fmt(tnow, now * 1000, false);
	util_time_fmt(tbuild, (int64_t)SUPPORTVPN_BUILD_EPOCH * 1000, false);
	if (no_date == NULL) {
		if (c->date[0] == '\0')
			no_date = "the vendor cloud sent no Date";
		else if ((cloud = checks_parse_http_date(c->date)) < 0)
			no_date = "the vendor cloud's Date does not parse";
	}
	if (now < (int64_t)SUPPORTVPN_BUILD_EPOCH) {
		stable = snprintf(NULL, 0, "the clock is before this software "
		    "was built (%s): certificates will look invalid; set the "
		    "time", tbuild);
		complete(c, CHECK_CLOCK, false, stable, "the clock is before "
		    "this software was built (%s): certificates will look "
		    "invalid; set the time (it reads %s)", tbuild, tnow);
		return;
	}
	if (no_date != NULL) {
		stable = snprintf(NULL, 0, "%s; judged by the build date only, "
		    "the clock is plausible", no_date);
		complete(c, CHECK_CLOCK, true, stable, "%s; judged by the build"
		    " date only, the clock is plausible (it reads %s, built %s)",
		    no_date, tnow, tbuild);
		return;
	}
	util_time_fmt(tcloud, cloud * 1000, false);
	if (now - cloud > CLOCK_SKEW_S || cloud - now > CLOCK_SKEW_S) {
		stable = (int)strlen("the clock differs from the vendor "
		    "cloud's by more than a day: certificates may look invalid;"
		    " set the time");
		complete(c, CHECK_CLOCK, false, stable, "the clock differs from"
		    " the vendor cloud's by more than a day: certificates may "
		    "look invalid; set the time (it reads %s, the cloud %s)",
		    tnow, tcloud);
		return;
	}
	stable = (int)strlen("the clock agrees with the vendor cloud");
	complete(c, CHECK_CLOCK, true, stable, "the clock agrees with the "
	    "vendor cloud (%s, off by %" PRId64 " s)", tnow, now > cloud ?
	    now - cloud : cloud - now);
}

/* ---- the run ------------------------------------------------------------- */

static void
on_timeout(struct checks *c)
{
	char why[64];
	int t = c->cfg->checks_timeout_ms;
	int i;

	snprintf(why, sizeof(why), "no answer within %d ms", t);
	if (c->easy != NULL)
		abort_http(c, why);
	if (c->http_waiting) {
		char w[400];

		snprintf(w, sizeof(w), "%s (the lookup of %s has not "
		    "returned)", why, c->host);
		http_cannot(c, w);
		judge_clock(c, "the vendor cloud was not asked");
	}
	if (c->dns != NULL && c->dns_mine) {
		/* Cancelling works only while it waits for a thread; if it
		 * runs, on_resolved frees it whenever it returns. */
		(void)uv_cancel((uv_req_t *)&c->dns->req);
		complete(c, CHECK_DNS_RESOLUTION, false, 0, "cannot resolve %s:"
		    " %s", c->host, why);
	}
	if (c->ping != NULL) {
		complete(c, CHECK_GATEWAY_REACHABLE, false, 0, "default gateway "
		    "%s on %s does not answer (no reply to ping within %d ms, "
		    "%s)", c->gw, c->gw_if, t, ping_kind(c->ping));
		ping_close(c->ping);
	}
	for (i = 0; i < CHECK_COUNT; i++)
		if (!c->cur[i].done)
			complete(c, (enum check_id)i, false, 0, "%s", why);
}

static void
on_run_timer(uv_timer_t *t)
{
	struct checks *c = t->data;

	if (!c->running)
		return;
	if (c->pending > 0) {
		log_debug("checks: run timed out after %d ms",
		    c->cfg->checks_timeout_ms);
		on_timeout(c);
		uv_timer_stop(&c->run_timer);
	}
	finish_run(c);
}

static bool
results_differ(const struct checks *c)
{
	int i;

	if (!c->have_cache)
		return true;
	for (i = 0; i < CHECK_COUNT; i++) {
		const struct result *a = &c->cur[i], *b = &c->cache[i];

		if (a->ok != b->ok || a->stable_len != b->stable_len ||
		    memcmp(a->detail, b->detail, a->stable_len) != 0)
			return true;
	}
	return false;
}

static void
unlink_waiter(struct checks_waiter *w)
{
	*w->pprev = w->next;
	if (w->next != NULL)
		w->next->pprev = w->pprev;
	w->next = NULL;
	w->pprev = NULL;
}

static void
finish_run(struct checks *c)
{
	bool changed = results_differ(c);

	uv_timer_stop(&c->run_timer);
	memcpy(c->cache, c->cur, sizeof(c->cache));
	c->have_cache = true;
	c->cache_at = util_now_ms();
	c->running = false;
	json_decref(c->json);
	c->json = NULL;
	c->dns_mine = false;
	log_debug("checks: run done in %" PRId64 " ms%s", elapsed_ms(c),
	    changed ? ", results changed" : "");
	/* Waiters of this run move aside: those a callback adds join a new
	 * run, those a callback cancels leave this list. */
	c->firing = c->waiters;
	if (c->firing != NULL)
		c->firing->pprev = &c->firing;
	c->waiters = NULL;
	if (changed && c->on_change != NULL)
		c->on_change(c->arg);
	while (!c->freeing && c->firing != NULL) {
		struct checks_waiter *w = c->firing;
		checks_done_fn fn = w->done;
		void *arg = w->arg;

		unlink_waiter(w);
		free(w);
		if (fn != NULL)
			fn(arg);
	}
}

static void
start_run(struct checks *c)
{
	c->running = true;
	json_decref(c->json);
	c->json = NULL;
	c->gen++;
	c->start = uv_now(c->loop);
	memset(c->cur, 0, sizeof(c->cur));
	c->pending = CHECK_COUNT;
	c->http_waiting = false;
	log_debug("checks: run started");
	/* One run-level bound for all; completions may shorten it to 0. */
	uv_timer_start(&c->run_timer, on_run_timer,
	    (uint64_t)c->cfg->checks_timeout_ms, 0);
	parse_url(c);
	check_gateway_assigned(c);
	check_gateway_reachable(c);
	check_dns_server(c);
	check_dns_resolution(c);
	check_cloud(c);
}

/* ---- public API ---------------------------------------------------------- */

struct checks *
checks_new(uv_loop_t *loop, const struct config *cfg,
    checks_change_fn on_change, void *arg)
{
	static bool curl_ready;
	struct checks *c;

	if (!curl_ready) {
		/* Once per process, before any other thread exists. */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			errno = ENOMEM;
			return NULL;
		}
		curl_ready = true;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->loop = loop;
	c->cfg = cfg;
	c->on_change = on_change;
	c->arg = arg;
	if ((c->multi = curl_multi_init()) == NULL) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	(void)curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION,
	    on_curl_socket);
	(void)curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	(void)curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION,
	    on_curl_timer_set);
	(void)curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	uv_timer_init(loop, &c->run_timer);
	uv_timer_init(loop, &c->curl_timer);
	c->run_timer.data = c->curl_timer.data = c;
	c->open_handles = 2;
	return c;
}

void
checks_free(struct checks *c)
{
	if (c == NULL || c->freeing)
		return;
	c->freeing = true;
	while (c->waiters != NULL) {
		struct checks_waiter *w = c->waiters;

		unlink_waiter(w);
		free(w);
	}
	while (c->firing != NULL) {
		struct checks_waiter *w = c->firing;

		unlink_waiter(w);
		free(w);
	}
	drop_easy(c);
	/* Our polls go first, while curl's sockets are still open. */
	while (c->socks != NULL)
		csock_close(c, c->socks);
	(void)curl_multi_cleanup(c->multi);
	c->multi = NULL;
	if (c->ping != NULL)
		ping_close(c->ping);
	while (c->lookups != NULL) {
		struct dns_req *d = c->lookups;

		c->lookups = d->next;
		d->c = NULL;
		(void)uv_cancel((uv_req_t *)&d->req);
	}
	c->dns = NULL;
	c->nlookups = 0;
	c->running = false;
	json_decref(c->json);
	c->json = NULL;
	uv_close((uv_handle_t *)&c->run_timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->curl_timer, on_handle_closed);
}

struct checks_waiter *
checks_run(struct checks *c, checks_done_fn done, void *arg)
{
	struct checks_waiter *w, **pp;

	if (c->freeing) {
		errno = EINVAL;
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->c = c;
	w->done = done;
	w->arg = arg;
	for (pp = &c->waiters; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = w;
	w->pprev = pp;
	if (!c->running)
		start_run(c);
	return w;
}

void
checks_waiter_cancel(struct checks_waiter *w)
{
	if (w == NULL)
		return;
	if (w->pprev != NULL)
		unlink_waiter(w);
	free(w);
}

bool
checks_running(const struct checks *c)
{
	return c->running;
}

bool
checks_all_ok(const struct checks *c, const char **name, const char **detail)
{
	int i;

	if (!c->have_cache) {
		if (name != NULL)
			*name = "checks";
		if (detail != NULL)
			*detail = "not run yet";
		return false;
	}
	for (i = 0; i < CHECK_COUNT; i++) {
		if (c->cache[i].ok)
			continue;
		if (name != NULL)
			*name = names[i];
		if (detail != NULL)
			*detail = c->cache[i].detail;
		return false;
	}
	if (name != NULL)
		*name = NULL;
	if (detail != NULL)
		*detail = NULL;
	return true;
}

static json_t *
time_or_null(int64_t ms)
{
	char buf[UTIL_TIME_LEN];

	return ms > 0 ? json_string(util_time_fmt(buf, ms, false)) :
	    json_null();
}

int64_t
checks_age_ms(const struct checks *c)
{
	return c->have_cache ? util_now_ms() - c->cache_at : -1;
}

json_t *
checks_json(struct checks *c)
{
	json_t *root, *items;
	int i;

	/* status answers tens of thousands of times a second: build once. */
	if (c->json != NULL)
		return json_incref(c->json);
	root = json_object();
	items = json_array();
	if (root == NULL || items == NULL ||
	    json_object_set_new(root, "ok", json_boolean(checks_all_ok(c,
	    NULL, NULL))) < 0 ||
	    json_object_set_new(root, "checked_at", time_or_null(
	    c->have_cache ? c->cache_at : 0)) < 0 ||
	    json_object_set_new(root, "running", json_boolean(c->running)) < 0)
		goto fail;
	for (i = 0; i < CHECK_COUNT; i++) {
		const struct result *r = &c->cache[i];
		json_t *it;

		it = json_pack("{s:s, s:i, s:b, s:s, s:I, s:o}", "name",
		    names[i], "group", checks_group((enum check_id)i), "ok",
		    c->have_cache && r->ok, "detail", c->have_cache ?
		    r->detail : "not checked yet", "ms",
		    (json_int_t)(c->have_cache ? r->ms : 0), "checked_at",
		    time_or_null(c->have_cache ? r->at_ms : 0));
		if (it == NULL || json_array_append_new(items, it) < 0)
			goto fail;
	}
	if (json_object_set_new(root, "items", items) < 0) {
		items = NULL;
		goto fail;
	}
	c->json = json_incref(root);
	return root;
fail:
	json_decref(items);
	json_decref(root);
	return NULL;
}
