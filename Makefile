# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#
#   make deps    install the Debian packages the build and the tests need
#   make         build ./pyprof-bpf
#   make test    run every test (unit, golden, end-to-end); root for e2e
#   make bench   measure the overhead (scripts/bench): BENCHMARKS.md + PNG;
#                root, about 15 minutes; BENCH_ARGS=--quick for a short run
#   make V=1     show the commands
.DELETE_ON_ERROR:
.SUFFIXES:

OUT      := build
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PYTHON   ?= /usr/bin/python3
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
CFLAGS   += $(WARN) -std=gnu11 -D_GNU_SOURCE -I$(OUT) -Isrc -MMD -MP
NCURSES_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo)
LDLIBS   := -lbpf -ldw -lelf -lz $(NCURSES_LIBS) -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) \
	      -Ivmlinux -Ibpf -Wno-unused-function

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

SRCS      := $(wildcard src/*.c)
OBJS      := $(patsubst src/%.c,$(OUT)/%.o,$(SRCS))
LIB_OBJS  := $(filter-out $(OUT)/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(patsubst tests/unit/%.c,$(OUT)/unit/%.o,$(UNIT_SRCS))
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
SKELS     := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))

DEB_PKGS := make gcc clang llvm bpftool libbpf-dev libelf-dev libdw-dev zlib1g-dev \
	    pkg-config python3 python3-pytest procps util-linux \
	    libncurses-dev tmux \
	    golang-go valgrind chromium fonts-dejavu-core libxml2-utils nodejs \
	    python3-matplotlib austin linux-perf time
# The output formats' consumers (tests/test_formats.py): go tool pprof,
# callgrind_annotate, headless Chromium driven from node.  Debian's npm too,
# unless node already came with its own (NodeSource's nodejs bundles npm and
# conflicts with Debian's npm package).
DEB_NPM  := $(if $(shell command -v npm 2>/dev/null),,npm)
# playwright-core, speedscope and ajv, pinned by package-lock.json, into the
# ignored tests/browser/node_modules; never a browser download.
NPM_DIR  := tests/browser

.PHONY: all deps npm-deps test unit clean bench bench-tools
all: pyprof-bpf $(OUT)/unit_tests

deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (it calls apt-get)" >&2; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PKGS) $(DEB_NPM)
	$(MAKE) npm-deps

npm-deps:
	cd $(NPM_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund

$(OUT) $(OUT)/unit:
	$(Q)mkdir -p $@

$(OUT)/%.bpf.o: bpf/%.bpf.c bpf/pyprof_shared.h $(wildcard bpf/*.h) vmlinux/vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# The loader includes the skeleton; everything else may too, cheaply.
$(OBJS): | $(SKELS)

$(OUT)/%.o: src/%.c | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/unit/%.o: tests/unit/%.c | $(OUT)/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -c $< -o $@

$(OUT)/pyprof-bpf: $(OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

pyprof-bpf: $(OUT)/pyprof-bpf
	$(Q)cp $< $@

$(OUT)/unit_tests: $(LIB_OBJS) $(UNIT_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

unit: $(OUT)/unit_tests
	$(OUT)/unit_tests

test: all
	$(PYTHON) -m pytest -ra tests

# The benchmark's helper: an empty perf_event program, the floor its BPF
# cost is compared with.  Never part of `all` or `test`.
BENCH_OUT := $(OUT)/bench
$(BENCH_OUT):
	$(Q)mkdir -p $@

$(BENCH_OUT)/bench-floor.bpf.o: scripts/bench-floor.bpf.c vmlinux/vmlinux.h | $(BENCH_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_OUT)/bench-floor.skel.h: $(BENCH_OUT)/bench-floor.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bench_floor > $@

$(BENCH_OUT)/bench-floor: scripts/bench-floor.c $(BENCH_OUT)/bench-floor.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -I$(BENCH_OUT) $(LDFLAGS) $< $(LDLIBS) -o $@

bench-tools: pyprof-bpf $(BENCH_OUT)/bench-floor

bench: bench-tools
	$(PYTHON) scripts/bench $(BENCH_ARGS)

clean:
	rm -rf $(OUT) pyprof-bpf

-include $(OBJS:.o=.d) $(UNIT_OBJS:.o=.d)
