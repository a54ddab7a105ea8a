# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Known proportions: hot() does three times the work of cold(), the same
# loop, so about 75% / 25% of the CPU time.  The workload also times both
# itself (thread CPU time around each call) and reports the share it
# measured: that, not 75%, is the truth a profiler is compared with.
import time

import _harness


def hot(n):
    x = 0
    for i in range(n): x += i  # HOT_LINE
    return x


def cold(n):
    x = 0
    for i in range(n): x += i  # COLD_LINE
    return x


def work(a, iters, res):
    clock = time.thread_time
    h = res.get("hot_cpu", 0.0)
    c = res.get("cold_cpu", 0.0)
    for _ in range(iters):
        t0 = clock()
        hot(30000)
        t1 = clock()
        cold(10000)
        t2 = clock()
        h += t1 - t0
        c += t2 - t1
    res["hot_cpu"] = h
    res["cold_cpu"] = c


if __name__ == "__main__":
    _harness.main(work)
