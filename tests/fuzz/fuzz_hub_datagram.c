/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the hub's datagram decoder (hub/datagram.c): any
 * bytes are decoded or refused; what is accepted must hold what the rest
 * of the daemon relies on (a valid CN and role where the type needs them,
 * terminated strings, bounded numbers).
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "datagram.h"
#include "ident.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct datagram d;
	char why[160];

	if (datagram_decode((const char *)data, size, &d, why,
	    sizeof(why)) < 0) {
		assert(why[0] != '\0' && d.type == 0);
		return 0;
	}
	assert(d.pid > 0);
	assert(memchr(d.cn, '\0', sizeof(d.cn)) != NULL);
	assert(memchr(d.addr, '\0', sizeof(d.addr)) != NULL);
	assert(memchr(d.reason, '\0', sizeof(d.reason)) != NULL);
	switch (d.type) {
	case DATAGRAM_CLIENT_CONNECT:
	case DATAGRAM_CLIENT_DISCONNECT:
		assert(ident_cn_valid(d.cn) && d.role != IDENT_ROLE_NONE);
		break;
	case DATAGRAM_LEARN_ADDRESS:
		assert(d.addr[0] != '\0');
		assert(d.op == DATAGRAM_OP_DELETE || (ident_cn_valid(d.cn) &&
		    d.role != IDENT_ROLE_NONE));
		break;
	case DATAGRAM_TLS_VERIFY:
		assert(d.depth >= 0 && d.depth <= 64);
		break;
	default:
		assert(0);
	}
	assert(d.real_port >= -1 && d.real_port <= 65535);
	return 0;
}
