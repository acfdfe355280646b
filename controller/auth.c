/* SPDX-License-Identifier: MIT */
/*
 * The `support` login. Order of the gates: the lock-out first (a locked
 * limiter costs no hashing), then the VPN (staff come only through it),
 * then where the login comes from, then the password on the thread pool.
 * Only a wrong password counts as a failure; a lock-out, a stopped VPN
 * or a foreign address are refused without one.
 */
#define _DEFAULT_SOURCE	/* explicit_bzero, getifaddrs */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "netroute.h"
#include "password.h"
#include "ratelimit.h"
#include "session.h"
#include "util.h"
#include "vpn.h"

struct auth_req {
	uv_work_t		 work;
	struct auth		*a;
	struct auth_req		*next;		/* queue */
	auth_done_fn		 done;		/* NULL: cancelled */
	void			*arg;
	json_t			*by;
	char			 user[64];
	bool			 user_long;	/* did not fit: never matches */
	bool			 pw_long;	/* too long: never matches */
	char			 password[PASSWORD_MAX_LEN + 1];
	char			 from[INET6_ADDRSTRLEN];
	bool			 have_from;
	/* Set by the worker. */
	bool			 ok;
	int			 rc;
};

/*
 * Refusals that cost nothing (no password was checked) are recorded and
 * logged once per AUTH_REPEAT_MS per kind; the ones in between are
 * counted into the next record, so a flood cannot fill the history.
 */
enum refusal {
	REFUSAL_CHECKED = -1,	/* decided by the password: always recorded */
	REFUSAL_LOCKED,
	REFUSAL_INACTIVE,
	REFUSAL_FOREIGN,
	REFUSAL_KINDS,
};
#define AUTH_REPEAT_MS	10000

struct auth {
	int64_t			 quiet_since[REFUSAL_KINDS];
	unsigned		 quiet[REFUSAL_KINDS];
	uv_loop_t		*loop;
	const struct config	*cfg;
	struct vpn		*vpn;
	struct session		*session;
	struct ratelimit	 rl;
	uv_timer_t		 kick;		/* runs the queue from the loop */
	struct auth_req		*running;	/* on the thread pool */
	struct auth_req		*head, *tail;
	unsigned		 queued;
	bool			 freeing;
};

static void run_next(struct auth *a);

static void
req_free(struct auth_req *r)
{
	explicit_bzero(r->password, sizeof(r->password));
	json_decref(r->by);
	free(r);
}

static void
on_kick_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
maybe_release(struct auth *a)
{
	if (a->freeing && a->running == NULL)
		uv_close((uv_handle_t *)&a->kick, on_kick_closed);
}

/* "support", or a placeholder: a password typed as user stays unlogged. */
static const char *
shown_user(const struct auth_req *r)
{
	return strcmp(r->user, PASSWORD_USER) == 0 ? r->user : "(another user)";
}

/* The decision: history, log, answer. */
static void
finish(struct auth_req *r, bool granted, const char *reason, int kind)
{
	struct auth *a = r->a;
	unsigned repeated = 0;
	int64_t now;

	if (kind >= 0) {
		now = (int64_t)uv_now(a->loop);
		if (a->quiet_since[kind] != 0 &&
		    now - a->quiet_since[kind] < AUTH_REPEAT_MS) {
			a->quiet[kind]++;
			goto answer;
		}
		repeated = a->quiet[kind];
		a->quiet[kind] = 0;
		a->quiet_since[kind] = now;
	}
	if (repeated > 0)
		log_warnx("auth: %u more refused like the next one", repeated);
	if (granted)
		log_info("auth: %s%s%s: granted", shown_user(r), r->have_from ?
		    " from " : "", r->have_from ? r->from : "");
	else
		log_warnx("auth: %s%s%s: refused: %s", shown_user(r),
		    r->have_from ? " from " : "", r->have_from ? r->from : "",
		    reason);
	if (!a->freeing)
		session_login(a->session, shown_user(r), granted, reason,
		    r->have_from ? r->from : NULL, r->by, repeated);
answer:
	if (r->done != NULL)
		r->done(granted, reason, r->arg);
	req_free(r);
}

static bool
vpn_up(struct auth *a)
{
	return vpn_state(a->vpn) == VPN_CONNECTED;
}

