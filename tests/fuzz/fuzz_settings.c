/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the settings parser: a document is read or
 * refused with a reason, and a refused one leaves the defaults ("off").
 *
 *   make fuzz   (or: build-fuzz/fuzz_settings tests/fuzz/corpus/fuzz_settings)
 */
#include <stdint.h>
#include <stdlib.h>

#include "settings.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct settings s;
	char why[256];

	why[0] = '\0';
	if (settings_parse((const char *)data, size, &s, why,
	    sizeof(why)) < 0 && (why[0] == '\0' || s.start_when_possible))
		abort();
	return 0;
}
