/* SPDX-License-Identifier: MIT */
/*
 * The owner-consent check (record format in include/supportvpn_event.h):
 * consent holds only while the controller process that wrote the record
 * lives (same pid and /proc start time) and the file is one the controller
 * could have written. Reads are bounded and never block; the /proc root is
 * a parameter so tests can fake it.
 */
#ifndef SUPPORTVPN_PLUGIN_CONSENT_H
#define SUPPORTVPN_PLUGIN_CONSENT_H

#include <stddef.h>
#include <sys/types.h>

enum consent_status {
	CONSENT_OK = 0,
	CONSENT_MISSING,	/* no record */
	CONSENT_STALE,		/* the controller that gave it is gone */
	CONSENT_BAD_FILE,	/* wrong type, owner or mode */
	CONSENT_CORRUPT,	/* not a valid record */
	CONSENT_UNREADABLE,	/* could not be read (errno in the reason) */
};

struct consent_record {
	long			pid;
	unsigned long long	start_time;	/* /proc/<pid>/stat field 22 */
	char			granted_at[64];
};

/* "ok", "missing", "stale", "bad owner/mode", "corrupt", "unreadable". */
const char	*consent_status_name(enum consent_status st);

/*
 * Parses a record: a JSON object with exactly "v" (1), "pid" (> 0),
 * "start_time" (>= 0) and "granted_at" (a string). 0 with rec filled, or
 * -1 with why filled.
 */
int	consent_parse_record(const char *buf, size_t len,
	    struct consent_record *rec, char *why, size_t whylen);

/*
 * Field 22 ("starttime") of <proc_root>/<pid>/stat. The comm field may
 * hold spaces and ')', so fields are counted after the last ')'.
 * 0 with *out set; -ESRCH when no such process; other -errno.
 */
int	consent_read_starttime(const char *proc_root, long pid,
	    unsigned long long *out);

/*
 * The whole check on the file at path: a regular file (not a symlink)
 * owned by root or by owner, not writable by group or others, at most
 * SVPN_CONSENT_MAX bytes, a valid record, and its process alive with the
 * recorded start time. why gets the detail for the log (always filled).
 */
enum consent_status consent_check(const char *path, const char *proc_root,
	    uid_t owner, char *why, size_t whylen);

#endif
