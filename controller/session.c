/* SPDX-License-Identifier: MIT */
/*
 * Support sessions and their history. The vpn knows nothing of sessions:
 * it is told when to start and stop, and tells us its states and when the
 * tunnel comes and goes. Everything the owner may later ask about ("who
 * was in?") is written to the history before it is announced, durably at
 * the session's boundaries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "audit.h"
#include "config.h"
#include "log.h"
#include "session.h"
#include "util.h"

#define SESSION_FILE_VERSION	1

struct session {
	uv_loop_t		*loop;
	const struct config	*cfg;
	struct vpn		*vpn;
	struct session_callbacks cb;
	void			*arg;
	struct audit		*audit;
	char			*state_path;	/* state_dir/session.json */
	uv_timer_t		 timer;		/* warning, then expiry */
	bool			 timer_init;
	/* The history's fsync runs on the thread pool, one at a time. */
	uv_fs_t			 sync_req;
	int			 sync_fd;
	bool			 syncing, sync_again;
	bool			 freeing, timer_closed;

	/* The open session. */
	bool			 open;
	char			 id[48];
	int64_t			 started_ms;
	json_t			*started_by;
	bool			 when_possible;
	long			 duration_s;	/* 0: no end */
	int64_t			 expires_ms;	/* 0: not yet (or no end) */
	bool			 warned;
	bool			 connected;
	uint64_t		 bytes_in, bytes_out;	/* ended connections */
	unsigned		 logins;
	/* Why it is ending, once a stop has been asked for. */
	const char		*ending;	/* "owner", "expired" */
	json_t			*ending_by;
	bool			 shutting_down;	/* the vpn's news is not ours */
};

static void arm_timer(struct session *s);

static json_t *
time_json(int64_t ms)
{
	char buf[UTIL_TIME_LEN];

	return ms > 0 ? json_string(util_time_fmt(buf, ms, false)) :
	    json_null();
}

static void
announce(struct session *s, const char *what, json_t *fields)
{
	if (fields == NULL)
		return;
	json_object_set_new(fields, "what", json_string(what));
	if (s->open || json_object_get(fields, "session") == NULL)
		json_object_set_new(fields, "session", s->id[0] != '\0' ?
		    json_string(s->id) : json_null());
	if (s->cb.on_event != NULL)
		s->cb.on_event(fields, s->arg);
	else
		json_decref(fields);
}

static void start_sync(struct session *s);

static void
session_release(struct session *s)
{
	if (!s->freeing || !s->timer_closed || s->syncing)
		return;
	free(s->state_path);
	free(s);
}

static void
on_synced(uv_fs_t *req)
{
	struct session *s = req->data;

	if (req->result < 0)
		log_error("history: cannot fsync %s: %s", s->cfg->audit_file,
		    uv_strerror((int)req->result));
	uv_fs_req_cleanup(req);
	close(s->sync_fd);
	s->sync_fd = -1;
	s->syncing = false;
	if (s->freeing) {
		session_release(s);
		return;
	}
	if (s->sync_again) {
		s->sync_again = false;
		start_sync(s);
	}
}

/*
 * Makes what the history holds durable, off the loop: the record is in
 * the file (one write) before anything is announced; the fsync follows
 * within milliseconds, so a start or a login never waits for the disk.
 */
static void
start_sync(struct session *s)
{
	int fd;

	if (s->syncing) {
		s->sync_again = true;
		return;
	}
	if (s->audit == NULL || (fd = audit_dup_fd(s->audit)) < 0)
		return;
	s->sync_fd = fd;
	s->sync_req.data = s;
	if (uv_fs_fsync(s->loop, &s->sync_req, fd, on_synced) < 0) {
		if (fsync(fd) < 0)
			log_error("history: cannot fsync %s: %s",
			    s->cfg->audit_file, strerror(errno));
		close(fd);
		s->sync_fd = -1;
		return;
	}
	s->syncing = true;
}

/*
 * Appends one history record (rec stolen): "event" and the session id
 * are added; durable ones are fsynced (start_sync). 0 or -errno, logged;
 * the history is never worth a crash.
 */
