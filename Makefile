# Proxima - one Makefile: the RISC-V kernel, host tests, QEMU runs, benchmarks.
#   make            build build/kernel.elf (+ .map, .asm)
#   make run        boot the default topology (NUMA, DIST, BOOTARGS, ICOUNT: see README)
#                   QEMU=7.2 boots on Debian 12's QEMU 7.2 (build/qemu-7.2) instead of QEMU 10.0; also for
#                   kernel-test, bench, soak and gdb
#                   MESH=8x8 [HOP=2] splits the NUMA nodes into an emulated mesh of up to 16x16 clusters
#   make test       host tests + the in-kernel suites on the topology matrix + a console session
#   make console-test  replay tests/console/session.txt at the console prompt and check the answers
#   make host-test  host tests only (mm/ under ASan + UBSan); make tsan-test: the lock tests under TSan
#   make bench      benchmarks on the serial console + report under build/bench/
#   make fuzz       libFuzzer targets, FUZZ_SECONDS (default 10) each; make fuzz-build builds only
#   make soak       all harts, SOAK_OPS (default 2M) mixed mem_alloc/mem_free/CMA ops, nothing lost
#   make gdb        boot halted with a gdb stub, then attach riscv64 gdb
#   make help       this text

BUILD    := build
CROSS    ?= riscv64-unknown-elf-
CC       := $(CROSS)gcc
OBJDUMP  := $(CROSS)objdump
NEWLIB   := $(BUILD)/newlib/riscv64-unknown-elf
LIBFDT   := $(BUILD)/libfdt
SETUP    := $(BUILD)/.setup-done
PYTHON   ?= python3

# Build-time choices: LOCK=qspin|mcs|ticket|tas selects the heaps' spinlock, DEBUG=1 the debug allocator.
Q        := $(if $(V),,@)
COMMA    := ,
LOCK     ?= qspin
DEBUG    ?= 0
QEMU     ?=

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
# max-grow-copy-bb-insns: GCC may copy a tail block of up to 64 instructions so that a function whose
# only calls are on slow paths (the inline mem_alloc()/mem_free() fast paths) builds its frame there only
# (shrink-wrapping); the default of 8 leaves a frame on the fast path of such callers.
KCFLAGS  := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-common -mcmodel=medany -march=rv64gc \
            -mabi=lp64d -ffunction-sections -fdata-sections --param=max-grow-copy-bb-insns=64 \
            -I. -I$(LIBFDT) -isystem $(NEWLIB)/include -DLOCK_KIND_$(LOCK)=1 -DMM_DEBUG=$(DEBUG) -DMM_CPU_AT_TP=1
KLDFLAGS := -nostdlib -nostartfiles -static -T ldscripts/kernel.ld -Wl,--gc-sections -Wl,--no-warn-rwx-segments \
            -Wl,-Map,$(BUILD)/kernel.map -L$(NEWLIB)/lib

