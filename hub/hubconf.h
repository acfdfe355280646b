/* SPDX-License-Identifier: MIT */
/*
 * The hub daemon's configuration: one JSON file turned into a plain
 * struct. Every key has a default; unknown keys and wrong types are
 * errors naming the key.
 */
#ifndef SUPPORTVPN_HUB_HUBCONF_H
#define SUPPORTVPN_HUB_HUBCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HUBCONF_DEFAULT_PATH	"/etc/supportvpn-hub/supportvpn-hubd.json"
#define HUBCONF_UIDS_MAX	64

struct hubconf {
	char	*events;		/* the plugins' datagram socket */
	unsigned events_mode;		/* its file mode */
	char	*status_socket;		/* the CLI's stream socket, 0600 */
	char	*grants_file;
	char	*state_file;		/* survives restarts; "" = none */
	char	*nft_table;
	bool	 nft_keep_closed;	/* at exit: leave the table, emptied */
	char	**tun_ifaces;
	size_t	 ntun_ifaces;
	uid_t	 allowed_uids[HUBCONF_UIDS_MAX];
	size_t	 nallowed_uids;
	char	*log_file;		/* "" = stderr only */
	int	 log_level;		/* enum log_level */
};

struct hubconf_error {
	char	key[64];		/* "" for the file itself */
	char	text[384];		/* the whole message */
};

/* Fills cfg with every default. 0 or -ENOMEM. */
int	hubconf_defaults(struct hubconf *cfg);
/*
 * Loads path over the defaults. 0, or -1 with err filled (naming the file
 * and key); cfg is freed on failure. New: hubconf_deinit.
 */
int	hubconf_load(struct hubconf *cfg, const char *path,
	    struct hubconf_error *err);
/* The same from a string (tests); name is used in messages. */
int	hubconf_load_string(struct hubconf *cfg, const char *json,
	    const char *name, struct hubconf_error *err);
void	hubconf_deinit(struct hubconf *cfg);

#endif
