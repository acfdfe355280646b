/* SPDX-License-Identifier: MIT */
/*
 * The hub daemon's core. Every change (a batch of plugin events, a grants
 * reload, an expiry, a vanished openvpn) ends in hub_apply: compute the
 * ruleset from the sessions and the last good grants at this instant and
 * bring the table to it. The table is the only enforcement; this process
 * only decides what it holds.
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "datagram.h"
#include "evsock.h"
#include "grants.h"
#include "hub.h"
#include "hubconf.h"
#include "log.h"
#include "nft.h"
#include "ruleset.h"
#include "sessions.h"
#include "status.h"
#include "supportvpn.h"
#include "util.h"
#include "watch.h"

#define RETRY_MS	2000	/* after nft refused a change */
#define SWEEP_MS	5000	/* how often gone openvpn processes are noticed */
#define PIDS_MAX	256

struct hub {
	uv_loop_t		*loop;
	const struct hubconf	*cfg;
	struct sessions		*sessions;
	struct grants		 grants;	/* the last good file */
	bool			 grants_ok;
	char			 grants_error[300];
	int64_t			 grants_loaded_ms;
	int64_t			 expiry_seen_ms; /* expiries logged up to */
	struct nft		*nft;
	bool			 nft_created;
	bool			 nft_ok;
	char			 nft_error[512];
	struct evsock		*ev;
	struct status		*status;
	struct watch		*watch;
	uv_timer_t		 retry, expiry, sweep;
	int			 open;		/* timers not yet closed */
	bool			 addrs_changed;	/* since the last apply */
	bool			 state_dirty;	/* since the last save */
};

static void hub_apply(struct hub *h, const char *why);

struct hub *
hub_new(uv_loop_t *loop, const struct hubconf *cfg)
{
	struct hub *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->loop = loop;
	h->cfg = cfg;
	if ((h->sessions = sessions_new()) == NULL ||
	    (h->nft = nft_new(cfg->nft_table,
	    (const char *const *)cfg->tun_ifaces, cfg->ntun_ifaces)) == NULL) {
		sessions_free(h->sessions);
		free(h);
		return NULL;
	}
	uv_timer_init(loop, &h->retry);
	uv_timer_init(loop, &h->expiry);
	uv_timer_init(loop, &h->sweep);
	h->retry.data = h->expiry.data = h->sweep.data = h;
	h->open = 3;
	return h;
}

static void
save_state(struct hub *h)
{
	json_t *state;
	char *text = NULL;
	int rc = -ENOMEM;

	if (h->cfg->state_file[0] == '\0' || !h->state_dirty)
		return;
	if ((state = sessions_save(h->sessions)) != NULL &&
	    (text = json_dumps(state, JSON_COMPACT)) != NULL)
		rc = util_write_atomic(h->cfg->state_file, text, strlen(text),
		    0600, false);
	json_decref(state);
	free(text);
	if (rc < 0)
		log_warnx("hub: cannot save the state to %s: %s",
		    h->cfg->state_file, strerror(-rc));
	else
		h->state_dirty = false;
}

static void
restore_state(struct hub *h)
{
	json_error_t jerr;
	json_t *state;

	if (h->cfg->state_file[0] == '\0' ||
	    access(h->cfg->state_file, F_OK) < 0)
		return;
	if ((state = json_load_file(h->cfg->state_file, 0, &jerr)) == NULL) {
		log_warnx("hub: ignoring the saved state %s: %s",
		    h->cfg->state_file, jerr.text);
		return;
	}
	if (sessions_restore(h->sessions, state) < 0)
		log_warnx("hub: out of memory restoring the saved state");
	json_decref(state);
}

/* Forgets the clients of openvpn processes that are gone. */
static bool
sweep_gone(struct hub *h)
{
	pid_t pids[PIDS_MAX];
	size_t i, n = sessions_pids(h->sessions, pids, PIDS_MAX);
	bool changed = false;

	for (i = 0; i < n; i++) {
		if (kill(pids[i], 0) == 0 || errno != ESRCH)
			continue;
		log_info("hub: openvpn %d is gone; forgetting its clients",
		    (int)pids[i]);
		changed |= sessions_drop_pid(h->sessions, pids[i]);
		h->state_dirty = true;
	}
	return changed;
}

