/* SPDX-License-Identifier: MIT */
/*
 * The vpn state machine. Inputs: owner commands (start, stop), the openvpn
 * process (started, exited), the management link (up, down) and openvpn's
 * notifications (>HOLD, >STATE, ...). Every change of the promised state
 * goes through set_state(); every hold decision through on_hold() and
 * reconcile(). The hold flag stays on, so each restart of openvpn ends in a
 * >HOLD, which is released exactly once and only while the owner wants the
 * VPN up.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "checks.h"
#include "config.h"
#include "consent.h"
#include "events.h"
#include "log.h"
#include "mgmt.h"
#include "proc.h"
#include "settings.h"
#include "supportvpn_event.h"
#include "util.h"
#include "vpn.h"

/* Longest pause honoured from ">HOLD:Waiting for hold release:N". */
#define VPN_MAX_HOLD_PAUSE_S	300
/* Retries of a release whose consent record could not be written. */
#define VPN_CONSENT_RETRY_MIN_MS	1000u
#define VPN_CONSENT_RETRY_MAX_MS	60000u

enum waiter_kind { WAIT_START, WAIT_STOP };

struct vpn_waiter {
	struct vpn		*v;
	struct vpn_waiter	*next;
	enum waiter_kind	 kind;
	bool			 wait;		/* start: until connected */
	bool			 finished;
	vpn_done_fn		 done;
	void			*arg;
	enum vpn_result		 result;
	char			 message[1200];
	uv_timer_t		 timer;		/* timeout, then completion */
};

struct vpn {
	uv_loop_t		*loop;
	const struct config	*cfg;
	struct vpn_callbacks	 cb;
	void			*arg;
	struct proc		*proc;
	struct mgmt		*mgmt;
	struct settings		 settings;	/* what is in effect */
	bool			 settings_unsaved; /* the file says otherwise */

	enum vpn_state		 state;
	char			 detail[768];
	int64_t			 since_ms;

	bool			 want_up;	/* the owner wants it up now */
	bool			 stop_requested; /* hold on + SIGUSR1 sent */
	bool			 held;		/* openvpn sits in a hold */
	bool			 release_pending; /* release_timer runs */
	unsigned		 consent_retry_ms; /* after a failed grant */
	bool			 shutting_down;
	bool			 seen_hold;	/* since openvpn started */
	unsigned		 hold_seconds;
	uv_timer_t		 release_timer;
	uv_timer_t		 stop_timer;
	int			 open_handles;
	bool			 freeing;

	bool			 ovpn_running;
	int			 ovpn_pid;
	char			 ovpn_state[32];
	char			 ovpn_detail[128];
	char			 ovpn_version[64];
	char			 exit_why[1200];
	char			 fatal[512];	/* >FATAL: of this openvpn */
	/* Why we kill this openvpn (it stopped answering); "" if we do not. */
	char			 kill_why[400];

	char			 tun_ip[64];
	char			 remote_ip[64];
	int			 remote_port;
	uint64_t		 bytes_in, bytes_out;
	uint64_t		 base_in, base_out;
	char			 server_cn[256];
	char			 server_sha256[80];
	struct vpn_tunnel	 tunnel;	/* as it was when connected */
	char			 stop_why[256];	/* the stop's detail */
	void			(*status_hook)(json_t *, void *);
	void			*status_hook_arg;
	/* Why the last handshake was refused, in words; "" after success. */
	char			 refusal[512];
	struct events		*events;	/* NULL without the plugin */
	struct checks		*checks;
	bool			 checks_stale;	/* arming waits for a fresh run */
	uv_timer_t		 checks_timer;	/* while armed, not connected */

	struct vpn_waiter	*waiters;
	void			(*shutdown_done)(void *);
	void			*shutdown_arg;
};

static const char *const state_names[] = {
	"stopped", "waiting", "starting", "connected", "reconnecting",
	"stopping", "failed",
};

const char *
vpn_state_name(enum vpn_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ?
	    state_names[s] : "?";
}

const char *
vpn_result_code(enum vpn_result r)
{
	switch (r) {
	case VPN_OK:
		return "ok";
	case VPN_ERR_TIMEOUT:
		return "timeout";
	case VPN_ERR_FAILED:
		return "failed";
	case VPN_ERR_SUPERSEDED:
		return "superseded";
	case VPN_ERR_STORAGE:
		return "storage";
	case VPN_ERR_SHUTDOWN:
		return "shutting_down";
	}
	return "internal";
}

enum vpn_state
vpn_state(const struct vpn *v)
{
	return v->state;
}

bool
vpn_start_when_possible(const struct vpn *v)
{
	return v->settings.start_when_possible;
}

const char *
vpn_openvpn_version(const struct vpn *v)
{
	return v->ovpn_version[0] != '\0' ? v->ovpn_version : NULL;
}

static void
emit(struct vpn *v, const char *name, json_t *fields)
{
	if (fields == NULL)
		return;
	if (v->cb.on_event != NULL && !v->freeing)
		v->cb.on_event(name, fields, v->arg);
	else
		json_decref(fields);
}

/* ---- waiters ---------------------------------------------------------- */

