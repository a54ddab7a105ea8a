# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Deep calls: recurse until exactly --depth Python frames are on the stack
# (counting <module> and the harness), loop there, return to the top, and
# again.  Over 99% of the time is spent at the full depth, so the sampler
# walks --depth frames on almost every sample.  See _harness.py.
import sys

import _harness


def depth_here(frame):
    d = 0
    while frame is not None:
        d += 1
        frame = frame.f_back
    return d


def recurse(n):
    if n > 0:
        return recurse(n - 1)  # RECURSE_LINE
    x = 0
    for i in range(10000): x += i  # BOTTOM_LINE
    return x


def work(a, iters, res):
    # recurse(n) adds n + 1 frames to the ones above work()'s caller.
    n = a.depth - depth_here(sys._getframe()) - 1
    if n < 0:
        raise SystemExit("--depth %d is less than the harness's own frames"
                         % a.depth)
    for _ in range(iters):
        recurse(n)
    res["depth"] = a.depth


def args(ap):
    ap.add_argument("--depth", type=int, default=32)


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    _harness.main(work, args)
