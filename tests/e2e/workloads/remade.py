# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Code objects freed and made again, most often at the address the last one
# had (tests/test_e2e.py): round after round, a function is compiled anew
# from source, run for a while and freed, alternately "alpha" from
# /remade/alpha.py for 0.45 s of CPU and "gamma" from /remade/gamma.py for
# 0.15 s: the same source but for the name, so that both code objects are of
# one size and pymalloc hands the one freed to the next.  A profiler that
# took one for the other at that address would give the other its name.
#
# SIGUSR1 prints "split ALPHA GAMMA same S N": the CPU seconds each ran, as
# the thread's own clock measured them, and in how many of the N changes
# of function the new code object was at the old one's address.
import signal
import sys
import time

# The loop is line 3 of the file the function is compiled from.
SRC = "def {name}(n):\n    x = i = 0\n    while i < n: x ^= i; i += 1\n    return x\n"
SECONDS = {"alpha": 0.45, "gamma": 0.15}
spent = {"alpha": 0.0, "gamma": 0.0}
same = [0, 0]


def report(signum, frame):
    print(f"split {spent['alpha']:.6f} {spent['gamma']:.6f} "
          f"same {same[0]} {same[1]}", flush=True)


def make(name):
    """The function, compiled anew, with nothing else holding it: its
    globals are emptied, so that no cycle waits for the collector."""
    ns = {}
    exec(compile(SRC.format(name=name), f"/remade/{name}.py", "exec"), ns)
    fn = ns.pop(name)
    ns.clear()
    return fn


def main(seconds):  # MAIN_DEF
    clock, end = time.thread_time, time.monotonic() + seconds
    signal.signal(signal.SIGUSR1, report)
    print("ready", flush=True)
    last, k = None, 0
    while time.monotonic() < end:
        name = "gamma" if k % 2 else "alpha"
        fn = make(name)
        if last is not None:
            same[0] += id(fn.__code__) == last
            same[1] += 1
        last = id(fn.__code__)
        t0 = clock()
        stop = t0 + SECONDS[name]
        while clock() < stop:
            fn(2000)  # CALL_LINE
        spent[name] += clock() - t0
        del fn
        k += 1


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3600)  # MAIN_CALL
