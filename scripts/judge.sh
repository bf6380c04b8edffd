# SPDX-License-Identifier: GPL-2.0
#
# Sourced by scripts/test.sh (and tests/harness/judge_test.sh, which feeds
# it made-up reports): judge() reads one machine's report and prints and
# counts its results.  The caller sets TOP and PASSED, FAILED, SKIPPED.
# FAIL_LIST collects every failure (with the last assertion line printed
# before it), which test.sh repeats above its final count: CI logs are
# often read from their tail.

FAIL_LIST=
failed() { FAIL_LIST+="$1"$'\n'; FAILED=$((FAILED + 1)); }
fail_machine() { echo "$1: not ok - $2"; failed "$1: not ok - $2"; }

# Is "machine binary test" on the list of expected skips?
skip_expected() {
	grep -v '^#' "$TOP/scripts/expected-skips" |
		awk -v m="$1" -v b="$2" -v t="$3" \
		'$1 == m && $2 == b && $3 == t { f = 1 } END { exit !f }'
}

# Print a machine's TAP lines with its name and count them.  Each test
# binary must print its plan (1..N) and exactly N results, and exit 0, 1
# with a failure among them, or 4 (KSFT_SKIP) with only skips; every
# binary the machine was given must have run; a skip must be on the
# list in scripts/expected-skips; khyp must have loaded and unloaded
# where the CPU can run it.
# A result's number must be the next one: none repeated or left out.
tap_number() {	# "N rest" (judge's locals: name, bin, results)
	[ "${1%% *}" = $((results + 1)) ] ||
		fail_machine "$name" "$bin: result ${1%% *} where $((results + 1)) was due"
}

# A test that took more than 10 s of the machine's clock: named, so that
# the suite's time can be seen where it goes (reports only).
slow_test() {	# name binary test uptime-at-start uptime-now
	[ -n "$4" ] && [ -n "$3" ] || return 0
	awk -v m="$1" -v b="$2" -v t="$3" -v a="$4" -v z="$5" \
		'BEGIN { if (z - a > 10) printf "%s: %s: slow: %s %.1f s\n", m, b, t, z - a }'
}

