# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Threads that run the same functions at once: two workers each call hot()
# three times as much as cold(), as shape.py does.  On a free-threaded build
# (3.14t+) each thread specialises its own copy of the bytecode
# (co_tlbc[tlbc_index]), so a line is right in every thread only if the
# profiler reads instructions through that copy.
import sys
import threading


def hot(n):
    x = 0
    for i in range(n): x += i  # HOT_LINE
    return x


def cold(n):
    x = 0
    for i in range(n): x += i  # COLD_LINE
    return x


def work():
    while True:
        hot(300000)  # CALL_HOT
        cold(100000)  # CALL_COLD


for name in ("left", "right"):
    threading.Thread(target=work, name=name, daemon=True).start()
print("ready", flush=True)
sys.stdin.readline()
