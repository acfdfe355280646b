/* SPDX-License-Identifier: MIT */
/*
 * CN and role checks shared by the datagram decoder, the grants file and
 * the CLI, so a name the CLI accepts is one the daemon accepts.
 */
#include <string.h>

#include "ident.h"

bool
ident_text_valid(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return i > 0;
}

bool
ident_cn_valid(const char *s)
{
	return ident_text_valid(s, IDENT_CN_MAX) && strchr(s, ' ') == NULL;
}

enum ident_role
ident_role_parse(const char *s)
{
	if (strcmp(s, "appliance") == 0)
		return IDENT_ROLE_APPLIANCE;
	if (strcmp(s, "staff") == 0)
		return IDENT_ROLE_STAFF;
	return IDENT_ROLE_NONE;
}

const char *
ident_role_name(enum ident_role role)
{
	switch (role) {
	case IDENT_ROLE_APPLIANCE:
		return "appliance";
	case IDENT_ROLE_STAFF:
		return "staff";
	case IDENT_ROLE_NONE:
		break;
	}
	return "none";
}
