/* SPDX-License-Identifier: MIT */
/*
 * Request execution shared by the JSON API and the HTTP interface. A job
 * is what a request leaves running (a vpn waiter, a checks run, an
 * openvpn command, a login check); cancelling it stops its callback, so
 * nothing reaches a caller that has gone away.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "api_req.h"
#include "auth.h"
#include "checks.h"
#include "cmd.h"
#include "config.h"
#include "log.h"
#include "rocmd.h"
#include "session.h"
#include "supportvpn.h"
#include "util.h"
#include "vpn.h"

struct cmd {
	uv_loop_t		*loop;
	const struct config	*cfg;
	struct vpn		*vpn;
	struct session		*session;
	struct auth		*auth;
};

struct cmd_job {
	struct cmd		*x;
	cmd_done_fn		 done;
	void			*arg;
	char			 area[8];
	char			 peer[64];
	struct vpn_waiter	*waiter;
	struct checks_waiter	*checks_waiter;
	struct auth_req		*auth;
	/* An openvpn command in flight: the management link cannot forget
	 * it, so a cancelled job lives until the answer comes. */
	bool			 ro_pending;
	bool			 cancelled;
	char			 ro_cmd[256];
};

struct cmd *
cmd_new(uv_loop_t *loop, const struct config *cfg, struct vpn *vpn,
    struct session *session, struct auth *auth)
{
	struct cmd *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->loop = loop;
	x->cfg = cfg;
	x->vpn = vpn;
	x->session = session;
	x->auth = auth;
	return x;
}

void
cmd_free(struct cmd *x)
{
	free(x);
}

/* ---- answers ----------------------------------------------------------- */

static int
answer_ok(struct cmd_answer *ans, json_t *result)
{
	memset(ans, 0, sizeof(*ans));
	if (result == NULL) {
		ans->code = "internal";
		snprintf(ans->message, sizeof(ans->message), "out of memory");
		return 1;
	}
	ans->result = result;
	return 1;
}

static int
answer_error(struct cmd_answer *ans, const char *code, const char *msg)
{
	memset(ans, 0, sizeof(*ans));
	ans->code = code;
	snprintf(ans->message, sizeof(ans->message), "%s", msg);
	return 1;
}

static struct cmd_job *
job_new(struct cmd *x, const struct cmd_caller *who, cmd_done_fn done,
    void *arg)
{
	struct cmd_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->x = x;
	j->done = done;
	j->arg = arg;
	util_copy_printable(j->area, sizeof(j->area), who->area);
	util_copy_printable(j->peer, sizeof(j->peer), who->peer);
	return j;
}

/* The job is over: one answer, then it is gone. */
static void
job_finish(struct cmd_job *j, struct cmd_answer *ans)
{
	j->done(ans, j->arg);
	free(j);
}

void
cmd_cancel(struct cmd_job *j)
{
	if (j == NULL)
		return;
	if (j->waiter != NULL)
		vpn_waiter_cancel(j->waiter);
	if (j->checks_waiter != NULL)
		checks_waiter_cancel(j->checks_waiter);
	if (j->auth != NULL)
		auth_cancel(j->auth);
	if (j->ro_pending) {
		j->cancelled = true;
		return;
	}
	free(j);
}

/* ---- commands that wait ------------------------------------------------ */

static void
on_vpn_done(enum vpn_result r, const char *message, void *arg)
{
	struct cmd_job *j = arg;
	struct cmd_answer ans;

	j->waiter = NULL;
	if (r == VPN_OK)
		answer_ok(&ans, vpn_status_json(j->x->vpn));
	else
		answer_error(&ans, vpn_result_code(r), message);
	job_finish(j, &ans);
}

static void
on_checks_done(void *arg)
{
	struct cmd_job *j = arg;
	struct cmd_answer ans;

	j->checks_waiter = NULL;
	answer_ok(&ans, vpn_checks_json(j->x->vpn));
	job_finish(j, &ans);
}

static void
on_auth_done(bool granted, const char *reason, void *arg)
{
	struct cmd_job *j = arg;
	struct cmd_answer ans;

	j->auth = NULL;
	answer_ok(&ans, json_pack("{s:b, s:s}", "granted", granted, "reason",
	    reason));
	job_finish(j, &ans);
}