static int
record(struct session *s, const char *event, json_t *rec, bool durable)
{
	int rc;

	if (rec == NULL)
		return -ENOMEM;
	json_object_set_new(rec, "event", json_string(event));
	json_object_set_new(rec, "session", s->open ? json_string(s->id) :
	    json_null());
	if (s->audit == NULL)
		rc = -EBADF;
	else if ((rc = audit_append(s->audit, rec, false)) == 0 && durable)
		start_sync(s);
	if (rc < 0)
		log_error("history: cannot record '%s' in %s: %s", event,
		    s->cfg->audit_file, strerror(-rc));
	json_decref(rec);
	return rc;
}

/* ---- session.json ----------------------------------------------------- */

static int
save_state(struct session *s)
{
	json_t *doc;
	char *text;
	int rc;

	/* Only an armed session comes back after a restart; any other is
	 * closed from the history alone (close_orphan). */
	if (!s->when_possible)
		return 0;
	doc = json_pack("{s:i, s:s, s:I, s:O, s:b, s:I, s:I, s:I, s:I, s:i}",
	    "v", SESSION_FILE_VERSION, "id", s->id,
	    "started_ms", (json_int_t)s->started_ms,
	    "started_by", s->started_by != NULL ? s->started_by : json_null(),
	    "when_possible", s->when_possible,
	    "duration_s", (json_int_t)s->duration_s,
	    "expires_ms", (json_int_t)s->expires_ms,
	    "bytes_in", (json_int_t)s->bytes_in,
	    "bytes_out", (json_int_t)s->bytes_out,
	    "logins", (int)s->logins);
	if (doc == NULL || (text = json_dumps(doc, JSON_COMPACT)) == NULL) {
		json_decref(doc);
		return -ENOMEM;
	}
	json_decref(doc);
	/* Atomic, not fsynced: the history is the durable account; after a
	 * power loss an armed session is simply opened again at boot. */
	rc = util_write_atomic(s->state_path, text, strlen(text), 0600, false);
	free(text);
	if (rc < 0)
		log_error("session: cannot write %s: %s", s->state_path,
		    strerror(-rc));
	return rc;
}

static void
drop_state(struct session *s)
{
	if (unlink(s->state_path) == 0)
		(void)util_fsync_dir(s->state_path);
	else if (errno != ENOENT)
		log_error("session: cannot remove %s: %s", s->state_path,
		    strerror(errno));
}

/* Reads session.json into s (open). 0, -ENOENT, or -EINVAL (logged). */
static int
load_state(struct session *s)
{
	json_error_t jerr;
	json_t *doc, *by = NULL;
	const char *id = NULL;
	json_int_t started = 0, dur = 0, exp = 0, bin = 0, bout = 0;
	int ver = 0, logins = 0, wp = 0;

	if ((doc = json_load_file(s->state_path, 0, &jerr)) == NULL) {
		if (access(s->state_path, F_OK) < 0 && errno == ENOENT)
			return -ENOENT;
		log_error("session: %s is unreadable (%s); the session it "
		    "held is closed", s->state_path, jerr.text);
		return -EINVAL;
	}
	if (json_unpack_ex(doc, &jerr, 0, "{s:i, s:s, s:I, s:o, s:b, s:I, "
	    "s:I, s:I, s:I, s:i}", "v", &ver, "id", &id, "started_ms", &started,
	    "started_by", &by, "when_possible", &wp, "duration_s", &dur,
	    "expires_ms", &exp, "bytes_in", &bin, "bytes_out", &bout,
	    "logins", &logins) < 0 || ver != SESSION_FILE_VERSION ||
	    strlen(id) == 0 || strlen(id) >= sizeof(s->id) || dur < 0 ||
	    exp < 0) {
		log_error("session: %s does not hold a session (%s); it is "
		    "closed", s->state_path, jerr.text);
		json_decref(doc);
		return -EINVAL;
	}
	s->open = true;
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->started_ms = started;
	s->started_by = json_incref(by);
	s->when_possible = wp;
	s->duration_s = (long)dur;
	s->expires_ms = exp;
	s->bytes_in = (uint64_t)bin;
	s->bytes_out = (uint64_t)bout;
	s->logins = (unsigned)logins;
	json_decref(doc);
	return 0;
}

