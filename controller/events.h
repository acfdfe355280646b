/* SPDX-License-Identifier: MIT */
/*
 * The plugin-event receiver: a unix datagram socket (run_dir/events.sock)
 * on the loop. Each datagram is checked (sender, size, JSON shape per
 * include/supportvpn_event.h) before it reaches the owner; anything forged
 * or malformed is logged and dropped.
 */
#ifndef SUPPORTVPN_EVENTS_H
#define SUPPORTVPN_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

struct events;

/*
 * A validated event (borrowed, valid during the call). sender is the pid
 * the kernel vouches for.
 */
typedef void (*events_fn)(json_t *ev, pid_t sender, void *arg);
/* Which pid may send: the current openvpn (0 = nobody yet). */
typedef pid_t (*events_sender_fn)(void *arg);

/* path is borrowed. NULL + errno. */
struct events *events_new(uv_loop_t *loop, const char *path, events_fn fn,
    events_sender_fn sender, void *arg);
/*
 * Binds the socket (replacing a stale one). 0 or -errno (logged).
 *
 * Nothing waits on the socket: a datagram that woke us would make the
 * sender, openvpn in the middle of a handshake, pay for the wake-up (tens
 * of microseconds on a virtual machine, five times per connect). The
 * owner calls events_drain whenever openvpn says something anyway (a
 * management message, a log line, its exit), which also puts the plugin's
 * news before openvpn's report that follows it; a sweep every
 * EVENTS_SWEEP_MS catches the rest (a forged datagram, say).
 */
int	events_listen(struct events *e);
/* Handles the datagrams waiting (at most 64). NULL-safe. */
void	events_drain(struct events *e);

#define EVENTS_SWEEP_MS	500
/* Dropped datagrams logged at most this many per window; more are counted. */
#define EVENTS_LOG_BURST	10
#define EVENTS_LOG_WINDOW_MS	60000
/* Closes and unlinks. NULL-safe. */
void	events_free(struct events *e);

/*
 * Checks one datagram: JSON object, "v" matches, "type" known, field
 * types right. 0 with *out (new reference), or -1 with why filled.
 */
int	events_decode(const char *buf, size_t len, json_t **out, char *why,
	    size_t whylen);

#endif
