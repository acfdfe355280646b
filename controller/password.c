/* SPDX-License-Identifier: MIT */
/*
 * The support account's password: generation, yescrypt hashing through
 * libcrypt, the hash file, and a verification that always pays for exactly
 * one yescrypt computation, whatever is wrong with the attempt.
 */
#define _DEFAULT_SOURCE		/* explicit_bzero */
#include <assert.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "password.h"
#include "util.h"

/*
 * yescrypt cost for crypt_gensalt_rn("$y$", cost, ...): the highest cost
 * whose hash takes at most ~50 ms. Measured on the 2-core build machine
 * (AMD EPYC, libxcrypt 4.4.33), one hash at a time, 3 runs of 10-30
 * hashes each; mean range over the runs, fastest hash, peak RSS:
 *
 *	cost	mean ms		min ms	memory
 *	3	 14.0-14.5	 14	  5 MiB
 *	4	 27.2-28.8	 27	  9 MiB	  <- chosen
 *	5	 58.9-71.6	 57	 17 MiB	  libxcrypt's default; over budget
 *	6	116.0-146.5	110	 34 MiB
 *	7	238.1-256.9	224	 66 MiB
 *	8	464.2-507.3	435	132 MiB
 *
 * Memory counts too: libuv's pool may run four verifications at once. A
 * generated password has 140 bits, so the cost only matters for passwords
 * a person chose.
 */
#define PASSWORD_YESCRYPT_COST	4

/* Crockford's base32: no I, L, O, U to misread or mishear. */
static const char alphabet[32] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/*
 * Stands in for an invalid password in password_verify(), so that the
 * computation's input has an ordinary length. Never a match: an invalid
 * password is refused before the comparison counts.
 */
#define INVALID_PHRASE		"-"

/* A yescrypt hash: "$y$" params "$" salt "$" 43 base64 characters. */
#define YESCRYPT_HASH_B64	43

static_assert(PASSWORD_HASH_SIZE == CRYPT_OUTPUT_SIZE,
    "PASSWORD_HASH_SIZE must follow libcrypt");
static_assert(sizeof(alphabet) == 32, "base32 needs 32 symbols");

static atomic_ulong crypt_count;

/* The dummy hash: made once, read-only afterwards, so safe to share. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[CRYPT_OUTPUT_SIZE];
static int dummy_rc;

unsigned long
password_crypt_count(void)
{
	return atomic_load(&crypt_count);
}

static int
fill_random(unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
password_generate(char *out, size_t outlen)
{
	unsigned char rnd[PASSWORD_GEN_SYMBOLS];
	size_t i, j = 0;
	int rc;

	if (outlen < PASSWORD_GEN_SIZE)
		return -ENOSPC;
	if ((rc = fill_random(rnd, sizeof(rnd))) < 0)
		return rc;
	for (i = 0; i < sizeof(rnd); i++) {
		if (i > 0 && i % PASSWORD_GEN_GROUP == 0)
			out[j++] = '-';
		/* 32 divides 256: the low 5 bits of a byte are uniform. */
		out[j++] = alphabet[rnd[i] & 0x1f];
	}
	out[j] = '\0';
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}

