/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the configuration loader and the check of the
 * openvpn client configuration: any input is loaded or refused with a
 * message, never a crash or a leak. The same bytes read from a file
 * (config_load, config_check_client on an in-memory file, through
 * /proc/self/fd) give the same outcome when they hold no NUL.
 *
 *   make fuzz FUZZERS=fuzz_config
 */
#define _GNU_SOURCE	/* memfd_create */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
as_file(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		if ((fd = memfd_create("fuzz_config", MFD_CLOEXEC)) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	return path;
}

/* A loaded configuration holds what the daemon relies on. */
static void
check_loaded(const struct config *cfg)
{
	if (cfg->state_dir[0] != '/' || cfg->run_dir[0] != '/' ||
	    cfg->api_port < 1 || cfg->api_port > 65535 ||
	    cfg->api_max_clients < 1 ||
	    cfg->restart_min_ms > cfg->restart_max_ms ||
	    strncmp(cfg->mgmt_sock, cfg->run_dir, strlen(cfg->run_dir)) != 0 ||
	    strncmp(cfg->settings_file, cfg->state_dir,
	    strlen(cfg->state_dir)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_error err, ferr;
	struct config cfg;
	bool nul = memchr(data, '\0', size) != NULL;
	const char *path;
	char *text;
	int rc, frc;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	path = as_file(data, size);

	if ((rc = config_load_string(&cfg, text, &err)) == 0) {
		check_loaded(&cfg);
		config_deinit(&cfg);
	} else if (err.text[0] == '\0')
		abort();
	if ((frc = config_load(&cfg, path, &ferr)) == 0) {
		check_loaded(&cfg);
		config_deinit(&cfg);
	} else if (ferr.text[0] == '\0')
		abort();
	if (!nul && frc != rc)
		abort();

	rc = config_check_client_text(text, "fuzz", &err);
	if (rc == -1 && err.text[0] == '\0')
		abort();
	if (config_check_client(path, &ferr) != rc ||
	    strcmp(err.path, ferr.path) != 0)
		abort();
	free(text);
	return 0;
}
