#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: khyp against KVM, on the same guest workloads, in the same
# run (docs/performance.md).  Boots each machine once (svm-qemu: QEMU TCG
# via virtme-ng; vmx-bochs and svm-bochs: Bochs; svm-qemu-smp2: QEMU TCG
# with 2 CPUs, for the workloads of two vCPUs only), with 1 GiB of RAM.
# Every machine's clock counts instructions, not wall time (QEMU with
# -icount and sleep off, Bochs with clock sync=none): a figure is a
# property of the code path, not of how busy the host was.  In each,
# scripts/bench-guest.sh runs bench/khyp-bench through KVM and through
# khyp in interleaved pairs (KVM first, then khyp first, ...).  Prints a
# table per machine: the median time per operation for KVM and khyp over
# the pairs, and khyp/KVM as the median of the per-pair ratios with their
# min-max; writes it, with the date, machine, kernel, clock and commit,
# to bench/results/DATE-MACHINE.txt.  Then compares each ratio with the
# last committed results of the same machine and names every workload
# more than 10% worse ("regression:" lines; they do not change the exit
# status).
#
# svm-qemu-boot is the svm-qemu machine booted once more for the Linux
# boot benchmark (scripts/boot-bench-guest.sh): Debian's 6.1 kernel and
# the busybox initramfs of scripts/mkinitramfs-linux.sh to /init's shell
# marker under `khyp run` and under QEMU with -accel kvm, in the same
# interleaved pairs, in two variants: the bzImage, which decompresses
# itself under both (workload linux_boot), and the same kernel as the
# vmlinux the test suite extracts from it (extract_vmlinux in
# scripts/machines.sh; workload linux_boot_vmlinux), which QEMU boots
# through its PVH entry and khyp run through its ELF loader, neither with
# the decompressor.  Its table gives, per variant, the times to the
# shell, the launchers' peak RSS and khyp run's --boot-report, with
# khyp/QEMU ratios (ratio lines linux_boot* and linux_boot_vmlinux*).
# A variant of which no QEMU boot or no khyp boot reached the shell fails
# the run (status 1, no results file written).
# KHYP_BOOT_WALL=1 in the environment runs it on wall time instead of the
# instruction clock (QEMU-KVM's guest hung there in every boot of
# 2026-12-06's run; docs/performance.md).
#
# svm-qemu-blk is that machine booted for the virtio-blk benchmark: the
# same kernel and initramfs (with bench/khyp-blkbench in it) and the same
# pairs, each guest with a virtio-blk disk on the same kind of raw image
# in the machine's tmpfs; /init times a sequential write and read and
# 4 KiB random reads on it with the guest's clock (boot-bench-guest.sh
# --disk).  Its table gives MiB/s and IOPS with khyp/QEMU ratios, where
# higher is better.  It runs on wall time, as svm-qemu-smp2 does: on the
# instruction clock both guests hung under the disk's interrupts.
#
# svm-qemu-balloon is that machine booted for the balloon benchmark (issue
# 15; scripts/balloon-bench.sh, boot-bench-guest.sh --balloon): the same
# kernel and initramfs, each guest with a virtio-balloon and most of its
# RAM touched; bench/khyp-balbench in the machine asks QEMU for memory
# over QMP (a manager), khyp the same with `khyp balloon`, and in a
# second khyp boot asks nothing but grows a memory hog past what the
# machine has (khyp's shrinker answers it), and samples what each
# hypervisor holds: time to the first page back and MiB/s, khyp/QEMU
# ratios.  On wall time, as svm-qemu-blk: on the instruction clock
# QEMU's guest hung in its boot twice in two tries.
#
# Options: --machine NAME (one machine), --pairs N (5), --reps N
#          (khyp-bench repetitions per run, median taken; 3 in QEMU,
#          1 in Bochs, whose figures repeat to 0.1%), --short (one short
#          iteration, as make test does; no file, no comparison),
#          --only W[,W...] (only these workloads, khyp-bench's names,
#          e.g. apic_self_ipi,apic_timer,apic_eoi,apic_ipi_2vcpu; the
#          table on stdout, no file, no comparison); linux_boot is the
#          boot benchmark's bzImage variant, linux_boot_vmlinux its
#          vmlinux variant: `--only linux_boot` or `--only
#          linux_boot_vmlinux` or both (with or without --machine
#          svm-qemu) runs them alone, `--machine svm-qemu-boot` runs
#          both, with its file; linux_blk and svm-qemu-blk likewise for
#          the virtio-blk benchmark, linux_balloon and
#          svm-qemu-balloon for the balloon's.  --short leaves both out unless one
#          of these names it.
# Needs what `make test` installs (scripts/install-deps.sh).  Not a
# pass/fail run: it fails only if a machine gives no results.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
export KHYP_CACHE=${KHYP_CACHE:-/var/cache/khyp}
OUT=$TOP/build/bench
RESULTS=$TOP/bench/results

# QEMU's instruction-driven clock: each guest instruction advances it by
# 2^3 ns; sleep=off lets it jump over idle time instead of waiting.
QEMU_ICOUNT="-icount shift=3,sleep=off"

