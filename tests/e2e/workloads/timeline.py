# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""A timeline of known shape (tests/test_timeline.py).

One thread alternates a() and b(), each busy for 20 ms of wall-clock time;
another ("sleeper") sleeps 50 ms, then works about 50 ms in one C call
that releases the GIL (hashing), so that the two threads hardly wait for
each other.  The alternating thread is the main thread, or with --swap
the sleeper is (viewers that show one thread show the main one).  Prints
'ready' once both threads run."""
import hashlib
import sys
import threading
import time

PHASE = 0.020
SLEEP = 0.050
# About 50 ms of hashing on the development VM; its length is not tested.
WORK = bytes(64 << 20)


def a(until):
    x = 0
    while time.perf_counter() < until:  # A_LINE
        x += 1
    return x


def b(until):
    x = 0
    while time.perf_counter() < until:  # B_LINE
        x += 1
    return x


def alternate(started):
    started.set()
    t = time.perf_counter()
    while True:
        t += PHASE
        a(t)
        t += PHASE
        b(t)


def sleeper(started):
    started.set()
    while True:
        time.sleep(SLEEP)  # SLEEP_LINE
        hashlib.sha256(WORK).digest()  # WORK_LINE


def main():
    swap = "--swap" in sys.argv[1:]
    started = threading.Event()
    other = threading.Thread(target=alternate if swap else sleeper,
                             args=(started,), name="sleeper" if not swap
                             else "alternating", daemon=True)
    other.start()
    started.wait()
    print("ready", flush=True)
    if swap:
        sleeper(threading.Event())
    else:
        alternate(threading.Event())


if __name__ == "__main__":
    main()
