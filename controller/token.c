/* SPDX-License-Identifier: MIT */
/*
 * The API token: its file (made at the first start, kept across restarts,
 * replaced when others may know it), the constant-time comparison, and a
 * failure limiter per peer uid, so that a local process guessing tokens
 * locks out itself and not the owner's web UI.
 */
#define _DEFAULT_SOURCE		/* explicit_bzero */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "ratelimit.h"
#include "token.h"
#include "util.h"

bool
token_parse(const char *text, size_t len, char *out)
{
	size_t i;

	if (len == TOKEN_LEN + 1 && text[TOKEN_LEN] == '\n')
		len--;
	if (len != TOKEN_LEN)
		return false;
	for (i = 0; i < TOKEN_LEN; i++)
		if (!((text[i] >= '0' && text[i] <= '9') ||
		    (text[i] >= 'a' && text[i] <= 'f')))
			return false;
	if (out != NULL) {
		memcpy(out, text, TOKEN_LEN);
		out[TOKEN_LEN] = '\0';
	}
	return true;
}

bool
token_equal(const char *want, const char *given, size_t len)
{
	volatile unsigned char diff = len != TOKEN_LEN;
	size_t i;

	/* Every digit is looked at whatever the first difference; only the
	 * length, which is public, decides what is read. */
	for (i = 0; i < TOKEN_LEN; i++)
		diff |= (unsigned char)want[i] ^
		    (unsigned char)(i < len ? given[i] : 0);
	return diff == 0;
}

