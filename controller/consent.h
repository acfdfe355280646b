/* SPDX-License-Identifier: MIT */
/*
 * The owner-consent record the plugin checks before it lets a handshake
 * through (include/supportvpn_event.h): written atomically before the hold
 * is released, removed before a stop, void once this process is gone. This
 * module holds the record's write lock (one per process) from the grant to
 * the revoke.
 */
#ifndef SUPPORTVPN_CONSENT_H
#define SUPPORTVPN_CONSENT_H

#include <stdbool.h>

/*
 * Writes the record for this process to path (mode 0644), write-locked
 * through a descriptor this module keeps (close-on-exec) until
 * consent_revoke; a second grant replaces the file, then drops the first
 * one's lock. On failure the previous record, if any, stays in place and
 * locked. 0 or -errno.
 */
int	consent_grant(const char *path);
/*
 * Prepares the next record ahead of a grant (written and locked, under a
 * name the plugin never reads), so that consent_grant is a single rename
 * while the owner waits. Its "granted_at" is when it was prepared. A
 * no-op when one is staged already. 0 or -errno.
 */
int	consent_stage(const char *path);
/* Removes the staged record, if any (the daemon is stopping). path may
 * be NULL. */
void	consent_unstage(const char *path);
/* Whether the file at path is the record our lock holds (not removed or
 * replaced since the grant). */
bool	consent_in_place(const char *path);
/* Removes path (a missing file is fine), then drops the lock even if the
 * removal failed. 0 or -errno. */
int	consent_revoke(const char *path);

#endif
