// SPDX-License-Identifier: GPL-2.0
/*
 * Reading guest memory by guest-virtual address.
 *
 * To emulate an instruction the core must read its bytes at CS:RIP
 * (khyp_guest_fetch_insn(), for MMIO, MOV CR and LTR), which means
 * translating through the guest's own page tables: none (paging off),
 * 32-bit 2-level (4 MiB pages with PSE), PAE 3-level, or long-mode
 * 4-level (2 MiB and 1 GiB pages).  The walk checks presence and, for a
 * write, the R/W bits with CR0.WP, as a processor does for a supervisor
 * access: a walk the guest's tables refuse is -EACCES with the page
 * fault a processor would raise (struct khyp_guest_pf), for the caller
 * to give the guest.  It checks neither U/S (SMAP) nor reserved bits,
 * and sets no accessed or dirty bits.  Page-table entries and bytes are
 * read from the module's own guest pages; anything outside RAM fails
 * with -EFAULT, which is khyp's limit, not a fault of the guest's.
 *
 * The whole read, walk and copy, holds the memory's lock once
 * (khyp_memory_read_locked()): no page can leave the guest meanwhile, so
 * none needs a reference, and an MMIO exit pays one lock, not one per
 * level (docs/performance.md).  A frame never touched reads as zeros, as
 * its page would.
 *
 * One write: khyp_guest_test_and_set_bit(), the busy bit LTR sets in the
 * guest's GDT (core/desc.c), done on the page itself with a locked
 * instruction, as the processor's own write is.
 */
#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <asm/processor-flags.h>
#include <asm/msr-index.h>
#include <asm/trap_pf.h>

#include "../core/vcpu.h"
#include "../core/vm.h"
#include "gwalk.h"

#define GW_PRESENT	BIT_ULL(0)
#define GW_RW		BIT_ULL(1)
#define GW_PS		BIT_ULL(7)
#define GW_ADDR_MASK	GENMASK_ULL(51, 12)

/* Copy @len bytes at guest-physical @gpa, within one page; mem.lock held. */
static int khyp_guest_read_phys(struct khyp_vm *vm, u64 gpa, void *buf,
				unsigned int len)
{
	if (gpa >= KHYP_MAX_GPA)
		return -EFAULT;
	return khyp_memory_read_locked(&vm->mem, gpa, buf, len);
}

static int gw_read_entry(struct khyp_vm *vm, u64 gpa, bool wide, u64 *e)
{
	u32 e32;
	int r;

	if (wide)
		return khyp_guest_read_phys(vm, gpa, e, 8);
	r = khyp_guest_read_phys(vm, gpa, &e32, 4);
	*e = e32;
	return r;
}

/*
 * Guest-virtual -> guest-physical for a supervisor read or @write;
 * mem.lock held.  Returns 0; -EFAULT if a table is not in RAM (or the
 * guest pages with 5 levels); -EACCES with the #PF's error code in *ec
 * if the guest's tables refuse the access.
 */
static int khyp_gva_to_gpa(struct khyp_vm *vm, const struct khyp_paging *p,
			   u64 gva, bool write, u64 *gpa, u32 *ec)
{
	unsigned int level, shift, levels;
	bool wide, writable = true;
	u64 table, e;
	int r;

	if (!(p->cr0 & X86_CR0_PG)) {
		*gpa = gva & U32_MAX;
		return 0;
	}
	*ec = write ? X86_PF_WRITE : 0;
	if (p->efer & EFER_LMA) {
		if (p->cr4 & X86_CR4_LA57)
			return -EFAULT;
		levels = 4;
		wide = true;
		table = p->cr3 & GW_ADDR_MASK;
	} else if (p->cr4 & X86_CR4_PAE) {
		gva &= U32_MAX;
		r = gw_read_entry(vm, (p->cr3 & GENMASK_ULL(31, 5)) +
				  ((gva >> 30) & 3) * 8, true, &e);
		if (r)
			return r;
		if (!(e & GW_PRESENT))
			return -EACCES;
		levels = 2;
		wide = true;
		table = e & GW_ADDR_MASK;
	} else {
		gva &= U32_MAX;
		levels = 2;
		wide = false;
		table = p->cr3 & GENMASK_ULL(31, 12);
	}

	for (level = levels; level >= 1; level--) {
		shift = PAGE_SHIFT + (wide ? 9 : 10) * (level - 1);
		r = gw_read_entry(vm, table + ((gva >> shift) &
				  (wide ? 511 : 1023)) * (wide ? 8 : 4),
				  wide, &e);
		if (r)
			return r;
		if (!(e & GW_PRESENT))
			return -EACCES;
		writable &= !!(e & GW_RW);
		if (level == 1 || ((e & GW_PS) && level <= 3 &&
				   (wide || (p->cr4 & X86_CR4_PSE)))) {
			if (level == 1) {
				*gpa = (e & GW_ADDR_MASK) | (gva & ~PAGE_MASK);
			} else if (!wide) {
				/* 4 MiB page: bits 20:13 are address 39:32. */
				*gpa = (e & GENMASK_ULL(31, 22)) |
				       ((e & GENMASK_ULL(20, 13)) << 19) |
				       (gva & GENMASK_ULL(21, 0));
			} else {
				*gpa = (e & GW_ADDR_MASK &
					~GENMASK_ULL(shift - 1, 0)) |
				       (gva & GENMASK_ULL(shift - 1, 0));
			}
			/* A supervisor write ignores R/W without CR0.WP. */
			if (write && !writable && (p->cr0 & X86_CR0_WP)) {
				*ec |= X86_PF_PROT;
				return -EACCES;
			}
			return 0;
		}
		table = e & (wide ? GW_ADDR_MASK : GENMASK_ULL(31, 12));
	}
	return -EFAULT;
}

