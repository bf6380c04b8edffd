#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The judge of the machines' reports (scripts/judge.sh), fed made-up
# reports: each case says how many failures the judge must count.  A
# harness that turns a partial run green hides every bug behind it, so
# this runs before the machines in every `make test`.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/scripts/judge.sh"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
console=$dir/console
: > "$console"
ok=0 bad=0

# A report: the machine's header, then each argument as a line.
report() {
	printf 'KHYP-BEGIN m 6.1\n'
	printf '%s\n' "$@"
}
tail_ok() {
	printf 'KHYP-DMESG-BEGIN\nKHYP-DMESG-END\nKHYP-END\n'
}

# check NAME WANT_FAILED MACHINE BINARIES EXPECT: judge $dir/report
check() {
	local name=$1 want=$2 machine=$3 bins=$4 expect=$5
	PASSED=0 FAILED=0 SKIPPED=0
	judge "$machine" "$dir/report" "$console" "$bins" "$expect" \
		> "$dir/out" 2>&1
	if [ "$FAILED" -eq "$want" ]; then
		echo "ok - $name"
		ok=$((ok + 1))
	else
		echo "not ok - $name: $FAILED failures counted, $want wanted"
		sed 's/^/#   /' "$dir/out"
		bad=$((bad + 1))
	fi
}

{ report "KHYP-TEST a" "1..2" "ok 1 x.one" "ok 2 x.two" "KHYP-RC a 0"; tail_ok; } > "$dir/report"
check "a complete passing binary" 0 m a exp
{ report "KHYP-TEST a" "1..2" "ok 1 x.one" "not ok 2 x.two" "KHYP-RC a 1"; tail_ok; } > "$dir/report"
check "a failing test counts once" 1 m a exp
{ report "KHYP-TEST a" "1..3" "ok 1 x.one" "KHYP-RC a 139"; tail_ok; } > "$dir/report"
check "a binary crashing midway" 1 m a exp
{ report "KHYP-TEST a" "1..3" "ok 1 x.one" "ok 2 x.two" "ok 3 x.three" "KHYP-RC a 139"; tail_ok; } > "$dir/report"
check "all results, then a crash" 1 m a exp
{ report "KHYP-TEST a" "KHYP-RC a 0"; tail_ok; } > "$dir/report"
check "a binary that printed nothing" 2 m a exp
{ report "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-RC a 0"; tail_ok; } > "$dir/report"
check "a binary that did not run" 1 m "a b" exp
{ report "KHYP-TEST a" "1..0" "KHYP-RC a 0"; tail_ok; } > "$dir/report"
check "a binary that planned no tests" 2 m a exp
{ report "KHYP-TEST a" "1..0 # SKIP no device" "KHYP-RC a 4"; tail_ok; } > "$dir/report"
check "a binary that skipped before its plan" 2 m a exp
{ report "KHYP-TEST a" "1..2" "ok 1 x.one" "ok 1 x.one" "KHYP-RC a 0"; tail_ok; } > "$dir/report"
check "a result repeated, another missing" 1 m a exp
# The list of failures test.sh repeats at the end: each failure once,
# with the assertion printed before it, and not a passing test's log.
FAIL_LIST=
{ report "KHYP-TEST a" "1..3" "#  RUN           x.one ..." "# a.c:12:one:Expected 1 (1) == r (0)" \
	"# one: Test terminated by assertion" "not ok 1 x.one" "#  RUN           x.two ..." "# a.c:34:two:a note" "ok 2 x.two" \
	"#  RUN           x.three ..." "not ok 3 x.three" "KHYP-RC a 1"; tail_ok; } > "$dir/report"
