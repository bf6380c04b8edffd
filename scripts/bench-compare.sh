#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Do two results files of scripts/bench.sh agree?  For each workload that
# both have a ratio for (their "ratio W MEDIAN MIN MAX" lines), prints the
# two medians and their difference relative to the first, and marks the
# ones further apart than PCT percent (5 by default: issue 18's bound for
# two runs of `make bench` on one commit).  A workload with a ratio in
# one file only (it failed, or was not run, in the other) counts as
# apart.  Exit status 0 when every ratio is within PCT, 1 when one is
# not, 2 on bad use.
#
#   scripts/bench-compare.sh bench/results/A.txt bench/results/B.txt [PCT]
#
# Files of different machines or clocks are refused: their ratios do
# not measure the same thing.
set -uo pipefail

[ $# -ge 2 ] && [ $# -le 3 ] ||
	{ echo "usage: $0 FIRST.txt SECOND.txt [PCT]" >&2; exit 2; }
a=$1 b=$2 pct=${3:-5}
for f in "$a" "$b"; do
	[ -r "$f" ] || { echo "bench-compare: cannot read $f" >&2; exit 2; }
done
[[ $pct =~ ^[0-9]+([.][0-9]+)?$ ]] ||
	{ echo "bench-compare: bad PCT '$pct'" >&2; exit 2; }

machine() { sed -n '1s/^[^(]* on \([^ ]*\) (.*/\1/p' "$1"; }
clock() { sed -n 's/^clock: //p' "$1"; }
commit() { sed -n 's/^kernel .*khyp commit \([^ ]*\).*/\1/p' "$1"; }
if [ "$(machine "$a")" != "$(machine "$b")" ]; then
	echo "bench-compare: $a is of $(machine "$a"), $b of $(machine "$b")" >&2
	exit 2
fi
if [ "$(clock "$a")" != "$(clock "$b")" ]; then
	echo "bench-compare: the files were measured on different clocks" >&2
	exit 2
fi

ratios() { awk '$1 == "ratio" { print $2, $3 }' "$1" | LC_ALL=C sort -k1,1; }
echo "$(machine "$a"): $a ($(commit "$a")) against $b ($(commit "$b")); within $pct%?"
LC_ALL=C join -a1 -a2 -e - -o 0,1.2,2.2 <(ratios "$a") <(ratios "$b") |
awk -v pct="$pct" 'BEGIN { max = -1 } {
	n++
	if ($2 == "-" || $3 == "-") {
		printf "  %-24s %8s %8s  in one file only  OVER\n", $1, $2, $3
		over++; next
	}
	if ($2 > 0)
		d = ($3 - $2) / $2 * 100
	else
		d = ($3 == $2) ? 0 : 100
	ad = d < 0 ? -d : d
	far = ad > pct
	printf "  %-24s %8.4f %8.4f %+7.2f%%%s\n", $1, $2, $3, d, far ? "  OVER" : ""
	if (far) over++
	if (ad > max) { max = ad; maxw = $1 }
} END {
	if (!n) { print "  no ratio in either file"; exit 1 }
	printf "%d of %d ratios within %s%%", n - over, n, pct
	if (max >= 0)
		printf "; the largest difference %.2f%% (%s)", max, maxw
	printf "\n"
	exit over ? 1 : 0
}'
