#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the svm-qemu machine for scripts/bench.sh (its machine
# svm-qemu-boot): the Linux boot benchmark of issue 14.  The same kernel
# and the same busybox initramfs (scripts/mkinitramfs-linux.sh) boot to
# /init's shell marker under `khyp run` and under QEMU with -accel kvm,
# never with khyp.ko and kvm_amd loaded at once, in N interleaved pairs
# (--pairs N; 1 if not given), QEMU first in odd pairs, khyp first in
# even ones, so that a drift of the machine lands on both sides:
#
#   modprobe kvm_amd, boot under QEMU, modprobe -r kvm_amd kvm,
#   insmod khyp.ko, boot under khyp run, rmmod khyp   (and the reverse)
#
# A boot is timed on this machine's clock (/proc/uptime: with QEMU's
# -icount it counts instructions, so figures repeat) from just before the
# launcher starts to the first "KHYP-SHELL=" on the guest's serial
# output, read from a pipe as the launcher writes it.  The guest's
# command line has khyp.end=shell: /init powers off right after that
# marker.  The launcher's peak RSS is /usr/bin/time's maximum resident
# set (the kernel's ru_maxrss: VmHWM at its exit).  khyp.ko's guest
# memory is not in khyp run's RSS (only the pages the launcher itself
# touched are), QEMU's is (KVM maps the process's own anonymous memory),
# so the guest pages khyp.ko held at the marker are reported beside it.
#
# The boot benchmark has two variants of the same kernel, each measured
# in every pair (its own QEMU and khyp boots, in the pair's order):
#
#   bzimage  --kernel FILE: the bzImage (Debian's /boot/vmlinuz, XZ),
#            which decompresses itself under both; QEMU's direct kernel
#            boot runs its real-mode setup through the linuxboot ROM
#   vmlinux  --vmlinux FILE: the same kernel uncompressed, as the test
#            suite extracts it (scripts/machines.sh extract_vmlinux);
#            QEMU boots it through its PVH entry (XEN_ELFNOTE_PHYS32_ENTRY,
#            the pvh.bin ROM; QEMU 7.2 refuses an ELF without that note),
#            khyp run through its ELF loader: no decompressor on either
#            side.  /init's KHYP-BOOTPARAMS= line must then show the
#            kernel's PVH boot_params (protocol 0x020c, the text at its
#            link address) under QEMU, or the boot counts as failed.
#
# Either or both; the other options apply to both variants.  Every boot
# has a limit of wall time too (WALL_LIMIT), and one that did not
# complete is made once more (KHYP-RETRY).
#
# With --disk MB (bench.sh's machine svm-qemu-blk) the boots are the
# virtio-blk benchmark's: both guests get a fresh raw image of MB MiB of
# zeros in the tmpfs as a virtio-blk disk over PCI (modern transport),
# and the command line has khyp.blkbench=1 instead of khyp.end=shell:
# /init runs bench/khyp-blkbench (in the initramfs) on it after the shell
# marker, which times a sequential write, a sequential read and 4 KiB
# random reads with the guest's clock (--blk-opts: its options), and
# powers off.  Both launchers do the image's I/O through this machine's
# page cache, from one thread beside the vCPU's: khyp run with
# preadv/pwritev (and fdatasync for a FLUSH), QEMU with cache=writeback
# (no O_DIRECT on the host side, which a tmpfs does not offer anyway) and
# aio=threads.  A "blk" line per boot gives the guest's figures, and the
# time this machine's clock saw between KHYP-BLK-BEGIN and -END against
# the guest's own (khyp-blkbench's "total": the two clocks should agree).
#
# With --balloon MB (bench.sh's machine svm-qemu-balloon) the boots are
# the balloon benchmark's, and each pair has a second khyp boot
# (khyp-hog): scripts/balloon-bench.sh, sourced here, says what they do.
#
# Report:
#
#   KHYP-BEGIN <machine> <kernel>
#   KHYP-INFO cpu|mem|cpus|qemu|guest|cmdline|launch <text>
#   KHYP-PAIR <n>      then, for each variant (boot benchmark only):
#   KHYP-VARIANT bzimage|vmlinux   then, for each hypervisor:
#   KHYP-HV qemu|khyp
#   boot <hv> shell_s <s|-> exit_s <s> rss_kb <KiB|-> guest_kb <KiB|-> status <rc>
#   blk <hv> seq_write_mibps <x|-> seq_read_mibps <x|-> rand_read_iops <x|->
#       guest_s <s|-> machine_s <s|-> check <ok|bad|->   (--disk only;
#       guest_s: khyp-blkbench's total, machine_s: BEGIN to END here)
#   KHYP-BLKINFO <hv>: ...  (--disk: the guest's queue limits, its
#                            program's lines, the disk's stat)
#   KHYP-RETRY <hv>    (that boot did not reach its marker, or with --disk
#                       did not complete its measurement: the next boot
#                       and blk lines are its second try)
#   KHYP-ENTRY <hv> version V loader L text T   (/init's KHYP-BOOTPARAMS=)
#   KHYP-BOOTREPORT khyp: boot: ...   (khyp run --boot-report=KHYP-SHELL=)
#   KHYP-FAIL <hv>: ...  (no marker: the launcher's stderr, the end of the
#                         console, this machine's kernel log)
#   start <hv> <s> ...   (the launcher's own start: its binary run with
#                         -version / no arguments, three times)
#   KHYP-DMESG-BEGIN ... KHYP-DMESG-END
#   KHYP-END
#
# Usage: boot-bench-guest.sh MACHINE REPORT DIR [--pairs N] [--kernel FILE]
#        [--vmlinux FILE] --initrd FILE --tool KHYP [--mem MB]
#        [--disk MB [--blk-opts OPTS]] [--balloon MB]
#        (--kernel, --vmlinux or both; --disk and --balloon: --kernel only)
# KHYP_KO is khyp.ko's path (bench.sh's runner sets it).
set -uo pipefail

