/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the settings loader: a document is read or
 * refused with a reason, and a refused one leaves the defaults ("off").
 * The same bytes read from a file by settings_load (an in-memory file,
 * through /proc/self/fd) must give the same outcome.
 *
 *   make fuzz FUZZERS=fuzz_settings
 */
#define _GNU_SOURCE	/* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "settings.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The file settings_load reads: data, and nothing after it. */
static const char *
as_file(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		if ((fd = memfd_create("fuzz_settings", MFD_CLOEXEC)) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	return path;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct settings s, f;
	char why[256], fwhy[256];
	int rc;

	why[0] = '\0';
	rc = settings_parse((const char *)data, size, &s, why, sizeof(why));
	if (rc < 0 && (why[0] == '\0' || s.start_when_possible))
		abort();
	if (settings_load(as_file(data, size), &f, fwhy, sizeof(fwhy)) != rc ||
	    f.start_when_possible != s.start_when_possible ||
	    strcmp(why, fwhy) != 0)
		abort();
	return 0;
}