static void
on_ro_answer(int status, const struct mgmt_msg *resp, void *arg)
{
	struct cmd_job *j = arg;
	struct cmd_answer ans;
	json_t *lines;
	size_t i;

	j->ro_pending = false;
	if (j->cancelled) {
		free(j);
		return;
	}
	if (status < 0) {
		answer_error(&ans, "unavailable", "openvpn's management "
		    "interface went away before it answered");
	} else if (!resp->u.response.ok) {
		answer_error(&ans, "failed", resp->u.response.text);
	} else {
		lines = json_array();
		if (resp->u.response.nlines == 0 && lines != NULL)
			json_array_append_new(lines, json_string(resp->line));
		for (i = 0; i < resp->u.response.nlines && lines != NULL; i++)
			json_array_append_new(lines, json_string(
			    resp->u.response.lines[i]));
		answer_ok(&ans, json_pack("{s:s, s:o}", "command", j->ro_cmd,
		    "lines", lines));
	}
	job_finish(j, &ans);
}

/* ---- execution --------------------------------------------------------- */

static json_t *
version_json(struct cmd *x)
{
	const char *ov = vpn_openvpn_version(x->vpn);

	return json_pack("{s:s, s:o, s:s, s:s, s:s}",
	    "supportvpnd", SUPPORTVPN_VERSION,
	    "openvpn", ov != NULL ? json_string(ov) : json_null(),
	    "libuv", uv_version_string(),
	    "jansson", JANSSON_VERSION,
	    "libcurl", curl_version_info(CURLVERSION_NOW)->version);
}

static void
collect_line(const char *line, void *arg)
{
	json_array_append_new(arg, json_string(line));
}

/* From the cache at once, or after a (shared) run with refresh. */
static int
run_checks(struct cmd *x, const struct api_request *req,
    struct cmd_answer *ans, struct cmd_job *j)
{
	json_t *set = vpn_checks_json(x->vpn);

	/* Checks that are off have nothing to refresh. */
	if (!req->refresh || json_is_false(json_object_get(set, "enabled")))
		return answer_ok(ans, set);
	json_decref(set);
	if ((j->checks_waiter = checks_run(vpn_checks(x->vpn), on_checks_done,
	    j)) == NULL)
		return answer_error(ans, "internal", "out of memory");
	return 0;
}

static int
run_openvpn(struct cmd *x, const struct api_request *req,
    struct cmd_answer *ans, struct cmd_job *j)
{
	char why[512];
	enum mgmt_expect e;
	int rc;

	if (rocmd_check(req->command, j->ro_cmd, sizeof(j->ro_cmd), &e, why,
	    sizeof(why)) < 0)
		return answer_error(ans, "not_allowed", why);
	rc = vpn_openvpn_command(x->vpn, j->ro_cmd, e, on_ro_answer, j);
	if (rc == -ENOTCONN)
		return answer_error(ans, "unavailable", "openvpn's management "
		    "interface is not connected");
	if (rc == -EBUSY)
		return answer_error(ans, "busy", "too many openvpn commands are "
		    "pending; try again");
	if (rc < 0)
		return answer_error(ans, "internal", strerror(-rc));
	j->ro_pending = true;
	return 0;
}

static int
run_auth(struct cmd *x, const struct api_request *req, json_t *by,
    struct cmd_answer *ans, struct cmd_job *j)
{
	int rc;

	rc = auth_request(x->auth, req->user, req->password, req->from, by,
	    on_auth_done, j, &j->auth);
	if (rc == -EBUSY) {
		log_warnx("%s: %s: auth: too many logins are being checked",
		    j->area, j->peer);
		return answer_error(ans, "busy", "too many logins are being "
		    "checked; try again");
	}
	if (rc < 0) {
		log_warnx("%s: %s: auth: %s", j->area, j->peer, strerror(-rc));
		return answer_error(ans, "internal", strerror(-rc));
	}
	return 0;
}

/* Session commands answer at once: from the history or the session. */
static int
run_session(struct cmd *x, const struct api_request *req, json_t *by,
    struct cmd_answer *ans, struct cmd_job *j)
{
	const char *code = "internal";
	char why[256];
	json_t *recs;

	if (req->cmd == API_CMD_HISTORY) {
		if (session_history(x->session, req->lines, &recs) < 0)
			return answer_error(ans, "storage", "the session history "
			    "cannot be read");
		return answer_ok(ans, json_pack("{s:o}", "records", recs));
	}
	log_info("%s: %s: extend%s", j->area, j->peer, req->duration_s >= 0 ?
	    "" : " (default)");
	if (session_extend(x->session, by, req->duration_s, &code, why,
	    sizeof(why)) < 0)
		return answer_error(ans, code, why);
	return answer_ok(ans, vpn_status_json(x->vpn));
}