# name      runner  cpu                 what it is
MACHINES=(
"svm-qemu   vng     qemu64,+svm,+npt    QEMU 7.2 TCG, SVM+NPT, no NRIP save"
"vmx-bochs  bochs   corei7_skylake_x    Bochs 2.7, VMX+EPT+VPID"
"svm-bochs  bochs   trinity_apu         Bochs 2.7, SVM+NPT with NRIP save"
"svm-qemu-smp2 qemu_smp2 qemu64,+svm,+npt QEMU 7.2 TCG, 2 CPUs in one TCG thread, SVM+NPT"
"svm-qemu-boot vng     qemu64,+svm,+npt    QEMU 7.2 TCG, SVM+NPT; Linux boot, khyp run against QEMU -accel kvm"
"svm-qemu-blk vng     qemu64,+svm,+npt    QEMU 7.2 TCG, SVM+NPT; Linux virtio-blk, khyp run against QEMU -accel kvm"
"svm-qemu-balloon vng qemu64,+svm,+npt    QEMU 7.2 TCG, SVM+NPT; Linux virtio-balloon, khyp run against QEMU -accel kvm"
)
# The machines of the Linux guest benchmarks (scripts/boot-bench-guest.sh),
# each with its workloads' names for --only (svm-qemu-boot: the bzImage
# and the vmlinux variant).
declare -A LINUX_WORKLOAD=(
[svm-qemu-boot]="linux_boot linux_boot_vmlinux"
[svm-qemu-blk]=linux_blk
[svm-qemu-balloon]=linux_balloon
)
# Their guest's RAM (both hypervisors), and how long a pair may take at
# most (two boots of ~1-3 minutes of wall time each, plus the modules).
BOOT_MEM_MB=256
BOOT_PAIR_S=600
# The virtio-blk benchmark: its raw image's size, khyp-blkbench's options
# ("+" for a space: 512 KiB blocks, the sequential write and read over the
# disk PASSES times each, N random 4 KiB reads, their seed, a pause of 1 s
# after each result while the console prints it) and a pair's longest
# time (the two boots again, each with the measurement after it).
# 512 KiB blocks: 128 pages, fewer than the devices' SEG_MAX 254, so a
# block is one request whatever the guest's pages (a 1 MiB one was one
# request or two, by how contiguous the buffer happened to be).
BLK_DISK_MB=64
BLK_OPTS="-b+524288+-p+4+-n+4000+-s+14+-w+1"
BLK_PAIR_S=900
# The balloon benchmark: the MiB asked of each guest (of BOOT_MEM_MB),
# and a pair's longest time (three boots: QEMU, khyp asked, khyp under
# the hog, each up to boot-bench-guest.sh's 360 s of wall time).
BAL_ASK_MB=128
BAL_PAIR_S=1200
# The workloads of a machine that runs only some (the others are
# measured in the machines above): the ones that need two vCPUs.
declare -A MACHINE_WORKLOADS=(
[svm-qemu-smp2]="apic_ipi_2vcpu,mem_first_touch_2vcpu"
)

only= reps= pairs=5 short= workloads=
while [ $# -gt 0 ]; do
	case $1 in
	--machine) only=$2; shift ;;
	--only) workloads=$2; shift ;;
	--reps) reps=$2; shift ;;
	--pairs) pairs=$2; shift ;;
	--short) short=1 ;;
	*) echo "usage: $0 [--machine NAME] [--pairs N] [--reps N] [--short] [--only W,...]" >&2
	   exit 2 ;;
	esac
	shift
done

say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }

# --only's workloads but the Linux guests': khyp-bench's names.
bench_workloads() {
	local w out=
	for w in ${workloads//,/ }; do
		[[ " ${LINUX_WORKLOAD[*]} " == *" $w "* ]] || out=${out:+$out,}$w
	done
	echo "$out"
}
has_workload() { [[ ",$workloads," == *",$1,"* ]]; }
# Whether --only names any of the workloads W... (a Linux machine's).
has_any_workload() {
	local w
	for w in "$@"; do has_workload "$w" && return 0; done
	return 1
}

# Whether this run measures machine NAME.  --machine picks one (svm-qemu
# also picks a Linux benchmark's machine when --only names its workload:
# it is that machine); --only leaves out the machines with none of its
# workloads; --short (make test's quick look) leaves out the Linux
# benchmarks, which have no short form, unless asked for by name.
wanted() {	# name
	local -a w
	read -ra w <<< "${LINUX_WORKLOAD[$1]:-}"
	if [ ${#w[@]} -gt 0 ]; then
		if [ -n "$only" ] && [ "$only" != "$1" ] &&
		   ! { [ "$only" = svm-qemu ] && has_any_workload "${w[@]}"; }; then
			return 1
		fi
		[ -z "$workloads" ] || has_any_workload "${w[@]}" || return 1
		[ -z "$short" ] || [ -n "$only$workloads" ] || return 1
		return 0
	fi
	[ -z "$only" ] || [ "$only" = "$1" ] || return 1
	[ -z "$workloads" ] || [ -n "$(bench_workloads)" ]
}

. "$TOP/scripts/machines.sh"

build_module "$KVER"
KO=$OUT/build-$KVER/khyp.ko
INITRD=$OUT/initramfs.cpio.zst
# khyp-bench and the initramfs of the machines that run it (the Linux
# benchmarks need neither: their machine is virtme-ng's, on the host's root)
for m in "${MACHINES[@]}"; do
	read -r name _ <<< "$m"
	[ -z "${LINUX_WORKLOAD[$name]:-}" ] && wanted "$name" || continue
	make -s -C "$TOP/bench" > "$OUT/bench-build.log" 2>&1 ||
		{ cat "$OUT/bench-build.log"; die "khyp-bench does not build"; }
	"$TOP/scripts/mkinitramfs.sh" "$INITRD" "$KVER" "$KO" "$TOP/selftests" ||
		die "mkinitramfs failed"
	break
done

if [ -n "$short" ]; then pairs=1; fi
LINUX_INITRD=$OUT/linux-initramfs.cpio
LINUX_BLK_INITRD=$OUT/linux-blk-initramfs.cpio
if wanted svm-qemu-boot || wanted svm-qemu-blk || wanted svm-qemu-balloon; then
	# The launcher, and the Linux guest's initramfs as the suite's
	# (scripts/test.sh), here on the host before the machine starts.
	make -s -C "$TOP/userspace-tool" khyp > "$OUT/tool-build.log" 2>&1 ||
		{ cat "$OUT/tool-build.log"; die "khyp run does not build"; }
	"$TOP/scripts/mkinitramfs-linux.sh" "$LINUX_INITRD" "$KVER" ||
		die "mkinitramfs-linux failed"
fi
# The boot benchmark's variants this run measures (both, unless --only
# names one), and the vmlinux of the second: the test suite's, extracted
# from the same /boot/vmlinuz (extract_vmlinux, scripts/machines.sh),
# which QEMU boots by PVH only if it has the entry's ELF note.
BOOT_VARIANTS=
if wanted svm-qemu-boot; then
	for w in ${LINUX_WORKLOAD[svm-qemu-boot]}; do
		[ -z "$workloads" ] || has_workload "$w" || continue
		BOOT_VARIANTS="${BOOT_VARIANTS:+$BOOT_VARIANTS }$w"
	done
fi
# Whether ELF file FILE has Xen's PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY,
# type 18), which QEMU's -kernel needs to boot an ELF as PVH.
has_pvh_note() {	# file
	readelf -nW "$1" 2>/dev/null |
		awk '$1 == "Xen" && (/\(0x0*12\)/ || /PHYS32/) { f = 1 } END { exit !f }'
}
if [[ " $BOOT_VARIANTS " == *" linux_boot_vmlinux "* ]]; then
	extract_vmlinux ||
		die "cannot extract the vmlinux from /boot/vmlinuz-$KVER (scripts/machines.sh extract_vmlinux)"
	has_pvh_note "$VMLINUX" ||
		die "$VMLINUX has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): QEMU's -kernel cannot boot it"
fi
if wanted svm-qemu-blk; then
	# the same with the virtio-blk benchmark's program in /bin
	make -s -C "$TOP/bench" khyp-blkbench > "$OUT/blkbench-build.log" 2>&1 ||
		{ cat "$OUT/blkbench-build.log"; die "khyp-blkbench does not build"; }
	"$TOP/scripts/mkinitramfs-linux.sh" "$LINUX_BLK_INITRD" "$KVER" \
		"$TOP/bench/khyp-blkbench" || die "mkinitramfs-linux failed"
fi
if wanted svm-qemu-balloon; then
	# the host side of the balloon benchmark, run in the machine
	make -s -C "$TOP/bench" khyp-balbench > "$OUT/balbench-build.log" 2>&1 ||
		{ cat "$OUT/balbench-build.log"; die "khyp-balbench does not build"; }
fi
commit=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
branch=$(git -C "$TOP" rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
# The results files are not the code measured: a machine's file written
# earlier in the same run made the next machines' "-dirty".
dirty=$(git -C "$TOP" status --porcelain -- core svm vmx mmu irq balloon \
	bench uapi ':!bench/results' 2>/dev/null | grep -q . && echo "-dirty")

# awk functions both tables use: num(x), and median(a, k), which sorts
# a[1..k] in place and returns its median ("" if k is 0; the lower middle
# one for an even count).
AWK_STATS='
	function num(x) { return x ~ /^[0-9.]+$/ }
	function median(a, k,    i, j, t) {
		for (i = 2; i <= k; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return k ? a[int((k + 1) / 2)] : ""
	}
'

# The table of one machine's report, on stdout.
table() {	# name desc report clock
	awk -v name="$1" -v desc="$2" -v clock="$4" -v when="$(date -u '+%Y-%m-%d %H:%M UTC')" \
	    -v commit="$commit$dirty" -v branch="$branch" -v args="$args" "$AWK_STATS"'
	BEGIN {
		n = split("cpuid hypercall pio_in mmio_read irq_inject " \
			  "mem_first_touch mem_steady mem_first_touch_idle " \
			  "mem_first_touch_4k " \
			  "mem_steady_4k vm_create_destroy " \
			  "vcpu_create balloon_reclaim shrinker_scan " \
			  "apic_self_ipi apic_timer apic_eoi apic_ipi_2vcpu " \
			  "mem_first_touch_2vcpu mem_2vcpu_vs_1", order, " ")
		title["cpuid"] = "exit handled in the kernel (CPUID)"
		title["hypercall"] = "hypercall handled in the kernel"
		title["pio_in"] = "port I/O exit to userspace (IN)"
		title["mmio_read"] = "MMIO exit to userspace (read)"
		title["irq_inject"] = "interrupt injection round trip"
		title["mem_first_touch"] = "first touch of guest memory, per 4K"
		title["mem_steady"] = "second pass (steady state), per 4K"
		title["mem_first_touch_idle"] = "first touch after 0.5 s idle, per 4K"
		title["mem_first_touch_4k"] = "first touch, KVM on 4K host pages"
		title["mem_steady_4k"] = "second pass, KVM on 4K host pages"
		title["vm_create_destroy"] = "VM create + destroy"
		title["vcpu_create"] = "vCPU create"
		title["balloon_reclaim"] = "balloon reclaim (khyp only)"
		title["shrinker_scan"] = "shrinker scan_objects (khyp only)"
		title["apic_self_ipi"] = "self-IPI round trip (in-kernel APIC)"
		title["apic_timer"] = "LAPIC one-shot timer to handler"
		title["apic_eoi"] = "EOI write (nothing in service)"
		title["apic_ipi_2vcpu"] = "IPI round trip, 2 vCPUs (see cpus)"
		title["mem_first_touch_2vcpu"] = "first touch by 2 vCPUs at once, per 4K"
		title["mem_2vcpu_vs_1"] = "its time in % of 1 vCPU touching all"
		target["apic_self_ipi"] = "<= 0.8"; target["apic_timer"] = "<= 0.8"
		target["apic_eoi"] = "<= 0.8"; target["apic_ipi_2vcpu"] = "<= 0.8"
		target["cpuid"] = "<= 0.7"; target["hypercall"] = "<= 0.7"
		target["pio_in"] = "<= 0.8"; target["mmio_read"] = "<= 0.8"
		target["irq_inject"] = "<= 0.8"
		target["mem_first_touch"] = "<= 0.5"
		target["mem_first_touch_idle"] = "<= 0.5"
		target["mem_steady"] = "~ 1.0"
		target["mem_first_touch_4k"] = "<= 0.5"
		target["mem_steady_4k"] = "~ 1.0"
		target["mem_2vcpu_vs_1"] = "khyp <= 120%"
		# KVM-only rows: compared with the khyp row of the same work
		same["mem_first_touch_4k"] = "mem_first_touch"
		same["mem_steady_4k"] = "mem_steady"
		pair = 1; npairs = 1
	}
	/^KHYP-BEGIN/ { kernel = $3 }
	/^KHYP-INFO cpu / { sub(/^KHYP-INFO cpu /, ""); cpu = $0 }
	/^KHYP-INFO thp/ { sub(/^KHYP-INFO thp /, ""); thp = $0 }
	/^KHYP-INFO mem/ { sub(/^KHYP-INFO mem MemTotal: /, ""); mem = $0 }
	/^KHYP-INFO cpus/ { cpus = $3 }
	/^KHYP-INFO udev/ { udev = $3 }
	/^KHYP-PAIR/ { pair = $2; if (pair > npairs) npairs = pair }
	/^KHYP-RC/ { rc[$2] = rc[$2] (nrc[$2]++ ? "," : "") $3 }
	/^FAIL/ { fails = fails "  " $0 "\n" }
	/^result / { v[$2, $3, pair] = $4; seen[$2, $3] = 1; unit[$3] = $7
		     raw = raw "  pair " pair " " $0 "\n" }
	function fmt(x) { return num(x) ? sprintf("%.0f", x) : (x == "" ? "-" : x) }
	END {
		printf "khyp-bench on %s (%s), %s\n", name, desc, when
		printf "kernel %s, khyp commit %s (branch %s)\n", kernel, commit, branch
		printf "cpu: %s; RAM %s; THP %s\n", cpu, mem, thp
		if (cpus != "")
			printf "CPUs: %s (with 1, the 2-vCPU IPI round trip includes the host switching between the two vCPU threads)\n", cpus
		printf "clock: %s\n", clock
		if (udev == "stopped")
			printf "udevd: its queue held during the pairs (its work would count in the timed loops)\n"
		printf "khyp-bench %s in %d interleaved pairs (KVM first in odd pairs, khyp first in even ones); exit status kvm %s, khyp %s\n",
		       args, npairs, rc["kvm"], rc["khyp"]
		printf "KVM and khyp: median over the pairs; khyp/KVM: median of the per-pair ratios [min-max]\n\n"
		printf "%-38s %-8s %10s %10s %9s %-13s %s\n", "workload", "unit",
		       "KVM", "khyp", "khyp/KVM", "[min-max]", "target"
		for (i = 1; i <= n; i++) {
			w = order[i]; hw = (w in same) ? same[w] : w
			if (!((("kvm", w) in seen) || (("khyp", w) in seen)))
				continue
			nk = nh = nr = 0; delete kv; delete hv; delete rv
			for (p = 1; p <= npairs; p++) {
				k = v["kvm", w, p]; h = v["khyp", hw, p]
				if (num(k)) kv[++nk] = k + 0
				if (num(h)) hv[++nh] = h + 0
				if (num(k) && num(h) && k > 0)
					rv[++nr] = h / k
			}
			km = median(kv, nk); hm = median(hv, nh)
			if (!nk) km = v["kvm", w, 1]
			if (!nh) hm = v["khyp", hw, 1]
			r = "-"; mm = ""
			if (nr) {
				r = sprintf("%.2f", median(rv, nr))
				mm = sprintf("[%.2f-%.2f]", rv[1], rv[nr])
				ratio = ratio sprintf("  ratio %s %.4f %.4f %.4f\n",
						      w, median(rv, nr), rv[1], rv[nr])
			}
			printf "%-38s %-8s %10s %10s %9s %-13s %s\n", title[w],
			       unit[w], fmt(km), fmt(hm), r, mm,
			       (w in target) ? target[w] : ""
		}
		if (fails != "")
			printf "\nfailed checks:\n%s", fails
		printf "\nratios (workload median min max):\n%s", ratio
		printf "\nraw (pair, hv workload median min max unit):\n%s", raw
	}' "$3"
}

# The table of a Linux guest benchmark (boot-bench-guest.sh's report),
# KIND boot (the boot's times and RSS, a block of rows per variant: the
# bzImage's keys as they always were, the vmlinux's prefixed "vmlinux ")
# or blk (the virtio-blk figures) or balloon, on stdout; its "ratio"
# lines as table()'s, for compare().
boot_table() {	# name desc report clock kind
	awk -v name="$1" -v desc="$2" -v clock="$4" -v kind="$5" -v when="$(date -u '+%Y-%m-%d %H:%M UTC')" \
	    -v commit="$commit$dirty" -v branch="$branch" "$AWK_STATS"'
	BEGIN { pair = 1; npairs = 1; nbr = 0; uw = kind == "boot" ? 4 : 5; var = "bzimage"; pre = "" }
	/^KHYP-BEGIN/ { kernel = $3 }
	/^KHYP-INFO cpu / { sub(/^KHYP-INFO cpu /, ""); cpu = $0 }
	/^KHYP-INFO mem/ { sub(/^KHYP-INFO mem MemTotal: /, ""); mem = $0 }
	/^KHYP-INFO qemu / { sub(/^KHYP-INFO qemu /, ""); qemu = $0 }
	/^KHYP-INFO guest / { sub(/^KHYP-INFO guest /, ""); guest = $0 }
	/^KHYP-INFO cmdline / { sub(/^KHYP-INFO cmdline /, ""); cmdline = $0 }
	/^KHYP-INFO launch / { sub(/^KHYP-INFO launch /, ""); launch = launch "  " $0 "\n" }
	/^KHYP-INFO rss / { sub(/^KHYP-INFO rss /, ""); norss = $0 }
	/^KHYP-INFO blk / { sub(/^KHYP-INFO blk /, ""); blkinfo = $0 }
	/^KHYP-PAIR/ { pair = $2; if (pair > npairs) npairs = pair }
	# the boot benchmark'"'"'s variant of the boots that follow: the
	# bzImage'"'"'s keys are unprefixed, the vmlinux'"'"'s "vmlinux "
	/^KHYP-VARIANT / {
		var = $2; pre = var == "bzimage" ? "" : var " "
		if (!(var in seenvar)) { seenvar[var] = 1; nseenvar++ }
	}
	/^boot / {
		# (blk: after a KHYP-RETRY, a time to the shell is kept as blk())
		if (num($4) || !(($2, pre "shell", pair) in v)) v[$2, pre "shell", pair] = $4
		v[$2, pre "exit", pair] = $6
		v[$2, pre "rss", pair] = $8 / 1024; v[$2, pre "guest", pair] = $10 / 1024
		if ($8 !~ /^[0-9]+$/) v[$2, pre "rss", pair] = "-"
		if ($10 !~ /^[0-9]+$/) v[$2, pre "guest", pair] = "-"
		# a boot that never reached the marker has no figure at all
		if ($4 !~ /^[0-9.]+$/)
			v[$2, pre "exit", pair] = v[$2, pre "rss", pair] = v[$2, pre "guest", pair] = "-"
		rc[pre $2] = rc[pre $2] (nrc[pre $2]++ ? "," : "") $12
		raw = raw "  pair " pair " " pre $0 "\n"
	}
	# /init'"'"'s KHYP-BOOTPARAMS= of a boot: how its kernel was entered
	/^KHYP-ENTRY / {
		h = $2; e = $0; sub(/^KHYP-ENTRY [^ ]+ /, "", e)
		if (!((var, h, e) in eseen)) {
			eseen[var, h, e] = 1
			entry[var, h] = entry[var, h] (entry[var, h] != "" ? "; " : "") e
		}
		raw = raw "  pair " pair " " pre $0 "\n"
	}
	# "khyp: boot: first serial output after 5.656 s": one row per step
	/^KHYP-BOOTREPORT / {
		sub(/^KHYP-BOOTREPORT /, ""); raw = raw "  pair " pair " " pre $0 "\n"
		step = $0; sub(/^khyp: boot: /, "", step); sub(/ after .*/, "", step)
		t = $0; sub(/.* after /, "", t); sub(/ s.*/, "", t)
		if (!(step in brseen)) { brseen[step] = 1; br[++nbr] = step }
		v["khyp", pre "br " step, pair] = t
	}
	# a boot made again after one that died (KHYP-RETRY) may give less
	# than the first did: a figure is kept unless the new one is a figure
	/^blk / {
		blk($2, "seq_write", $4); blk($2, "seq_read", $6)
		blk($2, "rand_read", $8); blk($2, "guest_s", $10)
		blk($2, "machine_s", $12)
		if ($14 == "bad") bad = bad "  pair " pair " " $2 ": data check " $14 "\n"
		raw = raw "  pair " pair " " $0 "\n"
	}
	/^KHYP-RETRY / { raw = raw "  pair " pair " " pre $0 "\n" }
	function blk(hv, what, x) {
		if (num(x) || !((hv, what, pair) in v))
			v[hv, what, pair] = x
	}
	# the balloon benchmark: khyp-hog is khyp under the hog, kept
	# apart ("hog " figures), the manager-driven ones of QEMU beside it
	/^balloon / {
		h = $2; pre = ""
		if (h == "khyp-hog") { h = "khyp"; pre = "hog " }
		for (i = 3; i < NF; i += 2) {
			blk(h, pre $i, $(i + 1))
			if (h == "qemu") blk(h, "hog " $i, $(i + 1))
		}
		# the pressure of QEMU is its manager: from the request
		if (h == "qemu") blk(h, "hog from_scan_s", $4)
		raw = raw "  pair " pair " " $0 "\n"
	}
	/^KHYP-BALINFO / { sub(/^KHYP-BALINFO /, ""); raw = raw "  pair " pair " " $0 "\n" }
	/^KHYP-INFO balloon / { sub(/^KHYP-INFO balloon /, ""); balinfo = $0 }
	/^KHYP-BLKINFO / { sub(/^KHYP-BLKINFO /, ""); raw = raw "  pair " pair " " $0 "\n" }
	/^KHYP-FAIL / { sub(/^KHYP-FAIL /, ""); fails = fails "  pair " pair " " pre $0 "\n" }
	/^start / { v[$2, "start", 1] = $3; raw = raw "  " $0 "\n" }
	# one row: the medians over the pairs of QEMU and khyp, and the
	# median [min-max] of the per-pair ratios (a "ratio" line as key)
	function row(title, unit, what, f, target, key,    p, q, h, nq, nh, nr, qm, hm, r, mm) {
		nq = nh = nr = 0; delete qv; delete hv; delete rv
		for (p = 1; p <= npairs; p++) {
			q = v["qemu", what, p]; h = v["khyp", what, p]
			if (num(q)) qv[++nq] = q + 0
			if (num(h)) hv[++nh] = h + 0
			if (num(q) && num(h) && q > 0) rv[++nr] = h / q
		}
		qm = nq ? sprintf(f, median(qv, nq)) : "-"
		hm = nh ? sprintf(f, median(hv, nh)) : "-"
		r = "-"; mm = ""
		if (nr) {
			r = sprintf("%.2f", median(rv, nr))
			mm = sprintf("[%.2f-%.2f]", rv[1], rv[nr])
			if (key != "")
				ratio = ratio sprintf("  ratio %s %.4f %.4f %.4f\n",
						      key, median(rv, nr), rv[1], rv[nr])
		}
		printf "%-44s %-" uw "s %9s %9s %10s %-13s %s\n", title, unit, qm, hm,
		       r, mm, target
	}
	END {
		if (kind == "blk") {
			blk_end()
			exit
		}
		if (kind == "balloon") {
			balloon_end()
			exit
		}
		head("Linux boot", "")
		# reports from before the variants have no KHYP-VARIANT line
		if (!nseenvar) seenvar["bzimage"] = 1
		nv = 0
		if ("bzimage" in seenvar) vars[++nv] = "bzimage"
		if ("vmlinux" in seenvar) vars[++nv] = "vmlinux"
		vtitle["bzimage"] = "bzImage: /boot/vmlinuz (XZ), decompressing itself under both; QEMU by SeaBIOS and linuxboot_dma.bin"
		vtitle["vmlinux"] = "vmlinux: the same kernel, extracted (no decompressor); QEMU -kernel vmlinux by PVH (pvh.bin), khyp run by its ELF loader"
		vkey["bzimage"] = "linux_boot"; vkey["vmlinux"] = "linux_boot_vmlinux"
		printf "%d interleaved pairs (in each, every variant: QEMU first in odd pairs, khyp first in even ones); exit status", npairs
		for (i = 1; i <= nv; i++) {
			x = vars[i] == "bzimage" ? "" : vars[i] " "
			printf "%s %sqemu %s, %skhyp %s", (i > 1 ? ";" : ""), x, rc[x "qemu"], x, rc[x "khyp"]
		}
		printf "\n"
		printf "time: from the launch to the first KHYP-SHELL= on the serial output, on the clock of the machine (/proc/uptime)\n"
		printf "QEMU and khyp: median over the pairs; khyp/QEMU: median of the per-pair ratios [min-max]\n"
		for (i = 1; i <= nv; i++) {
			x = vars[i] == "bzimage" ? "" : vars[i] " "; k = vkey[vars[i]]
			printf "\n%s\n", vtitle[vars[i]]
			printf "%-44s %-4s %9s %9s %10s %-13s %s\n", "measure", "unit",
			       "QEMU-KVM", "khyp", "khyp/QEMU", "[min-max]", "target"
			row("time to the shell marker", "s", x "shell", "%.2f", "<= 0.5", k)
			row("time to the launcher exit (power-off)", "s", x "exit", "%.2f", "", k "_exit")
			row("peak RSS of the launcher (ru_maxrss)", "MiB", x "rss", "%.1f", "well under 1", k "_rss")
			row("guest RAM khyp.ko held at the marker", "MiB", x "guest", "%.1f", "", "")
			for (j = 1; j <= nbr; j++)
				if ((("khyp", x "br " br[j], 1) in v) || (("khyp", x "br " br[j], 2) in v) ||
				    (("khyp", x "br " br[j], npairs) in v))
					row("khyp run --boot-report: " br[j], "s", x "br " br[j], "%.2f", "", "")
		}
		printf "\n"
		row("launcher start, no guest (median of 3)", "s", "start", "%.3f", "", "")
		if (norss != "")
			printf "\n%s\n", norss
		printf "\nThe RSS of QEMU holds the guest RAM (KVM maps the memory of the process); that of khyp run\nonly the guest pages the launcher touched itself: khyp.ko holds the rest (the row below it).\n"
		printf "\nhow the kernel was entered (/init'"'"'s KHYP-BOOTPARAMS=: boot_params version, loader type, physical address of its text;\nthe PVH entry gives version 0x020c at 01000000, a bzImage its own version at a KASLR address):\n"
		for (i = 1; i <= nv; i++)
			for (j = 1; j <= 2; j++) {
				h = j == 1 ? "qemu" : "khyp"
				printf "  %s %s: %s\n", vars[i], h, ((vars[i], h) in entry) ? entry[vars[i], h] : "(no boot said)"
			}
		if (fails != "")
			printf "\nboots that did not reach the marker:\n%s", fails
		printf "\nratios (workload median min max):\n%s", ratio
		printf "\nraw (pair, boot hv shell_s S exit_s S rss_kb K guest_kb K status RC):\n%s", raw
	}
	# the lines that open each table: what, where, which guest and how
	function head(what, more) {
		printf "%s on %s (%s), %s\n", what, name, desc, when
		printf "kernel %s, khyp commit %s (branch %s)\n", kernel, commit, branch
		printf "cpu: %s; RAM %s\n", cpu, mem
		printf "clock: %s\n", clock
		printf "guest: %s; QEMU: %s\n", guest, qemu
		if (more != "")
			printf "%s\n", more
		printf "guest command line: %s\n", cmdline
		printf "launched as:\n%s", launch
	}
	function balloon_end() {
		head("Linux virtio-balloon", "balloon: " balinfo)
		printf "%d interleaved pairs (QEMU first in odd pairs, khyp first in even ones; khyp: asked, then under the hog); exit status qemu %s, khyp %s, khyp-hog %s\n",
		       npairs, rc["qemu"], rc["khyp"], rc["khyp-hog"]
		printf "measured in the machine (bench/khyp-balbench, its CLOCK_MONOTONIC, a sample every interval):\n"
		printf "  QEMU: its resident set falling after a manager asks over QMP; khyp: the pages khyp.ko holds of the VM\n"
		printf "  (debugfs ram_pages) after `khyp balloon PID SIZE`, or, under the hog, with no one asking\n"
		printf "QEMU and khyp: median over the pairs; khyp/QEMU: median of the per-pair ratios [min-max];\n"
		printf "HIGHER IS BETTER for MiB/s, lower for times\n\n"
		printf "%-44s %-5s %9s %9s %10s %-13s %s\n", "measure", "unit",
		       "QEMU-KVM", "khyp", "khyp/QEMU", "[min-max]", "target"
		printf "asked by a manager, both (like for like):\n"
		row("time to the first page back", "s", "first_s", "%.3f", "", "linux_balloon_first")
		row("reclaim rate, first page to 90%", "MiB/s", "mibps", "%.1f", ">= 1", "linux_balloon_mibps")
		row("returned (of the MiB asked)", "MiB", "returned_mib", "%.1f", "", "")
		row("time to 90% of it", "s", "t90_s", "%.3f", "", "")
		row("machine MemFree risen at 90%", "MiB", "free_mib", "%.1f", "", "")
		row("the request answered (QMP / khyp balloon)", "s", "cmd_s", "%.3f", "", "")
		printf "khyp under host pressure, no manager, against QEMU asked by its manager (issue 15):\n"
		row("reclaim rate, first page to 90%", "MiB/s", "hog mibps", "%.1f", ">= 1", "linux_balloon_hog_mibps")
		row("time to the first page (khyp: from 1st scan)", "s", "hog from_scan_s", "%.3f", "", "linux_balloon_hog_first")
		row("khyp: hog start to the first shrinker scan", "s", "hog scan_s", "%.3f", "", "")
		row("returned", "MiB", "hog returned_mib", "%.1f", "", "")
		row("size of the hog", "MiB", "hog hog_mib", "%.1f", "", "")
		if (fails != "")
			printf "\nboots that did not complete the measurement:\n%s", fails
		printf "\nratios (workload median min max):\n%s", ratio
		printf "\nraw (pair, balloon hv first_s S scan_s S from_scan_s S cmd_s S returned_mib M t90_s S mibps X free_mib M hog_mib M hog_rc RC samples N end WHY; then what khyp-balbench and /init said):\n%s", raw
	}
	function blk_end() {
		head("Linux virtio-blk", "disk: " blkinfo)
		printf "%d interleaved pairs (QEMU first in odd pairs, khyp first in even ones); exit status qemu %s, khyp %s\n",
		       npairs, rc["qemu"], rc["khyp"]
		printf "MiB/s and IOPS: measured in the guest with its own clock (CLOCK_MONOTONIC), O_DIRECT on /dev/vda\n"
		printf "QEMU and khyp: median over the pairs; khyp/QEMU: median of the per-pair ratios [min-max];\n"
		printf "HIGHER IS BETTER for MiB/s and IOPS: a ratio >= 1 is khyp at least as fast as QEMU\n\n"
		printf "%-44s %-5s %9s %9s %10s %-13s %s\n", "measure", "unit",
		       "QEMU-KVM", "khyp", "khyp/QEMU", "[min-max]", "target"
		row("sequential write (then fsync, included)", "MiB/s", "seq_write", "%.1f", ">= 1", "linux_blk_seq_write")
		row("sequential read", "MiB/s", "seq_read", "%.1f", ">= 1", "linux_blk_seq_read")
		row("4 KiB random read, queue depth 1", "IOPS", "rand_read", "%.0f", ">= 1", "linux_blk_rand_read")
		row("khyp-blkbench from start to end, guest clock", "s", "guest_s", "%.2f", "", "")
		row("the same on the machine clock (+ its start)", "s", "machine_s", "%.2f", "", "")
		row("time to the shell marker (for reference)", "s", "shell", "%.2f", "", "")
		if (bad != "")
			printf "\ndata read back wrong:\n%s", bad
		if (fails != "")
			printf "\nboots that did not complete the measurement:\n%s", fails
		printf "\nratios (workload median min max):\n%s", ratio
		printf "\nraw (pair, blk hv seq_write_mibps X seq_read_mibps X rand_read_iops X guest_s S machine_s S check C; then the lines of its guest):\n%s", raw
	}' "$3"
}

# The ratios of a results file (ours or an older format), "workload ratio".
ratios() {	# file
	awk '
	/^  ratio / { r[$2] = $3; have = 1 }
	/^  result / && $3 ~ /^[a-z]/ { m[$2, $3] = $4; w[$3] = 1 }
	/^  pair [0-9]+ result / { next }
	END {
		if (have) { for (x in r) print x, r[x]; exit }
		for (x in w)
			if (m["kvm", x] ~ /^[0-9.]+$/ && m["khyp", x] ~ /^[0-9.]+$/ &&
			    m["kvm", x] > 0)
				print x, m["khyp", x] / m["kvm", x]
	}' "$1"
}

# The ratios whose higher value is the better one (khyp's throughput over
# QEMU's); for every other ratio, a time or a size, lower is better.
HIGHER_IS_BETTER="linux_blk_seq_write linux_blk_seq_read linux_blk_rand_read
linux_balloon_mibps linux_balloon_hog_mibps"

# Compare a machine's new table with its last committed results.
compare() {	# name table
	local prev old was
	prev=$(git -C "$TOP" ls-tree -r --name-only HEAD bench/results/ \
	       2>/dev/null | grep -- "-$1\.txt$" | LC_ALL=C sort | tail -1)
	if [ -z "$prev" ]; then
		say "$1: no committed results to compare with"
		return
	fi
	old=$(mktemp)
	if ! git -C "$TOP" show "HEAD:$prev" > "$old" 2>/dev/null; then
		say "$1: cannot read $prev at HEAD: not compared"
		rm -f "$old"
		return
	fi
	# Bochs' clock has always counted instructions; files before the
	# clock line was written are on the same clock.
	was=$(sed -n 's/^clock: //p' "$old")
	[ -z "$was" ] && [ "${clock#*Bochs}" != "$clock" ] && was=$clock
	if [ "$was" != "$clock" ]; then
		say "$1: $prev was measured on another clock (${was:-wall time}): not compared"
		rm -f "$old"
		return
	fi
	say "$1: compared with $prev as committed ($(sed -n 's/^kernel .*khyp commit \([^ ]*\).*/\1/p' "$old"))"
	# Old files (before the pairs) give a ratio of medians, new ones a
	# median of ratios; the KVM-only _4k rows are left out of old ones.
	LC_ALL=C join <(ratios "$old" | LC_ALL=C sort -k1,1) \
		<(ratios "$2" | LC_ALL=C sort -k1,1) |
	awk -v m="$1" -v ref="$([ -n "${LINUX_WORKLOAD[$1]:-}" ] && echo QEMU || echo KVM)" \
	    -v up=" $HIGHER_IS_BETTER " '{
		c = ($3 - $2) / $2 * 100	# the ratio'"'"'s change, as printed
		# for a throughput, a lower ratio is the regression
		d = index(up, " " $1 " ") ? -c : c
		if (d > 10)
			printf "regression: %s: %s khyp/%s %.2f -> %.2f (%+.0f%%)\n", m, $1, ref, $2, $3, c
		else if (d < -10)
			printf "bench: %s: better: %s khyp/%s %.2f -> %.2f (%+.0f%%)\n", m, $1, ref, $2, $3, c
		else
			n++
	} END { printf "bench: %s: %d workloads within 10%% of the last results\n", m, n }'
	rm -f "$old"
}

# Whether every boot benchmark variant of this run (BOOT_VARIANTS) booted
# in REPORT: a pair with both QEMU's and khyp's time to the shell, which
# its ratio line in TABLE says.  Says which did not, and how many of a
# variant's boots failed when some did.
boot_variants_ok() {	# report table
	local w var ok=0 line
	for w in $BOOT_VARIANTS; do
		var=bzimage
		[ "$w" = linux_boot_vmlinux ] && var=vmlinux
		line=$(awk -v var="$var" '
			/^KHYP-VARIANT / { cur = $2 }
			/^boot / && (cur == var || (cur == "" && var == "bzimage")) {
				n[$2]++; if ($4 ~ /^[0-9.]+$/) g[$2]++
			}
			END { printf "QEMU %d of %d, khyp %d of %d", g["qemu"], n["qemu"], g["khyp"], n["khyp"] }' "$1")
		if ! grep -q "^  ratio $w " "$2"; then
			say "$name: FAILED: the $var variant ($w) has no pair in which both QEMU and khyp reached the shell (boots that did: $line)"
			ok=1
		elif [[ $line =~ QEMU\ ([0-9]+)\ of\ ([0-9]+),\ khyp\ ([0-9]+)\ of\ ([0-9]+) ]] &&
		     { [ "${BASH_REMATCH[1]}" != "${BASH_REMATCH[2]}" ] ||
		       [ "${BASH_REMATCH[3]}" != "${BASH_REMATCH[4]}" ]; }; then
			say "$name: the $var variant: not every boot reached the shell (boots that did: $line; retries included)"
		fi
	done
	return $ok
}

status=0
for m in "${MACHINES[@]}"; do
	read -r name runner cpu desc <<< "$m"
	wanted "$name" || continue
	rm -rf "${OUT:?}/$name"; mkdir -p "$OUT/$name"
	start=$(date +%s)
	script=bench-guest.sh
	if [ -n "${LINUX_WORKLOAD[$name]:-}" ]; then
		# The Linux guest benchmarks: the same machine as svm-qemu,
		# another script in it, the guests' options by benchmark
		script=boot-bench-guest.sh
		args="--tool $TOP/userspace-tool/khyp --mem $BOOT_MEM_MB"
		qemu_opts=$QEMU_ICOUNT clock="instructions (QEMU $QEMU_ICOUNT)"
		case $name in
		svm-qemu-boot)
			# each variant's boots: a pair's time each
			pair_s=0
			if [[ " $BOOT_VARIANTS " == *" linux_boot "* ]]; then
				args="$args --kernel /boot/vmlinuz-$KVER"
				pair_s=$((pair_s + BOOT_PAIR_S))
			fi
			if [[ " $BOOT_VARIANTS " == *" linux_boot_vmlinux "* ]]; then
				args="$args --vmlinux $VMLINUX"
				pair_s=$((pair_s + BOOT_PAIR_S))
			fi
			args="$args --initrd $LINUX_INITRD"
			# KHYP_BOOT_WALL=1: on wall time, for when QEMU-KVM's
			# guest spins in its qspinlock on the instruction clock
			# (docs/performance.md: 4 boots of 4 on 2026-12-06)
			if [ -n "${KHYP_BOOT_WALL:-}" ]; then
				qemu_opts='' clock="wall time (KHYP_BOOT_WALL: -icount, QEMU's guest hung)"
			fi
			what="the Linux boot (khyp run, QEMU -accel kvm; $BOOT_VARIANTS)" ;;
		svm-qemu-blk)
			# the boots with a disk each
			args="$args --kernel /boot/vmlinuz-$KVER --initrd $LINUX_BLK_INITRD --disk $BLK_DISK_MB --blk-opts $BLK_OPTS"
			pair_s=$BLK_PAIR_S
			# Wall time: on the instruction clock both guests hung
			# under the disk's interrupts (QEMU's in 9 boots of 9,
			# khyp's in 4 of 6; docs/performance.md), on wall time
			# neither did.
			qemu_opts='' clock="wall time (-icount: both guests hang under the disk's interrupts)"
			what="Linux virtio-blk (khyp run, QEMU -accel kvm)" ;;
		svm-qemu-balloon)
			args="$args --kernel /boot/vmlinuz-$KVER --initrd $LINUX_INITRD --balloon $BAL_ASK_MB"
			pair_s=$BAL_PAIR_S
			# Wall time: on the instruction clock QEMU's guest never
			# reached its shell marker in two boots (900 s of wall
			# time, 64 and 107 s of the machine's clock each;
			# docs/performance.md)
			qemu_opts='' clock="wall time (-icount: QEMU's guest hung in its boot)"
			what="Linux virtio-balloon (khyp run, QEMU -accel kvm)" ;;
		esac
		timeout=$((600 + pair_s * pairs))
	else
		if [ -n "$short" ]; then
			args="--short"
		elif [ "$runner" = bochs ]; then
			args="--reps ${reps:-1}"
		else
			args="--reps ${reps:-3}"
		fi
		if [ "$runner" = bochs ]; then
			timeout=$((1200 + 600 * pairs)) qemu_opts=
			clock="instructions (Bochs, clock sync=none)"
		elif [ "$runner" = qemu_smp2 ]; then
			# QEMU's -icount with 2 CPUs hung the boot (nothing on
			# the console in 4 minutes): one TCG thread runs the
			# CPUs in turn and a CPU spinning on the other starves
			# it.  Wall time, then: a workload's own ratio (2 vCPUs
			# against 1) is measured back to back, and the pairs
			# give its spread.
			# Two workloads only: a pair takes about 2 minutes, so
			# a hung guest gives the emulator back after 10 minutes
			# plus.
			timeout=$((600 + 120 * pairs)) qemu_opts=
			clock="wall time (2 CPUs: -icount hangs their boot)"
		else
			timeout=$((900 + 300 * pairs)) qemu_opts=$QEMU_ICOUNT
			clock="instructions (QEMU $QEMU_ICOUNT)"
		fi
		# "+" between the names: the Bochs runner splits arguments
		# at commas
		only_w=$(bench_workloads)
		only_w=${only_w:-${MACHINE_WORKLOADS[$name]:-}}
		[ -n "$only_w" ] && args="$args --only ${only_w//,/+}"
		what="khyp-bench $args"
	fi
	say "$name: booting ($runner, $cpu) for $what, $pairs pairs"
	emu_lock_all
	MACHINE_SCRIPT=$script MACHINE_MEM_MB=1024 \
	MACHINE_QEMU_OPTS=$qemu_opts MACHINE_TIMEOUT=$timeout \
		"run_$runner" "$name" "$cpu" \
		"--pairs $pairs $args" none
	emu_unlock
	say "$name: done in $(( $(date +%s) - start )) s"
	report=$OUT/$name/report
	results='^result '
	[ "$name" = svm-qemu-boot ] && results='^boot [a-z]+ shell_s [0-9]'
	[ "$name" = svm-qemu-blk ] && results='^blk [a-z]+ seq_write_mibps [0-9]'
	[ "$name" = svm-qemu-balloon ] && results='^balloon [a-z-]+ first_s [0-9]'
	if ! grep -Eq "$results" "$report" 2>/dev/null; then
		say "$name: no results; see $OUT/$name/"
		# why a boot did not reach its shell (the launcher's stderr,
		# the guest's console, the machine's kernel log)
		grep '^KHYP-FAIL' "$report" 2>/dev/null | head -60 >&2
		status=1
		continue
	fi
	grep -q '^KHYP-END' "$report" || say "$name: no end marker (timeout?)"
	if [ "$name" = svm-qemu-boot ]; then
		boot_table "$name" "$desc" "$report" "$clock" boot
	elif [ "$name" = svm-qemu-blk ]; then
		boot_table "$name" "$desc" "$report" "$clock" blk
	elif [ "$name" = svm-qemu-balloon ]; then
		boot_table "$name" "$desc" "$report" "$clock" balloon
	else
		table "$name" "$desc" "$report" "$clock"
	fi > "$OUT/$name/table.txt"
	cat "$OUT/$name/table.txt"; echo
	if [ "$name" = svm-qemu-boot ] &&
	   ! boot_variants_ok "$report" "$OUT/$name/table.txt"; then
		grep '^KHYP-FAIL' "$report" | head -60 >&2
		say "$name: a variant did not boot: no results file written (the table: ${OUT#"$TOP"/}/$name/table.txt)"
		status=1
		continue
	fi
	if [ -z "$short" ] && [ -z "$workloads" ]; then
		mkdir -p "$RESULTS"
		file=$RESULTS/$(date -u +%Y-%m-%d)-$name.txt
		compare "$name" "$OUT/$name/table.txt"
		cp "$OUT/$name/table.txt" "$file"
		say "$name: written to ${file#"$TOP"/}"
	fi
done
exit $status
