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
#   KHYP-DEBUG-LOCKS-OFF <when>  (lockdep turned itself off: debug kernel)
#   KHYP-KMEMLEAK-BEGIN ... KHYP-KMEMLEAK-END  (kmemleak's reports that
#                               involve khyp: debug kernel)
#   KHYP-END
#
# Usage: guest-run.sh MACHINE REPORT TESTDIR TEST...
# Environment: KHYP_KO (path of khyp.ko), KHYP_EXPECT (what the machine's
# CPU offers, checked by the tests), KHYP_DMESG (a file for the whole
# kernel log from the marker on), KHYP_KMEMLEAK=1 (the debug kernel: scan
# for leaks after the tests).  With KHYP_DMESG (virtme-ng: the host's
# tree), guest_fuzz_test writes each case before it runs to
# gfuzz-cases.log beside it: a machine that stops leaves its last case.

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

KMEMLEAK=
[ "${KHYP_KMEMLEAK:-}" = 1 ] && KMEMLEAK=/sys/kernel/debug/kmemleak

debug_locks() {	# when
	[ -r /proc/lockdep_stats ] || return 0
	grep -qE '^ *debug_locks: +1$' /proc/lockdep_stats ||
		echo "KHYP-DEBUG-LOCKS-OFF $1"
}

# kmemleak finds an object leaked once it is 5 s old and unreferenced, and
# its contents unchanged since the scan before: wait, scan twice.
kmemleak_scan() {
	sleep 6
	echo scan > "$KMEMLEAK"
	echo scan > "$KMEMLEAK"
}

# kmemleak's reports (stdin) that involve khyp: a "[khyp]" frame in the
# allocation's backtrace, or, after rmmod, a frame without a symbol (%pS
# prints its address, where [<%p>] is hashed) in the range khyp had ("ADDRESS SIZE" from /proc/modules, in $1; modules
# lie in 0xffffffffa0000000-0xfffffffffeffffff, so the low 32 bits
# compare, which awk's doubles hold exactly).
kmemleak_khyp() {	# range [objects already reported]
	awk -v range="$1" -v seen="${2:-}" '
	function low(s,   i, v) {
		s = tolower(s); sub(/^0x/, "", s); v = 0
		for (i = length(s) - 7; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	function high(s) { s = tolower(s); sub(/^0x/, "", s); return substr(s, 1, 8) }
	function flush() {
		if (obj != "" && hit && !(head in old))
			printf "%s", obj
		obj = ""; hit = 0
	}
	BEGIN {
		n = split(seen, s, "\n")
		for (i = 1; i <= n; i++)
			old[s[i]] = 1
		split(range, r, " ")
		if (r[1] != "") { hb = high(r[1]); lo = low(r[1]); hi = lo + r[2] }
	}
	/^unreferenced object/ { flush(); head = $0 }
	{ obj = obj $0 "\n" }
	/\[khyp\]/ { hit = 1 }
	/^ *\[<[0-9a-f]+>\] 0x[0-9a-f]+$/ {
		a = $2
		if (hb != "" && high(a) == hb && low(a) >= lo && low(a) < hi)
			hit = 1
	}
	END { flush() }'
}

run() {
	local marker="khyp-test: $machine: loading khyp.ko" loaded= range= leaks=
	[ -n "${KHYP_DMESG:-}" ] &&
		export KHYP_GFUZZ_LOG="${KHYP_GFUZZ_LOG:-${KHYP_DMESG%/*}/gfuzz-cases.log}"
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
	# The debug kernel (svm-qemu-debug): lockdep stops at its first
	# report, so one at boot would leave khyp unchecked; kmemleak's
	# boot-time suspects are not khyp's.
	debug_locks off-at-start
	[ -w "$KMEMLEAK" ] && echo clear > "$KMEMLEAK"
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
	# kmemleak: what the tests' VMs left (they are all gone now), then
	# what the module's globals held once it is unloaded.
	range=$(awk '$1 == "khyp" { print $6, $2 }' /proc/modules)
	if [ -w "$KMEMLEAK" ]; then	# read now, while khyp's frames have names
		kmemleak_scan
		leaks=$(kmemleak_khyp "$range" < "$KMEMLEAK")
	fi
	# The tests leave khyp loaded as they found it; an unload that fails
	# means something still holds the module (a leaked reference).
	if [ -n "$loaded" ] && ! err=$(rmmod khyp 2>&1); then
		echo "KHYP-RMMOD-FAILED $err"
	fi
	if [ -w "$KMEMLEAK" ]; then
		kmemleak_scan
		echo "KHYP-KMEMLEAK-BEGIN"
		[ -n "$leaks" ] && printf '%s\n' "$leaks"
		kmemleak_khyp "$range" "$(printf '%s\n' "$leaks" |
			grep '^unreferenced object')" < "$KMEMLEAK"
		echo "KHYP-KMEMLEAK-END"
		echo "# kmemleak: $(grep -c '^unreferenced object' "$KMEMLEAK") suspects in all"
	fi
	debug_locks off-after-tests
	dmesg | grep -qF "$marker" || echo "KHYP-DMESG-NO-MARKER"
	echo "KHYP-DMESG-BEGIN"
	dmesg | sed -n "\|$marker|,\$p" |
		grep -E 'khyp|WARNING|BUG|Oops|KASAN|UBSAN|ODEBUG|lockdep|circular locking|non-static key|Call Trace|Kernel panic'
	echo "KHYP-DMESG-END"
	[ -n "${KHYP_DMESG:-}" ] && dmesg | sed -n "\|$marker|,\$p" > "$KHYP_DMESG"
	echo "KHYP-END"
}

run "$@" > "$report" 2>&1
