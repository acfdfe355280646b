/* SPDX-License-Identifier: MIT */
/*
 * Support sessions: one activation of the support VPN by the owner, from
 * `start` (or arming "start when possible") to `stop`, expiry or the end
 * of the daemon. A session has an end time (expires_at) that `extend`
 * moves, and an audit trail in state_dir/history.jsonl the owner can read:
 * who activated it, which hub it reached, who logged in, bytes, and why it
 * ended. Its state lives in state_dir/session.json so that an armed
 * session survives a restart of the daemon with the same end.
 */
#ifndef SUPPORTVPN_SESSION_H
#define SUPPORTVPN_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "vpn.h"

struct config;
struct session;

struct session_callbacks {
	/* A `session` event for subscribers (fields stolen). */
	void	(*on_event)(json_t *fields, void *arg);
};

/* cfg and vpn are borrowed and must outlive the session. NULL + errno. */
struct session *session_new(uv_loop_t *loop, const struct config *cfg,
    struct vpn *vpn, const struct session_callbacks *cb, void *arg);
/*
 * Opens the history and picks up the session a previous run left: an
 * armed one ("start when possible") goes on with its end time; any other
 * is closed in the history (its daemon went away). Call before vpn_boot.
 * 0, or -errno when the history cannot be opened (logged; sessions then
 * cannot start, since they could not be recorded).
 */
int	session_boot(struct session *s, bool armed);
/* The daemon is stopping: records the disconnect and, unless the session
 * is armed to come back, its end. */
void	session_shutdown(struct session *s);
void	session_free(struct session *s);

/*
 * Before vpn_start: opens a session (or keeps the open one, switching it
 * to "when possible" if asked). duration_s < 0 takes session.default_s;
 * 0 means no end (only with session.allow_unlimited). by describes who
 * asked (borrowed JSON, recorded as it is). 0, or -1 with code ("storage",
 * "bad_argument") and a sentence in why.
 */
int	session_start(struct session *s, json_t *by, bool when_possible,
	    long duration_s, const char **code, char *why, size_t whylen);
/*
 * Moves the end of the open session by duration_s (< 0: session.default_s)
 * but never past session.max_s from now. 0 or -1 as session_start
 * ("not_active", "no_end", "bad_argument", "storage").
 */
int	session_extend(struct session *s, json_t *by, long duration_s,
	    const char **code, char *why, size_t whylen);
/* Before vpn_stop for the owner: who stopped it, recorded with the end. */
void	session_stopping(struct session *s, json_t *by);

/* The vpn's state events and tunnel changes (main wires them). */
void	session_on_state(struct session *s, enum vpn_state now);
void	session_on_tunnel(struct session *s, bool up,
	    const struct vpn_tunnel *t, enum vpn_state now, const char *detail);

/* A support login was decided: recorded (durably) and announced.
 * repeated: refusals like this one since the last record, not recorded
 * one by one (a flood must not rotate the history away). */
void	session_login(struct session *s, const char *user, bool granted,
	    const char *reason, const char *from, json_t *by,
	    unsigned repeated);

/* Adds "expires_at" and "session" to a status object. */
void	session_status_add(json_t *st, void *s);
/* The history, newest first (limit 0: all). 0 or -errno. */
int	session_history(struct session *s, size_t limit, json_t **out);

#endif
