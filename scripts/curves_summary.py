#!/usr/bin/env python3
"""curves_summary.py FILE.jsonl: a Markdown table per cost curve from
scripts/curves.sh's raw results (median over repetitions).

Every ratio is "topo ahead" when above 1.0: topo ÷ libzmq for rates,
libzmq ÷ topo for latency, memory and time (lower is better there)."""
import json
import statistics
import sys
from collections import defaultdict

# curve -> (title, [(field, header, side, lower_is_better, scale, fmt)])
CURVES = {
    "size": ("PUSH→PULL tcp by message size (MB/s received)",
             [("mbit_per_s", "MB/s", "", False, 1 / 8, "{:.0f}")]),
    "size-inproc": ("PUSH→PULL inproc by message size (MB/s received)",
                    [("mbit_per_s", "MB/s", "", False, 1 / 8, "{:.0f}")]),
    "push-peers": ("PUSH to N PULL connections (one process holds the N PULLs): msgs/s received in all",
                   [("msgs_per_s", "msgs/s", "", False, 1, "{:,.0f}")]),
    "pub-peers": ("PUB to N SUB connections, flat out: delivered msgs/s in all",
                  [("msgs_per_s", "msgs/s", "", False, 1, "{:,.0f}")]),
    "pub-peers-paced": ("PUB to N SUB connections at 2,000 msgs/s (1,000/s per SUB match): send-to-receive latency",
                        [("p50_us", "p50 µs", "", True, 1, "{:.0f}"), ("p99_us", "p99 µs", "", True, 1, "{:.0f}")]),
    "conns": ("N idle peers connected to one PULL: memory per connection and one live PUSH's rate",
              [("rss_bytes_per_conn", "RSS B/conn", "", True, 1, "{:,.0f}"), ("msgs_per_s", "live msgs/s", "", False, 1, "{:,.0f}")]),
    "subs": ("N distinct prefixes on one SUB of one PUB (1M messages, 100k above 1,000 prefixes; half match): delivered rate and the PUB's memory",
             [("msgs_per_s", "msgs/s", "", False, 1, "{:,.0f}"), ("subscribe_s", "s to subscribe", "", True, 1, "{:.2g}"),
              ("rss_growth_kb", "PUB RSS growth KiB", "aux", True, 1, "{:,.0f}")]),
    "nodes-tcp": ("topology of N idle nodes over tcp (topo only)",
                  [("running_ms", "ms to running", "", True, 1, "{:.1f}"), ("running_cpu_ms", "CPU ms to running", "", True, 1, "{:.1f}"), ("rss_bytes_per_node", "RSS B/node", "", True, 1, "{:,.0f}"),
                   ("heap_bytes_per_node", "heap B/node", "", True, 1, "{:,.0f}"), ("shutdown_ms", "shutdown ms", "", True, 1, "{:.1f}"), ("shutdown_cpu_ms", "shutdown CPU ms", "", True, 1, "{:.1f}")]),
    "nodes-inproc": ("topology of N idle nodes over inproc (topo only)",
                     [("running_ms", "ms to running", "", True, 1, "{:.1f}"), ("running_cpu_ms", "CPU ms to running", "", True, 1, "{:.1f}"), ("rss_bytes_per_node", "RSS B/node", "", True, 1, "{:,.0f}"),
                      ("heap_bytes_per_node", "heap B/node", "", True, 1, "{:,.0f}"), ("shutdown_ms", "shutdown ms", "", True, 1, "{:.1f}"), ("shutdown_cpu_ms", "shutdown CPU ms", "", True, 1, "{:.1f}")]),
    "chain-tcp": ("generate → N proxy nodes → count over tcp vs N zmq_proxy threads in C (16 B, msgs/s)",
                  [("msgs_per_s", "msgs/s", "", False, 1, "{:,.0f}")]),
    "chain-inproc": ("generate → N proxy nodes → count over inproc vs N zmq_proxy threads in C (16 B, msgs/s)",
                     [("msgs_per_s", "msgs/s", "", False, 1, "{:,.0f}")]),
    "handshakes": ("HS_CONNS clients connecting at once to one PULL (both processes of one implementation): handshakes/s completed at the server, first to last",
                   [("handshakes_per_s", "handshakes/s", "", False, 1, "{:,.0f}")]),
    "reqrep": ("N concurrent REQ clients (one process) on one REP: latency and round trips/s",
               [("p50_us", "p50 µs", "", True, 1, "{:.0f}"), ("p99_us", "p99 µs", "", True, 1, "{:.0f}"),
                ("rtt_per_s", "rt/s", "", False, 1, "{:,.0f}")]),
}


def parse_label(s):
    return dict(kv.split("=", 1) for kv in s.split(";") if "=" in kv)