/* ---- life cycle ------------------------------------------------------- */

static void
make_id(struct session *s, int64_t now)
{
	unsigned char r[4];
	char ts[UTIL_TIME_LEN], compact[UTIL_TIME_LEN];
	size_t i, j;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, 0, sizeof(r));
	util_time_fmt(ts, now, false);
	/* "2026-11-27T05:12:09Z" -> "20261127T051209Z" */
	for (i = j = 0; ts[i] != '\0' && j + 1 < sizeof(compact); i++)
		if (ts[i] != '-' && ts[i] != ':')
			compact[j++] = ts[i];
	compact[j] = '\0';
	snprintf(s->id, sizeof(s->id), "%s-%02x%02x%02x%02x", compact, r[0],
	    r[1], r[2], r[3]);
}

static json_t *
totals(struct session *s)
{
	return json_pack("{s:I, s:I, s:i}", "bytes_in", (json_int_t)s->bytes_in,
	    "bytes_out", (json_int_t)s->bytes_out, "logins", (int)s->logins);
}

/* The session is over: history, file, event, timer. */
static void
close_session(struct session *s, const char *why, const char *detail,
    json_t *by)
{
	json_t *rec;

	if (!s->open)
		return;
	rec = totals(s);
	if (rec != NULL) {
		json_object_set_new(rec, "why", json_string(why));
		json_object_set_new(rec, "detail", json_string(detail));
		if (by != NULL)
			json_object_set(rec, "by", by);
	}
	(void)record(s, "ended", rec, true);
	log_info("session %s: ended (%s): %s", s->id, why, detail);
	announce(s, "ended", json_pack("{s:s, s:s}", "why", why, "detail",
	    detail));
	drop_state(s);
	if (s->timer_init)
		uv_timer_stop(&s->timer);
	s->open = false;
	s->connected = false;
	json_decref(s->started_by);
	s->started_by = NULL;
	json_decref(s->ending_by);
	s->ending_by = NULL;
	s->ending = NULL;
	s->id[0] = '\0';
}

struct session *
session_new(uv_loop_t *loop, const struct config *cfg, struct vpn *vpn,
    const struct session_callbacks *cb, void *arg)
{
	struct session *s;
	char path[4096];

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->loop = loop;
	s->cfg = cfg;
	s->vpn = vpn;
	s->cb = *cb;
	s->arg = arg;
	if (util_snprintf(path, sizeof(path), "%s/session.json",
	    cfg->state_dir) < 0 || (s->state_path = strdup(path)) == NULL) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	s->timer_init = true;
	s->sync_fd = -1;
	return s;
}

/*
 * A session the history shows open, without a session file (a "start
 * now" session whose daemon died): its end is recorded now.
 */
static void
close_orphan(struct session *s)
{
	json_t *recs, *r;
	const char *id, *ev;
	size_t i;

	if (s->audit == NULL || audit_read(s->audit, 64, &recs) < 0)
		return;
	json_array_foreach(recs, i, r) {
		if ((id = json_string_value(json_object_get(r, "session"))) ==
		    NULL)
			continue;
		ev = json_string_value(json_object_get(r, "event"));
		if (ev != NULL && strcmp(ev, "ended") != 0 &&
		    strlen(id) < sizeof(s->id)) {
			s->open = true;
			snprintf(s->id, sizeof(s->id), "%s", id);
			close_session(s, "daemon", "supportvpnd stopped while "
			    "the session was open", NULL);
		}
		break;
	}
	json_decref(recs);
}

