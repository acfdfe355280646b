/* SPDX-License-Identifier: MIT */
/*
 * Per-case staff grants: the grants file, {"grants": [{"staff": CN,
 * "appliance": CN, "expires": RFC 3339, "case": REF, "by": WHO,
 * "created": RFC 3339}, ...]}, parsed strictly into a plain array, and
 * written back atomically under a lock by the CLI.
 */
#ifndef SUPPORTVPN_HUB_GRANTS_H
#define SUPPORTVPN_HUB_GRANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ident.h"

#define GRANTS_CASE_MAX		128	/* "case": printable text */
#define GRANTS_BY_MAX		64	/* "by": printable text */
#define GRANTS_MAX_S		(30L * 86400)	/* the longest grant */
#define GRANTS_MAX		10000	/* entries in one file */
#define GRANTS_FILE_MAX		(4 * 1024 * 1024)

struct grant {
	char	 staff[IDENT_CN_MAX + 1];
	char	 appliance[IDENT_CN_MAX + 1];
	int64_t	 expires_ms;		/* wall clock, ms since the epoch */
	int64_t	 created_ms;		/* 0 = not recorded */
	char	 case_ref[GRANTS_CASE_MAX + 1];	/* "" = none */
	char	 by[GRANTS_BY_MAX + 1];		/* "" = not recorded */
};

struct grants {
	struct grant	*v;
	size_t		 n;
};

struct grants_error {
	int	 index;			/* the entry, -1 for the file */
	char	 text[256];
};

/*
 * Parses a grants file of len bytes. Refused: anything but the shape
 * above, unknown keys, bad CNs, a second grant for the same staff and
 * appliance, an expiry more than GRANTS_MAX_S after now_ms. Expired
 * grants are kept (grants_active says which count). 0 with *out filled
 * (new: grants_deinit), or -1 with err filled and *out empty.
 */
int	grants_parse(const char *buf, size_t len, int64_t now_ms,
	    struct grants *out, struct grants_error *err);
/*
 * Reads and parses path. A missing file is no grants (0). 0, -1 with err
 * filled, or -errno (unreadable, err filled too).
 */
int	grants_load(const char *path, int64_t now_ms, struct grants *out,
	    struct grants_error *err);
/* The file's text: one grant per line, ends with a newline. New string,
 * NULL + errno. */
char	*grants_format(const struct grants *g);
void	grants_deinit(struct grants *g);

/* Whether g has not expired at now_ms. */
bool	grants_active(const struct grant *g, int64_t now_ms);
/* The grant for staff and appliance, or NULL (borrowed). */
struct grant *grants_find(const struct grants *g, const char *staff,
	    const char *appliance);
/* Adds g, or replaces the grant for the same pair. 0 or -ENOMEM. */
int	grants_put(struct grants *gs, const struct grant *g);
/* Removes the grant for the pair; false when there was none. */
bool	grants_remove(struct grants *gs, const char *staff,
	    const char *appliance);
/* Drops the grants expired at now_ms. */
void	grants_prune(struct grants *gs, int64_t now_ms);

/*
 * Parses an RFC 3339 UTC or offset date-time ("2026-11-28T10:00:00Z",
 * fraction allowed) into ms since the epoch. false if malformed.
 */
bool	grants_parse_time(const char *s, int64_t *ms);

/*
 * The CLI's edit: takes an exclusive flock on path.lock, loads path,
 * calls edit (which changes gs and returns 0 to write or an exit-worthy
 * error), writes path atomically (temp, fsync, rename, fsync of the
 * directory; mode 0640), unlocks. 0, -1 with err filled (file broken or
 * edit refused), or -errno.
 */
int	grants_edit(const char *path, int64_t now_ms,
	    int (*edit)(struct grants *gs, void *arg, struct grants_error *err),
	    void *arg, struct grants_error *err);

#endif
