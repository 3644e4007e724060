#!/usr/bin/env bash
# scripts/nodes_ab.sh: the runtime's start and stop at N nodes, this tree
# against a git ref (BASE, default main), interleaved in one run: for each
# repetition and point, runtime.BenchmarkNodes once from each test binary
# (BASE's runtime package gets this tree's nodes_bench_test.go), the order
# of the two alternating; then medians per point. CPU time (user + system)
# is the figure to compare on a shared machine.
#
# Usage: BASE=9cbaf6d REPS=7 POINTS="tcp-1000 inproc-1000" scripts/nodes_ab.sh
# Raw lines: $OUTDIR/nodes-ab-TS.txt (default internal/bench/results).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE=${BASE:-main}
REPS=${REPS:-5}
POINTS=${POINTS:-"tcp-10 tcp-100 tcp-1000 tcp-2000 inproc-10 inproc-100 inproc-1000 inproc-2000"}
OUTDIR=${OUTDIR:-$ROOT/internal/bench/results}
TS=$(date +%Y%m%d-%H%M%S)
OUT=$OUTDIR/nodes-ab-$TS.txt
export PATH="$PATH:/usr/local/go/bin"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
WORK=$(mktemp -d /tmp/topo-nodes-ab.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUTDIR" "$WORK/base"
git -C "$ROOT" archive "$BASE" | tar -x -C "$WORK/base" || exit 1
cp "$ROOT/runtime/nodes_bench_test.go" "$WORK/base/runtime/" || exit 1
(cd "$WORK/base" && go test -c -o "$WORK/base.test" ./runtime) || exit 1
(cd "$ROOT" && go test -c -o "$WORK/head.test" ./runtime) || exit 1
HEAD_REV="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- runtime topology plugins || echo '+changes')"
{
	echo "# nodes A/B $TS: head $HEAD_REV, base $(git -C "$ROOT" rev-parse --short "$BASE"), REPS=$REPS"
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT"
for rep in $(seq 1 "$REPS"); do
	for p in $POINTS; do
		order="base head"
		[ $((rep % 2)) -eq 0 ] && order="head base"
		for impl in $order; do
			line=$(cd "$ROOT/runtime" && timeout 300 "$WORK/$impl.test" -test.run '^$' -test.bench "^BenchmarkNodes/$p\$" -test.benchtime 1x 2>&1 | grep '^BenchmarkNodes/')
			echo "$impl rep=$rep $line" | tee -a "$OUT"
		done
	done
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
python3 - "$OUT" <<'PY'
import re, statistics, sys
from collections import defaultdict
vals = defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"(base|head) rep=\d+ BenchmarkNodes/(\S+?)-\d+\s+\d+\s+\d+ ns/op\s+(.*)", line)
    if not m:
        continue
    impl, point, rest = m.groups()
    for v, unit in re.findall(r"([0-9.]+) (\S+)", rest):
        vals[(point, impl, unit)].append(float(v))
units = ["ms-to-running", "cpu-ms-to-running", "ms-shutdown", "cpu-ms-shutdown"]
points = sorted({k[0] for k in vals}, key=lambda p: (p.split("-")[0], int(p.split("-")[1])))
print("\n| point | " + " | ".join(f"base {u} | head {u} | head ÷ base" for u in units) + " |")
print("|---|" + "---|" * (3 * len(units)))
for p in points:
    row = [p]
    for u in units:
        b, h = vals.get((p, "base", u)), vals.get((p, "head", u))
        mb = statistics.median(b) if b else None
        mh = statistics.median(h) if h else None
        row += [f"{mb:.1f}" if mb is not None else "—", f"{mh:.1f}" if mh is not None else "—",
                f"{mh / mb:.2f}×" if mb and mh else "—"]
    print("| " + " | ".join(row) + " |")
PY