int
session_boot(struct session *s, bool armed)
{
	int rc;

	rc = audit_open(s->cfg->audit_file, (size_t)s->cfg->audit_max_bytes,
	    &s->audit);
	if (rc < 0) {
		log_error("history: cannot open %s: %s; support sessions cannot "
		    "start until it can be written", s->cfg->audit_file,
		    strerror(-rc));
		s->audit = NULL;
	}
	rc = load_state(s);
	if (rc == 0 && s->audit != NULL)
		(void)audit_set_open_session(s->audit, s->id);
	if (rc == 0 && armed && s->when_possible) {
		log_info("session %s: goes on after a restart (ends %s)", s->id,
		    s->expires_ms > 0 ? "at its end time" : s->duration_s == 0 ?
		    "never by itself" : "a set time after it connects");
		(void)record(s, "resumed", json_pack("{s:o}", "expires_at",
		    time_json(s->expires_ms)), true);
		arm_timer(s);
	} else if (rc == 0) {
		/* Its daemon went away while it was open. */
		close_session(s, "daemon", "supportvpnd stopped while the "
		    "session was open", NULL);
	} else {
		/* None, or unreadable (logged): the history knows. */
		if (rc == -EINVAL)
			drop_state(s);
		close_orphan(s);
	}
	if (armed && !s->open) {
		/* Armed by a version without sessions, or the file was lost:
		 * the armed VPN still gets a session with an end. */
		const char *code;
		char why[256];
		json_t *by = json_pack("{s:s}", "via", "settings");

		if (session_start(s, by, true, -1, &code, why,
		    sizeof(why)) < 0)
			log_error("session: %s", why);
		json_decref(by);
	}
	return s->audit != NULL ? 0 : -EIO;
}

void
session_shutdown(struct session *s)
{
	json_t *st, *tun;

	if (s == NULL || s->shutting_down)
		return;
	s->shutting_down = true;
	if (!s->open)
		return;
	if (s->connected) {
		st = vpn_status_json(s->vpn);
		tun = st != NULL ? json_object_get(st, "tunnel") : NULL;
		s->bytes_in += (uint64_t)json_integer_value(json_object_get(tun,
		    "bytes_in"));
		s->bytes_out += (uint64_t)json_integer_value(json_object_get(
		    tun, "bytes_out"));
		(void)record(s, "disconnected", json_pack("{s:s, s:s, s:O*, "
		    "s:O*}", "why", "daemon", "detail", "supportvpnd is "
		    "stopping", "bytes_in", json_object_get(tun, "bytes_in"),
		    "bytes_out", json_object_get(tun, "bytes_out")), true);
		json_decref(st);
		s->connected = false;
	}
	if (s->when_possible) {
		/* Armed: it comes back with the daemon, same end. */
		(void)save_state(s);
		(void)record(s, "paused", json_pack("{s:s}", "detail",
		    "supportvpnd is stopping; the session goes on when it "
		    "starts again"), true);
	} else
		close_session(s, "daemon", "supportvpnd stopped", NULL);
}

static void
on_timer_closed(uv_handle_t *h)
{
	struct session *s = h->data;

	s->timer_closed = true;
	session_release(s);
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	s->freeing = true;
	/* Closing fsyncs whatever the pool has not synced yet. */
	audit_close(s->audit);
	s->audit = NULL;
	json_decref(s->started_by);
	json_decref(s->ending_by);
	uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}

/* ---- end time --------------------------------------------------------- */

static void
on_stop_done(enum vpn_result r, const char *message, void *arg)
{
	if (r != VPN_OK)
		log_warnx("session: stopping at the session's end: %s", message);
}

static void
on_timer(uv_timer_t *t)
{
	struct session *s = t->data;
	int64_t now = util_now_ms(), left;
	char when[UTIL_TIME_LEN], why[128];

	if (!s->open || s->expires_ms == 0)
		return;
	left = s->expires_ms - now;
	if (left > 0) {
		if (!s->warned) {
			s->warned = true;
			log_info("session %s: ends in %lld s", s->id,
			    (long long)((left + 999) / 1000));
			announce(s, "expiring", json_pack("{s:o, s:I}",
			    "expires_at", time_json(s->expires_ms),
			    "remaining_s", (json_int_t)((left + 999) / 1000)));
		}
		arm_timer(s);
		return;
	}
	if (s->ending != NULL)
		return;
	util_time_fmt(when, s->expires_ms, false);
	snprintf(why, sizeof(why), "the support session expired at %s", when);
	log_info("session %s: %s", s->id, why);
	s->ending = "expired";
	if (vpn_stop_why(s->vpn, why, on_stop_done, s, NULL) < 0)
		log_error("session: cannot stop the expired session");
}

