#!/usr/bin/env bash
# scripts/gencount.sh: issue 16's product path, `generate` -> `count` (two
# `topo apply` processes, generate binding a PUSH on tcp://127.0.0.1:PORT and
# count connecting a PULL) against libzmq's cbench push -> cbench pull, the
# two interleaved in every repetition (which goes first alternates), at each
# size in SIZES; count's own msgs/s (from its first message) and cbench's.
#
# Usage: REPS=5 scripts/gencount.sh        # SIZES="65536 1048576", N64K, N1M
#        SIZES=1024 N=1000000 scripts/gencount.sh
# Needs go, cc, libzmq3-dev. Ports from PORT_BASE (28300), every process
# under `timeout` (TMO, 90 s); results: one line per run on stdout, then per
# size the medians and the median of the per-repetition ratios topo ÷ libzmq.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=${REPS:-3}
SIZES=${SIZES:-"65536 1048576"}
PORT=${PORT_BASE:-28300}
TMO=${TMO:-90}
WORK=$(mktemp -d /tmp/topo-gencount.XXXXXX)
trap 'pkill -P $$ 2>/dev/null; rm -rf "$WORK"' EXIT
(cd "$ROOT" && go build -o "$WORK/topo" ./cmd/topo) || exit 1
cc -O2 -o "$WORK/cbench" "$ROOT/../shared/zmqbench/cbench/cbench.c" -lzmq -lpthread || exit 1
cat >"$WORK/gen.hcl" <<'HCL'
variable "n" { type = number }
variable "size" { type = number }
variable "ep" { type = string }
node "gen" {
  type     = "generate"
  messages = var.n
  size     = var.size
  socket "out" {
    type = "PUSH"
    bind = [var.ep]
  }
}
HCL
cat >"$WORK/count.hcl" <<'HCL'
variable "n" { type = number }
variable "ep" { type = string }
node "sink" {
  type   = "count"
  expect = var.n
  socket "in" {
    type    = "PULL"
    connect = [var.ep]
  }
}
HCL
count_for() { # messages per run at a size
	case $1 in
	65536) echo "${N64K:-20000}" ;; 1048576) echo "${N1M:-2000}" ;; *) echo "${N:-200000}" ;;
	esac
}
run() { # run IMPL SIZE N: prints msgs/s
	PORT=$((PORT + 1))
	local ep=tcp://127.0.0.1:$PORT
	if [ "$1" = topo ]; then
		timeout "$TMO" "$WORK/topo" apply -var n="$3" -var size="$2" -var ep="$ep" "$WORK/gen.hcl" >/dev/null 2>&1 &
		local g=$!
		sleep 0.2
		timeout "$TMO" "$WORK/topo" apply -var n="$3" -var ep="$ep" "$WORK/count.hcl" 2>/dev/null |
			sed -n 's/.*Received [0-9]* messages in [0-9.]* s (\([0-9]*\) msgs\/s).*/\1/p'
		wait "$g"
	else
		timeout "$TMO" "$WORK/cbench" -role pull -bind -ep "$ep" -n "$3" -size "$2" >"$WORK/pull.json" &
		local p=$!
		sleep 0.2
		timeout "$TMO" "$WORK/cbench" -role push -ep "$ep" -n "$3" -size "$2" >/dev/null
		wait "$p"
		sed -n 's/.*"msgs_per_s":\([0-9.]*\).*/\1/p' "$WORK/pull.json"
	fi
}
echo "# load at start: $(cut -d' ' -f1-3 /proc/loadavg); built from $(cd "$ROOT" && git rev-parse --short HEAD)"
: >"$WORK/res"
for size in $SIZES; do
	n=$(count_for "$size")
	for rep in $(seq 1 "$REPS"); do
		order="topo libzmq"
		[ $((rep % 2)) = 0 ] && order="libzmq topo"
		for impl in $order; do
			r=$(run "$impl" "$size" "$n")
			echo "size=$size rep=$rep impl=$impl msgs_per_s=${r:-FAILED}"
			echo "$size $rep $impl ${r:-0}" >>"$WORK/res"
		done
	done
done
echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$WORK/res" <<'PY'
import collections, statistics, sys
d = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    size, rep, impl, r = line.split()
    d[int(size)].setdefault(impl, {})[rep] = float(r)
print("| size | topo msgs/s (median) | libzmq msgs/s (median) | topo ÷ libzmq per repetition | median |")
print("|---|---|---|---|---|")
for size in sorted(d):
    t, c = d[size]["topo"], d[size]["libzmq"]
    ratios = [t[k] / c[k] for k in sorted(t, key=int) if c.get(k)]
    print(f"| {size} | {statistics.median(t.values()):,.0f} | {statistics.median(c.values()):,.0f} | "
          f"{', '.join(f'{x:.2f}' for x in ratios)} | {statistics.median(ratios):.2f}× |")
PY
