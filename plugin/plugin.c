/* SPDX-License-Identifier: MIT */
/*
 * openvpn-plugin-supportvpn: the OpenVPN plugin API v3 entry points and
 * the dispatch of each hook to a thin handler. open_v3 parses the
 * arguments, connects the event socket while still root and reads the
 * policy; TLS_VERIFY asks verify.c; every hook reports one event. In
 * client mode only TLS_VERIFY ever returns an error; in hub mode (the
 * vendor's openvpn server) also LEARN_ADDRESS, for a peer without a role.
 * Nothing here blocks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openvpn/openvpn-plugin.h>

#include "args.h"
#include "event.h"
#include "hub_policy.h"
#include "policy.h"
#include "supportvpn_event.h"
#include "verify.h"

#define PLUGIN_NAME	"supportvpn"
/* OPENVPN_EXPORT is empty on Linux and we build with -fvisibility=hidden. */
#define SVPN_EXPORT	__attribute__((visibility("default")))
/* Longest wait for room in supportvpn-hubd's queue, per event (hub). */
#define HUB_EVENT_WAIT_MS	50
/* Dropped events are logged (at debug level) at most this often. */
#define DROP_LOG_MS	10000

/* Never AUTH_USER_PASS_VERIFY: a client then demands a password. */
#define HOOKS	(OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_TLS_VERIFY) |	\
		 OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_IPCHANGE) |		\
		 OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_UP) |		\
		 OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_ROUTE_UP) |		\
		 OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_ROUTE_PREDOWN) |	\
		 OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_DOWN))

/*
 * mode=hub, on openvpn's server. CLIENT_CONNECT_V2, not CLIENT_CONNECT:
 * for the older call openvpn writes two temporary files per connect.
 */
#define HUB_HOOKS \
	(OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_TLS_VERIFY) |		\
	 OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_CLIENT_CONNECT_V2) |	\
	 OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_LEARN_ADDRESS) |		\
	 OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_CLIENT_DISCONNECT))

/* openvpn's log callbacks; either may be NULL. */
struct plog {
	plugin_log_t	log;
	plugin_vlog_t	vlog;
};

struct plugin {
	struct plog		plog;
	struct args		args;
	uid_t			owner;		/* euid at open: may own consent */
	bool			openssl;	/* current_cert is an X509 */
	struct event_sender	events;
	struct policy_file	policy;
	struct verify_state	verify;
	int64_t			drop_log_ms;
	unsigned long		drops_logged;
};