/* The earliest expiry of a grant still active at now_ms, or INT64_MAX. */
static int64_t
next_expiry(const struct hub *h, int64_t now_ms)
{
	int64_t t = INT64_MAX;
	size_t i;

	for (i = 0; i < h->grants.n; i++)
		if (grants_active(&h->grants.v[i], now_ms) &&
		    h->grants.v[i].expires_ms < t)
			t = h->grants.v[i].expires_ms;
	return t;
}

static void
on_expiry(uv_timer_t *t)
{
	struct hub *h = t->data;
	int64_t now = util_now_ms();
	size_t i;

	for (i = 0; i < h->grants.n; i++) {
		const struct grant *g = &h->grants.v[i];

		if (g->expires_ms > h->expiry_seen_ms && g->expires_ms <= now)
			log_info("grants: %s may no longer reach %s: the grant "
			    "expired%s%s", g->staff, g->appliance,
			    g->case_ref[0] ? ", case " : "", g->case_ref);
	}
	h->expiry_seen_ms = now;
	hub_apply(h, "expiry");
}

static void
arm_expiry(struct hub *h, int64_t now_ms)
{
	int64_t next = next_expiry(h, now_ms);

	if (next == INT64_MAX) {
		(void)uv_timer_stop(&h->expiry);	/* cannot fail */
		return;
	}
	/* +1: at the timer's end the grant has expired, not nearly. */
	(void)uv_timer_start(&h->expiry, on_expiry,
	    (uint64_t)(next - now_ms + 1), 0);
}

static void
on_retry(uv_timer_t *t)
{
	hub_apply(t->data, "retry");
}

static void
hub_apply(struct hub *h, const char *why)
{
	struct rs_addr *addrs = NULL;
	struct ruleset rs;
	int64_t now = util_now_ms();
	ssize_t n;
	bool replaced;

	h->addrs_changed = false;
	if ((n = sessions_addrs(h->sessions, &addrs)) < 0 ||
	    ruleset_compute(addrs, (size_t)n, h->grants.v, h->grants.n, now,
	    &rs, NULL) < 0) {
		free(addrs);
		snprintf(h->nft_error, sizeof(h->nft_error), "out of memory");
		goto fail;
	}
	free(addrs);
	if (nft_sync(h->nft, &rs, now, &replaced) < 0) {
		snprintf(h->nft_error, sizeof(h->nft_error), "%s",
		    nft_error(h->nft));
		ruleset_deinit(&rs);
		goto fail;
	}
	/* Expected when the kernel expired an element first: one atomic
	 * replacement is as good as the element changes. */
	if (replaced && h->nft_created)
		log_debug("nft: replaced table inet %s whole (%s)",
		    h->cfg->nft_table, nft_error(h->nft));
	log_debug("nft: table inet %s: %zu appliance and %zu staff addresses,"
	    " %zu grant elements (%s)", h->cfg->nft_table, rs.nappliances,
	    rs.nstaff, rs.ngrants, why);
	ruleset_deinit(&rs);
	h->nft_created = true;
	h->nft_ok = true;
	h->nft_error[0] = '\0';
	(void)uv_timer_stop(&h->retry);		/* cannot fail */
	arm_expiry(h, now);
	save_state(h);
	return;
fail:
	log_error("nft: cannot update table inet %s (%s): %s; trying again in "
	    "%d s", h->cfg->nft_table, why, h->nft_error, RETRY_MS / 1000);
	h->nft_ok = false;
	(void)uv_timer_start(&h->retry, on_retry, RETRY_MS, 0);
	arm_expiry(h, now);
	save_state(h);
}

static void
on_event(const struct datagram *d, pid_t pid, void *arg)
{
	struct hub *h = arg;
	int rc;

	if ((rc = sessions_apply(h->sessions, d, pid, util_now_ms())) < 0) {
		log_error("hub: out of memory recording a %s event",
		    datagram_type_name(d->type));
		return;
	}
	if (rc > 0)
		h->addrs_changed = true;
	if (d->type != DATAGRAM_TLS_VERIFY)
		h->state_dirty = true;
}

/* One apply per batch of datagrams, not one per datagram. */
static void
on_batch(void *arg)
{
	struct hub *h = arg;

	if (h->addrs_changed)
		hub_apply(h, "clients");
	else
		save_state(h);
}

