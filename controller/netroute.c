/* SPDX-License-Identifier: MIT */
/*
 * Route lookup from /proc/net/route and /proc/net/ipv6_route: longest
 * prefix match over the kernel's own listing, for "which interface would
 * the answer to this address leave through".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netroute.h"
#include "util.h"

/* Route flags as the kernel prints them (include/uapi/linux/route.h and
 * ipv6_route.h); <net/route.h> needs more than POSIX to compile. */
#define NR_RTF_UP	0x00000001u
#define NR_RTF_REJECT	0x00000200u
#define NR_RTF_ANYCAST	0x00100000u
#define NR_RTF_CACHE	0x01000000u
#define NR_RTF_LOCAL	0x80000000u

/* Kernel lines are ~150 bytes; anything near this is not a route line. */
#define LINE_MAX_LEN	512
#define MAX_FIELDS	12

struct best {
	bool		found;
	bool		reject;
	int		plen;
	uint32_t	metric;
	char		dev[IF_NAMESIZE];
};

/* Offers a matching route: longer prefix wins, then lower metric. */
static void
consider(struct best *b, int plen, uint32_t metric, bool reject,
    const char *dev)
{
	if (b->found && (plen < b->plen ||
	    (plen == b->plen && metric >= b->metric)))
		return;
	b->found = true;
	b->plen = plen;
	b->metric = metric;
	b->reject = reject;
	/* Fits: the caller checked the length against IF_NAMESIZE. */
	snprintf(b->dev, sizeof(b->dev), "%s", dev);
}

/* 1 to 8 hex digits, nothing else. */
static int
parse_hex32(const char *s, uint32_t *v)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 8)
		return -EBADMSG;
	*v = 0;
	for (i = 0; i < n; i++) {
		int d = util_hexval(s[i]);

		if (d < 0)
			return -EBADMSG;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

/* Exactly 2 * n hex digits into n bytes, most significant first. */
static int
parse_hex_bytes(const char *s, uint8_t *out, size_t n)
{
	size_t i;

	if (strlen(s) != 2 * n)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		int hi = util_hexval(s[2 * i]), lo = util_hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int
parse_dec32(const char *s, uint32_t *v)
{
	unsigned long long n;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EBADMSG;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || n > UINT32_MAX)
		return -EBADMSG;
	*v = (uint32_t)n;
	return 0;
}

/* Splits line at blanks into at most MAX_FIELDS fields; the count. */
static int
split(char *line, char **f)
{
	char *save = NULL, *tok;
	int n = 0;

	for (tok = strtok_r(line, " \t\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\n", &save)) {
		if (n == MAX_FIELDS)
			return -1;
		f[n++] = tok;
	}
	return n;
}

static bool
dev_ok(const char *dev)
{
	return dev[0] != '\0' && strlen(dev) < IF_NAMESIZE;
}

static int
popcount32(uint32_t v)
{
	int n = 0;

	for (; v != 0; v &= v - 1)
		n++;
	return n;
}

/*
 * One line of /proc/net/route: Iface Destination Gateway Flags RefCnt Use
 * Metric Mask MTU Window IRTT. Destination and Mask are the raw network
 * order words printed as host integers, so they compare directly with
 * s_addr. A route without a device ("*") is unreachable/prohibit/blackhole.
 */
static int
line4(char *line, uint32_t a, struct best *b)
{
	char *f[MAX_FIELDS];
	uint32_t dst, flags, metric, mask;

	if (split(line, f) < 8 || !dev_ok(f[0]) ||
	    parse_hex32(f[1], &dst) < 0 || parse_hex32(f[3], &flags) < 0 ||
	    parse_dec32(f[6], &metric) < 0 || parse_hex32(f[7], &mask) < 0)
		return -EBADMSG;
	if ((flags & NR_RTF_UP) == 0 || (a & mask) != (dst & mask))
		return 0;
	consider(b, popcount32(mask), metric,
	    (flags & NR_RTF_REJECT) != 0 || strcmp(f[0], "*") == 0, f[0]);
	return 0;
}

static bool
prefix_match(const uint8_t *a, const uint8_t *p, int plen)
{
	int full = plen / 8, rest = plen % 8;

	if (memcmp(a, p, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ p[full]) & (0xff00 >> rest)) == 0;
}

/*
 * One line of /proc/net/ipv6_route: dst dstlen src srclen nexthop metric
 * refcnt use flags dev, all hex but the device.
 */
static int
line6(char *line, const uint8_t *a, struct best *b)
{
	char *f[MAX_FIELDS];
	uint8_t dst[16], src[16];
	uint32_t plen, srclen, metric, flags;

	if (split(line, f) != 10 || !dev_ok(f[9]) ||
	    parse_hex_bytes(f[0], dst, 16) < 0 ||
	    parse_hex32(f[1], &plen) < 0 || plen > 128 ||
	    parse_hex_bytes(f[2], src, 16) < 0 ||
	    parse_hex32(f[3], &srclen) < 0 || srclen > 128 ||
	    parse_hex32(f[5], &metric) < 0 || parse_hex32(f[8], &flags) < 0)
		return -EBADMSG;
	if ((flags & NR_RTF_UP) == 0 || srclen != 0 ||
	    (flags & (NR_RTF_LOCAL | NR_RTF_ANYCAST | NR_RTF_CACHE)) != 0 ||
	    !prefix_match(a, dst, (int)plen))
		return 0;
	consider(b, (int)plen, metric, (flags & NR_RTF_REJECT) != 0, f[9]);
	return 0;
}

/*
 * Offers every route of the table at path that matches the address (a4
 * for IPv4, a6 for IPv6) to b. A missing table is an empty one:
 * /proc/net/ipv6_route is absent when IPv6 is disabled.
 */
static int
scan(const char *path, bool v4, uint32_t a4, const uint8_t *a6,
    struct best *b)
{
	char line[LINE_MAX_LEN];
	bool first = true;
	FILE *fp;
	int rc = 0;

	if ((fp = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t len = strlen(line);

		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			rc = -EBADMSG;
			break;
		}
		if (v4 && first) {
			first = false;
			if (strncmp(line, "Iface", 5) == 0)
				continue;
		}
		if (strspn(line, " \t\n") == len)
			continue;
		rc = v4 ? line4(line, a4, b) : line6(line, a6, b);
		if (rc < 0)
			break;
	}
	if (rc == 0 && ferror(fp))
		rc = -EIO;
	fclose(fp);
	return rc;
}

int
netroute_dev_for_in(const char *route4, const char *route6, const char *addr,
    char *dev, size_t devlen)
{
	struct in_addr a4;
	struct in6_addr a6;
	struct best b = { 0 };
	int rc;

	if (devlen > 0)
		dev[0] = '\0';
	if (addr == NULL)
		return -EINVAL;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		rc = scan(route4, true, a4.s_addr, NULL, &b);
	else if (inet_pton(AF_INET6, addr, &a6) != 1)
		return -EINVAL;
	else if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4.s_addr, &a6.s6_addr[12], 4);
		rc = scan(route4, true, a4.s_addr, NULL, &b);
	} else
		rc = scan(route6, false, 0, a6.s6_addr, &b);
	if (rc < 0)
		return rc;
	if (!b.found || b.reject)
		return -ENETUNREACH;
	return util_snprintf(dev, devlen, "%s", b.dev);
}

int
netroute_dev_for(const char *addr, char *dev, size_t devlen)
{
	return netroute_dev_for_in(NETROUTE_PROC_ROUTE4, NETROUTE_PROC_ROUTE6,
	    addr, dev, devlen);
}
