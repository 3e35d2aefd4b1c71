#!/usr/bin/env bash
# Compares two builds of the package on a noisy machine by alternating them (A B A B ...)
# in one session, and prints, per benchmark, the median of each build's actor/chan ratio
# and the median of the paired B/A ratios of the actor's time, with their min and max.
# Usage: bench/ab.sh A.test B.test 'BenchRegexp' [runs]   (test binaries from go test -c)
set -euo pipefail
a=$1 b=$2 pat=$3 runs=${4:-6}
out=$(mktemp)
for i in $(seq "$runs"); do
	for v in A B; do
		bin=$a; [ "$v" = B ] && bin=$b
		"$bin" -test.run '^$' -test.bench "$pat" -test.benchmem -test.count 1 |
			awk -v v="$v" -v i="$i" '/^Benchmark/ {print v, i, $1, $3}' >>"$out"
	done
done
printf "%-32s %10s %10s %12s %8s %8s\n" benchmark "A act/base" "B act/base" "B/A actor" min max
awk '
function median(arr, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j-1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j-1]; arr[j-1] = t }
	return n % 2 ? arr[(n+1)/2] : (arr[n/2] + arr[n/2+1]) / 2
}
{
	name = $3; sub(/-[0-9]+$/, "", name)
	impl = name; sub(/.*impl=/, "", impl); base = name; sub(/\/impl=.*/, "", base)
	t[$1, $2, base, impl] = $4; bases[base] = 1; runs[$2] = 1
}
END {
	for (base in bases) {
		na = nb = np = 0
		for (r in runs) {
			other = (("A", r, base, "chan") in t) ? "chan" : "goroutine"
			if (("A", r, base, "actor") in t && ("A", r, base, other) in t) ra[++na] = t["A", r, base, "actor"] / t["A", r, base, other]
			if (("B", r, base, "actor") in t && ("B", r, base, other) in t) rb[++nb] = t["B", r, base, "actor"] / t["B", r, base, other]
			if (("A", r, base, "actor") in t && ("B", r, base, "actor") in t) { p[++np] = t["B", r, base, "actor"] / t["A", r, base, "actor"] }
		}
		lo = hi = p[1]; for (k = 1; k <= np; k++) { if (p[k] < lo) lo = p[k]; if (p[k] > hi) hi = p[k] }
		printf "%-32s %10.2f %10.2f %12.2f %8.2f %8.2f\n", base, median(ra, na), median(rb, nb), median(p, np), lo, hi
		delete ra; delete rb; delete p
	}
}' "$out" | sort
rm -f "$out"
