/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: password generation, yescrypt hashing, the hash file and
 * verification. Timing is not measured; instead every failing path of
 * password_verify() is checked to run exactly one yescrypt computation.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "password.h"

#define PW	"K7QM-2XZ9-PB4R-T0WA-HN3C-8VYE-F5GJ"

struct fixture {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	bool ok;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/svtest-password-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/support.hash", f->dir);
	/* Makes the dummy hash now, so each test counts only its own work. */
	if (password_verify(f->path, PASSWORD_USER, PW, &ok) != -ENOENT)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	(void)unlink(f->path);
	snprintf(p, sizeof(p), "%s.tmp", f->path);
	(void)unlink(p);
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

static void
write_bytes(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static size_t
read_file(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return n;
}

static bool
contains(const char *buf, size_t n, const char *needle)
{
	size_t i, m = strlen(needle);

	for (i = 0; i + m <= n; i++)
		if (memcmp(buf + i, needle, m) == 0)
			return true;
	return false;
}

/* password_verify() plus the check that it ran exactly one yescrypt. */
static int
verify1(const char *path, const char *user, const char *pw, bool *ok)
{
	unsigned long before = password_crypt_count();
	int rc;

	*ok = true;
	rc = password_verify(path, user, pw, ok);
	assert_int_equal(password_crypt_count() - before, 1);
	return rc;
}

static void
test_generate(void **state)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	char pw[50][PASSWORD_GEN_SIZE], small[PASSWORD_GEN_SIZE - 1];
	bool seen[32] = { false };
	size_t i, j, k;

	assert_int_equal(PASSWORD_GEN_BITS, 140);
	assert_true(PASSWORD_GEN_BITS >= 128);
	assert_int_equal(PASSWORD_GEN_LEN, 34);
	for (i = 0; i < 50; i++) {
		assert_int_equal(password_generate(pw[i], sizeof(pw[i])), 0);
		assert_int_equal(strlen(pw[i]), PASSWORD_GEN_LEN);
		assert_true(password_valid(pw[i]));
		for (j = 0; j < PASSWORD_GEN_LEN; j++) {
			const char *p;

			if (j % (PASSWORD_GEN_GROUP + 1) == PASSWORD_GEN_GROUP) {
				assert_int_equal(pw[i][j], '-');
				continue;
			}
			p = strchr(alphabet, pw[i][j]);
			assert_true(p != NULL && *p != '\0');
			seen[p - alphabet] = true;
		}
		for (k = 0; k < i; k++)
			assert_string_not_equal(pw[i], pw[k]);
	}
	/* 1400 uniform symbols: missing one of 32 has odds below 1e-17. */
	for (i = 0; i < 32; i++)
		assert_true(seen[i]);
	assert_int_equal(password_generate(small, sizeof(small)), -ENOSPC);
}

static void
test_hash(void **state)
{
	char a[PASSWORD_HASH_SIZE], b[PASSWORD_HASH_SIZE], tiny[16];

	assert_int_equal(password_hash(PW, a, sizeof(a)), 0);
	assert_int_equal(strncmp(a, "$y$", 3), 0);
	assert_null(strstr(a, PW));
	/* A fresh salt each time. */
	assert_int_equal(password_hash(PW, b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(password_hash(PW, tiny, sizeof(tiny)), -ENOSPC);
	/* UTF-8 is not a control character. */
	assert_int_equal(password_hash("p\xc3\xa4sswort", a, sizeof(a)), 0);
}

static void
test_invalid_refused(void **state)
{
	static const char *const bad[] = {
		"", "a\nb", "ab\n", "\r", "a\tb", "a\x01", "\x1b[0m", "del\x7f",
	};
	struct fixture *f = *state;
	char h[PASSWORD_HASH_SIZE], longpw[PASSWORD_MAX_LEN + 2];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(password_valid(bad[i]));
		assert_int_equal(password_hash(bad[i], h, sizeof(h)), -EINVAL);
		assert_int_equal(password_store(f->path, bad[i]), -EINVAL);
	}
	assert_false(password_valid(NULL));
	assert_int_equal(access(f->path, F_OK), -1);

	memset(longpw, 'a', sizeof(longpw) - 1);
	longpw[PASSWORD_MAX_LEN + 1] = '\0';
	assert_int_equal(password_hash(longpw, h, sizeof(h)), -EINVAL);
	longpw[PASSWORD_MAX_LEN] = '\0';
	assert_int_equal(password_hash(longpw, h, sizeof(h)), 0);
}

static void
test_store(void **state)
{
	struct fixture *f = *state;
	char buf[1024], tmp[160];
	struct stat st;
	size_t n;

	assert_int_equal(password_store(f->path, PW), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	assert_int_equal(access(tmp, F_OK), -1);

	n = read_file(f->path, buf, sizeof(buf));
	assert_true(n > 4);
	assert_int_equal(strncmp(buf, "$y$", 3), 0);
	assert_int_equal(buf[n - 1], '\n');
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
	/* No plaintext, not even a group of it. */
	assert_false(contains(buf, n, PW));
	assert_false(contains(buf, n, "K7QM"));
	assert_false(contains(buf, n, "F5GJ"));
}

static void
test_verify(void **state)
{
	struct fixture *f = *state;
	bool ok;

	assert_int_equal(password_store(f->path, PW), 0);
	assert_int_equal(verify1(f->path, "support", PW, &ok), 0);
	assert_true(ok);
	assert_int_equal(verify1(f->path, "support", PW "x", &ok), 0);
	assert_false(ok);
	assert_int_equal(verify1(f->path, "support", "k7qm-2xz9-pb4r-t0wa-"
	    "hn3c-8vye-f5gj", &ok), 0);
	assert_false(ok);
	assert_int_equal(verify1(f->path, "support", "", &ok), 0);
	assert_false(ok);

	/* Replacing the password replaces the hash. */
	assert_int_equal(password_store(f->path, "another one"), 0);
	assert_int_equal(verify1(f->path, "support", PW, &ok), 0);
	assert_false(ok);
	assert_int_equal(verify1(f->path, "support", "another one", &ok), 0);
	assert_true(ok);
}

/* The right password under any other name: one computation, false. */
static void
test_verify_wrong_user(void **state)
{
	static const char *const users[] = {
		"root", "Support", "SUPPORT", "support ", " support", "supportx",
		"suppor", "", "support\n",
	};
	struct fixture *f = *state;
	bool ok;
	size_t i;

	assert_int_equal(password_store(f->path, PW), 0);
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		assert_int_equal(verify1(f->path, users[i], PW, &ok), 0);
		assert_false(ok);
	}
	assert_int_equal(verify1(f->path, NULL, PW, &ok), 0);
	assert_false(ok);
}

/* Invalid password strings are refused after one computation too. */
static void
test_verify_invalid_password(void **state)
{
	struct fixture *f = *state;
	char longpw[PASSWORD_MAX_LEN + 2];
	bool ok;

	assert_int_equal(password_store(f->path, PW), 0);
	assert_int_equal(verify1(f->path, "support", PW "\n", &ok), 0);
	assert_false(ok);
	assert_int_equal(verify1(f->path, "support", "a\x01", &ok), 0);
	assert_false(ok);
	assert_int_equal(verify1(f->path, "support", NULL, &ok), 0);
	assert_false(ok);
	memset(longpw, 'a', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	assert_int_equal(verify1(f->path, "support", longpw, &ok), 0);
	assert_false(ok);
	/* The stand-in phrase for invalid input is no password either. */
	assert_int_equal(password_store(f->path, "-"), 0);
	assert_int_equal(verify1(f->path, "support", "a\x01", &ok), 0);
	assert_false(ok);
	assert_int_equal(verify1(f->path, "support", "-", &ok), 0);
	assert_true(ok);
}

static void
test_verify_missing(void **state)
{
	struct fixture *f = *state;
	bool ok;

	assert_int_equal(verify1(f->path, "support", PW, &ok), -ENOENT);
	assert_false(ok);
	assert_int_equal(verify1(f->path, "root", PW, &ok), -ENOENT);
	assert_false(ok);
	assert_int_equal(verify1(f->dir, "support", PW, &ok), -EISDIR);
	assert_false(ok);
}

static void
test_verify_unreadable(void **state)
{
	struct fixture *f = *state;
	bool ok;

	if (geteuid() == 0)
		skip();		/* root reads a 0000 file anyway */
	assert_int_equal(password_store(f->path, PW), 0);
	assert_int_equal(chmod(f->path, 0), 0);
	assert_int_equal(verify1(f->path, "support", PW, &ok), -EACCES);
	assert_false(ok);
}

static void
test_verify_garbage(void **state)
{
	struct fixture *f = *state;
	char good[PASSWORD_HASH_SIZE], bad[2 * PASSWORD_HASH_SIZE];
	const char *cases[12];
	size_t i, n = 0;
	bool ok;

	assert_int_equal(password_hash(PW, good, sizeof(good)), 0);
	cases[n++] = "";
	cases[n++] = "\n";
	cases[n++] = "garbage\n";
	cases[n++] = PW "\n";			/* a plaintext file */
	cases[n++] = "$y$\n";
	cases[n++] = "$y$j8T$abc\n";		/* a setting, no hash */
	/* Not yescrypt: SHA-512 crypt of "x". */
	cases[n++] = "$6$salt$IxDD3jeSOb5eB1CX5LBsqZFVkJdido3OUILO5Ifz5iwMuT"
	    "S4XMS130MTSuDDl3aCI6WouIL9AjRbLCelDCy.g.\n";
	for (i = 0; i < n; i++) {
		write_bytes(f->path, cases[i], strlen(cases[i]));
		assert_int_equal(verify1(f->path, "support", PW, &ok),
		    -EBADMSG);
		assert_false(ok);
	}

	/* The right hash, spoilt. */
	snprintf(bad, sizeof(bad), "%s\n\n", good);	/* two newlines */
	write_bytes(f->path, bad, strlen(bad));
	assert_int_equal(verify1(f->path, "support", PW, &ok), -EBADMSG);
	snprintf(bad, sizeof(bad), "%s junk\n", good);
	write_bytes(f->path, bad, strlen(bad));
	assert_int_equal(verify1(f->path, "support", PW, &ok), -EBADMSG);
	snprintf(bad, sizeof(bad), "%.*s\n", (int)strlen(good) - 1, good);
	write_bytes(f->path, bad, strlen(bad));
	assert_int_equal(verify1(f->path, "support", PW, &ok), -EBADMSG);
	snprintf(bad, sizeof(bad), "%s", good);
	bad[5] = '\0';				/* a NUL inside */
	write_bytes(f->path, bad, strlen(good));
	assert_int_equal(verify1(f->path, "support", PW, &ok), -EBADMSG);
	memset(bad, 'a', sizeof(bad));		/* oversized */
	memcpy(bad, "$y$", 3);
	write_bytes(f->path, bad, sizeof(bad));
	assert_int_equal(verify1(f->path, "support", PW, &ok), -EBADMSG);
	assert_false(ok);

	/* Without its newline the right hash still counts. */
	write_bytes(f->path, good, strlen(good));
	assert_int_equal(verify1(f->path, "support", PW, &ok), 0);
	assert_true(ok);
}

/*
 * Well-formed characters but parameters libcrypt rejects: it fails
 * before working, so a second computation against the dummy pays.
 */
static void
test_verify_bad_params(void **state)
{
	struct fixture *f = *state;
	char good[PASSWORD_HASH_SIZE], *p;
	unsigned long before;
	bool ok;

	assert_int_equal(password_hash(PW, good, sizeof(good)), 0);
	/* "$y$j8T$..." -> "$y$jzz$...": parameters out of range. */
	assert_int_equal(good[3], 'j');
	good[4] = 'z';
	good[5] = 'z';
	p = strchr(good, '\0');
	*p++ = '\n';
	write_bytes(f->path, good, (size_t)(p - good));
	before = password_crypt_count();
	assert_int_equal(password_verify(f->path, "support", PW, &ok),
	    -EBADMSG);
	assert_false(ok);
	assert_int_equal(password_crypt_count() - before, 2);
}

struct verify_job {
	const char	*path;
	const char	*pw;
	bool		 want;
	int		 rc;
	bool		 ok;
};

static void *
verify_thread(void *arg)
{
	struct verify_job *j = arg;
	int i;

	for (i = 0; i < 3; i++) {
		j->rc = password_verify(j->path, "support", j->pw, &j->ok);
		if (j->rc != 0 || j->ok != j->want)
			break;
	}
	return NULL;
}

/* As on libuv's pool: several verifications at once. */
static void
test_verify_threads(void **state)
{
	struct fixture *f = *state;
	struct verify_job jobs[4];
	pthread_t t[4];
	size_t i;

	assert_int_equal(password_store(f->path, PW), 0);
	for (i = 0; i < 4; i++) {
		jobs[i] = (struct verify_job){ .path = f->path,
		    .pw = i % 2 == 0 ? PW : "wrong", .want = i % 2 == 0 };
		assert_int_equal(pthread_create(&t[i], NULL, verify_thread,
		    &jobs[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(jobs[i].rc, 0);
		assert_int_equal(jobs[i].ok, jobs[i].want);
	}
}

/* Feeds data to password_read_line() through a pipe. */
static int
read_line_from(const char *data, size_t len, char *out, size_t outlen)
{
	int fds[2], rc;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], data, len), (ssize_t)len);
	close(fds[1]);
	rc = password_read_line(fds[0], out, outlen);
	close(fds[0]);
	return rc;
}

static void
test_read_line(void **state)
{
	char out[PASSWORD_MAX_LEN + 1], small[8];
	char longline[PASSWORD_MAX_LEN + 3];
	int fds[2];

#define RL(s, o)	read_line_from((s), sizeof(s) - 1, (o), sizeof(o))
	assert_int_equal(RL("secret\n", out), 0);
	assert_string_equal(out, "secret");
	assert_int_equal(RL("secret\r\n", out), 0);
	assert_string_equal(out, "secret");
	assert_int_equal(RL("secret", out), 0);		/* no newline */
	assert_string_equal(out, "secret");
	assert_int_equal(RL("two words\n", out), 0);
	assert_string_equal(out, "two words");
	assert_int_equal(RL("\n", out), -EINVAL);
	assert_int_equal(RL("\r\n", out), -EINVAL);
	assert_int_equal(RL("", out), -ENODATA);
	assert_int_equal(RL("a\x01" "b\n", out), -EINVAL);
	assert_int_equal(RL("a\tb\n", out), -EINVAL);
	assert_int_equal(RL("a\0b\n", out), -EINVAL);
	assert_string_equal(out, "");			/* wiped */
	assert_int_equal(RL("12345678\n", small), -EMSGSIZE);
	assert_int_equal(RL("1234567\n", small), 0);
	assert_string_equal(small, "1234567");
#undef RL

	memset(longline, 'x', sizeof(longline));
	longline[PASSWORD_MAX_LEN] = '\n';
	assert_int_equal(read_line_from(longline, PASSWORD_MAX_LEN + 1, out,
	    sizeof(out)), 0);
	assert_int_equal(strlen(out), PASSWORD_MAX_LEN);
	longline[PASSWORD_MAX_LEN] = 'x';
	longline[PASSWORD_MAX_LEN + 1] = '\n';
	assert_int_equal(read_line_from(longline, PASSWORD_MAX_LEN + 2, out,
	    sizeof(out)), -EMSGSIZE);
	longline[PASSWORD_MAX_LEN + 1] = 'x';	/* no newline at all */
	assert_int_equal(read_line_from(longline, sizeof(longline), out,
	    sizeof(out)), -EMSGSIZE);

	/* One line only: what follows stays in the pipe. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "first\nsecond\n", 13), 13);
	close(fds[1]);
	assert_int_equal(password_read_line(fds[0], out, sizeof(out)), 0);
	assert_string_equal(out, "first");
	assert_int_equal(password_read_line(fds[0], out, sizeof(out)), 0);
	assert_string_equal(out, "second");
	assert_int_equal(password_read_line(fds[0], out, sizeof(out)),
	    -ENODATA);
	close(fds[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_hash),
		cmocka_unit_test_setup_teardown(test_invalid_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_wrong_user, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_verify_invalid_password,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_missing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_verify_unreadable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_verify_garbage, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_verify_bad_params, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_verify_threads, setup,
		    teardown),
		cmocka_unit_test(test_read_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
