/* SPDX-License-Identifier: MIT */
/*
 * Which openvpn management commands operators may run through supportvpnd
 * (the JSON "openvpn" command and the pass-through socket): only those that
 * read. Pure; shared by both front ends.
 */
#ifndef SUPPORTVPN_ROCMD_H
#define SUPPORTVPN_ROCMD_H

#include <stddef.h>

#include "mgmt_proto.h"

/*
 * Checks one command line. On success returns 0, writes the normalised
 * command (single spaces) into norm and the answer kind into e. Otherwise
 * returns -1 with why filled: a sentence for the operator.
 */
int	rocmd_check(const char *line, char *norm, size_t normlen,
	    enum mgmt_expect *e, char *why, size_t whylen);

#endif
