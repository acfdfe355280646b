/* SPDX-License-Identifier: MIT */
/*
 * The `support` login, decided for the appliance's web server or SSH:
 * granted only while the support VPN is connected, only from an address
 * that comes through the tunnel (when the caller names one), against the
 * yescrypt hash in state_dir/support.hash, with failures rate-limited.
 * Verifications run one at a time on libuv's thread pool, so a flood of
 * them neither blocks the loop nor outruns the limiter.
 */
#ifndef SUPPORTVPN_AUTH_H
#define SUPPORTVPN_AUTH_H

#include <stdbool.h>

#include <jansson.h>
#include <uv.h>

struct config;
struct session;
struct vpn;
struct auth;
struct auth_req;

/* Pending verifications beyond the one running; more are "busy". */
#define AUTH_QUEUE_MAX	32

/* The decision; reason is a sentence for the caller (borrowed). */
typedef void (*auth_done_fn)(bool granted, const char *reason, void *arg);

struct auth *auth_new(uv_loop_t *loop, const struct config *cfg,
    struct vpn *vpn, struct session *session);
/* Cancels what is queued; a running verification finishes unseen. */
void	auth_free(struct auth *a);

/*
 * Decides a login. password is copied (and wiped after use); from may be
 * NULL; by (borrowed) says which API client asked, for the history. done
 * runs later, from the loop, unless the request is cancelled. 0, or
 * -EBUSY when AUTH_QUEUE_MAX requests wait already, -ENOMEM.
 */
int	auth_request(struct auth *a, const char *user, const char *password,
	    const char *from, json_t *by, auth_done_fn done, void *arg,
	    struct auth_req **handle);
/* done will not be called; the attempt still counts if it ran. */
void	auth_cancel(struct auth_req *r);

#endif
