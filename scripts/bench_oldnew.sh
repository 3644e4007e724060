#!/usr/bin/env bash
# scripts/bench_oldnew.sh OLD_TREE: topo's rows of scripts/bench.sh (PUSH→PULL
# tcp 16 B and 1 KiB, PUB→SUB tcp with a prefix filter, REQ/REP tcp, PUSH→PULL
# inproc), run with the internal/bench binary of another checkout of topo
# (old) against this tree's (new), interleaved: every row runs old and new
# back to back, and which goes first alternates from one repetition to the
# next. Each tcp row is two processes, as in scripts/bench.sh (zmqbench's
# pair/single helpers, the same commands and sizes).
#
# Usage: REPS=10 scripts/bench_oldnew.sh ../old    # needs go; N, NLAT as in bench.sh
#        ROWS="pushpull-16 pushpull-1024" REPS=60 scripts/bench_oldnew.sh ../old   # some rows
#
# Results: internal/bench/results/oldnew-TS.jsonl (raw, labels
# "test=...;rep=...;impl=old|new") and oldnew-TS.md (per row: medians, and
# the median of the per-repetition ratios new ÷ old).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OLD=$(cd "${1:?usage: bench_oldnew.sh OLD_TREE}" && pwd) || exit 1
ZB_SRC=${ZMQBENCH:-$ROOT/../shared/zmqbench}
REPS=${REPS:-10}
N=${N:-1000000}
NLAT=${NLAT:-20000}
ROWS=${ROWS:-"pushpull-16 pushpull-1024 pubsub-16-filter reqrep-16 inproc-pushpull-16"}
TS=$(date +%Y%m%d-%H%M%S)
OUTDIR=${OUTDIR:-$ROOT/internal/bench/results}
mkdir -p "$OUTDIR"
OUT=$OUTDIR/oldnew-$TS.jsonl
WORK=$(mktemp -d /tmp/topo-oldnew.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PORT_BASE=${PORT_BASE:-24900} # outside Linux's ephemeral range; never 5555-5558
. "$ZB_SRC/lib.sh"
cd "$WORK" && mkdir tmp || exit 1
(cd "$OLD" && go build -o "$WORK/old" ./internal/bench) || exit 1
(cd "$ROOT" && go build -o "$WORK/new" ./internal/bench) || exit 1
from() { (cd "$1" && echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- runtime internal/bench || echo ' + uncommitted changes')"); }
BUILT="old $(from "$OLD"), new $(from "$ROOT"), built $(date -u +%H:%M) UTC"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$OUT"
echo "# writing $OUT (REPS=$REPS N=$N NLAT=$NLAT ROWS=$ROWS; $BUILT)"
row() { # row TEST REP: old and new, in the repetition's order
	local order="old new"
	[ $(($2 % 2)) = 0 ] && order="new old"
	for impl in $order; do
		T=$WORK/$impl
		case $1 in
		pushpull-*) nextep; pair "$1" "$2" $impl first "$T -role pull -bind -ep $EP -n $N -size ${1#pushpull-}" "$T -role push -ep $EP -n $N -size ${1#pushpull-}" ;;
		pubsub-16-filter) nextep; pair "$1" "$2" $impl second "$T -role pub -bind -settle 1s -ep $EP -n $N" "$T -role sub -ep $EP -n $N" ;;
		reqrep-16) nextep; pair "$1" "$2" $impl second "$T -role rep -bind -ep $EP -n $NLAT" "$T -role req -ep $EP -n $NLAT" ;;
		inproc-pushpull-16) single "$1" "$2" $impl "$T -role inproc-pushpull -n $N" ;;
		esac
	done
}
for rep in $(seq 1 "$REPS"); do
	for t in $ROWS; do
		row $t "$rep"
	done
done
MD=${OUT%.jsonl}.md
{
	echo "# old against new, run $TS"
	echo
	echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r); $(go version)"
	echo "- $BUILT"
	echo "- load average (1/5/15 min) at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- REPS=$REPS N=$N NLAT=$NLAT ROWS=\"$ROWS\"; raw results: $(basename "$OUT")"
	echo
	python3 "$ROOT/scripts/bench_summary.py" -oldnew "$OUT"
} >"$MD"
cat "$MD"
