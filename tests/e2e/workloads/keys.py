# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Two threads whose samples fall on keys of two kinds: "steady" spins in
# one loop, so that its samples share the few keys of that loop's
# instructions (which a CPU's count cache keeps), and "churn" runs through
# 4000 functions, a new key at nearly every sample (which pushes the cached
# ones out to the counts map).
import sys
import threading

N = 4000
SRC = "\n".join(
    f"def churn_{i:04d}():\n    s = 0\n    for j in range(200): s += j\n"
    "    return s\n" for i in range(N))
NS = {}
exec(compile(SRC, "/generated/churn_functions.py", "exec"), NS)
FUNCS = [NS[f"churn_{i:04d}"] for i in range(N)]


def steady():
    x = 0
    while True:
        x += 1  # STEADY_LINE


def churn():
    while True:
        for f in FUNCS:
            f()


if __name__ == "__main__":
    threading.Thread(target=steady, name="steady", daemon=True).start()
    threading.Thread(target=churn, name="churn", daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
