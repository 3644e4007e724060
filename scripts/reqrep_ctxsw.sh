#!/usr/bin/env bash
# scripts/reqrep_ctxsw.sh IMPL K PORT (expects /tmp/rr-topo from ./internal/bench and /tmp/rr-c from cbench-curves): context switches per round trip, server (all threads) and client
impl=$1 k=$2 port=$3 EP=tcp://127.0.0.1:$port
if [ $impl = topo ]; then
  /tmp/rr-topo -role rep -bind -ep $EP -n 100000000 -warmup 0 -idle 30s >/dev/null 2>&1 & sp=$!
  sleep 0.3
  cmd="/tmp/rr-topo -role req-many -conns $k -ep $EP -n 20000 -warmup 2000 -settle 0s"
else
  /tmp/rr-c -role rep -bind -ep $EP -n 100000000 -warmup 0 -idle-ms 30000 >/dev/null 2>&1 & sp=$!
  sleep 0.3
  cmd="/tmp/rr-c -role req-many -conns $k -ep $EP -n 20000 -warmup 2000"
fi
sum() { cat /proc/$sp/task/*/status 2>/dev/null | awk -v f=$1 '$1==f":"{s+=$2} END{print s}'; }
v0=$(sum voluntary_ctxt_switches); n0=$(sum nonvoluntary_ctxt_switches)
out=$(perf stat -x, -e context-switches,cpu-migrations -o /tmp/rr-perf.$$ $cmd 2>/dev/null | tail -1)
v1=$(sum voluntary_ctxt_switches); n1=$(sum nonvoluntary_ctxt_switches)
thr=$(ls /proc/$sp/task | wc -l)
kill $sp; wait $sp 2>/dev/null
ccs=$(grep context-switches /tmp/rr-perf.$$ | cut -d, -f1); rm -f /tmp/rr-perf.$$
python3 - "$impl" "$k" "$out" "$((v1-v0))" "$((n1-n0))" "$ccs" "$thr" <<'PY'
import sys,json
impl,k,out,v,n,ccs,thr=sys.argv[1:]
d=json.loads(out) if out.strip().startswith('{') else {}
rt=d.get('n') or d.get('count') or 22000
keys={kk:d[kk] for kk in d if any(x in kk for x in ('p50','p99','per_sec','rate','n'))}
print(impl,k,'server vol/rt %.2f invol/rt %.2f threads %s | client cs/rt %.2f | %s'%(int(v)/22000,int(n)/22000,thr,int(ccs)/22000,json.dumps(keys)[:200]))
PY
