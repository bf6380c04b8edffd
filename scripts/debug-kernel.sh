#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The debug kernel of the svm-qemu-debug machine (docs/testing.md): Debian's
# linux-source-6.1 built with KASAN, lockdep, kmemleak, UBSAN, DEBUG_LIST,
# DEBUG_VM, debug objects and KFENCE: `make allnoconfig` with
# scripts/debug-kernel.config as KCONFIG_ALLCONFIG, so only what the
# machine, the selftests and khyp.ko need is built: ~1,030 objects,
# 356 s on 2 cores with nothing else running (session 17: unpacking and
# configuring 17 s, the build 339 s), 7 to 14 minutes beside emulators
# (virtme-ng's defconfig, until session 14, took 36 minutes).  Only bzImage is built
# (no modules but KVM's for AMD: load_test and bench_test load kvm_amd).
#
#   scripts/debug-kernel.sh           build it unless cached; print its dir
#   scripts/debug-kernel.sh --cached  print its dir if cached, else exit 1
#
# The directory, $KHYP_CACHE/debug-kernel/KEY, holds bzImage, modules/
# (irqbypass.ko, kvm.ko, kvm-amd.ko), obj/ (the tree to build khyp.ko
# against: make KDIR=DIR/obj), build.log and build-seconds.  KEY hashes
# the config fragment, RECIPE, the source package's version and the
# compiler's: any change rebuilds.  A build removes the other keys' directories that no
# run has asked for in two hours (.used): another checkout's test run may
# still be booting the one it found.  The build runs with -j2 at nice
# KHYP_DEBUG_NICE, 19 by default (the machine is shared with emulators);
# test.sh's two lanes pass 0, or both emulators would leave it next to
# nothing until a lane waits for it (docs/testing.md, "The suite's
# time").
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${KHYP_CACHE:-/var/cache/khyp}
BASE=$CACHE/debug-kernel
FRAG=$TOP/scripts/debug-kernel.config

log() { echo "debug-kernel: $*" >&2; }
die() { log "$*"; exit 1; }

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
	die "linux-source-6.1 is not installed (scripts/install-deps.sh)"
# Raise RECIPE when a change to this script changes what it builds.
RECIPE=3
key=$( (cat "$FRAG"; echo "recipe=$RECIPE src=$srcver";
	gcc -dumpfullversion) | sha256sum | cut -c1-16)
DIR=$BASE/$key

if [ -f "$DIR/.done" ]; then
	touch "$DIR/.used"
	echo "$DIR"
	exit 0
fi
[ "${1:-}" = --cached ] && exit 1

mkdir -p "$BASE"
exec {lock}>"$BASE/.lock"
flock "$lock"		# one build at a time; the other waits and reuses it
if [ -f "$DIR/.done" ]; then
	touch "$DIR/.used"
	echo "$DIR"
	exit 0
fi

# The whole source, once per source version (~1.3 GB unpacked).
SRC=$BASE/src-$srcver
if [ ! -f "$SRC/.done" ]; then
	log "unpacking linux-source-6.1 $srcver"
	rm -rf "$SRC" "$BASE/linux-source-6.1"
	tar -C "$BASE" -xJf /usr/src/linux-source-6.1.tar.xz
	mv "$BASE/linux-source-6.1" "$SRC"
	touch "$SRC/.done"
fi

# The other keys' builds go once no run has used them for two hours.
for d in "$BASE"/*/; do
	d=${d%/}
	case ${d##*/} in
	src-*) [ "$d" = "$SRC" ] || rm -rf "$d";;
	*) [ -n "$(find "$d/.used" "$d/.done" -mmin -120 2>/dev/null)" ] ||
		rm -rf "$d";;
	esac
done

OBJ=$DIR/obj
mkdir -p "$OBJ"
log "configuring in $DIR"
make -C "$SRC" O="$OBJ" KCONFIG_ALLCONFIG="$FRAG" allnoconfig \
	> "$DIR/config.log" 2>&1 ||
	{ cat "$DIR/config.log" >&2; die "configuration failed"; }

# Every option the fragment sets must have stuck (a dependency the fragment
# forgot silently drops an option).
bad=0
while IFS= read -r l; do
	case $l in
	CONFIG_*=*) grep -qxF "$l" "$OBJ/.config" ||
		{ log "not in .config: $l"; bad=1; };;
	"# CONFIG_"*" is not set")
		o=${l#\# }; o=${o%% *}
		! grep -q "^$o=" "$OBJ/.config" ||
			{ log "still set: $o"; bad=1; };;
	esac
done < "$FRAG"
[ $bad = 0 ] || die "the configuration lost options of $FRAG"

NICE=${KHYP_DEBUG_NICE:-19}
log "building bzImage and modules_prepare (nice $NICE, -j2; log: $DIR/build.log)"
t0=$(date +%s)
nice -n "$NICE" make -C "$SRC" O="$OBJ" -j2 bzImage modules_prepare \
	> "$DIR/build.log" 2>&1 ||
	{ tail -40 "$DIR/build.log" >&2; die "the build failed"; }
# KVM's modules for AMD only (kvm-intel.ko is as big as kvm-amd.ko and
# the machine never loads it), and irqbypass.ko, which kvm.ko needs.
KVM_KO="virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-amd.ko"
# shellcheck disable=SC2086
nice -n "$NICE" make -C "$SRC" O="$OBJ" -j2 $KVM_KO >> "$DIR/build.log" 2>&1 ||
	{ tail -40 "$DIR/build.log" >&2; die "the KVM modules failed"; }
t1=$(date +%s)
mkdir -p "$DIR/modules"
for m in $KVM_KO; do cp "$OBJ/$m" "$DIR/modules/"; done
echo $((t1 - t0)) > "$DIR/build-seconds"
# An external module build wants Module.symvers; with no modules it is
# vmlinux's.
cp "$OBJ/vmlinux.symvers" "$OBJ/Module.symvers"
cp "$OBJ/arch/x86/boot/bzImage" "$DIR/bzImage"
# The objects are not needed to build a module against the tree (~1 GB).
find "$OBJ" -name '*.o' ! -path "$OBJ/scripts/*" ! -path "$OBJ/tools/*" \
	-delete
touch "$DIR/.done" "$DIR/.used"
log "built in $((t1 - t0)) s"
echo "$DIR"
