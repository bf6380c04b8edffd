#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# khyp installed the way users install out-of-tree modules (issue 19), on
# this host for real (root; `make test` runs it):
#
#  1. `make install DESTDIR=T` then `make uninstall DESTDIR=T` leave T empty,
#     with the module installed by kbuild and by DKMS (MODULE_INSTALL=dkms);
#  2. `dpkg-buildpackage -us -uc -b` in a copy of the checkout gives khyp and
#     khyp-dkms; lintian finds no error;
#  3. `dpkg -i` of both: DKMS builds khyp.ko for every kernel with headers
#     (6.1 and 6.12 here); the module, launcher, man page, headers, udev rule,
#     modules-load.d entry and the group khyp are where they belong, and
#     modinfo shows the version, license, author and a described parameter;
#  4. with --machine: the svm-qemu machine (virtme-ng, this host's root)
#     loads khyp with modprobe and runs guests/hello as a non-root member
#     of the group khyp (scripts/pkg-guest.sh);
#  5. `dpkg --purge` of both: nothing of khyp is left (except the group
#     khyp, which Debian's convention keeps, as with kvm).
#
# Prints "pkg: <check>: ok" or "not ok" per check and ends with
# "N passed, N failed".  Refuses to run if khyp packages or DKMS trees are
# there already (it would remove someone's installation).
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
export KHYP_CACHE=${KHYP_CACHE:-/var/cache/khyp}
OUT=$TOP/build/test
PKG=$OUT/pkg
TESTUSER=khyp-pkgtest
machine=
[ "${1:-}" = --machine ] && machine=1

say() { echo "pkg: $*" >&2; }
die() { say "$*"; exit 1; }
. "$TOP/scripts/machines.sh"

PASSED=0 FAILED=0
ok() { echo "pkg: $1: ok"; PASSED=$((PASSED + 1)); }
notok() { echo "pkg: $1: not ok${2:+ ($2)}"; FAILED=$((FAILED + 1)); }
check() {	# description command...
	local d=$1
	shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}

# One package test on this host at a time (worktrees share dpkg and DKMS).
exec {PKG_LOCK_FD}>/tmp/khyp-pkg.lock
flock "$PKG_LOCK_FD"

leftovers() {	# what of khyp is on this host, one path a line
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' khyp khyp-dkms 2>/dev/null |
		grep -v '^un' | sed 's/^/package: /'
	ls -d /usr/src/khyp-* /var/lib/dkms/khyp /usr/bin/khyp \
	      /usr/share/man/man1/khyp.1* /usr/include/linux/khyp*.h \
	      /lib/udev/rules.d/60-khyp.rules /etc/modules-load.d/khyp.conf \
	      /lib/modules/*/updates/dkms/khyp.ko* 2>/dev/null
	grep -l '^updates/dkms/khyp\.ko' /lib/modules/*/modules.dep 2>/dev/null |
		sed 's/^/depmod: /'
	getent passwd "$TESTUSER" | sed 's/^/user: /'
}

cleanup() {
	dpkg --purge khyp khyp-dkms > "$PKG/purge-trap.log" 2>&1
	userdel "$TESTUSER" 2>/dev/null
}

[ "$(id -u)" = 0 ] || die "needs root (dpkg -i, DKMS)"
before=$(leftovers)
[ -z "$before" ] || die "khyp is installed on this host already: $before"
rm -rf "$PKG"; mkdir -p "$PKG"
start=$(date +%s)

# ---- 1. make install / uninstall into a staging tree -----------------------

KDIR61=/lib/modules/$KVER/build
make -s -C "$TOP" tool guests > "$PKG/build.log" 2>&1 ||
	{ cat "$PKG/build.log"; die "the launcher or the guests do not build"; }