static void
on_sweep(uv_timer_t *t)
{
	struct hub *h = t->data;

	if (sweep_gone(h))
		hub_apply(h, "openvpn gone");
	else
		save_state(h);
}

static void
log_grant(const char *what, const struct grant *g)
{
	char exp[UTIL_TIME_LEN];

	log_info("grants: %s %s %s until %s%s%s%s%s", g->staff, what,
	    g->appliance, util_time_fmt(exp, g->expires_ms, false),
	    g->case_ref[0] ? ", case " : "", g->case_ref,
	    g->by[0] ? ", by " : "", g->by);
}

/* Logs what the new file changes, for the operator's record. */
static void
log_changes(const struct grants *old, const struct grants *new,
    int64_t now_ms)
{
	const struct grant *o, *g;
	size_t i;

	for (i = 0; i < new->n; i++) {
		g = &new->v[i];
		if (!grants_active(g, now_ms))
			continue;
		o = grants_find(old, g->staff, g->appliance);
		if (o == NULL || !grants_active(o, now_ms))
			log_grant("may reach", g);
		else if (o->expires_ms != g->expires_ms)
			log_grant("may now reach", g);
	}
	for (i = 0; i < old->n; i++) {
		o = &old->v[i];
		if (!grants_active(o, now_ms))
			continue;
		g = grants_find(new, o->staff, o->appliance);
		if (g == NULL || !grants_active(g, now_ms))
			log_info("grants: %s may no longer reach %s: the grant "
			    "was revoked%s%s", o->staff, o->appliance,
			    o->case_ref[0] ? ", case " : "", o->case_ref);
	}
}

/* 0, or -1 when the file is broken (the last good grants stay). */
static int
load_grants(struct hub *h, const char *why)
{
	struct grants_error err;
	struct grants gs;
	int64_t now = util_now_ms();

	if (grants_load(h->cfg->grants_file, now, &gs, &err) != 0) {
		h->grants_ok = false;
		snprintf(h->grants_error, sizeof(h->grants_error), "%s",
		    err.text);
		log_error("grants: %s: %s (%s); the last good grants (%zu) "
		    "stay in force", h->cfg->grants_file, h->grants_error, why,
		    h->grants.n);
		return -1;
	}
	log_changes(&h->grants, &gs, now);
	grants_deinit(&h->grants);
	h->grants = gs;
	h->grants_ok = true;
	h->grants_error[0] = '\0';
	h->grants_loaded_ms = now;
	h->expiry_seen_ms = now;
	log_debug("grants: read %zu from %s (%s)", gs.n, h->cfg->grants_file,
	    why);
	return 0;
}

void
hub_reload(struct hub *h, const char *why)
{
	if (load_grants(h, why) == 0)
		hub_apply(h, why);
}

static void
on_grants_changed(void *arg)
{
	hub_reload(arg, "file changed");
}

static json_t *
time_json(int64_t ms)
{
	char buf[UTIL_TIME_LEN];

	return ms > 0 ? json_string(util_time_fmt(buf, ms, false)) :
	    json_null();
}

static json_t *
grant_json(const struct grant *g, size_t elements, int64_t now_ms)
{
	return json_pack("{s:s, s:s, s:s?, s:s?, s:o, s:o, s:I, s:b, s:I}",
	    "staff", g->staff, "appliance", g->appliance, "case",
	    g->case_ref[0] ? g->case_ref : NULL, "by", g->by[0] ? g->by : NULL,
	    "created", time_json(g->created_ms), "expires",
	    time_json(g->expires_ms), "seconds_left",
	    (json_int_t)((g->expires_ms - now_ms) / 1000), "effective",
	    elements > 0, "elements", (json_int_t)elements);
}

