/* SPDX-License-Identifier: MIT */
/*
 * The owner-consent record the plugin checks before it lets a handshake
 * through (include/supportvpn_event.h): written atomically before the hold
 * is released, removed before a stop, void once this process is gone.
 */
#ifndef SUPPORTVPN_CONSENT_H
#define SUPPORTVPN_CONSENT_H

#include <stdint.h>

/* Field 22 of /proc/<pid>/stat ("starttime"). 0 or -errno. */
int	consent_proc_start_time(const char *proc_root, int pid, uint64_t *out);
/* Writes the record for this process to path (mode 0644). 0 or -errno. */
int	consent_grant(const char *path);
/* Removes it; a missing file is fine. 0 or -errno. */
int	consent_revoke(const char *path);

#endif
