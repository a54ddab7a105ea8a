# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""What every benchmark workload shares: its command line and the handshake
with scripts/bench.

  python3 WORKLOAD.py [--iters N | --seconds S [--duty F]] [--wait] [--depth D]

--iters N      do N units of work (a fixed amount: what slowdown runs time)
--seconds S    repeat units until S seconds have passed; with --duty F, busy
               for the fraction F of each 100 ms and asleep for the rest
--wait         print "ready", then do the work once for every "go" line on
               stdin, until "exit" or end of input: the caller attaches a
               profiler, or not, between two rounds of one process, so that
               runs with and without it share the interpreter, its memory
               layout and its warm caches

Each round's result is one JSON line on stdout: wall and CPU seconds of the
work, and whatever the workload adds (its own ground truth).
"""
import argparse
import json
import sys
import time


def main(work, extra_args=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=0.0)
    ap.add_argument("--duty", type=float, default=1.0)
    ap.add_argument("--wait", action="store_true")
    if extra_args:
        extra_args(ap)
    a = ap.parse_args()
    if (a.iters > 0) == (a.seconds > 0):
        ap.error("give exactly one of --iters N or --seconds S")
    if not 0.0 < a.duty <= 1.0:
        ap.error("--duty must be in (0, 1]")

    if not a.wait:
        print(json.dumps(round_(work, a)), flush=True)
        return
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        print(json.dumps(round_(work, a)), flush=True)


def round_(work, a):
    res = {}
    t0 = time.perf_counter()
    c0 = time.process_time()
    if a.iters:
        work(a, a.iters, res)
        units = a.iters
    else:
        units = 0
        end = t0 + a.seconds
        period = 0.1
        while True:
            now = time.perf_counter()
            if now >= end:
                break
            busy_end = min(now + period * a.duty, end)
            while time.perf_counter() < busy_end:
                work(a, 1, res)
                units += 1
            if a.duty < 1.0:
                time.sleep(max(0.0, min(period * (1 - a.duty),
                                        end - time.perf_counter())))
    res.update(wall=time.perf_counter() - t0, cpu=time.process_time() - c0,
               units=units)
    return res
