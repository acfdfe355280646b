/* SPDX-License-Identifier: MIT */
/*
 * JSON API requests and answers, without I/O: one line in, a validated
 * request out (or an error naming what was wrong); answers and events
 * built as single lines. Unit-tested and fuzzed on its own.
 */
#ifndef SUPPORTVPN_API_REQ_H
#define SUPPORTVPN_API_REQ_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum api_cmd {
	API_CMD_STATUS,
	API_CMD_START,
	API_CMD_STOP,
	API_CMD_SUBSCRIBE,
	API_CMD_LOG,
	API_CMD_VERSION,
	API_CMD_OPENVPN,
	API_CMD_CHECKS,
	API_CMD_EXTEND,
	API_CMD_HISTORY,
	API_CMD_AUTH,
};

/* Event classes a connection can subscribe to (bit = 1 << enum). */
enum api_event {
	API_EV_STATE,
	API_EV_CHECKS,
	API_EV_OPENVPN,
	API_EV_PEER,
	API_EV_LOG,
	API_EV_SESSION,
	API_EV_COUNT,
};
#define API_EV_ALL	((1u << API_EV_COUNT) - 1)

#define API_START_TIMEOUT_DEFAULT	60
#define API_LOG_LINES_DEFAULT		100
#define API_LOG_LINES_MAX		1000
#define API_HISTORY_DEFAULT		100
#define API_HISTORY_MAX			1000
#define API_BY_MAX			64	/* bytes of "by" */
#define API_DURATION_MAX		(366 * 86400)
#define API_TOKEN_MAX			256	/* bytes of "token" */

struct api_request {
	enum api_cmd	 cmd;
	const char	*name;		/* static: "start", ... */
	bool		 changes;	/* the command needs the API token */
	/* "token", any command: borrowed from root (wiped with it). */
	const char	*token;		/* NULL if not given */
	size_t		 token_len;
	json_t		*id;		/* borrowed from root; NULL if none */
	json_t		*root;		/* owned; api_request_clear frees */
	bool		 when_possible;
	bool		 wait;
	bool		 refresh;
	unsigned	 timeout_s;
	unsigned	 events;	/* API_EV_* bits */
	unsigned	 lines;
	char		 command[256];
	long		 duration_s;	/* -1: not given */
	char		 by[API_BY_MAX + 1];	/* "" if not given */
	/* auth: borrowed from root (the password is wiped with it). */
	const char	*user;
	const char	*password;
	const char	*from;		/* NULL if not given */
};

struct api_error {
	const char	*code;		/* static: "bad_request", ... */
	char		 message[256];
};

/*
 * Parses one request line (without its newline). 0 with req filled, or
 * -1 with err filled; in both cases req->id is the request's id when one
 * could be read, and api_request_clear must be called.
 */
int	api_request_parse(const char *line, size_t len, struct api_request *req,
	    struct api_error *err);
/* Frees the request; a password or token in it is overwritten first. */
void	api_request_clear(struct api_request *req);

/* "state" -> API_EV_STATE; -1 if unknown. */
int	api_event_parse(const char *name);
const char *api_event_name(enum api_event e);

/*
 * Answer and event lines, each a JSON object plus "\n". New strings
 * (free()), NULL on ENOMEM. result and fields are stolen.
 */
char	*api_answer_ok(json_t *id, json_t *result);
char	*api_answer_error(json_t *id, const char *code, const char *message);
char	*api_event_line(const char *name, const char *time, json_t *fields);

#endif
