# SPDX-License-Identifier: GPL-2.0
#
# Sourced by scripts/test.sh and scripts/bench.sh: the test kernels, the
# khyp.ko build, and the runners that boot one emulated machine.
#
# The caller defines say() and die() and sets TOP, OUT and KHYP_CACHE;
# this file sets KVER and KVER612.  A runner takes "NAME CPU ARGS EXPECT"
# and boots the machine with the in-machine script $MACHINE_SCRIPT
# (guest-run.sh: the selftests named in ARGS; bench-guest.sh: the
# benchmark, with ARGS as its options), which writes its report to
# $OUT/NAME/report; it needs $KO (khyp.ko for KVER) and, for the
# initramfs machines, $INITRD.  Knobs: MACHINE_MEM_MB (guest RAM; 1024
# for virtme-ng, 512 for the others by default), MACHINE_TIMEOUT (seconds;
# 600 for virtme-ng, 300 for QEMU, 900 for Bochs by default),
# MACHINE_QEMU_OPTS (more QEMU options, for virtme-ng and the QEMU
# runners: the benchmark's -icount), MACHINE_KERNEL (another kernel for
# virtme-ng and run_qemu: the debug kernel's), MACHINE_KO (its khyp.ko,
# for virtme-ng), MACHINE_KCMD (more kernel options), MACHINE_ENV (NAME=VALUE words for
# the tests' environment, e.g. `make fuzz`'s KHYP_FUZZ_CALLS:
# virtme-ng's env, the kernel command line of the initramfs machines,
# whose /init passes them on), STOP_IDLE_S (QEMU machines: how long the
# emulator may sleep before the run calls it stopped; wait_report()).

MACHINE_SCRIPT=${MACHINE_SCRIPT:-guest-run.sh}

# The test kernels: Debian's 6.1 (the machines boot it) and 6.12 (built
# against, as a compile check).
kver_of() { ls /lib/modules | grep "^$1" | sort -V | tail -1; }
KVER=$(kver_of '6\.1\.')
KVER612=$(kver_of '6\.12\.')
[ -n "$KVER" ] && [ -f "/boot/vmlinuz-$KVER" ] || die "no 6.1 kernel installed"
[ -n "$KVER612" ] || die "no 6.12 headers installed"

mkdir -p "$OUT"

# Emulator slots: at most KHYP_EMU_SLOTS emulators at once on this
# machine (default: one per CPU, at most two), shared by every run of
# every checkout (worktrees too), one lock file per slot: KHYP_EMU_LOCK
# (/tmp/khyp-emulator.lock, the one lock of the checkouts before
# session 18) and KHYP_EMU_LOCK.1.  test.sh's two lanes take one each;
# an emulator is one busy thread, and two on two CPUs ran as fast as
# one alone (session 18, test.sh).  A caller waits in line
# (KHYP_EMU_LOCK.queue) for the first free slot, so that a lane that
# gives its slot up and asks again comes after one already waiting (the
# package test's machine).  Every runner call goes through
# emu_lock/emu_unlock; emu_lock_all takes every slot (the benchmarks,
# which must not share the CPUs).
EMU_SLOTS=${KHYP_EMU_SLOTS:-$(($(nproc) >= 2 ? 2 : 1))}
[[ $EMU_SLOTS =~ ^[1-9][0-9]*$ ]] || die "KHYP_EMU_SLOTS=$EMU_SLOTS: a number, 1 or more"
EMU_LOCK_FDS=()
emu_slot_path() {	# slot
	local base=${KHYP_EMU_LOCK:-/tmp/khyp-emulator.lock}
	if [ "$1" = 0 ]; then echo "$base"; else echo "$base.$1"; fi
}
emu_lock() {
	local i fd queue
	exec {queue}>"$(emu_slot_path queue)"
	flock "$queue"
	while :; do
		for ((i = 0; i < EMU_SLOTS; i++)); do
			exec {fd}>"$(emu_slot_path "$i")"
			if flock -n "$fd"; then
				EMU_LOCK_FDS=("$fd")
				exec {queue}>&-
				return 0
			fi
			exec {fd}>&-
		done
		sleep 1
	done
}
# In line too: waiting on the slots outside it, a benchmark took each
# slot the moment it was given up, and runs of test.sh that waited in
# line for one starved behind benchmarks run one after another (session
# 20: half an hour).
emu_lock_all() {
	local i fd queue
	exec {queue}>"$(emu_slot_path queue)"
	flock "$queue"
	EMU_LOCK_FDS=()
	for ((i = 0; i < EMU_SLOTS; i++)); do
		exec {fd}>"$(emu_slot_path "$i")"
		flock "$fd"
		EMU_LOCK_FDS+=("$fd")
	done
	exec {queue}>&-
}
emu_unlock() {
	local fd
	for fd in "${EMU_LOCK_FDS[@]}"; do
		flock -u "$fd"
		exec {fd}>&-
	done
	EMU_LOCK_FDS=()
}