int
token_group_resolve(const char *name, gid_t *gid, char *why, size_t whylen)
{
	struct group *gr;
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(name, &end, 10);
	if (name[0] >= '0' && name[0] <= '9' && *end == '\0' && errno == 0 &&
	    n < (unsigned long)INT_MAX) {
		*gid = (gid_t)n;
		return 0;
	}
	if ((gr = getgrnam(name)) == NULL) {
		snprintf(why, whylen, "api.token_group: there is no group "
		    "'%s'", name);
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

/* ---- the file ----------------------------------------------------------- */

static int
make_token(char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[TOKEN_LEN / 2];
	size_t i, got = 0;
	ssize_t n;

	while (got < sizeof(rnd)) {
		if ((n = getrandom(rnd + got, sizeof(rnd) - got, 0)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	for (i = 0; i < sizeof(rnd); i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 15];
	}
	out[TOKEN_LEN] = '\0';
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}

/*
 * Writes a new token to path: a temp file owned by us and gid (-1: ours)
 * with TOKEN_FILE_MODE before it has a byte in it, fsynced, renamed over
 * path (a symbolic link there is replaced, not followed). 0 or -errno.
 */
static int
write_token(const char *path, gid_t gid, char *token)
{
	char tmp[PATH_MAX + 8], line[TOKEN_LEN + 1];
	int fd = -1, rc;

	if ((rc = util_snprintf(tmp, sizeof(tmp), "%s.tmp", path)) < 0)
		return rc;
	if ((rc = make_token(token)) < 0)
		return rc;
	(void)unlink(tmp);	/* a stale one from a crash */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0)
		return -errno;
	memcpy(line, token, TOKEN_LEN);
	line[TOKEN_LEN] = '\n';
	if (fchown(fd, geteuid(), gid) < 0 ||
	    fchmod(fd, TOKEN_FILE_MODE) < 0)
		rc = -errno;
	else if ((rc = util_write_all(fd, line, sizeof(line))) == 0 &&
	    fsync(fd) < 0)
		rc = -errno;
	explicit_bzero(line, sizeof(line));
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		(void)unlink(tmp);
		return rc;
	}
	return util_fsync_dir(path);
}

/*
 * Why a token file that exists must be replaced (others may know its
 * token), into why; false when it can be kept.
 */
static bool
must_replace(const struct stat *st, bool set_group, gid_t gid, char *why,
    size_t whylen)
{
	mode_t mode = st->st_mode & 07777;

	if (st->st_uid != geteuid())
		snprintf(why, whylen, "it is owned by uid %u, not by "
		    "supportvpnd's user (uid %u)", (unsigned)st->st_uid,
		    (unsigned)geteuid());
	else if (mode & (S_IWGRP | S_IRWXO))
		snprintf(why, whylen, "its mode %04o lets others than its "
		    "owner and group read or change it", (unsigned)mode);
	else if (set_group && st->st_gid != gid && (mode & S_IRGRP))
		snprintf(why, whylen, "its group (gid %u) is not "
		    "api.token_group (gid %u) and could read it",
		    (unsigned)st->st_gid, (unsigned)gid);
	else
		return false;
	return true;
}

/* A kept file gets the documented mode and group; logged. 0 or -errno. */
static int
fix_file(int fd, const char *path, const struct stat *st, bool set_group,
    gid_t gid)
{
	mode_t mode = st->st_mode & 07777;

	if (set_group && st->st_gid != gid && fchown(fd, (uid_t)-1, gid) < 0)
		return -errno;
	if (mode != TOKEN_FILE_MODE && fchmod(fd, TOKEN_FILE_MODE) < 0)
		return -errno;
	if (mode != TOKEN_FILE_MODE || (set_group && st->st_gid != gid))
		log_warnx("api: the API token file %s had mode %04o and gid "
		    "%u; now %04o and gid %u (the token is kept)", path,
		    (unsigned)mode, (unsigned)st->st_gid, TOKEN_FILE_MODE,
		    (unsigned)(set_group ? gid : st->st_gid));
	return 0;
}

/*
 * The existing file at path: 0 with token when it is kept (fixed if need
 * be), 1 with why when it must be replaced, -ENOENT when there is none,
 * another -errno when it cannot be used.
 */
static int
read_existing(const char *path, bool set_group, gid_t gid, char *token,
    char *why, size_t whylen)
{
	char buf[TOKEN_LEN + 2];
	struct stat st;
	ssize_t n;
	int fd, rc = 1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) < 0) {
		if (errno != ELOOP)
			return -errno;
		snprintf(why, whylen, "it is a symbolic link");
		return 1;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		log_error("api: the API token file %s is not a regular file",
		    path);
		goto out;
	}
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		rc = -errno;
	else if (!token_parse(buf, (size_t)n, token))
		snprintf(why, whylen, "it holds no valid token");
	else if (!must_replace(&st, set_group, gid, why, whylen))
		rc = fix_file(fd, path, &st, set_group, gid);
	explicit_bzero(buf, sizeof(buf));
out:
	(void)close(fd);
	if (rc != 0)
		explicit_bzero(token, TOKEN_LEN + 1);
	return rc;
}

/* With a group and the file in state_dir: the group may pass (0710). */
static int
prepare_state_dir(const struct config *cfg, gid_t gid)
{
	int rc;

	if ((rc = util_mkdir_p(cfg->state_dir, 0700)) < 0) {
		log_error("api: cannot create %s: %s", cfg->state_dir,
		    strerror(-rc));
		return rc;
	}
	if (cfg->state_dir_mode != 0710)
		return 0;
	if (chown(cfg->state_dir, (uid_t)-1, gid) < 0 ||
	    chmod(cfg->state_dir, 0710) < 0) {
		rc = -errno;
		log_error("api: cannot let group %s reach %s: %s",
		    cfg->api_token_group, cfg->state_dir, strerror(errno));
		return rc;
	}
	return 0;
}

