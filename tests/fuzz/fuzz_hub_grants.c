/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the grants file parser (hub/grants.c): whatever
 * it accepts must survive a round trip through grants_format unchanged,
 * since the CLI rewrites the file that way.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grants.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW	1795773600000LL

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grants_error err;
	struct grants gs, back;
	char *text;
	size_t i;

	if (grants_parse((const char *)data, size, NOW, &gs, &err) < 0) {
		assert(gs.n == 0 && gs.v == NULL && err.text[0] != '\0');
		return 0;
	}
	text = grants_format(&gs);
	assert(text != NULL);
	assert(grants_parse(text, strlen(text), NOW, &back, &err) == 0);
	assert(back.n == gs.n);
	for (i = 0; i < gs.n; i++) {
		assert(strcmp(back.v[i].staff, gs.v[i].staff) == 0);
		assert(strcmp(back.v[i].appliance, gs.v[i].appliance) == 0);
		assert(back.v[i].expires_ms == gs.v[i].expires_ms);
		/* "created" is written to the second. */
		assert(back.v[i].created_ms / 1000 == gs.v[i].created_ms / 1000);
		assert(strcmp(back.v[i].case_ref, gs.v[i].case_ref) == 0);
		assert(strcmp(back.v[i].by, gs.v[i].by) == 0);
	}
	free(text);
	grants_deinit(&back);
	grants_deinit(&gs);
	return 0;
}
