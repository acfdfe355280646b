/* SPDX-License-Identifier: MIT */
/*
 * "Did this address come through the tunnel?": which interface the
 * kernel's routing table of our network namespace would use to reach an
 * address, read from /proc (no netlink, no shell).
 */
#ifndef SUPPORTVPN_NETROUTE_H
#define SUPPORTVPN_NETROUTE_H

#include <stddef.h>

#define NETROUTE_PROC_ROUTE4	"/proc/net/route"
#define NETROUTE_PROC_ROUTE6	"/proc/net/ipv6_route"

/*
 * Writes into dev (devlen bytes) the name of the interface the kernel's
 * main table would send a packet to addr through: longest prefix match,
 * then the lower metric, then the first listed. Routes not up (no RTF_UP)
 * are skipped. A reject route (unreachable, prohibit, blackhole: RTF_REJECT
 * or no device) still takes part in the match, as in the kernel: when it
 * is the best match there is no interface.
 *
 * addr is numeric IPv4 or IPv6 (inet_pton; no brackets, no "%zone").
 * An IPv4-mapped IPv6 address (::ffff:10.8.0.6, what a dual-stack socket
 * reports) is looked up in the IPv4 table, as the kernel would route it.
 *
 * IPv4 comes from the main table (/proc/net/route shows only that one).
 * /proc/net/ipv6_route shows every table: its local-table entries (the
 * host's own addresses: RTF_LOCAL, RTF_ANYCAST), cached clones (RTF_CACHE)
 * and source-specific routes are skipped. Policy routing rules are not
 * read. So an address of this host gets the interface of its subnet;
 * a caller that must tell local peers apart has to check that itself.
 *
 * 0; -EINVAL when addr does not parse; -ENETUNREACH when no route
 * matches, a reject route wins, or the table's file does not exist (IPv6
 * disabled); -EBADMSG for a line of the table that does not parse;
 * -ENAMETOOLONG when devlen is too small; other -errno from reading.
 * All arguments borrowed; thread-safe.
 */
int	netroute_dev_for(const char *addr, char *dev, size_t devlen);

/* The same, with the tables read from route4 and route6 (for tests). */
int	netroute_dev_for_in(const char *route4, const char *route6,
	    const char *addr, char *dev, size_t devlen);

#endif
