# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2154 # work, mem, balloon_mb: boot-bench-guest.sh's
#
# The balloon benchmark of issue 15, sourced by scripts/boot-bench-guest.sh
# (its --balloon MB; bench.sh's machine svm-qemu-balloon): how fast a
# Linux guest's memory comes back to the host, under QEMU -accel kvm with
# its virtio-balloon and a manager, and under khyp run --balloon with a
# manager or with none (the host's own memory pressure).
#
# Each boot is one of boot-bench-guest.sh's (same kernel, initramfs,
# command line but for khyp.balbench=1, 1 vCPU, --mem MiB), with a
# virtio-balloon: QEMU's `-device virtio-balloon-pci,disable-legacy=on`
# (its defaults: no free page reporting, no deflate-on-oom) and its QMP
# socket, khyp run's `--balloon` (no target of its own: 0).  /init
# (scripts/linux-guest-init, bal_bench) touches most of the guest's RAM,
# frees it again, loads virtio_balloon with free page reporting off and
# says KHYP-BALBENCH=ready.  Then bench/khyp-balbench, in this machine,
# samples what the hypervisor holds of the guest and, at its T0, for
#
#   qemu      asks QEMU over QMP for MB MiB (`balloon` to RAM - MB): the
#             manager's request; held is QEMU's resident set
#   khyp      asks khyp the same from outside (`khyp balloon PID MBM`,
#             KHYP_SET_BALLOON); held is khyp.ko's pages of the VM
#   khyp-hog  asks nothing: a memory hog grows past what this machine
#             has available, and khyp's shrinker raises the balloon's
#             target itself; pressure starts at the shrinker's first scan
#
# and prints the time to the first page back and the rate (bench/
# balbench.c).  Then the launcher is stopped (SIGTERM through timeout).
# Report lines (besides boot-bench-guest.sh's "boot" line):
#
#   balloon <hv> first_s A scan_s S from_scan_s B cmd_s C returned_mib R
#           t90_s D mibps M free_mib G hog_mib H hog_rc X samples N end WHY
#   KHYP-BALINFO <hv>: ...   (khyp-balbench's baseline and khyp lines,
#                            /init's markers)
#   KHYP-BALTRACE <hv>: ...  (its trace: returned memory over time)

# khyp-balbench's sampling interval (us) and its limit after T0 (s of
# this machine's clock).
BAL_INTERVAL_US=5000
BAL_LIMIT_S=60

# The devices, after boot-bench-guest.sh's run() made QEMU_ARGS and
# KHYP_ARGS (before the kernel's path ends KHYP_ARGS); khyp-balbench
# (built by bench.sh) into the tmpfs.
balloon_args() {
	cp "$(dirname "$0")/../bench/khyp-balbench" "$work/" || return 1
	echo "KHYP-INFO balloon $balloon_mb MiB asked for, of $mem MiB; khyp-balbench every $BAL_INTERVAL_US us, up to $BAL_LIMIT_S s"
	# shellcheck disable=SC2054 # commas in QEMU option lists
	QEMU_ARGS+=(-device virtio-balloon-pci,disable-legacy=on
		    -qmp "unix:$work/qmp.sock,server=on,wait=off")
	KHYP_ARGS+=(--balloon)
}

# The launcher's process: QEMU through the copied dynamic loader, or
# khyp run (each the first word of its command line; `time` and
# `timeout`, which hold the same words later, do not match).
balloon_pid() {	# hv
	if [ "$1" = qemu ]; then
		pgrep -n -f "^$work/qemu/lib/ld-linux"
	else
		pgrep -n -f "^$work/khyp run"
	fi
}

# The serial output on stdin: the clock at the shell marker (t_shell),
# and at KHYP-BALBENCH=ready the measurement (balbench.out), after which
# the launcher is stopped; then read to the end.
watch_balloon() {	# hv dir
	local l pid
	local -a how
	while IFS= read -r l; do
		case $l in
		*KHYP-SHELL=*) [ -e "$2/t_shell" ] || uptime_s > "$2/t_shell" ;;
		*KHYP-BALBENCH=ready*)
			pid=$(balloon_pid "$1")
			case $1 in
			qemu) how=(--qmp "$work/qmp.sock" --ram "$mem" --pid "$pid") ;;
			khyp) how=(--khyp "$work/khyp" --pid "$pid") ;;
			*) how=(--hog) ;;
			esac
			"$work/khyp-balbench" "${how[@]}" --mib "$balloon_mb" \
				-i "$BAL_INTERVAL_US" -t "$BAL_LIMIT_S" \
				> "$2/balbench.out" 2>&1
			read -r pid < "$2/pid" && kill "$pid" 2>/dev/null
			break ;;
		esac
	done
	cat > /dev/null
}

# Whether the boot in DIR measured something.
balloon_completed() {	# dir
	grep -q '^result first_s [0-9]' "$1/balbench.out" 2>/dev/null
}

# The "balloon" line of a boot under HV in DIR, and what explains it.
balloon_result() {	# hv dir
	local r
	r=$(sed -n 's/^result //p' "$2/balbench.out" 2>/dev/null)
	echo "balloon $1 ${r:-first_s - scan_s - from_scan_s - cmd_s - returned_mib - t90_s - mibps - free_mib - hog_mib - hog_rc - samples 0 end none}"
	grep -v -e '^result ' -e '^trace ' "$2/balbench.out" 2>/dev/null |
		sed "s/^/KHYP-BALINFO $1: /"
	tr -d '\r' < "$2/serial.log" | sed -n 's/.*\(KHYP-BALBENCH-[A-Z]*=.*\)/\1/p' |
		sed "s/^/KHYP-BALINFO $1: /"
	grep '^trace ' "$2/balbench.out" 2>/dev/null | sed "s/^/KHYP-BALTRACE $1: /"
}