machine=$1 report=$2
shift 3		# DIR (the selftests) is not used here
pairs=1 kernel='' vmlinux='' initrd='' tool='' mem=256 disk_mb='' blk_opts='' balloon_mb=''
while [ $# -gt 0 ]; do
	case $1 in
	--pairs) pairs=$2 ;;
	--disk) disk_mb=$2 ;;
	--balloon) balloon_mb=$2 ;;
	# bench.sh's runner passes its options as one word list: "+"
	# stands for a space
	--blk-opts) blk_opts=${2//+/ } ;;
	--kernel) kernel=$2 ;;
	--vmlinux) vmlinux=$2 ;;
	--initrd) initrd=$2 ;;
	--tool) tool=$2 ;;
	--mem) mem=$2 ;;
	*) echo "boot-bench-guest.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift 2
done
[[ $pairs =~ ^[1-9][0-9]*$ ]] || { echo "boot-bench-guest.sh: bad --pairs '$pairs'" >&2; exit 2; }
if [ -z "$kernel$vmlinux" ] || [ -z "$initrd" ] || [ -z "$tool" ]; then
	echo "boot-bench-guest.sh: --kernel or --vmlinux, --initrd and --tool are needed" >&2
	exit 2
fi
if [ -n "$vmlinux" ] && [ -n "$disk_mb$balloon_mb" ]; then
	echo "boot-bench-guest.sh: --vmlinux is for the boot benchmark only (not with --disk or --balloon)" >&2
	exit 2
fi
# The variants to boot, and each one's image in the tmpfs (run()).
variants=
[ -z "$kernel" ] || variants=bzimage
[ -z "$vmlinux" ] || variants="${variants:+$variants }vmlinux"
declare -A IMAGE=()