judge() {	# name report console expected-binaries expect
	local name=$1 report=$2 console=$3 want=$4 expect=$5
	local line bin= rc plan results fails skips passes=0 t= ran=" "
	local last_up= last_bin= last_t= last_log=
	if [ ! -s "$report" ]; then
		fail_machine "$name" "machine produced no report"
		return
	fi
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"KHYP-TEST "*)
			[ -n "$bin" ] && fail_machine "$name" "$bin did not finish"
			bin=${line#KHYP-TEST }; plan= results=0 fails=0 skips=0
			ran="$ran$bin " ;;
		"KHYP-RC "*)
			rc=${line##* }
			if [ -z "$plan" ]; then
				fail_machine "$name" "$bin printed no TAP plan (exit $rc)"
			elif ! [ "$plan" -gt 0 ] 2>/dev/null; then
				fail_machine "$name" "$bin planned no tests ('1..$plan', exit $rc)"
			elif [ "$results" -ne "$plan" ]; then
				fail_machine "$name" "$bin planned $plan tests, reported $results (exit $rc)"
			elif ! { [ "$rc" = 0 ] && [ "$fails" = 0 ]; } &&
			     ! { [ "$rc" = 1 ] && [ "$fails" -gt 0 ]; } &&
			     ! { [ "$rc" = 4 ] && [ "$skips" = "$results" ]; }; then
				fail_machine "$name" "$bin exited $rc with $fails failed, $skips skipped of $results"
			fi
			bin= ;;
		"KHYP-UP "*)	# uptime after a "#  RUN" line or KHYP-RC
			slow_test "$name" "$last_bin" "$last_t" "$last_up" "${line#KHYP-UP }"
			last_up=${line#KHYP-UP } last_bin=$bin last_t=$t
			[ -z "$bin" ] && last_up= ;;
		"KHYP-TIME "*)	# binary, the machine's uptime before and after
			echo "$name: ${line#KHYP-TIME }" | awk '{ printf "%s time: %s %.1f s\n", $1, $2, $4 - $3 }' ;;
		"1.."[0-9]*)
			[ -n "$bin" ] && plan=${line#1..} ;;	# "N" or "0 # SKIP why"
		"#  RUN "*)	# the 6.1 harness names a test here, not in its SKIP line
			t=$(echo "$line" | awk '{ print $3 }') last_log= ;;
		"ok "*"# SKIP"*)
			echo "$name: $bin: $line"; SKIPPED=$((SKIPPED + 1))
			tap_number "${line#ok }"
			results=$((results + 1)); skips=$((skips + 1))
			skip_expected "$name" "$bin" "$t" ||
				fail_machine "$name" "$bin: $t skipped, and scripts/expected-skips does not allow it here" ;;
		"ok "*)
			echo "$name: $bin: $line"; PASSED=$((PASSED + 1))
			tap_number "${line#ok }"
			results=$((results + 1)); passes=$((passes + 1)) ;;
		"not ok "*)
			echo "$name: $bin: $line"
			failed "$name: $bin: $line${last_log:+ ($last_log)}"
			last_log=
			tap_number "${line#not ok }"
			results=$((results + 1)); fails=$((fails + 1)) ;;
		"# "*".c:"[0-9]*|"# "*"terminated"*)	# assertion details, TH_LOG
			[ -n "$bin" ] && echo "$name: $bin: $line"
			# the assertion's own words, not "Test terminated by assertion"
			[[ $line == "# "*".c:"[0-9]* ]] && last_log=${line#\# } ;;

		"KHYP-INSMOD-FAILED"*)
			[ "$expect" != none ] &&
				fail_machine "$name" "insmod khyp.ko failed: ${line#KHYP-INSMOD-FAILED }" ;;
		"KHYP-RMMOD-FAILED"*)
			fail_machine "$name" "rmmod khyp failed after the tests: ${line#KHYP-RMMOD-FAILED }" ;;
		"KHYP-DMESG-NO-MARKER"*)
			fail_machine "$name" "the kernel log no longer holds the marker written before insmod" ;;
		"KHYP-DEBUG-LOCKS-OFF off-at-start"*)
			fail_machine "$name" "lockdep was already off before insmod (a report at boot); see $console" ;;
		"KHYP-DEBUG-LOCKS-OFF"*)	# after a report, which the log shows
			fail_machine "$name" "lockdep turned itself off during the run" ;;
		esac
	done < "$report"
	[ -n "$bin" ] && fail_machine "$name" "$bin did not finish"

	for t in $want; do
		[[ "$ran" == *" $t "* ]] || fail_machine "$name" "$t did not run"
	done
	[ "$passes" -gt 0 ] || fail_machine "$name" "no test passed in this machine"
	if ! grep -q "^KHYP-END" "$report"; then
		fail_machine "$name" "no end marker (timeout or crash); see $console"
		# An emulator that stopped itself says why in its own log
		# (QEMU on the console, Bochs in bochs.log).
		grep -ash -m3 '>>PANIC<<\|^Bail out!\|qemu: fatal:' \
			"$console" "${console%/*}/bochs.log" 2>/dev/null |
			sed "s/^/$name: emulator: /"
	fi
	# kmemleak's reports that involve khyp (the debug kernel's machine).
	if sed -n '/^KHYP-KMEMLEAK-BEGIN/,/^KHYP-KMEMLEAK-END/p' "$report" |
	   grep -a -A12 '^unreferenced object' | grep -av '^ *hex dump\|^    [0-9a-f][0-9a-f] ' |
	   sed "s/^/$name: kmemleak: /" | grep .; then
		fail_machine "$name" "kmemleak found objects khyp leaked"
	fi
	if sed -n '/^KHYP-DMESG-BEGIN/,/^KHYP-DMESG-END/p' "$report" |
	   grep -aE 'WARNING:|BUG:|Oops|KASAN|UBSAN|ODEBUG|lockdep|circular locking|non-static key|Call Trace' |
	   sed "s/^/$name: kernel: /" | grep .; then
		fail_machine "$name" "guest kernel log shows a warning or crash"
	fi
	if grep -aE -m 5 'Kernel panic|BUG:|Oops' "$console" 2>/dev/null |
	   sed "s/^/$name: console: /" | grep .; then
		fail_machine "$name" "guest kernel crashed; see $console"
	fi
}
