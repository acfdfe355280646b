/* SPDX-License-Identifier: MIT */
/*
 * The HTTP interface on loopback (http.listen): the owner's page from
 * http.root, JSON endpoints that mirror the API, and a Server-Sent Events
 * stream of the API's events, on supportvpnd's libuv loop. Every request
 * passes the Host and Origin checks; state changes need a page session.
 * The HTTP library (h2o) stays inside http.c.
 */
#ifndef SUPPORTVPN_HTTP_H
#define SUPPORTVPN_HTTP_H

#include <jansson.h>
#include <uv.h>

struct cmd;
struct config;
struct http;
struct token_guard;
struct vpn;

/* Most bytes of events queued for one stream before it is dropped. */
#define HTTP_SSE_MAX_BACKLOG	(1024 * 1024)
/* A comment line keeps idle streams (and proxies) awake this often. */
#define HTTP_SSE_KEEPALIVE_MS	15000

/*
 * cfg, cmd (which runs the API's requests), vpn and guard (the API token
 * and its per-uid limiter, shared with the API) are borrowed and outlive
 * it. NULL + errno.
 */
struct http *http_new(uv_loop_t *loop, const struct config *cfg,
    struct cmd *cmd, struct vpn *vpn, struct token_guard *guard);
/* Listens on http.listen; nothing when it is "". 0 or a UV_E* code
 * (logged). */
int	http_listen(struct http *h);
/* Sends an event to every event stream; fields borrowed. NULL-safe. */
void	http_broadcast(struct http *h, const char *name, json_t *fields);
/*
 * Answers what waits (503), ends the streams, closes every connection and
 * the listener; frees once libuv is done with them. NULL-safe.
 */
void	http_free(struct http *h);

#endif
