/* SPDX-License-Identifier: MIT */
/*
 * Events for the controller (include/supportvpn_event.h): a builder for
 * one JSON datagram of at most SVPN_EVENT_MAX bytes, and a sender on a
 * connected, non-blocking unix datagram socket that drops what it cannot
 * send at once. Also the small string helpers the plugin's output needs.
 */
#ifndef SUPPORTVPN_PLUGIN_EVENT_H
#define SUPPORTVPN_PLUGIN_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "supportvpn_event.h"

/* Most bytes one escaped string value may take in a datagram. */
#define EVENT_STR_CAP	512

struct event_buf {
	char	data[SVPN_EVENT_MAX + 1];	/* NUL-terminated */
	size_t	len;
	bool	truncated;	/* a value was shortened or a field left out */
};

/* Starts {"v":1,"type":type,"pid":pid. type is one of SVPN_EV_*. */
void	event_begin(struct event_buf *b, const char *type, long pid);
/* Adds "key":"val"; a NULL or empty val is left out. key is SVPN_EV_*. */
void	event_add_str(struct event_buf *b, const char *key, const char *val);
/* The same for len bytes that may hold anything (a NUL included). */
void	event_add_bytes(struct event_buf *b, const char *key, const char *val,
	    size_t len);
void	event_add_int(struct event_buf *b, const char *key, long long v);
/* Closes the object. Returns its length (always <= SVPN_EVENT_MAX). */
size_t	event_end(struct event_buf *b);

/*
 * One event per hook, from openvpn's env (envp: "name=value", NULL-ended;
 * borrowed). Each starts b and leaves it ready for event_end(). Fields
 * openvpn did not give are left out; server_ip/server_port come from
 * untrusted_* (TLS) or trusted_* (after it), an IPv6 address from *_ip6.
 */
/* depth, result ("accepted" when rule is NULL), rule, reason, sha256,
 * cn (cn_len bytes, anything), server_ip/port. */
void	event_tls_verify(struct event_buf *b, long pid, const char *const *envp,
	    int depth, const char *rule, const char *reason, const char *sha256,
	    const char *cn, size_t cn_len);
/* server_ip/port (trusted_*, not IPCHANGE's argv), cn. */
void	event_ipchange(struct event_buf *b, long pid, const char *const *envp);
/* dev, local_ip, local_ip6, netmask, server_ip/port, cn, sha256 of the
 * leaf (tls_digest_sha256_0, normalized). */
void	event_up(struct event_buf *b, long pid, const char *const *envp);
/* dev, local_ip, server_ip/port. */
void	event_route_up(struct event_buf *b, long pid, const char *const *envp);
/* ROUTE_PREDOWN or DOWN (type): dev, local_ip, signal. */
void	event_down(struct event_buf *b, const char *type, long pid,
	    const char *const *envp);

/*
 * mode=hub. The peer's address is real_ip/real_port, from untrusted_*
 * during TLS and trusted_* after it; role is SVPN_ROLE_* or NULL (left
 * out).
 */
/* tls_verify as above, with real_ip/port for server_ip/port, and role. */
void	event_hub_tls_verify(struct event_buf *b, long pid,
	    const char *const *envp, int depth, const char *rule,
	    const char *reason, const char *sha256, const char *cn,
	    size_t cn_len, const char *role);
/* cn (common_name), role, real_ip/port, tunnel_ip
 * (ifconfig_pool_remote_ip), sha256 of the leaf. */
void	event_client_connect(struct event_buf *b, long pid,
	    const char *const *envp, const char *role);
/* op, addr, cn and role as given (NULL ones left out). */
void	event_learn_address(struct event_buf *b, long pid, const char *op,
	    const char *addr, const char *cn, const char *role);
/* cn, role, real_ip, tunnel_ip, bytes_in (bytes_received), bytes_out
 * (bytes_sent), duration_s (time_duration). */
void	event_client_disconnect(struct event_buf *b, long pid,
	    const char *const *envp, const char *role);

/*
 * JSON string escaping of in[0..len): '"' and '\' escaped, control
 * characters and DEL as \u00XX, valid UTF-8 kept, each byte of an invalid
 * sequence and each NUL as \ufffd (the receiver refuses NUL in strings).
 * Writes whole characters only, NUL-terminated, into out[0..size) (size
 * >= 1); returns the bytes written and sets *cut when not all of in fit.
 */
size_t	event_json_escape(char *out, size_t size, const char *in, size_t len,
	    bool *cut);

/*
 * A log-safe rendering of in[0..len): printable ASCII other than '\' as
 * is, every other byte as \xNN, "..." when shortened to fit size (>= 4).
 */
void	event_printable(char *out, size_t size, const char *in, size_t len);

/* The value of name in an openvpn envp ("name=value", NULL-ended), or
 * NULL. Borrowed from envp. */
const char	*event_env_get(const char *const *envp, const char *name);
/* openvpn's env name for a certificate's SHA-256, + depth. */
#define EVENT_DIGEST_ENV	"tls_digest_sha256_"
/* openvpn refuses chains deeper than this (MAX_CERT_DEPTH). */
#define EVENT_MAX_CERT_DEPTH	16
/*
 * The deepest tls_digest_sha256_N (N < EVENT_MAX_CERT_DEPTH) in envp: the
 * top of the peer's verified chain. Returns N and sets *value (borrowed),
 * or -1 with *value NULL when there is none.
 */
int		 event_env_top_digest(const char *const *envp,
		    const char **value);
/* An env value that is a count: 0..LLONG_MAX, or -1 when absent or not
 * one. */
long long	 event_env_count(const char *const *envp, const char *name);
/* An env value that is a port: 0..65535, or -1 when absent or not one. */
long		 event_env_port(const char *const *envp, const char *name);

struct event_sender {
	int			fd;
	struct sockaddr_un	addr;
	bool			connected;
	int64_t			last_connect_ms;	/* monotonic */
	int			last_errno;	/* why the last send failed */
	unsigned long		sent;
	unsigned long		dropped;
	/*
	 * How long a send may wait for room when the receiver's queue is
	 * full (ms). 0 on an appliance: the plugin never makes openvpn wait.
	 * On a hub a burst of connects outruns the kernel's queue of ten
	 * datagrams (net.unix.max_dgram_qlen); a lost learn_address would
	 * leave a client without its rules, so a send may wait a little.
	 */
	int			wait_ms;
};

/* Re-connects after a failure at most this often. */
#define EVENT_RECONNECT_MS	1000

/*
 * Creates the socket (SOCK_DGRAM, non-blocking, close-on-exec) and tries
 * to connect it to path; a daemon that is not there yet is no error
 * (connected stays false, last_errno says why). 0, or -ENAMETOOLONG /
 * -errno from socket() with fd -1. path is copied.
 */
int	event_sender_open(struct event_sender *s, const char *path,
	    int64_t now_ms);
/*
 * Sends one datagram without ever blocking. On ECONNREFUSED, ENOENT or
 * ENOTCONN it re-connects (at most every EVENT_RECONNECT_MS) and tries
 * once more. 0 when sent; otherwise the event is dropped and counted and
 * -errno returned (-EAGAIN when the receiver's queue is full).
 */
int	event_sender_send(struct event_sender *s, const void *buf, size_t len,
	    int64_t now_ms);
/* Closes the socket. Safe to call twice. */
void	event_sender_close(struct event_sender *s);

#endif
