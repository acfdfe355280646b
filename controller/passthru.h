/* SPDX-License-Identifier: MIT */
/*
 * The operators' read-only pass-through (run_dir/management.sock, 0600):
 * speaks openvpn's own management protocol to several clients at once and
 * forwards only the commands that read (rocmd.h) to the one real link.
 */
#ifndef SUPPORTVPN_PASSTHRU_H
#define SUPPORTVPN_PASSTHRU_H

#include <uv.h>

struct passthru;
struct vpn;

#define PASSTHRU_MAX_CLIENTS	16
#define PASSTHRU_MAX_LINE	1024	/* what openvpn itself accepts */

/* path and vpn are borrowed. NULL + errno. */
struct passthru *passthru_new(uv_loop_t *loop, const char *path,
    struct vpn *vpn);
/* Creates the socket (replacing a stale one) with mode 0600. 0 or UV_E*. */
int	passthru_listen(struct passthru *p);
/* Closes everything and removes the socket file. NULL-safe. */
void	passthru_free(struct passthru *p);

#endif
