# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Thousands of distinct functions, each a short loop, so that a profile of a
# second or two has thousands of distinct stacks: a big output (hundreds of
# KiB of folded text), bigger than a pipe's buffer.
import sys
import time

N = 4000
SRC = "\n".join(
    f"def func_{i:04d}():\n    s = 0\n    for j in range(200): s += j\n    return s\n"
    for i in range(N))
NS = {}
exec(compile(SRC, "/generated/many_functions.py", "exec"), NS)
FUNCS = [NS[f"func_{i:04d}"] for i in range(N)]


def main(seconds):
    end = time.monotonic() + seconds
    print("ready", flush=True)
    while time.monotonic() < end:
        for f in FUNCS:
            f()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3600)
