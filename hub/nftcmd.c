/* SPDX-License-Identifier: MIT */
/*
 * Builds the hub's nftables commands with a memory stream. The forward
 * chain only looks at traffic from one tun interface to another (VPN
 * client to VPN client); that traffic passes only while a grant element
 * matches, looked up on every packet, so deleting an element cuts a flow
 * that is already established.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftcmd.h"
#include "ruleset.h"

#define CLIENTS_CHAIN	"vpn_clients"

bool
nftcmd_name_valid(const char *name)
{
	size_t i;

	if (!((name[0] >= 'a' && name[0] <= 'z') ||
	    (name[0] >= 'A' && name[0] <= 'Z')))
		return false;
	for (i = 1; name[i] != '\0'; i++)
		if (i >= NFTCMD_NAME_MAX || !((name[i] >= 'a' &&
		    name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

bool
nftcmd_iface_valid(const char *iface)
{
	size_t i;

	for (i = 0; iface[i] != '\0'; i++) {
		char c = iface[i];

		if (i >= NFTCMD_IFACE_MAX)
			return false;
		if (c == '*' && i > 0 && iface[i + 1] == '\0')
			continue;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		    c == '.'))
			return false;
	}
	return i > 0;
}

static bool
table_valid(const struct nftcmd_table *t)
{
	size_t i;

	if (!nftcmd_name_valid(t->name) || t->nifaces == 0 ||
	    t->nifaces > NFTCMD_IFACES_MAX)
		return false;
	for (i = 0; i < t->nifaces; i++)
		if (!nftcmd_iface_valid(t->ifaces[i]))
			return false;
	return true;
}

static void
put_addr(FILE *f, uint32_t addr)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	a.s_addr = htonl(addr);
	/* Cannot fail for AF_INET with a buffer this size. */
	(void)inet_ntop(AF_INET, &a, buf, sizeof(buf));
	fputs(buf, f);
}

/* "3599s500ms": nft's parser takes each unit as a 32-bit number. */
static void
put_timeout(FILE *f, int64_t ms)
{
	if (ms >= 1000)
		fprintf(f, "%" PRId64 "s", ms / 1000);
	if (ms % 1000 != 0)
		fprintf(f, "%" PRId64 "ms", ms % 1000);
}

static void
put_elem(FILE *f, const struct rs_elem *e, int64_t now_ms, bool timeout)
{
	put_addr(f, e->staff);
	fputs(" . ", f);
	put_addr(f, e->appliance);
	if (timeout) {
		fputs(" timeout ", f);
		put_timeout(f, e->expires_ms - now_ms);
	}
}

static void
put_ifaces(FILE *f, const struct nftcmd_table *t)
{
	size_t i;

	fputs("{ ", f);
	for (i = 0; i < t->nifaces; i++)
		fprintf(f, "%s\"%s\"", i > 0 ? ", " : "", t->ifaces[i]);
	fputs(" }", f);
}

static void
put_addr_set(FILE *f, const char *name, const uint32_t *v, size_t n)
{
	size_t i;

	fprintf(f, "\tset %s {\n\t\ttype ipv4_addr\n", name);
	for (i = 0; i < n; i++) {
		fputs(i == 0 ? "\t\telements = { " : ",\n\t\t\t     ", f);
		put_addr(f, v[i]);
	}
	fputs(n > 0 ? " }\n\t}\n" : "\t}\n", f);
}

static void
put_grant_set(FILE *f, const struct ruleset *rs, int64_t now_ms)
{
	size_t i, n = 0;

	fputs("\tset grants {\n\t\ttype ipv4_addr . ipv4_addr\n"
	    "\t\tflags timeout\n", f);
	for (i = 0; i < rs->ngrants; i++) {
		if (rs->grants[i].expires_ms <= now_ms)
			continue;
		fputs(n++ == 0 ? "\t\telements = { " : ",\n\t\t\t     ", f);
		put_elem(f, &rs->grants[i], now_ms, true);
	}
	fputs(n > 0 ? " }\n\t}\n" : "\t}\n", f);
}

static void
put_chains(FILE *f, const struct nftcmd_table *t)
{
	fputs("\tchain forward {\n"
	    "\t\ttype filter hook forward priority 0; policy accept;\n"
	    "\t\tiifname ", f);
	put_ifaces(f, t);
	fputs(" oifname ", f);
	put_ifaces(f, t);
	fputs(" jump " CLIENTS_CHAIN "\n\t}\n", f);
	fputs("\tchain " CLIENTS_CHAIN " {\n"
	    "\t\tip saddr . ip daddr @grants accept\n"
	    "\t\tct state established,related ip daddr . ip saddr @grants "
	    "accept\n"
	    "\t\tcounter drop\n"
	    "\t}\n", f);
}

