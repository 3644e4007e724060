#!/usr/bin/env bash
# scripts/curves.sh: issue 16's cost curves, topo (internal/bench) side by side
# with libzmq 4.3.4 from C (internal/bench/cbench-curves, extended from
# ../shared/zmqbench's cbench) and, for message size, raw Go net.Conn (raw-go
# resends one buffer; raw-go-fill first copies the payload in, the fill
# topo's push makes for fresh data each message); every
# point alternates the implementations within one repetition.
#
# Usage (from anywhere; needs go, cc, libzmq3-dev):
#   scripts/curves.sh                 # every curve, REPS=1
#   REPS=3 scripts/curves.sh size peers
#   SUBS_POINTS="1 1000 10000 100000" scripts/curves.sh subs
#   CONNS_POINTS="10 10000" CONNS_N=3000000 scripts/curves.sh conns
#   BASE=main REPS=3 scripts/curves.sh size   # also topo built from git ref
#                                             # BASE (impl topo-base): before/after
#                                             # (size, conns, subs, nodes, reqrep,
#                                             # and peers: PUSH and flat-out PUB)
#   PEERS_POINTS="100" scripts/curves.sh peers  # peers points (1 10 100)
#   Curves: size peers conns subs nodes chain reqrep (docs/BENCHMARKS.md,
#   "Cost curves", says what each measures), and curve (issue 14: CURVE
#   PUSH->PULL at 16 B and 1 KiB against plaintext, and handshakes per
#   second from HS_CONNS (1000) connections; not in the default list);
#   TMO (90) bounds each process.
#
# Raw results: $OUTDIR/curves-TS.jsonl (default internal/bench/results), one
# JSON line per measuring process, labelled curve=..;point=..;impl=..;rep=..;
# then a Markdown table per curve (scripts/curves_summary.py) in curves-TS.md.
# Bounds: every process runs under `timeout`, every run has a message count;
# tcp ports from PORT_BASE (24700) up, outside 5555-5560 and Linux's
# ephemeral range; all started processes are killed on exit.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=${REPS:-1}
CURVES=${*:-"size peers conns subs nodes chain reqrep"}
TS=$(date +%Y%m%d-%H%M%S)
OUTDIR=${OUTDIR:-$ROOT/internal/bench/results}
mkdir -p "$OUTDIR"
OUT=$OUTDIR/curves-$TS.jsonl
export PATH="$PATH:/usr/local/go/bin"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/topo-curves.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# building internal/bench and cbench-curves in $WORK"
(cd "$ROOT" && go build -o "$WORK/topobench" ./internal/bench) || exit 1
cc -O2 -Wall -o "$WORK/cbench" "$ROOT/internal/bench/cbench-curves/cbench_curves.c" -lzmq -lpthread || exit 1
BUILT_FROM="$(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- runtime internal/bench plugins || echo ' + uncommitted changes')"
T=$WORK/topobench C=$WORK/cbench
B=""
if [ -n "${BASE:-}" ]; then
	echo "# building internal/bench from $BASE (impl topo-base, size, conns, subs, nodes, reqrep and peers curves)"
	mkdir -p "$WORK/base" && git -C "$ROOT" archive "$BASE" | tar -x -C "$WORK/base" || exit 1
	(cd "$WORK/base" && go build -o "$WORK/topobase" ./internal/bench) || exit 1
	B=$WORK/topobase
	BUILT_FROM="$BUILT_FROM, base $(git -C "$ROOT" rev-parse --short "$BASE")"
fi
TMO=${TMO:-90}

port=${PORT_BASE:-24700}
# nextep skips ports in use: PORT_BASE may lie in Linux's ephemeral range
# (32768-60999), where other processes' connections hold local ports and a
# bind to one fails with "address already in use".
nextep() {
	port=$((port + 1))
	while ss -Htan "sport = :$port" 2>/dev/null | grep -q .; do port=$((port + 1)); done
	EP="tcp://127.0.0.1:$port"
}

