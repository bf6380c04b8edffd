#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole khyp test run (the README's test command, `make test`):
#
#  1. install what is missing (scripts/install-deps.sh),
#  2. build khyp.ko against Debian's 6.1 and 6.12 headers (W=1, no warnings
#     allowed), and the selftests,
#  3. boot each emulated machine once and run the selftest suite inside it
#     with khyp.ko loaded (see MACHINES below),
#  4. print every TAP result prefixed with its machine, then one line
#     "N passed, N failed" (and the skips).
#
# Exits non-zero if a test failed, a machine did not reach its end marker in
# time, or a guest kernel log shows a WARNING, BUG, Oops, KASAN or lockdep
# report.
#
# Options: --machine NAME (one machine), --test NAME (one test binary),
#          --no-deps (skip step 1), --list (list machines).
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
export KHYP_CACHE=${KHYP_CACHE:-/var/cache/khyp}
OUT=$TOP/build/test
# The selftests: TEST_GEN_PROGS of selftests/Makefile, in its order.
read -r -a ALL_TESTS <<< "$(sed -n '/^TEST_GEN_PROGS/,/[^\\]$/p' \
	"$TOP/selftests/Makefile" | sed 's/^TEST_GEN_PROGS *:= *//; s/\\$//' |
	tr '\n' ' ')"

# name      runner  cpu                      tests      expected capabilities
# (2m=0 on vmx-bochs: the kernel reports Skylake-X with iTLB multihit, and
# khyp then maps guest memory 4 KiB only; selftests/hugepage_test.c)
MACHINES=(
"svm-qemu   vng     qemu64,+svm,+npt         all        backend=svm,npt=1,2m=1,nrip_save=0,decode_assists=0,flush_by_asid=0,vmcb_clean=0"
"vmx-bochs  bochs   corei7_skylake_x         all        backend=vmx,ept=1,vpid=1,unrestricted_guest=1,ept_ad=1,1g=1,2m=0,npt=0,nrip_save=0"
"svm-bochs  bochs   trinity_apu              all        backend=svm,npt=1,2m=1,nrip_save=1,ept=0,triple_fault_exit=0,guest_if_masks_host=1"
"nosvm-qemu qemu    qemu64,-svm              load_test  none"
"nonpt-qemu qemu    qemu64                   load_test  none"
)

only_machine= only_test= deps=1 check=1
while [ $# -gt 0 ]; do
	case $1 in
	--machine) only_machine=$2; shift ;;
	--test) only_test=$2; shift ;;
	--no-deps) deps= ;;
	--no-check) check= ;;	# while iterating only; CI always checks
	--list) printf '%s\n' "${MACHINES[@]}"; exit 0 ;;
	*) echo "usage: $0 [--machine NAME] [--test NAME] [--no-deps] [--no-check] [--list]" >&2
	   exit 2 ;;
	esac
	shift
done

say() { echo "test: $*" >&2; }
die() { say "$*"; exit 1; }

if [ -n "$deps" ]; then
	"$TOP/scripts/install-deps.sh" || die "installing dependencies failed"
fi

# The test kernels, build_module and the machines' runners.
. "$TOP/scripts/machines.sh"

build_module "$KVER"
build_module "$KVER612"
KO=$OUT/build-$KVER/khyp.ko

# sparse and checkpatch --strict must be clean (make check).
if [ -n "$check" ]; then
	make -s -C "$TOP" check KDIR="/lib/modules/$KVER/build" \
		> "$OUT/check.log" 2>&1 ||
		{ cat "$OUT/check.log"; die "make check is not clean"; }
	say "sparse and checkpatch clean"
fi

make -s -C "$TOP/selftests" OUTPUT="$TOP/selftests" \
	KSFT_DIR="$KHYP_CACHE/linux-source-6.1/tools/testing/selftests" \
	> "$OUT/selftests.log" 2>&1 || { cat "$OUT/selftests.log"; die "selftests do not build"; }
say "selftests built"

INITRD=$OUT/initramfs.cpio.gz
"$TOP/scripts/mkinitramfs.sh" "$INITRD" "$KVER" "$KO" "$TOP/selftests" \
	"${ALL_TESTS[@]}" || die "mkinitramfs failed"

# ---- native tests (no hypervisor needed) -----------------------------------

