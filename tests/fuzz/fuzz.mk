# tests/fuzz/fuzz.mk - libFuzzer targets for the portable code (mm/, platform/dt.c, kernel/bootargs.c).
# Included at the end of the Makefile; uses its BUILD, Q, WARN, HCFLAGS, PORTABLE, LIBFDT, LIBFDT_SRCS, SETUP.
#   make fuzz-build                 build build/fuzz/<target> for every target
#   make fuzz [FUZZ_SECONDS=10]     build, replay tests/fuzz/regressions/<target>/*, then fuzz each target
#                                   for FUZZ_SECONDS over build/fuzz/corpus/<target> (seeded from
#                                   tests/fuzz/corpus/<target>); fails on any crash, sanitizer report,
#                                   leak or timeout, and prints "fuzz: <target> execs=N crashes=N"
#   make fuzz-run-<target>          the same for one target (e.g. make fuzz-run-dt FUZZ_SECONDS=600)
#   make fuzz-long [FUZZ_LONG_SECONDS=3600]
#                                   a long campaign: make fuzz with FUZZ_LONG_SECONDS per target (6 h for
#                                   all six at the default); the work corpus carries over between runs
# Saved inputs: build/fuzz/artifacts/<target>/, logs: build/fuzz/logs/. Seeds: tests/fuzz/gen_seeds.py.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 10
FUZZ_LONG_SECONDS ?= 3600
FUZZ_TARGETS := dt bootargs buddy_ops pools_ops cma_ops mem_ops
FUZZ_DIR     := $(BUILD)/fuzz

# the host tests' -I and -D flags, clang's sanitizers and libFuzzer's coverage instrumentation
FUZZ_SAN     := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=gnu11 -g -O1 $(WARN) $(FUZZ_SAN) -fno-omit-frame-pointer $(filter -I% -D%,$(HCFLAGS))
FUZZ_LIBSRCS := $(filter-out tests/%,$(PORTABLE)) tests/host/shim.c tests/fuzz/fuzz_common.c
FUZZ_LIBOBJS := $(patsubst %,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIBSRCS)) \
                $(patsubst %,$(FUZZ_DIR)/obj/libfdt/%.o,$(LIBFDT_SRCS))
FUZZ_LIB     := $(FUZZ_DIR)/libfuzzcode.a
FUZZ_BINS    := $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))

# Comparison tracing helps a fuzzer through parsers (dt.c, bootargs.c with the cma= grammar) but costs
# the allocator cores, their *_check() walks and the harnesses' models a factor of 3-4 in speed. mm/
# holds no parser any more (cma= moved to bootargs.c): all of it goes without. So does libfdt: its tag
# walk (fdt_next_tag, fdt_offset_ptr) took half of the dt target's time in compare hooks, while the
# names dt.c looks for reach the fuzzer through the memcmp/strcmp hooks and dt.dict anyway.
FUZZ_NOCMP   := -fno-sanitize-coverage=trace-cmp
FUZZ_XFLAGS   = $(if $(filter mm/% tests/%,$<),$(FUZZ_NOCMP))
# The harnesses (models, checks, op dispatch) get no coverage counters at all: their branches follow the
# code under test's, so they only doubled libFuzzer's features per run (and its per-feature bookkeeping,
# the largest cost of a run) without telling inputs apart any better. Measured on pools_ops: 30 % less
# CPU per input. The code under test keeps every counter.
FUZZ_HARNESS := -fsanitize-coverage-ignorelist=tests/fuzz/harness.ignore

.PHONY: fuzz fuzz-long fuzz-build $(addprefix fuzz-run-,$(FUZZ_TARGETS))

fuzz-build: $(FUZZ_BINS)

fuzz: $(addprefix fuzz-run-,$(FUZZ_TARGETS))

# the same runs, longer (a target-specific value reaches the fuzz-run-% prerequisites)
fuzz-long: FUZZ_SECONDS = $(FUZZ_LONG_SECONDS)
fuzz-long: $(addprefix fuzz-run-,$(FUZZ_TARGETS))

# objects rebuild when the flags may have changed (Makefile, this file), like the Makefile's own
$(FUZZ_DIR)/obj/%.c.o: %.c $(SETUP) Makefile tests/fuzz/fuzz.mk
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_XFLAGS) -MMD -MP -c $< -o $@
$(FUZZ_DIR)/obj/libfdt/%.o: $(LIBFDT)/% $(SETUP) tests/fuzz/fuzz.mk
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(filter-out -Wextra -Werror,$(FUZZ_CFLAGS)) $(FUZZ_NOCMP) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIBOBJS)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_DIR)/%: tests/fuzz/fuzz_%.c $(FUZZ_LIB) Makefile tests/fuzz/fuzz.mk tests/fuzz/harness.ignore
	@mkdir -p $(dir $@)
	@echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_XFLAGS) $(FUZZ_HARNESS) -MMD -MF $@.d $< $(FUZZ_LIB) -lpthread -o $@

# a static pattern rule: make skips implicit rules for .PHONY targets
$(addprefix fuzz-run-,$(FUZZ_TARGETS)): fuzz-run-%: $(FUZZ_DIR)/%
	@sh tests/fuzz/run_fuzz.sh $* $(FUZZ_DIR) $(FUZZ_SECONDS)

-include $(shell find $(FUZZ_DIR) -name '*.d' 2>/dev/null)
