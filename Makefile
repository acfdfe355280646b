# SPDX-License-Identifier: MIT
# supportvpn: one top-level GNU Makefile. See README.md for the targets.

CC		?= cc
PKG_CONFIG	?= pkg-config
PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
LIBDIR		?= $(PREFIX)/lib
PLUGINDIR	?= $(LIBDIR)/supportvpn
SYSCONFDIR	?= $(PREFIX)/etc
DATADIR		?= $(PREFIX)/share
WWWDIR		?= $(DATADIR)/supportvpn/www
MANDIR		?= $(DATADIR)/man
UNITDIR		?= $(LIBDIR)/systemd/system
TMPFILESDIR	?= $(LIBDIR)/tmpfiles.d
BASHCOMPDIR	?= $(DATADIR)/bash-completion/completions
LOGROTATEDIR	?= $(SYSCONFDIR)/logrotate.d
DESTDIR		?=
BUILD		?= build
PYTEST		?= /usr/bin/python3 -m pytest

CFLAGS		?= -O2 -g -fstack-protector-strong
CPPFLAGS	?= -D_FORTIFY_SOURCE=2
LDFLAGS		?=
# Linker flags for the plugin alone (the sanitizer build's -z nodelete).
PLUGIN_LDFLAGS	?=

WARN := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
	-Wpointer-arith -Wcast-qual -Wformat=2 -Wsign-compare -Wundef \
	-Wno-unused-parameter -MMD -MP
ifeq ($(WERROR),1)
WARN += -Werror
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Debian packages the build, the tests and the demo need (see README).
DEB_PACKAGES := build-essential pkg-config libuv1-dev libjansson-dev \
	libcmocka-dev libssl-dev libcurl4-openssl-dev openvpn openssl \
	python3 python3-pytest python3-pytest-xdist dnsmasq-base iproute2 procps socat iputils-ping \
	curl clang libclang-rt-14-dev libcrypt-dev libnftables-dev nftables \
	mandoc man-db libh2o-dev fiu-utils libfiu0

UV_CFLAGS	= $(shell $(PKG_CONFIG) --cflags libuv jansson libcurl 2>/dev/null)
# libh2o: the HTTP interface (controller/http.c); its headers are in the
# default include path, so only its library is named.
UV_LIBS		= $(shell $(PKG_CONFIG) --libs libuv jansson libcurl libxcrypt libh2o 2>/dev/null)
# The clock check: a clock before this commit is certainly wrong.
BUILD_EPOCH	:= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
JANSSON_CFLAGS	= $(shell $(PKG_CONFIG) --cflags jansson 2>/dev/null)
JANSSON_LIBS	= $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null)
CMOCKA_LIBS	= $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
# The hub daemon: libuv, jansson and libnftables; its CLI only jansson.
HUB_PKGS	= libuv jansson libnftables
HUB_CFLAGS	= $(shell $(PKG_CONFIG) --cflags $(HUB_PKGS) 2>/dev/null)
HUB_LIBS	= $(shell $(PKG_CONFIG) --libs $(HUB_PKGS) 2>/dev/null)
# The owner's page is tested in a real browser (tests/system/test_browser.py):
# headless chromium, and a font with the page's symbols for its screenshots.
DEB_PACKAGES += chromium fonts-dejavu-core

ALL_CFLAGS = $(WARN) $(CFLAGS) $(CPPFLAGS) -Iinclude -Icontroller $(UV_CFLAGS)

# The plugin: position-independent, only openvpn_plugin_* exported, no
# libuv; OpenSSL for certificates, jansson for the policy.
PLUGIN_PKGS	= jansson libcrypto
PLUGIN_CFLAGS	= $(WARN) $(CFLAGS) $(CPPFLAGS) -fPIC -fvisibility=hidden \
		  -Iinclude -Iplugin $(shell $(PKG_CONFIG) --cflags $(PLUGIN_PKGS) 2>/dev/null)
