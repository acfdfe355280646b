/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the configuration loader and the check of the
 * openvpn client configuration: any input is loaded or refused with a
 * message naming the file, never a crash or a leak.
 *
 *   make fuzz   (or: build-fuzz/fuzz_config tests/fuzz/corpus/fuzz_config)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_error err;
	struct config cfg;
	char *text;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_load_string(&cfg, text, &err) == 0) {
		if (cfg.state_dir[0] != '/' || cfg.run_dir[0] != '/')
			abort();
		config_deinit(&cfg);
	} else if (err.text[0] == '\0')
		abort();
	memset(&err, 0, sizeof(err));
	if (config_check_client_text(text, "fuzz", &err) == -1 &&
	    err.text[0] == '\0')
		abort();
	free(text);
	return 0;
}
