#!/usr/bin/env python3
"""shutdown_bench.py: time from SIGINT to exit of `topo apply FILE`.

Usage: scripts/shutdown_bench.py TOPO FILE [RUNS] [--blocked-stdout]

Starts `TOPO apply -no-color FILE` RUNS times (default 15), lets it run
1.5 s, sends SIGINT and prints the seconds until it exited, sorted, with the
exit codes. stdout goes to a temporary file, or with --blocked-stdout into
a pipe nobody reads. docs/BENCHMARKS.md ("Shutdown") records the results.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time


def once(topo, path, blocked):
    if blocked:
        r, out = os.pipe()  # r is never read: the pipe fills up
    else:
        out = tempfile.TemporaryFile()
    p = subprocess.Popen([topo, "apply", "-no-color", path], stdout=out, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    rc = p.wait(timeout=30)
    took = time.monotonic() - t0
    if blocked:
        os.close(r)
        os.close(out)
    return took, rc


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    blocked = "--blocked-stdout" in sys.argv
    topo, path = args[0], args[1]
    runs = int(args[2]) if len(args) > 2 else 15
    res = sorted(once(topo, path, blocked) for _ in range(runs))
    print(" ".join("%.3f" % t for t, _ in res))
    print("exit codes:", sorted(set(rc for _, rc in res)))
    print("median %.3f s, max %.3f s" % (res[len(res) // 2][0], res[-1][0]))


if __name__ == "__main__":
    main()