/* Wakes for the warning (once) and for the end. */
static void
arm_timer(struct session *s)
{
	int64_t now = util_now_ms(), at;

	uv_timer_stop(&s->timer);
	if (!s->open || s->expires_ms == 0)
		return;
	at = s->expires_ms;
	if (!s->warned && s->cfg->session_warn_s > 0 &&
	    at - (int64_t)s->cfg->session_warn_s * 1000 > now)
		at -= (int64_t)s->cfg->session_warn_s * 1000;
	else if (!s->warned && s->cfg->session_warn_s > 0 && at > now) {
		/* Already inside the warning window: warn now. */
		at = now;
	}
	uv_timer_start(&s->timer, on_timer, (uint64_t)(at > now ? at - now :
	    0), 0);
}

/* ---- owner commands --------------------------------------------------- */

static int
check_duration(struct session *s, long *d, const char **code, char *why,
    size_t whylen)
{
	if (*d < 0)
		*d = s->cfg->session_default_s;
	if (*d == 0 && !s->cfg->session_allow_unlimited) {
		*code = "bad_argument";
		snprintf(why, whylen, "'duration_s' 0 (no end) is not allowed "
		    "on this appliance (session.allow_unlimited is false)");
		return -1;
	}
	if (*d > s->cfg->session_max_s) {
		*code = "bad_argument";
		snprintf(why, whylen, "'duration_s' %ld is longer than this "
		    "appliance allows (%d s)", *d, s->cfg->session_max_s);
		return -1;
	}
	return 0;
}

int
session_start(struct session *s, json_t *by, bool when_possible,
    long duration_s, const char **code, char *why, size_t whylen)
{
	int64_t now = util_now_ms();
	json_t *rec;
	int rc;

	/* A start while the expired session stops begins a new one; while
	 * the owner's stop is under way, it overrides that stop. */
	if (s->open && s->ending != NULL && strcmp(s->ending, "expired") == 0)
		close_session(s, "expired", "the session reached its end time",
		    NULL);
	else if (s->open && s->ending != NULL) {
		s->ending = NULL;
		json_decref(s->ending_by);
		s->ending_by = NULL;
	}
	if (s->open) {
		/* The running session goes on; its end is extend's business. */
		if (when_possible && !s->when_possible) {
			s->when_possible = true;
			if (save_state(s) < 0) {
				*code = "storage";
				snprintf(why, whylen, "cannot save the session "
				    "in %s", s->state_path);
				return -1;
			}
			(void)record(s, "armed", json_pack("{s:O*}", "by", by),
			    true);
		}
		return 0;
	}
	if (check_duration(s, &duration_s, code, why, whylen) < 0)
		return -1;
	if (s->audit == NULL) {
		*code = "storage";
		snprintf(why, whylen, "the session history %s cannot be "
		    "written; the support VPN does not start unrecorded",
		    s->cfg->audit_file);
		return -1;
	}
	make_id(s, now);
	s->open = true;
	s->started_ms = now;
	s->started_by = by != NULL ? json_incref(by) : json_null();
	s->when_possible = when_possible;
	s->duration_s = duration_s;
	/* "When possible" counts from the connection, "now" from now. */
	s->expires_ms = (!when_possible && duration_s > 0) ?
	    now + (int64_t)duration_s * 1000 : 0;
	s->warned = false;
	s->connected = false;
	s->bytes_in = s->bytes_out = 0;
	s->logins = 0;
	s->ending = NULL;
	rec = json_pack("{s:s, s:O, s:I, s:o}", "how", when_possible ?
	    "when_possible" : "now", "by", s->started_by,
	    "duration_s", (json_int_t)duration_s,
	    "expires_at", time_json(s->expires_ms));
	(void)audit_set_open_session(s->audit, s->id);
	/* record() steals rec; if it is not reached, rec is ours to drop. */
	if ((rc = save_state(s)) < 0)
		json_decref(rec);
	else
		rc = record(s, "activated", rec, true);
	if (rc < 0) {
		drop_state(s);
		(void)audit_set_open_session(s->audit, NULL);
		json_decref(s->started_by);
		s->started_by = NULL;
		s->open = false;
		s->id[0] = '\0';
		*code = "storage";
		snprintf(why, whylen, "cannot record the support session in "
		    "%s; the support VPN does not start unrecorded",
		    s->cfg->state_dir);
		return -1;
	}
	log_info("session %s: activated (%s, %s)", s->id, when_possible ?
	    "when possible" : "now", duration_s == 0 ? "no end" : "time-boxed");
	announce(s, "started", json_pack("{s:s, s:I, s:o}", "how",
	    when_possible ? "when_possible" : "now", "duration_s",
	    (json_int_t)duration_s, "expires_at", time_json(s->expires_ms)));
	arm_timer(s);
	return 0;
}

