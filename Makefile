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
#   make fuzz            the ioctl fuzzer alone, longer than the suite's run:
#                        MACHINE (svm-qemu), CALLS (1000000), FUZZ_SECONDS
#                        (600), SEED (the time); docs/reliability.md
#   make guest-fuzz      the guest-surface fuzzer alone, longer: MACHINE
#                        (svm-qemu; vmx-bochs for VMX), FUZZ_SECONDS (600),
#                        SEED (the time), CASE (one case's seed alone)
#   make soak            4 VMs x 2 vCPUs under a memory hog, vCPU threads
#                        moving between CPUs (selftests/soak_test.c): MACHINE
#                        (svm-qemu-smp2), SOAK_SECONDS (600)
#   make bench           khyp against KVM in each emulated machine (root;
#                        docs/performance.md); bench/khyp-bench alone: make khyp-bench;
#                        the Linux boot against QEMU -accel kvm alone:
#                        make bench ONLY=linux_boot (MACHINE=svm-qemu-boot: with its file);
#                        the balloon against QEMU's: ONLY=linux_balloon (MACHINE=svm-qemu-balloon)
#   make install         khyp.ko (kbuild's modules_install, or DKMS with
#                        MODULE_INSTALL=dkms), the launcher and its man page,
#                        the uapi headers, a udev rule (/dev/khyp: group khyp,
#                        0660) and a modules-load.d entry that is off
#   make uninstall       removes exactly what `make install` put there
#   make dkms-source     the module's source as DKMS wants it, in
#                        $(DESTDIR)/usr/src/khyp-<version>
#
# KDIR defaults to the running kernel's build tree.

KDIR	?= /lib/modules/$(shell uname -r)/build
KHYP_CACHE ?= /var/cache/khyp
KSFT_DIR ?= $(KHYP_CACHE)/linux-source-6.1/tools/testing/selftests
CHECKPATCH ?= $(KHYP_CACHE)/linux-source-6.1/scripts/checkpatch.pl

