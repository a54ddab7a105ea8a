# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#
# libFuzzer targets (tests/fuzz/fuzz_*.c), included by the Makefile.
#
#   make fuzz              build every target into build/fuzz and run each
#                          for FUZZ_TIME seconds (default 60)
#   make fuzz FUZZ_TIME=600 FUZZ_TARGETS="elf folded"
#   make fuzz-build        build only
#   make fuzz-seeds        (re)generate build/fuzz/seeds from live
#                          interpreters and a real capture (root)
#
# The sources are compiled again with clang, coverage and ASan+UBSan, into
# build/fuzz/obj, archived so that each target links only what it uses.

FUZZ_OUT     := build/fuzz
FUZZ_TIME    ?= 60
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) $(WARN) \
		-std=gnu11 -D_GNU_SOURCE -I$(OUT) -Isrc -I. -Itests/fuzz -MMD -MP
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   := $(filter-out mem,$(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS)))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_BINS    := $(patsubst %,$(FUZZ_OUT)/fuzz_%,$(FUZZ_NAMES))
FUZZ_LIB_OBJS := $(patsubst src/%.c,$(FUZZ_OUT)/obj/%.o,$(filter-out src/main.c,$(SRCS)))
FUZZ_LIB     := $(FUZZ_OUT)/libpyprof-fuzz.a

.PHONY: fuzz fuzz-build fuzz-seeds

$(FUZZ_OUT)/obj:
	$(Q)mkdir -p $@

$(FUZZ_OUT)/obj/%.o: src/%.c | $(FUZZ_OUT)/obj $(SKELS)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/obj/fuzz_%.o: tests/fuzz/fuzz_%.c | $(FUZZ_OUT)/obj $(SKELS)
	$(call msg,FUZZCC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

# The agent's page, embedded with .incbin (see the Makefile).
$(FUZZ_OUT)/obj/serve/web.o: $(WEB_FILES)

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_OUT)/fuzz_%: $(FUZZ_OUT)/obj/fuzz_%.o $(FUZZ_OUT)/obj/fuzz_mem.o $(FUZZ_LIB)
	$(call msg,FUZZLD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

# Seeds: tests/fuzz/seeds/NAME (committed, small) and build/fuzz/seeds/NAME
# (made here from this machine's interpreters and ELF files; skipped with a
# note where that cannot be done).
fuzz-seeds: pyprof-bpf $(FUZZ_OUT)/seed_pymem
	$(Q)$(PYTHON) scripts/fuzz-seeds $(FUZZ_OUT)/seeds

fuzz: fuzz-build
	$(Q)[ -d $(FUZZ_OUT)/seeds ] || $(MAKE) --no-print-directory fuzz-seeds
	$(Q)scripts/fuzz-run $(FUZZ_OUT) $(FUZZ_TIME) $(FUZZ_TARGETS)

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_OUT)/obj/fuzz_mem.d \
	 $(patsubst %,$(FUZZ_OUT)/obj/fuzz_%.d,$(FUZZ_NAMES))

# Keep the targets' objects (make would delete them as intermediates).
.SECONDARY: $(FUZZ_OUT)/obj/fuzz_mem.o \
	    $(patsubst %,$(FUZZ_OUT)/obj/fuzz_%.o,$(FUZZ_NAMES))

# The recorder scripts/fuzz-seeds runs against live interpreters: the
# normal build's objects, no fuzzer.
$(FUZZ_OUT)/seed_pymem: tests/fuzz/seed_pymem.c $(LIB_OBJS) | $(FUZZ_OUT)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) $^ $(LDLIBS) -o $@