int
session_extend(struct session *s, json_t *by, long duration_s,
    const char **code, char *why, size_t whylen)
{
	int64_t now = util_now_ms(), limit, old = s->expires_ms;
	long old_dur = s->duration_s;

	if (!s->open || s->ending != NULL) {
		*code = "not_active";
		snprintf(why, whylen, "there is no support session to extend");
		return -1;
	}
	if (s->duration_s == 0) {
		*code = "no_end";
		snprintf(why, whylen, "this support session has no end to "
		    "move");
		return -1;
	}
	if (duration_s < 0)
		duration_s = s->cfg->session_default_s;
	if (duration_s <= 0) {
		*code = "bad_argument";
		snprintf(why, whylen, "'duration_s' must be at least 1");
		return -1;
	}
	limit = now + (int64_t)s->cfg->session_max_s * 1000;
	if (s->expires_ms > 0) {
		s->expires_ms = (s->expires_ms > now ? s->expires_ms : now) +
		    (int64_t)duration_s * 1000;
		if (s->expires_ms > limit)
			s->expires_ms = limit;
	} else {
		/* Not connected yet: the clock has not started. */
		s->duration_s += duration_s;
		if (s->duration_s > s->cfg->session_max_s)
			s->duration_s = s->cfg->session_max_s;
	}
	if (save_state(s) < 0) {
		s->expires_ms = old;
		s->duration_s = old_dur;
		*code = "storage";
		snprintf(why, whylen, "cannot save the session in %s",
		    s->state_path);
		return -1;
	}
	s->warned = false;
	(void)record(s, "extended", json_pack("{s:O*, s:I, s:o, s:I}", "by", by,
	    "added_s", (json_int_t)duration_s, "expires_at",
	    time_json(s->expires_ms), "duration_s", (json_int_t)s->duration_s),
	    true);
	log_info("session %s: extended by %ld s", s->id, duration_s);
	announce(s, "extended", json_pack("{s:o}", "expires_at",
	    time_json(s->expires_ms)));
	arm_timer(s);
	return 0;
}

void
session_stopping(struct session *s, json_t *by)
{
	if (!s->open)
		return;
	if (s->ending == NULL)
		s->ending = "owner";
	json_decref(s->ending_by);
	s->ending_by = by != NULL ? json_incref(by) : NULL;
}

/* ---- what the vpn reports --------------------------------------------- */

void
session_on_state(struct session *s, enum vpn_state now)
{
	if (!s->open || now != VPN_STOPPED || s->shutting_down)
		return;
	if (s->ending != NULL && strcmp(s->ending, "expired") == 0)
		close_session(s, "expired", "the session reached its end time",
		    NULL);
	else
		close_session(s, "owner", "stopped by the owner", s->ending_by);
}

