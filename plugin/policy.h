/* SPDX-License-Identifier: MIT */
/*
 * The hub-certificate policy: which support server names a hub's leaf may
 * carry and which root certificates (SHA-256 of the DER) a chain may end
 * in. The parser, the name matcher and the fingerprint helpers are pure;
 * struct policy_file caches the file and re-reads it when it changes.
 */
#ifndef SUPPORTVPN_PLUGIN_POLICY_H
#define SUPPORTVPN_PLUGIN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define POLICY_SHA256_LEN	32
/* Longest name (CN or pattern) that can ever match, in bytes. */
#define POLICY_NAME_MAX		255
#define POLICY_LABEL_MAX	63
/* "sha256:" + 64 lowercase hex digits + NUL */
#define POLICY_FP_TEXT_LEN	72
/* Largest policy file read. */
#define POLICY_FILE_MAX		65536

struct hub_policy;
struct json_t;

struct policy {
	char		**names;	/* valid patterns, as written */
	size_t		  n_names;
	unsigned char	(*ca)[POLICY_SHA256_LEN];
	size_t		  n_ca;
};

/* Why a policy was refused: 1-based line (0 = not about a position). */
struct policy_error {
	int	line;
	char	text[200];
};

/*
 * Parses a policy document: exactly the keys "server_names" and
 * "ca_sha256", each a non-empty array of valid entries. Returns a new
 * policy (free with policy_free), or NULL with err filled.
 */
struct policy	*policy_parse(const char *buf, size_t len,
		    struct policy_error *err);
/* Frees a policy. NULL-safe. */
void		 policy_free(struct policy *p);

/* Fills err (a printf format). */
void	policy_error_set(struct policy_error *err, int line, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

/* True when name (len bytes, not NUL-terminated) matches a pattern. */
bool	policy_name_allowed(const struct policy *p, const char *name,
	    size_t len);
/* True when fp is one of the pinned roots (constant-time per entry). */
bool	policy_ca_pinned(const struct policy *p,
	    const unsigned char fp[POLICY_SHA256_LEN]);
/* True when fp is one of list[0..n) (constant-time per entry). */
bool	policy_fp_listed(const unsigned char (*list)[POLICY_SHA256_LEN],
	    size_t n, const unsigned char fp[POLICY_SHA256_LEN]);
/* ASCII case-insensitive equality of len bytes (no locale). */
bool	policy_case_equal(const char *a, const char *b, size_t len);

/*
 * Helpers for a policy document's parts, shared with hub_policy.c; where
 * names the part in messages ("ca_sha256", "staff.ca_sha256").
 * policy_json_list: obj's key as a non-empty array of strings (borrowed
 * from obj), or NULL with err filled. policy_json_fingerprints: parses
 * such an array into *out (new, free() it, also on failure) and *n. 0, or
 * -1 with err filled.
 */
struct json_t	*policy_json_list(struct json_t *obj, const char *key,
		    const char *where, struct policy_error *err);
int		 policy_json_fingerprints(struct json_t *a, const char *where,
		    unsigned char (**out)[POLICY_SHA256_LEN], size_t *n,
		    struct policy_error *err);

/*
 * A pattern is a host name of 1..255 bytes whose labels are 1..63 of
 * [A-Za-z0-9_-], or "*." followed by such a name: the "*" stands for
 * exactly one leftmost label.
 */
bool	policy_pattern_valid(const char *pattern);
/*
 * Matches one name against one pattern, ASCII case-insensitive. The name
 * is len bytes: one with a NUL, an empty label, or more than 255 bytes
 * never matches, nor does any name against an invalid pattern.
 */
bool	policy_name_match(const char *pattern, const char *name, size_t len);

/*
 * Parses a SHA-256 fingerprint: 64 hex digits, any case, an optional ':'
 * between byte pairs, optionally after "sha256 Fingerprint=" (what
 * `openssl x509 -fingerprint -sha256` prints; any case) or "sha256:".
 * 0 with out filled, or -1.
 */
int	policy_fingerprint_parse(const char *text,
	    unsigned char out[POLICY_SHA256_LEN]);
/* Writes "sha256:" + 64 lowercase hex digits into out. */
void	policy_fingerprint_format(const unsigned char fp[POLICY_SHA256_LEN],
	    char out[POLICY_FP_TEXT_LEN]);

/*
 * The policy file as last read: a client policy, or in hub mode a hub
 * policy (hub_policy.h). The pointer is NULL when the file is missing,
 * unreadable or invalid; error then says why.
 */
struct policy_file {
	char		*path;
	bool		 hub_mode;
	struct policy	*policy;	/* client mode */
	struct hub_policy *hub;		/* hub mode */
	char		 error[320];
	bool		 have_id;	/* id below describes what we read */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	struct timespec	 ctime;
	int		 stat_errno;	/* last stat() failure, 0 if none */
};

/* Copies path and reads the file. 0, or -ENOMEM (nothing to deinit). */
int	policy_file_init(struct policy_file *pf, const char *path);
/* The same for a hub policy (mode=hub). */
int	policy_file_init_hub(struct policy_file *pf, const char *path);
/* True when the file was read and is valid. */
bool	policy_file_loaded(const struct policy_file *pf);
/*
 * Re-reads the file when stat() shows it changed (one stat() otherwise).
 * Returns 1 when the outcome changed (the caller logs it), else 0.
 */
int	policy_file_refresh(struct policy_file *pf);
void	policy_file_deinit(struct policy_file *pf);

#endif
