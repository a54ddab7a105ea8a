# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Many small functions: the stack changes on every call, two or three frames
# deep, so every sample sees a different, short stack.  See _harness.py.
import _harness


def add(x, y):
    return x + y


def mul(x, y):
    return x * y


def sq(x):
    return mul(x, x)


def norm(x, y):
    return add(sq(x), sq(y))


def clamp(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def step(i):
    return clamp(norm(i & 7, i & 3), 1, 40) + add(i, 1)


def work(a, iters, res):
    t = 0
    for _ in range(iters):
        for i in range(1000):
            t += step(i)
    res["checksum"] = t


if __name__ == "__main__":
    _harness.main(work)
