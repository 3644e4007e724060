#!/usr/bin/env bash
# scripts/bench.sh: topo's sockets (internal/bench) side by side with
# ../shared/zmqbench — zmq4 v0.17.0 (gobench), libzmq 4.3.4 from C (cbench) and
# from pyzmq (pybench), and raw Go net.Conn baselines — in ONE run, loopback
# only, same process-pair method as zmqbench's run.sh (each side of a tcp test
# is its own process; the measuring side prints one JSON line).
#
# Usage (from anywhere; needs go, cc, libzmq3-dev, python3-zmq):
#   scripts/bench.sh                       # REPS=1 N=1000000 NLAT=20000
#   REPS=3 scripts/bench.sh                # medians of 3
#   IMPLS="topo libzmq-C" scripts/bench.sh # a subset (topo zmq4 libzmq-C pyzmq raw-go)
#   GOBENCH=0 scripts/bench.sh             # skip `go test -bench` in runtime/socket
#   CURVE=1 scripts/bench.sh               # also PUSH->PULL 16 B and 1 KiB over CURVE,
#                                          # topo and libzmq-C (cbench-curves: zmqbench's
#                                          # cbench has no CURVE); scripts/curves.sh curve
#                                          # adds plaintext pairs and handshakes/s
#
# zmqbench is copied to a temp dir (it writes bin/, tmp/ into its own folder
# and ../shared is read-only). Results: internal/bench/results/run-TS.jsonl
# (raw), run-TS.md (table + machine), gotest-bench-TS.txt (go test -bench).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ZB_SRC=${ZMQBENCH:-$ROOT/../shared/zmqbench}
REPS=${REPS:-1}
N=${N:-1000000}
NLAT=${NLAT:-20000}
IMPLS=${IMPLS:-"topo zmq4 libzmq-C pyzmq raw-go"}
GOBENCH=${GOBENCH:-1}
CURVE=${CURVE:-0}
BENCHTIME=${BENCHTIME:-1s}
TS=$(date +%Y%m%d-%H%M%S)
OUTDIR=${OUTDIR:-$ROOT/internal/bench/results}
mkdir -p "$OUTDIR"
OUT=$OUTDIR/run-$TS.jsonl
export PATH="$PATH:/usr/local/go/bin"

