/* SPDX-License-Identifier: MIT */
/*
 * The owner's history of support sessions: an append-only file of JSON
 * lines (state_dir/history.jsonl) with one older generation (path.1). It
 * survives restarts and power loss, and rotation never drops the records
 * of the session that is still open.
 */
#ifndef SUPPORTVPN_AUDIT_H
#define SUPPORTVPN_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define AUDIT_MAX_BYTES_DEFAULT	(1024 * 1024)
#define AUDIT_MAX_BYTES_MIN	16384
/* Longest line audit_append writes, '\n' included. */
#define AUDIT_LINE_MAX		(64 * 1024)

struct audit;

/* Counters; "since audit_open" ones start at 0 on every open. */
struct audit_stats {
	size_t		records;	/* appended since audit_open */
	size_t		skipped;	/* lines the last read skipped */
	size_t		bytes;		/* length of the current file */
	size_t		carried;	/* copies the last rotation made */
	unsigned	rotations;	/* since audit_open */
	unsigned	torn;		/* torn last lines cut, ditto */
};

/*
 * Opens the history at path, creating it with mode 0600. max_bytes is the
 * size at which the file rotates: 0 means AUDIT_MAX_BYTES_DEFAULT, less
 * than AUDIT_MAX_BYTES_MIN is -EINVAL. Recovers from a crash: finishes a
 * half-done rotation (path missing, path.tmp present), deletes a stray
 * path.tmp, and cuts a torn last line (one without '\n') off the file.
 * 0 with *out set (new, free with audit_close), or -errno. Never logs.
 */
int	audit_open(const char *path, size_t max_bytes, struct audit **out);
/* fsyncs and closes the history. NULL-safe. */
void	audit_close(struct audit *a);

/*
 * Appends rec (borrowed; a JSON object, left unchanged) as one compact
 * line with one write(). A record without "ts" gets one first: now, RFC
 * 3339 UTC with milliseconds. The member "carried" is reserved (-EINVAL).
 * durable adds an fsync (session boundaries); otherwise a power loss may
 * lose the records since the last durable one. Rotates first when the line
 * would take the file past max_bytes. A line longer than AUDIT_LINE_MAX is
 * -E2BIG. On failure (-errno; a short write is -EIO) the file is cut back
 * to its previous length, so it never holds half a record; a rotation
 * done before the failed write stays done.
 */
int	audit_append(struct audit *a, json_t *rec, bool durable);

/*
 * Names the open support session (copied), or none with NULL. Records with
 * "session" equal to it are carried into the new file at each rotation,
 * so they outlive path.1 being dropped: up to max_bytes/2 of them, the
 * first (the activation) and the newest. 0, -EINVAL for "", -ENOMEM.
 */
int	audit_set_open_session(struct audit *a, const char *session_id);

/*
 * Reads the history newest first, at most limit records (0: all), from
 * path and path.1; each record is shown once. Lines that are not a JSON
 * object are skipped and counted in audit_stats. Loads both files into
 * memory. 0 with *out a new array (caller decrefs), or -errno.
 */
int	audit_read(struct audit *a, size_t limit, json_t **out);

/* Fills st with a's counters. */
void	audit_stats(const struct audit *a, struct audit_stats *st);
/*
 * A new descriptor (dup) of the current file, for an fsync the caller runs
 * elsewhere (a thread): appends stay cheap on the loop, and the records
 * become durable a moment later. -errno when there is no open file.
 */
int	audit_dup_fd(const struct audit *a);

#endif