static void
on_waiter_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
waiter_unlink(struct vpn_waiter *w)
{
	struct vpn_waiter **pp;

	for (pp = &w->v->waiters; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	w->next = NULL;
}

static void
on_waiter_fire(uv_timer_t *t)
{
	struct vpn_waiter *w = t->data;

	if (!w->finished) {
		/* The start timeout. */
		w->finished = true;
		w->result = VPN_ERR_TIMEOUT;
		snprintf(w->message, sizeof(w->message), "not connected after "
		    "the timeout (%s: %s); the support VPN keeps trying until "
		    "it is stopped", vpn_state_name(w->v->state),
		    w->v->detail);
	}
	waiter_unlink(w);
	if (w->done != NULL)
		w->done(w->result, w->message, w->arg);
	uv_close((uv_handle_t *)&w->timer, on_waiter_closed);
}

/* Ends w with r; the callback runs on the next loop iteration. */
static void
waiter_finish(struct vpn_waiter *w, enum vpn_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
waiter_finish(struct vpn_waiter *w, enum vpn_result r, const char *fmt, ...)
{
	va_list ap;

	if (w->finished)
		return;
	w->finished = true;
	w->result = r;
	va_start(ap, fmt);
	vsnprintf(w->message, sizeof(w->message), fmt, ap);
	va_end(ap);
	uv_timer_start(&w->timer, on_waiter_fire, 0, 0);
}

static struct vpn_waiter *
waiter_new(struct vpn *v, enum waiter_kind kind, vpn_done_fn done, void *arg)
{
	struct vpn_waiter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->v = v;
	w->kind = kind;
	w->done = done;
	w->arg = arg;
	uv_timer_init(v->loop, &w->timer);
	w->timer.data = w;
	w->next = v->waiters;
	v->waiters = w;
	return w;
}

void
vpn_waiter_cancel(struct vpn_waiter *w)
{
	if (w == NULL)
		return;
	w->done = NULL;
	if (!w->finished) {
		w->finished = true;
		uv_timer_start(&w->timer, on_waiter_fire, 0, 0);
	}
}

/* Finishes every unfinished waiter of kind (start waiters only those that
 * wait for the connection) with r. */
static void
finish_waiters(struct vpn *v, enum waiter_kind kind, enum vpn_result r,
    const char *msg)
{
	struct vpn_waiter *w;

	for (w = v->waiters; w != NULL; w = w->next)
		if (w->kind == kind && !w->finished)
			waiter_finish(w, r, "%s", msg);
}

/* ---- state ------------------------------------------------------------ */

static void
clear_tunnel(struct vpn *v)
{
	v->tun_ip[0] = v->remote_ip[0] = '\0';
	v->remote_port = 0;
	v->server_cn[0] = v->server_sha256[0] = '\0';
}

static bool
with_plugin(const struct vpn *v)
{
	return v->cfg->ovpn_plugin[0] != '\0';
}

/* Without a vendor cloud there is nothing to check against. */
static bool
checks_enabled(const struct vpn *v)
{
	return v->cfg->checks_cloud_url[0] != '\0';
}

/* Second gate: without the record the plugin refuses every handshake. */
static void
revoke_consent(struct vpn *v)
{
	int rc;

	if (!with_plugin(v))
		return;
	if ((rc = consent_revoke(v->cfg->consent_file)) < 0)
		log_error("consent: cannot remove %s: %s",
		    v->cfg->consent_file, strerror(-rc));
	/* The next grant is then a rename; if this fails, the grant writes
	 * the record itself (and says so if it cannot). */
	if (v->shutting_down)
		consent_unstage(v->cfg->consent_file);
	else if ((rc = consent_stage(v->cfg->consent_file)) < 0)
		log_debug("consent: cannot prepare a record: %s",
		    strerror(-rc));
}

/* Writes the record unless ours is still in place (openvpn's own
 * restarts release the hold again without a new owner decision). */
static int
grant_consent(struct vpn *v)
{
	if (!with_plugin(v) || consent_in_place(v->cfg->consent_file))
		return 0;
	return consent_grant(v->cfg->consent_file);
}

static void schedule_checks(struct vpn *v);

/*
 * Tells the owner of the vpn that the tunnel came up or went down. The
 * fields are kept from the moment it came up: on the way down openvpn's
 * notices may already have cleared them.
 */
static void
tunnel_changed(struct vpn *v, bool up, const char *detail)
{
	struct vpn_tunnel *t = &v->tunnel;

	if (up) {
		memset(t, 0, sizeof(*t));
		memcpy(t->server_cn, v->server_cn, sizeof(t->server_cn));
		memcpy(t->server_fingerprint, v->server_sha256,
		    sizeof(t->server_fingerprint));
		memcpy(t->server_ip, v->remote_ip, sizeof(t->server_ip));
		t->server_port = v->remote_port;
		memcpy(t->local_ip, v->tun_ip, sizeof(t->local_ip));
	}
	t->bytes_in = v->bytes_in - v->base_in;
	t->bytes_out = v->bytes_out - v->base_out;
	if (v->cb.on_tunnel != NULL && !v->freeing)
		v->cb.on_tunnel(up, t, v->state, detail, v->arg);
}

static void
set_state(struct vpn *v, enum vpn_state s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The one transition function: state, detail, since, log, event, and the
 * waiters whose goal a state decides. */
static void
set_state(struct vpn *v, enum vpn_state s, const char *fmt, ...)
{
	enum vpn_state prev = v->state;
	char detail[sizeof(v->detail)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (s != prev || strcmp(detail, v->detail) != 0) {
		if (s != prev)
			v->since_ms = util_now_ms();
		v->state = s;
		memcpy(v->detail, detail, sizeof(v->detail));
		if (s != prev)
			log_info("vpn: %s -> %s: %s", vpn_state_name(prev),
			    vpn_state_name(s), detail);
		else
			log_debug("vpn: %s: %s", vpn_state_name(s), detail);
		emit(v, "state", json_pack("{s:s, s:s, s:s, s:b}", "vpn",
		    vpn_state_name(s), "previous", vpn_state_name(prev),
		    "detail", detail, "start_when_possible",
		    v->settings.start_when_possible));
	}

	if (s != prev && (s == VPN_CONNECTED || prev == VPN_CONNECTED))
		tunnel_changed(v, s == VPN_CONNECTED, detail);
	schedule_checks(v);
	if (s == VPN_CONNECTED)
		finish_waiters(v, WAIT_START, VPN_OK, "");
	else if (s == VPN_FAILED)
		finish_waiters(v, WAIT_START, VPN_ERR_FAILED, detail);
	else if (s == VPN_STOPPED || s == VPN_WAITING)
		finish_waiters(v, WAIT_STOP, VPN_OK, "");
}

/*
 * Whether the prerequisites for "start when possible" hold: openvpn is
 * running and reachable, and the last run of the checks passed. why (may
 * be NULL) gets the reason when not, naming the first failing check.
 */
static bool
vpn_possible(const struct vpn *v, char *why, size_t len)
{
	const char *name, *detail;

	if (!v->ovpn_running) {
		if (why != NULL)
			snprintf(why, len, "openvpn is not running");
		return false;
	}
	if (!mgmt_is_up(v->mgmt)) {
		if (why != NULL)
			snprintf(why, len, "openvpn's management interface is "
			    "not connected yet");
		return false;
	}
	if (checks_enabled(v) && v->checks_stale) {
		if (why != NULL)
			snprintf(why, len, "checking the prerequisites");
		return false;
	}
	if (checks_enabled(v) && !checks_all_ok(v->checks, &name, &detail)) {
		if (why != NULL)
			snprintf(why, len, "%s: %s", name != NULL ? name :
			    "checks", detail != NULL ? detail : "failed");
		return false;
	}
	return true;
}

static void
on_release_answer(int status, const struct mgmt_msg *resp, void *arg)
{
	if (status == 0 && !resp->u.response.ok)
		log_warnx("vpn: openvpn refused 'hold release': %s",
		    resp->u.response.text);
}

static void on_release_timer(uv_timer_t *t);

/*
 * No record, no release: openvpn stays held. A waiting start learns it now
 * rather than at its timeout; the release is tried again with a doubling
 * pause, so a passing fault (a full disk) does not need another start.
 */
static void
consent_failed(struct vpn *v, int rc)
{
	char msg[sizeof(v->detail)];

	v->consent_retry_ms = v->consent_retry_ms == 0 ?
	    VPN_CONSENT_RETRY_MIN_MS : v->consent_retry_ms * 2;
	if (v->consent_retry_ms > VPN_CONSENT_RETRY_MAX_MS)
		v->consent_retry_ms = VPN_CONSENT_RETRY_MAX_MS;
	log_error("consent: cannot write %s: %s; trying again in %u s",
	    v->cfg->consent_file, strerror(-rc), v->consent_retry_ms / 1000);
	snprintf(msg, sizeof(msg), "cannot record the owner's consent in %s "
	    "(%s); not connecting, trying again in %u s",
	    v->cfg->consent_file, strerror(-rc), v->consent_retry_ms / 1000);
	set_state(v, v->state, "%s", msg);
	finish_waiters(v, WAIT_START, VPN_ERR_STORAGE, msg);
	v->release_pending = true;
	uv_timer_start(&v->release_timer, on_release_timer,
	    v->consent_retry_ms, 0);
}

/* Releases the current hold, exactly once. */
static void
release_hold(struct vpn *v)
{
	int rc;

	uv_timer_stop(&v->release_timer);
	v->release_pending = false;
	if (!v->held || !v->want_up)
		return;
	if ((rc = grant_consent(v)) < 0) {
		consent_failed(v, rc);
		return;
	}
	v->consent_retry_ms = 0;
	if ((rc = mgmt_send(v->mgmt, "hold release", MGMT_EXPECT_LINE,
	    on_release_answer, v)) < 0) {
		/* The link is down; the next link brings the hold again. */
		log_warnx("vpn: cannot release the hold: %s", strerror(-rc));
		return;
	}
	v->held = false;
	log_info("vpn: released openvpn's hold");
	/* A refusal stays in view until a handshake succeeds. */
	if (v->refusal[0] != '\0')
		set_state(v, v->state == VPN_RECONNECTING ? VPN_RECONNECTING :
		    VPN_STARTING, "%s; retrying", v->refusal);
	else if (v->state == VPN_RECONNECTING)
		set_state(v, VPN_RECONNECTING, "reconnecting to the support "
		    "server");
	else
		set_state(v, VPN_STARTING, "connecting to the support server");
}

static void
on_release_timer(uv_timer_t *t)
{
	release_hold(t->data);
}

/* Decides what a held openvpn does next: released, or stays put. */
static void
reconcile(struct vpn *v)
{
	char why[256];

	if (v->shutting_down || !v->held || v->stop_requested)
		return;
	if (!v->want_up && v->settings.start_when_possible) {
		if (vpn_possible(v, why, sizeof(why)))
			v->want_up = true;
		else {
			set_state(v, VPN_WAITING, "waiting until the support "
			    "VPN can start: %s", why);
			return;
		}
	}
	if (v->want_up) {
		if (!v->release_pending)
			release_hold(v);
		return;
	}
	if (v->state == VPN_STOPPING)
		set_state(v, VPN_STOPPED, "%s", v->stop_why);
	else if (v->state != VPN_STOPPED || !v->seen_hold)
		set_state(v, VPN_STOPPED, "the support VPN is off; openvpn is "
		    "ready and held");
	v->seen_hold = true;
}

/* ---- openvpn notifications ------------------------------------------- */

static const char *
state_words(const char *name)
{
	static const struct { const char *name, *words; } w[] = {
		{ "CONNECTING", "starting the connection" },
		{ "RESOLVE", "resolving the support server's name" },
		{ "TCP_CONNECT", "opening a TCP connection to the support "
		    "server" },
		{ "WAIT", "waiting for the support server to answer" },
		{ "AUTH", "authenticating with the support server" },
		{ "AUTH_PENDING", "waiting for the support server to finish "
		    "authentication" },
		{ "GET_CONFIG", "receiving the tunnel settings" },
		{ "ASSIGN_IP", "assigning the tunnel address" },
		{ "ADD_ROUTES", "adding routes" },
	};
	size_t i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strcmp(name, w[i].name) == 0)
			return w[i].words;
	return NULL;
}

static void
on_hold(struct vpn *v, const struct mgmt_msg *msg)
{
	bool ours = v->stop_requested;
	unsigned pause = msg->u.hold.seconds;

	v->held = true;
	v->hold_seconds = pause;
	clear_tunnel(v);
	emit(v, "openvpn", json_pack("{s:s, s:i}", "kind", "hold", "seconds",
	    (int)pause));
	if (v->stop_requested) {
		v->stop_requested = false;
		uv_timer_stop(&v->stop_timer);
	}
	if (v->release_pending || v->shutting_down)
		return;
	/*
	 * openvpn restarted by itself (link lost, handshake failed) while the
	 * owner wants the VPN up: keep its retry pause instead of releasing at
	 * once (a release on every restart defeats its backoff).
	 */
	if (v->want_up && !ours && pause > 0 &&
	    (v->state == VPN_STARTING || v->state == VPN_RECONNECTING)) {
		if (pause > VPN_MAX_HOLD_PAUSE_S)
			pause = VPN_MAX_HOLD_PAUSE_S;
		v->release_pending = true;
		uv_timer_start(&v->release_timer, on_release_timer,
		    (uint64_t)pause * 1000, 0);
		if (v->refusal[0] != '\0')
			set_state(v, v->state, "%s; retrying in %u s",
			    v->refusal, pause);
		else
			set_state(v, v->state, "openvpn will retry in %u s%s%s",
			    pause, v->ovpn_detail[0] != '\0' ? " after " : "",
			    v->ovpn_detail);
		return;
	}
	reconcile(v);
}

static void begin_stop(struct vpn *v, const char *why);

static void
on_state(struct vpn *v, const struct mgmt_msg *msg)
{
	const char *name = msg->u.state.name, *detail = msg->u.state.detail;
	const char *words;

	snprintf(v->ovpn_state, sizeof(v->ovpn_state), "%s", name);
	util_copy_printable(v->ovpn_detail, sizeof(v->ovpn_detail), detail);
	emit(v, "openvpn", json_pack("{s:s, s:s, s:s}", "kind", "state",
	    "state", name, "detail", detail));
	if (strcmp(name, "CONNECTED") == 0) {
		v->held = false;
		util_copy_printable(v->tun_ip, sizeof(v->tun_ip),
		    msg->u.state.tun_ip4[0] != '\0' ? msg->u.state.tun_ip4 :
		    msg->u.state.tun_ip6);
		util_copy_printable(v->remote_ip, sizeof(v->remote_ip),
		    msg->u.state.remote_ip);
		v->remote_port = atoi(msg->u.state.remote_port);
		v->base_in = v->bytes_in;
		v->base_out = v->bytes_out;
		v->refusal[0] = '\0';
		if (!v->want_up) {
			/* Someone else released the hold: not ours to keep. */
			log_warnx("vpn: openvpn connected although the support "
			    "VPN is off; stopping it");
			begin_stop(v, "openvpn connected without the owner's "
			    "consent; stopping it");
			return;
		}
		if (strcmp(detail, "SUCCESS") == 0 && v->server_cn[0] != '\0')
			set_state(v, VPN_CONNECTED, "connected to the support "
			    "server %s (%s:%d); tunnel address %s", v->server_cn,
			    v->remote_ip, v->remote_port, v->tun_ip);
		else if (strcmp(detail, "SUCCESS") == 0)
			set_state(v, VPN_CONNECTED, "connected to the support "
			    "server %s:%d; tunnel address %s", v->remote_ip,
			    v->remote_port, v->tun_ip);
		else
			set_state(v, VPN_CONNECTED, "connected to the support "
			    "server %s:%d with errors (%s); tunnel address %s",
			    v->remote_ip, v->remote_port, detail, v->tun_ip);
		return;
	}
	if (strcmp(name, "RECONNECTING") == 0) {
		clear_tunnel(v);
		if (v->stop_requested || v->state == VPN_STOPPING)
			return;
		if (v->state == VPN_CONNECTED)
			set_state(v, VPN_RECONNECTING, "the connection to the "
			    "support server was lost (%s); reconnecting", detail);
		else if ((v->state == VPN_STARTING ||
		    v->state == VPN_RECONNECTING) && v->refusal[0] != '\0')
			set_state(v, v->state, "%s; retrying", v->refusal);
		else if (v->state == VPN_STARTING ||
		    v->state == VPN_RECONNECTING)
			set_state(v, v->state, "connection attempt failed (%s);"
			    " retrying", detail);
		return;
	}
	if (strcmp(name, "EXITING") == 0) {
		clear_tunnel(v);
		if (!v->shutting_down)
			log_info("vpn: openvpn is exiting (%s)", detail);
		return;
	}
	/* A refusal stays in view until a handshake succeeds. */
	if ((words = state_words(name)) != NULL && v->refusal[0] == '\0' &&
	    (v->state == VPN_STARTING || v->state == VPN_RECONNECTING))
		set_state(v, v->state, "%s", words);
}

static void
answer_prompt(struct vpn *v, const struct mgmt_msg *msg)
{
	char cmd[512], kind[256];
	const char *verb = NULL;
	int rc;

	if (mgmt_quote_arg(kind, sizeof(kind), msg->u.prompt.kind) < 0)
		snprintf(kind, sizeof(kind), "\"Auth\"");
	switch (msg->type) {
	case MGMT_MSG_PASSWORD:
		if (strncmp(msg->u.prompt.text, "Need ", 5) != 0)
			return;	/* a report (Verification Failed, ...) */
		verb = "password";
		log_warnx("vpn: openvpn asks for the %s password; a support "
		    "VPN client must not need one (check the client "
		    "configuration); answering with an empty one",
		    msg->u.prompt.kind);
		if (strstr(msg->u.prompt.text, "username/password") != NULL &&
		    util_snprintf(cmd, sizeof(cmd), "username %s \"\"",
		    kind) == 0)
			(void)mgmt_send(v->mgmt, cmd, MGMT_EXPECT_LINE, NULL,
			    NULL);	/* the answer only matters to openvpn */
		break;
	case MGMT_MSG_NEED_OK:
		verb = "needok";
		log_warnx("vpn: openvpn asks to confirm %s; cancelling it",
		    msg->u.prompt.kind);
		break;
	case MGMT_MSG_NEED_STR:
		verb = "needstr";
		log_warnx("vpn: openvpn asks for the %s text; answering with "
		    "an empty one", msg->u.prompt.kind);
		break;
	default:
		return;
	}
	if (msg->type == MGMT_MSG_NEED_OK)
		rc = util_snprintf(cmd, sizeof(cmd), "needok %s cancel", kind);
	else
		rc = util_snprintf(cmd, sizeof(cmd), "%s %s \"\"", verb, kind);
	if (rc == 0 && (rc = mgmt_send(v->mgmt, cmd, MGMT_EXPECT_LINE, NULL,
	    NULL)) < 0)
		log_warnx("vpn: cannot answer openvpn's prompt: %s",
		    strerror(-rc));
}

static void
on_mgmt_msg(const struct mgmt_msg *msg, void *arg)
{
	struct vpn *v = arg;

	/* The plugin's news first: openvpn reports after its hooks ran. Its
	 * log lines are fetched now too (they follow from the loop). */
	events_drain(v->events);
	proc_drain(v->proc);
	switch (msg->type) {
	case MGMT_MSG_HOLD:
		on_hold(v, msg);
		break;
	case MGMT_MSG_STATE:
		on_state(v, msg);
		break;
	case MGMT_MSG_BYTECOUNT:
		v->bytes_in = msg->u.bytecount.bytes_in;
		v->bytes_out = msg->u.bytecount.bytes_out;
		break;
	case MGMT_MSG_FATAL:
		log_warnx("vpn: openvpn reports a fatal error: %s", msg->u.text);
		util_copy_printable(v->fatal, sizeof(v->fatal), msg->u.text);
		emit(v, "openvpn", json_pack("{s:s, s:s}", "kind", "fatal",
		    "text", msg->u.text));
		break;
	case MGMT_MSG_LOG:
		emit(v, "openvpn", json_pack("{s:s, s:s, s:s}", "kind", "log",
		    "flags", msg->u.log.flags, "text", msg->u.log.text));
		break;
	case MGMT_MSG_PASSWORD:
	case MGMT_MSG_NEED_OK:
	case MGMT_MSG_NEED_STR:
		answer_prompt(v, msg);
		break;
	case MGMT_MSG_PASSWORD_PROMPT:
		log_warnx("vpn: openvpn's management interface asks for a "
		    "password; supportvpnd owns it and sets none");
		break;
	case MGMT_MSG_INFO:
		break;
	default:
		log_debug("vpn: openvpn says: %s", msg->line);
		break;
	}
}

/* ---- management link --------------------------------------------------- */

static void
on_version_answer(int status, const struct mgmt_msg *resp, void *arg)
{
	struct vpn *v = arg;
	size_t i;

	if (status != 0 || !resp->u.response.ok)
		return;
	for (i = 0; i < resp->u.response.nlines; i++) {
		const char *l = resp->u.response.lines[i];
		const char *p = "OpenVPN Version: OpenVPN ";

		if (strncmp(l, p, strlen(p)) == 0) {
			size_t n = strcspn(l + strlen(p), " ");

			if (n >= sizeof(v->ovpn_version))
				n = sizeof(v->ovpn_version) - 1;
			memcpy(v->ovpn_version, l + strlen(p), n);
			v->ovpn_version[n] = '\0';
		}
	}
}

static void
on_state_answer(int status, const struct mgmt_msg *resp, void *arg)
{
	struct vpn *v = arg;
	const char *l, *c;
	size_t n;

	if (status != 0)
		return;
	/* "time,NAME,...": the current state when we connected. */
	if (resp->u.response.ok && resp->u.response.nlines > 0) {
		l = resp->u.response.lines[resp->u.response.nlines - 1];
		if ((c = strchr(l, ',')) != NULL) {
			n = strcspn(c + 1, ",");
			if (n >= sizeof(v->ovpn_state))
				n = sizeof(v->ovpn_state) - 1;
			memcpy(v->ovpn_state, c + 1, n);
			v->ovpn_state[n] = '\0';
		}
	}
	/*
	 * The last setup answer: any >HOLD sent with the greeting has been
	 * handled by now. A stop that came while the link was down is
	 * finished only if openvpn is not already back in its hold.
	 */
	if (v->state == VPN_STOPPING && !v->stop_requested && !v->held)
		begin_stop(v, v->detail);
}

static void
on_setup_answer(int status, const struct mgmt_msg *resp, void *arg)
{
	if (status == 0 && !resp->u.response.ok)
		log_warnx("vpn: openvpn refused a setup command: %s",
		    resp->u.response.text);
}

static void
on_mgmt_up(void *arg)
{
	struct vpn *v = arg;
	char bc[32];
	int rc = 0;

	/*
	 * openvpn makes its unix socket world-writable on purpose; run_dir
	 * (0700) is what keeps others out, and this keeps the promise of a
	 * 0600 socket too.
	 */
	if (chmod(v->cfg->mgmt_sock, 0600) < 0)
		log_warn("vpn: cannot chmod %s", v->cfg->mgmt_sock);
	snprintf(bc, sizeof(bc), "bytecount %d", v->cfg->bytecount_s);
	/* The link is fresh: every per-connection setting is off again. */
	if ((rc = mgmt_send(v->mgmt, "hold on", MGMT_EXPECT_LINE,
	    on_setup_answer, v)) < 0 ||
	    (rc = mgmt_send(v->mgmt, "state on", MGMT_EXPECT_LINE,
	    on_setup_answer, v)) < 0 ||

	    (rc = mgmt_send(v->mgmt, bc, MGMT_EXPECT_LINE,
	    on_setup_answer, v)) < 0 ||
	    (rc = mgmt_send(v->mgmt, "version", MGMT_EXPECT_BLOCK,
	    on_version_answer, v)) < 0 ||
	    (rc = mgmt_send(v->mgmt, "state", MGMT_EXPECT_BLOCK,
	    on_state_answer, v)) < 0)
		log_warnx("vpn: cannot set up the management link: %s",
		    strerror(-rc));
}

static void
on_mgmt_down(const char *why, void *arg)
{
	struct vpn *v = arg;

	if (v->ovpn_running && !v->shutting_down && v->kill_why[0] == '\0')
		log_warnx("vpn: lost openvpn's management link: %s; "
		    "reconnecting", why);
	/* What openvpn does now is learned again when the link is back. */
	v->held = false;
	v->release_pending = false;
	uv_timer_stop(&v->release_timer);
	if (v->kill_why[0] != '\0') {
		/* on_mgmt_stuck: it is being killed, not reconnecting. */
		if (v->state == VPN_CONNECTED) {
			clear_tunnel(v);
			set_state(v, VPN_RECONNECTING, "%s; restarting it",
			    v->kill_why);
		}
		return;
	}
	/* --management-signal: openvpn drops the tunnel and restarts. */
	if (v->ovpn_running && !v->shutting_down && v->state == VPN_CONNECTED) {
		clear_tunnel(v);
		set_state(v, VPN_RECONNECTING, "lost openvpn's management link "
		    "(%s); openvpn restarts the connection", why);
	}
}

/*
 * openvpn no longer answers on its management socket (hung, or stopped:
 * openvpn is single-threaded, so the tunnel is stuck too) or writes only
 * garbage there. A new openvpn is the way out: SIGKILL works on a stopped
 * process as well, proc restarts it, and the hold that follows restores
 * what the owner wants (released if up, held otherwise).
 */
static void
on_mgmt_stuck(const char *why, void *arg)
{
	struct vpn *v = arg;
	int rc;

	if (!v->ovpn_running || v->shutting_down || v->kill_why[0] != '\0')
		return;
	snprintf(v->kill_why, sizeof(v->kill_why), "openvpn (pid %d) %s",
	    v->ovpn_pid, why);
	log_error("vpn: %s; killing it and starting a new one", v->kill_why);
	if ((rc = proc_kill(v->proc, SIGKILL)) < 0) {
		log_warnx("vpn: cannot kill openvpn (pid %d): %s", v->ovpn_pid,
		    uv_strerror(rc));
		v->kill_why[0] = '\0';
	}
}

/* ---- openvpn process -------------------------------------------------- */

static void
on_proc_started(int pid, void *arg)
{
	struct vpn *v = arg;

	v->ovpn_running = true;
	v->ovpn_pid = pid;
	v->held = false;
	v->seen_hold = false;
	v->fatal[0] = v->kill_why[0] = '\0';
	/* A new process counts its traffic from zero. */
	v->bytes_in = v->bytes_out = v->base_in = v->base_out = 0;
	v->ovpn_state[0] = v->ovpn_detail[0] = '\0';
	emit(v, "openvpn", json_pack("{s:s, s:b, s:i}", "kind", "process",
	    "running", 1, "pid", pid));
	mgmt_connect(v->mgmt);
}

static void
on_proc_exited(int pid, int64_t exit_status, int term_signal, const char *why,
    int64_t restart_ms, void *arg)
{
	struct vpn *v = arg;
	json_t *ev;

	events_drain(v->events);	/* while its pid is still the sender */
	v->ovpn_running = false;
	v->ovpn_pid = 0;
	v->held = false;
	v->stop_requested = false;
	v->release_pending = false;
	uv_timer_stop(&v->release_timer);
	clear_tunnel(v);
	mgmt_disconnect(v->mgmt);
	snprintf(v->exit_why, sizeof(v->exit_why), "%s", why);
	ev = json_pack("{s:s, s:b, s:i, s:s}", "kind", "process", "running", 0,
	    "pid", pid, "why", why);
	if (ev != NULL && term_signal != 0)
		json_object_set_new(ev, "signal", json_integer(term_signal));
	else if (ev != NULL)
		json_object_set_new(ev, "exit_status",
		    json_integer((json_int_t)exit_status));
	emit(v, "openvpn", ev);
	if (v->shutting_down)
		return;
	/* Our reason for a kill, or openvpn's >FATAL:, says more than its
	 * exit status. */
	if (v->kill_why[0] != '\0' && term_signal == SIGKILL)
		snprintf(v->exit_why, sizeof(v->exit_why), "%s, so it was "
		    "killed", v->kill_why);
	else if (v->fatal[0] != '\0' && term_signal != 0)
		snprintf(v->exit_why, sizeof(v->exit_why), "openvpn was killed "
		    "by signal %d after a fatal error: %s", term_signal,
		    v->fatal);
	else if (v->fatal[0] != '\0')
		snprintf(v->exit_why, sizeof(v->exit_why), "openvpn exited with "
		    "status %lld after a fatal error: %s",
		    (long long)exit_status, v->fatal);
	/* A kill of ours was logged when it was decided. */
	if (v->kill_why[0] == '\0')
		log_warnx("vpn: %s", v->exit_why);
	v->kill_why[0] = '\0';
	if (restart_ms >= 0)
		set_state(v, VPN_FAILED, "%s; restarting it in %.1f s",
		    v->exit_why, (double)restart_ms / 1000.0);
	else
		set_state(v, VPN_FAILED, "%s", v->exit_why);
}

/* ---- the plugin and openvpn's own certificate checks ------------------- */

static pid_t
plugin_sender(void *arg)
{
	struct vpn *v = arg;

	return v->ovpn_running ? (pid_t)v->ovpn_pid : 0;
}

static const char *
ev_str(json_t *ev, const char *key)
{
	const char *s = json_string_value(json_object_get(ev, key));

	return s != NULL ? s : "";
}

static void
note_refusal(struct vpn *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Remembers why a handshake failed and shows it while connecting. */
static void
note_refusal(struct vpn *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->refusal, sizeof(v->refusal), fmt, ap);
	va_end(ap);
	log_warnx("vpn: %s", v->refusal);
	if (v->state == VPN_STARTING || v->state == VPN_RECONNECTING)
		set_state(v, v->state, "%s", v->refusal);
}

static void
on_tls_verify(struct vpn *v, json_t *ev)
{
	const char *rule = ev_str(ev, SVPN_EV_RULE);
	const char *cn = ev_str(ev, SVPN_EV_CN);
	const char *reason = ev_str(ev, SVPN_EV_REASON);
	json_int_t depth = json_integer_value(json_object_get(ev,
	    SVPN_EV_DEPTH));

	if (strcmp(ev_str(ev, SVPN_EV_RESULT), SVPN_RESULT_ACCEPTED) == 0) {
		if (depth == 0) {
			char shown[256];

			util_copy_printable(shown, sizeof(shown), cn);
			log_info("plugin: accepted hub certificate '%s' (depth 0, "
			    "%s)", shown, ev_str(ev, SVPN_EV_SHA256));
			util_copy_printable(v->server_cn, sizeof(v->server_cn),
			    cn);
			util_copy_printable(v->server_sha256,
			    sizeof(v->server_sha256),
			    ev_str(ev, SVPN_EV_SHA256));
		}
		return;
	}
	if (strcmp(rule, SVPN_RULE_CONSENT) == 0)
		note_refusal(v, "the handshake was refused: no owner consent "
		    "(%s)", reason);
	else if (strcmp(rule, SVPN_RULE_POLICY) == 0)
		note_refusal(v, "every support server is refused because the "
		    "plugin's policy %s is unusable: %s", v->cfg->plugin_policy,
		    reason);
	else if (depth > 0)
		note_refusal(v, "the server's certificate chain ends in '%s', "
		    "which is not a vendor support root (%s: %s)", cn, rule,
		    reason);
	else
		note_refusal(v, "the server presented certificate '%s', which "
		    "is not a vendor support server (%s: %s)", cn, rule, reason);
}

static void
on_plugin_event(json_t *ev, pid_t sender, void *arg)
{
	struct vpn *v = arg;
	const char *type = ev_str(ev, SVPN_EV_TYPE);
	json_t *fields;

	log_debug("events: %s from openvpn (pid %d)", type, (int)sender);
	if (strcmp(type, SVPN_EV_TLS_VERIFY) == 0)
		on_tls_verify(v, ev);
	else if (strcmp(type, SVPN_EV_UP) == 0 && v->server_cn[0] == '\0')
		util_copy_printable(v->server_cn, sizeof(v->server_cn),
		    ev_str(ev, SVPN_EV_CN));
	if ((fields = json_deep_copy(ev)) == NULL)
		return;
	json_object_del(fields, SVPN_EV_VERSION);
	json_object_del(fields, SVPN_EV_PID);
	json_object_set_new(fields, "kind", json_string(type));
	json_object_del(fields, SVPN_EV_TYPE);
	emit(v, "peer", fields);
}

/*
 * openvpn's own checks (the chain against its ca, expiry, EKU/name options)
 * run before the plugin sees a certificate; their verdicts come only as log
 * lines such as "VERIFY ERROR: depth=0, error=certificate has expired: ...".
 */
static void
on_proc_line(const char *line, const char *flags, void *arg)
{
	struct vpn *v = arg;
	const char *p, *err;

	events_drain(v->events);
	emit(v, "openvpn", json_pack("{s:s, s:s, s:s}", "kind", "log",
	    "flags", flags, "text", line));
	if ((p = strstr(line, "VERIFY ")) == NULL || strstr(p, "ERROR") ==
	    NULL || strncmp(p, "VERIFY OK", 9) == 0)
		return;
	/* openvpn's echo of a plugin refusal: the event has it, with rule. */
	if (strncmp(p, "VERIFY PLUGIN ", 14) == 0)
		return;
	if ((err = strstr(p, "error=")) != NULL)
		note_refusal(v, "openvpn refused the support server's "
		    "certificate: %.300s", err + 6);
	else
		note_refusal(v, "openvpn refused the support server's "
		    "certificate: %.300s", p);
	emit(v, "peer", json_pack("{s:s, s:s, s:s}", "kind", "tls_verify",
	    "result", SVPN_RESULT_REFUSED, "reason", p));
}

/* ---- prerequisite checks --------------------------------------------- */

struct checks *
vpn_checks(const struct vpn *v)
{
	return v->checks;
}

json_t *
vpn_checks_json(const struct vpn *v)
{
	if (!checks_enabled(v))
		return json_pack("{s:b, s:b, s:n, s:b, s:[], s:s}", "ok", 1,
		    "enabled", 0, "checked_at", "running", 0, "items",
		    "detail", "no vendor cloud is configured "
		    "(checks.cloud_url is empty): the prerequisite checks are "
		    "off");
	return checks_json(v->checks);
}

static void
on_checks_timer(uv_timer_t *t)
{
	struct vpn *v = t->data;

	/* A run still going is joined, not doubled; its end reconciles. */
	(void)checks_run(v->checks, NULL, NULL);
}

/*
 * While "start when possible" is armed and the VPN is not up, the checks
 * run every checks.interval_s; otherwise only on request.
 */
static void
schedule_checks(struct vpn *v)
{
	bool want = checks_enabled(v) && v->settings.start_when_possible &&
	    !v->shutting_down &&
	    (v->state == VPN_WAITING || v->state == VPN_STOPPED ||
	    v->state == VPN_FAILED);
	uint64_t ms = (uint64_t)v->cfg->checks_interval_s * 1000;

	if (!want)
		uv_timer_stop(&v->checks_timer);
	else if (!uv_is_active((uv_handle_t *)&v->checks_timer))
		uv_timer_start(&v->checks_timer, on_checks_timer, ms, ms);
}

/* The fresh run an armed start waited for has ended: decide now. */
static void
on_arm_checks_done(void *arg)
{
	struct vpn *v = arg;

	v->checks_stale = false;
	reconcile(v);
}

static void
on_checks_change(void *arg)
{
	struct vpn *v = arg;

	emit(v, "checks", vpn_checks_json(v));
	/* The moment the network allows, an armed start goes ahead. */
	reconcile(v);
}

/* ---- owner commands --------------------------------------------------- */

/*
 * Makes "start when possible" swp, on disk first: in memory only once the
 * file says so. A file that a failed stop left behind (settings_unsaved)
 * is rewritten even when memory already agrees.
 */
static int
persist(struct vpn *v, bool swp)
{
	struct settings s = v->settings;
	int rc;

	if (v->settings.start_when_possible == swp && !v->settings_unsaved)
		return 0;
	s.start_when_possible = swp;
	if ((rc = settings_save(v->cfg->settings_file, &s)) < 0 && !swp &&
	    settings_remove(v->cfg->settings_file) == 0) {
		/* A full disk must not undo the owner's stop: with no file,
		 * nothing starts after a restart either. */
		log_warnx("settings: cannot write %s (%s); removed it instead:"
		    " start when possible is off", v->cfg->settings_file,
		    strerror(-rc));
		rc = 0;
	}
	if (rc < 0) {
		log_error("settings: cannot write %s: %s",
		    v->cfg->settings_file, strerror(-rc));
		/* Off holds for this run all the same (fail closed); the
		 * caller tells the owner that it may not survive a restart. */
		if (!swp) {
			v->settings = s;
			schedule_checks(v);
		}
		return rc;
	}
	if (rc > 0)
		log_warnx("settings: %s is written, but its directory could not"
		    " be synced (%s): it may not survive a power loss",
		    v->cfg->settings_file, strerror(rc));
	v->settings = s;
	v->settings_unsaved = false;
	log_info("settings: start when possible is now %s", swp ? "on" :
	    "off");
	schedule_checks(v);
	return 0;
}

/*
 * Clears "start when possible". If the file cannot be written, it is
 * cleared in memory all the same, so the next hold does not arm the VPN
 * again (a stop wins, and a session that was refused must not start);
 * the file stays behind (settings_unsaved) until a later write. 0, or the
 * write's -errno (logged).
 */
static int
disarm(struct vpn *v)
{
	int rc;

	if ((rc = persist(v, false)) < 0) {
		v->settings.start_when_possible = false;
		v->settings_unsaved = true;
		schedule_checks(v);
	}
	return rc;
}

int
vpn_arm(struct vpn *v, char *why, size_t whylen)
{
	bool was = v->settings.start_when_possible;
	int rc;

	if (v->shutting_down)
		return 0;	/* vpn_start refuses it */
	if ((rc = persist(v, true)) < 0) {
		snprintf(why, whylen, "cannot save 'start when possible' in %s: "
		    "%s; nothing was changed", v->cfg->settings_file,
		    strerror(-rc));
		return rc;
	}
	return was ? 0 : 1;
}

void
vpn_disarm(struct vpn *v)
{
	(void)disarm(v);	/* logged; memory is cleared either way */
}

int
vpn_start(struct vpn *v, bool when_possible, bool wait, unsigned timeout_s,
    vpn_done_fn done, void *arg, struct vpn_waiter **wp)
{
	struct vpn_waiter *w;
	const char *check, *check_detail;
	int rc;

	if ((w = waiter_new(v, WAIT_START, done, arg)) == NULL)
		return -ENOMEM;
	w->wait = wait;
	if (wp != NULL)
		*wp = w;
	if (v->shutting_down) {
		waiter_finish(w, VPN_ERR_SHUTDOWN, "supportvpnd is shutting "
		    "down");
		return 0;
	}
	if (when_possible && (rc = persist(v, true)) < 0) {
		waiter_finish(w, VPN_ERR_STORAGE, "cannot save 'start when "
		    "possible' in %s: %s; nothing was changed",
		    v->cfg->settings_file, strerror(-rc));
		return 0;
	}
	log_info("vpn: start requested%s", when_possible ?
	    " (when possible)" : "");
	finish_waiters(v, WAIT_STOP, VPN_ERR_SUPERSEDED, "a start arrived "
	    "while stopping; the support VPN is starting again");
	if (!when_possible)
		v->want_up = true;
	else if (checks_enabled(v) &&
	    (!checks_all_ok(v->checks, &check, &check_detail) ||
	    checks_age_ms(v->checks) < 0 || checks_age_ms(v->checks) >
	    (int64_t)v->cfg->checks_interval_s * 1000)) {
		/*
		 * Arming decides on fresh results, not on a green light the
		 * network may have lost since (a red one keeps it waiting
		 * anyway); the run's end reconciles.
		 */
		bool green = checks_all_ok(v->checks, &check, &check_detail);

		if (checks_run(v->checks, on_arm_checks_done, v) != NULL &&
		    green)
			v->checks_stale = true;
	}
	v->refusal[0] = '\0';
	if (v->state == VPN_STOPPED || v->state == VPN_WAITING)
		set_state(v, VPN_STARTING, "start requested");
	reconcile(v);
	if (!wait)
		waiter_finish(w, VPN_OK, "%s", "");
	else if (v->state == VPN_CONNECTED)
		waiter_finish(w, VPN_OK, "%s", "");
	else if (!w->finished)	/* reconcile may have decided it already */
		uv_timer_start(&w->timer, on_waiter_fire,
		    (uint64_t)timeout_s * 1000, 0);
	return 0;
}

static void
on_stop_timeout(uv_timer_t *t)
{
	struct vpn *v = t->data;

	if (!v->ovpn_running)
		return;
	log_warnx("vpn: openvpn did not return to its hold within %d ms; "
	    "killing it (it restarts held)", v->cfg->stop_timeout_ms);
	(void)proc_kill(v->proc, SIGKILL);	/* exit_cb reports it */
}

static void
on_hold_on_answer(int status, const struct mgmt_msg *resp, void *arg)
{
	struct vpn *v = arg;
	int rc;

	if (status != 0 || !v->stop_requested)
		return;	/* link lost: on_mgmt_up finishes the stop */
	/* Only after "hold on" is acknowledged: never pipeline the two. */
	if ((rc = mgmt_send(v->mgmt, "signal SIGUSR1", MGMT_EXPECT_LINE, NULL,
	    NULL)) < 0)
		log_warnx("vpn: cannot send SIGUSR1 to openvpn: %s",
		    strerror(-rc));
}

/* Returns a running, unheld openvpn to its hold: hold on, then SIGUSR1,
 * then the >HOLD that follows ends the stop. Bounded by stop_timer. */
static void
begin_stop(struct vpn *v, const char *why)
{
	int rc;

	set_state(v, VPN_STOPPING, "%s", why);
	uv_timer_start(&v->stop_timer, on_stop_timeout,
	    (uint64_t)v->cfg->stop_timeout_ms, 0);
	if (!mgmt_is_up(v->mgmt) || v->stop_requested)
		return;	/* on_mgmt_up finishes it */
	v->stop_requested = true;
	if ((rc = mgmt_send(v->mgmt, "hold on", MGMT_EXPECT_LINE,
	    on_hold_on_answer, v)) < 0)
		log_warnx("vpn: cannot send 'hold on': %s", strerror(-rc));
}

int
vpn_stop(struct vpn *v, vpn_done_fn done, void *arg, struct vpn_waiter **wp)
{
	return vpn_stop_why(v, NULL, done, arg, wp);
}

int
vpn_stop_why(struct vpn *v, const char *why, vpn_done_fn done, void *arg,
    struct vpn_waiter **wp)
{
	char stopping[sizeof(v->stop_why) + 16];
	struct vpn_waiter *w;
	int prc;

	if ((w = waiter_new(v, WAIT_STOP, done, arg)) == NULL)
		return -ENOMEM;
	if (wp != NULL)
		*wp = w;
	if (v->shutting_down) {
		waiter_finish(w, VPN_ERR_SHUTDOWN, "supportvpnd is shutting "
		    "down");
		return 0;
	}
	log_info("vpn: stop requested%s%s", why != NULL ? ": " : "",
	    why != NULL ? why : "");
	snprintf(v->stop_why, sizeof(v->stop_why), "%s", why != NULL ? why :
	    "stopped by the owner");
	snprintf(stopping, sizeof(stopping), "stopping: %s", why != NULL ? why :
	    "returning openvpn to its hold");
	v->want_up = false;
	revoke_consent(v);
	if ((prc = disarm(v)) < 0) {
		waiter_finish(w, VPN_ERR_STORAGE, "the support VPN stops, but "
		    "'start when possible' could not be cleared in %s (%s): it "
		    "is off now, yet the file still has it on, so a restart of "
		    "supportvpnd would arm it again until a stop can write the "
		    "file", v->cfg->settings_file, strerror(-prc));
	}
	finish_waiters(v, WAIT_START, VPN_ERR_SUPERSEDED, "stopped by a stop "
	    "command before the support VPN connected");
	if (v->release_pending) {
		v->release_pending = false;
		uv_timer_stop(&v->release_timer);
	}
	if (!v->ovpn_running) {
		/* Nothing can be up; openvpn comes back held. */
		waiter_finish(w, VPN_OK, "%s", "");
	} else if (v->held)
		set_state(v, VPN_STOPPED, "%s", v->stop_why);
	else
		begin_stop(v, stopping);
	return 0;
}

int
vpn_openvpn_command(struct vpn *v, const char *cmd, enum mgmt_expect e,
    mgmt_resp_fn fn, void *arg)
{
	if (mgmt_is_up(v->mgmt) &&
	    mgmt_pending(v->mgmt) >= VPN_OPENVPN_MAX_PENDING)
		return -EBUSY;
	return mgmt_send(v->mgmt, cmd, e, fn, arg);
}

/* ---- status ----------------------------------------------------------- */

json_t *
vpn_status_json(const struct vpn *v)
{
	char since[UTIL_TIME_LEN];
	json_t *st, *ovpn, *tun;

	ovpn = json_pack("{s:b, s:o, s:o, s:b}",
	    "running", v->ovpn_running,
	    "pid", v->ovpn_running ? json_integer(v->ovpn_pid) : json_null(),
	    "state", v->ovpn_state[0] != '\0' ? json_string(v->ovpn_state) :
	    json_null(),
	    "held", v->held);
	st = json_pack("{s:s, s:b, s:s, s:s, s:o*}",
	    "vpn", vpn_state_name(v->state),
	    "start_when_possible", v->settings.start_when_possible,
	    "since", util_time_fmt(since, v->since_ms, false),
	    "detail", v->detail,
	    "openvpn", ovpn);
	if (st == NULL)
		return NULL;
	if (json_object_set_new(st, "checks", vpn_checks_json(v)) < 0) {
		json_decref(st);
		return NULL;
	}
	if (v->state == VPN_CONNECTED) {
		tun = json_pack("{s:s, s:s, s:i, s:o, s:o, s:I, s:I}",
		    "local_ip", v->tun_ip, "server_ip", v->remote_ip,
		    "server_port", v->remote_port,
		    "server_cn", v->server_cn[0] != '\0' ?
		    json_string(v->server_cn) : json_null(),
		    "server_fingerprint", v->server_sha256[0] != '\0' ?
		    json_string(v->server_sha256) : json_null(),
		    "bytes_in", (json_int_t)(v->bytes_in - v->base_in),
		    "bytes_out", (json_int_t)(v->bytes_out - v->base_out));
		if (tun == NULL || json_object_set_new(st, "tunnel", tun) < 0) {
			json_decref(st);
			return NULL;
		}
	}
	if (v->status_hook != NULL)
		v->status_hook(st, v->status_hook_arg);
	return st;
}

void
vpn_set_status_hook(struct vpn *v, void (*fn)(json_t *, void *), void *arg)
{
	v->status_hook = fn;
	v->status_hook_arg = arg;
}

/* ---- life cycle ------------------------------------------------------- */

static void
on_vpn_handle_closed(uv_handle_t *h)
{
	struct vpn *v = h->data;

	if (--v->open_handles == 0)
		free(v);
}

struct vpn *
vpn_new(uv_loop_t *loop, const struct config *cfg,
    const struct vpn_callbacks *cb, void *arg)
{
	static const struct mgmt_callbacks mcb = {
		.on_up = on_mgmt_up,
		.on_down = on_mgmt_down,
		.on_msg = on_mgmt_msg,
		.on_stuck = on_mgmt_stuck,
	};
	static const struct proc_callbacks pcb = {
		.on_started = on_proc_started,
		.on_exited = on_proc_exited,
		.on_line = on_proc_line,
	};
	struct mgmt_timing mt = {
		.probe_ms = (unsigned)cfg->probe_interval_s * 1000,
		.answer_ms = (unsigned)cfg->answer_timeout_ms,
	};
	struct vpn *v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->loop = loop;
	v->cfg = cfg;
	v->cb = *cb;
	v->arg = arg;
	v->state = VPN_STOPPED;
	snprintf(v->stop_why, sizeof(v->stop_why), "stopped by the owner");
	v->since_ms = util_now_ms();
	snprintf(v->detail, sizeof(v->detail), "starting openvpn");
	if ((v->mgmt = mgmt_new(loop, cfg->mgmt_sock, &mt, &mcb, v)) == NULL ||
	    (v->proc = proc_new(loop, cfg, &pcb, v)) == NULL) {
		mgmt_free(v->mgmt);
		free(v);
		errno = ENOMEM;
		return NULL;
	}
	if ((v->checks = checks_new(loop, cfg, on_checks_change, v)) == NULL) {
		mgmt_free(v->mgmt);
		proc_free(v->proc);
		free(v);
		errno = ENOMEM;
		return NULL;
	}
	uv_timer_init(loop, &v->release_timer);
	uv_timer_init(loop, &v->stop_timer);
	uv_timer_init(loop, &v->checks_timer);
	v->release_timer.data = v->stop_timer.data = v->checks_timer.data = v;
	v->open_handles = 3;
	return v;
}

static int
prepare_dir(const char *path, const char *what, unsigned mode)
{
	struct stat st;
	int rc;

	if ((rc = util_mkdir_p(path, mode)) < 0) {
		log_error("%s: cannot create %s: %s", what, path, strerror(-rc));
		return rc;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_error("%s: %s is not a directory", what, path);
		return -ENOTDIR;
	}
	if ((st.st_mode & 0777) != mode && chmod(path, mode) < 0)
		log_warn("%s: cannot set the mode of %s", what, path);
	return 0;
}

static void
load_settings(struct vpn *v)
{
	char why[256];
	int rc, arc;

	rc = settings_load(v->cfg->settings_file, &v->settings, why,
	    sizeof(why));
	if (rc == 0) {
		log_info("settings: start when possible is %s",
		    v->settings.start_when_possible ? "on" : "off");
		return;
	}
	if (rc == -ENOENT) {
		log_info("settings: %s does not exist; the support VPN is off",
		    v->cfg->settings_file);
		return;
	}
	if (rc == -EINVAL) {
		arc = settings_set_aside(v->cfg->settings_file);
		log_error("settings: %s is corrupt (%s); kept as %s.corrupt%s%s;"
		    " the support VPN stays off", v->cfg->settings_file, why,
		    v->cfg->settings_file, arc < 0 ? " failed: " : "",
		    arc < 0 ? strerror(-arc) : "");
		return;
	}
	log_error("settings: cannot read %s: %s; the support VPN stays off",
	    v->cfg->settings_file, strerror(-rc));
}

int
vpn_boot(struct vpn *v)
{
	int rc;

	/*
	 * With the plugin, openvpn may run unprivileged: it must reach the
	 * consent record and the events socket (by name only: 0711).
	 */
	if ((rc = prepare_dir(v->cfg->state_dir, "state_dir",
	    v->cfg->state_dir_mode)) < 0 ||
	    (rc = prepare_dir(v->cfg->run_dir, "run_dir", with_plugin(v) ?
	    0711 : 0700)) < 0)
		return rc;
	load_settings(v);
	if (with_plugin(v)) {
		revoke_consent(v);	/* a record an earlier run left */
		if ((v->events = events_new(v->loop, v->cfg->events_sock,
		    on_plugin_event, plugin_sender, v)) == NULL)
			return -ENOMEM;
		if ((rc = events_listen(v->events)) < 0)
			return rc;
	} else
		log_warnx("vpn: running without the plugin (openvpn.plugin is "
		    "empty): no certificate policy and no consent gate beyond "
		    "openvpn's own configuration");
	if ((rc = proc_kill_stale(v->cfg)) < 0)
		log_error("openvpn: cannot stop an earlier openvpn: %s",
		    strerror(-rc));
	if ((rc = proc_start(v->proc)) < 0)
		log_error("openvpn: cannot start %s: %s", v->cfg->ovpn_binary,
		    uv_strerror(rc));
	/* The owner's page shows the lights from the first moment. */
	if (checks_enabled(v))
		(void)checks_run(v->checks, NULL, NULL);
	else
		log_warnx("checks: checks.cloud_url is empty: the prerequisite "
		    "checks are off and \"start when possible\" starts as soon "
		    "as openvpn is ready");
	schedule_checks(v);
	return 0;
}

static void
on_proc_stopped(void *arg)
{
	struct vpn *v = arg;

	if (v->shutdown_done != NULL)
		v->shutdown_done(v->shutdown_arg);
}

void
vpn_shutdown(struct vpn *v, void (*done)(void *arg), void *arg)
{
	struct vpn_waiter *w;

	v->shutting_down = true;
	v->shutdown_done = done;
	v->shutdown_arg = arg;
	for (w = v->waiters; w != NULL; w = w->next)
		waiter_finish(w, VPN_ERR_SHUTDOWN, "supportvpnd is shutting "
		    "down");
	uv_timer_stop(&v->release_timer);
	uv_timer_stop(&v->stop_timer);
	uv_timer_stop(&v->checks_timer);
	revoke_consent(v);
	mgmt_disconnect(v->mgmt);
	proc_stop(v->proc, on_proc_stopped, v);
}

void
vpn_free(struct vpn *v)
{
	struct vpn_waiter *w;

	if (v == NULL)
		return;
	v->freeing = true;
	while ((w = v->waiters) != NULL) {
		v->waiters = w->next;
		w->done = NULL;
		uv_close((uv_handle_t *)&w->timer, on_waiter_closed);
	}
	mgmt_free(v->mgmt);
	proc_free(v->proc);
	events_free(v->events);
	checks_free(v->checks);
	uv_close((uv_handle_t *)&v->checks_timer, on_vpn_handle_closed);
	uv_close((uv_handle_t *)&v->release_timer, on_vpn_handle_closed);
	uv_close((uv_handle_t *)&v->stop_timer, on_vpn_handle_closed);
}
