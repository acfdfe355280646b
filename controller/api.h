/* SPDX-License-Identifier: MIT */
/*
 * The JSON API server: TCP on loopback, one JSON object per line, one
 * request at a time per connection, events to subscribers. Limits on line
 * length, connections and unsent output are enforced here.
 */
#ifndef SUPPORTVPN_API_H
#define SUPPORTVPN_API_H

#include <jansson.h>
#include <uv.h>

struct api;
struct config;
struct vpn;
struct session;
struct auth;

/* Most bytes queued for one connection before it is dropped. */
#define API_MAX_BACKLOG		(1024 * 1024)

/* cfg, vpn, session and auth are borrowed. NULL + errno. */
struct api *api_new(uv_loop_t *loop, const struct config *cfg,
    struct vpn *vpn, struct session *session, struct auth *auth);
/* Binds and listens on api.listen. 0 or a UV_E* code (logged). */
int	api_listen(struct api *a);
/* Sends an event to every connection subscribed to name. fields stolen. */
void	api_broadcast(struct api *a, const char *name, json_t *fields);
/* Closes the listener and every connection; frees once libuv is done. */
void	api_free(struct api *a);

#endif
