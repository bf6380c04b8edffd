#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside an emulated machine instead of guest-run.sh (the machine's
# tests field is "reboot"): reboots the machine while vCPUs are running
# their guests.  khyp's reboot notifier turns SVM or VMX off on every CPU
# under them; a vCPU thread that runs again before the machine restarts
# must neither enter its guest nor fault on an SVM/VMX instruction.
#
# The report holds KHYP-BEGIN and "KHYP-REBOOT N" (N vCPUs still running
# just before the reboot).  The verdict is the console's, judged by
# scripts/test.sh: the kernel must reach "reboot: Restarting system" with
# no oops, panic or warning.
#
# Usage: reboot-guest.sh MACHINE REPORT TESTDIR

machine=$1
report=$2
pids=

{
	echo "KHYP-BEGIN $machine $(uname -r)"
	modprobe -r kvm_intel kvm_amd kvm 2>/dev/null
	insmod "${KHYP_KO:-/khyp/khyp.ko}" || echo "# insmod failed"
	for i in 1 2 3 4; do
		/khyp-tool/khyp run --timeout 120 /khyp-tool/guests/spin.bin \
			> /dev/null 2>&1 &
		pids="$pids $!"
	done
	sleep 3
	n=0
	for p in $pids; do
		kill -0 "$p" 2>/dev/null && n=$((n + 1))
	done
	echo "KHYP-REBOOT $n"
} > "$report" 2>&1
sync
# Everything the kernel says from here goes to the console.
dmesg -n 8
reboot -f