# A boot that takes longer than this (seconds of this machine's clock;
# the boots of 2026-12-06 took 50-105 s) is stopped and reported without
# a time: a QEMU boot once spun for minutes, its guest's vCPU at one RIP
# with interrupts off (docs/performance.md, "Linux boot").
LIMIT=300
# The same in seconds of wall time (this machine's RTC, which QEMU runs
# on the host's clock), for every boot: in that spin the clock above ran
# far slower than wall time (6.5 minutes of it did not reach 300 s).
WALL_LIMIT=360
QEMU=/usr/bin/qemu-system-x86_64
TIME=/usr/bin/time
# shellcheck source=scripts/balloon-bench.sh
. "$(dirname "$0")/balloon-bench.sh"

# This machine's clock, in seconds.
uptime_s() { local t _; read -r t _ < /proc/uptime; echo "$t"; }

# The TSC rate this kernel found, in kHz ("tsc: Detected 2994.377 MHz",
# or the refined one later): what khyp.ko's CPUID 0x40000010 gives its
# guests, and what linux_boot_test passes as tsc_early_khz.
tsc_khz() {
	dmesg | sed -n -e 's/.*tsc: Refined TSC clocksource calibration: \([0-9]*\)\.\([0-9][0-9][0-9]\) MHz.*/\1\2/p' \
		       -e 's/.*tsc: Detected \([0-9]*\)\.\([0-9][0-9][0-9]\) MHz processor.*/\1\2/p' |
		tail -1
}

# The serial output on stdin: the clock at its first shell marker into
# DIR/t_shell (and, under khyp, what khyp.ko's debugfs says of the VM's
# memory then, DIR/mmu); then read on to the end, so that the launcher
# never writes into a closed pipe.
watch_marker() {	# hv dir
	if grep -a -q -m1 'KHYP-SHELL='; then
		uptime_s > "$2/t_shell"
		if [ "$1" = khyp ]; then
			cat /sys/kernel/debug/khyp/vm*/mmu > "$2/mmu" 2>/dev/null
		fi
	fi
	cat > /dev/null
}

# The same for the virtio-blk benchmark: the clock at the shell marker,
# at KHYP-BLK-BEGIN and at KHYP-BLK-END (t_shell, t_blk0, t_blk1), line
# by line (a grep would keep what it read past its match).
watch_blk() {	# hv dir
	local l
	while IFS= read -r l; do
		case $l in
		*KHYP-SHELL=*) [ -e "$2/t_shell" ] || uptime_s > "$2/t_shell" ;;
		*KHYP-BLK-BEGIN*) uptime_s > "$2/t_blk0" ;;
		*KHYP-BLK-END=*) uptime_s > "$2/t_blk1" ;;
		esac
	done
}

# This machine's RTC in seconds since the epoch: wall time.
rtc_s() {
	local t=
	read -r t < /sys/class/rtc/rtc0/since_epoch
	[[ $t =~ ^[0-9]+$ ]] && echo "$t"
}

# Stop the launcher (the timeout command whose pid is in FILE) when it
# runs past WALL_LIMIT seconds of wall time.  It polls: a sleep on this
# machine's clock could last minutes when the clock crawls, and a read
# with a timeout forks nothing.
wall_watchdog() {	# pidfile
	local end now fd pid
	end=$(rtc_s) || return 0
	end=$((end + WALL_LIMIT))
	exec {fd}<> <(:)
	# a read that gives no number keeps waiting
	while now=$(rtc_s) || now=0; [ "$now" -lt "$end" ]; do
		read -r -t 0.5 -u "$fd"
	done
	read -r pid < "$1" && kill "$pid" 2>/dev/null &&
		echo "wall time limit of $WALL_LIMIT s" > "$1.killed"
}

# The value after KEY on khyp-blkbench's line WHAT ("seq_read ... mibps X").
blk_value() {	# what key
	awk -v w="$1" -v k="$2" '$1 == w { for (i = 2; i < NF; i++) if ($i == k) print $(i + 1) }'
}

