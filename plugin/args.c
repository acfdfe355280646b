/* SPDX-License-Identifier: MIT */
/* Plugin argument parsing: key=value words; which keys a mode requires. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "args.h"
#include "event.h"

struct msg {
	char	*buf;
	size_t	 size;
	size_t	 len;
};

static void
msg_add(struct msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends "; " and a formatted part; a full buffer keeps what fit. */
static void
msg_add(struct msg *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (m->len > 0 && m->len + 2 < m->size) {
		memcpy(m->buf + m->len, "; ", 3);
		m->len += 2;
	}
	if (m->len + 1 >= m->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(m->buf + m->len, m->size - m->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		m->len += (size_t)n < m->size - m->len ? (size_t)n :
		    m->size - m->len - 1;
}

/* The slot for key (klen bytes), or NULL when it is not one of ours. */
static char **
slot(struct args *a, const char *key, size_t klen)
{
	if (klen == 6 && memcmp(key, "events", 6) == 0)
		return &a->events;
	if (klen == 7 && memcmp(key, "consent", 7) == 0)
		return &a->consent;
	if (klen == 6 && memcmp(key, "policy", 6) == 0)
		return &a->policy;
	if (klen == 4 && memcmp(key, "mode", 4) == 0)
		return &a->mode_text;
	return NULL;
}

static void
check_one(struct args *a, const char *arg, struct msg *m)
{
	const char *eq = strchr(arg, '=');
	char shown[64], **dst;

	event_printable(shown, sizeof(shown), arg, strlen(arg));
	if (eq == NULL || eq == arg) {
		msg_add(m, "malformed argument '%s' (not key=value)", shown);
		return;
	}
	if ((dst = slot(a, arg, (size_t)(eq - arg))) == NULL) {
		event_printable(shown, sizeof(shown), arg, (size_t)(eq - arg));
		msg_add(m, "unknown argument '%s'", shown);
	} else if (*dst != NULL) {
		msg_add(m, "argument '%s' given twice", shown);
	} else if (eq[1] == '\0') {
		msg_add(m, "argument '%s' has an empty value", shown);
	} else if ((*dst = strdup(eq + 1)) == NULL) {
		msg_add(m, "out of memory");
	}
}

/* Sets a->mode from mode=; false (and a message) for an unknown mode. */
static bool
check_mode(struct args *a, struct msg *m)
{
	char shown[64];

	a->mode = ARGS_MODE_CLIENT;
	if (a->mode_text == NULL || strcmp(a->mode_text, "client") == 0)
		return true;
	if (strcmp(a->mode_text, "hub") == 0) {
		a->mode = ARGS_MODE_HUB;
		return true;
	}
	event_printable(shown, sizeof(shown), a->mode_text,
	    strlen(a->mode_text));
	msg_add(m, "unknown mode '%s' (client or hub)", shown);
	return false;
}

/* What the mode requires and refuses. */
static void
check_keys(const struct args *a, struct msg *m)
{
	bool hub = a->mode == ARGS_MODE_HUB;

	if (hub && a->consent != NULL)
		msg_add(m, "consent= is refused in mode=hub (the hub has no "
		    "owner consent)");
	if (a->events == NULL || (!hub && a->consent == NULL) ||
	    a->policy == NULL)
		msg_add(m, "missing%s%s%s", a->events ? "" : " events=PATH",
		    (hub || a->consent) ? "" : " consent=PATH",
		    a->policy ? "" : " policy=PATH");
}

int
args_parse(const char *const *argv, struct args *a, char *why, size_t whylen)
{
	struct msg m = { why, whylen, 0 };
	size_t i;

	memset(a, 0, sizeof(*a));
	why[0] = '\0';
	for (i = 1; argv != NULL && argv[0] != NULL && argv[i] != NULL; i++)
		check_one(a, argv[i], &m);
	/* Requirements depend on the mode: not checked for an unknown one. */
	if (check_mode(a, &m))
		check_keys(a, &m);
	if (a->events != NULL && strlen(a->events) >=
	    sizeof(((struct sockaddr_un *)NULL)->sun_path))
		msg_add(&m, "events=PATH is longer than %zu bytes, too long "
		    "for a unix socket",
		    sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
	if (m.len == 0)
		return 0;
	msg_add(&m, "usage: " ARGS_USAGE);
	args_deinit(a);
	return -1;
}

void
args_deinit(struct args *a)
{
	free(a->events);
	free(a->consent);
	free(a->policy);
	free(a->mode_text);
	memset(a, 0, sizeof(*a));
}
