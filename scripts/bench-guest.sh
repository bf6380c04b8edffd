#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside an emulated machine for scripts/bench.sh: the benchmark
# through KVM and through khyp, never both loaded at once, in N
# interleaved pairs (--pairs N; 1 if not given), so that a drift of the
# machine's speed during the run lands on both sides.  Odd pairs run KVM
# first, even pairs khyp first:
#
#   load kvm_amd or kvm_intel, khyp-bench --hv kvm, unload KVM,
#   insmod khyp.ko, khyp-bench --hv khyp, rmmod khyp   (and the reverse)
#
# Report (the "result" lines are khyp-bench's):
#
#   KHYP-BEGIN <machine> <kernel>
#   KHYP-INFO cpu|thp|mem|cpus|udev <text>
#   KHYP-PAIR <n>      then, for each hypervisor:
#   KHYP-HV kvm|khyp   then khyp-bench's output
#   KHYP-RC kvm|khyp <status>
#   KHYP-DMESG-BEGIN ... KHYP-DMESG-END
#   KHYP-END
#
# Usage: bench-guest.sh MACHINE REPORT DIR [--pairs N] [KHYP-BENCH OPTIONS...]
# DIR (or DIR/../bench) holds khyp-bench; KHYP_KO is khyp.ko's path.

machine=$1
report=$2
dir=$3
shift 3
pairs=1
while [ $# -gt 0 ]; do
	case $1 in
	--pairs)
		case $2 in
		''|*[!0-9]*) echo "bench-guest.sh: bad --pairs '$2'" >&2; exit 2 ;;
		esac
		pairs=$2; shift 2 ;;
	*) break ;;
	esac
done

bench=$dir/khyp-bench
[ -x "$bench" ] || bench=$dir/../bench/khyp-bench

run_kvm() {
	echo "KHYP-HV kvm"
	if modprobe "$kvm"; then
		"$bench" --hv kvm "$@" 2>&1
		echo "KHYP-RC kvm $?"
	else
		echo "KHYP-RC kvm modprobe-failed"
	fi
	modprobe -r "$kvm" kvm
}

run_khyp() {
	echo "KHYP-HV khyp"
	# The pool of zeroed blocks is off by default (mmu/zeropool.c);
	# the bench measures it on, as docs/performance.md quotes it.
	if insmod "$KHYP_KO" zero_pool_mb=8; then
		"$bench" --hv khyp "$@" 2>&1
		echo "KHYP-RC khyp $?"
		rmmod khyp
	else
		echo "KHYP-RC khyp insmod-failed"
	fi
}

run() {
	echo "KHYP-BEGIN $machine $(uname -r)"
	echo "KHYP-INFO cpu $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	echo "KHYP-INFO thp $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
	echo "KHYP-INFO mem $(grep MemTotal /proc/meminfo | tr -s ' ')"
	echo "KHYP-INFO cpus $(grep -c ^processor /proc/cpuinfo)"
	grep -q ' debugfs ' /proc/mounts ||
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	boot_lines=$(dmesg | wc -l)
	if grep -qw vmx /proc/cpuinfo; then kvm=kvm_intel; else kvm=kvm_amd; fi

	rmmod khyp 2>/dev/null
	modprobe -r kvm_intel kvm_amd kvm 2>/dev/null

	# udevd (virtme-ng starts one; the Bochs machines' initramfs has
	# none) handles a uevent for every module load and for every KVM VM
	# created or destroyed (kvm_uevent_notify_change()).  On an
	# instruction clock, its work counts as the timed loop's whenever it
	# runs inside one: in 2026-12-06's first run on svm-qemu, single KVM
	# repetitions took 30-50 ms more than the others, a fixed lump, and
	# khyp's first run 10 ms.  Its queue waits until the pairs are over;
	# the device nodes come from devtmpfs without it.
	udev=none
	if command -v udevadm > /dev/null 2>&1 &&
	   udevadm control --ping > /dev/null 2>&1; then
		udevadm settle --timeout=60
		udevadm control --stop-exec-queue && udev=stopped
	fi
	echo "KHYP-INFO udev $udev"
	pair=1
	while [ "$pair" -le "$pairs" ]; do
		echo "KHYP-PAIR $pair"
		if [ $((pair % 2)) = 1 ]; then
			run_kvm "$@"; run_khyp "$@"
		else
			run_khyp "$@"; run_kvm "$@"
		fi
		pair=$((pair + 1))
	done

	[ "$udev" = stopped ] && udevadm control --start-exec-queue

	echo "KHYP-DMESG-BEGIN"
	dmesg | tail -n +$((boot_lines + 1)) |
		grep -E 'khyp|kvm|WARNING|BUG|Oops|KASAN|lockdep|circular locking|Call Trace|Kernel panic'
	echo "KHYP-DMESG-END"
	echo "KHYP-END"
}

run "$@" > "$report" 2>&1
