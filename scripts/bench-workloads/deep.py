# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Deep calls: recurse until exactly --depth Python frames are on the stack
# (counting <module> and the harness), loop there, return to the top, and
# again; with --distinct, through as many distinct functions instead.
# Over 99% of the time is spent at the full depth, so the sampler walks
# --depth frames on almost every sample.  See _harness.py.
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


chains = {}


def chain(k):
    """k distinct functions, f0 calling f1 ... f{k-1}, which runs the loop
    at the bottom: a stack of k code objects, as in most programs, where
    recursion is one code object at every depth.  Made once: compiling
    makes and frees code objects, which a program at work seldom does."""
    if k in chains:
        return chains[k]
    src = []
    for i in range(k - 1):
        src.append("def f%d():\n    return f%d()\n" % (i, i + 1))
    src.append("def f%d():\n    x = 0\n"
               "    for i in range(10000): x += i\n    return x\n" % (k - 1))
    ns = {}
    exec(compile("".join(src), "<chain>", "exec"), ns)
    chains[k] = ns["f0"]
    return chains[k]


def work(a, iters, res):
    # recurse(n), or a chain of n + 1, adds n + 1 frames to the ones above
    # work()'s caller.
    n = a.depth - depth_here(sys._getframe()) - 1
    if n < 0:
        raise SystemExit("--depth %d is less than the harness's own frames"
                         % a.depth)
    if a.distinct:
        f0 = chain(n + 1)
        for _ in range(iters):
            f0()
    else:
        for _ in range(iters):
            recurse(n)
    res["depth"] = a.depth


def args(ap):
    ap.add_argument("--depth", type=int, default=32)
    ap.add_argument("--distinct", action="store_true",
                    help="every frame below the harness a distinct function")


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    _harness.main(work, args)
