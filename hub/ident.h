/* SPDX-License-Identifier: MIT */
/*
 * Who is who on the hub: the certificate common names (CNs) the plugin
 * reports and the grants name, and the two roles a client can have.
 */
#ifndef SUPPORTVPN_HUB_IDENT_H
#define SUPPORTVPN_HUB_IDENT_H

#include <stdbool.h>
#include <stddef.h>

/* A CN: 1..64 printable ASCII characters, no spaces. */
#define IDENT_CN_MAX	64

enum ident_role {
	IDENT_ROLE_NONE = 0,
	IDENT_ROLE_APPLIANCE,
	IDENT_ROLE_STAFF,
};

/* Whether s is a CN the hub accepts (see IDENT_CN_MAX). */
bool	ident_cn_valid(const char *s);
/* "appliance" or "staff"; IDENT_ROLE_NONE for anything else. */
enum ident_role ident_role_parse(const char *s);
/* The role's name (static), "none" for IDENT_ROLE_NONE. */
const char *ident_role_name(enum ident_role role);
/* Whether s is 1..max printable ASCII characters (spaces allowed). */
bool	ident_text_valid(const char *s, size_t max);

#endif
