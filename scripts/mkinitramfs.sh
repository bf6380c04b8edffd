#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the initramfs the Bochs and QEMU machines boot: a static busybox,
# /init, khyp.ko, the selftest binaries, the launcher with the example
# guests (in /khyp-tool, for launcher_test), the benchmark with its script
# (bench/khyp-bench, scripts/bench-guest.sh; bench_test runs it too), and
# KVM's modules (for the test that khyp refuses to load beside KVM, and the
# benchmark's reference runs).
#
# With KHYP_KVM_MODULES=DIR in the environment, KVM's modules are DIR's
# *.ko (built with the debug kernel, whose release KVER is:
# scripts/test.sh's svm-qemu-debug) instead of the host's for KVER.
#
# With KHYP_LINUX_GUEST="KERNEL INITRD" in the environment it also puts a
# Linux guest for linux_boot_test in /khyp-tool: KERNEL as
# /khyp-tool/ under its own file name and INITRD as
# /khyp-tool/linux-initramfs.cpio (scripts/test.sh: vmx-bochs), and
# the tun module with KVM's, for the devices boot's tap.
#
# Usage: mkinitramfs.sh OUT.cpio.{zst,lz4} KVER KHYP_KO SELFTEST_DIR TEST...
set -euo pipefail

out=$1 kver=$2 ko=$3 tdir=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,khyp,lib/modules/"$kver"}
cp /bin/busybox "$root/bin/busybox"
install -m 755 "$here/initramfs-init" "$root/init"
install -m 755 "$here/guest-run.sh" "$root/khyp/guest-run.sh"
install -m 755 "$here/bench-guest.sh" "$root/khyp/bench-guest.sh"
install -m 755 "$here/reboot-guest.sh" "$root/khyp/reboot-guest.sh"
# Without debug information: the kernel unpacks every byte of the
# initramfs, which in Bochs costs guest seconds per megabyte.
strip --strip-debug -o "$root/khyp/khyp.ko" "$ko"
for t in "$@"; do
	strip --strip-debug -o "$root/khyp/$t" "$tdir/$t"
done
# launcher_test runs the launcher on the example guests: /khyp-tool.
top=$(cd "$tdir/.." && pwd)
if [ -x "$top/userspace-tool/khyp" ]; then
	mkdir -p "$root/khyp-tool/guests"
	cp "$top/userspace-tool/khyp" "$root/khyp-tool/khyp"
	cp "$top"/guests/hello "$top"/guests/memtest "$top"/guests/*.bin \
		"$top"/guests/*.elf "$root/khyp-tool/guests/"
fi

if [ -n "${KHYP_LINUX_GUEST:-}" ]; then
	read -r lk li <<< "$KHYP_LINUX_GUEST"
	mkdir -p "$root/khyp-tool"
	cp "$lk" "$root/khyp-tool/$(basename "$lk")"
	cp "$li" "$root/khyp-tool/linux-initramfs.cpio"
fi

if [ -x "$top/bench/khyp-bench" ]; then
	cp "$top/bench/khyp-bench" "$root/khyp/khyp-bench"
fi

# KVM's modules with their dependencies, and a modules.dep for modprobe.
if [ -n "${KHYP_KVM_MODULES:-}" ]; then
	mkdir -p "$root/lib/modules/$kver/kernel/arch/x86/kvm"
	cp "$KHYP_KVM_MODULES"/*.ko "$root/lib/modules/$kver/kernel/arch/x86/kvm/"
	# What depmod wants beside them: their order, and no built-ins.
	(cd "$root/lib/modules/$kver" &&
		ls kernel/arch/x86/kvm/*.ko > modules.order &&
		touch modules.builtin modules.builtin.modinfo)
else
	for m in $(for v in kvm_amd kvm_intel ${KHYP_LINUX_GUEST:+tun}; do
			modprobe -S "$kver" --show-depends "$v"
		   done | awk '$1 == "insmod" { print $2 }' | sort -u); do
		mkdir -p "$root/$(dirname "$m")"
		cp "$m" "$root/$m"
	done
fi
cp /lib/modules/"$kver"/modules.{order,builtin,builtin.modinfo} \
	"$root/lib/modules/$kver/" 2>/dev/null || true
depmod -b "$root" "$kver"

# Compressed by the name of OUT: .zst or .lz4.
# zstd, not gzip: the machines' kernels unpack this before /init, and in
# Bochs (whose clock counts instructions) gzip -1's 17.7 MB took 22 s of
# the clock.  zstd -9 makes 5 MB of it (its window finds the statically
# linked C library the test binaries share; gzip's 32 KiB one cannot) and
# unpacks in about a quarter of gzip's instructions (valgrind's count of
# zstd -dc against gzip -dc of the same cpio: 322 against 1,442 million).
# lz4 (legacy frames, which the kernel reads) makes twice zstd's size but
# unpacks in under a third of its instructions: vmx-bochs' 85 MB cpio
# with the Linux guest, 248 against 837 million (lackey), and its /init
# started at 26.1 s of Bochs' clock instead of 36.2 s.  The Bochs and
# QEMU machines boot lz4; the debug kernel reads only zstd.
case $out in
*.lz4)	(cd "$root" && find . | cpio -o -H newc --quiet) | lz4 -q -9 -l > "$out" ;;
*)	(cd "$root" && find . | cpio -o -H newc --quiet) | zstd -q -9 > "$out" ;;
esac
