/* SPDX-License-Identifier: MIT */
/*
 * Plugin driver: dlopen()s build/openvpn-plugin-supportvpn.so and plays
 * openvpn against it: open_v3 with fake callbacks that capture the log,
 * func_v3 for every hook with synthetic argv/envp and real X509
 * certificates made here with OpenSSL, close_v1. Each event datagram is
 * received on a socket of our own and checked field by field. The client
 * mode (an appliance's openvpn) first, then mode=hub (the vendor's
 * openvpn server: appliances and staff connecting).
 *
 *   plugin_driver PLUGIN.so [-v] [--bench N]
 *
 * Exit status 0 when every check passed. --bench N also times N
 * handshakes in each mode and N LEARN_ADDRESS calls in hub mode, and
 * prints microseconds per call.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Function-pointer typedefs for the entry points instead of prototypes. */
#define OPENVPN_PLUGIN_H
#include <openvpn/openvpn-plugin.h>

#include "supportvpn_event.h"

#define HUB_IP		"198.51.100.7"
#define HUB_PORT	1194
#define TUN_IP		"203.0.113.2"
/* Hub mode: an appliance and a staff member connecting to the hub. */
#define APPL_IP		"198.51.100.20"
#define APPL_PORT	40001
#define APPL_TUN	"203.0.113.9"
#define STAFF_IP	"192.0.2.30"
#define STAFF_PORT	40002
#define STAFF_TUN	"203.0.113.10"

static bool verbose;
static int failures, checks;

#define CHECK(cond, ...) check_at(__LINE__, (cond), __VA_ARGS__)

static void check_at(int line, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
check_at(int line, bool ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (ok && !verbose)
		return;
	fprintf(ok ? stdout : stderr, "%s driver.c:%d: ", ok ? "ok  " : "FAIL",
	    line);
	va_start(ap, fmt);
	vfprintf(ok ? stdout : stderr, fmt, ap);
	va_end(ap);
	fputc('\n', ok ? stdout : stderr);
	if (!ok)
		failures++;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("plugin_driver: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- the log openvpn would print ---- */

#define LOG_LINES	256
static struct {
	int	flags[LOG_LINES];
	char	text[LOG_LINES][700];
	int	n;
	bool	bad_name;
} plog;

static void
fake_vlog(openvpn_plugin_log_flags_t flags, const char *name,
    const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void
fake_vlog(openvpn_plugin_log_flags_t flags, const char *name,
    const char *fmt, va_list ap)
{
	int i = plog.n % LOG_LINES;

	if (name == NULL || strcmp(name, "supportvpn") != 0)
		plog.bad_name = true;
	plog.flags[i] = (int)flags;
	vsnprintf(plog.text[i], sizeof(plog.text[i]), fmt, ap);
	plog.n++;
	if (verbose)
		printf("     PLUGIN %s: %s\n", name, plog.text[i]);
}

static void
fake_log(openvpn_plugin_log_flags_t flags, const char *name,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
fake_log(openvpn_plugin_log_flags_t flags, const char *name,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fake_vlog(flags, name, fmt, ap);
	va_end(ap);
}

static struct openvpn_plugin_callbacks callbacks = {
	.plugin_log = fake_log,
	.plugin_vlog = fake_vlog,
};

static void
log_clear(void)
{
	plog.n = 0;
}

/* A line logged since log_clear() at the level (0: any) holding needle. */
static bool
log_has(int level, const char *needle)
{
	int i;

	for (i = 0; i < plog.n && i < LOG_LINES; i++)
		if ((level == 0 || (plog.flags[i] & level)) &&
		    strstr(plog.text[i], needle) != NULL)
			return true;
	return false;
}

/* ---- certificates ---- */

enum cert_kind { CERT_CA, CERT_SERVER, CERT_CLIENT, CERT_NO_EKU };

struct cert {
	X509		*x509;
	EVP_PKEY	*key;
	char		 env_fp[100];	/* "AB:CD:..." as openvpn exports */
	char		 ev_fp[80];	/* "sha256:abcd..." as the plugin sends */
	char		 cn[300];	/* printable CN */
};

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(x, ext, -1))
		die("cannot add extension %s", value);
	X509_EXTENSION_free(ext);
}

static void
fingerprints(struct cert *c)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n, i;

	if (!X509_digest(c->x509, EVP_sha256(), md, &n) || n != 32)
		die("X509_digest");
	strcpy(c->ev_fp, "sha256:");
	for (i = 0; i < n; i++) {
		sprintf(c->env_fp + 3 * i, "%02X%s", md[i], i + 1 < n ? ":" :
		    "");
		sprintf(c->ev_fp + 7 + 2 * i, "%02x", md[i]);
	}
}

/* A certificate with the CN cn (len bytes: it may hold a NUL). */
static void
make_cert(struct cert *c, const char *cn, size_t len, enum cert_kind kind,
    const struct cert *issuer)
{
	static long serial = 1000;
	X509_NAME *name;
	X509 *x;

	memset(c, 0, sizeof(*c));
	if ((c->key = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		die("cannot make a key");
	c->x509 = x;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, c->key);
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Support Test", -1, -1, 0) ||
	    /* A raw UTF8String: no 64-byte limit, a NUL goes in as is. */
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_UTF8STRING,
	    (const unsigned char *)cn, (int)len, -1, 0))
		die("cannot set the CN");
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->x509) :
	    name);
	/* Key identifiers, as `openssl` adds them by default. */
	add_ext(x, issuer ? issuer->x509 : x, NID_subject_key_identifier,
	    "hash");
	add_ext(x, issuer ? issuer->x509 : x, NID_authority_key_identifier,
	    "keyid:always");
	if (kind == CERT_CA) {
		add_ext(x, issuer ? issuer->x509 : x, NID_basic_constraints,
		    "critical,CA:TRUE");
		add_ext(x, issuer ? issuer->x509 : x, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	} else {
		X509 *by = issuer ? issuer->x509 : x;

		add_ext(x, by, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment");
		if (kind == CERT_SERVER)
			add_ext(x, by, NID_ext_key_usage, "serverAuth");
		else if (kind == CERT_CLIENT)
			add_ext(x, by, NID_ext_key_usage, "clientAuth");
	}
	if (!X509_sign(x, issuer ? issuer->key : c->key, EVP_sha256()))
		die("X509_sign");
	fingerprints(c);
	{
		size_t i, o = 0;

		for (i = 0; i < len && o + 5 < sizeof(c->cn); i++)
			o += (size_t)(cn[i] >= 0x20 && cn[i] < 0x7f && cn[i] !=
			    '\\' ? sprintf(c->cn + o, "%c", cn[i]) :
			    sprintf(c->cn + o, "\\x%02x", (unsigned char)cn[i]));
	}
}

static void
free_cert(struct cert *c)
{
	X509_free(c->x509);
	EVP_PKEY_free(c->key);
}

/* ---- the world: files, certificates, the event receiver ---- */

static struct {
	char		dir[64];
	char		events[128];
	char		consent[128];
	int		consent_lock;	/* as the controller's, or -1 */
	char		policy[128];
	int		rx;		/* our end of events.sock */
	struct cert	ca, hub, hub7, client, noeku, wrong, nul, longcn;
	struct cert	inter, hubi;	/* ca -> intermediate -> hub */
	struct cert	fca, fhub, self;	/* foreign CA, self-signed hub */
	/* Hub mode: appliances under ca, staff under sca. */
	char		hubpolicy[128];
	struct cert	sca, appl, staff, printer, staffwrong, applsrv,
			applnoeku, applnul, appllong, shared, fappl;
	const char	*peer_ip;	/* untrusted_ip in TLS_VERIFY's env */
	int		 peer_port;
	bool		 hub_keys;	/* events may hold the hub's fields */
	void		*dl;
	openvpn_plugin_open_v3		open_v3;
	openvpn_plugin_func_v3		func_v3;
	openvpn_plugin_close_v1		close_v1;
	openvpn_plugin_min_version_required_v1	min_version;
	openvpn_plugin_handle_t		h;	/* the main instance */
} w;

static void
write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[160];
	int fd;

	/* Atomically, as the controller does. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode) < 0 || close(fd) < 0 || rename(tmp, path) < 0)
		die("cannot write %s: %s", path, strerror(errno));
}

#define CONSENT_AT	"2026-11-27T01:19:08Z"

/*
 * The consent record as the controller writes it: a v2 record for pid
 * with mode, write-locked (an open file description lock) through a
 * descriptor kept in w.consent_lock until the next record replaces it.
 * Unlocked: no controller holds it.
 */
static void
write_consent(mode_t mode, bool locked)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char rec[256], tmp[160];
	int fd;

	snprintf(rec, sizeof(rec), "{\"v\":2,\"pid\":%d,\"granted_at\":"
	    "\"" CONSENT_AT "\"}", (int)getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", w.consent);
	(void)unlink(tmp);
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) <
	    0 || (locked && fcntl(fd, F_OFD_SETLK, &fl) < 0) ||
	    write(fd, rec, strlen(rec)) != (ssize_t)strlen(rec) ||
	    fchmod(fd, mode) < 0 || rename(tmp, w.consent) < 0)
		die("cannot write %s: %s", w.consent, strerror(errno));
	if (w.consent_lock >= 0)
		close(w.consent_lock);
	w.consent_lock = fd;
	if (!locked) {
		close(fd);
		w.consent_lock = -1;
	}
}

static void
good_consent(void)
{
	write_consent(0644, true);
}

static void
write_policy(const char *names)
{
	char text[1024];

	/* The pin as `openssl x509 -noout -fingerprint -sha256` prints it. */
	snprintf(text, sizeof(text), "{\"server_names\": [%s], \"ca_sha256\": "
	    "[\"sha256 Fingerprint=%s\"]}", names, w.ca.env_fp);
	write_file(w.policy, text, 0644);
}

#define GOOD_NAMES	"\"hub1.support.example\", \"*.support.example\""

