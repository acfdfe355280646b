/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for supportvpnd's decoder of the plugin's datagrams
 * (events_decode): any datagram is accepted as a JSON object with a known
 * type, or refused with a reason.
 *
 *   make fuzz   (or: build-fuzz/fuzz_events tests/fuzz/corpus/fuzz_events)
 */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "events.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *ev = NULL;
	char why[256];

	why[0] = '\0';
	if (events_decode((const char *)data, size, &ev, why,
	    sizeof(why)) == 0) {
		if (!json_is_object(ev) ||
		    !json_is_string(json_object_get(ev, "type")))
			abort();
		json_decref(ev);
	} else if (why[0] == '\0')
		abort();
	return 0;
}
