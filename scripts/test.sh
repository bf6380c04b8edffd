#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole khyp test run (the README's test command, `make test`):
#
#  1. install what is missing (scripts/install-deps.sh),
#  2. build khyp.ko against Debian's 6.1 and 6.12 headers (W=1, no warnings
#     allowed), and the selftests,
#  3. boot each emulated machine once and run the selftest suite inside it
#     with khyp.ko loaded (see MACHINES below), two machines at a time
#     (the lanes, below),
#  4. build the Debian packages, install them on this host, use them in
#     the machine svm-qemu-pkg and purge them (scripts/pkg-test.sh),
#     beside the debug machine,
#  5. print every TAP result prefixed with its machine, then one line
#     "N passed, N failed" (and the skips).
#
# Exits non-zero if a test failed, a test binary did not run or did not
# report every test it planned, a test skipped that scripts/expected-skips
# does not allow in that machine, khyp did not load or unload where it
# should, a machine did not reach its end marker in time, or a guest
# kernel log shows a WARNING, BUG, Oops, KASAN or lockdep report.
#
# Options: --machine NAME (one machine), --test NAME[,NAME...] (those test
#          binaries, in the machines that run any of them),
#          --no-deps (skip step 1), --list (list machines).
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
export KHYP_CACHE=${KHYP_CACHE:-/var/cache/khyp}
OUT=$TOP/build/test
# The selftests: TEST_GEN_PROGS of selftests/Makefile, in its order.
read -r -a ALL_TESTS <<< "$(sed -n '/^TEST_GEN_PROGS/,/[^\\]$/p' \
	"$TOP/selftests/Makefile" | sed 's/^TEST_GEN_PROGS *:= *//; s/\\$//' |
	tr '\n' ' ')"

