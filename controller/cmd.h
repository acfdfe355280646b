/* SPDX-License-Identifier: MIT */
/*
 * Executes a parsed API request for a caller, whatever the transport: the
 * JSON API over TCP and the HTTP interface both run their requests here,
 * so both give the same answers. Commands that answer at once fill the
 * answer; the others (start with wait, stop, a checks refresh, an openvpn
 * command, auth) answer later through a callback, which the caller
 * cancels if it goes away first.
 */
#ifndef SUPPORTVPN_CMD_H
#define SUPPORTVPN_CMD_H

#include <stdbool.h>

#include <jansson.h>
#include <uv.h>

#include "api_req.h"

struct auth;
struct cmd;
struct cmd_job;
struct config;
struct session;
struct vpn;

/* Who asks: for log lines, the session history and the state gate. */
struct cmd_caller {
	const char	*area;		/* log prefix: "api", "http" */
	const char	*peer;		/* "127.0.0.1:40000" */
	bool		 authorised;	/* may run commands that change
					 * state (req->changes) */
	/*
	 * The "by" object the history records (new reference, NULL on
	 * ENOMEM); called only by commands that record who asked.
	 */
	json_t		*(*by)(const struct api_request *req, void *arg);
	void		*arg;
};

/* An answer: a result, or an error code with a sentence. */
struct cmd_answer {
	json_t		*result;	/* new; NULL when code is set */
	const char	*code;		/* static ("bad_argument"); NULL: ok */
	char		 message[512];
};

/* The later answer; ans->result is the callee's to keep or free. Called
 * from the loop, never from inside cmd_execute. */
typedef void (*cmd_done_fn)(struct cmd_answer *ans, void *arg);

/* cfg, vpn, session and auth are borrowed and outlive it. NULL + errno. */
struct cmd *cmd_new(uv_loop_t *loop, const struct config *cfg,
    struct vpn *vpn, struct session *session, struct auth *auth);
/* NULL-safe. Every job must have ended or been cancelled. */
void	cmd_free(struct cmd *x);

/*
 * Runs req (borrowed) for who (borrowed, only during the call).
 * API_CMD_SUBSCRIBE belongs to the transport and is refused here. Returns
 * 1 with ans filled when answered at once (the caller owns ans->result),
 * or 0 when the answer comes later through done(ans, arg); *job then
 * cancels it (cmd_cancel), and is invalid once done has run.
 */
int	cmd_execute(struct cmd *x, const struct api_request *req,
	    const struct cmd_caller *who, struct cmd_answer *ans,
	    cmd_done_fn done, void *arg, struct cmd_job **job);
/* done will not be called; job is invalid afterwards. */
void	cmd_cancel(struct cmd_job *job);

#endif
