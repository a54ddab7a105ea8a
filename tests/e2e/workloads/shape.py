# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# A CPU-bound workload of known shape: hot() does three times the work of
# cold(), with the same loop, so 75% / 25% of the CPU time.  Each loop is one
# line, so every sample inside it has that exact line.  x ^= i, not x += i:
# a sum outgrows one 30-bit digit, and hot()'s sum does so for more of its
# iterations than cold()'s, which made the split 79/21 under emulation (the
# arm64 VM of make test-arm64).
import sys
import time


def hot(n):
    x = 0
    for i in range(n): x ^= i  # HOT_LINE
    return x


def cold(n):
    x = 0
    for i in range(n): x ^= i  # COLD_LINE
    return x


def main(seconds):
    end = time.monotonic() + seconds
    print("ready", flush=True)
    while time.monotonic() < end:
        hot(300000)  # CALL_HOT
        cold(100000)  # CALL_COLD


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3600)  # MAIN_CALL
