#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: khyp against KVM, on the same guest workloads, in the same
# run (docs/performance.md).  Boots each machine once (svm-qemu: QEMU TCG
# via virtme-ng; vmx-bochs and svm-bochs: Bochs), with 1 GiB of RAM; in
# each, scripts/bench-guest.sh runs bench/khyp-bench through KVM, then,
# with KVM unloaded, through khyp.  Prints a table per machine (median
# time per operation for KVM and khyp, and khyp/KVM) and writes it, with
# the date, machine, kernel and commit, to bench/results/DATE-MACHINE.txt.
#
# Options: --machine NAME (one machine), --reps N (repetitions; 5),
#          --short (one short iteration, as make test does; no file).
# Needs what `make test` installs (scripts/install-deps.sh).  Not a
# pass/fail run: it fails only if a machine gives no results.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
export KHYP_CACHE=${KHYP_CACHE:-/var/cache/khyp}
OUT=$TOP/build/bench
RESULTS=$TOP/bench/results

# name      runner  cpu                 what it is
MACHINES=(
"svm-qemu   vng     qemu64,+svm,+npt    QEMU 7.2 TCG, SVM+NPT, no NRIP save"
"vmx-bochs  bochs   corei7_skylake_x    Bochs 2.7, VMX+EPT+VPID"
"svm-bochs  bochs   trinity_apu         Bochs 2.7, SVM+NPT with NRIP save"
)

only= reps=5 short=
while [ $# -gt 0 ]; do
	case $1 in
	--machine) only=$2; shift ;;
	--reps) reps=$2; shift ;;
	--short) short=1 ;;
	*) echo "usage: $0 [--machine NAME] [--reps N] [--short]" >&2; exit 2 ;;
	esac
	shift
done

say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }

. "$TOP/scripts/machines.sh"

build_module "$KVER"
KO=$OUT/build-$KVER/khyp.ko
make -s -C "$TOP/bench" > "$OUT/bench-build.log" 2>&1 ||
	{ cat "$OUT/bench-build.log"; die "khyp-bench does not build"; }
INITRD=$OUT/initramfs.cpio.gz
"$TOP/scripts/mkinitramfs.sh" "$INITRD" "$KVER" "$KO" "$TOP/selftests" ||
	die "mkinitramfs failed"