for mode in kbuild dkms; do
	d=$PKG/destdir-$mode
	mkdir -p "$d"
	if make -C "$TOP" install MODULE_INSTALL=$mode DESTDIR="$d" \
		KDIR="$KDIR61" > "$PKG/install-$mode.log" 2>&1; then
		ok "make install DESTDIR (module by $mode)"
	else
		tail -20 "$PKG/install-$mode.log"
		notok "make install DESTDIR (module by $mode)" "$PKG/install-$mode.log"
	fi
	want="usr/local/bin/khyp usr/local/share/man/man1/khyp.1
	      usr/local/include/linux/khyp.h etc/udev/rules.d/60-khyp.rules
	      etc/modules-load.d/khyp.conf"
	if [ $mode = kbuild ]; then
		want="$want lib/modules/$KVER/updates/khyp.ko"
	else
		want="$want usr/src/khyp-0.1/dkms.conf usr/src/khyp-0.1/Kbuild
		      usr/src/khyp-0.1/khyp-version"
	fi
	missing=
	for f in $want; do [ -f "$d/$f" ] || missing="$missing $f"; done
	check "make install DESTDIR ($mode) put every file there${missing:+; missing:$missing}" \
		test -z "$missing"
	make -C "$TOP" uninstall MODULE_INSTALL=$mode DESTDIR="$d" \
		KDIR="$KDIR61" >> "$PKG/install-$mode.log" 2>&1
	left=$(cd "$d" && find . -mindepth 1 | head -5 | tr '\n' ' ')
	check "make uninstall DESTDIR ($mode) leaves an empty tree${left:+; left: $left}" \
		test -z "$left"
done

# ---- 2. the Debian packages -----------------------------------------------

# A copy of the checkout as git sees it (tracked and new files), so that
# dpkg-buildpackage writes its .debs into $PKG, not next to the checkout;
# the copy has no .git, so it gets the version string from khyp-version.
mkdir -p "$PKG/src"
(cd "$TOP" && git ls-files -co --exclude-standard -z |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	cpio -pdm0 --quiet "$PKG/src")
version=$(make -s -C "$TOP" version)
echo "$version" > "$PKG/src/khyp-version"
base=$(sed -n 's/^KHYP_BASE_VERSION := //p' "$TOP/Kbuild")
debver=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)
check "debian/changelog's version $debver is Kbuild's $base" test "$debver" = "$base"
if (cd "$PKG/src" && dpkg-buildpackage -us -uc -b) > "$PKG/dpkg-buildpackage.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	tail -20 "$PKG/dpkg-buildpackage.log"
	notok "dpkg-buildpackage -us -uc -b" "$PKG/dpkg-buildpackage.log"
fi
changes=$PKG/khyp_${debver}_amd64.changes
lintian --fail-on error "$changes" > "$PKG/lintian.log" 2>&1
lintian_rc=$?
sed 's/^/pkg: lintian: /' "$PKG/lintian.log"
check "lintian: no errors" test $lintian_rc = 0

# ---- 3. install on this host -----------------------------------------------

trap cleanup EXIT
if dpkg -i "$PKG/khyp-dkms_${debver}_all.deb" "$PKG/khyp_${debver}_amd64.deb" \
	> "$PKG/dpkg-i.log" 2>&1; then
	ok "dpkg -i khyp-dkms khyp"
else
	tail -30 "$PKG/dpkg-i.log"
	notok "dpkg -i khyp-dkms khyp" "$PKG/dpkg-i.log"
fi
for k in "$KVER" "$KVER612"; do
	ko=$(ls /lib/modules/"$k"/updates/dkms/khyp.ko* 2>/dev/null | head -1)
	check "DKMS built and installed khyp.ko for $k" test -n "$ko"
	check "depmod of $k knows khyp" grep -q '^updates/dkms/khyp\.ko' \
		/lib/modules/"$k"/modules.dep
	[ -n "$ko" ] || continue
	info=$(modinfo -k "$k" khyp 2>&1)
	echo "$info" | grep -E '^(filename|version|license|author|parm):' | sed "s/^/pkg: modinfo $k: /"
	check "modinfo ($k): version $version" \
		grep -qx "version: *$version" <<< "$info"
	check "modinfo ($k): license GPL, an author" \
		bash -c 'grep -qx "license: *GPL" <<< "$1" && grep -q "^author: *." <<< "$1"' - "$info"
	# Every parameter described, with its range and default.
	bad=$(grep '^parm:' <<< "$info" | grep -v '^parm: *[a-z_0-9]*:.*default' | tr '\n' ' ')
	check "modinfo ($k): every parameter says its range and default${bad:+: $bad}" \
		bash -c 'test -z "$1" && grep -q "^parm:" <<< "$2"' - "$bad" "$info"
