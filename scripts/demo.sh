#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: boot the emulated SVM machine (virtme-ng under QEMU TCG with
# -cpu qemu64,+svm,+npt, as the svm-qemu machine of scripts/test.sh), load
# khyp.ko there and run the hello guest with the launcher:
#
#   khyp info
#   khyp run guests/hello
#
# khyp.ko is built against Debian's 6.1 kernel (the machine boots it) in
# build/demo; the launcher and the guests with `make tool guests`.  The
# machine shares the host's root, so it runs them from this tree.  Needs
# what `make test` installs (scripts/install-deps.sh); takes ~30 s.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
KHYP_CACHE=${KHYP_CACHE:-/var/cache/khyp}
OUT=$TOP/build/demo

die() { echo "demo: $*" >&2; exit 1; }

KVER=$(ls /lib/modules | grep '^6\.1\.' | sort -V | tail -1)
[ -n "$KVER" ] && [ -f "/boot/vmlinuz-$KVER" ] ||
	die "no 6.1 kernel installed (run scripts/install-deps.sh)"
[ -x "$KHYP_CACHE/virtme-ng/usr/bin/vng" ] ||
	die "no virtme-ng in $KHYP_CACHE (run scripts/install-deps.sh)"

make -s -C "$TOP" tool guests || die "the launcher or the guests do not build"

# khyp.ko for the machine's kernel, in its own copy of the sources
rm -rf "$OUT"; mkdir -p "$OUT"
cp -r "$TOP"/Kbuild "$TOP"/core "$TOP"/vmx "$TOP"/svm "$TOP"/uapi "$OUT/"
for d in mmu irq balloon; do
	[ -d "$TOP/$d" ] && cp -r "$TOP/$d" "$OUT/"
done
make -s -C "/lib/modules/$KVER/build" M="$OUT" modules > "$OUT/build.log" 2>&1 ||
	{ cat "$OUT/build.log"; die "khyp.ko does not build against $KVER"; }

KHYP=$TOP/userspace-tool/khyp
echo "demo: booting $KVER in QEMU (TCG, qemu64,+svm,+npt) with virtme-ng..." >&2
PYTHONPATH=$(echo "$KHYP_CACHE"/virtme-ng/usr/lib/python3/dist-packages) \
PATH=$KHYP_CACHE/virtme-ng/usr/bin:$PATH \
timeout 300 /usr/bin/python3 "$KHYP_CACHE/virtme-ng/usr/bin/vng" \
	--run "/boot/vmlinuz-$KVER" --disable-kvm --force-9p --cpus 1 \
	--memory 1G --rw --qemu-opts="-cpu qemu64,+svm,+npt" \
	--exec "modprobe -r kvm_amd kvm_intel kvm 2>/dev/null
		insmod $OUT/khyp.ko || exit 1
		echo '\$ khyp info'; $KHYP info
		echo '\$ khyp run guests/hello'; $KHYP run $TOP/guests/hello
		echo \"(khyp exited with status \$?)\""
