// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal KVM user, to show that KVM still works after khyp refused to
 * load beside it.  Not a reference runner: the benchmarks have their own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "khyp_util.h"

#define GUEST_ADDR	0x1000

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int smoke(int vm, char *err, size_t len, int mmap_size)
{
	/* mov al, 42; out 0x10, al; hlt */
	static const unsigned char code[] = { 0xb0, 42, 0xe6, 0x10, 0xf4 };
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	void *mem;
	int vcpu;

	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail(err, len, "mmap guest memory: %s", strerror(errno));
	memcpy(mem, code, sizeof(code));
	region.guest_phys_addr = GUEST_ADDR;
	region.memory_size = 0x1000;
	region.userspace_addr = (unsigned long)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		return fail(err, len, "KVM_SET_USER_MEMORY_REGION: %s",
			    strerror(errno));

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail(err, len, "KVM_CREATE_VCPU: %s", strerror(errno));
	run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu, 0);
	if (run == MAP_FAILED)
		return fail(err, len, "mmap kvm_run: %s", strerror(errno));

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return fail(err, len, "KVM_GET_SREGS: %s", strerror(errno));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		return fail(err, len, "KVM_SET_SREGS: %s", strerror(errno));
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_ADDR;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		return fail(err, len, "KVM_SET_REGS: %s", strerror(errno));

	if (ioctl(vcpu, KVM_RUN, 0))
		return fail(err, len, "KVM_RUN: %s", strerror(errno));
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != 0x10 ||
	    ((unsigned char *)run)[run->io.data_offset] != 42)
		return fail(err, len, "first exit %u, wanted OUT 42 to 0x10",
			    run->exit_reason);
	if (ioctl(vcpu, KVM_RUN, 0))
		return fail(err, len, "KVM_RUN: %s", strerror(errno));
	if (run->exit_reason != KVM_EXIT_HLT)
		return fail(err, len, "second exit %u, wanted HLT",
			    run->exit_reason);
	close(vcpu);
	munmap(run, mmap_size);
	munmap(mem, 0x1000);
	return 0;
}

int kvm_smoke_test(char *err, size_t len)
{
	int kvm, vm, size, r;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail(err, len, "open /dev/kvm: %s", strerror(errno));
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || size <= 0) {
		r = fail(err, len, "KVM_CREATE_VM: %s", strerror(errno));
		close(kvm);
		return r;
	}
	r = smoke(vm, err, len, size);
	close(vm);
	close(kvm);
	return r;
}
