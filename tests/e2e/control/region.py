# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Workloads of tests/test_control.py: a program that profiles a region of
itself with the pyprof_bpf client (src/client, on PYTHONPATH).

    region.py region OUT        before(), region() profiled to OUT, after()
    region.py with OUT          the same with `with pyprof_bpf.profile(OUT)`
    region.py go                go(fn, 20, b=1) to the default file
    region.py errors            nested start, stop without start
    region.py formats DIR EXT.. one region per extension, into DIR/region.EXT
    region.py cycles N OUT      N start/stop cycles, then "done"
    region.py hang OUT          start, say "started", then spin until killed
    region.py thread OUT        threads="current": only the calling thread
    region.py wall OUT          mode="wall": a sleep, then a spin

Each prints one JSON line of what the test checks."""
import json
import os
import sys
import threading
import time

import pyprof_bpf

SECS = float(os.environ.get("REGION_SECS", "1.5"))
FREQ = int(os.environ.get("REGION_FREQ", "99"))


def spin(secs):
    t = time.thread_time()
    while time.thread_time() - t < secs:
        pass


def before():
    spin(0.4)


def region():
    spin(SECS)  # REGION


def after():
    spin(0.4)


def other():
    spin(SECS)  # OTHER


def fn(a, b=0):
    spin(0.5)
    return a * 2 + b


def main():
    what = sys.argv[1]
    out = {}
    if what in ("region", "with"):
        before()
        t0 = time.monotonic()
        if what == "region":
            pyprof_bpf.start(sys.argv[2], frequency=FREQ)
            out["start_secs"] = time.monotonic() - t0
            out["running"] = pyprof_bpf.running()
            c0 = time.thread_time()
            region()
            out["cpu"] = time.thread_time() - c0
            out["path"] = pyprof_bpf.stop()
        else:
            with pyprof_bpf.profile(sys.argv[2]) as p:
                c0 = time.thread_time()
                region()
                out["cpu"] = time.thread_time() - c0
            out["path"] = p.path
        out["running_after"] = pyprof_bpf.running()
        after()
    elif what == "go":
        out["result"] = pyprof_bpf.go(fn, 20, b=1)
        out["path"] = os.path.abspath(f"pyprof-bpf-{os.getpid()}.folded")
    elif what == "errors":
        try:
            pyprof_bpf.stop()
        except RuntimeError as e:
            out["stop_first"] = str(e)
        pyprof_bpf.start(os.path.join(sys.argv[2], "nested.folded"))
        try:
            pyprof_bpf.start(os.path.join(sys.argv[2], "nested2.folded"))
        except RuntimeError as e:
            out["nested"] = str(e)
        pyprof_bpf.stop()
        try:
            pyprof_bpf.stop()
        except RuntimeError as e:
            out["stop_twice"] = str(e)
    elif what == "formats":
        for ext in sys.argv[3:]:
            with pyprof_bpf.profile(os.path.join(sys.argv[2], "region" + ext)):
                spin(0.3)
    elif what == "cycles":
        for _ in range(int(sys.argv[2])):
            pyprof_bpf.start(sys.argv[3])
            pyprof_bpf.stop()
    elif what == "hang":
        pyprof_bpf.start(sys.argv[2])
        print(json.dumps({"started": True}), flush=True)
        while True:
            spin(0.1)
    elif what == "wall":
        with pyprof_bpf.profile(sys.argv[2], mode="wall", frequency=199):
            time.sleep(0.6)
            spin(0.3)
    elif what == "thread":
        t = threading.Thread(target=other)
        t.start()
        pyprof_bpf.start(sys.argv[2], threads="current")
        c0 = time.thread_time()
        region()
        out["cpu"] = time.thread_time() - c0
        pyprof_bpf.stop()
        t.join()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
