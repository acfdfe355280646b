/* SPDX-License-Identifier: MIT */
/*
 * The prerequisite checks of the owner's page (DESIGN.md §1, §6): all run
 * at once on the loop, each bounded by checks.timeout_ms, the whole set
 * ending within that bound. Results are cached with their time; readers
 * get the cache at once, never wait for the network.
 */
#ifndef SUPPORTVPN_CHECKS_H
#define SUPPORTVPN_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct config;
struct checks;
struct checks_waiter;

/* In the manual's order; the first two are its first group of lights. */
enum check_id {
	CHECK_GATEWAY_ASSIGNED,
	CHECK_GATEWAY_REACHABLE,
	CHECK_PUBLIC_IP,
	CHECK_DNS_SERVER,
	CHECK_DNS_RESOLUTION,
	CHECK_CLOUD_REACHABLE,
	CHECK_CLOCK,
	CHECK_COUNT,
};

/* "gateway_assigned", ... (the names promised in DESIGN.md §3). */
const char *checks_name(enum check_id id);
/* 1 for the gateway group, 2 for the internet group (the manual's two). */
int	checks_group(enum check_id id);

/*
 * Environment hook for tests only: SUPPORTVPND_CLOCK_OFFSET_S (an integer)
 * is added to the wall clock as the clock check sees it, so a wrong clock
 * can be shown without touching the host's.
 */
#define CHECKS_CLOCK_OFFSET_ENV	"SUPPORTVPND_CLOCK_OFFSET_S"

/*
 * Called after every run that changed any result (ok or detail), with the
 * cache already updated. May be NULL.
 */
typedef void (*checks_change_fn)(void *arg);
/* A run this waiter joined has ended. Never called from checks_run. */
typedef void (*checks_done_fn)(void *arg);

/* cfg is borrowed and must outlive it. NULL + errno. */
struct checks *checks_new(uv_loop_t *loop, const struct config *cfg,
    checks_change_fn on_change, void *arg);
/* Abandons a run in progress (waiters are not called); frees once libuv
 * is done with its handles. NULL-safe. */
void	checks_free(struct checks *c);

/*
 * Starts a run, or joins the one in progress (concurrent refreshes are
 * coalesced into one run). done (may be NULL) is called when it ends.
 * Returns a handle to cancel the callback, or NULL on ENOMEM.
 */
struct checks_waiter *checks_run(struct checks *c, checks_done_fn done,
    void *arg);
/* done of w will not be called; w is invalid afterwards. */
void	checks_waiter_cancel(struct checks_waiter *w);
bool	checks_running(const struct checks *c);

/*
 * From the cache: true when a run has completed and every check passed.
 * Otherwise false, with *name and *detail (borrowed, may be NULL) naming
 * the first failing check in the manual's order (or "checks", "not run
 * yet").
 */
bool	checks_all_ok(const struct checks *c, const char **name,
	    const char **detail);

/* How old the cached results are, in ms; -1 before the first run. */
int64_t	checks_age_ms(const struct checks *c);

/*
 * The cache as the API shows it (a reference the caller owns, NULL on
 * ENOMEM; shared with later calls until the cache changes, so callers must
 * not modify it):
 * {"ok": bool, "checked_at": "<RFC 3339>" | null, "running": bool,
 *  "items": [{"name", "group", "ok", "detail", "ms", "checked_at"}, ...]}
 * Before the first run every item has ok false and detail "not checked yet".
 */
json_t	*checks_json(struct checks *c);

/* ---- pure helpers, for the checks and for tests --------------------- */

/*
 * Default IPv4 route from the text of /proc/net/route: interface and
 * gateway (dotted quad) of the entry with destination 0 and mask 0 and the
 * lowest metric. 0, or -ENOENT when there is none, -EINVAL on bad input.
 */
int	checks_parse_route(const char *text, char *ifname, size_t iflen,
	    char *gateway, size_t gwlen);
/* Same for /proc/net/ipv6_route (::/0); gateway in canonical text form. */
int	checks_parse_route6(const char *text, char *ifname, size_t iflen,
	    char *gateway, size_t gwlen);
/* First "nameserver ADDR" of a resolv.conf text. 0 or -ENOENT. */
int	checks_parse_resolv(const char *text, char *addr, size_t len);
/*
 * The vendor cloud's answer: a bare address (surrounding white space
 * allowed) or a JSON object with an "ip" string. Canonical text in addr.
 * 0, or -EINVAL with why filled.
 */
int	checks_parse_cloud_body(const char *body, size_t len, char *addr,
	    size_t addrlen, char *why, size_t whylen);

enum checks_addr_class {
	CHECKS_ADDR_PUBLIC,	/* global unicast; the documentation ranges
				   count here (test networks use them) */
	CHECKS_ADDR_PRIVATE,	/* RFC 1918, fc00::/7 */
	CHECKS_ADDR_SHARED,	/* 100.64.0.0/10, carrier-grade NAT */
	CHECKS_ADDR_SPECIAL,	/* loopback, link-local, unspecified,
				   multicast, broadcast */
};
/* Classifies a textual IPv4/IPv6 address; -1 if it is not one. */
int	checks_addr_class(const char *addr);
/* An HTTP Date header value (IMF-fixdate) as seconds since the epoch; -1
 * if it does not parse. */
int64_t	checks_parse_http_date(const char *value);

#endif
