#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside an emulated machine: loads khyp.ko, runs the selftest
# binaries and writes everything the host needs into one report:
#
#   KHYP-BEGIN <machine> <kernel>
#   KHYP-TEST <binary>          then the binary's TAP output
#   KHYP-RC <binary> <status>
#   KHYP-TIME <binary> <uptime at start> <uptime at end>
#   KHYP-UP <uptime>            after each "#  RUN" line of the harness
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
	local marker="khyp-test: $machine: loading khyp.ko" loaded=
	echo "KHYP-BEGIN $machine $(uname -r)"
	# What the host kernel says about the CPU's speculative-execution
	# bugs: which of khyp's mitigations apply here (docs/security.md).
	for v in /sys/devices/system/cpu/vulnerabilities/*; do
		[ -f "$v" ] && echo "# vulnerability ${v##*/}: $(cat "$v")"
	done
	# udev (virtme-ng runs it) loads KVM for a CPU with VMX/SVM: khyp and
	# KVM exclude each other, so take KVM out first.
	modprobe -r kvm_intel kvm_amd kvm 2>/dev/null
	# Judge only what the kernel logs from here on: boot messages such as
	# mitigation notices are not khyp's.
	echo "$marker" > /dev/kmsg
	# The suite runs with khyp loaded (on CPUs without VMX/SVM the load
	# fails, which load_test checks itself).
	if err=$(insmod "$KHYP_KO" 2>&1); then
		loaded=1
	else
		echo "KHYP-INSMOD-FAILED $err"
	fi
	for t in "$@"; do
		echo "KHYP-TEST $t"
		start=$(cut -d' ' -f1 /proc/uptime)
		# The harness flushes its output before it forks each test, so
		# a "#  RUN" line reaches us as that test starts: the uptime
		# after it dates the test (judge.sh reports the slow ones).
		{ "$testdir/$t" 2>&1; echo "KHYP-RC $t $?"; } |
			while IFS= read -r line || [ -n "$line" ]; do
				printf '%s\n' "$line"
				case "$line" in
				"#  RUN "*|"KHYP-RC "*)
					echo "KHYP-UP $(cut -d' ' -f1 /proc/uptime)" ;;
				esac
			done
		# Seconds of the machine's clock (instructions, in Bochs).
		echo "KHYP-TIME $t $start $(cut -d' ' -f1 /proc/uptime)"
	done
	# The tests leave khyp loaded as they found it; an unload that fails
	# means something still holds the module (a leaked reference).
	if [ -n "$loaded" ] && ! err=$(rmmod khyp 2>&1); then
		echo "KHYP-RMMOD-FAILED $err"
	fi
	dmesg | grep -qF "$marker" || echo "KHYP-DMESG-NO-MARKER"
	echo "KHYP-DMESG-BEGIN"
	dmesg | sed -n "\|$marker|,\$p" |
		grep -E 'khyp|WARNING|BUG|Oops|KASAN|lockdep|circular locking|Call Trace|Kernel panic'
	echo "KHYP-DMESG-END"
	echo "KHYP-END"
}

run "$@" > "$report" 2>&1
