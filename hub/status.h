/* SPDX-License-Identifier: MIT */
/*
 * The hub daemon's control socket (status_socket, a unix stream socket,
 * 0600): one JSON request per line, one JSON answer per line, in order.
 * The owner answers each request; this module only frames and transports.
 */
#ifndef SUPPORTVPN_HUB_STATUS_H
#define SUPPORTVPN_HUB_STATUS_H

#include <jansson.h>
#include <uv.h>

#define STATUS_MAX_LINE		4096	/* a request, without its newline */
#define STATUS_MAX_CLIENTS	32

struct status;

/* Answers req (borrowed, a JSON object): a new object, or NULL for
 * {"ok": false, "error": "internal error"}. */
typedef json_t *(*status_fn)(json_t *req, void *arg);

/* path is copied. NULL + errno. */
struct status *status_new(uv_loop_t *loop, const char *path, status_fn fn,
	    void *arg);
/* Binds (replacing a stale socket, mode 0600) and listens. 0 or UV_E*. */
int	status_listen(struct status *st);
/* Closes every connection and the socket, unlinks it. NULL-safe. */
void	status_free(struct status *st);

#endif