PLUGIN_LIBS	= $(shell $(PKG_CONFIG) --libs $(PLUGIN_PKGS) 2>/dev/null)
PLUGIN		:= $(BUILD)/openvpn-plugin-supportvpn.so
PLUGIN_SRCS	:= $(wildcard plugin/*.c)
PLUGIN_OBJS	:= $(PLUGIN_SRCS:%.c=$(BUILD)/%.o)
PLUGIN_LIB_OBJS	:= $(filter-out $(BUILD)/plugin/plugin.o,$(PLUGIN_OBJS))

# Everything in controller/ except the two programs' main files is a module
# linked into the daemon and the unit tests.
CTL_SRCS	:= controller/ctl.c
DAEMON_MAIN	:= controller/main.c
MODULE_SRCS	:= $(filter-out $(CTL_SRCS) $(DAEMON_MAIN),$(wildcard controller/*.c))
MODULE_OBJS	:= $(MODULE_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Test helpers: programs the tests run (not tests themselves).
HELPER_BINS	:= $(BUILD)/tests/fake_openvpn $(BUILD)/tests/plugin_driver \
		   $(BUILD)/tests/supportvpnd-fiu
FUZZ_SRCS	:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS	:= $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS	?= 60
# hub/: the vendor hub's daemon and CLI; everything but their main files
# goes into libhub.a, which they and the test_hub_* unit tests link.
HUB_MAINS	:= hub/main.c hub/cli.c
HUB_MODULE_SRCS	:= $(filter-out $(HUB_MAINS),$(wildcard hub/*.c))
HUB_MODULE_OBJS	:= $(HUB_MODULE_SRCS:%.c=$(BUILD)/%.o)
BENCH_SRCS	:= $(wildcard tests/bench/*.c)
BENCH_BINS	:= $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

PROGRAMS := $(BUILD)/supportvpnd $(BUILD)/supportvpnctl $(PLUGIN) \
	$(BUILD)/supportvpn-hubd $(BUILD)/supportvpn-hub

.PHONY: all deps check unit system headers confcheck demo bench soak run \
	install uninstall asan sanitize fuzz fuzzcheck clean manlint completion
.DEFAULT_GOAL := all

all: $(PROGRAMS)

# Rebuild everything when the flags change (make check adds -Werror).
$(BUILD)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(PLUGIN_LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(PLUGIN_LDFLAGS)' > $@
FORCE:

$(BUILD)/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/plugin/%.o: plugin/%.c $(BUILD)/.flags
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -c -o $@ $<

$(PLUGIN): $(PLUGIN_OBJS) plugin/exports.map
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) $(PLUGIN_LDFLAGS) -shared -Wl,--version-script=plugin/exports.map \
		-Wl,-z,defs -o $@ $(PLUGIN_OBJS) $(PLUGIN_LIBS)

$(BUILD)/libsvplugin.a: $(PLUGIN_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

# Unit tests of the plugin's plain functions link them without openvpn.
$(BUILD)/tests/unit/test_policy.o: ALL_CFLAGS += -Iplugin
$(BUILD)/tests/test_policy: $(BUILD)/tests/unit/test_policy.o $(BUILD)/libsvplugin.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PLUGIN_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/unit/test_hub_policy.o: ALL_CFLAGS += -Iplugin
$(BUILD)/tests/test_hub_policy: $(BUILD)/tests/unit/test_hub_policy.o $(BUILD)/libsvplugin.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PLUGIN_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/plugin/driver.o: ALL_CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PLUGIN_PKGS) 2>/dev/null)
$(BUILD)/tests/plugin_driver: $(BUILD)/tests/plugin/driver.o
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PLUGIN_LIBS) -ldl

$(BUILD)/libsvd.a: $(MODULE_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/controller/checks.o: ALL_CFLAGS += -DSUPPORTVPN_BUILD_EPOCH=$(BUILD_EPOCH)

# supportvpnd -n checks the plugin's policy with the plugin's parser.
$(BUILD)/controller/main.o: ALL_CFLAGS += -Iplugin
$(BUILD)/supportvpnd: $(BUILD)/controller/main.o $(BUILD)/libsvd.a $(BUILD)/libsvplugin.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(UV_LIBS)

# The same daemon with its functions in the dynamic symbol table, so that
# libfiu can fail a libc call only when one of them is on the stack
# (fiu-ctrl's enable_stack_by_name; tests/system/test_iofaults.py).
$(BUILD)/tests/supportvpnd-fiu: $(BUILD)/controller/main.o $(BUILD)/libsvd.a $(BUILD)/libsvplugin.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -rdynamic -o $@ $^ $(UV_LIBS)

$(BUILD)/supportvpnctl: $(BUILD)/controller/ctl.o $(BUILD)/libsvd.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(UV_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libsvd.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(UV_LIBS) $(CMOCKA_LIBS)

$(BUILD)/hub/%.o: ALL_CFLAGS += -Ihub $(HUB_CFLAGS)
$(BUILD)/tests/unit/test_hub_%.o: ALL_CFLAGS += -Ihub $(HUB_CFLAGS)

$(BUILD)/libhub.a: $(HUB_MODULE_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/supportvpn-hubd: $(BUILD)/hub/main.o $(BUILD)/libhub.a $(BUILD)/libsvd.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(HUB_LIBS)

$(BUILD)/supportvpn-hub: $(BUILD)/hub/cli.o $(BUILD)/libhub.a $(BUILD)/libsvd.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(JANSSON_LIBS)

$(BUILD)/tests/test_hub_%: $(BUILD)/tests/unit/test_hub_%.o $(BUILD)/libhub.a $(BUILD)/libsvd.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(HUB_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/fake_openvpn: $(BUILD)/tests/unit/fake_openvpn.o
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(UV_LIBS)

# Installs only what is missing; apt-get update first, since a fresh
# machine's package lists may be empty or stale.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; \
	done); \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; \
	else echo "deps: installing:" $$missing; \
		if [ "$$(id -u)" -ne 0 ]; then echo "deps: run as root (or: sudo make deps)" >&2; exit 1; fi; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

# Each header must compile on its own.
headers: $(BUILD)/.flags
	@mkdir -p $(BUILD)/headers
	@for h in include/*.h controller/*.h plugin/*.h hub/*.h; do \
		echo "#include \"$$(basename $$h)\"" > $(BUILD)/headers/t.c; \
		$(CC) -I$$(dirname $$h) $(filter-out -MMD -MP,$(ALL_CFLAGS)) $(HUB_CFLAGS) -Werror -fsyntax-only $(BUILD)/headers/t.c || { echo "headers: $$h does not compile alone" >&2; exit 1; }; \
	done; echo "headers: every header compiles alone"

# The manual pages: mandoc's linter, where a warning or worse fails (-W
# warning; style hints do not), and man-db with groff, which must print
# nothing. A fixed locale keeps man quiet about the caller's; man-db's
# seccomp sandbox is left out, as some containers refuse it.
MAN_PAGES	:= $(wildcard man/*.[1-8])
manlint:
	@for p in $(MAN_PAGES); do \
		mandoc -T lint -W warning $$p || { echo "manlint: $$p: mandoc -T lint" >&2; exit 1; }; \
		out=$$(LC_ALL=C.UTF-8 MAN_DISABLE_SECCOMP=1 man --warnings -l -Tutf8 $$p 2>&1 >/dev/null) && [ -z "$$out" ] || \
			{ printf '%s\n' "$$out" >&2; echo "manlint: $$p: man --warnings" >&2; exit 1; }; \
	done; echo "manlint: $(words $(MAN_PAGES)) manual pages clean (mandoc -T lint -W warning, man --warnings)"

# The bash completion, sourced into bash and checked against ctl.c.
completion:
	@bash tests/completion/test_supportvpnctl.sh .

unit: $(UNIT_BINS) $(HELPER_BINS) $(PLUGIN)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; (cd tests/unit && ../../$$t); done
	@echo "== $(BUILD)/tests/plugin_driver"
	./$(BUILD)/tests/plugin_driver $(PLUGIN)
	@bad=$$(nm -D --defined-only $(PLUGIN) | awk '{print $$3}' | grep -v '^openvpn_plugin_' || true); \
	if [ -n "$$bad" ]; then echo "plugin exports more than openvpn_plugin_*: $$bad" >&2; exit 1; fi; \
	echo "plugin: exports only openvpn_plugin_*"

# The example configuration names installed paths; check it with the
# client configuration from this tree.
confcheck: $(BUILD)/supportvpnd $(BUILD)/supportvpn-hubd
	$(Q)sed -e 's|/etc/supportvpn/client.ovpn|$(CURDIR)/conf/client.ovpn|' \
		-e 's|/etc/supportvpn/policy.json|$(CURDIR)/conf/policy.json|' \
		conf/supportvpnd.json > $(BUILD)/confcheck.json
	$(Q)./$(BUILD)/supportvpnd -n --config $(BUILD)/confcheck.json
	$(Q)sed -e 's|/etc/supportvpn-hub/grants.json|$(CURDIR)/$(BUILD)/confcheck-grants.json|' \
		conf/hub/supportvpn-hubd.json > $(BUILD)/confcheck-hub.json
	$(Q)./$(BUILD)/supportvpn-hubd -n --config $(BUILD)/confcheck-hub.json

# test_faults runs the scripted fake openvpn, test_iofaults supportvpnd-fiu.
# Two workers, a test file each at a time (its bed is built once per
# worker): the beds are independent (own namespaces, prefixes, ports), and
# the tests mostly wait on openvpn, so this halves the wall time.
SYSTEM_JOBS	?= 2
system: all $(HELPER_BINS)
	$(PYTEST) -p no:cacheprovider -v -n $(SYSTEM_JOBS) --dist loadfile tests/system

check:
	$(MAKE) WERROR=1 all $(UNIT_BINS) $(HELPER_BINS) $(BENCH_BINS)
	$(MAKE) WERROR=1 headers
	$(MAKE) manlint
	$(MAKE) completion
	$(MAKE) WERROR=1 confcheck
	$(MAKE) WERROR=1 unit
	$(MAKE) WERROR=1 fuzzcheck
	$(MAKE) WERROR=1 system
	$(MAKE) sanitize

demo: deps all
	/usr/bin/python3 tests/demo.py

bench: all $(BENCH_BINS) $(HELPER_BINS)
	/usr/bin/python3 tests/bench/bench.py
	/usr/bin/python3 tests/bench/hub_bench.py

# A bounded soak, not part of check: SOAK_SECONDS (180) of mixed load on
# the bed after a warm-up; prints descriptors, memory, openvpn processes
# and every wrong answer (tests/soak/soak.py).
soak: all $(HELPER_BINS)
	/usr/bin/python3 tests/soak/soak.py

# Foreground, debug logging, the example configuration with state and run
# directories under build/run (openvpn still needs root for its tun).
run: all
	@mkdir -p $(BUILD)/run
	sed -e 's|/etc/supportvpn/client.ovpn|$(CURDIR)/conf/client.ovpn|' \
	    -e 's|/var/lib/supportvpn|$(CURDIR)/$(BUILD)/run/state|' \
	    -e 's|/run/supportvpn|$(CURDIR)/$(BUILD)/run/run|' \
	    -e 's|/var/log/supportvpn/supportvpnd.log|$(CURDIR)/$(BUILD)/run/supportvpnd.log|' \
	    -e 's|/usr/share/supportvpn/www|$(CURDIR)/www|' \
	    conf/supportvpnd.json > $(BUILD)/run/supportvpnd.json
	./$(BUILD)/supportvpnd --config $(BUILD)/run/supportvpnd.json --log-level debug

# Installation. Programs, the plugin, units, man pages and completion are
# always replaced; configuration files (the examples, the logrotate snippet)
# are installed only where none exists and never overwritten, and uninstall
# removes one only while it is unchanged. The installed files name the
# installed paths: SUBST fills them in.
INST		:= $(BUILD)/inst
SUBST		= sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		  -e 's|/usr/lib/supportvpn/|$(PLUGINDIR)/|g' \
		  -e 's|/usr/share/supportvpn/www|$(WWWDIR)|g' \
		  -e 's|/etc/supportvpn/|$(SYSCONFDIR)/supportvpn/|g' \
		  -e 's|/etc/supportvpn-hub/|$(SYSCONFDIR)/supportvpn-hub/|g'
# source:destination pairs, destination relative to DESTDIR
CONF_FILES	= conf/supportvpnd.json:$(SYSCONFDIR)/supportvpn/supportvpnd.json \
		  conf/client.ovpn:$(SYSCONFDIR)/supportvpn/client.ovpn \
		  conf/policy.json:$(SYSCONFDIR)/supportvpn/policy.json \
		  conf/hub/supportvpn-hubd.json:$(SYSCONFDIR)/supportvpn-hub/supportvpn-hubd.json \
		  conf/hub/policy.json:$(SYSCONFDIR)/supportvpn-hub/policy.json \
		  conf/hub/server-udp.conf:$(SYSCONFDIR)/supportvpn-hub/server-udp.conf \
		  conf/hub/server-tcp.conf:$(SYSCONFDIR)/supportvpn-hub/server-tcp.conf \
		  conf/logrotate/supportvpn:$(LOGROTATEDIR)/supportvpn
DATA_FILES	= conf/systemd/supportvpnd.service.in:$(UNITDIR)/supportvpnd.service \
		  conf/systemd/supportvpn-hubd.service.in:$(UNITDIR)/supportvpn-hubd.service \
		  conf/systemd/supportvpn.tmpfiles:$(TMPFILESDIR)/supportvpn.conf \
		  conf/bash-completion/supportvpnctl:$(BASHCOMPDIR)/supportvpnctl \
		  $(foreach m,$(wildcard man/*.[1-8]),$(m):$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
		  $(foreach f,$(wildcard www/*),$(f):$(WWWDIR)/$(notdir $(f)))
PROG_FILES	= $(BUILD)/supportvpnd:$(SBINDIR)/supportvpnd \
		  $(BUILD)/supportvpn-hubd:$(SBINDIR)/supportvpn-hubd \
		  $(BUILD)/supportvpn-hub:$(SBINDIR)/supportvpn-hub \
		  $(BUILD)/supportvpnctl:$(BINDIR)/supportvpnctl
# Our own directories: removed by uninstall when empty.
OWN_DIRS	= $(PLUGINDIR) $(SYSCONFDIR)/supportvpn $(SYSCONFDIR)/supportvpn-hub \
		  $(WWWDIR) $(dir $(WWWDIR))

install: all
	@set -e; rm -rf $(INST); mkdir -p $(INST); \
	for pair in $(PROG_FILES); do src=$${pair%%:*}; dst=$(DESTDIR)$${pair#*:}; \
		install -D -m 0755 $$src $$dst; echo "  INSTALL $$dst"; done; \
	install -D -m 0644 $(PLUGIN) $(DESTDIR)$(PLUGINDIR)/openvpn-plugin-supportvpn.so; \
	echo "  INSTALL $(DESTDIR)$(PLUGINDIR)/openvpn-plugin-supportvpn.so"; \
	for pair in $(DATA_FILES); do src=$${pair%%:*}; dst=$(DESTDIR)$${pair#*:}; \
		[ -e $$src ] || continue; $(SUBST) $$src > $(INST)/f; \
		install -D -m 0644 $(INST)/f $$dst; echo "  INSTALL $$dst"; done; \
	for pair in $(CONF_FILES); do src=$${pair%%:*}; dst=$(DESTDIR)$${pair#*:}; \
		$(SUBST) $$src > $(INST)/f; \
		if [ ! -e $$dst ]; then install -D -m 0644 $(INST)/f $$dst; echo "  INSTALL $$dst"; \
		elif cmp -s $(INST)/f $$dst; then echo "  SAME    $$dst"; \
		else echo "  KEPT    $$dst (edited; the example is $$src)"; fi; done

uninstall:
	@set -e; rm -rf $(INST); mkdir -p $(INST); \
	for pair in $(PROG_FILES) $(DATA_FILES) $(PLUGIN):$(PLUGINDIR)/openvpn-plugin-supportvpn.so; do \
		dst=$(DESTDIR)$${pair#*:}; [ -e $$dst ] || continue; rm -f $$dst; echo "  REMOVE  $$dst"; done; \
	for pair in $(CONF_FILES); do src=$${pair%%:*}; dst=$(DESTDIR)$${pair#*:}; \
		[ -e $$dst ] || continue; $(SUBST) $$src > $(INST)/f; \
		if cmp -s $(INST)/f $$dst; then rm -f $$dst; echo "  REMOVE  $$dst"; \
		else echo "  KEPT    $$dst (edited)"; fi; done; \
	for d in $(OWN_DIRS); do [ ! -d $(DESTDIR)$$d ] || rmdir $(DESTDIR)$$d 2>/dev/null || \
		echo "  KEPT    $(DESTDIR)$$d (not empty)"; done

# The sanitizer build, build-asan: AddressSanitizer (with LeakSanitizer)
# and UBSan, any report fatal. clang, because its ASan runtime carries
# UBSan: one runtime, one log_path for every report (with gcc, libasan
# takes over libubsan's report path and UBSan writes to stderr whatever
# UBSAN_OPTIONS say). The runtime is the shared one, found by rpath, so the
# plugin and openvpn (not instrumented; tests/bed preloads the runtime
# into it) share it; -z nodelete keeps the plugin mapped after openvpn's
# dlclose, so leak reports at openvpn's exit name its functions.
SAN_CC		?= clang
SAN_FLAGS	:= -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_RT		= $(shell $(SAN_CC) -print-file-name=libclang_rt.asan-$(shell uname -m).so)
SAN_MAKE	= $(MAKE) BUILD=build-asan CC=$(SAN_CC) CPPFLAGS= WERROR=1 \
	CFLAGS='-O1 -g -fno-omit-frame-pointer $(SAN_FLAGS)' \
	LDFLAGS='$(SAN_FLAGS) -shared-libasan -Wl,-rpath,$(dir $(SAN_RT))' \
	PLUGIN_LDFLAGS='-Wl,-z,nodelete'
# make check's sanitizer stage runs these system tests; make asan runs
# them all. Together they cover, against build-asan: start -> connected
# -> stop through the API, a clean SIGTERM, state events; the plugin inside
# openvpn accepting the right hub, refusing others (a name outside the
# policy, a certificate without EKU), consent (a hold released by hand),
# peer events, dropping to nobody; supportvpnctl; a support session with
# auth; supportvpn-hubd and the hub-mode plugin with a grant.
SAN_SYSTEM_TESTS := \
	tests/system/test_lifecycle.py::test_start_wait_connects_and_hub_reaches_appliance \
	tests/system/test_lifecycle.py::test_stop_tears_the_tunnel_down \
	tests/system/test_lifecycle.py::test_sigterm_is_a_clean_shutdown \
	tests/system/test_lifecycle.py::test_state_events_follow_start_and_stop \
	'tests/system/test_plugin.py::test_right_hub_connects_with_cn_and_fingerprint[plain]' \
	'tests/system/test_plugin.py::test_rogue_hub_is_refused[b-name-outside-policy]' \
	'tests/system/test_plugin.py::test_rogue_hub_is_refused[c-no-eku-posing-as-hub]' \
	'tests/system/test_plugin.py::test_hold_released_by_hand_connects_nowhere[after_connection]' \
	tests/system/test_plugin.py::test_peer_events_carry_the_fields \
	'tests/system/test_plugin.py::test_renegotiation_reads_consent[user_nobody]' \
	tests/system/test_ctl.py::test_ctl_status_start_stop \
	tests/system/test_session.py::test_password_and_auth_gates \
	tests/system/test_session.py::test_set_password_from_stdin \
	tests/system/test_hub.py::test_staff_reaches_only_the_granted_appliance
# For the unit tests (the system tests' bed sets its own, with the same
# checks): leaks, stack use after return, UBSan's reports with the stack,
# addr2line for file:line where llvm-symbolizer is missing.
SAN_ENV		:= ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:allow_addr2line=1 \
	UBSAN_OPTIONS=print_stacktrace=1:allow_addr2line=1

# make check's sanitizer stage: the build, all unit tests and the plugin
# driver, then SAN_SYSTEM_TESTS on the bed (which sends every report to a
# file and fails the test that made one: tests/bed/sanitizer.py).
sanitize:
	$(SAN_ENV) $(SAN_MAKE) all unit
	$(SAN_ENV) SUPPORTVPN_BUILD=build-asan $(PYTEST) -p no:cacheprovider -v $(SAN_SYSTEM_TESTS)

# Everything under the sanitizers: as make sanitize, with all system tests.
asan:
	$(SAN_ENV) $(SAN_MAKE) all unit
	$(SAN_ENV) SUPPORTVPN_BUILD=build-asan $(PYTEST) -p no:cacheprovider -v tests/system

# libFuzzer harnesses (clang), one per parser (README.md, Fuzzing). The
# modules are compiled once with coverage and ASan+UBSan (UB aborts, so the
# fuzzer sees it) into archives in build-fuzz/; each harness links what it
# uses. fuzzcheck (in make check): FUZZ_RUNS inputs each (FUZZ_RUNS_<name>
# for the slow ones), a fixed seed, the seed corpus read only (new inputs go
# to a scratch directory), any crash, leak, UB or hang fails. fuzz:
# FUZZ_SECONDS each (FUZZERS picks some), growing build-fuzz/corpus/<name>;
# logs in build-fuzz/<name>.log, crashes in build-fuzz/artifacts/.
FUZZ_CC		?= clang
FUZZ_RUNS	?= 20000
# A connection per run (two: one answered, one reset) is slow.
FUZZ_RUNS_fuzz_api_req ?= 2000
# About 500 runs/s: inputs of 16 KiB.
FUZZ_RUNS_fuzz_mgmt_proto ?= 2000
FUZZ_RUNS_fuzz_config ?= 5000
FUZZ_NAMES	:= $(FUZZ_SRCS:tests/fuzz/%.c=%)
FUZZERS		?= $(FUZZ_NAMES)
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS	= -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
		  -fsanitize=fuzzer-no-link $(WARN) -Iinclude
FUZZ_LD		= $(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN)
# Options for every run: a hang is a finding, crashes go to build-fuzz/.
FUZZ_OPTS	= -timeout=10 -print_final_stats=1
FZ		:= build-fuzz/obj
# Only the modules the harnesses reach are compiled (a link error names a
# missing one): make check pays for each.
FUZZ_SVD_OBJS	:= $(patsubst %,$(FZ)/controller/%.o,api api_req cmd config events http_sec \
		   log mgmt_proto ratelimit rocmd settings token util)
FUZZ_PLUGIN_OBJS := $(patsubst %,$(FZ)/plugin/%.o,event hub_policy policy)
FUZZ_HUB_OBJS	:= $(patsubst %,$(FZ)/hub/%.o,datagram grants ident)

build-fuzz/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' | cmp -s - $@ || echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' > $@

$(FZ)/controller/%.o: controller/%.c build-fuzz/.flags
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Icontroller $(UV_CFLAGS) -c -o $@ $<
$(FZ)/plugin/%.o: plugin/%.c build-fuzz/.flags
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Iplugin $(shell $(PKG_CONFIG) --cflags $(PLUGIN_PKGS) 2>/dev/null) -c -o $@ $<
$(FZ)/hub/%.o: hub/%.c build-fuzz/.flags
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Ihub -Icontroller $(HUB_CFLAGS) -c -o $@ $<
# A harness sees the headers of the part it fuzzes.
FUZZ_INC = -Icontroller $(UV_CFLAGS)
$(FZ)/tests/fuzz/fuzz_hub_%.o: FUZZ_INC = -Ihub -Icontroller $(HUB_CFLAGS)
$(FZ)/tests/fuzz/fuzz_policy.o $(FZ)/tests/fuzz/fuzz_hub_policy.o: FUZZ_INC = -Iplugin $(JANSSON_CFLAGS)
$(FZ)/tests/fuzz/%.o: tests/fuzz/%.c build-fuzz/.flags
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_INC) -c -o $@ $<

.SECONDARY: $(FUZZ_NAMES:%=$(FZ)/tests/fuzz/%.o)

build-fuzz/libsvd.a: $(FUZZ_SVD_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^
build-fuzz/libsvplugin.a: $(FUZZ_PLUGIN_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^
build-fuzz/libhub.a: $(FUZZ_HUB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

# The controller's parsers and the API server (with stand-ins for the
# modules behind it, defined in the harness).
build-fuzz/fuzz_%: $(FZ)/tests/fuzz/fuzz_%.o build-fuzz/libsvd.a
	@echo "  FUZZLD  $@"
	$(Q)$(FUZZ_LD) -o $@ $^ $(UV_LIBS)
# The plugin's parsers link the plugin's plain modules, not the daemon's.
build-fuzz/fuzz_policy build-fuzz/fuzz_hub_policy: build-fuzz/%: $(FZ)/tests/fuzz/%.o build-fuzz/libsvplugin.a
	@echo "  FUZZLD  $@"
	$(Q)$(FUZZ_LD) -o $@ $^ $(PLUGIN_LIBS)
# The hub's parsers: hub/ with the controller helpers it uses.
build-fuzz/fuzz_hub_%: $(FZ)/tests/fuzz/fuzz_hub_%.o build-fuzz/libhub.a build-fuzz/libsvd.a
	@echo "  FUZZLD  $@"
	$(Q)$(FUZZ_LD) -o $@ $^ $(HUB_LIBS)

# tests/fuzz/<name without fuzz_>.dict, where there is one.
FUZZ_DICT = d=tests/fuzz/$${n\#fuzz_}.dict; dict=; [ -f $$d ] && dict=-dict=$$d
fuzzcheck: $(FUZZ_BINS)
	@set -e; for nr in $(foreach n,$(FUZZ_NAMES),$(n):$(or $(FUZZ_RUNS_$(n)),$(FUZZ_RUNS))); do \
		n=$${nr%:*}; $(FUZZ_DICT); w=build-fuzz/check/$$n; rm -rf $$w; mkdir -p $$w/new; \
		if ./build-fuzz/$$n $(FUZZ_OPTS) -runs=$${nr#*:} -seed=1 $$dict \
		    -artifact_prefix=$$w/ $$w/new tests/fuzz/corpus/$$n > $$w.log 2>&1; \
		then echo "$$n: $$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' $$w.log), $$(grep -o 'cov: [0-9]* ft: [0-9]*' $$w.log | tail -1)"; \
		else tail -60 $$w.log; echo "fuzzcheck: $$n failed; log $$w.log" >&2; exit 1; fi; done

fuzz: $(FUZZERS:%=build-fuzz/%)
	@mkdir -p build-fuzz/artifacts; fail=; for n in $(FUZZERS); do $(FUZZ_DICT); \
		echo "== $$n ($(FUZZ_SECONDS) s, log build-fuzz/$$n.log)"; \
		mkdir -p build-fuzz/corpus/$$n; \
		if ./build-fuzz/$$n $(FUZZ_OPTS) -max_total_time=$(FUZZ_SECONDS) $$dict \
		    -artifact_prefix=build-fuzz/artifacts/$$n- build-fuzz/corpus/$$n \
		    tests/fuzz/corpus/$$n > build-fuzz/$$n.log 2>&1; \
		then grep -E '^#[0-9]+[[:space:]]' build-fuzz/$$n.log | tail -1; \
		    grep -E '^Done|stat::' build-fuzz/$$n.log; \
		else tail -60 build-fuzz/$$n.log; fail="$$fail $$n"; fi; done; \
	if [ -n "$$fail" ]; then echo "fuzz: findings in:$$fail" >&2; exit 1; fi

clean:
	rm -rf $(BUILD) build-asan build-fuzz

-include $(shell find $(BUILD) build-fuzz -name '*.d' 2>/dev/null)