# Build khyp.ko for one kernel in its own copy of the tree, so that the two
# builds do not share objects.  Any compiler warning fails the run.  KDIR
# (default /lib/modules/KVER/build) and more make arguments may follow:
# the debug kernel's tree, with KCFLAGS=-g for file:line in its reports.
build_module() {
	local kver=$1 kdir=${2:-/lib/modules/$1/build} dir=$OUT/build-$1
	shift $(($# > 1 ? 2 : 1))
	rm -rf "$dir"; mkdir -p "$dir"
	cp -r "$TOP"/Kbuild "$TOP"/core "$TOP"/vmx "$TOP"/svm "$TOP"/uapi "$dir/"
	for d in mmu irq balloon; do
		[ -d "$TOP/$d" ] && cp -r "$TOP/$d" "$dir/"
	done
	if ! make -j"$(nproc)" -C "$kdir" M="$dir" W=1 "$@" modules \
		> "$dir/build.log" 2>&1; then
		cat "$dir/build.log" >&2
		die "khyp.ko does not build against $kver"
	fi
	if grep -E "warning:|error:" "$dir/build.log" >&2; then
		die "khyp.ko builds with warnings against $kver"
	fi
	say "khyp.ko built against $kver"
}

# The CPU time, in clock ticks, of PID and every process under it, the
# children they reaped included (so that it never falls when one exits).
tree_ticks() {	# pid
	local c sum=0 f
	# /proc/PID/stat after "(comm) ": utime, stime, cutime, cstime are
	# f[11] to f[14]
	if read -r -a f <<< "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null)"; then
		sum=$((${f[11]:-0} + ${f[12]:-0} + ${f[13]:-0} + ${f[14]:-0}))
	fi
	for c in $(pgrep -P "$1"); do
		sum=$((sum + $(tree_ticks "$c")))
	done
	echo "$sum"
}

# QEMU's state when a machine fell asleep, through its QMP socket
# (DIR/qmp.sock), into DIR/stopped.txt: the local APIC (a vector left in
# IRR that nothing delivers: docs/reliability.md, session 16) and the
# registers.  The IRR and ISR lines go to the log too.
dump_stopped() {	# dir
	[ -S "$1/qmp.sock" ] || return 0
	timeout 20 /usr/bin/python3 - "$1/qmp.sock" > "$1/stopped.txt" 2>&1 <<'PY' || true
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
f = s.makefile("rw")
def call(cmd, **args):
    f.write(json.dumps({"execute": cmd, "arguments": args} if args else {"execute": cmd}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            return r.get("return", r.get("error"))
f.readline()			# the greeting
call("qmp_capabilities")
for hmp in ("info lapic", "info registers"):
    print("(qemu) " + hmp)
    print(call("human-monitor-command", **{"command-line": hmp}))
PY
	grep -E '^(IRR|ISR)' "$1/stopped.txt" 2>/dev/null | sed "s|^|$(basename "$1"): |" >&2
}

# Wait until REPORT has KHYP-END or PID exits or LIMIT seconds pass; then
# stop PID.  Returns 0 if the end marker was seen.  With IDLE=1 (the
# QEMU runners), a machine whose emulator used less than 2% of a CPU for
# STOP_IDLE_S seconds (default 120; 0: no check) is asleep with nothing
# to wake it: TCG runs a busy guest at 100%, and no test leaves the
# machine idle for minutes; a lost interrupt does (docs/reliability.md,
# session 16's stop).  It is stopped then, with its APIC and registers in
# DIR/stopped.txt, instead of running into LIMIT (15 minutes for the
# debug machine).
wait_report() {	# report pid limit [idle]
	local report=$1 pid=$2 limit=$3 idle=${4:-0} t=0
	local window=${STOP_IDLE_S:-120} mark=0 ticks now
	[[ $window =~ ^[1-9][0-9]*$ ]] || idle=0	# STOP_IDLE_S=0: no check
	while [ $t -lt "$limit" ]; do
		grep -q "^KHYP-END" "$report" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 1; t=$((t + 1))
		[ "$idle" = 1 ] && [ $((t % window)) -eq 0 ] || continue
		now=$(tree_ticks "$pid")
		if [ "$mark" -gt 0 ] && [ "$now" -ge "$ticks" ] &&
		   [ $((now - ticks)) -lt $((window * $(getconf CLK_TCK) / 50)) ] &&
		   ! grep -q "^KHYP-END" "$report" 2>/dev/null; then
			say "$(basename "$(dirname "$report")"): the emulator used $((now - ticks)) clock ticks of CPU in $window s: the machine is asleep with nothing to wake it (a lost interrupt?), stopped; QEMU's APIC and registers: $(dirname "$report")/stopped.txt"
			dump_stopped "$(dirname "$report")"
			break
		fi
		ticks=$now mark=1
	done
	sleep 1
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	grep -q "^KHYP-END" "$report" 2>/dev/null
}

# init_on_alloc=0: Debian's kernel zeroes every page it hands out, which
# would hide a khyp that forgot to zero guest memory (host data leaking
# into a guest).  log_buf_len: the suite's kernel log must not wrap past
# the marker guest-run.sh writes before loading khyp.  cryptomgr.notests:
# the kernel's self-tests of its crypto algorithms took 30 of the 52 guest
# seconds vmx-bochs spent booting (initcall_debug: crypto_algapi_init
# 18.7 s, crypto_kdf108_init 12.2 s); they test the kernel, not khyp.
KCMD_TEST="init_on_alloc=0 log_buf_len=4M cryptomgr.notests"
KCMD_COMMON="console=ttyS0 loglevel=4 panic=-1 oops=panic $KCMD_TEST"

run_vng() {	# name cpu tests expect
	local name=$1 cpu=$2 tests=$3 expect=$4 dir=$OUT/$1
	local vng=$KHYP_CACHE/virtme-ng/usr/bin/vng
	local report=$dir/report limit=${MACHINE_TIMEOUT:-600}
	PYTHONPATH=$(echo "$KHYP_CACHE"/virtme-ng/usr/lib/python3/dist-packages) \
	PATH=$KHYP_CACHE/virtme-ng/usr/bin:$PATH \
	timeout "$limit" /usr/bin/python3 "$vng" \
		--run "${MACHINE_KERNEL:-/boot/vmlinuz-$KVER}" \
		--disable-kvm --force-9p --cpus 1 \
		--memory "${MACHINE_MEM_MB:-1024}M" --rw \
		--qemu-opts="-cpu $cpu -qmp unix:$dir/qmp.sock,server=on,wait=off ${MACHINE_QEMU_OPTS:-}" \
		--append "$KCMD_TEST ${MACHINE_KCMD:-}" \
		--exec "env KHYP_KO=${MACHINE_KO:-$KO} KHYP_EXPECT=$expect KHYP_DMESG=$dir/dmesg.log ${MACHINE_ENV:-} $TOP/scripts/$MACHINE_SCRIPT $name $report $TOP/selftests $tests" \
		> "$dir/console.log" 2>&1 &
	wait_report "$report" $! "$limit" 1
}

run_qemu() {	# name cpu tests expect
	local name=$1 cpu=$2 tests=$3 expect=$4 dir=$OUT/$1
	local limit=${MACHINE_TIMEOUT:-300}
	timeout "$limit" qemu-system-x86_64 -accel "${MACHINE_ACCEL:-tcg}" \
		-cpu "$cpu" -m "${MACHINE_MEM_MB:-512}" \
		-smp "${MACHINE_CPUS:-1}" \
		-kernel "${MACHINE_KERNEL:-/boot/vmlinuz-$KVER}" -initrd "$INITRD" \
		-append "$KCMD_COMMON ${MACHINE_KCMD:-}${MACHINE_ENV:+$MACHINE_ENV }KHYP_MACHINE=$name KHYP_SCRIPT=$MACHINE_SCRIPT KHYP_TESTS=${tests// /,} KHYP_EXPECT=$expect" \
		-display none -no-reboot -monitor ${MACHINE_MONITOR:-none} \
		-qmp "unix:$dir/qmp.sock,server=on,wait=off" \
		-serial "file:$dir/console.log" -serial "file:$dir/report" \
		${MACHINE_QEMU_OPTS:-} &
	wait_report "$dir/report" $! "$limit" 1
}

# Two vCPUs, for the tests that need a vCPU in its guest on one CPU while
# another thread runs on the other (selftests/smp_test.c).
#  - tcg,thread=single: QEMU's multi-threaded TCG livelocks with the
#    kernel's cross-modifying code when a static key is toggled (khyp's
#    insmod and rmmod toggle the preempt-notifier key; docs/emulators.md);
#    one thread running both vCPUs in turn does not.
#  - nohz_full=1 rcu_nocbs=1 irqaffinity=0: CPU 1, given to the vCPU
#    thread alone, takes no timer tick and no device interrupt, so a guest
#    spinning there leaves it only when khyp kicks it.
run_qemu_smp2() {	# name cpu tests expect
	MACHINE_CPUS=2 MACHINE_ACCEL=tcg,thread=single \
	MACHINE_KCMD="nohz_full=1 rcu_nocbs=1 irqaffinity=0 " \
		run_qemu "$@"
}

# Bochs with two CPUs (vmx-bochs-smp2), the kernel options as in
# run_qemu_smp2, and idle=halt: with nohz_full, CPU 1 idling in MWAIT
# missed the IPI of the stop_machine() that switches the clocksource to
# the TSC (a soft lockup of CPU 0 at 48 s; docs/emulators.md).  With HLT
# as the idle instruction the same boot reaches the tests.
run_bochs_smp2() {	# name model tests expect
	MACHINE_CPUS=2 \
	MACHINE_KCMD="idle=halt nohz_full=1 rcu_nocbs=1 irqaffinity=0 " \
		run_bochs "$@"
}

# The Bochs machines boot their kernel's vmlinux through scripts/mbboot
# (GRUB's multiboot loader), not its bzImage: Debian's decompresses
# itself from xz, ~3.7 billion instructions before its first line, a
# minute or more of every Bochs start.  The vmlinux is the kernel's own
# scripts/extract-vmlinux's output (the same kernel; no KASLR) without its
# zeros and symbols (trim-vmlinux.py: 66 MB to 41 MB for GRUB to read),
# made once; vmx-bochs's Linux guest boots it too.
VMLINUX=$OUT/vmlinux-$KVER
extract_vmlinux() {
	[ -s "$VMLINUX" ] && return 0
	"$KHYP_CACHE/linux-source-6.1/scripts/extract-vmlinux" \
		"/boot/vmlinuz-$KVER" > "$VMLINUX.full" &&
		"$TOP/scripts/mbboot/trim-vmlinux.py" "$VMLINUX.full" "$VMLINUX.tmp" &&
		mv "$VMLINUX.tmp" "$VMLINUX"
	local r=$?
	rm -f "$VMLINUX.full" "$VMLINUX.tmp"
	return $r
}
bochs_kernel() {	# dir: puts mbboot and vmlinux in dir
	make -s -C "$TOP/scripts/mbboot" && extract_vmlinux &&
		cp "$TOP/scripts/mbboot/mbboot" "$1/mbboot" &&
		cp "$VMLINUX" "$1/vmlinux"
}

run_bochs() {	# name model tests expect
	local name=$1 model=$2 tests=$3 expect=$4 dir=$OUT/$1 extra=
	local limit=${MACHINE_TIMEOUT:-900}
	# skylake_x: Bochs 2.7's XSAVE emulation corrupts the XSAVE header of
	# tasks that use AVX-512 (a boot-time WARNING) and AVX (reserved
	# header bytes, then a #GP in XRSTORS): without AVX the kernel keeps
	# to FXSAVE.  See docs/emulators.md.
	[ "$model" = corei7_skylake_x ] && extra="clearcpuid=avx512f,avx"
	mkdir -p "$dir/iso/boot/grub"
	bochs_kernel "$dir/iso/boot" || { say "$name: no vmlinux"; return 1; }
	cp "$INITRD" "$dir/iso/boot/initrd"
	cat > "$dir/iso/boot/grub/grub.cfg" <<GRUB
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_output serial
menuentry khyp {
	multiboot /boot/mbboot $KCMD_COMMON tsc_early_khz=40000 $extra ${MACHINE_KCMD:-}${MACHINE_ENV:+$MACHINE_ENV }KHYP_MACHINE=$name KHYP_SCRIPT=$MACHINE_SCRIPT KHYP_TESTS=${tests// /,} KHYP_EXPECT=$expect
	module --nounzip /boot/vmlinux
	module --nounzip /boot/initrd
}
GRUB
	grub-mkrescue -o "$dir/boot.iso" "$dir/iso" > "$dir/grub.log" 2>&1 ||
		{ cat "$dir/grub.log"; return 1; }
	cat > "$dir/bochsrc" <<BOCHS
megs: ${MACHINE_MEM_MB:-512}
cpu: model=$model, count=${MACHINE_CPUS:-1}, ips=40000000
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$dir/boot.iso, status=inserted
boot: cdrom
clock: sync=none, time0=local
com1: enabled=1, mode=file, dev=$dir/console.log
com2: enabled=1, mode=file, dev=$dir/report
display_library: rfb, options="timeout=0, hideIPS"
sound: driver=dummy
speaker: enabled=0
log: $dir/bochs.log
error: action=ignore
info: action=ignore
debug: action=ignore
BOCHS
	echo c > "$dir/bochs.rc"
	: > "$dir/report"
	timeout "$limit" bochs-bin -q -f "$dir/bochsrc" -rc "$dir/bochs.rc" \
		< /dev/null > "$dir/bochs.out" 2>&1 &
	wait_report "$dir/report" $! "$limit"
}