# The "blk" line of a boot under HV in DIR, and its guest's other lines.
blk_result() {	# hv dir
	local hv=$1 dir=$2 w=- r=- i=- g=- m=- c=-
	tr -d '\r' < "$dir/serial.log" | sed -n 's/.*KHYP-BLK: //p' > "$dir/blk.out"
	w=$(blk_value seq_write mibps < "$dir/blk.out")
	r=$(blk_value seq_read mibps < "$dir/blk.out")
	i=$(blk_value rand_read iops < "$dir/blk.out")
	g=$(blk_value total s < "$dir/blk.out")
	[ -z "$g" ] || g=$(printf '%.2f' "$g")
	c=$(awk '$1 == "check" { print $2 }' "$dir/blk.out")
	if [ -s "$dir/t_blk0" ] && [ -s "$dir/t_blk1" ]; then
		m=$(awk -v a="$(cat "$dir/t_blk0")" -v b="$(cat "$dir/t_blk1")" 'BEGIN { printf "%.2f", b - a }')
	fi
	echo "blk $hv seq_write_mibps ${w:--} seq_read_mibps ${r:--} rand_read_iops ${i:--} guest_s ${g:--} machine_s $m check ${c:--}"
	tr -d '\r' < "$dir/serial.log" |
		sed -n -e 's/.*\(KHYP-BLK-QUEUE=.*\)/\1/p' -e 's/.*\(KHYP-BLK-END=.*\)/\1/p' \
		       -e 's/.*\(KHYP-BLK-STAT=.*\)/\1/p' -e 's/.*\(KHYP-BLK: .*\)/\1/p' |
		sed "s/^/KHYP-BLKINFO $hv: /"
}

# The directory of the boot under HV in this pair and variant (the
# bzImage's keep their old names).
boot_dir() {	# hv
	if [ "$variant" = vmlinux ]; then
		echo "$work/pair$pair-vmlinux-$1"
	else
		echo "$work/pair$pair-$1"
	fi
}

# /init's KHYP-BOOTPARAMS= line in serial log FILE, as "version V loader
# L text T", or nothing.
boot_params() {	# file
	tr -d '\r' < "$1" | sed -n 's/.*KHYP-BOOTPARAMS=//p' | head -1
}

# One boot under HV: its "boot" line, and what explains a failure.
boot() {	# hv
	local hv=$1 dir t0 t1 rc shell=- rss=- guest=- pages entry
	local watch=watch_marker wd
	local -a cmd timer=()
	dir=$(boot_dir "$hv")
	mkdir -p "$dir"
	if [ -n "$disk_mb" ]; then
		# a fresh image for each boot, its pages all allocated
		rm -f "$work/disk.img"
		dd if=/dev/zero of="$work/disk.img" bs=1M count="$disk_mb" 2>/dev/null
		watch=watch_blk
	fi
	[ -z "$balloon_mb" ] || watch=watch_balloon
	# every boot, the instruction clock's too: in QEMU's guest's spin
	# that clock crawled, and LIMIT did not come for many minutes
	wall_watchdog "$dir/pid" &
	wd=$!
	if [ "$hv" = qemu ]; then
		cmd=("${QEMU_RUN[@]}" "${QEMU_ARGS[@]}" -kernel "${IMAGE[$variant]}")
	else
		cmd=("$work/khyp" "${KHYP_ARGS[@]}" "${IMAGE[$variant]}")
	fi
	[ -x "$TIME" ] && timer=("$TIME" -f "maxrss_kb %M" -o "$dir/time")
	t0=$(uptime_s)
	{ echo "$BASHPID" > "$dir/pid"
	  exec timeout -k 10 "$LIMIT" "${timer[@]}" "${cmd[@]}"; } < /dev/null 2> "$dir/stderr" |
		tee "$dir/serial.log" | "$watch" "$hv" "$dir"
	rc=${PIPESTATUS[0]}
	t1=$(uptime_s)
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	[ -e "$dir/pid.killed" ] && echo "stopped: $(cat "$dir/pid.killed")" >> "$dir/stderr"
	entry=$(boot_params "$dir/serial.log")
	# QEMU's vmlinux boots: the kernel must say it came in through PVH
	# (or this is not the boot it claims to be, and has no time)
	if [ "$variant" = vmlinux ] && [ "$hv" = qemu ] && [ -s "$dir/t_shell" ] &&
	   ! pvh_entry "$entry"; then
		echo "QEMU's guest did not enter through PVH: KHYP-BOOTPARAMS=${entry:-(none)}, expected version 0x020c text 01000000" >> "$dir/stderr"
		mv "$dir/t_shell" "$dir/t_shell.not-pvh"
	fi
	if [ -s "$dir/t_shell" ]; then
		shell=$(awk -v a="$t0" -v b="$(cat "$dir/t_shell")" 'BEGIN { printf "%.2f", b - a }')
	fi
	[ -s "$dir/time" ] && rss=$(awk '$1 == "maxrss_kb" { print $2 }' "$dir/time")
	if [ -s "$dir/mmu" ]; then
		pages=$(awk '$1 == "pages" { print $2 }' "$dir/mmu")
		[ -n "$pages" ] && guest=$((pages * 4))
	fi
	echo "boot $hv shell_s $shell exit_s $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') rss_kb ${rss:--} guest_kb $guest status $rc"
	[ -z "$entry" ] || echo "KHYP-ENTRY $hv $entry"
	grep '^khyp: boot:' "$dir/stderr" | sed 's/^/KHYP-BOOTREPORT /'
	[ -z "$disk_mb" ] || blk_result "$hv" "$dir"
	[ -z "$balloon_mb" ] || balloon_result "$hv" "$dir"
	if ! completed "$hv"; then
		grep -v '^khyp: boot:' "$dir/stderr" | head -30 | sed "s/^/KHYP-FAIL $hv: stderr: /"
		tail -30 "$dir/serial.log" | tr -d '\r' | sed "s/^/KHYP-FAIL $hv: console: /"
		dmesg | tail -20 | sed "s/^/KHYP-FAIL $hv: dmesg: /"
	fi
}

