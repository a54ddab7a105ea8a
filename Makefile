# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#
#   make deps    install the Debian packages the build and the tests need
#   make         build ./pyprof-bpf
#   make demo    build, then profile a bundled workload: the live view on a
#                terminal, else a flame graph and a report in build/demo/
#                (scripts/demo; root)
#   make test    run every test (unit, golden, end-to-end); root for e2e
#   make install install the program (bin/), its manual page pyprof-bpf(8)
#                and its bash completion under PREFIX (/usr/local), into
#                DESTDIR if given; make uninstall removes them
#   make bench   measure the overhead (scripts/bench): BENCHMARKS.md + PNG;
#                root, about 40 minutes; BENCH_ARGS=--quick for a short run
#   make fuzz    build the libFuzzer targets (tests/fuzz) into build/fuzz and
#                run each for FUZZ_TIME seconds (default 60)
#   make SAN=1   build with ASan+UBSan into build-san (make test SAN=1 runs
#                every test against that build)
#   make V=1     show the commands
.DELETE_ON_ERROR:
.SUFFIXES:

# A sanitizer build lives in its own folder, so that its objects never mix
# with the normal build's.
OUT      := $(if $(filter 1,$(SAN)),build-san,build)
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PYTHON   ?= /usr/bin/python3
# The architecture the BPF programs are built for: x86 or arm64, the
# machine's unless given (a cross build: see `make test-arm64`).
BPF_ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX  := vmlinux/$(BPF_ARCH)/vmlinux.h

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
CFLAGS   += $(WARN) -std=gnu11 -D_GNU_SOURCE -I$(OUT) -Isrc -I. -MMD -MP
NCURSES_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo)
MHD_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
LDLIBS   := -lbpf -ldw -lelf -lz $(NCURSES_LIBS) $(MHD_LIBS) -lpthread -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) $(WARN) \
	      -Ivmlinux/$(BPF_ARCH) -Ibpf -Wno-unused-function \
	      -fms-extensions -Wno-microsoft-anon-tag

# -fno-sanitize-recover: undefined behaviour fails the run, not just a line.
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
ifeq ($(SAN),1)
CFLAGS  += $(SAN_FLAGS) -fno-omit-frame-pointer
LDFLAGS += $(SAN_FLAGS)
endif

