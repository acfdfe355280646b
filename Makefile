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
DESTDIR		?=
BUILD		?= build
PYTEST		?= /usr/bin/python3 -m pytest

CFLAGS		?= -O2 -g -fstack-protector-strong
CPPFLAGS	?= -D_FORTIFY_SOURCE=2
LDFLAGS		?=

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
	python3 python3-pytest dnsmasq-base iproute2 procps socat iputils-ping \
	curl clang libclang-rt-14-dev libcrypt-dev libnftables-dev nftables

UV_CFLAGS	= $(shell $(PKG_CONFIG) --cflags libuv jansson libcurl 2>/dev/null)
UV_LIBS		= $(shell $(PKG_CONFIG) --libs libuv jansson libcurl libxcrypt 2>/dev/null)
# The clock check: a clock before this commit is certainly wrong.
BUILD_EPOCH	:= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
JANSSON_CFLAGS	= $(shell $(PKG_CONFIG) --cflags jansson 2>/dev/null)
JANSSON_LIBS	= $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null)
CMOCKA_LIBS	= $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
# The hub daemon: libuv, jansson and libnftables; its CLI only jansson.
HUB_PKGS	= libuv jansson libnftables
HUB_CFLAGS	= $(shell $(PKG_CONFIG) --cflags $(HUB_PKGS) 2>/dev/null)
HUB_LIBS	= $(shell $(PKG_CONFIG) --libs $(HUB_PKGS) 2>/dev/null)

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
# Test helpers: programs the unit tests run (not tests themselves).
HELPER_BINS	:= $(BUILD)/tests/fake_openvpn $(BUILD)/tests/plugin_driver
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

.PHONY: all deps check unit system headers confcheck demo bench run \
	install uninstall asan fuzz fuzzcheck clean
.DEFAULT_GOAL := all

all: $(PROGRAMS)

# Rebuild everything when the flags change (make check adds -Werror).
$(BUILD)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(ALL_CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(ALL_CFLAGS) $(LDFLAGS)' > $@
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
	$(Q)$(CC) $(LDFLAGS) -shared -Wl,--version-script=plugin/exports.map \
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

system: all
	$(PYTEST) -p no:cacheprovider -v tests/system

check:
	$(MAKE) WERROR=1 all $(UNIT_BINS) $(HELPER_BINS) $(BENCH_BINS)
	$(MAKE) WERROR=1 headers
	$(MAKE) WERROR=1 confcheck
	$(MAKE) WERROR=1 unit
	$(MAKE) WERROR=1 fuzzcheck
	$(MAKE) WERROR=1 system

demo: deps all
	/usr/bin/python3 tests/demo.py

bench: all $(BENCH_BINS) $(HELPER_BINS)
	/usr/bin/python3 tests/bench/bench.py
	/usr/bin/python3 tests/bench/hub_bench.py

# Foreground, debug logging, the example configuration with state and run
# directories under build/run (openvpn still needs root for its tun).
run: all
	@mkdir -p $(BUILD)/run
	sed -e 's|/etc/supportvpn/client.ovpn|$(CURDIR)/conf/client.ovpn|' \
	    -e 's|/var/lib/supportvpn|$(CURDIR)/$(BUILD)/run/state|' \
	    -e 's|/run/supportvpn|$(CURDIR)/$(BUILD)/run/run|' \
	    -e 's|/var/log/supportvpn/supportvpnd.log|$(CURDIR)/$(BUILD)/run/supportvpnd.log|' \
	    conf/supportvpnd.json > $(BUILD)/run/supportvpnd.json
	./$(BUILD)/supportvpnd --config $(BUILD)/run/supportvpnd.json --log-level debug

# Example configurations are installed only where none exists yet.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PLUGINDIR) \
		$(DESTDIR)$(SYSCONFDIR)/supportvpn $(DESTDIR)$(SYSCONFDIR)/supportvpn-hub
	install -m 0755 $(BUILD)/supportvpnd $(DESTDIR)$(SBINDIR)/supportvpnd
	install -m 0755 $(BUILD)/supportvpnctl $(DESTDIR)$(BINDIR)/supportvpnctl
	install -m 0755 $(BUILD)/supportvpn-hubd $(DESTDIR)$(SBINDIR)/supportvpn-hubd
	install -m 0755 $(BUILD)/supportvpn-hub $(DESTDIR)$(SBINDIR)/supportvpn-hub
	install -m 0644 $(PLUGIN) $(DESTDIR)$(PLUGINDIR)/openvpn-plugin-supportvpn.so
	for f in conf/supportvpnd.json conf/client.ovpn conf/policy.json; do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/supportvpn/$$(basename $$f) ] || \
		install -m 0644 $$f $(DESTDIR)$(SYSCONFDIR)/supportvpn/; done
	[ -e $(DESTDIR)$(SYSCONFDIR)/supportvpn-hub/supportvpn-hubd.json ] || \
		install -m 0644 conf/hub/supportvpn-hubd.json $(DESTDIR)$(SYSCONFDIR)/supportvpn-hub/

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/supportvpnd $(DESTDIR)$(BINDIR)/supportvpnctl \
		$(DESTDIR)$(SBINDIR)/supportvpn-hubd $(DESTDIR)$(SBINDIR)/supportvpn-hub \
		$(DESTDIR)$(PLUGINDIR)/openvpn-plugin-supportvpn.so
	-rmdir $(DESTDIR)$(PLUGINDIR) 2>/dev/null

asan:
	$(MAKE) BUILD=build-asan CFLAGS='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all' \
		LDFLAGS='-fsanitize=address,undefined' CPPFLAGS= WERROR=1 all \
		$(UNIT_BINS:$(BUILD)/%=build-asan/%) $(HELPER_BINS:$(BUILD)/%=build-asan/%)
	@set -e; for t in $(UNIT_BINS:$(BUILD)/%=build-asan/%); do echo "== $$t"; (cd tests/unit && ../../$$t); done
	SUPPORTVPN_BUILD=build-asan $(PYTEST) -p no:cacheprovider -v tests/system

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
# About 200-500 runs/s: a connection per run, or inputs of 16 KiB.
FUZZ_RUNS_fuzz_api_req ?= 2000
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
FUZZ_SVD_OBJS	:= $(patsubst %,$(FZ)/controller/%.o,api api_req config events \
		   log mgmt_proto rocmd settings util)
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
