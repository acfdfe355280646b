/* SPDX-License-Identifier: MIT */
/*
 * The hub daemon's core: it owns the sessions, the last good grants, the
 * nftables table and the sockets, and keeps the table in step with them:
 * after each batch of plugin events, each grants reload, each expiry and
 * when an openvpn process is gone.
 */
#ifndef SUPPORTVPN_HUB_HUB_H
#define SUPPORTVPN_HUB_HUB_H

#include <uv.h>

struct hub;
struct hubconf;

/* cfg is borrowed and must outlive the hub. NULL + errno. */
struct hub *hub_new(uv_loop_t *loop, const struct hubconf *cfg);
/*
 * Restores the saved state, loads the grants, creates the table, binds
 * the sockets, starts the watchers and timers. 0, or -errno / UV_E*
 * (logged); on failure call hub_stop.
 */
int	hub_start(struct hub *h);
/* Re-reads the grants file now (SIGHUP). */
void	hub_reload(struct hub *h, const char *why);
/*
 * Deletes the table (or leaves it closed, nft_on_exit "close"), saves
 * the state, closes every handle; the memory goes once libuv has closed
 * them. NULL-safe.
 */
void	hub_stop(struct hub *h);

#endif
