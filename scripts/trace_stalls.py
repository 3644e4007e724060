#!/usr/bin/env python3
"""scripts/trace_stalls.py: where a REQ/REP pair's latency stalls go.

Reads the Go execution traces of the two topo processes (internal/bench
-trace FILE, dumped with `go tool trace -d=parsed FILE > FILE.parsed`) and,
optionally, a system-wide `perf sched record -k CLOCK_MONOTONIC` of the same
run dumped with `perf sched timehist -w > TH.txt` (Go's trace clock and
CLOCK_MONOTONIC agree on Linux). A stall is a stretch of at least -min-ms in
which no goroutine of the client process changes state. For each stall it
prints the CPU time every task got meanwhile (the server's and the client's
threads, other tasks, idle) and the longest scheduling delay (runnable, not
running) of the pair's threads; then the totals. Also: the duration of every
system call of each process, how many exited without their P, and how long
goroutines waited runnable (G1, the main goroutine, apart).

Usage: trace_stalls.py CLIENT.parsed SERVER.parsed [TH.txt] [-min-ms 0.8]
"""
import collections
import re
import sys


def events(fn):
    """(time_ns, M, P, G, kind, rest) of every event line of a parsed trace."""
    pat = re.compile(r'M=(-?\d+) P=(-?\d+) G=(-?\d+) (\w+) Time=(\d+)(.*)')
    with open(fn) as f:
        for line in f:
            if line.startswith('M='):
                m = pat.match(line)
                if m:
                    yield (int(m.group(5)), int(m.group(1)), int(m.group(2)),
                           int(m.group(3)), m.group(4), m.group(6).strip())


def transitions(ev):
    tr = re.compile(r'GoID=(\d+) (\w+)->(\w+)')
    for t, M, P, G, kind, rest in ev:
        m = tr.match(rest)
        if m:
            yield t, M, P, int(m.group(1)), m.group(2), m.group(3)


def pct(v, p):
    return v[min(len(v) - 1, int(p * len(v)))] if v else 0


def syscalls(name, ev):
    start, lost, durs, waits = {}, {}, [], []
    for t, M, P, g, a, b in transitions(ev):
        if b == 'Syscall':
            start[g] = t
        elif a == 'Syscall':
            d = t - start.pop(g, t)
            durs.append(d)
            if b == 'Runnable':
                lost[g] = t
        elif a == 'Runnable' and b == 'Running' and g in lost:
            waits.append(t - lost.pop(g))
    durs.sort()
    waits.sort()
    print('%s: %d system calls, p50 %.1f us, p99 %.1f us, max %.0f us; over 100 us %d, over 1 ms %d; '
          '%d exited without their P (then runnable up to %.0f us)' % (
              name, len(durs), pct(durs, .5) / 1e3, pct(durs, .99) / 1e3, (durs[-1] if durs else 0) / 1e3,
              sum(d > 1e5 for d in durs), sum(d > 1e6 for d in durs), len(waits), (waits[-1] if waits else 0) / 1e3))


def runnable(name, ev):
    since, lat = {}, collections.defaultdict(list)
    for t, M, P, g, a, b in transitions(ev):
        if b == 'Runnable':
            since[g] = t
        elif a == 'Runnable' and b == 'Running' and g in since:
            lat['G1' if g == 1 else 'others'].append(t - since.pop(g))
    for k, v in sorted(lat.items()):
        v.sort()
        print('%s %s: runnable p50 %.1f us, p99 %.1f us, max %.0f us; over 1 ms %d of %d' % (
            name, k, pct(v, .5) / 1e3, pct(v, .99) / 1e3, v[-1] / 1e3, sum(x > 1e6 for x in v), len(v)))


def main(argv):
    min_ms = 0.8
    if '-min-ms' in argv:
        i = argv.index('-min-ms')
        min_ms = float(argv[i + 1])
        del argv[i:i + 2]
    cli = sorted(events(argv[0]))
    srv = sorted(events(argv[1]))
    th = []
    if len(argv) > 2:
        pat = re.compile(r'\s*(\d+\.\d+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$')
        with open(argv[2]) as f:
            for line in f:
                m = pat.match(line)
                if m:  # switch-out: time, cpu, task, wait, sched delay, run (ms)
                    t, run = float(m.group(1)) * 1e9, float(m.group(6)) * 1e6
                    th.append((t - run, t, m.group(3), float(m.group(5))))
    cms = {e[1] for e in cli if e[1] > 0}
    sms = {e[1] for e in srv if e[1] > 0}

    def who(task):
        if task.startswith('<idle>'):
            return 'idle'
        m = re.search(r'\[(\d+)', task)
        tid = int(m.group(1)) if m else -1
        return 'client' if tid in cms else 'server' if tid in sms else task.split('[')[0]

    ts = [e[0] for e in cli if 'GoID=' in e[5]]
    stalls = sorted(((b - a, a, b) for a, b in zip(ts, ts[1:]) if b - a > min_ms * 1e6), reverse=True)
    total = collections.Counter()
    print('%d client stalls over %.1f ms, %.1f ms in all' % (len(stalls), min_ms, sum(s[0] for s in stalls) / 1e6))
    for d, a, b in stalls:
        use, delay = collections.Counter(), collections.Counter()
        for s, e, task, sd in th:
            ov = min(e, b) - max(s, a)
            if ov > 0:
                use[who(task)] += ov / 1e6
            if a <= s <= b + 1e6 and who(task) in ('client', 'server'):
                delay[who(task)] = max(delay[who(task)], sd)
        total.update(use)
        print('stall %.2f ms: cpu ms %s | longest sched delay ms %s' % (
            d / 1e6, ' '.join('%s=%.2f' % kv for kv in use.most_common()),
            ' '.join('%s=%.2f' % kv for kv in sorted(delay.items()))))
    if th:
        print('cpu ms in all stalls: ' + ' '.join('%s=%.1f' % kv for kv in total.most_common()))
    syscalls('client', cli)
    syscalls('server', srv)
    runnable('client', cli)
    runnable('server', srv)


if __name__ == '__main__':
    main(sys.argv[1:])