check "two failing tests count twice" 2 m a exp
if [ "$FAIL_LIST" = "m: a: not ok 1 x.one (a.c:12:one:Expected 1 (1) == r (0))
m: a: not ok 3 x.three
" ]; then
	echo "ok - the failures are listed with their assertions"; ok=$((ok + 1))
else
	echo "not ok - the failures are listed with their assertions"
	printf '%s' "$FAIL_LIST" | sed 's/^/#   /'; bad=$((bad + 1))
fi
# The timing lines: a slow test is named, and counts as nothing.
{ report "KHYP-TEST a" "1..2" "#  RUN           x.one ..." "KHYP-UP 10.0" "ok 1 x.one" \
	"#  RUN           x.two ..." "KHYP-UP 12.0" "ok 2 x.two" "KHYP-RC a 0" "KHYP-UP 40.5"; tail_ok; } > "$dir/report"
check "timing lines change no count" 0 m a exp
if grep -qx 'm: a: slow: x.two 28.5 s' "$dir/out" && ! grep -q 'slow: x.one' "$dir/out"; then
	echo "ok - the slow test is named with its time"; ok=$((ok + 1))
else
	echo "not ok - the slow test is named with its time"; sed 's/^/#   /' "$dir/out"; bad=$((bad + 1))
fi
{ report "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-TEST b" "1..1" "ok 1 y.one"; } > "$dir/report"
check "the machine stopped inside a binary" 3 m "a b" exp
{ report "KHYP-TEST a" "1..1" "#  RUN           x.one ..." "ok 1 # SKIP why" "KHYP-RC a 4"; tail_ok; } > "$dir/report"
check "a skip not on the list" 2 m a exp
{ report "KHYP-TEST run_test" "1..2" "#  RUN           global.hlt ..." "ok 1 global.hlt" \
	"#  RUN           global.triple_fault_is_shutdown ..." \
	"ok 2 # SKIP Bochs" "KHYP-RC run_test 0"; tail_ok; } > "$dir/report"
check "a skip on the list" 0 svm-bochs run_test exp
{ report "KHYP-TEST run_test" "1..2" "#  RUN           global.triple_fault_is_shutdown ..." \
	"ok 1 global.triple_fault_is_shutdown" "#  RUN           global.hlt ..." \
	"ok 2 # SKIP Bochs" "KHYP-RC run_test 0"; tail_ok; } > "$dir/report"
check "a skip of a test not on the list, after one that is" 1 svm-bochs run_test exp
{ report "KHYP-INSMOD-FAILED insmod: ENODEV" "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-RC a 0"; tail_ok; } > "$dir/report"
check "insmod failed where khyp should load" 1 m a exp
{ report "KHYP-INSMOD-FAILED insmod: ENODEV" "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-RC a 0"; tail_ok; } > "$dir/report"
check "insmod failed where the CPU cannot run khyp" 0 m a none
{ report "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-RC a 0" "KHYP-RMMOD-FAILED busy"; tail_ok; } > "$dir/report"
check "rmmod failed after the tests" 1 m a exp
{ report "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-RC a 0" "KHYP-DMESG-NO-MARKER"; tail_ok; } > "$dir/report"
check "the kernel log wrapped past the marker" 1 m a exp
{ report "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-RC a 0" "KHYP-DMESG-BEGIN" \
	"[ 1.0] WARNING: CPU: 0 PID: 1 at khyp" "KHYP-DMESG-END" "KHYP-END"; } > "$dir/report"
check "a kernel warning after insmod" 1 m a exp
{ report "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-RC a 0"; } > "$dir/report"
check "no end marker" 1 m a exp
# The debug kernel's machine: kmemleak's section, lockdep's state.
{ report "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-RC a 0" "KHYP-KMEMLEAK-BEGIN" \
	"KHYP-KMEMLEAK-END" "# kmemleak: 3 suspects in all"; tail_ok; } > "$dir/report"
check "kmemleak found nothing of khyp's" 0 m a exp
{ report "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-RC a 0" "KHYP-KMEMLEAK-BEGIN" \
	"unreferenced object 0xffff888003a4d000 (size 128):" "  backtrace:" \
	"    [<00000000aaaabbbb>] khyp_vm_create+0x12/0x40 [khyp]" \
	"unreferenced object 0xffff888003a4e000 (size 64):" "  backtrace:" \
	"    [<00000000aaaabbbb>] 0xffffffffc0201234" \
	"KHYP-KMEMLEAK-END"; tail_ok; } > "$dir/report"
check "a leak of khyp's (two objects, one failure)" 1 m a exp
{ report "KHYP-DEBUG-LOCKS-OFF off-at-start" "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-RC a 0"; tail_ok; } > "$dir/report"
check "lockdep off before the tests" 1 m a exp
{ report "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-RC a 0" "KHYP-DEBUG-LOCKS-OFF off-after-tests"; tail_ok; } > "$dir/report"
check "lockdep off after the tests" 1 m a exp
{ report "KHYP-TEST a" "1..1" "ok 1 x.one" "KHYP-RC a 0" "KHYP-DMESG-BEGIN" \
	"[ 1.0] UBSAN: array-index-out-of-bounds in irq/lapic.c:10:3" "KHYP-DMESG-END" "KHYP-END"; } > "$dir/report"
check "a UBSAN report after insmod" 1 m a exp

echo "$ok passed, $bad failed"
[ "$bad" -eq 0 ]
