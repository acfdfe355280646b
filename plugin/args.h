/* SPDX-License-Identifier: MIT */
/*
 * The plugin's arguments, key=value words after the plugin path on
 * openvpn's --plugin line, each at most once. mode=client (the default,
 * on an appliance) needs events=, consent= and policy=; mode=hub (on the
 * vendor's openvpn server) needs events= and policy= and refuses consent=.
 */
#ifndef SUPPORTVPN_PLUGIN_ARGS_H
#define SUPPORTVPN_PLUGIN_ARGS_H

#include <stddef.h>

#define ARGS_USAGE	"[mode=client] events=PATH consent=PATH policy=PATH, " \
			"or mode=hub events=PATH policy=PATH"

enum args_mode {
	ARGS_MODE_CLIENT = 0,	/* an appliance's openvpn client */
	ARGS_MODE_HUB,		/* the vendor's openvpn server */
};

struct args {
	enum args_mode	 mode;
	char		*mode_text;	/* as given, NULL when left out */
	char		*events;	/* the controller's datagram socket */
	char		*consent;	/* client: the owner-consent record */
	char		*policy;	/* the certificate policy */
};

/*
 * Parses argv (argv[0] is the plugin path, NULL-ended); the values are
 * copied into a (free with args_deinit). 0, or -1 with why naming every
 * unknown, repeated, malformed, missing and (for the mode) refused
 * argument (a is then empty).
 */
int	args_parse(const char *const *argv, struct args *a, char *why,
	    size_t whylen);
/* Frees the copies. Safe on a zeroed or already deinit'ed struct. */
void	args_deinit(struct args *a);

#endif