LIBFDT_SRCS := fdt.c fdt_ro.c fdt_wip.c fdt_sw.c fdt_rw.c fdt_strerror.c fdt_empty_tree.c fdt_addresses.c
PORTABLE := $(wildcard mm/*.c) kernel/lock.c kernel/bootargs.c kernel/console_line.c platform/dt.c platform/mesh.c \
            tests/ktap.c $(wildcard tests/common/*.c)
KSRCS    := $(wildcard boot/*.S) $(filter-out $(PORTABLE),$(wildcard kernel/*.c platform/*.c)) \
            $(PORTABLE) $(wildcard tests/kernel/*.c tests/programs/*.c)
KOBJS    := $(patsubst %,$(BUILD)/k/%.o,$(KSRCS)) $(patsubst %,$(BUILD)/k/libfdt/%.o,$(LIBFDT_SRCS))

HOSTCC   ?= gcc
HCFLAGS  := -std=gnu11 -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer -I. -I$(LIBFDT) -DLOCK_KIND_$(LOCK)=1 -DMM_DEBUG=$(DEBUG) -DHOST_TEST=1
HSRCS    := $(PORTABLE) $(wildcard tests/host/*.c)
HOBJS    := $(patsubst %,$(BUILD)/h/%.o,$(HSRCS)) $(patsubst %,$(BUILD)/h/libfdt/%.o,$(LIBFDT_SRCS))

.PHONY: all run test host-test tsan-test tools-test kernel-test console-test bench soak gdb help setup clean
all: $(BUILD)/kernel.elf

# The toolchain, newlib, libfdt and kunit.py come from tools/setup.sh. Its stamp is an included makefile:
# when make has to (re)build it, make restarts afterwards and so sees the files setup created.
setup: $(SETUP)
$(SETUP): tools/setup.sh
	bash tools/setup.sh
	@echo "# setup done: $$(date)" > $@
ifeq ($(filter help clean,$(MAKECMDGOALS)),)
include $(SETUP)
endif

# The kernel's object rules, once per object tree: $(1) the folder under build/, $(2) the C flags, $(3) the
# label of the compile line. Assembly and libfdt build with KCFLAGS in both trees.
define KOBJ_RULES
$(BUILD)/$(1)/%.c.o: %.c $(SETUP) Makefile
	@mkdir -p $$(dir $$@)
	@echo "  $(3) $$<"
	$(Q)$(CC) $(2) -MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/%.S.o: %.S $(SETUP) Makefile
	@mkdir -p $$(dir $$@)
	$(Q)$(CC) $(KCFLAGS) -MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/libfdt/%.o: $(LIBFDT)/% $(SETUP)
	@mkdir -p $$(dir $$@)
	$(Q)$(CC) $(filter-out -Wextra -Werror,$(KCFLAGS)) -c $$< -o $$@
endef
$(eval $(call KOBJ_RULES,k,$(KCFLAGS),CC     ))

# the debug allocator build (DEBUG=1 objects in build/kd/): poison, guards, allocation sites
KDOBJS   := $(patsubst $(BUILD)/k/%,$(BUILD)/kd/%,$(KOBJS))
KDCFLAGS := $(filter-out -DMM_DEBUG=%,$(KCFLAGS)) -DMM_DEBUG=1
$(eval $(call KOBJ_RULES,kd,$(KDCFLAGS),CC-DBG ))
$(BUILD)/kernel-debug.elf: $(KDOBJS) ldscripts/kernel.ld
	@echo "  LD      $@"
	$(Q)$(CC) $(KCFLAGS) $(filter-out -Wl$(COMMA)-Map%,$(KLDFLAGS)) $(KDOBJS) -Wl,--start-group -lc -lm -lgcc -Wl,--end-group -o $@

$(BUILD)/kernel.elf: $(KOBJS) ldscripts/kernel.ld
	@echo "  LD      $@"
	$(Q)$(CC) $(KCFLAGS) $(KLDFLAGS) $(KOBJS) -Wl,--start-group -lc -lm -lgcc -Wl,--end-group -o $@
	$(Q)$(OBJDUMP) -d -S $@ > $(BUILD)/kernel.asm

$(BUILD)/h/%.c.o: %.c $(SETUP) Makefile
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	$(Q)$(HOSTCC) $(HCFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/h/libfdt/%.o: $(LIBFDT)/% $(SETUP)
	@mkdir -p $(dir $@)
	$(Q)$(HOSTCC) $(filter-out -Wextra -Werror,$(HCFLAGS)) -c $< -o $@
$(BUILD)/host-tests: $(HOBJS)
	@echo "  LD      $@"
	$(Q)$(HOSTCC) $(HCFLAGS) $^ -lpthread -o $@

host-test: $(BUILD)/host-tests
	$(BUILD)/host-tests

# The lock tests under ThreadSanitizer (clang): QEMU on an x86 host runs RISC-V code with stronger
# ordering than RVWMO allows, so a missing fence passes every boot; TSan checks the C11 orderings.
# Built apart (TSan and ASan do not mix): the lock, its host shim and the KTAP runner only.
TSAN_CC   ?= clang
TSAN_SRCS := kernel/lock.c tests/host/shim.c tests/host/test_lock.c tests/ktap.c tests/host/main.c mm/err.c mm/env.c
$(BUILD)/host-tests-tsan: $(TSAN_SRCS) $(wildcard kernel/lock.h tests/*.h tests/host/*.h mm/*.h) $(SETUP) Makefile
	@mkdir -p $(dir $@)
	@echo "  TSAN    $@"
	$(Q)$(TSAN_CC) $(filter-out -fsanitize=% -fno-sanitize-recover=all,$(HCFLAGS)) -fsanitize=thread \
		$(TSAN_SRCS) -lpthread -o $@

tsan-test: $(BUILD)/host-tests-tsan
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/host-tests-tsan host_locks

run: $(BUILD)/kernel.elf
	$(PYTHON) tools/run.py run --qemu "$(QEMU)" --numa "$(NUMA)" --dist "$(DIST)" --mesh "$(MESH)" --hop "$(HOP)" \
		--bootargs "$(BOOTARGS)" --icount "$(ICOUNT)"

kernel-test: $(BUILD)/kernel.elf $(BUILD)/kernel-debug.elf
	$(PYTHON) tools/run.py matrix --qemu "$(QEMU)"

# one boot of a 2-cluster machine: the session's commands at the prompt, each answer checked
console-test: $(BUILD)/kernel.elf
	$(PYTHON) tools/console_check.py

# the runner's and the bench report's own tests (a fake QEMU, saved logs; no kernel needed)
tools-test:
	$(PYTHON) -m unittest tests.tools.test_run tests.tools.test_bench_report

test: host-test tsan-test tools-test fuzz kernel-test
	$(PYTHON) tools/console_check.py

bench: $(BUILD)/kernel.elf
	$(PYTHON) tools/run.py bench --qemu "$(QEMU)"

SOAK_OPS ?= 2000000
soak: $(BUILD)/kernel.elf
	$(PYTHON) tools/run.py run --qemu "$(QEMU)" --numa "$(NUMA)" --dist "$(DIST)" --mesh "$(MESH)" --hop "$(HOP)" --timeout 3600 \
		--bootargs "soak=$(SOAK_OPS) cma=default:16M $(BOOTARGS)"

gdb: $(BUILD)/kernel.elf
	$(PYTHON) tools/run.py run --qemu "$(QEMU)" --numa "$(NUMA)" --dist "$(DIST)" --mesh "$(MESH)" --hop "$(HOP)" \
		--bootargs "$(BOOTARGS)" --gdb

help:
	@sed -n '2,15p' Makefile | sed 's/^# \{0,1\}//'

clean:
	rm -rf $(BUILD)/fuzz/obj $(BUILD)/fuzz/libfuzzcode.a
	rm -rf $(BUILD)/k $(BUILD)/kd $(BUILD)/h $(BUILD)/kernel.* $(BUILD)/kernel-debug.elf $(BUILD)/host-tests \
		$(BUILD)/host-tests-tsan

-include $(shell find $(BUILD)/k $(BUILD)/kd $(BUILD)/h -name '*.d' 2>/dev/null)

include tests/fuzz/fuzz.mk
