/* SPDX-License-Identifier: MIT */
/*
 * The plugin's arguments: "events=PATH consent=PATH policy=PATH" after the
 * plugin path on openvpn's --plugin line, each exactly once.
 */
#ifndef SUPPORTVPN_PLUGIN_ARGS_H
#define SUPPORTVPN_PLUGIN_ARGS_H

#include <stddef.h>

#define ARGS_USAGE	"events=PATH consent=PATH policy=PATH"

struct args {
	char	*events;	/* the controller's datagram socket */
	char	*consent;	/* the owner-consent record */
	char	*policy;	/* the hub-certificate policy */
};

/*
 * Parses argv (argv[0] is the plugin path, NULL-ended); the values are
 * copied into a (free with args_deinit). 0, or -1 with why naming every
 * unknown, repeated, malformed and missing argument (a is then empty).
 */
int	args_parse(const char *const *argv, struct args *a, char *why,
	    size_t whylen);
/* Frees the copies. Safe on a zeroed or already deinit'ed struct. */
void	args_deinit(struct args *a);

#endif
