/* SPDX-License-Identifier: MIT */
/*
 * Notices changes to one file (the grants file) by watching its
 * directory, so a rename over it (atomic writes, editors) is seen too.
 * A burst of changes becomes one call, WATCH_SETTLE_MS after the last.
 */
#ifndef SUPPORTVPN_HUB_WATCH_H
#define SUPPORTVPN_HUB_WATCH_H

#include <uv.h>

#define WATCH_SETTLE_MS		100

struct watch;

typedef void (*watch_fn)(void *arg);

/* path is copied. NULL + errno. */
struct watch *watch_new(uv_loop_t *loop, const char *path, watch_fn fn,
	    void *arg);
/* Starts watching path's directory (which must exist). 0 or UV_E*. */
int	watch_start(struct watch *w);
/* Stops; the memory goes once libuv has closed the handles. NULL-safe. */
void	watch_free(struct watch *w);

#endif
