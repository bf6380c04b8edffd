#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything khyp's build and test run need, from Debian's packages
# only.  Idempotent: a second run changes nothing and takes a few seconds.
#
#  - the 6.1 test kernel (image + headers) and the 6.12 headers (both from
#    bookworm / bookworm-security),
#  - QEMU (TCG with an SVM+NPT CPU), Bochs (VMX+EPT and SVM CPUs), GRUB and
#    xorriso to make Bochs' boot ISO, a static busybox for the initramfs,
#  - dkms, dh-dkms, debhelper, dpkg-dev, fakeroot and lintian: the packaging test
#    builds khyp's .debs and installs them (scripts/pkg-test.sh),
#  - acpica-tools: iasl, which loader_test runs on the launcher's ACPI tables,
#  - time: /usr/bin/time, whose maximum RSS of khyp run and of QEMU the
#    Linux boot benchmark reports (scripts/boot-bench-guest.sh),
#  - sparse, and from linux-source-6.1 only the few files we need
#    (kselftest harness, lib.mk, checkpatch.pl); the whole source is
#    unpacked by scripts/debug-kernel.sh, which builds the debug kernel
#    (bc, bison, flex, libelf-dev, libssl-dev),
#  - virtme-ng, which Debian has only in trixie: downloaded and unpacked into
#    the cache, never installed (installing it would upgrade python3).
#
# The cache (KHYP_CACHE, default /var/cache/khyp) holds the unpacked files.
set -euo pipefail

CACHE=${KHYP_CACHE:-/var/cache/khyp}
export DEBIAN_FRONTEND=noninteractive

log() { echo "install-deps: $*" >&2; }

PKGS=(build-essential bc bison flex libelf-dev libssl-dev kmod cpio xz-utils
      zstd lz4 sparse
      linux-image-amd64 linux-headers-amd64 linux-headers-6.12-amd64
      linux-source-6.1
      qemu-system-x86 bochs bochsbios vgabios
      grub-pc-bin grub-common xorriso mtools
      busybox-static python3-requests python3-argcomplete
      clang libclang-rt-14-dev acpica-tools
      dkms dh-dkms debhelper lintian fakeroot dpkg-dev adduser udev util-linux
      time)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done

# Debian trixie is needed for virtme-ng alone.  Pin it low first so that no
# install ever takes anything else from it (PLATFORM.md: an unpinned trixie
# upgraded libc6).
if [ ! -f /etc/apt/preferences.d/khyp-trixie ]; then
	cat > /etc/apt/preferences.d/khyp-trixie <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
fi
if [ ! -f /etc/apt/sources.list.d/khyp-trixie.list ]; then
	echo "deb http://deb.debian.org/debian trixie main" \
		> /etc/apt/sources.list.d/khyp-trixie.list
	need_update=1
fi

if [ ${#missing[@]} -gt 0 ] || [ -n "${need_update:-}" ]; then
	log "apt-get update"
	apt-get update -q >/dev/null
fi
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$CACHE"

# A few files from linux-source-6.1 (the tarball is ~139 MB: extract once).
SRC=$CACHE/linux-source-6.1
if [ ! -f "$SRC/.done" ]; then
	log "extracting kselftest and checkpatch files from linux-source-6.1"
	rm -rf "$SRC"; mkdir -p "$SRC"
	tar -C "$SRC" --strip-components=1 -xJf /usr/src/linux-source-6.1.tar.xz \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h \
		linux-source-6.1/tools/testing/selftests/lib.mk \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch \
		linux-source-6.1/scripts/extract-vmlinux
	touch "$SRC/.done"
fi

# virtme-ng from trixie, unpacked into the cache.
VNG=$CACHE/virtme-ng
if [ ! -x "$VNG/usr/bin/vng" ]; then
	log "unpacking virtme-ng from trixie"
	rm -rf "$VNG" "$CACHE/debs"; mkdir -p "$VNG" "$CACHE/debs"
	(cd "$CACHE/debs" && apt-get download -q -t trixie virtme-ng >/dev/null)
	for d in "$CACHE"/debs/*.deb; do dpkg-deb -x "$d" "$VNG"; done
fi
log "ok"