/* The interface that holds the tunnel's address. 0 or -errno. */
static int
tunnel_dev(struct auth *a, char *dev, size_t len)
{
	struct ifaddrs *ifs, *i;
	json_t *st = vpn_status_json(a->vpn);
	const char *ip = json_string_value(json_object_get(json_object_get(st,
	    "tunnel"), "local_ip"));
	struct in_addr want;
	int rc = -ENOENT;

	if (ip == NULL || inet_pton(AF_INET, ip, &want) != 1) {
		json_decref(st);
		return -ENOENT;
	}
	json_decref(st);
	if (getifaddrs(&ifs) < 0)
		return -errno;
	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		if (((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr
		    == want.s_addr) {
			snprintf(dev, len, "%s", i->ifa_name);
			rc = 0;
			break;
		}
	}
	freeifaddrs(ifs);
	return rc;
}

/* Whether the kernel would answer from through the tunnel. */
static bool
from_tunnel(struct auth *a, const char *from, char *why, size_t whylen)
{
	char tun[IF_NAMESIZE + 1], dev[IF_NAMESIZE + 1];
	int rc;

	if ((rc = tunnel_dev(a, tun, sizeof(tun))) < 0) {
		snprintf(why, whylen, "the tunnel's interface cannot be found "
		    "(%s)", strerror(-rc));
		return false;
	}
	if ((rc = netroute_dev_for(from, dev, sizeof(dev))) < 0) {
		snprintf(why, whylen, "%s", rc == -EINVAL ? "'from' is not an "
		    "IP address" : "no route back to that address");
		return false;
	}
	if (strcmp(dev, tun) != 0) {
		snprintf(why, whylen, "the login does not come through the "
		    "support VPN (%s is reached via %s, the tunnel is %s)",
		    from, dev, tun);
		return false;
	}
	return true;
}

static void
work_verify(uv_work_t *w)
{
	struct auth_req *r = container_of(w, struct auth_req, work);

	r->ok = false;
	r->rc = password_verify(r->a->cfg->support_hash_file, r->user_long ?
	    "" : r->user, r->pw_long ? "" : r->password, &r->ok);
	explicit_bzero(r->password, sizeof(r->password));
}

static void
after_verify(uv_work_t *w, int status)
{
	struct auth_req *r = container_of(w, struct auth_req, work);
	struct auth *a = r->a;
	int64_t now;

	a->running = NULL;
	uv_update_time(a->loop);
	now = (int64_t)uv_now(a->loop);
	if (r->rc < 0 && r->rc != -ENOENT)
		log_error("auth: %s: %s", a->cfg->support_hash_file,
		    strerror(-r->rc));
	else if (r->rc == -ENOENT)
		log_error("auth: no support password is set (%s missing); run "
		    "'supportvpnctl support-password --generate'",
		    a->cfg->support_hash_file);
	if (status < 0)
		finish(r, false, "the login could not be checked",
		    REFUSAL_CHECKED);
	else if (!r->ok) {
		rl_failure(&a->rl, now);
		finish(r, false, "wrong user or password", REFUSAL_CHECKED);
	} else if (!vpn_up(a))
		finish(r, false, "support VPN is not active", REFUSAL_CHECKED);
	else {
		rl_success(&a->rl, now);
		finish(r, true, "support login granted", REFUSAL_CHECKED);
	}
	maybe_release(a);
	if (!a->freeing)
		run_next(a);
}

/* Takes the next request through the gates. */
static void
run_next(struct auth *a)
{
	struct auth_req *r;
	char why[256];
	int64_t retry;
	int rc;

	while (a->running == NULL && (r = a->head) != NULL) {
		a->head = r->next;
		if (a->head == NULL)
			a->tail = NULL;
		a->queued--;
		uv_update_time(a->loop);
		if (!rl_allowed(&a->rl, (int64_t)uv_now(a->loop), &retry)) {
			snprintf(why, sizeof(why), "locked out after too many "
			    "failed logins; try again in %lld s",
			    (long long)((retry + 999) / 1000));
			finish(r, false, why, REFUSAL_LOCKED);
			continue;
		}
		if (!vpn_up(a)) {
			finish(r, false, "support VPN is not active",
			    REFUSAL_INACTIVE);
			continue;
		}
		if (r->have_from && !from_tunnel(a, r->from, why,
		    sizeof(why))) {
			finish(r, false, why, REFUSAL_FOREIGN);
			continue;
		}
		if ((rc = uv_queue_work(a->loop, &r->work, work_verify,
		    after_verify)) < 0) {
			finish(r, false, "the login could not be checked",
			    REFUSAL_CHECKED);
			continue;
		}
		a->running = r;
	}
}

static void
on_kick(uv_timer_t *t)
{
	run_next(t->data);
}

struct auth *
auth_new(uv_loop_t *loop, const struct config *cfg, struct vpn *vpn,
    struct session *session)
{
	struct rl_config rc = {
		.max_failures = cfg->auth_max_failures,
		.window_ms = (int64_t)cfg->auth_window_s * 1000,
		.lockout_ms = (int64_t)cfg->auth_lockout_s * 1000,
		.lockout_max_ms = (int64_t)cfg->auth_lockout_max_s * 1000,
	};
	struct auth *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if (rl_init(&a->rl, &rc) < 0) {
		free(a);
		errno = EINVAL;
		return NULL;
	}
	a->loop = loop;
	a->cfg = cfg;
	a->vpn = vpn;
	a->session = session;
	uv_timer_init(loop, &a->kick);
	a->kick.data = a;
	return a;
}

void
auth_free(struct auth *a)
{
	struct auth_req *r;

	if (a == NULL)
		return;
	a->freeing = true;
	while ((r = a->head) != NULL) {
		a->head = r->next;
		req_free(r);
	}
	a->tail = NULL;
	uv_timer_stop(&a->kick);
	if (a->running != NULL)
		a->running->done = NULL;
	maybe_release(a);
}

int
auth_request(struct auth *a, const char *user, const char *password,
    const char *from, json_t *by, auth_done_fn done, void *arg,
    struct auth_req **handle)
{
	struct auth_req *r;

	if (a->queued >= AUTH_QUEUE_MAX)
		return -EBUSY;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	r->a = a;
	r->done = done;
	r->arg = arg;
	r->by = by != NULL ? json_incref(by) : NULL;
	r->user_long = strlen(user) >= sizeof(r->user);
	snprintf(r->user, sizeof(r->user), "%s", user);
	/* Too long to be valid: verify still runs (same cost), and refuses;
	 * a cut copy could match a shorter password. */
	if (strlen(password) >= sizeof(r->password))
		r->pw_long = true;
	else
		snprintf(r->password, sizeof(r->password), "%s", password);
	if (from != NULL) {
		snprintf(r->from, sizeof(r->from), "%s", from);
		r->have_from = true;
	}
	if (a->tail != NULL)
		a->tail->next = r;
	else
		a->head = r;
	a->tail = r;
	a->queued++;
	if (handle != NULL)
		*handle = r;
	uv_timer_start(&a->kick, on_kick, 0, 0);
	return 0;
}

void
auth_cancel(struct auth_req *r)
{
	if (r != NULL)
		r->done = NULL;
}
