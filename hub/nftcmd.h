/* SPDX-License-Identifier: MIT */
/*
 * nftables command text for the hub's table: the whole table (replaced
 * atomically), the element changes from one ruleset to the next, and the
 * table's removal. Pure: text in, text out, nothing run. Every value put
 * into the text is either checked here (table and interface names) or
 * printed from binary (addresses, timeouts); no CN ever appears in it.
 */
#ifndef SUPPORTVPN_HUB_NFTCMD_H
#define SUPPORTVPN_HUB_NFTCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ruleset;

#define NFTCMD_NAME_MAX		32	/* table names */
#define NFTCMD_IFACE_MAX	15	/* IFNAMSIZ - 1 */
#define NFTCMD_IFACES_MAX	64

/* The table's name and the tun interfaces whose traffic it filters. */
struct nftcmd_table {
	const char		*name;
	const char *const	*ifaces;	/* "tun0", or "tun*" */
	size_t			 nifaces;
};

/* A letter, then letters, digits or '_', at most NFTCMD_NAME_MAX. */
bool	nftcmd_name_valid(const char *name);
/* Letters, digits, '_', '-', '.', at most 15, or such a prefix and '*'. */
bool	nftcmd_iface_valid(const char *iface);

/*
 * The commands that replace the table, in one transaction, by one
 * holding rs; grant elements get a timeout of their time left at now_ms
 * (those already expired are left out). New string, or NULL + errno
 * (EINVAL: a name or interface is not valid).
 */
char	*nftcmd_replace(const struct nftcmd_table *t, const struct ruleset *rs,
	    int64_t now_ms);
/*
 * The element deletions and additions that turn from into to (a grant
 * element whose expiry changed is deleted and added again). "" when
 * nothing changes. New string, or NULL + errno.
 */
char	*nftcmd_diff(const struct nftcmd_table *t, const struct ruleset *from,
	    const struct ruleset *to, int64_t now_ms);
/* The command that deletes the table. New string, or NULL + errno. */
char	*nftcmd_delete(const struct nftcmd_table *t);

#endif
