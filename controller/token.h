/* SPDX-License-Identifier: MIT */
/*
 * The API token: who may change anything over the JSON API. Any local
 * process can reach a loopback port, so commands that change state carry
 * a secret that only root and api.token_group can read from
 * api.token_file. This module makes and checks that file, compares
 * tokens in constant time and keeps a failure limiter per peer uid.
 */
#ifndef SUPPORTVPN_TOKEN_H
#define SUPPORTVPN_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;

/* A token is 32 random bytes as 64 lower-case hex digits. */
#define TOKEN_LEN		64
#define TOKEN_FILE_MODE		0640

/*
 * Wrong or missing tokens per peer uid before a lock-out, and its length
 * (doubling for each lock-out in a row up to the maximum): the rules of
 * ratelimit.h.
 */
#define TOKEN_MAX_FAILURES	5
#define TOKEN_WINDOW_MS		(60 * 1000)
#define TOKEN_LOCKOUT_MS	(60 * 1000)
#define TOKEN_LOCKOUT_MAX_MS	(60 * 60 * 1000)
/* Peer uids the limiter tracks at once (local users are few). */
#define TOKEN_GUARD_SLOTS	64

/*
 * True when text (len bytes) is a token as this module writes it, with
 * or without one trailing newline; out (TOKEN_LEN + 1 bytes, may be
 * NULL) then gets it without the newline.
 */
bool	token_parse(const char *text, size_t len, char *out);

/* given (len bytes) equals want (TOKEN_LEN digits); constant time for
 * a given length. */
bool	token_equal(const char *want, const char *given, size_t len);

/*
 * The gid of group name (a name, or a number). 0, or -1 with why filled
 * ("no group 'x'").
 */
int	token_group_resolve(const char *name, gid_t *gid, char *why,
	    size_t whylen);

/*
 * Makes cfg->api_token_file hold a token readable by this process's user
 * and, when cfg->api_token_group is set, that group (0640): a missing
 * file is made with a fresh token from getrandom; a file others may have
 * read or written (a symbolic link, another owner, group-writable,
 * readable by others or by another group than api.token_group) or
 * holding no valid token is replaced by a new one; a merely wrong mode or
 * group is corrected. Each of these is logged (never the token). With a
 * group and the file in state_dir, state_dir gets that group and mode
 * 0710 so the group can reach the file. 0 with token (TOKEN_LEN + 1
 * bytes) filled, or -errno (logged).
 */
int	token_prepare(const struct config *cfg, char *token);

/* ---- the check, with a failure limiter per peer uid ------------------ */

enum token_verdict {
	TOKEN_OK,
	TOKEN_MISSING,		/* no token given */
	TOKEN_WRONG,
	TOKEN_LOCKED,		/* refused without comparing */
};

struct token_result {
	enum token_verdict verdict;
	int64_t		 retry_ms;	/* TOKEN_LOCKED: time left */
	bool		 lockout_started; /* this failure began a lock-out */
	int64_t		 lockout_ms;	/* ... that long */
};

struct token_guard;

/* A guard for token (copied). NULL + errno. */
struct token_guard *token_guard_new(const char *token);
/* Wipes the token and frees. NULL-safe. */
void	token_guard_free(struct token_guard *g);

/*
 * Checks given (len bytes; NULL: none given) from peer uid (-1: unknown,
 * one shared limiter) at now (monotonic milliseconds, never going back).
 * While uid is locked out the answer is TOKEN_LOCKED and given is not
 * compared. A missing or wrong token counts as a failure of uid; a right
 * one clears its count.
 */
struct token_result token_check(struct token_guard *g, long uid,
	    const char *given, size_t len, int64_t now);

#endif
