# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# A flat loop: all the time in one frame, at one line.  See _harness.py.
import _harness


def loop(n):
    x = 0
    for i in range(n): x += i  # LOOP_LINE
    return x


def work(a, iters, res):
    for _ in range(iters):
        loop(10000)


if __name__ == "__main__":
    _harness.main(work)
