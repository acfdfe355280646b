/* SPDX-License-Identifier: MIT */
/*
 * Constants shared by supportvpnd, supportvpnctl and the plugin: version,
 * defaults promised in DESIGN.md §3, and protocol limits.
 */
#ifndef SUPPORTVPN_H
#define SUPPORTVPN_H

#define SUPPORTVPN_VERSION		"0.1.0"

#define SUPPORTVPN_API_DEFAULT_HOST	"127.0.0.1"
#define SUPPORTVPN_API_DEFAULT_PORT	7515
#define SUPPORTVPN_HTTP_DEFAULT_PORT	7516
/* One JSON object per line, in both directions, at most this long. */
#define SUPPORTVPN_API_MAX_LINE		(64 * 1024)

#endif