done
for f in /usr/bin/khyp /usr/share/man/man1/khyp.1.gz /usr/include/linux/khyp.h \
	 /lib/udev/rules.d/60-khyp.rules /etc/modules-load.d/khyp.conf \
	 /usr/src/khyp-"$debver"/dkms.conf; do
	check "installed: $f" test -f "$f"
done
check "modules-load.d entry is off (commented)" \
	bash -c '! grep -qv "^#" /etc/modules-load.d/khyp.conf'
check "group khyp exists (postinst)" bash -c 'getent group khyp > /dev/null'
check "dkms status: khyp installed for $KVER and $KVER612" \
	bash -c 's=$(dkms status khyp 2>/dev/null); grep -q "$1.*installed" <<< "$s" &&
		grep -q "$2.*installed" <<< "$s"' - "$KVER" "$KVER612"
check "man khyp finds the page" bash -c 'man -w khyp | grep -q /usr/share/man/man1/khyp.1.gz'
# A kernel without headers: DKMS and khyp's own build both say so.
nohdr=$(dkms build -m khyp -v "$debver" -k 0.0.0-nohdr 2>&1)
echo "$nohdr" | grep -i headers | head -2 | sed 's/^/pkg: dkms: /'
check "dkms build for a kernel without headers fails, naming the headers" \
	grep -qi "headers" <<< "$nohdr"
nohdr=$(make -s -C /usr/src/khyp-"$debver" dkms-build KDIR=/lib/modules/0.0.0-nohdr/build 2>&1)
echo "$nohdr" | head -2 | sed 's/^/pkg: make dkms-build: /'
check "make dkms-build without headers names the package to install" \
	grep -q "apt install linux-headers-0.0.0-nohdr" <<< "$nohdr"

# ---- 4. in the machine -----------------------------------------------------

if [ -n "$machine" ]; then
	useradd --system --no-create-home --gid nogroup --groups khyp \
		--shell /usr/sbin/nologin "$TESTUSER"
	name=svm-qemu-pkg
	rm -rf "${OUT:?}/$name"; mkdir -p "$OUT/$name"
	say "$name: booting svm-qemu (virtme-ng) for the installed packages"
	t0=$(date +%s)
	emu_lock
	MACHINE_SCRIPT=pkg-guest.sh KO=/nonexistent \
		run_vng "$name" qemu64,+svm,+npt "$TESTUSER" none
	emu_unlock
	say "$name: done in $(( $(date +%s) - t0 )) s"
	report=$OUT/$name/report
	if grep -q '^KHYP-END' "$report" 2>/dev/null; then
		grep '^#' "$report" | sed "s/^/pkg: $name: /"
		while read -r res; do
			case $res in
			"ok "*) ok "$name: ${res#ok [0-9]* }" ;;
			"not ok "*) notok "$name: ${res#not ok [0-9]* }" ;;
			esac
		done < "$report"
		check "$name: all 6 checks reported" \
			test "$(grep -cE '^(not )?ok ' "$report")" = 6
	else
		notok "$name: the machine did not finish" "$OUT/$name/console.log"
	fi
	if grep -E 'WARNING:|BUG:|Oops|Call Trace' "$OUT/$name/console.log" | head -3 | grep .; then
		notok "$name: kernel log clean" "$OUT/$name/console.log"
	fi
	userdel "$TESTUSER"
fi

# ---- 5. remove --------------------------------------------------------------

if dpkg --purge khyp khyp-dkms > "$PKG/dpkg-purge.log" 2>&1; then
	ok "dpkg --purge khyp khyp-dkms"
else
	tail -20 "$PKG/dpkg-purge.log"
	notok "dpkg --purge khyp khyp-dkms" "$PKG/dpkg-purge.log"
fi
trap - EXIT
left=$(leftovers | tr '\n' ' ')
check "nothing of khyp left after purge${left:+: $left}" test -z "$left"

say "took $(( $(date +%s) - start )) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
