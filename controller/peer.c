/* SPDX-License-Identifier: MIT */
/* The owner of a local TCP peer's socket, from /proc/net/tcp{,6}. */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

#define TCP_STATE_ESTABLISHED	0x01	/* the kernel's TCP_ESTABLISHED */

/*
 * An end as the table prints it: the address as the kernel's u32 words in
 * memory order (%08X each), ':' and the port (%04X, host order).
 */
static int
format_end(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)
	    (const void *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)
	    (const void *)sa;
	unsigned w[4];

	if (sa->sa_family == AF_INET) {
		snprintf(buf, len, "%08X:%04X", (unsigned)s4->sin_addr.s_addr,
		    (unsigned)ntohs(s4->sin_port));
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(w, &s6->sin6_addr, sizeof(w));
		snprintf(buf, len, "%08X%08X%08X%08X:%04X", w[0], w[1], w[2],
		    w[3], (unsigned)ntohs(s6->sin6_port));
		return 0;
	}
	return -EAFNOSUPPORT;
}

/*
 * Lines: "sl local rem st queues timer retr uid timeout inode ...". Only a
 * live, established socket counts: once the peer closed, its end lingers
 * as TIME_WAIT owned by uid 0 with inode 0, and would make anyone root.
 */
static int
scan(const char *path, const char *want_local, const char *want_rem,
    uid_t *uid)
{
	char line[512], local[64], rem[64];
	unsigned long u, inode;
	unsigned st;
	FILE *fp;
	int rc = -ENOENT;

	if ((fp = fopen(path, "re")) == NULL)
		return errno == ENOENT ? -ENOENT : -errno;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, " %*s %63s %63s %x %*s %*s %*s %lu %*s %lu",
		    local, rem, &st, &u, &inode) != 5)
			continue;
		if (st == TCP_STATE_ESTABLISHED && inode != 0 &&
		    strcmp(local, want_local) == 0 &&
		    strcmp(rem, want_rem) == 0) {
			*uid = (uid_t)u;
			rc = 0;
			break;
		}
	}
	fclose(fp);
	return rc;
}

int
peer_tcp_uid_in(const char *tcp4, const char *tcp6,
    const struct sockaddr *peer, const struct sockaddr *local, uid_t *uid)
{
	char p[64], l[64];
	int rc;

	if ((rc = format_end(peer, p, sizeof(p))) < 0 ||
	    (rc = format_end(local, l, sizeof(l))) < 0)
		return rc;
	/* The peer's socket: its local end is our peer, its remote us. */
	return scan(peer->sa_family == AF_INET ? tcp4 : tcp6, p, l, uid);
}

int
peer_tcp_uid(const struct sockaddr *peer, const struct sockaddr *local,
    uid_t *uid)
{
	return peer_tcp_uid_in("/proc/net/tcp", "/proc/net/tcp6", peer, local,
	    uid);
}
