# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# What `make demo` profiles (scripts/demo): a small program of known shape.
#
#   worker-1, worker-2  worker() calls crunch(), the hot function (about
#                       3/4 of the samples), and tidy() (about 1/4)
#   MainThread          checksum() over a buffer, then a 50 ms sleep: time
#                       asleep is not CPU time, so MainThread is thin
#
# python3 demo.py [SECS] [--ready]: runs SECS seconds (default 5), then
# exits; --ready prints "ready" once its threads run.
import sys
import threading
import time


def crunch(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003  # HOT_LINE
    return x


def tidy(n):
    return len(",".join([str(i) for i in range(n)]))  # TIDY_LINE


def worker(stop):
    while not stop.is_set():
        crunch(30000)  # CALL_CRUNCH
        tidy(8000)  # CALL_TIDY


def checksum(data):
    s = 0
    for b in data:
        s = (s + b) & 0xFFFF  # CHECKSUM_LINE
    return s


def main():
    args = [a for a in sys.argv[1:] if a != "--ready"]
    secs = float(args[0]) if args else 5.0
    stop = threading.Event()
    threads = [threading.Thread(target=worker, args=(stop,),
                                name=f"worker-{i}") for i in (1, 2)]
    for t in threads:
        t.start()
    if "--ready" in sys.argv:
        print("ready", flush=True)
    data = bytes(range(256)) * 16
    end = time.monotonic() + secs
    while time.monotonic() < end:
        checksum(data)  # CALL_CHECKSUM
        time.sleep(0.05)  # SLEEP_LINE
    stop.set()
    for t in threads:
        t.join()


main()  # MAIN