/* The active grants, each with whether both sides are connected. */
static json_t *
grants_json(const struct hub *h, int64_t now_ms)
{
	struct rs_addr *addrs = NULL;
	struct ruleset rs;
	size_t *counts = NULL, i;
	json_t *list = NULL;
	ssize_t n;

	if ((n = sessions_addrs(h->sessions, &addrs)) < 0 ||
	    (h->grants.n > 0 && (counts = calloc(h->grants.n,
	    sizeof(*counts))) == NULL) || ruleset_compute(addrs, (size_t)n,
	    h->grants.v, h->grants.n, now_ms, &rs, counts) < 0)
		goto out;
	ruleset_deinit(&rs);
	if ((list = json_array()) == NULL)
		goto out;
	for (i = 0; i < h->grants.n; i++)
		if (grants_active(&h->grants.v[i], now_ms) &&
		    json_array_append_new(list, grant_json(&h->grants.v[i],
		    counts[i], now_ms)) < 0) {
			json_decref(list);
			list = NULL;
			break;
		}
out:
	free(counts);
	free(addrs);
	return list;
}

static json_t *
status_answer(struct hub *h)
{
	int64_t now = util_now_ms();
	json_t *sess, *o;

	if ((sess = sessions_status(h->sessions, now)) == NULL)
		return NULL;
	o = json_pack("{s:b, s:s, s:o, s:{s:s, s:b, s:s?}, s:{s:s, s:b, s:s?, "
	    "s:o}, s:O, s:o, s:O}", "ok", 1, "version", SUPPORTVPN_VERSION,
	    "now", time_json(now), "nft", "table", h->cfg->nft_table, "ok",
	    h->nft_ok, "error", h->nft_ok ? NULL : h->nft_error, "grants_file",
	    "path", h->cfg->grants_file, "ok", h->grants_ok, "error",
	    h->grants_ok ? NULL : h->grants_error, "loaded",
	    time_json(h->grants_loaded_ms), "identities",
	    json_object_get(sess, "identities"), "grants", grants_json(h, now),
	    "recent", json_object_get(sess, "recent"));
	json_decref(sess);
	return o;
}

static json_t *
on_request(json_t *req, void *arg)
{
	struct hub *h = arg;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (cmd == NULL || json_object_size(req) != 1)
		return json_pack("{s:b, s:s}", "ok", 0, "error",
		    "a request is {\"cmd\": \"status\"} or {\"cmd\": "
		    "\"reload\"}");
	if (strcmp(cmd, "status") == 0)
		return status_answer(h);
	if (strcmp(cmd, "reload") == 0) {
		hub_reload(h, "reload request");
		return json_pack("{s:b, s:s?, s:I, s:b, s:s?}", "ok",
		    h->grants_ok, "error", h->grants_ok ? NULL :
		    h->grants_error, "grants", (json_int_t)h->grants.n,
		    "nft_ok", h->nft_ok, "nft_error", h->nft_ok ? NULL :
		    h->nft_error);
	}
	return json_pack("{s:b, s:s}", "ok", 0, "error", "unknown command");
}

/*
 * The directory holding path, created with mode if missing (mode set
 * despite our umask; an existing directory is left as it is).
 */
static int
make_parent(const char *path, unsigned mode)
{
	char *copy = strdup(path), *dir;
	struct stat st;
	int rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	dir = dirname(copy);
	if (stat(dir, &st) == 0)
		goto out;
	if ((rc = util_mkdir_p(dir, mode)) == 0 && chmod(dir, (mode_t)mode) < 0)
		rc = -errno;
	if (rc < 0)
		log_error("hub: cannot create the directory %s: %s", dir,
		    strerror(-rc));
out:
	free(copy);
	return rc;
}

static int
make_dirs(const struct hubconf *cfg)
{
	int rc;

	/* 0755: openvpn, perhaps unprivileged, must reach events. */
	if ((rc = make_parent(cfg->events, 0755)) < 0 ||
	    (rc = make_parent(cfg->status_socket, 0755)) < 0 ||
	    (rc = make_parent(cfg->grants_file, 0755)) < 0 ||
	    (cfg->state_file[0] != '\0' &&
	    (rc = make_parent(cfg->state_file, 0700)) < 0))
		return rc;
	return 0;
}