# Whether /init's KHYP-BOOTPARAMS= value ENTRY is that of the kernel's
# PVH entry: init_pvh_bootparams()'s protocol 2.12, and the kernel at its
# link address (16 MiB: no decompressor placed it, and none randomized it).
pvh_entry() {	# entry
	[[ " $1 " == *" version 0x020c "* ]] && [[ " $1 " == *" text 01000000 "* ]]
}

# Whether the boot just made under HV (in pair and variant) completed:
# its shell marker, and with --disk its measurement.
completed() {	# hv
	local dir
	dir=$(boot_dir "$1")
	[ -s "$dir/t_shell" ] && { [ -z "$disk_mb" ] || [ -s "$dir/t_blk1" ]; } &&
		{ [ -z "$balloon_mb" ] || balloon_completed "$dir"; }
}

# One boot under HV, and one more if it did not complete (the QEMU
# guest's hang, docs/performance.md): a boot that hung says nothing of
# the boot's time, nor of the disk (the measurement comes after it).
# The report keeps both.
boot_retry() {	# hv
	local dir
	boot "$1"
	! completed "$1" || return 0
	echo "KHYP-RETRY $1"
	dir=$(boot_dir "$1")
	rm -rf "$dir-failed"
	mv "$dir" "$dir-failed"
	boot "$1"
}

run_qemu() {
	echo "KHYP-HV qemu"
	if modprobe "$kvm" && [ -c /dev/kvm ]; then
		boot_retry qemu
	else
		echo "boot qemu shell_s - exit_s - rss_kb - guest_kb - status modprobe-failed"
		echo "KHYP-FAIL qemu: modprobe $kvm failed or no /dev/kvm"
	fi
	modprobe -r "$kvm" kvm
}

run_khyp() {
	echo "KHYP-HV khyp"
	# khyp.ko's defaults: what a user who loads it gets
	if insmod "$KHYP_KO"; then
		boot_retry khyp
		[ -z "$balloon_mb" ] || boot_retry khyp-hog
		rmmod khyp
	else
		echo "boot khyp shell_s - exit_s - rss_kb - guest_kb - status insmod-failed"
	fi
}