static const char *
down_reason(enum vpn_state now)
{
	switch (now) {
	case VPN_STOPPING:
	case VPN_STOPPED:
		return "stopped";
	case VPN_RECONNECTING:
		return "hub_lost";
	default:
		return "openvpn";
	}
}

void
session_on_tunnel(struct session *s, bool up, const struct vpn_tunnel *t,
    enum vpn_state now, const char *detail)
{
	int64_t ms = util_now_ms();

	if (!s->open || s->shutting_down)
		return;
	if (up) {
		s->connected = true;
		if (s->expires_ms == 0 && s->duration_s > 0) {
			s->expires_ms = ms + (int64_t)s->duration_s * 1000;
			(void)save_state(s);
			arm_timer(s);
		}
		(void)record(s, "connected", json_pack("{s:s?, s:s?, s:s, s:i, "
		    "s:s, s:o}", "hub_cn", t->server_cn[0] != '\0' ?
		    t->server_cn : NULL, "hub_fingerprint",
		    t->server_fingerprint[0] != '\0' ? t->server_fingerprint :
		    NULL, "hub_ip", t->server_ip, "hub_port", t->server_port,
		    "tunnel_ip", t->local_ip, "expires_at",
		    time_json(s->expires_ms)), true);
		announce(s, "connected", json_pack("{s:s, s:s, s:o}", "hub",
		    t->server_cn[0] != '\0' ? t->server_cn : t->server_ip,
		    "tunnel_ip", t->local_ip, "expires_at",
		    time_json(s->expires_ms)));
		return;
	}
	if (!s->connected)
		return;
	s->connected = false;
	s->bytes_in += t->bytes_in;
	s->bytes_out += t->bytes_out;
	(void)record(s, "disconnected", json_pack("{s:s, s:s, s:I, s:I}",
	    "why", (now == VPN_STOPPING && s->ending != NULL) ? s->ending :
	    down_reason(now), "detail", detail, "bytes_in",
	    (json_int_t)t->bytes_in, "bytes_out", (json_int_t)t->bytes_out),
	    true);
	(void)save_state(s);
	announce(s, "disconnected", json_pack("{s:s}", "detail", detail));
}

void
session_login(struct session *s, const char *user, bool granted,
    const char *reason, const char *from, json_t *by, unsigned repeated)
{
	json_t *rec;

	if (granted && s->open) {
		s->logins++;
		(void)save_state(s);
	}
	rec = json_pack("{s:s, s:b, s:s, s:s?, s:O*}", "user", user,
	    "granted", granted, "reason", reason, "from", from, "by", by);
	if (rec != NULL && repeated > 0)
		json_object_set_new(rec, "repeated", json_integer(repeated));
	(void)record(s, "login", rec, true);
	announce(s, "login", json_pack("{s:s, s:b, s:s, s:s?}", "user", user,
	    "granted", granted, "reason", reason, "from", from));
}

/* ---- status and history ----------------------------------------------- */

void
session_status_add(json_t *st, void *arg)
{
	struct session *s = arg;
	json_t *o;

	json_object_set_new(st, "expires_at", s->open ?
	    time_json(s->expires_ms) : json_null());
	if (!s->open) {
		json_object_set_new(st, "session", json_null());
		return;
	}
	o = json_pack("{s:s, s:o, s:O, s:s, s:I, s:o, s:i}", "id", s->id,
	    "started_at", time_json(s->started_ms), "started_by",
	    s->started_by != NULL ? s->started_by : json_null(),
	    "how", s->when_possible ? "when_possible" : "now",
	    "duration_s", (json_int_t)s->duration_s,
	    "expires_at", time_json(s->expires_ms),
	    "logins", (int)s->logins);
	json_object_set_new(st, "session", o != NULL ? o : json_null());
}

int
session_history(struct session *s, size_t limit, json_t **out)
{
	if (s->audit == NULL)
		return -EBADF;
	return audit_read(s->audit, limit, out);
}
