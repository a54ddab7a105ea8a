# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# A benchmark for `pyprof-bpf diff`: steady() and slowed() take turns with
# the same loop until the process has used SECONDS (argv[1]) of CPU time, so
# that a busy machine makes the run longer, not the profile smaller;
# slowed() does SLOWDOWN (argv[2], default 1) times its usual work.  At 1
# they take 75% / 25% of the CPU; at 1.3 slowed() is 30% more expensive:
# 69.8% / 30.2%.
import sys
import time


def steady(n):
    x = 0
    for i in range(n): x += i
    return x


def slowed(n):
    x = 0
    for i in range(n): x += i
    return x


def main(seconds, slowdown):
    while time.process_time() < seconds:
        steady(150000)
        slowed(int(50000 * slowdown))


if __name__ == "__main__":
    main(float(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)
