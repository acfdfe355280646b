/* SPDX-License-Identifier: MIT */
/*
 * The hub's nftables table through libnftables: created (or replaced)
 * at start, kept in step with the computed ruleset by element changes,
 * replaced whole when a change does not apply, deleted (or left closed)
 * at exit. Nothing outside the table is touched.
 */
#ifndef SUPPORTVPN_HUB_NFT_H
#define SUPPORTVPN_HUB_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nft;
struct ruleset;

/*
 * table and ifaces are copied (checked by nftcmd_*_valid). NULL + errno
 * (EINVAL for a bad name, ENOMEM).
 */
struct nft *nft_new(const char *table, const char *const *ifaces,
	    size_t nifaces);
void	nft_free(struct nft *n);

/*
 * Replaces the table atomically by one holding rs at now_ms. 0, or -1
 * with nft_error() saying why.
 */
int	nft_replace(struct nft *n, const struct ruleset *rs, int64_t now_ms);
/*
 * Brings the table to rs: the element changes from what was installed,
 * or, when they fail (an element the kernel already expired) or nothing
 * is installed yet, a whole replacement. *replaced says which; after a
 * replacement nft_error() says why the changes were not used. 0, or -1
 * with nft_error().
 */
int	nft_sync(struct nft *n, const struct ruleset *rs, int64_t now_ms,
	    bool *replaced);
/* Deletes the table. 0, or -1 with nft_error(). */
int	nft_delete(struct nft *n);
/* The last failure: nft's own message, one line (borrowed, until the
 * next call). */
const char *nft_error(const struct nft *n);
/* The ruleset installed last (borrowed), NULL if none. */
const struct ruleset *nft_installed(const struct nft *n);

#endif
