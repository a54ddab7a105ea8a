# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# A CPU-bound workload of known shape: hot() does three times the work of
# cold(), with the same loop, so 75% / 25% of the CPU time.  Each loop is one
# line, so every sample inside it has that exact line.  x ^= i, not x += i:
# a sum outgrows one 30-bit digit, and hot()'s sum does so for more of its
# iterations than cold()'s, which made the split 79/21 under emulation (the
# arm64 VM of make test-arm64).
import signal
import sys
import time

# The CPU time each call took, as the thread's own clock measured it, and
# SIGUSR1 prints them ("split HOT COLD", in seconds): what the profile's
# split is checked against, rather than 75/25 alone.  On a busy shared
# machine one run's true split can stray from 3:1, and a profiler is right
# when it says what the process did.
spent = [0.0, 0.0]


def report(signum, frame):
    print(f"split {spent[0]:.6f} {spent[1]:.6f}", flush=True)


def hot(n):
    x = 0
    for i in range(n): x ^= i  # HOT_LINE
    return x


def cold(n):
    x = 0
    for i in range(n): x ^= i  # COLD_LINE
    return x


def main(seconds):  # MAIN_DEF
    clock, end = time.thread_time, time.monotonic() + seconds
    signal.signal(signal.SIGUSR1, report)
    print("ready", flush=True)
    while time.monotonic() < end:
        t0 = clock()
        hot(300000)  # CALL_HOT
        t1 = clock()
        cold(100000)  # CALL_COLD
        spent[0] += t1 - t0
        spent[1] += clock() - t1


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3600)  # MAIN_CALL