if [ -n "$short" ]; then args="--short"; else args="--reps $reps"; fi
commit=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
branch=$(git -C "$TOP" rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$TOP" status --porcelain -- core svm vmx mmu irq balloon \
	bench uapi 2>/dev/null | grep -q . && echo "-dirty")

# The table of one machine's report, on stdout.
table() {	# name desc report
	awk -v name="$1" -v desc="$2" -v when="$(date -u '+%Y-%m-%d %H:%M UTC')" \
	    -v commit="$commit$dirty" -v branch="$branch" -v args="$args" '
	BEGIN {
		n = split("cpuid hypercall pio_in mmio_read irq_inject " \
			  "mem_first_touch mem_steady mem_first_touch_4k " \
			  "mem_steady_4k vm_create_destroy " \
			  "vcpu_create balloon_reclaim shrinker_scan", order, " ")
		title["cpuid"] = "exit handled in the kernel (CPUID)"
		title["hypercall"] = "hypercall handled in the kernel"
		title["pio_in"] = "port I/O exit to userspace (IN)"
		title["mmio_read"] = "MMIO exit to userspace (read)"
		title["irq_inject"] = "interrupt injection round trip"
		title["mem_first_touch"] = "first touch of guest memory, per 4K"
		title["mem_steady"] = "second pass (steady state), per 4K"
		title["mem_first_touch_4k"] = "first touch, KVM on 4K host pages"
		title["mem_steady_4k"] = "second pass, KVM on 4K host pages"
		title["vm_create_destroy"] = "VM create + destroy"
		title["vcpu_create"] = "vCPU create"
		title["balloon_reclaim"] = "balloon reclaim (khyp only)"
		title["shrinker_scan"] = "shrinker scan_objects (khyp only)"
		target["cpuid"] = "<= 0.7"; target["hypercall"] = "<= 0.7"
		target["pio_in"] = "<= 0.8"; target["mmio_read"] = "<= 0.8"
		target["irq_inject"] = "<= 0.8"
		target["mem_first_touch"] = "<= 0.5"
		target["mem_steady"] = "~ 1.0"
		target["mem_first_touch_4k"] = "<= 0.5"
		target["mem_steady_4k"] = "~ 1.0"
		# KVM-only rows: compared with the khyp row of the same work
		same["mem_first_touch_4k"] = "mem_first_touch"
		same["mem_steady_4k"] = "mem_steady"
	}
	/^KHYP-BEGIN/ { kernel = $3 }
	/^KHYP-INFO cpu/ { sub(/^KHYP-INFO cpu /, ""); cpu = $0 }
	/^KHYP-INFO thp/ { sub(/^KHYP-INFO thp /, ""); thp = $0 }
	/^KHYP-INFO mem/ { sub(/^KHYP-INFO mem MemTotal: /, ""); mem = $0 }
	/^KHYP-RC/ { rc[$2] = $3 }
	/^FAIL/ { fails = fails "  " $0 "\n" }
	/^result / { med[$2, $3] = $4; lo[$2, $3] = $5; hi[$2, $3] = $6
		     unit[$3] = $7; raw = raw "  " $0 "\n" }
	function fmt(v) {
		if (v == "") return "-"
		if (v !~ /^[0-9.]+$/) return v
		return sprintf("%.0f", v)
	}
	END {
		printf "khyp-bench on %s (%s), %s\n", name, desc, when
		printf "kernel %s, khyp commit %s (branch %s)\n", kernel, commit, branch
		printf "cpu: %s; RAM %s; THP %s\n", cpu, mem, thp
		printf "khyp-bench %s; median of the repetitions; exit status kvm %s, khyp %s\n\n",
		       args, rc["kvm"], rc["khyp"]
		printf "%-38s %-8s %12s %12s %9s  %s\n", "workload", "unit",
		       "KVM", "khyp", "khyp/KVM", "target"
		for (i = 1; i <= n; i++) {
			w = order[i]
			if (!((("kvm", w) in med) || (("khyp", w) in med)))
				continue
			k = med["kvm", w]
			h = med["khyp", (w in same) ? same[w] : w]
			r = "-"
			if (k ~ /^[0-9.]+$/ && h ~ /^[0-9.]+$/ && k > 0)
				r = sprintf("%.2f", h / k)
			printf "%-38s %-8s %12s %12s %9s  %s\n", title[w],
			       unit[w], fmt(k), fmt(h), r,
			       (w in target) ? target[w] : ""
		}
		if (fails != "")
			printf "\nfailed checks:\n%s", fails
		printf "\nraw (hv workload median min max unit):\n%s", raw
	}' "$3"
}

status=0
for m in "${MACHINES[@]}"; do
	read -r name runner cpu desc <<< "$m"
	[ -n "$only" ] && [ "$name" != "$only" ] && continue
	rm -rf "${OUT:?}/$name"; mkdir -p "$OUT/$name"
	start=$(date +%s)
	say "$name: booting ($runner, $cpu) for khyp-bench $args"
	if [ "$runner" = bochs ]; then timeout=2400; else timeout=1500; fi
	emu_lock
	MACHINE_SCRIPT=bench-guest.sh MACHINE_MEM_MB=1024 \
		MACHINE_TIMEOUT=$timeout "run_$runner" "$name" "$cpu" "$args" none
	emu_unlock
	say "$name: done in $(( $(date +%s) - start )) s"
	report=$OUT/$name/report
	if ! grep -q '^result ' "$report" 2>/dev/null; then
		say "$name: no results; see $OUT/$name/"
		status=1
		continue
	fi
	grep -q '^KHYP-END' "$report" || say "$name: no end marker (timeout?)"
	table "$name" "$desc" "$report" > "$OUT/$name/table.txt"
	cat "$OUT/$name/table.txt"; echo
	if [ -z "$short" ]; then
		mkdir -p "$RESULTS"
		file=$RESULTS/$(date -u +%Y-%m-%d)-$name.txt
		cp "$OUT/$name/table.txt" "$file"
		say "$name: written to ${file#"$TOP"/}"
	fi
done
exit $status
