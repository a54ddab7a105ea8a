# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# The churn of scripts/soak-serve, as one command the agent launches
# (`pyprof-bpf serve -- python3 serve-churn.py PYTHON...`), so that it
# profiles this churn and nothing else the host runs: one churner
# (churn.py) per interpreter given, and short processes of each, one after
# another, every one a new pid.  Runs until SIGTERM, which it passes on.
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
stop = False


def on_term(sig, frame):
    global stop
    stop = True


def main(pythons):
    signal.signal(signal.SIGTERM, on_term)
    churners = [subprocess.Popen([p, os.path.join(HERE, "churn.py")],
                                 stdout=subprocess.DEVNULL) for p in pythons]
    short = 0
    try:
        while not stop:
            p = pythons[short % len(pythons)]
            subprocess.run([p, "-c", "x = 0\nfor i in range(100000): x += i"])
            short += 1
            time.sleep(0.2)
    finally:
        for c in churners:
            c.kill()
            c.wait()
    print(f"serve-churn: {short} short processes", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