static void
bind_rx(void)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, w.events);
	(void)unlink(w.events);
	w.rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (w.rx < 0 || bind(w.rx, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind %s: %s", w.events, strerror(errno));
	/* Writable by the dropped-privilege child too (see the report). */
	(void)chmod(w.events, 0666);
}

static void
setup_hub_certs(void)
{
	char longcn[65];
	static const char nulcn[] = "appliance-1\0.evil";

	make_cert(&w.sca, "Support Staff CA", 16, CERT_CA, NULL);
	make_cert(&w.appl, "appliance-0042", 14, CERT_CLIENT, &w.ca);
	make_cert(&w.staff, "staff-alice", 11, CERT_CLIENT, &w.sca);
	make_cert(&w.printer, "printer-7", 9, CERT_CLIENT, &w.ca);
	/* A staff name under the appliances' root. */
	make_cert(&w.staffwrong, "staff-mallory", 13, CERT_CLIENT, &w.ca);
	make_cert(&w.applsrv, "appliance-0043", 14, CERT_SERVER, &w.ca);
	make_cert(&w.applnoeku, "appliance-0044", 14, CERT_NO_EKU, &w.ca);
	make_cert(&w.applnul, nulcn, sizeof(nulcn) - 1, CERT_CLIENT, &w.ca);
	memcpy(longcn, "appliance-", 10);
	memset(longcn + 10, 'x', 55);
	make_cert(&w.appllong, longcn, 65, CERT_CLIENT, &w.ca);
	make_cert(&w.shared, "shared-1", 8, CERT_CLIENT, &w.ca);
	make_cert(&w.fappl, "appliance-0042", 14, CERT_CLIENT, &w.fca);
}

static void
setup_world(void)
{
	char longcn[300];
	static const char nulcn[] = "hub1.support.example\0.evil.example";

	snprintf(w.dir, sizeof(w.dir), "/tmp/svdriver-XXXXXX");
	if (mkdtemp(w.dir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	/* What the controller does with run_dir: searchable, not listable. */
	if (chmod(w.dir, 0711) < 0)
		die("chmod: %s", strerror(errno));
	snprintf(w.events, sizeof(w.events), "%s/events.sock", w.dir);
	snprintf(w.consent, sizeof(w.consent), "%s/consent", w.dir);
	w.consent_lock = -1;
	snprintf(w.policy, sizeof(w.policy), "%s/policy.json", w.dir);
	snprintf(w.hubpolicy, sizeof(w.hubpolicy), "%s/hub-policy.json",
	    w.dir);
	w.peer_ip = HUB_IP;
	w.peer_port = HUB_PORT;

	make_cert(&w.ca, "Support Root CA", 15, CERT_CA, NULL);
	make_cert(&w.hub, "hub1.support.example", 20, CERT_SERVER, &w.ca);
	make_cert(&w.hub7, "HUB7.Support.Example", 20, CERT_SERVER, &w.ca);
	make_cert(&w.client, "hub1.support.example", 20, CERT_CLIENT, &w.ca);
	make_cert(&w.noeku, "hub1.support.example", 20, CERT_NO_EKU, &w.ca);
	make_cert(&w.wrong, "hub1.evil.example", 17, CERT_SERVER, &w.ca);
	make_cert(&w.nul, nulcn, sizeof(nulcn) - 1, CERT_SERVER, &w.ca);
	memset(longcn, 'a', 256);
	longcn[63] = longcn[127] = longcn[191] = '.';
	memcpy(longcn + 256 - 16, ".support.example", 16);
	make_cert(&w.longcn, longcn, 256, CERT_SERVER, &w.ca);
	make_cert(&w.inter, "Support Hubs CA", 15, CERT_CA, &w.ca);
	make_cert(&w.hubi, "hub2.support.example", 20, CERT_SERVER, &w.inter);
	make_cert(&w.fca, "Support Root CA", 15, CERT_CA, NULL);
	make_cert(&w.fhub, "hub1.support.example", 20, CERT_SERVER, &w.fca);
	make_cert(&w.self, "hub1.support.example", 20, CERT_SERVER, NULL);
	setup_hub_certs();

	write_policy(GOOD_NAMES);
	good_consent();
	bind_rx();
}

static void
teardown_world(void)
{
	char cmd[128];

	if (w.consent_lock >= 0)
		close(w.consent_lock);
	close(w.rx);
	free_cert(&w.ca);
	free_cert(&w.hub);
	free_cert(&w.hub7);
	free_cert(&w.client);
	free_cert(&w.noeku);
	free_cert(&w.wrong);
	free_cert(&w.nul);
	free_cert(&w.longcn);
	free_cert(&w.inter);
	free_cert(&w.hubi);
	free_cert(&w.fca);
	free_cert(&w.fhub);
	free_cert(&w.self);
	free_cert(&w.sca);
	free_cert(&w.appl);
	free_cert(&w.staff);
	free_cert(&w.printer);
	free_cert(&w.staffwrong);
	free_cert(&w.applsrv);
	free_cert(&w.applnoeku);
	free_cert(&w.applnul);
	free_cert(&w.appllong);
	free_cert(&w.shared);
	free_cert(&w.fappl);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "plugin_driver: could not remove %s\n", w.dir);
}

/* ---- events ---- */

/* Every key the controller accepts (controller/events.c). */
static const char *const known_keys[] = {
	SVPN_EV_VERSION, SVPN_EV_TYPE, SVPN_EV_PID, SVPN_EV_DEPTH,
	SVPN_EV_RESULT, SVPN_EV_RULE, SVPN_EV_REASON, SVPN_EV_CN,
	SVPN_EV_SHA256, SVPN_EV_SERVER_IP, SVPN_EV_SERVER_PORT, SVPN_EV_DEV,
	SVPN_EV_LOCAL_IP, SVPN_EV_LOCAL_IP6, SVPN_EV_NETMASK, SVPN_EV_SIGNAL,
};

/* And those only the hub's daemon gets (mode=hub). */
static const char *const hub_keys[] = {
	SVPN_EV_ROLE, SVPN_EV_REAL_IP, SVPN_EV_REAL_PORT, SVPN_EV_TUNNEL_IP,
	SVPN_EV_OP, SVPN_EV_ADDR, SVPN_EV_BYTES_IN, SVPN_EV_BYTES_OUT,
	SVPN_EV_DURATION_S,
};

static bool
key_known(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
		if (strcmp(key, known_keys[i]) == 0)
			return true;
	for (i = 0; w.hub_keys && i < sizeof(hub_keys) / sizeof(hub_keys[0]);
	    i++)
		if (strcmp(key, hub_keys[i]) == 0)
			return true;
	return false;
}

static void
drain(void)
{
	char buf[4096];

	while (recv(w.rx, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* The next event of type, within a second; NULL (and a failure) if none. */
static json_t *
next_event(const char *type)
{
	struct pollfd pfd = { .fd = w.rx, .events = POLLIN };
	char buf[SVPN_EVENT_MAX * 2];
	json_error_t jerr;
	const char *key;
	json_t *ev, *v;
	ssize_t n;

	if (poll(&pfd, 1, 1000) <= 0 ||
	    (n = recv(w.rx, buf, sizeof(buf), MSG_DONTWAIT)) <= 0) {
		CHECK(false, "no %s event arrived", type);
		return NULL;
	}
	CHECK(n <= SVPN_EVENT_MAX, "event of %zd bytes fits %d", n,
	    SVPN_EVENT_MAX);
	if ((ev = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		CHECK(false, "event is not JSON: %s: %.*s", jerr.text, (int)n,
		    buf);
		return NULL;
	}
	if (verbose)
		printf("     event: %.*s\n", (int)n, buf);
	CHECK(json_integer_value(json_object_get(ev, "v")) == 1, "v is 1");
	CHECK(json_is_string(json_object_get(ev, "type")) &&
	    strcmp(json_string_value(json_object_get(ev, "type")), type) == 0,
	    "event type is %s", type);
	CHECK(json_integer_value(json_object_get(ev, "pid")) == getpid(),
	    "pid is ours");
	json_object_foreach(ev, key, v) {
		CHECK(key_known(key), "%s: field '%s' is one %s knows", type,
		    key, w.hub_keys ? "the hub daemon" : "the controller");
		if (json_is_string(v))
			CHECK(strlen(json_string_value(v)) ==
			    json_string_length(v) && json_string_length(v) > 0,
			    "%s: '%s' is a non-empty string without NUL", type,
			    key);
	}
	return ev;
}

static void
expect_str(json_t *ev, const char *key, const char *want)
{
	const char *got = json_string_value(json_object_get(ev, key));

	if (want == NULL)
		CHECK(json_object_get(ev, key) == NULL, "no '%s' field", key);
	else
		CHECK(got != NULL && strcmp(got, want) == 0,
		    "'%s' is '%s' (got '%s')", key, want, got ? got : "(none)");
}

static void
expect_int(json_t *ev, const char *key, long long want)
{
	json_t *v = json_object_get(ev, key);

	CHECK(json_is_integer(v) && json_integer_value(v) == want,
	    "'%s' is %lld", key, want);
}

/* ---- calling the plugin ---- */

struct env {
	char		*own[64];
	const char	*v[64];	/* the same strings, as openvpn passes them */
	int		 n;
};

static void env_add(struct env *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
env_add(struct env *e, const char *fmt, ...)
{
	va_list ap;

	if (e->n + 1 >= (int)(sizeof(e->v) / sizeof(e->v[0])))
		die("env full");
	va_start(ap, fmt);
	if (vasprintf(&e->own[e->n], fmt, ap) < 0)
		die("vasprintf");
	va_end(ap);
	e->v[e->n] = e->own[e->n];
	e->v[++e->n] = NULL;
}

static void
env_free(struct env *e)
{
	int i;

	for (i = 0; i < e->n; i++)
		free(e->own[i]);
	e->n = 0;
}

static int
call(openvpn_plugin_handle_t h, int type, const char **argv,
    struct env *e, int depth, X509 *cert)
{
	struct openvpn_plugin_args_func_in in = {
		.type = type,
		.argv = argv,
		.envp = e->v,
		.handle = h,
		.current_cert_depth = depth,
		.current_cert = cert,
	};
	struct openvpn_plugin_string_list *list = NULL;
	struct openvpn_plugin_args_func_return ret = { .return_list = &list };
	int rc = w.func_v3(OPENVPN_PLUGINv3_STRUCTVER, &in, &ret);

	CHECK(list == NULL, "the plugin hands back no list");
	return rc;
}

/*
 * TLS_VERIFY at depth for a chain (chain[0] the hub, chain[n-1] the top):
 * env as openvpn builds it, with digests for this and all deeper depths.
 * root_env, if set, replaces the top's env digest.
 */
static int
verify_at(openvpn_plugin_handle_t h, struct cert *const *chain, int n,
    int depth, const char *root_env, bool with_cert)
{
	char arg0[] = "plugin.so", arg1[12], arg2[400];
	const char *argv[] = { arg0, arg1, arg2, NULL };
	struct env e = { .n = 0 };
	int d, rc;

	snprintf(arg1, sizeof(arg1), "%d", depth);
	snprintf(arg2, sizeof(arg2), "O=Support Test, CN=%s", chain[depth]->cn);
	env_add(&e, "verb=3");
	env_add(&e, "untrusted_ip=%s", w.peer_ip);
	env_add(&e, "untrusted_port=%d", w.peer_port);
	for (d = depth; d < n; d++) {
		env_add(&e, "tls_id_%d=O=Support Test, CN=%s", d, chain[d]->cn);
		env_add(&e, "tls_digest_sha256_%d=%s", d, (d == n - 1 &&
		    root_env) ? root_env : chain[d]->env_fp);
		env_add(&e, "X509_%d_CN=%s", d, chain[d]->cn);
	}
	if (depth == 0)
		env_add(&e, "common_name=%s", chain[0]->cn);
	rc = call(h, OPENVPN_PLUGIN_TLS_VERIFY, argv, &e, depth,
	    with_cert ? chain[depth]->x509 : NULL);
	env_free(&e);
	return rc;
}

/* Checks the tls_verify event and, for a refusal, the log line. */
static void
expect_verdict(int depth, const struct cert *c, const char *rule,
    const char *reason_part)
{
	char line[600];
	json_t *ev = next_event(SVPN_EV_TLS_VERIFY);
	const char *reason;

	if (ev == NULL)
		return;
	expect_int(ev, SVPN_EV_DEPTH, depth);
	expect_str(ev, SVPN_EV_RESULT, rule ? SVPN_RESULT_REFUSED :
	    SVPN_RESULT_ACCEPTED);
	expect_str(ev, SVPN_EV_RULE, rule);
	expect_str(ev, SVPN_EV_SHA256, c->ev_fp);
	expect_str(ev, SVPN_EV_SERVER_IP, HUB_IP);
	expect_int(ev, SVPN_EV_SERVER_PORT, HUB_PORT);
	reason = json_string_value(json_object_get(ev, SVPN_EV_REASON));
	CHECK(reason != NULL, "the event has a reason");
	if (reason_part != NULL)
		CHECK(reason != NULL && strstr(reason, reason_part) != NULL,
		    "reason '%s' says '%s'", reason ? reason : "", reason_part);
	if (rule != NULL && strlen(c->cn) < 120) {
		snprintf(line, sizeof(line), "refused hub certificate '%s' "
		    "(depth %d): %s: ", c->cn, depth, rule);
		CHECK(log_has(PLOG_ERR, line), "log says \"%s...\"", line);
	} else if (rule != NULL) {
		/* The log shortens a long CN with "...". */
		snprintf(line, sizeof(line), "refused hub certificate '%.100s",
		    c->cn);
		CHECK(log_has(PLOG_ERR, line), "log says \"%s...\"", line);
		snprintf(line, sizeof(line), "...' (depth %d): %s: ", depth,
		    rule);
		CHECK(log_has(PLOG_ERR, line), "log says \"%s...\"", line);
	}
	json_decref(ev);
}

/* A whole handshake: every depth from the top down while accepted. */
static int
handshake(openvpn_plugin_handle_t h, struct cert *const *chain, int n)
{
	int d, rc = OPENVPN_PLUGIN_FUNC_SUCCESS;

	for (d = n - 1; d >= 0 && rc == OPENVPN_PLUGIN_FUNC_SUCCESS; d--)
		rc = verify_at(h, chain, n, d, NULL, true);
	return rc;
}

static openvpn_plugin_handle_t
open_plugin(const char *const *args, ovpnSSLAPI api, int *rc_out)
{
	const char *argv[8];
	const char *envp[] = { "verb=3", "daemon=0", NULL };
	struct openvpn_plugin_args_open_in in = {
		.type_mask = 0xffff,
		.argv = argv,
		.envp = envp,
		.callbacks = &callbacks,
		.ssl_api = api,
		.ovpn_version = "2.6.14",
		.ovpn_version_major = 2,
		.ovpn_version_minor = 6,
		.ovpn_version_patch = ".14",
	};
	struct openvpn_plugin_string_list *list = NULL;
	struct openvpn_plugin_args_open_return ret = { .return_list = &list };
	bool hub = false;
	int i, rc;

	argv[0] = "/usr/lib/openvpn/plugins/openvpn-plugin-supportvpn.so";
	for (i = 0; args[i] != NULL && i < 6; i++) {
		argv[i + 1] = args[i];
		hub |= strcmp(args[i], "mode=hub") == 0;
	}
	argv[i + 1] = NULL;
	rc = w.open_v3(OPENVPN_PLUGINv3_STRUCTVER, &in, &ret);
	if (rc_out != NULL)
		*rc_out = rc;
	CHECK(list == NULL, "open hands back no list");
	if (rc == OPENVPN_PLUGIN_FUNC_SUCCESS && hub) {
		CHECK(ret.handle != NULL, "open gives a handle");
		CHECK(ret.type_mask == (
		    OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_TLS_VERIFY) |
		    OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_CLIENT_CONNECT_V2) |
		    OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_LEARN_ADDRESS) |
		    OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_CLIENT_DISCONNECT)),
		    "mode=hub: type_mask is the four server hooks (0x%x)",
		    ret.type_mask);
	} else if (rc == OPENVPN_PLUGIN_FUNC_SUCCESS) {
		CHECK(ret.handle != NULL, "open gives a handle");
		CHECK(ret.type_mask == (OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_UP) |
		    OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_DOWN) |
		    OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_ROUTE_UP) |
		    OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_IPCHANGE) |
		    OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_TLS_VERIFY) |
		    OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_ROUTE_PREDOWN)),
		    "type_mask is the six client hooks (0x%x)",
		    ret.type_mask);
		CHECK(!(ret.type_mask &
		    OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_AUTH_USER_PASS_VERIFY)),
		    "never AUTH_USER_PASS_VERIFY");
	}
	return ret.handle;
}