/* Closes f; the text, or NULL + errno if any write failed. */
static char *
finish(FILE *f, char **buf)
{
	bool bad = ferror(f) != 0;

	if (fclose(f) != 0 || bad) {
		free(*buf);
		errno = ENOMEM;
		return NULL;
	}
	return *buf;
}

static FILE *
start(const struct nftcmd_table *t, char **buf, size_t *len)
{
	FILE *f;

	*buf = NULL;
	if (!table_valid(t)) {
		errno = EINVAL;
		return NULL;
	}
	if ((f = open_memstream(buf, len)) == NULL)
		return NULL;
	return f;
}

char *
nftcmd_replace(const struct nftcmd_table *t, const struct ruleset *rs,
    int64_t now_ms)
{
	char *buf;
	size_t len;
	FILE *f;

	if ((f = start(t, &buf, &len)) == NULL)
		return NULL;
	/* "add" first so that "delete" finds a table even on the first run;
	 * the three are one transaction, so no packet sees the gap. */
	fprintf(f, "add table inet %s\ndelete table inet %s\n"
	    "table inet %s {\n"
	    "\tcomment \"supportvpn-hubd: VPN client isolation and staff "
	    "grants\"\n", t->name, t->name, t->name);
	put_addr_set(f, "appliances", rs->appliances, rs->nappliances);
	put_addr_set(f, "staff", rs->staff, rs->nstaff);
	put_grant_set(f, rs, now_ms);
	put_chains(f, t);
	fputs("}\n", f);
	return finish(f, &buf);
}

/* Elements of a not in b (both sorted) as one command, if any. */
static void
put_addr_changes(FILE *f, const char *verb, const char *table,
    const char *set, const uint32_t *a, size_t na, const uint32_t *b,
    size_t nb)
{
	size_t i, j = 0, n = 0;

	for (i = 0; i < na; i++) {
		while (j < nb && b[j] < a[i])
			j++;
		if (j < nb && b[j] == a[i])
			continue;
		if (n++ == 0)
			fprintf(f, "%s element inet %s %s { ", verb, table, set);
		else
			fputs(", ", f);
		put_addr(f, a[i]);
	}
	if (n > 0)
		fputs(" }\n", f);
}

static int
cmp_pair(const struct rs_elem *x, const struct rs_elem *y)
{
	if (x->staff != y->staff)
		return x->staff < y->staff ? -1 : 1;
	return x->appliance < y->appliance ? -1 : x->appliance > y->appliance;
}

/*
 * Grant elements of a that b lacks or holds with another expiry. Deleting
 * (add false) skips nothing; adding skips elements already expired.
 */
static void
put_grant_changes(FILE *f, bool add, const char *table,
    const struct rs_elem *a, size_t na, const struct rs_elem *b, size_t nb,
    int64_t now_ms)
{
	size_t i, j = 0, n = 0;

	for (i = 0; i < na; i++) {
		while (j < nb && cmp_pair(&b[j], &a[i]) < 0)
			j++;
		if (j < nb && cmp_pair(&b[j], &a[i]) == 0 &&
		    b[j].expires_ms == a[i].expires_ms)
			continue;
		if (add && a[i].expires_ms <= now_ms)
			continue;
		if (n++ == 0)
			fprintf(f, "%s element inet %s grants { ",
			    add ? "add" : "delete", table);
		else
			fputs(", ", f);
		put_elem(f, &a[i], now_ms, add);
	}
	if (n > 0)
		fputs(" }\n", f);
}

char *
nftcmd_diff(const struct nftcmd_table *t, const struct ruleset *from,
    const struct ruleset *to, int64_t now_ms)
{
	char *buf;
	size_t len;
	FILE *f;

	if ((f = start(t, &buf, &len)) == NULL)
		return NULL;
	put_grant_changes(f, false, t->name, from->grants, from->ngrants,
	    to->grants, to->ngrants, now_ms);
	put_addr_changes(f, "delete", t->name, "appliances", from->appliances,
	    from->nappliances, to->appliances, to->nappliances);
	put_addr_changes(f, "delete", t->name, "staff", from->staff,
	    from->nstaff, to->staff, to->nstaff);
	put_addr_changes(f, "add", t->name, "appliances", to->appliances,
	    to->nappliances, from->appliances, from->nappliances);
	put_addr_changes(f, "add", t->name, "staff", to->staff, to->nstaff,
	    from->staff, from->nstaff);
	put_grant_changes(f, true, t->name, to->grants, to->ngrants,
	    from->grants, from->ngrants, now_ms);
	return finish(f, &buf);
}

char *
nftcmd_delete(const struct nftcmd_table *t)
{
	char *buf;
	size_t len;
	FILE *f;

	if ((f = start(t, &buf, &len)) == NULL)
		return NULL;
	fprintf(f, "delete table inet %s\n", t->name);
	return finish(f, &buf);
}
