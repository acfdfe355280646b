/* SPDX-License-Identifier: MIT */
/*
 * The vpn state machine: what the owner wants (up, or "start when
 * possible"), what openvpn reports (process, holds, states), and the one
 * transition function that turns both into the promised `vpn` state. It
 * owns the openvpn process and its management link.
 */
#ifndef SUPPORTVPN_VPN_H
#define SUPPORTVPN_VPN_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "mgmt.h"

struct config;
struct vpn;
struct vpn_waiter;

enum vpn_state {
	VPN_STOPPED,
	VPN_WAITING,
	VPN_STARTING,
	VPN_CONNECTED,
	VPN_RECONNECTING,
	VPN_STOPPING,
	VPN_FAILED,
};

/* How a start or stop ended. */
enum vpn_result {
	VPN_OK = 0,
	VPN_ERR_TIMEOUT,	/* start: not connected within timeout_s */
	VPN_ERR_FAILED,		/* start: openvpn cannot run */
	VPN_ERR_SUPERSEDED,	/* a later command changed the goal */
	VPN_ERR_STORAGE,	/* settings could not be persisted */
	VPN_ERR_SHUTDOWN,	/* the daemon is stopping */
};

/* The API's word for a result ("timeout", ...); "ok" for VPN_OK. */
const char *vpn_result_code(enum vpn_result r);
const char *vpn_state_name(enum vpn_state s);

/* The tunnel as it was while connected. */
struct vpn_tunnel {
	char		server_cn[256];		/* "" when unknown */
	char		server_fingerprint[80];	/* "" when unknown */
	char		server_ip[64];
	int		server_port;
	char		local_ip[64];
	uint64_t	bytes_in, bytes_out;	/* this connection's */
};

struct vpn_callbacks {
	/* An event for subscribers: name ("state", "openvpn"), fields
	 * (stolen: the callee owns the reference). */
	void	(*on_event)(const char *name, json_t *fields, void *arg);
	/*
	 * The tunnel came up (up) or went down, with what it was; now and
	 * detail are the state it left to and why. May be NULL.
	 */
	void	(*on_tunnel)(bool up, const struct vpn_tunnel *t,
		    enum vpn_state now, const char *detail, void *arg);
};

/*
 * Called once when a start or stop is over; message (borrowed) says why
 * when r != VPN_OK. Always called from the loop, never from inside
 * vpn_start/vpn_stop.
 */
typedef void (*vpn_done_fn)(enum vpn_result r, const char *message,
    void *arg);

/* cfg is borrowed and must outlive the vpn. NULL + errno. */
struct vpn *vpn_new(uv_loop_t *loop, const struct config *cfg,
    const struct vpn_callbacks *cb, void *arg);
/*
 * Loads the settings (a corrupt file is set aside and logged), ends a
 * stale openvpn, and spawns openvpn held. 0, or a negative errno when the
 * directories cannot be used.
 */
int	vpn_boot(struct vpn *v);
/* Fails waiters, stops openvpn (SIGTERM, then SIGKILL), then calls done. */
void	vpn_shutdown(struct vpn *v, void (*done)(void *arg), void *arg);
/* After vpn_shutdown's done: releases the handles. NULL-safe. */
void	vpn_free(struct vpn *v);

/* The status object (DESIGN §3). New reference, NULL on ENOMEM. */
json_t	*vpn_status_json(const struct vpn *v);
/* fn adds its members to every status object vpn_status_json builds
 * (the session's end, e.g.). One hook; NULL removes it. */
void	vpn_set_status_hook(struct vpn *v, void (*fn)(json_t *st, void *arg),
	    void *arg);
enum vpn_state vpn_state(const struct vpn *v);
/* The persisted "start when possible" (valid after vpn_boot). */
bool	vpn_start_when_possible(const struct vpn *v);

/*
 * Owner commands. start: when_possible arms and persists "start when
 * possible"; wait: done is called when connected or failed (or after
 * timeout_s), otherwise at once with the result of the request itself.
 * stop: done once openvpn is held again. If w is not NULL it receives a
 * handle to cancel the callback (the client went away). 0, or -ENOMEM.
 */
int	vpn_start(struct vpn *v, bool when_possible, bool wait,
	    unsigned timeout_s, vpn_done_fn done, void *arg,
	    struct vpn_waiter **w);
/*
 * Persists "start when possible" ahead of a start that arms it, so that a
 * start which cannot be armed is refused before anything else changes.
 * 1 if armed now, 0 if it already was (or the vpn shuts down: vpn_start
 * refuses that), -errno if the file cannot be written (why says so).
 */
int	vpn_arm(struct vpn *v, char *why, size_t whylen);
/* Takes back vpn_arm's 1 when the start it was for is refused. */
void	vpn_disarm(struct vpn *v);
int	vpn_stop(struct vpn *v, vpn_done_fn done, void *arg,
	    struct vpn_waiter **w);
/* The same, with why the VPN stops as the detail of `stopping` and
 * `stopped` (vpn_stop says "stopped by the owner"). */
int	vpn_stop_why(struct vpn *v, const char *why, vpn_done_fn done,
	    void *arg, struct vpn_waiter **w);
/* The callback of w will not be called; w is invalid afterwards. */
void	vpn_waiter_cancel(struct vpn_waiter *w);

/*
 * Commands of the API's and the pass-through's clients may fill the
 * management FIFO only up to here; the rest is kept for supportvpnd's own
 * (hold release, hold on, signal, the link's set-up), so that a crowd of
 * readers waiting on a slow openvpn cannot make a start or a stop fail.
 */
#define VPN_OPENVPN_MAX_PENDING	(MGMT_MAX_PENDING - 16)

/* Forwards a management command (read-only ones only; the caller checks).
 * As mgmt_send; -ENOTCONN while openvpn's interface is not connected,
 * -EBUSY with VPN_OPENVPN_MAX_PENDING commands pending. */
int	vpn_openvpn_command(struct vpn *v, const char *cmd, enum mgmt_expect e,
	    mgmt_resp_fn fn, void *arg);
/* The prerequisite checks this vpn decides with. Borrowed. */
struct checks *vpn_checks(const struct vpn *v);
/* The checks as status and the API show them (checks_json, or a set that
 * says the checks are off without a vendor cloud). New reference. */
json_t	*vpn_checks_json(const struct vpn *v);

/* "2.6.14", or NULL before openvpn answered "version". Borrowed. */
const char *vpn_openvpn_version(const struct vpn *v);

#endif
