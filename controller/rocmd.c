/* SPDX-License-Identifier: MIT */
/* The read-only subset of openvpn's management commands. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rocmd.h"

#define ROCMD_MAX_WORDS	4

static bool
is_count(const char *s)
{
	char *end;
	long n;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	n = strtol(s, &end, 10);
	return errno == 0 && *end == '\0' && n >= 1 && n <= 100000;
}

int
rocmd_check(const char *line, char *norm, size_t normlen, enum mgmt_expect *e,
    char *why, size_t whylen)
{
	char buf[256], *w[ROCMD_MAX_WORDS + 1], *save = NULL, *tok;
	size_t n = 0;
	bool ok = false;

	if (strlen(line) >= sizeof(buf)) {
		snprintf(why, whylen, "command too long");
		return -1;
	}
	memcpy(buf, line, strlen(line) + 1);
	for (tok = strtok_r(buf, " \t\r\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == ROCMD_MAX_WORDS) {
			snprintf(why, whylen, "too many arguments");
			return -1;
		}
		w[n++] = tok;
	}
	if (n == 0) {
		snprintf(why, whylen, "empty command");
		return -1;
	}
	*e = MGMT_EXPECT_BLOCK;
	if (strcmp(w[0], "status") == 0)
		ok = n == 1 || (n == 2 && strlen(w[1]) == 1 &&
		    w[1][0] >= '1' && w[1][0] <= '3');
	else if (strcmp(w[0], "state") == 0 || strcmp(w[0], "log") == 0)
		/* "on"/"off" would change what openvpn sends supportvpnd. */
		ok = (n == 1 && w[0][0] == 's') || (n == 2 &&
		    (strcmp(w[1], "all") == 0 || is_count(w[1])));
	else if (strcmp(w[0], "version") == 0 || strcmp(w[0], "help") == 0)
		ok = n == 1;	/* "version N" sets a protocol version */
	else if (strcmp(w[0], "pid") == 0) {
		ok = n == 1;
		*e = MGMT_EXPECT_LINE;
	}
	if (!ok) {
		snprintf(why, whylen, "'%s' is not allowed here: supportvpnd "
		    "owns this openvpn and only passes on commands that read "
		    "(status [1-3], state [N|all], log N|all, version, pid, "
		    "help); use supportvpnctl to start or stop", w[0]);
		return -1;
	}
	if (n == 1)
		snprintf(norm, normlen, "%s", w[0]);
	else
		snprintf(norm, normlen, "%s %s", w[0], w[1]);
	return 0;
}
