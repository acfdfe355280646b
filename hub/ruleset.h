/* SPDX-License-Identifier: MIT */
/*
 * What the nftables table must hold, computed from who is connected and
 * which grants are active: the appliance and staff addresses, and one
 * grant element (staff address . appliance address, expiry) for each
 * active grant x the staff CN's addresses x the appliance CN's addresses.
 * Pure: no I/O, no clock (now is an argument).
 */
#ifndef SUPPORTVPN_HUB_RULESET_H
#define SUPPORTVPN_HUB_RULESET_H

#include <stddef.h>
#include <stdint.h>

#include "ident.h"

struct grant;

/* An address a client holds (learn_address). addr in host byte order;
 * cn is borrowed for the call. */
struct rs_addr {
	uint32_t	 addr;
	const char	*cn;
	enum ident_role	 role;
};

struct rs_elem {
	uint32_t	 staff;		/* host byte order */
	uint32_t	 appliance;
	int64_t		 expires_ms;	/* wall clock */
};

/* Sorted, without duplicates. */
struct ruleset {
	uint32_t	*appliances;
	size_t		 nappliances;
	uint32_t	*staff;
	size_t		 nstaff;
	struct rs_elem	*grants;	/* by (staff, appliance) */
	size_t		 ngrants;
};

/*
 * Computes the ruleset for addrs and grants at now_ms; grants expired at
 * now_ms contribute nothing. When counts is not NULL it gets, per grant,
 * how many elements it yields (0: not effective). 0 with *out filled
 * (new: ruleset_deinit), or -ENOMEM with *out empty.
 */
int	ruleset_compute(const struct rs_addr *addrs, size_t naddrs,
	    const struct grant *grants, size_t ngrants, int64_t now_ms,
	    struct ruleset *out, size_t *counts);
/* Deep copy. 0 or -ENOMEM (dst empty). */
int	ruleset_copy(struct ruleset *dst, const struct ruleset *src);
void	ruleset_deinit(struct ruleset *rs);
/* The earliest expiry among rs's grant elements, or INT64_MAX. */
int64_t	ruleset_next_expiry(const struct ruleset *rs);

#endif