static openvpn_plugin_handle_t
open_main(const char *policy, ovpnSSLAPI api)
{
	char ev[160], co[160], po[160];
	const char *args[] = { ev, co, po, NULL };

	snprintf(ev, sizeof(ev), "events=%s", w.events);
	snprintf(co, sizeof(co), "consent=%s", w.consent);
	snprintf(po, sizeof(po), "policy=%s", policy);
	return open_plugin(args, api, NULL);
}

/* ---- the cases ---- */

static void
case_bad_args(void)
{
	char ev[160], co[160], po[160];
	const char *missing[] = { ev, po, NULL };
	const char *unknown[] = { ev, co, po, "foo=bar", NULL };
	const char *none[] = { NULL };
	const char *twice[] = { ev, ev, co, po, NULL };
	int rc;

	snprintf(ev, sizeof(ev), "events=%s", w.events);
	snprintf(co, sizeof(co), "consent=%s", w.consent);
	snprintf(po, sizeof(po), "policy=%s", w.policy);
	log_clear();
	CHECK(open_plugin(missing, SSLAPI_OPENSSL, &rc) == NULL &&
	    rc == OPENVPN_PLUGIN_FUNC_ERROR, "missing consent=: open fails");
	CHECK(log_has(PLOG_ERR, "missing consent=PATH"),
	    "the message names consent=");
	log_clear();
	CHECK(open_plugin(unknown, SSLAPI_OPENSSL, &rc) == NULL &&
	    rc == OPENVPN_PLUGIN_FUNC_ERROR, "unknown foo=: open fails");
	CHECK(log_has(PLOG_ERR, "unknown argument 'foo'"),
	    "the message names foo");
	log_clear();
	CHECK(open_plugin(none, SSLAPI_OPENSSL, &rc) == NULL &&
	    rc == OPENVPN_PLUGIN_FUNC_ERROR, "no arguments: open fails");
	CHECK(log_has(PLOG_ERR, "missing events=PATH consent=PATH policy=PATH"),
	    "the message names all three");
	log_clear();
	CHECK(open_plugin(twice, SSLAPI_OPENSSL, &rc) == NULL &&
	    rc == OPENVPN_PLUGIN_FUNC_ERROR, "events= twice: open fails");
	CHECK(log_has(PLOG_ERR, "given twice"), "the message says twice");
	/* Only plugin_log given: the plugin logs through it. */
	callbacks.plugin_vlog = NULL;
	log_clear();
	CHECK(open_plugin(unknown, SSLAPI_OPENSSL, &rc) == NULL,
	    "unknown foo=: open fails");
	CHECK(log_has(PLOG_ERR, "unknown argument 'foo'"),
	    "logged through plugin_log");
	callbacks.plugin_vlog = fake_vlog;
}

static void
case_accept(void)
{
	struct cert *chain[] = { &w.hub, &w.ca };
	struct cert *chain7[] = { &w.hub7, &w.ca };
	int round;

	drain();
	/* The first handshake and a renegotiation. */
	for (round = 0; round < 2; round++) {
		log_clear();
		CHECK(verify_at(w.h, chain, 2, 1, NULL, true) ==
		    OPENVPN_PLUGIN_FUNC_SUCCESS, "depth 1: pinned root accepted");
		expect_verdict(1, &w.ca, NULL, "pinned");
		CHECK(verify_at(w.h, chain, 2, 0, NULL, true) ==
		    OPENVPN_PLUGIN_FUNC_SUCCESS, "depth 0: hub accepted");
		expect_verdict(0, &w.hub, NULL, "accepted");
		CHECK(log_has(PLOG_DEBUG, "accepted hub certificate "
		    "'hub1.support.example' (depth 0"), "log notes acceptance "
		    "(at debug level: supportvpnd logs it from the event)");
	}
	CHECK(handshake(w.h, chain7, 2) == OPENVPN_PLUGIN_FUNC_SUCCESS,
	    "HUB7.Support.Example matches *.support.example");
	expect_verdict(1, &w.ca, NULL, NULL);
	expect_verdict(0, &w.hub7, NULL, NULL);
}

