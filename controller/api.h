/* SPDX-License-Identifier: MIT */
/*
 * The JSON API server: TCP on loopback, one JSON object per line, one
 * request at a time per connection, events to subscribers. Commands that
 * change state need the API token (token.h). Limits on line length,
 * connections, subscribers and unsent output are enforced here.
 */
#ifndef SUPPORTVPN_API_H
#define SUPPORTVPN_API_H

#include <jansson.h>
#include <uv.h>

struct api;
struct cmd;
struct config;
struct token_guard;

/*
 * Most bytes of answers and events queued for one connection (beyond what
 * the kernel holds) before it is dropped: a subscriber that never reads.
 */
#define API_MAX_BACKLOG		(1024 * 1024)

/*
 * cfg, cmd (which runs the requests) and guard (the API token and its
 * limiter, shared with the HTTP login) are borrowed and outlive it.
 * NULL + errno.
 */
struct api *api_new(uv_loop_t *loop, const struct config *cfg,
    struct cmd *cmd, struct token_guard *guard);
/* Binds and listens on api.listen. 0 or a UV_E* code (logged). */
int	api_listen(struct api *a);
/* Sends an event to every connection subscribed to name. fields stolen. */
void	api_broadcast(struct api *a, const char *name, json_t *fields);
/* Closes the listener and every connection; frees once libuv is done. */
void	api_free(struct api *a);

#endif