def main(path):
    vals = defaultdict(list)  # (curve, point, impl, side, field) -> [v]
    errors = []
    points = defaultdict(list)
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        try:
            r = json.loads(line)
        except ValueError:
            continue
        lab = parse_label(r.get("label", ""))
        curve, point, impl, side = lab.get("curve"), lab.get("point"), lab.get("impl"), lab.get("side", "")
        if not curve:
            continue
        if point not in points[curve]:
            points[curve].append(point)
        if r.get("error") or (r.get("count") is not None and r.get("count") != r.get("expect")):
            errors.append(f"{curve} {point} {impl}{' ' + side if side else ''}: {r.get('error') or 'incomplete'} "
                          f"({r.get('count')}/{r.get('expect')})")
            continue
        if "rss_kb_ready" in r and "rss_kb_start" in r:
            r["rss_growth_kb"] = r["rss_kb_ready"] - r["rss_kb_start"]
        for k, v in r.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                vals[(curve, point, impl, side, k)].append(v)

    def med(curve, point, impl, side, field):
        v = vals.get((curve, point, impl, side, field))
        return statistics.median(v) if v else None

    for curve, (title, cols) in CURVES.items():
        if curve not in points:
            continue
        impls = [i for i in ("topo", "topo-base", "libzmq", "raw-go", "raw-go-fill")
                 if any(k[0] == curve and k[2] == i for k in vals)]
        print(f"### {title}\n")
        hdr, sep = ["point"], ["---"]
        for field, name, side, low, scale, fmt in cols:
            for i in impls:
                hdr.append(f"{i} {name}")
            if "libzmq" in impls:
                hdr.append(f"ratio {name}")
            if "raw-go" in impls:
                hdr.append("topo ÷ raw Go")
            if "raw-go-fill" in impls:
                hdr.append("topo ÷ raw Go, same fill")
            if "topo-base" in impls:
                hdr.append("topo ÷ topo-base")
        sep = ["---"] * len(hdr)
        print("| " + " | ".join(hdr) + " |")
        print("|" + "|".join(sep) + "|")
        for p in points[curve]:
            row = [p]
            for field, name, side, low, scale, fmt in cols:
                got = {i: med(curve, p, i, side, field) for i in impls}
                for i in impls:
                    row.append(fmt.format(got[i] * scale) if got[i] is not None else "—")
                t, l = got.get("topo"), got.get("libzmq")
                if "libzmq" in impls:
                    if t and l:
                        x = l / t if low else t / l
                        row.append(f"{x:.2f}×" if x >= 0.1 else f"{x:.2g}×")
                    else:
                        row.append("—")
                for r in ("raw-go", "raw-go-fill"):
                    if r in impls:
                        rg = got.get(r)
                        row.append(f"{t / rg:.2f}×" if t and rg else "—")
                if "topo-base" in impls:
                    tb = got.get("topo-base")
                    row.append(f"{t / tb:.2f}×" if t and tb else "—")
            print("| " + " | ".join(row) + " |")
        print()
    if "curve-pushpull" in points:
        curve_table(vals, points["curve-pushpull"])
    if errors:
        print("Failed or incomplete runs:\n")
        for e in errors:
            print(f"- {e}")
        print()


def curve_table(vals, pts):
    """CURVE PUSH->PULL (issue 14): plaintext and CURVE for topo and libzmq,
    medians and every repetition, the ratio and the cost of CURVE."""
    def runs(p, impl):
        return vals.get(("curve-pushpull", p, impl, "", "msgs_per_s"), [])
    print("### CURVE PUSH→PULL over tcp (msgs/s received; median, then every repetition in run order)\n")
    print("| size | topo plain | topo CURVE | libzmq plain | libzmq CURVE | topo ÷ libzmq, CURVE | CURVE ÷ plain, topo | CURVE ÷ plain, libzmq |")
    print("|---|---|---|---|---|---|---|---|")
    for p in pts:
        m = {i: (statistics.median(runs(p, i)) if runs(p, i) else None) for i in ("topo", "topo-curve", "libzmq", "libzmq-curve")}
        cell = lambda i: (f"{m[i]:,.0f} ({', '.join(f'{v / 1e3:.0f}k' for v in runs(p, i))})" if m[i] else "—")
        ratio = lambda a, b: f"{m[a] / m[b]:.2f}×" if m[a] and m[b] else "—"
        print(f"| {p} B | {cell('topo')} | {cell('topo-curve')} | {cell('libzmq')} | {cell('libzmq-curve')} | "
              f"{ratio('topo-curve', 'libzmq-curve')} | {ratio('topo-curve', 'topo')} | {ratio('libzmq-curve', 'libzmq')} |")
    print()


if __name__ == "__main__":
    main(sys.argv[1])