WORK=$(mktemp -d /tmp/topo-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp -r "$ZB_SRC" "$WORK/zmqbench"
chmod -R u+w "$WORK/zmqbench"
cd "$WORK/zmqbench" || exit 1
rm -rf bin tmp results
PORT_BASE=${PORT_BASE:-23700} # outside Linux's ephemeral range; never 5555-5558
. ./lib.sh
echo "# building zmqbench (gobench, cbench) in $WORK and topo's internal/bench"
build || exit 1
(cd "$ROOT" && go build -o "$WORK/zmqbench/bin/topobench" ./internal/bench) || exit 1
if [ "$CURVE" = 1 ]; then
	cc -O2 -Wall -o "$WORK/zmqbench/bin/cbench-curves" "$ROOT/internal/bench/cbench-curves/cbench_curves.c" -lzmq -lpthread || exit 1
fi
# what the topo binary was built from (others may commit while this runs)
BUILT_FROM="$(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- runtime/socket internal/bench || echo ' + uncommitted changes in runtime/socket or internal/bench') at $(date +%H:%M:%S)"
pick_python || exit 1

has() { [[ " $IMPLS " == *" $1 "* ]]; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T=bin/topobench G=bin/gobench C=bin/cbench P="$PY pybench/pybench.py"
: >"$OUT"
echo "# writing $OUT (REPS=$REPS N=$N NLAT=$NLAT IMPLS=$IMPLS)"
for rep in $(seq 1 "$REPS"); do
	for size in 16 1024; do
		t=pushpull-$size
		has topo && { nextep; pair $t $rep topo first "$T -role pull -bind -ep $EP -n $N -size $size" "$T -role push -ep $EP -n $N -size $size"; }
		has zmq4 && { nextep; pair $t $rep zmq4 first "$G -role pull -bind -ep $EP -n $N -size $size" "$G -role push -ep $EP -n $N -size $size"; }
		has libzmq-C && { nextep; pair $t $rep libzmq-C first "$C -role pull -bind -ep $EP -n $N -size $size" "$C -role push -ep $EP -n $N -size $size"; }
		has pyzmq && { nextep; pair $t $rep pyzmq first "$P -role pull -bind -ep $EP -n $N -size $size" "$P -role push -ep $EP -n $N -size $size"; }
		has raw-go && { nextep; pair $t $rep raw-go-unbuffered first "$G -role raw-recv -ep $EP -n $N -size $size" "$G -role raw-send -ep $EP -n $N -size $size"; }
		has raw-go && { nextep; pair $t $rep raw-go-bufio first "$G -role raw-recv -buffered -ep $EP -n $N -size $size" "$G -role raw-send -buffered -ep $EP -n $N -size $size"; }
		if [ "$CURVE" = 1 ]; then
			t=curve-pushpull-$size CC=bin/cbench-curves
			has topo && { nextep; pair $t $rep topo first "$T -role pull -bind -ep $EP -n $N -size $size -curve server" "$T -role push -ep $EP -n $N -size $size -curve client"; }
			has libzmq-C && { nextep; pair $t $rep libzmq-C first "$CC -role pull -bind -ep $EP -n $N -size $size -curve server" "$CC -role push -ep $EP -n $N -size $size -curve client"; }
		fi
	done
	# PUB binds and alternates topics wx/zz; SUB connects with prefix filter "wx"
	t=pubsub-16-filter
	has topo && { nextep; pair $t $rep topo second "$T -role pub -bind -settle 1s -ep $EP -n $N" "$T -role sub -ep $EP -n $N"; }
	has zmq4 && { nextep; pair $t $rep zmq4 second "$G -role pub -bind -settle 1s -linger 60s -ep $EP -n $N" "$G -role sub -ep $EP -n $N"; }
	has libzmq-C && { nextep; pair $t $rep libzmq-C second "$C -role pub -bind -settle-ms 1000 -ep $EP -n $N" "$C -role sub -ep $EP -n $N"; }
	has pyzmq && { nextep; pair $t $rep pyzmq second "$P -role pub -bind -settle-ms 1000 -ep $EP -n $N" "$P -role sub -ep $EP -n $N"; }
	t=reqrep-16
	has topo && { nextep; pair $t $rep topo second "$T -role rep -bind -ep $EP -n $NLAT" "$T -role req -ep $EP -n $NLAT"; }
	has zmq4 && { nextep; pair $t $rep zmq4 second "$G -role rep -bind -ep $EP -n $NLAT" "$G -role req -ep $EP -n $NLAT"; }
	has libzmq-C && { nextep; pair $t $rep libzmq-C second "$C -role rep -bind -ep $EP -n $NLAT" "$C -role req -ep $EP -n $NLAT"; }
	has pyzmq && { nextep; pair $t $rep pyzmq second "$P -role rep -bind -ep $EP -n $NLAT" "$P -role req -ep $EP -n $NLAT"; }
	has raw-go && { nextep; pair $t $rep raw-go second "$G -role raw-rep -ep $EP -n $NLAT" "$G -role raw-req -ep $EP -n $NLAT"; }
	t=inproc-pushpull-16
	has topo && single $t $rep topo "$T -role inproc-pushpull -n $N"
	has zmq4 && single $t $rep zmq4 "$G -role inproc-pushpull -n $N"
	has libzmq-C && single $t $rep libzmq-C "$C -role inproc-pushpull -n $N"
done

MD=${OUT%.jsonl}.md
{
	echo "# bench run $TS"
	echo
	echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r)"
	echo "- $(go version); libzmq $($PY -c 'import zmq; print(zmq.zmq_version())'), pyzmq $($PY -c 'import zmq; print(zmq.__version__)')"
	echo "- topo bench binary built from $BUILT_FROM"
	echo "- load average (1/5/15 min) at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- REPS=$REPS N=$N NLAT=$NLAT; raw results: $(basename "$OUT")"
	echo
	python3 "$ROOT/scripts/bench_summary.py" "$OUT"
} >"$MD"
cat "$MD"

if [ "$GOBENCH" = 1 ] && grep -qs '^func Benchmark' "$ROOT"/runtime/socket/*_test.go; then
	GB=$OUTDIR/gotest-bench-$TS.txt
	echo "# go test -run XXX -bench . -benchmem -benchtime $BENCHTIME ./runtime/socket/ > $GB"
	(cd "$ROOT" && timeout 600 go test -run XXX -bench . -benchmem -benchtime "$BENCHTIME" -count 1 ./runtime/socket/) 2>&1 | tee "$GB"
fi