# Code that also runs in userspace is tested natively under ASan/UBSan and
# fuzzed for a bounded time: each suite ends with "N passed, N failed".
NATIVE_PASSED=0 NATIVE_FAILED=0
native() {	# name dir
	local name=$1 dir=$2 log=$OUT/native-$1.log counts
	if make -s -C "$dir" check > "$log" 2>&1 &&
	   make -s -C "$dir" fuzz-run FUZZ_SECONDS="${KHYP_FUZZ_SECONDS:-10}" \
		>> "$log" 2>&1; then
		counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
		echo "native: $name: $counts; fuzzed ${KHYP_FUZZ_SECONDS:-10} s"
		NATIVE_PASSED=$((NATIVE_PASSED + ${counts%% passed*}))
	else
		tail -20 "$log"
		echo "native: $name: not ok (see $log)"
		NATIVE_FAILED=$((NATIVE_FAILED + 1))
	fi
}
if [ -z "$only_machine" ] && [ -z "$only_test" ]; then
	native insn "$TOP/tests/insn"
	[ -f "$TOP/userspace-tool/Makefile" ] && native loader "$TOP/userspace-tool"
fi

# ---- the machines ---------------------------------------------------------

# ---- results --------------------------------------------------------------

PASSED=0 FAILED=0 SKIPPED=0

fail_machine() { echo "$1: not ok - $2"; FAILED=$((FAILED + 1)); }

# Print a machine's TAP lines with its name and count them.
judge() {
	local name=$1 report=$2 console=$3 line bin= rc tap_seen
	if [ ! -s "$report" ]; then
		fail_machine "$name" "machine produced no report"
		return
	fi
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"KHYP-TEST "*) bin=${line#KHYP-TEST }; tap_seen=0 ;;
		"KHYP-RC "*)
			rc=${line##* }
			if [ "$rc" != 0 ] && [ "$tap_seen" = 0 ]; then
				fail_machine "$name" "$bin exited $rc without results"
			elif [ "$rc" != 0 ] && [ "$rc" != 4 ]; then
				echo "$name: # $bin exited $rc"
			fi ;;
		"ok "*"# SKIP"*)
			echo "$name: $bin: $line"; SKIPPED=$((SKIPPED + 1)); tap_seen=1 ;;
		"ok "*)
			echo "$name: $bin: $line"; PASSED=$((PASSED + 1)); tap_seen=1 ;;
		"not ok "*)
			echo "$name: $bin: $line"; FAILED=$((FAILED + 1)); tap_seen=1 ;;
		"# "*".c:"[0-9]*|"# "*"terminated"*)	# assertion details, TH_LOG
			[ -n "$bin" ] && echo "$name: $bin: $line" ;;
		esac
	done < "$report"

	if ! grep -q "^KHYP-END" "$report"; then
		fail_machine "$name" "no end marker (timeout or crash); see $console"
	fi
	if sed -n '/^KHYP-DMESG-BEGIN/,/^KHYP-DMESG-END/p' "$report" |
	   grep -E 'WARNING:|BUG:|Oops|KASAN|lockdep|circular locking|Call Trace' |
	   sed "s/^/$name: kernel: /"; then
		fail_machine "$name" "guest kernel log shows a warning or crash"
	fi
	if grep -E 'Kernel panic|BUG:|Oops' "$console" 2>/dev/null | head -5 |
	   sed "s/^/$name: console: /" | grep -q .; then
		fail_machine "$name" "guest kernel crashed; see $console"
	fi
}

ran=0
for m in "${MACHINES[@]}"; do
	read -r name runner cpu tests expect <<< "$m"
	[ -n "$only_machine" ] && [ "$name" != "$only_machine" ] && continue
	[ "$tests" = all ] && tests="${ALL_TESTS[*]}"
	if [ -n "$only_test" ]; then
		[[ " $tests " == *" $only_test "* ]] || continue
		tests=$only_test
	fi
	rm -rf "${OUT:?}/$name"; mkdir -p "$OUT/$name"
	start=$(date +%s)
	say "$name: booting ($runner, $cpu) for: $tests"
	emu_lock
	"run_$runner" "$name" "$cpu" "$tests" "$expect"
	emu_unlock
	say "$name: done in $(( $(date +%s) - start )) s"
	judge "$name" "$OUT/$name/report" "$OUT/$name/console.log"
	ran=$((ran + 1))
done
[ $ran -gt 0 ] || die "no machine matches --machine $only_machine --test $only_test"

PASSED=$((PASSED + NATIVE_PASSED))
FAILED=$((FAILED + NATIVE_FAILED))
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