/* A chain whose hub is refused at depth 0 by rule. */
static void
refused_leaf(struct cert *leaf, const char *rule, const char *reason)
{
	struct cert *chain[] = { leaf, &w.ca };

	log_clear();
	drain();
	CHECK(verify_at(w.h, chain, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "depth 1 accepted");
	expect_verdict(1, &w.ca, NULL, NULL);
	CHECK(verify_at(w.h, chain, 2, 0, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "depth 0 '%s' refused: %s", leaf->cn,
	    rule);
	expect_verdict(0, leaf, rule, reason);
}

static void
case_refusals(void)
{
	struct cert *foreign[] = { &w.fhub, &w.fca };
	struct cert *chain[] = { &w.hub, &w.ca };

	/* Another CA, even with the same name. */
	log_clear();
	drain();
	CHECK(verify_at(w.h, foreign, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "foreign root refused");
	expect_verdict(1, &w.fca, SVPN_RULE_CA_PIN, "not one of the pinned");

	refused_leaf(&w.client, SVPN_RULE_SERVER_EKU, "lacks serverAuth");
	refused_leaf(&w.noeku, SVPN_RULE_SERVER_EKU, "no extended key usage");
	refused_leaf(&w.wrong, SVPN_RULE_SERVER_NAME,
	    "CN is not one of the allowed support server names");
	CHECK(log_has(PLOG_ERR, "refused hub certificate 'hub1.evil.example' "
	    "(depth 0): server_name: CN is not one of the allowed support "
	    "server names"), "the log line reads as documented");
	refused_leaf(&w.nul, SVPN_RULE_SERVER_NAME, "NUL");
	refused_leaf(&w.longcn, SVPN_RULE_SERVER_NAME, "longer than 255");

	/* The root's call never came: the hub is the top and not pinned. */
	log_clear();
	drain();
	CHECK(verify_at(w.h, chain, 2, 0, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "depth 0 without a root call refused");
	expect_verdict(0, &w.hub, SVPN_RULE_CA_PIN, NULL);

	/* The env's root is not the one checked. */
	log_clear();
	CHECK(verify_at(w.h, chain, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "depth 1 accepted");
	expect_verdict(1, &w.ca, NULL, NULL);
	CHECK(verify_at(w.h, chain, 2, 0, w.fca.env_fp, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "env root mismatch refused");
	expect_verdict(0, &w.hub, SVPN_RULE_CA_PIN, "environment");

	/* An intermediate: depth 2, 1, 0. */
	log_clear();
	drain();
	{
		struct cert *three[] = { &w.hubi, &w.inter, &w.ca };

		CHECK(handshake(w.h, three, 3) == OPENVPN_PLUGIN_FUNC_SUCCESS,
		    "root, intermediate, hub accepted");
		expect_verdict(2, &w.ca, NULL, "pinned");
		expect_verdict(1, &w.inter, NULL, "intermediate");
		expect_verdict(0, &w.hubi, NULL, NULL);
	}

	/*
	 * openvpn abandons a handshake after our root call (its own check
	 * failed at depth 0); the next chain is one self-signed certificate
	 * and the env still holds the old root at depth 1. No credit.
	 */
	{
		struct cert *selfchain[] = { &w.self, &w.ca };
		struct cert *mixed[] = { &w.fhub, &w.ca };

		log_clear();
		CHECK(verify_at(w.h, chain, 2, 1, NULL, true) ==
		    OPENVPN_PLUGIN_FUNC_SUCCESS, "depth 1 accepted");
		expect_verdict(1, &w.ca, NULL, NULL);
		CHECK(verify_at(w.h, selfchain, 2, 0, NULL, true) ==
		    OPENVPN_PLUGIN_FUNC_ERROR, "a later lone certificate is "
		    "its own root");
		expect_verdict(0, &w.self, SVPN_RULE_CA_PIN, NULL);
		/* The hub was not issued by the root just checked. */
		CHECK(verify_at(w.h, chain, 2, 1, NULL, true) ==
		    OPENVPN_PLUGIN_FUNC_SUCCESS, "depth 1 accepted");
		expect_verdict(1, &w.ca, NULL, NULL);
		CHECK(verify_at(w.h, mixed, 2, 0, NULL, true) ==
		    OPENVPN_PLUGIN_FUNC_ERROR, "a hub of another CA after our "
		    "root refused");
		expect_verdict(0, &w.fhub, SVPN_RULE_CA_PIN, NULL);
	}

	/* After all that, a good handshake still passes. */
	drain();
	CHECK(handshake(w.h, chain, 2) == OPENVPN_PLUGIN_FUNC_SUCCESS,
	    "good chain accepted after refusals");
	drain();
}

static void
case_consent(void)
{
	struct cert *chain[] = { &w.hub, &w.ca };
	struct flock rd = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	char moved[160], pidtext[64], v1[256];
	int ready[2], fd;
	pid_t child;

	/* No consent file. */
	snprintf(moved, sizeof(moved), "%s.away", w.consent);
	if (rename(w.consent, moved) < 0)
		die("rename: %s", strerror(errno));
	refused_leaf(&w.hub, SVPN_RULE_CONSENT, "no owner consent: missing");
	if (rename(moved, w.consent) < 0)
		die("rename: %s", strerror(errno));

	/* Given by another process, which then dies (SIGKILL: no revoke). */
	if (pipe(ready) < 0 || (child = fork()) < 0)
		die("pipe/fork: %s", strerror(errno));
	if (child == 0) {
		close(ready[0]);
		good_consent();
		if (write(ready[1], "1", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], moved, 1) != 1)
		die("the consent child did not start");
	close(ready[0]);
	/* Our own old lock is on the file the child replaced. */
	close(w.consent_lock);
	w.consent_lock = -1;
	drain();
	CHECK(handshake(w.h, chain, 2) == OPENVPN_PLUGIN_FUNC_SUCCESS,
	    "consent locked by another live process: accepted");
	drain();
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	refused_leaf(&w.hub, SVPN_RULE_CONSENT, "no owner consent: stale");
	snprintf(pidtext, sizeof(pidtext), "(pid %d) is gone: nobody holds "
	    "its lock", (int)child);
	refused_leaf(&w.hub, SVPN_RULE_CONSENT, pidtext);

	/* Never locked; read-locked only (anyone may take a read lock). */
	write_consent(0644, false);
	refused_leaf(&w.hub, SVPN_RULE_CONSENT, "no owner consent: stale");
	if ((fd = open(w.consent, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fcntl(fd, F_OFD_SETLK, &rd) < 0)
		die("read lock: %s", strerror(errno));
	refused_leaf(&w.hub, SVPN_RULE_CONSENT, "no owner consent: stale");
	close(fd);

	/* Writable by others; owned by someone else; corrupt; a v1 record
	 * (still locked: the old format is refused by itself). */
	write_consent(0666, true);
	refused_leaf(&w.hub, SVPN_RULE_CONSENT, "bad owner/mode");
	good_consent();
	if (geteuid() == 0) {
		if (chown(w.consent, 12345, 12345) < 0)
			die("chown: %s", strerror(errno));
		refused_leaf(&w.hub, SVPN_RULE_CONSENT, "owned by uid 12345");
	}
	write_file(w.consent, "{\"v\":2,\"pid\":", 0644);
	refused_leaf(&w.hub, SVPN_RULE_CONSENT, "corrupt");
	good_consent();
	fd = open(w.consent, O_WRONLY | O_TRUNC);
	snprintf(v1, sizeof(v1), "{\"v\":1,\"pid\":%d,\"start_time\":1,"
	    "\"granted_at\":\"" CONSENT_AT "\"}", (int)getpid());
	if (fd < 0 || write(fd, v1, strlen(v1)) != (ssize_t)strlen(v1) ||
	    close(fd) < 0)
		die("cannot rewrite %s: %s", w.consent, strerror(errno));
	refused_leaf(&w.hub, SVPN_RULE_CONSENT, "corrupt");
	refused_leaf(&w.hub, SVPN_RULE_CONSENT, "old format");

	good_consent();
	drain();
	CHECK(handshake(w.h, chain, 2) == OPENVPN_PLUGIN_FUNC_SUCCESS,
	    "consent restored: accepted");
	drain();
}

static void
case_policy_changes(void)
{
	struct cert *chain[] = { &w.hub, &w.ca };

	/* Re-read when it changes: hub1 no longer allowed. */
	log_clear();
	write_policy("\"hub2.support.example\"");
	refused_leaf(&w.hub, SVPN_RULE_SERVER_NAME, NULL);
	CHECK(log_has(PLOG_NOTE, "policy: reloaded"), "reload is logged");

	/* Invalid: everything refused, at every depth, saying why. */
	log_clear();
	drain();
	write_file(w.policy, "{\"server_names\": [\"*\"], \"ca_sha256\": "
	    "[\"00\"]}", 0644);
	CHECK(verify_at(w.h, chain, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "invalid policy: root refused");
	expect_verdict(1, &w.ca, SVPN_RULE_POLICY, "server_names[0]");
	CHECK(verify_at(w.h, chain, 2, 0, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "invalid policy: hub refused");
	expect_verdict(0, &w.hub, SVPN_RULE_POLICY, NULL);
	CHECK(log_has(PLOG_ERR, "every hub certificate will be refused"),
	    "an invalid policy is logged as an error");

	/* Removed. */
	if (unlink(w.policy) < 0)
		die("unlink: %s", strerror(errno));
	log_clear();
	CHECK(verify_at(w.h, chain, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "removed policy: refused");
	expect_verdict(1, &w.ca, SVPN_RULE_POLICY, "no such file");

	write_policy(GOOD_NAMES);
	drain();
	CHECK(handshake(w.h, chain, 2) == OPENVPN_PLUGIN_FUNC_SUCCESS,
	    "policy restored: accepted");
	drain();
}

static void
case_missing_policy_at_open(void)
{
	struct cert *chain[] = { &w.hub, &w.ca };
	char path[160];
	openvpn_plugin_handle_t h;

	snprintf(path, sizeof(path), "%s/no-such-policy.json", w.dir);
	log_clear();
	drain();
	h = open_main(path, SSLAPI_OPENSSL);
	CHECK(h != NULL, "a missing policy still loads");
	CHECK(log_has(PLOG_ERR, "every hub certificate will be refused"),
	    "and says so");
	CHECK(verify_at(h, chain, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "missing policy: root refused");
	expect_verdict(1, &w.ca, SVPN_RULE_POLICY, "no such file");
	CHECK(verify_at(h, chain, 2, 0, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "missing policy: hub refused");
	expect_verdict(0, &w.hub, SVPN_RULE_POLICY, NULL);
	w.close_v1(h);
}

static void
case_not_openssl(void)
{
	struct cert *chain[] = { &w.hub, &w.ca };
	openvpn_plugin_handle_t h;

	log_clear();
	drain();
	h = open_main(w.policy, SSLAPI_MBEDTLS);
	CHECK(h != NULL, "loads with another SSL library");
	CHECK(log_has(PLOG_WARN, "does not use OpenSSL"), "and warns");
	/* The root is checked from the env; the hub cannot be. */
	CHECK(verify_at(h, chain, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "root pinned from the env digest");
	expect_verdict(1, &w.ca, NULL, NULL);
	CHECK(verify_at(h, chain, 2, 0, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "hub refused: no X509");
	expect_verdict(0, &w.hub, SVPN_RULE_CERT, "not available");
	w.close_v1(h);
	/* With OpenSSL but no current_cert at depth 0: rule cert. */
	log_clear();
	CHECK(verify_at(w.h, chain, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "depth 1 accepted");
	expect_verdict(1, &w.ca, NULL, NULL);
	CHECK(verify_at(w.h, chain, 2, 0, NULL, false) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "no current_cert: refused");
	expect_verdict(0, &w.hub, SVPN_RULE_CERT, "not available");
	drain();
}

static void
hook_env(struct env *e)
{
	env_add(e, "verb=3");
	env_add(e, "dev=tun0");
	env_add(e, "dev_type=tun");
	env_add(e, "ifconfig_local=" TUN_IP);
	env_add(e, "ifconfig_netmask=255.255.255.0");
	env_add(e, "trusted_ip=" HUB_IP);
	env_add(e, "trusted_port=%d", HUB_PORT);
	env_add(e, "untrusted_ip=" HUB_IP);
	env_add(e, "untrusted_port=%d", HUB_PORT);
	env_add(e, "common_name=hub1.support.example");
	env_add(e, "tls_digest_sha256_0=%s", w.hub.env_fp);
	env_add(e, "tls_digest_sha256_1=%s", w.ca.env_fp);
}

static void
case_hooks(void)
{
	const char *up_argv[] = { "plugin.so", "tun0", "1500", "0", TUN_IP,
	    "255.255.255.0", "init", NULL };
	const char *ip_argv[] = { "plugin.so", "[AF_INET]" HUB_IP " 1194",
	    NULL };
	const char *no_argv[] = { "plugin.so", NULL };
	struct env e = { .n = 0 };
	json_t *ev;

	drain();
	hook_env(&e);
	CHECK(call(w.h, OPENVPN_PLUGIN_IPCHANGE, ip_argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "IPCHANGE succeeds");
	if ((ev = next_event(SVPN_EV_IPCHANGE)) != NULL) {
		expect_str(ev, SVPN_EV_SERVER_IP, HUB_IP);
		expect_int(ev, SVPN_EV_SERVER_PORT, HUB_PORT);
		expect_str(ev, SVPN_EV_CN, "hub1.support.example");
		json_decref(ev);
	}
	CHECK(call(w.h, OPENVPN_PLUGIN_UP, up_argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "UP succeeds (no IPv6)");
	if ((ev = next_event(SVPN_EV_UP)) != NULL) {
		expect_str(ev, SVPN_EV_DEV, "tun0");
		expect_str(ev, SVPN_EV_LOCAL_IP, TUN_IP);
		expect_str(ev, SVPN_EV_LOCAL_IP6, NULL);
		expect_str(ev, SVPN_EV_NETMASK, "255.255.255.0");
		expect_str(ev, SVPN_EV_SERVER_IP, HUB_IP);
		expect_int(ev, SVPN_EV_SERVER_PORT, HUB_PORT);
		expect_str(ev, SVPN_EV_CN, "hub1.support.example");
		expect_str(ev, SVPN_EV_SHA256, w.hub.ev_fp);
		json_decref(ev);
	}
	env_add(&e, "ifconfig_ipv6_local=2001:db8::2");
	CHECK(call(w.h, OPENVPN_PLUGIN_UP, up_argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "UP succeeds (IPv6)");
	if ((ev = next_event(SVPN_EV_UP)) != NULL) {
		expect_str(ev, SVPN_EV_LOCAL_IP6, "2001:db8::2");
		json_decref(ev);
	}
	CHECK(call(w.h, OPENVPN_PLUGIN_ROUTE_UP, no_argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "ROUTE_UP succeeds");
	if ((ev = next_event(SVPN_EV_ROUTE_UP)) != NULL) {
		expect_str(ev, SVPN_EV_DEV, "tun0");
		expect_str(ev, SVPN_EV_LOCAL_IP, TUN_IP);
		expect_str(ev, SVPN_EV_SERVER_IP, HUB_IP);
		expect_int(ev, SVPN_EV_SERVER_PORT, HUB_PORT);
		json_decref(ev);
	}
	env_add(&e, "signal=sigusr1");
	CHECK(call(w.h, OPENVPN_PLUGIN_ROUTE_PREDOWN, up_argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "ROUTE_PREDOWN succeeds");
	if ((ev = next_event(SVPN_EV_ROUTE_PREDOWN)) != NULL) {
		expect_str(ev, SVPN_EV_DEV, "tun0");
		expect_str(ev, SVPN_EV_SIGNAL, "sigusr1");
		json_decref(ev);
	}
	CHECK(call(w.h, OPENVPN_PLUGIN_DOWN, up_argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "DOWN succeeds");
	if ((ev = next_event(SVPN_EV_DOWN)) != NULL) {
		expect_str(ev, SVPN_EV_DEV, "tun0");
		expect_str(ev, SVPN_EV_LOCAL_IP, TUN_IP);
		expect_str(ev, SVPN_EV_SIGNAL, "sigusr1");
		json_decref(ev);
	}
	env_free(&e);
	/* A hook openvpn gives with an empty env: fields are left out. */
	env_add(&e, "verb=3");
	CHECK(call(w.h, OPENVPN_PLUGIN_DOWN, no_argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "DOWN with no env succeeds");
	if ((ev = next_event(SVPN_EV_DOWN)) != NULL) {
		CHECK(json_object_size(ev) == 3, "only v, type, pid");
		json_decref(ev);
	}
	/* A type we did not ask for. */
	CHECK(call(w.h, OPENVPN_PLUGIN_LEARN_ADDRESS, no_argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "an unexpected type succeeds");
	env_free(&e);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
case_no_daemon(void)
{
	const char *argv[] = { "plugin.so", NULL };
	struct cert *chain[] = { &w.hub, &w.ca };
	struct env e = { .n = 0 };
	double t0, worst = 0, t;
	json_t *ev;
	int i;

	/* The controller goes away: nothing fails, nothing blocks. */
	close(w.rx);
	unlink(w.events);
	hook_env(&e);
	for (i = 0; i < 50; i++) {
		t0 = now_us();
		CHECK(call(w.h, OPENVPN_PLUGIN_UP, argv, &e, -1, NULL) ==
		    OPENVPN_PLUGIN_FUNC_SUCCESS, "UP without a daemon");
		CHECK(call(w.h, OPENVPN_PLUGIN_DOWN, argv, &e, -1, NULL) ==
		    OPENVPN_PLUGIN_FUNC_SUCCESS, "DOWN without a daemon");
		t = now_us() - t0;
		worst = t > worst ? t : worst;
	}
	CHECK(handshake(w.h, chain, 2) == OPENVPN_PLUGIN_FUNC_SUCCESS,
	    "handshake without a daemon");
	printf("     no daemon: worst UP+DOWN pair %.0f us\n", worst);
	/* It comes back: the plugin re-connects within a second or so. */
	bind_rx();
	usleep(1100 * 1000);
	CHECK(call(w.h, OPENVPN_PLUGIN_ROUTE_UP, argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "ROUTE_UP after the daemon is back");
	if ((ev = next_event(SVPN_EV_ROUTE_UP)) != NULL)
		json_decref(ev);
	/* A full queue: events are dropped, calls stay quick. */
	worst = 0;
	for (i = 0; i < 3000; i++) {
		t0 = now_us();
		CHECK(call(w.h, OPENVPN_PLUGIN_UP, argv, &e, -1, NULL) ==
		    OPENVPN_PLUGIN_FUNC_SUCCESS, "UP with a full queue");
		t = now_us() - t0;
		worst = t > worst ? t : worst;
	}
	printf("     full queue: worst UP %.0f us\n", worst);
	drain();
	env_free(&e);
}

/* As openvpn after --user nobody: renegotiations run unprivileged. */
static void
case_privilege_drop(void)
{
	struct cert *chain[] = { &w.hub, &w.ca };
	int status, i;
	pid_t child;
	json_t *ev;

	if (geteuid() != 0) {
		printf("     (not root: privilege-drop case skipped)\n");
		return;
	}
	drain();
	if ((child = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
		    setuid(65534) < 0)
			_exit(3);
		/* Consent 0644 in a 0711 dir (read-only, its lock held by
		 * the parent), the connected socket. */
		_exit(handshake(w.h, chain, 2) == OPENVPN_PLUGIN_FUNC_SUCCESS ?
		    0 : 1);
	}
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "as nobody: handshake accepted (status %d)", status);
	/* Both events came from the child, over the socket opened as root. */
	for (i = 0; i < 2; i++) {
		struct pollfd pfd = { .fd = w.rx, .events = POLLIN };
		char buf[SVPN_EVENT_MAX + 1];
		ssize_t n = -1;

		if (poll(&pfd, 1, 1000) > 0)
			n = recv(w.rx, buf, sizeof(buf), MSG_DONTWAIT);
		ev = n > 0 ? json_loadb(buf, (size_t)n, 0, NULL) : NULL;
		CHECK(ev != NULL && json_integer_value(json_object_get(ev,
		    "pid")) == child && strcmp(json_string_value(
		    json_object_get(ev, "result")), "accepted") == 0,
		    "as nobody: accepted event %d sent", i);
		json_decref(ev);
	}
	drain();
}

/* env and argv for TLS_VERIFY at depth of chain, built once. */
static void
verify_env(struct env *e, struct cert *const *chain, int n, int depth)
{
	int d;

	env_add(e, "verb=3");
	env_add(e, "untrusted_ip=" HUB_IP);
	env_add(e, "untrusted_port=%d", HUB_PORT);
	for (d = depth; d < n; d++) {
		env_add(e, "tls_id_%d=O=Support Test, CN=%s", d, chain[d]->cn);
		env_add(e, "tls_digest_sha256_%d=%s", d, chain[d]->env_fp);
		env_add(e, "X509_%d_CN=%s", d, chain[d]->cn);
	}
	if (depth == 0)
		env_add(e, "common_name=%s", chain[0]->cn);
}

/* Times only the plugin's calls: env and argv are made beforehand. */
static void
bench(long n)
{
	struct cert *chain[] = { &w.hub, &w.ca };
	struct env e1 = { .n = 0 }, e0 = { .n = 0 };
	const char *a1[] = { "plugin.so", "1", "CN=Support Root CA", NULL };
	const char *a0[] = { "plugin.so", "0", "CN=hub1.support.example",
	    NULL };
	struct openvpn_plugin_args_func_in in1 = {
		.type = OPENVPN_PLUGIN_TLS_VERIFY, .argv = a1, .envp = e1.v,
		.handle = w.h, .current_cert_depth = 1,
		.current_cert = w.ca.x509,
	};
	struct openvpn_plugin_args_func_in in0 = {
		.type = OPENVPN_PLUGIN_TLS_VERIFY, .argv = a0, .envp = e0.v,
		.handle = w.h, .current_cert_depth = 0,
		.current_cert = w.hub.x509,
	};
	struct openvpn_plugin_args_func_return ret = { .return_list = NULL };
	double t0, d0 = 0, d1 = 0, worst = 0, t;
	long i;
	int rc;

	verbose = false;
	verify_env(&e1, chain, 2, 1);
	verify_env(&e0, chain, 2, 0);
	drain();
	for (i = 0; i < n; i++) {
		t0 = now_us();
		rc = w.func_v3(OPENVPN_PLUGINv3_STRUCTVER, &in1, &ret);
		d1 += now_us() - t0;
		t0 = now_us();
		rc |= w.func_v3(OPENVPN_PLUGINv3_STRUCTVER, &in0, &ret);
		t = now_us() - t0;
		d0 += t;
		worst = t > worst ? t : worst;
		if (rc != OPENVPN_PLUGIN_FUNC_SUCCESS)
			die("bench: handshake refused");
		drain();
	}
	printf("bench: TLS_VERIFY depth 0: %.1f us per call (worst %.0f us); "
	    "depth 1: %.1f us per call; %ld handshakes\n", d0 / (double)n,
	    worst, d1 / (double)n, n);
	env_free(&e1);
	env_free(&e0);
}

/* ---- hub mode: the vendor's openvpn server ---- */

#define HUB_APPL_NAMES	"\"appliance-*\""
#define HUB_STAFF_NAMES	"\"staff-*\", \"root-admin\""

/*
 * The hub policy: appliances pinned by ca (as 64 hex digits), staff by
 * sca (as openssl prints it) and, with shared_root, by ca too.
 */
static void
write_hub_policy(const char *appl_names, const char *staff_names,
    bool shared_root)
{
	char text[2048], extra[160] = "";

	if (shared_root)
		snprintf(extra, sizeof(extra), ", \"%s\"", w.ca.env_fp);
	if ((size_t)snprintf(text, sizeof(text), "{\"mode\": \"hub\",\n"
	    " \"appliances\": {\"ca_sha256\": [\"%s\"], \"names\": [%s]},\n"
	    " \"staff\": {\"ca_sha256\": [\"sha256 Fingerprint=%s\"%s], "
	    "\"names\": [%s]}}\n", w.ca.ev_fp + 7, appl_names, w.sca.env_fp,
	    extra, staff_names) >= sizeof(text))
		die("hub policy too long");
	write_file(w.hubpolicy, text, 0644);
}

static openvpn_plugin_handle_t
open_hub(const char *policy)
{
	char ev[160], po[160];
	const char *args[] = { "mode=hub", ev, po, NULL };

	snprintf(ev, sizeof(ev), "events=%s", w.events);
	snprintf(po, sizeof(po), "policy=%s", policy);
	return open_plugin(args, SSLAPI_OPENSSL, NULL);
}

/* Sets the address the next TLS_VERIFY calls come from. */
static void
peer_from(const char *ip, int port)
{
	w.peer_ip = ip;
	w.peer_port = port;
}

/* Checks a hub tls_verify event and the log line for its verdict. */
static void
expect_hub_verdict(int depth, const struct cert *c, const char *rule,
    const char *reason_part, const char *role)
{
	char line[600];
	json_t *ev = next_event(SVPN_EV_TLS_VERIFY);
	const char *reason;

	if (ev == NULL)
		return;
	expect_int(ev, SVPN_EV_DEPTH, depth);
	expect_str(ev, SVPN_EV_RESULT, rule ? SVPN_RESULT_REFUSED :
	    SVPN_RESULT_ACCEPTED);
	expect_str(ev, SVPN_EV_RULE, rule);
	expect_str(ev, SVPN_EV_SHA256, c->ev_fp);
	expect_str(ev, SVPN_EV_REAL_IP, w.peer_ip);
	expect_int(ev, SVPN_EV_REAL_PORT, w.peer_port);
	expect_str(ev, SVPN_EV_SERVER_IP, NULL);
	expect_str(ev, SVPN_EV_ROLE, role);
	reason = json_string_value(json_object_get(ev, SVPN_EV_REASON));
	CHECK(reason != NULL, "the event has a reason");
	if (reason_part != NULL)
		CHECK(reason != NULL && strstr(reason, reason_part) != NULL,
		    "reason '%s' says '%s'", reason ? reason : "", reason_part);
	if (rule != NULL) {
		snprintf(line, sizeof(line), "refused client certificate '%s' "
		    "(depth %d): %s: ", c->cn, depth, rule);
		CHECK(log_has(PLOG_ERR, line), "log says \"%s...\"", line);
	} else if (depth == 0) {
		snprintf(line, sizeof(line), "accepted %s certificate '%s' "
		    "(depth 0, %s)", role, c->cn, c->ev_fp);
		CHECK(log_has(PLOG_NOTE, line), "log says \"%s\"", line);
	}
	json_decref(ev);
}

/* A peer's handshake: root at depth 1 accepted, then the leaf's verdict. */
static void
hub_leaf(openvpn_plugin_handle_t h, struct cert *leaf, struct cert *root,
    const char *rule, const char *reason, const char *role)
{
	struct cert *chain[] = { leaf, root };

	log_clear();
	drain();
	CHECK(verify_at(h, chain, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "hub: depth 1 '%s' accepted",
	    root->cn);
	expect_hub_verdict(1, root, NULL, "pinned", NULL);
	CHECK(verify_at(h, chain, 2, 0, NULL, true) == (rule ?
	    OPENVPN_PLUGIN_FUNC_ERROR : OPENVPN_PLUGIN_FUNC_SUCCESS),
	    "hub: depth 0 '%s' %s %s", leaf->cn, rule ? "refused:" :
	    "accepted as", rule ? rule : role);
	expect_hub_verdict(0, leaf, rule, reason, role);
}

/* The env openvpn keeps for a connected peer (CLIENT_CONNECT_V2 on). */
static void
peer_env(struct env *e, const struct cert *leaf, const struct cert *root,
    const char *ip, int port, const char *tun)
{
	env_add(e, "verb=3");
	env_add(e, "common_name=%s", leaf->cn);
	env_add(e, "trusted_ip=%s", ip);
	env_add(e, "trusted_port=%d", port);
	env_add(e, "untrusted_ip=%s", ip);
	env_add(e, "untrusted_port=%d", port);
	env_add(e, "ifconfig_pool_remote_ip=%s", tun);
	env_add(e, "ifconfig_pool_netmask=255.255.255.0");
	env_add(e, "tls_id_0=O=Support Test, CN=%s", leaf->cn);
	env_add(e, "tls_digest_sha256_0=%s", leaf->env_fp);
	env_add(e, "tls_id_1=O=Support Test, CN=%s", root->cn);
	env_add(e, "tls_digest_sha256_1=%s", root->env_fp);
	env_add(e, "IV_VER=2.6.14");
	env_add(e, "time_unix=1795745077");
}

/* LEARN_ADDRESS as openvpn calls it: argv "op addr [cn]". */
static int
learn(openvpn_plugin_handle_t h, const char *op, const char *addr,
    const char *cn, struct env *e)
{
	const char *argv[] = { "plugin.so", op, addr, cn, NULL };

	return call(h, OPENVPN_PLUGIN_LEARN_ADDRESS, argv, e, -1, NULL);
}

/* The learn_address event: exactly these fields (NULL: absent). */
static void
expect_learn(const char *op, const char *addr, const char *cn,
    const char *role)
{
	json_t *ev = next_event(SVPN_EV_LEARN_ADDRESS);

	if (ev == NULL)
		return;
	expect_str(ev, SVPN_EV_OP, op);
	expect_str(ev, SVPN_EV_ADDR, addr);
	expect_str(ev, SVPN_EV_CN, cn);
	expect_str(ev, SVPN_EV_ROLE, role);
	CHECK(json_object_size(ev) == (size_t)(3 + (op != NULL) +
	    (addr != NULL) + (cn != NULL) + (role != NULL)),
	    "learn_address has no other fields");
	json_decref(ev);
}

static void
case_hub_args(void)
{
	char ev[160], co[160], po[160];
	const char *with_consent[] = { "mode=hub", ev, co, po, NULL };
	const char *no_policy[] = { "mode=hub", ev, NULL };
	const char *bad_mode[] = { "mode=server", ev, po, NULL };
	int rc;

	snprintf(ev, sizeof(ev), "events=%s", w.events);
	snprintf(co, sizeof(co), "consent=%s", w.consent);
	snprintf(po, sizeof(po), "policy=%s", w.hubpolicy);
	log_clear();
	CHECK(open_plugin(with_consent, SSLAPI_OPENSSL, &rc) == NULL &&
	    rc == OPENVPN_PLUGIN_FUNC_ERROR, "mode=hub with consent=: open "
	    "fails");
	CHECK(log_has(PLOG_ERR, "consent= is refused in mode=hub"),
	    "the message names consent=");
	log_clear();
	CHECK(open_plugin(no_policy, SSLAPI_OPENSSL, &rc) == NULL &&
	    rc == OPENVPN_PLUGIN_FUNC_ERROR, "mode=hub without policy=: open "
	    "fails");
	CHECK(log_has(PLOG_ERR, "missing policy=PATH"),
	    "the message names policy=");
	CHECK(!log_has(0, "consent=PATH;"), "and does not ask for consent=");
	log_clear();
	CHECK(open_plugin(bad_mode, SSLAPI_OPENSSL, &rc) == NULL &&
	    rc == OPENVPN_PLUGIN_FUNC_ERROR, "mode=server: open fails");
	CHECK(log_has(PLOG_ERR, "unknown mode 'server'"), "and says so");
}

static void
case_hub_verify(openvpn_plugin_handle_t h)
{
	struct cert *foreign[] = { &w.fappl, &w.fca };
	struct cert *chain[] = { &w.appl, &w.ca };
	int round;

	peer_from(APPL_IP, APPL_PORT);
	/* The first handshake and a renegotiation. */
	for (round = 0; round < 2; round++)
		hub_leaf(h, &w.appl, &w.ca, NULL, "role appliance",
		    SVPN_ROLE_APPLIANCE);
	peer_from(STAFF_IP, STAFF_PORT);
	hub_leaf(h, &w.staff, &w.sca, NULL, "role staff", SVPN_ROLE_STAFF);

	peer_from(APPL_IP, APPL_PORT);
	hub_leaf(h, &w.printer, &w.ca, SVPN_RULE_ROLE, "no class", NULL);
	hub_leaf(h, &w.staffwrong, &w.ca, SVPN_RULE_ROLE, "no class", NULL);
	hub_leaf(h, &w.applsrv, &w.ca, SVPN_RULE_CLIENT_EKU,
	    "lacks clientAuth", NULL);
	hub_leaf(h, &w.applnoeku, &w.ca, SVPN_RULE_CLIENT_EKU,
	    "no extended key usage (clientAuth is required)", NULL);
	/* A support server's own certificate posing as a client. */
	hub_leaf(h, &w.hub, &w.ca, SVPN_RULE_CLIENT_EKU, "lacks clientAuth",
	    NULL);
	hub_leaf(h, &w.applnul, &w.ca, SVPN_RULE_ROLE, "NUL", NULL);
	hub_leaf(h, &w.appllong, &w.ca, SVPN_RULE_ROLE, "longer than 64",
	    NULL);

	/* A root neither class pins, with an appliance's name. */
	log_clear();
	drain();
	CHECK(verify_at(h, foreign, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "hub: foreign root refused");
	expect_hub_verdict(1, &w.fca, SVPN_RULE_CA_PIN,
	    "not one of the pinned", NULL);

	/* The env's root is pinned (staff) but not the one checked. */
	log_clear();
	CHECK(verify_at(h, chain, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "hub: depth 1 accepted");
	expect_hub_verdict(1, &w.ca, NULL, NULL, NULL);
	CHECK(verify_at(h, chain, 2, 0, w.sca.env_fp, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "hub: env root not the checked one");
	expect_hub_verdict(0, &w.appl, SVPN_RULE_CA_PIN,
	    "not the root checked in this handshake", NULL);

	/* One root for both classes, and a name both patterns take. */
	write_hub_policy(HUB_APPL_NAMES ", \"shared-*\"", HUB_STAFF_NAMES
	    ", \"shared-*\"", true);
	hub_leaf(h, &w.shared, &w.ca, SVPN_RULE_ROLE, "match both", NULL);
	CHECK(log_has(PLOG_NOTE, "policy: reloaded"), "the reload is logged");
	/* The appliances' root now pins staff too: staff-mallory is staff. */
	hub_leaf(h, &w.staffwrong, &w.ca, NULL, "role staff",
	    SVPN_ROLE_STAFF);
	hub_leaf(h, &w.appl, &w.ca, NULL, NULL, SVPN_ROLE_APPLIANCE);
	write_hub_policy(HUB_APPL_NAMES, HUB_STAFF_NAMES, false);
	hub_leaf(h, &w.staffwrong, &w.ca, SVPN_RULE_ROLE, NULL, NULL);
	drain();
}

static void
case_hub_connect(openvpn_plugin_handle_t h)
{
	const char *argv[] = { "plugin.so", NULL };
	struct env e = { .n = 0 };
	json_t *ev;

	drain();
	peer_env(&e, &w.appl, &w.ca, APPL_IP, APPL_PORT, APPL_TUN);
	CHECK(call(h, OPENVPN_PLUGIN_CLIENT_CONNECT_V2, argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "CLIENT_CONNECT_V2 succeeds");
	if ((ev = next_event(SVPN_EV_CLIENT_CONNECT)) != NULL) {
		expect_str(ev, SVPN_EV_CN, "appliance-0042");
		expect_str(ev, SVPN_EV_ROLE, SVPN_ROLE_APPLIANCE);
		expect_str(ev, SVPN_EV_REAL_IP, APPL_IP);
		expect_int(ev, SVPN_EV_REAL_PORT, APPL_PORT);
		expect_str(ev, SVPN_EV_TUNNEL_IP, APPL_TUN);
		expect_str(ev, SVPN_EV_SHA256, w.appl.ev_fp);
		CHECK(json_object_size(ev) == 9, "client_connect: v, type, "
		    "pid and six fields");
		json_decref(ev);
	}
	env_free(&e);
	peer_env(&e, &w.staff, &w.sca, STAFF_IP, STAFF_PORT, STAFF_TUN);
	CHECK(call(h, OPENVPN_PLUGIN_CLIENT_CONNECT_V2, argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "CLIENT_CONNECT_V2 (staff) succeeds");
	if ((ev = next_event(SVPN_EV_CLIENT_CONNECT)) != NULL) {
		expect_str(ev, SVPN_EV_CN, "staff-alice");
		expect_str(ev, SVPN_EV_ROLE, SVPN_ROLE_STAFF);
		expect_str(ev, SVPN_EV_TUNNEL_IP, STAFF_TUN);
		json_decref(ev);
	}
	env_free(&e);
	/* No role: connected all the same, said so, no role field. */
	log_clear();
	peer_env(&e, &w.printer, &w.ca, APPL_IP, APPL_PORT, "203.0.113.11");
	CHECK(call(h, OPENVPN_PLUGIN_CLIENT_CONNECT_V2, argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "CLIENT_CONNECT_V2 without a role "
	    "succeeds");
	if ((ev = next_event(SVPN_EV_CLIENT_CONNECT)) != NULL) {
		expect_str(ev, SVPN_EV_CN, "printer-7");
		expect_str(ev, SVPN_EV_ROLE, NULL);
		json_decref(ev);
	}
	CHECK(log_has(PLOG_WARN, "client 'printer-7' connected without a "
	    "role"), "and warns");
	env_free(&e);
}

static void
case_hub_learn(openvpn_plugin_handle_t h)
{
	struct env e = { .n = 0 }, empty = { .n = 0 };
	const char *argv_nocn[] = { "plugin.so", "add", APPL_TUN, NULL };

	drain();
	peer_env(&e, &w.appl, &w.ca, APPL_IP, APPL_PORT, APPL_TUN);
	CHECK(learn(h, "add", APPL_TUN, "appliance-0042", &e) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "LEARN_ADDRESS add (appliance)");
	expect_learn("add", APPL_TUN, "appliance-0042", SVPN_ROLE_APPLIANCE);
	CHECK(learn(h, "update", APPL_TUN, "appliance-0042", &e) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "LEARN_ADDRESS update (appliance)");
	expect_learn("update", APPL_TUN, "appliance-0042",
	    SVPN_ROLE_APPLIANCE);
	/* The cn from the env when argv has none. */
	CHECK(call(h, OPENVPN_PLUGIN_LEARN_ADDRESS, argv_nocn, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "LEARN_ADDRESS add without a cn");
	expect_learn("add", APPL_TUN, "appliance-0042", SVPN_ROLE_APPLIANCE);
	env_free(&e);

	peer_env(&e, &w.staff, &w.sca, STAFF_IP, STAFF_PORT, STAFF_TUN);
	CHECK(learn(h, "add", STAFF_TUN, "staff-alice", &e) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "LEARN_ADDRESS add (staff)");
	expect_learn("add", STAFF_TUN, "staff-alice", SVPN_ROLE_STAFF);
	/* An IPv6 address and an iroute subnet, as openvpn prints them. */
	CHECK(learn(h, "add", "2001:db8::10", "staff-alice", &e) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "LEARN_ADDRESS add IPv6");
	expect_learn("add", "2001:db8::10", "staff-alice", SVPN_ROLE_STAFF);
	env_free(&e);

	/* No role: not routed, and said so. */
	peer_env(&e, &w.printer, &w.ca, APPL_IP, APPL_PORT, "203.0.113.11");
	log_clear();
	CHECK(learn(h, "add", "203.0.113.11", "printer-7", &e) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "LEARN_ADDRESS add without a role "
	    "fails");
	expect_learn("add", "203.0.113.11", "printer-7", NULL);
	CHECK(log_has(PLOG_ERR, "learn-address: refusing to route "
	    "203.0.113.11 to 'printer-7': no role: no class"), "and says so");
	CHECK(learn(h, "update", "203.0.113.11", "printer-7", &e) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "LEARN_ADDRESS update without a role "
	    "fails");
	expect_learn("update", "203.0.113.11", "printer-7", NULL);
	env_free(&e);
	/* A staff name whose chain ends in the appliances' root. */
	peer_env(&e, &w.staffwrong, &w.ca, APPL_IP, APPL_PORT,
	    "203.0.113.12");
	CHECK(learn(h, "add", "203.0.113.12", "staff-mallory", &e) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "LEARN_ADDRESS add: staff name under "
	    "the appliances' root fails");
	expect_learn("add", "203.0.113.12", "staff-mallory", NULL);
	/*
	 * argv's cn is not the env's (openvpn keeps them equal): the env's
	 * chain is not that cn's, so no role even for an appliance's name.
	 */
	log_clear();
	CHECK(learn(h, "add", "203.0.113.12", "appliance-0042", &e) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "LEARN_ADDRESS with a cn not the "
	    "env's fails");
	expect_learn("add", "203.0.113.12", "appliance-0042", NULL);
	CHECK(log_has(PLOG_ERR, "the CN differs from the one in openvpn's "
	    "env"), "and says why");
	env_free(&e);
	/* A chain openvpn never verified: no digests in the env. */
	env_add(&e, "common_name=appliance-0042");
	CHECK(learn(h, "add", APPL_TUN, "appliance-0042", &e) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "LEARN_ADDRESS add with no chain in "
	    "the env fails");
	expect_learn("add", APPL_TUN, "appliance-0042", NULL);
	env_free(&e);

	/* delete: openvpn gives no cn and an empty env; always succeeds. */
	CHECK(learn(h, "delete", APPL_TUN, NULL, &empty) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "LEARN_ADDRESS delete succeeds");
	expect_learn("delete", APPL_TUN, NULL, NULL);
	CHECK(learn(h, "delete", "203.0.113.11", "printer-7", &empty) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "LEARN_ADDRESS delete of a peer "
	    "without a role succeeds");
	expect_learn("delete", "203.0.113.11", NULL, NULL);
	CHECK(learn(h, "delete", NULL, NULL, &empty) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "LEARN_ADDRESS delete without an "
	    "address succeeds");
	expect_learn("delete", NULL, NULL, NULL);
	/* An op openvpn does not have: as strict as add. */
	CHECK(learn(h, "frobnicate", APPL_TUN, "printer-7", &empty) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "LEARN_ADDRESS unknown op without a "
	    "role fails");
	expect_learn("frobnicate", APPL_TUN, "printer-7", NULL);
	drain();
}

static void
case_hub_disconnect(openvpn_plugin_handle_t h)
{
	const char *argv[] = { "plugin.so", NULL };
	struct env e = { .n = 0 };
	json_t *ev;

	drain();
	peer_env(&e, &w.appl, &w.ca, APPL_IP, APPL_PORT, APPL_TUN);
	env_add(&e, "bytes_received=5000000000");
	env_add(&e, "bytes_sent=1234");
	env_add(&e, "time_duration=3600");
	CHECK(call(h, OPENVPN_PLUGIN_CLIENT_DISCONNECT, argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "CLIENT_DISCONNECT succeeds");
	if ((ev = next_event(SVPN_EV_CLIENT_DISCONNECT)) != NULL) {
		expect_str(ev, SVPN_EV_CN, "appliance-0042");
		expect_str(ev, SVPN_EV_ROLE, SVPN_ROLE_APPLIANCE);
		expect_str(ev, SVPN_EV_REAL_IP, APPL_IP);
		expect_str(ev, SVPN_EV_TUNNEL_IP, APPL_TUN);
		expect_int(ev, SVPN_EV_BYTES_IN, 5000000000LL);
		expect_int(ev, SVPN_EV_BYTES_OUT, 1234);
		expect_int(ev, SVPN_EV_DURATION_S, 3600);
		CHECK(json_object_size(ev) == 10, "client_disconnect: v, type, "
		    "pid and seven fields");
		json_decref(ev);
	}
	env_free(&e);
	peer_env(&e, &w.printer, &w.ca, APPL_IP, APPL_PORT, "203.0.113.11");
	CHECK(call(h, OPENVPN_PLUGIN_CLIENT_DISCONNECT, argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "CLIENT_DISCONNECT without a role "
	    "succeeds");
	if ((ev = next_event(SVPN_EV_CLIENT_DISCONNECT)) != NULL) {
		expect_str(ev, SVPN_EV_ROLE, NULL);
		expect_str(ev, SVPN_EV_BYTES_IN, NULL);
		json_decref(ev);
	}
	env_free(&e);
	/* A hook hub mode did not ask for: ignored, no event. */
	env_add(&e, "verb=3");
	CHECK(call(h, OPENVPN_PLUGIN_UP, argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "hub: UP is ignored");
	env_free(&e);
}

/* A broken, then missing, policy: every role is gone; delete still works. */
static void
case_hub_bad_policy(openvpn_plugin_handle_t h)
{
	const char *argv[] = { "plugin.so", NULL };
	struct cert *chain[] = { &w.appl, &w.ca };
	struct env e = { .n = 0 }, empty = { .n = 0 };
	char path[160];
	openvpn_plugin_handle_t h2;
	json_t *ev;

	drain();
	log_clear();
	/* A client policy where the hub's should be. */
	write_file(w.hubpolicy, "{\"server_names\": [\"hub1.example\"], "
	    "\"ca_sha256\": [\"" "00000000000000000000000000000000"
	    "00000000000000000000000000000000\"]}", 0644);
	peer_from(APPL_IP, APPL_PORT);
	CHECK(verify_at(h, chain, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "hub: invalid policy: root refused");
	expect_hub_verdict(1, &w.ca, SVPN_RULE_POLICY,
	    "unknown key 'server_names'", NULL);
	CHECK(verify_at(h, chain, 2, 0, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "hub: invalid policy: leaf refused");
	expect_hub_verdict(0, &w.appl, SVPN_RULE_POLICY, NULL, NULL);
	CHECK(log_has(PLOG_ERR, "every client certificate will be refused"),
	    "an invalid policy is logged as an error");
	peer_env(&e, &w.appl, &w.ca, APPL_IP, APPL_PORT, APPL_TUN);
	log_clear();
	CHECK(learn(h, "add", APPL_TUN, "appliance-0042", &e) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "invalid policy: add refused");
	expect_learn("add", APPL_TUN, "appliance-0042", NULL);
	CHECK(log_has(PLOG_ERR, "no role: the policy is unusable"),
	    "and says why");
	CHECK(learn(h, "delete", APPL_TUN, NULL, &empty) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "invalid policy: delete succeeds");
	expect_learn("delete", APPL_TUN, NULL, NULL);
	CHECK(call(h, OPENVPN_PLUGIN_CLIENT_CONNECT_V2, argv, &e, -1, NULL) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "invalid policy: connect succeeds");
	if ((ev = next_event(SVPN_EV_CLIENT_CONNECT)) != NULL) {
		expect_str(ev, SVPN_EV_ROLE, NULL);
		json_decref(ev);
	}
	write_hub_policy(HUB_APPL_NAMES, HUB_STAFF_NAMES, false);
	CHECK(learn(h, "add", APPL_TUN, "appliance-0042", &e) ==
	    OPENVPN_PLUGIN_FUNC_SUCCESS, "policy restored: add succeeds");
	expect_learn("add", APPL_TUN, "appliance-0042", SVPN_ROLE_APPLIANCE);

	/* Missing when openvpn starts: loads, refuses everything. */
	snprintf(path, sizeof(path), "%s/no-such-hub-policy.json", w.dir);
	log_clear();
	h2 = open_hub(path);
	CHECK(h2 != NULL, "hub: a missing policy still loads");
	CHECK(log_has(PLOG_ERR, "every client certificate will be refused"),
	    "and says so");
	CHECK(verify_at(h2, chain, 2, 1, NULL, true) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "hub: missing policy: root refused");
	expect_hub_verdict(1, &w.ca, SVPN_RULE_POLICY, "no such file", NULL);
	CHECK(learn(h2, "add", APPL_TUN, "appliance-0042", &e) ==
	    OPENVPN_PLUGIN_FUNC_ERROR, "hub: missing policy: add refused");
	expect_learn("add", APPL_TUN, "appliance-0042", NULL);
	env_free(&e);
	w.close_v1(h2);
	drain();
}

static void
case_hub(void)
{
	openvpn_plugin_handle_t h;

	w.hub_keys = true;
	write_hub_policy(HUB_APPL_NAMES, HUB_STAFF_NAMES, false);
	case_hub_args();
	log_clear();
	h = open_hub(w.hubpolicy);
	CHECK(h != NULL, "mode=hub loads");
	if (h == NULL)
		return;
	CHECK(log_has(PLOG_NOTE, "mode=hub: policy ") &&
	    log_has(PLOG_NOTE, "appliances: 1 names, 1 pinned roots; "
	    "staff: 2 names, 1 pinned roots"), "open logs the hub policy");
	case_hub_verify(h);
	case_hub_connect(h);
	case_hub_learn(h);
	case_hub_disconnect(h);
	case_hub_bad_policy(h);
	w.close_v1(h);
	peer_from(HUB_IP, HUB_PORT);
	w.hub_keys = false;
}

/* Hub mode: N appliance handshakes and N LEARN_ADDRESS adds, timed. */
static void
bench_hub(long n)
{
	struct cert *chain[] = { &w.appl, &w.ca };
	struct env e1 = { .n = 0 }, e0 = { .n = 0 }, el = { .n = 0 };
	const char *a1[] = { "plugin.so", "1", "CN=Support Root CA", NULL };
	const char *a0[] = { "plugin.so", "0", "CN=appliance-0042", NULL };
	const char *al[] = { "plugin.so", "add", APPL_TUN, "appliance-0042",
	    NULL };
	struct openvpn_plugin_args_func_in in1 = {
		.type = OPENVPN_PLUGIN_TLS_VERIFY, .argv = a1, .envp = e1.v,
		.current_cert_depth = 1, .current_cert = w.ca.x509,
	};
	struct openvpn_plugin_args_func_in in0 = {
		.type = OPENVPN_PLUGIN_TLS_VERIFY, .argv = a0, .envp = e0.v,
		.current_cert_depth = 0, .current_cert = w.appl.x509,
	};
	struct openvpn_plugin_args_func_in inl = {
		.type = OPENVPN_PLUGIN_LEARN_ADDRESS, .argv = al, .envp = el.v,
		.current_cert_depth = -1,
	};
	struct openvpn_plugin_args_func_return ret = { .return_list = NULL };
	double t0, d0 = 0, d1 = 0, dl = 0, worst = 0, t;
	openvpn_plugin_handle_t h;
	long i;
	int rc;

	write_hub_policy(HUB_APPL_NAMES, HUB_STAFF_NAMES, false);
	if ((h = open_hub(w.hubpolicy)) == NULL)
		die("bench: mode=hub does not load");
	in1.handle = in0.handle = inl.handle = h;
	verify_env(&e1, chain, 2, 1);
	verify_env(&e0, chain, 2, 0);
	peer_env(&el, &w.appl, &w.ca, APPL_IP, APPL_PORT, APPL_TUN);
	drain();
	for (i = 0; i < n; i++) {
		t0 = now_us();
		rc = w.func_v3(OPENVPN_PLUGINv3_STRUCTVER, &in1, &ret);
		d1 += now_us() - t0;
		t0 = now_us();
		rc |= w.func_v3(OPENVPN_PLUGINv3_STRUCTVER, &in0, &ret);
		t = now_us() - t0;
		d0 += t;
		worst = t > worst ? t : worst;
		t0 = now_us();
		rc |= w.func_v3(OPENVPN_PLUGINv3_STRUCTVER, &inl, &ret);
		dl += now_us() - t0;
		if (rc != OPENVPN_PLUGIN_FUNC_SUCCESS)
			die("bench: hub refused the appliance");
		drain();
	}
	printf("bench: hub TLS_VERIFY depth 0: %.1f us per call (worst %.0f "
	    "us); depth 1: %.1f us per call; LEARN_ADDRESS add: %.1f us per "
	    "call; %ld connects\n", d0 / (double)n, worst, d1 / (double)n,
	    dl / (double)n, n);
	w.close_v1(h);
	env_free(&e1);
	env_free(&e0);
	env_free(&el);
}

static void
load(const char *so)
{
	if ((w.dl = dlopen(so, RTLD_NOW | RTLD_LOCAL)) == NULL)
		die("dlopen %s: %s", so, dlerror());
	*(void **)&w.open_v3 = dlsym(w.dl, "openvpn_plugin_open_v3");
	*(void **)&w.func_v3 = dlsym(w.dl, "openvpn_plugin_func_v3");
	*(void **)&w.close_v1 = dlsym(w.dl, "openvpn_plugin_close_v1");
	*(void **)&w.min_version = dlsym(w.dl,
	    "openvpn_plugin_min_version_required_v1");
	if (!w.open_v3 || !w.func_v3 || !w.close_v1 || !w.min_version)
		die("%s lacks an entry point", so);
	CHECK(dlsym(w.dl, "policy_parse") == NULL &&
	    dlsym(w.dl, "verify_tls") == NULL &&
	    dlsym(w.dl, "event_sender_send") == NULL,
	    "internal functions are not exported");
}

int
main(int argc, char **argv)
{
	const char *so = NULL;
	long bench_n = 0;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = true;
		else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc)
			bench_n = strtol(argv[++i], NULL, 10);
		else if (so == NULL && argv[i][0] != '-')
			so = argv[i];
		else
			die("usage: plugin_driver PLUGIN.so [-v] [--bench N]");
	}
	if (so == NULL)
		die("usage: plugin_driver PLUGIN.so [-v] [--bench N]");
	/* A call that blocks would hang the run: fail it instead. */
	alarm(60);
	signal(SIGPIPE, SIG_IGN);
	setup_world();
	load(so);

	CHECK(w.min_version() == 3, "min_version_required is 3");
	log_clear();
	w.h = open_main(w.policy, SSLAPI_OPENSSL);
	if (w.h == NULL)
		die("the plugin does not load");
	CHECK(log_has(PLOG_NOTE, "pinned roots"), "open logs the policy");

	case_bad_args();
	case_accept();
	case_refusals();
	case_consent();
	case_policy_changes();
	case_missing_policy_at_open();
	case_not_openssl();
	case_hooks();
	case_privilege_drop();
	case_hub();
	case_no_daemon();
	if (bench_n > 0) {
		alarm(0);
		bench(bench_n);
		bench_hub(bench_n);
	}
	CHECK(!plog.bad_name, "every log line names the plugin 'supportvpn'");

	w.close_v1(w.h);
	w.close_v1(NULL);
	dlclose(w.dl);
	teardown_world();
	printf("plugin_driver: %d checks, %d failed\n", checks, failures);
	return failures == 0 ? 0 : 1;
}
