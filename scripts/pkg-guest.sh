#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the emulated machine of scripts/pkg-test.sh (virtme-ng: the
# host's root, where the khyp and khyp-dkms packages are installed, is this
# machine's root): khyp as a user gets it from the packages.
#
#   - modprobe finds khyp.ko where DKMS installed it (updates/dkms) and loads
#     it,
#   - udevd applied the package's rule: /dev/khyp is group khyp, mode 0660
#     (udevd restarted as distributions run it: see below),
#   - the packaged launcher /usr/bin/khyp runs guests/hello as USER (not
#     root, a member of the group khyp through /etc/group): status 33 and
#     the greeting,
#   - a user outside the group gets EACCES from /dev/khyp (the rule, not
#     something else, is what let USER in).
#
# Report: KHYP-BEGIN, "ok N desc" / "not ok N desc" lines, KHYP-END.
# Usage: pkg-guest.sh MACHINE REPORT TESTDIR USER  (TESTDIR: selftests/)

machine=$1 report=$2 top=$(cd "$3/.." && pwd) user=$4
n=0

check() {	# description command...
	local desc=$1
	shift
	n=$((n + 1))
	if "$@"; then echo "ok $n $desc"; else echo "not ok $n $desc"; fi
}

in_dkms_tree() { case $(modinfo -n khyp 2>&1) in */updates/dkms/khyp.ko*) return 0 ;; esac; return 1; }
dev_is() { [ "$(stat -c '%G %a' /dev/khyp 2>&1)" = "$1" ]; }
hello_ok() { [ "$hello_rc" = 33 ] && grep -q "Hello from a khyp guest" /tmp/khyp-pkg-hello.out; }
denied() { [ "$deny_rc" = 1 ] && grep -qi "permission denied" /tmp/khyp-pkg-deny.out; }

run() {
	echo "KHYP-BEGIN $machine $(uname -r)"
	echo "# modinfo -n khyp: $(modinfo -n khyp 2>&1)"
	# virtme-ng starts udevd with --resolve-names=never, which drops rules
	# that name a group (GROUP="khyp").  A distribution's udevd resolves
	# names (the default): restart it that way, with the same rules.
	udevadm control --exit
	for udevd in /lib/systemd/systemd-udevd /usr/lib/systemd/systemd-udevd; do
		[ -x "$udevd" ] && break
	done
	"$udevd" --daemon 2>&1 | sed 's/^/# udevd: /'
	echo "# udevd: $(pgrep -a udevd || echo none)"
	# virtme-ng's udev loads KVM for the SVM CPU: khyp and KVM exclude
	# each other.
	modprobe -r kvm_amd kvm_intel kvm 2>/dev/null
	check "modprobe resolves khyp to the DKMS module (updates/dkms)" in_dkms_tree
	check "modprobe khyp" modprobe khyp
	udevadm settle --timeout=30
	echo "# /dev/khyp: $(stat -c '%U %G %a' /dev/khyp 2>&1)"
	check "/dev/khyp is group khyp, mode 0660 (the package's udev rule)" \
		dev_is "khyp 660"
	# The guest image where a user who is not root may read it.
	install -m 644 "$top/guests/hello" /tmp/khyp-pkg-hello
	echo "# $user: $(id "$user" 2>&1)"
	setpriv --reuid="$user" --regid=nogroup --init-groups \
		/usr/bin/khyp run /tmp/khyp-pkg-hello > /tmp/khyp-pkg-hello.out 2>&1
	hello_rc=$?
	sed 's/^/# hello: /' /tmp/khyp-pkg-hello.out
	check "/usr/bin/khyp run guests/hello as $user (group khyp): status 33 (got $hello_rc)" \
		hello_ok
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		/usr/bin/khyp run /tmp/khyp-pkg-hello > /tmp/khyp-pkg-deny.out 2>&1
	deny_rc=$?
	sed 's/^/# nobody: /' /tmp/khyp-pkg-deny.out
	check "nobody (not in group khyp) cannot open /dev/khyp (status $deny_rc)" denied
	check "modprobe -r khyp" modprobe -r khyp
	rm -f /tmp/khyp-pkg-hello /tmp/khyp-pkg-hello.out /tmp/khyp-pkg-deny.out
	echo "KHYP-END"
}

run > "$report" 2>&1
