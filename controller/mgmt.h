/* SPDX-License-Identifier: MIT */
/*
 * The libuv link to openvpn's management socket: connects (and retries
 * with capped backoff while asked to), frames bytes through mgmt_proto,
 * keeps one command in flight with a bounded FIFO behind it, hands
 * real-time notifications to its owner, and watches that openvpn still
 * answers (a probe after silence, a bound on every answer).
 */
#ifndef SUPPORTVPN_MGMT_H
#define SUPPORTVPN_MGMT_H

#include <stdbool.h>

#include <uv.h>

#include "mgmt_proto.h"

/* Most commands queued behind the one in flight. */
#define MGMT_MAX_PENDING	64
/* The command that asks an idle openvpn whether it is still there. */
#define MGMT_PROBE_COMMAND	"pid"
/* Links in a row that end in unreadable data before openvpn counts as
 * unusable (on_stuck). */
#define MGMT_BAD_LINKS_MAX	3

/* How openvpn's liveness is watched. */
struct mgmt_timing {
	/* Silence (no complete line) after which an idle link sends
	 * MGMT_PROBE_COMMAND; 0: no probe. */
	unsigned	probe_ms;
	/* The greeting after connecting, and the answer to every command,
	 * must arrive within this; otherwise openvpn is stuck. > 0. */
	unsigned	answer_ms;
};

struct mgmt;

/*
 * The answer to one command: status 0 and resp (borrowed, valid during the
 * call) when openvpn answered; a negative errno and resp NULL when the link
 * went away first. Never called from inside mgmt_send.
 */
typedef void (*mgmt_resp_fn)(int status, const struct mgmt_msg *resp,
    void *arg);

struct mgmt_callbacks {
	/* The link is up and openvpn greeted us. */
	void	(*on_up)(void *arg);
	/* The link is gone (why is borrowed); retries continue if wanted. */
	void	(*on_down)(const char *why, void *arg);
	/* A real-time notification (">..." line). */
	void	(*on_msg)(const struct mgmt_msg *msg, void *arg);
	/*
	 * openvpn accepts the connection but is unusable: no greeting or no
	 * answer within answer_ms (hung, or stopped), or unreadable data on
	 * MGMT_BAD_LINKS_MAX links in a row. why (borrowed) says which, as a
	 * phrase after "openvpn". The link is being closed; restarting
	 * openvpn is the owner's business. May be NULL: then the link is only
	 * reset, with a warning.
	 */
	void	(*on_stuck)(const char *why, void *arg);
};

/* A link for the socket at path, idle until mgmt_connect; t is copied.
 * NULL + errno. */
struct mgmt *mgmt_new(uv_loop_t *loop, const char *path,
    const struct mgmt_timing *t, const struct mgmt_callbacks *cb, void *arg);
/* Closes the link; memory is released once libuv is done. NULL-safe. */
void	mgmt_free(struct mgmt *m);
/* Starts connecting, retrying every 50 ms .. 1 s until it succeeds. */
void	mgmt_connect(struct mgmt *m);
/* Drops the link (pending commands fail) and stops retrying. */
void	mgmt_disconnect(struct mgmt *m);
bool	mgmt_is_up(const struct mgmt *m);
/*
 * Queues cmd (one line, no newline) expecting answer kind e. 0, -ENOTCONN
 * when the link is down, -EBUSY when the FIFO is full, -EINVAL for a bad
 * command, -ENOMEM. fn may be NULL.
 */
int	mgmt_send(struct mgmt *m, const char *cmd, enum mgmt_expect e,
	    mgmt_resp_fn fn, void *arg);
/* Commands queued or in flight. */
unsigned mgmt_pending(const struct mgmt *m);

#endif