static int
run_start(struct cmd *x, const struct api_request *req, json_t *by,
    struct cmd_answer *ans, struct cmd_job *j)
{
	const char *code = "internal";
	char why[512];
	int armed = 0, rc;

	log_info("%s: %s: start%s%s", j->area, j->peer, req->when_possible ?
	    " when possible" : "", req->wait ? " (wait)" : "");
	/* Armed before the session opens: a start that cannot be saved
	 * changes nothing, and a refused session disarms. */
	if (req->when_possible &&
	    (armed = vpn_arm(x->vpn, why, sizeof(why))) < 0) {
		log_warnx("%s: %s: start refused: %s", j->area, j->peer, why);
		return answer_error(ans, "storage", why);
	}
	if (session_start(x->session, by, req->when_possible, req->duration_s,
	    &code, why, sizeof(why)) < 0) {
		if (armed > 0)
			vpn_disarm(x->vpn);
		log_warnx("%s: %s: start refused: %s", j->area, j->peer, why);
		return answer_error(ans, code, why);
	}
	if ((rc = vpn_start(x->vpn, req->when_possible, req->wait,
	    req->timeout_s, on_vpn_done, j, &j->waiter)) < 0)
		return answer_error(ans, "internal", strerror(-rc));
	return 0;
}

static int
run_stop(struct cmd *x, json_t *by, struct cmd_answer *ans,
    struct cmd_job *j)
{
	int rc;

	log_info("%s: %s: stop", j->area, j->peer);
	session_stopping(x->session, by);
	if ((rc = vpn_stop(x->vpn, on_vpn_done, j, &j->waiter)) < 0)
		return answer_error(ans, "internal", strerror(-rc));
	return 0;
}

/* The commands that may wait, with a job to hold what they wait for. */
static int
run_job(struct cmd *x, const struct api_request *req,
    const struct cmd_caller *who, struct cmd_answer *ans, struct cmd_job *j)
{
	json_t *by = NULL;
	int rc;

	if (req->cmd == API_CMD_START || req->cmd == API_CMD_STOP ||
	    req->cmd == API_CMD_EXTEND || req->cmd == API_CMD_AUTH)
		by = who->by(req, who->arg);
	switch (req->cmd) {
	case API_CMD_CHECKS:
		rc = run_checks(x, req, ans, j);
		break;
	case API_CMD_OPENVPN:
		rc = run_openvpn(x, req, ans, j);
		break;
	case API_CMD_AUTH:
		rc = run_auth(x, req, by, ans, j);
		break;
	case API_CMD_HISTORY:
	case API_CMD_EXTEND:
		rc = run_session(x, req, by, ans, j);
		break;
	case API_CMD_START:
		rc = run_start(x, req, by, ans, j);
		break;
	case API_CMD_STOP:
		rc = run_stop(x, by, ans, j);
		break;
	default:
		rc = answer_error(ans, "internal", "not a command for a job");
		break;
	}
	json_decref(by);
	return rc;
}

int
cmd_execute(struct cmd *x, const struct api_request *req,
    const struct cmd_caller *who, struct cmd_answer *ans, cmd_done_fn done,
    void *arg, struct cmd_job **job)
{
	struct cmd_job *j;
	json_t *res;
	int rc;

	*job = NULL;
	if (req->changes && !who->authorised)
		/* The transport decides who may; this is the backstop. */
		return answer_error(ans, "forbidden", "this command changes "
		    "the support VPN and needs authorisation");
	switch (req->cmd) {
	case API_CMD_STATUS:
		return answer_ok(ans, vpn_status_json(x->vpn));
	case API_CMD_VERSION:
		return answer_ok(ans, version_json(x));
	case API_CMD_LOG:
		if ((res = json_array()) != NULL)
			log_recent(req->lines, collect_line, res);
		return answer_ok(ans, json_pack("{s:o}", "lines", res));
	case API_CMD_SUBSCRIBE:
		return answer_error(ans, "internal", "subscriptions belong to "
		    "the transport");
	default:
		break;
	}
	if ((j = job_new(x, who, done, arg)) == NULL)
		return answer_error(ans, "internal", "out of memory");
	if ((rc = run_job(x, req, who, ans, j)) != 0) {
		free(j);
		return rc;
	}
	*job = j;
	return 0;
}
