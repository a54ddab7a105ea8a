# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Recursion through C: each level calls the next through map(), so on 3.12+
# every level enters the eval loop anew and pushes a C-stack shim frame
# between two Python frames.  The Python stack is DEPTH f() frames + spin().
import sys
import time

DEPTH = int(sys.argv[1]) if len(sys.argv) > 1 else 100


def f(n):
    if n > 1:
        return list(map(f, [n - 1]))[0]  # REENTRY_LINE
    return spin()  # BOTTOM_LINE


def spin():
    print("ready", flush=True)
    end = time.monotonic() + 3600
    while time.monotonic() < end: pass  # SPIN_LINE


sys.setrecursionlimit(DEPTH * 4 + 100)
f(DEPTH)  # MODULE_LINE
