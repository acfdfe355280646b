/* SPDX-License-Identifier: MIT */
/*
 * The hub's event socket: a unix datagram socket the plugins of the hub's
 * openvpn servers send to. The kernel attaches each sender's credentials
 * (SO_PASSCRED); only the configured uids are heard, and every datagram
 * is decoded and checked before it reaches the owner.
 */
#ifndef SUPPORTVPN_HUB_EVSOCK_H
#define SUPPORTVPN_HUB_EVSOCK_H

#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

struct datagram;
struct evsock;

/* A checked event (borrowed for the call) from process pid. */
typedef void (*evsock_fn)(const struct datagram *d, pid_t pid, void *arg);
/* Called after each batch of datagrams read in one wake-up. */
typedef void (*evsock_batch_fn)(void *arg);

/*
 * path and uids are copied; mode is the socket file's. NULL + errno.
 */
struct evsock *evsock_new(uv_loop_t *loop, const char *path, unsigned mode,
	    const uid_t *uids, size_t nuids, evsock_fn fn,
	    evsock_batch_fn batch, void *arg);
/* Binds (replacing a stale socket) and starts reading. 0 or -errno. */
int	evsock_listen(struct evsock *e);
/* Closes and unlinks; the memory goes in the close callback. NULL-safe. */
void	evsock_free(struct evsock *e);

#endif