# The launcher starting and exiting, with no guest: `qemu -version`, and
# khyp with no arguments (its usage, status 2).  A run of QEMU's includes
# the dynamic linking of its ~100 libraries, read from the host's root
# over 9p in this machine.  The median of three.
launch_cost() {	# hv cmd...
	local hv=$1 t0 a=()
	shift
	for _ in 1 2 3; do
		t0=$(uptime_s)
		"$@" > /dev/null 2>&1
		a+=("$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.3f", b - a }')")
	done
	echo "start $hv $(printf '%s\n' "${a[@]}" | sort -n | sed -n 2p) ${a[*]}"
}

# QEMU, its libraries and the firmware a PC's direct kernel boot reads
# (a bzImage's linuxboot_dma.bin, a vmlinux's pvh.bin), in DIR: run from the host's root over 9p, each start of QEMU took 37
# to 54 s of this machine's clock (first measurement, 2026-12-06: 9p's
# waits for the host let the -icount clock jump ahead), half of its boot.
# From a tmpfs, as khyp's static binary, through the dynamic loader with
# the copied libraries first; -L points QEMU at the copied firmware.
qemu_to_tmpfs() {	# dir
	local lib
	mkdir -p "$1/lib" "$1/share" || return 1
	cp "$QEMU" "$1/" || return 1
	for lib in $(ldd "$QEMU" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		cp -L "$lib" "$1/lib/" || return 1
	done
	cp -L /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
		/usr/share/qemu/pvh.bin /usr/share/qemu/kvmvapic.bin "$1/share/"
}

run() {
	local khz cmdline v
	echo "KHYP-BEGIN $machine $(uname -r)"
	echo "KHYP-INFO cpu $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	echo "KHYP-INFO mem $(grep MemTotal /proc/meminfo | tr -s ' ')"
	echo "KHYP-INFO cpus $(grep -c ^processor /proc/cpuinfo)"
	echo "KHYP-INFO qemu $("$QEMU" -version | head -1)"
	echo "KHYP-INFO guest ${kernel:+$kernel (bzImage)}${kernel:+${vmlinux:+ and }}${vmlinux:+$vmlinux (vmlinux)}, $initrd, 1 vCPU, $mem MiB${disk_mb:+, a $disk_mb MiB raw image in a tmpfs as virtio-blk}"
	[ -x "$TIME" ] || echo "KHYP-INFO rss no $TIME: no peak RSS"
	[ -z "$disk_mb" ] ||
		echo "KHYP-INFO blk a $disk_mb MiB raw image of zeros in a tmpfs, new for each boot; khyp-blkbench /dev/vda $blk_opts"
	grep -q ' debugfs ' /proc/mounts ||
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	boot_lines=$(dmesg | wc -l)
	if grep -qw vmx /proc/cpuinfo; then kvm=kvm_intel; else kvm=kvm_amd; fi

	# The kernels, the initramfs and khyp's static binary in a tmpfs:
	# both launchers read them at the same cost, not over 9p.
	if ! work=$(mktemp -d /dev/shm/khyp-boot.XXXXXX) ||
	   { [ -n "$kernel" ] && ! cp "$kernel" "$work/vmlinuz"; } ||
	   { [ -n "$vmlinux" ] && ! cp "$vmlinux" "$work/vmlinux"; } ||
	   ! cp "$initrd" "$work/initrd" ||
	   ! cp "$tool" "$work/khyp" || ! qemu_to_tmpfs "$work/qemu"; then
		echo "KHYP-FAIL setup: cannot copy ${kernel:+$kernel, }${vmlinux:+$vmlinux, }$initrd, $tool and QEMU to a tmpfs"
		echo "KHYP-END"
		return 1
	fi
	IMAGE=([bzimage]=$work/vmlinuz [vmlinux]=$work/vmlinux)

	# The same guest command line for both: the serial console; the
	# kernel's own lines up to warnings only (loglevel=5: /init's
	# markers, level 4, still show), so that the serial port's cost does
	# not drown the rest; /dev/kmsg unlimited for /init's markers; the
	# delay loop's and the TSC's rate given, as linux_boot_test does
	# (nested in TCG the TSC's calibration against the PIT fails under
	# khyp; QEMU's guest reads it from kvmclock either way).
	khz=$(tsc_khz)
	cmdline="console=ttyS0 loglevel=5 printk.devkmsg=on panic=-1 lpj=1000000${khz:+ tsc_early_khz=$khz tsc=reliable}"
	if [ -n "$balloon_mb" ]; then
		cmdline="$cmdline khyp.balbench=1"
	elif [ -n "$disk_mb" ]; then
		cmdline="$cmdline khyp.blkbench=1${blk_opts:+ khyp.blkbench_opts=\"$blk_opts\"}"
	else
		cmdline="$cmdline khyp.end=shell"
	fi
	echo "KHYP-INFO cmdline $cmdline"
	# QEMU's default machine (pc, i440fx) and CPU model, direct kernel
	# boot; -nodefaults drops the VGA card and the e1000 that khyp run
	# does not have either; -no-reboot: a panic ends it.
	# The kernel (-kernel IMAGE) comes last, by variant (boot()).
	QEMU_ARGS=(-L "$work/qemu/share"
		   -accel kvm -m "${mem}M" -smp 1 -nodefaults -display none
		   -no-reboot -serial stdio
		   -initrd "$work/initrd" -append "$cmdline")
	KHYP_ARGS=(run -c 1 -m "${mem}M" --serial stdio --timeout "$LIMIT"
		   --boot-report=KHYP-SHELL= --initrd "$work/initrd"
		   --cmdline "$cmdline")
	if [ -n "$disk_mb" ]; then
		# The same image, both as virtio-blk over PCI, modern only
		# (khyp's is 1af4:1042; QEMU's pc machine would make its
		# device transitional); QEMU's host cache as khyp run's
		# preadv/pwritev: the page cache, I/O from a thread pool.
		# shellcheck disable=SC2054 # commas in QEMU option lists
		QEMU_ARGS+=(-drive "file=$work/disk.img,format=raw,if=none,id=d0,cache=writeback,aio=threads"
			    -device virtio-blk-pci,drive=d0,disable-legacy=on)
		KHYP_ARGS+=(--disk "$work/disk.img")
	fi
	if [ -n "$balloon_mb" ] && ! balloon_args; then
		echo "KHYP-FAIL setup: no bench/khyp-balbench"
	fi
	QEMU_RUN=("$work/qemu/lib/ld-linux-x86-64.so.2" --library-path
		  "$work/qemu/lib" "$work/qemu/qemu-system-x86_64")
	for v in $variants; do
		echo "KHYP-INFO launch ${QEMU_RUN[*]} ${QEMU_ARGS[*]} -kernel ${IMAGE[$v]}"
		echo "KHYP-INFO launch khyp ${KHYP_ARGS[*]} ${IMAGE[$v]}"
	done

	rmmod khyp 2>/dev/null
	modprobe -r kvm_intel kvm_amd kvm 2>/dev/null
	pair=1
	while [ "$pair" -le "$pairs" ]; do
		echo "KHYP-PAIR $pair"
		for variant in $variants; do
			echo "KHYP-VARIANT $variant"
			if [ $((pair % 2)) = 1 ]; then
				run_qemu; run_khyp
			else
				run_khyp; run_qemu
			fi
		done
		pair=$((pair + 1))
	done
	launch_cost qemu "${QEMU_RUN[@]}" -version
	launch_cost khyp "$work/khyp"

	# The consoles and stderr of every boot, for whoever reads a failure.
	cp -r "$work"/pair* "$(dirname "$report")/" 2>/dev/null
	rm -rf "$work"

	echo "KHYP-DMESG-BEGIN"
	dmesg | tail -n +$((boot_lines + 1)) |
		grep -E 'khyp|kvm|SVM|svm|WARNING|BUG|Oops|KASAN|lockdep|Call Trace|Kernel panic'
	echo "KHYP-DMESG-END"
	echo "KHYP-END"
}

run > "$report" 2>&1