/* The page fault of a walk that said -EACCES at @gva, for the caller. */
static void gw_fault(struct khyp_guest_pf *pf, u64 gva, u32 ec)
{
	if (pf) {
		pf->addr = gva;
		pf->error_code = ec;
	}
}

/**
 * khyp_guest_read_virt() - read guest memory at a linear address
 * @vcpu:	whose address space
 * @p:		its paging state (backend get_paging)
 * @gva:	linear address (segment base already added)
 * @buf:	destination
 * @len:	bytes, may cross pages
 * @pf:		out, may be NULL: the page fault, on -EACCES
 *
 * A supervisor read, as the processor's of a descriptor table or of an
 * operand at CPL 0.
 *
 * Return: 0; -EACCES (and *@pf) if the guest's page tables do not map a
 * page; -EFAULT if a page or a table is not RAM.
 */
int khyp_guest_read_virt(struct khyp_vcpu *vcpu, const struct khyp_paging *p,
			 u64 gva, void *buf, unsigned int len,
			 struct khyp_guest_pf *pf)
{
	struct khyp_vm *vm = vcpu->vm;
	unsigned int chunk;
	u32 ec = 0;
	int r = 0;
	u64 gpa;

	mutex_lock(&vm->mem.lock);
	while (len) {
		chunk = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(gva));
		r = khyp_gva_to_gpa(vm, p, gva, false, &gpa, &ec);
		if (r == -EACCES)
			gw_fault(pf, gva, ec);
		if (!r)
			r = khyp_guest_read_phys(vm, gpa, buf, chunk);
		if (r)
			break;
		gva += chunk;
		buf += chunk;
		len -= chunk;
	}
	mutex_unlock(&vm->mem.lock);
	return r;
}

/**
 * khyp_guest_fetch_insn() - the bytes of the instruction at CS:RIP
 * @vcpu:	the vCPU, its registers current
 * @p:		its paging state (backend get_paging)
 * @bytes:	out: up to KHYP_INSN_MAX_LEN bytes
 *
 * For the decoders of the exits that give no instruction (MMIO, MOV CR,
 * LTR).  In 64-bit mode the processor fetches at RIP itself; in every
 * other mode at CS.base + EIP (or IP), within 4 GiB.  The bytes run on
 * into the next page only if it can be read: an instruction that ends
 * before it does not need it, so a page the guest has not mapped there
 * is no error (the decoder says -ENODATA if the bytes do not suffice).
 * Nothing is checked but presence: the processor already fetched them.
 *
 * Return: how many bytes are in @bytes (at least 1), or -errno if none
 * could be read.
 */
int khyp_guest_fetch_insn(struct khyp_vcpu *vcpu, const struct khyp_paging *p,
			  u8 bytes[KHYP_INSN_MAX_LEN])
{
	u64 linear = vcpu->regs.rip;
	unsigned int n;

	if (!(p->efer & EFER_LMA) || !p->cs_l)
		linear = (p->cs_base + linear) & U32_MAX;
	n = min_t(unsigned int, KHYP_INSN_MAX_LEN,
		  PAGE_SIZE - offset_in_page(linear));
	if (khyp_guest_read_virt(vcpu, p, linear, bytes, n, NULL))
		return -EFAULT;
	if (n < KHYP_INSN_MAX_LEN &&
	    !khyp_guest_read_virt(vcpu, p, linear + n, bytes + n,
				  KHYP_INSN_MAX_LEN - n, NULL))
		n = KHYP_INSN_MAX_LEN;
	return n;
}

/**
 * khyp_guest_test_and_set_bit() - set one bit of a guest byte, atomically
 * @vcpu:	whose address space
 * @p:		its paging state (backend get_paging)
 * @gva:	linear address of the byte
 * @nr:		the bit, 0-7
 * @pf:		out: the page fault, on -EACCES
 *
 * For the processor's own locked writes to guest tables that khyp
 * emulates (LTR's busy bit): a supervisor write, which a read-only page
 * refuses when CR0.WP is set.  The page is allocated if the guest never
 * touched it (it then reads as zeros, so callers have read the byte
 * first and found something there).
 *
 * Return: the bit's old value, 0 or 1; -EACCES (and *@pf) if the guest's
 * page tables refuse the write; -EFAULT if @gva is not RAM; -EROFS if it
 * is in a read-only region (a write there is userspace's to handle).
 */
int khyp_guest_test_and_set_bit(struct khyp_vcpu *vcpu,
				const struct khyp_paging *p, u64 gva,
				unsigned int nr, struct khyp_guest_pf *pf)
{
	struct khyp_vm *vm = vcpu->vm;
	unsigned int off;
	struct page *page;
	u32 flags = 0, ec = 0;
	void *va;
	u64 gpa;
	int r;

	mutex_lock(&vm->mem.lock);
	r = khyp_gva_to_gpa(vm, p, gva, true, &gpa, &ec);
	mutex_unlock(&vm->mem.lock);
	if (r == -EACCES)
		gw_fault(pf, gva, ec);
	if (r)
		return r;
	if (gpa >= KHYP_MAX_GPA)
		return -EFAULT;
	page = khyp_memory_get_page(&vm->mem, gpa >> PAGE_SHIFT, &flags);
	if (IS_ERR_OR_NULL(page))
		return -EFAULT;
	if (flags & KHYP_MEM_READONLY) {
		put_page(page);
		return -EROFS;
	}
	/* An aligned long holds the byte: a locked BTS. */
	off = offset_in_page(gpa);
	va = kmap_local_page(page);
	r = test_and_set_bit((off % sizeof(long)) * 8 + (nr & 7),
			     va + round_down(off, sizeof(long)));
	kunmap_local(va);
	put_page(page);
	return r;
}
