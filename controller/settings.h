/* SPDX-License-Identifier: MIT */
/*
 * The owner's persisted choices (state_dir/settings.json). Written
 * atomically and durably; a corrupt file is set aside and read as "off".
 */
#ifndef SUPPORTVPN_SETTINGS_H
#define SUPPORTVPN_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

struct settings {
	bool	start_when_possible;
};

/*
 * Reads path into s. 0 when read; -ENOENT when absent (s holds the
 * defaults); -EINVAL when corrupt, with why filled (s holds the defaults);
 * other -errno when unreadable. Never logs.
 */
int	settings_load(const char *path, struct settings *s, char *why,
	    size_t whylen);
/* Parses a settings document. 0 or -EINVAL with why filled. */
int	settings_parse(const char *text, size_t len, struct settings *s,
	    char *why, size_t whylen);
/* Writes s to path atomically (temp, fsync, rename, fsync dir). 0, -errno
 * (path untouched) or a positive errno (written; the directory's fsync
 * failed), as util_write_atomic. */
int	settings_save(const char *path, const struct settings *s);
/*
 * Removes path (durably: the directory is fsynced), which reads as the
 * defaults, everything off. Needs no free space, so it works where
 * settings_save fails on a full disk. 0 (also when absent) or -errno.
 */
int	settings_remove(const char *path);
/* Renames path to path.corrupt, replacing an older one. 0 or -errno. */
int	settings_set_aside(const char *path);

#endif
