/* SPDX-License-Identifier: MIT */
/*
 * Who is connected to the hub's openvpn servers: the connections
 * (client_connect .. client_disconnect) and the tunnel addresses each
 * client holds (learn_address), per openvpn process. The addresses are
 * what the nftables sets follow; the connections are for the status.
 */
#ifndef SUPPORTVPN_HUB_SESSIONS_H
#define SUPPORTVPN_HUB_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct datagram;
struct rs_addr;
struct sessions;

/* How many ended connections the status keeps. */
#define SESSIONS_RECENT		32

/* NULL + errno. */
struct sessions *sessions_new(void);
void	sessions_free(struct sessions *s);

/*
 * Applies one decoded event sent by the openvpn process pid (as the
 * kernel vouches for it) at now_ms, and logs it. Returns whether the
 * addresses changed (the ruleset must follow); -ENOMEM on failure.
 */
int	sessions_apply(struct sessions *s, const struct datagram *d, pid_t pid,
	    int64_t now_ms);
/*
 * Forgets every connection and address of an openvpn process that is
 * gone. Returns whether addresses changed.
 */
bool	sessions_drop_pid(struct sessions *s, pid_t pid);
/* The distinct openvpn pids known, at most max of them, into pids. */
size_t	sessions_pids(const struct sessions *s, pid_t *pids, size_t max);

/*
 * The addresses for ruleset_compute: *out is a new array (free it) whose
 * cn pointers are borrowed until the next change. Count, or -ENOMEM.
 */
ssize_t	sessions_addrs(const struct sessions *s, struct rs_addr **out);

/*
 * The status: {"identities": [...], "recent": [...]} (see README, "The
 * hub"). New reference, NULL on allocation failure.
 */
json_t	*sessions_status(const struct sessions *s, int64_t now_ms);

/*
 * The state that survives a restart of the daemon (openvpn does not
 * repeat learn_address for clients already connected): a new JSON
 * object, or NULL. sessions_restore takes such an object back, skipping
 * anything malformed; 0 or -ENOMEM.
 */
json_t	*sessions_save(const struct sessions *s);
int	sessions_restore(struct sessions *s, json_t *state);

#endif
