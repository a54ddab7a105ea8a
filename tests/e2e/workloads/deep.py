# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Recursion DEPTH deep, then a spin at the bottom: the stack must come out
# whole, every recurse() frame at the line of its recursive call.
import sys
import time

DEPTH = int(sys.argv[1]) if len(sys.argv) > 1 else 300


def recurse(n):
    if n > 1:
        return recurse(n - 1)  # RECURSE_LINE
    return spin()  # BOTTOM_LINE


def spin():
    print("ready", flush=True)
    end = time.monotonic() + 3600
    while time.monotonic() < end: pass  # SPIN_LINE


sys.setrecursionlimit(DEPTH + 100)
recurse(DEPTH)  # MODULE_LINE
