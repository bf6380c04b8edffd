# SPDX-License-Identifier: GPL-2.0
#
# khyp top-level Makefile.
#
#   make                 build khyp.ko (against KDIR), the selftests, the
#                        launcher userspace-tool/khyp and the guests/
#   make tool guests     only the launcher and the example guests
#   make check           sparse (C=2) and checkpatch --strict, both clean
#   make test            the whole test run (installs what it needs; root)
#   make test MACHINE=vmx T=api_test    one test binary in one machine
#   make demo            boot the emulated SVM machine, run guests/hello
#   make bench           khyp against KVM in each emulated machine (root;
#                        docs/performance.md); bench/khyp-bench alone: make khyp-bench
#
# KDIR defaults to the running kernel's build tree.

KDIR	?= /lib/modules/$(shell uname -r)/build
KHYP_CACHE ?= /var/cache/khyp
KSFT_DIR ?= $(KHYP_CACHE)/linux-source-6.1/tools/testing/selftests
CHECKPATCH ?= $(KHYP_CACHE)/linux-source-6.1/scripts/checkpatch.pl

SRCS := $(wildcard core/*.[ch] vmx/*.[ch] svm/*.[ch] mmu/*.[ch] irq/*.[ch] \
		   balloon/*.[ch]) uapi/linux/khyp.h

.PHONY: all module selftests tool guests khyp-bench check sparse checkpatch test demo \
	bench clean

all: module selftests tool guests khyp-bench

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

selftests:
	$(MAKE) -C selftests KSFT_DIR=$(KSFT_DIR) OUTPUT=$(CURDIR)/selftests

tool:
	$(MAKE) -C userspace-tool

guests:
	$(MAKE) -C guests

khyp-bench:
	$(MAKE) -C bench

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 C=2 modules > .sparse.log 2>&1
	@! grep -E "warning|error" .sparse.log

checkpatch:
	$(CHECKPATCH) --strict --no-tree --terse --show-types \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f $(SRCS)

check: sparse checkpatch

test:
	scripts/test.sh $(if $(MACHINE),--machine $(MACHINE)) $(if $(T),--test $(T))

demo: tool guests
	scripts/demo.sh

bench:
	scripts/bench.sh $(if $(MACHINE),--machine $(MACHINE)) $(if $(REPS),--reps $(REPS))

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean || true
	$(MAKE) -C userspace-tool clean
	$(MAKE) -C guests clean
	$(MAKE) -C bench clean
	$(MAKE) -C selftests KSFT_DIR=$(KSFT_DIR) OUTPUT=$(CURDIR)/selftests clean || true
	rm -rf build .sparse.log