SRCS := $(wildcard core/*.[ch] vmx/*.[ch] svm/*.[ch] mmu/*.[ch] irq/*.[ch] \
		   balloon/*.[ch]) uapi/linux/khyp.h

.PHONY: version check-kdir dkms-build install install-module install-files uninstall dkms-source \
	uninstall-module uninstall-files
.PHONY: all module selftests tool guests khyp-bench check sparse checkpatch test demo \
	bench fuzz guest-fuzz soak clean

all: module selftests tool guests khyp-bench

module: check-kdir
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

# A clear message instead of make's "No such file or directory" when the
# headers of the kernel are not installed (DKMS's MAKE[0] goes through here).
check-kdir:
	@test -f $(KDIR)/Makefile && test -f $(KDIR)/include/config/auto.conf || \
	{ echo "khyp: no kernel headers in $(KDIR)."; \
	  echo "khyp: install them (Debian/Ubuntu: apt install linux-headers-$(notdir $(patsubst %/,%,$(dir $(KDIR)))))"; \
	  echo "khyp: or name the build tree with KDIR=/lib/modules/<version>/build"; \
	  exit 1; }

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

FUZZ_SECONDS ?= 600
fuzz:
	MACHINE_TIMEOUT=$$(( $(FUZZ_SECONDS) + 300 )) \
	MACHINE_ENV="KHYP_FUZZ_CALLS=$(or $(CALLS),1000000) KHYP_FUZZ_SECONDS=$(FUZZ_SECONDS)$(if $(SEED), KHYP_FUZZ_SEED=$(SEED))" \
		scripts/test.sh --no-deps --no-check --machine $(or $(MACHINE),svm-qemu) --test ioctl_fuzz_test

guest-fuzz:
	MACHINE_TIMEOUT=$$(( $(FUZZ_SECONDS) + 300 )) \
	MACHINE_ENV="KHYP_GFUZZ_SECONDS=$(FUZZ_SECONDS) KHYP_GFUZZ_SEED=$(or $(SEED),$(shell date +%s))$(if $(CASE), KHYP_GFUZZ_CASE=$(CASE))" \
		scripts/test.sh --no-deps --no-check --machine $(or $(MACHINE),svm-qemu) --test guest_fuzz_test

SOAK_SECONDS ?= 600
soak:
	MACHINE_TIMEOUT=$$(( $(SOAK_SECONDS) + 300 )) \
	MACHINE_ENV="KHYP_SOAK_SECONDS=$(SOAK_SECONDS)" \
		scripts/test.sh --no-deps --no-check --machine $(or $(MACHINE),svm-qemu-smp2) --test soak_test

demo: tool guests
	scripts/demo.sh

bench:
	scripts/bench.sh $(if $(MACHINE),--machine $(MACHINE)) $(if $(PAIRS),--pairs $(PAIRS)) $(if $(REPS),--reps $(REPS)) $(if $(ONLY),--only $(ONLY))

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean || true
	$(MAKE) -C userspace-tool clean
	$(MAKE) -C guests clean
	$(MAKE) -C bench clean
	$(MAKE) -C selftests KSFT_DIR=$(KSFT_DIR) OUTPUT=$(CURDIR)/selftests clean || true
	rm -rf build .sparse.log

# ---- install ---------------------------------------------------------------
#
# PREFIX (/usr/local) holds the launcher, its man page and the uapi headers;
# the udev rule and the modules-load.d entry go where udev and systemd read
# them whatever PREFIX is (the Debian package sets UDEVRULESDIR to
# /lib/udev/rules.d).  With DESTDIR, nothing outside it is touched: no
# depmod, no group, no udevadm, no DKMS (MODULE_INSTALL=dkms then only copies
# the module's source), and `make uninstall` also removes the directories it
# leaves empty in DESTDIR, so that install + uninstall leave an empty tree.
# Without DESTDIR, uninstall removes files only: the directories (and the
# khyp group, like the Debian package) were not necessarily ours.

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
MANDIR		?= $(PREFIX)/share/man
INCLUDEDIR	?= $(PREFIX)/include
UDEVRULESDIR	?= /etc/udev/rules.d
MODULESLOADDIR	?= /etc/modules-load.d
MODULE_INSTALL	?= kbuild
KHYP_BASE_VERSION := $(shell sed -n 's/^KHYP_BASE_VERSION := //p' Kbuild)
DKMS_SRC	:= /usr/src/khyp-$(KHYP_BASE_VERSION)
KHYP_GIT_VERSION := $(shell test -e .git && h=$$(git rev-parse --short=12 HEAD 2>/dev/null) && \
	echo "+g$$h$$(git --no-optional-locks status --porcelain -uno 2>/dev/null | \
	grep -q . && echo -dirty)")
# (Debian's 6.1 headers say 6.1.x in kernel.release: utsrelease.h is right)
# The version string of the module (Kbuild computes the same): from
# khyp-version in a tree without .git (the copy the packaging test builds).
KHYP_VERSION	:= $(or $(shell cat khyp-version 2>/dev/null),$(KHYP_BASE_VERSION)$(KHYP_GIT_VERSION))
KVER		 = $(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' \
		   $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
# The directories khyp.ko's objects come from, read from Kbuild, so that a
# source file added or renamed needs no change here; and uapi/.
MODULE_DIRS	:= $(sort $(patsubst %/,%,$(dir $(shell sed -e ':a' -e '/\\$$/{N;s/\\\n//;ba' \
		   -e '}' -n -e 's/^khyp-y[ \t]*[:+]*=//p' Kbuild)))) uapi
UAPI_HDRS	:= $(notdir $(wildcard uapi/linux/*.h))
INSTALLED_FILES	:= $(BINDIR)/khyp $(MANDIR)/man1/khyp.1 \
		   $(addprefix $(INCLUDEDIR)/linux/,$(UAPI_HDRS)) \
		   $(UDEVRULESDIR)/60-khyp.rules $(MODULESLOADDIR)/khyp.conf

install: install-module install-files

install-files: tool
	install -D -m 755 userspace-tool/khyp $(DESTDIR)$(BINDIR)/khyp
	install -D -m 644 userspace-tool/khyp.1 $(DESTDIR)$(MANDIR)/man1/khyp.1
	for h in $(UAPI_HDRS); do \
		install -D -m 644 uapi/linux/$$h $(DESTDIR)$(INCLUDEDIR)/linux/$$h || exit 1; \
	done
	install -D -m 644 packaging/60-khyp.rules $(DESTDIR)$(UDEVRULESDIR)/60-khyp.rules
	install -D -m 644 packaging/modules-load.conf $(DESTDIR)$(MODULESLOADDIR)/khyp.conf
ifeq ($(DESTDIR),)
	getent group khyp > /dev/null || groupadd --system khyp
	-udevadm control --reload
	-test ! -e /dev/khyp || udevadm trigger --name-match=khyp
endif

# The module's source for DKMS: Kbuild, dkms.conf, this Makefile (DKMS
# builds through `make dkms-build`), every directory Kbuild names, and the
# version string (there is no .git in /usr/src).
dkms-source:
	mkdir -p $(DESTDIR)$(DKMS_SRC)
	install -m 644 Kbuild Makefile $(DESTDIR)$(DKMS_SRC)/
	sed 's/#MODULE_VERSION#/$(KHYP_BASE_VERSION)/' packaging/dkms.conf \
		> $(DESTDIR)$(DKMS_SRC)/dkms.conf
	find $(MODULE_DIRS) -name '*.[chS]' -exec install -D -m 644 {} \
		$(DESTDIR)$(DKMS_SRC)/{} \;
	echo "$(KHYP_VERSION)" > $(DESTDIR)$(DKMS_SRC)/khyp-version

version:
	@echo "$(KHYP_VERSION)"

# DKMS's build command (packaging/dkms.conf): KDIR is the kernel it builds for.
dkms-build: check-kdir
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

ifeq ($(MODULE_INSTALL),dkms)
install-module: dkms-source
ifeq ($(DESTDIR),)
	dkms status -m khyp -v $(KHYP_BASE_VERSION) | grep -q . || \
		dkms add -m khyp -v $(KHYP_BASE_VERSION)
	dkms install -m khyp -v $(KHYP_BASE_VERSION) -k $(KVER)
endif
uninstall-module:
ifeq ($(DESTDIR),)
	-dkms remove -m khyp -v $(KHYP_BASE_VERSION) --all
endif
	rm -rf $(DESTDIR)$(DKMS_SRC)
else
# kbuild's modules_install puts khyp.ko (compressed as the kernel's own
# modules are, if they are) in /lib/modules/<version>/updates.
install-module: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=updates DEPMOD=true CONFIG_MODULE_SIG_ALL= modules_install
ifeq ($(DESTDIR),)
	depmod -a $(KVER)
endif
uninstall-module:
	@test -n "$(KVER)" || { echo "khyp: KDIR=$(KDIR): which kernel?"; exit 1; }
	rm -f $(DESTDIR)/lib/modules/$(KVER)/updates/khyp.ko*
ifeq ($(DESTDIR),)
	depmod -a $(KVER)
endif
endif

uninstall-files:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))
ifeq ($(DESTDIR),)
	-udevadm control --reload
endif

# In DESTDIR (a staging tree), also the directories install made and
# uninstall left empty: each installed file's parents up to DESTDIR.
uninstall: uninstall-module uninstall-files
ifneq ($(filter-out /,$(DESTDIR)),)
	@for f in $(INSTALLED_FILES) $(DKMS_SRC)/ \
		  $(if $(KVER),/lib/modules/$(KVER)/updates/khyp.ko); do \
		d=$$(dirname "$$f"); \
		while [ "$$d" != / ] && rmdir "$(DESTDIR)$$d" 2>/dev/null; do \
			d=$$(dirname "$$d"); \
		done; \
	done
endif