# run CURVE POINT IMPL MEAS GAP CMD...
#   Starts each CMD (under `timeout $TMO`) GAP seconds after the previous;
#   a CMD prefixed "@pattern@" starts only once an earlier command's stderr
#   contains pattern (idle peers connected). MEAS is the index (1-based) of
#   the command whose JSON line is kept; "M+A" also keeps command A's line
#   (labelled aux). The others are killed once MEAS has exited.
run() {
	local curve=$1 point=$2 impl=$3 meas=$4 gap=$5
	shift 5
	local aux=0
	if [[ $meas == *+* ]]; then aux=${meas#*+}; meas=${meas%+*}; fi
	local lab="curve=$curve;point=$point;impl=$impl;rep=$rep"
	local i=0 pids=() cmd k
	rm -f "$WORK"/*.out "$WORK"/*.err
	for cmd in "$@"; do
		i=$((i + 1))
		if [[ $cmd == @*@* ]]; then
			local pat=${cmd#@}; pat=${pat%%@*}; cmd=${cmd#@*@}
			for _ in $(seq 1 $((TMO * 10))); do cat "$WORK"/*.err 2>/dev/null | grep -qs "$pat" && break; sleep 0.1; done
		elif [ $i -gt 1 ]; then
			sleep "$gap"
		fi
		local l=""
		[ $i -eq "$meas" ] && l="-label $lab"
		[ $i -eq "$aux" ] && l="-label $lab;side=aux"
		timeout "$TMO" $cmd $l >"$WORK/$i.out" 2>"$WORK/$i.err" &
		pids+=($!)
		PIDS+=($!)
	done
	wait "${pids[$((meas - 1))]}"
	[ "$aux" -gt 0 ] && wait "${pids[$((aux - 1))]}"
	sleep 0.2
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait "${pids[@]}" 2>/dev/null
	PIDS=()
	for k in $meas $aux; do
		[ "$k" -gt 0 ] || continue
		if [ -s "$WORK/$k.out" ]; then
			tail -n1 "$WORK/$k.out" >>"$OUT"
		else
			printf '{"label":"%s","error":"no result: %s"}\n' "$lab" "$(head -c 200 "$WORK/$k.err" | tr '"\n\\' "'  ")" >>"$OUT"
		fi
		tail -n1 "$OUT" | cut -c1-200
	done
}

has() { [[ " $CURVES " == *" $1 "* ]]; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$OUT"
echo "# writing $OUT (REPS=$REPS curves: $CURVES)"
for rep in $(seq 1 "$REPS"); do
	if has size; then
		for size in 16 1024 16384 65536 1048576 16777216; do
			case $size in
			16) n=5000000 ;; 1024) n=1000000 ;; 16384) n=80000 ;; 65536) n=30000 ;; 1048576) n=2000 ;; *) n=100 ;;
			esac
			# with BASE, topo-base runs before topo in even repetitions
			base() { [ -n "$B" ] && { nextep; run size "$size" topo-base 1 0.3 "$B -role pull -bind -ep $EP -n $n -size $size" "$B -role push -ep $EP -n $n -size $size"; }; }
			[ $((rep % 2)) -eq 0 ] && base
			nextep; run size "$size" topo 1 0.3 "$T -role pull -bind -ep $EP -n $n -size $size" "$T -role push -ep $EP -n $n -size $size"
			[ $((rep % 2)) -eq 1 ] && base
			nextep; run size "$size" libzmq 1 0.3 "$C -role pull -bind -ep $EP -n $n -size $size" "$C -role push -ep $EP -n $n -size $size"
			nextep; run size "$size" raw-go 1 0.3 "$T -role raw-recv -ep $EP -n $n -size $size" "$T -role raw-send -ep $EP -n $n -size $size"
			# raw Go making the same per-message fill as topo's push (-reuse), at the sizes topo fills (1 KiB up)
			[ "$size" -ge 1024 ] && { nextep; run size "$size" raw-go-fill 1 0.3 "$T -role raw-recv -ep $EP -n $n -size $size" "$T -role raw-send -fill -ep $EP -n $n -size $size"; }
			ibase() { [ -n "$B" ] && run size-inproc "$size" topo-base 1 0 "$B -role inproc-pushpull -n $n -size $size"; }
			[ $((rep % 2)) -eq 0 ] && ibase
			run size-inproc "$size" topo 1 0 "$T -role inproc-pushpull -n $n -size $size"
			[ $((rep % 2)) -eq 1 ] && ibase
			run size-inproc "$size" libzmq 1 0 "$C -role inproc-pushpull -n $n -size $size"
		done
	fi
	if has peers; then
		for k in ${PEERS_POINTS:-1 10 100}; do
			# with BASE, topo-base runs before topo in even repetitions
			pbase() { [ -n "$B" ] && { nextep; run push-peers "$k" topo-base 2 0.3 "$B -role push -bind -ep $EP -n 1000000 -peers $k" "$B -role pull-many -conns $k -ep $EP -n 1000000"; }; }
			[ $((rep % 2)) -eq 0 ] && pbase
			nextep; run push-peers "$k" topo 2 0.3 "$T -role push -bind -ep $EP -n 1000000 -peers $k" "$T -role pull-many -conns $k -ep $EP -n 1000000"
			[ $((rep % 2)) -eq 1 ] && pbase
			nextep; run push-peers "$k" libzmq 2 0.3 "$C -role push -bind -ep $EP -n 1000000 -settle-ms 1000" "$C -role pull-many -conns $k -ep $EP -n 1000000"
			# flat out: delivered rate; n so that about 1M messages are delivered in all
			pn=$((2000000 / k))
			sbase() { [ -n "$B" ] && { nextep; run pub-peers "$k" topo-base 2 0.3 "$B -role pub -bind -ep $EP -n $pn -peers $k -settle 1s -size 32 -stamp" "$B -role sub-many -conns $k -ep $EP -n $pn -size 32"; }; }
			[ $((rep % 2)) -eq 0 ] && sbase
			nextep; run pub-peers "$k" topo 2 0.3 "$T -role pub -bind -ep $EP -n $pn -peers $k -settle 1s -size 32 -stamp" "$T -role sub-many -conns $k -ep $EP -n $pn -size 32"
			[ $((rep % 2)) -eq 1 ] && sbase
			nextep; run pub-peers "$k" libzmq 2 0.3 "$C -role pub -bind -ep $EP -n $pn -settle-ms 1500 -size 32 -stamp" "$C -role sub-many -conns $k -ep $EP -n $pn -size 32"
			# paced at 2,000 msgs/s (1,000 delivered per SUB per second): latency without a backlog
			nextep; run pub-peers-paced "$k" topo 2 0.3 "$T -role pub -bind -ep $EP -n 4000 -rate 2000 -peers $k -settle 1s -size 32 -stamp" "$T -role sub-many -conns $k -ep $EP -n 4000 -size 32"
			nextep; run pub-peers-paced "$k" libzmq 2 0.3 "$C -role pub -bind -ep $EP -n 4000 -rate 2000 -settle-ms 1500 -size 32 -stamp" "$C -role sub-many -conns $k -ep $EP -n 4000 -size 32"
		done
	fi
	if has conns; then
		# the idle peers come from two processes (libzmq needs two fds per
		# socket, and the hard limit here is 20,000 fds per process)
		# CONNS_N (300000) messages from the live peer: at 16 B that is a
		# window of about 0.1 s, so single points swing; more narrows them
		cn=${CONNS_N:-300000}
		for k in ${CONNS_POINTS:-10 1000 10000}; do
			h=$((k / 2))
			# with BASE, topo-base (both sides built from BASE) runs before
			# topo in even repetitions, after it in odd ones
			cbase() { [ -n "$B" ] && { nextep; run conns "$k" topo-base 1 0.3 "$B -role idle-hold -ep $EP -peers $k -n $cn -idle 30s" "$B -role idle-peers -ep $EP -conns $h -hold 80s" "$B -role idle-peers -ep $EP -conns $((k - h)) -hold 80s" "@idle peers@$B -role push -ep $EP -n $cn -settle 0s"; }; }
			[ $((rep % 2)) -eq 0 ] && cbase
			nextep; run conns "$k" topo 1 0.3 "$T -role idle-hold -ep $EP -peers $k -n $cn -idle 30s" "$T -role idle-peers -ep $EP -conns $h -hold 80s" "$T -role idle-peers -ep $EP -conns $((k - h)) -hold 80s" "@idle peers@$T -role push -ep $EP -n $cn -settle 0s"
			[ $((rep % 2)) -eq 1 ] && cbase
			nextep; run conns "$k" libzmq 1 0.3 "$C -role idle-hold -ep $EP -peers $k -n $cn -idle-ms 30000" "$C -role idle-peers -ep $EP -conns $h -hold-ms 80000" "$C -role idle-peers -ep $EP -conns $((k - h)) -hold-ms 80000" "@idle peers@$C -role push -ep $EP -n $cn -settle-ms 300"
		done
	fi
	if has subs; then
		# subscribing 100,000 prefixes takes topo about a second (it took
		# minutes while Subscribe rebuilt its filter per call); the larger
		# points send fewer messages and run under a longer bound
		for k in ${SUBS_POINTS:-1 1000 100000}; do
			st=$((1000 + k / 50)) sn=1000000 tmo=$TMO
			[ "$k" -gt 1000 ] && { sn=100000; tmo=$((TMO + 60)); }
			# with BASE, topo-base (both sides built from BASE) runs before
			# topo in even repetitions, after it in odd ones
			ubase() { [ -n "$B" ] && { nextep; TMO=$tmo run subs "$k" topo-base 2+1 0.3 "$B -role pub -bind -ep $EP -n $sn -settle ${st}ms -idle $((tmo - 5))s" "$B -role sub -ep $EP -n $sn -subs $k -idle $((tmo - 5))s"; }; }
			[ $((rep % 2)) -eq 0 ] && ubase
			nextep; TMO=$tmo run subs "$k" topo 2+1 0.3 "$T -role pub -bind -ep $EP -n $sn -settle ${st}ms -idle $((tmo - 5))s" "$T -role sub -ep $EP -n $sn -subs $k -idle $((tmo - 5))s"
			[ $((rep % 2)) -eq 1 ] && ubase
			nextep; TMO=$tmo run subs "$k" libzmq 2+1 0.3 "$C -role pub -bind -ep $EP -n $sn -settle-ms $st" "$C -role sub -ep $EP -n $sn -subs $k"
		done
	fi
	if has nodes; then
		# NODES_POINTS (10 100 1000 2000); with BASE, topo-base runs
		# before topo in even repetitions, after it in odd ones
		for k in ${NODES_POINTS:-10 100 1000 2000}; do
			for tr in tcp inproc; do
				nbase() { [ -n "$B" ] && run "nodes-$tr" "$k" topo-base 1 0 "$B -role topo-size -nodes $k -transport $tr -idle 60s"; }
				[ $((rep % 2)) -eq 0 ] && nbase
				run "nodes-$tr" "$k" topo 1 0 "$T -role topo-size -nodes $k -transport $tr -idle 60s"
				[ $((rep % 2)) -eq 1 ] && nbase
			done
		done
	fi
	if has chain; then
		for k in 1 5 20; do
			for tr in tcp inproc; do
				run "chain-$tr" "$k" topo 1 0 "$T -role proxy-chain -hops $k -transport $tr -n 300000"
				port=$((port + 30)); run "chain-$tr" "$k" libzmq 1 0 "$C -role proxy-chain -hops $k -transport $tr -n 300000 -ep tcp://127.0.0.1:$port"
				port=$((port + 30))
			done
		done
	fi
	if has curve; then
		# CURVE (issue 14): the same PUSH->PULL pair with and without
		# -curve, topo and libzmq alternating; then HS_CONNS idle CURVE
		# clients connect at once and the server reports the rate of
		# completed handshakes (first to last).
		for size in 16 1024; do
			case $size in 16) n=1000000 ;; *) n=300000 ;; esac
			for impl in topo libzmq; do
				B=$T
				[ $impl = libzmq ] && B=$C
				nextep; run curve-pushpull "$size" "$impl" 1 0.3 "$B -role pull -bind -ep $EP -n $n -size $size" "$B -role push -ep $EP -n $n -size $size"
				nextep; run curve-pushpull "$size" "$impl-curve" 1 0.3 "$B -role pull -bind -ep $EP -n $n -size $size -curve server" "$B -role push -ep $EP -n $n -size $size -curve client"
			done
		done
		hc=${HS_CONNS:-1000}
		for mode in curve plain; do
			cs="" cc=""
			[ $mode = curve ] && { cs="-curve server"; cc="-curve client"; }
			nextep; run handshakes "$mode" topo 1 0.3 "$T -role hs-accept -bind -ep $EP -conns $hc -idle 80s $cs" "$T -role idle-peers -ep $EP -conns $hc -hold 85s $cc"
			nextep; run handshakes "$mode" libzmq 1 0.3 "$C -role hs-accept -bind -ep $EP -conns $hc -idle-ms 80000 $cs" "$C -role idle-peers -ep $EP -conns $hc -hold-ms 85000 $cc"
		done
	fi
	if has reqrep; then
		for k in 1 10 100; do
			# with BASE, topo-base runs before topo in even repetitions
			rbase() { [ -n "$B" ] && { nextep; run reqrep "$k" topo-base 2 0.3 "$B -role rep -bind -ep $EP -n 100000000 -warmup 0 -idle 30s" "$B -role req-many -conns $k -ep $EP -n 20000 -warmup 2000 -settle 0s"; }; }
			[ $((rep % 2)) -eq 0 ] && rbase
			nextep; run reqrep "$k" topo 2 0.3 "$T -role rep -bind -ep $EP -n 100000000 -warmup 0 -idle 30s" "$T -role req-many -conns $k -ep $EP -n 20000 -warmup 2000 -settle 0s"
			[ $((rep % 2)) -eq 1 ] && rbase
			nextep; run reqrep "$k" libzmq 2 0.3 "$C -role rep -bind -ep $EP -n 100000000 -warmup 0 -idle-ms 30000" "$C -role req-many -conns $k -ep $EP -n 20000 -warmup 2000"
		done
	fi
done

MD=${OUT%.jsonl}.md
{
	echo "# cost curves $TS"
	echo
	echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r)"
	echo "- $(go version | cut -d' ' -f3-); libzmq $(printf '#include <zmq.h>\nZMQ_VERSION_MAJOR.ZMQ_VERSION_MINOR.ZMQ_VERSION_PATCH\n' | cc -E -P - | tail -n1 | tr -d ' ')"
	echo "- topo built from $BUILT_FROM"
	echo "- load average (1/5/15 min) at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- REPS=$REPS; raw results: $(basename "$OUT")"
	echo
	python3 "$ROOT/scripts/curves_summary.py" "$OUT"
} >"$MD"
cat "$MD"
