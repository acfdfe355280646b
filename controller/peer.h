/* SPDX-License-Identifier: MIT */
/*
 * Who is on the other end of a loopback TCP connection: the uid that owns
 * the peer's socket, from the kernel's socket table in /proc/net/tcp{,6}
 * (the API records who started a support session; TCP has no
 * SO_PEERCRED).
 */
#ifndef SUPPORTVPN_PEER_H
#define SUPPORTVPN_PEER_H

#include <sys/socket.h>
#include <sys/types.h>

/*
 * peer and local are the two ends as this side sees them (getpeername,
 * getsockname). 0 with *uid set, -ENOENT when the peer's socket is not in
 * this network namespace's table (not local, or already gone), -errno.
 */
int	peer_tcp_uid(const struct sockaddr *peer, const struct sockaddr *local,
	    uid_t *uid);
/* The same against given table files (tests). */
int	peer_tcp_uid_in(const char *tcp4, const char *tcp6,
	    const struct sockaddr *peer, const struct sockaddr *local,
	    uid_t *uid);

#endif