bool
password_valid(const char *pw)
{
	size_t i, len;

	if (pw == NULL)
		return false;
	len = strnlen(pw, PASSWORD_MAX_LEN + 1);
	if (len == 0 || len > PASSWORD_MAX_LEN)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pw[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/*
 * One yescrypt computation into out. struct crypt_data is 32 KiB, too big
 * for a thread-pool stack, so it lives on the heap; it holds a copy of the
 * phrase and is wiped before it is freed.
 */
static int
run_crypt(const char *phrase, const char *setting, char *out, size_t outlen)
{
	struct crypt_data *cd;
	size_t len;
	int rc = 0;

	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -ENOMEM;
	atomic_fetch_add(&crypt_count, 1);
	errno = 0;
	if (crypt_rn(phrase, setting, cd, (int)sizeof(*cd)) == NULL)
		rc = errno != 0 ? -errno : -EINVAL;
	else if ((len = strlen(cd->output)) >= outlen)
		rc = -ENOSPC;
	else
		memcpy(out, cd->output, len + 1);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

int
password_hash(const char *pw, char *out, size_t outlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	if (outlen > 0)
		out[0] = '\0';
	if (!password_valid(pw))
		return -EINVAL;
	/* NULL random bytes: libcrypt takes the salt from the kernel. */
	errno = 0;
	if (crypt_gensalt_rn("$y$", PASSWORD_YESCRYPT_COST, NULL, 0, setting,
	    (int)sizeof(setting)) == NULL)
		return errno != 0 ? -errno : -EINVAL;
	return run_crypt(pw, setting, out, outlen);
}

int
password_store(const char *path, const char *pw)
{
	char line[CRYPT_OUTPUT_SIZE + 1];
	size_t len;
	int rc;

	if ((rc = password_hash(pw, line, sizeof(line) - 1)) < 0)
		return rc;
	len = strlen(line);
	line[len++] = '\n';
	rc = util_write_atomic(path, line, len, 0600, true);
	explicit_bzero(line, sizeof(line));
	return rc;
}

/*
 * The dummy's phrase is fixed and public: a computation against the dummy
 * never grants, so nothing depends on keeping it secret. Only its cost has
 * to match a real hash's.
 */
static void
dummy_init(void)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	errno = 0;
	if (crypt_gensalt_rn("$y$", PASSWORD_YESCRYPT_COST, NULL, 0, setting,
	    (int)sizeof(setting)) == NULL) {
		dummy_rc = errno != 0 ? -errno : -EINVAL;
		return;
	}
	dummy_rc = run_crypt("supportvpn dummy", setting, dummy_hash,
	    sizeof(dummy_hash));
}

static bool
is_b64(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z') || c == '.' || c == '/';
}

/* A complete yescrypt hash: "$y$" params "$" salt "$" hash, nothing else. */
static bool
is_yescrypt_hash(const char *h)
{
	const char *p, *last = NULL;
	int dollars = 0;

	if (strncmp(h, "$y$", 3) != 0)
		return false;
	for (p = h; *p != '\0'; p++) {
		if (*p == '$') {
			dollars++;
			last = p;
		} else if (!is_b64(*p))
			return false;
	}
	return dollars == 4 && strlen(last + 1) == YESCRYPT_HASH_B64 &&
	    crypt_checksalt(h) == CRYPT_SALT_OK;
}

/*
 * Reads the hash file into out (CRYPT_OUTPUT_SIZE bytes). 0, -EBADMSG
 * when it does not hold exactly one yescrypt hash (and an optional
 * newline), or -errno.
 */
static int
read_hash(const char *path, char *out, size_t outlen)
{
	size_t len = 0;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	/* One byte more than fits tells an oversized file apart. */
	while (len < outlen) {
		ssize_t n = read(fd, out + len, outlen - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (rc < 0)
		goto fail;
	if (len > 0 && out[len - 1] == '\n')
		len--;
	if (len == 0 || len >= outlen || memchr(out, '\0', len) != NULL) {
		rc = -EBADMSG;
		goto fail;
	}
	out[len] = '\0';
	if (!is_yescrypt_hash(out)) {
		rc = -EBADMSG;
		goto fail;
	}
	return 0;
fail:
	memset(out, 0, outlen);
	return rc;
}

/* Both buffers are CRYPT_OUTPUT_SIZE, zero after the string: all compared. */
static bool
equal_ct(const char *a, const char *b)
{
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < CRYPT_OUTPUT_SIZE; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

int
password_verify(const char *hash_path, const char *user, const char *pw,
    bool *ok)
{
	char stored[CRYPT_OUTPUT_SIZE] = { 0 };
	char computed[CRYPT_OUTPUT_SIZE] = { 0 };
	const char *phrase;
	bool user_ok, pw_ok;
	int file_rc, rc;

	assert(hash_path != NULL && ok != NULL);
	*ok = false;
	if ((rc = pthread_once(&dummy_once, dummy_init)) != 0)
		return -rc;
	/* Fails the same way for every attempt: tells nothing. */
	if (dummy_rc < 0)
		return dummy_rc;

	user_ok = user != NULL && strcmp(user, PASSWORD_USER) == 0;
	pw_ok = password_valid(pw);
	phrase = pw_ok ? pw : INVALID_PHRASE;
	file_rc = read_hash(hash_path, stored, sizeof(stored));

	/*
	 * A wrong user runs against the real hash, not the dummy: then it
	 * costs exactly what a wrong password costs, even if the stored hash
	 * was made at another cost. Only without a usable hash is the dummy
	 * the stand-in.
	 */
	rc = run_crypt(phrase, file_rc == 0 ? stored : dummy_hash, computed,
	    sizeof(computed));
	if (rc == -EINVAL && file_rc == 0) {
		/* libcrypt refused the stored parameters before working. */
		file_rc = -EBADMSG;
		rc = run_crypt(phrase, dummy_hash, computed, sizeof(computed));
	}
	if (rc == 0 && file_rc == 0)
		*ok = equal_ct(computed, stored) && user_ok && pw_ok;
	explicit_bzero(computed, sizeof(computed));
	return file_rc < 0 ? file_rc : rc;
}

int
password_read_line(int fd, char *out, size_t outlen)
{
	/* Room for PASSWORD_MAX_LEN, a '\r' before the '\n', and one more. */
	char line[PASSWORD_MAX_LEN + 2];
	size_t len = 0;
	char c = 0;
	int rc = 0;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		/* A last line without "\n" (printf pw | ...) still counts. */
		if (n == 0) {
			if (len == 0)
				rc = -ENODATA;
			break;
		}
		if (c == '\n')
			break;
		if (len == sizeof(line)) {
			rc = -EMSGSIZE;
			goto out;
		}
		line[len++] = c;
	}
	if (rc < 0)
		goto out;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > PASSWORD_MAX_LEN || len >= outlen) {
		rc = -EMSGSIZE;
		goto out;
	}
	if (memchr(line, '\0', len) != NULL) {
		rc = -EINVAL;
		goto out;
	}
	memcpy(out, line, len);
	out[len] = '\0';
	if (!password_valid(out))
		rc = -EINVAL;
out:
	if (rc < 0 && outlen > 0)
		explicit_bzero(out, outlen);
	explicit_bzero(line, sizeof(line));
	explicit_bzero(&c, sizeof(c));
	return rc;
}
