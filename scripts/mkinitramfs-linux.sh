#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the initramfs of a Linux guest under `khyp run` (the boot test,
# selftests/linux_boot_test.c, and the README's first example): a static
# busybox (busybox-static), scripts/linux-guest-init as /init, and the
# virtio and pvpanic modules of kernel KVER from /lib/modules/KVER, in the order
# modules.dep gives (modprobe --show-depends), decompressed where the
# kernel ships them compressed (busybox's insmod reads plain .ko only).
# A newc cpio, uncompressed unless OUT ends in .gz (gzip -9: Debian's
# kernels have CONFIG_RD_GZIP).  The suite's is uncompressed: the guest
# took 1.8 s of a 25 s boot to /init in vmx-bochs to gunzip the 1.5 MB
# of the compressed one (3.4 MB of files), time every boot paid.
#
# This is not scripts/mkinitramfs.sh, which builds the test machines'
# initramfs (khyp.ko, the selftests) that the emulators boot.
#
# More static programs for the guest's /bin may follow KVER: the
# virtio-blk benchmark's bench/khyp-blkbench (scripts/bench.sh); the
# suite's selftests/khyp-sum (scripts/test.sh), which /init prefers to
# busybox's crc32 for the data it keeps in memory.
#
# Usage: mkinitramfs-linux.sh OUT.cpio[.gz] [KVER [PROGRAM...]]
#        (KVER: uname -r)
set -euo pipefail

out=$1 kver=${2:-$(uname -r)}
shift $(($# > 1 ? 2 : 1))
here=$(cd "$(dirname "$0")" && pwd)
# virtio-pci with block, network (net_failover), console, rng and the
# balloon (which /init loads last, when it is told to: khyp.balloon=).
MODULES="virtio_pci virtio_blk virtio_net virtio_console virtio_rng virtio_balloon"
# pvpanic-mmio (and the pvpanic core) binds the DSDT's QEMU0001 at I/O
# port 0x505: a guest panic then ends khyp run with status 14.
PANIC_MODULES="pvpanic_mmio"

die() { echo "mkinitramfs-linux: $*" >&2; exit 1; }
[ -x /bin/busybox ] || die "no /bin/busybox (apt-get install busybox-static)"
readelf -l /bin/busybox 2>/dev/null | grep -q INTERP &&
	die "/bin/busybox is not static (apt-get install busybox-static)"
[ -d "/lib/modules/$kver" ] || die "no /lib/modules/$kver"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,lib/modules}
cp /bin/busybox "$root/bin/busybox"
for p in "$@"; do
	readelf -l "$p" 2>/dev/null | grep -q INTERP &&
		die "$p is not a static program"
	install -m 755 "$p" "$root/bin/${p##*/}"
done
install -m 755 "$here/linux-guest-init" "$root/init"

# Each module once, dependencies first; /lib/modules/khyp-order lists
# the files for /init's insmod.
: > "$root/lib/modules/khyp-order"
for m in $MODULES $PANIC_MODULES; do
	modprobe -S "$kver" --show-depends "$m" ||
		die "modprobe -S $kver --show-depends $m failed"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r src; do
	name=${src##*/}
	case $name in
	*.ko.xz)  xz -dc "$src" > "$root/lib/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -qdc "$src" > "$root/lib/modules/${name%.zst}"; name=${name%.zst} ;;
	*.ko.gz)  gzip -dc "$src" > "$root/lib/modules/${name%.gz}"; name=${name%.gz} ;;
	*.ko)     cp "$src" "$root/lib/modules/$name" ;;
	*)        die "unexpected module file $src" ;;
	esac
	echo "/lib/modules/$name" >> "$root/lib/modules/khyp-order"
done

mkdir -p "$(dirname "$out")"
compress=cat
[[ $out != *.gz ]] || compress="gzip -9"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	$compress > "$out.tmp"
mv "$out.tmp" "$out"