# name         runner cpu                     tests      expected capabilities
#
# tests: "all", "all-X-Y" (all but the binaries X and Y), test binaries
# separated by commas, or "reboot": run
# scripts/reboot-guest.sh instead of the selftests, which reboots the
# machine while vCPUs run (judged on the console).  svm-qemu-la57 boots
# the bzImage through its own decompressor (run_qemu), which turns 5-level
# paging on where the CPU has LA57 (virtme-ng's PVH entry leaves 4 levels):
# NPT then walks 5 levels.  la57=N in the expectations is checked by
# hugepage_test against /proc/cpuinfo.  itlb_multihit=1 on vmx-bochs: the
# kernel reports Skylake-X with iTLB multihit, and khyp then maps 2 MiB
# without execute permission (selftests/hugepage_test.c).  svm-qemu-smp2
# has 2 vCPUs (run_qemu_smp2 in machines.sh): the tests that need a vCPU
# in its guest on one CPU while another thread works on the other;
# smp_test skips in the one-CPU machines (scripts/expected-skips).
# fault_smp_test runs in svm-qemu and both 2-CPU machines: two vCPUs
# faulting at once race truly on two CPUs, and on one only when a vCPU
# thread is preempted (vmx-bochs leaves it to vmx-bochs-smp2: 27 of
# Bochs' guest seconds for races that two CPUs make real).
# vmx-bochs-smp2 runs the same tests on the VMX backend with 2 CPUs
# (run_bochs_smp2 in machines.sh).
# svm-bochs leaves out balloon_test, balloon_pages_test and
# shrinker_test, the host's reclaim policy (a third of a Bochs machine's
# time): svm-qemu runs them on the same SVM backend and vmx-bochs on the
# VMX one.  It leaves out
# ioctl_fuzz_test and guest_fuzz_test too: the fuzzers' guests
# triple-fault, and Bochs' SVM resets the whole machine on a guest triple
# fault (docs/emulators.md).  guest_fuzz_test runs in vmx-bochs
# and svm-qemu-debug (svm-qemu before session 15), for 15 s of each
# machine's clock,
# replaying a fixed seed (gfuzz_seed): vmx-bochs session 13's 60 s run
# that was green after the fixes (its first ~1,300 cases), the SVM
# machines the run that found finding 6, QEMU's null TR (its first
# ~1,500 cases; the finding's own case is guest_state_test's): a
# regression run, not a search (docs/reliability.md).  `make
# guest-fuzz` runs it alone, with a new seed, for gfuzz_seconds
# (default 20) of the machine's clock or longer.
# The ioctl fuzzer runs in vmx-bochs (30,000 calls, below) and last
# in svm-qemu-debug (DEBUG_FUZZ_CALLS: 100,000 until session 21, ~180 s
# there in its CI9; 60,000 since, for the suite's time).
# svm-qemu-linux boots Debian's kernel under `khyp run` to a busybox
# shell (linux_boot_test, linux_pressure_test's boot under the host's
# pressure, and linux_share_test's two boots at once under one host
# pressure, with the initramfs of
# scripts/mkinitramfs-linux.sh that this script builds first): minutes
# per boot, so only the Linux machines run it ("all" never includes the
# binaries of ONLY_NAMED; docs/testing.md has the times).
# vmx-bochs boots the same kernel under `khyp run` on the VMX backend
# after its other tests ("+linux_boot_test", run_bochs_linux): the
# vmlinux extracted from Debian's vmlinuz, which skips the decompressor
# (minutes of Bochs' time); the first boot with 2 vCPUs (pause-loop
# exiting makes them cost 7 s more than 1: docs/testing.md), and since
# session 19 the devices boot (net, console, rng, balloon, restart; the
# machine has 1,024 MiB for it); since session 20 also linux_pressure_test
# ("+linux_pressure_test": the balloon under khyp balloon, memory.high and
# a host memory hog, then the guest's panic), 152 s of Bochs' clock, paid
# for by /init's khyp-sum (the devices boot went from 404 s to 189 s);
# since session 21 linux_share_test ("+linux_share_test": two guests at
# once under one host hog, the shrinker's shares on the VMX backend),
# 178 s of Bochs' clock.
# It was a machine of its own, vmx-bochs-linux, until
# session 13: one Bochs start (~70 s) less.
ONLY_NAMED=" linux_boot_test linux_pressure_test linux_share_test "
# hotplug_test (CPU 1 offline and online, syscore suspend and resume,
# rmmod refused while held) runs in both 2-CPU machines; soak_test
# (4 VMs x 2 vCPUs under a memory hog, vCPU threads moving between CPUs)
# runs soak_seconds=10 of svm-qemu-smp2's clock; `make soak` runs it
# longer, in any machine (--machine and --test name it, below).
# docs/reliability.md.  "all" does not include them (NOT_IN_ALL).
NOT_IN_ALL=" hotplug_test soak_test "
# lifetime_test makes 1,000 VMs in every machine and SIGKILLs 60 VMMs
# of each kind, 30 in Bochs and, since session 21, in svm-qemu-debug
# (lifetime_kills; docs/reliability.md).
# svm-qemu-debug boots the debug kernel of scripts/debug-kernel.sh (KASAN,
# lockdep, kmemleak, UBSAN, DEBUG_LIST, DEBUG_VM, debug objects, KFENCE)
# and runs every binary of the suite there (session 16; 22 of them
# before session 15: the kernel had no TSC calibration reference and no
# kvm modules, and lifetime_test's bounds did not allow for KASAN's
# quarantine).  balloon_test was left out in session 15, its
# host_pressure_two_vms failing there: kswapd gave the node up while the
# balloons gave, as reclaim did not count their pages (with no page
# cache and no swap in this machine nothing else counted); fixed in
# balloon/shrinker.c (docs/reliability.md).  launcher_test and
# bench_test were left out for time and are back too.  Their cost here
# (session 16, "time:" lines): balloon_test 97.7 s (111.8 s in another
# run), launcher_test 23.7 s, bench_test 10.3 s.  It fails on any of
# the checkers' reports (docs/testing.md).  Since session 18 (two
# lanes) it runs the whole suite as svm-qemu's defaults would: with
# shrinker_test's two decay tests (~30 s), left out from session 15 to
# 17 for the suite's 30 minutes, and 60 SIGKILLed VMMs of each kind in
# lifetime_test, not 30 (~15 s then; 136 s for the binary in session
# 21's CI9, when it went back to 30, with the fuzzer's 60,000 calls,
# for the suite's time).  It is the only machine
# that runs the whole list on QEMU's SVM (SVM_QEMU_TESTS below).
# It runs last in its lane: on a machine without the kernel cached, the
# build runs in the background (nice 19) while the other machines do.
DEBUG_TESTS=all
DEBUG_FUZZ_CALLS=60000
# Tests a machine leaves out ("omit=" in its expectations: fnmatch
# patterns binary:fixture.test, which selftests/lib/khyp_util.h takes
# off the harness' list before the plan; a pattern that matches nothing
# fails the binary).  Each is run by another machine on the same code:
# - POLICY_TESTS, the host's reclaim policy (balloon/shrinker.c: the
#   pressure targets, their decay, the memory cgroup's share), which no
#   backend touches: svm-qemu and svm-qemu-debug run them; vmx-bochs
#   runs the rest of balloon_test and shrinker_test (inflation, deflation
#   and the shrinker's scan through EPT).  88 of Bochs' guest seconds.
# - KVM_TESTS, khyp and kvm_amd side by side (load refused while KVM owns
#   SVM, the benchmark's KVM half): svm-qemu runs them with kvm_amd,
#   vmx-bochs with kvm_intel.  36 of Bochs' guest seconds.
# vmx-bochs also runs the ioctl fuzzer for 30,000 calls, not 100,000
# (13 s, not 43 s, of its clock): the calls reach the same validation
# code in every machine; svm-qemu-debug runs 100,000 under its checkers.
# svm-qemu (Debian's kernel, QEMU's SVM) runs what no other machine runs
# on Debian's kernel with an SVM CPU: svm-bochs leaves out the balloon,
# shrinker and fuzzer binaries and the kvm_amd tests (KVM_TESTS), and
# svm-qemu-debug runs every binary on the same CPU model under the
# checkers, so the rest would be the third run of the same code
# (session 16: ~100 s of its 233 were).  The fuzzers run on Debian's
# kernel in vmx-bochs.
SVM_QEMU_TESTS=balloon_test,balloon_pages_test,shrinker_test,bench_test,load_test
POLICY_TESTS=shrinker_test:slow.decay_schedule+shrinker_test:slow.reclaim_counts_what_guests_gave+shrinker_test:slow.decay_holds_while_host_allocates+balloon_test:slow.shrinker_raises_then_releases+balloon_test:slow.host_pressure_two_vms+balloon_test:slow.memcg_pressure_asks_that_cgroup
KVM_TESTS=bench_test:bench.kvm_short+load_test:kvm.load_refused_while_kvm_loaded
MACHINES=(
"svm-qemu      vng    qemu64,+svm,+npt        $SVM_QEMU_TESTS backend=svm,pause_exit=0,npt=1,2m=1,nrip_save=0,decode_assists=0,flush_by_asid=0,vmcb_clean=0,la57=0,itlb_multihit=0"
"vmx-bochs     bochs  corei7_skylake_x        all-fault_smp_test+linux_boot_test+linux_pressure_test+linux_share_test backend=vmx,pause_exit=1,ept=1,vpid=1,unrestricted_guest=1,ept_ad=1,1g=1,2m=1,itlb_multihit=1,npt=0,nrip_save=0,la57=0,lifetime_kills=30,gfuzz_seconds=15,gfuzz_seed=1796437913,fuzz_calls=30000,omit=$POLICY_TESTS"
"svm-bochs     bochs  trinity_apu             all-balloon_test-balloon_pages_test-shrinker_test-ioctl_fuzz_test-guest_fuzz_test backend=svm,pause_exit=1,npt=1,2m=1,nrip_save=1,ept=0,triple_fault_exit=0,guest_if_masks_host=1,vmrun_loads_cr2=0,la57=0,itlb_multihit=0,lifetime_kills=30,omit=$KVM_TESTS"
"svm-qemu-la57 qemu   qemu64,+svm,+npt,+la57  run_test,guestmem_test,hugepage_test,launcher_test,mmio_test backend=svm,pause_exit=0,npt=1,2m=1,nrip_save=0,decode_assists=0,flush_by_asid=0,vmcb_clean=0,la57=1,itlb_multihit=0"
"svm-qemu-smp2 qemu_smp2 qemu64,+svm,+npt     smp_test,vcpu_api_test,semantics_test,lapic_test,lapic_ipi_test,ioapic_test,pic_pit_test,sipi_test,fault_smp_test,hotplug_test,soak_test backend=svm,pause_exit=0,npt=1,2m=1,nrip_save=0,decode_assists=0,flush_by_asid=0,vmcb_clean=0,la57=0,itlb_multihit=0,soak_seconds=10"
"vmx-bochs-smp2 bochs_smp2 corei7_skylake_x   smp_test,vcpu_api_test,semantics_test,lapic_test,lapic_ipi_test,ioapic_test,pic_pit_test,sipi_test,fault_smp_test,hotplug_test,pause_test backend=vmx,pause_exit=1,ept=1,vpid=1,unrestricted_guest=1,ept_ad=1,1g=1,2m=1,itlb_multihit=1,npt=0,nrip_save=0,la57=0"
"svm-qemu-linux vng_linux qemu64,+svm,+npt    linux_boot_test,linux_pressure_test,linux_share_test backend=svm,pause_exit=0,npt=1,2m=1,nrip_save=0,decode_assists=0,flush_by_asid=0,vmcb_clean=0,la57=0,itlb_multihit=0"
"svm-qemu-reboot qemu qemu64,+svm,+npt        reboot     none"
"nosvm-qemu    qemu   qemu64,-svm             load_test  none"
"nonpt-qemu    qemu   qemu64                  load_test  none"
"svm-qemu-debug qemu_debug qemu64,+svm,+npt   $DEBUG_TESTS backend=svm,pause_exit=0,npt=1,2m=1,nrip_save=0,decode_assists=0,flush_by_asid=0,vmcb_clean=0,la57=0,itlb_multihit=0,lifetime_kills=30,fuzz_calls=$DEBUG_FUZZ_CALLS,gfuzz_seconds=15,gfuzz_seed=1796437322,kasan=1"
)

