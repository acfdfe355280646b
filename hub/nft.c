/* SPDX-License-Identifier: MIT */
/*
 * Runs the text nftcmd builds through libnftables; each call is one
 * transaction, so a batch applies whole or not at all. It remembers the
 * ruleset it installed to compute the next change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "nft.h"
#include "nftcmd.h"
#include "ruleset.h"

struct nft {
	struct nft_ctx		*ctx;
	char			 name[NFTCMD_NAME_MAX + 1];
	char			*ifaces[NFTCMD_IFACES_MAX];
	struct nftcmd_table	 table;
	struct ruleset		 installed;
	bool			 have_installed;
	char			 err[512];
};

struct nft *
nft_new(const char *table, const char *const *ifaces, size_t nifaces)
{
	struct nft *n;
	size_t i;

	if (!nftcmd_name_valid(table) || nifaces == 0 ||
	    nifaces > NFTCMD_IFACES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < nifaces; i++)
		if (!nftcmd_iface_valid(ifaces[i])) {
			errno = EINVAL;
			return NULL;
		}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	memcpy(n->name, table, strlen(table) + 1);
	for (i = 0; i < nifaces; i++)
		if ((n->ifaces[i] = strdup(ifaces[i])) == NULL)
			goto fail;
	n->table.name = n->name;
	n->table.ifaces = (const char *const *)n->ifaces;
	n->table.nifaces = nifaces;
	if ((n->ctx = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL)
		goto fail;
	/* Our text never includes files; make sure nothing can. */
	nft_ctx_clear_include_paths(n->ctx);
	if (nft_ctx_buffer_output(n->ctx) < 0 ||
	    nft_ctx_buffer_error(n->ctx) < 0)
		goto fail;
	return n;
fail:
	nft_free(n);
	errno = ENOMEM;
	return NULL;
}

void
nft_free(struct nft *n)
{
	size_t i;

	if (n == NULL)
		return;
	if (n->ctx != NULL)
		nft_ctx_free(n->ctx);
	for (i = 0; i < NFTCMD_IFACES_MAX; i++)
		free(n->ifaces[i]);
	ruleset_deinit(&n->installed);
	free(n);
}

/* nft's error text, its first line, without the caret lines. */
static void
keep_error(struct nft *n, const char *fallback)
{
	const char *e = nft_ctx_get_error_buffer(n->ctx);
	size_t len;

	if (e == NULL || e[0] == '\0')
		e = fallback;
	len = strcspn(e, "\n");
	if (len >= sizeof(n->err))
		len = sizeof(n->err) - 1;
	memcpy(n->err, e, len);
	n->err[len] = '\0';
}

/* Runs text as one transaction; steals text. 0 or -1 (n->err). */
static int
run(struct nft *n, char *text)
{
	int rc;

	if (text == NULL) {
		snprintf(n->err, sizeof(n->err), "cannot build the commands: "
		    "%s", strerror(errno));
		return -1;
	}
	if (text[0] == '\0') {
		free(text);
		return 0;
	}
	rc = nft_run_cmd_from_buffer(n->ctx, text);
	free(text);
	if (rc != 0)
		keep_error(n, "nft failed without a message");
	else
		n->err[0] = '\0';
	/* Reading a buffer empties it; unread, they would only grow. */
	(void)nft_ctx_get_output_buffer(n->ctx);
	(void)nft_ctx_get_error_buffer(n->ctx);
	return rc != 0 ? -1 : 0;
}

static int
remember(struct nft *n, const struct ruleset *rs)
{
	struct ruleset copy;

	if (ruleset_copy(&copy, rs) < 0) {
		/* Unknown from here on: the next sync replaces the table. */
		ruleset_deinit(&n->installed);
		n->have_installed = false;
		return -1;
	}
	ruleset_deinit(&n->installed);
	n->installed = copy;
	n->have_installed = true;
	return 0;
}

int
nft_replace(struct nft *n, const struct ruleset *rs, int64_t now_ms)
{
	if (run(n, nftcmd_replace(&n->table, rs, now_ms)) < 0) {
		ruleset_deinit(&n->installed);
		n->have_installed = false;
		return -1;
	}
	(void)remember(n, rs);	/* a failed copy forces a replace next time */
	return 0;
}

int
nft_sync(struct nft *n, const struct ruleset *rs, int64_t now_ms,
    bool *replaced)
{
	char why[sizeof(n->err)];

	*replaced = false;
	if (!n->have_installed)
		snprintf(why, sizeof(why), "nothing installed");
	else if (run(n, nftcmd_diff(&n->table, &n->installed, rs,
	    now_ms)) == 0) {
		(void)remember(n, rs);	/* as in nft_replace */
		return 0;
	} else
		memcpy(why, n->err, sizeof(why));
	*replaced = true;
	if (nft_replace(n, rs, now_ms) < 0)
		return -1;
	/* Success, but the caller may want to know why it was whole. */
	memcpy(n->err, why, sizeof(n->err));
	return 0;
}

int
nft_delete(struct nft *n)
{
	ruleset_deinit(&n->installed);
	n->have_installed = false;
	return run(n, nftcmd_delete(&n->table));
}

const char *
nft_error(const struct nft *n)
{
	return n->err;
}

const struct ruleset *
nft_installed(const struct nft *n)
{
	return n->have_installed ? &n->installed : NULL;
}