static void
plog(const struct plog *pl, int flags, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
plog(const struct plog *pl, int flags, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	if (pl->vlog != NULL) {
		pl->vlog((openvpn_plugin_log_flags_t)flags, PLUGIN_NAME, fmt,
		    ap);
	} else if (pl->log != NULL) {
		(void)vsnprintf(line, sizeof(line), fmt, ap);
		pl->log((openvpn_plugin_log_flags_t)flags, PLUGIN_NAME, "%s",
		    line);
	}
	va_end(ap);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool hub_mode(const struct plugin *p);

/* Sends a finished event; drops are counted and logged now and then. */
static void
report(struct plugin *p, struct event_buf *b)
{
	int64_t now = now_ms();
	size_t len = event_end(b);
	int rc;

	if (b->truncated)
		plog(&p->plog, PLOG_DEBUG, "events: a %zu-byte event was "
		    "shortened to fit %d bytes", len, SVPN_EVENT_MAX);
	if ((rc = event_sender_send(&p->events, b->data, len, now)) == 0)
		return;
	if (p->drops_logged == 0 || now - p->drop_log_ms >= DROP_LOG_MS) {
		/* On a hub a lost event is a client without its rules. */
		plog(&p->plog, hub_mode(p) ? PLOG_WARN : PLOG_DEBUG,
		    "events: %lu dropped so far (%s: %s)",
		    p->events.dropped, p->args.events, strerror(-rc));
		p->drop_log_ms = now;
		p->drops_logged++;
	}
}

static int
call_depth(const struct openvpn_plugin_args_func_in *in)
{
	char *end;
	long d;

	if (in->current_cert_depth >= 0)
		return in->current_cert_depth;
	if (in->argv == NULL || in->argv[0] == NULL || in->argv[1] == NULL)
		return -1;
	d = strtol(in->argv[1], &end, 10);
	return (*end == '\0' && d >= 0 && d < 100) ? (int)d : -1;
}

static bool
hub_mode(const struct plugin *p)
{
	return p->args.mode == ARGS_MODE_HUB;
}

/* What the loaded policy holds, for the log. */
static void
policy_summary(const struct plugin *p, char *buf, size_t size)
{
	const struct hub_class *a, *s;

	if (hub_mode(p)) {
		a = &p->policy.hub->classes[HUB_ROLE_APPLIANCE - 1];
		s = &p->policy.hub->classes[HUB_ROLE_STAFF - 1];
		snprintf(buf, size, "appliances: %zu names, %zu pinned roots; "
		    "staff: %zu names, %zu pinned roots", a->n_names, a->n_ca,
		    s->n_names, s->n_ca);
	} else {
		snprintf(buf, size, "%zu server names, %zu pinned roots",
		    p->policy.policy->n_names, p->policy.policy->n_ca);
	}
}

static void
policy_refresh(struct plugin *p)
{
	char summary[160];

	if (policy_file_refresh(&p->policy) == 0)
		return;
	if (!policy_file_loaded(&p->policy)) {
		plog(&p->plog, PLOG_ERR, "policy: %s: every %s certificate "
		    "will be refused", p->policy.error, hub_mode(p) ? "client" :
		    "hub");
		return;
	}
	policy_summary(p, summary, sizeof(summary));
	plog(&p->plog, PLOG_NOTE, "policy: reloaded %s (%s)", p->policy.path,
	    summary);
}

static void
log_verdict(struct plugin *p, int depth, const struct verify_result *res,
    const char *cn, size_t cn_len)
{
	const char *whose = hub_mode(p) ? "client" : "hub";
	char shown[160];

	event_printable(shown, sizeof(shown), cn, cn_len);
	if (res->rule != VERIFY_OK)
		plog(&p->plog, PLOG_ERR, "refused %s certificate '%s' (depth "
		    "%d): %s: %s", whose, shown, depth,
		    verify_rule_name(res->rule), res->reason);
	else if (depth == 0)
		/*
		 * On an appliance supportvpnd logs the acceptance from the
		 * event: a line here would cost openvpn a write in the middle
		 * of every handshake.
		 */
		plog(&p->plog, hub_mode(p) ? PLOG_NOTE : PLOG_DEBUG,
		    "accepted %s certificate '%s' (depth 0, %s)", hub_mode(p) ?
		    hub_role_name(res->role) : "hub", shown, res->sha256);
	else
		plog(&p->plog, PLOG_DEBUG, "accepted certificate '%s' (depth "
		    "%d): %s", shown, depth, res->reason);
}

static int
on_tls_verify(struct plugin *p, const struct openvpn_plugin_args_func_in *in)
{
	const char *const *envp = in->envp;
	struct verify_ctx ctx;
	struct verify_result res;
	struct event_buf b;
	int depth = call_depth(in);
	const char *cn;
	size_t cn_len;
	char name[32];

	policy_refresh(p);
	memset(&ctx, 0, sizeof(ctx));
	ctx.hub_mode = hub_mode(p);
	ctx.policy = p->policy.policy;
	ctx.hub = p->policy.hub;
	ctx.policy_error = p->policy.error;
	ctx.consent_path = p->args.consent;
	ctx.consent_owner = p->owner;
	verify_tls(&p->verify, &ctx, depth, p->openssl ? in->current_cert :
	    NULL, envp, &res);
	cn = res.cn;
	cn_len = res.cn_len < sizeof(res.cn) ? res.cn_len : sizeof(res.cn);
	if (cn_len == 0) {
		/* No X509 to read: show the CN openvpn exported. */
		snprintf(name, sizeof(name), "X509_%d_CN", depth);
		cn = event_env_get(envp, name);
		cn_len = cn != NULL ? strlen(cn) : 0;
	}
	if (hub_mode(p))
		event_hub_tls_verify(&b, (long)getpid(), envp, depth,
		    verify_rule_name(res.rule), res.reason, res.sha256, cn,
		    cn_len, hub_role_name(res.role));
	else
		event_tls_verify(&b, (long)getpid(), envp, depth,
		    verify_rule_name(res.rule), res.reason, res.sha256, cn,
		    cn_len);
	report(p, &b);
	log_verdict(p, depth, &res, cn, cn_len);
	return res.rule == VERIFY_OK ? OPENVPN_PLUGIN_FUNC_SUCCESS :
	    OPENVPN_PLUGIN_FUNC_ERROR;
}

/* Every hook but TLS_VERIFY: report what openvpn tells us. */
static void
on_hook(struct plugin *p, int type, const char *const *envp)
{
	struct event_buf b;
	long pid = (long)getpid();

	switch (type) {
	case OPENVPN_PLUGIN_IPCHANGE:
		event_ipchange(&b, pid, envp);
		break;
	case OPENVPN_PLUGIN_UP:
		event_up(&b, pid, envp);
		break;
	case OPENVPN_PLUGIN_ROUTE_UP:
		event_route_up(&b, pid, envp);
		break;
	case OPENVPN_PLUGIN_ROUTE_PREDOWN:
		event_down(&b, SVPN_EV_ROUTE_PREDOWN, pid, envp);
		break;
	case OPENVPN_PLUGIN_DOWN:
		event_down(&b, SVPN_EV_DOWN, pid, envp);
		break;
	default:
		plog(&p->plog, PLOG_DEBUG, "ignoring unexpected call type %d",
		    type);
		return;
	}
	report(p, &b);
}

/*
 * Hub mode: the role of the connected peer cn, from the policy as it is
 * now and the chain openvpn verified (its env); *why says why there is
 * none.
 */
static enum hub_role
peer_role(struct plugin *p, const char *const *envp, const char *cn,
    const char **why)
{
	enum hub_role role;
	int n = 0;

	policy_refresh(p);
	*why = NULL;
	if (p->policy.hub == NULL) {
		*why = "the policy is unusable";
		return HUB_ROLE_NONE;
	}
	role = hub_policy_env_role(p->policy.hub, envp, cn, &n);
	if (role == HUB_ROLE_NONE)
		*why = n > 1 ? "its CN and root match both appliances and "
		    "staff" : "no class both pins its root and has a name "
		    "pattern matching its CN";
	return role;
}

static const char *
arg(const struct openvpn_plugin_args_func_in *in, int i)
{
	int k;

	for (k = 0; in->argv != NULL && k <= i; k++)
		if (in->argv[k] == NULL)
			return NULL;
	return in->argv != NULL ? in->argv[i] : NULL;
}

/*
 * LEARN_ADDRESS: argv "op addr [cn]" (no cn, and an empty env, for
 * delete). Refuses to add or update a route to a peer without a role.
 */
static int
on_learn_address(struct plugin *p, const struct openvpn_plugin_args_func_in
    *in)
{
	const char *const *envp = (const char *const *)in->envp;
	const char *op = arg(in, 1), *addr = arg(in, 2), *cn, *env_cn, *why;
	enum hub_role role;
	struct event_buf b;
	char shown_cn[160], shown_addr[80];

	if (op != NULL && strcmp(op, SVPN_OP_DELETE) == 0) {
		event_learn_address(&b, (long)getpid(), op, addr, NULL, NULL);
		report(p, &b);
		return OPENVPN_PLUGIN_FUNC_SUCCESS;
	}
	/* add, update, or one we do not know: it may make a route. */
	env_cn = event_env_get(envp, "common_name");
	if ((cn = arg(in, 3)) == NULL)
		cn = env_cn;
	role = peer_role(p, envp, cn, &why);
	/* openvpn keeps the two equal; if not, the env's chain is not cn's. */
	if (role != HUB_ROLE_NONE && env_cn != NULL &&
	    strcmp(cn, env_cn) != 0) {
		role = HUB_ROLE_NONE;
		why = "the CN differs from the one in openvpn's env";
	}
	event_learn_address(&b, (long)getpid(), op, addr, cn,
	    hub_role_name(role));
	report(p, &b);
	if (role != HUB_ROLE_NONE)
		return OPENVPN_PLUGIN_FUNC_SUCCESS;
	event_printable(shown_cn, sizeof(shown_cn), cn ? cn : "",
	    cn ? strlen(cn) : 0);
	event_printable(shown_addr, sizeof(shown_addr), addr ? addr : "",
	    addr ? strlen(addr) : 0);
	plog(&p->plog, PLOG_ERR, "learn-address: refusing to route %s to "
	    "'%s': no role: %s", shown_addr, shown_cn, why);
	return OPENVPN_PLUGIN_FUNC_ERROR;
}

/* CLIENT_CONNECT_V2 and CLIENT_DISCONNECT: report, never refuse. */
static void
on_client(struct plugin *p, int type, const char *const *envp)
{
	const char *cn = event_env_get(envp, "common_name"), *why;
	enum hub_role role = peer_role(p, envp, cn, &why);
	struct event_buf b;
	char shown[160];

	if (type == OPENVPN_PLUGIN_CLIENT_CONNECT_V2) {
		event_client_connect(&b, (long)getpid(), envp,
		    hub_role_name(role));
		if (role == HUB_ROLE_NONE) {
			event_printable(shown, sizeof(shown), cn ? cn : "",
			    cn ? strlen(cn) : 0);
			plog(&p->plog, PLOG_WARN, "client '%s' connected "
			    "without a role (%s): its address will not be "
			    "routed", shown, why);
		}
	} else {
		event_client_disconnect(&b, (long)getpid(), envp,
		    hub_role_name(role));
	}
	report(p, &b);
}

static int
on_hub_call(struct plugin *p, const struct openvpn_plugin_args_func_in *in)
{
	switch (in->type) {
	case OPENVPN_PLUGIN_TLS_VERIFY:
		return on_tls_verify(p, in);
	case OPENVPN_PLUGIN_LEARN_ADDRESS:
		return on_learn_address(p, in);
	case OPENVPN_PLUGIN_CLIENT_CONNECT_V2:
	case OPENVPN_PLUGIN_CLIENT_DISCONNECT:
		on_client(p, in->type, (const char *const *)in->envp);
		return OPENVPN_PLUGIN_FUNC_SUCCESS;
	default:
		plog(&p->plog, PLOG_DEBUG, "ignoring unexpected call type %d",
		    in->type);
		return OPENVPN_PLUGIN_FUNC_SUCCESS;
	}
}

static void
warn_relative(const struct plog *pl, const char *key, const char *path)
{
	if (path[0] != '/')
		plog(pl, PLOG_WARN, "%s=%s is a relative path; it breaks "
		    "when openvpn changes directory", key, path);
}

/* Everything open_v3 sets up after the arguments. 0 or -1 (logged). */
static int
plugin_setup(struct plugin *p, const struct openvpn_plugin_args_open_in *in)
{
	const char *whose = hub_mode(p) ? "client" : "hub";
	char summary[160];
	int rc;

	p->owner = geteuid();
	p->openssl = in->ssl_api == SSLAPI_OPENSSL;
	if (!p->openssl)
		plog(&p->plog, PLOG_WARN, "openvpn does not use OpenSSL: every "
		    "%s certificate will be refused (rule %s)", whose,
		    SVPN_RULE_CERT);
	warn_relative(&p->plog, "events", p->args.events);
	if (!hub_mode(p))
		warn_relative(&p->plog, "consent", p->args.consent);
	warn_relative(&p->plog, "policy", p->args.policy);
	/* Connect now, as root: the controller may be gone later. */
	rc = event_sender_open(&p->events, p->args.events, now_ms());
	/* See event_sender.wait_ms: only the hub may wait for its daemon. */
	p->events.wait_ms = hub_mode(p) ? HUB_EVENT_WAIT_MS : 0;
	if (rc < 0)
		plog(&p->plog, PLOG_ERR, "events: socket: %s; events are "
		    "dropped", strerror(-rc));
	else if (!p->events.connected)
		plog(&p->plog, PLOG_NOTE, "events: cannot connect to %s: %s; "
		    "events are dropped until it is there", p->args.events,
		    strerror(p->events.last_errno));
	rc = hub_mode(p) ? policy_file_init_hub(&p->policy, p->args.policy) :
	    policy_file_init(&p->policy, p->args.policy);
	if (rc < 0) {
		plog(&p->plog, PLOG_ERR, "out of memory");
		return -1;
	}
	if (!policy_file_loaded(&p->policy)) {
		plog(&p->plog, PLOG_ERR, "policy: %s: every %s certificate "
		    "will be refused", p->policy.error, whose);
		return 0;
	}
	policy_summary(p, summary, sizeof(summary));
	if (hub_mode(p))
		plog(&p->plog, PLOG_NOTE, "mode=hub: policy %s: %s",
		    p->args.policy, summary);
	else
		plog(&p->plog, PLOG_NOTE, "policy %s: %s; consent %s",
		    p->args.policy, summary, p->args.consent);
	return 0;
}

static void
plugin_free(struct plugin *p)
{
	if (p == NULL)
		return;
	event_sender_close(&p->events);
	verify_state_deinit(&p->verify);
	policy_file_deinit(&p->policy);
	args_deinit(&p->args);
	free(p);
}

SVPN_EXPORT int
openvpn_plugin_min_version_required_v1(void)
{
	return 3;
}

SVPN_EXPORT int
openvpn_plugin_open_v3(const int version,
    struct openvpn_plugin_args_open_in const *in,
    struct openvpn_plugin_args_open_return *out)
{
	struct plog pl = { NULL, NULL };
	struct plugin *p;
	char why[512];

	if (version < 3 || in == NULL || out == NULL)
		return OPENVPN_PLUGIN_FUNC_ERROR;
	if (in->callbacks != NULL) {
		pl.log = in->callbacks->plugin_log;
		pl.vlog = in->callbacks->plugin_vlog;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		plog(&pl, PLOG_ERR, "out of memory");
		return OPENVPN_PLUGIN_FUNC_ERROR;
	}
	p->plog = pl;
	p->events.fd = -1;
	if (args_parse((const char *const *)in->argv, &p->args, why,
	    sizeof(why)) < 0) {
		plog(&pl, PLOG_ERR, "refusing to load: %s", why);
		goto fail;
	}
	if (plugin_setup(p, in) < 0)
		goto fail;
	out->type_mask = hub_mode(p) ? HUB_HOOKS : HOOKS;
	out->handle = p;
	return OPENVPN_PLUGIN_FUNC_SUCCESS;
fail:
	plugin_free(p);
	return OPENVPN_PLUGIN_FUNC_ERROR;
}

/* No handle (openvpn never does that): refuse what a refusal guards. */
static int
null_handle(const struct openvpn_plugin_args_func_in *in)
{
	const char *op;

	if (in == NULL || in->type == OPENVPN_PLUGIN_TLS_VERIFY)
		return OPENVPN_PLUGIN_FUNC_ERROR;
	if (in->type == OPENVPN_PLUGIN_LEARN_ADDRESS) {
		op = arg(in, 1);
		if (op == NULL || strcmp(op, SVPN_OP_DELETE) != 0)
			return OPENVPN_PLUGIN_FUNC_ERROR;
	}
	return OPENVPN_PLUGIN_FUNC_SUCCESS;
}

SVPN_EXPORT int
openvpn_plugin_func_v3(const int version,
    struct openvpn_plugin_args_func_in const *in,
    struct openvpn_plugin_args_func_return *out)
{
	struct plugin *p = in != NULL ? in->handle : NULL;

	if (p == NULL)
		return null_handle(in);
	if (hub_mode(p))
		return on_hub_call(p, in);
	if (in->type == OPENVPN_PLUGIN_TLS_VERIFY)
		return on_tls_verify(p, in);
	on_hook(p, in->type, (const char *const *)in->envp);
	/* UP, DOWN and ROUTE_PREDOWN failing would kill openvpn. */
	return OPENVPN_PLUGIN_FUNC_SUCCESS;
}

SVPN_EXPORT void
openvpn_plugin_close_v1(openvpn_plugin_handle_t handle)
{
	struct plugin *p = handle;

	if (p == NULL)
		return;
	plog(&p->plog, PLOG_DEBUG, "closing: %lu events sent, %lu dropped",
	    p->events.sent, p->events.dropped);
	plugin_free(p);
}