only_machine= only_test= deps=1 check=1
while [ $# -gt 0 ]; do
	case $1 in
	--machine) only_machine=$2; shift ;;
	--test) only_test=$2; shift ;;
	--no-deps) deps= ;;
	--no-check) check= ;;	# while iterating only; CI always checks
	--list) printf '%s\n' "${MACHINES[@]}"
		echo "svm-qemu-pkg  vng    qemu64,+svm,+npt        the installed packages (scripts/pkg-test.sh)"
		exit 0 ;;
	*) echo "usage: $0 [--machine NAME] [--test NAME[,NAME...]] [--no-deps] [--no-check] [--list]" >&2
	   exit 2 ;;
	esac
	shift
done

say() { echo "test: $*" >&2; }
die() { say "$*"; exit 1; }

# The lanes of machines (below, before run_machine).
LANES=${KHYP_LANES:-$(($(nproc) >= 2 ? 2 : 1))}
[[ $LANES =~ ^[1-9][0-9]*$ ]] || die "KHYP_LANES=$LANES: a number, 1 or more"
[ "$LANES" -gt 2 ] && LANES=2

# The test binaries machine NAME runs with these options ("all" and
# "all-X-Y" expanded, "+Z" appended, --test applied), or status 1 if it
# does not run.
machine_tests() {	# name tests
	local name=$1 tests=$2 except t sel added=
	[ -n "$only_machine" ] && [ "$name" != "$only_machine" ] && return 1
	# "...+z_test": run z_test too, last (one of ONLY_NAMED).
	if [[ $tests == *+* ]]; then
		added=${tests#*+}
		tests=${tests%%+*}
	fi
	# "all", or "all-a_test-b_test": every binary but those, unless
	# --machine and --test name them both (make guest-fuzz).
	if [ "${tests%%-*}" = all ]; then
		except=" ${tests#all} "
		except=${except//-/ }
		[ -n "$only_machine" ] && [ -n "$only_test" ] && except=" "
		tests=
		for t in "${ALL_TESTS[@]}"; do
			case " $except$ONLY_NAMED$NOT_IN_ALL " in *" $t "*) ;; *) tests+="$t " ;; esac
		done
	fi
	tests=${tests//,/ }
	[ -n "$added" ] && tests="${tests% } ${added//+/ }"
	# --machine and --test naming both run the binaries named there,
	# whatever the machine's own list (make test MACHINE=svm-qemu
	# T=vm_test, make fuzz, make soak): that list is what CI runs.
	if [ -n "$only_machine" ] && [ -n "$only_test" ]; then
		for t in ${only_test//,/ }; do
			[[ " ${ALL_TESTS[*]} " == *" $t "* && " $tests " != *" $t "* ]] &&
				tests+=" $t"
		done
	fi
	if [ -n "$only_test" ]; then	# one binary, or several: a,b
		sel=
		for t in ${only_test//,/ }; do
			[[ " $tests " == *" $t "* ]] && sel="$sel $t"
		done
		[ -n "$sel" ] || return 1
		tests=${sel# }
	fi
	echo "${tests% }"
}

if [ -n "$deps" ]; then
	"$TOP/scripts/install-deps.sh" || die "installing dependencies failed"
fi

# Jobs in the background, whose status comes back in a file: bash forgets
# a finished job's status once a later child of the shell gets its PID,
# and a run forks enough processes to go round pid_max (32768 here):
# session 15's CI lost the debug kernel's cached build that way ("wait:
# pid 302 is not a child of this shell").  The command runs in a
# subshell of its own: an exit in it (die) still leaves a status.
bg_run() {	# statusfile command...
	local st=$1; shift
	rm -f "$st"
	{ ( "$@" ); echo $? > "$st.new"; mv "$st.new" "$st"; } &
}
bg_wait() {	# statusfile: returns the job's status
	while [ ! -f "$1" ]; do sleep 1; done
	return "$(cat "$1")"
}

# The debug kernel of svm-qemu-debug: found in the cache, or built in the
# background (scripts/debug-kernel.sh: nice 19) while the other machines
# run; prepare_debug waits for it before that machine boots.
mkdir -p "$OUT"
DEBUG_DIR=
# With two lanes it builds at nice 0: at nice 19 the two emulators left
# it ~1.5% of the CPUs until svm-qemu-debug's lane reached it and waited
# (session 18); at 0 it takes about half of them, the lanes the rest.
debug_kernel() {
	KHYP_DEBUG_NICE=${KHYP_DEBUG_NICE:-$([ "$LANES" -ge 2 ] && echo 0 || echo 19)} \
	"$TOP/scripts/debug-kernel.sh" > "$OUT/debug-kernel.dir" \
		2> "$OUT/debug-kernel.log"
}
if machine_tests svm-qemu-debug "$DEBUG_TESTS" > /dev/null; then
	bg_run "$OUT/debug-kernel.status" debug_kernel
fi
prepare_debug() {	# tests
	local t0=$SECONDS built
	say "svm-qemu-debug: waiting for the debug kernel (scripts/debug-kernel.sh)"
	bg_wait "$OUT/debug-kernel.status" || { cat "$OUT/debug-kernel.log" >&2; return 1; }
	DEBUG_DIR=$(cat "$OUT/debug-kernel.dir")
	built=$(tail -1 "$OUT/debug-kernel.log")
	say "svm-qemu-debug: debug kernel $DEBUG_DIR (waited $((SECONDS - t0)) s; ${built:-cached})"
	( build_module debug "$DEBUG_DIR/obj" KCFLAGS=-g ) || return 1
	# Its own initramfs: that khyp.ko, its kvm.ko and kvm-amd.ko and the
	# machine's tests only.
	# shellcheck disable=SC2086
	KHYP_KVM_MODULES=$DEBUG_DIR/modules "$TOP/scripts/mkinitramfs.sh" \
		"$OUT/initramfs-debug.cpio.zst" \
		"$(cat "$DEBUG_DIR/obj/include/config/kernel.release")" \
		"$OUT/build-debug/khyp.ko" "$TOP/selftests" $1
}

# The file:line of each khyp frame in the debug kernel's reports (the
# console, with the kernel log from the marker on, and kmemleak's section
# of the report),
# from the khyp.ko built with -g.
debug_lines() {	# name
	local name=$1 f2l=$DEBUG_DIR/obj/source/scripts/faddr2line fn at off
	[ -x "$f2l" ] || return 0
	# A trace's frames are return addresses, which name the line after
	# the call: look up one byte before them (KASAN's "in f+0x..." is one
	# too, after the call to its check); a "RIP:" frame is where the CPU
	# stopped, looked up as it is.
	{ cat "$OUT/$name/console.log"
	  sed -n '/^KHYP-KMEMLEAK-BEGIN/,/^KHYP-KMEMLEAK-END/p' "$OUT/$name/report"
	} 2>/dev/null | grep -o '\(RIP: [0-9a-f]*:\)\?[A-Za-z0-9_.]*+0x[0-9a-f]*/0x[0-9a-f]* \[khyp\]' |
		sed 's/^RIP: [0-9a-f]*:\(.*\)/\1 rip/' |
		sort -u | head -60 | while read -r fn _ rip; do
		at=$fn
		if [ -z "$rip" ]; then
			off=${fn#*+0x}; off=${off%%/*}
			at=$(printf '%s+0x%x/%s' "${fn%%+*}" $((0x$off - 1)) "${fn#*/}")
		fi
		"$f2l" "$OUT/build-debug/khyp.ko" "$at" 2>/dev/null |
			sed -n "s|^.* at $OUT/build-debug/||p" | tr '\n' ' ' |
			sed "s|^|$name: $fn: |; s| \$|\n|"
	done
}

# svm-qemu-debug: QEMU with the debug kernel and an initramfs of its own
# (virtme-ng's init on the host's root over 9p took 3 minutes to start
# udev under the checkers: every syscall pays for them); KASAN goes on
# after its first report; kmemleak scans after the tests; the kernel log
# from the marker on goes to the console (guest-run.sh).
#
# highres=off: the kernel's tick stays the local APIC timer in periodic
# mode (/proc/timer_list: lapic mode 2, ~250 LOC/s; mode 3, one-shot,
# with high-resolution timers, as the kernel has no NO_HZ), which QEMU
# re-arms by itself.  QEMU 7.2's nested SVM updates the vCPU's
# interrupt_request without the global lock at every #VMEXIT
# (do_vmexit()) and at a VMRUN with V_IRQ (helper_vmrun()), racing with
# the main-loop thread that sets CPU_INTERRUPT_POLL there when the APIC
# timer fires.  A lost POLL leaves the timer's vector in IRR and, with a
# one-shot timer, nothing ever delivers it: the machine sleeps for good
# (docs/reliability.md: session 16's stop, with that state in its core).
# A periodic timer polls the APIC again at the next tick.  DEBUG_KCMD=
# (empty) boots without it.  Its limit is 1,200 s of QEMU's clock (the
# host's): the machine took 691 s alone, and 891 s, 9 s short of the old
# 900, in session 19's run beside a CPU-bound program on the host.
run_qemu_debug() {
	MACHINE_KERNEL=$DEBUG_DIR/bzImage INITRD=$OUT/initramfs-debug.cpio.zst \
	MACHINE_MEM_MB=${MACHINE_MEM_MB:-1024} \
	MACHINE_KCMD="kasan_multi_shot ${DEBUG_KCMD-highres=off} " \
	MACHINE_ENV="KHYP_KMEMLEAK=1 KHYP_DMESG=/dev/ttyS0 ${MACHINE_ENV:-}" \
	MACHINE_TIMEOUT=${MACHINE_TIMEOUT:-1200} run_qemu "$@"
}

# The test kernels, build_module and the machines' runners.
. "$TOP/scripts/machines.sh"

build_module "$KVER"
build_module "$KVER612"
KO=$OUT/build-$KVER/khyp.ko

# sparse and checkpatch --strict must be clean (make check).  Before the
# machines, with the 6.12 build: session 23 ran both beside the first
# machines instead, which cannot save time: the two emulators keep both
# CPUs busy for the whole run (0% idle), so the ~80 s that leave the
# start come back as slower machines (the QEMU ones' clock is the
# host's).
if [ -n "$check" ]; then
	make -s -j"$(nproc)" -C "$TOP" check KDIR="/lib/modules/$KVER/build" \
		> "$OUT/check.log" 2>&1 ||
		{ cat "$OUT/check.log"; die "make check is not clean"; }
	say "sparse and checkpatch clean"
fi

make -s -j"$(nproc)" -C "$TOP/selftests" OUTPUT="$TOP/selftests" \
	KSFT_DIR="$KHYP_CACHE/linux-source-6.1/tools/testing/selftests" \
	> "$OUT/selftests.log" 2>&1 || { cat "$OUT/selftests.log"; die "selftests do not build"; }
say "selftests built"

# The machines' initramfs, without the binaries that only virtme-ng
# machines run (each megabyte costs Bochs guest seconds to unpack).
INITRD=$OUT/initramfs.cpio.lz4
INITRD_TESTS=()
for t in "${ALL_TESTS[@]}"; do
	[[ "$ONLY_NAMED" == *" $t "* ]] || INITRD_TESTS+=("$t")
done
"$TOP/scripts/mkinitramfs.sh" "$INITRD" "$KVER" "$KO" "$TOP/selftests" \
	"${INITRD_TESTS[@]}" || die "mkinitramfs failed"
# The Linux guest's initramfs for linux_boot_test (which finds it at this
# path in the source tree), built here on the host before any machine
# starts: busybox, its /init, KVER's virtio modules and khyp-sum (the
# checksum /init takes of the data the balloon must not touch).
"$TOP/scripts/mkinitramfs-linux.sh" "$OUT/linux-initramfs.cpio" "$KVER" \
	"$TOP/selftests/khyp-sum" || die "mkinitramfs-linux failed"

# ---- native tests (no hypervisor needed) -----------------------------------

# Code that also runs in userspace is tested natively under ASan/UBSan and
# fuzzed for a bounded time: each suite ends with "N passed, N failed".
# They need no emulator, so they run in the background while the first
# machines run: ~190 s of the run's wall time beside both lanes (session
# 18), which they slow for that long.  Their lines are printed after the
# machines'; their counts come back through $OUT/native.counts.
NATIVE_PASSED=0 NATIVE_FAILED=0
native() {	# name dir
	local name=$1 dir=$2 log=$OUT/native-$1.log counts fuzz
	if make -s -C "$dir" check > "$log" 2>&1 &&
	   make -s -C "$dir" fuzz-run FUZZ_SECONDS="${KHYP_FUZZ_SECONDS:-10}" \
		>> "$log" 2>&1; then
		counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
		# libFuzzer's final stats: one line per target
		fuzz=$(grep -a '^stat::number_of_executed_units' "$log" |
		       awk '{ n++; r += $2 } END { printf "%d x %s s, %d runs", n, s, r }' \
			   s="${KHYP_FUZZ_SECONDS:-10}")
		echo "native: $name: $counts; fuzzed $fuzz"
		NATIVE_PASSED=$((NATIVE_PASSED + ${counts%% passed*}))
	else
		tail -20 "$log"
		echo "native: $name: not ok (see $log)"
		NATIVE_FAILED=$((NATIVE_FAILED + 1))
	fi
}
native_all() {
	# The judge of the machines' reports, on made-up reports.
	if "$TOP/tests/harness/judge_test.sh" > "$OUT/native-harness.log" 2>&1; then
		counts=$(tail -1 "$OUT/native-harness.log")
		echo "native: harness: $counts"
		NATIVE_PASSED=$((NATIVE_PASSED + ${counts%% passed*}))
	else
		cat "$OUT/native-harness.log"
		echo "native: harness: not ok"
		NATIVE_FAILED=$((NATIVE_FAILED + 1))
	fi
	native insn "$TOP/tests/insn"
	[ -f "$TOP/userspace-tool/Makefile" ] && native loader "$TOP/userspace-tool"
	echo "NATIVE_PASSED=$NATIVE_PASSED NATIVE_FAILED=$NATIVE_FAILED" \
		> "$OUT/native.counts"
}
native_ran=
rm -f "$OUT/native.counts" "$OUT/native.out"
native_all_out() { native_all > "$OUT/native.out" 2>&1; }
if [ -z "$only_machine" ] && [ -z "$only_test" ]; then
	bg_run "$OUT/native.status" native_all_out
	native_ran=1
fi

# ---- the packages ---------------------------------------------------------

# scripts/pkg-test.sh: make install/uninstall into a staging tree, the
# Debian packages built, checked by lintian, installed on this host (DKMS
# builds khyp.ko for 6.1 and 6.12), used in the machine svm-qemu-pkg
# (modprobe, udev, guests/hello as a non-root member of the group khyp) and
# purged.  Runs with the whole suite or with --machine svm-qemu-pkg.
# With the whole suite it runs beside the debug machine, whose kernel
# and initramfs are its own, once the virtme-ng machines are done (the
# packages go onto this host's /lib/modules, which they see):
# pkg_when_ready below.  Its builds at nice 19, its machine in the first
# emulator slot free, in line before the next lane's machine.
run_pkg() { nice -n 19 "$TOP/scripts/pkg-test.sh" --machine > "$OUT/pkg.log" 2>&1; }
judge_pkg() {
	grep -E '^pkg: .*: (not )?ok' "$OUT/pkg.log"
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$OUT/pkg.log" | tail -1)
	if [ -n "$counts" ]; then
		NATIVE_PASSED=$((NATIVE_PASSED + ${counts%% passed*}))
		counts=${counts#* passed, }
		NATIVE_FAILED=$((NATIVE_FAILED + ${counts%% failed*}))
	else
		tail -5 "$OUT/pkg.log"
		echo "pkg: not ok (no result; see $OUT/pkg.log)"
		NATIVE_FAILED=$((NATIVE_FAILED + 1))
	fi
}
pkg_ran= pkg_bg=
if [ -z "$only_test" ] &&
   { [ -z "$only_machine" ] || [ "$only_machine" = svm-qemu-pkg ]; }; then
	pkg_ran=1
	if machine_tests svm-qemu-debug "$DEBUG_TESTS" > /dev/null; then
		pkg_bg=later
	else
		run_pkg
		judge_pkg
	fi
fi

# ---- the machines ---------------------------------------------------------

# ---- results --------------------------------------------------------------

PASSED=0 FAILED=0 SKIPPED=0

. "$TOP/scripts/judge.sh"

# The reboot machine (scripts/reboot-guest.sh): vCPUs were running when
# it rebooted; the kernel must reach its restart without an oops, a
# panic or a warning on the console.
judge_reboot() {
	local name=$1 report=$2 console=$3 n t="reboot: reboot_with_vcpus_running"
	n=$(sed -n 's/^KHYP-REBOOT \([0-9]*\).*/\1/p' "$report")
	if [ -z "$n" ] || [ "$n" = 0 ]; then
		fail_machine "$name" "no vCPU was running when it rebooted; see $report"
	elif grep -E 'WARNING:|BUG:|Oops|invalid opcode|Kernel panic|Call Trace' \
		"$console" | head -5 | sed "s/^/$name: console: /" | grep .; then
		echo "$name: $t: not ok 1 (see $console)"
		failed "$name: $t: not ok 1 (see $console)"
	elif grep -q 'reboot: Restarting system' "$console"; then
		echo "$name: $t: ok 1 ($n vCPUs running)"; PASSED=$((PASSED + 1))
	else
		echo "$name: $t: not ok 1 (no restart; see $console)"
		failed "$name: $t: not ok 1 (no restart; see $console)"
	fi
}

# svm-qemu-linux: virtme-ng, with the time linux_boot_test's boot takes
# (2 vCPUs, one boot: 122 s of khyp run in session 9; docs/testing.md).
run_vng_linux() {
	MACHINE_TIMEOUT=${MACHINE_TIMEOUT:-1200} run_vng "$@"
}

# vmx-bochs when it runs a linux_*_test (ONLY_NAMED): Bochs
# with an initramfs (khyp.ko, the launcher, the tests) that also holds
# the Linux guest: the vmlinux extracted from Debian's vmlinuz (the
# kernel's scripts/extract-vmlinux: the same kernel, without the
# decompressor that took 126 s of Bochs' clock) and
# mkinitramfs-linux.sh's initramfs.  Built on the host before the machine takes the emulator.
BOCHS_LINUX_INITRD=$OUT/initramfs-bochs-linux.cpio.lz4
prepare_bochs_linux() {	# tests
	local vmlinux=$OUT/linux-guest/vmlinux
	extract_vmlinux || return 1
	mkdir -p "$OUT/linux-guest"
	ln -f "$VMLINUX" "$vmlinux" || return 1
	# shellcheck disable=SC2086
	KHYP_LINUX_GUEST="$vmlinux $OUT/linux-initramfs.cpio" \
		"$TOP/scripts/mkinitramfs.sh" "$BOCHS_LINUX_INITRD" "$KVER" \
		"$KO" "$TOP/selftests" $1
}
run_bochs_linux() {
	INITRD=$BOCHS_LINUX_INITRD \
	MACHINE_ENV="KHYP_LINUX_KERNEL=/khyp-tool/vmlinux KHYP_LINUX_CPUS=${KHYP_LINUX_CPUS:-2} KHYP_LINUX_KCMD=cryptomgr.notests KHYP_LINUX_LOGLEVEL=5 ${MACHINE_ENV:-}" \
	MACHINE_MEM_MB=${MACHINE_MEM_MB:-1024} \
	MACHINE_TIMEOUT=${MACHINE_TIMEOUT:-1800} run_bochs "$@"
}

# Two lanes of machines at once (KHYP_LANES, above: default 2 on a
# machine with two CPUs or more, else 1): each lane boots its machines one after the
# other, and each machine takes one of machines.sh's emulator slots.
# Every emulator is one busy thread (QEMU's TCG here is single-threaded,
# Bochs is), and two ran on this 2-core machine as fast as one alone:
# session 18 measured svm-bochs with three binaries at 69 s alone, 64 s
# and 65 s as two at once (PLATFORM.md's 1.8x was measured on another
# machine type).  Bochs' clock follows its instructions; QEMU's is the
# host's, so the QEMU machines are the ones a busy host slows: in the
# first minutes the native tests (~3 minutes of one CPU) run beside both
# lanes, and session 18's first two-lane run had svm-qemu at 180 s
# (151 s alone) and svm-qemu-linux at 350 s (306 s), green.
# Lane 1: every QEMU machine, the debug machine last; lane 2: the Bochs
# machines (every Bochs machine: they share the vmlinux and mbboot built
# for them).  Session 18: ~1,100 s each, la57 and smp2 in lane 2;
# session 19 moved them (~100 s) to lane 1 when vmx-bochs got the
# devices boot (~+340 s); session 21 moved svm-qemu (173 s) to lane 1
# when vmx-bochs got linux_share_test (~+220 s).  Its CI9 (1,938 s):
# lane 1 ~1,660 s, lane 2 (la57 and smp2 in it then) 1,813 s, vmx-bochs
# alone 1,186; so la57 and smp2 went to lane 1 too, paid for by the
# debug machine's fuzzer (60,000 calls, not 100,000) and lifetime_test
# (30 kills of each kind, as in Bochs, not 60).  The package test installs
# on this host, whose /lib/modules the virtme-ng machines see: it
# starts once every virtme-ng machine of the run is done and the debug
# machine has started (pkg_when_ready).  A machine's results are judged
# after both lanes are done, in the order of MACHINES.
LANE2_QEMU=" "
lane_of() {	# name runner
	if [ "$LANES" -ge 2 ] &&
	   [[ $2 == bochs* || $LANE2_QEMU == *" $1 "* ]]; then
		echo 2
	else
		echo 1
	fi
}

# Boot one machine (a MACHINES line) if it runs: its logs and report go
# to $OUT/NAME; a failure to prepare it, to $OUT/NAME/prepare.fail.
run_machine() {	# line
	local name runner cpu tests expect start
	read -r name runner cpu tests expect <<< "$1"
	tests=$(machine_tests "$name" "$tests") || return 0
	rm -rf "${OUT:?}/$name"; mkdir -p "$OUT/$name"
	start=$(date +%s)
	touch "$OUT/$name/started"
	if [ "$runner" = qemu_debug ] && ! prepare_debug "$tests"; then
		echo "no debug kernel or no khyp.ko for it; see $OUT/debug-kernel.log" \
			> "$OUT/$name/prepare.fail"
		return 0
	fi
	if [ "$runner" = bochs ] && [[ " $tests " == *" linux_"*"_test "* ]]; then
		if ! prepare_bochs_linux "$tests"; then
			echo "no vmlinux or no initramfs for it" > "$OUT/$name/prepare.fail"
			return 0
		fi
		runner=bochs_linux
	fi
	say "$name: booting ($runner, $cpu) for: $tests"
	emu_lock
	if [ "$tests" = reboot ]; then
		MACHINE_SCRIPT=reboot-guest.sh "run_$runner" "$name" "$cpu" "$tests" "$expect"
	else
		"run_$runner" "$name" "$cpu" "$tests" "$expect"
	fi
	emu_unlock
	say "$name: done in $(( $(date +%s) - start )) s"
}
run_lane() {	# lane
	local m name runner
	for m in "${MACHINES[@]}"; do
		read -r name runner _ <<< "$m"
		[ "$(lane_of "$name" "$runner")" = "$1" ] || continue
		run_machine "$m"
		# a machine that ran (the marks were cleared before the lanes)
		[ -f "$OUT/$name/started" ] && touch "$OUT/$name/finished"
	done
	touch "$OUT/lane$1.finished"
}

# The package test, once no virtme-ng machine of the run is left to
# start or finish and the debug machine has started (or no lane is
# left).
pkg_when_ready() {
	local m name runner tests lane wait
	while :; do
		wait=
		for m in "${MACHINES[@]}"; do
			read -r name runner _ tests _ <<< "$m"
			machine_tests "$name" "$tests" > /dev/null || continue
			case $runner in
			vng*) [ -f "$OUT/$name/finished" ] || wait=1 ;;
			qemu_debug) [ -f "$OUT/$name/started" ] || wait=1 ;;
			esac
		done
		for ((lane = 1; lane <= LANES; lane++)); do
			[ -f "$OUT/lane$lane.finished" ] || break
		done
		[ -z "$wait" ] || [ "$lane" -gt "$LANES" ] && break
		sleep 2
	done
	run_pkg
}

rm -f "$OUT"/lane*.finished
for m in "${MACHINES[@]}"; do	# the last run's marks
	rm -f "$OUT/${m%% *}/started" "$OUT/${m%% *}/finished"
done
[ "$pkg_bg" = later ] && bg_run "$OUT/pkg.status" pkg_when_ready
for ((lane = 1; lane <= LANES; lane++)); do
	bg_run "$OUT/lane$lane.status" run_lane "$lane"
done
for ((lane = 1; lane <= LANES; lane++)); do
	bg_wait "$OUT/lane$lane.status" || say "lane $lane ended with status $?"
done
[ -s "$OUT/debug-kernel.dir" ] && DEBUG_DIR=$(cat "$OUT/debug-kernel.dir")

ran=0
for m in "${MACHINES[@]}"; do
	read -r name runner cpu tests expect <<< "$m"
	tests=$(machine_tests "$name" "$tests") || continue
	ran=$((ran + 1))
	if [ -f "$OUT/$name/prepare.fail" ]; then
		fail_machine "$name" "$(cat "$OUT/$name/prepare.fail")"
	elif [ "$tests" = reboot ]; then
		judge_reboot "$name" "$OUT/$name/report" "$OUT/$name/console.log"
	else
		judge "$name" "$OUT/$name/report" "$OUT/$name/console.log" \
			"$tests" "$expect"
	fi
	[ "$runner" = qemu_debug ] && debug_lines "$name"
done
[ $ran -gt 0 ] || [ -n "$pkg_ran" ] || die "no machine matches --machine $only_machine --test $only_test"

# The packages, which ran beside the debug machine.
if [ "$pkg_bg" = later ]; then
	say "waiting for the packages' test"
	bg_wait "$OUT/pkg.status"
	judge_pkg
fi

# The native tests that ran meanwhile (their output, then their counts).
if [ -n "$native_ran" ]; then
	say "waiting for the native tests"
	bg_wait "$OUT/native.status"
	cat "$OUT/native.out"
	if [ -f "$OUT/native.counts" ]; then
		read -r np nf < <(sed 's/[A-Z_]*=//g' "$OUT/native.counts")
		NATIVE_PASSED=$((NATIVE_PASSED + np))
		NATIVE_FAILED=$((NATIVE_FAILED + nf))
	else
		echo "native: not ok (no counts; see $OUT/native.out)"
		NATIVE_FAILED=$((NATIVE_FAILED + 1))
	fi
fi

PASSED=$((PASSED + NATIVE_PASSED))
FAILED=$((FAILED + NATIVE_FAILED))
# Every failure once more, where a log read from its tail shows it.
{ printf '%s' "$FAIL_LIST"
  cat "$OUT/native.out" "$OUT/pkg.log" 2>/dev/null | grep -a '^\(native\|pkg\): .*not ok'
} | sed 's/^/failed: /'
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