int
token_prepare(const struct config *cfg, char *token)
{
	const char *path = cfg->api_token_file;
	bool set_group = cfg->api_token_group[0] != '\0';
	char why[256] = "";
	gid_t gid = (gid_t)-1;
	int rc;

	if (set_group && token_group_resolve(cfg->api_token_group, &gid, why,
	    sizeof(why)) < 0) {
		log_error("%s", why);
		return -ENOENT;
	}
	if ((rc = prepare_state_dir(cfg, gid)) < 0)
		return rc;
	rc = read_existing(path, set_group, gid, token, why, sizeof(why));
	if (rc == 0)
		return 0;
	if (rc < 0 && rc != -ENOENT) {
		log_error("api: cannot use the API token file %s: %s", path,
		    strerror(-rc));
		return rc;
	}
	if ((rc = write_token(path, gid, token)) < 0) {
		log_error("api: cannot write the API token file %s: %s", path,
		    strerror(-rc));
		explicit_bzero(token, TOKEN_LEN + 1);
		return rc;
	}
	if (why[0] != '\0')
		log_warnx("api: replaced the API token in %s with a new one: "
		    "%s; clients must read the new one", path, why);
	else
		log_info("api: made a new API token in %s (mode %04o%s%s)",
		    path, TOKEN_FILE_MODE, set_group ? ", group " : "",
		    set_group ? cfg->api_token_group : "");
	return 0;
}

/* ---- the check ---------------------------------------------------------- */

struct slot {
	bool			 used;
	long			 uid;
	int64_t			 last;		/* last check, for eviction */
	struct ratelimit	 rl;
};

struct token_guard {
	char		 token[TOKEN_LEN + 1];
	struct slot	 slots[TOKEN_GUARD_SLOTS];
};

struct token_guard *
token_guard_new(const char *token)
{
	struct token_guard *g;

	if (!token_parse(token, strlen(token), NULL)) {
		errno = EINVAL;
		return NULL;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	memcpy(g->token, token, TOKEN_LEN + 1);
	return g;
}

void
token_guard_free(struct token_guard *g)
{
	if (g == NULL)
		return;
	explicit_bzero(g->token, sizeof(g->token));
	free(g);
}

/*
 * uid's limiter: its own, a free one, or the one idle longest that is not
 * locking anybody out (that uid's count starts afresh). NULL when all are
 * locking out others: then everybody new is refused too.
 */
static struct slot *
slot_for(struct token_guard *g, long uid, int64_t now)
{
	static const struct rl_config rc = {
		.max_failures = TOKEN_MAX_FAILURES,
		.window_ms = TOKEN_WINDOW_MS,
		.lockout_ms = TOKEN_LOCKOUT_MS,
		.lockout_max_ms = TOKEN_LOCKOUT_MAX_MS,
	};
	struct slot *s, *pick = NULL;
	size_t i;

	for (i = 0; i < TOKEN_GUARD_SLOTS; i++)
		if (g->slots[i].used && g->slots[i].uid == uid)
			return &g->slots[i];
	for (i = 0; i < TOKEN_GUARD_SLOTS; i++) {
		s = &g->slots[i];
		if (!s->used) {
			pick = s;
			break;
		}
		if (rl_allowed(&s->rl, now, NULL) &&
		    (pick == NULL || s->last < pick->last))
			pick = s;
	}
	if (pick == NULL)
		return NULL;
	pick->used = true;
	pick->uid = uid;
	pick->last = now;
	(void)rl_init(&pick->rl, &rc);	/* constant, valid */
	return pick;
}

struct token_result
token_check(struct token_guard *g, long uid, const char *given, size_t len,
    int64_t now)
{
	struct token_result r = { .verdict = TOKEN_OK };
	struct slot *s = slot_for(g, uid, now);

	if (s == NULL) {
		r.verdict = TOKEN_LOCKED;
		r.retry_ms = TOKEN_LOCKOUT_MS;
		return r;
	}
	s->last = now;
	if (!rl_allowed(&s->rl, now, &r.retry_ms)) {
		r.verdict = TOKEN_LOCKED;
		return r;
	}
	if (given != NULL && token_equal(g->token, given, len)) {
		rl_success(&s->rl, now);
		return r;
	}
	r.verdict = given == NULL ? TOKEN_MISSING : TOKEN_WRONG;
	rl_failure(&s->rl, now);
	if (!rl_allowed(&s->rl, now, &r.lockout_ms))
		r.lockout_started = true;
	return r;
}
