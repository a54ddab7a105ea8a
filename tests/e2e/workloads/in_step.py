# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# A loop in step with the sampler's clock: each cycle of CYCLES periods of
# -F HZ (on CLOCK_MONOTONIC, the clock of the kernel's sampling timers) is
# 3/4 in hot() and 1/4 in cold().  A sampler that fires at exact multiples
# of its period sees one phase of it only: 100/0 or 50/50, never 75/25.
import sys
import time

HZ = int(sys.argv[1])
CYCLES = int(sys.argv[2])
W = CYCLES * (1000000000 // HZ)


def hot():
    while time.monotonic_ns() % W < 3 * W // 4: pass  # HOT_LINE


def cold():
    while time.monotonic_ns() % W >= 3 * W // 4: pass  # COLD_LINE


print("ready", flush=True)
while True:
    hot()
    cold()