/* The first table: whatever the restored state and the grants give. */
static int
create_table(struct hub *h)
{
	struct rs_addr *addrs = NULL;
	struct ruleset rs;
	int64_t now = util_now_ms();
	ssize_t n;
	int rc;

	if ((n = sessions_addrs(h->sessions, &addrs)) < 0 ||
	    ruleset_compute(addrs, (size_t)n, h->grants.v, h->grants.n, now,
	    &rs, NULL) < 0) {
		free(addrs);
		return -ENOMEM;
	}
	free(addrs);
	rc = nft_replace(h->nft, &rs, now);
	if (rc < 0)
		log_error("nft: cannot create table inet %s: %s",
		    h->cfg->nft_table, nft_error(h->nft));
	else
		log_info("nft: table inet %s filters traffic between %zu "
		    "interface pattern(s); %zu appliance and %zu staff "
		    "addresses, %zu grant elements", h->cfg->nft_table,
		    h->cfg->ntun_ifaces, rs.nappliances, rs.nstaff,
		    rs.ngrants);
	ruleset_deinit(&rs);
	if (rc < 0)
		return -EPERM;
	h->nft_created = true;
	h->nft_ok = true;
	arm_expiry(h, now);
	return 0;
}

static int
open_sockets(struct hub *h)
{
	const struct hubconf *cfg = h->cfg;
	int rc;

	if ((h->ev = evsock_new(h->loop, cfg->events, cfg->events_mode,
	    cfg->allowed_uids, cfg->nallowed_uids, on_event, on_batch,
	    h)) == NULL ||
	    (h->status = status_new(h->loop, cfg->status_socket, on_request,
	    h)) == NULL)
		return -ENOMEM;
	if ((rc = evsock_listen(h->ev)) < 0) {
		log_error("events: cannot listen on %s: %s", cfg->events,
		    strerror(-rc));
		return rc;
	}
	if ((rc = status_listen(h->status)) < 0) {
		log_error("status: cannot listen on %s: %s",
		    cfg->status_socket, uv_strerror(rc));
		return rc;
	}
	log_info("events: listening on %s (mode %04o) for uids of %zu "
	    "user(s); status on %s", cfg->events, cfg->events_mode,
	    cfg->nallowed_uids, cfg->status_socket);
	return 0;
}

int
hub_start(struct hub *h)
{
	int rc;

	if ((rc = make_dirs(h->cfg)) < 0)
		return rc;
	restore_state(h);
	(void)sweep_gone(h);	/* the table is made from what is left */
	(void)load_grants(h, "start");	/* broken: logged, no grants */
	if ((rc = create_table(h)) < 0 || (rc = open_sockets(h)) < 0)
		return rc;
	if ((h->watch = watch_new(h->loop, h->cfg->grants_file,
	    on_grants_changed, h)) == NULL)
		return -ENOMEM;
	if ((rc = watch_start(h->watch)) < 0)
		log_warnx("grants: cannot watch %s: %s; changes apply on "
		    "SIGHUP or \"supportvpn-hub\" edits only",
		    h->cfg->grants_file, uv_strerror(rc));
	(void)uv_timer_start(&h->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
	return 0;
}

static void
on_timer_closed(uv_handle_t *handle)
{
	struct hub *h = handle->data;

	if (--h->open > 0)
		return;
	sessions_free(h->sessions);
	grants_deinit(&h->grants);
	nft_free(h->nft);
	free(h);
}

static void
remove_table(struct hub *h)
{
	struct ruleset empty;

	if (!h->nft_created)
		return;
	memset(&empty, 0, sizeof(empty));
	if (h->cfg->nft_keep_closed) {
		if (nft_replace(h->nft, &empty, util_now_ms()) < 0)
			log_error("nft: cannot empty table inet %s: %s",
			    h->cfg->nft_table, nft_error(h->nft));
		else
			log_info("nft: table inet %s left closed: no grants, "
			    "no traffic between VPN clients", h->cfg->nft_table);
		return;
	}
	if (nft_delete(h->nft) < 0)
		log_error("nft: cannot delete table inet %s: %s",
		    h->cfg->nft_table, nft_error(h->nft));
	else
		log_info("nft: deleted table inet %s", h->cfg->nft_table);
}

void
hub_stop(struct hub *h)
{
	if (h == NULL)
		return;
	evsock_free(h->ev);
	status_free(h->status);
	watch_free(h->watch);
	h->ev = NULL;
	h->status = NULL;
	h->watch = NULL;
	remove_table(h);
	save_state(h);
	uv_close((uv_handle_t *)&h->retry, on_timer_closed);
	uv_close((uv_handle_t *)&h->expiry, on_timer_closed);
	uv_close((uv_handle_t *)&h->sweep, on_timer_closed);
}
