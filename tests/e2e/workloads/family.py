# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Processes that make processes, for --children, "-- COMMAND" and -a.
#   family.py fork SECS      the parent forks: child_work() in the child,
#                            parent_work() in the parent, both for SECS
#   family.py spawn SECS     the parent starts "python shape.py SECS" and waits
#   family.py exit CODE SECS spin in parent_work() for SECS, then exit CODE
# A spin lasts SECS of the process's CPU time, not of the clock: its share
# of the samples is the same on a loaded machine.
import os
import subprocess
import sys
import time


def spin(seconds):
    end = time.process_time() + seconds
    x = 0
    while time.process_time() < end:
        for i in range(10000): x += i  # SPIN_LINE
    return x


def child_work(seconds):
    return spin(seconds)  # CHILD_CALL


def parent_work(seconds):
    return spin(seconds)  # PARENT_CALL


def main():
    mode, secs = sys.argv[1], float(sys.argv[-1])
    print("ready", flush=True)
    if mode == "fork":
        pid = os.fork()
        if pid == 0:
            child_work(secs)
            os._exit(0)
        parent_work(secs)
        os.waitpid(pid, 0)
    elif mode == "spawn":
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run([sys.executable, os.path.join(here, "shape.py"),
                        str(secs)], stdout=subprocess.DEVNULL, check=True)
    elif mode == "exit":
        parent_work(secs)
        sys.exit(int(sys.argv[2]))


main()
