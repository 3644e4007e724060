"""bench_summary.py RUN.jsonl [...]: topo side by side with zmqbench's
implementations, as a markdown table (medians over repetitions).
bench_summary.py -oldnew RUN.jsonl [...]: scripts/bench_oldnew.sh's runs, old
topo against new, per row.

Reads the JSON lines written by scripts/bench.sh (labels
"test=...;rep=...;impl=..."). A throughput run counts only when it has no
error and delivered every message (count == expect); a latency run when it has
no error and no mismatched reply. Any python3 will do (no pyzmq needed).
"""
import json
import statistics
import sys
from collections import defaultdict

IMPLS = ["topo", "libzmq-C", "zmq4", "pyzmq", "raw-go-unbuffered", "raw-go-bufio", "raw-go"]
TESTS = [
    ("pushpull-16", "PUSH→PULL tcp 16 B, msgs/s"),
    ("pushpull-1024", "PUSH→PULL tcp 1 KiB, msgs/s"),
    ("curve-pushpull-16", "PUSH→PULL tcp 16 B over CURVE, msgs/s"),
    ("curve-pushpull-1024", "PUSH→PULL tcp 1 KiB over CURVE, msgs/s"),
    ("pubsub-16-filter", "PUB→SUB tcp 16 B, prefix filter, delivered msgs/s"),
    ("reqrep-16", "REQ/REP tcp 16 B round trip, p50 µs (p99)"),
    ("inproc-pushpull-16", "PUSH→PULL inproc 16 B, msgs/s"),
]


def label(d):
    out = {}
    for part in d.get("label", "").split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


def load(paths):
    rows = defaultdict(list)
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    d = json.loads(line)
                    lab = label(d)
                    rows[(lab.get("test"), lab.get("impl"))].append(d)
    return rows


def ok(d, lat):
    if d.get("error"):
        return False
    if lat:
        return "p50_us" in d and d.get("mismatched", 0) == 0
    return "msgs_per_s" in d and d.get("count") == d.get("expect")


def med(ds, key):
    vals = [d[key] for d in ds if key in d]
    return statistics.median(vals) if vals else None


def main(paths):
    rows = load(paths)
    present = [i for i in IMPLS if any(k[1] == i for k in rows)]
    hdr = ["test"] + present + ["topo ÷ libzmq-C", "topo ÷ zmq4", "per-rep topo ÷ libzmq-C"]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    notes = []
    for test, title in TESTS:
        lat = test.startswith("reqrep")
        key = "p50_us" if lat else "msgs_per_s"
        if not any((test, i) in rows for i in present):
            continue
        cells, val = [title], {}
        for impl in present:
            ds = rows.get((test, impl), [])
            good = [d for d in ds if ok(d, lat)]
            for d in ds:
                if not ok(d, lat):
                    notes.append("%s / %s: %s" % (test, impl, d.get("error") or
                                 "count %s of %s, gaps %s" % (d.get("count"), d.get("expect"), d.get("gaps"))))
            if not ds:
                cells.append("–")
                continue
            if not good:
                cells.append("FAIL (0/%d runs)" % len(ds))
                continue
            v = med(good, key)
            val[impl] = v
            runs = "" if len(ds) == 1 else " (%d/%d)" % (len(good), len(ds))
            if lat:
                cells.append("%.0f (%.0f)%s" % (v, med(good, "p99_us"), runs))
            else:
                cells.append("{:,.0f}{}".format(v, runs))
        for ref in ("libzmq-C", "zmq4"):
            t, r = val.get("topo"), val.get(ref)
            cells.append("%.2f" % (t / r) if t and r else "–")
        # ratios within each repetition (same minute, same machine load)
        byrep = defaultdict(dict)
        for impl in ("topo", "libzmq-C"):
            for d in rows.get((test, impl), []):
                if ok(d, lat):
                    byrep[label(d).get("rep")][impl] = d[key]
        rr = sorted(v["topo"] / v["libzmq-C"] for v in byrep.values() if "topo" in v and "libzmq-C" in v)
        cells.append("median %.2f (%s)" % (statistics.median(rr), ", ".join("%.2f" % x for x in rr)) if rr else "–")
        print("| " + " | ".join(cells) + " |")
    print()
    print("Ratios are topo's median over the reference's: for msgs/s higher is better for topo; "
          "for REQ/REP p50 latency lower is better for topo. The per-rep column divides topo by "
          "libzmq-C within each repetition (runs minutes apart on a shared machine vary a lot).")
    al = []
    for test, _ in TESTS:
        for d in rows.get((test, "topo"), []):
            if "mallocs_per_msg" in d and not d.get("error"):
                al.append("%s %s: %.2f" % (test, d.get("role"), d["mallocs_per_msg"]))
    if al:
        print()
        print("topo heap allocations per message (whole process, receiving side; inproc: both ends): " + "; ".join(al))
    if notes:
        print()
        print("Failed or incomplete runs:")
        for n in notes:
            print("- " + n[:300])


def oldnew(paths):
    """Per row: old's and new's medians, and the median of the ratios
    new ÷ old within each repetition (old and new ran back to back)."""
    runs = [load([p]) for p in paths]  # repetitions pair within one file
    print("| row | metric | old (median) | new (median) | median new ÷ old (range) | pairs |")
    print("|---|---|---|---|---|---|")
    notes = []
    for test, title in TESTS:
        lat = test.startswith("reqrep")
        for key, metric in ([("p50_us", "p50 µs"), ("p99_us", "p99 µs")] if lat else [("msgs_per_s", "msgs/s")]):
            byrep = defaultdict(dict)
            for i, rows in enumerate(runs):
                for impl in ("old", "new"):
                    for d in rows.get((test, impl), []):
                        if ok(d, lat):
                            byrep[(i, label(d).get("rep"))][impl] = d[key]
                        elif key != "p99_us":
                            notes.append("%s / %s: %s" % (test, impl, d.get("error") or
                                         "count %s of %s" % (d.get("count"), d.get("expect"))))
            both = [v for v in byrep.values() if "old" in v and "new" in v]
            if not both:
                continue
            rr = sorted(v["new"] / v["old"] for v in both)
            fmt = "{:,.0f}" if not lat else "{:.1f}"
            print("| %s | %s | %s | %s | %.3f (%.2f–%.2f) | %d |" % (
                title.rsplit(",", 1)[0], metric,
                fmt.format(statistics.median(v["old"] for v in both)),
                fmt.format(statistics.median(v["new"] for v in both)),
                statistics.median(rr), rr[0], rr[-1], len(both)))
    print()
    print("msgs/s: higher is better, a ratio above 1 is new ahead; latency: a ratio below 1 is new ahead.")
    if notes:
        print()
        print("Failed or incomplete runs (left out of the pairs):")
        for n in notes:
            print("- " + n[:300])


if __name__ == "__main__":
    if sys.argv[1:2] == ["-oldnew"]:
        oldnew(sys.argv[2:])
    else:
        main(sys.argv[1:])
