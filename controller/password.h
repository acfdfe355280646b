/* SPDX-License-Identifier: MIT */
/*
 * The support account's password: generation in a phone-friendly alphabet,
 * yescrypt hashing (libcrypt), the hash file, and a verification whose
 * running time does not depend on why an attempt fails.
 */
#ifndef SUPPORTVPN_PASSWORD_H
#define SUPPORTVPN_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* The only account password_verify() ever grants. */
#define PASSWORD_USER		"support"

/*
 * A generated password is 28 symbols of Crockford's base32 alphabet
 * (0-9 A-Z without I L O U), uppercase, in 7 groups of 4 joined by '-':
 * "7K3M-Q0XZ-..." Each symbol carries exactly 5 bits drawn uniformly from
 * getrandom(2), so a password holds exactly 28 * 5 = 140 bits of entropy.
 */
#define PASSWORD_GEN_SYMBOLS	28
#define PASSWORD_GEN_GROUP	4
#define PASSWORD_GEN_BITS	(PASSWORD_GEN_SYMBOLS * 5)
#define PASSWORD_GEN_LEN	(PASSWORD_GEN_SYMBOLS + \
	    PASSWORD_GEN_SYMBOLS / PASSWORD_GEN_GROUP - 1)
#define PASSWORD_GEN_SIZE	(PASSWORD_GEN_LEN + 1)

/* Longest password accepted anywhere, in bytes; buffers need one more. */
#define PASSWORD_MAX_LEN	256
/* Room for any hash password_hash() writes (libcrypt's CRYPT_OUTPUT_SIZE). */
#define PASSWORD_HASH_SIZE	384

/*
 * Writes a new password (PASSWORD_GEN_LEN characters and a NUL) into out,
 * which needs PASSWORD_GEN_SIZE bytes. 0, -ENOSPC when outlen is too
 * small, or -errno from getrandom(2).
 */
int	password_generate(char *out, size_t outlen);

/*
 * True when pw is acceptable as a password: 1 to PASSWORD_MAX_LEN bytes,
 * no control characters (below 0x20, or 0x7f). Bytes >= 0x80 are allowed.
 */
bool	password_valid(const char *pw);

/*
 * Hashes pw with yescrypt at PASSWORD_YESCRYPT_COST (password.c, with
 * the measurements behind it) and a fresh random salt into out ("$y$..." and a NUL). 0, -EINVAL for an invalid pw,
 * -ENOSPC when outlen is too small, -ENOMEM, or -errno from libcrypt.
 */
int	password_hash(const char *pw, char *out, size_t outlen);

/*
 * Sets the password: writes "<hash>\n" to path atomically and durably,
 * mode 0600. The plaintext is never written. pw is borrowed; wiping it is
 * the caller's business. 0 or -errno (-EINVAL for an invalid pw).
 */
int	password_store(const char *path, const char *pw);

/*
 * Checks a login. *ok becomes true only when user is exactly
 * PASSWORD_USER, hash_path holds a valid yescrypt hash and pw matches it.
 *
 * Every call runs exactly one yescrypt computation: against the stored
 * hash when the file holds a valid one (so a wrong user costs what a
 * wrong password costs), otherwise against a dummy hash made once at
 * PASSWORD_YESCRYPT_COST. An invalid pw is replaced by a fixed phrase for
 * that computation. The result is compared in constant time.
 *
 * Returns 0 with the decision in *ok (wrong user, wrong or invalid
 * password), or, with *ok false and still after the computation:
 * -ENOENT when no password has been set, -EBADMSG when the file does not
 * hold a valid yescrypt hash, other -errno when it is unreadable or
 * libcrypt fails. These are for the local log; the remote side should
 * only ever see "denied".
 *
 * Thread-safe (meant for uv_queue_work); all arguments borrowed.
 */
int	password_verify(const char *hash_path, const char *user,
	    const char *pw, bool *ok);

/*
 * Reads one line from fd (e.g. standard input for a CLI --set) into out
 * without its "\n" (or "\r\n"); reads byte by byte, so nothing after the
 * line is consumed. 0; -EINVAL when the line is empty or holds a NUL or a
 * control character; -EMSGSIZE when it is longer than PASSWORD_MAX_LEN or
 * outlen - 1; -ENODATA at end of file before any byte; -errno from read.
 * On failure out is wiped. Turning off the terminal's echo is the
 * caller's business.
 */
int	password_read_line(int fd, char *out, size_t outlen);

/*
 * For tests: how many yescrypt computations this process has run
 * (hashing, verification and the dummy), so a test can check that every
 * path of password_verify() pays for one without measuring time.
 */
unsigned long	password_crypt_count(void);

#endif
