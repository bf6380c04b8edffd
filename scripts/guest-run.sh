#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside an emulated machine: loads khyp.ko, runs the selftest
# binaries and writes everything the host needs into one report:
#
#   KHYP-BEGIN <machine> <kernel>
#   KHYP-TEST <binary>          then the binary's TAP output
#   KHYP-RC <binary> <status>
#   KHYP-DMESG-BEGIN ... KHYP-DMESG-END   (kernel log lines worth judging)
#   KHYP-END
#
# Usage: guest-run.sh MACHINE REPORT TESTDIR TEST...
# Environment: KHYP_KO (path of khyp.ko), KHYP_EXPECT (what the machine's
# CPU offers, checked by the tests).

machine=$1
report=$2
testdir=$3
shift 3

# launcher_test: the khyp binary and the example guests (mkinitramfs.sh
# puts them in /khyp-tool; virtme-ng machines see the source tree).
if [ -d /khyp-tool ]; then
	export KHYP_TOOL=/khyp-tool/khyp KHYP_GUESTS=/khyp-tool/guests
else
	export KHYP_TOOL="$testdir/../userspace-tool/khyp"
	export KHYP_GUESTS="$testdir/../guests"
fi

run() {
	echo "KHYP-BEGIN $machine $(uname -r)"
	# Judge only what the kernel logs from here on: boot messages such as
	# mitigation notices are not khyp's.
	boot_lines=$(dmesg | wc -l)
	# udev (virtme-ng runs it) loads KVM for a CPU with VMX/SVM: khyp and
	# KVM exclude each other, so take KVM out first.
	modprobe -r kvm_intel kvm_amd kvm 2>/dev/null
	# The suite runs with khyp loaded (on CPUs without VMX/SVM the load
	# fails, which load_test checks itself).
	if ! insmod "$KHYP_KO" 2>/dev/null; then
		echo "# insmod $KHYP_KO failed"
	fi
	for t in "$@"; do
		echo "KHYP-TEST $t"
		"$testdir/$t" 2>&1
		echo "KHYP-RC $t $?"
	done
	rmmod khyp 2>/dev/null
	echo "KHYP-DMESG-BEGIN"
	dmesg | tail -n +$((boot_lines + 1)) |
		grep -E 'khyp|WARNING|BUG|Oops|KASAN|lockdep|circular locking|Call Trace|Kernel panic'
	echo "KHYP-DMESG-END"
	echo "KHYP-END"
}

run "$@" > "$report" 2>&1
