# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# A CPU-bound workload whose hot function changes on command: alpha_hot()
# until the line "switch" comes on stdin, then beta_hot().  It prints
# "switched" once beta_hot() is the one running.  For the agent's live
# views (tests/test_serve.py).
import sys
import threading
import time

state = {"hot": "alpha", "told": False}


def alpha_hot(n):
    x = 0
    for i in range(n): x += i  # ALPHA_LINE
    return x


def beta_hot(n):
    x = 0
    for i in range(n): x += i  # BETA_LINE
    return x


def reader():
    for line in sys.stdin:
        if line.strip() == "switch":
            state["hot"] = "beta"


def main(seconds):
    threading.Thread(target=reader, daemon=True).start()
    end = time.monotonic() + seconds
    print("ready", flush=True)
    while time.monotonic() < end:
        if state["hot"] == "alpha":
            alpha_hot(100000)  # CALL_ALPHA
        else:
            if not state["told"]:
                state["told"] = True
                print("switched", flush=True)
            beta_hot(100000)  # CALL_BETA


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3600)
