/* SPDX-License-Identifier: MIT */
/*
 * The owner-consent check (record format in include/supportvpn_event.h):
 * consent holds only while the controller process that wrote the record
 * lives (it holds a write lock on the file until it revokes the consent or
 * dies) and the file is one the controller could have written. Reads are
 * bounded and never block.
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
	long	pid;		/* the controller's, for messages */
	char	granted_at[64];
};

/* "ok", "missing", "stale", "bad owner/mode", "corrupt", "unreadable". */
const char	*consent_status_name(enum consent_status st);

/*
 * Parses a record: a JSON object with exactly "v" (2), "pid" (> 0) and
 * "granted_at" (a string); a v1 record is "old format". 0 with rec
 * filled, or -1 with why filled.
 */
int	consent_parse_record(const char *buf, size_t len,
	    struct consent_record *rec, char *why, size_t whylen);

/*
 * The whole check on the file at path: a regular file (not a symlink)
 * owned by root or by owner, not writable by group or others, at most
 * SVPN_CONSENT_MAX bytes, a valid record, and write-locked by someone (the
 * controller), as F_OFD_GETLK on the descriptor it was read from says: no
 * lock is CONSENT_STALE, a failing fcntl CONSENT_UNREADABLE. The file is
 * opened read-only (openvpn may have dropped privileges). why gets the
 * detail for the log (always filled).
 */
enum consent_status consent_check(const char *path, uid_t owner, char *why,
	    size_t whylen);

#endif
