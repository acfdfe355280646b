/* SPDX-License-Identifier: MIT */
/*
 * uv_fs_event on the directory, filtered by the file's name, and a
 * settle timer so that a temp file written and renamed, or an editor's
 * several writes, lead to one re-read of a complete file.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "log.h"
#include "watch.h"

struct watch {
	uv_loop_t	*loop;
	char		*dir;
	char		*name;
	watch_fn	 fn;
	void		*arg;
	uv_fs_event_t	 event;
	uv_timer_t	 settle;
	int		 open;		/* handles not yet closed */
};

struct watch *
watch_new(uv_loop_t *loop, const char *path, watch_fn fn, void *arg)
{
	struct watch *w;
	char *a, *b;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	a = strdup(path);
	b = strdup(path);
	if (a == NULL || b == NULL || (w->dir = strdup(dirname(a))) == NULL ||
	    (w->name = strdup(basename(b))) == NULL) {
		free(w->dir);
		free(a);
		free(b);
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	free(a);
	free(b);
	w->loop = loop;
	w->fn = fn;
	w->arg = arg;
	return w;
}

static void
on_settled(uv_timer_t *t)
{
	struct watch *w = t->data;

	w->fn(w->arg);
}

static void
on_change(uv_fs_event_t *h, const char *filename, int events, int status)
{
	struct watch *w = h->data;

	if (status < 0) {
		log_warnx("grants: watching %s: %s", w->dir,
		    uv_strerror(status));
		return;
	}
	/* No name: the kernel's queue overflowed; the file may have changed. */
	if (filename != NULL && strcmp(filename, w->name) != 0)
		return;
	(void)uv_timer_start(&w->settle, on_settled, WATCH_SETTLE_MS, 0);
}

int
watch_start(struct watch *w)
{
	int rc;

	if ((rc = uv_timer_init(w->loop, &w->settle)) < 0)
		return rc;
	w->settle.data = w;
	w->open++;
	if ((rc = uv_fs_event_init(w->loop, &w->event)) < 0)
		return rc;
	w->event.data = w;
	w->open++;
	return uv_fs_event_start(&w->event, on_change, w->dir, 0);
}

static void
on_closed(uv_handle_t *h)
{
	struct watch *w = h->data;

	if (--w->open == 0) {
		free(w->dir);
		free(w->name);
		free(w);
	}
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	if (w->open == 0) {
		free(w->dir);
		free(w->name);
		free(w);
		return;
	}
	uv_close((uv_handle_t *)&w->settle, on_closed);
	if (w->open == 2)
		uv_close((uv_handle_t *)&w->event, on_closed);
}