SRCS      := $(wildcard src/*.c src/*/*.c)
OBJS      := $(patsubst src/%.c,$(OUT)/%.o,$(SRCS))
LIB_OBJS  := $(filter-out $(OUT)/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(patsubst tests/unit/%.c,$(OUT)/unit/%.o,$(UNIT_SRCS))
# The BPF programs: each bpf/*.bpf.c is compiled alone, then all are
# linked into one object (one set of maps, one skeleton).
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(OUT)/pyprof.skel.h

DEB_PKGS := make gcc clang llvm bpftool libbpf-dev libelf-dev libdw-dev zlib1g-dev \
	    pkg-config python3 python3-pytest procps util-linux \
	    libncurses-dev libmicrohttpd-dev tmux man-db \
	    golang-go valgrind chromium fonts-dejavu-core libxml2-utils nodejs \
	    python3-matplotlib austin linux-perf time \
	    libclang-rt-14-dev debootstrap \
	    lld qemu-system-arm cpio e2fsprogs kmod \
	    xz-utils
# lld, qemu-system-arm, cpio, e2fsprogs, kmod, xz-utils: the arm64 tests'
# cross build and emulated machine (scripts/arm64-vm, made by make deps).
# libclang-rt-14-dev: libclang_rt.fuzzer for `make fuzz` (clang only
# recommends it).  libmicrohttpd-dev: the HTTP listener of `serve`.
# man-db (and groff-base with it): tests/test_install.py renders the
# manual page with man --warnings.  debootstrap: scripts/debian-root, below.
# The output formats' consumers (tests/test_formats.py): go tool pprof,
# callgrind_annotate, headless Chromium driven from node.  Debian's npm too,
# unless node already came with its own (NodeSource's nodejs bundles npm and
# conflicts with Debian's npm package).
DEB_NPM  := $(if $(shell command -v npm 2>/dev/null),,npm)
# playwright-core, speedscope and ajv, pinned by package-lock.json, into the
# ignored tests/browser/node_modules; never a browser download.
NPM_DIR  := tests/browser

.PHONY: all deps npm-deps debian-root arm64-vm-deps test unit unit-san clean bench \
	bench-tools bench-serve bench-discovery pyprof-bpf demo install uninstall
all: pyprof-bpf $(OUT)/unit_tests

deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (it calls apt-get)" >&2; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PKGS) $(DEB_NPM)
	$(MAKE) npm-deps
	$(MAKE) debian-root
	$(MAKE) arm64-vm-deps

# Debian unstable's CPython 3.14 and 3.15 for the tests, in a root of their
# own (.deps/debian-unstable, kept by `make clean`); see scripts/debian-root.
# When it cannot be made, the tests of those interpreters SKIP with the
# reason, and the rest of `make deps` stands.
debian-root:
	@scripts/debian-root || echo "make deps: warning: no Debian unstable root" \
		"(see above): the tests of Debian's CPython 3.14 and 3.15 will SKIP" >&2

# The emulated arm64 machine of tests/test_arm64.py (scripts/arm64-vm, about
# 2 minutes).  When it cannot be made, those tests SKIP with the reason.
arm64-vm-deps:
	@scripts/arm64-vm build || echo "make deps: warning: no arm64 VM" \
		"(see above): tests/test_arm64.py will SKIP" >&2

npm-deps:
	cd $(NPM_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund

$(OUT) $(OUT)/unit $(OUT)/bpf:
	$(Q)mkdir -p $@

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(VMLINUX) | $(OUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# bpftool's static linker (libbpf's bpf_linker) resolves each file's
# extern maps and tunables (bpf/maps.bpf.h) to their one definition.
$(OUT)/pyprof.bpf.o: $(BPF_OBJS)
	$(call msg,BPFLINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUT)/pyprof.skel.h: $(OUT)/pyprof.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name pyprof_bpf > $@

# The loader includes the skeleton; everything else may too, cheaply.
$(OBJS): | $(SKELS)

$(OUT)/%.o: src/%.c | $(OUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The live page is embedded with .incbin (src/serve/web.c): the object
# depends on the files, which the compiler's -MMD cannot see.
WEB_FILES := $(wildcard src/serve/web/*)
$(OUT)/serve/web.o: $(WEB_FILES)

$(OUT)/unit/%.o: tests/unit/%.c | $(OUT)/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -c $< -o $@

$(OUT)/pyprof-bpf: $(OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Phony, and copied whenever it differs: ./pyprof-bpf is whichever build
# (normal or SAN=1) was made last.  Renamed into place, so that a build
# while it runs (a soak, a test) replaces it instead of failing.
pyprof-bpf: $(OUT)/pyprof-bpf
	$(Q)cmp -s $< $@ || { cp $< $@.new && mv -f $@.new $@; }

$(OUT)/unit_tests: $(LIB_OBJS) $(UNIT_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

unit: $(OUT)/unit_tests
	$(OUT)/unit_tests

# The unit tests also run under ASan+UBSan (build-san/unit_tests), every
# time: LeakSanitizer on, suppressions for the libraries we do not own.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	   LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
export PYPROF_UNIT := $(CURDIR)/$(OUT)/unit_tests

unit-san:
	$(Q)$(MAKE) --no-print-directory SAN=1 build-san/unit_tests
	$(Q)$(SAN_ENV) build-san/unit_tests > build-san/unit-san.log 2>&1; \
	rc=$$?; printf 'unit-san: '; tail -n 1 build-san/unit-san.log; \
	[ $$rc = 0 ] || { cat build-san/unit-san.log; exit 1; }

test: all $(if $(filter 1,$(SAN)),,unit-san)
	$(if $(filter 1,$(SAN)),$(SAN_ENV)) $(PYTHON) -m pytest -ra tests

# A first run: everything built, then a workload of known shape profiled
# (tests/e2e/workloads/demo.py under /usr/bin/python3).  DEMO_SECS=N runs
# it N seconds (default 15 on a terminal, 5 off one).
DEMO_DIR ?= $(OUT)/demo
demo: all
	$(Q)$(PYTHON) scripts/demo --out $(DEMO_DIR) --pyprof ./pyprof-bpf \
		$(if $(DEMO_SECS),--seconds $(DEMO_SECS))

# arm64 (issue 24), from this x86-64 machine: scripts/arm64-vm makes, once,
# an emulated arm64 machine (a Debian unstable arm64 root, its kernel,
# qemu-system-aarch64), whose root is also the sysroot of a cross build with
# the host's clang into build-arm64/.  tests/test_arm64.py boots it and runs
# there the C unit suite and the end-to-end tests that matter most, on its
# CPython 3.14.
ARM64_VM    := $(CURDIR)/.deps/arm64
ARM64_OUT   := build-arm64
ARM64_PKG   := PKG_CONFIG_SYSROOT_DIR=$(ARM64_VM)/root \
	       PKG_CONFIG_LIBDIR=$(ARM64_VM)/root/usr/lib/aarch64-linux-gnu/pkgconfig:$(ARM64_VM)/root/usr/share/pkgconfig

.PHONY: arm64-vm arm64 test-arm64
arm64-vm:
	$(Q)scripts/arm64-vm build

arm64: arm64-vm
	$(Q)$(ARM64_PKG) $(MAKE) --no-print-directory OUT=$(ARM64_OUT) \
		BPF_ARCH=arm64 CC="$(CLANG) --target=aarch64-linux-gnu --sysroot=$(ARM64_VM)/root" \
		LDFLAGS="-fuse-ld=lld" $(ARM64_OUT)/pyprof-bpf $(ARM64_OUT)/unit_tests

# --native's test library (tests/e2e/workloads/spin.c), built here as the
# test builds it with gcc, which the VM does not have; with pointer
# authentication, as Debian builds its arm64 packages.
ARM64_CC := $(CLANG) --target=aarch64-linux-gnu --sysroot=$(ARM64_VM)/root -fuse-ld=lld
$(ARM64_OUT)/libspin.so: tests/e2e/workloads/spin.c | arm64-vm
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(ARM64_CC) -O2 -fomit-frame-pointer -mbranch-protection=standard \
		-shared -fPIC -o $@ $<

# The whole C unit suite and the end-to-end tests that matter most
# (tests/test_arm64.py's ARM64_TESTS) in one boot of the VM; `make test`
# runs them too.
test-arm64:
	$(PYTHON) -m pytest -ra tests/test_arm64.py

# The program in bin/ (view, convert and diff need no root; recording
# does, and says so), the manual page in section 8 as bpftrace's, the
# completion where bash-completion looks for it by the command's name.
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL     ?= install
INSTALLED   := $(DESTDIR)$(BINDIR)/pyprof-bpf \
	       $(DESTDIR)$(MANDIR)/man8/pyprof-bpf.8 \
	       $(DESTDIR)$(BASHCOMPDIR)/pyprof-bpf

install: $(OUT)/pyprof-bpf
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 0755 $(OUT)/pyprof-bpf $(DESTDIR)$(BINDIR)/pyprof-bpf
	$(INSTALL) -m 0644 src/pyprof-bpf.8 $(DESTDIR)$(MANDIR)/man8/pyprof-bpf.8
	$(INSTALL) -m 0644 scripts/pyprof-bpf.bash \
		$(DESTDIR)$(BASHCOMPDIR)/pyprof-bpf

uninstall:
	rm -f $(INSTALLED) $(CLIENT_INSTALLED) \
		$(DESTDIR)$(SYSTEMD_UNIT_DIR)/pyprof-bpf.service

# The control socket's clients (issue 20): the pure-Python module, where
# PYTHONPATH can point (README.md says where), and the C header.
PYCLIENTDIR ?= $(PREFIX)/lib/pyprof-bpf/python
INCLUDEDIR  ?= $(PREFIX)/include
CLIENT_INSTALLED := $(DESTDIR)$(PYCLIENTDIR)/pyprof_bpf.py \
		    $(DESTDIR)$(INCLUDEDIR)/pyprof_bpf.h
.PHONY: install-client
install: install-client
install-client:
	$(INSTALL) -d $(DESTDIR)$(PYCLIENTDIR) $(DESTDIR)$(INCLUDEDIR)
	$(INSTALL) -m 0644 src/client/pyprof_bpf.py $(DESTDIR)$(PYCLIENTDIR)/pyprof_bpf.py
	$(INSTALL) -m 0644 src/client/pyprof_bpf.h $(DESTDIR)$(INCLUDEDIR)/pyprof_bpf.h

# The benchmark's helper: an empty perf_event program, the floor its BPF
# cost is compared with.  Never part of `all` or `test`.
BENCH_OUT := $(OUT)/bench
$(BENCH_OUT):
	$(Q)mkdir -p $@

$(BENCH_OUT)/bench-floor.bpf.o: scripts/bench-floor.bpf.c $(VMLINUX) | $(BENCH_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_OUT)/bench-floor.skel.h: $(BENCH_OUT)/bench-floor.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bench_floor > $@

$(BENCH_OUT)/bench-floor: scripts/bench-floor.c scripts/bench-util.h $(BENCH_OUT)/bench-floor.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -I$(BENCH_OUT) $(LDFLAGS) $< $(LDLIBS) -o $@

# scripts/bpfcost's floor: what one bpf_probe_read_user costs.
$(BENCH_OUT)/bpfcost-read.bpf.o: scripts/bpfcost-read.bpf.c $(VMLINUX) | $(BENCH_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_OUT)/bpfcost-read.skel.h: $(BENCH_OUT)/bpfcost-read.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bpfcost_read > $@

$(BENCH_OUT)/bpfcost-read: scripts/bpfcost-read.c scripts/bench-util.h $(BENCH_OUT)/bpfcost-read.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -I$(BENCH_OUT) $(LDFLAGS) $< $(LDLIBS) -o $@

bench-tools: pyprof-bpf $(BENCH_OUT)/bench-floor $(BENCH_OUT)/bpfcost-read

bench: bench-tools
	$(PYTHON) scripts/bench $(BENCH_ARGS)

# The agent's own cost (pyprof-bpf serve): section 6 of BENCHMARKS.md,
# which `make bench` does not keep (run this after it).  Root, ~8 minutes.
bench-serve: pyprof-bpf
	$(PYTHON) scripts/bench-serve --update BENCHMARKS.md

# Discovery under -a, from a process's start to its profile (issue 17):
# scripts/scale 50 60, three rounds; section 7 of BENCHMARKS.md, which
# `make bench` does not keep either (run this after it).  Root, ~4 minutes.
bench-discovery: pyprof-bpf
	$(PYTHON) scripts/bench-discovery --update BENCHMARKS.md

# `make install` also installs the agent's systemd unit (pyprof-bpf
# serve, src/serve/pyprof-bpf.service) where systemd looks for local units.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
.PHONY: install install-serve-unit
install: install-serve-unit
install-serve-unit: src/serve/pyprof-bpf.service
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed 's|@BINDIR@|$(BINDIR)|g' $< > $(DESTDIR)$(SYSTEMD_UNIT_DIR)/pyprof-bpf.service
	chmod 644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/pyprof-bpf.service

include tests/fuzz/fuzz.mk

clean:
	rm -rf build build-san build-arm64 pyprof-bpf

-include $(OBJS:.o=.d) $(UNIT_OBJS:.o=.d)
