/* SPDX-License-Identifier: MIT */
/* The owner-consent record: this process's pid and start time. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "consent.h"
#include "supportvpn_event.h"
#include "util.h"

int
consent_proc_start_time(const char *proc_root, int pid, uint64_t *out)
{
	char path[256], buf[1024], *p, *end;
	ssize_t n;
	int fd, field;
	unsigned long long v;

	if (util_snprintf(path, sizeof(path), "%s/%d/stat", proc_root,
	    pid) < 0)
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and ')': skip to the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -EINVAL;
	p++;
	for (field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	while (*p == ' ')
		p++;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno != 0 || end == p)
		return -EINVAL;
	*out = v;
	return 0;
}

int
consent_grant(const char *path)
{
	/* Our start time never changes: read once, not on every release
	 * (the read costs more than the rest of the record). */
	static uint64_t start;
	static bool have_start;
	char ts[UTIL_TIME_LEN];
	json_t *rec;
	char *text;
	int rc;

	if (!have_start) {
		if ((rc = consent_proc_start_time("/proc", (int)getpid(),
		    &start)) < 0)
			return rc;
		have_start = true;
	}
	rec = json_pack("{s:i, s:i, s:I, s:s}", SVPN_CONSENT_V,
	    SVPN_CONSENT_VERSION,
	    SVPN_CONSENT_PID, (int)getpid(), SVPN_CONSENT_START_TIME,
	    (json_int_t)start, SVPN_CONSENT_GRANTED_AT,
	    util_time_fmt(ts, util_now_ms(), false));
	if (rec == NULL)
		return -ENOMEM;
	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (text == NULL)
		return -ENOMEM;
	/*
	 * Readable by openvpn after it drops privileges; writable by us only.
	 * Not fsynced: after a power loss the record is void anyway (this
	 * process is gone), and the release must not wait for the disk.
	 */
	rc = util_write_atomic(path, text, strlen(text), 0644, false);
	free(text);
	return rc;
}

int
consent_revoke(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
