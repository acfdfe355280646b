/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the API request parser (one line in): a request
 * is either refused with a code and a message, or accepted with a known
 * command; either way clearing it frees everything, and an accepted one
 * yields an answer line, a name, and a token (if any) within its bound;
 * only start, stop, extend and auth need one. An auth request's password
 * is wiped by the clear.
 *
 *   make fuzz   (or: build-fuzz/fuzz_api_req tests/fuzz/corpus/fuzz_api_req)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_req.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_request req;
	struct api_error err;
	char *line;

	if (api_request_parse((const char *)data, size, &req, &err) < 0) {
		if (err.code == NULL || err.message[0] == '\0')
			abort();
	} else {
		if ((unsigned)req.cmd > API_CMD_AUTH)
			abort();
		if (req.cmd == API_CMD_AUTH && (req.user == NULL ||
		    req.password == NULL))
			abort();
		if (req.name == NULL || req.changes != (req.cmd ==
		    API_CMD_START || req.cmd == API_CMD_STOP ||
		    req.cmd == API_CMD_EXTEND || req.cmd == API_CMD_AUTH))
			abort();
		if (req.token != NULL && (req.token_len != strlen(req.token) ||
		    req.token_len > API_TOKEN_MAX))
			abort();
		line = api_answer_ok(req.id, json_null());
		if (line == NULL || line[strlen(line) - 1] != '\n')
			abort();
		free(line);
	}
	api_request_clear(&req);
	return 0;
}
